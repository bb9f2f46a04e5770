//! Backend-agnostic session and matchmaking interfaces, types and buses.
//!
//! Game code talks to the buses declared here and never to a backend. A backend (for example
//! `gamelift-client` on the client and `gamelift-server` on the server) connects the single
//! handler of each request bus and broadcasts on the notification buses.
//!
//! ```
//! use std::sync::Arc;
//! use game_session::testing::{RecordingSessionRequests, SessionRequestCall};
//! use game_session::{CreateSessionRequest, SESSION_REQUESTS, SessionPlacement};
//!
//! // In a unit test, a recording mock stands in for the backend.
//! let backend = Arc::new(RecordingSessionRequests::default());
//! let _provider = SESSION_REQUESTS.connect(backend.clone()).unwrap();
//!
//! // Game code only broadcasts the request.
//! let request = CreateSessionRequest {
//!     session_name: "arena".into(),
//!     max_players: 4,
//!     placement: SessionPlacement::Fleet { fleet_id: "fleet-local".into(), location: None },
//!     ..Default::default()
//! };
//! let created = SESSION_REQUESTS.broadcast_result(|provider| provider.create_session(&request));
//! assert_eq!(created, Some(Ok("session-1".to_string())));
//! assert_eq!(backend.calls(), vec![SessionRequestCall::Create(request)]);
//! ```
#![warn(missing_docs)]

mod error;
mod interfaces;
pub mod named;
pub mod testing;
mod types;

pub use error::SessionError;
pub use interfaces::*;
pub use types::*;

/// The examples in `README.md`, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
