//! The service's state: fleets, locations, computes, aliases, queues, placements, game sessions
//! and player sessions, per Region, with the search index and the timers that drive state changes
//! (player reservations timing out, placements timing out).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::search::{self, Filter, Operand, Searchable, Sort};

/// The account id used in ARNs.
pub const ACCOUNT: &str = "000000000000";

/// A game session status. ACTIVATING, TERMINATING and ERROR arise only with connected server
/// processes; with `--auto-activate` sessions start ACTIVE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[allow(dead_code)]
pub enum GameSessionStatus {
    /// Waiting for its server process to activate it.
    Activating,
    /// Running and (policy permitting) accepting players.
    Active,
    /// Ending.
    Terminating,
    /// Ended.
    Terminated,
    /// Activation failed.
    Error,
}

impl GameSessionStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            GameSessionStatus::Activating => "ACTIVATING",
            GameSessionStatus::Active => "ACTIVE",
            GameSessionStatus::Terminating => "TERMINATING",
            GameSessionStatus::Terminated => "TERMINATED",
            GameSessionStatus::Error => "ERROR",
        }
    }
}

pub use sdk5_protocol::PlayerSessionStatus;

/// An Anywhere fleet.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Fleet {
    pub id: String,
    pub arn: String,
    pub name: String,
    pub description: Option<String>,
    pub creation_millis: u64,
    pub locations: Vec<String>,
    pub protection: String,
    pub metric_groups: Vec<String>,
    pub cost: Option<String>,
    pub creation_limit: Option<(i64, i64)>,
    /// The server processes to keep running (UpdateRuntimeConfiguration; `--launch`).
    pub runtime: RuntimeConfiguration,
}

/// One entry of a runtime configuration: a command and how many copies run at once.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ServerProcess {
    /// The executable.
    pub launch_path: String,
    /// Its arguments, separated by spaces, as GameLift passes them.
    pub parameters: Option<String>,
    /// How many copies run at once.
    pub concurrent_executions: u32,
}

/// A fleet's runtime configuration: what server processes run on each compute.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RuntimeConfiguration {
    /// The processes.
    pub server_processes: Vec<ServerProcess>,
    /// MaxConcurrentGameSessionActivations.
    pub max_concurrent_activations: Option<i64>,
    /// GameSessionActivationTimeoutSeconds.
    pub activation_timeout_seconds: Option<i64>,
}

/// A custom location.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Location {
    pub name: String,
    pub arn: String,
}

/// A registered compute.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Compute {
    pub fleet_id: String,
    pub fleet_arn: String,
    pub name: String,
    pub arn: String,
    pub ip_address: Option<String>,
    pub dns_name: Option<String>,
    pub location: String,
    pub creation_millis: u64,
    pub sdk_endpoint: String,
}

/// An auth token handed out by GetComputeAuthToken.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct AuthToken {
    pub fleet_id: String,
    pub compute_name: String,
    pub expires_millis: u64,
}

/// An alias.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Alias {
    pub id: String,
    pub arn: String,
    pub name: String,
    pub description: Option<String>,
    pub terminal: bool,
    pub fleet_id: Option<String>,
    pub message: Option<String>,
    pub creation_millis: u64,
}

/// A game session queue.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Queue {
    pub name: String,
    pub arn: String,
    pub timeout_seconds: i64,
    pub destinations: Vec<String>,
    pub allowed_locations: Option<Vec<String>>,
    pub priority_order: Option<Vec<String>>,
    pub location_order: Option<Vec<String>>,
    pub latency_policies: Vec<(i64, Option<i64>)>,
    pub custom_event_data: Option<String>,
    pub notification_target: Option<String>,
}

/// A placement status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PlacementStatus {
    Pending,
    Fulfilled,
    Cancelled,
    TimedOut,
}

impl PlacementStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            PlacementStatus::Pending => "PENDING",
            PlacementStatus::Fulfilled => "FULFILLED",
            PlacementStatus::Cancelled => "CANCELLED",
            PlacementStatus::TimedOut => "TIMED_OUT",
        }
    }
}

/// A game session placement request and its outcome.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Placement {
    pub id: String,
    pub queue_name: String,
    pub status: PlacementStatus,
    pub properties: Vec<(String, String)>,
    pub maximum_players: i64,
    pub game_session_name: Option<String>,
    pub game_session_data: Option<String>,
    pub latencies: Vec<(String, String, f64)>,
    pub desired_players: Vec<(String, Option<String>)>,
    pub location_order_override: Option<Vec<String>>,
    pub fallback: Option<String>,
    pub start_millis: u64,
    pub end_millis: Option<u64>,
    pub deadline_millis: u64,
    pub game_session_arn: Option<String>,
    pub region: String,
    pub placed_players: Vec<(String, String)>,
    /// MatchmakerData for the game session (placements FlexMatch makes).
    #[serde(default)]
    pub matchmaker_data: Option<String>,
}

/// A game session.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct GameSession {
    pub arn: String,
    /// Creation order within the Region; breaks ties in searches.
    pub seq: u64,
    pub name: Option<String>,
    pub fleet_id: String,
    pub fleet_arn: String,
    pub creation_millis: u64,
    pub termination_millis: Option<u64>,
    pub maximum_players: i64,
    /// Player sessions that are RESERVED or ACTIVE.
    pub slots_used: i64,
    pub status: GameSessionStatus,
    #[serde(with = "static_reason")]
    pub status_reason: Option<StaticText>,
    pub properties: Vec<(String, String)>,
    pub ip_address: String,
    pub dns_name: Option<String>,
    pub port: u16,
    pub accept_players: bool,
    pub protection: String,
    pub creator_id: Option<String>,
    pub game_session_data: Option<String>,
    pub matchmaker_data: Option<String>,
    pub location: String,
    pub compute_name: Option<String>,
    /// The server process hosting the session (none with auto-activation).
    pub process: Option<String>,
    /// Player session ids, in creation order.
    pub player_sessions: Vec<String>,
    /// What the creating request asked for, to check idempotent retries.
    pub request_fingerprint: String,
}

impl GameSession {
    /// Whether the search index should hold this session.
    fn searchable(&self) -> bool {
        self.status == GameSessionStatus::Active
    }
}

impl Searchable for GameSession {
    fn game_session_id(&self) -> &str {
        &self.arn
    }
    fn game_session_name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    fn maximum_sessions(&self) -> i64 {
        self.maximum_players
    }
    fn creation_time_millis(&self) -> i64 {
        self.creation_millis as i64
    }
    fn player_session_count(&self) -> i64 {
        self.slots_used
    }
    fn property(&self, key: &str) -> Option<&str> {
        self.properties
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.as_str())
    }
}

/// A player session.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PlayerSession {
    pub id: String,
    pub player_id: String,
    pub game_session_arn: String,
    pub fleet_id: String,
    pub fleet_arn: String,
    pub creation_millis: u64,
    pub termination_millis: Option<u64>,
    pub status: PlayerSessionStatus,
    pub ip_address: String,
    pub dns_name: Option<String>,
    pub port: u16,
    pub player_data: Option<String>,
}

/// The search index of one fleet's ACTIVE game sessions, by sequence number.
#[derive(Debug, Default)]
struct FleetIndex {
    by_seq: BTreeMap<u64, String>,
    by_players: BTreeSet<(i64, u64)>,
    by_maximum: BTreeSet<(i64, u64)>,
    by_property: HashMap<(String, String), BTreeSet<u64>>,
    by_name: HashMap<String, BTreeSet<u64>>,
}

impl FleetIndex {
    fn insert(&mut self, session: &GameSession) {
        let seq = session.seq;
        self.by_seq.insert(seq, session.arn.clone());
        self.by_players.insert((session.slots_used, seq));
        self.by_maximum.insert((session.maximum_players, seq));
        for (key, value) in &session.properties {
            self.by_property
                .entry((key.clone(), value.clone()))
                .or_default()
                .insert(seq);
        }
        if let Some(name) = &session.name {
            self.by_name.entry(name.clone()).or_default().insert(seq);
        }
    }

    fn remove(&mut self, session: &GameSession) {
        let seq = session.seq;
        self.by_seq.remove(&seq);
        self.by_players.remove(&(session.slots_used, seq));
        self.by_maximum.remove(&(session.maximum_players, seq));
        for (key, value) in &session.properties {
            let entry = (key.clone(), value.clone());
            if let Some(set) = self.by_property.get_mut(&entry) {
                set.remove(&seq);
                if set.is_empty() {
                    self.by_property.remove(&entry);
                }
            }
        }
        if let Some(name) = &session.name
            && let Some(set) = self.by_name.get_mut(name)
        {
            set.remove(&seq);
            if set.is_empty() {
                self.by_name.remove(name);
            }
        }
    }
}

/// Things that happen at a time.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum Timer {
    /// A RESERVED player session times out.
    PlayerReservation {
        region: String,
        player_session: String,
    },
    /// A pending placement times out.
    PlacementDeadline { region: String, placement: String },
    /// A game session that its process has not activated goes to ERROR.
    Activation {
        region: String,
        game_session: String,
    },
    /// Checks that a process has reported healthy recently.
    Health { region: String, process: String },
    /// A process whose connections dropped is given up.
    ReconnectGrace {
        region: String,
        process: String,
        since: u64,
    },
    /// A process told to terminate has not called ProcessEnding in time.
    TerminationDeadline { region: String, process: String },
}

/// How many frames may wait to be written to one server-process connection. A client that does
/// not read its socket fills this, and is then closed with 1008 instead of being buffered without
/// limit.
pub const OUTBOUND_FRAMES: usize = 256;

/// The writing side of one server-process connection: a bounded queue of text frames, and a
/// close signal the connection's writer obeys after the frames already queued.
#[derive(Debug, Clone)]
pub struct ConnectionLink {
    sender: tokio::sync::mpsc::Sender<String>,
    close: std::sync::Arc<tokio::sync::watch::Sender<Option<(u16, String)>>>,
}

/// The receiving side of a [`ConnectionLink`], owned by the connection's task.
#[derive(Debug)]
pub struct ConnectionOutbox {
    /// Frames to write.
    pub frames: tokio::sync::mpsc::Receiver<String>,
    /// Set when the connection is to be closed, with the code and reason.
    pub close: tokio::sync::watch::Receiver<Option<(u16, String)>>,
}

impl ConnectionLink {
    /// A new link and its outbox.
    pub fn new() -> (Self, ConnectionOutbox) {
        let (sender, frames) = tokio::sync::mpsc::channel(OUTBOUND_FRAMES);
        let (close, close_receiver) = tokio::sync::watch::channel(None);
        (
            Self {
                sender,
                close: std::sync::Arc::new(close),
            },
            ConnectionOutbox {
                frames,
                close: close_receiver,
            },
        )
    }

    /// Queues a frame; `false` when the connection is gone or its queue is full (then the
    /// connection is told to close with 1008: its client does not read).
    pub fn send(&self, frame: String) -> bool {
        match self.sender.try_send(frame) {
            Ok(()) => true,
            Err(tokio::sync::mpsc::error::TrySendError::Full(_)) => {
                self.close(
                    1008,
                    format!("{OUTBOUND_FRAMES} frames wait to be written: the client does not read its socket"),
                );
                false
            }
            Err(tokio::sync::mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    /// Tells the connection to close with `code` after the frames already queued; `false` if it
    /// is gone.
    pub fn close(&self, code: u16, reason: impl Into<String>) -> bool {
        if self.sender.is_closed() {
            return false;
        }
        self.close.send_replace(Some((code, reason.into())));
        true
    }
}

/// One WebSocket connection of a server process.
#[derive(Debug)]
pub struct ProcessConnection {
    pub id: u64,
    pub idempotency_token: Option<String>,
    /// Frames to write to this connection.
    pub link: ConnectionLink,
}

/// A game server process connected over the Server SDK 5 WebSocket.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Process {
    pub id: String,
    pub fleet_id: String,
    pub compute_name: String,
    pub location: String,
    pub ip_address: String,
    pub dns_name: Option<String>,
    /// Live connections, newest last; pushes go to the newest. Not persisted: after a restart
    /// a process reconnects.
    #[serde(skip)]
    pub connections: Vec<ProcessConnection>,
    pub activated: bool,
    pub port: u16,
    pub log_paths: Vec<String>,
    pub healthy: bool,
    pub last_healthy_millis: u64,
    /// When the last heartbeat arrived, healthy or not.
    pub last_heartbeat_millis: Option<u64>,
    pub game_session: Option<String>,
    /// TerminateProcess was sent; the reason the session will end with, if any.
    #[serde(with = "static_reason_terminating")]
    pub terminating: Option<Option<StaticText>>,
    /// ProcessEnding was received.
    pub ended: bool,
    pub disconnected_since: Option<u64>,
    /// Auth token a RefreshConnection handed out, accepted for a second live connection.
    pub refresh_token: Option<String>,
    /// Answers to recent requests, by RequestId, so retries are not applied twice.
    #[serde(skip)]
    pub answered: std::collections::VecDeque<(String, String)>,
}

impl Process {
    /// Sends a push to the newest connection.
    pub fn push(&self, message: String) {
        if let Some(connection) = self.connections.last() {
            connection.link.send(message);
        }
    }

    /// Whether a new game session may be placed on this process.
    pub fn is_idle(&self) -> bool {
        self.activated
            && self.healthy
            && self.game_session.is_none()
            && self.terminating.is_none()
            && !self.ended
            && !self.connections.is_empty()
    }
}

/// One Region's resources.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Region {
    pub name: String,
    pub fleets: BTreeMap<String, Fleet>,
    pub locations: BTreeMap<String, Location>,
    pub computes: BTreeMap<(String, String), Compute>,
    pub aliases: BTreeMap<String, Alias>,
    pub queues: BTreeMap<String, Queue>,
    pub placements: HashMap<String, Placement>,
    /// Placement ids ever used, which can never be used again.
    pub used_placement_ids: BTreeSet<String>,
    pub sessions: HashMap<String, GameSession>,
    /// Server processes connected over the Server SDK 5 WebSocket, by process id.
    pub processes: BTreeMap<String, Process>,
    /// Session invites (the local-only `GameLiftLocal.` extension), by invite id.
    pub invites: HashMap<String, Invite>,
    /// Finished player sessions and terminated game sessions, by when they ended, so they are
    /// forgotten once the retention period has passed.
    #[serde(default)]
    finished_players: BTreeSet<(u64, String)>,
    #[serde(default)]
    finished_sessions: BTreeSet<(u64, String)>,
    /// Rule sets, matchmaking configurations, tickets and matches.
    #[serde(default)]
    pub matchmaking: crate::flexmatch::Matchmaking,
    /// Game sessions of each fleet, by sequence number (all statuses); kept by
    /// [`Region::insert_session`].
    sessions_by_fleet: HashMap<String, BTreeMap<u64, String>>,
    pub players: HashMap<String, PlayerSession>,
    /// Player session ids of each player; kept by [`Region::insert_player`].
    players_by_player_id: HashMap<String, Vec<String>>,
    /// (fleet, custom ID string) -> game session ARN.
    pub idempotency: HashMap<(String, String), String>,
    /// Derived from `sessions`; rebuilt after loading.
    #[serde(skip)]
    index: HashMap<String, FleetIndex>,
    pub next_seq: u64,
    /// Above this many candidates, a search sorted by a count walks that count's index instead
    /// of sorting the candidates.
    pub sorted_index_threshold: usize,
}

impl Region {
    /// An empty Region.
    pub fn new(name: &str) -> Self {
        Region {
            name: name.to_string(),
            sorted_index_threshold: 256,
            ..Region::default()
        }
    }

    /// Rebuilds the search index (not stored) from the sessions, after loading.
    pub(crate) fn rebuild_index(&mut self) {
        self.index.clear();
        for session in self.sessions.values() {
            if session.searchable() {
                self.index
                    .entry(session.fleet_id.clone())
                    .or_default()
                    .insert(session);
            }
        }
    }

    /// A fleet's game sessions (every status), oldest first.
    pub fn fleet_sessions<'r>(&'r self, fleet_id: &str) -> impl Iterator<Item = &'r GameSession> {
        self.fleet_sessions_from(fleet_id, 0)
    }

    /// A fleet's game sessions (every status) from sequence number `from` on, oldest first.
    pub fn fleet_sessions_from<'r>(
        &'r self,
        fleet_id: &str,
        from: u64,
    ) -> impl Iterator<Item = &'r GameSession> {
        self.sessions_by_fleet
            .get(fleet_id)
            .into_iter()
            .flat_map(move |by_seq| by_seq.range(from..).map(|(_, arn)| arn))
            .filter_map(|arn| self.sessions.get(arn))
    }

    /// A player's player sessions, oldest first.
    pub fn player_sessions_of<'r>(
        &'r self,
        player_id: &str,
    ) -> impl Iterator<Item = &'r PlayerSession> {
        self.players_by_player_id
            .get(player_id)
            .into_iter()
            .flatten()
            .filter_map(|id| self.players.get(id))
    }

    /// Adds a new player session, indexed by its player.
    pub fn insert_player(&mut self, player: PlayerSession) {
        self.players_by_player_id
            .entry(player.player_id.clone())
            .or_default()
            .push(player.id.clone());
        self.players.insert(player.id.clone(), player);
    }

    /// Forgets player sessions that ended, and game sessions that terminated, before `before`
    /// (a player session only once its game session is gone or still running: a terminated
    /// session is forgotten with its players). Returns how many records were forgotten.
    pub fn forget_finished(&mut self, before: u64) -> usize {
        let mut forgotten = 0;
        while let Some((ended, arn)) = self.finished_sessions.first().cloned() {
            if ended >= before {
                break;
            }
            self.finished_sessions.pop_first();
            let Some(session) = self.sessions.remove(&arn) else {
                continue;
            };
            forgotten += 1;
            if let Some(by_seq) = self.sessions_by_fleet.get_mut(&session.fleet_id) {
                by_seq.remove(&session.seq);
            }
            if let Some(index) = self.index.get_mut(&session.fleet_id)
                && session.searchable()
            {
                index.remove(&session);
            }
            if let Some((_, id)) = arn.rsplit_once('/') {
                let key = (session.fleet_id.clone(), id.to_string());
                if self.idempotency.get(&key) == Some(&arn) {
                    self.idempotency.remove(&key);
                }
            }
            for id in &session.player_sessions {
                forgotten += usize::from(self.forget_player(id));
            }
        }
        while let Some((ended, id)) = self.finished_players.first().cloned() {
            if ended >= before {
                break;
            }
            self.finished_players.pop_first();
            if self.forget_player(&id) {
                forgotten += 1;
            }
        }
        forgotten
    }

    fn forget_player(&mut self, id: &str) -> bool {
        let Some(player) = self.players.get(id) else {
            return false;
        };
        if player.status.holds_slot() {
            return false;
        }
        let Some(player) = self.players.remove(id) else {
            return false;
        };
        if let Some(ids) = self.players_by_player_id.get_mut(&player.player_id) {
            ids.retain(|other| other != id);
            if ids.is_empty() {
                self.players_by_player_id.remove(&player.player_id);
            }
        }
        if let Some(session) = self.sessions.get_mut(&player.game_session_arn) {
            session.player_sessions.retain(|other| other != id);
        }
        true
    }

    /// Adds a new game session.
    pub fn insert_session(&mut self, session: GameSession) {
        self.sessions_by_fleet
            .entry(session.fleet_id.clone())
            .or_default()
            .insert(session.seq, session.arn.clone());
        if session.searchable() {
            self.index
                .entry(session.fleet_id.clone())
                .or_default()
                .insert(&session);
        }
        self.sessions.insert(session.arn.clone(), session);
    }

    /// Changes a game session, keeping the search index in step. Returns what `change` returned,
    /// or `None` if there is no such session.
    pub fn update_session<R>(
        &mut self,
        arn: &str,
        change: impl FnOnce(&mut GameSession) -> R,
    ) -> Option<R> {
        let session = self.sessions.get_mut(arn)?;
        let index = self.index.entry(session.fleet_id.clone()).or_default();
        if session.searchable() {
            index.remove(session);
        }
        let was_terminated = session.status == GameSessionStatus::Terminated;
        let result = change(session);
        if session.searchable() {
            index.insert(session);
        }
        if !was_terminated && session.status == GameSessionStatus::Terminated {
            let ended = session
                .termination_millis
                .unwrap_or(session.creation_millis);
            self.finished_sessions.insert((ended, arn.to_string()));
        }
        Some(result)
    }

    /// Moves a player session to `status`, adjusting its game session's slot count.
    pub fn set_player_status(&mut self, id: &str, status: PlayerSessionStatus, now: u64) {
        let Some(player) = self.players.get_mut(id) else {
            return;
        };
        let before = player.status;
        if before == status {
            return;
        }
        player.status = status;
        if !status.holds_slot() {
            player.termination_millis = Some(now);
            self.finished_players.insert((now, id.to_string()));
        }
        tracing::info!(target: "gamelift_local", player_session = id, player = %player.player_id, game_session = %player.game_session_arn, status = status.as_str(), "player session {}", status.as_str());
        let delta = i64::from(status.holds_slot()) - i64::from(before.holds_slot());
        if delta != 0 {
            let arn = player.game_session_arn.clone();
            self.update_session(&arn, |session| session.slots_used += delta);
        }
    }

    /// The candidate sessions of a search: the narrowest set the filter's equality conditions allow.
    fn candidates<'a>(&'a self, index: &'a FleetIndex, filter: Option<&Filter>) -> Candidates<'a> {
        static NONE: BTreeSet<u64> = BTreeSet::new();
        let Some(filter) = filter else {
            return Candidates::All;
        };
        let mut best: Option<&BTreeSet<u64>> = None;
        for term in filter.conjuncts() {
            let Filter::Condition(operand, search::Comparator::Eq, search::Literal::Text(text)) =
                term
            else {
                continue;
            };
            let set = match operand {
                Operand::Property(key) => index
                    .by_property
                    .get(&(key.clone(), text.clone()))
                    .unwrap_or(&NONE),
                Operand::GameSessionName => index.by_name.get(text).unwrap_or(&NONE),
                Operand::GameSessionId => {
                    // An id names at most one session.
                    return match self.sessions.get(text) {
                        Some(session) if index.by_seq.contains_key(&session.seq) => {
                            Candidates::One(session.seq)
                        }
                        _ => Candidates::Set(&NONE),
                    };
                }
                _ => continue,
            };
            if best.is_none_or(|current| set.len() < current.len()) {
                best = Some(set);
            }
        }
        best.map_or(Candidates::All, Candidates::Set)
    }

    /// Candidate sequence numbers after `after`, in creation order.
    fn candidate_seqs<'a>(
        index: &'a FleetIndex,
        candidates: &Candidates<'a>,
        after: Option<u64>,
    ) -> Box<dyn DoubleEndedIterator<Item = u64> + 'a> {
        use std::ops::Bound::{Excluded, Unbounded};
        let from = after.map_or(Unbounded, Excluded);
        match candidates {
            Candidates::All => Box::new(index.by_seq.range((from, Unbounded)).map(|(seq, _)| *seq)),
            Candidates::Set(set) => Box::new(set.range((from, Unbounded)).copied()),
            Candidates::One(seq) => Box::new(
                std::iter::once(*seq).filter(move |seq| after.is_none_or(|after| *seq > after)),
            ),
        }
    }

    fn accepts(session: &GameSession, location: Option<&str>, filter: Option<&Filter>) -> bool {
        location.is_none_or(|location| session.location == location)
            && filter.is_none_or(|filter| filter.matches(session))
    }

    /// Searches one fleet's ACTIVE game sessions in one pass, looking at no more than `budget`
    /// sessions: returns one page and whether more follow, or `None` when the page needs more
    /// than the budget (then [`Region::search_keys`] and [`Region::search_page`] do the work in
    /// bounded steps).
    #[allow(clippy::too_many_arguments)]
    pub fn search(
        &self,
        fleet_id: &str,
        location: Option<&str>,
        filter: Option<&Filter>,
        sort: Option<&Sort>,
        offset: usize,
        limit: usize,
        budget: usize,
    ) -> Option<(Vec<&GameSession>, bool)> {
        let Some(index) = self.index.get(fleet_id) else {
            return Some((Vec::new(), false));
        };
        let session_at = |seq: u64| {
            index
                .by_seq
                .get(&seq)
                .and_then(|arn| self.sessions.get(arn))
        };
        let wanted = offset.saturating_add(limit).saturating_add(1);
        let candidates = self.candidates(index, filter);
        let candidate_count = match candidates {
            Candidates::All => index.by_seq.len(),
            Candidates::Set(set) => set.len(),
            Candidates::One(_) => 1,
        };
        let all_seqs = Self::candidate_seqs(index, &candidates, None);

        // Walk sessions in the requested order, as lazily as the order allows.
        let ordered: Box<dyn Iterator<Item = &GameSession> + '_> = match sort {
            None => Box::new(all_seqs.filter_map(session_at)),
            Some(sort) if sort.operand == Operand::CreationTimeMillis => {
                // Sequence order is creation order.
                if sort.ascending {
                    Box::new(all_seqs.filter_map(session_at))
                } else {
                    Box::new(all_seqs.rev().filter_map(session_at))
                }
            }
            Some(sort)
                if matches!(
                    sort.operand,
                    Operand::PlayerSessionCount | Operand::MaximumSessions
                ) && candidate_count > self.sorted_index_threshold =>
            {
                let set = if sort.operand == Operand::PlayerSessionCount {
                    &index.by_players
                } else {
                    &index.by_maximum
                };
                if sort.ascending {
                    Box::new(set.iter().filter_map(move |(_, seq)| session_at(*seq)))
                } else {
                    Box::new(
                        set.iter()
                            .rev()
                            .filter_map(move |(_, seq)| session_at(*seq)),
                    )
                }
            }
            Some(sort) => {
                if candidate_count > budget {
                    return None;
                }
                let sessions: Vec<&GameSession> = all_seqs
                    .filter_map(session_at)
                    .filter(|s| Self::accepts(s, location, filter))
                    .collect();
                Box::new(sort_sessions(sessions, sort).into_iter())
            }
        };
        let mut out: Vec<&GameSession> = Vec::new();
        for (looked, session) in ordered.enumerate() {
            if looked >= budget {
                return None;
            }
            if Self::accepts(session, location, filter) {
                out.push(session);
                if out.len() >= wanted {
                    break;
                }
            }
        }
        let more = out.len() > offset.saturating_add(limit);
        let page = out.into_iter().skip(offset).take(limit).collect();
        Some((page, more))
    }

    /// One bounded step of a search too large for one pass: the sort keys of the matching
    /// sessions among the next `step` candidates after sequence `after`, and where the next step
    /// starts (`None` when the walk is over).
    pub fn search_keys(
        &self,
        fleet_id: &str,
        location: Option<&str>,
        filter: Option<&Filter>,
        sort: Option<&Sort>,
        after: Option<u64>,
        step: usize,
    ) -> (Vec<SearchKey>, Option<u64>) {
        let Some(index) = self.index.get(fleet_id) else {
            return (Vec::new(), None);
        };
        let candidates = self.candidates(index, filter);
        let mut keys = Vec::new();
        let mut last = None;
        for seq in Self::candidate_seqs(index, &candidates, after).take(step) {
            last = Some(seq);
            let Some(session) = index
                .by_seq
                .get(&seq)
                .and_then(|arn| self.sessions.get(arn))
            else {
                continue;
            };
            if Self::accepts(session, location, filter) {
                keys.push(SearchKey {
                    value: sort.and_then(|sort| {
                        search::operand_value(&sort.operand, session).map(OwnedSortValue::from)
                    }),
                    seq,
                });
            }
        }
        let more = last.is_some_and(|last| {
            Self::candidate_seqs(index, &candidates, Some(last))
                .next()
                .is_some()
        });
        (keys, if more { last } else { None })
    }

    /// The page at `offset` of sessions `ordered` (the sorted keys of a stepped search), skipping
    /// sessions that ended or stopped matching since their key was taken; and whether more follow.
    pub fn search_page(
        &self,
        fleet_id: &str,
        ordered: &[SearchKey],
        location: Option<&str>,
        filter: Option<&Filter>,
        offset: usize,
        limit: usize,
    ) -> (Vec<&GameSession>, bool) {
        let Some(index) = self.index.get(fleet_id) else {
            return (Vec::new(), false);
        };
        let mut page = Vec::new();
        let mut rest = ordered.iter().skip(offset);
        for key in rest.by_ref() {
            if let Some(session) = index
                .by_seq
                .get(&key.seq)
                .and_then(|arn| self.sessions.get(arn))
                && Self::accepts(session, location, filter)
            {
                page.push(session);
                if page.len() == limit {
                    break;
                }
            }
        }
        (page, rest.next().is_some())
    }
}

/// The candidate sessions of a search.
enum Candidates<'a> {
    /// Every session of the fleet.
    All,
    /// The sessions in an index set.
    Set(&'a BTreeSet<u64>),
    /// One session.
    One(u64),
}

/// A session's sort key, taken in one step of a stepped search.
#[derive(Debug, Clone)]
pub struct SearchKey {
    /// The sort operand's value (`None` without a sort, or when the session has no value).
    pub value: Option<OwnedSortValue>,
    /// The session's sequence number (creation order).
    pub seq: u64,
}

/// An owned [`search::SortValue`].
#[derive(Debug, Clone, PartialEq, PartialOrd)]
pub enum OwnedSortValue {
    /// A number.
    Number(f64),
    /// A boolean.
    Bool(bool),
    /// A string.
    Text(String),
}

impl From<search::SortValue<'_>> for OwnedSortValue {
    fn from(value: search::SortValue<'_>) -> Self {
        match value {
            search::SortValue::Number(n) => OwnedSortValue::Number(n),
            search::SortValue::Bool(b) => OwnedSortValue::Bool(b),
            search::SortValue::Text(t) => OwnedSortValue::Text(t.to_string()),
        }
    }
}

/// Orders the keys of a stepped search as [`sort_sessions`] orders sessions.
pub fn sort_keys(mut keys: Vec<SearchKey>, sort: Option<&Sort>) -> Vec<SearchKey> {
    keys.sort_by_key(|key| key.seq);
    let Some(sort) = sort else {
        return keys;
    };
    let (mut valued, missing): (Vec<SearchKey>, Vec<SearchKey>) =
        keys.into_iter().partition(|key| key.value.is_some());
    valued.sort_by(|a, b| {
        a.value
            .partial_cmp(&b.value)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.seq.cmp(&b.seq))
    });
    if !sort.ascending {
        valued.reverse();
    }
    valued.extend(missing);
    valued
}

/// Sorts by `sort`, ties by creation order; sessions without a value come last, in creation order.
pub fn sort_sessions<'a>(sessions: Vec<&'a GameSession>, sort: &Sort) -> Vec<&'a GameSession> {
    let (mut valued, mut missing): (Vec<&GameSession>, Vec<&GameSession>) = sessions
        .into_iter()
        .partition(|session| search::operand_value(&sort.operand, *session).is_some());
    let ascending = Sort {
        operand: sort.operand.clone(),
        ascending: true,
    };
    valued.sort_by(|a, b| search::compare(&ascending, *a, *b).then(a.seq.cmp(&b.seq)));
    if !sort.ascending {
        valued.reverse();
    }
    missing.sort_by_key(|session| session.seq);
    valued.extend(missing);
    valued
}

/// One invite.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Invite {
    /// Its id.
    pub id: String,
    /// Who invited.
    pub from: String,
    /// Who is invited.
    pub to: String,
    /// The game session.
    pub game_session_arn: String,
    /// When it was sent, for ordering.
    pub seq: u64,
}

/// Everything the service holds: the Regions, the pending timers and the issued tokens.
#[derive(Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct State {
    pub(crate) regions: HashMap<String, Region>,
    pub(crate) timers: BTreeMap<(u64, u64), Timer>,
    pub(crate) timer_seq: u64,
    pub(crate) tokens: HashMap<String, AuthToken>,
    pub(crate) connection_seq: u64,
}

pub(crate) fn fleet_arn(region: &str, fleet_id: &str) -> String {
    format!("arn:aws:gamelift:{region}:{ACCOUNT}:fleet/{fleet_id}")
}

/// The last path segment after `marker` in an ARN, or the input itself.
pub(crate) fn strip_arn(input: &str, marker: &str) -> String {
    if input.starts_with("arn:")
        && let Some(position) = input.rfind(marker)
    {
        return input[position + marker.len()..].to_string();
    }
    input.to_string()
}

pub(crate) fn new_id(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::search::{Comparator, Literal, parse_filter};

    fn session(
        seq: u64,
        players: i64,
        maximum: i64,
        mode: Option<&str>,
        name: Option<&str>,
    ) -> GameSession {
        GameSession {
            arn: format!("arn:aws:gamelift:r::gamesession/fleet-a/g{seq}"),
            seq,
            name: name.map(str::to_string),
            fleet_id: "fleet-a".into(),
            fleet_arn: String::new(),
            creation_millis: 1_000 + seq * 10,
            termination_millis: None,
            maximum_players: maximum,
            slots_used: players,
            status: GameSessionStatus::Active,
            status_reason: None,
            properties: mode
                .map(|m| vec![("mode".to_string(), m.to_string())])
                .unwrap_or_default(),
            ip_address: "127.0.0.1".into(),
            dns_name: None,
            port: 7777,
            accept_players: true,
            protection: "NoProtection".into(),
            creator_id: None,
            game_session_data: None,
            matchmaker_data: None,
            location: if seq.is_multiple_of(4) {
                "custom-b".into()
            } else {
                "custom-a".into()
            },
            compute_name: None,
            process: None,
            player_sessions: Vec::new(),
            request_fingerprint: String::new(),
        }
    }

    fn spec() -> impl Strategy<Value = (i64, i64, Option<&'static str>, Option<&'static str>, bool)>
    {
        (
            0i64..5,
            1i64..5,
            prop::option::of(prop::sample::select(vec!["ctf", "ffa", "duel"])),
            prop::option::of(prop::sample::select(vec!["alpha", "beta"])),
            prop::bool::weighted(0.85),
        )
    }

    fn query_filter() -> impl Strategy<Value = Option<Filter>> {
        let condition = prop_oneof![
            prop::sample::select(vec!["ctf", "ffa", "duel", "none"]).prop_map(|m| {
                Filter::Condition(
                    Operand::Property("mode".into()),
                    Comparator::Eq,
                    Literal::Text(m.into()),
                )
            }),
            prop::sample::select(vec!["alpha", "beta"]).prop_map(|n| Filter::Condition(
                Operand::GameSessionName,
                Comparator::Eq,
                Literal::Text(n.into())
            )),
            (0i64..5).prop_map(|n| Filter::Condition(
                Operand::PlayerSessionCount,
                Comparator::Ge,
                Literal::Number(n as f64)
            )),
            any::<bool>().prop_map(|b| Filter::Condition(
                Operand::HasAvailablePlayerSessions,
                Comparator::Eq,
                Literal::Bool(b)
            )),
        ];
        prop::option::of(prop::collection::vec(condition, 1..3).prop_map(|terms| {
            if terms.len() == 1 {
                terms.into_iter().next().unwrap()
            } else {
                Filter::And(terms)
            }
        }))
    }

    fn query_sort() -> impl Strategy<Value = Option<Sort>> {
        prop::option::of(
            (
                prop::sample::select(vec![
                    Operand::CreationTimeMillis,
                    Operand::PlayerSessionCount,
                    Operand::MaximumSessions,
                    Operand::GameSessionName,
                    Operand::Property("mode".into()),
                ]),
                any::<bool>(),
            )
                .prop_map(|(operand, ascending)| Sort { operand, ascending }),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// The indexed search returns exactly what filtering and sorting every session would.
        #[test]
        fn indexed_search_matches_a_full_scan(
            specs in prop::collection::vec(spec(), 0..40),
            filter in query_filter(),
            sort in query_sort(),
            location in prop::option::of(prop::sample::select(vec!["custom-a", "custom-b"])),
            offset in 0usize..10,
            limit in 1usize..20,
            churn in prop::collection::vec((0usize..40, 0i64..5), 0..10),
            use_sorted_index in any::<bool>(),
        ) {
            let mut region = Region::new("r");
            if use_sorted_index {
                region.sorted_index_threshold = 0;
            }
            for (index, (players, maximum, mode, name, active)) in specs.iter().enumerate() {
                let mut s = session(index as u64 + 1, (*players).min(*maximum), *maximum, *mode, *name);
                if !active {
                    s.status = GameSessionStatus::Terminated;
                }
                region.insert_session(s);
            }
            // Change player counts after indexing, as joins and leaves do.
            for (index, players) in churn {
                if let Some(arn) = region.sessions.values().map(|s| s.arn.clone()).nth(index) {
                    region.update_session(&arn, |s| s.slots_used = players.min(s.maximum_players));
                }
            }
            let (page, more) = region
                .search("fleet-a", location, filter.as_ref(), sort.as_ref(), offset, limit, usize::MAX)
                .expect("an unbounded pass finishes");
            let got: Vec<u64> = page.iter().map(|s| s.seq).collect();

            // The stepped search (small steps here) finds the same page.
            let mut keys = Vec::new();
            let mut after = None;
            loop {
                let (step, next) =
                    region.search_keys("fleet-a", location, filter.as_ref(), sort.as_ref(), after, 3);
                keys.extend(step);
                after = next;
                if after.is_none() {
                    break;
                }
            }
            let ordered = sort_keys(keys, sort.as_ref());
            let (stepped, stepped_more) =
                region.search_page("fleet-a", &ordered, location, filter.as_ref(), offset, limit);
            prop_assert_eq!(stepped.iter().map(|s| s.seq).collect::<Vec<_>>(), got.clone());
            prop_assert_eq!(stepped_more, more);
            // A pass with a budget too small for the page hands over to the stepped search.
            if let Some((small, _)) = region.search(
                "fleet-a", location, filter.as_ref(), sort.as_ref(), offset, limit, 2,
            ) {
                prop_assert_eq!(small.iter().map(|s| s.seq).collect::<Vec<_>>(), got.clone());
            }

            let mut all: Vec<&GameSession> = region
                .sessions
                .values()
                .filter(|s| s.status == GameSessionStatus::Active)
                .filter(|s| location.is_none_or(|l| s.location == l))
                .filter(|s| filter.as_ref().is_none_or(|f| f.matches(*s)))
                .collect();
            all.sort_by_key(|s| s.seq);
            let ordered = match &sort {
                Some(sort) => sort_sessions(all, sort),
                None => all,
            };
            let expected: Vec<u64> = ordered.iter().skip(offset).take(limit).map(|s| s.seq).collect();
            prop_assert_eq!(got, expected);
        }
    }

    #[test]
    fn a_documented_filter_evaluates() {
        let filter =
            parse_filter("maximumSessions>=4 AND hasAvailablePlayerSessions=true").unwrap();
        assert!(filter.matches(&session(1, 1, 4, None, None)));
        assert!(!filter.matches(&session(2, 4, 4, None, None)));
        assert!(!filter.matches(&session(3, 0, 3, None, None)));
    }
}

/// A text from a fixed set (a status reason). An alias, so serde does not take the field for one
/// borrowed from its input.
pub type StaticText = &'static str;

/// The status reasons the service writes, as the `'static` texts the code uses.
const STATIC_REASONS: &[&str] = &[
    "FORCE_TERMINATED",
    "TRIGGERED_ON_PROCESS_TERMINATE",
    "INTERRUPTED",
];

fn static_text(text: &str) -> Option<&'static str> {
    STATIC_REASONS.iter().copied().find(|known| *known == text)
}

mod static_reason {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(
        value: &Option<&'static str>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        value.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<&'static str>, D::Error> {
        Ok(Option::<String>::deserialize(deserializer)?.and_then(|text| super::static_text(&text)))
    }
}

mod static_reason_terminating {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(
        value: &Option<Option<&'static str>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        value.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Option<&'static str>>, D::Error> {
        Ok(Option::<Option<String>>::deserialize(deserializer)?
            .map(|reason| reason.and_then(|text| super::static_text(&text))))
    }
}
