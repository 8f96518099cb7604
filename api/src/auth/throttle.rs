//! Password guessing, held back: every password check (`login`, `changePassword`) is counted
//! before it runs, per email address and client (an IP address for anonymous callers, the
//! account or API key for others), per address, and per client. Within [`WINDOW`] of a
//! count's first attempt:
//! - a client gets [`PER_CLIENT`] tries with one address;
//! - once an address has had [`PER_ADDRESS`] tries from all clients together, a client that
//!   has already failed with it gets no more (one that has not, such as the account's owner
//!   at their own computer, still may: so many guesses cannot lock the owner out);
//! - a client gets [`PER_CLIENT_ALL`] tries over all addresses (spraying one password).
//!
//! Over a limit the check is refused with `RATE_LIMITED` (HTTP 429, `Retry-After`) before the
//! password is looked at, the right one included. Addresses with and without an account are
//! counted alike, so a refusal tells no one which addresses have accounts. A check that
//! succeeds clears its client's count for the address and takes its try back from the rest.
//! Counting before checking also holds a client's requests that run at once to the limit.
//!
//! With `REDIS_URL` the counts live in Redis (under a keyed hash of each key, never the
//! address), so the instances behind a load balancer count one client's guesses together: two
//! instances do not give a guesser twice the tries. There a count taken back to nothing starts
//! its window afresh with its next try (here it keeps its first try's). Without it, and while Redis is out of reach, in
//! this process, at most [`MAX_ENTRIES`] of them (moka's cache: when full, those least likely
//! to be used again go first).
use std::{
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
    time::{Duration, Instant},
};

use crate::{error::ApiError, limit::Client};

/// How long tries are remembered, from the first.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Tries with one address from one client in a window.
pub const PER_CLIENT: u32 = 10;
/// Tries with one address from all clients in a window, before clients that failed with it
/// are held back.
pub const PER_ADDRESS: u32 = 50;
/// Tries from one client over all addresses in a window (generous: behind a proxy whose
/// addresses are not trusted, every anonymous caller is one client).
pub const PER_CLIENT_ALL: u32 = 200;
const MAX_ENTRIES: u64 = 100_000;

struct Count {
    since: Instant,
    tries: AtomicU32,
}

/// The password checks of the last window (request data: shared by every request).
#[derive(Clone)]
pub struct SignIns {
    counts: moka::sync::Cache<String, Arc<Count>>,
    /// The counts in Redis, when configured.
    shared: Option<Remote>,
}

impl Default for SignIns {
    fn default() -> Self {
        SignIns {
            counts: moka::sync::Cache::builder()
                .max_capacity(MAX_ENTRIES)
                .time_to_live(WINDOW)
                .build(),
            shared: None,
        }
    }
}

/// The counts in Redis, each under a keyed hash of its name (the server's key, shared by
/// the instances): no address or IP address in Redis, in clear or guessable.
#[derive(Clone)]
struct Remote {
    shared: Arc<crate::limit::shared::Shared>,
    tokens: Arc<crate::auth::token::Tokens>,
}

impl Remote {
    fn hashed(&self, names: &[&str]) -> Vec<String> {
        names
            .iter()
            .map(|name| self.tokens.keyed_hash("sign-in count", name))
            .collect()
    }

    async fn count(&self, names: &[&str]) -> Option<Vec<(u32, Duration)>> {
        let hashed = self.hashed(names);
        let hashed: Vec<&str> = hashed.iter().map(String::as_str).collect();
        self.shared.count("sign-in", &hashed, WINDOW).await
    }

    async fn uncount(&self, forget: &[&str], down: &[&str]) {
        let (forget, down) = (self.hashed(forget), self.hashed(down));
        let forget: Vec<&str> = forget.iter().map(String::as_str).collect();
        let down: Vec<&str> = down.iter().map(String::as_str).collect();
        self.shared.uncount("sign-in", &forget, &down).await;
    }
}

/// The counts one check touches: the pair, the address, the client.
struct Keys {
    pair: Option<String>,
    address: String,
    client: Option<String>,
}

impl Keys {
    /// `email` as the account is looked up by (trimmed, lower case).
    fn new(email: &str, client: Option<&Client>) -> Self {
        let address = email.trim().to_lowercase();
        Keys {
            pair: client.map(|c| format!("pair {c:?} {address}")),
            client: client.map(|c| format!("client {c:?}")),
            address: format!("address {address}"),
        }
    }
}

impl Keys {
    /// The counts, in the order [`SignIns::count`] answers for them: the address, the pair,
    /// the client.
    fn names(&self) -> Vec<&str> {
        let mut names = vec![self.address.as_str()];
        names.extend(self.pair.as_deref());
        names.extend(self.client.as_deref());
        names
    }
}

/// A password check let through: report how it went.
pub struct Attempt<'a> {
    sign_ins: &'a SignIns,
    keys: Keys,
    /// Counted in Redis (and so taken back there).
    in_redis: bool,
}

impl SignIns {
    /// Keeps the counts in Redis from now on (in this process while Redis is out of reach).
    pub fn share(
        &mut self,
        shared: Arc<crate::limit::shared::Shared>,
        tokens: Arc<crate::auth::token::Tokens>,
    ) {
        self.shared = Some(Remote { shared, tokens });
    }

    /// Counts each of `names` one up: its tries and how long until the count ends; in Redis
    /// when it answers, else here. Also whether it was Redis.
    async fn count(&self, names: &[&str]) -> (Vec<(u32, Duration)>, bool) {
        if let Some(shared) = &self.shared
            && let Some(counts) = shared.count(names).await
        {
            return (counts, true);
        }
        let add = |key: &str| {
            let count = self.counts.get_with(key.to_owned(), || {
                Arc::new(Count {
                    since: Instant::now(),
                    tries: AtomicU32::new(0),
                })
            });
            let tries = count.tries.fetch_add(1, Ordering::Relaxed) + 1;
            (tries, WINDOW.saturating_sub(count.since.elapsed()))
        };
        (names.iter().map(|name| add(name)).collect(), false)
    }

    /// Counts a password check with `email` from `client`, or refuses it (`RATE_LIMITED`) when
    /// it is over a limit.
    pub async fn attempt(&self, email: &str, client: Option<&Client>) -> Result<Attempt<'_>, ApiError> {
        let keys = Keys::new(email, client);
        let (counts, in_redis) = self.count(&keys.names()).await;
        let mut counts = counts.into_iter();
        let address = counts.next().unwrap_or((0, WINDOW));
        let pair = keys.pair.as_ref().and_then(|_| counts.next());
        let client_all = keys.client.as_ref().and_then(|_| counts.next());
        let over = [
            pair.filter(|(tries, _)| *tries > PER_CLIENT)
                .map(|(_, wait)| wait),
            // A client that has failed with the address before (or one without an identity).
            (address.0 > PER_ADDRESS && pair.is_none_or(|(tries, _)| tries > 1)).then_some(address.1),
            client_all
                .filter(|(tries, _)| *tries > PER_CLIENT_ALL)
                .map(|(_, wait)| wait),
        ]
        .into_iter()
        .flatten()
        .max();
        let attempt = Attempt {
            sign_ins: self,
            keys,
            in_redis,
        };
        match over {
            None => Ok(attempt),
            Some(wait) => {
                // A refused try is no guess: it does not count towards the address's limit.
                attempt.take_back(false).await;
                let secs = crate::http::respond::whole_seconds(wait).max(1);
                // Read by a person at a sign-in form: in minutes.
                let minutes = secs.div_ceil(60);
                let unit = if minutes == 1 { "minute" } else { "minutes" };
                Err(ApiError::RateLimited(
                    format!("too many wrong passwords have been tried; try again in {minutes} {unit}"),
                    secs,
                ))
            }
        }
    }
}

/// Counts a password check with `email` by the request's client (see [`SignIns::attempt`]);
/// none where the request carries no counts (a schema run outside the HTTP server).
pub async fn attempt<'a>(
    ctx: &async_graphql::Context<'a>,
    email: &str,
) -> Result<Option<Attempt<'a>>, ApiError> {
    let Some(sign_ins) = ctx.data_opt::<SignIns>() else {
        return Ok(None);
    };
    let client = ctx
        .data_opt::<crate::consultation::abuse::Submitter>()
        .and_then(|s| s.client.as_ref());
    sign_ins.attempt(email, client).await.map(Some)
}

impl Attempt<'_> {
    /// The password was right: the client starts afresh with the address, and the try is
    /// taken back from the address's and the client's counts.
    pub async fn succeeded(self) {
        let pair = self.keys.pair.as_deref();
        if self.in_redis
            && let Some(shared) = &self.sign_ins.shared
        {
            let down: Vec<&str> = [Some(self.keys.address.as_str()), self.keys.client.as_deref()]
                .into_iter()
                .flatten()
                .collect();
            shared.uncount(&pair.into_iter().collect::<Vec<_>>(), &down).await;
            return;
        }
        if let Some(pair) = pair {
            self.sign_ins.counts.invalidate(pair);
        }
        self.take_back(true).await;
    }

    /// Takes the try back from the address's count, and from the pair's and client's too
    /// unless `only_shared`.
    async fn take_back(&self, only_shared: bool) {
        let mut keys = vec![&self.keys.address];
        keys.extend(&self.keys.client);
        if !only_shared {
            keys.extend(&self.keys.pair);
        }
        if self.in_redis
            && let Some(shared) = &self.sign_ins.shared
        {
            let down: Vec<&str> = keys.iter().map(|k| k.as_str()).collect();
            shared.uncount(&[], &down).await;
            return;
        }
        for key in keys {
            if let Some(count) = self.sign_ins.counts.get(key) {
                let _ = count
                    .tries
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Client {
        Client::Ip(s.parse().unwrap())
    }

    #[tokio::test]
    async fn tries_are_counted_per_client_and_address() {
        let s = SignIns::default();
        let (a, b) = (ip("192.0.2.1"), ip("192.0.2.2"));
        for _ in 0..PER_CLIENT {
            assert!(s.attempt("Inger@eksempel.dk", Some(&a)).await.is_ok());
        }
        let Err(refused) = s.attempt(" inger@eksempel.dk", Some(&a)).await else {
            panic!("the eleventh try is refused");
        };
        assert!(
            refused.message().ends_with("try again in 15 minutes"),
            "{}",
            refused.message()
        );
        assert!(
            s.attempt("inger@eksempel.dk", Some(&b)).await.is_ok(),
            "another client may"
        );
        assert!(
            s.attempt("ole@eksempel.dk", Some(&a)).await.is_ok(),
            "another address may"
        );
        // Refused tries are no guesses: they do not move the count on.
        for _ in 0..5 {
            assert!(s.attempt("inger@eksempel.dk", Some(&a)).await.is_err());
        }
        assert_eq!(
            s.counts
                .get("address inger@eksempel.dk")
                .unwrap()
                .tries
                .load(Ordering::Relaxed),
            PER_CLIENT + 1
        );
    }

    #[tokio::test]
    async fn many_guessers_cannot_lock_the_owner_out() {
        let s = SignIns::default();
        for i in 0..=PER_ADDRESS {
            let guesser = ip(&format!("198.51.100.{}", i % 200));
            assert!(s.attempt("ole@eksempel.dk", Some(&guesser)).await.is_ok());
        }
        assert!(
            s.attempt("ole@eksempel.dk", Some(&ip("198.51.100.7")))
                .await
                .is_err(),
            "a guesser that failed before gets no more"
        );
        let owner = ip("203.0.113.9");
        let Ok(attempt) = s.attempt("ole@eksempel.dk", Some(&owner)).await else {
            panic!("the owner may");
        };
        attempt.succeeded().await;
        assert!(
            s.attempt("ole@eksempel.dk", Some(&owner)).await.is_ok(),
            "and again"
        );
    }

    #[tokio::test]
    async fn one_client_sprays_so_many_addresses() {
        let s = SignIns::default();
        let c = ip("192.0.2.3");
        for i in 0..PER_CLIENT_ALL {
            assert!(s.attempt(&format!("nr{i}@eksempel.dk"), Some(&c)).await.is_ok());
        }
        assert!(s.attempt("ny@eksempel.dk", Some(&c)).await.is_err());
        assert!(s.attempt("ny@eksempel.dk", Some(&ip("192.0.2.4"))).await.is_ok());
    }

    #[tokio::test]
    async fn a_right_password_takes_its_try_back() {
        let s = SignIns::default();
        let c = ip("192.0.2.5");
        for _ in 0..3 {
            assert!(s.attempt("a@eksempel.dk", Some(&c)).await.is_ok());
        }
        let Ok(attempt) = s.attempt("a@eksempel.dk", Some(&c)).await else {
            panic!("a fourth try is let through");
        };
        attempt.succeeded().await;
        assert!(s.counts.get("pair Ip(192.0.2.5) a@eksempel.dk").is_none());
        assert_eq!(
            s.counts
                .get("address a@eksempel.dk")
                .unwrap()
                .tries
                .load(Ordering::Relaxed),
            3
        );
    }
}
