//! Writing engagement events: the community's editors and staff record the meetings,
//! workshops and working days held, with the organisations present.
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result};
use chrono::NaiveDate;
use entity::{engagement_event, engagement_event_organization, plan};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use super::{EngagementEvent, EventKind};
use crate::{
    auth::{Require, visible_to_writers},
    common::Date,
    links,
    relay::NodeType,
    write::{
        DeletePayload, Failure, MAX_NAME, MAX_TEXT, MaybeRef, Refused, UserErrorCode, Write, delete_node,
        mutate, new_row, payload, set_if,
    },
};

/// More participants than any local event has had; a bigger number is a typing error.
const MAX_PARTICIPANTS: i32 = 1_000_000;

#[derive(InputObject)]
pub struct CreateEngagementEventInput {
    pub community_id: ID,
    /// The plan the event was held for; it must be one of the community's.
    pub plan_id: Option<ID>,
    pub kind: EventKind,
    pub title: String,
    #[graphql(default)]
    pub description: String,
    /// When it was held: not in the future (what is counted has happened).
    pub occurred_on: Date,
    /// Number of participants, 0 or more.
    #[graphql(default)]
    pub participants: i32,
    /// Organisations present.
    #[graphql(default)]
    pub organization_ids: Vec<ID>,
}

/// Fields left out stay as they are; `planId: null` unties the event from its plan. The
/// community of an event does not change.
#[derive(InputObject)]
pub struct UpdateEngagementEventInput {
    pub id: ID,
    /// The version the change is based on; a stale one is a CONFLICT.
    pub version: i32,
    pub plan_id: MaybeUndefined<ID>,
    pub kind: MaybeUndefined<EventKind>,
    pub title: MaybeUndefined<String>,
    pub description: MaybeUndefined<String>,
    pub occurred_on: MaybeUndefined<Date>,
    pub participants: MaybeUndefined<i32>,
    /// Replaces the organisations present.
    pub organization_ids: MaybeUndefined<Vec<ID>>,
}

#[derive(InputObject)]
pub struct DeleteEngagementEventInput {
    pub id: ID,
    pub version: i32,
}

payload!(CreateEngagementEventPayload, engagement_event: EngagementEvent);
payload!(UpdateEngagementEventPayload, engagement_event: EngagementEvent);

/// A user error unless `plan` exists, the viewer may see it, and it belongs to `community`.
async fn check_plan(w: &Write, plan: Uuid, community: Uuid) -> Result<(), Failure> {
    match w.visible::<plan::Entity>(plan).await? {
        None => Err(Refused::one("planId", UserErrorCode::NotFound, "no plan with this ID").into()),
        Some(p) if p.community_id != community => Err(Refused::one(
            "planId",
            UserErrorCode::Invalid,
            "the plan belongs to another community",
        )
        .into()),
        Some(p) => Ok(crate::write::require_unarchived(w, &p)?),
    }
}

/// The same event twice would count its participants twice in the engagement figures and
/// the annual review: `TAKEN` when the community has an event of this kind, day and title
/// (read alike: [`crate::common::comparable`]) other than `except`. Two writers at once are not
/// held apart.
async fn refuse_twin(
    w: &Write,
    community: Uuid,
    kind: engagement_event::EventKind,
    day: NaiveDate,
    title: &str,
    except: Option<Uuid>,
) -> Result<(), Failure> {
    let same = crate::common::comparable;
    let title = same(title);
    let twin = engagement_event::Entity::find()
        .filter(engagement_event::Column::CommunityId.eq(community))
        .filter(engagement_event::Column::Kind.eq(kind))
        .filter(engagement_event::Column::OccurredOn.eq(day))
        .all(w.txn())
        .await?
        .into_iter()
        .any(|e| Some(e.id) != except && same(&e.title) == title);
    if twin {
        return Err(Refused::one(
            "title",
            UserErrorCode::Taken,
            "this event is already recorded: the same community, kind, title and day",
        )
        .into());
    }
    Ok(())
}

/// FORBIDDEN when `event` is tied to an archived plan and the viewer is not staff.
async fn unarchived_event(w: &Write, event: &engagement_event::Model) -> Result<(), Failure> {
    if let Some(p) = event.plan_id {
        crate::write::require_unarchived(w, &w.find::<plan::Entity>("plan", p).await?)?;
    }
    Ok(())
}

/// A new event after its input's checks.
#[derive(Clone)]
struct NewEvent {
    community: Uuid,
    plan_id: Option<Uuid>,
    title: String,
    description: String,
    occurred_on: NaiveDate,
    participants: i32,
    organizations: Vec<Uuid>,
}

/// An update of an event after its input's checks: each field `None` when left out
/// (`plan_id` `Some(None)` when the event is untied from its plan).
#[derive(Clone)]
struct EventChanges {
    id: Uuid,
    plan_id: Option<Option<Uuid>>,
    title: Option<String>,
    description: Option<String>,
    occurred_on: Option<NaiveDate>,
    participants: Option<i32>,
    organizations: Option<Vec<Uuid>>,
}

#[derive(Default)]
pub struct EngagementMutation;

#[Object]
impl EngagementMutation {
    /// Records an event held in a community; the same event (community, kind, title and day,
    /// case and spacing aside) is recorded once (`TAKEN`). Editors of the community and staff;
    /// an event tied to an archived plan, staff.
    #[graphql(guard = "Require::Writer", visible = "visible_to_writers")]
    async fn create_engagement_event(
        &self,
        ctx: &Context<'_>,
        input: CreateEngagementEventInput,
    ) -> Result<CreateEngagementEventPayload> {
        mutate(
            ctx,
            |check| {
                let community = check.id("communityId", &input.community_id, NodeType::Community);
                let plan_id = check.opt_id("planId", input.plan_id.as_ref(), NodeType::Plan);
                let title = check.text("title", &input.title, MAX_NAME);
                let description = check.long_text("description", &input.description, MAX_TEXT);
                let occurred_on = check.past_date("occurredOn", input.occurred_on.0);
                let participants = check.int("participants", input.participants, 0, MAX_PARTICIPANTS);
                let organizations =
                    check.ids("organizationIds", &input.organization_ids, NodeType::Organization);
                Some(NewEvent {
                    community: community?,
                    plan_id: plan_id?,
                    title: title?,
                    description: description?,
                    occurred_on: occurred_on?,
                    participants: participants?,
                    organizations: organizations?,
                })
            },
            async |w, e| {
                // Communities are public: a made-up one is NOT_FOUND for anyone.
                w.exists("communityId", NodeType::Community, e.community, "community")
                    .await?;
                w.require_community(e.community)?;
                if let Some(p) = e.plan_id {
                    check_plan(w, p, e.community).await?;
                }
                links::all_exist(
                    w,
                    "organizationIds",
                    &input.organization_ids,
                    NodeType::Organization,
                    "organisation",
                )
                .await?;
                let kind: engagement_event::EventKind = input.kind.into();
                refuse_twin(w, e.community, kind, e.occurred_on, &e.title, None).await?;
                let now = crate::common::now();
                let model = w
                    .create(
                        NodeType::EngagementEvent,
                        engagement_event::ActiveModel {
                            id: Set(Uuid::now_v7()),
                            community_id: Set(e.community),
                            plan_id: Set(e.plan_id),
                            kind: Set(kind),
                            title: Set(e.title),
                            description: Set(e.description),
                            occurred_on: Set(e.occurred_on),
                            participants: Set(e.participants),
                            ..new_row(now)
                        },
                    )
                    .await?;
                links::set::<engagement_event_organization::Entity>(
                    w,
                    NodeType::EngagementEvent,
                    model.id,
                    &e.organizations,
                )
                .await?;
                Ok(model)
            },
            |m| CreateEngagementEventPayload::ok(EngagementEvent(m)),
        )
        .await
    }

    /// Changes an event. Editors of its community and staff.
    #[graphql(guard = "Require::Writer", visible = "visible_to_writers")]
    async fn update_engagement_event(
        &self,
        ctx: &Context<'_>,
        input: UpdateEngagementEventInput,
    ) -> Result<UpdateEngagementEventPayload> {
        mutate(
            ctx,
            |check| {
                let id = check.id("id", &input.id, NodeType::EngagementEvent);
                let plan_id = check.given(input.plan_id.as_opt_ref(), |c, p| {
                    c.opt_id("planId", p, NodeType::Plan)
                });
                let title = check.update_text("title", input.title.as_deref(), MAX_NAME);
                let description =
                    check.update_long_text("description", input.description.as_deref(), MAX_TEXT);
                let occurred_on = check.update("occurredOn", input.occurred_on, |c, d| {
                    c.past_date("occurredOn", d.0)
                });
                let participants = check.update("participants", input.participants, |c, n| {
                    c.int("participants", n, 0, MAX_PARTICIPANTS)
                });
                let organizations = check.update_ids(
                    "organizationIds",
                    input.organization_ids.as_deref(),
                    NodeType::Organization,
                );
                check.not_null(&[("kind", input.kind.is_null())]);
                Some(EventChanges {
                    id: id?,
                    plan_id: plan_id?,
                    title: title?,
                    description: description?,
                    occurred_on: occurred_on?,
                    participants: participants?,
                    organizations: organizations?,
                })
            },
            async |w, e| {
                let before = w
                    .find::<engagement_event::Entity>("engagement event", e.id)
                    .await?;
                w.require_community(before.community_id)?;
                unarchived_event(w, &before).await?;
                if let Some(Some(p)) = e.plan_id {
                    check_plan(w, p, before.community_id).await?;
                }
                let kind = input.kind.value().copied().map(engagement_event::EventKind::from);
                if kind.is_some() || e.title.is_some() || e.occurred_on.is_some() {
                    refuse_twin(
                        w,
                        before.community_id,
                        kind.unwrap_or(before.kind),
                        e.occurred_on.unwrap_or(before.occurred_on),
                        e.title.as_deref().unwrap_or(&before.title),
                        Some(before.id),
                    )
                    .await?;
                }
                if let Some(given) = input.organization_ids.value() {
                    links::all_exist(
                        w,
                        "organizationIds",
                        given,
                        NodeType::Organization,
                        "organisation",
                    )
                    .await?;
                }
                let row = engagement_event::ActiveModel {
                    plan_id: set_if(e.plan_id),
                    kind: set_if(input.kind.value().copied().map(Into::into)),
                    title: set_if(e.title),
                    description: set_if(e.description),
                    occurred_on: set_if(e.occurred_on),
                    participants: set_if(e.participants),
                    ..Default::default()
                };
                links::update_with::<engagement_event::Entity, engagement_event_organization::Entity>(
                    w,
                    NodeType::EngagementEvent,
                    "engagement event",
                    &before,
                    input.version,
                    row,
                    e.organizations.as_deref(),
                )
                .await
            },
            |m| UpdateEngagementEventPayload::ok(EngagementEvent(m)),
        )
        .await
    }

    /// Deletes an event (the record of the organisations present goes with it). Editors of
    /// its community and staff.
    #[graphql(guard = "Require::Writer", visible = "visible_to_writers")]
    async fn delete_engagement_event(
        &self,
        ctx: &Context<'_>,
        input: DeleteEngagementEventInput,
    ) -> Result<DeletePayload> {
        delete_node::<engagement_event::Entity>(
            ctx,
            NodeType::EngagementEvent,
            "engagement event",
            &input.id,
            input.version,
            async |w, before| {
                w.require_community(before.community_id)?;
                unarchived_event(w, before).await
            },
        )
        .await
    }
}
