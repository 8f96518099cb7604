//! The `engagement_event` table.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "engagement_event")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub community_id: Uuid,
    pub plan_id: Option<Uuid>,
    pub kind: EventKind,
    pub title: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    pub occurred_on: Date,
    pub participants: i32,
    #[serde(deserialize_with = "crate::json::timestamp")]
    pub created_at: DateTimeUtc,
    #[serde(deserialize_with = "crate::json::timestamp")]
    pub updated_at: DateTimeUtc,
    pub version: i32,
}

/// The rows this table's foreign keys refer to.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::community::Entity",
        from = "Column::CommunityId",
        to = "super::community::Column::Id"
    )]
    Community,
    #[sea_orm(
        belongs_to = "super::plan::Entity",
        from = "Column::PlanId",
        to = "super::plan::Column::Id"
    )]
    Plan,
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
pub enum EventKind {
    CitizenMeeting,
    Workshop,
    WorkingDay,
    PublicConsultation,
    Event,
    Other,
}
