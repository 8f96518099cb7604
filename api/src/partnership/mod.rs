//! Partnerships around an action or a whole plan: the community, organisations and
//! departments that carry it out together, each with a role and a contribution. Visible when
//! the action or plan it is around is visible.
pub mod mutation;

use async_graphql::{Context, ID, InputObject, Object, Result, Union, connection::Connection};
use chrono::{DateTime, Utc};
use entity::{partnership, partnership_member};
use sea_orm::{
    ActiveEnum, ColumnTrait, EntityTrait, QueryFilter, QuerySelect, QueryTrait,
    sea_query::{Condition, Expr, ExprTrait, Order},
};

use crate::{
    access::Access,
    action::Action,
    auth::{Require, visible_to_writers},
    common::Date,
    common::{CommonFilter, decode_ids, one_of},
    community::{self, Community},
    department::Department,
    error::ApiError,
    labels::labelled_enum,
    loader::{self, Rel, by_id, col, join, listing, listing_stmt, qcol},
    organization::Organization,
    pagination::{ConnectionFields, Cursor, Listing, Window},
    plan::Plan,
    relay::{self, NodeType},
};

labelled_enum!(
    PartnershipStatus = "entity::partnership::PartnershipStatus" {
        Proposed => "Foreslået",
        Active => "Aktiv",
        Completed => "Afsluttet",
        Ended => "Ophørt",
    }
);

labelled_enum!(
    MemberRole = "entity::partnership_member::MemberRole" {
        Lead => "Tovholder",
        Partner => "Partner",
        Supporter => "Støtter",
        Advisor => "Rådgiver",
    }
);

labelled_enum!(
    ContributionKind = "entity::partnership_member::ContributionKind" {
        Money => "Penge",
        VolunteerHours => "Frivillige timer",
        Expertise => "Faglig viden",
        Facilities => "Lokaler og faciliteter",
        Other => "Andet",
    }
);

pub fn visible(a: &Access) -> sea_orm::Select<partnership::Entity> {
    partnership::Entity::find()
        .filter(
            Condition::any()
                .add(a.action_condition(col(partnership::Column::ActionId)))
                .add(a.plan_condition(col(partnership::Column::PlanId))),
        )
        .filter(a.proposal_condition())
}

pub(crate) fn members_visible(a: &Access) -> sea_orm::Select<partnership_member::Entity> {
    let partnerships = visible(a)
        .select_only()
        .column(partnership::Column::Id)
        .into_query();
    partnership_member::Entity::find()
        .filter(col(partnership_member::Column::PartnershipId).in_subquery(partnerships))
}

/// A condition that a partnership's period overlaps `span` (Danish days): an open end runs
/// on; without a start, it runs from the day it was recorded (in Danish time), or from its end
/// if it was recorded after it ended, so one recorded today counts in no year gone by. The one
/// rule of the `year` filter, engagement (`engagement::score`) and, in Rust, the annual
/// review's figures (`review::snapshot::overlaps`).
pub(crate) fn running_during(span: crate::engagement::score::Span) -> Condition {
    let (_, after_last_day) = crate::engagement::score::instants(span);
    Condition::all()
        .add(
            Condition::any()
                .add(col(partnership::Column::StartsOn).lte(span.to))
                .add(
                    Condition::all()
                        .add(col(partnership::Column::StartsOn).is_null())
                        .add(
                            Condition::any()
                                .add(col(partnership::Column::CreatedAt).lt(after_last_day))
                                .add(col(partnership::Column::EndsOn).lte(span.to)),
                        ),
                ),
        )
        .add(
            Condition::any()
                .add(col(partnership::Column::EndsOn).is_null())
                .add(col(partnership::Column::EndsOn).gte(span.from)),
        )
}

/// Partnerships with `column` of one of their members as the parent.
fn of_member(a: &Access, column: partnership_member::Column) -> Listing {
    let mut q = visible(a).into_query();
    join(
        &mut q,
        partnership_member::Entity,
        partnership_member::Relation::Partnership,
    );
    listing_stmt(
        q,
        partnership::Entity,
        column,
        &[(partnership::Column::Title, Order::Asc)],
    )
}

pub static BY_ID: Rel<partnership::Model> = Rel::new(NodeType::Partnership.name(), |a| by_id(visible(a)));
pub static OF_ACTION: Rel<partnership::Model> =
    Rel::new("partnerships of action", |a| partnerships_of_action(visible(a)))
        // Under a visible action only the proposal rule is left to apply.
        .under_visible_parent(|a| {
            partnerships_of_action(partnership::Entity::find().filter(a.proposal_condition()))
        });

fn partnerships_of_action(select: sea_orm::Select<partnership::Entity>) -> crate::pagination::Listing {
    listing(
        select,
        partnership::Column::ActionId,
        &[(partnership::Column::Title, Order::Asc)],
    )
}
pub static OF_PLAN: Rel<partnership::Model> = Rel::new("partnerships of plan", |a| {
    listing(
        visible(a),
        partnership::Column::PlanId,
        &[(partnership::Column::Title, Order::Asc)],
    )
});
pub static OF_MEMBER_COMMUNITY: Rel<partnership::Model> = Rel::new("partnerships of member community", |a| {
    of_member(a, partnership_member::Column::CommunityId)
});
pub static OF_MEMBER_ORGANIZATION: Rel<partnership::Model> =
    Rel::new("partnerships of member organization", |a| {
        of_member(a, partnership_member::Column::OrganizationId)
    });
pub static OF_MEMBER_DEPARTMENT: Rel<partnership::Model> =
    Rel::new("partnerships of member department", |a| {
        of_member(a, partnership_member::Column::DepartmentId)
    });

pub static MEMBER_BY_ID: Rel<partnership_member::Model> =
    Rel::new(NodeType::PartnershipMember.name(), |a| by_id(members_visible(a)));
pub(crate) static MEMBERS_OF: Rel<partnership_member::Model> =
    Rel::new("members of partnership", |a| members_of(members_visible(a)))
        // A member is visible exactly when its partnership is.
        .under_visible_parent(|_| members_of(partnership_member::Entity::find()));

fn members_of(select: sea_orm::Select<partnership_member::Entity>) -> crate::pagination::Listing {
    let mut l = listing(
        select,
        partnership_member::Column::PartnershipId,
        &[(partnership_member::Column::CreatedAt, Order::Asc)],
    );
    // The lead first.
    let role = qcol(partnership_member::Column::Role);
    l.order.insert(
        0,
        (
            format!(
                "CASE {role} WHEN '{}' THEN 0 ELSE 1 END",
                partnership_member::MemberRole::Lead.to_value()
            ),
            Order::Asc,
        ),
    );
    l
}

pub struct Partnership(pub partnership::Model);

/// A partnership around an action or a whole plan.
#[Object]
impl Partnership {
    pub async fn id(&self) -> ID {
        relay::encode(NodeType::Partnership, self.0.id)
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn status(&self) -> PartnershipStatus {
        self.0.status.into()
    }
    /// The status in Danish; a declined proposal (`ENDED` with `declinedAt`) is "Afslået".
    async fn status_label(&self) -> &'static str {
        if self.0.declined_at.is_some() {
            return "Afslået";
        }
        PartnershipStatus::from(self.0.status).label()
    }
    async fn starts_on(&self) -> Option<Date> {
        self.0.starts_on.map(Date)
    }
    async fn ends_on(&self) -> Option<Date> {
        self.0.ends_on.map(Date)
    }
    #[graphql(flatten)]
    async fn stamps(&self) -> crate::common::Stamps {
        crate::common::Stamped::stamps(&self.0)
    }
    /// Notes for the municipality and the community's editors; never public. FORBIDDEN for
    /// editors of other communities.
    #[graphql(guard = "Require::Writer", visible = "visible_to_writers")]
    async fn internal_notes(&self, ctx: &Context<'_>) -> Result<Option<&str>> {
        let community = community_of(ctx, &self.0).await?;
        let viewer = crate::auth::viewer(ctx);
        match community {
            Some(c) if viewer.may_edit_community(c) => Ok(Some(&self.0.internal_notes)),
            _ => Err(ApiError::forbidden("only staff and the community's editors see internal notes").into()),
        }
    }
    /// The partner organisation that proposed the partnership through `expressInterest`.
    async fn proposed_by(&self, ctx: &Context<'_>) -> Result<Option<Organization>> {
        Ok(loader::maybe(
            ctx,
            &crate::organization::BY_ID,
            self.0.proposed_by_organization_id,
        )
        .await?
        .map(Organization))
    }
    /// The proposer's message to the community; seen by the proposer, the community's editors
    /// and staff, null for everyone else.
    async fn proposal_message(&self, ctx: &Context<'_>) -> Result<Option<&str>> {
        between_proposer_and_community(ctx, &self.0, self.0.proposal_message.as_deref()).await
    }
    /// When the proposal was declined (`declinePartnershipProposal`): a declined proposal is
    /// `ENDED` without having been active. Null for a partnership that was not declined.
    async fn declined_at(&self) -> Option<DateTime<Utc>> {
        self.0.declined_at
    }
    /// The community's answer to the proposer when it declined the proposal, if it gave one;
    /// seen by the proposer, the community's editors and staff, null for everyone else.
    async fn decline_message(&self, ctx: &Context<'_>) -> Result<Option<&str>> {
        between_proposer_and_community(ctx, &self.0, self.0.decline_message.as_deref()).await
    }
    /// The action the partnership is around (null for a partnership around a whole plan).
    async fn action(&self, ctx: &Context<'_>) -> Result<Option<Action>> {
        Ok(loader::maybe(ctx, &crate::action::BY_ID, self.0.action_id)
            .await?
            .map(Action))
    }
    /// The plan the partnership is around: the action's plan, or the plan itself.
    async fn plan(&self, ctx: &Context<'_>) -> Result<Option<Plan>> {
        Ok(plan_of(ctx, &self.0).await?.map(Plan))
    }
    /// The members, the leads first (a partnership may have more than one `LEAD`, as partners
    /// may lead it together), then by when they joined.
    async fn members(&self, ctx: &Context<'_>) -> Result<Vec<PartnershipMember>> {
        Ok(loader::list(ctx, &MEMBERS_OF, self.0.id)
            .await?
            .into_iter()
            .map(PartnershipMember)
            .collect())
    }
}

/// The plan a partnership is around (its own, or its action's), when the caller can see it.
async fn plan_of(ctx: &Context<'_>, p: &partnership::Model) -> Result<Option<entity::plan::Model>> {
    let plan_id = match (p.plan_id, p.action_id) {
        (Some(id), _) => id,
        (None, Some(action)) => match loader::one(ctx, &crate::action::BY_ID, action).await? {
            Some(a) => a.plan_id,
            None => return Ok(None),
        },
        (None, None) => return Ok(None),
    };
    loader::one(ctx, &crate::plan::BY_ID, plan_id).await
}

/// `text` for the organisation that proposed `p` and for those who may edit its community;
/// null for everyone else (a proposal's messages are between the two).
async fn between_proposer_and_community<'a>(
    ctx: &Context<'_>,
    p: &partnership::Model,
    text: Option<&'a str>,
) -> Result<Option<&'a str>> {
    let Some(text) = text else {
        return Ok(None);
    };
    let viewer = crate::auth::viewer(ctx);
    if viewer.organization_id.is_some() && viewer.organization_id == p.proposed_by_organization_id {
        return Ok(Some(text));
    }
    match community_of(ctx, p).await? {
        Some(c) if viewer.may_edit_community(c) => Ok(Some(text)),
        _ => Ok(None),
    }
}

/// The community a partnership is around, through its plan (or its action's plan), when the
/// caller can see that plan.
async fn community_of(ctx: &Context<'_>, p: &partnership::Model) -> Result<Option<uuid::Uuid>> {
    Ok(plan_of(ctx, p).await?.map(|p| p.community_id))
}

/// Who a partnership member is.
#[derive(Union)]
pub enum Party {
    Community(Community),
    Organization(Organization),
    Department(Department),
}

pub struct PartnershipMember(pub partnership_member::Model);

/// A member of a partnership: a community, an organisation or a department.
#[Object]
impl PartnershipMember {
    pub async fn id(&self) -> ID {
        relay::encode(NodeType::PartnershipMember, self.0.id)
    }
    async fn role(&self) -> MemberRole {
        self.0.role.into()
    }
    async fn role_label(&self) -> &'static str {
        MemberRole::from(self.0.role).label()
    }
    async fn contribution_kind(&self) -> ContributionKind {
        self.0.contribution_kind.into()
    }
    async fn contribution_kind_label(&self) -> &'static str {
        ContributionKind::from(self.0.contribution_kind).label()
    }
    /// What the member brings, in words.
    async fn contribution(&self) -> &str {
        &self.0.contribution
    }
    /// Money contributed, in whole Danish kroner.
    async fn amount_dkk(&self) -> Option<i64> {
        self.0.amount_dkk
    }
    async fn volunteer_hours(&self) -> Option<i32> {
        self.0.volunteer_hours
    }
    /// Send it back with an update: a stale one is a CONFLICT.
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn party(&self, ctx: &Context<'_>) -> Result<Party> {
        let m = &self.0;
        if let Some(id) = m.community_id {
            return Ok(Party::Community(Community(
                loader::required(ctx, &community::BY_ID, id).await?,
            )));
        }
        if let Some(id) = m.organization_id {
            return Ok(Party::Organization(Organization(
                loader::required(ctx, &crate::organization::BY_ID, id).await?,
            )));
        }
        match m.department_id {
            Some(id) => Ok(Party::Department(Department(
                loader::required(ctx, &crate::department::BY_ID, id).await?,
            ))),
            None => Err(crate::error::ApiError::NotFound(format!(
                "partnership member {} has no party",
                m.id
            ))
            .into()),
        }
    }
    async fn partnership(&self, ctx: &Context<'_>) -> Result<Partnership> {
        Ok(Partnership(
            loader::required(ctx, &BY_ID, self.0.partnership_id).await?,
        ))
    }
}

#[derive(InputObject, Default)]
pub struct PartnershipFilter {
    /// Partnerships around the plans and actions of these communities.
    pub community_ids: Option<Vec<ID>>,
    pub community_slugs: Option<Vec<String>>,
    /// Partnerships with any of these organisations as a member.
    pub organization_ids: Option<Vec<ID>>,
    pub statuses: Option<Vec<PartnershipStatus>>,
    /// Partnerships running at some time in this calendar year (one without a start runs from
    /// the day it was recorded, or its end if earlier; without an end, on).
    pub year: Option<i32>,
    #[graphql(flatten)]
    pub common: CommonFilter,
}

#[derive(Default)]
pub struct PartnershipQuery;

// Public data may be cached for a minute (see `schema::Query`).
#[Object(cache_control(max_age = 60))]
impl PartnershipQuery {
    /// Partnerships around visible plans and actions, by title.
    async fn partnerships(
        &self,
        ctx: &Context<'_>,
        filter: Option<PartnershipFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<Cursor, Partnership, ConnectionFields>> {
        let window = Window::parse(first, after, last, before)?;
        let f = filter.unwrap_or_default();
        let mut q = visible(&loader::access(ctx));
        if let Some(c) = community::id_subquery(f.community_ids, f.community_slugs)? {
            let plans = entity::plan::Entity::find()
                .select_only()
                .column(entity::plan::Column::Id)
                .filter(Expr::col(entity::plan::Column::CommunityId).in_subquery(c))
                .into_query();
            let actions = entity::action::Entity::find()
                .select_only()
                .column(entity::action::Column::Id)
                .filter(Expr::col(entity::action::Column::PlanId).in_subquery(plans.clone()))
                .into_query();
            q = q.filter(
                Condition::any()
                    .add(col(partnership::Column::PlanId).in_subquery(plans))
                    .add(col(partnership::Column::ActionId).in_subquery(actions)),
            );
        }
        if let Some(ids) = f.organization_ids {
            let ids = decode_ids("organizationIds", &ids, NodeType::Organization)?;
            let with_member = partnership_member::Entity::find()
                .select_only()
                .column(partnership_member::Column::PartnershipId)
                .filter(partnership_member::Column::OrganizationId.is_in(ids))
                .into_query();
            q = q.filter(col(partnership::Column::Id).in_subquery(with_member));
        }
        if let Some(s) = f.statuses {
            q = q.filter(one_of::<_, partnership::PartnershipStatus>(
                "statuses",
                &s,
                partnership::Column::Status,
            )?);
        }
        if let Some(year) = f.year {
            let (from, to) = crate::common::year_bounds(year)?;
            q = q.filter(running_during(crate::engagement::score::Span { from, to }));
        }
        q = f.common.apply(
            q,
            &[partnership::Column::Title, partnership::Column::Description],
            partnership::Column::UpdatedAt,
        )?;
        loader::top_connection(
            ctx,
            q,
            &[(partnership::Column::Title, Order::Asc)],
            &window,
            Partnership,
        )
        .await
    }
}

impl crate::compiled::Prefetch for Partnership {
    fn edges() -> &'static [crate::compiled::Edge] {
        use crate::compiled::{Edge, foreign_key};
        static EDGES: [Edge; 4] = [
            Edge::reference::<Organization>(
                "proposedBy",
                &crate::organization::BY_ID,
                foreign_key!(partnership::ProposedByOrganizationId),
            ),
            Edge::reference::<Action>(
                "action",
                &crate::action::BY_ID,
                foreign_key!(partnership::ActionId),
            ),
            // A partnership around an action finds its plan through the action: the loaders.
            Edge::reference::<Plan>("plan", &crate::plan::BY_ID, foreign_key!(partnership::PlanId)),
            Edge::list::<PartnershipMember>("members", &MEMBERS_OF),
        ];
        &EDGES
    }
}

impl crate::compiled::Prefetch for PartnershipMember {
    fn edges() -> &'static [crate::compiled::Edge] {
        use crate::compiled::{Edge, foreign_key};
        // `party` is whichever of the three the member is.
        static EDGES: [Edge; 4] = [
            Edge::reference::<Community>(
                "party",
                &community::BY_ID,
                foreign_key!(partnership_member::CommunityId),
            ),
            Edge::reference::<Organization>(
                "party",
                &crate::organization::BY_ID,
                foreign_key!(partnership_member::OrganizationId),
            ),
            Edge::reference::<crate::department::Department>(
                "party",
                &crate::department::BY_ID,
                foreign_key!(partnership_member::DepartmentId),
            ),
            Edge::reference::<Partnership>(
                "partnership",
                &BY_ID,
                foreign_key!(partnership_member::PartnershipId),
            ),
        ];
        &EDGES
    }
}
