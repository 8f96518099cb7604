//! Municipal departments (forvaltninger) and the competences they bring to actions.
pub mod mutation;

use async_graphql::{Context, ID, Object, Result, connection::Connection};
use entity::{action_department, department};
use sea_orm::{
    ColumnTrait, EntityTrait, QueryFilter, QuerySelect, QueryTrait,
    sea_query::{Order, SelectStatement},
};
use uuid::Uuid;

use crate::{
    action::Action,
    common::text_condition,
    contact::Contact,
    loader::{self, Rel, by_id, qcol},
    pagination::{ConnectionFields, Cursor, Window},
    partnership::Partnership,
    relay::{self, NodeType},
};

pub static BY_ID: Rel<department::Model> =
    Rel::new(NodeType::Department.name(), |_| by_id(department::Entity::find()));

/// `SELECT action_id FROM action_department WHERE department_id IN (…)`.
pub fn action_ids(departments: Vec<Uuid>) -> SelectStatement {
    action_department::Entity::find()
        .select_only()
        .column(action_department::Column::ActionId)
        .filter(action_department::Column::DepartmentId.is_in(departments))
        .into_query()
}

pub struct Department(pub department::Model);

/// A department of the municipality.
#[Object]
impl Department {
    pub async fn id(&self) -> ID {
        relay::encode(NodeType::Department, self.0.id)
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
    /// Contact people (only public ones for anonymous callers).
    async fn contacts(&self, ctx: &Context<'_>) -> Result<Vec<Contact>> {
        crate::contact::of(ctx, &crate::contact::OF_DEPARTMENT, self.0.id).await
    }
    /// Actions the department contributes to.
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
            &crate::action::OF_DEPARTMENT,
            self.0.id,
            first,
            after,
            last,
            before,
            Action,
        )
        .await
    }
    /// Partnerships the department is a member of.
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
            &crate::partnership::OF_MEMBER_DEPARTMENT,
            self.0.id,
            first,
            after,
            last,
            before,
            Partnership,
        )
        .await
    }
}

#[derive(Default)]
pub struct DepartmentQuery;

// Public data may be cached for a minute (see `schema::Query`).
#[Object(cache_control(max_age = 60))]
impl DepartmentQuery {
    /// The municipality's departments, by name.
    async fn departments(
        &self,
        ctx: &Context<'_>,
        text: Option<String>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<Cursor, Department, ConnectionFields>> {
        let window = Window::parse(first, after, last, before)?;
        let mut q = department::Entity::find();
        if let Some(text) = &text {
            q = q.filter(text_condition(
                text,
                &[
                    qcol(department::Column::Name),
                    qcol(department::Column::Description),
                ],
            )?);
        }
        loader::top_connection(
            ctx,
            q,
            &[(department::Column::Name, Order::Asc)],
            &window,
            Department,
        )
        .await
    }
}

impl crate::compiled::Prefetch for Department {
    fn edges() -> &'static [crate::compiled::Edge] {
        use crate::compiled::Edge;
        static EDGES: [Edge; 3] = [
            Edge::list::<Contact>("contacts", &crate::contact::OF_DEPARTMENT),
            Edge::connection::<crate::action::Action>("actions", &crate::action::OF_DEPARTMENT),
            Edge::connection::<crate::partnership::Partnership>(
                "partnerships",
                &crate::partnership::OF_MEMBER_DEPARTMENT,
            ),
        ];
        &EDGES
    }
}
