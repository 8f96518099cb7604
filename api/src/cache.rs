//! A short-lived cache of anonymous query responses. The public website asks the same few
//! queries over and over; serving them from memory for a couple of seconds takes the load off
//! the database without making anything noticeably stale. Only successful queries (never
//! mutations, never responses with errors) are cached, keyed by the whole request text, and
//! `invalidate` empties the cache when this instance writes.
use std::{sync::Arc, time::Duration};

use async_graphql::{
    Request,
    parser::{parse_query, types::OperationType},
};
use moka::sync::Cache;

#[derive(Clone)]
pub struct ResponseCache {
    inner: Option<Cache<Arc<str>, Arc<[u8]>>>,
}

impl ResponseCache {
    /// A cache keeping responses for `ttl` within `max_bytes`; disabled when `ttl` is zero.
    pub fn new(ttl: Duration, max_bytes: u64) -> Self {
        let inner = (!ttl.is_zero()).then(|| {
            Cache::builder()
                .time_to_live(ttl)
                .max_capacity(max_bytes)
                .weigher(|k: &Arc<str>, v: &Arc<[u8]>| u32::try_from(k.len() + v.len()).unwrap_or(u32::MAX))
                .build()
        });
        ResponseCache { inner }
    }

    pub fn disabled() -> Self {
        ResponseCache { inner: None }
    }

    /// The key of a request, or None when caching is off.
    pub fn key(&self, request: &Request) -> Option<Arc<str>> {
        self.inner.as_ref()?;
        let variables = serde_json::to_string(&request.variables).ok()?;
        let operation = request.operation_name.as_deref().unwrap_or_default();
        Some(format!("{operation}\u{0}{variables}\u{0}{}", request.query).into())
    }

    pub fn get(&self, key: &Arc<str>) -> Option<Arc<[u8]>> {
        self.inner.as_ref()?.get(key)
    }

    /// Stores a response body if the request was a query (not a mutation or subscription).
    pub fn put(&self, key: Arc<str>, request_query: &str, operation: Option<&str>, body: Arc<[u8]>) {
        if let Some(cache) = &self.inner
            && is_query(request_query, operation)
        {
            cache.insert(key, body);
        }
    }

    /// Drops every cached response (after a write).
    pub fn invalidate(&self) {
        if let Some(cache) = &self.inner {
            cache.invalidate_all();
        }
    }
}

fn is_query(query: &str, operation: Option<&str>) -> bool {
    let Ok(doc) = parse_query(query) else { return false };
    let ty = match operation {
        Some(name) => doc
            .operations
            .iter()
            .find(|(n, _)| n.is_some_and(|n| n.as_str() == name))
            .map(|(_, op)| op.node.ty),
        None => doc.operations.iter().next().map(|(_, op)| op.node.ty),
    };
    ty == Some(OperationType::Query)
}
