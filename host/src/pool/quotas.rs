//! What a server says is left of its rate limit, so that tb-host stops
//! before it is told to.
//!
//! Most APIs send, with every answer, how many requests the client has
//! left until a time: `X-RateLimit-Remaining` and `X-RateLimit-Reset` (the
//! common form, the reset in seconds from now or as a Unix time), the IETF
//! draft's `RateLimit-Remaining` and `RateLimit-Reset`, or its one field
//! `RateLimit: limit=100, remaining=50, reset=5` (or, in later drafts,
//! `RateLimit: "default";r=50;t=5`). From the first such answer on, each
//! request sent to that origin spends one of what is left, and when none
//! is, the origin is paused until the reset (see `pauses`): its jobs wait
//! without holding a worker, instead of being answered 429. A later
//! answer that says less is left than counted wins (other clients spend
//! the same limit), and so does one that says an earlier reset; one after
//! the reset starts the count again.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::Url;
use reqwest::header::HeaderMap;

/// A reset this far from now or more is a Unix time, not seconds.
const UNIX_TIME_FROM: u64 = 1_000_000_000;

/// The quotas of one pool, by origin.
#[derive(Default)]
pub(crate) struct Quotas {
    /// How many origins have a quota: while none has, a request takes no
    /// lock.
    known: AtomicUsize,
    by_origin: Mutex<HashMap<String, Quota>>,
}

/// One origin's quota, as last said and counted since.
struct Quota {
    /// What is left; `None` once the quota is counted again, until an
    /// answer says.
    left: Option<u64>,
    resets: Instant,
    /// Requests sent to the origin since its first answer that said: a
    /// request's number among them tells an answer which requests went
    /// after it, and were not counted in what it says is left.
    sent: u64,
}

/// What a request's turn does to its origin's quota (see
/// [`Quotas::spend`]).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Turn {
    /// It goes; `Some` is its number among the origin's requests, to be
    /// given back with its answer (see [`Quotas::note`]).
    Free(Option<u64>),
    /// It goes, the last the quota allows: the origin is to be paused
    /// after it, until then.
    Last(u64, Instant),
    /// Nothing is left: it waits, and the origin is to be paused until
    /// then.
    Spent(Instant),
}

/// What an answer said: requests left, and the time until they are
/// counted again.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Said {
    pub left: u64,
    pub resets_in: Duration,
}

impl Quotas {
    /// Takes in what an answer from `origin` says of its quota, if it
    /// says anything; `number` is its request's (see [`Turn::Free`]), so
    /// that the requests sent after it are counted off what it says is
    /// left. Returns when the quota is counted again if nothing is left:
    /// the origin is to be paused until then.
    pub fn note(
        &self,
        origin: impl FnOnce() -> String,
        headers: &HeaderMap,
        number: Option<u64>,
    ) -> Option<Instant> {
        let said = said(headers, SystemTime::now())?;
        let now = Instant::now();
        let resets = now + said.resets_in;
        let mut by_origin = self.lock();
        let origin = origin();
        let Some(quota) = by_origin.get_mut(&origin) else {
            by_origin.insert(
                origin,
                Quota {
                    left: Some(said.left),
                    resets,
                    sent: 0,
                },
            );
            self.known.fetch_add(1, Ordering::Release);
            return (said.left == 0).then_some(resets);
        };
        let sent_after = number.map_or(0, |number| quota.sent.saturating_sub(number + 1));
        let left = said.left.saturating_sub(sent_after);
        match quota.left {
            // The same window: the lower count wins (other clients may
            // spend the same limit), and the earlier reset: a reset in
            // whole seconds is rounded up, so the answer that came first
            // in the window says its end best, and none says it early.
            Some(counted) if now < quota.resets => {
                quota.left = Some(counted.min(left));
                quota.resets = quota.resets.min(resets);
            }
            _ => {
                quota.left = Some(left);
                quota.resets = resets;
            }
        }
        (quota.left == Some(0)).then_some(quota.resets)
    }

    /// Spends one request to `url`'s origin, if its quota is known.
    pub fn spend(&self, url: &Url) -> Turn {
        if self.known.load(Ordering::Acquire) == 0 {
            return Turn::Free(None);
        }
        let origin = super::pauses::Pauses::origin(url);
        let now = Instant::now();
        let mut by_origin = self.lock();
        let Some(quota) = by_origin.get_mut(&origin) else {
            return Turn::Free(None);
        };
        if now >= quota.resets {
            quota.left = None;
        }
        let number = quota.sent;
        let turn = match quota.left {
            None => Turn::Free(Some(number)),
            Some(0) => return Turn::Spent(quota.resets),
            Some(1) => Turn::Last(number, quota.resets),
            Some(_) => Turn::Free(Some(number)),
        };
        quota.left = quota.left.map(|left| left - 1);
        quota.sent += 1;
        turn
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Quota>> {
        self.by_origin
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// What `headers` say of the client's quota, if they say both how much is
/// left and when it resets. One pass over the names: an answer that says
/// nothing of a quota (most) costs a prefix test per field.
pub(crate) fn said(headers: &HeaderMap, now: SystemTime) -> Option<Said> {
    // The first of each field, as `HeaderMap::get` would give it.
    let [mut x_left, mut x_reset, mut left, mut reset, mut one] = [None; 5];
    for (name, value) in headers {
        let name = name.as_str();
        if !name.starts_with("x-ratelimit-") && !name.starts_with("ratelimit") {
            continue;
        }
        let slot = match name {
            "x-ratelimit-remaining" => &mut x_left,
            "x-ratelimit-reset" => &mut x_reset,
            "ratelimit-remaining" => &mut left,
            "ratelimit-reset" => &mut reset,
            "ratelimit" => &mut one,
            _ => continue,
        };
        if slot.is_none() {
            *slot = value.to_str().ok();
        }
    }
    let number = |text: Option<&str>| text.and_then(|t| t.trim().parse::<u64>().ok());
    let (left, reset) = match (number(x_left), number(x_reset), number(left), number(reset)) {
        (Some(left), Some(reset), ..) | (_, _, Some(left), Some(reset)) => (left, reset),
        _ => one_field(one?)?,
    };
    let resets_in = if reset >= UNIX_TIME_FROM {
        let at = UNIX_EPOCH + Duration::from_secs(reset);
        at.duration_since(now).unwrap_or_default()
    } else {
        Duration::from_secs(reset)
    };
    Some(Said { left, resets_in })
}

/// `remaining` and `reset` of one `RateLimit` field: `limit=100,
/// remaining=50, reset=5` or `"default";r=50;t=5`.
fn one_field(value: &str) -> Option<(u64, u64)> {
    let mut left = None;
    let mut reset = None;
    for part in value.split([',', ';']) {
        let Some((key, number)) = part.split_once('=') else {
            continue;
        };
        let number = number.trim().parse::<u64>().ok();
        match key.trim() {
            "remaining" | "r" => left = left.or(number),
            "reset" | "t" => reset = reset.or(number),
            _ => {}
        }
    }
    Some((left?, reset?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    fn read(pairs: &[(&'static str, &str)]) -> Option<(u64, u64)> {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        said(&headers(pairs), now).map(|s| (s.left, s.resets_in.as_secs()))
    }

    #[test]
    fn every_common_form_is_read() {
        let x = [("x-ratelimit-remaining", "7"), ("x-ratelimit-reset", "30")];
        assert_eq!(read(&x), Some((7, 30)));
        let unix = [
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1700000042"),
        ];
        assert_eq!(read(&unix), Some((0, 42)), "a Unix time");
        let draft = [("ratelimit-remaining", "5"), ("ratelimit-reset", "2")];
        assert_eq!(read(&draft), Some((5, 2)));
        let one = [("ratelimit", "limit=100, remaining=50, reset=5")];
        assert_eq!(read(&one), Some((50, 5)));
        let structured = [("ratelimit", "\"default\";r=3;t=9")];
        assert_eq!(read(&structured), Some((3, 9)));
    }

    #[test]
    fn half_a_quota_or_nonsense_is_nothing() {
        assert_eq!(read(&[("x-ratelimit-remaining", "7")]), None);
        assert_eq!(read(&[("x-ratelimit-reset", "7")]), None);
        let bad = [("x-ratelimit-remaining", "-1"), ("x-ratelimit-reset", "3")];
        assert_eq!(read(&bad), None);
        assert_eq!(read(&[("ratelimit", "limit=10")]), None);
        assert_eq!(read(&[]), None);
    }

    fn quota(left: &str) -> HeaderMap {
        headers(&[("x-ratelimit-remaining", left), ("x-ratelimit-reset", "5")])
    }

    const ORIGIN: fn() -> String = || "http://api.test:80".to_owned();

    #[test]
    fn each_request_spends_one_and_the_last_one_pauses() {
        let quotas = Quotas::default();
        let url = Url::parse("http://api.test/x").unwrap();
        assert_eq!(
            quotas.spend(&url),
            Turn::Free(None),
            "nothing known: no limit"
        );
        assert_eq!(quotas.note(ORIGIN, &quota("3"), None), None);
        assert_eq!(quotas.spend(&url), Turn::Free(Some(0)));
        quotas.note(ORIGIN, &quota("9"), Some(0));
        assert_eq!(
            quotas.spend(&url),
            Turn::Free(Some(1)),
            "the lower count won"
        );
        let Turn::Last(2, resets) = quotas.spend(&url) else {
            panic!("the last one");
        };
        assert!(resets > Instant::now() + Duration::from_secs(4));
        assert!(matches!(quotas.spend(&url), Turn::Spent(_)));
        let other = Url::parse("https://api.test/x").unwrap();
        assert_eq!(quotas.spend(&other), Turn::Free(None), "another origin");
    }

    #[test]
    fn requests_sent_after_the_one_answered_are_counted_off() {
        let quotas = Quotas::default();
        let url = Url::parse("http://api.test/x").unwrap();
        quotas.note(ORIGIN, &quota("100"), None);
        let numbers: Vec<Turn> = (0..10).map(|_| quotas.spend(&url)).collect();
        assert_eq!(numbers[3], Turn::Free(Some(3)));
        // The answer to request 3 says 20 are left: 6 went after it.
        quotas.note(ORIGIN, &quota("20"), Some(3));
        for _ in 0..13 {
            assert!(matches!(quotas.spend(&url), Turn::Free(_)));
        }
        assert!(matches!(quotas.spend(&url), Turn::Last(..)), "20 - 6 = 14");
    }

    #[test]
    fn an_answer_that_says_none_is_left_pauses_at_once() {
        let quotas = Quotas::default();
        let resets = quotas.note(ORIGIN, &quota("0"), None).expect("none left");
        assert!(resets > Instant::now() + Duration::from_secs(4));
    }
}
