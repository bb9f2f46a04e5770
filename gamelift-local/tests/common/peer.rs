//! A scripted game-server peer speaking the Server SDK 5 WebSocket protocol.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

pub struct Peer {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pushes: VecDeque<Value>,
    next_request: u64,
    unique: u64,
    pub process_id: String,
}

impl std::fmt::Debug for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peer")
            .field("process_id", &self.process_id)
            .finish()
    }
}

/// How a connection attempt ended.
#[derive(Debug)]
pub enum Refused {
    Status(u16),
    Other(String),
}

pub fn url(
    sdk_endpoint: &str,
    process: &str,
    fleet: &str,
    compute: &str,
    token: Option<&str>,
    idempotency: &str,
) -> String {
    let mut url = format!(
        "{sdk_endpoint}/?pID={process}&sdkVersion=5.4.0&sdkLanguage=Rust&ComputeId={compute}&FleetId={fleet}&IdempotencyToken={idempotency}"
    );
    if let Some(token) = token {
        url.push_str(&format!("&Authorization={token}"));
    }
    url
}

impl Peer {
    pub async fn connect_url(url: &str, process: &str) -> Result<Peer, Refused> {
        match tokio::time::timeout(Duration::from_secs(10), connect_async(url)).await {
            Err(_) => Err(Refused::Other("connect timed out".into())),
            Ok(Ok((socket, _))) => Ok(Peer {
                socket,
                pushes: VecDeque::new(),
                next_request: 0,
                unique: std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos() as u64),
                process_id: process.to_string(),
            }),
            Ok(Err(tokio_tungstenite::tungstenite::Error::Http(response))) => {
                Err(Refused::Status(response.status().as_u16()))
            }
            Ok(Err(other)) => Err(Refused::Other(other.to_string())),
        }
    }

    /// Connects over wss, trusting only the PEM certificate at `certificate`.
    pub async fn connect_url_tls(
        url: &str,
        process: &str,
        certificate: &std::path::Path,
    ) -> Result<Peer, Refused> {
        let config = client_config(certificate);
        let connector = tokio_tungstenite::Connector::Rustls(config);
        let attempt =
            tokio_tungstenite::connect_async_tls_with_config(url, None, false, Some(connector));
        match tokio::time::timeout(Duration::from_secs(10), attempt).await {
            Err(_) => Err(Refused::Other("connect timed out".into())),
            Ok(Ok((socket, _))) => Ok(Peer {
                socket,
                pushes: VecDeque::new(),
                next_request: 0,
                unique: 1,
                process_id: process.to_string(),
            }),
            Ok(Err(tokio_tungstenite::tungstenite::Error::Http(response))) => {
                Err(Refused::Status(response.status().as_u16()))
            }
            Ok(Err(other)) => Err(Refused::Other(other.to_string())),
        }
    }

    /// Connects with `--auth none` conventions (compute `host-1`, no token).
    pub async fn connect(sdk_endpoint: &str, process: &str, fleet: &str) -> Peer {
        Self::connect_url(
            &url(
                sdk_endpoint,
                process,
                fleet,
                "host-1",
                None,
                &format!("idem-{process}"),
            ),
            process,
        )
        .await
        .expect("the service accepts the process")
    }

    async fn read(&mut self) -> Value {
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(10), self.socket.next())
                .await
                .expect("a frame within 10 s")
                .expect("the connection is open")
                .expect("a valid frame");
            if let Message::Text(text) = frame {
                return serde_json::from_str(text.as_str()).expect("JSON");
            }
        }
    }

    /// Sends a raw text frame.
    pub async fn send_raw(&mut self, text: &str) {
        self.socket
            .send(Message::Text(text.to_string().into()))
            .await
            .expect("sent");
    }

    /// Sends a request with a fresh RequestId and returns the response; pushes that arrive
    /// meanwhile are kept for [`push`](Self::push).
    pub async fn request(&mut self, action: &str, fields: Value) -> Value {
        self.next_request += 1;
        let request_id = format!("{}-{}-{}", self.process_id, self.unique, self.next_request);
        self.request_with_id(action, &request_id, fields).await
    }

    pub async fn request_with_id(
        &mut self,
        action: &str,
        request_id: &str,
        fields: Value,
    ) -> Value {
        let mut message = fields.as_object().cloned().unwrap_or_default();
        message.insert("Action".into(), json!(action));
        message.insert("RequestId".into(), json!(request_id));
        self.send_raw(&Value::Object(message).to_string()).await;
        loop {
            let frame = self.read().await;
            if frame.get("RequestId").and_then(Value::as_str) == Some(request_id) {
                assert_eq!(
                    frame["Action"],
                    json!(action),
                    "the response echoes the Action"
                );
                return frame;
            }
            self.pushes.push_back(frame);
        }
    }

    /// The next push (waiting up to 10 s).
    pub async fn push(&mut self) -> Value {
        if let Some(push) = self.pushes.pop_front() {
            return push;
        }
        let frame = self.read().await;
        assert!(
            frame.get("RequestId").is_none(),
            "pushes carry no RequestId: {frame}"
        );
        frame
    }

    /// Whether a push arrives within `wait`.
    pub async fn maybe_push(&mut self, wait: Duration) -> Option<Value> {
        if let Some(push) = self.pushes.pop_front() {
            return Some(push);
        }
        match tokio::time::timeout(wait, self.socket.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                Some(serde_json::from_str(text.as_str()).expect("JSON"))
            }
            _ => None,
        }
    }

    /// ActivateServerProcess (ProcessReady) on `port`, then one healthy heartbeat.
    pub async fn ready(&mut self, port: u16) {
        let reply = self
            .request("ActivateServerProcess", json!({"SdkVersion": "5.4.0", "SdkLanguage": "Rust", "Port": port, "LogPaths": null}))
            .await;
        assert_eq!(reply["StatusCode"], 200, "{reply}");
        let beat = self
            .request("HeartbeatServerProcess", json!({"HealthStatus": true}))
            .await;
        assert_eq!(beat["StatusCode"], 200);
    }

    /// Closes the connection abruptly (no close frame).
    pub fn drop_connection(self) {
        drop(self);
    }

    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
    }
}

/// A TLS client configuration that trusts only the PEM certificate at `certificate`.
pub fn client_config(certificate: &std::path::Path) -> std::sync::Arc<rustls::ClientConfig> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(certificate).expect("the certificate file") {
        roots
            .add(cert.expect("a PEM certificate"))
            .expect("a valid certificate");
    }
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    std::sync::Arc::new(config)
}
