//! One worker's hooks, in order, with the rules for composing them.
//!
//! Sessions and requests pass through every hook that implements the call,
//! in the order the hooks were added; the first retry decision that is not
//! `defer` wins. What a hook returns is checked before the next hook sees it,
//! so a bad header is blamed on the hook that made it. A broken instance
//! (trap, deadline, memory cap) is dropped and a fresh one is made on the
//! next call.

use std::sync::Arc;

use reqwest::header::{HeaderName, HeaderValue};

use super::{
    Attempt, AttemptOutcome, Decision, HookError, HookFactory, HookName, Hooks, Request,
    SessionSettings,
};

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

    /// Passes a request through every `authorize`.
    pub fn authorize(&mut self, mut request: Request) -> Result<Request, HookFailure> {
        let mut nth = 0;
        while let Some(index) = self.caller(HookName::Authorize, nth) {
            nth += 1;
            request = self.call(index, HookName::Authorize, |hooks| {
                let request = hooks.authorize(request)?;
                check_request(&request)?;
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
                hooks.decide_retry(request, outcome, attempt)
            })?;
            if decision != Decision::Defer {
                return Ok(decision);
            }
        }
        Ok(Decision::Defer)
    }

    /// Calls one link's instance, making it first if needed, and drops it if
    /// the call broke it.
    fn call<T>(
        &mut self,
        index: usize,
        call: HookName,
        f: impl FnOnce(&mut dyn Hooks) -> Result<T, HookError>,
    ) -> Result<T, HookFailure> {
        let worker = self.worker;
        let link = &mut self.links[index];
        let failure = |error| HookFailure {
            hook: link.factory.name().to_owned(),
            call,
            error,
        };
        if link.instance.is_none() {
            link.instance = Some(link.factory.instantiate(worker).map_err(failure)?);
        }
        let instance = link.instance.as_deref_mut().expect("instance made above");
        match f(instance) {
            Ok(value) => Ok(value),
            Err(error) => {
                if error.is_broken() {
                    link.instance = None;
                }
                Err(failure(error))
            }
        }
    }
}

fn check_headers(headers: &[(String, String)]) -> Result<(), HookError> {
    for (name, value) in headers {
        if HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(HookError::Invalid(format!(
                "header name {name:?} is not valid HTTP"
            )));
        }
        if HeaderValue::from_str(value).is_err() {
            return Err(HookError::Invalid(format!(
                "header {name} has a value that is not valid HTTP"
            )));
        }
    }
    Ok(())
}

fn check_request(request: &Request) -> Result<(), HookError> {
    check_headers(&request.headers)?;
    if reqwest::Method::from_bytes(request.method.as_bytes()).is_err() {
        return Err(HookError::Invalid(format!(
            "method {:?} is not valid HTTP",
            request.method
        )));
    }
    match reqwest::Url::parse(&request.url) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => Ok(()),
        Ok(url) => Err(HookError::Invalid(format!(
            "URL scheme {:?} is not http or https",
            url.scheme()
        ))),
        Err(e) => Err(HookError::Invalid(format!("URL does not parse: {e}"))),
    }
}
