//! Writing ideas and idea exchanges. Writers write them: community editors the ideas of their
//! communities and the exchanges their communities initiate, staff everything (ideas of partner
//! organisations only staff). Theme tags, participants and resulting actions are written in the
//! same transaction as their idea or exchange and recorded in its audit entry.
use std::collections::{HashMap, HashSet};

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result};
use entity::{
    action, idea, idea_exchange, idea_exchange_action, idea_exchange_participant, idea_theme, organization,
    plan,
};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde::Serialize;
use uuid::Uuid;

use super::{ExchangeKind, Idea, IdeaExchange};
use crate::{
    auth::{Require, visible_to_writers},
    common::Date,
    error::ApiError,
    links,
    relay::{self, NodeType},
    write::{
        Check, DeletePayload, Failure, MAX_NAME, MAX_TEXT, MaybeRef, Operation, Refused, UserErrorCode,
        Write, constraint, mutate, new_row, payload, reference, set_if,
    },
};

#[derive(InputObject)]
pub struct CreateIdeaInput {
    pub title: String,
    #[graphql(default)]
    pub description: String,
    /// The community offering the idea. Give it, `organizationId`, or both (a community's idea
    /// carried by one of its local associations).
    pub community_id: Option<ID>,
    /// The organisation offering the idea. An idea of an organisation alone is written by staff.
    pub organization_id: Option<ID>,
    #[graphql(default)]
    pub theme_ids: Vec<ID>,
}

/// Fields left out stay as they are; `null` clears a field that may be empty; a list given
/// replaces the old one.
#[derive(InputObject)]
pub struct UpdateIdeaInput {
    pub id: ID,
    /// The version the change is based on; a stale one is a CONFLICT.
    pub version: i32,
    pub title: MaybeUndefined<String>,
    pub description: MaybeUndefined<String>,
    pub community_id: MaybeUndefined<ID>,
    pub organization_id: MaybeUndefined<ID>,
    pub theme_ids: MaybeUndefined<Vec<ID>>,
}

#[derive(InputObject)]
pub struct DeleteIdeaInput {
    pub id: ID,
    pub version: i32,
}

#[derive(InputObject)]
pub struct CreateIdeaExchangeInput {
    /// The idea exchanged, if it is recorded as one.
    pub idea_id: Option<ID>,
    pub title: String,
    pub kind: ExchangeKind,
    pub initiator_community_id: ID,
    /// The other communities taking part (at least one; not the initiator).
    pub participant_community_ids: Vec<ID>,
    /// When it took place: not in the future (record an exchange once it has happened).
    pub occurred_on: Option<Date>,
    /// What came of it.
    #[graphql(default)]
    pub outcome: String,
    /// Actions, in the initiator's or the participants' plans, that the exchange led to. An
    /// action comes from at most one exchange.
    #[graphql(default)]
    pub action_ids: Vec<ID>,
}

/// Fields left out stay as they are; `null` clears a field that may be empty; a list given
/// replaces the old one.
#[derive(InputObject)]
pub struct UpdateIdeaExchangeInput {
    pub id: ID,
    /// The version the change is based on; a stale one is a CONFLICT.
    pub version: i32,
    pub idea_id: MaybeUndefined<ID>,
    pub title: MaybeUndefined<String>,
    pub kind: MaybeUndefined<ExchangeKind>,
    pub initiator_community_id: MaybeUndefined<ID>,
    pub participant_community_ids: MaybeUndefined<Vec<ID>>,
    pub occurred_on: MaybeUndefined<Date>,
    pub outcome: MaybeUndefined<String>,
    pub action_ids: MaybeUndefined<Vec<ID>>,
}

#[derive(InputObject)]
pub struct DeleteIdeaExchangeInput {
    pub id: ID,
    pub version: i32,
}

payload!(CreateIdeaPayload, idea: Idea);
payload!(UpdateIdeaPayload, idea: Idea);
payload!(CreateIdeaExchangePayload, idea_exchange: IdeaExchange);
payload!(UpdateIdeaExchangePayload, idea_exchange: IdeaExchange);

/// An idea as the audit log records it: its row and its themes.
#[derive(Serialize)]
struct IdeaRecord<'a> {
    #[serde(flatten)]
    idea: &'a idea::Model,
    theme_ids: Vec<Uuid>,
}

/// An exchange as the audit log records it: its row, participants and resulting actions.
#[derive(Serialize)]
struct ExchangeRecord<'a> {
    #[serde(flatten)]
    exchange: &'a idea_exchange::Model,
    participant_community_ids: Vec<Uuid>,
    action_ids: Vec<Uuid>,
}

fn uuids(ids: &[(usize, Uuid)]) -> Vec<Uuid> {
    ids.iter().map(|(_, id)| *id).collect()
}

fn sorted(mut ids: Vec<Uuid>) -> Vec<Uuid> {
    ids.sort();
    ids
}

/// FORBIDDEN unless the viewer may write an idea offered by `community` and `organization`:
/// staff any idea; editors ideas of their communities, naming at most an organisation of
/// that same community.
async fn may_write_idea(
    w: &Write,
    community: Option<Uuid>,
    organization: Option<Uuid>,
) -> Result<(), Failure> {
    if w.viewer.is_staff() {
        return Ok(());
    }
    let Some(c) = community else {
        return Err(ApiError::forbidden("only staff may write the ideas of organisations").into());
    };
    w.require_community(c)?;
    if let Some(o) = organization {
        match organization::Entity::find_by_id(o).one(w.txn()).await? {
            None => {
                return Err(Refused::one(
                    "organizationId",
                    UserErrorCode::NotFound,
                    "no organisation with this ID",
                )
                .into());
            }
            Some(org) if org.community_id != Some(c) => {
                return Err(ApiError::forbidden(
                    "you may only name an organisation of the idea's own community",
                )
                .into());
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// The communities of the plans of `actions` (the action's ID → its plan's community). With
/// `visible_only`, actions the viewer may not see are left out, as if they did not exist.
async fn communities_of_actions(
    w: &Write,
    actions: &[Uuid],
    visible_only: bool,
) -> Result<HashMap<Uuid, Uuid>, Failure> {
    if actions.is_empty() {
        return Ok(HashMap::new());
    }
    let query = if visible_only {
        crate::action::visible(&w.viewer.access())
    } else {
        action::Entity::find()
    };
    let found = query
        .filter(action::Column::Id.is_in(actions.to_vec()))
        .all(w.txn())
        .await?;
    let plans: HashMap<Uuid, Uuid> = plan::Entity::find()
        .filter(plan::Column::Id.is_in(found.iter().map(|a| a.plan_id)))
        .all(w.txn())
        .await?
        .into_iter()
        .map(|p| (p.id, p.community_id))
        .collect();
    Ok(found
        .iter()
        .filter_map(|a| plans.get(&a.plan_id).map(|c| (a.id, *c)))
        .collect())
}

const OUTSIDE: &str = "the action must belong to a plan of the initiating or a participating community";

/// FORBIDDEN for an action of a community the viewer may not edit; user errors at
/// `actionIds.<position>` for actions that do not exist or the viewer may not see (NOT_FOUND), already came from another
/// exchange than `exchange` (TAKEN) or lie outside the exchange's `communities` (INVALID).
async fn check_actions(
    w: &Write,
    exchange: Option<Uuid>,
    actions: &[(usize, Uuid)],
    communities: &[Uuid],
) -> Result<(), Failure> {
    if actions.is_empty() {
        return Ok(());
    }
    let community_of = communities_of_actions(w, &uuids(actions), true).await?;
    let mut taken = idea_exchange_action::Entity::find()
        .filter(idea_exchange_action::Column::ActionId.is_in(uuids(actions)));
    if let Some(x) = exchange {
        taken = taken.filter(idea_exchange_action::Column::ExchangeId.ne(x));
    }
    let taken: HashSet<Uuid> = taken
        .all(w.txn())
        .await?
        .into_iter()
        .map(|l| l.action_id)
        .collect();
    // Linking an action ties its community's hands (it can no longer be deleted or linked
    // elsewhere): only those who may edit that community may link it.
    for id in uuids(actions) {
        if let Some(c) = community_of.get(&id) {
            w.require_community(*c)?;
        }
    }
    let mut check = Check::default();
    for (i, id) in actions {
        let field = format!("actionIds.{i}");
        match community_of.get(id) {
            None => check.add(&field, UserErrorCode::NotFound, "no action with this ID"),
            Some(_) if taken.contains(id) => check.add(
                &field,
                UserErrorCode::Taken,
                "the action is already recorded as the outcome of another idea exchange",
            ),
            Some(c) if !communities.contains(c) => check.add(&field, UserErrorCode::Invalid, OUTSIDE),
            Some(_) => {}
        }
    }
    Ok(check.done()?)
}

/// A user error at `participantCommunityIds.<position>` for the initiator among the
/// participants.
fn initiator_not_participant(check: &mut Check, initiator: Uuid, participants: &[(usize, Uuid)]) {
    for (i, p) in participants {
        if *p == initiator {
            check.add(
                &format!("participantCommunityIds.{i}"),
                UserErrorCode::Invalid,
                "is the initiating community, which takes part already: leave it out",
            );
        }
    }
}

/// A change to an idea exchange after its input checks: the columns that need no check, and
/// apart those the write checks (`idea` is `Some(None)` when the idea is cleared).
#[derive(Clone)]
struct ExchangeChange {
    id: Uuid,
    row: idea_exchange::ActiveModel,
    idea: Option<Option<Uuid>>,
    initiator: Option<Uuid>,
    participants: Option<Vec<(usize, Uuid)>>,
    actions: Option<Vec<(usize, Uuid)>>,
}

#[derive(Default)]
pub struct IdeaMutation;

#[Object]
impl IdeaMutation {
    /// Offers an idea or experience to other communities. Writers: editors for their own
    /// communities; an idea of an organisation alone only staff.
    #[graphql(guard = "Require::Writer", visible = "visible_to_writers")]
    async fn create_idea(&self, ctx: &Context<'_>, input: CreateIdeaInput) -> Result<CreateIdeaPayload> {
        mutate(
            ctx,
            |check| {
                let title = check.text("title", &input.title, MAX_NAME);
                let description = check.long_text("description", &input.description, MAX_TEXT);
                let community = check.opt_id("communityId", input.community_id.as_ref(), NodeType::Community);
                let organization = check.opt_id(
                    "organizationId",
                    input.organization_id.as_ref(),
                    NodeType::Organization,
                );
                let themes = check.ids_at("themeIds", &input.theme_ids, NodeType::Theme);
                if input.community_id.is_none() && input.organization_id.is_none() {
                    check.add(
                        "communityId",
                        UserErrorCode::Required,
                        "give the community or the organisation offering the idea (or both)",
                    );
                }
                Some((title?, description?, community?, organization?, themes?))
            },
            async |w, (title, description, community, organization, themes)| {
                // Communities are public: a made-up one is NOT_FOUND for anyone.
                if let Some(c) = community {
                    w.exists("communityId", NodeType::Community, c, "community")
                        .await?;
                }
                may_write_idea(w, community, organization).await?;
                if let Some(o) = organization {
                    w.exists("organizationId", NodeType::Organization, o, "organisation")
                        .await?;
                }
                links::all_exist_at(w, "themeIds", &themes, NodeType::Theme, "theme").await?;
                let now = crate::common::now();
                let model = idea::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    title: Set(title),
                    description: Set(description),
                    community_id: Set(community),
                    organization_id: Set(organization),
                    ..new_row(now)
                }
                .insert(w.txn())
                .await
                .map_err(constraint)?;
                let themes = sorted(uuids(&themes));
                links::replace::<idea_theme::Entity>(w, model.id, &themes).await?;
                let record = IdeaRecord {
                    idea: &model,
                    theme_ids: themes,
                };
                w.audit(NodeType::Idea, model.id, Operation::Create, None, Some(&record))
                    .await?;
                Ok(model)
            },
            |m| CreateIdeaPayload::ok(Idea(m)),
        )
        .await
    }

    /// Changes an idea; `themeIds` replaces its themes. Writers: editors for ideas of their own
    /// communities; ideas of an organisation alone only staff.
    #[graphql(guard = "Require::Writer", visible = "visible_to_writers")]
    async fn update_idea(&self, ctx: &Context<'_>, input: UpdateIdeaInput) -> Result<UpdateIdeaPayload> {
        mutate(
            ctx,
            |check| {
                let id = check.id("id", &input.id, NodeType::Idea);
                let title = check.update_text("title", input.title.as_deref(), MAX_NAME);
                let description =
                    check.update_long_text("description", input.description.as_deref(), MAX_TEXT);
                let community = check.given(input.community_id.as_opt_ref(), |c, v| {
                    c.opt_id("communityId", v, NodeType::Community)
                });
                let organization = check.given(input.organization_id.as_opt_ref(), |c, v| {
                    c.opt_id("organizationId", v, NodeType::Organization)
                });
                let themes = check.update("themeIds", input.theme_ids.as_deref(), |c, t| {
                    c.ids_at("themeIds", t, NodeType::Theme)
                });
                Some((id?, title?, description?, community?, organization?, themes?))
            },
            async |w, (id, title, description, community, organization, themes)| {
                let before = w.find::<idea::Entity>("idea", id).await?;
                may_write_idea(w, before.community_id, before.organization_id).await?;
                let after_community = community.unwrap_or(before.community_id);
                let after_organization = organization.unwrap_or(before.organization_id);
                if after_community.is_none() && after_organization.is_none() {
                    let field = if community.is_some() {
                        "communityId"
                    } else {
                        "organizationId"
                    };
                    return Err(Refused::one(
                        field,
                        UserErrorCode::Required,
                        "an idea needs the community or the organisation offering it",
                    )
                    .into());
                }
                if (after_community, after_organization) != (before.community_id, before.organization_id) {
                    may_write_idea(w, after_community, after_organization).await?;
                }
                if let Some(Some(c)) = community {
                    w.exists("communityId", NodeType::Community, c, "community")
                        .await?;
                }
                if let Some(Some(o)) = organization {
                    w.exists("organizationId", NodeType::Organization, o, "organisation")
                        .await?;
                }
                if let Some(t) = &themes {
                    links::all_exist_at(w, "themeIds", t, NodeType::Theme, "theme").await?;
                }
                let row = idea::ActiveModel {
                    title: set_if(title),
                    description: set_if(description),
                    community_id: set_if(community),
                    organization_id: set_if(organization),
                    ..Default::default()
                };
                let themes_before = links::of::<idea_theme::Entity>(w.txn(), id).await?;
                let themes_after = themes.map_or_else(|| themes_before.clone(), |t| sorted(uuids(&t)));
                let themes_changed = themes_after != themes_before;
                if themes_changed {
                    w.hold_at::<idea::Entity>("idea", id, input.version).await?;
                    links::replace::<idea_theme::Entity>(w, id, &themes_after).await?;
                }
                let after = w
                    .update_row::<idea::Entity>(
                        NodeType::Idea.name(),
                        &before,
                        input.version,
                        row,
                        themes_changed,
                    )
                    .await?;
                if after.version == before.version {
                    return Ok(after);
                }
                w.audit(
                    NodeType::Idea,
                    id,
                    Operation::Update,
                    Some(&IdeaRecord {
                        idea: &before,
                        theme_ids: themes_before,
                    }),
                    Some(&IdeaRecord {
                        idea: &after,
                        theme_ids: themes_after,
                    }),
                )
                .await?;
                Ok(after)
            },
            |m| UpdateIdeaPayload::ok(Idea(m)),
        )
        .await
    }

    /// Deletes an idea no exchange refers to (its theme tags go with it). Writers: editors for
    /// ideas of their own communities; ideas of an organisation alone only staff.
    #[graphql(guard = "Require::Writer", visible = "visible_to_writers")]
    async fn delete_idea(&self, ctx: &Context<'_>, input: DeleteIdeaInput) -> Result<DeletePayload> {
        mutate(
            ctx,
            |check| check.id("id", &input.id, NodeType::Idea),
            async |w, id| {
                let before = w.find::<idea::Entity>("idea", id).await?;
                may_write_idea(w, before.community_id, before.organization_id).await?;
                w.refuse_if_used(id, &[reference!(idea_exchange::IdeaId, "idea exchanges")])
                    .await?;
                let record = IdeaRecord {
                    idea: &before,
                    theme_ids: links::of::<idea_theme::Entity>(w.txn(), id).await?,
                };
                w.delete_row::<idea::Entity>(NodeType::Idea.name(), id, input.version)
                    .await?;
                w.audit(NodeType::Idea, id, Operation::Delete, Some(&record), None)
                    .await?;
                Ok(id)
            },
            |id| DeletePayload::ok(relay::encode(NodeType::Idea, id)),
        )
        .await
    }

    /// Records an idea exchange between communities, with the actions it led to. Writers:
    /// editors for exchanges their own communities initiate.
    #[graphql(guard = "Require::Writer", visible = "visible_to_writers")]
    async fn create_idea_exchange(
        &self,
        ctx: &Context<'_>,
        input: CreateIdeaExchangeInput,
    ) -> Result<CreateIdeaExchangePayload> {
        mutate(
            ctx,
            |check| {
                let idea_id = check.opt_id("ideaId", input.idea_id.as_ref(), NodeType::Idea);
                let title = check.text("title", &input.title, MAX_NAME);
                let initiator = check.id(
                    "initiatorCommunityId",
                    &input.initiator_community_id,
                    NodeType::Community,
                );
                let participants = check.ids_at(
                    "participantCommunityIds",
                    &input.participant_community_ids,
                    NodeType::Community,
                );
                let occurred_on = check.opt_past_date("occurredOn", input.occurred_on.map(|d| d.0));
                let outcome = check.long_text("outcome", &input.outcome, MAX_TEXT);
                let actions = check.ids_at("actionIds", &input.action_ids, NodeType::Action);
                if input.participant_community_ids.is_empty() {
                    check.add(
                        "participantCommunityIds",
                        UserErrorCode::Required,
                        "name at least one community taking part besides the initiator",
                    );
                }
                if let (Some(i), Some(p)) = (initiator, &participants) {
                    initiator_not_participant(check, i, p);
                }
                let (idea_id, initiator) = (idea_id?, initiator?);
                let row = idea_exchange::ActiveModel {
                    idea_id: Set(idea_id),
                    title: Set(title?),
                    kind: Set(input.kind.into()),
                    initiator_community_id: Set(initiator),
                    occurred_on: Set(occurred_on?),
                    outcome: Set(outcome?),
                    ..Default::default()
                };
                Some((row, idea_id, initiator, participants?, actions?))
            },
            async |w, (row, idea_id, initiator, participants, actions)| {
                w.require_community(initiator)?;
                if let Some(i) = idea_id {
                    w.exists("ideaId", NodeType::Idea, i, "idea").await?;
                }
                w.exists(
                    "initiatorCommunityId",
                    NodeType::Community,
                    initiator,
                    "community",
                )
                .await?;
                links::all_exist_at(
                    w,
                    "participantCommunityIds",
                    &participants,
                    NodeType::Community,
                    "community",
                )
                .await?;
                let mut communities = uuids(&participants);
                communities.push(initiator);
                check_actions(w, None, &actions, &communities).await?;
                let now = crate::common::now();
                let model = idea_exchange::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    created_at: Set(now),
                    updated_at: Set(now),
                    version: Set(1),
                    ..row
                }
                .insert(w.txn())
                .await
                .map_err(constraint)?;
                let participants = sorted(uuids(&participants));
                let actions = sorted(uuids(&actions));
                links::replace::<idea_exchange_participant::Entity>(w, model.id, &participants).await?;
                crate::write::require_unarchived_actions(w, &actions).await?;
                links::replace::<idea_exchange_action::Entity>(w, model.id, &actions).await?;
                w.touch(NodeType::Action, &actions);
                let record = ExchangeRecord {
                    exchange: &model,
                    participant_community_ids: participants,
                    action_ids: actions,
                };
                w.audit(
                    NodeType::IdeaExchange,
                    model.id,
                    Operation::Create,
                    None,
                    Some(&record),
                )
                .await?;
                Ok(model)
            },
            |m| CreateIdeaExchangePayload::ok(IdeaExchange(m)),
        )
        .await
    }

    /// Changes an idea exchange; `participantCommunityIds` and `actionIds` replace the old
    /// lists. Writers: staff; editors for exchanges their own communities initiate; and the
    /// editors of a community taking part, who change only `actionIds` (their own community's
    /// actions the exchange led to; links to other communities' actions stay as they are) and
    /// may take their own community out of `participantCommunityIds` (with its actions).
    #[graphql(guard = "Require::Writer", visible = "visible_to_writers")]
    async fn update_idea_exchange(
        &self,
        ctx: &Context<'_>,
        input: UpdateIdeaExchangeInput,
    ) -> Result<UpdateIdeaExchangePayload> {
        mutate(
            ctx,
            |check| {
                let id = check.id("id", &input.id, NodeType::IdeaExchange);
                let idea = check.given(input.idea_id.as_opt_ref(), |c, v| {
                    c.opt_id("ideaId", v, NodeType::Idea)
                });
                let title = check.update_text("title", input.title.as_deref(), MAX_NAME);
                let initiator = check.update(
                    "initiatorCommunityId",
                    input.initiator_community_id.as_ref(),
                    |c, i| c.id("initiatorCommunityId", i, NodeType::Community),
                );
                let participants = check.update(
                    "participantCommunityIds",
                    input.participant_community_ids.as_deref(),
                    |c, p| c.ids_at("participantCommunityIds", p, NodeType::Community),
                );
                let occurred_on = check.given(input.occurred_on.as_opt_ref(), |c, d| {
                    c.opt_past_date("occurredOn", d.map(|d| d.0))
                });
                let outcome = check.update_long_text("outcome", input.outcome.as_deref(), MAX_TEXT);
                let actions = check.update("actionIds", input.action_ids.as_deref(), |c, a| {
                    c.ids_at("actionIds", a, NodeType::Action)
                });
                check.not_null(&[("kind", input.kind.is_null())]);
                if input.participant_community_ids.value().is_some_and(Vec::is_empty) {
                    check.add(
                        "participantCommunityIds",
                        UserErrorCode::Required,
                        "name at least one community taking part besides the initiator",
                    );
                }
                let row = idea_exchange::ActiveModel {
                    title: set_if(title?),
                    kind: set_if(input.kind.value().copied().map(Into::into)),
                    occurred_on: set_if(occurred_on?),
                    outcome: set_if(outcome?),
                    ..Default::default()
                };
                Some(ExchangeChange {
                    id: id?,
                    row,
                    idea: idea?,
                    initiator: initiator?,
                    participants: participants?,
                    actions: actions?,
                })
            },
            async |w,
                   ExchangeChange {
                       id,
                       mut row,
                       idea,
                       initiator,
                       participants,
                       actions,
                   }| {
                let before = w.find::<idea_exchange::Entity>("idea exchange", id).await?;
                let participants_before = links::of::<idea_exchange_participant::Entity>(w.txn(), id).await?;
                // The editors of a community taking part record the actions the exchange led
                // to in their community (the adoption trail), and change nothing else.
                let taking_part = participants_before
                    .iter()
                    .any(|c| w.viewer.may_edit_community(*c));
                // ... or take their community out of it (a community recorded as taking part
                // that did not).
                let only_leaving = participants.as_ref().is_none_or(|p| {
                    let after = uuids(p);
                    after.iter().all(|c| participants_before.contains(c))
                        && participants_before
                            .iter()
                            .filter(|c| !after.contains(c))
                            .all(|c| w.viewer.may_edit_community(*c))
                });
                let only_actions = input.idea_id.is_undefined()
                    && input.title.is_undefined()
                    && input.kind.is_undefined()
                    && input.initiator_community_id.is_undefined()
                    && only_leaving
                    && input.occurred_on.is_undefined()
                    && input.outcome.is_undefined();
                if !w.viewer.may_edit_community(before.initiator_community_id) {
                    if !taking_part {
                        w.require_community(before.initiator_community_id)?;
                    } else if !only_actions {
                        return Err(crate::error::ApiError::forbidden(
                            "the editors of a community taking part may change only `actionIds` (the \
                             actions the exchange led to in their community) and take their community \
                             out of `participantCommunityIds`; the initiating community changes the rest",
                        )
                        .into());
                    }
                }
                if let Some(i) = initiator {
                    w.require_community(i)?;
                    w.exists("initiatorCommunityId", NodeType::Community, i, "community")
                        .await?;
                }
                if let Some(Some(i)) = idea {
                    w.exists("ideaId", NodeType::Idea, i, "idea").await?;
                }
                let actions_before = links::of::<idea_exchange_action::Entity>(w.txn(), id).await?;
                let after_initiator = initiator.unwrap_or(before.initiator_community_id);
                // The lists as they will be, with the positions given (none for those kept).
                let after_participants: Vec<(usize, Uuid)> = match &participants {
                    Some(p) => p.clone(),
                    None => participants_before.iter().map(|c| (0, *c)).collect(),
                };
                let mut check = Check::default();
                match &participants {
                    Some(p) => initiator_not_participant(&mut check, after_initiator, p),
                    None if participants_before.contains(&after_initiator) => check.add(
                        "initiatorCommunityId",
                        UserErrorCode::Invalid,
                        "the community already takes part; remove it from the participants first",
                    ),
                    None => {}
                }
                check.done()?;
                if let Some(p) = &participants {
                    links::all_exist_at(w, "participantCommunityIds", p, NodeType::Community, "community")
                        .await?;
                }
                let mut communities = uuids(&after_participants);
                communities.push(after_initiator);
                // Links to actions of communities the caller may not edit stay as they are
                // (an editor can neither add nor see to remove them); only links the list adds
                // are checked as new ones.
                let kept: Vec<(Uuid, Uuid)> = match &actions {
                    Some(_) => communities_of_actions(w, &actions_before, false)
                        .await?
                        .into_iter()
                        .filter(|(_, c)| !w.viewer.may_edit_community(*c))
                        .collect(),
                    None => Vec::new(),
                };
                if kept.iter().any(|(_, c)| !communities.contains(c)) {
                    return Err(Refused::one(
                        "participantCommunityIds",
                        UserErrorCode::Invalid,
                        "an action linked to the exchange by another community's editors or staff \
                         belongs to a community that would no longer take part",
                    )
                    .into());
                }
                let kept: Vec<Uuid> = kept.into_iter().map(|(a, _)| a).collect();
                match &actions {
                    Some(a) => {
                        let added: Vec<(usize, Uuid)> = a
                            .iter()
                            .filter(|(_, x)| !actions_before.contains(x))
                            .copied()
                            .collect();
                        check_actions(w, Some(id), &added, &communities).await?;
                        // The actions kept must still lie within the exchange's communities.
                        if initiator.is_some() || participants.is_some() {
                            let given: Vec<Uuid> = a
                                .iter()
                                .map(|(_, x)| *x)
                                .filter(|x| actions_before.contains(x))
                                .collect();
                            let community_of = communities_of_actions(w, &given, false).await?;
                            if community_of.values().any(|c| !communities.contains(c)) {
                                return Err(Refused::one(
                                    "actionIds",
                                    UserErrorCode::Invalid,
                                    format!("{OUTSIDE}; leave them out"),
                                )
                                .into());
                            }
                        }
                    }
                    None if initiator.is_some() || participants.is_some() => {
                        // The actions kept must still lie within the exchange's communities.
                        let community_of = communities_of_actions(w, &actions_before, false).await?;
                        if community_of.values().any(|c| !communities.contains(c)) {
                            let field = if participants.is_some() {
                                "participantCommunityIds"
                            } else {
                                "initiatorCommunityId"
                            };
                            return Err(Refused::one(
                                field,
                                UserErrorCode::Invalid,
                                format!("{OUTSIDE}; change actionIds too"),
                            )
                            .into());
                        }
                    }
                    None => {}
                }
                row.idea_id = set_if(idea);
                row.initiator_community_id = set_if(initiator);
                let participants_after =
                    participants.map_or_else(|| participants_before.clone(), |p| sorted(uuids(&p)));
                let actions_after = actions.map_or_else(
                    || actions_before.clone(),
                    |a| {
                        let mut after = uuids(&a);
                        for k in kept {
                            if !after.contains(&k) {
                                after.push(k);
                            }
                        }
                        sorted(after)
                    },
                );
                let participants_changed = participants_after != participants_before;
                let actions_changed = actions_after != actions_before;
                if participants_changed || actions_changed {
                    w.hold_at::<idea_exchange::Entity>("idea exchange", id, input.version)
                        .await?;
                }
                if participants_changed {
                    links::replace::<idea_exchange_participant::Entity>(w, id, &participants_after).await?;
                }
                if actions_changed {
                    // Their `originExchange` changes.
                    let moved: Vec<Uuid> = actions_before
                        .iter()
                        .filter(|a| !actions_after.contains(a))
                        .chain(actions_after.iter().filter(|a| !actions_before.contains(a)))
                        .copied()
                        .collect();
                    crate::write::require_unarchived_actions(w, &moved).await?;
                    links::replace::<idea_exchange_action::Entity>(w, id, &actions_after).await?;
                    w.touch(NodeType::Action, &moved);
                }
                let after = w
                    .update_row::<idea_exchange::Entity>(
                        NodeType::IdeaExchange.name(),
                        &before,
                        input.version,
                        row,
                        participants_changed || actions_changed,
                    )
                    .await?;
                if after.version == before.version {
                    return Ok(after);
                }
                w.audit(
                    NodeType::IdeaExchange,
                    id,
                    Operation::Update,
                    Some(&ExchangeRecord {
                        exchange: &before,
                        participant_community_ids: participants_before,
                        action_ids: actions_before,
                    }),
                    Some(&ExchangeRecord {
                        exchange: &after,
                        participant_community_ids: participants_after,
                        action_ids: actions_after,
                    }),
                )
                .await?;
                Ok(after)
            },
            |m| UpdateIdeaExchangePayload::ok(IdeaExchange(m)),
        )
        .await
    }

    /// Deletes an idea exchange (its participants and action links go with it; the actions
    /// stay). Writers: editors for exchanges their own communities initiate.
    #[graphql(guard = "Require::Writer", visible = "visible_to_writers")]
    async fn delete_idea_exchange(
        &self,
        ctx: &Context<'_>,
        input: DeleteIdeaExchangeInput,
    ) -> Result<DeletePayload> {
        mutate(
            ctx,
            |check| check.id("id", &input.id, NodeType::IdeaExchange),
            async |w, id| {
                let before = w.find::<idea_exchange::Entity>("idea exchange", id).await?;
                w.require_community(before.initiator_community_id)?;
                let record = ExchangeRecord {
                    exchange: &before,
                    participant_community_ids: links::of::<idea_exchange_participant::Entity>(w.txn(), id)
                        .await?,
                    action_ids: links::of::<idea_exchange_action::Entity>(w.txn(), id).await?,
                };
                crate::write::require_unarchived_actions(w, &record.action_ids).await?;
                w.delete_row::<idea_exchange::Entity>(NodeType::IdeaExchange.name(), id, input.version)
                    .await?;
                w.touch(NodeType::Action, &record.action_ids);
                w.audit(NodeType::IdeaExchange, id, Operation::Delete, Some(&record), None)
                    .await?;
                Ok(id)
            },
            |id| DeletePayload::ok(relay::encode(NodeType::IdeaExchange, id)),
        )
        .await
    }
}
