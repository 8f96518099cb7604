//! HTTP routes: `/graphql` (POST and GET, GraphiQL for browsers), `/healthz`, `/readyz`,
//! `/metrics`.
use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use async_graphql::http::GraphiQLSource;
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::{
    Router,
    extract::{RawQuery, State},
    http::{HeaderMap, StatusCode, header},
    response::{Html, IntoResponse, Response},
    routing::get,
};
use sea_orm::DatabaseConnection;
use tower_http::{limit::RequestBodyLimitLayer, trace::TraceLayer};

/// The largest request body accepted: far above any real query.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

use crate::{
    access::Access,
    auth::{AuthError, Viewer, authenticate, token::Tokens},
    cache::{NotCached, ResponseCache},
    db::SqlCounter,
    loader::Loaders,
    schema::LupSchema,
};

#[derive(Clone)]
pub struct AppState {
    pub schema: LupSchema,
    pub tokens: Arc<Tokens>,
    pub db: DatabaseConnection,
    pub sql: SqlCounter,
    pub requests: Arc<AtomicU64>,
    pub loader_delay: Duration,
    pub cache: ResponseCache,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn execute(state: &AppState, headers: &HeaderMap, request: async_graphql::Request) -> Response {
    state.requests.fetch_add(1, Ordering::Relaxed);
    let viewer = match authenticate(&state.db, &state.tokens, headers).await {
        Ok(viewer) => viewer,
        Err(e) => return refused(e),
    };
    let access = viewer.access();
    // Only anonymous answers are cached; everyone else may see more, and sees it fresh.
    let key = if viewer.is_anonymous() {
        state.cache.key(&format!("{access:?}"), &request)
    } else {
        None
    };
    let Some(key) = key else {
        // Mutations empty the cache themselves when their write commits.
        return GraphQLResponse::from(run(state, viewer, access, request).await).into_response();
    };
    let body = state
        .cache
        .get_or_run(key, async {
            let generation = state.cache.generation();
            let response = run(state, viewer, access, request).await;
            // Not kept when a write committed meanwhile: it may predate that write.
            let ok = response.is_ok() && state.cache.generation() == generation;
            match serde_json::to_vec(&response) {
                Ok(body) if ok => Ok(body.into()),
                Ok(body) => Err(NotCached(body.into())),
                Err(e) => {
                    tracing::error!(error = %e, "cannot serialise a response");
                    Err(NotCached(Arc::from(
                        &br#"{"errors":[{"message":"internal error","extensions":{"code":"INTERNAL"}}]}"#[..],
                    )))
                }
            }
        })
        .await;
    graphql_body(body.to_vec())
}

async fn run(
    state: &AppState,
    viewer: Viewer,
    access: Access,
    request: async_graphql::Request,
) -> async_graphql::Response {
    let loader = Loaders::for_request(state.db.clone(), access.clone(), state.loader_delay);
    let mut response = state
        .schema
        .execute(request.data(loader).data(access).data(viewer))
        .await;
    // Errors of our own carry a code; those without one are async-graphql's refusals of the
    // request itself (syntax, validation, a value of the wrong type): the client's to fix.
    for e in &mut response.errors {
        let extensions = e.extensions.get_or_insert_with(Default::default);
        if extensions.get("code").is_none() {
            extensions.set("code", "BAD_USER_INPUT");
        }
    }
    response
}

/// Credentials that do not hold: 401, with the reason in the log only.
fn refused(e: AuthError) -> Response {
    let message = match e {
        AuthError::Refused(why) => {
            tracing::info!(reason = why, "credentials refused");
            "the credentials sent (Authorization or X-Api-Key) are invalid, expired or revoked"
        }
        AuthError::Db(e) => {
            tracing::error!(error = %e, "database error while checking credentials");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONTENT_TYPE, "application/json")],
                r#"{"errors":[{"message":"internal error","extensions":{"code":"INTERNAL"}}]}"#,
            )
                .into_response();
        }
    };
    let body = serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": "UNAUTHENTICATED" } }] });
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, r#"Bearer error="invalid_token""#)],
        axum::Json(body),
    )
        .into_response()
}

/// A serialised GraphQL response, with the content type async-graphql-axum sends.
fn graphql_body(body: Vec<u8>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/graphql-response+json")],
        body,
    )
        .into_response()
}

async fn graphql_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: GraphQLRequest,
) -> Response {
    execute(&state, &headers, request.into_inner()).await
}

/// A GET with a `query` parameter is a GraphQL request; a browser asking for HTML without
/// one gets GraphiQL.
async fn graphql_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if wants_html && !query.split('&').any(|p| p.starts_with("query=")) {
        return Html(GraphiQLSource::build().endpoint("/graphql").finish()).into_response();
    }
    match async_graphql::http::parse_query_string(&query) {
        Ok(request) if !crate::cache::is_query_request(&request) => {
            let body = serde_json::json!({
                "errors": [{ "message": "mutations are only accepted over POST", "extensions": { "code": "BAD_REQUEST" } }]
            });
            (
                StatusCode::METHOD_NOT_ALLOWED,
                [(header::ALLOW, "POST")],
                axum::Json(body),
            )
                .into_response()
        }
        Ok(request) => execute(&state, &headers, request).await,
        Err(e) => {
            let body = serde_json::json!({
                "errors": [{ "message": format!("invalid GraphQL GET request: {e}"), "extensions": { "code": "BAD_REQUEST" } }]
            });
            (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
        }
    }
}

/// The process is up.
async fn healthz() -> &'static str {
    "ok"
}

/// The database answers.
async fn readyz(State(state): State<AppState>) -> Response {
    match crate::db::ping(&state.db).await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

/// Counters in the Prometheus text format.
async fn metrics(State(state): State<AppState>) -> Response {
    let body = format!(
        "# HELP lup_graphql_requests_total GraphQL requests executed.\n\
         # TYPE lup_graphql_requests_total counter\n\
         lup_graphql_requests_total {}\n\
         # HELP lup_sql_statements_total SQL statements sent to the database.\n\
         # TYPE lup_sql_statements_total counter\n\
         lup_sql_statements_total {}\n",
        state.requests.load(Ordering::Relaxed),
        state.sql.get()
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}
