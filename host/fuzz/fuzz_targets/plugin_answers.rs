//! The host side of the plugin boundary: what tb-host does with the values
//! a hook returns. A chain of up to four hooks (native [`Hooks`], so no
//! WebAssembly runs, but the answers take the real path: [`HookChain`]
//! and its checks, as a plugin's answers do after the component model has
//! lifted them) answers `init-session`, `auth-session` and `decide-retry`
//! with fuzzed values (header names and values, session settings, retry
//! delays) and edits the request in `authorize` with fuzzed edits (fields
//! set, appended, removed, URLs to the same origin, another origin, a host
//! the hook is granted, garbage); or fails with an error, or by breaking.
//!
//! Checks, beside "never panics":
//! - an accepted session or request has only header fields the HTTP client
//!   takes, no more than `MAX_HEADERS` fields and `MAX_HEADER_BYTES` bytes,
//!   and none of the headers only the host sets (`Host` but the URL's own,
//!   framing headers) that the hook was not given; an accepted request has
//!   a method and URL the worker can send, in the form it is sent in, to
//!   the origin the hook was given or a host it is granted; a retry delay
//!   is never refused, and one past `MAX_RETRY_DELAY` ends the job as
//!   `done` does;
//! - each edit of a request is refused exactly when it breaks those rules
//!   (the oracle's own copy of them), and a refused edit changes nothing;
//! - a refused answer was wrong by those rules (nothing valid is refused),
//!   and every failure is a `HookFailure` naming the hook and call that
//!   failed, the error of the hook's own kind;
//! - a chain keeps working after a hook broke (its instance is replaced,
//!   and given its session calls again, checked as ever): the same request
//!   gets the same verdict a second time.

#![no_main]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use reqwest::Url;
use reqwest::header::{HeaderName, HeaderValue};
use tb_host::hooks::{
    Attempt, AttemptFailure, AttemptFailureKind, AttemptOutcome, Decision, EditRefused, HookChain,
    HookError, HookFactory, HookFailure, HookName, HookSet, Hooks, MAX_HEADER_BYTES, MAX_HEADERS,
    MAX_RETRY_DELAY, Request, ResponseHead, RetryInterest, SessionSettings,
};

/// Job URLs as the input reader passes them (already checked).
const JOB_URLS: [&str; 4] = [
    "http://127.0.0.1:8080/items?page=2",
    "https://api.example.test/v1/sign",
    "https://[::1]/",
    "http://xn--bcher-kva.example/b%C3%BCcher#frag",
];

#[derive(Arbitrary, Debug)]
struct Case {
    job_url: JobUrl,
    hooks: Vec<HookSpec>,
    /// The attempt's outcome: a response status, or none (a failure).
    status: Option<u16>,
}

#[derive(Arbitrary, Debug)]
enum JobUrl {
    Known(u8),
    /// Used only if the input reader would accept it.
    Any(String),
}

#[derive(Arbitrary, Debug)]
struct HookSpec {
    /// Which of the four calls it implements (`HookSet` bits).
    calls: u8,
    cannot_instantiate: bool,
    session: Answer<SessionEdit>,
    auth_session: Answer<SessionEdit>,
    request: Answer<RequestEdit>,
    decision: Answer<DecisionAnswer>,
    retry_statuses: Vec<(u16, u16)>,
    /// Hosts the hook may send a job to (a plugin's `--plugin-allow-host`).
    granted: Vec<String>,
}

#[derive(Arbitrary, Debug, Clone)]
enum Answer<T> {
    Give(T),
    Reject(String),
    Break(String),
}

#[derive(Arbitrary, Debug, Clone)]
struct HeaderEdit {
    keep: bool,
    add: Vec<(Text, Text)>,
    /// Copies of the last field added, to reach the limits (fewer of a
    /// long one).
    repeat: u16,
}

#[derive(Arbitrary, Debug, Clone)]
enum Text {
    Given(String),
    /// `len` (at most 320 KiB) copies of one byte, or of `?` if that is
    /// not ASCII.
    Long(u8, u32),
}

#[derive(Arbitrary, Debug, Clone)]
struct SessionEdit {
    headers: HeaderEdit,
    worker: Option<u32>,
    timeout_ms: Option<Option<u64>>,
    connect_timeout_ms: Option<Option<u64>>,
    max_redirects: Option<u32>,
    user_agent: Option<Option<Text>>,
}

#[derive(Arbitrary, Debug, Clone)]
struct RequestEdit {
    /// The edits `authorize` makes, in order (the first eight).
    edits: Vec<Edit>,
}

#[derive(Arbitrary, Debug, Clone)]
enum Edit {
    Set(Text, Text),
    Append(Text, Text),
    Remove(Text),
    Url(UrlEdit),
    /// Appends copies of the last field, to reach the limits.
    Repeat(u16),
}

#[derive(Arbitrary, Debug, Clone)]
enum UrlEdit {
    Keep,
    Path(String),
    Query(String),
    Host(String),
    Port(Option<u16>),
    Scheme(String),
    Join(String),
    Replace(String),
}

#[derive(Arbitrary, Debug, Clone)]
enum DecisionAnswer {
    Defer,
    Done,
    RetryAfter(u64),
    /// Near the longest delay allowed.
    RetryNearMax(i32),
    /// A pause of the origin, passed on as it is (the worker bounds it).
    PauseOrigin(u64),
}

/// One thing a hook was asked, and what it answered (if it answered).
#[derive(Debug)]
struct Call {
    hook: usize,
    call: Option<HookName>,
    answer: Option<Answered>,
}

#[derive(Debug)]
enum Answered {
    Session(SessionSettings),
    /// The request the hook was given, and what its edits made of it;
    /// whether an edit was refused (the hook then failed with its error).
    Request(Request, Request, bool),
    Decision(Decision),
}

/// The headers only the host sets (the oracle's own copy of the rule).
const HOST_ONLY: [&str; 10] = [
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

fn is_host_only(name: &str) -> bool {
    HOST_ONLY.iter().any(|only| only.eq_ignore_ascii_case(name))
}

type Log = Arc<Mutex<Vec<Call>>>;

struct Factory {
    index: usize,
    name: String,
    spec: Arc<HookSpec>,
    log: Log,
}

impl HookFactory for Factory {
    fn name(&self) -> &str {
        &self.name
    }

    fn implements(&self) -> HookSet {
        HookName::ALL
            .into_iter()
            .enumerate()
            .filter(|(bit, _)| self.spec.calls & (1 << bit) != 0)
            .fold(HookSet::empty(), |set, (_, call)| set | call.flag())
    }

    fn retry_interest(&self) -> RetryInterest {
        RetryInterest {
            statuses: self.spec.retry_statuses.clone(),
            ..RetryInterest::default()
        }
    }

    fn instantiate(&self, _worker: u32) -> Result<tb_host::hooks::Instance, HookError> {
        if self.spec.cannot_instantiate {
            self.log.lock().unwrap().push(Call {
                hook: self.index,
                call: None,
                answer: None,
            });
            return Err(HookError::Broken("cannot instantiate".to_owned()));
        }
        Ok(Instance {
            index: self.index,
            spec: Arc::clone(&self.spec),
            log: Arc::clone(&self.log),
        }
        .into())
    }

    fn may_send_to(&self, _from: &Url, to: &Url) -> bool {
        granted(&self.spec, to)
    }
}

fn granted(spec: &HookSpec, url: &Url) -> bool {
    url.host_str()
        .is_some_and(|host| spec.granted.iter().any(|g| g.eq_ignore_ascii_case(host)))
}

struct Instance {
    index: usize,
    spec: Arc<HookSpec>,
    log: Log,
}

impl Instance {
    /// Logs the call, and answers with `make`'s value or the error asked for.
    fn answer<T, E: Clone>(
        &self,
        call: HookName,
        answer: &Answer<E>,
        make: impl FnOnce(&E) -> T,
        record: impl FnOnce(&T) -> Answered,
    ) -> Result<T, HookError> {
        let (result, answer) = match answer {
            Answer::Give(edit) => {
                let value = make(edit);
                let answered = record(&value);
                (Ok(value), Some(answered))
            }
            Answer::Reject(message) => (Err(HookError::Rejected(message.clone())), None),
            Answer::Break(message) => (Err(HookError::Broken(message.clone())), None),
        };
        self.log.lock().unwrap().push(Call {
            hook: self.index,
            call: Some(call),
            answer,
        });
        result
    }
}

impl Hooks for Instance {
    fn init_session(&mut self, session: SessionSettings) -> Result<SessionSettings, HookError> {
        let spec = Arc::clone(&self.spec);
        self.answer(
            HookName::InitSession,
            &spec.session,
            |edit| edit_session(session, edit),
            |s| Answered::Session(s.clone()),
        )
    }

    fn auth_session(&mut self, session: SessionSettings) -> Result<SessionSettings, HookError> {
        let spec = Arc::clone(&self.spec);
        self.answer(
            HookName::AuthSession,
            &spec.auth_session,
            |edit| edit_session(session, edit),
            |s| Answered::Session(s.clone()),
        )
    }

    fn authorize(&mut self, request: &mut Request) -> Result<(), HookError> {
        let spec = Arc::clone(&self.spec);
        let given = request.clone();
        let answer = self.answer(
            HookName::Authorize,
            &spec.request,
            |edit| {
                let refused = edit_request(request, edit).err();
                (request.clone(), refused)
            },
            |(edited, refused)| Answered::Request(given, edited.clone(), refused.is_some()),
        );
        match answer {
            Err(error) => Err(error),
            Ok((_, Some(refused))) => Err(refused.into()),
            Ok((_, None)) => Ok(()),
        }
    }

    fn decide_retry(
        &mut self,
        _request: &Request,
        _outcome: &AttemptOutcome,
        _attempt: &Attempt,
    ) -> Result<Decision, HookError> {
        let spec = Arc::clone(&self.spec);
        self.answer(
            HookName::DecideRetry,
            &spec.decision,
            |answer| match answer {
                DecisionAnswer::Defer => Decision::Defer,
                DecisionAnswer::Done => Decision::Done,
                DecisionAnswer::RetryAfter(ms) => Decision::RetryAfter(*ms),
                DecisionAnswer::RetryNearMax(offset) => Decision::RetryAfter(
                    (MAX_RETRY_DELAY.as_millis() as u64).saturating_add_signed((*offset).into()),
                ),
                DecisionAnswer::PauseOrigin(ms) => Decision::PauseOrigin(*ms),
            },
            |d| Answered::Decision(*d),
        )
    }
}

fn text(text: &Text) -> String {
    match text {
        Text::Given(text) => text.clone(),
        Text::Long(byte, len) => {
            let byte = if byte.is_ascii() { *byte } else { b'?' };
            String::from_utf8(vec![byte; (*len % (320 << 10)) as usize]).expect("ASCII")
        }
    }
}

fn edit_headers(mut headers: Vec<(String, String)>, edit: &HeaderEdit) -> Vec<(String, String)> {
    if !edit.keep {
        headers.clear();
    }
    for (name, value) in &edit.add {
        headers.push((text(name), text(value)));
    }
    if let Some(last) = headers.last().cloned() {
        // Past either limit, but within the fuzzer's memory: at most 2 MiB.
        let size = last.0.len() + last.1.len() + 1;
        let copies = usize::from(edit.repeat % 1100).min((2 << 20) / size);
        headers.extend(std::iter::repeat_n(last, copies));
    }
    headers
}

fn edit_session(mut session: SessionSettings, edit: &SessionEdit) -> SessionSettings {
    session.headers = edit_headers(session.headers, &edit.headers);
    if let Some(worker) = edit.worker {
        session.worker = worker;
    }
    if let Some(timeout) = edit.timeout_ms {
        session.timeout_ms = timeout;
    }
    if let Some(timeout) = edit.connect_timeout_ms {
        session.connect_timeout_ms = timeout;
    }
    if let Some(redirects) = edit.max_redirects {
        session.max_redirects = redirects;
    }
    if let Some(agent) = &edit.user_agent {
        session.user_agent = agent.as_ref().map(text);
    }
    session
}

/// Makes `edit`'s edits of `request` as a plugin would, until one is
/// refused; checks each verdict against the oracle's, and that a refused
/// edit changed nothing.
fn edit_request(request: &mut Request, edit: &RequestEdit) -> Result<(), EditRefused> {
    for edit in edit.edits.iter().take(8) {
        let before = request.clone();
        let (valid, made) = match edit {
            Edit::Set(name, value) => {
                let (name, value) = (text(name), text(value));
                let replaced = before
                    .headers()
                    .iter()
                    .filter(|(n, _)| n.eq_ignore_ascii_case(&name))
                    .map(|(n, v)| n.len() + v.len())
                    .sum();
                let valid = field_valid(&before, &name, &value, replaced);
                (valid, request.set_header(&name, &value))
            }
            Edit::Append(name, value) => {
                let (name, value) = (text(name), text(value));
                let valid =
                    before.headers().len() < MAX_HEADERS && field_valid(&before, &name, &value, 0);
                (valid, request.append_header(&name, &value))
            }
            Edit::Remove(name) => (true, request.remove_header(&text(name))),
            Edit::Url(url) => {
                let url = edit_url(before.url(), url);
                (url_valid(&before, &url), request.set_url(&url))
            }
            Edit::Repeat(copies) => {
                let Some((name, value)) = before.headers().last().cloned() else {
                    continue;
                };
                // Past either limit, but within the fuzzer's memory.
                let size = name.len() + value.len() + 1;
                let copies = usize::from(copies % 1100).min((2 << 20) / size);
                for _ in 0..copies {
                    let before = request.clone();
                    let valid = before.headers().len() < MAX_HEADERS
                        && field_valid(&before, &name, &value, 0);
                    let made = request.append_header(&name, &value);
                    check_edit(valid, &made, &before, request);
                    made?;
                }
                continue;
            }
        };
        check_edit(valid, &made, &before, request);
        made?;
    }
    Ok(())
}

/// An edit was refused exactly when the oracle says it breaks a rule, and
/// a refused one left the request as it was.
fn check_edit(valid: bool, made: &Result<(), EditRefused>, before: &Request, after: &Request) {
    assert_eq!(valid, made.is_ok(), "edit verdict {made:?} on {before:?}");
    if made.is_err() {
        assert_eq!(before, after, "a refused edit changed the request");
    }
}

/// The URL an edit makes of `url` (a setter that refuses leaves it).
fn edit_url(url: &str, edit: &UrlEdit) -> String {
    let parsed = Url::parse(url);
    match (edit, parsed) {
        (UrlEdit::Keep, _) => url.to_owned(),
        (UrlEdit::Replace(url), _) => url.clone(),
        (edit, Ok(mut url)) => {
            let _ = match edit {
                UrlEdit::Path(path) => {
                    url.set_path(path);
                    Ok(())
                }
                UrlEdit::Query(query) => {
                    url.set_query(Some(query));
                    Ok(())
                }
                UrlEdit::Host(host) => url.set_host(Some(host)).map_err(|_| ()),
                UrlEdit::Port(port) => url.set_port(*port),
                UrlEdit::Scheme(scheme) => url.set_scheme(scheme),
                UrlEdit::Join(relative) => url
                    .join(relative)
                    .map(|joined| url = joined)
                    .map_err(|_| ()),
                UrlEdit::Keep | UrlEdit::Replace(_) => unreachable!(),
            };
            url.into()
        }
        (_, Err(_)) => url.to_owned(),
    }
}

/// Whether a field `name: value` may replace fields of `replaced` bytes
/// of `request`.
fn field_valid(request: &Request, name: &str, value: &str, replaced: usize) -> bool {
    let bytes: usize = request
        .headers()
        .iter()
        .map(|(n, v)| n.len() + v.len())
        .sum();
    if bytes - replaced + name.len() + value.len() > MAX_HEADER_BYTES
        || HeaderName::from_bytes(name.as_bytes()).is_err()
        || HeaderValue::from_str(value).is_err()
    {
        return false;
    }
    let present = request
        .headers()
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case(name) && v == value);
    let own_host = name.eq_ignore_ascii_case("host")
        && Url::parse(request.url()).is_ok_and(|url| names_authority(value, &url));
    present || own_host || !is_host_only(name)
}

/// Whether `request`'s URL may be set to `url`: in the form it is sent in,
/// and, if the origin changes, without a `Host` naming another authority.
fn url_valid(request: &Request, url: &str) -> bool {
    if tb_host::input::check_url(url)
        .ok()
        .as_ref()
        .map(Url::as_str)
        != Some(url)
    {
        return false;
    }
    let (Ok(to), Ok(from)) = (Url::parse(url), Url::parse(request.url())) else {
        return false;
    };
    to.origin() == from.origin()
        || request
            .headers()
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case("host"))
            .all(|(_, value)| names_authority(value, &to))
}

/// Whether `headers` are what the HTTP client takes, within the limits.
fn headers_valid(headers: &[(String, String)]) -> bool {
    headers.len() <= MAX_HEADERS
        && headers
            .iter()
            .map(|(n, v)| n.len() + v.len())
            .sum::<usize>()
            <= MAX_HEADER_BYTES
        && headers.iter().all(|(name, value)| {
            HeaderName::from_bytes(name.as_bytes()).is_ok()
                && HeaderValue::from_bytes(value.as_bytes()).is_ok()
        })
}

fn session_valid(session: &SessionSettings) -> bool {
    headers_valid(&session.headers)
        && !session.headers.iter().any(|(name, _)| is_host_only(name))
        && session
            .user_agent
            .as_ref()
            .is_none_or(|agent| HeaderValue::from_str(agent).is_ok())
}

/// Whether a hook granted `spec` may leave `request` so when it was given
/// `given`: every field one the HTTP client takes and within the limits
/// (each edit was checked), and the URL on the origin it was given or one
/// the hook is granted.
fn request_valid(request: &Request, given: &Request, spec: &HookSpec) -> bool {
    if !headers_valid(request.headers()) {
        return false;
    }
    if request.url() == given.url() {
        return true;
    }
    let (Ok(sent), Ok(from)) = (Url::parse(request.url()), Url::parse(given.url())) else {
        return false;
    };
    let same_origin = sent.scheme() == from.scheme()
        && sent.host_str() == from.host_str()
        && sent.port_or_known_default() == from.port_or_known_default();
    sent.as_str() == request.url()
        && matches!(sent.scheme(), "http" | "https")
        && (same_origin || granted(spec, &sent))
}

/// Whether a `Host` value is `url`'s authority.
fn names_authority(value: &str, url: &Url) -> bool {
    let authority = match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        (None, _) => return false,
    };
    value.trim().eq_ignore_ascii_case(&authority)
}

/// What the chain makes of a hook's decision: a retry later than
/// `MAX_RETRY_DELAY` ends the job, as `done` does.
fn kept(decision: Decision) -> Decision {
    match decision {
        Decision::RetryAfter(ms) if u128::from(ms) > MAX_RETRY_DELAY.as_millis() => Decision::Done,
        decision => decision,
    }
}

/// Checks a failure against the log: it names the last hook asked, and the
/// call it was asked; its error is the one that hook gave, or its answer
/// was invalid.
/// The call a failure must name: the last one asked, which for an instance
/// that replaced a broken one may be a session call made again before
/// `made` (or `made` itself, when no call was asked: no instance).
fn last_call(log: &[Call], made: HookName) -> HookName {
    log.last().and_then(|c| c.call).unwrap_or(made)
}

/// The answer of a chain of native hooks, which answer at once.
fn now<F: std::future::Future>(future: F) -> F::Output {
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match std::pin::pin!(future).poll(&mut context) {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => panic!("a native hook waited"),
    }
}

fn check_failure(failure: &HookFailure, call: HookName, log: &[Call], specs: &[Arc<HookSpec>]) {
    let last = log.last().expect("a failure comes from a hook asked");
    assert_eq!(failure.hook, format!("hook-{}", last.hook));
    assert_eq!(failure.call, call);
    assert!(failure.to_string().starts_with(&format!(
        "plugin hook-{}: {}: ",
        last.hook,
        call.as_str()
    )));
    match (&failure.error, &last.answer) {
        (HookError::Invalid(_), Some(answer)) => {
            assert_eq!(last.call, Some(call));
            assert!(
                !answer_valid(answer, &specs[last.hook]),
                "refused a valid answer {answer:?}"
            );
        }
        (HookError::Rejected(_) | HookError::Broken(_), None) => {}
        (error, answer) => panic!("failure {error:?} after answer {answer:?}"),
    }
    for earlier in &log[..log.len() - 1] {
        let answer = earlier.answer.as_ref().expect("earlier hooks answered");
        assert!(
            answer_valid(answer, &specs[earlier.hook]),
            "{answer:?} passed, but is invalid"
        );
    }
}

fn answer_valid(answer: &Answered, spec: &HookSpec) -> bool {
    match answer {
        Answered::Session(session) => session_valid(session),
        Answered::Request(given, request, refused) => {
            !refused && request_valid(request, given, spec)
        }
        // Every decision is taken; see `kept`.
        Answered::Decision(_) => true,
    }
}

fn check_all_answered(log: &[Call], specs: &[Arc<HookSpec>]) {
    for call in log {
        let answer = call
            .answer
            .as_ref()
            .expect("a chain that succeeds had every hook answer");
        assert!(
            answer_valid(answer, &specs[call.hook]),
            "accepted the invalid answer {answer:?}"
        );
    }
}

fuzz_target!(|case: Case| {
    let job_url = match &case.job_url {
        JobUrl::Known(index) => JOB_URLS[usize::from(*index) % JOB_URLS.len()].to_owned(),
        JobUrl::Any(url) => {
            tb_host::input::check_url(url).map_or_else(|_| JOB_URLS[0].to_owned(), String::from)
        }
    };
    let log: Log = Arc::default();
    let specs: Vec<Arc<HookSpec>> = case.hooks.into_iter().take(4).map(Arc::new).collect();
    let factories: Vec<Arc<dyn HookFactory>> = specs
        .iter()
        .enumerate()
        .map(|(index, spec)| {
            Arc::new(Factory {
                index,
                name: format!("hook-{index}"),
                spec: Arc::clone(spec),
                log: Arc::clone(&log),
            }) as Arc<dyn HookFactory>
        })
        .collect();
    let mut chain = HookChain::new(&factories, 0);
    let take_log = || std::mem::take(&mut *log.lock().unwrap());

    // Sessions: init-session then auth-session.
    match now(chain.prepare_session(tb_host::session::default_settings())) {
        Ok(session) => {
            let asked = take_log();
            check_all_answered(&asked, &specs);
            assert!(session_valid(&session));
        }
        Err(failure) => {
            let asked = take_log();
            let call = last_call(&asked, failure.call);
            check_failure(&failure, call, &asked, &specs);
        }
    }

    // Requests, twice: a broken instance is replaced, and the verdict is
    // the same.
    let job = Request::new(
        "GET",
        job_url.as_str(),
        vec![("Accept".to_owned(), "*/*".to_owned())],
        None,
    );
    let mut verdicts = Vec::new();
    for _ in 0..2 {
        let parsed = Url::parse(&job_url).expect("a checked URL parses");
        let mut request = job.clone();
        let authorized = now(chain.authorize(&mut request, parsed.clone(), &parsed));
        let asked = take_log();
        match &authorized {
            Ok(url) => {
                check_all_answered(&asked, &specs);
                assert_eq!(
                    url.as_str(),
                    request.url(),
                    "the URL returned is the one parsed"
                );
                // What the worker does with it before sending.
                let url = Url::parse(request.url()).expect("an authorized URL parses");
                assert!(matches!(url.scheme(), "http" | "https"));
                for (name, value) in request.headers() {
                    assert!(HeaderName::from_bytes(name.as_bytes()).is_ok());
                    assert!(HeaderValue::from_str(value).is_ok());
                }
            }
            Err(failure) => check_failure(
                failure,
                last_call(&asked, HookName::Authorize),
                &asked,
                &specs,
            ),
        }
        verdicts.push(authorized.is_ok());
    }
    assert_eq!(
        verdicts[0], verdicts[1],
        "a broken hook is replaced by one like it"
    );

    // Retry decisions.
    let outcome = match case.status {
        Some(status) => AttemptOutcome::Response(ResponseHead {
            status,
            headers: Vec::new(),
            body_prefix: Vec::new(),
            elapsed_ms: 1,
        }),
        None => AttemptOutcome::Failure(AttemptFailure {
            kind: AttemptFailureKind::Reset,
            message: "connection reset".to_owned(),
        }),
    };
    let attempt = Attempt {
        number: 1,
        since_first_ms: 5,
        max_attempts: 3,
    };
    match now(chain.decide_retry(&job, &outcome, &attempt)) {
        Ok(decision) => {
            let asked = take_log();
            check_all_answered(&asked, &specs);
            if let Decision::RetryAfter(ms) = decision {
                assert!(u128::from(ms) <= MAX_RETRY_DELAY.as_millis());
                // What the worker does with it: schedules it.
                assert!(
                    Instant::now()
                        .checked_add(Duration::from_millis(ms))
                        .is_some()
                );
            }
            let deciding = asked.iter().rev().find_map(|c| match &c.answer {
                Some(Answered::Decision(d)) if *d != Decision::Defer => Some(*d),
                _ => None,
            });
            assert_eq!(deciding.map(kept).unwrap_or(Decision::Defer), decision);
        }
        Err(failure) => {
            let asked = take_log();
            let call = last_call(&asked, HookName::DecideRetry);
            check_failure(&failure, call, &asked, &specs);
        }
    }
});
