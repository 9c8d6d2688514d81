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
//!     fn authorize(&mut self, request: &mut guest_sdk::Request) -> Result<(), String> {
//!         request.set_header("X-Hello", &self.name)
//!     }
//! }
//!
//! assert!(testing::run::<Greeter>().is_err(), "`name` is required");
//! testing::set_config(&[("name", "world")]);
//! let mut greeter = testing::run::<Greeter>().unwrap();
//! let request = greeter.authorized(testing::request("GET", "http://example.test/")).unwrap();
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
    Attempt, AttemptFailure, AttemptFailureKind, Decision, FetchRequest, Fetched, Headers, Level,
    Outcome, Plugin, PluginInfo, Request, RetryBudget, RetryInterest, SessionSettings, headers,
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

impl With for TestRequest {
    fn with_header(mut self, name: &str, value: &str) -> TestRequest {
        headers::append(&mut self.headers, name, value);
        self
    }
    fn with_body(mut self, body: impl Into<Vec<u8>>) -> TestRequest {
        self.body = Some(body.into());
        self
    }
}

impl With for TestOutcome {
    fn with_header(mut self, name: &str, value: &str) -> TestOutcome {
        if let TestOutcome::Response(response) = &mut self {
            headers::append(&mut response.headers, name, value);
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
pub type FetchHandler = dyn FnMut(&FetchRequest) -> Result<Fetched, String>;

/// Answers this thread's [`crate::http::fetch`] calls with `handler`, as a
/// granted host would. Without one, every fetch fails as a host that was
/// not granted does.
pub fn set_fetch(handler: impl FnMut(&FetchRequest) -> Result<Fetched, String> + 'static) {
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
///         let busy = outcome.body_prefix().starts_with(b"busy");
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
    pub fn shown(&self, outcome: &TestOutcome) -> TestOutcome {
        let mut outcome = outcome.clone();
        if let TestOutcome::Response(response) = &mut outcome {
            let prefix = self.interest.body_prefix.min(BODY_PREFIX_MAX) as usize;
            response.body_prefix.truncate(prefix);
        }
        outcome
    }

    /// [`Plugin::init_session`], as the host calls it.
    pub fn init_session(&mut self, session: SessionSettings) -> Result<SessionSettings, String> {
        self.plugin.init_session(session)
    }

    /// [`Plugin::auth_session`], as the host calls it.
    pub fn auth_session(&mut self, session: SessionSettings) -> Result<SessionSettings, String> {
        self.plugin.auth_session(session)
    }

    /// [`Plugin::authorize`], as the host calls it: on a [`Request`]
    /// backed by `request`, whose edits are checked as the host checks
    /// them (see [`TestRequest`]).
    pub fn authorize(&mut self, request: &mut TestRequest) -> Result<(), String> {
        request.editable = true;
        let answer = self.plugin.authorize(&mut Request::new(request));
        request.editable = false;
        answer
    }

    /// [`Instance::authorize`] on `request`, which is returned as it would
    /// be sent: for a test that builds its request in one expression.
    pub fn authorized(&mut self, mut request: TestRequest) -> Result<TestRequest, String> {
        self.authorize(&mut request)?;
        Ok(request)
    }

    /// [`Plugin::decide_retry`] as the host calls it: not at all for a
    /// response whose status the plugin did not ask about (the answer is
    /// then [`Decision::Defer`], as the host takes it), and with the body
    /// of `outcome` cut to the plugin's declared prefix.
    pub fn decide_retry(
        &mut self,
        request: &TestRequest,
        outcome: &TestOutcome,
        attempt: &Attempt,
    ) -> Result<Decision, String> {
        if !self.asks_about(outcome.status()) {
            return Ok(Decision::Defer);
        }
        let shown = self.shown(outcome);
        // Read-only, as in the host: every edit is refused.
        let mut request = TestRequest {
            editable: false,
            ..request.clone()
        };
        let request = Request::new(&mut request);
        self.plugin
            .decide_retry(&request, &Outcome::new(&shown), attempt)
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

/// A request with no headers and no body, for [`Instance::authorize`] and
/// [`Instance::decide_retry`].
pub fn request(method: &str, url: &str) -> TestRequest {
    TestRequest {
        method: method.to_owned(),
        url: url.to_owned(),
        headers: Headers::new(),
        body: None,
        editable: false,
    }
}

/// The outcome of an attempt that got a response with `status` and
/// `headers`.
pub fn response(status: u16, headers: &[(&str, &str)]) -> TestOutcome {
    response_with_body(status, headers, b"")
}

/// Like [`response`], with `body`: the whole body as the server sent it.
/// [`Instance::decide_retry`] shows the plugin only the prefix it declared
/// in [`RetryInterest::body_prefix`], as the host does.
pub fn response_with_body(
    status: u16,
    headers: &[(&str, &str)],
    body: impl AsRef<[u8]>,
) -> TestOutcome {
    TestOutcome::Response(TestResponse {
        status,
        headers: pairs(headers),
        body_prefix: body.as_ref().to_vec(),
        elapsed_ms: 0,
    })
}

/// The outcome of an attempt that got no response.
pub fn failure(kind: AttemptFailureKind, message: &str) -> TestOutcome {
    TestOutcome::Failure(AttemptFailure {
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
pub fn session(worker: u32) -> SessionSettings {
    SessionSettings {
        worker,
        headers: Headers::new(),
        cookies: Vec::new(),
        timeout_ms: None,
        connect_timeout_ms: None,
        max_redirects: 10,
        user_agent: None,
    }
}

/// The request a test gives [`Instance::authorize`] or
/// [`Instance::decide_retry`]: what the host would lend the plugin. Its
/// edits (through the plugin's [`Request`]) are checked as the host checks
/// them: valid HTTP names and values, none of the headers only the host
/// sets, at most 1,000 fields and 256 KiB, a URL that keeps its scheme,
/// host and port (the fake grants no other origin); in `decide_retry`,
/// none at all. Only the host checks that a new URL is in its normalised
/// form.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TestRequest {
    /// The HTTP method in upper case.
    pub method: String,
    /// The absolute URL.
    pub url: String,
    /// The header fields, in order.
    pub headers: Headers,
    /// The body, if any.
    pub body: Option<Vec<u8>>,
    /// Whether the call under way may edit it.
    editable: bool,
}

/// How a test's attempt ended, for [`Instance::decide_retry`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TestOutcome {
    /// A response arrived.
    Response(TestResponse),
    /// No response arrived.
    Failure(AttemptFailure),
}

/// A response a test's attempt got.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TestResponse {
    /// The status code.
    pub status: u16,
    /// Response header fields.
    pub headers: Headers,
    /// The body as the server sent it (the plugin sees the prefix it asked
    /// for).
    pub body_prefix: Vec<u8>,
    /// Milliseconds the response took.
    pub elapsed_ms: u64,
}

impl TestOutcome {
    /// The response's status, if a response arrived.
    pub fn status(&self) -> Option<u16> {
        match self {
            TestOutcome::Response(response) => Some(response.status),
            TestOutcome::Failure(_) => None,
        }
    }
}

/// The header names only the host sets, lower case (as the host has them).
const HOST_ONLY: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "proxy-connection",
    "upgrade",
    "te",
    "trailer",
    "expect",
];

/// The scheme and authority of `url`: what may not change.
fn origin(url: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    Some((scheme, authority))
}

impl TestRequest {
    fn check_edit(&self) -> Result<(), String> {
        if self.editable {
            Ok(())
        } else {
            Err("the request can be edited in `authorize` only".to_owned())
        }
    }

    fn check_field(&self, name: &str, value: &str, replaced: usize) -> Result<(), String> {
        self.check_edit()?;
        if !headers::is_valid_name(name) {
            return Err(format!("invalid header name {name:?}"));
        }
        if !headers::is_valid_value(value) {
            return Err(format!("invalid value for header {name}"));
        }
        let lower = name.to_ascii_lowercase();
        let own_host = lower == "host" && origin(&self.url).is_some_and(|(_, a)| a == value);
        let present = headers::get_all(&self.headers, name).any(|v| v == value);
        if HOST_ONLY.contains(&lower.as_str()) && !own_host && !present {
            return Err(format!(
                "it sets header {name}, which only the host sets: it decides where the \
                 request goes or how it is framed"
            ));
        }
        let bytes: usize = self.headers.iter().map(|(n, v)| n.len() + v.len()).sum();
        if bytes - replaced + name.len() + value.len() > 256 << 10 {
            return Err("a request holds at most 256 KiB of header fields".to_owned());
        }
        Ok(())
    }
}

impl crate::request::Backing for TestRequest {
    fn method(&self) -> String {
        self.method.clone()
    }
    fn url(&self) -> String {
        self.url.clone()
    }
    fn header(&self, name: &str) -> Option<String> {
        headers::get(&self.headers, name).map(str::to_owned)
    }
    fn headers(&self) -> Headers {
        self.headers.clone()
    }
    fn body(&self) -> Option<Vec<u8>> {
        self.body.clone()
    }
    fn set_header(&mut self, name: &str, value: &str) -> Result<(), String> {
        let replaced = headers::get_all(&self.headers, name)
            .map(|v| name.len() + v.len())
            .sum();
        self.check_field(name, value, replaced)?;
        headers::set(&mut self.headers, name, value);
        Ok(())
    }
    fn append_header(&mut self, name: &str, value: &str) -> Result<(), String> {
        if self.headers.len() >= 1000 {
            return Err("a request holds at most 1000 header fields".to_owned());
        }
        self.check_field(name, value, 0)?;
        headers::append(&mut self.headers, name, value);
        Ok(())
    }
    fn remove_header(&mut self, name: &str) -> Result<(), String> {
        self.check_edit()?;
        headers::remove(&mut self.headers, name);
        Ok(())
    }
    fn set_url(&mut self, url: &str) -> Result<(), String> {
        self.check_edit()?;
        match (origin(url), origin(&self.url)) {
            (Some(new), Some(old)) if new == old => {
                url.clone_into(&mut self.url);
                Ok(())
            }
            (Some((scheme, _)), _) if scheme == "http" || scheme == "https" => Err(
                "the URL's scheme, host or port changed, to an origin not granted to this plugin"
                    .to_owned(),
            ),
            _ => Err("the URL is not an absolute http or https URL".to_owned()),
        }
    }
}

impl crate::outcome::Backing for TestOutcome {
    fn status(&self) -> Option<u16> {
        TestOutcome::status(self)
    }
    fn failure(&self) -> Option<AttemptFailure> {
        match self {
            TestOutcome::Failure(failure) => Some(failure.clone()),
            TestOutcome::Response(_) => None,
        }
    }
    fn header(&self, name: &str) -> Option<String> {
        match self {
            TestOutcome::Response(r) => headers::get(&r.headers, name).map(str::to_owned),
            TestOutcome::Failure(_) => None,
        }
    }
    fn headers(&self) -> Headers {
        match self {
            TestOutcome::Response(r) => r.headers.clone(),
            TestOutcome::Failure(_) => Headers::new(),
        }
    }
    fn body_prefix(&self) -> Vec<u8> {
        match self {
            TestOutcome::Response(r) => r.body_prefix.clone(),
            TestOutcome::Failure(_) => Vec::new(),
        }
    }
    fn elapsed_ms(&self) -> u64 {
        match self {
            TestOutcome::Response(r) => r.elapsed_ms,
            TestOutcome::Failure(_) => 0,
        }
    }
}

/// The host's services off `wasm32`, backed by this thread's fake
/// configuration and log.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) mod fake {
    use std::time::SystemTime;

    use super::{BUDGET, CONFIG, ENV, FETCH, LOGS, NOW};
    use crate::{FetchRequest, Fetched, Level};

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
    pub(crate) fn fetch(request: &FetchRequest) -> Result<Fetched, String> {
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
