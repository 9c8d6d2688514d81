//! Native hooks: plain Rust closures in the role of one hook, for programs
//! that use the pool without WebAssembly (Python's `initializer=` and
//! `auth_generator=` callbacks).

use std::sync::Arc;

use super::{
    Attempt, AttemptOutcome, Decision, HookError, HookFactory, HookSet, Hooks, Instance, Request,
    SessionSettings,
};

type SessionFn = dyn Fn(SessionSettings) -> Result<SessionSettings, String> + Send + Sync;
type AuthorizeFn = dyn Fn(&mut Request) -> Result<(), String> + Send + Sync;
type DecideFn = dyn Fn(&Request, &AttemptOutcome, &Attempt) -> Decision + Send + Sync;

/// One closure playing one hook. Stateless across calls (share state through
/// the closure's captures if you need it); every worker calls the same
/// closure.
#[derive(Clone)]
pub struct NativeHook {
    name: String,
    call: NativeCall,
}

#[derive(Clone)]
enum NativeCall {
    InitSession(Arc<SessionFn>),
    AuthSession(Arc<SessionFn>),
    Authorize(Arc<AuthorizeFn>),
    DecideRetry(Arc<DecideFn>),
}

impl NativeHook {
    /// A session initializer (Python's `initializer`): called once per worker
    /// session with the settings it will be built from.
    pub fn initializer(
        name: impl Into<String>,
        f: impl Fn(SessionSettings) -> Result<SessionSettings, String> + Send + Sync + 'static,
    ) -> NativeHook {
        NativeHook {
            name: name.into(),
            call: NativeCall::InitSession(Arc::new(f)),
        }
    }

    /// An auth generator (Python's `auth_generator`): called once per worker
    /// session, after the initializers.
    pub fn auth_generator(
        name: impl Into<String>,
        f: impl Fn(SessionSettings) -> Result<SessionSettings, String> + Send + Sync + 'static,
    ) -> NativeHook {
        NativeHook {
            name: name.into(),
            call: NativeCall::AuthSession(Arc::new(f)),
        }
    }

    /// A per-attempt authorizer: edits the request to send (a refused
    /// edit's [`super::EditRefused`] converts into the `String` error).
    pub fn authorizer(
        name: impl Into<String>,
        f: impl Fn(&mut Request) -> Result<(), String> + Send + Sync + 'static,
    ) -> NativeHook {
        NativeHook {
            name: name.into(),
            call: NativeCall::Authorize(Arc::new(f)),
        }
    }

    /// A retry policy: after every attempt, retry, stop or defer.
    pub fn retry_policy(
        name: impl Into<String>,
        f: impl Fn(&Request, &AttemptOutcome, &Attempt) -> Decision + Send + Sync + 'static,
    ) -> NativeHook {
        NativeHook {
            name: name.into(),
            call: NativeCall::DecideRetry(Arc::new(f)),
        }
    }
}

impl HookFactory for NativeHook {
    fn name(&self) -> &str {
        &self.name
    }

    fn implements(&self) -> HookSet {
        match self.call {
            NativeCall::InitSession(_) => HookSet::INIT_SESSION,
            NativeCall::AuthSession(_) => HookSet::AUTH_SESSION,
            NativeCall::Authorize(_) => HookSet::AUTHORIZE,
            NativeCall::DecideRetry(_) => HookSet::DECIDE_RETRY,
        }
    }

    fn instantiate(&self, _worker: u32) -> Result<Instance, HookError> {
        Ok(self.call.clone().into())
    }
}

impl Hooks for NativeCall {
    fn init_session(&mut self, session: SessionSettings) -> Result<SessionSettings, HookError> {
        match self {
            NativeCall::InitSession(f) => f(session).map_err(HookError::Rejected),
            _ => Ok(session),
        }
    }

    fn auth_session(&mut self, session: SessionSettings) -> Result<SessionSettings, HookError> {
        match self {
            NativeCall::AuthSession(f) => f(session).map_err(HookError::Rejected),
            _ => Ok(session),
        }
    }

    fn authorize(&mut self, request: &mut Request) -> Result<(), HookError> {
        match self {
            NativeCall::Authorize(f) => f(request).map_err(HookError::Rejected),
            _ => Ok(()),
        }
    }

    fn decide_retry(
        &mut self,
        request: &Request,
        outcome: &AttemptOutcome,
        attempt: &Attempt,
    ) -> Result<Decision, HookError> {
        match self {
            NativeCall::DecideRetry(f) => Ok(f(request, outcome, attempt)),
            _ => Ok(Decision::Defer),
        }
    }
}
