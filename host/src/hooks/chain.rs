//! One worker's hooks, in order, with the rules for composing them.
//!
//! Sessions and requests pass through every hook that implements the call,
//! in the order the hooks were added; the first retry decision that is not
//! `defer` wins. What a hook returns is checked before the next hook sees it,
//! so a bad header is blamed on the hook that made it. A broken instance
//! (trap, deadline, memory cap) is dropped and a fresh one is made on the
//! next call, which first gets the session calls its predecessor got (the
//! same settings in, the answers dropped: the session is open), so state a
//! hook keeps from them (a login, a nonce) is made again. Every failure is logged at info level (`-v`), naming the hook
//! and the call.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;

use super::{
    Attempt, AttemptOutcome, Decision, HookError, HookFactory, HookName, Instance, Request,
    RetryBudget, RetryInterest, SessionSettings,
};
use super::{framing, origin};
use crate::wire;

/// The most header fields a hook may return in one request or session.
/// Servers refuse far fewer (often 100); the limit is there so that a
/// hook cannot make the host build and send an absurd request.
pub const MAX_HEADERS: usize = 1000;

/// The most bytes of header names and values, together, a hook may return
/// in one request or session: 256 KiB, past what any server accepts
/// (commonly 8 to 64 KiB), enough for the largest real tokens.
pub const MAX_HEADER_BYTES: usize = 256 << 10;

/// The longest wait before a retry the host keeps: one day. Longer is not
/// a wait but a hang of the run (and `u64::MAX` milliseconds is past what
/// a clock can add), so a job asked to wait longer ends with the attempt
/// it has, as if the hook had said `done`.
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(24 * 60 * 60);

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
    /// The most body bytes any `decide_retry` wants to see.
    body_prefix: usize,
    /// The retry budgets of the hooks, refilled as jobs end.
    budgets: Vec<Arc<RetryBudget>>,
}

struct Link {
    factory: Arc<dyn HookFactory>,
    instance: Option<Instance>,
    /// Which outcomes its `decide_retry` is asked about.
    interest: RetryInterest,
    /// The settings its `init_session` and `auth_session` were last given,
    /// for an instance that replaces a broken one.
    sessions: [Option<SessionSettings>; 2],
    /// Whether the next instance replaces a broken one.
    replacing: bool,
}

impl Link {
    /// The link's instance for `call`, made first if there is none. One
    /// that replaces a broken instance is given its session calls again
    /// first (unless `call` is one of them), their answers checked as
    /// ever; a failure names the call that failed.
    async fn ready(
        &mut self,
        worker: u32,
        call: HookName,
    ) -> Result<&mut Instance, (HookName, HookError)> {
        if self.instance.is_none() {
            let mut instance = self.factory.instantiate(worker).map_err(|e| (call, e))?;
            if std::mem::take(&mut self.replacing) && !call.is_session() {
                let replayed = self.replay(&mut instance).await;
                // Until a replacement has had its sessions, the next is one.
                self.replacing = replayed.is_err();
                replayed?;
            }
            self.instance = Some(instance);
        }
        Ok(self.instance.as_mut().expect("made above"))
    }

    /// Gives `instance` the session calls this link's last instance got.
    async fn replay(&self, instance: &mut Instance) -> Result<(), (HookName, HookError)> {
        for (slot, call) in [HookName::InitSession, HookName::AuthSession]
            .into_iter()
            .enumerate()
        {
            let Some(session) = self.sessions[slot].clone() else {
                continue;
            };
            let answer = match call {
                HookName::InitSession => instance.init_session(session).await,
                _ => instance.auth_session(session).await,
            };
            answer
                .and_then(|session| check_session(&session))
                .map_err(|error| (call, error))?;
        }
        Ok(())
    }
}

impl HookChain {
    /// A chain for `worker` over `factories`; instances are made on first use.
    pub fn new(factories: &[Arc<dyn HookFactory>], worker: u32) -> HookChain {
        let links: Vec<Link> = factories
            .iter()
            .map(|factory| Link {
                factory: Arc::clone(factory),
                instance: None,
                interest: factory.retry_interest(),
                sessions: [None, None],
                replacing: false,
            })
            .collect();
        let callers: [Vec<usize>; 4] = HookName::ALL.map(|call| {
            (0..factories.len())
                .filter(|&index| factories[index].implements().contains(call.flag()))
                .collect()
        });
        let body_prefix = callers[HookName::DecideRetry as usize]
            .iter()
            .map(|&index| links[index].interest.body_prefix)
            .max()
            .unwrap_or(0)
            .min(RetryInterest::BODY_PREFIX_MAX);
        let budgets = links
            .iter()
            .filter_map(|link| link.interest.budget.clone())
            .collect();
        HookChain {
            worker,
            links,
            callers,
            body_prefix,
            budgets,
        }
    }

    /// How many leading body bytes the `decide_retry` hooks want to see:
    /// the most any of them does (each is given its own share).
    pub fn body_prefix(&self) -> usize {
        self.body_prefix
    }

    /// Whether any `decide_retry` is asked about an attempt that ended with
    /// a response of `status`, or with no response (`None`): when none is,
    /// the worker need not even describe the outcome.
    pub fn asks_about(&self, status: Option<u16>) -> bool {
        self.callers[HookName::DecideRetry as usize]
            .iter()
            .any(|&index| status.is_none_or(|status| self.links[index].interest.wants(status)))
    }

    /// A job has ended: refills the hooks' retry budgets.
    pub fn job_ended(&self) {
        for budget in &self.budgets {
            budget.credit();
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
    pub async fn prepare_session(
        &mut self,
        mut session: SessionSettings,
    ) -> Result<SessionSettings, HookFailure> {
        for (slot, call) in [HookName::InitSession, HookName::AuthSession]
            .into_iter()
            .enumerate()
        {
            let mut nth = 0;
            while let Some(index) = self.caller(call, nth) {
                nth += 1;
                self.links[index].sessions[slot] = Some(session.clone());
                session = self
                    .call(index, call, async |hooks: &mut Instance| {
                        let session = match call {
                            HookName::InitSession => hooks.init_session(session).await?,
                            _ => hooks.auth_session(session).await?,
                        };
                        check_session(&session)?;
                        Ok(session)
                    })
                    .await?;
            }
        }
        Ok(session)
    }

    /// Passes `request`, whose URL parses as `url`, through every
    /// `authorize` that may see it, for a job whose own URL is `job`.
    /// Returns the URL to send it to, parsed.
    ///
    /// A hook sees a request only while it goes to the job's origin or to
    /// one granted to the hook (see [`crate::hooks`] on origins): the
    /// credentials a hook adds are for those. Its edits are checked as it
    /// makes them (see [`Request`]); a URL it changed is checked here, as
    /// only the chain knows where the hook may send.
    pub async fn authorize(
        &mut self,
        request: &mut Request,
        mut url: Url,
        job: &Url,
    ) -> Result<Url, HookFailure> {
        let mut nth = 0;
        while let Some(index) = self.caller(HookName::Authorize, nth) {
            nth += 1;
            let factory = Arc::clone(&self.links[index].factory);
            if !origin::may_see(factory.as_ref(), job, &url) {
                continue;
            }
            url = self
                .call(index, HookName::Authorize, async |hooks: &mut Instance| {
                    hooks.authorize(request).await?;
                    if request.url() == url.as_str() {
                        return Ok(url);
                    }
                    let sent = wire::parse_url(request.url()).map_err(invalid)?;
                    origin::check(&url, &sent, factory.as_ref())?;
                    Ok(sent)
                })
                .await?;
        }
        Ok(url)
    }

    /// Asks every `decide-retry` in turn; the first answer that is not
    /// `defer` wins.
    pub async fn decide_retry(
        &mut self,
        request: &Request,
        outcome: &AttemptOutcome,
        attempt: &Attempt,
    ) -> Result<Decision, HookFailure> {
        let status = match outcome {
            AttemptOutcome::Response(response) => Some(response.status),
            AttemptOutcome::Failure(_) => None,
        };
        let mut nth = 0;
        while let Some(index) = self.caller(HookName::DecideRetry, nth) {
            nth += 1;
            let interest = &self.links[index].interest;
            if status.is_some_and(|status| !interest.wants(status)) {
                continue;
            }
            // Each hook sees as much of the body as it asked for, not what
            // the hungriest hook of the chain did.
            let cut = match outcome {
                AttemptOutcome::Response(head) if head.body_prefix.len() > interest.body_prefix => {
                    let mut head = head.clone();
                    head.body_prefix.truncate(interest.body_prefix);
                    Some(AttemptOutcome::Response(head))
                }
                _ => None,
            };
            let seen = cut.as_ref().unwrap_or(outcome);
            let decision = self
                .call(
                    index,
                    HookName::DecideRetry,
                    async |hooks: &mut Instance| hooks.decide_retry(request, seen, attempt).await,
                )
                .await?;
            let decision = self.within_reach(index, decision);
            if decision != Decision::Defer {
                return Ok(decision);
            }
        }
        Ok(Decision::Defer)
    }

    /// A retry later than [`MAX_RETRY_DELAY`] is no retry: the job ends
    /// with the attempt it has (a 429 whose `Retry-After` is days ahead
    /// stays the job's response), and the hook is not blamed for it.
    fn within_reach(&self, index: usize, decision: Decision) -> Decision {
        match decision {
            Decision::RetryAfter(ms) if u128::from(ms) > MAX_RETRY_DELAY.as_millis() => {
                tracing::info!(
                    worker = self.worker,
                    "plugin {}: {}: a retry after {ms} ms is later than the {} hours the \
                     host waits at most; the job ends with this attempt",
                    self.links[index].factory.name(),
                    HookName::DecideRetry,
                    MAX_RETRY_DELAY.as_secs() / 3600
                );
                Decision::Done
            }
            decision => decision,
        }
    }

    /// Calls one link's instance, making it first if needed, and drops it if
    /// the call broke it. Logs every failure at info level.
    async fn call<T>(
        &mut self,
        index: usize,
        call: HookName,
        f: impl AsyncFnOnce(&mut Instance) -> Result<T, HookError>,
    ) -> Result<T, HookFailure> {
        let worker = self.worker;
        let link = &mut self.links[index];
        let result = match link.ready(worker, call).await {
            Ok(instance) => f(instance).await.map_err(|error| (call, error)),
            Err(failed) => Err(failed),
        };
        if result.as_ref().is_err_and(|(_, error)| error.is_broken()) {
            link.instance = None;
            link.replacing = true;
        }
        result.map_err(|(call, error)| {
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
        wire::check_header(name, value).map_err(invalid)?;
    }
    Ok(())
}

/// Refuses session settings the HTTP client cannot be built with: bad
/// headers (see [`check_headers`]), a user agent that is not a valid
/// header value, or a cookie whose name or value cannot be sent. Left to the client, the session would fail to open with
/// an error that names no hook, for every job of the worker.
fn check_session(session: &SessionSettings) -> Result<(), HookError> {
    check_headers(&session.headers)?;
    framing::check_session(&session.headers)?;
    for cookie in &session.cookies {
        crate::cookies::check_cookie(&cookie.name, &cookie.value).map_err(HookError::Invalid)?;
    }
    if let Some(agent) = &session.user_agent {
        wire::check_header("User-Agent", agent).map_err(invalid)?;
    }
    Ok(())
}

/// A check's error as the hook's answer being invalid.
fn invalid(error: impl std::fmt::Display) -> HookError {
    HookError::Invalid(error.to_string())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::hooks::{AttemptFailure, AttemptFailureKind, HookSet, Hooks, ResponseHead};

    /// The answer of a chain of native hooks, which answer at once.
    fn now<F: std::future::Future>(future: F) -> F::Output {
        let mut context = std::task::Context::from_waker(std::task::Waker::noop());
        match std::pin::pin!(future).poll(&mut context) {
            std::task::Poll::Ready(output) => output,
            std::task::Poll::Pending => panic!("a native hook waited"),
        }
    }

    /// A retry hook asked only about 5xx, counting its calls.
    struct ServerErrors {
        calls: Arc<AtomicU32>,
        budget: Arc<RetryBudget>,
    }

    impl HookFactory for ServerErrors {
        fn name(&self) -> &str {
            "server-errors"
        }
        fn implements(&self) -> HookSet {
            HookSet::DECIDE_RETRY
        }
        fn retry_interest(&self) -> RetryInterest {
            RetryInterest {
                statuses: vec![(500, 599)],
                body_prefix: 32,
                budget: Some(Arc::clone(&self.budget)),
            }
        }
        fn instantiate(&self, _worker: u32) -> Result<Instance, HookError> {
            Ok(Counting(Arc::clone(&self.calls)).into())
        }
    }

    struct Counting(Arc<AtomicU32>);

    impl Hooks for Counting {
        fn decide_retry(
            &mut self,
            _request: &Request,
            _outcome: &AttemptOutcome,
            _attempt: &Attempt,
        ) -> Result<Decision, HookError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(Decision::Done)
        }
    }

    fn response(status: u16) -> AttemptOutcome {
        AttemptOutcome::Response(ResponseHead {
            status,
            headers: Vec::new(),
            body_prefix: Vec::new(),
            elapsed_ms: 1,
        })
    }

    /// Found by the `plugin_answers` fuzz target: a user agent with a
    /// control character passed the chain, and every session of the worker
    /// then failed to open with an error that named no hook.
    #[test]
    fn a_user_agent_that_is_not_a_header_value_is_the_hooks_failure() {
        let hook: Arc<dyn HookFactory> = Arc::new(crate::hooks::NativeHook::initializer(
            "agent",
            |mut session: SessionSettings| {
                session.user_agent = Some("7A7C\u{1}".to_owned());
                Ok(session)
            },
        ));
        let mut chain = HookChain::new(&[hook], 0);
        let failure = now(chain.prepare_session(crate::session::default_settings())).unwrap_err();
        assert_eq!(failure.hook, "agent");
        assert_eq!(failure.call, HookName::InitSession);
        assert!(matches!(failure.error, HookError::Invalid(_)), "{failure}");
        assert!(
            failure
                .to_string()
                .contains("header User-Agent has a value that is not valid HTTP"),
            "{failure}"
        );
    }

    /// A retry hook that notes how much of the body it was shown.
    struct Peeking {
        prefix: usize,
        seen: Arc<std::sync::Mutex<Vec<usize>>>,
    }

    impl HookFactory for Peeking {
        fn name(&self) -> &str {
            "peeking"
        }
        fn implements(&self) -> HookSet {
            HookSet::DECIDE_RETRY
        }
        fn retry_interest(&self) -> RetryInterest {
            RetryInterest {
                body_prefix: self.prefix,
                ..RetryInterest::default()
            }
        }
        fn instantiate(&self, _worker: u32) -> Result<Instance, HookError> {
            Ok(Peek(Arc::clone(&self.seen)).into())
        }
    }

    struct Peek(Arc<std::sync::Mutex<Vec<usize>>>);

    impl Hooks for Peek {
        fn decide_retry(
            &mut self,
            _request: &Request,
            outcome: &AttemptOutcome,
            _attempt: &Attempt,
        ) -> Result<Decision, HookError> {
            if let AttemptOutcome::Response(head) = outcome {
                self.0.lock().unwrap().push(head.body_prefix.len());
            }
            Ok(Decision::Defer)
        }
    }

    #[test]
    fn each_retry_hook_sees_only_the_body_prefix_it_asked_for() {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let hooks: Vec<Arc<dyn HookFactory>> = [0, 8, 32]
            .map(|prefix| {
                Arc::new(Peeking {
                    prefix,
                    seen: Arc::clone(&seen),
                }) as Arc<dyn HookFactory>
            })
            .into();
        let mut chain = HookChain::new(&hooks, 0);
        assert_eq!(
            chain.body_prefix(),
            32,
            "the worker reads the most any asks"
        );
        let request = Request::new("GET", "http://127.0.0.1/", Vec::new(), None);
        let outcome = AttemptOutcome::Response(ResponseHead {
            status: 503,
            headers: Vec::new(),
            body_prefix: vec![b'x'; 32],
            elapsed_ms: 1,
        });
        let attempt = Attempt {
            number: 1,
            since_first_ms: 0,
            max_attempts: 3,
        };
        now(chain.decide_retry(&request, &outcome, &attempt)).unwrap();
        assert_eq!(*seen.lock().unwrap(), [0, 8, 32]);
    }

    #[test]
    fn decide_retry_is_asked_only_about_what_it_wants() {
        let calls = Arc::new(AtomicU32::new(0));
        let budget = Arc::new(RetryBudget::new(1, 1000));
        let factory: Arc<dyn HookFactory> = Arc::new(ServerErrors {
            calls: Arc::clone(&calls),
            budget: Arc::clone(&budget),
        });
        let mut chain = HookChain::new(&[factory], 0);
        let request = Request::new("GET", "http://127.0.0.1/", Vec::new(), None);
        let attempt = Attempt {
            number: 1,
            since_first_ms: 0,
            max_attempts: 3,
        };
        assert!(!chain.asks_about(Some(200)));
        assert!(chain.asks_about(Some(503)) && chain.asks_about(None));
        assert_eq!(chain.body_prefix(), 32);
        let decided = now(chain.decide_retry(&request, &response(200), &attempt));
        assert_eq!(decided.unwrap(), Decision::Defer, "not asked: defer");
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        now(chain.decide_retry(&request, &response(503), &attempt)).unwrap();
        let failure = AttemptOutcome::Failure(AttemptFailure {
            kind: AttemptFailureKind::Reset,
            message: "reset".into(),
        });
        now(chain.decide_retry(&request, &failure, &attempt)).unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert!(budget.spend());
        assert!(!budget.spend());
        chain.job_ended();
        assert!(budget.spend(), "a job that ends refills the hook's budget");
    }
}
