//! `gamelift-local`: a local Amazon GameLift-compatible service.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

/// mimalloc: the state is written as one snapshot per commit, and the system allocator keeps
/// the memory of those large, short-lived buffers fragmented across threads (the soak's resident
/// memory grew tenfold in ten minutes with it).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A local Amazon GameLift-compatible service for the AWS SDKs (CBOR and JSON protocols).
#[derive(Debug, Parser)]
#[command(name = "gamelift-local", version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "GAMELIFT_LOCAL_BIND", default_value = "127.0.0.1:9080")]
    bind: SocketAddr,
    /// Region of the default fleet.
    #[arg(long, default_value = "us-west-2")]
    region: String,
    /// Id of the default Anywhere fleet (location `custom-local`), created at start.
    #[arg(long, default_value = "fleet-local")]
    fleet_id: String,
    /// Make new game sessions ACTIVE at once, on an implicit process at 127.0.0.1.
    #[arg(long)]
    auto_activate: bool,
    /// Port of the implicit process used by --auto-activate.
    #[arg(long, default_value_t = 7777, value_parser = clap::value_parser!(u16).range(1..))]
    auto_activate_port: u16,
    /// How game server processes authenticate: `none` (any compute of an existing fleet) or
    /// `token` (a token from GetComputeAuthToken).
    #[arg(long, default_value = "none", value_parser = ["none", "token"])]
    auth: String,
    /// Seconds a process has to activate a game session before it goes to ERROR.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    activation_timeout: u64,
    /// Heartbeat period in seconds; a process unhealthy or silent for three periods is terminated.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    heartbeat_period: u64,
    /// Seconds a process whose connection dropped may take to reconnect.
    #[arg(long, default_value_t = 30)]
    reconnect_grace: u64,
    /// Serve https and wss with a self-signed certificate generated at start (its path is
    /// printed); the official C++ Server SDK always connects with TLS.
    #[arg(long)]
    tls: bool,
    /// Launch game server processes and keep them running, as the GameLift Agent does: a
    /// program and its arguments separated by spaces (no shell). Each process gets the
    /// GAMELIFT_SDK_* variables (URL, auth token, fleet id, host id, a unique process id); one
    /// that exits is replaced; all get SIGTERM when the service stops. May be repeated.
    #[arg(long, value_name = "COMMAND")]
    launch: Vec<String>,
    /// How many copies of each --launch command run at once (at most 50 in all).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=50))]
    processes: u32,
    /// Seconds launched processes have to exit after SIGTERM before they are killed.
    #[arg(long, default_value_t = 10)]
    launch_stop_grace: u64,
    /// Connections open at once, HTTP and Server SDK each; more are refused with 503.
    #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u64).range(1..))]
    max_connections: u64,
    /// Seconds a client has to send a request's headers; also how long an idle keep-alive
    /// connection stays open.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    header_timeout: u64,
    /// Seconds a client has to send a request's body.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    body_timeout: u64,
    /// Seconds a client has to complete a TLS handshake (with --tls).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    tls_handshake_timeout: u64,
    /// Seconds a Server SDK connection may stay silent before it is closed (the SDKs heartbeat
    /// every 60 s).
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
    websocket_idle_timeout: u64,
    /// Frames a Server SDK connection may send per second (bursts of twice as many); beyond it
    /// the service reads that connection more slowly.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    websocket_frame_rate: u32,
    /// Seconds ended player sessions and terminated game sessions stay visible before they are
    /// forgotten.
    #[arg(long, default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..))]
    retention: u64,
    /// Directory holding the state (fleets, computes, tokens, sessions, placements...), so it
    /// survives a restart. Default: gamelift-local under $XDG_DATA_HOME, or ~/.local/share.
    #[arg(
        long,
        env = "GAMELIFT_LOCAL_STATE_DIR",
        value_name = "PATH",
        conflicts_with = "in_memory"
    )]
    state_dir: Option<std::path::PathBuf>,
    /// Keep the state in memory only: a restart starts empty.
    #[arg(long)]
    in_memory: bool,
    /// Log filter: error, warn, info, debug, trace, or a tracing directive.
    #[arg(long, default_value = "info", env = "RUST_LOG")]
    log: String,
}

/// `gamelift-local` under the user's data directory: `$XDG_DATA_HOME`, else `~/.local/share`.
fn default_state_directory() -> Option<std::path::PathBuf> {
    let data = std::env::var_os("XDG_DATA_HOME")
        .filter(|value| !value.is_empty())
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|value| !value.is_empty())
                .map(|home| std::path::PathBuf::from(home).join(".local").join("share"))
        })?;
    Some(data.join("gamelift-local"))
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM. The handlers are installed when this is called, before
/// the service starts launching processes, so a signal during start-up is not lost (it would end
/// the service on the spot and leave launched processes behind).
fn shutdown_signal() -> impl Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let interrupt = signal(SignalKind::interrupt()).ok();
        let terminate = signal(SignalKind::terminate()).ok();
        async move {
            match (interrupt, terminate) {
                (Some(mut interrupt), Some(mut terminate)) => {
                    tokio::select! {
                        _ = interrupt.recv() => {}
                        _ = terminate.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let filter = match tracing_subscriber::EnvFilter::try_new(&args.log) {
        Ok(filter) => filter,
        Err(error) => {
            eprintln!(
                "gamelift-local: invalid --log value `{}`: {error}",
                args.log
            );
            return ExitCode::from(2);
        }
    };
    // Logs go to stderr (stdout carries the banner), with colour only on a terminal.
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("gamelift-local: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let stop = shutdown_signal();
        let server = gamelift_local::Server::builder()
            .bind(args.bind)
            .region(args.region)
            .fleet_id(args.fleet_id)
            .auto_activate(args.auto_activate)
            .auto_activate_port(args.auto_activate_port)
            .require_auth_token(args.auth == "token")
            .activation_timeout(Duration::from_secs(args.activation_timeout))
            .heartbeat_period(Duration::from_secs(args.heartbeat_period))
            .reconnect_grace(Duration::from_secs(args.reconnect_grace))
            .tls(args.tls)
            .max_connections(usize::try_from(args.max_connections).unwrap_or(usize::MAX))
            .http_header_timeout(Duration::from_secs(args.header_timeout))
            .http_body_timeout(Duration::from_secs(args.body_timeout))
            .tls_handshake_timeout(Duration::from_secs(args.tls_handshake_timeout))
            .websocket_idle_timeout(Duration::from_secs(args.websocket_idle_timeout))
            .websocket_frame_rate(args.websocket_frame_rate)
            .retention(Duration::from_secs(args.retention))
            .launch_stop_grace(Duration::from_secs(args.launch_stop_grace));
        let state_directory = if args.in_memory {
            None
        } else {
            match args.state_dir.clone().or_else(default_state_directory) {
                Some(directory) => Some(directory),
                None => {
                    eprintln!(
                        "gamelift-local: no state directory: neither XDG_DATA_HOME nor HOME is set; give --state-dir PATH, or --in-memory"
                    );
                    return ExitCode::FAILURE;
                }
            }
        };
        let server = match &state_directory {
            Some(directory) => server.state_directory(directory),
            None => server,
        };
        let server = args
            .launch
            .iter()
            .fold(server, |server, command| {
                server.launch(command, args.processes)
            })
            .start()
            .await;
        let server = match server {
            Ok(server) => server,
            Err(error) => {
                eprintln!("gamelift-local: {error}");
                return ExitCode::FAILURE;
            }
        };
        if !args.bind.ip().is_loopback() {
            eprintln!(
                "WARNING: gamelift-local listens on {}, reachable from other machines. It \
                 authenticates nothing on the control plane (any SigV4 signature is accepted){}; \
                 bind 127.0.0.1 unless this network is yours alone.",
                server.local_addr(),
                if args.auth == "token" {
                    ""
                } else {
                    ", and with --auth none any game server may connect"
                }
            );
            tracing::warn!(address = %server.local_addr(), "listening on a non-loopback address: every control-plane request is unauthenticated");
        }
        println!("gamelift-local listening on {}", server.endpoint());
        println!("game servers (Server SDK 5): {}", server.sdk_endpoint());
        if let Some(path) = server.certificate_path() {
            println!("self-signed certificate: {}", path.display());
        }
        match &state_directory {
            Some(directory) => println!("state: {} (--in-memory to keep none)", directory.display()),
            None => println!("state: in memory only"),
        }
        if !args.launch.is_empty() {
            println!(
                "launching {} game server process(es) of: {}",
                args.processes,
                args.launch.join(" | ")
            );
        }
        use std::io::Write;
        let _ = std::io::stdout().flush();
        stop.await;
        server.shutdown().await;
        ExitCode::SUCCESS
    })
}
