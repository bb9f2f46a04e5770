//! The local named sessions of a process and their state machine, for providers of any backend.
//!
//! A provider runs each call in two steps: `begin_*` checks the call against the session's state,
//! the limits and the rate limits, moves the session into its in-between state (`Creating`,
//! `Starting`, `Ending`, `Destroying`) and hands back a [`Ticket`]; once the backend answered,
//! [`finish`](LocalSessions::finish) moves it on (or back, on failure). Every state change is
//! recorded as a [`StateChange`] for the provider to broadcast.
//!
//! ```text
//! create/join ─> Creating ─> Pending ─start─> Starting ─> InProgress ─end─> Ending ─> Ended
//!                                ^                                                    │
//!                                └─────────────────────── start ──────────────────────┘
//! destroy, from any state ─> Destroying ─> (removed)
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fmt::Write as _;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::error::{CallClass, NamedSessionError};
use super::settings::{Limits, SessionSettings};
use crate::SessionState;

/// How a player reaches a session's server.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ConnectInfo {
    /// `ip:port` or `dns-name:port`.
    pub address: String,
    /// What the player presents to the server (for GameLift, the player session id).
    pub ticket: String,
}

/// A copy of one local session (EOS `EOS_ActiveSession_Info` with its details).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedSessionInfo {
    /// The local name (`"Game"`, `"Party"`).
    pub name: String,
    /// The local user the session belongs to.
    pub local_user: String,
    /// The backend's id, once created.
    pub session_id: Option<String>,
    /// The user who owns it (created it), if known.
    pub owner: Option<String>,
    /// The state.
    pub state: SessionState,
    /// The settings, attributes included.
    pub settings: SessionSettings,
    /// Registered players.
    pub registered_players: BTreeSet<String>,
    /// Players the game server has accepted (the backend's roster), as of the last time the
    /// provider looked; empty where the backend tells nothing.
    pub connected_players: BTreeSet<String>,
    /// Where to connect, once known.
    pub connect: Option<ConnectInfo>,
}

/// One state change of one session, to broadcast.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateChange {
    /// The local user.
    pub local_user: String,
    /// The local name.
    pub name: String,
    /// Before.
    pub from: SessionState,
    /// After (`NoSession` once removed).
    pub to: SessionState,
}

/// A lifecycle call on its way through the backend.
#[derive(Debug, Clone, PartialEq)]
pub enum Operation {
    /// Create (or, in Unreal's flow, store settings to create on start).
    Create,
    /// Join an existing backend session under a local name.
    Join,
    /// Start.
    Start {
        /// The state to return to if the backend fails.
        from: SessionState,
    },
    /// End.
    End,
    /// Update to these settings.
    Update(Box<SessionSettings>),
    /// Destroy.
    Destroy,
}

impl Operation {
    fn name(&self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Join => "join",
            Operation::Start { .. } => "start",
            Operation::End => "end",
            Operation::Update(_) => "update",
            Operation::Destroy => "destroy",
        }
    }
}

/// A call begun and not finished: hand it back to [`LocalSessions::finish`].
#[derive(Debug, Clone, PartialEq)]
#[must_use = "finish the ticket with the backend's answer"]
pub struct Ticket {
    /// The local user.
    pub local_user: String,
    /// The local name.
    pub name: String,
    /// The call.
    pub operation: Operation,
    incarnation: u64,
}

/// What the backend answered to a create, join or start.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BackendSession {
    /// The backend's session id.
    pub session_id: Option<String>,
    /// Where to connect, if known now.
    pub connect: Option<ConnectInfo>,
}

/// The answer to a register or unregister call (EOS `RegisterPlayers` callback info).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PlayerChange {
    /// Players whose registration changed.
    pub changed: Vec<String>,
    /// Players refused because they are sanctioned (register only).
    pub sanctioned: Vec<String>,
}

struct Entry {
    info: NamedSessionInfo,
    incarnation: u64,
}

/// Sliding-window call counts per local user and call class.
#[derive(Default)]
struct RateLimits {
    calls: HashMap<(String, CallClass), VecDeque<Instant>>,
}

impl RateLimits {
    fn admit(
        &mut self,
        limits: &Limits,
        user: &str,
        class: CallClass,
        now: Instant,
    ) -> Result<(), NamedSessionError> {
        let allowed = match class {
            CallClass::Lifecycle => limits.lifecycle_calls,
            CallClass::Players => limits.player_calls,
        } as usize;
        let window = limits.rate_window;
        let calls = self.calls.entry((user.to_string(), class)).or_default();
        while calls
            .front()
            .is_some_and(|at| now.saturating_duration_since(*at) >= window)
        {
            calls.pop_front();
        }
        if calls.len() >= allowed {
            let oldest = calls.front().copied().unwrap_or(now);
            let retry_after = window.saturating_sub(now.saturating_duration_since(oldest));
            return Err(NamedSessionError::TooManyRequests {
                user: user.to_string(),
                class,
                retry_after,
            });
        }
        calls.push_back(now);
        Ok(())
    }
}

/// The named sessions of every local user of this process.
pub struct LocalSessions {
    limits: Limits,
    sessions: BTreeMap<(String, String), Entry>,
    next_incarnation: u64,
    rates: RateLimits,
    changes: Vec<StateChange>,
}

impl std::fmt::Debug for LocalSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalSessions")
            .field("sessions", &self.sessions.len())
            .finish()
    }
}

impl LocalSessions {
    /// No sessions yet; `limits` apply to every call.
    pub fn new(limits: Limits) -> Self {
        LocalSessions {
            limits,
            sessions: BTreeMap::new(),
            next_incarnation: 1,
            rates: RateLimits::default(),
            changes: Vec::new(),
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Replaces the limits; sessions that exist stay as they are.
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// The state changes since the last call, oldest first.
    pub fn drain_changes(&mut self) -> Vec<StateChange> {
        std::mem::take(&mut self.changes)
    }

    fn key(user: &str, name: &str) -> (String, String) {
        (user.to_string(), name.to_string())
    }

    fn entry(&self, user: &str, name: &str) -> Result<&Entry, NamedSessionError> {
        self.sessions.get(&Self::key(user, name)).ok_or_else(|| {
            NamedSessionError::SessionNotFound {
                name: name.to_string(),
            }
        })
    }

    fn set_state(&mut self, user: &str, name: &str, to: SessionState) {
        if let Some(entry) = self.sessions.get_mut(&Self::key(user, name)) {
            let from = entry.info.state;
            if from != to {
                entry.info.state = to;
                self.changes.push(StateChange {
                    local_user: user.to_string(),
                    name: name.to_string(),
                    from,
                    to,
                });
            }
        }
    }

    fn remove(&mut self, user: &str, name: &str) {
        if let Some(entry) = self.sessions.remove(&Self::key(user, name)) {
            self.changes.push(StateChange {
                local_user: user.to_string(),
                name: name.to_string(),
                from: entry.info.state,
                to: SessionState::NoSession,
            });
        }
    }

    fn ticket(&self, user: &str, name: &str, operation: Operation) -> Ticket {
        let incarnation = self
            .sessions
            .get(&Self::key(user, name))
            .map_or(0, |entry| entry.incarnation);
        Ticket {
            local_user: user.to_string(),
            name: name.to_string(),
            operation,
            incarnation,
        }
    }

    fn check_name(name: &str) -> Result<(), NamedSessionError> {
        let length = name.chars().count();
        if length == 0 || length > 256 || name.chars().any(char::is_control) {
            return Err(NamedSessionError::invalid(
                "session name",
                "must be 1 to 256 characters with no control characters",
            ));
        }
        Ok(())
    }

    fn insert(
        &mut self,
        user: &str,
        name: &str,
        settings: SessionSettings,
        owner: Option<String>,
        now: Instant,
    ) -> Result<(), NamedSessionError> {
        Self::check_name(name)?;
        if self.sessions.contains_key(&Self::key(user, name)) {
            return Err(NamedSessionError::SessionAlreadyExists {
                name: name.to_string(),
            });
        }
        let owned = self.sessions.keys().filter(|(u, _)| u == user).count();
        if owned >= self.limits.max_sessions_per_user {
            return Err(NamedSessionError::LimitExceeded {
                what: format!("sessions for {user}"),
                limit: self.limits.max_sessions_per_user,
            });
        }
        if settings.max_players == 0 || settings.max_players > self.limits.max_players {
            return Err(NamedSessionError::invalid(
                "max_players",
                format!(
                    "must be 1 to {}, not {}",
                    self.limits.max_players, settings.max_players
                ),
            ));
        }
        self.rates
            .admit(&self.limits, user, CallClass::Lifecycle, now)?;
        let incarnation = self.next_incarnation;
        self.next_incarnation += 1;
        self.sessions.insert(
            Self::key(user, name),
            Entry {
                info: NamedSessionInfo {
                    name: name.to_string(),
                    local_user: user.to_string(),
                    session_id: None,
                    owner,
                    state: SessionState::NoSession,
                    settings,
                    registered_players: BTreeSet::new(),
                    connected_players: BTreeSet::new(),
                    connect: None,
                },
                incarnation,
            },
        );
        self.set_state(user, name, SessionState::Creating);
        Ok(())
    }

    /// Begins creating session `name` for `user` with `settings` (the user owns it).
    pub fn begin_create(
        &mut self,
        user: &str,
        name: &str,
        settings: SessionSettings,
        now: Instant,
    ) -> Result<Ticket, NamedSessionError> {
        self.insert(user, name, settings, Some(user.to_string()), now)?;
        Ok(self.ticket(user, name, Operation::Create))
    }

    /// Begins joining a backend session under the local `name`; `settings` and `owner` are the
    /// joined session's, as a search or an invite described it.
    pub fn begin_join(
        &mut self,
        user: &str,
        name: &str,
        settings: SessionSettings,
        owner: Option<String>,
        now: Instant,
    ) -> Result<Ticket, NamedSessionError> {
        self.insert(user, name, settings, owner, now)?;
        Ok(self.ticket(user, name, Operation::Join))
    }

    /// Begins starting: from `Pending` or `Ended` to `Starting`.
    pub fn begin_start(
        &mut self,
        user: &str,
        name: &str,
        now: Instant,
    ) -> Result<Ticket, NamedSessionError> {
        let state = self.entry(user, name)?.info.state;
        self.require(
            name,
            "start",
            state,
            &[SessionState::Pending, SessionState::Ended],
        )?;
        self.rates
            .admit(&self.limits, user, CallClass::Lifecycle, now)?;
        self.set_state(user, name, SessionState::Starting);
        Ok(self.ticket(user, name, Operation::Start { from: state }))
    }

    /// Begins ending: from `InProgress` to `Ending`.
    pub fn begin_end(
        &mut self,
        user: &str,
        name: &str,
        now: Instant,
    ) -> Result<Ticket, NamedSessionError> {
        let state = self.entry(user, name)?.info.state;
        self.require(name, "end", state, &[SessionState::InProgress])?;
        self.rates
            .admit(&self.limits, user, CallClass::Lifecycle, now)?;
        self.set_state(user, name, SessionState::Ending);
        Ok(self.ticket(user, name, Operation::End))
    }

    /// Begins updating the settings (not while it is being created or destroyed). The new
    /// settings apply when the update finishes.
    pub fn begin_update(
        &mut self,
        user: &str,
        name: &str,
        settings: SessionSettings,
        now: Instant,
    ) -> Result<Ticket, NamedSessionError> {
        let entry = self.entry(user, name)?;
        let state = entry.info.state;
        self.require(
            name,
            "update",
            state,
            &[
                SessionState::Pending,
                SessionState::Starting,
                SessionState::InProgress,
                SessionState::Ending,
                SessionState::Ended,
            ],
        )?;
        let registered = entry.info.registered_players.len();
        if (settings.max_players as usize) < registered {
            return Err(NamedSessionError::invalid(
                "max_players",
                format!(
                    "cannot drop below the {registered} registered players (asked for {})",
                    settings.max_players
                ),
            ));
        }
        self.rates
            .admit(&self.limits, user, CallClass::Lifecycle, now)?;
        Ok(self.ticket(user, name, Operation::Update(Box::new(settings))))
    }

    /// Begins destroying: from any state to `Destroying`; a second destroy is
    /// [`AlreadyPending`](NamedSessionError::AlreadyPending).
    pub fn begin_destroy(
        &mut self,
        user: &str,
        name: &str,
        now: Instant,
    ) -> Result<Ticket, NamedSessionError> {
        let state = self.entry(user, name)?.info.state;
        if state == SessionState::Destroying {
            return Err(NamedSessionError::AlreadyPending {
                name: name.to_string(),
            });
        }
        self.rates
            .admit(&self.limits, user, CallClass::Lifecycle, now)?;
        self.set_state(user, name, SessionState::Destroying);
        Ok(self.ticket(user, name, Operation::Destroy))
    }

    fn require(
        &self,
        name: &str,
        operation: &'static str,
        state: SessionState,
        allowed: &[SessionState],
    ) -> Result<(), NamedSessionError> {
        if state == SessionState::Destroying {
            return Err(NamedSessionError::AlreadyPending {
                name: name.to_string(),
            });
        }
        if allowed.contains(&state) {
            Ok(())
        } else {
            Err(NamedSessionError::InvalidState {
                name: name.to_string(),
                operation,
                state,
            })
        }
    }

    /// Finishes a call with the backend's answer. On success the session moves on (`Pending`,
    /// `InProgress`, `Ended`, new settings, or removed); on failure it goes back where it was
    /// (a failed create or join removes it; a destroy removes it whatever the backend said) and
    /// the failure is returned. A call overtaken by a destroy, or whose session was replaced,
    /// changes nothing and returns [`Superseded`](NamedSessionError::Superseded).
    pub fn finish(
        &mut self,
        ticket: Ticket,
        answer: Result<BackendSession, NamedSessionError>,
    ) -> Result<NamedSessionInfo, NamedSessionError> {
        let Ticket {
            local_user: user,
            name,
            operation,
            incarnation,
        } = ticket;
        let current = self
            .sessions
            .get(&Self::key(&user, &name))
            .filter(|entry| entry.incarnation == incarnation)
            .map(|entry| entry.info.state);
        let superseded = match current {
            None => true,
            Some(SessionState::Destroying) => operation != Operation::Destroy,
            Some(_) => false,
        };
        if superseded {
            return Err(NamedSessionError::Superseded {
                name,
                operation: operation.name(),
            });
        }
        let snapshot = |this: &Self| {
            this.sessions
                .get(&Self::key(&user, &name))
                .map(|entry| entry.info.clone())
        };
        match (operation, answer) {
            (Operation::Destroy, answer) => {
                let info = snapshot(self);
                self.remove(&user, &name);
                answer?;
                info.ok_or(NamedSessionError::SessionNotFound { name })
            }
            (Operation::Create | Operation::Join, Err(error)) => {
                self.remove(&user, &name);
                Err(error)
            }
            (Operation::Create | Operation::Join, Ok(backend)) => {
                if let Some(entry) = self.sessions.get_mut(&Self::key(&user, &name)) {
                    entry.info.session_id = backend.session_id.or(entry.info.session_id.take());
                    entry.info.connect = backend.connect.or(entry.info.connect.take());
                }
                self.set_state(&user, &name, SessionState::Pending);
                snapshot(self).ok_or(NamedSessionError::SessionNotFound { name })
            }
            (Operation::Start { from }, Err(error)) => {
                self.set_state(&user, &name, from);
                Err(error)
            }
            (Operation::Start { .. }, Ok(backend)) => {
                if let Some(entry) = self.sessions.get_mut(&Self::key(&user, &name)) {
                    if backend.session_id.is_some() {
                        entry.info.session_id = backend.session_id;
                    }
                    if backend.connect.is_some() {
                        entry.info.connect = backend.connect;
                    }
                }
                self.set_state(&user, &name, SessionState::InProgress);
                snapshot(self).ok_or(NamedSessionError::SessionNotFound { name })
            }
            (Operation::End, Err(error)) => {
                self.set_state(&user, &name, SessionState::InProgress);
                Err(error)
            }
            (Operation::End, Ok(_)) => {
                self.set_state(&user, &name, SessionState::Ended);
                snapshot(self).ok_or(NamedSessionError::SessionNotFound { name })
            }
            (Operation::Update(_), Err(error)) => Err(error),
            (Operation::Update(settings), Ok(_)) => {
                if let Some(entry) = self.sessions.get_mut(&Self::key(&user, &name)) {
                    entry.info.settings = *settings;
                }
                snapshot(self).ok_or(NamedSessionError::SessionNotFound { name })
            }
        }
    }

    /// Registers players in a session (not while it is created or destroyed). Players already
    /// registered are left out of the answer; `is_sanctioned` players are refused when the
    /// session enables sanctions. Nothing to do is [`NoChange`](NamedSessionError::NoChange).
    pub fn register_players(
        &mut self,
        user: &str,
        name: &str,
        players: &[String],
        is_sanctioned: impl Fn(&str) -> bool,
        now: Instant,
    ) -> Result<PlayerChange, NamedSessionError> {
        let entry = self.entry(user, name)?;
        let state = entry.info.state;
        if matches!(
            state,
            SessionState::NoSession | SessionState::Creating | SessionState::Destroying
        ) {
            return Err(NamedSessionError::InvalidState {
                name: name.to_string(),
                operation: "register players in",
                state,
            });
        }
        let sanctions = entry.info.settings.sanctions_enabled;
        let mut change = PlayerChange::default();
        let mut new = BTreeSet::new();
        for player in players {
            if entry.info.registered_players.contains(player) || new.contains(player) {
                continue;
            }
            if sanctions && is_sanctioned(player) {
                change.sanctioned.push(player.clone());
            } else {
                new.insert(player.clone());
            }
        }
        if new.is_empty() && change.sanctioned.is_empty() {
            return Err(NamedSessionError::NoChange(
                "every player is registered already".into(),
            ));
        }
        let capacity = entry.info.settings.max_players as usize;
        if entry.info.registered_players.len() + new.len() > capacity {
            return Err(NamedSessionError::SessionFull {
                name: name.to_string(),
                max_players: entry.info.settings.max_players,
            });
        }
        self.rates
            .admit(&self.limits, user, CallClass::Players, now)?;
        if let Some(entry) = self.sessions.get_mut(&Self::key(user, name)) {
            for player in new {
                entry.info.registered_players.insert(player.clone());
                change.changed.push(player);
            }
        }
        Ok(change)
    }

    /// Unregisters players; players not registered are left out of the answer, and none
    /// registered is [`NoChange`](NamedSessionError::NoChange).
    pub fn unregister_players(
        &mut self,
        user: &str,
        name: &str,
        players: &[String],
        now: Instant,
    ) -> Result<PlayerChange, NamedSessionError> {
        let entry = self.entry(user, name)?;
        let present: Vec<String> = players
            .iter()
            .filter(|p| entry.info.registered_players.contains(*p))
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if present.is_empty() {
            return Err(NamedSessionError::NoChange(
                "none of these players is registered".into(),
            ));
        }
        self.rates
            .admit(&self.limits, user, CallClass::Players, now)?;
        if let Some(entry) = self.sessions.get_mut(&Self::key(user, name)) {
            for player in &present {
                entry.info.registered_players.remove(player);
            }
        }
        Ok(PlayerChange {
            changed: present,
            sanctioned: Vec::new(),
        })
    }

    /// Counts a call of `class` by `user` against its rate limit (for calls the store does not
    /// run itself, such as search and invites).
    pub fn admit(
        &mut self,
        user: &str,
        class: CallClass,
        now: Instant,
    ) -> Result<(), NamedSessionError> {
        self.rates.admit(&self.limits, user, class, now)
    }

    /// Records the backend's roster of session `name` of `user`: the players its server accepted.
    pub fn set_connected_players(&mut self, user: &str, name: &str, players: BTreeSet<String>) {
        if let Some(entry) = self.sessions.get_mut(&Self::key(user, name)) {
            entry.info.connected_players = players;
        }
    }

    /// A copy of session `name` of `user`.
    pub fn info(&self, user: &str, name: &str) -> Option<NamedSessionInfo> {
        self.sessions
            .get(&Self::key(user, name))
            .map(|entry| entry.info.clone())
    }

    /// The state of session `name` of `user` (`NoSession` if there is none).
    pub fn state(&self, user: &str, name: &str) -> SessionState {
        self.sessions
            .get(&Self::key(user, name))
            .map_or(SessionState::NoSession, |entry| entry.info.state)
    }

    /// The local names of `user`'s sessions.
    pub fn names(&self, user: &str) -> Vec<String> {
        self.sessions
            .keys()
            .filter(|(u, _)| u == user)
            .map(|(_, name)| name.clone())
            .collect()
    }

    /// Whether `player` is registered in session `name` of `user`.
    pub fn is_player_in_session(&self, user: &str, name: &str, player: &str) -> bool {
        self.sessions
            .get(&Self::key(user, name))
            .is_some_and(|entry| entry.info.registered_players.contains(player))
    }

    /// A human-readable description of one session, for logs while debugging.
    pub fn dump(&self, user: &str, name: &str) -> String {
        let Some(entry) = self.sessions.get(&Self::key(user, name)) else {
            return format!("{user}/{name}: no session");
        };
        let info = &entry.info;
        let mut text = format!(
            "{user}/{name}: {:?}, id {}, owner {}, {}/{} players, permission {:?}, join in progress {}, bucket {:?}",
            info.state,
            info.session_id.as_deref().unwrap_or("(none yet)"),
            info.owner.as_deref().unwrap_or("(server)"),
            info.registered_players.len(),
            info.settings.max_players,
            info.settings.permission,
            info.settings.join_in_progress,
            info.settings.bucket_id,
        );
        for (key, attribute) in &info.settings.attributes {
            let _ = write!(
                text,
                "\n  {key} = {:?} ({:?})",
                attribute.value, attribute.advertisement
            );
        }
        if let Some(connect) = &info.connect {
            let _ = write!(text, "\n  connect to {}", connect.address);
        }
        text
    }
}
