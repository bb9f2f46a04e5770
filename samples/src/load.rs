//! Pieces the load programs share: `gamelift-local` in a child process (so that its memory is
//! measured alone), its memory from `/proc`, latency records, and bounded concurrency.

use std::io::{BufRead, Write};
use std::process::{Child, ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;

/// Resident and peak memory of a process, in KiB, from /proc.
pub fn memory_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// Latencies of one kind of operation.
#[derive(Default)]
pub struct Latencies(Mutex<Vec<Duration>>);

impl Latencies {
    /// Records one latency.
    pub fn record(&self, latency: Duration) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(latency);
    }

    /// The `p` quantile (0.0 to 1.0); zero when nothing was recorded.
    pub fn percentile(&self, p: f64) -> Duration {
        let mut all = self.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if all.is_empty() {
            return Duration::ZERO;
        }
        all.sort();
        let index = ((all.len() as f64 - 1.0) * p).round() as usize;
        all[index]
    }

    /// How many were recorded.
    pub fn count(&self) -> usize {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// Milliseconds, for reports.
pub fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// A load program's `main`: runs `work` on a Tokio runtime; exit 0 when it returns `Ok(true)`,
/// 1 otherwise (an error is printed after `name`).
pub fn run_main<F>(name: &str, work: F) -> ExitCode
where
    F: Future<Output = Result<bool, String>>,
{
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("{name}: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(work) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("{name}: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The child side: runs the service `builder` describes until stdin closes, after printing
/// `LISTENING <endpoint>`.
pub fn serve(builder: gamelift_local::ServerBuilder, name: &str) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("{name} service: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let server = match builder.bind(([127, 0, 0, 1], 0).into()).start().await {
            Ok(server) => server,
            Err(error) => {
                eprintln!("{name} service: {error}");
                return ExitCode::FAILURE;
            }
        };
        println!("LISTENING {}", server.endpoint());
        let _ = std::io::stdout().flush();
        // The parent closes stdin when it is done (or dies).
        let _ = tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            let _ = std::io::stdin().lock().read_line(&mut line);
        })
        .await;
        server.shutdown().await;
        ExitCode::SUCCESS
    })
}

/// The service in a child process: this program again, with `arguments`.
pub struct ChildService {
    child: Child,
    /// Its control-plane endpoint.
    pub endpoint: String,
    /// Its process id.
    pub pid: u32,
}

impl ChildService {
    /// Starts this executable with `arguments` (which make it call [`serve`]) and waits for its
    /// endpoint.
    pub fn spawn(arguments: &[&str]) -> Result<Self, String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut child = std::process::Command::new(exe)
            .args(arguments)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start the service: {e}"))?;
        let pid = child.id();
        let mut line = String::new();
        let stdout = child.stdout.take().ok_or("no stdout")?;
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        let endpoint = line
            .strip_prefix("LISTENING ")
            .ok_or_else(|| format!("the service said {line:?}"))?
            .trim()
            .to_string();
        Ok(Self {
            child,
            endpoint,
            pid,
        })
    }

    /// Its resident and peak memory in KiB.
    pub fn memory_kib(&self) -> (u64, u64) {
        memory_kib(self.pid).unwrap_or((0, 0))
    }

    /// Stops it (closing its stdin) and waits for it.
    pub fn stop(mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// Runs `work(n)` for every `n` below `count`, at most `limit` at once; returns the results in
/// order (`None` for a task that panicked).
pub async fn bounded<T, Fut>(
    count: usize,
    limit: usize,
    work: impl Fn(usize) -> Fut,
) -> Vec<Option<T>>
where
    T: Send + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    let permits = Arc::new(Semaphore::new(limit.max(1)));
    let mut tasks = Vec::with_capacity(count);
    for n in 0..count {
        let Ok(permit) = permits.clone().acquire_owned().await else {
            break;
        };
        let task = work(n);
        tasks.push(tokio::spawn(async move {
            let _permit = permit;
            task.await
        }));
    }
    let mut results = Vec::with_capacity(tasks.len());
    for task in tasks {
        results.push(task.await.ok());
    }
    results
}
