//! The sender: makes the attempts that are due. Every instance runs one. An attempt is
//! claimed in a short transaction that counts it and takes a lease (`next_attempt_at` moves
//! past the time the attempt may take), the due rows locked `FOR UPDATE SKIP LOCKED` on
//! PostgreSQL, so two instances never claim the same attempt; the request is made outside any
//! transaction; its outcome is recorded in another. An instance that stops mid-attempt leaves
//! the lease to run out, and the attempt, counted, is followed by the next.
//!
//! A delivery is DELIVERED when the endpoint answers 2xx (redirects are not followed), and
//! otherwise tried again after the next wait of the schedule (`WEBHOOK_RETRY_SCHEDULE`);
//! after the last it is FAILED. When a delivery fails its last attempt and nothing was
//! delivered to the endpoint meanwhile, the endpoint is disabled, with the reason, and its
//! other pending deliveries are cancelled.
use std::{collections::HashMap, time::Duration};

use chrono::{DateTime, Utc};
use entity::{
    webhook_delivery::{self, Column as D, DeliveryStatus},
    webhook_endpoint::{self, Column as E, DisabledBy},
};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    sea_query::{Expr, ExprTrait, LockBehavior, LockType},
};
use uuid::Uuid;

use super::{MAX_RESPONSE_BYTES, Webhooks, address, closed, dispatch::CHECK, sign};
use crate::{auth::Viewer, relay::OtherType, write::Write};

/// Attempts one instance makes at once. An attempt runs on its own: a slow endpoint holds its
/// own slot, not the others' deliveries (nor their retries), and while it has one in flight no
/// other attempt to it is claimed; so one organisation (at most `MAX_ENDPOINTS`, 10) holds at
/// most 10 slots, and only several organisations' slow endpoints together could fill them.
/// Each is an HTTP request waiting on its answer: cheap to have many of.
const CLAIM: usize = 64;

/// How long past the request's own timeout a claimed attempt stays leased.
const LEASE_MARGIN: Duration = Duration::from_secs(50);

/// The longest error kept with a delivery.
const MAX_ERROR: usize = 500;

pub(super) async fn run(hooks: Webhooks, db: DatabaseConnection) {
    // When this instance knows an attempt is due next; `None`: it does not (it looks every
    // CHECK, for the attempts of other instances and of the dispatcher's rounds elsewhere).
    let mut due: Option<DateTime<Utc>> = Some(crate::common::now());
    let mut cleaned = std::time::Instant::now();
    let mut flights = Flights::default();
    loop {
        let wait = due
            .map(|d| (d - crate::common::now()).to_std().unwrap_or_default())
            .unwrap_or(CHECK)
            .min(CHECK);
        tokio::select! {
            _ = hooks.inner.send.notified() => {}
            _ = tokio::time::sleep(wait) => {}
            Some(done) = flights.tasks.join_next_with_id(), if !flights.tasks.is_empty() => flights.landed(done),
        }
        if closed(&db) {
            return;
        }
        if !hooks.active() {
            due = None;
            continue;
        }
        if cleaned.elapsed() >= CLEAN_EVERY {
            cleaned = std::time::Instant::now();
            if let Err(e) = forget_old(&hooks, &db).await {
                tracing::warn!(error = %e, "webhooks: deleting old deliveries failed");
            }
        }
        due = match work(&hooks, &db, &mut flights).await {
            Ok(next) => next,
            Err(e) => {
                if closed(&db) {
                    return;
                }
                tracing::warn!(error = %e, "webhooks: sending failed; trying again");
                Some(crate::common::now() + Duration::from_secs(1))
            }
        };
    }
}

/// How often finished deliveries past `WEBHOOK_RETENTION_DAYS` are deleted.
const CLEAN_EVERY: Duration = Duration::from_secs(3600);

/// Deletes the deliveries that finished (delivered, failed, cancelled) longer ago than the
/// retention period: the record of what was sent is kept that long.
async fn forget_old(hooks: &Webhooks, db: &DatabaseConnection) -> Result<(), DbErr> {
    let days = i64::from(hooks.inner.retention_days);
    let cutoff = crate::common::now() - chrono::Duration::days(days);
    let gone = webhook_delivery::Entity::delete_many()
        .filter(D::Status.ne(DeliveryStatus::Pending))
        .filter(D::UpdatedAt.lt(cutoff))
        .exec(db)
        .await?
        .rows_affected;
    if gone > 0 {
        tracing::info!(deleted = gone, days, "webhooks: deleted old deliveries");
    }
    Ok(())
}

/// The attempts this instance is making, each a task of its own, and the endpoint of each.
#[derive(Default)]
struct Flights {
    tasks: tokio::task::JoinSet<Result<(), DbErr>>,
    endpoints: HashMap<tokio::task::Id, Uuid>,
}

impl Flights {
    /// An attempt ended: its endpoint may be claimed for again.
    fn landed(&mut self, done: Result<(tokio::task::Id, Result<(), DbErr>), tokio::task::JoinError>) {
        let task = match &done {
            Ok((task, _)) => *task,
            Err(e) => e.id(),
        };
        self.endpoints.remove(&task);
        match done {
            Ok((_, Ok(()))) => {}
            Ok((_, Err(e))) => {
                tracing::warn!(error = %e, "webhooks: recording an attempt failed; its lease runs out and it is tried again");
            }
            Err(e) => tracing::error!(error = %e, "webhooks: an attempt's task failed"),
        }
    }

    /// The endpoints with an attempt in flight.
    fn busy(&self) -> Vec<Uuid> {
        self.endpoints.values().copied().collect()
    }
}

/// Starts the attempts due now, as many as there is room for; returns when to look again:
/// when the next is due, if any is pending (the attempts started wake the loop as they end).
async fn work(
    hooks: &Webhooks,
    db: &DatabaseConnection,
    flights: &mut Flights,
) -> Result<Option<DateTime<Utc>>, DbErr> {
    loop {
        let next = next_due(db).await?;
        match next {
            Some(at) if at <= crate::common::now() => {}
            other => return Ok(other),
        }
        let room = CLAIM.saturating_sub(flights.tasks.len());
        let claimed = if room == 0 {
            Vec::new()
        } else {
            claim(hooks, db, room, &flights.busy()).await?
        };
        if claimed.is_empty() {
            // Due, but leased to another instance, of a disabled endpoint or of one with an
            // attempt in flight, or no room: look again soon.
            return Ok(Some(crate::common::now() + Duration::from_millis(500)));
        }
        for (d, e) in claimed {
            let endpoint = e.id;
            let (hooks, db) = (hooks.clone(), db.clone());
            let task = flights.tasks.spawn(async move {
                let outcome = attempt(&hooks, &d, &e).await;
                record(&hooks, &db, &d, &e, outcome).await
            });
            flights.endpoints.insert(task.id(), endpoint);
        }
    }
}

/// When the soonest pending attempt is due (or its lease ends).
async fn next_due(db: &DatabaseConnection) -> Result<Option<DateTime<Utc>>, DbErr> {
    let next: Option<Option<DateTime<Utc>>> = webhook_delivery::Entity::find()
        .select_only()
        .expr(D::NextAttemptAt.min())
        .filter(D::Status.eq(DeliveryStatus::Pending))
        // As `claim` takes them: a disabled endpoint's are not due.
        .filter(
            D::EndpointId.in_subquery(
                webhook_endpoint::Entity::find()
                    .select_only()
                    .column(E::Id)
                    .filter(E::Enabled.eq(true))
                    .into_query(),
            ),
        )
        .into_tuple::<Option<DateTime<Utc>>>()
        .one(db)
        .await?;
    Ok(next.flatten())
}

/// Claims up to [`CLAIM`] due attempts: counts each and leases it, in one short transaction.
async fn claim(
    hooks: &Webhooks,
    db: &DatabaseConnection,
    room: usize,
    busy: &[Uuid],
) -> Result<Vec<(webhook_delivery::Model, webhook_endpoint::Model)>, DbErr> {
    let txn = crate::db::begin_write(db).await?;
    let now = crate::common::now();
    let enabled = webhook_endpoint::Entity::find()
        .select_only()
        .column(E::Id)
        .filter(E::Enabled.eq(true))
        .into_query();
    let due: Vec<(Uuid, Uuid)> = webhook_delivery::Entity::find()
        .select_only()
        .column(D::Id)
        .column(D::EndpointId)
        .filter(D::Status.eq(DeliveryStatus::Pending))
        .filter(D::NextAttemptAt.lte(now))
        .filter(D::EndpointId.in_subquery(enabled))
        .filter(D::EndpointId.is_not_in(busy.iter().copied()))
        .order_by_asc(D::NextAttemptAt)
        .limit(CLAIM as u64 * 2)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .into_tuple()
        .all(&txn)
        .await?;
    // The soonest of each endpoint: one attempt at a time to an endpoint.
    let mut endpoints_claimed: Vec<Uuid> = Vec::new();
    let ids: Vec<Uuid> = due
        .into_iter()
        .filter(|(_, endpoint)| {
            let first = !endpoints_claimed.contains(endpoint);
            if first {
                endpoints_claimed.push(*endpoint);
            }
            first
        })
        .map(|(id, _)| id)
        .take(room)
        .collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let lease = now + hooks.inner.timeout + LEASE_MARGIN;
    webhook_delivery::Entity::update_many()
        .col_expr(D::Attempts, Expr::col(D::Attempts).add(1))
        .col_expr(D::NextAttemptAt, Expr::value(lease))
        .col_expr(D::LastAttemptAt, Expr::value(now))
        .col_expr(D::UpdatedAt, Expr::value(now))
        .col_expr(D::Version, Expr::col(D::Version).add(1))
        .filter(D::Id.is_in(ids.iter().copied()))
        .exec(&txn)
        .await?;
    let deliveries = webhook_delivery::Entity::find()
        .filter(D::Id.is_in(ids.iter().copied()))
        .all(&txn)
        .await?;
    let endpoints = webhook_endpoint::Entity::find()
        .filter(E::Id.is_in(deliveries.iter().map(|d| d.endpoint_id)))
        .all(&txn)
        .await?;
    txn.commit().await?;
    Ok(deliveries
        .into_iter()
        .filter_map(|d| {
            let e = endpoints.iter().find(|e| e.id == d.endpoint_id)?.clone();
            Some((d, e))
        })
        .collect())
}

/// What one attempt came to.
struct Outcome {
    status: Option<u16>,
    response: Option<String>,
    error: Option<String>,
}

impl Outcome {
    fn delivered(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }

    fn failed(error: impl Into<String>) -> Outcome {
        Outcome {
            status: None,
            response: None,
            error: Some(bounded(error.into(), MAX_ERROR)),
        }
    }

    /// For a person: `HTTP 500` or the error.
    fn describe(&self) -> String {
        match (self.status, &self.error) {
            (Some(s), _) => format!("HTTP {s}"),
            (None, Some(e)) => e.clone(),
            (None, None) => "no answer".into(),
        }
    }
}

/// One attempt: the signed request, and the answer.
async fn attempt(hooks: &Webhooks, d: &webhook_delivery::Model, e: &webhook_endpoint::Model) -> Outcome {
    let url = match reqwest::Url::parse(&e.url) {
        Ok(u) => u,
        Err(err) => return Outcome::failed(format!("the endpoint's URL is not valid: {err}")),
    };
    // The resolver checks names; an address in the URL is checked here.
    if !hooks.allow_private()
        && let Some(ip) = address::literal_address(&url)
        && !address::is_public(ip)
    {
        return Outcome::failed(format!(
            "{ip} is not a public address; webhooks are not sent there"
        ));
    }
    let now = crate::common::now();
    let mut secrets = vec![e.secret.as_str()];
    if let (Some(old), Some(until)) = (&e.previous_secret, e.previous_secret_expires_at)
        && until > now
    {
        secrets.push(old);
    }
    let timestamp = now.timestamp();
    let Some(signature) = sign::header(&secrets, &d.message_id, timestamp, &d.payload) else {
        return Outcome::failed("the endpoint's secret cannot sign");
    };
    let request = hooks
        .inner
        .client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("webhook-id", &d.message_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(d.payload.clone());
    match request.send().await {
        Ok(mut response) => {
            let status = response.status().as_u16();
            let mut body = Vec::new();
            // The start of the answer only: a partner's server may send anything.
            while body.len() < MAX_RESPONSE_BYTES {
                match response.chunk().await {
                    Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                    Ok(None) | Err(_) => break,
                }
            }
            body.truncate(MAX_RESPONSE_BYTES);
            let text = String::from_utf8_lossy(&body).into_owned();
            Outcome {
                status: Some(status),
                response: Some(bounded(text, MAX_RESPONSE_BYTES)),
                error: None,
            }
        }
        Err(err) => Outcome::failed(describe(hooks, &err)),
    }
}

/// A request's error with its causes: "error sending request …: client error (Connect): …".
fn describe(hooks: &Webhooks, err: &reqwest::Error) -> String {
    if err.is_timeout() {
        return format!("no answer within {} ms", hooks.inner.timeout.as_millis());
    }
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        let message = s.to_string();
        if !text.contains(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        source = s.source();
    }
    text
}

/// `text` cut to at most `max` bytes, on a character boundary.
fn bounded(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// Records an attempt's outcome: delivered, due again after the schedule's next wait, or
/// failed for good.
async fn record(
    hooks: &Webhooks,
    db: &DatabaseConnection,
    d: &webhook_delivery::Model,
    e: &webhook_endpoint::Model,
    outcome: Outcome,
) -> Result<(), DbErr> {
    let now = crate::common::now();
    let delivered = outcome.delivered();
    // `attempts` counts this one already (the claim did).
    let retry = hooks
        .schedule()
        .get(std::cmp::max(d.attempts, 1) as usize - 1)
        .copied()
        .filter(|_| !delivered);
    let (status, next) = match (delivered, retry) {
        (true, _) => (DeliveryStatus::Delivered, None),
        (false, Some(wait)) => (DeliveryStatus::Pending, Some(now + wait)),
        (false, None) => (DeliveryStatus::Failed, None),
    };
    let describe = outcome.describe();
    let txn = crate::db::begin_write(db).await?;
    let row = webhook_delivery::ActiveModel {
        status: Set(status),
        next_attempt_at: Set(next),
        last_status: Set(outcome.status.map(i32::from)),
        last_response: Set(outcome.response),
        last_error: Set(outcome.error),
        updated_at: Set(now),
        ..Default::default()
    };
    // Unless it was cancelled meanwhile (the endpoint disabled or deleted).
    let written = webhook_delivery::Entity::update_many()
        .set(row)
        .col_expr(D::Version, Expr::col(D::Version).add(1))
        .filter(D::Id.eq(d.id))
        .filter(D::Status.eq(DeliveryStatus::Pending))
        // Unless another worker claimed it again meanwhile (this one's lease ran out).
        .filter(D::Version.eq(d.version))
        .exec(&txn)
        .await?
        .rows_affected
        == 1;
    if written {
        // The endpoint's failures since the last success (not a change the partner made: the
        // version stays).
        let failures = if delivered {
            Expr::value(0)
        } else {
            Expr::col(E::ConsecutiveFailures).add(1)
        };
        webhook_endpoint::Entity::update_many()
            .col_expr(E::ConsecutiveFailures, failures)
            .filter(E::Id.eq(e.id))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    if written && status == DeliveryStatus::Failed {
        disable_if_failing(hooks, db, d, e.id, &describe).await?;
    }
    Ok(())
}

/// Disables the endpoint `id` when the delivery `d` just failed its last attempt and nothing
/// was delivered to the endpoint meanwhile (every attempt since failed), and cancels its
/// other pending deliveries. Audited as `system:webhooks`.
async fn disable_if_failing(
    hooks: &Webhooks,
    db: &DatabaseConnection,
    d: &webhook_delivery::Model,
    id: Uuid,
    last: &str,
) -> Result<(), DbErr> {
    let attempts = hooks.attempts();
    let w = Write::begin_as(db, Viewer::system("webhooks"))
        .await
        .map_err(|e| DbErr::Custom(format!("{e:?}")))?;
    let Some(before) = webhook_endpoint::Entity::find_by_id(id).one(w.txn()).await? else {
        return Ok(());
    };
    if !before.enabled || before.consecutive_failures < attempts {
        return Ok(());
    }
    let now = crate::common::now();
    let span = d
        .last_attempt_at
        .map(|last| last - d.created_at)
        .unwrap_or_default();
    let reason = format!(
        "Disabled on {} because every attempt to deliver {} failed ({} attempts over {}; the last: {}) and nothing was delivered to this endpoint meanwhile. Fix the endpoint, then enable it again with updateWebhookEndpoint (enabled: true); changes made while it was disabled are in the `changes` feed.",
        now.format("%Y-%m-%d %H:%M UTC"),
        d.message_id,
        d.attempts,
        human(span),
        last,
    );
    let row = webhook_endpoint::ActiveModel {
        enabled: Set(false),
        disabled_by: Set(Some(DisabledBy::Failures)),
        disabled_reason: Set(Some(reason)),
        disabled_at: Set(Some(now)),
        ..Default::default()
    };
    let update = w
        .update::<webhook_endpoint::Entity>(OtherType::WebhookEndpoint, &before, before.version, row)
        .await;
    if update.is_err() {
        // Changed by its partner meanwhile: the next failure decides again.
        return Ok(());
    }
    cancel_pending(w.txn(), id).await?;
    w.commit().await.map_err(|e| DbErr::Custom(format!("{e:?}")))?;
    tracing::warn!(endpoint = %id, "webhooks: disabled an endpoint whose deliveries keep failing");
    Ok(())
}

/// Cancels the pending deliveries of endpoint `id` (it was disabled).
pub async fn cancel_pending(txn: &sea_orm::DatabaseTransaction, id: Uuid) -> Result<(), DbErr> {
    webhook_delivery::Entity::update_many()
        .col_expr(D::Status, Expr::value(DeliveryStatus::Cancelled))
        .col_expr(D::NextAttemptAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(D::UpdatedAt, Expr::value(crate::common::now()))
        .col_expr(D::Version, Expr::col(D::Version).add(1))
        .filter(D::EndpointId.eq(id))
        .filter(D::Status.eq(DeliveryStatus::Pending))
        .exec(txn)
        .await?;
    Ok(())
}

/// "27 hours", "5 minutes", "3 seconds".
fn human(d: chrono::TimeDelta) -> String {
    let s = std::cmp::max(d.num_seconds(), 0);
    match s {
        0..120 => format!("{s} seconds"),
        120..7200 => format!("{} minutes", s / 60),
        _ => format!("{} hours", s / 3600),
    }
}
