//! Writing partnerships and their members (staff everywhere, community editors around their
//! communities' plans and actions), and partners' proposals to join an action: a partner
//! expresses interest, the community's editors or staff accept or decline it.
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result, connection::Connection};
use chrono::NaiveDate;
use entity::{
    action, organization, partnership, partnership_member,
    plan::{self, PlanStatus},
};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, QueryFilter, QuerySelect, QueryTrait, Set,
    sea_query::{ExprTrait, Order},
};
use uuid::Uuid;

use super::{ContributionKind, MemberRole, Partnership, PartnershipMember, PartnershipStatus, visible};
use crate::{
    auth::{Require, visible_to_partners, visible_to_writers, visible_to_writers_and_partners},
    common::Date,
    error::ApiError,
    loader::{self, col},
    pagination::{ConnectionFields, Cursor, Window},
    relay::NodeType,
    write::{
        Check, DeletePayload, Failure, MAX_NAME, MAX_TEXT, MaybeRef, Refused, UserErrorCode, Write, change,
        delete_node, mutate, new_row, payload, set_if,
    },
};

/// One member of a partnership: exactly one of `communityId`, `organizationId` and
/// `departmentId`, with what it brings.
#[derive(InputObject)]
pub struct PartnershipMemberInput {
    pub community_id: Option<ID>,
    pub organization_id: Option<ID>,
    pub department_id: Option<ID>,
    #[graphql(default_with = "MemberRole::Partner")]
    pub role: MemberRole,
    #[graphql(default_with = "ContributionKind::Other")]
    pub contribution_kind: ContributionKind,
    /// What the member brings, in words.
    #[graphql(default)]
    pub contribution: String,
    /// Whole Danish kroner, 0 to 2,147,483,647.
    pub amount_dkk: Option<i64>,
    /// 0 to 1,000,000.
    pub volunteer_hours: Option<i32>,
}

#[derive(InputObject)]
pub struct CreatePartnershipInput {
    pub title: String,
    #[graphql(default)]
    pub description: String,
    /// The action the partnership is around; give this or `planId`, not both.
    pub action_id: Option<ID>,
    /// The plan the partnership is around, as a whole.
    pub plan_id: Option<ID>,
    #[graphql(default_with = "PartnershipStatus::Active")]
    pub status: PartnershipStatus,
    pub starts_on: Option<Date>,
    /// Not before `startsOn`.
    pub ends_on: Option<Date>,
    /// Never public: seen by staff and the community's editors.
    #[graphql(default)]
    pub internal_notes: String,
    /// At most 100; all are created with the partnership, or none is.
    #[graphql(default)]
    pub members: Vec<PartnershipMemberInput>,
}

/// Fields left out stay as they are; `null` clears a date.
#[derive(InputObject)]
pub struct UpdatePartnershipInput {
    pub id: ID,
    /// The version the change is based on; a stale one is a CONFLICT.
    pub version: i32,
    pub title: MaybeUndefined<String>,
    pub description: MaybeUndefined<String>,
    /// A partner's pending proposal changes status only by `acceptPartnershipProposal` or
    /// `declinePartnershipProposal`; nothing becomes PROPOSED again.
    pub status: MaybeUndefined<PartnershipStatus>,
    pub starts_on: MaybeUndefined<Date>,
    pub ends_on: MaybeUndefined<Date>,
    pub internal_notes: MaybeUndefined<String>,
}

#[derive(InputObject)]
pub struct DeletePartnershipInput {
    pub id: ID,
    pub version: i32,
}

#[derive(InputObject)]
pub struct AddPartnershipMemberInput {
    pub partnership_id: ID,
    #[graphql(flatten)]
    pub member: PartnershipMemberInput,
}

/// The party of a member does not change; remove the member and add another instead.
#[derive(InputObject)]
pub struct UpdatePartnershipMemberInput {
    pub id: ID,
    pub version: i32,
    pub role: MaybeUndefined<MemberRole>,
    pub contribution_kind: MaybeUndefined<ContributionKind>,
    pub contribution: MaybeUndefined<String>,
    pub amount_dkk: MaybeUndefined<i64>,
    pub volunteer_hours: MaybeUndefined<i32>,
}

#[derive(InputObject)]
pub struct RemovePartnershipMemberInput {
    pub id: ID,
    pub version: i32,
}

/// What a partner offers an action.
#[derive(InputObject)]
pub struct OfferInput {
    pub contribution_kind: ContributionKind,
    /// What the organisation would bring, in words.
    #[graphql(default)]
    pub contribution: String,
    /// Whole Danish kroner, 0 to 2,147,483,647.
    pub amount_dkk: Option<i64>,
    /// 0 to 1,000,000.
    pub volunteer_hours: Option<i32>,
}

#[derive(InputObject)]
pub struct ExpressInterestInput {
    /// An action of a published plan that seeks partners.
    pub action_id: ID,
    /// To the community: who you are and what you would like to do.
    pub message: String,
    pub offer: OfferInput,
}

#[derive(InputObject)]
pub struct AcceptPartnershipProposalInput {
    pub id: ID,
    pub version: i32,
}

#[derive(InputObject)]
pub struct WithdrawPartnershipProposalInput {
    pub id: ID,
    pub version: i32,
}

#[derive(InputObject)]
pub struct DeclinePartnershipProposalInput {
    pub id: ID,
    pub version: i32,
    /// Why, for the municipality and the community's editors: kept in the partnership's
    /// internal notes.
    pub reason: Option<String>,
    /// To the partner: the community's answer, which the partner reads as the partnership's
    /// `declineMessage`.
    pub message: Option<String>,
}

payload!(CreatePartnershipPayload, partnership: Partnership);
payload!(UpdatePartnershipPayload, partnership: Partnership);
payload!(AddPartnershipMemberPayload, partnership_member: PartnershipMember);
payload!(UpdatePartnershipMemberPayload, partnership_member: PartnershipMember);
payload!(ExpressInterestPayload, partnership: Partnership);
payload!(AcceptPartnershipProposalPayload, partnership: Partnership);
payload!(DeclinePartnershipProposalPayload, partnership: Partnership);

/// Who a member is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Party {
    Community(Uuid),
    Organization(Uuid),
    Department(Uuid),
}

impl Party {
    fn field(self) -> &'static str {
        match self {
            Party::Community(_) => "communityId",
            Party::Organization(_) => "organizationId",
            Party::Department(_) => "departmentId",
        }
    }

    /// A user error on `field` unless the party exists.
    async fn check_exists(self, w: &Write, check: &mut Check, field: &str) -> Result<(), ApiError> {
        match self {
            Party::Community(id) => {
                w.check_exists::<entity::community::Entity>(check, field, id, "community")
                    .await
            }
            Party::Organization(id) => {
                w.check_exists::<entity::organization::Entity>(check, field, id, "organisation")
                    .await
            }
            Party::Department(id) => {
                w.check_exists::<entity::department::Entity>(check, field, id, "department")
                    .await
            }
        }
    }

    fn columns(self) -> (Option<Uuid>, Option<Uuid>, Option<Uuid>) {
        match self {
            Party::Community(id) => (Some(id), None, None),
            Party::Organization(id) => (None, Some(id), None),
            Party::Department(id) => (None, None, Some(id)),
        }
    }
}

/// A member's input after its checks.
#[derive(Clone)]
struct Member {
    party: Party,
    role: MemberRole,
    kind: ContributionKind,
    contribution: String,
    amount: Option<i64>,
    hours: Option<i32>,
}

/// Volunteer hours: not negative.
fn hours(check: &mut Check, field: &str, value: Option<i32>) -> Option<Option<i32>> {
    match value {
        Some(v) if !(0..=MAX_HOURS).contains(&v) => {
            check.add(
                field,
                UserErrorCode::OutOfRange,
                format!("must be between 0 and {MAX_HOURS} hours, got {v}"),
            );
            None
        }
        _ => Some(value),
    }
}

/// The most volunteer hours one member may pledge (about 100 people full time for five years).
pub const MAX_HOURS: i32 = 1_000_000;

/// Checks one member's input; `prefix` is its path within the input, e.g. `members.1.`.
fn check_member(check: &mut Check, prefix: &str, m: &PartnershipMemberInput) -> Option<Member> {
    let f = |name: &str| format!("{prefix}{name}");
    let given: Vec<(&str, &ID, NodeType)> = [
        ("communityId", m.community_id.as_ref(), NodeType::Community),
        (
            "organizationId",
            m.organization_id.as_ref(),
            NodeType::Organization,
        ),
        ("departmentId", m.department_id.as_ref(), NodeType::Department),
    ]
    .into_iter()
    .filter_map(|(field, id, type_name)| id.map(|id| (field, id, type_name)))
    .collect();
    let party = match given.as_slice() {
        [] => {
            check.add(
                &f("organizationId"),
                UserErrorCode::Required,
                "give exactly one of communityId, organizationId and departmentId",
            );
            None
        }
        [(field, id, type_name)] => check.id(&f(field), id, *type_name).map(|uuid| match *field {
            "communityId" => Party::Community(uuid),
            "organizationId" => Party::Organization(uuid),
            _ => Party::Department(uuid),
        }),
        [_, (second, ..), ..] => {
            check.add(
                &f(second),
                UserErrorCode::Invalid,
                "a member is one party: give exactly one of communityId, organizationId and departmentId",
            );
            None
        }
    };
    let contribution = check.long_text(&f("contribution"), &m.contribution, MAX_TEXT);
    let amount = check.amount(&f("amountDkk"), m.amount_dkk);
    let hours = hours(check, &f("volunteerHours"), m.volunteer_hours);
    Some(Member {
        party: party?,
        role: m.role,
        kind: m.contribution_kind,
        contribution: contribution?,
        amount: amount?,
        hours: hours?,
    })
}

/// Whether the party of each member exists (a user error at `{prefix}{field}` otherwise).
async fn check_parties(w: &Write, check: &mut Check, members: &[(String, &Member)]) -> Result<(), ApiError> {
    for (prefix, m) in members {
        let field = format!("{prefix}{}", m.party.field());
        m.party.check_exists(w, check, &field).await?;
        if let Party::Community(c) = m.party {
            speaks_for(w, c)?;
        }
    }
    Ok(())
}

/// A community takes part in a partnership, and says what it contributes, through its own
/// editors (or staff): another community's editor may not put words in its mouth.
fn speaks_for(w: &Write, community: Uuid) -> Result<(), ApiError> {
    if w.viewer.may_edit_community(community) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "a community takes part, and says what it contributes, through its own editors or staff: \
             you may name as members only the communities you edit",
        ))
    }
}

/// Whether the viewer edits the community `member` is: its editors may change or leave their
/// own membership of a partnership around another community's action.
fn own_membership(w: &Write, member: &partnership_member::Model) -> bool {
    member
        .community_id
        .is_some_and(|c| w.viewer.may_edit_community(c))
        || partners_membership(w, member)
}

/// Whether `member` is the calling partner organisation's own (a partner changes or leaves
/// only its own memberships, with a key that may act on partnerships).
fn partners_membership(w: &Write, member: &partnership_member::Model) -> bool {
    w.viewer.role == crate::auth::Role::Partner
        && member.organization_id.is_some()
        && member.organization_id == w.viewer.organization_id
        && w.viewer.has_scope(crate::account::ApiKeyScope::ExpressInterest)
}

/// FORBIDDEN, saying why, for a partner's key that may only read and asks to propose or to
/// withdraw a proposal.
fn key_may_propose(w: &Write) -> Result<(), ApiError> {
    if w.viewer.has_scope(crate::account::ApiKeyScope::ExpressInterest) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "this API key may only read (it lacks the scope EXPRESS_INTEREST)",
        ))
    }
}

/// FORBIDDEN, saying why, for a partner's key that may only read and asks to change its own
/// membership.
fn key_may_act(w: &Write, member: &partnership_member::Model) -> Result<(), ApiError> {
    if w.viewer.role == crate::auth::Role::Partner
        && member.organization_id.is_some()
        && member.organization_id == w.viewer.organization_id
        && !w.viewer.has_scope(crate::account::ApiKeyScope::ExpressInterest)
    {
        return Err(ApiError::forbidden(
            "this API key may only read: a partner changes its part in a partnership with a key that has the EXPRESS_INTEREST scope",
        ));
    }
    Ok(())
}

/// What a partner offered in its own proposal is the partner's to change: not the
/// community's editors' nor staff's, once the proposal is accepted either.
fn refuse_partners_offer(
    w: &Write,
    p: &partnership::Model,
    member: &partnership_member::Model,
    change: &partnership_member::ActiveModel,
) -> Result<(), Failure> {
    use sea_orm::ActiveValue::Set;
    // What it brings; its role in the partnership is the community's to arrange.
    // The first field of the offer the change would rewrite, for the error.
    let changed = [
        (
            "contributionKind",
            matches!(&change.contribution_kind, Set(v) if *v != member.contribution_kind),
        ),
        (
            "contribution",
            matches!(&change.contribution, Set(v) if *v != member.contribution),
        ),
        (
            "amountDkk",
            matches!(&change.amount_dkk, Set(v) if *v != member.amount_dkk),
        ),
        (
            "volunteerHours",
            matches!(&change.volunteer_hours, Set(v) if *v != member.volunteer_hours),
        ),
    ]
    .into_iter()
    .find_map(|(field, changes)| changes.then_some(field));
    if let Some(field) = changed
        && member.organization_id.is_some()
        && member.organization_id == p.proposed_by_organization_id
        && !partners_membership(w, member)
    {
        return Err(Refused::one(
            field,
            UserErrorCode::InvalidTransition,
            "this is what a partner offered in its proposal: only the partner changes it (it may also be removed)",
        )
        .into());
    }
    Ok(())
}

async fn insert_member(
    w: &Write,
    partnership: Uuid,
    m: Member,
) -> Result<partnership_member::Model, Failure> {
    let (community, organization, department) = m.party.columns();
    let now = crate::common::now();
    w.create(
        NodeType::PartnershipMember,
        partnership_member::ActiveModel {
            id: Set(Uuid::now_v7()),
            partnership_id: Set(partnership),
            community_id: Set(community),
            organization_id: Set(organization),
            department_id: Set(department),
            role: Set(m.role.into()),
            contribution_kind: Set(m.kind.into()),
            contribution: Set(m.contribution),
            amount_dkk: Set(m.amount),
            volunteer_hours: Set(m.hours),
            ..new_row(now)
        },
    )
    .await
}

/// The plan a partnership is around: its own, or its action's.
async fn plan_of(w: &Write, p: &partnership::Model) -> Result<Uuid, ApiError> {
    match (p.plan_id, p.action_id) {
        (Some(plan), _) => Ok(plan),
        (None, Some(a)) => Ok(w.find::<action::Entity>("action", a).await?.plan_id),
        (None, None) => Err(ApiError::internal(format!(
            "partnership {} has neither an action nor a plan",
            p.id
        ))),
    }
}

/// Whether organisation `org` is a member of an active partnership around action `action`.
async fn in_active_partnership(w: &Write, org: Uuid, action: Uuid) -> Result<bool, ApiError> {
    Ok(partnership_member::Entity::find()
        .filter(partnership_member::Column::OrganizationId.eq(org))
        .filter(
            partnership_member::Column::PartnershipId.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(partnership::Column::Id)
                    .from(partnership::Entity)
                    .and_where(partnership::Column::ActionId.eq(action))
                    .and_where(partnership::Column::Status.eq(partnership::PartnershipStatus::Active))
                    .to_owned(),
            ),
        )
        .one(w.txn())
        .await?
        .is_some())
}

/// FORBIDDEN unless the caller may change `member` of `p`: a member that speaks for itself
/// (its community's editors, the partner with a key that may act) while the plan `p` is around
/// is not archived; others as for the plan's content. Returns whether the caller arranges the
/// partnership (edits the community it is around), which a member alone does not.
async fn may_change_member(
    w: &Write,
    p: &partnership::Model,
    member: &partnership_member::Model,
) -> Result<bool, ApiError> {
    key_may_act(w, member)?;
    let plan = w
        .find::<entity::plan::Entity>("plan", plan_of(w, p).await?)
        .await?;
    if own_membership(w, member) {
        crate::write::require_unarchived(w, &plan)?;
    } else if w.viewer.role == crate::auth::Role::Partner {
        return Err(ApiError::forbidden(
            "a partner changes or leaves only its own organisation's membership",
        ));
    } else {
        crate::write::require_plan_content(w, &plan)?;
    }
    Ok(w.viewer.may_edit_community(plan.community_id))
}

/// FORBIDDEN unless the viewer may change the content of the plan the partnership is around
/// (its community's editors; an archived plan's, staff).
async fn require_partnership(w: &Write, p: &partnership::Model) -> Result<(), ApiError> {
    let plan = plan_of(w, p).await?;
    crate::write::require_plan_content_of(w, plan).await
}

/// `to` not before `from`; the error is on `field`.
fn in_order(check: &mut Check, field: &str, from: Option<NaiveDate>, to: Option<NaiveDate>) {
    if let (Some(f), Some(t)) = (from, to)
        && t < f
    {
        check.add(
            field,
            UserErrorCode::OutOfRange,
            format!("{t} is before the start {f}"),
        );
    }
}

/// A partner's proposal, pending or declined, is the partner's: the community's editors and
/// staff accept or decline it, they do not rewrite, delete or re-staff it (a declined one
/// stays as the partner sent it, on the partner's record). A user error on `field` when `p`
/// is one.
fn refuse_partners_proposal(w: &Write, p: &partnership::Model, field: &str) -> Result<(), Failure> {
    if p.proposed_by_organization_id.is_none() {
        return Ok(());
    }
    let partners_own = w.viewer.role == crate::auth::Role::Partner
        && p.proposed_by_organization_id == w.viewer.organization_id;
    let why = if p.declined_at.is_some() {
        "this is a partner's declined proposal: it stays as the partner sent it (its internal notes may change; staff may delete it)"
    } else if p.status == partnership::PartnershipStatus::Proposed && partners_own {
        "this is your pending proposal: change what you offer with updatePartnershipMember, or withdraw it whole with withdrawPartnershipProposal"
    } else if p.status == partnership::PartnershipStatus::Proposed {
        "this is a partner's pending proposal: accept it with acceptPartnershipProposal or decline it with declinePartnershipProposal; it cannot be changed"
    } else {
        return Ok(());
    };
    Err(Refused::one(field, UserErrorCode::InvalidTransition, why).into())
}

/// The pending proposal `id` at `version`, for accepting or declining it.
async fn pending_proposal(w: &Write, id: Uuid) -> Result<partnership::Model, Failure> {
    let p = w.find::<partnership::Entity>("partnership", id).await?;
    require_partnership(w, &p).await?;
    if p.status != partnership::PartnershipStatus::Proposed {
        return Err(Refused::one(
            "id",
            UserErrorCode::InvalidTransition,
            "only a proposed partnership can be accepted or declined",
        )
        .into());
    }
    Ok(p)
}

/// What a partner is told of its pending proposal when the action's plan is archived.
pub(crate) const DECLINED_WITH_PLAN: &str =
    "Planen, som indsatsen hører til, er arkiveret, så indsatsen søger ikke længere partnere.";

/// What a partner is told of its pending proposal when the action is completed.
pub(crate) const DECLINED_AS_COMPLETED: &str = "Indsatsen er gennemført, så den søger ikke længere partnere.";

/// What a partner is told of its pending proposal when the action is dropped.
pub(crate) const DECLINED_AS_DROPPED: &str = "Indsatsen er opgivet, så den søger ikke længere partnere.";

/// Declines the partners' pending proposals around plan `plan` and its actions, as the plan is
/// archived: nobody could accept them any more (an archived plan's partnerships are the
/// record), and the partner would wait without an answer. Each is declined as
/// `declinePartnershipProposal` declines (the partner is told, by `declineMessage` and the
/// `proposal.declined` webhook).
pub(crate) async fn decline_with_plan(w: &Write, plan: Uuid) -> Result<(), Failure> {
    let actions = sea_orm::sea_query::Query::select()
        .column(action::Column::Id)
        .from(action::Entity)
        .and_where(action::Column::PlanId.eq(plan))
        .to_owned();
    let around = Condition::any()
        .add(partnership::Column::PlanId.eq(plan))
        .add(col(partnership::Column::ActionId).in_subquery(actions));
    decline_pending(
        w,
        around,
        DECLINED_WITH_PLAN,
        "Forslaget blev afslået: planen blev arkiveret",
    )
    .await
}

/// Declines the partners' pending proposals on action `action`, as it is completed
/// (`completed`) or dropped (as [`decline_with_plan`]: it takes no more partners, and nobody
/// could accept them); the partner is told which.
pub(crate) async fn decline_with_action(w: &Write, action: Uuid, completed: bool) -> Result<(), Failure> {
    let (message, note) = if completed {
        (
            DECLINED_AS_COMPLETED,
            "Forslaget blev afslået: indsatsen blev gennemført",
        )
    } else {
        (
            DECLINED_AS_DROPPED,
            "Forslaget blev afslået: indsatsen blev opgivet",
        )
    };
    decline_pending(
        w,
        Condition::all().add(partnership::Column::ActionId.eq(action)),
        message,
        note,
    )
    .await
}

/// Declines the partners' pending proposals `around`, telling each partner `message` and
/// noting `note` in the internal notes.
/// They are locked as they are read: a partner withdrawing one at the same moment either goes
/// first (it is not found here) or waits and finds it declined, and the change that declines
/// them does not fail on a proposal gone under it.
async fn decline_pending(w: &Write, around: Condition, message: &str, note: &str) -> Result<(), Failure> {
    let pending = w
        .locking(
            partnership::Entity::find()
                .filter(partnership::Column::Status.eq(partnership::PartnershipStatus::Proposed))
                .filter(partnership::Column::ProposedByOrganizationId.is_not_null())
                .filter(around),
        )
        .all(w.txn())
        .await?;
    for before in pending {
        let row = partnership::ActiveModel {
            status: Set(partnership::PartnershipStatus::Ended),
            declined_at: Set(Some(crate::common::now())),
            decline_message: Set(Some(message.to_owned())),
            internal_notes: Set(with_line(&before.internal_notes, note)),
            ..Default::default()
        };
        w.update::<partnership::Entity>(NodeType::Partnership, &before, before.version, row)
            .await?;
    }
    Ok(())
}

/// `notes` with `line` added as a paragraph of its own.
fn with_line(notes: &str, line: &str) -> String {
    if notes.trim().is_empty() {
        line.to_owned()
    } else {
        format!("{}\n\n{line}", notes.trim_end())
    }
}

/// Ends the active partnership `p` as its last member leaves it (the member's row still
/// there, in this transaction): nobody is left in it, as when the partner of an accepted
/// proposal, its only member, leaves. Its end becomes today, unless it ended before or has not
/// begun. The partnership is locked first, so two last members leaving at once cannot both
/// see the other still there.
async fn end_if_left_empty(w: &Write, p: &partnership::Model) -> Result<(), Failure> {
    use sea_orm::PaginatorTrait;
    if p.status != partnership::PartnershipStatus::Active {
        return Ok(());
    }
    let Some(p) = w
        .locking(partnership::Entity::find_by_id(p.id))
        .one(w.txn())
        .await?
    else {
        return Ok(());
    };
    let members = partnership_member::Entity::find()
        .filter(partnership_member::Column::PartnershipId.eq(p.id))
        .count(w.txn())
        .await?;
    if members > 1 || p.status != partnership::PartnershipStatus::Active {
        return Ok(());
    }
    let today = crate::common::today();
    let mut row = partnership::ActiveModel {
        status: Set(partnership::PartnershipStatus::Ended),
        ..Default::default()
    };
    if p.ends_on.is_none_or(|end| end > today) && p.starts_on.is_none_or(|start| start <= today) {
        row.ends_on = Set(Some(today));
    }
    w.update::<partnership::Entity>(NodeType::Partnership, &p, p.version, row)
        .await?;
    Ok(())
}

/// What a partnership is around: an action, or a plan as a whole.
#[derive(Clone, Copy)]
enum Around {
    Action(Uuid),
    Plan(Uuid),
}

/// A new partnership after its input checks: the row to insert but for what it is around,
/// and its members with their paths in the input.
#[derive(Clone)]
struct NewPartnership {
    row: partnership::ActiveModel,
    around: Around,
    members: Vec<(String, Member)>,
}

#[derive(Default)]
pub struct PartnershipMutation;

#[Object]
impl PartnershipMutation {
    /// Starts a partnership around an action or a plan, with its members, all at once.
    /// Staff, and editors of the community it is around (who name as members only the
    /// communities they edit: another community takes part through its own editors).
    #[graphql(guard = "Require::Writer", visible = "visible_to_writers")]
    async fn create_partnership(
        &self,
        ctx: &Context<'_>,
        input: CreatePartnershipInput,
    ) -> Result<CreatePartnershipPayload> {
        mutate(
            ctx,
            |check| {
                let title = check.text("title", &input.title, MAX_NAME);
                let description = check.long_text("description", &input.description, MAX_TEXT);
                let action_id = check.opt_id("actionId", input.action_id.as_ref(), NodeType::Action);
                let plan_id = check.opt_id("planId", input.plan_id.as_ref(), NodeType::Plan);
                if input.action_id.is_some() == input.plan_id.is_some() {
                    check.add(
                        "actionId",
                        if input.action_id.is_some() {
                            UserErrorCode::Invalid
                        } else {
                            UserErrorCode::Required
                        },
                        "give exactly one of actionId and planId",
                    );
                }
                let starts_on = check.opt_date("startsOn", input.starts_on.map(|d| d.0));
                let ends_on = check.opt_date("endsOn", input.ends_on.map(|d| d.0));
                if let (Some(s), Some(e)) = (starts_on, ends_on) {
                    check.dates_in_order("endsOn", s, e);
                }
                let notes = check.long_text("internalNotes", &input.internal_notes, MAX_TEXT);
                if input.members.len() > 100 {
                    check.add("members", UserErrorCode::TooLong, "may hold at most 100 members");
                }
                let mut members = Vec::with_capacity(input.members.len());
                for (i, m) in input.members.iter().enumerate() {
                    let prefix = format!("members.{i}.");
                    if let Some(member) = check_member(check, &prefix, m) {
                        if members
                            .iter()
                            .any(|(_, o): &(String, Member)| o.party == member.party)
                        {
                            check.add(
                                &format!("{prefix}{}", member.party.field()),
                                UserErrorCode::Taken,
                                "this party is already a member",
                            );
                        }
                        members.push((prefix, member));
                    }
                }
                let (action_id, plan_id) = (action_id?, plan_id?);
                let around = match (action_id, plan_id) {
                    (Some(a), None) => Around::Action(a),
                    (None, Some(p)) => Around::Plan(p),
                    // Not exactly one: refused above.
                    _ => return None,
                };
                let row = partnership::ActiveModel {
                    title: Set(title?),
                    description: Set(description?),
                    action_id: Set(action_id),
                    plan_id: Set(plan_id),
                    status: Set(input.status.into()),
                    starts_on: Set(starts_on?),
                    ends_on: Set(ends_on?),
                    internal_notes: Set(notes?),
                    proposed_by_organization_id: Set(None),
                    proposal_message: Set(None),
                    declined_at: Set(None),
                    decline_message: Set(None),
                    ..Default::default()
                };
                Some(NewPartnership { row, around, members })
            },
            async |w, NewPartnership { row, around, members }| {
                let mut check = Check::default();
                let plan = match around {
                    Around::Action(a) => {
                        w.check_exists::<entity::action::Entity>(&mut check, "actionId", a, "action")
                            .await?;
                        check.done()?;
                        w.find::<action::Entity>("action", a).await?.plan_id
                    }
                    Around::Plan(p) => {
                        w.check_exists::<entity::plan::Entity>(&mut check, "planId", p, "plan")
                            .await?;
                        check.done()?;
                        p
                    }
                };
                crate::write::require_plan_content_of(w, plan).await?;
                let mut check = Check::default();
                let refs: Vec<(String, &Member)> = members.iter().map(|(p, m)| (p.clone(), m)).collect();
                check_parties(w, &mut check, &refs).await?;
                check.done()?;
                let now = crate::common::now();
                let model = w
                    .create(
                        NodeType::Partnership,
                        partnership::ActiveModel {
                            id: Set(Uuid::now_v7()),
                            created_at: Set(now),
                            updated_at: Set(now),
                            version: Set(1),
                            ..row
                        },
                    )
                    .await?;
                for (_, m) in members {
                    insert_member(w, model.id, m).await?;
                }
                Ok(model)
            },
            |m| CreatePartnershipPayload::ok(Partnership(m)),
        )
        .await
    }

    /// Changes a partnership. Staff, and editors of the community it is around.
    #[graphql(guard = "Require::Writer", visible = "visible_to_writers")]
    async fn update_partnership(
        &self,
        ctx: &Context<'_>,
        input: UpdatePartnershipInput,
    ) -> Result<UpdatePartnershipPayload> {
        mutate(
            ctx,
            |check| {
                let id = check.id("id", &input.id, NodeType::Partnership);
                let title = check.update_text("title", input.title.as_deref(), MAX_NAME);
                let description = check.update_long_text("description", input.description.as_deref(), MAX_TEXT);
                let starts_on = change(&input.starts_on, |d| check.date("startsOn", d.0));
                let ends_on = change(&input.ends_on, |d| check.date("endsOn", d.0));
                let notes = check.update_long_text("internalNotes", input.internal_notes.as_deref(), MAX_TEXT);
                check.not_null(&[("status", input.status.is_null())]);
                let row = partnership::ActiveModel {
                    title: set_if(title?),
                    description: set_if(description?),
                    status: set_if(input.status.value().copied().map(Into::into)),
                    internal_notes: set_if(notes?),
                    ..Default::default()
                };
                Some((id?, row, starts_on?, ends_on?))
            },
            async |w, (id, mut row, starts_on, ends_on)| {
                let before = w.find::<partnership::Entity>("partnership", id).await?;
                require_partnership(w, &before).await?;
                // Only the community's own notes may be added to a partner's proposal.
                let rewrites = [
                    ("title", !input.title.is_undefined()),
                    ("description", !input.description.is_undefined()),
                    ("startsOn", !input.starts_on.is_undefined()),
                    ("endsOn", !input.ends_on.is_undefined()),
                ];
                if let Some((field, _)) = rewrites.iter().find(|(_, given)| *given) {
                    refuse_partners_proposal(w, &before, field)?;
                }
                let mut check = Check::default();
                let field = if ends_on.after(None).is_some() { "endsOn" } else { "startsOn" };
                in_order(
                    &mut check,
                    field,
                    starts_on.after(before.starts_on),
                    ends_on.after(before.ends_on),
                );
                if let Some(&status) = input.status.value() {
                    let status: partnership::PartnershipStatus = status.into();
                    let proposed = partnership::PartnershipStatus::Proposed;
                    if status != before.status {
                        if status == proposed {
                            check.add(
                                "status",
                                UserErrorCode::InvalidTransition,
                                "a partnership cannot become proposed again",
                            );
                        } else if before.declined_at.is_some() {
                            check.add(
                                "status",
                                UserErrorCode::InvalidTransition,
                                "a declined proposal stays declined",
                            );
                        } else if before.status == proposed && before.proposed_by_organization_id.is_some() {
                            check.add(
                                "status",
                                UserErrorCode::InvalidTransition,
                                "accept or decline a partner's proposal with acceptPartnershipProposal or declinePartnershipProposal",
                            );
                        } else if status == partnership::PartnershipStatus::Active
                            && let (Some(org), Some(action)) = (before.proposed_by_organization_id, before.action_id)
                            && in_active_partnership(w, org, action).await?
                        {
                            // One active partnership per partner and action, as on acceptance:
                            // a paused partnership is not taken up again beside the partner's
                            // newer one.
                            check.add(
                                "status",
                                UserErrorCode::Taken,
                                "the partner is already in another active partnership around this action",
                            );
                        }
                    }
                }
                check.done()?;
                starts_on.apply(&mut row.starts_on);
                ends_on.apply(&mut row.ends_on);
                w.update::<partnership::Entity>(NodeType::Partnership, &before, input.version, row)
                    .await
            },
            |m| UpdatePartnershipPayload::ok(Partnership(m)),
        )
        .await
    }

    /// Deletes a partnership with its members. Staff, and editors of the community it is
    /// around; a partner's proposal is not deleted while pending, and only by staff once
    /// declined.
    #[graphql(guard = "Require::Writer", visible = "visible_to_writers")]
    async fn delete_partnership(
        &self,
        ctx: &Context<'_>,
        input: DeletePartnershipInput,
    ) -> Result<DeletePayload> {
        delete_node::<partnership::Entity>(
            ctx,
            NodeType::Partnership,
            "partnership",
            &input.id,
            input.version,
            async |w, before| {
                require_partnership(w, before).await?;
                // Staff clear away a declined proposal (spam, or an action to delete).
                if before.declined_at.is_some() && w.viewer.is_staff() {
                    return Ok(());
                }
                refuse_partners_proposal(w, before, "id")
            },
        )
        .await
    }

    /// Adds a member to a partnership; a party is a member once. Staff, and editors of the
    /// community it is around (a community as member only if they edit it).
    #[graphql(guard = "Require::Writer", visible = "visible_to_writers")]
    async fn add_partnership_member(
        &self,
        ctx: &Context<'_>,
        input: AddPartnershipMemberInput,
    ) -> Result<AddPartnershipMemberPayload> {
        mutate(
            ctx,
            |check| {
                let partnership_id = check.id("partnershipId", &input.partnership_id, NodeType::Partnership);
                let member = check_member(check, "", &input.member);
                Some((partnership_id?, member?))
            },
            async |w, (partnership_id, member)| {
                let mut check = Check::default();
                w.check_exists::<entity::partnership::Entity>(
                    &mut check,
                    "partnershipId",
                    partnership_id,
                    "partnership",
                )
                .await?;
                check.done()?;
                let p = w
                    .find::<partnership::Entity>("partnership", partnership_id)
                    .await?;
                require_partnership(w, &p).await?;
                refuse_partners_proposal(w, &p, "partnershipId")?;
                if let Party::Organization(o) = member.party
                    && Some(o) == p.proposed_by_organization_id
                {
                    return Err(Refused::one(
                        member.party.field(),
                        UserErrorCode::InvalidTransition,
                        "the organisation that proposed this partnership says itself what it brings: others do not add it back",
                    )
                    .into());
                }
                let mut check = Check::default();
                check_parties(w, &mut check, &[(String::new(), &member)]).await?;
                check.done()?;
                let taken = partnership_member::Entity::find()
                    .filter(partnership_member::Column::PartnershipId.eq(partnership_id))
                    .filter(match member.party {
                        Party::Community(c) => partnership_member::Column::CommunityId.eq(c),
                        Party::Organization(o) => partnership_member::Column::OrganizationId.eq(o),
                        Party::Department(d) => partnership_member::Column::DepartmentId.eq(d),
                    })
                    .one(w.txn())
                    .await?
                    .is_some();
                if taken {
                    return Err(Refused::one(
                        member.party.field(),
                        UserErrorCode::Taken,
                        "this party is already a member of the partnership",
                    )
                    .into());
                }
                insert_member(w, partnership_id, member).await
            },
            |m| AddPartnershipMemberPayload::ok(PartnershipMember(m)),
        )
        .await
    }

    /// Changes what a member brings. Staff; editors of the community it is around, for
    /// members other than communities they do not edit; the editors of a community that is
    /// the member, and a partner organisation that is (what it brings is its to say; its role
    /// is arranged by the community the partnership is around). What a partner offered in its
    /// own proposal only the partner changes.
    #[graphql(
        guard = "Require::WriterOrPartner",
        visible = "visible_to_writers_and_partners"
    )]
    async fn update_partnership_member(
        &self,
        ctx: &Context<'_>,
        input: UpdatePartnershipMemberInput,
    ) -> Result<UpdatePartnershipMemberPayload> {
        mutate(
            ctx,
            |check| {
                let id = check.id("id", &input.id, NodeType::PartnershipMember);
                let contribution =
                    check.update_long_text("contribution", input.contribution.as_deref(), MAX_TEXT);
                let amount = change(&input.amount_dkk, |a| {
                    check.amount("amountDkk", Some(*a)).flatten()
                });
                let hours = change(&input.volunteer_hours, |h| {
                    hours(check, "volunteerHours", Some(*h)).flatten()
                });
                check.not_null(&[
                    ("role", input.role.is_null()),
                    ("contributionKind", input.contribution_kind.is_null()),
                ]);
                let role = input
                    .role
                    .value()
                    .copied()
                    .map(partnership_member::MemberRole::from);
                let mut row = partnership_member::ActiveModel {
                    role: set_if(input.role.value().copied().map(Into::into)),
                    contribution_kind: set_if(input.contribution_kind.value().copied().map(Into::into)),
                    contribution: set_if(contribution?),
                    ..Default::default()
                };
                amount?.apply(&mut row.amount_dkk);
                hours?.apply(&mut row.volunteer_hours);
                Some((id?, row, role))
            },
            async |w, (id, row, role)| {
                let before = w
                    .find::<partnership_member::Entity>("partnership member", id)
                    .await?;
                let p = w
                    .find::<partnership::Entity>("partnership", before.partnership_id)
                    .await?;
                let arranges = may_change_member(w, &p, &before).await?;
                if !own_membership(w, &before)
                    && let Some(c) = before.community_id
                {
                    speaks_for(w, c)?;
                }
                // A member that speaks for itself here but does not arrange the partnership
                // changes what it brings, not its role.
                if !arranges && role.is_some_and(|r| r != before.role) {
                    return Err(Refused::one(
                        "role",
                        UserErrorCode::InvalidTransition,
                        "a member changes what it brings, not its role in the partnership: the community it is around arranges that",
                    )
                    .into());
                }
                // A pending proposal is the partner's: it changes its own offer before the
                // community answers (others accept or decline it); a declined one stays.
                let own_pending = p.status == partnership::PartnershipStatus::Proposed
                    && p.declined_at.is_none()
                    && partners_membership(w, &before);
                if !own_pending {
                    refuse_partners_proposal(w, &p, "id")?;
                }
                refuse_partners_offer(w, &p, &before, &row)?;
                w.update::<partnership_member::Entity>(
                    NodeType::PartnershipMember,
                    &before,
                    input.version,
                    row,
                )
                .await
            },
            |m| UpdatePartnershipMemberPayload::ok(PartnershipMember(m)),
        )
        .await
    }

    /// Removes a member from a partnership. Staff, editors of the community it is around, and
    /// the editors of a community or the partner organisation that is the member (leaving it).
    /// An active partnership whose last member leaves by itself has ended: ENDED, its end
    /// today (those who arrange it may empty it to staff it anew).
    #[graphql(
        guard = "Require::WriterOrPartner",
        visible = "visible_to_writers_and_partners"
    )]
    async fn remove_partnership_member(
        &self,
        ctx: &Context<'_>,
        input: RemovePartnershipMemberInput,
    ) -> Result<DeletePayload> {
        delete_node::<partnership_member::Entity>(
            ctx,
            NodeType::PartnershipMember,
            "partnership member",
            &input.id,
            input.version,
            async |w, before| {
                let p = w
                    .find::<partnership::Entity>("partnership", before.partnership_id)
                    .await?;
                let arranges = may_change_member(w, &p, before).await?;
                refuse_partners_proposal(w, &p, "id")?;
                if !arranges && own_membership(w, before) {
                    end_if_left_empty(w, &p).await?;
                }
                Ok(())
            },
        )
        .await
    }

    /// A partner proposes to join an action of an adopted plan that seeks partners: a
    /// PROPOSED partnership with the partner's organisation as a member, seen by the partner,
    /// the community's editors and staff until they accept or decline it. One pending
    /// proposal per organisation and action, and none from an organisation already in an
    /// active partnership around the action (`TAKEN`). Partners (an API key) only.
    #[graphql(guard = "Require::Partner", visible = "visible_to_partners")]
    async fn express_interest(
        &self,
        ctx: &Context<'_>,
        input: ExpressInterestInput,
    ) -> Result<ExpressInterestPayload> {
        let offer = &input.offer;
        mutate(
            ctx,
            |check| {
                let action_id = check.id("actionId", &input.action_id, NodeType::Action);
                let message = check.text("message", &input.message, MAX_TEXT);
                let contribution = check.long_text("offer.contribution", &offer.contribution, MAX_TEXT);
                let amount = check.amount("offer.amountDkk", offer.amount_dkk);
                let hours = hours(check, "offer.volunteerHours", offer.volunteer_hours);
                Some((action_id?, message?, contribution?, amount?, hours?))
            },
            async |w, (action_id, message, contribution, amount, hours)| {
                let org_id = w.viewer.organization_id.ok_or_else(|| {
                    ApiError::forbidden("only a partner organisation's API key may express interest")
                })?;
                key_may_propose(w)?;
                // Only actions the partner can see; of those, only actions of published plans
                // take proposals (a plan in consultation may still change).
                let action = action::Entity::find_by_id(action_id).one(w.txn()).await?;
                let status = match &action {
                    Some(a) => plan::Entity::find_by_id(a.plan_id)
                        .one(w.txn())
                        .await?
                        .map(|p| p.status),
                    None => None,
                };
                // Seen, but not in force: in consultation (it may still change), or archived (its
                // time is over). `opportunities` lists neither.
                let not_in_force = match status {
                    Some(PlanStatus::Consultation) => Some("in consultation"),
                    Some(PlanStatus::Archived) => Some("archived"),
                    _ => None,
                };
                if let Some(state) = not_in_force {
                    return Err(Refused::one(
                        "actionId",
                        UserErrorCode::Invalid,
                        format!("the action's plan is {state}; partners join actions of adopted plans"),
                    )
                    .into());
                }
                let published = status.is_some_and(|s| crate::access::PUBLISHED_PLANS.contains(&s));
                let Some(action) = action.filter(|_| published) else {
                    return Err(
                        Refused::one("actionId", UserErrorCode::NotFound, "no action with this ID").into(),
                    );
                };
                if !action.seeking_partners {
                    return Err(Refused::one(
                        "actionId",
                        UserErrorCode::Invalid,
                        "the action does not seek partners",
                    )
                    .into());
                }
                // A finished action is no opportunity (see `opportunities`), whatever its flag.
                if !crate::action::OPPORTUNITY_STATUSES.contains(&action.status.into()) {
                    return Err(Refused::one(
                        "actionId",
                        UserErrorCode::Invalid,
                        format!(
                            "the action is {:?} and takes no more partners",
                            crate::action::ActionStatus::from(action.status)
                        ),
                    )
                    .into());
                }
                let pending = partnership::Entity::find()
                    .filter(partnership::Column::ActionId.eq(action_id))
                    .filter(partnership::Column::ProposedByOrganizationId.eq(org_id))
                    .filter(partnership::Column::Status.eq(partnership::PartnershipStatus::Proposed))
                    .one(w.txn())
                    .await?;
                if pending.is_some() {
                    return Err(Refused::one(
                        "actionId",
                        UserErrorCode::Taken,
                        "your organisation already has a pending proposal for this action",
                    )
                    .into());
                }
                // Already in an active partnership around the action: nothing to propose.
                if in_active_partnership(w, org_id, action_id).await? {
                    return Err(Refused::one(
                        "actionId",
                        UserErrorCode::Taken,
                        "your organisation is already a partner in an active partnership around this action",
                    )
                    .into());
                }
                let org = w.find::<organization::Entity>("organisation", org_id).await?;
                let title: String = format!("Interesse fra {}", org.name)
                    .chars()
                    .take(MAX_NAME)
                    .collect();
                let now = crate::common::now();
                let model = w
                    .create(
                        NodeType::Partnership,
                        partnership::ActiveModel {
                            id: Set(Uuid::now_v7()),
                            title: Set(title),
                            description: Set(String::new()),
                            action_id: Set(Some(action_id)),
                            plan_id: Set(None),
                            status: Set(partnership::PartnershipStatus::Proposed),
                            starts_on: Set(None),
                            ends_on: Set(None),
                            internal_notes: Set(String::new()),
                            proposed_by_organization_id: Set(Some(org_id)),
                            proposal_message: Set(Some(message)),
                            declined_at: Set(None),
                            decline_message: Set(None),
                            ..new_row(now)
                        },
                    )
                    .await?;
                insert_member(
                    w,
                    model.id,
                    Member {
                        party: Party::Organization(org_id),
                        role: MemberRole::Partner,
                        kind: offer.contribution_kind,
                        contribution,
                        amount,
                        hours,
                    },
                )
                .await?;
                Ok(model)
            },
            |m| ExpressInterestPayload::ok(Partnership(m)),
        )
        .await
    }

    /// Accepts a partner's proposal: the partnership becomes ACTIVE, from today when it gave
    /// no start (so what it offers counts from the day it was accepted). Staff, and editors of
    /// the action's community; only PROPOSED partnerships, not on an action completed or
    /// dropped, and not while the partner is in another active partnership around the action
    /// (`TAKEN`).
    #[graphql(guard = "Require::Writer", visible = "visible_to_writers")]
    async fn accept_partnership_proposal(
        &self,
        ctx: &Context<'_>,
        input: AcceptPartnershipProposalInput,
    ) -> Result<AcceptPartnershipProposalPayload> {
        mutate(
            ctx,
            |check| check.id("id", &input.id, NodeType::Partnership),
            async |w, id| {
                let before = pending_proposal(w, id).await?;
                // A finished action takes no more partners (its pending proposals were
                // declined as it finished; this holds for any left from before that rule).
                if let Some(action) = before.action_id {
                    let status = w.find::<action::Entity>("action", action).await?.status;
                    if !crate::action::OPPORTUNITY_STATUSES.contains(&status.into()) {
                        return Err(Refused::one(
                            "id",
                            UserErrorCode::InvalidTransition,
                            format!(
                                "the action is {:?} and takes no more partners: decline the proposal",
                                crate::action::ActionStatus::from(status)
                            ),
                        )
                        .into());
                    }
                }
                // One active partnership per partner and action (as `expressInterest` holds):
                // a partner the community has joined to the action since it proposed is there.
                if let (Some(org), Some(action)) = (before.proposed_by_organization_id, before.action_id)
                    && in_active_partnership(w, org, action).await?
                {
                    return Err(Refused::one(
                        "id",
                        UserErrorCode::Taken,
                        "the partner is already in an active partnership around this action: decline the proposal, or add what it offers there",
                    )
                    .into());
                }
                let mut row = partnership::ActiveModel {
                    status: Set(partnership::PartnershipStatus::Active),
                    ..Default::default()
                };
                // What was offered counts from when it was accepted (a partnership without a
                // period would count in every year, back to before it was proposed).
                if before.starts_on.is_none() {
                    let today = crate::common::today();
                    row.starts_on = Set(Some(
                        before.ends_on.map_or(today, |end| std::cmp::min(end, today)),
                    ));
                }
                w.update::<partnership::Entity>(NodeType::Partnership, &before, input.version, row)
                    .await
            },
            |m| AcceptPartnershipProposalPayload::ok(Partnership(m)),
        )
        .await
    }

    /// Declines a proposal: the partnership becomes ENDED; the reason goes into its internal
    /// notes, the message to the partner into its `declineMessage`. A partner's proposal stays
    /// private (seen by the partner, the community's editors and staff); one the community
    /// made itself stays as public as it was. Staff, and editors of the action's community;
    /// only PROPOSED partnerships.
    #[graphql(guard = "Require::Writer", visible = "visible_to_writers")]
    async fn decline_partnership_proposal(
        &self,
        ctx: &Context<'_>,
        input: DeclinePartnershipProposalInput,
    ) -> Result<DeclinePartnershipProposalPayload> {
        mutate(
            ctx,
            |check| {
                let id = check.id("id", &input.id, NodeType::Partnership);
                let reason = check.opt_text("reason", input.reason.as_deref(), MAX_TEXT);
                let message = check.opt_text("message", input.message.as_deref(), MAX_TEXT);
                Some((id?, reason?, message?))
            },
            async |w, (id, reason, message)| {
                let before = pending_proposal(w, id).await?;
                let mut row = partnership::ActiveModel {
                    status: Set(partnership::PartnershipStatus::Ended),
                    declined_at: Set(Some(crate::common::now())),
                    decline_message: Set(message),
                    ..Default::default()
                };
                if let Some(reason) = reason {
                    row.internal_notes = Set(with_line(
                        &before.internal_notes,
                        &format!("Forslaget blev afslået: {reason}"),
                    ));
                }
                w.update::<partnership::Entity>(NodeType::Partnership, &before, input.version, row)
                    .await
            },
            |m| DeclinePartnershipProposalPayload::ok(Partnership(m)),
        )
        .await
    }

    /// A partner withdraws its own proposal while it is pending: the proposal and what it
    /// offered are deleted (the audit log keeps the record), and the partner may propose
    /// again later. Once the community has answered, an accepted partner leaves with
    /// `removePartnershipMember`; a declined proposal stays as it was. Partners (an API key with
    /// the EXPRESS_INTEREST scope) only, each its own proposals.
    #[graphql(guard = "Require::Partner", visible = "visible_to_partners")]
    async fn withdraw_partnership_proposal(
        &self,
        ctx: &Context<'_>,
        input: WithdrawPartnershipProposalInput,
    ) -> Result<DeletePayload> {
        delete_node::<partnership::Entity>(
            ctx,
            NodeType::Partnership,
            "partnership",
            &input.id,
            input.version,
            async |w, before| {
                if w.viewer.organization_id.is_none()
                    || before.proposed_by_organization_id != w.viewer.organization_id
                {
                    return Err(ApiError::forbidden(
                        "only the partner that proposed a partnership withdraws the proposal",
                    )
                    .into());
                }
                key_may_propose(w)?;
                if before.status != partnership::PartnershipStatus::Proposed || before.declined_at.is_some() {
                    return Err(Refused::one(
                        "id",
                        UserErrorCode::InvalidTransition,
                        "only a pending proposal can be withdrawn: the community has answered it (a partner in an active partnership leaves it with removePartnershipMember)",
                    )
                    .into());
                }
                Ok(())
            },
        )
        .await
    }
}

#[derive(Default)]
pub struct PartnerQuery;

#[Object]
impl PartnerQuery {
    /// The partnerships the caller's organisation is a member of or has proposed, whatever
    /// their status, newest first. Partners (an API key) only.
    #[graphql(guard = "Require::Partner", visible = "visible_to_partners")]
    async fn my_partnerships(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<Cursor, Partnership, ConnectionFields>> {
        let window = Window::parse(first, after, last, before)?;
        let Some(org) = crate::auth::viewer(ctx).organization_id else {
            return Err(ApiError::forbidden("only a partner organisation's API key has partnerships").into());
        };
        let with_member = partnership_member::Entity::find()
            .select_only()
            .column(partnership_member::Column::PartnershipId)
            .filter(partnership_member::Column::OrganizationId.eq(org))
            .into_query();
        let q = visible(&loader::access(ctx)).filter(
            Condition::any()
                .add(col(partnership::Column::Id).in_subquery(with_member))
                .add(partnership::Column::ProposedByOrganizationId.eq(org)),
        );
        loader::top_connection(
            ctx,
            q,
            &[
                (partnership::Column::CreatedAt, Order::Desc),
                (partnership::Column::Id, Order::Desc),
            ],
            &window,
            Partnership,
        )
        .await
    }
}
