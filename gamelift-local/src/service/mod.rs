//! The control plane operations, one module per resource family, independent of the wire
//! protocol: this module dispatches; the lifecycle (placement, ending, timers) is in
//! `crate::lifecycle` and the state in `crate::state`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::clock::Clock;
pub use crate::config::ServiceConfig;
use crate::error::{ErrorCode, ServiceError};
use crate::lifecycle::{Extra, NewSession, create_session, end_session, reserve_player, try_place};
use crate::search;
use crate::state::{
    ACCOUNT, Alias, AuthToken, Compute, Fleet, GameSession, GameSessionStatus, Location, Placement,
    PlacementStatus, PlayerSession, Queue, Region, RuntimeConfiguration, ServerProcess, State,
    Timer, fleet_arn, new_id, strip_arn,
};
use crate::validate::{self as v, Input, Int, Str};
use crate::views::seconds;
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
    "CreateMatchmakingRuleSet",
    "ValidateMatchmakingRuleSet",
    "DescribeMatchmakingRuleSets",
    "DeleteMatchmakingRuleSet",
    "CreateMatchmakingConfiguration",
    "DescribeMatchmakingConfigurations",
    "UpdateMatchmakingConfiguration",
    "DeleteMatchmakingConfiguration",
    "StartMatchmaking",
    "DescribeMatchmaking",
    "StopMatchmaking",
    "AcceptMatch",
    "StartMatchBackfill",
];

/// The AWS Regions a request may name (with the service's own `--region`). Any other Region in a
/// credential scope is refused, so a client cannot make the service keep state for made-up
/// Regions.
pub const KNOWN_REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-7",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-south-1",
    "eu-south-2",
    "eu-north-1",
    "il-central-1",
    "me-south-1",
    "me-central-1",
    "mx-central-1",
    "sa-east-1",
    "us-gov-east-1",
    "us-gov-west-1",
    "cn-north-1",
    "cn-northwest-1",
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

/// The control plane: every operation, over shared state guarded by one lock, so each request is
/// applied whole or not at all.
pub struct Service {
    pub(crate) config: ServiceConfig,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) state: Mutex<State>,
    /// When the service started, for the health report.
    pub(crate) started: std::time::Instant,
    /// Server SDK connections open now (bounded by `max_connections`).
    pub(crate) websockets: std::sync::atomic::AtomicUsize,
    /// The state directory, if the state is kept on disk.
    pub(crate) persistence: Option<Arc<crate::persist::Persistence>>,
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
            websockets: std::sync::atomic::AtomicUsize::new(0),
            persistence: None,
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
        {
            let mut state = self.state.lock();
            let before = now.saturating_sub(self.config.retention_millis);
            let mut changed = state.run_timers(now, &self.config);
            for region in state.regions.values_mut() {
                changed |= region.forget_finished(before) > 0;
            }
            if changed && let Some(persistence) = &self.persistence {
                persistence.mark_dirty();
            }
        }
        self.matchmaking_pass();
    }

    /// Locks the state for a change: with a state directory, the change is written within a
    /// second even if no request waits for it.
    pub(crate) fn write_state(&self) -> parking_lot::MutexGuard<'_, State> {
        if let Some(persistence) = &self.persistence {
            persistence.mark_dirty();
        }
        self.state.lock()
    }

    /// Waits until every change made so far is on disk (at once without a state directory).
    pub(crate) async fn durable(&self) -> Result<(), ServiceError> {
        match &self.persistence {
            None => Ok(()),
            Some(persistence) => persistence
                .durable()
                .await
                .map_err(|message| ServiceError::new(ErrorCode::InternalService, message)),
        }
    }

    /// Whether a control-plane operation may walk many sessions (in bounded, locked steps), and
    /// so runs on a blocking thread rather than holding up the requests that share its worker.
    pub(crate) fn walks(operation: &str) -> bool {
        matches!(
            operation,
            "SearchGameSessions"
                | "DescribeGameSessions"
                | "DescribeGameSessionDetails"
                | "DescribePlayerSessions"
        )
    }

    /// Whether a control-plane operation may change the state (and so is answered only once the
    /// change is on disk).
    pub(crate) fn changes_state(operation: &str) -> bool {
        let reads = ["Describe", "List", "Search", "Resolve", "Validate"];
        !(reads.iter().any(|prefix| operation.starts_with(prefix))
            || operation == "GameLiftLocal.ListSessionInvites")
    }

    /// Replaces the state with one read from the state directory, and prepares it to run again:
    /// indexes are rebuilt, and every server process is taken as disconnected, with the
    /// reconnect grace to come back in (its session ends as usual if it does not).
    pub(crate) fn restore(&self, mut restored: State) {
        let now = self.clock.now_millis();
        let grace = self.config.reconnect_grace_millis;
        let mut timers = Vec::new();
        for (name, region) in &mut restored.regions {
            region.rebuild_index();
            for process in region.processes.values_mut() {
                process.last_healthy_millis = now;
                if !process.ended && process.disconnected_since.is_none() {
                    process.disconnected_since = Some(now);
                    timers.push((
                        now.saturating_add(grace),
                        Timer::ReconnectGrace {
                            region: name.clone(),
                            process: process.id.clone(),
                            since: now,
                        },
                    ));
                }
            }
        }
        for (at, timer) in timers {
            restored.timer_seq += 1;
            restored.timers.insert((at, restored.timer_seq), timer);
        }
        *self.state.lock() = restored;
    }

    /// Handles one operation. `region` is the Region from the request's signature, if any.
    pub fn call(
        &self,
        operation: &str,
        region: Option<&str>,
        input: &Value,
    ) -> Result<Value, ServiceError> {
        let region = region.unwrap_or(&self.config.region);
        if region != self.config.region && !KNOWN_REGIONS.contains(&region) {
            return Err(ServiceError::new(
                ErrorCode::UnsupportedRegion,
                format!(
                    "`{}` is not an AWS Region (the Region comes from the request's SigV4 credential scope); use one such as {}",
                    region.chars().take(64).collect::<String>(),
                    self.config.region
                ),
            ));
        }
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
            "CreateMatchmakingRuleSet" => self.create_matchmaking_rule_set(region, input),
            "ValidateMatchmakingRuleSet" => self.validate_matchmaking_rule_set(input),
            "DescribeMatchmakingRuleSets" => self.describe_matchmaking_rule_sets(region, input),
            "DeleteMatchmakingRuleSet" => self.delete_matchmaking_rule_set(region, input),
            "CreateMatchmakingConfiguration" => {
                self.create_matchmaking_configuration(region, input)
            }
            "DescribeMatchmakingConfigurations" => {
                self.describe_matchmaking_configurations(region, input)
            }
            "UpdateMatchmakingConfiguration" => {
                self.update_matchmaking_configuration(region, input)
            }
            "DeleteMatchmakingConfiguration" => {
                self.delete_matchmaking_configuration(region, input)
            }
            "StartMatchmaking" => self.start_matchmaking(region, input),
            "DescribeMatchmaking" => self.describe_matchmaking(region, input),
            "StopMatchmaking" => self.stop_matchmaking(region, input),
            "AcceptMatch" => self.accept_match(region, input),
            "StartMatchBackfill" => self.start_match_backfill(region, input),
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
        let mut state = self.write_state();
        state.run_timers(now, &self.config);
        let (regions, mut extra) = state.split(now, &self.config);
        if !regions.contains_key(region) {
            regions.insert(region.to_string(), Region::new(region));
        }
        let Some(region_state) = regions.get_mut(region) else {
            return Err(ServiceError::new(
                ErrorCode::InternalService,
                "region state missing",
            ));
        };
        work(region_state, &mut extra)
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
                    ErrorCode::TerminalRoutingStrategy,
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

mod aliases;
mod compute;
mod fleets;
mod game_sessions;
mod matchmaking;
mod player_sessions;
mod queues;
