//! Local development plans (LUP): a community's vision and direction for a period, with its
//! themes, the organisations involved and its actions. Plans in consultation, adopted and
//! archived plans are public; drafts are seen by their community's editors and staff only. A
//! plan in consultation takes responses from the public while its consultation is open.
pub mod mutation;

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, connection::Connection};
use entity::{plan, plan_involvement};
use sea_orm::{
    ColumnTrait, EntityTrait, QueryFilter, QueryTrait,
    sea_query::{ExprTrait, Order},
};
use uuid::Uuid;

use crate::{
    access::Access,
    action::Action,
    auth::{Require, visible_to_writers},
    common::Date,
    common::{CommonFilter, OrderDirection, one_of},
    community::{self, Community},
    engagement::EngagementEvent,
    labels::{enum_labels, labelled_enum},
    loader::{self, Rel, by_id, col, join, listing, listing_stmt},
    organization::Organization,
    pagination::{ConnectionFields, Cursor, Window},
    partnership::Partnership,
    relay::{self, NodeType},
    theme::{self, Theme},
};

labelled_enum!(
    /// A plan's life: written as a draft, sent to consultation, adopted, archived when replaced.
    PlanStatus = "entity::plan::PlanStatus" {
        Draft => "Under udarbejdelse",
        Consultation => "I høring",
        Adopted => "Vedtaget",
        Archived => "Arkiveret",
    }
);

labelled_enum!(
    /// How an organisation took part in a plan.
    InvolvementRole = "entity::plan_involvement::InvolvementRole" {
        Writing => "Med til at skrive planen",
        CarryingOut => "Med til at føre planen ud i livet",
        Consulted => "Hørt undervejs",
    }
);

/// Plans the caller may see.
pub fn visible(access: &Access) -> sea_orm::Select<plan::Entity> {
    plan::Entity::find().filter(access.plan_condition(col(plan::Column::Id)))
}

pub static BY_ID: Rel<plan::Model> = Rel::new(NodeType::Plan.name(), |a| by_id(visible(a)));

pub static OF_COMMUNITY: Rel<plan::Model> = Rel::new("plans of community", |a| {
    listing(
        visible(a),
        plan::Column::CommunityId,
        &[
            (plan::Column::PeriodFrom, Order::Desc),
            (plan::Column::Title, Order::Asc),
        ],
    )
});

/// A community's plan in force: of its adopted plans, the one that starts first. Adopting a
/// plan whose period has begun archives the plans it replaces, and a plan adopted ahead of its
/// period leaves them in force until its first year (`mutation::hand_over` archives them then):
/// so the adopted plans are the one in force and those yet to begin.
pub(crate) static CURRENT: Rel<plan::Model> = Rel::new("current plan of community", |a| {
    listing(
        visible(a).filter(plan::Column::Status.eq(plan::PlanStatus::Adopted)),
        plan::Column::CommunityId,
        &[
            (plan::Column::PeriodFrom, Order::Asc),
            (plan::Column::AdoptedOn, Order::Desc),
        ],
    )
});

pub static OF_THEME: Rel<plan::Model> = Rel::new("plans of theme", |a| {
    let mut q = visible(a).into_query();
    join(
        &mut q,
        entity::plan_theme::Entity,
        entity::plan_theme::Relation::Plan,
    );
    listing_stmt(
        q,
        plan::Entity,
        entity::plan_theme::Column::ThemeId,
        &[
            (plan::Column::PeriodFrom, Order::Desc),
            (plan::Column::Title, Order::Asc),
        ],
    )
});

pub(crate) fn involvement_visible(a: &Access) -> sea_orm::Select<plan_involvement::Entity> {
    plan_involvement::Entity::find().filter(a.plan_condition(col(plan_involvement::Column::PlanId)))
}

pub static INVOLVEMENT_BY_ID: Rel<plan_involvement::Model> =
    Rel::new(NodeType::PlanInvolvement.name(), |a| {
        by_id(involvement_visible(a))
    });

pub(crate) static INVOLVEMENT_OF_PLAN: Rel<plan_involvement::Model> = Rel::new("involvement of plan", |a| {
    listing(
        involvement_visible(a),
        plan_involvement::Column::PlanId,
        &[(plan_involvement::Column::Role, Order::Desc)],
    )
});

pub static INVOLVEMENT_OF_ORGANIZATION: Rel<plan_involvement::Model> =
    Rel::new("involvement of organization", |a| {
        listing(
            involvement_visible(a),
            plan_involvement::Column::OrganizationId,
            &[(plan_involvement::Column::CreatedAt, Order::Asc)],
        )
    });

pub async fn current_of(ctx: &Context<'_>, community: Uuid) -> Result<Option<Plan>> {
    let page = loader::page(ctx, &CURRENT, community, Window::first(1)).await?;
    Ok(page.rows.into_iter().next().map(|(_, m)| Plan(m)))
}

pub struct Plan(pub plan::Model);

/// A community's local development plan (LUP).
#[Object]
impl Plan {
    pub async fn id(&self) -> ID {
        relay::encode(NodeType::Plan, self.0.id)
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// A short introduction to the plan and the community ("Om byen").
    async fn summary(&self) -> &str {
        &self.0.summary
    }
    /// The community's vision ("Vores vision").
    async fn vision(&self) -> &str {
        &self.0.vision
    }
    /// First year the plan covers.
    async fn period_from(&self) -> i32 {
        self.0.period_from
    }
    /// Last year the plan covers.
    async fn period_to(&self) -> i32 {
        self.0.period_to
    }
    async fn status(&self) -> PlanStatus {
        self.0.status.into()
    }
    async fn status_label(&self) -> &'static str {
        PlanStatus::from(self.0.status).label()
    }
    async fn adopted_on(&self) -> Option<Date> {
        self.0.adopted_on.map(Date)
    }
    /// The first day the public may respond to the plan in consultation (set when it is sent
    /// to consultation).
    async fn consultation_opens_on(&self) -> Option<Date> {
        self.0.consultation_opens_on.map(Date)
    }
    /// The last day the public may respond.
    async fn consultation_closes_on(&self) -> Option<Date> {
        self.0.consultation_closes_on.map(Date)
    }
    /// Whether the plan takes responses today: it is in consultation and today (in Danish
    /// time) is within its consultation period, both days included.
    async fn consultation_open(&self) -> bool {
        crate::consultation::is_open(
            self.0.status,
            self.0.consultation_opens_on,
            self.0.consultation_closes_on,
            crate::common::today(),
        )
    }
    /// Responses from the public to the plan and its actions, newest first: the published
    /// ones for everyone; pending, rejected and hidden ones too for the community's editors
    /// and staff. `statuses` narrows them.
    async fn consultation_responses(
        &self,
        ctx: &Context<'_>,
        statuses: Option<Vec<crate::consultation::ConsultationResponseStatus>>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<Cursor, crate::consultation::ConsultationResponse, ConnectionFields>> {
        let w = Window::parse(first, after, last, before)?;
        crate::consultation::page(ctx, crate::consultation::Under::Plan, self.0.id, statuses, w).await
    }
    #[graphql(flatten)]
    async fn stamps(&self) -> crate::common::Stamps {
        crate::common::Stamped::stamps(&self.0)
    }
    /// Notes for the municipality and the community's editors; never public. Null with a
    /// FORBIDDEN error for editors of other communities.
    #[graphql(guard = "Require::Writer", visible = "visible_to_writers")]
    async fn internal_notes(&self, ctx: &Context<'_>) -> Result<Option<&str>> {
        if crate::auth::viewer(ctx).may_edit_community(self.0.community_id) {
            Ok(Some(&self.0.internal_notes))
        } else {
            Err(crate::error::ApiError::forbidden(
                "only staff and the community's editors see internal notes",
            )
            .into())
        }
    }
    async fn community(&self, ctx: &Context<'_>) -> Result<Community> {
        Ok(Community(
            loader::required(ctx, &community::BY_ID, self.0.community_id).await?,
        ))
    }
    async fn themes(&self, ctx: &Context<'_>) -> Result<Vec<Theme>> {
        Ok(loader::list(ctx, &theme::OF_PLAN, self.0.id)
            .await?
            .into_iter()
            .map(Theme)
            .collect())
    }
    async fn actions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<Cursor, Action, ConnectionFields>> {
        crate::action::of_plan(ctx, self.0.id, Window::parse(first, after, last, before)?).await
    }
    /// Organisations that took part in writing or carrying out the plan.
    async fn involvement(&self, ctx: &Context<'_>) -> Result<Vec<PlanInvolvement>> {
        Ok(loader::list(ctx, &INVOLVEMENT_OF_PLAN, self.0.id)
            .await?
            .into_iter()
            .map(PlanInvolvement)
            .collect())
    }
    /// Meetings, workshops and working days held for the plan, newest first.
    async fn engagement_events(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<Cursor, EngagementEvent, ConnectionFields>> {
        loader::nested(
            ctx,
            &crate::engagement::OF_PLAN,
            self.0.id,
            first,
            after,
            last,
            before,
            EngagementEvent,
        )
        .await
    }
    /// Partnerships around the whole plan (those around single actions hang under the action).
    async fn partnerships(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<Cursor, Partnership, ConnectionFields>> {
        loader::nested(
            ctx,
            &crate::partnership::OF_PLAN,
            self.0.id,
            first,
            after,
            last,
            before,
            Partnership,
        )
        .await
    }
    /// Local engagement around the plan in a window (by default the last 12 months): each
    /// component, its weight and points, and the total. The plan's involved organisations
    /// count only when its period overlaps the window or it is being written (draft,
    /// consultation), as for its community.
    async fn engagement(
        &self,
        ctx: &Context<'_>,
        window: Option<crate::engagement::figures::EngagementWindowInput>,
    ) -> Result<crate::engagement::figures::Engagement> {
        crate::engagement::figures::engagement(ctx, crate::engagement::figures::Of::Plan, self.0.id, window)
            .await
    }
}

pub struct PlanInvolvement(pub plan_involvement::Model);

/// An organisation's part in a plan.
#[Object]
impl PlanInvolvement {
    pub async fn id(&self) -> ID {
        relay::encode(NodeType::PlanInvolvement, self.0.id)
    }
    async fn role(&self) -> InvolvementRole {
        self.0.role.into()
    }
    async fn role_label(&self) -> &'static str {
        InvolvementRole::from(self.0.role).label()
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// Send it back with an update: a stale one is a CONFLICT.
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn plan(&self, ctx: &Context<'_>) -> Result<Plan> {
        Ok(Plan(loader::required(ctx, &BY_ID, self.0.plan_id).await?))
    }
    async fn organization(&self, ctx: &Context<'_>) -> Result<Organization> {
        Ok(Organization(
            loader::required(ctx, &crate::organization::BY_ID, self.0.organization_id).await?,
        ))
    }
}

#[derive(InputObject, Default)]
pub struct PlanFilter {
    pub community_ids: Option<Vec<ID>>,
    pub community_slugs: Option<Vec<String>>,
    pub statuses: Option<Vec<PlanStatus>>,
    pub theme_ids: Option<Vec<ID>>,
    pub theme_slugs: Option<Vec<String>>,
    /// Plans whose period includes this year.
    pub year: Option<i32>,
    #[graphql(flatten)]
    pub common: CommonFilter,
}

#[derive(Enum, Copy, Clone, PartialEq, Eq, Default)]
pub enum PlanOrderField {
    #[default]
    Title,
    PeriodFrom,
    AdoptedOn,
    CreatedAt,
    UpdatedAt,
}

enum_labels!(PlanOrderField {
    Title => "Titel",
    PeriodFrom => "Periodens start",
    AdoptedOn => "Vedtagelsesdato",
    CreatedAt => "Oprettet",
    UpdatedAt => "Senest ændret",
});

#[derive(InputObject, Default)]
pub struct PlanOrder {
    #[graphql(default)]
    pub field: PlanOrderField,
    #[graphql(default)]
    pub direction: OrderDirection,
}

#[derive(Default)]
pub struct PlanQuery;

// Public data may be cached for a minute (see `schema::Query`).
#[Object(cache_control(max_age = 60))]
impl PlanQuery {
    /// Plans the caller may see: in consultation, adopted and archived ones for the public.
    #[allow(clippy::too_many_arguments)]
    async fn plans(
        &self,
        ctx: &Context<'_>,
        filter: Option<PlanFilter>,
        order_by: Option<PlanOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<Cursor, Plan, ConnectionFields>> {
        let window = Window::parse(first, after, last, before)?;
        let f = filter.unwrap_or_default();
        let mut q = visible(&loader::access(ctx));
        if let Some(c) = community::id_subquery(f.community_ids, f.community_slugs)? {
            q = q.filter(col(plan::Column::CommunityId).in_subquery(c));
        }
        if let Some(s) = f.statuses {
            q = q.filter(one_of::<_, plan::PlanStatus>(
                "statuses",
                &s,
                plan::Column::Status,
            )?);
        }
        if let Some(themes) = theme::id_subquery(f.theme_ids, f.theme_slugs)? {
            let with_theme = crate::links::owners_of::<entity::plan_theme::Entity>(themes);
            q = q.filter(col(plan::Column::Id).in_subquery(with_theme));
        }
        if let Some(year) = f.year {
            crate::common::year_bounds(year)?;
            q = q
                .filter(plan::Column::PeriodFrom.lte(year))
                .filter(plan::Column::PeriodTo.gte(year));
        }
        q = f.common.apply(
            q,
            &[plan::Column::Title, plan::Column::Summary, plan::Column::Vision],
            plan::Column::UpdatedAt,
        )?;
        let o = order_by.unwrap_or_default();
        let column = match o.field {
            PlanOrderField::Title => plan::Column::Title,
            PlanOrderField::PeriodFrom => plan::Column::PeriodFrom,
            PlanOrderField::AdoptedOn => plan::Column::AdoptedOn,
            PlanOrderField::CreatedAt => plan::Column::CreatedAt,
            PlanOrderField::UpdatedAt => plan::Column::UpdatedAt,
        };
        let order = crate::common::then_by(column, o.direction.order(), plan::Column::Title);
        loader::top_connection(ctx, q, &order, &window, Plan).await
    }
}

impl crate::compiled::Prefetch for Plan {
    fn edges() -> &'static [crate::compiled::Edge] {
        use crate::compiled::{Edge, foreign_key};
        static EDGES: [Edge; 6] = [
            Edge::reference::<Community>("community", &community::BY_ID, foreign_key!(plan::CommunityId)),
            Edge::list::<Theme>("themes", &theme::OF_PLAN),
            Edge::connection::<Action>("actions", &crate::action::OF_PLAN),
            Edge::list::<PlanInvolvement>("involvement", &INVOLVEMENT_OF_PLAN),
            Edge::connection::<EngagementEvent>("engagementEvents", &crate::engagement::OF_PLAN),
            Edge::connection::<Partnership>("partnerships", &crate::partnership::OF_PLAN),
        ];
        &EDGES
    }
}

impl crate::compiled::Prefetch for PlanInvolvement {
    fn edges() -> &'static [crate::compiled::Edge] {
        use crate::compiled::{Edge, foreign_key};
        static EDGES: [Edge; 2] = [
            Edge::reference::<Plan>("plan", &BY_ID, foreign_key!(plan_involvement::PlanId)),
            Edge::reference::<Organization>(
                "organization",
                &crate::organization::BY_ID,
                foreign_key!(plan_involvement::OrganizationId),
            ),
        ];
        &EDGES
    }
}
