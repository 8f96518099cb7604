//! The Relay `Node` interface: any object with a global ID can be fetched again by `node(id)`.
use async_graphql::{Context, ID, Interface, Object, PathSegment, Result};

use crate::{
    action::{self, Action, ActionDepartment, ActionUpdate},
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
}

/// The Node type and UUID an ID names; no type for an ID of ours whose type is not a `Node`
/// (an account, an API key, an audit entry…); an error for what is not an ID of ours.
fn decode(id: &ID) -> Result<(Option<NodeType>, uuid::Uuid), ApiError> {
    let (type_name, uuid) = relay::decode(id)?;
    match NodeType::from_name(&type_name) {
        Some(node_type) => Ok((Some(node_type), uuid)),
        None if OtherType::ALL.iter().any(|t| t.name() == type_name) => Ok((None, uuid)),
        None => Err(ApiError::bad_input(format!(
            "\"{}\" is not a valid ID",
            relay::truncate(id)
        ))),
    }
}

/// Loads the object behind a global ID, if it exists and the caller may see it.
pub(crate) async fn resolve(ctx: &Context<'_>, id: &ID) -> Result<Option<Node>> {
    match decode(id)? {
        (Some(node_type), uuid) => load(ctx, node_type, uuid).await,
        // Not a `Node`: nothing `node` fetches, so null, as for a row that does not exist.
        (None, _) => Ok(None),
    }
}

/// The row `uuid` of `node_type`, if it exists and the caller may see it.
async fn load(ctx: &Context<'_>, node_type: NodeType, uuid: uuid::Uuid) -> Result<Option<Node>> {
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
    /// The object with this global ID; null when it does not exist, is not visible to you, or
    /// is not a `Node` (an account, an API key, an audit log entry).
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
                Ok((Some(node_type), uuid)) => valid.push((index, node_type, uuid)),
                Ok((None, _)) => {}
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
            valid
                .iter()
                .map(|&(_, node_type, uuid)| load(ctx, node_type, uuid)),
        )
        .await?;
        for ((index, _, _), node) in valid.into_iter().zip(found) {
            out[index] = node;
        }
        Ok(out)
    }
}
