//! The one admission step every request passes before it may touch the data (`/graphql` GET
//! and POST, `/reports/...`): who the caller is, whether it may send this request at all
//! (trusted documents only), whether it fits the client's budget; and, for a request that
//! goes on to use the database, the client's turn ([`Admitted::turn`]: an answer from the
//! response cache needs none).
use std::net::IpAddr;

use axum::http::HeaderMap;

use super::AppState;
use crate::{
    auth::{AuthError, Viewer, authenticate_until},
    limit::{Budget, Client, Turn, Verdict},
};

/// The address of the connection a request came on, when the server knows it.
pub struct Peer(pub Option<IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Peer(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// An anonymous caller's address: the connection's, or the last `X-Forwarded-For` entry
/// (the one our proxy added) when configured to trust it.
pub(super) fn client_ip(state: &AppState, headers: &HeaderMap, peer: &Peer) -> Option<IpAddr> {
    if state.trust_forwarded_for
        && let Some(ip) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse().ok())
    {
        return Some(ip);
    }
    peer.0
}

/// What admission needs to know of a request.
pub struct Ask {
    /// The rate-limit points it costs.
    pub points: u32,
    /// A GraphQL document that is not trusted and does not only sign in: anonymous callers may
    /// be refused it.
    pub untrusted_document: bool,
}

/// A request let through: its caller, and what is left of the caller's budget.
pub struct Admitted {
    pub viewer: Viewer,
    /// None when no rate limit applies to the caller.
    pub budget: Option<Budget>,
    /// Whose budget and turn it is.
    pub(crate) client: Option<Client>,
}

impl Admitted {
    /// Waits until the client has fewer than the allowed requests running; held while the
    /// request uses the database, so one client's bursts cannot fill the server's queue in
    /// front of everyone else.
    pub async fn turn(&self, state: &AppState) -> Turn {
        state.limits.turn(self.client.as_ref()).await
    }
}

/// Why a request was not let through.
pub enum Refusal {
    /// Credentials that do not hold.
    Credentials(AuthError),
    /// Anonymous callers may only run trusted documents.
    TrustedOnly,
    /// Over the client's budget: try again after this long.
    RateLimited {
        retry_after: std::time::Duration,
        limit: u32,
    },
    /// The database is out of reach, so the credentials could not be checked.
    Unavailable,
}

/// Who sent the request. Checking an account's or a key's credentials reads the database: a
/// connection that broke under that read (the database restarted) is discarded and the read
/// made once more on a fresh one; a database out of reach is an outage, not bad credentials.
async fn caller(state: &AppState, headers: &HeaderMap) -> Result<Viewer, Refusal> {
    caller_until(state, headers).await.map(|(viewer, _)| viewer)
}

/// Like [`caller`], with when the credentials expire (a bearer token's `exp`), for a
/// connection that outlives a request (a WebSocket).
pub(super) async fn caller_until(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(Viewer, Option<chrono::DateTime<chrono::Utc>>), Refusal> {
    let checked = match authenticate_until(&state.db, &state.tokens, headers).await {
        Err(AuthError::Db(e)) if crate::db::is_broken_connection(&e) => {
            tracing::warn!(error = %e, "database connection broke while checking credentials; retrying on a fresh one");
            crate::db::recover(&state.db).await;
            authenticate_until(&state.db, &state.tokens, headers).await
        }
        checked => checked,
    };
    match checked {
        Ok(caller) => Ok(caller),
        Err(AuthError::Db(e)) if crate::db::is_unavailable(&e) => {
            tracing::warn!(error = %e, "database unavailable while checking credentials");
            Err(Refusal::Unavailable)
        }
        Err(e) => Err(Refusal::Credentials(e)),
    }
}

/// Lets a request through or says why not.
pub async fn admit(
    state: &AppState,
    headers: &HeaderMap,
    peer: &Peer,
    ask: Ask,
) -> Result<Admitted, Refusal> {
    let viewer = caller(state, headers).await?;
    // Signing in (the only mutations open to anonymous callers) stays possible.
    if state.documents.only_for_anonymous && viewer.is_anonymous() && ask.untrusted_document {
        return Err(Refusal::TrustedOnly);
    }
    let client = Client::of(&viewer, client_ip(state, headers, peer));
    let budget = match state.limits.check(client.as_ref(), ask.points).await {
        Verdict::Limited { retry_after, limit } => {
            // The refusal itself waits: a client flooding on many connections slows itself
            // down instead of taking the CPU that well-behaved clients need.
            // What it asks the client to wait is counted from when the answer is sent: the
            // time the refusal waited is taken off (at least a second is asked for).
            tokio::time::sleep(state.rate_limit_delay).await;
            let retry_after = retry_after
                .saturating_sub(state.rate_limit_delay)
                .max(std::time::Duration::from_secs(1));
            return Err(Refusal::RateLimited { retry_after, limit });
        }
        Verdict::Allowed(budget) => Some(budget),
        Verdict::Unlimited => None,
    };
    Ok(Admitted {
        viewer,
        budget,
        client,
    })
}
