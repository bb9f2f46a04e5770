//! The operations: one handler per control-plane operation, independent of the wire protocol.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::clock::Clock;
use crate::error::ServiceError;
use crate::search;
use crate::state::{
    ACCOUNT, Alias, AuthToken, Compute, Fleet, GameSession, GameSessionStatus, Location, Placement,
    PlacementStatus, PlayerSession, PlayerSessionStatus, Queue, Region, RuntimeConfiguration,
    ServerProcess, Timer, seconds,
};
use crate::validate::{self as v, Input, Int, Str};
use crate::wire::Value;

/// Every operation the service answers.
pub const OPERATIONS: &[&str] = &[
    "CreateGameSession",
    "DescribeGameSessions",
    "DescribeGameSessionDetails",
    "SearchGameSessions",
    "CreatePlayerSession",
    "CreatePlayerSessions",
    "DescribePlayerSessions",
    "UpdateGameSession",
    "TerminateGameSession",
    "CreateFleet",
    "DescribeFleetAttributes",
    "ListFleets",
    "DeleteFleet",
    "CreateLocation",
    "ListLocations",
    "RegisterCompute",
    "DeregisterCompute",
    "DescribeCompute",
    "ListCompute",
    "GetComputeAuthToken",
    "CreateAlias",
    "DescribeAlias",
    "ResolveAlias",
    "ListAliases",
    "CreateGameSessionQueue",
    "DescribeGameSessionQueues",
    "StartGameSessionPlacement",
    "DescribeGameSessionPlacement",
    "StopGameSessionPlacement",
    "DescribeRuntimeConfiguration",
    "UpdateRuntimeConfiguration",
];

/// At most this many server processes run at once on one compute, as on a GameLift instance.
pub const MAX_CONCURRENT_PROCESSES: u32 = 50;

/// The most players a game session can hold (a service limit that cannot be raised).
pub const MAX_PLAYERS: i64 = 200;
/// Results per page when a request gives no `Limit`.
const DEFAULT_LIMIT: usize = 100;
/// SearchGameSessions returns at most this many sessions per call.
const SEARCH_LIMIT: usize = 20;
/// How long a compute auth token stays valid.
const AUTH_TOKEN_MILLIS: u64 = 15 * 60 * 1000;

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
            sdk_endpoint: "ws://127.0.0.1:9080".into(),
            require_auth_token: false,
            activation_timeout_millis: 60_000,
            heartbeat_period_millis: 60_000,
            reconnect_grace_millis: 30_000,
            termination_grace_millis: 300_000,
            launch: Vec::new(),
        }
    }
}

pub(crate) struct State {
    pub(crate) regions: HashMap<String, Region>,
    pub(crate) timers: BTreeMap<(u64, u64), Timer>,
    pub(crate) timer_seq: u64,
    pub(crate) tokens: HashMap<String, AuthToken>,
    pub(crate) connection_seq: u64,
}

/// The control plane: every operation, over shared state guarded by one lock, so each request is
/// applied whole or not at all.
pub struct Service {
    pub(crate) config: ServiceConfig,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) state: Mutex<State>,
    /// When the service started, for the health report.
    pub(crate) started: std::time::Instant,
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

fn op_tag(operation: &str) -> u32 {
    operation.bytes().fold(2166136261u32, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(16777619)
    })
}

fn next_token(operation: &str, offset: usize) -> String {
    format!("{:08x}-{offset}", op_tag(operation))
}

fn token_offset(operation: &str, token: Option<&str>) -> Result<usize, ServiceError> {
    let Some(token) = token else {
        return Ok(0);
    };
    let invalid =
        || ServiceError::invalid(format!("NextToken '{token}' is not valid for {operation}"));
    let (tag, offset) = token.split_once('-').ok_or_else(invalid)?;
    if tag != format!("{:08x}", op_tag(operation)) {
        return Err(invalid());
    }
    offset.parse().map_err(|_| invalid())
}

/// A listing's output: `key` holds the page's items, `NextToken` the next page (if any).
fn page_output(key: &'static str, items: impl Into<Value>, next: Option<String>) -> Value {
    Value::map().with(key, items).with_opt("NextToken", next)
}

/// One page of `items`, and the token for the next page.
fn paginate<T: Clone>(
    operation: &str,
    items: &[T],
    limit: Option<i64>,
    token: Option<&str>,
) -> Result<(Vec<T>, Option<String>), ServiceError> {
    let offset = token_offset(operation, token)?;
    let limit = limit.map_or(DEFAULT_LIMIT, |limit| limit.max(1) as usize);
    let page: Vec<T> = items.iter().skip(offset).take(limit).cloned().collect();
    let next =
        (offset + page.len() < items.len()).then(|| next_token(operation, offset + page.len()));
    Ok((page, next))
}

const FLEET_ID: Str = Str::len(1, 512).pattern(&v::FLEET_ID_OR_ARN);
const ALIAS_ID: Str = Str::len(1, 512).pattern(&v::ALIAS_ID_OR_ARN);
const GAME_SESSION_ID: Str = Str::len(1, 512).pattern(&v::ARN_STRING);
const LOCATION: Str = Str::len(1, 64).pattern(&v::LOCATION);
const NAME: Str = Str::len(1, 1024);
const NEXT_TOKEN: Str = Str::len(1, 1024);
const LIMIT: Int = Int::at_least(1);
const PLAYER_ID: Str = Str::len(1, 1024).sensitive();
const PLAYER_DATA: Str = Str::len(1, 2048).sensitive();
const ID_STRING: Str = Str::len(1, 48).pattern(&v::ID_STRING);
const COMPUTE_NAME_OR_ARN: Str = Str::len(1, 1024).pattern(&v::COMPUTE_NAME_OR_ARN);

impl Service {
    /// A service with the default fleet and location in the configured Region.
    pub fn new(config: ServiceConfig, clock: Arc<dyn Clock>) -> Self {
        let now = clock.now_millis();
        let mut region = Region::new(&config.region);
        region.locations.insert(
            config.location.clone(),
            Location {
                name: config.location.clone(),
                arn: format!(
                    "arn:aws:gamelift:{}:{ACCOUNT}:location/{}",
                    config.region, config.location
                ),
            },
        );
        region.fleets.insert(
            config.fleet_id.clone(),
            Fleet {
                id: config.fleet_id.clone(),
                arn: fleet_arn(&config.region, &config.fleet_id),
                name: "gamelift-local default fleet".into(),
                description: Some("Created by gamelift-local at start".into()),
                creation_millis: now,
                locations: vec![config.location.clone()],
                protection: "NoProtection".into(),
                metric_groups: vec!["default".into()],
                cost: None,
                creation_limit: None,
                runtime: RuntimeConfiguration {
                    server_processes: config.launch.clone(),
                    ..Default::default()
                },
            },
        );
        let mut regions = HashMap::new();
        regions.insert(config.region.clone(), region);
        Service {
            started: std::time::Instant::now(),
            config,
            clock,
            state: Mutex::new(State {
                regions,
                timers: BTreeMap::new(),
                timer_seq: 0,
                tokens: HashMap::new(),
                connection_seq: 0,
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ServiceConfig {
        &self.config
    }

    /// The current time on the service's clock.
    pub fn now_millis(&self) -> u64 {
        self.clock.now_millis()
    }

    /// Runs every timer that is due (reservations and placements timing out). Called before
    /// each request and periodically.
    pub fn tick(&self) {
        let now = self.clock.now_millis();
        let mut state = self.state.lock();
        state.run_timers(now, &self.config);
    }

    /// Handles one operation. `region` is the Region from the request's signature, if any.
    pub fn call(
        &self,
        operation: &str,
        region: Option<&str>,
        input: &Value,
    ) -> Result<Value, ServiceError> {
        let region = region.unwrap_or(&self.config.region);
        match operation {
            "CreateGameSession" => self.create_game_session(region, input),
            "DescribeGameSessions" => self.describe_game_sessions(region, input, false),
            "DescribeGameSessionDetails" => self.describe_game_sessions(region, input, true),
            "SearchGameSessions" => self.search_game_sessions(region, input),
            "CreatePlayerSession" => self.create_player_sessions(region, input, false),
            "CreatePlayerSessions" => self.create_player_sessions(region, input, true),
            "DescribePlayerSessions" => self.describe_player_sessions(region, input),
            "UpdateGameSession" => self.update_game_session(region, input),
            "TerminateGameSession" => self.terminate_game_session(region, input),
            "CreateFleet" => self.create_fleet(region, input),
            "DescribeFleetAttributes" => self.describe_fleet_attributes(region, input),
            "ListFleets" => self.list_fleets(region, input),
            "DeleteFleet" => self.delete_fleet(region, input),
            "CreateLocation" => self.create_location(region, input),
            "ListLocations" => self.list_locations(region, input),
            "RegisterCompute" => self.register_compute(region, input),
            "DeregisterCompute" => self.deregister_compute(region, input),
            "DescribeCompute" => self.describe_compute(region, input),
            "ListCompute" => self.list_compute(region, input),
            "GetComputeAuthToken" => self.get_compute_auth_token(region, input),
            "CreateAlias" => self.create_alias(region, input),
            "DescribeAlias" => self.describe_alias(region, input),
            "ResolveAlias" => self.resolve_alias(region, input),
            "ListAliases" => self.list_aliases(region, input),
            "CreateGameSessionQueue" => self.create_game_session_queue(region, input),
            "DescribeGameSessionQueues" => self.describe_game_session_queues(region, input),
            "StartGameSessionPlacement" => self.start_game_session_placement(region, input),
            "DescribeGameSessionPlacement" => self.describe_game_session_placement(region, input),
            "StopGameSessionPlacement" => self.stop_game_session_placement(region, input),
            "DescribeRuntimeConfiguration" => self.describe_runtime_configuration(region, input),
            "UpdateRuntimeConfiguration" => self.update_runtime_configuration(region, input),
            other if other.starts_with("GameLiftLocal.") => self.invite_call(other, region, input),
            other => Err(ServiceError::unknown_operation(other)),
        }
    }

    /// Locks the state and hands `work` the Region (for operations with no timers to run).
    pub(crate) fn with_state_region<R>(
        &self,
        region: &str,
        work: impl FnOnce(&mut Region) -> Result<R, ServiceError>,
    ) -> Result<R, ServiceError> {
        self.with_region(region, |region, _| work(region))
    }

    /// Locks the state, runs due timers and hands `work` the Region.
    fn with_region<R>(
        &self,
        region: &str,
        work: impl FnOnce(&mut Region, &mut Extra<'_>) -> Result<R, ServiceError>,
    ) -> Result<R, ServiceError> {
        let now = self.clock.now_millis();
        let mut state = self.state.lock();
        state.run_timers(now, &self.config);
        let (regions, mut extra) = state.split(now, &self.config);
        if !regions.contains_key(region) {
            regions.insert(region.to_string(), Region::new(region));
        }
        let Some(region_state) = regions.get_mut(region) else {
            return Err(ServiceError::new(
                "InternalServiceException",
                "region state missing",
            ));
        };
        work(region_state, &mut extra)
    }

    // ----- game sessions ---------------------------------------------------------------------

    fn create_game_session(&self, region: &str, input: &Value) -> Result<Value, ServiceError> {
        let mut reader = Input::new(input);
        let fleet = reader.str("FleetId", FLEET_ID);
        let alias = reader.str("AliasId", ALIAS_ID);
        let maximum = reader.int("MaximumPlayerSessionCount", Int::at_least(0).required());
        let name = reader.str("Name", NAME);
        let properties = reader.game_properties("GameProperties").unwrap_or_default();
        let creator = reader.str("CreatorId", NAME);
        let custom_id = reader.str("GameSessionId", ID_STRING);
        let token = reader.str("IdempotencyToken", ID_STRING);
        let data = reader.str("GameSessionData", Str::len(1, 262_144).sensitive());
        let location = reader.str("Location", LOCATION);
        exactly_one_of(
            &mut reader,
            "FleetId",
            fleet.is_some(),
            "AliasId",
            alias.is_some(),
        );
        if let Some(maximum) = maximum
            && maximum > MAX_PLAYERS
        {
            reader.reject(format!(
                    "Value '{maximum}' at 'maximumPlayerSessionCount' failed to satisfy constraint: a game session holds at most {MAX_PLAYERS} players"
                ));
        }
        reader.finish()?;
        let maximum = maximum.unwrap_or_default();
        let custom_id = token.or(custom_id);
        self.with_region(region, |region, extra| {
            let fleet_id = resolve_fleet(region, fleet.as_deref(), alias.as_deref())?;
            let request = NewSession {
                fleet_id,
                location,
                maximum,
                name,
                properties,
                creator,
                custom_id,
                data,
                matchmaker_data: None,
            };
            let arn = create_session(region, extra, request)?;
            Ok(Value::map().with("GameSession", region.sessions[&arn].to_value()))
        })
    }

    fn describe_game_sessions(
        &self,
        region: &str,
        input: &Value,
        details: bool,
    ) -> Result<Value, ServiceError> {
        let operation = if details {
            "DescribeGameSessionDetails"
        } else {
            "DescribeGameSessions"
        };
        let mut reader = Input::new(input);
        let fleet = reader.str("FleetId", FLEET_ID);
        let game_session = reader.str("GameSessionId", GAME_SESSION_ID);
        let alias = reader.str("AliasId", ALIAS_ID);
        let location = reader.str("Location", LOCATION);
        let status = reader.str(
            "StatusFilter",
            Str::one_of(&["ACTIVE", "TERMINATED", "ACTIVATING", "TERMINATING", "ERROR"]),
        );
        let limit = reader.int("Limit", LIMIT);
        let token = reader.str("NextToken", NEXT_TOKEN);
        if fleet.is_none() && alias.is_none() && game_session.is_none() {
            reader.reject("one of FleetId, AliasId or GameSessionId is required".to_string());
        }
        if fleet.is_some() && alias.is_some() {
            reader.reject("give either FleetId or AliasId, not both".to_string());
        }
        reader.finish()?;
        self.with_region(region, |region, _| {
            let sessions: Vec<&GameSession> = match &game_session {
                Some(arn) => {
                    let session = region.sessions.get(arn).ok_or_else(|| {
                        ServiceError::not_found(format!("Game session {arn} not found."))
                    })?;
                    vec![session]
                }
                None => {
                    let fleet_id = resolve_fleet(region, fleet.as_deref(), alias.as_deref())?;
                    region
                        .sessions_by_fleet
                        .get(&fleet_id)
                        .map(|by_seq| {
                            by_seq
                                .values()
                                .filter_map(|arn| region.sessions.get(arn))
                                .collect()
                        })
                        .unwrap_or_default()
                }
            };
            let matching: Vec<&GameSession> = sessions
                .into_iter()
                .filter(|session| location.as_deref().is_none_or(|l| session.location == l))
                .filter(|session| {
                    status
                        .as_deref()
                        .is_none_or(|s| session.status.as_str() == s)
                })
                .collect();
            let (page, next) = paginate(operation, &matching, limit, token.as_deref())?;
            let items: Vec<Value> = page
                .iter()
                .map(|session| {
                    if details {
                        Value::map()
                            .with("GameSession", session.to_value())
                            .with("ProtectionPolicy", &session.protection)
                    } else {
                        session.to_value()
                    }
                })
                .collect();
            let key = if details {
                "GameSessionDetails"
            } else {
                "GameSessions"
            };
            Ok(page_output(key, items, next))
        })
    }

    fn search_game_sessions(&self, region: &str, input: &Value) -> Result<Value, ServiceError> {
        let mut reader = Input::new(input);
        let fleet = reader.str("FleetId", FLEET_ID);
        let alias = reader.str("AliasId", ALIAS_ID);
        let location = reader.str("Location", LOCATION);
        let filter = reader.str("FilterExpression", Str::len(1, 1024));
        let sort = reader.str("SortExpression", Str::len(1, 1024));
        let limit = reader.int("Limit", LIMIT);
        let token = reader.str("NextToken", NEXT_TOKEN);
        exactly_one_of(
            &mut reader,
            "FleetId",
            fleet.is_some(),
            "AliasId",
            alias.is_some(),
        );
        reader.finish()?;
        let filter = filter
            .as_deref()
            .map(search::parse_filter)
            .transpose()
            .map_err(|error| ServiceError::invalid(format!("Invalid FilterExpression: {error}")))?;
        let sort = sort
            .as_deref()
            .map(search::parse_sort)
            .transpose()
            .map_err(|error| ServiceError::invalid(format!("Invalid SortExpression: {error}")))?;
        let offset = token_offset("SearchGameSessions", token.as_deref())?;
        let limit = limit.map_or(SEARCH_LIMIT, |limit| (limit as usize).min(SEARCH_LIMIT));
        self.with_region(region, |region, _| {
            let fleet_id = resolve_fleet(region, fleet.as_deref(), alias.as_deref())?;
            let (page, more) = region.search(
                &fleet_id,
                location.as_deref(),
                filter.as_ref(),
                sort.as_ref(),
                offset,
                limit,
            );
            let next = more.then(|| next_token("SearchGameSessions", offset + page.len()));
            Ok(page_output(
                "GameSessions",
                page.iter()
                    .map(|session| session.to_value())
                    .collect::<Vec<_>>(),
                next,
            ))
        })
    }

    fn update_game_session(&self, region: &str, input: &Value) -> Result<Value, ServiceError> {
        let mut reader = Input::new(input);
        let arn = reader.str("GameSessionId", GAME_SESSION_ID.required());
        let maximum = reader.int("MaximumPlayerSessionCount", Int::range(0, MAX_PLAYERS));
        let name = reader.str("Name", NAME);
        let policy = reader.str(
            "PlayerSessionCreationPolicy",
            Str::one_of(&["ACCEPT_ALL", "DENY_ALL"]),
        );
        let protection = reader.str(
            "ProtectionPolicy",
            Str::one_of(&["NoProtection", "FullProtection"]),
        );
        let properties = reader.game_properties("GameProperties");
        reader.finish()?;
        let arn = arn.unwrap_or_default();
        self.with_region(region, |region, _| {
            let session = live_session(region, &arn, "updated")?;
            if let Some(properties) = &properties {
                let mut keys: Vec<&String> = session.properties.iter().map(|(k, _)| k).collect();
                for (key, _) in properties {
                    if !keys.contains(&key) {
                        keys.push(key);
                    }
                }
                if keys.len() > 16 {
                    return Err(ServiceError::invalid(format!(
                        "Game session {arn} would have {} game properties; at most 16 are allowed.",
                        keys.len()
                    )));
                }
            }
            region.update_session(&arn, |session| {
                if let Some(maximum) = maximum {
                    session.maximum_players = maximum;
                }
                if let Some(name) = name {
                    session.name = Some(name);
                }
                if let Some(policy) = policy {
                    session.accept_players = policy == "ACCEPT_ALL";
                }
                if let Some(protection) = protection {
                    session.protection = protection;
                }
                for (key, value) in properties.unwrap_or_default() {
                    match session.properties.iter_mut().find(|(k, _)| *k == key) {
                        Some(existing) => existing.1 = value,
                        None => session.properties.push((key, value)),
                    }
                }
            });
            crate::processes::push_update(region, &arn, sdk5_protocol::UpdateReason::Unknown, None);
            Ok(Value::map().with("GameSession", region.sessions[&arn].to_value()))
        })
    }

    fn terminate_game_session(&self, region: &str, input: &Value) -> Result<Value, ServiceError> {
        let mut reader = Input::new(input);
        let arn = reader.str("GameSessionId", GAME_SESSION_ID.required());
        let mode = reader.str(
            "TerminationMode",
            Str::one_of(&["TRIGGER_ON_PROCESS_TERMINATE", "FORCE_TERMINATE"]).required(),
        );
        reader.finish()?;
        let (arn, mode) = (arn.unwrap_or_default(), mode.unwrap_or_default());
        self.with_region(region, |region, extra| {
            let session = live_session(region, &arn, "terminated")?;
            let reason = if mode == "FORCE_TERMINATE" {
                "FORCE_TERMINATED"
            } else {
                "TRIGGERED_ON_PROCESS_TERMINATE"
            };
            match session.process.clone() {
                Some(process) if mode != "FORCE_TERMINATE" => {
                    // The process is told to terminate; the session ends when it calls
                    // ProcessEnding (or when the termination grace runs out).
                    region.update_session(&arn, |session| {
                        session.status = GameSessionStatus::Terminating;
                        session.status_reason = Some(reason);
                    });
                    crate::processes::terminate_process(region, extra, &process, Some(reason));
                }
                Some(process) => {
                    end_session(
                        region,
                        &arn,
                        GameSessionStatus::Terminated,
                        Some(reason),
                        extra.now,
                    );
                    crate::processes::terminate_process(region, extra, &process, Some(reason));
                }
                None => {
                    end_session(
                        region,
                        &arn,
                        GameSessionStatus::Terminated,
                        Some(reason),
                        extra.now,
                    );
                }
            }
            Ok(Value::map().with("GameSession", region.sessions[&arn].to_value()))
        })
    }

    // ----- player sessions -------------------------------------------------------------------

    fn create_player_sessions(
        &self,
        region: &str,
        input: &Value,
        batch: bool,
    ) -> Result<Value, ServiceError> {
        let mut reader = Input::new(input);
        let arn = reader.str("GameSessionId", GAME_SESSION_ID.required());
        let players: Vec<(String, Option<String>)> = if batch {
            let ids = reader.str_list("PlayerIds", 1, 25, true, PLAYER_ID);
            let data = reader
                .str_map("PlayerDataMap", Str::len(1, 1024), PLAYER_DATA)
                .unwrap_or_default();
            ids.unwrap_or_default()
                .into_iter()
                .map(|id| {
                    let player_data = data
                        .iter()
                        .find(|(key, _)| *key == id)
                        .map(|(_, d)| d.clone());
                    (id, player_data)
                })
                .collect()
        } else {
            let id = reader.str("PlayerId", PLAYER_ID.required());
            let data = reader.str("PlayerData", PLAYER_DATA);
            id.map(|id| vec![(id, data)]).unwrap_or_default()
        };
        reader.finish()?;
        let arn = arn.unwrap_or_default();
        self.with_region(region, |region, extra| {
            let session = region
                .sessions
                .get(&arn)
                .ok_or_else(|| ServiceError::not_found(format!("Game session {arn} not found.")))?;
            if session.status != GameSessionStatus::Active {
                return Err(ServiceError::new(
                    "InvalidGameSessionStatusException",
                    format!(
                        "Game session {arn} is {}; player sessions can only be created while it is ACTIVE.",
                        session.status.as_str()
                    ),
                ));
            }
            if !session.accept_players {
                return Err(ServiceError::new(
                    "GameSessionFullException",
                    format!(
                        "Game session {arn} is not accepting new players (PlayerSessionCreationPolicy is DENY_ALL)."
                    ),
                ));
            }
            let free = session.maximum_players - session.slots_used;
            if (players.len() as i64) > free {
                return Err(ServiceError::new(
                    "GameSessionFullException",
                    format!(
                        "Game session {arn} has {} open player slots; {} requested.",
                        free.max(0),
                        players.len()
                    ),
                ));
            }
            let mut created = Vec::with_capacity(players.len());
            for (player_id, player_data) in players {
                let player = reserve_player(region, extra, &arn, player_id, player_data);
                created.push(player.to_value());
            }
            Ok(if batch {
                Value::map().with("PlayerSessions", created)
            } else {
                Value::map().with("PlayerSession", created.remove(0))
            })
        })
    }

    fn describe_player_sessions(&self, region: &str, input: &Value) -> Result<Value, ServiceError> {
        let mut reader = Input::new(input);
        let arn = reader.str("GameSessionId", GAME_SESSION_ID);
        let player = reader.str("PlayerId", PLAYER_ID);
        let id = reader.str(
            "PlayerSessionId",
            Str::len(1, 128).pattern(&v::PLAYER_SESSION_ID),
        );
        let status = reader.str(
            "PlayerSessionStatusFilter",
            Str::one_of(&["RESERVED", "ACTIVE", "COMPLETED", "TIMEDOUT"]),
        );
        let limit = reader.int("Limit", LIMIT);
        let token = reader.str("NextToken", NEXT_TOKEN);
        if arn.is_none() && player.is_none() && id.is_none() {
            reader.reject(
                "one of PlayerSessionId, GameSessionId or PlayerId is required".to_string(),
            );
        }
        reader.finish()?;
        self.with_region(region, |region, _| {
            let mut found: Vec<&PlayerSession> = match (&id, &arn, &player) {
                (Some(id), _, _) => {
                    let player = region.players.get(id).ok_or_else(|| {
                        ServiceError::not_found(format!("Player session {id} not found."))
                    })?;
                    vec![player]
                }
                (None, Some(arn), _) => {
                    let session = region.sessions.get(arn).ok_or_else(|| {
                        ServiceError::not_found(format!("Game session {arn} not found."))
                    })?;
                    session
                        .player_sessions
                        .iter()
                        .filter_map(|id| region.players.get(id))
                        .collect()
                }
                (None, None, Some(player)) => region
                    .players_by_player_id
                    .get(player)
                    .map(|ids| ids.iter().filter_map(|id| region.players.get(id)).collect())
                    .unwrap_or_default(),
                (None, None, None) => Vec::new(),
            };
            if id.is_none() {
                if let (Some(_), Some(player)) = (&arn, &player) {
                    found.retain(|session| session.player_id == *player);
                }
                if player.is_none()
                    && let Some(status) = &status
                {
                    found.retain(|session| session.status.as_str() == status);
                }
            }
            let limit = if id.is_some() { None } else { limit };
            let (page, next) = paginate("DescribePlayerSessions", &found, limit, token.as_deref())?;
            Ok(page_output(
                "PlayerSessions",
                page.iter()
                    .map(|player| player.to_value())
                    .collect::<Vec<_>>(),
                next,
            ))
        })
    }

    // ----- fleets, locations, computes -------------------------------------------------------

    fn create_fleet(&self, region: &str, input: &Value) -> Result<Value, ServiceError> {
        let mut reader = Input::new(input);
        let name = reader.str("Name", NAME.required());
        let description = reader.str("Description", NAME);
        let compute_type = reader.str("ComputeType", Str::one_of(&["EC2", "ANYWHERE"]));
        let locations = reader.struct_list("Locations", 1, 100, false, |item| {
            item.str("Location", LOCATION.required())
        });
        let cost = reader.structure("AnywhereConfiguration", false, |item| {
            item.str(
                "Cost",
                Str::len(1, 11).pattern(&v::ANYWHERE_COST).required(),
            )
        });
        let protection = reader.str(
            "NewGameSessionProtectionPolicy",
            Str::one_of(&["NoProtection", "FullProtection"]),
        );
        let metric_groups = reader.str_list("MetricGroups", 0, 1, false, Str::len(1, 255));
        let creation_limit = reader.structure("ResourceCreationLimitPolicy", false, |item| {
            let per_creator = item.int("NewGameSessionsPerCreator", Int::at_least(0));
            let minutes = item.int("PolicyPeriodInMinutes", Int::at_least(0));
            Some((per_creator.unwrap_or(0), minutes.unwrap_or(0)))
        });
        let _tags = reader.tags("Tags");
        for member in ["BuildId", "ScriptId", "EC2InstanceType"] {
            let _ = reader.str(member, Str::len(1, 512));
        }
        reader.finish()?;
        if compute_type.as_deref() != Some("ANYWHERE") {
            return Err(ServiceError::invalid(
                "gamelift-local runs Anywhere fleets only: set ComputeType to ANYWHERE",
            ));
        }
        let locations = match locations {
            Some(locations) if !locations.is_empty() => locations,
            _ => {
                return Err(ServiceError::invalid(
                    "An ANYWHERE fleet needs at least one custom location in Locations",
                ));
            }
        };
        self.with_region(region, |region, extra| {
            for location in &locations {
                if !region.locations.contains_key(location) {
                    return Err(ServiceError::not_found(format!(
                        "Location {location} does not exist; create it with CreateLocation first."
                    )));
                }
            }
            let id = new_id("fleet-");
            let fleet = Fleet {
                arn: fleet_arn(&region.name, &id),
                id: id.clone(),
                name: name.unwrap_or_default(),
                description,
                creation_millis: extra.now,
                locations,
                protection: protection.unwrap_or_else(|| "NoProtection".into()),
                metric_groups: metric_groups.unwrap_or_else(|| vec!["default".into()]),
                cost,
                creation_limit,
                runtime: RuntimeConfiguration::default(),
            };
            let value = Value::map()
                .with("FleetAttributes", fleet.attributes())
                .with("LocationStates", fleet.location_states());
            region.fleets.insert(id, fleet);
            Ok(value)
        })
    }

    fn describe_fleet_attributes(
        &self,
        region: &str,
        input: &Value,
    ) -> Result<Value, ServiceError> {
        let mut reader = Input::new(input);
        let ids = reader.str_list("FleetIds", 1, usize::MAX, false, FLEET_ID);
        let limit = reader.int("Limit", LIMIT);
        let token = reader.str("NextToken", NEXT_TOKEN);
        reader.finish()?;
        self.with_region(region, |region, _| {
            let fleets: Vec<&Fleet> = match &ids {
                Some(ids) => ids
                    .iter()
                    .filter_map(|id| region.fleets.get(&strip_arn(id, "fleet/")))
                    .collect(),
                None => region.fleets.values().collect(),
            };
            let (page, next) = if ids.is_some() {
                (fleets, None)
            } else {
                paginate("DescribeFleetAttributes", &fleets, limit, token.as_deref())?
            };
            Ok(page_output(
                "FleetAttributes",
                page.iter()
                    .map(|fleet| fleet.attributes())
                    .collect::<Vec<_>>(),
                next,
            ))
        })
    }

    fn list_fleets(&self, region: &str, input: &Value) -> Result<Value, ServiceError> {
        let mut reader = Input::new(input);
        let build = reader.str("BuildId", Str::len(1, 512).pattern(&v::BUILD_ID_OR_ARN));
        let script = reader.str("ScriptId", Str::len(1, 512).pattern(&v::SCRIPT_ID_OR_ARN));
        let limit = reader.int("Limit", LIMIT);
        let token = reader.str("NextToken", NEXT_TOKEN);
        reader.finish()?;
        self.with_region(region, |region, _| {
            // Anywhere fleets have no build or script, so either filter matches none.
            let ids: Vec<String> = if build.is_some() || script.is_some() {
                Vec::new()
            } else {
                region.fleets.keys().cloned().collect()
            };
            let (page, next) = paginate("ListFleets", &ids, limit, token.as_deref())?;
            Ok(page_output(
                "FleetIds",
                page.into_iter().map(Value::from).collect::<Vec<_>>(),
                next,
            ))
        })
    }

    fn delete_fleet(&self, region: &str, input: &Value) -> Result<Value, ServiceError> {
        let mut reader = Input::new(input);
        let fleet = reader.str("FleetId", FLEET_ID.required());
        reader.finish()?;
        let fleet_id = strip_arn(&fleet.unwrap_or_default(), "fleet/");
        self.with_region(region, |region, _| {
            if !region.fleets.contains_key(&fleet_id) {
                return Err(ServiceError::not_found(format!("Fleet {fleet_id} not found.")));
            }
            let live = region
                .sessions_by_fleet
                .get(&fleet_id)
                .map(|by_seq| {
                    by_seq
                        .values()
                        .filter_map(|arn| region.sessions.get(arn))
                        .filter(|s| {
                            matches!(s.status, GameSessionStatus::Active | GameSessionStatus::Activating)
                        })
                        .count()
                })
                .unwrap_or(0);
            if live > 0 {
                return Err(ServiceError::new(
                    "InvalidFleetStatusException",
                    format!("Fleet {fleet_id} still has {live} active game sessions; terminate them first."),
                ));
            }
            region.fleets.remove(&fleet_id);
            region.computes.retain(|(fleet, _), _| *fleet != fleet_id);
            Ok(Value::map())
        })
    }

    fn create_location(&self, region: &str, input: &Value) -> Result<Value, ServiceError> {
        let mut reader = Input::new(input);
        let name = reader.str(
            "LocationName",
            Str::len(8, 64).pattern(&v::CUSTOM_LOCATION).required(),
        );
        let _tags = reader.tags("Tags");
        reader.finish()?;
        let name = name.unwrap_or_default();
        self.with_region(region, |region, _| {
            if region.locations.contains_key(&name) {
                return Err(ServiceError::conflict(format!(
                    "Location {name} already exists."
                )));
            }
            let location = Location {
                arn: format!("arn:aws:gamelift:{}:{ACCOUNT}:location/{name}", region.name),
                name: name.clone(),
            };
            let value = location.to_value();
            region.locations.insert(name, location);
            Ok(Value::map().with("Location", value))
        })
    }

    fn list_locations(&self, region: &str, input: &Value) -> Result<Value, ServiceError> {
        let mut reader = Input::new(input);
        let filters = reader.str_list("Filters", 1, 2, false, Str::one_of(&["AWS", "CUSTOM"]));
        let limit = reader.int("Limit", Int::range(1, 200));
        let token = reader.str("NextToken", NEXT_TOKEN);
        reader.finish()?;
        self.with_region(region, |region, _| {
            let wants = |kind: &str| filters.as_ref().is_none_or(|f| f.iter().any(|x| x == kind));
            let mut all: Vec<Value> = Vec::new();
            if wants("AWS") {
                all.push(Value::map().with("LocationName", &region.name));
            }
            if wants("CUSTOM") {
                all.extend(region.locations.values().map(Location::to_value));
            }
            let (page, next) = paginate("ListLocations", &all, limit, token.as_deref())?;
            Ok(page_output("Locations", page, next))
        })
    }

    fn register_compute(&self, region: &str, input: &Value) -> Result<Value, ServiceError> {
        let mut reader = Input::new(input);
        let fleet = reader.str("FleetId", FLEET_ID.required());
        let name = reader.str(
            "ComputeName",
            Str::len(1, 128).pattern(&v::COMPUTE_NAME).required(),
        );
        let _certificate = reader.str("CertificatePath", NAME);
        let dns = reader.str("DnsName", Str::len(1, 256).pattern(&v::DNS_NAME));
        let ip = reader.str(
            "IpAddress",
            Str::len(1, 128).pattern(&v::IP_ADDRESS).sensitive(),
        );
        let location = reader.str("Location", LOCATION);
        reader.finish()?;
        let fleet_id = strip_arn(&fleet.unwrap_or_default(), "fleet/");
        let name = name.unwrap_or_default();
        self.with_region(region, |region, extra| {
            let fleet = region
                .fleets
                .get(&fleet_id)
                .ok_or_else(|| ServiceError::not_found(format!("Fleet {fleet_id} not found.")))?;
            if ip.is_none() && dns.is_none() {
                return Err(ServiceError::invalid(
                    "An ANYWHERE compute needs an IpAddress (or a DnsName)",
                ));
            }
            let location = location.ok_or_else(|| {
                ServiceError::invalid(
                    "Location is required to register a compute in an ANYWHERE fleet",
                )
            })?;
            if !fleet.locations.contains(&location) {
                return Err(ServiceError::invalid(format!(
                    "Location {location} is not a location of fleet {fleet_id} (its locations: {})",
                    fleet.locations.join(", ")
                )));
            }
            let compute = Compute {
                fleet_id: fleet_id.clone(),
                fleet_arn: fleet.arn.clone(),
                arn: format!("arn:aws:gamelift:{}:{ACCOUNT}:compute/{name}", region.name),
                name: name.clone(),
                ip_address: ip,
                dns_name: dns,
                location,
                creation_millis: extra.now,
                sdk_endpoint: extra.config.sdk_endpoint.clone(),
            };
            let value = compute.to_value();
            region.computes.insert((fleet_id, name), compute);
            Ok(Value::map().with("Compute", value))
        })
    }

    fn compute_key(&self, input: &Value) -> Result<(String, String), ServiceError> {
        let mut reader = Input::new(input);
        let fleet = reader.str("FleetId", FLEET_ID.required());
        let name = reader.str("ComputeName", COMPUTE_NAME_OR_ARN.required());
        reader.finish()?;
        Ok((
            strip_arn(&fleet.unwrap_or_default(), "fleet/"),
            strip_arn(&name.unwrap_or_default(), "compute/"),
        ))
    }

    fn deregister_compute(&self, region: &str, input: &Value) -> Result<Value, ServiceError> {
        let key = self.compute_key(input)?;
        self.with_region(region, |region, _| {
            region.computes.remove(&key).ok_or_else(|| {
                ServiceError::not_found(format!("Compute {} not found in fleet {}.", key.1, key.0))
            })?;
            Ok(Value::map())
        })
    }

    fn describe_compute(&self, region: &str, input: &Value) -> Result<Value, ServiceError> {
        let key = self.compute_key(input)?;
        self.with_region(region, |region, _| {
            let compute = region.computes.get(&key).ok_or_else(|| {
                ServiceError::not_found(format!("Compute {} not found in fleet {}.", key.1, key.0))
            })?;
            Ok(Value::map().with("Compute", compute.to_value()))
        })
    }

    fn list_compute(&self, region: &str, input: &Value) -> Result<Value, ServiceError> {
        let mut reader = Input::new(input);
        let fleet = reader.str("FleetId", FLEET_ID.required());
        let location = reader.str("Location", LOCATION);
        let _group = reader.str("ContainerGroupDefinitionName", Str::len(1, 512));
        let status = reader.str("ComputeStatus", Str::one_of(&["ACTIVE", "IMPAIRED"]));
        let limit = reader.int("Limit", LIMIT);
        let token = reader.str("NextToken", NEXT_TOKEN);
        reader.finish()?;
        let fleet_id = strip_arn(&fleet.unwrap_or_default(), "fleet/");
        self.with_region(region, |region, _| {
            if !region.fleets.contains_key(&fleet_id) {
                return Err(ServiceError::not_found(format!(
                    "Fleet {fleet_id} not found."
                )));
            }
            let computes: Vec<Value> = region
                .computes
                .values()
                .filter(|c| c.fleet_id == fleet_id)
                .filter(|c| location.as_deref().is_none_or(|l| c.location == l))
                .filter(|_| status.as_deref() != Some("IMPAIRED"))
                .map(Compute::to_value)
                .collect();
            let (page, next) = paginate("ListCompute", &computes, limit, token.as_deref())?;
            Ok(page_output("ComputeList", page, next))
        })
    }

    fn get_compute_auth_token(&self, region: &str, input: &Value) -> Result<Value, ServiceError> {
        let key = self.compute_key(input)?;
        self.with_region(region, |region, extra| {
            let compute = region.computes.get(&key).ok_or_else(|| {
                ServiceError::not_found(format!("Compute {} not found in fleet {}.", key.1, key.0))
            })?;
            let token = uuid::Uuid::new_v4().to_string();
            let expires = extra.now + AUTH_TOKEN_MILLIS;
            extra
                .tokens
                .retain(|_, token| token.expires_millis > extra.now);
            extra.tokens.insert(
                token.clone(),
                AuthToken {
                    fleet_id: key.0.clone(),
                    compute_name: key.1.clone(),
                    expires_millis: expires,
                },
            );
            Ok(Value::map()
                .with("FleetId", &compute.fleet_id)
                .with("FleetArn", &compute.fleet_arn)
                .with("ComputeName", &compute.name)
                .with("ComputeArn", &compute.arn)
                .with("AuthToken", token)
                .with("ExpirationTimestamp", seconds(expires)))
        })
    }

    // ----- runtime configuration ---------------------------------------------------------------

    fn describe_runtime_configuration(
        &self,
        region: &str,
        input: &Value,
    ) -> Result<Value, ServiceError> {
        let mut reader = Input::new(input);
        let fleet = reader.str("FleetId", FLEET_ID.required());
        reader.finish()?;
        let fleet_id = strip_arn(&fleet.unwrap_or_default(), "fleet/");
        self.with_region(region, |region, _| {
            let fleet = region
                .fleets
                .get(&fleet_id)
                .ok_or_else(|| ServiceError::not_found(format!("Fleet {fleet_id} not found.")))?;
            Ok(Value::map().with("RuntimeConfiguration", fleet.runtime.to_value()))
        })
    }

    fn update_runtime_configuration(
        &self,
        region: &str,
        input: &Value,
    ) -> Result<Value, ServiceError> {
        let mut reader = Input::new(input);
        let fleet = reader.str("FleetId", FLEET_ID.required());
        let runtime = reader.structure("RuntimeConfiguration", true, |item| {
            let server_processes = item.struct_list("ServerProcesses", 1, 50, false, |process| {
                let launch_path = process.str(
                    "LaunchPath",
                    Str::len(1, 1024).pattern(&v::LAUNCH_PATH).required(),
                );
                let parameters = process.str(
                    "Parameters",
                    Str::len(1, 1024).pattern(&v::LAUNCH_PARAMETERS),
                );
                let count = process.int("ConcurrentExecutions", Int::at_least(1).required());
                Some(ServerProcess {
                    launch_path: launch_path?,
                    parameters,
                    concurrent_executions: u32::try_from(count?).unwrap_or(u32::MAX),
                })
            });
            let max_activations = item.int(
                "MaxConcurrentGameSessionActivations",
                Int::range(1, 2_147_483_647),
            );
            let activation_timeout =
                item.int("GameSessionActivationTimeoutSeconds", Int::range(1, 600));
            Some(RuntimeConfiguration {
                server_processes: server_processes.unwrap_or_default(),
                max_concurrent_activations: max_activations,
                activation_timeout_seconds: activation_timeout,
            })
        });
        reader.finish()?;
        let runtime = runtime.unwrap_or_default();
        let fleet_id = strip_arn(&fleet.unwrap_or_default(), "fleet/");
        let total: u64 = runtime
            .server_processes
            .iter()
            .map(|p| u64::from(p.concurrent_executions))
            .sum();
        if total > u64::from(MAX_CONCURRENT_PROCESSES) {
            return Err(ServiceError::invalid(format!(
                "A runtime configuration runs at most {MAX_CONCURRENT_PROCESSES} server processes \
                 at once; this one asks for {total}"
            )));
        }
        if self.config.launch.is_empty() {
            return Err(ServiceError::invalid(
                "This gamelift-local launches no server processes: start it with \
                 --launch \"<command>\" to let a runtime configuration run game servers",
            ));
        }
        for process in &runtime.server_processes {
            let allowed = self.config.launch.iter().any(|launch| {
                launch.launch_path == process.launch_path && launch.parameters == process.parameters
            });
            if !allowed {
                let command = match &process.parameters {
                    Some(parameters) => format!("{} {parameters}", process.launch_path),
                    None => process.launch_path.clone(),
                };
                return Err(ServiceError::invalid(format!(
                    "gamelift-local launches only the commands it was started with (--launch); \
                     `{command}` is not one of them"
                )));
            }
        }
        self.with_region(region, |region, _| {
            let fleet = region
                .fleets
                .get_mut(&fleet_id)
                .ok_or_else(|| ServiceError::not_found(format!("Fleet {fleet_id} not found.")))?;
            fleet.runtime = runtime;
            Ok(Value::map().with("RuntimeConfiguration", fleet.runtime.to_value()))
        })
    }

    /// The server processes `fleet_id` should keep running in `region` (empty if it has none).
    pub fn runtime_configuration(&self, region: &str, fleet_id: &str) -> RuntimeConfiguration {
        let state = self.state.lock();
        state
            .regions
            .get(region)
            .and_then(|region| region.fleets.get(fleet_id))
            .map(|fleet| fleet.runtime.clone())
            .unwrap_or_default()
    }

    // ----- aliases -----------------------------------------------------------------------------

    fn create_alias(&self, region: &str, input: &Value) -> Result<Value, ServiceError> {
        let mut reader = Input::new(input);
        let name = reader.str("Name", Str::len(1, 1024).pattern(&v::NON_BLANK).required());
        let description = reader.str("Description", NAME);
        let strategy = reader.structure("RoutingStrategy", true, |item| {
            let kind = item.str("Type", Str::one_of(&["SIMPLE", "TERMINAL"]));
            let fleet = item.str("FleetId", Str::len(1, 128).pattern(&v::FLEET_ID_OR_ARN));
            let message = item.str("Message", Str::len(0, 4096));
            Some((kind, fleet, message))
        });
        let _tags = reader.tags("Tags");
        reader.finish()?;
        let (kind, fleet, message) = strategy.unwrap_or_default();
        let terminal = match kind.as_deref() {
            Some("TERMINAL") => true,
            Some("SIMPLE") => false,
            _ => {
                return Err(ServiceError::invalid(
                    "RoutingStrategy.Type is required: SIMPLE or TERMINAL",
                ));
            }
        };
        self.with_region(region, |region, extra| {
            let fleet_id = if terminal {
                None
            } else {
                let fleet = fleet.ok_or_else(|| {
                    ServiceError::invalid("A SIMPLE routing strategy needs a FleetId")
                })?;
                let fleet_id = strip_arn(&fleet, "fleet/");
                if !region.fleets.contains_key(&fleet_id) {
                    return Err(ServiceError::not_found(format!(
                        "Fleet {fleet_id} not found."
                    )));
                }
                Some(fleet_id)
            };
            let id = new_id("alias-");
            let alias = Alias {
                arn: format!("arn:aws:gamelift:{}::alias/{id}", region.name),
                id: id.clone(),
                name: name.unwrap_or_default(),
                description,
                terminal,
                fleet_id,
                message,
                creation_millis: extra.now,
            };
            let value = alias.to_value();
            region.aliases.insert(id, alias);
            Ok(Value::map().with("Alias", value))
        })
    }

    fn alias_id(&self, input: &Value) -> Result<String, ServiceError> {
        let mut reader = Input::new(input);
        let alias = reader.str("AliasId", ALIAS_ID.required());
        reader.finish()?;
        Ok(strip_arn(&alias.unwrap_or_default(), "alias/"))
    }

    fn describe_alias(&self, region: &str, input: &Value) -> Result<Value, ServiceError> {
        let id = self.alias_id(input)?;
        self.with_region(region, |region, _| {
            let alias = region
                .aliases
                .get(&id)
                .ok_or_else(|| ServiceError::not_found(format!("Alias {id} not found.")))?;
            Ok(Value::map().with("Alias", alias.to_value()))
        })
    }

    fn resolve_alias(&self, region: &str, input: &Value) -> Result<Value, ServiceError> {
        let id = self.alias_id(input)?;
        self.with_region(region, |region, _| {
            let fleet_id = resolve_fleet(region, None, Some(&id))?;
            Ok(Value::map()
                .with("FleetArn", fleet_arn(&region.name, &fleet_id))
                .with("FleetId", fleet_id))
        })
    }

    fn list_aliases(&self, region: &str, input: &Value) -> Result<Value, ServiceError> {
        let mut reader = Input::new(input);
        let kind = reader.str("RoutingStrategyType", Str::one_of(&["SIMPLE", "TERMINAL"]));
        let name = reader.str("Name", Str::len(1, usize::MAX));
        let limit = reader.int("Limit", LIMIT);
        let token = reader.str("NextToken", Str::len(1, usize::MAX));
        reader.finish()?;
        self.with_region(region, |region, _| {
            let aliases: Vec<Value> = region
                .aliases
                .values()
                .filter(|alias| {
                    kind.as_deref()
                        .is_none_or(|kind| (kind == "TERMINAL") == alias.terminal)
                })
                .filter(|alias| name.as_deref().is_none_or(|name| alias.name == name))
                .map(Alias::to_value)
                .collect();
            let (page, next) = paginate("ListAliases", &aliases, limit, token.as_deref())?;
            Ok(page_output("Aliases", page, next))
        })
    }

    // ----- queues and placements ---------------------------------------------------------------

    fn create_game_session_queue(
        &self,
        region: &str,
        input: &Value,
    ) -> Result<Value, ServiceError> {
        let mut reader = Input::new(input);
        let name = reader.str("Name", Str::len(1, 128).pattern(&v::QUEUE_NAME).required());
        let timeout = reader.int("TimeoutInSeconds", Int::at_least(0));
        let latency_policies = reader
            .struct_list("PlayerLatencyPolicies", 0, usize::MAX, false, |item| {
                let max = item.int(
                    "MaximumIndividualPlayerLatencyMilliseconds",
                    Int::at_least(0),
                );
                let duration = item.int("PolicyDurationSeconds", Int::at_least(0));
                Some((max.unwrap_or(0), duration))
            })
            .unwrap_or_default();
        let destinations = reader
            .struct_list("Destinations", 0, usize::MAX, false, |item| {
                item.str("DestinationArn", GAME_SESSION_ID)
            })
            .unwrap_or_default();
        let allowed = reader.structure("FilterConfiguration", false, |item| {
            item.str_list("AllowedLocations", 1, 100, false, LOCATION)
        });
        let priority = reader.structure("PriorityConfiguration", false, |item| {
            let order = item.str_list(
                "PriorityOrder",
                1,
                4,
                false,
                Str::one_of(&["LATENCY", "COST", "DESTINATION", "LOCATION"]),
            );
            let locations = item.str_list("LocationOrder", 1, 100, false, LOCATION);
            Some((order, locations))
        });
        let custom = reader.str("CustomEventData", Str::len(0, 256).sensitive());
        let target = reader.str("NotificationTarget", Str::len(0, 300).pattern(&v::SNS_ARN));
        let _tags = reader.tags("Tags");
        reader.finish()?;
        let name = name.unwrap_or_default();
        let (priority_order, location_order) = priority.unwrap_or_default();
        self.with_region(region, |region, _| {
            if region.queues.contains_key(&name) {
                return Err(ServiceError::invalid(format!(
                    "A game session queue named {name} already exists."
                )));
            }
            let mut resolved = Vec::with_capacity(destinations.len());
            for destination in &destinations {
                let known = if destination.contains("alias/") || destination.starts_with("alias-") {
                    region
                        .aliases
                        .get(&strip_arn(destination, "alias/"))
                        .map(|a| a.arn.clone())
                } else {
                    region
                        .fleets
                        .get(&strip_arn(destination, "fleet/"))
                        .map(|f| f.arn.clone())
                };
                resolved.push(known.ok_or_else(|| {
                    ServiceError::not_found(format!(
                        "Queue destination {destination} is not a fleet or alias in {}.",
                        region.name
                    ))
                })?);
            }
            let queue = Queue {
                arn: format!(
                    "arn:aws:gamelift:{}:{ACCOUNT}:gamesessionqueue/{name}",
                    region.name
                ),
                name: name.clone(),
                timeout_seconds: timeout.unwrap_or(600),
                destinations: resolved,
                allowed_locations: allowed,
                priority_order,
                location_order,
                latency_policies,
                custom_event_data: custom,
                notification_target: target,
            };
            let value = queue.to_value();
            region.queues.insert(name, queue);
            Ok(Value::map().with("GameSessionQueue", value))
        })
    }

    fn describe_game_session_queues(
        &self,
        region: &str,
        input: &Value,
    ) -> Result<Value, ServiceError> {
        let mut reader = Input::new(input);
        let names = reader.str_list(
            "Names",
            0,
            usize::MAX,
            false,
            Str::len(1, 256).pattern(&v::QUEUE_NAME_OR_ARN),
        );
        let limit = reader.int("Limit", LIMIT);
        let token = reader.str("NextToken", NEXT_TOKEN);
        reader.finish()?;
        self.with_region(region, |region, _| {
            let queues: Vec<Value> = match &names {
                Some(names) if !names.is_empty() => names
                    .iter()
                    .filter_map(|name| region.queues.get(&strip_arn(name, "gamesessionqueue/")))
                    .map(Queue::to_value)
                    .collect(),
                _ => region.queues.values().map(Queue::to_value).collect(),
            };
            let (page, next) = paginate(
                "DescribeGameSessionQueues",
                &queues,
                limit,
                token.as_deref(),
            )?;
            Ok(page_output("GameSessionQueues", page, next))
        })
    }

    fn start_game_session_placement(
        &self,
        region: &str,
        input: &Value,
    ) -> Result<Value, ServiceError> {
        let mut reader = Input::new(input);
        let id = reader.str("PlacementId", ID_STRING.required());
        let queue = reader.str(
            "GameSessionQueueName",
            Str::len(1, 256).pattern(&v::QUEUE_NAME_OR_ARN).required(),
        );
        let properties = reader.game_properties("GameProperties").unwrap_or_default();
        let maximum = reader.int(
            "MaximumPlayerSessionCount",
            Int::range(0, MAX_PLAYERS).required(),
        );
        let name = reader.str("GameSessionName", NAME);
        let latencies = reader
            .struct_list("PlayerLatencies", 0, usize::MAX, false, |item| {
                let player = item.str("PlayerId", PLAYER_ID);
                let region = item.str("RegionIdentifier", NAME);
                let latency = item.float("LatencyInMilliseconds");
                Some((
                    player.unwrap_or_default(),
                    region.unwrap_or_default(),
                    latency.unwrap_or(0.0),
                ))
            })
            .unwrap_or_default();
        let desired = reader
            .struct_list("DesiredPlayerSessions", 0, usize::MAX, false, |item| {
                let player = item.str("PlayerId", PLAYER_ID);
                let data = item.str("PlayerData", PLAYER_DATA);
                Some((player.unwrap_or_default(), data))
            })
            .unwrap_or_default();
        let data = reader.str("GameSessionData", Str::len(1, 262_144).sensitive());
        let priority = reader.structure("PriorityConfigurationOverride", false, |item| {
            let fallback = item.str(
                "PlacementFallbackStrategy",
                Str::one_of(&["DEFAULT_AFTER_SINGLE_PASS", "NONE"]),
            );
            let order = item.str_list("LocationOrder", 1, 10, true, LOCATION);
            Some((fallback, order))
        });
        reader.finish()?;
        if !latencies.is_empty() && priority.is_some() {
            return Err(ServiceError::invalid(
                "PlayerLatencies and PriorityConfigurationOverride cannot be used together",
            ));
        }
        if desired.len() as i64 > maximum.unwrap_or(0) {
            return Err(ServiceError::invalid(format!(
                "{} DesiredPlayerSessions do not fit in MaximumPlayerSessionCount {}",
                desired.len(),
                maximum.unwrap_or(0)
            )));
        }
        let id = id.unwrap_or_default();
        let queue_name = strip_arn(&queue.unwrap_or_default(), "gamesessionqueue/");
        self.with_region(region, |region, extra| {
            let queue = region.queues.get(&queue_name).ok_or_else(|| {
                ServiceError::not_found(format!("Game session queue {queue_name} not found."))
            })?;
            if region.used_placement_ids.contains(&id) {
                return Err(ServiceError::invalid(format!(
                    "Placement ID {id} has already been used; placement IDs cannot be reused."
                )));
            }
            let (fallback, order) = priority.unwrap_or_default();
            let placement = Placement {
                id: id.clone(),
                queue_name: queue.name.clone(),
                status: PlacementStatus::Pending,
                properties,
                maximum_players: maximum.unwrap_or(0),
                game_session_name: name,
                game_session_data: data,
                latencies,
                desired_players: desired,
                location_order_override: order,
                fallback,
                start_millis: extra.now,
                end_millis: None,
                deadline_millis: extra.now + (queue.timeout_seconds.max(0) as u64) * 1000,
                game_session_arn: None,
                region: region.name.clone(),
                placed_players: Vec::new(),
            };
            let reply = placement_value(region, &placement);
            extra.add_timer(
                placement.deadline_millis,
                Timer::PlacementDeadline {
                    region: region.name.clone(),
                    placement: id.clone(),
                },
            );
            region.used_placement_ids.insert(id.clone());
            region.placements.insert(id.clone(), placement);
            try_place(region, extra, &id);
            Ok(Value::map().with("GameSessionPlacement", reply))
        })
    }

    fn placement_id(&self, input: &Value) -> Result<String, ServiceError> {
        let mut reader = Input::new(input);
        let id = reader.str("PlacementId", ID_STRING.required());
        reader.finish()?;
        Ok(id.unwrap_or_default())
    }

    fn describe_game_session_placement(
        &self,
        region: &str,
        input: &Value,
    ) -> Result<Value, ServiceError> {
        let id = self.placement_id(input)?;
        self.with_region(region, |region, extra| {
            if !region.placements.contains_key(&id) {
                return Err(ServiceError::not_found(format!(
                    "Placement {id} not found."
                )));
            }
            try_place(region, extra, &id);
            let placement = &region.placements[&id];
            Ok(Value::map().with("GameSessionPlacement", placement_value(region, placement)))
        })
    }

    fn stop_game_session_placement(
        &self,
        region: &str,
        input: &Value,
    ) -> Result<Value, ServiceError> {
        let id = self.placement_id(input)?;
        self.with_region(region, |region, extra| {
            let placement = region
                .placements
                .get_mut(&id)
                .ok_or_else(|| ServiceError::not_found(format!("Placement {id} not found.")))?;
            if placement.status != PlacementStatus::Pending {
                return Err(ServiceError::invalid(format!(
                    "Placement {id} is {} and can no longer be stopped.",
                    placement.status.as_str()
                )));
            }
            placement.status = PlacementStatus::Cancelled;
            placement.end_millis = Some(extra.now);
            let placement = &region.placements[&id];
            Ok(Value::map().with("GameSessionPlacement", placement_value(region, placement)))
        })
    }

    /// The compute an auth token was issued for, if it is valid now.
    pub fn check_auth_token(&self, token: &str) -> Option<AuthToken> {
        let now = self.clock.now_millis();
        let state = self.state.lock();
        state
            .tokens
            .get(token)
            .filter(|token| token.expires_millis > now)
            .cloned()
    }
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

    pub(crate) fn run_timers(&mut self, now: u64, config: &ServiceConfig) {
        while let Some(entry) = self.timers.first_entry() {
            if entry.key().0 > now {
                break;
            }
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
                    crate::processes::run_timer(regions, &mut extra, other);
                }
            }
        }
    }
}

fn exactly_one_of(reader: &mut Input<'_>, a: &str, has_a: bool, b: &str, has_b: bool) {
    match (has_a, has_b) {
        (true, true) => reader.reject(format!("give either {a} or {b}, not both")),
        (false, false) => reader.reject(format!("one of {a} or {b} is required")),
        _ => {}
    }
}

/// The fleet a request addresses directly or through an alias.
fn resolve_fleet(
    region: &Region,
    fleet: Option<&str>,
    alias: Option<&str>,
) -> Result<String, ServiceError> {
    let fleet_id = match (fleet, alias) {
        (Some(fleet), _) => strip_arn(fleet, "fleet/"),
        (None, Some(alias)) => {
            let alias_id = strip_arn(alias, "alias/");
            let alias = region
                .aliases
                .get(&alias_id)
                .ok_or_else(|| ServiceError::not_found(format!("Alias {alias_id} not found.")))?;
            if alias.terminal {
                return Err(ServiceError::new(
                    "TerminalRoutingStrategyException",
                    alias.message.clone().unwrap_or_default(),
                ));
            }
            alias.fleet_id.clone().unwrap_or_default()
        }
        (None, None) => return Err(ServiceError::invalid("a FleetId or an AliasId is required")),
    };
    if !region.fleets.contains_key(&fleet_id) {
        return Err(ServiceError::not_found(format!(
            "Fleet {fleet_id} not found in {}.",
            region.name
        )));
    }
    Ok(fleet_id)
}

struct NewSession {
    fleet_id: String,
    location: Option<String>,
    maximum: i64,
    name: Option<String>,
    properties: Vec<(String, String)>,
    creator: Option<String>,
    custom_id: Option<String>,
    data: Option<String>,
    matchmaker_data: Option<String>,
}

/// Creates a game session (or returns the one an idempotent retry refers to).
fn create_session(
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
                "IdempotentParameterMismatchException",
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
        let since = extra.now.saturating_sub(minutes as u64 * 60_000);
        let recent = region
            .sessions_by_fleet
            .get(&request.fleet_id)
            .map(|by_seq| {
                by_seq
                    .values()
                    .filter_map(|arn| region.sessions.get(arn))
                    .filter(|s| s.creator_id.as_deref() == Some(creator.as_str()))
                    .filter(|s| s.creation_millis >= since)
                    .count() as i64
            })
            .unwrap_or(0);
        if recent >= per_creator {
            return Err(ServiceError::new(
                "LimitExceededException",
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
                    "FleetCapacityExceededException",
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
        crate::processes::start_session_on(region, extra, &process, &arn);
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
fn reserve_player<'r>(
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
    region.players.insert(id.clone(), player);
    region
        .players_by_player_id
        .entry(player_id)
        .or_default()
        .push(id.clone());
    extra.add_timer(
        extra.now + extra.config.reservation_timeout_millis,
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
            matchmaker_data: None,
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

fn placement_value(region: &Region, placement: &Placement) -> Value {
    let session = placement
        .game_session_arn
        .as_ref()
        .and_then(|arn| region.sessions.get(arn));
    let mut value = Value::map()
        .with("PlacementId", &placement.id)
        .with("GameSessionQueueName", &placement.queue_name)
        .with("Status", placement.status.as_str())
        .with(
            "GameProperties",
            placement
                .properties
                .iter()
                .map(|(key, value)| Value::map().with("Key", key).with("Value", value))
                .collect::<Vec<_>>(),
        )
        .with("MaximumPlayerSessionCount", placement.maximum_players)
        .with_opt("GameSessionName", placement.game_session_name.as_ref())
        .with(
            "PlayerLatencies",
            placement
                .latencies
                .iter()
                .map(|(player, region, latency)| {
                    Value::map()
                        .with("PlayerId", player)
                        .with("RegionIdentifier", region)
                        .with("LatencyInMilliseconds", *latency)
                })
                .collect::<Vec<_>>(),
        )
        .with("StartTime", seconds(placement.start_millis))
        .with_opt("EndTime", placement.end_millis.map(seconds))
        .with_opt("GameSessionData", placement.game_session_data.as_ref());
    if let Some(order) = &placement.location_order_override {
        value.push(
            "PriorityConfigurationOverride",
            Value::map()
                .with_opt("PlacementFallbackStrategy", placement.fallback.as_ref())
                .with(
                    "LocationOrder",
                    order.iter().map(Value::from).collect::<Vec<_>>(),
                ),
        );
    }
    if let Some(session) = session {
        value.push("GameSessionId", &session.arn);
        value.push("GameSessionArn", &session.arn);
        value.push("GameSessionRegion", &placement.region);
        value.push("IpAddress", &session.ip_address);
        if let Some(dns) = &session.dns_name {
            value.push("DnsName", dns);
        }
        value.push("Port", session.port);
        value.push(
            "PlacedPlayerSessions",
            placement
                .placed_players
                .iter()
                .map(|(player, id)| {
                    Value::map()
                        .with("PlayerId", player)
                        .with("PlayerSessionId", id)
                })
                .collect::<Vec<_>>(),
        );
    }
    value
}

/// The game session `arn`, which must be ACTIVE or ACTIVATING to be `verb` (updated,
/// terminated).
fn live_session<'r>(
    region: &'r Region,
    arn: &str,
    verb: &str,
) -> Result<&'r GameSession, ServiceError> {
    let session = region
        .sessions
        .get(arn)
        .ok_or_else(|| ServiceError::not_found(format!("Game session {arn} not found.")))?;
    if !matches!(
        session.status,
        GameSessionStatus::Active | GameSessionStatus::Activating
    ) {
        return Err(ServiceError::new(
            "InvalidGameSessionStatusException",
            format!(
                "Game session {arn} is {} and cannot be {verb}.",
                session.status.as_str()
            ),
        ));
    }
    Ok(session)
}
