//! Service errors, as the wire protocols carry them.

use std::fmt;

macro_rules! error_codes {
    ($($(#[$meta:meta])* $variant:ident = $wire:literal,)+) => {
        /// Every error code the control plane answers with (sent as `__type`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $($(#[$meta])* $variant,)+
        }

        impl ErrorCode {
            /// The wire name (`InvalidRequestException`, ...).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $wire,)+
                }
            }
        }
    };
}

error_codes! {
    /// A parameter is missing, malformed or not allowed.
    InvalidRequest = "InvalidRequestException",
    /// The named resource does not exist.
    NotFound = "NotFoundException",
    /// The resource exists already, or is in use.
    Conflict = "ConflictException",
    /// The body could not be read as the operation's input.
    Serialization = "SerializationException",
    /// The operation is not one this service answers.
    UnknownOperation = "UnknownOperationException",
    /// No server process is free to host a new game session.
    FleetCapacityExceeded = "FleetCapacityExceededException",
    /// The game session has no free player slot.
    GameSessionFull = "GameSessionFullException",
    /// An idempotency token was reused with other parameters.
    IdempotentParameterMismatch = "IdempotentParameterMismatchException",
    /// A fault of the service itself.
    InternalService = "InternalServiceException",
    /// The fleet is not in a status that allows the operation.
    InvalidFleetStatus = "InvalidFleetStatusException",
    /// The game session is not in a status that allows the operation.
    InvalidGameSessionStatus = "InvalidGameSessionStatusException",
    /// A limit was reached.
    LimitExceeded = "LimitExceededException",
    /// The alias is terminal and routes nowhere.
    TerminalRoutingStrategy = "TerminalRoutingStrategyException",
    /// The request body did not arrive in time.
    RequestTimeout = "RequestTimeoutException",
    /// The request body is larger than the service accepts.
    RequestTooLarge = "RequestEntityTooLargeException",
    /// The HTTP method is not one the path answers.
    MethodNotAllowed = "MethodNotAllowedException",
    /// The request names a Region that does not exist.
    UnsupportedRegion = "UnsupportedRegionException",
}

impl ErrorCode {
    /// The HTTP status: 500 for service faults, 400 for everything the caller caused.
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::InternalService => 500,
            ErrorCode::RequestTimeout => 408,
            ErrorCode::RequestTooLarge => 413,
            ErrorCode::MethodNotAllowed => 405,
            _ => 400,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// An error returned to the caller: a GameLift error code and a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ServiceError {
    /// The error code.
    pub code: ErrorCode,
    /// The human-readable message.
    pub message: String,
    /// An HTTP status other than the code's own (404 for an unknown path).
    status: Option<u16>,
}

impl ServiceError {
    /// An error with this code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ServiceError {
            code,
            message: message.into(),
            status: None,
        }
    }

    /// The HTTP status: 500 for service faults, 400 for everything the caller caused.
    pub fn status(&self) -> u16 {
        self.status.unwrap_or_else(|| self.code.status())
    }

    /// The same error answered with another HTTP status.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// `InvalidRequestException`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, message)
    }

    /// `NotFoundException`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    /// `ConflictException`.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }

    /// `SerializationException`: the body could not be read as the operation's input.
    pub fn serialization(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Serialization, message)
    }

    /// `UnknownOperationException`.
    pub fn unknown_operation(operation: &str) -> Self {
        Self::new(
            ErrorCode::UnknownOperation,
            format!("gamelift-local does not support the operation `{operation}`"),
        )
    }
}
