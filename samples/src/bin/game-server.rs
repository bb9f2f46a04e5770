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
//! Ctrl-C and SIGTERM end the process cleanly (ProcessEnding, then exit 0). With
//! `GAMELIFT_SDK_PROCESS_ID` set (the Agent and `gamelift-local --launch` set it) the id is used
//! as given and the process hosts one session, then exits for its launcher to start a new one.

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use gamelift_client::explain::Endpoint;
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
    /// Exit after hosting this many sessions (default: run until Ctrl-C or SIGTERM).
    #[arg(long)]
    sessions: Option<u32>,
    /// This process's id, used verbatim (the GameLift Agent and `gamelift-local --launch` set
    /// it). The process then hosts one game session and exits, as launched processes do.
    #[arg(long, env = "GAMELIFT_SDK_PROCESS_ID")]
    process_id: Option<String>,
    /// Without --process-id, each hosted session gets a new process id `<prefix>-<random>`.
    #[arg(long, default_value = "game-server")]
    process_prefix: String,
    /// How many seconds to wait for the service to accept connections before giving up.
    #[arg(long, default_value_t = 60)]
    wait: u64,
    /// Log filter.
    #[arg(long, env = "RUST_LOG", default_value = "warn")]
    log: String,
}

#[tokio::main]
async fn main() -> ExitCode {
    // Ctrl-C, or SIGTERM from a process manager or the GameLift Agent: end the session with
    // ProcessEnding and exit 0. The handlers are installed first, so a signal that comes while
    // the server is still starting is not lost.
    let shutdown = gamelift_server::signals::shutdown_signal();
    tokio::pin!(shutdown);
    let args = Args::parse();
    samples::narrative::init_logging(&args.log);
    let patience = std::time::Duration::from_secs(args.wait);
    // The service may still be starting: wait for it, saying so, rather than fail at once.
    let service_url = if args.register {
        args.control_endpoint.clone()
    } else {
        std::env::var("GAMELIFT_SDK_WEBSOCKET_URL").ok()
    };
    if let Some(url) = service_url.filter(|url| !url.is_empty()) {
        tokio::select! {
            waited = samples::wait::wait_for_service(&url, patience) => {
                if let Err(error) = waited {
                    eprintln!("game-server: {error}");
                    return ExitCode::FAILURE;
                }
            }
            _ = &mut shutdown => return ExitCode::SUCCESS,
        }
    }
    let credentials = if args.register {
        Credentials::Register {
            client: control_plane(args.control_endpoint.as_deref(), &args.region).await,
            endpoint: Endpoint::of(args.control_endpoint.as_deref(), Some(&args.region)),
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
        // `ManagedResource` asks for a generated id, as the official SDKs do.
        process_id: args.process_id.filter(|id| !id.is_empty()).map(|id| {
            if id == "ManagedResource" {
                uuid::Uuid::new_v4().to_string()
            } else {
                id
            }
        }),
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
