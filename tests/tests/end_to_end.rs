//! End to end across processes: game servers are `game-server` child processes (each with its
//! own Server SDK 5 WebSocket and its own buses); this process runs `gamelift-local` and the
//! client side through the buses (the `gamelift-client` manager and the TCP network layer).

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use gamelift_client::GameLiftClientConfig;
use gamelift_local::{RunningServer, Server};
use integration_tests::{GameServerProcess, eventually, sample_binary};
use samples::client::TcpPlayers;
use samples::protocol::{DENIED, WELCOME};
use samples::server::ServerEvent;
use samples::story::GameClient;

/// The client buses are process-wide: tests that use them run one at a time.
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

fn client(local: &RunningServer) -> GameClient {
    let config = GameLiftClientConfig::builder()
        .region("us-west-2")
        .endpoint_url(local.endpoint())
        .static_credentials("local", "local")
        .fleet_id("fleet-local")
        .location("custom-local")
        .build();
    GameClient::start(config).expect("the client manager starts")
}

async fn session_status(local: &RunningServer, arn: &str) -> String {
    let control = samples::anywhere::control_plane(Some(&local.endpoint()), "us-west-2").await;
    control
        .describe_game_sessions()
        .game_session_id(arn)
        .send()
        .await
        .expect("described")
        .game_sessions()[0]
        .status()
        .map(|s| s.as_str().to_string())
        .unwrap_or_default()
}

async fn player_status(local: &RunningServer, id: &str) -> String {
    let control = samples::anywhere::control_plane(Some(&local.endpoint()), "us-west-2").await;
    control
        .describe_player_sessions()
        .player_session_id(id)
        .send()
        .await
        .expect("described")
        .player_sessions()[0]
        .status()
        .map(|s| s.as_str().to_string())
        .unwrap_or_default()
}

fn hosted(event: &ServerEvent) -> Option<String> {
    match event {
        ServerEvent::SessionStarted { session_id, .. } => Some(session_id.clone()),
        _ => None,
    }
}

#[test]
fn the_quickstart_with_game_servers_as_child_processes() {
    let output = Command::new(sample_binary("quickstart"))
        .args(["--child-processes", "--servers", "2", "--timeout", "90"])
        .output()
        .expect("the quickstart runs");
    let story = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{story}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        story.matches("is ready (registered its compute").count(),
        2,
        "{story}"
    );
    assert!(story.contains("a forged ticket was refused"), "{story}");
    assert!(story.contains("is ready for the next session"), "{story}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_and_reused_tickets_are_rejected_by_the_server() {
    let _buses = BUSES.lock().await;
    let local = local_service().await;
    let mut server = GameServerProcess::start(&local.endpoint(), "host-forged");
    let port = server.ready().await;
    let client = client(&local);

    let arn = client.create_session("forged", 4).await.expect("created");
    assert_eq!(server.expect(hosted).await, arn);

    // A ticket nobody issued.
    let answer = TcpPlayers::try_ticket(
        "127.0.0.1",
        port,
        "psess-00000000-0000-0000-0000-000000000000",
    )
    .expect("the server answers");
    assert!(answer.starts_with(DENIED), "{answer}");
    // Not even a well-formed id.
    let answer =
        TcpPlayers::try_ticket("127.0.0.1", port, "'; DROP TABLE players").expect("answers");
    assert!(answer.starts_with(DENIED), "{answer}");

    // A real ticket works once; presenting it again (a replay) is refused.
    let joined = client.join(&arn, "player-1").await.expect("joined");
    let replay =
        TcpPlayers::try_ticket("127.0.0.1", port, &joined.player_session_id).expect("answers");
    assert!(replay.starts_with(DENIED), "{replay}");
    assert!(!replay.starts_with(WELCOME));
    assert_eq!(
        player_status(&local, &joined.player_session_id).await,
        "ACTIVE"
    );

    server
        .expect(|event| matches!(event, ServerEvent::PlayerRefused { .. }).then_some(()))
        .await;
    client.leave().await.expect("left");
    server
        .expect(|event| matches!(event, ServerEvent::SessionEnded { .. }).then_some(()))
        .await;
    assert_eq!(session_status(&local, &arn).await, "TERMINATED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_session_ends_its_session_and_the_next_goes_elsewhere() {
    let _buses = BUSES.lock().await;
    let local = local_service().await;
    let mut first = GameServerProcess::start(&local.endpoint(), "host-a");
    let mut second = GameServerProcess::start(&local.endpoint(), "host-b");
    first.ready().await;
    second.ready().await;
    let client = client(&local);

    let arn = client.create_session("doomed", 4).await.expect("created");
    // Whichever process the service chose hosts it.
    let (mut victim, mut survivor) = tokio::select! {
        id = first.expect(hosted) => { assert_eq!(id, arn); (first, second) }
        id = second.expect(hosted) => { assert_eq!(id, arn); (second, first) }
    };
    let one = client.join(&arn, "player-1").await.expect("joined");
    let two = client.join(&arn, "player-2").await.expect("joined");
    assert_eq!(client.tick(1).await.expect("ticked").len(), 2);

    victim.child.kill().await.expect("killed");
    let _ = victim.drain();
    eventually("the session to end", || {
        let local = &local;
        let arn = arn.clone();
        async move { session_status(local, &arn).await == "TERMINATED" }
    })
    .await;
    assert_eq!(
        player_status(&local, &one.player_session_id).await,
        "COMPLETED"
    );
    assert_eq!(
        player_status(&local, &two.player_session_id).await,
        "COMPLETED"
    );
    assert!(
        client.tick(2).await.is_err(),
        "the players lost their server"
    );
    client.leave().await.expect("left");

    let next = client
        .create_session("second chance", 4)
        .await
        .expect("placed");
    assert_ne!(next, arn);
    assert_eq!(survivor.expect(hosted).await, next);
    let joined = client
        .join(&next, "player-1")
        .await
        .expect("joined the survivor");
    assert_eq!(
        player_status(&local, &joined.player_session_id).await,
        "ACTIVE"
    );
    client.leave().await.expect("left");
}
