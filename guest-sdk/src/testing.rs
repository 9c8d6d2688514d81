//! Helpers for native unit tests of a plugin (`cargo test`), where there
//! is no host: a fake configuration and log for the current thread, short
//! constructors for the values hooks receive, and [`run`] and [`describe`],
//! which do what the host's first call to a plugin does. [`run`] returns
//! an [`Instance`], which calls the hooks as the host does: in particular
//! `decide_retry` only about the statuses the plugin asked about, with no
//! more of the body than the prefix it declared.
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
    Attempt, Decision, Failure, FailureKind, Fetched, Headers, Level, Outcome, Plugin, PluginInfo,
    Request, Response, RetryBudget, RetryInterest, Session,
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

/// The most body bytes the host gives any plugin's `decide_retry`: it
/// refuses a plugin that asks for more.
pub const BODY_PREFIX_MAX: u32 = 64 * 1024;

/// Makes a plugin as the host does before any hook: `T::default()`, then
/// [`Plugin::configure`] with this thread's configuration, then
/// [`Plugin::retry_interest`], read once. The retry budget it declares
/// (see [`crate::budget`]) starts full for this thread.
///
/// Like the host, it refuses a plugin whose configuration is refused, or
/// that asks for more than [`BODY_PREFIX_MAX`] bytes of body. Call the
/// hooks on the [`Instance`] it returns, which passes them what the host
/// would.
pub fn run<T: Plugin>() -> Result<Instance<T>, String> {
    let plugin = instantiate::<T>()?;
    let interest = plugin.retry_interest();
    if interest.body_prefix > BODY_PREFIX_MAX {
        return Err(format!(
            "asks for {} bytes of body prefix; at most {BODY_PREFIX_MAX} are given",
            interest.body_prefix
        ));
    }
    let budget = interest.budget;
    BUDGET.set(budget.map(|budget| (budget, u64::from(budget.capacity) * 1000)));
    Ok(Instance { plugin, interest })
}

/// A plugin made by [`run`], called as the host calls it.
///
/// The session hooks and [`authorize`](Instance::authorize) go straight to
/// the plugin. [`decide_retry`](Instance::decide_retry) does what the host
/// does with the plugin's [`RetryInterest`], as read right after
/// `configure`: a response with a status it did not ask about is not
/// shown to it (the answer is [`Decision::Defer`], as the host takes it),
/// and the body it sees is cut to the prefix it declared, none by
/// default. Give the outcome the whole body, as the server would send it
/// ([`response_with_body`]).
///
/// It dereferences to the plugin, so a test can read the plugin's state;
/// calling a hook through the [`Plugin`] trait itself (for example
/// `Plugin::decide_retry(&mut *instance, ..)`) skips what the host does.
///
/// ```
/// use guest_sdk::{Attempt, Decision, Outcome, Plugin, Request, RetryInterest, testing};
///
/// /// Retries a 503 whose body says "busy"; asks for 16 bytes of body.
/// #[derive(Default)]
/// struct Busy;
///
/// #[guest_sdk::plugin]
/// impl Plugin for Busy {
///     fn decide_retry(&mut self, _: &Request, outcome: &Outcome, _: &Attempt) -> Result<Decision, String> {
///         let busy = matches!(outcome, Outcome::Response(r) if r.body_prefix.starts_with(b"busy"));
///         Ok(if busy { Decision::RetryAfter(100) } else { Decision::Defer })
///     }
///     fn retry_interest(&self) -> RetryInterest {
///         RetryInterest { statuses: vec![(503, 503)], body_prefix: 16, ..RetryInterest::default() }
///     }
/// }
///
/// let mut plugin = testing::run::<Busy>().unwrap();
/// let request = testing::request("GET", "https://api.test/");
/// let attempt = testing::attempt(1, 3);
/// let busy = testing::response_with_body(503, &[], "busy, try again in a moment");
/// assert_eq!(plugin.decide_retry(&request, &busy, &attempt), Ok(Decision::RetryAfter(100)));
/// // A 200 is not asked about, whatever its body says.
/// let fine = testing::response_with_body(200, &[], "busy");
/// assert!(!plugin.asks_about(Some(200)));
/// assert_eq!(plugin.decide_retry(&request, &fine, &attempt), Ok(Decision::Defer));
/// ```
pub struct Instance<T> {
    /// The configured plugin.
    plugin: T,
    /// What its `retry_interest` said after `configure`.
    interest: RetryInterest,
}

impl<T: Plugin> Instance<T> {
    /// The retry interest the plugin declared after `configure`, which is
    /// what the host goes by.
    pub fn interest(&self) -> &RetryInterest {
        &self.interest
    }

    /// Whether the host asks the plugin's `decide_retry` about an attempt
    /// that got a response with `status`, or no response (`None`, always
    /// asked).
    pub fn asks_about(&self, status: Option<u16>) -> bool {
        status.is_none_or(|status| self.interest.wants(status))
    }

    /// What the outcome of an attempt looks like to the plugin: the body
    /// cut to its declared prefix.
    pub fn shown(&self, outcome: &Outcome) -> Outcome {
        let mut outcome = outcome.clone();
        if let Outcome::Response(response) = &mut outcome {
            let prefix = self.interest.body_prefix.min(BODY_PREFIX_MAX) as usize;
            response.body_prefix.truncate(prefix);
        }
        outcome
    }

    /// [`Plugin::init_session`], as the host calls it.
    pub fn init_session(&mut self, session: Session) -> Result<Session, String> {
        self.plugin.init_session(session)
    }

    /// [`Plugin::auth_session`], as the host calls it.
    pub fn auth_session(&mut self, session: Session) -> Result<Session, String> {
        self.plugin.auth_session(session)
    }

    /// [`Plugin::authorize`], as the host calls it.
    pub fn authorize(&mut self, request: Request) -> Result<Request, String> {
        self.plugin.authorize(request)
    }

    /// [`Plugin::decide_retry`] as the host calls it: not at all for a
    /// response whose status the plugin did not ask about (the answer is
    /// then [`Decision::Defer`], as the host takes it), and with the body
    /// of `outcome` cut to the plugin's declared prefix.
    pub fn decide_retry(
        &mut self,
        request: &Request,
        outcome: &Outcome,
        attempt: &Attempt,
    ) -> Result<Decision, String> {
        let status = match outcome {
            Outcome::Response(response) => Some(response.status),
            Outcome::Failure(_) => None,
        };
        if !self.asks_about(status) {
            return Ok(Decision::Defer);
        }
        let shown = self.shown(outcome);
        self.plugin.decide_retry(request, &shown, attempt)
    }

    /// The plugin itself, for a test that has finished with the host's
    /// view of it.
    pub fn into_inner(self) -> T {
        self.plugin
    }
}

impl<T> std::ops::Deref for Instance<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.plugin
    }
}

impl<T> std::ops::DerefMut for Instance<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.plugin
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Instance<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance")
            .field("plugin", &self.plugin)
            .field("interest", &self.interest)
            .finish()
    }
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
pub fn describe<T: Plugin>() -> Result<PluginInfo, String> {
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

/// Like [`response`], with `body`: the whole body as the server sent it.
/// [`Instance::decide_retry`] shows the plugin only the prefix it declared
/// in [`RetryInterest::body_prefix`], as the host does.
pub fn response_with_body(
    status: u16,
    headers: &[(&str, &str)],
    body: impl AsRef<[u8]>,
) -> Outcome {
    Outcome::Response(Response {
        status,
        headers: pairs(headers),
        body_prefix: body.as_ref().to_vec(),
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
