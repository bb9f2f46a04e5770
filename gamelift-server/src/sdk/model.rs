//! What the SDK sends and receives: game sessions, player sessions, backfill requests, and the
//! process's callbacks.
//!
//! The messages themselves are defined once, in `sdk5_protocol`, and re-exported here; this
//! module adds the SDK's request builders (which validate as the official SDKs do) and the
//! process's callbacks.

use std::fmt;
use std::sync::Arc;

use game_session::{AttributeValue, Player};
use sdk5_protocol as sdk5;

use crate::GameLiftError;

pub use sdk5::{
    GameSession, GameSessionStatus, PlayerSession, PlayerSessionCreationPolicy,
    PlayerSessionStatus, UpdateGameSession, UpdateReason,
};

/// A page of player sessions.
pub type DescribePlayerSessionsResult = sdk5::DescribePlayerSessionsResponse;

/// The TLS certificate of the compute the process runs on.
pub type ComputeCertificate = sdk5::GetComputeCertificateResponse;

/// Temporary AWS credentials for the fleet's role; `expiration` is in epoch milliseconds.
pub type FleetRoleCredentials = sdk5::GetFleetRoleCredentialsResponse;

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

    pub(crate) fn to_message(&self) -> Result<sdk5::DescribePlayerSessions, GameLiftError> {
        let mut body = sdk5::DescribePlayerSessions::default();
        match &self.filter {
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
                body.game_session_id = Some(id.clone());
            }
            PlayerSessionFilter::Player(id) => {
                if id.is_empty() || id.len() > 1024 {
                    return Err(GameLiftError::invalid(
                        "player_id",
                        "must be 1 to 1024 characters",
                    ));
                }
                body.player_id = Some(id.clone());
            }
            PlayerSessionFilter::PlayerSession(id) => {
                check_player_session_id(id)?;
                body.player_session_id = Some(id.clone());
            }
        }
        body.player_session_status_filter = self.status;
        body.next_token = self.next_token.clone().filter(|t| !t.is_empty());
        if let Some(limit) = self.limit
            && !(1..=1024).contains(&limit)
        {
            return Err(GameLiftError::invalid(
                "limit",
                format!("must be 1 to 1024, not {limit}"),
            ));
        }
        body.limit = self.limit;
        Ok(body)
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
    pub(crate) fn to_message(&self) -> Result<sdk5::StartMatchBackfill, GameLiftError> {
        let ticket_id = self.ticket_id.clone().filter(|t| !t.is_empty());
        if let Some(ticket) = &ticket_id {
            check_ticket_id(ticket)?;
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
            .map(wire_player)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(sdk5::StartMatchBackfill {
            ticket_id,
            game_session_arn: self.game_session_arn.clone(),
            matchmaking_configuration_arn: self.matchmaking_configuration_arn.clone(),
            players,
        })
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
    pub(crate) fn to_message(&self) -> Result<sdk5::StopMatchBackfill, GameLiftError> {
        if self.ticket_id.is_empty() {
            return Err(GameLiftError::invalid("ticket_id", "is required"));
        }
        check_ticket_id(&self.ticket_id)?;
        check_gamelift_arn("game_session_arn", &self.game_session_arn)?;
        check_gamelift_arn(
            "matchmaking_configuration_arn",
            &self.matchmaking_configuration_arn,
        )?;
        Ok(sdk5::StopMatchBackfill {
            ticket_id: self.ticket_id.clone(),
            game_session_arn: self.game_session_arn.clone(),
            matchmaking_configuration_arn: self.matchmaking_configuration_arn.clone(),
        })
    }
}

/// A GetFleetRoleCredentials request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetRoleCredentialsRequest {
    /// The IAM role to assume (the fleet's instance role).
    pub role_arn: String,
    /// The session name; empty uses `<fleet id>-<host id>` cut to 64 characters.
    pub role_session_name: String,
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

/// A player as StartMatchBackfill carries it; numbers must be finite.
fn wire_player(player: &Player) -> Result<sdk5::Player, GameLiftError> {
    if player.player_id.is_empty() {
        return Err(GameLiftError::InvalidPlayer {
            player_id: String::new(),
            reason: "the player id is empty".into(),
        });
    }
    let mut attributes = std::collections::BTreeMap::new();
    for (name, value) in &player.attributes {
        let attribute = match value {
            AttributeValue::S(s) => sdk5::AttributeValue::String { s: s.clone() },
            AttributeValue::N(n) => {
                if !n.is_finite() {
                    return Err(GameLiftError::InvalidPlayer {
                        player_id: player.player_id.clone(),
                        reason: format!("attribute {name} is not a finite number"),
                    });
                }
                sdk5::AttributeValue::Double { n: *n }
            }
            AttributeValue::SL(list) => sdk5::AttributeValue::StringList { sl: list.clone() },
            AttributeValue::SDM(map) => {
                if map.values().any(|n| !n.is_finite()) {
                    return Err(GameLiftError::InvalidPlayer {
                        player_id: player.player_id.clone(),
                        reason: format!("attribute {name} holds a number that is not finite"),
                    });
                }
                sdk5::AttributeValue::StringDoubleMap { sdm: map.clone() }
            }
        };
        attributes.insert(name.clone(), attribute);
    }
    Ok(sdk5::Player {
        player_id: player.player_id.clone(),
        team: player.team.clone(),
        player_attributes: attributes,
        latency_in_ms: player
            .latency_ms
            .iter()
            .map(|(region, ms)| (region.clone(), i64::from(*ms)))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn to_value<T: serde::Serialize>(message: &T) -> Value {
        serde_json::to_value(message).unwrap()
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
        let body = to_value(&request.to_message().unwrap());
        assert_eq!(
            body["Players"][0]["PlayerAttributes"]["skill"],
            json!({"AttrType": "DOUBLE", "N": 23.0})
        );
        assert_eq!(body["Players"][0]["LatencyInMs"]["us-west-2"], 40);
        assert!(body.get("TicketId").is_none());

        let mut bad = request.clone();
        bad.matchmaking_configuration_arn = "mm".into();
        assert!(matches!(
            bad.to_message(),
            Err(GameLiftError::Validation {
                field: "matchmaking_configuration_arn",
                ..
            })
        ));
        let mut bad = request.clone();
        bad.players.clear();
        assert!(matches!(
            bad.to_message(),
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
            bad.to_message(),
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
        let body = to_value(&request.to_message().unwrap());
        assert_eq!(body["PlayerSessionStatusFilter"], "ACTIVE");
        request.limit = Some(0);
        assert!(request.to_message().is_err());
        let bad = DescribePlayerSessionsRequest {
            filter: PlayerSessionFilter::PlayerSession("psess 1".into()),
            status: None,
            next_token: None,
            limit: None,
        };
        assert!(matches!(
            bad.to_message(),
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
        assert!(request.to_message().is_ok());
        let mut bad = request;
        bad.game_session_arn = "gs-1".into();
        assert!(bad.to_message().is_err());
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
