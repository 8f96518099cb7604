//! The dispatcher: turns new change events into deliveries. Every instance runs one; they
//! take turns through the cursor row (`webhook_dispatch`), which a round locks (`FOR UPDATE
//! SKIP LOCKED` on PostgreSQL, so an instance that finds it taken leaves the round to the
//! other; SQLite has one writer). A round reads the events after the cursor, writes the
//! deliveries they make and moves the cursor past them in one transaction: each event is
//! dispatched once, none is skipped (the feed's numbers are visible in commit order, without
//! gaps).
//!
//! Woken by the instance's change feed (`crate::changes::Feed`) when events commit, here or
//! on another instance; it also looks every [`CHECK`] whether any endpoint is enabled, and
//! sends no SQL while none is.
use std::{
    collections::{HashMap, HashSet},
    time::{Duration, Instant},
};

use async_graphql::connection::CursorType;
use chrono::{DateTime, SecondsFormat, Utc};
use entity::{
    action, api_key, audit_log, change_event,
    partnership::{self, PartnershipStatus},
    plan::{self, PlanStatus},
    webhook_delivery::{self, DeliveryStatus},
    webhook_dispatch, webhook_endpoint,
};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait, IdenStatic,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    sea_query::{LockBehavior, LockType},
};
use serde_json::Value;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use uuid::Uuid;

use super::{WebhookEventType, Webhooks, closed, reader_of};
use crate::changes::{ChangeKind, ChangeRow, ChangeType, Feed, Reader, query::ChangeCursor};

/// Events read per round.
const BATCH: u64 = 500;

/// How often the dispatcher looks whether any endpoint is enabled, and for events it was not
/// woken for.
pub const CHECK: Duration = Duration::from_secs(10);

/// Deliveries per `INSERT` (SQLite takes at most 32,766 values per statement).
const INSERT_CHUNK: usize = 200;

/// Whether any endpoint is enabled.
pub async fn any_enabled(db: &impl ConnectionTrait) -> Result<bool, DbErr> {
    Ok(webhook_endpoint::Entity::find()
        .select_only()
        .column(webhook_endpoint::Column::Id)
        .filter(webhook_endpoint::Column::Enabled.eq(true))
        .into_tuple::<Uuid>()
        .one(db)
        .await?
        .is_some())
}

pub(super) async fn run(hooks: Webhooks, db: DatabaseConnection, feed: Feed) {
    let mut events = feed.subscribe();
    // The cursor as this instance last saw it.
    let mut seen: i64 = -1;
    let mut checked = Instant::now();
    // At start, a round at once: events committed while no instance dispatched wait.
    let mut started = false;
    loop {
        if started {
            tokio::select! {
                r = events.recv() => if let Err(RecvError::Closed) = r { return },
                _ = tokio::time::sleep(CHECK) => {}
            }
        }
        started = true;
        // However many events arrived, one round reads them all.
        loop {
            match events.try_recv() {
                Ok(_) | Err(TryRecvError::Lagged(_)) => {}
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Closed) => return,
            }
        }
        if closed(&db) {
            return;
        }
        if checked.elapsed() >= CHECK {
            checked = Instant::now();
            match any_enabled(&db).await {
                Ok(any) => hooks.inner.active.store(any, std::sync::atomic::Ordering::SeqCst),
                Err(e) if !closed(&db) => {
                    tracing::warn!(error = %e, "webhooks: reading the endpoints failed")
                }
                Err(_) => return,
            }
        }
        if !hooks.active() || feed.head() <= seen {
            continue;
        }
        loop {
            match round(&db).await {
                Ok(Round::Busy) => {
                    // Another instance is dispatching: the deliveries it makes are due for
                    // every instance's sender.
                    let hooks = hooks.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        hooks.wake_sender();
                    });
                    break;
                }
                Ok(Round::Done {
                    cursor,
                    created,
                    more,
                }) => {
                    // Deliveries were made, here or by another instance since this one looked.
                    if created > 0 || cursor > seen.max(0) {
                        hooks.wake_sender();
                    }
                    seen = cursor;
                    if !more {
                        break;
                    }
                }
                Err(e) => {
                    if closed(&db) {
                        return;
                    }
                    tracing::warn!(error = %e, "webhooks: dispatching change events failed; trying again");
                    break;
                }
            }
        }
    }
}

enum Round {
    /// Another instance holds the cursor.
    Busy,
    Done {
        /// Where the cursor stands now.
        cursor: i64,
        /// Deliveries written.
        created: usize,
        /// More events wait.
        more: bool,
    },
}

/// One round: the events after the cursor, at most [`BATCH`], into deliveries.
async fn round(db: &DatabaseConnection) -> Result<Round, DbErr> {
    let txn = crate::db::begin_write(db).await?;
    let Some(cursor) = webhook_dispatch::Entity::find_by_id(1)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .one(&txn)
        .await?
    else {
        return Ok(Round::Busy);
    };
    let endpoints = live_endpoints(&txn).await?;
    // Nothing older than the oldest endpoint is delivered: no need to read it.
    let start = endpoints
        .iter()
        .map(|e| e.after_seq)
        .min()
        .map_or(cursor.last_seq, |m| m.max(cursor.last_seq));
    let models = if endpoints.is_empty() {
        Vec::new()
    } else {
        change_event::Entity::find()
            .filter(change_event::Column::Seq.gt(start))
            .order_by_asc(change_event::Column::Seq)
            .limit(BATCH)
            .all(&txn)
            .await?
    };
    let more = models.len() as u64 == BATCH;
    let last = match models.last() {
        Some(m) => m.seq,
        // No endpoint: nothing to deliver, and the cursor may as well stand at the newest.
        None if endpoints.is_empty() => crate::changes::feed::newest(&txn).await?.max(cursor.last_seq),
        None => start,
    };
    let rows: Vec<ChangeRow> = models.into_iter().filter_map(ChangeRow::from_model).collect();
    let deliveries = deliveries(&txn, &endpoints, &rows).await?;
    let created = deliveries.len();
    let mut deliveries = deliveries.into_iter().peekable();
    while deliveries.peek().is_some() {
        let chunk: Vec<webhook_delivery::ActiveModel> = deliveries.by_ref().take(INSERT_CHUNK).collect();
        webhook_delivery::Entity::insert_many(chunk).exec(&txn).await?;
    }
    if last != cursor.last_seq {
        webhook_dispatch::Entity::update_many()
            .col_expr(webhook_dispatch::Column::LastSeq, last.into())
            .filter(webhook_dispatch::Column::Id.eq(1))
            .exec(&txn)
            .await?;
        txn.commit().await?;
    }
    Ok(Round::Done {
        cursor: last,
        created,
        more,
    })
}

/// The API keys in force (not revoked).
fn keys_in_force() -> sea_orm::Select<api_key::Entity> {
    api_key::Entity::find().filter(api_key::Column::RevokedAt.is_null())
}

/// The endpoints that get deliveries: enabled, of an organisation that still has an API key
/// in force (a partner whose keys are all revoked is told nothing more).
async fn live_endpoints(txn: &DatabaseTransaction) -> Result<Vec<webhook_endpoint::Model>, DbErr> {
    let keyed = keys_in_force()
        .select_only()
        .column(api_key::Column::OrganizationId)
        .into_query();
    webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::Enabled.eq(true))
        .filter(webhook_endpoint::Column::OrganizationId.in_subquery(keyed))
        .all(txn)
        .await
}

/// Whether `organization` has an API key in force, so that its enabled endpoints get
/// deliveries.
pub(crate) async fn keyed(db: &impl ConnectionTrait, organization: Uuid) -> Result<bool, DbErr> {
    use sea_orm::PaginatorTrait;
    Ok(keys_in_force()
        .filter(api_key::Column::OrganizationId.eq(organization))
        .count(db)
        .await?
        > 0)
}

/// One message to write.
struct Message<'a> {
    endpoint: Uuid,
    row: &'a ChangeRow,
    event_type: WebhookEventType,
    entity: ChangeType,
    id: Uuid,
    kind: ChangeKind,
}

/// The deliveries `rows` make for `endpoints`: for each endpoint, what its reader may see of
/// each event, as the event types it asked for.
async fn deliveries(
    txn: &DatabaseTransaction,
    endpoints: &[webhook_endpoint::Model],
    rows: &[ChangeRow],
) -> Result<Vec<webhook_delivery::ActiveModel>, DbErr> {
    let subscribers: Vec<(&webhook_endpoint::Model, Vec<WebhookEventType>, Reader)> = endpoints
        .iter()
        .map(|e| {
            (
                e,
                WebhookEventType::list(&e.event_types),
                reader_of(e.organization_id),
            )
        })
        .collect();
    let wants = |t: WebhookEventType| subscribers.iter().any(|(_, types, _)| types.contains(&t));
    let facts = Facts::load(
        txn,
        rows,
        wants(WebhookEventType::OpportunityCreated),
        wants(WebhookEventType::ProposalAccepted) || wants(WebhookEventType::ProposalDeclined),
    )
    .await?;
    let mut out = Vec::new();
    for row in rows {
        for (endpoint, types, reader) in &subscribers {
            if row.seq <= endpoint.after_seq {
                continue;
            }
            // Never anything the partner may not see.
            let Some(kind) = row.seen_by(reader) else {
                continue;
            };
            let message = |event_type, entity, id, kind| Message {
                endpoint: endpoint.id,
                row,
                event_type,
                entity,
                id,
                kind,
            };
            for t in types {
                match t {
                    WebhookEventType::Change => {
                        out.push(message(*t, row.entity, row.entity_id, kind));
                    }
                    WebhookEventType::OpportunityCreated => {
                        for (action, kind) in facts.opportunities(row, kind) {
                            out.push(message(*t, ChangeType::Action, action, kind));
                        }
                    }
                    WebhookEventType::ProposalAccepted | WebhookEventType::ProposalDeclined => {
                        let accepted = *t == WebhookEventType::ProposalAccepted;
                        if kind != ChangeKind::Deleted
                            && facts.proposal(row, accepted) == Some(endpoint.organization_id)
                        {
                            out.push(message(*t, row.entity, row.entity_id, kind));
                        }
                    }
                }
            }
        }
    }
    let now = crate::common::now();
    Ok(out
        .into_iter()
        .map(|m| {
            let id = Uuid::now_v7();
            webhook_delivery::ActiveModel {
                id: Set(id),
                endpoint_id: Set(m.endpoint),
                event_seq: Set(m.row.seq),
                message_id: Set(format!("msg_{}", id.simple())),
                event_type: Set(m.event_type.into()),
                payload: Set(body(&m)),
                status: Set(DeliveryStatus::Pending),
                attempts: Set(0),
                next_attempt_at: Set(Some(now)),
                last_attempt_at: Set(None),
                last_status: Set(None),
                last_response: Set(None),
                last_error: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
                version: Set(1),
            }
        })
        .collect())
}

/// The message's body (Standard Webhooks' shape: `type`, `timestamp`, `data`).
fn body(m: &Message<'_>) -> String {
    serde_json::json!({
        "type": m.event_type.message_type(),
        "timestamp": timestamp(m.row.occurred_at),
        "data": {
            "id": crate::relay::encode(m.entity, m.id).0,
            "type": m.entity.name(),
            "kind": kind_name(m.kind),
            "cursor": ChangeCursor::of(m.row).encode_cursor(),
        },
    })
    .to_string()
}

fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn kind_name(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::Created => "CREATED",
        ChangeKind::Updated => "UPDATED",
        ChangeKind::Deleted => "DELETED",
    }
}

/// An enum value as the audit log's diffs hold it.
fn json(value: impl serde::Serialize) -> Value {
    serde_json::to_value(value).unwrap_or_default()
}

/// A change's fields: `{"field": {"before": …, "after": …}}` (an audit record's `changes`).
type Fields = serde_json::Map<String, Value>;

/// What the events of one round need to be told apart beyond themselves: the fields their
/// writes changed (the audit records), the actions and plans they concern as they are now and
/// the changes made to them since (so each event is judged as things stood when it was
/// committed, however late the dispatcher comes), who proposed each partnership.
#[derive(Default)]
struct Facts {
    /// Audit record → the fields its write changed.
    changes: HashMap<Uuid, Fields>,
    /// The actions the events name, and those of the plans they adopted, as they are now.
    actions: HashMap<Uuid, action::Model>,
    /// Adopted plan → its actions now.
    actions_of: HashMap<Uuid, Vec<Uuid>>,
    /// The status of each plan those actions are or were in, now.
    plans: HashMap<Uuid, PlanStatus>,
    /// The changes to those actions and plans from the round's first event on, in commit
    /// order: what to undo to see one as it was just after an earlier event.
    history: HashMap<(ChangeType, Uuid), Vec<(i64, Fields)>>,
    /// Partnership → the organisation that proposed it.
    proposer: HashMap<Uuid, Option<Uuid>>,
}

/// Most values in one `IN (…)`.
const IN_CHUNK: usize = 500;

/// An action's fields that decide whether it is open to proposals, as JSON values (as the
/// audit log writes them).
#[derive(Debug, Clone)]
struct ActionState {
    seeking_partners: Value,
    status: Value,
    plan: Option<Uuid>,
}

impl Facts {
    async fn load(
        txn: &DatabaseTransaction,
        rows: &[ChangeRow],
        opportunities: bool,
        proposals: bool,
    ) -> Result<Facts, DbErr> {
        let mut facts = Facts::default();
        let relevant = |t: ChangeType| {
            (opportunities && matches!(t, ChangeType::Action | ChangeType::Plan))
                || (proposals && t == ChangeType::Partnership)
        };
        let audits: Vec<Uuid> = rows
            .iter()
            .filter(|r| relevant(r.entity))
            .filter_map(|r| r.audit_id)
            .collect();
        facts.changes = audit_changes(txn, &audits).await?;
        if opportunities && let Some(first) = rows.first().map(|r| r.seq) {
            facts.load_opportunities(txn, rows, first).await?;
        }
        if proposals {
            let ids: Vec<Uuid> = rows
                .iter()
                .filter(|r| r.entity == ChangeType::Partnership)
                .map(|r| r.entity_id)
                .collect();
            for chunk in ids.chunks(IN_CHUNK) {
                let found: Vec<(Uuid, Option<Uuid>)> = partnership::Entity::find()
                    .select_only()
                    .column(partnership::Column::Id)
                    .column(partnership::Column::ProposedByOrganizationId)
                    .filter(partnership::Column::Id.is_in(chunk.iter().copied()))
                    .into_tuple()
                    .all(txn)
                    .await?;
                facts.proposer.extend(found);
            }
        }
        Ok(facts)
    }

    /// The actions and plans the round's events concern: now, and their changes since the
    /// event `first`. Rows are read before their changes, so a write committing in between
    /// is undone from rows that never held it, which leaves them as they were.
    async fn load_opportunities(
        &mut self,
        txn: &DatabaseTransaction,
        rows: &[ChangeRow],
        first: i64,
    ) -> Result<(), DbErr> {
        let named: Vec<Uuid> = rows
            .iter()
            .filter(|r| r.entity == ChangeType::Action)
            .map(|r| r.entity_id)
            .collect();
        let adopted: Vec<Uuid> = rows
            .iter()
            .filter(|r| r.entity == ChangeType::Plan && self.adopted(r))
            .map(|r| r.entity_id)
            .collect();
        for (column, ids) in [(action::Column::Id, &named), (action::Column::PlanId, &adopted)] {
            for chunk in ids.chunks(IN_CHUNK) {
                for a in action::Entity::find()
                    .filter(column.is_in(chunk.iter().copied()))
                    .all(txn)
                    .await?
                {
                    self.actions.insert(a.id, a);
                }
            }
        }
        for a in self.actions.values() {
            if adopted.contains(&a.plan_id) {
                self.actions_of.entry(a.plan_id).or_default().push(a.id);
            }
        }
        let actions: Vec<Uuid> = self.actions.keys().copied().collect();
        self.load_history(txn, ChangeType::Action, &actions, first)
            .await?;
        // The plans the actions are in, were in, or that were adopted.
        let mut plans: HashSet<Uuid> = adopted.iter().copied().collect();
        plans.extend(self.actions.values().map(|a| a.plan_id));
        for ((t, _), changes) in &self.history {
            if *t == ChangeType::Action {
                for (_, fields) in changes {
                    if let Some(change) = fields.get(action::Column::PlanId.as_str()) {
                        for v in [change.get("before"), change.get("after")].into_iter().flatten() {
                            plans.extend(v.as_str().and_then(|s| s.parse::<Uuid>().ok()));
                        }
                    }
                }
            }
        }
        let plans: Vec<Uuid> = plans.into_iter().collect();
        for chunk in plans.chunks(IN_CHUNK) {
            let found: Vec<(Uuid, PlanStatus)> = plan::Entity::find()
                .select_only()
                .column(plan::Column::Id)
                .column(plan::Column::Status)
                .filter(plan::Column::Id.is_in(chunk.iter().copied()))
                .into_tuple()
                .all(txn)
                .await?;
            self.plans.extend(found);
        }
        self.load_history(txn, ChangeType::Plan, &plans, first).await
    }

    /// The changes written to rows `ids` of type `t` by the events from `first` on.
    async fn load_history(
        &mut self,
        txn: &DatabaseTransaction,
        t: ChangeType,
        ids: &[Uuid],
        first: i64,
    ) -> Result<(), DbErr> {
        for chunk in ids.chunks(IN_CHUNK) {
            let events: Vec<(i64, Uuid, Option<Uuid>)> = change_event::Entity::find()
                .select_only()
                .column(change_event::Column::Seq)
                .column(change_event::Column::EntityId)
                .column(change_event::Column::AuditId)
                .filter(change_event::Column::EntityType.eq(t.name()))
                .filter(change_event::Column::EntityId.is_in(chunk.iter().copied()))
                .filter(change_event::Column::Seq.gte(first))
                .filter(change_event::Column::AuditId.is_not_null())
                .order_by_asc(change_event::Column::Seq)
                .into_tuple()
                .all(txn)
                .await?;
            let audits: Vec<Uuid> = events.iter().filter_map(|e| e.2).collect();
            let mut changes = audit_changes(txn, &audits).await?;
            for (seq, id, audit) in events {
                if let Some(fields) = audit.and_then(|a| changes.remove(&a)) {
                    self.history.entry((t, id)).or_default().push((seq, fields));
                }
            }
        }
        Ok(())
    }

    /// The value of `field` of row `id` just after the event `seq`: what the next change to it
    /// found, or else its value now.
    fn value_after(&self, t: ChangeType, id: Uuid, field: impl IdenStatic, seq: i64, now: Value) -> Value {
        self.history
            .get(&(t, id))
            .and_then(|changes| {
                changes
                    .iter()
                    .filter(|(s, _)| *s > seq)
                    .find_map(|(_, fields)| fields.get(field.as_str())?.get("before").cloned())
            })
            .unwrap_or(now)
    }

    /// Action `id` just after the event `seq`; `None` when it no longer exists.
    fn action_after(&self, id: Uuid, seq: i64) -> Option<ActionState> {
        let now = self.actions.get(&id)?;
        let plan = self.value_after(
            ChangeType::Action,
            id,
            action::Column::PlanId,
            seq,
            Value::String(now.plan_id.to_string()),
        );
        Some(ActionState {
            seeking_partners: self.value_after(
                ChangeType::Action,
                id,
                action::Column::SeekingPartners,
                seq,
                Value::Bool(now.seeking_partners),
            ),
            status: self.value_after(
                ChangeType::Action,
                id,
                action::Column::Status,
                seq,
                serde_json::to_value(now.status).unwrap_or_default(),
            ),
            plan: plan.as_str().and_then(|s| s.parse().ok()),
        })
    }

    /// The action of `row` just before its write, given how it was just after.
    fn action_before(&self, row: &ChangeRow, after: &ActionState) -> ActionState {
        let field = |column: action::Column, after: &Value| {
            self.before(row, column).cloned().unwrap_or_else(|| after.clone())
        };
        let plan = self
            .before(row, action::Column::PlanId)
            .map(|v| v.as_str().and_then(|s| s.parse().ok()))
            .unwrap_or(after.plan);
        ActionState {
            seeking_partners: field(action::Column::SeekingPartners, &after.seeking_partners),
            status: field(action::Column::Status, &after.status),
            plan,
        }
    }

    /// Whether `opportunities` listed the action `state` just after the event `seq`: in an
    /// adopted plan, seeking partners, not finished.
    fn open(&self, state: &ActionState, seq: i64) -> bool {
        let Some(plan) = state.plan else {
            return false;
        };
        let Some(now) = self.plans.get(&plan) else {
            return false;
        };
        let adopted = json(PlanStatus::Adopted);
        let plan_status = self.value_after(
            ChangeType::Plan,
            plan,
            plan::Column::Status,
            seq,
            serde_json::to_value(now).unwrap_or_default(),
        );
        plan_status == adopted
            && state.seeking_partners == Value::Bool(true)
            && crate::action::OPPORTUNITY_STATUSES.iter().any(|s| {
                serde_json::to_value(entity::action::ActionStatus::from(*s))
                    .ok()
                    .as_ref()
                    == Some(&state.status)
            })
    }

    /// Whether action `id` is open to proposals now: an action closed again by the time
    /// the dispatcher comes to the change that opened it is not announced.
    fn open_now(&self, id: Uuid) -> bool {
        self.action_after(id, i64::MAX)
            .is_some_and(|st| self.open(&st, i64::MAX))
    }

    /// The value of `field` before the write of `row`, when the write changed it.
    fn before(&self, row: &ChangeRow, field: impl IdenStatic) -> Option<&Value> {
        self.changes
            .get(&row.audit_id?)?
            .get(field.as_str())?
            .get("before")
    }

    fn after(&self, row: &ChangeRow, field: impl IdenStatic) -> Option<&Value> {
        self.changes
            .get(&row.audit_id?)?
            .get(field.as_str())?
            .get("after")
    }

    /// The write of plan `row` adopted it.
    fn adopted(&self, row: &ChangeRow) -> bool {
        let adopted = json(PlanStatus::Adopted);
        self.after(row, plan::Column::Status) == Some(&adopted)
            && self.before(row, plan::Column::Status) != Some(&adopted)
    }

    /// The actions newly open to proposals by the change `row` (seen as `kind`), with how
    /// the partner sees each: judged as things stood just after the change (so each opening
    /// is told once, however late the dispatcher comes), and still open now.
    fn opportunities(&self, row: &ChangeRow, kind: ChangeKind) -> Vec<(Uuid, ChangeKind)> {
        let seq = row.seq;
        match (row.entity, kind) {
            // New to the partner (created, or out of a draft), and open.
            (ChangeType::Action, ChangeKind::Created) => match self.action_after(row.entity_id, seq) {
                Some(after) if self.open(&after, seq) && self.open_now(row.entity_id) => {
                    vec![(row.entity_id, kind)]
                }
                _ => Vec::new(),
            },
            // Open, and its write opened it (it started seeking partners, was reopened, or
            // moved into an adopted plan).
            (ChangeType::Action, ChangeKind::Updated) => match self.action_after(row.entity_id, seq) {
                Some(after)
                    if self.open(&after, seq)
                        && !self.open(&self.action_before(row, &after), seq)
                        && self.open_now(row.entity_id) =>
                {
                    vec![(row.entity_id, kind)]
                }
                _ => Vec::new(),
            },
            // Its plan was adopted (from consultation, or out of the archive): every action of
            // it then open, which the partner could see before.
            (ChangeType::Plan, ChangeKind::Updated) if self.adopted(row) => self
                .actions_of
                .get(&row.entity_id)
                .into_iter()
                .flatten()
                .filter(|a| {
                    self.action_after(**a, seq)
                        .is_some_and(|st| st.plan == Some(row.entity_id) && self.open(&st, seq))
                        && self.open_now(**a)
                })
                .map(|a| (*a, ChangeKind::Updated))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The organisation whose proposal the write of `row` accepted (or declined), if it did.
    fn proposal(&self, row: &ChangeRow, accepted: bool) -> Option<Uuid> {
        if row.entity != ChangeType::Partnership {
            return None;
        }
        let happened = if accepted {
            self.before(row, partnership::Column::Status) == Some(&json(PartnershipStatus::Proposed))
                && self.after(row, partnership::Column::Status) == Some(&json(PartnershipStatus::Active))
        } else {
            self.before(row, partnership::Column::DeclinedAt)
                .is_some_and(Value::is_null)
                && self
                    .after(row, partnership::Column::DeclinedAt)
                    .is_some_and(|v| !v.is_null())
        };
        if !happened {
            return None;
        }
        self.proposer
            .get(&row.entity_id)
            .copied()
            .flatten()
            .or(row.before.organization)
    }
}

/// The changed fields of the audit records `ids`.
async fn audit_changes(txn: &DatabaseTransaction, ids: &[Uuid]) -> Result<HashMap<Uuid, Fields>, DbErr> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(IN_CHUNK) {
        let found: Vec<(Uuid, String)> = audit_log::Entity::find()
            .select_only()
            .column(audit_log::Column::Id)
            .column(audit_log::Column::Changes)
            .filter(audit_log::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(txn)
            .await?;
        for (id, changes) in found {
            if let Ok(Value::Object(fields)) = serde_json::from_str(&changes) {
                out.insert(id, fields);
            }
        }
    }
    Ok(out)
}
