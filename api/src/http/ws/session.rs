//! Who a WebSocket connection speaks for, for as long as it is open: the caller that
//! `connection_init` authenticated, checked again while the connection lasts (the token's
//! expiry, the account disabled or its rights changed, the key revoked), and the connections
//! each client holds open.
use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use tokio::sync::watch;

use crate::{
    auth::{AuthError, Viewer},
    changes::Reader,
    error::Code,
    limit::{Client, RateLimits, Verdict},
};

/// The account or key behind a connection is read again before an event goes out when the
/// last check is older than this.
pub const RECHECK_BEFORE_EVENT: Duration = Duration::from_secs(5);

/// …and, when no event goes out, at most this long after the last look.
pub const RECHECK_IDLE: Duration = Duration::from_secs(15);

/// How often an idle connection looks whether its last check is older than `RECHECK_IDLE`
/// less this (a look just too young at one tick is due at the next, within `RECHECK_IDLE`).
pub const RECHECK_TICK: Duration = Duration::from_secs(5);

/// Close codes, after graphql-transport-ws's where it has one.
pub mod code {
    /// The server is stopping: connect again (to another instance).
    pub const GOING_AWAY: u16 = 1001;
    /// A message over the size limit.
    pub const MESSAGE_TOO_BIG: u16 = 1009;
    /// Too many connections, over budget, or the database out of reach: try again later.
    pub const TRY_AGAIN_LATER: u16 = 1013;
    /// A message that is not one of the protocol's.
    pub const BAD_REQUEST: u16 = 4400;
    /// `subscribe` before `connection_init`.
    pub const UNAUTHORIZED: u16 = 4401;
    /// Credentials refused, expired, revoked.
    pub const FORBIDDEN: u16 = 4403;
    /// Not the graphql-transport-ws subprotocol.
    pub const SUBPROTOCOL_NOT_ACCEPTABLE: u16 = 4406;
    /// No `connection_init` in time; also a consumer too slow to keep up.
    pub const TIMEOUT: u16 = 4408;
    /// A `subscribe` with the id of one still running.
    pub const SUBSCRIBER_EXISTS: u16 = 4409;
}

/// Why a connection ends: its close frame, and the error its subscriptions end with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct End {
    pub close_code: u16,
    pub close_reason: String,
    /// `extensions.code` of the subscriptions' last error.
    pub error_code: Code,
    pub message: String,
}

impl End {
    pub fn expired() -> End {
        End {
            close_code: code::FORBIDDEN,
            close_reason: "Forbidden: the access token expired".into(),
            error_code: Code::Unauthenticated,
            message: "the access token expired: connect again with a fresh one".into(),
        }
    }

    /// The credentials are refused now: the account disabled, the session ended (logout, a
    /// new password), the API key revoked; `why` says which, as a request would be told.
    pub fn refused(why: &str) -> End {
        End {
            close_code: code::FORBIDDEN,
            close_reason: format!("Forbidden: {why}"),
            error_code: Code::Forbidden,
            message: why.into(),
        }
    }

    pub fn rights_changed() -> End {
        End {
            close_code: code::FORBIDDEN,
            close_reason: "Forbidden: the caller's rights changed".into(),
            error_code: Code::Forbidden,
            message: "your role or communities changed: connect again to see what you may see now".into(),
        }
    }

    pub fn slow_consumer(behind: u64) -> End {
        End {
            close_code: code::TIMEOUT,
            close_reason: "Slow consumer".into(),
            error_code: Code::SlowConsumer,
            message: format!(
                "the subscription fell {behind} events behind: the connection is closed; connect again and resume with `after:` the last cursor you received"
            ),
        }
    }

    /// The error a subscription ends with.
    pub fn error(&self) -> async_graphql::Error {
        use async_graphql::ErrorExtensions;
        async_graphql::Error::new(self.message.clone()).extend_with(|_, e| e.set("code", self.error_code))
    }
}

/// The caller of one WebSocket connection, from `connection_init` on. Shared by the
/// connection and its subscriptions (in their context data).
pub struct Session {
    pub viewer: Viewer,
    pub reader: Reader,
    /// Whose budget and connection count it is.
    pub client: Option<Client>,
    /// When the bearer token expires.
    pub expires: Option<DateTime<Utc>>,
    db: DatabaseConnection,
    /// The budgets a replay's pages are charged to.
    limits: RateLimits,
    /// The last time the account or key was found valid.
    checked: Mutex<Instant>,
    /// One check at a time.
    checking: tokio::sync::Mutex<()>,
    end: watch::Sender<Option<End>>,
    /// Counted among its client's connections while it lasts.
    _slot: Option<Slot>,
    subscriptions: Arc<AtomicUsize>,
}

impl Session {
    pub(super) fn new(
        viewer: Viewer,
        expires: Option<DateTime<Utc>>,
        client: Option<Client>,
        db: DatabaseConnection,
        limits: RateLimits,
        slot: Option<Slot>,
        subscriptions: Arc<AtomicUsize>,
    ) -> Session {
        Session {
            reader: Reader::of(&viewer),
            viewer,
            client,
            expires,
            db,
            limits,
            checked: Mutex::new(Instant::now()),
            checking: tokio::sync::Mutex::new(()),
            end: watch::channel(None).0,
            _slot: slot,
            subscriptions,
        }
    }

    /// Why the connection ends, once it does.
    pub fn ended(&self) -> Option<End> {
        self.end.borrow().clone()
    }

    /// Told when the connection ends.
    pub fn watch_end(&self) -> watch::Receiver<Option<End>> {
        self.end.subscribe()
    }

    /// Ends the connection (unless it ended already): its subscriptions end with `end`'s
    /// error, then it closes with `end`'s code. Returns why it ended.
    pub fn end(&self, end: End) -> End {
        self.end.send_if_modified(|current| {
            if current.is_none() {
                *current = Some(end);
                true
            } else {
                false
            }
        });
        self.ended()
            .unwrap_or_else(|| End::refused("the credentials are no longer valid"))
    }

    pub fn is_expired(&self) -> bool {
        self.expires.is_some_and(|at| at <= crate::common::now())
    }

    /// Whether the caller may still receive events: the token has not expired and, when the
    /// last look is older than [`RECHECK_BEFORE_EVENT`], the account or key is still valid and
    /// gives the same rights. Ends the connection when not.
    pub async fn check(&self) -> Result<(), End> {
        self.check_within(RECHECK_BEFORE_EVENT).await
    }

    /// The same check, reading the account or key when the last look is older than `age`.
    pub async fn check_within(&self, age: Duration) -> Result<(), End> {
        if let Some(end) = self.ended() {
            return Err(end);
        }
        if self.is_expired() {
            return Err(self.end(End::expired()));
        }
        if self.viewer.account_id.is_none() && self.viewer.api_key_id.is_none() {
            // Anonymous, or an external identity: nothing stored to read again.
            return Ok(());
        }
        let fresh =
            |checked: &Mutex<Instant>| checked.lock().unwrap_or_else(|e| e.into_inner()).elapsed() < age;
        if fresh(&self.checked) {
            return Ok(());
        }
        let _one = self.checking.lock().await;
        if fresh(&self.checked) {
            // Another subscription checked while this one waited.
            return Ok(());
        }
        match crate::auth::recheck(&self.db, &self.viewer).await {
            Ok(now) if now.role == self.viewer.role && Reader::of(&now) == self.reader => {
                *self.checked.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
                Ok(())
            }
            Ok(_) => Err(self.end(End::rights_changed())),
            Err(AuthError::Refused(why) | AuthError::KeyRefused(why)) => Err(self.end(End::refused(why))),
            Err(AuthError::TwoCredentials { .. }) => Err(self.end(End::refused("two credentials"))),
            // Not the caller's doing: checked again with the next event.
            Err(AuthError::Db(e)) => {
                tracing::warn!(error = %e, "cannot check a subscriber's credentials again");
                Ok(())
            }
        }
    }

    /// Charges one page of a replay (`changed(after:)`) to the client's budget, as a page of
    /// the `changes` query would be: over budget, it waits until the budget allows it (the
    /// replay is paced, not refused). Ends early with the connection's end.
    pub async fn pace(&self) -> Result<(), End> {
        let mut ended = self.watch_end();
        loop {
            if let Some(end) = self.ended() {
                return Err(end);
            }
            let Verdict::Limited { retry_after, .. } = self.limits.check(self.client.as_ref(), 1).await
            else {
                return Ok(());
            };
            tokio::select! {
                () = tokio::time::sleep(retry_after) => {}
                // Looked at again at the top of the loop (the sender lives as long as `self`).
                _ = ended.changed() => {}
            }
        }
    }

    /// Counts a running subscription (for `/metrics`) while the guard lives.
    pub fn count_subscription(&self) -> Counted {
        self.subscriptions.fetch_add(1, Ordering::Relaxed);
        Counted(self.subscriptions.clone())
    }
}

/// One running subscription, counted.
pub struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The WebSocket connections each client holds open, bounded per client.
#[derive(Clone, Default)]
pub struct Connections {
    open: Arc<Mutex<HashMap<Client, usize>>>,
    total: Arc<AtomicUsize>,
}

/// One connection of a client, counted while it lives.
pub struct Slot {
    client: Option<Client>,
    connections: Connections,
}

impl Connections {
    /// A slot for one more connection of `client`, unless it holds `max` already (0: no
    /// limit). Callers without a client (no address known) are not bounded.
    pub fn acquire(&self, client: Option<&Client>, max: usize) -> Option<Slot> {
        if let Some(client) = client {
            let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
            let n = open.entry(client.clone()).or_insert(0);
            if max > 0 && *n >= max {
                return None;
            }
            *n += 1;
        }
        self.total.fetch_add(1, Ordering::Relaxed);
        Some(Slot {
            client: client.cloned(),
            connections: self.clone(),
        })
    }

    /// Connections open now, all clients.
    pub fn total(&self) -> usize {
        self.total.load(Ordering::Relaxed)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.connections.total.fetch_sub(1, Ordering::Relaxed);
        if let Some(client) = &self.client {
            let mut open = self.connections.open.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(n) = open.get_mut(client) {
                *n -= 1;
                if *n == 0 {
                    open.remove(client);
                }
            }
        }
    }
}
