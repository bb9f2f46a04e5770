//! Opening connections: TLS roots, socket settings, and what a refused upgrade means.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use super::url::redact;
use crate::GameLiftError;

pub(crate) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A TLS client configuration trusting the system's roots plus `extra` PEM files.
pub(crate) fn tls_config(
    extra: &[std::path::PathBuf],
) -> Result<Arc<rustls::ClientConfig>, GameLiftError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for certificate in native.certs {
        // A system root this TLS stack cannot parse is skipped, as browsers do.
        let _ = roots.add(certificate);
    }
    for path in extra {
        let certificates = CertificateDer::pem_file_iter(path).map_err(|error| {
            GameLiftError::invalid(
                "extra_root_certificates",
                format!("cannot read {}: {error}", path.display()),
            )
        })?;
        let mut added = 0;
        for certificate in certificates {
            let certificate = certificate.map_err(|error| {
                GameLiftError::invalid(
                    "extra_root_certificates",
                    format!("{} holds a malformed certificate: {error}", path.display()),
                )
            })?;
            roots.add(certificate).map_err(|error| {
                GameLiftError::invalid(
                    "extra_root_certificates",
                    format!("{} holds an unusable certificate: {error}", path.display()),
                )
            })?;
            added += 1;
        }
        if added == 0 {
            return Err(GameLiftError::invalid(
                "extra_root_certificates",
                format!("{} holds no PEM certificate", path.display()),
            ));
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| GameLiftError::invalid("tls", error.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Small buffers: a process holds one mostly idle connection, and a host may run many.
fn socket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .write_buffer_size(0)
        .max_message_size(Some(4 << 20))
        .max_frame_size(Some(4 << 20))
}

/// One connection attempt.
pub(crate) async fn open(
    url: &str,
    tls: Option<Arc<rustls::ClientConfig>>,
    timeout: Duration,
) -> Result<Socket, GameLiftError> {
    let connector = match tls {
        Some(config) if url.starts_with("wss://") => Some(Connector::Rustls(config)),
        _ => Some(Connector::Plain),
    };
    let attempt = tokio_tungstenite::connect_async_tls_with_config(
        url,
        Some(socket_config()),
        true,
        connector,
    );
    let failed = |reason: String| GameLiftError::ConnectFailed {
        url: redact(url).to_string(),
        reason,
    };
    match tokio::time::timeout(timeout, attempt).await {
        Err(_) => Err(failed(format!("no answer within {timeout:?}"))),
        Ok(Ok((socket, _))) => Ok(socket),
        Ok(Err(tokio_tungstenite::tungstenite::Error::Http(response))) => {
            let status = response.status().as_u16();
            let body = response
                .body()
                .as_ref()
                .map(|bytes| String::from_utf8_lossy(bytes).trim().to_string())
                .unwrap_or_default();
            if (400..500).contains(&status) {
                Err(GameLiftError::ConnectForbidden {
                    status,
                    reason: body,
                })
            } else {
                Err(failed(format!("HTTP {status} {body}")))
            }
        }
        Ok(Err(error)) => Err(failed(error.to_string())),
    }
}
