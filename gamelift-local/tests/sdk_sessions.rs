//! Game and player sessions through the real `aws-sdk-gamelift` client (Smithy RPC v2 CBOR).

mod common;

use std::collections::HashSet;
use std::time::Duration;

use aws_sdk_gamelift::types::{
    GameProperty, GameSessionStatus, PlayerSessionCreationPolicy, PlayerSessionStatus,
    TerminationMode,
};
use common::{FLEET, LOCATION, code, message, start};

fn property(key: &str, value: &str) -> GameProperty {
    GameProperty::builder().key(key).value(value).build()
}

#[tokio::test]
async fn create_describe_and_details() {
    let local = start().await;
    let created = local
        .client
        .create_game_session()
        .fleet_id(FLEET)
        .location(LOCATION)
        .maximum_player_session_count(8)
        .name("arena")
        .creator_id("player-1")
        .game_session_data("map=dust")
        .game_properties(property("mode", "ctf"))
        .send()
        .await
        .unwrap()
        .game_session
        .unwrap();
    let arn = created.game_session_id().unwrap().to_string();
    assert!(
        arn.starts_with("arn:aws:gamelift:us-west-2::gamesession/fleet-local/gsess-"),
        "{arn}"
    );
    assert_eq!(created.status(), Some(&GameSessionStatus::Active));
    assert_eq!(created.ip_address(), Some("127.0.0.1"));
    assert_eq!(created.port(), Some(7777));
    assert_eq!(created.location(), Some(LOCATION));
    assert_eq!(created.current_player_session_count(), Some(0));
    assert_eq!(
        created.player_session_creation_policy(),
        Some(&PlayerSessionCreationPolicy::AcceptAll)
    );
    assert!(
        created.creation_time().is_some(),
        "a tag-1 timestamp the SDK decoded"
    );

    let by_id = local
        .client
        .describe_game_sessions()
        .game_session_id(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(by_id.game_sessions().len(), 1);
    assert_eq!(by_id.game_sessions()[0].name(), Some("arena"));
    assert_eq!(
        by_id.game_sessions()[0].game_properties()[0].value(),
        Some("ctf")
    );

    let details = local
        .client
        .describe_game_session_details()
        .fleet_id(FLEET)
        .send()
        .await
        .unwrap();
    assert_eq!(details.game_session_details().len(), 1);
    assert_eq!(
        details.game_session_details()[0]
            .protection_policy()
            .map(|p| p.as_str()),
        Some("NoProtection")
    );

    let missing = local
        .client
        .describe_game_sessions()
        .game_session_id("arn:aws:gamelift:us-west-2::gamesession/fleet-local/nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&missing), "NotFoundException");
    assert!(missing.into_service_error().is_not_found_exception());

    let unknown_fleet = local
        .client
        .describe_game_sessions()
        .fleet_id("fleet-unknown")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&unknown_fleet), "NotFoundException");

    let neither = local
        .client
        .describe_game_sessions()
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&neither), "InvalidRequestException");
}

#[tokio::test]
async fn create_game_session_validates_its_input() {
    let local = start().await;
    let no_max = local
        .client
        .create_game_session()
        .fleet_id(FLEET)
        .location(LOCATION)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&no_max), "InvalidRequestException");
    assert!(
        message(&no_max).contains(
            "'maximumPlayerSessionCount' failed to satisfy constraint: Member must not be null"
        ),
        "{}",
        message(&no_max)
    );

    let too_many = local
        .client
        .create_game_session()
        .fleet_id(FLEET)
        .location(LOCATION)
        .maximum_player_session_count(201)
        .send()
        .await
        .unwrap_err();
    assert!(
        message(&too_many).contains("at most 200"),
        "{}",
        message(&too_many)
    );

    let both = local
        .client
        .create_game_session()
        .fleet_id(FLEET)
        .alias_id("alias-1")
        .location(LOCATION)
        .maximum_player_session_count(2)
        .send()
        .await
        .unwrap_err();
    assert!(message(&both).contains("not both"));

    let properties = (0..17).map(|i| property(&format!("k{i}"), "v"));
    let mut request = local
        .client
        .create_game_session()
        .fleet_id(FLEET)
        .location(LOCATION)
        .maximum_player_session_count(2);
    for p in properties {
        request = request.game_properties(p);
    }
    let too_many_properties = request.send().await.unwrap_err();
    assert!(message(&too_many_properties).contains("'gameProperties' failed to satisfy constraint: Member must have length less than or equal to 16"));

    let no_location = local
        .client
        .create_game_session()
        .fleet_id(FLEET)
        .maximum_player_session_count(2)
        .send()
        .await
        .unwrap_err();
    assert!(message(&no_location).contains("Location is required"));

    let wrong_location = local
        .client
        .create_game_session()
        .fleet_id(FLEET)
        .location("custom-elsewhere")
        .maximum_player_session_count(2)
        .send()
        .await
        .unwrap_err();
    assert!(message(&wrong_location).contains("not a location of fleet"));

    // Nothing was half-created by the refused requests.
    let all = local
        .client
        .describe_game_sessions()
        .fleet_id(FLEET)
        .send()
        .await
        .unwrap();
    assert!(all.game_sessions().is_empty());
}

#[tokio::test]
async fn idempotency_token_returns_the_original_or_refuses_other_parameters() {
    let local = start().await;
    let create = |name: &str| {
        local
            .client
            .create_game_session()
            .fleet_id(FLEET)
            .location(LOCATION)
            .maximum_player_session_count(4)
            .name(name)
            .idempotency_token("match-42")
            .send()
    };
    let first = create("arena").await.unwrap().game_session.unwrap();
    assert!(
        first
            .game_session_id()
            .unwrap()
            .ends_with("/fleet-local/match-42")
    );
    let again = create("arena").await.unwrap().game_session.unwrap();
    assert_eq!(first.game_session_id(), again.game_session_id());
    let different = create("other").await.unwrap_err();
    assert_eq!(code(&different), "IdempotentParameterMismatchException");
    let all = local
        .client
        .describe_game_sessions()
        .fleet_id(FLEET)
        .send()
        .await
        .unwrap();
    assert_eq!(all.game_sessions().len(), 1);
}

#[tokio::test]
async fn without_server_processes_there_is_no_capacity() {
    let local = common::start_with(false).await;
    let error = local
        .client
        .create_game_session()
        .fleet_id(FLEET)
        .location(LOCATION)
        .maximum_player_session_count(2)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "FleetCapacityExceededException");
    assert!(
        error
            .into_service_error()
            .is_fleet_capacity_exceeded_exception()
    );
}

#[tokio::test]
async fn player_sessions_reserve_slots_and_respect_capacity_and_policy() {
    let local = start().await;
    let session = local.session(3).await;
    let arn = session.game_session_id().unwrap();

    let one = local
        .client
        .create_player_session()
        .game_session_id(arn)
        .player_id("ada")
        .player_data("team=red")
        .send()
        .await
        .unwrap()
        .player_session
        .unwrap();
    assert!(one.player_session_id().unwrap().starts_with("psess-"));
    assert_eq!(one.status(), Some(&PlayerSessionStatus::Reserved));
    assert_eq!(one.port(), Some(7777));
    assert_eq!(one.player_data(), Some("team=red"));

    // A batch that does not fit is refused whole.
    let too_many = local
        .client
        .create_player_sessions()
        .game_session_id(arn)
        .player_ids("b")
        .player_ids("c")
        .player_ids("d")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&too_many), "GameSessionFullException");
    let batch = local
        .client
        .create_player_sessions()
        .game_session_id(arn)
        .player_ids("b")
        .player_ids("c")
        .player_data_map("b", "data-b")
        .send()
        .await
        .unwrap();
    assert_eq!(batch.player_sessions().len(), 2);
    assert_eq!(batch.player_sessions()[0].player_data(), Some("data-b"));
    let full = local
        .client
        .create_player_session()
        .game_session_id(arn)
        .player_id("e")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&full), "GameSessionFullException");

    let described = local
        .client
        .describe_game_sessions()
        .game_session_id(arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.game_sessions()[0].current_player_session_count(),
        Some(3)
    );

    // DENY_ALL blocks new player sessions even with free slots.
    let roomy = local.session(10).await;
    let roomy_arn = roomy.game_session_id().unwrap();
    local
        .client
        .update_game_session()
        .game_session_id(roomy_arn)
        .player_session_creation_policy(PlayerSessionCreationPolicy::DenyAll)
        .send()
        .await
        .unwrap();
    let denied = local
        .client
        .create_player_session()
        .game_session_id(roomy_arn)
        .player_id("x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&denied), "GameSessionFullException");
    assert!(message(&denied).contains("DENY_ALL"));

    let unknown = local
        .client
        .create_player_session()
        .game_session_id("arn:aws:gamelift:us-west-2::gamesession/fleet-local/none")
        .player_id("x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&unknown), "NotFoundException");

    let empty_batch = local
        .client
        .create_player_sessions()
        .game_session_id(arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&empty_batch), "InvalidRequestException");
}

#[tokio::test]
async fn reserved_player_sessions_time_out_after_sixty_seconds_and_free_their_slot() {
    let local = start().await;
    let session = local.session(1).await;
    let arn = session.game_session_id().unwrap();
    let player = local.join(arn, "slow").await;
    local.clock.advance(Duration::from_secs(59));
    let still = local
        .client
        .describe_player_sessions()
        .player_session_id(player.player_session_id().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        still.player_sessions()[0].status(),
        Some(&PlayerSessionStatus::Reserved)
    );
    local.clock.advance(Duration::from_secs(1));
    let timed_out = local
        .client
        .describe_player_sessions()
        .player_session_id(player.player_session_id().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        timed_out.player_sessions()[0].status(),
        Some(&PlayerSessionStatus::Timedout)
    );
    assert!(timed_out.player_sessions()[0].termination_time().is_some());
    // The slot is free again.
    local.join(arn, "next").await;
}

#[tokio::test]
async fn describe_player_sessions_by_id_game_session_player_and_status() {
    let local = start().await;
    let session = local.session(10).await;
    let arn = session.game_session_id().unwrap();
    for player in ["a", "b", "c"] {
        local.join(arn, player).await;
    }
    let all = local
        .client
        .describe_player_sessions()
        .game_session_id(arn)
        .send()
        .await
        .unwrap();
    assert_eq!(all.player_sessions().len(), 3);
    let page = local
        .client
        .describe_player_sessions()
        .game_session_id(arn)
        .limit(2)
        .send()
        .await
        .unwrap();
    assert_eq!(page.player_sessions().len(), 2);
    let rest = local
        .client
        .describe_player_sessions()
        .game_session_id(arn)
        .limit(2)
        .next_token(page.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(rest.player_sessions().len(), 1);
    assert!(rest.next_token().is_none());
    let by_player = local
        .client
        .describe_player_sessions()
        .player_id("b")
        .send()
        .await
        .unwrap();
    assert_eq!(by_player.player_sessions().len(), 1);
    let completed = local
        .client
        .describe_player_sessions()
        .game_session_id(arn)
        .player_session_status_filter("COMPLETED")
        .send()
        .await
        .unwrap();
    assert!(completed.player_sessions().is_empty());
    let bad_filter = local
        .client
        .describe_player_sessions()
        .game_session_id(arn)
        .player_session_status_filter("GONE")
        .send()
        .await
        .unwrap_err();
    assert!(message(&bad_filter).contains("enum value set"));
    let bad_token = local
        .client
        .describe_player_sessions()
        .game_session_id(arn)
        .next_token("garbage")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&bad_token), "InvalidRequestException");
    let nothing = local
        .client
        .describe_player_sessions()
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&nothing), "InvalidRequestException");
    let unknown = local
        .client
        .describe_player_sessions()
        .player_session_id("psess-unknown")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&unknown), "NotFoundException");
}

#[tokio::test]
async fn update_merges_properties_and_terminate_ends_players() {
    let local = start().await;
    let session = local.session(4).await;
    let arn = session.game_session_id().unwrap();
    let updated = local
        .client
        .update_game_session()
        .game_session_id(arn)
        .name("renamed")
        .maximum_player_session_count(6)
        .game_properties(property("mode", "ffa"))
        .game_properties(property("map", "dust"))
        .send()
        .await
        .unwrap()
        .game_session
        .unwrap();
    assert_eq!(updated.name(), Some("renamed"));
    assert_eq!(updated.maximum_player_session_count(), Some(6));
    let updated = local
        .client
        .update_game_session()
        .game_session_id(arn)
        .game_properties(property("mode", "ctf"))
        .send()
        .await
        .unwrap()
        .game_session
        .unwrap();
    let properties: Vec<(&str, &str)> = updated
        .game_properties()
        .iter()
        .map(|p| (p.key().unwrap(), p.value().unwrap()))
        .collect();
    assert_eq!(properties, vec![("mode", "ctf"), ("map", "dust")]);

    let player = local.join(arn, "ada").await;
    let ended = local
        .client
        .terminate_game_session()
        .game_session_id(arn)
        .termination_mode(TerminationMode::ForceTerminate)
        .send()
        .await
        .unwrap()
        .game_session
        .unwrap();
    assert_eq!(ended.status(), Some(&GameSessionStatus::Terminated));
    assert_eq!(
        ended.status_reason().map(|r| r.as_str()),
        Some("FORCE_TERMINATED")
    );
    let player = local
        .client
        .describe_player_sessions()
        .player_session_id(player.player_session_id().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        player.player_sessions()[0].status(),
        Some(&PlayerSessionStatus::Completed)
    );

    let again = local
        .client
        .terminate_game_session()
        .game_session_id(arn)
        .termination_mode(TerminationMode::TriggerOnProcessTerminate)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&again), "InvalidGameSessionStatusException");
    let update_ended = local
        .client
        .update_game_session()
        .game_session_id(arn)
        .name("x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&update_ended), "InvalidGameSessionStatusException");
    let join_ended = local
        .client
        .create_player_session()
        .game_session_id(arn)
        .player_id("late")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&join_ended), "InvalidGameSessionStatusException");

    let terminated = local
        .client
        .describe_game_sessions()
        .fleet_id(FLEET)
        .status_filter("TERMINATED")
        .send()
        .await
        .unwrap();
    assert_eq!(terminated.game_sessions().len(), 1);
}

#[tokio::test]
async fn search_filters_sorts_caps_at_twenty_and_pages() {
    let local = start().await;
    for index in 0..30 {
        let mode = if index % 3 == 0 { "ctf" } else { "ffa" };
        local
            .client
            .create_game_session()
            .fleet_id(FLEET)
            .location(LOCATION)
            .maximum_player_session_count(10)
            .name(format!("game {index}"))
            .game_properties(property("mode", mode))
            .send()
            .await
            .unwrap();
    }
    let ctf = local
        .client
        .search_game_sessions()
        .fleet_id(FLEET)
        .filter_expression("gameSessionProperties.mode = 'ctf' AND hasAvailablePlayerSessions=true")
        .send()
        .await
        .unwrap();
    assert_eq!(ctf.game_sessions().len(), 10);
    assert!(
        ctf.game_sessions()
            .iter()
            .all(|s| s.game_properties()[0].value() == Some("ctf"))
    );

    let capped = local
        .client
        .search_game_sessions()
        .fleet_id(FLEET)
        .limit(100)
        .send()
        .await
        .unwrap();
    assert_eq!(capped.game_sessions().len(), 20, "at most 20 per call");
    let rest = local
        .client
        .search_game_sessions()
        .fleet_id(FLEET)
        .limit(100)
        .next_token(capped.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(rest.game_sessions().len(), 10);
    let mut seen = HashSet::new();
    for session in capped.game_sessions().iter().chain(rest.game_sessions()) {
        assert!(seen.insert(session.game_session_id().unwrap().to_string()));
    }

    let newest = local
        .client
        .search_game_sessions()
        .fleet_id(FLEET)
        .sort_expression("creationTimeMillis DESC")
        .limit(1)
        .send()
        .await
        .unwrap();
    assert_eq!(newest.game_sessions()[0].name(), Some("game 29"));
    let by_name = local
        .client
        .search_game_sessions()
        .fleet_id(FLEET)
        .filter_expression("gameSessionName = 'game 7' OR gameSessionName = 'game 8'")
        .sort_expression("gameSessionName DESC")
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = by_name
        .game_sessions()
        .iter()
        .filter_map(|s| s.name())
        .collect();
    assert_eq!(names, vec!["game 8", "game 7"]);

    let bad = local
        .client
        .search_game_sessions()
        .fleet_id(FLEET)
        .filter_expression("gameSessionName > 'a'")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&bad), "InvalidRequestException");
    assert!(message(&bad).contains("only be compared with = or <>"));
    let bad_sort = local
        .client
        .search_game_sessions()
        .fleet_id(FLEET)
        .sort_expression("sideways")
        .send()
        .await
        .unwrap_err();
    assert!(message(&bad_sort).contains("Invalid SortExpression"));

    // Only ACTIVE sessions are found.
    let first = capped.game_sessions()[0].game_session_id().unwrap();
    local
        .client
        .terminate_game_session()
        .game_session_id(first)
        .termination_mode(TerminationMode::ForceTerminate)
        .send()
        .await
        .unwrap();
    let found = local
        .client
        .search_game_sessions()
        .fleet_id(FLEET)
        .filter_expression(format!("gameSessionId = '{first}'"))
        .send()
        .await
        .unwrap();
    assert!(found.game_sessions().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_joins_on_ten_slots_give_exactly_ten() {
    let local = start().await;
    let session = local.session(10).await;
    let arn = session.game_session_id().unwrap().to_string();
    let mut tasks = Vec::new();
    for index in 0..200 {
        let client = local.client.clone();
        let arn = arn.clone();
        tasks.push(tokio::spawn(async move {
            client
                .create_player_session()
                .game_session_id(arn)
                .player_id(format!("player-{index}"))
                .send()
                .await
        }));
    }
    let mut successes = 0;
    let mut full = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => successes += 1,
            Err(error) => {
                assert_eq!(code(&error), "GameSessionFullException");
                full += 1;
            }
        }
    }
    assert_eq!(successes, 10);
    assert_eq!(full, 190);
    let described = local
        .client
        .describe_game_sessions()
        .game_session_id(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.game_sessions()[0].current_player_session_count(),
        Some(10)
    );
}

#[tokio::test]
async fn the_region_comes_from_the_signature() {
    let local = start().await;
    let elsewhere = common::client_for(&local.server.endpoint(), "eu-west-1");
    let error = elsewhere
        .describe_game_sessions()
        .fleet_id(FLEET)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&error), "NotFoundException");
    assert!(message(&error).contains("eu-west-1"));
}
