//! Game server processes on the Server SDK 5 WebSocket: admission, every process action, the
//! pushes, and the lifecycle timers (activation, health, reconnect grace, termination).

use std::collections::HashMap;

use serde_json::{Map, Value as Json, json};

use crate::service::{Extra, Service, end_session};
use crate::state::{
    ACCOUNT, Compute, GameSessionStatus, PlayerSessionStatus, Process, ProcessConnection, Region,
    Timer,
};

/// How many answered RequestIds a process remembers for retries.
const ANSWERED_MEMORY: usize = 64;

/// Why a connection was refused before the upgrade (answered with HTTP 403).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String);

/// A connection admitted by [`Service::admit`].
#[derive(Debug)]
pub struct Admitted {
    /// The process id.
    pub process: String,
    /// The Region the process's fleet lives in.
    pub region: String,
    /// This connection's id.
    pub connection: u64,
    /// Frames to write to the socket.
    pub outbox: tokio::sync::mpsc::UnboundedReceiver<crate::state::Outgoing>,
}

/// A string member, treating null, absent and empty alike.
fn text<'a>(body: &'a Map<String, Json>, key: &str) -> Option<&'a str> {
    body.get(key)
        .and_then(Json::as_str)
        .filter(|value| !value.is_empty())
}

fn millis(value: u64) -> Json {
    json!(value)
}

impl Service {
    /// Decides whether a Server SDK connection may open, and registers it if so.
    pub fn admit(&self, query: &HashMap<String, String>) -> Result<Admitted, Refusal> {
        let get = |key: &str| query.get(key).map(String::as_str).filter(|v| !v.is_empty());
        let process_id =
            get("pID").ok_or_else(|| Refusal("the pID query parameter is required".into()))?;
        let fleet_id = get("FleetId")
            .ok_or_else(|| Refusal("the FleetId query parameter is required".into()))?;
        let compute_name = get("ComputeId").unwrap_or("local-compute").to_string();
        let authorization = get("Authorization");
        let idempotency = get("IdempotencyToken").map(str::to_string);
        let now = self.clock.now_millis();
        let mut state = self.state.lock();
        state.run_timers(now, &self.config);
        let region_name = state
            .regions
            .iter()
            .find(|(_, region)| region.fleets.contains_key(fleet_id))
            .map(|(name, _)| name.clone())
            .ok_or_else(|| Refusal(format!("fleet {fleet_id} does not exist")))?;

        // Authentication.
        let refresh_hand_over = {
            let region = &state.regions[&region_name];
            region.processes.get(process_id).is_some_and(|process| {
                process.refresh_token.is_some() && process.refresh_token.as_deref() == authorization
            })
        };
        if self.config.require_auth_token && !refresh_hand_over {
            let token = authorization
                .filter(|token| *token != "SigV4")
                .ok_or_else(|| {
                    Refusal(
                        "an auth token from GetComputeAuthToken is required (Authorization)".into(),
                    )
                })?;
            let valid = state.tokens.get(token).is_some_and(|t| {
                t.expires_millis > now && t.fleet_id == fleet_id && t.compute_name == compute_name
            });
            if !valid {
                return Err(Refusal(format!(
                    "the auth token is not valid for compute {compute_name} of fleet {fleet_id}, or has expired"
                )));
            }
        }

        state.connection_seq += 1;
        let connection_id = state.connection_seq;
        let (sender, outbox) = tokio::sync::mpsc::unbounded_channel();
        let connection = ProcessConnection {
            id: connection_id,
            idempotency_token: idempotency.clone(),
            sender,
        };
        let region = state
            .regions
            .get_mut(&region_name)
            .ok_or_else(|| Refusal("the fleet's Region vanished".into()))?;
        let fleet = &region.fleets[fleet_id];
        let default_location = fleet.locations.first().cloned().unwrap_or_default();
        let fleet_arn_text = fleet.arn.clone();

        match region.processes.get_mut(process_id) {
            Some(process) => {
                let live = !process.connections.is_empty();
                let same_socket_retry = live
                    && idempotency.is_some()
                    && process
                        .connections
                        .iter()
                        .any(|c| c.idempotency_token == idempotency);
                if live && !refresh_hand_over && !same_socket_retry {
                    return Err(Refusal(format!(
                        "process {process_id} is already connected; process ids must be unique between executions"
                    )));
                }
                if same_socket_retry && !refresh_hand_over {
                    // A reconnect with the same URL: the old socket is gone for the SDK.
                    process.connections.clear();
                }
                if refresh_hand_over {
                    process.refresh_token = None;
                }
                process.connections.push(connection);
                process.disconnected_since = None;
            }
            None => {
                let compute_key = (fleet_id.to_string(), compute_name.clone());
                let compute = match region.computes.get(&compute_key) {
                    Some(compute) => compute.clone(),
                    None if !self.config.require_auth_token => {
                        // --auth none: register the compute on the fly.
                        let compute = Compute {
                            fleet_id: fleet_id.to_string(),
                            fleet_arn: fleet_arn_text.clone(),
                            name: compute_name.clone(),
                            arn: format!(
                                "arn:aws:gamelift:{region_name}:{ACCOUNT}:compute/{compute_name}"
                            ),
                            ip_address: Some("127.0.0.1".into()),
                            dns_name: None,
                            location: default_location.clone(),
                            creation_millis: now,
                            sdk_endpoint: self.config.sdk_endpoint.clone(),
                        };
                        region.computes.insert(compute_key, compute.clone());
                        compute
                    }
                    None => {
                        return Err(Refusal(format!(
                            "compute {compute_name} is not registered in fleet {fleet_id}"
                        )));
                    }
                };
                region.processes.insert(
                    process_id.to_string(),
                    Process {
                        id: process_id.to_string(),
                        fleet_id: fleet_id.to_string(),
                        compute_name: compute.name.clone(),
                        location: compute.location.clone(),
                        ip_address: compute
                            .ip_address
                            .clone()
                            .unwrap_or_else(|| "127.0.0.1".into()),
                        dns_name: compute.dns_name.clone(),
                        connections: vec![connection],
                        activated: false,
                        port: 0,
                        log_paths: Vec::new(),
                        healthy: true,
                        last_healthy_millis: now,
                        game_session: None,
                        terminating: None,
                        ended: false,
                        disconnected_since: None,
                        refresh_token: None,
                        answered: std::collections::VecDeque::new(),
                    },
                );
            }
        }
        tracing::info!(target: "gamelift_local", process = process_id, fleet = fleet_id, compute = %compute_name, "server process connected");
        Ok(Admitted {
            process: process_id.to_string(),
            region: region_name,
            connection: connection_id,
            outbox,
        })
    }

    /// Handles one text frame from a process; returns the response frame, if any.
    pub fn process_message(&self, region: &str, process_id: &str, frame: &str) -> Option<String> {
        let parsed: Json = match serde_json::from_str(frame) {
            Ok(parsed) => parsed,
            Err(error) => {
                tracing::warn!(target: "gamelift_local", process = process_id, %error, "dropped a frame that is not JSON");
                return None;
            }
        };
        let body = parsed.as_object()?;
        let action = text(body, "Action").unwrap_or_default().to_string();
        let request_id = text(body, "RequestId").map(str::to_string);
        let now = self.clock.now_millis();
        let mut state = self.state.lock();
        state.run_timers(now, &self.config);
        let (regions, mut extra) = state.split(now, &self.config);
        let region_state = regions.get_mut(region)?;
        let retry_key = request_id.as_ref().map(|id| format!("{action}\u{0}{id}"));
        if let Some(key) = &retry_key {
            let process = region_state.processes.get(process_id)?;
            if let Some((_, answer)) = process.answered.iter().find(|(seen, _)| seen == key) {
                return Some(answer.clone());
            }
        }
        let result = if action.is_empty() {
            Err((400, "the message has no Action".to_string()))
        } else {
            handle_action(region_state, &mut extra, process_id, &action, body)
        };
        let mut reply = Map::new();
        reply.insert("Action".into(), Json::String(action.clone()));
        if let Some(request_id) = &request_id {
            reply.insert("RequestId".into(), Json::String(request_id.clone()));
        }
        match result {
            Ok(fields) => {
                reply.insert("StatusCode".into(), json!(200));
                reply.extend(fields);
            }
            Err((status, message)) => {
                tracing::debug!(target: "gamelift_local", process = process_id, action, status, message, "process request refused");
                reply.insert("StatusCode".into(), json!(status));
                reply.insert("ErrorMessage".into(), Json::String(message));
            }
        }
        let answer = Json::Object(reply).to_string();
        if let (Some(key), Some(process)) = (retry_key, region_state.processes.get_mut(process_id))
        {
            process.answered.push_back((key, answer.clone()));
            if process.answered.len() > ANSWERED_MEMORY {
                process.answered.pop_front();
            }
        }
        Some(answer)
    }

    /// A connection of a process closed. `goodbye`: the process closed it itself, normally (a
    /// Close frame with 1000 or 1001). A process whose last connection closes that way has ended:
    /// its game session ends now, with no reconnect grace; any other loss of the last connection
    /// starts the grace.
    pub fn connection_closed(
        &self,
        region: &str,
        process_id: &str,
        connection: u64,
        goodbye: bool,
    ) {
        let now = self.clock.now_millis();
        let mut state = self.state.lock();
        let grace = self.config.reconnect_grace_millis;
        let crate::service::State {
            regions,
            timers,
            timer_seq,
            ..
        } = &mut *state;
        let Some(region_state) = regions.get_mut(region) else {
            return;
        };
        let Some(process) = region_state.processes.get_mut(process_id) else {
            return;
        };
        process.connections.retain(|c| c.id != connection);
        if !process.connections.is_empty() {
            return;
        }
        if process.ended {
            // ProcessEnding was called: the process is done; closing is expected.
            region_state.processes.remove(process_id);
            return;
        }
        if goodbye {
            tracing::info!(target: "gamelift_local", process = process_id, "server process closed its connection: it has ended");
            give_up_process(region_state, process_id, now, None);
            region_state.processes.remove(process_id);
            return;
        }
        process.disconnected_since = Some(now);
        *timer_seq += 1;
        timers.insert(
            (now + grace, *timer_seq),
            Timer::ReconnectGrace {
                region: region.to_string(),
                process: process_id.to_string(),
                since: now,
            },
        );
        tracing::info!(target: "gamelift_local", process = process_id, "server process disconnected; waiting for it to reconnect");
    }

    /// Sends RefreshConnection to a process: a new endpoint and auth token. The process may then
    /// open a second connection; both stay live until it closes the old one.
    pub fn refresh_connection(&self, process_id: &str) -> bool {
        let now = self.clock.now_millis();
        let mut state = self.state.lock();
        let token = uuid::Uuid::new_v4().to_string();
        let mut found = None;
        for region in state.regions.values_mut() {
            if let Some(process) = region.processes.get_mut(process_id) {
                process.refresh_token = Some(token.clone());
                process.push(
                    json!({
                        "Action": "RefreshConnection",
                        "RefreshConnectionEndpoint": self.config.sdk_endpoint,
                        "AuthToken": token,
                    })
                    .to_string(),
                );
                found = Some((process.fleet_id.clone(), process.compute_name.clone()));
            }
        }
        let Some((fleet_id, compute_name)) = found else {
            return false;
        };
        state.tokens.insert(
            token,
            crate::state::AuthToken {
                fleet_id,
                compute_name,
                expires_millis: now + 15 * 60 * 1000,
            },
        );
        true
    }

    /// Closes every live connection of a process with `code` (for example 1011 to make the SDK
    /// reconnect, 1000 to make it stop), as the production service does when a connection ends.
    /// Returns how many connections were told to close.
    pub fn close_connections(&self, process_id: &str, code: u16, reason: &str) -> usize {
        let state = self.state.lock();
        let mut closed = 0;
        for region in state.regions.values() {
            if let Some(process) = region.processes.get(process_id) {
                for connection in &process.connections {
                    let close = crate::state::Outgoing::Close {
                        code,
                        reason: reason.to_string(),
                    };
                    if connection.sender.send(close).is_ok() {
                        closed += 1;
                    }
                }
            }
        }
        closed
    }

    /// The ids of the connected server processes of a fleet.
    pub fn process_ids(&self, fleet_id: &str) -> Vec<String> {
        let state = self.state.lock();
        state
            .regions
            .values()
            .flat_map(|region| region.processes.values())
            .filter(|process| process.fleet_id == fleet_id)
            .map(|process| process.id.clone())
            .collect()
    }
}

type ActionResult = Result<Map<String, Json>, (u16, String)>;

fn handle_action(
    region: &mut Region,
    extra: &mut Extra<'_>,
    process_id: &str,
    action: &str,
    body: &Map<String, Json>,
) -> ActionResult {
    let now = extra.now;
    let Some(process) = region.processes.get_mut(process_id) else {
        return Err((404, format!("process {process_id} is not connected")));
    };
    match action {
        "ActivateServerProcess" => {
            let port = body.get("Port").and_then(Json::as_i64).unwrap_or(0);
            if !(1..=60_000).contains(&port) {
                return Err((400, format!("Port must be between 1 and 60000, not {port}")));
            }
            process.port = port as u16;
            process.log_paths = body
                .get("LogPaths")
                .and_then(Json::as_array)
                .map(|paths| {
                    paths
                        .iter()
                        .filter_map(|p| p.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            process.activated = true;
            process.ended = false;
            process.healthy = true;
            tracing::info!(target: "gamelift_local", process = process_id, port, "server process ready");
            process.last_healthy_millis = now;
            let period = extra.config.heartbeat_period_millis;
            extra.add_timer(
                now + 3 * period,
                Timer::Health {
                    region: region.name.clone(),
                    process: process_id.to_string(),
                },
            );
            // A placement may have been waiting for this process.
            let pending: Vec<String> = region
                .placements
                .values()
                .filter(|p| p.status == crate::state::PlacementStatus::Pending)
                .map(|p| p.id.clone())
                .collect();
            for placement in pending {
                crate::service::try_place(region, extra, &placement);
            }
            Ok(Map::new())
        }
        "HeartbeatServerProcess" => {
            let healthy = body
                .get("HealthStatus")
                .and_then(Json::as_bool)
                .unwrap_or(false);
            if process.healthy && !healthy {
                tracing::info!(target: "gamelift_local", process = process_id, "server process reported itself unhealthy");
            }
            process.healthy = healthy;
            if healthy {
                process.last_healthy_millis = now;
            }
            Ok(Map::new())
        }
        "ActivateGameSession" => {
            let arn = text(body, "GameSessionId")
                .ok_or((400, "GameSessionId is required".to_string()))?;
            if process.game_session.as_deref() != Some(arn) {
                return Err((
                    404,
                    format!("game session {arn} is not hosted by process {process_id}"),
                ));
            }
            let status = region.sessions.get(arn).map(|s| s.status);
            match status {
                Some(GameSessionStatus::Activating) => {
                    region
                        .update_session(arn, |session| session.status = GameSessionStatus::Active);
                    tracing::info!(target: "gamelift_local", game_session = arn, process = process_id, "game session ACTIVE");
                    Ok(Map::new())
                }
                Some(GameSessionStatus::Active) => Ok(Map::new()),
                Some(other) => Err((
                    409,
                    format!(
                        "game session {arn} is {} and cannot be activated",
                        other.as_str()
                    ),
                )),
                None => Err((404, format!("game session {arn} not found"))),
            }
        }
        "UpdatePlayerSessionCreationPolicy" => {
            let arn = owned_session(region, process_id, body)?;
            let accept = match text(body, "PlayerSessionPolicy") {
                Some("ACCEPT_ALL") => true,
                Some("DENY_ALL") => false,
                other => {
                    return Err((
                        400,
                        format!(
                            "PlayerSessionPolicy must be ACCEPT_ALL or DENY_ALL, not {other:?}"
                        ),
                    ));
                }
            };
            region.update_session(&arn, |session| session.accept_players = accept);
            Ok(Map::new())
        }
        "AcceptPlayerSession" | "RemovePlayerSession" => {
            let arn = owned_session(region, process_id, body)?;
            let id = text(body, "PlayerSessionId")
                .ok_or((400, "PlayerSessionId is required".to_string()))?;
            let player = region
                .players
                .get(id)
                .ok_or((404, format!("player session {id} not found")))?;
            if player.game_session_arn != arn {
                return Err((
                    400,
                    format!("player session {id} does not belong to game session {arn}"),
                ));
            }
            let status = player.status;
            if action == "AcceptPlayerSession" {
                if status != PlayerSessionStatus::Reserved {
                    return Err((
                        400,
                        format!(
                            "player session {id} is {} and cannot be accepted; only RESERVED player sessions can",
                            status.as_str()
                        ),
                    ));
                }
                region.set_player_status(id, PlayerSessionStatus::Active, now);
            } else {
                if !status.holds_slot() {
                    return Err((
                        400,
                        format!(
                            "player session {id} is {} and cannot be removed",
                            status.as_str()
                        ),
                    ));
                }
                region.set_player_status(id, PlayerSessionStatus::Completed, now);
            }
            Ok(Map::new())
        }
        "DescribePlayerSessions" => describe_player_sessions(region, body),
        "StartMatchBackfill" => {
            let arn = text(body, "GameSessionArn")
                .ok_or((400, "GameSessionArn is required".to_string()))?;
            text(body, "MatchmakingConfigurationArn")
                .ok_or((400, "MatchmakingConfigurationArn is required".to_string()))?;
            let players = body
                .get("Players")
                .and_then(Json::as_array)
                .map_or(0, Vec::len);
            if players == 0 {
                return Err((400, "Players must list at least one player".to_string()));
            }
            if !region.sessions.contains_key(arn) {
                return Err((404, format!("game session {arn} not found")));
            }
            let ticket = text(body, "TicketId")
                .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_string);
            region
                .backfill_tickets
                .insert(ticket.clone(), arn.to_string());
            let mut out = Map::new();
            out.insert("TicketId".into(), Json::String(ticket));
            Ok(out)
        }
        "StopMatchBackfill" => {
            let ticket = text(body, "TicketId").ok_or((400, "TicketId is required".to_string()))?;
            text(body, "GameSessionArn").ok_or((400, "GameSessionArn is required".to_string()))?;
            text(body, "MatchmakingConfigurationArn")
                .ok_or((400, "MatchmakingConfigurationArn is required".to_string()))?;
            region
                .backfill_tickets
                .remove(ticket)
                .ok_or((404, format!("backfill ticket {ticket} not found")))?;
            Ok(Map::new())
        }
        "GetComputeCertificate" => {
            let mut out = Map::new();
            out.insert("CertificatePath".into(), Json::String(String::new()));
            out.insert(
                "ComputeName".into(),
                Json::String(process.compute_name.clone()),
            );
            Ok(out)
        }
        "GetFleetRoleCredentials" => {
            // Anywhere fleets have no fleet role: a success with empty credentials.
            let mut out = Map::new();
            for key in [
                "AssumedRoleUserArn",
                "AssumedRoleId",
                "AccessKeyId",
                "SecretAccessKey",
                "SessionToken",
            ] {
                out.insert(key.into(), Json::String(String::new()));
            }
            out.insert("Expiration".into(), json!(0));
            Ok(out)
        }
        "TerminateServerProcess" => {
            tracing::info!(target: "gamelift_local", process = process_id, "server process ended (ProcessEnding)");
            process.ended = true;
            process.activated = false;
            let reason = process.terminating.flatten();
            end_hosted_session(region, process_id, reason, now);
            Ok(Map::new())
        }
        other => Err((400, format!("unknown action {other}"))),
    }
}

/// The game session a process names in `GameSessionId`, which must be the one it hosts.
fn owned_session(
    region: &Region,
    process_id: &str,
    body: &Map<String, Json>,
) -> Result<String, (u16, String)> {
    let arn = text(body, "GameSessionId").ok_or((400, "GameSessionId is required".to_string()))?;
    let hosted = region
        .processes
        .get(process_id)
        .and_then(|p| p.game_session.as_deref());
    if hosted != Some(arn) {
        return Err((
            404,
            format!("game session {arn} is not hosted by process {process_id}"),
        ));
    }
    Ok(arn.to_string())
}

fn describe_player_sessions(region: &Region, body: &Map<String, Json>) -> ActionResult {
    let limit = body
        .get("Limit")
        .and_then(Json::as_i64)
        .filter(|l| *l > 0)
        .unwrap_or(50) as usize;
    let offset = text(body, "NextToken").map_or(Ok(0), |t| {
        t.parse::<usize>()
            .map_err(|_| (400, format!("NextToken {t} is not valid")))
    })?;
    let status = text(body, "PlayerSessionStatusFilter");
    let found: Vec<&crate::state::PlayerSession> = if let Some(id) = text(body, "PlayerSessionId") {
        region.players.get(id).into_iter().collect()
    } else if let Some(arn) = text(body, "GameSessionId") {
        let session = region
            .sessions
            .get(arn)
            .ok_or((404, format!("game session {arn} not found")))?;
        session
            .player_sessions
            .iter()
            .filter_map(|id| region.players.get(id))
            .collect()
    } else if let Some(player) = text(body, "PlayerId") {
        region
            .players_by_player_id
            .get(player)
            .map(|ids| ids.iter().filter_map(|id| region.players.get(id)).collect())
            .unwrap_or_default()
    } else {
        return Err((
            400,
            "one of GameSessionId, PlayerId or PlayerSessionId is required".to_string(),
        ));
    };
    let found: Vec<_> = found
        .into_iter()
        .filter(|p| status.is_none_or(|s| p.status.as_str() == s))
        .collect();
    let page: Vec<Json> = found
        .iter()
        .skip(offset)
        .take(limit)
        .map(|p| {
            json!({
                "PlayerId": p.player_id,
                "PlayerSessionId": p.id,
                "GameSessionId": p.game_session_arn,
                "FleetId": p.fleet_id,
                "PlayerData": p.player_data.clone().unwrap_or_default(),
                "IpAddress": p.ip_address,
                "Port": p.port,
                "CreationTime": millis(p.creation_millis),
                "TerminationTime": millis(p.termination_millis.unwrap_or(0)),
                "DnsName": p.dns_name.clone().unwrap_or_default(),
                "Status": p.status.as_str(),
            })
        })
        .collect();
    let mut out = Map::new();
    if offset + page.len() < found.len() {
        out.insert(
            "NextToken".into(),
            Json::String((offset + page.len()).to_string()),
        );
    }
    out.insert("PlayerSessions".into(), Json::Array(page));
    Ok(out)
}

fn properties_object(properties: &[(String, String)]) -> Json {
    Json::Object(
        properties
            .iter()
            .map(|(k, v)| (k.clone(), Json::String(v.clone())))
            .collect(),
    )
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
    let message = json!({
        "Action": "CreateGameSession",
        "GameSessionId": session.arn,
        "GameSessionName": session.name.clone().unwrap_or_default(),
        "GameSessionData": session.game_session_data.clone().unwrap_or_default(),
        "MatchmakerData": session.matchmaker_data.clone().unwrap_or_default(),
        "DnsName": session.dns_name.clone().unwrap_or_default(),
        "IpAddress": session.ip_address,
        "MaximumPlayerSessionCount": session.maximum_players,
        "Port": session.port,
        "GameProperties": properties_object(&session.properties),
        "Location": session.location,
    })
    .to_string();
    if let Some(process) = region.processes.get_mut(process_id) {
        process.game_session = Some(arn.to_string());
        process.push(message);
    }
    extra.add_timer(
        extra.now + extra.config.activation_timeout_millis,
        Timer::Activation {
            region: region.name.clone(),
            game_session: arn.to_string(),
        },
    );
}

/// Pushes UpdateGameSession to the process hosting `arn`, if any.
pub(crate) fn push_update(region: &Region, arn: &str, reason: &str, ticket: Option<&str>) {
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
    let message = json!({
        "Action": "UpdateGameSession",
        "UpdateReason": reason,
        "BackfillTicketId": ticket.unwrap_or_default(),
        "GameSession": {
            "GameSessionId": session.arn,
            "Name": session.name.clone().unwrap_or_default(),
            "FleetId": session.fleet_id,
            "GameSessionData": session.game_session_data.clone().unwrap_or_default(),
            "MatchmakerData": session.matchmaker_data.clone().unwrap_or_default(),
            "DnsName": session.dns_name.clone().unwrap_or_default(),
            "IpAddress": session.ip_address,
            "MaximumPlayerSessionCount": session.maximum_players,
            "Port": session.port,
            "GameProperties": properties_object(&session.properties),
            "Location": session.location,
            "Status": session.status.as_str(),
        },
    })
    .to_string();
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
    process.push(
        json!({
            "Action": "TerminateProcess",
            "TerminationTime": extra.now + grace,
        })
        .to_string(),
    );
    extra.add_timer(
        extra.now + grace,
        Timer::TerminationDeadline {
            region: region.name.clone(),
            process: process_id.to_string(),
        },
    );
}

/// Ends whatever the process hosts and forgets it.
fn give_up_process(region: &mut Region, process_id: &str, now: u64, reason: Option<&'static str>) {
    let Some(process) = region.processes.get_mut(process_id) else {
        return;
    };
    process.ended = true;
    end_hosted_session(region, process_id, reason, now);
}

/// Ends the game session a process hosts (if it is still live) and frees the process.
fn end_hosted_session(
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
            let deadline = state.last_healthy_millis + 3 * period;
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
