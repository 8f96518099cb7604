//! Writing plans: the community's editors write drafts and send them to consultation; staff
//! adopt and archive them. The organisations involved in a plan are written here too.
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use entity::{community, consultation_response, plan, plan_involvement, plan_theme};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Set};
use uuid::Uuid;

use super::{InvolvementRole, Plan, PlanInvolvement, PlanStatus};
use crate::{
    auth::{Require, visible_to_writers},
    common::Date,
    error::ApiError,
    links,
    relay::NodeType,
    write::{
        Check, DeletePayload, Failure, MAX_NAME, MAX_TEXT, MaybeRef, Reference, Refused, UserErrorCode,
        Write, delete_node, mutate, new_row, payload, reference, set_if,
    },
};

#[derive(InputObject)]
pub struct CreatePlanInput {
    pub community_id: ID,
    pub title: String,
    #[graphql(default)]
    pub summary: String,
    #[graphql(default)]
    pub vision: String,
    /// First year the plan covers (1900–2200).
    pub period_from: i32,
    /// Last year the plan covers, not before `periodFrom`.
    pub period_to: i32,
    #[graphql(default)]
    pub theme_ids: Vec<ID>,
    /// Never public.
    #[graphql(default)]
    pub internal_notes: String,
}

/// Fields left out stay as they are. The community of a plan does not change.
#[derive(InputObject)]
pub struct UpdatePlanInput {
    pub id: ID,
    /// The version the change is based on; a stale one is a CONFLICT.
    pub version: i32,
    pub title: MaybeUndefined<String>,
    pub summary: MaybeUndefined<String>,
    pub vision: MaybeUndefined<String>,
    pub period_from: MaybeUndefined<i32>,
    pub period_to: MaybeUndefined<i32>,
    /// Replaces the plan's themes.
    pub theme_ids: MaybeUndefined<Vec<ID>>,
    pub internal_notes: MaybeUndefined<String>,
    /// The first day of the consultation, while the plan is in consultation; the period must
    /// stay in order and may not leave out a response already received. A draft's period is
    /// given when it is sent to consultation (`changePlanStatus`); once the plan is adopted or
    /// archived, the period is part of its record and no longer changes.
    pub consultation_opens_on: MaybeUndefined<Date>,
    /// The last day of the consultation, not before its first, nor before today when it is
    /// moved (nor before a response already received).
    pub consultation_closes_on: MaybeUndefined<Date>,
}

#[derive(InputObject)]
pub struct DeletePlanInput {
    pub id: ID,
    pub version: i32,
}

#[derive(InputObject)]
pub struct ChangePlanStatusInput {
    pub id: ID,
    pub version: i32,
    pub status: PlanStatus,
    /// Only with `ADOPTED`: not in the future, nor before the plan's consultation opened or
    /// its last response; today (in Danish time) when left out. A restored plan keeps the day
    /// it was adopted on.
    pub adopted_on: Option<Date>,
    /// Only with `CONSULTATION`: the first day the public may respond; today (in Danish time)
    /// when left out.
    pub consultation_opens_on: Option<Date>,
    /// Only with `CONSULTATION`: the last day the public may respond, not before the first nor
    /// before today; 28 days after the first when left out.
    pub consultation_closes_on: Option<Date>,
}

#[derive(InputObject)]
pub struct AddPlanInvolvementInput {
    pub plan_id: ID,
    pub organization_id: ID,
    pub role: InvolvementRole,
    #[graphql(default)]
    pub description: String,
}

/// Fields left out stay as they are. To involve another organisation, add a new involvement.
#[derive(InputObject)]
pub struct UpdatePlanInvolvementInput {
    pub id: ID,
    pub version: i32,
    pub role: MaybeUndefined<InvolvementRole>,
    pub description: MaybeUndefined<String>,
}

#[derive(InputObject)]
pub struct RemovePlanInvolvementInput {
    pub id: ID,
    pub version: i32,
}

payload!(CreatePlanPayload, plan: Plan);
payload!(UpdatePlanPayload, plan: Plan);
payload!(
    /// The plan after its change of status, and the plans the change archived.
    ChangePlanStatusPayload,
    plan: Plan;
    /// The community's other adopted plans that this change archived: a plan adopted (or
    /// restored) once its period has begun replaces those that began before it; one adopted
    /// ahead of its period replaces at once only a plan for the same period (the others when
    /// its first year begins). Empty for any other change.
    archived_plans: Vec<Plan>,
);
payload!(AddPlanInvolvementPayload, plan_involvement: PlanInvolvement);
payload!(UpdatePlanInvolvementPayload, plan_involvement: PlanInvolvement);

/// Rows that only refer to a plan and keep it from being deleted. Its themes and involvement
/// belong to it and go with it.
const REFERENCES: &[Reference] = &[
    reference!(action::PlanId, "actions"),
    reference!(partnership::PlanId, "partnerships"),
    reference!(engagement_event::PlanId, "engagement events"),
    reference!(consultation_response::PlanId, "consultation responses"),
];

/// How long a consultation lasts when its last day is not given.
const CONSULTATION_DAYS: u64 = 28;
/// The longest a consultation may run: the names and addresses of those who responded are
/// kept until some time after it closes (`CONSULTATION_RETENTION_DAYS`), so a closing day
/// years off would keep them that long.
pub const MAX_CONSULTATION_DAYS: i64 = 365;

/// What is wrong when the consultation `opens`–`closes` runs longer than
/// [`MAX_CONSULTATION_DAYS`] (an `OUT_OF_RANGE` on the day given).
fn too_long_consultation(opens: chrono::NaiveDate, closes: chrono::NaiveDate) -> Option<String> {
    let days = (closes - opens).num_days();
    (days > MAX_CONSULTATION_DAYS).then(|| {
        format!(
            "the consultation {opens}–{closes} would run {days} days; a consultation runs at most {MAX_CONSULTATION_DAYS} days"
        )
    })
}

/// A user error unless the consultation period of `plan` may become `opens`–`closes` (each
/// `None` when it stays): once the plan is adopted or archived the period is part of its
/// record; and it may never leave out a response already received, since the responses'
/// personal data is kept for a time counted from the last day (see *Personal data*).
/// Why a consultation may not close before today: it would take no responses.
fn closed_before_today(closes: NaiveDate) -> String {
    format!("a consultation that closed on {closes} would take no responses: it closes today or later")
}

async fn consultation_period_may_change(
    w: &Write,
    plan: &plan::Model,
    opens: Option<NaiveDate>,
    closes: Option<NaiveDate>,
) -> Result<(), Failure> {
    let field = if opens.is_some() {
        "consultationOpensOn"
    } else {
        "consultationClosesOn"
    };
    if matches!(
        plan.status,
        plan::PlanStatus::Adopted | plan::PlanStatus::Archived
    ) {
        return Err(Refused::one(
            field,
            UserErrorCode::InvalidTransition,
            "the consultation is over: its period is part of the plan's record and can no longer change",
        )
        .into());
    }
    // A draft's period is given when it goes into consultation; one it had before is its
    // record (it is what lets staff archive the draft).
    if plan.status == plan::PlanStatus::Draft {
        return Err(Refused::one(
            field,
            UserErrorCode::InvalidTransition,
            "a draft is not in consultation: give the period when it is sent to consultation (changePlanStatus)",
        )
        .into());
    }
    period_holds_responses(w, plan.id, opens, closes).await
}

/// The days (in Denmark) of the first and the last response a plan holds; none without any.
async fn response_days(w: &Write, plan_id: Uuid) -> Result<Option<(NaiveDate, NaiveDate)>, Failure> {
    let (first, last): (Option<DateTime<Utc>>, Option<DateTime<Utc>>) = consultation_response::Entity::find()
        .select_only()
        .column_as(consultation_response::Column::CreatedAt.min(), "first")
        .column_as(consultation_response::Column::CreatedAt.max(), "last")
        .filter(consultation_response::Column::PlanId.eq(plan_id))
        .into_tuple()
        .one(w.txn())
        .await?
        .unwrap_or_default();
    let day = |t: DateTime<Utc>| t.with_timezone(&chrono_tz::Europe::Copenhagen).date_naive();
    Ok(first.map(day).zip(last.map(day)))
}

/// A consultation period (the first and last day, each where it is given or changed) may not
/// leave out a response the plan already holds: OUT_OF_RANGE on the day at fault.
async fn period_holds_responses(
    w: &Write,
    plan_id: Uuid,
    opens: Option<NaiveDate>,
    closes: Option<NaiveDate>,
) -> Result<(), Failure> {
    let Some((first, last)) = response_days(w, plan_id).await? else {
        return Ok(());
    };
    let mut check = Check::default();
    if let Some(o) = opens
        && o > first
    {
        check.add(
            "consultationOpensOn",
            UserErrorCode::OutOfRange,
            format!("a response was received on {first}: the consultation cannot open after it"),
        );
    }
    if let Some(c) = closes
        && c < last
    {
        check.add(
            "consultationClosesOn",
            UserErrorCode::OutOfRange,
            format!("a response was received on {last}: the consultation cannot close before it"),
        );
    }
    Ok(check.done()?)
}

/// A user error unless a plan may be adopted on `adopted`: not before its consultation opened,
/// nor before a response it received (OUT_OF_RANGE on `adoptedOn`).
async fn adopted_after_consultation(
    w: &Write,
    plan: &plan::Model,
    adopted: NaiveDate,
) -> Result<(), Failure> {
    let mut check = Check::default();
    if let Some(opens) = plan.consultation_opens_on
        && adopted < opens
    {
        check.add(
            "adoptedOn",
            UserErrorCode::OutOfRange,
            format!("the plan's consultation opened on {opens}: it cannot be adopted before that"),
        );
    } else if let Some((_, last)) = response_days(w, plan.id).await?
        && adopted < last
    {
        check.add(
            "adoptedOn",
            UserErrorCode::OutOfRange,
            format!("a response was received on {last}: the plan cannot be adopted before that"),
        );
    }
    Ok(check.done()?)
}

/// The plan `id` for a change of what hangs under it: NOT_FOUND on `field` when it does not
/// exist or the viewer may not see it, FORBIDDEN when they see it but may not edit its
/// community.
async fn plan_to_edit(w: &Write, field: &str, id: Uuid) -> Result<plan::Model, Failure> {
    let Some(p) = w.visible::<plan::Entity>(id).await? else {
        return Err(Refused::one(field, UserErrorCode::NotFound, "no plan with this ID").into());
    };
    crate::write::require_plan_content(w, &p)?;
    Ok(p)
}

/// Whether a plan may go from `from` to `to`, and whether only staff may make the change.
fn transition(from: plan::PlanStatus, to: plan::PlanStatus) -> Option<bool> {
    use plan::PlanStatus::*;
    match (from, to) {
        (Draft, Consultation) | (Consultation, Draft) => Some(false),
        // Adopting and archiving are the municipality's decisions.
        (Draft | Consultation, Adopted) | (Adopted, Archived) => Some(true),
        // Restored: a plan archived after its adoption is adopted again, as it was.
        (Archived, Adopted) => Some(true),
        _ => None,
    }
}

/// A user error when `organization` already has `role` in `plan` (other than `except`).
async fn involvement_free(
    w: &Write,
    plan: Uuid,
    organization: Uuid,
    role: plan_involvement::InvolvementRole,
    except: Option<Uuid>,
) -> Result<(), Failure> {
    let mut q = plan_involvement::Entity::find()
        .filter(plan_involvement::Column::PlanId.eq(plan))
        .filter(plan_involvement::Column::OrganizationId.eq(organization))
        .filter(plan_involvement::Column::Role.eq(role));
    if let Some(id) = except {
        q = q.filter(plan_involvement::Column::Id.ne(id));
    }
    if q.one(w.txn()).await?.is_some() {
        return Err(Refused::one(
            "role",
            UserErrorCode::Taken,
            "the organisation already has this role in the plan",
        )
        .into());
    }
    Ok(())
}

#[derive(Default)]
pub struct PlanMutation;

#[Object]
impl PlanMutation {
    /// Starts a plan as a draft. Editors of the community and staff.
    #[graphql(guard = "Require::Writer", visible = "visible_to_writers")]
    async fn create_plan(&self, ctx: &Context<'_>, input: CreatePlanInput) -> Result<CreatePlanPayload> {
        mutate(
            ctx,
            |check| {
                let community = check.id("communityId", &input.community_id, NodeType::Community);
                let title = check.text("title", &input.title, MAX_NAME);
                let summary = check.long_text("summary", &input.summary, MAX_TEXT);
                let vision = check.long_text("vision", &input.vision, MAX_TEXT);
                let period = check.period(input.period_from, input.period_to);
                let themes = check.ids("themeIds", &input.theme_ids, NodeType::Theme);
                let notes = check.long_text("internalNotes", &input.internal_notes, MAX_TEXT);
                Some((community?, title?, summary?, vision?, period?, themes?, notes?))
            },
            async |w, (community, title, summary, vision, (from, to), themes, notes)| {
                // Communities are public: a made-up one is NOT_FOUND for anyone.
                w.exists("communityId", NodeType::Community, community, "community")
                    .await?;
                w.require_community(community)?;
                links::all_exist(w, "themeIds", &input.theme_ids, NodeType::Theme, "theme").await?;
                let now = crate::common::now();
                let model = w
                    .create(
                        NodeType::Plan,
                        plan::ActiveModel {
                            id: Set(Uuid::now_v7()),
                            community_id: Set(community),
                            title: Set(title),
                            summary: Set(summary),
                            vision: Set(vision),
                            period_from: Set(from),
                            period_to: Set(to),
                            status: Set(plan::PlanStatus::Draft),
                            adopted_on: Set(None),
                            internal_notes: Set(notes),
                            consultation_opens_on: Set(None),
                            consultation_closes_on: Set(None),
                            ..new_row(now)
                        },
                    )
                    .await?;
                links::set::<plan_theme::Entity>(w, NodeType::Plan, model.id, &themes).await?;
                Ok(model)
            },
            |m| CreatePlanPayload::ok(Plan(m)),
        )
        .await
    }

    /// Changes a plan's text, period, themes or notes, whatever its status. Editors of the
    /// community and staff; the period of a plan that was adopted, staff only.
    #[graphql(guard = "Require::Writer", visible = "visible_to_writers")]
    async fn update_plan(&self, ctx: &Context<'_>, input: UpdatePlanInput) -> Result<UpdatePlanPayload> {
        mutate(
            ctx,
            |check| {
                let id = check.id("id", &input.id, NodeType::Plan);
                let title = check.update_text("title", input.title.as_deref(), MAX_NAME);
                let summary = check.update_long_text("summary", input.summary.as_deref(), MAX_TEXT);
                let vision = check.update_long_text("vision", input.vision.as_deref(), MAX_TEXT);
                let from = check.update("periodFrom", input.period_from, |c, y| c.year("periodFrom", y));
                let to = check.update("periodTo", input.period_to, |c, y| c.year("periodTo", y));
                let themes = check.update_ids("themeIds", input.theme_ids.as_deref(), NodeType::Theme);
                let notes =
                    check.update_long_text("internalNotes", input.internal_notes.as_deref(), MAX_TEXT);
                check.not_null(&[
                    ("consultationOpensOn", input.consultation_opens_on.is_null()),
                    ("consultationClosesOn", input.consultation_closes_on.is_null()),
                ]);
                let opens = check.opt_date(
                    "consultationOpensOn",
                    input.consultation_opens_on.value().map(|d| d.0),
                );
                let closes = check.opt_date(
                    "consultationClosesOn",
                    input.consultation_closes_on.value().map(|d| d.0),
                );
                let consultation = opens.zip(closes);
                Some((
                    id?,
                    title?,
                    summary?,
                    vision?,
                    from?,
                    to?,
                    themes?,
                    notes?,
                    consultation?,
                ))
            },
            async |w, (id, title, summary, vision, from, to, themes, notes, (opens, closes))| {
                let before = w.find::<plan::Entity>("plan", id).await?;
                w.require_community(before.community_id)?;
                // An archived plan is the record of what was done: its editors change only its
                // internal notes (a form sent back unchanged passes).
                if before.status == plan::PlanStatus::Archived && !w.viewer.is_staff() {
                    let themes_changed = match &themes {
                        Some(given) => {
                            let mut now = links::of::<plan_theme::Entity>(w.txn(), id).await?;
                            let mut given = given.clone();
                            now.sort_unstable();
                            given.sort_unstable();
                            given.dedup();
                            now != given
                        }
                        None => false,
                    };
                    let changed = title.as_ref().is_some_and(|t| *t != before.title)
                        || summary.as_ref().is_some_and(|t| *t != before.summary)
                        || vision.as_ref().is_some_and(|t| *t != before.vision)
                        || from.is_some_and(|y| y != before.period_from)
                        || to.is_some_and(|y| y != before.period_to)
                        || opens.is_some_and(|d| Some(d) != before.consultation_opens_on)
                        || closes.is_some_and(|d| Some(d) != before.consultation_closes_on)
                        || themes_changed;
                    if changed {
                        crate::write::require_plan_content(w, &before)?;
                    }
                }
                // An adopted plan's period was adopted with it (it decides the community's
                // current plan and which plans the adoption replaced): staff change it.
                let adopted_once = matches!(before.status, plan::PlanStatus::Adopted | plan::PlanStatus::Archived);
                if adopted_once && !w.viewer.is_staff() {
                    let mut check = Check::default();
                    for (field, given, was) in [
                        ("periodFrom", from, before.period_from),
                        ("periodTo", to, before.period_to),
                    ] {
                        if given.is_some_and(|y| y != was) {
                            check.add(
                                field,
                                UserErrorCode::Invalid,
                                "the period of an adopted plan is part of what was adopted: the municipality's staff change it",
                            );
                        }
                    }
                    check.done()?;
                }
                // The period after the change must still be in order.
                let (new_from, new_to) = (from.unwrap_or(before.period_from), to.unwrap_or(before.period_to));
                if new_to < new_from {
                    let field = if input.period_to.is_value() {
                        "periodTo"
                    } else {
                        "periodFrom"
                    };
                    return Err(Refused::one(
                        field,
                        UserErrorCode::OutOfRange,
                        format!("the period {new_from}–{new_to} ends before it starts"),
                    )
                    .into());
                }
                // So must the consultation's.
                let new_opens = opens.or(before.consultation_opens_on);
                let new_closes = closes.or(before.consultation_closes_on);
                if let (Some(o), Some(c)) = (new_opens, new_closes)
                    && c < o
                {
                    let field = if closes.is_some() {
                        "consultationClosesOn"
                    } else {
                        "consultationOpensOn"
                    };
                    return Err(Refused::one(
                        field,
                        UserErrorCode::OutOfRange,
                        format!("the consultation {o}–{c} ends before it starts"),
                    )
                    .into());
                }
                let opens = opens.filter(|o| Some(*o) != before.consultation_opens_on);
                let closes = closes.filter(|c| Some(*c) != before.consultation_closes_on);
                if opens.is_some() || closes.is_some() {
                    consultation_period_may_change(w, &before, opens, closes).await?;
                    // A period moved runs no longer than a consultation may (one that ran
                    // longer before this rule may be shortened to less than it was).
                    let was = before
                        .consultation_opens_on
                        .zip(before.consultation_closes_on)
                        .map(|(o, c)| c - o);
                    if let (Some(o), Some(c)) = (new_opens, new_closes)
                        && was.is_none_or(|was| c - o > was)
                        && let Some(message) = too_long_consultation(o, c)
                    {
                        let field = if closes.is_some() {
                            "consultationClosesOn"
                        } else {
                            "consultationOpensOn"
                        };
                        return Err(Refused::one(field, UserErrorCode::OutOfRange, message).into());
                    }
                }
                if let Some(c) = closes
                    && c < crate::common::today()
                {
                    return Err(Refused::one(
                        "consultationClosesOn",
                        UserErrorCode::OutOfRange,
                        closed_before_today(c),
                    )
                    .into());
                }
                if let Some(given) = input.theme_ids.value() {
                    links::all_exist(w, "themeIds", given, NodeType::Theme, "theme").await?;
                }
                let row = plan::ActiveModel {
                    title: set_if(title),
                    summary: set_if(summary),
                    vision: set_if(vision),
                    period_from: set_if(from),
                    period_to: set_if(to),
                    internal_notes: set_if(notes),
                    consultation_opens_on: set_if(opens.map(Some)),
                    consultation_closes_on: set_if(closes.map(Some)),
                    ..Default::default()
                };
                links::update_with::<plan::Entity, plan_theme::Entity>(
                    w,
                    NodeType::Plan,
                    "plan",
                    &before,
                    input.version,
                    row,
                    themes.as_deref(),
                )
                .await
            },
            |m| UpdatePlanPayload::ok(Plan(m)),
        )
        .await
    }

    /// Deletes a draft plan nothing refers to (its themes and involvement go with it).
    /// Editors of the community and staff; a plan that has had responses to a consultation is
    /// archived instead (by staff).
    #[graphql(guard = "Require::Writer", visible = "visible_to_writers")]
    async fn delete_plan(&self, ctx: &Context<'_>, input: DeletePlanInput) -> Result<DeletePayload> {
        delete_node::<plan::Entity>(
            ctx,
            NodeType::Plan,
            "plan",
            &input.id,
            input.version,
            async |w, before| {
                w.require_community(before.community_id)?;
                if before.status != plan::PlanStatus::Draft {
                    return Err(Refused::one(
                        "id",
                        UserErrorCode::InvalidTransition,
                        "only draft plans can be deleted",
                    )
                    .into());
                }
                let responses = crate::write::count(
                    w.txn(),
                    consultation_response::Column::PlanId.as_column_ref(),
                    before.id,
                )
                .await?;
                if responses > 0 {
                    return Err(Refused::one(
                        "id",
                        UserErrorCode::InUse,
                        "the plan has had responses to its consultation, which are part of its record: \
                         staff archive it instead",
                    )
                    .into());
                }
                w.refuse_if_used(before.id, REFERENCES).await
            },
        )
        .await
    }

    /// Moves a plan along its life: editors send drafts to consultation and back; staff adopt
    /// (from draft or consultation) and archive adopted plans, and drafts that were in
    /// consultation once; staff restore an archived plan that was adopted (`ADOPTED` again,
    /// with the day it was adopted on). A plan is adopted no earlier than its consultation
    /// opened and its last response; a consultation still running then ends on the day of
    /// adoption, and one yet to open is called off (its dates cleared). Adopting (or
    /// restoring) a plan whose period has begun archives the community's adopted plans that
    /// began before it: it replaces them (`archivedPlans`). A plan adopted ahead of its period
    /// replaces them when its first year begins (the server archives them then, as
    /// `system:plans`): until then the plan in force stays so, and stays the community's
    /// `currentPlan`; an adopted plan for the same period is replaced at once. A plan older
    /// than the one in force (recorded late) is adopted and archived at once, as replaced.
    /// Archiving a plan declines
    /// the partners' pending proposals on its actions (each partner is told why, in
    /// `declineMessage`).
    #[graphql(guard = "Require::Writer", visible = "visible_to_writers")]
    async fn change_plan_status(
        &self,
        ctx: &Context<'_>,
        input: ChangePlanStatusInput,
    ) -> Result<ChangePlanStatusPayload> {
        let to = plan::PlanStatus::from(input.status);
        mutate(
            ctx,
            |check| {
                let id = check.id("id", &input.id, NodeType::Plan);
                let adopted_on = check.opt_past_date("adoptedOn", input.adopted_on.map(|d| d.0));
                if input.adopted_on.is_some() && to != plan::PlanStatus::Adopted {
                    check.add(
                        "adoptedOn",
                        UserErrorCode::Invalid,
                        "give an adoption date only when the plan is adopted",
                    );
                }
                let opens = check.opt_date("consultationOpensOn", input.consultation_opens_on.map(|d| d.0));
                let closes =
                    check.opt_date("consultationClosesOn", input.consultation_closes_on.map(|d| d.0));
                for (field, given) in [
                    ("consultationOpensOn", input.consultation_opens_on.is_some()),
                    ("consultationClosesOn", input.consultation_closes_on.is_some()),
                ] {
                    if given && to != plan::PlanStatus::Consultation {
                        check.add(
                            field,
                            UserErrorCode::Invalid,
                            "give a consultation period only when the plan is sent to consultation",
                        );
                    }
                }
                // Today and four weeks on, unless given.
                let period = match (opens, closes) {
                    (Some(o), Some(c)) => {
                        let o = o.unwrap_or_else(crate::common::today);
                        let c = c.unwrap_or_else(|| o + chrono::Days::new(CONSULTATION_DAYS));
                        check.dates_in_order("consultationClosesOn", Some(o), Some(c));
                        if let Some(message) = too_long_consultation(o, c) {
                            check.add("consultationClosesOn", UserErrorCode::OutOfRange, message);
                        }
                        if o <= c && c < crate::common::today() {
                            // On the date the client gave (a first day long past makes the
                            // default last day past too).
                            let field = if input.consultation_closes_on.is_some() {
                                "consultationClosesOn"
                            } else {
                                "consultationOpensOn"
                            };
                            check.add(field, UserErrorCode::OutOfRange, closed_before_today(c));
                        }
                        Some((o, c))
                    }
                    _ => None,
                };
                Some((id?, adopted_on?, period?))
            },
            async |w, (id, adopted_on, (opens, closes))| {
                let before = w.find::<plan::Entity>("plan", id).await?;
                w.require_community(before.community_id)?;
                // A draft that was in consultation once (responses may hang on it, which keep
                // it from being deleted) is archived by staff, as a plan that went no further.
                let once_public = before.consultation_opens_on.is_some();
                let restoring = before.status == plan::PlanStatus::Archived;
                let transition = match (before.status, to) {
                    (plan::PlanStatus::Draft, plan::PlanStatus::Archived) if once_public => Some(true),
                    // An archived plan that was never adopted went no further: it stays so.
                    (plan::PlanStatus::Archived, plan::PlanStatus::Adopted)
                        if before.adopted_on.is_none() =>
                    {
                        None
                    }
                    _ => transition(before.status, to),
                };
                let Some(staff_only) = transition else {
                    let message = if restoring && to == plan::PlanStatus::Adopted {
                        "the plan was archived without having been adopted; it cannot be restored as adopted"
                            .to_owned()
                    } else {
                        format!(
                            "a plan cannot go from {:?} to {:?}",
                            PlanStatus::from(before.status),
                            input.status
                        )
                    };
                    return Err(Refused::one("status", UserErrorCode::InvalidTransition, message).into());
                };
                if staff_only && !Require::Staff.allows(w.viewer.role) {
                    return Err(crate::error::ApiError::forbidden(
                        "only the municipality's staff adopt and archive plans",
                    )
                    .into());
                }
                let mut row = plan::ActiveModel {
                    status: Set(to),
                    ..Default::default()
                };
                if to == plan::PlanStatus::Adopted && restoring {
                    // Restored with the day it was adopted on.
                    if let (Some(given), Some(was)) = (adopted_on, before.adopted_on)
                        && given != was
                    {
                        return Err(Refused::one(
                            "adoptedOn",
                            UserErrorCode::Invalid,
                            format!(
                                "a restored plan keeps the day it was adopted ({was}); leave adoptedOn out"
                            ),
                        )
                        .into());
                    }
                } else if to == plan::PlanStatus::Adopted {
                    // Responses sent meanwhile hold the plan's row (`submitConsultationResponse`):
                    // the plan is held before its responses are read, so none comes in unseen.
                    w.locking(plan::Entity::find_by_id(before.id))
                        .one(w.txn())
                        .await?;
                    let adopted = adopted_on.unwrap_or_else(crate::common::today);
                    row.adopted_on = Set(Some(adopted));
                    if before
                        .consultation_opens_on
                        .is_some_and(|o| o > crate::common::today())
                    {
                        // A consultation yet to open is called off: the plan is adopted
                        // without one (no response can have come in before it opened).
                        row.consultation_opens_on = Set(None);
                        row.consultation_closes_on = Set(None);
                    } else {
                        adopted_after_consultation(w, &before, adopted).await?;
                        // Adopted while its consultation still ran: the consultation ended on
                        // the day of adoption, and the plan's record says so (not the day it
                        // was meant to close).
                        if let Some(closes) = before.consultation_closes_on
                            && closes > adopted
                        {
                            row.consultation_closes_on = Set(Some(adopted));
                        }
                    }
                }
                // Leaving a consultation that has opened and not ended (back to draft, or archived)
                // ends it that day: its record, and the responses' retention, count from then.
                let today = crate::common::today();
                if matches!(to, plan::PlanStatus::Draft | plan::PlanStatus::Archived)
                    && let (Some(o), Some(c)) = (before.consultation_opens_on, before.consultation_closes_on)
                    && o <= today
                    && c > today
                {
                    row.consultation_closes_on = Set(Some(today));
                }
                if to == plan::PlanStatus::Consultation {
                    // Again in consultation: the new period still holds the responses it had.
                    period_holds_responses(w, before.id, Some(opens), Some(closes)).await?;
                    row.consultation_opens_on = Set(Some(opens));
                    row.consultation_closes_on = Set(Some(closes));
                }
                let after = w
                    .update::<plan::Entity>(NodeType::Plan, &before, input.version, row)
                    .await?;
                if to == plan::PlanStatus::Archived {
                    crate::partnership::mutation::decline_with_plan(w, before.id).await?;
                }
                // The new plan replaces the community's adopted plans that started before it,
                // once its own period has begun: they are archived in the same write (and
                // audited as such). Adopted ahead of its period, it waits, and the plan in force
                // stays so until its first year (`hand_over` archives it then); one for the same
                // period is replaced at once. A plan older than the one in force is recorded as
                // adopted and replaced: archived at once, with its adoption date.
                let mut archived = Vec::new();
                let mut after = after;
                if to == plan::PlanStatus::Adopted && before.status != plan::PlanStatus::Adopted {
                    // Two adoptions in one community take turns (PostgreSQL reads committed
                    // rows: each would miss the other's plan); SQLite's writes take turns already.
                    w.locking(community::Entity::find_by_id(before.community_id))
                        .one(w.txn())
                        .await?;
                    let adopted = plan::Entity::find()
                        .filter(plan::Column::CommunityId.eq(before.community_id))
                        .filter(plan::Column::Status.eq(plan::PlanStatus::Adopted))
                        .all(w.txn())
                        .await?;
                    let year = crate::common::today().year();
                    // Restored, it would be replaced at once by a plan that began later, or
                    // displace one adopted for its own period (which replaced it): refused.
                    if restoring
                        && adopted
                            .iter()
                            .any(|p| p.id != after.id && p.period_from == after.period_from)
                    {
                        return Err(Refused::one(
                            "status",
                            UserErrorCode::InvalidTransition,
                            "another plan for the same period is adopted in the community; archive it first to restore this one",
                        )
                        .into());
                    }
                    let retired = retired(adopted, year, Some(&after));
                    if restoring && retired.iter().any(|p| p.id == after.id) {
                        return Err(Refused::one(
                            "status",
                            UserErrorCode::InvalidTransition,
                            "a plan that began later is in force in the community; archive it first to restore this one",
                        )
                        .into());
                    }
                    for old in retired {
                        let gone = archive(w, &old).await?;
                        if gone.id == after.id {
                            after = gone;
                        } else {
                            archived.push(gone);
                        }
                    }
                }
                Ok((after, archived))
            },
            |(plan, archived)| ChangePlanStatusPayload {
                plan: Some(Plan(plan)),
                archived_plans: archived.into_iter().map(Plan).collect(),
                user_errors: Vec::new(),
            },
        )
        .await
    }

    /// Records an organisation's part in a plan. Editors of the plan's community and staff.
    #[graphql(guard = "Require::Writer", visible = "visible_to_writers")]
    async fn add_plan_involvement(
        &self,
        ctx: &Context<'_>,
        input: AddPlanInvolvementInput,
    ) -> Result<AddPlanInvolvementPayload> {
        mutate(
            ctx,
            |check| {
                let plan_id = check.id("planId", &input.plan_id, NodeType::Plan);
                let organization = check.id("organizationId", &input.organization_id, NodeType::Organization);
                let description = check.long_text("description", &input.description, MAX_TEXT);
                Some((plan_id?, organization?, description?))
            },
            async |w, (plan_id, organization, description)| {
                plan_to_edit(w, "planId", plan_id).await?;
                w.exists(
                    "organizationId",
                    NodeType::Organization,
                    organization,
                    "organisation",
                )
                .await?;
                let role = plan_involvement::InvolvementRole::from(input.role);
                involvement_free(w, plan_id, organization, role, None).await?;
                let now = crate::common::now();
                w.create(
                    NodeType::PlanInvolvement,
                    plan_involvement::ActiveModel {
                        id: Set(Uuid::now_v7()),
                        plan_id: Set(plan_id),
                        organization_id: Set(organization),
                        role: Set(role),
                        description: Set(description),
                        ..new_row(now)
                    },
                )
                .await
            },
            |m| AddPlanInvolvementPayload::ok(PlanInvolvement(m)),
        )
        .await
    }

    /// Changes an organisation's role or description in a plan. Editors of the plan's
    /// community and staff.
    #[graphql(guard = "Require::Writer", visible = "visible_to_writers")]
    async fn update_plan_involvement(
        &self,
        ctx: &Context<'_>,
        input: UpdatePlanInvolvementInput,
    ) -> Result<UpdatePlanInvolvementPayload> {
        mutate(
            ctx,
            |check| {
                let id = check.id("id", &input.id, NodeType::PlanInvolvement);
                let description =
                    check.update_long_text("description", input.description.as_deref(), MAX_TEXT);
                check.not_null(&[("role", input.role.is_null())]);
                Some((id?, description?))
            },
            async |w, (id, description)| {
                let before = w.find::<plan_involvement::Entity>("plan involvement", id).await?;
                let p = w.find::<plan::Entity>("plan", before.plan_id).await?;
                crate::write::require_plan_content(w, &p)?;
                let mut row = plan_involvement::ActiveModel {
                    description: set_if(description),
                    ..Default::default()
                };
                if let Some(&role) = input.role.value() {
                    let role = plan_involvement::InvolvementRole::from(role);
                    involvement_free(w, before.plan_id, before.organization_id, role, Some(id)).await?;
                    row.role = Set(role);
                }
                w.update::<plan_involvement::Entity>(NodeType::PlanInvolvement, &before, input.version, row)
                    .await
            },
            |m| UpdatePlanInvolvementPayload::ok(PlanInvolvement(m)),
        )
        .await
    }

    /// Removes an organisation's part in a plan. Editors of the plan's community and staff.
    #[graphql(guard = "Require::Writer", visible = "visible_to_writers")]
    async fn remove_plan_involvement(
        &self,
        ctx: &Context<'_>,
        input: RemovePlanInvolvementInput,
    ) -> Result<DeletePayload> {
        delete_node::<plan_involvement::Entity>(
            ctx,
            NodeType::PlanInvolvement,
            "plan involvement",
            &input.id,
            input.version,
            async |w, before| {
                let p = w.find::<plan::Entity>("plan", before.plan_id).await?;
                Ok(crate::write::require_plan_content(w, &p)?)
            },
        )
        .await
    }
}

/// Of the adopted plans `adopted` (of one or more communities), those replaced by `year`: of a
/// community's plans that have begun, all but the one that began last (the plan in force), and,
/// of those yet to begin, another for the same period as `adopted_now` (the plan just adopted,
/// which wins a tie).
fn retired(mut adopted: Vec<plan::Model>, year: i32, adopted_now: Option<&plan::Model>) -> Vec<plan::Model> {
    let now = adopted_now.map(|p| p.id);
    adopted.sort_by(|a, b| {
        (
            a.community_id,
            std::cmp::Reverse(a.period_from),
            Some(a.id) != now,
            std::cmp::Reverse(a.adopted_on),
            a.id,
        )
            .cmp(&(
                b.community_id,
                std::cmp::Reverse(b.period_from),
                Some(b.id) != now,
                std::cmp::Reverse(b.adopted_on),
                b.id,
            ))
    });
    let mut in_force = None;
    let mut out = Vec::new();
    for p in adopted {
        if p.period_from <= year {
            if in_force == Some(p.community_id) {
                out.push(p);
            } else {
                in_force = Some(p.community_id);
            }
        } else if let Some(n) = adopted_now
            && n.id != p.id
            && n.community_id == p.community_id
            && n.period_from == p.period_from
        {
            out.push(p);
        }
    }
    out
}

/// Archives `old`, an adopted plan another has replaced, with the partners' pending proposals
/// on its actions declined.
async fn archive(w: &Write, old: &plan::Model) -> Result<plan::Model, Failure> {
    let row = plan::ActiveModel {
        status: Set(plan::PlanStatus::Archived),
        ..Default::default()
    };
    let gone = w
        .update::<plan::Entity>(NodeType::Plan, old, old.version, row)
        .await?;
    crate::partnership::mutation::decline_with_plan(w, old.id).await?;
    Ok(gone)
}

/// Who archives the plans a successor has replaced (`system:plans` on the audit log).
const HANDOVER: &str = "plans";

/// Archives the adopted plans whose successor's period has begun by `year`: of a community's
/// adopted plans that have started, the one that started last is in force, and the others
/// were replaced by it (adopted ahead of its period, it left them in force until then). Each
/// is archived as `changePlanStatus` archives (the partners' pending proposals declined), by
/// `system:plans`, in one transaction. Returns the plans archived.
pub async fn hand_over(db: &sea_orm::DatabaseConnection, year: i32) -> Result<usize, ApiError> {
    let w = Write::begin_as(db, crate::auth::Viewer::system(HANDOVER)).await?;
    let started = plan::Entity::find()
        .filter(plan::Column::Status.eq(plan::PlanStatus::Adopted))
        .filter(plan::Column::PeriodFrom.lte(year))
        .all(w.txn())
        .await?;
    let replaced = retired(started, year, None);
    if replaced.is_empty() {
        return Ok(0);
    }
    for old in &replaced {
        archive(&w, old).await.map_err(|e| match e {
            Failure::Error(e) => e,
            Failure::Refused(r) | Failure::Raced(r) => {
                ApiError::internal(format!("archiving a replaced plan refused: {r:?}"))
            }
        })?;
    }
    w.commit().await?;
    Ok(replaced.len())
}

/// One [`hand_over`] for this year (in Denmark), logged (a failure too: the next runs an hour
/// later); the year it handed over.
pub async fn run_hand_over(db: &sea_orm::DatabaseConnection) -> i32 {
    let year = crate::common::today().year();
    match hand_over(db, year).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            plans = n,
            "archived the plans replaced by plans whose period has begun"
        ),
        Err(e) => tracing::warn!(
            error = e.message(),
            "could not archive the plans replaced by newer ones"
        ),
    }
    year
}
