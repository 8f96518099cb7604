//! Rate limiting per client: a budget of cost points (see [`crate::bounds`]) that refills
//! over time, one per API key, per account and, for anonymous callers, per IP address.
//! Over it, a request gets HTTP 429 with `Retry-After` and `RATE_LIMITED`, before it runs.
//! The buckets live in this process unless `REDIS_URL` is set: then they live in Redis
//! ([`shared`]) and every instance charges the same budget; without it, behind a load
//! balancer each instance keeps its own, so a client's budget there is the per-instance
//! budget times the instances it reaches. The cap on a client's requests running at once is
//! always per instance.
pub mod shared;

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use uuid::Uuid;

use crate::auth::{Role, Viewer};

/// Who a budget belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Client {
    ApiKey(Uuid),
    Account(String),
    Ip(IpAddr),
}

impl Client {
    /// The identity of `viewer` for rate limiting; anonymous callers by their address.
    pub fn of(viewer: &Viewer, ip: Option<IpAddr>) -> Option<Client> {
        match (viewer.role, viewer.api_key_id, viewer.account_id) {
            (Role::Partner, Some(key), _) => Some(Client::ApiKey(key)),
            (_, _, Some(account)) => Some(Client::Account(account.to_string())),
            (Role::Anonymous, _, _) => ip.map(Client::Ip),
            // An external identity without an account: by its subject.
            _ => Some(Client::Account(viewer.label.clone())),
        }
    }
}

/// What is left of a client's budget after a request was let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Points a minute.
    pub limit: u32,
    /// The most that may be spent at once (`RATE_LIMIT_BURST_SECS` seconds' worth).
    pub burst: u32,
    /// What may be spent now: at most `burst`.
    pub remaining: u32,
}

pub enum Verdict {
    Allowed(Budget),
    /// Over budget: try again after this long.
    Limited {
        retry_after: Duration,
        limit: u32,
    },
    /// No limit applies (turned off, or no identity to key on).
    Unlimited,
}

/// Points per minute for each kind of client; 0 turns the limit off for it.
#[derive(Debug, Clone, Copy)]
pub struct Rates {
    pub anonymous: u32,
    pub partner: u32,
    pub account: u32,
    /// Seconds' worth of budget that may be spent at once (at least one point).
    pub burst_secs: u32,
    /// Requests per client running at once; 0: no limit.
    pub concurrent: usize,
}

/// A client's turn to run; dropping it lets the next of its requests run.
pub struct Turn(#[allow(dead_code)] Option<tokio::sync::OwnedSemaphorePermit>);

#[derive(Clone)]
pub struct RateLimits {
    /// Each client's requests running at once; more wait their turn, so one client's
    /// bursts cannot fill the server's queue in front of everyone else.
    running: Option<(moka::future::Cache<Client, Arc<tokio::sync::Semaphore>>, usize)>,
    anonymous: Option<Arc<Buckets>>,
    partner: Option<Arc<Buckets>>,
    account: Option<Arc<Buckets>>,
    /// The budgets in Redis, shared by every instance; the buckets above decide while it is
    /// out of reach.
    shared: Option<Arc<shared::Shared>>,
}

/// One kind of client's budgets (GCRA, "generic cell rate algorithm", the rule of the Redis
/// script in [`shared`] too): each client's entry holds the time its budget is spent up to.
/// A request may start when its points (at most a burst's worth) fit within the burst ahead
/// of now, and moves that time on by all its points: a query dearer than a whole burst runs
/// when the budget is full and leaves the client owing the rest, so its next requests wait
/// until it is paid and the rate over time stays the budget.
struct Buckets {
    per_minute: u32,
    /// The points that may be spent at once.
    burst: u32,
    /// How long one point takes to refill.
    interval: Duration,
    spent_until: Mutex<HashMap<Client, Instant>>,
}

impl Buckets {
    fn new(per_minute: u32, burst_secs: u32) -> Option<Arc<Buckets>> {
        if per_minute == 0 {
            return None;
        }
        // The budget refills evenly over the minute; `burst_secs` seconds' worth of it may be
        // spent at once (enough for a page's queries), so a flood is paced at the budget's
        // rate almost at once instead of taking the server for seconds first.
        let burst = u64::from(per_minute) * u64::from(burst_secs) / 60;
        let burst = u32::try_from(burst).unwrap_or(u32::MAX).clamp(1, per_minute);
        Some(Arc::new(Buckets {
            per_minute,
            burst,
            interval: Duration::from_secs(60) / per_minute,
            spent_until: Mutex::new(HashMap::new()),
        }))
    }

    fn check(&self, client: &Client, points: u32) -> Verdict {
        let now = Instant::now();
        let capacity = self.interval * self.burst;
        let mut spent = self.spent_until.lock().unwrap_or_else(|e| e.into_inner());
        let ahead = spent
            .get(client)
            .map_or(Duration::ZERO, |until| until.saturating_duration_since(now));
        let needed = ahead + self.interval * points.clamp(1, self.burst);
        if needed > capacity {
            return Verdict::Limited {
                retry_after: needed - capacity,
                limit: self.per_minute,
            };
        }
        let ahead = ahead.saturating_add(self.interval.saturating_mul(points.max(1)));
        spent.insert(client.clone(), now + ahead);
        let left = capacity.saturating_sub(ahead).as_nanos() / self.interval.as_nanos().max(1);
        Verdict::Allowed(Budget {
            limit: self.per_minute,
            burst: self.burst,
            remaining: u32::try_from(left).unwrap_or(u32::MAX),
        })
    }

    /// Forgets the clients whose budget is full again.
    fn forget_idle(&self) {
        let now = Instant::now();
        self.spent_until
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, until| *until > now);
    }
}

impl RateLimits {
    pub fn new(rates: Rates) -> Self {
        RateLimits {
            running: (rates.concurrent > 0).then(|| {
                let cache = moka::future::Cache::builder()
                    .time_to_idle(Duration::from_secs(60))
                    .max_capacity(100_000)
                    .build();
                (cache, rates.concurrent)
            }),
            anonymous: Buckets::new(rates.anonymous, rates.burst_secs),
            partner: Buckets::new(rates.partner, rates.burst_secs),
            account: Buckets::new(rates.account, rates.burst_secs),
            shared: None,
        }
    }

    /// Whether the budgets are kept in Redis now (its connection is open).
    pub fn is_shared(&self) -> bool {
        self.shared.as_ref().is_some_and(|s| s.is_connected())
    }

    /// Keeps the budgets in Redis (see [`shared`]).
    pub fn share(&mut self, shared: Arc<shared::Shared>) {
        self.shared = Some(shared);
    }

    /// Charges `points` to `client`.
    pub async fn check(&self, client: Option<&Client>, points: u32) -> Verdict {
        let Some(client) = client else {
            return Verdict::Unlimited;
        };
        let bucket = match client {
            Client::Ip(_) => &self.anonymous,
            Client::ApiKey(_) => &self.partner,
            Client::Account(_) => &self.account,
        };
        let Some(bucket) = bucket else {
            return Verdict::Unlimited;
        };
        if let Some(shared) = &self.shared
            && let Some(verdict) = shared
                .check(client, points.max(1), bucket.per_minute, bucket.burst)
                .await
        {
            return verdict;
        }
        bucket.check(client, points)
    }

    /// Waits until `client` has fewer than the allowed requests running.
    pub async fn turn(&self, client: Option<&Client>) -> Turn {
        let (Some((cache, n)), Some(client)) = (&self.running, client) else {
            return Turn(None);
        };
        let n = *n;
        let semaphore = cache
            .get_with(
                client.clone(),
                async move { Arc::new(tokio::sync::Semaphore::new(n)) },
            )
            .await;
        Turn(semaphore.acquire_owned().await.ok())
    }

    /// Forgets buckets that are full again, so idle clients take no memory.
    pub fn forget_idle(&self) {
        for bucket in [&self.anonymous, &self.partner, &self.account]
            .into_iter()
            .flatten()
        {
            bucket.forget_idle();
        }
    }

    /// Runs [`RateLimits::forget_idle`] every minute in the background.
    pub fn spawn_cleanup(&self) {
        let limits = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval_at(
                (Instant::now() + Duration::from_secs(60)).into(),
                Duration::from_secs(60),
            );
            loop {
                tick.tick().await;
                limits.forget_idle();
            }
        });
    }
}
