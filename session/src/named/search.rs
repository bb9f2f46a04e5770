//! Searching named sessions (EOS `EOS_HSessionSearch`, Unreal `FOnlineSessionSearch`): by session
//! id, by a registered user, or by attribute predicates with a bucket, fill and free-slot filters.
//! The three modes cannot be mixed: they are variants of one enum.

use serde::{Deserialize, Serialize};

use super::error::NamedSessionError;
use super::settings::{AttributeValue, SessionSettings};

/// How an attribute is compared (EOS `EOS_EComparisonOp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Comparison {
    /// Equal.
    Equal,
    /// Not equal.
    NotEqual,
    /// Greater than.
    Greater,
    /// Greater than or equal.
    GreaterOrEqual,
    /// Less than.
    Less,
    /// Less than or equal.
    LessOrEqual,
    /// Not a filter: results are ordered by how close the number is to the value.
    Distance,
    /// The attribute is one of the values.
    AnyOf,
    /// The attribute is none of the values.
    NotAnyOf,
    /// The string attribute contains the value (case-sensitive).
    Contains,
}

/// One condition on an attribute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Predicate {
    /// The attribute.
    pub key: String,
    /// The comparison.
    pub comparison: Comparison,
    /// What it is compared with (several for `AnyOf` / `NotAnyOf`).
    pub values: Vec<AttributeValue>,
}

/// What to search for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SearchMode {
    /// The session with this id (at most one result).
    SessionId(String),
    /// Sessions this user is registered in.
    User(String),
    /// Sessions whose attributes satisfy every predicate (AND), with the filters.
    Attributes {
        /// Conditions, all of which must hold.
        predicates: Vec<Predicate>,
        /// Only this bucket.
        bucket: Option<String>,
        /// Only sessions with no registered player.
        empty_only: bool,
        /// Only sessions with at least one registered player.
        non_empty_only: bool,
        /// Only sessions with at least this many free slots.
        min_free_slots: u32,
    },
}

/// A search: what to look for and how many results at most (1 to 200).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionSearch {
    /// What to search for.
    pub mode: SearchMode,
    /// The most results.
    pub max_results: usize,
}

/// The most results a search returns.
pub const MAX_SEARCH_RESULTS: usize = 200;

impl SessionSearch {
    /// The session with `id`.
    pub fn by_id(id: impl Into<String>) -> Self {
        SessionSearch {
            mode: SearchMode::SessionId(id.into()),
            max_results: 1,
        }
    }

    /// Sessions `user` is registered in.
    pub fn by_user(user: impl Into<String>) -> Self {
        SessionSearch {
            mode: SearchMode::User(user.into()),
            max_results: MAX_SEARCH_RESULTS,
        }
    }

    /// Sessions matching attribute predicates (add them with [`with`](Self::with)); with none,
    /// every advertised session.
    pub fn attributes() -> Self {
        SessionSearch {
            mode: SearchMode::Attributes {
                predicates: Vec::new(),
                bucket: None,
                empty_only: false,
                non_empty_only: false,
                min_free_slots: 0,
            },
            max_results: 20,
        }
    }

    fn filters(&mut self, field: &str) -> Result<&mut SearchMode, NamedSessionError> {
        match &mut self.mode {
            mode @ SearchMode::Attributes { .. } => Ok(mode),
            _ => Err(NamedSessionError::invalid(
                field,
                "only an attribute search takes predicates and filters (a search is by id, by user or by attributes)",
            )),
        }
    }

    /// Adds a condition: `key` compared with `value`.
    pub fn with(
        self,
        key: impl Into<String>,
        comparison: Comparison,
        value: impl Into<AttributeValue>,
    ) -> Result<Self, NamedSessionError> {
        self.with_values(key, comparison, vec![value.into()])
    }

    /// Adds a condition with several values (`AnyOf`, `NotAnyOf`).
    pub fn with_values(
        mut self,
        key: impl Into<String>,
        comparison: Comparison,
        values: Vec<AttributeValue>,
    ) -> Result<Self, NamedSessionError> {
        let key = key.into();
        let field = format!("search on {key:?}");
        if key.is_empty() {
            return Err(NamedSessionError::invalid(field, "the key is empty"));
        }
        if values.is_empty() {
            return Err(NamedSessionError::invalid(field, "needs a value"));
        }
        let numeric =
            |v: &AttributeValue| matches!(v, AttributeValue::Int(_) | AttributeValue::Double(_));
        match comparison {
            Comparison::Greater
            | Comparison::GreaterOrEqual
            | Comparison::Less
            | Comparison::LessOrEqual
            | Comparison::Distance
                if !values.iter().all(numeric) =>
            {
                return Err(NamedSessionError::invalid(
                    field,
                    format!("{comparison:?} compares numbers"),
                ));
            }
            Comparison::Contains if !matches!(values.as_slice(), [AttributeValue::String(_)]) => {
                return Err(NamedSessionError::invalid(
                    field,
                    "Contains takes one string",
                ));
            }
            Comparison::Equal
            | Comparison::NotEqual
            | Comparison::Greater
            | Comparison::GreaterOrEqual
            | Comparison::Less
            | Comparison::LessOrEqual
            | Comparison::Distance
                if values.len() != 1 =>
            {
                return Err(NamedSessionError::invalid(
                    field,
                    format!("{comparison:?} takes one value"),
                ));
            }
            _ => {}
        }
        if let SearchMode::Attributes { predicates, .. } = self.filters(&field)? {
            predicates.push(Predicate {
                key,
                comparison,
                values,
            });
        }
        Ok(self)
    }

    /// Only sessions in `bucket`.
    pub fn bucket(mut self, bucket: impl Into<String>) -> Result<Self, NamedSessionError> {
        if let SearchMode::Attributes { bucket: b, .. } = self.filters("bucket")? {
            *b = Some(bucket.into());
        }
        Ok(self)
    }

    /// Only sessions nobody is registered in.
    pub fn empty_only(mut self) -> Result<Self, NamedSessionError> {
        if let SearchMode::Attributes { empty_only, .. } = self.filters("empty_only")? {
            *empty_only = true;
        }
        Ok(self)
    }

    /// Only sessions somebody is registered in.
    pub fn non_empty_only(mut self) -> Result<Self, NamedSessionError> {
        if let SearchMode::Attributes { non_empty_only, .. } = self.filters("non_empty_only")? {
            *non_empty_only = true;
        }
        Ok(self)
    }

    /// Only sessions with at least `slots` free.
    pub fn min_free_slots(mut self, slots: u32) -> Result<Self, NamedSessionError> {
        if let SearchMode::Attributes { min_free_slots, .. } = self.filters("min_free_slots")? {
            *min_free_slots = slots;
        }
        Ok(self)
    }

    /// The most results, 1 to 200.
    pub fn max_results(mut self, max: usize) -> Result<Self, NamedSessionError> {
        if max == 0 || max > MAX_SEARCH_RESULTS {
            return Err(NamedSessionError::invalid(
                "max_results",
                format!("must be 1 to {MAX_SEARCH_RESULTS}, not {max}"),
            ));
        }
        self.max_results = max;
        Ok(self)
    }

    /// Whether `session` satisfies the search (for predicates a backend cannot evaluate itself).
    /// Only advertised attributes are seen; a missing attribute fails every predicate but
    /// `NotEqual` and `NotAnyOf`.
    pub fn matches(&self, session: &SessionDetails) -> bool {
        match &self.mode {
            SearchMode::SessionId(id) => session.session_id == *id,
            SearchMode::User(user) => session.registered_players.iter().any(|p| p == user),
            SearchMode::Attributes {
                predicates,
                bucket,
                empty_only,
                non_empty_only,
                min_free_slots,
            } => {
                let registered = session.player_count;
                let free = session.settings.max_players.saturating_sub(registered);
                bucket
                    .as_ref()
                    .is_none_or(|b| *b == session.settings.bucket_id)
                    && !(*empty_only && registered > 0)
                    && !(*non_empty_only && registered == 0)
                    && free >= *min_free_slots
                    && predicates
                        .iter()
                        .all(|p| predicate_holds(p, &session.settings))
            }
        }
    }

    /// Orders matching results: by distance for `Distance` predicates (nearest first), otherwise
    /// as given; then keeps at most `max_results`.
    pub fn rank(&self, mut sessions: Vec<SessionDetails>) -> Vec<SessionDetails> {
        sessions.retain(|session| self.matches(session));
        if let SearchMode::Attributes { predicates, .. } = &self.mode {
            let distances: Vec<&Predicate> = predicates
                .iter()
                .filter(|p| p.comparison == Comparison::Distance)
                .collect();
            if !distances.is_empty() {
                let distance = |session: &SessionDetails| -> f64 {
                    distances
                        .iter()
                        .map(|p| {
                            let target = number(&p.values[0]).unwrap_or(0.0);
                            advertised(&session.settings, &p.key)
                                .and_then(number)
                                .map_or(f64::INFINITY, |v| (v - target).abs())
                        })
                        .sum()
                };
                sessions.sort_by(|a, b| distance(a).total_cmp(&distance(b)));
            }
        }
        sessions.truncate(self.max_results);
        sessions
    }
}

fn number(value: &AttributeValue) -> Option<f64> {
    match value {
        AttributeValue::Int(v) => Some(*v as f64),
        AttributeValue::Double(v) => Some(*v),
        _ => None,
    }
}

fn advertised<'s>(settings: &'s SessionSettings, key: &str) -> Option<&'s AttributeValue> {
    settings
        .advertised()
        .find(|(name, _)| name.as_str() == key)
        .map(|(_, value)| value)
}

fn same(a: &AttributeValue, b: &AttributeValue) -> bool {
    match (number(a), number(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn predicate_holds(predicate: &Predicate, settings: &SessionSettings) -> bool {
    let Some(value) = advertised(settings, &predicate.key) else {
        return matches!(
            predicate.comparison,
            Comparison::NotEqual | Comparison::NotAnyOf
        );
    };
    let wanted = &predicate.values;
    let order = || {
        number(value)
            .zip(number(&wanted[0]))
            .map(|(a, b)| a.total_cmp(&b))
    };
    match predicate.comparison {
        Comparison::Equal => same(value, &wanted[0]),
        Comparison::NotEqual => !same(value, &wanted[0]),
        Comparison::Greater => order().is_some_and(|o| o.is_gt()),
        Comparison::GreaterOrEqual => order().is_some_and(|o| o.is_ge()),
        Comparison::Less => order().is_some_and(|o| o.is_lt()),
        Comparison::LessOrEqual => order().is_some_and(|o| o.is_le()),
        Comparison::Distance => number(value).is_some(),
        Comparison::AnyOf => wanted.iter().any(|w| same(value, w)),
        Comparison::NotAnyOf => !wanted.iter().any(|w| same(value, w)),
        Comparison::Contains => match (value, &wanted[0]) {
            (AttributeValue::String(text), AttributeValue::String(part)) => {
                text.contains(part.as_str())
            }
            _ => false,
        },
    }
}

/// A session as a search, an invite or a lookup describes it (EOS `EOS_HSessionDetails`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionDetails {
    /// The backend's id.
    pub session_id: String,
    /// The user who owns it, if known.
    pub owner: Option<String>,
    /// Its settings, with the advertised attributes only.
    pub settings: SessionSettings,
    /// How many players are in it.
    pub player_count: u32,
    /// Registered players, where the backend tells (for searches by user).
    pub registered_players: Vec<String>,
    /// Where to connect, if the backend tells before joining.
    pub host_address: Option<String>,
}
