//! The sample game's TCP protocol, one line per message.
//!
//! 1. The client sends its player session id.
//! 2. The server answers `WELCOME <connection id>` or `DENIED <reason>` (and closes).
//! 3. The client sends `TICK <n>`; the server answers `STATE <n> <players connected>`.
//! 4. The client sends `BYE` (or closes the connection) to leave.

/// The server admitted the player.
pub const WELCOME: &str = "WELCOME";
/// The server refused the player session id.
pub const DENIED: &str = "DENIED";
/// A game tick from the client.
pub const TICK: &str = "TICK";
/// The server's answer to a tick.
pub const STATE: &str = "STATE";
/// The client leaves.
pub const BYE: &str = "BYE";
/// How long the server waits for the player session id.
pub const HELLO_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
