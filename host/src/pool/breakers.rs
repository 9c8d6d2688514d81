//! Circuit breakers: an origin that keeps failing is left alone.
//!
//! After [`crate::PoolBuilder::breaker`] consecutive attempts to one
//! origin (scheme, host, port) that could not connect, ran out of time or
//! got a 5xx, its breaker opens: its jobs are not sent, and wait in the
//! retry scheduler without holding a worker, while other origins go on.
//! After a cool-down (one second, doubling after each failed probe up to
//! half a minute) one job is let through as a probe: an answer below 500
//! closes the breaker, and the jobs waiting go again; a failure opens it
//! for another cool-down. An origin still broken
//! [`crate::PoolBuilder::breaker_give_up`] after its breaker first opened
//! is given up: its remaining jobs fail at once, with kind
//! [`FailureKind::Broken`](crate::FailureKind::Broken), instead of being
//! sent. What broke, and whether it was given up, is kept for the run's
//! summary.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use reqwest::Url;

use super::pauses::{Pauses, Verdict};

/// The first cool-down of an open breaker.
const COOL_DOWN: Duration = Duration::from_secs(1);

/// The longest cool-down, however many probes failed.
const MAX_COOL_DOWN: Duration = Duration::from_secs(30);

/// The breakers of one pool.
pub(crate) struct Breakers {
    /// Consecutive bad attempts that open a breaker; 0: never.
    threshold: u32,
    /// How long an origin may stay broken before its jobs fail.
    give_up: Duration,
    /// How many origins have bad attempts counted or an open breaker:
    /// while none has, a good attempt takes no lock.
    tracked: AtomicUsize,
    /// How many breakers are open: while none is, a job's check takes no
    /// lock.
    open: AtomicUsize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    by_origin: HashMap<String, Breaker>,
    /// Every origin whose breaker opened in this run, in that order.
    seen: Vec<(String, Broken)>,
}

/// One origin's breaker.
struct Breaker {
    /// Bad attempts in a row.
    bad: u32,
    /// What the last bad attempt got, for the message of a job given up.
    last: String,
    open: Option<Open>,
}

/// An open breaker.
struct Open {
    /// When it first opened, since when the origin is broken.
    since: Instant,
    cool_down: Duration,
    /// When the next probe may go.
    probe_at: Instant,
    /// Whether a probe is out.
    probing: bool,
}

/// How one origin's breaker did in a run, for its summary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broken {
    /// How many times it opened.
    pub opened: u32,
    /// Whether the origin was given up, its jobs failed as `broken`.
    pub given_up: bool,
}

impl Breakers {
    /// Breakers that open after `threshold` bad attempts in a row (0:
    /// never) and give an origin up after `give_up`.
    pub fn new(threshold: u32, give_up: Duration) -> Breakers {
        Breakers {
            threshold,
            give_up,
            tracked: AtomicUsize::new(0),
            open: AtomicUsize::new(0),
            state: Mutex::new(State::default()),
        }
    }

    /// Counts an attempt to `url`'s origin: `bad` says what went wrong
    /// (a connect failure, a timeout, a 5xx), `None` that it went well.
    pub fn record(&self, url: &Url, bad: Option<&str>) {
        if self.threshold == 0 || (bad.is_none() && self.tracked.load(Ordering::Acquire) == 0) {
            return;
        }
        let origin = Pauses::origin(url);
        let now = Instant::now();
        let mut guard = self.lock();
        let state = &mut *guard;
        let Some(what) = bad else {
            // A good answer closes the breaker and clears the count.
            if let Some(breaker) = state.by_origin.remove(&origin) {
                self.tracked.fetch_sub(1, Ordering::Release);
                if breaker.open.is_some() {
                    self.open.fetch_sub(1, Ordering::Release);
                    tracing::info!("{origin} answers again: its jobs go on");
                }
            }
            return;
        };
        let breaker = state.by_origin.entry(origin.clone()).or_insert_with(|| {
            self.tracked.fetch_add(1, Ordering::Release);
            Breaker {
                bad: 0,
                last: String::new(),
                open: None,
            }
        });
        breaker.bad += 1;
        breaker.last = what.to_owned();
        let opens = match &mut breaker.open {
            // A probe failed: another cool-down, longer.
            Some(open) => {
                if open.probing {
                    open.probing = false;
                    open.cool_down = (open.cool_down * 2).min(MAX_COOL_DOWN);
                    open.probe_at = now + open.cool_down;
                }
                false
            }
            None if breaker.bad >= self.threshold => {
                breaker.open = Some(Open {
                    since: now,
                    cool_down: COOL_DOWN,
                    probe_at: now + COOL_DOWN,
                    probing: false,
                });
                self.open.fetch_add(1, Ordering::Release);
                true
            }
            None => false,
        };
        let bad = breaker.bad;
        if opens {
            tracing::warn!(
                "{origin} failed {bad} times in a row ({what}): its jobs wait, and one probes it \
                 in {} s",
                COOL_DOWN.as_secs()
            );
            match state.seen.iter_mut().find(|(seen, _)| *seen == origin) {
                Some((_, broken)) => broken.opened += 1,
                None => state.seen.push((
                    origin,
                    Broken {
                        opened: 1,
                        given_up: false,
                    },
                )),
            }
        }
    }

    /// Whether no breaker is open now: then every verdict is
    /// [`Verdict::Go`], and a caller need not parse a URL to ask.
    pub fn is_idle(&self) -> bool {
        self.open.load(Ordering::Acquire) == 0
    }

    /// Whether a job for `url` may be sent now: a probe of a broken
    /// origin is let through, the others wait, or fail once it is given up.
    pub fn verdict(&self, url: &Url) -> Verdict {
        if self.is_idle() {
            return Verdict::Go;
        }
        let origin = Pauses::origin(url);
        let now = Instant::now();
        let mut guard = self.lock();
        let state = &mut *guard;
        let Some(breaker) = state.by_origin.get_mut(&origin) else {
            return Verdict::Go;
        };
        let (bad, last) = (breaker.bad, breaker.last.clone());
        let Some(open) = &mut breaker.open else {
            return Verdict::Go;
        };
        if now >= open.since + self.give_up {
            if let Some((_, broken)) = state.seen.iter_mut().find(|(seen, _)| *seen == origin) {
                broken.given_up = true;
            }
            return Verdict::Refused(format!(
                "not sent: {origin} has failed every attempt for {} s ({bad} in a row, the last: \
                 {last}), longer than --breaker-give-up {} s",
                (now - open.since).as_secs(),
                self.give_up.as_secs()
            ));
        }
        if !open.probing && now >= open.probe_at {
            open.probing = true;
            return Verdict::Go;
        }
        // A probe is out, or is yet to go: look again after a cool-down.
        Verdict::Wait(open.probe_at.max(now + open.cool_down))
    }

    /// The origins whose breaker is open now.
    pub fn open_now(&self) -> Vec<String> {
        if self.open.load(Ordering::Acquire) == 0 {
            return Vec::new();
        }
        let state = self.lock();
        let open = state.by_origin.iter().filter(|(_, b)| b.open.is_some());
        open.map(|(origin, _)| origin.clone()).collect()
    }

    /// Every origin whose breaker opened in this run, in that order.
    pub fn seen(&self) -> Vec<(String, Broken)> {
        self.lock().seen.clone()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn a_breaker_opens_after_the_threshold_and_a_good_answer_closes_it() {
        let breakers = Breakers::new(3, Duration::from_secs(60));
        let dead = url("http://dead.test/a");
        for _ in 0..2 {
            breakers.record(&dead, Some("connect: refused"));
            assert!(matches!(
                breakers.verdict(&url("http://dead.test/b")),
                Verdict::Go
            ));
        }
        breakers.record(&url("http://dead.test/x"), None);
        for _ in 0..2 {
            breakers.record(&dead, Some("connect: refused"));
        }
        assert!(
            matches!(breakers.verdict(&url("http://dead.test/b")), Verdict::Go),
            "a good answer started the count again"
        );
        breakers.record(&dead, Some("status 503"));
        let Verdict::Wait(until) = breakers.verdict(&url("http://dead.test/b")) else {
            panic!("open: the job waits");
        };
        assert!(until >= Instant::now() + Duration::from_millis(900));
        assert!(matches!(
            breakers.verdict(&url("http://alive.test/")),
            Verdict::Go
        ));
        assert!(matches!(
            breakers.verdict(&url("https://dead.test/")),
            Verdict::Go
        ));
        breakers.record(&dead, None);
        assert!(matches!(
            breakers.verdict(&url("http://dead.test/b")),
            Verdict::Go
        ));
        assert_eq!(
            breakers.seen()[0].1,
            Broken {
                opened: 1,
                given_up: false
            }
        );
    }

    #[test]
    fn one_probe_goes_after_the_cool_down_and_a_broken_origin_is_given_up() {
        let breakers = Breakers::new(1, Duration::from_millis(300));
        let dead = url("http://dead.test/");
        breakers.record(&dead, Some("timeout"));
        {
            let mut state = breakers.lock();
            let open = state.by_origin.get_mut("http://dead.test:80").unwrap();
            open.open.as_mut().unwrap().probe_at = Instant::now();
        }
        assert!(
            matches!(breakers.verdict(&url("http://dead.test/1")), Verdict::Go),
            "the probe"
        );
        assert!(matches!(
            breakers.verdict(&url("http://dead.test/2")),
            Verdict::Wait(_)
        ));
        breakers.record(&dead, Some("timeout"));
        std::thread::sleep(Duration::from_millis(320));
        let Verdict::Refused(message) = breakers.verdict(&url("http://dead.test/3")) else {
            panic!("given up");
        };
        assert!(message.contains("--breaker-give-up"), "{message}");
        assert!(message.contains("timeout"), "{message}");
        assert!(breakers.seen()[0].1.given_up);
    }

    #[test]
    fn a_threshold_of_zero_never_opens() {
        let breakers = Breakers::new(0, Duration::from_secs(60));
        for _ in 0..100 {
            breakers.record(&url("http://dead.test/"), Some("connect"));
        }
        assert!(matches!(
            breakers.verdict(&url("http://dead.test/")),
            Verdict::Go
        ));
    }
}
