//! Session and matchmaking data, shared by every backend.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::SessionError;

/// Where a game session runs, as the backend reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum SessionStatus {
    /// Being started on a server.
    Activating,
    /// Running.
    Active,
    /// Ending.
    Terminating,
    /// Ended.
    Terminated,
    /// Failed to start.
    Error,
    /// Not reported, or a value this version does not know.
    #[default]
    Unknown,
}

/// The lifecycle of a session as a game sees it, the eight states Unreal's online subsystems and
/// Epic Online Services share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum SessionState {
    /// No session.
    #[default]
    NoSession,
    /// Being created.
    Creating,
    /// Created, not started: the pre-match lobby.
    Pending,
    /// Start requested, waiting for the backend.
    Starting,
    /// Started; joinable only with join-in-progress.
    InProgress,
    /// Ending: the post-match lobby, still valid.
    Ending,
    /// Ended; may be started again.
    Ended,
    /// Being destroyed.
    Destroying,
}

impl SessionState {
    /// Whether players may join in this state (`join_in_progress`: whether started sessions
    /// accept joins).
    pub fn is_joinable(self, join_in_progress: bool) -> bool {
        match self {
            SessionState::NoSession | SessionState::Creating | SessionState::Destroying => false,
            SessionState::Starting | SessionState::InProgress => join_in_progress,
            SessionState::Pending | SessionState::Ending | SessionState::Ended => true,
        }
    }
}

/// A live session.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SessionConfig {
    /// Creation time, milliseconds since the Unix epoch.
    pub creation_time: u64,
    /// Termination time, milliseconds since the Unix epoch (0 while running).
    pub termination_time: u64,
    /// Who created it.
    pub creator_id: String,
    /// Custom properties (GameLift game properties).
    pub session_properties: BTreeMap<String, String>,
    /// Matchmaker data (JSON text), when the session came from matchmaking.
    pub matchmaking_data: String,
    /// Unique id.
    pub session_id: String,
    /// Display name.
    pub session_name: String,
    /// DNS name of the host, when it has one.
    pub dns_name: String,
    /// IP address of the host.
    pub ip_address: String,
    /// Port of the host.
    pub port: u16,
    /// Capacity.
    pub max_players: u32,
    /// Players holding a slot.
    pub current_players: u32,
    /// Backend status.
    pub status: SessionStatus,
    /// Why the status is what it is (for example `FORCE_TERMINATED`), if the backend says.
    pub status_reason: String,
}

/// Where a create-session request should put the session.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum SessionPlacement {
    /// Wherever the backend is configured to create sessions.
    #[default]
    Default,
    /// On a fleet, at an optional location.
    Fleet {
        /// The fleet id or ARN.
        fleet_id: String,
        /// The location (required by some fleets, for example GameLift Anywhere).
        location: Option<String>,
    },
    /// On the fleet an alias points to.
    Alias {
        /// The alias id or ARN.
        alias_id: String,
        /// The location.
        location: Option<String>,
    },
    /// Through a placement queue.
    Queue {
        /// The queue name or ARN.
        queue_name: String,
        /// A unique, developer-chosen placement id.
        placement_id: String,
    },
}

/// A request to create a session.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CreateSessionRequest {
    /// Who creates it.
    pub creator_id: String,
    /// Custom properties.
    pub session_properties: BTreeMap<String, String>,
    /// Display name.
    pub session_name: String,
    /// Capacity.
    pub max_players: u32,
    /// Where to create it.
    pub placement: SessionPlacement,
    /// Makes retries safe: the same token returns the session the first request created.
    pub idempotency_token: Option<String>,
}

impl CreateSessionRequest {
    /// Checks what any backend needs: a capacity, and the ids a placement names.
    pub fn validate(&self) -> Result<(), SessionError> {
        if self.max_players == 0 {
            return Err(SessionError::invalid("max_players", "must be at least 1"));
        }
        match &self.placement {
            SessionPlacement::Default => {}
            SessionPlacement::Fleet { fleet_id, .. } if fleet_id.is_empty() => {
                return Err(SessionError::invalid("placement.fleet_id", "is empty"));
            }
            SessionPlacement::Alias { alias_id, .. } if alias_id.is_empty() => {
                return Err(SessionError::invalid("placement.alias_id", "is empty"));
            }
            SessionPlacement::Queue {
                queue_name,
                placement_id,
            } => {
                if queue_name.is_empty() {
                    return Err(SessionError::invalid("placement.queue_name", "is empty"));
                }
                if placement_id.is_empty() {
                    return Err(SessionError::invalid("placement.placement_id", "is empty"));
                }
            }
            _ => {}
        }
        if self.idempotency_token.as_deref() == Some("") {
            return Err(SessionError::invalid(
                "idempotency_token",
                "is empty (use None)",
            ));
        }
        Ok(())
    }
}

/// Where to search.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum SearchTarget {
    /// The backend's configured fleet or alias.
    #[default]
    Default,
    /// A fleet.
    Fleet(String),
    /// The fleet an alias points to.
    Alias(String),
}

/// A search for joinable sessions.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SearchSessionsRequest {
    /// Filter expression (empty: every active session). GameLift's grammar:
    /// `gameSessionProperties.mode = 'ctf' AND hasAvailablePlayerSessions = true`.
    pub filter_expression: String,
    /// Sort expression (empty: backend order), for example `creationTimeMillis DESC`.
    pub sort_expression: String,
    /// Results per page (0: the backend's default).
    pub max_results: u8,
    /// The page to fetch, from a previous response.
    pub next_token: Option<String>,
    /// Where to search.
    pub target: SearchTarget,
    /// Only sessions at this location.
    pub location: Option<String>,
}

/// One page of search results.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SearchSessionsResponse {
    /// The sessions found.
    pub session_configs: Vec<SessionConfig>,
    /// The next page, if any.
    pub next_token: Option<String>,
}

/// A request to join a session.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct JoinSessionRequest {
    /// The session.
    pub session_id: String,
    /// The player (developer-defined id).
    pub player_id: String,
    /// Data for the game server about this player.
    pub player_data: String,
}

impl JoinSessionRequest {
    /// Checks the ids are present.
    pub fn validate(&self) -> Result<(), SessionError> {
        if self.session_id.is_empty() {
            return Err(SessionError::invalid("session_id", "is empty"));
        }
        if self.player_id.is_empty() {
            return Err(SessionError::invalid("player_id", "is empty"));
        }
        Ok(())
    }
}

/// How a client reaches the server of a session it joined.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SessionConnectionConfig {
    /// The ticket the client presents to the server.
    pub player_session_id: String,
    /// The host's DNS name (TLS fleets), or empty.
    pub dns_name: String,
    /// The host's IP address.
    pub ip_address: String,
    /// The host's port.
    pub port: u16,
}

impl SessionConnectionConfig {
    /// The host to connect to: the DNS name when there is one, else the IP address.
    pub fn host(&self) -> &str {
        if self.dns_name.is_empty() {
            &self.ip_address
        } else {
            &self.dns_name
        }
    }
}

/// A player's connection as the server sees it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct PlayerConnectionConfig {
    /// The network layer's id for the connection.
    pub player_connection_id: u32,
    /// The ticket the player presented.
    pub player_session_id: String,
}

/// A matchmaking attribute value: exactly one of the four forms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AttributeValue {
    /// A string (1..100 characters).
    S(String),
    /// A number.
    N(f64),
    /// A list of strings.
    SL(Vec<String>),
    /// A map of strings to numbers.
    SDM(BTreeMap<String, f64>),
}

/// A player in a matchmaking request.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Player {
    /// The player's id.
    pub player_id: String,
    /// The team, once matched.
    pub team: String,
    /// Attributes the rules look at.
    pub attributes: BTreeMap<String, AttributeValue>,
    /// Latency to each region, in milliseconds.
    pub latency_ms: BTreeMap<String, u32>,
}

/// A request to start matchmaking.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct StartMatchmakingRequest {
    /// A ticket id (empty: the backend makes one).
    pub ticket_id: String,
    /// The matchmaking configuration.
    pub configuration_name: String,
    /// The players (at least one).
    pub players: Vec<Player>,
}

impl StartMatchmakingRequest {
    /// Checks the configuration and the players.
    pub fn validate(&self) -> Result<(), SessionError> {
        if self.configuration_name.is_empty() {
            return Err(SessionError::invalid("configuration_name", "is empty"));
        }
        if self.players.is_empty() {
            return Err(SessionError::invalid(
                "players",
                "needs at least one player",
            ));
        }
        if let Some(index) = self.players.iter().position(|p| p.player_id.is_empty()) {
            return Err(SessionError::invalid(
                "players.player_id",
                format!("player {index} has an empty id"),
            ));
        }
        Ok(())
    }
}

/// A request to stop matchmaking.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StopMatchmakingRequest {
    /// The ticket.
    pub ticket_id: String,
}

/// Accepting or rejecting a proposed match.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AcceptMatchRequest {
    /// Accept (true) or reject.
    pub accept_match: bool,
    /// The players answering.
    pub player_ids: Vec<String>,
    /// The ticket.
    pub ticket_id: String,
}
