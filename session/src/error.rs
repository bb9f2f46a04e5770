//! The crate's error type.

use serde::{Deserialize, Serialize};

/// Why a session or matchmaking request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[non_exhaustive]
pub enum SessionError {
    /// The provider is not configured yet.
    #[error("the session provider is not configured yet")]
    NotConfigured,
    /// The request was refused before any network call.
    #[error("invalid request: `{field}` {reason}")]
    InvalidRequest {
        /// The offending field.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The backend refused the request.
    #[error("{code}: {message}")]
    Service {
        /// The backend's error code (for GameLift, the AWS error code).
        code: String,
        /// The backend's message.
        message: String,
    },
    /// The backend could not be reached, or its answer could not be read.
    #[error("could not reach the session service: {0}")]
    Transport(String),
    /// Waiting for the backend took too long.
    #[error("timed out: {0}")]
    Timeout(String),
    /// No handler is connected for an interface the request needs.
    #[error("no handler is connected for {0}")]
    NoHandler(String),
    /// The request was cancelled, failed or was refused by the other side.
    #[error("{0}")]
    Failed(String),
}

impl SessionError {
    /// `InvalidRequest` for `field`.
    pub fn invalid(field: &str, reason: impl Into<String>) -> Self {
        SessionError::InvalidRequest {
            field: field.to_string(),
            reason: reason.into(),
        }
    }
}
