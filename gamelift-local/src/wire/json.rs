//! awsJson1.1 through `serde_json`.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use std::cell::Cell;

use super::{DecodeError, MAX_DEPTH, MAX_VALUES, Value, too_many_values};

/// Decodes an awsJson1.1 body. An empty body counts as `{}`.
pub fn decode_json(body: &[u8]) -> Result<Value, DecodeError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::map());
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let budget = Cell::new(MAX_VALUES);
    let value = Seed {
        depth: 0,
        budget: &budget,
    }
    .deserialize(&mut deserializer)
    .and_then(|value| deserializer.end().map(|()| value))
    .map_err(|error| {
        let text = error.to_string();
        // Our own refusals (depth, duplicates) read better without serde's prefix.
        if error.is_data() {
            DecodeError(text)
        } else {
            DecodeError(format!("the request body is not valid JSON: {text}"))
        }
    })?;
    if !matches!(value, Value::Map(_)) {
        return Err(DecodeError(format!(
            "the request body must be a JSON object, not {}",
            json_type(&value)
        )));
    }
    Ok(value)
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Int(_) | Value::Float(_) | Value::Timestamp(_) => "a number",
        Value::Str(_) => "a string",
        Value::List(_) => "an array",
        Value::Map(_) => "an object",
    }
}

/// Builds a [`Value`] straight from the parser, keeping member order, counting depth and refusing
/// a member named twice.
struct Seed<'b> {
    depth: usize,
    /// Values still allowed in this request.
    budget: &'b Cell<usize>,
}

impl<'b> Seed<'b> {
    fn child(&self) -> Seed<'b> {
        Seed {
            depth: self.depth + 1,
            budget: self.budget,
        }
    }
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        match self.budget.get().checked_sub(1) {
            Some(left) => self.budget.set(left),
            None => return Err(de::Error::custom(too_many_values())),
        }
        if self.depth > MAX_DEPTH {
            return Err(de::Error::custom(format!(
                "the request nests deeper than {MAX_DEPTH} levels"
            )));
        }
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }
    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Int(value))
    }
    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(i64::try_from(value).map_or(Value::Float(value as f64), Value::Int))
    }
    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(Value::Float(value))
    }
    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::Str(value.to_owned()))
    }
    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::Str(value))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = access.next_element_seed(self.child())? {
            items.push(item);
        }
        Ok(Value::List(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut members = Vec::new();
        let mut names = super::MemberNames::default();
        while let Some(key) = access.next_key::<String>()? {
            names.check(&members, &key).map_err(de::Error::custom)?;
            let item = access.next_value_seed(self.child())?;
            members.push((Cow::Owned(key), item));
        }
        Ok(Value::Map(members))
    }
}

/// Encodes a value as awsJson1.1: timestamps as epoch seconds, whole numbers without a fraction.
pub fn encode_json(value: &Value) -> Vec<u8> {
    // Serializing a Value cannot fail: every map key is a string and no custom error is raised.
    serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec())
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Int(i) => serializer.serialize_i64(*i),
            Value::Float(f) | Value::Timestamp(f) => {
                if !f.is_finite() {
                    serializer.serialize_unit()
                } else if f.fract() == 0.0 && f.abs() < 9.0e15 {
                    serializer.serialize_i64(*f as i64)
                } else {
                    serializer.serialize_f64(*f)
                }
            }
            Value::Str(s) => serializer.serialize_str(s),
            Value::List(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Value::Map(members) => {
                let mut map = serializer.serialize_map(Some(members.len()))?;
                for (key, item) in members {
                    map.serialize_entry(key.as_ref(), item)?;
                }
                map.end()
            }
        }
    }
}
