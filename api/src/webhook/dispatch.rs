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
    action, api_key, audit_log, change_event, partnership,
    plan::{self, PlanStatus},
    webhook_delivery::{self, DeliveryStatus},
    webhook_dispatch, webhook_endpoint,
};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    sea_query::{LockBehavior, LockType},
};
use serde_json::Value;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use uuid::Uuid;

use super::{WebhookEventType, Webhooks, closed, reader_of};
use crate::{
    access::Access,
    changes::{ChangeKind, ChangeRow, ChangeType, Feed, Reader, query::ChangeCursor},
};

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
    loop {
        tokio::select! {
            r = events.recv() => if let Err(RecvError::Closed) = r { return },
            _ = tokio::time::sleep(CHECK) => {}
        }
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
        None if endpoints.is_empty() => newest(&txn).await?.max(cursor.last_seq),
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

/// The newest event's number (0 when there is none).
async fn newest(txn: &DatabaseTransaction) -> Result<i64, DbErr> {
    let head: Option<Option<i64>> = change_event::Entity::find()
        .select_only()
        .expr(change_event::Column::Seq.max())
        .into_tuple::<Option<i64>>()
        .one(txn)
        .await?;
    Ok(head.flatten().unwrap_or(0))
}

/// The endpoints that get deliveries: enabled, of an organisation that still has an API key
/// in force (a partner whose keys are all revoked is told nothing more).
async fn live_endpoints(txn: &DatabaseTransaction) -> Result<Vec<webhook_endpoint::Model>, DbErr> {
    let keyed = api_key::Entity::find()
        .select_only()
        .column(api_key::Column::OrganizationId)
        .filter(api_key::Column::RevokedAt.is_null())
        .into_query();
    webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::Enabled.eq(true))
        .filter(webhook_endpoint::Column::OrganizationId.in_subquery(keyed))
        .all(txn)
        .await
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
    let now = Utc::now();
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
            "id": crate::relay::encode(m.entity.name(), m.id).0,
            "type": m.entity.name(),
            "kind": kind_name(m.kind),
            "cursor": ChangeCursor(m.row.seq).encode_cursor(),
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

/// What the events of one round need to be told apart beyond themselves: the fields their
/// writes changed (the audit records), which actions are open to proposals now, who proposed
/// each partnership.
#[derive(Default)]
struct Facts {
    /// Audit record → `{"field": {"before": …, "after": …}}`.
    changes: HashMap<Uuid, serde_json::Map<String, Value>>,
    /// Actions (of those the events name, or of the plans they adopted) that `opportunities`
    /// lists now.
    open: HashSet<Uuid>,
    /// Plan → its actions that `opportunities` lists now.
    open_of_plan: HashMap<Uuid, Vec<Uuid>>,
    /// The statuses of the plans actions were moved out of.
    plan_status: HashMap<Uuid, PlanStatus>,
    /// Partnership → the organisation that proposed it.
    proposer: HashMap<Uuid, Option<Uuid>>,
}

/// Most values in one `IN (…)`.
const IN_CHUNK: usize = 500;

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
        for chunk in audits.chunks(IN_CHUNK) {
            for a in audit_log::Entity::find()
                .filter(audit_log::Column::Id.is_in(chunk.iter().copied()))
                .all(txn)
                .await?
            {
                if let Ok(Value::Object(map)) = serde_json::from_str(&a.changes) {
                    facts.changes.insert(a.id, map);
                }
            }
        }
        if opportunities {
            let actions: Vec<Uuid> = rows
                .iter()
                .filter(|r| r.entity == ChangeType::Action)
                .map(|r| r.entity_id)
                .collect();
            let plans: Vec<Uuid> = rows
                .iter()
                .filter(|r| r.entity == ChangeType::Plan && facts.adopted(r))
                .map(|r| r.entity_id)
                .collect();
            let moved_from: Vec<Uuid> = rows
                .iter()
                .filter(|r| r.entity == ChangeType::Action)
                .filter_map(|r| facts.before(r, "plan_id"))
                .filter_map(|v| v.as_str().and_then(|s| s.parse().ok()))
                .collect();
            for chunk in actions.chunks(IN_CHUNK) {
                facts.load_open(txn, action::Column::Id, chunk).await?;
            }
            for chunk in plans.chunks(IN_CHUNK) {
                facts.load_open(txn, action::Column::PlanId, chunk).await?;
            }
            for chunk in moved_from.chunks(IN_CHUNK) {
                for p in plan::Entity::find()
                    .filter(plan::Column::Id.is_in(chunk.iter().copied()))
                    .all(txn)
                    .await?
                {
                    facts.plan_status.insert(p.id, p.status);
                }
            }
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

    /// The actions `opportunities` lists now (public, of an adopted plan, seeking partners,
    /// not finished) among those whose `column` is in `ids`.
    async fn load_open(
        &mut self,
        txn: &DatabaseTransaction,
        column: action::Column,
        ids: &[Uuid],
    ) -> Result<(), DbErr> {
        let adopted = plan::Entity::find()
            .select_only()
            .column(plan::Column::Id)
            .filter(plan::Column::Status.eq(PlanStatus::Adopted))
            .into_query();
        let statuses = crate::action::OPPORTUNITY_STATUSES.map(entity::action::ActionStatus::from);
        let open: Vec<(Uuid, Uuid)> = crate::action::visible(&Access::anonymous())
            .select_only()
            .column(action::Column::Id)
            .column(action::Column::PlanId)
            .filter(column.is_in(ids.iter().copied()))
            .filter(
                Condition::all()
                    .add(action::Column::PlanId.in_subquery(adopted))
                    .add(action::Column::SeekingPartners.eq(true))
                    .add(action::Column::Status.is_in(statuses)),
            )
            .into_tuple()
            .all(txn)
            .await?;
        for (action, plan) in open {
            if self.open.insert(action) {
                self.open_of_plan.entry(plan).or_default().push(action);
            }
        }
        Ok(())
    }

    /// The value of `field` before the write of `row`, when the write changed it.
    fn before(&self, row: &ChangeRow, field: &str) -> Option<&Value> {
        self.changes.get(&row.audit_id?)?.get(field)?.get("before")
    }

    fn after(&self, row: &ChangeRow, field: &str) -> Option<&Value> {
        self.changes.get(&row.audit_id?)?.get(field)?.get("after")
    }

    /// The write of plan `row` adopted it.
    fn adopted(&self, row: &ChangeRow) -> bool {
        let adopted = Value::String("ADOPTED".into());
        self.after(row, "status") == Some(&adopted) && self.before(row, "status") != Some(&adopted)
    }

    /// The actions newly open to proposals by the change `row` (seen as `kind`), with how
    /// the partner sees each.
    fn opportunities(&self, row: &ChangeRow, kind: ChangeKind) -> Vec<(Uuid, ChangeKind)> {
        match (row.entity, kind) {
            // New to the partner (created, or out of a draft) and open now.
            (ChangeType::Action, ChangeKind::Created) if self.open.contains(&row.entity_id) => {
                vec![(row.entity_id, kind)]
            }
            // Open now, and its write opened it.
            (ChangeType::Action, ChangeKind::Updated)
                if self.open.contains(&row.entity_id) && self.was_closed(row) =>
            {
                vec![(row.entity_id, kind)]
            }
            // Its plan was adopted (from consultation, or out of the archive): every open
            // action of it, which the partner could see before.
            (ChangeType::Plan, ChangeKind::Updated) if self.adopted(row) => self
                .open_of_plan
                .get(&row.entity_id)
                .map(|actions| actions.iter().map(|a| (*a, ChangeKind::Updated)).collect())
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// Whether the action of `row` was not open to proposals before its write: it did not
    /// seek partners, was finished, or belonged to a plan that was not adopted.
    fn was_closed(&self, row: &ChangeRow) -> bool {
        if self.before(row, "seeking_partners") == Some(&Value::Bool(false)) {
            return true;
        }
        if let Some(Value::String(status)) = self.before(row, "status") {
            let open = crate::action::OPPORTUNITY_STATUSES.iter().any(|s| {
                serde_json::to_value(entity::action::ActionStatus::from(*s)).ok()
                    == Some(Value::String(status.clone()))
            });
            if !open {
                return true;
            }
        }
        if let Some(plan) = self
            .before(row, "plan_id")
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<Uuid>().ok())
        {
            return self.plan_status.get(&plan) != Some(&PlanStatus::Adopted);
        }
        false
    }

    /// The organisation whose proposal the write of `row` accepted (or declined), if it did.
    fn proposal(&self, row: &ChangeRow, accepted: bool) -> Option<Uuid> {
        if row.entity != ChangeType::Partnership {
            return None;
        }
        let happened = if accepted {
            self.before(row, "status") == Some(&Value::String("PROPOSED".into()))
                && self.after(row, "status") == Some(&Value::String("ACTIVE".into()))
        } else {
            self.before(row, "declined_at").is_some_and(Value::is_null)
                && self.after(row, "declined_at").is_some_and(|v| !v.is_null())
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
