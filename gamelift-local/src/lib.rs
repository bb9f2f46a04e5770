//! A local, GameLift-compatible service.
//!
//! `gamelift-local` answers the Amazon GameLift control plane on one port, in both protocols the
//! AWS SDKs use: Smithy RPC v2 CBOR (`aws-sdk-gamelift` 1.109 and later) and awsJson1.1 (boto3,
//! the JavaScript SDK, the AWS CLI). Point any SDK's endpoint at it; any SigV4 signature is
//! accepted and the Region comes from the signature's credential scope.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let server = gamelift_local::Server::builder()
//!     .bind("127.0.0.1:0".parse()?)
//!     .auto_activate(true)
//!     .start()
//!     .await?;
//! println!("endpoint: {}", server.endpoint());
//! // ... point aws-sdk-gamelift or boto3 at server.endpoint() ...
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]
//!
//! The codecs (`wire`) and the search grammar (`search`) are internal; the `testing` feature makes
//! them public for this crate's tests, benchmarks and fuzz targets. It is not part of the stable
//! interface.

pub mod clock;
mod config;
pub mod console;
pub mod error;
mod flexmatch;
pub mod health;
mod http;
mod invites;
pub mod launcher;
mod lifecycle;
mod listener;
mod matchmaking;
mod persist;
mod processes;
#[cfg(feature = "testing")]
pub mod search;
#[cfg(not(feature = "testing"))]
mod search;
mod server;
mod service;
mod state;
mod tls;
mod validate;
mod views;
mod websocket;
#[cfg(feature = "testing")]
pub mod wire;
#[cfg(not(feature = "testing"))]
mod wire;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{ErrorCode, ServiceError};
pub use invites::{INVITE_OPERATIONS, Invite, MAX_PENDING_INVITES};
#[cfg(feature = "testing")]
pub use matchmaking::exercise_rule_set;
pub use processes::{Admitted, Refusal};
pub use server::{RunningServer, Server, ServerBuilder, StartError};
pub use service::{MAX_CONCURRENT_PROCESSES, MAX_PLAYERS, OPERATIONS, Service, ServiceConfig};
pub use state::{RuntimeConfiguration, ServerProcess};
