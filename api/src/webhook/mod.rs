//! Webhooks for partners (issue 13): a partner organisation registers HTTPS endpoints with
//! its API key and chooses the events it wants; the server posts each one to them, signed as
//! the Standard Webhooks specification says (<https://www.standardwebhooks.com>), retries
//! what failed over about a day, records every delivery, and disables an endpoint that keeps
//! failing, saying why.
//!
//! **Events.** Made from the change feed (`crate::changes`), as the partner's [`Reader`]
//! sees each change: nothing a partner may not read is ever sent.
//! - `opportunity.created`: an action newly open to partners' proposals: it is now among
//!   what `opportunities` lists (an adopted plan's action that seeks partners and is not
//!   finished) and was not before the change (new to the partner, or it started seeking
//!   partners, or reopened, or its plan was adopted), judged as things stood when the change
//!   was committed (the audit records undo what changed since), and still open now;
//! - `proposal.accepted`, `proposal.declined`: the partner's own proposal (`expressInterest`)
//!   was accepted or declined;
//! - `change`: every change the partner may see, as the `changes` feed gives it.
//!
//! The body: `{"type": "proposal.accepted", "timestamp": "<when the change was committed>",
//! "data": {"id": "<global ID>", "type": "Partnership", "kind": "UPDATED", "cursor":
//! "<changes cursor>"}}`; the cursor lets a partner read what else happened from the feed.
//!
//! **Workers** (on every instance, [`Webhooks::start`]): the dispatcher ([`dispatch`]) turns
//! new change events into deliveries, one instance at a time (it locks the cursor row,
//! `FOR UPDATE SKIP LOCKED` on PostgreSQL) and in the transaction that moves the cursor, so
//! no event is dispatched twice or skipped; the sender ([`send`]) claims due deliveries
//! (`FOR UPDATE SKIP LOCKED`), taking a lease and counting the attempt in a short
//! transaction, sends them outside any transaction, and records the outcome. Each attempt is
//! made once, whatever the number of instances.
pub mod address;
pub mod dispatch;
pub mod graphql;
pub mod send;
pub mod sign;

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use async_graphql::Enum;
use entity::webhook_delivery::EventType;
use sea_orm::{DatabaseConnection, DbErr};
use tokio::sync::Notify;

pub use graphql::{WebhookMutation, WebhookQuery};

use crate::{changes::Reader, config::WebhookConfig};

/// What a partner may subscribe an endpoint to.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum WebhookEventType {
    /// An action newly open to partners' proposals (`opportunity.created`).
    OpportunityCreated,
    /// Your proposal to join an action was accepted (`proposal.accepted`).
    ProposalAccepted,
    /// Your proposal to join an action was declined (`proposal.declined`).
    ProposalDeclined,
    /// Any change you may see (`change`), as the `changes` feed gives it.
    Change,
}

impl WebhookEventType {
    pub const ALL: [WebhookEventType; 4] = [
        WebhookEventType::OpportunityCreated,
        WebhookEventType::ProposalAccepted,
        WebhookEventType::ProposalDeclined,
        WebhookEventType::Change,
    ];

    /// As stored (`webhook_endpoint.event_types`, space-separated).
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookEventType::OpportunityCreated => "OPPORTUNITY_CREATED",
            WebhookEventType::ProposalAccepted => "PROPOSAL_ACCEPTED",
            WebhookEventType::ProposalDeclined => "PROPOSAL_DECLINED",
            WebhookEventType::Change => "CHANGE",
        }
    }

    pub fn parse(s: &str) -> Option<WebhookEventType> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The `type` of the message's body.
    pub fn message_type(self) -> &'static str {
        match self {
            WebhookEventType::OpportunityCreated => "opportunity.created",
            WebhookEventType::ProposalAccepted => "proposal.accepted",
            WebhookEventType::ProposalDeclined => "proposal.declined",
            WebhookEventType::Change => "change",
        }
    }

    /// The stored list of an endpoint, in this enum's order.
    pub fn list(stored: &str) -> Vec<WebhookEventType> {
        let given: Vec<WebhookEventType> = stored.split_whitespace().filter_map(Self::parse).collect();
        Self::ALL.into_iter().filter(|t| given.contains(t)).collect()
    }

    pub fn store(types: &[WebhookEventType]) -> String {
        Self::ALL
            .into_iter()
            .filter(|t| types.contains(t))
            .map(WebhookEventType::as_str)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl From<WebhookEventType> for EventType {
    fn from(t: WebhookEventType) -> Self {
        match t {
            WebhookEventType::OpportunityCreated => EventType::OpportunityCreated,
            WebhookEventType::ProposalAccepted => EventType::ProposalAccepted,
            WebhookEventType::ProposalDeclined => EventType::ProposalDeclined,
            WebhookEventType::Change => EventType::Change,
        }
    }
}

impl From<EventType> for WebhookEventType {
    fn from(t: EventType) -> Self {
        match t {
            EventType::OpportunityCreated => WebhookEventType::OpportunityCreated,
            EventType::ProposalAccepted => WebhookEventType::ProposalAccepted,
            EventType::ProposalDeclined => WebhookEventType::ProposalDeclined,
            EventType::Change => WebhookEventType::Change,
        }
    }
}

crate::labels::enum_labels!(WebhookEventType {
    OpportunityCreated => "Ny mulighed for partnere",
    ProposalAccepted => "Forslag accepteret",
    ProposalDeclined => "Forslag afslået",
    Change => "Ændring",
});

/// What a partner organisation may see of the change feed.
pub fn reader_of(organization: uuid::Uuid) -> Reader {
    Reader {
        staff: false,
        communities: Arc::from([]),
        organization: Some(organization),
    }
}

/// The most endpoints one organisation may have.
pub const MAX_ENDPOINTS: u64 = 10;

/// The start of a response body kept with a delivery.
pub const MAX_RESPONSE_BYTES: usize = 1024;

/// How long an old secret keeps signing beside the new one after a rotation.
pub const ROTATION_OVERLAP: Duration = Duration::from_secs(24 * 3600);

/// The webhooks of one instance: the settings, the HTTP client, and the workers' signals.
#[derive(Clone)]
pub struct Webhooks {
    inner: Arc<Inner>,
}

struct Inner {
    allow_private: bool,
    schedule: Vec<Duration>,
    timeout: Duration,
    /// Days a finished delivery is kept.
    retention_days: u32,
    client: reqwest::Client,
    /// Whether any endpoint is enabled (as last seen): without one the workers stay idle and
    /// send no SQL.
    active: AtomicBool,
    /// Deliveries may be due: the sender looks now.
    send: Notify,
}

impl Webhooks {
    pub fn new(config: &WebhookConfig) -> Result<Webhooks, reqwest::Error> {
        let timeout = Duration::from_millis(config.webhook_timeout_ms.max(1));
        let mut client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            // A redirect is an answer like any other: not followed, not a success.
            .redirect(reqwest::redirect::Policy::none())
            // Straight to the partner: a proxy would resolve the host where we cannot check it.
            .no_proxy()
            .user_agent(concat!("LUP-Webhooks/", env!("CARGO_PKG_VERSION")));
        if !config.webhook_allow_private {
            client = client
                .https_only(true)
                .dns_resolver(address::GuardedResolver::shared());
        }
        Ok(Webhooks {
            inner: Arc::new(Inner {
                allow_private: config.webhook_allow_private,
                schedule: config.webhook_retry_schedule.0.clone(),
                timeout,
                retention_days: config.webhook_retention_days,
                client: client.build()?,
                active: AtomicBool::new(false),
                send: Notify::new(),
            }),
        })
    }

    /// Plain `http://` and private addresses are allowed (`WEBHOOK_ALLOW_PRIVATE`).
    pub fn allow_private(&self) -> bool {
        self.inner.allow_private
    }

    /// The waits after each failed attempt.
    pub fn schedule(&self) -> &[Duration] {
        &self.inner.schedule
    }

    /// How many attempts a delivery gets.
    pub fn attempts(&self) -> i32 {
        self.inner.schedule.len() as i32 + 1
    }

    /// An endpoint was registered or enabled here: the workers stop idling.
    pub fn activate(&self) {
        self.inner.active.store(true, Ordering::SeqCst);
    }

    fn active(&self) -> bool {
        self.inner.active.load(Ordering::SeqCst)
    }

    /// Deliveries may be due: the sender looks at once.
    fn wake_sender(&self) {
        self.inner.send.notify_one();
    }

    /// Starts the dispatcher and the sender on `db`; they stop when the pool is closed.
    pub async fn start(&self, db: DatabaseConnection, feed: crate::changes::Feed) -> Result<(), DbErr> {
        self.inner
            .active
            .store(dispatch::any_enabled(&db).await?, Ordering::SeqCst);
        tokio::spawn(dispatch::run(self.clone(), db.clone(), feed));
        tokio::spawn(send::run(self.clone(), db));
        Ok(())
    }
}

/// Whether the pool is closed (the server is stopping).
fn closed(db: &DatabaseConnection) -> bool {
    match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => db.get_postgres_connection_pool().is_closed(),
        _ => db.get_sqlite_connection_pool().is_closed(),
    }
}
