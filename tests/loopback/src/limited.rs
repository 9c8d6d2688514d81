//! A rate-limited API, as most public APIs are: [`RateLimited`] allows so
//! many requests per second (a fixed window), answers the rest 429 with
//! `Retry-After`, sends `X-RateLimit-Limit`, `-Remaining` and `-Reset` on
//! every answer (unless told not to: [`RateLimited::without_quota`]), and
//! counts the requests that arrive while a pause it announced is in force:
//! the measure of how well a client listens.
//!
//! ```
//! use tb_loopback::{RateLimited, Server};
//!
//! let limited = RateLimited::new(200);
//! let server = Server::builder().handler(limited.clone()).start()?;
//! // ... run a client against server.url("/anything") ...
//! assert_eq!(limited.counts().during_pause, 0);
//! # Ok::<(), std::io::Error>(())
//! ```

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::exchange::{Handler, Outcome, Reply, Request};

/// How long after a pause is announced a request still counts as sent
/// before the client heard of it (on the wire already), not against it.
pub const ON_THE_WIRE: Duration = Duration::from_millis(100);

/// The window the limit counts in.
const WINDOW: Duration = Duration::from_secs(1);

/// A handler for every path: at most `per_second` answers 200 in each
/// second since the first request; see the module docs. Clones share
/// their counts.
#[derive(Clone)]
pub struct RateLimited {
    per_second: u32,
    /// Whether answers say what is left (`X-RateLimit-*`).
    quota: bool,
    state: Arc<Mutex<State>>,
}

struct State {
    /// When the first request came: windows count from it.
    started: Option<Instant>,
    /// The window now counted, and its requests so far.
    window: u64,
    in_window: u32,
    /// The pause announced last: when, and until when.
    announced: Option<(Instant, Instant)>,
    counts: Counts,
}

/// What a [`RateLimited`] server saw.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Every request.
    pub requests: u64,
    /// Those answered 200.
    pub ok: u64,
    /// Those answered 429.
    pub limited: u64,
    /// Those that arrived while an announced pause was in force, more than
    /// [`ON_THE_WIRE`] after it was announced.
    pub during_pause: u64,
}

impl RateLimited {
    /// A limit of `per_second` requests in each second (at least 1).
    pub fn new(per_second: u32) -> RateLimited {
        RateLimited {
            per_second: per_second.max(1),
            quota: true,
            state: Arc::new(Mutex::new(State {
                started: None,
                window: 0,
                in_window: 0,
                announced: None,
                counts: Counts::default(),
            })),
        }
    }

    /// The same limit, with answers that do not say what is left: only a
    /// 429's `Retry-After` tells the client to wait.
    pub fn without_quota(mut self) -> RateLimited {
        self.quota = false;
        self
    }

    /// The counts so far.
    pub fn counts(&self) -> Counts {
        self.lock().counts
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Handler for RateLimited {
    fn answer(&self, _: &Request<'_>) -> Option<Outcome> {
        let now = Instant::now();
        let mut state = self.lock();
        let started = *state.started.get_or_insert(now);
        state.counts.requests += 1;
        if let Some((at, until)) = state.announced
            && now > at + ON_THE_WIRE
            && now < until
        {
            state.counts.during_pause += 1;
        }
        let since = now - started;
        let window = since.as_secs();
        if window != state.window {
            state.window = window;
            state.in_window = 0;
        }
        state.in_window += 1;
        let window_end = started + Duration::from_secs(window) + WINDOW;
        // Whole seconds, rounded up, as `Retry-After` says them.
        let reset = (window_end - now).as_secs_f64().ceil().max(1.0) as u64;
        let remaining = self.per_second.saturating_sub(state.in_window);
        let reply = if state.in_window <= self.per_second {
            state.counts.ok += 1;
            Reply::ok()
        } else {
            state.counts.limited += 1;
            let until = now + Duration::from_secs(reset);
            let announced_at = match state.announced {
                Some((at, end)) if now < end => at,
                _ => now,
            };
            state.announced = Some((announced_at, until));
            Reply::new(429, "").with("Retry-After", reset.to_string())
        };
        if !self.quota {
            return Some(reply.into());
        }
        let reply = reply
            .with("X-RateLimit-Limit", self.per_second.to_string())
            .with("X-RateLimit-Remaining", remaining.to_string())
            .with("X-RateLimit-Reset", reset.to_string());
        Some(reply.into())
    }
}
