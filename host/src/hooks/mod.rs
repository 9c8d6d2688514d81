//! Hooks: the code a worker runs around every request.
//!
//! Python's requests-toolbelt takes an `initializer` and an `auth_generator`
//! callback and leaves retries to the caller. Here the same three roles are
//! one interface, [`Hooks`], with four calls: `init_session` and
//! `auth_session` once per worker session, `authorize` before every attempt,
//! and `decide_retry` after every attempt. A hook is either a sandboxed
//! WebAssembly plugin ([`crate::plugin::Plugin`]) or native Rust code
//! (closures through [`NativeHook`], or your own [`HookFactory`]).
//!
//! What a hook does is checked before it is used. A session it returns is
//! checked by the chain of the worker's hooks: headers valid HTTP, within
//! [`MAX_HEADERS`] fields and [`MAX_HEADER_BYTES`], none of the headers
//! that are the host's alone (`Host`, `Content-Length`,
//! `Transfer-Encoding`, `Connection`, ...), a user agent that is a valid
//! header value, cookies with valid names and values. A request is edited
//! in place, each edit checked as it is made by [`Request`] itself (the
//! same rules; `Host` only naming the URL's own authority or as the
//! operator gave it; a new URL in the form it is sent in), and when
//! `authorize` returns, the chain checks that the URL keeps the origin it
//! was given — it may change the URL's path, query and fragment, not its
//! scheme, host or port, unless the hook's [`HookFactory::may_send_to`]
//! admits the new one (for a plugin: an origin the operator granted it
//! with `--plugin-allow-host`). A check that fails is the hook's failure,
//! [`HookError::Invalid`] (for a plugin, the refused edit's message it
//! returns), for that one request. A retry asked for more than
//! [`MAX_RETRY_DELAY`] ahead is not a failure: the job ends with the
//! attempt it has (a 429 with a `Retry-After` of days stays the job's
//! response).
//!
//! Credentials are given for the job's origin: a hook's `authorize` is
//! asked about a request only while it goes there or to an origin the hook
//! may send to, so after a redirect to another origin (the worker follows
//! redirects hop by hop, each hop through the chain) what a hook adds
//! stays behind.
//!
//! Each worker owns one [`Hooks`] instance per hook, made by its
//! [`HookFactory`], so an instance may keep state (a cached token, a nonce
//! count) without locks. Hooks run in the order they were added: sessions and
//! requests pass through each in turn, and the first retry decision that is
//! not [`Decision::Defer`] wins.

mod budget;
mod chain;
mod framing;
mod instance;
mod native;
mod origin;
mod outcome;
mod request;

pub use budget::RetryBudget;
pub use chain::{MAX_HEADER_BYTES, MAX_HEADERS, MAX_RETRY_DELAY};
// The chain is the pool's own. The fuzz target of plugin answers drives it
// directly; cargo-fuzz builds with `--cfg fuzzing`.
#[cfg(not(fuzzing))]
pub(crate) use chain::HookChain;
#[cfg(fuzzing)]
pub use chain::{HookChain, HookFailure};
pub use instance::Instance;
pub(crate) use instance::{AwaitedHooks, Call};
pub use native::NativeHook;
pub(crate) use origin::same_origin;

pub use outcome::{AttemptFailure, AttemptFailureKind, AttemptOutcome, ResponseHead};
pub use request::{EditRefused, Request};

pub use crate::wit::toolbelt::plugin::types::{
    Attempt, Cookie, Decision, HookSet, SessionSettings,
};

/// Which hook of the four is running; named in failure messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HookName {
    /// Once per session, first (Python's `initializer`).
    InitSession,
    /// Once per session, after every `init-session` (Python's `auth_generator`).
    AuthSession,
    /// Before every attempt.
    Authorize,
    /// After every attempt.
    DecideRetry,
}

impl HookName {
    /// The four calls, in the order the WIT lists them.
    pub const ALL: [HookName; 4] = [
        HookName::InitSession,
        HookName::AuthSession,
        HookName::Authorize,
        HookName::DecideRetry,
    ];

    /// The hook's name as the WIT spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            HookName::InitSession => "init-session",
            HookName::AuthSession => "auth-session",
            HookName::Authorize => "authorize",
            HookName::DecideRetry => "decide-retry",
        }
    }

    /// Whether this is one of the two calls made once per session.
    pub fn is_session(self) -> bool {
        matches!(self, HookName::InitSession | HookName::AuthSession)
    }

    /// The flag that says a hook implements this call.
    pub fn flag(self) -> HookSet {
        match self {
            HookName::InitSession => HookSet::INIT_SESSION,
            HookName::AuthSession => HookSet::AUTH_SESSION,
            HookName::Authorize => HookSet::AUTHORIZE,
            HookName::DecideRetry => HookSet::DECIDE_RETRY,
        }
    }

    /// The hooks in `set`, named as the WIT spells them and separated by
    /// commas (`"init-session, authorize"`), or `"none"`: for operators.
    pub fn list(set: HookSet) -> String {
        let names: Vec<&str> = HookName::ALL
            .into_iter()
            .filter(|name| set.contains(name.flag()))
            .map(HookName::as_str)
            .collect();
        if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        }
    }
}

impl std::fmt::Display for HookName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a hook call did not give a usable answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HookError {
    /// The hook ran and returned an error of its own.
    #[error("{0}")]
    Rejected(String),
    /// The hook's answer or edit broke a rule of the host (an invalid
    /// header, a URL that cannot be fetched).
    #[error("invalid result: {0}")]
    Invalid(String),
    /// The hook trapped, ran past its deadline or past its memory cap; its
    /// instance is unusable and is replaced before the next call.
    #[error("{0}")]
    Broken(String),
}

impl From<EditRefused> for HookError {
    fn from(refused: EditRefused) -> HookError {
        HookError::Invalid(refused.to_string())
    }
}

impl HookError {
    /// Whether the instance that raised this error must be replaced.
    pub fn is_broken(&self) -> bool {
        matches!(self, HookError::Broken(_))
    }
}

/// One worker's native instance of a hook. Only that worker calls it, one
/// call at a time, in place on its carrier's thread (so it should not
/// block: see [`crate::PoolBuilder::threads`]); every method has the
/// neutral default, and
/// [`HookFactory::implements`] tells the worker which ones are worth calling.
pub trait Hooks: Send {
    /// Changes the settings a worker's session is built from.
    fn init_session(&mut self, session: SessionSettings) -> Result<SessionSettings, HookError> {
        Ok(session)
    }

    /// Adds session-wide credentials, after every hook's `init_session`.
    fn auth_session(&mut self, session: SessionSettings) -> Result<SessionSettings, HookError> {
        Ok(session)
    }

    /// Edits the request to send for this attempt (see [`Request`] for
    /// what may change).
    fn authorize(&mut self, _request: &mut Request) -> Result<(), HookError> {
        Ok(())
    }

    /// Says whether to retry after an attempt.
    fn decide_retry(
        &mut self,
        _request: &Request,
        _outcome: &AttemptOutcome,
        _attempt: &Attempt,
    ) -> Result<Decision, HookError> {
        Ok(Decision::Defer)
    }
}

/// What a hook's `decide_retry` wants to see, and the retry budget it
/// spends from. The default: every outcome, no body, no budget.
#[derive(Clone, Debug, Default)]
pub struct RetryInterest {
    /// Inclusive ranges of the response statuses `decide_retry` is asked
    /// about; empty for all. Attempts without a response are always asked.
    pub statuses: Vec<(u16, u16)>,
    /// How many leading bytes of each body it sees in
    /// [`ResponseHead::body_prefix`].
    pub body_prefix: usize,
    /// The budget its instances share, refilled as jobs end.
    pub budget: Option<std::sync::Arc<RetryBudget>>,
}

impl RetryInterest {
    /// The most body bytes any hook may ask to see.
    pub const BODY_PREFIX_MAX: usize = 64 * 1024;

    /// Whether `decide_retry` is asked about a response with `status`.
    pub fn wants(&self, status: u16) -> bool {
        self.statuses.is_empty()
            || self
                .statuses
                .iter()
                .any(|&(low, high)| (low..=high).contains(&status))
    }
}

/// Makes one [`Hooks`] instance per worker, and a fresh one after an
/// instance broke. Shared by all workers.
pub trait HookFactory: Send + Sync {
    /// The name shown in logs and failure messages.
    fn name(&self) -> &str;

    /// Which calls the instances implement.
    fn implements(&self) -> HookSet;

    /// Which outcomes `decide_retry` is asked about; every one by default.
    fn retry_interest(&self) -> RetryInterest {
        RetryInterest::default()
    }

    /// A new instance for `worker`: any [`Hooks`] type, made one with
    /// `into()`.
    fn instantiate(&self, worker: u32) -> Result<Instance, HookError>;

    /// Whether `authorize` may send a request for `from` to `to`, whose
    /// origin (scheme, host, port) is not `from`'s, and whether the hook is
    /// asked to authorize a redirect to `to` at all. By default it may not:
    /// a hook may change a URL's path and query (signing schemes add
    /// parameters), but not where the request goes, so a hook cannot send
    /// a job's credentials and body elsewhere, nor are its credentials
    /// added to a request that a redirect took to another origin. See
    /// [`crate::hooks`] on origins.
    fn may_send_to(&self, _from: &reqwest::Url, _to: &reqwest::Url) -> bool {
        false
    }
}
