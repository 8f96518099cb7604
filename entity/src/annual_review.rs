//! The `annual_review` table: the committee's yearly status of the programme and its direction
//! for the coming year. A draft is the coordinators' working copy; a published review is
//! read-only and public.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "annual_review")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The calendar year the review looks back on; one review per year.
    #[sea_orm(unique)]
    pub year: i32,
    pub status: ReviewStatus,
    /// The committee's direction for the next year.
    #[sea_orm(column_type = "Text")]
    pub direction: String,
    /// The share of long-term actions (percent, 0–100) the committee wants next year.
    pub wanted_long_term_share: Option<i32>,
    /// When the figures of the entries were taken (created or refreshed).
    pub snapshot_taken_at: DateTimeUtc,
    pub published_at: Option<DateTimeUtc>,
    /// The focus at publication (IDs and names of the communities and themes), as JSON; null
    /// for a draft.
    #[sea_orm(column_type = "Text", nullable)]
    pub frozen_focus: Option<String>,
    /// The year-over-year totals of the reviews published before it, as JSON, taken at
    /// publication; null for a draft.
    #[sea_orm(column_type = "Text", nullable)]
    pub frozen_history: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

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
pub enum ReviewStatus {
    Draft,
    Published,
}
