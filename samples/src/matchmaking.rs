//! The matchmaking side of the quickstart: a 4v4 FlexMatch rule set on `gamelift-local`, one
//! player (the hero) through the buses (the client manager's matchmaking requests, its ticket
//! tracker and `MatchmakingNotifications`), the others as plain `aws-sdk-gamelift` clients, and
//! every player connecting to the game server over TCP with the player session the match gave
//! them.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_gamelift::Client;
use aws_sdk_gamelift::types::{
    AcceptanceType, AttributeValue, BackfillMode, FlexMatchMode, GameSessionQueueDestination,
    MatchmakingConfigurationStatus as Status, MatchmakingTicket, Player,
};
use ebus::Connection;
use game_session::{
    AcceptMatchRequest, MATCHMAKING_NOTIFICATIONS, MATCHMAKING_REQUESTS, MatchmakingNotifications,
    SessionConnectionConfig, StartMatchmakingRequest, StopMatchmakingRequest,
};
use gamelift_client::MATCHMAKING_EVENT_REQUESTS;
use tokio::sync::mpsc;

use crate::client::TcpPlayers;
use crate::story::on_bus;

/// The rule set: two teams of four, team skill averages within 10 of the match's average, or
/// within 50 after 10 s of waiting.
pub const RULE_SET: &str = r#"{
    "name": "quickstart-4v4",
    "ruleLanguageVersion": "1.0",
    "playerAttributes": [{"name": "skill", "type": "number", "default": 10}],
    "teams": [{"name": "red", "minPlayers": 4, "maxPlayers": 4},
              {"name": "blue", "minPlayers": 4, "maxPlayers": 4}],
    "rules": [{"name": "FairTeamSkill", "type": "distance",
               "measurements": ["avg(teams[*].players.attributes[skill])"],
               "referenceValue": "avg(flatten(teams[*].players.attributes[skill]))",
               "maxDistance": 10}],
    "expansions": [{"target": "rules[FairTeamSkill].maxDistance",
                    "steps": [{"waitTimeSeconds": 10, "value": 50}]}]
}"#;

/// The matchmaking configuration's name.
pub const CONFIGURATION: &str = "quickstart-4v4";

/// What the hero's `MatchmakingNotifications` reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeroEvent {
    /// `on_match_acceptance`.
    Acceptance,
    /// `on_match_complete`: the tracker joined the session.
    Complete,
    /// `on_match_error`.
    Error,
    /// `on_match_failure`.
    Failure,
}

struct Listener(mpsc::UnboundedSender<HeroEvent>);

impl MatchmakingNotifications for Listener {
    fn on_match_acceptance(&self) {
        let _ = self.0.send(HeroEvent::Acceptance);
    }
    fn on_match_complete(&self) {
        let _ = self.0.send(HeroEvent::Complete);
    }
    fn on_match_error(&self) {
        let _ = self.0.send(HeroEvent::Error);
    }
    fn on_match_failure(&self) {
        let _ = self.0.send(HeroEvent::Failure);
    }
}

/// The hero: matchmaking through the buses.
pub struct Hero {
    /// The player id.
    pub id: String,
    events: mpsc::UnboundedReceiver<HeroEvent>,
    _listener: Connection,
}

impl Hero {
    /// Listens on `MatchmakingNotifications`.
    pub fn new(id: &str) -> Result<Self, String> {
        let (sender, events) = mpsc::unbounded_channel();
        let listener = MATCHMAKING_NOTIFICATIONS
            .connect(Arc::new(Listener(sender)))
            .map_err(|e| e.to_string())?;
        Ok(Self {
            id: id.to_string(),
            events,
            _listener: listener,
        })
    }

    /// Starts matchmaking (`MatchmakingRequests::start_matchmaking`) and has the client
    /// manager's tracker follow the ticket (`MatchmakingEventRequests::start_polling`).
    pub async fn start(&self, skill: f64) -> Result<String, String> {
        let mut player = game_session::Player {
            player_id: self.id.clone(),
            ..Default::default()
        };
        player
            .attributes
            .insert("skill".into(), game_session::AttributeValue::N(skill));
        let request = StartMatchmakingRequest {
            ticket_id: String::new(),
            configuration_name: CONFIGURATION.into(),
            players: vec![player],
        };
        let id = self.id.clone();
        on_bus(move || {
            let ticket = MATCHMAKING_REQUESTS
                .broadcast_result(|m| m.start_matchmaking(&request))
                .ok_or("no matchmaking provider")?
                .map_err(|e| e.to_string())?;
            let following = MATCHMAKING_EVENT_REQUESTS
                .broadcast_result(|t| t.start_polling(&ticket, &id))
                .unwrap_or(false);
            if following {
                Ok(ticket)
            } else {
                Err("the ticket tracker did not take the ticket".into())
            }
        })
        .await
    }

    /// Stops looking (`MatchmakingRequests::stop_matchmaking`).
    pub async fn stop(&self, ticket: &str) -> Result<(), String> {
        let request = StopMatchmakingRequest {
            ticket_id: ticket.to_string(),
        };
        on_bus(move || {
            MATCHMAKING_REQUESTS
                .broadcast_result(|m| m.stop_matchmaking(&request))
                .ok_or("no matchmaking provider")?
                .map_err(|e| e.to_string())
        })
        .await
    }

    /// Answers a proposed match (`MatchmakingRequests::accept_match`).
    pub async fn answer(&self, ticket: &str, accept: bool) -> Result<(), String> {
        let request = AcceptMatchRequest {
            accept_match: accept,
            player_ids: vec![self.id.clone()],
            ticket_id: ticket.to_string(),
        };
        on_bus(move || {
            MATCHMAKING_REQUESTS
                .broadcast_result(|m| m.accept_match(&request))
                .ok_or("no matchmaking provider")?
                .map_err(|e| e.to_string())
        })
        .await
    }

    /// Accepts every match proposed to the ticket (the tracker announces acceptance at each poll
    /// while the ticket waits for it, as O3DE's does; answering again is harmless) until the
    /// match completes; returns how many times the hero was asked. `accepted` is notified each
    /// time an answer was taken.
    pub async fn accept_until_complete(
        &mut self,
        ticket: &str,
        accepted: &tokio::sync::Notify,
    ) -> Result<usize, String> {
        let mut asked = 0;
        loop {
            match self.next().await? {
                HeroEvent::Acceptance => {
                    asked += 1;
                    // A proposal that moved on meanwhile refuses the answer; the tracker
                    // tells what comes next.
                    if self.answer(ticket, true).await.is_ok() {
                        accepted.notify_one();
                    }
                }
                HeroEvent::Complete => return Ok(asked),
                HeroEvent::Error => {}
                HeroEvent::Failure => {
                    return Err(format!(
                        "{}'s ticket failed, timed out or was cancelled",
                        self.id
                    ));
                }
            }
        }
    }

    /// The next notification (bounded: 60 s).
    pub async fn next(&mut self) -> Result<HeroEvent, String> {
        tokio::time::timeout(Duration::from_secs(60), self.events.recv())
            .await
            .map_err(|_| "no matchmaking notification within 60 s".to_string())?
            .ok_or_else(|| "the notifications stopped".to_string())
    }
}

/// Sets up the rule set, a queue on `fleet` and the configuration (acceptance required, 30 s;
/// automatic backfill).
pub async fn set_up(client: &Client, fleet: &str) -> Result<(), String> {
    client
        .create_matchmaking_rule_set()
        .name(CONFIGURATION)
        .rule_set_body(RULE_SET)
        .send()
        .await
        .map_err(|e| format!("CreateMatchmakingRuleSet: {}", sdk_error(&e)))?;
    let queue = client
        .create_game_session_queue()
        .name("quickstart-matches")
        .destinations(
            GameSessionQueueDestination::builder()
                .destination_arn(fleet)
                .build(),
        )
        .send()
        .await
        .map_err(|e| format!("CreateGameSessionQueue: {}", sdk_error(&e)))?
        .game_session_queue
        .and_then(|q| q.game_session_queue_arn)
        .ok_or("the queue has no ARN")?;
    client
        .create_matchmaking_configuration()
        .name(CONFIGURATION)
        .rule_set_name(CONFIGURATION)
        .flex_match_mode(FlexMatchMode::WithQueue)
        .game_session_queue_arns(queue)
        .request_timeout_seconds(120)
        .acceptance_required(true)
        .acceptance_timeout_seconds(30)
        .backfill_mode(BackfillMode::Automatic)
        .send()
        .await
        .map_err(|e| format!("CreateMatchmakingConfiguration: {}", sdk_error(&e)))?;
    Ok(())
}

fn sdk_error<E: aws_sdk_gamelift::error::ProvideErrorMetadata>(error: &E) -> String {
    format!(
        "{}: {}",
        error.code().unwrap_or("error"),
        error.message().unwrap_or("")
    )
}

/// A player matched with the plain AWS SDK client.
pub struct Bot {
    /// The player id.
    pub id: String,
    /// The ticket.
    pub ticket: String,
    /// The player's TCP connection, once joined.
    pub connection: TcpPlayers,
}

impl Bot {
    /// Starts matchmaking for `id`.
    pub async fn start(client: &Client, id: &str, skill: f64) -> Result<Self, String> {
        let ticket = client
            .start_matchmaking()
            .configuration_name(CONFIGURATION)
            .players(
                Player::builder()
                    .player_id(id)
                    .player_attributes("skill", AttributeValue::builder().n(skill).build())
                    .build(),
            )
            .send()
            .await
            .map_err(|e| format!("StartMatchmaking for {id}: {}", sdk_error(&e)))?
            .matchmaking_ticket
            .and_then(|t| t.ticket_id)
            .ok_or("no ticket id")?;
        Ok(Self {
            id: id.to_string(),
            ticket,
            connection: TcpPlayers::default(),
        })
    }

    /// The ticket now.
    pub async fn ticket(&self, client: &Client) -> Result<MatchmakingTicket, String> {
        client
            .describe_matchmaking()
            .ticket_ids(&self.ticket)
            .send()
            .await
            .map_err(|e| format!("DescribeMatchmaking: {}", sdk_error(&e)))?
            .ticket_list()
            .first()
            .cloned()
            .ok_or_else(|| format!("ticket {} is gone", self.ticket))
    }

    /// Waits (bounded: 60 s) until the ticket is `wanted`.
    pub async fn wait_for(
        &self,
        client: &Client,
        wanted: Status,
    ) -> Result<MatchmakingTicket, String> {
        let mut last = None;
        for _ in 0..600 {
            let ticket = self.ticket(client).await?;
            if ticket.status() == Some(&wanted) {
                return Ok(ticket);
            }
            last = ticket.status().cloned();
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(format!(
            "{}'s ticket never became {wanted:?} (last {last:?})",
            self.id
        ))
    }

    /// Accepts or rejects the proposed match.
    pub async fn answer(&self, client: &Client, accept: bool) -> Result<(), String> {
        client
            .accept_match()
            .ticket_id(&self.ticket)
            .player_ids(&self.id)
            .acceptance_type(if accept {
                AcceptanceType::Accept
            } else {
                AcceptanceType::Reject
            })
            .send()
            .await
            .map(|_| ())
            .map_err(|e| format!("AcceptMatch for {}: {}", self.id, sdk_error(&e)))
    }

    /// Connects to the game server with the player session of the completed ticket; returns
    /// the player's team.
    pub async fn join(&self, client: &Client) -> Result<String, String> {
        let ticket = self.wait_for(client, Status::Completed).await?;
        let info = ticket
            .game_session_connection_info()
            .ok_or("the completed ticket has no connection info")?;
        let player_session = info
            .matched_player_sessions()
            .iter()
            .find(|m| m.player_id() == Some(self.id.as_str()))
            .and_then(|m| m.player_session_id())
            .ok_or("no player session for the player")?;
        let config = SessionConnectionConfig {
            player_session_id: player_session.to_string(),
            ip_address: info.ip_address().unwrap_or_default().to_string(),
            dns_name: String::new(),
            port: u16::try_from(info.port().unwrap_or_default()).unwrap_or_default(),
        };
        let connection = &self.connection;
        connection.connect(&config)?;
        Ok(ticket
            .players()
            .first()
            .and_then(|p| p.team())
            .unwrap_or_default()
            .to_string())
    }
}
