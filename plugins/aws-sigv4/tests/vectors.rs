//! The plugin against AWS's Signature Version 4 test suite (the files in
//! `tests/vectors`, see the README there): for each case, the canonical
//! request, the string to sign and the `Authorization` value must match
//! the suite's `.creq`, `.sts` and `.authz` files byte for byte, and the
//! request the plugin's `authorize` returns must carry the headers of
//! the suite's signed request (`.sreq`).

use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use aws_sigv4::AwsSigV4;
use aws_sigv4::signing::{Signable, Signer};
use guest_sdk::testing::TestRequest;
use guest_sdk::time::UtcDateTime;
use guest_sdk::url::Url;
use guest_sdk::{Headers, crypto, encoding, headers, testing};

/// The session token of the suite's `post-sts-token` cases.
const SESSION_TOKEN: &str = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";

/// 2015-08-30T12:36:00Z, the suite's signing time.
const SUITE_TIME: u64 = 1_440_938_160;

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

/// The suite's signer.
fn signer() -> Signer {
    Signer {
        access_key_id: "AKIDEXAMPLE".into(),
        secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
        region: "us-east-1".into(),
        service: "service".into(),
    }
}

/// File `case.ext` of the suite.
fn file(case: &str, ext: &str) -> String {
    let path = vectors().join(case).join(format!("{case}.{ext}"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A suite `.req` file as a request: the request line, header lines (a
/// line starting with white space continues the previous header with
/// another value, as the suite's multi-line case means it), and the body
/// after a blank line.
fn parse_req(text: &str) -> TestRequest {
    let (head, body) = match text.split_once("\n\n") {
        Some((head, body)) => (head, Some(body.as_bytes().to_vec())),
        None => (text, None),
    };
    let mut lines = head.lines();
    let request_line = lines.next().expect("a request line");
    let method = request_line.split(' ').next().unwrap();
    let target = request_line[method.len() + 1..]
        .strip_suffix(" HTTP/1.1")
        .expect("HTTP/1.1");
    let mut fields: Headers = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            let name = fields.last().expect("a header to continue").0.clone();
            fields.push((name, line.trim().to_owned()));
        } else {
            let (name, value) = line.split_once(':').expect("name:value");
            fields.push((name.to_owned(), value.trim().to_owned()));
        }
    }
    let host = headers::get(&fields, "host").expect("the suite sends Host");
    let mut request = testing::request(method, &format!("https://{host}{target}"));
    request.headers = fields;
    request.body = body;
    request
}

/// Every case directory in the suite.
fn cases() -> Vec<String> {
    let mut cases: Vec<String> = std::fs::read_dir(vectors())
        .unwrap()
        .filter_map(|entry| {
            let entry = entry.unwrap();
            entry
                .file_type()
                .unwrap()
                .is_dir()
                .then(|| entry.file_name().into_string().unwrap())
        })
        .collect();
    cases.sort();
    cases
}

#[test]
fn the_suite_has_the_cases_the_issue_names() {
    let cases = cases();
    for required in [
        "get-vanilla",
        "post-vanilla",
        "get-vanilla-query-order-key-case",
        "get-vanilla-query-order-value",
        "get-header-value-trim",
        "get-header-key-duplicate",
        "get-header-value-multiline",
        "post-x-www-form-urlencoded",
    ] {
        assert!(
            cases.iter().any(|case| case == required),
            "{required} missing"
        );
    }
    assert!(cases.len() >= 20, "{cases:?}");
}

#[test]
fn every_step_matches_the_suite() {
    let time = UtcDateTime::from(UNIX_EPOCH + Duration::from_secs(SUITE_TIME));
    for case in cases() {
        let request = parse_req(&file(&case, "req"));
        let url = Url::parse(&request.url).unwrap();
        let payload_hash =
            encoding::hex(crypto::sha256(request.body.as_deref().unwrap_or_default()));
        let signature = signer().sign(
            &Signable {
                method: &request.method,
                url: &url,
                headers: &request.headers,
                payload_hash: &payload_hash,
            },
            &time,
        );
        assert_eq!(
            signature.canonical_request,
            file(&case, "creq"),
            "{case}: canonical request"
        );
        assert_eq!(
            signature.string_to_sign,
            file(&case, "sts"),
            "{case}: string to sign"
        );
        assert_eq!(
            signature.authorization,
            file(&case, "authz"),
            "{case}: authorization"
        );
    }
}

#[test]
fn authorize_produces_the_suites_signed_requests() {
    for case in cases() {
        let mut config = vec![
            ("access-key-id", "AKIDEXAMPLE"),
            (
                "secret-access-key",
                "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            ),
            ("region", "us-east-1"),
            ("service", "service"),
        ];
        if case.starts_with("post-sts") {
            config.push(("session-token", SESSION_TOKEN));
        }
        testing::set_config(&config);
        testing::set_now(UNIX_EPOCH + Duration::from_secs(SUITE_TIME));
        let mut plugin = testing::run::<AwsSigV4>().unwrap();
        let signed = plugin.authorized(parse_req(&file(&case, "req"))).unwrap();
        let expected = parse_req(&file(&case, "sreq"));
        let mut got = signed.headers.clone();
        let mut want = expected.headers.clone();
        got.sort();
        want.sort();
        assert_eq!(got, want, "{case}: signed request headers");
        assert_eq!(signed.body, expected.body, "{case}: body");
    }
}
