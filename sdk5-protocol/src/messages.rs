//! Every action's payload: the requests a process sends and their responses, and the pushes the
//! service sends.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::envelope::Empty;
use crate::lenient;

/// A request a process sends, with the action name it travels under and its response payload.
pub trait Request: Serialize + for<'de> Deserialize<'de> {
    /// The `Action` of the request and of its response.
    const ACTION: &'static str;
    /// The response payload.
    type Response: Serialize + for<'de> Deserialize<'de>;
}

/// A message the service sends without being asked.
pub trait Push: Serialize + for<'de> Deserialize<'de> {
    /// The `Action` of the push.
    const ACTION: &'static str;
}

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire),+
                }
            }

            /// Reads a wire name.
            pub fn parse(name: &str) -> Option<Self> {
                match name {
                    $($wire => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let name = String::deserialize(deserializer)?;
                $name::parse(&name).ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "{name:?} is not one of {}",
                        [$($wire),+].join(", ")
                    ))
                })
            }
        }
    };
}

wire_enum! {
    /// The status of a player session.
    PlayerSessionStatus {
        /// A slot is held; the player has not connected yet.
        Reserved = "RESERVED",
        /// The player is connected (accepted).
        Active = "ACTIVE",
        /// The player left.
        Completed = "COMPLETED",
        /// The player did not connect in time.
        TimedOut = "TIMEDOUT",
    }
}

wire_enum! {
    /// Whether a game session accepts new players.
    PlayerSessionCreationPolicy {
        /// New player sessions are accepted.
        AcceptAll = "ACCEPT_ALL",
        /// New player sessions are refused.
        DenyAll = "DENY_ALL",
    }
}

wire_enum! {
    /// The status of a game session, as `UpdateGameSession` may report it.
    GameSessionStatus {
        /// Players can join.
        Active = "ACTIVE",
        /// Waiting for the process to activate it.
        Activating = "ACTIVATING",
        /// Ended.
        Terminated = "TERMINATED",
        /// Ending.
        Terminating = "TERMINATING",
        /// Ended in error.
        Error = "ERROR",
        /// Not set.
        NotSet = "NOT_SET",
    }
}

/// Why the service updated a game session. An unknown reason reads as [`UpdateReason::Unknown`],
/// as in the official SDKs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum UpdateReason {
    /// New matchmaker data (backfill placed players).
    MatchmakingDataUpdated,
    /// A backfill request failed.
    BackfillFailed,
    /// A backfill request timed out.
    BackfillTimedOut,
    /// A backfill request was cancelled.
    BackfillCancelled,
    /// Any other reason.
    #[default]
    Unknown,
}

impl PlayerSessionStatus {
    /// Whether a player session in this status holds a slot in its game session.
    pub fn holds_slot(self) -> bool {
        matches!(self, Self::Reserved | Self::Active)
    }
}

impl UpdateReason {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MatchmakingDataUpdated => "MATCHMAKING_DATA_UPDATED",
            Self::BackfillFailed => "BACKFILL_FAILED",
            Self::BackfillTimedOut => "BACKFILL_TIMED_OUT",
            Self::BackfillCancelled => "BACKFILL_CANCELLED",
            Self::Unknown => "UNKNOWN",
        }
    }

    /// Reads a wire name; anything unknown is [`UpdateReason::Unknown`].
    pub fn parse(name: &str) -> Self {
        match name {
            "MATCHMAKING_DATA_UPDATED" => Self::MatchmakingDataUpdated,
            "BACKFILL_FAILED" => Self::BackfillFailed,
            "BACKFILL_TIMED_OUT" => Self::BackfillTimedOut,
            "BACKFILL_CANCELLED" => Self::BackfillCancelled,
            _ => Self::Unknown,
        }
    }
}

impl fmt::Display for UpdateReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for UpdateReason {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for UpdateReason {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name: String = lenient::or_default(deserializer)?;
        Ok(Self::parse(&name))
    }
}

// ----- process -> service -------------------------------------------------------------------

/// `ActivateServerProcess`, sent by `ProcessReady()`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ActivateServerProcess {
    /// The SDK's version.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub sdk_version: String,
    /// The SDK's language.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub sdk_language: String,
    /// The engine plugin, if any.
    #[serde(
        default,
        deserialize_with = "lenient::non_empty",
        skip_serializing_if = "Option::is_none"
    )]
    pub sdk_tool_name: Option<String>,
    /// The engine plugin's version, if any.
    #[serde(
        default,
        deserialize_with = "lenient::non_empty",
        skip_serializing_if = "Option::is_none"
    )]
    pub sdk_tool_version: Option<String>,
    /// The port players connect to.
    #[serde(default, deserialize_with = "lenient::int")]
    pub port: u16,
    /// Log files to keep.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub log_paths: Vec<String>,
}

impl Request for ActivateServerProcess {
    const ACTION: &'static str = "ActivateServerProcess";
    type Response = Empty;
}

/// `HeartbeatServerProcess`: the process's health report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HeartbeatServerProcess {
    /// Whether the process is healthy.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub health_status: bool,
}

impl Request for HeartbeatServerProcess {
    const ACTION: &'static str = "HeartbeatServerProcess";
    type Response = Empty;
}

/// A request that names only the process's game session.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ActivateGameSession {
    /// The game session (its ARN).
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub game_session_id: String,
}

impl Request for ActivateGameSession {
    const ACTION: &'static str = "ActivateGameSession";
    type Response = Empty;
}

/// `UpdatePlayerSessionCreationPolicy`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdatePlayerSessionCreationPolicy {
    /// The game session.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub game_session_id: String,
    /// The new policy; absent or null is refused by the service.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub player_session_policy: Option<PlayerSessionCreationPolicy>,
}

impl Request for UpdatePlayerSessionCreationPolicy {
    const ACTION: &'static str = "UpdatePlayerSessionCreationPolicy";
    type Response = Empty;
}

/// `AcceptPlayerSession` and `RemovePlayerSession` share this payload.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PlayerSessionAction {
    /// The game session.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub game_session_id: String,
    /// The player session (`psess-...`).
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub player_session_id: String,
}

/// `AcceptPlayerSession`: a player presented this player session id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AcceptPlayerSession(pub PlayerSessionAction);

impl Request for AcceptPlayerSession {
    const ACTION: &'static str = "AcceptPlayerSession";
    type Response = Empty;
}

/// `RemovePlayerSession`: the player left.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RemovePlayerSession(pub PlayerSessionAction);

impl Request for RemovePlayerSession {
    const ACTION: &'static str = "RemovePlayerSession";
    type Response = Empty;
}

/// `DescribePlayerSessions`: exactly one of the three ids.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribePlayerSessions {
    /// Player sessions of this game session.
    #[serde(
        default,
        deserialize_with = "lenient::non_empty",
        skip_serializing_if = "Option::is_none"
    )]
    pub game_session_id: Option<String>,
    /// Player sessions of this player.
    #[serde(
        default,
        deserialize_with = "lenient::non_empty",
        skip_serializing_if = "Option::is_none"
    )]
    pub player_id: Option<String>,
    /// This one player session.
    #[serde(
        default,
        deserialize_with = "lenient::non_empty",
        skip_serializing_if = "Option::is_none"
    )]
    pub player_session_id: Option<String>,
    /// Only player sessions in this status.
    #[serde(
        default,
        deserialize_with = "lenient::or_default",
        skip_serializing_if = "Option::is_none"
    )]
    pub player_session_status_filter: Option<PlayerSessionStatus>,
    /// Where the previous page ended.
    #[serde(
        default,
        deserialize_with = "lenient::non_empty",
        skip_serializing_if = "Option::is_none"
    )]
    pub next_token: Option<String>,
    /// Most results per page.
    #[serde(
        default,
        deserialize_with = "lenient::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub limit: Option<u32>,
}

/// A player session, as `DescribePlayerSessions` reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PlayerSession {
    /// The player.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub player_id: String,
    /// The player session id (`psess-...`).
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub player_session_id: String,
    /// The game session.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub game_session_id: String,
    /// The fleet.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub fleet_id: String,
    /// Free-form data from the join request.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub player_data: String,
    /// The address players connect to.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub ip_address: String,
    /// The port.
    #[serde(default, deserialize_with = "lenient::int")]
    pub port: u16,
    /// When the player session was created (epoch milliseconds).
    #[serde(default, deserialize_with = "lenient::int")]
    pub creation_time: i64,
    /// When it ended (epoch milliseconds; 0 while it has not).
    #[serde(default, deserialize_with = "lenient::int")]
    pub termination_time: i64,
    /// The DNS name players connect to.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub dns_name: String,
    /// The status.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub status: Option<PlayerSessionStatus>,
}

/// The answer to `DescribePlayerSessions`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribePlayerSessionsResponse {
    /// Where the next page starts; `None` on the last page.
    #[serde(
        default,
        deserialize_with = "lenient::non_empty",
        skip_serializing_if = "Option::is_none"
    )]
    pub next_token: Option<String>,
    /// This page.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub player_sessions: Vec<PlayerSession>,
}

impl Request for DescribePlayerSessions {
    const ACTION: &'static str = "DescribePlayerSessions";
    type Response = DescribePlayerSessionsResponse;
}

/// A player attribute as matchmaking sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "AttrType")]
pub enum AttributeValue {
    /// A string.
    #[serde(rename = "STRING")]
    String {
        /// The value.
        #[serde(rename = "S")]
        s: String,
    },
    /// A number.
    #[serde(rename = "DOUBLE")]
    Double {
        /// The value.
        #[serde(rename = "N")]
        n: f64,
    },
    /// A list of strings.
    #[serde(rename = "STRING_LIST")]
    StringList {
        /// The value.
        #[serde(rename = "SL")]
        sl: Vec<String>,
    },
    /// A map of strings to numbers.
    #[serde(rename = "STRING_DOUBLE_MAP")]
    StringDoubleMap {
        /// The value.
        #[serde(rename = "SDM")]
        sdm: BTreeMap<String, f64>,
    },
    /// No value.
    #[serde(rename = "NONE")]
    None,
}

/// A player in a backfill request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Player {
    /// The player.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub player_id: String,
    /// The team the player is on.
    #[serde(
        default,
        deserialize_with = "lenient::or_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub team: String,
    /// Attributes the rules look at.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub player_attributes: BTreeMap<String, AttributeValue>,
    /// Latency to each Region, in milliseconds.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub latency_in_ms: BTreeMap<String, i64>,
}

/// `StartMatchBackfill`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartMatchBackfill {
    /// A ticket id; the service makes one when absent.
    #[serde(
        default,
        deserialize_with = "lenient::non_empty",
        skip_serializing_if = "Option::is_none"
    )]
    pub ticket_id: Option<String>,
    /// The game session to fill.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub game_session_arn: String,
    /// The matchmaking configuration.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub matchmaking_configuration_arn: String,
    /// The players now in the session.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub players: Vec<Player>,
}

/// The answer to `StartMatchBackfill`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartMatchBackfillResponse {
    /// The backfill ticket.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub ticket_id: String,
}

impl Request for StartMatchBackfill {
    const ACTION: &'static str = "StartMatchBackfill";
    type Response = StartMatchBackfillResponse;
}

/// `StopMatchBackfill`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StopMatchBackfill {
    /// The backfill ticket.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub ticket_id: String,
    /// The game session.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub game_session_arn: String,
    /// The matchmaking configuration.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub matchmaking_configuration_arn: String,
}

impl Request for StopMatchBackfill {
    const ACTION: &'static str = "StopMatchBackfill";
    type Response = Empty;
}

/// `GetComputeCertificate`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetComputeCertificate {}

/// The answer to `GetComputeCertificate`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetComputeCertificateResponse {
    /// Where the compute's TLS certificate is.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub certificate_path: String,
    /// The compute's name.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub compute_name: String,
}

impl Request for GetComputeCertificate {
    const ACTION: &'static str = "GetComputeCertificate";
    type Response = GetComputeCertificateResponse;
}

/// `GetFleetRoleCredentials`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetFleetRoleCredentials {
    /// The role to assume.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub role_arn: String,
    /// The session name.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub role_session_name: String,
}

/// The answer to `GetFleetRoleCredentials`; an empty `AccessKeyId` means "not a managed fleet".
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetFleetRoleCredentialsResponse {
    /// The assumed role's user ARN.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub assumed_role_user_arn: String,
    /// The assumed role's id.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub assumed_role_id: String,
    /// The access key id.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub access_key_id: String,
    /// The secret access key.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub secret_access_key: String,
    /// The session token.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub session_token: String,
    /// When they expire (epoch milliseconds).
    #[serde(default, deserialize_with = "lenient::int")]
    pub expiration: i64,
}

impl fmt::Debug for GetFleetRoleCredentialsResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GetFleetRoleCredentialsResponse")
            .field("assumed_role_user_arn", &self.assumed_role_user_arn)
            .field("assumed_role_id", &self.assumed_role_id)
            .field("access_key_id", &self.access_key_id)
            .field("expiration", &self.expiration)
            .finish_non_exhaustive()
    }
}

impl Request for GetFleetRoleCredentials {
    const ACTION: &'static str = "GetFleetRoleCredentials";
    type Response = GetFleetRoleCredentialsResponse;
}

/// `TerminateServerProcess`, sent by `ProcessEnding()`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TerminateServerProcess {}

impl Request for TerminateServerProcess {
    const ACTION: &'static str = "TerminateServerProcess";
    type Response = Empty;
}

// ----- service -> process -------------------------------------------------------------------

/// A game session as `UpdateGameSession` carries it (the name under `Name`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GameSession {
    /// The game session id (an ARN).
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub game_session_id: String,
    /// The name.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub name: String,
    /// The fleet.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub fleet_id: String,
    /// Free-form data from the creator.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub game_session_data: String,
    /// Matchmaking results (JSON text) when FlexMatch made the session.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub matchmaker_data: String,
    /// The DNS name players connect to.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub dns_name: String,
    /// The address players connect to.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub ip_address: String,
    /// The most players the session admits.
    #[serde(default, deserialize_with = "lenient::int")]
    pub maximum_player_session_count: u32,
    /// The port players connect to.
    #[serde(default, deserialize_with = "lenient::int")]
    pub port: u16,
    /// Game properties: an object of strings on this protocol.
    #[serde(default, deserialize_with = "lenient::properties")]
    pub game_properties: BTreeMap<String, String>,
    /// The location.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub location: String,
    /// The status.
    #[serde(
        default,
        deserialize_with = "lenient::or_default",
        skip_serializing_if = "Option::is_none"
    )]
    pub status: Option<GameSessionStatus>,
    /// Why the status is what it is.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub status_reason: String,
}

/// `CreateGameSession`: host this game session. Its members sit at the top level and the name is
/// `GameSessionName`; there is no `FleetId` (the SDK fills in its own).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateGameSession {
    /// The game session id (an ARN).
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub game_session_id: String,
    /// The name.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub game_session_name: String,
    /// Free-form data from the creator.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub game_session_data: String,
    /// Matchmaking results (JSON text).
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub matchmaker_data: String,
    /// The DNS name players connect to.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub dns_name: String,
    /// The address players connect to.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub ip_address: String,
    /// The most players the session admits.
    #[serde(default, deserialize_with = "lenient::int")]
    pub maximum_player_session_count: u32,
    /// The port players connect to.
    #[serde(default, deserialize_with = "lenient::int")]
    pub port: u16,
    /// Game properties.
    #[serde(default, deserialize_with = "lenient::properties")]
    pub game_properties: BTreeMap<String, String>,
    /// The location (not read by the official SDKs).
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub location: String,
}

impl Push for CreateGameSession {
    const ACTION: &'static str = "CreateGameSession";
}

impl CreateGameSession {
    /// The session it describes, in the form `UpdateGameSession` uses, with `fleet_id`.
    pub fn into_game_session(self, fleet_id: &str) -> GameSession {
        GameSession {
            game_session_id: self.game_session_id,
            name: self.game_session_name,
            fleet_id: fleet_id.to_string(),
            game_session_data: self.game_session_data,
            matchmaker_data: self.matchmaker_data,
            dns_name: self.dns_name,
            ip_address: self.ip_address,
            maximum_player_session_count: self.maximum_player_session_count,
            port: self.port,
            game_properties: self.game_properties,
            location: self.location,
            status: None,
            status_reason: String::new(),
        }
    }
}

/// `UpdateGameSession`: the running session changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateGameSession {
    /// The session as it is now.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub game_session: GameSession,
    /// Why it changed.
    #[serde(default)]
    pub update_reason: UpdateReason,
    /// The backfill ticket it concerns, if any.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub backfill_ticket_id: String,
}

impl Push for UpdateGameSession {
    const ACTION: &'static str = "UpdateGameSession";
}

/// `TerminateProcess`: the service will end this process.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TerminateProcess {
    /// When (epoch milliseconds); 0 when not set.
    #[serde(default, deserialize_with = "lenient::int")]
    pub termination_time: i64,
}

impl Push for TerminateProcess {
    const ACTION: &'static str = "TerminateProcess";
}

/// `RefreshConnection`: reconnect to this endpoint with this token.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RefreshConnection {
    /// The endpoint to connect to.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub refresh_connection_endpoint: String,
    /// The token to present.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub auth_token: String,
}

impl Push for RefreshConnection {
    const ACTION: &'static str = "RefreshConnection";
}
