//! The query string of a Server SDK 5 connection.

use std::collections::HashMap;

/// Decodes a WebSocket connection query (`pID=...&sdkVersion=...&Authorization=...`) with
/// `form_urlencoded`: escapes and `+` are decoded, malformed escapes are kept as they are (the
/// C++ and C# SDKs do not encode their values at all), invalid UTF-8 is replaced, and a parameter
/// given twice keeps its last value.
pub fn parse_query(query: &str) -> HashMap<String, String> {
    form_urlencoded::parse(query.as_bytes())
        .filter(|(key, _)| !key.is_empty())
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_escapes_plus_and_keeps_malformed_escapes() {
        let query = parse_query("pID=a%2Fb&sdkVersion=5.1.0&Authorization=x+y&&bad=%zz%4&pID=c");
        assert_eq!(query["pID"], "c");
        assert_eq!(query["Authorization"], "x y");
        assert_eq!(query["bad"], "%zz%4");
        assert_eq!(query["sdkVersion"], "5.1.0");
        assert_eq!(query.len(), 4);
    }
}
