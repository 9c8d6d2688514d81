//! # aws-sigv4
//!
//! A tb-host plugin that signs every request, retries included, with AWS
//! Signature Version 4: it sets `X-Amz-Date` (from the clock at the time
//! of the attempt), `X-Amz-Security-Token` when a session token is
//! configured, `x-amz-content-sha256` when asked, and `Authorization`.
//! It implements only `authorize`.
//!
//! Every header the request carries when the plugin sees it is signed,
//! with `Host` (from the URL when the request has none). Load the plugin
//! after any plugin that changes headers, so that what it signs is what
//! is sent.
//!
//! | config key | default | meaning |
//! | --- | --- | --- |
//! | `access-key-id` | required | the access key id |
//! | `secret-access-key` (or `secret-access-key-env`) | required | the secret key, or the granted environment variable holding it |
//! | `session-token` (or `session-token-env`) | none | temporary credentials' session token, sent as `X-Amz-Security-Token` and signed |
//! | `region` | required | e.g. `us-east-1` |
//! | `service` | required | e.g. `execute-api`, `s3` (S3 paths are signed as sent, not normalised) |
//! | `content-sha256` | `false` | also send the payload hash as `x-amz-content-sha256` (S3 requires it) |
//!
//! ```text
//! tb-host run --plugin aws_sigv4.wasm --plugin-env aws_sigv4:AWS_SECRET_ACCESS_KEY \
//!     --plugin-config access-key-id=AKIA... --plugin-config secret-access-key-env=AWS_SECRET_ACCESS_KEY \
//!     --plugin-config region=eu-west-1 --plugin-config service=execute-api urls.txt
//! ```
//!
//! The secret key and the session token are never logged. Verified
//! against AWS's SigV4 test suite: see `tests/vectors/README.md`.

pub mod signing;

use guest_sdk::time::{self, UtcDateTime};
use guest_sdk::url::Url;
use guest_sdk::{Plugin, Request, config, crypto, encoding, headers};

use signing::{Signable, Signer};

/// The plugin: the signer, and what else to send.
#[derive(Default)]
pub struct AwsSigV4 {
    /// Credentials, region and service.
    signer: Signer,
    /// Sent as `X-Amz-Security-Token`, when configured.
    session_token: Option<String>,
    /// Whether to send `x-amz-content-sha256`.
    content_sha256: bool,
}

#[guest_sdk::plugin]
impl Plugin for AwsSigV4 {
    fn configure(&mut self) -> Result<(), String> {
        self.signer = Signer {
            access_key_id: config::require("access-key-id")?.trim().to_owned(),
            secret_access_key: config::require_secret("secret-access-key")?,
            region: config::require("region")?.trim().to_owned(),
            service: config::require("service")?.trim().to_owned(),
        };
        self.session_token = config::secret("session-token")?;
        if self
            .session_token
            .as_deref()
            .is_some_and(|token| !headers::is_valid_value(token))
        {
            return Err("config key `session-token` must not contain control characters".into());
        }
        self.content_sha256 = config::get_or("content-sha256", false)?;
        Ok(())
    }

    fn authorize(&mut self, request: &mut Request) -> Result<(), String> {
        let url = Url::parse(&request.url())?;
        let now = UtcDateTime::from(time::now());
        let payload_hash = encoding::hex(crypto::sha256(request.body().unwrap_or_default()));
        request.remove_header("Authorization")?;
        request.set_header("X-Amz-Date", &now.basic_iso8601())?;
        if let Some(token) = &self.session_token {
            request.set_header("X-Amz-Security-Token", token)?;
        }
        if self.content_sha256 {
            request.set_header("x-amz-content-sha256", &payload_hash)?;
        }
        // Every field is signed, so every field is read.
        let mut signed = request.headers();
        if headers::get(&signed, "Host").is_none() {
            headers::append(&mut signed, "Host", &url.host_header());
        }
        let signature = self.signer.sign(
            &Signable {
                method: &request.method(),
                url: &url,
                headers: &signed,
                payload_hash: &payload_hash,
            },
            &now,
        );
        request.set_header("Authorization", &signature.authorization)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use guest_sdk::HookSet;
    use guest_sdk::testing::{self, With};

    /// The suite's credentials, with `extra` config.
    fn configured(extra: &[(&str, &str)]) -> testing::Instance<AwsSigV4> {
        let mut pairs = vec![
            ("access-key-id", "AKIDEXAMPLE"),
            (
                "secret-access-key",
                "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            ),
            ("region", "us-east-1"),
            ("service", "service"),
        ];
        pairs.extend_from_slice(extra);
        testing::set_config(&pairs);
        testing::set_now(UNIX_EPOCH + Duration::from_secs(1_440_938_160));
        testing::run::<AwsSigV4>().unwrap()
    }

    #[test]
    fn only_authorize_is_a_hook_and_keys_are_required() {
        configured(&[]);
        assert_eq!(
            testing::describe::<AwsSigV4>().unwrap().hooks,
            HookSet::AUTHORIZE
        );
        for missing in ["access-key-id", "secret-access-key", "region", "service"] {
            let pairs: Vec<(&str, &str)> = [
                ("access-key-id", "A"),
                ("secret-access-key", "S"),
                ("region", "r"),
                ("service", "s"),
            ]
            .into_iter()
            .filter(|(key, _)| *key != missing)
            .collect();
            testing::set_config(&pairs);
            let error = testing::run::<AwsSigV4>().err().unwrap();
            assert!(error.contains(&format!("`{missing}`")), "{error}");
        }
    }

    #[test]
    fn host_comes_from_the_url_and_date_from_the_clock() {
        let mut plugin = configured(&[]);
        let request = plugin
            .authorized(testing::request("GET", "http://127.0.0.1:8080/a?b=1"))
            .unwrap();
        assert_eq!(
            headers::get(&request.headers, "x-amz-date"),
            Some("20150830T123600Z")
        );
        assert_eq!(
            headers::get(&request.headers, "host"),
            None,
            "the client sends Host"
        );
        let authorization = headers::get(&request.headers, "authorization").unwrap();
        assert!(
            authorization.starts_with(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
                 SignedHeaders=host;x-amz-date, Signature="
            ),
            "{authorization}"
        );
        testing::advance(Duration::from_secs(86_400));
        let later = plugin
            .authorized(testing::request("GET", "http://127.0.0.1:8080/a?b=1"))
            .unwrap();
        assert_eq!(
            headers::get(&later.headers, "x-amz-date"),
            Some("20150831T123600Z")
        );
        assert_ne!(
            headers::get(&later.headers, "authorization"),
            Some(authorization)
        );
    }

    #[test]
    fn payload_hash_header_and_session_token_are_signed() {
        let mut plugin = configured(&[("content-sha256", "true"), ("session-token", "tok")]);
        let request = plugin
            .authorized(
                testing::request("PUT", "https://bucket.test/key")
                    .with_header("Authorization", "Basic stale")
                    .with_body("hello"),
            )
            .unwrap();
        assert_eq!(
            headers::get(&request.headers, "x-amz-content-sha256"),
            Some("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
        );
        assert_eq!(
            headers::get(&request.headers, "x-amz-security-token"),
            Some("tok")
        );
        assert_eq!(
            headers::get_all(&request.headers, "authorization").count(),
            1
        );
        let authorization = headers::get(&request.headers, "authorization").unwrap();
        assert!(
            authorization.contains(
                "SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,"
            ),
            "{authorization}"
        );
    }

    #[test]
    fn secrets_are_never_logged() {
        let mut plugin = configured(&[("session-token", "tok")]);
        plugin
            .authorized(testing::request("GET", "https://a.test/"))
            .unwrap();
        assert_eq!(testing::logs(), []);
    }

    #[test]
    fn a_relative_url_fails_the_request() {
        let mut plugin = configured(&[]);
        assert!(
            plugin
                .authorized(testing::request("GET", "/relative"))
                .is_err()
        );
    }
}
