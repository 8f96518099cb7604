//! The GraphQL schema: every room's queries merged into one root.
use async_graphql::{EmptyMutation, EmptySubscription, MergedObject, Schema};
use sea_orm::DatabaseConnection;

use crate::{
    about::AboutQuery, action::ActionQuery, community::CommunityQuery, department::DepartmentQuery,
    engagement::EngagementQuery, idea::IdeaQuery, labels::LabelQuery, node::NodeQuery,
    organization::OrganizationQuery, partnership::PartnershipQuery, plan::PlanQuery, theme::ThemeQuery,
};

#[derive(MergedObject, Default)]
pub struct Query(
    CommunityQuery,
    PlanQuery,
    ActionQuery,
    PartnershipQuery,
    IdeaQuery,
    OrganizationQuery,
    DepartmentQuery,
    ThemeQuery,
    EngagementQuery,
    NodeQuery,
    LabelQuery,
    AboutQuery,
);

pub type LupSchema = Schema<Query, EmptyMutation, EmptySubscription>;

/// Deeper than any real client query; a first guard until full query bounds exist.
pub const MAX_DEPTH: usize = 16;

pub fn build(db: Option<DatabaseConnection>) -> LupSchema {
    let mut builder =
        Schema::build(Query::default(), EmptyMutation, EmptySubscription).limit_depth(MAX_DEPTH);
    if let Some(db) = db {
        builder = builder.data(db);
    }
    builder.finish()
}

/// The SDL committed as `schema.graphql`.
pub fn sdl() -> String {
    build(None).sdl()
}
