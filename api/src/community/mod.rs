//! Local communities (lokalsamfund): the villages and small towns that write plans.
pub mod mutation;

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject, connection::Connection};
use entity::community;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryTrait, sea_query::SelectStatement};

use crate::{
    action::Action,
    common::{CommonFilter, OrderDirection, one_of},
    contact::Contact,
    engagement::EngagementEvent,
    error::ApiError,
    idea::{Idea, IdeaExchange},
    labels::{enum_labels, labelled_enum},
    loader::{self, Rel, by_id},
    organization::Organization,
    pagination::{ConnectionFields, Cursor, Window},
    partnership::Partnership,
    plan::Plan,
    relay::{self, NodeType},
};

labelled_enum!(
    CommunityStatus = "entity::community::CommunityStatus" {
        Active => "Aktiv",
        Inactive => "Inaktiv",
    }
);

pub static BY_ID: Rel<community::Model> =
    Rel::new(NodeType::Community.name(), |_| by_id(community::Entity::find()));

/// `SELECT id FROM community WHERE id IN (…) OR slug IN (…)`; None when neither is given. The
/// IDs and slugs are a filter's `communityIds` and `communitySlugs`.
pub fn id_subquery(
    ids: Option<Vec<ID>>,
    slugs: Option<Vec<String>>,
) -> Result<Option<SelectStatement>, ApiError> {
    crate::common::id_or_slug_subquery(
        community::Column::Slug,
        NodeType::Community,
        ("communityIds", ids),
        ("communitySlugs", slugs),
    )
}

/// A place in WGS 84 degrees (as GPS and web maps give it).
#[derive(SimpleObject)]
pub struct Location {
    pub latitude: f64,
    pub longitude: f64,
}

pub struct Community(pub community::Model);

/// A local community: a village or small town with its own plan.
#[Object]
impl Community {
    pub async fn id(&self) -> ID {
        relay::encode(NodeType::Community, self.0.id)
    }
    /// The name used in addresses, e.g. `vester-hjermitslev`.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// Approximate centre of the community.
    async fn location(&self) -> Option<Location> {
        match (self.0.latitude, self.0.longitude) {
            (Some(latitude), Some(longitude)) => Some(Location { latitude, longitude }),
            _ => None,
        }
    }
    /// The location as GeoJSON (`[longitude, latitude]`), for map libraries.
    async fn geometry(&self) -> Option<crate::geo::PointGeometry> {
        crate::geo::point(self.0.latitude, self.0.longitude)
    }
    async fn status(&self) -> CommunityStatus {
        self.0.status.into()
    }
    async fn status_label(&self) -> &'static str {
        CommunityStatus::from(self.0.status).label()
    }
    #[graphql(flatten)]
    async fn stamps(&self) -> crate::common::Stamps {
        crate::common::Stamped::stamps(&self.0)
    }
    /// The plan in force: the adopted plan whose period has begun (a successor adopted ahead
    /// of its period takes over in its first year), or else the adopted plan that begins first.
    async fn current_plan(&self, ctx: &Context<'_>) -> Result<Option<Plan>> {
        crate::plan::current_of(ctx, self.0.id).await
    }
    /// The community's plans, newest period first.
    async fn plans(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<Cursor, Plan, ConnectionFields>> {
        loader::nested(
            ctx,
            &crate::plan::OF_COMMUNITY,
            self.0.id,
            first,
            after,
            last,
            before,
            Plan,
        )
        .await
    }
    /// Actions of all the community's plans.
    async fn actions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<Cursor, Action, ConnectionFields>> {
        crate::action::of_community(ctx, self.0.id, Window::parse(first, after, last, before)?).await
    }
    /// Local associations and other organisations based in the community.
    async fn organizations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<Cursor, Organization, ConnectionFields>> {
        loader::nested(
            ctx,
            &crate::organization::OF_COMMUNITY,
            self.0.id,
            first,
            after,
            last,
            before,
            Organization,
        )
        .await
    }
    /// Ideas and experiences the community offers others.
    async fn ideas(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<Cursor, Idea, ConnectionFields>> {
        loader::nested(
            ctx,
            &crate::idea::OF_COMMUNITY,
            self.0.id,
            first,
            after,
            last,
            before,
            Idea,
        )
        .await
    }
    /// Idea exchanges the community initiated or took part in.
    async fn exchanges(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<Cursor, IdeaExchange, ConnectionFields>> {
        loader::nested(
            ctx,
            &crate::idea::EXCHANGES_OF_COMMUNITY,
            self.0.id,
            first,
            after,
            last,
            before,
            IdeaExchange,
        )
        .await
    }
    /// Citizen meetings, workshops and working days, newest first.
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
            &crate::engagement::OF_COMMUNITY,
            self.0.id,
            first,
            after,
            last,
            before,
            EngagementEvent,
        )
        .await
    }
    /// Partnerships the community is a member of.
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
            &crate::partnership::OF_MEMBER_COMMUNITY,
            self.0.id,
            first,
            after,
            last,
            before,
            Partnership,
        )
        .await
    }
    /// Contact people (only public ones for anonymous callers).
    async fn contacts(&self, ctx: &Context<'_>) -> Result<Vec<Contact>> {
        crate::contact::of(ctx, &crate::contact::OF_COMMUNITY, self.0.id).await
    }
    /// Local engagement across the community's plans and its own events in a window (by
    /// default the last 12 months): each component, its weight and points, and the total.
    /// Counts only what the caller may see.
    async fn engagement(
        &self,
        ctx: &Context<'_>,
        window: Option<crate::engagement::figures::EngagementWindowInput>,
    ) -> Result<crate::engagement::figures::Engagement> {
        crate::engagement::figures::engagement(
            ctx,
            crate::engagement::figures::Of::Community,
            self.0.id,
            window,
        )
        .await
    }
    /// The community's figures in the annual reviews (published ones; drafts too for staff),
    /// oldest year first, to compare years; `fromYear`/`toYear` narrow the years.
    async fn annual_figures(
        &self,
        ctx: &Context<'_>,
        from_year: Option<i32>,
        to_year: Option<i32>,
    ) -> Result<Vec<crate::review::AnnualReviewEntry>> {
        crate::review::annual_figures_of(ctx, self.0.id, from_year, to_year).await
    }
}

#[derive(InputObject, Default)]
pub struct CommunityFilter {
    pub statuses: Option<Vec<CommunityStatus>>,
    #[graphql(flatten)]
    pub common: CommonFilter,
}

#[derive(Enum, Copy, Clone, PartialEq, Eq, Default)]
pub enum CommunityOrderField {
    #[default]
    Name,
    CreatedAt,
    UpdatedAt,
}

enum_labels!(CommunityOrderField {
    Name => "Navn",
    CreatedAt => "Oprettet",
    UpdatedAt => "Senest ændret",
});

#[derive(InputObject, Default)]
pub struct CommunityOrder {
    #[graphql(default)]
    pub field: CommunityOrderField,
    #[graphql(default)]
    pub direction: OrderDirection,
}

#[derive(Default)]
pub struct CommunityQuery;

// Public data may be cached for a minute (see `schema::Query`).
#[Object(cache_control(max_age = 60))]
impl CommunityQuery {
    /// All local communities in the programme.
    #[allow(clippy::too_many_arguments)]
    async fn communities(
        &self,
        ctx: &Context<'_>,
        filter: Option<CommunityFilter>,
        order_by: Option<CommunityOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<Cursor, Community, ConnectionFields>> {
        let window = Window::parse(first, after, last, before)?;
        let f = filter.unwrap_or_default();
        let mut q = community::Entity::find();
        if let Some(s) = f.statuses {
            q = q.filter(one_of::<_, community::CommunityStatus>(
                "statuses",
                &s,
                community::Column::Status,
            )?);
        }
        q = f.common.apply(
            q,
            &[community::Column::Name, community::Column::Description],
            community::Column::UpdatedAt,
        )?;
        let o = order_by.unwrap_or_default();
        let column = match o.field {
            CommunityOrderField::Name => community::Column::Name,
            CommunityOrderField::CreatedAt => community::Column::CreatedAt,
            CommunityOrderField::UpdatedAt => community::Column::UpdatedAt,
        };
        let order = crate::common::then_by(column, o.direction.order(), community::Column::Name);
        loader::top_connection(ctx, q, &order, &window, Community).await
    }

    /// One community, by its slug or its ID (exactly one of them). Null when none matches.
    async fn community(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "In any case, with æ, ø and å as the slug writes them (`gjøl` finds `gjoel`).")]
        slug: Option<String>,
        id: Option<ID>,
    ) -> Result<Option<Community>> {
        let found = match (slug, id) {
            // The website's page: everything it selects under the community in one statement.
            (Some(slug), None) => {
                let listing = crate::pagination::Listing {
                    select: community::Entity::find()
                        .filter(community::Column::Slug.eq(crate::common::slug_lookup(&slug)))
                        .into_query(),
                    order: loader::ordering(community::Entity, &[]),
                    parent: None,
                };
                loader::top_page::<community::Model, Community>(
                    ctx,
                    listing,
                    &Window::first(1),
                    crate::compiled::Root::Object,
                )
                .await?
                .rows
                .into_iter()
                .next()
                .map(|(_, m)| m)
            }
            (None, Some(id)) => {
                let id = relay::decode_as(&id, NodeType::Community)?;
                loader::one(ctx, &BY_ID, id).await?
            }
            _ => return Err(ApiError::bad_input("pass exactly one of `slug` and `id`").into()),
        };
        Ok(found.map(Community))
    }
}

impl crate::compiled::Prefetch for Community {
    fn edges() -> &'static [crate::compiled::Edge] {
        use crate::compiled::Edge;
        static EDGES: [Edge; 9] = [
            Edge::fixed::<Plan>("currentPlan", &crate::plan::CURRENT, Window::first(1)),
            Edge::connection::<Plan>("plans", &crate::plan::OF_COMMUNITY),
            Edge::connection::<Action>("actions", &crate::action::OF_COMMUNITY),
            Edge::connection::<Organization>("organizations", &crate::organization::OF_COMMUNITY),
            Edge::connection::<Idea>("ideas", &crate::idea::OF_COMMUNITY),
            Edge::connection::<IdeaExchange>("exchanges", &crate::idea::EXCHANGES_OF_COMMUNITY),
            Edge::connection::<EngagementEvent>("engagementEvents", &crate::engagement::OF_COMMUNITY),
            Edge::connection::<Partnership>("partnerships", &crate::partnership::OF_MEMBER_COMMUNITY),
            Edge::list::<Contact>("contacts", &crate::contact::OF_COMMUNITY),
        ];
        &EDGES
    }
}
