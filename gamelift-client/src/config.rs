//! How the client manager reaches GameLift.

use std::time::Duration;

use game_session::SessionError;

/// Where credentials come from.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum CredentialsSource {
    /// The standard AWS chain: environment, profile files, web identity, ECS, EC2 metadata.
    #[default]
    DefaultChain,
    /// Fixed keys (for a local service any non-empty values do).
    Static {
        /// The access key id.
        access_key_id: String,
        /// The secret access key.
        secret_access_key: String,
        /// The session token, for temporary credentials.
        session_token: Option<String>,
    },
}

impl std::fmt::Debug for CredentialsSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CredentialsSource::DefaultChain => f.write_str("DefaultChain"),
            CredentialsSource::Static { access_key_id, .. } => f
                .debug_struct("Static")
                .field("access_key_id", access_key_id)
                .field("secret_access_key", &"***")
                .finish(),
        }
    }
}

/// The client manager's configuration. Build it with [`GameLiftClientConfig::builder`] or read it
/// from the environment with [`GameLiftClientConfig::from_env`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GameLiftClientConfig {
    /// The AWS Region (`AWS_REGION`).
    pub region: Option<String>,
    /// The fleet sessions are created on and searched in by default (`GAMELIFT_FLEET_ID`).
    pub fleet_id: Option<String>,
    /// An alias to use instead of a fleet (`GAMELIFT_ALIAS_ID`).
    pub alias_id: Option<String>,
    /// The location for new sessions, required by Anywhere fleets (`GAMELIFT_LOCATION`).
    pub location: Option<String>,
    /// The placement queue for queue requests without one (`GAMELIFT_QUEUE_NAME`).
    pub queue_name: Option<String>,
    /// An endpoint override, such as a local service (`AWS_ENDPOINT_URL_GAMELIFT`).
    pub endpoint_url: Option<String>,
    /// Where credentials come from.
    pub credentials: CredentialsSource,
    /// Attempts per AWS call, including the first (1 disables retries).
    pub max_attempts: u32,
    /// How long a queue placement may take before the request fails.
    pub placement_timeout: Duration,
    /// How often a pending placement is polled.
    pub placement_poll_interval: Duration,
    /// How long a new game session may stay ACTIVATING. `create_session` returns only once the
    /// session is ACTIVE (so a join never meets an activating session); past this the session is
    /// terminated, so it never holds a server process, and the request fails.
    pub activation_timeout: Duration,
    /// How often an activating game session is polled.
    pub activation_poll_interval: Duration,
    /// How often the ticket tracker polls a matchmaking ticket.
    pub matchmaking_poll_interval: Duration,
    /// The limits of named sessions (default: [`gamelift_limits`](crate::named::gamelift_limits),
    /// EOS's service limits with GameLift's 200 players and 12 advertised attributes).
    pub named_session_limits: game_session::named::Limits,
    /// How completions of named-session async requests are delivered: at once, or queued for the
    /// game to run on its tick.
    pub named_completions: game_session::named::CompletionMode,
}

impl Default for GameLiftClientConfig {
    fn default() -> Self {
        GameLiftClientConfig {
            region: None,
            fleet_id: None,
            alias_id: None,
            location: None,
            queue_name: None,
            endpoint_url: None,
            credentials: CredentialsSource::DefaultChain,
            max_attempts: 3,
            placement_timeout: Duration::from_secs(60),
            placement_poll_interval: Duration::from_millis(500),
            activation_timeout: Duration::from_secs(60),
            activation_poll_interval: Duration::from_millis(250),
            named_session_limits: crate::named::gamelift_limits(),
            named_completions: game_session::named::CompletionMode::Immediate,
            matchmaking_poll_interval: Duration::from_secs(10),
        }
    }
}

impl GameLiftClientConfig {
    /// A builder starting from the defaults.
    pub fn builder() -> GameLiftClientConfigBuilder {
        GameLiftClientConfigBuilder {
            config: GameLiftClientConfig::default(),
        }
    }

    /// Reads `AWS_REGION` (or `AWS_DEFAULT_REGION`), `AWS_ENDPOINT_URL_GAMELIFT` (or
    /// `AWS_ENDPOINT_URL`), `GAMELIFT_FLEET_ID`, `GAMELIFT_ALIAS_ID`, `GAMELIFT_LOCATION` and
    /// `GAMELIFT_QUEUE_NAME`; credentials come from the standard chain.
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
        GameLiftClientConfig {
            region: var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")),
            endpoint_url: var("AWS_ENDPOINT_URL_GAMELIFT").or_else(|| var("AWS_ENDPOINT_URL")),
            fleet_id: var("GAMELIFT_FLEET_ID"),
            alias_id: var("GAMELIFT_ALIAS_ID"),
            location: var("GAMELIFT_LOCATION"),
            queue_name: var("GAMELIFT_QUEUE_NAME"),
            ..GameLiftClientConfig::default()
        }
    }

    /// Checks the configuration before any call.
    pub fn validate(&self) -> Result<(), SessionError> {
        if self.region.as_deref().is_none_or(str::is_empty) {
            return Err(SessionError::invalid("region", "is not set (AWS_REGION)"));
        }
        if self.max_attempts == 0 {
            return Err(SessionError::invalid("max_attempts", "must be at least 1"));
        }
        if let CredentialsSource::Static {
            access_key_id,
            secret_access_key,
            ..
        } = &self.credentials
            && (access_key_id.is_empty() || secret_access_key.is_empty())
        {
            return Err(SessionError::invalid(
                "credentials",
                "static keys are empty",
            ));
        }
        if let Some(url) = &self.endpoint_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(SessionError::invalid(
                "endpoint_url",
                format!("`{url}` is not an http:// or https:// URL"),
            ));
        }
        Ok(())
    }
}

/// Builds a [`GameLiftClientConfig`].
#[derive(Debug, Clone)]
pub struct GameLiftClientConfigBuilder {
    config: GameLiftClientConfig,
}

impl GameLiftClientConfigBuilder {
    /// The AWS Region.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.config.region = Some(region.into());
        self
    }
    /// The default fleet.
    pub fn fleet_id(mut self, fleet_id: impl Into<String>) -> Self {
        self.config.fleet_id = Some(fleet_id.into());
        self
    }
    /// The default alias.
    pub fn alias_id(mut self, alias_id: impl Into<String>) -> Self {
        self.config.alias_id = Some(alias_id.into());
        self
    }
    /// The location for new sessions.
    pub fn location(mut self, location: impl Into<String>) -> Self {
        self.config.location = Some(location.into());
        self
    }
    /// The default placement queue.
    pub fn queue_name(mut self, queue_name: impl Into<String>) -> Self {
        self.config.queue_name = Some(queue_name.into());
        self
    }
    /// An endpoint override, such as `http://127.0.0.1:9080` for gamelift-local.
    pub fn endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.config.endpoint_url = Some(url.into());
        self
    }
    /// Fixed credentials.
    pub fn static_credentials(
        mut self,
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
    ) -> Self {
        self.config.credentials = CredentialsSource::Static {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            session_token: None,
        };
        self
    }
    /// Attempts per AWS call (1 disables retries).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.config.max_attempts = attempts;
        self
    }
    /// How long a queue placement may take.
    pub fn placement_timeout(mut self, timeout: Duration) -> Self {
        self.config.placement_timeout = timeout;
        self
    }
    /// How often a pending placement is polled.
    pub fn placement_poll_interval(mut self, interval: Duration) -> Self {
        self.config.placement_poll_interval = interval;
        self
    }

    /// How long a new game session may stay ACTIVATING before the request fails.
    pub fn activation_timeout(mut self, timeout: Duration) -> Self {
        self.config.activation_timeout = timeout;
        self
    }

    /// How often an activating game session is polled.
    pub fn activation_poll_interval(mut self, interval: Duration) -> Self {
        self.config.activation_poll_interval = interval;
        self
    }

    /// The limits of named sessions (sizes and per-user call rates).
    pub fn named_session_limits(mut self, limits: game_session::named::Limits) -> Self {
        self.config.named_session_limits = limits;
        self
    }

    /// How completions of named-session async requests are delivered.
    pub fn named_completions(mut self, mode: game_session::named::CompletionMode) -> Self {
        self.config.named_completions = mode;
        self
    }

    /// How often the ticket tracker polls a matchmaking ticket.
    pub fn matchmaking_poll_interval(mut self, interval: Duration) -> Self {
        self.config.matchmaking_poll_interval = interval;
        self
    }
    /// The configuration.
    pub fn build(self) -> GameLiftClientConfig {
        self.config
    }
}
