//! The sample game server: the `gamelift-server` manager hosts sessions, players connect over
//! TCP and present their player session id, the service validates it.
//!
//! The server hosts one session per process, as GameLift expects: when a session ends (its last
//! player left, or the service terminated it) the process ends and a new one (a new process id,
//! a new connection) becomes ready for the next session.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use game_session::{
    PlayerConnectionConfig, SESSION_HANDLING_PROVIDER_REQUESTS, SESSION_NOTIFICATIONS,
    SessionConfig, SessionNotifications,
};
use gamelift_server::GameLiftError;
use gamelift_server::manager::{
    GameLiftServerManager, GameLiftServerRequests, ServerManagerConfig,
};
use gamelift_server::sdk::{SdkConfig, ServerParameters};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc};

use crate::anywhere::{Compute, register_process};
use crate::protocol::{BYE, DENIED, HELLO_TIMEOUT, STATE, TICK, WELCOME};

/// What the game server reports as it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerEvent {
    /// A process is connected and ready for a session.
    Ready {
        /// The process id.
        process_id: String,
        /// The port players connect to.
        port: u16,
    },
    /// The service placed a session here and it is active.
    SessionStarted {
        /// The game session id.
        session_id: String,
        /// The most players it admits.
        max_players: u32,
    },
    /// A player presented a valid player session id.
    PlayerJoined {
        /// The connection.
        connection: u32,
        /// The player session.
        player_session_id: String,
    },
    /// A player presented an id the service refused.
    PlayerRefused {
        /// The connection.
        connection: u32,
        /// What the player presented.
        ticket: String,
    },
    /// A player left.
    PlayerLeft {
        /// The connection.
        connection: u32,
    },
    /// The service changed the session (matchmaking backfill): `reason` is the update reason,
    /// `players` how many players its matchmaker data now lists.
    SessionUpdated {
        /// The update reason (`MATCHMAKING_DATA_UPDATED`, `BACKFILL_CANCELLED`...).
        reason: String,
        /// Players in the matchmaker data.
        players: u32,
    },
    /// The session ended and the process with it.
    SessionEnded {
        /// The game session id.
        session_id: String,
    },
}

impl std::fmt::Display for ServerEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServerEvent::Ready { process_id, port } => write!(f, "READY {process_id} {port}"),
            ServerEvent::SessionStarted {
                session_id,
                max_players,
            } => write!(f, "SESSION {session_id} {max_players}"),
            ServerEvent::PlayerJoined {
                connection,
                player_session_id,
            } => write!(f, "JOINED {connection} {player_session_id}"),
            ServerEvent::PlayerRefused { connection, ticket } => {
                write!(f, "REFUSED {connection} {ticket}")
            }
            ServerEvent::PlayerLeft { connection } => write!(f, "LEFT {connection}"),
            ServerEvent::SessionUpdated { reason, players } => {
                write!(f, "UPDATED {reason} {players}")
            }
            ServerEvent::SessionEnded { session_id } => write!(f, "ENDED {session_id}"),
        }
    }
}

impl std::str::FromStr for ServerEvent {
    type Err = String;

    /// Reads the line [`Display`](std::fmt::Display) writes.
    fn from_str(line: &str) -> Result<Self, String> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let number = |word: &str| word.parse::<u32>().map_err(|e| format!("{line:?}: {e}"));
        Ok(match words.as_slice() {
            ["READY", process_id, port] => ServerEvent::Ready {
                process_id: process_id.to_string(),
                port: port.parse().map_err(|e| format!("{line:?}: {e}"))?,
            },
            ["SESSION", session_id, max_players] => ServerEvent::SessionStarted {
                session_id: session_id.to_string(),
                max_players: number(max_players)?,
            },
            ["JOINED", connection, player_session_id] => ServerEvent::PlayerJoined {
                connection: number(connection)?,
                player_session_id: player_session_id.to_string(),
            },
            ["REFUSED", connection, ticket @ ..] => ServerEvent::PlayerRefused {
                connection: number(connection)?,
                ticket: ticket.join(" "),
            },
            ["LEFT", connection] => ServerEvent::PlayerLeft {
                connection: number(connection)?,
            },
            ["UPDATED", reason, players] => ServerEvent::SessionUpdated {
                reason: reason.to_string(),
                players: number(players)?,
            },
            ["ENDED", session_id] => ServerEvent::SessionEnded {
                session_id: session_id.to_string(),
            },
            ["ENDED"] => ServerEvent::SessionEnded {
                session_id: String::new(),
            },
            _ => return Err(format!("not a server event: {line:?}")),
        })
    }
}

/// Where a process gets its connection parameters.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// `GAMELIFT_SDK_*` from the environment (the GameLift Agent, a managed fleet or
    /// `gamelift-local --launch` sets them).
    Environment,
    /// Register the compute and fetch an auth token for each process (Anywhere, or
    /// `gamelift-local` with `--auth token`).
    Register {
        /// The control plane.
        client: aws_sdk_gamelift::Client,
        /// Where the control plane is, for error messages.
        endpoint: gamelift_client::explain::Endpoint,
        /// The compute.
        compute: Compute,
    },
}

/// How to run the game server.
#[derive(Debug, Clone)]
pub struct GameServerOptions {
    /// The address to listen on for players (port 0 picks one).
    pub listen: std::net::SocketAddr,
    /// Connection parameters.
    pub credentials: Credentials,
    /// SDK timings.
    pub sdk: SdkConfig,
    /// Stop after hosting this many sessions (`None`: until shut down).
    pub sessions: Option<u32>,
    /// A process id given by a launcher, used verbatim: the server then runs one process
    /// lifetime (one session) and returns.
    pub process_id: Option<String>,
    /// Without `process_id`, each process gets the id `<prefix>-<random>`.
    pub process_prefix: String,
}

/// The game's side of the session notifications.
struct Game {
    events: mpsc::UnboundedSender<ServerEvent>,
    /// The session being hosted and its player limit.
    session: Mutex<Option<(String, u32)>>,
    ended: Arc<Notify>,
}

impl SessionNotifications for Game {
    fn on_create_session_begin(&self, session: &SessionConfig) -> bool {
        // A real game loads the level here and answers whether it is ready.
        *self.session.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((session.session_id.clone(), session.max_players));
        true
    }

    fn on_create_session_end(&self) {
        let started = self
            .session
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some((session_id, max_players)) = started {
            let _ = self.events.send(ServerEvent::SessionStarted {
                session_id,
                max_players,
            });
        }
    }

    fn on_update_session_begin(&self, session: &SessionConfig, update_reason: &str) {
        // The matchmaker data lists every player of the match, by team.
        let players = serde_json::from_str::<serde_json::Value>(&session.matchmaking_data)
            .ok()
            .and_then(|data| {
                data["teams"].as_array().map(|teams| {
                    teams
                        .iter()
                        .map(|t| t["players"].as_array().map_or(0, Vec::len))
                        .sum::<usize>()
                })
            })
            .unwrap_or(0);
        let _ = self.events.send(ServerEvent::SessionUpdated {
            reason: update_reason.to_string(),
            players: u32::try_from(players).unwrap_or(u32::MAX),
        });
    }

    fn on_destroy_session_end(&self) {
        let session_id = self
            .session
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .map(|(id, _)| id)
            .unwrap_or_default();
        let _ = self.events.send(ServerEvent::SessionEnded { session_id });
        self.ended.notify_one();
    }
}

/// Runs the game server until it hosted `options.sessions` sessions or `shutdown` resolves.
pub async fn run(
    options: GameServerOptions,
    events: mpsc::UnboundedSender<ServerEvent>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), String> {
    let listener = TcpListener::bind(options.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", options.listen))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let ended = Arc::new(Notify::new());
    let game = Arc::new(Game {
        events: events.clone(),
        session: Mutex::new(None),
        ended: ended.clone(),
    });
    let _game = SESSION_NOTIFICATIONS
        .connect(game)
        .map_err(|e| e.to_string())?;
    let manager = GameLiftServerManager::with_sdk(
        options.sdk.clone(),
        ServerManagerConfig {
            port,
            ..Default::default()
        },
    )
    .map_err(|e| e.to_string())?;
    let _active = manager.activate().map_err(|e| e.to_string())?;
    let accepting = tokio::spawn(accept_players(listener, manager.clone(), events.clone()));

    tokio::pin!(shutdown);
    let mut hosted = 0;
    let result = loop {
        let process_id = match &options.process_id {
            Some(given) => given.clone(),
            None => format!(
                "{}-{}",
                options.process_prefix,
                uuid::Uuid::new_v4().simple()
            ),
        };
        let parameters = match parameters(&options.credentials, &process_id).await {
            Ok(parameters) => parameters,
            Err(error) => break Err(error),
        };
        let ready = {
            let manager = manager.clone();
            tokio::task::spawn_blocking(move || {
                manager.initialize_sdk(parameters)?;
                manager.notify_process_ready()
            })
            .await
            .map_err(|e| e.to_string())?
        };
        if let Err(error) = ready {
            let manager = manager.clone();
            let _ = tokio::task::spawn_blocking(move || manager.shutdown_sdk()).await;
            break Err(format!("the process could not get ready: {error}"));
        }
        let _ = events.send(ServerEvent::Ready {
            process_id: process_id.clone(),
            port,
        });
        let stop = tokio::select! {
            _ = ended.notified() => false,
            _ = &mut shutdown => true,
        };
        let closing = manager.clone();
        let _ = tokio::task::spawn_blocking(move || {
            if stop {
                // Leaving on our own: tell the service first.
                let _ = closing.destroy_session();
            }
            closing.shutdown_sdk()
        })
        .await;
        if stop {
            break Ok(());
        }
        hosted += 1;
        // A process id is used once: a launched process ends with its session.
        if options.process_id.is_some() || options.sessions.is_some_and(|limit| hosted >= limit) {
            break Ok(());
        }
    };
    accepting.abort();
    result
}

async fn parameters(
    credentials: &Credentials,
    process_id: &str,
) -> Result<ServerParameters, String> {
    match credentials {
        Credentials::Environment => ServerParameters::builder()
            .env_overrides()
            .process_id(process_id)
            .build()
            .map_err(|e| e.to_string()),
        Credentials::Register {
            client,
            endpoint,
            compute,
        } => register_process(client, endpoint, compute, process_id).await,
    }
}

async fn accept_players(
    listener: TcpListener,
    manager: GameLiftServerManager,
    events: mpsc::UnboundedSender<ServerEvent>,
) {
    let next_connection = Arc::new(AtomicU32::new(1));
    let connected = Arc::new(AtomicU32::new(0));
    while let Ok((stream, _)) = listener.accept().await {
        let connection = next_connection.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(serve_player(
            stream,
            connection,
            manager.clone(),
            connected.clone(),
            events.clone(),
        ));
    }
}

/// `text` on one line, for the line-based protocol.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Runs a bus call that may block (it waits for the service) off the async workers.
async fn blocking<T: Send + 'static>(call: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    tokio::task::spawn_blocking(call).await.ok()
}

async fn serve_player(
    stream: TcpStream,
    connection: u32,
    manager: GameLiftServerManager,
    connected: Arc<AtomicU32>,
    events: mpsc::UnboundedSender<ServerEvent>,
) {
    let _ = stream.set_nodelay(true);
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let ticket = match tokio::time::timeout(HELLO_TIMEOUT, lines.next_line()).await {
        Ok(Ok(Some(line))) => line.trim().to_string(),
        _ => return,
    };
    let player = PlayerConnectionConfig {
        player_connection_id: connection,
        player_session_id: ticket.clone(),
    };
    // The typed form of `validate_player_join_session` (which answers only yes or no), so the
    // player is told why a refusal happened.
    let check = player.clone();
    let admitted = blocking(move || manager.validate_player(&check))
        .await
        .unwrap_or_else(|| {
            Err(GameLiftError::NotConnected(
                "the validation task failed".into(),
            ))
        });
    if let Err(error) = admitted {
        let _ = write
            .write_all(format!("{DENIED} {}\n", one_line(&error.to_string())).as_bytes())
            .await;
        let _ = events.send(ServerEvent::PlayerRefused { connection, ticket });
        return;
    }
    connected.fetch_add(1, Ordering::SeqCst);
    let _ = events.send(ServerEvent::PlayerJoined {
        connection,
        player_session_id: ticket,
    });
    if write
        .write_all(format!("{WELCOME} {connection}\n").as_bytes())
        .await
        .is_ok()
    {
        while let Ok(Some(line)) = lines.next_line().await {
            let line = line.trim();
            if line == BYE {
                break;
            }
            let answer = match line.strip_prefix(TICK) {
                Some(n) => format!(
                    "{STATE} {} {}\n",
                    n.trim(),
                    connected.load(Ordering::SeqCst)
                ),
                None => format!("{DENIED} unknown command\n"),
            };
            if write.write_all(answer.as_bytes()).await.is_err() {
                break;
            }
        }
    }
    connected.fetch_sub(1, Ordering::SeqCst);
    let _ = events.send(ServerEvent::PlayerLeft { connection });
    blocking(move || {
        SESSION_HANDLING_PROVIDER_REQUESTS
            .broadcast(|provider| provider.handle_player_leave_session(&player));
    })
    .await;
}
