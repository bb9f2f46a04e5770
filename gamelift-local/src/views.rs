//! What the control plane answers for each entity: the entities of `crate::state` written as wire
//! values, so the model itself holds no wire code.

use crate::state::*;
use crate::wire::Value;

/// Seconds since the epoch, as the wire formats carry timestamps.
pub fn seconds(millis: u64) -> Value {
    Value::Timestamp(millis as f64 / 1000.0)
}

impl ServerProcess {
    /// The `ServerProcess` structure.
    pub fn to_value(&self) -> Value {
        Value::map()
            .with("LaunchPath", &self.launch_path)
            .with_opt("Parameters", self.parameters.as_ref())
            .with(
                "ConcurrentExecutions",
                i64::from(self.concurrent_executions),
            )
    }
}

impl RuntimeConfiguration {
    /// The `RuntimeConfiguration` structure.
    pub fn to_value(&self) -> Value {
        Value::map()
            .with(
                "ServerProcesses",
                self.server_processes
                    .iter()
                    .map(ServerProcess::to_value)
                    .collect::<Vec<_>>(),
            )
            .with_opt(
                "MaxConcurrentGameSessionActivations",
                self.max_concurrent_activations,
            )
            .with_opt(
                "GameSessionActivationTimeoutSeconds",
                self.activation_timeout_seconds,
            )
    }
}

impl Fleet {
    /// `FleetAttributes`.
    pub fn attributes(&self) -> Value {
        let mut value = Value::map()
            .with("FleetId", &self.id)
            .with("FleetArn", &self.arn)
            .with("Name", &self.name)
            .with_opt("Description", self.description.as_ref())
            .with("CreationTime", seconds(self.creation_millis))
            .with("Status", "ACTIVE")
            .with("ComputeType", "ANYWHERE")
            .with("NewGameSessionProtectionPolicy", &self.protection)
            .with(
                "MetricGroups",
                self.metric_groups
                    .iter()
                    .map(Value::from)
                    .collect::<Vec<_>>(),
            )
            .with(
                "CertificateConfiguration",
                Value::map().with("CertificateType", "DISABLED"),
            );
        if let Some(cost) = &self.cost {
            value.push("AnywhereConfiguration", Value::map().with("Cost", cost));
        }
        if let Some((per_creator, minutes)) = self.creation_limit {
            value.push(
                "ResourceCreationLimitPolicy",
                Value::map()
                    .with("NewGameSessionsPerCreator", per_creator)
                    .with("PolicyPeriodInMinutes", minutes),
            );
        }
        value
    }

    /// `LocationStates`.
    pub fn location_states(&self) -> Value {
        Value::List(
            self.locations
                .iter()
                .map(|location| {
                    Value::map()
                        .with("Location", location)
                        .with("Status", "ACTIVE")
                })
                .collect(),
        )
    }
}

impl Location {
    /// `LocationModel`.
    pub fn to_value(&self) -> Value {
        Value::map()
            .with("LocationName", &self.name)
            .with("LocationArn", &self.arn)
    }
}

impl Compute {
    /// `Compute`.
    pub fn to_value(&self) -> Value {
        Value::map()
            .with("FleetId", &self.fleet_id)
            .with("FleetArn", &self.fleet_arn)
            .with("ComputeName", &self.name)
            .with("ComputeArn", &self.arn)
            .with_opt("IpAddress", self.ip_address.as_ref())
            .with_opt("DnsName", self.dns_name.as_ref())
            .with("ComputeStatus", "ACTIVE")
            .with("Location", &self.location)
            .with("CreationTime", seconds(self.creation_millis))
            .with("GameLiftServiceSdkEndpoint", &self.sdk_endpoint)
    }
}

impl Alias {
    /// `Alias`.
    pub fn to_value(&self) -> Value {
        let strategy = Value::map()
            .with("Type", if self.terminal { "TERMINAL" } else { "SIMPLE" })
            .with_opt("FleetId", self.fleet_id.as_ref())
            .with_opt("Message", self.message.as_ref());
        Value::map()
            .with("AliasId", &self.id)
            .with("Name", &self.name)
            .with("AliasArn", &self.arn)
            .with_opt("Description", self.description.as_ref())
            .with("RoutingStrategy", strategy)
            .with("CreationTime", seconds(self.creation_millis))
            .with("LastUpdatedTime", seconds(self.creation_millis))
    }
}

impl Queue {
    /// `GameSessionQueue`.
    pub fn to_value(&self) -> Value {
        let mut value = Value::map()
            .with("Name", &self.name)
            .with("GameSessionQueueArn", &self.arn)
            .with("TimeoutInSeconds", self.timeout_seconds)
            .with(
                "Destinations",
                self.destinations
                    .iter()
                    .map(|arn| Value::map().with("DestinationArn", arn))
                    .collect::<Vec<_>>(),
            )
            .with(
                "PlayerLatencyPolicies",
                self.latency_policies
                    .iter()
                    .map(|(max, duration)| {
                        Value::map()
                            .with("MaximumIndividualPlayerLatencyMilliseconds", *max)
                            .with_opt("PolicyDurationSeconds", *duration)
                    })
                    .collect::<Vec<_>>(),
            )
            .with_opt("CustomEventData", self.custom_event_data.as_ref())
            .with_opt("NotificationTarget", self.notification_target.as_ref());
        if let Some(allowed) = &self.allowed_locations {
            value.push(
                "FilterConfiguration",
                Value::map().with(
                    "AllowedLocations",
                    allowed.iter().map(Value::from).collect::<Vec<_>>(),
                ),
            );
        }
        if self.priority_order.is_some() || self.location_order.is_some() {
            let mut priority = Value::map();
            if let Some(order) = &self.priority_order {
                priority.push(
                    "PriorityOrder",
                    order.iter().map(Value::from).collect::<Vec<_>>(),
                );
            }
            if let Some(order) = &self.location_order {
                priority.push(
                    "LocationOrder",
                    order.iter().map(Value::from).collect::<Vec<_>>(),
                );
            }
            value.push("PriorityConfiguration", priority);
        }
        value
    }
}

impl GameSession {
    /// `GameSession`.
    pub fn to_value(&self) -> Value {
        Value::map()
            .with("GameSessionId", &self.arn)
            .with_opt("Name", self.name.as_ref())
            .with("FleetId", &self.fleet_id)
            .with("FleetArn", &self.fleet_arn)
            .with("CreationTime", seconds(self.creation_millis))
            .with_opt("TerminationTime", self.termination_millis.map(seconds))
            .with("CurrentPlayerSessionCount", self.slots_used)
            .with("MaximumPlayerSessionCount", self.maximum_players)
            .with("Status", self.status.as_str())
            .with_opt("StatusReason", self.status_reason)
            .with(
                "GameProperties",
                self.properties
                    .iter()
                    .map(|(key, value)| Value::map().with("Key", key).with("Value", value))
                    .collect::<Vec<_>>(),
            )
            .with("IpAddress", &self.ip_address)
            .with_opt("DnsName", self.dns_name.as_ref())
            .with("Port", self.port)
            .with(
                "PlayerSessionCreationPolicy",
                if self.accept_players {
                    "ACCEPT_ALL"
                } else {
                    "DENY_ALL"
                },
            )
            .with_opt("CreatorId", self.creator_id.as_ref())
            .with_opt("GameSessionData", self.game_session_data.as_ref())
            .with_opt("MatchmakerData", self.matchmaker_data.as_ref())
            .with("Location", &self.location)
            .with_opt("ComputeName", self.compute_name.as_ref())
    }
}

impl PlayerSession {
    /// `PlayerSession`.
    pub fn to_value(&self) -> Value {
        Value::map()
            .with("PlayerSessionId", &self.id)
            .with("PlayerId", &self.player_id)
            .with("GameSessionId", &self.game_session_arn)
            .with("FleetId", &self.fleet_id)
            .with("FleetArn", &self.fleet_arn)
            .with("CreationTime", seconds(self.creation_millis))
            .with_opt("TerminationTime", self.termination_millis.map(seconds))
            .with("Status", self.status.as_str())
            .with("IpAddress", &self.ip_address)
            .with_opt("DnsName", self.dns_name.as_ref())
            .with("Port", self.port)
            .with_opt("PlayerData", self.player_data.as_ref())
    }
}

impl Invite {
    pub(crate) fn to_value(&self) -> Value {
        Value::map()
            .with("InviteId", &self.id)
            .with("From", &self.from)
            .with("To", &self.to)
            .with("GameSessionId", &self.game_session_arn)
    }
}
