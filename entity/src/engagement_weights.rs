//! The `engagement_weights` table: at most one row, the weights of the engagement components
//! and of the priority terms as staff set them. Without a row the defaults in the code apply.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "engagement_weights")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub associations_involved: f64,
    pub events: f64,
    pub participants: f64,
    pub event_organizations: f64,
    pub volunteer_hours: f64,
    pub co_funding_dkk: f64,
    pub action_updates: f64,
    pub actions_completed: f64,
    /// Per published consultation response (added after the others).
    pub consultation_responses: f64,
    pub priority_potential: f64,
    pub priority_engagement: f64,
    pub priority_committed_partners: f64,
    pub priority_seeking_partners: f64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
