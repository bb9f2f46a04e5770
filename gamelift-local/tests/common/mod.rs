//! Shared set-up: an in-process service on a loopback port and a real `aws-sdk-gamelift` client.

#![allow(dead_code)]

pub mod peer;

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_gamelift::Client;
use aws_sdk_gamelift::config::retry::RetryConfig;
use aws_sdk_gamelift::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_gamelift::error::ProvideErrorMetadata;
use gamelift_local::{ManualClock, RunningServer, Server};

pub struct Local {
    pub server: RunningServer,
    pub client: Client,
    pub clock: Arc<ManualClock>,
}

pub const FLEET: &str = "fleet-local";
pub const LOCATION: &str = "custom-local";

/// A service with `--auto-activate` on a free port, a manual clock, and a client with retries
/// off so every error is seen exactly once.
pub async fn start() -> Local {
    start_with(true).await
}

pub async fn start_with(auto_activate: bool) -> Local {
    let clock = Arc::new(ManualClock::new());
    let server = Server::builder()
        .bind("127.0.0.1:0".parse().unwrap())
        .auto_activate(auto_activate)
        .clock(clock.clone())
        .start()
        .await
        .expect("the service starts");
    let client = client_for(&server.endpoint(), "us-west-2");
    Local {
        server,
        client,
        clock,
    }
}

pub fn client_for(endpoint: &str, region: &str) -> Client {
    let config = aws_sdk_gamelift::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .credentials_provider(Credentials::new(
            "AKIDLOCAL",
            "secret",
            None,
            None,
            "static",
        ))
        .endpoint_url(endpoint)
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            aws_sdk_gamelift::config::timeout::TimeoutConfig::builder()
                .operation_timeout(Duration::from_secs(20))
                .build(),
        )
        .build();
    Client::from_conf(config)
}

/// The service error code of a failed SDK call.
pub fn code<E, R>(error: &aws_sdk_gamelift::error::SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata,
{
    error.code().unwrap_or("<no code>").to_string()
}

pub fn message<E, R>(error: &aws_sdk_gamelift::error::SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata,
{
    error.message().unwrap_or("<no message>").to_string()
}

impl Local {
    /// Reserves a slot for `player` in `arn`.
    pub async fn join(&self, arn: &str, player: &str) -> aws_sdk_gamelift::types::PlayerSession {
        self.client
            .create_player_session()
            .game_session_id(arn)
            .player_id(player)
            .send()
            .await
            .expect("create player session")
            .player_session
            .expect("a player session")
    }

    /// Creates an ACTIVE game session on the default fleet.
    pub async fn session(&self, maximum: i32) -> aws_sdk_gamelift::types::GameSession {
        self.client
            .create_game_session()
            .fleet_id(FLEET)
            .location(LOCATION)
            .maximum_player_session_count(maximum)
            .send()
            .await
            .expect("create game session")
            .game_session
            .expect("a game session")
    }
}

/// Registers `compute` in `fleet` (at 127.0.0.1, the default location) and returns an auth token
/// for it.
pub async fn compute_token(client: &Client, fleet: &str, compute: &str) -> String {
    client
        .register_compute()
        .fleet_id(fleet)
        .compute_name(compute)
        .ip_address("127.0.0.1")
        .location(LOCATION)
        .send()
        .await
        .unwrap();
    client
        .get_compute_auth_token()
        .fleet_id(fleet)
        .compute_name(compute)
        .send()
        .await
        .unwrap()
        .auth_token()
        .unwrap()
        .to_string()
}

/// Creates a session on `fleet`, waits for its placement on `peer`'s process and activates it.
pub async fn hosted_session(client: &Client, fleet: &str, peer: &mut peer::Peer) -> String {
    let arn = client
        .create_game_session()
        .fleet_id(fleet)
        .location(LOCATION)
        .maximum_player_session_count(4)
        .send()
        .await
        .unwrap()
        .game_session
        .unwrap()
        .game_session_id()
        .unwrap()
        .to_string();
    let push = peer.push().await;
    assert_eq!(push["Action"], "CreateGameSession");
    let activated = peer
        .request(
            "ActivateGameSession",
            serde_json::json!({"GameSessionId": arn}),
        )
        .await;
    assert_eq!(activated["StatusCode"], 200);
    arn
}

/// A rule set with teams red and blue (1 to 4 players each, skill defaulting to 10) and a
/// STANDALONE matchmaking configuration on it with MANUAL backfill, both named `name`; returns
/// the configuration's ARN.
pub async fn matchmaking_configuration(client: &Client, name: &str) -> String {
    client
        .create_matchmaking_rule_set()
        .name(name)
        .rule_set_body(
            r#"{"ruleLanguageVersion": "1.0",
                "playerAttributes": [{"name": "skill", "type": "number", "default": 10}],
                "teams": [{"name": "red", "minPlayers": 1, "maxPlayers": 4},
                          {"name": "blue", "minPlayers": 1, "maxPlayers": 4}]}"#,
        )
        .send()
        .await
        .expect("rule set created");
    client
        .create_matchmaking_configuration()
        .name(name)
        .rule_set_name(name)
        .request_timeout_seconds(60)
        .acceptance_required(false)
        .flex_match_mode(aws_sdk_gamelift::types::FlexMatchMode::Standalone)
        .backfill_mode(aws_sdk_gamelift::types::BackfillMode::Manual)
        .send()
        .await
        .expect("configuration created")
        .configuration
        .and_then(|c| c.configuration_arn)
        .expect("an ARN")
}
