//! The manager over a mock SDK and recording notification handlers: O3DE's server manager test
//! list.

use super::*;
use crate::sdk::PlayerSession;
use game_session::testing::{RecordingSessionNotifications, SessionCall};
use std::sync::atomic::AtomicUsize;

/// The buses are process-wide: tests that use them run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

#[derive(Debug, Clone, PartialEq)]
enum Call {
    Init,
    ProcessReady(u16, Vec<String>),
    ProcessEnding,
    Activate,
    Accept(String),
    Remove(String),
    Describe(DescribePlayerSessionsRequest),
    StartBackfill(StartMatchBackfillRequest),
    StopBackfill(StopMatchBackfillRequest),
    Certificate,
    Destroy,
}

type Outcome = Result<(), GameLiftError>;

fn failed(action: &str) -> GameLiftError {
    GameLiftError::Service {
        action: action.into(),
        kind: crate::ServiceErrorKind::BadRequest,
        status: 400,
        message: "refused".into(),
    }
}

#[derive(Default)]
struct MockSdk {
    calls: Mutex<Vec<Call>>,
    process: Mutex<Option<ProcessParameters>>,
    ready: Mutex<Option<Outcome>>,
    ending: Mutex<Option<Outcome>>,
    activate: Mutex<Option<Outcome>>,
    accept: Mutex<Option<Outcome>>,
    remove: Mutex<Option<Outcome>>,
    backfill: Mutex<Option<Result<String, GameLiftError>>>,
    stop: Mutex<Option<Outcome>>,
    pages: Mutex<Vec<Result<DescribePlayerSessionsResult, GameLiftError>>>,
    accepts_in_flight: AtomicUsize,
}

impl MockSdk {
    fn calls(&self) -> Vec<Call> {
        lock(&self.calls).clone()
    }
    fn record(&self, call: Call) {
        lock(&self.calls).push(call);
    }
    fn count(&self, matches: impl Fn(&Call) -> bool) -> usize {
        self.calls().iter().filter(|c| matches(c)).count()
    }
    fn outcome(slot: &Mutex<Option<Outcome>>) -> Outcome {
        lock(slot).clone().unwrap_or(Ok(()))
    }
    fn process(&self) -> ProcessParameters {
        lock(&self.process)
            .clone()
            .expect("process_ready was called")
    }
}

impl ServerSdkApi for MockSdk {
    fn init_sdk(&self, _parameters: ServerParameters) -> Result<(), GameLiftError> {
        self.record(Call::Init);
        Ok(())
    }
    fn process_ready(&self, process: ProcessParameters) -> Result<(), GameLiftError> {
        self.record(Call::ProcessReady(process.port, process.log_paths.clone()));
        *lock(&self.process) = Some(process);
        Self::outcome(&self.ready)
    }
    fn process_ending(&self) -> Result<(), GameLiftError> {
        self.record(Call::ProcessEnding);
        Self::outcome(&self.ending)
    }
    fn activate_game_session(&self) -> Result<(), GameLiftError> {
        self.record(Call::Activate);
        Self::outcome(&self.activate)
    }
    fn accept_player_session(&self, id: &str) -> Result<(), GameLiftError> {
        self.accepts_in_flight.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(std::time::Duration::from_millis(2));
        self.record(Call::Accept(id.into()));
        Self::outcome(&self.accept)
    }
    fn remove_player_session(&self, id: &str) -> Result<(), GameLiftError> {
        self.record(Call::Remove(id.into()));
        Self::outcome(&self.remove)
    }
    fn describe_player_sessions(
        &self,
        request: &DescribePlayerSessionsRequest,
    ) -> Result<DescribePlayerSessionsResult, GameLiftError> {
        self.record(Call::Describe(request.clone()));
        let mut pages = lock(&self.pages);
        if pages.is_empty() {
            Ok(DescribePlayerSessionsResult::default())
        } else {
            pages.remove(0)
        }
    }
    fn start_match_backfill(
        &self,
        request: &StartMatchBackfillRequest,
    ) -> Result<String, GameLiftError> {
        self.record(Call::StartBackfill(request.clone()));
        request.to_message()?;
        lock(&self.backfill)
            .clone()
            .unwrap_or(Ok("ticket-1".into()))
    }
    fn stop_match_backfill(&self, request: &StopMatchBackfillRequest) -> Result<(), GameLiftError> {
        self.record(Call::StopBackfill(request.clone()));
        Self::outcome(&self.stop)
    }
    fn compute_certificate(&self) -> Result<ComputeCertificate, GameLiftError> {
        self.record(Call::Certificate);
        Ok(ComputeCertificate {
            certificate_path: "/local/cert.pem".into(),
            compute_name: "host-1".into(),
        })
    }
    fn termination_time(&self) -> Result<SystemTime, GameLiftError> {
        Err(GameLiftError::TerminationTimeNotSet)
    }
    fn destroy(&self) -> Result<(), GameLiftError> {
        self.record(Call::Destroy);
        Ok(())
    }
}

struct Fixture {
    sdk: Arc<MockSdk>,
    manager: GameLiftServerManager,
    listener: Arc<RecordingSessionNotifications>,
    _active: ActiveServerManager,
    _listening: Connection,
    _serial: MutexGuard<'static, ()>,
}

fn fixture_with(config: ServerManagerConfig) -> Fixture {
    let serial = lock(&SERIAL);
    let sdk = Arc::new(MockSdk::default());
    let manager = GameLiftServerManager::new(sdk.clone(), config);
    let active = manager.activate().expect("the requests bus is free");
    let listener = Arc::new(RecordingSessionNotifications::default());
    let listening = SESSION_NOTIFICATIONS.connect(listener.clone()).unwrap();
    Fixture {
        sdk,
        manager,
        listener,
        _active: active,
        _listening: listening,
        _serial: serial,
    }
}

fn fixture() -> Fixture {
    fixture_with(ServerManagerConfig {
        port: 7777,
        log_paths: vec!["/local/game/logs".into()],
        ..Default::default()
    })
}

fn parameters() -> ServerParameters {
    ServerParameters::builder()
        .websocket_url("ws://127.0.0.1:1")
        .fleet_id("fleet-1")
        .host_id("host-1")
        .process_id("p-1")
        .auth_token("t")
        .build()
        .unwrap()
}

const SESSION_ID: &str = "arn:aws:gamelift:us-west-2::gamesession/fleet-1/gs-1";
const CONFIG_ARN: &str = "arn:aws:gamelift:us-west-2:123456789012:matchmakingconfiguration/mm";

/// Matchmaker data with two players and every attribute type.
fn matchmaker_data() -> String {
    serde_json::json!({
        "matchId": "m-1",
        "matchmakingConfigurationArn": CONFIG_ARN,
        "teams": [
            {"name": "red", "players": [{"playerId": "player-1", "attributes": {
                "skill": {"attributeType": "DOUBLE", "valueAttribute": 23},
                "mode": {"attributeType": "STRING", "valueAttribute": "ctf"},
            }}]},
            {"name": "blue", "players": [{"playerId": "player-2", "attributes": {
                "maps": {"attributeType": "STRING_LIST", "valueAttribute": ["a", "b"]},
                "ping": {"attributeType": "STRING_DOUBLE_MAP", "valueAttribute": {"us-west-2": 40}},
            }}]},
        ],
        "autoBackfillMode": "MANUAL",
    })
    .to_string()
}

fn session(max_players: u32, matchmaker: String) -> GameSession {
    GameSession {
        game_session_id: SESSION_ID.into(),
        name: "duel".into(),
        fleet_id: "fleet-1".into(),
        maximum_player_session_count: max_players,
        port: 7777,
        ip_address: "127.0.0.1".into(),
        matchmaker_data: matchmaker,
        game_properties: [("level".to_string(), "arena".to_string())].into(),
        ..Default::default()
    }
}

impl Fixture {
    fn ready(&self) {
        self.manager.initialize_sdk(parameters()).unwrap();
        GAMELIFT_SERVER_REQUESTS
            .broadcast_result(|server| server.notify_process_ready())
            .unwrap()
            .unwrap();
    }

    fn start(&self, max_players: u32, matchmaker: String) {
        self.ready();
        (self.sdk.process().on_start_game_session)(session(max_players, matchmaker));
    }

    fn validate(&self, connection: u32, ticket: &str) -> bool {
        let config = PlayerConnectionConfig {
            player_connection_id: connection,
            player_session_id: ticket.into(),
        };
        SESSION_HANDLING_PROVIDER_REQUESTS
            .broadcast_result(|provider| provider.validate_player_join_session(&config))
            .unwrap_or(false)
    }

    fn leave(&self, connection: u32) {
        let config = PlayerConnectionConfig {
            player_connection_id: connection,
            player_session_id: String::new(),
        };
        SESSION_HANDLING_PROVIDER_REQUESTS
            .broadcast(|provider| provider.handle_player_leave_session(&config));
    }

    fn events(&self) -> Vec<SessionCall> {
        self.listener
            .calls()
            .into_iter()
            .filter(|c| *c != SessionCall::HealthCheck)
            .collect()
    }
}

fn page(
    players: &[&str],
    next: Option<&str>,
) -> Result<DescribePlayerSessionsResult, GameLiftError> {
    Ok(DescribePlayerSessionsResult {
        player_sessions: players
            .iter()
            .map(|id| PlayerSession {
                player_id: id.to_string(),
                player_session_id: format!("psess-{id}"),
                game_session_id: SESSION_ID.into(),
                fleet_id: "fleet-1".into(),
                player_data: String::new(),
                ip_address: String::new(),
                dns_name: String::new(),
                port: 7777,
                creation_time: 0,
                termination_time: 0,
                status: Some(PlayerSessionStatus::Active),
            })
            .collect(),
        next_token: next.map(str::to_string),
    })
}

// ----- init and ready --------------------------------------------------------------------------

#[test]
fn initialising_twice_calls_the_sdk_once() {
    let f = fixture();
    f.manager.initialize_sdk(parameters()).unwrap();
    assert_eq!(
        f.manager.initialize_sdk(parameters()),
        Err(GameLiftError::AlreadyInitialized)
    );
    assert_eq!(f.sdk.calls(), [Call::Init]);
}

#[test]
fn process_ready_before_init_fails_without_calling_the_sdk() {
    let f = fixture();
    let result = GAMELIFT_SERVER_REQUESTS
        .broadcast_result(|server| server.notify_process_ready())
        .unwrap();
    assert_eq!(result, Err(GameLiftError::NotInitialized));
    assert!(f.sdk.calls().is_empty());
}

#[test]
fn process_ready_sends_port_and_log_paths() {
    let f = fixture();
    f.ready();
    assert_eq!(
        f.sdk.calls(),
        [
            Call::Init,
            Call::ProcessReady(7777, vec!["/local/game/logs".into()])
        ]
    );
}

#[test]
fn process_ready_with_port_zero_is_refused() {
    let f = fixture_with(ServerManagerConfig::default());
    f.manager.initialize_sdk(parameters()).unwrap();
    let result = f.manager.notify_process_ready();
    assert!(matches!(
        result,
        Err(GameLiftError::Validation { field: "port", .. })
    ));
}

#[test]
fn process_ready_failure_ends_the_process() {
    let f = fixture();
    *lock(&f.sdk.ready) = Some(Err(failed("ActivateServerProcess")));
    f.manager.initialize_sdk(parameters()).unwrap();
    assert!(f.manager.notify_process_ready().is_err());
    assert!(f.sdk.calls().contains(&Call::ProcessEnding));
    assert_eq!(
        f.events(),
        [
            SessionCall::DestroySessionBegin,
            SessionCall::DestroySessionEnd
        ]
    );
}

// ----- terminate -------------------------------------------------------------------------------

#[test]
fn terminate_with_a_refusing_handler_does_not_end_the_process() {
    let f = fixture();
    f.ready();
    f.listener.set_destroy_session_vote(false);
    (f.sdk.process().on_process_terminate.unwrap())();
    assert_eq!(f.sdk.count(|c| *c == Call::ProcessEnding), 0);
    assert_eq!(f.events(), [SessionCall::DestroySessionBegin]);
    assert_eq!(
        f.manager.destroy_session(),
        Err(GameLiftError::Vetoed("destroying the session"))
    );
}

#[test]
fn terminate_ends_the_process_and_notifies() {
    let f = fixture();
    f.ready();
    (f.sdk.process().on_process_terminate.unwrap())();
    assert_eq!(f.sdk.count(|c| *c == Call::ProcessEnding), 1);
    assert_eq!(
        f.events(),
        [
            SessionCall::DestroySessionBegin,
            SessionCall::DestroySessionEnd
        ]
    );
    // A second request while ended does nothing.
    (f.sdk.process().on_process_terminate.unwrap())();
    assert_eq!(f.sdk.count(|c| *c == Call::ProcessEnding), 1);
}

#[test]
fn process_ending_failure_skips_the_end_notification_and_allows_a_retry() {
    let f = fixture();
    f.ready();
    *lock(&f.sdk.ending) = Some(Err(failed("TerminateServerProcess")));
    assert!(f.manager.destroy_session().is_err());
    assert_eq!(f.events(), [SessionCall::DestroySessionBegin]);
    *lock(&f.sdk.ending) = None;
    f.manager.destroy_session().unwrap();
    assert_eq!(f.sdk.count(|c| *c == Call::ProcessEnding), 2);
}

// ----- health ----------------------------------------------------------------------------------

#[test]
fn health_is_the_and_of_every_handler() {
    let f = fixture();
    assert!(!f.manager.on_health_check(), "not initialised is unhealthy");
    f.ready();
    let health = f.sdk.process().on_health_check.unwrap();
    assert!(health());
    let second = Arc::new(RecordingSessionNotifications::default());
    second.set_healthy(false);
    let _second = SESSION_NOTIFICATIONS.connect(second.clone()).unwrap();
    assert!(!health());
    f.listener.set_healthy(false);
    assert!(!health());
    // Every handler is asked even after a `false`.
    assert_eq!(second.calls().len(), 2);
}

// ----- start -----------------------------------------------------------------------------------

#[test]
fn a_refused_session_is_destroyed_without_activation() {
    let f = fixture();
    f.listener.set_create_session_vote(false);
    f.start(4, String::new());
    assert_eq!(f.sdk.count(|c| *c == Call::Activate), 0);
    assert_eq!(f.sdk.count(|c| *c == Call::ProcessEnding), 1);
    let events = f.events();
    assert!(matches!(events[0], SessionCall::CreateSessionBegin(_)));
    assert_eq!(
        events[1..],
        [
            SessionCall::DestroySessionBegin,
            SessionCall::DestroySessionEnd
        ]
    );
}

#[test]
fn an_accepted_session_is_activated_and_registers_the_provider() {
    let f = fixture();
    assert!(!SESSION_HANDLING_PROVIDER_REQUESTS.has_handlers());
    f.start(4, String::new());
    let events = f.events();
    let SessionCall::CreateSessionBegin(config) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(config.session_id, SESSION_ID);
    assert_eq!(config.session_name, "duel");
    assert_eq!(config.max_players, 4);
    assert_eq!(config.port, 7777);
    assert_eq!(config.session_properties["level"], "arena");
    assert_eq!(config.status, SessionStatus::Activating);
    assert_eq!(events[1], SessionCall::CreateSessionEnd);
    assert_eq!(f.sdk.count(|c| *c == Call::Activate), 1);
    assert!(SESSION_HANDLING_PROVIDER_REQUESTS.has_handlers());
    f.manager.destroy_session().unwrap();
    assert!(!SESSION_HANDLING_PROVIDER_REQUESTS.has_handlers());
}

#[test]
fn activation_failure_destroys_the_session() {
    let f = fixture();
    *lock(&f.sdk.activate) = Some(Err(failed("ActivateGameSession")));
    f.start(4, String::new());
    let events = f.events();
    assert!(!events.contains(&SessionCall::CreateSessionEnd));
    assert!(events.ends_with(&[
        SessionCall::DestroySessionBegin,
        SessionCall::DestroySessionEnd
    ]));
}

#[test]
fn dropping_the_manager_releases_the_provider_bus() {
    let f = fixture();
    f.start(4, String::new());
    assert!(SESSION_HANDLING_PROVIDER_REQUESTS.has_handlers());
    let Fixture {
        manager,
        _active,
        sdk,
        ..
    } = f;
    drop(_active);
    assert!(!SESSION_HANDLING_PROVIDER_REQUESTS.has_handlers());
    drop((manager, sdk));
}

// ----- update ----------------------------------------------------------------------------------

#[test]
fn updates_notify_begin_and_end_once_whatever_the_reason() {
    let f = fixture();
    f.start(4, String::new());
    let update = f.sdk.process().on_update_game_session.unwrap();
    for (reason, data) in [
        (UpdateReason::Unknown, String::new()),
        (UpdateReason::BackfillFailed, String::new()),
        (UpdateReason::MatchmakingDataUpdated, "not json".to_string()),
        (UpdateReason::MatchmakingDataUpdated, matchmaker_data()),
    ] {
        f.listener.take_calls();
        update(UpdateGameSession {
            game_session: session(4, data),
            update_reason: reason,
            backfill_ticket_id: String::new(),
        });
        let events = f.events();
        assert_eq!(events.len(), 2, "{reason}: {events:?}");
        assert!(
            matches!(&events[0], SessionCall::UpdateSessionBegin(_, r) if r == reason.as_str())
        );
        assert_eq!(events[1], SessionCall::UpdateSessionEnd);
    }
    // The last update brought valid matchmaker data: backfill can use it.
    assert_eq!(f.manager.stop_match_backfill("t-1"), Ok(()));
}

// ----- validate and leave ----------------------------------------------------------------------

#[test]
fn validation_refuses_empty_ids_and_duplicate_connections() {
    let f = fixture();
    f.start(4, String::new());
    assert!(!f.validate(1, ""));
    assert!(f.validate(1, "psess-1"));
    assert!(!f.validate(1, "psess-1"), "the same connection twice");
    assert!(
        !f.validate(1, "psess-2"),
        "another session on a used connection"
    );
    assert_eq!(f.sdk.count(|c| matches!(c, Call::Accept(_))), 1);
    assert_eq!(f.manager.connected_players(), 1);
}

#[test]
fn a_refused_accept_frees_the_connection_id() {
    let f = fixture();
    f.start(4, String::new());
    *lock(&f.sdk.accept) = Some(Err(failed("AcceptPlayerSession")));
    assert!(!f.validate(1, "psess-forged"));
    assert_eq!(f.manager.connected_players(), 0);
    *lock(&f.sdk.accept) = None;
    assert!(f.validate(1, "psess-1"));
}

#[test]
fn five_threads_validating_one_connection_admit_it_once() {
    let f = fixture();
    f.start(4, String::new());
    let admitted = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..5 {
            scope.spawn(|| {
                if f.validate(7, "psess-7") {
                    admitted.fetch_add(1, Ordering::SeqCst);
                }
            });
        }
    });
    assert_eq!(admitted.load(Ordering::SeqCst), 1);
    assert_eq!(f.sdk.count(|c| matches!(c, Call::Accept(_))), 1);
}

#[test]
fn leaving_removes_the_player_session_once() {
    let f = fixture_with(ServerManagerConfig {
        port: 7777,
        terminate_on_player_exit: false,
        ..Default::default()
    });
    f.start(4, String::new());
    assert!(f.validate(1, "psess-1"));
    f.leave(99); // unknown connection: nothing to remove
    assert_eq!(f.sdk.count(|c| matches!(c, Call::Remove(_))), 0);
    std::thread::scope(|scope| {
        for _ in 0..5 {
            scope.spawn(|| f.leave(1));
        }
    });
    assert_eq!(f.sdk.count(|c| *c == Call::Remove("psess-1".into())), 1);
    assert_eq!(
        f.sdk.count(|c| *c == Call::ProcessEnding),
        0,
        "terminate-on-exit is off"
    );
}

#[test]
fn a_failed_remove_still_forgets_the_player() {
    let f = fixture_with(ServerManagerConfig {
        port: 7777,
        terminate_on_player_exit: false,
        ..Default::default()
    });
    f.start(4, String::new());
    assert!(f.validate(1, "psess-1"));
    *lock(&f.sdk.remove) = Some(Err(failed("RemovePlayerSession")));
    f.leave(1);
    assert_eq!(f.manager.connected_players(), 0);
}

#[test]
fn the_last_player_leaving_destroys_the_session() {
    let f = fixture();
    f.start(4, String::new());
    assert!(f.validate(1, "psess-1"));
    assert!(f.validate(2, "psess-2"));
    f.leave(1);
    assert_eq!(f.sdk.count(|c| *c == Call::ProcessEnding), 0);
    f.leave(2);
    assert_eq!(f.sdk.count(|c| *c == Call::ProcessEnding), 1);
    assert!(f.events().ends_with(&[
        SessionCall::DestroySessionBegin,
        SessionCall::DestroySessionEnd
    ]));
    assert!(!SESSION_HANDLING_PROVIDER_REQUESTS.has_handlers());
}

// ----- backfill --------------------------------------------------------------------------------

fn start_backfill(ticket: &str, players: &[Player]) -> Result<String, GameLiftError> {
    GAMELIFT_SERVER_REQUESTS
        .broadcast_result(|server| server.start_match_backfill(ticket, players))
        .unwrap()
}

#[test]
fn backfill_needs_init_and_matchmaker_data() {
    let f = fixture();
    assert_eq!(start_backfill("", &[]), Err(GameLiftError::NotInitialized));
    assert_eq!(
        f.manager.stop_match_backfill("t"),
        Err(GameLiftError::NotInitialized)
    );
    f.start(4, String::new());
    assert!(matches!(
        start_backfill("", &[]),
        Err(GameLiftError::MatchmakerData(_))
    ));
    assert!(matches!(
        f.manager.stop_match_backfill("t"),
        Err(GameLiftError::MatchmakerData(_))
    ));
    assert_eq!(
        f.sdk
            .count(|c| matches!(c, Call::StartBackfill(_) | Call::StopBackfill(_))),
        0
    );
}

#[test]
fn backfill_with_explicit_players_sends_them() {
    let f = fixture();
    f.start(4, matchmaker_data());
    let player = Player {
        player_id: "player-9".into(),
        team: "red".into(),
        ..Default::default()
    };
    assert_eq!(
        start_backfill("t-9", std::slice::from_ref(&player)),
        Ok("ticket-1".into())
    );
    let sent = f.sdk.calls().into_iter().find_map(|c| match c {
        Call::StartBackfill(request) => Some(request),
        _ => None,
    });
    let sent = sent.unwrap();
    assert_eq!(sent.ticket_id.as_deref(), Some("t-9"));
    assert_eq!(sent.game_session_arn, SESSION_ID);
    assert_eq!(sent.matchmaking_configuration_arn, CONFIG_ARN);
    assert_eq!(sent.players, [player]);
    assert_eq!(f.sdk.count(|c| matches!(c, Call::Describe(_))), 0);
}

#[test]
fn backfill_rebuilds_active_players_from_the_matchmaker_data() {
    let f = fixture();
    f.start(4, matchmaker_data());
    *lock(&f.sdk.pages) = vec![page(&["player-1", "player-2", "walk-in"], None)];
    assert_eq!(start_backfill("", &[]), Ok("ticket-1".into()));
    let calls = f.sdk.calls();
    let Some(Call::Describe(describe)) = calls.iter().find(|c| matches!(c, Call::Describe(_)))
    else {
        panic!("{calls:?}")
    };
    assert_eq!(
        describe.limit,
        Some(4),
        "one page of max players when <= 30"
    );
    assert_eq!(describe.status, Some(PlayerSessionStatus::Active));
    let Some(Call::StartBackfill(sent)) =
        calls.iter().find(|c| matches!(c, Call::StartBackfill(_)))
    else {
        panic!("{calls:?}")
    };
    assert_eq!(sent.ticket_id, None);
    assert_eq!(sent.players.len(), 2, "the walk-in has no matchmaker data");
    assert_eq!(sent.players[0].team, "red");
    assert_eq!(sent.players[0].attributes["skill"], AttributeValue::N(23.0));
    assert_eq!(
        sent.players[0].attributes["mode"],
        AttributeValue::S("ctf".into())
    );
    assert_eq!(sent.players[1].team, "blue");
    assert_eq!(
        sent.players[1].attributes["maps"],
        AttributeValue::SL(vec!["a".into(), "b".into()])
    );
    assert_eq!(
        sent.players[1].attributes["ping"],
        AttributeValue::SDM([("us-west-2".to_string(), 40.0)].into())
    );
}

#[test]
fn backfill_pages_through_30_at_a_time() {
    let f = fixture();
    f.start(100, matchmaker_data());
    *lock(&f.sdk.pages) = vec![
        page(&["player-1"], Some("page-2")),
        page(&["player-2"], Some("page-3")),
        page(&[], None),
    ];
    let players = f.manager.backfill_players().unwrap();
    assert_eq!(players.len(), 2);
    let describes: Vec<DescribePlayerSessionsRequest> = f
        .sdk
        .calls()
        .into_iter()
        .filter_map(|c| match c {
            Call::Describe(d) => Some(d),
            _ => None,
        })
        .collect();
    assert_eq!(describes.len(), 3);
    assert!(describes.iter().all(|d| d.limit == Some(30)));
    assert_eq!(describes[0].next_token, None);
    assert_eq!(describes[1].next_token.as_deref(), Some("page-2"));
    assert_eq!(describes[2].next_token.as_deref(), Some("page-3"));
}

#[test]
fn backfill_fails_when_a_page_fails() {
    let f = fixture();
    f.start(100, matchmaker_data());
    *lock(&f.sdk.pages) = vec![
        page(&["player-1"], Some("page-2")),
        Err(failed("DescribePlayerSessions")),
    ];
    assert!(matches!(
        start_backfill("", &[]),
        Err(GameLiftError::Service { .. })
    ));
    assert_eq!(f.sdk.count(|c| matches!(c, Call::StartBackfill(_))), 0);
}

#[test]
fn backfill_with_no_active_players_is_refused() {
    let f = fixture();
    f.start(4, matchmaker_data());
    assert!(matches!(
        start_backfill("", &[]),
        Err(GameLiftError::Validation {
            field: "players",
            ..
        })
    ));
}

#[test]
fn backfill_refuses_malformed_attributes() {
    for (attribute, expect) in [
        (
            serde_json::json!({"attributeType": "STRING", "valueAttribute": 5}),
            "not a string",
        ),
        (
            serde_json::json!({"attributeType": "DOUBLE", "valueAttribute": "x"}),
            "not a number",
        ),
        (
            serde_json::json!({"attributeType": "STRING_LIST", "valueAttribute": ["a", 1]}),
            "element",
        ),
        (
            serde_json::json!({"attributeType": "STRING_DOUBLE_MAP", "valueAttribute": {"a": "b"}}),
            "not a number",
        ),
        (
            serde_json::json!({"attributeType": "BLOB", "valueAttribute": 1}),
            "unknown attributeType",
        ),
        (serde_json::json!({"valueAttribute": 1}), "no attributeType"),
    ] {
        let f = fixture();
        let data = serde_json::json!({
            "matchmakingConfigurationArn": CONFIG_ARN,
            "teams": [{"name": "red", "players": [{"playerId": "player-1", "attributes": {"a": attribute}}]}],
        });
        f.start(4, data.to_string());
        *lock(&f.sdk.pages) = vec![page(&["player-1"], None)];
        match start_backfill("", &[]) {
            Err(GameLiftError::InvalidPlayer { player_id, reason }) => {
                assert_eq!(player_id, "player-1");
                assert!(reason.contains(expect), "{reason} should mention {expect}");
            }
            other => panic!("{attribute}: {other:?}"),
        }
    }
}

#[test]
fn backfill_reports_sdk_failure() {
    let f = fixture();
    f.start(4, matchmaker_data());
    *lock(&f.sdk.backfill) = Some(Err(failed("StartMatchBackfill")));
    let player = Player {
        player_id: "p".into(),
        ..Default::default()
    };
    assert!(matches!(
        start_backfill("", &[player]),
        Err(GameLiftError::Service { .. })
    ));
}

#[test]
fn stop_backfill_sends_the_session_and_configuration() {
    let f = fixture();
    f.start(4, matchmaker_data());
    assert_eq!(
        GAMELIFT_SERVER_REQUESTS
            .broadcast_result(|server| server.stop_match_backfill("t-1"))
            .unwrap(),
        Ok(())
    );
    assert!(
        f.sdk
            .calls()
            .contains(&Call::StopBackfill(StopMatchBackfillRequest {
                ticket_id: "t-1".into(),
                game_session_arn: SESSION_ID.into(),
                matchmaking_configuration_arn: CONFIG_ARN.into(),
            }))
    );
    *lock(&f.sdk.stop) = Some(Err(failed("StopMatchBackfill")));
    assert!(f.manager.stop_match_backfill("t-1").is_err());
}

// ----- certificates ----------------------------------------------------------------------------

#[test]
fn certificates_follow_the_tls_setting() {
    let f = fixture();
    f.start(4, String::new());
    let external = SESSION_HANDLING_PROVIDER_REQUESTS
        .broadcast_result(|p| p.external_session_certificate())
        .unwrap();
    assert_eq!(external, PathBuf::new());
    drop(f);
    let f = fixture_with(ServerManagerConfig {
        port: 7777,
        external_tls: true,
        ..Default::default()
    });
    f.start(4, String::new());
    let external = SESSION_HANDLING_PROVIDER_REQUESTS
        .broadcast_result(|p| p.external_session_certificate())
        .unwrap();
    assert_eq!(external, PathBuf::from("/local/cert.pem"));
    let internal = SESSION_HANDLING_PROVIDER_REQUESTS
        .broadcast_result(|p| p.internal_session_certificate())
        .unwrap();
    assert_eq!(internal, PathBuf::new());
}

#[test]
fn shutting_down_allows_a_new_init() {
    let f = fixture();
    f.ready();
    f.manager.shutdown_sdk().unwrap();
    assert!(!f.manager.is_initialized());
    f.manager.initialize_sdk(parameters()).unwrap();
    assert_eq!(f.sdk.count(|c| *c == Call::Init), 2);
    assert_eq!(f.sdk.count(|c| *c == Call::Destroy), 1);
}
