//! Reading an operation's input members with the service model's constraints, reporting
//! violations in the real service's style:
//! `1 validation error detected: Value 'x' at 'fleetId' failed to satisfy constraint: ...`.

use std::sync::LazyLock;

use regex::Regex;

use crate::error::ServiceError;
use crate::wire::Value;

/// A regular expression from the service model, compiled on first use.
pub struct Pattern {
    source: &'static str,
    regex: LazyLock<Regex>,
}

macro_rules! patterns {
    ($($name:ident = $source:literal;)*) => {
        $(
            pub static $name: Pattern = Pattern {
                source: $source,
                regex: LazyLock::new(|| Regex::new($source).expect("model pattern compiles")),
            };
        )*
    };
}

patterns! {
    FLEET_ID_OR_ARN = r"^[a-z]*fleet-[a-zA-Z0-9\-]+$|^arn:.*:[a-z]*fleet\/[a-z]*fleet-[a-zA-Z0-9\-]+$";
    ALIAS_ID_OR_ARN = r"^(alias-\S+|arn:.*:alias\/alias-\S+)$";
    ARN_STRING = r"^[a-zA-Z0-9:/-]+$";
    ID_STRING = r"^[a-zA-Z0-9-]+$";
    LOCATION = r"^[A-Za-z0-9\-]+$";
    CUSTOM_LOCATION = r"^custom-[A-Za-z0-9\-]+$";
    PLAYER_SESSION_ID = r"^psess-\S+$";
    COMPUTE_NAME = r"^[a-zA-Z0-9\-]+(\/[a-zA-Z0-9\-]+)?$";
    COMPUTE_NAME_OR_ARN = r"^([a-zA-Z0-9\-]+(\/[a-zA-Z0-9\-]+)?|arn:.*:compute\/[a-zA-Z0-9\-]+(\/[a-zA-Z0-9\-]+)?)$";
    DNS_NAME = r"^[0-9a-zA-Z_\-\.]+$";
    IP_ADDRESS = r"^[0-9A-Fa-f\:\.]+$";
    QUEUE_NAME = r"^[a-zA-Z0-9-]+$";
    QUEUE_NAME_OR_ARN = r"^([a-zA-Z0-9-]+|arn:.*:gamesessionqueue\/[a-zA-Z0-9-]+)$";
    NON_BLANK = r"^.*\S.*$";
    ANYWHERE_COST = r"^\d{1,5}(?:\.\d{1,5})?$";
    BUILD_ID_OR_ARN = r"^(build-\S+|arn:.*:build\/build-\S+)$";
    SCRIPT_ID_OR_ARN = r"^(script-\S+|arn:.*:script\/script-\S+)$";
    SNS_ARN = r"^[a-zA-Z0-9:_-]*(\.fifo)?$";
    LAUNCH_PATH = r"^[A-Za-z0-9_:.+\/\\\- ]+$";
    MATCHMAKING_NAME = r"^[a-zA-Z0-9-\.]*$";
    CONFIGURATION_NAME_OR_ARN = r"^([a-zA-Z0-9-\.]*|arn:.*:matchmakingconfiguration\/[a-zA-Z0-9-\.]*)$";
    RULE_SET_NAME_OR_ARN = r"^([a-zA-Z0-9-\.]*|arn:.*:matchmakingruleset\/[a-zA-Z0-9-\.]*)$";
    TICKET_ID = r"^[a-zA-Z0-9-\.]*$";
    QUEUE_ARN = r"^[a-zA-Z0-9:/-]+$";
    LAUNCH_PARAMETERS = r#"^[A-Za-z0-9_:.+\/\\\- =@;{},?'\[\]"]+$"#;
}

impl Pattern {
    fn matches(&self, text: &str) -> bool {
        self.regex.is_match(text)
    }
}

/// Constraints on a string member.
#[derive(Clone, Copy)]
pub struct Str {
    /// Smallest length in characters.
    pub min: usize,
    /// Largest length in characters.
    pub max: usize,
    /// A pattern the value must match.
    pub pattern: Option<&'static Pattern>,
    /// Allowed values.
    pub one_of: Option<&'static [&'static str]>,
    /// Whether the member must be present.
    pub required: bool,
    /// Whether to leave the value out of error messages.
    pub sensitive: bool,
}

impl Str {
    /// A string of `min..=max` characters.
    pub const fn len(min: usize, max: usize) -> Self {
        Str {
            min,
            max,
            pattern: None,
            one_of: None,
            required: false,
            sensitive: false,
        }
    }

    /// One of a fixed set of values.
    pub const fn one_of(values: &'static [&'static str]) -> Self {
        Str {
            min: 0,
            max: usize::MAX,
            pattern: None,
            one_of: Some(values),
            required: false,
            sensitive: false,
        }
    }

    /// Also matching `pattern`.
    pub const fn pattern(mut self, pattern: &'static Pattern) -> Self {
        self.pattern = Some(pattern);
        self
    }

    /// Required.
    pub const fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Sensitive (the value is not echoed in messages).
    pub const fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }
}

/// Constraints on an integer member.
#[derive(Clone, Copy)]
pub struct Int {
    /// Smallest value.
    pub min: i64,
    /// Largest value.
    pub max: i64,
    /// Whether the member must be present.
    pub required: bool,
}

impl Int {
    /// An integer in `min..=max`.
    pub const fn range(min: i64, max: i64) -> Self {
        Int {
            min,
            max,
            required: false,
        }
    }

    /// At least `min`.
    pub const fn at_least(min: i64) -> Self {
        Self::range(min, i64::MAX)
    }

    /// Required.
    pub const fn required(mut self) -> Self {
        self.required = true;
        self
    }
}

/// Reads the members of one input structure, collecting every violation.
pub struct Input<'a> {
    value: &'a Value,
    path: String,
    /// The first [`MAX_REPORTED`] violations, word for word.
    errors: Vec<String>,
    /// How many violations there are in all.
    error_count: usize,
    type_error: Option<String>,
}

/// At most this many violations are spelled out in one error message; the count is always
/// complete. So a list of two million bad items costs one short message, not a huge one.
pub const MAX_REPORTED: usize = 10;

/// `FleetId` -> `fleetId`, the casing the service uses in validation messages.
fn lower_camel(member: &str) -> String {
    let mut chars = member.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn quote(value: &str, sensitive: bool) -> String {
    if sensitive {
        "'*** Sensitive Data Redacted ***'".to_string()
    } else {
        let shown: String = value.chars().take(256).collect();
        format!("'{shown}'")
    }
}

impl<'a> Input<'a> {
    /// Reads the top-level input.
    pub fn new(value: &'a Value) -> Self {
        Input {
            value,
            path: String::new(),
            errors: Vec::new(),
            error_count: 0,
            type_error: None,
        }
    }

    fn nested(&self, value: &'a Value, path: String) -> Input<'a> {
        Input {
            value,
            path,
            errors: Vec::new(),
            error_count: 0,
            type_error: None,
        }
    }

    fn absorb(&mut self, other: Input<'a>) {
        self.error_count += other.error_count;
        let room = MAX_REPORTED.saturating_sub(self.errors.len());
        self.errors.extend(other.errors.into_iter().take(room));
        if self.type_error.is_none() {
            self.type_error = other.type_error;
        }
    }

    fn member_path(&self, member: &str) -> String {
        if self.path.is_empty() {
            lower_camel(member)
        } else {
            format!("{}.{}", self.path, lower_camel(member))
        }
    }

    fn raw(&self, member: &str) -> Option<&'a Value> {
        match self.value.get(member) {
            None | Some(Value::Null) => None,
            Some(value) => Some(value),
        }
    }

    fn wrong_type(&mut self, member: &str, expected: &str, found: &Value) {
        if self.type_error.is_none() {
            self.type_error = Some(format!(
                "member `{}` must be {expected}, not {}",
                self.member_path(member),
                found.type_name()
            ));
        }
    }

    fn violation(&mut self, shown: String, member: &str, constraint: String) {
        let message = format!(
            "Value {shown} at '{}' failed to satisfy constraint: {constraint}",
            self.member_path(member)
        );
        self.push_error(message);
    }

    fn push_error(&mut self, message: String) {
        self.error_count += 1;
        if self.errors.len() < MAX_REPORTED {
            self.errors.push(message);
        }
    }

    fn missing(&mut self, member: &str) {
        self.violation("null".into(), member, "Member must not be null".into());
    }

    /// A string member.
    pub fn str(&mut self, member: &str, rule: Str) -> Option<String> {
        let value = match self.raw(member) {
            None => {
                if rule.required {
                    self.missing(member);
                }
                return None;
            }
            Some(Value::Str(text)) => text,
            Some(other) => {
                self.wrong_type(member, "a string", other);
                return None;
            }
        };
        self.check_str(member, value, rule);
        Some(value.clone())
    }

    fn check_str(&mut self, member: &str, value: &str, rule: Str) -> bool {
        let before = self.error_count;
        let shown = quote(value, rule.sensitive);
        let length = value.chars().count();
        if length < rule.min {
            self.violation(
                shown.clone(),
                member,
                format!(
                    "Member must have length greater than or equal to {}",
                    rule.min
                ),
            );
        }
        if length > rule.max {
            self.violation(
                shown.clone(),
                member,
                format!("Member must have length less than or equal to {}", rule.max),
            );
        }
        if let Some(pattern) = rule.pattern
            && !pattern.matches(value)
        {
            self.violation(
                shown.clone(),
                member,
                format!(
                    "Member must satisfy regular expression pattern: {}",
                    pattern.source
                ),
            );
        }
        if let Some(values) = rule.one_of
            && !values.contains(&value)
        {
            self.violation(
                shown,
                member,
                format!(
                    "Member must satisfy enum value set: [{}]",
                    values.join(", ")
                ),
            );
        }
        self.error_count == before
    }

    /// An integer member.
    pub fn int(&mut self, member: &str, rule: Int) -> Option<i64> {
        let value = match self.raw(member) {
            None => {
                if rule.required {
                    self.missing(member);
                }
                return None;
            }
            Some(Value::Int(value)) => *value,
            Some(Value::Float(value)) if value.fract() == 0.0 && value.abs() < 9.0e15 => {
                *value as i64
            }
            Some(other) => {
                self.wrong_type(member, "an integer", other);
                return None;
            }
        };
        if value < rule.min {
            self.violation(
                format!("'{value}'"),
                member,
                format!(
                    "Member must have value greater than or equal to {}",
                    rule.min
                ),
            );
        }
        if value > rule.max {
            self.violation(
                format!("'{value}'"),
                member,
                format!("Member must have value less than or equal to {}", rule.max),
            );
        }
        Some(value)
    }

    /// A boolean member.
    pub fn bool(&mut self, member: &str, required: bool) -> Option<bool> {
        match self.raw(member) {
            None => {
                if required {
                    self.missing(member);
                }
                None
            }
            Some(Value::Bool(value)) => Some(*value),
            Some(other) => {
                self.wrong_type(member, "a boolean", other);
                None
            }
        }
    }

    /// A map member (at most `max` entries), each value read by `read` with its key.
    pub fn map_of<T>(
        &mut self,
        member: &str,
        max: usize,
        mut read: impl FnMut(&mut Input<'a>, &str, &'a Value) -> Option<T>,
    ) -> Option<Vec<(String, T)>> {
        let members = match self.raw(member) {
            None => return None,
            Some(Value::Map(members)) => members,
            Some(other) => {
                self.wrong_type(member, "a map", other);
                return None;
            }
        };
        if members.len() > max {
            self.violation(
                "'{...}'".into(),
                member,
                format!("Member must have at most {max} entries"),
            );
            return None;
        }
        let mut out = Vec::with_capacity(members.len());
        for (name, item) in members {
            let path = format!("{}.{name}", self.member_path(member));
            let mut nested = self.nested(item, path);
            let value = read(&mut nested, name, item);
            self.absorb(nested);
            if let Some(value) = value {
                out.push((name.to_string(), value));
            }
        }
        Some(out)
    }

    /// A floating-point member.
    pub fn float(&mut self, member: &str) -> Option<f64> {
        match self.raw(member) {
            None => None,
            Some(Value::Int(value)) => Some(*value as f64),
            Some(Value::Float(value)) => Some(*value),
            Some(other) => {
                self.wrong_type(member, "a number", other);
                None
            }
        }
    }

    fn list(
        &mut self,
        member: &str,
        min: usize,
        max: usize,
        required: bool,
    ) -> Option<&'a [Value]> {
        let items = match self.raw(member) {
            None => {
                if required {
                    self.missing(member);
                }
                return None;
            }
            Some(Value::List(items)) => items.as_slice(),
            Some(other) => {
                self.wrong_type(member, "a list", other);
                return None;
            }
        };
        if items.len() < min {
            self.violation(
                "'[...]'".into(),
                member,
                format!("Member must have length greater than or equal to {min}"),
            );
        }
        if items.len() > max {
            self.violation(
                "'[...]'".into(),
                member,
                format!("Member must have length less than or equal to {max}"),
            );
            // The items of a list that is too long are not read one by one: the request is
            // refused anyway, and a huge list must not cost a huge answer.
            return None;
        }
        Some(items)
    }

    /// A list of strings, each checked against `rule`.
    pub fn str_list(
        &mut self,
        member: &str,
        min: usize,
        max: usize,
        required: bool,
        rule: Str,
    ) -> Option<Vec<String>> {
        let items = self.list(member, min, max, required)?;
        let mut out = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let item_member = format!("{}.{}.member", lower_camel(member), index + 1);
            match item {
                Value::Str(text) => {
                    let mut nested = self.nested(self.value, self.path.clone());
                    nested.check_str(&item_member, text, rule);
                    self.absorb(nested);
                    out.push(text.clone());
                }
                other => self.wrong_type(&item_member, "a string", other),
            }
        }
        Some(out)
    }

    /// A list of structures, each read by `read`.
    pub fn struct_list<T>(
        &mut self,
        member: &str,
        min: usize,
        max: usize,
        required: bool,
        mut read: impl FnMut(&mut Input<'a>) -> Option<T>,
    ) -> Option<Vec<T>> {
        let items = self.list(member, min, max, required)?;
        let mut out = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let path = format!("{}.{}.member", self.member_path(member), index + 1);
            if !matches!(item, Value::Map(_)) {
                self.wrong_type(
                    &format!("{}.{}.member", lower_camel(member), index + 1),
                    "a structure",
                    item,
                );
                continue;
            }
            let mut nested = self.nested(item, path);
            let value = read(&mut nested);
            self.absorb(nested);
            if let Some(value) = value {
                out.push(value);
            }
        }
        Some(out)
    }

    /// A structure member, read by `read`.
    pub fn structure<T>(
        &mut self,
        member: &str,
        required: bool,
        read: impl FnOnce(&mut Input<'a>) -> Option<T>,
    ) -> Option<T> {
        let value = match self.raw(member) {
            None => {
                if required {
                    self.missing(member);
                }
                return None;
            }
            Some(value @ Value::Map(_)) => value,
            Some(other) => {
                self.wrong_type(member, "a structure", other);
                return None;
            }
        };
        let mut nested = self.nested(value, self.member_path(member));
        let out = read(&mut nested);
        self.absorb(nested);
        out
    }

    /// A map of strings to strings.
    pub fn str_map(
        &mut self,
        member: &str,
        key: Str,
        value_rule: Str,
    ) -> Option<Vec<(String, String)>> {
        let members = match self.raw(member) {
            None => return None,
            Some(Value::Map(members)) => members,
            Some(other) => {
                self.wrong_type(member, "a map", other);
                return None;
            }
        };
        let mut out = Vec::with_capacity(members.len());
        for (name, item) in members {
            let entry = format!("{}.{name}", lower_camel(member));
            match item {
                Value::Str(text) => {
                    let mut nested = self.nested(self.value, self.path.clone());
                    nested.check_str(&format!("{entry}.key"), name, key);
                    nested.check_str(&entry, text, value_rule);
                    self.absorb(nested);
                    out.push((name.to_string(), text.clone()));
                }
                other => self.wrong_type(&entry, "a string", other),
            }
        }
        Some(out)
    }

    /// `GameProperties`: at most 16 `{Key (<= 32), Value (<= 96)}` pairs.
    pub fn game_properties(&mut self, member: &str) -> Option<Vec<(String, String)>> {
        self.struct_list(member, 0, 16, false, |item| {
            let key = item.str("Key", Str::len(0, 32).required());
            let value = item.str("Value", Str::len(0, 96).required().sensitive());
            Some((key?, value?))
        })
    }

    /// `Tags`: at most 200 `{Key (1..128), Value (0..256)}` pairs.
    pub fn tags(&mut self, member: &str) -> Option<Vec<(String, String)>> {
        self.struct_list(member, 0, 200, false, |item| {
            let key = item.str("Key", Str::len(1, 128).required());
            let value = item.str("Value", Str::len(0, 256).required());
            Some((key?, value?))
        })
    }

    /// Records a violation that is not a simple constraint (for example "exactly one of").
    pub fn reject(&mut self, message: impl Into<String>) {
        self.push_error(message.into());
    }

    /// Ends reading: the first type error, else every constraint violation, else `Ok`.
    pub fn finish(self) -> Result<(), ServiceError> {
        if let Some(message) = self.type_error {
            return Err(ServiceError::serialization(message));
        }
        match self.error_count {
            0 => Ok(()),
            1 => Err(ServiceError::invalid(format!(
                "1 validation error detected: {}",
                self.errors.join("; ")
            ))),
            count => {
                let more = count.saturating_sub(self.errors.len());
                let tail = if more > 0 {
                    format!("; and {more} more")
                } else {
                    String::new()
                };
                Err(ServiceError::invalid(format!(
                    "{count} validation errors detected: {}{tail}",
                    self.errors.join("; ")
                )))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_follow_the_service_style() {
        let input = Value::map()
            .with("FleetId", "not a fleet")
            .with("MaximumPlayerSessionCount", -1i64);
        let mut reader = Input::new(&input);
        reader.str("FleetId", Str::len(1, 512).pattern(&FLEET_ID_OR_ARN));
        reader.int("MaximumPlayerSessionCount", Int::at_least(0).required());
        reader.str("Name", Str::len(1, 1024).required());
        let error = reader.finish().unwrap_err();
        assert_eq!(error.code, "InvalidRequestException");
        assert!(error.message.starts_with("3 validation errors detected: Value 'not a fleet' at 'fleetId' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-z]*fleet-"), "{}", error.message);
        assert!(error.message.contains("Value '-1' at 'maximumPlayerSessionCount' failed to satisfy constraint: Member must have value greater than or equal to 0"));
        assert!(error.message.contains(
            "Value null at 'name' failed to satisfy constraint: Member must not be null"
        ));
    }

    #[test]
    fn wrong_types_are_serialization_errors_naming_the_member() {
        let input = Value::map().with("FleetId", 12i64);
        let mut reader = Input::new(&input);
        reader.str("FleetId", Str::len(1, 512));
        let error = reader.finish().unwrap_err();
        assert_eq!(error.code, "SerializationException");
        assert_eq!(
            error.message,
            "member `fleetId` must be a string, not an integer"
        );
    }

    #[test]
    fn nested_members_are_named_by_path() {
        let input = Value::map().with(
            "GameProperties",
            vec![Value::map().with("Key", "k".repeat(33)).with("Value", "v")],
        );
        let mut reader = Input::new(&input);
        reader.game_properties("GameProperties");
        let error = reader.finish().unwrap_err();
        assert!(
            error.message.contains("at 'gameProperties.1.member.key'"),
            "{}",
            error.message
        );
    }
}
