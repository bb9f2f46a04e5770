//! The session types, validation, buses and recording mocks.

use std::collections::BTreeMap;
use std::sync::Arc;

use ebus::Error as BusError;
use game_session::testing::*;
use game_session::*;

#[test]
fn every_type_round_trips_through_serde() {
    let mut properties = BTreeMap::new();
    properties.insert("mode".to_string(), "ctf".to_string());
    let config = SessionConfig {
        creation_time: 1_700_000_000_000,
        session_id: "arn:aws:gamelift:us-west-2::gamesession/fleet-1/s".into(),
        session_properties: properties.clone(),
        port: 7777,
        max_players: 8,
        status: SessionStatus::Active,
        ..Default::default()
    };
    let json = serde_json::to_string(&config).unwrap();
    assert_eq!(
        serde_json::from_str::<SessionConfig>(&json).unwrap(),
        config
    );

    let create = CreateSessionRequest {
        session_properties: properties,
        max_players: 4,
        placement: SessionPlacement::Queue {
            queue_name: "main".into(),
            placement_id: "p-1".into(),
        },
        idempotency_token: Some("t".into()),
        ..Default::default()
    };
    let json = serde_json::to_string(&create).unwrap();
    assert_eq!(
        serde_json::from_str::<CreateSessionRequest>(&json).unwrap(),
        create
    );

    let mut attributes = BTreeMap::new();
    attributes.insert("skill".to_string(), AttributeValue::N(23.0));
    attributes.insert("modes".to_string(), AttributeValue::SL(vec!["ctf".into()]));
    let start = StartMatchmakingRequest {
        configuration_name: "ranked".into(),
        players: vec![Player {
            player_id: "ada".into(),
            attributes,
            ..Default::default()
        }],
        ..Default::default()
    };
    let json = serde_json::to_string(&start).unwrap();
    assert_eq!(
        serde_json::from_str::<StartMatchmakingRequest>(&json).unwrap(),
        start
    );

    let error = SessionError::Service {
        code: "NotFoundException".into(),
        message: "gone".into(),
    };
    let json = serde_json::to_string(&error).unwrap();
    assert_eq!(serde_json::from_str::<SessionError>(&json).unwrap(), error);
    for state in [
        SessionState::NoSession,
        SessionState::InProgress,
        SessionState::Destroying,
    ] {
        let json = serde_json::to_string(&state).unwrap();
        assert_eq!(serde_json::from_str::<SessionState>(&json).unwrap(), state);
    }
}

#[test]
fn validation_names_the_field() {
    let error = CreateSessionRequest::default().validate().unwrap_err();
    assert_eq!(
        error,
        SessionError::invalid("max_players", "must be at least 1")
    );
    assert_eq!(
        error.to_string(),
        "invalid request: `max_players` must be at least 1"
    );
    let queue = CreateSessionRequest {
        max_players: 2,
        placement: SessionPlacement::Queue {
            queue_name: "q".into(),
            placement_id: String::new(),
        },
        ..Default::default()
    };
    assert!(
        matches!(queue.validate(), Err(SessionError::InvalidRequest { field, .. }) if field == "placement.placement_id")
    );
    let join = JoinSessionRequest {
        session_id: "s".into(),
        ..Default::default()
    };
    assert!(
        matches!(join.validate(), Err(SessionError::InvalidRequest { field, .. }) if field == "player_id")
    );
    let matchmaking = StartMatchmakingRequest {
        configuration_name: "c".into(),
        players: vec![Player::default()],
        ..Default::default()
    };
    assert!(
        matches!(matchmaking.validate(), Err(SessionError::InvalidRequest { field, .. }) if field == "players.player_id")
    );
}

#[test]
fn joinability_follows_the_shared_state_model() {
    assert!(!SessionState::Creating.is_joinable(true));
    assert!(SessionState::Pending.is_joinable(false));
    assert!(!SessionState::InProgress.is_joinable(false));
    assert!(SessionState::InProgress.is_joinable(true));
    assert!(!SessionState::Destroying.is_joinable(true));
    let config = SessionConnectionConfig {
        ip_address: "10.0.0.1".into(),
        ..Default::default()
    };
    assert_eq!(config.host(), "10.0.0.1");
    let tls = SessionConnectionConfig {
        dns_name: "ec2-1.amazongamelift.com".into(),
        ip_address: "10.0.0.1".into(),
        ..Default::default()
    };
    assert_eq!(tls.host(), "ec2-1.amazongamelift.com");
}

#[test]
fn request_buses_take_one_provider_and_notifications_vote_with_and() {
    let first = Arc::new(RecordingMatchmakingRequests::default());
    let _first = MATCHMAKING_REQUESTS.connect(first.clone()).unwrap();
    let second = MATCHMAKING_REQUESTS.connect(Arc::new(RecordingMatchmakingRequests::default()));
    assert!(matches!(
        second,
        Err(BusError::AlreadyConnected {
            bus: "MatchmakingRequests",
            ..
        })
    ));

    // Notification buses: any number of listeners; default methods vote yes.
    struct Quiet;
    impl SessionNotifications for Quiet {}
    let quiet = SESSION_NOTIFICATIONS.connect(Arc::new(Quiet)).unwrap();
    let recorder = Arc::new(RecordingSessionNotifications::default());
    let _recorder = SESSION_NOTIFICATIONS.connect(recorder.clone()).unwrap();
    let vote = || {
        SESSION_NOTIFICATIONS.broadcast_reduce(true, |l| l.on_session_health_check(), |a, b| a && b)
    };
    assert!(vote());
    recorder.set_healthy(false);
    assert!(
        !vote(),
        "one unhealthy listener makes the session unhealthy"
    );
    assert_eq!(
        recorder.take_calls(),
        vec![SessionCall::HealthCheck, SessionCall::HealthCheck]
    );
    drop(quiet);
}

#[test]
fn recording_mocks_answer_and_complete_async_requests_once() {
    let provider = Arc::new(RecordingSessionRequests::default());
    let _provider = SESSION_ASYNC_REQUESTS.connect(provider.clone()).unwrap();
    let completions = Arc::new(RecordingSessionAsyncNotifications::default());
    let _listener = SESSION_ASYNC_REQUEST_NOTIFICATIONS
        .connect(completions.clone())
        .unwrap();

    provider.set_create_result(Err(SessionError::NotConfigured));
    SESSION_ASYNC_REQUESTS.broadcast(|p| p.create_session_async(CreateSessionRequest::default()));
    SESSION_ASYNC_REQUESTS.broadcast(|p| p.leave_session_async());
    assert_eq!(
        completions.calls(),
        vec![
            SessionCompletion::Created(Err(SessionError::NotConfigured)),
            SessionCompletion::Left(Ok(())),
        ]
    );
    assert_eq!(
        provider.calls(),
        vec![
            SessionRequestCall::Create(CreateSessionRequest::default()),
            SessionRequestCall::Leave
        ]
    );

    let client = Arc::new(RecordingClientHandling::default());
    client.set_join_result(false);
    let config = SessionConnectionConfig::default();
    assert!(!client.request_player_join_session(&config));
    assert_eq!(client.calls(), vec![HandlingCall::RequestJoin(config)]);

    let host = RecordingProviderHandling::default();
    let player = PlayerConnectionConfig {
        player_connection_id: 3,
        player_session_id: "psess-1".into(),
    };
    assert!(host.validate_player_join_session(&player));
    host.set_valid(false);
    assert!(!host.validate_player_join_session(&player));
    host.handle_player_leave_session(&player);
    assert_eq!(host.calls().len(), 3);

    let matchmaking = RecordingMatchmakingRequests::default();
    let events = Arc::new(RecordingMatchmakingNotifications::default());
    let _events = MATCHMAKING_ASYNC_REQUEST_NOTIFICATIONS
        .connect(events.clone())
        .unwrap();
    let _ticket = MATCHMAKING_NOTIFICATIONS.connect(events.clone()).unwrap();
    matchmaking.start_matchmaking_async(StartMatchmakingRequest::default());
    MATCHMAKING_NOTIFICATIONS.broadcast(|l| l.on_match_acceptance());
    assert_eq!(
        events.calls(),
        vec![
            MatchmakingEvent::StartCompleted(Ok("ticket-1".into())),
            MatchmakingEvent::Acceptance
        ]
    );
}
