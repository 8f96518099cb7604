//! The `webhook_endpoint` table: where a partner organisation wants its webhooks delivered
//! (see `api/src/webhook`). The secret signs every delivery; it is never serialised (the
//! audit log records the other fields).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "webhook_endpoint")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub created_by_api_key_id: Option<Uuid>,
    #[sea_orm(column_type = "Text")]
    pub url: String,
    /// `whsec_<base64>`: the Standard Webhooks signing secret.
    #[serde(skip)]
    pub secret: String,
    /// The secret before the last rotation, signing beside the new one for a while.
    #[serde(skip)]
    #[sea_orm(column_type = "Text", nullable)]
    pub previous_secret: Option<String>,
    pub previous_secret_expires_at: Option<DateTimeUtc>,
    /// Space-separated event types, e.g. `OPPORTUNITY_CREATED PROPOSAL_ACCEPTED`.
    pub event_types: String,
    pub enabled: bool,
    pub disabled_by: Option<DisabledBy>,
    #[sea_orm(column_type = "Text", nullable)]
    pub disabled_reason: Option<String>,
    pub disabled_at: Option<DateTimeUtc>,
    /// Failed attempts since the last delivered one.
    pub consecutive_failures: i32,
    /// The newest change event when the endpoint was registered: it is told of later ones.
    pub after_seq: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub version: i32,
}

/// The rows this table's foreign keys refer to.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::organization::Entity",
        from = "Column::OrganizationId",
        to = "super::organization::Column::Id"
    )]
    Organization,
    #[sea_orm(
        belongs_to = "super::api_key::Entity",
        from = "Column::CreatedByApiKeyId",
        to = "super::api_key::Column::Id"
    )]
    CreatedByApiKey,
}

impl ActiveModelBehavior for ActiveModel {}

/// Who disabled an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::None)",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum DisabledBy {
    /// The partner itself.
    Partner,
    /// The municipality's staff.
    Staff,
    /// The server, because deliveries kept failing.
    Failures,
}
