//! Fleets, locations and runtime configuration.

use super::*;

impl Service {
    // ----- fleets, locations, computes -------------------------------------------------------

    pub(super) fn create_fleet(&self, region: &str, input: &Value) -> Result<Value, ServiceError> {
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

    pub(super) fn describe_fleet_attributes(
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

    pub(super) fn list_fleets(&self, region: &str, input: &Value) -> Result<Value, ServiceError> {
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

    pub(super) fn delete_fleet(&self, region: &str, input: &Value) -> Result<Value, ServiceError> {
        let mut reader = Input::new(input);
        let fleet = reader.str("FleetId", FLEET_ID.required());
        reader.finish()?;
        let fleet_id = strip_arn(&fleet.unwrap_or_default(), "fleet/");
        self.with_region(region, |region, _| {
            if !region.fleets.contains_key(&fleet_id) {
                return Err(ServiceError::not_found(format!("Fleet {fleet_id} not found.")));
            }
            let live = region
                .fleet_sessions(&fleet_id)
                .filter(|s| {
                    matches!(s.status, GameSessionStatus::Active | GameSessionStatus::Activating)
                })
                .count();
            if live > 0 {
                return Err(ServiceError::new(ErrorCode::InvalidFleetStatus,
                    format!("Fleet {fleet_id} still has {live} active game sessions; terminate them first."),
                ));
            }
            region.fleets.remove(&fleet_id);
            region.computes.retain(|(fleet, _), _| *fleet != fleet_id);
            Ok(Value::map())
        })
    }

    pub(super) fn create_location(
        &self,
        region: &str,
        input: &Value,
    ) -> Result<Value, ServiceError> {
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

    pub(super) fn list_locations(
        &self,
        region: &str,
        input: &Value,
    ) -> Result<Value, ServiceError> {
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
}

impl Service {
    // ----- runtime configuration ---------------------------------------------------------------

    pub(super) fn describe_runtime_configuration(
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

    pub(super) fn update_runtime_configuration(
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
}
