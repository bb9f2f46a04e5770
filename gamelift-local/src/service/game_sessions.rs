//! Game sessions: create, describe, search, update, terminate.

use super::*;

/// How many game sessions one locked step of a long walk looks at.
const SCAN_STEP: usize = 2048;

/// A game session as `DescribeGameSessions` (or, with `details`, `DescribeGameSessionDetails`)
/// lists it.
fn session_item(session: &GameSession, details: bool) -> Value {
    if details {
        Value::map()
            .with("GameSession", session.to_value())
            .with("ProtectionPolicy", &session.protection)
    } else {
        session.to_value()
    }
}

impl Service {
    // ----- game sessions ---------------------------------------------------------------------

    pub(super) fn create_game_session(
        &self,
        region: &str,
        input: &Value,
    ) -> Result<Value, ServiceError> {
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

    pub(super) fn describe_game_sessions(
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
        let key = if details {
            "GameSessionDetails"
        } else {
            "GameSessions"
        };
        if let Some(arn) = &game_session {
            return self.with_region(region, |region, _| {
                let session = region.sessions.get(arn).ok_or_else(|| {
                    ServiceError::not_found(format!("Game session {arn} not found."))
                })?;
                let matches = location.as_deref().is_none_or(|l| session.location == l)
                    && status
                        .as_deref()
                        .is_none_or(|s| session.status.as_str() == s);
                let items: Vec<Value> = if matches {
                    vec![session_item(session, details)]
                } else {
                    Vec::new()
                };
                Ok(page_output(key, items, None))
            });
        }
        // A fleet's sessions are walked in bounded steps, the lock released between them; the
        // token holds the sequence number where the next page starts.
        let limit = limit.map_or(DEFAULT_LIMIT, |limit| limit.max(1) as usize);
        let mut from = token_offset(operation, token.as_deref())? as u64;
        let fleet_id = self.with_region(region, |region, _| {
            resolve_fleet(region, fleet.as_deref(), alias.as_deref())
        })?;
        let mut items: Vec<(u64, Value)> = Vec::new();
        loop {
            let walked = self.with_region(region, |region, _| {
                let mut walked = 0;
                for session in region.fleet_sessions_from(&fleet_id, from).take(SCAN_STEP) {
                    walked += 1;
                    from = session.seq.saturating_add(1);
                    if location.as_deref().is_none_or(|l| session.location == l)
                        && status
                            .as_deref()
                            .is_none_or(|s| session.status.as_str() == s)
                    {
                        items.push((session.seq, session_item(session, details)));
                        if items.len() > limit {
                            break;
                        }
                    }
                }
                Ok(walked)
            })?;
            if items.len() > limit || walked < SCAN_STEP {
                break;
            }
        }
        let next = (items.len() > limit).then(|| {
            let (seq, _) = &items[limit];
            next_token(operation, *seq as usize)
        });
        items.truncate(limit);
        Ok(page_output(
            key,
            items.into_iter().map(|(_, item)| item).collect::<Vec<_>>(),
            next,
        ))
    }

    pub(super) fn search_game_sessions(
        &self,
        region: &str,
        input: &Value,
    ) -> Result<Value, ServiceError> {
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
        let fleet_id = self.with_region(region, |region, _| {
            resolve_fleet(region, fleet.as_deref(), alias.as_deref())
        })?;
        let (filter, sort, location) = (filter.as_ref(), sort.as_ref(), location.as_deref());
        let render = |page: Vec<&GameSession>, more: bool| {
            let next = more.then(|| next_token("SearchGameSessions", offset + page.len()));
            page_output(
                "GameSessions",
                page.iter()
                    .map(|session| session.to_value())
                    .collect::<Vec<_>>(),
                next,
            )
        };
        // Most searches finish in one bounded pass under the lock.
        let one_pass = self.with_region(region, |region, _| {
            Ok(region
                .search(&fleet_id, location, filter, sort, offset, limit, SCAN_STEP)
                .map(|(page, more)| render(page, more)))
        })?;
        if let Some(output) = one_pass {
            return Ok(output);
        }
        // The rest take the sort keys in bounded steps, releasing the lock between them, and
        // sort outside it.
        let in_creation_order = sort.is_none_or(|sort| {
            sort.operand == search::Operand::CreationTimeMillis && sort.ascending
        });
        let wanted = offset.saturating_add(limit).saturating_add(1);
        let mut keys = Vec::new();
        let mut after = None;
        loop {
            let (step, next) = self.with_region(region, |region, _| {
                Ok(region.search_keys(&fleet_id, location, filter, sort, after, SCAN_STEP))
            })?;
            keys.extend(step);
            after = next;
            if after.is_none() || (in_creation_order && keys.len() >= wanted) {
                break;
            }
        }
        let ordered = crate::state::sort_keys(keys, sort);
        self.with_region(region, |region, _| {
            let (page, more) =
                region.search_page(&fleet_id, &ordered, location, filter, offset, limit);
            Ok(render(page, more))
        })
    }

    pub(super) fn update_game_session(
        &self,
        region: &str,
        input: &Value,
    ) -> Result<Value, ServiceError> {
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
            crate::lifecycle::push_update(region, &arn, sdk5_protocol::UpdateReason::Unknown, None);
            Ok(Value::map().with("GameSession", region.sessions[&arn].to_value()))
        })
    }

    pub(super) fn terminate_game_session(
        &self,
        region: &str,
        input: &Value,
    ) -> Result<Value, ServiceError> {
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
                    crate::lifecycle::terminate_process(region, extra, &process, Some(reason));
                }
                Some(process) => {
                    end_session(
                        region,
                        &arn,
                        GameSessionStatus::Terminated,
                        Some(reason),
                        extra.now,
                    );
                    crate::lifecycle::terminate_process(region, extra, &process, Some(reason));
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
            ErrorCode::InvalidGameSessionStatus,
            format!(
                "Game session {arn} is {} and cannot be {verb}.",
                session.status.as_str()
            ),
        ));
    }
    Ok(session)
}
