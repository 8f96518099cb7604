//! The `action` table.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "action")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub plan_id: Uuid,
    pub title: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    pub horizon: Horizon,
    pub status: ActionStatus,
    pub progress: i32,
    pub potential: Option<i32>,
    pub start_on: Option<Date>,
    pub due_on: Option<Date>,
    pub budget_estimate: Option<i64>,
    pub lead_organization_id: Option<Uuid>,
    pub seeking_partners: bool,
    pub partner_needs: Option<String>,
    #[serde(deserialize_with = "crate::json::timestamp")]
    pub created_at: DateTimeUtc,
    #[serde(deserialize_with = "crate::json::timestamp")]
    pub updated_at: DateTimeUtc,
    pub version: i32,
    /// Notes for the municipality and the community's editors; never public.
    #[sea_orm(column_type = "Text")]
    pub internal_notes: String,
    /// When the action was completed: set when its status becomes COMPLETED, cleared when
    /// it leaves it.
    pub completed_on: Option<Date>,
    /// Where the action takes place (WGS 84), when it has a place of its own: both or
    /// neither. Without one it is placed at its community.
    #[serde(default)]
    pub latitude: Option<f64>,
    #[serde(default)]
    pub longitude: Option<f64>,
}

/// The rows this table's foreign keys refer to.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::plan::Entity",
        from = "Column::PlanId",
        to = "super::plan::Column::Id"
    )]
    Plan,
    #[sea_orm(
        belongs_to = "super::organization::Entity",
        from = "Column::LeadOrganizationId",
        to = "super::organization::Column::Id"
    )]
    LeadOrganization,
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
pub enum Horizon {
    LongTerm,
    HereAndNow,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::None)",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum ActionStatus {
    Idea,
    Planned,
    InProgress,
    Completed,
    Paused,
    Dropped,
}
