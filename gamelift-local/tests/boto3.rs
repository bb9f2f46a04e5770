//! The boto3 suite (awsJson1.1): `tests/boto3_suite.py` against an in-process service.
//!
//! It needs only `python3`: the first run creates a virtual environment under the target
//! directory (`target/tmp/boto3-venv`) and installs boto3 into it from PyPI; later runs reuse it.
//! Without `python3` on the `PATH` (or in `$PYTHON`) the suite says so in one line and is skipped.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The interpreter the virtual environment is made from: `$PYTHON`, else `python3`.
fn system_python() -> Option<String> {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    match Command::new(&python)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(status) if status.success() => Some(python),
        _ => None,
    }
}

fn venv_python(venv: &Path) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    }
}

fn has_boto3(python: &Path) -> bool {
    Command::new(python)
        .args(["-c", "import boto3"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

fn run(command: &mut Command, what: &str) -> Result<(), String> {
    let output = command
        .output()
        .map_err(|e| format!("{what}: cannot run {command:?}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// The virtual environment's interpreter, with boto3 installed. It is built in a fresh directory
/// and renamed into place, so an interrupted install is never mistaken for a finished one.
fn provision(python: &str) -> Result<PathBuf, String> {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let venv = root.join("boto3-venv");
    if has_boto3(&venv_python(&venv)) {
        return Ok(venv_python(&venv));
    }
    let building = root.join(format!("boto3-venv-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&building);
    run(
        Command::new(python).args(["-m", "venv"]).arg(&building),
        "creating a virtual environment for boto3 (on Debian: apt-get install python3-venv)",
    )?;
    run(
        Command::new(venv_python(&building)).args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "boto3",
        ]),
        "installing boto3 from PyPI into the test's virtual environment",
    )?;
    let _ = std::fs::remove_dir_all(&venv);
    if std::fs::rename(&building, &venv).is_err() {
        // Another run put one in place first: use that one.
        let _ = std::fs::remove_dir_all(&building);
    }
    let python = venv_python(&venv);
    if has_boto3(&python) {
        Ok(python)
    } else {
        Err(format!("{} cannot import boto3", python.display()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_through_boto3() {
    let Some(system) = system_python() else {
        eprintln!("skipped: the boto3 suite needs python3 (or $PYTHON), which is not installed");
        return;
    };
    let python = tokio::task::spawn_blocking(move || provision(&system))
        .await
        .expect("the provisioning task ran")
        .unwrap_or_else(|error| panic!("{error}"));
    let local = common::start().await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/boto3_suite.py");
    let child = tokio::process::Command::new(&python)
        .arg(script)
        .arg(local.server.endpoint())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the virtual environment's python runs");
    let output = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .expect("the boto3 suite finished within 120 s")
        .expect("the boto3 suite ran");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "boto3 suite failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
    assert!(stdout.contains("ok    matchmaking"), "{stdout}");
}
