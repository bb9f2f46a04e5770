//! State that survives `kill -9`: the binary runs as a child process with a state directory, is
//! killed with SIGKILL and started again; acknowledged writes are all there, running game servers
//! reconnect with their tokens and are recognised, and those that do not come back lose their
//! sessions after the reconnect grace.

mod common;

use std::process::Stdio;
use std::time::Duration;

use aws_sdk_gamelift::types::{GameSessionStatus, PlayerSessionStatus};
use common::peer::{Peer, url};
use common::{FLEET, client_for};
use serde_json::json;
use tokio::process::{Child, Command};

struct Service {
    child: Child,
    endpoint: String,
    sdk_endpoint: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start(state: &std::path::Path, port: u16) -> Service {
    let child = Command::new(env!("CARGO_BIN_EXE_gamelift-local"))
        .args(["--bind", &format!("127.0.0.1:{port}"), "--auth", "token"])
        .args(["--reconnect-grace", "3", "--log", "warn"])
        .arg("--state-dir")
        .arg(state)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("gamelift-local starts");
    let endpoint = format!("http://127.0.0.1:{port}");
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Service {
                child,
                endpoint,
                sdk_endpoint: format!("ws://127.0.0.1:{port}"),
            };
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("gamelift-local did not listen on {port}");
}

impl Service {
    async fn kill_9(mut self) {
        self.child.start_kill().expect("SIGKILL");
        let status = self.child.wait().await.unwrap();
        assert!(!status.success());
    }
}

async fn token(client: &aws_sdk_gamelift::Client, compute: &str) -> String {
    common::compute_token(client, FLEET, compute).await
}

async fn session_status(client: &aws_sdk_gamelift::Client, arn: &str) -> GameSessionStatus {
    client
        .describe_game_sessions()
        .game_session_id(arn)
        .send()
        .await
        .unwrap()
        .game_sessions()[0]
        .status()
        .cloned()
        .unwrap()
}

async fn hosted(client: &aws_sdk_gamelift::Client, peer: &mut Peer) -> String {
    common::hosted_session(client, FLEET, peer).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_and_restart_loses_no_acknowledged_write_and_game_servers_come_back() {
    let state = std::env::temp_dir().join(format!("gamelift-local-restart-{}", uuid_like()));
    let port = free_port();
    let service = start(&state, port).await;
    let client = client_for(&service.endpoint, "us-west-2");

    // Game servers with tokens; one hosts a session with an accepted player, one hosts a
    // session and will not come back, one is ready and idle.
    let staying_token = token(&client, "host-stays").await;
    let leaving_token = token(&client, "host-leaves").await;
    let staying_url = url(
        &service.sdk_endpoint,
        "p-stays",
        FLEET,
        "host-stays",
        Some(&staying_token),
        "idem-stays",
    );
    let leaving_url = url(
        &service.sdk_endpoint,
        "p-leaves",
        FLEET,
        "host-leaves",
        Some(&leaving_token),
        "idem-leaves",
    );
    let mut staying = Peer::connect_url(&staying_url, "p-stays").await.unwrap();
    staying.ready(7101).await;
    let kept = hosted(&client, &mut staying).await;
    let mut leaving = Peer::connect_url(&leaving_url, "p-leaves").await.unwrap();
    leaving.ready(7102).await;
    let lost = hosted(&client, &mut leaving).await;
    let player = client
        .create_player_session()
        .game_session_id(&kept)
        .player_id("ada")
        .player_data("level 3")
        .send()
        .await
        .unwrap()
        .player_session
        .unwrap()
        .player_session_id()
        .unwrap()
        .to_string();
    let accepted = staying
        .request(
            "AcceptPlayerSession",
            json!({"GameSessionId": kept, "PlayerSessionId": player}),
        )
        .await;
    assert_eq!(accepted["StatusCode"], 200);
    // Many acknowledged writes, the last one just before the kill.
    let mut aliases = Vec::new();
    for index in 0..40 {
        let alias = client
            .create_alias()
            .name(format!("alias-{index}"))
            .routing_strategy(
                aws_sdk_gamelift::types::RoutingStrategy::builder()
                    .r#type(aws_sdk_gamelift::types::RoutingStrategyType::Simple)
                    .fleet_id(FLEET)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        aliases.push(alias.alias().unwrap().alias_id().unwrap().to_string());
    }

    drop(staying);
    drop(leaving);
    service.kill_9().await;
    let service = start(&state, port).await;
    let client = client_for(&service.endpoint, "us-west-2");

    // Everything acknowledged is there.
    for alias in &aliases {
        client
            .describe_alias()
            .alias_id(alias)
            .send()
            .await
            .expect("the alias survived");
    }
    assert_eq!(
        session_status(&client, &kept).await,
        GameSessionStatus::Active
    );
    let players = client
        .describe_player_sessions()
        .player_session_id(&player)
        .send()
        .await
        .unwrap();
    let restored = &players.player_sessions()[0];
    assert_eq!(restored.status(), Some(&PlayerSessionStatus::Active));
    assert_eq!(restored.player_data(), Some("level 3"));

    // The game server that stays reconnects with the same URL and token (the SDK's reconnect)
    // and is recognised: it still hosts its session.
    let mut staying = Peer::connect_url(&staying_url, "p-stays")
        .await
        .expect("a running game server reconnects after the restart");
    let policy = staying
        .request(
            "UpdatePlayerSessionCreationPolicy",
            json!({"GameSessionId": kept, "PlayerSessionPolicy": "DENY_ALL"}),
        )
        .await;
    assert_eq!(policy["StatusCode"], 200, "{policy}");
    let removed = staying
        .request(
            "RemovePlayerSession",
            json!({"GameSessionId": kept, "PlayerSessionId": player}),
        )
        .await;
    assert_eq!(removed["StatusCode"], 200, "{removed}");

    // The one that does not come back loses its session after the reconnect grace (3 s).
    let mut ended = false;
    for _ in 0..100 {
        if session_status(&client, &lost).await == GameSessionStatus::Terminated {
            ended = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        ended,
        "a game server that does not come back ends its session"
    );
    assert_eq!(
        session_status(&client, &kept).await,
        GameSessionStatus::Active
    );

    drop(staying);
    service.kill_9().await;
    let _ = std::fs::remove_dir_all(&state);
}

#[tokio::test]
async fn a_state_directory_in_use_is_refused_with_a_clear_error() {
    let state = std::env::temp_dir().join(format!("gamelift-local-busy-{}", uuid_like()));
    let first = start(&state, free_port()).await;
    let second = Command::new(env!("CARGO_BIN_EXE_gamelift-local"))
        .args(["--bind", "127.0.0.1:0", "--state-dir"])
        .arg(&state)
        .output()
        .await
        .unwrap();
    assert!(!second.status.success());
    let message = String::from_utf8_lossy(&second.stderr);
    assert!(
        message.contains("--state-dir") && message.contains("--in-memory"),
        "{message}"
    );
    first.kill_9().await;
    let _ = std::fs::remove_dir_all(&state);
}

fn uuid_like() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    )
}
