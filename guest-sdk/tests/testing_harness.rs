//! `guest_sdk::testing` calls `decide_retry` as the host does: only about
//! the statuses the plugin asked about (and every attempt without a
//! response), and with the body cut to the prefix it declared, none by
//! default. A test that passes here then passes against the real host.

use guest_sdk::testing::TestOutcome;
use guest_sdk::{
    Attempt, AttemptFailureKind, Decision, Outcome, Plugin, Request, RetryInterest, config, testing,
};

/// Remembers every outcome its `decide_retry` was shown, and defers. Asks
/// about the statuses and body prefix its configuration names, and by
/// default about every status with no body, as a plugin that declares
/// nothing does.
#[derive(Default)]
struct Recorder {
    interest: RetryInterest,
    /// The body prefix of each response shown; `None` for a failure.
    shown: Vec<Option<Vec<u8>>>,
}

#[guest_sdk::plugin]
impl Plugin for Recorder {
    fn configure(&mut self) -> Result<(), String> {
        if let Some(status) = config::parse::<u16>("status")? {
            self.interest.statuses = vec![(status, status)];
        }
        self.interest.body_prefix = config::get_or("body-prefix", 0)?;
        Ok(())
    }

    fn decide_retry(
        &mut self,
        _request: &Request,
        outcome: &Outcome,
        _attempt: &Attempt,
    ) -> Result<Decision, String> {
        let prefix = outcome.status().map(|_| outcome.body_prefix());
        self.shown.push(prefix);
        Ok(Decision::Defer)
    }

    fn retry_interest(&self) -> RetryInterest {
        self.interest.clone()
    }
}

/// Retries any response whose body says "busy", and declares no interest
/// at all: it never sees a body, so it never retries one.
#[derive(Default)]
struct ForgotThePrefix;

#[guest_sdk::plugin]
impl Plugin for ForgotThePrefix {
    fn decide_retry(
        &mut self,
        _: &Request,
        outcome: &Outcome,
        _: &Attempt,
    ) -> Result<Decision, String> {
        Ok(if outcome.body_prefix().starts_with(b"busy") {
            Decision::RetryAfter(10)
        } else {
            Decision::Defer
        })
    }
}

/// The body each outcome `plugin` was shown had, as text.
fn bodies(plugin: &Recorder) -> Vec<String> {
    plugin
        .shown
        .iter()
        .map(|prefix| match prefix {
            Some(prefix) => String::from_utf8_lossy(prefix).into(),
            None => "(failure)".to_owned(),
        })
        .collect()
}

/// What `plugin` decides after the first of three attempts ended with
/// `outcome`.
fn decide<T: Plugin>(plugin: &mut testing::Instance<T>, outcome: &TestOutcome) -> Decision {
    let request = testing::request("GET", "http://api.test/");
    plugin
        .decide_retry(&request, outcome, &testing::attempt(1, 3))
        .unwrap()
}

#[test]
fn a_plugin_that_declared_no_prefix_sees_an_empty_body() {
    testing::set_config(&[]);
    let mut plugin = testing::run::<Recorder>().unwrap();
    decide(&mut plugin, &testing::response_with_body(503, &[], "busy"));
    assert_eq!(bodies(&plugin), [""]);
}

#[test]
fn a_test_of_a_body_the_plugin_never_asked_for_fails_as_the_host_would() {
    testing::set_config(&[]);
    let mut plugin = testing::run::<ForgotThePrefix>().unwrap();
    let busy = testing::response_with_body(503, &[], "busy, try later");
    assert_eq!(
        decide(&mut plugin, &busy,),
        Decision::Defer,
        "the host shows it no body, so it cannot see `busy`"
    );
}

#[test]
fn the_body_is_cut_to_the_declared_prefix() {
    testing::set_config(&[("body-prefix", "4")]);
    let mut plugin = testing::run::<Recorder>().unwrap();
    decide(
        &mut plugin,
        &testing::response_with_body(503, &[], "busy, try later"),
    );
    decide(&mut plugin, &testing::response_with_body(503, &[], "no"));
    assert_eq!(bodies(&plugin), ["busy", "no"]);
}

#[test]
fn only_the_declared_statuses_are_asked_about_and_every_failure() {
    testing::set_config(&[("status", "429")]);
    let mut plugin = testing::run::<Recorder>().unwrap();
    assert!(plugin.asks_about(Some(429)) && plugin.asks_about(None));
    assert!(!plugin.asks_about(Some(503)));
    assert_eq!(
        decide(&mut plugin, &testing::response(503, &[])),
        Decision::Defer
    );
    decide(&mut plugin, &testing::response(429, &[]));
    decide(
        &mut plugin,
        &testing::failure(AttemptFailureKind::Reset, "reset"),
    );
    assert_eq!(bodies(&plugin), ["", "(failure)"], "the 503 was not shown");
}

#[test]
fn no_declared_statuses_means_every_response_is_asked_about() {
    testing::set_config(&[]);
    let mut plugin = testing::run::<Recorder>().unwrap();
    for status in [200, 404, 503] {
        decide(&mut plugin, &testing::response(status, &[]));
    }
    assert_eq!(plugin.shown.len(), 3);
}

#[test]
fn a_prefix_larger_than_the_host_gives_is_refused() {
    let most = testing::BODY_PREFIX_MAX.to_string();
    testing::set_config(&[("body-prefix", &most)]);
    assert!(testing::run::<Recorder>().is_ok());
    let more = (testing::BODY_PREFIX_MAX + 1).to_string();
    testing::set_config(&[("body-prefix", &more)]);
    let error = testing::run::<Recorder>().err().unwrap();
    assert!(error.contains("65537 bytes of body prefix"), "{error}");
}
