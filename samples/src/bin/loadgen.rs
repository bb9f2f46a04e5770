//! Load generator: many game-server processes (the Rust Server SDK, as tasks of this process) and
//! many concurrent clients (the real `aws-sdk-gamelift` client) against `gamelift-local`, which
//! runs in a child process so that its memory is measured alone.
//!
//! ```sh
//! cargo run --release -p samples --bin loadgen -- --servers 1000 --joins 10000
//! ```
//!
//! Phases: connect every server process and ProcessReady; create one session per process (each
//! activated by its process); then the joins: CreatePlayerSession by a client, the player
//! session id handed to the hosting process, AcceptPlayerSession by that process. Reports
//! throughput, p50/p99 latencies, errors, and the service's memory; exits 1 on any error.

use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_gamelift::Client;
use clap::Parser;
use gamelift_client::explain::Endpoint;
use gamelift_server::sdk::{GameLiftServerSdk, ProcessParameters, SdkConfig, ServerParameters};
use samples::anywhere::{control_plane, describe};
use samples::load::{ChildService, Latencies, bounded, memory_kib, ms, run_main, serve};
use tokio::sync::{mpsc, oneshot};

/// The same allocator as the `gamelift-local` binary, so the service measured is the one shipped.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "loadgen",
    about = "Load on gamelift-local with the Rust Server SDK and the AWS SDK"
)]
struct Args {
    /// Game-server processes (one session each).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=50_000))]
    servers: u32,
    /// Player joins in all (spread over the sessions).
    #[arg(long, default_value_t = 10_000)]
    joins: u32,
    /// Concurrent clients.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=4096))]
    clients: u32,
    /// Run the service (internal: the child process).
    #[arg(long, hide = true)]
    serve: bool,
}

/// A progress bar on stderr.
struct Progress {
    label: &'static str,
    total: usize,
    done: AtomicUsize,
}

impl Progress {
    fn new(label: &'static str, total: usize) -> Arc<Self> {
        Arc::new(Self {
            label,
            total,
            done: AtomicUsize::new(0),
        })
    }
    fn tick(&self) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if done == self.total || done.is_multiple_of((self.total / 50).max(1)) {
            let filled = done * 30 / self.total.max(1);
            eprint!(
                "\r{:<10} [{}{}] {done}/{}",
                self.label,
                "#".repeat(filled),
                "-".repeat(30 - filled),
                self.total
            );
            if done == self.total {
                eprintln!();
            }
            let _ = std::io::stderr().flush();
        }
    }
}

/// A player handed to the process hosting their session.
struct Arrival {
    player_session_id: String,
    accepted: oneshot::Sender<Result<(), String>>,
}

struct Load {
    client: Client,
    endpoint: Endpoint,
    errors: AtomicUsize,
    first_errors: Mutex<Vec<String>>,
}

impl Load {
    fn error(&self, error: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        let mut first = self.first_errors.lock().unwrap_or_else(|p| p.into_inner());
        if first.len() < 5 {
            first.push(error);
        }
    }
}

/// One game-server process: ready, then activate the session placed on it, then accept players.
async fn game_server(
    endpoint: String,
    index: u32,
    load: Arc<Load>,
    ready: Arc<Progress>,
    activated: mpsc::UnboundedSender<(u16, Instant)>,
    arrivals: mpsc::UnboundedReceiver<Arrival>,
) -> Option<GameLiftServerSdk> {
    let port = 1024 + index as u16;
    let parameters = ServerParameters::builder()
        .websocket_url(endpoint.replacen("http", "ws", 1))
        .fleet_id("fleet-local")
        .host_id(format!("load-host-{}", index / 100))
        .process_id(format!("load-{index}"))
        .auth_token("local")
        .build()
        .ok()?;
    let sdk = match GameLiftServerSdk::init_with(parameters, SdkConfig::default()).await {
        Ok(sdk) => sdk,
        Err(error) => {
            load.error(format!("init {index}: {error}"));
            return None;
        }
    };
    let (placed, mut sessions) = mpsc::unbounded_channel();
    let process = ProcessParameters::new(port, move |_session| {
        let _ = placed.send(());
    });
    if let Err(error) = sdk.process_ready(process).await {
        load.error(format!("ready {index}: {error}"));
        return None;
    }
    ready.tick();
    let worker = sdk.clone();
    tokio::spawn(async move {
        let mut arrivals = arrivals;
        if sessions.recv().await.is_none() {
            return;
        }
        match worker.activate_game_session().await {
            Ok(()) => {
                let _ = activated.send((port, Instant::now()));
            }
            Err(error) => load.error(format!("activate {index}: {error}")),
        }
        while let Some(arrival) = arrivals.recv().await {
            let result = worker
                .accept_player_session(&arrival.player_session_id)
                .await
                .map_err(|e| e.to_string());
            let _ = arrival.accepted.send(result);
        }
    });
    Some(sdk)
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.serve {
        return serve(gamelift_local::Server::builder(), "loadgen");
    }
    run_main("loadgen", run(args))
}

async fn run(args: Args) -> Result<bool, String> {
    // The service in a child process, so its memory is its own.
    let service = ChildService::spawn(&["--serve"])?;
    let service_pid = service.pid;
    let endpoint = service.endpoint.clone();
    let (idle_rss, _) = memory_kib(service_pid).unwrap_or((0, 0));

    let client = control_plane(Some(&endpoint), "us-west-2").await;
    let load = Arc::new(Load {
        client,
        endpoint: Endpoint::Local(endpoint.clone()),
        errors: AtomicUsize::new(0),
        first_errors: Mutex::new(Vec::new()),
    });

    // Baseline, same run and same concurrency: a trivial control-plane call.
    let baseline = Arc::new(Latencies::default());
    let baseline_calls = 2000;
    let clients = args.clients as usize;
    let started = Instant::now();
    bounded(baseline_calls as usize, clients, |_| {
        let (load, baseline) = (load.clone(), baseline.clone());
        async move {
            let begun = Instant::now();
            match load
                .client
                .describe_fleet_attributes()
                .fleet_ids("fleet-local")
                .send()
                .await
            {
                Ok(_) => baseline.record(begun.elapsed()),
                Err(error) => load.error(format!("baseline: {}", describe(&error, &load.endpoint))),
            }
        }
    })
    .await;
    let baseline_rate = f64::from(baseline_calls) / started.elapsed().as_secs_f64();

    // Phase 1: every process connects and gets ready.
    let started = Instant::now();
    let ready = Progress::new("ready", args.servers as usize);
    let (activated_in, mut activated) = mpsc::unbounded_channel();
    let mut arrivals: HashMap<u16, mpsc::UnboundedSender<Arrival>> = HashMap::new();
    let mut starting = Vec::new();
    for index in 0..args.servers {
        let (sender, receiver) = mpsc::unbounded_channel();
        arrivals.insert(1024 + index as u16, sender);
        starting.push(tokio::spawn(game_server(
            endpoint.clone(),
            index,
            load.clone(),
            ready.clone(),
            activated_in.clone(),
            receiver,
        )));
    }
    drop(activated_in);
    let mut processes = Vec::new();
    for task in starting {
        if let Ok(Some(sdk)) = task.await {
            processes.push(sdk);
        }
    }
    let ready_time = started.elapsed();
    let (ready_rss, _) = memory_kib(service_pid).unwrap_or((0, 0));
    let (loadgen_rss, _) = memory_kib(std::process::id()).unwrap_or((0, 0));

    // Phase 2: one session per process, created by the clients, activated by the processes.
    let sessions = args.servers as usize;
    let created = Progress::new("sessions", sessions);
    let create_latency = Arc::new(Latencies::default());
    let started = Instant::now();
    let players_per_session = (args.joins as usize).div_ceil(sessions).clamp(1, 200) as i32;
    let placed: Vec<(String, u16)> = bounded(sessions, clients, |n| {
        let load = load.clone();
        let created = created.clone();
        let latency = create_latency.clone();
        async move {
            let begun = Instant::now();
            let result = load
                .client
                .create_game_session()
                .fleet_id("fleet-local")
                .location("custom-local")
                .maximum_player_session_count(players_per_session)
                .name(format!("load-{n}"))
                .send()
                .await;
            match result {
                Ok(output) => {
                    latency.record(begun.elapsed());
                    created.tick();
                    output.game_session.map(|s| {
                        (
                            s.game_session_id.unwrap_or_default(),
                            s.port.unwrap_or_default() as u16,
                        )
                    })
                }
                Err(error) => {
                    load.error(format!(
                        "CreateGameSession: {}",
                        describe(&error, &load.endpoint)
                    ));
                    None
                }
            }
        }
    })
    .await
    .into_iter()
    .flatten()
    .flatten()
    .collect();
    let mut active = 0;
    while active < placed.len() {
        match tokio::time::timeout(Duration::from_secs(30), activated.recv()).await {
            Ok(Some(_)) => active += 1,
            _ => {
                load.error(format!(
                    "only {active} of {} sessions activated",
                    placed.len()
                ));
                break;
            }
        }
    }
    let sessions_time = started.elapsed();

    // Phase 3: the joins, spread over the sessions.
    let joined = Progress::new("joins", args.joins as usize);
    let join_latency = Arc::new(Latencies::default());
    let arrivals = Arc::new(arrivals);
    let started = Instant::now();
    let joins = if placed.is_empty() {
        0
    } else {
        args.joins as usize
    };
    let placed = Arc::new(placed);
    bounded(joins, clients, |n| {
        let (session_id, port) = placed[n % placed.len()].clone();
        let load = load.clone();
        let joined = joined.clone();
        let latency = join_latency.clone();
        let arrivals = arrivals.clone();
        async move {
            let begun = Instant::now();
            let player = load
                .client
                .create_player_session()
                .game_session_id(&session_id)
                .player_id(format!("player-{n}"))
                .send()
                .await;
            let player_session_id = match player {
                Ok(output) => output
                    .player_session
                    .and_then(|p| p.player_session_id)
                    .unwrap_or_default(),
                Err(error) => {
                    load.error(format!(
                        "CreatePlayerSession: {}",
                        describe(&error, &load.endpoint)
                    ));
                    return;
                }
            };
            let Some(server) = arrivals.get(&port) else {
                load.error(format!("no process on port {port}"));
                return;
            };
            let (accepted, answer) = oneshot::channel();
            let _ = server.send(Arrival {
                player_session_id,
                accepted,
            });
            match answer.await {
                Ok(Ok(())) => {
                    latency.record(begun.elapsed());
                    joined.tick();
                }
                Ok(Err(error)) => load.error(format!("AcceptPlayerSession: {error}")),
                Err(_) => load.error("the process dropped the player".into()),
            }
        }
    })
    .await;
    let joins_time = started.elapsed();
    let (loaded_rss, peak_rss) = memory_kib(service_pid).unwrap_or((0, 0));

    for sdk in &processes {
        let _ = sdk.destroy().await;
    }
    service.stop();

    let errors = load.errors.load(Ordering::Relaxed);
    println!();
    println!(
        "loadgen: {} server processes, {} joins, {} concurrent clients",
        args.servers, args.joins, args.clients
    );
    println!(
        "  processes connected + ready: {} in {:.2} s",
        processes.len(),
        ready_time.as_secs_f64()
    );
    println!(
        "  sessions: {} created and activated in {:.2} s = {:.0} sessions/s; CreateGameSession p50 {:.2} ms, p99 {:.2} ms",
        placed.len(),
        sessions_time.as_secs_f64(),
        placed.len() as f64 / sessions_time.as_secs_f64(),
        ms(create_latency.percentile(0.5)),
        ms(create_latency.percentile(0.99))
    );
    println!(
        "  joins: {} in {:.2} s = {:.0} joins/s; join (CreatePlayerSession + AcceptPlayerSession) p50 {:.2} ms, p99 {:.2} ms",
        joined.done.load(Ordering::Relaxed),
        joins_time.as_secs_f64(),
        joined.done.load(Ordering::Relaxed) as f64 / joins_time.as_secs_f64(),
        ms(join_latency.percentile(0.5)),
        ms(join_latency.percentile(0.99))
    );
    let join_rate = joined.done.load(Ordering::Relaxed) as f64 / joins_time.as_secs_f64();
    println!(
        "  baseline (same run, same concurrency): DescribeFleetAttributes {:.0} calls/s, p50 {:.2} ms; a join (two service calls and an SDK round trip) runs at {:.2}x the baseline call rate, p50 {:.1}x its latency",
        baseline_rate,
        ms(baseline.percentile(0.5)),
        join_rate / baseline_rate,
        join_latency.percentile(0.5).as_secs_f64()
            / baseline.percentile(0.5).as_secs_f64().max(f64::EPSILON)
    );
    println!(
        "  service memory: {:.1} MiB idle, {:.1} MiB with every process ready, {:.1} MiB after the joins (peak {:.1} MiB); {:.1} KiB per connected process",
        idle_rss as f64 / 1024.0,
        ready_rss as f64 / 1024.0,
        loaded_rss as f64 / 1024.0,
        peak_rss as f64 / 1024.0,
        (ready_rss.saturating_sub(idle_rss)) as f64 / f64::from(args.servers)
    );
    println!(
        "  load generator memory with every process ready: {:.1} MiB ({:.1} KiB per SDK process)",
        loadgen_rss as f64 / 1024.0,
        loadgen_rss as f64 / f64::from(args.servers)
    );
    println!("  errors: {errors}");
    for error in load
        .first_errors
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
    {
        println!("    {error}");
    }
    Ok(errors == 0 && joined.done.load(Ordering::Relaxed) == args.joins as usize)
}
