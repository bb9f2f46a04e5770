//! Named sessions with the lifecycle of Epic Online Services and Unreal's online subsystem: the
//! backend-agnostic core that providers build on.
//!
//! * [`SessionModification`] builds [`SessionSettings`] (bucket, capacity, host address,
//!   permission level, join in progress, invites, sanctions, platforms, id override and typed
//!   attributes, advertised or local), checking each change against [`Limits`] as it is made.
//! * [`LocalSessions`] holds a process's named sessions ("Game", "Party"; several per local user)
//!   and runs their eight-state machine: every call is checked against the state, the limits and
//!   the per-user rate limits, moves the session to its in-between state, and is finished with
//!   the backend's answer; every state change is recorded for the provider to broadcast.
//! * [`NamedSessionError`] names what went wrong in EOS's terms (session already exists, already
//!   pending, invalid state, too many requests with when to retry, no change, ...).
//!
//! ```
//! use std::time::Instant;
//! use game_session::SessionState;
//! use game_session::named::{BackendSession, Limits, LocalSessions, SessionModification};
//!
//! let mut sessions = LocalSessions::new(Limits::default());
//! let settings = SessionModification::new(Limits::default())
//!     .max_players(4).unwrap()
//!     .attribute("mode", "duel").unwrap()
//!     .build();
//! let now = Instant::now();
//! let creating = sessions.begin_create("ada", "Game", settings, now).unwrap();
//! assert_eq!(sessions.state("ada", "Game"), SessionState::Creating);
//! // ... the backend creates the session ...
//! let backend = BackendSession { session_id: Some("gs-1".into()), connect: None };
//! sessions.finish(creating, Ok(backend)).unwrap();
//! assert_eq!(sessions.state("ada", "Game"), SessionState::Pending);
//!
//! let starting = sessions.begin_start("ada", "Game", now).unwrap();
//! sessions.finish(starting, Ok(BackendSession::default())).unwrap();
//! assert!(sessions.begin_start("ada", "Game", now).is_err()); // already in progress
//! ```

pub mod awaitable;
mod error;
mod interfaces;
mod search;
mod settings;
mod store;

pub use error::{CallClass, NamedSessionError};
pub use interfaces::{
    CompletionMode, CreateMode, INVITE_NOTIFICATIONS, INVITE_TRANSPORT, InviteNotifications,
    InviteTransport, NAMED_SESSION_ASYNC_REQUESTS, NAMED_SESSION_COMPLETIONS,
    NAMED_SESSION_NOTIFICATIONS, NAMED_SESSION_REQUESTS, NamedSessionAsyncRequests,
    NamedSessionCompletion, NamedSessionCompletions, NamedSessionNotifications,
    NamedSessionOutcome, NamedSessionRequests, SessionInvite, with_invite_transport,
};
pub use search::{
    Comparison, MAX_SEARCH_RESULTS, Predicate, SearchMode, SessionDetails, SessionSearch,
};
pub use settings::{
    Advertisement, Attribute, AttributeValue, Limits, PermissionLevel, SESSION_ID_OVERRIDE_LENGTH,
    SessionModification, SessionSettings,
};
pub use store::{
    BackendSession, ConnectInfo, LocalSessions, NamedSessionInfo, Operation, PlayerChange,
    StateChange, Ticket,
};
