//! A `gamelift-local` service on a loopback port, the real `aws-sdk-gamelift` client, and SDK
//! timings short enough for tests.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_gamelift::Client;
use aws_sdk_gamelift::config::retry::RetryConfig;
use aws_sdk_gamelift::config::{BehaviorVersion, Credentials, Region};
use gamelift_local::{ManualClock, RunningServer, Server};
use gamelift_server::sdk::{SdkConfig, ServerParameters};

pub const FLEET: &str = "fleet-local";
pub const LOCATION: &str = "custom-local";

pub struct Local {
    pub server: RunningServer,
    pub client: Client,
    pub clock: Arc<ManualClock>,
}

/// A service that requires auth tokens (as Anywhere fleets do).
pub async fn start() -> Local {
    start_with(|builder| builder).await
}

pub async fn start_with(
    configure: impl FnOnce(gamelift_local::ServerBuilder) -> gamelift_local::ServerBuilder,
) -> Local {
    let clock = Arc::new(ManualClock::new());
    let builder = Server::builder()
        .bind("127.0.0.1:0".parse().unwrap())
        .clock(clock.clone())
        .require_auth_token(true);
    let server = configure(builder)
        .start()
        .await
        .expect("the service starts");
    let config = aws_sdk_gamelift::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-west-2"))
        .credentials_provider(Credentials::new(
            "AKIDLOCAL",
            "secret",
            None,
            None,
            "static",
        ))
        .endpoint_url(server.endpoint())
        .retry_config(RetryConfig::disabled())
        .build();
    Local {
        server,
        client: Client::from_conf(config),
        clock,
    }
}

/// Fast timings: heartbeats every ~200 ms, quick reconnects and refresh hand-over.
pub fn fast() -> SdkConfig {
    SdkConfig {
        request_timeout: Duration::from_secs(5),
        activate_timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(5),
        heartbeat_interval: Duration::from_millis(200),
        heartbeat_jitter: Duration::from_millis(50),
        health_check_timeout: Duration::from_millis(500),
        reconnect_initial_backoff: Duration::from_millis(50),
        reconnect_max_backoff: Duration::from_millis(200),
        refresh_close_delay: Duration::from_millis(100),
        ..SdkConfig::default()
    }
}

impl Local {
    /// Registers `compute` and returns parameters with a fresh auth token for `process`.
    pub async fn parameters(&self, compute: &str, process: &str) -> ServerParameters {
        let _ = self
            .client
            .register_compute()
            .fleet_id(FLEET)
            .compute_name(compute)
            .ip_address("127.0.0.1")
            .location(LOCATION)
            .send()
            .await;
        let token = self
            .client
            .get_compute_auth_token()
            .fleet_id(FLEET)
            .compute_name(compute)
            .send()
            .await
            .expect("a compute auth token")
            .auth_token()
            .unwrap()
            .to_string();
        ServerParameters::builder()
            .websocket_url(self.server.sdk_endpoint())
            .fleet_id(FLEET)
            .host_id(compute)
            .process_id(process)
            .auth_token(token)
            .build()
            .expect("valid parameters")
    }

    pub async fn create_session(&self, maximum: i32) -> String {
        self.client
            .create_game_session()
            .fleet_id(FLEET)
            .location(LOCATION)
            .maximum_player_session_count(maximum)
            .name("test game")
            .game_properties(
                aws_sdk_gamelift::types::GameProperty::builder()
                    .key("mode")
                    .value("ctf")
                    .build(),
            )
            .send()
            .await
            .expect("a session is placed on the ready process")
            .game_session
            .unwrap()
            .game_session_id
            .unwrap()
    }

    pub async fn session_status(&self, arn: &str) -> String {
        self.client
            .describe_game_sessions()
            .game_session_id(arn)
            .send()
            .await
            .unwrap()
            .game_sessions()[0]
            .status()
            .unwrap()
            .as_str()
            .to_string()
    }

    pub async fn join(&self, arn: &str, player: &str) -> String {
        self.client
            .create_player_session()
            .game_session_id(arn)
            .player_id(player)
            .send()
            .await
            .expect("a player session")
            .player_session
            .unwrap()
            .player_session_id
            .unwrap()
    }

    pub async fn player_status(&self, id: &str) -> String {
        self.client
            .describe_player_sessions()
            .player_session_id(id)
            .send()
            .await
            .unwrap()
            .player_sessions()[0]
            .status()
            .unwrap()
            .as_str()
            .to_string()
    }
}

/// Waits (at most 10 s) for `condition`.
pub async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    for _ in 0..1000 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

/// A rule set with teams red and blue (1 to 4 players each) and a STANDALONE matchmaking
/// configuration on it with MANUAL backfill, both named `name`; returns the configuration's ARN.
pub async fn matchmaking_configuration(client: &Client, name: &str) -> String {
    client
        .create_matchmaking_rule_set()
        .name(name)
        .rule_set_body(
            r#"{"ruleLanguageVersion": "1.0",
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
