//! The Amazon GameLift Server SDK 5 WebSocket protocol as typed messages.
//!
//! One definition of every message, shared by the game server side (`gamelift-server`) and the
//! service side (`gamelift-local`). A frame is one JSON object: the [`Envelope`] members
//! (`Action`, `RequestId`, `StatusCode`, `ErrorMessage`) and the payload's members side by side
//! at the top level.
//!
//! Reading is as lenient as the official C++, C# and Go SDKs need, and no more: null, absent and
//! empty are the same, unknown members are ignored, whole floating-point numbers are accepted as
//! integers. A member of the wrong type is a [`ProtocolError::Field`] that names it, never a
//! silent zero or `false`.
//!
//! ```
//! use sdk5_protocol::{ActivateServerProcess, Envelope, Frame, ProtocolError, Request, encode};
//!
//! let request = ActivateServerProcess { sdk_version: "5.4.0".into(), port: 7777, ..Default::default() };
//! let text = encode(&Envelope::request(ActivateServerProcess::ACTION, "r-1"), &request);
//! let frame = Frame::parse(&text)?;
//! assert_eq!(frame.envelope.action, "ActivateServerProcess");
//! assert_eq!(frame.body::<ActivateServerProcess>()?.port, 7777);
//!
//! let wrong = Frame::parse(r#"{"Action":"ActivateServerProcess","Port":"7777"}"#)?;
//! let error = wrong.body::<ActivateServerProcess>().unwrap_err();
//! assert!(matches!(&error, ProtocolError::Field { field, .. } if field == "Port"));
//! # Ok::<(), ProtocolError>(())
//! ```
#![warn(missing_docs)]

mod envelope;
mod lenient;
mod messages;

pub use envelope::{Empty, Envelope, Frame, ProtocolError, encode};
pub use messages::{
    AcceptPlayerSession, ActivateGameSession, ActivateServerProcess, AttributeValue,
    CreateGameSession, DescribePlayerSessions, DescribePlayerSessionsResponse, GameSession,
    GameSessionStatus, GetComputeCertificate, GetComputeCertificateResponse,
    GetFleetRoleCredentials, GetFleetRoleCredentialsResponse, HeartbeatServerProcess, Player,
    PlayerSession, PlayerSessionAction, PlayerSessionCreationPolicy, PlayerSessionStatus, Push,
    RefreshConnection, RemovePlayerSession, Request, StartMatchBackfill,
    StartMatchBackfillResponse, StopMatchBackfill, TerminateProcess, TerminateServerProcess,
    UpdateGameSession, UpdatePlayerSessionCreationPolicy, UpdateReason,
};

/// The actions a process sends, in the order the protocol documents them.
pub const REQUEST_ACTIONS: &[&str] = &[
    ActivateServerProcess::ACTION,
    HeartbeatServerProcess::ACTION,
    ActivateGameSession::ACTION,
    UpdatePlayerSessionCreationPolicy::ACTION,
    AcceptPlayerSession::ACTION,
    RemovePlayerSession::ACTION,
    DescribePlayerSessions::ACTION,
    StartMatchBackfill::ACTION,
    StopMatchBackfill::ACTION,
    GetComputeCertificate::ACTION,
    GetFleetRoleCredentials::ACTION,
    TerminateServerProcess::ACTION,
];

/// The pushes the service sends.
pub const PUSH_ACTIONS: &[&str] = &[
    CreateGameSession::ACTION,
    UpdateGameSession::ACTION,
    TerminateProcess::ACTION,
    RefreshConnection::ACTION,
];
