//! Engagement measured from what the system holds, per community and per plan.
//!
//! CONTRACT shared by the engagement/priorities work and the annual review: the types and
//! signatures below are stable; the bodies are filled in by the engagement work.
//!
//! # The method
//! Engagement is a weighted sum of nine figures, each counted from rows the caller may see
//! (so a draft never leaks through a figure) and, where rows are dated, within a window:
//!
//! | component | counted | default weight |
//! |---|---|---|
//! | associations involved | distinct organisations in `plan_involvement` of the plan if it is in force during the window (its period overlaps the window's years) or being written (draft, consultation); for a community, of such plans | 3 |
//! | events | engagement events held in the window (for a community: its own, with or without a plan) | 2 |
//! | participants | participants summed over those events | 0.1 |
//! | event organisations | distinct organisations present at those events | 2 |
//! | volunteer hours | hours pledged by members of partnerships around the plan or its actions, ACTIVE or COMPLETED, whose period overlaps the window (no start: from the day it was recorded, or its end if earlier; no end: open) | 0.02 |
//! | co-funding (DKK) | money pledged by the same members, municipal departments left out | 0.0001 (1 point per 10,000 DKK) |
//! | action updates | progress notes posted in the window | 1 |
//! | actions completed | actions whose `completed_on` lies in the window | 5 |
//! | consultation responses | responses to the plan(s) sent in the window (the day they were sent, in Danish time) and PUBLISHED now; pending, rejected and hidden ones never count, whoever asks | 0.5 |
//!
//! The weights make one unit of each figure worth about the same effort: a meeting of
//! 20 people (2 + 2 points) weighs like a new association on board (3) or 200 volunteer hours
//! (4); a completed action (5) is the strongest sign a community carries its plan. A published
//! consultation response is one citizen's written contribution: ten of them (5) weigh a little
//! more than a meeting of 20, and as much as one completed action, so a busy consultation
//! counts without outweighing what the community carries out.
use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use entity::{engagement_event, engagement_weights, plan};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait,
    sea_query::{Condition, Expr, ExprTrait, Query, SelectStatement, extension::postgres::PgFunc},
};
use uuid::Uuid;

use crate::{
    access::Access,
    loader::{Col, col, on, qcol},
};

/// An inclusive date window, e.g. the last 12 months or a calendar year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Span {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Span {
    /// The 12 months ending on `to`: from the day after the same date a year earlier.
    pub fn year_ending(to: NaiveDate) -> Span {
        let from = to
            .checked_sub_months(chrono::Months::new(12))
            .and_then(|d| d.succ_opt())
            .unwrap_or(to);
        Span { from, to }
    }

    /// A calendar year.
    pub fn calendar_year(year: i32) -> Option<Span> {
        Some(Span {
            from: NaiveDate::from_ymd_opt(year, 1, 1)?,
            to: NaiveDate::from_ymd_opt(year, 12, 31)?,
        })
    }
}

/// The raw figures engagement is made of, before weighting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Components {
    /// Distinct organisations involved in the plan(s) (plan_involvement).
    pub associations_involved: i64,
    /// Engagement events in the window.
    pub events: i64,
    /// Participants summed over those events.
    pub participants: i64,
    /// Distinct organisations present at those events.
    pub event_organizations: i64,
    /// Volunteer hours pledged by partnership members on the plans' actions.
    pub volunteer_hours: i64,
    /// Money (DKK) contributed by partnership members that are not municipal departments.
    pub co_funding_dkk: i64,
    /// Action updates posted in the window.
    pub action_updates: i64,
    /// Actions completed in the window.
    pub actions_completed: i64,
    /// Published consultation responses sent in the window.
    pub consultation_responses: i64,
}

impl Components {
    /// Each figure by its key, in the documented order.
    pub fn values(&self) -> [(Key, i64); 9] {
        [
            (Key::AssociationsInvolved, self.associations_involved),
            (Key::Events, self.events),
            (Key::Participants, self.participants),
            (Key::EventOrganizations, self.event_organizations),
            (Key::VolunteerHours, self.volunteer_hours),
            (Key::CoFundingDkk, self.co_funding_dkk),
            (Key::ActionUpdates, self.action_updates),
            (Key::ActionsCompleted, self.actions_completed),
            (Key::ConsultationResponses, self.consultation_responses),
        ]
    }
}

/// The components engagement is made of.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[graphql(name = "EngagementComponentKey")]
pub enum Key {
    /// Distinct organisations involved in the plan(s) in force during the window (the plan's
    /// period overlaps the window's years) or being written (draft, consultation); the same
    /// rule for a plan and for a community.
    AssociationsInvolved,
    /// Engagement events held in the window.
    Events,
    /// Participants at those events.
    Participants,
    /// Distinct organisations present at those events.
    EventOrganizations,
    /// Volunteer hours pledged in partnerships active in the window.
    VolunteerHours,
    /// Money pledged in those partnerships by others than municipal departments (DKK).
    CoFundingDkk,
    /// Progress notes posted in the window.
    ActionUpdates,
    /// Actions completed in the window.
    ActionsCompleted,
    /// Consultation responses to the plan(s) sent in the window and published (pending,
    /// rejected and hidden ones never count).
    ConsultationResponses,
}

/// The weight of each component; staff change them (stored and audited).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Weights {
    pub associations_involved: f64,
    pub events: f64,
    pub participants: f64,
    pub event_organizations: f64,
    pub volunteer_hours: f64,
    pub co_funding_dkk: f64,
    pub action_updates: f64,
    pub actions_completed: f64,
    pub consultation_responses: f64,
}

impl Weights {
    /// The documented defaults (see the module documentation and the README).
    pub const DEFAULT: Weights = Weights {
        associations_involved: 3.0,
        events: 2.0,
        participants: 0.1,
        event_organizations: 2.0,
        volunteer_hours: 0.02,
        co_funding_dkk: 0.0001,
        action_updates: 1.0,
        actions_completed: 5.0,
        consultation_responses: 0.5,
    };

    /// The weighted total: the sum of each component's points (value × weight, rounded to
    /// two decimals as shown), so the total always equals the sum of the points a reader
    /// sees. Round the result with [`round2`] for output (it removes float noise only).
    pub fn total(&self, c: &Components) -> f64 {
        c.values().iter().map(|(k, v)| self.points(*k, *v)).sum()
    }

    /// One component's points: `value × weight`, rounded to two decimals.
    pub fn points(&self, key: Key, value: i64) -> f64 {
        round2(value as f64 * self.get(key))
    }

    pub fn get(&self, key: Key) -> f64 {
        match key {
            Key::AssociationsInvolved => self.associations_involved,
            Key::Events => self.events,
            Key::Participants => self.participants,
            Key::EventOrganizations => self.event_organizations,
            Key::VolunteerHours => self.volunteer_hours,
            Key::CoFundingDkk => self.co_funding_dkk,
            Key::ActionUpdates => self.action_updates,
            Key::ActionsCompleted => self.actions_completed,
            Key::ConsultationResponses => self.consultation_responses,
        }
    }
}

impl Default for Weights {
    fn default() -> Self {
        Weights::DEFAULT
    }
}

/// The weights of the priority score's terms (see `crate::priority`).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PriorityWeights {
    /// Per point of potential (1–5).
    pub potential: f64,
    /// Per point of the community's engagement, normalised to 0–5.
    pub engagement: f64,
    /// Per partner committed in an ACTIVE partnership around the action (at most 5 count).
    pub committed_partners: f64,
    /// For an action that seeks partners (0 or 1).
    pub seeking_partners: f64,
}

impl PriorityWeights {
    pub const DEFAULT: PriorityWeights = PriorityWeights {
        potential: 2.0,
        engagement: 1.0,
        committed_partners: 0.5,
        seeking_partners: 0.5,
    };
}

impl Default for PriorityWeights {
    fn default() -> Self {
        PriorityWeights::DEFAULT
    }
}

/// Every weight in force, with the version of the stored row (0 while the defaults apply).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    pub engagement: Weights,
    pub priority: PriorityWeights,
    pub version: i32,
    pub updated_at: Option<DateTime<Utc>>,
}

/// The ID of the one settings row.
pub const SETTINGS_ID: Uuid = Uuid::nil();

/// Largest weight staff may set.
pub const MAX_WEIGHT: f64 = 1000.0;

impl Settings {
    pub const DEFAULT: Settings = Settings {
        engagement: Weights::DEFAULT,
        priority: PriorityWeights::DEFAULT,
        version: 0,
        updated_at: None,
    };

    pub fn from_row(r: &engagement_weights::Model) -> Settings {
        Settings {
            engagement: Weights {
                associations_involved: r.associations_involved,
                events: r.events,
                participants: r.participants,
                event_organizations: r.event_organizations,
                volunteer_hours: r.volunteer_hours,
                co_funding_dkk: r.co_funding_dkk,
                action_updates: r.action_updates,
                actions_completed: r.actions_completed,
                consultation_responses: r.consultation_responses,
            },
            priority: PriorityWeights {
                potential: r.priority_potential,
                engagement: r.priority_engagement,
                committed_partners: r.priority_committed_partners,
                seeking_partners: r.priority_seeking_partners,
            },
            version: r.version,
            updated_at: Some(r.updated_at),
        }
    }
}

/// Every weight in force and the version to base a change on.
pub async fn settings<C: ConnectionTrait>(db: &C) -> Result<Settings, DbErr> {
    Ok(engagement_weights::Entity::find_by_id(SETTINGS_ID)
        .one(db)
        .await?
        .map_or(Settings::DEFAULT, |r| Settings::from_row(&r)))
}

/// The weights in force (the stored ones, or the documented defaults).
pub async fn weights<C: ConnectionTrait>(db: &C) -> Result<Weights, DbErr> {
    Ok(settings(db).await?.engagement)
}

/// The instants a span of Danish days runs between: from midnight of its first day in
/// Denmark (`Europe/Copenhagen`) up to, not including, midnight after its last; for rows
/// dated by a timestamp (a consultation response's `created_at`).
pub fn instants(span: Span) -> (DateTime<Utc>, DateTime<Utc>) {
    let midnight = |d: NaiveDate| {
        use chrono::TimeZone;
        let local = d.and_time(chrono::NaiveTime::MIN);
        chrono_tz::Europe::Copenhagen
            .from_local_datetime(&local)
            .earliest()
            // Denmark's clocks never skip midnight; the UTC reading is a safe fallback.
            .map_or_else(|| local.and_utc(), |t| t.with_timezone(&Utc))
    };
    let after = span.to.succ_opt().unwrap_or(span.to);
    (midnight(span.from), midnight(after))
}

/// Rounds a figure for output: two decimals.
pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Components per community, counting only rows `access` may see. Every requested id is in
/// the map (zeros when nothing was found). A bounded number of statements, whatever the
/// number of communities.
pub async fn for_communities<C: ConnectionTrait>(
    db: &C,
    access: &Access,
    ids: &[Uuid],
    span: Span,
) -> Result<HashMap<Uuid, Components>, DbErr> {
    compute(db, access, ids, span, Level::Community).await
}

/// Components per plan, as `for_communities`.
pub async fn for_plans<C: ConnectionTrait>(
    db: &C,
    access: &Access,
    ids: &[Uuid],
    span: Span,
) -> Result<HashMap<Uuid, Components>, DbErr> {
    compute(db, access, ids, span, Level::Plan).await
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Community,
    Plan,
}

impl Level {
    /// The column of `plan` that groups rows reached through a plan.
    fn plan_key(self) -> plan::Column {
        match self {
            Level::Community => plan::Column::CommunityId,
            Level::Plan => plan::Column::Id,
        }
    }

    /// The column of `engagement_event` that groups events.
    fn event_key(self) -> engagement_event::Column {
        match self {
            Level::Community => engagement_event::Column::CommunityId,
            Level::Plan => engagement_event::Column::PlanId,
        }
    }
}

/// `"table"."column"` is one of `ids`: `= ANY($1)` on PostgreSQL (one statement text
/// whatever the number), `IN (…)` elsewhere.
fn one_of<C: ConnectionTrait>(db: &C, column: impl Col, ids: &[Uuid]) -> Expr {
    match db.get_database_backend() {
        DbBackend::Postgres => col(column).eq(PgFunc::any(Expr::val(ids.to_vec()))),
        _ => col(column).is_in(ids.iter().copied()),
    }
}

/// The sum of `sql` as a floating-point number, so that no stored values can overflow it
/// (SQLite's SUM fails with "integer overflow", PostgreSQL's CAST to BIGINT is out of range):
/// `TOTAL` on SQLite, SUM (NUMERIC for a BIGINT) cast to DOUBLE PRECISION on PostgreSQL. Read
/// back by [`figure`], which saturates it to an `i64`.
fn sum<C: ConnectionTrait>(db: &C, sql: &str) -> Expr {
    match db.get_database_backend() {
        DbBackend::Sqlite => Expr::cust(format!("TOTAL({sql})")),
        _ => Expr::cust(format!("CAST(COALESCE(SUM({sql}), 0) AS DOUBLE PRECISION)")),
    }
}

/// A figure of a row: a whole number (a count), or a floating-point sum saturated to `i64`.
fn figure(row: &sea_orm::QueryResult, name: &str) -> Result<i64, DbErr> {
    match row.try_get::<i64>("", name) {
        Ok(n) => Ok(n),
        // `as` saturates (and NaN becomes 0).
        Err(_) => Ok(row.try_get::<f64>("", name)? as i64),
    }
}

/// Runs `stmt` (grouped by a key `k`) and hands each row's key and the figures `n0`, `n1`…
/// to `put`.
async fn grouped<C: ConnectionTrait>(
    db: &C,
    stmt: &SelectStatement,
    figures: usize,
    out: &mut HashMap<Uuid, Components>,
    put: impl Fn(&mut Components, &[i64]),
) -> Result<(), DbErr> {
    for row in db.query_all(stmt).await? {
        let key: Uuid = row.try_get("", "k")?;
        let mut values = Vec::with_capacity(figures);
        for i in 0..figures {
            values.push(figure(&row, &format!("n{i}"))?);
        }
        if let Some(c) = out.get_mut(&key) {
            put(c, &values);
        }
    }
    Ok(())
}

async fn compute<C: ConnectionTrait>(
    db: &C,
    access: &Access,
    ids: &[Uuid],
    span: Span,
    level: Level,
) -> Result<HashMap<Uuid, Components>, DbErr> {
    let mut out: HashMap<Uuid, Components> = ids.iter().map(|id| (*id, Components::default())).collect();
    if ids.is_empty() {
        return Ok(out);
    }
    use entity::{
        action::{self, ActionStatus},
        action_update,
        consultation_response::{self as response, ResponseStatus},
        engagement_event_organization as event_org,
        partnership::{self, PartnershipStatus},
        partnership_member::{self, Column as Member},
        plan::PlanStatus,
        plan_involvement,
    };
    let key = level.plan_key();
    let event_key = level.event_key();
    let plan_id = plan::Column::Id;
    let plan_visible = || access.plan_condition(col(plan_id));
    let count_distinct = |c: String| Expr::cust(format!("COUNT(DISTINCT {c})"));

    // Organisations involved in the plans. Involvement is not dated: it counts for the plans
    // in force during the window (their period overlaps it) and those being written, for a
    // plan as for a community, so the two levels agree.
    let mut q = Query::select();
    q.expr_as(col(key), "k")
        .expr_as(
            count_distinct(qcol(plan_involvement::Column::OrganizationId)),
            "n0",
        )
        .from(plan_involvement::Entity)
        .inner_join(plan::Entity, on(plan_involvement::Relation::Plan))
        .and_where(one_of(db, key, ids))
        .and_where(plan_visible())
        .group_by_col(key.as_column_ref());
    {
        use chrono::Datelike;
        q.cond_where(
            Condition::any()
                .add(
                    Condition::all()
                        .add(col(plan::Column::PeriodFrom).lte(span.to.year()))
                        .add(col(plan::Column::PeriodTo).gte(span.from.year())),
                )
                .add(col(plan::Column::Status).is_in([PlanStatus::Draft, PlanStatus::Consultation])),
        );
    }
    grouped(db, &q, 1, &mut out, |c, v| c.associations_involved = v[0]).await?;

    // Events in the window, and the organisations present at them.
    let event_conditions = |q: &mut SelectStatement| {
        q.and_where(one_of(db, event_key, ids))
            .and_where(col(engagement_event::Column::OccurredOn).between(span.from, span.to))
            .cond_where(
                Condition::any()
                    .add(col(engagement_event::Column::PlanId).is_null())
                    .add(access.plan_condition(col(engagement_event::Column::PlanId))),
            )
            .group_by_col(event_key.as_column_ref());
    };
    let mut q = Query::select();
    q.expr_as(col(event_key), "k")
        .expr_as(Expr::cust("COUNT(*)"), "n0")
        .expr_as(sum(db, &qcol(engagement_event::Column::Participants)), "n1")
        .from(engagement_event::Entity);
    event_conditions(&mut q);
    grouped(db, &q, 2, &mut out, |c, v| {
        c.events = v[0];
        c.participants = v[1];
    })
    .await?;

    let mut q = Query::select();
    q.expr_as(col(event_key), "k")
        .expr_as(count_distinct(qcol(event_org::Column::OrganizationId)), "n0")
        .from(event_org::Entity)
        .inner_join(engagement_event::Entity, on(event_org::Relation::Event));
    event_conditions(&mut q);
    grouped(db, &q, 1, &mut out, |c, v| c.event_organizations = v[0]).await?;

    // Contributions of partnerships around the plans or their actions, ACTIVE or COMPLETED,
    // whose period overlaps the window.
    let mut q = Query::select();
    q.expr_as(col(key), "k")
        .expr_as(sum(db, &qcol(Member::VolunteerHours)), "n0")
        .expr_as(
            sum(
                db,
                &format!(
                    "CASE WHEN {} IS NULL THEN {} END",
                    qcol(Member::DepartmentId),
                    qcol(Member::AmountDkk)
                ),
            ),
            "n1",
        )
        .from(partnership_member::Entity)
        .inner_join(partnership::Entity, on(partnership_member::Relation::Partnership))
        .left_join(action::Entity, on(partnership::Relation::Action))
        .inner_join(
            plan::Entity,
            Expr::cust(format!(
                "{} = COALESCE({}, {})",
                qcol(plan_id),
                qcol(partnership::Column::PlanId),
                qcol(action::Column::PlanId)
            )),
        )
        .and_where(one_of(db, key, ids))
        .and_where(plan_visible())
        .and_where(
            col(partnership::Column::Status).is_in([PartnershipStatus::Active, PartnershipStatus::Completed]),
        )
        .cond_where(crate::partnership::running_during(span))
        .group_by_col(key.as_column_ref());
    grouped(db, &q, 2, &mut out, |c, v| {
        c.volunteer_hours = v[0];
        c.co_funding_dkk = v[1];
    })
    .await?;

    // Progress notes posted in the window.
    let mut q = Query::select();
    q.expr_as(col(key), "k")
        .expr_as(Expr::cust("COUNT(*)"), "n0")
        .from(action_update::Entity)
        .inner_join(action::Entity, on(action_update::Relation::Action))
        .inner_join(plan::Entity, on(action::Relation::Plan))
        .and_where(one_of(db, key, ids))
        .and_where(plan_visible())
        .and_where(col(action_update::Column::PostedOn).between(span.from, span.to))
        .group_by_col(key.as_column_ref());
    grouped(db, &q, 1, &mut out, |c, v| c.action_updates = v[0]).await?;

    // Actions completed in the window.
    let mut q = Query::select();
    q.expr_as(col(key), "k")
        .expr_as(Expr::cust("COUNT(*)"), "n0")
        .from(action::Entity)
        .inner_join(plan::Entity, on(action::Relation::Plan))
        .and_where(one_of(db, key, ids))
        .and_where(plan_visible())
        .and_where(col(action::Column::Status).eq(ActionStatus::Completed))
        .and_where(col(action::Column::CompletedOn).between(span.from, span.to))
        .group_by_col(key.as_column_ref());
    grouped(db, &q, 1, &mut out, |c, v| c.actions_completed = v[0]).await?;

    // Consultation responses sent in the window (in Danish time) and published: only a
    // moderated, published response counts, whoever asks, so a rejected or hidden one never
    // lifts a figure (staff's included).
    let mut q = Query::select();
    let (start, end) = instants(span);
    q.expr_as(col(key), "k")
        .expr_as(Expr::cust("COUNT(*)"), "n0")
        .from(response::Entity)
        .inner_join(plan::Entity, on(response::Relation::Plan))
        .and_where(one_of(db, key, ids))
        .and_where(plan_visible())
        .and_where(col(response::Column::Status).eq(ResponseStatus::Published))
        .and_where(col(response::Column::CreatedAt).gte(start))
        .and_where(col(response::Column::CreatedAt).lt(end))
        .group_by_col(key.as_column_ref());
    grouped(db, &q, 1, &mut out, |c, v| c.consultation_responses = v[0]).await?;

    Ok(out)
}
