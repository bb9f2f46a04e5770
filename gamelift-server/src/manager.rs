//! `GameLiftServerManager`: turns the service's events into session notifications on the buses,
//! and handles the server-side session requests.
//!
//! - A game session is placed: [`on_create_session_begin`](game_session::SessionNotifications::on_create_session_begin)
//!   is broadcast and every listener votes; if all agree the manager activates the session and
//!   broadcasts `on_create_session_end`, otherwise (or if activation fails) it destroys it.
//! - The session is updated (backfill): `on_update_session_begin` / `on_update_session_end`.
//! - Each heartbeat asks `on_session_health_check` (all must answer `true`).
//! - The service ends the process, or the last player leaves (terminate-on-player-exit, on by
//!   default): `on_destroy_session_begin` (a vote; `false` keeps the process), ProcessEnding,
//!   `on_destroy_session_end`.
//! - The game's network layer calls
//!   [`validate_player_join_session`](game_session::SessionHandlingProviderRequests::validate_player_join_session)
//!   for each connecting player (AcceptPlayerSession; one success per connection id) and
//!   `handle_player_leave_session` when one leaves (RemovePlayerSession).
//!
//! The SDK is reached through [`ServerSdkApi`], so tests can put a mock in its place.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::SystemTime;

use ebus::{AddressPolicy, Bus, Connection, HandlerPolicy};
use game_session::{
    AttributeValue, PlayerConnectionConfig, SESSION_HANDLING_PROVIDER_REQUESTS,
    SESSION_NOTIFICATIONS, SessionConfig, SessionHandlingProviderRequests, SessionStatus,
};
use serde_json::Value;

use crate::GameLiftError;
use crate::sdk::{
    ComputeCertificate, DescribePlayerSessionsRequest, DescribePlayerSessionsResult,
    GameLiftServerSdk, GameSession, GameSessionStatus, PlayerSessionStatus, ProcessParameters,
    SdkConfig, ServerParameters, StartMatchBackfillRequest, StopMatchBackfillRequest,
    UpdateGameSession, UpdateReason,
};

pub use game_session::Player;

/// Backfill rebuilds the player list from DescribePlayerSessions pages of this size.
const PLAYER_PAGE: u32 = 30;
/// Pages read at most while rebuilding (a session of 30 000 players).
const MAX_PAGES: usize = 1000;

/// GameLift-specific server requests.
pub trait GameLiftServerRequests: Send + Sync {
    /// Tells the service this process is ready to host a session (ProcessReady). On failure the
    /// manager destroys the session and returns the error.
    fn notify_process_ready(&self) -> Result<(), GameLiftError>;
    /// Asks the matchmaker to fill the session's open slots. With no `players`, the manager
    /// rebuilds them from the session's active player sessions and its matchmaker data. An
    /// empty `ticket_id` lets the service choose one. Returns the ticket id.
    fn start_match_backfill(
        &self,
        ticket_id: &str,
        players: &[Player],
    ) -> Result<String, GameLiftError>;
    /// Cancels a backfill ticket.
    fn stop_match_backfill(&self, ticket_id: &str) -> Result<(), GameLiftError>;
}

/// The provider of [`GameLiftServerRequests`] (the active [`GameLiftServerManager`]).
pub static GAMELIFT_SERVER_REQUESTS: Bus<dyn GameLiftServerRequests> = Bus::with_policies(
    "GameLiftServerRequests",
    HandlerPolicy::Single,
    AddressPolicy::Single,
);

/// The Server SDK calls the manager makes: the seam unit tests replace. Calls block until the
/// SDK answers.
pub trait ServerSdkApi: Send + Sync {
    /// Connects (InitSDK).
    fn init_sdk(&self, parameters: ServerParameters) -> Result<(), GameLiftError>;
    /// ProcessReady.
    fn process_ready(&self, process: ProcessParameters) -> Result<(), GameLiftError>;
    /// ProcessEnding.
    fn process_ending(&self) -> Result<(), GameLiftError>;
    /// ActivateGameSession.
    fn activate_game_session(&self) -> Result<(), GameLiftError>;
    /// AcceptPlayerSession.
    fn accept_player_session(&self, player_session_id: &str) -> Result<(), GameLiftError>;
    /// RemovePlayerSession.
    fn remove_player_session(&self, player_session_id: &str) -> Result<(), GameLiftError>;
    /// DescribePlayerSessions.
    fn describe_player_sessions(
        &self,
        request: &DescribePlayerSessionsRequest,
    ) -> Result<DescribePlayerSessionsResult, GameLiftError>;
    /// StartMatchBackfill.
    fn start_match_backfill(
        &self,
        request: &StartMatchBackfillRequest,
    ) -> Result<String, GameLiftError>;
    /// StopMatchBackfill.
    fn stop_match_backfill(&self, request: &StopMatchBackfillRequest) -> Result<(), GameLiftError>;
    /// GetComputeCertificate.
    fn compute_certificate(&self) -> Result<ComputeCertificate, GameLiftError>;
    /// GetTerminationTime.
    fn termination_time(&self) -> Result<SystemTime, GameLiftError>;
    /// Destroy: closes the connection; `init_sdk` may be called again.
    fn destroy(&self) -> Result<(), GameLiftError>;
}

/// [`ServerSdkApi`] over the real [`GameLiftServerSdk`], on a runtime of its own so that bus
/// handlers may call it from any thread, including the game's own async tasks.
pub struct SdkServerApi {
    runtime: Runtime,
    config: SdkConfig,
    sdk: Mutex<Option<GameLiftServerSdk>>,
}

struct Runtime(Option<tokio::runtime::Runtime>);

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            // Safe from inside another runtime, unlike dropping it.
            runtime.shutdown_background();
        }
    }
}

impl SdkServerApi {
    /// An SDK seam with the given timings.
    pub fn new(config: SdkConfig) -> Result<Self, GameLiftError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("gamelift-server-sdk")
            .enable_all()
            .build()
            .map_err(|error| {
                GameLiftError::NotConnected(format!("could not start the SDK's runtime: {error}"))
            })?;
        Ok(Self {
            runtime: Runtime(Some(runtime)),
            config,
            sdk: Mutex::new(None),
        })
    }

    /// The SDK, once initialised (for calls the manager does not wrap).
    pub fn sdk(&self) -> Option<GameLiftServerSdk> {
        lock(&self.sdk).clone()
    }

    fn block<T: Send + 'static>(
        &self,
        work: impl Future<Output = Result<T, GameLiftError>> + Send + 'static,
    ) -> Result<T, GameLiftError> {
        let Some(runtime) = self.runtime.0.as_ref() else {
            return Err(GameLiftError::NotInitialized);
        };
        let (sender, receiver) = std::sync::mpsc::sync_channel(1);
        runtime.spawn(async move {
            let _ = sender.send(work.await);
        });
        receiver.recv().unwrap_or_else(|_| {
            Err(GameLiftError::NotConnected(
                "the SDK call stopped before it finished".into(),
            ))
        })
    }

    fn with_sdk<T: Send + 'static, F>(
        &self,
        call: impl FnOnce(GameLiftServerSdk) -> F,
    ) -> Result<T, GameLiftError>
    where
        F: Future<Output = Result<T, GameLiftError>> + Send + 'static,
    {
        let sdk = self.sdk().ok_or(GameLiftError::NotInitialized)?;
        self.block(call(sdk))
    }
}

impl ServerSdkApi for SdkServerApi {
    fn init_sdk(&self, parameters: ServerParameters) -> Result<(), GameLiftError> {
        if self.sdk().is_some() {
            return Err(GameLiftError::AlreadyInitialized);
        }
        let config = self.config.clone();
        let sdk = self.block(GameLiftServerSdk::init_with(parameters, config))?;
        *lock(&self.sdk) = Some(sdk);
        Ok(())
    }
    fn process_ready(&self, process: ProcessParameters) -> Result<(), GameLiftError> {
        self.with_sdk(|sdk| async move { sdk.process_ready(process).await })
    }
    fn process_ending(&self) -> Result<(), GameLiftError> {
        self.with_sdk(|sdk| async move { sdk.process_ending().await })
    }
    fn activate_game_session(&self) -> Result<(), GameLiftError> {
        self.with_sdk(|sdk| async move { sdk.activate_game_session().await })
    }
    fn accept_player_session(&self, player_session_id: &str) -> Result<(), GameLiftError> {
        let id = player_session_id.to_string();
        self.with_sdk(|sdk| async move { sdk.accept_player_session(&id).await })
    }
    fn remove_player_session(&self, player_session_id: &str) -> Result<(), GameLiftError> {
        let id = player_session_id.to_string();
        self.with_sdk(|sdk| async move { sdk.remove_player_session(&id).await })
    }
    fn describe_player_sessions(
        &self,
        request: &DescribePlayerSessionsRequest,
    ) -> Result<DescribePlayerSessionsResult, GameLiftError> {
        let request = request.clone();
        self.with_sdk(|sdk| async move { sdk.describe_player_sessions(&request).await })
    }
    fn start_match_backfill(
        &self,
        request: &StartMatchBackfillRequest,
    ) -> Result<String, GameLiftError> {
        let request = request.clone();
        self.with_sdk(|sdk| async move { sdk.start_match_backfill(&request).await })
    }
    fn stop_match_backfill(&self, request: &StopMatchBackfillRequest) -> Result<(), GameLiftError> {
        let request = request.clone();
        self.with_sdk(|sdk| async move { sdk.stop_match_backfill(&request).await })
    }
    fn compute_certificate(&self) -> Result<ComputeCertificate, GameLiftError> {
        self.with_sdk(|sdk| async move { sdk.compute_certificate().await })
    }
    fn termination_time(&self) -> Result<SystemTime, GameLiftError> {
        self.sdk()
            .ok_or(GameLiftError::NotInitialized)?
            .termination_time()
    }
    fn destroy(&self) -> Result<(), GameLiftError> {
        let sdk = lock(&self.sdk)
            .take()
            .ok_or(GameLiftError::NotInitialized)?;
        self.block(async move { sdk.destroy().await })
    }
}

/// How the manager runs the process.
#[derive(Debug, Clone)]
pub struct ServerManagerConfig {
    /// The port players connect to, sent with ProcessReady.
    pub port: u16,
    /// Log files the service keeps (absolute paths).
    pub log_paths: Vec<String>,
    /// Destroy the session when its last player leaves (default on).
    pub terminate_on_player_exit: bool,
    /// Offer the compute's certificate to players (`external_session_certificate`).
    pub external_tls: bool,
}

impl Default for ServerManagerConfig {
    fn default() -> Self {
        Self {
            port: 0,
            log_paths: Vec::new(),
            terminate_on_player_exit: true,
            external_tls: false,
        }
    }
}

/// The server manager. Cheap to clone; clones are the same manager.
///
/// ```no_run
/// use gamelift_server::manager::{GameLiftServerManager, GameLiftServerRequests, ServerManagerConfig};
/// use gamelift_server::sdk::{SdkConfig, ServerParameters};
///
/// let config = ServerManagerConfig { port: 7777, ..Default::default() };
/// let manager = GameLiftServerManager::with_sdk(SdkConfig::default(), config)?;
/// let _active = manager.activate()?;
/// manager.initialize_sdk(ServerParameters::from_env()?)?;
/// manager.notify_process_ready()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct GameLiftServerManager {
    inner: Arc<ManagerInner>,
}

struct ManagerInner {
    api: Arc<dyn ServerSdkApi>,
    config: ServerManagerConfig,
    initialized: Mutex<bool>,
    /// Connection id -> player session id of the players accepted so far.
    players: Mutex<HashMap<u32, String>>,
    session: Mutex<Option<GameSession>>,
    /// The session's matchmaker data, parsed; `Err` says why it is unusable.
    matchmaker: Mutex<Result<Value, String>>,
    provider: Mutex<Option<Connection>>,
    /// A destroy is under way or done for the current session.
    ending: AtomicBool,
}

/// Keeps the manager connected to its buses; dropping it disconnects them.
#[must_use = "the manager leaves its buses when this is dropped"]
pub struct ActiveServerManager {
    manager: GameLiftServerManager,
    _requests: Connection,
}

impl Drop for ActiveServerManager {
    fn drop(&mut self) {
        lock(&self.manager.inner.provider).take();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl GameLiftServerManager {
    /// A manager over `api`.
    pub fn new(api: Arc<dyn ServerSdkApi>, config: ServerManagerConfig) -> Self {
        Self {
            inner: Arc::new(ManagerInner {
                api,
                config,
                initialized: Mutex::new(false),
                players: Mutex::new(HashMap::new()),
                session: Mutex::new(None),
                matchmaker: Mutex::new(Err("no game session yet".into())),
                provider: Mutex::new(None),
                ending: AtomicBool::new(false),
            }),
        }
    }

    /// A manager over the real SDK with the given timings.
    pub fn with_sdk(sdk: SdkConfig, config: ServerManagerConfig) -> Result<Self, GameLiftError> {
        Ok(Self::new(Arc::new(SdkServerApi::new(sdk)?), config))
    }

    /// Connects the manager to [`GAMELIFT_SERVER_REQUESTS`]. (It takes
    /// `SessionHandlingProviderRequests` when a session starts, and leaves it when the session
    /// is destroyed.)
    pub fn activate(&self) -> Result<ActiveServerManager, ebus::Error> {
        let requests = GAMELIFT_SERVER_REQUESTS.connect(Arc::new(self.clone()))?;
        Ok(ActiveServerManager {
            manager: self.clone(),
            _requests: requests,
        })
    }

    /// Connects to the service. A second call (before [`shutdown_sdk`](Self::shutdown_sdk))
    /// is refused with [`GameLiftError::AlreadyInitialized`] without touching the SDK.
    pub fn initialize_sdk(&self, parameters: ServerParameters) -> Result<(), GameLiftError> {
        let mut initialized = lock(&self.inner.initialized);
        if *initialized {
            return Err(GameLiftError::AlreadyInitialized);
        }
        self.inner.api.init_sdk(parameters)?;
        *initialized = true;
        Ok(())
    }

    /// Whether the SDK is initialised.
    pub fn is_initialized(&self) -> bool {
        *lock(&self.inner.initialized)
    }

    /// Closes the SDK connection (after the session ended), so that the next process can
    /// `initialize_sdk` again.
    pub fn shutdown_sdk(&self) -> Result<(), GameLiftError> {
        let mut initialized = lock(&self.inner.initialized);
        if !*initialized {
            return Err(GameLiftError::NotInitialized);
        }
        *initialized = false;
        lock(&self.inner.provider).take();
        lock(&self.inner.players).clear();
        *lock(&self.inner.session) = None;
        self.inner.api.destroy()
    }

    /// The game session this process hosts, once one was placed.
    pub fn game_session(&self) -> Option<GameSession> {
        lock(&self.inner.session).clone()
    }

    /// How many players are connected (validated and not yet left).
    pub fn connected_players(&self) -> usize {
        lock(&self.inner.players).len()
    }

    fn process_parameters(&self) -> ProcessParameters {
        let weak = Arc::downgrade(&self.inner);
        let start = weak.clone();
        let update = weak.clone();
        let terminate = weak.clone();
        let health = weak;
        let upgrade =
            |weak: &Weak<ManagerInner>| weak.upgrade().map(|inner| GameLiftServerManager { inner });
        let mut process = ProcessParameters::new(self.inner.config.port, move |session| {
            if let Some(manager) = upgrade(&start) {
                manager.on_start_game_session(session);
            }
        })
        .on_update_game_session(move |update_session| {
            if let Some(manager) = upgrade(&update) {
                manager.on_update_game_session(update_session);
            }
        })
        .on_process_terminate(move || {
            if let Some(manager) = upgrade(&terminate) {
                manager.on_process_terminate();
            }
        })
        .on_health_check(move || upgrade(&health).is_some_and(|manager| manager.on_health_check()));
        process.log_paths = self.inner.config.log_paths.clone();
        process
    }

    /// The service placed a game session here.
    pub fn on_start_game_session(&self, session: GameSession) {
        tracing::info!(target: "gamelift_server", session = %session.game_session_id, "starting game session");
        let config = session_config(&session);
        *lock(&self.inner.matchmaker) = parse_matchmaker_data(&session.matchmaker_data);
        *lock(&self.inner.session) = Some(session);
        lock(&self.inner.players).clear();
        self.inner.ending.store(false, Ordering::SeqCst);
        self.register_provider();
        let vote = SESSION_NOTIFICATIONS.broadcast_reduce(
            true,
            |handler| handler.on_create_session_begin(&config),
            |all, one| all && one,
        );
        if !vote {
            tracing::error!(target: "gamelift_server", session = %config.session_id, "a session handler refused the game session; destroying it");
            self.destroy_session_logged();
            return;
        }
        match self.inner.api.activate_game_session() {
            Ok(()) => SESSION_NOTIFICATIONS.broadcast(|handler| handler.on_create_session_end()),
            Err(error) => {
                tracing::error!(target: "gamelift_server", %error, "activating the game session failed; destroying it");
                self.destroy_session_logged();
            }
        }
    }

    /// The service updated the game session.
    pub fn on_update_game_session(&self, update: UpdateGameSession) {
        let config = session_config(&update.game_session);
        let reason = update.update_reason.as_str();
        SESSION_NOTIFICATIONS.broadcast(|handler| handler.on_update_session_begin(&config, reason));
        if update.update_reason == UpdateReason::MatchmakingDataUpdated {
            *lock(&self.inner.matchmaker) =
                parse_matchmaker_data(&update.game_session.matchmaker_data);
            *lock(&self.inner.session) = Some(update.game_session);
        }
        SESSION_NOTIFICATIONS.broadcast(|handler| handler.on_update_session_end());
    }

    /// The service asked the process to end.
    pub fn on_process_terminate(&self) {
        tracing::info!(target: "gamelift_server", "the service is terminating this process");
        self.destroy_session_logged();
    }

    /// Healthy when the SDK is initialised and every `on_session_health_check` says so.
    pub fn on_health_check(&self) -> bool {
        self.is_initialized()
            && SESSION_NOTIFICATIONS.broadcast_reduce(
                true,
                |handler| handler.on_session_health_check(),
                |all, one| all && one,
            )
    }

    fn register_provider(&self) {
        let mut provider = lock(&self.inner.provider);
        if provider.is_some() {
            return;
        }
        let handler = Arc::new(Provider(Arc::downgrade(&self.inner)));
        match SESSION_HANDLING_PROVIDER_REQUESTS.connect(handler) {
            Ok(connection) => *provider = Some(connection),
            Err(error) => {
                tracing::warn!(target: "gamelift_server", %error, "another session provider is connected; this manager will not handle player validation");
            }
        }
    }

    fn destroy_session_logged(&self) {
        if let Err(error) = self.destroy_session() {
            tracing::error!(target: "gamelift_server", %error, "destroying the game session failed");
        }
    }

    /// Validates a player's connection with the service (AcceptPlayerSession), saying why a
    /// refusal happened: the bus form, `validate_player_join_session`, answers only yes or no.
    /// One connection admits one player session; a second attempt on the same connection is
    /// refused.
    pub fn validate_player(&self, config: &PlayerConnectionConfig) -> Result<(), GameLiftError> {
        if config.player_session_id.is_empty() {
            return Err(GameLiftError::invalid(
                "player_session_id",
                "the player presented an empty player session id",
            ));
        }
        {
            let mut players = lock(&self.inner.players);
            if let Some(existing) = players.get(&config.player_connection_id) {
                return Err(GameLiftError::invalid(
                    "player_connection_id",
                    if *existing == config.player_session_id {
                        format!(
                            "connection {} was already admitted with this player session",
                            config.player_connection_id
                        )
                    } else {
                        format!(
                            "connection {} already holds player session {existing}",
                            config.player_connection_id
                        )
                    },
                ));
            }
            players.insert(
                config.player_connection_id,
                config.player_session_id.clone(),
            );
        }
        self.inner
            .api
            .accept_player_session(&config.player_session_id)
            .inspect_err(|_| {
                lock(&self.inner.players).remove(&config.player_connection_id);
            })
    }

    /// Destroys the session: leaves the provider bus, asks `on_destroy_session_begin` (a
    /// `false` keeps the process and returns [`GameLiftError::Vetoed`]), sends ProcessEnding and
    /// broadcasts `on_destroy_session_end`. A second call while one runs (or after it succeeded)
    /// does nothing.
    pub fn destroy_session(&self) -> Result<(), GameLiftError> {
        if self.inner.ending.swap(true, Ordering::SeqCst) {
            tracing::debug!(target: "gamelift_server", "the session is already being destroyed");
            return Ok(());
        }
        lock(&self.inner.provider).take();
        if let Ok(at) = self.inner.api.termination_time() {
            tracing::info!(target: "gamelift_server", termination_time = ?at, "the service scheduled this process's termination");
        }
        let vote = SESSION_NOTIFICATIONS.broadcast_reduce(
            true,
            |handler| handler.on_destroy_session_begin(),
            |all, one| all && one,
        );
        if !vote {
            self.inner.ending.store(false, Ordering::SeqCst);
            return Err(GameLiftError::Vetoed("destroying the session"));
        }
        match self.inner.api.process_ending() {
            Ok(()) => {
                lock(&self.inner.players).clear();
                SESSION_NOTIFICATIONS.broadcast(|handler| handler.on_destroy_session_end());
                Ok(())
            }
            Err(error) => {
                self.inner.ending.store(false, Ordering::SeqCst);
                Err(error)
            }
        }
    }

    fn backfill_context(&self) -> Result<(GameSession, Value, String), GameLiftError> {
        if !self.is_initialized() {
            return Err(GameLiftError::NotInitialized);
        }
        let session = self
            .game_session()
            .ok_or(GameLiftError::GameSessionIdNotSet)?;
        let data = lock(&self.inner.matchmaker)
            .clone()
            .map_err(GameLiftError::MatchmakerData)?;
        let arn = data
            .get("matchmakingConfigurationArn")
            .and_then(Value::as_str)
            .filter(|arn| !arn.is_empty())
            .ok_or_else(|| GameLiftError::MatchmakerData("no matchmakingConfigurationArn".into()))?
            .to_string();
        Ok((session, data, arn))
    }

    /// The players to backfill with, rebuilt: the session's ACTIVE player sessions (pages of
    /// 30) joined with their team and attributes from the matchmaker data.
    pub fn backfill_players(&self) -> Result<Vec<Player>, GameLiftError> {
        let (session, data, _) = self.backfill_context()?;
        let mut active = Vec::new();
        let mut next_token = None;
        for _ in 0..MAX_PAGES {
            let limit = if session.maximum_player_session_count > 0
                && session.maximum_player_session_count <= PLAYER_PAGE
            {
                session.maximum_player_session_count
            } else {
                PLAYER_PAGE
            };
            let request = DescribePlayerSessionsRequest {
                status: Some(PlayerSessionStatus::Active),
                limit: Some(limit),
                next_token: next_token.take(),
                ..DescribePlayerSessionsRequest::for_game_session(&session.game_session_id)
            };
            let page = self.inner.api.describe_player_sessions(&request)?;
            active.extend(page.player_sessions.into_iter().map(|p| p.player_id));
            match page.next_token {
                Some(token) => next_token = Some(token),
                None => break,
            }
        }
        let mut players = Vec::new();
        for player_id in active {
            if let Some(player) = matchmaker_player(&data, &player_id)? {
                players.push(player);
            } else {
                tracing::debug!(target: "gamelift_server", player = %player_id, "active player not in the matchmaker data; left out of backfill");
            }
        }
        Ok(players)
    }
}

impl GameLiftServerRequests for GameLiftServerManager {
    fn notify_process_ready(&self) -> Result<(), GameLiftError> {
        if !self.is_initialized() {
            return Err(GameLiftError::NotInitialized);
        }
        if self.inner.config.port == 0 {
            return Err(GameLiftError::invalid(
                "port",
                "the manager's port is 0; set ServerManagerConfig::port",
            ));
        }
        match self.inner.api.process_ready(self.process_parameters()) {
            Ok(()) => {
                tracing::info!(target: "gamelift_server", port = self.inner.config.port, "process ready");
                Ok(())
            }
            Err(error) => {
                tracing::error!(target: "gamelift_server", %error, "ProcessReady failed; ending the process");
                self.destroy_session_logged();
                Err(error)
            }
        }
    }

    fn start_match_backfill(
        &self,
        ticket_id: &str,
        players: &[Player],
    ) -> Result<String, GameLiftError> {
        let (session, _, arn) = self.backfill_context()?;
        let players = if players.is_empty() {
            self.backfill_players()?
        } else {
            players.to_vec()
        };
        let request = StartMatchBackfillRequest {
            ticket_id: Some(ticket_id.to_string()).filter(|t| !t.is_empty()),
            game_session_arn: session.game_session_id,
            matchmaking_configuration_arn: arn,
            players,
        };
        self.inner.api.start_match_backfill(&request)
    }

    fn stop_match_backfill(&self, ticket_id: &str) -> Result<(), GameLiftError> {
        let (session, _, arn) = self.backfill_context()?;
        self.inner
            .api
            .stop_match_backfill(&StopMatchBackfillRequest {
                ticket_id: ticket_id.to_string(),
                game_session_arn: session.game_session_id,
                matchmaking_configuration_arn: arn,
            })
    }
}

/// The manager as the session provider, held weakly so that the bus does not keep a dropped
/// manager alive.
struct Provider(Weak<ManagerInner>);

impl Provider {
    fn manager(&self) -> Option<GameLiftServerManager> {
        self.0
            .upgrade()
            .map(|inner| GameLiftServerManager { inner })
    }
}

impl SessionHandlingProviderRequests for Provider {
    fn handle_destroy_session(&self) {
        if let Some(manager) = self.manager() {
            manager.handle_destroy_session();
        }
    }
    fn validate_player_join_session(&self, config: &PlayerConnectionConfig) -> bool {
        self.manager()
            .is_some_and(|manager| manager.validate_player_join_session(config))
    }
    fn handle_player_leave_session(&self, config: &PlayerConnectionConfig) {
        if let Some(manager) = self.manager() {
            manager.handle_player_leave_session(config);
        }
    }
    fn internal_session_certificate(&self) -> PathBuf {
        PathBuf::new()
    }
    fn external_session_certificate(&self) -> PathBuf {
        self.manager()
            .map(|manager| manager.external_session_certificate())
            .unwrap_or_default()
    }
}

impl SessionHandlingProviderRequests for GameLiftServerManager {
    fn handle_destroy_session(&self) {
        self.destroy_session_logged();
    }

    fn validate_player_join_session(&self, config: &PlayerConnectionConfig) -> bool {
        match self.validate_player(config) {
            Ok(()) => true,
            Err(error) => {
                tracing::warn!(target: "gamelift_server", connection = config.player_connection_id, player_session = %config.player_session_id, %error, "player session refused");
                false
            }
        }
    }

    fn handle_player_leave_session(&self, config: &PlayerConnectionConfig) {
        let (player_session_id, now_empty) = {
            let mut players = lock(&self.inner.players);
            let Some(id) = players.remove(&config.player_connection_id) else {
                tracing::warn!(target: "gamelift_server", connection = config.player_connection_id, "leave from a connection with no accepted player");
                return;
            };
            (id, players.is_empty())
        };
        if let Err(error) = self.inner.api.remove_player_session(&player_session_id) {
            tracing::error!(target: "gamelift_server", player_session = %player_session_id, %error, "RemovePlayerSession failed");
        }
        if now_empty && self.inner.config.terminate_on_player_exit {
            tracing::info!(target: "gamelift_server", "the last player left; ending the session");
            self.destroy_session_logged();
        }
    }

    fn internal_session_certificate(&self) -> PathBuf {
        // GameLift offers no server-to-server certificate.
        PathBuf::new()
    }

    fn external_session_certificate(&self) -> PathBuf {
        if !self.inner.config.external_tls {
            return PathBuf::new();
        }
        match self.inner.api.compute_certificate() {
            Ok(certificate) => PathBuf::from(certificate.certificate_path),
            Err(error) => {
                tracing::error!(target: "gamelift_server", %error, "no compute certificate");
                PathBuf::new()
            }
        }
    }
}

/// The backend-neutral view of a GameLift game session.
pub fn session_config(session: &GameSession) -> SessionConfig {
    SessionConfig {
        session_id: session.game_session_id.clone(),
        session_name: session.name.clone(),
        dns_name: session.dns_name.clone(),
        ip_address: session.ip_address.clone(),
        port: session.port,
        max_players: session.maximum_player_session_count,
        session_properties: session.game_properties.clone(),
        matchmaking_data: session.matchmaker_data.clone(),
        status: match session.status {
            Some(GameSessionStatus::Active) => SessionStatus::Active,
            Some(GameSessionStatus::Terminating) => SessionStatus::Terminating,
            Some(GameSessionStatus::Terminated) => SessionStatus::Terminated,
            Some(GameSessionStatus::Error) => SessionStatus::Error,
            // A session the service just placed is being activated.
            _ => SessionStatus::Activating,
        },
        status_reason: session.status_reason.clone(),
        ..SessionConfig::default()
    }
}

/// Matchmaker data is usable for backfill when it is a JSON object with a configuration ARN
/// and teams.
fn parse_matchmaker_data(text: &str) -> Result<Value, String> {
    if text.is_empty() {
        return Err("the game session has no matchmaker data (FlexMatch did not create it)".into());
    }
    let value: Value = serde_json::from_str(text).map_err(|error| format!("not JSON: {error}"))?;
    if !value.is_object() {
        return Err("not a JSON object".into());
    }
    if !value.get("teams").is_some_and(Value::is_array) {
        return Err("no teams".into());
    }
    if !value
        .get("matchmakingConfigurationArn")
        .is_some_and(Value::is_string)
    {
        return Err("no matchmakingConfigurationArn".into());
    }
    Ok(value)
}

/// The player `player_id` as the matchmaker data describes them: team and attributes.
fn matchmaker_player(data: &Value, player_id: &str) -> Result<Option<Player>, GameLiftError> {
    let teams = data.get("teams").and_then(Value::as_array);
    for team in teams.into_iter().flatten() {
        let players = team.get("players").and_then(Value::as_array);
        for player in players.into_iter().flatten() {
            if player.get("playerId").and_then(Value::as_str) != Some(player_id) {
                continue;
            }
            let mut attributes = std::collections::BTreeMap::new();
            if let Some(map) = player.get("attributes").and_then(Value::as_object) {
                for (name, attribute) in map {
                    let value = server_attribute(attribute).map_err(|reason| {
                        GameLiftError::InvalidPlayer {
                            player_id: player_id.to_string(),
                            reason: format!("attribute {name}: {reason}"),
                        }
                    })?;
                    attributes.insert(name.clone(), value);
                }
            }
            return Ok(Some(Player {
                player_id: player_id.to_string(),
                team: team
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                attributes,
                latency_ms: Default::default(),
            }));
        }
    }
    Ok(None)
}

/// The matchmaker's attribute form `{attributeType, valueAttribute}`.
fn server_attribute(attribute: &Value) -> Result<AttributeValue, String> {
    let kind = attribute
        .get("attributeType")
        .and_then(Value::as_str)
        .ok_or("no attributeType")?;
    let value = attribute.get("valueAttribute").ok_or("no valueAttribute")?;
    match kind {
        "STRING" => value
            .as_str()
            .map(|s| AttributeValue::S(s.to_string()))
            .ok_or_else(|| "a STRING that is not a string".to_string()),
        "DOUBLE" => value
            .as_f64()
            .map(AttributeValue::N)
            .ok_or_else(|| "a DOUBLE that is not a number".to_string()),
        "STRING_LIST" => value
            .as_array()
            .ok_or("a STRING_LIST that is not a list")?
            .iter()
            .map(|item| {
                item.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| "a STRING_LIST element that is not a string".to_string())
            })
            .collect::<Result<Vec<_>, _>>()
            .map(AttributeValue::SL),
        "STRING_DOUBLE_MAP" => value
            .as_object()
            .ok_or("a STRING_DOUBLE_MAP that is not an object")?
            .iter()
            .map(|(key, number)| {
                number
                    .as_f64()
                    .map(|n| (key.clone(), n))
                    .ok_or_else(|| format!("STRING_DOUBLE_MAP value {key} is not a number"))
            })
            .collect::<Result<_, _>>()
            .map(AttributeValue::SDM),
        other => Err(format!("unknown attributeType {other}")),
    }
}

#[cfg(test)]
mod tests;
