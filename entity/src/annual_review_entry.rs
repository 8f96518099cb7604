//! The `annual_review_entry` table: one community's figures in an annual review (a stored
//! snapshot, so a published review never changes when live data does) and the remarks on them.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "annual_review_entry")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub review_id: Uuid,
    pub community_id: Uuid,
    #[sea_orm(column_type = "Text")]
    pub remarks: String,
    /// The figures as JSON (see `lup_api::review::snapshot::Snapshot`).
    #[sea_orm(column_type = "Text")]
    pub snapshot: String,
    /// The community's name in the snapshot, which orders a review's entries.
    #[sea_orm(column_type = "Text")]
    pub community_name: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub version: i32,
}

/// The rows this table's foreign keys refer to.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::annual_review::Entity",
        from = "Column::ReviewId",
        to = "super::annual_review::Column::Id"
    )]
    Review,
    #[sea_orm(
        belongs_to = "super::community::Entity",
        from = "Column::CommunityId",
        to = "super::community::Column::Id"
    )]
    Community,
}

impl ActiveModelBehavior for ActiveModel {}
