//! Invites through `gamelift-local`'s local-only extension (`GameLiftLocal.SendSessionInvite`,
//! `ListSessionInvites`, `DeleteSessionInvite`), so the whole invite flow of named sessions runs
//! on one machine. Amazon GameLift has no invite API: against it, connect a transport of your
//! own (a platform's friends service, your backend) on
//! [`INVITE_TRANSPORT`](game_session::named::INVITE_TRANSPORT).
//!
//! ```no_run
//! use std::sync::Arc;
//! use game_session::named::INVITE_TRANSPORT;
//! use gamelift_client::local_invites::LocalInviteTransport;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let transport = LocalInviteTransport::new("http://127.0.0.1:9080")?;
//! let _connection = INVITE_TRANSPORT.connect(Arc::new(transport))?;
//! # Ok(())
//! # }
//! ```

use std::time::Duration;

use bytes::Bytes;
use game_session::named::{InviteTransport, NamedSessionError, SessionDetails, SessionInvite};
use game_session::{SessionConfig, SessionError};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

/// How long one extension call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Looks a game session up by id.
type Describe = dyn Fn(&str) -> Result<Option<SessionConfig>, SessionError> + Send + Sync;

/// An [`InviteTransport`] backed by `gamelift-local` (plain `http://` endpoints).
pub struct LocalInviteTransport {
    endpoint: String,
    /// `Some` until dropped.
    runtime: Option<tokio::runtime::Runtime>,
    client: Client<HttpConnector, Full<Bytes>>,
    /// Describes the invited-to sessions.
    describe: Box<Describe>,
}

impl std::fmt::Debug for LocalInviteTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalInviteTransport")
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

fn failed(message: impl Into<String>) -> NamedSessionError {
    NamedSessionError::Backend(SessionError::Transport(message.into()))
}

impl LocalInviteTransport {
    /// A transport for the `gamelift-local` at `endpoint` (`http://host:port`).
    pub fn new(endpoint: &str) -> Result<Self, NamedSessionError> {
        if !endpoint.starts_with("http://") {
            return Err(NamedSessionError::invalid(
                "endpoint",
                format!("`{endpoint}` is not an http:// URL of gamelift-local"),
            ));
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("local-invites")
            .enable_all()
            .build()
            .map_err(|e| failed(format!("cannot start the invite transport's runtime: {e}")))?;
        let client = Client::builder(TokioExecutor::new()).build_http();
        // Session details come from the control plane with the same credentials-free client.
        let sdk = {
            let config = aws_sdk_gamelift::Config::builder()
                .behavior_version(aws_sdk_gamelift::config::BehaviorVersion::latest())
                .region(aws_sdk_gamelift::config::Region::new("us-west-2"))
                .credentials_provider(aws_sdk_gamelift::config::Credentials::new(
                    "local",
                    "local",
                    None,
                    None,
                    "local-invites",
                ))
                .endpoint_url(endpoint)
                .build();
            crate::SdkApi::from_client(aws_sdk_gamelift::Client::from_conf(config))
        };
        let handle = runtime.handle().clone();
        let describe = Box::new(move |id: &str| {
            use crate::GameLiftApi;
            let (sdk, id) = (sdk.clone(), id.to_string());
            let (sender, receiver) = std::sync::mpsc::sync_channel(1);
            handle.spawn(async move {
                let _ = sender.send(sdk.describe_game_session(&id).await);
            });
            receiver
                .recv()
                .map_err(|_| SessionError::Transport("the describe call was dropped".into()))?
        });
        Ok(LocalInviteTransport {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            runtime: Some(runtime),
            client,
            describe,
        })
    }

    fn call(&self, operation: &str, input: Value) -> Result<Value, NamedSessionError> {
        let request = hyper::Request::post(format!("{}/", self.endpoint))
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-target", format!("GameLiftLocal.{operation}"))
            .body(Full::new(Bytes::from(input.to_string())))
            .map_err(|e| failed(e.to_string()))?;
        let client = self.client.clone();
        let endpoint = self.endpoint.clone();
        let (sender, receiver) = std::sync::mpsc::sync_channel(1);
        let Some(runtime) = &self.runtime else {
            return Err(failed("the invite transport is shut down"));
        };
        runtime.spawn(async move {
            let answer = tokio::time::timeout(CALL_TIMEOUT, async {
                let response = client
                    .request(request)
                    .await
                    .map_err(|e| format!("could not reach gamelift-local at {endpoint}: {e}"))?;
                let status = response.status();
                let body = response
                    .into_body()
                    .collect()
                    .await
                    .map_err(|e| e.to_string())?
                    .to_bytes();
                Ok::<_, String>((status, body))
            })
            .await
            .unwrap_or_else(|_| {
                Err(format!(
                    "gamelift-local at {endpoint} did not answer in time"
                ))
            });
            let _ = sender.send(answer);
        });
        let (status, body) = receiver
            .recv()
            .map_err(|_| failed("the invite call was dropped"))?
            .map_err(failed)?;
        let value: Value = serde_json::from_slice(&body).map_err(|e| {
            failed(format!(
                "{} did not answer as gamelift-local does (HTTP {status}): {e}",
                self.endpoint
            ))
        })?;
        if status.is_success() {
            return Ok(value);
        }
        let code = value["__type"].as_str().unwrap_or("Unknown").to_string();
        let message = value["message"].as_str().unwrap_or_default().to_string();
        Err(match code.as_str() {
            "NotFoundException" => NamedSessionError::NoPermission(message),
            "UnknownOperationException" => NamedSessionError::NotSupported {
                operation: "invites",
                missing: format!(
                    "{} does not offer the GameLiftLocal invite extension (is it gamelift-local?)",
                    self.endpoint
                ),
            },
            _ => NamedSessionError::Backend(SessionError::Service { code, message }),
        })
    }

    fn invite(&self, value: &Value) -> Result<SessionInvite, NamedSessionError> {
        let text = |key: &str| value[key].as_str().unwrap_or_default().to_string();
        let session_id = text("GameSessionId");
        let session = (self.describe)(&session_id)
            .map_err(NamedSessionError::Backend)?
            .map(|config| crate::named::session_details(&config))
            .unwrap_or_else(|| SessionDetails {
                session_id: session_id.clone(),
                owner: None,
                settings: Default::default(),
                player_count: 0,
                registered_players: Vec::new(),
                host_address: None,
            });
        Ok(SessionInvite {
            invite_id: text("InviteId"),
            from: text("From"),
            to: text("To"),
            session,
        })
    }
}

impl Drop for LocalInviteTransport {
    fn drop(&mut self) {
        // Dropping a runtime inside async code panics; let it wind down in the background.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl InviteTransport for LocalInviteTransport {
    fn send(
        &self,
        from: &str,
        to: &str,
        session: &SessionDetails,
    ) -> Result<String, NamedSessionError> {
        let answer = self.call(
            "SendSessionInvite",
            json!({"GameSessionId": session.session_id, "From": from, "To": to}),
        )?;
        Ok(answer["InviteId"].as_str().unwrap_or_default().to_string())
    }

    fn pending(&self, user: &str) -> Result<Vec<SessionInvite>, NamedSessionError> {
        let answer = self.call("ListSessionInvites", json!({"PlayerId": user}))?;
        answer["Invites"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|invite| self.invite(invite))
            .collect()
    }

    fn remove(&self, user: &str, invite_id: &str) -> Result<SessionInvite, NamedSessionError> {
        let answer = self.call(
            "DeleteSessionInvite",
            json!({"PlayerId": user, "InviteId": invite_id}),
        )?;
        self.invite(&answer["Invite"])
    }
}
