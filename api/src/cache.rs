//! A short-lived cache of anonymous query responses. The public website asks the same few
//! queries over and over; serving them from memory for a couple of seconds takes the load off
//! the database without making anything noticeably stale. Only successful queries (never
//! mutations, never responses with errors) are cached, keyed by what the caller may see, the
//! prepared document, the operation and the variables ([`Key`]); an answer keeps what HTTP
//! needs of it (its `ETag`, its `Cache-Control`), computed once, so a hit hashes and copies
//! nothing.
//! Concurrent misses of one key run the query once and share its answer, so an expiry under
//! load does not send every waiting client to the database at once.
use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use axum::{body::Bytes, http::HeaderValue};
use moka::future::Cache;

use crate::access::Access;

/// A serialised answer, with what HTTP needs of it.
#[derive(Debug)]
pub struct Answer {
    pub body: Bytes,
    /// The body has `data`: it is not a request error.
    pub has_data: bool,
    /// The database was out of reach: the body says only that (HTTP 503).
    pub unavailable: bool,
    /// The request was stopped at its time limit (`TIMEOUT`): the server's condition, not a
    /// malformed request (HTTP 503 where a request error would be 400).
    pub timed_out: bool,
    /// The headers of an anonymous GET answer, when it may be one.
    pub public: Option<PublicHeaders>,
}

/// `ETag` and `Cache-Control` of an anonymous GET answer.
#[derive(Debug)]
pub struct PublicHeaders {
    pub etag: HeaderValue,
    pub cache_control: HeaderValue,
}

/// What an answer depends on: what the caller may see, the prepared document, its
/// operation and the variables (as JSON text).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub access: Access,
    /// A prepared document's identity.
    pub document: u64,
    pub operation: usize,
    pub variables: String,
}

#[derive(Clone)]
pub struct ResponseCache {
    inner: Option<Cache<Key, Arc<Answer>>>,
    /// Bumped by every committed write. An answer computed while it changed may hold data
    /// from before the write, so it is not kept.
    generation: Arc<AtomicU64>,
    hits: Arc<AtomicU64>,
    misses: Arc<AtomicU64>,
}

/// Why an answer was not kept: it had errors. The body still goes to every waiting client.
#[derive(Debug)]
pub struct NotCached(pub Arc<Answer>);

impl ResponseCache {
    /// A cache keeping responses for `ttl` within `max_bytes`; disabled when `ttl` is zero.
    pub fn new(ttl: Duration, max_bytes: u64) -> Self {
        let inner = (!ttl.is_zero()).then(|| {
            Cache::builder()
                .time_to_live(ttl)
                .max_capacity(max_bytes)
                .weigher(|k: &Key, v: &Arc<Answer>| {
                    u32::try_from(256 + k.variables.len() + v.body.len()).unwrap_or(u32::MAX)
                })
                .build()
        });
        ResponseCache {
            inner,
            generation: Default::default(),
            hits: Default::default(),
            misses: Default::default(),
        }
    }

    /// Whether answers are kept at all.
    pub fn is_on(&self) -> bool {
        self.inner.is_some()
    }

    /// Forgets every answer (after a committed write).
    pub fn clear(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        if let Some(cache) = &self.inner {
            cache.invalidate_all();
        }
    }

    /// The number of writes so far: compare before and after computing an answer.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// The cached answer for `key`, or `run`'s, shared with concurrent callers of the same key;
    /// kept only when `run` returns `Ok`.
    pub async fn get_or_run<F>(&self, key: Key, run: F) -> Arc<Answer>
    where
        F: Future<Output = Result<Arc<Answer>, NotCached>>,
    {
        let Some(cache) = &self.inner else {
            return match run.await {
                Ok(answer) | Err(NotCached(answer)) => answer,
            };
        };
        if let Some(answer) = cache.get(&key).await {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return answer;
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        match cache.try_get_with(key, run).await {
            Ok(answer) => answer,
            Err(e) => e.0.clone(),
        }
    }

    /// Requests answered from the cache, and requests that were not (or waited for a
    /// concurrent one that was not).
    pub fn counts(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }
}
