//! Writing actions, the departments contributing to them and their progress notes. Staff
//! write everywhere; community editors only the actions of their communities' plans.
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result};
use chrono::NaiveDate;
use entity::{account, action, action_department, action_theme, action_update, partnership};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use super::{Action, ActionDepartment, ActionStatus, ActionUpdate, DepartmentRole, Horizon};
use crate::{
    auth::{Require, visible_to_writers},
    common::{Date, today},
    error::ApiError,
    links,
    relay::NodeType,
    write::{
        Change, Check, DeletePayload, Failure, MAX_NAME, MAX_TEXT, MaybeRef, Reference, Refused,
        UserErrorCode, Write, change, delete_node, mutate, new_row, payload, reference,
        require_plan_content_of, set_if,
    },
};

/// The completion date an action gets: `given` (checked: only for a COMPLETED action, not in
/// the future), else today when it becomes COMPLETED, `before` while it stays COMPLETED, and
/// none otherwise.
fn completion(
    check: &mut Check,
    given: Option<chrono::NaiveDate>,
    status: action::ActionStatus,
    was_completed: bool,
    before: Option<chrono::NaiveDate>,
) -> Option<chrono::NaiveDate> {
    let completed = status == action::ActionStatus::Completed;
    match given {
        Some(_) if !completed => {
            check.add(
                "completedOn",
                UserErrorCode::Invalid,
                "only a completed action has a completion date",
            );
            None
        }
        Some(d) => check.past_date("completedOn", d),
        None if !completed => None,
        // Staying completed keeps the date it had (none stays none: an unrelated edit must
        // not invent a completion).
        None if was_completed => before,
        None => Some(today()),
    }
}

/// The potential (1–5) is the municipality's judgement and the largest term of the priority
/// score: only staff set or change it. An editor may send it back unchanged.
fn potential_by_staff(w: &Write, check: &mut Check, before: Option<i32>, after: Option<i32>) {
    if after != before && !w.viewer.is_staff() {
        check.add(
            "potential",
            UserErrorCode::Invalid,
            "only the municipality's staff judge an action's potential; leave it out or send the current value",
        );
    }
}

/// The action's place after an update: None when neither coordinate was given (or a given
/// one was refused), else the pair it becomes (both `None` when cleared).
fn place_after(
    check: &mut Check,
    latitude: &MaybeUndefined<f64>,
    longitude: &MaybeUndefined<f64>,
    before: &action::Model,
) -> Option<(Option<f64>, Option<f64>)> {
    if latitude.is_undefined() && longitude.is_undefined() {
        return None;
    }
    let pick = |v: &MaybeUndefined<f64>, old: Option<f64>| match v {
        MaybeUndefined::Undefined => old,
        MaybeUndefined::Null => None,
        MaybeUndefined::Value(x) => Some(*x),
    };
    crate::community::mutation::location(
        check,
        pick(latitude, before.latitude),
        pick(longitude, before.longitude),
    )
}

/// FORBIDDEN unless the viewer may edit the community of the action's plan.
pub(crate) async fn require_action(w: &Write, action: &action::Model) -> Result<(), ApiError> {
    require_plan_content_of(w, action.plan_id).await
}

/// The action `id` when the caller may change what hangs under it: NOT_FOUND when it is not
/// visible to them, FORBIDDEN when it is but not theirs to change.
async fn writable_action(w: &Write, id: Uuid) -> Result<action::Model, ApiError> {
    let action = w.find::<action::Entity>("action", id).await?;
    require_action(w, &action).await?;
    Ok(action)
}

#[derive(InputObject)]
pub struct CreateActionInput {
    pub plan_id: ID,
    pub title: String,
    #[graphql(default)]
    pub description: String,
    pub horizon: Horizon,
    #[graphql(default_with = "ActionStatus::Planned")]
    pub status: ActionStatus,
    /// Percent, 0–100; left out, 0, or 100 for an action created COMPLETED (as completing one
    /// sets it).
    pub progress: Option<i32>,
    /// 1 (small) to 5 (large): the municipality's judgement, set by staff only (an editor may
    /// leave it out).
    pub potential: Option<i32>,
    pub start_on: Option<Date>,
    /// Not before `startOn`.
    pub due_on: Option<Date>,
    /// Whole Danish kroner, 0 to 2,147,483,647.
    pub budget_estimate: Option<i64>,
    pub lead_organization_id: Option<ID>,
    #[graphql(default)]
    pub seeking_partners: bool,
    pub partner_needs: Option<String>,
    #[graphql(default)]
    pub theme_ids: Vec<ID>,
    /// Never public: seen by staff and the community's editors.
    #[graphql(default)]
    pub internal_notes: String,
    /// When a COMPLETED action was completed (not in the future, nor before `startOn`);
    /// defaults to today. Only for status COMPLETED.
    pub completed_on: Option<Date>,
    /// Where the action takes place, when it has a place of its own (WGS 84, -90 to 90);
    /// with `longitude`, or neither. Without one the action is placed at its community.
    pub latitude: Option<f64>,
    /// -180 to 180; with `latitude`, or neither.
    pub longitude: Option<f64>,
}

/// Fields left out stay as they are; `null` clears a field that may be empty. `themeIds`
/// replaces the themes.
#[derive(InputObject)]
pub struct UpdateActionInput {
    pub id: ID,
    /// The version the change is based on; a stale one is a CONFLICT.
    pub version: i32,
    pub title: MaybeUndefined<String>,
    pub description: MaybeUndefined<String>,
    pub horizon: MaybeUndefined<Horizon>,
    /// Changed to COMPLETED, the progress becomes 100 unless `progress` is given too.
    pub status: MaybeUndefined<ActionStatus>,
    pub progress: MaybeUndefined<i32>,
    /// 1–5; staff only: an editor may send the current value back, not change it.
    pub potential: MaybeUndefined<i32>,
    pub start_on: MaybeUndefined<Date>,
    pub due_on: MaybeUndefined<Date>,
    pub budget_estimate: MaybeUndefined<i64>,
    pub lead_organization_id: MaybeUndefined<ID>,
    pub seeking_partners: MaybeUndefined<bool>,
    pub partner_needs: MaybeUndefined<String>,
    pub theme_ids: MaybeUndefined<Vec<ID>>,
    pub internal_notes: MaybeUndefined<String>,
    /// When the action was completed (not in the future, nor before the start), for an action
    /// that is or becomes COMPLETED. Left out, it becomes today when the status changes to
    /// COMPLETED, and is cleared when the status changes away from it.
    pub completed_on: MaybeUndefined<Date>,
    /// The action's own place (WGS 84): both coordinates or neither after the change; `null`
    /// for both clears it, and the action is placed at its community again.
    pub latitude: MaybeUndefined<f64>,
    pub longitude: MaybeUndefined<f64>,
}

/// `{id, version}` of the row to delete.
#[derive(InputObject)]
pub struct DeleteActionInput {
    pub id: ID,
    pub version: i32,
}

#[derive(InputObject)]
pub struct AddActionDepartmentInput {
    pub action_id: ID,
    pub department_id: ID,
    #[graphql(default_with = "DepartmentRole::Support")]
    pub role: DepartmentRole,
    /// What the department contributes.
    #[graphql(default)]
    pub contribution: String,
}

#[derive(InputObject)]
pub struct UpdateActionDepartmentInput {
    pub id: ID,
    pub version: i32,
    pub role: MaybeUndefined<DepartmentRole>,
    pub contribution: MaybeUndefined<String>,
}

#[derive(InputObject)]
pub struct RemoveActionDepartmentInput {
    pub id: ID,
    pub version: i32,
}

#[derive(InputObject)]
pub struct CreateActionUpdateInput {
    pub action_id: ID,
    pub body: String,
    /// The action's progress on `postedOn`, 0–100; it becomes the action's progress too,
    /// unless a note posted later gives one (a note added after the fact does not set the
    /// action back). The status follows it: above 0, a PLANNED action is IN_PROGRESS; at 100,
    /// a planned or running action is COMPLETED on `postedOn` (not before its start).
    pub progress: Option<i32>,
    /// The name the note is signed with, shown with it to everyone who sees the action (the
    /// public too): defaults to the caller's account name; give another (the association's,
    /// say) to sign otherwise.
    pub author_name: Option<String>,
    /// Not in the future; defaults to today.
    pub posted_on: Option<Date>,
}

/// Changing a note's progress does not change the action's: later notes may have moved it on.
#[derive(InputObject)]
pub struct UpdateActionUpdateInput {
    pub id: ID,
    pub version: i32,
    pub body: MaybeUndefined<String>,
    pub progress: MaybeUndefined<i32>,
    pub author_name: MaybeUndefined<String>,
    pub posted_on: MaybeUndefined<Date>,
}

#[derive(InputObject)]
pub struct DeleteActionUpdateInput {
    pub id: ID,
    pub version: i32,
}

payload!(CreateActionPayload, action: Action);
payload!(UpdateActionPayload, action: Action);
payload!(AddActionDepartmentPayload, action_department: ActionDepartment);
payload!(UpdateActionDepartmentPayload, action_department: ActionDepartment);
payload!(CreateActionUpdatePayload, action_update: ActionUpdate);
payload!(UpdateActionUpdatePayload, action_update: ActionUpdate);

/// The rows that refer to an action and keep it from being deleted. Its departments, progress
/// notes and theme links belong to it and go with it.
const REFERENCES: &[Reference] = &[
    reference!(partnership::ActionId, "partnerships"),
    reference!(idea_exchange_action::ActionId, "idea exchanges"),
    reference!(consultation_response::ActionId, "consultation responses"),
];

/// Partners' proposals to join `action` that its community has not taken up (pending or
/// declined), before the action is deleted: they are about it alone and go with it, each with
/// a DELETE record (its members with it). A partnership taken up keeps the action.
async fn proposals_go_with(w: &Write, action: Uuid) -> Result<(), Failure> {
    use sea_orm::sea_query::Condition;
    // Held (as accepting, declining or withdrawing one holds it): one taken up meanwhile is
    // read as taken up and keeps the action; one withdrawn is gone already.
    let proposals = w
        .locking(partnership::Entity::find())
        .filter(partnership::Column::ActionId.eq(action))
        .filter(partnership::Column::ProposedByOrganizationId.is_not_null())
        .filter(
            Condition::any()
                .add(partnership::Column::Status.eq(partnership::PartnershipStatus::Proposed))
                .add(partnership::Column::DeclinedAt.is_not_null()),
        )
        .all(w.txn())
        .await?;
    for p in &proposals {
        w.delete::<partnership::Entity>(NodeType::Partnership, p, p.version)
            .await?;
    }
    Ok(())
}

/// Whether a progress note of `action` posted after `day` gives a progress (the action's
/// progress is then that note's, or newer).
async fn later_progress(w: &Write, action: Uuid, day: NaiveDate) -> Result<bool, ApiError> {
    Ok(action_update::Entity::find()
        .filter(action_update::Column::ActionId.eq(action))
        .filter(action_update::Column::PostedOn.gt(day))
        .filter(action_update::Column::Progress.is_not_null())
        .one(w.txn())
        .await?
        .is_some())
}

/// The name a progress note is signed with when none is given: the account's display name,
/// the name an identity provider's token gives, else [`MUNICIPALITY`]. Never how the audit
/// log knows the caller (an external subject may be an email or a login name, and the note is
/// public).
async fn author_of(w: &Write) -> Result<String, ApiError> {
    if let Some(id) = w.viewer.account_id
        && let Some(a) = account::Entity::find_by_id(id).one(w.txn()).await?
        && !a.display_name.trim().is_empty()
    {
        return Ok(a.display_name);
    }
    Ok(w.viewer.name.as_deref().unwrap_or(MUNICIPALITY).to_owned())
}

/// The signature of a progress note by someone the API knows by no name.
const MUNICIPALITY: &str = "Kommunen";

async fn department_free(w: &Write, action: Uuid, department: Uuid) -> Result<(), Failure> {
    let taken = action_department::Entity::find()
        .filter(action_department::Column::ActionId.eq(action))
        .filter(action_department::Column::DepartmentId.eq(department))
        .one(w.txn())
        .await?
        .is_some();
    if taken {
        return Err(Refused::one(
            "departmentId",
            UserErrorCode::Taken,
            "the department already contributes to this action",
        )
        .into());
    }
    Ok(())
}

/// Why a second lead department is refused (here, and when the database's index catches a race).
pub(crate) const ONE_LEAD: &str = "the action has a lead department already: make this one SUPPORT or ADVICE, or give the lead another role first";

/// An action has one lead department: another one's `LEAD` is `TAKEN` on `role` (`except`: the
/// contribution being changed).
async fn lead_free(w: &Write, action: Uuid, except: Option<Uuid>) -> Result<(), Failure> {
    let mut lead = action_department::Entity::find()
        .filter(action_department::Column::ActionId.eq(action))
        .filter(action_department::Column::Role.eq(action_department::DepartmentRole::Lead));
    if let Some(id) = except {
        lead = lead.filter(action_department::Column::Id.ne(id));
    }
    if lead.one(w.txn()).await?.is_some() {
        return Err(Refused::one("role", UserErrorCode::Taken, ONE_LEAD).into());
    }
    Ok(())
}

/// A new action after its input checks: the row to insert, and apart what the write checks
/// before inserting it.
#[derive(Clone)]
struct NewAction {
    row: action::ActiveModel,
    plan: Uuid,
    potential: Option<i32>,
    lead: Option<Uuid>,
    /// Each with its position in `themeIds`, for an error that names it.
    themes: Vec<(usize, Uuid)>,
}

/// A change to an action after its input checks: the columns that need no check against the
/// action as it is, and apart those that do.
#[derive(Clone)]
struct ActionChange {
    id: Uuid,
    row: action::ActiveModel,
    potential: Change<i32>,
    start_on: Change<NaiveDate>,
    due_on: Change<NaiveDate>,
    lead: Change<Uuid>,
    /// Each with its position in `themeIds`, for an error that names it.
    themes: Option<Vec<(usize, Uuid)>>,
}

#[derive(Default)]
pub struct ActionMutation;

#[Object]
impl ActionMutation {
    /// Adds an action to a plan, with its themes. Staff, and editors of the plan's community.
    #[graphql(guard = "Require::Writer", visible = "visible_to_writers")]
    async fn create_action(
        &self,
        ctx: &Context<'_>,
        input: CreateActionInput,
    ) -> Result<CreateActionPayload> {
        mutate(
            ctx,
            |check| {
                let plan = check.id("planId", &input.plan_id, NodeType::Plan);
                let title = check.text("title", &input.title, MAX_NAME);
                let description = check.long_text("description", &input.description, MAX_TEXT);
                let completed = action::ActionStatus::from(input.status) == action::ActionStatus::Completed;
                let progress = check.int(
                    "progress",
                    input.progress.unwrap_or(if completed { 100 } else { 0 }),
                    0,
                    100,
                );
                let potential = check.opt_int("potential", input.potential, 1, 5);
                let start_on = check.opt_date("startOn", input.start_on.map(|d| d.0));
                let due_on = check.opt_date("dueOn", input.due_on.map(|d| d.0));
                if let (Some(s), Some(d)) = (start_on, due_on) {
                    check.dates_in_order("dueOn", s, d);
                }
                let budget = check.amount("budgetEstimate", input.budget_estimate);
                let lead = check.opt_id(
                    "leadOrganizationId",
                    input.lead_organization_id.as_ref(),
                    NodeType::Organization,
                );
                let needs = check.opt_text("partnerNeeds", input.partner_needs.as_deref(), MAX_TEXT);
                let themes = check.ids_at("themeIds", &input.theme_ids, NodeType::Theme);
                let notes = check.long_text("internalNotes", &input.internal_notes, MAX_TEXT);
                let completed_on = completion(
                    check,
                    input.completed_on.map(|d| d.0),
                    input.status.into(),
                    false,
                    None,
                );
                // A completion date given is not before the start; completed without one
                // (today), the work was done before the start it had planned, as on update.
                if input.completed_on.is_some()
                    && let (Some(s), Some(c)) = (start_on.flatten(), completed_on)
                    && c < s
                {
                    check.add(
                        "completedOn",
                        UserErrorCode::OutOfRange,
                        format!("{c} is before the start {s}"),
                    );
                }
                let location = crate::community::mutation::location(check, input.latitude, input.longitude);
                let (plan, potential, lead) = (plan?, potential?, lead?);
                let (latitude, longitude) = location?;
                let row = action::ActiveModel {
                    plan_id: Set(plan),
                    title: Set(title?),
                    description: Set(description?),
                    horizon: Set(input.horizon.into()),
                    status: Set(input.status.into()),
                    progress: Set(progress?),
                    potential: Set(potential),
                    start_on: Set(start_on?),
                    due_on: Set(due_on?),
                    budget_estimate: Set(budget?),
                    lead_organization_id: Set(lead),
                    seeking_partners: Set(input.seeking_partners),
                    partner_needs: Set(needs?),
                    internal_notes: Set(notes?),
                    completed_on: Set(completed_on),
                    latitude: Set(latitude),
                    longitude: Set(longitude),
                    ..Default::default()
                };
                Some(NewAction {
                    row,
                    plan,
                    potential,
                    lead,
                    themes: themes?,
                })
            },
            async |w, new: NewAction| {
                let mut check = Check::default();
                w.check_exists::<entity::plan::Entity>(&mut check, "planId", new.plan, "plan")
                    .await?;
                check.done()?;
                require_plan_content_of(w, new.plan).await?;
                let mut check = Check::default();
                potential_by_staff(w, &mut check, None, new.potential);
                if let Some(org) = new.lead {
                    w.check_exists::<entity::organization::Entity>(
                        &mut check,
                        "leadOrganizationId",
                        org,
                        "organisation",
                    )
                    .await?;
                }
                for (i, theme) in &new.themes {
                    w.check_exists::<entity::theme::Entity>(
                        &mut check,
                        &format!("themeIds.{i}"),
                        *theme,
                        "theme",
                    )
                    .await?;
                }
                check.done()?;
                let now = crate::common::now();
                let model = w
                    .create(
                        NodeType::Action,
                        action::ActiveModel {
                            id: Set(Uuid::now_v7()),
                            created_at: Set(now),
                            updated_at: Set(now),
                            version: Set(1),
                            ..new.row
                        },
                    )
                    .await?;
                let themes: Vec<Uuid> = new.themes.iter().map(|(_, t)| *t).collect();
                links::set::<action_theme::Entity>(w, NodeType::Action, model.id, &themes).await?;
                Ok(model)
            },
            |m| CreateActionPayload::ok(Action(m)),
        )
        .await
    }

    /// Changes an action; `themeIds` replaces its themes. Staff, and editors of the plan's
    /// community.
    #[graphql(guard = "Require::Writer", visible = "visible_to_writers")]
    async fn update_action(
        &self,
        ctx: &Context<'_>,
        input: UpdateActionInput,
    ) -> Result<UpdateActionPayload> {
        mutate(
            ctx,
            |check| {
                let id = check.id("id", &input.id, NodeType::Action);
                let title = check.update_text("title", input.title.as_deref(), MAX_NAME);
                let description =
                    check.update_long_text("description", input.description.as_deref(), MAX_TEXT);
                let progress = check.update("progress", input.progress, |c, p| c.int("progress", p, 0, 100));
                let potential = change(&input.potential, |p| check.int("potential", *p, 1, 5));
                let start_on = change(&input.start_on, |d| check.date("startOn", d.0));
                let due_on = change(&input.due_on, |d| check.date("dueOn", d.0));
                let budget = change(&input.budget_estimate, |b| {
                    check.amount("budgetEstimate", Some(*b)).flatten()
                });
                let lead = change(&input.lead_organization_id, |o| {
                    check.id("leadOrganizationId", o, NodeType::Organization)
                });
                // An empty text clears the needs, like `null`.
                let needs = match input.partner_needs.as_opt_deref() {
                    None => Some(Change::Keep),
                    Some(n) => check.opt_text("partnerNeeds", n, MAX_TEXT).map(Change::Set),
                };
                let themes = check.update("themeIds", input.theme_ids.as_deref(), |c, t| {
                    c.ids_at("themeIds", t, NodeType::Theme)
                });
                let notes =
                    check.update_long_text("internalNotes", input.internal_notes.as_deref(), MAX_TEXT);
                check.not_null(&[
                    ("horizon", input.horizon.is_null()),
                    ("status", input.status.is_null()),
                    ("seekingPartners", input.seeking_partners.is_null()),
                    ("completedOn", input.completed_on.is_null()),
                ]);
                let mut row = action::ActiveModel {
                    title: set_if(title?),
                    description: set_if(description?),
                    horizon: set_if(input.horizon.value().copied().map(Into::into)),
                    status: set_if(input.status.value().copied().map(Into::into)),
                    progress: set_if(progress?),
                    seeking_partners: set_if(input.seeking_partners.value().copied()),
                    internal_notes: set_if(notes?),
                    ..Default::default()
                };
                budget?.apply(&mut row.budget_estimate);
                needs?.apply(&mut row.partner_needs);
                Some(ActionChange {
                    id: id?,
                    row,
                    potential: potential?,
                    start_on: start_on?,
                    due_on: due_on?,
                    lead: lead?,
                    themes: themes?,
                })
            },
            async |w,
                   ActionChange {
                       id,
                       mut row,
                       potential,
                       start_on,
                       due_on,
                       lead,
                       themes,
                   }| {
                let before = w.find::<action::Entity>("action", id).await?;
                require_action(w, &before).await?;
                let mut check = Check::default();
                potential_by_staff(w, &mut check, before.potential, potential.after(before.potential));
                let completed_on = completion(
                    &mut check,
                    input.completed_on.value().map(|d| d.0),
                    input.status.value().copied().map_or(before.status, Into::into),
                    before.status == action::ActionStatus::Completed,
                    before.completed_on,
                );
                // The dates after the change must still be in order.
                let field = if due_on.after(None).is_some() {
                    "dueOn"
                } else {
                    "startOn"
                };
                let (s, d) = (start_on.after(before.start_on), due_on.after(before.due_on));
                // The place after the change must still be a pair.
                let location = place_after(&mut check, &input.latitude, &input.longitude, &before);
                if let (Some(s), Some(d)) = (s, d)
                    && d < s
                {
                    check.add(
                        field,
                        UserErrorCode::OutOfRange,
                        format!("{d} is before the start {s}"),
                    );
                }
                // Nor may a completion date changed, or a start moved, put the end before the
                // start. Completing without a date (today) is let be: the work was done before
                // the start it had planned; and a form sent back as it was read passes.
                if let (Some(s), Some(c)) = (s, completed_on)
                    && c < s
                {
                    if input.completed_on.value().is_some() && completed_on != before.completed_on {
                        check.add(
                            "completedOn",
                            UserErrorCode::OutOfRange,
                            format!("{c} is before the start {s}"),
                        );
                    } else if start_on.after(None).is_some() && Some(s) != before.start_on {
                        check.add(
                            "startOn",
                            UserErrorCode::OutOfRange,
                            format!("{s} is after the completion {c}"),
                        );
                    }
                }
                if let Change::Set(Some(org)) = &lead {
                    w.check_exists::<entity::organization::Entity>(
                        &mut check,
                        "leadOrganizationId",
                        *org,
                        "organisation",
                    )
                    .await?;
                }
                if let Some(themes) = &themes {
                    for (i, theme) in themes {
                        w.check_exists::<entity::theme::Entity>(
                            &mut check,
                            &format!("themeIds.{i}"),
                            *theme,
                            "theme",
                        )
                        .await?;
                    }
                }
                check.done()?;
                potential.apply(&mut row.potential);
                start_on.apply(&mut row.start_on);
                due_on.apply(&mut row.due_on);
                lead.apply(&mut row.lead_organization_id);
                if completed_on != before.completed_on {
                    row.completed_on = Set(completed_on);
                }
                // Completing an action completes its progress, unless the change says otherwise.
                let completing = input.status.value().copied().map(action::ActionStatus::from)
                    == Some(action::ActionStatus::Completed)
                    && before.status != action::ActionStatus::Completed;
                if completing && input.progress.is_undefined() {
                    row.progress = Set(100);
                }
                // A finished action takes no more partners: the partners' pending proposals
                // are declined, each partner told why (as when the plan is archived).
                let finishing = input
                    .status
                    .value()
                    .copied()
                    .map(action::ActionStatus::from)
                    .filter(|s| {
                        matches!(s, action::ActionStatus::Completed | action::ActionStatus::Dropped)
                            && *s != before.status
                    });
                if let Some(status) = finishing {
                    crate::partnership::mutation::decline_with_action(
                        w,
                        before.id,
                        status == action::ActionStatus::Completed,
                    )
                    .await?;
                }
                if let Some((latitude, longitude)) = location {
                    row.latitude = Set(latitude);
                    row.longitude = Set(longitude);
                }
                let themes: Option<Vec<Uuid>> = themes.map(|t| t.into_iter().map(|(_, id)| id).collect());
                links::update_with::<action::Entity, action_theme::Entity>(
                    w,
                    NodeType::Action,
                    "action",
                    &before,
                    input.version,
                    row,
                    themes.as_deref(),
                )
                .await
            },
            |m| UpdateActionPayload::ok(Action(m)),
        )
        .await
    }

    /// Deletes an action with its departments, progress notes and theme links, and the
    /// partners' proposals to join it that were not taken up. Refused while partnerships or
    /// idea exchanges refer to it. Staff, and editors of the plan's community.
    #[graphql(guard = "Require::Writer", visible = "visible_to_writers")]
    async fn delete_action(&self, ctx: &Context<'_>, input: DeleteActionInput) -> Result<DeletePayload> {
        delete_node::<action::Entity>(
            ctx,
            NodeType::Action,
            "action",
            &input.id,
            input.version,
            async |w, before| {
                require_action(w, before).await?;
                proposals_go_with(w, before.id).await?;
                w.refuse_if_used(before.id, REFERENCES).await
            },
        )
        .await
    }

    /// Names a municipal department as contributing to an action; a department contributes
    /// once, and one department leads (a second `LEAD` is `TAKEN`). Staff, and editors of the
    /// plan's community.
    #[graphql(guard = "Require::Writer", visible = "visible_to_writers")]
    async fn add_action_department(
        &self,
        ctx: &Context<'_>,
        input: AddActionDepartmentInput,
    ) -> Result<AddActionDepartmentPayload> {
        mutate(
            ctx,
            |check| {
                let action_id = check.id("actionId", &input.action_id, NodeType::Action);
                let department = check.id("departmentId", &input.department_id, NodeType::Department);
                let contribution = check.long_text("contribution", &input.contribution, MAX_TEXT);
                Some((action_id?, department?, contribution?))
            },
            async |w, (action_id, department, contribution)| {
                let mut check = Check::default();
                w.check_exists::<entity::action::Entity>(&mut check, "actionId", action_id, "action")
                    .await?;
                w.check_exists::<entity::department::Entity>(
                    &mut check,
                    "departmentId",
                    department,
                    "department",
                )
                .await?;
                check.done()?;
                writable_action(w, action_id).await?;
                department_free(w, action_id, department).await?;
                if input.role == DepartmentRole::Lead {
                    lead_free(w, action_id, None).await?;
                }
                let now = crate::common::now();
                w.create(
                    NodeType::ActionDepartment,
                    action_department::ActiveModel {
                        id: Set(Uuid::now_v7()),
                        action_id: Set(action_id),
                        department_id: Set(department),
                        role: Set(input.role.into()),
                        contribution: Set(contribution),
                        ..new_row(now)
                    },
                )
                .await
            },
            |m| AddActionDepartmentPayload::ok(ActionDepartment(m)),
        )
        .await
    }

    /// Changes a department's role or contribution (one department leads: a second `LEAD` is
    /// `TAKEN`). Staff, and editors of the plan's community.
    #[graphql(guard = "Require::Writer", visible = "visible_to_writers")]
    async fn update_action_department(
        &self,
        ctx: &Context<'_>,
        input: UpdateActionDepartmentInput,
    ) -> Result<UpdateActionDepartmentPayload> {
        mutate(
            ctx,
            |check| {
                let id = check.id("id", &input.id, NodeType::ActionDepartment);
                let contribution =
                    check.update_long_text("contribution", input.contribution.as_deref(), MAX_TEXT);
                check.not_null(&[("role", input.role.is_null())]);
                Some((id?, contribution?))
            },
            async |w, (id, contribution)| {
                let before = w
                    .find::<action_department::Entity>("action department", id)
                    .await?;
                writable_action(w, before.action_id).await?;
                if input.role.value() == Some(&DepartmentRole::Lead) {
                    lead_free(w, before.action_id, Some(before.id)).await?;
                }
                let row = action_department::ActiveModel {
                    role: set_if(input.role.value().copied().map(Into::into)),
                    contribution: set_if(contribution),
                    ..Default::default()
                };
                w.update::<action_department::Entity>(NodeType::ActionDepartment, &before, input.version, row)
                    .await
            },
            |m| UpdateActionDepartmentPayload::ok(ActionDepartment(m)),
        )
        .await
    }

    /// Removes a department from an action. Staff, and editors of the plan's community.
    #[graphql(guard = "Require::Writer", visible = "visible_to_writers")]
    async fn remove_action_department(
        &self,
        ctx: &Context<'_>,
        input: RemoveActionDepartmentInput,
    ) -> Result<DeletePayload> {
        delete_node::<action_department::Entity>(
            ctx,
            NodeType::ActionDepartment,
            "action department",
            &input.id,
            input.version,
            async |w, before| {
                writable_action(w, before.action_id).await?;
                Ok(())
            },
        )
        .await
    }

    /// Posts a progress note on an action. With `progress`, the action's progress becomes it
    /// too, unless a note posted later (by `postedOn`) gives one. Staff, and editors of the
    /// plan's community.
    #[graphql(guard = "Require::Writer", visible = "visible_to_writers")]
    async fn create_action_update(
        &self,
        ctx: &Context<'_>,
        input: CreateActionUpdateInput,
    ) -> Result<CreateActionUpdatePayload> {
        mutate(
            ctx,
            |check| {
                let action_id = check.id("actionId", &input.action_id, NodeType::Action);
                let body = check.text("body", &input.body, MAX_TEXT);
                let progress = check.opt_int("progress", input.progress, 0, 100);
                let author = check.given(input.author_name.as_deref(), |c, a| {
                    c.text("authorName", a, MAX_NAME)
                });
                let posted_on = check.opt_past_date("postedOn", input.posted_on.map(|d| d.0));
                Some((action_id?, body?, progress?, author?, posted_on?))
            },
            async |w, (action_id, body, progress, author, posted_on)| {
                let mut check = Check::default();
                w.check_exists::<entity::action::Entity>(&mut check, "actionId", action_id, "action")
                    .await?;
                check.done()?;
                let mut action = writable_action(w, action_id).await?;
                if progress.is_some() {
                    // The note changes the action: it is held, and read again, so that notes
                    // posted at once apply one after the other, each to the action as the one
                    // before left it (not a CONFLICT on a version their clients never sent).
                    w.locking(action::Entity::find_by_id(action_id))
                        .one(w.txn())
                        .await?;
                    action = writable_action(w, action_id).await?;
                }
                let author = match author {
                    Some(a) => a,
                    None => author_of(w).await?,
                };
                // The server runs in the municipality's time zone, so its date is Danish.
                let posted_on = posted_on.unwrap_or_else(today);
                let now = crate::common::now();
                let model = w
                    .create(
                        NodeType::ActionUpdate,
                        action_update::ActiveModel {
                            id: Set(Uuid::now_v7()),
                            action_id: Set(action_id),
                            body: Set(body),
                            progress: Set(progress),
                            author_name: Set(author),
                            posted_on: Set(posted_on),
                            ..new_row(now)
                        },
                    )
                    .await?;
                if let Some(p) = progress
                    && !later_progress(w, action_id, posted_on).await?
                {
                    let mut row = action::ActiveModel {
                        progress: Set(p),
                        ..Default::default()
                    };
                    // The status follows the note: work has begun on a planned action, and an
                    // action at 100 % is completed, on the note's day (one that began after it
                    // keeps its status: its editors date the completion).
                    use action::ActionStatus::{Completed, InProgress, Planned};
                    let begun = action.start_on.is_none_or(|s| s <= posted_on);
                    let completing = p == 100 && matches!(action.status, Planned | InProgress) && begun;
                    if completing {
                        row.status = Set(Completed);
                        row.completed_on = Set(Some(posted_on));
                    } else if p > 0 && action.status == Planned {
                        row.status = Set(InProgress);
                    }
                    w.update::<action::Entity>(NodeType::Action, &action, action.version, row)
                        .await?;
                    // Completed by the note: the partners' pending proposals are declined, as
                    // when the status is set to COMPLETED.
                    if completing {
                        crate::partnership::mutation::decline_with_action(w, action.id, true).await?;
                    }
                }
                Ok(model)
            },
            |m| CreateActionUpdatePayload::ok(ActionUpdate(m)),
        )
        .await
    }

    /// Changes a progress note (not the action's progress). Staff, and editors of the plan's
    /// community.
    #[graphql(guard = "Require::Writer", visible = "visible_to_writers")]
    async fn update_action_update(
        &self,
        ctx: &Context<'_>,
        input: UpdateActionUpdateInput,
    ) -> Result<UpdateActionUpdatePayload> {
        mutate(
            ctx,
            |check| {
                let id = check.id("id", &input.id, NodeType::ActionUpdate);
                let body = check.update_text("body", input.body.as_deref(), MAX_TEXT);
                let progress = change(&input.progress, |p| check.int("progress", *p, 0, 100));
                let author = check.update_text("authorName", input.author_name.as_deref(), MAX_NAME);
                let posted_on =
                    check.update("postedOn", input.posted_on, |c, d| c.past_date("postedOn", d.0));
                let mut row = action_update::ActiveModel {
                    body: set_if(body?),
                    author_name: set_if(author?),
                    posted_on: set_if(posted_on?),
                    ..Default::default()
                };
                progress?.apply(&mut row.progress);
                Some((id?, row))
            },
            async |w, (id, row)| {
                let before = w.find::<action_update::Entity>("action update", id).await?;
                writable_action(w, before.action_id).await?;
                w.update::<action_update::Entity>(NodeType::ActionUpdate, &before, input.version, row)
                    .await
            },
            |m| UpdateActionUpdatePayload::ok(ActionUpdate(m)),
        )
        .await
    }

    /// Deletes a progress note. Staff, and editors of the plan's community.
    #[graphql(guard = "Require::Writer", visible = "visible_to_writers")]
    async fn delete_action_update(
        &self,
        ctx: &Context<'_>,
        input: DeleteActionUpdateInput,
    ) -> Result<DeletePayload> {
        delete_node::<action_update::Entity>(
            ctx,
            NodeType::ActionUpdate,
            "action update",
            &input.id,
            input.version,
            async |w, before| {
                writable_action(w, before.action_id).await?;
                Ok(())
            },
        )
        .await
    }
}
