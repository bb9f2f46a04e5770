//! The Server SDK against `gamelift-local` over a real WebSocket, driven from the control plane
//! by the real `aws-sdk-gamelift` client.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_sdk_gamelift::types::TerminationMode;
use common::{FLEET, eventually, fast, start, start_with};
use futures_util::StreamExt;
use gamelift_server::sdk::{
    ConnectionState, DescribePlayerSessionsRequest, FleetRoleCredentialsRequest, GameLiftServerSdk,
    GameSession, PlayerSessionCreationPolicy, PlayerSessionStatus, ProcessParameters, SdkConfig,
    ServerParameters,
};
use gamelift_server::{GameLiftError, ServiceErrorKind};
use tokio::sync::mpsc;

/// Process parameters that report placed sessions on a channel.
fn reporting(port: u16) -> (ProcessParameters, mpsc::UnboundedReceiver<GameSession>) {
    let (sessions, placed) = mpsc::unbounded_channel();
    let process = ProcessParameters::new(port, move |session| {
        let _ = sessions.send(session);
    });
    (process, placed)
}

async fn next(placed: &mut mpsc::UnboundedReceiver<GameSession>) -> GameSession {
    tokio::time::timeout(Duration::from_secs(10), placed.recv())
        .await
        .expect("a session is placed within 10 s")
        .expect("the callback is alive")
}

/// Token-mode parameters for `process` on compute `host-1` of the default fleet.
fn token_parameters(endpoint: &str, process: &str, token: &str) -> ServerParameters {
    ServerParameters::builder()
        .websocket_url(endpoint)
        .fleet_id(FLEET)
        .host_id("host-1")
        .process_id(process)
        .auth_token(token)
        .build()
        .unwrap()
}

/// A connected SDK for `process_id` on compute `host-1`, with the fast timings.
async fn connect(local: &common::Local, process_id: &str) -> GameLiftServerSdk {
    GameLiftServerSdk::init_with(local.parameters("host-1", process_id).await, fast())
        .await
        .expect("connected")
}

/// A connected, ready process on `port` and the channel of its placements.
async fn ready(
    local: &common::Local,
    process_id: &str,
    port: u16,
) -> (GameLiftServerSdk, mpsc::UnboundedReceiver<GameSession>) {
    let sdk = connect(local, process_id).await;
    let (process, placed) = reporting(port);
    sdk.process_ready(process).await.expect("ready");
    (sdk, placed)
}

/// A ready process on `port` hosting an active session; returns the SDK, the session id and the
/// channel of later placements.
async fn hosting(
    local: &common::Local,
    process_id: &str,
    process: ProcessParameters,
    mut placed: mpsc::UnboundedReceiver<GameSession>,
) -> (
    GameLiftServerSdk,
    String,
    mpsc::UnboundedReceiver<GameSession>,
) {
    let sdk = connect(local, process_id).await;
    sdk.process_ready(process).await.expect("ready");
    let arn = local.create_session(4).await;
    assert_eq!(next(&mut placed).await.game_session_id, arn);
    sdk.activate_game_session().await.expect("activated");
    (sdk, arn, placed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_lifecycle() {
    let local = start().await;
    let sdk = connect(&local, "process-1").await;
    assert!(sdk.is_connected());
    assert_eq!(
        sdk.game_session_id(),
        Err(GameLiftError::GameSessionIdNotSet)
    );
    assert_eq!(
        sdk.activate_game_session().await,
        Err(GameLiftError::ProcessNotReady)
    );

    let health_checks = Arc::new(AtomicUsize::new(0));
    let counted = health_checks.clone();
    let (process, mut placed) = reporting(7101);
    let process = process
        .log_path("/local/game/logs")
        .on_health_check(move || {
            counted.fetch_add(1, Ordering::SeqCst);
            true
        });
    sdk.process_ready(process).await.expect("ready");
    assert!(sdk.is_ready());

    let arn = local.create_session(4).await;
    let session = next(&mut placed).await;
    assert_eq!(session.game_session_id, arn);
    assert_eq!(session.name, "test game");
    assert_eq!(session.fleet_id, FLEET);
    assert_eq!(session.port, 7101);
    assert_eq!(session.maximum_player_session_count, 4);
    assert_eq!(session.game_properties["mode"], "ctf");
    assert_eq!(sdk.game_session_id(), Ok(arn.clone()));
    assert_eq!(local.session_status(&arn).await, "ACTIVATING");
    sdk.activate_game_session().await.expect("activated");
    assert_eq!(local.session_status(&arn).await, "ACTIVE");

    let player = local.join(&arn, "player-1").await;
    assert_eq!(local.player_status(&player).await, "RESERVED");
    sdk.accept_player_session(&player).await.expect("accepted");
    assert_eq!(local.player_status(&player).await, "ACTIVE");
    let mut request = DescribePlayerSessionsRequest::for_game_session(&arn);
    request.status = Some(PlayerSessionStatus::Active);
    let listed = sdk.describe_player_sessions(&request).await.unwrap();
    assert_eq!(listed.player_sessions.len(), 1);
    assert_eq!(listed.player_sessions[0].player_id, "player-1");
    assert_eq!(listed.player_sessions[0].port, 7101);
    sdk.remove_player_session(&player).await.expect("removed");
    assert_eq!(local.player_status(&player).await, "COMPLETED");

    sdk.update_player_session_creation_policy(PlayerSessionCreationPolicy::DenyAll)
        .await
        .unwrap();
    let refused = local
        .client
        .create_player_session()
        .game_session_id(&arn)
        .player_id("late")
        .send()
        .await;
    assert!(refused.is_err(), "DENY_ALL refuses new players");

    let certificate = sdk.compute_certificate().await.unwrap();
    assert_eq!(certificate.compute_name, "host-1");
    let role = FleetRoleCredentialsRequest {
        role_arn: "arn:aws:iam::123456789012:role/game".into(),
        role_session_name: String::new(),
    };
    assert_eq!(
        sdk.fleet_role_credentials(&role).await,
        Err(GameLiftError::FleetRoleCredentialsUnavailable)
    );

    eventually("two health checks", || {
        health_checks.load(Ordering::SeqCst) >= 2
    })
    .await;

    sdk.process_ending().await.expect("ending");
    assert!(!sdk.is_ready());
    assert_eq!(local.session_status(&arn).await, "TERMINATED");
    sdk.destroy().await.unwrap();
    assert!(!sdk.is_connected());
    assert_eq!(
        sdk.compute_certificate().await,
        Err(GameLiftError::NotInitialized)
    );
    local.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_reused_and_timed_out_player_sessions_are_refused() {
    let local = start().await;
    let (process, placed) = reporting(7102);
    let (sdk, arn, _placed) = hosting(&local, "process-2", process, placed).await;

    let forged = sdk.accept_player_session("psess-forged").await;
    assert_eq!(
        forged.as_ref().err().and_then(GameLiftError::service_kind),
        Some(ServiceErrorKind::NotFound),
        "{forged:?}"
    );
    assert!(matches!(
        sdk.accept_player_session("not a ticket").await,
        Err(GameLiftError::Validation {
            field: "player_session_id",
            ..
        })
    ));

    let player = local.join(&arn, "player-1").await;
    sdk.accept_player_session(&player).await.unwrap();
    let reused = sdk.accept_player_session(&player).await;
    assert_eq!(
        reused.err().and_then(|e| e.service_kind()),
        Some(ServiceErrorKind::BadRequest)
    );

    let late = local.join(&arn, "player-2").await;
    local.clock.advance(Duration::from_secs(61));
    local.server.service().tick();
    let timed_out = sdk.accept_player_session(&late).await;
    assert!(
        matches!(&timed_out, Err(GameLiftError::Service { message, .. }) if message.contains("TIMEDOUT")),
        "{timed_out:?}"
    );
    sdk.destroy().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_reconnects_after_the_service_drops_the_connection() {
    let local = start().await;
    let (sdk, mut placed) = ready(&local, "process-3", 7103).await;
    assert_eq!(sdk.connections_opened(), 1);

    // An abnormal close: the SDK reconnects with the same URL and carries on.
    let closed = local
        .server
        .service()
        .close_connections("process-3", 1011, "internal error");
    assert_eq!(closed, 1);
    eventually("a second connection", || sdk.connections_opened() == 2).await;
    eventually("the connection is back", || sdk.is_connected()).await;
    let arn = local.create_session(2).await;
    assert_eq!(next(&mut placed).await.game_session_id, arn);
    sdk.activate_game_session()
        .await
        .expect("works after the reconnect");

    // A normal close means "stop": no reconnect, and calls say why.
    local
        .server
        .service()
        .close_connections("process-3", 1000, "bye");
    eventually("the connection to close", || !sdk.is_connected()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sdk.connections_opened(), 2);
    assert!(matches!(
        sdk.compute_certificate().await,
        Err(GameLiftError::NotConnected(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_connection_opens_the_new_socket_before_closing_the_old() {
    let local = start().await;
    let (sdk, mut placed) = ready(&local, "process-4", 7104).await;
    assert!(local.server.service().refresh_connection("process-4"));
    eventually("the refreshed connection", || sdk.connections_opened() == 2).await;
    // Pushes go to the newest connection; requests use it.
    let arn = local.create_session(2).await;
    assert_eq!(next(&mut placed).await.game_session_id, arn);
    sdk.activate_game_session().await.unwrap();
    // The old connection was closed normally, which does not count as a drop: no reconnect.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(sdk.connections_opened(), 2);
    assert!(sdk.is_connected());
    assert_eq!(local.session_status(&arn).await, "ACTIVE");
    // Reconnects now use the refreshed token (the original one could have expired).
    local
        .server
        .service()
        .close_connections("process-4", 1011, "drop");
    eventually("a reconnect", || {
        sdk.connections_opened() == 3 && sdk.is_connected()
    })
    .await;
    sdk.compute_certificate().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_process_reaches_the_callback_with_the_termination_time() {
    let local = start().await;
    let sdk = connect(&local, "process-5").await;
    let (terminations, mut terminated) = mpsc::unbounded_channel();
    let (process, mut placed) = reporting(7105);
    let process = process.on_process_terminate(move || {
        let _ = terminations.send(());
    });
    sdk.process_ready(process).await.unwrap();
    assert_eq!(
        sdk.termination_time(),
        Err(GameLiftError::TerminationTimeNotSet)
    );
    let arn = local.create_session(2).await;
    next(&mut placed).await;
    sdk.activate_game_session().await.unwrap();
    local
        .client
        .terminate_game_session()
        .game_session_id(&arn)
        .termination_mode(TerminationMode::TriggerOnProcessTerminate)
        .send()
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), terminated.recv())
        .await
        .expect("OnProcessTerminate within 10 s");
    let at = sdk.termination_time().expect("set by TerminateProcess");
    assert!(at > std::time::UNIX_EPOCH);
    sdk.process_ending().await.unwrap();
    assert_eq!(local.session_status(&arn).await, "TERMINATED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_terminate_callback_the_sdk_ends_the_process_itself() {
    let local = start().await;
    let (process, placed) = reporting(7106);
    let (sdk, arn, _placed) = hosting(&local, "process-6", process, placed).await;
    local
        .client
        .terminate_game_session()
        .game_session_id(&arn)
        .termination_mode(TerminationMode::TriggerOnProcessTerminate)
        .send()
        .await
        .unwrap();
    eventually("the SDK to close", || !sdk.is_connected()).await;
    assert_eq!(local.session_status(&arn).await, "TERMINATED");
    assert_eq!(
        sdk.activate_game_session().await,
        Err(GameLiftError::NotInitialized)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_and_failed_connections_are_typed() {
    let local = start().await;
    let good = local.parameters("host-1", "process-7").await;
    let forged = token_parameters(&local.server.sdk_endpoint(), "process-7", "forged-token");
    let refused = GameLiftServerSdk::init_with(forged, fast()).await;
    assert!(
        matches!(
            refused,
            Err(GameLiftError::ConnectForbidden { status: 403, .. })
        ),
        "{refused:?}"
    );
    // The same process id twice is refused while the first is connected.
    let _first = GameLiftServerSdk::init_with(good.clone(), fast())
        .await
        .unwrap();
    assert!(matches!(
        GameLiftServerSdk::init_with(good, fast()).await,
        Err(GameLiftError::ConnectForbidden { .. })
    ));

    // Nothing listening: bounded attempts, then a typed failure naming the endpoint.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let nowhere = token_parameters(&format!("ws://127.0.0.1:{port}"), "p", "t");
    let config = SdkConfig {
        connect_attempts: 3,
        ..fast()
    };
    match GameLiftServerSdk::init_with(nowhere, config).await {
        Err(GameLiftError::ConnectFailed { url, .. }) => {
            assert_eq!(url, format!("ws://127.0.0.1:{port}/"))
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_timeouts_in_a_row_replace_a_silent_connection() {
    // A WebSocket server that accepts and never answers: a half-open connection as the SDK
    // sees it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    let server = tokio::spawn(async move {
        let mut sockets = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            if let Ok(socket) = tokio_tungstenite::accept_async(stream).await {
                let (sink, mut reader) = socket.split();
                sockets.push(sink);
                tokio::spawn(async move { while reader.next().await.is_some() {} });
            }
        }
    });
    let parameters = token_parameters(&format!("ws://{address}"), "silent", "t");
    let config = SdkConfig {
        request_timeout: Duration::from_millis(150),
        ..fast()
    };
    let sdk = GameLiftServerSdk::init_with(parameters, config)
        .await
        .unwrap();
    for _ in 0..2 {
        assert!(matches!(
            sdk.compute_certificate().await,
            Err(GameLiftError::Timeout { .. })
        ));
    }
    eventually("a replacement connection", || {
        accepted.load(Ordering::SeqCst) == 2
    })
    .await;
    assert_eq!(sdk.connections_opened(), 2);
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_with_the_services_certificate() {
    let directory =
        std::env::temp_dir().join(format!("gamelift-server-tls-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    // The control-plane client would need the certificate too; this test creates sessions
    // through the service directly and lets computes connect without a token.
    let local = start_with(|builder| {
        builder
            .tls(true)
            .certificate_directory(&directory)
            .require_auth_token(false)
    })
    .await;
    assert!(local.server.sdk_endpoint().starts_with("wss://"));
    let parameters = token_parameters(&local.server.sdk_endpoint(), "process-tls", "not-checked");
    // Without trusting the certificate, TLS fails (and is not retried as a refusal).
    let untrusted = SdkConfig {
        connect_attempts: 1,
        ..fast()
    };
    assert!(matches!(
        GameLiftServerSdk::init_with(parameters.clone(), untrusted).await,
        Err(GameLiftError::ConnectFailed { .. })
    ));
    let trusted = SdkConfig {
        extra_root_certificates: vec![local.server.certificate_path().unwrap().to_path_buf()],
        ..fast()
    };
    let sdk = GameLiftServerSdk::init_with(parameters, trusted)
        .await
        .unwrap();
    let (process, mut placed) = reporting(7109);
    sdk.process_ready(process).await.unwrap();
    let input = gamelift_local::wire::decode_json(
        br#"{"FleetId": "fleet-local", "Location": "custom-local", "MaximumPlayerSessionCount": 2}"#,
    )
    .unwrap();
    let created = local
        .server
        .service()
        .call("CreateGameSession", None, &input)
        .expect("placed");
    let output: serde_json::Value =
        serde_json::from_slice(&gamelift_local::wire::encode_json(&created)).unwrap();
    let arn = output["GameSession"]["GameSessionId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(next(&mut placed).await.game_session_id, arn);
    sdk.activate_game_session().await.unwrap();
    sdk.destroy().await.unwrap();
    let _ = std::fs::remove_dir_all(directory);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigv4_query_signing_connects_where_the_service_takes_sigv4() {
    // With `--auth none` the local service admits SigV4-signed connections (it does not hold
    // the keys to verify them); a token-only service refuses them before the upgrade.
    let open = start_with(|builder| builder.require_auth_token(false)).await;
    let signed = |endpoint: String| {
        ServerParameters::builder()
            .websocket_url(endpoint)
            .fleet_id(FLEET)
            .host_id("host-1")
            .process_id("process-sigv4")
            .aws_region("us-west-2")
            .access_key("AKIDLOCAL")
            .secret_key("secret")
            .build()
            .unwrap()
    };
    let sdk = GameLiftServerSdk::init_with(signed(open.server.sdk_endpoint()), fast())
        .await
        .expect("SigV4 connection admitted");
    let (process, _placed) = reporting(7110);
    sdk.process_ready(process).await.unwrap();
    sdk.destroy().await.unwrap();

    let strict = start().await;
    assert!(matches!(
        GameLiftServerSdk::init_with(signed(strict.server.sdk_endpoint()), fast()).await,
        Err(GameLiftError::ConnectForbidden { status: 403, .. })
    ));
}

/// A scripted service: answers every request with success and records what it received.
async fn recording_service() -> (String, Arc<std::sync::Mutex<Vec<serde_json::Value>>>) {
    use futures_util::SinkExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let received = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = received.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let Ok(mut socket) = tokio_tungstenite::accept_async(stream).await else {
                    return;
                };
                while let Some(Ok(message)) = socket.next().await {
                    let Ok(text) = message.to_text() else {
                        continue;
                    };
                    let Ok(request) = serde_json::from_str::<serde_json::Value>(text) else {
                        continue;
                    };
                    let mut answer = serde_json::json!({
                        "Action": request["Action"],
                        "RequestId": request["RequestId"],
                        "StatusCode": 200,
                    });
                    if request["Action"] == "GetFleetRoleCredentials" {
                        // A managed fleet's answer: credentials valid for an hour.
                        let now = std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .unwrap()
                            .as_millis() as i64;
                        answer["AccessKeyId"] = "ASIAFLEET".into();
                        answer["SecretAccessKey"] = "secret".into();
                        answer["SessionToken"] = "token".into();
                        answer["Expiration"] = (now + 3_600_000).into();
                    }
                    log.lock().unwrap().push(request);
                    let message =
                        tokio_tungstenite::tungstenite::Message::Text(answer.to_string().into());
                    if socket.send(message).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (format!("ws://{address}"), received)
}

fn heartbeats(received: &std::sync::Mutex<Vec<serde_json::Value>>) -> Vec<bool> {
    received
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r["Action"] == "HeartbeatServerProcess")
        .map(|r| r["HealthStatus"].as_bool().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_start_at_once_and_a_slow_health_check_reports_unhealthy() {
    let (endpoint, received) = recording_service().await;
    let parameters = |process: &str| token_parameters(&endpoint, process, "t");
    let config = SdkConfig {
        heartbeat_interval: Duration::from_secs(3600),
        health_check_timeout: Duration::from_millis(100),
        ..fast()
    };
    // The first heartbeat follows ProcessReady at once, even with an hour-long period.
    let sdk = GameLiftServerSdk::init_with(parameters("healthy"), config.clone())
        .await
        .unwrap();
    let (process, _placed) = reporting(7111);
    sdk.process_ready(process.log_path("/logs/a"))
        .await
        .unwrap();
    eventually("the first heartbeat", || heartbeats(&received) == [true]).await;
    let ready = received.lock().unwrap()[0].clone();
    assert_eq!(ready["Action"], "ActivateServerProcess");
    assert_eq!(ready["Port"], 7111);
    assert_eq!(ready["SdkLanguage"], "Rust");
    assert_eq!(ready["LogPaths"], serde_json::json!(["/logs/a"]));
    sdk.destroy().await.unwrap();
    received.lock().unwrap().clear();

    // A health callback slower than its budget counts as unhealthy.
    let sdk = GameLiftServerSdk::init_with(parameters("slow"), config)
        .await
        .unwrap();
    let (process, _placed) = reporting(7112);
    let process = process.on_health_check(|| {
        std::thread::sleep(Duration::from_millis(400));
        true
    });
    sdk.process_ready(process).await.unwrap();
    eventually("an unhealthy heartbeat", || {
        heartbeats(&received) == [false]
    })
    .await;
    sdk.destroy().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fleet_role_credentials_are_cached_while_valid() {
    let (endpoint, received) = recording_service().await;
    let parameters = token_parameters(&endpoint, "managed", "t");
    let sdk = GameLiftServerSdk::init_with(parameters, fast())
        .await
        .unwrap();
    let request = FleetRoleCredentialsRequest {
        role_arn: "arn:aws:iam::123456789012:role/game".into(),
        role_session_name: String::new(),
    };
    let first = sdk.fleet_role_credentials(&request).await.unwrap();
    let second = sdk.fleet_role_credentials(&request).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(first.access_key_id, "ASIAFLEET");
    let asked: Vec<serde_json::Value> = received
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r["Action"] == "GetFleetRoleCredentials")
        .cloned()
        .collect();
    assert_eq!(asked.len(), 1, "the second call is served from the cache");
    assert_eq!(asked[0]["RoleSessionName"], "fleet-local-host-1");
    let bad = FleetRoleCredentialsRequest {
        role_arn: request.role_arn.clone(),
        role_session_name: "x".into(),
    };
    assert!(matches!(
        sdk.fleet_role_credentials(&bad).await,
        Err(GameLiftError::Validation {
            field: "role_session_name",
            ..
        })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocking_callback_does_not_hold_up_the_connection() {
    let local = start().await;
    let sdk = connect(&local, "process-block").await;
    // The start callback blocks until the test says so; the test says so only after a request
    // made while the callback blocks got its answer (which the reader delivers).
    let (release, released) = std::sync::mpsc::channel::<()>();
    let released = std::sync::Mutex::new(released);
    let (entered, mut inside) = mpsc::unbounded_channel();
    let process = ProcessParameters::new(7113, move |session| {
        let _ = entered.send(session);
        let _ = released.lock().unwrap().recv();
    });
    sdk.process_ready(process).await.unwrap();
    let arn = local.create_session(2).await;
    assert_eq!(next(&mut inside).await.game_session_id, arn);
    tokio::time::timeout(Duration::from_secs(10), sdk.activate_game_session())
        .await
        .expect("answered while the callback blocks")
        .unwrap();
    release.send(()).unwrap();
    assert_eq!(local.session_status(&arn).await, "ACTIVE");
}

async fn next_update(
    updated: &mut mpsc::UnboundedReceiver<gamelift_server::sdk::UpdateGameSession>,
) -> gamelift_server::sdk::UpdateGameSession {
    tokio::time::timeout(Duration::from_secs(10), updated.recv())
        .await
        .expect("an update within 10 s")
        .expect("the callback is alive")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_fills_the_session_with_a_matched_player_and_tells_the_process() {
    let local = start().await;
    let configuration = common::matchmaking_configuration(&local.client, "duel").await;
    let (updates, mut updated) = mpsc::unbounded_channel();
    let (process, placed) = reporting(7114);
    let process = process.on_update_game_session(move |update| {
        let _ = updates.send(update);
    });
    let (sdk, arn, _placed) = hosting(&local, "process-backfill", process, placed).await;
    let request = |ticket: Option<&str>| gamelift_server::sdk::StartMatchBackfillRequest {
        ticket_id: ticket.map(str::to_string),
        game_session_arn: arn.clone(),
        matchmaking_configuration_arn: configuration.clone(),
        players: vec![game_session::Player {
            player_id: "player-1".into(),
            team: "red".into(),
            ..Default::default()
        }],
    };

    // Started and stopped: the process hears BACKFILL_CANCELLED; the ticket is then finished.
    let ticket = sdk
        .start_match_backfill(&request(None))
        .await
        .expect("a ticket");
    let stop = gamelift_server::sdk::StopMatchBackfillRequest {
        ticket_id: ticket.clone(),
        game_session_arn: arn.clone(),
        matchmaking_configuration_arn: configuration.clone(),
    };
    sdk.stop_match_backfill(&stop).await.expect("stopped");
    let cancelled = next_update(&mut updated).await;
    assert_eq!(
        cancelled.update_reason,
        gamelift_server::sdk::UpdateReason::BackfillCancelled
    );
    assert_eq!(cancelled.backfill_ticket_id, ticket);
    assert_eq!(
        sdk.stop_match_backfill(&stop)
            .await
            .err()
            .and_then(|e| e.service_kind()),
        Some(ServiceErrorKind::NotFound)
    );

    // Started again, and a player looking for a match fills the open slot on blue.
    let ticket = sdk
        .start_match_backfill(&request(Some("backfill-2")))
        .await
        .expect("a ticket");
    assert_eq!(ticket, "backfill-2");
    local
        .client
        .start_matchmaking()
        .configuration_name("duel")
        .ticket_id("newcomer")
        .players(
            aws_sdk_gamelift::types::Player::builder()
                .player_id("player-2")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let filled = next_update(&mut updated).await;
    assert_eq!(
        filled.update_reason,
        gamelift_server::sdk::UpdateReason::MatchmakingDataUpdated
    );
    assert_eq!(filled.backfill_ticket_id, "backfill-2");
    let data: serde_json::Value =
        serde_json::from_str(&filled.game_session.matchmaker_data).expect("MatchmakerData");
    let teams: Vec<(String, usize)> = data["teams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_string(),
                t["players"].as_array().unwrap().len(),
            )
        })
        .collect();
    assert_eq!(teams, [("red".to_string(), 1), ("blue".to_string(), 1)]);
    let newcomer = local
        .client
        .describe_matchmaking()
        .ticket_ids("newcomer")
        .send()
        .await
        .unwrap()
        .ticket_list()[0]
        .clone();
    let info = newcomer
        .game_session_connection_info()
        .expect("connection info");
    assert_eq!(info.game_session_arn(), Some(arn.as_str()));
    let player_session = info.matched_player_sessions()[0]
        .player_session_id()
        .unwrap();
    assert_eq!(local.player_status(player_session).await, "RESERVED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_403_storm_is_waited_out_not_given_up_and_reported() {
    // A service that accepts, drops the connection, answers 403 to the next six attempts (a
    // restart that forgot the process's token), then accepts again.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let attempts = Arc::new(AtomicUsize::new(0));
    let counter = attempts.clone();
    let server = tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        let mut kept = Vec::new();
        while let Ok((mut stream, _)) = listener.accept().await {
            let attempt = counter.fetch_add(1, Ordering::SeqCst) + 1;
            match attempt {
                1 => {
                    // Accept, then drop the connection without a Close frame.
                    if let Ok(socket) = tokio_tungstenite::accept_async(stream).await {
                        tokio::spawn(async move {
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            drop(socket);
                        });
                    }
                }
                2..=7 => {
                    let _ = stream
                        .write_all(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                        .await;
                }
                _ => {
                    if let Ok(socket) = tokio_tungstenite::accept_async(stream).await {
                        let (sink, mut reader) = socket.split();
                        kept.push(sink);
                        tokio::spawn(async move { while reader.next().await.is_some() {} });
                    }
                }
            }
        }
    });
    let parameters = token_parameters(&format!("ws://{address}"), "storm", "t");
    let config = SdkConfig {
        connect_attempts: 3,
        reconnect_initial_backoff: Duration::from_millis(20),
        reconnect_max_backoff: Duration::from_millis(60),
        ..fast()
    };
    let sdk = GameLiftServerSdk::init_with(parameters, config)
        .await
        .unwrap();
    let mut states = sdk.connection_state();
    // Past `connect_attempts` refusals, the SDK says so and keeps going.
    let storm = tokio::time::timeout(
        Duration::from_secs(20),
        states.wait_for(|state| {
            matches!(state, ConnectionState::Reconnecting { attempts, last_error } if *attempts >= 3 && last_error.contains("403"))
        }),
    )
    .await
    .is_ok();
    assert!(storm, "the storm is reported: {:?}", *states.borrow());
    let refused = sdk.compute_certificate().await.unwrap_err();
    assert!(
        matches!(&refused, GameLiftError::NotConnected(reason) if reason.contains("attempts failed")),
        "requests fail at once during the storm: {refused:?}"
    );
    // When the service accepts again, the SDK is connected again.
    let back = tokio::time::timeout(
        Duration::from_secs(20),
        states.wait_for(|state| *state == ConnectionState::Connected),
    )
    .await
    .is_ok();
    assert!(back, "reconnected: {:?}", *states.borrow());
    assert!(attempts.load(Ordering::SeqCst) >= 8);
    sdk.destroy().await.unwrap();
    assert!(matches!(
        *sdk.connection_state().borrow(),
        ConnectionState::Closed { .. }
    ));
    server.abort();
}
