//! Player sessions: create and describe.

use super::*;

impl Service {
    // ----- player sessions -------------------------------------------------------------------

    pub(super) fn create_player_sessions(
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
                return Err(ServiceError::new(ErrorCode::InvalidGameSessionStatus,
                    format!(
                        "Game session {arn} is {}; player sessions can only be created while it is ACTIVE.",
                        session.status.as_str()
                    ),
                ));
            }
            if !session.accept_players {
                return Err(ServiceError::new(ErrorCode::GameSessionFull,
                    format!(
                        "Game session {arn} is not accepting new players (PlayerSessionCreationPolicy is DENY_ALL)."
                    ),
                ));
            }
            let free = session.maximum_players - session.slots_used;
            if (players.len() as i64) > free {
                return Err(ServiceError::new(ErrorCode::GameSessionFull,
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

    pub(super) fn describe_player_sessions(
        &self,
        region: &str,
        input: &Value,
    ) -> Result<Value, ServiceError> {
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
                (None, None, Some(player)) => region.player_sessions_of(player).collect(),
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
}
