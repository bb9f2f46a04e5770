//! A sample game client: finds (or creates) a session through the client manager, joins it, plays
//! a few ticks over TCP and leaves, all through the session buses.
//!
//! Against `gamelift-local` (with the sample game server running):
//!
//! ```sh
//! cargo run -p samples --bin game-client -- --endpoint http://127.0.0.1:9080 --create
//! ```
//!
//! Against Amazon GameLift: drop `--endpoint`; the standard AWS configuration (AWS_REGION,
//! AWS_PROFILE or keys) and `GAMELIFT_FLEET_ID` / `GAMELIFT_LOCATION` (or `GAMELIFT_ALIAS_ID`,
//! `GAMELIFT_QUEUE_NAME`) choose where.

use std::process::ExitCode;

use clap::Parser;
use gamelift_client::GameLiftClientConfig;
use samples::narrative::Narrator;
use samples::story::GameClient;

#[derive(Debug, Parser)]
#[command(name = "game-client", about = "A sample GameLift game client")]
struct Args {
    /// A local service's endpoint (uses fixed local credentials). Without it: Amazon GameLift.
    #[arg(long, env = "AWS_ENDPOINT_URL_GAMELIFT")]
    endpoint: Option<String>,
    /// The AWS Region.
    #[arg(long, env = "AWS_REGION", default_value = "us-west-2")]
    region: String,
    /// The fleet.
    #[arg(long, env = "GAMELIFT_FLEET_ID", default_value = "fleet-local")]
    fleet_id: String,
    /// The fleet's location (Anywhere fleets need one).
    #[arg(long, env = "GAMELIFT_LOCATION", default_value = "custom-local")]
    location: String,
    /// Create a session first (otherwise join the newest one with room).
    #[arg(long)]
    create: bool,
    /// The player (default: `player-` and a random suffix, so clients started side by side are
    /// different players).
    #[arg(long)]
    player_id: Option<String>,
    /// How many seconds to wait for the service, and with --create for a game server process to
    /// be ready, before giving up.
    #[arg(long, default_value_t = 60)]
    wait: u64,
    /// Game ticks to play.
    #[arg(long, default_value_t = 3)]
    ticks: u32,
    /// Log filter.
    #[arg(long, env = "RUST_LOG", default_value = "warn")]
    log: String,
}

async fn play(args: &Args, say: Narrator) -> Result<(), String> {
    let patience = std::time::Duration::from_secs(args.wait);
    if let Some(endpoint) = &args.endpoint {
        samples::wait::wait_for_service(endpoint, patience).await?;
    }
    let player_id = args.player_id.clone().unwrap_or_else(|| {
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        format!("player-{}", &suffix[..8])
    });
    let mut config = GameLiftClientConfig::from_env();
    config.region = Some(args.region.clone());
    config.fleet_id = Some(args.fleet_id.clone());
    config.location = Some(args.location.clone()).filter(|l| !l.is_empty());
    if let Some(endpoint) = &args.endpoint {
        config.endpoint_url = Some(endpoint.clone());
        config.credentials = gamelift_client::CredentialsSource::Static {
            access_key_id: "local".into(),
            secret_access_key: "local".into(),
            session_token: None,
        };
    }
    let client = GameClient::start(config)?;
    let session_id = if args.create {
        let id = client
            .create_session_waiting("sample game", 8, patience)
            .await?;
        say.say(format!("created {id}"));
        id
    } else {
        let newest = client.newest_session().await?;
        say.say(format!("found {newest}"));
        newest
    };
    let connection = client.join(&session_id, &player_id).await?;
    say.say(format!(
        "{} joined {}:{} with {}",
        player_id,
        connection.host(),
        connection.port,
        connection.player_session_id
    ));
    for tick in 1..=args.ticks {
        let states = client.tick(tick).await?;
        say.say(format!("tick {tick}: {}", states.join(", ")));
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    client.leave().await?;
    say.say("left");
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    samples::narrative::init_logging(&args.log);
    let say = Narrator::new();
    match play(&args, say).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("game-client: {error}");
            ExitCode::FAILURE
        }
    }
}
