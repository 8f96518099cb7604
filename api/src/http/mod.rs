//! HTTP routes: `/graphql` (POST and GET, the explorer for browsers: [`crate::explorer`], its
//! files under `/explorer/…`), `/healthz`, `/readyz`, `/metrics`; the reports
//! (`/reports/...`) live in [`crate::report`] and the map data (`/geo/*.geojson`) in
//! [`crate::geo::features`], and pass the same admission step.
//!
//! A GET of `/graphql` that asks to become a WebSocket (subprotocol `graphql-transport-ws`)
//! is a connection for GraphQL subscriptions: see [`ws`]. A subscription sent over HTTP is
//! refused with a request error that says so.
//!
//! `/graphql` follows the GraphQL-over-HTTP specification (checked by `.ci/graphql-http-audit.sh`
//! with the `graphql-http` audits): POST takes `application/json` (else 415); GET takes `query`,
//! `operationName` and the JSON-encoded `variables` and `extensions`, and runs queries only (405
//! for mutations). The answer is `application/graphql-response+json` when the client accepts it
//! (a request error, i.e. no `data`, is then a 400), else `application/json` (always 200 for a
//! GraphQL response); 406 when the client accepts neither. Malformed requests get a 400 with a
//! GraphQL-style error body, a body over [`MAX_BODY_BYTES`] a 413 with one. A database out of
//! reach is a 503 with `Retry-After` and `UNAVAILABLE` for every caller.
//!
//! A request flows one way through the modules here:
//! [`negotiate`] (media types) → [`request`] (HTTP to a raw GraphQL request, trusted
//! documents) → [`prepared`] (the document parsed once, its operations, its cost) →
//! [`admission`] (caller, trusted-only rule, budget; a query over a bound is then refused
//! without running) → [`execute`] (the response cache, or the schema in the client's turn) →
//! [`respond`] (body, status, caching headers, every error body).
pub(crate) mod admission;
mod execute;
pub mod metrics;
pub(crate) mod negotiate;
pub mod prepared;
pub(crate) mod request;
pub(crate) mod respond;
pub mod serve;
pub mod ws;

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use async_graphql::parser::types::OperationType;
use axum::{
    Router,
    body::Bytes,
    extract::{
        Query, State,
        rejection::{BytesRejection, QueryRejection},
        ws::{WebSocketUpgrade, rejection::WebSocketUpgradeRejection},
    },
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use sea_orm::DatabaseConnection;
use tower_http::{limit::RequestBodyLimitLayer, trace::TraceLayer};

pub use admission::Peer;
use negotiate::MediaType;

use crate::{auth::token::Tokens, cache::ResponseCache, db::SqlCounter, schema::LupSchema};

/// The longest query text accepted: the website's longest query is under 2 KB.
pub const MAX_QUERY_BYTES: usize = 100_000;

/// The largest request body accepted: far above any real query.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

#[derive(Clone)]
pub struct AppState {
    /// The schema validating every request in full.
    pub schema: LupSchema,
    /// The same schema, for queries whose document passed full validation before.
    pub fast_schema: LupSchema,
    /// Documents parsed before, by their text.
    pub prepared: prepared::PreparedCache,
    pub tokens: Arc<Tokens>,
    pub db: DatabaseConnection,
    pub sql: SqlCounter,
    pub requests: Arc<AtomicU64>,
    /// Requests by route and status, their durations, GraphQL errors by code.
    pub http_metrics: Arc<metrics::HttpMetrics>,
    /// How requests read: loaders and compiled reads.
    pub reads: crate::loader::Reads,
    pub cache: ResponseCache,
    pub limits: crate::limit::RateLimits,
    /// Each client's budget of responses to consultations.
    pub submissions: crate::consultation::abuse::Submissions,
    /// Failed sign-ins per email address.
    pub sign_ins: crate::auth::throttle::SignIns,
    /// Take anonymous callers' addresses from `X-Forwarded-For`.
    pub trust_forwarded_for: bool,
    /// Our clients' queries, which they may send by id.
    pub documents: crate::documents::TrustedDocuments,
    /// `max-age` of anonymous GET query answers.
    pub public_max_age: Duration,
    /// Rows of an open-data CSV read at a time.
    pub opendata_page_rows: u64,
    /// Origins allowed to call from a browser (CORS).
    pub cors_origins: Vec<HeaderValue>,
    pub introspection: crate::config::Introspection,
    /// How long a GraphQL request may run.
    pub timeout: Duration,
    /// How long a refusal for going over budget waits before it is sent.
    pub rate_limit_delay: Duration,
    /// When searches catch the index up with rows written around the API.
    pub search: crate::search::CatchUp,
    /// The community pages of the municipality's website, `{slug}` in place of the slug.
    pub website_community_url: Option<String>,
    /// New change events as they commit, for this instance's subscribers.
    pub feed: crate::changes::Feed,
    /// Partners' webhooks: their settings, HTTP client and workers.
    pub webhooks: crate::webhook::Webhooks,
    /// The WebSocket connections of GraphQL subscriptions.
    pub ws: ws::Hub,
    /// Set on SIGTERM for `SHUTDOWN_DRAIN_SECS`: each answer closes its connection and
    /// `/readyz` says 503, before the server stops accepting connections.
    pub draining: Arc<std::sync::atomic::AtomicBool>,
}

pub fn router(state: AppState) -> Router {
    // Browsers of the allowed origins (the municipality's website) may call the API directly;
    // the open data and the map data, public whoever asks, any page may read.
    let origins = state.cors_origins.clone();
    let cors = tower_http::cors::CorsLayer::new()
        .allow_origin(tower_http::cors::AllowOrigin::predicate(
            move |origin, request| {
                let path = request.uri.path();
                path.starts_with("/opendata/") || path.starts_with("/geo/") || origins.contains(origin)
            },
        ))
        .allow_methods([axum::http::Method::GET, axum::http::Method::POST])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            header::HeaderName::from_static("x-api-key"),
            // To send an ETag back (`304 Not Modified`).
            header::IF_NONE_MATCH,
        ])
        // What a page's script needs to read of an answer: when to try again after a 429, and
        // the ETag to send back, what is left of its budget.
        .expose_headers([
            header::RETRY_AFTER,
            header::ETAG,
            respond::LIMIT,
            respond::REMAINING,
            REQUEST_ID,
        ])
        .max_age(Duration::from_secs(3600));
    Router::new()
        .route(
            "/graphql",
            get(graphql_get)
                .post(graphql_post)
                .fallback(respond::other_method),
        )
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        // The annual review as HTML and CSV (`/reports/annual/2025`, `/reports/annual/2025.csv`).
        .route("/reports/annual/{year}", get(crate::report::annual))
        // A plan's consultation summary (`/reports/consultation/{planId}`, `….csv`).
        .route(
            "/reports/consultation/{plan}",
            get(crate::report::consultation_summary),
        )
        // Open data: `/opendata/datapackage.json` and its CSV files (`/opendata/communities.csv`).
        .route("/opendata/{file}", get(crate::opendata::file))
        // Map data as GeoJSON (`crate::geo::features`).
        .route(
            "/geo/communities.geojson",
            get(crate::geo::features::communities_geojson),
        )
        .route("/geo/actions.geojson", get(crate::geo::features::actions_geojson))
        // The explorer's files (`crate::explorer`), under a path that changes with them.
        .route("/explorer/{version}/{file}", get(crate::explorer::asset))
        // Any other path: a 404 that says where the API is.
        .fallback(|| async {
            crate::report::plain(
                StatusCode::NOT_FOUND,
                "no such path: the GraphQL API is at /graphql (see the README for the reports, open data and map data)",
            )
        })
        // A body sent without a length is cut off at the limit; one whose length is over it
        // is refused before it is read, with an error body like every other.
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(refuse_long_bodies))
        .layer(axum::middleware::from_fn(errors_not_kept))
        .layer(cors)
        .layer(axum::middleware::from_fn_with_state(
            state.http_metrics.clone(),
            metrics::track,
        ))
        // Answers with a server error are logged by `metrics::track`, with the request's method
        // and path (tower-http's line had neither).
        .layer(TraceLayer::new_for_http().on_failure(()))
        .layer(axum::middleware::from_fn_with_state(
            Edge {
                draining: state.draining.clone(),
                behind_proxy: state.trust_forwarded_for,
            },
            edge,
        ))
        // Shared, not cloned per request.
        .with_state(Arc::new(state))
}

/// `X-Request-Id`: what a client quotes, and an operator searches the log for.
pub const REQUEST_ID: header::HeaderName = header::HeaderName::from_static("x-request-id");

tokio::task_local! {
    /// The ID of the request the task serves (see [`edge`]).
    static REQUEST: String;
}

/// The ID of the request being served, for a log line (`-` outside one, as in a loader's
/// batch, which runs on a task of its own).
pub fn request_id() -> String {
    REQUEST.try_with(Clone::clone).unwrap_or_else(|_| "-".to_owned())
}

/// What the outermost layer ([`edge`]) knows.
#[derive(Clone)]
struct Edge {
    /// Set on SIGTERM for `SHUTDOWN_DRAIN_SECS`.
    draining: Arc<std::sync::atomic::AtomicBool>,
    /// `TRUST_FORWARDED_FOR`: a proxy in front sets `X-Request-Id`.
    behind_proxy: bool,
}

/// A new request ID: this process's random 64 bits and a count, 32 hex digits (unique across
/// instances and restarts without asking the clock or the random generator each time).
fn new_request_id() -> String {
    static PROCESS: std::sync::LazyLock<u64> =
        std::sync::LazyLock::new(|| uuid::Uuid::now_v7().as_u64_pair().1);
    static COUNT: AtomicU64 = AtomicU64::new(0);
    format!("{:016x}{:016x}", *PROCESS, COUNT.fetch_add(1, Ordering::Relaxed))
}

/// The outermost layer, one for three things:
/// - each request has an ID: behind a proxy (`TRUST_FORWARDED_FOR`), the `X-Request-Id` it set
///   (nginx's `$request_id`) when it is one (1–64 visible ASCII characters); else a new one (a
///   client reaching the API itself does not choose it). It is sent back in `X-Request-Id`,
///   and the lines logged of what went wrong with it carry it (`request=…`: a database error,
///   a statement or request out of time, a 5xx), so an `INTERNAL` error a client reports can
///   be found with the query that had it;
/// - while the server drains before it stops, each answer closes its connection (the client,
///   or a proxy's pool, opens a new one, to another instance), and a WebSocket it would close
///   in a moment is not opened: 503 with `Retry-After`;
/// - every answer says `X-Content-Type-Options: nosniff`: none is to be read as another type
///   than it says (a text/plain error that echoes a path, a CSV).
async fn edge(
    State(edge): State<Edge>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let draining = edge.draining.load(Ordering::Relaxed);
    if draining
        && request
            .headers()
            .get(header::UPGRADE)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"))
    {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [
                (header::RETRY_AFTER, "1"),
                (header::CONNECTION, "close"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            "shutting down",
        )
            .into_response();
    }
    let id = request
        .headers()
        .get(&REQUEST_ID)
        .filter(|_| edge.behind_proxy)
        .and_then(|v| v.to_str().ok())
        .filter(|v| (1..=64).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(new_request_id, str::to_owned);
    // Not a tracing span: entering and leaving one at every poll cost the lightest requests
    // 10 % of their speed (bench: the cached GET). The lines that need it name it.
    let mut response = REQUEST.scope(id.clone(), next.run(request)).await;
    let status = response.status();
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&id) {
        headers.insert(REQUEST_ID, v);
    }
    headers
        .entry(header::X_CONTENT_TYPE_OPTIONS)
        .or_insert(HeaderValue::from_static("nosniff"));
    if (draining || edge.draining.load(Ordering::Relaxed)) && status != StatusCode::SWITCHING_PROTOCOLS {
        headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// A request whose `Content-Length` is over [`MAX_BODY_BYTES`]: 413 with a GraphQL-style
/// error body (`BAD_REQUEST`), before the body is read.
async fn refuse_long_bodies(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let length = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match length {
        Some(length) if length > MAX_BODY_BYTES as u64 => {
            let media = negotiate::negotiate(request.headers()).unwrap_or(MediaType::Json);
            respond::body_too_large(media, Some(length))
        }
        _ => next.run(request).await,
    }
}

/// An error answer that says nothing of caching (axum's 405, a missing explorer file) says
/// `no-store`, as the others do: a CDN would otherwise keep it by its own rules.
async fn errors_not_kept(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let mut response = next.run(request).await;
    if (response.status().is_client_error() || response.status().is_server_error())
        && !response.headers().contains_key(header::CACHE_CONTROL)
    {
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
    }
    response
}

/// How a GraphQL request came.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Post,
}

/// A GraphQL request, parsed from HTTP, through admission to its answer.
async fn graphql(
    state: &AppState,
    headers: &HeaderMap,
    peer: &Peer,
    media: MediaType,
    raw: request::RawRequest,
    method: Method,
) -> Response {
    let request::RawRequest {
        source,
        operation_name,
        variables,
        variables_text,
    } = raw;
    let (parsed, trusted) = match source {
        request::Source::Text(text) => (state.prepared.get(text), false),
        request::Source::Trusted(parsed) => (parsed, true),
    };
    let selected = parsed
        .as_ref()
        .ok()
        .and_then(|p| p.operation(operation_name.as_deref()))
        .map(|(_, op)| (op.ty, op.signs_in));
    let operation = selected.map(|(ty, _)| ty);
    let signs_in = selected.is_some_and(|(_, signs_in)| signs_in);
    // Unparsable documents count as queries: they fail without changing anything.
    let is_mutation = matches!(
        operation,
        Some(OperationType::Mutation | OperationType::Subscription)
    );
    if operation == Some(OperationType::Subscription) {
        return respond::subscription_over_http(media);
    }
    if method == Method::Get && is_mutation {
        return respond::mutation_over_get(media);
    }
    state.requests.fetch_add(1, Ordering::Relaxed);
    // Measured before admission, so the rate limiter charges what the query costs; one
    // point when it does not parse or is over a bound (it is refused without running).
    let plan = parsed.and_then(|prepared| {
        prepared.refuse_nul(&variables)?;
        prepared.refuse_missing_variables(operation_name.as_deref(), &variables)?;
        let cost = prepared
            .cost(operation_name.as_deref(), &variables)
            .map_err(crate::bounds::OverLimit::into_error)?;
        Ok((prepared, cost))
    });
    let points = plan
        .as_ref()
        .map_or(1, |(_, cost)| u32::try_from(cost.points()).unwrap_or(u32::MAX));
    let ask = admission::Ask {
        points,
        // Signing in stays possible; any other document (a query, a mutation such as a
        // consultation response) must be trusted.
        untrusted_document: !trusted && !signs_in,
    };
    let admitted = match admission::admit(state, headers, peer, ask).await {
        Ok(admitted) => admitted,
        Err(refusal) => return respond::refusal(media, refusal),
    };
    let call = plan.map(|(prepared, cost)| execute::Call {
        prepared,
        operation_name,
        variables,
        variables_text,
        cost,
    });
    let delivery = execute::Delivery {
        media,
        method,
        request_headers: headers,
    };
    execute::answer(state, delivery, admitted, call).await
}

async fn graphql_post(
    State(state): State<Arc<AppState>>,
    peer: Peer,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Some(media) = negotiate::negotiate(&headers) else {
        return respond::not_acceptable();
    };
    match request::from_post(&headers, body, &state.documents) {
        Ok(raw) => graphql(&state, &headers, &peer, media, raw, Method::Post).await,
        Err(bad) => respond::malformed(media, &bad),
    }
}

/// A GET asking to become a WebSocket is a connection for subscriptions ([`ws`]); one with a
/// `query` parameter is a GraphQL request; a browser asking for HTML without one gets
/// GraphiQL.
async fn graphql_get(
    State(state): State<Arc<AppState>>,
    peer: Peer,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    uri: axum::http::Uri,
    params: Result<Query<request::GetParams>, QueryRejection>,
) -> Response {
    match upgrade {
        Ok(upgrade) => return ws::upgrade(state, upgrade, &headers, &peer),
        // A WebSocket handshake that is not right (its version, its key): why not.
        Err(rejection) if ws::asks_for_websocket(&headers) => return rejection.into_response(),
        Err(_) => {}
    }
    if negotiate::wants_html(&headers) && params.as_ref().is_ok_and(|p| p.query.is_none()) {
        return crate::explorer::page();
    }
    let Some(media) = negotiate::negotiate(&headers) else {
        return respond::not_acceptable();
    };
    let raw = match request::from_get(uri.query(), params, &state.documents) {
        Ok(raw) => raw,
        Err(bad) => return respond::malformed(media, &bad),
    };
    graphql(&state, &headers, &peer, media, raw, Method::Get).await
}

/// The process is up.
async fn healthz() -> &'static str {
    "ok"
}

/// The database answers.
async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    if state.draining.load(std::sync::atomic::Ordering::Relaxed) {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down").into_response();
    }
    match crate::db::ping(&state.db).await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

/// When the process started (first read at start-up: see [`started`]), in seconds since the
/// Unix epoch.
static STARTED: std::sync::LazyLock<u64> = std::sync::LazyLock::new(|| {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
});

/// Notes the start time (called as the server starts).
pub fn started() {
    std::sync::LazyLock::force(&STARTED);
}

/// Counters in the Prometheus text format.
async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let (hits, misses) = state.prepared.counts();
    let (cache_hits, cache_misses) = state.cache.counts();
    let (fast_runs, strict_runs) = state.prepared.runs();
    let (open, idle, max) = crate::db::pool_figures(&state.db);
    let body = format!(
        "# HELP lup_graphql_requests_total GraphQL requests executed.\n\
         # TYPE lup_graphql_requests_total counter\n\
         lup_graphql_requests_total {}\n\
         # HELP lup_sql_statements_total SQL statements sent to the database by requests (and start-up).\n\
         # TYPE lup_sql_statements_total counter\n\
         lup_sql_statements_total {}\n\
         # HELP lup_sql_background_statements_total SQL statements sent by background work: the change feed, webhook workers, the retention job.\n\
         # TYPE lup_sql_background_statements_total counter\n\
         lup_sql_background_statements_total {}\n\
         # HELP lup_prepared_documents_total GraphQL requests by whether their document was parsed before (hit) or parsed now (miss); trusted documents are prepared at start-up and not counted.\n\
         # TYPE lup_prepared_documents_total counter\n\
         lup_prepared_documents_total{{result=\"hit\"}} {}\n\
         lup_prepared_documents_total{{result=\"miss\"}} {}\n\
         # HELP lup_graphql_runs_total GraphQL executions by schema: fast (a document that passed full validation before, not validated again) or strict (validated in full; also a fast run's second try).\n\
         # TYPE lup_graphql_runs_total counter\n\
         lup_graphql_runs_total{{schema=\"fast\"}} {}\n\
         lup_graphql_runs_total{{schema=\"strict\"}} {}\n\
         # HELP lup_response_cache_total Anonymous queries by whether the response cache answered them (hit) or not (miss); 0 when the cache is off.\n\
         # TYPE lup_response_cache_total counter\n\
         lup_response_cache_total{{result=\"hit\"}} {}\n\
         lup_response_cache_total{{result=\"miss\"}} {}\n\
         # HELP lup_compiled_read_fallbacks_total Nested lists a compiled read loaded but could not decode, left to the loaders (a defect: should stay 0).\n\
         # TYPE lup_compiled_read_fallbacks_total counter\n\
         lup_compiled_read_fallbacks_total {}\n\
         # HELP lup_websocket_connections WebSocket connections of GraphQL subscriptions open now (past connection_init).\n\
         # TYPE lup_websocket_connections gauge\n\
         lup_websocket_connections {}\n\
         # HELP lup_subscriptions GraphQL subscriptions running now.\n\
         # TYPE lup_subscriptions gauge\n\
         lup_subscriptions {}\n\
         # HELP lup_db_pool_connections Database connections of this instance's pool, by state.\n\
         # TYPE lup_db_pool_connections gauge\n\
         lup_db_pool_connections{{state=\"in_use\"}} {}\n\
         lup_db_pool_connections{{state=\"idle\"}} {}\n\
         # HELP lup_db_pool_max_connections The most connections the pool opens (DB_MAX_CONNECTIONS).\n\
         # TYPE lup_db_pool_max_connections gauge\n\
         lup_db_pool_max_connections {}\n\
         # HELP lup_build_info The running server's version.\n\
         # TYPE lup_build_info gauge\n\
         lup_build_info{{version=\"{}\"}} 1\n\
         # HELP lup_process_start_time_seconds When this instance started, in seconds since the Unix epoch.\n\
         # TYPE lup_process_start_time_seconds gauge\n\
         lup_process_start_time_seconds {}\n",
        state.requests.load(Ordering::Relaxed),
        state.sql.get(),
        state.sql.background(),
        hits,
        misses,
        fast_runs,
        strict_runs,
        cache_hits,
        cache_misses,
        state.reads.fallbacks.load(Ordering::Relaxed),
        state.ws.connections(),
        state.ws.subscriptions(),
        open.saturating_sub(idle as u32),
        idle,
        max,
        env!("CARGO_PKG_VERSION"),
        *STARTED,
    );
    let mut body = body;
    state.http_metrics.write(&mut body);
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        body,
    )
        .into_response()
}
