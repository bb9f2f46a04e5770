//! Helpers for the end-to-end tests: the sample binaries as child processes, and
//! `gamelift-local` in the test process.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use samples::server::ServerEvent;
use tokio::io::AsyncBufReadExt;
use tokio::sync::mpsc;

/// The path of a `samples` binary. `cargo test --workspace` builds them (the `samples` package
/// has integration tests of its own, which makes Cargo build its binaries first).
pub fn sample_binary(name: &str) -> PathBuf {
    let directory = std::env::current_exe()
        .expect("the test's path")
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>")
        .to_path_buf();
    let path = directory.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: run `cargo test --workspace`, or `cargo build -p samples --bins` first",
        path.display()
    );
    path
}

/// A `game-server` child process and its events.
pub struct GameServerProcess {
    /// The child.
    pub child: tokio::process::Child,
    /// Its events, one per line of its output.
    pub events: mpsc::UnboundedReceiver<ServerEvent>,
}

impl GameServerProcess {
    /// Starts `game-server --register` against the local control plane as `compute`.
    pub fn start(control_endpoint: &str, compute: &str) -> Self {
        let mut child = tokio::process::Command::new(sample_binary("game-server"))
            .args(["--register", "--control-endpoint", control_endpoint])
            .args(["--compute-name", compute, "--process-prefix", compute])
            .env_remove("GAMELIFT_SDK_PROCESS_ID")
            .env_remove("AWS_ENDPOINT_URL_GAMELIFT")
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the game server starts");
        let stdout = child.stdout.take().expect("piped");
        let (sender, events) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut lines = tokio::io::BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Ok(event) = line.parse() {
                    let _ = sender.send(event);
                }
            }
        });
        Self { child, events }
    }

    /// The next event `wanted` accepts, within 30 s.
    pub async fn expect<T>(&mut self, mut wanted: impl FnMut(&ServerEvent) -> Option<T>) -> T {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let event = tokio::time::timeout_at(deadline, self.events.recv())
                .await
                .expect("the event within 30 s")
                .expect("the game server is running");
            if let Some(found) = wanted(&event) {
                return found;
            }
        }
    }

    /// Waits until the process is ready; returns its player port.
    pub async fn ready(&mut self) -> u16 {
        self.expect(|event| match event {
            ServerEvent::Ready { port, .. } => Some(*port),
            _ => None,
        })
        .await
    }

    /// Any event already reported, without waiting.
    pub fn drain(&mut self) -> Vec<ServerEvent> {
        let mut events = Vec::new();
        while let Ok(event) = self.events.try_recv() {
            events.push(event);
        }
        events
    }
}

/// Waits (at most 20 s) for an async condition.
pub async fn eventually<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    for _ in 0..200 {
        if condition().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}
