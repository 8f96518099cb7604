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
    net::IpAddr,
    num::NonZeroU32,
    sync::Arc,
    time::{Duration, Instant},
};

use governor::{
    Quota, RateLimiter,
    clock::{Clock, DefaultClock},
    middleware::StateInformationMiddleware,
    state::keyed::DefaultKeyedStateStore,
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

type Keyed = RateLimiter<Client, DefaultKeyedStateStore<Client>, DefaultClock, StateInformationMiddleware>;

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
    anonymous: Option<Arc<(Keyed, u32, NonZeroU32)>>,
    partner: Option<Arc<(Keyed, u32, NonZeroU32)>>,
    account: Option<Arc<(Keyed, u32, NonZeroU32)>>,
    /// The budgets in Redis, shared by every instance; the buckets above decide while it is
    /// out of reach.
    shared: Option<Arc<shared::Shared>>,
}

fn limiter(per_minute: u32, burst_secs: u32) -> Option<Arc<(Keyed, u32, NonZeroU32)>> {
    let n = NonZeroU32::new(per_minute)?;
    // The budget refills evenly over the minute; `burst_secs` seconds' worth of it may be
    // spent at once (enough for a page's queries), so a flood is paced at the budget's rate
    // almost at once instead of taking the server for seconds first.
    let burst_points = u64::from(per_minute) * u64::from(burst_secs) / 60;
    let burst = NonZeroU32::new(u32::try_from(burst_points).unwrap_or(u32::MAX).min(per_minute))
        .unwrap_or(NonZeroU32::MIN);
    let quota = Quota::per_minute(n).allow_burst(burst);
    Some(Arc::new((
        RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>(),
        per_minute,
        burst,
    )))
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
            anonymous: limiter(rates.anonymous, rates.burst_secs),
            partner: limiter(rates.partner, rates.burst_secs),
            account: limiter(rates.account, rates.burst_secs),
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
        let (limiter, limit) = (&bucket.0, bucket.1);
        // A query dearer than a whole burst is charged the burst: it still waits its turn.
        let n = NonZeroU32::new(points.max(1))
            .unwrap_or(NonZeroU32::MIN)
            .min(bucket.2);
        if let Some(shared) = &self.shared
            && let Some(verdict) = shared.check(client, n.get(), limit, bucket.2.get()).await
        {
            return verdict;
        }
        match limiter.check_key_n(client, n) {
            Ok(Ok(snapshot)) => Verdict::Allowed(Budget {
                limit,
                burst: bucket.2.get(),
                remaining: snapshot.remaining_burst_capacity(),
            }),
            Ok(Err(not_until)) => Verdict::Limited {
                retry_after: not_until.wait_time_from(DefaultClock::default().now()),
                limit,
            },
            // More than a whole budget: it can never pass; wait a full minute like any other.
            Err(_) => Verdict::Limited {
                retry_after: Duration::from_secs(60),
                limit,
            },
        }
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
            bucket.0.retain_recent();
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
