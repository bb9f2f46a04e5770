//! The Server SDK 5 WebSocket endpoint: `GET /` (or an empty path) upgraded to a WebSocket.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};

use crate::processes::Admitted;
use crate::service::Service;
use crate::state::ConnectionOutbox;
use crate::wire::parse_query;

/// The largest message a process may send.
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;

/// Upgrades a game server's connection, or refuses it with 403 before the upgrade.
pub async fn upgrade(
    State(service): State<Arc<Service>>,
    RawQuery(query): RawQuery,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let Ok(upgrade) = upgrade else {
        return (
            StatusCode::BAD_REQUEST,
            "gamelift-local: GET / is the Server SDK 5 WebSocket endpoint; send a WebSocket upgrade. The control plane is POST.",
        )
            .into_response();
    };
    let open = service.websockets.load(Ordering::Relaxed);
    if open >= service.config().max_connections {
        tracing::warn!(target: "gamelift_local", open, "Server SDK connection refused: the connection limit is reached");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("gamelift-local has {open} Server SDK connections open, its limit (--max-connections)"),
        )
            .into_response();
    }
    let parameters = parse_query(query.as_deref().unwrap_or_default());
    let admitted = match service.admit(&parameters) {
        Ok(admitted) => {
            if let Err(error) = service.durable().await {
                return (StatusCode::INTERNAL_SERVER_ERROR, error.message).into_response();
            }
            admitted
        }
        Err(refusal) => {
            tracing::info!(target: "gamelift_local", reason = %refusal.0, "server process connection refused");
            return (StatusCode::FORBIDDEN, refusal.0).into_response();
        }
    };
    let failed_service = Arc::clone(&service);
    let (region, process, connection) = (
        admitted.region.clone(),
        admitted.process.clone(),
        admitted.connection,
    );
    // Server SDK frames are small: keep per-connection buffers small, and bound messages.
    upgrade
        .read_buffer_size(4 * 1024)
        .write_buffer_size(4 * 1024)
        .max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .on_failed_upgrade(move |_| {
            failed_service.connection_closed(&region, &process, connection, false)
        })
        .on_upgrade(move |socket| serve(service, admitted, socket))
}

/// How long the service waits for the other side of a close handshake, and for its own Close
/// frame to be written, before it drops the connection.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Counts a Server SDK connection while it lives.
struct Open(Arc<Service>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.websockets.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn serve(service: Arc<Service>, admitted: Admitted, socket: WebSocket) {
    service.websockets.fetch_add(1, Ordering::Relaxed);
    let _open = Open(Arc::clone(&service));
    let Admitted {
        process,
        region,
        connection,
        outbox,
        link,
    } = admitted;
    let idle = Duration::from_millis(service.config().websocket_idle_timeout_millis.max(1));
    let (mut writer, mut reader) = socket.split();
    // The reader hands the writer the client's Close frame, to be echoed.
    let (echo, mut echo_request) = tokio::sync::oneshot::channel::<Option<CloseFrame>>();
    // The writer says when it sent a Close of its own, so the reader waits only so long for
    // the answer.
    let (closing, mut close_sent) = tokio::sync::watch::channel(false);
    let ConnectionOutbox {
        mut frames,
        close: mut close_signal,
    } = outbox;
    // One writer: pushes from the service and replies to this connection's requests (one bounded
    // queue), then the Close frame of the handshake, whichever side starts it. A close the
    // service asks for (shutdown, refresh, a client that does not read, idleness) comes after
    // the frames already queued, and also interrupts a write the client does not take.
    let writer_service = Arc::clone(&service);
    let writing = tokio::spawn(async move {
        let requested_close = |signal: &tokio::sync::watch::Receiver<Option<(u16, String)>>| {
            signal.borrow().clone().map(|(code, reason)| CloseFrame {
                code,
                reason: reason.into(),
            })
        };
        let close = loop {
            let frame = tokio::select! {
                biased;
                frame = frames.recv() => frame,
                requested = &mut echo_request => match requested {
                    // Answer the client's Close with the same code (no code: an empty Close).
                    Ok(frame) => break frame,
                    Err(_) => None,
                },
                _ = close_signal.changed() => break requested_close(&close_signal),
            };
            let Some(text) = frame else {
                break Some(CloseFrame {
                    code: 1000,
                    reason: "closed by gamelift-local".into(),
                });
            };
            // Everything queued so far goes out once the changes behind it are on disk (with
            // a state directory; at once without): a process is never told of a change, nor
            // answered for one, that a crash could take back.
            let mut batch = vec![text];
            while let Ok(more) = frames.try_recv() {
                batch.push(more);
            }
            if let Err(error) = writer_service.durable().await {
                tracing::error!(target: "gamelift_local", %error, "closing a Server SDK connection: its changes could not be written");
                break Some(CloseFrame {
                    code: 1011,
                    reason: "gamelift-local could not write its state".into(),
                });
            }
            for text in batch {
                tokio::select! {
                    sent = writer.send(Message::Text(text.into())) => if sent.is_err() { return },
                    _ = close_signal.changed() => break,
                }
            }
            if close_signal.has_changed().unwrap_or(true) || close_signal.borrow().is_some() {
                break requested_close(&close_signal);
            }
        };
        let _ = closing.send(true);
        // Send the Close frame and flush it; the transport (with TLS, close_notify) is shut
        // down when the connection is dropped.
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
            let _ = writer.send(Message::Close(close)).await;
            let _ = writer.close().await;
        })
        .await;
    });
    let mut goodbye = false;
    let mut answer_deadline: Option<tokio::time::Instant> = None;
    let mut budget = FrameBudget::new(service.config().websocket_frame_rate);
    loop {
        // Over its frame rate, a connection waits before its next frame is read.
        if let Some(wait) = budget.wait() {
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = sleep_until(answer_deadline) => break,
            }
        }
        let next = tokio::select! {
            next = tokio::time::timeout(idle, reader.next()) => match next {
                Ok(next) => next,
                Err(_) => {
                    link.close(1008, format!("nothing received for {} s", idle.as_secs()));
                    continue;
                }
            },
            // The service started the close: wait a bounded time for the client's answer.
            changed = close_sent.changed(), if answer_deadline.is_none() => {
                if changed.is_err() || *close_sent.borrow() {
                    answer_deadline = Some(tokio::time::Instant::now() + CLOSE_TIMEOUT);
                }
                continue;
            }
            _ = sleep_until(answer_deadline) => break,
        };
        budget.spend();
        match next {
            Some(Ok(Message::Text(text))) => {
                // The reply is queued in order with pushes; a full queue closes the connection
                // (the client does not read).
                service.process_message(&region, &process, text.as_str(), &link);
            }
            Some(Ok(Message::Binary(_))) => {
                link.send(binary_refusal());
            }
            Some(Ok(Message::Close(frame))) => {
                // A client that closes with 1000 (normal) or 1001 (going away), or with no
                // code, is leaving on purpose; anything else is a failure it may recover from.
                goodbye = frame
                    .as_ref()
                    .is_none_or(|frame| frame.code == 1000 || frame.code == 1001);
                let _ = echo.send(frame);
                break;
            }
            Some(Ok(_)) => {}
            Some(Err(_)) | None => {
                writing.abort();
                break;
            }
        }
    }
    service.connection_closed(&region, &process, connection, goodbye);
    // Let the writer finish the handshake (it is bounded by CLOSE_TIMEOUT).
    let _ = writing.await;
}

/// The error frame for a binary frame: the protocol is JSON text.
fn binary_refusal() -> String {
    let envelope = sdk5_protocol::Envelope::error(
        &sdk5_protocol::Envelope::default(),
        400,
        "binary frames are not part of the Server SDK 5 protocol; send JSON text frames",
    );
    sdk5_protocol::encode(&envelope, &sdk5_protocol::Empty {})
}

/// A token bucket over the frames one connection sends: `rate` a second, bursts of `2 * rate`.
struct FrameBudget {
    rate: f64,
    tokens: f64,
    at: tokio::time::Instant,
}

impl FrameBudget {
    fn new(rate: u32) -> Self {
        let rate = f64::from(rate.max(1));
        Self {
            rate,
            tokens: 2.0 * rate,
            at: tokio::time::Instant::now(),
        }
    }

    /// How long to wait before the next frame may be read (`None`: at once).
    fn wait(&mut self) -> Option<Duration> {
        let now = tokio::time::Instant::now();
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(2.0 * self.rate);
        self.at = now;
        (self.tokens < 1.0).then(|| Duration::from_secs_f64((1.0 - self.tokens) / self.rate))
    }

    fn spend(&mut self) {
        self.tokens -= 1.0;
    }
}

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
