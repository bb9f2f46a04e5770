//! `GET /_gamelift_local/health`: what the service is and holds, for people and scripts (as
//! LocalStack's `/_localstack/health`). The path starts with an underscore segment no control
//! plane operation or Server SDK connection uses.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::service::Service;
use crate::state::Process;

/// The health path.
pub const HEALTH_PATH: &str = "/_gamelift_local/health";

/// Where a server process is in its life: `connected` (not yet ready), `ready`, `hosting`,
/// `disconnected` (waiting for it to reconnect) or `ended`.
pub(crate) fn process_state(process: &Process) -> &'static str {
    if process.ended {
        "ended"
    } else if process.connections.is_empty() {
        "disconnected"
    } else if !process.activated {
        "connected"
    } else if process.game_session.is_some() {
        "hosting"
    } else {
        "ready"
    }
}

/// The version, uptime and, per Region, counts of fleets, computes, server processes (by state),
/// game sessions and player sessions (by status) and placements (by status).
pub fn report(service: &Service) -> Value {
    let state = service.state.lock();
    let mut regions = BTreeMap::new();
    for (name, region) in &state.regions {
        let mut processes = BTreeMap::<&str, usize>::new();
        for process in region.processes.values() {
            *processes.entry(process_state(process)).or_default() += 1;
        }
        let mut sessions = BTreeMap::<&str, usize>::new();
        for session in region.sessions.values() {
            *sessions.entry(session.status.as_str()).or_default() += 1;
        }
        let mut players = BTreeMap::<&str, usize>::new();
        for player in region.players.values() {
            *players.entry(player.status.as_str()).or_default() += 1;
        }
        let mut placements = BTreeMap::<&str, usize>::new();
        for placement in region.placements.values() {
            *placements.entry(placement.status.as_str()).or_default() += 1;
        }
        regions.insert(
            name.clone(),
            json!({
                "fleets": region.fleets.len(),
                "computes": region.computes.len(),
                "server_processes": processes,
                "game_sessions": sessions,
                "player_sessions": players,
                "placements": placements,
            }),
        );
    }
    json!({
        "service": "gamelift-local",
        "status": "running",
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_seconds": service.started.elapsed().as_secs(),
        "endpoint_for_game_servers": service.config().sdk_endpoint,
        "regions": regions,
    })
}
