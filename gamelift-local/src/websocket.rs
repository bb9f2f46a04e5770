//! The Server SDK 5 WebSocket endpoint: `GET /` (or an empty path) upgraded to a WebSocket.

use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};

use crate::processes::{Admitted, parse_query};
use crate::service::Service;
use crate::state::Outgoing;

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
    let parameters = parse_query(query.as_deref().unwrap_or_default());
    let admitted = match service.admit(&parameters) {
        Ok(admitted) => admitted,
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
        .on_failed_upgrade(move |_| failed_service.connection_closed(&region, &process, connection))
        .on_upgrade(move |socket| serve(service, admitted, socket))
}

async fn serve(service: Arc<Service>, admitted: Admitted, socket: WebSocket) {
    let Admitted {
        process,
        region,
        connection,
        mut outbox,
    } = admitted;
    let (mut writer, mut reader) = socket.split();
    let (replies, mut reply_queue) = tokio::sync::mpsc::unbounded_channel::<String>();
    // One writer: pushes from the service and replies to this connection's requests.
    let writing = tokio::spawn(async move {
        let mut close = CloseFrame {
            code: 1000,
            reason: "closed by gamelift-local".into(),
        };
        loop {
            let frame = tokio::select! {
                frame = outbox.recv() => frame,
                frame = reply_queue.recv() => frame.map(Outgoing::Text),
            };
            match frame {
                Some(Outgoing::Text(text)) => {
                    if writer.send(Message::Text(text.into())).await.is_err() {
                        return;
                    }
                }
                Some(Outgoing::Close { code, reason }) => {
                    close = CloseFrame {
                        code,
                        reason: reason.into(),
                    };
                    break;
                }
                None => break,
            }
        }
        let _ = writer.send(Message::Close(Some(close))).await;
        let _ = writer.close().await;
    });
    while let Some(message) = reader.next().await {
        match message {
            Ok(Message::Text(text)) => {
                if let Some(reply) = service.process_message(&region, &process, text.as_str())
                    && replies.send(reply).is_err()
                {
                    break;
                }
            }
            Ok(Message::Close(_)) | Err(_) => break,
            Ok(_) => {}
        }
    }
    service.connection_closed(&region, &process, connection);
    writing.abort();
}
