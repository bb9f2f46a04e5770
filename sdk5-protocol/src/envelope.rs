//! The envelope every frame carries, and reading and writing whole frames.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::lenient;

/// The members every frame may carry besides its payload. All payload members sit at the top
/// level of the same JSON object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Envelope {
    /// The action; requests and their responses carry the same one. The real service may send
    /// `null` on error frames, read as empty.
    #[serde(default, deserialize_with = "lenient::or_default")]
    pub action: String,
    /// Present on requests and their responses, absent on pushes. Null or empty reads as `None`.
    #[serde(
        default,
        deserialize_with = "lenient::non_empty",
        skip_serializing_if = "Option::is_none"
    )]
    pub request_id: Option<String>,
    /// On responses: 200 for success, an HTTP-style error code otherwise.
    #[serde(
        default,
        deserialize_with = "lenient::opt_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub status_code: Option<u16>,
    /// On error responses: what went wrong.
    #[serde(
        default,
        deserialize_with = "lenient::non_empty",
        skip_serializing_if = "Option::is_none"
    )]
    pub error_message: Option<String>,
}

impl Envelope {
    /// A request envelope.
    pub fn request(action: impl Into<String>, request_id: impl Into<String>) -> Self {
        Self {
            action: action.into(),
            request_id: Some(request_id.into()),
            status_code: None,
            error_message: None,
        }
    }

    /// A push envelope: no `RequestId` (with one, the Go and C++ SDKs would take the push for an
    /// error response to an unknown request and drop it).
    pub fn push(action: impl Into<String>) -> Self {
        Self {
            action: action.into(),
            request_id: None,
            status_code: None,
            error_message: None,
        }
    }

    /// The success response to `request`.
    pub fn success(request: &Envelope) -> Self {
        Self {
            action: request.action.clone(),
            request_id: request.request_id.clone(),
            status_code: Some(200),
            error_message: None,
        }
    }

    /// An error response to `request`.
    pub fn error(request: &Envelope, status: u16, message: impl Into<String>) -> Self {
        Self {
            action: request.action.clone(),
            request_id: request.request_id.clone(),
            status_code: Some(status),
            error_message: Some(message.into()),
        }
    }

    /// Whether this is an error response: the official SDKs' rule, a status other than 200 on a
    /// frame with a request id.
    pub fn is_error(&self) -> bool {
        self.request_id.is_some() && self.status_code != Some(200)
    }
}

/// Why a frame could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The frame is not JSON.
    #[error("the frame is not valid JSON: {0}")]
    NotJson(String),
    /// The frame is JSON but not an object.
    #[error("the frame must be a JSON object, not {0}")]
    NotAnObject(&'static str),
    /// A member has the wrong type or value.
    #[error("member `{field}`: {message}")]
    Field {
        /// The path of the member (`Port`, `Players[0].LatencyInMs.us-west-2`).
        field: String,
        /// What is wrong with it.
        message: String,
    },
}

/// A frame read from the socket: its envelope and its members, from which the payload of the
/// action is read with [`Frame::body`].
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// The envelope.
    pub envelope: Envelope,
    members: Value,
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn typed<T: DeserializeOwned>(value: &Value) -> Result<T, ProtocolError> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let field = error.path().to_string();
        ProtocolError::Field {
            field,
            message: error.into_inner().to_string(),
        }
    })
}

impl Frame {
    /// Parses a text frame.
    pub fn parse(text: &str) -> Result<Self, ProtocolError> {
        let members: Value = serde_json::from_str(text)
            .map_err(|error| ProtocolError::NotJson(error.to_string()))?;
        if !members.is_object() {
            return Err(ProtocolError::NotAnObject(kind(&members)));
        }
        let envelope = typed(&members)?;
        Ok(Self { envelope, members })
    }

    /// The payload as the message type of its action. Unknown members are ignored.
    pub fn body<T: DeserializeOwned>(&self) -> Result<T, ProtocolError> {
        typed(&self.members)
    }

    /// A member as raw JSON, for diagnostics.
    pub fn member(&self, name: &str) -> Option<&Value> {
        self.members.get(name)
    }
}

/// Writes a frame: the envelope's members, then the payload's.
pub fn encode<T: Serialize>(envelope: &Envelope, body: &T) -> String {
    let mut members = Map::new();
    if let Ok(Value::Object(head)) = serde_json::to_value(envelope) {
        members.extend(head);
    }
    if let Ok(Value::Object(payload)) = serde_json::to_value(body) {
        members.extend(payload);
    }
    Value::Object(members).to_string()
}

/// A payload with no members (requests such as `TerminateServerProcess`, empty responses).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Empty {}
