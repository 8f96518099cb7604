//! Abuse bounds of submissions, on top of the cost budget every request has (`crate::limit`):
//! each client (an anonymous caller by IP address, as the rate limiter keys it; an account;
//! an API key) may send so many responses an hour, counted over the last hour (a sliding
//! window: the sixth in any hour is refused, with HTTP 429 and `Retry-After`, before anything
//! is read or written). A response records its client only as a keyed hash (its fingerprint),
//! which refuses the same text twice from one client in one consultation.
//!
//! Like the rate limiter's budgets, the counts are kept in Redis when `REDIS_URL` is set, so
//! the instances behind a load balancer share one window per client (the same sliding window,
//! in a sorted set per client); otherwise, and while Redis is out of reach, in this process.
use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use async_graphql::ErrorExtensions;

use crate::{auth::token::Tokens, limit::Client};

const HOUR: Duration = Duration::from_secs(3600);

/// The client of the request being run, as admission keyed it (request data), and the
/// verdict on the request's submissions, given once for all of them by the first that runs.
#[derive(Clone)]
pub struct Submitter {
    pub client: Option<Client>,
    verdict: Arc<tokio::sync::OnceCell<Result<(), OverBudget>>>,
}

impl Submitter {
    pub fn new(client: Option<Client>) -> Self {
        Submitter {
            client,
            verdict: Arc::default(),
        }
    }

    /// Charges the `events` submissions of this request at once, the first time it is asked;
    /// after that, the same verdict. A request with more than its client has left is refused
    /// as a whole, before any of its submissions is read or written.
    pub async fn charge(&self, submissions: &Submissions, events: u32) -> Result<(), OverBudget> {
        *self
            .verdict
            .get_or_init(|| submissions.charge(self.client.as_ref(), events))
            .await
    }
}

/// Each client's submissions of the last hour, and the key of their fingerprints.
#[derive(Clone)]
pub struct Submissions {
    per_hour: u32,
    tokens: Arc<Tokens>,
    sent: Arc<Mutex<HashMap<Client, VecDeque<Instant>>>>,
    /// The windows in Redis, when configured.
    shared: Option<Arc<crate::limit::shared::Shared>>,
}

/// Over the budget: the answer is HTTP 429 (see `http::respond`).
#[derive(Clone, Copy)]
pub struct OverBudget {
    pub retry_after: Duration,
    pub per_hour: u32,
    /// How many the refused request sent.
    pub events: u32,
}

impl OverBudget {
    pub fn into_error(self) -> async_graphql::Error {
        let secs = crate::http::respond::whole_seconds(self.retry_after);
        let per_hour = self.per_hour;
        let message = if self.events > per_hour {
            format!(
                "too many consultation responses: this request sends {}, and a client may send {per_hour} an hour; send fewer at a time",
                self.events
            )
        } else {
            format!(
                "too many consultation responses: this client may send {per_hour} an hour; try again in {secs} s"
            )
        };
        async_graphql::Error::new(message).extend_with(|_, ext| {
            ext.set("code", crate::error::Code::RateLimited);
            ext.set("retryAfterSeconds", secs);
            ext.set("limitPerHour", per_hour);
        })
    }
}

impl Submissions {
    /// `per_hour` submissions per client; 0: no limit.
    pub fn new(per_hour: u32, tokens: Arc<Tokens>) -> Self {
        Submissions {
            per_hour,
            tokens,
            sent: Arc::default(),
            shared: None,
        }
    }

    /// Keeps the windows in Redis from now on (falling back to this process's while Redis is
    /// out of reach).
    pub fn share(&mut self, shared: Arc<crate::limit::shared::Shared>) {
        self.shared = Some(shared);
    }

    /// Counts `events` submissions of `client` at once, or refuses them all when they do not
    /// fit in what the client has left of the last hour. A caller without an identity to key
    /// on (no address known) is not counted: the cost budget still applies to it.
    pub async fn charge(&self, client: Option<&Client>, events: u32) -> Result<(), OverBudget> {
        let (Some(client), Ok(limit)) = (client, usize::try_from(self.per_hour)) else {
            return Ok(());
        };
        if limit == 0 || events == 0 {
            return Ok(());
        }
        let over = |retry_after| OverBudget {
            retry_after,
            per_hour: self.per_hour,
            events,
        };
        if let Some(shared) = &self.shared
            && let Some(verdict) = shared
                .charge_window("consultation", client, self.per_hour, HOUR, events)
                .await
        {
            return verdict.map_err(over);
        }
        let events = events as usize;
        if events > limit {
            // Never fits: the window is as long as it can be asked to wait.
            return Err(over(HOUR));
        }
        let now = Instant::now();
        let mut sent = self.sent.lock().unwrap_or_else(PoisonError::into_inner);
        let times = sent.entry(client.clone()).or_default();
        while times.front().is_some_and(|t| now.duration_since(*t) >= HOUR) {
            times.pop_front();
        }
        // Room for `events` once the first `held + events - limit` have left the window.
        if times.len() + events > limit {
            let leaving = times[times.len() + events - limit - 1];
            return Err(over(HOUR.saturating_sub(now.duration_since(leaving))));
        }
        times.extend(std::iter::repeat_n(now, events));
        Ok(())
    }

    /// The fingerprint a response records of its client: a keyed hash, never the address or
    /// the account itself.
    pub fn fingerprint(&self, client: &Client) -> String {
        fingerprint(&self.tokens, client)
    }

    /// Forgets clients that sent nothing in the last hour.
    pub fn forget_idle(&self) {
        let now = Instant::now();
        self.sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|_, times| times.back().is_some_and(|t| now.duration_since(*t) < HOUR));
    }

    /// Runs [`Submissions::forget_idle`] every few minutes in the background.
    pub fn spawn_cleanup(&self) {
        if self.per_hour == 0 {
            return;
        }
        let submissions = self.clone();
        tokio::spawn(async move {
            let every = Duration::from_secs(300);
            let mut tick = tokio::time::interval_at((Instant::now() + every).into(), every);
            loop {
                tick.tick().await;
                submissions.forget_idle();
            }
        });
    }
}

/// A client's fingerprint under the server's key.
pub fn fingerprint(tokens: &Tokens, client: &Client) -> String {
    let key = match client {
        Client::ApiKey(id) => format!("api_key:{id}"),
        Client::Account(account) => format!("account:{account}"),
        Client::Ip(ip) => format!("ip:{ip}"),
    };
    tokens.keyed_hash("consultation client", &key)
}
