//! The client manager through the buses: over a mock of the GameLift calls, and over the real
//! `aws-sdk-gamelift` client against gamelift-local on loopback.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use game_session::testing::{
    HandlingCall, RecordingClientHandling, RecordingSessionAsyncNotifications, SessionCompletion,
};
use game_session::*;
use gamelift_client::api::{
    CreateGameSessionInput, PlacementInfo, PlacementInput, PlacementStatus, PlayerSessionInfo,
    SearchInput, TicketInfo, TicketStatus,
};
use gamelift_client::{
    GAMELIFT_REQUESTS, GameLiftApi, GameLiftClientConfig, GameLiftClientManager,
};
use gamelift_client::{MATCHMAKING_EVENT_REQUESTS, MatchmakingEventRequests};

/// The buses are process-wide: tests that connect providers take turns.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[derive(Default)]
struct MockApi {
    calls: Mutex<Vec<String>>,
    fail_with: Mutex<Option<SessionError>>,
    existing_player: Mutex<Option<PlayerSessionInfo>>,
    placement_polls: Mutex<u32>,
    /// The status CreateGameSession reports, then what DescribeGameSessions reports in turn
    /// (the last one repeats). Empty: no status reported.
    session_statuses: Mutex<std::collections::VecDeque<SessionStatus>>,
    /// Answers for DescribeMatchmaking, in order; then "searching" forever.
    tickets: Mutex<std::collections::VecDeque<Result<Option<TicketInfo>, SessionError>>>,
}

impl MockApi {
    fn next_status(&self) -> SessionStatus {
        let mut statuses = self.session_statuses.lock().unwrap();
        match statuses.len() {
            0 => SessionStatus::Unknown,
            1 => statuses[0],
            _ => statuses.pop_front().unwrap_or_default(),
        }
    }
    fn record(&self, call: String) -> Result<(), SessionError> {
        self.calls.lock().unwrap().push(call);
        match self.fail_with.lock().unwrap().clone() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

#[async_trait]
impl GameLiftApi for MockApi {
    async fn create_game_session(
        &self,
        input: &CreateGameSessionInput,
    ) -> Result<SessionConfig, SessionError> {
        self.record(format!(
            "create {:?} {:?} {:?}",
            input.fleet_id, input.alias_id, input.location
        ))?;
        Ok(SessionConfig {
            session_id: "gs-1".into(),
            max_players: input.max_players,
            status: self.next_status(),
            ..Default::default()
        })
    }
    async fn describe_game_session(
        &self,
        game_session_id: &str,
    ) -> Result<Option<SessionConfig>, SessionError> {
        self.record(format!("describe {game_session_id}"))?;
        Ok(Some(SessionConfig {
            session_id: game_session_id.into(),
            status: self.next_status(),
            ..Default::default()
        }))
    }
    async fn terminate_game_session(&self, game_session_id: &str) -> Result<(), SessionError> {
        self.record(format!("terminate {game_session_id}"))
    }
    async fn sessions_of_player(&self, player_id: &str) -> Result<Vec<String>, SessionError> {
        self.record(format!("sessions of {player_id}"))?;
        Ok(Vec::new())
    }
    async fn active_players(&self, game_session_id: &str) -> Result<Vec<String>, SessionError> {
        self.record(format!("roster {game_session_id}"))?;
        Ok(Vec::new())
    }
    async fn update_game_session(
        &self,
        input: &gamelift_client::api::UpdateGameSessionInput,
    ) -> Result<SessionConfig, SessionError> {
        self.record(format!("update {}", input.game_session_id))?;
        Ok(SessionConfig {
            session_id: input.game_session_id.clone(),
            ..Default::default()
        })
    }
    async fn search_game_sessions(
        &self,
        input: &SearchInput,
    ) -> Result<SearchSessionsResponse, SessionError> {
        self.record(format!(
            "search {:?} {:?} {:?}",
            input.fleet_id, input.filter, input.limit
        ))?;
        Ok(SearchSessionsResponse {
            session_configs: vec![SessionConfig {
                session_id: "gs-1".into(),
                ..Default::default()
            }],
            next_token: None,
        })
    }
    async fn find_player_session(
        &self,
        game_session_id: &str,
        player_id: &str,
    ) -> Result<Option<PlayerSessionInfo>, SessionError> {
        self.record(format!("find {game_session_id} {player_id}"))?;
        Ok(self.existing_player.lock().unwrap().clone())
    }
    async fn create_player_session(
        &self,
        game_session_id: &str,
        player_id: &str,
        _data: Option<&str>,
    ) -> Result<PlayerSessionInfo, SessionError> {
        self.record(format!("join {game_session_id} {player_id}"))?;
        Ok(PlayerSessionInfo {
            player_session_id: "psess-new".into(),
            game_session_id: game_session_id.into(),
            player_id: player_id.into(),
            status: Some(aws_sdk_gamelift::types::PlayerSessionStatus::Reserved),
            ip_address: "10.0.0.1".into(),
            dns_name: "ec2-10-0-0-1.compute.amazonaws.com".into(),
            port: 7777,
        })
    }
    async fn start_placement(&self, input: &PlacementInput) -> Result<PlacementInfo, SessionError> {
        self.record(format!("place {}", input.placement_id))?;
        Ok(PlacementInfo::default())
    }
    async fn describe_placement(&self, placement_id: &str) -> Result<PlacementInfo, SessionError> {
        self.record(format!("poll {placement_id}"))?;
        let mut polls = self.placement_polls.lock().unwrap();
        *polls += 1;
        Ok(if *polls >= 2 {
            PlacementInfo {
                status: PlacementStatus::Fulfilled,
                game_session_id: Some("gs-placed".into()),
            }
        } else {
            PlacementInfo::default()
        })
    }
    async fn start_matchmaking(
        &self,
        request: &StartMatchmakingRequest,
    ) -> Result<String, SessionError> {
        self.record(format!("matchmake {}", request.configuration_name))?;
        Ok("ticket-1".into())
    }
    async fn stop_matchmaking(&self, ticket_id: &str) -> Result<(), SessionError> {
        self.record(format!("stop {ticket_id}"))
    }
    async fn accept_match(&self, request: &AcceptMatchRequest) -> Result<(), SessionError> {
        self.record(format!(
            "accept {} {}",
            request.ticket_id, request.accept_match
        ))
    }
    async fn describe_matchmaking(
        &self,
        ticket_id: &str,
    ) -> Result<Option<TicketInfo>, SessionError> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("describe {ticket_id}"));
        self.tickets
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or(Ok(Some(TicketInfo {
                status: TicketStatus::Searching,
                ..Default::default()
            })))
    }
}

fn config() -> GameLiftClientConfig {
    GameLiftClientConfig::builder()
        .region("us-west-2")
        .fleet_id("fleet-local")
        .location("custom-local")
        .placement_poll_interval(Duration::from_millis(5))
        .placement_timeout(Duration::from_secs(5))
        .build()
}

fn create_request() -> CreateSessionRequest {
    CreateSessionRequest {
        session_name: "arena".into(),
        max_players: 4,
        ..Default::default()
    }
}

fn create() -> Result<String, SessionError> {
    SESSION_REQUESTS
        .broadcast_result(|p| p.create_session(&create_request()))
        .expect("a provider is connected")
}

#[test]
fn not_configured_requests_fail_without_a_call() {
    let _serial = serial();
    let manager = GameLiftClientManager::new().unwrap();
    let _active = manager.activate().unwrap();
    assert_eq!(create(), Err(SessionError::NotConfigured));
    let bad = GameLiftClientConfig::builder().build();
    let refused = GAMELIFT_REQUESTS
        .broadcast_result(|p| p.configure_client(bad.clone()))
        .unwrap();
    assert!(
        matches!(refused, Err(SessionError::InvalidRequest { field, .. }) if field == "region")
    );
    // A second manager cannot take over the buses.
    let other = GameLiftClientManager::new().unwrap();
    assert!(other.activate().is_err());
    let id = GAMELIFT_REQUESTS
        .broadcast_result(|p| p.create_player_id(true, false))
        .unwrap();
    assert!(id.starts_with('{') && id.ends_with('}') && !id.contains('-'));
}

#[test]
fn invalid_requests_are_refused_before_any_call_naming_the_field() {
    let _serial = serial();
    let api = Arc::new(MockApi::default());
    let manager = GameLiftClientManager::with_api(config(), api.clone()).unwrap();
    let _active = manager.activate().unwrap();
    let no_players = CreateSessionRequest::default();
    let result = SESSION_REQUESTS
        .broadcast_result(|p| p.create_session(&no_players))
        .unwrap();
    assert!(
        matches!(result, Err(SessionError::InvalidRequest { field, .. }) if field == "max_players")
    );
    let join = JoinSessionRequest::default();
    let result = SESSION_REQUESTS
        .broadcast_result(|p| p.join_session(&join))
        .unwrap();
    assert!(
        matches!(result, Err(SessionError::InvalidRequest { field, .. }) if field == "session_id")
    );
    assert!(api.calls().is_empty(), "no call reached GameLift");

    // Async: the completion fires at once, with the error, exactly once.
    let completions = Arc::new(RecordingSessionAsyncNotifications::default());
    let _listener = SESSION_ASYNC_REQUEST_NOTIFICATIONS
        .connect(completions.clone())
        .unwrap();
    SESSION_ASYNC_REQUESTS.broadcast(|p| p.create_session_async(CreateSessionRequest::default()));
    assert_eq!(
        completions.take_calls(),
        vec![SessionCompletion::Created(Err(SessionError::invalid(
            "max_players",
            "must be at least 1"
        )))]
    );
}

#[test]
fn service_success_and_errors_sync_and_async() {
    let _serial = serial();
    let api = Arc::new(MockApi::default());
    let manager = GameLiftClientManager::with_api(config(), api.clone()).unwrap();
    let _active = manager.activate().unwrap();
    assert_eq!(create(), Ok("gs-1".into()));
    assert_eq!(
        api.calls(),
        vec![r#"create Some("fleet-local") None Some("custom-local")"#.to_string()]
    );

    *api.fail_with.lock().unwrap() = Some(SessionError::Service {
        code: "FleetCapacityExceededException".into(),
        message: "no process".into(),
    });
    assert_eq!(
        create(),
        Err(SessionError::Service {
            code: "FleetCapacityExceededException".into(),
            message: "no process".into()
        })
    );

    let completions = Arc::new(RecordingSessionAsyncNotifications::default());
    let _listener = SESSION_ASYNC_REQUEST_NOTIFICATIONS
        .connect(completions.clone())
        .unwrap();
    SESSION_ASYNC_REQUESTS.broadcast(|p| p.create_session_async(create_request()));
    *api.fail_with.lock().unwrap() = None;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while completions.calls().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let calls = completions.take_calls();
    assert_eq!(calls.len(), 1, "exactly one completion");
    assert!(matches!(&calls[0], SessionCompletion::Created(_)));
    std::thread::sleep(Duration::from_millis(50));
    assert!(completions.calls().is_empty(), "and no second one");
}

#[test]
fn sync_requests_work_inside_a_tokio_runtime() {
    let _serial = serial();
    let api = Arc::new(MockApi::default());
    let manager = GameLiftClientManager::with_api(config(), api).unwrap();
    let _active = manager.activate().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let result = runtime.block_on(async { create() });
    assert_eq!(result, Ok("gs-1".into()));
}

#[test]
fn join_reuses_a_live_player_session_and_hands_the_connection_to_the_network_layer() {
    let _serial = serial();
    let api = Arc::new(MockApi::default());
    let manager = GameLiftClientManager::with_api(config(), api.clone()).unwrap();
    let _active = manager.activate().unwrap();
    let join = JoinSessionRequest {
        session_id: "gs-1".into(),
        player_id: "ada".into(),
        ..Default::default()
    };
    let no_network = SESSION_REQUESTS
        .broadcast_result(|p| p.join_session(&join))
        .unwrap();
    assert_eq!(
        no_network,
        Err(SessionError::NoHandler(
            "SessionHandlingClientRequests".into()
        ))
    );
    assert!(
        api.calls().is_empty(),
        "no slot is reserved for a client that cannot connect"
    );

    let network = Arc::new(RecordingClientHandling::default());
    let _network = SESSION_HANDLING_CLIENT_REQUESTS
        .connect(network.clone())
        .unwrap();
    let joined = SESSION_REQUESTS
        .broadcast_result(|p| p.join_session(&join))
        .unwrap()
        .unwrap();
    assert_eq!(joined.player_session_id, "psess-new");
    assert_eq!(joined.dns_name, "", "not a TLS fleet: connect by IP");
    assert_eq!(joined.host(), "10.0.0.1");
    assert_eq!(
        network.calls(),
        vec![HandlingCall::RequestJoin(joined.clone())]
    );
    assert_eq!(manager.joined_session().as_deref(), Some("gs-1"));

    *api.existing_player.lock().unwrap() = Some(PlayerSessionInfo {
        player_session_id: "psess-held".into(),
        game_session_id: "gs-1".into(),
        player_id: "ada".into(),
        status: Some(aws_sdk_gamelift::types::PlayerSessionStatus::Reserved),
        ip_address: "10.0.0.1".into(),
        dns_name: "ec2.us-west-2.amazongamelift.com".into(),
        port: 7777,
    });
    let again = SESSION_REQUESTS
        .broadcast_result(|p| p.join_session(&join))
        .unwrap()
        .unwrap();
    assert_eq!(
        again.player_session_id, "psess-held",
        "the held slot is reused"
    );
    assert_eq!(
        again.host(),
        "ec2.us-west-2.amazongamelift.com",
        "TLS fleet: connect by name"
    );
    assert_eq!(
        api.calls().iter().filter(|c| c.starts_with("join")).count(),
        1
    );

    assert_eq!(
        SESSION_REQUESTS
            .broadcast_result(|p| p.leave_session())
            .unwrap(),
        Ok(())
    );
    assert_eq!(network.calls().last(), Some(&HandlingCall::RequestLeave));
    assert_eq!(manager.joined_session(), None);
}

#[test]
fn queue_placements_are_polled_until_fulfilled() {
    let _serial = serial();
    let api = Arc::new(MockApi::default());
    let manager = GameLiftClientManager::with_api(config(), api.clone()).unwrap();
    let _active = manager.activate().unwrap();
    let request = CreateSessionRequest {
        max_players: 4,
        placement: SessionPlacement::Queue {
            queue_name: "main".into(),
            placement_id: "p-1".into(),
        },
        ..Default::default()
    };
    let placed = SESSION_REQUESTS
        .broadcast_result(|p| p.create_session(&request))
        .unwrap();
    assert_eq!(placed, Ok("gs-placed".into()));
    assert_eq!(api.calls(), vec!["place p-1", "poll p-1", "poll p-1"]);
}

#[test]
fn create_returns_once_the_session_is_active() {
    let _serial = serial();
    let api = Arc::new(MockApi::default());
    *api.session_statuses.lock().unwrap() = [
        SessionStatus::Activating,
        SessionStatus::Activating,
        SessionStatus::Active,
    ]
    .into();
    let mut config = config();
    config.activation_poll_interval = Duration::from_millis(1);
    let manager = GameLiftClientManager::with_api(config, api.clone()).unwrap();
    let _active = manager.activate().unwrap();
    assert_eq!(create(), Ok("gs-1".into()));
    let calls = api.calls();
    assert_eq!(&calls[1..], ["describe gs-1", "describe gs-1"], "{calls:?}");
}

#[test]
fn a_session_that_never_activates_is_terminated_and_the_create_fails() {
    let _serial = serial();
    let api = Arc::new(MockApi::default());
    *api.session_statuses.lock().unwrap() = [SessionStatus::Activating].into();
    let mut config = config();
    config.activation_poll_interval = Duration::from_millis(1);
    config.activation_timeout = Duration::from_millis(20);
    let manager = GameLiftClientManager::with_api(config, api.clone()).unwrap();
    let _active = manager.activate().unwrap();
    let error = create().unwrap_err();
    assert!(
        matches!(&error, SessionError::Timeout(message) if message.contains("still ACTIVATING") && message.contains("terminated")),
        "{error:?}"
    );
    assert_eq!(
        api.calls().last().map(String::as_str),
        Some("terminate gs-1")
    );

    // A session that fails to start fails the create at once, naming its status.
    api.calls.lock().unwrap().clear();
    *api.session_statuses.lock().unwrap() =
        [SessionStatus::Activating, SessionStatus::Error].into();
    let error = create().unwrap_err();
    assert!(
        matches!(&error, SessionError::Failed(message) if message.contains("Error")),
        "{error:?}"
    );
}

// ----- against gamelift-local ------------------------------------------------------------------

fn local_config(endpoint: &str) -> GameLiftClientConfig {
    GameLiftClientConfig::builder()
        .region("us-west-2")
        .endpoint_url(endpoint)
        .static_credentials("local", "local")
        .fleet_id("fleet-local")
        .location("custom-local")
        .max_attempts(1)
        .placement_poll_interval(Duration::from_millis(20))
        .build()
}

#[test]
fn create_search_join_leave_and_queue_against_gamelift_local() {
    let _serial = serial();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime
        .block_on(
            gamelift_local::Server::builder()
                .bind("127.0.0.1:0".parse().unwrap())
                .auto_activate(true)
                .start(),
        )
        .unwrap();
    let manager = GameLiftClientManager::with_config(local_config(&server.endpoint())).unwrap();
    let _active = manager.activate().unwrap();
    let network = Arc::new(RecordingClientHandling::default());
    let _network = SESSION_HANDLING_CLIENT_REQUESTS
        .connect(network.clone())
        .unwrap();

    let mut request = create_request();
    request
        .session_properties
        .insert("mode".into(), "ctf".into());
    let session_id = SESSION_REQUESTS
        .broadcast_result(|p| p.create_session(&request))
        .unwrap()
        .unwrap();
    assert!(session_id.starts_with("arn:aws:gamelift:us-west-2::gamesession/fleet-local/"));

    let search = SearchSessionsRequest {
        filter_expression:
            "gameSessionProperties.mode = 'ctf' AND hasAvailablePlayerSessions = true".into(),
        sort_expression: "creationTimeMillis DESC".into(),
        max_results: 5,
        ..Default::default()
    };
    let found = SESSION_REQUESTS
        .broadcast_result(|p| p.search_sessions(&search))
        .unwrap()
        .unwrap();
    assert_eq!(found.session_configs.len(), 1);
    let config = &found.session_configs[0];
    assert_eq!(config.session_id, session_id);
    assert_eq!(config.status, SessionStatus::Active);
    assert_eq!(
        config.session_properties.get("mode").map(String::as_str),
        Some("ctf")
    );
    assert_eq!(config.port, 7777);
    assert!(config.creation_time > 1_600_000_000_000);

    let join = JoinSessionRequest {
        session_id: session_id.clone(),
        player_id: "ada".into(),
        player_data: "red".into(),
    };
    let first = SESSION_REQUESTS
        .broadcast_result(|p| p.join_session(&join))
        .unwrap()
        .unwrap();
    assert!(first.player_session_id.starts_with("psess-"));
    assert_eq!((first.ip_address.as_str(), first.port), ("127.0.0.1", 7777));
    let second = SESSION_REQUESTS
        .broadcast_result(|p| p.join_session(&join))
        .unwrap()
        .unwrap();
    assert_eq!(
        second.player_session_id, first.player_session_id,
        "one slot per player"
    );
    assert_eq!(
        SESSION_REQUESTS
            .broadcast_result(|p| p.leave_session())
            .unwrap(),
        Ok(())
    );

    // Errors keep the AWS code and message.
    let unknown = CreateSessionRequest {
        max_players: 2,
        placement: SessionPlacement::Fleet {
            fleet_id: "fleet-unknown".into(),
            location: None,
        },
        ..Default::default()
    };
    match SESSION_REQUESTS
        .broadcast_result(|p| p.create_session(&unknown))
        .unwrap()
    {
        Err(SessionError::Service { code, message }) => {
            assert_eq!(code, "NotFoundException");
            assert!(message.contains("fleet-unknown"));
        }
        other => panic!("{other:?}"),
    }
    let bad_filter = SearchSessionsRequest {
        filter_expression: "gameSessionName > 'x'".into(),
        ..Default::default()
    };
    let refused = SESSION_REQUESTS
        .broadcast_result(|p| p.search_sessions(&bad_filter))
        .unwrap();
    assert!(
        matches!(refused, Err(SessionError::Service { code, .. }) if code == "InvalidRequestException")
    );

    // A queue placement through the real client.
    let sdk = aws_sdk_gamelift::Client::from_conf(
        aws_sdk_gamelift::Config::builder()
            .behavior_version(aws_sdk_gamelift::config::BehaviorVersion::latest())
            .region(aws_sdk_gamelift::config::Region::new("us-west-2"))
            .credentials_provider(aws_sdk_gamelift::config::Credentials::new(
                "l", "l", None, None, "t",
            ))
            .endpoint_url(server.endpoint())
            .build(),
    );
    runtime
        .block_on(
            sdk.create_game_session_queue()
                .name("main")
                .destinations(
                    aws_sdk_gamelift::types::GameSessionQueueDestination::builder()
                        .destination_arn("fleet-local")
                        .build(),
                )
                .send(),
        )
        .unwrap();
    let queued = CreateSessionRequest {
        max_players: 2,
        placement: SessionPlacement::Queue {
            queue_name: "main".into(),
            placement_id: "placement-1".into(),
        },
        ..Default::default()
    };
    let placed = SESSION_REQUESTS
        .broadcast_result(|p| p.create_session(&queued))
        .unwrap()
        .unwrap();
    assert!(placed.contains("gamesession/fleet-local/"));
    drop(_active);
    runtime.block_on(server.shutdown());
}

// ----- matchmaking ---------------------------------------------------------------------------

fn ticket(status: TicketStatus) -> Result<Option<TicketInfo>, SessionError> {
    Ok(Some(TicketInfo {
        status,
        ..Default::default()
    }))
}

fn wait_for(
    events: &testing::RecordingMatchmakingNotifications,
    count: usize,
) -> Vec<testing::MatchmakingEvent> {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while events.calls().len() < count && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    events.take_calls()
}

fn matchmaking_config() -> GameLiftClientConfig {
    GameLiftClientConfig {
        matchmaking_poll_interval: Duration::from_millis(5),
        ..config()
    }
}

#[test]
fn matchmaking_requests_validate_then_call_and_complete_once() {
    use game_session::testing::{MatchmakingEvent, RecordingMatchmakingNotifications};
    let _serial = serial();
    let api = Arc::new(MockApi::default());
    let manager = GameLiftClientManager::with_api(matchmaking_config(), api.clone()).unwrap();
    let _active = manager.activate().unwrap();
    let empty = StartMatchmakingRequest::default();
    let refused = MATCHMAKING_REQUESTS
        .broadcast_result(|p| p.start_matchmaking(&empty))
        .unwrap();
    assert!(
        matches!(refused, Err(SessionError::InvalidRequest { field, .. }) if field == "configuration_name")
    );
    let mut long = std::collections::BTreeMap::new();
    long.insert("name".to_string(), AttributeValue::S("x".repeat(101)));
    let too_long = StartMatchmakingRequest {
        configuration_name: "ranked".into(),
        players: vec![Player {
            player_id: "ada".into(),
            attributes: long,
            ..Default::default()
        }],
        ..Default::default()
    };
    let refused = MATCHMAKING_REQUESTS
        .broadcast_result(|p| p.start_matchmaking(&too_long))
        .unwrap();
    assert!(
        matches!(refused, Err(SessionError::InvalidRequest { field, .. }) if field == "players.attributes")
    );
    let no_players = AcceptMatchRequest {
        ticket_id: "t".into(),
        ..Default::default()
    };
    let refused = MATCHMAKING_REQUESTS
        .broadcast_result(|p| p.accept_match(&no_players))
        .unwrap();
    assert!(
        matches!(refused, Err(SessionError::InvalidRequest { field, .. }) if field == "player_ids")
    );
    assert!(api.calls().is_empty());

    let start = StartMatchmakingRequest {
        configuration_name: "ranked".into(),
        players: vec![Player {
            player_id: "ada".into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    assert_eq!(
        MATCHMAKING_REQUESTS
            .broadcast_result(|p| p.start_matchmaking(&start))
            .unwrap(),
        Ok("ticket-1".into())
    );
    let events = Arc::new(RecordingMatchmakingNotifications::default());
    let _events = MATCHMAKING_ASYNC_REQUEST_NOTIFICATIONS
        .connect(events.clone())
        .unwrap();
    MATCHMAKING_ASYNC_REQUESTS.broadcast(|p| {
        p.stop_matchmaking_async(StopMatchmakingRequest {
            ticket_id: "ticket-1".into(),
        })
    });
    MATCHMAKING_ASYNC_REQUESTS
        .broadcast(|p| p.stop_matchmaking_async(StopMatchmakingRequest::default()));
    let got = wait_for(&events, 2);
    assert_eq!(got.len(), 2, "one completion per request");
    assert!(got.contains(&MatchmakingEvent::StopCompleted(Ok(()))));
    assert!(got.contains(&MatchmakingEvent::StopCompleted(Err(
        SessionError::invalid("ticket_id", "is empty")
    ))));
}

#[test]
fn the_ticket_tracker_reports_acceptance_then_joins_the_matched_session() {
    use game_session::testing::{MatchmakingEvent, RecordingMatchmakingNotifications};
    let _serial = serial();
    let api = Arc::new(MockApi::default());
    {
        let mut tickets = api.tickets.lock().unwrap();
        tickets.push_back(ticket(TicketStatus::Searching));
        tickets.push_back(Err(SessionError::Transport("connection reset".into())));
        tickets.push_back(ticket(TicketStatus::RequiresAcceptance));
        tickets.push_back(Ok(Some(TicketInfo {
            status: TicketStatus::Completed,
            game_session_id: Some("gs-matched".into()),
            player_sessions: vec![
                ("bob".into(), "psess-bob".into()),
                ("ada".into(), "psess-ada".into()),
            ],
            ip_address: "10.0.0.7".into(),
            dns_name: String::new(),
            port: 7777,
        })));
    }
    let manager = GameLiftClientManager::with_api(matchmaking_config(), api.clone()).unwrap();
    let _active = manager.activate().unwrap();
    let network = Arc::new(RecordingClientHandling::default());
    let _network = SESSION_HANDLING_CLIENT_REQUESTS
        .connect(network.clone())
        .unwrap();
    let events = Arc::new(RecordingMatchmakingNotifications::default());
    let _events = MATCHMAKING_NOTIFICATIONS.connect(events.clone()).unwrap();

    assert_eq!(
        MATCHMAKING_EVENT_REQUESTS.broadcast_result(|p| p.start_polling("ticket-1", "ada")),
        Some(true)
    );
    assert_eq!(
        MATCHMAKING_EVENT_REQUESTS.broadcast_result(|p| p.start_polling("ticket-2", "ada")),
        Some(false),
        "one ticket at a time"
    );
    let got = wait_for(&events, 3);
    assert_eq!(
        got,
        vec![
            MatchmakingEvent::Error,
            MatchmakingEvent::Acceptance,
            MatchmakingEvent::Complete
        ]
    );
    match network.calls().as_slice() {
        [HandlingCall::RequestJoin(config)] => {
            assert_eq!(config.player_session_id, "psess-ada");
            assert_eq!(config.host(), "10.0.0.7");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(manager.joined_session().as_deref(), Some("gs-matched"));

    // A failed ticket ends with a failure and no join.
    api.tickets
        .lock()
        .unwrap()
        .push_back(ticket(TicketStatus::TimedOut));
    assert!(manager.start_polling("ticket-3", "ada"));
    assert_eq!(wait_for(&events, 1), vec![MatchmakingEvent::Failure]);
    assert_eq!(network.calls().len(), 1);

    // Stopping ends polling.
    assert!(manager.start_polling("ticket-4", "ada"));
    std::thread::sleep(Duration::from_millis(30));
    manager.stop_polling();
    // A poll already running on another worker may still finish; after that, nothing.
    std::thread::sleep(Duration::from_millis(20));
    let polled = api
        .calls()
        .iter()
        .filter(|c| c.as_str() == "describe ticket-4")
        .count();
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(
        api.calls()
            .iter()
            .filter(|c| c.as_str() == "describe ticket-4")
            .count(),
        polled
    );
}

// ----- named sessions: one completion per async request ------------------------------------------

mod named_completions {
    use super::*;
    use game_session::named::*;
    use proptest::prelude::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[derive(Default)]
    struct Completions(Mutex<Vec<u64>>);

    impl NamedSessionCompletions for Completions {
        fn on_named_session_complete(&self, completion: &NamedSessionCompletion) {
            self.0.lock().unwrap().push(completion.request_id);
        }
    }

    #[derive(Debug, Clone)]
    enum Call {
        Create(usize),
        Start(usize),
        End(usize),
        Update(usize),
        Destroy(usize),
        Find,
        Register(usize),
    }

    fn call() -> impl Strategy<Value = Call> {
        prop_oneof![
            (0usize..3).prop_map(Call::Create),
            (0usize..3).prop_map(Call::Start),
            (0usize..3).prop_map(Call::End),
            (0usize..3).prop_map(Call::Update),
            (0usize..3).prop_map(Call::Destroy),
            Just(Call::Find),
            (0usize..3).prop_map(Call::Register),
        ]
    }

    fn settings() -> SessionSettings {
        SessionModification::new(Limits::default())
            .max_players(4)
            .unwrap()
            .build()
    }

    fn run(mode: CompletionMode, calls: Vec<Call>, case: u64) -> Result<(), TestCaseError> {
        let _serial = serial();
        let api = Arc::new(MockApi::default());
        let mut config = config();
        config.named_completions = mode;
        config.named_session_limits = Limits {
            lifecycle_calls: u32::MAX,
            player_calls: u32::MAX,
            ..Limits::default()
        };
        let manager = GameLiftClientManager::with_api(config, api).unwrap();
        let _active = manager.activate().unwrap();
        let completions = Arc::new(Completions::default());
        let _listener = NAMED_SESSION_COMPLETIONS
            .connect(completions.clone())
            .unwrap();
        let user = format!("user-{case}");
        let names = ["Game", "Party", "Lobby"];
        let mut ids = Vec::new();
        for (index, call) in calls.iter().enumerate() {
            let id = index as u64 + 1;
            ids.push(id);
            NAMED_SESSION_ASYNC_REQUESTS.broadcast(|p| match call {
                Call::Create(n) => {
                    p.create_session_async(id, &user, names[*n], settings(), CreateMode::Now)
                }
                Call::Start(n) => p.start_session_async(id, &user, names[*n]),
                Call::End(n) => p.end_session_async(id, &user, names[*n]),
                Call::Update(n) => p.update_session_async(id, &user, names[*n], settings()),
                Call::Destroy(n) => p.destroy_session_async(id, &user, names[*n]),
                Call::Find => p.find_sessions_async(id, &user, SessionSearch::attributes()),
                Call::Register(n) => {
                    p.register_players_async(id, &user, names[*n], vec!["p".into()])
                }
            });
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while completions.0.lock().unwrap().len() < ids.len()
            && std::time::Instant::now() < deadline
        {
            if mode == CompletionMode::Queued {
                NAMED_SESSION_COMPLETIONS.execute_queued();
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        std::thread::sleep(Duration::from_millis(20));
        NAMED_SESSION_COMPLETIONS.execute_queued();
        let mut seen = completions.0.lock().unwrap().clone();
        seen.sort_unstable();
        prop_assert_eq!(seen, ids, "each request completes exactly once");
        Ok(())
    }

    static CASE: AtomicU64 = AtomicU64::new(0);

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(12))]

        #[test]
        fn every_async_call_completes_exactly_once_at_once(calls in proptest::collection::vec(call(), 1..25)) {
            run(CompletionMode::Immediate, calls, CASE.fetch_add(1, Ordering::Relaxed))?;
        }

        #[test]
        fn every_async_call_completes_exactly_once_on_the_tick(calls in proptest::collection::vec(call(), 1..25)) {
            run(CompletionMode::Queued, calls, CASE.fetch_add(1, Ordering::Relaxed))?;
        }
    }
}
