//! The client side of the sample story, through the buses only: the `gamelift-client` manager
//! handles the session requests, [`TcpPlayers`] connects the players.

use std::sync::Arc;
use std::time::Duration;

use ebus::Connection;
use game_session::{
    CreateSessionRequest, JoinSessionRequest, SESSION_HANDLING_CLIENT_REQUESTS, SESSION_REQUESTS,
    SearchSessionsRequest, SearchTarget, SessionConfig, SessionConnectionConfig, SessionError,
    SessionPlacement,
};
use gamelift_client::{ActiveManager, GameLiftClientConfig, GameLiftClientManager};

use crate::client::TcpPlayers;

/// A game client: the client manager and the TCP network layer, both on the buses.
pub struct GameClient {
    /// The connected players.
    pub players: Arc<TcpPlayers>,
    _network: Connection,
    _manager: ActiveManager,
}

/// Runs a (blocking) bus request off the async workers.
pub(crate) async fn on_bus<T: Send + 'static>(
    call: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(call)
        .await
        .map_err(|e| format!("the request task failed: {e}"))?
}

impl GameClient {
    /// Starts the client manager with `config` and connects the network layer.
    pub fn start(config: GameLiftClientConfig) -> Result<Self, String> {
        let manager = GameLiftClientManager::with_config(config).map_err(|e| e.to_string())?;
        let active = manager.activate().map_err(|e| e.to_string())?;
        let players = Arc::new(TcpPlayers::default());
        let network = SESSION_HANDLING_CLIENT_REQUESTS
            .connect(players.clone())
            .map_err(|e| e.to_string())?;
        Ok(Self {
            players,
            _network: network,
            _manager: active,
        })
    }

    /// Creates a session on the configured fleet; returns its id.
    pub async fn create_session(&self, name: &str, max_players: u32) -> Result<String, String> {
        self.create_session_waiting(name, max_players, Duration::ZERO)
            .await
    }

    /// Creates a session, waiting up to `patience` for a server process to be free: while the
    /// fleet has none (`FleetCapacityExceededException`, e.g. the game server is still starting)
    /// it says so once on stderr and tries again with a short backoff.
    pub async fn create_session_waiting(
        &self,
        name: &str,
        max_players: u32,
        patience: Duration,
    ) -> Result<String, String> {
        let request = CreateSessionRequest {
            creator_id: "quickstart".into(),
            session_name: name.into(),
            max_players,
            placement: SessionPlacement::Default,
            ..Default::default()
        };
        let deadline = tokio::time::Instant::now() + patience;
        let mut delay = Duration::from_millis(100);
        let mut said = false;
        loop {
            let attempt = request.clone();
            let result = on_bus(move || {
                SESSION_REQUESTS
                    .broadcast_result(|sessions| sessions.create_session(&attempt))
                    .ok_or_else(|| "no session provider".to_string())
            })
            .await?;
            match result {
                Err(SessionError::Service { code, message })
                    if code == "FleetCapacityExceededException"
                        && tokio::time::Instant::now() + delay < deadline =>
                {
                    if !said {
                        eprintln!(
                            "waiting for a game server process to be ready ({message}); giving up after {} s",
                            patience.as_secs()
                        );
                        said = true;
                    }
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(1));
                }
                Err(SessionError::Service { code, message })
                    if code == "FleetCapacityExceededException" =>
                {
                    return Err(format!(
                        "{code}: {message}. No game server process is ready on the fleet: start                          one (`cargo run -p samples --bin game-server -- --register ...`, or                          `gamelift-local --launch ...`)"
                    ));
                }
                other => return other.map_err(|e| e.to_string()),
            }
        }
    }

    /// The newest session with room for another player.
    pub async fn newest_session(&self) -> Result<String, String> {
        let request = SearchSessionsRequest {
            filter_expression: "hasAvailablePlayerSessions=true".into(),
            sort_expression: "creationTimeMillis DESC".into(),
            max_results: 1,
            target: SearchTarget::Default,
            ..Default::default()
        };
        on_bus(move || {
            SESSION_REQUESTS
                .broadcast_result(|sessions| sessions.search_sessions(&request))
                .ok_or("no session provider")?
                .map_err(|e| e.to_string())?
                .session_configs
                .into_iter()
                .next()
                .map(|session| session.session_id)
                .ok_or_else(|| "no session has room; create one with --create".to_string())
        })
        .await
    }

    /// Searches the fleet's active sessions for `session_id`.
    pub async fn find_session(&self, session_id: &str) -> Result<SessionConfig, String> {
        let wanted = session_id.to_string();
        let request = SearchSessionsRequest {
            filter_expression: "hasAvailablePlayerSessions=true".into(),
            sort_expression: "creationTimeMillis DESC".into(),
            max_results: 20,
            target: SearchTarget::Default,
            ..Default::default()
        };
        on_bus(move || {
            let found = SESSION_REQUESTS
                .broadcast_result(|sessions| sessions.search_sessions(&request))
                .ok_or("no session provider")?
                .map_err(|e| e.to_string())?;
            found
                .session_configs
                .into_iter()
                .find(|s| s.session_id == wanted)
                .ok_or_else(|| format!("the search did not find {wanted}"))
        })
        .await
    }

    /// Joins `player_id` to the session: a player session, then a TCP connection presenting it.
    pub async fn join(
        &self,
        session_id: &str,
        player_id: &str,
    ) -> Result<SessionConnectionConfig, String> {
        let request = JoinSessionRequest {
            session_id: session_id.into(),
            player_id: player_id.into(),
            player_data: String::new(),
        };
        let players = self.players.clone();
        on_bus(move || {
            let _ = players.take_last_failure();
            SESSION_REQUESTS
                .broadcast_result(|sessions| sessions.join_session(&request))
                .ok_or("no session provider")?
                .map_err(|error| match players.take_last_failure() {
                    // The network layer says why the game server did not take the player.
                    Some(why) => format!("{error}: {why}"),
                    None => error.to_string(),
                })
        })
        .await
    }

    /// One game tick for every connected player.
    pub async fn tick(&self, n: u32) -> Result<Vec<String>, String> {
        let players = self.players.clone();
        on_bus(move || players.tick(n)).await
    }

    /// Every player leaves the session.
    pub async fn leave(&self) -> Result<(), String> {
        on_bus(|| {
            SESSION_REQUESTS
                .broadcast_result(|sessions| sessions.leave_session())
                .ok_or("no session provider")?
                .map_err(|e| e.to_string())
        })
        .await
    }
}
