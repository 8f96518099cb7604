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
    /// The database cannot be reached or its connection broke: try again shortly.
    Unavailable(sea_orm::DbErr),
    Internal(sea_orm::DbErr),
}

/// What a client is told when the database is out of reach; the cause goes to the log.
pub const UNAVAILABLE_MESSAGE: &str = "the database is unavailable; try again shortly";

impl From<sea_orm::DbErr> for ApiError {
    fn from(e: sea_orm::DbErr) -> Self {
        if crate::db::is_unavailable(&e) {
            ApiError::Unavailable(e)
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
            | ApiError::Conflict(m) => m,
            ApiError::Unavailable(_) => UNAVAILABLE_MESSAGE,
            ApiError::Internal(_) => "internal error",
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadUserInput(_) => "BAD_USER_INPUT",
            ApiError::NotFound(_) => "NOT_FOUND",
            ApiError::Unauthenticated(_) => "UNAUTHENTICATED",
            ApiError::Forbidden(_) => "FORBIDDEN",
            ApiError::Conflict(_) => "CONFLICT",
            ApiError::Unavailable(_) => "UNAVAILABLE",
            ApiError::Internal(_) => "INTERNAL",
        }
    }
}

impl ErrorExtensions for ApiError {
    fn extend(&self) -> async_graphql::Error {
        let source = match self {
            ApiError::Internal(e) => {
                tracing::error!(error = %e, "database error");
                Some(e)
            }
            ApiError::Unavailable(e) => {
                tracing::warn!(error = %e, "database unavailable");
                Some(e)
            }
            _ => None,
        };
        let mut error =
            async_graphql::Error::new(self.message()).extend_with(|_, ext| ext.set("code", self.code()));
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
            tracing::warn!(error = %e.0, "database unavailable in a loader");
            (UNAVAILABLE_MESSAGE, "UNAVAILABLE")
        } else {
            tracing::error!(error = %e.0, "database error in a loader");
            ("internal error", "INTERNAL")
        };
        let mut error = async_graphql::Error::new(message).extend_with(|_, ext| ext.set("code", code));
        error.source = Some(e.0);
        error
    }
}

/// Some error of a response says the database is out of reach (`UNAVAILABLE`): the request
/// is answered HTTP 503 with `Retry-After`, whoever sent it.
pub fn is_outage(errors: &[ServerError]) -> bool {
    errors.iter().any(|e| {
        e.extensions
            .as_ref()
            .and_then(|x| x.get("code"))
            .is_some_and(|c| *c == async_graphql::Value::from("UNAVAILABLE"))
    })
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
