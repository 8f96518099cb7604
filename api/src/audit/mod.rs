//! The audit log: every successful mutation records who did what to which row, with the
//! fields before and after, in the mutation's own transaction. Staff read it here.
use async_graphql::{Context, ID, InputObject, Json, Object, Result, SimpleObject, connection::Connection};
use chrono::{DateTime, Utc};
use entity::audit_log;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Order};

use crate::{
    auth::{Require, visible_to_staff},
    error::ApiError,
    loader,
    pagination::{ConnectionFields, Cursor, Window},
    relay::{self, NodeType, OtherType, TypeName},
};

/// Who did something.
#[derive(SimpleObject)]
pub struct Actor {
    /// `ACCOUNT`, `API_KEY`, `SYSTEM` (the command line) or `ANONYMOUS` (a visitor of the
    /// website, who sent a response to a consultation).
    pub kind: String,
    /// The account's or the API key's global ID, when there is one.
    #[graphql(
        deprecation = "Use `nodeId`: an `id` equal to the Account's or ApiKey's own makes a cache that keys objects by `id` alone (Relay's) take the actor and the account for one object."
    )]
    pub id: Option<ID>,
    /// The global ID of the account (`Account.id`) or API key (`ApiKey.id`), when there is one
    /// (`node(id:)` fetches it for an admin).
    pub node_id: Option<ID>,
    /// The account's name when it acted (`[slettet konto]` once erased; `[personoplysning]`
    /// on a consultation response's record once its sender's data is erased), `api-key:` and the
    /// key's prefix, `external:` and the identity provider's subject, `system:…` or
    /// `anonymous`.
    pub label: String,
}

pub struct AuditLogEntry(pub audit_log::Model);

/// One change. Visible to staff.
#[Object(visible = "visible_to_staff")]
impl AuditLogEntry {
    pub async fn id(&self) -> ID {
        relay::encode(OtherType::AuditLogEntry, self.0.id)
    }
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.occurred_at
    }
    async fn actor(&self) -> Actor {
        let (kind, type_name) = match self.0.actor_kind {
            // Written without an account, as the write path names an anonymous caller.
            audit_log::ActorKind::Account
                if self.0.actor_id.is_none() && self.0.actor_label == "anonymous" =>
            {
                ("ANONYMOUS", None)
            }
            audit_log::ActorKind::Account => ("ACCOUNT", Some(OtherType::Account)),
            audit_log::ActorKind::ApiKey => ("API_KEY", Some(OtherType::ApiKey)),
            audit_log::ActorKind::System => ("SYSTEM", None),
        };
        let node_id = type_name.zip(self.0.actor_id).map(|(t, id)| relay::encode(t, id));
        Actor {
            kind: kind.into(),
            id: node_id.clone(),
            node_id,
            label: self.0.actor_label.clone(),
        }
    }
    /// `CREATE`, `UPDATE`, `DELETE`, `EXPORT` (data read out for a person who asked for it),
    /// `LOGIN`, `LOGIN_FAILED` (a wrong password or a disabled account, on the account's
    /// record), `REFRESH_TOKEN`, `REFRESH_TOKEN_REUSED` (a used refresh token presented again:
    /// its session ended) or `LOGOUT`.
    async fn operation(&self) -> &str {
        &self.0.operation
    }
    /// The type of the changed row, e.g. `Action`.
    async fn entity_type(&self) -> &str {
        &self.0.entity
    }
    /// The changed row's global ID (it may since have been deleted).
    async fn entity_id(&self) -> ID {
        relay::encode_stored(&self.0.entity, self.0.entity_id)
    }
    /// `{"field": {"before": …, "after": …}}` for each changed field (database names).
    async fn changes(&self) -> Json<serde_json::Value> {
        Json(serde_json::from_str(&self.0.changes).unwrap_or_default())
    }
}

#[derive(InputObject, Default)]
pub struct AuditLogFilter {
    /// Changes to one row, by its global ID.
    pub entity_id: Option<ID>,
    /// Changes to one type of row, e.g. `Plan` (a GraphQL type name; any case).
    pub entity_type: Option<String>,
    /// Changes by one account or API key, by its global ID.
    pub actor_id: Option<ID>,
    /// `CREATE`, `UPDATE`, `DELETE`, `EXPORT`, `LOGIN`, `LOGIN_FAILED` (a wrong password or a
    /// disabled account, on the account's record), `REFRESH_TOKEN`, `REFRESH_TOKEN_REUSED` (a
    /// used refresh token presented again: its session ended) or `LOGOUT` (any case).
    pub operation: Option<String>,
    /// From this time on (inclusive).
    #[graphql(validator(custom = "crate::common::StoredTime"))]
    pub since: Option<DateTime<Utc>>,
    /// Before this time.
    #[graphql(validator(custom = "crate::common::StoredTime"))]
    pub until: Option<DateTime<Utc>>,
}

#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// The audit log, newest first. Staff only.
    #[graphql(guard = "Require::Staff", visible = "visible_to_staff")]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        filter: Option<AuditLogFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<Cursor, AuditLogEntry, ConnectionFields>> {
        let window = Window::parse(first, after, last, before)?;
        let f = filter.unwrap_or_default();
        let mut q = audit_log::Entity::find();
        if let Some(id) = &f.entity_id {
            let (type_name, id) = relay::decode(id)?;
            q = q
                .filter(audit_log::Column::Entity.eq(type_name))
                .filter(audit_log::Column::EntityId.eq(id));
        }
        if let Some(t) = &f.entity_type {
            let types = NodeType::ALL
                .iter()
                .map(|t| t.name())
                .chain(OtherType::ALL.iter().map(|t| t.name()));
            q = q.filter(audit_log::Column::Entity.eq(one_known(t, "entityType", types)?));
        }
        if let Some(id) = &f.actor_id {
            let (kind, id) = relay::decode_as_one_of(id, &[OtherType::Account, OtherType::ApiKey])?;
            let kind = match kind {
                OtherType::ApiKey => audit_log::ActorKind::ApiKey,
                _ => audit_log::ActorKind::Account,
            };
            q = q
                .filter(audit_log::Column::ActorKind.eq(kind))
                .filter(audit_log::Column::ActorId.eq(id));
        }
        if let Some(op) = &f.operation {
            q = q.filter(audit_log::Column::Operation.eq(one_known(op, "operation", operations())?));
        }
        if let Some(since) = f.since {
            q = q.filter(audit_log::Column::OccurredAt.gte(crate::common::to_stored_precision(since)));
        }
        if let Some(until) = f.until {
            q = q.filter(audit_log::Column::OccurredAt.lt(crate::common::to_stored_precision(until)));
        }
        loader::top_connection(
            ctx,
            q,
            &[
                (audit_log::Column::OccurredAt, Order::Desc),
                (audit_log::Column::Id, Order::Desc),
            ],
            &window,
            AuditLogEntry,
        )
        .await
    }
}

/// What the sign-in mutations record on an account (a write records a
/// [`crate::write::Operation`]).
#[derive(Debug, Clone, Copy)]
pub enum SessionEvent {
    Login,
    /// A wrong password, or a disabled account, for an account that exists.
    LoginFailed,
    RefreshToken,
    /// A used refresh token presented again: it was copied, and its session ended.
    RefreshTokenReused,
    Logout,
}

impl SessionEvent {
    const ALL: [SessionEvent; 5] = [
        SessionEvent::Login,
        SessionEvent::LoginFailed,
        SessionEvent::RefreshToken,
        SessionEvent::RefreshTokenReused,
        SessionEvent::Logout,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SessionEvent::Login => "LOGIN",
            SessionEvent::LoginFailed => "LOGIN_FAILED",
            SessionEvent::RefreshToken => "REFRESH_TOKEN",
            SessionEvent::RefreshTokenReused => "REFRESH_TOKEN_REUSED",
            SessionEvent::Logout => "LOGOUT",
        }
    }
}

/// Every operation the audit log records: a write's, and the sessions' own.
fn operations() -> impl Iterator<Item = &'static str> + Clone {
    crate::write::Operation::ALL
        .into_iter()
        .map(crate::write::Operation::as_str)
        .chain(SessionEvent::ALL.into_iter().map(SessionEvent::as_str))
}

/// `value` as the log spells it, whatever its case, if it is one of `known`: a filter on a
/// value the log never holds would answer "nothing happened" for a typo.
fn one_known(
    value: &str,
    field: &str,
    known: impl Iterator<Item = &'static str> + Clone,
) -> Result<&'static str, ApiError> {
    known
        .clone()
        .find(|k| k.eq_ignore_ascii_case(value.trim()))
        .ok_or_else(|| {
            let shown: String = value.chars().take(40).collect();
            ApiError::bad_input(format!(
                "`{field}` `{shown}` is not one the audit log records; one of: {}",
                known.collect::<Vec<_>>().join(", ")
            ))
        })
}

impl crate::compiled::Prefetch for AuditLogEntry {}
