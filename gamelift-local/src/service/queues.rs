//! Game session queues and placements.

use super::*;

impl Service {
    // ----- queues and placements ---------------------------------------------------------------

    pub(super) fn create_game_session_queue(
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

    pub(super) fn describe_game_session_queues(
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

    pub(super) fn start_game_session_placement(
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
                deadline_millis: extra
                    .now
                    .saturating_add((queue.timeout_seconds.max(0) as u64).saturating_mul(1000)),
                game_session_arn: None,
                region: region.name.clone(),
                placed_players: Vec::new(),
                matchmaker_data: None,
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

    pub(super) fn placement_id(&self, input: &Value) -> Result<String, ServiceError> {
        let mut reader = Input::new(input);
        let id = reader.str("PlacementId", ID_STRING.required());
        reader.finish()?;
        Ok(id.unwrap_or_default())
    }

    pub(super) fn describe_game_session_placement(
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

    pub(super) fn stop_game_session_placement(
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
