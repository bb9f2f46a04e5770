//! The listener: accepts TCP connections up to a cap, completes TLS handshakes off the accept
//! loop with a deadline, and serves HTTP/1.1 (and the WebSocket upgrade) with a header and idle
//! timeout, so no client can hold the service or its file descriptors by sending nothing.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

use crate::config::ServiceConfig;
use crate::tls::GracefulTls;

/// How long requests in flight get to finish when the service stops.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// The connection bounds, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Connections open at once; more are refused (plain HTTP gets a 503 first).
    pub max_connections: usize,
    /// Time for a TLS handshake.
    pub tls_handshake: Duration,
    /// Time for a request's headers, and the longest an idle keep-alive connection stays open.
    pub header: Duration,
}

impl ConnectionLimits {
    /// The limits `config` sets.
    pub fn from_config(config: &ServiceConfig) -> Self {
        Self {
            max_connections: config.max_connections.max(1),
            tls_handshake: Duration::from_millis(config.tls_handshake_timeout_millis.max(1)),
            header: Duration::from_millis(config.http_header_timeout_millis.max(1)),
        }
    }
}

/// The answer to a connection over the cap, written before it is closed.
fn over_capacity(max: usize) -> Vec<u8> {
    let body = format!(
        r#"{{"__type":"ServiceUnavailableException","message":"gamelift-local has {max} connections open, its limit (--max-connections)"}}"#
    );
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Serves `app` on `listener` until `shutdown` completes, then lets requests in flight finish
/// (bounded). Upgraded WebSocket connections run on their own and are closed by the service.
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let (stopping, stop_signal) = tokio::sync::watch::channel(false);
    let mut refused_logged = false;
    tokio::pin!(shutdown);
    loop {
        let (tcp, address) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!(target: "gamelift_local", %error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            if !refused_logged {
                tracing::warn!(target: "gamelift_local", max = limits.max_connections, "connection limit reached; refusing new connections");
                refused_logged = true;
            }
            if tls.is_none() {
                let _ = tcp.try_write(&over_capacity(limits.max_connections));
            }
            continue;
        };
        refused_logged = false;
        let _ = tcp.set_nodelay(true);
        let app = app.clone();
        let tls = tls.clone();
        let stop_signal = stop_signal.clone();
        tokio::spawn(async move {
            let _permit = permit;
            match tls {
                None => serve_connection(tcp, app, limits, stop_signal).await,
                Some(acceptor) => {
                    match tokio::time::timeout(limits.tls_handshake, acceptor.accept(tcp)).await {
                        Ok(Ok(stream)) => {
                            serve_connection(GracefulTls::new(stream), app, limits, stop_signal)
                                .await;
                        }
                        Ok(Err(error)) => {
                            tracing::debug!(target: "gamelift_local", %address, %error, "TLS handshake failed");
                        }
                        Err(_) => {
                            tracing::debug!(target: "gamelift_local", %address, "TLS handshake timed out");
                        }
                    }
                }
            }
        });
    }
    drop(listener);
    // Connections finish the request they are serving, then close; wait for them (bounded).
    let _ = stopping.send(true);
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, permits.acquire_many(all)).await;
}

async fn serve_connection<S>(
    stream: S,
    app: Router,
    limits: ConnectionLimits,
    mut stop_signal: tokio::sync::watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header)
        .max_buf_size(64 * 1024)
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(app))
        .with_upgrades();
    tokio::pin!(connection);
    let stopped = async move {
        let _ = stop_signal.wait_for(|stopping| *stopping).await.map(drop);
    };
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = stopped => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        tracing::trace!(target: "gamelift_local", %error, "connection ended");
    }
}
