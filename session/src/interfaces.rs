//! The session and matchmaking interfaces, each with its bus.
//!
//! Request buses have one provider (a second is refused); notification buses any number of
//! listeners, called in connection order. Notification methods have default bodies, so a
//! listener implements only what it needs; votes default to `true`.

use std::path::PathBuf;

use ebus::{AddressPolicy, Bus, HandlerPolicy};

use crate::{
    AcceptMatchRequest, CreateSessionRequest, JoinSessionRequest, PlayerConnectionConfig,
    SearchSessionsRequest, SearchSessionsResponse, SessionConfig, SessionConnectionConfig,
    SessionError, StartMatchmakingRequest, StopMatchmakingRequest,
};

const fn request_bus<I: ?Sized + 'static>(name: &'static str) -> Bus<I> {
    Bus::with_policies(name, HandlerPolicy::Single, AddressPolicy::Single)
}

/// Client-side session requests, answered synchronously.
pub trait SessionRequests: Send + Sync {
    /// Creates a session; returns its id (for a queue placement, the placement id).
    fn create_session(&self, request: &CreateSessionRequest) -> Result<String, SessionError>;
    /// Searches for sessions.
    fn search_sessions(
        &self,
        request: &SearchSessionsRequest,
    ) -> Result<SearchSessionsResponse, SessionError>;
    /// Reserves a slot in a session and starts connecting to its server (through
    /// [`SessionHandlingClientRequests`]); returns where to connect.
    fn join_session(
        &self,
        request: &JoinSessionRequest,
    ) -> Result<SessionConnectionConfig, SessionError>;
    /// Leaves the current session.
    fn leave_session(&self) -> Result<(), SessionError>;
}

/// The provider of [`SessionRequests`].
pub static SESSION_REQUESTS: Bus<dyn SessionRequests> = request_bus("SessionRequests");

/// Client-side session requests that return at once; each completes with one notification on
/// [`SESSION_ASYNC_REQUEST_NOTIFICATIONS`] (at once, with the error, if the request is invalid).
pub trait SessionAsyncRequests: Send + Sync {
    /// Creates a session.
    fn create_session_async(&self, request: CreateSessionRequest);
    /// Searches for sessions.
    fn search_sessions_async(&self, request: SearchSessionsRequest);
    /// Joins a session.
    fn join_session_async(&self, request: JoinSessionRequest);
    /// Leaves the current session.
    fn leave_session_async(&self);
}

/// The provider of [`SessionAsyncRequests`].
pub static SESSION_ASYNC_REQUESTS: Bus<dyn SessionAsyncRequests> =
    request_bus("SessionAsyncRequests");

/// Completions of [`SessionAsyncRequests`], one per request.
#[allow(unused_variables)]
pub trait SessionAsyncRequestNotifications: Send + Sync {
    /// A create-session request completed.
    fn on_create_session_async_complete(&self, result: &Result<String, SessionError>) {}
    /// A search completed.
    fn on_search_sessions_async_complete(
        &self,
        result: &Result<SearchSessionsResponse, SessionError>,
    ) {
    }
    /// A join completed.
    fn on_join_session_async_complete(
        &self,
        result: &Result<SessionConnectionConfig, SessionError>,
    ) {
    }
    /// A leave completed.
    fn on_leave_session_async_complete(&self, result: &Result<(), SessionError>) {}
}

/// Listeners of [`SessionAsyncRequestNotifications`].
pub static SESSION_ASYNC_REQUEST_NOTIFICATIONS: Bus<dyn SessionAsyncRequestNotifications> =
    Bus::new("SessionAsyncRequestNotifications");

/// Server-side session events. The provider asks the game through these; votes are combined
/// with AND (every listener must agree).
#[allow(unused_variables)]
pub trait SessionNotifications: Send + Sync {
    /// Is the game healthy? Asked about once a minute.
    fn on_session_health_check(&self) -> bool {
        true
    }
    /// A session is starting on this server: prepare (load the level). `false` aborts it.
    fn on_create_session_begin(&self, session: &SessionConfig) -> bool {
        true
    }
    /// The session is active.
    fn on_create_session_end(&self) {}
    /// The session is ending: clean up. `false` aborts the destroy.
    fn on_destroy_session_begin(&self) -> bool {
        true
    }
    /// The session has ended (for example, shut the process down).
    fn on_destroy_session_end(&self) {}
    /// The session changed (for example, matchmaking backfill); `update_reason` says why.
    fn on_update_session_begin(&self, session: &SessionConfig, update_reason: &str) {}
    /// The update has been applied.
    fn on_update_session_end(&self) {}
}

/// Listeners of [`SessionNotifications`].
pub static SESSION_NOTIFICATIONS: Bus<dyn SessionNotifications> = Bus::new("SessionNotifications");

/// Implemented by the client's network layer: connect to a session's server.
pub trait SessionHandlingClientRequests: Send + Sync {
    /// Starts connecting, presenting `config.player_session_id` as the ticket. Returns whether
    /// the connection was started (validation by the server comes later).
    fn request_player_join_session(&self, config: &SessionConnectionConfig) -> bool;
    /// Disconnects from the session's server.
    fn request_player_leave_session(&self);
}

/// The client's network layer.
pub static SESSION_HANDLING_CLIENT_REQUESTS: Bus<dyn SessionHandlingClientRequests> =
    request_bus("SessionHandlingClientRequests");

/// Implemented by the hosting provider on the server, asked by the game's network layer.
pub trait SessionHandlingProviderRequests: Send + Sync {
    /// Ends the current session.
    fn handle_destroy_session(&self);
    /// Whether the ticket a connecting player presented is valid (at most once per ticket).
    fn validate_player_join_session(&self, config: &PlayerConnectionConfig) -> bool;
    /// A player left.
    fn handle_player_leave_session(&self, config: &PlayerConnectionConfig);
    /// The certificate for server-to-server TLS (empty: none).
    fn internal_session_certificate(&self) -> PathBuf {
        PathBuf::new()
    }
    /// The certificate for client-to-server TLS (empty: none).
    fn external_session_certificate(&self) -> PathBuf {
        PathBuf::new()
    }
}

/// The hosting provider on the server.
pub static SESSION_HANDLING_PROVIDER_REQUESTS: Bus<dyn SessionHandlingProviderRequests> =
    request_bus("SessionHandlingProviderRequests");

/// Matchmaking requests, answered synchronously.
pub trait MatchmakingRequests: Send + Sync {
    /// Accepts or rejects a proposed match.
    fn accept_match(&self, request: &AcceptMatchRequest) -> Result<(), SessionError>;
    /// Starts matchmaking; returns the ticket id.
    fn start_matchmaking(&self, request: &StartMatchmakingRequest) -> Result<String, SessionError>;
    /// Stops matchmaking.
    fn stop_matchmaking(&self, request: &StopMatchmakingRequest) -> Result<(), SessionError>;
}

/// The provider of [`MatchmakingRequests`].
pub static MATCHMAKING_REQUESTS: Bus<dyn MatchmakingRequests> = request_bus("MatchmakingRequests");

/// Matchmaking requests that return at once and complete on
/// [`MATCHMAKING_ASYNC_REQUEST_NOTIFICATIONS`].
pub trait MatchmakingAsyncRequests: Send + Sync {
    /// Accepts or rejects a proposed match.
    fn accept_match_async(&self, request: AcceptMatchRequest);
    /// Starts matchmaking.
    fn start_matchmaking_async(&self, request: StartMatchmakingRequest);
    /// Stops matchmaking.
    fn stop_matchmaking_async(&self, request: StopMatchmakingRequest);
}

/// The provider of [`MatchmakingAsyncRequests`].
pub static MATCHMAKING_ASYNC_REQUESTS: Bus<dyn MatchmakingAsyncRequests> =
    request_bus("MatchmakingAsyncRequests");

/// Completions of [`MatchmakingAsyncRequests`], one per request.
#[allow(unused_variables)]
pub trait MatchmakingAsyncRequestNotifications: Send + Sync {
    /// An accept-match request completed.
    fn on_accept_match_async_complete(&self, result: &Result<(), SessionError>) {}
    /// A start-matchmaking request completed, with the ticket id.
    fn on_start_matchmaking_async_complete(&self, result: &Result<String, SessionError>) {}
    /// A stop-matchmaking request completed.
    fn on_stop_matchmaking_async_complete(&self, result: &Result<(), SessionError>) {}
}

/// Listeners of [`MatchmakingAsyncRequestNotifications`].
pub static MATCHMAKING_ASYNC_REQUEST_NOTIFICATIONS: Bus<dyn MatchmakingAsyncRequestNotifications> =
    Bus::new("MatchmakingAsyncRequestNotifications");

/// How a matchmaking ticket is doing.
pub trait MatchmakingNotifications: Send + Sync {
    /// A match was found and waits for the players to accept it.
    fn on_match_acceptance(&self) {}
    /// The match is complete and its session joined.
    fn on_match_complete(&self) {}
    /// Matchmaking hit an error (it may go on).
    fn on_match_error(&self) {}
    /// The ticket failed, timed out or was cancelled.
    fn on_match_failure(&self) {}
}

/// Listeners of [`MatchmakingNotifications`].
pub static MATCHMAKING_NOTIFICATIONS: Bus<dyn MatchmakingNotifications> =
    Bus::new("MatchmakingNotifications");
