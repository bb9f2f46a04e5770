//! Waiting for the service a program needs, so that programs started together (the service, a
//! game server, a client) work in any order.
//!
//! ```no_run
//! # async fn run() -> Result<(), String> {
//! use std::time::Duration;
//! samples::wait::wait_for_service("http://127.0.0.1:9080", Duration::from_secs(60)).await?;
//! # Ok(())
//! # }
//! ```

use std::time::Duration;

use tokio::time::Instant;

/// Where a service URL listens: `(host, port)`, with the scheme's default port when none is
/// given. Errors name what is wrong with the URL.
pub fn socket_of(url: &str) -> Result<(String, u16), String> {
    let parsed = url::Url::parse(url).map_err(|e| {
        format!("`{url}` is not a URL ({e}); write it with its scheme, e.g. http://127.0.0.1:9080")
    })?;
    let default_port = match parsed.scheme() {
        "http" | "ws" => 80,
        "https" | "wss" => 443,
        other => {
            return Err(format!(
                "`{url}` has the scheme `{other}`; use http:// (or https:// when gamelift-local runs with --tls)"
            ));
        }
    };
    let host = parsed
        .host_str()
        .filter(|host| !host.is_empty())
        .ok_or_else(|| format!("`{url}` names no host"))?;
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    Ok((host, parsed.port().unwrap_or(default_port)))
}

/// Waits until something accepts TCP connections at `url`, retrying with a short backoff (100 ms
/// growing to 1 s) for at most `patience`. The first failed attempt prints one line, `waiting for
/// gamelift-local at URL`, to stderr; giving up returns an error that says what to do.
pub async fn wait_for_service(url: &str, patience: Duration) -> Result<(), String> {
    let (host, port) = socket_of(url)?;
    let deadline = Instant::now() + patience;
    let mut delay = Duration::from_millis(100);
    let mut said = false;
    loop {
        let attempt = tokio::time::timeout(
            Duration::from_secs(2),
            tokio::net::TcpStream::connect((host.as_str(), port)),
        )
        .await;
        let error = match attempt {
            Ok(Ok(_)) => return Ok(()),
            Ok(Err(error)) => error.to_string(),
            Err(_) => "no answer within 2 s".to_string(),
        };
        if Instant::now() + delay >= deadline {
            return Err(format!(
                "gamelift-local did not answer at {url} within {} s ({error}); start it with \
                 `cargo run -p gamelift-local`, or point this program at the right endpoint",
                patience.as_secs()
            ));
        }
        if !said {
            eprintln!(
                "waiting for gamelift-local at {url} ({error}; giving up after {} s)",
                patience.as_secs()
            );
            said = true;
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_become_host_and_port() {
        assert_eq!(
            socket_of("http://127.0.0.1:9080").unwrap(),
            ("127.0.0.1".into(), 9080)
        );
        assert_eq!(
            socket_of("wss://example.com/x").unwrap(),
            ("example.com".into(), 443)
        );
        assert_eq!(socket_of("ws://[::1]:5/").unwrap(), ("::1".into(), 5));
        assert!(socket_of("127.0.0.1:9080").unwrap_err().contains("scheme"));
        assert!(socket_of("no url").unwrap_err().contains("not a URL"));
        assert!(socket_of("ftp://h").unwrap_err().contains("`ftp`"));
    }

    #[tokio::test]
    async fn a_silent_port_fails_with_what_to_do() {
        // A port that was just free: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}");
        let error = wait_for_service(&url, Duration::from_millis(300))
            .await
            .unwrap_err();
        assert!(error.contains(&url), "{error}");
        assert!(error.contains("cargo run -p gamelift-local"), "{error}");
    }

    #[tokio::test]
    async fn a_service_that_starts_late_is_found() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        drop(listener);
        let url = format!("http://{address}");
        let waiting =
            tokio::spawn(async move { wait_for_service(&url, Duration::from_secs(20)).await });
        tokio::task::yield_now().await;
        let listener = tokio::net::TcpListener::bind(address).await.unwrap();
        let accept = tokio::spawn(async move { listener.accept().await.map(|_| ()) });
        assert_eq!(waiting.await.unwrap(), Ok(()));
        let _ = accept.await;
    }
}
