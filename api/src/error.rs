//! The one error type at the edge: each variant maps onto `extensions.code`. Internal details
//! go to the log, never to the client.
use std::sync::Arc;

use async_graphql::{ErrorExtensions, ServerError};

///
/// It deliberately does not implement `Display`: async-graphql turns any `Display` type into
/// an error without extensions, so `?` must go through our `From` to keep the code.
#[derive(Debug)]
pub enum ApiError {
    BadUserInput(String),
    NotFound(String),
    /// No or invalid credentials for something that needs them.
    Unauthenticated(String),
    /// Credentials that do not carry the right.
    Forbidden(String),
    /// The row changed since the client read it (a stale `version`).
    Conflict(String),
    /// Over a limit: try again after so many seconds (`retryAfterSeconds`, and HTTP 429 with
    /// `Retry-After` when nothing else in the request wrote).
    RateLimited(String, u64),
    /// The database stopped a statement that ran past the request's deadline.
    TimedOut(sea_orm::DbErr),
    /// The database cannot be reached or its connection broke: try again shortly.
    Unavailable(sea_orm::DbErr),
    Internal(sea_orm::DbErr),
}

/// Every `extensions.code` the API answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// Not a GraphQL request: the HTTP method, media types, body or JSON envelope is wrong.
    BadRequest,
    /// A persisted query's hash that names no document (Apollo's automatic persisted
    /// queries): send the query's text with it.
    PersistedQueryNotFound,
    /// A document that does not parse, or an argument, a variable or a document the schema
    /// refuses.
    BadUserInput,
    /// The operation is over a bound (depth, fields, nodes, page size, cost, nesting).
    QueryTooLarge,
    Unauthenticated,
    Forbidden,
    NotFound,
    /// The row changed since the client read it (a stale `version`).
    Conflict,
    /// Over a rate limit: try again after `retryAfterSeconds`.
    RateLimited,
    /// A WebSocket connection holds the most subscriptions it may.
    TooManySubscriptions,
    /// A subscriber that did not read its events in time.
    SlowConsumer,
    /// The request ran out of time.
    Timeout,
    /// The database cannot be reached: try again shortly.
    Unavailable,
    /// A failure of ours, logged and not described.
    Internal,
}

impl Code {
    pub const fn as_str(self) -> &'static str {
        match self {
            Code::BadRequest => "BAD_REQUEST",
            Code::PersistedQueryNotFound => "PERSISTED_QUERY_NOT_FOUND",
            Code::BadUserInput => "BAD_USER_INPUT",
            Code::QueryTooLarge => "QUERY_TOO_LARGE",
            Code::Unauthenticated => "UNAUTHENTICATED",
            Code::Forbidden => "FORBIDDEN",
            Code::NotFound => "NOT_FOUND",
            Code::Conflict => "CONFLICT",
            Code::RateLimited => "RATE_LIMITED",
            Code::TooManySubscriptions => "TOO_MANY_SUBSCRIPTIONS",
            Code::SlowConsumer => "SLOW_CONSUMER",
            Code::Timeout => "TIMEOUT",
            Code::Unavailable => "UNAVAILABLE",
            Code::Internal => "INTERNAL",
        }
    }

    /// Whether `error` carries this code.
    pub fn of(self, error: &ServerError) -> bool {
        error
            .extensions
            .as_ref()
            .and_then(|x| x.get("code"))
            .is_some_and(|c| *c == async_graphql::Value::from(self))
    }
}

/// A request-level error (outside any field) with `code`.
pub fn request_error(message: impl Into<String>, code: Code) -> ServerError {
    with_code(ServerError::new(message, None), code)
}

/// `error` with `code` unless it carries one already.
pub fn with_code(mut error: ServerError, code: Code) -> ServerError {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", code);
    }
    error
}

impl From<Code> for async_graphql::Value {
    fn from(code: Code) -> Self {
        async_graphql::Value::from(code.as_str())
    }
}

impl From<Code> for serde_json::Value {
    fn from(code: Code) -> Self {
        serde_json::Value::from(code.as_str())
    }
}

/// What a client is told when the database is out of reach; the cause goes to the log.
pub const UNAVAILABLE_MESSAGE: &str = "the database is unavailable; try again shortly";

/// What a client is told when the database stopped a statement past the request's deadline.
pub const TIMED_OUT_MESSAGE: &str = "the request took too long and was stopped; ask for less at a time";

impl From<sea_orm::DbErr> for ApiError {
    fn from(e: sea_orm::DbErr) -> Self {
        if crate::db::is_unavailable(&e) {
            ApiError::Unavailable(e)
        } else if crate::db::timed_out(&e) {
            ApiError::TimedOut(e)
        } else {
            ApiError::Internal(e)
        }
    }
}

impl ApiError {
    pub fn bad_input(message: impl Into<String>) -> Self {
        ApiError::BadUserInput(message.into())
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError::Forbidden(message.into())
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::NotFound(message.into())
    }

    /// An internal failure outside the database (hashing, signing), logged and hidden.
    pub fn internal(what: impl std::fmt::Display) -> Self {
        ApiError::Internal(sea_orm::DbErr::Custom(what.to_string()))
    }

    /// The message a client sees: never internal details.
    pub fn message(&self) -> &str {
        match self {
            ApiError::BadUserInput(m)
            | ApiError::NotFound(m)
            | ApiError::Unauthenticated(m)
            | ApiError::Forbidden(m)
            | ApiError::Conflict(m)
            | ApiError::RateLimited(m, _) => m,
            ApiError::Unavailable(_) => UNAVAILABLE_MESSAGE,
            ApiError::TimedOut(_) => TIMED_OUT_MESSAGE,
            ApiError::Internal(_) => "internal error",
        }
    }

    pub fn code(&self) -> Code {
        match self {
            ApiError::BadUserInput(_) => Code::BadUserInput,
            ApiError::NotFound(_) => Code::NotFound,
            ApiError::Unauthenticated(_) => Code::Unauthenticated,
            ApiError::Forbidden(_) => Code::Forbidden,
            ApiError::Conflict(_) => Code::Conflict,
            ApiError::RateLimited(..) => Code::RateLimited,
            ApiError::Unavailable(_) => Code::Unavailable,
            ApiError::TimedOut(_) => Code::Timeout,
            ApiError::Internal(_) => Code::Internal,
        }
    }
}

impl ErrorExtensions for ApiError {
    fn extend(&self) -> async_graphql::Error {
        let source = match self {
            ApiError::Internal(e) => {
                tracing::error!(request = %crate::http::request_id(), error = %e, "database error");
                Some(e)
            }
            ApiError::Unavailable(e) => {
                tracing::warn!(request = %crate::http::request_id(), error = %e, "database unavailable");
                Some(e)
            }
            ApiError::TimedOut(e) => {
                tracing::warn!(request = %crate::http::request_id(), error = %e, "a statement ran out of time");
                Some(e)
            }
            _ => None,
        };
        let mut error = async_graphql::Error::new(self.message()).extend_with(|_, ext| {
            ext.set("code", self.code());
            if let ApiError::RateLimited(_, secs) = self {
                ext.set("retryAfterSeconds", *secs);
            }
        });
        // For the server's eyes only (never serialised): see `broke_connection`.
        error.source = source.map(|e| Arc::new(e.clone()) as Arc<dyn std::any::Any + Send + Sync>);
        error
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(e: ApiError) -> Self {
        e.extend()
    }
}

/// Loader errors are shared between the fields that waited on the same batch.
#[derive(Debug, Clone)]
pub struct LoadError(pub Arc<sea_orm::DbErr>);

impl From<sea_orm::DbErr> for LoadError {
    fn from(e: sea_orm::DbErr) -> Self {
        LoadError(Arc::new(e))
    }
}

impl From<LoadError> for async_graphql::Error {
    fn from(e: LoadError) -> Self {
        let (message, code) = if crate::db::is_unavailable(&e.0) {
            tracing::warn!(request = %crate::http::request_id(), error = %e.0, "database unavailable in a loader");
            (UNAVAILABLE_MESSAGE, Code::Unavailable)
        } else if crate::db::timed_out(&e.0) {
            tracing::warn!(request = %crate::http::request_id(), error = %e.0, "a statement ran out of time in a loader");
            (TIMED_OUT_MESSAGE, Code::Timeout)
        } else {
            tracing::error!(request = %crate::http::request_id(), error = %e.0, "database error in a loader");
            ("internal error", Code::Internal)
        };
        let mut error = async_graphql::Error::new(message).extend_with(|_, ext| ext.set("code", code));
        error.source = Some(e.0);
        error
    }
}

/// Some error of a response says the database is out of reach (`UNAVAILABLE`): the request
/// is answered HTTP 503 with `Retry-After`, whoever sent it.
pub fn is_outage(errors: &[ServerError]) -> bool {
    errors.iter().any(|e| Code::Unavailable.of(e))
}

/// Some error of a response came from a connection that broke under its statement (the
/// database restarted, a backend was killed), not from a database out of reach. Only then is
/// a read-only request worth running once more, after [`crate::db::recover`]: a fresh
/// connection will likely answer, where a database that is down would only make the client
/// wait twice. The database error travels as the error's `source`, which is never serialised.
pub fn broke_connection(errors: &[ServerError]) -> bool {
    errors.iter().any(|e| {
        e.source::<sea_orm::DbErr>()
            .is_some_and(crate::db::is_broken_connection)
    })
}
