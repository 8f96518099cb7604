//! The `consultation_response` table: a response from the public to a plan in consultation.
//! Name, association, email and the client's fingerprint are personal data, and the text and
//! the reply may hold some: the model's `Serialize` (what the audit log records) writes them
//! redacted, never in clear.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "consultation_response")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub plan_id: Uuid,
    /// One of the plan's actions, when the response is about it.
    pub action_id: Option<Uuid>,
    /// Written to the audit log as `[personoplysning]`: a citizen's text may tell of their
    /// health or of others, and the log outlives what a moderator takes out of it.
    #[sea_orm(column_type = "Text")]
    #[serde(serialize_with = "crate::json::redacted_text")]
    pub body: String,
    #[sea_orm(column_type = "Text", nullable)]
    #[serde(serialize_with = "redacted")]
    pub name: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    #[serde(serialize_with = "redacted")]
    pub association: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    #[serde(serialize_with = "redacted")]
    pub email: Option<String>,
    /// Consent to store the name, association and email given.
    pub consent_to_store: bool,
    /// Consent to show the name publicly.
    pub consent_to_show_name: bool,
    pub status: ResponseStatus,
    /// Written to the audit log as `[personoplysning]`: a moderator's reason may name the
    /// sender or quote what the text told of others, and the log outlives the erasure that
    /// takes the name out of it.
    #[sea_orm(column_type = "Text", nullable)]
    #[serde(serialize_with = "redacted")]
    pub rejection_reason: Option<String>,
    /// Written to the audit log as `[personoplysning]`: it may name a sender who agreed to
    /// have their name shown, and the log outlives an erasure that takes the name out.
    #[sea_orm(column_type = "Text", nullable)]
    #[serde(serialize_with = "redacted")]
    pub reply: Option<String>,
    #[serde(deserialize_with = "crate::json::optional_timestamp")]
    pub replied_at: Option<DateTimeUtc>,
    /// Who sent it, as a fingerprint of the client (for a per-client budget); never shown.
    #[sea_orm(column_type = "Text", nullable)]
    #[serde(serialize_with = "redacted")]
    pub client_fingerprint: Option<String>,
    /// A hash of the normalised text (for refusing duplicates); never shown.
    #[serde(serialize_with = "crate::json::redacted_text")]
    pub body_hash: String,
    #[serde(deserialize_with = "crate::json::timestamp")]
    pub created_at: DateTimeUtc,
    #[serde(deserialize_with = "crate::json::timestamp")]
    pub updated_at: DateTimeUtc,
    pub version: i32,
}

pub use crate::json::REDACTED;
use crate::json::redacted;

/// The rows this table's foreign keys refer to.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::plan::Entity",
        from = "Column::PlanId",
        to = "super::plan::Column::Id"
    )]
    Plan,
    /// The action responded to, which is one of the plan's (the key is the pair).
    #[sea_orm(
        belongs_to = "super::action::Entity",
        from = "(Column::ActionId, Column::PlanId)",
        to = "(super::action::Column::Id, super::action::Column::PlanId)"
    )]
    Action,
}

impl ActiveModelBehavior for ActiveModel {}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::None)",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum ResponseStatus {
    /// Sent, not yet moderated: seen only by moderators.
    Pending,
    /// Public.
    Published,
    /// Refused, with a reason: seen only by moderators.
    Rejected,
    /// Taken down after publication: seen only by moderators.
    Hidden,
}
