//! The one error type at the edge: each variant maps onto `extensions.code`. Internal details
//! go to the log, never to the client.
use async_graphql::ErrorExtensions;

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
    Internal(sea_orm::DbErr),
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(e: sea_orm::DbErr) -> Self {
        ApiError::Internal(e)
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
            ApiError::Internal(_) => "INTERNAL",
        }
    }
}

impl ErrorExtensions for ApiError {
    fn extend(&self) -> async_graphql::Error {
        if let ApiError::Internal(e) = self {
            tracing::error!(error = %e, "database error");
        }
        async_graphql::Error::new(self.message()).extend_with(|_, ext| ext.set("code", self.code()))
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(e: ApiError) -> Self {
        e.extend()
    }
}

/// Loader errors are shared between the fields that waited on the same batch.
#[derive(Debug, Clone)]
pub struct LoadError(pub std::sync::Arc<sea_orm::DbErr>);

impl From<sea_orm::DbErr> for LoadError {
    fn from(e: sea_orm::DbErr) -> Self {
        LoadError(std::sync::Arc::new(e))
    }
}

impl From<LoadError> for async_graphql::Error {
    fn from(e: LoadError) -> Self {
        tracing::error!(error = %e.0, "database error in a loader");
        async_graphql::Error::new("internal error").extend_with(|_, ext| ext.set("code", "INTERNAL"))
    }
}
