"""Every supported operation through boto3 (awsJson1.1) against a running gamelift-local.

Usage: python3 boto3_suite.py http://127.0.0.1:PORT
The service must run with --auto-activate and the default fleet (fleet-local, custom-local).
"""

import sys
import traceback

import boto3
import botocore.config

ENDPOINT = sys.argv[1]
FLEET = "fleet-local"
LOCATION = "custom-local"

client = boto3.client(
    "gamelift",
    endpoint_url=ENDPOINT,
    region_name="us-west-2",
    aws_access_key_id="AKIDLOCAL",
    aws_secret_access_key="secret",
    config=botocore.config.Config(retries={"max_attempts": 1}),
)

results = {"passed": 0, "failed": 0}


def case(function):
    try:
        function()
        results["passed"] += 1
        print(f"ok    {function.__name__}")
    except Exception:  # noqa: BLE001 - report every failure and go on
        results["failed"] += 1
        print(f"FAIL  {function.__name__}")
        traceback.print_exc()
    return function


def expect_error(code, call, **kwargs):
    try:
        call(**kwargs)
    except client.exceptions.ClientError as error:
        got = error.response["Error"]["Code"]
        assert got == code, f"expected {code}, got {got}: {error}"
        return error.response["Error"]["Message"]
    raise AssertionError(f"expected {code}, the call succeeded")


def new_session(maximum=4, **extra):
    return client.create_game_session(
        FleetId=FLEET, Location=LOCATION, MaximumPlayerSessionCount=maximum, **extra
    )["GameSession"]


@case
def game_sessions():
    session = new_session(Name="arena", GameProperties=[{"Key": "mode", "Value": "ctf"}])
    arn = session["GameSessionId"]
    assert arn.startswith("arn:aws:gamelift:us-west-2::gamesession/fleet-local/")
    assert session["Status"] == "ACTIVE"
    assert session["CreationTime"].year >= 2024  # a datetime decoded from epoch seconds
    described = client.describe_game_sessions(GameSessionId=arn)["GameSessions"]
    assert described[0]["Name"] == "arena"
    details = client.describe_game_session_details(FleetId=FLEET)["GameSessionDetails"]
    assert details[0]["ProtectionPolicy"] == "NoProtection"
    updated = client.update_game_session(GameSessionId=arn, Name="renamed", MaximumPlayerSessionCount=6)
    assert updated["GameSession"]["MaximumPlayerSessionCount"] == 6
    found = client.search_game_sessions(
        FleetId=FLEET, FilterExpression="gameSessionName = 'renamed' AND hasAvailablePlayerSessions = true"
    )["GameSessions"]
    assert [s["GameSessionId"] for s in found] == [arn]
    ended = client.terminate_game_session(GameSessionId=arn, TerminationMode="FORCE_TERMINATE")
    assert ended["GameSession"]["Status"] == "TERMINATED"
    assert ended["GameSession"]["StatusReason"] == "FORCE_TERMINATED"
    expect_error(
        "InvalidGameSessionStatusException",
        client.terminate_game_session,
        GameSessionId=arn,
        TerminationMode="FORCE_TERMINATE",
    )


@case
def game_session_errors():
    message = expect_error("InvalidRequestException", client.create_game_session, FleetId="bad id", MaximumPlayerSessionCount=1)
    assert "failed to satisfy constraint" in message
    expect_error("NotFoundException", client.create_game_session, FleetId="fleet-none", Location=LOCATION, MaximumPlayerSessionCount=1)
    expect_error("NotFoundException", client.describe_game_sessions, FleetId="fleet-none")
    expect_error("InvalidRequestException", client.search_game_sessions, FleetId=FLEET, FilterExpression="playerSessionCount = 'x'")
    first = new_session(IdempotencyToken="boto-token")
    again = new_session(IdempotencyToken="boto-token")
    assert first["GameSessionId"] == again["GameSessionId"]
    expect_error("IdempotentParameterMismatchException", new_session, maximum=9, IdempotencyToken="boto-token")


@case
def player_sessions():
    arn = new_session(maximum=2)["GameSessionId"]
    one = client.create_player_session(GameSessionId=arn, PlayerId="ada", PlayerData="red")["PlayerSession"]
    assert one["PlayerSessionId"].startswith("psess-") and one["Status"] == "RESERVED"
    expect_error("GameSessionFullException", client.create_player_sessions, GameSessionId=arn, PlayerIds=["b", "c"])
    batch = client.create_player_sessions(GameSessionId=arn, PlayerIds=["b"], PlayerDataMap={"b": "blue"})
    assert batch["PlayerSessions"][0]["PlayerData"] == "blue"
    expect_error("GameSessionFullException", client.create_player_session, GameSessionId=arn, PlayerId="late")
    listed = client.describe_player_sessions(GameSessionId=arn)["PlayerSessions"]
    assert len(listed) == 2
    by_id = client.describe_player_sessions(PlayerSessionId=one["PlayerSessionId"])["PlayerSessions"]
    assert by_id[0]["PlayerId"] == "ada"
    expect_error("NotFoundException", client.describe_player_sessions, PlayerSessionId="psess-none")
    # botocore checks minimum lengths itself; maximum lengths are the service's to check.
    message = expect_error("InvalidRequestException", client.create_player_session, GameSessionId=arn, PlayerId="x", PlayerData="d" * 2049)
    assert "'playerData' failed to satisfy constraint: Member must have length less than or equal to 2048" in message, message
    assert "ddd" not in message, "sensitive values are not echoed"


@case
def fleets_locations_computes():
    client.create_location(LocationName="custom-boto")
    expect_error("ConflictException", client.create_location, LocationName="custom-boto")
    names = [l["LocationName"] for l in client.list_locations(Filters=["CUSTOM"])["Locations"]]
    assert "custom-boto" in names
    fleet = client.create_fleet(Name="boto", ComputeType="ANYWHERE", Locations=[{"Location": "custom-boto"}])
    fleet_id = fleet["FleetAttributes"]["FleetId"]
    assert fleet["FleetAttributes"]["Status"] == "ACTIVE"
    assert fleet_id in client.list_fleets()["FleetIds"]
    assert client.describe_fleet_attributes(FleetIds=[fleet_id])["FleetAttributes"][0]["Name"] == "boto"
    compute = client.register_compute(FleetId=fleet_id, ComputeName="boto-host", IpAddress="10.0.0.9", Location="custom-boto")["Compute"]
    assert compute["GameLiftServiceSdkEndpoint"].startswith("ws://")
    assert client.describe_compute(FleetId=fleet_id, ComputeName="boto-host")["Compute"]["IpAddress"] == "10.0.0.9"
    assert len(client.list_compute(FleetId=fleet_id)["ComputeList"]) == 1
    token = client.get_compute_auth_token(FleetId=fleet_id, ComputeName="boto-host")
    assert token["AuthToken"] and token["ExpirationTimestamp"].year >= 2024
    assert client.deregister_compute(FleetId=fleet_id, ComputeName="boto-host") is not None
    expect_error("NotFoundException", client.describe_compute, FleetId=fleet_id, ComputeName="boto-host")
    client.delete_fleet(FleetId=fleet_id)
    expect_error("NotFoundException", client.delete_fleet, FleetId=fleet_id)
    expect_error("InvalidRequestException", client.create_fleet, Name="ec2", ComputeType="EC2")


@case
def aliases():
    simple = client.create_alias(Name="boto-live", RoutingStrategy={"Type": "SIMPLE", "FleetId": FLEET})["Alias"]
    assert client.resolve_alias(AliasId=simple["AliasId"])["FleetId"] == FLEET
    assert client.describe_alias(AliasId=simple["AliasArn"])["Alias"]["Name"] == "boto-live"
    terminal = client.create_alias(Name="boto-down", RoutingStrategy={"Type": "TERMINAL", "Message": "closed"})["Alias"]
    message = expect_error("TerminalRoutingStrategyException", client.resolve_alias, AliasId=terminal["AliasId"])
    assert message == "closed"
    names = [a["Name"] for a in client.list_aliases(RoutingStrategyType="SIMPLE")["Aliases"]]
    assert "boto-live" in names and "boto-down" not in names
    expect_error("NotFoundException", client.describe_alias, AliasId="alias-none")


@case
def queues_and_placements():
    client.create_game_session_queue(Name="boto-queue", Destinations=[{"DestinationArn": FLEET}])
    assert client.describe_game_session_queues(Names=["boto-queue"])["GameSessionQueues"][0]["TimeoutInSeconds"] == 600
    started = client.start_game_session_placement(
        PlacementId="boto-placement",
        GameSessionQueueName="boto-queue",
        MaximumPlayerSessionCount=4,
        DesiredPlayerSessions=[{"PlayerId": "ada"}],
    )["GameSessionPlacement"]
    assert started["Status"] == "PENDING"
    placed = client.describe_game_session_placement(PlacementId="boto-placement")["GameSessionPlacement"]
    assert placed["Status"] == "FULFILLED"
    assert placed["PlacedPlayerSessions"][0]["PlayerId"] == "ada"
    expect_error("InvalidRequestException", client.stop_game_session_placement, PlacementId="boto-placement")
    expect_error("NotFoundException", client.describe_game_session_placement, PlacementId="boto-none")


@case
def runtime_configuration():
    described = client.describe_runtime_configuration(FleetId=FLEET)["RuntimeConfiguration"]
    assert described["ServerProcesses"] == []
    # This service was started without --launch: no runtime configuration may run a program.
    message = expect_error(
        "InvalidRequestException",
        client.update_runtime_configuration,
        FleetId=FLEET,
        RuntimeConfiguration={"ServerProcesses": [{"LaunchPath": "/bin/sh", "ConcurrentExecutions": 1}]},
    )
    assert "--launch" in message, message
    message = expect_error(
        "InvalidRequestException",
        client.update_runtime_configuration,
        FleetId=FLEET,
        RuntimeConfiguration={"ServerProcesses": [{"LaunchPath": "/bin/sh", "ConcurrentExecutions": 60}]},
    )
    assert "at most 50" in message, message
    expect_error("NotFoundException", client.describe_runtime_configuration, FleetId="fleet-none")


@case
def paginators_walk_every_page():
    for _ in range(5):
        new_session(maximum=1)
    paginator = client.get_paginator("describe_game_sessions")
    pages = list(paginator.paginate(FleetId=FLEET, PaginationConfig={"PageSize": 2}))
    assert len(pages) >= 3
    ids = [s["GameSessionId"] for page in pages for s in page["GameSessions"]]
    assert len(ids) == len(set(ids))


RULE_SET = """{
    "ruleLanguageVersion": "1.0",
    "playerAttributes": [{"name": "skill", "type": "number", "default": 10},
                         {"name": "maps", "type": "string_list", "default": ["harbor"]}],
    "teams": [{"name": "duelist", "minPlayers": 1, "maxPlayers": 1, "quantity": 2}],
    "rules": [{"name": "close", "type": "distance",
               "measurements": ["flatten(teams[*].players.attributes[skill])"],
               "referenceValue": "avg(flatten(teams[*].players.attributes[skill]))", "maxDistance": 20},
              {"name": "sharedMap", "type": "collection", "operation": "intersection",
               "measurements": ["flatten(teams[*].players.attributes[maps])"], "minCount": 1}]
}"""


@case
def matchmaking():
    import time

    assert client.validate_matchmaking_rule_set(RuleSetBody=RULE_SET)["Valid"] is True
    message = expect_error(
        "InvalidRequestException",
        client.validate_matchmaking_rule_set,
        RuleSetBody='{"ruleLanguageVersion": "1.0", "teams": [{"name": "a", "minPlayers": 1}]}',
    )
    assert "$.teams[0].maxPlayers: is required" in message, message
    client.create_matchmaking_rule_set(Name="boto-duel", RuleSetBody=RULE_SET)
    client.create_game_session_queue(Name="boto-matches", Destinations=[{"DestinationArn": FLEET}])
    queue = client.describe_game_session_queues(Names=["boto-matches"])["GameSessionQueues"][0]
    configuration = client.create_matchmaking_configuration(
        Name="boto-duel",
        RuleSetName="boto-duel",
        GameSessionQueueArns=[queue["GameSessionQueueArn"]],
        RequestTimeoutSeconds=60,
        AcceptanceRequired=False,
        FlexMatchMode="WITH_QUEUE",
    )["Configuration"]
    assert configuration["ConfigurationArn"].endswith(":matchmakingconfiguration/boto-duel")
    assert configuration["FlexMatchMode"] == "WITH_QUEUE"
    players = [
        {"PlayerId": "ann", "PlayerAttributes": {"skill": {"N": 30}, "maps": {"SL": ["harbor", "dunes"]}}},
        {"PlayerId": "ben", "PlayerAttributes": {"skill": {"N": 90}}},
        {"PlayerId": "cal", "PlayerAttributes": {"skill": {"N": 35}, "maps": {"SL": ["dunes"]}}},
    ]
    tickets = []
    for player in players:
        ticket = client.start_matchmaking(ConfigurationName="boto-duel", Players=[player])["MatchmakingTicket"]
        assert ticket["Status"] == "QUEUED"
        tickets.append(ticket["TicketId"])
    for _ in range(100):
        described = client.describe_matchmaking(TicketIds=tickets)["TicketList"]
        status = {t["Players"][0]["PlayerId"]: t["Status"] for t in described}
        if status["ann"] == "COMPLETED" and status["cal"] == "COMPLETED":
            break
        time.sleep(0.1)
    assert status == {"ann": "COMPLETED", "ben": "SEARCHING", "cal": "COMPLETED"}, status
    ann = next(t for t in described if t["Players"][0]["PlayerId"] == "ann")
    info = ann["GameSessionConnectionInfo"]
    assert info["MatchedPlayerSessions"][0]["PlayerSessionId"].startswith("psess-")
    assert ann["Players"][0]["Team"] in ("duelist_1", "duelist_2")
    session = client.describe_game_sessions(GameSessionId=info["GameSessionArn"])["GameSessions"][0]
    assert '"matchId"' in session["MatchmakerData"]
    client.stop_matchmaking(TicketId=tickets[1])
    assert client.describe_matchmaking(TicketIds=[tickets[1]])["TicketList"][0]["Status"] == "CANCELLED"
    expect_error("NotFoundException", client.stop_matchmaking, TicketId="boto-none")
    expect_error("InvalidRequestException", client.accept_match, TicketId=tickets[0], PlayerIds=["ann"], AcceptanceType="ACCEPT")
    message = expect_error(
        "InvalidRequestException",
        client.start_match_backfill,
        ConfigurationName="boto-duel",
        GameSessionArn=info["GameSessionArn"],
        Players=[{"PlayerId": "ann"}],
    )
    assert "Team is required" in message, message
    backfill = client.start_match_backfill(
        ConfigurationName="boto-duel",
        GameSessionArn=info["GameSessionArn"],
        Players=[{"PlayerId": "ann", "Team": ann["Players"][0]["Team"]}],
    )["MatchmakingTicket"]
    assert backfill["Status"] == "QUEUED"
    client.stop_matchmaking(TicketId=backfill["TicketId"])
    assert [c["Name"] for c in client.describe_matchmaking_configurations()["Configurations"]] == ["boto-duel"]
    assert client.describe_matchmaking_rule_sets(Names=["boto-duel"])["RuleSets"][0]["RuleSetName"] == "boto-duel"
    client.update_matchmaking_configuration(Name="boto-duel", AcceptanceRequired=True, AcceptanceTimeoutSeconds=10)
    client.delete_matchmaking_configuration(Name="boto-duel")
    client.delete_matchmaking_rule_set(Name="boto-duel")
    expect_error("NotFoundException", client.delete_matchmaking_rule_set, Name="boto-duel")


@case
def unsupported_operations_are_named():
    try:
        client.create_build(Name="b")
    except client.exceptions.ClientError as error:
        assert error.response["Error"]["Code"] == "UnknownOperationException"
        assert "CreateBuild" in error.response["Error"]["Message"]
    else:
        raise AssertionError("CreateBuild should be refused")


print(f"{results['passed']} passed, {results['failed']} failed")
sys.exit(1 if results["failed"] else 0)
