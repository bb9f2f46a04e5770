//! The wire protocols byte by byte: headers, error shapes, malformed and hostile bodies.

mod common;

use bytes::Bytes;
use gamelift_local::wire::{self, Value};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

type HttpClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

struct Reply {
    status: u16,
    headers: hyper::HeaderMap,
    body: Vec<u8>,
}

fn http() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

async fn send(client: &HttpClient, request: hyper::Request<Full<Bytes>>) -> Reply {
    let response =
        tokio::time::timeout(std::time::Duration::from_secs(10), client.request(request))
            .await
            .expect("answered within 10 s")
            .expect("a response");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

async fn json(client: &HttpClient, endpoint: &str, target: &str, body: impl Into<Bytes>) -> Reply {
    let request = hyper::Request::post(format!("{endpoint}/"))
        .header("x-amz-target", target)
        .header("content-type", "application/x-amz-json-1.1")
        .body(Full::new(body.into()))
        .unwrap();
    send(client, request).await
}

async fn cbor(
    client: &HttpClient,
    endpoint: &str,
    operation: &str,
    body: impl Into<Bytes>,
) -> Reply {
    let request =
        hyper::Request::post(format!("{endpoint}/service/GameLift/operation/{operation}"))
            .header("content-type", "application/cbor")
            .header("smithy-protocol", "rpc-v2-cbor")
            .body(Full::new(body.into()))
            .unwrap();
    send(client, request).await
}

fn json_error(reply: &Reply) -> (String, String) {
    let value = wire::decode_json(&reply.body).expect("a JSON error body");
    let text = |key: &str| match value.get(key) {
        Some(Value::Str(text)) => text.clone(),
        other => panic!("no {key}: {other:?}"),
    };
    (text("__type"), text("message"))
}

fn cbor_error(reply: &Reply) -> (String, String) {
    let value = wire::decode_cbor(&reply.body).expect("a CBOR error body");
    let text = |key: &str| match value.get(key) {
        Some(Value::Str(text)) => text.clone(),
        other => panic!("no {key}: {other:?}"),
    };
    (text("__type"), text("message"))
}

#[tokio::test]
async fn json_success_and_error_shapes() {
    let local = common::start().await;
    let endpoint = local.server.endpoint();
    let client = http();
    let ok = json(&client, &endpoint, "GameLift.ListFleets", "{}").await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.headers["content-type"], "application/x-amz-json-1.1");
    assert!(ok.headers.contains_key("x-amzn-requestid"));
    assert_eq!(
        String::from_utf8(ok.body).unwrap(),
        r#"{"FleetIds":["fleet-local"]}"#
    );

    let empty_output = json(
        &client,
        &endpoint,
        "GameLift.DeregisterCompute",
        r#"{"FleetId":"fleet-local","ComputeName":"nope"}"#,
    )
    .await;
    assert_eq!(empty_output.status, 400);
    assert_eq!(json_error(&empty_output).0, "NotFoundException");

    let unknown = json(&client, &endpoint, "GameLift.CreateBuild", "{}").await;
    assert_eq!(unknown.status, 400);
    let (kind, text) = json_error(&unknown);
    assert_eq!(kind, "UnknownOperationException");
    assert!(text.contains("CreateBuild"));

    let not_gamelift = json(&client, &endpoint, "DynamoDB_20120810.ListTables", "{}").await;
    assert_eq!(json_error(&not_gamelift).0, "UnknownOperationException");

    // Unknown members are ignored: newer SDKs add optional fields.
    let newer = json(
        &client,
        &endpoint,
        "GameLift.ListFleets",
        r#"{"SomeFutureMember":{"nested":[1,2,3]},"Limit":5}"#,
    )
    .await;
    assert_eq!(newer.status, 200);

    // A missing target on POST / is not a GameLift request.
    let request = hyper::Request::post(format!("{endpoint}/"))
        .body(Full::new(Bytes::from_static(b"{}")))
        .unwrap();
    let untargeted = send(&client, request).await;
    assert_eq!(untargeted.status, 400);
    assert!(json_error(&untargeted).1.contains("X-Amz-Target"));
}

#[tokio::test]
async fn cbor_success_empty_output_and_error_shapes() {
    let local = common::start().await;
    let endpoint = local.server.endpoint();
    let client = http();
    let ok = cbor(&client, &endpoint, "ListFleets", vec![0xA0]).await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.headers["content-type"], "application/cbor");
    assert_eq!(ok.headers["smithy-protocol"], "rpc-v2-cbor");
    assert!(ok.headers.contains_key("x-amzn-requestid"));
    assert_eq!(
        wire::decode_cbor(&ok.body).unwrap(),
        Value::map().with("FleetIds", vec![Value::from("fleet-local")])
    );

    // DeleteFleet's output is empty: an empty map, not an empty body.
    local
        .client
        .create_location()
        .location_name("custom-tmp")
        .send()
        .await
        .unwrap();
    let fleet = local
        .client
        .create_fleet()
        .name("tmp")
        .compute_type(aws_sdk_gamelift::types::ComputeType::Anywhere)
        .locations(
            aws_sdk_gamelift::types::LocationConfiguration::builder()
                .location("custom-tmp")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let fleet_id = fleet.fleet_attributes().unwrap().fleet_id().unwrap();
    let deleted = cbor(
        &client,
        &endpoint,
        "DeleteFleet",
        wire::encode_cbor(&Value::map().with("FleetId", fleet_id)),
    )
    .await;
    assert_eq!(deleted.status, 200);
    assert_eq!(deleted.body, vec![0xA0]);

    // Timestamps are tag 1.
    let created = cbor(
        &client,
        &endpoint,
        "CreateGameSession",
        wire::encode_cbor(
            &Value::map()
                .with("FleetId", "fleet-local")
                .with("Location", "custom-local")
                .with("MaximumPlayerSessionCount", 2i64),
        ),
    )
    .await;
    assert_eq!(created.status, 200);
    let session = wire::decode_cbor(&created.body).unwrap();
    assert!(matches!(
        session
            .get("GameSession")
            .and_then(|s| s.get("CreationTime")),
        Some(Value::Timestamp(_))
    ));

    let unknown = cbor(&client, &endpoint, "CreateBuild", vec![0xA0]).await;
    assert_eq!(unknown.status, 400);
    let (kind, text) = cbor_error(&unknown);
    assert_eq!(kind, "UnknownOperationException");
    assert!(text.contains("CreateBuild"));
}

#[tokio::test]
async fn malformed_bodies_are_answered_400_with_a_clear_message() {
    let local = common::start().await;
    let endpoint = local.server.endpoint();
    let client = http();
    let cases: Vec<(&str, Reply, &str)> = vec![
        (
            "bad JSON",
            json(&client, &endpoint, "GameLift.ListFleets", "{\"Limit\": ").await,
            "not valid JSON",
        ),
        (
            "JSON array",
            json(&client, &endpoint, "GameLift.ListFleets", "[1,2]").await,
            "must be a JSON object",
        ),
        (
            "JSON wrong type",
            json(
                &client,
                &endpoint,
                "GameLift.DescribeGameSessions",
                r#"{"FleetId": 7}"#,
            )
            .await,
            "member `fleetId` must be a string, not an integer",
        ),
        (
            "JSON wrong nested type",
            json(
                &client,
                &endpoint,
                "GameLift.CreateGameSession",
                r#"{"FleetId":"fleet-local","MaximumPlayerSessionCount":2,"GameProperties":[{"Key":1,"Value":"v"}]}"#,
            )
            .await,
            "gameProperties.1.member.key",
        ),
    ];
    for (name, reply, expected) in cases {
        assert_eq!(reply.status, 400, "{name}");
        let (kind, text) = json_error(&reply);
        assert_eq!(kind, "SerializationException", "{name}");
        assert!(text.contains(expected), "{name}: {text}");
    }

    let cbor_cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "truncated CBOR",
            vec![0xBF, 0x67, b'F', b'l'],
            "runs past the end of the body",
        ),
        ("CBOR not a map", vec![0x83, 1, 2, 3], "must be a CBOR map"),
        (
            "CBOR trailing bytes",
            vec![0xA0, 0xA0],
            "after the top-level",
        ),
        (
            "CBOR lying length",
            vec![0xBB, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
            "longer than the body",
        ),
        (
            "CBOR integer key",
            vec![0xA1, 0x01, 0x02],
            "map key must be a text string",
        ),
        (
            "CBOR invalid UTF-8",
            vec![0xA1, 0x61, 0xFF, 0x01],
            "not UTF-8",
        ),
        (
            "CBOR wrong type",
            wire::encode_cbor(&Value::map().with("FleetId", true)),
            "must be a string, not a boolean",
        ),
    ];
    for (name, body, expected) in cbor_cases {
        let reply = cbor(&client, &endpoint, "DescribeGameSessions", body).await;
        assert_eq!(reply.status, 400, "{name}");
        let (kind, text) = cbor_error(&reply);
        assert_eq!(kind, "SerializationException", "{name}");
        assert!(text.contains(expected), "{name}: {text}");
    }

    // Deep nesting and oversized bodies.
    let mut deep = vec![0xA1, 0x61, b'k'];
    deep.extend(std::iter::repeat_n(0x81u8, 10_000));
    deep.push(0xA0);
    let reply = cbor(&client, &endpoint, "ListFleets", deep).await;
    assert_eq!(reply.status, 400);
    assert!(cbor_error(&reply).1.contains("nesting"));
    let big = format!(r#"{{"Name":"{}"}}"#, "x".repeat(3 * 1024 * 1024));
    let reply = json(&client, &endpoint, "GameLift.ListAliases", big).await;
    assert_eq!(reply.status, 413);
    assert_eq!(json_error(&reply).0, "RequestEntityTooLargeException");
    assert!(json_error(&reply).1.contains("larger than"));

    // The service still works afterwards.
    let ok = json(&client, &endpoint, "GameLift.ListFleets", "{}").await;
    assert_eq!(ok.status, 200);
}
