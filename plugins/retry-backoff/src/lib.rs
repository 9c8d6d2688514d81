//! # retry-backoff
//!
//! A tb-host plugin that retries transient failures with exponential
//! backoff and full jitter, and honours a server's `Retry-After`. It
//! implements only `decide_retry`.
//!
//! An attempt is worth retrying when it got no response because the
//! connection failed, timed out or was reset, or got a response whose
//! status is in `statuses`, and only if the request's method is in
//! `methods` (by default the idempotent ones, which are safe to send
//! twice). Anything else is left to the next plugin (`defer`).
//!
//! A retryable attempt is retried unless it was the last allowed: the
//! plugin's `max-attempts` or the host's `--max-attempts`, whichever is
//! lower, counting the first attempt. Then the job is done (`done`).
//!
//! The wait before the next attempt is the response's `Retry-After`
//! (seconds or an HTTP date), which is never shortened, or else a random
//! time between 0 and `min(max-ms, base-ms * 2^(attempt - 1))`.
//!
//! A 429 or 503 with `Retry-After` is the server asking the client, not
//! one request, to wait: the plugin answers `pause-origin`, so that no
//! worker sends to that origin until then, while other origins go on
//! (`pause-origin=false` retries only the one job, as `retry-after`).
//!
//! Retries across the whole run are limited by a retry budget shared by
//! every worker (see `guest_sdk::budget`): it holds `budget-tokens`
//! retries and earns `budget-ratio` of a retry back for every job that
//! ends, so once a burst has spent it, retries stay at about that share of
//! the jobs, and a server that fails everything is not sent every job
//! `max-attempts` times. A retry that does not fit is `done`.
//!
//! Some APIs say "try again" in a body with status 200. With `body-contains`
//! set, a response of any status whose first `body-prefix` bytes contain
//! that text is retried too.
//!
//! | config key | default | meaning |
//! | --- | --- | --- |
//! | `statuses` | `429,502,503,504` | response statuses to retry |
//! | `methods` | `GET,HEAD,OPTIONS,PUT,DELETE,TRACE` | methods to retry |
//! | `max-attempts` | `4` | most attempts per job, the first included |
//! | `base-ms` | `100` | backoff before the second attempt, at most |
//! | `max-ms` | `10000` | longest backoff (not applied to `Retry-After`) |
//! | `budget-tokens` | `100` | retries the budget holds; `0` turns it off |
//! | `budget-ratio` | `0.2` | retries earned back per job that ends, 0 to 1 |
//! | `body-contains` | none | retry responses whose body starts with text containing this |
//! | `body-prefix` | `1024` | how many leading body bytes `body-contains` searches |
//! | `pause-origin` | `true` | whether a 429 or 503 with `Retry-After` pauses its whole origin |
//!
//! Other config keys are ignored.

use guest_sdk::backoff::{Backoff, Jitter, retry_after_ms};
use guest_sdk::{
    Attempt, AttemptFailureKind, Decision, Outcome, Plugin, Request, RetryBudget, RetryInterest,
    budget, config, headers, log, time,
};

/// Statuses retried unless `statuses` says otherwise.
const DEFAULT_STATUSES: [u16; 4] = [429, 502, 503, 504];

/// Methods retried unless `methods` says otherwise: the idempotent ones.
const IDEMPOTENT_METHODS: [&str; 6] = ["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"];

/// The retry policy, as configured.
struct RetryBackoff {
    /// Response statuses worth retrying.
    statuses: Vec<u16>,
    /// Request methods that may be retried, upper case.
    methods: Vec<String>,
    /// Most attempts per job, the first included; at least 1.
    max_attempts: u32,
    /// Longest backoff before the second attempt, in milliseconds.
    base_ms: u64,
    /// Longest backoff, in milliseconds.
    max_ms: u64,
    /// The run-wide retry budget, if on.
    budget: Option<RetryBudget>,
    /// Text in the start of a body that asks for a retry.
    body_contains: Option<Vec<u8>>,
    /// How many leading body bytes `body_contains` searches.
    body_prefix: u32,
    /// Whether a 429 or 503 with `Retry-After` pauses the whole origin.
    pause_origin: bool,
}

impl Default for RetryBackoff {
    fn default() -> Self {
        RetryBackoff {
            statuses: DEFAULT_STATUSES.to_vec(),
            methods: IDEMPOTENT_METHODS.map(str::to_owned).to_vec(),
            max_attempts: 4,
            base_ms: 100,
            max_ms: 10_000,
            budget: Some(RetryBudget {
                capacity: 100,
                refill: 200,
            }),
            body_contains: None,
            body_prefix: 1024,
            pause_origin: true,
        }
    }
}

#[guest_sdk::plugin]
impl Plugin for RetryBackoff {
    fn configure(&mut self) -> Result<(), String> {
        if let Some(statuses) = config::list("statuses") {
            self.statuses = statuses
                .iter()
                .map(|status| parse_status(status))
                .collect::<Result<_, _>>()?;
        }
        if let Some(methods) = config::list("methods") {
            self.methods = methods
                .iter()
                .map(|method| parse_method(method))
                .collect::<Result<_, _>>()?;
        }
        if let Some(max_attempts) = config::parse::<u32>("max-attempts")? {
            if max_attempts == 0 {
                return Err(config::invalid("max-attempts", "0", "must be at least 1"));
            }
            self.max_attempts = max_attempts;
        }
        if let Some(base_ms) = config::parse("base-ms")? {
            self.base_ms = base_ms;
        }
        if let Some(max_ms) = config::parse("max-ms")? {
            self.max_ms = max_ms;
        }
        self.configure_budget()?;
        if let Some(text) = config::get("body-contains").filter(|text| !text.is_empty()) {
            self.body_contains = Some(text.into_bytes());
        }
        if let Some(pause_origin) = config::parse::<bool>("pause-origin")? {
            self.pause_origin = pause_origin;
        }
        if let Some(prefix) = config::parse::<u32>("body-prefix")? {
            if !(1..=65536).contains(&prefix) {
                let value = prefix.to_string();
                return Err(config::invalid("body-prefix", &value, "must be 1 to 65536"));
            }
            self.body_prefix = prefix;
        }
        Ok(())
    }

    fn retry_interest(&self) -> RetryInterest {
        match self.body_contains {
            // Any status may carry the text: every response is looked at.
            Some(_) => RetryInterest {
                statuses: Vec::new(),
                body_prefix: self.body_prefix,
                budget: self.budget,
            },
            None => RetryInterest {
                statuses: self
                    .statuses
                    .iter()
                    .map(|&status| (status, status))
                    .collect(),
                body_prefix: 0,
                budget: self.budget,
            },
        }
    }

    fn decide_retry(
        &mut self,
        request: &Request,
        outcome: &Outcome,
        attempt: &Attempt,
    ) -> Result<Decision, String> {
        if !self.is_retryable(request, outcome) {
            return Ok(Decision::Defer);
        }
        let limit = self.max_attempts.min(attempt.max_attempts);
        if attempt.number >= limit {
            log::debug(&format!(
                "attempt {} of {limit} ended with {}: giving up",
                attempt.number,
                how_it_ended(outcome)
            ));
            return Ok(Decision::Done);
        }
        let asked_ms = outcome
            .header("Retry-After")
            .and_then(|value| retry_after_ms(&value, time::now()));
        let wait_ms = asked_ms.unwrap_or_else(|| self.backoff_ms(attempt.number));
        if !budget::spend() {
            log::debug(&format!(
                "attempt {} of {limit} ended with {}: the retry budget is spent, giving up",
                attempt.number,
                how_it_ended(outcome)
            ));
            return Ok(Decision::Done);
        }
        let pauses =
            self.pause_origin && asked_ms.is_some() && matches!(outcome.status(), Some(429 | 503));
        log::debug(&format!(
            "attempt {} of {limit} ended with {}: retrying in {wait_ms} ms{}",
            attempt.number,
            how_it_ended(outcome),
            if pauses { ", the origin paused" } else { "" }
        ));
        Ok(if pauses {
            Decision::PauseOrigin(wait_ms)
        } else {
            Decision::RetryAfter(wait_ms)
        })
    }
}

impl RetryBackoff {
    /// Reads `budget-tokens` and `budget-ratio`.
    fn configure_budget(&mut self) -> Result<(), String> {
        let ratio = config::parse::<f64>("budget-ratio")?;
        if let Some(ratio) = ratio
            && !(0.0..=1.0).contains(&ratio)
        {
            let value = ratio.to_string();
            return Err(config::invalid(
                "budget-ratio",
                &value,
                "must be from 0 to 1",
            ));
        }
        let tokens = config::parse::<u32>("budget-tokens")?;
        self.budget = match (tokens, self.budget) {
            (Some(0), _) | (_, None) => None,
            (tokens, Some(default)) => Some(RetryBudget {
                capacity: tokens.unwrap_or(default.capacity),
                refill: ratio.map_or(default.refill, |ratio| (ratio * 1000.0).round() as u32),
            }),
        };
        Ok(())
    }

    /// Whether the attempt failed in a way worth sending `request` again.
    fn is_retryable(&self, request: &Request, outcome: &Outcome) -> bool {
        let method_allowed = self
            .methods
            .iter()
            .any(|method| method.eq_ignore_ascii_case(&request.method()));
        let transient = match (outcome.status(), outcome.failure()) {
            (Some(status), _) => self.statuses.contains(&status) || self.asks_in_body(outcome),
            (None, Some(failure)) => matches!(
                failure.kind,
                AttemptFailureKind::Connect
                    | AttemptFailureKind::Timeout
                    | AttemptFailureKind::Reset
            ),
            (None, None) => false,
        };
        method_allowed && transient
    }

    /// Whether the start of the body holds the `body-contains` text.
    fn asks_in_body(&self, outcome: &Outcome) -> bool {
        self.body_contains.as_ref().is_some_and(|text| {
            outcome
                .body_prefix()
                .windows(text.len())
                .any(|window| window == text.as_slice())
        })
    }

    /// Full-jitter exponential backoff after attempt `number` (from 1): a
    /// random wait in `0..=min(max_ms, base_ms * 2^(number - 1))`.
    fn backoff_ms(&self, number: u32) -> u64 {
        let backoff = Backoff {
            base_ms: self.base_ms,
            max_ms: self.max_ms,
            jitter: Jitter::Full,
        };
        backoff.delay_ms(number)
    }
}

/// One item of `statuses`: a status code from 100 to 999.
fn parse_status(item: &str) -> Result<u16, String> {
    match item.parse::<u16>() {
        Ok(status) if (100..=999).contains(&status) => Ok(status),
        _ => Err(config::invalid(
            "statuses",
            item,
            "expected status codes from 100 to 999, separated by commas",
        )),
    }
}

/// One item of `methods`: an HTTP method, upper-cased.
fn parse_method(item: &str) -> Result<String, String> {
    if headers::is_valid_name(item) {
        Ok(item.to_ascii_uppercase())
    } else {
        Err(config::invalid(
            "methods",
            item,
            "expected HTTP methods such as GET, separated by commas",
        ))
    }
}

/// How an attempt ended, for the log.
fn how_it_ended(outcome: &Outcome) -> String {
    match (outcome.status(), outcome.failure()) {
        (Some(status), _) => format!("status {status}"),
        (None, Some(failure)) => format!("{:?} failure", failure.kind),
        (None, None) => "no outcome".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;
    use guest_sdk::{HookSet, testing};

    /// The plugin configured with `pairs`.
    fn configured(pairs: &[(&str, &str)]) -> testing::Instance<RetryBackoff> {
        testing::set_config(pairs);
        testing::run::<RetryBackoff>().unwrap()
    }

    /// The configuration error for `pairs`.
    fn refused(pairs: &[(&str, &str)]) -> String {
        testing::set_config(pairs);
        testing::run::<RetryBackoff>().err().unwrap()
    }

    /// What `plugin` decides after attempt `number` (of at most 100 by the
    /// host) of `GET /` ended with `outcome`.
    fn decide(
        plugin: &mut testing::Instance<RetryBackoff>,
        outcome: &testing::TestOutcome,
        number: u32,
    ) -> Decision {
        let request = testing::request("GET", "http://api.test/");
        plugin
            .decide_retry(&request, outcome, &testing::attempt(number, 100))
            .unwrap()
    }

    /// The wait of a `RetryAfter` or `PauseOrigin` decision.
    fn wait_ms(decision: Decision) -> u64 {
        match decision {
            Decision::RetryAfter(ms) | Decision::PauseOrigin(ms) => ms,
            other => panic!("expected a retry, got {other:?}"),
        }
    }

    #[test]
    fn only_decide_retry_is_a_hook() {
        testing::set_config(&[]);
        let info = testing::describe::<RetryBackoff>().unwrap();
        assert_eq!(info.name, "retry-backoff");
        assert_eq!(info.hooks, HookSet::DECIDE_RETRY);
    }

    #[test]
    fn it_asks_only_about_its_statuses_and_keeps_a_budget() {
        testing::set_config(&[("statuses", "429,503")]);
        let info = testing::describe::<RetryBackoff>().unwrap();
        assert_eq!(info.retry_statuses, [(429, 429), (503, 503)]);
        assert_eq!(info.body_prefix, 0);
        assert_eq!(
            info.retry_budget,
            Some(RetryBudget {
                capacity: 100,
                refill: 200
            })
        );
        testing::set_config(&[("budget-tokens", "0")]);
        assert_eq!(
            testing::describe::<RetryBackoff>().unwrap().retry_budget,
            None
        );
        testing::set_config(&[("budget-tokens", "5"), ("budget-ratio", "0.05")]);
        let budget = testing::describe::<RetryBackoff>().unwrap().retry_budget;
        assert_eq!(
            budget,
            Some(RetryBudget {
                capacity: 5,
                refill: 50
            })
        );
    }

    #[test]
    fn a_spent_budget_ends_retries_until_jobs_refill_it() {
        let mut plugin = configured(&[("budget-tokens", "2"), ("budget-ratio", "0.5")]);
        let unavailable = testing::response(503, &[]);
        assert!(matches!(
            decide(&mut plugin, &unavailable, 1),
            Decision::RetryAfter(_)
        ));
        assert!(matches!(
            decide(&mut plugin, &unavailable, 1),
            Decision::RetryAfter(_)
        ));
        assert_eq!(
            decide(&mut plugin, &unavailable, 1),
            Decision::Done,
            "spent"
        );
        testing::job_ended();
        testing::job_ended();
        assert!(matches!(
            decide(&mut plugin, &unavailable, 1),
            Decision::RetryAfter(_)
        ));
    }

    #[test]
    fn body_text_asks_for_a_retry_whatever_the_status() {
        let mut plugin = configured(&[("body-contains", "slow down"), ("body-prefix", "64")]);
        let interest = plugin.retry_interest();
        assert!(interest.statuses.is_empty(), "every response is looked at");
        assert_eq!(interest.body_prefix, 64);
        let throttled = testing::response_with_body(200, &[], br#"{"error":"slow down"}"#);
        assert!(matches!(
            decide(&mut plugin, &throttled, 1),
            Decision::RetryAfter(_)
        ));
        let fine = testing::response_with_body(200, &[], br#"{"items":[]}"#);
        assert_eq!(decide(&mut plugin, &fine, 1), Decision::Defer);
        assert!(refused(&[("body-prefix", "0")]).contains("body-prefix"));
        assert!(refused(&[("budget-ratio", "2")]).contains("budget-ratio"));
    }

    #[test]
    fn unknown_config_keys_are_ignored() {
        let plugin = configured(&[("token", "t"), ("header.X-A", "1"), ("max-ms", "20")]);
        assert_eq!(plugin.max_ms, 20);
        assert_eq!(plugin.statuses, DEFAULT_STATUSES);
    }

    #[test]
    fn transient_failures_are_retried() {
        let mut plugin = configured(&[]);
        for kind in [
            AttemptFailureKind::Connect,
            AttemptFailureKind::Timeout,
            AttemptFailureKind::Reset,
        ] {
            let outcome = testing::failure(kind, "oops");
            assert!(wait_ms(decide(&mut plugin, &outcome, 1)) <= 100);
        }
    }

    #[test]
    fn other_failures_and_statuses_defer() {
        let mut plugin = configured(&[]);
        for kind in [
            AttemptFailureKind::Tls,
            AttemptFailureKind::Redirect,
            AttemptFailureKind::Body,
            AttemptFailureKind::Other,
        ] {
            let outcome = testing::failure(kind, "oops");
            assert_eq!(decide(&mut plugin, &outcome, 1), Decision::Defer);
        }
        for status in [200, 404, 500, 501] {
            let outcome = testing::response(status, &[]);
            assert_eq!(decide(&mut plugin, &outcome, 1), Decision::Defer);
        }
        for status in DEFAULT_STATUSES {
            let outcome = testing::response(status, &[]);
            assert!(matches!(
                decide(&mut plugin, &outcome, 1),
                Decision::RetryAfter(_)
            ));
        }
    }

    #[test]
    fn statuses_override_the_default() {
        let mut plugin = configured(&[("statuses", "500, 503")]);
        let retried = |plugin: &mut testing::Instance<RetryBackoff>, status| {
            matches!(
                decide(plugin, &testing::response(status, &[]), 1),
                Decision::RetryAfter(_)
            )
        };
        assert!(retried(&mut plugin, 500));
        assert!(retried(&mut plugin, 503));
        assert!(!retried(&mut plugin, 429));
        assert!(!retried(&mut plugin, 502));
    }

    #[test]
    fn post_defers_unless_methods_lists_it() {
        let outcome = testing::response(503, &[]);
        let post = testing::request("POST", "http://api.test/");
        let attempt = testing::attempt(1, 10);
        let mut plugin = configured(&[]);
        assert_eq!(
            plugin.decide_retry(&post, &outcome, &attempt).unwrap(),
            Decision::Defer
        );
        let mut plugin = configured(&[("methods", "get,POST")]);
        assert!(matches!(
            plugin.decide_retry(&post, &outcome, &attempt).unwrap(),
            Decision::RetryAfter(_)
        ));
        let put = testing::request("PUT", "http://api.test/");
        assert_eq!(
            plugin.decide_retry(&put, &outcome, &attempt).unwrap(),
            Decision::Defer
        );
        assert!(matches!(
            decide(&mut plugin, &outcome, 1),
            Decision::RetryAfter(_)
        ));
    }

    #[test]
    fn exhausted_attempts_are_done() {
        let mut plugin = configured(&[("max-attempts", "3")]);
        let outcome = testing::failure(AttemptFailureKind::Reset, "reset");
        assert!(matches!(
            decide(&mut plugin, &outcome, 2),
            Decision::RetryAfter(_)
        ));
        assert_eq!(decide(&mut plugin, &outcome, 3), Decision::Done);
        assert_eq!(decide(&mut plugin, &outcome, 4), Decision::Done);
        let success = testing::response(200, &[]);
        assert_eq!(decide(&mut plugin, &success, 3), Decision::Defer);
    }

    #[test]
    fn default_max_attempts_is_four() {
        let mut plugin = configured(&[]);
        let outcome = testing::response(503, &[]);
        assert!(matches!(
            decide(&mut plugin, &outcome, 3),
            Decision::RetryAfter(_)
        ));
        assert_eq!(decide(&mut plugin, &outcome, 4), Decision::Done);
    }

    #[test]
    fn the_hosts_cap_wins() {
        let mut plugin = configured(&[("max-attempts", "50")]);
        let request = testing::request("GET", "http://api.test/");
        let outcome = testing::response(503, &[]);
        let decision = plugin
            .decide_retry(&request, &outcome, &testing::attempt(2, 2))
            .unwrap();
        assert_eq!(decision, Decision::Done);
        let decision = plugin
            .decide_retry(&request, &outcome, &testing::attempt(1, 2))
            .unwrap();
        assert!(matches!(decision, Decision::RetryAfter(_)));
    }

    #[test]
    fn jitter_stays_within_the_exponential_ceiling() {
        let mut plugin = configured(&[
            ("base-ms", "100"),
            ("max-ms", "1000"),
            ("max-attempts", "20"),
            ("budget-tokens", "0"),
        ]);
        let outcome = testing::failure(AttemptFailureKind::Timeout, "slow");
        for (number, ceiling) in [
            (1, 100),
            (2, 200),
            (3, 400),
            (4, 800),
            (5, 1000),
            (12, 1000),
        ] {
            let waits: Vec<u64> = (0..300)
                .map(|_| wait_ms(decide(&mut plugin, &outcome, number)))
                .collect();
            assert!(
                waits.iter().all(|&wait| wait <= ceiling),
                "{number}: {waits:?}"
            );
            let top = *waits.iter().max().unwrap();
            assert!(
                top > ceiling / 2,
                "attempt {number}: jitter should spread, max {top}"
            );
            let bottom = *waits.iter().min().unwrap();
            assert!(
                bottom < ceiling / 2,
                "attempt {number}: full jitter reaches low, min {bottom}"
            );
        }
    }

    #[test]
    fn huge_attempt_numbers_do_not_overflow() {
        let plugin = configured(&[("base-ms", "18446744073709551615")]);
        assert!(plugin.backoff_ms(u32::MAX) <= plugin.max_ms);
        assert!(plugin.backoff_ms(64) <= plugin.max_ms);
    }

    #[test]
    fn retry_after_seconds_is_used_not_capped_and_pauses_the_origin() {
        let mut plugin = configured(&[("max-ms", "20")]);
        let outcome = testing::response(429, &[("retry-after", " 120 ")]);
        assert_eq!(
            decide(&mut plugin, &outcome, 1),
            Decision::PauseOrigin(120_000)
        );
        let outcome = testing::response(503, &[("Retry-After", "0")]);
        assert_eq!(decide(&mut plugin, &outcome, 1), Decision::PauseOrigin(0));
    }

    #[test]
    fn only_a_429_or_503_with_retry_after_pauses_and_only_if_asked_to() {
        let mut plugin = configured(&[("statuses", "429,502,503")]);
        let asked = [("Retry-After", "3")];
        let outcome = testing::response(502, &asked);
        assert_eq!(decide(&mut plugin, &outcome, 1), Decision::RetryAfter(3000));
        let outcome = testing::response(429, &[]);
        assert!(matches!(
            decide(&mut plugin, &outcome, 1),
            Decision::RetryAfter(_)
        ));
        let mut one_job = configured(&[("pause-origin", "false")]);
        let outcome = testing::response(429, &asked);
        assert_eq!(
            decide(&mut one_job, &outcome, 1),
            Decision::RetryAfter(3000)
        );
        assert!(refused(&[("pause-origin", "sometimes")]).contains("`pause-origin`"));
    }

    #[test]
    fn retry_after_date_counts_from_now() {
        let mut plugin = configured(&[("max-ms", "20")]);
        let date = time::http_date(SystemTime::now() + Duration::from_secs(30));
        let outcome = testing::response(503, &[("Retry-After", &date)]);
        let wait = wait_ms(decide(&mut plugin, &outcome, 1));
        assert!((28_000..=30_000).contains(&wait), "{wait}");
    }

    #[test]
    fn unreadable_retry_after_falls_back_to_backoff() {
        let mut plugin = configured(&[("base-ms", "10")]);
        let outcome = testing::response(503, &[("Retry-After", "later")]);
        assert!(wait_ms(decide(&mut plugin, &outcome, 1)) <= 10);
    }

    #[test]
    fn invalid_values_are_refused_by_key_and_value() {
        for (key, value) in [
            ("max-attempts", "0"),
            ("max-attempts", "many"),
            ("base-ms", "-1"),
            ("max-ms", "1.5"),
            ("statuses", "503,abc"),
            ("statuses", "99"),
            ("methods", "GET,B@D"),
        ] {
            let error = refused(&[(key, value)]);
            assert!(error.contains(&format!("`{key}`")), "{error}");
            let item = value.rsplit(',').next().unwrap();
            assert!(error.contains(item), "{error} names {item}");
        }
    }

    #[test]
    fn decisions_are_logged_at_debug() {
        let mut plugin = configured(&[]);
        testing::take_logs();
        decide(
            &mut plugin,
            &testing::response(503, &[("Retry-After", "2")]),
            1,
        );
        decide(&mut plugin, &testing::response(503, &[]), 4);
        let messages: Vec<String> = testing::take_logs()
            .into_iter()
            .map(|(level, message)| {
                assert_eq!(level, guest_sdk::Level::Debug);
                message
            })
            .collect();
        assert_eq!(
            messages,
            [
                "attempt 1 of 4 ended with status 503: retrying in 2000 ms, the origin paused",
                "attempt 4 of 4 ended with status 503: giving up",
            ]
        );
    }
}
