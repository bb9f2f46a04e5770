//! gamelift-local tried as an attacker would: other tenants' credentials, other fleets' data,
//! hostile frames and requests. Real sockets, the real `aws-sdk-gamelift` client.

mod common;

use std::sync::Arc;

use aws_sdk_gamelift::types::{AnywhereConfiguration, ComputeType, LocationConfiguration};
use common::peer::{Peer, Refused, url};
use common::{FLEET, LOCATION, client_for};
use gamelift_local::{ManualClock, RunningServer, Server};
use serde_json::json;

struct Lab {
    server: RunningServer,
    client: aws_sdk_gamelift::Client,
}

async fn lab() -> Lab {
    let server = Server::builder()
        .bind("127.0.0.1:0".parse().unwrap())
        .clock(Arc::new(ManualClock::new()))
        .require_auth_token(true)
        .start()
        .await
        .unwrap();
    let client = client_for(&server.endpoint(), "us-west-2");
    Lab { server, client }
}

impl Lab {
    async fn token(&self, fleet: &str, compute: &str) -> String {
        common::compute_token(&self.client, fleet, compute).await
    }

    async fn second_fleet(&self) -> String {
        self.client
            .create_fleet()
            .name("tenant b")
            .compute_type(ComputeType::Anywhere)
            .locations(LocationConfiguration::builder().location(LOCATION).build())
            .anywhere_configuration(AnywhereConfiguration::builder().cost("0.1").build())
            .send()
            .await
            .unwrap()
            .fleet_attributes()
            .unwrap()
            .fleet_id()
            .unwrap()
            .to_string()
    }

    async fn process(&self, fleet: &str, compute: &str, process: &str, port: u16) -> Peer {
        let token = self.token(fleet, compute).await;
        let url = url(
            &self.server.sdk_endpoint(),
            process,
            fleet,
            compute,
            Some(&token),
            &format!("idem-{process}"),
        );
        let mut peer = Peer::connect_url(&url, process).await.expect("admitted");
        peer.ready(port).await;
        peer
    }

    /// A session on `fleet`, placed on its ready process, activated by `peer`.
    async fn hosted(&self, fleet: &str, peer: &mut Peer) -> String {
        common::hosted_session(&self.client, fleet, peer).await
    }
}

#[tokio::test]
async fn a_process_cannot_be_taken_over_with_another_computes_or_fleets_credentials() {
    let lab = lab().await;
    let fleet_b = lab.second_fleet().await;
    let mut victim = lab.process(FLEET, "host-victim", "p-victim", 7001).await;
    let arn = lab.hosted(FLEET, &mut victim).await;
    let endpoint = lab.server.sdk_endpoint();

    // Valid credentials for another compute of the same fleet, and for another fleet, with the
    // victim's pID and even its IdempotencyToken: refused before the upgrade.
    let evil_token = lab.token(FLEET, "host-evil").await;
    let other_fleet_token = lab.token(&fleet_b, "host-b").await;
    for attempt in [
        url(
            &endpoint,
            "p-victim",
            FLEET,
            "host-evil",
            Some(&evil_token),
            "idem-p-victim",
        ),
        url(
            &endpoint,
            "p-victim",
            &fleet_b,
            "host-b",
            Some(&other_fleet_token),
            "idem-p-victim",
        ),
        url(
            &endpoint,
            "p-victim",
            FLEET,
            "host-evil",
            Some(&evil_token),
            "another",
        ),
    ] {
        let refused = Peer::connect_url(&attempt, "p-victim").await;
        assert!(matches!(refused, Err(Refused::Status(403))), "{attempt}");
    }

    // The victim's connection is untouched and its session still its own.
    let beat = victim
        .request("HeartbeatServerProcess", json!({"HealthStatus": true}))
        .await;
    assert_eq!(beat["StatusCode"], 200);
    let policy = victim
        .request(
            "UpdatePlayerSessionCreationPolicy",
            json!({"GameSessionId": arn, "PlayerSessionPolicy": "DENY_ALL"}),
        )
        .await;
    assert_eq!(policy["StatusCode"], 200);

    // Once the victim's connection drops, its reconnect grace cannot be hijacked either; the
    // victim itself reconnects.
    victim.drop_connection();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let hijack = Peer::connect_url(
        &url(
            &endpoint,
            "p-victim",
            FLEET,
            "host-evil",
            Some(&evil_token),
            "idem-p-victim",
        ),
        "p-victim",
    )
    .await;
    assert!(matches!(hijack, Err(Refused::Status(403))));
    let own_token = lab.token(FLEET, "host-victim").await;
    let mut back = Peer::connect_url(
        &url(
            &endpoint,
            "p-victim",
            FLEET,
            "host-victim",
            Some(&own_token),
            "idem-p-victim",
        ),
        "p-victim",
    )
    .await
    .expect("the victim reconnects with its own compute's token");
    let terminate = back
        .request("ActivateGameSession", json!({"GameSessionId": arn}))
        .await;
    assert_eq!(terminate["StatusCode"], 200, "{terminate}");
}

#[tokio::test]
async fn a_process_sees_and_changes_only_its_own_fleet_and_game_session() {
    let lab = lab().await;
    let fleet_b = lab.second_fleet().await;
    let mut process_a = lab.process(FLEET, "host-a", "p-a", 7002).await;
    let mut process_b = lab.process(&fleet_b, "host-b", "p-b", 7003).await;
    let session_a = lab.hosted(FLEET, &mut process_a).await;
    let session_b = lab.hosted(&fleet_b, &mut process_b).await;
    let player_a = lab
        .client
        .create_player_session()
        .game_session_id(&session_a)
        .player_id("shared-player")
        .player_data("secret of tenant a")
        .send()
        .await
        .unwrap()
        .player_session
        .unwrap()
        .player_session_id()
        .unwrap()
        .to_string();

    // Another fleet's player sessions are invisible, whichever id names them.
    for query in [
        json!({"PlayerId": "shared-player"}),
        json!({"PlayerSessionId": player_a}),
    ] {
        let reply = process_b.request("DescribePlayerSessions", query).await;
        assert_eq!(reply["StatusCode"], 200);
        assert_eq!(reply["PlayerSessions"], json!([]), "{reply}");
    }
    let by_session = process_b
        .request(
            "DescribePlayerSessions",
            json!({"GameSessionId": session_a}),
        )
        .await;
    assert_eq!(by_session["StatusCode"], 404);
    assert!(!by_session.to_string().contains("secret of tenant a"));
    // Its own fleet's are there.
    let own = process_a
        .request(
            "DescribePlayerSessions",
            json!({"PlayerId": "shared-player"}),
        )
        .await;
    assert_eq!(own["PlayerSessions"][0]["PlayerData"], "secret of tenant a");

    // Backfill only for the process's own session, and only its own tickets.
    let configuration = common::matchmaking_configuration(&lab.client, "m").await;
    let players =
        json!([{"PlayerId": "p", "Team": "red", "PlayerAttributes": {}, "LatencyInMs": {}}]);
    let foreign = process_b
        .request(
            "StartMatchBackfill",
            json!({"GameSessionArn": session_a, "MatchmakingConfigurationArn": configuration, "Players": players}),
        )
        .await;
    assert_eq!(foreign["StatusCode"], 404, "{foreign}");
    let started = process_a
        .request(
            "StartMatchBackfill",
            json!({"GameSessionArn": session_a, "MatchmakingConfigurationArn": configuration, "Players": players}),
        )
        .await;
    assert_eq!(started["StatusCode"], 200);
    let ticket = started["TicketId"].as_str().unwrap().to_string();
    for session in [&session_a, &session_b] {
        let stop = process_b
            .request(
                "StopMatchBackfill",
                json!({"TicketId": ticket, "GameSessionArn": session, "MatchmakingConfigurationArn": configuration}),
            )
            .await;
        assert_eq!(stop["StatusCode"], 404, "{stop}");
    }
    let reuse = process_b
        .request(
            "StartMatchBackfill",
            json!({"TicketId": ticket, "GameSessionArn": session_b, "MatchmakingConfigurationArn": configuration, "Players": players}),
        )
        .await;
    assert_eq!(
        reuse["StatusCode"], 409,
        "another session's ticket id: {reuse}"
    );
    let stop = process_a
        .request(
            "StopMatchBackfill",
            json!({"TicketId": ticket, "GameSessionArn": session_a, "MatchmakingConfigurationArn": configuration}),
        )
        .await;
    assert_eq!(stop["StatusCode"], 200);

    // Another process's game session cannot be activated, closed to players or ended.
    for (action, body) in [
        ("ActivateGameSession", json!({"GameSessionId": session_a})),
        (
            "UpdatePlayerSessionCreationPolicy",
            json!({"GameSessionId": session_a, "PlayerSessionPolicy": "DENY_ALL"}),
        ),
        (
            "AcceptPlayerSession",
            json!({"GameSessionId": session_a, "PlayerSessionId": player_a}),
        ),
        (
            "RemovePlayerSession",
            json!({"GameSessionId": session_a, "PlayerSessionId": player_a}),
        ),
    ] {
        let reply = process_b.request(action, body).await;
        assert_eq!(reply["StatusCode"], 404, "{action}: {reply}");
    }
}
