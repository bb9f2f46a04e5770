//! Computes and their auth tokens.

use super::*;

impl Service {
    pub(super) fn register_compute(
        &self,
        region: &str,
        input: &Value,
    ) -> Result<Value, ServiceError> {
        let mut reader = Input::new(input);
        let fleet = reader.str("FleetId", FLEET_ID.required());
        let name = reader.str(
            "ComputeName",
            Str::len(1, 128).pattern(&v::COMPUTE_NAME).required(),
        );
        let _certificate = reader.str("CertificatePath", NAME);
        let dns = reader.str("DnsName", Str::len(1, 256).pattern(&v::DNS_NAME));
        let ip = reader.str(
            "IpAddress",
            Str::len(1, 128).pattern(&v::IP_ADDRESS).sensitive(),
        );
        let location = reader.str("Location", LOCATION);
        reader.finish()?;
        let fleet_id = strip_arn(&fleet.unwrap_or_default(), "fleet/");
        let name = name.unwrap_or_default();
        self.with_region(region, |region, extra| {
            let fleet = region
                .fleets
                .get(&fleet_id)
                .ok_or_else(|| ServiceError::not_found(format!("Fleet {fleet_id} not found.")))?;
            if ip.is_none() && dns.is_none() {
                return Err(ServiceError::invalid(
                    "An ANYWHERE compute needs an IpAddress (or a DnsName)",
                ));
            }
            let location = location.ok_or_else(|| {
                ServiceError::invalid(
                    "Location is required to register a compute in an ANYWHERE fleet",
                )
            })?;
            if !fleet.locations.contains(&location) {
                return Err(ServiceError::invalid(format!(
                    "Location {location} is not a location of fleet {fleet_id} (its locations: {})",
                    fleet.locations.join(", ")
                )));
            }
            let compute = Compute {
                fleet_id: fleet_id.clone(),
                fleet_arn: fleet.arn.clone(),
                arn: format!("arn:aws:gamelift:{}:{ACCOUNT}:compute/{name}", region.name),
                name: name.clone(),
                ip_address: ip,
                dns_name: dns,
                location,
                creation_millis: extra.now,
                sdk_endpoint: extra.config.sdk_endpoint.clone(),
            };
            let value = compute.to_value();
            region.computes.insert((fleet_id, name), compute);
            Ok(Value::map().with("Compute", value))
        })
    }

    pub(super) fn compute_key(&self, input: &Value) -> Result<(String, String), ServiceError> {
        let mut reader = Input::new(input);
        let fleet = reader.str("FleetId", FLEET_ID.required());
        let name = reader.str("ComputeName", COMPUTE_NAME_OR_ARN.required());
        reader.finish()?;
        Ok((
            strip_arn(&fleet.unwrap_or_default(), "fleet/"),
            strip_arn(&name.unwrap_or_default(), "compute/"),
        ))
    }

    pub(super) fn deregister_compute(
        &self,
        region: &str,
        input: &Value,
    ) -> Result<Value, ServiceError> {
        let key = self.compute_key(input)?;
        self.with_region(region, |region, _| {
            region.computes.remove(&key).ok_or_else(|| {
                ServiceError::not_found(format!("Compute {} not found in fleet {}.", key.1, key.0))
            })?;
            Ok(Value::map())
        })
    }

    pub(super) fn describe_compute(
        &self,
        region: &str,
        input: &Value,
    ) -> Result<Value, ServiceError> {
        let key = self.compute_key(input)?;
        self.with_region(region, |region, _| {
            let compute = region.computes.get(&key).ok_or_else(|| {
                ServiceError::not_found(format!("Compute {} not found in fleet {}.", key.1, key.0))
            })?;
            Ok(Value::map().with("Compute", compute.to_value()))
        })
    }

    pub(super) fn list_compute(&self, region: &str, input: &Value) -> Result<Value, ServiceError> {
        let mut reader = Input::new(input);
        let fleet = reader.str("FleetId", FLEET_ID.required());
        let location = reader.str("Location", LOCATION);
        let _group = reader.str("ContainerGroupDefinitionName", Str::len(1, 512));
        let status = reader.str("ComputeStatus", Str::one_of(&["ACTIVE", "IMPAIRED"]));
        let limit = reader.int("Limit", LIMIT);
        let token = reader.str("NextToken", NEXT_TOKEN);
        reader.finish()?;
        let fleet_id = strip_arn(&fleet.unwrap_or_default(), "fleet/");
        self.with_region(region, |region, _| {
            if !region.fleets.contains_key(&fleet_id) {
                return Err(ServiceError::not_found(format!(
                    "Fleet {fleet_id} not found."
                )));
            }
            let computes: Vec<Value> = region
                .computes
                .values()
                .filter(|c| c.fleet_id == fleet_id)
                .filter(|c| location.as_deref().is_none_or(|l| c.location == l))
                .filter(|_| status.as_deref() != Some("IMPAIRED"))
                .map(Compute::to_value)
                .collect();
            let (page, next) = paginate("ListCompute", &computes, limit, token.as_deref())?;
            Ok(page_output("ComputeList", page, next))
        })
    }

    pub(super) fn get_compute_auth_token(
        &self,
        region: &str,
        input: &Value,
    ) -> Result<Value, ServiceError> {
        let key = self.compute_key(input)?;
        self.with_region(region, |region, extra| {
            let compute = region.computes.get(&key).ok_or_else(|| {
                ServiceError::not_found(format!("Compute {} not found in fleet {}.", key.1, key.0))
            })?;
            let token = uuid::Uuid::new_v4().to_string();
            let expires = extra.now.saturating_add(AUTH_TOKEN_MILLIS);
            extra
                .tokens
                .retain(|_, token| token.expires_millis > extra.now);
            extra.tokens.insert(
                token.clone(),
                AuthToken {
                    fleet_id: key.0.clone(),
                    compute_name: key.1.clone(),
                    expires_millis: expires,
                },
            );
            Ok(Value::map()
                .with("FleetId", &compute.fleet_id)
                .with("FleetArn", &compute.fleet_arn)
                .with("ComputeName", &compute.name)
                .with("ComputeArn", &compute.arn)
                .with("AuthToken", token)
                .with("ExpirationTimestamp", seconds(expires)))
        })
    }
}

impl Service {
    /// The compute an auth token was issued for, if it is valid now.
    pub fn check_auth_token(&self, token: &str) -> Option<AuthToken> {
        let now = self.clock.now_millis();
        let state = self.state.lock();
        state
            .tokens
            .get(token)
            .filter(|token| token.expires_millis > now)
            .cloned()
    }
}
