//! What `/metrics` says of the HTTP traffic beside the GraphQL counters: requests by route and
//! status, their durations (to the response's headers) as a histogram, the errors of GraphQL
//! requests executed over HTTP by `extensions.code` (refusals before execution, such as a 429
//! or a 503, show as statuses), the database pool, and the build. Fixed label sets (the router's routes,
//! a list of statuses, the error codes), so a client cannot make the series grow; atomics only,
//! no lock on a request's path.
use std::{
    fmt::Write,
    sync::atomic::{AtomicU64, Ordering::Relaxed},
    time::Instant,
};

use axum::{
    extract::{MatchedPath, Request, State},
    middleware::Next,
    response::Response,
};

use crate::error::Code;

/// The routes, as the router names them; anything else (the 404 fallback) is `other`.
const ROUTES: [&str; 11] = [
    "/graphql",
    "/healthz",
    "/readyz",
    "/metrics",
    "/reports/annual/{year}",
    "/reports/consultation/{plan}",
    "/opendata/{file}",
    "/geo/communities.geojson",
    "/geo/actions.geojson",
    "/explorer/{version}/{file}",
    "other",
];

/// The statuses the server answers with; any other is counted as `other`.
const STATUSES: [u16; 18] = [
    101, 200, 204, 304, 400, 401, 403, 404, 405, 406, 408, 413, 415, 422, 429, 500, 503, 504,
];

/// Upper bounds of the duration histogram's buckets, in seconds (`+Inf` after them).
const BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The codes the errors of a GraphQL request over HTTP can carry, in the order `/metrics`
/// lists them (not those of subscriptions over WebSocket: `TOO_MANY_SUBSCRIPTIONS`,
/// `SLOW_CONSUMER`).
const CODES: [Code; 12] = [
    Code::BadRequest,
    Code::PersistedQueryNotFound,
    Code::BadUserInput,
    Code::QueryTooLarge,
    Code::Unauthenticated,
    Code::Forbidden,
    Code::NotFound,
    Code::Conflict,
    Code::RateLimited,
    Code::Timeout,
    Code::Unavailable,
    Code::Internal,
];

#[derive(Default)]
struct Route {
    /// Requests by status, the last one for statuses not in [`STATUSES`].
    statuses: [AtomicU64; STATUSES.len() + 1],
    /// Requests at or under each bucket's bound (not cumulative here; summed when written).
    buckets: [AtomicU64; BUCKETS.len() + 1],
    /// Their durations added up, in microseconds.
    micros: AtomicU64,
}

/// The counters, shared by every request of the server.
#[derive(Default)]
pub struct HttpMetrics {
    routes: [Route; ROUTES.len()],
    /// GraphQL errors by code, in the order of [`CODES`].
    errors: [AtomicU64; CODES.len()],
    /// A GraphQL error that carries no code we know (a defect: they all should).
    uncoded: AtomicU64,
}

impl HttpMetrics {
    fn record(&self, route: usize, status: u16, seconds: f64) {
        let route = &self.routes[route];
        let status = STATUSES
            .iter()
            .position(|s| *s == status)
            .unwrap_or(STATUSES.len());
        route.statuses[status].fetch_add(1, Relaxed);
        let bucket = BUCKETS
            .iter()
            .position(|b| seconds <= *b)
            .unwrap_or(BUCKETS.len());
        route.buckets[bucket].fetch_add(1, Relaxed);
        route.micros.fetch_add((seconds * 1e6) as u64, Relaxed);
    }

    /// Counts the errors of a GraphQL answer by their `extensions.code`.
    pub fn count_errors(&self, errors: &[async_graphql::ServerError]) {
        for e in errors {
            match CODES.iter().position(|code| code.of(e)) {
                Some(i) => self.errors[i].fetch_add(1, Relaxed),
                None => self.uncoded.fetch_add(1, Relaxed),
            };
        }
    }

    /// The series in the Prometheus text format.
    pub fn write(&self, out: &mut String) {
        out.push_str(
            "# HELP lup_http_requests_total HTTP requests answered, by route and status (a WebSocket upgrade is 101).\n\
             # TYPE lup_http_requests_total counter\n",
        );
        for (route, counts) in ROUTES.iter().zip(&self.routes) {
            for (i, n) in counts.statuses.iter().enumerate() {
                let n = n.load(Relaxed);
                if n > 0 {
                    let status = STATUSES.get(i).map_or_else(|| "other".to_owned(), u16::to_string);
                    let _ = writeln!(
                        out,
                        "lup_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
                    );
                }
            }
        }
        out.push_str(
            "# HELP lup_http_request_duration_seconds Time from a request's arrival to its response's headers, by route.\n\
             # TYPE lup_http_request_duration_seconds histogram\n",
        );
        for (route, counts) in ROUTES.iter().zip(&self.routes) {
            // Read once, so the buckets, `+Inf` and the count agree whatever is recorded meanwhile.
            let buckets: Vec<u64> = counts.buckets.iter().map(|b| b.load(Relaxed)).collect();
            let total: u64 = buckets.iter().sum();
            if total == 0 {
                continue;
            }
            let mut below = 0;
            for (bound, n) in BUCKETS.iter().zip(&buckets) {
                below += n;
                let _ = writeln!(
                    out,
                    "lup_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {below}"
                );
            }
            let _ = writeln!(
                out,
                "lup_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {total}\n\
                 lup_http_request_duration_seconds_sum{{route=\"{route}\"}} {}\n\
                 lup_http_request_duration_seconds_count{{route=\"{route}\"}} {total}",
                counts.micros.load(Relaxed) as f64 / 1e6
            );
        }
        out.push_str(
            "# HELP lup_graphql_errors_total Errors in the answers of GraphQL requests executed over HTTP (or refused as they were parsed), by extensions.code; INTERNAL is a failure of ours, in the log.\n\
             # TYPE lup_graphql_errors_total counter\n",
        );
        for (code, n) in CODES.iter().zip(&self.errors) {
            let _ = writeln!(
                out,
                "lup_graphql_errors_total{{code=\"{}\"}} {}",
                code.as_str(),
                n.load(Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "lup_graphql_errors_total{{code=\"other\"}} {}",
            self.uncoded.load(Relaxed)
        );
    }
}

/// Middleware: counts each request under its route and status, and how long its answer took.
pub async fn track(
    State(metrics): State<std::sync::Arc<HttpMetrics>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .and_then(|p| ROUTES.iter().position(|r| *r == p.as_str()))
        .unwrap_or(ROUTES.len() - 1);
    let method = request.method().clone();
    let response = next.run(request).await;
    let status = response.status();
    let elapsed = started.elapsed();
    metrics.record(route, status.as_u16(), elapsed.as_secs_f64());
    if status.is_server_error() {
        let ms = elapsed.as_millis() as u64;
        // A 503 is the database out of reach or a request out of time, said as such where
        // it happened; a 500 is a fault of ours.
        // The route, not the path as sent (nor the query string, whose query and variables
        // may hold what a user typed).
        let route = ROUTES[route];
        if status == axum::http::StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(request = %super::request_id(), %method, route, status = status.as_u16(), ms, "answered with a server error");
        } else {
            tracing::warn!(request = %super::request_id(), %method, route, status = status.as_u16(), ms, "answered with a server error");
        }
    }
    response
}
