//! Ideas and experiences communities (or partners) offer each other, and the exchanges in
//! which communities take them up — with the actions each exchange led to (the adoption trail).
pub mod mutation;

use async_graphql::{Context, ID, InputObject, Object, Result, connection::Connection};
use entity::{community, idea, idea_exchange, idea_exchange_action, idea_exchange_participant};
use sea_orm::{
    ColumnTrait, EntityTrait, QueryFilter, QueryTrait,
    sea_query::{Expr, ExprTrait, JoinType, Order, Query, SelectStatement, UnionType},
};

use crate::{
    action::Action,
    common::Date,
    common::{CommonFilter, in_year, one_of},
    community::{self as community_room, Community},
    labels::labelled_enum,
    loader::{self, Aliased, Col, Rel, aliased, by_id, col, join, linked, listing, listing_stmt},
    organization::Organization,
    pagination::{ConnectionFields, Cursor, Listing, Window},
    relay::{self, NodeType},
    theme::{self, Theme},
};

labelled_enum!(
    ExchangeKind = "entity::idea_exchange::ExchangeKind" {
        KnowledgeSharing => "Erfaringsudveksling",
        StudyVisit => "Studietur",
        JointProject => "Fælles projekt",
    }
);

pub static BY_ID: Rel<idea::Model> = Rel::new(NodeType::Idea.name(), |_| by_id(idea::Entity::find()));
pub static OF_COMMUNITY: Rel<idea::Model> = Rel::new("ideas of community", |_| {
    listing(
        idea::Entity::find(),
        idea::Column::CommunityId,
        &[(idea::Column::Title, Order::Asc)],
    )
});
pub static OF_ORGANIZATION: Rel<idea::Model> = Rel::new("ideas of organization", |_| {
    listing(
        idea::Entity::find(),
        idea::Column::OrganizationId,
        &[(idea::Column::Title, Order::Asc)],
    )
});
pub static OF_THEME: Rel<idea::Model> = Rel::new("ideas of theme", |_| {
    linked(
        idea::Entity,
        entity::idea_theme::Entity,
        entity::idea_theme::Relation::Idea,
        entity::idea_theme::Column::ThemeId,
        &[(idea::Column::Title, Order::Asc)],
    )
});

const NEWEST_EXCHANGES: [(idea_exchange::Column, Order); 2] = [
    (idea_exchange::Column::OccurredOn, Order::Desc),
    (idea_exchange::Column::Title, Order::Asc),
];

fn newest_exchanges_under(q: SelectStatement, parent: impl Col) -> Listing {
    listing_stmt(q, idea_exchange::Entity, parent, &NEWEST_EXCHANGES)
}

pub static EXCHANGE_BY_ID: Rel<idea_exchange::Model> = Rel::new(NodeType::IdeaExchange.name(), |_| {
    by_id(idea_exchange::Entity::find())
});
pub static EXCHANGE_OF_ACTION: Rel<idea_exchange::Model> = Rel::new("exchange of action", |_| {
    let mut q = idea_exchange::Entity::find().into_query();
    join(
        &mut q,
        idea_exchange_action::Entity,
        idea_exchange_action::Relation::Exchange,
    );
    newest_exchanges_under(q, idea_exchange_action::Column::ActionId)
});
pub(crate) static EXCHANGES_OF_IDEA: Rel<idea_exchange::Model> = Rel::new("exchanges of idea", |_| {
    newest_exchanges_under(
        idea_exchange::Entity::find().into_query(),
        idea_exchange::Column::IdeaId,
    )
});
/// Exchanges a community initiated or took part in.
pub static EXCHANGES_OF_COMMUNITY: Rel<idea_exchange::Model> = Rel::new("exchanges of community", |_| {
    let mut q = idea_exchange::Entity::find().into_query();
    q.join_subquery(
        JoinType::InnerJoin,
        exchange_communities(),
        EC,
        col(EC_EXCHANGE).equals(idea_exchange::Column::Id.as_column_ref()),
    );
    newest_exchanges_under(q, EC_COMMUNITY)
});

/// The alias of [`exchange_communities`] where it is joined, and its columns.
const EC: &str = "ec";
const EC_EXCHANGE: Aliased<idea_exchange_participant::Column> =
    aliased(EC, idea_exchange_participant::Column::ExchangeId);
const EC_COMMUNITY: Aliased<idea_exchange_participant::Column> =
    aliased(EC, idea_exchange_participant::Column::CommunityId);

/// `(exchange_id, community_id)` for initiators and participants alike (the columns of
/// `idea_exchange_participant`, which the initiators' rows take as names).
fn exchange_communities() -> SelectStatement {
    use idea_exchange_participant::Column as P;
    let mut initiated = Query::select()
        .expr_as(col(idea_exchange::Column::Id), P::ExchangeId)
        .expr_as(col(idea_exchange::Column::InitiatorCommunityId), P::CommunityId)
        .from(idea_exchange::Entity)
        .to_owned();
    let participating = Query::select()
        .column(P::ExchangeId)
        .column(P::CommunityId)
        .from(idea_exchange_participant::Entity)
        .to_owned();
    initiated.union(UnionType::Distinct, participating);
    initiated
}

pub(crate) static PARTICIPANTS: Rel<community::Model> = Rel::new("participants of exchange", |_| {
    linked(
        community::Entity,
        entity::idea_exchange_participant::Entity,
        entity::idea_exchange_participant::Relation::Community,
        entity::idea_exchange_participant::Column::ExchangeId,
        &[(community::Column::Name, Order::Asc)],
    )
});

pub struct Idea(pub idea::Model);

/// An idea or experience offered to other communities.
#[Object]
impl Idea {
    pub async fn id(&self) -> ID {
        relay::encode(NodeType::Idea, self.0.id)
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    #[graphql(flatten)]
    async fn stamps(&self) -> crate::common::Stamps {
        crate::common::Stamped::stamps(&self.0)
    }
    /// The community offering the idea, if a community does.
    async fn community(&self, ctx: &Context<'_>) -> Result<Option<Community>> {
        Ok(loader::maybe(ctx, &community_room::BY_ID, self.0.community_id)
            .await?
            .map(Community))
    }
    /// The partner organisation offering the idea, if one does.
    async fn organization(&self, ctx: &Context<'_>) -> Result<Option<Organization>> {
        Ok(
            loader::maybe(ctx, &crate::organization::BY_ID, self.0.organization_id)
                .await?
                .map(Organization),
        )
    }
    async fn themes(&self, ctx: &Context<'_>) -> Result<Vec<Theme>> {
        Ok(loader::list(ctx, &theme::OF_IDEA, self.0.id)
            .await?
            .into_iter()
            .map(Theme)
            .collect())
    }
    /// Exchanges in which communities took the idea up, newest first.
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
            &EXCHANGES_OF_IDEA,
            self.0.id,
            first,
            after,
            last,
            before,
            IdeaExchange,
        )
        .await
    }
}

pub struct IdeaExchange(pub idea_exchange::Model);

/// Communities exchanging an idea: knowledge sharing, a study visit or a joint project.
#[Object]
impl IdeaExchange {
    pub async fn id(&self) -> ID {
        relay::encode(NodeType::IdeaExchange, self.0.id)
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn kind(&self) -> ExchangeKind {
        self.0.kind.into()
    }
    async fn kind_label(&self) -> &'static str {
        ExchangeKind::from(self.0.kind).label()
    }
    async fn occurred_on(&self) -> Option<Date> {
        self.0.occurred_on.map(Date)
    }
    /// What came of it.
    async fn outcome(&self) -> &str {
        &self.0.outcome
    }
    #[graphql(flatten)]
    async fn stamps(&self) -> crate::common::Stamps {
        crate::common::Stamped::stamps(&self.0)
    }
    /// The idea exchanged, if it is recorded as one.
    async fn idea(&self, ctx: &Context<'_>) -> Result<Option<Idea>> {
        Ok(loader::maybe(ctx, &BY_ID, self.0.idea_id).await?.map(Idea))
    }
    /// The community that initiated the exchange.
    async fn initiator(&self, ctx: &Context<'_>) -> Result<Community> {
        Ok(Community(
            loader::required(ctx, &community_room::BY_ID, self.0.initiator_community_id).await?,
        ))
    }
    /// The other communities taking part.
    async fn participants(&self, ctx: &Context<'_>) -> Result<Vec<Community>> {
        Ok(loader::list(ctx, &PARTICIPANTS, self.0.id)
            .await?
            .into_iter()
            .map(Community)
            .collect())
    }
    /// Actions, in the participating communities' plans, that the exchange led to.
    async fn resulting_actions(&self, ctx: &Context<'_>) -> Result<Vec<Action>> {
        Ok(loader::list(ctx, &crate::action::OF_EXCHANGE, self.0.id)
            .await?
            .into_iter()
            .map(Action)
            .collect())
    }
}

#[derive(InputObject, Default)]
pub struct IdeaFilter {
    /// Ideas offered by these communities.
    pub community_ids: Option<Vec<ID>>,
    pub community_slugs: Option<Vec<String>>,
    pub theme_ids: Option<Vec<ID>>,
    pub theme_slugs: Option<Vec<String>>,
    #[graphql(flatten)]
    pub common: CommonFilter,
}

#[derive(InputObject, Default)]
pub struct IdeaExchangeFilter {
    /// Exchanges these communities initiated or took part in.
    pub community_ids: Option<Vec<ID>>,
    pub community_slugs: Option<Vec<String>>,
    pub kinds: Option<Vec<ExchangeKind>>,
    /// Exchanges held in this calendar year.
    pub year: Option<i32>,
    #[graphql(flatten)]
    pub common: CommonFilter,
}

#[derive(Default)]
pub struct IdeaQuery;

// Public data may be cached for a minute (see `schema::Query`).
#[Object(cache_control(max_age = 60))]
impl IdeaQuery {
    /// Ideas and experiences on offer, by title.
    async fn ideas(
        &self,
        ctx: &Context<'_>,
        filter: Option<IdeaFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<Cursor, Idea, ConnectionFields>> {
        let window = Window::parse(first, after, last, before)?;
        let f = filter.unwrap_or_default();
        let mut q = idea::Entity::find();
        if let Some(c) = community_room::id_subquery(f.community_ids, f.community_slugs)? {
            q = q.filter(col(idea::Column::CommunityId).in_subquery(c));
        }
        if let Some(themes) = theme::id_subquery(f.theme_ids, f.theme_slugs)? {
            let with_theme = crate::links::owners_of::<entity::idea_theme::Entity>(themes);
            q = q.filter(col(idea::Column::Id).in_subquery(with_theme));
        }
        q = f.common.apply(
            q,
            &[idea::Column::Title, idea::Column::Description],
            idea::Column::UpdatedAt,
        )?;
        loader::top_connection(ctx, q, &[(idea::Column::Title, Order::Asc)], &window, Idea).await
    }

    /// Idea exchanges between communities, newest first.
    async fn idea_exchanges(
        &self,
        ctx: &Context<'_>,
        filter: Option<IdeaExchangeFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<Cursor, IdeaExchange, ConnectionFields>> {
        let window = Window::parse(first, after, last, before)?;
        let f = filter.unwrap_or_default();
        let mut q = idea_exchange::Entity::find();
        if let Some(c) = community_room::id_subquery(f.community_ids, f.community_slugs)? {
            let exchanges = Query::select()
                .column(idea_exchange_participant::Column::ExchangeId)
                .from_subquery(exchange_communities(), EC)
                .and_where(Expr::col(idea_exchange_participant::Column::CommunityId).in_subquery(c))
                .to_owned();
            q = q.filter(col(idea_exchange::Column::Id).in_subquery(exchanges));
        }
        if let Some(k) = f.kinds {
            q = q.filter(one_of::<_, idea_exchange::ExchangeKind>(
                "kinds",
                &k,
                idea_exchange::Column::Kind,
            )?);
        }
        if let Some(year) = f.year {
            q = q.filter(in_year(year, idea_exchange::Column::OccurredOn)?);
        }
        q = f.common.apply(
            q,
            &[idea_exchange::Column::Title, idea_exchange::Column::Outcome],
            idea_exchange::Column::UpdatedAt,
        )?;
        loader::top_connection(ctx, q, &NEWEST_EXCHANGES, &window, IdeaExchange).await
    }
}

impl crate::compiled::Prefetch for Idea {
    fn edges() -> &'static [crate::compiled::Edge] {
        use crate::compiled::{Edge, foreign_key};
        static EDGES: [Edge; 4] = [
            Edge::reference::<Community>(
                "community",
                &community_room::BY_ID,
                foreign_key!(idea::CommunityId),
            ),
            Edge::reference::<Organization>(
                "organization",
                &crate::organization::BY_ID,
                foreign_key!(idea::OrganizationId),
            ),
            Edge::list::<Theme>("themes", &theme::OF_IDEA),
            Edge::connection::<IdeaExchange>("exchanges", &EXCHANGES_OF_IDEA),
        ];
        &EDGES
    }
}

impl crate::compiled::Prefetch for IdeaExchange {
    fn edges() -> &'static [crate::compiled::Edge] {
        use crate::compiled::{Edge, foreign_key};
        static EDGES: [Edge; 4] = [
            Edge::reference::<Idea>("idea", &BY_ID, foreign_key!(idea_exchange::IdeaId)),
            Edge::reference::<Community>(
                "initiator",
                &community_room::BY_ID,
                foreign_key!(idea_exchange::InitiatorCommunityId),
            ),
            Edge::list::<Community>("participants", &PARTICIPANTS),
            Edge::list::<crate::action::Action>("resultingActions", &crate::action::OF_EXCHANGE),
        ];
        &EDGES
    }
}
