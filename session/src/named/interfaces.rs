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
