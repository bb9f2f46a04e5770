//! A native Server SDK 5: the game server's connection to Amazon GameLift (or `gamelift-local`).
//!
//! One [`GameLiftServerSdk`] per server process. It connects over one WebSocket (`ws://` or
//! `wss://`), tells the service the process is ready, heartbeats, receives game sessions through
//! the [`ProcessParameters`] callbacks, and makes the calls a game server needs (activate the
//! session, accept and remove players, backfill, and so on).
//!
//! ```no_run
//! use gamelift_server::sdk::{GameLiftServerSdk, ProcessParameters, ServerParameters};
//!
//! # async fn run() -> Result<(), gamelift_server::GameLiftError> {
//! // GAMELIFT_SDK_WEBSOCKET_URL, _AUTH_TOKEN, _FLEET_ID, _HOST_ID, _PROCESS_ID
//! let sdk = GameLiftServerSdk::init(ServerParameters::from_env()?).await?;
//! let handle = sdk.clone();
//! let process = ProcessParameters::new(7777, move |session| {
//!     println!("hosting {}", session.game_session_id);
//!     let sdk = handle.clone();
//!     // Callbacks run on blocking threads; hand async work to the runtime.
//!     tokio::runtime::Handle::current().spawn(async move { sdk.activate_game_session().await });
//! })
//! .on_health_check(|| true);
//! sdk.process_ready(process).await?;
//! # Ok(()) }
//! ```
//!
//! Behaviour, as the official SDKs behave: requests are matched to answers by `RequestId` and
//! time out after 20 s (6 s for ActivateServerProcess); heartbeats start right after
//! `process_ready` and repeat every 60 s ± 10 s, asking the health callback with a 50 s budget;
//! a connection closed with anything but 1000/1001 is reopened with backoff (4 s doubling to
//! 32 s, 7 attempts), and so is a connection after two requests in a row timed out;
//! RefreshConnection opens the new connection before the old one is closed. Every interval is in
//! [`SdkConfig`].

mod model;
mod params;
mod transport;
mod url;

pub use model::{
    ComputeCertificate, DescribePlayerSessionsRequest, DescribePlayerSessionsResult,
    FleetRoleCredentials, FleetRoleCredentialsRequest, GameSession, GameSessionStatus,
    HealthCheckCallback, PlayerSession, PlayerSessionCreationPolicy, PlayerSessionFilter,
    PlayerSessionStatus, ProcessParameters, ProcessTerminateCallback, StartGameSessionCallback,
    StartMatchBackfillRequest, StopMatchBackfillRequest, UpdateGameSession,
    UpdateGameSessionCallback, UpdateReason,
};
pub use params::{SdkConfig, ServerParameters, ServerParametersBuilder};

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use sdk5_protocol::{self as sdk5, Envelope, Frame, Push, Request};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::AbortHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::GameLiftError;
use model::check_player_session_id;
use transport::Socket;
use url::{Auth, connection_url, redact};

/// Credentials are reused while at least this much validity remains.
const CREDENTIALS_MIN_VALIDITY: Duration = Duration::from_secs(15 * 60);

/// A live connection to the service. Cloning is cheap; every clone is the same process.
///
/// Dropping the last clone closes the connection as [`destroy`](Self::destroy) does.
#[derive(Clone)]
pub struct GameLiftServerSdk {
    inner: Arc<Inner>,
    _owner: Arc<Owner>,
}

impl std::fmt::Debug for GameLiftServerSdk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GameLiftServerSdk")
            .field("process_id", &self.inner.parameters.process_id())
            .field("connected", &self.is_connected())
            .finish_non_exhaustive()
    }
}

/// Ends the SDK when the last handle goes (tasks hold only `Inner`).
struct Owner(Arc<Inner>);

impl Drop for Owner {
    fn drop(&mut self) {
        self.0.shut_down();
    }
}

struct Link {
    generation: u64,
    frames: mpsc::UnboundedSender<Message>,
    reader: AbortHandle,
    writer: AbortHandle,
}

impl Link {
    /// Drops the connection at once, without a close handshake.
    fn abort(&self) {
        self.reader.abort();
        self.writer.abort();
    }

    fn close(&self, code: u16, reason: &str) {
        let _ = self.frames.send(Message::Close(Some(CloseFrame {
            code: CloseCode::from(code),
            reason: reason.to_string().into(),
        })));
    }
}

struct Pending {
    action: String,
    generation: u64,
    reply: oneshot::Sender<Result<Frame, GameLiftError>>,
}

#[derive(Default)]
struct State {
    destroyed: bool,
    /// The service closed the connection for good (1000/1001), or reconnecting gave up.
    connection_lost: Option<String>,
    ready: bool,
    process: Option<ProcessParameters>,
    game_session_id: Option<String>,
    termination_time_millis: Option<i64>,
    heartbeat: Option<AbortHandle>,
    credentials: HashMap<String, FleetRoleCredentials>,
    managed_fleet: Option<bool>,
}

struct Inner {
    parameters: ServerParameters,
    config: SdkConfig,
    tls: OnceLock<Arc<rustls::ClientConfig>>,
    /// The URL reconnects use (the same idempotency token; a refresh replaces it).
    url: Mutex<String>,
    link: Mutex<Option<Link>>,
    link_changed: watch::Sender<u64>,
    pending: Mutex<HashMap<String, Pending>>,
    next_generation: AtomicU64,
    consecutive_timeouts: AtomicU32,
    reconnecting: AtomicBool,
    state: Mutex<State>,
    connection: watch::Sender<ConnectionState>,
}

/// Where the SDK's connection to the service stands; see
/// [`GameLiftServerSdk::connection_state`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionState {
    /// Connected; requests are sent.
    Connected,
    /// The connection broke and the SDK is reconnecting. After `connect_attempts` failures it
    /// keeps trying at the longest backoff until it gets through or the process is destroyed
    /// (a restarting service answers 403 or refuses connections for a while); requests fail
    /// at once with `NotConnected` meanwhile.
    Reconnecting {
        /// Failed attempts so far.
        attempts: u32,
        /// Why the last attempt failed.
        last_error: String,
    },
    /// The service closed the connection for good (1000 or 1001), or the process was
    /// destroyed; no reconnect follows.
    Closed {
        /// Why.
        reason: String,
    },
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl GameLiftServerSdk {
    /// The Server SDK protocol version this SDK speaks.
    pub fn sdk_version() -> &'static str {
        url::SDK_VERSION
    }

    /// Connects with the default timings. Must run on a tokio runtime.
    pub async fn init(parameters: ServerParameters) -> Result<Self, GameLiftError> {
        Self::init_with(parameters, SdkConfig::default()).await
    }

    /// Connects with parameters from the `GAMELIFT_SDK_*` environment (see
    /// [`ServerParameters::from_env`]).
    pub async fn init_from_env() -> Result<Self, GameLiftError> {
        Self::init(ServerParameters::from_env()?).await
    }

    /// Connects with the given timings. Transport failures are retried with the reconnect
    /// backoff; a refused upgrade (bad token, unknown fleet, process id in use) is not.
    pub async fn init_with(
        parameters: ServerParameters,
        config: SdkConfig,
    ) -> Result<Self, GameLiftError> {
        parameters.validate()?;
        let idempotency_token = uuid::Uuid::new_v4().to_string();
        let url = match parameters.sigv4_credentials() {
            None => connection_url(
                parameters.websocket_url(),
                &parameters,
                &idempotency_token,
                Auth::Token(parameters.auth_token()),
            ),
            Some((region, access_key, secret_key, session_token)) => connection_url(
                parameters.websocket_url(),
                &parameters,
                &idempotency_token,
                Auth::SigV4 {
                    region,
                    access_key,
                    secret_key,
                    session_token,
                    now: SystemTime::now(),
                },
            ),
        };
        let (link_changed, _) = watch::channel(0);
        let (connection, _) = watch::channel(ConnectionState::Reconnecting {
            attempts: 0,
            last_error: "not connected yet".into(),
        });
        let inner = Arc::new(Inner {
            connection,
            parameters,
            config,
            tls: OnceLock::new(),
            url: Mutex::new(url.clone()),
            link: Mutex::new(None),
            link_changed,
            pending: Mutex::new(HashMap::new()),
            next_generation: AtomicU64::new(1),
            consecutive_timeouts: AtomicU32::new(0),
            reconnecting: AtomicBool::new(false),
            state: Mutex::new(State::default()),
        });
        let mut last_error = None;
        for attempt in 0..inner.config.connect_attempts.max(1) {
            tokio::time::sleep(inner.config.backoff(attempt)).await;
            match inner.open(&url).await {
                Ok(socket) => {
                    inner.install(socket);
                    tracing::info!(target: "gamelift_server", process = inner.parameters.process_id(), endpoint = redact(&url), "connected to the GameLift service");
                    return Ok(GameLiftServerSdk {
                        _owner: Arc::new(Owner(inner.clone())),
                        inner,
                    });
                }
                Err(
                    error @ (GameLiftError::ConnectForbidden { .. }
                    | GameLiftError::Validation { .. }),
                ) => {
                    return Err(error);
                }
                Err(error) => {
                    tracing::warn!(target: "gamelift_server", attempt = attempt + 1, %error, "connecting to the GameLift service failed");
                    last_error = Some(error);
                }
            }
        }
        Err(last_error.unwrap_or(GameLiftError::NotConnected("no connection attempt".into())))
    }

    /// The parameters the SDK connected with.
    pub fn parameters(&self) -> &ServerParameters {
        &self.inner.parameters
    }

    /// Whether a connection is open right now.
    pub fn is_connected(&self) -> bool {
        lock(&self.inner.link).is_some()
    }

    /// How many connections this SDK has opened (reconnects and refreshes add one each).
    pub fn connections_opened(&self) -> u64 {
        self.inner.next_generation.load(Ordering::Relaxed) - 1
    }

    /// The connection's state now and as it changes: connected, reconnecting (with the failed
    /// attempts and the last error), or closed. A game can watch it to tell its players or its
    /// orchestrator that the process cannot reach the service.
    pub fn connection_state(&self) -> watch::Receiver<ConnectionState> {
        self.inner.connection.subscribe()
    }

    /// Whether `process_ready` succeeded and `process_ending` has not been called.
    pub fn is_ready(&self) -> bool {
        lock(&self.inner.state).ready
    }

    /// Tells the service the process can host a game session (ActivateServerProcess), then
    /// starts heartbeating.
    pub async fn process_ready(&self, process: ProcessParameters) -> Result<(), GameLiftError> {
        process.validate()?;
        self.inner.check_alive()?;
        let mut body = sdk5::ActivateServerProcess {
            sdk_version: url::SDK_VERSION.to_string(),
            sdk_language: url::SDK_LANGUAGE.to_string(),
            port: process.port,
            log_paths: process.log_paths.clone(),
            ..Default::default()
        };
        let tool = self.inner.config.sdk_tool.clone().or_else(|| {
            let name = std::env::var("GAMELIFT_SDK_TOOL_NAME").ok()?;
            let version = std::env::var("GAMELIFT_SDK_TOOL_VERSION").unwrap_or_default();
            Some((name, version))
        });
        if let Some((name, version)) = tool {
            body.sdk_tool_name = Some(name);
            body.sdk_tool_version = Some(version);
        }
        let timeout = self.inner.config.activate_timeout;
        self.inner.request(&body, timeout).await?;
        let mut state = lock(&self.inner.state);
        if state.destroyed {
            return Err(GameLiftError::NotInitialized);
        }
        state.ready = true;
        state.process = Some(process);
        let heartbeat = tokio::spawn(heartbeat_loop(self.inner.clone()));
        if let Some(old) = state.heartbeat.replace(heartbeat.abort_handle()) {
            old.abort();
        }
        Ok(())
    }

    /// Tells the service the process is ending (TerminateServerProcess) and stops the
    /// heartbeats. The connection stays open until [`destroy`](Self::destroy).
    pub async fn process_ending(&self) -> Result<(), GameLiftError> {
        self.inner.process_ending().await
    }

    /// Tells the service the game session is ready for players.
    pub async fn activate_game_session(&self) -> Result<(), GameLiftError> {
        let session = self.inner.ready_session()?;
        self.inner
            .call(&sdk5::ActivateGameSession {
                game_session_id: session,
            })
            .await
            .map(drop)
    }

    /// Lets new players in, or not.
    pub async fn update_player_session_creation_policy(
        &self,
        policy: PlayerSessionCreationPolicy,
    ) -> Result<(), GameLiftError> {
        let session = self.inner.ready_session()?;
        self.inner
            .call(&sdk5::UpdatePlayerSessionCreationPolicy {
                game_session_id: session,
                player_session_policy: Some(policy),
            })
            .await
            .map(drop)
    }

    /// The id of the game session this process hosts.
    pub fn game_session_id(&self) -> Result<String, GameLiftError> {
        let state = lock(&self.inner.state);
        if state.destroyed {
            return Err(GameLiftError::NotInitialized);
        }
        state
            .game_session_id
            .clone()
            .ok_or(GameLiftError::GameSessionIdNotSet)
    }

    /// When the service will stop this process, once it has sent TerminateProcess.
    pub fn termination_time(&self) -> Result<SystemTime, GameLiftError> {
        let millis = lock(&self.inner.state)
            .termination_time_millis
            .ok_or(GameLiftError::TerminationTimeNotSet)?;
        Ok(UNIX_EPOCH + Duration::from_millis(millis.max(0) as u64))
    }

    /// Accepts a player who connected with `player_session_id`: RESERVED becomes ACTIVE. Forged,
    /// reused, other sessions' and timed-out ids fail.
    pub async fn accept_player_session(
        &self,
        player_session_id: &str,
    ) -> Result<(), GameLiftError> {
        let body = self.player_session_action(player_session_id)?;
        self.inner
            .call(&sdk5::AcceptPlayerSession(body))
            .await
            .map(drop)
    }

    /// Reports that a player left: the player session becomes COMPLETED and its slot is free.
    pub async fn remove_player_session(
        &self,
        player_session_id: &str,
    ) -> Result<(), GameLiftError> {
        let body = self.player_session_action(player_session_id)?;
        self.inner
            .call(&sdk5::RemovePlayerSession(body))
            .await
            .map(drop)
    }

    fn player_session_action(
        &self,
        player_session_id: &str,
    ) -> Result<sdk5::PlayerSessionAction, GameLiftError> {
        check_player_session_id(player_session_id)?;
        Ok(sdk5::PlayerSessionAction {
            game_session_id: self.inner.ready_session()?,
            player_session_id: player_session_id.to_string(),
        })
    }

    /// Lists player sessions, a page at a time.
    pub async fn describe_player_sessions(
        &self,
        request: &DescribePlayerSessionsRequest,
    ) -> Result<DescribePlayerSessionsResult, GameLiftError> {
        let body = request.to_message()?;
        self.inner.check_alive()?;
        self.inner.call(&body).await
    }

    /// Asks the matchmaker to fill the session's open slots; returns the ticket id. Results
    /// arrive as an update ([`UpdateReason`]).
    pub async fn start_match_backfill(
        &self,
        request: &StartMatchBackfillRequest,
    ) -> Result<String, GameLiftError> {
        let body = request.to_message()?;
        self.inner.check_alive()?;
        let ticket = self.inner.call(&body).await?.ticket_id;
        if ticket.is_empty() {
            return Err(GameLiftError::MalformedResponse {
                action: "StartMatchBackfill".into(),
                reason: "no TicketId".into(),
            });
        }
        Ok(ticket)
    }

    /// Cancels a backfill request.
    pub async fn stop_match_backfill(
        &self,
        request: &StopMatchBackfillRequest,
    ) -> Result<(), GameLiftError> {
        let body = request.to_message()?;
        self.inner.check_alive()?;
        self.inner.call(&body).await.map(drop)
    }

    /// The compute's TLS certificate (for servers that offer TLS to players).
    pub async fn compute_certificate(&self) -> Result<ComputeCertificate, GameLiftError> {
        self.inner.check_alive()?;
        self.inner.call(&sdk5::GetComputeCertificate {}).await
    }

    /// Temporary credentials for the fleet's IAM role, cached while at least 15 minutes of
    /// validity remain. Anywhere (and local) fleets have none:
    /// [`GameLiftError::FleetRoleCredentialsUnavailable`], without asking again.
    pub async fn fleet_role_credentials(
        &self,
        request: &FleetRoleCredentialsRequest,
    ) -> Result<FleetRoleCredentials, GameLiftError> {
        if request.role_arn.is_empty() {
            return Err(GameLiftError::invalid("role_arn", "is required"));
        }
        let mut session_name = request.role_session_name.clone();
        if session_name.is_empty() {
            session_name = format!(
                "{}-{}",
                self.inner.parameters.fleet_id(),
                self.inner.parameters.host_id()
            )
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(*c))
            .take(64)
            .collect();
        }
        let name_ok = (2..=64).contains(&session_name.len())
            && session_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
        if !name_ok {
            return Err(GameLiftError::invalid(
                "role_session_name",
                format!("{session_name:?} must be 2 to 64 of letters, digits and _+=,.@-"),
            ));
        }
        {
            let state = lock(&self.inner.state);
            if state.managed_fleet == Some(false) {
                return Err(GameLiftError::FleetRoleCredentialsUnavailable);
            }
            if let Some(cached) = state.credentials.get(&request.role_arn) {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as i64);
                if cached.expiration.saturating_sub(now)
                    > CREDENTIALS_MIN_VALIDITY.as_millis() as i64
                {
                    return Ok(cached.clone());
                }
            }
        }
        self.inner.check_alive()?;
        let credentials = self
            .inner
            .call(&sdk5::GetFleetRoleCredentials {
                role_arn: request.role_arn.clone(),
                role_session_name: session_name,
            })
            .await?;
        let mut state = lock(&self.inner.state);
        if credentials.access_key_id.is_empty() {
            state.managed_fleet = Some(false);
            return Err(GameLiftError::FleetRoleCredentialsUnavailable);
        }
        state.managed_fleet = Some(true);
        state
            .credentials
            .insert(request.role_arn.clone(), credentials.clone());
        Ok(credentials)
    }

    /// Stops heartbeats and reconnects and closes the connection. Later calls fail with
    /// [`GameLiftError::NotInitialized`]; a new process calls `init` again.
    pub async fn destroy(&self) -> Result<(), GameLiftError> {
        self.inner.shut_down();
        Ok(())
    }
}

impl Inner {
    fn tls(&self) -> Result<Option<Arc<rustls::ClientConfig>>, GameLiftError> {
        if let Some(config) = self.tls.get() {
            return Ok(Some(config.clone()));
        }
        let config = transport::tls_config(&self.config.extra_root_certificates)?;
        Ok(Some(self.tls.get_or_init(|| config).clone()))
    }

    async fn open(&self, url: &str) -> Result<Socket, GameLiftError> {
        let tls = if url.starts_with("wss://") {
            self.tls()?
        } else {
            None
        };
        transport::open(url, tls, self.config.connect_timeout).await
    }

    /// Makes `socket` the connection new requests use; returns the one it replaced.
    fn install(self: &Arc<Self>, socket: Socket) -> Option<Link> {
        let generation = self.next_generation.fetch_add(1, Ordering::Relaxed);
        let (sink, stream) = socket.split();
        let (frames, outgoing) = mpsc::unbounded_channel();
        let writer = tokio::spawn(write_loop(sink, outgoing));
        let reader = tokio::spawn(read_loop(self.clone(), generation, stream));
        let link = Link {
            generation,
            frames,
            reader: reader.abort_handle(),
            writer: writer.abort_handle(),
        };
        let old = lock(&self.link).replace(link);
        self.consecutive_timeouts.store(0, Ordering::Relaxed);
        lock(&self.state).connection_lost = None;
        self.connection.send_replace(ConnectionState::Connected);
        self.link_changed.send_replace(generation);
        old
    }

    fn check_alive(&self) -> Result<(), GameLiftError> {
        if lock(&self.state).destroyed {
            Err(GameLiftError::NotInitialized)
        } else {
            Ok(())
        }
    }

    /// The current game session id, if the process is ready and hosts one.
    fn ready_session(&self) -> Result<String, GameLiftError> {
        let state = lock(&self.state);
        if state.destroyed {
            return Err(GameLiftError::NotInitialized);
        }
        if !state.ready {
            return Err(GameLiftError::ProcessNotReady);
        }
        state
            .game_session_id
            .clone()
            .ok_or(GameLiftError::GameSessionIdNotSet)
    }

    async fn call<R: Request>(self: &Arc<Self>, body: &R) -> Result<R::Response, GameLiftError> {
        self.request(body, self.config.request_timeout).await
    }

    /// Sends a request and waits for the answer with the same RequestId.
    async fn request<R: Request>(
        self: &Arc<Self>,
        body: &R,
        timeout: Duration,
    ) -> Result<R::Response, GameLiftError> {
        let action = R::ACTION;
        let deadline = tokio::time::Instant::now() + timeout;
        let (frames, generation) = self.wait_for_link(deadline).await?;
        let request_id = uuid::Uuid::new_v4().to_string();
        let frame = sdk5::encode(&Envelope::request(action, &request_id), body);
        let (reply, answer) = oneshot::channel();
        lock(&self.pending).insert(
            request_id.clone(),
            Pending {
                action: action.to_string(),
                generation,
                reply,
            },
        );
        if frames.send(Message::Text(frame.into())).is_err() {
            lock(&self.pending).remove(&request_id);
            return Err(GameLiftError::NotConnected(
                "the connection closed while sending".into(),
            ));
        }
        match tokio::time::timeout_at(deadline, answer).await {
            Ok(Ok(result)) => result?
                .body()
                .map_err(|error| GameLiftError::MalformedResponse {
                    action: action.to_string(),
                    reason: error.to_string(),
                }),
            Ok(Err(_)) => Err(GameLiftError::NotConnected(
                "the connection closed before the answer arrived".into(),
            )),
            Err(_) => {
                lock(&self.pending).remove(&request_id);
                let timeouts = self.consecutive_timeouts.fetch_add(1, Ordering::Relaxed) + 1;
                if timeouts >= self.config.timeouts_before_reconnect.max(1) {
                    self.consecutive_timeouts.store(0, Ordering::Relaxed);
                    tracing::warn!(target: "gamelift_server", timeouts, "requests keep timing out; replacing the connection");
                    self.replace_dead_link(generation);
                }
                Err(GameLiftError::Timeout {
                    action: action.to_string(),
                    timeout,
                })
            }
        }
    }

    /// The current connection, waiting (until `deadline`) while a reconnect is under way.
    async fn wait_for_link(
        &self,
        deadline: tokio::time::Instant,
    ) -> Result<(mpsc::UnboundedSender<Message>, u64), GameLiftError> {
        let mut changes = self.link_changed.subscribe();
        loop {
            {
                let state = lock(&self.state);
                if state.destroyed {
                    return Err(GameLiftError::NotInitialized);
                }
                if let Some(reason) = &state.connection_lost {
                    return Err(GameLiftError::NotConnected(reason.clone()));
                }
            }
            if let Some(link) = lock(&self.link).as_ref() {
                return Ok((link.frames.clone(), link.generation));
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => continue,
                _ => {
                    return Err(GameLiftError::NotConnected(
                        "reconnecting to the service".into(),
                    ));
                }
            }
        }
    }

    /// One inbound text frame: an answer, or a push.
    fn on_frame(self: &Arc<Self>, raw: &str) {
        let frame = match Frame::parse(raw) {
            Ok(frame) => frame,
            Err(error) => {
                tracing::warn!(target: "gamelift_server", %error, "ignoring a frame");
                return;
            }
        };
        self.consecutive_timeouts.store(0, Ordering::Relaxed);
        let envelope = &frame.envelope;
        let status = envelope.status_code;
        if let Some(request_id) = envelope.request_id.clone() {
            let pending = lock(&self.pending).remove(&request_id);
            if let Some(pending) = pending {
                let result = if status == Some(200) {
                    Ok(frame)
                } else {
                    let status = status.map_or(0, i64::from);
                    Err(GameLiftError::Service {
                        kind: crate::ServiceErrorKind::from_status(status),
                        status,
                        message: envelope.error_message.clone().unwrap_or_default(),
                        action: pending.action,
                    })
                };
                let _ = pending.reply.send(result);
                return;
            }
            if status != Some(200) {
                tracing::warn!(target: "gamelift_server", request = %request_id, "an error answer for no pending request");
                return;
            }
        }
        let action = frame.envelope.action.as_str();
        let handled = match action {
            sdk5::CreateGameSession::ACTION => {
                frame.body().map(|push| self.on_create_game_session(push))
            }
            UpdateGameSession::ACTION => frame.body().map(|push| self.on_update_game_session(push)),
            sdk5::TerminateProcess::ACTION => {
                frame.body().map(|push| self.on_terminate_process(push))
            }
            sdk5::RefreshConnection::ACTION => {
                frame.body().map(|push| self.on_refresh_connection(push))
            }
            other => {
                tracing::debug!(target: "gamelift_server", action = other, "ignoring an unexpected frame");
                Ok(())
            }
        };
        if let Err(error) = handled {
            tracing::warn!(target: "gamelift_server", action, %error, "ignoring a malformed push");
        }
    }

    fn on_create_game_session(self: &Arc<Self>, push: sdk5::CreateGameSession) {
        let session = push.into_game_session(self.parameters.fleet_id());
        let callback = {
            let mut state = lock(&self.state);
            if !state.ready {
                tracing::warn!(target: "gamelift_server", "CreateGameSession before the process is ready; ignored");
                return;
            }
            state.game_session_id = Some(session.game_session_id.clone());
            state
                .process
                .as_ref()
                .map(|p| p.on_start_game_session.clone())
        };
        tracing::info!(target: "gamelift_server", session = %session.game_session_id, "game session placed on this process");
        if let Some(callback) = callback {
            tokio::task::spawn_blocking(move || callback(session));
        }
    }

    fn on_update_game_session(self: &Arc<Self>, mut update: UpdateGameSession) {
        if update.game_session.fleet_id.is_empty() {
            update.game_session.fleet_id = self.parameters.fleet_id().to_string();
        }
        let callback = {
            let state = lock(&self.state);
            if !state.ready {
                return;
            }
            state
                .process
                .as_ref()
                .and_then(|p| p.on_update_game_session.clone())
        };
        if let Some(callback) = callback {
            tokio::task::spawn_blocking(move || callback(update));
        }
    }

    fn on_terminate_process(self: &Arc<Self>, push: sdk5::TerminateProcess) {
        let millis = push.termination_time;
        let callback = {
            let mut state = lock(&self.state);
            if !state.ready {
                tracing::warn!(target: "gamelift_server", "TerminateProcess before the process is ready; ignored");
                return;
            }
            state.termination_time_millis = Some(millis);
            state
                .process
                .as_ref()
                .and_then(|p| p.on_process_terminate.clone())
        };
        tracing::info!(target: "gamelift_server", termination_time_millis = millis, "the service asked this process to terminate");
        match callback {
            Some(callback) => {
                tokio::task::spawn_blocking(move || callback());
            }
            None => {
                // No callback: end the process's part ourselves.
                let inner = self.clone();
                tokio::spawn(async move {
                    if let Err(error) = inner.process_ending().await {
                        tracing::error!(target: "gamelift_server", %error, "ProcessEnding after TerminateProcess failed");
                    }
                    inner.shut_down();
                });
            }
        }
    }

    fn on_refresh_connection(self: &Arc<Self>, push: sdk5::RefreshConnection) {
        let endpoint = push.refresh_connection_endpoint;
        let token = push.auth_token;
        if endpoint.is_empty() || token.is_empty() {
            tracing::warn!(target: "gamelift_server", "RefreshConnection without an endpoint or token; ignored");
            return;
        }
        let inner = self.clone();
        tokio::spawn(async move {
            // Make before break: the new connection carries traffic before the old one closes.
            let url = connection_url(
                &endpoint,
                &inner.parameters,
                &uuid::Uuid::new_v4().to_string(),
                Auth::Token(&token),
            );
            match inner.open(&url).await {
                Ok(socket) => {
                    if inner.check_alive().is_err() {
                        return;
                    }
                    *lock(&inner.url) = url;
                    let old = inner.install(socket);
                    tracing::info!(target: "gamelift_server", endpoint = %redact(&endpoint), "connection refreshed");
                    if let Some(old) = old {
                        tokio::time::sleep(inner.config.refresh_close_delay).await;
                        old.close(1000, "connection refreshed");
                    }
                }
                Err(error) => {
                    tracing::warn!(target: "gamelift_server", %error, "refreshing the connection failed; keeping the current one until the service sends RefreshConnection again");
                }
            }
        });
    }

    async fn process_ending(self: &Arc<Self>) -> Result<(), GameLiftError> {
        {
            let mut state = lock(&self.state);
            if state.destroyed {
                return Err(GameLiftError::NotInitialized);
            }
            state.ready = false;
            if let Some(heartbeat) = state.heartbeat.take() {
                heartbeat.abort();
            }
        }
        self.call(&sdk5::TerminateServerProcess {}).await.map(drop)
    }

    /// The connection `generation` ended (closed by the service, or broken).
    fn link_ended(self: &Arc<Self>, generation: u64, close_code: Option<u16>) {
        let was_current = {
            let mut link = lock(&self.link);
            if link.as_ref().is_some_and(|l| l.generation == generation) {
                link.take();
                true
            } else {
                false
            }
        };
        if was_current {
            self.link_changed.send_replace(0);
        }
        let failed: Vec<Pending> = {
            let mut pending = lock(&self.pending);
            let ids: Vec<String> = pending
                .iter()
                .filter(|(_, p)| p.generation == generation)
                .map(|(id, _)| id.clone())
                .collect();
            ids.iter().filter_map(|id| pending.remove(id)).collect()
        };
        for pending in failed {
            let _ = pending.reply.send(Err(GameLiftError::NotConnected(
                "the connection closed before the answer arrived".into(),
            )));
        }
        if !was_current || self.check_alive().is_err() {
            return;
        }
        match close_code {
            Some(code @ (1000 | 1001)) => {
                tracing::info!(target: "gamelift_server", code, "the service closed the connection; not reconnecting");
                let reason = format!("the service closed the connection (code {code})");
                lock(&self.state).connection_lost = Some(reason.clone());
                self.connection
                    .send_replace(ConnectionState::Closed { reason });
                self.link_changed.send_replace(0);
            }
            code => {
                tracing::warn!(target: "gamelift_server", ?code, "the connection to the service broke; reconnecting");
                self.connection.send_replace(ConnectionState::Reconnecting {
                    attempts: 0,
                    last_error: match code {
                        Some(code) => format!("the connection closed with code {code}"),
                        None => "the connection broke".into(),
                    },
                });
                self.spawn_reconnect();
            }
        }
    }

    /// The connection looks half-open: drop it and reconnect.
    fn replace_dead_link(self: &Arc<Self>, generation: u64) {
        let dead = {
            let mut link = lock(&self.link);
            if link.as_ref().is_some_and(|l| l.generation == generation) {
                link.take()
            } else {
                None
            }
        };
        if let Some(dead) = dead {
            dead.abort();
            self.link_changed.send_replace(0);
            self.spawn_reconnect();
        }
    }

    /// Reconnects in the background: `connect_attempts` tries with a growing backoff, then on
    /// at the longest backoff until it gets through or the process is destroyed. A service that
    /// restarts may refuse (403) or be unreachable for a while; giving up would leave a running
    /// game server that can never be reached.
    fn spawn_reconnect(self: &Arc<Self>) {
        if self.reconnecting.swap(true, Ordering::AcqRel) {
            return;
        }
        let inner = self.clone();
        tokio::spawn(async move {
            let patience = inner.config.connect_attempts.max(1);
            let mut failures = 0u32;
            loop {
                tokio::time::sleep(inner.config.backoff(failures.min(patience))).await;
                if inner.check_alive().is_err() || lock(&inner.link).is_some() {
                    inner.reconnecting.store(false, Ordering::Release);
                    return;
                }
                let url = lock(&inner.url).clone();
                match inner.open(&url).await {
                    Ok(socket) => {
                        inner.install(socket);
                        inner.reconnecting.store(false, Ordering::Release);
                        tracing::info!(target: "gamelift_server", attempts = failures + 1, "reconnected to the GameLift service");
                        return;
                    }
                    Err(error) => {
                        failures = failures.saturating_add(1);
                        let last_error = error.to_string();
                        if failures == patience {
                            // From now on requests fail at once instead of waiting.
                            lock(&inner.state).connection_lost = Some(format!(
                                "reconnecting to the service: {failures} attempts failed so far, the last with: {last_error}"
                            ));
                            inner.link_changed.send_replace(0);
                            tracing::error!(target: "gamelift_server", attempts = failures, %error, retry_every = ?inner.config.reconnect_max_backoff, "cannot reconnect to the GameLift service; still trying");
                        } else {
                            tracing::warn!(target: "gamelift_server", attempt = failures, %error, "reconnecting failed");
                        }
                        inner
                            .connection
                            .send_replace(ConnectionState::Reconnecting {
                                attempts: failures,
                                last_error,
                            });
                    }
                }
            }
        });
    }

    /// Ends everything: heartbeats, reconnects, the connection and waiting requests.
    fn shut_down(&self) {
        let link = {
            let mut state = lock(&self.state);
            if state.destroyed {
                return;
            }
            state.destroyed = true;
            state.ready = false;
            self.connection.send_replace(ConnectionState::Closed {
                reason: "the process was destroyed".into(),
            });
            if let Some(heartbeat) = state.heartbeat.take() {
                heartbeat.abort();
            }
            lock(&self.link).take()
        };
        if let Some(link) = link {
            link.close(1000, "process destroyed");
        }
        self.link_changed.send_replace(0);
        let pending: Vec<Pending> = lock(&self.pending).drain().map(|(_, p)| p).collect();
        for pending in pending {
            let _ = pending.reply.send(Err(GameLiftError::NotInitialized));
        }
    }
}

async fn read_loop(inner: Arc<Inner>, generation: u64, mut stream: SplitStream<Socket>) {
    let mut close_code = None;
    while let Some(message) = stream.next().await {
        match message {
            Ok(Message::Text(text)) => inner.on_frame(text.as_str()),
            Ok(Message::Close(frame)) => {
                close_code = Some(frame.map_or(1005, |f| u16::from(f.code)));
                break;
            }
            Ok(_) => {}
            Err(error) => {
                tracing::debug!(target: "gamelift_server", %error, "connection error");
                break;
            }
        }
    }
    inner.link_ended(generation, close_code);
}

async fn write_loop(
    mut sink: SplitSink<Socket, Message>,
    mut outgoing: mpsc::UnboundedReceiver<Message>,
) {
    while let Some(message) = outgoing.recv().await {
        let closing = matches!(message, Message::Close(_));
        if sink.send(message).await.is_err() || closing {
            break;
        }
    }
    let _ = sink.close().await;
}

/// Heartbeats: one right away, then every interval ± jitter, each carrying the health
/// callback's answer (unhealthy if it takes longer than the budget).
async fn heartbeat_loop(inner: Arc<Inner>) {
    loop {
        let callback = lock(&inner.state)
            .process
            .as_ref()
            .and_then(|p| p.on_health_check.clone());
        let healthy = match callback {
            None => true,
            Some(callback) => {
                let check = tokio::task::spawn_blocking(move || callback());
                match tokio::time::timeout(inner.config.health_check_timeout, check).await {
                    Ok(Ok(healthy)) => healthy,
                    Ok(Err(_)) => {
                        tracing::warn!(target: "gamelift_server", "the health callback panicked; reporting unhealthy");
                        false
                    }
                    Err(_) => {
                        tracing::warn!(target: "gamelift_server", "the health callback took too long; reporting unhealthy");
                        false
                    }
                }
            }
        };
        let body = sdk5::HeartbeatServerProcess {
            health_status: healthy,
        };
        if let Err(error) = inner.call(&body).await {
            if matches!(error, GameLiftError::NotInitialized) {
                return;
            }
            tracing::warn!(target: "gamelift_server", %error, "heartbeat failed");
        }
        tokio::time::sleep(jittered(
            inner.config.heartbeat_interval,
            inner.config.heartbeat_jitter,
        ))
        .await;
    }
}

/// `interval` moved by up to `jitter` either way.
fn jittered(interval: Duration, jitter: Duration) -> Duration {
    let jitter_nanos = jitter.as_nanos() as u64;
    if jitter_nanos == 0 {
        return interval;
    }
    let random = (uuid::Uuid::new_v4().as_u128() as u64) % (2 * jitter_nanos + 1);
    (interval + Duration::from_nanos(random)).saturating_sub(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_in_bounds() {
        for _ in 0..1000 {
            let wait = jittered(Duration::from_secs(60), Duration::from_secs(10));
            assert!(wait >= Duration::from_secs(50) && wait <= Duration::from_secs(70));
        }
        assert_eq!(
            jittered(Duration::from_secs(1), Duration::ZERO),
            Duration::from_secs(1)
        );
        // A jitter larger than the interval never goes below zero.
        assert!(jittered(Duration::from_secs(1), Duration::from_secs(5)) <= Duration::from_secs(6));
    }
}
