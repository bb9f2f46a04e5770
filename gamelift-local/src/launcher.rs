//! Launching game server processes, as the GameLift Agent does on a compute: the default fleet's
//! runtime configuration says which commands run and how many copies of each; the launcher
//! registers a compute, starts each process with the `GAMELIFT_SDK_*` variables the Agent sets
//! (a fresh auth token and a unique process id per process), starts a replacement when one exits,
//! and stops them all (SIGTERM, then SIGKILL after a grace period) when the service stops.

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tokio::process::{Child, Command};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::service::Service;
use crate::state::ServerProcess;
use crate::wire::Value;

/// The compute launched processes run on.
pub const LAUNCHER_COMPUTE: &str = "gamelift-local-launcher";

/// How often the launcher looks at its processes and the runtime configuration.
const RECONCILE_PERIOD: Duration = Duration::from_millis(200);
/// A process that exits sooner than this after its start counts as crashing.
const QUICK_EXIT: Duration = Duration::from_secs(2);
/// The longest wait before restarting a crashing command.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// How the launcher runs.
#[derive(Debug, Clone)]
pub struct LauncherConfig {
    /// How long processes have to exit after SIGTERM before they are killed.
    pub stop_grace: Duration,
}

impl Default for LauncherConfig {
    fn default() -> Self {
        LauncherConfig {
            stop_grace: Duration::from_secs(10),
        }
    }
}

struct Running {
    child: Child,
    pid: u32,
    entry: ServerProcess,
    process_id: String,
    started: Instant,
}

/// Restart pacing for one command.
#[derive(Default)]
struct Backoff {
    delay: Duration,
    not_before: Option<Instant>,
}

/// Runs the launcher until `stop` turns true, then stops every process it started.
pub(crate) async fn run(
    service: Arc<Service>,
    config: LauncherConfig,
    mut stop: watch::Receiver<bool>,
) {
    let fleet_id = service.config().fleet_id.clone();
    let region = service.config().region.clone();
    if let Err(error) = register_compute(&service, &region) {
        tracing::error!(target: "gamelift_local", %error, "the launcher could not register its compute; no game server will be launched");
        let _ = stop.wait_for(|stopped| *stopped).await;
        return;
    }
    let mut running: Vec<Running> = Vec::new();
    let mut backoff: HashMap<(String, Option<String>), Backoff> = HashMap::new();
    let mut period = tokio::time::interval(RECONCILE_PERIOD);
    loop {
        tokio::select! {
            _ = period.tick() => {}
            _ = stop.wait_for(|stopped| *stopped) => break,
        }
        // Reap processes that exited.
        let mut still = Vec::with_capacity(running.len());
        for mut process in running.drain(..) {
            match process.child.try_wait() {
                Ok(None) => still.push(process),
                Ok(Some(status)) => {
                    let lived = process.started.elapsed();
                    let pacing = backoff.entry(key(&process.entry)).or_default();
                    // A process that fails at once is restarted with a growing delay; one that
                    // ends its work and exits 0 (a session per process) is replaced at once.
                    if lived < QUICK_EXIT && !status.success() {
                        pacing.delay =
                            (pacing.delay * 2).clamp(Duration::from_millis(500), MAX_BACKOFF);
                        pacing.not_before = Some(Instant::now() + pacing.delay);
                        tracing::warn!(target: "gamelift_local", pid = process.pid, process_id = %process.process_id, %status, lived_ms = lived.as_millis() as u64, restart_in_ms = pacing.delay.as_millis() as u64, "game server process failed soon after it started; restarting it later");
                    } else {
                        pacing.delay = Duration::ZERO;
                        pacing.not_before = None;
                        tracing::info!(target: "gamelift_local", pid = process.pid, process_id = %process.process_id, %status, "game server process exited; starting a replacement");
                    }
                }
                Err(error) => {
                    tracing::warn!(target: "gamelift_local", process_id = %process.process_id, %error, "cannot read a game server process's status");
                    still.push(process);
                }
            }
        }
        running = still;
        // Start what the runtime configuration asks for and is not running.
        let wanted = service.runtime_configuration(&region, &fleet_id);
        for entry in &wanted.server_processes {
            let pacing = backoff.entry(key(entry)).or_default();
            if pacing.not_before.is_some_and(|at| Instant::now() < at) {
                continue;
            }
            let have = running
                .iter()
                .filter(|p| key(&p.entry) == key(entry))
                .count();
            for _ in have..entry.concurrent_executions as usize {
                match launch(&service, &region, entry) {
                    Ok(process) => running.push(process),
                    Err(error) => {
                        pacing.delay =
                            (pacing.delay * 2).clamp(Duration::from_secs(1), MAX_BACKOFF);
                        pacing.not_before = Some(Instant::now() + pacing.delay);
                        tracing::error!(target: "gamelift_local", command = %command_line(entry), %error, retry_in_ms = pacing.delay.as_millis() as u64, "cannot launch a game server process");
                        break;
                    }
                }
            }
        }
    }
    stop_all(running, config.stop_grace).await;
}

fn key(entry: &ServerProcess) -> (String, Option<String>) {
    (entry.launch_path.clone(), entry.parameters.clone())
}

fn command_line(entry: &ServerProcess) -> String {
    match &entry.parameters {
        Some(parameters) => format!("{} {parameters}", entry.launch_path),
        None => entry.launch_path.clone(),
    }
}

fn register_compute(service: &Service, region: &str) -> Result<(), String> {
    let config = service.config();
    let input = Value::map()
        .with("FleetId", config.fleet_id.as_str())
        .with("ComputeName", LAUNCHER_COMPUTE)
        .with("IpAddress", "127.0.0.1")
        .with("Location", config.location.as_str());
    service
        .call("RegisterCompute", Some(region), &input)
        .map(|_| ())
        .map_err(|error| error.to_string())
}

fn auth_token(service: &Service, region: &str) -> Result<String, String> {
    let input = Value::map()
        .with("FleetId", service.config().fleet_id.as_str())
        .with("ComputeName", LAUNCHER_COMPUTE);
    let output = service
        .call("GetComputeAuthToken", Some(region), &input)
        .map_err(|error| error.to_string())?;
    match output.get("AuthToken") {
        Some(Value::Str(token)) => Ok(token.clone()),
        _ => Err("GetComputeAuthToken returned no token".into()),
    }
}

fn launch(service: &Service, region: &str, entry: &ServerProcess) -> Result<Running, String> {
    let token = auth_token(service, region)?;
    let process_id = format!("process-{}", uuid::Uuid::new_v4());
    let config = service.config();
    let mut command = Command::new(&entry.launch_path);
    if let Some(parameters) = &entry.parameters {
        // GameLift passes Parameters split on spaces, with no shell in between.
        command.args(parameters.split(' ').filter(|word| !word.is_empty()));
    }
    command
        .env("GAMELIFT_SDK_WEBSOCKET_URL", &config.sdk_endpoint)
        .env("GAMELIFT_SDK_AUTH_TOKEN", token)
        .env("GAMELIFT_SDK_FLEET_ID", &config.fleet_id)
        .env("GAMELIFT_SDK_HOST_ID", LAUNCHER_COMPUTE)
        .env("GAMELIFT_SDK_PROCESS_ID", &process_id)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let child = command
        .spawn()
        .map_err(|error| format!("{}: {error}", entry.launch_path))?;
    let pid = child.id().unwrap_or(0);
    tracing::info!(target: "gamelift_local", pid, %process_id, command = %command_line(entry), "launched game server process");
    Ok(Running {
        child,
        pid,
        entry: entry.clone(),
        process_id,
        started: Instant::now(),
    })
}

/// Asks every process to stop (SIGTERM), waits up to `grace` for them, then kills the rest.
async fn stop_all(mut running: Vec<Running>, grace: Duration) {
    if running.is_empty() {
        return;
    }
    tracing::info!(target: "gamelift_local", processes = running.len(), "stopping launched game server processes");
    for process in &running {
        terminate(&process.child);
    }
    let deadline = Instant::now() + grace;
    for process in &mut running {
        match tokio::time::timeout_at(deadline, process.child.wait()).await {
            Ok(Ok(status)) => {
                tracing::info!(target: "gamelift_local", process_id = %process.process_id, %status, "game server process stopped");
            }
            _ => {
                tracing::warn!(target: "gamelift_local", process_id = %process.process_id, grace_ms = grace.as_millis() as u64, "game server process did not stop in time; killing it");
                let _ = process.child.kill().await;
            }
        }
    }
}

#[cfg(unix)]
fn terminate(child: &Child) {
    if let Some(pid) = child.id().and_then(|pid| libc::pid_t::try_from(pid).ok()) {
        // SAFETY: kill(2) with a pid this process spawned and has not reaped yet (the Child is
        // still held), so the pid cannot have been reused; it touches no memory of ours.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
    }
}

#[cfg(not(unix))]
fn terminate(_child: &Child) {
    // No SIGTERM here: the grace period passes and the process is killed.
}
