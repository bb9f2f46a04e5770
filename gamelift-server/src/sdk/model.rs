//! What the SDK sends and receives: game sessions, player sessions, backfill requests, and the
//! process's callbacks.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use game_session::{AttributeValue, Player};
use serde_json::{Map, Value, json};

use crate::GameLiftError;

/// A game session as the service hands it to its process.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GameSession {
    /// The game session id (an ARN).
    pub game_session_id: String,
    /// The name.
    pub name: String,
    /// The fleet (filled in from this process's parameters).
    pub fleet_id: String,
    /// The most players the session admits.
    pub maximum_player_session_count: u32,
    /// The port players connect to.
    pub port: u16,
    /// The IP address players connect to.
    pub ip_address: String,
    /// The DNS name players connect to, if the fleet has one.
    pub dns_name: String,
    /// Free-form data from the creator.
    pub game_session_data: String,
    /// Matchmaking results (JSON text) when FlexMatch made the session.
    pub matchmaker_data: String,
    /// Game properties.
    pub game_properties: BTreeMap<String, String>,
    /// The location, if the service sent it.
    pub location: String,
    /// The status, if the service sent it.
    pub status: String,
    /// The status reason, if the service sent it.
    pub status_reason: String,
}

impl GameSession {
    /// Reads a session from a push; `name_key` is `GameSessionName` in CreateGameSession and
    /// `Name` in UpdateGameSession. Missing, null and mistyped fields read as empty.
    pub(crate) fn from_json(object: &Map<String, Value>, name_key: &str, fleet_id: &str) -> Self {
        let mut name = text(object, name_key);
        if name.is_empty() {
            name = text(
                object,
                if name_key == "Name" {
                    "GameSessionName"
                } else {
                    "Name"
                },
            );
        }
        let mut fleet = text(object, "FleetId");
        if fleet.is_empty() {
            fleet = fleet_id.to_string();
        }
        GameSession {
            game_session_id: text(object, "GameSessionId"),
            name,
            fleet_id: fleet,
            maximum_player_session_count: number(object, "MaximumPlayerSessionCount")
                .clamp(0, u32::MAX as i64) as u32,
            port: number(object, "Port").clamp(0, u16::MAX as i64) as u16,
            ip_address: text(object, "IpAddress"),
            dns_name: text(object, "DnsName"),
            game_session_data: text(object, "GameSessionData"),
            matchmaker_data: text(object, "MatchmakerData"),
            game_properties: properties(object.get("GameProperties")),
            location: text(object, "Location"),
            status: text(object, "Status"),
            status_reason: text(object, "StatusReason"),
        }
    }
}

/// Why the service updated a game session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
    Unknown,
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

/// An update to the running game session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateGameSession {
    /// The session as it is now.
    pub game_session: GameSession,
    /// Why it changed.
    pub update_reason: UpdateReason,
    /// The backfill ticket the update concerns, if any.
    pub backfill_ticket_id: String,
}

/// The status of a player session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PlayerSessionStatus {
    /// A slot is held; the player has not connected yet.
    Reserved,
    /// The player is connected (accepted).
    Active,
    /// The player left.
    Completed,
    /// The player did not connect in time.
    TimedOut,
}

impl PlayerSessionStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reserved => "RESERVED",
            Self::Active => "ACTIVE",
            Self::Completed => "COMPLETED",
            Self::TimedOut => "TIMEDOUT",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "RESERVED" => Self::Reserved,
            "ACTIVE" => Self::Active,
            "COMPLETED" => Self::Completed,
            "TIMEDOUT" => Self::TimedOut,
            _ => return None,
        })
    }
}

/// A player session, as DescribePlayerSessions reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlayerSession {
    /// The player.
    pub player_id: String,
    /// The player session id (`psess-…`).
    pub player_session_id: String,
    /// The game session.
    pub game_session_id: String,
    /// The fleet.
    pub fleet_id: String,
    /// Free-form data from the join request.
    pub player_data: String,
    /// The address players connect to.
    pub ip_address: String,
    /// The DNS name players connect to.
    pub dns_name: String,
    /// The port.
    pub port: u16,
    /// When the player session was created (epoch milliseconds).
    pub creation_time_millis: i64,
    /// When it ended (epoch milliseconds; 0 while it has not).
    pub termination_time_millis: i64,
    /// The status; `None` for a value this version does not know.
    pub status: Option<PlayerSessionStatus>,
}

impl PlayerSession {
    fn from_json(object: &Map<String, Value>) -> Self {
        PlayerSession {
            player_id: text(object, "PlayerId"),
            player_session_id: text(object, "PlayerSessionId"),
            game_session_id: text(object, "GameSessionId"),
            fleet_id: text(object, "FleetId"),
            player_data: text(object, "PlayerData"),
            ip_address: text(object, "IpAddress"),
            dns_name: text(object, "DnsName"),
            port: number(object, "Port").clamp(0, u16::MAX as i64) as u16,
            creation_time_millis: number(object, "CreationTime"),
            termination_time_millis: number(object, "TerminationTime"),
            status: PlayerSessionStatus::parse(&text(object, "Status")),
        }
    }
}

/// Which player sessions [`describe_player_sessions`](super::GameLiftServerSdk::describe_player_sessions)
/// lists: those of one game session, one player, or one player session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlayerSessionFilter {
    /// Every player session of a game session.
    GameSession(String),
    /// Every player session of a player.
    Player(String),
    /// One player session.
    PlayerSession(String),
}

/// A DescribePlayerSessions request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribePlayerSessionsRequest {
    /// What to list.
    pub filter: PlayerSessionFilter,
    /// Only sessions with this status.
    pub status: Option<PlayerSessionStatus>,
    /// The page to read, from a previous result.
    pub next_token: Option<String>,
    /// The most sessions to return (1..=1024).
    pub limit: Option<u32>,
}

impl DescribePlayerSessionsRequest {
    /// The player sessions of `game_session_id`.
    pub fn for_game_session(game_session_id: impl Into<String>) -> Self {
        Self {
            filter: PlayerSessionFilter::GameSession(game_session_id.into()),
            status: None,
            next_token: None,
            limit: None,
        }
    }

    pub(crate) fn to_json(&self) -> Result<Map<String, Value>, GameLiftError> {
        let mut body = Map::new();
        let (key, value) = match &self.filter {
            PlayerSessionFilter::GameSession(id) => {
                if id.is_empty()
                    || !id
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || ":/-".contains(c))
                {
                    return Err(GameLiftError::invalid(
                        "game_session_id",
                        format!("{id:?} is not a game session id"),
                    ));
                }
                ("GameSessionId", id)
            }
            PlayerSessionFilter::Player(id) => {
                if id.is_empty() || id.len() > 1024 {
                    return Err(GameLiftError::invalid(
                        "player_id",
                        "must be 1 to 1024 characters",
                    ));
                }
                ("PlayerId", id)
            }
            PlayerSessionFilter::PlayerSession(id) => {
                check_player_session_id(id)?;
                ("PlayerSessionId", id)
            }
        };
        body.insert(key.into(), json!(value));
        if let Some(status) = self.status {
            body.insert("PlayerSessionStatusFilter".into(), json!(status.as_str()));
        }
        if let Some(token) = self.next_token.as_deref().filter(|t| !t.is_empty()) {
            body.insert("NextToken".into(), json!(token));
        }
        if let Some(limit) = self.limit {
            if !(1..=1024).contains(&limit) {
                return Err(GameLiftError::invalid(
                    "limit",
                    format!("must be 1 to 1024, not {limit}"),
                ));
            }
            body.insert("Limit".into(), json!(limit));
        }
        Ok(body)
    }
}

/// A page of player sessions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DescribePlayerSessionsResult {
    /// The player sessions.
    pub player_sessions: Vec<PlayerSession>,
    /// The next page, if there is one.
    pub next_token: Option<String>,
}

impl DescribePlayerSessionsResult {
    pub(crate) fn from_json(object: &Map<String, Value>) -> Self {
        let player_sessions = object
            .get("PlayerSessions")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(Value::as_object)
                    .map(PlayerSession::from_json)
                    .collect()
            })
            .unwrap_or_default();
        let next_token = Some(text(object, "NextToken")).filter(|t| !t.is_empty());
        Self {
            player_sessions,
            next_token,
        }
    }
}

/// Whether the game session accepts new players.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PlayerSessionCreationPolicy {
    /// New player sessions may be created.
    AcceptAll,
    /// No new player sessions.
    DenyAll,
}

impl PlayerSessionCreationPolicy {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AcceptAll => "ACCEPT_ALL",
            Self::DenyAll => "DENY_ALL",
        }
    }
}

/// A StartMatchBackfill request: find players for the open slots of a running session.
#[derive(Debug, Clone, PartialEq)]
pub struct StartMatchBackfillRequest {
    /// A ticket id of your choosing; the service generates one when `None`.
    pub ticket_id: Option<String>,
    /// The game session (its id, an ARN).
    pub game_session_arn: String,
    /// The matchmaking configuration (an ARN).
    pub matchmaking_configuration_arn: String,
    /// The players now in the session, with their teams and attributes.
    pub players: Vec<Player>,
}

impl StartMatchBackfillRequest {
    pub(crate) fn to_json(&self) -> Result<Map<String, Value>, GameLiftError> {
        let mut body = Map::new();
        if let Some(ticket) = self.ticket_id.as_deref().filter(|t| !t.is_empty()) {
            check_ticket_id(ticket)?;
            body.insert("TicketId".into(), json!(ticket));
        }
        if self.game_session_arn.is_empty()
            || self.game_session_arn.len() > 256
            || !self
                .game_session_arn
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ":/-".contains(c))
        {
            return Err(GameLiftError::invalid(
                "game_session_arn",
                format!("{:?} is not a game session ARN", self.game_session_arn),
            ));
        }
        check_gamelift_arn(
            "matchmaking_configuration_arn",
            &self.matchmaking_configuration_arn,
        )?;
        if self.players.is_empty() {
            return Err(GameLiftError::invalid(
                "players",
                "must list the players now in the session",
            ));
        }
        let players = self
            .players
            .iter()
            .map(player_json)
            .collect::<Result<Vec<_>, _>>()?;
        body.insert("GameSessionArn".into(), json!(self.game_session_arn));
        body.insert(
            "MatchmakingConfigurationArn".into(),
            json!(self.matchmaking_configuration_arn),
        );
        body.insert("Players".into(), Value::Array(players));
        Ok(body)
    }
}

/// A StopMatchBackfill request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopMatchBackfillRequest {
    /// The ticket to cancel.
    pub ticket_id: String,
    /// The game session (an ARN).
    pub game_session_arn: String,
    /// The matchmaking configuration (an ARN).
    pub matchmaking_configuration_arn: String,
}

impl StopMatchBackfillRequest {
    pub(crate) fn to_json(&self) -> Result<Map<String, Value>, GameLiftError> {
        if self.ticket_id.is_empty() {
            return Err(GameLiftError::invalid("ticket_id", "is required"));
        }
        check_ticket_id(&self.ticket_id)?;
        check_gamelift_arn("game_session_arn", &self.game_session_arn)?;
        check_gamelift_arn(
            "matchmaking_configuration_arn",
            &self.matchmaking_configuration_arn,
        )?;
        let mut body = Map::new();
        body.insert("TicketId".into(), json!(self.ticket_id));
        body.insert("GameSessionArn".into(), json!(self.game_session_arn));
        body.insert(
            "MatchmakingConfigurationArn".into(),
            json!(self.matchmaking_configuration_arn),
        );
        Ok(body)
    }
}

/// The TLS certificate of the compute the process runs on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ComputeCertificate {
    /// Where the certificate is on disk (empty when the fleet has none).
    pub certificate_path: String,
    /// The compute's name.
    pub compute_name: String,
}

/// A GetFleetRoleCredentials request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetRoleCredentialsRequest {
    /// The IAM role to assume (the fleet's instance role).
    pub role_arn: String,
    /// The session name; empty uses `<fleet id>-<host id>` cut to 64 characters.
    pub role_session_name: String,
}

/// Temporary AWS credentials for the fleet's role.
#[derive(Clone, PartialEq, Eq)]
pub struct FleetRoleCredentials {
    /// The assumed role user's ARN.
    pub assumed_role_user_arn: String,
    /// The assumed role id.
    pub assumed_role_id: String,
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
    /// The session token.
    pub session_token: String,
    /// When the credentials expire (epoch milliseconds).
    pub expiration_millis: i64,
}

impl fmt::Debug for FleetRoleCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FleetRoleCredentials")
            .field("assumed_role_user_arn", &self.assumed_role_user_arn)
            .field("assumed_role_id", &self.assumed_role_id)
            .field("access_key_id", &self.access_key_id)
            .field("expiration_millis", &self.expiration_millis)
            .finish_non_exhaustive()
    }
}

impl FleetRoleCredentials {
    pub(crate) fn from_json(object: &Map<String, Value>) -> Self {
        Self {
            assumed_role_user_arn: text(object, "AssumedRoleUserArn"),
            assumed_role_id: text(object, "AssumedRoleId"),
            access_key_id: text(object, "AccessKeyId"),
            secret_access_key: text(object, "SecretAccessKey"),
            session_token: text(object, "SessionToken"),
            expiration_millis: number(object, "Expiration"),
        }
    }
}

/// Called when the service places a game session on this process.
pub type StartGameSessionCallback = Arc<dyn Fn(GameSession) + Send + Sync>;
/// Called when the service updates the game session.
pub type UpdateGameSessionCallback = Arc<dyn Fn(UpdateGameSession) + Send + Sync>;
/// Called when the service asks the process to end.
pub type ProcessTerminateCallback = Arc<dyn Fn() + Send + Sync>;
/// Asked before every heartbeat: is the process healthy?
pub type HealthCheckCallback = Arc<dyn Fn() -> bool + Send + Sync>;

/// What `process_ready` tells the service, and the callbacks the SDK calls.
///
/// Callbacks run on blocking threads, never on the connection's reader, so they may block and
/// may call back into the SDK.
#[derive(Clone)]
pub struct ProcessParameters {
    /// The port players connect to (1..=60000).
    pub port: u16,
    /// Files the service keeps after the process ends (absolute paths).
    pub log_paths: Vec<String>,
    /// A game session was placed here: prepare it, then call `activate_game_session`.
    pub on_start_game_session: StartGameSessionCallback,
    /// The game session changed (backfill results).
    pub on_update_game_session: Option<UpdateGameSessionCallback>,
    /// The service will end this process. Without a callback the SDK calls `process_ending`
    /// and `destroy` itself.
    pub on_process_terminate: Option<ProcessTerminateCallback>,
    /// Health, asked every heartbeat; without a callback the process reports healthy. A
    /// callback that takes longer than the health-check budget counts as unhealthy.
    pub on_health_check: Option<HealthCheckCallback>,
}

impl fmt::Debug for ProcessParameters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessParameters")
            .field("port", &self.port)
            .field("log_paths", &self.log_paths)
            .field(
                "on_update_game_session",
                &self.on_update_game_session.is_some(),
            )
            .field("on_process_terminate", &self.on_process_terminate.is_some())
            .field("on_health_check", &self.on_health_check.is_some())
            .finish_non_exhaustive()
    }
}

impl ProcessParameters {
    /// Parameters for a process listening on `port` that starts sessions with
    /// `on_start_game_session`.
    pub fn new(
        port: u16,
        on_start_game_session: impl Fn(GameSession) + Send + Sync + 'static,
    ) -> Self {
        Self {
            port,
            log_paths: Vec::new(),
            on_start_game_session: Arc::new(on_start_game_session),
            on_update_game_session: None,
            on_process_terminate: None,
            on_health_check: None,
        }
    }

    /// Adds a log path.
    pub fn log_path(mut self, path: impl Into<String>) -> Self {
        self.log_paths.push(path.into());
        self
    }

    /// Sets the update callback.
    pub fn on_update_game_session(
        mut self,
        callback: impl Fn(UpdateGameSession) + Send + Sync + 'static,
    ) -> Self {
        self.on_update_game_session = Some(Arc::new(callback));
        self
    }

    /// Sets the terminate callback.
    pub fn on_process_terminate(mut self, callback: impl Fn() + Send + Sync + 'static) -> Self {
        self.on_process_terminate = Some(Arc::new(callback));
        self
    }

    /// Sets the health callback.
    pub fn on_health_check(mut self, callback: impl Fn() -> bool + Send + Sync + 'static) -> Self {
        self.on_health_check = Some(Arc::new(callback));
        self
    }

    pub(crate) fn validate(&self) -> Result<(), GameLiftError> {
        if !(1..=60_000).contains(&self.port) {
            return Err(GameLiftError::invalid(
                "port",
                format!("must be 1 to 60000, not {}", self.port),
            ));
        }
        if self.log_paths.len() > 10 {
            return Err(GameLiftError::invalid("log_paths", "at most 10 paths"));
        }
        if let Some(long) = self
            .log_paths
            .iter()
            .find(|p| p.is_empty() || p.len() > 1024)
        {
            return Err(GameLiftError::invalid(
                "log_paths",
                format!("{long:?} must be 1 to 1024 characters"),
            ));
        }
        Ok(())
    }
}

pub(crate) fn check_player_session_id(id: &str) -> Result<(), GameLiftError> {
    if id.is_empty()
        || id.len() > 256
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    {
        return Err(GameLiftError::invalid(
            "player_session_id",
            format!("{id:?} is not a player session id (1-256 of letters, digits, '.', '-')"),
        ));
    }
    Ok(())
}

fn check_ticket_id(ticket: &str) -> Result<(), GameLiftError> {
    if ticket.len() > 128
        || !ticket
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    {
        return Err(GameLiftError::invalid(
            "ticket_id",
            format!("{ticket:?} must be at most 128 of letters, digits, '.', '-'"),
        ));
    }
    Ok(())
}

/// `arn:(aws|aws-cn):gamelift:<region>:<account?>:<type>/<rest>`.
fn check_gamelift_arn(field: &'static str, arn: &str) -> Result<(), GameLiftError> {
    let bad = || GameLiftError::invalid(field, format!("{arn:?} is not a GameLift ARN"));
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [arn_literal, partition, service, region, account, resource] = parts[..] else {
        return Err(bad());
    };
    let region_ok = {
        let pieces: Vec<&str> = region.split('-').collect();
        pieces.len() == 3
            && pieces[0].len() == 2
            && pieces[0].chars().all(|c| c.is_ascii_lowercase())
            && !pieces[1].is_empty()
            && pieces[1].chars().all(|c| c.is_ascii_lowercase())
            && pieces[2].len() == 1
            && pieces[2].chars().all(|c| c.is_ascii_digit())
    };
    let account_ok =
        account.is_empty() || (account.len() == 12 && account.chars().all(|c| c.is_ascii_digit()));
    let resource_ok = resource.split_once('/').is_some_and(|(kind, rest)| {
        !kind.is_empty() && kind.chars().all(|c| c.is_ascii_lowercase()) && !rest.is_empty()
    });
    if arn_literal == "arn"
        && (partition == "aws" || partition == "aws-cn")
        && service == "gamelift"
        && region_ok
        && account_ok
        && resource_ok
    {
        Ok(())
    } else {
        Err(bad())
    }
}

fn player_json(player: &Player) -> Result<Value, GameLiftError> {
    if player.player_id.is_empty() {
        return Err(GameLiftError::InvalidPlayer {
            player_id: String::new(),
            reason: "the player id is empty".into(),
        });
    }
    let mut attributes = Map::new();
    for (name, value) in &player.attributes {
        let attribute = match value {
            AttributeValue::S(s) => json!({"AttrType": "STRING", "S": s}),
            AttributeValue::N(n) => {
                if !n.is_finite() {
                    return Err(GameLiftError::InvalidPlayer {
                        player_id: player.player_id.clone(),
                        reason: format!("attribute {name} is not a finite number"),
                    });
                }
                json!({"AttrType": "DOUBLE", "N": n})
            }
            AttributeValue::SL(list) => json!({"AttrType": "STRING_LIST", "SL": list}),
            AttributeValue::SDM(map) => {
                if map.values().any(|n| !n.is_finite()) {
                    return Err(GameLiftError::InvalidPlayer {
                        player_id: player.player_id.clone(),
                        reason: format!("attribute {name} holds a number that is not finite"),
                    });
                }
                json!({"AttrType": "STRING_DOUBLE_MAP", "SDM": map})
            }
        };
        attributes.insert(name.clone(), attribute);
    }
    let mut out = Map::new();
    out.insert("PlayerId".into(), json!(player.player_id));
    if !player.team.is_empty() {
        out.insert("Team".into(), json!(player.team));
    }
    out.insert("PlayerAttributes".into(), Value::Object(attributes));
    out.insert("LatencyInMs".into(), json!(player.latency_ms));
    Ok(Value::Object(out))
}

/// A string field; missing, null or mistyped reads as empty.
pub(crate) fn text(object: &Map<String, Value>, key: &str) -> String {
    match object.get(key) {
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    }
}

/// An integer field; missing, null or mistyped reads as 0.
pub(crate) fn number(object: &Map<String, Value>, key: &str) -> i64 {
    match object.get(key) {
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .unwrap_or(0),
        _ => 0,
    }
}

/// GameProperties: an object of strings (SDK 5), or the API's `[{Key, Value}]` list.
fn properties(value: Option<&Value>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    match value {
        Some(Value::Object(map)) => {
            for (key, value) in map {
                if let Some(value) = value.as_str() {
                    out.insert(key.clone(), value.to_string());
                }
            }
        }
        Some(Value::Array(list)) => {
            for entry in list.iter().filter_map(Value::as_object) {
                out.insert(text(entry, "Key"), text(entry, "Value"));
            }
        }
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_push_reads_with_nulls_and_both_name_keys() {
        let push = json!({
            "Action": "CreateGameSession",
            "GameSessionId": "arn:aws:gamelift:us-west-2::gamesession/fleet-1/gs-1",
            "GameSessionName": "duel",
            "MaximumPlayerSessionCount": 4,
            "Port": 7777,
            "IpAddress": "127.0.0.1",
            "DnsName": null,
            "GameProperties": {"mode": "ctf", "bad": 3},
        });
        let session =
            GameSession::from_json(push.as_object().unwrap(), "GameSessionName", "fleet-1");
        assert_eq!(session.name, "duel");
        assert_eq!(session.fleet_id, "fleet-1");
        assert_eq!(session.port, 7777);
        assert_eq!(session.dns_name, "");
        assert_eq!(session.game_properties.len(), 1);
        let update = json!({"GameSessionId": "x", "Name": "renamed", "GameProperties": [{"Key": "k", "Value": "v"}]});
        let session = GameSession::from_json(update.as_object().unwrap(), "Name", "fleet-1");
        assert_eq!(session.name, "renamed");
        assert_eq!(session.game_properties["k"], "v");
    }

    #[test]
    fn update_reasons_round_trip_and_unknown_is_kept_apart() {
        for reason in [
            UpdateReason::MatchmakingDataUpdated,
            UpdateReason::BackfillFailed,
            UpdateReason::BackfillTimedOut,
            UpdateReason::BackfillCancelled,
        ] {
            assert_eq!(UpdateReason::parse(reason.as_str()), reason);
        }
        assert_eq!(UpdateReason::parse("SOMETHING_NEW"), UpdateReason::Unknown);
    }

    #[test]
    fn backfill_request_has_the_wire_shape_and_validates() {
        let player = Player {
            player_id: "p1".into(),
            team: "red".into(),
            attributes: [
                ("skill".to_string(), AttributeValue::N(23.0)),
                ("mode".to_string(), AttributeValue::S("ctf".into())),
            ]
            .into(),
            latency_ms: [("us-west-2".to_string(), 40)].into(),
        };
        let request = StartMatchBackfillRequest {
            ticket_id: None,
            game_session_arn: "arn:aws:gamelift:us-west-2::gamesession/fleet-1/gs-1".into(),
            matchmaking_configuration_arn:
                "arn:aws:gamelift:us-west-2:123456789012:matchmakingconfiguration/mm".into(),
            players: vec![player],
        };
        let body = Value::Object(request.to_json().unwrap());
        assert_eq!(
            body["Players"][0]["PlayerAttributes"]["skill"],
            json!({"AttrType": "DOUBLE", "N": 23.0})
        );
        assert_eq!(body["Players"][0]["LatencyInMs"]["us-west-2"], 40);
        assert!(body.get("TicketId").is_none());

        let mut bad = request.clone();
        bad.matchmaking_configuration_arn = "mm".into();
        assert!(matches!(
            bad.to_json(),
            Err(GameLiftError::Validation {
                field: "matchmaking_configuration_arn",
                ..
            })
        ));
        let mut bad = request.clone();
        bad.players.clear();
        assert!(matches!(
            bad.to_json(),
            Err(GameLiftError::Validation {
                field: "players",
                ..
            })
        ));
        let mut bad = request;
        bad.players[0]
            .attributes
            .insert("x".into(), AttributeValue::N(f64::NAN));
        assert!(matches!(
            bad.to_json(),
            Err(GameLiftError::InvalidPlayer { .. })
        ));
    }

    #[test]
    fn describe_request_checks_its_filter_and_limit() {
        let mut request = DescribePlayerSessionsRequest::for_game_session(
            "arn:aws:gamelift:us-west-2::gamesession/f/g",
        );
        request.limit = Some(30);
        request.status = Some(PlayerSessionStatus::Active);
        let body = Value::Object(request.to_json().unwrap());
        assert_eq!(body["PlayerSessionStatusFilter"], "ACTIVE");
        request.limit = Some(0);
        assert!(request.to_json().is_err());
        let bad = DescribePlayerSessionsRequest {
            filter: PlayerSessionFilter::PlayerSession("psess 1".into()),
            status: None,
            next_token: None,
            limit: None,
        };
        assert!(matches!(
            bad.to_json(),
            Err(GameLiftError::Validation {
                field: "player_session_id",
                ..
            })
        ));
    }

    #[test]
    fn stop_backfill_needs_gamelift_arns() {
        let request = StopMatchBackfillRequest {
            ticket_id: "t-1".into(),
            game_session_arn: "arn:aws:gamelift:us-west-2::gamesession/fleet-1/gs-1".into(),
            matchmaking_configuration_arn:
                "arn:aws:gamelift:us-west-2:123456789012:matchmakingconfiguration/mm".into(),
        };
        assert!(request.to_json().is_ok());
        let mut bad = request;
        bad.game_session_arn = "gs-1".into();
        assert!(bad.to_json().is_err());
    }

    #[test]
    fn process_parameters_check_the_port() {
        assert!(ProcessParameters::new(0, |_| {}).validate().is_err());
        assert!(ProcessParameters::new(60_001, |_| {}).validate().is_err());
        assert!(
            ProcessParameters::new(7777, |_| {})
                .log_path("/logs")
                .validate()
                .is_ok()
        );
    }
}
