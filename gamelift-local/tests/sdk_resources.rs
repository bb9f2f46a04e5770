//! Fleets, locations, computes, aliases, queues and placements through the real
//! `aws-sdk-gamelift` client.

mod common;

use std::time::Duration;

use aws_sdk_gamelift::types::{
    AnywhereConfiguration, ComputeType, GameSessionPlacementState, GameSessionQueueDestination,
    LocationConfiguration, LocationFilter, RoutingStrategy, RoutingStrategyType,
};
use common::{FLEET, LOCATION, code, message, start, start_with};

#[tokio::test]
async fn anywhere_fleets_locations_and_computes() {
    let local = start().await;
    let fleets = local.client.list_fleets().send().await.unwrap();
    assert_eq!(fleets.fleet_ids(), ["fleet-local"]);

    let location = local
        .client
        .create_location()
        .location_name("custom-lab")
        .send()
        .await
        .unwrap()
        .location
        .unwrap();
    assert_eq!(location.location_name(), Some("custom-lab"));
    assert!(
        location
            .location_arn()
            .unwrap()
            .ends_with(":location/custom-lab")
    );
    let duplicate = local
        .client
        .create_location()
        .location_name("custom-lab")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&duplicate), "ConflictException");
    let bad_name = local
        .client
        .create_location()
        .location_name("lab")
        .send()
        .await
        .unwrap_err();
    assert!(
        message(&bad_name).contains("^custom-[A-Za-z0-9\\-]+$"),
        "{}",
        message(&bad_name)
    );
    let custom = local
        .client
        .list_locations()
        .filters(LocationFilter::Custom)
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = custom
        .locations()
        .iter()
        .filter_map(|l| l.location_name())
        .collect();
    assert_eq!(names, vec!["custom-lab", "custom-local"]);

    let created = local
        .client
        .create_fleet()
        .name("lab fleet")
        .compute_type(ComputeType::Anywhere)
        .locations(
            LocationConfiguration::builder()
                .location("custom-lab")
                .build(),
        )
        .anywhere_configuration(AnywhereConfiguration::builder().cost("0.5").build())
        .send()
        .await
        .unwrap();
    let attributes = created.fleet_attributes().unwrap();
    let fleet_id = attributes.fleet_id().unwrap().to_string();
    assert!(fleet_id.starts_with("fleet-"));
    assert_eq!(attributes.status().map(|s| s.as_str()), Some("ACTIVE"));
    assert_eq!(attributes.compute_type(), Some(&ComputeType::Anywhere));
    assert_eq!(created.location_states()[0].location(), Some("custom-lab"));

    let ec2 = local
        .client
        .create_fleet()
        .name("ec2")
        .compute_type(ComputeType::Ec2)
        .send()
        .await
        .unwrap_err();
    assert!(message(&ec2).contains("Anywhere fleets only"));
    let unknown_location = local
        .client
        .create_fleet()
        .name("x")
        .compute_type(ComputeType::Anywhere)
        .locations(
            LocationConfiguration::builder()
                .location("custom-mars")
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&unknown_location), "NotFoundException");
    let bad_cost = local
        .client
        .create_fleet()
        .name("x")
        .compute_type(ComputeType::Anywhere)
        .locations(
            LocationConfiguration::builder()
                .location("custom-lab")
                .build(),
        )
        .anywhere_configuration(AnywhereConfiguration::builder().cost("cheap").build())
        .send()
        .await
        .unwrap_err();
    assert!(
        message(&bad_cost).contains("anywhereConfiguration.cost"),
        "{}",
        message(&bad_cost)
    );

    let described = local
        .client
        .describe_fleet_attributes()
        .fleet_ids(&fleet_id)
        .fleet_ids("fleet-unknown")
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.fleet_attributes().len(),
        1,
        "unknown ids are left out"
    );
    let all = local
        .client
        .describe_fleet_attributes()
        .limit(1)
        .send()
        .await
        .unwrap();
    assert_eq!(all.fleet_attributes().len(), 1);
    assert!(all.next_token().is_some());

    // Computes.
    let compute = local
        .client
        .register_compute()
        .fleet_id(&fleet_id)
        .compute_name("host-1")
        .ip_address("10.1.2.3")
        .location("custom-lab")
        .send()
        .await
        .unwrap()
        .compute
        .unwrap();
    let endpoint = compute.game_lift_service_sdk_endpoint().unwrap();
    assert_eq!(endpoint, format!("ws://{}", local.server.local_addr()));
    let wrong_location = local
        .client
        .register_compute()
        .fleet_id(&fleet_id)
        .compute_name("host-2")
        .ip_address("10.1.2.4")
        .location(LOCATION)
        .send()
        .await
        .unwrap_err();
    assert!(message(&wrong_location).contains("not a location of fleet"));
    let listed = local
        .client
        .list_compute()
        .fleet_id(&fleet_id)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.compute_list().len(), 1);
    let token = local
        .client
        .get_compute_auth_token()
        .fleet_id(&fleet_id)
        .compute_name("host-1")
        .send()
        .await
        .unwrap();
    assert!(!token.auth_token().unwrap().is_empty());
    assert!(token.expiration_timestamp().is_some());
    assert!(
        local
            .server
            .service()
            .check_auth_token(token.auth_token().unwrap())
            .is_some()
    );
    local.clock.advance(Duration::from_secs(16 * 60));
    assert!(
        local
            .server
            .service()
            .check_auth_token(token.auth_token().unwrap())
            .is_none()
    );
    local
        .client
        .deregister_compute()
        .fleet_id(&fleet_id)
        .compute_name("host-1")
        .send()
        .await
        .unwrap();
    let gone = local
        .client
        .describe_compute()
        .fleet_id(&fleet_id)
        .compute_name("host-1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&gone), "NotFoundException");
    let no_token = local
        .client
        .get_compute_auth_token()
        .fleet_id(&fleet_id)
        .compute_name("host-1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&no_token), "NotFoundException");

    // Deleting: refused while a game session is active, then allowed.
    let session = local
        .client
        .create_game_session()
        .fleet_id(&fleet_id)
        .location("custom-lab")
        .maximum_player_session_count(2)
        .send()
        .await
        .unwrap()
        .game_session
        .unwrap();
    let busy = local
        .client
        .delete_fleet()
        .fleet_id(&fleet_id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&busy), "InvalidFleetStatusException");
    local
        .client
        .terminate_game_session()
        .game_session_id(session.game_session_id().unwrap())
        .termination_mode(aws_sdk_gamelift::types::TerminationMode::ForceTerminate)
        .send()
        .await
        .unwrap();
    local
        .client
        .delete_fleet()
        .fleet_id(&fleet_id)
        .send()
        .await
        .unwrap();
    let deleted = local
        .client
        .delete_fleet()
        .fleet_id(&fleet_id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&deleted), "NotFoundException");
}

#[tokio::test]
async fn aliases_route_to_fleets_or_refuse_with_their_message() {
    let local = start().await;
    let simple = local
        .client
        .create_alias()
        .name("live")
        .routing_strategy(
            RoutingStrategy::builder()
                .r#type(RoutingStrategyType::Simple)
                .fleet_id(FLEET)
                .build(),
        )
        .send()
        .await
        .unwrap()
        .alias
        .unwrap();
    let alias_id = simple.alias_id().unwrap().to_string();
    assert!(alias_id.starts_with("alias-"));
    let resolved = local
        .client
        .resolve_alias()
        .alias_id(&alias_id)
        .send()
        .await
        .unwrap();
    assert_eq!(resolved.fleet_id(), Some(FLEET));
    let by_arn = local
        .client
        .describe_alias()
        .alias_id(simple.alias_arn().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(by_arn.alias().unwrap().name(), Some("live"));

    let session = local
        .client
        .create_game_session()
        .alias_id(&alias_id)
        .location(LOCATION)
        .maximum_player_session_count(2)
        .send()
        .await
        .unwrap()
        .game_session
        .unwrap();
    assert_eq!(session.fleet_id(), Some(FLEET));

    let terminal = local
        .client
        .create_alias()
        .name("maintenance")
        .routing_strategy(
            RoutingStrategy::builder()
                .r#type(RoutingStrategyType::Terminal)
                .message("Down for maintenance")
                .build(),
        )
        .send()
        .await
        .unwrap()
        .alias
        .unwrap();
    let refused = local
        .client
        .resolve_alias()
        .alias_id(terminal.alias_id().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&refused), "TerminalRoutingStrategyException");
    assert_eq!(message(&refused), "Down for maintenance");
    let refused_create = local
        .client
        .create_game_session()
        .alias_id(terminal.alias_id().unwrap())
        .location(LOCATION)
        .maximum_player_session_count(2)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&refused_create), "TerminalRoutingStrategyException");

    let terminal_only = local
        .client
        .list_aliases()
        .routing_strategy_type(RoutingStrategyType::Terminal)
        .send()
        .await
        .unwrap();
    assert_eq!(terminal_only.aliases().len(), 1);
    let by_name = local
        .client
        .list_aliases()
        .name("live")
        .send()
        .await
        .unwrap();
    assert_eq!(by_name.aliases().len(), 1);

    let no_fleet = local
        .client
        .create_alias()
        .name("broken")
        .routing_strategy(
            RoutingStrategy::builder()
                .r#type(RoutingStrategyType::Simple)
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&no_fleet), "InvalidRequestException");
    let unknown = local
        .client
        .describe_alias()
        .alias_id("alias-nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&unknown), "NotFoundException");
    let blank = local
        .client
        .create_alias()
        .name("   ")
        .routing_strategy(
            RoutingStrategy::builder()
                .r#type(RoutingStrategyType::Simple)
                .fleet_id(FLEET)
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert!(message(&blank).contains("regular expression"));
}

#[tokio::test]
async fn queue_placements_are_fulfilled_with_player_sessions() {
    let local = start().await;
    let queue = local
        .client
        .create_game_session_queue()
        .name("main")
        .timeout_in_seconds(30)
        .destinations(
            GameSessionQueueDestination::builder()
                .destination_arn(format!(
                    "arn:aws:gamelift:us-west-2:000000000000:fleet/{FLEET}"
                ))
                .build(),
        )
        .send()
        .await
        .unwrap()
        .game_session_queue
        .unwrap();
    assert_eq!(queue.name(), Some("main"));
    assert_eq!(queue.timeout_in_seconds(), Some(30));
    let duplicate = local
        .client
        .create_game_session_queue()
        .name("main")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&duplicate), "InvalidRequestException");
    let bad_destination = local
        .client
        .create_game_session_queue()
        .name("other")
        .destinations(
            GameSessionQueueDestination::builder()
                .destination_arn("arn:aws:gamelift:us-west-2:000000000000:fleet/fleet-nope")
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&bad_destination), "NotFoundException");
    let described = local
        .client
        .describe_game_session_queues()
        .names("main")
        .send()
        .await
        .unwrap();
    assert_eq!(described.game_session_queues().len(), 1);

    let started = local
        .client
        .start_game_session_placement()
        .placement_id("placement-1")
        .game_session_queue_name("main")
        .maximum_player_session_count(4)
        .game_session_name("queued")
        .desired_player_sessions(
            aws_sdk_gamelift::types::DesiredPlayerSession::builder()
                .player_id("ada")
                .player_data("red")
                .build(),
        )
        .send()
        .await
        .unwrap()
        .game_session_placement
        .unwrap();
    assert_eq!(started.status(), Some(&GameSessionPlacementState::Pending));
    let placed = local
        .client
        .describe_game_session_placement()
        .placement_id("placement-1")
        .send()
        .await
        .unwrap()
        .game_session_placement
        .unwrap();
    assert_eq!(placed.status(), Some(&GameSessionPlacementState::Fulfilled));
    assert_eq!(placed.port(), Some(7777));
    assert_eq!(placed.game_session_region(), Some("us-west-2"));
    let placed_players = placed.placed_player_sessions();
    assert_eq!(placed_players.len(), 1);
    assert_eq!(placed_players[0].player_id(), Some("ada"));
    let session = local
        .client
        .describe_game_sessions()
        .game_session_id(placed.game_session_arn().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(session.game_sessions()[0].name(), Some("queued"));
    assert_eq!(
        session.game_sessions()[0].current_player_session_count(),
        Some(1)
    );

    let stop_fulfilled = local
        .client
        .stop_game_session_placement()
        .placement_id("placement-1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&stop_fulfilled), "InvalidRequestException");
    let reused = local
        .client
        .start_game_session_placement()
        .placement_id("placement-1")
        .game_session_queue_name("main")
        .maximum_player_session_count(4)
        .send()
        .await
        .unwrap_err();
    assert!(message(&reused).contains("cannot be reused"));
    let unknown_queue = local
        .client
        .start_game_session_placement()
        .placement_id("placement-2")
        .game_session_queue_name("nope")
        .maximum_player_session_count(4)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&unknown_queue), "NotFoundException");
    let unknown = local
        .client
        .describe_game_session_placement()
        .placement_id("placement-nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&unknown), "NotFoundException");
}

#[tokio::test]
async fn placements_without_capacity_wait_then_time_out_or_are_cancelled() {
    let local = start_with(false).await;
    local
        .client
        .create_game_session_queue()
        .name("busy")
        .timeout_in_seconds(10)
        .destinations(
            GameSessionQueueDestination::builder()
                .destination_arn(FLEET)
                .build(),
        )
        .send()
        .await
        .unwrap();
    for id in ["wait-1", "wait-2"] {
        local
            .client
            .start_game_session_placement()
            .placement_id(id)
            .game_session_queue_name("busy")
            .maximum_player_session_count(2)
            .send()
            .await
            .unwrap();
    }
    let stopped = local
        .client
        .stop_game_session_placement()
        .placement_id("wait-1")
        .send()
        .await
        .unwrap()
        .game_session_placement
        .unwrap();
    assert_eq!(
        stopped.status(),
        Some(&GameSessionPlacementState::Cancelled)
    );
    let pending = local
        .client
        .describe_game_session_placement()
        .placement_id("wait-2")
        .send()
        .await
        .unwrap()
        .game_session_placement
        .unwrap();
    assert_eq!(pending.status(), Some(&GameSessionPlacementState::Pending));
    local.clock.advance(Duration::from_secs(10));
    let timed_out = local
        .client
        .describe_game_session_placement()
        .placement_id("wait-2")
        .send()
        .await
        .unwrap()
        .game_session_placement
        .unwrap();
    assert_eq!(
        timed_out.status(),
        Some(&GameSessionPlacementState::TimedOut)
    );
    assert!(timed_out.end_time().is_some());
}
