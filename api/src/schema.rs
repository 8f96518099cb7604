//! The GraphQL schema: every room's queries merged into one root.
use std::sync::Arc;

use async_graphql::{MergedObject, MergedSubscription, Schema, ValidationMode};
use sea_orm::DatabaseConnection;

use crate::{
    about::AboutQuery,
    account::{AccountMutation, AccountQuery},
    action::ActionQuery,
    action::mutation::ActionMutation,
    audit::AuditQuery,
    auth::{
        mutation::{AuthMutation, ViewerQuery},
        token::Tokens,
    },
    changes::{ChangesQuery, ChangesSubscription},
    community::CommunityQuery,
    community::mutation::CommunityMutation,
    consultation::{
        mutation::ConsultationMutation,
        privacy::{PrivacyMutation, PrivacyQuery},
    },
    contact::mutation::ContactMutation,
    department::DepartmentQuery,
    department::mutation::DepartmentMutation,
    engagement::EngagementQuery,
    engagement::mutation::EngagementMutation,
    engagement::weights::{WeightsMutation, WeightsQuery},
    idea::IdeaQuery,
    idea::mutation::IdeaMutation,
    label_query::LabelQuery,
    node::NodeQuery,
    organization::OrganizationQuery,
    organization::mutation::OrganizationMutation,
    partnership::PartnershipQuery,
    partnership::mutation::{PartnerQuery, PartnershipMutation},
    plan::PlanQuery,
    plan::mutation::PlanMutation,
    priority::PriorityQuery,
    review::ReviewQuery,
    review::mutation::ReviewMutation,
    search::SearchQuery,
    theme::ThemeQuery,
    theme::mutation::ThemeMutation,
    webhook::{WebhookMutation, WebhookQuery},
};

/// The query root. Cache hints: each room's root object says its public data may be cached
/// for 60 s (`cache_control(max_age = 60)`); a merged root takes the strictest hint of its
/// parts, and a field or type may lower it further (`viewer` is `no_cache`). The hints of
/// what a query touches become the `Cache-Control` of anonymous GET answers (see `http`).
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
    WeightsQuery,
    PriorityQuery,
    NodeQuery,
    LabelQuery,
    AboutQuery,
    ViewerQuery,
    AccountQuery,
    AuditQuery,
    PartnerQuery,
    ReviewQuery,
    PrivacyQuery,
    SearchQuery,
    ChangesQuery,
    WebhookQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    AuthMutation,
    AccountMutation,
    CommunityMutation,
    PlanMutation,
    EngagementMutation,
    WeightsMutation,
    ActionMutation,
    PartnershipMutation,
    ContactMutation,
    OrganizationMutation,
    DepartmentMutation,
    ThemeMutation,
    IdeaMutation,
    ConsultationMutation,
    PrivacyMutation,
    ReviewMutation,
    WebhookMutation,
);

/// The subscription root, served over WebSocket only (`crate::http::ws`).
#[derive(MergedSubscription, Default)]
pub struct Subscription(ChangesSubscription);

pub type LupSchema = Schema<Query, Mutation, Subscription>;

pub const MAX_DEPTH: usize = crate::bounds::MAX_DEPTH;

/// The schema, validating every request in full (async-graphql's strict mode).
pub fn build(
    db: Option<DatabaseConnection>,
    tokens: Option<Arc<Tokens>>,
    cache: Option<crate::cache::ResponseCache>,
) -> LupSchema {
    build_with(db, tokens, cache, ValidationMode::Strict)
}

/// The same schema, checking only what async-graphql's fast validation checks: for
/// documents that passed the strict schema's validation before (see `http::prepared`).
pub fn build_fast(
    db: Option<DatabaseConnection>,
    tokens: Option<Arc<Tokens>>,
    cache: Option<crate::cache::ResponseCache>,
) -> LupSchema {
    build_with(db, tokens, cache, ValidationMode::Fast)
}

fn build_with(
    db: Option<DatabaseConnection>,
    tokens: Option<Arc<Tokens>>,
    cache: Option<crate::cache::ResponseCache>,
    mode: ValidationMode,
) -> LupSchema {
    // Bounds are checked on the prepared document when a request is admitted, before
    // validation and before any SQL (`crate::bounds`); async-graphql's own depth limit
    // stays as a second net. No extension: one would take every field off async-graphql's
    // fast path.
    let mut builder = Schema::build(Query::default(), Mutation::default(), Subscription::default())
        .validation_mode(mode)
        .limit_depth(MAX_DEPTH + 1)
        .override_output_type_description::<chrono::DateTime<chrono::Utc>>(DATE_TIME);
    if let Some(db) = db {
        builder = builder.data(db);
    }
    if let Some(tokens) = tokens {
        builder = builder.data(tokens);
    }
    if let Some(cache) = cache {
        builder = builder.data(cache);
    }
    builder.finish()
}

/// What the `DateTime` scalar is (async-graphql's own description names the Rust type).
const DATE_TIME: &str = "An instant, as RFC 3339's `date-time` with its offset: `2026-03-01T12:00:00Z` or \
`2026-03-01T13:00:00+01:00` (an offset is required; years 0001–9999 in UTC). Answers are in UTC \
to the microsecond at most: `2026-03-01T12:00:00.123456+00:00`.";

/// The SDL committed as `schema.graphql`: every field, including those hidden from callers
/// who may not use them.
pub fn sdl() -> String {
    build(None, None, None).sdl()
}
