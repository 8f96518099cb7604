//! Public consultation of plans: while a plan is in consultation (its period open, in Danish
//! time), anyone may send a response to it or to one of its actions from the municipality's
//! website. Responses start pending; the community's editors and staff (its moderators)
//! publish, reject (with a reason) or hide them and may answer them. Published responses
//! and their replies are public, without email and without name unless its owner consented;
//! the others are seen by the moderators only, by every path (see `access.rs`).
pub mod abuse;
pub mod mutation;
pub mod privacy;

use async_graphql::{Context, ID, Object, Result, connection::Connection};
use chrono::{DateTime, NaiveDate, Utc};
use entity::consultation_response::{self as response, ResponseStatus};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Order};
use uuid::Uuid;

use crate::{
    access::Access,
    action::Action,
    labels::labelled_enum,
    loader::{self, Rel, by_id, listing},
    pagination::{ConnectionFields, Cursor, Listing, Window},
    plan::Plan,
    relay::{self, NodeType},
};

labelled_enum!(
    /// Where a response to a consultation is in its moderation.
    ConsultationResponseStatus = "entity::consultation_response::ResponseStatus" {
        /// Sent, waiting for a moderator: seen by the moderators only.
        Pending => "Afventer godkendelse",
        /// Public, with its reply.
        Published => "Offentliggjort",
        /// Refused with a reason: seen by the moderators only.
        Rejected => "Afvist",
        /// Taken down after publication: seen by the moderators only.
        Hidden => "Skjult",
    }
);

/// The most characters a response may hold.
pub const MAX_BODY: usize = 5_000;

/// Whether a plan in `status` with this period is open to responses on `today`: in
/// consultation, and `today` within the period (both days included). A plan without a period
/// is not open.
pub fn is_open(
    status: entity::plan::PlanStatus,
    opens: Option<NaiveDate>,
    closes: Option<NaiveDate>,
    today: NaiveDate,
) -> bool {
    status == entity::plan::PlanStatus::Consultation
        && opens.is_some_and(|o| o <= today)
        && closes.is_some_and(|c| today <= c)
}

/// Responses the caller may see: published ones to visible plans, and those they moderate.
pub fn visible(access: &Access) -> sea_orm::Select<response::Entity> {
    response::Entity::find().filter(access.response_condition())
}

pub static BY_ID: Rel<response::Model> =
    Rel::new(NodeType::ConsultationResponse.name(), |a| by_id(visible(a)));

/// Newest first.
const ORDER: [(response::Column, Order); 1] = [(response::Column::CreatedAt, Order::Desc)];

/// The statuses of `mask` (bit 0 pending, 1 published, 2 rejected, 3 hidden); all for 0.
fn statuses(mask: u8) -> Vec<ResponseStatus> {
    [
        ResponseStatus::Pending,
        ResponseStatus::Published,
        ResponseStatus::Rejected,
        ResponseStatus::Hidden,
    ]
    .into_iter()
    .enumerate()
    .filter(|(i, _)| mask == 0 || mask & (1 << i) != 0)
    .map(|(_, s)| s)
    .collect()
}

fn mask_of(given: &[ConsultationResponseStatus]) -> u8 {
    given.iter().fold(0, |m, s| {
        m | 1
            << match s {
                ConsultationResponseStatus::Pending => 0,
                ConsultationResponseStatus::Published => 1,
                ConsultationResponseStatus::Rejected => 2,
                ConsultationResponseStatus::Hidden => 3,
            }
    })
}

fn of_plan<const MASK: u8>(a: &Access) -> Listing {
    let mut select = visible(a);
    if MASK != 0 {
        select = select.filter(response::Column::Status.is_in(statuses(MASK)));
    }
    listing(select, response::Column::PlanId, &ORDER)
}

fn of_action<const MASK: u8>(a: &Access) -> Listing {
    let mut select = visible(a);
    if MASK != 0 {
        select = select.filter(response::Column::Status.is_in(statuses(MASK)));
    }
    listing(select, response::Column::ActionId, &ORDER)
}

/// One relation per set of statuses asked for (index: its mask), so the loaders batch the
/// lists of many plans with the same filter into one statement.
macro_rules! by_mask {
    ($listing:ident, $name:literal, [$($mask:literal),*]) => {
        [$(Rel::new(concat!($name, " ", $mask), $listing::<$mask>)),*]
    };
}

static OF_PLAN: [Rel<response::Model>; 16] = by_mask!(
    of_plan,
    "consultation responses of plan",
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]
);

static OF_ACTION: [Rel<response::Model>; 16] = by_mask!(
    of_action,
    "consultation responses of action",
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]
);

/// Whether responses hang under a plan or under one of its actions.
#[derive(Clone, Copy)]
pub enum Under {
    Plan,
    Action,
}

/// A page of the responses under `parent` the caller may see, with the statuses given (all
/// when left out; none for an empty list).
pub async fn page(
    ctx: &Context<'_>,
    under: Under,
    parent: Uuid,
    given: Option<Vec<ConsultationResponseStatus>>,
    window: Window,
) -> Result<Connection<Cursor, ConsultationResponse, ConnectionFields>> {
    let mask = match &given {
        None => 0,
        Some(s) => {
            crate::common::bounded("statuses", s)?;
            if s.is_empty() {
                return Ok(crate::pagination::Page::<response::Model>::default()
                    .into_connection(&window, ConsultationResponse));
            }
            mask_of(s)
        }
    };
    let rel = match under {
        Under::Plan => &OF_PLAN[usize::from(mask)],
        Under::Action => &OF_ACTION[usize::from(mask)],
    };
    Ok(loader::page(ctx, rel, parent, window)
        .await?
        .into_connection(&window, ConsultationResponse))
}

pub struct ConsultationResponse(pub response::Model);

impl ConsultationResponse {
    /// Whether the caller moderates this response (staff, or an editor of the plan's
    /// community): only they see the personal data and the moderation's internals.
    async fn moderator(&self, ctx: &Context<'_>) -> Result<bool> {
        let viewer = crate::auth::viewer(ctx);
        if viewer.is_staff() {
            return Ok(true);
        }
        if viewer.communities.is_empty() {
            return Ok(false);
        }
        let plan = loader::one(ctx, &crate::plan::BY_ID, self.0.plan_id).await?;
        Ok(plan.is_some_and(|p| viewer.may_edit_community(p.community_id)))
    }
}

/// A response from the public to a plan in consultation, or to one of its actions.
#[Object]
impl ConsultationResponse {
    pub async fn id(&self) -> ID {
        relay::encode(NodeType::ConsultationResponse, self.0.id)
    }
    /// The plan the response answers.
    async fn plan(&self, ctx: &Context<'_>) -> Result<Plan> {
        Ok(Plan(
            loader::required(ctx, &crate::plan::BY_ID, self.0.plan_id).await?,
        ))
    }
    /// The action of the plan the response is about, if any.
    async fn action(&self, ctx: &Context<'_>) -> Result<Option<Action>> {
        Ok(loader::maybe(ctx, &crate::action::BY_ID, self.0.action_id)
            .await?
            .map(Action))
    }
    async fn body(&self) -> &str {
        &self.0.body
    }
    /// The sender's name: shown to the public only when the sender consented; moderators
    /// always see it.
    async fn name(&self, ctx: &Context<'_>) -> Result<Option<&str>> {
        if self.0.consent_to_show_name || self.moderator(ctx).await? {
            Ok(self.0.name.as_deref())
        } else {
            Ok(None)
        }
    }
    /// Whether the sender agreed to have their name shown publicly: when false, only
    /// moderators see `name`, and a reply may not name the sender. Moderators only, null for
    /// everyone else.
    async fn consent_to_show_name(&self, ctx: &Context<'_>) -> Result<Option<bool>> {
        Ok(self.moderator(ctx).await?.then_some(self.0.consent_to_show_name))
    }
    /// The association the sender answers for, if any.
    async fn association(&self) -> Option<&str> {
        self.0.association.as_deref()
    }
    /// Where the sender wants the reply: moderators only, null for everyone else.
    async fn email(&self, ctx: &Context<'_>) -> Result<Option<&str>> {
        Ok(if self.moderator(ctx).await? {
            self.0.email.as_deref()
        } else {
            None
        })
    }
    async fn status(&self) -> ConsultationResponseStatus {
        self.0.status.into()
    }
    /// The status in Danish.
    async fn status_label(&self) -> &'static str {
        ConsultationResponseStatus::from(self.0.status).label()
    }
    /// Why the response was rejected: moderators only.
    async fn rejection_reason(&self, ctx: &Context<'_>) -> Result<Option<&str>> {
        Ok(if self.moderator(ctx).await? {
            self.0.rejection_reason.as_deref()
        } else {
            None
        })
    }
    /// The municipality's or the community's answer (public with the published response).
    async fn reply(&self) -> Option<&str> {
        self.0.reply.as_deref()
    }
    async fn replied_at(&self) -> Option<DateTime<Utc>> {
        self.0.replied_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// For the moderators, to send back with a moderation or a reply (a stale one is a
    /// CONFLICT); null for everyone else.
    async fn version(&self, ctx: &Context<'_>) -> Result<Option<i32>> {
        Ok(self.moderator(ctx).await?.then_some(self.0.version))
    }
}
