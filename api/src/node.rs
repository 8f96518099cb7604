//! The Relay `Node` interface: any object with a global ID can be fetched again by `node(id)`.
use async_graphql::{Context, ID, Interface, Object, PathSegment, Result};

use entity::{account as account_row, api_key, audit_log, webhook_delivery, webhook_endpoint};
use sea_orm::EntityTrait;

use crate::{
    account::{Account, ApiKey},
    action::{self, Action, ActionDepartment, ActionUpdate},
    audit::AuditLogEntry,
    auth::viewer,
    community::{self, Community},
    consultation::{self, ConsultationResponse},
    contact::{self, Contact},
    department::{self, Department},
    engagement::{self, EngagementEvent},
    error::ApiError,
    idea::{self, Idea, IdeaExchange},
    loader,
    organization::{self, Organization},
    partnership::{self, Partnership, PartnershipMember},
    plan::{self, Plan, PlanInvolvement},
    relay::{self, NodeType, OtherType, TypeName},
    review::{self, AnnualReview, AnnualReviewEntry},
    theme::{self, Theme},
    webhook::graphql::{WebhookDelivery, WebhookEndpoint},
};

pub const MAX_NODES: usize = 100;

/// An object with a global ID, unique across all types: `node(id:)` and `nodes(ids:)` fetch
/// it again by that ID alone.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "An opaque global ID."))]
pub enum Node {
    Community(Community),
    Contact(Contact),
    Organization(Organization),
    Department(Department),
    Theme(Theme),
    Plan(Plan),
    PlanInvolvement(PlanInvolvement),
    EngagementEvent(EngagementEvent),
    Action(Action),
    ActionDepartment(ActionDepartment),
    ActionUpdate(ActionUpdate),
    Partnership(Partnership),
    PartnershipMember(PartnershipMember),
    Idea(Idea),
    IdeaExchange(IdeaExchange),
    AnnualReview(AnnualReview),
    AnnualReviewEntry(AnnualReviewEntry),
    ConsultationResponse(ConsultationResponse),
    // The types below are not content: `node` gives them only to those their lists are for.
    Account(Account),
    ApiKey(ApiKey),
    AuditLogEntry(AuditLogEntry),
    WebhookEndpoint(WebhookEndpoint),
    WebhookDelivery(WebhookDelivery),
}

/// What a global ID of ours names.
#[derive(Clone, Copy)]
enum Target {
    Node(NodeType),
    Other(OtherType),
}

/// The type and UUID an ID names; an error for what is not an ID of ours.
fn decode(id: &ID) -> Result<(Target, uuid::Uuid), ApiError> {
    let (type_name, uuid) = relay::decode(id)?;
    if let Some(node_type) = NodeType::from_name(&type_name) {
        return Ok((Target::Node(node_type), uuid));
    }
    match OtherType::ALL.iter().find(|t| t.name() == type_name) {
        Some(&other) => Ok((Target::Other(other), uuid)),
        None => Err(ApiError::bad_input(format!(
            "\"{}\" is not a valid ID",
            relay::truncate(id)
        ))),
    }
}

/// Loads the object behind a global ID, if it exists and the caller may see it.
pub(crate) async fn resolve(ctx: &Context<'_>, id: &ID) -> Result<Option<Node>> {
    let (target, uuid) = decode(id)?;
    load(ctx, target, uuid).await
}

/// The row `uuid` of `target`, if it exists and the caller may see it.
async fn load(ctx: &Context<'_>, target: Target, uuid: uuid::Uuid) -> Result<Option<Node>> {
    match target {
        Target::Node(node_type) => load_node(ctx, node_type, uuid).await,
        Target::Other(other) => load_other(ctx, other, uuid).await,
    }
}

static ACCOUNT: loader::Rel<account_row::Model> =
    loader::Rel::new("Account", |_| loader::by_id(account_row::Entity::find()));
static API_KEY: loader::Rel<api_key::Model> =
    loader::Rel::new("ApiKey", |_| loader::by_id(api_key::Entity::find()));
static AUDIT_LOG_ENTRY: loader::Rel<audit_log::Model> =
    loader::Rel::new("AuditLogEntry", |_| loader::by_id(audit_log::Entity::find()));
static WEBHOOK_ENDPOINT: loader::Rel<webhook_endpoint::Model> = loader::Rel::new("WebhookEndpoint", |_| {
    loader::by_id(webhook_endpoint::Entity::find())
});
static WEBHOOK_DELIVERY: loader::Rel<webhook_delivery::Model> = loader::Rel::new("WebhookDelivery", |_| {
    loader::by_id(webhook_delivery::Entity::find())
});

/// A row of a type that is not content, for those its lists are for (null for everyone
/// else, as for a row that does not exist): an account for admins and its holder, an API
/// key for admins, an audit log entry for staff, a webhook endpoint and its deliveries for
/// staff and the partner whose endpoint it is.
async fn load_other(ctx: &Context<'_>, other: OtherType, uuid: uuid::Uuid) -> Result<Option<Node>> {
    let viewer = viewer(ctx);
    let partner_owns =
        |organization: uuid::Uuid| viewer.is_staff() || viewer.organization_id == Some(organization);
    Ok(match other {
        OtherType::Account if viewer.is_admin() || viewer.account_id == Some(uuid) => {
            loader::one(ctx, &ACCOUNT, uuid)
                .await?
                .map(|m| Node::Account(Account(m)))
        }
        OtherType::ApiKey if viewer.is_admin() => loader::one(ctx, &API_KEY, uuid)
            .await?
            .map(|m| Node::ApiKey(ApiKey(m))),
        OtherType::AuditLogEntry if viewer.is_staff() => loader::one(ctx, &AUDIT_LOG_ENTRY, uuid)
            .await?
            .map(|m| Node::AuditLogEntry(AuditLogEntry(m))),
        OtherType::WebhookEndpoint if viewer.is_staff() || viewer.organization_id.is_some() => {
            loader::one(ctx, &WEBHOOK_ENDPOINT, uuid)
                .await?
                .filter(|m| partner_owns(m.organization_id))
                .map(|m| Node::WebhookEndpoint(WebhookEndpoint(m)))
        }
        OtherType::WebhookDelivery if viewer.is_staff() || viewer.organization_id.is_some() => {
            let Some(delivery) = loader::one(ctx, &WEBHOOK_DELIVERY, uuid).await? else {
                return Ok(None);
            };
            let endpoint = loader::one(ctx, &WEBHOOK_ENDPOINT, delivery.endpoint_id).await?;
            endpoint
                .filter(|e| partner_owns(e.organization_id))
                .map(|_| Node::WebhookDelivery(WebhookDelivery(delivery)))
        }
        // Not the caller's to see, or not an object of its own (the engagement weights).
        _ => None,
    })
}

/// The row `uuid` of `node_type`, if it exists and the caller may see it.
async fn load_node(ctx: &Context<'_>, node_type: NodeType, uuid: uuid::Uuid) -> Result<Option<Node>> {
    macro_rules! load {
        ($rel:expr, $variant:ident) => {
            loader::one(ctx, &$rel, uuid)
                .await?
                .map(|m| Node::$variant($variant(m)))
        };
    }
    Ok(match node_type {
        NodeType::Community => load!(community::BY_ID, Community),
        NodeType::Contact => load!(contact::BY_ID, Contact),
        NodeType::Organization => load!(organization::BY_ID, Organization),
        NodeType::Department => load!(department::BY_ID, Department),
        NodeType::Theme => load!(theme::BY_ID, Theme),
        NodeType::Plan => load!(plan::BY_ID, Plan),
        NodeType::PlanInvolvement => load!(plan::INVOLVEMENT_BY_ID, PlanInvolvement),
        NodeType::EngagementEvent => load!(engagement::BY_ID, EngagementEvent),
        NodeType::Action => load!(action::BY_ID, Action),
        NodeType::ActionDepartment => load!(action::DEPARTMENT_BY_ID, ActionDepartment),
        NodeType::ActionUpdate => load!(action::UPDATE_BY_ID, ActionUpdate),
        NodeType::Partnership => load!(partnership::BY_ID, Partnership),
        NodeType::PartnershipMember => load!(partnership::MEMBER_BY_ID, PartnershipMember),
        NodeType::Idea => load!(idea::BY_ID, Idea),
        NodeType::IdeaExchange => load!(idea::EXCHANGE_BY_ID, IdeaExchange),
        NodeType::AnnualReview => load!(review::BY_ID, AnnualReview),
        NodeType::AnnualReviewEntry => load!(review::ENTRY_BY_ID, AnnualReviewEntry),
        NodeType::ConsultationResponse => load!(consultation::BY_ID, ConsultationResponse),
    })
}

#[derive(Default)]
pub struct NodeQuery;

// Public data may be cached for a minute (see `schema::Query`).
#[Object(cache_control(max_age = 60))]
impl NodeQuery {
    /// The object with this global ID; null when it does not exist or is not visible to you
    /// (accounts, API keys, the audit log and webhook endpoints are visible to whom their
    /// lists are: `accounts`, `apiKeys`, `auditLog`, `webhookEndpoints`; an account to its
    /// holder too).
    async fn node(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Node>> {
        resolve(ctx, &id).await
    }

    /// The objects with these global IDs (at most 100), in the same order; null for each that
    /// does not exist or is not visible to you, and for each that is not an ID (with an error
    /// whose `path` ends with its index).
    async fn nodes(&self, ctx: &Context<'_>, ids: Vec<ID>) -> Result<Vec<Option<Node>>> {
        if ids.len() > MAX_NODES {
            return Err(ApiError::bad_input(format!(
                "`ids` may hold at most {MAX_NODES} IDs, got {}",
                ids.len()
            ))
            .into());
        }
        // Each ID on its own: one that is not an ID is null with its error, as GitHub's API
        // answers, rather than a failed field (non-null) that would take `data` with it.
        let mut out: Vec<Option<Node>> = ids.iter().map(|_| None).collect();
        let mut valid = Vec::with_capacity(ids.len());
        for (index, id) in ids.iter().enumerate() {
            match decode(id) {
                Ok((target, uuid)) => valid.push((index, target, uuid)),
                Err(e) => {
                    let mut error = async_graphql::Error::from(e).into_server_error(ctx.item.pos);
                    error.path = vec![
                        PathSegment::Field(ctx.item.node.response_key().node.to_string()),
                        PathSegment::Index(index),
                    ];
                    ctx.add_error(error);
                }
            }
        }
        // Resolved together, so the lookups of one type share a batch.
        let found = async_graphql::futures_util::future::try_join_all(
            valid.iter().map(|&(_, target, uuid)| load(ctx, target, uuid)),
        )
        .await?;
        for ((index, _, _), node) in valid.into_iter().zip(found) {
            out[index] = node;
        }
        Ok(out)
    }
}
