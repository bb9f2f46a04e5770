//! `GameLiftClientManager`: the single handler of the client-side session request buses.

use std::future::Future;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use ebus::{AddressPolicy, Bus, Connection, HandlerPolicy};
use game_session::{
    CreateSessionRequest, JoinSessionRequest, SESSION_ASYNC_REQUEST_NOTIFICATIONS,
    SESSION_ASYNC_REQUESTS, SESSION_HANDLING_CLIENT_REQUESTS, SESSION_REQUESTS,
    SearchSessionsRequest, SearchSessionsResponse, SearchTarget, SessionAsyncRequests,
    SessionConnectionConfig, SessionError, SessionPlacement, SessionRequests,
};

use crate::api::{
    CreateGameSessionInput, GameLiftApi, PlacementInput, PlacementStatus, SdkApi, SearchInput,
};
use crate::config::GameLiftClientConfig;

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

/// DNS names of TLS-enabled GameLift fleets end with this; clients connect to those by name.
const TLS_DNS_SUFFIX: &str = ".amazongamelift.com";

struct Shared {
    runtime: Mutex<Option<tokio::runtime::Runtime>>,
    handle: tokio::runtime::Handle,
    config: RwLock<GameLiftClientConfig>,
    api: RwLock<Option<Arc<dyn GameLiftApi>>>,
    joined: Mutex<Option<String>>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        // Dropping a runtime from async code panics; let it wind down in the background.
        if let Some(runtime) = self.runtime.get_mut().ok().and_then(Option::take) {
            runtime.shutdown_background();
        }
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
        write(&self.shared.config, config);
        write(
            &self.shared.api,
            Some(Arc::new(api) as Arc<dyn GameLiftApi>),
        );
        Ok(())
    }

    /// Connects the manager as the handler of [`SESSION_REQUESTS`], [`SESSION_ASYNC_REQUESTS`]
    /// and [`GAMELIFT_REQUESTS`]. Fails if another handler holds one of them (nothing is
    /// connected then).
    pub fn activate(&self) -> Result<ActiveManager, ebus::Error> {
        let sync = SESSION_REQUESTS.connect(Arc::new(self.clone()))?;
        let asynchronous = SESSION_ASYNC_REQUESTS.connect(Arc::new(self.clone()))?;
        let gamelift = GAMELIFT_REQUESTS.connect(Arc::new(self.clone()))?;
        Ok(ActiveManager {
            _connections: vec![sync, asynchronous, gamelift],
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
                Plan::Direct(input) => Ok(api.create_game_session(&input).await?.session_id),
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
                    api.create_player_session(&request.session_id, &request.player_id, data)
                        .await?
                }
            };
            let config = SessionConnectionConfig {
                player_session_id: player.player_session_id,
                dns_name: if player.dns_name.ends_with(TLS_DNS_SUFFIX) {
                    player.dns_name
                } else {
                    String::new()
                },
                ip_address: player.ip_address,
                port: player.port,
            };
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
