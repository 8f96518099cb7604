//! HTTP routes: `/graphql` (POST and GET, GraphiQL for browsers), `/healthz`, `/readyz`,
//! `/metrics`.
//!
//! `/graphql` follows the GraphQL-over-HTTP specification (checked by `.ci/graphql-http-audit.sh`
//! with the `graphql-http` audits): POST takes `application/json` (else 415); GET takes `query`,
//! `operationName` and the JSON-encoded `variables` and `extensions`, and runs queries only (405
//! for mutations). The answer is `application/graphql-response+json` when the client accepts it
//! (a request error, i.e. no `data`, is then a 400), else `application/json` (always 200 for a
//! GraphQL response); 406 when the client accepts neither. Malformed requests get a 400 with a
//! GraphQL-style error body.
use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use async_graphql::http::GraphiQLSource;
use axum::{
    Router,
    body::Bytes,
    extract::{Query, State, rejection::BytesRejection, rejection::QueryRejection},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
    routing::get,
};
use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use tower_http::{limit::RequestBodyLimitLayer, trace::TraceLayer};

/// The longest query text accepted: the website's longest query is under 2 KB.
pub const MAX_QUERY_BYTES: usize = 100_000;

/// The largest request body accepted: far above any real query.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

use crate::{
    access::Access,
    auth::{AuthError, Viewer, authenticate, token::Tokens},
    cache::{Answer, NotCached, ResponseCache},
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
    /// How requests read: loaders and compiled reads.
    pub reads: crate::loader::Reads,
    pub cache: ResponseCache,
    pub limits: crate::limit::RateLimits,
    /// Take anonymous callers' addresses from `X-Forwarded-For`.
    pub trust_forwarded_for: bool,
    /// Our clients' queries, which they may send by id.
    pub documents: crate::documents::TrustedDocuments,
    /// `max-age` of anonymous GET query answers.
    pub public_max_age: Duration,
    /// Origins allowed to call from a browser (CORS).
    pub cors_origins: Vec<HeaderValue>,
    pub introspection: crate::config::Introspection,
    /// How long a GraphQL request may run.
    pub timeout: Duration,
    /// How long a refusal for going over budget waits before it is sent.
    pub rate_limit_delay: Duration,
}

/// The address of the connection a request came on, when the server knows it.
pub struct Peer(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Peer(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// An anonymous caller's address: the connection's, or the last `X-Forwarded-For` entry
/// (the one our proxy added) when configured to trust it.
pub(crate) fn client_ip(state: &AppState, headers: &HeaderMap, peer: &Peer) -> Option<std::net::IpAddr> {
    if state.trust_forwarded_for
        && let Some(ip) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse().ok())
    {
        return Some(ip);
    }
    peer.0
}

/// The points a request will cost, from its parsed document; 1 when it does not parse or
/// is over a bound (it is refused before running anyway).
fn points(request: &async_graphql::Request) -> u32 {
    async_graphql::parser::parse_query(&request.query)
        .ok()
        .and_then(|doc| {
            crate::bounds::measure(&doc, request.operation_name.as_deref(), &request.variables).ok()
        })
        .map_or(1, |cost| u32::try_from(cost.points()).unwrap_or(u32::MAX))
}

/// Over budget: 429 with `Retry-After` and `RATE_LIMITED`.
fn rate_limited(media: MediaType, retry_after: Duration, limit: u32) -> Response {
    let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
    let body = serde_json::json!({ "errors": [{
        "message": format!("rate limit exceeded: this client may spend {limit} cost points a minute; try again in {secs} s"),
        "extensions": { "code": "RATE_LIMITED", "retryAfterSeconds": secs, "limitPerMinute": limit },
    }] });
    (
        StatusCode::TOO_MANY_REQUESTS,
        [
            (header::CONTENT_TYPE, media.as_str().to_owned()),
            (header::RETRY_AFTER, secs.to_string()),
        ],
        body.to_string(),
    )
        .into_response()
}

pub fn router(state: AppState) -> Router {
    // Browsers of the allowed origins (the municipality's website) may call the API directly.
    let cors = tower_http::cors::CorsLayer::new()
        .allow_origin(state.cors_origins.clone())
        .allow_methods([axum::http::Method::GET, axum::http::Method::POST])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            header::HeaderName::from_static("x-api-key"),
        ])
        .max_age(Duration::from_secs(3600));
    Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        // The annual review as HTML and CSV (`/reports/annual/2025`, `/reports/annual/2025.csv`).
        .route("/reports/annual/{year}", get(crate::report::annual))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(cors)
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// The media type of a GraphQL response, chosen from the request's `Accept`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MediaType {
    /// `application/graphql-response+json`: the status code tells request errors apart.
    GraphqlResponse,
    /// `application/json`: the legacy type, 200 for every GraphQL response.
    Json,
}

impl MediaType {
    fn as_str(self) -> &'static str {
        match self {
            MediaType::GraphqlResponse => "application/graphql-response+json",
            MediaType::Json => "application/json",
        }
    }
}

/// The response type the client accepts: `application/graphql-response+json` when it names it
/// at least as highly as `application/json`; `application/json` when it names that (or
/// `application/*`, `*/*`, or sends no `Accept` at all, as the specification asks until its
/// watershed); `None` when it accepts neither.
fn negotiate(headers: &HeaderMap) -> Option<MediaType> {
    let mut any = false;
    let (mut graphql, mut json, mut application, mut all) = (None, None, None, None);
    for value in headers.get_all(header::ACCEPT) {
        let Ok(value) = value.to_str() else { continue };
        for range in value.split(',') {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            if media.is_empty() {
                continue;
            }
            any = true;
            let q = parts
                .filter_map(|p| p.split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
                .map_or(1.0, |(_, v)| v.trim().parse::<f32>().unwrap_or(0.0));
            let slot = match media.as_str() {
                "application/graphql-response+json" => &mut graphql,
                "application/json" => &mut json,
                "application/*" => &mut application,
                "*/*" => &mut all,
                _ => continue,
            };
            *slot = Some(slot.map_or(q, |old: f32| old.max(q)));
        }
    }
    if !any {
        return Some(MediaType::Json);
    }
    let graphql = graphql.unwrap_or(0.0);
    let json = json.or(application).or(all).unwrap_or(0.0);
    if graphql > 0.0 && graphql >= json {
        Some(MediaType::GraphqlResponse)
    } else if json > 0.0 {
        Some(MediaType::Json)
    } else {
        None
    }
}

/// A request refused before it ran: `status` with a GraphQL-style error body.
fn request_error(status: StatusCode, media: MediaType, message: impl Into<String>) -> Response {
    let body = serde_json::json!({
        "errors": [{ "message": message.into(), "extensions": { "code": "BAD_REQUEST" } }]
    });
    (status, [(header::CONTENT_TYPE, media.as_str())], body.to_string()).into_response()
}

fn not_acceptable() -> Response {
    request_error(
        StatusCode::NOT_ACCEPTABLE,
        MediaType::Json,
        "the response is application/graphql-response+json or application/json; the Accept header allows neither",
    )
}

/// `Content-Type: application/json`, with no charset or UTF-8.
fn is_json_body(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mut parts = value.split(';');
    let media = parts.next().unwrap_or_default().trim();
    media.eq_ignore_ascii_case("application/json")
        && parts.all(|p| match p.split_once('=') {
            Some((k, v)) if k.trim().eq_ignore_ascii_case("charset") => {
                let charset = v.trim().trim_matches('"');
                charset.eq_ignore_ascii_case("utf-8") || charset.eq_ignore_ascii_case("utf8")
            }
            _ => true,
        })
}

/// A GraphQL request from its JSON form (a POST body, or GET parameters gathered into one):
/// an object with a string `query`, and `operationName` (string), `variables` and `extensions`
/// (objects), each of them optionally null. The message says what is wrong otherwise.
/// A request that names a trusted document (`documentId`, or a persisted query's hash) gets
/// the document's text as its query; the `bool` says it did.
fn trusted_document(
    object: &mut serde_json::Map<String, Json>,
    documents: &crate::documents::TrustedDocuments,
) -> Result<bool, String> {
    let document_id = match object.remove("documentId") {
        None | Some(Json::Null) => None,
        Some(Json::String(id)) => Some(id),
        Some(_) => return Err("`documentId` must be a string".into()),
    };
    let persisted = object
        .get("extensions")
        .and_then(|e| e.get("persistedQuery"))
        .and_then(|p| p.get("sha256Hash"))
        .and_then(Json::as_str)
        .map(str::to_owned);
    let Some(id) = document_id.or(persisted) else {
        return Ok(false);
    };
    match (documents.get(&id), object.get("query")) {
        (Some(text), None | Some(Json::Null)) => {
            object.insert("query".into(), Json::String(text.to_string()));
            Ok(true)
        }
        (Some(text), Some(Json::String(q))) if q.as_str() == &*text => Ok(true),
        (Some(_), Some(_)) => Err(format!("`query` is not the text of the trusted document `{id}`")),
        // An unknown id with the query's text beside it: an ordinary request.
        (None, Some(Json::String(_))) => Ok(false),
        (None, _) => Err(format!("no trusted document has the id `{id}`")),
    }
}

fn graphql_request(
    value: Json,
    documents: &crate::documents::TrustedDocuments,
) -> Result<(async_graphql::Request, bool), String> {
    let mut object = match value {
        Json::Object(object) => object,
        Json::Array(_) => {
            return Err(
                "batched requests (a JSON array) are not supported: send one operation per request".into(),
            );
        }
        _ => return Err("the request must be a JSON object with a `query`".into()),
    };
    let trusted = trusted_document(&mut object, documents)?;
    if let Some(Json::String(query)) = object.get("query")
        && query.len() > MAX_QUERY_BYTES
    {
        return Err(format!(
            "the query is {} bytes long; the limit is {MAX_QUERY_BYTES}",
            query.len()
        ));
    }
    match object.get("query") {
        Some(Json::String(_)) => {}
        None | Some(Json::Null) => return Err("the request has no `query`".into()),
        Some(_) => return Err("`query` must be a string".into()),
    }
    if !matches!(
        object.get("operationName"),
        None | Some(Json::Null | Json::String(_))
    ) {
        return Err("`operationName` must be a string or null".into());
    }
    for key in ["variables", "extensions"] {
        if !matches!(object.get(key), None | Some(Json::Null | Json::Object(_))) {
            return Err(format!("`{key}` must be an object or null"));
        }
    }
    let mut request = serde_json::Map::new();
    for key in ["query", "operationName", "variables", "extensions"] {
        if let Some(value) = object.remove(key).filter(|v| !v.is_null()) {
            request.insert(key.to_owned(), value);
        }
    }
    let request =
        serde_json::from_value(Json::Object(request)).map_err(|e| format!("invalid GraphQL request: {e}"))?;
    Ok((request, trusted))
}

/// A GraphQL response as sent: without `data` when the request failed before execution
/// (parsing, validation, variables), as the specification asks. `data` comes first, so
/// [`has_data`] needs to look at the start of a body only.
#[derive(Serialize)]
struct Wire<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a async_graphql::Value>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [async_graphql::ServerError],
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    extensions: &'a BTreeMap<String, async_graphql::Value>,
}

/// A request error: no data and only errors outside any field (async-graphql gives every
/// error of execution the path of its field).
fn is_request_error(response: &async_graphql::Response) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty())
}

fn serialise(response: &async_graphql::Response) -> Vec<u8> {
    let wire = Wire {
        data: (!is_request_error(response)).then_some(&response.data),
        errors: &response.errors,
        extensions: &response.extensions,
    };
    serde_json::to_vec(&wire).unwrap_or_else(|e| {
        tracing::error!(error = %e, "cannot serialise a response");
        br#"{"errors":[{"message":"internal error","extensions":{"code":"INTERNAL"}}]}"#.to_vec()
    })
}

/// Whether a body [`serialise`] wrote has `data` (it comes first when present).
fn has_data(body: &[u8]) -> bool {
    body.starts_with(br#"{"data":"#)
}

/// A serialised GraphQL response: 400 for a request error in
/// `application/graphql-response+json`, else 200.
fn graphql_body(media: MediaType, body: Vec<u8>) -> Response {
    let status = if media == MediaType::GraphqlResponse && !has_data(&body) {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    (status, [(header::CONTENT_TYPE, media.as_str())], body).into_response()
}

async fn execute(
    state: &AppState,
    headers: &HeaderMap,
    peer: &Peer,
    media: MediaType,
    mut request: async_graphql::Request,
    trusted: bool,
) -> Response {
    state.requests.fetch_add(1, Ordering::Relaxed);
    let viewer = match authenticate(&state.db, &state.tokens, headers).await {
        Ok(viewer) => viewer,
        Err(e) => return refused(e),
    };
    // Signing in (the only mutations open to anonymous callers) stays possible.
    if state.documents.only_for_anonymous
        && viewer.is_anonymous()
        && !trusted
        && crate::cache::is_query_request(&request)
    {
        return request_error(
            StatusCode::BAD_REQUEST,
            media,
            "anonymous callers may only run trusted documents (queries): send the `documentId` of one",
        );
    }
    let client = crate::limit::Client::of(&viewer, client_ip(state, headers, peer));
    match state.limits.check(client.as_ref(), points(&request)) {
        crate::limit::Verdict::Limited { retry_after, limit } => {
            // The refusal itself waits: a client flooding on many connections slows itself
            // down instead of taking the CPU that well-behaved clients need.
            tokio::time::sleep(state.rate_limit_delay).await;
            let retry_after = retry_after.max(state.rate_limit_delay);
            return rate_limited(media, retry_after, limit);
        }
        crate::limit::Verdict::Allowed(budget) => request = request.data(budget),
        crate::limit::Verdict::Unlimited => {}
    }
    // Held until the answer is ready.
    let _turn = state.limits.turn(client.as_ref()).await;
    let introspection = match state.introspection {
        crate::config::Introspection::Everyone => true,
        crate::config::Introspection::SignedIn => !viewer.is_anonymous(),
        crate::config::Introspection::Nobody => false,
    };
    if !introspection {
        request = request.disable_introspection();
    }
    let access = viewer.access();
    let anonymous = viewer.is_anonymous();
    // Only anonymous answers are cached; everyone else may see more, and sees it fresh.
    let key = if anonymous {
        state.cache.key(&format!("{access:?}"), &request)
    } else {
        None
    };
    let (answer, extra_headers) = match key {
        // Mutations empty the cache themselves when their write commits.
        None => {
            let response = run(state, viewer, access, request).await;
            let answer = Answer {
                body: serialise(&response).into(),
                hint: response.cache_control,
            };
            (answer, response.http_headers)
        }
        Some(key) => {
            let answer = state
                .cache
                .get_or_run(key, async {
                    let generation = state.cache.generation();
                    let response = run(state, viewer, access, request).await;
                    // Not kept when a write committed meanwhile: it may predate that write.
                    let ok = response.is_ok() && state.cache.generation() == generation;
                    let answer = Answer {
                        body: serialise(&response).into(),
                        hint: response.cache_control,
                    };
                    if ok { Ok(answer) } else { Err(NotCached(answer)) }
                })
                .await;
            (answer, HeaderMap::new())
        }
    };
    let mut http = graphql_body(media, answer.body.to_vec());
    http.headers_mut().extend(extra_headers);
    if anonymous {
        // For `cacheable`, which turns it into `Cache-Control` on GET answers.
        http.extensions_mut().insert(answer.hint);
    } else {
        http.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        );
    }
    http
}

async fn run(
    state: &AppState,
    viewer: Viewer,
    access: Access,
    request: async_graphql::Request,
) -> async_graphql::Response {
    let loader = Loaders::for_request(state.db.clone(), access.clone(), &state.reads);
    let run = state
        .schema
        .execute(request.data(loader).data(access).data(viewer));
    // A query still running at the deadline is dropped, its SQL with it.
    let Ok(mut response) = tokio::time::timeout(state.timeout, run).await else {
        tracing::warn!(
            timeout_ms = state.timeout.as_millis() as u64,
            "a request ran out of time"
        );
        let mut e = async_graphql::ServerError::new(
            format!(
                "the request took longer than {} ms and was stopped; ask for less at a time",
                state.timeout.as_millis()
            ),
            None,
        );
        e.extensions
            .get_or_insert_with(Default::default)
            .set("code", "TIMEOUT");
        return async_graphql::Response::from_errors(vec![e]);
    };
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
pub(crate) fn refused(e: AuthError) -> Response {
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

async fn graphql_post(
    State(state): State<AppState>,
    peer: Peer,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Some(media) = negotiate(&headers) else {
        return not_acceptable();
    };
    if !is_json_body(&headers) {
        return request_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            media,
            "a POST to /graphql must have `Content-Type: application/json`",
        );
    }
    let body = match body {
        Ok(body) => body,
        Err(e) => return request_error(e.status(), media, e.body_text()),
    };
    let value = match serde_json::from_slice::<Json>(&body) {
        Ok(value) => value,
        Err(e) => {
            return request_error(
                StatusCode::BAD_REQUEST,
                media,
                format!("the body is not valid JSON: {e}"),
            );
        }
    };
    match graphql_request(value, &state.documents) {
        Ok((request, trusted)) => execute(&state, &headers, &peer, media, request, trusted).await,
        Err(message) => request_error(StatusCode::BAD_REQUEST, media, message),
    }
}

/// The parameters of a GraphQL GET; `variables` and `extensions` are JSON text.
#[derive(Deserialize)]
struct GetParams {
    query: Option<String>,
    #[serde(rename = "operationName")]
    operation_name: Option<String>,
    variables: Option<String>,
    extensions: Option<String>,
    #[serde(rename = "documentId")]
    document_id: Option<String>,
}

/// A GET with a `query` parameter is a GraphQL request; a browser asking for HTML without
/// one gets GraphiQL.
async fn graphql_get(
    State(state): State<AppState>,
    peer: Peer,
    headers: HeaderMap,
    params: Result<Query<GetParams>, QueryRejection>,
) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if wants_html && params.as_ref().is_ok_and(|p| p.query.is_none()) {
        return Html(GraphiQLSource::build().endpoint("/graphql").finish()).into_response();
    }
    let Some(media) = negotiate(&headers) else {
        return not_acceptable();
    };
    let bad = |message: String| request_error(StatusCode::BAD_REQUEST, media, message);
    let params = match params {
        Ok(Query(params)) => params,
        Err(e) => return bad(format!("invalid GraphQL GET request: {}", e.body_text())),
    };
    let mut object = serde_json::Map::new();
    if let Some(query) = params.query {
        object.insert("query".into(), Json::String(query));
    }
    if let Some(id) = params.document_id {
        object.insert("documentId".into(), Json::String(id));
    }
    if let Some(name) = params.operation_name.filter(|n| !n.is_empty()) {
        object.insert("operationName".into(), Json::String(name));
    }
    for (key, text) in [("variables", params.variables), ("extensions", params.extensions)] {
        let Some(text) = text.filter(|t| !t.is_empty()) else {
            continue;
        };
        match serde_json::from_str::<Json>(&text) {
            Ok(value) => {
                object.insert(key.into(), value);
            }
            Err(e) => return bad(format!("`{key}` is not valid JSON: {e}")),
        }
    }
    let (request, trusted) = match graphql_request(Json::Object(object), &state.documents) {
        Ok(parsed) => parsed,
        Err(message) => return bad(message),
    };
    if !crate::cache::is_query_request(&request) {
        let mut response = request_error(
            StatusCode::METHOD_NOT_ALLOWED,
            media,
            "mutations are only accepted over POST",
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    let anonymous = !headers.contains_key(header::AUTHORIZATION) && !headers.contains_key("x-api-key");
    let response = execute(&state, &headers, &peer, media, request, trusted).await;
    if anonymous && response.status() == StatusCode::OK {
        cacheable(&state, &headers, response).await
    } else {
        response
    }
}

/// An anonymous GET answer: `Cache-Control: public` for CDNs and browsers, and an `ETag` so a
/// client holding the same answer gets `304 Not Modified` without the body.
async fn cacheable(state: &AppState, request_headers: &HeaderMap, response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let etag = format!("\"{}\"", &crate::auth::secret::sha256_hex_bytes(&bytes)[..32]);
    let hint = parts
        .extensions
        .get::<async_graphql::CacheControl>()
        .copied()
        .unwrap_or_default();
    let cache_control = public_cache_control(hint, state.public_max_age);
    let mut headers = vec![
        (header::ETAG, etag.clone()),
        (header::CACHE_CONTROL, cache_control),
    ];
    headers.push((header::VARY, "Accept, Authorization, X-Api-Key".to_owned()));
    let matches = request_headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            parts.headers.insert(name, value);
        }
    }
    if matches {
        parts.status = StatusCode::NOT_MODIFIED;
        parts.headers.remove(header::CONTENT_TYPE);
        return Response::from_parts(parts, axum::body::Body::empty());
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// `Cache-Control` of an anonymous GET answer from the schema's cache hints for what the query
/// touched (the strictest wins), capped at `PUBLIC_MAX_AGE_SECS`. No hint, a `no_cache` hint
/// or a cap of 0 give `no-cache`: caches keep the answer but revalidate it (the ETag makes
/// that cheap).
fn public_cache_control(hint: async_graphql::CacheControl, cap: Duration) -> String {
    let scope = if hint.public { "public" } else { "private" };
    let cap = i64::try_from(cap.as_secs()).unwrap_or(i64::MAX);
    match i64::from(hint.max_age).min(cap) {
        max_age if max_age > 0 => format!("{scope}, max-age={max_age}"),
        _ => format!("{scope}, no-cache"),
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
