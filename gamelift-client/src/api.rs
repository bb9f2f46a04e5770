//! The GameLift calls the manager makes, behind a trait: the real implementation uses
//! `aws-sdk-gamelift`; unit tests substitute their own.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_gamelift::config::http::HttpResponse;
use aws_sdk_gamelift::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_gamelift::types::{GameProperty, GameSession, GameSessionStatus, PlayerSessionStatus};
use game_session::{SearchSessionsResponse, SessionConfig, SessionError, SessionStatus};

use crate::config::{CredentialsSource, GameLiftClientConfig};
use crate::explain::{Endpoint, explain};

/// Input of CreateGameSession.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CreateGameSessionInput {
    /// The fleet (exactly one of fleet and alias).
    pub fleet_id: Option<String>,
    /// The alias.
    pub alias_id: Option<String>,
    /// The location.
    pub location: Option<String>,
    /// Capacity.
    pub max_players: u32,
    /// Display name.
    pub name: Option<String>,
    /// Creator.
    pub creator_id: Option<String>,
    /// Game properties.
    pub properties: BTreeMap<String, String>,
    /// Idempotency token.
    pub idempotency_token: Option<String>,
}

/// Input of SearchGameSessions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchInput {
    /// The fleet.
    pub fleet_id: Option<String>,
    /// The alias.
    pub alias_id: Option<String>,
    /// The location.
    pub location: Option<String>,
    /// Filter expression.
    pub filter: Option<String>,
    /// Sort expression.
    pub sort: Option<String>,
    /// Results per page.
    pub limit: Option<i32>,
    /// The page.
    pub next_token: Option<String>,
}

/// A player session, as far as joining needs it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PlayerSessionInfo {
    /// Its id (the ticket).
    pub player_session_id: String,
    /// The game session.
    pub game_session_id: String,
    /// The player.
    pub player_id: String,
    /// `RESERVED`, `ACTIVE`, `COMPLETED` or `TIMEDOUT`; `None` when the service sent none.
    pub status: Option<PlayerSessionStatus>,
    /// The server's IP address.
    pub ip_address: String,
    /// The server's DNS name (TLS fleets), or empty.
    pub dns_name: String,
    /// The server's port.
    pub port: u16,
}

impl PlayerSessionInfo {
    /// Whether the session still holds the player's slot.
    pub fn is_live(&self) -> bool {
        matches!(
            self.status,
            Some(PlayerSessionStatus::Reserved | PlayerSessionStatus::Active)
        )
    }
}

/// Input of UpdateGameSession: what to change (`None`: leave as it is).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UpdateGameSessionInput {
    /// The game session.
    pub game_session_id: String,
    /// New capacity.
    pub max_players: Option<u32>,
    /// New name.
    pub name: Option<String>,
    /// Whether new players are accepted (`ACCEPT_ALL`) or not (`DENY_ALL`).
    pub accept_players: Option<bool>,
    /// Game properties to add or overwrite.
    pub properties: BTreeMap<String, String>,
}

/// Input of StartGameSessionPlacement.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PlacementInput {
    /// The placement id.
    pub placement_id: String,
    /// The queue.
    pub queue_name: String,
    /// Capacity.
    pub max_players: u32,
    /// Display name.
    pub name: Option<String>,
    /// Game properties.
    pub properties: BTreeMap<String, String>,
}

/// Where a placement stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PlacementStatus {
    /// Still looking for capacity.
    #[default]
    Pending,
    /// Placed.
    Fulfilled,
    /// Stopped.
    Cancelled,
    /// Not placed within the queue's timeout.
    TimedOut,
    /// Failed.
    Failed,
}

/// A placement's state.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PlacementInfo {
    /// Status.
    pub status: PlacementStatus,
    /// The game session, once placed.
    pub game_session_id: Option<String>,
}

/// Where a matchmaking ticket stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TicketStatus {
    /// Waiting to be processed.
    #[default]
    Queued,
    /// Looking for a match.
    Searching,
    /// A match was proposed; players must accept it.
    RequiresAcceptance,
    /// A game session is being placed for the match.
    Placing,
    /// Matched and placed.
    Completed,
    /// Failed.
    Failed,
    /// Cancelled (stopped, or a player rejected the match).
    Cancelled,
    /// Not matched in time.
    TimedOut,
}

/// A matchmaking ticket's state.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TicketInfo {
    /// Status.
    pub status: TicketStatus,
    /// The matched game session, once placed.
    pub game_session_id: Option<String>,
    /// Player id -> player session id, once placed.
    pub player_sessions: Vec<(String, String)>,
    /// The server's IP address.
    pub ip_address: String,
    /// The server's DNS name.
    pub dns_name: String,
    /// The server's port.
    pub port: u16,
}

/// The GameLift operations the client manager uses.
#[async_trait]
pub trait GameLiftApi: Send + Sync {
    /// CreateGameSession.
    async fn create_game_session(
        &self,
        input: &CreateGameSessionInput,
    ) -> Result<SessionConfig, SessionError>;
    /// SearchGameSessions.
    async fn search_game_sessions(
        &self,
        input: &SearchInput,
    ) -> Result<SearchSessionsResponse, SessionError>;
    /// The live (RESERVED or ACTIVE) player session `player_id` holds in `game_session_id`.
    async fn find_player_session(
        &self,
        game_session_id: &str,
        player_id: &str,
    ) -> Result<Option<PlayerSessionInfo>, SessionError>;
    /// CreatePlayerSession.
    async fn create_player_session(
        &self,
        game_session_id: &str,
        player_id: &str,
        player_data: Option<&str>,
    ) -> Result<PlayerSessionInfo, SessionError>;
    /// DescribeGameSessions for one session (`None` if the service does not know it).
    async fn describe_game_session(
        &self,
        game_session_id: &str,
    ) -> Result<Option<SessionConfig>, SessionError>;
    /// The ids of the players whose player sessions in `game_session_id` are ACTIVE (accepted
    /// by the game server), through DescribePlayerSessions (every page).
    async fn active_players(&self, game_session_id: &str) -> Result<Vec<String>, SessionError>;
    /// The game sessions in which `player_id` holds a live (RESERVED or ACTIVE) player session,
    /// through DescribePlayerSessions by player id.
    async fn sessions_of_player(&self, player_id: &str) -> Result<Vec<String>, SessionError>;
    /// UpdateGameSession.
    async fn update_game_session(
        &self,
        input: &UpdateGameSessionInput,
    ) -> Result<SessionConfig, SessionError>;
    /// TerminateGameSession (the default mode: the process ends the session itself).
    async fn terminate_game_session(&self, game_session_id: &str) -> Result<(), SessionError>;
    /// StartGameSessionPlacement.
    async fn start_placement(&self, input: &PlacementInput) -> Result<PlacementInfo, SessionError>;
    /// DescribeGameSessionPlacement.
    async fn describe_placement(&self, placement_id: &str) -> Result<PlacementInfo, SessionError>;
    /// StartMatchmaking; returns the ticket id.
    async fn start_matchmaking(
        &self,
        request: &game_session::StartMatchmakingRequest,
    ) -> Result<String, SessionError>;
    /// StopMatchmaking.
    async fn stop_matchmaking(&self, ticket_id: &str) -> Result<(), SessionError>;
    /// AcceptMatch.
    async fn accept_match(
        &self,
        request: &game_session::AcceptMatchRequest,
    ) -> Result<(), SessionError>;
    /// DescribeMatchmaking for one ticket (`None` if the service does not know it).
    async fn describe_matchmaking(
        &self,
        ticket_id: &str,
    ) -> Result<Option<TicketInfo>, SessionError>;
}

/// Turns an SDK failure into a typed error that keeps the AWS error code and message; other
/// failures are explained (see [`explain`]) without naming an endpoint.
pub fn service_error<E>(error: SdkError<E, HttpResponse>) -> SessionError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    explain(&error, &Endpoint::Unknown)
}

/// Maps a GameLift game session to the backend-agnostic description.
pub fn session_config(session: &GameSession) -> SessionConfig {
    let millis = |time: Option<&aws_sdk_gamelift::primitives::DateTime>| {
        time.and_then(|t| t.to_millis().ok())
            .map_or(0, |ms| ms.max(0) as u64)
    };
    SessionConfig {
        creation_time: millis(session.creation_time()),
        termination_time: millis(session.termination_time()),
        creator_id: session.creator_id().unwrap_or_default().to_string(),
        session_properties: session
            .game_properties()
            .iter()
            .filter_map(|p| Some((p.key()?.to_string(), p.value()?.to_string())))
            .collect(),
        matchmaking_data: session.matchmaker_data().unwrap_or_default().to_string(),
        session_id: session.game_session_id().unwrap_or_default().to_string(),
        session_name: session.name().unwrap_or_default().to_string(),
        dns_name: session.dns_name().unwrap_or_default().to_string(),
        ip_address: session.ip_address().unwrap_or_default().to_string(),
        port: session
            .port()
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or(0),
        max_players: session
            .maximum_player_session_count()
            .map_or(0, |n| n.max(0) as u32),
        current_players: session
            .current_player_session_count()
            .map_or(0, |n| n.max(0) as u32),
        status: match session.status() {
            Some(GameSessionStatus::Activating) => SessionStatus::Activating,
            Some(GameSessionStatus::Active) => SessionStatus::Active,
            Some(GameSessionStatus::Terminating) => SessionStatus::Terminating,
            Some(GameSessionStatus::Terminated) => SessionStatus::Terminated,
            Some(GameSessionStatus::Error) => SessionStatus::Error,
            _ => SessionStatus::Unknown,
        },
        status_reason: session
            .status_reason()
            .map(|r| r.as_str().to_string())
            .unwrap_or_default(),
    }
}

fn properties(map: &BTreeMap<String, String>) -> Vec<GameProperty> {
    map.iter()
        .map(|(key, value)| GameProperty::builder().key(key).value(value).build())
        .collect()
}

fn player_info(session: &aws_sdk_gamelift::types::PlayerSession) -> PlayerSessionInfo {
    PlayerSessionInfo {
        player_session_id: session.player_session_id().unwrap_or_default().to_string(),
        game_session_id: session.game_session_id().unwrap_or_default().to_string(),
        player_id: session.player_id().unwrap_or_default().to_string(),
        status: session.status().cloned(),
        ip_address: session.ip_address().unwrap_or_default().to_string(),
        dns_name: session.dns_name().unwrap_or_default().to_string(),
        port: session
            .port()
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or(0),
    }
}

fn placement_info(
    placement: Option<&aws_sdk_gamelift::types::GameSessionPlacement>,
) -> PlacementInfo {
    use aws_sdk_gamelift::types::GameSessionPlacementState as State;
    let Some(placement) = placement else {
        return PlacementInfo::default();
    };
    PlacementInfo {
        status: match placement.status() {
            Some(State::Fulfilled) => PlacementStatus::Fulfilled,
            Some(State::Cancelled) => PlacementStatus::Cancelled,
            Some(State::TimedOut) => PlacementStatus::TimedOut,
            Some(State::Failed) => PlacementStatus::Failed,
            _ => PlacementStatus::Pending,
        },
        game_session_id: placement
            .game_session_arn()
            .or(placement.game_session_id())
            .map(str::to_string),
    }
}

fn aws_player(player: &game_session::Player) -> aws_sdk_gamelift::types::Player {
    use aws_sdk_gamelift::types::AttributeValue as Aws;
    use game_session::AttributeValue;
    let attributes = player
        .attributes
        .iter()
        .map(|(name, value)| {
            let value = match value {
                AttributeValue::S(text) => Aws::builder().s(text).build(),
                AttributeValue::N(number) => Aws::builder().n(*number).build(),
                AttributeValue::SL(list) => Aws::builder().set_sl(Some(list.clone())).build(),
                AttributeValue::SDM(map) => Aws::builder()
                    .set_sdm(Some(map.iter().map(|(k, v)| (k.clone(), *v)).collect()))
                    .build(),
            };
            (name.clone(), value)
        })
        .collect();
    aws_sdk_gamelift::types::Player::builder()
        .player_id(&player.player_id)
        .set_team(Some(player.team.clone()).filter(|t| !t.is_empty()))
        .set_player_attributes(Some(attributes))
        .set_latency_in_ms(Some(
            player
                .latency_ms
                .iter()
                .map(|(region, ms)| (region.clone(), i32::try_from(*ms).unwrap_or(i32::MAX)))
                .collect(),
        ))
        .build()
}

/// [`GameLiftApi`] over the official `aws-sdk-gamelift` client.
#[derive(Debug, Clone)]
pub struct SdkApi {
    client: aws_sdk_gamelift::Client,
    endpoint: Endpoint,
}

impl SdkApi {
    /// Every page of DescribePlayerSessions for a player or a game session (a game session holds
    /// at most 200 players, so at most a few pages; bounded at 20).
    async fn player_sessions(
        &self,
        player_id: Option<&str>,
        game_session_id: Option<&str>,
    ) -> Result<Vec<PlayerSessionInfo>, SessionError> {
        let mut sessions = Vec::new();
        let mut next_token: Option<String> = None;
        for _ in 0..20 {
            let output = self
                .client
                .describe_player_sessions()
                .set_player_id(player_id.map(str::to_string))
                .set_game_session_id(game_session_id.map(str::to_string))
                .limit(50)
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|e| explain(&e, &self.endpoint))?;
            sessions.extend(output.player_sessions().iter().map(player_info));
            next_token = output.next_token().map(str::to_string);
            if next_token.is_none() {
                break;
            }
        }
        Ok(sessions)
    }

    /// Wraps an existing client.
    pub fn from_client(client: aws_sdk_gamelift::Client) -> Self {
        SdkApi {
            client,
            endpoint: Endpoint::Unknown,
        }
    }

    /// Builds a client from the configuration (region, endpoint override, credentials, retries).
    pub async fn from_config(config: &GameLiftClientConfig) -> Result<Self, SessionError> {
        config.validate()?;
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(
                config.region.clone().unwrap_or_default(),
            ))
            .retry_config(
                aws_config::retry::RetryConfig::standard().with_max_attempts(config.max_attempts),
            );
        if let Some(url) = &config.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if let CredentialsSource::Static {
            access_key_id,
            secret_access_key,
            session_token,
        } = &config.credentials
        {
            loader = loader.credentials_provider(aws_sdk_gamelift::config::Credentials::new(
                access_key_id,
                secret_access_key,
                session_token.clone(),
                None,
                "gamelift-client-static",
            ));
        }
        let shared = loader.load().await;
        Ok(SdkApi {
            client: aws_sdk_gamelift::Client::new(&shared),
            endpoint: Endpoint::of(config.endpoint_url.as_deref(), config.region.as_deref()),
        })
    }
}

#[async_trait]
impl GameLiftApi for SdkApi {
    async fn create_game_session(
        &self,
        input: &CreateGameSessionInput,
    ) -> Result<SessionConfig, SessionError> {
        let output = self
            .client
            .create_game_session()
            .set_fleet_id(input.fleet_id.clone())
            .set_alias_id(input.alias_id.clone())
            .set_location(input.location.clone())
            .maximum_player_session_count(i32::try_from(input.max_players).unwrap_or(i32::MAX))
            .set_name(input.name.clone())
            .set_creator_id(input.creator_id.clone())
            .set_idempotency_token(input.idempotency_token.clone())
            .set_game_properties(
                (!input.properties.is_empty()).then(|| properties(&input.properties)),
            )
            .send()
            .await
            .map_err(|e| explain(&e, &self.endpoint))?;
        output.game_session().map(session_config).ok_or_else(|| {
            SessionError::Transport("CreateGameSession returned no game session".into())
        })
    }

    async fn search_game_sessions(
        &self,
        input: &SearchInput,
    ) -> Result<SearchSessionsResponse, SessionError> {
        let output = self
            .client
            .search_game_sessions()
            .set_fleet_id(input.fleet_id.clone())
            .set_alias_id(input.alias_id.clone())
            .set_location(input.location.clone())
            .set_filter_expression(input.filter.clone())
            .set_sort_expression(input.sort.clone())
            .set_limit(input.limit)
            .set_next_token(input.next_token.clone())
            .send()
            .await
            .map_err(|e| explain(&e, &self.endpoint))?;
        Ok(SearchSessionsResponse {
            session_configs: output.game_sessions().iter().map(session_config).collect(),
            next_token: output.next_token().map(str::to_string),
        })
    }

    async fn find_player_session(
        &self,
        game_session_id: &str,
        player_id: &str,
    ) -> Result<Option<PlayerSessionInfo>, SessionError> {
        let output = self
            .client
            .describe_player_sessions()
            .player_id(player_id)
            .send()
            .await
            .map_err(|e| explain(&e, &self.endpoint))?;
        Ok(output
            .player_sessions()
            .iter()
            .map(player_info)
            .find(|session| session.game_session_id == game_session_id && session.is_live()))
    }

    async fn create_player_session(
        &self,
        game_session_id: &str,
        player_id: &str,
        player_data: Option<&str>,
    ) -> Result<PlayerSessionInfo, SessionError> {
        let output = self
            .client
            .create_player_session()
            .game_session_id(game_session_id)
            .player_id(player_id)
            .set_player_data(player_data.map(str::to_string))
            .send()
            .await
            .map_err(|e| explain(&e, &self.endpoint))?;
        output.player_session().map(player_info).ok_or_else(|| {
            SessionError::Transport("CreatePlayerSession returned no player session".into())
        })
    }

    async fn describe_game_session(
        &self,
        game_session_id: &str,
    ) -> Result<Option<SessionConfig>, SessionError> {
        let described = self
            .client
            .describe_game_sessions()
            .game_session_id(game_session_id)
            .send()
            .await;
        match described {
            Ok(output) => Ok(output.game_sessions().first().map(session_config)),
            Err(error) if error.code() == Some("NotFoundException") => Ok(None),
            Err(error) => Err(explain(&error, &self.endpoint)),
        }
    }

    async fn sessions_of_player(&self, player_id: &str) -> Result<Vec<String>, SessionError> {
        let mut sessions: Vec<String> = Vec::new();
        for session in self.player_sessions(Some(player_id), None).await? {
            if session.is_live() && !sessions.contains(&session.game_session_id) {
                sessions.push(session.game_session_id);
            }
        }
        Ok(sessions)
    }

    async fn active_players(&self, game_session_id: &str) -> Result<Vec<String>, SessionError> {
        Ok(self
            .player_sessions(None, Some(game_session_id))
            .await?
            .into_iter()
            .filter(|session| session.status == Some(PlayerSessionStatus::Active))
            .map(|session| session.player_id)
            .collect())
    }

    async fn update_game_session(
        &self,
        input: &UpdateGameSessionInput,
    ) -> Result<SessionConfig, SessionError> {
        use aws_sdk_gamelift::types::PlayerSessionCreationPolicy;
        let output = self
            .client
            .update_game_session()
            .game_session_id(&input.game_session_id)
            .set_maximum_player_session_count(
                input
                    .max_players
                    .map(|max| i32::try_from(max).unwrap_or(i32::MAX)),
            )
            .set_name(input.name.clone())
            .set_player_session_creation_policy(input.accept_players.map(|accept| {
                if accept {
                    PlayerSessionCreationPolicy::AcceptAll
                } else {
                    PlayerSessionCreationPolicy::DenyAll
                }
            }))
            .set_game_properties(
                (!input.properties.is_empty()).then(|| properties(&input.properties)),
            )
            .send()
            .await
            .map_err(|e| explain(&e, &self.endpoint))?;
        output.game_session().map(session_config).ok_or_else(|| {
            SessionError::Transport("UpdateGameSession returned no game session".into())
        })
    }

    async fn terminate_game_session(&self, game_session_id: &str) -> Result<(), SessionError> {
        self.client
            .terminate_game_session()
            .game_session_id(game_session_id)
            .termination_mode(aws_sdk_gamelift::types::TerminationMode::TriggerOnProcessTerminate)
            .send()
            .await
            .map_err(|e| explain(&e, &self.endpoint))?;
        Ok(())
    }

    async fn start_placement(&self, input: &PlacementInput) -> Result<PlacementInfo, SessionError> {
        let output = self
            .client
            .start_game_session_placement()
            .placement_id(&input.placement_id)
            .game_session_queue_name(&input.queue_name)
            .maximum_player_session_count(i32::try_from(input.max_players).unwrap_or(i32::MAX))
            .set_game_session_name(input.name.clone())
            .set_game_properties(
                (!input.properties.is_empty()).then(|| properties(&input.properties)),
            )
            .send()
            .await
            .map_err(|e| explain(&e, &self.endpoint))?;
        Ok(placement_info(output.game_session_placement()))
    }

    async fn describe_placement(&self, placement_id: &str) -> Result<PlacementInfo, SessionError> {
        let output = self
            .client
            .describe_game_session_placement()
            .placement_id(placement_id)
            .send()
            .await
            .map_err(|e| explain(&e, &self.endpoint))?;
        Ok(placement_info(output.game_session_placement()))
    }

    async fn start_matchmaking(
        &self,
        request: &game_session::StartMatchmakingRequest,
    ) -> Result<String, SessionError> {
        let output = self
            .client
            .start_matchmaking()
            .configuration_name(&request.configuration_name)
            .set_ticket_id(Some(request.ticket_id.clone()).filter(|t| !t.is_empty()))
            .set_players(Some(request.players.iter().map(aws_player).collect()))
            .send()
            .await
            .map_err(|e| explain(&e, &self.endpoint))?;
        output
            .matchmaking_ticket()
            .and_then(|ticket| ticket.ticket_id())
            .map(str::to_string)
            .ok_or_else(|| SessionError::Transport("StartMatchmaking returned no ticket".into()))
    }

    async fn stop_matchmaking(&self, ticket_id: &str) -> Result<(), SessionError> {
        self.client
            .stop_matchmaking()
            .ticket_id(ticket_id)
            .send()
            .await
            .map_err(|e| explain(&e, &self.endpoint))?;
        Ok(())
    }

    async fn accept_match(
        &self,
        request: &game_session::AcceptMatchRequest,
    ) -> Result<(), SessionError> {
        use aws_sdk_gamelift::types::AcceptanceType;
        self.client
            .accept_match()
            .ticket_id(&request.ticket_id)
            .set_player_ids(Some(request.player_ids.clone()))
            .acceptance_type(if request.accept_match {
                AcceptanceType::Accept
            } else {
                AcceptanceType::Reject
            })
            .send()
            .await
            .map_err(|e| explain(&e, &self.endpoint))?;
        Ok(())
    }

    async fn describe_matchmaking(
        &self,
        ticket_id: &str,
    ) -> Result<Option<TicketInfo>, SessionError> {
        use aws_sdk_gamelift::types::MatchmakingConfigurationStatus as Status;
        let output = self
            .client
            .describe_matchmaking()
            .ticket_ids(ticket_id)
            .send()
            .await
            .map_err(|e| explain(&e, &self.endpoint))?;
        Ok(output.ticket_list().first().map(|ticket| {
            let connection = ticket.game_session_connection_info();
            TicketInfo {
                status: match ticket.status() {
                    Some(Status::Searching) => TicketStatus::Searching,
                    Some(Status::RequiresAcceptance) => TicketStatus::RequiresAcceptance,
                    Some(Status::Placing) => TicketStatus::Placing,
                    Some(Status::Completed) => TicketStatus::Completed,
                    Some(Status::Failed) => TicketStatus::Failed,
                    Some(Status::Cancelled) => TicketStatus::Cancelled,
                    Some(Status::TimedOut) => TicketStatus::TimedOut,
                    _ => TicketStatus::Queued,
                },
                game_session_id: connection
                    .and_then(|c| c.game_session_arn())
                    .map(str::to_string),
                player_sessions: connection
                    .map(|c| {
                        c.matched_player_sessions()
                            .iter()
                            .filter_map(|m| {
                                Some((
                                    m.player_id()?.to_string(),
                                    m.player_session_id()?.to_string(),
                                ))
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                ip_address: connection
                    .and_then(|c| c.ip_address())
                    .unwrap_or_default()
                    .to_string(),
                dns_name: connection
                    .and_then(|c| c.dns_name())
                    .unwrap_or_default()
                    .to_string(),
                port: connection
                    .and_then(|c| c.port())
                    .and_then(|p| u16::try_from(p).ok())
                    .unwrap_or(0),
            }
        }))
    }
}
