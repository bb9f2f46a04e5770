//! The named-session buses: requests (one provider) and notifications (any listeners).

use ebus::{AddressPolicy, Bus, HandlerPolicy};

use super::error::NamedSessionError;
use super::search::{SessionDetails, SessionSearch};
use super::settings::SessionSettings;
use super::store::{ConnectInfo, NamedSessionInfo, PlayerChange, StateChange};

/// When a new session is created on the backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CreateMode {
    /// At once (EOS `UpdateSession` on a new modification): the session is `Pending` once the
    /// backend has it.
    #[default]
    Now,
    /// When it starts (Unreal's flow with the AWS plugin): create only stores the settings;
    /// start creates the backend session with the caller as owner, joins the caller and resolves
    /// the connect string.
    OnStart,
}

/// Named-session requests of local users, answered synchronously (the calls block while the
/// backend works; call them off the game's main thread, or use a provider's async forms).
pub trait NamedSessionRequests: Send + Sync {
    /// Creates session `name` for `user` with `settings`.
    fn create_session(
        &self,
        user: &str,
        name: &str,
        settings: SessionSettings,
        mode: CreateMode,
    ) -> Result<NamedSessionInfo, NamedSessionError>;
    /// Replaces the settings of session `name` (owner only).
    fn update_session(
        &self,
        user: &str,
        name: &str,
        settings: SessionSettings,
    ) -> Result<NamedSessionInfo, NamedSessionError>;
    /// Starts session `name`: from `Pending` or `Ended` to `InProgress`.
    fn start_session(&self, user: &str, name: &str) -> Result<NamedSessionInfo, NamedSessionError>;
    /// Ends session `name`: from `InProgress` to `Ended`.
    fn end_session(&self, user: &str, name: &str) -> Result<NamedSessionInfo, NamedSessionError>;
    /// Destroys session `name` (the owner also ends it on the backend).
    fn destroy_session(&self, user: &str, name: &str) -> Result<(), NamedSessionError>;
    /// Finds sessions.
    fn find_sessions(
        &self,
        user: &str,
        search: &SessionSearch,
    ) -> Result<Vec<SessionDetails>, NamedSessionError>;
    /// Joins a found session under the local `name`; the answer carries where to connect.
    fn join_session(
        &self,
        user: &str,
        name: &str,
        session: &SessionDetails,
    ) -> Result<NamedSessionInfo, NamedSessionError>;
    /// Registers players in session `name`.
    fn register_players(
        &self,
        user: &str,
        name: &str,
        players: &[String],
    ) -> Result<PlayerChange, NamedSessionError>;
    /// Unregisters players from session `name`.
    fn unregister_players(
        &self,
        user: &str,
        name: &str,
        players: &[String],
    ) -> Result<PlayerChange, NamedSessionError>;
    /// A copy of session `name`, if `user` has one by that name.
    fn session_info(&self, user: &str, name: &str) -> Option<NamedSessionInfo>;
    /// Whether `player` is registered in session `name`.
    fn is_player_in_session(&self, user: &str, name: &str, player: &str) -> bool;
    /// A human-readable description of session `name`, for debugging.
    fn dump_session_state(&self, user: &str, name: &str) -> String;
    /// Invites `target` to session `name` (the user must own it or be registered in it, and the
    /// session must allow invites); returns the invite id. Needs an [`InviteTransport`].
    fn send_invite(
        &self,
        user: &str,
        name: &str,
        target: &str,
    ) -> Result<String, NamedSessionError>;
    /// The invites waiting for `user` (EOS `QueryInvites`; count and index are the `Vec`'s);
    /// each new one is also announced on [`INVITE_NOTIFICATIONS`].
    fn query_invites(&self, user: &str) -> Result<Vec<SessionInvite>, NamedSessionError>;
    /// Rejects an invite.
    fn reject_invite(&self, user: &str, invite_id: &str) -> Result<(), NamedSessionError>;
    /// Accepts an invite: joins its session under the local `name` (invite-only sessions too).
    fn accept_invite(
        &self,
        user: &str,
        invite_id: &str,
        name: &str,
    ) -> Result<NamedSessionInfo, NamedSessionError>;
    /// Where to connect to session `name` (Unreal `GetResolvedConnectString`).
    fn resolved_connect_string(&self, user: &str, name: &str) -> Option<ConnectInfo> {
        self.session_info(user, name).and_then(|info| info.connect)
    }
}

/// The provider of [`NamedSessionRequests`].
pub static NAMED_SESSION_REQUESTS: Bus<dyn NamedSessionRequests> = Bus::with_policies(
    "NamedSessionRequests",
    HandlerPolicy::Single,
    AddressPolicy::Single,
);

/// What happens to named sessions, for game code. Every method has an empty default.
pub trait NamedSessionNotifications: Send + Sync {
    /// A session changed state (`to` is `NoSession` once it is removed).
    fn on_session_state_changed(&self, change: &StateChange) {
        let _ = change;
    }
    /// The platform asks the game to leave a session (EOS `LeaveSessionRequested`): the game
    /// answers by destroying it.
    fn on_leave_session_requested(&self, user: &str, name: &str) {
        let _ = (user, name);
    }
}

/// Listeners of [`NamedSessionNotifications`].
pub static NAMED_SESSION_NOTIFICATIONS: Bus<dyn NamedSessionNotifications> =
    Bus::new("NamedSessionNotifications");

/// When completions of [`NamedSessionAsyncRequests`] are delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CompletionMode {
    /// At once, on the thread that finished the work.
    #[default]
    Immediate,
    /// Queued on [`NAMED_SESSION_COMPLETIONS`]; the game runs them on its own thread with
    /// `NAMED_SESSION_COMPLETIONS.execute_queued()` once per tick (EOS's tick model).
    Queued,
}

/// What a completed named-session call produced.
#[derive(Debug, Clone, PartialEq)]
pub enum NamedSessionOutcome {
    /// create, update, start, end, join: the session afterwards.
    Session(Box<NamedSessionInfo>),
    /// destroy.
    Destroyed,
    /// find.
    Found(Vec<SessionDetails>),
    /// register, unregister.
    Players(PlayerChange),
}

/// The one completion of one [`NamedSessionAsyncRequests`] call.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedSessionCompletion {
    /// The id the caller gave the request.
    pub request_id: u64,
    /// The local user.
    pub user: String,
    /// The local session name (empty for a find).
    pub name: String,
    /// The call: `create`, `update`, `start`, `end`, `destroy`, `find`, `join`, `register`,
    /// `unregister`.
    pub operation: &'static str,
    /// The result.
    pub result: Result<NamedSessionOutcome, NamedSessionError>,
}

/// Named-session requests that return at once (EOS's model): each completes with exactly one
/// [`NamedSessionCompletion`] on [`NAMED_SESSION_COMPLETIONS`], carrying the caller's
/// `request_id`, immediately or on the game's tick as the provider is configured.
pub trait NamedSessionAsyncRequests: Send + Sync {
    /// Creates a session.
    fn create_session_async(
        &self,
        request_id: u64,
        user: &str,
        name: &str,
        settings: SessionSettings,
        mode: CreateMode,
    );
    /// Updates a session's settings.
    fn update_session_async(
        &self,
        request_id: u64,
        user: &str,
        name: &str,
        settings: SessionSettings,
    );
    /// Starts a session.
    fn start_session_async(&self, request_id: u64, user: &str, name: &str);
    /// Ends a session.
    fn end_session_async(&self, request_id: u64, user: &str, name: &str);
    /// Destroys a session.
    fn destroy_session_async(&self, request_id: u64, user: &str, name: &str);
    /// Finds sessions.
    fn find_sessions_async(&self, request_id: u64, user: &str, search: SessionSearch);
    /// Joins a found session under a local name.
    fn join_session_async(&self, request_id: u64, user: &str, name: &str, session: SessionDetails);
    /// Registers players.
    fn register_players_async(&self, request_id: u64, user: &str, name: &str, players: Vec<String>);
    /// Unregisters players.
    fn unregister_players_async(
        &self,
        request_id: u64,
        user: &str,
        name: &str,
        players: Vec<String>,
    );
}

/// The provider of [`NamedSessionAsyncRequests`].
pub static NAMED_SESSION_ASYNC_REQUESTS: Bus<dyn NamedSessionAsyncRequests> = Bus::with_policies(
    "NamedSessionAsyncRequests",
    HandlerPolicy::Single,
    AddressPolicy::Single,
);

/// Receives the completions of [`NamedSessionAsyncRequests`].
pub trait NamedSessionCompletions: Send + Sync {
    /// One call completed.
    fn on_named_session_complete(&self, completion: &NamedSessionCompletion);
}

/// Listeners of named-session completions.
pub static NAMED_SESSION_COMPLETIONS: Bus<dyn NamedSessionCompletions> =
    Bus::new("NamedSessionCompletions");

/// An invite to a session.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionInvite {
    /// The invite's id (at most 64 characters).
    pub invite_id: String,
    /// Who invited.
    pub from: String,
    /// Who is invited.
    pub to: String,
    /// The session.
    pub session: SessionDetails,
}

/// Carries invites between users. GameLift has no invite API, so a game (or a platform layer,
/// or `gamelift-local`'s local-only extension) provides one; without a provider every invite call
/// fails with [`NamedSessionError::NotSupported`] naming this bus.
pub trait InviteTransport: Send + Sync {
    /// Delivers an invite from `from` to `to` for `session`; returns the invite id.
    fn send(
        &self,
        from: &str,
        to: &str,
        session: &SessionDetails,
    ) -> Result<String, NamedSessionError>;
    /// The invites waiting for `user`, oldest first.
    fn pending(&self, user: &str) -> Result<Vec<SessionInvite>, NamedSessionError>;
    /// Removes invite `invite_id` of `user` (accepted or rejected); returns it.
    fn remove(&self, user: &str, invite_id: &str) -> Result<SessionInvite, NamedSessionError>;
}

/// The provider of [`InviteTransport`].
pub static INVITE_TRANSPORT: Bus<dyn InviteTransport> = Bus::with_policies(
    "InviteTransport",
    HandlerPolicy::Single,
    AddressPolicy::Single,
);

/// Invites received, for game code (EOS `SessionInviteReceived`).
pub trait InviteNotifications: Send + Sync {
    /// An invite for a local user arrived.
    fn on_session_invite_received(&self, invite: &SessionInvite) {
        let _ = invite;
    }
}

/// Listeners of [`InviteNotifications`].
pub static INVITE_NOTIFICATIONS: Bus<dyn InviteNotifications> = Bus::new("InviteNotifications");

/// Runs `call` on the invite transport, or fails naming the missing provider.
pub fn with_invite_transport<T>(
    operation: &'static str,
    call: impl FnOnce(&dyn InviteTransport) -> Result<T, NamedSessionError>,
) -> Result<T, NamedSessionError> {
    match INVITE_TRANSPORT.first_handler() {
        Some(transport) => call(&*transport),
        None => Err(NamedSessionError::NotSupported {
            operation,
            missing: "no InviteTransport provider is connected (GameLift has no invite API)".into(),
        }),
    }
}
