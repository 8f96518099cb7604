//! Who may see what, as SQL sub-selects that every list and lookup applies, so no path can
//! reach around them. Anonymous callers and partners see public plans (in consultation,
//! adopted or archived) and what hangs under them, and public contacts only; community
//! editors also see their own communities' drafts and contacts; staff see everything. A
//! partner's proposal to join an action is seen by the partner, the community's editors and
//! staff. Responses to a consultation are public once published; pending, rejected and
//! hidden ones are seen by the moderators only (the community's editors and staff).
use std::sync::Arc;

use entity::{
    action,
    consultation_response::{self, ResponseStatus},
    contact,
    partnership::{self, PartnershipStatus},
    plan::{self, PlanStatus},
};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, QueryFilter, QuerySelect, QueryTrait,
    sea_query::{Expr, ExprTrait, SelectStatement, SimpleExpr},
};
use uuid::Uuid;

/// The plans everyone may see: in consultation (open to the public's responses), adopted and
/// archived. Drafts are seen by their community's editors and staff only.
pub const PUBLIC_PLANS: [PlanStatus; 3] = [
    PlanStatus::Consultation,
    PlanStatus::Adopted,
    PlanStatus::Archived,
];

/// The plans in force or once in force: what the annual review counts, and where partners may
/// propose to join actions.
pub const PUBLISHED_PLANS: [PlanStatus; 2] = [PlanStatus::Adopted, PlanStatus::Archived];

/// Which rows beyond the public ones a caller may see.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    Nothing,
    /// Those of these communities.
    Communities(Arc<[Uuid]>),
    Everything,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Access {
    /// Draft plans, and everything under them; and the responses to consultations that are
    /// not published (the caller moderates them).
    pub plans: Scope,
    /// Contacts not marked public.
    pub contacts: Scope,
    /// The organisation whose own pending proposals the caller sees (a partner).
    pub proposals_of: Option<Uuid>,
}

impl Default for Access {
    fn default() -> Self {
        Access::anonymous()
    }
}

fn community_plans(ids: &[Uuid]) -> SelectStatement {
    plan::Entity::find()
        .select_only()
        .column(plan::Column::Id)
        .filter(plan::Column::CommunityId.is_in(ids.iter().copied()))
        .into_query()
}

fn actions_of(plans: SelectStatement) -> SelectStatement {
    action::Entity::find()
        .select_only()
        .column(action::Column::Id)
        .filter(Expr::col(action::Column::PlanId).in_subquery(plans))
        .into_query()
}

impl Access {
    pub fn anonymous() -> Self {
        Access {
            plans: Scope::Nothing,
            contacts: Scope::Nothing,
            proposals_of: None,
        }
    }

    pub fn everything() -> Self {
        Access {
            plans: Scope::Everything,
            contacts: Scope::Everything,
            proposals_of: None,
        }
    }

    /// IDs of the plans this caller may see, or None when every plan is visible.
    pub fn visible_plans(&self) -> Option<SelectStatement> {
        let published = plan::Column::Status.is_in(PUBLIC_PLANS);
        let condition = match &self.plans {
            Scope::Everything => return None,
            Scope::Nothing => Condition::all().add(published),
            Scope::Communities(ids) => Condition::any()
                .add(published)
                .add(plan::Column::CommunityId.is_in(ids.iter().copied())),
        };
        Some(
            plan::Entity::find()
                .select_only()
                .column(plan::Column::Id)
                .filter(condition)
                .into_query(),
        )
    }

    /// IDs of the actions this caller may see (those of visible plans), or None for all.
    pub fn visible_actions(&self) -> Option<SelectStatement> {
        self.visible_plans().map(actions_of)
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

    /// A condition on the `consultation_response` table: responses to visible plans, the
    /// published ones for everyone, the others for their moderators only.
    pub fn response_condition(&self) -> Condition {
        let plan_visible = self.plan_condition(Expr::col((
            consultation_response::Entity,
            consultation_response::Column::PlanId,
        )));
        let published = consultation_response::Column::Status.eq(ResponseStatus::Published);
        match &self.plans {
            Scope::Everything => Condition::all(),
            Scope::Nothing => Condition::all().add(plan_visible).add(published),
            Scope::Communities(ids) => Condition::all().add(plan_visible).add(
                Condition::any().add(published).add(
                    Expr::col((
                        consultation_response::Entity,
                        consultation_response::Column::PlanId,
                    ))
                    .in_subquery(community_plans(ids)),
                ),
            ),
        }
    }

    /// A condition on the `contact` table: which contacts' personal data may be seen.
    pub fn contact_condition(&self) -> Condition {
        let public = contact::Column::IsPublic.eq(true);
        match &self.contacts {
            Scope::Everything => Condition::all(),
            Scope::Nothing => Condition::all().add(public),
            Scope::Communities(ids) => Condition::any()
                .add(public)
                .add(contact::Column::CommunityId.is_in(ids.iter().copied())),
        }
    }

    /// A condition on the `partnership` table: pending and declined proposals from partners
    /// are seen only by the proposer, the community's editors and staff.
    pub fn proposal_condition(&self) -> Condition {
        if self.plans == Scope::Everything {
            return Condition::all();
        }
        let mut c = Condition::any()
            .add(
                Condition::all()
                    .add(partnership::Column::Status.ne(PartnershipStatus::Proposed))
                    .add(partnership::Column::DeclinedAt.is_null()),
            )
            .add(partnership::Column::ProposedByOrganizationId.is_null());
        if let Some(org) = self.proposals_of {
            c = c.add(partnership::Column::ProposedByOrganizationId.eq(org));
        }
        if let Scope::Communities(ids) = &self.plans {
            c = c
                .add(
                    Expr::col((partnership::Entity, partnership::Column::PlanId))
                        .in_subquery(community_plans(ids)),
                )
                .add(
                    Expr::col((partnership::Entity, partnership::Column::ActionId))
                        .in_subquery(actions_of(community_plans(ids))),
                );
        }
        c
    }
}
