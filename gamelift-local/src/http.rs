//! The HTTP edge: picks the protocol from the request, decodes, calls the service, encodes.

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;

use crate::error::{ErrorCode, ServiceError};
use crate::service::Service;
use crate::wire::{self, Value};

/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// The path prefix of Smithy RPC v2 CBOR requests.
pub const CBOR_PREFIX: &str = "/service/GameLift/operation/";

/// Answers a request the service will not serve, in the protocol its headers suggest (CBOR when
/// it sent or accepts CBOR, JSON otherwise).
pub fn refuse(headers: &HeaderMap, error: ServiceError) -> Response {
    let wants_cbor = [header::CONTENT_TYPE, header::ACCEPT].iter().any(|name| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.contains("cbor"))
    });
    let protocol = if wants_cbor {
        Protocol::Cbor
    } else {
        Protocol::Json
    };
    respond(protocol, Err(error))
}

/// Which wire protocol a request used; replies use the same one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// awsJson1.1 (`POST /` with `X-Amz-Target`).
    Json,
    /// Smithy RPC v2 CBOR (`POST /service/GameLift/operation/<Op>`).
    Cbor,
}

/// The Region of a SigV4 credential scope (`Credential=AKID/date/region/service/aws4_request`).
pub fn region_from_authorization(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let credential = value.split("Credential=").nth(1)?;
    let scope = credential.split([',', ' ']).next()?;
    let parts: Vec<&str> = scope.split('/').collect();
    (parts.len() >= 5 && !parts[2].is_empty()).then(|| parts[2].to_string())
}

fn protocol_and_operation(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<(Protocol, String), (Protocol, ServiceError)> {
    let path = uri.path();
    if let Some(operation) = path.strip_prefix(CBOR_PREFIX) {
        if method != Method::POST {
            return Err((
                Protocol::Cbor,
                ServiceError::new(
                    ErrorCode::UnknownOperation,
                    "Smithy RPC v2 CBOR requests must use POST",
                ),
            ));
        }
        let operation = operation.trim_end_matches('/');
        if operation.contains('.') {
            return Err((
                Protocol::Cbor,
                ServiceError::new(
                    ErrorCode::UnknownOperation,
                    format!("{operation} is not a GameLift operation"),
                ),
            ));
        }
        return Ok((Protocol::Cbor, operation.to_string()));
    }
    let target = headers
        .get("x-amz-target")
        .and_then(|value| value.to_str().ok());
    match target {
        Some(target) => {
            // The local-only extension keeps its prefix, so it can never be mistaken for (or
            // reached as) a GameLift operation.
            if target.starts_with("GameLiftLocal.") {
                return Ok((Protocol::Json, target.to_string()));
            }
            let operation = target.strip_prefix("GameLift.").filter(|op| !op.contains('.')).ok_or_else(|| {
                (
                    Protocol::Json,
                    ServiceError::new(ErrorCode::UnknownOperation,
                        format!("X-Amz-Target `{target}` does not name a GameLift operation (expected GameLift.<Operation>)"),
                    ),
                )
            })?;
            Ok((Protocol::Json, operation.to_string()))
        }
        None => Err((
            Protocol::Json,
            ServiceError::new(
                ErrorCode::UnknownOperation,
                format!(
                    "{method} {path} is not a GameLift request: use POST / with an X-Amz-Target header (awsJson1.1) or POST /service/GameLift/operation/<Operation> (Smithy RPC v2 CBOR)"
                ),
            ),
        )),
    }
}

fn respond(protocol: Protocol, result: Result<Value, ServiceError>) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let (status, body) = match result {
        Ok(value) => (StatusCode::OK, value),
        Err(error) => (
            StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST),
            Value::map()
                .with("__type", error.code.as_str())
                .with("message", error.message),
        ),
    };
    let mut response = Response::builder().status(status);
    let headers = response.headers_mut().expect("a fresh builder has headers");
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert("x-amzn-requestid", value);
    }
    let bytes = match protocol {
        Protocol::Json => {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-amz-json-1.1"),
            );
            wire::encode_json(&body)
        }
        Protocol::Cbor => {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/cbor"),
            );
            headers.insert("smithy-protocol", HeaderValue::from_static("rpc-v2-cbor"));
            wire::encode_cbor(&body)
        }
    };
    response
        .body(Body::from(bytes))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

/// Handles one control-plane request.
pub async fn handle(State(service): State<Arc<Service>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let headers = &parts.headers;
    let (protocol, operation) = match protocol_and_operation(&parts.method, &parts.uri, headers) {
        Ok(found) => found,
        Err((protocol, error)) => return respond(protocol, Err(error)),
    };
    let body_timeout =
        std::time::Duration::from_millis(service.config().http_body_timeout_millis.max(1));
    let bytes = match tokio::time::timeout(body_timeout, to_bytes(body, MAX_BODY_BYTES)).await {
        Ok(Ok(bytes)) => bytes,
        Err(_) => {
            return respond(
                protocol,
                Err(ServiceError::new(
                    ErrorCode::RequestTimeout,
                    format!(
                        "the request body did not arrive within {} s",
                        body_timeout.as_secs()
                    ),
                )),
            );
        }
        Ok(Err(error)) => {
            let too_large = std::error::Error::source(&error)
                .is_some_and(|source| source.is::<http_body_util::LengthLimitError>());
            let error = if too_large {
                ServiceError::new(
                    ErrorCode::RequestTooLarge,
                    format!("the request body is larger than {MAX_BODY_BYTES} bytes"),
                )
            } else {
                ServiceError::serialization(format!("the request body could not be read: {error}"))
            };
            return respond(protocol, Err(error));
        }
    };
    let input = match protocol {
        Protocol::Json => wire::decode_json(&bytes),
        Protocol::Cbor => wire::decode_cbor(&bytes),
    };
    let input = match input {
        Ok(input) => input,
        Err(error) => return respond(protocol, Err(ServiceError::serialization(error.0))),
    };
    let region = region_from_authorization(headers);
    let mut result = if Service::walks(&operation) {
        let (service, operation) = (Arc::clone(&service), operation.clone());
        tokio::task::spawn_blocking(move || service.call(&operation, region.as_deref(), &input))
            .await
            .unwrap_or_else(|_| {
                Err(ServiceError::new(
                    ErrorCode::InternalService,
                    "the request could not be completed",
                ))
            })
    } else {
        service.call(&operation, region.as_deref(), &input)
    };
    // A change is answered only once it is on disk (with a state directory).
    if result.is_ok()
        && Service::changes_state(&operation)
        && let Err(error) = service.durable().await
    {
        result = Err(error);
    }
    if let Err(error) = &result {
        tracing::debug!(target: "gamelift_local", operation, code = error.code.as_str(), message = %error.message, "request refused");
    } else {
        tracing::trace!(target: "gamelift_local", operation, "request served");
    }
    respond(protocol, result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_comes_from_the_credential_scope() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-west-1/gamelift/aws4_request, SignedHeaders=host, Signature=abc"),
        );
        assert_eq!(
            region_from_authorization(&headers).as_deref(),
            Some("eu-west-1")
        );
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer x"));
        assert_eq!(region_from_authorization(&headers), None);
    }
}
