//! Failed sign-ins, counted per address: after [`PER_CLIENT`] failures with one email address
//! from one client (an IP address, for the anonymous callers who sign in) in
//! [`WINDOW`], or [`PER_ADDRESS`] from all clients together, `login` with that address is
//! refused with `RATE_LIMITED` (HTTP 429, `Retry-After`) until the window that began with the
//! first failure has passed, before the password is checked. Every failure counts, whether or
//! not an account has the address, so the refusal tells no one which addresses have accounts.
//! A sign-in that succeeds clears its client's count.
//!
//! The counts live in this process (bounded: at most [`MAX_ENTRIES`] addresses and pairs, the
//! oldest dropped first); several instances each keep their own.
use std::{
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
    time::{Duration, Instant},
};

use async_graphql::ErrorExtensions;

use crate::limit::Client;

/// How long failures are remembered, from the first.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Failures with one address from one client in a window.
pub const PER_CLIENT: u32 = 10;
/// Failures with one address from all clients in a window.
pub const PER_ADDRESS: u32 = 50;
const MAX_ENTRIES: u64 = 100_000;

struct Count {
    since: Instant,
    failures: AtomicU32,
}

/// The failed sign-ins of the last window (request data: shared by every request).
#[derive(Clone)]
pub struct SignIns {
    counts: moka::sync::Cache<String, Arc<Count>>,
}

impl Default for SignIns {
    fn default() -> Self {
        SignIns {
            counts: moka::sync::Cache::builder()
                .max_capacity(MAX_ENTRIES)
                .time_to_live(WINDOW)
                .build(),
        }
    }
}

fn keys(email: &str, client: Option<&Client>) -> (String, Option<String>) {
    let email = email.to_lowercase();
    let pair = client.map(|c| format!("{c:?} {email}"));
    (email, pair)
}

impl SignIns {
    /// `RATE_LIMITED` when `email` may not be tried now from `client`.
    pub fn check(&self, email: &str, client: Option<&Client>) -> Result<(), async_graphql::Error> {
        let (address, pair) = keys(email, client);
        let over = |key: &str, limit: u32| {
            self.counts
                .get(key)
                .filter(|c| c.failures.load(Ordering::Relaxed) >= limit)
                .map(|c| WINDOW.saturating_sub(c.since.elapsed()))
        };
        let wait = [
            pair.as_deref().and_then(|p| over(p, PER_CLIENT)),
            over(&address, PER_ADDRESS),
        ]
        .into_iter()
        .flatten()
        .max();
        let Some(wait) = wait else {
            return Ok(());
        };
        let secs = crate::http::respond::whole_seconds(wait).max(1);
        Err(async_graphql::Error::new(format!(
            "too many failed sign-ins with this email address; try again in {secs} s"
        ))
        .extend_with(|_, ext| {
            ext.set("code", crate::error::Code::RateLimited);
            ext.set("retryAfterSeconds", secs);
        }))
    }

    /// Counts a failed sign-in with `email` from `client`.
    pub fn failed(&self, email: &str, client: Option<&Client>) {
        let (address, pair) = keys(email, client);
        for key in std::iter::once(address).chain(pair) {
            let count = self.counts.get_with(key, || {
                Arc::new(Count {
                    since: Instant::now(),
                    failures: AtomicU32::new(0),
                })
            });
            count.failures.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A sign-in that succeeded: its client starts afresh with the address.
    pub fn succeeded(&self, email: &str, client: Option<&Client>) {
        if let (_, Some(pair)) = keys(email, client) {
            self.counts.invalidate(&pair);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_counted_per_client_and_per_address() {
        let s = SignIns::default();
        let a = Client::Ip("192.0.2.1".parse().unwrap());
        let b = Client::Ip("192.0.2.2".parse().unwrap());
        for _ in 0..PER_CLIENT {
            assert!(s.check("Inger@eksempel.dk", Some(&a)).is_ok());
            s.failed("Inger@eksempel.dk", Some(&a));
        }
        let refused = s.check("inger@eksempel.dk", Some(&a)).unwrap_err();
        assert!(refused.message.contains("try again in"), "{}", refused.message);
        assert!(
            s.check("inger@eksempel.dk", Some(&b)).is_ok(),
            "another client may"
        );
        assert!(
            s.check("ole@eksempel.dk", Some(&a)).is_ok(),
            "another address may"
        );
        s.succeeded("inger@eksempel.dk", Some(&a));
        assert!(s.check("inger@eksempel.dk", Some(&a)).is_ok());

        for i in 0..PER_ADDRESS {
            let c = Client::Ip(format!("198.51.100.{}", i % 250).parse().unwrap());
            s.failed("ole@eksempel.dk", Some(&c));
        }
        assert!(
            s.check("ole@eksempel.dk", Some(&b)).is_err(),
            "the address is held for everyone"
        );
    }
}
