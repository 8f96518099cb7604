//! Actions (handlinger): what a plan sets out to do, with the departments that contribute,
//! progress updates, and the partnerships around them. Opportunities for partners are the
//! actions of adopted plans that seek partners.
pub mod mutation;
mod query;

use async_graphql::{Context, ID, Object, Result, connection::Connection};
use entity::{action, action_department, action_update};
use sea_orm::{ActiveEnum, EntityTrait, QueryFilter, QueryTrait, sea_query::Order};

pub use query::{ActionOrderField, ActionQuery, OPPORTUNITY_STATUSES};

use crate::{
    access::Access,
    auth::{Require, visible_to_writers},
    common::Date,
    community::Community,
    department::Department,
    error::ApiError,
    idea::IdeaExchange,
    labels::labelled_enum,
    loader::{self, Rel, by_id, col, join, listing, listing_stmt, qcol},
    organization::Organization,
    pagination::{ConnectionFields, Cursor, Window},
    partnership::Partnership,
    plan::Plan,
    relay::{self, NodeType},
    theme::Theme,
};

labelled_enum!(
    /// How soon an action is meant to work: the committee balances the two.
    Horizon = "entity::action::Horizon" {
        /// A long-term effort.
        LongTerm => "Langsigtet",
        /// An action with an effect here and now.
        HereAndNow => "Her og nu",
    }
);

labelled_enum!(
    ActionStatus = "entity::action::ActionStatus" {
        Idea => "Idé",
        Planned => "Planlagt",
        InProgress => "I gang",
        Completed => "Gennemført",
        Paused => "Sat på pause",
        Dropped => "Opgivet",
    }
);

labelled_enum!(
    /// What a municipal department does for an action.
    DepartmentRole = "entity::action_department::DepartmentRole" {
        Lead => "Ansvarlig",
        Support => "Støtte",
        Advice => "Rådgivning",
    }
);

/// Actions the caller may see.
pub fn visible(access: &Access) -> sea_orm::Select<action::Entity> {
    action::Entity::find().filter(access.plan_condition(col(action::Column::PlanId)))
}

pub static BY_ID: Rel<action::Model> = Rel::new(NodeType::Action.name(), |a| by_id(visible(a)));

pub(crate) static OF_PLAN: Rel<action::Model> = Rel::new("actions of plan", |a| actions_of_plan(visible(a)))
    // An action is visible exactly when its plan is.
    .under_visible_parent(|_| actions_of_plan(action::Entity::find()));

fn actions_of_plan(select: sea_orm::Select<action::Entity>) -> crate::pagination::Listing {
    listing(
        select,
        action::Column::PlanId,
        &[(action::Column::Title, Order::Asc)],
    )
}

pub(crate) static OF_COMMUNITY: Rel<action::Model> = Rel::new("actions of community", |a| {
    let mut q = visible(a).into_query();
    join(&mut q, entity::plan::Entity, action::Relation::Plan);
    listing_stmt(
        q,
        action::Entity,
        entity::plan::Column::CommunityId,
        &[(action::Column::Title, Order::Asc)],
    )
});

pub static OF_THEME: Rel<action::Model> = Rel::new("actions of theme", |a| {
    let mut q = visible(a).into_query();
    join(
        &mut q,
        entity::action_theme::Entity,
        entity::action_theme::Relation::Action,
    );
    listing_stmt(
        q,
        action::Entity,
        entity::action_theme::Column::ThemeId,
        &[(action::Column::Title, Order::Asc)],
    )
});

pub static OF_DEPARTMENT: Rel<action::Model> = Rel::new("actions of department", |a| {
    let mut q = visible(a).into_query();
    join(
        &mut q,
        action_department::Entity,
        action_department::Relation::Action,
    );
    listing_stmt(
        q,
        action::Entity,
        action_department::Column::DepartmentId,
        &[(action::Column::Title, Order::Asc)],
    )
});

pub static LED_BY: Rel<action::Model> = Rel::new("actions led by organization", |a| {
    listing(
        visible(a),
        action::Column::LeadOrganizationId,
        &[(action::Column::Title, Order::Asc)],
    )
});

pub static OF_EXCHANGE: Rel<action::Model> = Rel::new("actions of exchange", |a| {
    let mut q = visible(a).into_query();
    join(
        &mut q,
        entity::idea_exchange_action::Entity,
        entity::idea_exchange_action::Relation::Action,
    );
    listing_stmt(
        q,
        action::Entity,
        entity::idea_exchange_action::Column::ExchangeId,
        &[(action::Column::Title, Order::Asc)],
    )
});

pub(crate) fn departments_visible(a: &Access) -> sea_orm::Select<action_department::Entity> {
    action_department::Entity::find().filter(a.action_condition(col(action_department::Column::ActionId)))
}

pub static DEPARTMENT_BY_ID: Rel<action_department::Model> =
    Rel::new(NodeType::ActionDepartment.name(), |a| {
        by_id(departments_visible(a))
    });

pub(crate) static DEPARTMENTS_OF_ACTION: Rel<action_department::Model> =
    Rel::new("departments of action", |a| {
        departments_of_action(departments_visible(a))
    })
    // A department's part in an action is visible exactly when the action is.
    .under_visible_parent(|_| departments_of_action(action_department::Entity::find()));

fn departments_of_action(select: sea_orm::Select<action_department::Entity>) -> crate::pagination::Listing {
    let mut q = select.into_query();
    join(
        &mut q,
        entity::department::Entity,
        action_department::Relation::Department,
    );
    let mut l = listing_stmt(
        q,
        action_department::Entity,
        action_department::Column::ActionId,
        &[],
    );
    // The leading department first, then support, then advice; by name within each.
    l.order.insert(
        0,
        (loader::sort_col(entity::department::Column::Name), Order::Asc),
    );
    let role = qcol(action_department::Column::Role);
    l.order.insert(
        0,
        (
            format!(
                "CASE {role} WHEN '{}' THEN 0 WHEN '{}' THEN 1 ELSE 2 END",
                action_department::DepartmentRole::Lead.to_value(),
                action_department::DepartmentRole::Support.to_value()
            ),
            Order::Asc,
        ),
    );
    l
}

pub(crate) fn updates_visible(a: &Access) -> sea_orm::Select<action_update::Entity> {
    action_update::Entity::find().filter(a.action_condition(col(action_update::Column::ActionId)))
}

pub static UPDATE_BY_ID: Rel<action_update::Model> =
    Rel::new(NodeType::ActionUpdate.name(), |a| by_id(updates_visible(a)));

pub(crate) static UPDATES_OF_ACTION: Rel<action_update::Model> =
    Rel::new("updates of action", |a| updates_of_action(updates_visible(a)))
        // An update is visible exactly when its action is.
        .under_visible_parent(|_| updates_of_action(action_update::Entity::find()));

fn updates_of_action(select: sea_orm::Select<action_update::Entity>) -> crate::pagination::Listing {
    listing(
        select,
        action_update::Column::ActionId,
        &[
            (action_update::Column::PostedOn, Order::Desc),
            (action_update::Column::CreatedAt, Order::Desc),
        ],
    )
}

pub struct Action(pub action::Model);

/// Something a plan sets out to do.
#[Object]
impl Action {
    pub async fn id(&self) -> ID {
        relay::encode(NodeType::Action, self.0.id)
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn horizon(&self) -> Horizon {
        self.0.horizon.into()
    }
    /// The horizon in Danish.
    async fn horizon_label(&self) -> &'static str {
        Horizon::from(self.0.horizon).label()
    }
    async fn status(&self) -> ActionStatus {
        self.0.status.into()
    }
    /// The status in Danish.
    async fn status_label(&self) -> &'static str {
        ActionStatus::from(self.0.status).label()
    }
    /// Progress in percent, 0–100.
    async fn progress(&self) -> i32 {
        self.0.progress
    }
    /// The potential judged by the municipality, 1 (small) to 5 (large).
    async fn potential(&self) -> Option<i32> {
        self.0.potential
    }
    async fn start_on(&self) -> Option<Date> {
        self.0.start_on.map(Date)
    }
    async fn due_on(&self) -> Option<Date> {
        self.0.due_on.map(Date)
    }
    /// When the action was completed (set when its status became COMPLETED).
    async fn completed_on(&self) -> Option<Date> {
        self.0.completed_on.map(Date)
    }
    /// Estimated budget in whole Danish kroner.
    async fn budget_estimate(&self) -> Option<i64> {
        self.0.budget_estimate
    }
    /// Whether the action looks for partners (an opportunity to join).
    async fn seeking_partners(&self) -> bool {
        self.0.seeking_partners
    }
    /// What partners could bring, when the action seeks partners.
    async fn partner_needs(&self) -> Option<&str> {
        self.0.partner_needs.as_deref()
    }
    /// Where the action takes place, when it has a place of its own (else null: see
    /// `geometry`).
    async fn location(&self) -> Option<crate::community::Location> {
        match (self.0.latitude, self.0.longitude) {
            (Some(latitude), Some(longitude)) => Some(crate::community::Location { latitude, longitude }),
            _ => None,
        }
    }
    /// Where a map shows the action, as GeoJSON: its own place, else its community's; null
    /// when neither has one.
    async fn geometry(&self, ctx: &Context<'_>) -> Result<Option<crate::geo::PointGeometry>> {
        crate::geo::of_action(ctx, &self.0).await
    }
    #[graphql(flatten)]
    async fn stamps(&self) -> crate::common::Stamps {
        crate::common::Stamped::stamps(&self.0)
    }
    /// Notes for the municipality and the community's editors; never public. FORBIDDEN for
    /// editors of other communities.
    #[graphql(guard = "Require::Writer", visible = "visible_to_writers")]
    async fn internal_notes(&self, ctx: &Context<'_>) -> Result<Option<&str>> {
        let plan = loader::one(ctx, &crate::plan::BY_ID, self.0.plan_id).await?;
        let viewer = crate::auth::viewer(ctx);
        match plan {
            Some(p) if viewer.may_edit_community(p.community_id) => Ok(Some(&self.0.internal_notes)),
            _ => Err(ApiError::forbidden("only staff and the community's editors see internal notes").into()),
        }
    }
    async fn plan(&self, ctx: &Context<'_>) -> Result<Plan> {
        Ok(Plan(
            loader::required(ctx, &crate::plan::BY_ID, self.0.plan_id).await?,
        ))
    }
    async fn community(&self, ctx: &Context<'_>) -> Result<Community> {
        let plan = loader::required(ctx, &crate::plan::BY_ID, self.0.plan_id).await?;
        Ok(Community(
            loader::required(ctx, &crate::community::BY_ID, plan.community_id).await?,
        ))
    }
    async fn themes(&self, ctx: &Context<'_>) -> Result<Vec<Theme>> {
        Ok(loader::list(ctx, &crate::theme::OF_ACTION, self.0.id)
            .await?
            .into_iter()
            .map(Theme)
            .collect())
    }
    /// The municipal departments contributing, the leading one first.
    async fn departments(&self, ctx: &Context<'_>) -> Result<Vec<ActionDepartment>> {
        Ok(loader::list(ctx, &DEPARTMENTS_OF_ACTION, self.0.id)
            .await?
            .into_iter()
            .map(ActionDepartment)
            .collect())
    }
    /// The organisation leading the action, if any.
    async fn lead_organization(&self, ctx: &Context<'_>) -> Result<Option<Organization>> {
        Ok(
            loader::maybe(ctx, &crate::organization::BY_ID, self.0.lead_organization_id)
                .await?
                .map(Organization),
        )
    }
    async fn partnerships(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<Cursor, Partnership, ConnectionFields>> {
        let w = Window::parse(first, after, last, before)?;
        let page = loader::page(ctx, &crate::partnership::OF_ACTION, self.0.id, w).await?;
        Ok(page.into_connection(&w, Partnership))
    }
    /// Progress notes, newest first.
    async fn updates(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<Cursor, ActionUpdate, ConnectionFields>> {
        let w = Window::parse(first, after, last, before)?;
        let page = loader::page(ctx, &UPDATES_OF_ACTION, self.0.id, w).await?;
        Ok(page.into_connection(&w, ActionUpdate))
    }
    /// Responses from the public to the action while its plan was in consultation, newest
    /// first: the published ones for everyone; the others too for the community's editors and
    /// staff. `statuses` narrows them.
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
        crate::consultation::page(ctx, crate::consultation::Under::Action, self.0.id, statuses, w).await
    }
    /// The idea exchange this action came from, if any.
    async fn origin_exchange(&self, ctx: &Context<'_>) -> Result<Option<IdeaExchange>> {
        Ok(loader::one(ctx, &crate::idea::EXCHANGE_OF_ACTION, self.0.id)
            .await?
            .map(IdeaExchange))
    }
}

pub struct ActionDepartment(pub action_department::Model);

/// A municipal department's contribution to an action.
#[Object]
impl ActionDepartment {
    pub async fn id(&self) -> ID {
        relay::encode(NodeType::ActionDepartment, self.0.id)
    }
    async fn department(&self, ctx: &Context<'_>) -> Result<Department> {
        Ok(Department(
            loader::required(ctx, &crate::department::BY_ID, self.0.department_id).await?,
        ))
    }
    async fn role(&self) -> DepartmentRole {
        self.0.role.into()
    }
    async fn role_label(&self) -> &'static str {
        DepartmentRole::from(self.0.role).label()
    }
    /// What the department contributes.
    async fn contribution(&self) -> &str {
        &self.0.contribution
    }
    /// Send it back with an update: a stale one is a CONFLICT.
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn action(&self, ctx: &Context<'_>) -> Result<Action> {
        Ok(Action(loader::required(ctx, &BY_ID, self.0.action_id).await?))
    }
}

pub struct ActionUpdate(pub action_update::Model);

/// A dated progress note on an action.
#[Object]
impl ActionUpdate {
    pub async fn id(&self) -> ID {
        relay::encode(NodeType::ActionUpdate, self.0.id)
    }
    async fn body(&self) -> &str {
        &self.0.body
    }
    /// The action's progress in percent when the note was written.
    async fn progress(&self) -> Option<i32> {
        self.0.progress
    }
    /// Who signed the note: shown with it wherever the note is, to the public too.
    async fn author_name(&self) -> &str {
        &self.0.author_name
    }
    async fn posted_on(&self) -> Date {
        Date(self.0.posted_on)
    }
    #[graphql(flatten)]
    async fn stamps(&self) -> crate::common::Stamps {
        crate::common::Stamped::stamps(&self.0)
    }
    async fn action(&self, ctx: &Context<'_>) -> Result<Action> {
        Ok(Action(loader::required(ctx, &BY_ID, self.0.action_id).await?))
    }
}

/// Connections to actions from other rooms: a plan's and a community's actions.
pub async fn of_plan(
    ctx: &Context<'_>,
    plan: uuid::Uuid,
    w: Window,
) -> Result<Connection<Cursor, Action, ConnectionFields>> {
    Ok(loader::page(ctx, &OF_PLAN, plan, w)
        .await?
        .into_connection(&w, Action))
}

pub async fn of_community(
    ctx: &Context<'_>,
    community: uuid::Uuid,
    w: Window,
) -> Result<Connection<Cursor, Action, ConnectionFields>> {
    Ok(loader::page(ctx, &OF_COMMUNITY, community, w)
        .await?
        .into_connection(&w, Action))
}

impl crate::compiled::Prefetch for Action {
    fn edges() -> &'static [crate::compiled::Edge] {
        use crate::compiled::{Edge, foreign_key};
        static EDGES: [Edge; 7] = [
            Edge::reference::<Plan>("plan", &crate::plan::BY_ID, foreign_key!(action::PlanId)),
            Edge::list::<Theme>("themes", &crate::theme::OF_ACTION),
            Edge::list::<ActionDepartment>("departments", &DEPARTMENTS_OF_ACTION),
            Edge::reference::<Organization>(
                "leadOrganization",
                &crate::organization::BY_ID,
                foreign_key!(action::LeadOrganizationId),
            ),
            Edge::connection::<Partnership>("partnerships", &crate::partnership::OF_ACTION),
            Edge::connection::<ActionUpdate>("updates", &UPDATES_OF_ACTION),
            Edge::list::<IdeaExchange>("originExchange", &crate::idea::EXCHANGE_OF_ACTION),
        ];
        &EDGES
    }
}

impl crate::compiled::Prefetch for ActionDepartment {
    fn edges() -> &'static [crate::compiled::Edge] {
        use crate::compiled::{Edge, foreign_key};
        static EDGES: [Edge; 2] = [
            Edge::reference::<Department>(
                "department",
                &crate::department::BY_ID,
                foreign_key!(action_department::DepartmentId),
            ),
            Edge::reference::<Action>("action", &BY_ID, foreign_key!(action_department::ActionId)),
        ];
        &EDGES
    }
}

impl crate::compiled::Prefetch for ActionUpdate {
    fn edges() -> &'static [crate::compiled::Edge] {
        use crate::compiled::{Edge, foreign_key};
        static EDGES: [Edge; 1] = [Edge::reference::<Action>(
            "action",
            &BY_ID,
            foreign_key!(action_update::ActionId),
        )];
        &EDGES
    }
}
