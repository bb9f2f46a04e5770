//! Matchmaking in the service: tickets started, moved through their life (searching,
//! acceptance, placement through a queue, backfill) and shown; the matchmaker's passes.
//!
//! A pass runs in three steps ([`prepare`], then [`engine::find_matches`] outside the state
//! lock, then [`apply`]): it holds the lock only to move tickets along and to take a snapshot of
//! the searching ones, and again to apply the matches it found.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use sdk5_protocol as sdk5;

use crate::flexmatch::engine::{self, Levels, MatchPlayer, PoolTicket, Proposal};
use crate::flexmatch::expr::Attr;
use crate::flexmatch::{
    Configuration, Connection, Match, MatchedSession, Ticket, TicketStatus, rules,
};
use crate::lifecycle::{Extra, push_update, reserve_player, try_place};
use crate::state::{ACCOUNT, GameSessionStatus, Placement, PlacementStatus, Region, Timer};

/// The ARN of configuration `name`.
pub fn configuration_arn(region: &str, name: &str) -> String {
    format!("arn:aws:gamelift:{region}:{ACCOUNT}:matchmakingconfiguration/{name}")
}

/// The ARN of rule set `name`.
pub fn rule_set_arn(region: &str, name: &str) -> String {
    format!("arn:aws:gamelift:{region}:{ACCOUNT}:matchmakingruleset/{name}")
}

/// Fills in defaults, and says whether the players can ever be matched.
pub fn resolve_players(
    rule_set: &rules::RuleSet,
    mut players: Vec<MatchPlayer>,
    backfill: bool,
) -> (Vec<MatchPlayer>, Vec<Vec<String>>, bool) {
    let given = players
        .iter()
        .map(|p| p.attributes.keys().cloned().collect())
        .collect();
    for player in &mut players {
        for attribute in &rule_set.attributes {
            if !player.attributes.contains_key(&attribute.name)
                && let Some(default) = &attribute.default
            {
                player
                    .attributes
                    .insert(attribute.name.clone(), default.clone());
            }
        }
    }
    let eligible = engine::eligible(rule_set, &players, backfill);
    (players, given, eligible)
}

/// The snapshot of one configuration's searching tickets.
pub struct PoolSnapshot {
    pub configuration: String,
    pub levels: Arc<Levels>,
    pub additional: i64,
    pub pool: Vec<PoolTicket>,
}

/// The locked first half of a pass: timeouts, QUEUED to SEARCHING, acceptance deadlines,
/// placements that finished, automatic backfill; then a snapshot of the searching tickets.
pub fn prepare(region: &mut Region, extra: &mut Extra<'_>) -> Vec<PoolSnapshot> {
    let now = extra.now;
    expire_acceptances(region, extra);
    follow_placements(region, extra);
    automatic_backfill(region, now);
    let mut snapshots = Vec::new();
    let names: Vec<String> = region.matchmaking.active.keys().cloned().collect();
    for name in names {
        let Some(configuration) = region.matchmaking.configurations.get(&name).cloned() else {
            continue;
        };
        let ids: Vec<String> = region.matchmaking.active[&name].iter().cloned().collect();
        let timeout = (configuration.request_timeout_seconds.max(0) as u64).saturating_mul(1000);
        let mut pool = Vec::new();
        for id in ids {
            let Some(ticket) = region.matchmaking.tickets.get(&id) else {
                continue;
            };
            if now >= ticket.start_millis.saturating_add(timeout)
                && ticket.status != TicketStatus::RequiresAcceptance
            {
                let backfill = ticket.backfill_session.clone();
                region.matchmaking.finish(
                    &id,
                    TicketStatus::TimedOut,
                    Some("TimedOut"),
                    Some("Removed from matchmaking due to timing out."),
                    now,
                );
                if let Some(arn) = backfill {
                    push_update(
                        region,
                        &arn,
                        sdk5::UpdateReason::BackfillTimedOut,
                        Some(&id),
                    );
                    forget_auto_ticket(region, &arn, &id);
                }
                continue;
            }
            // A backfill ticket whose game session ended (or stopped taking players) fails.
            if let Some(arn) = ticket.backfill_session.clone() {
                let open = region
                    .sessions
                    .get(&arn)
                    .is_some_and(|s| s.status == GameSessionStatus::Active && s.accept_players);
                if !open {
                    region.matchmaking.finish(
                        &id,
                        TicketStatus::Failed,
                        Some("UNEXPECTED_ERROR"),
                        Some(&format!("The game session {arn} was not found, or was in a state which wouldn't accept new player sessions.")),
                        now,
                    );
                    push_update(region, &arn, sdk5::UpdateReason::BackfillFailed, Some(&id));
                    forget_auto_ticket(region, &arn, &id);
                    continue;
                }
            }
            match ticket.status {
                TicketStatus::Queued => {
                    region.matchmaking.set(&id, TicketStatus::Searching);
                }
                TicketStatus::Searching => {}
                _ => continue,
            }
            let ticket = &region.matchmaking.tickets[&id];
            pool.push(PoolTicket {
                id: ticket.id.clone(),
                players: ticket.players.clone(),
                start_millis: ticket.start_millis,
                backfill: ticket.backfill_session.is_some(),
                eligible: ticket.eligible,
            });
        }
        if pool.is_empty() {
            continue;
        }
        let Some(levels) = region.matchmaking.levels(&configuration.rule_set_name) else {
            continue;
        };
        snapshots.push(PoolSnapshot {
            configuration: name,
            levels,
            additional: if configuration.standalone {
                0
            } else {
                configuration.additional_player_count
            },
            pool,
        });
    }
    region.matchmaking.trim();
    snapshots
}

fn forget_auto_ticket(region: &mut Region, arn: &str, ticket: &str) {
    if let Some(session) = region.matchmaking.sessions.get_mut(arn)
        && session.auto_ticket.as_deref() == Some(ticket)
    {
        session.auto_ticket = None;
    }
}

/// The locked second half of a pass: applies the proposals found on `snapshot`, skipping any
/// whose tickets changed meanwhile.
pub fn apply(
    region: &mut Region,
    extra: &mut Extra<'_>,
    snapshot: &PoolSnapshot,
    proposals: Vec<Proposal>,
) {
    for proposal in proposals {
        let ids: Vec<String> = proposal
            .tickets
            .iter()
            .map(|&i| snapshot.pool[i].id.clone())
            .collect();
        let still_searching = ids.iter().all(|id| {
            region
                .matchmaking
                .tickets
                .get(id)
                .is_some_and(|t| t.status == TicketStatus::Searching)
        });
        if !still_searching {
            continue;
        }
        let Some(configuration) = region
            .matchmaking
            .configurations
            .get(&snapshot.configuration)
            .cloned()
        else {
            continue;
        };
        let match_id = uuid::Uuid::new_v4().to_string();
        let teams: Vec<(String, Vec<String>)> = proposal
            .teams
            .iter()
            .map(|(team, players)| {
                (
                    team.clone(),
                    players
                        .iter()
                        .map(|(t, p)| snapshot.pool[*t].players[*p].id.clone())
                        .collect(),
                )
            })
            .collect();
        let backfill = ids
            .iter()
            .find(|id| region.matchmaking.tickets[*id].backfill_session.is_some())
            .cloned();
        for (team, players) in &teams {
            for player in players {
                for id in &ids {
                    if let Some(ticket) = region.matchmaking.tickets.get_mut(id)
                        && ticket.players.iter().any(|p| &p.id == player)
                    {
                        ticket.teams.insert(player.clone(), team.clone());
                        ticket.match_id = Some(match_id.clone());
                    }
                }
            }
        }
        let record = Match {
            id: match_id.clone(),
            configuration: configuration.name.clone(),
            tickets: ids.clone(),
            teams,
            region: proposal.region.clone(),
            acceptance_deadline: None,
            answers: BTreeMap::new(),
            placement: None,
            backfill,
        };
        tracing::info!(target: "gamelift_local", match_id = %match_id, configuration = %configuration.name, tickets = ids.len(), "potential match created");
        region.matchmaking.matches.insert(match_id.clone(), record);
        if configuration.acceptance_required {
            let deadline = extra.now.saturating_add(
                (configuration
                    .acceptance_timeout_seconds
                    .unwrap_or(60)
                    .max(1) as u64)
                    * 1000,
            );
            if let Some(record) = region.matchmaking.matches.get_mut(&match_id) {
                record.acceptance_deadline = Some(deadline);
            }
            for id in &ids {
                region.matchmaking.set(id, TicketStatus::RequiresAcceptance);
            }
        } else {
            proceed(region, extra, &match_id);
        }
    }
}

/// Records answers to a proposal; a rejection (or, later, the deadline) ends it, and all
/// acceptances send it on.
pub fn answer(
    region: &mut Region,
    extra: &mut Extra<'_>,
    match_id: &str,
    players: &[String],
    accept: bool,
) {
    let Some(record) = region.matchmaking.matches.get_mut(match_id) else {
        return;
    };
    for player in players {
        record.answers.insert(player.clone(), accept);
    }
    if !accept {
        end_proposal(region, extra, match_id);
        return;
    }
    let new_players = proposal_new_players(region, match_id);
    let record = &region.matchmaking.matches[match_id];
    if new_players
        .iter()
        .all(|p| record.answers.get(p) == Some(&true))
    {
        proceed(region, extra, match_id);
    }
}

/// The players who must accept a proposal (a backfill ticket's players need not).
fn proposal_new_players(region: &Region, match_id: &str) -> Vec<String> {
    let Some(record) = region.matchmaking.matches.get(match_id) else {
        return Vec::new();
    };
    record
        .tickets
        .iter()
        .filter_map(|id| region.matchmaking.tickets.get(id))
        .filter(|t| t.backfill_session.is_none())
        .flat_map(|t| t.players.iter().map(|p| p.id.clone()))
        .collect()
}

/// Ends a proposal that was rejected or not answered in time: tickets with a player who
/// rejected or did not answer are cancelled; the others go back to searching.
fn end_proposal(region: &mut Region, extra: &mut Extra<'_>, match_id: &str) {
    let Some(record) = region.matchmaking.matches.remove(match_id) else {
        return;
    };
    let now = extra.now;
    for id in &record.tickets {
        let Some(ticket) = region.matchmaking.tickets.get_mut(id) else {
            continue;
        };
        ticket.match_id = None;
        ticket.teams.clear();
        let all_accepted = ticket.backfill_session.is_some()
            || ticket
                .players
                .iter()
                .all(|p| record.answers.get(&p.id) == Some(&true));
        if all_accepted {
            region.matchmaking.set(id, TicketStatus::Searching);
        } else {
            let rejected = ticket
                .players
                .iter()
                .any(|p| record.answers.get(&p.id) == Some(&false));
            let message = if rejected {
                "A player of this ticket rejected the proposed match."
            } else {
                "A player of this ticket did not accept the proposed match in time."
            };
            region.matchmaking.finish(
                id,
                TicketStatus::Cancelled,
                Some(if rejected { "Rejected" } else { "TimedOut" }),
                Some(message),
                now,
            );
        }
    }
}

fn expire_acceptances(region: &mut Region, extra: &mut Extra<'_>) {
    let now = extra.now;
    let expired: Vec<String> = region
        .matchmaking
        .matches
        .values()
        .filter(|m| m.placement.is_none() && m.acceptance_deadline.is_some_and(|d| d <= now))
        .filter(|m| {
            m.tickets.iter().any(|t| {
                region
                    .matchmaking
                    .tickets
                    .get(t)
                    .is_some_and(|t| t.status == TicketStatus::RequiresAcceptance)
            })
        })
        .map(|m| m.id.clone())
        .collect();
    for id in expired {
        end_proposal(region, extra, &id);
    }
}

/// A match is accepted (or needs no acceptance): STANDALONE completes it, a backfill match
/// fills its game session, a new match is placed through the configuration's queue.
fn proceed(region: &mut Region, extra: &mut Extra<'_>, match_id: &str) {
    let Some(record) = region.matchmaking.matches.get(match_id).cloned() else {
        return;
    };
    let Some(configuration) = region
        .matchmaking
        .configurations
        .get(&record.configuration)
        .cloned()
    else {
        return;
    };
    let now = extra.now;
    if let Some(backfill) = &record.backfill {
        fill_session(region, extra, &record, backfill);
        return;
    }
    if configuration.standalone {
        for id in &record.tickets {
            region
                .matchmaking
                .finish(id, TicketStatus::Completed, None, None, now);
        }
        return;
    }
    for id in &record.tickets {
        region.matchmaking.set(id, TicketStatus::Placing);
    }
    let queue_name = configuration
        .queue_arns
        .first()
        .map(|arn| crate::state::strip_arn(arn, "gamesessionqueue/"))
        .unwrap_or_default();
    let Some(queue) = region.queues.get(&queue_name).cloned() else {
        for id in &record.tickets {
            region.matchmaking.finish(
                id,
                TicketStatus::Failed,
                Some("UNEXPECTED_ERROR"),
                Some("The matchmaking configuration's game session queue is not accessible."),
                now,
            );
        }
        return;
    };
    let players = players_of(region, &record);
    let matchmaker_data = matchmaker_data(&record, &configuration, &players, None);
    let size: i64 = region
        .matchmaking
        .levels(&configuration.rule_set_name)
        .map(|l| l.at(0.0).match_size())
        .unwrap_or(players.len() as i64);
    let placement_id = match_id.to_string();
    let latencies = players
        .iter()
        .flat_map(|(_, p)| {
            p.latency
                .iter()
                .map(|(r, ms)| (p.id.clone(), r.clone(), *ms))
                .collect::<Vec<_>>()
        })
        .collect();
    let placement = Placement {
        id: placement_id.clone(),
        queue_name: queue.name.clone(),
        status: PlacementStatus::Pending,
        properties: configuration.game_properties.clone(),
        maximum_players: size.max(players.len() as i64),
        game_session_name: None,
        game_session_data: configuration.game_session_data.clone(),
        latencies,
        desired_players: players.iter().map(|(_, p)| (p.id.clone(), None)).collect(),
        location_order_override: None,
        fallback: None,
        start_millis: now,
        end_millis: None,
        deadline_millis: now
            .saturating_add((queue.timeout_seconds.max(0) as u64).saturating_mul(1000)),
        game_session_arn: None,
        region: region.name.clone(),
        placed_players: Vec::new(),
        matchmaker_data: Some(matchmaker_data),
    };
    extra.add_timer(
        placement.deadline_millis,
        Timer::PlacementDeadline {
            region: region.name.clone(),
            placement: placement_id.clone(),
        },
    );
    region.used_placement_ids.insert(placement_id.clone());
    region.placements.insert(placement_id.clone(), placement);
    if let Some(stored) = region.matchmaking.matches.get_mut(match_id) {
        stored.placement = Some(placement_id.clone());
    }
    try_place(region, extra, &placement_id);
    follow_placements(region, extra);
}

/// Every player of a match with their team.
fn players_of(region: &Region, record: &Match) -> Vec<(String, MatchPlayer)> {
    let mut out = Vec::new();
    for (team, ids) in &record.teams {
        for id in ids {
            let player = record.tickets.iter().find_map(|t| {
                region
                    .matchmaking
                    .tickets
                    .get(t)?
                    .players
                    .iter()
                    .find(|p| &p.id == id)
                    .cloned()
            });
            if let Some(player) = player {
                out.push((team.clone(), player));
            }
        }
    }
    out
}

fn attribute_json(value: &Attr) -> serde_json::Value {
    use serde_json::json;
    match value {
        Attr::Str(s) => json!({"attributeType": "STRING", "valueAttribute": s}),
        Attr::Num(n) => json!({"attributeType": "DOUBLE", "valueAttribute": n}),
        Attr::StrList(l) => json!({"attributeType": "STRING_LIST", "valueAttribute": l}),
        Attr::NumMap(m) => json!({"attributeType": "STRING_DOUBLE_MAP", "valueAttribute": m}),
    }
}

/// The MatchmakerData JSON text of a match.
fn matchmaker_data(
    record: &Match,
    configuration: &Configuration,
    players: &[(String, MatchPlayer)],
    auto_ticket: Option<&str>,
) -> String {
    let mut teams: Vec<(String, Vec<serde_json::Value>)> = record
        .teams
        .iter()
        .map(|(t, _)| (t.clone(), Vec::new()))
        .collect();
    for (team, player) in players {
        if let Some((_, list)) = teams.iter_mut().find(|(t, _)| t == team) {
            let attributes: serde_json::Map<String, serde_json::Value> = player
                .attributes
                .iter()
                .map(|(k, v)| (k.clone(), attribute_json(v)))
                .collect();
            list.push(serde_json::json!({"playerId": player.id, "attributes": attributes}));
        }
    }
    serde_json::json!({
        "matchId": record.id,
        "matchmakingConfigurationArn": configuration.arn,
        "teams": teams.into_iter().map(|(name, players)| serde_json::json!({"name": name, "players": players})).collect::<Vec<_>>(),
        "autoBackfillMode": configuration.backfill_mode.as_deref(),
        "autoBackfillTicketId": auto_ticket,
    })
    .to_string()
}

/// Tickets in PLACING whose placement finished: COMPLETED once the game session is ACTIVE,
/// back to searching if the placement timed out, FAILED if it failed.
fn follow_placements(region: &mut Region, extra: &mut Extra<'_>) {
    let now = extra.now;
    let placing: Vec<(String, String)> = region
        .matchmaking
        .matches
        .values()
        .filter_map(|m| Some((m.id.clone(), m.placement.clone()?)))
        .filter(|(m, _)| {
            region.matchmaking.matches[m].tickets.iter().any(|t| {
                region
                    .matchmaking
                    .tickets
                    .get(t)
                    .is_some_and(|t| t.status == TicketStatus::Placing)
            })
        })
        .collect();
    for (match_id, placement_id) in placing {
        let Some(placement) = region.placements.get(&placement_id).cloned() else {
            continue;
        };
        let record = region.matchmaking.matches[&match_id].clone();
        match placement.status {
            PlacementStatus::Pending => {}
            PlacementStatus::Fulfilled => {
                let Some(arn) = placement.game_session_arn.clone() else {
                    continue;
                };
                let Some(session) = region.sessions.get(&arn).cloned() else {
                    continue;
                };
                match session.status {
                    GameSessionStatus::Active => {}
                    GameSessionStatus::Activating => continue,
                    _ => {
                        for id in &record.tickets {
                            region.matchmaking.finish(
                                id,
                                TicketStatus::Failed,
                                Some("UNEXPECTED_ERROR"),
                                Some("An unexpected error was encountered during match placing."),
                                now,
                            );
                        }
                        continue;
                    }
                }
                let configuration = region
                    .matchmaking
                    .configurations
                    .get(&record.configuration)
                    .cloned();
                let players = players_of(region, &record);
                let automatic = configuration
                    .as_ref()
                    .is_some_and(|c| c.backfill_mode.as_deref() == Some("AUTOMATIC"));
                region.matchmaking.sessions.insert(
                    arn.clone(),
                    matched_session(&record, &match_id, &players, automatic, false),
                );
                for id in &record.tickets {
                    complete_with_session(region, id, &arn, &placement.placed_players, now);
                }
            }
            PlacementStatus::TimedOut | PlacementStatus::Cancelled => {
                // Back to the pool, to be matched again until the tickets time out.
                for id in &record.tickets {
                    if let Some(ticket) = region.matchmaking.tickets.get_mut(id) {
                        ticket.match_id = None;
                        ticket.teams.clear();
                    }
                    region.matchmaking.set(id, TicketStatus::Searching);
                }
                region.matchmaking.matches.remove(&match_id);
            }
        }
    }
}

/// The record of a game session `record`'s match made or filled: its teams with `players`.
fn matched_session(
    record: &Match,
    match_id: &str,
    players: &[(String, MatchPlayer)],
    automatic: bool,
    auto_off: bool,
) -> MatchedSession {
    MatchedSession {
        configuration: record.configuration.clone(),
        match_id: match_id.to_string(),
        teams: record
            .teams
            .iter()
            .map(|(team, _)| {
                (
                    team.clone(),
                    players
                        .iter()
                        .filter(|(t, _)| t == team)
                        .map(|(_, p)| p.clone())
                        .collect(),
                )
            })
            .collect(),
        automatic,
        auto_ticket: None,
        auto_off,
    }
}

/// Completes ticket `id` with the game session `arn` and its players' sessions.
fn complete_with_session(
    region: &mut Region,
    id: &str,
    arn: &str,
    placed: &[(String, String)],
    now: u64,
) {
    let Some(session) = region.sessions.get(arn) else {
        return;
    };
    let Some(ticket) = region.matchmaking.tickets.get(id) else {
        return;
    };
    let player_sessions = ticket
        .players
        .iter()
        .map(|p| {
            let session_id = placed
                .iter()
                .find(|(player, _)| *player == p.id)
                .map(|(_, s)| s.clone())
                .filter(|s| {
                    region
                        .players
                        .get(s)
                        .is_some_and(|ps| ps.status.holds_slot())
                });
            (p.id.clone(), session_id)
        })
        .collect();
    let connection = Connection {
        game_session_arn: arn.to_string(),
        ip_address: session.ip_address.clone(),
        dns_name: session.dns_name.clone(),
        port: session.port,
        player_sessions,
    };
    if let Some(ticket) = region.matchmaking.tickets.get_mut(id) {
        ticket.connection = Some(connection);
    }
    region
        .matchmaking
        .finish(id, TicketStatus::Completed, None, None, now);
}

/// Applies a backfill match: player sessions for the new players, the session's MatchmakerData
/// updated, UpdateGameSession pushed, every ticket of the match COMPLETED.
fn fill_session(region: &mut Region, extra: &mut Extra<'_>, record: &Match, backfill: &str) {
    let now = extra.now;
    let Some(arn) = region
        .matchmaking
        .tickets
        .get(backfill)
        .and_then(|t| t.backfill_session.clone())
    else {
        return;
    };
    let open = region
        .sessions
        .get(&arn)
        .is_some_and(|s| s.status == GameSessionStatus::Active && s.accept_players);
    if !open {
        // The backfill fails; the new players go back to searching.
        region.matchmaking.matches.remove(&record.id);
        for id in &record.tickets {
            if id == backfill {
                region.matchmaking.finish(
                    id,
                    TicketStatus::Failed,
                    Some("UNEXPECTED_ERROR"),
                    Some(&format!("The game session {arn} was not found, or was in a state which wouldn't accept new player sessions.")),
                    now,
                );
            } else {
                if let Some(ticket) = region.matchmaking.tickets.get_mut(id) {
                    ticket.match_id = None;
                    ticket.teams.clear();
                }
                region.matchmaking.set(id, TicketStatus::Searching);
            }
        }
        push_update(
            region,
            &arn,
            sdk5::UpdateReason::BackfillFailed,
            Some(backfill),
        );
        forget_auto_ticket(region, &arn, backfill);
        return;
    }
    let players = players_of(region, record);
    let existing: BTreeSet<String> = region.matchmaking.tickets[backfill]
        .players
        .iter()
        .map(|p| p.id.clone())
        .collect();
    let mut placed = Vec::new();
    for (_, player) in players.iter().filter(|(_, p)| !existing.contains(&p.id)) {
        let session = reserve_player(region, extra, &arn, player.id.clone(), None);
        placed.push((player.id.clone(), session.id.clone()));
    }
    let Some(configuration) = region
        .matchmaking
        .configurations
        .get(&record.configuration)
        .cloned()
    else {
        return;
    };
    let automatic = configuration.backfill_mode.as_deref() == Some("AUTOMATIC");
    let (auto_off, prior_match) = region
        .matchmaking
        .sessions
        .get(&arn)
        .map(|s| (s.auto_off, s.match_id.clone()))
        .unwrap_or((false, record.id.clone()));
    region.matchmaking.sessions.insert(
        arn.clone(),
        matched_session(record, &prior_match, &players, automatic, auto_off),
    );
    let mut data_record = record.clone();
    data_record.id = prior_match;
    let data = matchmaker_data(&data_record, &configuration, &players, None);
    region.update_session(&arn, |session| session.matchmaker_data = Some(data));
    push_update(
        region,
        &arn,
        sdk5::UpdateReason::MatchmakingDataUpdated,
        Some(backfill),
    );
    for id in &record.tickets {
        complete_with_session(region, id, &arn, &placed, now);
    }
}

/// Issues an automatic backfill ticket for each AUTOMATIC session that is ACTIVE, open to
/// players, has free slots and no backfill ticket in flight.
fn automatic_backfill(region: &mut Region, now: u64) {
    let candidates: Vec<String> = region
        .matchmaking
        .sessions
        .iter()
        .filter(|(_, s)| s.automatic && !s.auto_off && s.auto_ticket.is_none())
        .map(|(arn, _)| arn.clone())
        .collect();
    for arn in candidates {
        let Some(session) = region.sessions.get(&arn) else {
            region.matchmaking.sessions.remove(&arn);
            continue;
        };
        if matches!(
            session.status,
            GameSessionStatus::Terminated
                | GameSessionStatus::Terminating
                | GameSessionStatus::Error
        ) {
            region.matchmaking.sessions.remove(&arn);
            continue;
        }
        if session.status != GameSessionStatus::Active || !session.accept_players {
            continue;
        }
        let matched = region.matchmaking.sessions[&arn].clone();
        let Some(configuration) = region
            .matchmaking
            .configurations
            .get(&matched.configuration)
            .cloned()
        else {
            continue;
        };
        let Some(levels) = region.matchmaking.levels(&configuration.rule_set_name) else {
            continue;
        };
        // The players still in the game: those holding a slot.
        let present: BTreeSet<String> = session
            .player_sessions
            .iter()
            .filter_map(|id| region.players.get(id))
            .filter(|p| p.status.holds_slot())
            .map(|p| p.player_id.clone())
            .collect();
        let mut players = Vec::new();
        for (team, members) in &matched.teams {
            for member in members.iter().filter(|m| present.contains(&m.id)) {
                let mut player = member.clone();
                player.team = Some(team.clone());
                players.push(player);
            }
        }
        if players.is_empty() || players.len() as i64 >= levels.at(0.0).match_size() {
            continue;
        }
        let id = format!("auto-backfill-{}", uuid::Uuid::new_v4());
        let eligible = engine::eligible(levels.at(0.0), &players, true);
        let given = players
            .iter()
            .map(|p| p.attributes.keys().cloned().collect())
            .collect();
        region.matchmaking.insert(
            Ticket {
                id: id.clone(),
                configuration: configuration.name.clone(),
                status: TicketStatus::Queued,
                reason: None,
                message: None,
                start_millis: now,
                end_millis: None,
                players: Arc::new(players),
                given,
                eligible,
                backfill_session: Some(arn.clone()),
                automatic: true,
                match_id: None,
                teams: BTreeMap::new(),
                connection: None,
            },
            now,
        );
        tracing::info!(target: "gamelift_local", ticket = %id, game_session = %arn, "automatic backfill ticket QUEUED");
        if let Some(matched) = region.matchmaking.sessions.get_mut(&arn) {
            matched.auto_ticket = Some(id.clone());
        }
        // The session's MatchmakerData names the automatic ticket.
        let (record, configuration_name) = {
            let matched = &region.matchmaking.sessions[&arn];
            (
                Match {
                    id: matched.match_id.clone(),
                    configuration: matched.configuration.clone(),
                    tickets: Vec::new(),
                    teams: matched
                        .teams
                        .iter()
                        .map(|(t, ps)| (t.clone(), ps.iter().map(|p| p.id.clone()).collect()))
                        .collect(),
                    region: None,
                    acceptance_deadline: None,
                    answers: BTreeMap::new(),
                    placement: None,
                    backfill: None,
                },
                matched.configuration.clone(),
            )
        };
        let _ = configuration_name;
        let players: Vec<(String, MatchPlayer)> = region.matchmaking.sessions[&arn]
            .teams
            .iter()
            .flat_map(|(t, ps)| {
                ps.iter()
                    .map(|p| (t.clone(), p.clone()))
                    .collect::<Vec<_>>()
            })
            .collect();
        let data = matchmaker_data(&record, &configuration, &players, Some(&id));
        region.update_session(&arn, |session| session.matchmaker_data = Some(data));
    }
}

/// Stops a ticket (StopMatchmaking / StopMatchBackfill).
pub fn stop(region: &mut Region, extra: &mut Extra<'_>, id: &str) -> Result<(), String> {
    let now = extra.now;
    let Some(ticket) = region.matchmaking.tickets.get(id).cloned() else {
        return Err(format!("Matchmaking ticket {id} not found."));
    };
    match ticket.status {
        TicketStatus::Placing => {
            return Err(
                "Matchmaking ticket is in PLACING status and cannot be canceled.".to_string(),
            );
        }
        status if status.terminal() => {
            return Err(format!(
                "Matchmaking ticket {id} is {} and can no longer be stopped.",
                status.as_str()
            ));
        }
        TicketStatus::RequiresAcceptance => {
            if let Some(match_id) = &ticket.match_id {
                let players: Vec<String> = ticket.players.iter().map(|p| p.id.clone()).collect();
                if let Some(record) = region.matchmaking.matches.get_mut(match_id) {
                    for player in &players {
                        record.answers.insert(player.clone(), false);
                    }
                }
                end_proposal(region, extra, match_id);
            }
        }
        _ => {}
    }
    region.matchmaking.finish(
        id,
        TicketStatus::Cancelled,
        Some("Cancelled"),
        Some("Cancelled by request."),
        now,
    );
    if let Some(arn) = &ticket.backfill_session {
        push_update(region, arn, sdk5::UpdateReason::BackfillCancelled, Some(id));
        if let Some(session) = region.matchmaking.sessions.get_mut(arn)
            && session.auto_ticket.as_deref() == Some(id)
        {
            session.auto_ticket = None;
            session.auto_off = true;
        }
    }
    Ok(())
}

/// A ticket as DescribeMatchmaking shows it.
pub fn ticket_value(region: &Region, ticket: &Ticket) -> crate::wire::Value {
    use crate::wire::Value;
    let configuration_arn = configuration_arn(&region.name, &ticket.configuration);
    let players: Vec<Value> = ticket
        .players
        .iter()
        .enumerate()
        .map(|(index, player)| {
            let given = ticket.given.get(index);
            let mut attributes = Value::map();
            if let Value::Map(members) = &mut attributes {
                for (name, value) in &player.attributes {
                    if given.is_some_and(|g| !g.contains(name)) {
                        continue;
                    }
                    let value = match value {
                        Attr::Str(s) => Value::map().with("S", s),
                        Attr::Num(n) => Value::map().with("N", *n),
                        Attr::StrList(l) => {
                            Value::map().with("SL", l.iter().map(Value::from).collect::<Vec<_>>())
                        }
                        Attr::NumMap(m) => {
                            let mut map = Value::map();
                            if let Value::Map(entries) = &mut map {
                                for (k, v) in m {
                                    entries.push((k.clone().into(), Value::Float(*v)));
                                }
                            }
                            Value::map().with("SDM", map)
                        }
                    };
                    members.push((name.clone().into(), value));
                }
            }
            let mut latency = Value::map();
            if let Value::Map(entries) = &mut latency {
                for (name, ms) in &player.latency {
                    entries.push((name.clone().into(), Value::Int(*ms as i64)));
                }
            }
            let team = ticket
                .teams
                .get(&player.id)
                .cloned()
                .or_else(|| ticket.backfill_session.as_ref().and(player.team.clone()));
            Value::map()
                .with("PlayerId", &player.id)
                .with("PlayerAttributes", attributes)
                .with_opt("Team", team)
                .with("LatencyInMs", latency)
        })
        .collect();
    let connection = ticket.connection.as_ref().map(|c| {
        Value::map()
            .with("GameSessionArn", &c.game_session_arn)
            .with("IpAddress", &c.ip_address)
            .with_opt("DnsName", c.dns_name.as_ref())
            .with("Port", c.port)
            .with(
                "MatchedPlayerSessions",
                c.player_sessions
                    .iter()
                    .map(|(player, session)| {
                        Value::map()
                            .with("PlayerId", player)
                            .with_opt("PlayerSessionId", session.as_ref())
                    })
                    .collect::<Vec<_>>(),
            )
    });
    Value::map()
        .with("TicketId", &ticket.id)
        .with("ConfigurationName", &ticket.configuration)
        .with("ConfigurationArn", configuration_arn)
        .with("Status", ticket.status.as_str())
        .with_opt("StatusReason", ticket.reason.as_ref())
        .with_opt("StatusMessage", ticket.message.as_ref())
        .with(
            "StartTime",
            Value::Timestamp(ticket.start_millis as f64 / 1000.0),
        )
        .with_opt(
            "EndTime",
            ticket
                .end_millis
                .map(|m| Value::Timestamp(m as f64 / 1000.0)),
        )
        .with("Players", players)
        .with_opt("GameSessionConnectionInfo", connection)
}

/// Why a matchmaking request was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// Something named does not exist.
    NotFound(String),
    /// The request is not valid in the current state.
    Invalid(String),
    /// The ticket id belongs to another game session.
    Conflict(String),
}

/// The configuration `name_or_arn` names, if it exists.
pub fn configuration_named<'r>(
    region: &'r Region,
    name_or_arn: &str,
) -> Result<&'r Configuration, Refusal> {
    let name = crate::state::strip_arn(name_or_arn, "matchmakingconfiguration/");
    region
        .matchmaking
        .configurations
        .get(&name)
        .ok_or_else(|| Refusal::NotFound(format!("Matchmaking configuration {name} not found.")))
}

/// Starts a matchmaking ticket (`backfill`: a backfill ticket for that game session, or for
/// none in STANDALONE mode).
pub fn start(
    region: &mut Region,
    now: u64,
    configuration: &str,
    ticket_id: Option<String>,
    players: Vec<MatchPlayer>,
    backfill: Option<Option<String>>,
) -> Result<String, Refusal> {
    let configuration = configuration_named(region, configuration)?.clone();
    let levels = region
        .matchmaking
        .levels(&configuration.rule_set_name)
        .ok_or_else(|| {
            Refusal::NotFound(format!(
                "Rule set {} not found.",
                configuration.rule_set_name
            ))
        })?;
    let rule_set = levels.at(0.0).clone();
    let id = ticket_id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    if let Some(existing) = region.matchmaking.tickets.get(&id) {
        return Err(match (&backfill, &existing.backfill_session) {
            (Some(Some(arn)), Some(owner)) if owner != arn => {
                Refusal::Conflict(format!("Ticket {id} belongs to another game session."))
            }
            _ => Refusal::Invalid(format!(
                "A matchmaking ticket with id {id} already exists; ticket ids cannot be reused."
            )),
        });
    }
    let mut seen = BTreeSet::new();
    for player in &players {
        if !seen.insert(player.id.as_str()) {
            return Err(Refusal::Invalid(format!(
                "Player {} is listed twice.",
                player.id
            )));
        }
    }
    let teams = engine_team_names(&rule_set);
    if let Some(session) = &backfill {
        if let Some(arn) = session {
            let known = region
                .sessions
                .get(arn)
                .is_some_and(|s| s.status == GameSessionStatus::Active);
            if !known {
                return Err(Refusal::NotFound(format!(
                    "Game session {arn} not found or not ACTIVE."
                )));
            }
        } else if !configuration.standalone {
            return Err(Refusal::Invalid(
                "GameSessionArn is required unless the configuration is STANDALONE.".into(),
            ));
        }
        for (index, player) in players.iter().enumerate() {
            match &player.team {
                None => {
                    return Err(Refusal::Invalid(format!(
                        "Players[{index}].Team is required for backfill: every player in the game session with their team."
                    )));
                }
                Some(team) if !teams.contains(team) => {
                    return Err(Refusal::Invalid(format!(
                        "Players[{index}].Team '{team}' is not a team of rule set {} (teams: {}).",
                        configuration.rule_set_name,
                        teams.join(", ")
                    )));
                }
                Some(_) => {}
            }
        }
    }
    for (index, player) in players.iter().enumerate() {
        for (name, value) in &player.attributes {
            match rule_set.attribute(name) {
                Some(declared) if attr_kind(value) != declared.kind => {
                    return Err(Refusal::Invalid(format!(
                        "Players[{index}].PlayerAttributes.{name} must be a {} value for rule set {}.",
                        declared.kind.name(),
                        configuration.rule_set_name
                    )));
                }
                _ => {}
            }
        }
    }
    let is_backfill = backfill.is_some();
    let (players, given, eligible) = resolve_players(&rule_set, players, is_backfill);
    let session = backfill.flatten();
    // One backfill request per game session: a new one replaces the one before.
    if let Some(arn) = &session {
        let earlier: Vec<String> = region
            .matchmaking
            .active
            .get(&configuration.name)
            .into_iter()
            .flatten()
            .filter(|t| {
                region.matchmaking.tickets.get(*t).is_some_and(|t| {
                    t.backfill_session.as_ref() == Some(arn)
                        && t.status != TicketStatus::Placing
                        && t.status != TicketStatus::RequiresAcceptance
                })
            })
            .cloned()
            .collect();
        for ticket in earlier {
            region.matchmaking.finish(
                &ticket,
                TicketStatus::Cancelled,
                Some("Cancelled"),
                Some("Replaced by a newer backfill request for the same game session."),
                now,
            );
        }
    }
    region.matchmaking.insert(
        Ticket {
            id: id.clone(),
            configuration: configuration.name.clone(),
            status: TicketStatus::Queued,
            reason: None,
            message: None,
            start_millis: now,
            end_millis: None,
            players: Arc::new(players),
            given,
            eligible,
            backfill_session: session,
            automatic: false,
            match_id: None,
            teams: BTreeMap::new(),
            connection: None,
        },
        now,
    );
    tracing::info!(target: "gamelift_local", ticket = %id, configuration = %configuration.name, backfill = is_backfill, eligible, "matchmaking ticket QUEUED");
    Ok(id)
}

fn attr_kind(value: &Attr) -> rules::AttrType {
    match value {
        Attr::Str(_) => rules::AttrType::String,
        Attr::Num(_) => rules::AttrType::Number,
        Attr::StrList(_) => rules::AttrType::StringList,
        Attr::NumMap(_) => rules::AttrType::StringNumberMap,
    }
}

fn engine_team_names(rule_set: &rules::RuleSet) -> Vec<String> {
    engine::generated_teams(rule_set)
        .into_iter()
        .map(|(name, ..)| name)
        .collect()
}

/// Reads a rule set body and, when it reads, matches a fixed pool of twelve varied players with
/// it (at three ages): what a fuzzer drives, so that no rule set, however odd, panics either
/// step. Returns the errors, or how many matches were found.
#[cfg(feature = "testing")]
pub fn exercise_rule_set(body: &str) -> Result<usize, String> {
    let rule_set = rules::parse(body).map_err(|errors| errors.to_string())?;
    let levels = Levels::new(&rule_set);
    let pool: Vec<PoolTicket> = (0..12u32)
        .map(|n| {
            let mut attributes = BTreeMap::new();
            for attribute in &rule_set.attributes {
                let value = match attribute.kind {
                    rules::AttrType::String => Attr::Str(["a", "b", "c"][n as usize % 3].into()),
                    rules::AttrType::Number => Attr::Num(f64::from(n * 7 % 50)),
                    rules::AttrType::StringList => {
                        Attr::StrList(vec![["a", "b"][n as usize % 2].into(), "c".into()])
                    }
                    rules::AttrType::StringNumberMap => {
                        Attr::NumMap([("a".to_string(), f64::from(n))].into())
                    }
                };
                if n % 5 != 4 {
                    attributes.insert(attribute.name.clone(), value);
                }
            }
            let players = vec![MatchPlayer {
                id: format!("p{n}"),
                attributes,
                latency: vec![("us-west-2".into(), f64::from(20 + n * 10))],
                team: None,
            }];
            let (players, _, eligible) = resolve_players(&rule_set, players, false);
            PoolTicket {
                id: format!("t{n}"),
                players: Arc::new(players),
                start_millis: u64::from(n) * 1000,
                backfill: false,
                eligible,
            }
        })
        .collect();
    let mut found = 0;
    for now in [0, 30_000, 3_600_000] {
        found += engine::find_matches(&levels, &pool, now, 0).len();
    }
    Ok(found)
}

#[cfg(all(test, feature = "testing"))]
mod tests {
    #[test]
    fn the_fuzz_seeds_read_and_run() {
        for seed in [
            include_str!("../../fuzz/seeds/rule_set/compound.json"),
            include_str!("../../fuzz/seeds/rule_set/duel.json"),
            include_str!("../../fuzz/seeds/rule_set/four-v-four.json"),
        ] {
            super::exercise_rule_set(seed).unwrap_or_else(|errors| panic!("{errors}\n{seed}"));
        }
    }
}
