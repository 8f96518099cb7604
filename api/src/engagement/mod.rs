//! Engagement events: citizen meetings, workshops, working days — the measured side of local
//! engagement. An event tied to an unpublished plan is as hidden as the plan.
pub mod figures;
pub mod mutation;
pub mod score;
pub mod weights;

use async_graphql::{Context, ID, InputObject, Object, Result, connection::Connection};
use entity::engagement_event;
use sea_orm::{
    EntityTrait, QueryFilter, QueryTrait,
    sea_query::{Condition, ExprTrait, Order},
};

use crate::{
    access::Access,
    common::Date,
    common::{CommonFilter, in_year, one_of},
    community::{self, Community},
    labels::labelled_enum,
    loader::{self, Rel, by_id, col, join, listing, listing_stmt},
    organization::Organization,
    pagination::{ConnectionFields, Cursor, Listing, Window},
    plan::Plan,
    relay::{self, NodeType},
};

labelled_enum!(
    EventKind = "entity::engagement_event::EventKind" {
        CitizenMeeting => "Borgermøde",
        Workshop => "Workshop",
        WorkingDay => "Arbejdsdag",
        PublicConsultation => "Offentligt høringsmøde",
        Event => "Arrangement",
        Other => "Andet",
    }
);

pub(crate) fn visible(a: &Access) -> sea_orm::Select<engagement_event::Entity> {
    engagement_event::Entity::find().filter(
        Condition::any()
            .add(col(engagement_event::Column::PlanId).is_null())
            .add(a.plan_condition(col(engagement_event::Column::PlanId))),
    )
}

fn newest_first(a: &Access, parent: engagement_event::Column) -> Listing {
    listing(
        visible(a),
        parent,
        &[(engagement_event::Column::OccurredOn, Order::Desc)],
    )
}

pub static BY_ID: Rel<engagement_event::Model> =
    Rel::new(NodeType::EngagementEvent.name(), |a| by_id(visible(a)));
pub static OF_COMMUNITY: Rel<engagement_event::Model> = Rel::new("events of community", |a| {
    newest_first(a, engagement_event::Column::CommunityId)
});
pub static OF_ORGANIZATION: Rel<engagement_event::Model> = Rel::new("events of organization", |a| {
    let mut q = visible(a).into_query();
    join(
        &mut q,
        entity::engagement_event_organization::Entity,
        entity::engagement_event_organization::Relation::Event,
    );
    listing_stmt(
        q,
        engagement_event::Entity,
        entity::engagement_event_organization::Column::OrganizationId,
        &[(engagement_event::Column::OccurredOn, Order::Desc)],
    )
});
pub static OF_PLAN: Rel<engagement_event::Model> = Rel::new("events of plan", |a| {
    newest_first(a, engagement_event::Column::PlanId)
});

pub struct EngagementEvent(pub engagement_event::Model);

/// A citizen meeting, workshop, working day or other event where locals took part.
#[Object]
impl EngagementEvent {
    pub async fn id(&self) -> ID {
        relay::encode(NodeType::EngagementEvent, self.0.id)
    }
    async fn kind(&self) -> EventKind {
        self.0.kind.into()
    }
    async fn kind_label(&self) -> &'static str {
        EventKind::from(self.0.kind).label()
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn occurred_on(&self) -> Date {
        Date(self.0.occurred_on)
    }
    /// Number of participants.
    async fn participants(&self) -> i32 {
        self.0.participants
    }
    #[graphql(flatten)]
    async fn stamps(&self) -> crate::common::Stamps {
        crate::common::Stamped::stamps(&self.0)
    }
    async fn community(&self, ctx: &Context<'_>) -> Result<Community> {
        Ok(Community(
            loader::required(ctx, &community::BY_ID, self.0.community_id).await?,
        ))
    }
    /// The plan the event was held for, if any.
    async fn plan(&self, ctx: &Context<'_>) -> Result<Option<Plan>> {
        Ok(loader::maybe(ctx, &crate::plan::BY_ID, self.0.plan_id)
            .await?
            .map(Plan))
    }
    /// Organisations present.
    async fn organizations(&self, ctx: &Context<'_>) -> Result<Vec<Organization>> {
        Ok(loader::list(ctx, &crate::organization::OF_EVENT, self.0.id)
            .await?
            .into_iter()
            .map(Organization)
            .collect())
    }
}

#[derive(InputObject, Default)]
pub struct EngagementEventFilter {
    pub community_ids: Option<Vec<ID>>,
    pub community_slugs: Option<Vec<String>>,
    pub kinds: Option<Vec<EventKind>>,
    /// Events held in this calendar year.
    pub year: Option<i32>,
    #[graphql(flatten)]
    pub common: CommonFilter,
}

#[derive(Default)]
pub struct EngagementQuery;

// Public data may be cached for a minute (see `schema::Query`).
#[Object(cache_control(max_age = 60))]
impl EngagementQuery {
    /// Engagement events, newest first.
    async fn engagement_events(
        &self,
        ctx: &Context<'_>,
        filter: Option<EngagementEventFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<Cursor, EngagementEvent, ConnectionFields>> {
        let window = Window::parse(first, after, last, before)?;
        let f = filter.unwrap_or_default();
        let mut q = visible(&loader::access(ctx));
        if let Some(c) = community::id_subquery(f.community_ids, f.community_slugs)? {
            q = q.filter(col(engagement_event::Column::CommunityId).in_subquery(c));
        }
        if let Some(k) = f.kinds {
            q = q.filter(one_of::<_, engagement_event::EventKind>(
                "kinds",
                &k,
                engagement_event::Column::Kind,
            )?);
        }
        if let Some(year) = f.year {
            q = q.filter(in_year(year, engagement_event::Column::OccurredOn)?);
        }
        q = f.common.apply(
            q,
            &[
                engagement_event::Column::Title,
                engagement_event::Column::Description,
            ],
            engagement_event::Column::UpdatedAt,
        )?;
        loader::top_connection(
            ctx,
            q,
            &[(engagement_event::Column::OccurredOn, Order::Desc)],
            &window,
            EngagementEvent,
        )
        .await
    }
}

impl crate::compiled::Prefetch for EngagementEvent {
    fn edges() -> &'static [crate::compiled::Edge] {
        use crate::compiled::{Edge, foreign_key};
        static EDGES: [Edge; 3] = [
            Edge::reference::<Community>(
                "community",
                &community::BY_ID,
                foreign_key!(engagement_event::CommunityId),
            ),
            Edge::reference::<Plan>(
                "plan",
                &crate::plan::BY_ID,
                foreign_key!(engagement_event::PlanId),
            ),
            Edge::list::<Organization>("organizations", &crate::organization::OF_EVENT),
        ];
        &EDGES
    }
}
