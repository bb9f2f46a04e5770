//! The README's command blocks, run as typed: each block marked `<!-- readme-flow: NAME -->` is
//! read from README.md and its commands run in order with the built binaries (`cargo run -p P
//! --bin B --` and `target/debug/B` become that binary, `cargo build` is already done), in the
//! background where the line ends in `&`. No sleeps: the programs must wait for each other
//! themselves. Port 9080 becomes a free port (in the URLs, and through `GAMELIFT_LOCAL_BIND` for
//! the service's default address) so the test never meets a service already running.
//! The last command must exit 0; then each background program, the last started first, gets
//! SIGTERM and must exit 0, and no process the service launched may be left running.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use integration_tests::sample_binary;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

/// The commands of the README block after `<!-- readme-flow: name -->`.
fn readme_block(name: &str) -> Vec<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md is readable");
    let marker = format!("<!-- readme-flow: {name} -->");
    let start = readme
        .find(&marker)
        .unwrap_or_else(|| panic!("README.md has no {marker}"));
    let block = &readme[start..];
    let open = block
        .find("```sh\n")
        .expect("a sh block follows the marker")
        + 6;
    let close = block[open..].find("```").expect("the block ends") + open;
    block[open..close]
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// Splits a command line into words, honouring double quotes.
fn words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut started = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                started = true;
            }
            c if c.is_whitespace() && !quoted => {
                if started {
                    words.push(std::mem::take(&mut word));
                    started = false;
                }
            }
            c => {
                word.push(c);
                started = true;
            }
        }
    }
    assert!(!quoted, "unbalanced quotes in {line:?}");
    if started {
        words.push(word);
    }
    words
}

/// One README command as a program and its arguments, or `None` for a build step.
fn program(line: &str, port: u16) -> Option<(PathBuf, Vec<String>)> {
    let mut words = words(line);
    let local = |word: &str| {
        let word = word.replace("9080", &port.to_string());
        match word.strip_prefix("target/debug/") {
            Some(name) => sample_binary(name).display().to_string(),
            None => word,
        }
    };
    match words.first().map(String::as_str) {
        Some("cargo") if words.get(1).map(String::as_str) == Some("build") => None,
        Some("cargo") => {
            assert_eq!(words.get(1).map(String::as_str), Some("run"), "{line}");
            let split = words.iter().position(|w| w == "--").unwrap_or(words.len());
            let cargo: Vec<String> = words.drain(..split).collect();
            let bin = match cargo.iter().position(|w| w == "--bin") {
                Some(at) => cargo[at + 1].clone(),
                None => {
                    let at = cargo.iter().position(|w| w == "-p").expect("-p PACKAGE");
                    cargo[at + 1].clone()
                }
            };
            let args = words.iter().skip(1).map(|w| local(w)).collect();
            Some((sample_binary(&bin), args))
        }
        Some(first) => {
            let name = first
                .strip_prefix("target/debug/")
                .unwrap_or_else(|| panic!("unknown command in README: {line}"));
            let args = words.iter().skip(1).map(|w| local(w)).collect();
            Some((sample_binary(name), args))
        }
        None => None,
    }
}

fn collect(
    name: String,
    stream: impl AsyncRead + Unpin + Send + 'static,
    log: Arc<Mutex<Vec<String>>>,
) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            log.lock().unwrap().push(format!("[{name}] {line}"));
        }
    });
}

fn spawn(path: &PathBuf, args: &[String], port: u16, log: &Arc<Mutex<Vec<String>>>) -> Child {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let mut child = Command::new(path)
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .env_remove("AWS_ENDPOINT_URL_GAMELIFT")
        .env_remove("GAMELIFT_SDK_PROCESS_ID")
        .env_remove("GAMELIFT_SDK_WEBSOCKET_URL")
        .env_remove("RUST_LOG")
        // The service's default address, moved to the test's port like the URLs in the commands.
        .env("GAMELIFT_LOCAL_BIND", format!("127.0.0.1:{port}"))
        // Its state goes to a directory of this run, not the user's data directory.
        .env(
            "GAMELIFT_LOCAL_STATE_DIR",
            std::env::temp_dir().join(format!(
                "gamelift-local-readme-{}-{port}",
                std::process::id()
            )),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("{} starts: {e}", path.display()));
    collect(
        name.clone(),
        child.stdout.take().expect("piped"),
        log.clone(),
    );
    collect(name, child.stderr.take().expect("piped"), log.clone());
    child
}

fn alive(pid: u32) -> bool {
    // SAFETY: kill(2) with signal 0 only checks that the process exists.
    unsafe { libc::kill(pid as libc::pid_t, 0) == 0 }
}

async fn run_flow(name: &str) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = Arc::new(Mutex::new(Vec::new()));
    let dump = |log: &Arc<Mutex<Vec<String>>>| log.lock().unwrap().join("\n");
    let mut background: Vec<(String, Child)> = Vec::new();
    let commands = readme_block(name);
    assert!(!commands.is_empty());
    for line in &commands {
        let line = line.as_str();
        let (line, in_background) = match line.strip_suffix('&') {
            Some(rest) => (rest.trim(), true),
            None => (line, false),
        };
        let Some((path, args)) = program(line, port) else {
            continue;
        };
        let mut child = spawn(&path, &args, port, &log);
        if in_background {
            background.push((line.to_string(), child));
            continue;
        }
        let status = tokio::time::timeout(Duration::from_secs(120), child.wait())
            .await
            .unwrap_or_else(|_| panic!("`{line}` did not finish within 120 s:\n{}", dump(&log)))
            .expect("waited");
        assert!(
            status.success(),
            "`{line}` failed ({status}):\n{}",
            dump(&log)
        );
    }
    // Stop them as a person would: the last started first (game servers before the service).
    for (line, mut child) in background.into_iter().rev() {
        let Some(pid) = child.id() else {
            panic!("`{line}` ended before it was asked to:\n{}", dump(&log));
        };
        // SAFETY: a signal to a child this test spawned and has not reaped.
        unsafe {
            libc::kill(pid as libc::pid_t, libc::SIGTERM);
        }
        let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
            .await
            .unwrap_or_else(|_| panic!("`{line}` did not stop on SIGTERM:\n{}", dump(&log)))
            .expect("waited");
        assert!(
            status.success(),
            "`{line}` stopped with {status}:\n{}",
            dump(&log)
        );
    }
    // Nothing the service launched outlives it.
    let launched: Vec<u32> = log
        .lock()
        .unwrap()
        .iter()
        .filter(|line| line.contains("launched game server process"))
        .filter_map(|line| line.split("pid=").nth(1))
        .filter_map(|rest| rest.split_whitespace().next()?.parse().ok())
        .collect();
    for pid in launched {
        assert!(
            !alive(pid),
            "launched process {pid} still runs:\n{}",
            dump(&log)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_manual_flow_runs_as_typed() {
    run_flow("manual").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_fleet_flow_runs_as_typed() {
    run_flow("fleet").await;
}

#[test]
fn readme_commands_parse() {
    assert_eq!(
        words(r#"a --launch "x y" b"#),
        vec!["a", "--launch", "x y", "b"]
    );
    assert!(program("cargo build -p samples", 1).is_none());
}
