//! The figures of an annual review: for every community, what the programme held for one
//! calendar year, taken **as the public sees it** (`Access::anonymous()`), so that publishing a
//! review never reveals a draft plan or a pending proposal. The figures are stored as JSON in
//! the review's entries: a published review does not change when the live data does.
//!
//! Per community (in a bounded number of statements, whatever the number of communities):
//! - the plans counted: published (adopted or archived) plans whose period covers the year;
//! - their actions by status and by horizon (the status at the time of the snapshot), and the
//!   average progress of those not dropped;
//! - the actions completed in the year and the engagement of the year (its components, the
//!   weights in force and the weighted total), from [`crate::engagement::score`];
//! - partnerships on those plans or their actions: the active ones whose period overlaps the
//!   year, and their members;
//! - contributions pledged in partnerships active or completed in the year: volunteer hours,
//!   money from others than the municipality, money from municipal departments;
//! - idea exchanges in the year that the community initiated or took part in.
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
    sea_query::Expr,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    access::Access,
    engagement::{
        figures::EngagementComponentKey,
        score::{self, Components, Key, Span, Weights},
    },
};

/// The version of the stored format.
pub const FORMAT: u32 = 1;

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
    pub long_term: i64,
    pub here_and_now: i64,
    pub completed_in_year: i64,
    /// Of the actions not dropped; none when there are none.
    pub average_progress: Option<f64>,
}

impl ActionFigures {
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
        self.total += 1;
        *match status {
            ActionStatus::Idea => &mut self.idea,
            ActionStatus::Planned => &mut self.planned,
            ActionStatus::InProgress => &mut self.in_progress,
            ActionStatus::Completed => &mut self.completed,
            ActionStatus::Paused => &mut self.paused,
            ActionStatus::Dropped => &mut self.dropped,
        } += 1;
        *match horizon {
            Horizon::LongTerm => &mut self.long_term,
            Horizon::HereAndNow => &mut self.here_and_now,
        } += 1;
    }

    /// The share (0–1) of long-term actions among those with a horizon; none without actions.
    pub fn long_term_share(&self) -> Option<f64> {
        let n = self.long_term + self.here_and_now;
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
}

impl EngagementPart {
    pub fn points(&self) -> f64 {
        self.value as f64 * self.weight
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

/// The components as stored (the names of `EngagementComponentKey`), in the order shown.
pub const COMPONENTS: [(&str, Key); 8] = [
    ("ASSOCIATIONS_INVOLVED", Key::AssociationsInvolved),
    ("EVENTS", Key::Events),
    ("PARTICIPANTS", Key::Participants),
    ("EVENT_ORGANIZATIONS", Key::EventOrganizations),
    ("VOLUNTEER_HOURS", Key::VolunteerHours),
    ("CO_FUNDING_DKK", Key::CoFundingDkk),
    ("ACTION_UPDATES", Key::ActionUpdates),
    ("ACTIONS_COMPLETED", Key::ActionsCompleted),
];

/// The component a stored key names.
pub fn key_of(name: &str) -> Option<Key> {
    COMPONENTS.iter().find(|(n, _)| *n == name).map(|(_, k)| *k)
}

/// The Danish label of a stored component key.
pub fn component_label(name: &str) -> &'static str {
    key_of(name).map_or("Andet", |k| EngagementComponentKey::from(k).label())
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
            })
        })
        .collect()
}

pub use crate::engagement::score::round2;

/// Whether a period (open ends allowed) overlaps the span.
fn overlaps(starts: Option<NaiveDate>, ends: Option<NaiveDate>, span: Span) -> bool {
    starts.is_none_or(|s| s <= span.to) && ends.is_none_or(|e| e >= span.from)
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

    // Published plans whose period covers the year.
    let plans = plan::Entity::find()
        .filter(access.plan_condition(Expr::col((plan::Entity, plan::Column::Id))))
        .filter(plan::Column::PeriodFrom.lte(year))
        .filter(plan::Column::PeriodTo.gte(year))
        .order_by_asc(plan::Column::PeriodFrom)
        .order_by_asc(plan::Column::Title)
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
    let actions: Vec<(Uuid, Uuid, ActionStatus, Horizon, i32)> = if plan_ids.is_empty() {
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
            ])
            .filter(action::Column::PlanId.is_in(plan_ids.iter().copied()))
            .into_tuple()
            .all(db)
            .await?
    };
    let mut progress: HashMap<Uuid, (i64, i64)> = HashMap::new();
    let mut action_community: HashMap<Uuid, Uuid> = HashMap::new();
    for (id, plan_id, status, horizon, p) in &actions {
        let Some(c) = plan_community.get(plan_id) else {
            continue;
        };
        action_community.insert(*id, *c);
        if let Some(s) = out.get_mut(c) {
            s.actions.count(*status, *horizon);
        }
        if *status != ActionStatus::Dropped {
            let e = progress.entry(*c).or_default();
            e.0 += i64::from(*p);
            e.1 += 1;
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
        if !overlaps(p.starts_on, p.ends_on, span) {
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
                s.partnerships.active += 1;
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
                s.partnerships.members += 1;
            }
            s.contributions.volunteer_hours += i64::from(m.volunteer_hours.unwrap_or(0));
            let money = m.amount_dkk.unwrap_or(0);
            if m.department_id.is_some() {
                s.contributions.municipal_dkk += money;
            } else {
                s.contributions.money_dkk += money;
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
            s.idea_exchanges.initiated += 1;
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
                s.idea_exchanges.participated += 1;
            }
        }
    }

    // Engagement of the year, with the weights in force.
    let weights = score::weights(db).await?;
    let components = score::for_communities(db, &access, &ids, span).await?;
    for (id, s) in out.iter_mut() {
        let c = components.get(id).copied().unwrap_or_default();
        s.actions.completed_in_year = c.actions_completed;
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
    let (mut progress_sum, mut progress_n) = (0.0, 0i64);
    for s in snapshots {
        t.year = s.year;
        let (a, b) = (&mut t.actions, &s.actions);
        a.total += b.total;
        a.idea += b.idea;
        a.planned += b.planned;
        a.in_progress += b.in_progress;
        a.completed += b.completed;
        a.paused += b.paused;
        a.dropped += b.dropped;
        a.long_term += b.long_term;
        a.here_and_now += b.here_and_now;
        a.completed_in_year += b.completed_in_year;
        if let Some(p) = b.average_progress {
            let n = b.total - b.dropped;
            progress_sum += p * n as f64;
            progress_n += n;
        }
        t.plans.extend(s.plans.iter().cloned());
        t.partnerships.active += s.partnerships.active;
        t.partnerships.members += s.partnerships.members;
        t.contributions.volunteer_hours += s.contributions.volunteer_hours;
        t.contributions.money_dkk += s.contributions.money_dkk;
        t.contributions.municipal_dkk += s.contributions.municipal_dkk;
        t.idea_exchanges.initiated += s.idea_exchanges.initiated;
        t.idea_exchanges.participated += s.idea_exchanges.participated;
        if t.engagement.components.is_empty() {
            t.engagement.from = s.engagement.from;
            t.engagement.to = s.engagement.to;
            t.engagement.components = s
                .engagement
                .components
                .iter()
                .map(|p| EngagementPart {
                    value: 0,
                    ..p.clone()
                })
                .collect();
        }
        for (total, part) in t.engagement.components.iter_mut().zip(&s.engagement.components) {
            total.value += part.value;
        }
        t.engagement.total += s.engagement.total;
    }
    t.engagement.total = round2(t.engagement.total);
    t.actions.average_progress = (progress_n > 0).then(|| round2(progress_sum / progress_n as f64));
    t
}
