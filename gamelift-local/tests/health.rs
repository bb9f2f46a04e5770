//! `GET /_gamelift_local/health`: version, uptime and counts that follow what the service holds.

mod common;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn health(address: std::net::SocketAddr) -> Value {
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream
        .write_all(
            b"GET /_gamelift_local/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        )
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("a body");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );
    serde_json::from_str(body).expect("JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reports_version_uptime_and_counts() {
    let local = common::start().await;
    let report = health(local.server.local_addr()).await;
    assert_eq!(report["service"], "gamelift-local");
    assert_eq!(report["status"], "running");
    assert_eq!(report["version"], env!("CARGO_PKG_VERSION"));
    assert!(report["uptime_seconds"].is_u64());
    let region = &report["regions"]["us-west-2"];
    assert_eq!(region["fleets"], 1);
    assert_eq!(region["game_sessions"], serde_json::json!({}));

    let session = local.session(4).await;
    local.join(session.game_session_id().unwrap(), "ada").await;
    let region = health(local.server.local_addr()).await["regions"]["us-west-2"].clone();
    assert_eq!(region["game_sessions"]["ACTIVE"], 1);
    assert_eq!(region["player_sessions"]["RESERVED"], 1);
}
