//! The weights engagement and priorities are computed with: public (the method is
//! transparent), changed by staff, every change in the audit log. One settings row; until
//! staff first change a weight the documented defaults apply (version 0).
use async_graphql::{Context, InputObject, MaybeUndefined, Object, Result};
use chrono::{DateTime, Utc};
use entity::engagement_weights;
use sea_orm::{DatabaseConnection, EntityTrait, Set};

use super::score::{self, MAX_WEIGHT, PriorityWeights, SETTINGS_ID, Settings, Weights};
use crate::{
    auth::{Require, visible_to_staff},
    error::ApiError,
    relay::OtherType,
    write::{Check, Failure, UserErrorCode, Write, finish, payload},
};

pub struct EngagementWeights(pub Settings);

/// The weights in force. Each engagement component's points are its figure times its weight;
/// a priority's score is the sum of its terms times theirs (see the README).
#[Object]
impl EngagementWeights {
    /// Per organisation involved in the plan(s). Default 3.
    async fn associations_involved(&self) -> f64 {
        self.0.engagement.associations_involved
    }
    /// Per engagement event in the window. Default 2.
    async fn events(&self) -> f64 {
        self.0.engagement.events
    }
    /// Per participant at those events. Default 0.1.
    async fn participants(&self) -> f64 {
        self.0.engagement.participants
    }
    /// Per organisation present at those events. Default 2.
    async fn event_organizations(&self) -> f64 {
        self.0.engagement.event_organizations
    }
    /// Per volunteer hour pledged. Default 0.02 (1 point per 50 hours).
    async fn volunteer_hours(&self) -> f64 {
        self.0.engagement.volunteer_hours
    }
    /// Per krone of co-funding. Default 0.0001 (1 point per 10,000 DKK).
    async fn co_funding_dkk(&self) -> f64 {
        self.0.engagement.co_funding_dkk
    }
    /// Per progress note. Default 1.
    async fn action_updates(&self) -> f64 {
        self.0.engagement.action_updates
    }
    /// Per action completed. Default 5.
    async fn actions_completed(&self) -> f64 {
        self.0.engagement.actions_completed
    }
    /// Per published consultation response. Default 0.5.
    async fn consultation_responses(&self) -> f64 {
        self.0.engagement.consultation_responses
    }
    /// Priorities: per point of an action's potential (1–5). Default 2.
    async fn priority_potential(&self) -> f64 {
        self.0.priority.potential
    }
    /// Priorities: per point of the community's engagement, normalised to 0–5. Default 1.
    async fn priority_engagement(&self) -> f64 {
        self.0.priority.engagement
    }
    /// Priorities: per partner committed in an active partnership (at most 5). Default 0.5.
    async fn priority_committed_partners(&self) -> f64 {
        self.0.priority.committed_partners
    }
    /// Priorities: for an action that seeks partners. Default 0.5.
    async fn priority_seeking_partners(&self) -> f64 {
        self.0.priority.seeking_partners
    }
    /// Send it back with a change: a stale one is a CONFLICT. 0 while the defaults apply.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When staff last changed a weight; null while the defaults apply.
    async fn updated_at(&self) -> Option<DateTime<Utc>> {
        self.0.updated_at
    }
}

/// Weights left out stay as they are. Each is 0–1000.
#[derive(InputObject)]
pub struct UpdateEngagementWeightsInput {
    /// The version the change is based on (0 while the defaults apply); a stale one is a
    /// CONFLICT.
    pub version: i32,
    pub associations_involved: MaybeUndefined<f64>,
    pub events: MaybeUndefined<f64>,
    pub participants: MaybeUndefined<f64>,
    pub event_organizations: MaybeUndefined<f64>,
    pub volunteer_hours: MaybeUndefined<f64>,
    pub co_funding_dkk: MaybeUndefined<f64>,
    pub action_updates: MaybeUndefined<f64>,
    pub actions_completed: MaybeUndefined<f64>,
    pub consultation_responses: MaybeUndefined<f64>,
    pub priority_potential: MaybeUndefined<f64>,
    pub priority_engagement: MaybeUndefined<f64>,
    pub priority_committed_partners: MaybeUndefined<f64>,
    pub priority_seeking_partners: MaybeUndefined<f64>,
}

payload!(UpdateEngagementWeightsPayload, engagement_weights: EngagementWeights);

fn weight(check: &mut Check, field: &str, value: MaybeUndefined<f64>, current: &mut f64) {
    match check.update(field, value, |_, v| Some(v)).flatten() {
        None => {}
        // -0 as 0: PostgreSQL kept the sign (a report printed "-0"), SQLite did not.
        Some(v) if v.is_finite() && (0.0..=MAX_WEIGHT).contains(&v) => *current = v + 0.0,
        Some(v) => check.add(
            field,
            UserErrorCode::OutOfRange,
            format!(
                "must be a number between 0 and {MAX_WEIGHT}, got {}",
                crate::write::shown_number(v)
            ),
        ),
    }
}

/// The weights after the input's changes, or the user errors.
fn apply(
    input: &UpdateEngagementWeightsInput,
    mut e: Weights,
    mut p: PriorityWeights,
) -> Result<(Weights, PriorityWeights), Failure> {
    let mut check = Check::default();
    let i = input;
    weight(
        &mut check,
        "associationsInvolved",
        i.associations_involved,
        &mut e.associations_involved,
    );
    weight(&mut check, "events", i.events, &mut e.events);
    weight(&mut check, "participants", i.participants, &mut e.participants);
    weight(
        &mut check,
        "eventOrganizations",
        i.event_organizations,
        &mut e.event_organizations,
    );
    weight(
        &mut check,
        "volunteerHours",
        i.volunteer_hours,
        &mut e.volunteer_hours,
    );
    weight(
        &mut check,
        "coFundingDkk",
        i.co_funding_dkk,
        &mut e.co_funding_dkk,
    );
    weight(
        &mut check,
        "actionUpdates",
        i.action_updates,
        &mut e.action_updates,
    );
    weight(
        &mut check,
        "actionsCompleted",
        i.actions_completed,
        &mut e.actions_completed,
    );
    weight(
        &mut check,
        "consultationResponses",
        i.consultation_responses,
        &mut e.consultation_responses,
    );
    weight(
        &mut check,
        "priorityPotential",
        i.priority_potential,
        &mut p.potential,
    );
    weight(
        &mut check,
        "priorityEngagement",
        i.priority_engagement,
        &mut p.engagement,
    );
    weight(
        &mut check,
        "priorityCommittedPartners",
        i.priority_committed_partners,
        &mut p.committed_partners,
    );
    weight(
        &mut check,
        "prioritySeekingPartners",
        i.priority_seeking_partners,
        &mut p.seeking_partners,
    );
    check.done()?;
    Ok((e, p))
}

fn row(e: &Weights, p: &PriorityWeights) -> engagement_weights::ActiveModel {
    engagement_weights::ActiveModel {
        associations_involved: Set(e.associations_involved),
        events: Set(e.events),
        participants: Set(e.participants),
        event_organizations: Set(e.event_organizations),
        volunteer_hours: Set(e.volunteer_hours),
        co_funding_dkk: Set(e.co_funding_dkk),
        action_updates: Set(e.action_updates),
        actions_completed: Set(e.actions_completed),
        consultation_responses: Set(e.consultation_responses),
        priority_potential: Set(p.potential),
        priority_engagement: Set(p.engagement),
        priority_committed_partners: Set(p.committed_partners),
        priority_seeking_partners: Set(p.seeking_partners),
        ..Default::default()
    }
}

/// The weights are at `current`, not at the `given` version the change is based on.
fn stale(current: i32, given: i32) -> ApiError {
    if current == 0 {
        ApiError::Conflict(format!(
            "the weights are still the defaults (version 0), not version {given}; reload them and try again"
        ))
    } else {
        ApiError::Conflict(format!(
            "the weights are at version {current}, not version {given}; reload them and try again"
        ))
    }
}

fn stale_defaults(version: i32) -> ApiError {
    ApiError::Conflict(format!(
        "the weights were changed by someone else since version {version}; reload them and try again"
    ))
}

#[derive(Default)]
pub struct WeightsQuery;

// Public data may be cached for a minute (see `schema::Query`).
#[Object(cache_control(max_age = 60))]
impl WeightsQuery {
    /// The weights engagement and priorities are computed with, and their version.
    async fn engagement_weights(&self, ctx: &Context<'_>) -> Result<EngagementWeights> {
        let db = ctx.data_unchecked::<DatabaseConnection>();
        Ok(EngagementWeights(
            score::settings(db).await.map_err(ApiError::from)?,
        ))
    }
}

#[derive(Default)]
pub struct WeightsMutation;

#[Object]
impl WeightsMutation {
    /// Changes weights of engagement and of priorities. Staff only; recorded in the audit log.
    /// An input that changes nothing (no weight, or only the values in force) returns the
    /// weights as they are: same version, no audit record.
    #[graphql(guard = "Require::Staff", visible = "visible_to_staff")]
    async fn update_engagement_weights(
        &self,
        ctx: &Context<'_>,
        input: UpdateEngagementWeightsInput,
    ) -> Result<UpdateEngagementWeightsPayload> {
        let result: Result<Settings, Failure> = async {
            // The input's checks do not depend on the weights in force: refuse before writing.
            apply(&input, Weights::DEFAULT, PriorityWeights::DEFAULT)?;
            let w = Write::begin(ctx).await?;
            let before = engagement_weights::Entity::find_by_id(SETTINGS_ID)
                .one(w.txn())
                .await?;
            let current = before.as_ref().map_or(Settings::DEFAULT, Settings::from_row);
            // A stale version is a CONFLICT, also for an input that would change nothing.
            if input.version != current.version {
                return Err(stale(current.version, input.version).into());
            }
            let (e, p) = apply(&input, current.engagement, current.priority)?;
            // Nothing to change (no weight given, or only the ones in force): no new version,
            // no audit record; the weights in force come back as they are.
            if (e, p) == (current.engagement, current.priority) {
                return Ok(current);
            }
            let after = match before {
                Some(before) => {
                    w.update::<engagement_weights::Entity>(
                        OtherType::EngagementWeights,
                        &before,
                        input.version,
                        row(&e, &p),
                    )
                    .await?
                }
                None => {
                    let now = crate::common::now();
                    let mut r = row(&e, &p);
                    r.id = Set(SETTINGS_ID);
                    r.created_at = Set(now);
                    r.updated_at = Set(now);
                    r.version = Set(1);
                    // Another first change landed at the same time: this one is stale.
                    w.create(OtherType::EngagementWeights, r)
                        .await
                        .map_err(|e| match e {
                            Failure::Refused(_) | Failure::Raced(_) => Failure::Error(stale_defaults(0)),
                            e => e,
                        })?
                }
            };
            w.commit().await?;
            Ok(Settings::from_row(&after))
        }
        .await;
        finish(result, |s| {
            UpdateEngagementWeightsPayload::ok(EngagementWeights(s))
        })
    }
}
