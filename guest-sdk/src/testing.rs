//! Helpers for native unit tests of a plugin (`cargo test`), where there
//! is no host: a fake configuration and log for the current thread, short
//! constructors for the values hooks receive, and [`run`] and [`describe`],
//! which do what the host's first call to a plugin does.
//!
//! ```
//! use guest_sdk::{Plugin, testing};
//!
//! #[derive(Default)]
//! struct Greeter {
//!     name: String,
//! }
//!
//! #[guest_sdk::plugin]
//! impl Plugin for Greeter {
//!     fn configure(&mut self) -> Result<(), String> {
//!         self.name = guest_sdk::config::require("name")?;
//!         guest_sdk::log::info("configured");
//!         Ok(())
//!     }
//!     fn authorize(&mut self, mut request: guest_sdk::Request) -> Result<guest_sdk::Request, String> {
//!         guest_sdk::headers::set(&mut request.headers, "X-Hello", &self.name);
//!         Ok(request)
//!     }
//! }
//!
//! assert!(testing::run::<Greeter>().is_err(), "`name` is required");
//! testing::set_config(&[("name", "world")]);
//! let mut greeter = testing::run::<Greeter>().unwrap();
//! let request = greeter.authorize(testing::request("GET", "http://example.test/")).unwrap();
//! assert_eq!(guest_sdk::headers::get(&request.headers, "x-hello"), Some("world"));
//! assert_eq!(testing::take_logs(), [(guest_sdk::Level::Info, "configured".to_string())]);
//! assert_eq!(testing::describe::<Greeter>().unwrap().hooks, guest_sdk::HookSet::AUTHORIZE);
//! ```
//!
//! The fakes belong to the current thread, so tests running in parallel
//! do not see each other's: the configuration ([`set_config`]), the
//! granted environment ([`set_env`]), the log ([`logs`]), the host's
//! fetch ([`set_fetch`]) and the clock of [`crate::time::now`]
//! ([`set_now`], [`advance`]). In a component the host answers instead:
//! there, the setters have no effect and [`logs`] stays empty.
//!
//! The [`With`] trait builds the values hooks receive in one expression:
//!
//! ```
//! use guest_sdk::testing::{self, With};
//!
//! let request = testing::request("POST", "https://api.test/items")
//!     .with_header("Content-Type", "application/json")
//!     .with_body("{}");
//! assert_eq!(request.body.as_deref(), Some(&b"{}"[..]));
//! let outcome = testing::response(401, &[]).with_header("WWW-Authenticate", "Basic realm=\"x\"");
//! let attempt = testing::attempt(2, 5).with_since_first_ms(1500);
//! # let _ = (outcome, attempt);
//! ```

use std::cell::{Cell, RefCell};
use std::time::{Duration, SystemTime};

use crate::plugin::{info, instantiate};
use crate::{
    Attempt, Described, Failure, FailureKind, Fetched, Headers, Level, Outcome, Plugin, PluginInfo,
    Request, Response, RetryBudget, Session,
};

thread_local! {
    /// The fake configuration of this thread, in the order given.
    static CONFIG: RefCell<Vec<(String, String)>> = const { RefCell::new(Vec::new()) };
    /// The messages logged on this thread off `wasm32`.
    static LOGS: RefCell<Vec<(Level, String)>> = const { RefCell::new(Vec::new()) };
    /// What answers this thread's fetches off `wasm32`.
    static FETCH: RefCell<Option<Box<FetchHandler>>> = const { RefCell::new(None) };
    /// This thread's retry budget: the declared one, and thousandths of a
    /// token left.
    static BUDGET: RefCell<Option<(RetryBudget, u64)>> = const { RefCell::new(None) };
    /// The environment variables granted on this thread, as (name, value).
    static ENV: RefCell<Vec<(String, String)>> = const { RefCell::new(Vec::new()) };
    /// The fixed time of this thread's clock, if set.
    static NOW: Cell<Option<SystemTime>> = const { Cell::new(None) };
}

/// Replaces this thread's granted environment with `pairs`, as if the
/// operator had granted each variable with `--plugin-env` (the process's
/// real environment is never read).
pub fn set_env(pairs: &[(&str, &str)]) {
    let pairs = pairs
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
    ENV.set(pairs);
}

/// Fixes this thread's clock ([`crate::time::now`]) at `time`.
pub fn set_now(time: SystemTime) {
    NOW.set(Some(time));
}

/// Moves this thread's clock forward by `by`, from the real time if it
/// was not fixed.
pub fn advance(by: Duration) {
    NOW.set(Some(crate::time::now() + by));
}

/// A response for [`set_fetch`] handlers: `status`, `headers` and `body`.
pub fn fetched(status: u16, headers: &[(&str, &str)], body: impl Into<Vec<u8>>) -> Fetched {
    Fetched {
        status,
        headers: pairs(headers),
        body: body.into(),
    }
}

/// Builder methods for the values hooks receive, so a test makes one in
/// a single expression.
pub trait With: Sized {
    /// Adds a header field after the existing ones (for an [`Outcome`],
    /// to its response; a failure has no headers and is left alone).
    fn with_header(self, name: &str, value: &str) -> Self;
    /// Sets the body (requests only; other values ignore it).
    fn with_body(self, _body: impl Into<Vec<u8>>) -> Self {
        self
    }
    /// Sets the milliseconds since the first attempt (attempts only).
    fn with_since_first_ms(self, _ms: u64) -> Self {
        self
    }
}

impl With for Request {
    fn with_header(mut self, name: &str, value: &str) -> Request {
        crate::headers::append(&mut self.headers, name, value);
        self
    }
    fn with_body(mut self, body: impl Into<Vec<u8>>) -> Request {
        self.body = Some(body.into());
        self
    }
}

impl With for Outcome {
    fn with_header(mut self, name: &str, value: &str) -> Outcome {
        if let Outcome::Response(response) = &mut self {
            crate::headers::append(&mut response.headers, name, value);
        }
        self
    }
}

impl With for Attempt {
    fn with_header(self, _name: &str, _value: &str) -> Attempt {
        self
    }
    fn with_since_first_ms(mut self, ms: u64) -> Attempt {
        self.since_first_ms = ms;
        self
    }
}

/// `(name, value)` pairs as owned [`Headers`].
fn pairs(headers: &[(&str, &str)]) -> Headers {
    headers
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

/// A stand-in for the host's `fetch`, see [`set_fetch`].
pub type FetchHandler = dyn FnMut(&Request) -> Result<Fetched, String>;

/// Answers this thread's [`crate::http::fetch`] calls with `handler`, as a
/// granted host would. Without one, every fetch fails as a host that was
/// not granted does.
pub fn set_fetch(handler: impl FnMut(&Request) -> Result<Fetched, String> + 'static) {
    FETCH.with_borrow_mut(|slot| *slot = Some(Box::new(handler)));
}

/// Replaces this thread's configuration with `pairs`, as if the operator
/// had passed `--plugin-config KEY=VALUE` for each. If a key repeats, the
/// last value wins.
pub fn set_config(pairs: &[(&str, &str)]) {
    let pairs = pairs
        .iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect();
    CONFIG.set(pairs);
}

/// The messages logged on this thread so far, oldest first.
pub fn logs() -> Vec<(Level, String)> {
    LOGS.with_borrow(Clone::clone)
}

/// The messages logged on this thread so far, forgetting them.
pub fn take_logs() -> Vec<(Level, String)> {
    LOGS.take()
}

/// Makes a plugin as the host does before any hook: `T::default()`, then
/// [`Plugin::configure`] with this thread's configuration. The retry budget
/// it declares (see [`crate::budget`]) starts full for this thread.
pub fn run<T: Plugin>() -> Result<T, String> {
    let plugin = instantiate::<T>()?;
    let budget = plugin.retry_interest().budget;
    BUDGET.set(budget.map(|budget| (budget, u64::from(budget.capacity) * 1000)));
    Ok(plugin)
}

/// Refills this thread's retry budget as the host does when a job ends.
pub fn job_ended() {
    BUDGET.with_borrow_mut(|budget| {
        if let Some((declared, tokens)) = budget {
            let capacity = u64::from(declared.capacity) * 1000;
            *tokens = (*tokens + u64::from(declared.refill)).min(capacity);
        }
    });
}

/// What the plugin's `describe` export answers with this thread's
/// configuration: its name, version, hooks and retry interest, or the
/// error of [`Plugin::configure`].
pub fn describe<T: Described>() -> Result<PluginInfo, String> {
    instantiate::<T>().map(|plugin| info(&plugin))
}

/// A request with no headers and no body.
pub fn request(method: &str, url: &str) -> Request {
    Request {
        method: method.to_owned(),
        url: url.to_owned(),
        headers: Headers::new(),
        body: None,
    }
}

/// The outcome of an attempt that got a response with `status` and
/// `headers`.
pub fn response(status: u16, headers: &[(&str, &str)]) -> Outcome {
    response_with_body(status, headers, b"")
}

/// Like [`response`], with the first bytes of the body the plugin asked
/// for (its [`crate::RetryInterest::body_prefix`]).
pub fn response_with_body(status: u16, headers: &[(&str, &str)], body_prefix: &[u8]) -> Outcome {
    Outcome::Response(Response {
        status,
        headers: pairs(headers),
        body_prefix: body_prefix.to_vec(),
        elapsed_ms: 0,
    })
}

/// The outcome of an attempt that got no response.
pub fn failure(kind: FailureKind, message: &str) -> Outcome {
    Outcome::Failure(Failure {
        kind,
        message: message.to_owned(),
    })
}

/// Attempt `number` (1 for the first) of a job the host will try at most
/// `max_attempts` times, started just now.
pub fn attempt(number: u32, max_attempts: u32) -> Attempt {
    Attempt {
        number,
        since_first_ms: 0,
        max_attempts,
    }
}

/// The settings of `worker`'s session before any plugin changed them: no
/// headers, no timeouts, no user agent, up to 10 redirects.
pub fn session(worker: u32) -> Session {
    Session {
        worker,
        headers: Headers::new(),
        timeout_ms: None,
        connect_timeout_ms: None,
        max_redirects: 10,
        user_agent: None,
    }
}

/// The host's services off `wasm32`, backed by this thread's fake
/// configuration and log.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) mod fake {
    use std::time::SystemTime;

    use super::{BUDGET, CONFIG, ENV, FETCH, LOGS, NOW};
    use crate::{Fetched, Level, Request};

    /// Takes a token from the budget [`super::run`] set up, if any.
    pub(crate) fn budget_spend() -> bool {
        BUDGET.with_borrow_mut(|budget| match budget {
            Some((_, tokens)) if *tokens >= 1000 => {
                *tokens -= 1000;
                true
            }
            Some(_) => false,
            None => true,
        })
    }

    /// The value [`super::set_env`] gave `name`.
    pub(crate) fn env(name: &str) -> Option<String> {
        ENV.with_borrow(|pairs| {
            pairs
                .iter()
                .find(|(given, _)| given == name)
                .map(|(_, value)| value.clone())
        })
    }

    /// The time [`super::set_now`] fixed, if any.
    pub(crate) fn now() -> Option<SystemTime> {
        NOW.get()
    }

    /// Answers with the handler of [`super::set_fetch`].
    pub(crate) fn fetch(request: &Request) -> Result<Fetched, String> {
        FETCH.with_borrow_mut(|handler| match handler {
            Some(handler) => handler(request),
            None => Err("fetch: no host is granted to this plugin (testing::set_fetch)".to_owned()),
        })
    }

    /// Keeps `message` for [`super::logs`].
    pub(crate) fn log(level: Level, message: &str) {
        LOGS.with_borrow_mut(|logs| logs.push((level, message.to_owned())));
    }

    /// The last value given for `key`.
    pub(crate) fn config(key: &str) -> Option<String> {
        CONFIG.with_borrow(|pairs| {
            pairs
                .iter()
                .rev()
                .find(|(given, _)| given == key)
                .map(|(_, value)| value.clone())
        })
    }

    /// Every key given, each once, in the order first given.
    pub(crate) fn config_keys() -> Vec<String> {
        CONFIG.with_borrow(|pairs| {
            let mut keys: Vec<String> = Vec::new();
            for (key, _) in pairs {
                if !keys.contains(key) {
                    keys.push(key.clone());
                }
            }
            keys
        })
    }
}
