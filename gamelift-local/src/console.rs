//! The web console: a read-only page served by the binary at [`CONSOLE_PATH`], showing fleets,
//! computes, server processes (with health and last heartbeat), game sessions with their players,
//! and placements, refreshed every second from [`STATE_PATH`]. The page is three small static
//! files compiled into the binary; nothing is built with Node.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::health::process_state;
use crate::service::Service;

/// The page.
pub const CONSOLE_PATH: &str = "/_gamelift_local/console";
/// The page's script.
pub const SCRIPT_PATH: &str = "/_gamelift_local/console.js";
/// The page's style sheet.
pub const STYLE_PATH: &str = "/_gamelift_local/console.css";
/// The JSON the page polls.
pub const STATE_PATH: &str = "/_gamelift_local/state";

/// The page, its script and its style sheet.
pub const PAGE: &str = include_str!("../console/index.html");
/// The page's script.
pub const SCRIPT: &str = include_str!("../console/console.js");
/// The page's style sheet.
pub const STYLE: &str = include_str!("../console/console.css");

/// The most rows of one kind the state report lists per Region (the newest first); the counts
/// are always complete.
pub const MAX_ROWS: usize = 500;

fn newest<T>(mut rows: Vec<(u64, T)>) -> (Vec<T>, usize) {
    let total = rows.len();
    rows.sort_by_key(|row| std::cmp::Reverse(row.0));
    (
        rows.into_iter()
            .take(MAX_ROWS)
            .map(|(_, row)| row)
            .collect(),
        total,
    )
}

/// Everything the console shows, per Region.
pub fn snapshot(service: &Service) -> Value {
    let now = service.now_millis();
    let state = service.state.lock();
    let mut regions = BTreeMap::new();
    for (name, region) in &state.regions {
        let fleets: Vec<Value> = region
            .fleets
            .values()
            .map(|fleet| {
                json!({
                    "id": fleet.id,
                    "name": fleet.name,
                    "locations": fleet.locations,
                    "launch": fleet.runtime.server_processes.iter().map(|p| json!({
                        "command": format!("{} {}", p.launch_path, p.parameters.clone().unwrap_or_default()).trim().to_string(),
                        "count": p.concurrent_executions,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        let computes: Vec<Value> = region
            .computes
            .values()
            .map(|compute| {
                json!({
                    "fleet": compute.fleet_id,
                    "name": compute.name,
                    "ip": compute.ip_address,
                    "location": compute.location,
                })
            })
            .collect();
        let (processes, process_count) = newest(
            region
                .processes
                .values()
                .map(|process| {
                    (
                        process.last_heartbeat_millis.unwrap_or(0),
                        json!({
                            "id": process.id,
                            "fleet": process.fleet_id,
                            "compute": process.compute_name,
                            "state": process_state(process),
                            "healthy": process.healthy,
                            "port": process.port,
                            "last_heartbeat_ms_ago": process.last_heartbeat_millis.map(|at| now.saturating_sub(at)),
                            "game_session": process.game_session,
                        }),
                    )
                })
                .collect(),
        );
        let (sessions, session_count) = newest(
            region
                .sessions
                .values()
                .map(|session| {
                    let players: Vec<Value> = session
                        .player_sessions
                        .iter()
                        .filter_map(|id| region.players.get(id))
                        .map(|player| {
                            json!({
                                "player_id": player.player_id,
                                "player_session_id": player.id,
                                "status": player.status.as_str(),
                            })
                        })
                        .collect();
                    (
                        session.creation_millis,
                        json!({
                            "id": session.arn,
                            "name": session.name,
                            "fleet": session.fleet_id,
                            "status": session.status.as_str(),
                            "status_reason": session.status_reason,
                            "maximum_players": session.maximum_players,
                            "address": format!("{}:{}", session.ip_address, session.port),
                            "process": session.process,
                            "accepts_players": session.accept_players,
                            "players": players,
                        }),
                    )
                })
                .collect(),
        );
        let (placements, placement_count) = newest(
            region
                .placements
                .values()
                .map(|placement| {
                    (
                        placement.start_millis,
                        json!({
                            "id": placement.id,
                            "queue": placement.queue_name,
                            "status": placement.status.as_str(),
                            "game_session": placement.game_session_arn,
                        }),
                    )
                })
                .collect(),
        );
        regions.insert(
            name.clone(),
            json!({
                "fleets": fleets,
                "computes": computes,
                "processes": processes,
                "process_count": process_count,
                "game_sessions": sessions,
                "game_session_count": session_count,
                "placements": placements,
                "placement_count": placement_count,
            }),
        );
    }
    json!({
        "version": env!("CARGO_PKG_VERSION"),
        "now_millis": now,
        "uptime_seconds": service.started.elapsed().as_secs(),
        "endpoint_for_game_servers": service.config().sdk_endpoint,
        "regions": regions,
    })
}
