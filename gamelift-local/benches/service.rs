//! Load program: gamelift-local against a bare axum endpoint that returns a fixed valid answer,
//! measured in the same run with the same lightweight client (hyper, pre-encoded CBOR requests,
//! keep-alive connections). The `aws-sdk-gamelift` client itself costs far more CPU per call than
//! the service does, so it is not used to measure the service.
//!
//! `cargo bench -p gamelift-local` (options: `-- --seconds 3 --connections 32`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum::routing::any;
use bytes::Bytes;
use gamelift_local::Server;
use gamelift_local::wire::{self, Value};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

type HttpClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

struct Options {
    seconds: f64,
    connections: usize,
}

fn options() -> Options {
    let mut options = Options {
        seconds: 3.0,
        connections: 32,
    };
    let args: Vec<String> = std::env::args().collect();
    let mut index = 1;
    while index < args.len() {
        match args[index].as_str() {
            "--seconds" => {
                if let Some(value) = args.get(index + 1).and_then(|v| v.parse().ok()) {
                    options.seconds = value;
                }
                index += 1;
            }
            "--connections" => {
                if let Some(value) = args.get(index + 1).and_then(|v| v.parse().ok()) {
                    options.connections = value;
                }
                index += 1;
            }
            _ => {}
        }
        index += 1;
    }
    options
}

/// One request to send: the operation and its pre-encoded bodies (rotated through).
struct Load {
    endpoint: String,
    operation: &'static str,
    bodies: Vec<Bytes>,
}

fn request(load: &Load, index: usize) -> hyper::Request<Full<Bytes>> {
    hyper::Request::post(format!(
        "{}/service/GameLift/operation/{}",
        load.endpoint, load.operation
    ))
    .header("content-type", "application/cbor")
    .header("smithy-protocol", "rpc-v2-cbor")
    .header(
        "authorization",
        "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-west-2/gamelift/aws4_request, SignedHeaders=host, Signature=0",
    )
    .body(Full::new(load.bodies[index % load.bodies.len()].clone()))
    .expect("a valid request")
}

/// Requests per second over `seconds`, with `connections` concurrent keep-alive connections.
async fn throughput(client: &HttpClient, load: Arc<Load>, options: &Options) -> (f64, u64) {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let counter = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..options.connections {
        let (client, load, stop, done, errors, counter) = (
            client.clone(),
            Arc::clone(&load),
            Arc::clone(&stop),
            Arc::clone(&done),
            Arc::clone(&errors),
            Arc::clone(&counter),
        );
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let index = counter.fetch_add(1, Ordering::Relaxed) as usize;
                match client.request(request(&load, index)).await {
                    Ok(response) => {
                        let ok = response.status().is_success();
                        let _ = response.into_body().collect().await;
                        if ok {
                            done.fetch_add(1, Ordering::Relaxed);
                        } else {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Err(_) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    // Warm up, then measure.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let start_count = done.load(Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(options.seconds)).await;
    let count = done.load(Ordering::Relaxed) - start_count;
    let elapsed = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        let _ = task.await;
    }
    (count as f64 / elapsed, errors.load(Ordering::Relaxed))
}

/// Median latency of `count` sequential requests.
async fn median_latency(client: &HttpClient, load: &Load, count: usize) -> Duration {
    let mut samples = Vec::with_capacity(count);
    for index in 0..count {
        let started = Instant::now();
        let response = client
            .request(request(load, index))
            .await
            .expect("a response");
        assert!(
            response.status().is_success(),
            "search failed: {}",
            response.status()
        );
        let _ = response.into_body().collect().await;
        samples.push(started.elapsed());
    }
    samples.sort();
    samples[samples.len() / 2]
}

async fn bare_endpoint(answer: Vec<u8>) -> String {
    let answer = Bytes::from(answer);
    let app = Router::new().fallback(any(move || {
        let answer = answer.clone();
        async move {
            let mut response = Response::new(Body::from(answer));
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/cbor"),
            );
            headers.insert("smithy-protocol", HeaderValue::from_static("rpc-v2-cbor"));
            headers.insert(
                "x-amzn-requestid",
                HeaderValue::from_static("00000000-0000-0000-0000-000000000000"),
            );
            response
        }
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{address}")
}

fn body(value: Value) -> Bytes {
    Bytes::from(wire::encode_cbor(&value))
}

fn create_session(service: &gamelift_local::Service, maximum: i64, mode: &str) -> String {
    let reply = service
        .call(
            "CreateGameSession",
            None,
            &Value::map()
                .with("FleetId", "fleet-local")
                .with("Location", "custom-local")
                .with("MaximumPlayerSessionCount", maximum)
                .with(
                    "GameProperties",
                    vec![Value::map().with("Key", "mode").with("Value", mode)],
                ),
        )
        .expect("session created");
    match reply
        .get("GameSession")
        .and_then(|s| s.get("GameSessionId"))
    {
        Some(Value::Str(arn)) => arn.clone(),
        other => panic!("no game session id: {other:?}"),
    }
}

const SEARCH: &str = "gameSessionProperties.mode = 'ctf' AND hasAvailablePlayerSessions = true";

/// Resident memory of a process, from /proc (Linux).
fn resident_bytes(pid: u32) -> Option<u64> {
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// Starts the `gamelift-local` binary on a free port; returns it and its SDK endpoint.
async fn spawn_binary() -> (tokio::process::Child, String) {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_gamelift-local"))
        .args(["--bind", "127.0.0.1:0", "--log", "warn", "--in-memory"])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the gamelift-local binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(endpoint) = line.strip_prefix("game servers (Server SDK 5): ") {
            return (child, endpoint.to_string());
        }
    }
    panic!("gamelift-local did not print its endpoints");
}

/// Connects `count` processes to the binary, each ready and heartbeating; returns the service's
/// resident memory growth per process and how long connecting took.
async fn processes_memory(count: usize) -> (f64, Duration) {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let (child, endpoint) = spawn_binary().await;
    let pid = child.id().expect("a pid");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = resident_bytes(pid).unwrap_or(0);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for index in 0..count {
        let endpoint = endpoint.clone();
        tasks.push(tokio::spawn(async move {
            let url = format!(
                "{endpoint}/?pID=load-{index}&FleetId=fleet-local&ComputeId=host-1&sdkVersion=5.4.0&sdkLanguage=Rust&IdempotencyToken=t{index}"
            );
            let (mut socket, _) = tokio_tungstenite::connect_async(url).await.expect("connected");
            let port = 10_000 + (index % 50_000);
            for (id, message) in [
                format!(r#"{{"Action":"ActivateServerProcess","RequestId":"a{index}","SdkVersion":"5.4.0","SdkLanguage":"Rust","Port":{port}}}"#),
                format!(r#"{{"Action":"HeartbeatServerProcess","RequestId":"h{index}","HealthStatus":true}}"#),
                format!(r#"{{"Action":"HeartbeatServerProcess","RequestId":"g{index}","HealthStatus":true}}"#),
            ]
            .into_iter()
            .enumerate()
            {
                socket.send(Message::Text(message.into())).await.expect("sent");
                let reply = socket.next().await.expect("a reply").expect("a frame");
                assert!(reply.to_text().unwrap_or_default().contains(r#""StatusCode":200"#), "request {id} failed");
            }
            socket
        }));
    }
    let mut sockets = Vec::with_capacity(count);
    for task in tasks {
        sockets.push(task.await.expect("a process connected"));
    }
    let elapsed = started.elapsed();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = resident_bytes(pid).unwrap_or(0);
    drop(sockets);
    drop(child);
    (after.saturating_sub(before) as f64 / count as f64, elapsed)
}

fn main() {
    let options = options();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let client: HttpClient = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(options.connections)
            .build_http();
        let server = Server::builder()
            .bind("127.0.0.1:0".parse().expect("address"))
            .auto_activate(true)
            .start()
            .await
            .expect("gamelift-local starts");
        let service = Arc::clone(server.service());
        let endpoint = server.endpoint();

        // Fixtures: one session to describe, 3 000 x 200 slots to join, a mix of modes to search.
        let described = create_session(&service, 10, "ctf");
        let joinable: Vec<String> = (0..3000)
            .map(|index| create_session(&service, 200, if index % 2 == 0 { "ctf" } else { "ffa" }))
            .collect();
        let describe_reply = service
            .call(
                "DescribeGameSessions",
                None,
                &Value::map().with("GameSessionId", described.as_str()),
            )
            .expect("describe");
        let bare = bare_endpoint(wire::encode_cbor(&describe_reply)).await;

        let describe = Load {
            endpoint: endpoint.clone(),
            operation: "DescribeGameSessions",
            bodies: vec![body(Value::map().with("GameSessionId", described.as_str()))],
        };
        let join = Load {
            endpoint: endpoint.clone(),
            operation: "CreatePlayerSession",
            bodies: joinable
                .iter()
                .map(|arn| body(Value::map().with("GameSessionId", arn.as_str()).with("PlayerId", "bench")))
                .collect(),
        };
        let search = Load {
            endpoint: endpoint.clone(),
            operation: "SearchGameSessions",
            bodies: vec![body(
                Value::map()
                    .with("FleetId", "fleet-local")
                    .with("FilterExpression", SEARCH)
                    .with("Limit", 20i64),
            )],
        };
        let bare_load = Load {
            endpoint: bare,
            operation: "DescribeGameSessions",
            bodies: describe.bodies.clone(),
        };

        println!(
            "gamelift-local load: {} connections, {:.1} s per measurement, 2 runtime threads",
            options.connections, options.seconds
        );
        let (bare_rate, bare_errors) = throughput(&client, Arc::new(bare_load), &options).await;
        let (describe_rate, describe_errors) = throughput(&client, Arc::new(describe), &options).await;
        let (join_rate, join_errors) = throughput(&client, Arc::new(join), &options).await;
        let (search_rate, search_errors) = throughput(&client, Arc::new(search), &options).await;

        // Search latency with 100 vs 100 000 active sessions (fresh services, same filter).
        let mut latency = Vec::new();
        for sessions in [100usize, 100_000] {
            let server = Server::builder()
                .bind("127.0.0.1:0".parse().expect("address"))
                .auto_activate(true)
                .start()
                .await
                .expect("gamelift-local starts");
            for index in 0..sessions {
                create_session(server.service(), 8, if index % 2 == 0 { "ctf" } else { "ffa" });
            }
            let load = Load {
                endpoint: server.endpoint(),
                operation: "SearchGameSessions",
                bodies: vec![body(
                    Value::map()
                        .with("FleetId", "fleet-local")
                        .with("FilterExpression", SEARCH)
                        .with("SortExpression", "creationTimeMillis DESC"),
                )],
            };
            latency.push(median_latency(&client, &load, 2000).await);
            server.shutdown().await;
        }

        let (per_process, connect_time) = processes_memory(1000).await;

        println!();
        println!("| measure | gamelift-local | baseline | ratio | target |");
        println!("|---|---|---|---|---|");
        println!("| bare axum endpoint, fixed answer | | {bare_rate:.0} req/s | 1.00x | |");
        println!(
            "| DescribeGameSessions by id | {describe_rate:.0} req/s | {bare_rate:.0} req/s | {:.2}x | >= 0.6x |",
            describe_rate / bare_rate
        );
        println!(
            "| CreatePlayerSession, free slots | {join_rate:.0} req/s | {bare_rate:.0} req/s | {:.2}x | >= 0.4x |",
            join_rate / bare_rate
        );
        println!(
            "| SearchGameSessions with a filter (3 001 sessions) | {search_rate:.0} req/s | {bare_rate:.0} req/s | {:.2}x | |",
            search_rate / bare_rate
        );
        println!(
            "| SearchGameSessions median latency, 100 000 vs 100 active sessions | {:.1} µs | {:.1} µs | {:.2}x | <= 3x |",
            latency[1].as_secs_f64() * 1e6,
            latency[0].as_secs_f64() * 1e6,
            latency[1].as_secs_f64() / latency[0].as_secs_f64()
        );
        println!(
            "| 1 000 server processes connected at once, each ready and heartbeating | {:.1} KiB resident per process (service side) | | | |",
            per_process / 1024.0
        );
        println!(
            "| time to connect, activate and heartbeat 1 000 processes | {:.0} ms | | | |",
            connect_time.as_secs_f64() * 1000.0
        );
        let errors = bare_errors + describe_errors + join_errors + search_errors;
        println!();
        println!("errors during the runs: {errors}");
        server.shutdown().await;
    });
}
