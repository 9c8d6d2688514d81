//! The plugin against a fake token endpoint ([`testing::set_fetch`]) and
//! a fake clock.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, UNIX_EPOCH};

use guest_sdk::testing::{self, With};
use guest_sdk::{Decision, HookSet, Level, headers};

use super::*;

/// The token requests the fake endpoint received.
type Seen = Rc<RefCell<Vec<guest_sdk::FetchRequest>>>;

/// Configures the plugin with `extra` keys and a token endpoint that
/// answers `tok-1`, `tok-2`, ... valid for `expires_in` seconds.
fn setup(
    extra: &[(&str, &str)],
    expires_in: u64,
) -> (testing::Instance<OAuth2ClientCredentials>, Seen) {
    let mut pairs = vec![
        ("token-url", "https://idp.test/oauth/token"),
        ("client-id", "my app"),
        ("client-secret", "s3cr:et"),
    ];
    pairs.extend_from_slice(extra);
    testing::set_config(&pairs);
    testing::set_now(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let seen: Seen = Rc::default();
    let log = Rc::clone(&seen);
    testing::set_fetch(move |request| {
        log.borrow_mut().push(request.clone());
        let body = format!(
            r#"{{"access_token":"tok-{}","token_type":"bearer","expires_in":{expires_in}}}"#,
            log.borrow().len()
        );
        Ok(testing::fetched(
            200,
            &[("Content-Type", "application/json")],
            body,
        ))
    });
    (testing::run::<OAuth2ClientCredentials>().unwrap(), seen)
}

/// The bearer token `plugin` puts on a request.
fn bearer(plugin: &mut testing::Instance<OAuth2ClientCredentials>) -> String {
    let request = plugin
        .authorized(testing::request("GET", "https://api.test/"))
        .unwrap();
    headers::get(&request.headers, "authorization")
        .unwrap()
        .to_owned()
}

/// What `plugin` decides after `request` got `status`.
fn decide(
    plugin: &mut testing::Instance<OAuth2ClientCredentials>,
    request: &testing::TestRequest,
    status: u16,
) -> Decision {
    plugin
        .decide_retry(
            request,
            &testing::response(status, &[]),
            &testing::attempt(1, 10),
        )
        .unwrap()
}

#[test]
fn hooks_are_authorize_and_decide_retry() {
    setup(&[], 3600);
    let info = testing::describe::<OAuth2ClientCredentials>().unwrap();
    assert_eq!(info.hooks, HookSet::AUTHORIZE | HookSet::DECIDE_RETRY);
}

#[test]
fn the_token_request_follows_rfc_6749() {
    let (mut plugin, seen) = setup(
        &[("scope", "read write"), ("audience", "https://api.test")],
        3600,
    );
    assert_eq!(bearer(&mut plugin), "Bearer tok-1");
    let request = &seen.borrow()[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.url, "https://idp.test/oauth/token");
    assert_eq!(
        headers::get(&request.headers, "content-type"),
        Some("application/x-www-form-urlencoded")
    );
    // Basic of the form-encoded id and secret: "my%20app:s3cr%3Aet".
    assert_eq!(
        headers::get(&request.headers, "authorization"),
        Some("Basic bXklMjBhcHA6czNjciUzQWV0")
    );
    assert_eq!(
        request.body.as_deref(),
        Some(
            &b"grant_type=client_credentials&scope=read%20write&audience=https%3A%2F%2Fapi.test"[..]
        )
    );
}

#[test]
fn client_auth_body_puts_the_credentials_in_the_form() {
    let (mut plugin, seen) = setup(&[("client-auth", "body")], 3600);
    bearer(&mut plugin);
    let request = &seen.borrow()[0];
    assert_eq!(headers::get(&request.headers, "authorization"), None);
    assert_eq!(
        request.body.as_deref(),
        Some(&b"grant_type=client_credentials&client_id=my%20app&client_secret=s3cr%3Aet"[..])
    );
}

#[test]
fn the_token_is_cached_until_shortly_before_it_expires() {
    let (mut plugin, seen) = setup(&[("refresh-before", "60s")], 3600);
    assert_eq!(bearer(&mut plugin), "Bearer tok-1");
    testing::advance(Duration::from_secs(3539));
    assert_eq!(bearer(&mut plugin), "Bearer tok-1", "61 s left");
    testing::advance(Duration::from_secs(1));
    assert_eq!(bearer(&mut plugin), "Bearer tok-2", "60 s left: refreshed");
    assert_eq!(seen.borrow().len(), 2);
}

#[test]
fn a_short_lived_token_is_refreshed_at_half_its_life() {
    let (mut plugin, _) = setup(&[], 10);
    assert_eq!(bearer(&mut plugin), "Bearer tok-1");
    testing::advance(Duration::from_secs(4));
    assert_eq!(bearer(&mut plugin), "Bearer tok-1");
    testing::advance(Duration::from_secs(1));
    assert_eq!(bearer(&mut plugin), "Bearer tok-2");
}

#[test]
fn a_401_drops_the_token_and_retries_once_with_a_fresh_one() {
    let (mut plugin, seen) = setup(&[], 3600);
    let first = plugin
        .authorized(testing::request("GET", "https://api.test/a"))
        .unwrap();
    assert_eq!(decide(&mut plugin, &first, 200), Decision::Defer);
    let second = plugin
        .authorized(testing::request("GET", "https://api.test/b"))
        .unwrap();
    assert_eq!(
        headers::get(&second.headers, "authorization"),
        Some("Bearer tok-1")
    );
    // The cached token is refused: retry at once.
    assert_eq!(decide(&mut plugin, &second, 401), Decision::RetryAfter(0));
    let retried = plugin.authorized(second.clone()).unwrap();
    assert_eq!(
        headers::get(&retried.headers, "authorization"),
        Some("Bearer tok-2")
    );
    // The fresh token is refused too: the client is refused, do not loop.
    assert_eq!(decide(&mut plugin, &retried, 401), Decision::Defer);
    assert_eq!(seen.borrow().len(), 2);
    assert_eq!(
        bearer(&mut plugin),
        "Bearer tok-3",
        "the refused token was dropped"
    );
}

#[test]
fn other_statuses_and_foreign_requests_defer() {
    let (mut plugin, _) = setup(&[], 3600);
    let request = plugin
        .authorized(testing::request("GET", "https://api.test/"))
        .unwrap();
    for status in [200, 403, 500] {
        assert_eq!(decide(&mut plugin, &request, status), Decision::Defer);
    }
    let foreign =
        testing::request("GET", "https://api.test/").with_header("Authorization", "Basic x");
    assert_eq!(decide(&mut plugin, &foreign, 401), Decision::Defer);
    let failure = testing::failure(guest_sdk::AttemptFailureKind::Reset, "reset");
    let decision = plugin.decide_retry(&request, &failure, &testing::attempt(1, 3));
    assert_eq!(decision.unwrap(), Decision::Defer);
}

#[test]
fn an_older_token_refused_after_a_refresh_is_retried() {
    let (mut plugin, _) = setup(&[], 10);
    let old = plugin
        .authorized(testing::request("GET", "https://api.test/a"))
        .unwrap();
    testing::advance(Duration::from_secs(6));
    bearer(&mut plugin);
    assert_eq!(decide(&mut plugin, &old, 401), Decision::RetryAfter(0));
    assert_eq!(
        bearer(&mut plugin),
        "Bearer tok-2",
        "the current token is kept"
    );
}

#[test]
fn endpoint_errors_fail_the_request_with_their_text() {
    let (mut plugin, _) = setup(&[], 3600);
    testing::set_fetch(|_| {
        Ok(testing::fetched(
            401,
            &[],
            r#"{"error":"invalid_client","error_description":"Client authentication failed"}"#,
        ))
    });
    let error = plugin
        .authorized(testing::request("GET", "https://api.test/"))
        .unwrap_err();
    assert_eq!(
        error,
        "token endpoint https://idp.test/oauth/token: answered 401: invalid_client: Client authentication failed"
    );
    testing::set_fetch(|_| Ok(testing::fetched(502, &[], "<html>bad gateway</html>")));
    let error = plugin
        .authorized(testing::request("GET", "https://api.test/"))
        .unwrap_err();
    assert!(
        error.ends_with(r#"answered 502 "<html>bad gateway</html>""#),
        "{error}"
    );
    testing::set_fetch(|_| Err("fetch: host idp.test is not granted".to_owned()));
    let error = plugin
        .authorized(testing::request("GET", "https://api.test/"))
        .unwrap_err();
    assert!(error.contains("not granted"), "{error}");
}

#[test]
fn odd_token_responses_are_refused_or_tolerated() {
    let now = UNIX_EPOCH;
    let answer =
        |body: &str| Token::from_response(&testing::fetched(200, &[], body.to_owned()), now);
    assert!(
        answer(r#"{"access_token":"t","token_type":"mac"}"#)
            .unwrap_err()
            .contains("mac")
    );
    assert!(answer("not json").is_err());
    assert!(answer(r#"{"access_token":"a\r\nb","token_type":"Bearer"}"#).is_err());
    let string_expiry =
        answer(r#"{"access_token":"t","token_type":"Bearer","expires_in":"60"}"#).unwrap();
    assert_eq!(
        string_expiry.expires_at,
        Some(now + Duration::from_secs(60))
    );
    let no_expiry = answer(r#"{"access_token":"t","token_type":"Bearer"}"#).unwrap();
    assert!(!no_expiry.is_stale(now + Duration::from_secs(1 << 40), Duration::from_secs(30)));
}

#[test]
fn configuration_errors_name_the_key() {
    for (pairs, key) in [
        (
            vec![("client-id", "a"), ("client-secret", "b")],
            "token-url",
        ),
        (
            vec![
                ("token-url", "ftp://x/"),
                ("client-id", "a"),
                ("client-secret", "b"),
            ],
            "token-url",
        ),
        (
            vec![("token-url", "https://x/"), ("client-secret", "b")],
            "client-id",
        ),
        (
            vec![("token-url", "https://x/"), ("client-id", "a")],
            "client-secret",
        ),
        (
            vec![
                ("token-url", "https://x/"),
                ("client-id", "a"),
                ("client-secret", "b"),
                ("client-auth", "jwt"),
            ],
            "client-auth",
        ),
        (
            vec![
                ("token-url", "https://x/"),
                ("client-id", "a"),
                ("client-secret", "b"),
                ("refresh-before", "30"),
            ],
            "refresh-before",
        ),
    ] {
        testing::set_config(&pairs);
        let error = testing::run::<OAuth2ClientCredentials>().err().unwrap();
        assert!(error.contains(&format!("`{key}`")), "{key}: {error}");
    }
}

#[test]
fn secrets_never_reach_the_log() {
    let (mut plugin, _) = setup(&[], 3600);
    let request = plugin
        .authorized(testing::request("GET", "https://api.test/"))
        .unwrap();
    decide(&mut plugin, &request, 401);
    let logs = testing::take_logs();
    assert!(logs.iter().any(|(level, _)| *level == Level::Info));
    for (_, message) in logs {
        assert!(
            !message.contains("s3cr") && !message.contains("tok-"),
            "{message}"
        );
    }
}
