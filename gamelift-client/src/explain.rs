//! Turning AWS SDK failures into errors a person can act on.
//!
//! The SDK reports a stopped service as `dispatch failure` and a web server that is not GameLift
//! as `service error`. [`explain`] looks at what really happened (connection refused, a timeout,
//! a TLS failure, an answer that is not GameLift's, missing credentials) and says so, naming the
//! endpoint and what to do.

use std::error::Error as StdError;

use aws_sdk_gamelift::config::http::HttpResponse;
use aws_sdk_gamelift::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use game_session::SessionError;

/// Where calls go, for error messages: an endpoint override or Amazon GameLift in a Region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// An endpoint override, such as `gamelift-local` at `http://127.0.0.1:9080`.
    Local(String),
    /// Amazon GameLift in this Region.
    Aws(String),
    /// Unknown (a client built elsewhere).
    Unknown,
}

impl Endpoint {
    /// The endpoint a configuration points at.
    pub fn of(endpoint_url: Option<&str>, region: Option<&str>) -> Self {
        match (endpoint_url, region) {
            (Some(url), _) => Endpoint::Local(url.to_string()),
            (None, Some(region)) => Endpoint::Aws(region.to_string()),
            (None, None) => Endpoint::Unknown,
        }
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Local(url) => f.write_str(url),
            Endpoint::Aws(region) => write!(f, "Amazon GameLift in {region}"),
            Endpoint::Unknown => f.write_str("the GameLift endpoint"),
        }
    }
}

/// The whole chain of causes, lower-cased, for classification.
fn causes(error: &(dyn StdError + 'static)) -> String {
    let mut text = String::new();
    let mut next = Some(error);
    while let Some(error) = next {
        text.push_str(&error.to_string().to_lowercase());
        text.push_str(" | ");
        next = error.source();
    }
    text
}

fn io_kind(error: &(dyn StdError + 'static)) -> Option<std::io::ErrorKind> {
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(io) = error.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        next = error.source();
    }
    None
}

/// The innermost cause: the most specific thing the lower layers said.
fn root_cause(error: &(dyn StdError + 'static)) -> String {
    let mut last = error;
    while let Some(next) = last.source() {
        last = next;
    }
    last.to_string()
}

fn looks_like_credentials(text: &str) -> bool {
    text.contains("credential") || text.contains("no identity") || text.contains("identity")
}

/// What went wrong with a call to `endpoint`, as a typed error that names the endpoint and what
/// to do. Errors the service returned keep their AWS code and message.
pub fn explain<E>(error: &SdkError<E, HttpResponse>, endpoint: &Endpoint) -> SessionError
where
    E: ProvideErrorMetadata + StdError + 'static,
{
    let local = matches!(endpoint, Endpoint::Local(_));
    let detail = root_cause(error);
    let text = causes(error);
    match error {
        SdkError::ServiceError(context) => {
            let inner = context.err();
            match inner.code() {
                Some(code) => SessionError::Service {
                    code: code.to_string(),
                    message: inner.message().unwrap_or_default().to_string(),
                },
                None => SessionError::Transport(format!(
                    "{endpoint} answered HTTP {} with no GameLift error code: it does not look like \
                     a GameLift endpoint; check the endpoint URL",
                    context.raw().status().as_u16()
                )),
            }
        }
        SdkError::TimeoutError(_) => SessionError::Timeout(format!(
            "the call to {endpoint} timed out; check that the service is running and reachable"
        )),
        SdkError::ResponseError(context) => SessionError::Transport(format!(
            "{endpoint} answered HTTP {} with a body that is not a GameLift answer: check that the \
             endpoint URL points at gamelift-local or Amazon GameLift ({detail})",
            context.raw().status().as_u16()
        )),
        SdkError::DispatchFailure(failure) => {
            if failure.is_timeout() {
                return SessionError::Timeout(format!(
                    "connecting to {endpoint} timed out; check the address and that the service is running"
                ));
            }
            if looks_like_credentials(&text) && !failure.is_io() {
                return credentials(endpoint, local);
            }
            if text.contains("certificate")
                || text.contains("tls")
                || text.contains("handshake")
                || text.contains("corrupt message")
                || text.contains("invalidcontenttype")
            {
                return SessionError::Transport(format!(
                    "the TLS connection to {endpoint} failed ({detail}). gamelift-local serves \
                     plain http:// unless it runs with --tls; with --tls, use https:// and trust \
                     the certificate it prints (SSL_CERT_FILE=<path>)"
                ));
            }
            match io_kind(error) {
                Some(std::io::ErrorKind::ConnectionRefused) if local => {
                    SessionError::Transport(format!(
                        "could not connect to {endpoint}: connection refused, nothing listens \
                         there. Start gamelift-local (`cargo run -p gamelift-local`) or pass the \
                         endpoint it prints"
                    ))
                }
                Some(kind) => SessionError::Transport(format!(
                    "could not connect to {endpoint}: {kind}; check the address and your network"
                )),
                None if text.contains("http")
                    && (text.contains("parse") || text.contains("invalid")) =>
                {
                    SessionError::Transport(format!(
                        "{endpoint} did not answer in HTTP ({detail}); if gamelift-local runs \
                         with --tls, use https://"
                    ))
                }
                None if text.contains("connection closed") || text.contains("incomplete") => {
                    SessionError::Transport(format!(
                        "{endpoint} closed the connection without an answer; if it serves TLS, \
                         use https://, otherwise check that it is a GameLift endpoint ({detail})"
                    ))
                }
                None => SessionError::Transport(format!(
                    "the call to {endpoint} could not be sent: {detail}"
                )),
            }
        }
        _ if looks_like_credentials(&text) => credentials(endpoint, local),
        _ => SessionError::Transport(format!(
            "the request to {endpoint} could not be made: {}",
            DisplayErrorContext(error)
        )),
    }
}

fn credentials(endpoint: &Endpoint, local: bool) -> SessionError {
    let advice = if local {
        "gamelift-local accepts any keys: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY to any values"
    } else {
        "set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where an instance role is available"
    };
    SessionError::Transport(format!("no AWS credentials for {endpoint}: {advice}"))
}
