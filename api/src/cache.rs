//! A short-lived cache of anonymous query responses. The public website asks the same few
//! queries over and over; serving them from memory for a couple of seconds takes the load off
//! the database without making anything noticeably stale. Only successful queries (never
//! mutations, never responses with errors) are cached, keyed by what the caller may see, the
//! prepared document, the operation and the variables.
//! Concurrent misses of one key run the query once and share its answer, so an expiry under
//! load does not send every waiting client to the database at once.
use std::{future::Future, sync::Arc, time::Duration};

use moka::future::Cache;

pub type Body = Arc<[u8]>;

/// A serialised answer and the cache hint the schema gave it.
#[derive(Debug, Clone)]
pub struct Answer {
    pub body: Body,
    pub hint: async_graphql::CacheControl,
}

#[derive(Clone)]
pub struct ResponseCache {
    inner: Option<Cache<Arc<str>, Answer>>,
    /// Bumped by every committed write. An answer computed while it changed may hold data
    /// from before the write, so it is not kept.
    generation: Arc<std::sync::atomic::AtomicU64>,
}

/// Why an answer was not kept: it had errors. The body still goes to every waiting client.
#[derive(Debug)]
pub struct NotCached(pub Answer);

impl ResponseCache {
    /// A cache keeping responses for `ttl` within `max_bytes`; disabled when `ttl` is zero.
    pub fn new(ttl: Duration, max_bytes: u64) -> Self {
        let inner = (!ttl.is_zero()).then(|| {
            Cache::builder()
                .time_to_live(ttl)
                .max_capacity(max_bytes)
                .weigher(|k: &Arc<str>, v: &Answer| u32::try_from(k.len() + v.body.len()).unwrap_or(u32::MAX))
                .build()
        });
        ResponseCache {
            inner,
            generation: Default::default(),
        }
    }

    /// The key of a query when caching is on. `viewer` names what the caller may see, so
    /// callers with different rights never share answers; `document` is a prepared
    /// document's identity.
    pub fn key(&self, viewer: &str, document: u64, operation: usize, variables: &str) -> Option<Arc<str>> {
        self.inner.as_ref()?;
        Some(format!("{viewer}\u{0}{document}\u{0}{operation}\u{0}{variables}").into())
    }

    /// Forgets every answer (after a committed write).
    pub fn clear(&self) {
        self.generation.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if let Some(cache) = &self.inner {
            cache.invalidate_all();
        }
    }

    /// The number of writes so far: compare before and after computing an answer.
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The cached answer for `key`, or `run`'s, shared with concurrent callers of the same key;
    /// kept only when `run` returns `Ok`.
    pub async fn get_or_run<F>(&self, key: Arc<str>, run: F) -> Answer
    where
        F: Future<Output = Result<Answer, NotCached>>,
    {
        let Some(cache) = &self.inner else {
            return match run.await {
                Ok(body) | Err(NotCached(body)) => body,
            };
        };
        match cache.try_get_with(key, run).await {
            Ok(body) => body,
            Err(e) => e.0.clone(),
        }
    }
}
