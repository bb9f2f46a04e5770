//! The crate's error type, mirroring the official Server SDK's error types.

use std::time::Duration;

/// What kind of error the service reported, from the response's `StatusCode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceErrorKind {
    /// 400 and any 4xx without its own kind.
    BadRequest,
    /// 401.
    Unauthorized,
    /// 403.
    Forbidden,
    /// 404.
    NotFound,
    /// 409.
    Conflict,
    /// 429: slow down.
    TooManyRequests,
    /// 5xx, or a response without a status code.
    InternalService,
}

impl ServiceErrorKind {
    /// The kind for an HTTP-style status code, as every official SDK maps it.
    pub fn from_status(status: i64) -> Self {
        match status {
            400 => Self::BadRequest,
            401 => Self::Unauthorized,
            403 => Self::Forbidden,
            404 => Self::NotFound,
            409 => Self::Conflict,
            429 => Self::TooManyRequests,
            402..=499 => Self::BadRequest,
            _ => Self::InternalService,
        }
    }

    /// The official SDKs' name for this kind.
    pub fn name(self) -> &'static str {
        match self {
            Self::BadRequest => "BadRequestException",
            Self::Unauthorized => "UnauthorizedException",
            Self::Forbidden => "ForbiddenException",
            Self::NotFound => "NotFoundException",
            Self::Conflict => "ConflictException",
            Self::TooManyRequests => "TooManyRequestsException",
            Self::InternalService => "InternalServiceException",
        }
    }
}

impl std::fmt::Display for ServiceErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a Server SDK call or a server manager request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GameLiftError {
    /// `init` was called on an SDK or manager that is already initialised.
    #[error("the GameLift server SDK is already initialised")]
    AlreadyInitialized,
    /// The SDK is not initialised, or was destroyed.
    #[error("the GameLift server SDK is not initialised (call init first; destroy ends it)")]
    NotInitialized,
    /// The call needs a successful `process_ready` first.
    #[error("the process is not ready: call process_ready first")]
    ProcessNotReady,
    /// The call needs a game session on this process.
    #[error("no game session is running on this process")]
    GameSessionIdNotSet,
    /// The service has not asked this process to terminate.
    #[error("no termination time is set: the service has not asked this process to terminate")]
    TerminationTimeNotSet,
    /// A parameter is invalid; nothing was sent.
    #[error("invalid {field}: {reason}")]
    Validation {
        /// The parameter.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The WebSocket connection could not be opened.
    #[error("could not connect to the GameLift service at {url}: {reason}")]
    ConnectFailed {
        /// The endpoint (without the query string, which carries credentials).
        url: String,
        /// What failed.
        reason: String,
    },
    /// The service refused the connection: a bad or expired auth token, an unknown fleet, or a
    /// process id already in use.
    #[error("the GameLift service refused the connection (HTTP {status}): {reason}")]
    ConnectForbidden {
        /// The HTTP status of the refused upgrade.
        status: u16,
        /// The response body, if any.
        reason: String,
    },
    /// No live connection to send on (the SDK is reconnecting or was closed by the service).
    #[error("not connected to the GameLift service: {0}")]
    NotConnected(String),
    /// The service did not answer in time.
    #[error("{action} got no answer within {timeout:?}")]
    Timeout {
        /// The request's action.
        action: String,
        /// How long the SDK waited.
        timeout: Duration,
    },
    /// The service answered with an error.
    #[error("{action} failed with {kind} ({status}): {message}")]
    Service {
        /// The request's action.
        action: String,
        /// The error kind, from the status code.
        kind: ServiceErrorKind,
        /// The status code.
        status: i64,
        /// The service's message.
        message: String,
    },
    /// The service's answer could not be read.
    #[error("unreadable answer to {action}: {reason}")]
    MalformedResponse {
        /// The request's action.
        action: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Fleet role credentials exist only on managed fleets, not on Anywhere or local fleets.
    #[error("fleet role credentials are only available for servers hosted on a managed fleet")]
    FleetRoleCredentialsUnavailable,
    /// The game session's matchmaker data is missing or not what the matchmaker writes.
    #[error("invalid matchmaker data: {0}")]
    MatchmakerData(String),
    /// A player's matchmaking data cannot be sent.
    #[error("invalid player {player_id}: {reason}")]
    InvalidPlayer {
        /// The player.
        player_id: String,
        /// What is wrong.
        reason: String,
    },
    /// A notification handler vetoed the operation.
    #[error("a session notification handler refused {0}")]
    Vetoed(&'static str),
}

impl GameLiftError {
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Validation {
            field,
            reason: reason.into(),
        }
    }

    /// The error kind when the service answered with an error.
    pub fn service_kind(&self) -> Option<ServiceErrorKind> {
        match self {
            Self::Service { kind, .. } => Some(*kind),
            _ => None,
        }
    }
}
