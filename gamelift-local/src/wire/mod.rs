//! The codecs: the two wire formats of the GameLift control plane over one value model, and the
//! Server SDK 5 connection query.
//!
//! Requests are decoded into a [`Value`] and responses encoded from one, so the operation handlers
//! never know which protocol a request used: Smithy RPC v2 CBOR (what `aws-sdk-gamelift` >= 1.109
//! sends, through [`minicbor`]) or awsJson1.1 (boto3, the JavaScript SDK, the AWS CLI, through
//! `serde_json`). Both decoders apply the same limits: at most [`MAX_DEPTH`] levels of nesting,
//! text map keys only, and a member named twice in one structure is refused, never resolved
//! silently one way in one protocol and another way in the other.

use std::borrow::Cow;

mod cbor;
mod json;
mod query;

pub use cbor::{decode_cbor, encode_cbor};
pub use json::{decode_json, encode_json};
pub use query::parse_query;

/// A decoded request or an encodable response.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// JSON `null`, CBOR null or undefined.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A text string.
    Str(String),
    /// A point in time, in seconds since the Unix epoch: a number in JSON, tag 1 in CBOR.
    Timestamp(f64),
    /// A list.
    List(Vec<Value>),
    /// A structure or map, in insertion order. Names are borrowed for responses, owned when
    /// decoded.
    Map(Vec<(Cow<'static, str>, Value)>),
}

impl Value {
    /// An empty structure.
    pub fn map() -> Self {
        Value::Map(Vec::new())
    }

    /// Adds a member to a map value (does nothing on other values).
    pub fn with(mut self, key: &'static str, value: impl Into<Value>) -> Self {
        self.push(key, value);
        self
    }

    /// Adds a member if `value` is `Some`.
    pub fn with_opt<T: Into<Value>>(mut self, key: &'static str, value: Option<T>) -> Self {
        if let Some(value) = value {
            self.push(key, value);
        }
        self
    }

    /// Adds a member to a map value.
    pub fn push(&mut self, key: &'static str, value: impl Into<Value>) {
        if let Value::Map(members) = self {
            members.push((Cow::Borrowed(key), value.into()));
        }
    }

    /// A member of a map value.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(members) => members.iter().find(|(name, _)| name == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// This value's type with its article, for error messages ("an integer").
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Timestamp(_) => "a timestamp",
            Value::List(_) => "a list",
            Value::Map(_) => "a structure",
        }
    }
}

impl From<&str> for Value {
    fn from(value: &str) -> Self {
        Value::Str(value.to_string())
    }
}
impl From<String> for Value {
    fn from(value: String) -> Self {
        Value::Str(value)
    }
}
impl From<&String> for Value {
    fn from(value: &String) -> Self {
        Value::Str(value.clone())
    }
}
impl From<bool> for Value {
    fn from(value: bool) -> Self {
        Value::Bool(value)
    }
}
impl From<i64> for Value {
    fn from(value: i64) -> Self {
        Value::Int(value)
    }
}
impl From<u32> for Value {
    fn from(value: u32) -> Self {
        Value::Int(i64::from(value))
    }
}
impl From<u16> for Value {
    fn from(value: u16) -> Self {
        Value::Int(i64::from(value))
    }
}
impl From<usize> for Value {
    fn from(value: usize) -> Self {
        Value::Int(i64::try_from(value).unwrap_or(i64::MAX))
    }
}
impl From<f64> for Value {
    fn from(value: f64) -> Self {
        Value::Float(value)
    }
}
impl From<Vec<Value>> for Value {
    fn from(value: Vec<Value>) -> Self {
        Value::List(value)
    }
}

/// Why a body could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(pub String);

/// Deepest nesting a request may use.
pub const MAX_DEPTH: usize = 64;

/// The most values (of any kind, nested ones included) one request may hold. It bounds the memory
/// a 2 MiB body can make the service allocate: a list of two million empty strings is refused
/// while it is read.
pub const MAX_VALUES: usize = 100_000;

/// The error for a request with more than [`MAX_VALUES`] values.
fn too_many_values() -> DecodeError {
    DecodeError(format!(
        "the request holds more than {MAX_VALUES} values; no GameLift operation takes that many"
    ))
}

/// Remembers the member names of one structure being decoded, to refuse a name given twice:
/// a scan while the structure is small (most are), a hash set once it is not, so a huge
/// structure still costs linear time.
#[derive(Default)]
struct MemberNames {
    large: Option<std::collections::HashSet<String>>,
}

impl MemberNames {
    const SCAN_LIMIT: usize = 16;

    /// Records `key`; an error if `members` (those decoded so far) already has it.
    fn check(
        &mut self,
        members: &[(Cow<'static, str>, Value)],
        key: &str,
    ) -> Result<(), DecodeError> {
        let fresh = if members.len() < Self::SCAN_LIMIT {
            !members.iter().any(|(name, _)| name == key)
        } else {
            let set = self
                .large
                .get_or_insert_with(|| members.iter().map(|(name, _)| name.to_string()).collect());
            set.insert(key.to_string())
        };
        if fresh {
            Ok(())
        } else {
            Err(duplicate_member(key))
        }
    }
}

/// The error for a structure that names `key` twice.
fn duplicate_member(key: &str) -> DecodeError {
    DecodeError(format!(
        "the member `{key}` appears more than once in one structure"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cbor_round_trips_every_kind_of_value() {
        let value = Value::map()
            .with("FleetId", "fleet-1")
            .with("Count", 300i64)
            .with("Negative", -25i64)
            .with("Ratio", 0.5)
            .with("When", Value::Timestamp(1_700_000_000.25))
            .with("Whole", Value::Timestamp(1_700_000_000.0))
            .with("Flag", true)
            .with("Nothing", Value::Null)
            .with("List", vec![Value::from("a"), Value::from(1i64)]);
        assert_eq!(decode_cbor(&encode_cbor(&value)).unwrap(), value);
    }

    #[test]
    fn cbor_accepts_indefinite_maps_arrays_and_strings() {
        // {_ "FleetId": "fleet-missing"} as aws-sdk-gamelift encodes it.
        let mut body = vec![0xBF, 0x67];
        body.extend_from_slice(b"FleetId");
        body.push(0x6D);
        body.extend_from_slice(b"fleet-missing");
        body.push(0xFF);
        assert_eq!(
            decode_cbor(&body).unwrap(),
            Value::map().with("FleetId", "fleet-missing")
        );
        // {_ "L": [_ "x", (_ "y", "z")]}
        let body = [
            0xBF, 0x61, b'L', 0x9F, 0x61, b'x', 0x7F, 0x61, b'y', 0x61, b'z', 0xFF, 0xFF, 0xFF,
        ];
        assert_eq!(
            decode_cbor(&body).unwrap(),
            Value::map().with("L", vec![Value::from("x"), Value::from("yz")])
        );
    }

    #[test]
    fn cbor_rejects_truncated_lying_and_trailing_input() {
        assert!(decode_cbor(&[0xBF, 0x67, b'F']).is_err());
        // A map that claims 2^32 entries in a 6-byte body must fail fast.
        assert!(decode_cbor(&[0xBA, 0xFF, 0xFF, 0xFF, 0xFF, 0x00]).is_err());
        assert!(
            decode_cbor(&[0xA0, 0x00])
                .unwrap_err()
                .0
                .contains("after the top-level")
        );
        assert!(
            decode_cbor(&[0x61, b'x'])
                .unwrap_err()
                .0
                .contains("must be a CBOR map")
        );
        let deep: Vec<u8> = std::iter::repeat_n(0x81u8, 100).chain([0xA0]).collect();
        let mut body = vec![0xA1, 0x61, b'k'];
        body.extend(deep);
        assert!(decode_cbor(&body).unwrap_err().0.contains("nesting"));
    }

    #[test]
    fn both_protocols_refuse_a_member_named_twice_and_deep_nesting() {
        let cbor = [0xA2, 0x61, b'A', 0x01, 0x61, b'A', 0x02];
        let json = br#"{"A":1,"A":2}"#;
        for error in [
            decode_cbor(&cbor).unwrap_err(),
            decode_json(json).unwrap_err(),
        ] {
            assert!(error.0.contains("`A` appears more than once"), "{error}");
        }
        // The same member name in two different structures is fine.
        assert!(decode_json(br#"{"A":{"A":1}}"#).is_ok());
        let deep = format!("{{\"k\":{}0{}}}", "[".repeat(100), "]".repeat(100));
        assert!(
            decode_json(deep.as_bytes())
                .unwrap_err()
                .0
                .contains("deeper than 64")
        );
        assert!(
            decode_json(br#"{"a":1} x"#)
                .unwrap_err()
                .0
                .contains("not valid JSON")
        );
    }

    #[test]
    fn json_encodes_timestamps_as_epoch_seconds_and_escapes_strings() {
        let value = Value::map()
            .with("T", Value::Timestamp(1_469_498_468.057))
            .with("S", "quote \" slash \\ newline \n");
        let text = String::from_utf8(encode_json(&value)).unwrap();
        assert_eq!(
            text,
            r#"{"T":1469498468.057,"S":"quote \" slash \\ newline \n"}"#
        );
        assert_eq!(
            decode_json(text.as_bytes()).unwrap().get("T"),
            Some(&Value::Float(1_469_498_468.057))
        );
        assert!(decode_json(b"[1]").unwrap_err().0.contains("JSON object"));
        assert!(decode_json(b"{").unwrap_err().0.contains("not valid JSON"));
        assert_eq!(decode_json(b"").unwrap(), Value::map());
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode_cbor(&bytes);
            let _ = decode_json(&bytes);
        }

        #[test]
        fn mutated_valid_cbor_never_panics(position in 0usize..64, byte in any::<u8>()) {
            let mut body = encode_cbor(
                &Value::map()
                    .with("FleetId", "fleet-local")
                    .with("List", vec![Value::from(1i64), Value::from("two")])
                    .with("When", Value::Timestamp(1.5)),
            );
            let index = position % body.len();
            body[index] = byte;
            let _ = decode_cbor(&body);
        }
    }
}
