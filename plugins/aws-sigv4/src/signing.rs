//! AWS Signature Version 4, step by step as AWS documents it: the
//! canonical request, the string to sign, the signing key and the
//! `Authorization` value. Pure functions of their inputs, so each step
//! is checked against AWS's published test suite (`tests/vectors`).

use guest_sdk::time::UtcDateTime;
use guest_sdk::url::{self, Url};
use guest_sdk::{Headers, crypto, encoding};

/// The algorithm name that opens the string to sign and the header.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// Who signs, and for which region and service.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Signer {
    /// The access key id, e.g. `AKIDEXAMPLE`.
    pub access_key_id: String,
    /// The secret access key; never logged.
    pub secret_access_key: String,
    /// The region, e.g. `us-east-1`.
    pub region: String,
    /// The service, e.g. `execute-api` or `s3`.
    pub service: String,
}

/// Everything signing produced, each step kept so that it can be checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    /// The canonical request (task 1).
    pub canonical_request: String,
    /// The string to sign (task 2).
    pub string_to_sign: String,
    /// The value of the `Authorization` header (task 4).
    pub authorization: String,
}

/// What is signed: one request as it will be sent.
pub struct Signable<'a> {
    /// The method, upper case.
    pub method: &'a str,
    /// The request URL.
    pub url: &'a Url,
    /// Every header to sign, `Host` and `X-Amz-Date` included.
    pub headers: &'a Headers,
    /// The hex SHA-256 of the payload.
    pub payload_hash: &'a str,
}

impl Signer {
    /// Signs `request` at `time`.
    pub fn sign(&self, request: &Signable<'_>, time: &UtcDateTime) -> Signature {
        let (canonical_request, signed_headers) = canonical_request(request, &self.service);
        let scope = format!(
            "{}/{}/{}/aws4_request",
            time.basic_date(),
            self.region,
            self.service
        );
        let string_to_sign = format!(
            "{ALGORITHM}\n{}\n{scope}\n{}",
            time.basic_iso8601(),
            encoding::hex(crypto::sha256(&canonical_request))
        );
        let key = self.signing_key(&time.basic_date());
        let signature = encoding::hex(crypto::hmac_sha256(key, &string_to_sign));
        let authorization = format!(
            "{ALGORITHM} Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
            self.access_key_id
        );
        Signature {
            canonical_request,
            string_to_sign,
            authorization,
        }
    }

    /// The signing key of `date` (`YYYYMMDD`): task 3.
    pub fn signing_key(&self, date: &str) -> [u8; 32] {
        let date_key = crypto::hmac_sha256(format!("AWS4{}", self.secret_access_key), date);
        let region_key = crypto::hmac_sha256(date_key, &self.region);
        let service_key = crypto::hmac_sha256(region_key, &self.service);
        crypto::hmac_sha256(service_key, "aws4_request")
    }
}

/// The canonical request and its signed-header list (task 1):
/// method, canonical URI, canonical query, canonical headers, signed
/// headers and payload hash, one a line.
pub fn canonical_request(request: &Signable<'_>, service: &str) -> (String, String) {
    let headers = canonical_headers(request.headers);
    let signed: Vec<&str> = headers.iter().map(|(name, _)| name.as_str()).collect();
    let signed = signed.join(";");
    let mut text = format!(
        "{}\n{}\n{}\n",
        request.method,
        canonical_uri(request.url.path(), service),
        canonical_query(request.url.query().unwrap_or(""))
    );
    for (name, value) in &headers {
        text.push_str(&format!("{name}:{value}\n"));
    }
    text.push_str(&format!("\n{signed}\n{}", request.payload_hash));
    (text, signed)
}

/// The canonical URI: the path with `.`, `..` and empty segments removed
/// and URI-encoded once more (AWS's "encode twice" counts the encoding
/// the path already has on the wire). S3 signs the path as sent.
pub fn canonical_uri(path: &str, service: &str) -> String {
    if service == "s3" {
        return path.to_owned();
    }
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            segment => segments.push(segment),
        }
    }
    let mut normalized = format!("/{}", segments.join("/"));
    let ends_in_directory = path.ends_with('/') || path.ends_with("/.") || path.ends_with("/..");
    if ends_in_directory && !segments.is_empty() {
        normalized.push('/');
    }
    url::encode_path(&normalized)
}

/// The canonical query: every `name=value` decoded, then encoded as AWS
/// wants (all but unreserved characters), sorted by name and then value.
pub fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (
                url::encode(&url::decode(name)),
                url::encode(&url::decode(value)),
            )
        })
        .collect();
    pairs.sort();
    let pairs: Vec<String> = pairs
        .into_iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    pairs.join("&")
}

/// The canonical headers, sorted by lower-case name: each name once, its
/// values in order joined by `,`, each value trimmed with inner runs of
/// spaces made one.
pub fn canonical_headers(headers: &Headers) -> Vec<(String, String)> {
    let mut merged: Vec<(String, String)> = Vec::new();
    for (name, value) in headers {
        let name = name.to_ascii_lowercase();
        let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
        match merged.iter_mut().find(|(given, _)| *given == name) {
            Some((_, values)) => {
                values.push(',');
                values.push_str(&value);
            }
            None => merged.push((name, value)),
        }
    }
    merged.sort_by(|a, b| a.0.cmp(&b.0));
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalised_then_encoded() {
        for (path, canonical) in [
            ("/", "/"),
            ("", "/"),
            ("//example//", "/example/"),
            ("/./example", "/example"),
            ("/example1/example2/../..", "/"),
            ("/a/./b/../c/", "/a/c/"),
            ("/a%20b", "/a%2520b"),
            ("/../..", "/"),
        ] {
            assert_eq!(canonical_uri(path, "service"), canonical, "{path:?}");
        }
        assert_eq!(canonical_uri("//a/./b%20c", "s3"), "//a/./b%20c");
    }

    #[test]
    fn query_pairs_are_normalised_and_sorted() {
        assert_eq!(canonical_query(""), "");
        assert_eq!(canonical_query("b=2&a=1&a=0&c"), "a=0&a=1&b=2&c=");
        assert_eq!(
            canonical_query("x=a%2fb&y=a+b&z=%7E"),
            "x=a%2Fb&y=a%2Bb&z=~"
        );
    }

    #[test]
    fn signing_key_matches_the_documented_example() {
        // The derived-key example of AWS's SigV4 documentation.
        let signer = Signer {
            access_key_id: String::new(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            region: "us-east-1".into(),
            service: "iam".into(),
        };
        assert_eq!(
            encoding::hex(signer.signing_key("20150830")),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
        );
    }
}
