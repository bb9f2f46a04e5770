//! Matchmaking benchmark: 10 000 tickets matched 4v4 by `gamelift-local`'s FlexMatch (a skill
//! distance rule with one expansion), against a floor measured in the same run: the same
//! 10 000 tickets created and described on a configuration that matches nothing. The service
//! runs in a child process so that its memory is its own; a probe measures the latency of a
//! cheap call during both phases, to show that matching does not hold the service up.
//!
//! ```sh
//! cargo run --release -p samples --bin matchbench -- --tickets 10000
//! ```

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_gamelift::Client;
use aws_sdk_gamelift::types::{
    AttributeValue, FlexMatchMode, MatchmakingConfigurationStatus as Status, Player,
};
use clap::Parser;
use samples::anywhere::control_plane;
use samples::load::{ChildService, Latencies, bounded, ms, run_main, serve};

/// The same allocator as the `gamelift-local` binary, so the service measured is the one shipped.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(name = "matchbench", about = "FlexMatch throughput of gamelift-local")]
struct Args {
    /// Tickets (one player each).
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(8..=200_000))]
    tickets: u32,
    /// Concurrent clients.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=1024))]
    clients: u32,
    /// Run the service (internal: the child process).
    #[arg(long, hide = true)]
    serve: bool,
}

/// The floor: the same tickets, but a required attribute nobody sends, so nothing is matched.
const FLOOR: &str = r#"{
    "ruleLanguageVersion": "1.0",
    "playerAttributes": [{"name": "skill", "type": "number"}, {"name": "never", "type": "string"}],
    "teams": [{"name": "red", "minPlayers": 4, "maxPlayers": 4},
              {"name": "blue", "minPlayers": 4, "maxPlayers": 4}]
}"#;

fn main() -> ExitCode {
    let args = Args::parse();
    if args.serve {
        return serve(gamelift_local::Server::builder(), "matchbench");
    }
    run_main("matchbench", run(args))
}

async fn configuration(client: &Client, name: &str, body: &str) -> Result<(), String> {
    client
        .create_matchmaking_rule_set()
        .name(name)
        .rule_set_body(body)
        .send()
        .await
        .map_err(|e| format!("CreateMatchmakingRuleSet: {e:?}"))?;
    client
        .create_matchmaking_configuration()
        .name(name)
        .rule_set_name(name)
        .flex_match_mode(FlexMatchMode::Standalone)
        .request_timeout_seconds(600)
        .acceptance_required(false)
        .send()
        .await
        .map_err(|e| format!("CreateMatchmakingConfiguration: {e:?}"))?;
    Ok(())
}

/// A skill in 0..100, spread evenly but not in order.
fn skill(n: u32) -> f64 {
    f64::from(n.wrapping_mul(2_654_435_761) % 10_000) / 100.0
}

/// Creates the tickets; returns their ids.
async fn start_tickets(
    client: &Client,
    configuration: &str,
    count: u32,
    clients: usize,
) -> Vec<String> {
    let configuration = configuration.to_string();
    bounded(count as usize, clients, |n| {
        let (client, configuration) = (client.clone(), configuration.clone());
        async move {
            let n = n as u32;
            client
                .start_matchmaking()
                .ticket_id(format!("{configuration}-{n}"))
                .configuration_name(configuration)
                .players(
                    Player::builder()
                        .player_id(format!("player-{n}"))
                        .player_attributes("skill", AttributeValue::builder().n(skill(n)).build())
                        .build(),
                )
                .send()
                .await
                .ok()
                .and_then(|o| o.matchmaking_ticket?.ticket_id)
        }
    })
    .await
    .into_iter()
    .flatten()
    .flatten()
    .collect()
}

/// Describes `tickets` in tens; returns the ids not yet in `done`.
async fn describe(
    client: &Client,
    tickets: &[String],
    clients: usize,
    done: Status,
) -> Vec<String> {
    let chunks: Arc<Vec<Vec<String>>> =
        Arc::new(tickets.chunks(10).map(<[String]>::to_vec).collect());
    bounded(chunks.len(), clients, |n| {
        let (client, chunks) = (client.clone(), chunks.clone());
        let done = done.clone();
        async move {
            let chunk = chunks[n].clone();
            match client
                .describe_matchmaking()
                .set_ticket_ids(Some(chunk.clone()))
                .send()
                .await
            {
                Ok(output) => output
                    .ticket_list()
                    .iter()
                    .filter(|t| t.status() != Some(&done))
                    .filter_map(|t| t.ticket_id().map(str::to_string))
                    .collect::<Vec<_>>(),
                Err(_) => chunk,
            }
        }
    })
    .await
    .into_iter()
    .flatten()
    .flatten()
    .collect()
}

/// Probes a cheap call until `stop`, one at a time.
fn probe(client: Client, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<Latencies> {
    tokio::spawn(async move {
        let latencies = Latencies::default();
        while !stop.load(Ordering::Relaxed) {
            let begun = Instant::now();
            if client.list_fleets().send().await.is_ok() {
                latencies.record(begun.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        latencies
    })
}

async fn run(args: Args) -> Result<bool, String> {
    let service = ChildService::spawn(&["--serve"])?;
    let client = control_plane(Some(&service.endpoint), "us-west-2").await;
    let clients = args.clients as usize;
    configuration(&client, "floor", FLOOR).await?;
    configuration(&client, "four-v-four", samples::matchmaking::RULE_SET).await?;
    let (idle_rss, _) = service.memory_kib();

    // The floor: create and describe, nothing matched.
    let stop = Arc::new(AtomicBool::new(false));
    let probing = probe(client.clone(), stop.clone());
    let started = Instant::now();
    let floor_tickets = start_tickets(&client, "floor", args.tickets, clients).await;
    let left = describe(&client, &floor_tickets, clients, Status::Completed).await;
    let floor = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let floor_probe = probing.await.map_err(|e| e.to_string())?;
    let floor_searching = left.len();
    for ticket in &floor_tickets {
        let _ = client.stop_matchmaking().ticket_id(ticket).send().await;
    }
    let (floor_rss, _) = service.memory_kib();

    // Matching: the same tickets on the 4v4 configuration, until every one is COMPLETED.
    let stop = Arc::new(AtomicBool::new(false));
    let probing = probe(client.clone(), stop.clone());
    let started = Instant::now();
    let tickets: Vec<String> = start_tickets(&client, "four-v-four", args.tickets, clients).await;
    let created = started.elapsed();
    let mut waiting = tickets.clone();
    let deadline = Instant::now() + Duration::from_secs(600);
    while !waiting.is_empty() && Instant::now() < deadline {
        waiting = describe(&client, &waiting, clients, Status::Completed).await;
        if !waiting.is_empty() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let matched = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let match_probe = probing.await.map_err(|e| e.to_string())?;
    let (matched_rss, peak_rss) = service.memory_kib();
    service.stop();

    let completed = tickets.len() - waiting.len();
    let mib = |k: u64| k as f64 / 1024.0;
    println!(
        "matchbench: {} one-player tickets, 4v4, skill distance rule with one expansion, {} clients",
        args.tickets, args.clients
    );
    println!(
        "  floor (create + describe, nothing matched): {:.2} s ({} still searching, as expected)",
        floor.as_secs_f64(),
        floor_searching
    );
    println!(
        "  matching: {completed} of {} tickets COMPLETED in {:.2} s (created in {:.2} s) = {:.0} tickets/s; {:.2}x the floor",
        tickets.len(),
        matched.as_secs_f64(),
        created.as_secs_f64(),
        completed as f64 / matched.as_secs_f64(),
        matched.as_secs_f64() / floor.as_secs_f64()
    );
    println!(
        "  probe (ListFleets, one at a time): floor p50 {:.2} ms p99 {:.2} ms ({} calls); while matching p50 {:.2} ms p99 {:.2} ms ({} calls)",
        ms(floor_probe.percentile(0.5)),
        ms(floor_probe.percentile(0.99)),
        floor_probe.count(),
        ms(match_probe.percentile(0.5)),
        ms(match_probe.percentile(0.99)),
        match_probe.count()
    );
    println!(
        "  service memory: {:.1} MiB idle, {:.1} MiB after the floor, {:.1} MiB after matching (peak {:.1} MiB)",
        mib(idle_rss),
        mib(floor_rss),
        mib(matched_rss),
        mib(peak_rss)
    );
    Ok(waiting.is_empty())
}
