//! The connection URL: the endpoint plus the query string that identifies and authenticates the
//! process (an auth token, or the SDK's SigV4 query-string signature).

use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::{digest, hmac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::ServerParameters;

/// The language this SDK reports.
pub(crate) const SDK_LANGUAGE: &str = "Rust";
/// The Server SDK protocol version this SDK speaks.
pub(crate) const SDK_VERSION: &str = "5.4.0";

/// RFC 3986 unreserved characters stay; everything else is encoded.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn encode(value: &str) -> String {
    utf8_percent_encode(value, QUERY_VALUE).to_string()
}

/// How the connection authenticates.
pub(crate) enum Auth<'a> {
    Token(&'a str),
    SigV4 {
        region: &'a str,
        access_key: &'a str,
        secret_key: &'a str,
        session_token: &'a str,
        now: SystemTime,
    },
}

/// The full URL for one connection attempt. `endpoint` may end with or without `/`.
pub(crate) fn connection_url(
    endpoint: &str,
    parameters: &ServerParameters,
    idempotency_token: &str,
    auth: Auth<'_>,
) -> String {
    let mut url = endpoint.to_string();
    let has_path = url
        .split_once("://")
        .is_some_and(|(_, rest)| rest.contains('/'));
    if !has_path {
        url.push('/');
    }
    let mut pairs: Vec<(&str, String)> = vec![
        ("pID", parameters.process_id().to_string()),
        ("sdkVersion", SDK_VERSION.to_string()),
        ("sdkLanguage", SDK_LANGUAGE.to_string()),
        ("ComputeId", parameters.host_id().to_string()),
        ("FleetId", parameters.fleet_id().to_string()),
        ("IdempotencyToken", idempotency_token.to_string()),
    ];
    match auth {
        Auth::Token(token) => pairs.push(("Authorization", token.to_string())),
        Auth::SigV4 {
            region,
            access_key,
            secret_key,
            session_token,
            now,
        } => {
            let signed = sign(parameters, region, access_key, secret_key, now);
            pairs.push(("Authorization", "SigV4".into()));
            pairs.push(("X-Amz-Algorithm", "AWS4-HMAC-SHA256".into()));
            pairs.push(("X-Amz-Credential", signed.credential));
            pairs.push(("X-Amz-Date", signed.date_time));
            pairs.push(("X-Amz-Signature", signed.signature));
            if !session_token.is_empty() {
                pairs.push(("X-Amz-Security-Token", session_token.to_string()));
            }
        }
    }
    let query: Vec<String> = pairs
        .iter()
        .map(|(key, value)| format!("{key}={}", encode(value)))
        .collect();
    url.push(if url.contains('?') { '&' } else { '?' });
    url.push_str(&query.join("&"));
    url
}

/// The endpoint without its query string, for messages (the query carries credentials).
pub(crate) fn redact(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

pub(crate) struct Signed {
    pub credential: String,
    pub date_time: String,
    pub signature: String,
}

/// The SDK's simplified SigV4: the canonical request is only the sorted, encoded `ComputeId`,
/// `FleetId` and `pID` pairs.
pub(crate) fn sign(
    parameters: &ServerParameters,
    region: &str,
    access_key: &str,
    secret_key: &str,
    now: SystemTime,
) -> Signed {
    let (date, date_time) = timestamps(now);
    let canonical = format!(
        "ComputeId={}&FleetId={}&pID={}",
        encode(parameters.host_id()),
        encode(parameters.fleet_id()),
        encode(parameters.process_id())
    );
    let hash = hex(digest::digest(&digest::SHA256, canonical.as_bytes()).as_ref());
    let scope = format!("{date}/{region}/gamelift/aws4_request");
    let string_to_sign = format!("AWS4-HMAC-SHA256\n{date_time}\n{scope}\n{hash}");
    let mut key = format!("AWS4{secret_key}").into_bytes();
    for part in [date.as_str(), region, "gamelift", "aws4_request"] {
        key = hmac_sha256(&key, part.as_bytes());
    }
    Signed {
        credential: format!("{access_key}/{scope}"),
        date_time,
        signature: hex(&hmac_sha256(&key, string_to_sign.as_bytes())),
    }
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    hmac::sign(&key, data).as_ref().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `yyyyMMdd` and `yyyyMMddTHHmmssZ` in UTC.
fn timestamps(now: SystemTime) -> (String, String) {
    let seconds = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = (seconds / 86_400) as i64;
    let time = seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    let date = format!("{year:04}{month:02}{day:02}");
    let date_time = format!(
        "{date}T{:02}{:02}{:02}Z",
        time / 3600,
        time % 3600 / 60,
        time % 60
    );
    (date, date_time)
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn parameters() -> ServerParameters {
        ServerParameters::builder()
            .websocket_url("wss://us-west-2.api.amazongamelift.com")
            .fleet_id("fleet-1")
            .host_id("host-1")
            .process_id("p 1")
            .aws_region("us-west-2")
            .access_key("AKID")
            .secret_key("secret")
            .build()
            .unwrap()
    }

    #[test]
    fn dates_are_utc() {
        // 2024-02-29T12:34:56Z
        let at = UNIX_EPOCH + Duration::from_secs(1_709_210_096);
        assert_eq!(
            timestamps(at),
            ("20240229".to_string(), "20240229T123456Z".to_string())
        );
        assert_eq!(civil_from_days(0), (1970, 1, 1));
    }

    #[test]
    fn token_url_encodes_values_and_adds_the_path() {
        let url = connection_url(
            "ws://127.0.0.1:9080",
            &parameters(),
            "idem",
            Auth::Token("a+b/c"),
        );
        assert!(url.starts_with("ws://127.0.0.1:9080/?pID=p%201&"), "{url}");
        assert!(url.contains("&Authorization=a%2Bb%2Fc"), "{url}");
        assert!(url.contains("&sdkLanguage=Rust&"), "{url}");
        assert_eq!(redact(&url), "ws://127.0.0.1:9080/");
    }

    #[test]
    fn sigv4_signature_is_the_hmac_chain_over_the_three_ids() {
        let at = UNIX_EPOCH + Duration::from_secs(1_709_210_096);
        let signed = sign(&parameters(), "us-west-2", "AKID", "secret", at);
        assert_eq!(
            signed.credential,
            "AKID/20240229/us-west-2/gamelift/aws4_request"
        );
        assert_eq!(signed.date_time, "20240229T123456Z");
        // Recompute independently from the definition.
        let canonical = "ComputeId=host-1&FleetId=fleet-1&pID=p%201";
        let hash = hex(digest::digest(&digest::SHA256, canonical.as_bytes()).as_ref());
        let to_sign = format!(
            "AWS4-HMAC-SHA256\n20240229T123456Z\n20240229/us-west-2/gamelift/aws4_request\n{hash}"
        );
        let k_date = hmac_sha256(b"AWS4secret", b"20240229");
        let k_region = hmac_sha256(&k_date, b"us-west-2");
        let k_service = hmac_sha256(&k_region, b"gamelift");
        let k_signing = hmac_sha256(&k_service, b"aws4_request");
        assert_eq!(
            signed.signature,
            hex(&hmac_sha256(&k_signing, to_sign.as_bytes()))
        );
        assert_eq!(signed.signature.len(), 64);
        let url = connection_url(
            "wss://h",
            &parameters(),
            "i",
            Auth::SigV4 {
                region: "us-west-2",
                access_key: "AKID",
                secret_key: "secret",
                session_token: "tok",
                now: at,
            },
        );
        assert!(url.contains("Authorization=SigV4&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20240229%2Fus-west-2%2Fgamelift%2Faws4_request&X-Amz-Date=20240229T123456Z&X-Amz-Signature="), "{url}");
        assert!(url.ends_with("&X-Amz-Security-Token=tok"), "{url}");
    }
}
