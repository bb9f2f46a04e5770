//! Starting and stopping the service on a TCP port.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{FromRequestParts, RawQuery, Request, State};
use axum::http::Method;
use axum::response::Response;
use axum::routing::{any, get};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::clock::{Clock, SystemClock};
use crate::error::{ErrorCode, ServiceError};
use crate::launcher::{self, LauncherConfig};
use crate::service::{Service, ServiceConfig};
use crate::state::ServerProcess;
use crate::{console, health, http, listener, tls, websocket};

/// Routes by path and method: `GET /` is a Server SDK connection, `POST /` the JSON control
/// plane, `POST /service/GameLift/operation/<Op>` the CBOR one. Any other method on those paths
/// is a typed 405, any other path a typed 404 (the `/_gamelift_local/` paths are routed
/// before this).
async fn dispatch(State(service): State<Arc<Service>>, request: Request) -> Response {
    let path = request.uri().path();
    let rpc_path = path.starts_with(http::CBOR_PREFIX);
    let root = path == "/" || path.is_empty();
    if !root && !rpc_path {
        return http::refuse(
            request.headers(),
            ServiceError::new(
                ErrorCode::NotFound,
                format!(
                    "{} {path}: no such path. The control plane is POST / (awsJson1.1, X-Amz-Target) or POST {}<Operation> (Smithy RPC v2 CBOR); game servers connect with GET /; the console is {}",
                    request.method(),
                    http::CBOR_PREFIX,
                    console::CONSOLE_PATH
                ),
            )
            .with_status(404),
        );
    }
    match *request.method() {
        Method::GET if root => {
            let (mut parts, _body) = request.into_parts();
            let query = RawQuery(parts.uri.query().map(str::to_string));
            let upgrade = WebSocketUpgrade::from_request_parts(&mut parts, &service).await;
            websocket::upgrade(State(service), query, upgrade).await
        }
        Method::POST => http::handle(State(service), request).await,
        ref method => {
            let allowed = if root { "GET, POST" } else { "POST" };
            let mut response = http::refuse(
                request.headers(),
                ServiceError::new(
                    ErrorCode::MethodNotAllowed,
                    format!("{method} {path} is not allowed; use {allowed}"),
                ),
            );
            if let Ok(value) = axum::http::HeaderValue::from_str(allowed) {
                response
                    .headers_mut()
                    .insert(axum::http::header::ALLOW, value);
            }
            response
        }
    }
}

/// What a restored state holds, for the start-up log.
fn summary(state: &crate::state::State) -> String {
    let (mut sessions, mut players, mut processes) = (0, 0, 0);
    for region in state.regions.values() {
        sessions += region.sessions.len();
        players += region.players.len();
        processes += region.processes.len();
    }
    format!("{sessions} game sessions, {players} player sessions, {processes} server processes")
}

/// A duration in whole milliseconds, at least 1, saturating.
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

/// Why the server did not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address asked for.
        address: SocketAddr,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// A setting is out of range.
    #[error("invalid setting: {0}")]
    Config(String),
}

/// Entry point: `Server::builder()`.
#[derive(Debug)]
pub struct Server;

impl Server {
    /// A builder with the defaults of the `gamelift-local` binary.
    pub fn builder() -> ServerBuilder {
        ServerBuilder {
            bind: SocketAddr::from(([127, 0, 0, 1], 9080)),
            config: ServiceConfig::default(),
            clock: Arc::new(SystemClock),
            tls: false,
            certificate_directory: None,
            launcher: LauncherConfig::default(),
            state_directory: None,
        }
    }
}

/// Configures and starts the service.
pub struct ServerBuilder {
    bind: SocketAddr,
    config: ServiceConfig,
    clock: Arc<dyn Clock>,
    tls: bool,
    certificate_directory: Option<std::path::PathBuf>,
    launcher: LauncherConfig,
    state_directory: Option<std::path::PathBuf>,
}

impl ServerBuilder {
    /// Launch `command` (a program and its arguments, separated by spaces, as a runtime
    /// configuration's `LaunchPath` and `Parameters`) and keep `processes` copies of it running
    /// on the default fleet, restarting each one that exits, as the GameLift Agent does. Each is
    /// started with `GAMELIFT_SDK_WEBSOCKET_URL`, `GAMELIFT_SDK_AUTH_TOKEN`,
    /// `GAMELIFT_SDK_FLEET_ID`, `GAMELIFT_SDK_HOST_ID` and `GAMELIFT_SDK_PROCESS_ID`. May be given
    /// several times; only these commands can be launched, whatever UpdateRuntimeConfiguration
    /// asks for.
    pub fn launch(mut self, command: &str, processes: u32) -> Self {
        let mut words = command.split(' ').filter(|word| !word.is_empty());
        if let Some(program) = words.next() {
            let parameters = words.collect::<Vec<_>>().join(" ");
            self.config.launch.push(ServerProcess {
                launch_path: program.to_string(),
                parameters: Some(parameters).filter(|p| !p.is_empty()),
                concurrent_executions: processes,
            });
        }
        self
    }

    /// How long launched processes have to exit after SIGTERM when the service stops, before
    /// they are killed. Default 10 s.
    pub fn launch_stop_grace(mut self, grace: Duration) -> Self {
        self.launcher.stop_grace = grace;
        self
    }

    /// The address to listen on (port 0 picks a free port). Default `127.0.0.1:9080`.
    pub fn bind(mut self, address: SocketAddr) -> Self {
        self.bind = address;
        self
    }

    /// The Region of the default fleet. Default `us-west-2`.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.config.region = region.into();
        self
    }

    /// The id of the default Anywhere fleet. Default `fleet-local`.
    pub fn fleet_id(mut self, fleet_id: impl Into<String>) -> Self {
        self.config.fleet_id = fleet_id.into();
        self
    }

    /// The default fleet's custom location. Default `custom-local`.
    pub fn location(mut self, location: impl Into<String>) -> Self {
        self.config.location = location.into();
        self
    }

    /// New game sessions become ACTIVE at once on an implicit process at `127.0.0.1`.
    pub fn auto_activate(mut self, on: bool) -> Self {
        self.config.auto_activate = on;
        self
    }

    /// The port of the implicit process. Default 7777.
    pub fn auto_activate_port(mut self, port: u16) -> Self {
        self.config.auto_activate_port = port;
        self
    }

    /// Keeps the state in `directory` (an embedded database, `state.redb`), so it survives a
    /// restart, `kill -9` included: a change is on disk before its request is answered, and on
    /// start the state found there is restored. Without it (the default for the library) the
    /// state lives in memory only.
    pub fn state_directory(mut self, directory: impl Into<std::path::PathBuf>) -> Self {
        self.state_directory = Some(directory.into());
        self
    }

    /// Connections open at once: HTTP connections, and Server SDK connections, each. More are
    /// refused with 503. Default 4096.
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.config.max_connections = connections.max(1);
        self
    }

    /// Time a client has to complete a TLS handshake. Default 10 s.
    pub fn tls_handshake_timeout(mut self, timeout: Duration) -> Self {
        self.config.tls_handshake_timeout_millis = millis(timeout);
        self
    }

    /// Time a client has to send a request's headers, and how long an idle keep-alive
    /// connection stays open. Default 30 s.
    pub fn http_header_timeout(mut self, timeout: Duration) -> Self {
        self.config.http_header_timeout_millis = millis(timeout);
        self
    }

    /// Time a client has to send a request's body. Default 30 s.
    pub fn http_body_timeout(mut self, timeout: Duration) -> Self {
        self.config.http_body_timeout_millis = millis(timeout);
        self
    }

    /// How long a Server SDK connection may stay silent before it is closed (1008). Default
    /// 300 s; the SDKs heartbeat every 60 s.
    pub fn websocket_idle_timeout(mut self, timeout: Duration) -> Self {
        self.config.websocket_idle_timeout_millis = millis(timeout);
        self
    }

    /// Frames a Server SDK connection may send per second, sustained (bursts of twice as many
    /// are taken at once); beyond that the service reads its frames more slowly, so one process
    /// cannot take the service's time from the others. Default 100; the SDKs send about one a
    /// minute plus one per player accepted.
    pub fn websocket_frame_rate(mut self, frames_per_second: u32) -> Self {
        self.config.websocket_frame_rate = frames_per_second.max(1);
        self
    }

    /// How long ended player sessions and terminated game sessions stay visible (to
    /// DescribeGameSessions, DescribePlayerSessions) before they are forgotten, which bounds the
    /// memory a long-running service uses. Default one hour.
    pub fn retention(mut self, retention: Duration) -> Self {
        self.config.retention_millis = millis(retention);
        self
    }

    /// How long a player session may stay RESERVED. Default 60 s.
    pub fn reservation_timeout(mut self, timeout: Duration) -> Self {
        self.config.reservation_timeout_millis = timeout.as_millis() as u64;
        self
    }

    /// Whether server processes must present a token from GetComputeAuthToken (`--auth token`).
    /// Off by default: any compute of an existing fleet may connect and is registered on the fly.
    pub fn require_auth_token(mut self, on: bool) -> Self {
        self.config.require_auth_token = on;
        self
    }

    /// How long a process has to activate a game session before it goes to ERROR. Default 60 s.
    pub fn activation_timeout(mut self, timeout: Duration) -> Self {
        self.config.activation_timeout_millis = timeout.as_millis() as u64;
        self
    }

    /// The heartbeat period; a process unhealthy or silent for three periods is terminated.
    /// Default 60 s.
    pub fn heartbeat_period(mut self, period: Duration) -> Self {
        self.config.heartbeat_period_millis = period.as_millis() as u64;
        self
    }

    /// How long a process whose connection dropped may take to reconnect. Default 30 s.
    pub fn reconnect_grace(mut self, grace: Duration) -> Self {
        self.config.reconnect_grace_millis = grace.as_millis() as u64;
        self
    }

    /// How long a process told to terminate has to call ProcessEnding. Default 5 minutes.
    pub fn termination_grace(mut self, grace: Duration) -> Self {
        self.config.termination_grace_millis = grace.as_millis() as u64;
        self
    }

    /// Serves https and wss with a self-signed certificate for `localhost` and `127.0.0.1`,
    /// generated at start and written as PEM to the temporary directory (see
    /// [`RunningServer::certificate_path`]).
    pub fn tls(mut self, on: bool) -> Self {
        self.tls = on;
        self
    }

    /// Where to write the generated certificate (default: a new directory only this user can
    /// read, made in the temporary directory at start).
    pub fn certificate_directory(mut self, directory: impl Into<std::path::PathBuf>) -> Self {
        self.certificate_directory = Some(directory.into());
        self
    }

    /// The clock (a [`ManualClock`](crate::ManualClock) in tests).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Binds and starts serving; returns once the port accepts connections.
    pub async fn start(mut self) -> Result<RunningServer, StartError> {
        if self.config.auto_activate && self.config.auto_activate_port == 0 {
            return Err(StartError::Config(
                "the auto-activate port must be 1..=65535".into(),
            ));
        }
        let total: u64 = self
            .config
            .launch
            .iter()
            .map(|p| u64::from(p.concurrent_executions))
            .sum();
        if total > u64::from(crate::service::MAX_CONCURRENT_PROCESSES) {
            return Err(StartError::Config(format!(
                "at most {} launched processes run at once; asked for {total}",
                crate::service::MAX_CONCURRENT_PROCESSES
            )));
        }
        if let Some(empty) = self
            .config
            .launch
            .iter()
            .find(|p| p.concurrent_executions == 0)
        {
            return Err(StartError::Config(format!(
                "launching `{}` with 0 processes: ask for at least 1",
                empty.launch_path
            )));
        }
        let listener = tokio::net::TcpListener::bind(self.bind)
            .await
            .map_err(|source| StartError::Bind {
                address: self.bind,
                source,
            })?;
        let address = listener.local_addr().map_err(|source| StartError::Bind {
            address: self.bind,
            source,
        })?;
        let certificate = if self.tls {
            let directory = match self.certificate_directory.clone() {
                Some(directory) => directory,
                None => {
                    tls::private_directory(&std::env::temp_dir()).map_err(StartError::Config)?
                }
            };
            Some(tls::self_signed(&directory, address.port()).map_err(StartError::Config)?)
        } else {
            None
        };
        let scheme = if certificate.is_some() { "wss" } else { "ws" };
        self.config.sdk_endpoint = format!("{scheme}://{address}");
        let mut service = Service::new(self.config, self.clock);
        let mut restored = None;
        if let Some(directory) = &self.state_directory {
            let (persistence, state) =
                crate::persist::Persistence::open(directory).map_err(StartError::Config)?;
            if let Some(state) = state {
                restored = Some(summary(&state));
                service.restore(state);
            }
            tracing::info!(target: "gamelift_local", path = %persistence.path().display(), restored = restored.as_deref().unwrap_or("nothing (new state)"), "state directory");
            service.persistence = Some(Arc::new(persistence));
        }
        let service = Arc::new(service);
        let app = Router::new()
            .route("/", any(dispatch))
            .route(
                health::HEALTH_PATH,
                get(|State(service): State<Arc<Service>>| async move {
                    (
                        [(axum::http::header::CONTENT_TYPE, "application/json")],
                        health::report(&service).to_string(),
                    )
                }),
            )
            .route(
                console::CONSOLE_PATH,
                get(|| async { static_file("text/html; charset=utf-8", console::PAGE) }),
            )
            .route(
                console::SCRIPT_PATH,
                get(|| async { static_file("text/javascript; charset=utf-8", console::SCRIPT) }),
            )
            .route(
                console::STYLE_PATH,
                get(|| async { static_file("text/css; charset=utf-8", console::STYLE) }),
            )
            .route(
                console::STATE_PATH,
                get(|State(service): State<Arc<Service>>| async move {
                    (
                        [
                            (axum::http::header::CONTENT_TYPE, "application/json"),
                            (axum::http::header::CACHE_CONTROL, "no-store"),
                        ],
                        console::snapshot(&service).to_string(),
                    )
                }),
            )
            .fallback(any(dispatch))
            .with_state(Arc::clone(&service));
        let (stop, stopped) = oneshot::channel::<()>();
        let ticker_service = Arc::clone(&service);
        let ticker = tokio::spawn(async move {
            let mut interval = tokio::time::interval(Duration::from_millis(250));
            loop {
                interval.tick().await;
                // Matchmaking passes can be long: off the request workers.
                let service = Arc::clone(&ticker_service);
                let _ = tokio::task::spawn_blocking(move || service.tick()).await;
            }
        });
        let shutdown = async {
            let _ = stopped.await;
        };
        let certificate_path = certificate.as_ref().map(|c| c.path.clone());
        let limits = listener::ConnectionLimits::from_config(service.config());
        let acceptor = certificate.map(|certificate| certificate.acceptor);
        let writer = service.persistence.clone().map(|persistence| {
            let (stop, stopped) = watch::channel(false);
            let snapshot_service = Arc::clone(&service);
            let snapshot =
                Arc::new(move || crate::persist::snapshot(&snapshot_service.state.lock()));
            (
                stop,
                tokio::spawn(crate::persist::run(persistence, snapshot, stopped)),
            )
        });
        let task = tokio::spawn(async move {
            listener::serve(listener, acceptor, app, limits, shutdown).await;
            ticker.abort();
            // The last changes go to disk before the server reports it has stopped.
            if let Some((stop, writer)) = writer {
                let _ = stop.send(true);
                let _ = writer.await;
            }
        });
        tracing::info!(target: "gamelift_local", %address, "listening");
        let launcher = (!service.config().launch.is_empty()).then(|| {
            let (stop, stopped) = watch::channel(false);
            let task = tokio::spawn(launcher::run(Arc::clone(&service), self.launcher, stopped));
            (stop, task)
        });
        Ok(RunningServer {
            address,
            service,
            certificate_path,
            stop: Some(stop),
            task: Some(task),
            launcher,
        })
    }
}

/// A running service. Dropping it stops the server; [`shutdown`](Self::shutdown) also waits.
pub struct RunningServer {
    address: SocketAddr,
    service: Arc<Service>,
    certificate_path: Option<std::path::PathBuf>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    launcher: Option<(watch::Sender<bool>, JoinHandle<()>)>,
}

impl RunningServer {
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// The endpoint URL to give an AWS SDK (`http://127.0.0.1:PORT`, or `https://` with TLS).
    pub fn endpoint(&self) -> String {
        let scheme = if self.certificate_path.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.address)
    }

    /// With TLS, the PEM file of the self-signed certificate clients should trust.
    pub fn certificate_path(&self) -> Option<&std::path::Path> {
        self.certificate_path.as_deref()
    }

    /// The Server SDK 5 WebSocket URL (`ws://127.0.0.1:PORT`), also returned by RegisterCompute.
    pub fn sdk_endpoint(&self) -> String {
        self.service.config().sdk_endpoint.clone()
    }

    /// The service, for in-process inspection.
    pub fn service(&self) -> &Arc<Service> {
        &self.service
    }

    /// Stops launched game server processes (they end their sessions while the service still
    /// answers), then stops accepting connections, finishes requests in flight and waits for
    /// the server.
    pub async fn shutdown(mut self) {
        if let Some((stop, task)) = self.launcher.take() {
            let _ = stop.send(true);
            let _ = task.await;
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A file of the console, compiled into the binary.
fn static_file(
    content_type: &'static str,
    body: &'static str,
) -> impl axum::response::IntoResponse {
    (
        [
            (axum::http::header::CONTENT_TYPE, content_type),
            (axum::http::header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
}
