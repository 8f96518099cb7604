//! The figures of an annual review: for every community, what the programme held for one
//! calendar year, taken **as the public sees it** (`Access::anonymous()`), so that publishing a
//! review never reveals a draft plan or a pending proposal. The figures are stored as JSON in
//! the review's entries: a published review does not change when the live data does.
//!
//! Per community (in a bounded number of statements, whatever the number of communities):
//! - the plans counted: published (adopted or archived) plans whose period covers the year;
//! - their actions by status (the status at the time of the snapshot); by horizon, the share
//!   of long-term actions and the average progress of those not dropped; those of them
//!   completed in the year (`completed_on` in the year);
//! - the engagement of the year (its components, the weights in force and the weighted total),
//!   from [`crate::engagement::score`], exactly as `Community.engagement` gives it: it counts
//!   across all the community's public plans and its own events, so its `ACTIONS_COMPLETED`
//!   may exceed the completed actions of the plans counted above;
//! - partnerships on those plans or their actions: the active ones whose period overlaps the
//!   year, and their members;
//! - contributions pledged in partnerships active or completed in the year: volunteer hours,
//!   money from others than the municipality, money from municipal departments;
//! - idea exchanges in the year that the community initiated or took part in;
//! - the responses to its consultations: those sent in the year (in Danish time) to any of its
//!   public plans and published when the figures were taken, and how many of them have a
//!   reply (the same responses the engagement component `CONSULTATION_RESPONSES` counts).
//!   Figures taken before responses were counted (format 2 and older) have none: they read as
//!   absent, not as zero.
use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use entity::{
    action::{self, ActionStatus, Horizon},
    community, idea_exchange, idea_exchange_participant,
    partnership::{self, PartnershipStatus},
    partnership_member, plan,
};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, Order},
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    access::Access,
    engagement::score::{self, Components, Key, Span, Weights},
};

/// The version of the stored format. 2: horizons (and the long-term share) count the actions
/// not dropped, and `completedInYear` counts the actions of the plans counted. 3: the
/// consultation responses (`consultation`, and the engagement component
/// `CONSULTATION_RESPONSES`).
pub const FORMAT: u32 = 3;

/// One community's figures for one year.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Snapshot {
    pub format: u32,
    pub year: i32,
    /// The community's name and slug when the figures were taken.
    pub community_name: String,
    pub community_slug: String,
    pub plans: Vec<PlanFigures>,
    pub actions: ActionFigures,
    pub engagement: EngagementFigures,
    pub partnerships: PartnershipFigures,
    pub contributions: ContributionFigures,
    pub idea_exchanges: ExchangeFigures,
    /// Responses to the community's consultations; none in figures taken before they were
    /// counted (format 2 and older).
    pub consultation: Option<ConsultationFigures>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PlanFigures {
    pub id: Uuid,
    pub title: String,
    pub period_from: i32,
    pub period_to: i32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ActionFigures {
    pub total: i64,
    pub idea: i64,
    pub planned: i64,
    pub in_progress: i64,
    pub completed: i64,
    pub paused: i64,
    pub dropped: i64,
    /// Long-term actions among those not dropped.
    pub long_term: i64,
    /// Here-and-now actions among those not dropped.
    pub here_and_now: i64,
    /// Actions of the plans counted, completed (`completed_on`) in the year.
    pub completed_in_year: i64,
    /// Of the actions not dropped; none when there are none.
    pub average_progress: Option<f64>,
}

impl ActionFigures {
    /// The counts as the CSV files write them, in their columns' order: total, by status
    /// (idea, planned, in progress, completed, paused, dropped), long-term, here-and-now.
    pub fn count_columns(&self) -> [String; 9] {
        [
            self.total,
            self.idea,
            self.planned,
            self.in_progress,
            self.completed,
            self.paused,
            self.dropped,
            self.long_term,
            self.here_and_now,
        ]
        .map(|n| n.to_string())
    }

    pub fn by_status(&self) -> [(ActionStatus, i64); 6] {
        [
            (ActionStatus::Idea, self.idea),
            (ActionStatus::Planned, self.planned),
            (ActionStatus::InProgress, self.in_progress),
            (ActionStatus::Completed, self.completed),
            (ActionStatus::Paused, self.paused),
            (ActionStatus::Dropped, self.dropped),
        ]
    }

    fn count(&mut self, status: ActionStatus, horizon: Horizon) {
        self.total = self.total.saturating_add(1);
        let n = match status {
            ActionStatus::Idea => &mut self.idea,
            ActionStatus::Planned => &mut self.planned,
            ActionStatus::InProgress => &mut self.in_progress,
            ActionStatus::Completed => &mut self.completed,
            ActionStatus::Paused => &mut self.paused,
            ActionStatus::Dropped => &mut self.dropped,
        };
        *n = n.saturating_add(1);
        if status != ActionStatus::Dropped {
            let n = match horizon {
                Horizon::LongTerm => &mut self.long_term,
                Horizon::HereAndNow => &mut self.here_and_now,
            };
            *n = n.saturating_add(1);
        }
    }

    /// The share (0–1) of long-term actions among those not dropped; none without such actions.
    pub fn long_term_share(&self) -> Option<f64> {
        let n = self.long_term.saturating_add(self.here_and_now);
        (n > 0).then(|| self.long_term as f64 / n as f64)
    }
}

/// One weighted component of engagement, as it stood when the figures were taken.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EngagementPart {
    /// The component's key, e.g. `EVENTS` (as `EngagementComponentKey`).
    pub key: String,
    pub value: i64,
    pub weight: f64,
    /// In a sum of several communities' figures ([`sum`]): the points each of them showed,
    /// added up, so that the sum's components add up to its total as each community's do.
    /// Not stored.
    #[serde(skip)]
    pub summed_points: Option<f64>,
}

impl EngagementPart {
    /// The points as shown: `value × weight` rounded to two decimals (as the community's total
    /// adds them); in a sum, the sum of the communities' shown points.
    pub fn points(&self) -> f64 {
        round2(
            self.summed_points
                .unwrap_or_else(|| round2(self.value as f64 * self.weight)),
        )
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EngagementFigures {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub components: Vec<EngagementPart>,
    pub total: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PartnershipFigures {
    pub active: i64,
    pub members: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ContributionFigures {
    pub volunteer_hours: i64,
    /// Money pledged by others than municipal departments (co-funding).
    pub money_dkk: i64,
    /// Money pledged by municipal departments.
    pub municipal_dkk: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ExchangeFigures {
    pub initiated: i64,
    pub participated: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsultationFigures {
    /// Responses sent in the year to the community's public plans, published when the figures
    /// were taken.
    pub responses: i64,
    /// Of those, the ones with a reply.
    pub replied: i64,
}

/// The components as stored (the names of `EngagementComponentKey`), in the order shown.
pub const COMPONENTS: [(&str, Key); 9] = [
    ("ASSOCIATIONS_INVOLVED", Key::AssociationsInvolved),
    ("EVENTS", Key::Events),
    ("PARTICIPANTS", Key::Participants),
    ("EVENT_ORGANIZATIONS", Key::EventOrganizations),
    ("VOLUNTEER_HOURS", Key::VolunteerHours),
    ("CO_FUNDING_DKK", Key::CoFundingDkk),
    ("ACTION_UPDATES", Key::ActionUpdates),
    ("ACTIONS_COMPLETED", Key::ActionsCompleted),
    ("CONSULTATION_RESPONSES", Key::ConsultationResponses),
];

/// The component a stored key names.
pub fn key_of(name: &str) -> Option<Key> {
    COMPONENTS.iter().find(|(n, _)| *n == name).map(|(_, k)| *k)
}

/// The Danish label of a stored component key.
pub fn component_label(name: &str) -> &'static str {
    key_of(name).map_or("Andet", |k| k.label())
}

fn engagement_parts(c: &Components, w: &Weights) -> Vec<EngagementPart> {
    c.values()
        .iter()
        .filter_map(|(key, value)| {
            let (name, _) = COMPONENTS.iter().find(|(_, k)| k == key)?;
            Some(EngagementPart {
                key: (*name).to_owned(),
                value: *value,
                weight: w.get(*key),
                summed_points: None,
            })
        })
        .collect()
}

pub use crate::engagement::score::round2;

/// Whether a partnership's period overlaps the span: an open end runs on; without a start, it
/// runs from the day it was recorded (in Denmark), or from its end if it was recorded after it
/// ended, as engagement counts it (`partnership::running_during`).
fn overlaps(p: &partnership::Model, span: Span) -> bool {
    let recorded = p
        .created_at
        .with_timezone(&chrono_tz::Europe::Copenhagen)
        .date_naive();
    let starts = p
        .starts_on
        .unwrap_or_else(|| p.ends_on.map_or(recorded, |e| e.min(recorded)));
    starts <= span.to && p.ends_on.is_none_or(|e| e >= span.from)
}

/// The figures of `year` for every community, by community ID.
pub async fn take<C: ConnectionTrait>(db: &C, year: i32) -> Result<HashMap<Uuid, Snapshot>, DbErr> {
    let span = Span::calendar_year(year).ok_or_else(|| DbErr::Custom(format!("no calendar year {year}")))?;
    let access = Access::anonymous();

    let communities = community::Entity::find()
        .order_by_asc(community::Column::Name)
        .all(db)
        .await?;
    let ids: Vec<Uuid> = communities.iter().map(|c| c.id).collect();
    let mut out: HashMap<Uuid, Snapshot> = communities
        .iter()
        .map(|c| {
            (
                c.id,
                Snapshot {
                    format: FORMAT,
                    year,
                    community_name: c.name.clone(),
                    community_slug: c.slug.clone(),
                    ..Default::default()
                },
            )
        })
        .collect();

    // Published plans whose period covers the year (a plan in consultation is public, but not
    // in force: it is not counted).
    let plans = plan::Entity::find()
        .filter(access.plan_condition(Expr::col((plan::Entity, plan::Column::Id))))
        .filter(plan::Column::Status.is_in(crate::access::PUBLISHED_PLANS))
        .filter(plan::Column::PeriodFrom.lte(year))
        .filter(plan::Column::PeriodTo.gte(year))
        .order_by_asc(plan::Column::PeriodFrom)
        .order_by(
            Expr::cust(crate::loader::sort_col(plan::Column::Title)),
            Order::Asc,
        )
        .order_by_asc(plan::Column::Id)
        .all(db)
        .await?;
    let plan_community: HashMap<Uuid, Uuid> = plans.iter().map(|p| (p.id, p.community_id)).collect();
    for p in &plans {
        if let Some(s) = out.get_mut(&p.community_id) {
            s.plans.push(PlanFigures {
                id: p.id,
                title: p.title.clone(),
                period_from: p.period_from,
                period_to: p.period_to,
            });
        }
    }
    let plan_ids: Vec<Uuid> = plans.iter().map(|p| p.id).collect();

    // Their actions.
    #[allow(clippy::type_complexity)]
    let actions: Vec<(Uuid, Uuid, ActionStatus, Horizon, i32, Option<NaiveDate>)> = if plan_ids.is_empty() {
        Vec::new()
    } else {
        action::Entity::find()
            .select_only()
            .columns([
                action::Column::Id,
                action::Column::PlanId,
                action::Column::Status,
                action::Column::Horizon,
                action::Column::Progress,
                action::Column::CompletedOn,
            ])
            .filter(action::Column::PlanId.is_in(plan_ids.iter().copied()))
            .into_tuple()
            .all(db)
            .await?
    };
    let mut progress: HashMap<Uuid, (i64, i64)> = HashMap::new();
    let mut action_community: HashMap<Uuid, Uuid> = HashMap::new();
    for (id, plan_id, status, horizon, p, completed_on) in &actions {
        let Some(c) = plan_community.get(plan_id) else {
            continue;
        };
        action_community.insert(*id, *c);
        if let Some(s) = out.get_mut(c) {
            s.actions.count(*status, *horizon);
            if *status == ActionStatus::Completed
                && completed_on.is_some_and(|d| span.from <= d && d <= span.to)
            {
                s.actions.completed_in_year = s.actions.completed_in_year.saturating_add(1);
            }
        }
        if *status != ActionStatus::Dropped {
            let e = progress.entry(*c).or_default();
            e.0 = e.0.saturating_add(i64::from(*p));
            e.1 = e.1.saturating_add(1);
        }
    }
    for (c, (sum, n)) in progress {
        if let Some(s) = out.get_mut(&c) {
            s.actions.average_progress = Some(round2(sum as f64 / n as f64));
        }
    }

    // Partnerships on those plans or their actions, as the public sees them.
    let action_ids: Vec<Uuid> = action_community.keys().copied().collect();
    let partnerships = if plan_ids.is_empty() {
        Vec::new()
    } else {
        let mut around = Condition::any().add(partnership::Column::PlanId.is_in(plan_ids.iter().copied()));
        if !action_ids.is_empty() {
            around = around.add(partnership::Column::ActionId.is_in(action_ids.iter().copied()));
        }
        partnership::Entity::find()
            .filter(around)
            .filter(access.proposal_condition())
            .filter(
                partnership::Column::Status.is_in([PartnershipStatus::Active, PartnershipStatus::Completed]),
            )
            .all(db)
            .await?
    };
    let mut partnership_community: HashMap<Uuid, (Uuid, bool)> = HashMap::new();
    for p in &partnerships {
        if !overlaps(p, span) {
            continue;
        }
        let community = match (p.plan_id, p.action_id) {
            (Some(plan), _) => plan_community.get(&plan),
            (None, Some(action)) => action_community.get(&action),
            (None, None) => None,
        };
        if let Some(c) = community {
            let active = p.status == PartnershipStatus::Active;
            partnership_community.insert(p.id, (*c, active));
            if active && let Some(s) = out.get_mut(c) {
                s.partnerships.active = s.partnerships.active.saturating_add(1);
            }
        }
    }
    if !partnership_community.is_empty() {
        let members = partnership_member::Entity::find()
            .filter(
                partnership_member::Column::PartnershipId
                    .is_in(partnership_community.keys().copied().collect::<Vec<_>>()),
            )
            .all(db)
            .await?;
        for m in members {
            let Some((c, active)) = partnership_community.get(&m.partnership_id) else {
                continue;
            };
            let Some(s) = out.get_mut(c) else { continue };
            if *active {
                s.partnerships.members = s.partnerships.members.saturating_add(1);
            }
            let c = &mut s.contributions;
            c.volunteer_hours = c
                .volunteer_hours
                .saturating_add(i64::from(m.volunteer_hours.unwrap_or(0)));
            let money = m.amount_dkk.unwrap_or(0);
            if m.department_id.is_some() {
                c.municipal_dkk = c.municipal_dkk.saturating_add(money);
            } else {
                c.money_dkk = c.money_dkk.saturating_add(money);
            }
        }
    }

    // Idea exchanges in the year.
    let exchanges: Vec<(Uuid, Uuid)> = idea_exchange::Entity::find()
        .select_only()
        .columns([
            idea_exchange::Column::Id,
            idea_exchange::Column::InitiatorCommunityId,
        ])
        .filter(idea_exchange::Column::OccurredOn.between(span.from, span.to))
        .into_tuple()
        .all(db)
        .await?;
    for (_, initiator) in &exchanges {
        if let Some(s) = out.get_mut(initiator) {
            s.idea_exchanges.initiated = s.idea_exchanges.initiated.saturating_add(1);
        }
    }
    if !exchanges.is_empty() {
        let participants: Vec<(Uuid, Uuid)> = idea_exchange_participant::Entity::find()
            .select_only()
            .columns([
                idea_exchange_participant::Column::ExchangeId,
                idea_exchange_participant::Column::CommunityId,
            ])
            .filter(
                idea_exchange_participant::Column::ExchangeId
                    .is_in(exchanges.iter().map(|(id, _)| *id).collect::<HashSet<_>>()),
            )
            .into_tuple()
            .all(db)
            .await?;
        for (_, community) in participants {
            if let Some(s) = out.get_mut(&community) {
                s.idea_exchanges.participated = s.idea_exchanges.participated.saturating_add(1);
            }
        }
    }

    // Responses to the community's consultations, sent in the year and published.
    {
        use entity::consultation_response::{self as response, ResponseStatus};
        let (start, end) = score::instants(span);
        use sea_orm::sea_query::{ExprTrait, Query};
        let mut q = Query::select();
        q.expr_as(Expr::col((plan::Entity, plan::Column::CommunityId)), "k")
            .expr_as(Expr::cust("COUNT(*)"), "n")
            .expr_as(
                Expr::col((response::Entity, response::Column::Reply)).count(),
                "r",
            )
            .from(response::Entity)
            .inner_join(plan::Entity, crate::loader::on(response::Relation::Plan))
            .and_where(access.plan_condition(Expr::col((plan::Entity, plan::Column::Id))))
            .and_where(Expr::col((response::Entity, response::Column::Status)).eq(ResponseStatus::Published))
            .and_where(Expr::col((response::Entity, response::Column::CreatedAt)).gte(start))
            .and_where(Expr::col((response::Entity, response::Column::CreatedAt)).lt(end))
            .group_by_col((plan::Entity, plan::Column::CommunityId));
        let mut counts: Vec<(Uuid, i64, i64)> = Vec::new();
        for row in db.query_all(&q).await? {
            counts.push((
                row.try_get("", "k")?,
                row.try_get("", "n")?,
                row.try_get("", "r")?,
            ));
        }
        for s in out.values_mut() {
            s.consultation = Some(ConsultationFigures::default());
        }
        for (community, responses, replied) in counts {
            if let Some(s) = out.get_mut(&community) {
                s.consultation = Some(ConsultationFigures { responses, replied });
            }
        }
    }

    // Engagement of the year, with the weights in force.
    let weights = score::weights(db).await?;
    let components = score::for_communities(db, &access, &ids, span).await?;
    for (id, s) in out.iter_mut() {
        let c = components.get(id).copied().unwrap_or_default();
        s.engagement = EngagementFigures {
            from: Some(span.from),
            to: Some(span.to),
            components: engagement_parts(&c, &weights),
            total: round2(weights.total(&c)),
        };
    }
    Ok(out)
}

/// The stored form of a snapshot.
pub fn to_json(s: &Snapshot) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "{}".to_owned())
}

/// A stored snapshot; a damaged one reads as empty figures (and is logged).
pub fn from_json(text: &str) -> Snapshot {
    serde_json::from_str(text).unwrap_or_else(|e| {
        tracing::error!(error = %e, "an annual review entry holds figures that cannot be read");
        Snapshot::default()
    })
}

/// The figures of several communities added up (for a review's totals and the report).
pub fn sum<'a>(snapshots: impl IntoIterator<Item = &'a Snapshot>) -> Snapshot {
    let mut t = Snapshot {
        format: FORMAT,
        ..Default::default()
    };
    let (mut progress_sum, mut progress_n) = (0.0, 0.0_f64);
    for s in snapshots {
        t.year = s.year;
        let (a, b) = (&mut t.actions, &s.actions);
        for (x, y) in [
            (&mut a.total, b.total),
            (&mut a.idea, b.idea),
            (&mut a.planned, b.planned),
            (&mut a.in_progress, b.in_progress),
            (&mut a.completed, b.completed),
            (&mut a.paused, b.paused),
            (&mut a.dropped, b.dropped),
            (&mut a.long_term, b.long_term),
            (&mut a.here_and_now, b.here_and_now),
            (&mut a.completed_in_year, b.completed_in_year),
            (&mut t.partnerships.active, s.partnerships.active),
            (&mut t.partnerships.members, s.partnerships.members),
            (
                &mut t.contributions.volunteer_hours,
                s.contributions.volunteer_hours,
            ),
            (&mut t.contributions.money_dkk, s.contributions.money_dkk),
            (&mut t.contributions.municipal_dkk, s.contributions.municipal_dkk),
            (&mut t.idea_exchanges.initiated, s.idea_exchanges.initiated),
            (&mut t.idea_exchanges.participated, s.idea_exchanges.participated),
        ] {
            *x = x.saturating_add(y);
        }
        if let Some(p) = b.average_progress {
            let n = b.total.saturating_sub(b.dropped);
            progress_sum += p * n as f64;
            progress_n += n as f64;
        }
        t.plans.extend(s.plans.iter().cloned());
        if t.engagement.components.is_empty() {
            t.engagement.from = s.engagement.from;
            t.engagement.to = s.engagement.to;
            t.engagement.components = s
                .engagement
                .components
                .iter()
                .map(|p| EngagementPart {
                    value: 0,
                    summed_points: Some(0.0),
                    ..p.clone()
                })
                .collect();
        }
        // By key: a component one snapshot lacks (taken before it was counted) adds nothing.
        for part in &s.engagement.components {
            match t.engagement.components.iter_mut().find(|p| p.key == part.key) {
                Some(total) => {
                    total.value = total.value.saturating_add(part.value);
                    total.summed_points = Some(total.summed_points.unwrap_or(0.0) + part.points());
                }
                None => t.engagement.components.push(EngagementPart {
                    summed_points: Some(part.points()),
                    ..part.clone()
                }),
            }
        }
        if let Some(c) = &s.consultation {
            let total = t.consultation.get_or_insert_with(ConsultationFigures::default);
            total.responses = total.responses.saturating_add(c.responses);
            total.replied = total.replied.saturating_add(c.replied);
        }
        t.engagement.total += s.engagement.total;
    }
    t.engagement.total = round2(t.engagement.total);
    t.actions.average_progress = (progress_n > 0.0).then(|| round2(progress_sum / progress_n));
    t
}

/// A community or theme in a review's focus, as it was named when the review was published.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Named {
    pub id: Uuid,
    pub name: String,
}

/// The focus of a published review, frozen at publication.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Focus {
    pub communities: Vec<Named>,
    pub themes: Vec<Named>,
}

/// One year's totals in the year-over-year comparison.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct YearTotals {
    pub year: i32,
    pub actions: i64,
    pub completed_in_year: i64,
    pub engagement: f64,
    pub partnerships_active: i64,
    pub volunteer_hours: i64,
    /// The engagement weights the year's figures were taken with, by component key; none for
    /// a year frozen before they were kept.
    pub weights: Option<Vec<(String, f64)>>,
}

impl YearTotals {
    pub fn of(year: i32, totals: &Snapshot) -> Self {
        YearTotals {
            year,
            actions: totals.actions.total,
            completed_in_year: totals.actions.completed_in_year,
            engagement: totals.engagement.total,
            partnerships_active: totals.partnerships.active,
            volunteer_hours: totals.contributions.volunteer_hours,
            weights: (!totals.engagement.components.is_empty()).then(|| {
                totals
                    .engagement
                    .components
                    .iter()
                    .map(|p| (p.key.clone(), p.weight))
                    .collect()
            }),
        }
    }

    /// Whether the engagement of the years in `history` was taken with different weights (of
    /// the years whose weights are known), so that a difference between them is partly the
    /// weights'.
    pub fn weights_differ(history: &[YearTotals]) -> bool {
        let mut known = history.iter().filter_map(|t| t.weights.as_ref());
        let Some(first) = known.next() else {
            return false;
        };
        known.any(|w| {
            w.iter().any(|(key, weight)| {
                first
                    .iter()
                    .find(|(k, _)| k == key)
                    .is_some_and(|(_, other)| other != weight)
            })
        })
    }
}

/// Stored JSON of a frozen value; a damaged one reads as none (and is logged).
pub fn frozen<T: serde::de::DeserializeOwned>(text: Option<&str>) -> Option<T> {
    let text = text?;
    serde_json::from_str(text)
        .map_err(|e| tracing::error!(error = %e, "an annual review holds frozen data that cannot be read"))
        .ok()
}

/// The focus of a review as it stands in the live data: the communities and themes linked to
/// it, with their names now, in Danish alphabetical order.
pub async fn live_focus<C: ConnectionTrait>(db: &C, review: Uuid) -> Result<Focus, DbErr> {
    use entity::{annual_review_focus_community as fc, annual_review_focus_theme as ft, theme};
    let community_ids: Vec<Uuid> = fc::Entity::find()
        .select_only()
        .column(fc::Column::CommunityId)
        .filter(fc::Column::ReviewId.eq(review))
        .into_tuple()
        .all(db)
        .await?;
    let theme_ids: Vec<Uuid> = ft::Entity::find()
        .select_only()
        .column(ft::Column::ThemeId)
        .filter(ft::Column::ReviewId.eq(review))
        .into_tuple()
        .all(db)
        .await?;
    let mut communities: Vec<Named> = if community_ids.is_empty() {
        Vec::new()
    } else {
        community::Entity::find()
            .filter(community::Column::Id.is_in(community_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|c| Named {
                id: c.id,
                name: c.name,
            })
            .collect()
    };
    let mut themes: Vec<Named> = if theme_ids.is_empty() {
        Vec::new()
    } else {
        theme::Entity::find()
            .filter(theme::Column::Id.is_in(theme_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|t| Named {
                id: t.id,
                name: t.name,
            })
            .collect()
    };
    communities.sort_by_cached_key(|n| (crate::collation::danish_key(&n.name), n.id));
    themes.sort_by_cached_key(|n| (crate::collation::danish_key(&n.name), n.id));
    Ok(Focus { communities, themes })
}

/// The totals of the reviews published for the years before `year`, oldest first, as the
/// year-over-year comparison shows them.
pub async fn published_before<C: ConnectionTrait>(db: &C, year: i32) -> Result<Vec<YearTotals>, DbErr> {
    use entity::{annual_review, annual_review_entry};
    let earlier = annual_review::Entity::find()
        .filter(annual_review::Column::Status.eq(annual_review::ReviewStatus::Published))
        .filter(annual_review::Column::Year.lt(year))
        .order_by_asc(annual_review::Column::Year)
        .all(db)
        .await?;
    if earlier.is_empty() {
        return Ok(Vec::new());
    }
    let rows = annual_review_entry::Entity::find()
        .filter(annual_review_entry::Column::ReviewId.is_in(earlier.iter().map(|r| r.id)))
        .all(db)
        .await?;
    Ok(earlier
        .iter()
        .map(|r| {
            let snapshots: Vec<Snapshot> = rows
                .iter()
                .filter(|e| e.review_id == r.id)
                .map(|e| from_json(&e.snapshot))
                .collect();
            YearTotals::of(r.year, &sum(&snapshots))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_saturate_instead_of_overflowing() {
        let mut big = Snapshot::default();
        big.contributions.money_dkk = i64::MAX;
        big.contributions.volunteer_hours = i64::MAX - 1;
        big.actions.total = i64::MAX;
        big.actions.completed = i64::MAX;
        big.actions.average_progress = Some(50.0);
        big.engagement.components = vec![EngagementPart {
            key: "EVENTS".to_owned(),
            value: i64::MAX,
            weight: 2.0,
            summed_points: None,
        }];
        let t = sum([&big, &big]);
        assert_eq!(t.contributions.money_dkk, i64::MAX);
        assert_eq!(t.contributions.volunteer_hours, i64::MAX);
        assert_eq!(t.actions.total, i64::MAX);
        assert_eq!(t.engagement.components[0].value, i64::MAX);
        assert_eq!(t.actions.average_progress, Some(50.0));
    }

    #[test]
    fn a_sum_shows_its_components_points_as_the_communities_showed_them() {
        let community = |value: i64| {
            let mut s = Snapshot::default();
            s.engagement.components = vec![EngagementPart {
                key: "CO_FUNDING_DKK".to_owned(),
                value,
                weight: 0.0001,
                summed_points: None,
            }];
            s.engagement.total = s.engagement.components[0].points();
            s
        };
        // 1.2345 and 1.2345 show as 1.23 each: the sum shows 2.46 (not 2.47 from 24,690 kr.),
        // its total.
        let (a, b) = (community(12_345), community(12_345));
        assert_eq!(a.engagement.components[0].points(), 1.23);
        let t = sum([&a, &b]);
        assert_eq!(t.engagement.components[0].value, 24_690);
        assert_eq!(t.engagement.components[0].points(), 2.46);
        assert_eq!(t.engagement.total, 2.46);
    }

    #[test]
    fn the_long_term_share_leaves_dropped_actions_out() {
        let mut a = ActionFigures::default();
        a.count(ActionStatus::Planned, Horizon::LongTerm);
        a.count(ActionStatus::Completed, Horizon::HereAndNow);
        a.count(ActionStatus::Dropped, Horizon::LongTerm);
        a.count(ActionStatus::Dropped, Horizon::LongTerm);
        assert_eq!((a.total, a.dropped, a.long_term, a.here_and_now), (4, 2, 1, 1));
        assert_eq!(a.long_term_share(), Some(0.5));
    }
}
