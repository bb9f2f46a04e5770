//! The listener: accepts TCP connections up to a cap, completes TLS handshakes off the accept
//! loop with a deadline, and serves HTTP/1.1 (and the WebSocket upgrade) with a header and idle
//! timeout, so no client can hold the service or its file descriptors by sending nothing.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
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
        .serve_connection(
            TokioIo::new(TypedParseErrors::new(stream)),
            TowerToHyperService::new(app),
        )
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

/// hyper answers a request it cannot parse (a malformed request line, a `Content-Length` that is
/// not a number, a header block that is too large) itself, with an empty 4xx. Every answer of the
/// service carries a body and a `content-type`; this writer turns hyper's empty answers into the
/// service's typed JSON errors, naming the problem, with the same status.
struct TypedParseErrors<S> {
    inner: S,
    /// A replacement answer not yet written.
    pending: Vec<u8>,
    written: usize,
}

impl<S> TypedParseErrors<S> {
    fn new(inner: S) -> Self {
        Self {
            inner,
            pending: Vec::new(),
            written: 0,
        }
    }
}

/// The typed answer for `head` when it is one of hyper's empty error answers.
fn typed_parse_error(head: &[u8]) -> Option<Vec<u8>> {
    if !head.starts_with(b"HTTP/1.1 4") || !head.ends_with(b"\r\n\r\n") {
        return None;
    }
    let text = std::str::from_utf8(head).ok()?.to_ascii_lowercase();
    if !text.contains("\r\ncontent-length: 0\r\n") || text.contains("\r\ncontent-type:") {
        return None;
    }
    let status_line = text.lines().next()?;
    let code: u16 = status_line.split(' ').nth(1)?.parse().ok()?;
    let message = match code {
        431 => "the request has too many headers (at most 100), or too large ones".to_string(),
        414 => "the request's URI is too long".to_string(),
        400 => "the request could not be read as HTTP/1.1: a malformed request line or header \
                (for example a Content-Length that is not a number, or two different ones)"
            .to_string(),
        other => format!("the request could not be read as HTTP/1.1 (status {other})"),
    };
    let body = serde_json::json!({
        "__type": crate::error::ErrorCode::Serialization.as_str(),
        "message": message,
    })
    .to_string();
    let reason = head
        .split(|b| *b == b'\r')
        .next()
        .map(|line| String::from_utf8_lossy(line).into_owned())
        .unwrap_or_default();
    Some(
        format!(
            "{reason}\r\ncontent-type: application/x-amz-json-1.1\r\nx-amzn-requestid: {}\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
            uuid::Uuid::new_v4(),
            body.len()
        )
        .into_bytes(),
    )
}

impl<S: AsyncWrite + Unpin> TypedParseErrors<S> {
    /// Writes what is pending of a replacement answer.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        while self.written < self.pending.len() {
            let n =
                ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        self.pending.clear();
        self.written = 0;
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for TypedParseErrors<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for TypedParseErrors<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        ready!(self.poll_pending(cx))?;
        if let Some(replacement) = typed_parse_error(buf) {
            self.pending = replacement;
            self.written = 0;
            // The replacement goes out now or at the next write, flush or shutdown.
            if let Poll::Ready(Err(error)) = self.poll_pending(cx) {
                return Poll::Ready(Err(error));
            }
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
