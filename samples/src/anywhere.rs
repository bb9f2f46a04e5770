//! What an operator (or the GameLift Agent) does before a server process starts on an Anywhere
//! fleet: register the compute and fetch an auth token. The same calls work against
//! `gamelift-local` and Amazon GameLift.

use aws_sdk_gamelift::Client;
use aws_sdk_gamelift::config::http::HttpResponse;
use aws_sdk_gamelift::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_gamelift::error::ProvideErrorMetadata;
use gamelift_client::explain::{Endpoint, explain};
use gamelift_server::sdk::ServerParameters;

/// A control-plane client: against `endpoint` (a local service, fixed local credentials) or,
/// without one, against Amazon GameLift with the standard AWS configuration.
pub async fn control_plane(endpoint: Option<&str>, region: &str) -> Client {
    match endpoint {
        Some(endpoint) => {
            let config = aws_sdk_gamelift::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new(region.to_string()))
                .credentials_provider(Credentials::new("local", "local", None, None, "samples"))
                .endpoint_url(endpoint)
                .build();
            Client::from_conf(config)
        }
        None => {
            let config = aws_config::defaults(BehaviorVersion::latest())
                .region(Region::new(region.to_string()))
                .load()
                .await;
            Client::new(&config)
        }
    }
}

/// Where a compute is and what it is called.
#[derive(Debug, Clone)]
pub struct Compute {
    /// The fleet (an Anywhere fleet).
    pub fleet_id: String,
    /// The fleet's custom location.
    pub location: String,
    /// The compute's name, unique in the fleet.
    pub compute_name: String,
    /// The address players connect to.
    pub ip_address: String,
}

/// Registers the compute (if it is not yet) and returns server parameters for a new process
/// with a fresh auth token.
pub async fn register_process(
    client: &Client,
    endpoint: &Endpoint,
    compute: &Compute,
    process_id: &str,
) -> Result<ServerParameters, String> {
    let registered = client
        .register_compute()
        .fleet_id(&compute.fleet_id)
        .compute_name(&compute.compute_name)
        .ip_address(&compute.ip_address)
        .location(&compute.location)
        .send()
        .await;
    let sdk_endpoint = match registered {
        Ok(output) => output
            .compute
            .and_then(|c| c.game_lift_service_sdk_endpoint)
            .unwrap_or_default(),
        Err(error) if error.code() == Some("ConflictException") => client
            .describe_compute()
            .fleet_id(&compute.fleet_id)
            .compute_name(&compute.compute_name)
            .send()
            .await
            .map_err(|e| format!("DescribeCompute failed: {}", describe(&e, endpoint)))?
            .compute
            .and_then(|c| c.game_lift_service_sdk_endpoint)
            .unwrap_or_default(),
        Err(error) => {
            return Err(format!(
                "RegisterCompute failed: {}",
                describe(&error, endpoint)
            ));
        }
    };
    if sdk_endpoint.is_empty() {
        return Err("the service returned no GameLiftServiceSdkEndpoint".into());
    }
    let token = client
        .get_compute_auth_token()
        .fleet_id(&compute.fleet_id)
        .compute_name(&compute.compute_name)
        .send()
        .await
        .map_err(|e| format!("GetComputeAuthToken failed: {}", describe(&e, endpoint)))?
        .auth_token
        .unwrap_or_default();
    ServerParameters::builder()
        .websocket_url(sdk_endpoint)
        .fleet_id(&compute.fleet_id)
        .host_id(&compute.compute_name)
        .process_id(process_id)
        .auth_token(token)
        .build()
        .map_err(|e| e.to_string())
}

/// An AWS error as `Code: message` when the service answered, otherwise what went wrong with the
/// connection to `endpoint` and what to do about it.
pub fn describe<E: ProvideErrorMetadata + std::error::Error + 'static>(
    error: &aws_sdk_gamelift::error::SdkError<E, HttpResponse>,
    endpoint: &Endpoint,
) -> String {
    explain(error, endpoint).to_string()
}
