//! The boto3 suite (awsJson1.1): `tests/boto3_suite.py` against an in-process service.
//! Needs `python3` with boto3 (`pip install boto3`; CI installs it).

mod common;

use std::process::Stdio;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_through_boto3() {
    let local = common::start().await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/boto3_suite.py");
    let child = tokio::process::Command::new("python3")
        .arg(script)
        .arg(local.server.endpoint())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("python3 is installed");
    let output = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .expect("the boto3 suite finished within 120 s")
        .expect("the boto3 suite ran");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("No module named 'boto3'"),
        "boto3 is not installed: run `pip install boto3`"
    );
    assert!(
        output.status.success(),
        "boto3 suite failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
}
