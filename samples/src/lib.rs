//! Building blocks of the sample programs: a small game server and game client that speak a
//! line-based TCP protocol, with GameLift doing the session work through the buses.
//!
//! - [`server`]: a game server. The `gamelift-server` manager hosts sessions; players connect
//!   over TCP and present their player session id, which the service validates.
//! - [`client`]: the game client's network layer, the handler of
//!   `SessionHandlingClientRequests` that the `gamelift-client` manager calls when a player
//!   joins.
//! - [`anywhere`]: control-plane steps an operator (or the GameLift Agent) does for a server
//!   process: register the compute, fetch an auth token.
//! - [`protocol`]: the TCP protocol.
//! - [`story`]: the client side of the story, through the buses.
//! - [`narrative`]: timestamped, readable output.
//! - [`wait`]: waiting for the service, so programs can start in any order.

#![warn(missing_docs)]

pub mod anywhere;
pub mod client;
pub mod load;
pub mod matchmaking;
pub mod narrative;
pub mod protocol;
pub mod server;
pub mod story;
pub mod wait;
