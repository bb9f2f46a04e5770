//! FlexMatch: rule sets, matchmaking configurations, tickets, acceptance and backfill; and the
//! matchmaker's passes.

use std::collections::BTreeMap;

use super::*;
use crate::flexmatch::engine::{self, MatchPlayer};
use crate::flexmatch::expr::Attr;
use crate::flexmatch::{Configuration, RuleSetRecord, TicketStatus, rules};
use crate::matchmaking::{self as mm, Refusal};

const MM_NAME: Str = Str::len(1, 128).pattern(&v::MATCHMAKING_NAME);
const CONFIGURATION: Str = Str::len(1, 256).pattern(&v::CONFIGURATION_NAME_OR_ARN);
const RULE_SET: Str = Str::len(1, 256).pattern(&v::RULE_SET_NAME_OR_ARN);
const TICKET_ID: Str = Str::len(0, 128).pattern(&v::TICKET_ID);
const MM_LIMIT: Int = Int::range(1, 10);

fn refused(refusal: Refusal) -> ServiceError {
    match refusal {
        Refusal::NotFound(message) => ServiceError::not_found(message),
        Refusal::Invalid(message) | Refusal::Conflict(message) => ServiceError::invalid(message),
    }
}

/// Reads a list of `Player` structures.
fn players(reader: &mut Input<'_>, max: usize) -> Option<Vec<MatchPlayer>> {
    reader.struct_list("Players", 1, max, true, |item| {
        let id = item.str("PlayerId", PLAYER_ID.required());
        let team = item.str("Team", Str::len(1, 1024));
        let attributes = item
            .map_of("PlayerAttributes", 10, |value, name, _| {
                if name.is_empty() || name.len() > 1024 {
                    value.reject(format!(
                        "attribute name '{name}' must be 1 to 1024 characters"
                    ));
                    return None;
                }
                let s = value.str("S", Str::len(1, 100));
                let n = value.float("N");
                let sl = value.str_list("SL", 0, 100, false, Str::len(1, 100));
                let sdm = value.map_of("SDM", 10, |entry, key, raw| {
                    if key.len() > 100 {
                        entry.reject(format!("SDM key '{key}' is longer than 100 characters"));
                    }
                    match raw {
                        Value::Int(i) => Some(*i as f64),
                        Value::Float(f) => Some(*f),
                        _ => {
                            entry.reject(format!("SDM value of '{key}' must be a number"));
                            None
                        }
                    }
                });
                let given = [s.is_some(), n.is_some(), sl.is_some(), sdm.is_some()]
                    .iter()
                    .filter(|g| **g)
                    .count();
                if given != 1 {
                    value.reject(format!(
                        "attribute '{name}' must have exactly one of S, N, SL or SDM, not {given}"
                    ));
                    return None;
                }
                Some(match (s, n, sl, sdm) {
                    (Some(s), ..) => Attr::Str(s),
                    (_, Some(n), ..) => Attr::Num(n),
                    (_, _, Some(mut sl), _) => {
                        // Duplicates after the first are ignored.
                        let mut seen = std::collections::BTreeSet::new();
                        sl.retain(|item| seen.insert(item.clone()));
                        Attr::StrList(sl)
                    }
                    (_, _, _, Some(sdm)) => Attr::NumMap(sdm.into_iter().collect()),
                    _ => return None,
                })
            })
            .unwrap_or_default();
        let latency = item
            .map_of("LatencyInMs", 100, |value, name, raw| match raw {
                Value::Int(ms) if *ms >= 1 && !name.is_empty() => Some(*ms as f64),
                _ => {
                    value.reject(format!(
                        "LatencyInMs.{name} must be a whole number of milliseconds, at least 1"
                    ));
                    None
                }
            })
            .unwrap_or_default();
        Some(MatchPlayer {
            id: id?,
            attributes: attributes.into_iter().collect::<BTreeMap<_, _>>(),
            latency,
            team,
        })
    })
}

fn rule_set_value(record: &RuleSetRecord) -> Value {
    Value::map()
        .with("RuleSetName", &record.name)
        .with("RuleSetArn", &record.arn)
        .with("RuleSetBody", &record.body)
        .with("CreationTime", seconds(record.creation_millis))
}

fn configuration_value(c: &Configuration) -> Value {
    Value::map()
        .with("Name", &c.name)
        .with("ConfigurationArn", &c.arn)
        .with_opt("Description", c.description.as_ref())
        .with(
            "GameSessionQueueArns",
            c.queue_arns.iter().map(Value::from).collect::<Vec<_>>(),
        )
        .with("RequestTimeoutSeconds", c.request_timeout_seconds)
        .with_opt("AcceptanceTimeoutSeconds", c.acceptance_timeout_seconds)
        .with("AcceptanceRequired", c.acceptance_required)
        .with("RuleSetName", &c.rule_set_name)
        .with("RuleSetArn", &c.rule_set_arn)
        .with_opt("NotificationTarget", c.notification_target.as_ref())
        .with("AdditionalPlayerCount", c.additional_player_count)
        .with_opt("CustomEventData", c.custom_event_data.as_ref())
        .with("CreationTime", seconds(c.creation_millis))
        .with(
            "GameProperties",
            c.game_properties
                .iter()
                .map(|(k, v)| Value::map().with("Key", k).with("Value", v))
                .collect::<Vec<_>>(),
        )
        .with_opt("GameSessionData", c.game_session_data.as_ref())
        .with_opt("BackfillMode", c.backfill_mode.as_ref())
        .with(
            "FlexMatchMode",
            if c.standalone {
                "STANDALONE"
            } else {
                "WITH_QUEUE"
            },
        )
}

/// The fields of a configuration a Create or Update may set.
#[derive(Default)]
struct ConfigurationInput {
    description: Option<String>,
    queue_arns: Option<Vec<String>>,
    request_timeout: Option<i64>,
    acceptance_timeout: Option<i64>,
    acceptance_required: Option<bool>,
    rule_set: Option<String>,
    notification_target: Option<String>,
    additional: Option<i64>,
    custom_event_data: Option<String>,
    game_properties: Option<Vec<(String, String)>>,
    game_session_data: Option<String>,
    backfill_mode: Option<String>,
    mode: Option<String>,
}

fn configuration_input(reader: &mut Input<'_>, create: bool) -> ConfigurationInput {
    ConfigurationInput {
        description: reader.str("Description", Str::len(1, 1024)),
        queue_arns: reader.str_list(
            "GameSessionQueueArns",
            0,
            10,
            false,
            Str::len(1, 512).pattern(&v::QUEUE_ARN),
        ),
        request_timeout: reader.int(
            "RequestTimeoutSeconds",
            if create {
                Int::range(1, 43200).required()
            } else {
                Int::range(1, 43200)
            },
        ),
        acceptance_timeout: reader.int("AcceptanceTimeoutSeconds", Int::range(1, 600)),
        acceptance_required: reader.bool("AcceptanceRequired", create),
        rule_set: reader.str(
            "RuleSetName",
            if create {
                RULE_SET.required()
            } else {
                RULE_SET
            },
        ),
        notification_target: reader
            .str("NotificationTarget", Str::len(0, 300).pattern(&v::SNS_ARN)),
        additional: reader.int("AdditionalPlayerCount", Int::at_least(0)),
        custom_event_data: reader.str("CustomEventData", Str::len(0, 256)),
        game_properties: reader.game_properties("GameProperties"),
        game_session_data: reader.str("GameSessionData", Str::len(1, 4096)),
        backfill_mode: reader.str("BackfillMode", Str::one_of(&["AUTOMATIC", "MANUAL"])),
        mode: reader.str("FlexMatchMode", Str::one_of(&["STANDALONE", "WITH_QUEUE"])),
    }
}

impl Service {
    pub(super) fn create_matchmaking_rule_set(
        &self,
        region: &str,
        input: &Value,
    ) -> Result<Value, ServiceError> {
        let mut reader = Input::new(input);
        let name = reader.str("Name", MM_NAME.required());
        let body = reader.str("RuleSetBody", Str::len(1, 65535).required());
        let _tags = reader.tags("Tags");
        reader.finish()?;
        let (name, body) = (name.unwrap_or_default(), body.unwrap_or_default());
        rules::parse(&body).map_err(|errors| {
            ServiceError::invalid(format!("Rule set {name} is not valid: {errors}"))
        })?;
        self.with_region(region, |region, extra| {
            if region.matchmaking.rule_sets.contains_key(&name) {
                return Err(ServiceError::invalid(format!(
                    "A matchmaking rule set named {name} already exists."
                )));
            }
            let record = RuleSetRecord {
                arn: mm::rule_set_arn(&region.name, &name),
                name: name.clone(),
                body,
                creation_millis: extra.now,
            };
            let value = rule_set_value(&record);
            region.matchmaking.rule_sets.insert(name, record);
            Ok(Value::map().with("RuleSet", value))
        })
    }

    pub(super) fn validate_matchmaking_rule_set(
        &self,
        input: &Value,
    ) -> Result<Value, ServiceError> {
        let mut reader = Input::new(input);
        let body = reader.str("RuleSetBody", Str::len(1, 65535).required());
        reader.finish()?;
        rules::parse(&body.unwrap_or_default()).map_err(|errors| {
            ServiceError::invalid(format!("The rule set is not valid: {errors}"))
        })?;
        Ok(Value::map().with("Valid", true))
    }

    pub(super) fn describe_matchmaking_rule_sets(
        &self,
        region: &str,
        input: &Value,
    ) -> Result<Value, ServiceError> {
        let mut reader = Input::new(input);
        let names = reader.str_list("Names", 1, 10, false, RULE_SET);
        let limit = reader.int("Limit", MM_LIMIT);
        let token = reader.str("NextToken", NEXT_TOKEN);
        reader.finish()?;
        self.with_region(region, |region, _| {
            let records: Vec<Value> = match &names {
                Some(names) => names
                    .iter()
                    .map(|n| {
                        let name = strip_arn(n, "matchmakingruleset/");
                        region
                            .matchmaking
                            .rule_sets
                            .get(&name)
                            .map(rule_set_value)
                            .ok_or_else(|| {
                                ServiceError::not_found(format!(
                                    "Matchmaking rule set {name} not found."
                                ))
                            })
                    })
                    .collect::<Result<_, _>>()?,
                None => region
                    .matchmaking
                    .rule_sets
                    .values()
                    .map(rule_set_value)
                    .collect(),
            };
            let (page, next) = paginate(
                "DescribeMatchmakingRuleSets",
                &records,
                Some(limit.unwrap_or(10)),
                token.as_deref(),
            )?;
            Ok(page_output("RuleSets", page, next))
        })
    }

    pub(super) fn delete_matchmaking_rule_set(
        &self,
        region: &str,
        input: &Value,
    ) -> Result<Value, ServiceError> {
        let mut reader = Input::new(input);
        let name = reader.str("Name", RULE_SET.required());
        reader.finish()?;
        let name = strip_arn(&name.unwrap_or_default(), "matchmakingruleset/");
        self.with_region(region, |region, _| {
            if !region.matchmaking.rule_sets.contains_key(&name) {
                return Err(ServiceError::not_found(format!(
                    "Matchmaking rule set {name} not found."
                )));
            }
            if let Some(user) = region
                .matchmaking
                .configurations
                .values()
                .find(|c| c.rule_set_name == name)
            {
                return Err(ServiceError::invalid(format!(
                    "Matchmaking rule set {name} is used by matchmaking configuration {}; delete or change the configuration first.",
                    user.name
                )));
            }
            region.matchmaking.rule_sets.remove(&name);
            region.matchmaking.forget_compiled(&name);
            Ok(Value::map())
        })
    }

    /// Checks a configuration against its rule set and queues; fills `configuration` in.
    fn check_configuration(
        region: &mut Region,
        configuration: &mut Configuration,
    ) -> Result<(), ServiceError> {
        let Some(levels) = region.matchmaking.levels(&configuration.rule_set_name) else {
            return Err(ServiceError::not_found(format!(
                "Matchmaking rule set {} not found.",
                configuration.rule_set_name
            )));
        };
        configuration.rule_set_arn = mm::rule_set_arn(&region.name, &configuration.rule_set_name);
        let rule_set = levels.at(0.0);
        if configuration.standalone {
            if !configuration.queue_arns.is_empty() {
                return Err(ServiceError::invalid(
                    "GameSessionQueueArns cannot be set when FlexMatchMode is STANDALONE",
                ));
            }
            if configuration.backfill_mode.as_deref() == Some("AUTOMATIC") {
                return Err(ServiceError::invalid(
                    "BackfillMode AUTOMATIC is not available when FlexMatchMode is STANDALONE",
                ));
            }
        } else {
            if configuration.queue_arns.is_empty() {
                return Err(ServiceError::invalid(
                    "GameSessionQueueArns must name a game session queue when FlexMatchMode is WITH_QUEUE",
                ));
            }
            for arn in &configuration.queue_arns {
                let name = strip_arn(arn, "gamesessionqueue/");
                if !region.queues.contains_key(&name) {
                    return Err(ServiceError::not_found(format!(
                        "Game session queue {arn} not found."
                    )));
                }
            }
        }
        let longest = rule_set.longest_wait();
        if longest > configuration.request_timeout_seconds as f64 {
            return Err(ServiceError::invalid(format!(
                "Rule set {} has an expansion step at {longest} s, after RequestTimeoutSeconds {}",
                configuration.rule_set_name, configuration.request_timeout_seconds
            )));
        }
        if configuration.additional_player_count >= rule_set.match_size() {
            return Err(ServiceError::invalid(format!(
                "AdditionalPlayerCount {} leaves no room in a match of {} players",
                configuration.additional_player_count,
                rule_set.match_size()
            )));
        }
        Ok(())
    }

    pub(super) fn create_matchmaking_configuration(
        &self,
        region: &str,
        input: &Value,
    ) -> Result<Value, ServiceError> {
        let mut reader = Input::new(input);
        let name = reader.str("Name", MM_NAME.required());
        let fields = configuration_input(&mut reader, true);
        let _tags = reader.tags("Tags");
        reader.finish()?;
        let name = name.unwrap_or_default();
        self.with_region(region, |region, extra| {
            if region.matchmaking.configurations.contains_key(&name) {
                return Err(ServiceError::invalid(format!(
                    "A matchmaking configuration named {name} already exists."
                )));
            }
            let mut configuration = Configuration {
                arn: mm::configuration_arn(&region.name, &name),
                name: name.clone(),
                description: fields.description,
                rule_set_name: strip_arn(
                    &fields.rule_set.unwrap_or_default(),
                    "matchmakingruleset/",
                ),
                rule_set_arn: String::new(),
                request_timeout_seconds: fields.request_timeout.unwrap_or(1),
                acceptance_required: fields.acceptance_required.unwrap_or(false),
                acceptance_timeout_seconds: fields.acceptance_timeout,
                standalone: fields.mode.as_deref() == Some("STANDALONE"),
                queue_arns: fields.queue_arns.unwrap_or_default(),
                additional_player_count: fields.additional.unwrap_or(0),
                backfill_mode: fields.backfill_mode,
                game_properties: fields.game_properties.unwrap_or_default(),
                game_session_data: fields.game_session_data,
                notification_target: fields.notification_target,
                custom_event_data: fields.custom_event_data,
                creation_millis: extra.now,
            };
            Self::check_configuration(region, &mut configuration)?;
            let value = configuration_value(&configuration);
            region
                .matchmaking
                .configurations
                .insert(name, configuration);
            Ok(Value::map().with("Configuration", value))
        })
    }

    pub(super) fn describe_matchmaking_configurations(
        &self,
        region: &str,
        input: &Value,
    ) -> Result<Value, ServiceError> {
        let mut reader = Input::new(input);
        let names = reader.str_list("Names", 0, 10, false, CONFIGURATION);
        let rule_set = reader.str("RuleSetName", RULE_SET);
        let limit = reader.int("Limit", MM_LIMIT);
        let token = reader.str("NextToken", NEXT_TOKEN);
        reader.finish()?;
        self.with_region(region, |region, _| {
            let rule_set = rule_set
                .as_deref()
                .map(|r| strip_arn(r, "matchmakingruleset/"));
            let records: Vec<Value> = region
                .matchmaking
                .configurations
                .values()
                .filter(|c| {
                    names.as_ref().is_none_or(|names| {
                        names
                            .iter()
                            .any(|n| strip_arn(n, "matchmakingconfiguration/") == c.name)
                    })
                })
                .filter(|c| rule_set.as_ref().is_none_or(|r| *r == c.rule_set_name))
                .map(configuration_value)
                .collect();
            let (page, next) = paginate(
                "DescribeMatchmakingConfigurations",
                &records,
                Some(limit.unwrap_or(10)),
                token.as_deref(),
            )?;
            Ok(page_output("Configurations", page, next))
        })
    }

    pub(super) fn update_matchmaking_configuration(
        &self,
        region: &str,
        input: &Value,
    ) -> Result<Value, ServiceError> {
        let mut reader = Input::new(input);
        let name = reader.str("Name", CONFIGURATION.required());
        let fields = configuration_input(&mut reader, false);
        reader.finish()?;
        let name = strip_arn(&name.unwrap_or_default(), "matchmakingconfiguration/");
        self.with_region(region, |region, _| {
            let Some(mut configuration) = region.matchmaking.configurations.get(&name).cloned()
            else {
                return Err(ServiceError::not_found(format!(
                    "Matchmaking configuration {name} not found."
                )));
            };
            let c = &mut configuration;
            if let Some(value) = fields.description {
                c.description = Some(value);
            }
            if let Some(value) = fields.queue_arns {
                c.queue_arns = value;
            }
            if let Some(value) = fields.request_timeout {
                c.request_timeout_seconds = value;
            }
            if let Some(value) = fields.acceptance_timeout {
                c.acceptance_timeout_seconds = Some(value);
            }
            if let Some(value) = fields.acceptance_required {
                c.acceptance_required = value;
            }
            if let Some(value) = fields.rule_set {
                c.rule_set_name = strip_arn(&value, "matchmakingruleset/");
            }
            if let Some(value) = fields.notification_target {
                c.notification_target = Some(value);
            }
            if let Some(value) = fields.additional {
                c.additional_player_count = value;
            }
            if let Some(value) = fields.custom_event_data {
                c.custom_event_data = Some(value);
            }
            if let Some(value) = fields.game_properties {
                c.game_properties = value;
            }
            if let Some(value) = fields.game_session_data {
                c.game_session_data = Some(value);
            }
            if let Some(value) = fields.backfill_mode {
                c.backfill_mode = Some(value);
            }
            if let Some(value) = fields.mode {
                c.standalone = value == "STANDALONE";
            }
            Self::check_configuration(region, &mut configuration)?;
            let value = configuration_value(&configuration);
            region
                .matchmaking
                .configurations
                .insert(name, configuration);
            Ok(Value::map().with("Configuration", value))
        })
    }

    pub(super) fn delete_matchmaking_configuration(
        &self,
        region: &str,
        input: &Value,
    ) -> Result<Value, ServiceError> {
        let mut reader = Input::new(input);
        let name = reader.str("Name", CONFIGURATION.required());
        reader.finish()?;
        let name = strip_arn(&name.unwrap_or_default(), "matchmakingconfiguration/");
        self.with_region(region, |region, _| {
            if !region.matchmaking.configurations.contains_key(&name) {
                return Err(ServiceError::not_found(format!(
                    "Matchmaking configuration {name} not found."
                )));
            }
            let active = region.matchmaking.active.get(&name).map_or(0, |a| a.len());
            if active > 0 {
                return Err(ServiceError::invalid(format!(
                    "Matchmaking configuration {name} has {active} active tickets; stop them or let them finish first."
                )));
            }
            region.matchmaking.configurations.remove(&name);
            region.matchmaking.active.remove(&name);
            Ok(Value::map())
        })
    }

    pub(super) fn start_matchmaking(
        &self,
        region: &str,
        input: &Value,
    ) -> Result<Value, ServiceError> {
        let mut reader = Input::new(input);
        let ticket = reader.str("TicketId", TICKET_ID);
        let configuration = reader.str("ConfigurationName", CONFIGURATION.required());
        let players = players(&mut reader, 10);
        reader.finish()?;
        let players = players.unwrap_or_default();
        self.with_region(region, |region, extra| {
            let id = mm::start(
                region,
                extra.now,
                &configuration.unwrap_or_default(),
                ticket.filter(|t| !t.is_empty()),
                players,
                None,
            )
            .map_err(refused)?;
            let ticket = &region.matchmaking.tickets[&id];
            Ok(Value::map().with("MatchmakingTicket", mm::ticket_value(region, ticket)))
        })
    }

    pub(super) fn start_match_backfill(
        &self,
        region: &str,
        input: &Value,
    ) -> Result<Value, ServiceError> {
        let mut reader = Input::new(input);
        let ticket = reader.str("TicketId", TICKET_ID);
        let configuration = reader.str("ConfigurationName", CONFIGURATION.required());
        let session = reader.str("GameSessionArn", Str::len(1, 512).pattern(&v::ARN_STRING));
        let players = players(&mut reader, 199);
        reader.finish()?;
        let players = players.unwrap_or_default();
        self.with_region(region, |region, extra| {
            let id = mm::start(
                region,
                extra.now,
                &configuration.unwrap_or_default(),
                ticket.filter(|t| !t.is_empty()),
                players,
                Some(session),
            )
            .map_err(refused)?;
            let ticket = &region.matchmaking.tickets[&id];
            Ok(Value::map().with("MatchmakingTicket", mm::ticket_value(region, ticket)))
        })
    }

    pub(super) fn describe_matchmaking(
        &self,
        region: &str,
        input: &Value,
    ) -> Result<Value, ServiceError> {
        let mut reader = Input::new(input);
        let ids = reader.str_list("TicketIds", 1, 10, true, TICKET_ID);
        reader.finish()?;
        let ids = ids.unwrap_or_default();
        self.with_region(region, |region, _| {
            let tickets: Vec<Value> = ids
                .iter()
                .filter_map(|id| region.matchmaking.tickets.get(id))
                .map(|ticket| mm::ticket_value(region, ticket))
                .collect();
            Ok(Value::map().with("TicketList", tickets))
        })
    }

    pub(super) fn stop_matchmaking(
        &self,
        region: &str,
        input: &Value,
    ) -> Result<Value, ServiceError> {
        let mut reader = Input::new(input);
        let id = reader.str("TicketId", TICKET_ID.required());
        reader.finish()?;
        let id = id.unwrap_or_default();
        self.with_region(region, |region, extra| {
            if !region.matchmaking.tickets.contains_key(&id) {
                return Err(ServiceError::not_found(format!(
                    "Matchmaking ticket {id} not found."
                )));
            }
            mm::stop(region, extra, &id).map_err(ServiceError::invalid)?;
            Ok(Value::map())
        })
    }

    pub(super) fn accept_match(&self, region: &str, input: &Value) -> Result<Value, ServiceError> {
        let mut reader = Input::new(input);
        let id = reader.str("TicketId", TICKET_ID.required());
        let players = reader.str_list("PlayerIds", 1, 10, true, PLAYER_ID);
        let kind = reader.str(
            "AcceptanceType",
            Str::one_of(&["ACCEPT", "REJECT"]).required(),
        );
        reader.finish()?;
        let (id, players) = (id.unwrap_or_default(), players.unwrap_or_default());
        let accept = kind.as_deref() == Some("ACCEPT");
        self.with_region(region, |region, extra| {
            let Some(ticket) = region.matchmaking.tickets.get(&id) else {
                return Err(ServiceError::not_found(format!(
                    "Matchmaking ticket {id} not found."
                )));
            };
            if ticket.status != TicketStatus::RequiresAcceptance {
                return Err(ServiceError::invalid(format!(
                    "Matchmaking ticket {id} is {}; a match can be accepted only while it is REQUIRES_ACCEPTANCE.",
                    ticket.status.as_str()
                )));
            }
            if let Some(stranger) = players
                .iter()
                .find(|p| !ticket.players.iter().any(|tp| &tp.id == *p))
            {
                return Err(ServiceError::invalid(format!(
                    "Player {stranger} is not in matchmaking ticket {id}."
                )));
            }
            let Some(match_id) = ticket.match_id.clone() else {
                return Err(ServiceError::invalid(format!(
                    "Matchmaking ticket {id} has no proposed match."
                )));
            };
            mm::answer(region, extra, &match_id, &players, accept);
            Ok(Value::map())
        })
    }

    /// One pass of the matchmaker: moves tickets along and snapshots the searching ones under
    /// the lock, matches outside it, and applies the matches under the lock again. Returns
    /// whether it changed anything.
    pub(crate) fn matchmaking_pass(&self) -> bool {
        let now = self.clock.now_millis();
        let snapshots: Vec<(String, mm::PoolSnapshot)> = {
            let mut state = self.state.lock();
            let any = state
                .regions
                .values()
                .any(|r| !r.matchmaking.active.is_empty() || !r.matchmaking.sessions.is_empty());
            if !any {
                return false;
            }
            if let Some(persistence) = &self.persistence {
                persistence.mark_dirty();
            }
            let (regions, mut extra) = state.split(now, &self.config);
            let mut out = Vec::new();
            for (name, region) in regions.iter_mut() {
                for snapshot in mm::prepare(region, &mut extra) {
                    out.push((name.clone(), snapshot));
                }
            }
            out
        };
        let found: Vec<(String, mm::PoolSnapshot, Vec<engine::Proposal>)> = snapshots
            .into_iter()
            .map(|(region, snapshot)| {
                let proposals = engine::find_matches(
                    &snapshot.levels,
                    &snapshot.pool,
                    now,
                    snapshot.additional,
                );
                (region, snapshot, proposals)
            })
            .filter(|(_, _, proposals)| !proposals.is_empty())
            .collect();
        if found.is_empty() {
            return true;
        }
        let mut state = self.write_state();
        let (regions, mut extra) = state.split(now, &self.config);
        for (region, snapshot, proposals) in found {
            if let Some(region) = regions.get_mut(&region) {
                mm::apply(region, &mut extra, &snapshot, proposals);
            }
        }
        true
    }
}
