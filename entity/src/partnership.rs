//! The `partnership` table.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "partnership")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub title: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    pub action_id: Option<Uuid>,
    pub plan_id: Option<Uuid>,
    pub status: PartnershipStatus,
    pub starts_on: Option<Date>,
    pub ends_on: Option<Date>,
    #[serde(deserialize_with = "crate::json::timestamp")]
    pub created_at: DateTimeUtc,
    #[serde(deserialize_with = "crate::json::timestamp")]
    pub updated_at: DateTimeUtc,
    pub version: i32,
    /// Notes for the municipality and the community's editors; never public.
    #[sea_orm(column_type = "Text")]
    pub internal_notes: String,
    /// The partner organisation that proposed this partnership through `expressInterest`.
    pub proposed_by_organization_id: Option<Uuid>,
    #[sea_orm(column_type = "Text", nullable)]
    pub proposal_message: Option<String>,
    /// When the community declined the proposal; a declined proposal stays private.
    #[serde(deserialize_with = "crate::json::optional_timestamp")]
    pub declined_at: Option<DateTimeUtc>,
    /// The community's answer to the proposer when it declined the proposal.
    #[sea_orm(column_type = "Text", nullable)]
    pub decline_message: Option<String>,
}

/// The rows this table's foreign keys refer to.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::action::Entity",
        from = "Column::ActionId",
        to = "super::action::Column::Id"
    )]
    Action,
    #[sea_orm(
        belongs_to = "super::plan::Entity",
        from = "Column::PlanId",
        to = "super::plan::Column::Id"
    )]
    Plan,
    #[sea_orm(
        belongs_to = "super::organization::Entity",
        from = "Column::ProposedByOrganizationId",
        to = "super::organization::Column::Id"
    )]
    ProposedByOrganization,
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
pub enum PartnershipStatus {
    Proposed,
    Active,
    Completed,
    Ended,
}
