//! One worker's hooks, in order, with the rules for composing them.
//!
//! Sessions and requests pass through every hook that implements the call,
//! in the order the hooks were added; the first retry decision that is not
//! `defer` wins. What a hook returns is checked before the next hook sees it,
//! so a bad header is blamed on the hook that made it. A broken instance
//! (trap, deadline, memory cap) is dropped and a fresh one is made on the
//! next call. Every failure is logged at info level (`-v`), naming the hook
//! and the call.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::HeaderName;

use super::origin::JobOrigin;
use super::{
    Attempt, AttemptOutcome, Decision, HookError, HookFactory, HookName, Hooks, Request,
    SessionSettings,
};

/// The most header fields a hook may return in one request or session.
/// Servers refuse far fewer (often 100); the limit is there so that a
/// hook cannot make the host build and send an absurd request.
pub const MAX_HEADERS: usize = 1000;

/// The most bytes of header names and values, together, a hook may return
/// in one request or session: 256 KiB, past what any server accepts
/// (commonly 8 to 64 KiB), enough for the largest real tokens.
pub const MAX_HEADER_BYTES: usize = 256 << 10;

/// The longest wait a hook may ask for before a retry: one day. Longer is
/// not a wait but a hang of the run (and `u64::MAX` milliseconds is past
/// what a clock can add).
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(24 * 60 * 60);

/// The longest header name shown in a message about it.
const NAME_SHOWN: usize = 64;

/// A hook call that failed: which hook, which call, and why.
#[derive(Debug, Clone, thiserror::Error)]
#[error("plugin {hook}: {call}: {error}")]
pub struct HookFailure {
    /// The hook's name (a plugin's name, or a native hook's label).
    pub hook: String,
    /// The call that failed.
    pub call: HookName,
    /// What went wrong.
    pub error: HookError,
}

/// The hooks of one worker, each with its own instance.
pub struct HookChain {
    worker: u32,
    links: Vec<Link>,
    /// For each call, the indexes of the links that implement it, in order:
    /// the hot path never looks at a hook that does not implement a call.
    callers: [Vec<usize>; 4],
}

struct Link {
    factory: Arc<dyn HookFactory>,
    instance: Option<Box<dyn Hooks>>,
}

impl HookChain {
    /// A chain for `worker` over `factories`; instances are made on first use.
    pub fn new(factories: &[Arc<dyn HookFactory>], worker: u32) -> HookChain {
        let links: Vec<Link> = factories
            .iter()
            .map(|factory| Link {
                factory: Arc::clone(factory),
                instance: None,
            })
            .collect();
        let callers = HookName::ALL.map(|call| {
            (0..factories.len())
                .filter(|&index| factories[index].implements().contains(call.flag()))
                .collect()
        });
        HookChain {
            worker,
            links,
            callers,
        }
    }

    /// Whether any hook implements `call`.
    pub fn has(&self, call: HookName) -> bool {
        !self.callers[call as usize].is_empty()
    }

    /// The index of the `nth` link that implements `call`.
    fn caller(&self, call: HookName, nth: usize) -> Option<usize> {
        self.callers[call as usize].get(nth).copied()
    }

    /// Passes the session settings through every `init-session`, then every
    /// `auth-session`.
    pub fn prepare_session(
        &mut self,
        mut session: SessionSettings,
    ) -> Result<SessionSettings, HookFailure> {
        for call in [HookName::InitSession, HookName::AuthSession] {
            let mut nth = 0;
            while let Some(index) = self.caller(call, nth) {
                nth += 1;
                session = self.call(index, call, |hooks| {
                    let session = match call {
                        HookName::InitSession => hooks.init_session(session)?,
                        _ => hooks.auth_session(session)?,
                    };
                    check_headers(&session.headers)?;
                    Ok(session)
                })?;
            }
        }
        Ok(session)
    }

    /// Passes a request through every `authorize`; each must keep the
    /// job's origin (see [`crate::hooks`]).
    pub fn authorize(&mut self, mut request: Request) -> Result<Request, HookFailure> {
        let origin = JobOrigin::of(&request.url);
        let mut nth = 0;
        while let Some(index) = self.caller(HookName::Authorize, nth) {
            nth += 1;
            let factory = Arc::clone(&self.links[index].factory);
            request = self.call(index, HookName::Authorize, |hooks| {
                let request = hooks.authorize(request)?;
                let url = check_request(&request)?;
                if let Some(origin) = &origin {
                    origin.check(&url, factory.as_ref())?;
                }
                Ok(request)
            })?;
        }
        Ok(request)
    }

    /// Asks every `decide-retry` in turn; the first answer that is not
    /// `defer` wins.
    pub fn decide_retry(
        &mut self,
        request: &Request,
        outcome: &AttemptOutcome,
        attempt: &Attempt,
    ) -> Result<Decision, HookFailure> {
        let mut nth = 0;
        while let Some(index) = self.caller(HookName::DecideRetry, nth) {
            nth += 1;
            let decision = self.call(index, HookName::DecideRetry, |hooks| {
                let decision = hooks.decide_retry(request, outcome, attempt)?;
                check_decision(decision)
            })?;
            if decision != Decision::Defer {
                return Ok(decision);
            }
        }
        Ok(Decision::Defer)
    }

    /// Calls one link's instance, making it first if needed, and drops it if
    /// the call broke it. Logs every failure at info level.
    fn call<T>(
        &mut self,
        index: usize,
        call: HookName,
        f: impl FnOnce(&mut dyn Hooks) -> Result<T, HookError>,
    ) -> Result<T, HookFailure> {
        let worker = self.worker;
        let link = &mut self.links[index];
        let result = match link.instance.take() {
            Some(instance) => Ok(instance),
            None => link.factory.instantiate(worker),
        }
        .and_then(|mut instance| {
            let result = f(instance.as_mut());
            if !result.as_ref().is_err_and(HookError::is_broken) {
                link.instance = Some(instance);
            }
            result
        });
        result.map_err(|error| {
            let failure = HookFailure {
                hook: link.factory.name().to_owned(),
                call,
                error,
            };
            if failure.error.is_broken() {
                tracing::info!(worker, "{failure}; its instance is replaced");
            } else {
                tracing::info!(worker, "{failure}");
            }
            failure
        })
    }
}

/// Refuses headers over [`MAX_HEADERS`] or [`MAX_HEADER_BYTES`] (counted
/// first, before anything is copied of a huge answer), and names or values
/// that are not valid HTTP.
fn check_headers(headers: &[(String, String)]) -> Result<(), HookError> {
    if headers.len() > MAX_HEADERS {
        return Err(HookError::Invalid(format!(
            "{} header fields, more than the {MAX_HEADERS} the host accepts",
            headers.len()
        )));
    }
    let bytes: usize = headers
        .iter()
        .map(|(name, value)| name.len() + value.len())
        .sum();
    if bytes > MAX_HEADER_BYTES {
        return Err(HookError::Invalid(format!(
            "{bytes} bytes of headers, more than the {} KiB the host accepts",
            MAX_HEADER_BYTES >> 10
        )));
    }
    for (name, value) in headers {
        if HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(HookError::Invalid(format!(
                "header name {:?} is not valid HTTP (a name is one or more of the \
                 letters, digits and !#$%&'*+-.^_`|~)",
                shown(name)
            )));
        }
        if let Some((at, byte)) = value.bytes().enumerate().find(|(_, b)| !is_value_byte(*b)) {
            return Err(HookError::Invalid(format!(
                "header {name} has a value that is not valid HTTP (byte {byte:#04x} at {at})"
            )));
        }
    }
    Ok(())
}

/// Whether `byte` may appear in a header value: tab, and anything from
/// space up but DEL (the rule of the `http` crate the client uses).
fn is_value_byte(byte: u8) -> bool {
    byte == b'\t' || (byte >= b' ' && byte != 0x7f)
}

/// `name` cut to [`NAME_SHOWN`] characters, for a message.
fn shown(name: &str) -> String {
    match name.char_indices().nth(NAME_SHOWN) {
        Some((end, _)) => format!("{}...", &name[..end]),
        None => name.to_owned(),
    }
}

/// Refuses a retry later than [`MAX_RETRY_DELAY`].
fn check_decision(decision: Decision) -> Result<Decision, HookError> {
    match decision {
        Decision::RetryAfter(ms) if u128::from(ms) > MAX_RETRY_DELAY.as_millis() => {
            Err(HookError::Invalid(format!(
                "a retry after {ms} ms, later than the {} hours the host waits at most",
                MAX_RETRY_DELAY.as_secs() / 3600
            )))
        }
        decision => Ok(decision),
    }
}

/// Refuses a request that cannot be sent: bad headers, method, or URL
/// (one that does not parse, or not `http`/`https`). Returns the parsed
/// URL.
fn check_request(request: &Request) -> Result<reqwest::Url, HookError> {
    check_headers(&request.headers)?;
    if reqwest::Method::from_bytes(request.method.as_bytes()).is_err() {
        return Err(HookError::Invalid(format!(
            "method {:?} is not valid HTTP",
            request.method
        )));
    }
    match reqwest::Url::parse(&request.url) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => Ok(url),
        Ok(url) => Err(HookError::Invalid(format!(
            "URL scheme {:?} is not http or https",
            url.scheme()
        ))),
        Err(e) => Err(HookError::Invalid(format!("URL does not parse: {e}"))),
    }
}
