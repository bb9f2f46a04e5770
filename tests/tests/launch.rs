//! `gamelift-local --launch` keeps N game servers ready: the service starts the sample game server
//! with the Agent's variables, a killed process is replaced by a new one (a new process id that
//! gets ready), the runtime configuration can be read and changed only within what the operator
//! allowed, and SIGTERM stops the service and every process it launched.

use std::collections::{BTreeSet, HashMap};
use std::process::Stdio;
use std::time::Duration;

use aws_sdk_gamelift::error::ProvideErrorMetadata;
use aws_sdk_gamelift::types::{RuntimeConfiguration, ServerProcess};
use integration_tests::sample_binary;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;

enum Line {
    Out(String),
    Err(String),
}

struct Service {
    child: tokio::process::Child,
    lines: mpsc::UnboundedReceiver<Line>,
    endpoint: String,
    /// Process id -> OS pid, from the launcher's log.
    pids: HashMap<String, u32>,
    /// Process ids that printed READY.
    ready: BTreeSet<String>,
    seen: Vec<String>,
}

impl Service {
    fn start(args: &[&str]) -> Self {
        let mut child = tokio::process::Command::new(sample_binary("gamelift-local"))
            .args(args)
            .arg("--in-memory")
            .env("RUST_LOG", "info")
            .env_remove("GAMELIFT_SDK_PROCESS_ID")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("gamelift-local starts");
        let (sender, lines) = mpsc::unbounded_channel();
        let out = child.stdout.take().expect("piped");
        let err = child.stderr.take().expect("piped");
        let to = sender.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(out).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let _ = to.send(Line::Out(line));
            }
        });
        tokio::spawn(async move {
            let mut lines = BufReader::new(err).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let _ = sender.send(Line::Err(line));
            }
        });
        Service {
            child,
            lines,
            endpoint: String::new(),
            pids: HashMap::new(),
            ready: BTreeSet::new(),
            seen: Vec::new(),
        }
    }

    /// Reads output until `done` holds, within 60 s.
    async fn until(&mut self, what: &str, done: impl Fn(&Service) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while !done(self) {
            let line = tokio::time::timeout_at(deadline, self.lines.recv())
                .await
                .unwrap_or_else(|_| {
                    panic!("timed out waiting for {what}:\n{}", self.seen.join("\n"))
                })
                .unwrap_or_else(|| {
                    panic!(
                        "the service's output ended before {what}:\n{}",
                        self.seen.join("\n")
                    )
                });
            match &line {
                Line::Out(text) => {
                    if let Some(url) = text.strip_prefix("gamelift-local listening on ") {
                        self.endpoint = url.trim().to_string();
                    }
                    if let Some(rest) = text.strip_prefix("READY ")
                        && let Some(id) = rest.split_whitespace().next()
                    {
                        self.ready.insert(id.to_string());
                    }
                    self.seen.push(format!("out: {text}"));
                }
                Line::Err(text) => {
                    if text.contains("launched game server process") {
                        let field = |name: &str| {
                            text.split(&format!("{name}="))
                                .nth(1)
                                .and_then(|rest| rest.split_whitespace().next())
                                .map(str::to_string)
                        };
                        if let (Some(pid), Some(id)) = (field("pid"), field("process_id")) {
                            self.pids.insert(id, pid.parse().expect("a pid"));
                        }
                    }
                    self.seen.push(format!("err: {text}"));
                }
            }
        }
    }
}

fn signal(pid: u32, signal: libc::c_int) {
    // SAFETY: kill(2) on a process this test started (directly or through the service).
    unsafe {
        libc::kill(pid as libc::pid_t, signal);
    }
}

fn alive(pid: u32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid as libc::pid_t, 0) == 0 }
}

fn client(endpoint: &str) -> aws_sdk_gamelift::Client {
    aws_sdk_gamelift::Client::from_conf(
        aws_sdk_gamelift::Config::builder()
            .behavior_version(aws_sdk_gamelift::config::BehaviorVersion::latest())
            .region(aws_sdk_gamelift::config::Region::new("us-west-2"))
            .credentials_provider(aws_sdk_gamelift::config::Credentials::new(
                "local", "local", None, None, "test",
            ))
            .endpoint_url(endpoint)
            .build(),
    )
}

fn runtime(launch_path: &str, parameters: Option<&str>, count: i32) -> RuntimeConfiguration {
    RuntimeConfiguration::builder()
        .server_processes(
            ServerProcess::builder()
                .launch_path(launch_path)
                .set_parameters(parameters.map(str::to_string))
                .concurrent_executions(count)
                .build(),
        )
        .build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn launched_game_servers_are_kept_running_and_stopped_with_the_service() {
    let game_server = sample_binary("game-server").display().to_string();
    let mut service = Service::start(&[
        "--bind",
        "127.0.0.1:0",
        "--auth",
        "token",
        "--launch",
        &game_server,
        "--processes",
        "2",
    ]);
    service
        .until("two launched processes ready", |s| {
            !s.endpoint.is_empty() && s.ready.len() == 2 && s.pids.len() == 2
        })
        .await;
    let first: Vec<String> = service.ready.iter().cloned().collect();
    for id in &first {
        assert!(
            id.starts_with("process-"),
            "the launcher's process id, verbatim: {id}"
        );
    }

    // The runtime configuration is what --launch said.
    let gamelift = client(&service.endpoint);
    let described = gamelift
        .describe_runtime_configuration()
        .fleet_id("fleet-local")
        .send()
        .await
        .expect("DescribeRuntimeConfiguration");
    let processes = described
        .runtime_configuration()
        .map(|r| r.server_processes().to_vec())
        .unwrap_or_default();
    assert_eq!(processes.len(), 1);
    assert_eq!(processes[0].launch_path(), Some(game_server.as_str()));
    assert_eq!(processes[0].concurrent_executions(), Some(2));

    // Kill one: a new process replaces it and gets ready.
    let victim = &first[0];
    let victim_pid = service.pids[victim];
    signal(victim_pid, libc::SIGKILL);
    service
        .until("a replacement ready", |s| s.ready.len() == 3)
        .await;
    assert!(
        service
            .seen
            .iter()
            .any(|l| l.contains(&format!("pid={victim_pid} ")) && l.contains("signal: 9")),
        "the kill is logged:\n{}",
        service.seen.join("\n")
    );

    // Another program cannot be slipped in through the API.
    let refused = gamelift
        .update_runtime_configuration()
        .fleet_id("fleet-local")
        .runtime_configuration(runtime("/bin/sh", Some("-c id"), 1))
        .send()
        .await
        .expect_err("only --launch commands run");
    assert_eq!(refused.code(), Some("InvalidRequestException"));
    assert!(refused.message().unwrap_or_default().contains("--launch"));

    // Scaling the allowed command to three starts one more.
    gamelift
        .update_runtime_configuration()
        .fleet_id("fleet-local")
        .runtime_configuration(runtime(&game_server, None, 3))
        .send()
        .await
        .expect("UpdateRuntimeConfiguration");
    service
        .until("a third process ready", |s| s.ready.len() == 4)
        .await;

    // SIGTERM stops the service and, first, every game server it launched.
    let pid = service.child.id().expect("running");
    signal(pid, libc::SIGTERM);
    let status = tokio::time::timeout(Duration::from_secs(30), service.child.wait())
        .await
        .expect("the service stops within 30 s")
        .expect("waited");
    assert!(status.success(), "{status}");
    for (id, pid) in &service.pids {
        assert!(!alive(*pid), "{id} (pid {pid}) still runs");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_that_fails_at_once_is_restarted_with_a_growing_delay() {
    let mut service = Service::start(&["--bind", "127.0.0.1:0", "--launch", "/bin/false"]);
    let failures = |s: &Service| {
        s.seen
            .iter()
            .filter(|line| line.contains("failed soon after it started"))
            .count()
    };
    service
        .until("three failed starts", |s| failures(s) >= 3)
        .await;
    let delays: Vec<u64> = service
        .seen
        .iter()
        .filter(|line| line.contains("failed soon after it started"))
        .filter_map(|line| line.split("restart_in_ms=").nth(1))
        .filter_map(|rest| rest.split_whitespace().next()?.parse().ok())
        .take(3)
        .collect();
    assert_eq!(delays, vec![500, 1000, 2000]);
    let pid = service.child.id().expect("running");
    signal(pid, libc::SIGTERM);
    let status = tokio::time::timeout(Duration::from_secs(30), service.child.wait())
        .await
        .expect("the service stops")
        .expect("waited");
    assert!(status.success(), "{status}");
}
