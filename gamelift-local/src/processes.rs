//! Game server processes on the Server SDK 5 WebSocket: admission, every process action, the
//! pushes, and the lifecycle timers (activation, health, reconnect grace, termination).

use std::collections::HashMap;

use sdk5_protocol as sdk5;
use sdk5_protocol::{Envelope, Frame, Push, Request};
use serde::Serialize;
use serde_json::Value as Json;

use crate::lifecycle::{Extra, end_hosted_session, give_up_process};
use crate::matchmaking;
use crate::service::Service;
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
    /// Frames to write to the socket, and the close signal.
    pub outbox: crate::state::ConnectionOutbox,
    /// The connection's own link, for the replies to its requests.
    pub link: crate::state::ConnectionLink,
}

/// Why a process's request was refused: the status code the SDKs map to their error types, and a
/// message naming the problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ActionError {
    status: ActionStatus,
    message: String,
}

/// The status codes the service answers process requests with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ActionStatus {
    /// 400: the request is malformed or not allowed in the current state.
    BadRequest = 400,
    /// 404: what it names does not exist or is not the process's.
    NotFound = 404,
    /// 409: the resource is in a state that forbids the action.
    Conflict = 409,
}

impl ActionError {
    fn new(status: ActionStatus, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
    fn bad(message: impl Into<String>) -> Self {
        Self::new(ActionStatus::BadRequest, message)
    }
    fn not_found(message: impl Into<String>) -> Self {
        Self::new(ActionStatus::NotFound, message)
    }
    fn required(member: &str) -> Self {
        Self::bad(format!("{member} is required"))
    }
}

impl From<sdk5::ProtocolError> for ActionError {
    fn from(error: sdk5::ProtocolError) -> Self {
        Self::bad(error.to_string())
    }
}

/// The payload of a success reply.
fn reply<T: Serialize>(payload: &T) -> Result<Json, ActionError> {
    Ok(serde_json::to_value(payload).unwrap_or(Json::Null))
}

/// Writes a push frame.
fn push_frame<T: Push>(payload: &T) -> String {
    sdk5::encode(&Envelope::push(T::ACTION), payload)
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
        let mut state = self.write_state();
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
        let (link, outbox) = crate::state::ConnectionLink::new();
        let connection = ProcessConnection {
            id: connection_id,
            idempotency_token: idempotency.clone(),
            link: link.clone(),
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
                // A process id is bound to the fleet and compute it first connected as: a
                // connection presenting another fleet's or compute's credentials cannot take it
                // over, reconnecting or not.
                if process.fleet_id != fleet_id || process.compute_name != compute_name {
                    return Err(Refusal(format!(
                        "process {process_id} belongs to another fleet or compute; a process reconnects with the fleet and compute it first connected with"
                    )));
                }
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
                        last_heartbeat_millis: None,
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
            link,
        })
    }

    /// Handles one text frame from a process and queues the response frame on `reply_to`. A
    /// frame that is not a JSON object, or whose members have the wrong types, is answered with
    /// a 400 error frame naming the problem, so the SDK does not wait for its own timeout.
    ///
    /// The reply is queued while the state is still locked, so it goes out before any push the
    /// action's change leads to (a `CreateGameSession` placed on a process that just became
    /// ready must reach it after the answer to its `ActivateServerProcess`).
    pub fn process_message(
        &self,
        region: &str,
        process_id: &str,
        text: &str,
        reply_to: &crate::state::ConnectionLink,
    ) {
        let frame = match Frame::parse(text) {
            Ok(frame) => frame,
            Err(error) => {
                tracing::debug!(target: "gamelift_local", process = process_id, %error, "refused a frame");
                let envelope = Envelope::error(&Envelope::default(), 400, error.to_string());
                reply_to.send(sdk5::encode(&envelope, &sdk5::Empty {}));
                return;
            }
        };
        let request = &frame.envelope;
        let now = self.clock.now_millis();
        let mut state = self.write_state();
        state.run_timers(now, &self.config);
        let (regions, mut extra) = state.split(now, &self.config);
        let Some(region_state) = regions.get_mut(region) else {
            return;
        };
        let retry_key = request
            .request_id
            .as_ref()
            .map(|id| format!("{}\u{0}{id}", request.action));
        if let Some(key) = &retry_key {
            let Some(process) = region_state.processes.get(process_id) else {
                return;
            };
            if let Some((_, answer)) = process.answered.iter().find(|(seen, _)| seen == key) {
                reply_to.send(answer.clone());
                return;
            }
        }
        let result = if request.action.is_empty() {
            Err(ActionError::required("Action"))
        } else {
            handle_action(region_state, &mut extra, process_id, &frame)
        };
        let answer = match result {
            Ok(payload) => sdk5::encode(&Envelope::success(request), &payload),
            Err(error) => {
                tracing::debug!(target: "gamelift_local", process = process_id, action = request.action, status = error.status as u16, message = error.message, "process request refused");
                sdk5::encode(
                    &Envelope::error(request, error.status as u16, error.message),
                    &sdk5::Empty {},
                )
            }
        };
        if let (Some(key), Some(process)) = (retry_key, region_state.processes.get_mut(process_id))
        {
            process.answered.push_back((key, answer.clone()));
            if process.answered.len() > ANSWERED_MEMORY {
                process.answered.pop_front();
            }
        }
        // Queued under the lock: ahead of any push a later change queues.
        reply_to.send(answer);
        drop(state);
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
        let mut state = self.write_state();
        let grace = self.config.reconnect_grace_millis;
        let crate::state::State {
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
            (now.saturating_add(grace), *timer_seq),
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
        let mut state = self.write_state();
        let token = uuid::Uuid::new_v4().to_string();
        let mut found = None;
        for region in state.regions.values_mut() {
            if let Some(process) = region.processes.get_mut(process_id) {
                process.refresh_token = Some(token.clone());
                process.push(push_frame(&sdk5::RefreshConnection {
                    refresh_connection_endpoint: self.config.sdk_endpoint.clone(),
                    auth_token: token.clone(),
                }));
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
                expires_millis: now.saturating_add(15 * 60 * 1000),
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
                    if connection.link.close(code, reason) {
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

type ActionResult = Result<Json, ActionError>;

fn handle_action(
    region: &mut Region,
    extra: &mut Extra<'_>,
    process_id: &str,
    frame: &Frame,
) -> ActionResult {
    let now = extra.now;
    let Some(process) = region.processes.get_mut(process_id) else {
        return Err(ActionError::not_found(format!(
            "process {process_id} is not connected"
        )));
    };
    match frame.envelope.action.as_str() {
        sdk5::ActivateServerProcess::ACTION => {
            let body: sdk5::ActivateServerProcess = frame.body()?;
            let port = body.port;
            if !(1..=60_000).contains(&port) {
                return Err(ActionError::bad(format!(
                    "Port must be between 1 and 60000, not {port}"
                )));
            }
            process.port = port;
            process.log_paths = body.log_paths;
            process.activated = true;
            process.ended = false;
            process.healthy = true;
            tracing::info!(target: "gamelift_local", process = process_id, port, "server process ready");
            process.last_healthy_millis = now;
            let period = extra.config.heartbeat_period_millis;
            extra.add_timer(
                now.saturating_add(period.saturating_mul(3)),
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
                crate::lifecycle::try_place(region, extra, &placement);
            }
            reply(&sdk5::Empty {})
        }
        sdk5::HeartbeatServerProcess::ACTION => {
            let healthy = frame.body::<sdk5::HeartbeatServerProcess>()?.health_status;
            if process.healthy && !healthy {
                tracing::info!(target: "gamelift_local", process = process_id, "server process reported itself unhealthy");
            }
            process.healthy = healthy;
            process.last_heartbeat_millis = Some(now);
            if healthy {
                process.last_healthy_millis = now;
            }
            reply(&sdk5::Empty {})
        }
        sdk5::ActivateGameSession::ACTION => {
            let body: sdk5::ActivateGameSession = frame.body()?;
            let arn = body.game_session_id.as_str();
            if arn.is_empty() {
                return Err(ActionError::required("GameSessionId"));
            }
            if process.game_session.as_deref() != Some(arn) {
                return Err(ActionError::not_found(format!(
                    "game session {arn} is not hosted by process {process_id}"
                )));
            }
            let status = region.sessions.get(arn).map(|s| s.status);
            match status {
                Some(GameSessionStatus::Activating) => {
                    region
                        .update_session(arn, |session| session.status = GameSessionStatus::Active);
                    tracing::info!(target: "gamelift_local", game_session = arn, process = process_id, "game session ACTIVE");
                    reply(&sdk5::Empty {})
                }
                Some(GameSessionStatus::Active) => reply(&sdk5::Empty {}),
                Some(other) => Err(ActionError::new(
                    ActionStatus::Conflict,
                    format!(
                        "game session {arn} is {} and cannot be activated",
                        other.as_str()
                    ),
                )),
                None => Err(ActionError::not_found(format!(
                    "game session {arn} not found"
                ))),
            }
        }
        sdk5::UpdatePlayerSessionCreationPolicy::ACTION => {
            let body: sdk5::UpdatePlayerSessionCreationPolicy = frame.body()?;
            let arn = owned_session(region, process_id, &body.game_session_id)?;
            let accept = match body.player_session_policy {
                Some(sdk5::PlayerSessionCreationPolicy::AcceptAll) => true,
                Some(sdk5::PlayerSessionCreationPolicy::DenyAll) => false,
                None => return Err(ActionError::required("PlayerSessionPolicy")),
            };
            region.update_session(&arn, |session| session.accept_players = accept);
            reply(&sdk5::Empty {})
        }
        action @ (sdk5::AcceptPlayerSession::ACTION | sdk5::RemovePlayerSession::ACTION) => {
            let body: sdk5::PlayerSessionAction = frame.body()?;
            let arn = owned_session(region, process_id, &body.game_session_id)?;
            let id = body.player_session_id.as_str();
            if id.is_empty() {
                return Err(ActionError::required("PlayerSessionId"));
            }
            let player = region
                .players
                .get(id)
                .ok_or_else(|| ActionError::not_found(format!("player session {id} not found")))?;
            if player.game_session_arn != arn {
                return Err(ActionError::bad(format!(
                    "player session {id} does not belong to game session {arn}"
                )));
            }
            let status = player.status;
            if action == sdk5::AcceptPlayerSession::ACTION {
                if status != PlayerSessionStatus::Reserved {
                    return Err(ActionError::bad(format!(
                        "player session {id} is {} and cannot be accepted; only RESERVED player sessions can",
                        status.as_str()
                    )));
                }
                region.set_player_status(id, PlayerSessionStatus::Active, now);
            } else {
                if !status.holds_slot() {
                    return Err(ActionError::bad(format!(
                        "player session {id} is {} and cannot be removed",
                        status.as_str()
                    )));
                }
                region.set_player_status(id, PlayerSessionStatus::Completed, now);
            }
            reply(&sdk5::Empty {})
        }
        sdk5::DescribePlayerSessions::ACTION => {
            let fleet_id = process.fleet_id.clone();
            describe_player_sessions(region, &fleet_id, &frame.body()?)
        }
        sdk5::StartMatchBackfill::ACTION => {
            let body: sdk5::StartMatchBackfill = frame.body()?;
            let arn = body.game_session_arn.as_str();
            if arn.is_empty() {
                return Err(ActionError::required("GameSessionArn"));
            }
            if body.matchmaking_configuration_arn.is_empty() {
                return Err(ActionError::required("MatchmakingConfigurationArn"));
            }
            if body.players.is_empty() {
                return Err(ActionError::bad("Players must list at least one player"));
            }
            if body.players.len() > 199 {
                return Err(ActionError::bad(format!(
                    "Players lists {} players; at most 199",
                    body.players.len()
                )));
            }
            let arn = owned_session(region, process_id, arn)?;
            let players = body.players.iter().map(sdk_player).collect();
            let ticket = body.ticket_id.filter(|id| !id.is_empty());
            let ticket = matchmaking::start(
                region,
                now,
                &body.matchmaking_configuration_arn,
                ticket,
                players,
                Some(Some(arn)),
            )
            .map_err(refusal)?;
            reply(&sdk5::StartMatchBackfillResponse { ticket_id: ticket })
        }
        sdk5::StopMatchBackfill::ACTION => {
            let body: sdk5::StopMatchBackfill = frame.body()?;
            for (member, value) in [
                ("TicketId", &body.ticket_id),
                ("GameSessionArn", &body.game_session_arn),
                (
                    "MatchmakingConfigurationArn",
                    &body.matchmaking_configuration_arn,
                ),
            ] {
                if value.is_empty() {
                    return Err(ActionError::required(member));
                }
            }
            let arn = owned_session(region, process_id, &body.game_session_arn)?;
            let ticket = body.ticket_id.as_str();
            // A ticket of another process's session is as unknown to this process as a
            // ticket that never existed.
            let owned = region.matchmaking.tickets.get(ticket).is_some_and(|t| {
                t.backfill_session.as_deref() == Some(arn.as_str()) && !t.status.terminal()
            });
            if !owned {
                return Err(ActionError::not_found(format!(
                    "backfill ticket {ticket} not found for game session {arn}"
                )));
            }
            matchmaking::stop(region, extra, ticket).map_err(ActionError::bad)?;
            reply(&sdk5::Empty {})
        }
        sdk5::GetComputeCertificate::ACTION => reply(&sdk5::GetComputeCertificateResponse {
            certificate_path: String::new(),
            compute_name: process.compute_name.clone(),
        }),
        // Anywhere fleets have no fleet role: a success with empty credentials.
        sdk5::GetFleetRoleCredentials::ACTION => {
            reply(&sdk5::GetFleetRoleCredentialsResponse::default())
        }
        sdk5::TerminateServerProcess::ACTION => {
            tracing::info!(target: "gamelift_local", process = process_id, "server process ended (ProcessEnding)");
            process.ended = true;
            process.activated = false;
            let reason = process.terminating.flatten();
            end_hosted_session(region, process_id, reason, now);
            reply(&sdk5::Empty {})
        }
        other => Err(ActionError::bad(format!(
            "unknown action {other}; the actions are {}",
            sdk5::REQUEST_ACTIONS.join(", ")
        ))),
    }
}

/// The game session a process names, which must be the one it hosts.
fn owned_session(region: &Region, process_id: &str, arn: &str) -> Result<String, ActionError> {
    if arn.is_empty() {
        return Err(ActionError::required("GameSessionId"));
    }
    let hosted = region
        .processes
        .get(process_id)
        .and_then(|p| p.game_session.as_deref());
    if hosted != Some(arn) {
        return Err(ActionError::not_found(format!(
            "game session {arn} is not hosted by process {process_id}"
        )));
    }
    Ok(arn.to_string())
}

/// A backfill request's player, as the matchmaker sees them.
fn sdk_player(player: &sdk5::Player) -> crate::flexmatch::engine::MatchPlayer {
    use crate::flexmatch::expr::Attr;
    crate::flexmatch::engine::MatchPlayer {
        id: player.player_id.clone(),
        attributes: player
            .player_attributes
            .iter()
            .filter_map(|(name, value)| {
                let value = match value {
                    sdk5::AttributeValue::String { s } => Attr::Str(s.clone()),
                    sdk5::AttributeValue::Double { n } => Attr::Num(*n),
                    sdk5::AttributeValue::StringList { sl } => Attr::StrList(sl.clone()),
                    sdk5::AttributeValue::StringDoubleMap { sdm } => Attr::NumMap(sdm.clone()),
                    sdk5::AttributeValue::None => return None,
                };
                Some((name.clone(), value))
            })
            .collect(),
        latency: player
            .latency_in_ms
            .iter()
            .map(|(region, ms)| (region.clone(), *ms as f64))
            .collect(),
        team: (!player.team.is_empty()).then(|| player.team.clone()),
    }
}

fn refusal(refusal: matchmaking::Refusal) -> ActionError {
    match refusal {
        matchmaking::Refusal::NotFound(message) => ActionError::not_found(message),
        matchmaking::Refusal::Invalid(message) => ActionError::bad(message),
        matchmaking::Refusal::Conflict(message) => {
            ActionError::new(ActionStatus::Conflict, message)
        }
    }
}

/// Player sessions of the process's own fleet only: another fleet's sessions and player data are
/// not there for it, whichever id it names.
fn describe_player_sessions(
    region: &Region,
    fleet_id: &str,
    body: &sdk5::DescribePlayerSessions,
) -> ActionResult {
    let limit = body.limit.filter(|l| *l > 0).unwrap_or(50) as usize;
    let offset = body.next_token.as_deref().map_or(Ok(0), |t| {
        t.parse::<usize>()
            .map_err(|_| ActionError::bad(format!("NextToken {t} is not valid")))
    })?;
    let found: Vec<&crate::state::PlayerSession> = if let Some(id) = &body.player_session_id {
        region.players.get(id).into_iter().collect()
    } else if let Some(arn) = &body.game_session_id {
        let session = region
            .sessions
            .get(arn)
            .filter(|session| session.fleet_id == fleet_id)
            .ok_or_else(|| ActionError::not_found(format!("game session {arn} not found")))?;
        session
            .player_sessions
            .iter()
            .filter_map(|id| region.players.get(id))
            .collect()
    } else if let Some(player) = &body.player_id {
        region.player_sessions_of(player).collect()
    } else {
        return Err(ActionError::bad(
            "one of GameSessionId, PlayerId or PlayerSessionId is required",
        ));
    };
    let found: Vec<_> = found
        .into_iter()
        .filter(|p| p.fleet_id == fleet_id)
        .filter(|p| {
            body.player_session_status_filter
                .is_none_or(|s| p.status == s)
        })
        .collect();
    let page: Vec<sdk5::PlayerSession> = found
        .iter()
        .skip(offset)
        .take(limit)
        .map(|p| sdk5::PlayerSession {
            player_id: p.player_id.clone(),
            player_session_id: p.id.clone(),
            game_session_id: p.game_session_arn.clone(),
            fleet_id: p.fleet_id.clone(),
            player_data: p.player_data.clone().unwrap_or_default(),
            ip_address: p.ip_address.clone(),
            port: p.port,
            creation_time: i64::try_from(p.creation_millis).unwrap_or(i64::MAX),
            termination_time: i64::try_from(p.termination_millis.unwrap_or(0)).unwrap_or(i64::MAX),
            dns_name: p.dns_name.clone().unwrap_or_default(),
            status: Some(p.status),
        })
        .collect();
    let next_token = (offset + page.len() < found.len()).then(|| (offset + page.len()).to_string());
    reply(&sdk5::DescribePlayerSessionsResponse {
        next_token,
        player_sessions: page,
    })
}
