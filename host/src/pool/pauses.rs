//! Origins a server asked to leave alone for a while.
//!
//! A retry policy that answers `pause-origin` (a 429 or 503 with
//! `Retry-After`: the server asks the client, not one request, to wait)
//! pauses the job's origin, its scheme, host and port: until the time has
//! passed, no worker sends to it, and its jobs wait in the retry scheduler
//! without holding a worker, while other origins go on. A pause longer
//! than the pool's most ([`crate::PoolBuilder::max_pause`]) is not waited
//! for: until it has passed, the origin's jobs fail at once, with kind
//! [`FailureKind::Paused`](crate::FailureKind::Paused), instead of filling
//! the scheduler for hours. What was paused, how often and for how long,
//! is kept for the run's summary.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use reqwest::Url;

/// The pauses of one pool.
pub(crate) struct Pauses {
    /// The longest pause waited for.
    max: Duration,
    /// How many origins are paused now: when none is, a job's check takes
    /// no lock and computes no origin.
    active: AtomicUsize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The origins paused now, and until when.
    now: HashMap<String, Pause>,
    /// Every origin paused in this run, in the order of its first pause.
    seen: Vec<(String, Paused)>,
}

/// One origin's pause in force.
struct Pause {
    until: Instant,
    /// Longer than the most waited for: jobs fail rather than wait.
    refused: bool,
    /// What the server asked for, as said in a refused job's message.
    asked: Duration,
}

/// How one origin was paused in a run, for its summary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paused {
    /// How many times it was paused.
    pub times: u32,
    /// The time its pauses covered, overlaps counted once.
    pub total: Duration,
    /// Whether a pause was longer than the most waited for, so that jobs
    /// failed as `paused`.
    pub refused: bool,
}

/// Whether a job for an origin may be sent now.
pub(crate) enum Verdict {
    /// It may.
    Go,
    /// Not before this instant.
    Wait(Instant),
    /// Not in this run's patience: the message its job fails with.
    Refused(String),
}

impl Pauses {
    /// Pauses of at most `max` are waited for.
    pub fn new(max: Duration) -> Pauses {
        Pauses {
            max,
            active: AtomicUsize::new(0),
            state: Mutex::new(State::default()),
        }
    }

    /// The origin of `url` as pauses are kept: `scheme://host:port`.
    pub fn origin(url: &Url) -> String {
        format!(
            "{}://{}:{}",
            url.scheme(),
            url.host_str().unwrap_or(""),
            url.port_or_known_default().unwrap_or(0)
        )
    }

    /// Pauses `origin` for `wait` from now (a later end of a pause in
    /// force stays). Returns whether the pause is waited for: false when
    /// it is longer than the most, and the origin's jobs fail instead.
    pub fn pause(&self, origin: String, wait: Duration) -> bool {
        let refused = wait > self.max;
        let until = Instant::now() + wait;
        let mut state = self.lock();
        let added = match state.now.get_mut(&origin) {
            Some(pause) => {
                let gained = until.saturating_duration_since(pause.until);
                if until > pause.until {
                    pause.until = until;
                    pause.asked = wait;
                }
                pause.refused |= refused;
                gained
            }
            None => {
                state.now.insert(
                    origin.clone(),
                    Pause {
                        until,
                        refused,
                        asked: wait,
                    },
                );
                self.active.fetch_add(1, Ordering::Release);
                wait
            }
        };
        let seen = match state.seen.iter_mut().find(|(seen, _)| *seen == origin) {
            Some((_, seen)) => seen,
            None => {
                let first = Paused {
                    times: 0,
                    total: Duration::ZERO,
                    refused: false,
                };
                state.seen.push((origin, first));
                &mut state.seen.last_mut().expect("just pushed").1
            }
        };
        seen.times += 1;
        seen.total += added;
        seen.refused |= refused;
        !refused
    }

    /// Whether no origin is paused now: then every verdict is
    /// [`Verdict::Go`], and a caller need not parse a URL to ask.
    pub fn is_idle(&self) -> bool {
        self.active.load(Ordering::Acquire) == 0
    }

    /// Whether a request to `url` may be sent now.
    pub fn verdict(&self, url: &Url) -> Verdict {
        if self.is_idle() {
            return Verdict::Go;
        }
        let origin = Pauses::origin(url);
        let now = Instant::now();
        let mut state = self.lock();
        let Some(pause) = state.now.get(&origin) else {
            return Verdict::Go;
        };
        if pause.until <= now {
            state.now.remove(&origin);
            self.active.fetch_sub(1, Ordering::Release);
            return Verdict::Go;
        }
        if !pause.refused {
            return Verdict::Wait(pause.until);
        }
        Verdict::Refused(format!(
            "not sent: {origin} asked for a pause of {} s (its Retry-After or rate limit), longer \
             than the {} s waited for at most (--max-pause); {} s of it are left",
            pause.asked.as_secs(),
            self.max.as_secs(),
            (pause.until - now).as_secs().max(1)
        ))
    }

    /// The origins paused now.
    pub fn in_force(&self) -> Vec<String> {
        if self.active.load(Ordering::Acquire) == 0 {
            return Vec::new();
        }
        let now = Instant::now();
        let state = self.lock();
        let paused = state.now.iter().filter(|(_, pause)| pause.until > now);
        paused.map(|(origin, _)| origin.clone()).collect()
    }

    /// Every origin paused in this run, in the order of its first pause.
    pub fn seen(&self) -> Vec<(String, Paused)> {
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
    fn a_paused_origin_waits_and_others_go() {
        let pauses = Pauses::new(Duration::from_secs(600));
        assert!(matches!(
            pauses.verdict(&url("http://a.test/")),
            Verdict::Go
        ));
        assert!(pauses.pause(
            Pauses::origin(&url("http://a.test/x")),
            Duration::from_secs(2)
        ));
        let Verdict::Wait(until) = pauses.verdict(&url("http://a.test:80/y?z")) else {
            panic!("the same origin waits");
        };
        assert!(until > Instant::now() + Duration::from_secs(1));
        for other in ["https://a.test/", "http://a.test:8080/", "http://b.test/"] {
            assert!(
                matches!(pauses.verdict(&url(other)), Verdict::Go),
                "{other}"
            );
        }
    }

    #[test]
    fn a_pause_ends_on_time_and_the_later_end_wins() {
        let pauses = Pauses::new(Duration::from_secs(600));
        let origin = "http://a.test:80".to_owned();
        pauses.pause(origin.clone(), Duration::from_millis(30));
        pauses.pause(origin.clone(), Duration::from_millis(10));
        std::thread::sleep(Duration::from_millis(15));
        assert!(matches!(
            pauses.verdict(&url("http://a.test/")),
            Verdict::Wait(_)
        ));
        std::thread::sleep(Duration::from_millis(20));
        assert!(matches!(
            pauses.verdict(&url("http://a.test/")),
            Verdict::Go
        ));
        assert_eq!(
            pauses.active.load(Ordering::Acquire),
            0,
            "forgotten once over"
        );
        let seen = pauses.seen();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].0, origin);
        assert_eq!(seen[0].1.times, 2);
        assert!(
            seen[0].1.total < Duration::from_millis(40),
            "overlap counted once"
        );
        assert!(!seen[0].1.refused);
    }

    #[test]
    fn a_pause_past_the_most_fails_jobs_naming_the_flag() {
        let pauses = Pauses::new(Duration::from_secs(10));
        assert!(!pauses.pause("http://a.test:80".into(), Duration::from_secs(3600)));
        let Verdict::Refused(message) = pauses.verdict(&url("http://a.test/")) else {
            panic!("refused");
        };
        assert!(message.contains("3600 s"), "{message}");
        assert!(message.contains("--max-pause"), "{message}");
        assert!(pauses.seen()[0].1.refused);
    }
}
