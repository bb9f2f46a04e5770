//! The Amazon GameLift client manager: the single handler of the client-side session request
//! buses, doing the work with the official `aws-sdk-gamelift` client. Game code only broadcasts
//! requests and listens for completions.
//!
//! ```no_run
//! use std::sync::Arc;
//! use game_session::*;
//! use gamelift_client::{GameLiftClientConfig, GameLiftClientManager};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Configure against a local service (or Amazon GameLift: drop the endpoint and use real keys).
//! let config = GameLiftClientConfig::builder()
//!     .region("us-west-2")
//!     .endpoint_url("http://127.0.0.1:9080")
//!     .static_credentials("local", "local")
//!     .fleet_id("fleet-local")
//!     .location("custom-local")
//!     .build();
//! let manager = GameLiftClientManager::with_config(config)?;
//! let _active = manager.activate()?;
//!
//! // A completion handler for the async forms.
//! struct Completions;
//! impl SessionAsyncRequestNotifications for Completions {
//!     fn on_create_session_async_complete(&self, result: &Result<String, SessionError>) {
//!         println!("created: {result:?}");
//!     }
//! }
//! let _listener = SESSION_ASYNC_REQUEST_NOTIFICATIONS.connect(Arc::new(Completions))?;
//!
//! // The game's network layer connects players to the sessions they join.
//! struct Network;
//! impl SessionHandlingClientRequests for Network {
//!     fn request_player_join_session(&self, config: &SessionConnectionConfig) -> bool {
//!         println!("connect to {}:{} with ticket {}", config.host(), config.port, config.player_session_id);
//!         true
//!     }
//!     fn request_player_leave_session(&self) {}
//! }
//! let _network = SESSION_HANDLING_CLIENT_REQUESTS.connect(Arc::new(Network))?;
//!
//! // Create, search and join through the buses only.
//! let request = CreateSessionRequest { session_name: "arena".into(), max_players: 4, ..Default::default() };
//! let session_id = SESSION_REQUESTS.broadcast_result(|p| p.create_session(&request)).expect("a provider")?;
//! let search = SearchSessionsRequest {
//!     filter_expression: "hasAvailablePlayerSessions = true".into(),
//!     ..Default::default()
//! };
//! let found = SESSION_REQUESTS.broadcast_result(|p| p.search_sessions(&search)).expect("a provider")?;
//! println!("{} sessions", found.session_configs.len());
//! let join = JoinSessionRequest { session_id, player_id: "ada".into(), ..Default::default() };
//! let connection = SESSION_REQUESTS.broadcast_result(|p| p.join_session(&join)).expect("a provider")?;
//! println!("joined with {}", connection.player_session_id);
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

pub mod api;
pub mod config;
pub mod explain;
pub mod local_invites;
mod manager;

pub use api::{GameLiftApi, SdkApi};
pub use config::{CredentialsSource, GameLiftClientConfig, GameLiftClientConfigBuilder};
/// Named sessions on GameLift: the client manager also provides
/// [`NamedSessionRequests`](game_session::named::NamedSessionRequests); these are the encoding of
/// settings into game properties and GameLift's limits.
pub mod named {
    pub use crate::manager::{encode_properties, gamelift_limits, session_details};
}

pub use manager::{
    ActiveManager, GAMELIFT_REQUESTS, GameLiftClientManager, GameLiftRequests,
    MATCHMAKING_EVENT_REQUESTS, MatchmakingEventRequests,
};
