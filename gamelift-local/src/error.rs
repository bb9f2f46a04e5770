//! Service errors, as the wire protocols carry them.

/// An error returned to the caller: a GameLift error code and a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ServiceError {
    /// The error code, sent as `__type` (`InvalidRequestException`, `NotFoundException`, ...).
    pub code: &'static str,
    /// The human-readable message.
    pub message: String,
}

impl ServiceError {
    /// An error with this code and message.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        ServiceError {
            code,
            message: message.into(),
        }
    }

    /// The HTTP status: 500 for service faults, 400 for everything the caller caused.
    pub fn status(&self) -> u16 {
        match self.code {
            "InternalServiceException" => 500,
            _ => 400,
        }
    }

    /// `InvalidRequestException`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new("InvalidRequestException", message)
    }

    /// `NotFoundException`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new("NotFoundException", message)
    }

    /// `ConflictException`.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new("ConflictException", message)
    }

    /// `SerializationException`: the body could not be read as the operation's input.
    pub fn serialization(message: impl Into<String>) -> Self {
        Self::new("SerializationException", message)
    }

    /// `UnknownOperationException`.
    pub fn unknown_operation(operation: &str) -> Self {
        Self::new(
            "UnknownOperationException",
            format!("gamelift-local does not support the operation `{operation}`"),
        )
    }
}
