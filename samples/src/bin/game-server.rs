//! A sample game server: hosts GameLift game sessions, admits players over TCP who present a
//! valid player session id.
//!
//! Against `gamelift-local` (it registers its compute and fetches auth tokens itself):
//!
//! ```sh
//! cargo run -p gamelift-local -- --auth token &
//! cargo run -p samples --bin game-server -- --register --control-endpoint http://127.0.0.1:9080
//! ```
//!
//! Against an Amazon GameLift Anywhere fleet, either with the variables the GameLift Agent sets
//! (`GAMELIFT_SDK_WEBSOCKET_URL`, `GAMELIFT_SDK_AUTH_TOKEN`, `GAMELIFT_SDK_FLEET_ID`,
//! `GAMELIFT_SDK_HOST_ID`, `GAMELIFT_SDK_PROCESS_ID`) or by registering with your AWS
//! credentials: `--register --fleet-id fleet-… --location custom-… --ip-address <public ip>`.
//!
//! Each event is printed as one line (`READY`, `SESSION`, `JOINED`, `REFUSED`, `LEFT`, `ENDED`).

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use gamelift_server::sdk::SdkConfig;
use samples::anywhere::{Compute, control_plane};
use samples::server::{Credentials, GameServerOptions, run};

#[derive(Debug, Parser)]
#[command(name = "game-server", about = "A sample GameLift game server")]
struct Args {
    /// Where players connect (port 0 picks a free port).
    #[arg(long, env = "GAME_LISTEN", default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Register the compute and fetch auth tokens through the control plane, instead of reading
    /// GAMELIFT_SDK_* from the environment.
    #[arg(long)]
    register: bool,
    /// The control-plane endpoint (a local service); without it, Amazon GameLift.
    #[arg(long, env = "AWS_ENDPOINT_URL_GAMELIFT")]
    control_endpoint: Option<String>,
    /// The AWS Region.
    #[arg(long, env = "AWS_REGION", default_value = "us-west-2")]
    region: String,
    /// The Anywhere fleet.
    #[arg(long, env = "GAMELIFT_FLEET_ID", default_value = "fleet-local")]
    fleet_id: String,
    /// The fleet's custom location.
    #[arg(long, env = "GAMELIFT_LOCATION", default_value = "custom-local")]
    location: String,
    /// This compute's name in the fleet.
    #[arg(long, env = "GAMELIFT_COMPUTE_NAME", default_value = "sample-host")]
    compute_name: String,
    /// The address players reach this compute at.
    #[arg(long, env = "GAMELIFT_IP_ADDRESS", default_value = "127.0.0.1")]
    ip_address: String,
    /// Exit after hosting this many sessions (default: run until Ctrl-C).
    #[arg(long)]
    sessions: Option<u32>,
    /// Process ids are `<prefix>-<random>`.
    #[arg(long, env = "GAMELIFT_SDK_PROCESS_ID", default_value = "game-server")]
    process_prefix: String,
    /// Log filter.
    #[arg(long, env = "RUST_LOG", default_value = "warn")]
    log: String,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    samples::narrative::init_logging(&args.log);
    let credentials = if args.register {
        Credentials::Register {
            client: control_plane(args.control_endpoint.as_deref(), &args.region).await,
            compute: Compute {
                fleet_id: args.fleet_id.clone(),
                location: args.location.clone(),
                compute_name: args.compute_name.clone(),
                ip_address: args.ip_address.clone(),
            },
        }
    } else {
        Credentials::Environment
    };
    let options = GameServerOptions {
        listen: args.listen,
        credentials,
        sdk: SdkConfig::default(),
        sessions: args.sessions,
        process_prefix: args.process_prefix,
    };
    let (events, mut reported) = tokio::sync::mpsc::unbounded_channel();
    let printer = tokio::spawn(async move {
        use std::io::Write;
        while let Some(event) = reported.recv().await {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{event}");
            let _ = out.flush();
        }
    });
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let result = run(options, events, shutdown).await;
    // Print what is left; the bus may hold the last sender a little longer.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), printer).await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("game-server: {error}");
            ExitCode::FAILURE
        }
    }
}
