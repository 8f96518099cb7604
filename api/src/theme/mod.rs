//! Themes: the shared taxonomy of focus areas (nature, culture, settlement, …) that plans,
//! actions and ideas are tagged with.
pub mod mutation;

use async_graphql::{Context, ID, Object, Result, connection::Connection};
use entity::{action_theme, idea_theme, plan_theme, theme};
use sea_orm::{
    EntityTrait, QueryFilter, RelationTrait,
    sea_query::{Order, SelectStatement},
};

use crate::{
    action::Action,
    common::text_condition,
    error::ApiError,
    idea::Idea,
    loader::{self, Rel, by_id, linked, qcol},
    pagination::{ConnectionFields, Cursor, Listing, Window},
    plan::Plan,
    relay::{self, NodeType},
};

pub static BY_ID: Rel<theme::Model> = Rel::new(NodeType::Theme.name(), |_| by_id(theme::Entity::find()));

/// Themes through the join table `link` (its foreign key `relation` to the theme) under the
/// parent its column `parent` holds, by name.
fn by_name<L: EntityTrait>(link: L, relation: impl RelationTrait, parent: L::Column) -> Listing {
    linked(
        theme::Entity,
        link,
        relation,
        parent,
        &[(theme::Column::Name, Order::Asc)],
    )
}

pub static OF_ACTION: Rel<theme::Model> = Rel::new("themes of action", |_| {
    by_name(
        action_theme::Entity,
        action_theme::Relation::Theme,
        action_theme::Column::ActionId,
    )
});
pub static OF_PLAN: Rel<theme::Model> = Rel::new("themes of plan", |_| {
    by_name(
        plan_theme::Entity,
        plan_theme::Relation::Theme,
        plan_theme::Column::PlanId,
    )
});
pub static OF_IDEA: Rel<theme::Model> = Rel::new("themes of idea", |_| {
    by_name(
        idea_theme::Entity,
        idea_theme::Relation::Theme,
        idea_theme::Column::IdeaId,
    )
});

/// `SELECT id FROM theme WHERE id IN (…) OR slug IN (…)`; None when neither is given. The
/// IDs and slugs are a filter's `themeIds` and `themeSlugs`.
pub fn id_subquery(
    ids: Option<Vec<ID>>,
    slugs: Option<Vec<String>>,
) -> Result<Option<SelectStatement>, ApiError> {
    crate::common::id_or_slug_subquery(
        theme::Column::Slug,
        NodeType::Theme,
        ("themeIds", ids),
        ("themeSlugs", slugs),
    )
}

pub struct Theme(pub theme::Model);

/// A focus area, e.g. "Natur og friluftsliv".
#[Object]
impl Theme {
    pub async fn id(&self) -> ID {
        relay::encode(NodeType::Theme, self.0.id)
    }
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// Send it back with an update: a stale one is a CONFLICT.
    async fn version(&self) -> i32 {
        self.0.version
    }
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
            &crate::plan::OF_THEME,
            self.0.id,
            first,
            after,
            last,
            before,
            Plan,
        )
        .await
    }
    async fn actions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<Cursor, Action, ConnectionFields>> {
        loader::nested(
            ctx,
            &crate::action::OF_THEME,
            self.0.id,
            first,
            after,
            last,
            before,
            Action,
        )
        .await
    }
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
            &crate::idea::OF_THEME,
            self.0.id,
            first,
            after,
            last,
            before,
            Idea,
        )
        .await
    }
}

#[derive(Default)]
pub struct ThemeQuery;

// Public data may be cached for a minute (see `schema::Query`).
#[Object(cache_control(max_age = 60))]
impl ThemeQuery {
    /// The themes, by name.
    async fn themes(
        &self,
        ctx: &Context<'_>,
        text: Option<String>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<Cursor, Theme, ConnectionFields>> {
        let window = Window::parse(first, after, last, before)?;
        let mut q = theme::Entity::find();
        if let Some(text) = &text {
            q = q.filter(text_condition(
                text,
                &[qcol(theme::Column::Name), qcol(theme::Column::Description)],
            )?);
        }
        loader::top_connection(ctx, q, &[(theme::Column::Name, Order::Asc)], &window, Theme).await
    }
}

impl crate::compiled::Prefetch for Theme {
    fn edges() -> &'static [crate::compiled::Edge] {
        use crate::compiled::Edge;
        static EDGES: [Edge; 3] = [
            Edge::connection::<crate::plan::Plan>("plans", &crate::plan::OF_THEME),
            Edge::connection::<crate::action::Action>("actions", &crate::action::OF_THEME),
            Edge::connection::<crate::idea::Idea>("ideas", &crate::idea::OF_THEME),
        ];
        &EDGES
    }
}
