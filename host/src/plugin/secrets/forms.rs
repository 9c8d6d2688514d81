//! The forms a secret takes in text, besides percent-encoding (which
//! `percent` finds in all its variants): base64, and the escapes of a
//! JSON or Rust string.
//!
//! Credentials travel in base64 (HTTP Basic, tokens, signatures) and in
//! JSON bodies, and a message may show a string escaped as JSON or as
//! Rust's `{:?}` does (every quoted value in a log line). Each form is a
//! fixed text per secret, so the set is computed once, when the secret is
//! added; each is then looked for raw or percent-encoded, as a base64
//! token in a URL may be.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};

/// The forms of `secret`: itself, its JSON and Rust escapes, and the
/// base64 of it and of it percent-encoded (see [`base64_runs`]); longest
/// first, so that a longer form is hidden whole before a shorter one
/// inside it is looked for.
pub(super) fn of(secret: &str) -> Vec<String> {
    let mut forms = vec![
        secret.to_owned(),
        unquoted(&serde_json::to_string(secret).expect("a string serializes")),
        unquoted(&format!("{secret:?}")),
    ];
    for encoded in [secret.to_owned(), percent_encoded(secret)] {
        for engine in [STANDARD_NO_PAD, URL_SAFE_NO_PAD] {
            forms.push(engine.encode(&encoded));
            forms.extend(base64_runs(&engine, encoded.as_bytes()));
        }
    }
    forms.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
    forms.dedup();
    forms
}

/// The base64 of `secret` wherever it sits in the bytes encoded, as in
/// `user:secret` (HTTP Basic): base64 writes 6 bits a character, so the
/// secret starts at one of three offsets in its 3-byte groups; for each,
/// the run of characters that encode its bits alone. The character or two
/// at either end, which mix in the bytes around it, are not part of the
/// run: at most 4 bits of the secret's first byte and of its last show.
fn base64_runs(engine: &impl Engine, secret: &[u8]) -> Vec<String> {
    (0..3)
        .map(|offset| {
            let mut bytes = vec![0; offset];
            bytes.extend_from_slice(secret);
            let encoded = engine.encode(&bytes);
            // Character i holds bits 6i..6i+6; the secret's are
            // 8*offset..8*(offset+len).
            let first = (8 * offset).div_ceil(6);
            let end = 8 * (offset + secret.len()) / 6;
            encoded[first..end].to_owned()
        })
        .collect()
}

/// `secret` with every byte but the unreserved ones (RFC 3986) as `%XX`:
/// how HTTP Basic credentials of OAuth 2.0 clients hold it (RFC 6749
/// section 2.3.1; the `oauth2-client-credentials` plugin sends them so).
fn percent_encoded(secret: &str) -> String {
    let mut encoded = String::with_capacity(secret.len());
    for byte in secret.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// A quoted string's text without its quotes.
fn unquoted(quoted: &str) -> String {
    quoted[1..quoted.len() - 1].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;

    #[test]
    fn json_and_rust_escapes_are_forms() {
        let forms = of("a \"quoted\" back\\slash\tü\u{1b}");
        assert!(forms.contains(&r#"a \"quoted\" back\\slash\tü\u001b"#.to_owned()));
        assert!(forms.contains(&r#"a \"quoted\" back\\slash\tü\u{1b}"#.to_owned()));
    }

    #[test]
    fn base64_of_the_secret_alone_is_a_form_in_both_alphabets() {
        let secret = "SECRET KEY/777+x \"ü\" \\ ÿ~";
        let forms = of(secret);
        let standard = STANDARD.encode(secret);
        assert!(standard.contains('+'), "{standard}");
        assert!(forms.contains(&standard.trim_end_matches('=').to_owned()));
        assert!(forms.contains(&URL_SAFE_NO_PAD.encode(secret)));
    }

    #[test]
    fn base64_of_credentials_holding_the_secret_contains_a_form() {
        let secret = "pa55w0rd-with-more";
        let forms = of(secret);
        for user in ["", "u", "us", "user", "long-user-name"] {
            for suffix in ["", "x", "xy"] {
                let encoded = STANDARD.encode(format!("{user}:{secret}{suffix}"));
                assert!(
                    forms.iter().any(|form| encoded.contains(form.as_str())),
                    "{user}:{secret}{suffix} as {encoded}"
                );
            }
        }
    }

    #[test]
    fn oauth_client_credentials_in_basic_contain_a_form() {
        // RFC 6749 section 2.3.1: id and secret percent-encoded, then Basic.
        let secret = "s3cret/with+awkward chars";
        let encoded = STANDARD.encode("tb-host%20tests:s3cret%2Fwith%2Bawkward%20chars");
        assert!(
            of(secret)
                .iter()
                .any(|form| encoded.contains(form.as_str()))
        );
    }
}
