//! A named session's settings, typed attributes, the limits that apply to them, and the
//! modification builder that validates as it builds (EOS `EOS_HSessionModification`, Unreal
//! `FOnlineSessionSettings`).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::error::NamedSessionError;

/// An attribute's value (EOS `EOS_EAttributeType`, Unreal `FVariantData`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AttributeValue {
    /// A boolean.
    Bool(bool),
    /// A 64-bit integer.
    Int(i64),
    /// A double (finite).
    Double(f64),
    /// A UTF-8 string.
    String(String),
}

impl AttributeValue {
    /// The type's name, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            AttributeValue::Bool(_) => "bool",
            AttributeValue::Int(_) => "i64",
            AttributeValue::Double(_) => "f64",
            AttributeValue::String(_) => "string",
        }
    }
}

impl From<bool> for AttributeValue {
    fn from(value: bool) -> Self {
        AttributeValue::Bool(value)
    }
}
impl From<i64> for AttributeValue {
    fn from(value: i64) -> Self {
        AttributeValue::Int(value)
    }
}
impl From<f64> for AttributeValue {
    fn from(value: f64) -> Self {
        AttributeValue::Double(value)
    }
}
impl From<&str> for AttributeValue {
    fn from(value: &str) -> Self {
        AttributeValue::String(value.to_string())
    }
}
impl From<String> for AttributeValue {
    fn from(value: String) -> Self {
        AttributeValue::String(value)
    }
}

/// Whether an attribute is published with the session (searchable) or kept on this client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum Advertisement {
    /// Published and searchable (EOS `EOS_SAAT_Advertise`, Unreal `ViaOnlineService`).
    #[default]
    Advertised,
    /// Kept locally, never sent to the backend (EOS `EOS_SAAT_DontAdvertise`).
    Local,
}

/// An attribute: a typed value and whether it is advertised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attribute {
    /// The value.
    pub value: AttributeValue,
    /// Advertised or local.
    pub advertisement: Advertisement,
}

/// Who can find and join a session (EOS `EOS_EOnlineSessionPermissionLevel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum PermissionLevel {
    /// Anyone can find it (unless full) and join it.
    #[default]
    PublicAdvertised,
    /// Not in searches; joinable by its id (through presence).
    JoinViaPresence,
    /// Not in searches; joinable only with an invite.
    InviteOnly,
}

/// The limits named sessions enforce on the client. The defaults are EOS's documented service
/// limits; a backend lowers what it cannot hold (GameLift: 200 players).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Players in one session.
    pub max_players: u32,
    /// Attributes on one session.
    pub max_attributes: usize,
    /// Characters in an attribute name.
    pub max_attribute_name: usize,
    /// Characters in a string attribute value.
    pub max_attribute_value: usize,
    /// Sessions one local user has at once.
    pub max_sessions_per_user: usize,
    /// Results of one search.
    pub max_search_results: usize,
    /// create/update/destroy/start/end/search calls per local user per `rate_window`.
    pub lifecycle_calls: u32,
    /// register/unregister/invite calls per local user per `rate_window`.
    pub player_calls: u32,
    /// The window the call limits count over.
    pub rate_window: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_players: 1000,
            max_attributes: 100,
            max_attribute_name: 1000,
            max_attribute_value: 1000,
            max_sessions_per_user: 16,
            max_search_results: 200,
            lifecycle_calls: 30,
            player_calls: 100,
            rate_window: Duration::from_secs(60),
        }
    }
}

/// Lengths of a session id override (EOS: 16 to 64 characters).
pub const SESSION_ID_OVERRIDE_LENGTH: std::ops::RangeInclusive<usize> = 16..=64;

/// A named session's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionSettings {
    /// The main search key, such as `"eu:deathmatch"`.
    pub bucket_id: String,
    /// How many players it holds.
    pub max_players: u32,
    /// Where players connect, if the game sets it (otherwise the backend's answer).
    pub host_address: Option<String>,
    /// Who can find and join it.
    pub permission: PermissionLevel,
    /// Whether players may join once it started.
    pub join_in_progress: bool,
    /// Whether members may invite others.
    pub invites_allowed: bool,
    /// Whether sanctioned players are refused.
    pub sanctions_enabled: bool,
    /// Platforms whose players may register (empty: any).
    pub allowed_platforms: Vec<String>,
    /// A session id chosen by the game instead of the backend's, where the backend allows it.
    pub session_id_override: Option<String>,
    /// Typed attributes by name.
    pub attributes: BTreeMap<String, Attribute>,
}

impl Default for SessionSettings {
    fn default() -> Self {
        SessionSettings {
            bucket_id: String::new(),
            max_players: 8,
            host_address: None,
            permission: PermissionLevel::PublicAdvertised,
            join_in_progress: false,
            invites_allowed: true,
            sanctions_enabled: false,
            allowed_platforms: Vec::new(),
            session_id_override: None,
            attributes: BTreeMap::new(),
        }
    }
}

impl SessionSettings {
    /// The advertised attributes only (what may leave the client).
    pub fn advertised(&self) -> impl Iterator<Item = (&String, &AttributeValue)> {
        self.attributes
            .iter()
            .filter(|(_, attribute)| attribute.advertisement == Advertisement::Advertised)
            .map(|(name, attribute)| (name, &attribute.value))
    }
}

/// Builds settings for a create, or changes to an existing session's settings for an update,
/// checking each change against the limits as it is made: a setter that fails leaves the builder
/// as it was and names the field and the limit.
///
/// ```
/// use game_session::named::{Limits, PermissionLevel, SessionModification};
/// let settings = SessionModification::new(Limits::default())
///     .bucket_id("eu:duel").unwrap()
///     .max_players(4).unwrap()
///     .permission(PermissionLevel::InviteOnly)
///     .attribute("map", "harbour").unwrap()
///     .attribute("ranked", true).unwrap()
///     .local_attribute("password", "x").unwrap()
///     .build();
/// assert_eq!(settings.max_players, 4);
/// assert_eq!(settings.advertised().count(), 2);
/// let too_many = SessionModification::new(Limits::default()).max_players(5000);
/// assert!(too_many.unwrap_err().to_string().contains("1000"));
/// ```
#[derive(Debug, Clone)]
pub struct SessionModification {
    limits: Limits,
    settings: SessionSettings,
    /// For an update: players registered now (capacity cannot drop below it).
    registered: u32,
}

impl SessionModification {
    /// Settings for a new session, starting from the defaults.
    pub fn new(limits: Limits) -> Self {
        SessionModification {
            limits,
            settings: SessionSettings::default(),
            registered: 0,
        }
    }

    /// Changes to an existing session's `settings`, which has `registered` players.
    pub fn update(limits: Limits, settings: SessionSettings, registered: u32) -> Self {
        SessionModification {
            limits,
            settings,
            registered,
        }
    }

    /// The bucket id (at most 256 characters, no control characters).
    pub fn bucket_id(mut self, bucket: impl Into<String>) -> Result<Self, NamedSessionError> {
        let bucket = bucket.into();
        if bucket.chars().count() > 256 {
            return Err(NamedSessionError::invalid(
                "bucket_id",
                "is longer than 256 characters",
            ));
        }
        if bucket.chars().any(char::is_control) {
            return Err(NamedSessionError::invalid(
                "bucket_id",
                "contains control characters",
            ));
        }
        self.settings.bucket_id = bucket;
        Ok(self)
    }

    /// The most players (1 up to the limit; an update cannot go below the registered players).
    pub fn max_players(mut self, max: u32) -> Result<Self, NamedSessionError> {
        if max == 0 || max > self.limits.max_players {
            return Err(NamedSessionError::invalid(
                "max_players",
                format!("must be 1 to {}, not {max}", self.limits.max_players),
            ));
        }
        if max < self.registered {
            return Err(NamedSessionError::invalid(
                "max_players",
                format!(
                    "cannot drop below the {} registered players (asked for {max})",
                    self.registered
                ),
            ));
        }
        self.settings.max_players = max;
        Ok(self)
    }

    /// Where players connect (any non-empty string of at most 1024 characters).
    pub fn host_address(mut self, address: impl Into<String>) -> Result<Self, NamedSessionError> {
        let address = address.into();
        if address.is_empty() || address.chars().count() > 1024 {
            return Err(NamedSessionError::invalid(
                "host_address",
                "must be 1 to 1024 characters",
            ));
        }
        self.settings.host_address = Some(address);
        Ok(self)
    }

    /// Who can find and join it.
    pub fn permission(mut self, permission: PermissionLevel) -> Self {
        self.settings.permission = permission;
        self
    }

    /// Whether players may join once it started.
    pub fn join_in_progress(mut self, allowed: bool) -> Self {
        self.settings.join_in_progress = allowed;
        self
    }

    /// Whether members may invite others.
    pub fn invites_allowed(mut self, allowed: bool) -> Self {
        self.settings.invites_allowed = allowed;
        self
    }

    /// Whether sanctioned players are refused.
    pub fn sanctions_enabled(mut self, enabled: bool) -> Self {
        self.settings.sanctions_enabled = enabled;
        self
    }

    /// The platforms whose players may register (empty: any). Names are 1 to 64 characters.
    pub fn allowed_platforms<S: Into<String>>(
        mut self,
        platforms: impl IntoIterator<Item = S>,
    ) -> Result<Self, NamedSessionError> {
        let platforms: Vec<String> = platforms.into_iter().map(Into::into).collect();
        if let Some(bad) = platforms
            .iter()
            .find(|p| p.is_empty() || p.chars().count() > 64)
        {
            return Err(NamedSessionError::invalid(
                "allowed_platforms",
                format!("platform {bad:?} must be 1 to 64 characters"),
            ));
        }
        self.settings.allowed_platforms = platforms;
        Ok(self)
    }

    /// A session id chosen by the game (16 to 64 letters, digits, `-` or `_`), where the backend
    /// allows one.
    pub fn session_id_override(mut self, id: impl Into<String>) -> Result<Self, NamedSessionError> {
        let id = id.into();
        let length = id.chars().count();
        if !SESSION_ID_OVERRIDE_LENGTH.contains(&length) {
            return Err(NamedSessionError::invalid(
                "session_id_override",
                format!("must be 16 to 64 characters, not {length}"),
            ));
        }
        if !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(NamedSessionError::invalid(
                "session_id_override",
                "may hold only letters, digits, '-' and '_'",
            ));
        }
        self.settings.session_id_override = Some(id);
        Ok(self)
    }

    /// Adds or replaces an advertised (searchable) attribute.
    pub fn attribute(
        self,
        name: impl Into<String>,
        value: impl Into<AttributeValue>,
    ) -> Result<Self, NamedSessionError> {
        self.set_attribute(name.into(), value.into(), Advertisement::Advertised)
    }

    /// Adds or replaces an attribute that stays on this client.
    pub fn local_attribute(
        self,
        name: impl Into<String>,
        value: impl Into<AttributeValue>,
    ) -> Result<Self, NamedSessionError> {
        self.set_attribute(name.into(), value.into(), Advertisement::Local)
    }

    /// Removes an attribute (nothing happens if there is none by that name).
    pub fn remove_attribute(mut self, name: &str) -> Self {
        self.settings.attributes.remove(name);
        self
    }

    fn set_attribute(
        mut self,
        name: String,
        value: AttributeValue,
        advertisement: Advertisement,
    ) -> Result<Self, NamedSessionError> {
        let field = format!("attribute {name:?}");
        let length = name.chars().count();
        if length == 0 || length > self.limits.max_attribute_name {
            return Err(NamedSessionError::invalid(
                field,
                format!(
                    "the name must be 1 to {} characters, not {length}",
                    self.limits.max_attribute_name
                ),
            ));
        }
        match &value {
            AttributeValue::Double(number) if !number.is_finite() => {
                return Err(NamedSessionError::invalid(field, "is not a finite number"));
            }
            AttributeValue::String(text)
                if text.chars().count() > self.limits.max_attribute_value =>
            {
                return Err(NamedSessionError::invalid(
                    field,
                    format!(
                        "the value is longer than {} characters",
                        self.limits.max_attribute_value
                    ),
                ));
            }
            _ => {}
        }
        if !self.settings.attributes.contains_key(&name)
            && self.settings.attributes.len() >= self.limits.max_attributes
        {
            return Err(NamedSessionError::LimitExceeded {
                what: "attributes".into(),
                limit: self.limits.max_attributes,
            });
        }
        self.settings.attributes.insert(
            name,
            Attribute {
                value,
                advertisement,
            },
        );
        Ok(self)
    }

    /// The settings as built so far.
    pub fn settings(&self) -> &SessionSettings {
        &self.settings
    }

    /// The finished settings.
    pub fn build(self) -> SessionSettings {
        self.settings
    }
}
