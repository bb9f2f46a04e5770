//! Soak and attack load on `gamelift-local`, which runs in a child process so that its memory is
//! measured alone.
//!
//! ```sh
//! cargo run --release -p samples --bin soak -- --minutes 10 --attacks
//! ```
//!
//! The soak: mixed control-plane load from concurrent clients (describes, searches, joins whose
//! reservations time out, fleet reads) on a service that keeps its state on disk, while one game
//! server process (the Rust Server SDK) disconnects and connects again every few seconds. It
//! reports the service's memory at the start and the end, and what was created meanwhile.
//!
//! The attacks: for each one, a probe client measures the latency of a cheap call while the
//! attack runs, and the service's peak memory is read; the first row is the same probe with no
//! attack, measured in the same run.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_gamelift::Client;
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use samples::anywhere::control_plane;
use samples::load::{ChildService, Latencies, bounded, ms, run_main, serve};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

/// The same allocator as the `gamelift-local` binary, so the service measured is the one shipped.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const FLEET: &str = "fleet-local";
const LOCATION: &str = "custom-local";

#[derive(Debug, Parser)]
#[command(name = "soak", about = "Soak and attack load on gamelift-local")]
struct Args {
    /// Length of the soak in minutes (0 skips it).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(0..=1440))]
    minutes: u32,
    /// Seconds between the reconnects of the game server process.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=600))]
    reconnect_every: u64,
    /// Concurrent clients of the soak.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=512))]
    clients: u32,
    /// How long the service keeps ended player sessions (seconds; the service's default is an
    /// hour). With a retention shorter than the soak, the data reaches a steady state.
    #[arg(long, default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..))]
    retention: u64,
    /// Soak a service that keeps its state in memory only (default: in a state directory).
    #[arg(long)]
    in_memory: bool,
    /// Also run the attacks, each for this many seconds.
    #[arg(long)]
    attacks: bool,
    /// Seconds each attack runs.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    attack_seconds: u64,
    /// Run the service (internal: the child process), keeping state in this directory.
    #[arg(long, hide = true)]
    serve_state: Option<std::path::PathBuf>,
    /// Run the service in memory (internal: the child process of the attacks).
    #[arg(long, hide = true)]
    serve_in_memory: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let builder = || {
        gamelift_local::Server::builder()
            .auto_activate(true)
            .reservation_timeout(Duration::from_secs(5))
            .retention(Duration::from_secs(args.retention))
    };
    if let Some(directory) = &args.serve_state {
        return serve(builder().state_directory(directory), "soak");
    }
    if args.serve_in_memory {
        return serve(builder(), "soak");
    }
    run_main("soak", run(args))
}

async fn run(args: Args) -> Result<bool, String> {
    let mut ok = true;
    if args.minutes > 0 {
        ok &= soak(&args).await?;
    }
    if args.attacks {
        ok &= attacks(&args).await?;
    }
    Ok(ok)
}

/// Counts of what the soak did.
#[derive(Default)]
struct Counts {
    calls: AtomicUsize,
    joins: AtomicUsize,
    full: AtomicUsize,
    reconnects: AtomicUsize,
    errors: AtomicUsize,
}

impl Counts {
    fn error(&self, what: &str) {
        if self.errors.fetch_add(1, Ordering::Relaxed) < 5 {
            eprintln!("soak: {what}");
        }
    }
}

async fn create_sessions(client: &Client, count: usize, maximum: i32) -> Vec<String> {
    let client = client.clone();
    bounded(count, 16, move |n| {
        let client = client.clone();
        async move {
            client
                .create_game_session()
                .fleet_id(FLEET)
                .location(LOCATION)
                .maximum_player_session_count(maximum)
                .name(format!("s-{:05}", (n * 7919) % count.max(1)))
                .send()
                .await
                .ok()
                .and_then(|output| output.game_session?.game_session_id)
        }
    })
    .await
    .into_iter()
    .flatten()
    .flatten()
    .collect()
}

/// One game server process whose connection drops (no close handshake) and comes back with the
/// same identity every few seconds, as after a network failure: the service must recognise it
/// each time (within its reconnect grace) and keep it ready.
async fn reconnecting_process(
    endpoint: String,
    every: Duration,
    stop: Arc<AtomicBool>,
    counts: Arc<Counts>,
) {
    let url = format!(
        "{}/?pID=soak-reconnecting&sdkVersion=5.4.0&sdkLanguage=Rust&ComputeId=soak-host&FleetId={FLEET}&IdempotencyToken=soak-idem",
        endpoint.replacen("http", "ws", 1)
    );
    let mut request = 0u64;
    let mut first = true;
    while !stop.load(Ordering::Relaxed) {
        let socket = match tokio_tungstenite::connect_async(&url).await {
            Ok((socket, _)) => socket,
            Err(error) => {
                counts.error(&format!("reconnect: {error}"));
                tokio::time::sleep(every).await;
                continue;
            }
        };
        let (mut sink, mut replies) = socket.split();
        let mut ask = |action: &str, body: String| {
            request += 1;
            format!(r#"{{"Action":"{action}","RequestId":"soak-{request}"{body}}}"#)
        };
        // Ready once; after that, a heartbeat on each reconnect proves the process is known.
        let frame = if first {
            ask(
                "ActivateServerProcess",
                r#","SdkVersion":"5.4.0","SdkLanguage":"Rust","Port":7000"#.into(),
            )
        } else {
            ask("HeartbeatServerProcess", r#","HealthStatus":true"#.into())
        };
        let answered = async {
            sink.send(Message::Text(frame.into())).await.ok()?;
            while let Some(Ok(message)) = replies.next().await {
                if let Message::Text(text) = message
                    && text.contains("soak-")
                {
                    return Some(text.contains(r#""StatusCode":200"#));
                }
            }
            None
        };
        match tokio::time::timeout(Duration::from_secs(10), answered).await {
            Ok(Some(true)) => {
                first = false;
                counts.reconnects.fetch_add(1, Ordering::Relaxed);
            }
            other => counts.error(&format!(
                "the reconnected process was not served: {other:?}"
            )),
        }
        tokio::time::sleep(every).await;
        // Dropping both halves closes the TCP connection with no close handshake.
        drop(sink);
        drop(replies);
    }
}

async fn soak(args: &Args) -> Result<bool, String> {
    let directory =
        std::env::temp_dir().join(format!("gamelift-local-soak-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    let state = directory.to_string_lossy().into_owned();
    let retention = args.retention.to_string();
    let service = if args.in_memory {
        ChildService::spawn(&["--serve-in-memory", "--retention", &retention])?
    } else {
        ChildService::spawn(&["--serve-state", &state, "--retention", &retention])?
    };
    let client = control_plane(Some(&service.endpoint), "us-west-2").await;
    let sessions = Arc::new(create_sessions(&client, 200, 8).await);
    if sessions.is_empty() {
        service.stop();
        return Err("no game session could be created".into());
    }

    let stop = Arc::new(AtomicBool::new(false));
    let counts = Arc::new(Counts::default());
    let reconnecting = tokio::spawn(reconnecting_process(
        service.endpoint.clone(),
        Duration::from_secs(args.reconnect_every),
        stop.clone(),
        counts.clone(),
    ));
    let latency = Arc::new(Latencies::default());
    let mut workers = Vec::new();
    for worker in 0..args.clients as usize {
        let (client, sessions, stop, counts, latency) = (
            client.clone(),
            sessions.clone(),
            stop.clone(),
            counts.clone(),
            latency.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut n = worker;
            while !stop.load(Ordering::Relaxed) {
                n = n.wrapping_add(7);
                let session = &sessions[n % sessions.len()];
                let begun = Instant::now();
                let failed = match n % 10 {
                    0..=4 => client
                        .describe_game_sessions()
                        .game_session_id(session)
                        .send()
                        .await
                        .err()
                        .map(|e| format!("DescribeGameSessions: {e}")),
                    5 | 6 => client
                        .search_game_sessions()
                        .fleet_id(FLEET)
                        .filter_expression("hasAvailablePlayerSessions=true")
                        .sort_expression("gameSessionName ASC")
                        .limit(10)
                        .send()
                        .await
                        .err()
                        .map(|e| format!("SearchGameSessions: {e}")),
                    7 | 8 => client
                        .describe_fleet_attributes()
                        .fleet_ids(FLEET)
                        .send()
                        .await
                        .err()
                        .map(|e| format!("DescribeFleetAttributes: {e}")),
                    _ => match client
                        .create_player_session()
                        .game_session_id(session)
                        .player_id(format!("player-{n}"))
                        .send()
                        .await
                    {
                        Ok(_) => {
                            counts.joins.fetch_add(1, Ordering::Relaxed);
                            None
                        }
                        Err(error) => {
                            use aws_sdk_gamelift::error::ProvideErrorMetadata;
                            if error.code() == Some("GameSessionFullException") {
                                counts.full.fetch_add(1, Ordering::Relaxed);
                                None
                            } else {
                                Some(format!("CreatePlayerSession: {error}"))
                            }
                        }
                    },
                };
                latency.record(begun.elapsed());
                counts.calls.fetch_add(1, Ordering::Relaxed);
                if let Some(failure) = failed {
                    counts.error(&failure);
                }
            }
        }));
    }

    // Memory after a warm-up, then every half minute to the end.
    let total = Duration::from_secs(u64::from(args.minutes) * 60);
    let warm_up = Duration::from_secs(30).min(total / 4);
    tokio::time::sleep(warm_up).await;
    let (start_rss, _) = service.memory_kib();
    let started = Instant::now();
    let calls_at_start = counts.calls.load(Ordering::Relaxed);
    let joins_at_start = counts.joins.load(Ordering::Relaxed);
    let mut samples = vec![start_rss];
    while started.elapsed() + warm_up < total {
        let left = total.saturating_sub(started.elapsed() + warm_up);
        tokio::time::sleep(left.min(Duration::from_secs(30))).await;
        samples.push(service.memory_kib().0);
    }
    let (end_rss, peak_rss) = service.memory_kib();
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        let _ = worker.await;
    }
    let _ = reconnecting.await;
    service.stop();
    let _ = std::fs::remove_dir_all(&directory);

    let seconds = started.elapsed().as_secs_f64();
    let calls = counts.calls.load(Ordering::Relaxed) - calls_at_start;
    let joins = counts.joins.load(Ordering::Relaxed) - joins_at_start;
    let errors = counts.errors.load(Ordering::Relaxed);
    let kib = |k: u64| k as f64 / 1024.0;
    println!(
        "soak: {} min, {} clients, one game server process reconnecting every {} s, state {}, ended records kept {} s",
        args.minutes,
        args.clients,
        args.reconnect_every,
        if args.in_memory {
            "in memory"
        } else {
            "in a state directory"
        },
        args.retention
    );
    println!(
        "  {calls} calls measured over {seconds:.0} s = {:.0} calls/s; p50 {:.2} ms, p99 {:.2} ms; {} reconnects; {} joins refused as full",
        calls as f64 / seconds,
        ms(latency.percentile(0.5)),
        ms(latency.percentile(0.99)),
        counts.reconnects.load(Ordering::Relaxed),
        counts.full.load(Ordering::Relaxed),
    );
    println!(
        "  service memory: {:.1} MiB at the start, {:.1} MiB at the end (peak {:.1} MiB); {joins} player sessions created meanwhile",
        kib(start_rss),
        kib(end_rss),
        kib(peak_rss)
    );
    println!(
        "  samples (MiB, every 30 s): {}",
        samples
            .iter()
            .map(|k| format!("{:.1}", kib(*k)))
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!("  errors: {errors}");
    Ok(errors == 0)
}

/// One attack: a name and what it does until `stop` is set.
type Attack = fn(String, Arc<AtomicBool>, Arc<AtomicUsize>) -> tokio::task::JoinHandle<()>;

fn slowloris(
    endpoint: String,
    stop: Arc<AtomicBool>,
    volume: Arc<AtomicUsize>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let address = endpoint.trim_start_matches("http://").to_string();
        let mut sockets = Vec::new();
        for _ in 0..500 {
            if let Ok(mut tcp) = TcpStream::connect(&address).await
                && tcp
                    .write_all(b"POST / HTTP/1.1\r\nHost: x\r\n")
                    .await
                    .is_ok()
            {
                sockets.push(tcp);
                volume.fetch_add(1, Ordering::Relaxed);
            }
        }
        while !stop.load(Ordering::Relaxed) {
            for tcp in &mut sockets {
                let _ = tcp.write_all(b"X").await;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    })
}

fn unread_websockets(
    endpoint: String,
    stop: Arc<AtomicBool>,
    volume: Arc<AtomicUsize>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tasks = Vec::new();
        for index in 0..20 {
            let (stop, volume) = (stop.clone(), volume.clone());
            let url = format!(
                "{}/?pID=greedy-{index}&sdkVersion=5.4.0&sdkLanguage=Rust&ComputeId=greedy-host&FleetId={FLEET}&IdempotencyToken=greedy-{index}",
                endpoint.replacen("http", "ws", 1)
            );
            tasks.push(tokio::spawn(async move {
                // Reconnects whenever the service closes it for not reading.
                while !stop.load(Ordering::Relaxed) {
                    let Ok((socket, _)) = tokio_tungstenite::connect_async(&url).await else {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    };
                    let (mut sink, _unread) = socket.split();
                    let frame = r#"{"Action":"HeartbeatServerProcess","RequestId":"r","HealthStatus":true}"#;
                    while !stop.load(Ordering::Relaxed) {
                        let sent = tokio::time::timeout(
                            Duration::from_secs(2),
                            sink.send(Message::Text(frame.into())),
                        )
                        .await;
                        if !matches!(sent, Ok(Ok(()))) {
                            break;
                        }
                        volume.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }));
        }
        for task in tasks {
            let _ = task.await;
        }
    })
}

fn huge_bodies(
    endpoint: String,
    stop: Arc<AtomicBool>,
    volume: Arc<AtomicUsize>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let address = endpoint.trim_start_matches("http://").to_string();
        let mut list = String::from("{\"FleetIds\":[");
        while list.len() < 2 * 1024 * 1024 {
            list.push_str("\"\",");
        }
        list.push_str("\"\"]}");
        let request = Arc::new(format!(
            "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: GameLift.DescribeFleetAttributes\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{list}",
            list.len()
        ));
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let (stop, volume, request, address) = (
                stop.clone(),
                volume.clone(),
                request.clone(),
                address.clone(),
            );
            tasks.push(tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    if let Ok(mut tcp) = TcpStream::connect(&address).await {
                        let _ = tcp.write_all(request.as_bytes()).await;
                        let mut answer = Vec::new();
                        let _ = tokio::time::timeout(
                            Duration::from_secs(10),
                            tokio::io::AsyncReadExt::read_to_end(&mut tcp, &mut answer),
                        )
                        .await;
                        volume.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }));
        }
        for task in tasks {
            let _ = task.await;
        }
    })
}

fn big_sorts(
    endpoint: String,
    stop: Arc<AtomicBool>,
    volume: Arc<AtomicUsize>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let client = control_plane(Some(&endpoint), "us-west-2").await;
        let mut tasks = Vec::new();
        for worker in 0..4 {
            let (client, stop, volume) = (client.clone(), stop.clone(), volume.clone());
            tasks.push(tokio::spawn(async move {
                let sorts = [
                    "gameSessionName ASC",
                    "gameSessionName DESC",
                    "gameSessionId ASC",
                ];
                let mut n = worker;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let _ = client
                        .search_game_sessions()
                        .fleet_id(FLEET)
                        .sort_expression(sorts[n % sorts.len()])
                        .limit(20)
                        .send()
                        .await;
                    volume.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
        for task in tasks {
            let _ = task.await;
        }
    })
}

async fn attacks(args: &Args) -> Result<bool, String> {
    let service = ChildService::spawn(&["--serve-in-memory"])?;
    let client = control_plane(Some(&service.endpoint), "us-west-2").await;
    let sessions = create_sessions(&client, 20_000, 8).await;
    println!(
        "attacks: {} s each on a service holding {} game sessions; probe: DescribeFleetAttributes, one at a time",
        args.attack_seconds,
        sessions.len()
    );
    println!("| attack | volume | probe p50 | probe p99 | probe max | service RSS peak during |");
    println!("|---|---|---|---|---|---|");
    let attacks: [(&str, &str, Option<Attack>); 5] = [
        ("none (baseline)", "", None),
        (
            "slowloris: 500 connections sending a header byte every 0.5 s",
            "connections",
            Some(slowloris),
        ),
        (
            "20 WebSockets sending heartbeats and never reading",
            "frames sent",
            Some(unread_websockets),
        ),
        (
            "4 clients sending 2 MiB bodies of 700 000 empty ids",
            "requests",
            Some(huge_bodies),
        ),
        (
            "4 clients searching 20 000 sessions sorted by name or id",
            "searches",
            Some(big_sorts),
        ),
    ];
    for (name, unit, attack) in attacks {
        let stop = Arc::new(AtomicBool::new(false));
        let volume = Arc::new(AtomicUsize::new(0));
        let running =
            attack.map(|attack| attack(service.endpoint.clone(), stop.clone(), volume.clone()));
        // Let the attack build up first.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let probe = Latencies::default();
        let mut peak = 0;
        let mut failures = 0;
        let until = Instant::now() + Duration::from_secs(args.attack_seconds);
        let mut worst = Duration::ZERO;
        while Instant::now() < until {
            let begun = Instant::now();
            match client
                .describe_fleet_attributes()
                .fleet_ids(FLEET)
                .send()
                .await
            {
                Ok(_) => {
                    let took = begun.elapsed();
                    worst = worst.max(took);
                    probe.record(took);
                }
                Err(_) => failures += 1,
            }
            peak = peak.max(service.memory_kib().0);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        stop.store(true, Ordering::Relaxed);
        if let Some(running) = running {
            let _ = tokio::time::timeout(Duration::from_secs(20), running).await;
        }
        println!(
            "| {name} | {} | {:.2} ms | {:.2} ms | {:.1} ms | {:.1} MiB |{}",
            if unit.is_empty() {
                "-".to_string()
            } else {
                format!("{} {unit}", volume.load(Ordering::Relaxed))
            },
            ms(probe.percentile(0.5)),
            ms(probe.percentile(0.99)),
            ms(worst),
            peak as f64 / 1024.0,
            if failures > 0 {
                format!(" {failures} probes failed")
            } else {
                String::new()
            }
        );
        // Let the service settle before the next one.
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    println!(
        "  probes per attack: ~{}",
        (args.attack_seconds * 1000 / 11)
    );
    service.stop();
    Ok(true)
}
