//! What can go wrong with a named session, in EOS's and Unreal's terms.

use std::time::Duration;

use crate::{SessionError, SessionState};

/// The kinds of call that share a rate limit (per local user and minute).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum CallClass {
    /// create, update, destroy, start, end, search (EOS: 30 a minute).
    Lifecycle,
    /// register and unregister players, invites (EOS: 100 a minute).
    Players,
}

/// Why a named-session call failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum NamedSessionError {
    /// A setting is invalid; nothing was changed.
    #[error("invalid {field}: {reason}")]
    InvalidField {
        /// The setting (`max_players`, `attribute "map"`, ...).
        field: String,
        /// What is wrong, with the limit where there is one.
        reason: String,
    },
    /// A limit would be exceeded.
    #[error("too many {what}: the limit is {limit}")]
    LimitExceeded {
        /// What there would be too many of (`attributes`, `sessions for user-1`, `players`).
        what: String,
        /// The limit.
        limit: usize,
    },
    /// A session with this local name exists already (create or join under a taken name).
    #[error("a session named {name:?} already exists")]
    SessionAlreadyExists {
        /// The local name.
        name: String,
    },
    /// No session has this local name.
    #[error("no session is named {name:?}")]
    SessionNotFound {
        /// The local name.
        name: String,
    },
    /// The call is not allowed in the session's state (for example start while in progress).
    #[error("cannot {operation} session {name:?} while it is {state:?}")]
    InvalidState {
        /// The local name.
        name: String,
        /// The call.
        operation: &'static str,
        /// The state the session is in.
        state: SessionState,
    },
    /// The session is already being destroyed.
    #[error("session {name:?} is already being destroyed")]
    AlreadyPending {
        /// The local name.
        name: String,
    },
    /// The session was destroyed (or replaced) before this call completed.
    #[error("session {name:?} was destroyed before {operation} completed")]
    Superseded {
        /// The local name.
        name: String,
        /// The call that was overtaken.
        operation: &'static str,
    },
    /// Too many calls of this kind by this local user in the last minute.
    #[error("too many {class:?} calls by {user}: retry in {retry_after:?}")]
    TooManyRequests {
        /// The local user.
        user: String,
        /// The kind of call.
        class: CallClass,
        /// When a call of this kind will be accepted again.
        retry_after: Duration,
    },
    /// Nothing to do (for example registering players who are all registered already).
    #[error("no change: {0}")]
    NoChange(String),
    /// The session is full.
    #[error("session {name:?} is full ({max_players} players)")]
    SessionFull {
        /// The session's local name or id.
        name: String,
        /// Its capacity.
        max_players: u32,
    },
    /// The session does not allow this (invite-only, started without join in progress, ...).
    #[error("not allowed: {0}")]
    NoPermission(String),
    /// The backend cannot do this, and no provider that could is connected.
    #[error("{operation} is not supported: {missing}")]
    NotSupported {
        /// The call.
        operation: &'static str,
        /// What is missing (for example the invite transport provider).
        missing: String,
    },
    /// The backend refused or failed.
    #[error(transparent)]
    Backend(#[from] SessionError),
}

impl NamedSessionError {
    /// `InvalidField` for `field`.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        NamedSessionError::InvalidField {
            field: field.into(),
            reason: reason.into(),
        }
    }
}
