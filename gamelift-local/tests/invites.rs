//! The local-only invite extension (`X-Amz-Target: GameLiftLocal.<Operation>`), on the wire.

mod common;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn call(address: std::net::SocketAddr, target: &str, body: Value) -> (u16, Value) {
    let body = body.to_string();
    let request = format!(
        "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: {target}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head[9..12].parse().unwrap();
    (status, serde_json::from_str(body).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invites_are_sent_listed_and_deleted_and_bad_input_is_named() {
    let local = common::start().await;
    let address = local.server.local_addr();
    let session = local.session(4).await;
    let arn = session.game_session_id().unwrap();

    let (status, sent) = call(
        address,
        "GameLiftLocal.SendSessionInvite",
        json!({"GameSessionId": arn, "From": "ada", "To": "bob"}),
    )
    .await;
    assert_eq!(status, 200, "{sent}");
    let id = sent["InviteId"].as_str().unwrap().to_string();

    let (_, listed) = call(
        address,
        "GameLiftLocal.ListSessionInvites",
        json!({"PlayerId": "bob"}),
    )
    .await;
    assert_eq!(listed["Invites"][0]["InviteId"], id.as_str());
    assert_eq!(listed["Invites"][0]["From"], "ada");
    assert_eq!(listed["Invites"][0]["GameSessionId"], arn);
    let (_, none) = call(
        address,
        "GameLiftLocal.ListSessionInvites",
        json!({"PlayerId": "carol"}),
    )
    .await;
    assert_eq!(none["Invites"], json!([]));

    // Only the invited player removes it, once.
    let (status, error) = call(
        address,
        "GameLiftLocal.DeleteSessionInvite",
        json!({"PlayerId": "carol", "InviteId": id}),
    )
    .await;
    assert_eq!(
        (status, error["__type"].as_str()),
        (400, Some("NotFoundException"))
    );
    let (status, deleted) = call(
        address,
        "GameLiftLocal.DeleteSessionInvite",
        json!({"PlayerId": "bob", "InviteId": id}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(deleted["Invite"]["To"], "bob");

    // Bad input gets a typed error naming the problem.
    let (status, error) = call(
        address,
        "GameLiftLocal.SendSessionInvite",
        json!({"GameSessionId": arn, "From": "ada"}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(error["__type"], "InvalidRequestException");
    assert!(error["message"].as_str().unwrap().contains("to"), "{error}");
    let (_, error) = call(
        address,
        "GameLiftLocal.SendSessionInvite",
        json!({"GameSessionId": "arn:aws:gamelift:us-west-2::gamesession/fleet-local/none", "From": "a", "To": "b"}),
    )
    .await;
    assert_eq!(error["__type"], "NotFoundException");
    let (_, error) = call(address, "GameLiftLocal.Nothing", json!({})).await;
    assert_eq!(error["__type"], "UnknownOperationException");
    // The extension is not reachable as a GameLift operation.
    let (_, error) = call(
        address,
        "GameLift.GameLiftLocal.ListSessionInvites",
        json!({"PlayerId": "bob"}),
    )
    .await;
    assert_eq!(error["__type"], "UnknownOperationException");

    // At most 100 invites wait for one player.
    for _ in 0..100 {
        let (status, _) = call(
            address,
            "GameLiftLocal.SendSessionInvite",
            json!({"GameSessionId": arn, "From": "ada", "To": "dan"}),
        )
        .await;
        assert_eq!(status, 200);
    }
    let (_, error) = call(
        address,
        "GameLiftLocal.SendSessionInvite",
        json!({"GameSessionId": arn, "From": "ada", "To": "dan"}),
    )
    .await;
    assert_eq!(error["__type"], "LimitExceededException");
}
