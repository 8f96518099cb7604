//! The Relay `Node` interface: any object with a global ID can be fetched again by `node(id)`.
use async_graphql::{Context, ID, Interface, Object, Result};

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

/// Loads the object behind a global ID, if it exists and the caller may see it.
pub(crate) async fn resolve(ctx: &Context<'_>, id: &ID) -> Result<Option<Node>> {
    let (type_name, uuid) = relay::decode(id)?;
    macro_rules! load {
        ($rel:expr, $variant:ident) => {
            loader::one(ctx, &$rel, uuid)
                .await?
                .map(|m| Node::$variant($variant(m)))
        };
    }
    let Some(node_type) = NodeType::from_name(&type_name) else {
        // An ID of ours whose type is not a `Node` (an account, an API key, an audit entry…):
        // nothing `node` fetches, so null, as for a row that does not exist.
        if OtherType::ALL.iter().any(|t| t.name() == type_name) {
            return Ok(None);
        }
        return Err(ApiError::bad_input(format!("\"{}\" is not a valid ID", id.as_str())).into());
    };
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
    /// does not exist or is not visible to you.
    async fn nodes(&self, ctx: &Context<'_>, ids: Vec<ID>) -> Result<Vec<Option<Node>>> {
        if ids.len() > MAX_NODES {
            return Err(ApiError::bad_input(format!(
                "`ids` may hold at most {MAX_NODES} IDs, got {}",
                ids.len()
            ))
            .into());
        }
        // Decode all first, so one bad ID fails the field before anything is loaded.
        for id in &ids {
            relay::decode(id)?;
        }
        // Resolved together, so the lookups of one type share a batch.
        async_graphql::futures_util::future::try_join_all(ids.iter().map(|id| resolve(ctx, id))).await
    }
}
