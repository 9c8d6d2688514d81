//! One worker's instance of one hook: native code, called in place, or a
//! plugin, whose calls the worker awaits.

use std::future::Future;
use std::pin::Pin;

use super::{Attempt, AttemptOutcome, Decision, HookError, Hooks, Request, SessionSettings};

/// A hook instance that [`HookFactory::instantiate`](super::HookFactory::instantiate)
/// makes for one worker. Any [`Hooks`] type becomes one with `into()`.
/// Its calls are async: a plugin's run on the caller's tokio event loop
/// (with time enabled), which they yield to while they run.
pub struct Instance(Kind);

enum Kind {
    /// Native code: it answers at once, on the worker's carrier.
    Native(Box<dyn Hooks>),
    /// A plugin: its calls wait (for `host.fetch`, for a WASI sleep) and
    /// yield while they run, so the carrier serves its other workers
    /// meanwhile.
    Awaited(Box<dyn AwaitedHooks>),
}

impl<H: Hooks + 'static> From<H> for Instance {
    fn from(hooks: H) -> Instance {
        Instance(Kind::Native(Box::new(hooks)))
    }
}

impl From<Box<dyn Hooks>> for Instance {
    fn from(hooks: Box<dyn Hooks>) -> Instance {
        Instance(Kind::Native(hooks))
    }
}

/// A call of an awaited hook.
pub(crate) type Call<'a, T> = Pin<Box<dyn Future<Output = Result<T, HookError>> + 'a>>;

/// The four calls of [`Hooks`], for an instance the worker awaits (a
/// plugin's): each call may wait, and the worker's carrier goes on with
/// its other workers until it answers.
pub(crate) trait AwaitedHooks: Send {
    fn init_session(&mut self, session: SessionSettings) -> Call<'_, SessionSettings>;
    fn auth_session(&mut self, session: SessionSettings) -> Call<'_, SessionSettings>;
    fn authorize<'a>(&'a mut self, request: &'a mut Request) -> Call<'a, ()>;
    fn decide_retry<'a>(
        &'a mut self,
        request: &'a Request,
        outcome: &'a AttemptOutcome,
        attempt: &'a Attempt,
    ) -> Call<'a, Decision>;
}

impl Instance {
    /// An instance whose calls are awaited.
    pub(crate) fn awaited(hooks: impl AwaitedHooks + 'static) -> Instance {
        Instance(Kind::Awaited(Box::new(hooks)))
    }

    /// Calls `init_session` (see [`Hooks::init_session`]).
    pub async fn init_session(
        &mut self,
        session: SessionSettings,
    ) -> Result<SessionSettings, HookError> {
        match &mut self.0 {
            Kind::Native(hooks) => hooks.init_session(session),
            Kind::Awaited(hooks) => hooks.init_session(session).await,
        }
    }

    /// Calls `auth_session` (see [`Hooks::auth_session`]).
    pub async fn auth_session(
        &mut self,
        session: SessionSettings,
    ) -> Result<SessionSettings, HookError> {
        match &mut self.0 {
            Kind::Native(hooks) => hooks.auth_session(session),
            Kind::Awaited(hooks) => hooks.auth_session(session).await,
        }
    }

    /// Calls `authorize` (see [`Hooks::authorize`]).
    pub async fn authorize(&mut self, request: &mut Request) -> Result<(), HookError> {
        match &mut self.0 {
            Kind::Native(hooks) => hooks.authorize(request),
            Kind::Awaited(hooks) => hooks.authorize(request).await,
        }
    }

    /// Calls `decide_retry` (see [`Hooks::decide_retry`]).
    pub async fn decide_retry(
        &mut self,
        request: &Request,
        outcome: &AttemptOutcome,
        attempt: &Attempt,
    ) -> Result<Decision, HookError> {
        match &mut self.0 {
            Kind::Native(hooks) => hooks.decide_retry(request, outcome, attempt),
            Kind::Awaited(hooks) => hooks.decide_retry(request, outcome, attempt).await,
        }
    }
}
