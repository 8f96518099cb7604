//! Writing engagement events: the community's editors and staff record the meetings,
//! workshops and working days held, with the organisations present.
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result};
use chrono::Utc;
use entity::{engagement_event, engagement_event_organization, organization, plan};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Set};
use serde::Serialize;
use uuid::Uuid;

use super::{EngagementEvent, EventKind};
use crate::{
    auth::{Require, visible_to_writers},
    common::Date,
    relay,
    write::{
        Check, DeletePayload, Failure, MAX_NAME, MAX_TEXT, Operation, Refused, UserErrorCode, Write, finish,
        invalid, payload,
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
    pub kind: Option<EventKind>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub occurred_on: Option<Date>,
    pub participants: Option<i32>,
    /// Replaces the organisations present.
    pub organization_ids: Option<Vec<ID>>,
}

#[derive(InputObject)]
pub struct DeleteEngagementEventInput {
    pub id: ID,
    pub version: i32,
}

payload!(CreateEngagementEventPayload, engagement_event: EngagementEvent);
payload!(UpdateEngagementEventPayload, engagement_event: EngagementEvent);

/// The organisations present, as the audit log records them (the join rows have no ID of
/// their own, so their changes are recorded on the event).
#[derive(Serialize)]
struct OrganizationLinks {
    organization_ids: Vec<Uuid>,
}

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
        Some(_) => Ok(()),
    }
}

/// A user error on each `organizationIds.i` naming an organisation that does not exist.
async fn check_organizations(w: &Write, given: &[ID], ids: &[Uuid]) -> Result<(), Failure> {
    if ids.is_empty() {
        return Ok(());
    }
    let found: Vec<Uuid> = organization::Entity::find()
        .select_only()
        .column(organization::Column::Id)
        .filter(organization::Column::Id.is_in(ids.iter().copied()))
        .into_tuple()
        .all(w.txn())
        .await?;
    let mut check = Check::default();
    for (i, v) in given.iter().enumerate() {
        if let Ok(id) = relay::decode_as(v, "Organization")
            && !found.contains(&id)
        {
            check.add(
                &format!("organizationIds.{i}"),
                UserErrorCode::NotFound,
                "no organisation with this ID",
            );
        }
    }
    Ok(check.done()?)
}

/// Replaces the organisations present and records the change when there is one.
async fn set_organizations(w: &Write, event: Uuid, organizations: &[Uuid]) -> Result<(), Failure> {
    let mut before: Vec<Uuid> = engagement_event_organization::Entity::find()
        .select_only()
        .column(engagement_event_organization::Column::OrganizationId)
        .filter(engagement_event_organization::Column::EventId.eq(event))
        .into_tuple()
        .all(w.txn())
        .await?;
    before.sort();
    let mut after = organizations.to_vec();
    after.sort();
    if before == after {
        return Ok(());
    }
    engagement_event_organization::Entity::delete_many()
        .filter(engagement_event_organization::Column::EventId.eq(event))
        .exec(w.txn())
        .await?;
    engagement_event_organization::Entity::insert_many(after.iter().map(|o| {
        engagement_event_organization::ActiveModel {
            event_id: Set(event),
            organization_id: Set(*o),
        }
    }))
    .exec_without_returning(w.txn())
    .await?;
    w.audit(
        "EngagementEvent",
        event,
        Operation::Update,
        Some(&OrganizationLinks {
            organization_ids: before,
        }),
        Some(&OrganizationLinks {
            organization_ids: after,
        }),
    )
    .await?;
    Ok(())
}

#[derive(Default)]
pub struct EngagementMutation;

#[Object]
impl EngagementMutation {
    /// Records an event held in a community. Editors of the community and staff.
    #[graphql(guard = "Require::Writer", visible = "visible_to_writers")]
    async fn create_engagement_event(
        &self,
        ctx: &Context<'_>,
        input: CreateEngagementEventInput,
    ) -> Result<CreateEngagementEventPayload> {
        let result: Result<engagement_event::Model, Failure> = async {
            let mut check = Check::default();
            let community = check.id("communityId", &input.community_id, "Community");
            let plan_id = check.opt_id("planId", input.plan_id.as_ref(), "Plan");
            let title = check.text("title", &input.title, MAX_NAME);
            let description = check.long_text("description", &input.description, MAX_TEXT);
            let occurred_on = check.date("occurredOn", input.occurred_on.0);
            let participants = check.int("participants", input.participants, 0, MAX_PARTICIPANTS);
            let organizations = check.ids("organizationIds", &input.organization_ids, "Organization");
            check.done()?;
            let (
                Some(community),
                Some(plan_id),
                Some(title),
                Some(description),
                Some(occurred_on),
                Some(participants),
                Some(organizations),
            ) = (
                community,
                plan_id,
                title,
                description,
                occurred_on,
                participants,
                organizations,
            )
            else {
                return Err(invalid());
            };
            let w = Write::begin(ctx).await?;
            w.require_community(community)?;
            w.exists("communityId", "community", community, "community")
                .await?;
            if let Some(p) = plan_id {
                check_plan(&w, p, community).await?;
            }
            check_organizations(&w, &input.organization_ids, &organizations).await?;
            let now = Utc::now();
            let model = w
                .create(
                    "EngagementEvent",
                    engagement_event::ActiveModel {
                        id: Set(Uuid::now_v7()),
                        community_id: Set(community),
                        plan_id: Set(plan_id),
                        kind: Set(input.kind.into()),
                        title: Set(title),
                        description: Set(description),
                        occurred_on: Set(occurred_on),
                        participants: Set(participants),
                        created_at: Set(now),
                        updated_at: Set(now),
                        version: Set(1),
                    },
                )
                .await?;
            set_organizations(&w, model.id, &organizations).await?;
            w.commit().await?;
            Ok(model)
        }
        .await;
        finish(result, |m| CreateEngagementEventPayload::ok(EngagementEvent(m)))
    }

    /// Changes an event. Editors of its community and staff.
    #[graphql(guard = "Require::Writer", visible = "visible_to_writers")]
    async fn update_engagement_event(
        &self,
        ctx: &Context<'_>,
        input: UpdateEngagementEventInput,
    ) -> Result<UpdateEngagementEventPayload> {
        let result: Result<engagement_event::Model, Failure> = async {
            let mut check = Check::default();
            let id = check.id("id", &input.id, "EngagementEvent");
            let plan_id = match &input.plan_id {
                MaybeUndefined::Undefined => Some(None),
                MaybeUndefined::Null => Some(Some(None)),
                MaybeUndefined::Value(p) => check.id("planId", p, "Plan").map(|p| Some(Some(p))),
            };
            let title = input.title.as_deref().map(|t| check.text("title", t, MAX_NAME));
            let description = input
                .description
                .as_deref()
                .map(|d| check.long_text("description", d, MAX_TEXT));
            let occurred_on = input.occurred_on.map(|d| check.date("occurredOn", d.0));
            let participants = input
                .participants
                .map(|n| check.int("participants", n, 0, MAX_PARTICIPANTS));
            let organizations = input
                .organization_ids
                .as_deref()
                .map(|o| check.ids("organizationIds", o, "Organization"));
            check.done()?;
            let (Some(id), Some(plan_id)) = (id, plan_id) else {
                return Err(invalid());
            };
            let w = Write::begin(ctx).await?;
            let before = w.find::<engagement_event::Entity>("engagement event", id).await?;
            w.require_community(before.community_id)?;
            if let Some(Some(p)) = plan_id {
                check_plan(&w, p, before.community_id).await?;
            }
            if let (Some(Some(organizations)), Some(given)) = (&organizations, &input.organization_ids) {
                check_organizations(&w, given, organizations).await?;
            }
            let mut row = engagement_event::ActiveModel::default();
            if let Some(p) = plan_id {
                row.plan_id = Set(p);
            }
            if let Some(kind) = input.kind {
                row.kind = Set(kind.into());
            }
            if let Some(Some(t)) = title {
                row.title = Set(t);
            }
            if let Some(Some(d)) = description {
                row.description = Set(d);
            }
            if let Some(Some(d)) = occurred_on {
                row.occurred_on = Set(d);
            }
            if let Some(Some(n)) = participants {
                row.participants = Set(n);
            }
            let after = w
                .update::<engagement_event::Entity>("EngagementEvent", &before, input.version, row)
                .await?;
            if let Some(Some(organizations)) = organizations {
                set_organizations(&w, id, &organizations).await?;
            }
            w.commit().await?;
            Ok(after)
        }
        .await;
        finish(result, |m| UpdateEngagementEventPayload::ok(EngagementEvent(m)))
    }

    /// Deletes an event (the record of the organisations present goes with it). Editors of
    /// its community and staff.
    #[graphql(guard = "Require::Writer", visible = "visible_to_writers")]
    async fn delete_engagement_event(
        &self,
        ctx: &Context<'_>,
        input: DeleteEngagementEventInput,
    ) -> Result<DeletePayload> {
        let result: Result<Uuid, Failure> = async {
            let mut check = Check::default();
            let id = check.id("id", &input.id, "EngagementEvent");
            check.done()?;
            let Some(id) = id else {
                return Err(invalid());
            };
            let w = Write::begin(ctx).await?;
            let before = w.find::<engagement_event::Entity>("engagement event", id).await?;
            w.require_community(before.community_id)?;
            w.delete::<engagement_event::Entity>("EngagementEvent", &before, input.version)
                .await?;
            w.commit().await?;
            Ok(id)
        }
        .await;
        finish(result, |id| {
            DeletePayload::ok(relay::encode("EngagementEvent", id))
        })
    }
}
