//! `actions` and `opportunities`: filtered, ordered lists of actions.
use async_graphql::{Context, Enum, ID, InputObject, Object, Result, connection::Connection};
use entity::{action, plan::PlanStatus};
use sea_orm::{
    ColumnTrait, EntityTrait, QueryFilter, QuerySelect, QueryTrait,
    sea_query::{Expr, ExprTrait},
};

use super::{Action, ActionStatus, Horizon, visible};
use crate::{
    common::{CommonFilter, OrderDirection, one_of},
    community, department,
    labels::enum_labels,
    loader::{self, col},
    pagination::{ConnectionFields, Cursor, Window},
    relay::NodeType,
    theme,
};

#[derive(InputObject, Default)]
pub struct ActionFilter {
    /// Actions of these communities (global IDs).
    pub community_ids: Option<Vec<ID>>,
    /// Actions of these communities (slugs).
    pub community_slugs: Option<Vec<String>>,
    /// Actions of these plans.
    pub plan_ids: Option<Vec<ID>>,
    /// Actions with any of these themes (global IDs).
    pub theme_ids: Option<Vec<ID>>,
    /// Actions with any of these themes (slugs).
    pub theme_slugs: Option<Vec<String>>,
    /// Actions any of these departments contribute to.
    pub department_ids: Option<Vec<ID>>,
    pub statuses: Option<Vec<ActionStatus>>,
    pub horizon: Option<Horizon>,
    pub seeking_partners: Option<bool>,
    /// Actions of plans whose period includes this year.
    pub year: Option<i32>,
    #[graphql(flatten)]
    pub common: CommonFilter,
}

/// The statuses of the actions `opportunities` lists unless asked for others: not finished
/// (completed or dropped). The webhooks' `opportunity.created` uses the same.
pub const OPPORTUNITY_STATUSES: [ActionStatus; 4] = [
    ActionStatus::Idea,
    ActionStatus::Planned,
    ActionStatus::InProgress,
    ActionStatus::Paused,
];

/// Filters for partners browsing opportunities.
#[derive(InputObject, Default)]
pub struct OpportunityFilter {
    pub community_ids: Option<Vec<ID>>,
    pub community_slugs: Option<Vec<String>>,
    pub theme_ids: Option<Vec<ID>>,
    pub theme_slugs: Option<Vec<String>>,
    pub department_ids: Option<Vec<ID>>,
    pub statuses: Option<Vec<ActionStatus>>,
    pub horizon: Option<Horizon>,
    #[graphql(flatten)]
    pub common: CommonFilter,
}

#[derive(Enum, Copy, Clone, PartialEq, Eq, Default)]
pub enum ActionOrderField {
    #[default]
    Title,
    Progress,
    Potential,
    DueOn,
    CreatedAt,
    UpdatedAt,
}

enum_labels!(ActionOrderField {
    Title => "Titel",
    Progress => "Fremdrift",
    Potential => "Potentiale",
    DueOn => "Frist",
    CreatedAt => "Oprettet",
    UpdatedAt => "Senest ændret",
});

#[derive(InputObject, Default)]
pub struct ActionOrder {
    #[graphql(default)]
    pub field: ActionOrderField,
    #[graphql(default)]
    pub direction: OrderDirection,
}

impl ActionFilter {
    fn apply(self, mut q: sea_orm::Select<action::Entity>) -> Result<sea_orm::Select<action::Entity>> {
        let plan_id = || col(action::Column::PlanId);
        if let Some(communities) = community::id_subquery(self.community_ids, self.community_slugs)? {
            let plans = entity::plan::Entity::find()
                .select_only()
                .column(entity::plan::Column::Id)
                .filter(Expr::col(entity::plan::Column::CommunityId).in_subquery(communities))
                .into_query();
            q = q.filter(plan_id().in_subquery(plans));
        }
        if let Some(ids) = self.plan_ids {
            let ids = crate::common::decode_ids("planIds", &ids, NodeType::Plan)?;
            q = q.filter(plan_id().is_in(ids));
        }
        if let Some(themes) = theme::id_subquery(self.theme_ids, self.theme_slugs)? {
            let with_theme = crate::links::owners_of::<entity::action_theme::Entity>(themes);
            q = q.filter(col(action::Column::Id).in_subquery(with_theme));
        }
        if let Some(ids) = self.department_ids {
            let ids = crate::common::decode_ids("departmentIds", &ids, NodeType::Department)?;
            q = q.filter(col(action::Column::Id).in_subquery(department::action_ids(ids)));
        }
        if let Some(statuses) = self.statuses {
            q = q.filter(one_of::<_, action::ActionStatus>(
                "statuses",
                &statuses,
                action::Column::Status,
            )?);
        }
        if let Some(h) = self.horizon {
            q = q.filter(action::Column::Horizon.eq(action::Horizon::from(h)));
        }
        if let Some(s) = self.seeking_partners {
            q = q.filter(action::Column::SeekingPartners.eq(s));
        }
        if let Some(year) = self.year {
            crate::common::year_bounds(year)?;
            let plans = entity::plan::Entity::find()
                .select_only()
                .column(entity::plan::Column::Id)
                .filter(entity::plan::Column::PeriodFrom.lte(year))
                .filter(entity::plan::Column::PeriodTo.gte(year))
                .into_query();
            q = q.filter(plan_id().in_subquery(plans));
        }
        q = self.common.apply(
            q,
            &[
                action::Column::Title,
                action::Column::Description,
                action::Column::PartnerNeeds,
            ],
            action::Column::UpdatedAt,
        )?;
        Ok(q)
    }
}

/// The columns and directions to order actions by: the field asked for, then the title (so
/// actions due the same day, or at the same progress, stand in the order of their titles),
/// then the ID.
fn order(order: Option<ActionOrder>) -> Vec<(action::Column, sea_orm::sea_query::Order)> {
    let o = order.unwrap_or_default();
    let column = match o.field {
        ActionOrderField::Title => action::Column::Title,
        ActionOrderField::Progress => action::Column::Progress,
        ActionOrderField::Potential => action::Column::Potential,
        ActionOrderField::DueOn => action::Column::DueOn,
        ActionOrderField::CreatedAt => action::Column::CreatedAt,
        ActionOrderField::UpdatedAt => action::Column::UpdatedAt,
    };
    crate::common::then_by(column, o.direction.order(), action::Column::Title)
}

async fn list(
    ctx: &Context<'_>,
    filter: ActionFilter,
    order_by: Option<ActionOrder>,
    window: Window,
) -> Result<Connection<Cursor, Action, ConnectionFields>> {
    let select = filter.apply(visible(&loader::access(ctx)))?;
    loader::top_connection(ctx, select, &order(order_by), &window, Action).await
}

#[derive(Default)]
pub struct ActionQuery;

// Public data may be cached for a minute (see `schema::Query`).
#[Object(cache_control(max_age = 60))]
impl ActionQuery {
    /// Actions of the plans the caller may see.
    #[allow(clippy::too_many_arguments)]
    async fn actions(
        &self,
        ctx: &Context<'_>,
        filter: Option<ActionFilter>,
        order_by: Option<ActionOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<Cursor, Action, ConnectionFields>> {
        let window = Window::parse(first, after, last, before)?;
        list(ctx, filter.unwrap_or_default(), order_by, window).await
    }

    /// Opportunities for partners: actions of adopted plans that seek partners and are not
    /// finished (completed or dropped) unless `statuses` asks for them.
    #[allow(clippy::too_many_arguments)]
    async fn opportunities(
        &self,
        ctx: &Context<'_>,
        filter: Option<OpportunityFilter>,
        order_by: Option<ActionOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<Cursor, Action, ConnectionFields>> {
        let window = Window::parse(first, after, last, before)?;
        let f = filter.unwrap_or_default();
        let statuses = f.statuses.unwrap_or_else(|| OPPORTUNITY_STATUSES.to_vec());
        let adopted = entity::plan::Entity::find()
            .select_only()
            .column(entity::plan::Column::Id)
            .filter(entity::plan::Column::Status.eq(PlanStatus::Adopted))
            .into_query();
        let filter = ActionFilter {
            community_ids: f.community_ids,
            community_slugs: f.community_slugs,
            plan_ids: None,
            theme_ids: f.theme_ids,
            theme_slugs: f.theme_slugs,
            department_ids: f.department_ids,
            statuses: Some(statuses),
            horizon: f.horizon,
            seeking_partners: Some(true),
            year: None,
            common: f.common,
        };
        let select = filter
            .apply(visible(&loader::access(ctx)).filter(col(action::Column::PlanId).in_subquery(adopted)))?;
        loader::top_connection(ctx, select, &order(order_by), &window, Action).await
    }
}
