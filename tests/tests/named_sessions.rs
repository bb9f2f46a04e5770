//! Named sessions end to end: the client manager as the named-session provider against
//! `gamelift-local`, with sample game servers as child processes hosting the sessions.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use game_session::SessionState;
use game_session::named::*;
use gamelift_client::{GameLiftClientConfig, GameLiftClientManager};
use gamelift_local::{RunningServer, Server};
use integration_tests::GameServerProcess;
use samples::client::TcpPlayers;
use samples::protocol::WELCOME;

/// The buses are process-wide: the tests here take turns.
static BUSES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn local_service() -> RunningServer {
    Server::builder()
        .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .require_auth_token(true)
        .reconnect_grace(Duration::from_secs(1))
        .start()
        .await
        .expect("gamelift-local starts")
}

/// The service and `count` game server processes, each ready.
async fn fleet(prefix: &str, count: usize) -> (RunningServer, Vec<GameServerProcess>) {
    let local = local_service().await;
    let mut servers: Vec<GameServerProcess> = (0..count)
        .map(|i| GameServerProcess::start(&local.endpoint(), &format!("{prefix}-{i}")))
        .collect();
    for server in &mut servers {
        server.ready().await;
    }
    (local, servers)
}

fn manager(local: &RunningServer) -> GameLiftClientManager {
    manager_with(local, gamelift_client::named::gamelift_limits())
}

fn manager_with(local: &RunningServer, limits: Limits) -> GameLiftClientManager {
    let config = GameLiftClientConfig::builder()
        .named_session_limits(limits)
        .region("us-west-2")
        .endpoint_url(local.endpoint())
        .static_credentials("local", "local")
        .fleet_id("fleet-local")
        .location("custom-local")
        .activation_poll_interval(Duration::from_millis(20))
        .build();
    GameLiftClientManager::with_config(config).expect("the client manager starts")
}

/// A named-session request on the bus, off the async workers (the calls block).
async fn named<T: Send + 'static>(
    call: impl FnOnce(&dyn NamedSessionRequests) -> T + Send + 'static,
) -> T {
    tokio::task::spawn_blocking(move || {
        let provider = NAMED_SESSION_REQUESTS
            .first_handler()
            .expect("the provider is connected");
        call(&*provider)
    })
    .await
    .expect("the call ran")
}

#[derive(Default)]
struct Changes(Mutex<Vec<StateChange>>);

impl NamedSessionNotifications for Changes {
    fn on_session_state_changed(&self, change: &StateChange) {
        self.0.lock().unwrap().push(change.clone());
    }
}

fn game_settings(join_in_progress: bool, permission: PermissionLevel) -> SessionSettings {
    SessionModification::new(gamelift_client::named::gamelift_limits())
        .bucket_id("eu:duel")
        .unwrap()
        .max_players(4)
        .unwrap()
        .permission(permission)
        .join_in_progress(join_in_progress)
        .attribute("level", 12i64)
        .unwrap()
        .attribute("map", "harbour")
        .unwrap()
        .attribute("ranked", true)
        .unwrap()
        .local_attribute("password", "never sent")
        .unwrap()
        .build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_users_create_find_join_start_end_and_destroy() {
    let _buses = BUSES.lock().await;
    let (local, servers) = fleet("named-host", 3).await;
    let manager = manager(&local);
    let _active = manager.activate().unwrap();
    let changes = Arc::new(Changes::default());
    let _listener = NAMED_SESSION_NOTIFICATIONS
        .connect(changes.clone())
        .unwrap();

    // ada creates a session with typed attributes.
    let created = named(|p| {
        p.create_session(
            "ada",
            "Game",
            game_settings(false, PermissionLevel::PublicAdvertised),
            CreateMode::Now,
        )
    })
    .await
    .expect("created");
    assert_eq!(created.state, Pending);
    let session_id = created.session_id.clone().expect("a backend id");

    // bob finds it by a typed predicate, sees its advertised attributes, and joins.
    let found = named(|p| {
        p.find_sessions(
            "bob",
            &SessionSearch::attributes()
                .bucket("eu:duel")
                .unwrap()
                .with("level", Comparison::GreaterOrEqual, 10i64)
                .unwrap()
                .with("map", Comparison::Equal, "harbour")
                .unwrap(),
        )
    })
    .await
    .expect("searched");
    assert_eq!(found.len(), 1, "{found:?}");
    let details = found[0].clone();
    assert_eq!(details.session_id, session_id);
    assert_eq!(details.owner.as_deref(), Some("ada"));
    let attributes = &details.settings.attributes;
    assert_eq!(attributes["level"].value, AttributeValue::Int(12));
    assert_eq!(attributes["ranked"].value, AttributeValue::Bool(true));
    assert!(
        !attributes.contains_key("password"),
        "local attributes never leave"
    );
    let joining = details.clone();
    let joined = named(move |p| p.join_session("bob", "Game", &joining))
        .await
        .expect("joined");
    let connect = joined.connect.clone().expect("where to connect");
    assert!(connect.ticket.starts_with("psess-"), "{connect:?}");
    assert!(connect.address.starts_with("127.0.0.1:"), "{connect:?}");
    // bob connects to the game server with his ticket; the server accepts the player session,
    // and ada sees bob in the roster.
    let (host, port) = connect.address.rsplit_once(':').unwrap();
    let bob_connection = TcpPlayers::default();
    bob_connection
        .connect(&game_session::SessionConnectionConfig {
            player_session_id: connect.ticket.clone(),
            ip_address: host.to_string(),
            dns_name: String::new(),
            port: port.parse().unwrap(),
        })
        .expect("the game server admits bob");
    let roster = named(|p| p.session_info("ada", "Game")).await.unwrap();
    assert!(roster.connected_players.contains("bob"), "{roster:?}");
    // Searching by user finds the sessions bob is in.
    let bobs = named(|p| p.find_sessions("ada", &SessionSearch::by_user("bob")))
        .await
        .unwrap();
    assert_eq!(bobs.len(), 1, "{bobs:?}");
    assert_eq!(bobs[0].session_id, details.session_id);
    // A local name cannot be joined twice.
    let again = details.clone();
    assert!(matches!(
        named(move |p| p.join_session("bob", "Game", &again)).await,
        Err(NamedSessionError::SessionAlreadyExists { .. })
    ));

    // ada registers bob, starts; without join in progress carol cannot join.
    let change = named(|p| p.register_players("ada", "Game", &["bob".to_string()]))
        .await
        .unwrap();
    assert_eq!(change.changed, vec!["bob".to_string()]);
    assert!(named(|p| p.is_player_in_session("ada", "Game", "bob")).await);
    let started = named(|p| p.start_session("ada", "Game")).await.unwrap();
    assert_eq!(started.state, InProgress);
    assert!(matches!(
        named(|p| p.start_session("ada", "Game")).await,
        Err(NamedSessionError::InvalidState { .. })
    ));
    let late = details.clone();
    let refused = named(move |p| p.join_session("carol", "Game", &late)).await;
    assert!(
        matches!(refused, Err(NamedSessionError::NoPermission(_))),
        "{refused:?}"
    );
    assert_eq!(named(|p| p.session_info("carol", "Game")).await, None);

    // end, then destroy by the owner ends the backend session.
    let ended = named(|p| p.end_session("ada", "Game")).await.unwrap();
    assert_eq!(ended.state, Ended);
    named(|p| p.destroy_session("ada", "Game")).await.unwrap();
    named(|p| p.destroy_session("bob", "Game")).await.unwrap();
    assert!(matches!(
        named(|p| p.destroy_session("ada", "Game")).await,
        Err(NamedSessionError::SessionNotFound { .. })
    ));
    bob_connection.leave_all();
    let gone = named(move |p| p.find_sessions("bob", &SessionSearch::by_id(session_id)))
        .await
        .unwrap();
    assert!(gone.is_empty(), "{gone:?}");

    // With join in progress, a third user joins a started session.
    named(|p| {
        p.create_session(
            "ada",
            "Open",
            game_settings(true, PermissionLevel::PublicAdvertised),
            CreateMode::Now,
        )
    })
    .await
    .unwrap();
    named(|p| p.start_session("ada", "Open")).await.unwrap();
    let open = named(|p| {
        p.find_sessions(
            "carol",
            &SessionSearch::attributes()
                .with("ranked", Comparison::Equal, true)
                .unwrap(),
        )
    })
    .await
    .unwrap();
    assert_eq!(open.len(), 1, "{open:?}");
    let open = open[0].clone();
    named(move |p| p.join_session("carol", "Open", &open))
        .await
        .expect("join in progress is allowed");

    // An invite-only session is in no search and cannot be joined without an invite.
    let private = named(|p| {
        p.create_session(
            "ada",
            "Private",
            game_settings(false, PermissionLevel::InviteOnly),
            CreateMode::Now,
        )
    })
    .await
    .unwrap();
    let everything = named(|p| p.find_sessions("bob", &SessionSearch::attributes()))
        .await
        .unwrap();
    assert!(
        everything
            .iter()
            .all(|s| Some(&s.session_id) != private.session_id.as_ref()),
        "{everything:?}"
    );
    let by_id =
        named(move |p| p.find_sessions("bob", &SessionSearch::by_id(private.session_id.unwrap())))
            .await
            .unwrap();
    assert_eq!(by_id.len(), 1);
    let private = by_id[0].clone();
    assert!(matches!(
        named(move |p| p.join_session("bob", "Private", &private)).await,
        Err(NamedSessionError::NoPermission(_))
    ));

    // Every state change reached the notification bus.
    let seen = changes.0.lock().unwrap().clone();
    let ada_game: Vec<SessionState> = seen
        .iter()
        .filter(|c| c.local_user == "ada" && c.name == "Game")
        .map(|c| c.to)
        .collect();
    use SessionState::{
        Creating, Destroying, Ended, Ending, InProgress, NoSession, Pending, Starting,
    };
    assert_eq!(
        ada_game,
        vec![
            Creating, Pending, Starting, InProgress, Ending, Ended, Destroying, NoSession
        ]
    );
    let dump = named(|p| p.dump_session_state("ada", "Open")).await;
    assert!(
        dump.contains("InProgress") && dump.contains("level"),
        "{dump}"
    );
    for name in ["Open", "Private"] {
        named(move |p| p.destroy_session("ada", name))
            .await
            .unwrap();
    }
    named(|p| p.destroy_session("carol", "Open")).await.unwrap();
    drop(servers);
    local.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreal_flow_create_stores_settings_and_start_hands_back_a_connect_string() {
    let _buses = BUSES.lock().await;
    let (local, server) = fleet("unreal-host", 1).await;
    let manager = manager(&local);
    let _active = manager.activate().unwrap();

    let created = named(|p| {
        p.create_session(
            "dave",
            "Game",
            game_settings(false, PermissionLevel::PublicAdvertised),
            CreateMode::OnStart,
        )
    })
    .await
    .unwrap();
    assert_eq!(created.state, SessionState::Pending);
    assert_eq!(created.session_id, None, "nothing on the backend yet");
    let started = named(|p| p.start_session("dave", "Game")).await.unwrap();
    assert_eq!(started.state, SessionState::InProgress);
    let connect = named(|p| p.resolved_connect_string("dave", "Game"))
        .await
        .expect("a connect string");
    // Connect to the game server and present the ticket: the server validates it.
    let (host, port) = connect.address.rsplit_once(':').unwrap();
    let answer =
        TcpPlayers::try_ticket(host, port.parse().unwrap(), &connect.ticket).expect("answered");
    assert!(answer.starts_with(WELCOME), "{answer}");
    named(|p| p.destroy_session("dave", "Game")).await.unwrap();
    drop(server);
    local.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_creates_then_joins_never_meet_an_activating_session() {
    let _buses = BUSES.lock().await;
    let (local, servers) = fleet("race-host", 2).await;
    // Four calls a run by each user: above EOS's 30 a minute, so this test raises the limit.
    let limits = Limits {
        lifecycle_calls: 1000,
        ..gamelift_client::named::gamelift_limits()
    };
    let manager = manager_with(&local, limits);
    let _active = manager.activate().unwrap();
    for run in 0..50 {
        // Ending the previous session restarts its server process; waiting for a free process
        // (FleetCapacityExceeded, bounded) is not the race under test, which is the join.
        let mut attempts = 0;
        let created = loop {
            let created = named(|p| {
                p.create_session(
                    "ada",
                    "Race",
                    game_settings(false, PermissionLevel::PublicAdvertised),
                    CreateMode::Now,
                )
            })
            .await;
            match created {
                Err(NamedSessionError::Backend(game_session::SessionError::Service {
                    code,
                    ..
                })) if code == "FleetCapacityExceededException" && attempts < 400 => {
                    attempts += 1;
                    tokio::time::sleep(Duration::from_millis(25)).await;
                }
                other => {
                    break other
                        .unwrap_or_else(|error| panic!("run {run}: create failed: {error}"));
                }
            }
        };
        let id = created.session_id.unwrap();
        let found = named(move |p| p.find_sessions("bob", &SessionSearch::by_id(id)))
            .await
            .unwrap();
        let session = found
            .first()
            .cloned()
            .unwrap_or_else(|| panic!("run {run}: not found"));
        named(move |p| p.join_session("bob", "Race", &session))
            .await
            .unwrap_or_else(|error| panic!("run {run}: join failed: {error}"));
        named(|p| p.destroy_session("bob", "Race")).await.unwrap();
        named(|p| p.destroy_session("ada", "Race")).await.unwrap();
    }
    drop(servers);
    local.shutdown().await;
}

#[derive(Default)]
struct Received(Mutex<Vec<String>>);

impl InviteNotifications for Received {
    fn on_session_invite_received(&self, invite: &SessionInvite) {
        self.0.lock().unwrap().push(invite.invite_id.clone());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invite_only_session_is_joined_through_an_accepted_invite() {
    let _buses = BUSES.lock().await;
    let (local, server) = fleet("invite-host", 1).await;
    let manager = manager(&local);
    let _active = manager.activate().unwrap();
    let created = named(|p| {
        p.create_session(
            "ada",
            "Private",
            game_settings(false, PermissionLevel::InviteOnly),
            CreateMode::Now,
        )
    })
    .await
    .unwrap();

    // With no transport, invites are not supported, and the error names what is missing.
    let error = named(|p| p.send_invite("ada", "Private", "bob"))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, NamedSessionError::NotSupported { missing, .. } if missing.contains("InviteTransport")),
        "{error:?}"
    );

    // Invites through gamelift-local's local-only extension.
    let transport = Arc::new(
        gamelift_client::local_invites::LocalInviteTransport::new(&local.endpoint()).unwrap(),
    );
    let _transport = INVITE_TRANSPORT.connect(transport.clone()).unwrap();
    let received = Arc::new(Received::default());
    let _received = INVITE_NOTIFICATIONS.connect(received.clone()).unwrap();
    // No search finds it.
    let everything = named(|p| p.find_sessions("bob", &SessionSearch::attributes()))
        .await
        .unwrap();
    assert!(
        everything
            .iter()
            .all(|s| Some(&s.session_id) != created.session_id.as_ref())
    );

    let first = named(|p| p.send_invite("ada", "Private", "bob"))
        .await
        .unwrap();
    let second = named(|p| p.send_invite("ada", "Private", "bob"))
        .await
        .unwrap();
    let pending = named(|p| p.query_invites("bob")).await.unwrap();
    assert_eq!(pending.len(), 2);
    assert_eq!(pending[0].from, "ada");
    assert_eq!(
        pending[0].session.session_id,
        created.session_id.clone().unwrap()
    );
    assert_eq!(
        *received.0.lock().unwrap(),
        vec![first.clone(), second.clone()]
    );
    // Asking again announces nothing new.
    named(|p| p.query_invites("bob")).await.unwrap();
    assert_eq!(received.0.lock().unwrap().len(), 2);

    let rejected = second.clone();
    named(move |p| p.reject_invite("bob", &rejected))
        .await
        .unwrap();
    let accepted = first.clone();
    let joined = named(move |p| p.accept_invite("bob", &accepted, "Game"))
        .await
        .expect("the invite lets bob in");
    assert_eq!(joined.session_id, created.session_id);
    assert!(joined.connect.unwrap().ticket.starts_with("psess-"));
    assert!(named(|p| p.query_invites("bob")).await.unwrap().is_empty());
    // An invite is used once.
    assert!(
        named(move |p| p.accept_invite("bob", &first, "Again"))
            .await
            .is_err()
    );
    // carol has none.
    assert!(
        named(|p| p.query_invites("carol"))
            .await
            .unwrap()
            .is_empty()
    );

    named(|p| p.destroy_session("bob", "Game")).await.unwrap();
    named(|p| p.destroy_session("ada", "Private"))
        .await
        .unwrap();
    drop(server);
    local.shutdown().await;
}
