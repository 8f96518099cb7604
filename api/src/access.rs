//! Who may see what. Until accounts exist every caller is anonymous: published plans (adopted
//! or archived) and what hangs under them, and public contacts only. The rules live here, as
//! SQL sub-selects that every list and lookup applies, so no path can reach around them.
use entity::plan::PlanStatus;
use sea_orm::{
    ColumnTrait, EntityTrait, QueryFilter, QuerySelect, QueryTrait,
    sea_query::{Expr, ExprTrait, SelectStatement, SimpleExpr},
};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Access {
    /// Draft and consultation plans, and everything under them.
    pub unpublished_plans: bool,
    /// Contacts not marked public.
    pub private_contacts: bool,
}

impl Access {
    pub fn anonymous() -> Self {
        Access::default()
    }

    /// IDs of the plans this caller may see, or None when every plan is visible.
    pub fn visible_plans(&self) -> Option<SelectStatement> {
        if self.unpublished_plans {
            return None;
        }
        Some(
            entity::plan::Entity::find()
                .select_only()
                .column(entity::plan::Column::Id)
                .filter(entity::plan::Column::Status.is_in([PlanStatus::Adopted, PlanStatus::Archived]))
                .into_query(),
        )
    }

    /// IDs of the actions this caller may see (those of visible plans), or None for all.
    pub fn visible_actions(&self) -> Option<SelectStatement> {
        self.visible_plans().map(|plans| {
            entity::action::Entity::find()
                .select_only()
                .column(entity::action::Column::Id)
                .filter(Expr::col(entity::action::Column::PlanId).in_subquery(plans))
                .into_query()
        })
    }

    /// A condition that `column` (a plan ID) is visible; true when all are.
    pub fn plan_condition(&self, column: SimpleExpr) -> SimpleExpr {
        match self.visible_plans() {
            Some(q) => column.in_subquery(q),
            None => Expr::value(true),
        }
    }

    /// A condition that `column` (an action ID) is visible; true when all are.
    pub fn action_condition(&self, column: SimpleExpr) -> SimpleExpr {
        match self.visible_actions() {
            Some(q) => column.in_subquery(q),
            None => Expr::value(true),
        }
    }
}
