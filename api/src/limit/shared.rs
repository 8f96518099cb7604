//! Budgets kept in Redis (`REDIS_URL`), so the instances behind one load balancer charge one
//! budget per client instead of one each.
//!
//! The same rule as the in-process buckets (GCRA, "generic cell rate algorithm"): a client's
//! key holds the time its budget is spent up to; a request of `n` points moves it `n`
//! intervals on (60 s / points per minute), and is refused when its points (at most a
//! burst's worth) would put it more than the burst ahead of now; a query dearer than a burst
//! leaves the client owing the rest. One Lua script does the read, the
//! check and the write atomically, on Redis's clock, so instances with skewed clocks agree.
//! The key expires when the budget is full again.
//!
//! Redis out of reach never refuses a request, nor holds it up: each call waits at most
//! [`RESPONSE_TIMEOUT`] for an answer, and after a failure Redis is left alone for
//! [`REST_AFTER_FAILURE`] (the instance's own buckets decide meanwhile; a warning is logged at
//! most once a minute) while the connection is opened again in the background.
use std::{
    sync::{
        Arc, Mutex, RwLock,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{Budget, Client, Verdict};

const SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2]) * interval
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local points = tonumber(ARGV[3])
local needed = tat + math.min(points, tonumber(ARGV[2])) * interval - now
if needed > capacity then
  return {0, math.ceil(needed - capacity)}
end
local ahead = tat + points * interval - now
redis.call('SET', KEYS[1], string.format('%.0f', now + ahead), 'PX', math.ceil(ahead / 1000) + 1)
return {1, math.max(0, math.floor((capacity - ahead) / interval))}
";

/// A sliding window of `ARGV[2]` events per `ARGV[1]` microseconds: a sorted set of the
/// client's events by time; the oldest past the window drop out; refused (with the wait until
/// enough of the oldest leave) when `ARGV[4]` more events do not fit, else they are added
/// (members `ARGV[3]` and a number, unique).
const WINDOW_SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local n = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local held = redis.call('ZCARD', KEYS[1])
if held + n > limit then
  if n > limit then
    return {0, window}
  end
  local leaving = redis.call('ZRANGE', KEYS[1], held + n - limit - 1, held + n - limit - 1, 'WITHSCORES')
  return {0, tonumber(leaving[2]) + window - now}
end
for i = 1, n do
  redis.call('ZADD', KEYS[1], now, ARGV[3] .. ':' .. i)
end
redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000))
return {1, 0}
";

/// Counts that start when first counted and expire `ARGV[1]` milliseconds later (a key found
/// without an expiry gets one, so no count lasts for ever): each key is counted one up; its
/// count and the milliseconds it has left, for each in turn.
const COUNT_SCRIPT: &str = r"
local out = {}
for i, k in ipairs(KEYS) do
  local n = redis.call('INCR', k)
  local left = redis.call('PTTL', k)
  if n == 1 or left < 0 then
    redis.call('PEXPIRE', k, ARGV[1])
    left = tonumber(ARGV[1])
  end
  out[#out + 1] = n
  out[#out + 1] = left
end
return out
";

/// Takes a count back: the first `ARGV[1]` keys are forgotten, the others counted one down
/// (never below 0; a key keeps its expiry).
const UNCOUNT_SCRIPT: &str = r"
for i, k in ipairs(KEYS) do
  if i <= tonumber(ARGV[1]) then
    redis.call('DEL', k)
  elseif tonumber(redis.call('GET', k) or '0') > 0 then
    redis.call('DECR', k)
  end
end
return 1
";

/// How long a budget check may wait for Redis before the instance's own buckets decide:
/// the whole call, a reconnection it waits for included.
const RESPONSE_TIMEOUT: Duration = Duration::from_millis(250);

/// How long Redis is left alone after a call failed or went unanswered, so that requests do
/// not each wait [`RESPONSE_TIMEOUT`] while it is out of reach.
const REST_AFTER_FAILURE: Duration = Duration::from_secs(5);

pub struct Shared {
    connection: RwLock<Option<ConnectionManager>>,
    script: redis::Script,
    window: redis::Script,
    count: redis::Script,
    uncount: redis::Script,
    prefix: String,
    /// When a failure was last logged.
    warned: Mutex<Option<Instant>>,
    /// Until when Redis is left alone after a failure, in milliseconds since `epoch`.
    resting_until: AtomicU64,
    epoch: Instant,
}

impl Shared {
    /// Budgets in the Redis server at `url`; connects in the background (until then, and
    /// whenever Redis fails, the instance's own buckets decide). An unusable URL is an error.
    pub fn connect(url: &str, prefix: &str) -> Result<Arc<Shared>, redis::RedisError> {
        let client = redis::Client::open(url)?;
        let shared = Arc::new(Shared {
            connection: RwLock::new(None),
            script: redis::Script::new(SCRIPT),
            window: redis::Script::new(WINDOW_SCRIPT),
            count: redis::Script::new(COUNT_SCRIPT),
            uncount: redis::Script::new(UNCOUNT_SCRIPT),
            prefix: prefix.to_owned(),
            warned: Mutex::new(None),
            resting_until: AtomicU64::new(0),
            epoch: Instant::now(),
        });
        let weak = Arc::downgrade(&shared);
        tokio::spawn(async move {
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(Duration::from_secs(2)))
                .set_response_timeout(Some(RESPONSE_TIMEOUT));
            loop {
                match client.get_connection_manager_with_config(config.clone()).await {
                    Ok(manager) => {
                        if let Some(shared) = weak.upgrade() {
                            *shared.connection.write().unwrap_or_else(|e| e.into_inner()) = Some(manager);
                            tracing::info!("rate-limit budgets are kept in Redis");
                        }
                        return;
                    }
                    Err(e) => {
                        let Some(shared) = weak.upgrade() else { return };
                        shared.warn(&e);
                    }
                }
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        });
        Ok(shared)
    }

    /// Whether the connection to Redis is open (it reconnects by itself once it was).
    pub fn is_connected(&self) -> bool {
        self.connection
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    fn warn(&self, e: &dyn std::fmt::Display) {
        let mut warned = self.warned.lock().unwrap_or_else(|e| e.into_inner());
        if warned.is_none_or(|at| at.elapsed() > Duration::from_secs(60)) {
            *warned = Some(Instant::now());
            tracing::warn!(error = %e, "Redis is out of reach: each instance keeps its own rate-limit budgets meanwhile");
        }
    }

    fn millis_since_epoch(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Runs one call to Redis: its answer, or None when it failed or did not answer within
    /// [`RESPONSE_TIMEOUT`] (then Redis is left alone for [`REST_AFTER_FAILURE`]).
    async fn ask<T>(&self, call: impl Future<Output = redis::RedisResult<T>>) -> Option<T> {
        let failure = match tokio::time::timeout(RESPONSE_TIMEOUT, call).await {
            Ok(Ok(answer)) => return Some(answer),
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("no answer within {} ms", RESPONSE_TIMEOUT.as_millis()),
        };
        let until = self.millis_since_epoch() + u64::try_from(REST_AFTER_FAILURE.as_millis()).unwrap_or(0);
        self.resting_until.fetch_max(until, Ordering::Relaxed);
        self.warn(&failure);
        None
    }

    /// Charges `points` to `client`'s budget of `per_minute` points; None
    /// when Redis could not decide.
    pub async fn check(&self, client: &Client, points: u32, per_minute: u32, burst: u32) -> Option<Verdict> {
        let mut connection = self.connection()?;
        let key = self.key("rate", client);
        let interval_us = 60_000_000 / u64::from(per_minute.max(1));
        let mut invocation = self.script.prepare_invoke();
        invocation.key(key).arg(interval_us).arg(burst).arg(points);
        let answer: (i64, i64) = self.ask(invocation.invoke_async(&mut connection)).await?;
        Some(match answer {
            (1, remaining) => Verdict::Allowed(Budget {
                limit: per_minute,
                burst,
                remaining: u32::try_from(remaining.max(0)).unwrap_or(u32::MAX),
            }),
            (_, wait_us) => Verdict::Limited {
                retry_after: Duration::from_micros(u64::try_from(wait_us.max(0)).unwrap_or(0)),
                limit: per_minute,
            },
        })
    }

    /// The connection, unless Redis is being left alone after a failure.
    fn connection(&self) -> Option<ConnectionManager> {
        if self.millis_since_epoch() < self.resting_until.load(Ordering::Relaxed) {
            return None;
        }
        self.connection.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// `client`'s key in the set of budgets named `what`.
    fn key(&self, what: &str, client: &Client) -> String {
        match client {
            Client::ApiKey(id) => format!("{}:{what}:key:{id}", self.prefix),
            Client::Account(id) => format!("{}:{what}:account:{id}", self.prefix),
            Client::Ip(ip) => format!("{}:{what}:ip:{ip}", self.prefix),
        }
    }

    /// Counts `events` events of `client` at once in its window of `window` holding `limit`
    /// events (the budget named `what`): `Ok` when they all fit, `Err(wait)` when they do not
    /// (none is counted); None when Redis could not decide.
    pub async fn charge_window(
        &self,
        what: &str,
        client: &Client,
        limit: u32,
        window: Duration,
        events: u32,
    ) -> Option<Result<(), Duration>> {
        let mut connection = self.connection()?;
        let mut invocation = self.window.prepare_invoke();
        invocation
            .key(self.key(what, client))
            .arg(u64::try_from(window.as_micros()).unwrap_or(u64::MAX))
            .arg(limit)
            .arg(uuid::Uuid::now_v7().to_string())
            .arg(events);
        let answer: (i64, i64) = self.ask(invocation.invoke_async(&mut connection)).await?;
        Some(match answer {
            (1, _) => Ok(()),
            (_, wait_us) => Err(Duration::from_micros(u64::try_from(wait_us.max(0)).unwrap_or(0))),
        })
    }

    /// The key of the count `name` in the counts named `what`: a hash of the name (callers
    /// whose names are personal data pass them keyed-hashed already).
    fn count_key(&self, what: &str, name: &str) -> String {
        format!("{}:{what}:{}", self.prefix, crate::auth::secret::sha256_hex(name))
    }

    /// Counts each of `names` one up in the counts named `what`, each counted over `window`
    /// from its first count: its count and the time it has left, in order; None when Redis
    /// could not decide.
    pub async fn count(&self, what: &str, names: &[&str], window: Duration) -> Option<Vec<(u32, Duration)>> {
        let mut connection = self.connection()?;
        let mut invocation = self.count.prepare_invoke();
        for name in names {
            invocation.key(self.count_key(what, name));
        }
        invocation.arg(u64::try_from(window.as_millis()).unwrap_or(u64::MAX));
        let figures: Vec<i64> = self.ask(invocation.invoke_async(&mut connection)).await?;
        match figures {
            figures if figures.len() == 2 * names.len() => Some(
                figures
                    .chunks_exact(2)
                    .map(|c| {
                        let count = u32::try_from(c[0].max(0)).unwrap_or(u32::MAX);
                        // -1: no expiry (cannot happen: set with the first count); counted whole.
                        let left = if c[1] < 0 {
                            window
                        } else {
                            Duration::from_millis(c[1].unsigned_abs())
                        };
                        (count, left)
                    })
                    .collect(),
            ),
            _ => None,
        }
    }

    /// Takes a count back in the counts named `what`: `forget` are forgotten, `down` counted
    /// one down.
    pub async fn uncount(&self, what: &str, forget: &[&str], down: &[&str]) {
        let Some(mut connection) = self.connection() else {
            return;
        };
        let mut invocation = self.uncount.prepare_invoke();
        for name in forget.iter().chain(down) {
            invocation.key(self.count_key(what, name));
        }
        invocation.arg(forget.len());
        let _: Option<i64> = self.ask(invocation.invoke_async(&mut connection)).await;
    }
}
