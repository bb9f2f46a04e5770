//! The two wire formats of the GameLift control plane, over one value model.
//!
//! Requests are decoded into a [`Value`] and responses encoded from one, so the operation handlers
//! never know which protocol a request used: Smithy RPC v2 CBOR (what `aws-sdk-gamelift` >= 1.109
//! sends) or awsJson1.1 (boto3, the JavaScript SDK, the AWS CLI).

use std::borrow::Cow;
use std::fmt::Write as _;

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
const MAX_DEPTH: usize = 64;

// ----- JSON --------------------------------------------------------------------------------------

/// Decodes an awsJson1.1 body. An empty body counts as `{}`.
pub fn decode_json(body: &[u8]) -> Result<Value, DecodeError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::map());
    }
    let json: serde_json::Value = serde_json::from_slice(body)
        .map_err(|error| DecodeError(format!("the request body is not valid JSON: {error}")))?;
    if !json.is_object() {
        return Err(DecodeError(format!(
            "the request body must be a JSON object, not {}",
            json_type(&json)
        )));
    }
    Ok(from_json(json))
}

fn json_type(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

fn from_json(value: serde_json::Value) -> Value {
    match value {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => Value::Str(s),
        serde_json::Value::Array(items) => Value::List(items.into_iter().map(from_json).collect()),
        serde_json::Value::Object(members) => Value::Map(
            members
                .into_iter()
                .map(|(key, value)| (Cow::Owned(key), from_json(value)))
                .collect(),
        ),
    }
}

/// Encodes a value as awsJson1.1.
pub fn encode_json(value: &Value) -> Vec<u8> {
    let mut out = String::with_capacity(256);
    write_json(&mut out, value);
    out.into_bytes()
}

fn write_json(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) | Value::Timestamp(f) => write_float(out, *f),
        Value::Str(s) => write_json_string(out, s),
        Value::List(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_json(out, item);
            }
            out.push(']');
        }
        Value::Map(members) => {
            out.push('{');
            for (index, (key, item)) in members.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_json_string(out, key);
                out.push(':');
                write_json(out, item);
            }
            out.push('}');
        }
    }
}

fn write_float(out: &mut String, f: f64) {
    if f.is_finite() {
        if f.fract() == 0.0 && f.abs() < 9.0e15 {
            let _ = write!(out, "{}", f as i64);
        } else {
            let _ = write!(out, "{f}");
        }
    } else {
        out.push_str("null");
    }
}

fn write_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

// ----- CBOR --------------------------------------------------------------------------------------

/// Decodes a Smithy RPC v2 CBOR body: one map, definite or indefinite lengths, nothing after it.
/// An empty body counts as `{}`.
pub fn decode_cbor(body: &[u8]) -> Result<Value, DecodeError> {
    if body.is_empty() {
        return Ok(Value::map());
    }
    let mut reader = CborReader { data: body, pos: 0 };
    let value = reader.value(0)?;
    if reader.pos != body.len() {
        return Err(DecodeError(format!(
            "the CBOR body has {} unexpected bytes after the top-level value",
            body.len() - reader.pos
        )));
    }
    if !matches!(value, Value::Map(_)) {
        return Err(DecodeError(format!(
            "the request body must be a CBOR map, not {}",
            value.type_name()
        )));
    }
    Ok(value)
}

struct CborReader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl CborReader<'_> {
    fn error(&self, what: &str) -> DecodeError {
        DecodeError(format!("malformed CBOR at byte {}: {what}", self.pos))
    }

    fn byte(&mut self) -> Result<u8, DecodeError> {
        let byte = *self
            .data
            .get(self.pos)
            .ok_or_else(|| self.error("the body ends in the middle of a value"))?;
        self.pos += 1;
        Ok(byte)
    }

    fn take(&mut self, count: u64) -> Result<&[u8], DecodeError> {
        let remaining = (self.data.len() - self.pos) as u64;
        if count > remaining {
            return Err(self.error(&format!(
                "a length of {count} bytes runs past the end of the body"
            )));
        }
        let start = self.pos;
        self.pos += count as usize;
        Ok(&self.data[start..self.pos])
    }

    /// The argument of an initial byte; `None` for the indefinite-length marker.
    fn argument(&mut self, info: u8) -> Result<Option<u64>, DecodeError> {
        Ok(Some(match info {
            0..=23 => u64::from(info),
            24 => u64::from(self.byte()?),
            25 => u64::from(u16::from_be_bytes(self.fixed::<2>()?)),
            26 => u64::from(u32::from_be_bytes(self.fixed::<4>()?)),
            27 => u64::from_be_bytes(self.fixed::<8>()?),
            31 => return Ok(None),
            _ => return Err(self.error(&format!("reserved additional information {info}"))),
        }))
    }

    fn fixed<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let bytes = self.take(N as u64)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    fn is_break(&self) -> bool {
        self.data.get(self.pos) == Some(&0xFF)
    }

    fn value(&mut self, depth: usize) -> Result<Value, DecodeError> {
        if depth > MAX_DEPTH {
            return Err(self.error(&format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        let initial = self.byte()?;
        let major = initial >> 5;
        let info = initial & 0x1F;
        match major {
            0 => {
                let n = self
                    .argument(info)?
                    .ok_or_else(|| self.error("indefinite integer"))?;
                i64::try_from(n)
                    .map(Value::Int)
                    .map_err(|_| self.error("integer out of range"))
            }
            1 => {
                let n = self
                    .argument(info)?
                    .ok_or_else(|| self.error("indefinite integer"))?;
                i64::try_from(n)
                    .map(|n| Value::Int(-1 - n))
                    .map_err(|_| self.error("integer out of range"))
            }
            2 | 3 => {
                let bytes = match self.argument(info)? {
                    Some(length) => self.take(length)?.to_vec(),
                    None => {
                        let mut all = Vec::new();
                        while !self.is_break() {
                            let chunk = self.byte()?;
                            if chunk >> 5 != major {
                                return Err(self.error("a string chunk of another type"));
                            }
                            let length = self
                                .argument(chunk & 0x1F)?
                                .ok_or_else(|| self.error("nested indefinite string"))?;
                            all.extend_from_slice(self.take(length)?);
                        }
                        self.pos += 1;
                        all
                    }
                };
                if major == 3 {
                    String::from_utf8(bytes)
                        .map(Value::Str)
                        .map_err(|_| self.error("a text string that is not UTF-8"))
                } else {
                    // Blobs do not occur in GameLift inputs; keep them as lossy text.
                    Ok(Value::Str(String::from_utf8_lossy(&bytes).into_owned()))
                }
            }
            4 => {
                let mut items = Vec::new();
                match self.argument(info)? {
                    Some(length) => {
                        if length > (self.data.len() - self.pos) as u64 {
                            return Err(self.error("an array longer than the body"));
                        }
                        for _ in 0..length {
                            items.push(self.value(depth + 1)?);
                        }
                    }
                    None => {
                        while !self.is_break() {
                            items.push(self.value(depth + 1)?);
                        }
                        self.pos += 1;
                    }
                }
                Ok(Value::List(items))
            }
            5 => {
                let mut members = Vec::new();
                match self.argument(info)? {
                    Some(length) => {
                        if length > (self.data.len() - self.pos) as u64 {
                            return Err(self.error("a map longer than the body"));
                        }
                        for _ in 0..length {
                            members.push(self.member(depth)?);
                        }
                    }
                    None => {
                        while !self.is_break() {
                            members.push(self.member(depth)?);
                        }
                        self.pos += 1;
                    }
                }
                Ok(Value::Map(members))
            }
            6 => {
                let tag = self
                    .argument(info)?
                    .ok_or_else(|| self.error("indefinite tag"))?;
                let inner = self.value(depth + 1)?;
                Ok(match (tag, inner) {
                    (1, Value::Int(seconds)) => Value::Timestamp(seconds as f64),
                    (1, Value::Float(seconds)) => Value::Timestamp(seconds),
                    (_, inner) => inner,
                })
            }
            _ => match info {
                20 => Ok(Value::Bool(false)),
                21 => Ok(Value::Bool(true)),
                22 | 23 => Ok(Value::Null),
                25 => Ok(Value::Float(f64::from(half_to_f32(u16::from_be_bytes(
                    self.fixed::<2>()?,
                ))))),
                26 => Ok(Value::Float(f64::from(f32::from_be_bytes(
                    self.fixed::<4>()?,
                )))),
                27 => Ok(Value::Float(f64::from_be_bytes(self.fixed::<8>()?))),
                31 => Err(self.error("an unexpected break")),
                _ => Err(self.error(&format!("unsupported simple value {info}"))),
            },
        }
    }

    fn member(&mut self, depth: usize) -> Result<(Cow<'static, str>, Value), DecodeError> {
        let key = match self.value(depth + 1)? {
            Value::Str(key) => key,
            other => {
                return Err(self.error(&format!(
                    "a map key must be a text string, not {}",
                    other.type_name()
                )));
            }
        };
        let value = self.value(depth + 1)?;
        Ok((Cow::Owned(key), value))
    }
}

fn half_to_f32(half: u16) -> f32 {
    let sign = if half & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exponent = i32::from((half >> 10) & 0x1F);
    let fraction = f32::from(half & 0x3FF);
    sign * match exponent {
        0 => fraction * 2f32.powi(-24),
        31 if fraction == 0.0 => f32::INFINITY,
        31 => f32::NAN,
        _ => (1.0 + fraction / 1024.0) * 2f32.powi(exponent - 15),
    }
}

/// Encodes a value as CBOR with definite lengths; timestamps as tag 1.
pub fn encode_cbor(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write_cbor(&mut out, value);
    out
}

fn write_head(out: &mut Vec<u8>, major: u8, argument: u64) {
    let major = major << 5;
    if argument < 24 {
        out.push(major | argument as u8);
    } else if argument <= u64::from(u8::MAX) {
        out.push(major | 24);
        out.push(argument as u8);
    } else if argument <= u64::from(u16::MAX) {
        out.push(major | 25);
        out.extend_from_slice(&(argument as u16).to_be_bytes());
    } else if argument <= u64::from(u32::MAX) {
        out.push(major | 26);
        out.extend_from_slice(&(argument as u32).to_be_bytes());
    } else {
        out.push(major | 27);
        out.extend_from_slice(&argument.to_be_bytes());
    }
}

fn write_cbor(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.push(0xF6),
        Value::Bool(false) => out.push(0xF4),
        Value::Bool(true) => out.push(0xF5),
        Value::Int(i) if *i >= 0 => write_head(out, 0, *i as u64),
        Value::Int(i) => write_head(out, 1, (-1 - *i) as u64),
        Value::Float(f) => {
            out.push(0xFB);
            out.extend_from_slice(&f.to_be_bytes());
        }
        Value::Timestamp(seconds) => {
            out.push(0xC1);
            if seconds.fract() == 0.0 && seconds.abs() < 9.0e15 {
                write_cbor(out, &Value::Int(*seconds as i64));
            } else {
                write_cbor(out, &Value::Float(*seconds));
            }
        }
        Value::Str(s) => {
            write_head(out, 3, s.len() as u64);
            out.extend_from_slice(s.as_bytes());
        }
        Value::List(items) => {
            write_head(out, 4, items.len() as u64);
            for item in items {
                write_cbor(out, item);
            }
        }
        Value::Map(members) => {
            write_head(out, 5, members.len() as u64);
            for (key, item) in members {
                write_head(out, 3, key.len() as u64);
                out.extend_from_slice(key.as_bytes());
                write_cbor(out, item);
            }
        }
    }
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
