//! The frames the official SDKs send and expect, read and written through the typed messages.

use sdk5_protocol::*;
use serde_json::{Value, json};

fn parse(value: Value) -> Frame {
    Frame::parse(&value.to_string()).expect("a frame")
}

#[test]
fn null_absent_and_empty_read_the_same() {
    // Go sends `"LogPaths": null` and `"TicketId": ""`; C# sends null strings; C++ omits them.
    for frame in [
        json!({"Action": "ActivateServerProcess", "RequestId": "r", "SdkVersion": "5.1.0",
               "SdkLanguage": "Go", "Port": 7777, "LogPaths": null, "SdkToolName": ""}),
        json!({"Action": "ActivateServerProcess", "RequestId": "r", "SdkVersion": "5.1.0",
               "SdkLanguage": "Go", "Port": 7777, "SdkToolName": null}),
        json!({"Action": "ActivateServerProcess", "RequestId": "r", "SdkVersion": "5.1.0",
               "SdkLanguage": "Go", "Port": 7777.0, "Unknown": {"x": 1}}),
    ] {
        let body: ActivateServerProcess = parse(frame).body().unwrap();
        assert_eq!(body.port, 7777);
        assert!(body.log_paths.is_empty());
        assert_eq!(body.sdk_tool_name, None);
    }
    let frame = parse(json!({"Action": null, "RequestId": "r", "StatusCode": 400,
                             "ErrorMessage": "Invalid request: Connect"}));
    assert_eq!(frame.envelope.action, "");
    assert!(frame.envelope.is_error());
    let push = parse(json!({"Action": "CreateGameSession", "RequestId": null}));
    assert_eq!(push.envelope.request_id, None);
    assert!(!push.envelope.is_error());
}

#[test]
fn a_member_of_the_wrong_type_is_an_error_that_names_it() {
    let cases = [
        (json!({"Port": "7777"}), "Port", "ActivateServerProcess"),
        (json!({"Port": 70000}), "Port", "ActivateServerProcess"),
        (json!({"Port": 1.5}), "Port", "ActivateServerProcess"),
        (
            json!({"LogPaths": [1]}),
            "LogPaths[0]",
            "ActivateServerProcess",
        ),
        (
            json!({"HealthStatus": "true"}),
            "HealthStatus",
            "HeartbeatServerProcess",
        ),
        (
            json!({"PlayerSessionPolicy": "MAYBE"}),
            "PlayerSessionPolicy",
            "UpdatePlayerSessionCreationPolicy",
        ),
        (
            json!({"Players": [{"LatencyInMs": {"us-west-2": "fast"}}]}),
            "Players[0].LatencyInMs.us-west-2",
            "StartMatchBackfill",
        ),
        (
            json!({"Players": [{"PlayerAttributes": {"skill": {"AttrType": "DOUBLE", "N": "high"}}}]}),
            "Players[0].PlayerAttributes.skill",
            "StartMatchBackfill",
        ),
    ];
    for (members, field, action) in cases {
        let frame = parse(members.clone());
        let error = match action {
            "ActivateServerProcess" => frame.body::<ActivateServerProcess>().map(drop),
            "HeartbeatServerProcess" => frame.body::<HeartbeatServerProcess>().map(drop),
            "UpdatePlayerSessionCreationPolicy" => {
                frame.body::<UpdatePlayerSessionCreationPolicy>().map(drop)
            }
            _ => frame.body::<StartMatchBackfill>().map(drop),
        }
        .expect_err(&members.to_string());
        match &error {
            ProtocolError::Field { field: named, .. } => assert_eq!(named, field, "{error}"),
            other => panic!("{other:?}"),
        }
        assert!(error.to_string().contains(field), "{error}");
    }
    assert!(matches!(
        Frame::parse("[1]"),
        Err(ProtocolError::NotAnObject("an array"))
    ));
    assert!(matches!(Frame::parse("{"), Err(ProtocolError::NotJson(_))));
    assert!(matches!(
        Frame::parse(r#"{"StatusCode":"200"}"#),
        Err(ProtocolError::Field { field, .. }) if field == "StatusCode"
    ));
}

#[test]
fn pushes_have_the_shape_the_official_sdks_read() {
    let create = CreateGameSession {
        game_session_id: "arn:aws:gamelift:us-west-2::gamesession/fleet-1/gs-1".into(),
        game_session_name: "duel".into(),
        maximum_player_session_count: 8,
        port: 7777,
        ip_address: "127.0.0.1".into(),
        game_properties: [("mode".to_string(), "ctf".to_string())].into(),
        ..Default::default()
    };
    let text = encode(&Envelope::push(CreateGameSession::ACTION), &create);
    let value: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["Action"], "CreateGameSession");
    assert_eq!(value["GameSessionName"], "duel");
    assert_eq!(value["GameProperties"], json!({"mode": "ctf"}));
    assert!(
        value.get("RequestId").is_none(),
        "a push carries no RequestId"
    );
    let back: CreateGameSession = Frame::parse(&text).unwrap().body().unwrap();
    assert_eq!(back, create);
    let session = back.into_game_session("fleet-1");
    assert_eq!(
        (session.name.as_str(), session.fleet_id.as_str()),
        ("duel", "fleet-1")
    );

    // UpdateGameSession nests the session with `Name`; list-form properties and unknown reasons
    // are read as the SDKs read them.
    let update: UpdateGameSession = parse(json!({
        "Action": "UpdateGameSession",
        "UpdateReason": "SOMETHING_NEW",
        "GameSession": {"Name": "renamed", "GameProperties": [{"Key": "k", "Value": "v"}],
                        "Status": "ACTIVE"}
    }))
    .body()
    .unwrap();
    assert_eq!(update.update_reason, UpdateReason::Unknown);
    assert_eq!(update.game_session.game_properties["k"], "v");
    assert_eq!(update.game_session.status, Some(GameSessionStatus::Active));
}

#[test]
fn responses_echo_the_request_and_attributes_carry_their_type() {
    let request = Envelope::request(StartMatchBackfill::ACTION, "r-9");
    let ok = Envelope::success(&request);
    assert_eq!(
        (ok.action.as_str(), ok.request_id.as_deref(), ok.status_code),
        ("StartMatchBackfill", Some("r-9"), Some(200))
    );
    let failed = Envelope::error(&request, 404, "no such game session");
    assert!(failed.is_error());
    let text = encode(&failed, &Empty {});
    assert_eq!(Frame::parse(&text).unwrap().envelope, failed);

    let player = Player {
        player_id: "p1".into(),
        player_attributes: [("skill".to_string(), AttributeValue::Double { n: 23.0 })].into(),
        latency_in_ms: [("us-west-2".to_string(), 40)].into(),
        ..Default::default()
    };
    let value = serde_json::to_value(&player).unwrap();
    assert_eq!(
        value["PlayerAttributes"]["skill"],
        json!({"AttrType": "DOUBLE", "N": 23.0})
    );
    assert!(value.get("Team").is_none());
    assert_eq!(serde_json::from_value::<Player>(value).unwrap(), player);
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_text_parses_or_gives_a_typed_error(text in ".{0,200}") {
            if let Ok(frame) = Frame::parse(&text) {
                let _ = frame.body::<DescribePlayerSessions>();
                let _ = frame.body::<StartMatchBackfill>();
                let _ = frame.body::<UpdateGameSession>();
            }
        }

        #[test]
        fn player_sessions_round_trip(
            id in "[a-z0-9-]{1,20}",
            port in any::<u16>(),
            created in any::<i64>(),
            status in prop::sample::select(PlayerSessionStatus::ALL),
        ) {
            let session = PlayerSession {
                player_id: id.clone(),
                player_session_id: format!("psess-{id}"),
                port,
                creation_time: created,
                status: Some(status),
                ..Default::default()
            };
            let response = DescribePlayerSessionsResponse {
                next_token: None,
                player_sessions: vec![session],
            };
            let text = encode(&Envelope::request(DescribePlayerSessions::ACTION, "r"), &response);
            let back: DescribePlayerSessionsResponse = Frame::parse(&text).unwrap().body().unwrap();
            prop_assert_eq!(back, response);
        }
    }
}
