//! What a user reads when the endpoint is wrong: the real `aws-sdk-gamelift` client against a
//! port where nothing listens, a web server that is not GameLift, TLS on a plain endpoint and
//! plain HTTP on a TLS one, and a client with no credentials. Every message names the endpoint
//! and what to do, and none is the SDK's bare `dispatch failure` or `service error`.

use std::time::Duration;

use game_session::SessionError;
use gamelift_client::api::CreateGameSessionInput;
use gamelift_client::explain::{Endpoint, explain};
use gamelift_client::{GameLiftApi, GameLiftClientConfig, SdkApi};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn config(endpoint: &str) -> GameLiftClientConfig {
    GameLiftClientConfig::builder()
        .region("us-west-2")
        .endpoint_url(endpoint)
        .static_credentials("local", "local")
        .fleet_id("fleet-local")
        .location("custom-local")
        .max_attempts(1)
        .build()
}

async fn create_error(endpoint: &str) -> SessionError {
    let api = SdkApi::from_config(&config(endpoint)).await.unwrap();
    let input = CreateGameSessionInput {
        fleet_id: Some("fleet-local".into()),
        location: Some("custom-local".into()),
        max_players: 2,
        ..Default::default()
    };
    tokio::time::timeout(Duration::from_secs(60), api.create_game_session(&input))
        .await
        .expect("the call ends")
        .expect_err("the call fails")
}

fn assert_actionable(error: &SessionError, endpoint: &str, says: &[&str]) {
    let text = error.to_string();
    eprintln!("{text}");
    assert!(text.contains(endpoint), "names the endpoint: {text}");
    for phrase in says {
        assert!(text.contains(phrase), "says {phrase:?}: {text}");
    }
    assert!(!text.starts_with("dispatch failure"), "{text}");
    assert!(!text.contains("Unknown:"), "{text}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn nothing_listening_says_start_gamelift_local() {
    let endpoint = format!("http://127.0.0.1:{}", free_port());
    let error = create_error(&endpoint).await;
    assert_actionable(
        &error,
        &endpoint,
        &["connection refused", "cargo run -p gamelift-local"],
    );
}

#[tokio::test]
async fn a_web_server_that_is_not_gamelift_is_named_as_such() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        for _ in 0..4 {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let mut buffer = vec![0; 65536];
            let _ = tokio::time::timeout(Duration::from_secs(2), socket.read(&mut buffer)).await;
            let body = "<html>not found</html>";
            let answer = format!(
                "HTTP/1.1 404 Not Found\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(answer.as_bytes()).await;
        }
    });
    let error = create_error(&endpoint).await;
    assert_actionable(&error, &endpoint, &["HTTP 404", "GameLift"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_against_a_plain_endpoint_says_use_http() {
    let server = gamelift_local::Server::builder()
        .bind("127.0.0.1:0".parse().unwrap())
        .start()
        .await
        .unwrap();
    let endpoint = server.endpoint().replace("http://", "https://");
    let error = create_error(&endpoint).await;
    assert_actionable(&error, &endpoint, &["TLS", "http://"]);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_against_a_tls_endpoint_says_use_https() {
    let directory = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("gamelift-client-errors-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let server = gamelift_local::Server::builder()
        .bind("127.0.0.1:0".parse().unwrap())
        .tls(true)
        .certificate_directory(&directory)
        .start()
        .await
        .unwrap();
    let endpoint = server.endpoint().replace("https://", "http://");
    let error = create_error(&endpoint).await;
    assert_actionable(&error, &endpoint, &["https://"]);
    server.shutdown().await;
    let _ = std::fs::remove_dir_all(directory);
}

#[tokio::test]
async fn missing_credentials_say_which_variables_to_set() {
    let endpoint = format!("http://127.0.0.1:{}", free_port());
    // A client with no credentials provider at all.
    let client = aws_sdk_gamelift::Client::from_conf(
        aws_sdk_gamelift::Config::builder()
            .behavior_version(aws_sdk_gamelift::config::BehaviorVersion::latest())
            .region(aws_sdk_gamelift::config::Region::new("us-west-2"))
            .endpoint_url(&endpoint)
            .build(),
    );
    let error = client
        .list_fleets()
        .send()
        .await
        .expect_err("no credentials");
    let explained = explain(&error, &Endpoint::Local(endpoint.clone()));
    assert_actionable(
        &explained,
        &endpoint,
        &["no AWS credentials", "AWS_ACCESS_KEY_ID"],
    );
}
