//! The Server SDK 5 WebSocket endpoint and the game session lifecycle, driven by a scripted
//! game-server peer and the real `aws-sdk-gamelift` client.

mod common;

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_gamelift::types::{
    GameProperty, GameSessionPlacementState, GameSessionQueueDestination, GameSessionStatus,
    PlayerSessionCreationPolicy, PlayerSessionStatus, TerminationMode,
};
use common::peer::{Peer, Refused, url};
use common::{FLEET, LOCATION, client_for, code};
use gamelift_local::{ManualClock, RunningServer, Server};
use serde_json::json;

struct Lab {
    server: RunningServer,
    client: aws_sdk_gamelift::Client,
    clock: Arc<ManualClock>,
}

async fn lab(require_token: bool) -> Lab {
    let clock = Arc::new(ManualClock::new());
    let server = Server::builder()
        .bind("127.0.0.1:0".parse().unwrap())
        .clock(clock.clone())
        .require_auth_token(require_token)
        .start()
        .await
        .unwrap();
    let client = client_for(&server.endpoint(), "us-west-2");
    Lab {
        server,
        client,
        clock,
    }
}

impl Lab {
    async fn create(&self, maximum: i32) -> aws_sdk_gamelift::types::GameSession {
        self.client
            .create_game_session()
            .fleet_id(FLEET)
            .location(LOCATION)
            .maximum_player_session_count(maximum)
            .name("lab game")
            .game_properties(GameProperty::builder().key("mode").value("ctf").build())
            .send()
            .await
            .expect("a session is placed on the ready process")
            .game_session
            .unwrap()
    }

    async fn status(&self, arn: &str) -> GameSessionStatus {
        self.client
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

    async fn player_status(&self, id: &str) -> PlayerSessionStatus {
        self.client
            .describe_player_sessions()
            .player_session_id(id)
            .send()
            .await
            .unwrap()
            .player_sessions()[0]
            .status()
            .cloned()
            .unwrap()
    }

    async fn join(&self, arn: &str, player: &str) -> String {
        self.client
            .create_player_session()
            .game_session_id(arn)
            .player_id(player)
            .send()
            .await
            .unwrap()
            .player_session
            .unwrap()
            .player_session_id()
            .unwrap()
            .to_string()
    }

    /// Registers `compute` in the default fleet and returns an auth token for it.
    async fn compute_token(&self, compute: &str) -> String {
        common::compute_token(&self.client, FLEET, compute).await
    }

    /// Runs due timers now (the background tick does it within 250 ms anyway).
    fn tick(&self, by: Duration) {
        self.clock.advance(by);
        self.server.service().tick();
    }
}

#[tokio::test]
async fn the_whole_lifecycle_through_the_control_plane_and_the_socket() {
    let lab = lab(false).await;
    let mut peer = Peer::connect(&lab.server.sdk_endpoint(), "process-1", FLEET).await;
    // Before ProcessReady there is no capacity.
    let none = lab
        .client
        .create_game_session()
        .fleet_id(FLEET)
        .location(LOCATION)
        .maximum_player_session_count(2)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&none), "FleetCapacityExceededException");
    peer.ready(7000).await;

    let session = lab.create(4).await;
    let arn = session.game_session_id().unwrap().to_string();
    assert_eq!(session.status(), Some(&GameSessionStatus::Activating));
    assert_eq!(session.port(), Some(7000));
    assert_eq!(session.ip_address(), Some("127.0.0.1"));

    let push = peer.push().await;
    assert_eq!(push["Action"], "CreateGameSession");
    assert_eq!(push["GameSessionId"], arn.as_str());
    assert_eq!(push["GameSessionName"], "lab game");
    assert_eq!(
        push["GameProperties"],
        json!({"mode": "ctf"}),
        "an object, not a list"
    );
    assert_eq!(push["MaximumPlayerSessionCount"], 4);
    assert_eq!(push["Port"], 7000);

    // Players cannot join before activation.
    let early = lab
        .client
        .create_player_session()
        .game_session_id(&arn)
        .player_id("early")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&early), "InvalidGameSessionStatusException");

    let activated = peer
        .request("ActivateGameSession", json!({"GameSessionId": arn}))
        .await;
    assert_eq!(activated["StatusCode"], 200);
    assert_eq!(lab.status(&arn).await, GameSessionStatus::Active);

    // A second process-side activation of another session is refused.
    let wrong = peer
        .request(
            "ActivateGameSession",
            json!({"GameSessionId": "arn:aws:gamelift:us-west-2::gamesession/fleet-local/other"}),
        )
        .await;
    assert_eq!(wrong["StatusCode"], 404);
    assert!(
        wrong["ErrorMessage"]
            .as_str()
            .unwrap()
            .contains("not hosted")
    );

    // Players: accept, reuse refused, forged refused, remove.
    let ada = lab.join(&arn, "ada").await;
    let accept = peer
        .request(
            "AcceptPlayerSession",
            json!({"GameSessionId": arn, "PlayerSessionId": ada}),
        )
        .await;
    assert_eq!(accept["StatusCode"], 200);
    assert_eq!(lab.player_status(&ada).await, PlayerSessionStatus::Active);
    let reused = peer
        .request(
            "AcceptPlayerSession",
            json!({"GameSessionId": arn, "PlayerSessionId": ada}),
        )
        .await;
    assert_eq!(reused["StatusCode"], 400);
    assert!(
        reused["ErrorMessage"]
            .as_str()
            .unwrap()
            .contains("only RESERVED")
    );
    let forged = peer
        .request(
            "AcceptPlayerSession",
            json!({"GameSessionId": arn, "PlayerSessionId": "psess-forged"}),
        )
        .await;
    assert_eq!(forged["StatusCode"], 404);

    let described = peer
        .request(
            "DescribePlayerSessions",
            json!({"GameSessionId": arn, "Limit": 10}),
        )
        .await;
    assert_eq!(described["StatusCode"], 200);
    assert_eq!(
        described["PlayerSessions"][0]["PlayerSessionId"],
        ada.as_str()
    );
    assert_eq!(described["PlayerSessions"][0]["Status"], "ACTIVE");
    assert!(
        described["PlayerSessions"][0]["CreationTime"]
            .as_u64()
            .unwrap()
            > 1_600_000_000_000,
        "epoch ms"
    );

    let removed = peer
        .request(
            "RemovePlayerSession",
            json!({"GameSessionId": arn, "PlayerSessionId": ada}),
        )
        .await;
    assert_eq!(removed["StatusCode"], 200);
    assert_eq!(
        lab.player_status(&ada).await,
        PlayerSessionStatus::Completed
    );
    let completed = peer
        .request(
            "AcceptPlayerSession",
            json!({"GameSessionId": arn, "PlayerSessionId": ada}),
        )
        .await;
    assert_eq!(
        completed["StatusCode"], 400,
        "a completed player session cannot be accepted"
    );

    // Creation policy from the process.
    let deny = peer
        .request(
            "UpdatePlayerSessionCreationPolicy",
            json!({"GameSessionId": arn, "PlayerSessionPolicy": "DENY_ALL"}),
        )
        .await;
    assert_eq!(deny["StatusCode"], 200);
    let policy = lab
        .client
        .describe_game_sessions()
        .game_session_id(&arn)
        .send()
        .await
        .unwrap()
        .game_sessions()[0]
        .player_session_creation_policy()
        .cloned();
    assert_eq!(policy, Some(PlayerSessionCreationPolicy::DenyAll));

    // UpdateGameSession from the control plane is pushed with the nested session.
    lab.client
        .update_game_session()
        .game_session_id(&arn)
        .name("renamed")
        .send()
        .await
        .unwrap();
    let update = peer.push().await;
    assert_eq!(update["Action"], "UpdateGameSession");
    assert_eq!(update["GameSession"]["Name"], "renamed");
    assert_eq!(update["GameSession"]["GameSessionId"], arn.as_str());
    assert!(update.get("UpdateReason").is_some());

    // TerminateGameSession (trigger): TerminateProcess, TERMINATING until ProcessEnding.
    let terminating = lab
        .client
        .terminate_game_session()
        .game_session_id(&arn)
        .termination_mode(TerminationMode::TriggerOnProcessTerminate)
        .send()
        .await
        .unwrap()
        .game_session
        .unwrap();
    assert_eq!(terminating.status(), Some(&GameSessionStatus::Terminating));
    let terminate = peer.push().await;
    assert_eq!(terminate["Action"], "TerminateProcess");
    assert!(
        terminate["TerminationTime"].as_u64().unwrap() > 1_600_000_000_000,
        "epoch ms"
    );
    let ending = peer.request("TerminateServerProcess", json!({})).await;
    assert_eq!(ending["StatusCode"], 200);
    let ended = lab
        .client
        .describe_game_sessions()
        .game_session_id(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        ended.game_sessions()[0].status(),
        Some(&GameSessionStatus::Terminated)
    );
    assert_eq!(
        ended.game_sessions()[0].status_reason().map(|r| r.as_str()),
        Some("TRIGGERED_ON_PROCESS_TERMINATE")
    );
    // The ended process takes no new session.
    let after = lab
        .client
        .create_game_session()
        .fleet_id(FLEET)
        .location(LOCATION)
        .maximum_player_session_count(2)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&after), "FleetCapacityExceededException");
}

#[tokio::test]
async fn timed_out_player_sessions_are_refused() {
    let lab = lab(false).await;
    let mut peer = Peer::connect(&lab.server.sdk_endpoint(), "process-t", FLEET).await;
    peer.ready(7001).await;
    let arn = lab.create(2).await.game_session_id().unwrap().to_string();
    peer.push().await;
    peer.request("ActivateGameSession", json!({"GameSessionId": arn}))
        .await;
    let slow = lab.join(&arn, "slow").await;
    lab.tick(Duration::from_secs(61));
    assert_eq!(
        lab.player_status(&slow).await,
        PlayerSessionStatus::Timedout
    );
    let late = peer
        .request(
            "AcceptPlayerSession",
            json!({"GameSessionId": arn, "PlayerSessionId": slow}),
        )
        .await;
    assert_eq!(late["StatusCode"], 400);
    assert!(late["ErrorMessage"].as_str().unwrap().contains("TIMEDOUT"));
}

#[tokio::test]
async fn a_session_not_activated_in_time_goes_to_error_and_frees_the_process() {
    let lab = lab(false).await;
    let mut peer = Peer::connect(&lab.server.sdk_endpoint(), "process-a", FLEET).await;
    peer.ready(7002).await;
    let arn = lab.create(2).await.game_session_id().unwrap().to_string();
    peer.push().await;
    lab.tick(Duration::from_secs(61));
    assert_eq!(lab.status(&arn).await, GameSessionStatus::Error);
    // The process is free again.
    let second = lab.create(2).await;
    assert_eq!(second.status(), Some(&GameSessionStatus::Activating));
    let push = peer.push().await;
    assert_eq!(push["GameSessionId"], second.game_session_id().unwrap());
}

#[tokio::test]
async fn an_unhealthy_or_silent_process_is_terminated_after_three_periods() {
    let lab = lab(false).await;
    let mut peer = Peer::connect(&lab.server.sdk_endpoint(), "process-h", FLEET).await;
    peer.ready(7003).await;
    let arn = lab.create(2).await.game_session_id().unwrap().to_string();
    peer.push().await;
    peer.request("ActivateGameSession", json!({"GameSessionId": arn}))
        .await;
    let player = lab.join(&arn, "p").await;
    peer.request(
        "AcceptPlayerSession",
        json!({"GameSessionId": arn, "PlayerSessionId": player}),
    )
    .await;
    lab.tick(Duration::from_secs(120));
    let unhealthy = peer
        .request("HeartbeatServerProcess", json!({"HealthStatus": false}))
        .await;
    assert_eq!(unhealthy["StatusCode"], 200);
    lab.tick(Duration::from_secs(61));
    let terminate = peer.push().await;
    assert_eq!(terminate["Action"], "TerminateProcess");
    assert_eq!(lab.status(&arn).await, GameSessionStatus::Terminated);
    assert_eq!(
        lab.player_status(&player).await,
        PlayerSessionStatus::Completed
    );
}

#[tokio::test]
async fn a_dropped_connection_gets_a_grace_period_then_its_sessions_end() {
    let lab = lab(false).await;
    let endpoint = lab.server.sdk_endpoint();
    let mut peer = Peer::connect(&endpoint, "process-d", FLEET).await;
    peer.ready(7004).await;
    let arn = lab.create(2).await.game_session_id().unwrap().to_string();
    peer.push().await;
    peer.request("ActivateGameSession", json!({"GameSessionId": arn}))
        .await;
    let player = lab.join(&arn, "p").await;

    // Drop and come back within the grace period: nothing is lost.
    peer.drop_connection();
    tokio::time::sleep(Duration::from_millis(100)).await;
    lab.tick(Duration::from_secs(10));
    let mut peer = Peer::connect(&endpoint, "process-d", FLEET).await;
    assert_eq!(lab.status(&arn).await, GameSessionStatus::Active);
    let heartbeat = peer
        .request("HeartbeatServerProcess", json!({"HealthStatus": true}))
        .await;
    assert_eq!(heartbeat["StatusCode"], 200);

    // Drop for longer than the grace period: the session ends.
    peer.drop_connection();
    tokio::time::sleep(Duration::from_millis(100)).await;
    lab.tick(Duration::from_secs(31));
    assert_eq!(lab.status(&arn).await, GameSessionStatus::Terminated);
    assert_eq!(
        lab.player_status(&player).await,
        PlayerSessionStatus::Completed
    );
}

#[tokio::test]
async fn auth_tokens_unknown_fleets_and_duplicate_processes_are_refused_before_the_upgrade() {
    let lab = lab(true).await;
    let endpoint = lab.server.sdk_endpoint();
    let no_token =
        Peer::connect_url(&url(&endpoint, "p1", FLEET, "host-1", None, "i1"), "p1").await;
    assert!(matches!(no_token, Err(Refused::Status(403))));
    let unknown_fleet = Peer::connect_url(
        &url(&endpoint, "p1", "fleet-nope", "host-1", Some("x"), "i1"),
        "p1",
    )
    .await;
    assert!(matches!(unknown_fleet, Err(Refused::Status(403))));

    let token = lab.compute_token("host-1").await;
    let forged = Peer::connect_url(
        &url(&endpoint, "p1", FLEET, "host-1", Some("forged"), "i1"),
        "p1",
    )
    .await;
    assert!(matches!(forged, Err(Refused::Status(403))));
    let other_compute = Peer::connect_url(
        &url(&endpoint, "p1", FLEET, "host-2", Some(&token), "i1"),
        "p1",
    )
    .await;
    assert!(matches!(other_compute, Err(Refused::Status(403))));

    let mut first = Peer::connect_url(
        &url(&endpoint, "p1", FLEET, "host-1", Some(&token), "i1"),
        "p1",
    )
    .await
    .expect("a valid token is accepted");
    first.ready(7005).await;
    let duplicate = Peer::connect_url(
        &url(&endpoint, "p1", FLEET, "host-1", Some(&token), "i2"),
        "p1",
    )
    .await;
    assert!(
        matches!(duplicate, Err(Refused::Status(403))),
        "a second live connection with the same pID"
    );
    // The SDK's reconnect reuses its URL (same IdempotencyToken): a hand-over, accepted.
    let mut again = Peer::connect_url(
        &url(&endpoint, "p1", FLEET, "host-1", Some(&token), "i1"),
        "p1",
    )
    .await
    .expect("a reconnect hand-over is accepted");
    let beat = again
        .request("HeartbeatServerProcess", json!({"HealthStatus": true}))
        .await;
    assert_eq!(beat["StatusCode"], 200);

    lab.tick(Duration::from_secs(16 * 60));
    let expired = Peer::connect_url(
        &url(&endpoint, "p2", FLEET, "host-1", Some(&token), "i3"),
        "p2",
    )
    .await;
    assert!(
        matches!(expired, Err(Refused::Status(403))),
        "an expired token"
    );
}

#[tokio::test]
async fn the_envelope_retries_errors_and_the_remaining_actions() {
    let lab = lab(false).await;
    let mut peer = Peer::connect(&lab.server.sdk_endpoint(), "process-e", FLEET).await;
    peer.ready(7006).await;
    let arn = lab.create(2).await.game_session_id().unwrap().to_string();
    peer.push().await;
    peer.request("ActivateGameSession", json!({"GameSessionId": arn}))
        .await;
    let player = lab.join(&arn, "p").await;

    // A retried RequestId is answered again without applying twice.
    let first = peer
        .request_with_id(
            "AcceptPlayerSession",
            "retry-1",
            json!({"GameSessionId": arn, "PlayerSessionId": player}),
        )
        .await;
    let second = peer
        .request_with_id(
            "AcceptPlayerSession",
            "retry-1",
            json!({"GameSessionId": arn, "PlayerSessionId": player}),
        )
        .await;
    assert_eq!(first, second);
    assert_eq!(second["StatusCode"], 200);

    // Null, absent and empty are the same: a missing PlayerSessionId.
    for body in [
        json!({"GameSessionId": arn, "PlayerSessionId": null}),
        json!({"GameSessionId": arn, "PlayerSessionId": ""}),
        json!({"GameSessionId": arn}),
    ] {
        let reply = peer.request("RemovePlayerSession", body).await;
        assert_eq!(reply["StatusCode"], 400);
        assert!(
            reply["ErrorMessage"]
                .as_str()
                .unwrap()
                .contains("PlayerSessionId is required")
        );
    }
    let unknown = peer.request("FlyToTheMoon", json!({})).await;
    assert_eq!(unknown["StatusCode"], 400);
    let bad_port = peer
        .request("ActivateServerProcess", json!({"Port": 0}))
        .await;
    assert_eq!(bad_port["StatusCode"], 400);

    let credentials = peer
        .request(
            "GetFleetRoleCredentials",
            json!({"RoleArn": "arn:aws:iam::1:role/r"}),
        )
        .await;
    assert_eq!(credentials["StatusCode"], 200);
    assert_eq!(credentials["AccessKeyId"], "", "Anywhere: an empty answer");
    let certificate = peer.request("GetComputeCertificate", json!({})).await;
    assert_eq!(certificate["ComputeName"], "host-1");

    let configuration = common::matchmaking_configuration(&lab.client, "m").await;
    let backfill = peer
        .request(
            "StartMatchBackfill",
            json!({"GameSessionArn": arn, "MatchmakingConfigurationArn": configuration, "Players": [{"PlayerId": "p", "Team": "red", "PlayerAttributes": {}, "LatencyInMs": {}}], "TicketId": ""}),
        )
        .await;
    assert_eq!(backfill["StatusCode"], 200);
    let ticket = backfill["TicketId"].as_str().unwrap().to_string();
    assert!(!ticket.is_empty());
    let no_players = peer
        .request(
            "StartMatchBackfill",
            json!({"GameSessionArn": arn, "MatchmakingConfigurationArn": configuration, "Players": []}),
        )
        .await;
    assert_eq!(no_players["StatusCode"], 400);
    let stop = peer
        .request(
            "StopMatchBackfill",
            json!({"GameSessionArn": arn, "MatchmakingConfigurationArn": configuration, "TicketId": ticket}),
        )
        .await;
    assert_eq!(stop["StatusCode"], 200);
    // The process hears that its backfill was cancelled, with the ticket.
    let cancelled = peer.push().await;
    assert_eq!(
        cancelled["UpdateReason"], "BACKFILL_CANCELLED",
        "{cancelled}"
    );
    assert_eq!(cancelled["BackfillTicketId"], ticket.as_str());
    let stop_again = peer
        .request(
            "StopMatchBackfill",
            json!({"GameSessionArn": arn, "MatchmakingConfigurationArn": configuration, "TicketId": ticket}),
        )
        .await;
    assert_eq!(stop_again["StatusCode"], 404);

    // A member of the wrong type is refused with an error that names it, never read as zero or
    // false.
    for (action, body, member) in [
        ("ActivateServerProcess", json!({"Port": "7006"}), "Port"),
        (
            "HeartbeatServerProcess",
            json!({"HealthStatus": "true"}),
            "HealthStatus",
        ),
        (
            "DescribePlayerSessions",
            json!({"Limit": [5], "GameSessionId": arn}),
            "Limit",
        ),
    ] {
        let reply = peer.request(action, body).await;
        assert_eq!(reply["StatusCode"], 400, "{reply}");
        let text = reply["ErrorMessage"].as_str().unwrap();
        assert!(text.contains(&format!("member `{member}`")), "{text}");
    }

    // Frames that are not JSON objects get a 400 error frame (no RequestId to match, so the
    // SDKs log it) and the connection stays open.
    for garbage in ["this is not json", "[1,2]", "42"] {
        peer.send_raw(garbage).await;
        let reply = peer.push().await;
        assert_eq!(reply["StatusCode"], 400, "{garbage}: {reply}");
        assert!(
            reply["ErrorMessage"].as_str().unwrap().contains("frame"),
            "{reply}"
        );
    }
    let still = peer
        .request("HeartbeatServerProcess", json!({"HealthStatus": true}))
        .await;
    assert_eq!(still["StatusCode"], 200);
}

#[tokio::test]
async fn refresh_connection_hands_over_to_a_second_socket() {
    let lab = lab(true).await;
    let endpoint = lab.server.sdk_endpoint();
    let token = lab.compute_token("host-1").await;
    let mut old = Peer::connect_url(
        &url(&endpoint, "p-r", FLEET, "host-1", Some(&token), "i1"),
        "p-r",
    )
    .await
    .expect("accepted");
    old.ready(7007).await;
    assert!(lab.server.service().refresh_connection("p-r"));
    let refresh = old.push().await;
    assert_eq!(refresh["Action"], "RefreshConnection");
    assert_eq!(refresh["RefreshConnectionEndpoint"], endpoint.as_str());
    let new_token = refresh["AuthToken"].as_str().unwrap().to_string();
    let mut new = Peer::connect_url(
        &url(&endpoint, "p-r", FLEET, "host-1", Some(&new_token), "i2"),
        "p-r",
    )
    .await
    .expect("the refreshed token opens a second connection");
    // Both connections are live until the SDK closes the old one; pushes go to the newest.
    let on_old = old
        .request("HeartbeatServerProcess", json!({"HealthStatus": true}))
        .await;
    assert_eq!(on_old["StatusCode"], 200);
    let arn = lab.create(2).await.game_session_id().unwrap().to_string();
    let push = new.push().await;
    assert_eq!(push["GameSessionId"], arn.as_str());
    old.close().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let activated = new
        .request("ActivateGameSession", json!({"GameSessionId": arn}))
        .await;
    assert_eq!(activated["StatusCode"], 200);
    assert_eq!(lab.status(&arn).await, GameSessionStatus::Active);
}

#[tokio::test]
async fn queue_placements_wait_for_a_process_and_force_termination_ends_at_once() {
    let lab = lab(false).await;
    lab.client
        .create_game_session_queue()
        .name("q")
        .destinations(
            GameSessionQueueDestination::builder()
                .destination_arn(FLEET)
                .build(),
        )
        .send()
        .await
        .unwrap();
    lab.client
        .start_game_session_placement()
        .placement_id("waiting")
        .game_session_queue_name("q")
        .maximum_player_session_count(2)
        .send()
        .await
        .unwrap();
    let mut peer = Peer::connect(&lab.server.sdk_endpoint(), "process-q", FLEET).await;
    peer.ready(7008).await;
    let push = peer.push().await;
    assert_eq!(push["Action"], "CreateGameSession");
    let placement = lab
        .client
        .describe_game_session_placement()
        .placement_id("waiting")
        .send()
        .await
        .unwrap()
        .game_session_placement
        .unwrap();
    assert_eq!(
        placement.status(),
        Some(&GameSessionPlacementState::Fulfilled)
    );
    assert_eq!(placement.port(), Some(7008));
    let arn = push["GameSessionId"].as_str().unwrap().to_string();
    peer.request("ActivateGameSession", json!({"GameSessionId": arn}))
        .await;
    let forced = lab
        .client
        .terminate_game_session()
        .game_session_id(&arn)
        .termination_mode(TerminationMode::ForceTerminate)
        .send()
        .await
        .unwrap()
        .game_session
        .unwrap();
    assert_eq!(forced.status(), Some(&GameSessionStatus::Terminated));
    assert_eq!(
        forced.status_reason().map(|r| r.as_str()),
        Some("FORCE_TERMINATED")
    );
    assert_eq!(peer.push().await["Action"], "TerminateProcess");
}

#[tokio::test]
async fn register_compute_points_servers_at_this_endpoint() {
    let lab = lab(false).await;
    let compute = lab
        .client
        .register_compute()
        .fleet_id(FLEET)
        .compute_name("host-9")
        .ip_address("127.0.0.1")
        .location(LOCATION)
        .send()
        .await
        .unwrap()
        .compute
        .unwrap();
    let endpoint = compute.game_lift_service_sdk_endpoint().unwrap();
    // Connect to exactly the advertised URL, with the query encoded and in another order.
    // Go encodes and sorts its parameters; C++ and C# send them unencoded, in their own order,
    // after a `/` they append.
    let encoded = format!(
        "{endpoint}/?ComputeId=host%2D9&FleetId={FLEET}&IdempotencyToken=x&pID=proc%2D9&sdkLanguage=Go&sdkVersion=5.6.0"
    );
    let result = Peer::connect_url(&encoded, "proc-9").await;
    if let Err(error) = &result {
        panic!("refused: {error:?} for {encoded}");
    }
    let mut peer = result.ok().unwrap();
    peer.ready(7009).await;
    assert_eq!(
        lab.server.service().process_ids(FLEET),
        vec!["proc-9".to_string()]
    );
    let unencoded =
        format!("{endpoint}/?sdkLanguage=CSharp&pID=proc-10&FleetId={FLEET}&ComputeId=host-9");
    Peer::connect_url(&unencoded, "proc-10")
        .await
        .expect("accepted, unencoded");
}

#[tokio::test]
async fn wss_and_https_with_the_generated_self_signed_certificate() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let directory = std::env::temp_dir().join(format!("gamelift-local-tls-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let server = Server::builder()
        .bind("127.0.0.1:0".parse().unwrap())
        .tls(true)
        .certificate_directory(&directory)
        .start()
        .await
        .unwrap();
    assert!(server.sdk_endpoint().starts_with("wss://"));
    assert!(server.endpoint().starts_with("https://"));
    let certificate = server.certificate_path().unwrap().to_path_buf();
    assert!(
        std::fs::read_to_string(&certificate)
            .unwrap()
            .contains("BEGIN CERTIFICATE")
    );

    let url = url(&server.sdk_endpoint(), "tls-1", FLEET, "host-1", None, "i");
    let mut peer = Peer::connect_url_tls(&url, "tls-1", &certificate)
        .await
        .expect("wss with the generated certificate");
    peer.ready(7010).await;

    // The control plane over https on the same port.
    let connector = tokio_rustls::TlsConnector::from(common::peer::client_config(&certificate));
    let tcp = tokio::net::TcpStream::connect(server.local_addr())
        .await
        .unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = connector
        .connect(name, tcp)
        .await
        .expect("an https handshake");
    tls.write_all(
        b"POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: GameLift.ListFleets\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
    )
    .await
    .unwrap();
    let mut response = Vec::new();
    tls.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("fleet-local"));

    // A plain-text client gets nowhere on a TLS port.
    let plain = Peer::connect_url(&url.replace("wss://", "ws://"), "tls-2").await;
    assert!(plain.is_err());
    let _ = std::fs::remove_dir_all(&directory);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_processes_connect_and_heartbeat_at_once() {
    let lab = lab(false).await;
    let endpoint = lab.server.sdk_endpoint();
    let mut tasks = Vec::new();
    for index in 0..1000 {
        let endpoint = endpoint.clone();
        tasks.push(tokio::spawn(async move {
            let process = format!("many-{index}");
            let mut peer = Peer::connect(&endpoint, &process, FLEET).await;
            peer.ready(10_000 + (index % 50_000) as u16).await;
            for _ in 0..2 {
                let beat = peer
                    .request("HeartbeatServerProcess", json!({"HealthStatus": true}))
                    .await;
                assert_eq!(beat["StatusCode"], 200);
            }
            peer
        }));
    }
    let mut peers = Vec::new();
    for task in tasks {
        peers.push(task.await.unwrap());
    }
    assert_eq!(lab.server.service().process_ids(FLEET).len(), 1000);
    // Every one of them can host a session.
    let session = lab.create(2).await;
    assert_eq!(session.status(), Some(&GameSessionStatus::Activating));
    drop(peers);
}
