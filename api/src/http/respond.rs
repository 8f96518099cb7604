//! From a GraphQL response (or a refusal) to HTTP: the body as sent, the status code, and
//! the caching headers. Every error body the HTTP layer writes itself comes from
//! [`error_body`]; an outage of the database is answered alike everywhere by
//! [`unavailable`].
use std::{collections::BTreeMap, time::Duration};

use axum::{
    body::{Body, Bytes},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;

use super::negotiate::MediaType;
use crate::{
    auth::AuthError,
    cache::{Answer, PublicHeaders},
    error::Code,
};

/// A GraphQL error object: `message` and `extensions` (`code` first, then `extra`).
pub fn error_object(message: &str, code: Code, extra: &[(&str, serde_json::Value)]) -> serde_json::Value {
    let mut extensions = serde_json::Map::new();
    extensions.insert("code".into(), code.into());
    for (key, value) in extra {
        extensions.insert((*key).to_owned(), value.clone());
    }
    serde_json::json!({ "message": message, "extensions": extensions })
}

/// A GraphQL-style error body: one error, [`error_object`].
pub fn error_body(message: &str, code: Code, extra: &[(&str, serde_json::Value)]) -> String {
    serde_json::json!({ "errors": [error_object(message, code, extra)] }).to_string()
}

/// A request refused before it ran: `status` with a GraphQL-style error body.
pub fn request_error(status: StatusCode, media: MediaType, message: &str) -> Response {
    malformed(
        media,
        &super::request::Malformed {
            status,
            message: message.to_owned(),
            code: Code::BadRequest,
        },
    )
}

/// A request that is not one: its status, with a GraphQL-style error body of its code (kept
/// by no cache).
pub fn malformed(media: MediaType, bad: &super::request::Malformed) -> Response {
    (
        bad.status,
        [
            (header::CONTENT_TYPE, media.as_str()),
            (header::CACHE_CONTROL, "no-store"),
        ],
        error_body(&bad.message, bad.code, &[]),
    )
        .into_response()
}

/// What a client is told of a request body over [`super::MAX_BODY_BYTES`]: its length when
/// it was given (`Content-Length`).
pub fn body_too_large_message(length: Option<u64>) -> String {
    let limit = super::MAX_BODY_BYTES;
    match length {
        Some(length) => format!("the request body is {length} bytes long; the limit is {limit} bytes"),
        None => format!("the request body is longer than the limit of {limit} bytes"),
    }
}

/// A request body over [`super::MAX_BODY_BYTES`]: 413 with a GraphQL-style error body.
pub fn body_too_large(media: MediaType, length: Option<u64>) -> Response {
    request_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        media,
        &body_too_large_message(length),
    )
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

/// `/graphql` by a method it does not take (PUT, DELETE, …): 405 with the ones it does and
/// an error body like every other (OPTIONS is the CORS layer's).
pub async fn other_method(method: axum::http::Method, headers: axum::http::HeaderMap) -> Response {
    const ALLOW: HeaderValue = HeaderValue::from_static("GET, HEAD, POST, OPTIONS");
    let media = super::negotiate::negotiate(&headers).unwrap_or(MediaType::Json);
    let mut response = request_error(
        StatusCode::METHOD_NOT_ALLOWED,
        media,
        &format!("/graphql takes GET (queries) and POST, not {method}"),
    );
    response.headers_mut().insert(header::ALLOW, ALLOW);
    response
}

/// A subscription sent over HTTP: 400, with where subscriptions are served.
pub fn subscription_over_http(media: MediaType) -> Response {
    request_error(
        StatusCode::BAD_REQUEST,
        media,
        "subscriptions are served over WebSocket, not HTTP: open a WebSocket to /graphql with the graphql-transport-ws subprotocol (graphql-ws, Apollo Client and urql speak it)",
    )
}

/// A wait in whole seconds, rounded up (as `Retry-After` and `retryAfterSeconds` give it).
pub fn whole_seconds(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

/// The error of a request over the rate limiter's budget (`RATE_LIMITED`, with when to try
/// again and the budget), over HTTP and WebSocket alike.
pub fn rate_limit_error(retry_after: Duration, limit: u32) -> serde_json::Value {
    let secs = whole_seconds(retry_after);
    error_object(
        &format!(
            "rate limit exceeded: this client may spend {limit} cost points a minute; try again in {secs} s"
        ),
        Code::RateLimited,
        &[
            ("retryAfterSeconds", secs.into()),
            ("limitPerMinute", limit.into()),
        ],
    )
}

/// What is left of the client's budget, in the headers GitHub's API has: `X-RateLimit-Limit`,
/// the most that may be spent at once (`RATE_LIMIT_BURST_SECS` seconds' worth of the minute's
/// budget), and `X-RateLimit-Remaining`, what may be spent now (it refills at the minute's rate).
pub fn budget_headers(budget: crate::limit::Budget) -> HeaderMap {
    let mut headers = HeaderMap::with_capacity(2);
    headers.insert(LIMIT, HeaderValue::from(budget.burst));
    headers.insert(REMAINING, HeaderValue::from(budget.remaining));
    headers
}

/// How long public data may be cached, in seconds: the schema's hint on public types
/// (`cache_control(max_age = 60)`), and the map data's `max-age`.
pub const PUBLIC_DATA_MAX_AGE_SECS: u64 = 60;

pub const LIMIT: header::HeaderName = header::HeaderName::from_static("x-ratelimit-limit");
pub const REMAINING: header::HeaderName = header::HeaderName::from_static("x-ratelimit-remaining");

/// Over budget: 429 with `Retry-After`, `RATE_LIMITED` and `X-RateLimit-Remaining: 0`.
pub fn rate_limited(media: MediaType, retry_after: Duration, limit: u32) -> Response {
    let secs = whole_seconds(retry_after);
    let body = serde_json::json!({ "errors": [rate_limit_error(retry_after, limit)] }).to_string();
    (
        StatusCode::TOO_MANY_REQUESTS,
        [
            (header::CONTENT_TYPE, media.as_str().to_owned()),
            (header::RETRY_AFTER, secs.to_string()),
        ],
        [(REMAINING, HeaderValue::from_static("0"))],
        body,
    )
        .into_response()
}

/// A mutation refused for going over a budget of its own (`RATE_LIMITED` from a field, such
/// as `submitConsultationResponse`), when no field of it wrote: 429 with `Retry-After` and
/// the error as the resolver gave it. The client's request budget is not what ran out: its
/// headers say what is left of it (`budget`, when the answer may carry them). A mutation some
/// field of which wrote is answered as it is, so the client knows what committed.
pub fn over_budget(
    media: MediaType,
    response: &async_graphql::Response,
    budget: Option<crate::limit::Budget>,
) -> Option<Response> {
    if wrote(response, true) {
        return None;
    }
    let error = response.errors.iter().find(|e| Code::RateLimited.of(e))?;
    let extensions = error.extensions.as_ref()?;
    let secs = match extensions.get("retryAfterSeconds") {
        Some(async_graphql::Value::Number(n)) => n.as_u64().unwrap_or(60),
        _ => 60,
    };
    let extra: Vec<(&str, serde_json::Value)> = ["retryAfterSeconds", "limitPerHour"]
        .into_iter()
        .filter_map(|k| Some((k, extensions.get(k)?.clone().into_json().ok()?)))
        .collect();
    let body = error_body(&error.message, Code::RateLimited, &extra);
    Some(
        (
            StatusCode::TOO_MANY_REQUESTS,
            [
                (header::CONTENT_TYPE, media.as_str().to_owned()),
                (header::RETRY_AFTER, secs.to_string()),
            ],
            budget.map(budget_headers).unwrap_or_default(),
            body,
        )
            .into_response(),
    )
}

/// Some field of a mutation answered: its write committed.
fn wrote(response: &async_graphql::Response, mutation: bool) -> bool {
    mutation
        && matches!(&response.data, async_graphql::Value::Object(fields)
            if fields.values().any(|v| *v != async_graphql::Value::Null))
}

/// How long a client is asked to wait after an outage (`Retry-After`), in seconds.
const RETRY_AFTER_SECS: u64 = 5;

/// The database is out of reach: 503 with `Retry-After` and `UNAVAILABLE`, for every caller
/// and every route (`/graphql` by GET and POST, `/reports/...`).
pub fn unavailable(media: MediaType) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(media.as_str())),
            (header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        unavailable_body(),
    )
        .into_response()
}

fn unavailable_body() -> String {
    error_body(crate::error::UNAVAILABLE_MESSAGE, Code::Unavailable, &[])
}

/// Credentials that do not hold: 401, with the reason in the log only, and the challenge of
/// the scheme that was refused (a partner's key is not asked for a bearer token).
fn refused(media: MediaType, e: AuthError) -> Response {
    let mut challenge = r#"Bearer error="invalid_token""#;
    let message = match e {
        AuthError::Refused(why) | AuthError::KeyRefused(why) => {
            tracing::info!(reason = why, "credentials refused");
            if matches!(e, AuthError::KeyRefused(_)) {
                challenge = r#"ApiKey realm="LUP", header="X-Api-Key""#;
            }
            "the credentials sent (Authorization or X-Api-Key) are invalid, expired or revoked"
        }
        AuthError::TwoCredentials { only_keys } => {
            if only_keys {
                challenge = r#"ApiKey realm="LUP", header="X-Api-Key""#;
            }
            "send one credential, a bearer token (Authorization) or an API key (X-Api-Key), once: not both, not two"
        }
        // An outage is admission's `Refusal::Unavailable`; this is any other failure.
        AuthError::Db(e) => {
            tracing::error!(error = %e, "database error while checking credentials");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONTENT_TYPE, media.as_str())],
                error_body("internal error", Code::Internal, &[]),
            )
                .into_response();
        }
    };
    (
        StatusCode::UNAUTHORIZED,
        [
            (header::WWW_AUTHENTICATE, challenge),
            (header::CONTENT_TYPE, media.as_str()),
        ],
        error_body(message, Code::Unauthenticated, &[]),
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

/// The most errors a refused document is answered with, as graphql-js's validation stops at:
/// a document of thousands of bad arguments is not answered with thousands of errors.
pub const MAX_REQUEST_ERRORS: usize = 100;

pub fn serialise(response: &async_graphql::Response) -> Vec<u8> {
    let request_error = is_request_error(response);
    let capped;
    let errors = if request_error && response.errors.len() > MAX_REQUEST_ERRORS {
        let mut first = response.errors[..MAX_REQUEST_ERRORS].to_vec();
        // Only validation finds so many, each a BAD_USER_INPUT.
        let more = response.errors.len() - MAX_REQUEST_ERRORS;
        let noun = if more == 1 { "error" } else { "errors" };
        first.push(crate::error::request_error(
            format!(
                "{more} more {noun} left out: the first {MAX_REQUEST_ERRORS} of {} are listed",
                response.errors.len()
            ),
            Code::BadUserInput,
        ));
        capped = first;
        &capped[..]
    } else {
        &response.errors[..]
    };
    let wire = Wire {
        data: (!request_error).then_some(&response.data),
        errors,
        extensions: &response.extensions,
    };
    serde_json::to_vec(&wire).unwrap_or_else(|e| {
        tracing::error!(error = %e, "cannot serialise a response");
        error_body("internal error", Code::Internal, &[]).into_bytes()
    })
}

/// A response serialised, with an anonymous GET answer's `ETag` and `Cache-Control` when
/// `public_max_age` is given (the answer may go to one). A response some error of which says
/// the database is out of reach is only that, [`unavailable`]'s body and no data, unless it
/// is a mutation's answer with data: a write that committed before the outage is reported
/// as it is (200, its data, and the `UNAVAILABLE` error on the fields that failed), so the
/// client does not send it again believing nothing happened.
pub fn answer_of(
    response: &async_graphql::Response,
    public_max_age: Option<Duration>,
    mutation: bool,
) -> Answer {
    if !wrote(response, mutation) && crate::error::is_outage(&response.errors) {
        return Answer {
            body: Bytes::from(unavailable_body()),
            has_data: false,
            unavailable: true,
            timed_out: false,
            public: None,
        };
    }
    let body = Bytes::from(serialise(response));
    let public = public_max_age.map(|cap| {
        let etag = format!("\"{}\"", &crate::auth::secret::sha256_hex_bytes(&body)[..32]);
        PublicHeaders {
            etag: HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"\"")),
            cache_control: HeaderValue::from_str(&public_cache_control(
                response.cache_control,
                cap,
                !response.errors.is_empty(),
            ))
            .unwrap_or(HeaderValue::from_static("no-cache")),
        }
    });
    let has_data = !is_request_error(response);
    Answer {
        body,
        has_data,
        unavailable: false,
        timed_out: !has_data && response.errors.iter().any(|e| Code::Timeout.of(e)),
        public,
    }
}

/// Who an answer goes to, as far as HTTP caching is concerned.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// An anonymous caller, by GET (`get`) or POST.
    Anonymous {
        get: bool,
    },
    SignedIn,
}

/// A GraphQL answer: 400 for a request error in `application/graphql-response+json` (503
/// for a request stopped at its time limit), else 200. Signed-in callers' answers are
/// `private, no-store`; an anonymous GET answer is `Cache-Control: public` for CDNs and
/// browsers, with an `ETag` so a client holding the same answer gets `304 Not Modified`
/// without the body.
pub fn graphql(
    media: MediaType,
    answer: &Answer,
    caller: Caller,
    extra_headers: HeaderMap,
    request_headers: &HeaderMap,
) -> Response {
    if answer.unavailable {
        return unavailable(media);
    }
    let status = match (media, answer.has_data) {
        // Stopped at its time limit: the request was well-formed, the server out of time.
        (MediaType::GraphqlResponse, false) if answer.timed_out => StatusCode::SERVICE_UNAVAILABLE,
        (MediaType::GraphqlResponse, false) => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    };
    let mut response = Response::new(Body::from(answer.body.clone()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(media.as_str()));
    headers.extend(extra_headers);
    match (caller, &answer.public) {
        (Caller::SignedIn, _) => {
            headers.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            );
        }
        (Caller::Anonymous { get: true }, Some(public)) if status == StatusCode::OK => {
            // One tag per representation: the same body under the other media type is
            // another one (a strong ETag names one representation).
            let etag = match media {
                MediaType::Json => public.etag.clone(),
                MediaType::GraphqlResponse => {
                    let tag = public.etag.to_str().unwrap_or("\"\"").trim_end_matches('"');
                    HeaderValue::from_str(&format!("{tag}-g\"")).unwrap_or_else(|_| public.etag.clone())
                }
            };
            headers.insert(header::ETAG, etag.clone());
            headers.insert(header::CACHE_CONTROL, public.cache_control.clone());
            headers.insert(
                header::VARY,
                HeaderValue::from_static("Accept, Authorization, X-Api-Key"),
            );
            if none_match(request_headers, etag.as_bytes()) {
                *response.status_mut() = StatusCode::NOT_MODIFIED;
                response.headers_mut().remove(header::CONTENT_TYPE);
                *response.body_mut() = Body::empty();
            }
        }
        _ => {}
    }
    response
}

/// Whether the request's `If-None-Match` names `etag` (or is `*`), compared weakly as RFC
/// 9110 §13.1.2 says: `W/"x"` matches `"x"` (a proxy that compresses an answer, as nginx
/// with `gzip on` does, makes its ETag weak).
pub fn none_match(request_headers: &HeaderMap, etag: &[u8]) -> bool {
    fn opaque(tag: &[u8]) -> &[u8] {
        tag.strip_prefix(b"W/").unwrap_or(tag)
    }
    let etag = opaque(etag);
    request_headers.get(header::IF_NONE_MATCH).is_some_and(|v| {
        v.as_bytes()
            .split(|b| *b == b',')
            .map(<[u8]>::trim_ascii)
            .any(|t| t == b"*" || opaque(t) == etag)
    })
}

/// `Cache-Control` of an anonymous GET answer from the schema's cache hints for what the query
/// touched (the strictest wins), capped at `PUBLIC_MAX_AGE_SECS`. No hint, a `no_cache` hint,
/// a cap of 0 or an answer with errors (a field refused, a failure) give `no-cache`: caches
/// keep the answer but revalidate it (the ETag makes that cheap), so a failure is never
/// served again from a cache as if it were the answer.
fn public_cache_control(hint: async_graphql::CacheControl, cap: Duration, errors: bool) -> String {
    let scope = if hint.public { "public" } else { "private" };
    let cap = i64::try_from(cap.as_secs()).unwrap_or(i64::MAX);
    match i64::from(hint.max_age).min(cap) {
        max_age if max_age > 0 && !errors => format!("{scope}, max-age={max_age}"),
        _ => format!("{scope}, no-cache"),
    }
}

/// A request admission turned away.
pub fn refusal(media: MediaType, refusal: super::admission::Refusal) -> Response {
    use super::admission::Refusal;
    match refusal {
        Refusal::Credentials(e) => refused(media, e),
        Refusal::TrustedOnly => request_error(
            StatusCode::BAD_REQUEST,
            media,
            "anonymous callers may only run trusted documents (and sign in): send the `documentId` of one",
        ),
        Refusal::RateLimited { retry_after, limit } => rate_limited(media, retry_after, limit),
        Refusal::Unavailable => unavailable(media),
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::{Name, ServerError, Value, indexmap::IndexMap};

    use super::*;

    fn outage() -> ServerError {
        crate::error::request_error(crate::error::UNAVAILABLE_MESSAGE, Code::Unavailable)
    }

    fn response(fields: &[(&str, Value)]) -> async_graphql::Response {
        let data: IndexMap<Name, Value> = fields.iter().map(|(k, v)| (Name::new(k), v.clone())).collect();
        let mut response = async_graphql::Response::new(Value::Object(data));
        response.errors.push(outage());
        response
    }

    #[test]
    fn an_outage_hides_a_query_but_not_a_mutation_that_wrote() {
        let wrote = response(&[("first", Value::from("done")), ("second", Value::Null)]);
        assert!(
            answer_of(&wrote, None, false).unavailable,
            "a query's partial answer is a 503"
        );
        let kept = answer_of(&wrote, None, true);
        assert!(
            !kept.unavailable && kept.has_data,
            "a committed write is reported"
        );
        assert!(
            std::str::from_utf8(&kept.body)
                .unwrap()
                .contains("\"first\":\"done\"")
        );
        let nothing = response(&[("first", Value::Null)]);
        assert!(answer_of(&nothing, None, true).unavailable, "no write: a 503");
    }
}
