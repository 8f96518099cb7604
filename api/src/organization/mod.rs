//! Organisations: local associations, businesses, foundations, educational and public
//! institutions, volunteer groups. A local association belongs to its community.
pub mod mutation;

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, connection::Connection};
use entity::organization;
use sea_orm::{
    EntityTrait, QueryFilter,
    sea_query::{ExprTrait, Order},
};

use crate::{
    action::Action,
    common::{CommonFilter, OrderDirection, one_of},
    community::{self, Community},
    contact::Contact,
    engagement::EngagementEvent,
    idea::Idea,
    labels::{enum_labels, labelled_enum},
    loader::{self, Rel, by_id, col, linked, listing},
    pagination::{ConnectionFields, Cursor, Window},
    partnership::Partnership,
    plan::PlanInvolvement,
    relay::{self, NodeType},
};

labelled_enum!(
    OrganizationKind = "entity::organization::OrganizationKind" {
        Association => "Forening",
        Business => "Virksomhed",
        Foundation => "Fond",
        EducationalInstitution => "Uddannelsesinstitution",
        PublicInstitution => "Offentlig institution",
        VolunteerGroup => "Frivilliggruppe",
        Other => "Andet",
    }
);

pub static BY_ID: Rel<organization::Model> = Rel::new(NodeType::Organization.name(), |_| {
    by_id(organization::Entity::find())
});

pub static OF_COMMUNITY: Rel<organization::Model> = Rel::new("organizations of community", |_| {
    listing(
        organization::Entity::find(),
        organization::Column::CommunityId,
        &[(organization::Column::Name, Order::Asc)],
    )
});

pub static OF_EVENT: Rel<organization::Model> = Rel::new("organizations of event", |_| {
    linked(
        organization::Entity,
        entity::engagement_event_organization::Entity,
        entity::engagement_event_organization::Relation::Organization,
        entity::engagement_event_organization::Column::EventId,
        &[(organization::Column::Name, Order::Asc)],
    )
});

pub struct Organization(pub organization::Model);

/// An association, business, foundation or institution.
#[Object]
impl Organization {
    pub async fn id(&self) -> ID {
        relay::encode(NodeType::Organization, self.0.id)
    }
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn kind(&self) -> OrganizationKind {
        self.0.kind.into()
    }
    async fn kind_label(&self) -> &'static str {
        OrganizationKind::from(self.0.kind).label()
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn website(&self) -> Option<&str> {
        self.0.website.as_deref()
    }
    #[graphql(flatten)]
    async fn stamps(&self) -> crate::common::Stamps {
        crate::common::Stamped::stamps(&self.0)
    }
    /// The community a local organisation belongs to.
    async fn community(&self, ctx: &Context<'_>) -> Result<Option<Community>> {
        Ok(loader::maybe(ctx, &community::BY_ID, self.0.community_id)
            .await?
            .map(Community))
    }
    /// Contact people (only public ones for anonymous callers).
    async fn contacts(&self, ctx: &Context<'_>) -> Result<Vec<Contact>> {
        crate::contact::of(ctx, &crate::contact::OF_ORGANIZATION, self.0.id).await
    }
    /// Actions the organisation leads.
    async fn led_actions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<Cursor, Action, ConnectionFields>> {
        loader::nested(
            ctx,
            &crate::action::LED_BY,
            self.0.id,
            first,
            after,
            last,
            before,
            Action,
        )
        .await
    }
    /// Partnerships the organisation is a member of.
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
            &crate::partnership::OF_MEMBER_ORGANIZATION,
            self.0.id,
            first,
            after,
            last,
            before,
            Partnership,
        )
        .await
    }
    /// Ideas and experiences the organisation offers communities.
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
            &crate::idea::OF_ORGANIZATION,
            self.0.id,
            first,
            after,
            last,
            before,
            Idea,
        )
        .await
    }
    /// Engagement events the organisation took part in, newest first.
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
            &crate::engagement::OF_ORGANIZATION,
            self.0.id,
            first,
            after,
            last,
            before,
            EngagementEvent,
        )
        .await
    }
    /// The plans the organisation took part in, and how.
    async fn plan_involvement(&self, ctx: &Context<'_>) -> Result<Vec<PlanInvolvement>> {
        Ok(
            loader::list(ctx, &crate::plan::INVOLVEMENT_OF_ORGANIZATION, self.0.id)
                .await?
                .into_iter()
                .map(PlanInvolvement)
                .collect(),
        )
    }
}

#[derive(InputObject, Default)]
pub struct OrganizationFilter {
    pub community_ids: Option<Vec<ID>>,
    pub community_slugs: Option<Vec<String>>,
    pub kinds: Option<Vec<OrganizationKind>>,
    #[graphql(flatten)]
    pub common: CommonFilter,
}

#[derive(Enum, Copy, Clone, PartialEq, Eq, Default)]
pub enum OrganizationOrderField {
    #[default]
    Name,
    CreatedAt,
    UpdatedAt,
}

enum_labels!(OrganizationOrderField {
    Name => "Navn",
    CreatedAt => "Oprettet",
    UpdatedAt => "Senest ændret",
});

#[derive(InputObject, Default)]
pub struct OrganizationOrder {
    #[graphql(default)]
    pub field: OrganizationOrderField,
    #[graphql(default)]
    pub direction: OrderDirection,
}

#[derive(Default)]
pub struct OrganizationQuery;

// Public data may be cached for a minute (see `schema::Query`).
#[Object(cache_control(max_age = 60))]
impl OrganizationQuery {
    /// Associations, businesses, foundations and institutions taking part in the programme.
    #[allow(clippy::too_many_arguments)]
    async fn organizations(
        &self,
        ctx: &Context<'_>,
        filter: Option<OrganizationFilter>,
        order_by: Option<OrganizationOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<Cursor, Organization, ConnectionFields>> {
        let window = Window::parse(first, after, last, before)?;
        let f = filter.unwrap_or_default();
        let mut q = organization::Entity::find();
        if let Some(c) = community::id_subquery(f.community_ids, f.community_slugs)? {
            q = q.filter(col(organization::Column::CommunityId).in_subquery(c));
        }
        if let Some(k) = f.kinds {
            q = q.filter(one_of::<_, organization::OrganizationKind>(
                "kinds",
                &k,
                organization::Column::Kind,
            )?);
        }
        q = f.common.apply(
            q,
            &[organization::Column::Name, organization::Column::Description],
            organization::Column::UpdatedAt,
        )?;
        let o = order_by.unwrap_or_default();
        let column = match o.field {
            OrganizationOrderField::Name => organization::Column::Name,
            OrganizationOrderField::CreatedAt => organization::Column::CreatedAt,
            OrganizationOrderField::UpdatedAt => organization::Column::UpdatedAt,
        };
        let order = crate::common::then_by(column, o.direction.order(), organization::Column::Name);
        loader::top_connection(ctx, q, &order, &window, Organization).await
    }
}

impl crate::compiled::Prefetch for Organization {
    fn edges() -> &'static [crate::compiled::Edge] {
        use crate::compiled::{Edge, foreign_key};
        static EDGES: [Edge; 7] = [
            Edge::reference::<Community>(
                "community",
                &community::BY_ID,
                foreign_key!(organization::CommunityId),
            ),
            Edge::list::<Contact>("contacts", &crate::contact::OF_ORGANIZATION),
            Edge::connection::<crate::action::Action>("ledActions", &crate::action::LED_BY),
            Edge::connection::<crate::partnership::Partnership>(
                "partnerships",
                &crate::partnership::OF_MEMBER_ORGANIZATION,
            ),
            Edge::connection::<crate::idea::Idea>("ideas", &crate::idea::OF_ORGANIZATION),
            Edge::connection::<crate::engagement::EngagementEvent>(
                "engagementEvents",
                &crate::engagement::OF_ORGANIZATION,
            ),
            Edge::list::<PlanInvolvement>("planInvolvement", &crate::plan::INVOLVEMENT_OF_ORGANIZATION),
        ];
        &EDGES
    }
}
