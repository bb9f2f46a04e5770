//! Bounded resources: what a slow, silent, greedy or hostile client costs the service, and the
//! typed answers it gets. Real sockets; bounded loops that stop by themselves.

mod common;

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use gamelift_local::{ManualClock, RunningServer, Server};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

/// Writes one raw HTTP/1.1 request with `Connection: close` and reads the whole answer.
async fn raw(server: &RunningServer, request: &str) -> String {
    let mut tcp = TcpStream::connect(server.local_addr()).await.unwrap();
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), tcp.read_to_end(&mut response))
        .await
        .expect("answered")
        .unwrap();
    String::from_utf8_lossy(&response).into_owned()
}

fn body(response: &str) -> Value {
    let json = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    serde_json::from_str(json).unwrap_or(Value::Null)
}

/// Reads until the server closes the connection (EOF or reset), for at most `within`.
async fn closed_by_server(tcp: &mut TcpStream, within: Duration) -> bool {
    let mut buffer = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, tcp.read(&mut buffer)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

async fn start(builder: gamelift_local::ServerBuilder) -> RunningServer {
    builder
        .bind("127.0.0.1:0".parse().unwrap())
        .clock(Arc::new(ManualClock::new()))
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn silent_and_slow_clients_are_cut_off_and_the_connection_cap_holds() {
    let server = start(
        Server::builder()
            .max_connections(3)
            .http_header_timeout(Duration::from_secs(1)),
    )
    .await;
    let mut silent = Vec::new();
    for _ in 0..3 {
        silent.push(TcpStream::connect(server.local_addr()).await.unwrap());
    }
    // A slowloris client: headers that never end, one byte at a time, on a 4th connection
    // once a slot is free. First, over the cap: a typed 503, then the close.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut over = TcpStream::connect(server.local_addr()).await.unwrap();
    let mut refused = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), over.read_to_end(&mut refused)).await;
    let refused = String::from_utf8_lossy(&refused);
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    assert_eq!(body(&refused)["__type"], "ServiceUnavailableException");

    // Connections that send nothing are closed after the header timeout, freeing their slots.
    for tcp in &mut silent {
        assert!(
            closed_by_server(tcp, Duration::from_secs(15)).await,
            "an idle connection is closed"
        );
    }
    let mut slow = TcpStream::connect(server.local_addr()).await.unwrap();
    slow.write_all(b"POST / HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut cut = false;
    for _ in 0..60 {
        if slow.write_all(b"X").await.is_err() {
            cut = true;
            break;
        }
        let mut byte = [0u8; 1];
        if let Ok(Ok(0) | Err(_)) =
            tokio::time::timeout(Duration::from_millis(250), slow.read(&mut byte)).await
        {
            cut = true;
            break;
        }
    }
    assert!(cut, "headers sent a byte at a time are cut off");

    // The service still answers.
    let answer = raw(
        &server,
        "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: GameLift.ListFleets\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn a_body_that_never_arrives_gets_a_typed_timeout() {
    let server = start(Server::builder().http_body_timeout(Duration::from_secs(1))).await;
    let mut tcp = TcpStream::connect(server.local_addr()).await.unwrap();
    tcp.write_all(
        b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: GameLift.ListFleets\r\nContent-Length: 100\r\n\r\n{",
    )
    .await
    .unwrap();
    let mut response = vec![0u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(15), tcp.read(&mut response))
        .await
        .expect("answered")
        .unwrap();
    let response = String::from_utf8_lossy(&response[..read]).into_owned();
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert_eq!(body(&response)["__type"], "RequestTimeoutException");
}

#[tokio::test]
async fn a_silent_tls_client_does_not_hold_up_anyone_else() {
    let directory = std::env::temp_dir().join(format!("gl-limits-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let server = start(
        Server::builder()
            .tls(true)
            .certificate_directory(&directory)
            .tls_handshake_timeout(Duration::from_secs(120)),
    )
    .await;
    let certificate = server.certificate_path().unwrap().to_path_buf();
    // Connections that never start their handshake.
    let mut silent = Vec::new();
    for _ in 0..5 {
        silent.push(TcpStream::connect(server.local_addr()).await.unwrap());
    }
    // Everyone else is served meanwhile (each handshake runs on its own task).
    for _ in 0..3 {
        let connector = tokio_rustls::TlsConnector::from(common::peer::client_config(&certificate));
        let tcp = TcpStream::connect(server.local_addr()).await.unwrap();
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let mut tls = tokio::time::timeout(Duration::from_secs(20), connector.connect(name, tcp))
            .await
            .expect("the handshake is not queued behind the silent connections")
            .unwrap();
        tls.write_all(
            b"GET /_gamelift_local/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        )
        .await
        .unwrap();
        let mut response = Vec::new();
        tls.read_to_end(&mut response).await.unwrap();
        assert!(String::from_utf8_lossy(&response).starts_with("HTTP/1.1 200"));
    }
    drop(silent);
    let _ = std::fs::remove_dir_all(&directory);
}

#[tokio::test]
async fn a_server_process_that_never_reads_is_closed_not_buffered() {
    // A frame rate high enough that the bound on replies is what stops it.
    let server = start(Server::builder().websocket_frame_rate(1_000_000)).await;
    let url = common::peer::url(
        &server.sdk_endpoint(),
        "p-greedy",
        common::FLEET,
        "host-1",
        None,
        "idem-greedy",
    );
    let (socket, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    // Only the sending half is used: replies pile up unread on the service's side.
    let (mut sink, _unread) = socket.split();
    let heartbeat =
        json!({"Action": "HeartbeatServerProcess", "RequestId": "r", "HealthStatus": true});
    let mut closed = false;
    let mut sent_frames = 0u32;
    let started = tokio::time::Instant::now();
    for index in 0..2_000_000u32 {
        sent_frames = index;
        let mut frame = heartbeat.clone();
        frame["RequestId"] = json!(format!("r-{index}"));
        let sent = tokio::time::timeout(
            Duration::from_secs(15),
            sink.send(Message::Text(frame.to_string().into())),
        )
        .await;
        if !matches!(sent, Ok(Ok(()))) {
            closed = true;
            break;
        }
        if started.elapsed() > Duration::from_secs(120) {
            break;
        }
    }
    assert!(
        closed,
        "the service closes a connection whose client does not read ({sent_frames} frames sent)"
    );
    eprintln!(
        "closed after {sent_frames} unread heartbeats in {:?}",
        started.elapsed()
    );
    // And keeps serving others.
    let health = raw(
        &server,
        "GET /_gamelift_local/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(health.starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn hostile_bodies_get_short_typed_answers() {
    let server = start(Server::builder().auto_activate(true)).await;
    // Two hundred thousand empty strings: refused while decoding, in a short answer.
    let ids = vec![""; 200_000];
    let payload = json!({"GameSessionId": "arn:aws:gamelift:us-west-2::gamesession/fleet-local/x", "PlayerIds": ids}).to_string();
    let request = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: GameLift.CreatePlayerSessions\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{payload}",
        payload.len()
    );
    let answer = raw(&server, &request).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.len() < 1024, "{} bytes", answer.len());
    assert_eq!(body(&answer)["__type"], "SerializationException");
    assert!(
        body(&answer)["message"]
            .as_str()
            .unwrap()
            .contains("100000 values")
    );

    // Twenty-five bad ids: every one counted, ten spelled out.
    let long = "x".repeat(2000);
    let ids = vec![long.as_str(); 25];
    let payload = json!({"GameSessionId": "arn:aws:gamelift:us-west-2::gamesession/fleet-local/x", "PlayerIds": ids}).to_string();
    let request = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: GameLift.CreatePlayerSessions\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{payload}",
        payload.len()
    );
    let answer = raw(&server, &request).await;
    let message = body(&answer)["message"].as_str().unwrap().to_string();
    assert!(
        message.starts_with("25 validation errors detected"),
        "{message}"
    );
    assert!(message.ends_with("and 15 more"), "{message}");
    assert!(answer.len() < 8 * 1024, "{} bytes", answer.len());

    // A list longer than its maximum: one error, its items not read one by one.
    let ids: Vec<String> = (0..5000).map(|i| format!("bad id {i}")).collect();
    let payload = json!({"GameSessionId": "arn:aws:gamelift:us-west-2::gamesession/fleet-local/x", "PlayerIds": ids}).to_string();
    let request = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: GameLift.CreatePlayerSessions\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{payload}",
        payload.len()
    );
    let message = body(&raw(&server, &request).await)["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.starts_with("1 validation error detected"),
        "{message}"
    );
    assert!(message.contains("less than or equal to 25"), "{message}");
}

#[tokio::test]
async fn only_real_regions_and_time_that_saturates() {
    let local = common::start_with(false).await;
    let fake = common::client_for(&local.server.endpoint(), "xx-fake-9");
    let refused = fake.list_fleets().send().await.unwrap_err();
    assert_eq!(common::code(&refused), "UnsupportedRegionException");
    let health = raw(
        &local.server,
        "GET /_gamelift_local/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    let regions = body(&health)["regions"].as_object().unwrap().clone();
    assert_eq!(regions.keys().collect::<Vec<_>>(), ["us-west-2"]);
    // A real Region other than the default works, and is empty.
    let other = common::client_for(&local.server.endpoint(), "eu-west-1");
    assert!(
        other
            .list_fleets()
            .send()
            .await
            .unwrap()
            .fleet_ids()
            .is_empty()
    );

    // A queue timeout of i64::MAX seconds never runs out (it used to wrap and time out at once).
    local
        .client
        .create_game_session_queue()
        .name("forever")
        .timeout_in_seconds(i32::MAX)
        .destinations(
            aws_sdk_gamelift::types::GameSessionQueueDestination::builder()
                .destination_arn(common::FLEET)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let queue_body = json!({"Name": "huge", "TimeoutInSeconds": i64::MAX, "Destinations": [{"DestinationArn": common::FLEET}]}).to_string();
    let answer = raw(
        &local.server,
        &format!(
            "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: GameLift.CreateGameSessionQueue\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{queue_body}",
            queue_body.len()
        ),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    local
        .client
        .start_game_session_placement()
        .placement_id("waits")
        .game_session_queue_name("huge")
        .maximum_player_session_count(2)
        .send()
        .await
        .unwrap();
    local.clock.advance(Duration::from_secs(24 * 3600));
    local.server.service().tick();
    let placement = local
        .client
        .describe_game_session_placement()
        .placement_id("waits")
        .send()
        .await
        .unwrap();
    assert_eq!(
        placement
            .game_session_placement()
            .unwrap()
            .status()
            .unwrap()
            .as_str(),
        "PENDING"
    );
}

#[tokio::test]
async fn bad_verbs_paths_and_frames_get_typed_answers() {
    let server = start(Server::builder()).await;
    for (request, status, code) in [
        (
            "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            "405",
            "MethodNotAllowedException",
        ),
        (
            "OPTIONS / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            "405",
            "MethodNotAllowedException",
        ),
        (
            "GET /service/GameLift/operation/ListFleets HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            "405",
            "MethodNotAllowedException",
        ),
        (
            "DELETE /anything HTTP/1.1\r\nHost: x\r\nX-Amz-Target: GameLift.ListFleets\r\nConnection: close\r\n\r\n",
            "404",
            "NotFoundException",
        ),
        (
            "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            "404",
            "NotFoundException",
        ),
    ] {
        let answer = raw(&server, request).await;
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status}")),
            "{request}: {answer}"
        );
        assert_eq!(body(&answer)["__type"], code, "{request}");
    }
    let head = raw(
        &server,
        "HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 405"), "{head}");
    assert!(head.to_lowercase().contains("allow: get, post"), "{head}");

    // Requests hyper cannot parse get the same typed answer, naming the problem, and the
    // service goes on serving.
    for (request, status) in [
        (
            "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: GameLift.ListFleets\r\nContent-Length: ten\r\n\r\n{}".to_string(),
            "400",
        ),
        (
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}".to_string(),
            "400",
        ),
        ("NOT-HTTP\r\n\r\n".to_string(), "400"),
        (
            format!(
                "GET /nope HTTP/1.1\r\nHost: x\r\n{}Connection: close\r\n\r\n",
                (0..150).map(|n| format!("X-H{n}: v\r\n")).collect::<String>()
            ),
            "431",
        ),
        (
            format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(70 * 1024)),
            "414",
        ),
    ] {
        let answer = raw(&server, &request).await;
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status}")),
            "{}: {answer}",
            &request[..40.min(request.len())]
        );
        assert_eq!(body(&answer)["__type"], "SerializationException", "{answer}");
        let message = body(&answer)["message"].as_str().unwrap_or_default().to_string();
        assert!(message.contains("request"), "{message}");
    }

    // A binary frame on the Server SDK socket gets an error frame; the connection stays open.
    let mut peer =
        common::peer::Peer::connect(&server.sdk_endpoint(), "p-binary", common::FLEET).await;
    let url = common::peer::url(
        &server.sdk_endpoint(),
        "p-bin2",
        common::FLEET,
        "host-1",
        None,
        "i",
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    socket
        .send(Message::Binary(vec![1, 2, 3].into()))
        .await
        .unwrap();
    let reply = tokio::time::timeout(Duration::from_secs(10), socket.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let reply: Value = serde_json::from_str(reply.to_text().unwrap()).unwrap();
    assert_eq!(reply["StatusCode"], 400);
    assert!(reply["ErrorMessage"].as_str().unwrap().contains("binary"));
    let beat = peer
        .request("HeartbeatServerProcess", json!({"HealthStatus": true}))
        .await;
    assert_eq!(beat["StatusCode"], 200);
}

#[tokio::test]
async fn a_huge_creation_limit_period_still_limits() {
    let local = common::start().await;
    let fleet = json!({
        "Name": "limited",
        "ComputeType": "ANYWHERE",
        "Locations": [{"Location": common::LOCATION}],
        "AnywhereConfiguration": {"Cost": "0.1"},
        "ResourceCreationLimitPolicy": {"NewGameSessionsPerCreator": 1, "PolicyPeriodInMinutes": 1i64 << 59},
    })
    .to_string();
    let created = raw(
        &local.server,
        &format!(
            "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: GameLift.CreateFleet\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{fleet}",
            fleet.len()
        ),
    )
    .await;
    assert!(created.starts_with("HTTP/1.1 200"), "{created}");
    let fleet_id = body(&created)["FleetAttributes"]["FleetId"]
        .as_str()
        .unwrap()
        .to_string();
    let create = || {
        local
            .client
            .create_game_session()
            .fleet_id(&fleet_id)
            .location(common::LOCATION)
            .creator_id("greedy")
            .maximum_player_session_count(2)
            .send()
    };
    create()
        .await
        .expect("the first session is within the limit");
    let refused = create().await.unwrap_err();
    assert_eq!(common::code(&refused), "LimitExceededException");
}

/// Searches and describes over more sessions than one locked step looks at (2048) are done in
/// bounded steps, and still return exactly the right pages.
#[tokio::test]
async fn searches_and_describes_larger_than_one_step_page_correctly() {
    const SESSIONS: usize = 2300;
    let local = common::start().await;
    let names: Vec<String> = (0..SESSIONS)
        .map(|i| format!("s-{:04}", (i * 7919) % SESSIONS))
        .collect();
    futures_util::stream::iter(names.iter().enumerate())
        .for_each_concurrent(16, |(i, name)| {
            let client = local.client.clone();
            async move {
                client
                    .create_game_session()
                    .fleet_id(common::FLEET)
                    .location(common::LOCATION)
                    .maximum_player_session_count(1 + (i % 5) as i32)
                    .name(name)
                    .send()
                    .await
                    .expect("create game session");
            }
        })
        .await;

    // Sorting by name (no index) walks every session in steps and sorts outside the lock.
    let mut seen = Vec::new();
    let mut token = None;
    for _ in 0..SESSIONS {
        let page = local
            .client
            .search_game_sessions()
            .fleet_id(common::FLEET)
            .sort_expression("gameSessionName DESC")
            .limit(20)
            .set_next_token(token.clone())
            .send()
            .await
            .unwrap();
        seen.extend(
            page.game_sessions()
                .iter()
                .map(|session| session.name().unwrap().to_string()),
        );
        token = page.next_token().map(str::to_string);
        if token.is_none() || seen.len() >= 100 {
            break;
        }
    }
    let mut expected = names.clone();
    expected.sort();
    expected.reverse();
    assert_eq!(seen, expected[..100]);

    // A filter no session matches walks everything, in steps, and answers with nothing.
    let none = local
        .client
        .search_game_sessions()
        .fleet_id(common::FLEET)
        .filter_expression("maximumSessions > 100")
        .send()
        .await
        .unwrap();
    assert!(none.game_sessions().is_empty() && none.next_token().is_none());

    // DescribeGameSessions pages through every session exactly once, in creation order, with a
    // status filter that skips some of them.
    let first = local
        .client
        .describe_game_sessions()
        .fleet_id(common::FLEET)
        .limit(1)
        .send()
        .await
        .unwrap();
    let ended = first.game_sessions()[0]
        .game_session_id()
        .unwrap()
        .to_string();
    local
        .client
        .terminate_game_session()
        .game_session_id(&ended)
        .termination_mode(aws_sdk_gamelift::types::TerminationMode::ForceTerminate)
        .send()
        .await
        .unwrap();
    let mut listed = std::collections::BTreeSet::new();
    let mut token = None;
    for _ in 0..SESSIONS {
        let page = local
            .client
            .describe_game_sessions()
            .fleet_id(common::FLEET)
            .status_filter("ACTIVE")
            .limit(100)
            .set_next_token(token.clone())
            .send()
            .await
            .unwrap();
        for session in page.game_sessions() {
            assert!(listed.insert(session.game_session_id().unwrap().to_string()));
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(listed.len(), SESSIONS - 1);
    assert!(!listed.contains(&ended));
    let terminated = local
        .client
        .describe_game_sessions()
        .fleet_id(common::FLEET)
        .status_filter("TERMINATED")
        .send()
        .await
        .unwrap();
    assert_eq!(terminated.game_sessions().len(), 1);
    assert!(terminated.next_token().is_none());
}

/// A process that sends frames faster than its frame rate is read more slowly: the replies it
/// gets never outrun the rate (plus the burst), measured against the time that actually passed.
#[tokio::test]
async fn a_process_flooding_frames_is_read_at_its_frame_rate() {
    const RATE: u32 = 5;
    let server = start(Server::builder().websocket_frame_rate(RATE)).await;
    let url = common::peer::url(
        &server.sdk_endpoint(),
        "p-flood",
        common::FLEET,
        "host-1",
        None,
        "idem-flood",
    );
    let (socket, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    let (mut sink, mut replies) = socket.split();
    let started = tokio::time::Instant::now();
    let sending = tokio::spawn(async move {
        for index in 0..200 {
            let frame = json!({"Action": "HeartbeatServerProcess", "RequestId": format!("r-{index}"), "HealthStatus": true});
            if sink
                .send(Message::Text(frame.to_string().into()))
                .await
                .is_err()
            {
                break;
            }
        }
        sink
    });
    let mut answered = 0u32;
    let window = Duration::from_secs(2);
    while let Ok(Some(Ok(reply))) = tokio::time::timeout_at(started + window, replies.next()).await
    {
        if let Message::Text(text) = reply {
            let reply: Value = serde_json::from_str(text.as_str()).unwrap();
            assert_eq!(reply["StatusCode"], 200, "{reply}");
            answered += 1;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let allowed = 2 * RATE + (f64::from(RATE) * elapsed).ceil() as u32 + 1;
    assert!(answered >= 1, "the connection is served");
    assert!(
        answered <= allowed,
        "{answered} replies in {elapsed:.2} s; the rate allows {allowed}"
    );
    // The connection is still open and served, just slowly.
    let more = tokio::time::timeout(Duration::from_secs(20), replies.next()).await;
    assert!(matches!(more, Ok(Some(Ok(Message::Text(_))))));
    sending.abort();
}

/// Ended player sessions and terminated game sessions are forgotten after the retention period,
/// so a long-running service does not grow without bound; running ones are kept.
#[tokio::test]
async fn finished_records_are_forgotten_after_the_retention_period() {
    let clock = Arc::new(ManualClock::new());
    let server = Server::builder()
        .bind("127.0.0.1:0".parse().unwrap())
        .clock(clock.clone())
        .auto_activate(true)
        .reservation_timeout(Duration::from_secs(5))
        .retention(Duration::from_secs(60))
        .start()
        .await
        .unwrap();
    let client = common::client_for(&server.endpoint(), "us-west-2");
    let session = |maximum: i32| {
        client
            .create_game_session()
            .fleet_id(common::FLEET)
            .location(common::LOCATION)
            .maximum_player_session_count(maximum)
            .send()
    };
    let kept = session(4)
        .await
        .unwrap()
        .game_session
        .unwrap()
        .game_session_id
        .unwrap();
    let ended = session(4)
        .await
        .unwrap()
        .game_session
        .unwrap()
        .game_session_id
        .unwrap();
    for (arn, player) in [(&kept, "first"), (&kept, "second"), (&ended, "with-ended")] {
        client
            .create_player_session()
            .game_session_id(arn)
            .player_id(player)
            .send()
            .await
            .unwrap();
    }
    // The three reservations time out (5 s) and the second session is terminated; a new
    // player reserves a slot in the first.
    clock.advance(Duration::from_secs(6));
    client
        .terminate_game_session()
        .game_session_id(&ended)
        .termination_mode(aws_sdk_gamelift::types::TerminationMode::ForceTerminate)
        .send()
        .await
        .unwrap();
    let fresh = client
        .create_player_session()
        .game_session_id(&kept)
        .player_id("fresh")
        .send()
        .await
        .unwrap()
        .player_session
        .unwrap()
        .player_session_id
        .unwrap();
    let players_of = |arn: &str| {
        let request = client.describe_player_sessions().game_session_id(arn);
        async move { request.send().await.map(|o| o.player_sessions().len()) }
    };
    assert_eq!(players_of(&kept).await.unwrap(), 3);
    // Within the retention period everything is still visible.
    clock.advance(Duration::from_secs(30));
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(players_of(&kept).await.unwrap(), 3);
    assert_eq!(players_of(&ended).await.unwrap(), 1);
    // After it, the ended records are gone; the running session and its live player stay.
    clock.advance(Duration::from_secs(31));
    let mut gone = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let missing = client
            .describe_game_sessions()
            .game_session_id(&ended)
            .send()
            .await
            .is_err();
        if missing {
            gone = true;
            break;
        }
    }
    assert!(gone, "the terminated game session is forgotten");
    let left = client
        .describe_player_sessions()
        .game_session_id(&kept)
        .send()
        .await
        .unwrap();
    let ids: Vec<&str> = left
        .player_sessions()
        .iter()
        .map(|p| p.player_session_id().unwrap())
        .collect();
    // "fresh" ended (its reservation timing out) when the service next looked, 30 s in: still
    // within the retention period.
    assert_eq!(ids, [fresh.as_str()]);
    let kept_session = client
        .describe_game_sessions()
        .game_session_id(&kept)
        .send()
        .await
        .unwrap();
    assert_eq!(kept_session.game_sessions().len(), 1);
}
