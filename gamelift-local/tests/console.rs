//! The web console in a real headless Chromium, driven over WebDriver: the page loads, shows a
//! game session created through the AWS SDK, and updates when a player joins.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`apt-get install chromium chromium-driver`).
//! Without them the test says so and passes, unless `GAMELIFT_LOCAL_REQUIRE_BROWSER` is set (CI
//! sets it, so a missing browser fails there).

mod common;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use fantoccini::{ClientBuilder, Locator};
use serde_json::json;
use tokio::process::{Child, Command};

fn find(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

/// chromedriver on a free loopback port, killed when dropped.
async fn chromedriver(driver: &PathBuf) -> (Child, String) {
    let port = free_port();
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .arg("--allowed-ips=127.0.0.1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("chromedriver starts");
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return (child, url);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not listen on {url} within 10 s");
}

#[tokio::test]
async fn the_console_shows_a_session_and_updates_when_a_player_joins() {
    let (Some(browser), Some(driver)) = (
        find(&["chromium", "chromium-browser", "google-chrome"]),
        find(&["chromedriver"]),
    ) else {
        let message = "the console browser test needs chromium and chromedriver \
                       (apt-get install chromium chromium-driver)";
        assert!(
            std::env::var_os("GAMELIFT_LOCAL_REQUIRE_BROWSER").is_none(),
            "{message}"
        );
        eprintln!("skipped: {message}");
        return;
    };
    let local = common::start().await;
    let (_driver, driver_url) = chromedriver(&driver).await;
    let profile =
        std::env::temp_dir().join(format!("gamelift-local-console-{}", std::process::id()));
    let capabilities = json!({
        "goog:chromeOptions": {
            "binary": browser,
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-background-networking",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                format!("--user-data-dir={}", profile.display()),
            ],
        }
    });
    let capabilities = match capabilities {
        serde_json::Value::Object(map) => map,
        _ => unreachable!(),
    };
    let browser = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver_url)
        .await
        .expect("a WebDriver session in headless Chromium");

    let console = format!("{}/_gamelift_local/console", local.server.endpoint());
    browser.goto(&console).await.expect("the console loads");
    assert_eq!(browser.title().await.unwrap(), "gamelift-local");
    browser
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(r#"[data-fleet="fleet-local"]"#))
        .await
        .expect("the default fleet is listed");

    // A session created through the AWS SDK appears.
    let session = local.session(4).await;
    let arn = session.game_session_id().unwrap().to_string();
    let row = browser
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(&format!(r#"tr[data-game-session="{arn}"]"#)))
        .await
        .expect("the new game session is shown");
    assert!(row.text().await.unwrap().contains("ACTIVE"));
    let players = browser
        .find(Locator::Css(&format!(r#"td[data-players="{arn}"]"#)))
        .await
        .unwrap();
    assert!(players.text().await.unwrap().starts_with("0 / 4"));

    // A player joins: the page updates by itself.
    local.join(&arn, "ada").await;
    let ada = browser
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(&format!(
            r#"td[data-players="{arn}"] li[data-player="ada"]"#
        )))
        .await
        .expect("the joined player is shown");
    assert!(ada.text().await.unwrap().contains("RESERVED"));
    let players = browser
        .find(Locator::Css(&format!(r#"td[data-players="{arn}"]"#)))
        .await
        .unwrap();
    assert!(players.text().await.unwrap().starts_with("1 / 4"));

    browser.close().await.expect("the browser closes");
    let _ = std::fs::remove_dir_all(profile);
}
