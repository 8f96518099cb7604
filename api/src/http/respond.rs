//! From a GraphQL response (or a refusal) to HTTP: the body as sent, the status code, and
//! the caching headers. Every error body the HTTP layer writes itself comes from
//! [`error_body`].
use std::{collections::BTreeMap, time::Duration};

use axum::{
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;

use super::negotiate::MediaType;
use crate::auth::AuthError;

/// A GraphQL-style error body: one error with `message` and `extensions` (`code` first).
pub fn error_body(message: &str, code: &str, extra: &[(&str, serde_json::Value)]) -> String {
    let mut extensions = serde_json::Map::new();
    extensions.insert("code".into(), code.into());
    for (key, value) in extra {
        extensions.insert((*key).to_owned(), value.clone());
    }
    serde_json::json!({ "errors": [{ "message": message, "extensions": extensions }] }).to_string()
}

/// A request refused before it ran: `status` with a GraphQL-style error body.
pub fn request_error(status: StatusCode, media: MediaType, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, media.as_str())],
        error_body(message, "BAD_REQUEST", &[]),
    )
        .into_response()
}

/// The client accepts no type we answer in.
pub fn not_acceptable() -> Response {
    request_error(
        StatusCode::NOT_ACCEPTABLE,
        MediaType::Json,
        "the response is application/graphql-response+json or application/json; the Accept header allows neither",
    )
}

/// A mutation sent by GET: 405, `Allow: POST`.
pub fn mutation_over_get(media: MediaType) -> Response {
    let mut response = request_error(
        StatusCode::METHOD_NOT_ALLOWED,
        media,
        "mutations are only accepted over POST",
    );
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("POST"));
    response
}

/// Over budget: 429 with `Retry-After` and `RATE_LIMITED`.
pub fn rate_limited(media: MediaType, retry_after: Duration, limit: u32) -> Response {
    let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
    let body = error_body(
        &format!(
            "rate limit exceeded: this client may spend {limit} cost points a minute; try again in {secs} s"
        ),
        "RATE_LIMITED",
        &[
            ("retryAfterSeconds", secs.into()),
            ("limitPerMinute", limit.into()),
        ],
    );
    (
        StatusCode::TOO_MANY_REQUESTS,
        [
            (header::CONTENT_TYPE, media.as_str().to_owned()),
            (header::RETRY_AFTER, secs.to_string()),
        ],
        body,
    )
        .into_response()
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
                error_body("internal error", "INTERNAL", &[]),
            )
                .into_response();
        }
    };
    (
        StatusCode::UNAUTHORIZED,
        [
            (header::WWW_AUTHENTICATE, r#"Bearer error="invalid_token""#),
            (header::CONTENT_TYPE, "application/json"),
        ],
        error_body(message, "UNAUTHENTICATED", &[]),
    )
        .into_response()
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
pub fn is_request_error(response: &async_graphql::Response) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty())
}

pub fn serialise(response: &async_graphql::Response) -> Vec<u8> {
    let wire = Wire {
        data: (!is_request_error(response)).then_some(&response.data),
        errors: &response.errors,
        extensions: &response.extensions,
    };
    serde_json::to_vec(&wire).unwrap_or_else(|e| {
        tracing::error!(error = %e, "cannot serialise a response");
        error_body("internal error", "INTERNAL", &[]).into_bytes()
    })
}

/// Whether a body [`serialise`] wrote has `data` (it comes first when present).
fn has_data(body: &[u8]) -> bool {
    body.starts_with(br#"{"data":"#)
}

/// A serialised GraphQL response: 400 for a request error in
/// `application/graphql-response+json`, else 200.
pub fn graphql_body(media: MediaType, body: Vec<u8>) -> Response {
    let status = if media == MediaType::GraphqlResponse && !has_data(&body) {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    (status, [(header::CONTENT_TYPE, media.as_str())], body).into_response()
}

/// An anonymous GET answer: `Cache-Control: public` for CDNs and browsers, and an `ETag` so a
/// client holding the same answer gets `304 Not Modified` without the body.
pub async fn cacheable(
    public_max_age: Duration,
    request_headers: &HeaderMap,
    response: Response,
) -> Response {
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
    let cache_control = public_cache_control(hint, public_max_age);
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

/// A request admission turned away.
pub fn refusal(media: MediaType, refusal: super::admission::Refusal) -> Response {
    use super::admission::Refusal;
    match refusal {
        Refusal::Credentials(e) => refused(e),
        Refusal::TrustedOnly => request_error(
            StatusCode::BAD_REQUEST,
            media,
            "anonymous callers may only run trusted documents (queries): send the `documentId` of one",
        ),
        Refusal::RateLimited { retry_after, limit } => rate_limited(media, retry_after, limit),
    }
}
