//! A worker: one HTTP session, one instance of every hook, one job at a
//! time (a thread of Python's pool).
//!
//! For each job it takes: `authorize` hooks, send, read the response,
//! `decide-retry` hooks; then either the job is finished (exactly one result
//! sent) or it goes to the retry scheduler and the worker takes the next
//! job. The session is built on the first job, after the session hooks ran;
//! if that fails, the job fails and the next job tries again.
//!
//! A worker is a future its carrier thread polls (see `carrier.rs`): it
//! awaits the network, the channels and the send limits, and hands its hook
//! calls to the carrier, which makes them outside its runtime. A worker's
//! hook instances are only ever used by that worker, one call at a time, as
//! when each worker was a thread.

use std::cell::RefCell;
use std::panic::AssertUnwindSafe;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::PoolSettings;
use super::body;
use super::carrier::Outside;
use super::flow::{self, Ended, Finished, Reply, Task, ToScheduler, Tracker};
use crate::failure::{Failure, FailureKind};
use crate::hooks::{
    Attempt, AttemptFailure, AttemptOutcome, Decision, HookChain, HookName, Request, ResponseHead,
};
use crate::response::Response;
use crate::session::Session;

/// The channels a worker works between.
pub(crate) struct Lines {
    /// Closed by the scheduler when the run is over.
    pub jobs: async_channel::Receiver<Task>,
    pub results: async_channel::Sender<Finished>,
    pub scheduler: crossbeam_channel::Sender<ToScheduler>,
    pub tracker: Arc<Tracker>,
}

/// What became of one attempt.
enum Next {
    /// Try again after this long.
    Retry(Duration),
    /// The job is finished.
    Done(Ended),
}

/// Why an attempt got no response.
struct Fault {
    kind: FailureKind,
    message: String,
    /// Whether hooks may have the job tried again: not for a body over the
    /// limit, which another attempt would only read again.
    retryable: bool,
}

impl From<(FailureKind, String)> for Fault {
    fn from((kind, message): (FailureKind, String)) -> Fault {
        Fault {
            kind,
            message,
            retryable: true,
        }
    }
}

impl From<body::BodyError> for Fault {
    fn from(error: body::BodyError) -> Fault {
        let (kind, message) = error.describe();
        Fault {
            kind,
            message,
            retryable: error.retryable(),
        }
    }
}

/// A response or failure of one attempt.
type Received = Result<Reply, Fault>;

/// The request of one attempt, borrowed from the job or from what the
/// `authorize` hooks made of it.
struct Sending<'a> {
    method: &'a str,
    url: &'a str,
    /// Whether `url` is not the job's own: a hook rewrote it.
    rewritten: bool,
    headers: &'a [(String, String)],
    body: Option<&'a [u8]>,
}

/// The job as the hooks see it.
fn request_of(job: &crate::job::Job) -> Request {
    Request {
        method: job.method.clone(),
        url: job.url.clone(),
        headers: job.headers.clone(),
        body: job.body.clone(),
    }
}

pub(crate) struct Worker {
    id: u32,
    settings: Arc<PoolSettings>,
    /// Shared with the hook calls the carrier makes for this worker.
    chain: Rc<RefCell<HookChain>>,
    client: Option<Session>,
    lines: Lines,
    outside: Rc<Outside>,
}

impl Worker {
    pub fn new(id: u32, settings: Arc<PoolSettings>, lines: Lines, outside: Rc<Outside>) -> Worker {
        Worker {
            id,
            chain: Rc::new(RefCell::new(HookChain::new(&settings.hooks, id))),
            settings,
            client: None,
            lines,
            outside,
        }
    }

    /// Takes jobs until the run is over.
    pub async fn run(mut self) {
        // The run is only over when no job is left, so none is lost when
        // the channel closes.
        while let Ok(mut task) = self.lines.jobs.recv().await {
            let next = if let Some(message) = task.rejected.take() {
                Next::Done(Ended::Failure(FailureKind::Input, message))
            } else if self.lines.tracker.is_cancelled() {
                Next::Done(stopped(&mut task))
            } else {
                let attempt = AssertUnwindSafe(self.attempt(&mut task))
                    .catch_unwind()
                    .await;
                attempt.unwrap_or_else(|_| {
                    self.client = None;
                    let chain = HookChain::new(&self.settings.hooks, self.id);
                    self.chain = Rc::new(RefCell::new(chain));
                    Next::Done(Ended::Failure(
                        FailureKind::Other,
                        "internal error: the worker panicked on this job".into(),
                    ))
                })
            };
            match next {
                Next::Retry(delay) => {
                    let due = Instant::now() + delay;
                    if let Err(returned) = self.lines.scheduler.send(ToScheduler::Retry(task, due))
                    {
                        let ToScheduler::Retry(mut task, _) = returned.0 else {
                            unreachable!("sent a retry")
                        };
                        let shut_down = task.last.take().map_or_else(
                            || Ended::Failure(FailureKind::Other, "shut down".into()),
                            |last| *last,
                        );
                        self.finish(task, shut_down).await;
                    }
                }
                Next::Done(ended) => self.finish(task, ended).await,
            }
        }
    }

    /// Sends the job's one result and gives back its permit.
    async fn finish(&self, task: Task, ended: Ended) {
        let elapsed = task.started.map(|t| t.elapsed()).unwrap_or_default();
        let result = match ended {
            Ended::Response(reply) => Ok(Response {
                index: task.index,
                job: task.job,
                status: reply.status,
                headers: reply.headers,
                body: reply.body.data,
                bytes: reply.body.bytes,
                sha256: reply.body.sha256,
                body_path: reply.body.saved,
                attempts: task.attempts,
                elapsed,
            }),
            Ended::Failure(kind, message) => Err(Failure {
                index: task.index,
                job: task.job,
                kind,
                message,
                attempts: task.attempts,
                elapsed,
            }),
        };
        self.chain.borrow().job_ended();
        let _ = self.lines.results.send(result).await;
        self.lines.tracker.release();
        if self.lines.tracker.all_done() {
            let _ = self.lines.scheduler.send(ToScheduler::Check);
        }
    }

    /// Makes one attempt of `task`.
    async fn attempt(&mut self, task: &mut Task) -> Next {
        let started = *task.started.get_or_insert_with(Instant::now);
        task.attempts += 1;
        if self.client.is_none() {
            match self.open_session().await {
                Ok(client) => self.client = Some(client),
                Err((kind, message)) => return Next::Done(Ended::Failure(kind, message)),
            }
        }
        let job = &task.job;
        // Without `authorize` hooks the job is sent as it is, not copied.
        let authorized = if self.chain.borrow().has(HookName::Authorize) {
            let (chain, request) = (Rc::clone(&self.chain), request_of(job));
            let answer = self
                .outside
                .call(move || chain.borrow_mut().authorize(request))
                .await;
            match answer {
                Ok(request) => Some(request),
                Err(failure) => {
                    return Next::Done(Ended::Failure(FailureKind::Plugin, failure.to_string()));
                }
            }
        } else {
            None
        };
        let sending = match &authorized {
            Some(request) => Sending {
                method: &request.method,
                url: &request.url,
                rewritten: request.url != job.url,
                headers: &request.headers,
                body: request.body.as_deref(),
            },
            None => Sending {
                method: &job.method,
                url: &job.url,
                rewritten: false,
                headers: &job.headers,
                body: job.body.as_deref(),
            },
        };
        // A stopped run sends nothing more, also not what waits for the
        // limits to let it go.
        let tracker = &self.lines.tracker;
        let slot = match tracker
            .unless_cancelled(self.settings.limits.enter(sending.url))
            .await
        {
            Some(slot) if !tracker.is_cancelled() => slot,
            _ => {
                task.attempts -= 1;
                return Next::Done(stopped(task));
            }
        };
        let sent = Instant::now();
        let received = self.send(&sending, job.timeout, task.index).await;
        drop(slot);
        if received
            .as_ref()
            .is_err_and(|fault| fault.kind == FailureKind::Save)
        {
            // Every later body would fail the same way (a full disk).
            flow::cancel(tracker, &self.lines.scheduler);
        }
        let retryable = received.as_ref().err().is_none_or(|fault| fault.retryable);
        let status = received.as_ref().ok().map(|reply| reply.status);
        let mut retry = None;
        if retryable && self.chain.borrow().asks_about(status) {
            let attempt = Attempt {
                number: task.attempts,
                since_first_ms: millis(started.elapsed()),
                max_attempts: self.settings.max_attempts,
            };
            let outcome = match &received {
                Ok(reply) => AttemptOutcome::Response(ResponseHead {
                    status: reply.status,
                    headers: header_pairs(&reply.headers),
                    body_prefix: reply.body.prefix.clone(),
                    elapsed_ms: millis(sent.elapsed()),
                }),
                Err(fault) => AttemptOutcome::Failure(AttemptFailure {
                    kind: fault.kind.for_plugin(),
                    message: fault.message.clone(),
                }),
            };
            let request = authorized.unwrap_or_else(|| request_of(job));
            let chain = Rc::clone(&self.chain);
            let decision = self
                .outside
                .call(move || {
                    chain
                        .borrow_mut()
                        .decide_retry(&request, &outcome, &attempt)
                })
                .await;
            match decision {
                Ok(Decision::RetryAfter(ms)) if task.attempts < self.settings.max_attempts => {
                    retry = Some(Duration::from_millis(ms));
                }
                Ok(_) => {}
                Err(failure) => {
                    return Next::Done(Ended::Failure(FailureKind::Plugin, failure.to_string()));
                }
            }
        }
        let ended = match received {
            Ok(reply) => Ended::Response(reply),
            Err(fault) => Ended::Failure(fault.kind, fault.message),
        };
        match retry {
            Some(delay) => {
                task.last = Some(Box::new(ended));
                Next::Retry(delay)
            }
            None => Next::Done(ended),
        }
    }

    /// Runs the session hooks and builds this worker's client.
    async fn open_session(&mut self) -> Result<Session, (FailureKind, String)> {
        let mut settings = self.settings.session.clone();
        settings.worker = self.id;
        let chain = Rc::clone(&self.chain);
        let settings = self
            .outside
            .call(move || chain.borrow_mut().prepare_session(settings))
            .await
            .map_err(|failure| (FailureKind::Plugin, failure.to_string()))?;
        Session::open(
            &self.settings.constructor,
            &settings,
            self.settings.proxy.as_ref(),
        )
        .map_err(|message| (FailureKind::Other, message))
    }

    /// Sends one request of the job with `index` and reads its response.
    async fn send(&self, request: &Sending<'_>, timeout: Option<Duration>, index: u64) -> Received {
        let session = self.client.as_ref().expect("session opened before sending");
        let method = reqwest::Method::from_bytes(request.method.as_bytes()).map_err(|_| {
            (
                FailureKind::Input,
                format!("{:?} is not an HTTP method", request.method),
            )
        })?;
        // Messages name no URL: the record has the job's, and the one sent
        // may carry a secret a plugin put in it.
        let url = reqwest::Url::parse(request.url)
            .map_err(|e| (FailureKind::Input, format!("the URL is not valid: {e}")))?;
        let mut headers = HeaderMap::with_capacity(request.headers.len());
        for (name, value) in request.headers {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                (
                    FailureKind::Input,
                    format!("header name {name:?} is not valid"),
                )
            })?;
            let value = HeaderValue::from_str(value).map_err(|_| {
                (
                    FailureKind::Input,
                    format!("header {name} has an invalid value"),
                )
            })?;
            headers.append(name, value);
        }
        let rewritten_url = request.rewritten.then(|| url.clone());
        let mut builder = session.client().request(method, url).headers(headers);
        if let Some(body) = request.body {
            builder = builder.body(body.to_vec());
        }
        // The job's timeout, or the session's: it bounds the whole attempt,
        // the body included.
        if let Some(timeout) = timeout.or(session.timeout()) {
            builder = builder.timeout(timeout);
        }
        let proxy = self
            .settings
            .proxy
            .as_ref()
            .map(|proxy| proxy.origin.as_str());
        let mut response = builder.send().await.map_err(|e| {
            let kind = FailureKind::of(&e);
            (kind, client_error(e, rewritten_url.as_ref(), proxy))
        })?;
        let status = response.status().as_u16();
        let headers = std::mem::take(response.headers_mut());
        let prefix = self.chain.borrow().body_prefix();
        let body = body::read(&mut response, index, prefix, &self.settings.body).await?;
        Ok(Reply {
            status,
            headers,
            body,
        })
    }
}

/// How a job ends that the stopped run will not send again: with what its
/// last attempt got, or as cancelled if it had none.
fn stopped(task: &mut Task) -> Ended {
    match task.last.take() {
        Some(last) => *last,
        None => {
            let message = format!(
                "cancelled: the run was stopped before attempt {} was sent",
                task.attempts + 1
            );
            Ended::Failure(FailureKind::Cancelled, message)
        }
    }
}

/// A client error as a failure message. It names the URL it was about
/// unless that is `rewritten`, the URL a hook made of the job's: a plugin
/// may have put a secret in it (an API key, a signature), and the record
/// shows the job's URL anyway. With a `proxy` (its origin), a connection
/// that failed is the proxy's: the message names it, not the job's URL.
fn client_error(
    error: reqwest::Error,
    rewritten: Option<&reqwest::Url>,
    proxy: Option<&str>,
) -> String {
    if let Some(proxy) = proxy.filter(|_| error.is_connect()) {
        let chain = error_chain(&error.without_url());
        return if chain.contains("tunnel error: unsuccessful") {
            format!("the proxy {proxy} would not open a tunnel to the job's host: {chain}")
        } else {
            format!("cannot connect to the proxy {proxy}: {chain}")
        };
    }
    let error = match rewritten {
        Some(url) if error.url() == Some(url) => error.without_url(),
        _ => error,
    };
    error_chain(&error)
}

/// An error and its causes on one line: reqwest's own message alone rarely
/// says what happened.
pub(super) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect()
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
