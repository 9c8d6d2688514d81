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
//! awaits the network, the channels, the send limits and its plugins' calls
//! (which yield while they run). A worker's hook instances are only ever
//! used by that worker, one call at a time, as when each worker was a
//! thread.

use std::panic::AssertUnwindSafe;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::FutureExt;
use reqwest::Url;
use reqwest::header::{ACCEPT_ENCODING, AUTHORIZATION, COOKIE, HeaderMap, HeaderValue};

use super::PoolSettings;
use super::body;
use super::decode::{self, Coding};
use super::flow::{self, Arrived, Ended, Entry, Finished, Reply, Task, ToScheduler, Tracker};
use super::limits::{Entered, Held, HostSlot};
use super::pauses::Pauses;
use super::redirect::{self, Hop};
use crate::cookies::{Cookie, RequestCookies, cookie_header};
use crate::failure::{Failure, FailureKind, error_chain};
use crate::hooks::{
    Attempt, AttemptFailure, AttemptOutcome, Decision, HookChain, HookName, Request, ResponseHead,
    same_origin,
};
use crate::job::BasicAuth;
use crate::response::Response;
use crate::session::Session;
use crate::wire;

/// The channels a worker works between.
pub(crate) struct Lines {
    /// Closed by the scheduler when the run is over.
    pub jobs: async_channel::Receiver<Entry>,
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
    /// Whether the run was stopped before this attempt sent anything: the
    /// attempt does not count, and the job ends as it stood before it.
    unsent: bool,
}

impl From<(FailureKind, String)> for Fault {
    fn from((kind, message): (FailureKind, String)) -> Fault {
        Fault {
            kind,
            message,
            retryable: true,
            unsent: false,
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
            unsent: false,
        }
    }
}

/// The request of one hop, borrowed from the job (or the hop a redirect
/// made of it) or from what the `authorize` hooks made of that.
struct Sending<'a> {
    method: &'a str,
    url: &'a Url,
    /// Whether `url` is not the hop's own: a hook rewrote it.
    rewritten: bool,
    headers: &'a [(String, String)],
    /// Shared with the job: a clone is a reference count.
    body: Option<Bytes>,
    /// Whether the session's headers go too: only to the job's origin.
    session_headers: bool,
    /// The job's Basic credentials, when the hop goes to its origin.
    auth: Option<&'a BasicAuth>,
    /// The job's own cookies, when the hop goes to its origin.
    cookies: Option<&'a RequestCookies>,
}

pub(crate) struct Worker {
    id: u32,
    settings: Arc<PoolSettings>,
    chain: HookChain,
    client: Option<Session>,
    lines: Lines,
    /// The slot of the job's host the attempt under way holds, when hosts
    /// are capped (see `limits`).
    host_slot: Option<HostSlot>,
}

impl Worker {
    pub fn new(id: u32, settings: Arc<PoolSettings>, lines: Lines) -> Worker {
        Worker {
            id,
            chain: HookChain::new(&settings.hooks, id),
            settings,
            client: None,
            lines,
            host_slot: None,
        }
    }

    /// Takes jobs until the run is over: first those parked for a host
    /// that has a slot free again (see `limits`), then new ones.
    pub async fn run(mut self) {
        loop {
            let cancelled = self.lines.tracker.is_cancelled();
            let entry = match self.settings.limits.ready(cancelled) {
                Some(task) => Entry::Job(task),
                // The run is only over when no job is left, so none is
                // lost when the channel closes.
                None => match self.lines.jobs.recv().await {
                    Ok(entry) => entry,
                    Err(_) => break,
                },
            };
            let mut task = match entry {
                Entry::Job(task) => task,
                Entry::Ended(failure) => {
                    self.deliver(Err(failure)).await;
                    continue;
                }
            };
            let next = if self.lines.tracker.is_cancelled() {
                Next::Done(stopped(&mut task))
            } else {
                let Some((admitted, slot)) = self.admitted(task).await else {
                    continue;
                };
                task = admitted;
                self.host_slot = slot;
                let attempt = AssertUnwindSafe(self.attempt(&mut task))
                    .catch_unwind()
                    .await;
                self.host_slot = None;
                attempt.unwrap_or_else(|_| {
                    self.client = None;
                    self.chain = HookChain::new(&self.settings.hooks, self.id);
                    Next::Done(Ended::Failure(
                        FailureKind::Other,
                        "internal error: the worker panicked on this job".into(),
                    ))
                })
            };
            match next {
                Next::Retry(delay) if self.settings.hand_out_retries => {
                    self.hand_out_retry(task, delay).await;
                }
                Next::Retry(delay) => self.schedule(task, Instant::now() + delay).await,
                Next::Done(ended) => self.finish(task, ended).await,
            }
        }
    }

    /// The send limits' word on `task` (see `limits`): the task back, with
    /// the slot of its host it holds, if its attempt may start now. Else
    /// `None`: it waits where the limits put it (parked for its host's cap,
    /// or in the scheduler until its origin's pause or cool-down ends), or
    /// it ended, its origin paused or broken for longer than the run waits.
    async fn admitted(&self, task: Task) -> Option<(Task, Option<HostSlot>)> {
        match self.settings.limits.admit(task) {
            Ok(admitted) => Some(admitted),
            Err(Held::Parked) => None,
            Err(Held::Paused(task, until)) => {
                self.schedule(*task, until).await;
                None
            }
            Err(Held::Refused(mut task, kind, message)) => {
                let ended = task
                    .last
                    .take()
                    .map_or_else(|| Ended::Failure(kind, message), |last| *last);
                self.finish(*task, ended).await;
                None
            }
        }
    }

    /// Hands `task` to the retry scheduler, to come back at `due`; ends it
    /// with what it has if the scheduler is gone.
    async fn schedule(&self, task: Task, due: Instant) {
        let waiting = ToScheduler::Retry(Box::new(task), due);
        if let Err(returned) = self.lines.scheduler.send(waiting) {
            let ToScheduler::Retry(mut task, _) = returned.0 else {
                unreachable!("sent a retry")
            };
            let shut_down = task.last.take().map_or_else(
                || Ended::Failure(FailureKind::Other, "shut down".into()),
                |last| *last,
            );
            self.finish(*task, shut_down).await;
        }
    }

    /// Ends `task` as `ended`: its body placed, its result delivered.
    async fn finish(&self, task: Task, ended: Ended) {
        let elapsed = task.started.map(|t| t.elapsed()).unwrap_or_default();
        // Only now does a saved body get its final name: a response dropped
        // on the way (its attempt retried, or failed by a hook) takes its
        // part file with it, so no body of an earlier attempt is left for
        // a job that fails.
        let ended = match ended {
            Ended::Response(mut arrived) => match arrived.reply.body.place() {
                Ok(()) => Ended::Response(arrived),
                Err(error) => {
                    let (kind, message) = error.describe();
                    Ended::Failure(kind, message)
                }
            },
            failure => failure,
        };
        let result = match ended {
            Ended::Response(arrived) => {
                let Arrived {
                    reply,
                    redirects,
                    url,
                } = *arrived;
                Ok(Response {
                    index: task.index,
                    job: task.job,
                    status: reply.status,
                    http_version: reply.version,
                    headers: reply.headers,
                    body: reply.body.data,
                    body_cut: reply.body.cut,
                    bytes: reply.body.bytes,
                    sha256: reply.body.sha256,
                    body_path: reply.body.saved.and_then(body::Saved::into_placed),
                    attempts: task.attempts,
                    elapsed,
                    redirects,
                    final_url: url.map(String::from),
                })
            }
            Ended::Failure(kind, message) => Err(Failure {
                index: task.index,
                job: task.job,
                kind,
                message,
                attempts: task.attempts,
                elapsed,
                retry_in: None,
            }),
        };
        self.deliver(result).await;
    }

    /// Hands `task` out as a result, to be tried again in `delay` by
    /// whoever gave it ([`super::PoolBuilder::hand_out_retries`]).
    async fn hand_out_retry(&self, task: Task, delay: Duration) {
        let message = format!(
            "attempt {} to be made in {} ms",
            task.attempts + 1,
            millis(delay)
        );
        self.deliver(Err(Failure {
            index: task.index,
            job: task.job,
            kind: FailureKind::Retry,
            message,
            attempts: task.attempts,
            elapsed: task.started.map(|t| t.elapsed()).unwrap_or_default(),
            retry_in: Some(delay),
        }))
        .await;
    }

    /// Sends a job's one result; its permit goes back when the result is
    /// taken (see `taker`).
    async fn deliver(&self, result: Finished) {
        self.chain.job_ended();
        let _ = self.lines.results.send(result).await;
    }

    /// Makes one attempt of `task`: its hops, redirects followed, then the
    /// retry decision.
    async fn attempt(&mut self, task: &mut Task) -> Next {
        let started = *task.started.get_or_insert_with(Instant::now);
        task.attempts += 1;
        if self.client.is_none() {
            match self.open_session().await {
                Ok(client) => self.client = Some(client),
                Err((kind, message)) => return Next::Done(Ended::Failure(kind, message)),
            }
        }
        let job_url = match job_url(&mut task.job) {
            Ok(url) => url,
            Err(message) => return Next::Done(Ended::Failure(FailureKind::Input, message)),
        };
        let job_url = Rc::new(job_url);
        let (received, sent) = self.hops(task, &job_url).await;
        match &received {
            Err(fault) if fault.unsent => {
                task.attempts -= 1;
                return Next::Done(stopped(task));
            }
            // Every later body would fail the same way (a full disk).
            Err(fault) if fault.kind == FailureKind::Save => {
                flow::cancel(&self.lines.tracker, &self.lines.scheduler);
            }
            _ => {}
        }
        // What the origin's breaker counts: no connection, no answer in
        // time, a 5xx.
        let breakers = self.settings.limits.breakers();
        match &received {
            Ok(arrived) => {
                let status = arrived.reply.status;
                let bad = (status >= 500).then(|| format!("status {status}"));
                let answered = arrived.url.as_ref().unwrap_or(&job_url);
                breakers.record(answered, bad.as_deref());
            }
            Err(fault) if matches!(fault.kind, FailureKind::Connect | FailureKind::Timeout) => {
                breakers.record(&job_url, Some(&fault.message));
            }
            Err(_) => {}
        }
        let retryable = received.as_ref().err().is_none_or(|fault| fault.retryable);
        let status = received.as_ref().ok().map(|arrived| arrived.reply.status);
        let mut retry = None;
        if retryable && self.chain.asks_about(status) {
            let attempt = Attempt {
                number: task.attempts,
                since_first_ms: millis(started.elapsed()),
                max_attempts: self.settings.max_attempts,
            };
            let outcome = match &received {
                Ok(arrived) => AttemptOutcome::Response(ResponseHead {
                    status: arrived.reply.status,
                    headers: header_pairs(&arrived.reply.headers),
                    body_prefix: arrived.reply.body.prefix.clone(),
                    elapsed_ms: arrived.reply.elapsed_ms,
                }),
                Err(fault) => AttemptOutcome::Failure(AttemptFailure {
                    kind: fault.kind.for_plugin(),
                    message: fault.message.clone(),
                }),
            };
            let request = sent.into_request(&task.job);
            let decision = self.chain.decide_retry(&request, &outcome, &attempt).await;
            let may_retry = task.attempts < self.settings.max_attempts;
            match decision {
                Ok(Decision::RetryAfter(ms)) if may_retry => {
                    retry = Some(Duration::from_millis(ms));
                }
                Ok(Decision::PauseOrigin(ms)) => {
                    // The origin that answered: a redirect's, if it led
                    // elsewhere.
                    let answered = received.as_ref().ok().and_then(|a| a.url.as_ref());
                    let origin = Pauses::origin(answered.unwrap_or(&job_url));
                    let wait = Duration::from_millis(ms);
                    let waited = self.settings.limits.pauses().pause(origin, wait);
                    if waited && may_retry {
                        retry = Some(wait);
                    }
                }
                Ok(_) => {}
                Err(failure) => {
                    return Next::Done(Ended::Failure(FailureKind::Plugin, failure.to_string()));
                }
            }
        }
        let ended = match received {
            Ok(arrived) => Ended::Response(Box::new(arrived)),
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

    /// Sends the hops of one attempt of `task`, whose URL is `job_url`,
    /// following redirects (see `redirect.rs`). Returns what the last hop
    /// got and the request it sent, made into what `decide-retry` sees only
    /// if it is asked.
    async fn hops(&mut self, task: &Task, job_url: &Rc<Url>) -> (Result<Arrived, Fault>, Sent) {
        let job = &task.job;
        let session = self.client.as_ref().expect("session opened before sending");
        let deadline = job
            .timeout
            .or(session.timeout())
            .map(|t| Instant::now() + t);
        // The first hop is the job itself, not copied unless hooks run.
        let mut redirected: Option<Hop> = None;
        let mut url = Url::clone(job_url);
        let mut redirects = 0;
        loop {
            let to_job_origin = same_origin(&url, job_url);
            let (method, headers, body) = match &redirected {
                Some(hop) => (hop.method.as_str(), hop.headers.as_slice(), &hop.body),
                None => (job.method.as_str(), job.headers.as_slice(), &job.body),
            };
            let authorized = if self.chain.has(HookName::Authorize) {
                let mut request = hop_request(&redirected, job, &url);
                let answer = self
                    .chain
                    .authorize(&mut request, url.clone(), job_url)
                    .await;
                match answer {
                    Ok(sent) => Some((request, sent)),
                    Err(failure) => {
                        let fault = Fault {
                            kind: FailureKind::Plugin,
                            message: failure.to_string(),
                            retryable: false,
                            unsent: false,
                        };
                        return (Err(fault), Sent::Plain(redirected, url));
                    }
                }
            } else {
                None
            };
            let sending = match &authorized {
                Some((request, sent)) => {
                    let to_job_origin = same_origin(sent, job_url);
                    Sending {
                        method: request.method(),
                        url: sent,
                        rewritten: sent != &url,
                        headers: request.headers(),
                        body: request.body().cloned(),
                        session_headers: to_job_origin,
                        auth: job.auth.as_ref().filter(|_| to_job_origin),
                        cookies: Some(&job.cookies).filter(|_| to_job_origin),
                    }
                }
                None => Sending {
                    method,
                    url: &url,
                    rewritten: false,
                    headers,
                    body: body.clone(),
                    session_headers: to_job_origin,
                    auth: job.auth.as_ref().filter(|_| to_job_origin),
                    cookies: Some(&job.cookies).filter(|_| to_job_origin),
                },
            };
            let sent = Instant::now();
            let received = self.send(&sending, deadline, redirects == 0).await;
            let mut response = match received {
                Ok(response) => response,
                Err(fault) => return (Err(fault), Sent::of(authorized, redirected, url)),
            };
            // Every hop's cookies are kept, a redirect's too, for the URL
            // that was sent (as requests does).
            if let Some(jar) = session.jar() {
                jar.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .store(sending.url, response.headers());
            }
            let status = response.status().as_u16();
            let next = match session.max_redirects() {
                _ if !job.allow_redirects => None,
                0 => None,
                _ => redirect::target(status, response.headers(), sending.url),
            };
            match next {
                None => {
                    let reply = self.read(&mut response, task.index, sent).await;
                    let arrived = reply.map(|reply| Arrived {
                        reply,
                        redirects,
                        url: (redirects > 0).then(|| url.clone()),
                    });
                    return (arrived, Sent::of(authorized, redirected, url));
                }
                Some(Err(message)) => {
                    let fault = (FailureKind::Redirect, message).into();
                    return (Err(fault), Sent::of(authorized, redirected, url));
                }
                Some(Ok(_)) if redirects >= session.max_redirects() => {
                    let message = format!(
                        "more than {} redirects; stopped there (--max-redirects)",
                        session.max_redirects()
                    );
                    let fault = (FailureKind::Redirect, message).into();
                    return (Err(fault), Sent::of(authorized, redirected, url));
                }
                Some(Ok(next)) => {
                    let base = redirected.as_ref().map_or_else(
                        || Hop {
                            method: job.method.clone(),
                            headers: Vec::new(),
                            body: job.body.clone(),
                        },
                        Hop::clone,
                    );
                    let to_job_origin = same_origin(&next, job_url);
                    redirected = Some(base.redirected(status, &job.headers, to_job_origin));
                    url = next;
                    redirects += 1;
                }
            }
        }
    }

    /// Runs the session hooks and builds this worker's client.
    async fn open_session(&mut self) -> Result<Session, (FailureKind, String)> {
        let mut settings = self.settings.session.clone();
        settings.worker = self.id;
        // The session hooks see, and may change, the cookies its jar will
        // start with (a login's, say).
        let start = self.settings.cookies.start();
        if let Some(start) = start {
            settings.cookies.extend(start.iter().map(Into::into));
        }
        let settings = self
            .chain
            .prepare_session(settings)
            .await
            .map_err(|failure| (FailureKind::Plugin, failure.to_string()))?;
        let cookies: Option<Vec<Cookie>> =
            start.map(|_| settings.cookies.iter().map(Into::into).collect());
        let session = Session::open(
            &self.settings.constructor,
            &settings,
            &self.settings.transport,
            cookies.as_deref(),
        )
        .map_err(|message| (FailureKind::Other, message))?;
        if let Some(jar) = session.jar() {
            self.settings.cookies.add(Arc::clone(jar));
        }
        Ok(session)
    }

    /// Sends one hop's request, within the send limits and before
    /// `deadline` (the attempt's), and returns the response's head. A run
    /// stopped before it is sent fails it as `cancelled` (`unsent` if it is
    /// the attempt's `first_hop`).
    async fn send(
        &self,
        request: &Sending<'_>,
        deadline: Option<Instant>,
        first_hop: bool,
    ) -> Result<reqwest::Response, Fault> {
        let session = self.client.as_ref().expect("session opened before sending");
        let method = reqwest::Method::from_bytes(request.method.as_bytes()).map_err(|_| {
            (
                FailureKind::Input,
                format!("{:?} is not an HTTP method", request.method),
            )
        })?;
        let mut headers = wire::header_map(request.headers)
            .map_err(|error| (FailureKind::Input, error.to_string()))?;
        if request.session_headers {
            for (name, value) in session.headers() {
                if !headers.contains_key(name) {
                    headers.insert(name, value.clone());
                }
            }
        }
        if let Some(auth) = request.auth
            && !headers.contains_key(AUTHORIZATION)
            && let Ok(mut value) = HeaderValue::from_str(&auth.header_value())
        {
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        if self.settings.body.decompress && !headers.contains_key(ACCEPT_ENCODING) {
            headers.insert(ACCEPT_ENCODING, HeaderValue::from_static(decode::ACCEPTED));
        }
        // A Cookie header set by hand is sent as it is, as requests does.
        if !headers.contains_key(COOKIE)
            && let Some(value) = cookie_header(
                session.jar().map(|jar| &**jar),
                request.url,
                request.cookies,
            )
        {
            headers.insert(COOKIE, value);
        }
        let rewritten_url = request.rewritten.then(|| request.url.clone());
        let mut builder = session
            .client()
            .request(method, request.url.clone())
            .headers(headers);
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
        // The attempt's deadline bounds every hop, bodies included.
        if let Some(deadline) = deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err((
                    FailureKind::Timeout,
                    "the attempt ran out of time while following redirects".to_owned(),
                )
                    .into());
            }
            builder = builder.timeout(left);
        }
        // A stopped run sends nothing more, also not what waits for the
        // limits to let it go.
        let tracker = &self.lines.tracker;
        let limits = (self.settings.limits).enter(request.url, self.host_slot.as_ref());
        let Some(slot) = tracker
            .unless_cancelled(limits)
            .await
            .filter(|_| !tracker.is_cancelled())
        else {
            return Err(Fault {
                kind: FailureKind::Cancelled,
                message: "cancelled: the run was stopped while following redirects".to_owned(),
                retryable: false,
                unsent: first_hop,
            });
        };
        let Entered { slot, turn } = slot.map_err(|message| Fault {
            kind: FailureKind::Paused,
            message,
            retryable: false,
            unsent: false,
        })?;
        let proxy = self
            .settings
            .transport
            .proxy
            .as_ref()
            .map(|proxy| proxy.origin.as_str());
        let response = builder.send().await.map_err(|e| {
            let kind = FailureKind::of(&e);
            (kind, client_error(e, rewritten_url.as_ref(), proxy))
        })?;
        let limits = &self.settings.limits;
        limits.note_answer(request.url, response.headers(), turn);
        // The slot of a redirect's host is held until its answer came.
        drop(slot);
        Ok(response)
    }

    /// Reads the body of the final response of the job with `index`, whose
    /// request was `sent` then.
    async fn read(
        &self,
        response: &mut reqwest::Response,
        index: u64,
        sent: Instant,
    ) -> Result<Reply, Fault> {
        let status = response.status().as_u16();
        let headers = std::mem::take(response.headers_mut());
        let version = version_name(response.version());
        let prefix = self.chain.body_prefix();
        let options = &self.settings.body;
        let coding = Coding::of(&headers).filter(|_| options.decompress);
        let body = body::read(response, index, prefix, coding, options).await?;
        Ok(Reply {
            status,
            version,
            headers,
            body,
            elapsed_ms: millis(sent.elapsed()),
        })
    }
}

/// The job's URL, parsed and checked (see [`wire::parse_url`]). A job read
/// from input comes with it, parsed when it was read; one given to the
/// library is put in the form it is sent in here, once, so that hooks and
/// records see what the server gets.
fn job_url(job: &mut crate::job::Job) -> Result<Url, String> {
    if let Some(url) = job.checked.take(&job.url) {
        return Ok(url);
    }
    let url = wire::parse_url(&job.url).map_err(|e| e.to_string())?;
    if url.as_str() != job.url {
        job.url = url.as_str().to_owned();
    }
    Ok(url)
}

/// The request the last hop of an attempt sent, kept as it was until
/// `decide-retry` asks for it (most attempts are never asked about).
enum Sent {
    /// What the `authorize` hooks answered.
    Authorized(Request),
    /// The hop's own request to its URL, as no hook changed it: the job's
    /// (no hop), or the one a redirect made of it.
    Plain(Option<Hop>, Url),
}

impl Sent {
    /// What was sent: `authorized` if hooks answered, else the hop's own.
    fn of(authorized: Option<(Request, Url)>, hop: Option<Hop>, url: Url) -> Sent {
        match authorized {
            Some((request, _)) => Sent::Authorized(request),
            None => Sent::Plain(hop, url),
        }
    }

    /// The request as `decide-retry` sees it, for `job`.
    fn into_request(self, job: &crate::job::Job) -> Request {
        match self {
            Sent::Authorized(request) => request,
            Sent::Plain(hop, url) => hop_request(&hop, job, &url),
        }
    }
}

/// The request of the hop to `url` as the hooks would see it: the job's
/// own, or the one a redirect made of it.
fn hop_request(redirected: &Option<Hop>, job: &crate::job::Job, url: &Url) -> Request {
    match redirected {
        Some(hop) => Request::new(
            hop.method.as_str(),
            url.as_str(),
            hop.headers.clone(),
            hop.body.clone(),
        ),
        None => Request::new(
            job.method.as_str(),
            url.as_str(),
            job.headers.clone(),
            job.body.clone(),
        ),
    }
}

/// The name of an HTTP version, as records give it.
fn version_name(version: reqwest::Version) -> &'static str {
    match version {
        reqwest::Version::HTTP_09 => "HTTP/0.9",
        reqwest::Version::HTTP_10 => "HTTP/1.0",
        reqwest::Version::HTTP_11 => "HTTP/1.1",
        reqwest::Version::HTTP_2 => "HTTP/2",
        reqwest::Version::HTTP_3 => "HTTP/3",
        _ => "HTTP/?",
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
