//! FlexMatch through the real `aws-sdk-gamelift` client: rule sets, configurations, tickets from
//! QUEUED to COMPLETED with a placed game session, acceptance and rejection, STANDALONE, timeouts,
//! duplicate players, and the errors a client gets.

mod common;

use std::time::Duration;

use aws_sdk_gamelift::Client;
use aws_sdk_gamelift::types::{
    AcceptanceType, AttributeValue, BackfillMode, FlexMatchMode, GameProperty,
    GameSessionQueueDestination, MatchmakingConfigurationStatus as Status, Player,
};

const FOUR_V_FOUR: &str = r#"{
    "name": "four-v-four",
    "ruleLanguageVersion": "1.0",
    "playerAttributes": [{"name": "skill", "type": "number", "default": 10}],
    "teams": [{"name": "red", "minPlayers": 4, "maxPlayers": 4},
              {"name": "blue", "minPlayers": 4, "maxPlayers": 4}],
    "rules": [{"name": "FairTeamSkill", "type": "distance",
               "measurements": ["avg(teams[*].players.attributes[skill])"],
               "referenceValue": "avg(flatten(teams[*].players.attributes[skill]))",
               "maxDistance": 10}],
    "expansions": [{"target": "rules[FairTeamSkill].maxDistance",
                    "steps": [{"waitTimeSeconds": 10, "value": 50}]}]
}"#;

async fn setup(local: &common::Local, acceptance: bool, standalone: bool) -> String {
    let client = &local.client;
    let _ = client
        .create_matchmaking_rule_set()
        .name("four-v-four")
        .rule_set_body(FOUR_V_FOUR)
        .send()
        .await;
    let name = format!(
        "match-{}{}",
        if acceptance { "accept" } else { "direct" },
        if standalone { "-standalone" } else { "" }
    );
    let mut request = client
        .create_matchmaking_configuration()
        .name(&name)
        .rule_set_name("four-v-four")
        .request_timeout_seconds(120)
        .acceptance_required(acceptance)
        .acceptance_timeout_seconds(30)
        .game_properties(GameProperty::builder().key("mode").value("ctf").build())
        .game_session_data("map=harbor");
    if standalone {
        request = request.flex_match_mode(FlexMatchMode::Standalone);
    } else {
        let queue = client
            .create_game_session_queue()
            .name(format!("queue-{name}"))
            .destinations(
                GameSessionQueueDestination::builder()
                    .destination_arn(common::FLEET)
                    .build(),
            )
            .send()
            .await
            .unwrap()
            .game_session_queue
            .unwrap()
            .game_session_queue_arn
            .unwrap();
        request = request
            .flex_match_mode(FlexMatchMode::WithQueue)
            .game_session_queue_arns(queue)
            .backfill_mode(BackfillMode::Manual);
    }
    request.send().await.expect("configuration created");
    name
}

fn player(id: &str, skill: f64) -> Player {
    Player::builder()
        .player_id(id)
        .player_attributes("skill", AttributeValue::builder().n(skill).build())
        .latency_in_ms("us-west-2", 30)
        .build()
}

async fn start(client: &Client, configuration: &str, id: &str, skill: f64) -> String {
    client
        .start_matchmaking()
        .configuration_name(configuration)
        .ticket_id(format!("ticket-{id}"))
        .players(player(id, skill))
        .send()
        .await
        .expect("StartMatchmaking")
        .matchmaking_ticket
        .unwrap()
        .ticket_id
        .unwrap()
}

async fn statuses(client: &Client, tickets: &[String]) -> Vec<Status> {
    let mut out = Vec::new();
    for chunk in tickets.chunks(10) {
        let described = client
            .describe_matchmaking()
            .set_ticket_ids(Some(chunk.to_vec()))
            .send()
            .await
            .unwrap();
        out.extend(
            described
                .ticket_list()
                .iter()
                .map(|t| t.status().unwrap().clone()),
        );
    }
    out
}

/// Polls until every ticket is in `wanted` (bounded: 20 s).
async fn wait_for(client: &Client, tickets: &[String], wanted: Status) {
    for _ in 0..200 {
        if statuses(client, tickets).await.iter().all(|s| *s == wanted) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "tickets never all became {wanted:?}: {:?}",
        statuses(client, tickets).await
    );
}

#[tokio::test]
async fn eight_players_accept_and_are_placed_on_one_game_session() {
    let local = common::start().await;
    let configuration = setup(&local, true, false).await;
    let mut tickets = Vec::new();
    for n in 0..8 {
        tickets.push(
            start(
                &local.client,
                &configuration,
                &format!("p{n}"),
                10.0 + n as f64,
            )
            .await,
        );
    }
    wait_for(&local.client, &tickets, Status::RequiresAcceptance).await;
    for (n, ticket) in tickets.iter().enumerate() {
        local
            .client
            .accept_match()
            .ticket_id(ticket)
            .player_ids(format!("p{n}"))
            .acceptance_type(AcceptanceType::Accept)
            .send()
            .await
            .unwrap();
    }
    wait_for(&local.client, &tickets, Status::Completed).await;
    let described = local
        .client
        .describe_matchmaking()
        .set_ticket_ids(Some(tickets.clone()))
        .send()
        .await
        .unwrap();
    let mut sessions = std::collections::BTreeSet::new();
    let mut teams = std::collections::BTreeMap::<String, usize>::new();
    for ticket in described.ticket_list() {
        let info = ticket
            .game_session_connection_info()
            .expect("connection info");
        sessions.insert(info.game_session_arn().unwrap().to_string());
        let matched = info.matched_player_sessions();
        assert_eq!(matched.len(), 1, "one per player of this ticket");
        assert!(
            matched[0]
                .player_session_id()
                .unwrap()
                .starts_with("psess-")
        );
        let team = ticket.players()[0].team().unwrap().to_string();
        *teams.entry(team).or_default() += 1;
    }
    assert_eq!(sessions.len(), 1, "one game session for the match");
    assert_eq!(
        teams.values().copied().collect::<Vec<_>>(),
        [4, 4],
        "{teams:?}"
    );
    let arn = sessions.into_iter().next().unwrap();
    let session = local
        .client
        .describe_game_sessions()
        .game_session_id(&arn)
        .send()
        .await
        .unwrap()
        .game_sessions()[0]
        .clone();
    assert_eq!(session.current_player_session_count(), Some(8));
    assert_eq!(session.maximum_player_session_count(), Some(8));
    assert_eq!(session.game_session_data(), Some("map=harbor"));
    assert_eq!(session.game_properties()[0].value(), Some("ctf"));
    let data: serde_json::Value =
        serde_json::from_str(session.matchmaker_data().expect("MatchmakerData")).unwrap();
    assert!(
        data["matchmakingConfigurationArn"]
            .as_str()
            .unwrap()
            .ends_with(&format!(":matchmakingconfiguration/{configuration}"))
    );
    assert_eq!(data["teams"].as_array().unwrap().len(), 2);
    assert_eq!(
        data["teams"][0]["players"][0]["attributes"]["skill"]["attributeType"],
        "DOUBLE"
    );
    assert_eq!(data["autoBackfillMode"], "MANUAL");

    // A backfill request from the backend lists every player with their team; the session is
    // full, so it searches until it is stopped.
    let mut backfill = local
        .client
        .start_match_backfill()
        .configuration_name(&configuration)
        .game_session_arn(&arn)
        .ticket_id("backfill-full");
    for ticket in described.ticket_list() {
        let player = &ticket.players()[0];
        backfill = backfill.players(
            Player::builder()
                .player_id(player.player_id().unwrap())
                .team(player.team().unwrap())
                .build(),
        );
    }
    let started = backfill.send().await.unwrap().matchmaking_ticket.unwrap();
    assert_eq!(started.status(), Some(&Status::Queued));
    assert_eq!(started.players().len(), 8);
    let backfill_ticket = vec!["backfill-full".to_string()];
    wait_for(&local.client, &backfill_ticket, Status::Searching).await;
    local
        .client
        .stop_matchmaking()
        .ticket_id("backfill-full")
        .send()
        .await
        .unwrap();
    wait_for(&local.client, &backfill_ticket, Status::Cancelled).await;
    let unknown_team = local
        .client
        .start_match_backfill()
        .configuration_name(&configuration)
        .game_session_arn(&arn)
        .players(Player::builder().player_id("p0").team("green").build())
        .send()
        .await
        .unwrap_err();
    assert!(
        common::message(&unknown_team).contains("'green' is not a team"),
        "{}",
        common::message(&unknown_team)
    );
}

#[tokio::test]
async fn a_rejection_cancels_that_ticket_and_sends_the_others_back_to_searching() {
    let local = common::start().await;
    let configuration = setup(&local, true, false).await;
    let mut tickets = Vec::new();
    for n in 0..8 {
        tickets.push(start(&local.client, &configuration, &format!("p{n}"), 10.0).await);
    }
    wait_for(&local.client, &tickets, Status::RequiresAcceptance).await;
    // Accepting for a player of another ticket is refused.
    let stranger = local
        .client
        .accept_match()
        .ticket_id(&tickets[0])
        .player_ids("p5")
        .acceptance_type(AcceptanceType::Accept)
        .send()
        .await
        .unwrap_err();
    assert_eq!(common::code(&stranger), "InvalidRequestException");
    for (n, ticket) in tickets.iter().enumerate().skip(1) {
        local
            .client
            .accept_match()
            .ticket_id(ticket)
            .player_ids(format!("p{n}"))
            .acceptance_type(AcceptanceType::Accept)
            .send()
            .await
            .unwrap();
    }
    local
        .client
        .accept_match()
        .ticket_id(&tickets[0])
        .player_ids("p0")
        .acceptance_type(AcceptanceType::Reject)
        .send()
        .await
        .unwrap();
    let now = statuses(&local.client, &tickets).await;
    assert_eq!(now[0], Status::Cancelled);
    assert!(now[1..].iter().all(|s| *s == Status::Searching), "{now:?}");
    // A ninth player completes a new proposal with the seven who accepted.
    let ninth = start(&local.client, &configuration, "p8", 10.0).await;
    let mut rest: Vec<String> = tickets[1..].to_vec();
    rest.push(ninth);
    wait_for(&local.client, &rest, Status::RequiresAcceptance).await;
    // AcceptMatch on a ticket that is not waiting for acceptance is refused.
    let late = local
        .client
        .accept_match()
        .ticket_id(&tickets[0])
        .player_ids("p0")
        .acceptance_type(AcceptanceType::Accept)
        .send()
        .await
        .unwrap_err();
    assert_eq!(common::code(&late), "InvalidRequestException");
    assert!(common::message(&late).contains("CANCELLED"));
    // Nobody answers: the acceptance times out and every ticket is cancelled.
    local.clock.advance(Duration::from_secs(31));
    wait_for(&local.client, &rest, Status::Cancelled).await;
}

#[tokio::test]
async fn standalone_matches_complete_with_teams_and_no_game_session() {
    let local = common::start().await;
    let configuration = setup(&local, false, true).await;
    let mut tickets = Vec::new();
    for n in 0..8 {
        tickets.push(start(&local.client, &configuration, &format!("s{n}"), 20.0).await);
    }
    wait_for(&local.client, &tickets, Status::Completed).await;
    let described = local
        .client
        .describe_matchmaking()
        .set_ticket_ids(Some(tickets))
        .send()
        .await
        .unwrap();
    for ticket in described.ticket_list() {
        assert!(ticket.game_session_connection_info().is_none());
        assert!(matches!(ticket.players()[0].team(), Some("red" | "blue")));
    }
    assert!(
        local
            .client
            .describe_game_sessions()
            .fleet_id(common::FLEET)
            .send()
            .await
            .unwrap()
            .game_sessions()
            .is_empty()
    );
}

#[tokio::test]
async fn the_ticket_life_and_its_errors() {
    let local = common::start().await;
    let client = &local.client;
    let configuration = setup(&local, false, false).await;

    // A player in a newer request: the older ticket is cancelled as a duplicate.
    let first = client
        .start_matchmaking()
        .configuration_name(&configuration)
        .players(player("dup", 10.0))
        .send()
        .await
        .unwrap()
        .matchmaking_ticket
        .unwrap();
    assert_eq!(first.status(), Some(&Status::Queued));
    let first = first.ticket_id.unwrap();
    let second = start(client, &configuration, "dup", 10.0).await;
    let described = client
        .describe_matchmaking()
        .ticket_ids(&first)
        .ticket_ids(&second)
        .ticket_ids("never-existed")
        .send()
        .await
        .unwrap();
    assert_eq!(described.ticket_list().len(), 2, "unknown ids are left out");
    assert_eq!(
        described.ticket_list()[0].status(),
        Some(&Status::Cancelled)
    );
    assert_eq!(
        described.ticket_list()[0].status_reason(),
        Some("Cancelled due to duplicate player")
    );

    // StopMatchmaking: searching -> CANCELLED; again -> refused; unknown -> NotFound.
    client
        .stop_matchmaking()
        .ticket_id(&second)
        .send()
        .await
        .unwrap();
    assert_eq!(
        statuses(client, std::slice::from_ref(&second)).await,
        [Status::Cancelled]
    );
    let again = client
        .stop_matchmaking()
        .ticket_id(&second)
        .send()
        .await
        .unwrap_err();
    assert_eq!(common::code(&again), "InvalidRequestException");
    let unknown = client
        .stop_matchmaking()
        .ticket_id("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(common::code(&unknown), "NotFoundException");

    // A ticket that can never match times out after RequestTimeoutSeconds.
    let lonely = start(client, &configuration, "lonely", 10.0).await;
    wait_for(client, std::slice::from_ref(&lonely), Status::Searching).await;
    local.clock.advance(Duration::from_secs(121));
    wait_for(client, std::slice::from_ref(&lonely), Status::TimedOut).await;
    let ticket = client
        .describe_matchmaking()
        .ticket_ids(&lonely)
        .send()
        .await
        .unwrap()
        .ticket_list()[0]
        .clone();
    assert_eq!(ticket.status_reason(), Some("TimedOut"));
    assert!(ticket.end_time().is_some());

    // Errors a client gets.
    let unknown_configuration = client
        .start_matchmaking()
        .configuration_name("nope")
        .players(player("x", 1.0))
        .send()
        .await
        .unwrap_err();
    assert_eq!(common::code(&unknown_configuration), "NotFoundException");
    let wrong_type = client
        .start_matchmaking()
        .configuration_name(&configuration)
        .players(
            Player::builder()
                .player_id("typed")
                .player_attributes("skill", AttributeValue::builder().s("high").build())
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(common::code(&wrong_type), "InvalidRequestException");
    assert!(
        common::message(&wrong_type).contains("skill must be a number"),
        "{}",
        common::message(&wrong_type)
    );
    let eleven = client
        .start_matchmaking()
        .configuration_name(&configuration)
        .set_players(Some(
            (0..11).map(|n| player(&format!("e{n}"), 1.0)).collect(),
        ))
        .send()
        .await
        .unwrap_err();
    assert_eq!(common::code(&eleven), "InvalidRequestException");
    let bad_rules = client
        .create_matchmaking_rule_set()
        .name("bad")
        .rule_set_body(r#"{"ruleLanguageVersion": "1.0", "teams": [{"name": "a", "minPlayers": 1, "maxPlayers": 2}], "rules": [{"name": "r", "type": "distance", "measurements": ["avg(teams[*].players.attributes[rank])"], "referenceValue": 1, "maxDistance": 1}]}"#)
        .send()
        .await
        .unwrap_err();
    assert_eq!(common::code(&bad_rules), "InvalidRequestException");
    assert!(
        common::message(&bad_rules)
            .contains("$.rules[0].measurements[0]: 'rank' is not a declared player attribute")
    );
    let valid = client
        .validate_matchmaking_rule_set()
        .rule_set_body(FOUR_V_FOUR)
        .send()
        .await
        .unwrap();
    assert_eq!(valid.valid(), Some(true));
    let in_use = client
        .delete_matchmaking_rule_set()
        .name("four-v-four")
        .send()
        .await
        .unwrap_err();
    assert!(common::message(&in_use).contains(&configuration));
    let long_expansion = client
        .create_matchmaking_configuration()
        .name("too-short")
        .rule_set_name("four-v-four")
        .request_timeout_seconds(5)
        .acceptance_required(false)
        .flex_match_mode(FlexMatchMode::Standalone)
        .send()
        .await
        .unwrap_err();
    assert!(common::message(&long_expansion).contains("after RequestTimeoutSeconds 5"));
    let standalone_auto = client
        .create_matchmaking_configuration()
        .name("auto")
        .rule_set_name("four-v-four")
        .request_timeout_seconds(60)
        .acceptance_required(false)
        .flex_match_mode(FlexMatchMode::Standalone)
        .backfill_mode(BackfillMode::Automatic)
        .send()
        .await
        .unwrap_err();
    assert_eq!(common::code(&standalone_auto), "InvalidRequestException");

    // Describe, update, delete.
    let listed = client
        .describe_matchmaking_configurations()
        .rule_set_name("four-v-four")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.configurations().len(), 1);
    let updated = client
        .update_matchmaking_configuration()
        .name(&configuration)
        .additional_player_count(2)
        .send()
        .await
        .unwrap();
    assert_eq!(
        updated.configuration().unwrap().additional_player_count(),
        Some(2)
    );
    let rule_sets = client
        .describe_matchmaking_rule_sets()
        .send()
        .await
        .unwrap();
    assert_eq!(
        rule_sets.rule_sets()[0].rule_set_name(),
        Some("four-v-four")
    );
    client
        .delete_matchmaking_configuration()
        .name(&configuration)
        .send()
        .await
        .unwrap();
    client
        .delete_matchmaking_rule_set()
        .name("four-v-four")
        .send()
        .await
        .unwrap();
}
