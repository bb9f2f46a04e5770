//! The game-server side of Amazon GameLift: a native Server SDK 5 ([`sdk`]) and the server
//! manager ([`manager`]) that turns the service's events into session notifications on the
//! `game-session` buses.
//!
//! A complete minimal game server: it reads its connection from the `GAMELIFT_SDK_*`
//! environment, tells the service it is ready, hosts the sessions the service places on it, and
//! admits only players who present a valid player session id.
//!
//! ```no_run
//! use std::sync::Arc;
//!
//! use game_session::{
//!     PlayerConnectionConfig, SESSION_HANDLING_PROVIDER_REQUESTS, SESSION_NOTIFICATIONS,
//!     SessionConfig, SessionNotifications,
//! };
//! use gamelift_server::manager::{
//!     GAMELIFT_SERVER_REQUESTS, GameLiftServerManager, ServerManagerConfig,
//! };
//! use gamelift_server::sdk::{SdkConfig, ServerParameters};
//! use tokio::io::AsyncBufReadExt;
//!
//! struct Game;
//!
//! impl SessionNotifications for Game {
//!     fn on_create_session_begin(&self, session: &SessionConfig) -> bool {
//!         println!("hosting {} for {} players", session.session_id, session.max_players);
//!         true // the level is loaded; accept the session
//!     }
//!     fn on_destroy_session_end(&self) {
//!         println!("session over");
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let port = 7777;
//!     let _game = SESSION_NOTIFICATIONS.connect(Arc::new(Game))?;
//!
//!     let config = ServerManagerConfig { port, ..Default::default() };
//!     let manager = GameLiftServerManager::with_sdk(SdkConfig::default(), config)?;
//!     let _active = manager.activate()?;
//!     manager.initialize_sdk(ServerParameters::from_env()?)?;
//!     GAMELIFT_SERVER_REQUESTS
//!         .broadcast_result(|server| server.notify_process_ready())
//!         .ok_or("no server manager")??;
//!
//!     // Players connect over TCP and send their player session id as the first line.
//!     let listener = tokio::net::TcpListener::bind(("0.0.0.0", port)).await?;
//!     for connection_id in 1u32.. {
//!         let (socket, _) = listener.accept().await?;
//!         tokio::spawn(async move {
//!             let mut lines = tokio::io::BufReader::new(socket).lines();
//!             let Ok(Some(ticket)) = lines.next_line().await else { return };
//!             let player = PlayerConnectionConfig {
//!                 player_connection_id: connection_id,
//!                 player_session_id: ticket.trim().to_string(),
//!             };
//!             let check = player.clone();
//!             let admitted = tokio::task::spawn_blocking(move || {
//!                 SESSION_HANDLING_PROVIDER_REQUESTS
//!                     .broadcast_result(|provider| provider.validate_player_join_session(&check))
//!                     .unwrap_or(false)
//!             })
//!             .await
//!             .unwrap_or(false);
//!             if !admitted {
//!                 return; // forged, reused or expired: drop the connection
//!             }
//!             while let Ok(Some(_command)) = lines.next_line().await {
//!                 // ... play ...
//!             }
//!             tokio::task::spawn_blocking(move || {
//!                 SESSION_HANDLING_PROVIDER_REQUESTS
//!                     .broadcast(|provider| provider.handle_player_leave_session(&player));
//!             });
//!         });
//!     }
//!     Ok(())
//! }
//! ```

#![warn(missing_docs)]

mod error;
pub mod manager;
pub mod sdk;
pub mod signals;

pub use error::{GameLiftError, ServiceErrorKind};
