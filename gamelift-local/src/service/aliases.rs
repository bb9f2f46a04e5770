//! Aliases.

use super::*;

impl Service {
    // ----- aliases -----------------------------------------------------------------------------

    pub(super) fn create_alias(&self, region: &str, input: &Value) -> Result<Value, ServiceError> {
        let mut reader = Input::new(input);
        let name = reader.str("Name", Str::len(1, 1024).pattern(&v::NON_BLANK).required());
        let description = reader.str("Description", NAME);
        let strategy = reader.structure("RoutingStrategy", true, |item| {
            let kind = item.str("Type", Str::one_of(&["SIMPLE", "TERMINAL"]));
            let fleet = item.str("FleetId", Str::len(1, 128).pattern(&v::FLEET_ID_OR_ARN));
            let message = item.str("Message", Str::len(0, 4096));
            Some((kind, fleet, message))
        });
        let _tags = reader.tags("Tags");
        reader.finish()?;
        let (kind, fleet, message) = strategy.unwrap_or_default();
        let terminal = match kind.as_deref() {
            Some("TERMINAL") => true,
            Some("SIMPLE") => false,
            _ => {
                return Err(ServiceError::invalid(
                    "RoutingStrategy.Type is required: SIMPLE or TERMINAL",
                ));
            }
        };
        self.with_region(region, |region, extra| {
            let fleet_id = if terminal {
                None
            } else {
                let fleet = fleet.ok_or_else(|| {
                    ServiceError::invalid("A SIMPLE routing strategy needs a FleetId")
                })?;
                let fleet_id = strip_arn(&fleet, "fleet/");
                if !region.fleets.contains_key(&fleet_id) {
                    return Err(ServiceError::not_found(format!(
                        "Fleet {fleet_id} not found."
                    )));
                }
                Some(fleet_id)
            };
            let id = new_id("alias-");
            let alias = Alias {
                arn: format!("arn:aws:gamelift:{}::alias/{id}", region.name),
                id: id.clone(),
                name: name.unwrap_or_default(),
                description,
                terminal,
                fleet_id,
                message,
                creation_millis: extra.now,
            };
            let value = alias.to_value();
            region.aliases.insert(id, alias);
            Ok(Value::map().with("Alias", value))
        })
    }

    pub(super) fn alias_id(&self, input: &Value) -> Result<String, ServiceError> {
        let mut reader = Input::new(input);
        let alias = reader.str("AliasId", ALIAS_ID.required());
        reader.finish()?;
        Ok(strip_arn(&alias.unwrap_or_default(), "alias/"))
    }

    pub(super) fn describe_alias(
        &self,
        region: &str,
        input: &Value,
    ) -> Result<Value, ServiceError> {
        let id = self.alias_id(input)?;
        self.with_region(region, |region, _| {
            let alias = region
                .aliases
                .get(&id)
                .ok_or_else(|| ServiceError::not_found(format!("Alias {id} not found.")))?;
            Ok(Value::map().with("Alias", alias.to_value()))
        })
    }

    pub(super) fn resolve_alias(&self, region: &str, input: &Value) -> Result<Value, ServiceError> {
        let id = self.alias_id(input)?;
        self.with_region(region, |region, _| {
            let fleet_id = resolve_fleet(region, None, Some(&id))?;
            Ok(Value::map()
                .with("FleetArn", fleet_arn(&region.name, &fleet_id))
                .with("FleetId", fleet_id))
        })
    }

    pub(super) fn list_aliases(&self, region: &str, input: &Value) -> Result<Value, ServiceError> {
        let mut reader = Input::new(input);
        let kind = reader.str("RoutingStrategyType", Str::one_of(&["SIMPLE", "TERMINAL"]));
        let name = reader.str("Name", Str::len(1, usize::MAX));
        let limit = reader.int("Limit", LIMIT);
        let token = reader.str("NextToken", Str::len(1, usize::MAX));
        reader.finish()?;
        self.with_region(region, |region, _| {
            let aliases: Vec<Value> = region
                .aliases
                .values()
                .filter(|alias| {
                    kind.as_deref()
                        .is_none_or(|kind| (kind == "TERMINAL") == alias.terminal)
                })
                .filter(|alias| name.as_deref().is_none_or(|name| alias.name == name))
                .map(Alias::to_value)
                .collect();
            let (page, next) = paginate("ListAliases", &aliases, limit, token.as_deref())?;
            Ok(page_output("Aliases", page, next))
        })
    }
}
