//! # digest-auth
//!
//! A tb-host plugin that answers HTTP Digest challenges (RFC 7616, with
//! MD5 or SHA-256, `qop=auth`, and the RFC 2617 form without `qop`). It
//! implements `decide-retry` and `authorize`, and is the example of state
//! shared by the hooks of one plugin instance:
//!
//! 1. A request goes out without credentials and gets `401` with a
//!    `WWW-Authenticate: Digest` challenge.
//! 2. `decide-retry` reads the challenge, keeps it in the instance (the
//!    realm, the nonce, a nonce count of 0) and asks for an immediate
//!    retry (`retry-after 0`).
//! 3. `authorize`, called for the retry, finds the kept challenge, counts
//!    the nonce's use (`nc`) and answers the challenge.
//! 4. Every later request of the same worker is answered in `authorize`
//!    with the same nonce and the next count, so it succeeds at the first
//!    try. A challenge with `stale=true` (the server retired the nonce)
//!    replaces the kept one and the request is retried the same way.
//!
//! One instance serves one worker, one call at a time, so the kept
//! challenge needs no lock; each worker answers its own challenge.
//! A `401` without `stale=true` to a request that carried an answer means
//! wrong credentials: the plugin lets the response stand, and until the
//! server takes an answer again it retries nothing, so a bad password
//! costs at most one retry per job, never a loop.
//!
//! | config key | default | meaning |
//! | --- | --- | --- |
//! | `username` | required | the user name |
//! | `password` (or `password-env`) | required | the password, or the granted environment variable holding it |
//!
//! The password is never logged.

pub mod digest;

use guest_sdk::url::Url;
use guest_sdk::{
    Attempt, Decision, Outcome, Plugin, Request, auth, config, encoding, headers, log, random_u64,
};

use digest::{Challenge, Credentials};

/// The plugin: who to be, and the challenge this worker is answering.
#[derive(Default)]
pub struct DigestAuth {
    credentials: Credentials,
    /// The server's latest challenge, with its nonce count so far.
    challenge: Option<Challenge>,
    /// Whether the server refused an answer since the last one it took:
    /// then a new challenge is kept but not retried at once.
    refused: bool,
}

#[guest_sdk::plugin]
impl Plugin for DigestAuth {
    fn configure(&mut self) -> Result<(), String> {
        self.credentials = Credentials {
            username: config::require("username")?,
            password: config::require_secret("password")?,
        };
        if self.credentials.username.contains('"')
            || !headers::is_valid_value(&self.credentials.username)
        {
            return Err(
                "config key `username` must not contain quotes or control characters".into(),
            );
        }
        Ok(())
    }

    fn authorize(&mut self, request: &mut Request) -> Result<(), String> {
        let Some(challenge) = self.challenge.as_mut() else {
            return Ok(());
        };
        let uri = Url::parse(&request.url())?.target();
        let cnonce =
            encoding::hex([random_u64().to_le_bytes(), random_u64().to_le_bytes()].concat());
        let value = challenge.answer(&self.credentials, &request.method(), &uri, &cnonce);
        request.set_header("Authorization", &value)
    }

    fn decide_retry(
        &mut self,
        request: &Request,
        outcome: &Outcome,
        _attempt: &Attempt,
    ) -> Result<Decision, String> {
        let Some(status) = outcome.status() else {
            return Ok(Decision::Defer);
        };
        let answered = request.header("Authorization").is_some_and(|value| {
            auth::parse_challenges(&value)
                .iter()
                .any(|answer| answer.is("Digest"))
        });
        if status != 401 {
            if answered {
                self.refused = false;
            }
            return Ok(Decision::Defer);
        }
        let Some(offered) = Challenge::best(&auth::challenges(&outcome.headers())) else {
            return Ok(Decision::Defer);
        };
        if answered && !offered.stale {
            log::warn(
                "the server refused the answer to its challenge: check username and password",
            );
            self.refused = true;
            self.challenge = Some(offered);
            return Ok(Decision::Defer);
        }
        if self.refused && !offered.stale {
            // Answers are being refused: keep the challenge for the next
            // request, but do not spend a retry on this one.
            self.challenge = Some(offered);
            return Ok(Decision::Defer);
        }
        log::debug(if offered.stale {
            "the server retired the nonce: answering its new challenge"
        } else {
            "answering the server's Digest challenge"
        });
        self.challenge = Some(offered);
        Ok(Decision::RetryAfter(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use guest_sdk::HookSet;
    use guest_sdk::testing::{self, With};

    const CHALLENGE: &str =
        r#"Digest realm="api@test", qop="auth", algorithm=SHA-256, nonce="n1", opaque="op""#;

    fn configured() -> testing::Instance<DigestAuth> {
        testing::set_config(&[("username", "Mufasa"), ("password", "Circle of Life")]);
        testing::run::<DigestAuth>().unwrap()
    }

    fn challenge(value: &str) -> testing::TestOutcome {
        testing::response(401, &[]).with_header("WWW-Authenticate", value)
    }

    fn decide(
        plugin: &mut testing::Instance<DigestAuth>,
        request: &testing::TestRequest,
        outcome: &testing::TestOutcome,
    ) -> Decision {
        plugin
            .decide_retry(request, outcome, &testing::attempt(1, 5))
            .unwrap()
    }

    /// The parameters of the Digest answer on `request`.
    fn answer(request: &testing::TestRequest) -> auth::Challenge {
        let value = headers::get(&request.headers, "authorization").expect("an answer");
        auth::parse_challenges(value).remove(0)
    }

    #[test]
    fn hooks_are_authorize_and_decide_retry() {
        configured();
        let info = testing::describe::<DigestAuth>().unwrap();
        assert_eq!(info.hooks, HookSet::AUTHORIZE | HookSet::DECIDE_RETRY);
    }

    #[test]
    fn a_challenge_is_answered_on_the_retry_and_kept_for_later_requests() {
        let mut plugin = configured();
        let first = plugin
            .authorized(testing::request("GET", "http://a.test/x?y=1"))
            .unwrap();
        assert_eq!(
            headers::get(&first.headers, "authorization"),
            None,
            "no challenge yet"
        );
        assert_eq!(
            decide(&mut plugin, &first, &challenge(CHALLENGE)),
            Decision::RetryAfter(0)
        );
        let retry = plugin.authorized(first).unwrap();
        let sent = answer(&retry);
        assert_eq!(sent.param("username"), Some("Mufasa"));
        assert_eq!(sent.param("uri"), Some("/x?y=1"));
        assert_eq!(sent.param("nonce"), Some("n1"));
        assert_eq!(sent.param("nc"), Some("00000001"));
        assert_eq!(sent.param("algorithm"), Some("SHA-256"));
        assert_eq!(sent.param("opaque"), Some("op"));
        let cnonce = sent.param("cnonce").unwrap().to_owned();
        let expected = digest::response(
            digest::Algorithm::Sha256,
            &Credentials {
                username: "Mufasa".into(),
                password: "Circle of Life".into(),
            },
            "api@test",
            "GET",
            "/x?y=1",
            "n1",
            Some(("00000001", &cnonce)),
        );
        assert_eq!(sent.param("response"), Some(expected.as_str()));
        assert_eq!(
            decide(&mut plugin, &retry, &testing::response(200, &[])),
            Decision::Defer
        );
        let later = plugin
            .authorized(testing::request("GET", "http://a.test/z"))
            .unwrap();
        let later = answer(&later);
        assert_eq!(later.param("nc"), Some("00000002"));
        assert_ne!(
            later.param("cnonce"),
            Some(cnonce.as_str()),
            "a fresh cnonce each time"
        );
    }

    #[test]
    fn a_stale_nonce_is_replaced_and_the_request_retried() {
        let mut plugin = configured();
        let request = testing::request("GET", "http://a.test/");
        decide(&mut plugin, &request, &challenge(CHALLENGE));
        let answered = plugin.authorized(request).unwrap();
        let stale =
            r#"Digest realm="api@test", qop="auth", algorithm=SHA-256, nonce="n2", stale=true"#;
        assert_eq!(
            decide(&mut plugin, &answered, &challenge(stale)),
            Decision::RetryAfter(0)
        );
        let again = answer(&plugin.authorized(answered).unwrap());
        assert_eq!(
            (again.param("nonce"), again.param("nc")),
            (Some("n2"), Some("00000001"))
        );
    }

    #[test]
    fn a_refused_answer_is_not_retried_even_with_a_new_nonce() {
        let mut plugin = configured();
        let request = testing::request("GET", "http://a.test/");
        decide(&mut plugin, &request, &challenge(CHALLENGE));
        let answered = plugin.authorized(request).unwrap();
        let renewed = CHALLENGE.replace("n1", "n-other");
        assert_eq!(
            decide(&mut plugin, &answered, &challenge(&renewed)),
            Decision::Defer
        );
        assert!(
            testing::logs()
                .iter()
                .any(|(_, message)| message.contains("check username"))
        );
        // A request sent before the refusal, without an answer, is not
        // retried either while answers are refused...
        let unanswered = testing::request("GET", "http://a.test/other");
        assert_eq!(
            decide(&mut plugin, &unanswered, &challenge(CHALLENGE)),
            Decision::Defer
        );
        // ...but the next request answers the newest challenge, and once
        // the server takes an answer, challenges are retried again.
        let next = plugin
            .authorized(testing::request("GET", "http://a.test/"))
            .unwrap();
        assert_eq!(answer(&next).param("nonce"), Some("n1"));
        assert_eq!(
            decide(&mut plugin, &next, &testing::response(200, &[])),
            Decision::Defer
        );
        assert_eq!(
            decide(&mut plugin, &unanswered, &challenge(CHALLENGE)),
            Decision::RetryAfter(0)
        );
    }

    #[test]
    fn other_answers_defer() {
        let mut plugin = configured();
        let request = testing::request("GET", "http://a.test/");
        assert_eq!(
            decide(&mut plugin, &request, &testing::response(200, &[])),
            Decision::Defer
        );
        assert_eq!(
            decide(&mut plugin, &request, &challenge(r#"Basic realm="x""#)),
            Decision::Defer
        );
        assert_eq!(
            decide(&mut plugin, &request, &testing::response(401, &[])),
            Decision::Defer
        );
        let auth_int_only = r#"Digest realm="r", qop="auth-int", nonce="n""#;
        assert_eq!(
            decide(&mut plugin, &request, &challenge(auth_int_only)),
            Decision::Defer
        );
    }

    #[test]
    fn the_password_is_required_and_never_logged() {
        testing::set_config(&[("username", "u")]);
        assert!(
            testing::run::<DigestAuth>()
                .err()
                .unwrap()
                .contains("`password`")
        );
        let mut plugin = configured();
        let request = testing::request("GET", "http://a.test/");
        decide(&mut plugin, &request, &challenge(CHALLENGE));
        plugin.authorized(request).unwrap();
        for (_, message) in testing::logs() {
            assert!(!message.contains("Circle"), "{message}");
        }
    }
}
