//! Named sessions on Amazon GameLift: the client manager as the provider of
//! [`NamedSessionRequests`], on the shared [`LocalSessions`] state machine.
//!
//! | named session | GameLift |
//! |---|---|
//! | create (`CreateMode::Now`) | `CreateGameSession` on the configured fleet (or alias), then wait until it is `ACTIVE` (terminated if it never gets there) |
//! | create (`CreateMode::OnStart`) | nothing yet: the settings are kept locally |
//! | start | (`OnStart`: create as above, then `CreatePlayerSession` for the owner, whose connect string is resolved) then, without join in progress, `UpdateGameSession` with policy `DENY_ALL` |
//! | end | `UpdateGameSession` with policy `ACCEPT_ALL` |
//! | update | `UpdateGameSession`: capacity, properties |
//! | destroy | the owner: `TerminateGameSession`; anyone else: the local session only |
//! | find by attributes | `SearchGameSessions` (`ACTIVE`, public sessions; bucket and string equality in the filter expression), every other predicate on the client, at most 200 results |
//! | find by id | `DescribeGameSessions` (any permission level: presence sessions are joined by id) |
//! | find by user | `DescribePlayerSessions` by player id, then the user's live sessions |
//! | join | `CreatePlayerSession`; the connect string is `ip:port` (or DNS) and the player session id |
//! | register / unregister players | the local roster; the game server accepts and removes player sessions (`AcceptPlayerSession`, `RemovePlayerSession`) through the server manager |
//! | session info | the local session, with `connected_players` refreshed from `DescribePlayerSessions` (ACTIVE player sessions: the players the server accepted) |
//!
//! Settings travel in game properties (at most 16, keys up to 32 characters, values up to 96):
//! `_bucket`, `_perm` (`public`, `presence`, `invite`), `_jip` (`1` or `0`), `_owner`, and one
//! property per advertised attribute, named as the attribute, valued `b:`, `i:`, `d:` or `s:`
//! followed by the value. Local attributes never leave the client. [`gamelift_limits`] makes a
//! [`SessionModification`](game_session::named::SessionModification) refuse, as it is built,
//! settings that would not fit.

use std::collections::BTreeMap;
use std::time::Instant;

use game_session::named::*;
use game_session::{SessionConfig, SessionError};

use super::{GameLiftClientManager, read, wait_until_active};
use crate::api::{CreateGameSessionInput, GameLiftApi, SearchInput, UpdateGameSessionInput};

const BUCKET: &str = "_bucket";
const PERMISSION: &str = "_perm";
const JOIN_IN_PROGRESS: &str = "_jip";
const OWNER: &str = "_owner";
/// Properties the settings themselves use.
const RESERVED: usize = 4;
/// GameLift's limits on game properties.
const MAX_PROPERTIES: usize = 16;
const MAX_KEY: usize = 32;
const MAX_VALUE: usize = 96;
/// Search pages read at most for one find.
const MAX_PAGES: usize = 50;

/// The limits of named sessions on GameLift: 200 players, 12 attributes (16 game properties less
/// the 4 the settings use), names up to 32 characters and string values up to 94 (96 less the
/// type prefix).
pub fn gamelift_limits() -> Limits {
    Limits {
        max_players: 200,
        max_attributes: MAX_PROPERTIES - RESERVED,
        max_attribute_name: MAX_KEY,
        max_attribute_value: MAX_VALUE - 2,
        ..Limits::default()
    }
}

fn encode_value(value: &AttributeValue) -> String {
    match value {
        AttributeValue::Bool(v) => format!("b:{v}"),
        AttributeValue::Int(v) => format!("i:{v}"),
        AttributeValue::Double(v) => format!("d:{v}"),
        AttributeValue::String(v) => format!("s:{v}"),
    }
}

fn decode_value(text: &str) -> Option<AttributeValue> {
    let (kind, value) = text.split_once(':')?;
    Some(match kind {
        "b" => AttributeValue::Bool(value.parse().ok()?),
        "i" => AttributeValue::Int(value.parse().ok()?),
        "d" => AttributeValue::Double(value.parse().ok()?),
        "s" => AttributeValue::String(value.to_string()),
        _ => return None,
    })
}

fn permission_name(permission: PermissionLevel) -> &'static str {
    match permission {
        PermissionLevel::PublicAdvertised => "public",
        PermissionLevel::JoinViaPresence => "presence",
        PermissionLevel::InviteOnly => "invite",
    }
}

/// The game properties that carry `settings`, or an error naming what does not fit.
pub fn encode_properties(
    settings: &SessionSettings,
    owner: &str,
) -> Result<BTreeMap<String, String>, NamedSessionError> {
    let mut properties = BTreeMap::new();
    let mut put = |key: &str, value: String| -> Result<(), NamedSessionError> {
        if key.chars().count() > MAX_KEY {
            return Err(NamedSessionError::invalid(
                format!("attribute {key:?}"),
                format!("GameLift property names are at most {MAX_KEY} characters"),
            ));
        }
        if value.chars().count() > MAX_VALUE {
            return Err(NamedSessionError::invalid(
                format!("{key:?}"),
                format!("GameLift property values are at most {MAX_VALUE} characters"),
            ));
        }
        properties.insert(key.to_string(), value);
        Ok(())
    };
    put(BUCKET, settings.bucket_id.clone())?;
    put(PERMISSION, permission_name(settings.permission).into())?;
    put(
        JOIN_IN_PROGRESS,
        if settings.join_in_progress { "1" } else { "0" }.into(),
    )?;
    put(OWNER, owner.to_string())?;
    for (name, value) in settings.advertised() {
        if name.starts_with('_') {
            return Err(NamedSessionError::invalid(
                format!("attribute {name:?}"),
                "names starting with '_' are reserved on GameLift",
            ));
        }
        put(name, encode_value(value))?;
    }
    if properties.len() > MAX_PROPERTIES {
        return Err(NamedSessionError::LimitExceeded {
            what: "advertised attributes on GameLift".into(),
            limit: MAX_PROPERTIES - RESERVED,
        });
    }
    Ok(properties)
}

/// A found GameLift session as named-session details, decoded from its properties.
pub fn session_details(config: &SessionConfig) -> SessionDetails {
    let properties = &config.session_properties;
    let permission = match properties.get(PERMISSION).map(String::as_str) {
        Some("presence") => PermissionLevel::JoinViaPresence,
        Some("invite") => PermissionLevel::InviteOnly,
        _ => PermissionLevel::PublicAdvertised,
    };
    let attributes = properties
        .iter()
        .filter(|(key, _)| !key.starts_with('_'))
        .filter_map(|(key, value)| {
            decode_value(value).map(|value| {
                (
                    key.clone(),
                    Attribute {
                        value,
                        advertisement: Advertisement::Advertised,
                    },
                )
            })
        })
        .collect();
    let host = if !config.dns_name.is_empty() {
        Some(format!("{}:{}", config.dns_name, config.port))
    } else if !config.ip_address.is_empty() {
        Some(format!("{}:{}", config.ip_address, config.port))
    } else {
        None
    };
    SessionDetails {
        session_id: config.session_id.clone(),
        owner: properties.get(OWNER).cloned().filter(|o| !o.is_empty()),
        settings: SessionSettings {
            bucket_id: properties.get(BUCKET).cloned().unwrap_or_default(),
            max_players: config.max_players,
            permission,
            join_in_progress: properties.get(JOIN_IN_PROGRESS).map(String::as_str) == Some("1"),
            attributes,
            ..SessionSettings::default()
        },
        player_count: config.current_players,
        registered_players: Vec::new(),
        host_address: host,
    }
}

/// The search as a GameLift filter expression: what GameLift can evaluate (public sessions,
/// bucket, string equality); the rest is checked on the client.
fn filter_expression(search: &SessionSearch) -> String {
    let mut terms = vec![format!("gameSessionProperties.{PERMISSION} = 'public'")];
    let quoted =
        |text: &str| (!text.contains('\'') && !text.contains('\\')).then(|| format!("'{text}'"));
    if let SearchMode::Attributes {
        predicates, bucket, ..
    } = &search.mode
    {
        if let Some(bucket) = bucket.as_deref().and_then(quoted) {
            terms.push(format!("gameSessionProperties.{BUCKET} = {bucket}"));
        }
        for predicate in predicates {
            if let (Comparison::Equal, [AttributeValue::String(value)]) =
                (predicate.comparison, predicate.values.as_slice())
                && predicate
                    .key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                && let Some(value) = quoted(&format!("s:{value}"))
            {
                terms.push(format!("gameSessionProperties.{} = {value}", predicate.key));
            }
        }
    }
    terms.join(" AND ")
}

fn backend(error: SessionError) -> NamedSessionError {
    NamedSessionError::Backend(error)
}

impl GameLiftClientManager {
    /// Joins a found (or invited-to) session under the local `name`.
    fn join_found(
        &self,
        user: &str,
        name: &str,
        session: &SessionDetails,
    ) -> Result<NamedSessionInfo, NamedSessionError> {
        let ticket = self.named(|s| {
            s.begin_join(
                user,
                name,
                session.settings.clone(),
                session.owner.clone(),
                Instant::now(),
            )
        })?;
        let answer = self
            .join_backend_session(user, &session.session_id)
            .map(|connect| BackendSession {
                session_id: Some(session.session_id.clone()),
                connect: Some(connect),
            });
        self.named(|s| s.finish(ticket, answer))
    }

    fn named_api(&self) -> Result<std::sync::Arc<dyn GameLiftApi>, NamedSessionError> {
        self.api().map_err(backend)
    }

    fn named<T>(&self, work: impl FnOnce(&mut LocalSessions) -> T) -> T {
        let mut sessions = self
            .shared
            .named
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let result = work(&mut sessions);
        let changes = sessions.drain_changes();
        drop(sessions);
        for change in changes {
            NAMED_SESSION_NOTIFICATIONS
                .broadcast(|listener| listener.on_session_state_changed(&change));
        }
        result
    }

    /// Creates the backend session for `settings` owned by `owner`; waits until it is ACTIVE.
    fn create_backend_session(
        &self,
        owner: &str,
        name: &str,
        settings: &SessionSettings,
    ) -> Result<BackendSession, NamedSessionError> {
        let api = self.named_api()?;
        let config = read(&self.shared.config);
        let properties = encode_properties(settings, owner)?;
        let input = CreateGameSessionInput {
            fleet_id: config.fleet_id.clone(),
            alias_id: if config.fleet_id.is_none() {
                config.alias_id.clone()
            } else {
                None
            },
            location: config.location.clone(),
            max_players: settings.max_players,
            name: Some(name.to_string()),
            creator_id: Some(owner.to_string()),
            properties,
            idempotency_token: settings.session_id_override.clone(),
        };
        if input.fleet_id.is_none() && input.alias_id.is_none() {
            return Err(NamedSessionError::invalid(
                "placement",
                "no fleet or alias is configured (GAMELIFT_FLEET_ID or GAMELIFT_ALIAS_ID)",
            ));
        }
        let created = self
            .block(async move {
                let created = api.create_game_session(&input).await?;
                wait_until_active(api.as_ref(), &created.session_id, created.status, &config)
                    .await?;
                Ok::<_, SessionError>(created)
            })
            .map_err(backend)?
            .map_err(backend)?;
        Ok(BackendSession {
            session_id: Some(created.session_id),
            connect: None,
        })
    }

    /// A player session for `player` in `session_id`, as a connect string.
    fn join_backend_session(
        &self,
        player: &str,
        session_id: &str,
    ) -> Result<ConnectInfo, NamedSessionError> {
        let api = self.named_api()?;
        let (player, session_id) = (player.to_string(), session_id.to_string());
        let joined = self
            .block(async move { api.create_player_session(&session_id, &player, None).await })
            .map_err(backend)?
            .map_err(|error| match error {
                SessionError::Service { code, message }
                    if code == "GameSessionFullException" && message.contains("DENY_ALL") =>
                {
                    NamedSessionError::NoPermission(format!(
                        "the session started and does not allow joining in progress ({message})"
                    ))
                }
                other => backend(other),
            })?;
        let host = if joined.dns_name.is_empty() {
            joined.ip_address.clone()
        } else {
            joined.dns_name.clone()
        };
        Ok(ConnectInfo {
            address: format!("{host}:{}", joined.port),
            ticket: joined.player_session_id,
        })
    }

    fn set_accepting(&self, session_id: &str, accept: bool) -> Result<(), NamedSessionError> {
        let api = self.named_api()?;
        let input = UpdateGameSessionInput {
            game_session_id: session_id.to_string(),
            accept_players: Some(accept),
            ..Default::default()
        };
        self.block(async move { api.update_game_session(&input).await })
            .map_err(backend)?
            .map_err(backend)?;
        Ok(())
    }
}

impl NamedSessionRequests for GameLiftClientManager {
    fn create_session(
        &self,
        user: &str,
        name: &str,
        settings: SessionSettings,
        mode: CreateMode,
    ) -> Result<NamedSessionInfo, NamedSessionError> {
        // Refuse what GameLift cannot hold before anything changes.
        encode_properties(&settings, user)?;
        if settings.max_players > gamelift_limits().max_players {
            return Err(NamedSessionError::invalid(
                "max_players",
                format!(
                    "GameLift sessions hold at most 200 players, not {}",
                    settings.max_players
                ),
            ));
        }
        let ticket =
            self.named(|s| s.begin_create(user, name, settings.clone(), Instant::now()))?;
        let answer = match mode {
            CreateMode::OnStart => Ok(BackendSession::default()),
            CreateMode::Now => self.create_backend_session(user, name, &settings),
        };
        self.named(|s| s.finish(ticket, answer))
    }

    fn update_session(
        &self,
        user: &str,
        name: &str,
        settings: SessionSettings,
    ) -> Result<NamedSessionInfo, NamedSessionError> {
        let info = self.named(|s| s.info(user, name)).ok_or_else(|| {
            NamedSessionError::SessionNotFound {
                name: name.to_string(),
            }
        })?;
        if info.owner.as_deref() != Some(user) {
            return Err(NamedSessionError::NoPermission(format!(
                "only the owner updates session {name:?}"
            )));
        }
        let properties = encode_properties(&settings, user)?;
        let ticket =
            self.named(|s| s.begin_update(user, name, settings.clone(), Instant::now()))?;
        let answer = match &info.session_id {
            None => Ok(BackendSession::default()),
            Some(id) => {
                let api = self.named_api()?;
                let input = UpdateGameSessionInput {
                    game_session_id: id.clone(),
                    max_players: Some(settings.max_players),
                    properties,
                    ..Default::default()
                };
                self.block(async move { api.update_game_session(&input).await })
                    .map_err(backend)
                    .and_then(|result| result.map_err(backend))
                    .map(|_| BackendSession::default())
            }
        };
        self.named(|s| s.finish(ticket, answer))
    }

    fn start_session(&self, user: &str, name: &str) -> Result<NamedSessionInfo, NamedSessionError> {
        let ticket = self.named(|s| s.begin_start(user, name, Instant::now()))?;
        let info = self.named(|s| s.info(user, name));
        let answer = (|| {
            let info = info.ok_or_else(|| NamedSessionError::SessionNotFound {
                name: name.to_string(),
            })?;
            let mut backend_session = BackendSession::default();
            let session_id = match &info.session_id {
                Some(id) => id.clone(),
                None => {
                    // Unreal's flow: the backend session is created now, owned by the caller,
                    // who joins it.
                    let created = self.create_backend_session(user, name, &info.settings)?;
                    let id = created.session_id.clone().unwrap_or_default();
                    backend_session.session_id = created.session_id;
                    backend_session.connect = Some(self.join_backend_session(user, &id)?);
                    id
                }
            };
            if !info.settings.join_in_progress && info.owner.as_deref() == Some(user) {
                self.set_accepting(&session_id, false)?;
            }
            Ok(backend_session)
        })();
        self.named(|s| s.finish(ticket, answer))
    }

    fn end_session(&self, user: &str, name: &str) -> Result<NamedSessionInfo, NamedSessionError> {
        let ticket = self.named(|s| s.begin_end(user, name, Instant::now()))?;
        let info = self.named(|s| s.info(user, name));
        let answer = match info {
            Some(info)
                if info.owner.as_deref() == Some(user) && !info.settings.join_in_progress =>
            {
                match &info.session_id {
                    Some(id) => self
                        .set_accepting(id, true)
                        .map(|()| BackendSession::default()),
                    None => Ok(BackendSession::default()),
                }
            }
            _ => Ok(BackendSession::default()),
        };
        self.named(|s| s.finish(ticket, answer))
    }

    fn destroy_session(&self, user: &str, name: &str) -> Result<(), NamedSessionError> {
        let ticket = self.named(|s| s.begin_destroy(user, name, Instant::now()))?;
        let info = self.named(|s| s.info(user, name));
        let answer = match info {
            Some(NamedSessionInfo {
                session_id: Some(id),
                owner: Some(owner),
                ..
            }) if owner == user => {
                let api = self.named_api()?;
                self.block(async move { api.terminate_game_session(&id).await })
                    .map_err(backend)
                    .and_then(|result| match result {
                        // Already over on the backend (its server ended it): nothing to do.
                        Err(SessionError::Service { code, .. })
                            if code == "InvalidGameSessionStatusException"
                                || code == "NotFoundException" =>
                        {
                            Ok(())
                        }
                        other => other.map_err(backend),
                    })
                    .map(|()| BackendSession::default())
            }
            _ => Ok(BackendSession::default()),
        };
        self.named(|s| s.finish(ticket, answer)).map(|_| ())
    }

    fn find_sessions(
        &self,
        user: &str,
        search: &SessionSearch,
    ) -> Result<Vec<SessionDetails>, NamedSessionError> {
        self.named(|s| s.admit(user, CallClass::Lifecycle, Instant::now()))?;
        let api = self.named_api()?;
        let config = read(&self.shared.config);
        if let SearchMode::SessionId(id) = &search.mode {
            let id = id.clone();
            let found = self
                .block(async move { api.describe_game_session(&id).await })
                .map_err(backend)?
                .map_err(backend)?;
            return Ok(found
                .filter(|session| session.status == game_session::SessionStatus::Active)
                .map(|session| session_details(&session))
                .into_iter()
                .collect());
        }
        if let SearchMode::User(player) = &search.mode {
            // Sessions the user holds a player session in, public or not (EOS finds a user's
            // sessions by the user, not through the advertised listing).
            let (player, limit) = (player.clone(), search.max_results);
            let found = self
                .block(async move {
                    let mut found = Vec::new();
                    for id in api
                        .sessions_of_player(&player)
                        .await?
                        .into_iter()
                        .take(limit)
                    {
                        if let Some(session) = api.describe_game_session(&id).await?
                            && session.status == game_session::SessionStatus::Active
                        {
                            let mut details = session_details(&session);
                            details.registered_players = vec![player.clone()];
                            found.push(details);
                        }
                    }
                    Ok::<_, SessionError>(found)
                })
                .map_err(backend)?
                .map_err(backend)?;
            return Ok(found);
        }
        let filter = filter_expression(search);
        let search = search.clone();
        let (fleet_id, alias_id) = (config.fleet_id.clone(), config.alias_id.clone());
        let location = config.location.clone();
        let found = self
            .block(async move {
                let mut matches = Vec::new();
                let mut next_token = None;
                for _ in 0..MAX_PAGES {
                    let page = api
                        .search_game_sessions(&SearchInput {
                            fleet_id: fleet_id.clone(),
                            alias_id: if fleet_id.is_none() {
                                alias_id.clone()
                            } else {
                                None
                            },
                            location: location.clone(),
                            filter: Some(filter.clone()),
                            sort: Some("creationTimeMillis DESC".into()),
                            limit: Some(20),
                            next_token: next_token.take(),
                        })
                        .await?;
                    matches.extend(
                        page.session_configs
                            .iter()
                            .map(session_details)
                            .filter(|details| search.matches(details)),
                    );
                    next_token = page.next_token;
                    let enough = matches.len() >= search.max_results
                        && !matches!(&search.mode, SearchMode::Attributes { predicates, .. }
                            if predicates.iter().any(|p| p.comparison == Comparison::Distance));
                    if next_token.is_none() || enough {
                        break;
                    }
                }
                Ok::<_, SessionError>(search.rank(matches))
            })
            .map_err(backend)?
            .map_err(backend)?;
        Ok(found)
    }

    fn join_session(
        &self,
        user: &str,
        name: &str,
        session: &SessionDetails,
    ) -> Result<NamedSessionInfo, NamedSessionError> {
        if session.settings.permission == PermissionLevel::InviteOnly {
            return Err(NamedSessionError::NoPermission(format!(
                "session {} is invite only: accept an invite to join it",
                session.session_id
            )));
        }
        self.join_found(user, name, session)
    }

    fn send_invite(
        &self,
        user: &str,
        name: &str,
        target: &str,
    ) -> Result<String, NamedSessionError> {
        let info = self.named(|s| s.info(user, name)).ok_or_else(|| {
            NamedSessionError::SessionNotFound {
                name: name.to_string(),
            }
        })?;
        if !info.settings.invites_allowed {
            return Err(NamedSessionError::NoPermission(format!(
                "session {name:?} does not allow invites"
            )));
        }
        let Some(session_id) = info.session_id.clone() else {
            return Err(NamedSessionError::InvalidState {
                name: name.to_string(),
                operation: "invite to",
                state: info.state,
            });
        };
        if target.is_empty() || target == user {
            return Err(NamedSessionError::invalid(
                "target",
                "names no other user to invite",
            ));
        }
        self.named(|s| s.admit(user, CallClass::Players, Instant::now()))?;
        let found = self.find_sessions(user, &SessionSearch::by_id(session_id.clone()))?;
        let details = found.into_iter().next().ok_or_else(|| {
            NamedSessionError::NoPermission(format!("session {session_id} is no longer active"))
        })?;
        with_invite_transport("send_invite", |transport| {
            transport.send(user, target, &details)
        })
    }

    fn query_invites(&self, user: &str) -> Result<Vec<SessionInvite>, NamedSessionError> {
        let invites = with_invite_transport("query_invites", |transport| transport.pending(user))?;
        let fresh: Vec<SessionInvite> = {
            let mut announced = self
                .shared
                .announced_invites
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            invites
                .iter()
                .filter(|invite| announced.insert(invite.invite_id.clone()))
                .cloned()
                .collect()
        };
        for invite in &fresh {
            INVITE_NOTIFICATIONS.broadcast(|listener| listener.on_session_invite_received(invite));
        }
        Ok(invites)
    }

    fn reject_invite(&self, user: &str, invite_id: &str) -> Result<(), NamedSessionError> {
        self.named(|s| s.admit(user, CallClass::Players, Instant::now()))?;
        with_invite_transport("reject_invite", |transport| {
            transport.remove(user, invite_id)
        })
        .map(|_| ())
    }

    fn accept_invite(
        &self,
        user: &str,
        invite_id: &str,
        name: &str,
    ) -> Result<NamedSessionInfo, NamedSessionError> {
        let invite = with_invite_transport("accept_invite", |transport| {
            transport.remove(user, invite_id)
        })?;
        self.join_found(user, name, &invite.session)
    }

    fn register_players(
        &self,
        user: &str,
        name: &str,
        players: &[String],
    ) -> Result<PlayerChange, NamedSessionError> {
        self.named(|s| s.register_players(user, name, players, |_| false, Instant::now()))
    }

    fn unregister_players(
        &self,
        user: &str,
        name: &str,
        players: &[String],
    ) -> Result<PlayerChange, NamedSessionError> {
        self.named(|s| s.unregister_players(user, name, players, Instant::now()))
    }

    /// The session with its roster refreshed: the players whose player sessions the game
    /// server accepted (ACTIVE), as GameLift reports them.
    fn session_info(&self, user: &str, name: &str) -> Option<NamedSessionInfo> {
        let info = self.named(|s| s.info(user, name))?;
        let Some(session_id) = info.session_id.clone() else {
            return Some(info);
        };
        let Ok(api) = self.named_api() else {
            return Some(info);
        };
        match self.block(async move { api.active_players(&session_id).await }) {
            Ok(Ok(players)) => {
                let players = players.into_iter().collect();
                self.named(|s| {
                    s.set_connected_players(user, name, players);
                    s.info(user, name)
                })
            }
            _ => Some(info),
        }
    }

    fn is_player_in_session(&self, user: &str, name: &str, player: &str) -> bool {
        self.named(|s| s.is_player_in_session(user, name, player))
    }

    fn dump_session_state(&self, user: &str, name: &str) -> String {
        self.named(|s| s.dump(user, name))
    }
}

impl GameLiftClientManager {
    /// Runs `work` (a blocking named-session call) on the manager's blocking pool and delivers
    /// its one completion as configured.
    fn complete_named(
        &self,
        request_id: u64,
        user: &str,
        name: &str,
        operation: &'static str,
        work: impl FnOnce(&GameLiftClientManager) -> Result<NamedSessionOutcome, NamedSessionError>
        + Send
        + 'static,
    ) {
        let this = self.clone();
        let (user, name) = (user.to_string(), name.to_string());
        let mode = read(&self.shared.config).named_completions;
        self.shared.handle.spawn_blocking(move || {
            let completion = NamedSessionCompletion {
                request_id,
                user,
                name,
                operation,
                result: work(&this),
            };
            match mode {
                CompletionMode::Immediate => NAMED_SESSION_COMPLETIONS
                    .broadcast(|listener| listener.on_named_session_complete(&completion)),
                CompletionMode::Queued => {
                    let queued = NAMED_SESSION_COMPLETIONS.queue_broadcast(move |listener| {
                        listener.on_named_session_complete(&completion)
                    });
                    if let Err(error) = queued {
                        tracing::error!(target: "gamelift_client", %error, "a named-session completion could not be queued");
                    }
                }
            }
        });
    }
}

fn session_outcome(
    result: Result<NamedSessionInfo, NamedSessionError>,
) -> Result<NamedSessionOutcome, NamedSessionError> {
    result.map(|info| NamedSessionOutcome::Session(Box::new(info)))
}

impl NamedSessionAsyncRequests for GameLiftClientManager {
    fn create_session_async(
        &self,
        request_id: u64,
        user: &str,
        name: &str,
        settings: SessionSettings,
        mode: CreateMode,
    ) {
        let (u, n) = (user.to_string(), name.to_string());
        self.complete_named(request_id, user, name, "create", move |m| {
            session_outcome(NamedSessionRequests::create_session(
                m, &u, &n, settings, mode,
            ))
        });
    }

    fn update_session_async(
        &self,
        request_id: u64,
        user: &str,
        name: &str,
        settings: SessionSettings,
    ) {
        let (u, n) = (user.to_string(), name.to_string());
        self.complete_named(request_id, user, name, "update", move |m| {
            session_outcome(NamedSessionRequests::update_session(m, &u, &n, settings))
        });
    }

    fn start_session_async(&self, request_id: u64, user: &str, name: &str) {
        let (u, n) = (user.to_string(), name.to_string());
        self.complete_named(request_id, user, name, "start", move |m| {
            session_outcome(NamedSessionRequests::start_session(m, &u, &n))
        });
    }

    fn end_session_async(&self, request_id: u64, user: &str, name: &str) {
        let (u, n) = (user.to_string(), name.to_string());
        self.complete_named(request_id, user, name, "end", move |m| {
            session_outcome(NamedSessionRequests::end_session(m, &u, &n))
        });
    }

    fn destroy_session_async(&self, request_id: u64, user: &str, name: &str) {
        let (u, n) = (user.to_string(), name.to_string());
        self.complete_named(request_id, user, name, "destroy", move |m| {
            NamedSessionRequests::destroy_session(m, &u, &n)
                .map(|()| NamedSessionOutcome::Destroyed)
        });
    }

    fn find_sessions_async(&self, request_id: u64, user: &str, search: SessionSearch) {
        let u = user.to_string();
        self.complete_named(request_id, user, "", "find", move |m| {
            NamedSessionRequests::find_sessions(m, &u, &search).map(NamedSessionOutcome::Found)
        });
    }

    fn join_session_async(&self, request_id: u64, user: &str, name: &str, session: SessionDetails) {
        let (u, n) = (user.to_string(), name.to_string());
        self.complete_named(request_id, user, name, "join", move |m| {
            session_outcome(NamedSessionRequests::join_session(m, &u, &n, &session))
        });
    }

    fn register_players_async(
        &self,
        request_id: u64,
        user: &str,
        name: &str,
        players: Vec<String>,
    ) {
        let (u, n) = (user.to_string(), name.to_string());
        self.complete_named(request_id, user, name, "register", move |m| {
            NamedSessionRequests::register_players(m, &u, &n, &players)
                .map(NamedSessionOutcome::Players)
        });
    }

    fn unregister_players_async(
        &self,
        request_id: u64,
        user: &str,
        name: &str,
        players: Vec<String>,
    ) {
        let (u, n) = (user.to_string(), name.to_string());
        self.complete_named(request_id, user, name, "unregister", move |m| {
            NamedSessionRequests::unregister_players(m, &u, &n, &players)
                .map(NamedSessionOutcome::Players)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_round_trip_through_game_properties() {
        let settings = SessionModification::new(gamelift_limits())
            .bucket_id("eu")
            .unwrap()
            .join_in_progress(true)
            .attribute("level", 12i64)
            .unwrap()
            .attribute("ratio", 0.5)
            .unwrap()
            .attribute("ranked", true)
            .unwrap()
            .attribute("map", "harbour")
            .unwrap()
            .local_attribute("password", "never sent")
            .unwrap()
            .build();
        let properties = encode_properties(&settings, "ada").unwrap();
        assert_eq!(properties.get("level").map(String::as_str), Some("i:12"));
        assert!(!properties.contains_key("password"));
        let details = session_details(&SessionConfig {
            session_id: "gs".into(),
            session_properties: properties,
            max_players: 8,
            ..Default::default()
        });
        assert_eq!(details.owner.as_deref(), Some("ada"));
        assert_eq!(details.settings.bucket_id, "eu");
        assert!(details.settings.join_in_progress);
        let advertised: Vec<_> = settings.advertised().collect();
        let decoded: Vec<_> = details.settings.advertised().collect();
        assert_eq!(advertised, decoded);
    }

    #[test]
    fn settings_that_do_not_fit_are_refused_while_built() {
        let mut builder = SessionModification::new(gamelift_limits());
        for index in 0..12 {
            builder = builder.attribute(format!("a{index}"), true).unwrap();
        }
        assert!(matches!(
            builder.attribute("a12", true),
            Err(NamedSessionError::LimitExceeded { limit: 12, .. })
        ));
        assert!(
            SessionModification::new(gamelift_limits())
                .attribute("n".repeat(33), true)
                .is_err()
        );
        assert!(
            SessionModification::new(gamelift_limits())
                .attribute("long", "v".repeat(95))
                .is_err()
        );
        assert!(
            SessionModification::new(gamelift_limits())
                .max_players(201)
                .is_err()
        );
        let reserved = SessionModification::new(Limits::default())
            .attribute("_perm", "public")
            .unwrap()
            .build();
        assert!(encode_properties(&reserved, "ada").is_err());
    }

    #[test]
    fn searches_translate_what_gamelift_evaluates() {
        let search = SessionSearch::attributes()
            .bucket("eu")
            .unwrap()
            .with("map", Comparison::Equal, "harbour")
            .unwrap()
            .with("level", Comparison::Greater, 3i64)
            .unwrap()
            .with("quote", Comparison::Equal, "it's")
            .unwrap();
        assert_eq!(
            filter_expression(&search),
            "gameSessionProperties._perm = 'public' AND gameSessionProperties._bucket = 'eu' AND gameSessionProperties.map = 's:harbour'"
        );
    }
}
