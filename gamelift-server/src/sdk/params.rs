//! Where and as whom a process connects ([`ServerParameters`]), and the SDK's timings
//! ([`SdkConfig`]).

use std::path::PathBuf;
use std::time::Duration;

use crate::GameLiftError;

/// The process id value that asks the SDK to generate a unique one.
const MANAGED_RESOURCE: &str = "ManagedResource";

/// How a process connects to the service: the endpoint, the fleet and compute it runs on, its
/// unique process id, and credentials (an auth token, or SigV4 keys).
///
/// On a managed fleet, or under the GameLift Agent, the environment provides every value:
/// use [`ServerParameters::from_env`]. On an Anywhere fleet (or `gamelift-local`), build them:
///
/// ```
/// use gamelift_server::sdk::ServerParameters;
///
/// let parameters = ServerParameters::builder()
///     .websocket_url("ws://127.0.0.1:9080")
///     .fleet_id("fleet-local")
///     .host_id("my-laptop")
///     .process_id("process-1")
///     .auth_token("token-from-GetComputeAuthToken")
///     .build()?;
/// assert_eq!(parameters.fleet_id(), "fleet-local");
/// # Ok::<(), gamelift_server::GameLiftError>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ServerParameters {
    websocket_url: String,
    process_id: String,
    host_id: String,
    fleet_id: String,
    auth_token: String,
    aws_region: String,
    access_key: String,
    secret_key: String,
    session_token: String,
}

impl std::fmt::Debug for ServerParameters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |value: &str| if value.is_empty() { "" } else { "<hidden>" };
        f.debug_struct("ServerParameters")
            .field("websocket_url", &self.websocket_url)
            .field("process_id", &self.process_id)
            .field("host_id", &self.host_id)
            .field("fleet_id", &self.fleet_id)
            .field("auth_token", &hidden(&self.auth_token))
            .field("aws_region", &self.aws_region)
            .field("access_key", &self.access_key)
            .field("secret_key", &hidden(&self.secret_key))
            .field("session_token", &hidden(&self.session_token))
            .finish()
    }
}

/// Builds [`ServerParameters`]; `build` validates as the official SDKs do.
#[derive(Debug, Clone, Default)]
pub struct ServerParametersBuilder {
    parameters: ServerParameters,
}

macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        $(
            $(#[$doc])*
            pub fn $name(mut self, value: impl Into<String>) -> Self {
                self.parameters.$name = value.into();
                self
            }
        )*
    };
}

impl ServerParametersBuilder {
    setters! {
        /// The service's WebSocket endpoint (`GameLiftServiceSdkEndpoint` from RegisterCompute).
        websocket_url,
        /// This process's id, unique per process execution.
        process_id,
        /// The compute (host) name the process runs on.
        host_id,
        /// The fleet id (not an ARN).
        fleet_id,
        /// The auth token from GetComputeAuthToken. When set, it is used instead of SigV4.
        auth_token,
        /// The Region, for SigV4 signing.
        aws_region,
        /// The access key id, for SigV4 signing.
        access_key,
        /// The secret access key, for SigV4 signing.
        secret_key,
        /// The session token of temporary credentials, for SigV4 signing.
        session_token,
    }

    /// Applies the `GAMELIFT_SDK_*` environment variables over what was set (a variable wins
    /// when it is set and not empty).
    pub fn env_overrides(mut self) -> Self {
        self.parameters.apply_env(|name| std::env::var(name).ok());
        self
    }

    /// Validates and returns the parameters.
    pub fn build(self) -> Result<ServerParameters, GameLiftError> {
        let mut parameters = self.parameters;
        parameters.normalize();
        parameters.validate()?;
        Ok(parameters)
    }
}

impl ServerParameters {
    /// A builder.
    pub fn builder() -> ServerParametersBuilder {
        ServerParametersBuilder::default()
    }

    /// The parameters from the environment alone: `GAMELIFT_SDK_WEBSOCKET_URL`,
    /// `GAMELIFT_SDK_AUTH_TOKEN`, `GAMELIFT_SDK_PROCESS_ID` (`ManagedResource` generates one),
    /// `GAMELIFT_SDK_HOST_ID`, `GAMELIFT_SDK_FLEET_ID`, and for SigV4 `GAMELIFT_REGION`,
    /// `GAMELIFT_ACCESS_KEY`, `GAMELIFT_SECRET_KEY`, `GAMELIFT_SESSION_TOKEN`.
    pub fn from_env() -> Result<Self, GameLiftError> {
        Self::builder().env_overrides().build()
    }

    /// As [`from_env`](Self::from_env), reading variables through `lookup` (for tests and
    /// embedders with their own configuration source).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, GameLiftError> {
        let mut parameters = ServerParameters::default();
        parameters.apply_env(lookup);
        parameters.normalize();
        parameters.validate()?;
        Ok(parameters)
    }

    fn apply_env(&mut self, lookup: impl Fn(&str) -> Option<String>) {
        let fields: [(&str, &mut String); 9] = [
            ("GAMELIFT_SDK_WEBSOCKET_URL", &mut self.websocket_url),
            ("GAMELIFT_SDK_AUTH_TOKEN", &mut self.auth_token),
            ("GAMELIFT_SDK_PROCESS_ID", &mut self.process_id),
            ("GAMELIFT_SDK_HOST_ID", &mut self.host_id),
            ("GAMELIFT_SDK_FLEET_ID", &mut self.fleet_id),
            ("GAMELIFT_REGION", &mut self.aws_region),
            ("GAMELIFT_ACCESS_KEY", &mut self.access_key),
            ("GAMELIFT_SECRET_KEY", &mut self.secret_key),
            ("GAMELIFT_SESSION_TOKEN", &mut self.session_token),
        ];
        for (name, field) in fields {
            if let Some(value) = lookup(name).filter(|value| !value.is_empty()) {
                *field = value;
            }
        }
    }

    fn normalize(&mut self) {
        if self.process_id == MANAGED_RESOURCE {
            self.process_id = uuid::Uuid::new_v4().to_string();
        }
        if !self.auth_token.is_empty() {
            // One strategy only: a token wins over SigV4 keys.
            self.aws_region.clear();
            self.access_key.clear();
            self.secret_key.clear();
            self.session_token.clear();
        }
    }

    /// Checks the parameters as the official SDKs do.
    pub fn validate(&self) -> Result<(), GameLiftError> {
        if self.websocket_url.is_empty() {
            return Err(GameLiftError::invalid(
                "websocket_url",
                "is required (GAMELIFT_SDK_WEBSOCKET_URL)",
            ));
        }
        let scheme_ok =
            self.websocket_url.starts_with("ws://") || self.websocket_url.starts_with("wss://");
        if !scheme_ok {
            return Err(GameLiftError::invalid(
                "websocket_url",
                format!(
                    "must start with ws:// or wss://, not {:?}",
                    self.websocket_url
                ),
            ));
        }
        if self.process_id.is_empty() {
            return Err(GameLiftError::invalid(
                "process_id",
                "is required and must be unique per process execution (GAMELIFT_SDK_PROCESS_ID)",
            ));
        }
        if self.process_id.len() > 1024 {
            return Err(GameLiftError::invalid(
                "process_id",
                "must be at most 1024 characters",
            ));
        }
        check_id(
            "fleet_id",
            &self.fleet_id,
            "GAMELIFT_SDK_FLEET_ID",
            |c| c.is_ascii_alphanumeric() || c == '.' || c == '-',
            "letters, digits, '.' and '-' (a fleet id, not an ARN)",
        )?;
        check_id(
            "host_id",
            &self.host_id,
            "GAMELIFT_SDK_HOST_ID",
            |c| c.is_ascii_alphanumeric() || c == '-' || c == '/',
            "letters, digits and '-', optionally one '/'",
        )?;
        let slashes = self.host_id.matches('/').count();
        if slashes > 1 || self.host_id.starts_with('/') || self.host_id.ends_with('/') {
            return Err(GameLiftError::invalid(
                "host_id",
                format!(
                    "{:?} must be a name, or two names joined by one '/'",
                    self.host_id
                ),
            ));
        }
        if self.auth_token.is_empty() {
            let missing: Vec<&str> = [
                ("aws_region", &self.aws_region),
                ("access_key", &self.access_key),
                ("secret_key", &self.secret_key),
            ]
            .iter()
            .filter(|(_, value)| value.is_empty())
            .map(|(name, _)| *name)
            .collect();
            if !missing.is_empty() {
                return Err(GameLiftError::invalid(
                    "auth_token",
                    format!(
                        "is required unless SigV4 credentials are given (missing: {})",
                        missing.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The service endpoint.
    pub fn websocket_url(&self) -> &str {
        &self.websocket_url
    }
    /// This process's id.
    pub fn process_id(&self) -> &str {
        &self.process_id
    }
    /// The compute name.
    pub fn host_id(&self) -> &str {
        &self.host_id
    }
    /// The fleet id.
    pub fn fleet_id(&self) -> &str {
        &self.fleet_id
    }
    /// The auth token, empty in SigV4 mode.
    pub fn auth_token(&self) -> &str {
        &self.auth_token
    }
    /// The SigV4 Region, empty in auth-token mode.
    pub fn aws_region(&self) -> &str {
        &self.aws_region
    }
    pub(crate) fn sigv4_credentials(&self) -> Option<(&str, &str, &str, &str)> {
        if self.auth_token.is_empty() {
            Some((
                &self.aws_region,
                &self.access_key,
                &self.secret_key,
                &self.session_token,
            ))
        } else {
            None
        }
    }
}

fn check_id(
    field: &'static str,
    value: &str,
    variable: &str,
    allowed: impl Fn(char) -> bool,
    what: &str,
) -> Result<(), GameLiftError> {
    if value.is_empty() {
        return Err(GameLiftError::invalid(
            field,
            format!("is required ({variable})"),
        ));
    }
    if value.len() > 256 {
        return Err(GameLiftError::invalid(
            field,
            "must be at most 256 characters",
        ));
    }
    if let Some(bad) = value.chars().find(|c| !allowed(*c)) {
        return Err(GameLiftError::invalid(
            field,
            format!("{value:?} contains {bad:?}; allowed are {what}"),
        ));
    }
    Ok(())
}

/// The SDK's timings and transport settings. The defaults are the official SDKs'; tests shorten
/// them.
#[derive(Debug, Clone)]
pub struct SdkConfig {
    /// How long a request waits for its answer (20 s).
    pub request_timeout: Duration,
    /// How long `process_ready` waits for ActivateServerProcess (6 s).
    pub activate_timeout: Duration,
    /// How long one connection attempt may take (20 s).
    pub connect_timeout: Duration,
    /// The heartbeat period (60 s).
    pub heartbeat_interval: Duration,
    /// Up to this much is added to or taken from each heartbeat period (10 s).
    pub heartbeat_jitter: Duration,
    /// How long the health callback may take before the process reports unhealthy (50 s).
    pub health_check_timeout: Duration,
    /// The wait before the second connection attempt; it doubles after each failure (4 s).
    pub reconnect_initial_backoff: Duration,
    /// The longest wait between connection attempts (32 s).
    pub reconnect_max_backoff: Duration,
    /// Connection attempts before `init` gives up, and before a reconnect starts failing
    /// requests at once; a reconnect itself goes on at the longest backoff until it gets
    /// through or the process is destroyed (7).
    pub connect_attempts: u32,
    /// Consecutive request timeouts after which the connection is presumed dead and replaced (2).
    pub timeouts_before_reconnect: u32,
    /// After a RefreshConnection, how long the old connection stays open for answers still in
    /// flight (5 s).
    pub refresh_close_delay: Duration,
    /// Extra PEM certificates to trust for `wss://`, besides the system's roots (for example the
    /// certificate `gamelift-local --tls` writes).
    pub extra_root_certificates: Vec<PathBuf>,
    /// Reported to the service as `SdkToolName`/`SdkToolVersion` (also from
    /// `GAMELIFT_SDK_TOOL_NAME` / `GAMELIFT_SDK_TOOL_VERSION`).
    pub sdk_tool: Option<(String, String)>,
}

impl Default for SdkConfig {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(20),
            activate_timeout: Duration::from_secs(6),
            connect_timeout: Duration::from_secs(20),
            heartbeat_interval: Duration::from_secs(60),
            heartbeat_jitter: Duration::from_secs(10),
            health_check_timeout: Duration::from_secs(50),
            reconnect_initial_backoff: Duration::from_secs(4),
            reconnect_max_backoff: Duration::from_secs(32),
            connect_attempts: 7,
            timeouts_before_reconnect: 2,
            refresh_close_delay: Duration::from_secs(5),
            extra_root_certificates: Vec::new(),
            sdk_tool: None,
        }
    }
}

impl SdkConfig {
    /// The wait before connection attempt `attempt` (0-based; the first attempt does not wait).
    pub fn backoff(&self, attempt: u32) -> Duration {
        if attempt == 0 {
            return Duration::ZERO;
        }
        let factor = 1u32.checked_shl(attempt - 1).unwrap_or(u32::MAX);
        self.reconnect_initial_backoff
            .saturating_mul(factor)
            .min(self.reconnect_max_backoff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    const BASE: [(&str, &str); 5] = [
        (
            "GAMELIFT_SDK_WEBSOCKET_URL",
            "wss://us-west-2.api.amazongamelift.com",
        ),
        ("GAMELIFT_SDK_AUTH_TOKEN", "token"),
        ("GAMELIFT_SDK_PROCESS_ID", "p-1"),
        ("GAMELIFT_SDK_HOST_ID", "host-1"),
        ("GAMELIFT_SDK_FLEET_ID", "fleet-1"),
    ];

    #[test]
    fn environment_fills_every_field() {
        let parameters = ServerParameters::from_lookup(env(&BASE)).unwrap();
        assert_eq!(
            parameters.websocket_url(),
            "wss://us-west-2.api.amazongamelift.com"
        );
        assert_eq!(parameters.auth_token(), "token");
        assert_eq!(parameters.process_id(), "p-1");
        assert_eq!(parameters.host_id(), "host-1");
        assert_eq!(parameters.fleet_id(), "fleet-1");
    }

    #[test]
    fn environment_overrides_the_builder_only_when_not_empty() {
        let mut parameters = ServerParameters::builder()
            .websocket_url("ws://127.0.0.1:1")
            .fleet_id("fleet-a")
            .host_id("h")
            .process_id("p")
            .auth_token("t")
            .parameters;
        parameters.apply_env(env(&[
            ("GAMELIFT_SDK_FLEET_ID", "fleet-b"),
            ("GAMELIFT_SDK_HOST_ID", ""),
        ]));
        assert_eq!(parameters.fleet_id(), "fleet-b");
        assert_eq!(parameters.host_id(), "h");
    }

    #[test]
    fn managed_resource_generates_a_process_id() {
        let mut pairs = BASE.to_vec();
        pairs[2] = ("GAMELIFT_SDK_PROCESS_ID", "ManagedResource");
        let a = ServerParameters::from_lookup(env(&pairs)).unwrap();
        let b = ServerParameters::from_lookup(env(&pairs)).unwrap();
        assert_ne!(a.process_id(), "ManagedResource");
        assert_ne!(a.process_id(), b.process_id());
    }

    #[test]
    fn validation_names_the_field() {
        let cases: [(&str, &str, &str); 7] = [
            ("GAMELIFT_SDK_WEBSOCKET_URL", "", "websocket_url"),
            ("GAMELIFT_SDK_WEBSOCKET_URL", "http://x", "websocket_url"),
            ("GAMELIFT_SDK_PROCESS_ID", "", "process_id"),
            (
                "GAMELIFT_SDK_FLEET_ID",
                "arn:aws:gamelift:us-west-2::fleet/fleet-1",
                "fleet_id",
            ),
            ("GAMELIFT_SDK_HOST_ID", "a/b/c", "host_id"),
            ("GAMELIFT_SDK_HOST_ID", "bad host", "host_id"),
            ("GAMELIFT_SDK_AUTH_TOKEN", "", "auth_token"),
        ];
        for (name, value, field) in cases {
            let pairs: Vec<(&str, &str)> = BASE
                .iter()
                .map(|(k, v)| if *k == name { (*k, value) } else { (*k, *v) })
                .collect();
            match ServerParameters::from_lookup(env(&pairs)) {
                Err(GameLiftError::Validation { field: got, .. }) => {
                    assert_eq!(got, field, "{name}={value:?}")
                }
                other => panic!("{name}={value:?}: expected a validation error, got {other:?}"),
            }
        }
    }

    #[test]
    fn sigv4_needs_region_and_keys_and_a_token_wins() {
        let mut pairs = BASE.to_vec();
        pairs.remove(1);
        pairs.extend([
            ("GAMELIFT_REGION", "us-west-2"),
            ("GAMELIFT_ACCESS_KEY", "AKID"),
            ("GAMELIFT_SECRET_KEY", "secret"),
        ]);
        let sigv4 = ServerParameters::from_lookup(env(&pairs)).unwrap();
        assert!(sigv4.sigv4_credentials().is_some());
        pairs.push(("GAMELIFT_SDK_AUTH_TOKEN", "token"));
        let token = ServerParameters::from_lookup(env(&pairs)).unwrap();
        assert!(token.sigv4_credentials().is_none());
        assert_eq!(token.aws_region(), "");
    }

    #[test]
    fn debug_hides_secrets() {
        let parameters = ServerParameters::from_lookup(env(&BASE)).unwrap();
        let text = format!("{parameters:?}");
        assert!(!text.contains("\"token\""), "{text}");
    }

    #[test]
    fn backoff_doubles_to_the_cap() {
        let config = SdkConfig::default();
        let waits: Vec<u64> = (0..8).map(|n| config.backoff(n).as_secs()).collect();
        assert_eq!(waits, [0, 4, 8, 16, 32, 32, 32, 32]);
    }
}
