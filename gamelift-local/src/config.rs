//! How the service is set up.

use crate::state::ServerProcess;

/// How the service is set up.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// The Region the default fleet lives in.
    pub region: String,
    /// The default Anywhere fleet, created at start.
    pub fleet_id: String,
    /// The default fleet's custom location.
    pub location: String,
    /// Whether new game sessions become ACTIVE at once on an implicit process.
    pub auto_activate: bool,
    /// The port of the implicit process.
    pub auto_activate_port: u16,
    /// How long a player session may stay RESERVED.
    pub reservation_timeout_millis: u64,
    /// How long ended player sessions and terminated game sessions stay visible before they
    /// are forgotten.
    pub retention_millis: u64,
    /// The Server SDK endpoint computes are told to connect to.
    pub sdk_endpoint: String,
    /// Whether server processes must present a token from GetComputeAuthToken (`--auth token`);
    /// otherwise any compute of an existing fleet is accepted and registered on the fly.
    pub require_auth_token: bool,
    /// How long a process has to activate a game session before it goes to ERROR.
    pub activation_timeout_millis: u64,
    /// The heartbeat period; a process unhealthy or silent for three periods is terminated.
    pub heartbeat_period_millis: u64,
    /// How long a process whose connection dropped may take to reconnect.
    pub reconnect_grace_millis: u64,
    /// How long a Server SDK connection may stay silent before it is closed (1008). The SDKs
    /// heartbeat every minute.
    pub websocket_idle_timeout_millis: u64,
    /// Frames a Server SDK connection may send per second, sustained; bursts of twice as many
    /// are taken at once. Beyond it the service reads more slowly (TCP pushes back).
    pub websocket_frame_rate: u32,
    /// Connections open at once (HTTP and WebSocket together); more are refused.
    pub max_connections: usize,
    /// Time a client has to complete a TLS handshake.
    pub tls_handshake_timeout_millis: u64,
    /// Time a client has to send a request's headers; also how long an idle keep-alive
    /// connection stays open.
    pub http_header_timeout_millis: u64,
    /// Time a client has to send a request's body.
    pub http_body_timeout_millis: u64,
    /// How long a process told to terminate has to call ProcessEnding.
    pub termination_grace_millis: u64,
    /// The commands this service may launch (`--launch`): the default fleet's runtime
    /// configuration starts with them, and UpdateRuntimeConfiguration accepts only these, so
    /// no API caller can make the service run a program the operator did not name.
    pub launch: Vec<ServerProcess>,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            region: "us-west-2".into(),
            fleet_id: "fleet-local".into(),
            location: "custom-local".into(),
            auto_activate: false,
            auto_activate_port: 7777,
            reservation_timeout_millis: 60_000,
            retention_millis: 3_600_000,
            sdk_endpoint: "ws://127.0.0.1:9080".into(),
            require_auth_token: false,
            activation_timeout_millis: 60_000,
            heartbeat_period_millis: 60_000,
            reconnect_grace_millis: 30_000,
            termination_grace_millis: 300_000,
            websocket_idle_timeout_millis: 300_000,
            websocket_frame_rate: 100,
            max_connections: 4096,
            tls_handshake_timeout_millis: 10_000,
            http_header_timeout_millis: 30_000,
            http_body_timeout_millis: 30_000,
            launch: Vec::new(),
        }
    }
}
