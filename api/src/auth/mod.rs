//! Who the caller is. A request carries nothing (anonymous, the public website), a bearer
//! token (an account, or a person known to the external identity provider) or an API key (a
//! partner organisation). It becomes a [`Viewer`] before the query runs; what the viewer may
//! see is its [`Access`], and what it may call is declared on each field by a [`Require`]
//! guard.
mod guard;
pub mod mutation;
pub mod secret;
pub mod throttle;
pub mod token;

use std::sync::Arc;

use async_graphql::Enum;
use axum::http::{HeaderMap, header};
use chrono::{DateTime, Utc};
use entity::{account, account_community, api_key, refresh_token};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect, sea_query::Expr};
use uuid::Uuid;

pub use guard::{
    GUARD_FORBIDDEN, GUARD_UNAUTHENTICATED, Require, viewer, visible_to_accounts, visible_to_admins,
    visible_to_partners, visible_to_partners_and_staff, visible_to_staff, visible_to_writers,
    visible_to_writers_and_partners,
};

use crate::access::{Access, Scope};

/// The caller's role. Admins have every right staff have, and manage accounts and keys.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    /// No credentials: the public website.
    Anonymous,
    /// A partner organisation, by its API key.
    Partner,
    /// An editor of one or more communities.
    CommunityEditor,
    /// The municipality's coordinators.
    Staff,
    /// Staff who also manage accounts and API keys.
    Admin,
}

impl From<account::AccountRole> for Role {
    fn from(r: account::AccountRole) -> Self {
        match r {
            account::AccountRole::Staff => Role::Staff,
            account::AccountRole::Admin => Role::Admin,
            account::AccountRole::CommunityEditor => Role::CommunityEditor,
        }
    }
}

/// The caller of one request.
#[derive(Clone, Debug)]
pub struct Viewer {
    pub role: Role,
    pub account_id: Option<Uuid>,
    pub api_key_id: Option<Uuid>,
    pub organization_id: Option<Uuid>,
    /// The communities a community editor may edit.
    pub communities: Arc<[Uuid]>,
    /// A partner key's scopes, e.g. `read`, `express_interest`.
    pub scopes: Arc<[String]>,
    /// How the audit log names the caller: an account's name, a key's prefix, an external
    /// subject.
    pub label: String,
    /// The name of a person signed in at the identity provider (its token's `name`), which
    /// signs their progress notes; an account's is read from the account.
    pub name: Option<Arc<str>>,
    /// The sign-in session (refresh-token family) an access token belongs to: it is valid only
    /// while the session is (`logout` ends it at once, not when the token expires).
    pub session: Option<Uuid>,
}

impl Viewer {
    pub fn anonymous() -> Self {
        Viewer {
            role: Role::Anonymous,
            account_id: None,
            api_key_id: None,
            organization_id: None,
            communities: Arc::from([]),
            scopes: Arc::from([]),
            label: "anonymous".into(),
            name: None,
            session: None,
        }
    }

    /// The command line: an administrator without an account, named `system:<who>` in the
    /// audit log.
    pub fn system(who: &str) -> Self {
        Viewer {
            role: Role::Admin,
            label: format!("system:{who}"),
            ..Viewer::anonymous()
        }
    }

    pub fn is_system(&self) -> bool {
        self.account_id.is_none() && self.api_key_id.is_none() && self.label.starts_with("system:")
    }

    /// Whether a partner's key carries `scope`.
    pub fn has_scope(&self, scope: crate::account::ApiKeyScope) -> bool {
        self.scopes.iter().any(|s| s == scope.as_str())
    }

    pub fn is_anonymous(&self) -> bool {
        self.role == Role::Anonymous
    }

    /// Staff or admin: may read and write the whole domain.
    pub fn is_staff(&self) -> bool {
        matches!(self.role, Role::Staff | Role::Admin)
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// May change the content of this community (its plans, actions, updates, ideas, events).
    pub fn may_edit_community(&self, community: Uuid) -> bool {
        self.is_staff() || (self.role == Role::CommunityEditor && self.communities.contains(&community))
    }

    /// What this caller may read.
    pub fn access(&self) -> Access {
        match self.role {
            Role::Staff | Role::Admin => Access::everything(),
            Role::CommunityEditor => Access {
                plans: Scope::Communities(self.communities.clone()),
                contacts: Scope::Communities(self.communities.clone()),
                proposals_of: None,
            },
            Role::Partner => Access {
                proposals_of: self.organization_id,
                ..Access::anonymous()
            },
            Role::Anonymous => Access::anonymous(),
        }
    }
}

/// Why credentials were refused; the client only learns that they were.
#[derive(Debug)]
pub enum AuthError {
    Refused(&'static str),
    /// An API key (`X-Api-Key`) refused: unreadable, unknown or revoked.
    KeyRefused(&'static str),
    /// Both a bearer token and an API key, or one of them twice: two callers, and which one
    /// is meant is not for the server to guess (the client is told so). `only_keys`: all of
    /// them API keys (the challenge asks for one key).
    TwoCredentials {
        only_keys: bool,
    },
    Db(sea_orm::DbErr),
}

impl From<sea_orm::DbErr> for AuthError {
    fn from(e: sea_orm::DbErr) -> Self {
        AuthError::Db(e)
    }
}

/// Reads the credentials of a request. No credentials is anonymous; wrong ones are an error,
/// never a silent downgrade to anonymous.
pub async fn authenticate(
    db: &DatabaseConnection,
    tokens: &token::Tokens,
    headers: &HeaderMap,
) -> Result<Viewer, AuthError> {
    authenticate_until(db, tokens, headers)
        .await
        .map(|(viewer, _)| viewer)
}

/// Like [`authenticate`], with when the credentials expire: a bearer token's `exp` (API keys
/// and anonymous callers: never).
pub async fn authenticate_until(
    db: &DatabaseConnection,
    tokens: &token::Tokens,
    headers: &HeaderMap,
) -> Result<(Viewer, Option<DateTime<Utc>>), AuthError> {
    let given = |name| headers.get_all(name).iter().count();
    let bearer = given(header::AUTHORIZATION.as_str());
    if bearer + given("x-api-key") > 1 {
        return Err(AuthError::TwoCredentials {
            only_keys: bearer == 0,
        });
    }
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let value = value
            .to_str()
            .map_err(|_| AuthError::Refused("unreadable Authorization header"))?;
        let (scheme, token) = value
            .split_once(' ')
            .ok_or(AuthError::Refused("Authorization must be `Bearer <token>`"))?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(AuthError::Refused("Authorization must be `Bearer <token>`"));
        }
        let (verified, expires) = tokens
            .verify_until(token.trim())
            .ok_or(AuthError::Refused("invalid or expired token"))?;
        let viewer = match verified {
            token::Verified::Account { id, session } => account_viewer(db, id, session).await?,
            token::Verified::External { subject, role, name } => Viewer {
                role,
                label: format!("external:{subject}"),
                name: name.map(Arc::from),
                ..Viewer::anonymous()
            },
        };
        return Ok((viewer, Some(expires)));
    }
    if let Some(value) = headers.get("x-api-key") {
        let key = value
            .to_str()
            .map_err(|_| AuthError::KeyRefused("unreadable X-Api-Key header"))?;
        return Ok((api_key_viewer(db, key.trim()).await?, None));
    }
    Ok((Viewer::anonymous(), None))
}

/// The caller that `viewer` was, read again: an account's current role and communities, a key
/// not revoked since (a long-lived connection checks its caller this way). A person known only
/// to the external identity provider, or an anonymous caller, has nothing stored to check.
pub async fn recheck(db: &DatabaseConnection, viewer: &Viewer) -> Result<Viewer, AuthError> {
    if let Some(id) = viewer.account_id {
        return account_viewer(db, id, viewer.session).await;
    }
    if let Some(id) = viewer.api_key_id {
        let found = api_key::Entity::find_by_id(id)
            .one(db)
            .await?
            .filter(|k| k.revoked_at.is_none())
            .ok_or(AuthError::KeyRefused("unknown or revoked API key"))?;
        return Ok(key_viewer(found));
    }
    Ok(viewer.clone())
}

/// The viewer of an account, with its current role and communities: a disabled account, a
/// changed role or an ended `session` takes effect at once, not when the token expires. The
/// session is checked in the same statement as the account.
pub async fn account_viewer(
    db: &DatabaseConnection,
    id: Uuid,
    session: Option<Uuid>,
) -> Result<Viewer, AuthError> {
    let mut find = account::Entity::find_by_id(id);
    if let Some(family) = session {
        // A session lives while a refresh token of its family is not revoked (`logout`, a
        // copied token presented again, a new password revoke them all).
        find = find.filter(Expr::exists(
            sea_orm::sea_query::Query::select()
                .expr(Expr::val(1))
                .from(refresh_token::Entity)
                .and_where(refresh_token::Column::FamilyId.eq(family))
                // The account's own session: another account's (whose ID any of its tokens
                // shows) opens nothing.
                .and_where(refresh_token::Column::AccountId.eq(id))
                .and_where(refresh_token::Column::RevokedAt.is_null())
                .to_owned(),
        ));
    }
    let account = find
        .one(db)
        .await?
        .filter(|a| !a.disabled)
        .ok_or(AuthError::Refused(
            "unknown or disabled account, or an ended session",
        ))?;
    let communities: Vec<Uuid> = if account.role == account::AccountRole::CommunityEditor {
        account_community::Entity::find()
            .select_only()
            .column(account_community::Column::CommunityId)
            .filter(account_community::Column::AccountId.eq(id))
            .into_tuple()
            .all(db)
            .await?
    } else {
        Vec::new()
    };
    Ok(Viewer {
        role: account.role.into(),
        account_id: Some(account.id),
        communities: communities.into(),
        label: crate::account::actor_label(&account),
        session,
        ..Viewer::anonymous()
    })
}

async fn api_key_viewer(db: &DatabaseConnection, key: &str) -> Result<Viewer, AuthError> {
    let found = api_key::Entity::find()
        .filter(api_key::Column::KeyHash.eq(secret::sha256_hex(key)))
        .one(db)
        .await?
        .filter(|k| k.revoked_at.is_none())
        .ok_or(AuthError::KeyRefused("unknown or revoked API key"))?;
    // Records the last use at most once a minute, off the request's path.
    if found
        .last_used_at
        .is_none_or(|t| t < crate::common::now() - chrono::Duration::minutes(1))
    {
        touch_api_key(db, found.id);
    }
    Ok(key_viewer(found))
}

/// The viewer of a valid API key.
fn key_viewer(found: api_key::Model) -> Viewer {
    Viewer {
        role: Role::Partner,
        api_key_id: Some(found.id),
        organization_id: Some(found.organization_id),
        scopes: found.scopes.split_whitespace().map(str::to_owned).collect(),
        label: format!("api-key:{}", found.prefix),
        ..Viewer::anonymous()
    }
}

/// Records when a key was last used, at most once a minute and off the request's path.
fn touch_api_key(db: &DatabaseConnection, id: Uuid) {
    let db = db.clone();
    tokio::spawn(async move {
        let now = crate::common::now();
        let result = api_key::Entity::update_many()
            .col_expr(api_key::Column::LastUsedAt, Expr::value(now))
            .filter(api_key::Column::Id.eq(id))
            .filter(
                sea_orm::Condition::any()
                    .add(api_key::Column::LastUsedAt.is_null())
                    .add(api_key::Column::LastUsedAt.lt(now - chrono::Duration::minutes(1))),
            )
            .exec(&db)
            .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "cannot record an API key's last use");
        }
    });
}
