//! `GameLiftClientManager`: the single handler of the client-side session request buses.

use std::future::Future;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use crate::api::TicketStatus;
use ebus::{AddressPolicy, Bus, Connection, HandlerPolicy};
use game_session::{
    AcceptMatchRequest, CreateSessionRequest, JoinSessionRequest,
    MATCHMAKING_ASYNC_REQUEST_NOTIFICATIONS, MATCHMAKING_ASYNC_REQUESTS, MATCHMAKING_NOTIFICATIONS,
    MATCHMAKING_REQUESTS, MatchmakingAsyncRequests, MatchmakingRequests,
    SESSION_ASYNC_REQUEST_NOTIFICATIONS, SESSION_ASYNC_REQUESTS, SESSION_HANDLING_CLIENT_REQUESTS,
    SESSION_REQUESTS, SearchSessionsRequest, SearchSessionsResponse, SearchTarget,
    SessionAsyncRequests, SessionConnectionConfig, SessionError, SessionPlacement, SessionRequests,
    SessionStatus, StartMatchmakingRequest, StopMatchmakingRequest,
};

use crate::api::{
    CreateGameSessionInput, GameLiftApi, PlacementInput, PlacementStatus, SdkApi, SearchInput,
};
use crate::config::GameLiftClientConfig;

mod named;
pub use named::{encode_properties, gamelift_limits, session_details};

/// GameLift-specific requests: configure the client, make player ids.
pub trait GameLiftRequests: Send + Sync {
    /// (Re)configures the GameLift client; later requests use the new configuration.
    fn configure_client(&self, config: GameLiftClientConfig) -> Result<(), SessionError>;
    /// A random player id: a UUID, optionally with braces and dashes.
    fn create_player_id(&self, include_brackets: bool, include_dashes: bool) -> String;
}

/// The provider of [`GameLiftRequests`].
pub static GAMELIFT_REQUESTS: Bus<dyn GameLiftRequests> = Bus::with_policies(
    "GameLiftRequests",
    HandlerPolicy::Single,
    AddressPolicy::Single,
);

/// Following a matchmaking ticket: the development-time tracker polls DescribeMatchmaking and
/// reports on [`MATCHMAKING_NOTIFICATIONS`](game_session::MATCHMAKING_NOTIFICATIONS), then joins
/// the matched session. (In production, prefer the service's event notifications.)
pub trait MatchmakingEventRequests: Send + Sync {
    /// Starts following `ticket_id` for `player_id`; ignored (and `false`) while a ticket is
    /// already followed.
    fn start_polling(&self, ticket_id: &str, player_id: &str) -> bool;
    /// Stops following the ticket.
    fn stop_polling(&self);
}

/// The provider of [`MatchmakingEventRequests`].
pub static MATCHMAKING_EVENT_REQUESTS: Bus<dyn MatchmakingEventRequests> = Bus::with_policies(
    "MatchmakingEventRequests",
    HandlerPolicy::Single,
    AddressPolicy::Single,
);

/// DNS names of TLS-enabled GameLift fleets end with this; clients connect to those by name.
const TLS_DNS_SUFFIX: &str = ".amazongamelift.com";

/// Where a client connects: TLS fleets by DNS name (their certificates name the host), others by
/// IP address.
fn connection_config(
    player_session_id: String,
    dns_name: String,
    ip_address: String,
    port: u16,
) -> SessionConnectionConfig {
    SessionConnectionConfig {
        player_session_id,
        dns_name: if dns_name.ends_with(TLS_DNS_SUFFIX) {
            dns_name
        } else {
            String::new()
        },
        ip_address,
        port,
    }
}

struct Shared {
    runtime: Mutex<Option<tokio::runtime::Runtime>>,
    handle: tokio::runtime::Handle,
    config: RwLock<GameLiftClientConfig>,
    api: RwLock<Option<Arc<dyn GameLiftApi>>>,
    joined: Mutex<Option<String>>,
    /// Named sessions of the local users.
    named: Mutex<game_session::named::LocalSessions>,
    /// Invites already announced on the invite notification bus.
    announced_invites: Mutex<std::collections::BTreeSet<String>>,
    tracker: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        // Dropping a runtime from async code panics; let it wind down in the background.
        if let Some(runtime) = self.runtime.get_mut().ok().and_then(Option::take) {
            runtime.shutdown_background();
        }
    }
}

/// Waits until game session `session_id`, reported `status` when created, is ACTIVE. A session
/// that does not get there within the activation timeout is terminated (so it never holds a
/// server process) and the wait fails; one that errors or ends fails at once. `Unknown` (a backend
/// that reports no status) counts as ready.
async fn wait_until_active(
    api: &dyn GameLiftApi,
    session_id: &str,
    mut status: SessionStatus,
    config: &GameLiftClientConfig,
) -> Result<(), SessionError> {
    let deadline = Instant::now() + config.activation_timeout;
    loop {
        match status {
            SessionStatus::Active | SessionStatus::Unknown => return Ok(()),
            SessionStatus::Error | SessionStatus::Terminating | SessionStatus::Terminated => {
                return Err(SessionError::Failed(format!(
                    "game session {session_id} did not start: it is {status:?}"
                )));
            }
            SessionStatus::Activating => {}
        }
        if Instant::now() >= deadline {
            let terminated = api.terminate_game_session(session_id).await;
            return Err(SessionError::Timeout(format!(
                "game session {session_id} was still ACTIVATING after {:?}; it was {}",
                config.activation_timeout,
                match terminated {
                    Ok(()) => "terminated".to_string(),
                    Err(error) => format!("not terminated ({error})"),
                }
            )));
        }
        tokio::time::sleep(config.activation_poll_interval).await;
        status = match api.describe_game_session(session_id).await? {
            Some(session) => session.status,
            None => {
                return Err(SessionError::Failed(format!(
                    "game session {session_id} no longer exists"
                )));
            }
        };
    }
}

fn read<T: Clone>(lock: &RwLock<T>) -> T {
    lock.read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone()
}

fn write<T>(lock: &RwLock<T>, value: T) {
    *lock
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner()) = value;
}

/// Handles the client-side session request buses with GameLift.
///
/// Cloning is cheap; every clone is the same manager. Connect it to the buses with
/// [`activate`](Self::activate).
#[derive(Clone)]
pub struct GameLiftClientManager {
    shared: Arc<Shared>,
}

/// Keeps a manager connected to its buses; dropping it disconnects (deactivates) the manager.
#[must_use = "dropping the guard deactivates the manager"]
pub struct ActiveManager {
    _connections: Vec<Connection>,
}

impl std::fmt::Debug for GameLiftClientManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GameLiftClientManager")
            .field("configured", &read(&self.shared.api).is_some())
            .finish()
    }
}

impl GameLiftClientManager {
    /// A manager with its own runtime, not configured yet (requests fail with
    /// [`SessionError::NotConfigured`] until [`configure`](Self::configure)).
    pub fn new() -> Result<Self, SessionError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("gamelift-client")
            .enable_all()
            .build()
            .map_err(|error| {
                SessionError::Transport(format!("cannot start the client runtime: {error}"))
            })?;
        let handle = runtime.handle().clone();
        Ok(GameLiftClientManager {
            shared: Arc::new(Shared {
                runtime: Mutex::new(Some(runtime)),
                handle,
                config: RwLock::new(GameLiftClientConfig::default()),
                api: RwLock::new(None),
                joined: Mutex::new(None),
                named: Mutex::new(game_session::named::LocalSessions::new(gamelift_limits())),
                announced_invites: Mutex::new(std::collections::BTreeSet::new()),
                tracker: Mutex::new(None),
            }),
        })
    }

    /// A manager configured from `config`, with the official AWS SDK client.
    pub fn with_config(config: GameLiftClientConfig) -> Result<Self, SessionError> {
        let manager = Self::new()?;
        manager.configure(config)?;
        Ok(manager)
    }

    /// A manager that makes its GameLift calls through `api` (a test double, or a client built
    /// elsewhere).
    pub fn with_api(
        config: GameLiftClientConfig,
        api: Arc<dyn GameLiftApi>,
    ) -> Result<Self, SessionError> {
        let manager = Self::new()?;
        manager
            .shared
            .named
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .set_limits(config.named_session_limits.clone());
        write(&manager.shared.config, config);
        write(&manager.shared.api, Some(api));
        Ok(manager)
    }

    /// Validates `config` and builds the GameLift client from it.
    pub fn configure(&self, config: GameLiftClientConfig) -> Result<(), SessionError> {
        config.validate()?;
        let build = {
            let config = config.clone();
            async move { SdkApi::from_config(&config).await }
        };
        let api = self.block(build)??;
        self.shared
            .named
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .set_limits(config.named_session_limits.clone());
        write(&self.shared.config, config);
        write(
            &self.shared.api,
            Some(Arc::new(api) as Arc<dyn GameLiftApi>),
        );
        Ok(())
    }

    /// Connects the manager as the handler of [`SESSION_REQUESTS`], [`SESSION_ASYNC_REQUESTS`],
    /// [`MATCHMAKING_REQUESTS`], [`MATCHMAKING_ASYNC_REQUESTS`], [`GAMELIFT_REQUESTS`] and
    /// [`MATCHMAKING_EVENT_REQUESTS`]. Fails if another handler holds one of them (nothing stays
    /// connected then).
    pub fn activate(&self) -> Result<ActiveManager, ebus::Error> {
        let connections = vec![
            SESSION_REQUESTS.connect(Arc::new(self.clone()))?,
            SESSION_ASYNC_REQUESTS.connect(Arc::new(self.clone()))?,
            MATCHMAKING_REQUESTS.connect(Arc::new(self.clone()))?,
            MATCHMAKING_ASYNC_REQUESTS.connect(Arc::new(self.clone()))?,
            GAMELIFT_REQUESTS.connect(Arc::new(self.clone()))?,
            game_session::named::NAMED_SESSION_REQUESTS.connect(Arc::new(self.clone()))?,
            game_session::named::NAMED_SESSION_ASYNC_REQUESTS.connect(Arc::new(self.clone()))?,
            MATCHMAKING_EVENT_REQUESTS.connect(Arc::new(self.clone()))?,
        ];
        Ok(ActiveManager {
            _connections: connections,
        })
    }

    /// Runs `work` on the manager's runtime and waits for it, from any thread (also a runtime
    /// worker: it never nests `block_on`).
    fn block<T: Send + 'static>(
        &self,
        work: impl Future<Output = T> + Send + 'static,
    ) -> Result<T, SessionError> {
        let (sender, receiver) = std::sync::mpsc::sync_channel(1);
        self.shared.handle.spawn(async move {
            let _ = sender.send(work.await);
        });
        receiver.recv().map_err(|_| {
            SessionError::Transport("the request was dropped before it finished".into())
        })
    }

    fn api(&self) -> Result<Arc<dyn GameLiftApi>, SessionError> {
        read(&self.shared.api).ok_or(SessionError::NotConfigured)
    }

    /// The work of `create_session`, validated and ready to run.
    fn plan_create(
        &self,
        request: &CreateSessionRequest,
    ) -> Result<impl Future<Output = Result<String, SessionError>> + Send + 'static, SessionError>
    {
        request.validate()?;
        let api = self.api()?;
        let config = read(&self.shared.config);
        let name = Some(request.session_name.clone()).filter(|n| !n.is_empty());
        let creator = Some(request.creator_id.clone()).filter(|c| !c.is_empty());
        enum Plan {
            Direct(CreateGameSessionInput),
            Queue(PlacementInput),
        }
        let plan = match &request.placement {
            SessionPlacement::Queue {
                queue_name,
                placement_id,
            } => Plan::Queue(PlacementInput {
                placement_id: placement_id.clone(),
                queue_name: queue_name.clone(),
                max_players: request.max_players,
                name,
                properties: request.session_properties.clone(),
            }),
            placement => {
                let (fleet_id, alias_id, location) = match placement {
                    SessionPlacement::Fleet { fleet_id, location } => (
                        Some(fleet_id.clone()),
                        None,
                        location.clone().or(config.location.clone()),
                    ),
                    SessionPlacement::Alias { alias_id, location } => (
                        None,
                        Some(alias_id.clone()),
                        location.clone().or(config.location.clone()),
                    ),
                    _ => match (&config.fleet_id, &config.alias_id) {
                        (Some(fleet), _) => (Some(fleet.clone()), None, config.location.clone()),
                        (None, Some(alias)) => (None, Some(alias.clone()), config.location.clone()),
                        (None, None) => {
                            return Err(SessionError::invalid(
                                "placement",
                                "names no fleet, alias or queue and none is configured",
                            ));
                        }
                    },
                };
                Plan::Direct(CreateGameSessionInput {
                    fleet_id,
                    alias_id,
                    location,
                    max_players: request.max_players,
                    name,
                    creator_id: creator,
                    properties: request.session_properties.clone(),
                    idempotency_token: request.idempotency_token.clone(),
                })
            }
        };
        Ok(async move {
            match plan {
                Plan::Direct(input) => {
                    let created = api.create_game_session(&input).await?;
                    wait_until_active(api.as_ref(), &created.session_id, created.status, &config)
                        .await?;
                    Ok(created.session_id)
                }
                Plan::Queue(input) => {
                    let started = api.start_placement(&input).await?;
                    let deadline = Instant::now() + config.placement_timeout;
                    let mut placement = started;
                    loop {
                        match placement.status {
                            PlacementStatus::Fulfilled => {
                                return placement.game_session_id.ok_or_else(|| {
                                    SessionError::Transport(
                                        "a fulfilled placement named no game session".into(),
                                    )
                                });
                            }
                            PlacementStatus::Cancelled
                            | PlacementStatus::TimedOut
                            | PlacementStatus::Failed => {
                                return Err(SessionError::Failed(format!(
                                    "placement {} ended {:?}",
                                    input.placement_id, placement.status
                                )));
                            }
                            PlacementStatus::Pending => {}
                        }
                        if Instant::now() >= deadline {
                            return Err(SessionError::Timeout(format!(
                                "placement {} was not fulfilled within {:?}",
                                input.placement_id, config.placement_timeout
                            )));
                        }
                        tokio::time::sleep(config.placement_poll_interval).await;
                        placement = api.describe_placement(&input.placement_id).await?;
                    }
                }
            }
        })
    }

    fn plan_search(
        &self,
        request: &SearchSessionsRequest,
    ) -> Result<
        impl Future<Output = Result<SearchSessionsResponse, SessionError>> + Send + 'static,
        SessionError,
    > {
        let api = self.api()?;
        let config = read(&self.shared.config);
        let (fleet_id, alias_id) = match &request.target {
            SearchTarget::Fleet(fleet) if !fleet.is_empty() => (Some(fleet.clone()), None),
            SearchTarget::Alias(alias) if !alias.is_empty() => (None, Some(alias.clone())),
            SearchTarget::Fleet(_) => {
                return Err(SessionError::invalid("target", "names an empty fleet id"));
            }
            SearchTarget::Alias(_) => {
                return Err(SessionError::invalid("target", "names an empty alias id"));
            }
            SearchTarget::Default => match (&config.fleet_id, &config.alias_id) {
                (Some(fleet), _) => (Some(fleet.clone()), None),
                (None, Some(alias)) => (None, Some(alias.clone())),
                (None, None) => {
                    return Err(SessionError::invalid(
                        "target",
                        "names no fleet or alias and none is configured",
                    ));
                }
            },
        };
        let input = SearchInput {
            fleet_id,
            alias_id,
            location: request.location.clone(),
            filter: Some(request.filter_expression.clone()).filter(|f| !f.is_empty()),
            sort: Some(request.sort_expression.clone()).filter(|s| !s.is_empty()),
            limit: (request.max_results > 0).then_some(i32::from(request.max_results)),
            next_token: request.next_token.clone(),
        };
        Ok(async move { api.search_game_sessions(&input).await })
    }

    fn plan_join(
        &self,
        request: &JoinSessionRequest,
    ) -> Result<
        impl Future<Output = Result<SessionConnectionConfig, SessionError>> + Send + 'static,
        SessionError,
    > {
        request.validate()?;
        let api = self.api()?;
        // Without a network layer the player could not connect: reserve no slot.
        if !SESSION_HANDLING_CLIENT_REQUESTS.has_handlers() {
            return Err(SessionError::NoHandler(
                "SessionHandlingClientRequests".into(),
            ));
        }
        let request = request.clone();
        let shared = Arc::clone(&self.shared);
        Ok(async move {
            // A player already holding a slot in this session reuses it.
            let player = match api
                .find_player_session(&request.session_id, &request.player_id)
                .await?
            {
                Some(existing) => existing,
                None => {
                    let data = Some(request.player_data.as_str()).filter(|d| !d.is_empty());
                    match api
                        .create_player_session(&request.session_id, &request.player_id, data)
                        .await
                    {
                        // Still activating: wait for it, then join once more.
                        Err(error @ SessionError::Service { .. }) if matches!(&error, SessionError::Service { code, .. } if code == "InvalidGameSessionStatusException") =>
                        {
                            let status = api
                                .describe_game_session(&request.session_id)
                                .await?
                                .map(|session| session.status);
                            if status != Some(SessionStatus::Activating) {
                                return Err(error);
                            }
                            let config = read(&shared.config);
                            wait_until_active(
                                api.as_ref(),
                                &request.session_id,
                                SessionStatus::Activating,
                                &config,
                            )
                            .await?;
                            api.create_player_session(&request.session_id, &request.player_id, data)
                                .await?
                        }
                        other => other?,
                    }
                }
            };
            let config = connection_config(
                player.player_session_id,
                player.dns_name,
                player.ip_address,
                player.port,
            );
            let started = SESSION_HANDLING_CLIENT_REQUESTS
                .broadcast_result(|network| network.request_player_join_session(&config));
            match started {
                None => Err(SessionError::NoHandler(
                    "SessionHandlingClientRequests".into(),
                )),
                Some(false) => Err(SessionError::Failed(
                    "the network layer did not start the connection".into(),
                )),
                Some(true) => {
                    *shared.joined.lock().unwrap_or_else(|p| p.into_inner()) =
                        Some(request.session_id.clone());
                    Ok(config)
                }
            }
        })
    }

    fn leave(&self) -> Result<(), SessionError> {
        if !SESSION_HANDLING_CLIENT_REQUESTS.has_handlers() {
            return Err(SessionError::NoHandler(
                "SessionHandlingClientRequests".into(),
            ));
        }
        SESSION_HANDLING_CLIENT_REQUESTS
            .broadcast(|network| network.request_player_leave_session());
        *self.shared.joined.lock().unwrap_or_else(|p| p.into_inner()) = None;
        Ok(())
    }

    /// The session this client joined last, if it has not left.
    pub fn joined_session(&self) -> Option<String> {
        self.shared
            .joined
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Runs `work` in the background and hands its result to `complete`; an invalid request
    /// (`Err` from planning) completes at once, on the calling thread.
    fn complete_async<T, F>(
        &self,
        planned: Result<F, SessionError>,
        complete: impl FnOnce(Result<T, SessionError>) + Send + 'static,
    ) where
        T: Send + 'static,
        F: Future<Output = Result<T, SessionError>> + Send + 'static,
    {
        match planned {
            Err(error) => complete(Err(error)),
            Ok(work) => {
                self.shared
                    .handle
                    .spawn(async move { complete(work.await) });
            }
        }
    }
}

impl SessionRequests for GameLiftClientManager {
    fn create_session(&self, request: &CreateSessionRequest) -> Result<String, SessionError> {
        let work = self.plan_create(request)?;
        self.block(work)?
    }

    fn search_sessions(
        &self,
        request: &SearchSessionsRequest,
    ) -> Result<SearchSessionsResponse, SessionError> {
        let work = self.plan_search(request)?;
        self.block(work)?
    }

    fn join_session(
        &self,
        request: &JoinSessionRequest,
    ) -> Result<SessionConnectionConfig, SessionError> {
        let work = self.plan_join(request)?;
        self.block(work)?
    }

    fn leave_session(&self) -> Result<(), SessionError> {
        self.leave()
    }
}

impl SessionAsyncRequests for GameLiftClientManager {
    fn create_session_async(&self, request: CreateSessionRequest) {
        self.complete_async(self.plan_create(&request), |result| {
            SESSION_ASYNC_REQUEST_NOTIFICATIONS
                .broadcast(|l| l.on_create_session_async_complete(&result));
        });
    }

    fn search_sessions_async(&self, request: SearchSessionsRequest) {
        self.complete_async(self.plan_search(&request), |result| {
            SESSION_ASYNC_REQUEST_NOTIFICATIONS
                .broadcast(|l| l.on_search_sessions_async_complete(&result));
        });
    }

    fn join_session_async(&self, request: JoinSessionRequest) {
        self.complete_async(self.plan_join(&request), |result| {
            SESSION_ASYNC_REQUEST_NOTIFICATIONS
                .broadcast(|l| l.on_join_session_async_complete(&result));
        });
    }

    fn leave_session_async(&self) {
        let result = self.leave();
        SESSION_ASYNC_REQUEST_NOTIFICATIONS
            .broadcast(|l| l.on_leave_session_async_complete(&result));
    }
}

impl GameLiftRequests for GameLiftClientManager {
    fn configure_client(&self, config: GameLiftClientConfig) -> Result<(), SessionError> {
        self.configure(config)
    }

    fn create_player_id(&self, include_brackets: bool, include_dashes: bool) -> String {
        let id = uuid::Uuid::new_v4();
        let text = if include_dashes {
            id.hyphenated().to_string()
        } else {
            id.simple().to_string()
        };
        if include_brackets {
            format!("{{{text}}}")
        } else {
            text
        }
    }
}

impl GameLiftClientManager {
    fn plan_start_matchmaking(
        &self,
        request: &StartMatchmakingRequest,
    ) -> Result<impl Future<Output = Result<String, SessionError>> + Send + 'static, SessionError>
    {
        request.validate()?;
        for player in &request.players {
            for (name, value) in &player.attributes {
                if let game_session::AttributeValue::S(text) = value
                    && (text.is_empty() || text.chars().count() > 100)
                {
                    return Err(SessionError::invalid(
                        "players.attributes",
                        format!(
                            "string attribute `{name}` of player {} must have 1..100 characters",
                            player.player_id
                        ),
                    ));
                }
            }
        }
        let api = self.api()?;
        let request = request.clone();
        Ok(async move { api.start_matchmaking(&request).await })
    }

    fn plan_stop_matchmaking(
        &self,
        request: &StopMatchmakingRequest,
    ) -> Result<impl Future<Output = Result<(), SessionError>> + Send + 'static, SessionError> {
        if request.ticket_id.is_empty() {
            return Err(SessionError::invalid("ticket_id", "is empty"));
        }
        let api = self.api()?;
        let ticket = request.ticket_id.clone();
        Ok(async move { api.stop_matchmaking(&ticket).await })
    }

    fn plan_accept_match(
        &self,
        request: &AcceptMatchRequest,
    ) -> Result<impl Future<Output = Result<(), SessionError>> + Send + 'static, SessionError> {
        if request.ticket_id.is_empty() {
            return Err(SessionError::invalid("ticket_id", "is empty"));
        }
        if request.player_ids.is_empty() {
            return Err(SessionError::invalid(
                "player_ids",
                "needs at least one player",
            ));
        }
        let api = self.api()?;
        let request = request.clone();
        Ok(async move { api.accept_match(&request).await })
    }

    /// Follows a ticket until it completes (then joins its session) or fails.
    async fn track(shared: Arc<Shared>, ticket_id: String, player_id: String) {
        loop {
            let api = read(&shared.api);
            let described = match api {
                Some(api) => api.describe_matchmaking(&ticket_id).await,
                None => Err(SessionError::NotConfigured),
            };
            match described {
                Err(error) => {
                    tracing::warn!(target: "gamelift_client", ticket = %ticket_id, %error, "DescribeMatchmaking failed");
                    MATCHMAKING_NOTIFICATIONS.broadcast(|l| l.on_match_error());
                }
                Ok(None) => {
                    tracing::warn!(target: "gamelift_client", ticket = %ticket_id, "the service does not know the ticket");
                    MATCHMAKING_NOTIFICATIONS.broadcast(|l| l.on_match_error());
                }
                Ok(Some(ticket)) => match ticket.status {
                    TicketStatus::Completed => {
                        let player_session = ticket
                            .player_sessions
                            .iter()
                            .find(|(player, _)| *player == player_id)
                            .map(|(_, session)| session.clone());
                        let Some(player_session_id) = player_session else {
                            tracing::warn!(target: "gamelift_client", ticket = %ticket_id, player = %player_id, "the match has no player session for this player");
                            MATCHMAKING_NOTIFICATIONS.broadcast(|l| l.on_match_error());
                            break;
                        };
                        let config = connection_config(
                            player_session_id,
                            ticket.dns_name.clone(),
                            ticket.ip_address.clone(),
                            ticket.port,
                        );
                        let started =
                            SESSION_HANDLING_CLIENT_REQUESTS.broadcast_result(|network| {
                                network.request_player_join_session(&config)
                            });
                        if started == Some(true) {
                            if let Some(session) = ticket.game_session_id {
                                *shared.joined.lock().unwrap_or_else(|p| p.into_inner()) =
                                    Some(session);
                            }
                            MATCHMAKING_NOTIFICATIONS.broadcast(|l| l.on_match_complete());
                        } else {
                            MATCHMAKING_NOTIFICATIONS.broadcast(|l| l.on_match_error());
                        }
                        break;
                    }
                    TicketStatus::Failed | TicketStatus::Cancelled | TicketStatus::TimedOut => {
                        MATCHMAKING_NOTIFICATIONS.broadcast(|l| l.on_match_failure());
                        break;
                    }
                    TicketStatus::RequiresAcceptance => {
                        MATCHMAKING_NOTIFICATIONS.broadcast(|l| l.on_match_acceptance());
                    }
                    TicketStatus::Queued | TicketStatus::Searching | TicketStatus::Placing => {}
                },
            }
            let interval = read(&shared.config).matchmaking_poll_interval;
            tokio::time::sleep(interval).await;
        }
    }
}

impl MatchmakingRequests for GameLiftClientManager {
    fn accept_match(&self, request: &AcceptMatchRequest) -> Result<(), SessionError> {
        let work = self.plan_accept_match(request)?;
        self.block(work)?
    }

    fn start_matchmaking(&self, request: &StartMatchmakingRequest) -> Result<String, SessionError> {
        let work = self.plan_start_matchmaking(request)?;
        self.block(work)?
    }

    fn stop_matchmaking(&self, request: &StopMatchmakingRequest) -> Result<(), SessionError> {
        let work = self.plan_stop_matchmaking(request)?;
        self.block(work)?
    }
}

impl MatchmakingAsyncRequests for GameLiftClientManager {
    fn accept_match_async(&self, request: AcceptMatchRequest) {
        self.complete_async(self.plan_accept_match(&request), |result| {
            MATCHMAKING_ASYNC_REQUEST_NOTIFICATIONS
                .broadcast(|l| l.on_accept_match_async_complete(&result));
        });
    }

    fn start_matchmaking_async(&self, request: StartMatchmakingRequest) {
        self.complete_async(self.plan_start_matchmaking(&request), |result| {
            MATCHMAKING_ASYNC_REQUEST_NOTIFICATIONS
                .broadcast(|l| l.on_start_matchmaking_async_complete(&result));
        });
    }

    fn stop_matchmaking_async(&self, request: StopMatchmakingRequest) {
        self.complete_async(self.plan_stop_matchmaking(&request), |result| {
            MATCHMAKING_ASYNC_REQUEST_NOTIFICATIONS
                .broadcast(|l| l.on_stop_matchmaking_async_complete(&result));
        });
    }
}

impl MatchmakingEventRequests for GameLiftClientManager {
    fn start_polling(&self, ticket_id: &str, player_id: &str) -> bool {
        let mut tracker = self
            .shared
            .tracker
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if tracker.as_ref().is_some_and(|task| !task.is_finished()) {
            tracing::warn!(target: "gamelift_client", ticket = ticket_id, "a ticket is already followed; ignoring");
            return false;
        }
        let work = Self::track(
            Arc::clone(&self.shared),
            ticket_id.to_string(),
            player_id.to_string(),
        );
        *tracker = Some(self.shared.handle.spawn(work));
        true
    }

    fn stop_polling(&self) {
        if let Some(task) = self
            .shared
            .tracker
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            task.abort();
        }
    }
}
