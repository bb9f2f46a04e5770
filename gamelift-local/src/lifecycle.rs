//! The session lifecycle: creating and placing game sessions, ending them, and the timers
//! (reservations, placements, activation, health, reconnect grace, termination), with the pushes
//! they send to server processes.

use std::collections::{BTreeMap, HashMap};

use sdk5_protocol::{self as sdk5, Envelope, Push};

use crate::config::ServiceConfig;
use crate::error::{ErrorCode, ServiceError};
use crate::state::{
    AuthToken, GameSession, GameSessionStatus, PlacementStatus, PlayerSession, PlayerSessionStatus,
    Region, State, Timer, new_id, strip_arn,
};

/// Writes a push frame.
fn push_frame<T: Push>(payload: &T) -> String {
    sdk5::encode(&Envelope::push(T::ACTION), payload)
}

/// Mutable odds and ends operations need besides their Region.
pub(crate) struct Extra<'a> {
    pub(crate) now: u64,
    pub(crate) config: &'a ServiceConfig,
    pub(crate) timers: &'a mut BTreeMap<(u64, u64), Timer>,
    pub(crate) timer_seq: &'a mut u64,
    pub(crate) tokens: &'a mut HashMap<String, AuthToken>,
}

impl Extra<'_> {
    pub(crate) fn add_timer(&mut self, at: u64, timer: Timer) {
        *self.timer_seq += 1;
        self.timers.insert((at, *self.timer_seq), timer);
    }
}

impl State {
    /// The Regions, and everything else an operation may change, borrowed apart.
    pub(crate) fn split<'a>(
        &'a mut self,
        now: u64,
        config: &'a ServiceConfig,
    ) -> (&'a mut HashMap<String, Region>, Extra<'a>) {
        let State {
            regions,
            timers,
            timer_seq,
            tokens,
            ..
        } = self;
        (
            regions,
            Extra {
                now,
                config,
                timers,
                timer_seq,
                tokens,
            },
        )
    }

    /// Runs every timer due at `now`; whether any ran.
    pub(crate) fn run_timers(&mut self, now: u64, config: &ServiceConfig) -> bool {
        let mut ran = false;
        while let Some(entry) = self.timers.first_entry() {
            if entry.key().0 > now {
                break;
            }
            ran = true;
            let timer = entry.remove();
            match timer {
                Timer::PlayerReservation {
                    region,
                    player_session,
                } => {
                    if let Some(region) = self.regions.get_mut(&region) {
                        let reserved = region
                            .players
                            .get(&player_session)
                            .is_some_and(|p| p.status == PlayerSessionStatus::Reserved);
                        if reserved {
                            region.set_player_status(
                                &player_session,
                                PlayerSessionStatus::TimedOut,
                                now,
                            );
                        }
                    }
                }
                Timer::PlacementDeadline { region, placement } => {
                    let (regions, mut extra) = self.split(now, config);
                    if let Some(region) = regions.get_mut(&region) {
                        try_place(region, &mut extra, &placement);
                        if let Some(placement) = region.placements.get_mut(&placement)
                            && placement.status == PlacementStatus::Pending
                        {
                            placement.status = PlacementStatus::TimedOut;
                            placement.end_millis = Some(now);
                            tracing::info!(target: "gamelift_local", placement = %placement.id, "game session placement TIMED_OUT");
                        }
                    }
                }
                other => {
                    let (regions, mut extra) = self.split(now, config);
                    run_timer(regions, &mut extra, other);
                }
            }
        }
        ran
    }
}

pub(crate) struct NewSession {
    pub(crate) fleet_id: String,
    pub(crate) location: Option<String>,
    pub(crate) maximum: i64,
    pub(crate) name: Option<String>,
    pub(crate) properties: Vec<(String, String)>,
    pub(crate) creator: Option<String>,
    pub(crate) custom_id: Option<String>,
    pub(crate) data: Option<String>,
    pub(crate) matchmaker_data: Option<String>,
}

/// Creates a game session (or returns the one an idempotent retry refers to).
pub(crate) fn create_session(
    region: &mut Region,
    extra: &mut Extra<'_>,
    request: NewSession,
) -> Result<String, ServiceError> {
    let fleet = &region.fleets[&request.fleet_id];
    let location = match request.location {
        Some(location) => location,
        None => {
            return Err(ServiceError::invalid(format!(
                "Location is required for game sessions on ANYWHERE fleet {} (its locations: {})",
                fleet.id,
                fleet.locations.join(", ")
            )));
        }
    };
    if !fleet.locations.contains(&location) {
        return Err(ServiceError::invalid(format!(
            "Location {location} is not a location of fleet {} (its locations: {})",
            fleet.id,
            fleet.locations.join(", ")
        )));
    }
    let fingerprint = format!(
        "{:?}|{}|{:?}|{:?}|{:?}|{:?}|{}",
        request.name,
        request.maximum,
        request.properties,
        request.creator,
        request.data,
        request.matchmaker_data,
        location
    );
    if let Some(custom_id) = &request.custom_id {
        let key = (request.fleet_id.clone(), custom_id.clone());
        if let Some(arn) = region.idempotency.get(&key) {
            let original = &region.sessions[arn];
            if original.request_fingerprint == fingerprint {
                return Ok(arn.clone());
            }
            return Err(ServiceError::new(
                ErrorCode::IdempotentParameterMismatch,
                format!(
                    "A game session with the ID string {custom_id} already exists in fleet {} with different parameters.",
                    request.fleet_id
                ),
            ));
        }
    }
    if let (Some(creator), Some((per_creator, minutes))) = (&request.creator, fleet.creation_limit)
        && per_creator > 0
        && minutes > 0
    {
        let since = extra
            .now
            .saturating_sub((minutes as u64).saturating_mul(60_000));
        let recent = region
            .fleet_sessions(&request.fleet_id)
            .filter(|s| s.creator_id.as_deref() == Some(creator.as_str()))
            .filter(|s| s.creation_millis >= since)
            .count() as i64;
        if recent >= per_creator {
            return Err(ServiceError::new(
                ErrorCode::LimitExceeded,
                format!(
                    "Creator {creator} already created {recent} game sessions in the last {minutes} minutes (limit {per_creator})."
                ),
            ));
        }
    }
    let process = if extra.config.auto_activate {
        None
    } else {
        let idle = region
            .processes
            .values()
            .find(|p| p.fleet_id == request.fleet_id && p.location == location && p.is_idle());
        match idle {
            Some(process) => Some(process.id.clone()),
            None => {
                return Err(ServiceError::new(
                    ErrorCode::FleetCapacityExceeded,
                    format!(
                        "No available server process in fleet {} at {location}. Connect a game server, or start gamelift-local with --auto-activate.",
                        request.fleet_id
                    ),
                ));
            }
        }
    };
    let id_string = request
        .custom_id
        .clone()
        .unwrap_or_else(|| new_id("gsess-"));
    let arn = format!(
        "arn:aws:gamelift:{}::gamesession/{}/{id_string}",
        region.name, request.fleet_id
    );
    if region.sessions.contains_key(&arn) {
        return Err(ServiceError::conflict(format!(
            "Game session {arn} already exists."
        )));
    }
    region.next_seq += 1;
    let session = GameSession {
        arn: arn.clone(),
        seq: region.next_seq,
        name: request.name,
        fleet_id: request.fleet_id.clone(),
        fleet_arn: fleet.arn.clone(),
        creation_millis: extra.now,
        termination_millis: None,
        maximum_players: request.maximum,
        slots_used: 0,
        status: if process.is_some() {
            GameSessionStatus::Activating
        } else {
            GameSessionStatus::Active
        },
        status_reason: None,
        properties: request.properties,
        ip_address: process.as_ref().map_or_else(
            || "127.0.0.1".to_string(),
            |id| region.processes[id].ip_address.clone(),
        ),
        dns_name: process
            .as_ref()
            .and_then(|id| region.processes[id].dns_name.clone()),
        port: process
            .as_ref()
            .map_or(extra.config.auto_activate_port, |id| {
                region.processes[id].port
            }),
        accept_players: true,
        protection: fleet.protection.clone(),
        creator_id: request.creator,
        game_session_data: request.data,
        matchmaker_data: request.matchmaker_data,
        location,
        compute_name: process
            .as_ref()
            .map(|id| region.processes[id].compute_name.clone()),
        process: process.clone(),
        player_sessions: Vec::new(),
        request_fingerprint: fingerprint,
    };
    if let Some(custom_id) = request.custom_id {
        region
            .idempotency
            .insert((request.fleet_id, custom_id), arn.clone());
    }
    region.insert_session(session);
    tracing::info!(target: "gamelift_local", game_session = %arn, process = process.as_deref().unwrap_or("(auto-activated)"), "game session created");
    if let Some(process) = process {
        start_session_on(region, extra, &process, &arn);
    }
    Ok(arn)
}

/// Ends a game session and completes its player sessions.
pub(crate) fn end_session(
    region: &mut Region,
    arn: &str,
    status: GameSessionStatus,
    reason: Option<&'static str>,
    now: u64,
) {
    let players = region.update_session(arn, |session| {
        session.status = status;
        session.status_reason = reason;
        session.termination_millis = Some(now);
        session.player_sessions.clone()
    });
    tracing::info!(target: "gamelift_local", game_session = arn, status = status.as_str(), reason = reason.unwrap_or(""), "game session ended: {}", status.as_str());
    for id in players.unwrap_or_default() {
        let holds = region
            .players
            .get(&id)
            .is_some_and(|player| player.status.holds_slot());
        if holds {
            region.set_player_status(&id, PlayerSessionStatus::Completed, now);
        }
    }
}

/// Creates a RESERVED player session in an ACTIVE game session (capacity already checked) and
/// starts its reservation timeout.
pub(crate) fn reserve_player<'r>(
    region: &'r mut Region,
    extra: &mut Extra<'_>,
    arn: &str,
    player_id: String,
    player_data: Option<String>,
) -> &'r PlayerSession {
    let session = &region.sessions[arn];
    let id = new_id("psess-");
    let player = PlayerSession {
        id: id.clone(),
        player_id: player_id.clone(),
        game_session_arn: arn.to_string(),
        fleet_id: session.fleet_id.clone(),
        fleet_arn: session.fleet_arn.clone(),
        creation_millis: extra.now,
        termination_millis: None,
        status: PlayerSessionStatus::Reserved,
        ip_address: session.ip_address.clone(),
        dns_name: session.dns_name.clone(),
        port: session.port,
        player_data,
    };
    tracing::info!(target: "gamelift_local", player_session = %id, player = %player.player_id, game_session = %player.game_session_arn, status = "RESERVED", "player session RESERVED");
    region.insert_player(player);
    extra.add_timer(
        extra
            .now
            .saturating_add(extra.config.reservation_timeout_millis),
        Timer::PlayerReservation {
            region: region.name.clone(),
            player_session: id.clone(),
        },
    );
    let session_player = id.clone();
    region.update_session(arn, |session| {
        session.slots_used += 1;
        session.player_sessions.push(session_player);
    });
    &region.players[&id]
}

/// Tries to place a pending placement on one of its queue's destinations.
pub(crate) fn try_place(region: &mut Region, extra: &mut Extra<'_>, id: &str) {
    let Some(placement) = region.placements.get(id) else {
        return;
    };
    if placement.status != PlacementStatus::Pending {
        return;
    }
    let Some(queue) = region.queues.get(&placement.queue_name) else {
        return;
    };
    let mut destinations: Vec<(String, String)> = Vec::new();
    for destination in &queue.destinations {
        let fleet_id = if destination.contains(":alias/") {
            match region.aliases.get(&strip_arn(destination, "alias/")) {
                Some(alias) if !alias.terminal => alias.fleet_id.clone(),
                _ => None,
            }
        } else {
            Some(strip_arn(destination, "fleet/"))
        };
        let Some(fleet) = fleet_id.and_then(|fleet_id| region.fleets.get(&fleet_id)) else {
            continue;
        };
        let mut locations = fleet.locations.clone();
        if let Some(allowed) = &queue.allowed_locations {
            locations.retain(|location| allowed.contains(location));
        }
        let order = placement
            .location_order_override
            .as_ref()
            .or(queue.location_order.as_ref());
        if let Some(order) = order {
            locations.sort_by_key(|location| {
                order
                    .iter()
                    .position(|l| l == location)
                    .unwrap_or(usize::MAX)
            });
            if placement.fallback.as_deref() == Some("NONE") {
                locations.retain(|location| order.contains(location));
            }
        }
        for location in locations {
            destinations.push((fleet.id.clone(), location));
        }
    }
    let placement = placement.clone();
    for (fleet_id, location) in destinations {
        let request = NewSession {
            fleet_id,
            location: Some(location),
            maximum: placement.maximum_players,
            name: placement.game_session_name.clone(),
            properties: placement.properties.clone(),
            creator: None,
            custom_id: None,
            data: placement.game_session_data.clone(),
            matchmaker_data: placement.matchmaker_data.clone(),
        };
        let Ok(arn) = create_session(region, extra, request) else {
            continue;
        };
        let mut placed = Vec::new();
        for (player_id, player_data) in &placement.desired_players {
            let player =
                reserve_player(region, extra, &arn, player_id.clone(), player_data.clone());
            placed.push((player_id.clone(), player.id.clone()));
        }
        if let Some(stored) = region.placements.get_mut(id) {
            stored.status = PlacementStatus::Fulfilled;
            stored.end_millis = Some(extra.now);
            tracing::info!(target: "gamelift_local", placement = %id, game_session = %arn, "game session placement FULFILLED");
            stored.game_session_arn = Some(arn);
            stored.placed_players = placed;
        }
        return;
    }
}

/// Places a new game session on a process: pushes CreateGameSession and starts the activation
/// timeout.
pub(crate) fn start_session_on(
    region: &mut Region,
    extra: &mut Extra<'_>,
    process_id: &str,
    arn: &str,
) {
    let Some(session) = region.sessions.get(arn) else {
        return;
    };
    let message = push_frame(&sdk5::CreateGameSession {
        game_session_id: session.arn.clone(),
        game_session_name: session.name.clone().unwrap_or_default(),
        game_session_data: session.game_session_data.clone().unwrap_or_default(),
        matchmaker_data: session.matchmaker_data.clone().unwrap_or_default(),
        dns_name: session.dns_name.clone().unwrap_or_default(),
        ip_address: session.ip_address.clone(),
        maximum_player_session_count: u32::try_from(session.maximum_players).unwrap_or(0),
        port: session.port,
        game_properties: session.properties.iter().cloned().collect(),
        location: session.location.clone(),
    });
    if let Some(process) = region.processes.get_mut(process_id) {
        process.game_session = Some(arn.to_string());
        process.push(message);
    }
    extra.add_timer(
        extra
            .now
            .saturating_add(extra.config.activation_timeout_millis),
        Timer::Activation {
            region: region.name.clone(),
            game_session: arn.to_string(),
        },
    );
}

/// Pushes UpdateGameSession to the process hosting `arn`, if any.
pub(crate) fn push_update(
    region: &Region,
    arn: &str,
    reason: sdk5::UpdateReason,
    ticket: Option<&str>,
) {
    let Some(session) = region.sessions.get(arn) else {
        return;
    };
    let Some(process) = session
        .process
        .as_ref()
        .and_then(|id| region.processes.get(id))
    else {
        return;
    };
    let message = push_frame(&sdk5::UpdateGameSession {
        game_session: sdk5::GameSession {
            game_session_id: session.arn.clone(),
            name: session.name.clone().unwrap_or_default(),
            fleet_id: session.fleet_id.clone(),
            game_session_data: session.game_session_data.clone().unwrap_or_default(),
            matchmaker_data: session.matchmaker_data.clone().unwrap_or_default(),
            dns_name: session.dns_name.clone().unwrap_or_default(),
            ip_address: session.ip_address.clone(),
            maximum_player_session_count: u32::try_from(session.maximum_players).unwrap_or(0),
            port: session.port,
            game_properties: session.properties.iter().cloned().collect(),
            location: session.location.clone(),
            status: sdk5::GameSessionStatus::parse(session.status.as_str()),
            status_reason: String::new(),
        },
        update_reason: reason,
        backfill_ticket_id: ticket.unwrap_or_default().to_string(),
    });
    process.push(message);
}

/// Pushes TerminateProcess; the process's session ends with `reason` when it calls
/// ProcessEnding, or when the termination grace runs out.
pub(crate) fn terminate_process(
    region: &mut Region,
    extra: &mut Extra<'_>,
    process_id: &str,
    reason: Option<&'static str>,
) {
    let grace = extra.config.termination_grace_millis;
    let Some(process) = region.processes.get_mut(process_id) else {
        return;
    };
    if process.terminating.is_some() || process.ended {
        return;
    }
    process.terminating = Some(reason);
    process.push(push_frame(&sdk5::TerminateProcess {
        termination_time: i64::try_from(extra.now.saturating_add(grace)).unwrap_or(i64::MAX),
    }));
    extra.add_timer(
        extra.now.saturating_add(grace),
        Timer::TerminationDeadline {
            region: region.name.clone(),
            process: process_id.to_string(),
        },
    );
}

/// Ends whatever the process hosts and forgets it.
pub(crate) fn give_up_process(
    region: &mut Region,
    process_id: &str,
    now: u64,
    reason: Option<&'static str>,
) {
    let Some(process) = region.processes.get_mut(process_id) else {
        return;
    };
    process.ended = true;
    end_hosted_session(region, process_id, reason, now);
}

/// Ends the game session a process hosts (if it is still live) and frees the process.
pub(crate) fn end_hosted_session(
    region: &mut Region,
    process_id: &str,
    reason: Option<&'static str>,
    now: u64,
) {
    let Some(arn) = region
        .processes
        .get_mut(process_id)
        .and_then(|process| process.game_session.take())
    else {
        return;
    };
    let live = region.sessions.get(&arn).is_some_and(|s| {
        matches!(
            s.status,
            GameSessionStatus::Active
                | GameSessionStatus::Activating
                | GameSessionStatus::Terminating
        )
    });
    if live {
        end_session(region, &arn, GameSessionStatus::Terminated, reason, now);
    }
}

/// Runs a process-lifecycle timer.
pub(crate) fn run_timer(
    regions: &mut HashMap<String, Region>,
    extra: &mut Extra<'_>,
    timer: Timer,
) {
    let now = extra.now;
    match timer {
        Timer::Activation {
            region,
            game_session,
        } => {
            let Some(region) = regions.get_mut(&region) else {
                return;
            };
            let activating = region
                .sessions
                .get(&game_session)
                .is_some_and(|s| s.status == GameSessionStatus::Activating);
            if !activating {
                return;
            }
            let process = region.sessions[&game_session].process.clone();
            region.update_session(&game_session, |session| {
                session.status = GameSessionStatus::Error;
                session.termination_millis = Some(now);
            });
            if let Some(process) = process.and_then(|id| region.processes.get_mut(&id))
                && process.game_session.as_deref() == Some(game_session.as_str())
            {
                process.game_session = None;
            }
            tracing::info!(target: "gamelift_local", game_session, "game session was not activated in time: ERROR");
        }
        Timer::Health { region, process } => {
            let Some(region) = regions.get_mut(&region) else {
                return;
            };
            let period = extra.config.heartbeat_period_millis;
            let Some(state) = region.processes.get(&process) else {
                return;
            };
            if state.ended || state.terminating.is_some() || !state.activated {
                return;
            }
            let deadline = state
                .last_healthy_millis
                .saturating_add(period.saturating_mul(3));
            if now >= deadline {
                tracing::info!(target: "gamelift_local", process, "server process unhealthy or silent for three heartbeat periods: terminating");
                terminate_process(region, extra, &process, None);
                give_up_process(region, &process, now, None);
            } else {
                extra.add_timer(
                    deadline,
                    Timer::Health {
                        region: region.name.clone(),
                        process,
                    },
                );
            }
        }
        Timer::ReconnectGrace {
            region,
            process,
            since,
        } => {
            let Some(region) = regions.get_mut(&region) else {
                return;
            };
            let still_gone = region
                .processes
                .get(&process)
                .is_some_and(|p| p.connections.is_empty() && p.disconnected_since == Some(since));
            if still_gone {
                tracing::info!(target: "gamelift_local", process, "server process did not reconnect: its game session ends");
                give_up_process(region, &process, now, None);
                region.processes.remove(&process);
            }
        }
        Timer::TerminationDeadline { region, process } => {
            let Some(region) = regions.get_mut(&region) else {
                return;
            };
            let reason = region
                .processes
                .get(&process)
                .and_then(|p| p.terminating)
                .flatten();
            give_up_process(region, &process, now, reason);
        }
        Timer::PlayerReservation { .. } | Timer::PlacementDeadline { .. } => {}
    }
}
