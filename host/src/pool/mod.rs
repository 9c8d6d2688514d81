//! The pool: workers with one HTTP session each, fed from a stream of jobs
//! (Python's `requests_toolbelt.threaded.pool.Pool`).
//!
//! How the pool runs its jobs is told in the crate's docs; the modules
//! here follow a job: `feeder` reads the input, `flow` carries jobs and
//! results between threads, `carrier` runs the workers (`worker`), which
//! follow redirects (`redirect`), read bodies (`body`, `body_dir`) and wait
//! for the send limits (`limits`, with the origins a server asked to pause
//! in `pauses`, what their rate limits have left in `quotas` and those
//! that keep failing in `breakers`);
//! `scheduler` holds the retries waiting, and `taker` hands the results
//! out.

mod body;
mod body_dir;
mod breakers;
mod carrier;
mod decode;
mod feeder;
mod flow;
mod limits;
mod pauses;
mod quotas;
mod redirect;
mod scheduler;
mod taker;
mod worker;

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::Sender;
use reqwest::ClientBuilder;

use crate::cookies::{Cookie, CookieJars};
use crate::failure::Failure;
use crate::hooks::{HookFactory, NativeHook, SessionSettings};
use crate::input::InputError;
use crate::job::{Job, RequestDefaults};
use crate::response::Response;
use crate::session::{
    HttpVersion, Proxy, SessionConstructor, Transport, default_constructor, default_settings,
};
use crate::tls::{Certificates, Identity, TlsError, TlsOptions};
use flow::{Finished, ToScheduler, Tracker};
use taker::{Admitted, Taker};

pub use body_dir::BodyDirError;
pub use breakers::Broken;
pub use pauses::Paused;

/// How long a pause of an origin is waited for unless
/// [`PoolBuilder::max_pause`] says otherwise: ten minutes.
pub const DEFAULT_MAX_PAUSE: Duration = Duration::from_secs(10 * 60);

/// Bad attempts in a row that open an origin's breaker unless
/// [`PoolBuilder::breaker`] says otherwise.
pub const DEFAULT_BREAKER: u32 = 20;

/// How long an origin may stay broken unless
/// [`PoolBuilder::breaker_give_up`] says otherwise: a minute.
pub const DEFAULT_BREAKER_GIVE_UP: Duration = Duration::from_secs(60);

/// Why a pool could not start.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// A pool needs at least one worker ([`PoolBuilder::threads`]).
    #[error("the number of threads must be at least 1")]
    ZeroThreads,
    /// `map` was given no job.
    #[error("no jobs were given")]
    NoJobs,
    /// The operating system refused a thread.
    #[error("cannot start a pool thread: {0}")]
    Spawn(#[from] std::io::Error),
    /// Bodies cannot be saved in the directory given to
    /// [`PoolBuilder::save_bodies`].
    #[error(transparent)]
    BodyDir(#[from] BodyDirError),
    /// [`PoolBuilder::proxy`] was given something that is not a proxy URL.
    #[error("{url} is not a proxy URL: {reason}")]
    Proxy {
        /// The URL given.
        url: String,
        /// Why it is not one.
        reason: String,
    },
    /// The TLS settings ([`PoolBuilder::add_root_certificates`],
    /// [`PoolBuilder::identity`], ...) cannot be used.
    #[error("TLS settings: {0}")]
    Tls(#[from] TlsError),
}

/// What every worker of one pool shares.
pub(crate) struct PoolSettings {
    pub session: SessionSettings,
    pub constructor: SessionConstructor,
    pub hooks: Vec<Arc<dyn HookFactory>>,
    pub max_attempts: u32,
    pub body: body::BodyOptions,
    pub limits: limits::SendLimits,
    pub transport: Transport,
    /// The cookies sessions start with, and every session's jar.
    pub cookies: CookieJars,
    /// See [`PoolBuilder::hand_out_retries`].
    pub hand_out_retries: bool,
}

/// Sets up a [`Pool`]: workers, session, hooks, limits; then starts it on a
/// source of jobs.
///
/// ```no_run
/// use tb_host::{Pool, RequestDefaults};
///
/// let pool = Pool::builder()
///     .threads(8)
///     .initializer(|mut session| {
///         session.headers.push(("X-Team".into(), "search".into()));
///         Ok(session)
///     })
///     .auth_generator(|mut session| {
///         session.headers.push(("Authorization".into(), "Bearer t0k3n".into()));
///         Ok(session)
///     })
///     .from_urls(["http://127.0.0.1:8080/"], &RequestDefaults::default())?;
/// # Ok::<(), tb_host::PoolError>(())
/// ```
pub struct PoolBuilder {
    threads: Option<usize>,
    session: SessionSettings,
    constructor: SessionConstructor,
    hooks: Vec<Arc<dyn HookFactory>>,
    max_attempts: u32,
    body: body::BodyOptions,
    max_in_flight: Option<usize>,
    rate: Option<f64>,
    per_host: Option<usize>,
    max_pause: Duration,
    breaker: u32,
    breaker_give_up: Duration,
    transport: Transport,
    tls: TlsOptions,
    /// Whether [`PoolBuilder::session_constructor`] was given: its TLS is
    /// then kept unless a TLS option is set.
    own_constructor: bool,
    select: Option<Selector>,
    in_input_order: bool,
    cookies: bool,
    start_cookies: Vec<Cookie>,
    hand_out_retries: bool,
}

/// Which input indexes a pool runs; see [`PoolBuilder::select`].
pub(crate) type Selector = Box<dyn Fn(u64) -> bool + Send>;

impl Default for PoolBuilder {
    fn default() -> Self {
        PoolBuilder {
            threads: None,
            session: default_settings(),
            constructor: default_constructor(),
            hooks: Vec::new(),
            max_attempts: 10,
            body: body::BodyOptions {
                keep: Some(u64::MAX),
                limit: None,
                save_to: None,
                decompress: true,
            },
            max_in_flight: None,
            rate: None,
            per_host: None,
            max_pause: DEFAULT_MAX_PAUSE,
            breaker: DEFAULT_BREAKER,
            breaker_give_up: DEFAULT_BREAKER_GIVE_UP,
            transport: Transport::default(),
            tls: TlsOptions::default(),
            own_constructor: false,
            select: None,
            in_input_order: false,
            cookies: true,
            start_cookies: Vec::new(),
            hand_out_retries: false,
        }
    }
}

/// What is set, for a caller that wants to check its set-up (the command
/// line's tests do). Nothing secret is shown: the session's headers by
/// name only (a hook or `-H` may have put credentials in them), the proxy
/// by its origin (its URL may hold credentials), hooks by name, and the
/// session constructor and the selectors not at all, but for whether any
/// selector is set.
impl std::fmt::Debug for PoolBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let session = &self.session;
        let header_names: Vec<&str> = session
            .headers
            .iter()
            .map(|(name, _)| name.as_str())
            .collect();
        let hooks: Vec<&str> = self.hooks.iter().map(|hook| hook.name()).collect();
        f.debug_struct("PoolBuilder")
            .field("threads", &self.threads)
            .field("header_names", &header_names)
            .field("timeout_ms", &session.timeout_ms)
            .field("connect_timeout_ms", &session.connect_timeout_ms)
            .field("max_redirects", &session.max_redirects)
            .field("user_agent", &session.user_agent)
            .field("hooks", &hooks)
            .field("max_attempts", &self.max_attempts)
            .field("body", &self.body)
            .field("max_in_flight", &self.max_in_flight)
            .field("rate", &self.rate)
            .field("per_host", &self.per_host)
            .field("max_pause", &self.max_pause)
            .field("breaker", &self.breaker)
            .field("breaker_give_up", &self.breaker_give_up)
            .field(
                "proxy",
                &self.transport.proxy.as_ref().map(|proxy| &proxy.origin),
            )
            .field("http", &self.transport.http)
            .field("resolve", &self.transport.resolve)
            .field("tls_system_roots", &self.tls.system_roots)
            .field("tls_added_roots", &self.tls.added_roots.len())
            .field("tls_accept_invalid", &self.tls.accept_invalid)
            .field("tls_identity", &self.tls.identity.is_some())
            .field("selected", &self.select.is_some())
            .field("in_input_order", &self.in_input_order)
            .field("cookies", &self.cookies)
            .field("start_cookies", &self.start_cookies)
            .field("hand_out_retries", &self.hand_out_retries)
            .finish_non_exhaustive()
    }
}

impl PoolBuilder {
    /// How many workers, each with its own session and one request in
    /// flight at a time (Python's `num_processes`). Default: the number of
    /// CPUs. Zero is an error when the pool starts. Workers are not a
    /// thread each: one thread per CPU (at most one per worker) carries
    /// them. A plugin's call is awaited there like the network (it yields
    /// while it runs, and lets the others run while it waits), but a
    /// native hook runs in place, so one that blocks holds up the other
    /// workers of its thread: it should return promptly.
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = Some(threads);
        self
    }

    /// The settings every session starts from, before hooks change them.
    pub fn session(mut self, session: SessionSettings) -> Self {
        self.session = session;
        self
    }

    /// The constructor of every worker's client builder (Python's
    /// `session=`). Its TLS settings are kept unless a TLS option of this
    /// builder is set ([`PoolBuilder::add_root_certificates`] and the
    /// others), which then replaces them all.
    pub fn session_constructor(
        mut self,
        constructor: impl Fn() -> ClientBuilder + Send + Sync + 'static,
    ) -> Self {
        self.constructor = Arc::new(constructor);
        self.own_constructor = true;
        self
    }

    /// Adds a hook: a plugin, a [`NativeHook`], or any [`HookFactory`].
    /// Hooks run in the order they are added.
    pub fn hook(mut self, hook: impl HookFactory + 'static) -> Self {
        self.hooks.push(Arc::new(hook));
        self
    }

    /// Adds a hook already shared elsewhere.
    pub fn shared_hook(mut self, hook: Arc<dyn HookFactory>) -> Self {
        self.hooks.push(hook);
        self
    }

    /// Adds a session initializer (Python's `initializer`).
    pub fn initializer(
        self,
        f: impl Fn(SessionSettings) -> Result<SessionSettings, String> + Send + Sync + 'static,
    ) -> Self {
        self.hook(NativeHook::initializer("initializer", f))
    }

    /// Adds an auth generator (Python's `auth_generator`), run after the
    /// initializers.
    pub fn auth_generator(
        self,
        f: impl Fn(SessionSettings) -> Result<SessionSettings, String> + Send + Sync + 'static,
    ) -> Self {
        self.hook(NativeHook::auth_generator("auth_generator", f))
    }

    /// The most attempts any job gets, whatever a hook asks (default 10).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Whether a retry a hook asks for leaves the pool as a result, a
    /// failure of kind [`FailureKind::Retry`] that says when it is due
    /// ([`Failure::retry_in`]), instead of waiting in the pool (default
    /// false). For a source that outlives the pool, a queue: it keeps the
    /// job until it is due and hands it out again with its attempts
    /// ([`Numbered::attempts`]), so the wait belongs to no process and
    /// survives this one. The retry's own last response or failure is
    /// dropped: the job's record comes from a later attempt.
    pub fn hand_out_retries(mut self, hand_out: bool) -> Self {
        self.hand_out_retries = hand_out;
        self
    }

    /// Whether responses keep their bodies (default true). Without them,
    /// bodies are read and counted but not stored.
    pub fn keep_bodies(mut self, keep: bool) -> Self {
        self.body.keep = keep.then_some(u64::MAX);
        self
    }

    /// Keeps the first `bytes` of each body in memory, the rest read,
    /// counted and hashed but not kept ([`Response::body_is_cut`] says so):
    /// for showing bodies, in bounded memory however long they are.
    pub fn keep_bodies_up_to(mut self, bytes: u64) -> Self {
        self.body.keep = Some(bytes);
        self
    }

    /// Reads at most `bytes` of any body. A longer body stops being read
    /// there and its job fails with kind [`FailureKind::Body`](crate::FailureKind)
    /// naming the limit, without a retry: the rest is never read, so a
    /// huge or endless body cannot exhaust memory or disk. Not set: no limit.
    pub fn body_limit(mut self, bytes: u64) -> Self {
        self.body.limit = Some(bytes);
        self
    }

    /// Writes every body, as it streams, to `<dir>/<index>.body` (`index`
    /// as in [`Response::index`]); [`Response::body_path`] names the file.
    /// A body is written to a part file of its own (`<index>.<pid>-<n>.part`)
    /// and renamed once whole, so a file with the final name is never torn.
    /// Only the attempt that ends a job keeps its body: after retries the
    /// file holds the last attempt's body, and a job that fails leaves none.
    ///
    /// Files are only ever created new, never opened by an existing name,
    /// so a link planted in `dir` is not followed. The pool refuses to
    /// start ([`PoolError::BodyDir`]) unless `dir` exists, a file can be
    /// created in it and, on unix, it is owned by the process's effective
    /// user and writable by group or others only if it is sticky: no one
    /// else may then rename or remove the files written there.
    ///
    /// A body that cannot be written (a full disk) fails its job with kind
    /// [`FailureKind::Save`](crate::FailureKind) and cancels the pool (see
    /// [`Canceller`]): every later body would fail the same way.
    pub fn save_bodies(mut self, dir: impl Into<PathBuf>) -> Self {
        self.body.save_to = Some(dir.into());
        self
    }

    /// The most jobs admitted whose results are not yet taken, retries
    /// waiting and jobs set aside for a host at its
    /// [`PoolBuilder::per_host`] cap included (default: 64 per worker, at
    /// least 1024). Bounds
    /// memory on long inputs, and in input order
    /// ([`PoolBuilder::in_input_order`]) how far the pool runs ahead of a
    /// slow job.
    pub fn max_in_flight(mut self, jobs: usize) -> Self {
        self.max_in_flight = Some(jobs.max(1));
        self
    }

    /// At most `per_second` attempts per second in the whole run, retries
    /// included; attempts are spaced evenly. Not set: as fast as the
    /// workers go.
    pub fn rate(mut self, per_second: f64) -> Self {
        self.rate = (per_second.is_finite() && per_second > 0.0).then_some(per_second);
        self
    }

    /// At most `attempts` requests in flight to one host (and port) at a
    /// time, retries included. A job for a host at its cap is set aside
    /// until a slot frees, and its worker takes another: one slow host
    /// holds up no other.
    pub fn per_host(mut self, attempts: usize) -> Self {
        self.per_host = Some(attempts.max(1));
        self
    }

    /// The longest pause of an origin waited for (default 10 minutes). A
    /// retry policy answers `pause-origin` when a server asks the client to
    /// wait (a 429 or 503 with `Retry-After`): no worker sends to that
    /// origin until then, and its jobs wait without holding a worker. A
    /// longer pause is not waited for: until it has passed, the origin's
    /// jobs fail at once with kind
    /// [`FailureKind::Paused`](crate::FailureKind::Paused). At most
    /// [`MAX_RETRY_DELAY`](crate::hooks::MAX_RETRY_DELAY).
    pub fn max_pause(mut self, max: Duration) -> Self {
        self.max_pause = max.min(crate::hooks::MAX_RETRY_DELAY);
        self
    }

    /// Bad attempts in a row (no connection, no answer in time, a 5xx)
    /// after which an origin's breaker opens (default 20; 0: never). Its
    /// jobs then wait without holding a worker, other origins go on, and
    /// one job probes it after a cool-down (1 s, doubling after each failed
    /// probe up to 30 s); an answer below 500 closes the breaker.
    pub fn breaker(mut self, bad_in_a_row: u32) -> Self {
        self.breaker = bad_in_a_row;
        self
    }

    /// How long an origin may stay broken (see [`PoolBuilder::breaker`])
    /// before its remaining jobs fail at once, with kind
    /// [`FailureKind::Broken`](crate::FailureKind::Broken), instead of
    /// being sent (default 60 s).
    pub fn breaker_give_up(mut self, after: Duration) -> Self {
        self.breaker_give_up = after;
        self
    }

    /// Sends every request through the HTTP proxy at `url` (`http://` or
    /// `https://`, credentials in the URL if it needs them), whatever the
    /// session constructor does. A job that cannot reach the proxy fails
    /// with a message that names the proxy, not the job's URL.
    pub fn proxy(mut self, url: &str) -> Result<Self, PoolError> {
        let proxy = Proxy::parse(url).map_err(|reason| PoolError::Proxy {
            url: url.to_owned(),
            reason,
        })?;
        self.transport.proxy = Some(proxy);
        Ok(self)
    }

    /// Which HTTP versions sessions speak (default: HTTP/2 where TLS
    /// agrees on it, else HTTP/1.1); each [`Response::http_version`] says
    /// which one answered.
    pub fn http_version(mut self, version: HttpVersion) -> Self {
        self.transport.http = version;
        self
    }

    /// Connects to `address` for `host` instead of looking it up (as
    /// curl's `--resolve`, but for every port of `host`: the URL's port is
    /// the one connected to): for testing one machine of many behind a
    /// name. The URL, its `Host` and TLS's server name stay `host`'s.
    pub fn resolve(mut self, host: impl Into<String>, address: std::net::SocketAddr) -> Self {
        self.transport.resolve.push((host.into(), address));
        self
    }

    /// Trusts `roots` as certificate authorities (a private CA's PEM
    /// bundle, [`Certificates::from_pem`]), besides the system's unless
    /// [`PoolBuilder::tls_built_in_root_certs`] turns those off (as curl's
    /// `--cacert` does; Python's `verify=PATH`). A server's chain may
    /// include intermediates: only its root need be here.
    pub fn add_root_certificates(mut self, roots: Certificates) -> Self {
        self.tls.add_roots(roots);
        self
    }

    /// Whether the system's trusted roots are trusted (default true;
    /// `SSL_CERT_FILE` and `SSL_CERT_DIR` are honoured). Off, only the
    /// roots added with [`PoolBuilder::add_root_certificates`] are, and a
    /// pool with none of those does not start ([`PoolError::Tls`]).
    pub fn tls_built_in_root_certs(mut self, trusted: bool) -> Self {
        self.tls.system_roots = trusted;
        self
    }

    /// Accepts every server certificate without checking it: expired,
    /// self-signed, of any issuer, for any name (curl's `-k`; Python's
    /// `verify=False`). The connection is still encrypted, but to a
    /// server whose identity nobody checked: for tests and for servers
    /// you reach by a path you trust. Default false.
    pub fn danger_accept_invalid_certs(mut self, accept: bool) -> Self {
        self.tls.accept_invalid = accept;
        self
    }

    /// The client certificate shown to servers that ask for one (mutual
    /// TLS; curl's `--cert` and `--key`, Python's `cert=`). A key that
    /// does not match the certificate stops the pool from starting
    /// ([`PoolError::Tls`]).
    pub fn identity(mut self, identity: Identity) -> Self {
        self.tls.identity = Some(identity);
        self
    }

    /// Whether bodies in `gzip`, `deflate`, `br` or `zstd` are asked for
    /// and decoded (default true, as Python's requests does; the command
    /// line's default is false, as curl's without `--compressed`). On,
    /// every request without an `Accept-Encoding` of its own sends
    /// `Accept-Encoding: gzip, deflate, br, zstd`, and a body in one of
    /// those codings is decoded as it streams: [`Response::bytes`],
    /// [`Response::sha256`], the body kept, saved and limited
    /// ([`PoolBuilder::body_limit`]) are all of the decoded body, so a
    /// small body that would inflate past the limit stops there.
    /// [`Response::content_encoding`] says which coding came, either way.
    /// Off, nothing is asked for and bodies are taken as they come.
    pub fn decompress(mut self, decompress: bool) -> Self {
        self.body.decompress = decompress;
        self
    }

    /// Whether every session keeps a cookie jar (default true, as
    /// `requests.Session`): the cookies servers set are sent back on the
    /// session's later requests that RFC 6265 says they belong to. Off,
    /// only a job's own cookies ([`Job::cookies`]) are sent, and the
    /// cookies given to [`PoolBuilder::start_cookies`] are not.
    pub fn cookies(mut self, enabled: bool) -> Self {
        self.cookies = enabled;
        self
    }

    /// Adds cookies every session's jar starts with (a `cookies.txt` read
    /// with [`crate::cookies::netscape::read`], say). Each worker's jar
    /// gets its own copy; [`Pool::cookie_jars`] tells what they hold.
    pub fn start_cookies(mut self, cookies: impl IntoIterator<Item = Cookie>) -> Self {
        self.start_cookies.extend(cookies);
        self
    }

    /// Runs only the jobs whose input index `keep` accepts; the others are
    /// read and skipped without a result, and indexes still count every
    /// entry of the input. For splitting one input across machines
    /// (`--shard`) and for resuming a run (`--resume`).
    ///
    /// Calling it again narrows the selection: a job runs only if every
    /// selector accepts it, and a selector is asked only about the indexes
    /// the ones before it accepted. Selectors are called on the thread
    /// that reads the input, once per entry, in input order, and should
    /// return at once: one that blocks holds back the reading of the input.
    pub fn select(mut self, keep: impl Fn(u64) -> bool + Send + 'static) -> Self {
        self.select = Some(match self.select.take() {
            Some(before) => Box::new(move |index| before(index) && keep(index)),
            None => Box::new(keep),
        });
        self
    }

    /// Hands results out in input order (by [`Response::index`] and
    /// [`Failure::index`]) rather than as jobs finish: a result waits for
    /// every job before it. Indexes that [`PoolBuilder::select`] skips are
    /// not waited for. The results held back count among the jobs in
    /// flight ([`PoolBuilder::max_in_flight`]), so memory stays bounded
    /// and one slow job holds back at most that many others.
    pub fn in_input_order(mut self) -> Self {
        self.in_input_order = true;
        self
    }

    /// The most jobs the pool will have in flight: [`PoolBuilder::max_in_flight`],
    /// or its default for the number of workers.
    fn in_flight_limit(&self) -> usize {
        self.max_in_flight
            .unwrap_or_else(|| (self.thread_count() * 64).max(1024))
    }

    /// The number of workers set, or the number of CPUs.
    fn thread_count(&self) -> usize {
        self.threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    }

    /// Starts a pool on URLs, each a job made with `defaults` (Python's
    /// `Pool.from_urls(urls, request_kwargs)`).
    pub fn from_urls<I>(self, urls: I, defaults: &RequestDefaults) -> Result<Pool, PoolError>
    where
        I: IntoIterator,
        I::Item: Into<String>,
        I::IntoIter: Send + 'static,
    {
        let defaults = defaults.clone();
        self.from_jobs(
            urls.into_iter()
                .map(move |url| Job::from_url(url, &defaults)),
        )
    }

    /// Starts a pool that runs the jobs of earlier failures again (Python's
    /// `Pool.from_exceptions`).
    pub fn from_exceptions<I>(self, failures: I) -> Result<Pool, PoolError>
    where
        I: IntoIterator<Item = Failure>,
        I::IntoIter: Send + 'static,
    {
        self.from_jobs(failures.into_iter().map(Failure::into_job))
    }

    /// Starts a pool on jobs, read as the workers need them.
    pub fn from_jobs<I>(self, jobs: I) -> Result<Pool, PoolError>
    where
        I: IntoIterator<Item = Job>,
        I::IntoIter: Send + 'static,
    {
        self.from_input(jobs.into_iter().map(Ok))
    }

    /// Starts a pool on input that may hold bad entries: each error becomes
    /// a failure of kind `input` in its place, and the run goes on.
    pub fn from_input<I>(self, input: I) -> Result<Pool, PoolError>
    where
        I: IntoIterator<Item = Result<Job, InputError>>,
        I::IntoIter: Send + 'static,
    {
        self.from_numbered(
            (0u64..)
                .zip(input)
                .map(|(index, entry)| (index, entry.map_err(|error| error.failure(index)))),
        )
    }

    /// Starts a pool on entries that carry their own input index, as a
    /// queue's deliveries do ([`crate::queue`]): indexes need not be in
    /// order nor contiguous, and an `Err` is an entry already ended (a bad
    /// input line, a job delivered too often), handed out as its result
    /// without anything sent. [`PoolBuilder::select`] and
    /// [`PoolBuilder::in_input_order`] see these indexes. An entry is an
    /// `(index, entry)` pair, or a [`Numbered`] that also carries the
    /// attempts a job had already.
    pub fn from_numbered<I>(self, entries: I) -> Result<Pool, PoolError>
    where
        I: IntoIterator,
        I::Item: Into<Numbered> + 'static,
        I::IntoIter: Send + 'static,
    {
        if self.threads == Some(0) {
            return Err(PoolError::ZeroThreads);
        }
        if let Some(dir) = &self.body.save_to {
            body_dir::check(dir)?;
        }
        let threads = self.thread_count();
        let max_in_flight = self.in_flight_limit();
        let mut transport = self.transport;
        if !self.own_constructor || !self.tls.is_default() {
            transport.tls = Some(self.tls.client_config()?);
        }
        let settings = Arc::new(PoolSettings {
            session: self.session,
            constructor: self.constructor,
            hooks: self.hooks,
            max_attempts: self.max_attempts,
            body: self.body,
            limits: limits::SendLimits::new(
                self.rate,
                self.per_host,
                limits::OriginLimits {
                    max_pause: self.max_pause,
                    breaker: self.breaker,
                    breaker_give_up: self.breaker_give_up,
                },
            ),
            transport,
            cookies: CookieJars::new(self.cookies, self.start_cookies),
            hand_out_retries: self.hand_out_retries,
        });
        Pool::start(
            threads,
            max_in_flight,
            settings,
            Box::new(entries.into_iter().map(Into::into)),
            self.select,
            self.in_input_order.then(Arc::default),
        )
    }
}

/// A running pool of workers (Python's `Pool`). Results are buffered by
/// [`Pool::join_all`] or streamed by [`Pool::results`]. Dropping a pool
/// cancels it (see [`Canceller`]).
pub struct Pool {
    results: Taker,
    responses: VecDeque<Response>,
    failures: VecDeque<Failure>,
    /// The carriers and the scheduler. The feeder is not joined: after a
    /// cancel it may be blocked on a read that never ends.
    threads: Vec<JoinHandle<()>>,
    canceller: Canceller,
    cookies: CookieJars,
    /// What the workers share, for what the run tells of its limits.
    settings: Arc<PoolSettings>,
}

/// Stops a running pool from another thread (a Ctrl-C handler, a
/// deadline): no more input is read, no request is sent that was not sent
/// yet (those waiting for [`PoolBuilder::rate`] or [`PoolBuilder::per_host`]
/// included), and requests in flight finish. A job that was never sent ends
/// as a failure of kind [`FailureKind::Cancelled`](crate::FailureKind); one
/// waiting to be retried ends with what its last attempt got (a 429 stays a
/// [`Response`]). Every job taken from the input still ends exactly once,
/// so the results stream ends normally.
#[derive(Clone)]
pub struct Canceller {
    tracker: Arc<Tracker>,
    scheduler: Sender<ToScheduler>,
}

impl Canceller {
    /// Cancels the pool; calling it again does nothing more.
    pub fn cancel(&self) {
        flow::cancel(&self.tracker, &self.scheduler);
    }

    /// Whether the pool was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.tracker.is_cancelled()
    }
}

/// What a running pool waits for, for a display of the run's progress: the
/// retries waiting for their time (a job whose retry is hours ahead is far
/// from done, however many of the other jobs have finished), and the
/// origins paused or broken now. See [`Pool::retry_waits`].
#[derive(Clone)]
pub struct RetryWaits {
    tracker: Arc<Tracker>,
    settings: Arc<PoolSettings>,
}

impl RetryWaits {
    /// How many jobs wait to be retried now, and when the last of them is
    /// due; `None` when none waits.
    pub fn now(&self) -> Option<(usize, std::time::Instant)> {
        self.tracker.waiting()
    }

    /// The origins paused now (see [`PoolBuilder::max_pause`]).
    pub fn paused_origins(&self) -> Vec<String> {
        self.settings.limits.pauses().in_force()
    }

    /// The origins whose breaker is open now (see [`PoolBuilder::breaker`]).
    pub fn broken_origins(&self) -> Vec<String> {
        self.settings.limits.breakers().open_now()
    }
}

/// The results of a pool as they finish (or in input order); see
/// [`Pool::results`].
pub struct Results<'a> {
    kept: std::vec::IntoIter<Finished>,
    results: &'a mut Taker,
}

impl Results<'_> {
    /// Whether no finished result is waiting to be taken now: the consumer
    /// has caught up with the pool. One that buffers its output (a file of
    /// records) writes it out then, rather than once per result: as often
    /// as a reader needs to see every job promptly, and no more.
    pub fn caught_up(&self) -> bool {
        self.kept.len() == 0 && self.results.caught_up()
    }
}

impl Iterator for Results<'_> {
    type Item = Result<Response, Failure>;

    fn next(&mut self) -> Option<Self::Item> {
        self.kept.next().or_else(|| self.results.next())
    }
}

/// A source of jobs for the feeder thread.
pub(crate) type Source = Box<dyn Iterator<Item = Numbered> + Send>;

/// One entry of a source that numbers its own entries
/// ([`PoolBuilder::from_numbered`]).
#[derive(Debug)]
pub struct Numbered {
    /// Its index in the input.
    pub index: u64,
    /// The job, or the failure it ended as without being sent (a bad input
    /// line, a job a queue delivered too often).
    pub entry: Result<Job, Failure>,
    /// The attempts the job had already, in an earlier pool (a retry a
    /// queue kept until it was due, see [`PoolBuilder::hand_out_retries`]):
    /// its next attempt is number `attempts + 1`, and
    /// [`PoolBuilder::max_attempts`] counts them all.
    pub attempts: u32,
}

impl From<(u64, Result<Job, Failure>)> for Numbered {
    fn from((index, entry): (u64, Result<Job, Failure>)) -> Numbered {
        Numbered {
            index,
            entry,
            attempts: 0,
        }
    }
}

impl Pool {
    /// A builder with the defaults.
    pub fn builder() -> PoolBuilder {
        PoolBuilder::default()
    }

    /// Starts a default pool on URLs made into jobs with `defaults` (Python's
    /// `Pool.from_urls`).
    pub fn from_urls<I>(urls: I, defaults: &RequestDefaults) -> Result<Pool, PoolError>
    where
        I: IntoIterator,
        I::Item: Into<String>,
        I::IntoIter: Send + 'static,
    {
        Pool::builder().from_urls(urls, defaults)
    }

    /// Starts a default pool on the jobs of earlier failures (Python's
    /// `Pool.from_exceptions`).
    pub fn from_exceptions<I>(failures: I) -> Result<Pool, PoolError>
    where
        I: IntoIterator<Item = Failure>,
        I::IntoIter: Send + 'static,
    {
        Pool::builder().from_exceptions(failures)
    }

    fn start(
        threads: usize,
        max_in_flight: usize,
        settings: Arc<PoolSettings>,
        source: Source,
        select: Option<Selector>,
        admitted: Option<Arc<Admitted>>,
    ) -> Result<Pool, PoolError> {
        let cookies = settings.cookies.clone();
        let tracker = Arc::new(Tracker::new(max_in_flight));
        let (jobs_tx, jobs_rx) = async_channel::bounded(threads * 4);
        let (results_tx, results_rx) = async_channel::bounded(threads * 4);
        let (scheduler_tx, scheduler_rx) = crossbeam_channel::unbounded();
        let carriers = carrier::count(threads);
        let mut groups: Vec<Vec<(u32, worker::Lines)>> =
            (0..carriers).map(|_| Vec::new()).collect();
        for id in 0..threads {
            let lines = worker::Lines {
                jobs: jobs_rx.clone(),
                results: results_tx.clone(),
                scheduler: scheduler_tx.clone(),
                tracker: Arc::clone(&tracker),
            };
            groups[id % carriers].push((id as u32, lines));
        }
        let mut handles = Vec::with_capacity(carriers + 1);
        for (n, workers) in groups.into_iter().enumerate() {
            let runtime = carrier::runtime()?;
            let settings = Arc::clone(&settings);
            handles.push(spawn(format!("tb-carrier-{n}"), move || {
                carrier::carry(runtime, settings, workers)
            })?);
        }
        drop(results_tx);
        let feeder = feeder::Feeder {
            source,
            select,
            jobs: jobs_tx.clone(),
            scheduler: scheduler_tx.clone(),
            tracker: Arc::clone(&tracker),
            admitted: admitted.clone(),
        };
        spawn("tb-feeder".into(), move || feeder.run())?;
        let scheduler_tracker = Arc::clone(&tracker);
        let scheduler_settings = Arc::clone(&settings);
        handles.push(spawn("tb-scheduler".into(), move || {
            scheduler::run(scheduler_rx, jobs_tx, scheduler_tracker, scheduler_settings)
        })?);
        Ok(Pool {
            results: Taker::new(
                results_rx,
                Arc::clone(&tracker),
                scheduler_tx.clone(),
                admitted,
            ),
            responses: VecDeque::new(),
            failures: VecDeque::new(),
            threads: handles,
            canceller: Canceller {
                tracker,
                scheduler: scheduler_tx,
            },
            cookies,
            settings,
        })
    }

    /// A handle that cancels this pool from anywhere; see [`Canceller`].
    pub fn canceller(&self) -> Canceller {
        self.canceller.clone()
    }

    /// A handle that tells how many retries wait, and until when, and which
    /// origins are paused or broken; see [`RetryWaits`].
    pub fn retry_waits(&self) -> RetryWaits {
        RetryWaits {
            tracker: Arc::clone(&self.canceller.tracker),
            settings: Arc::clone(&self.settings),
        }
    }

    /// The origins paused in this run so far, in the order of their first
    /// pause, each with how often and for how long (see
    /// [`PoolBuilder::max_pause`]): for the run's summary.
    pub fn paused_origins(&self) -> Vec<(String, Paused)> {
        self.settings.limits.pauses().seen()
    }

    /// The origins whose breaker opened in this run so far, in that order
    /// (see [`PoolBuilder::breaker`]): for the run's summary.
    pub fn broken_origins(&self) -> Vec<(String, Broken)> {
        self.settings.limits.breakers().seen()
    }

    /// The cookie jars of the pool's sessions (Python's `Session.cookies`,
    /// one per worker), to read what they hold, now or after the pool is
    /// done ([`CookieJars::cookies`]; `--cookie-jar` writes that).
    pub fn cookie_jars(&self) -> CookieJars {
        self.cookies.clone()
    }

    /// Waits until every job has finished, keeping the results for
    /// [`Pool::responses`] and [`Pool::exceptions`] (Python's `join_all`).
    pub fn join_all(&mut self) {
        while let Some(result) = self.results.next() {
            self.keep(result);
        }
        for handle in self.threads.drain(..) {
            let _ = handle.join();
        }
    }

    /// Takes the responses finished so far, without waiting (Python's
    /// `responses()`).
    pub fn responses(&mut self) -> impl Iterator<Item = Response> + '_ {
        self.collect_ready();
        self.responses.drain(..)
    }

    /// Takes the failures finished so far, without waiting (Python's
    /// `exceptions()`).
    pub fn exceptions(&mut self) -> impl Iterator<Item = Failure> + '_ {
        self.collect_ready();
        self.failures.drain(..)
    }

    /// One finished response, if there is one now (Python's
    /// `get_response()`).
    pub fn get_response(&mut self) -> Option<Response> {
        self.collect_ready();
        self.responses.pop_front()
    }

    /// One finished failure, if there is one now (Python's
    /// `get_exception()`).
    pub fn get_exception(&mut self) -> Option<Failure> {
        self.collect_ready();
        self.failures.pop_front()
    }

    /// Every result not yet taken, as jobs finish, until the last one:
    /// consume while the pool runs, in bounded memory.
    pub fn results(&mut self) -> Results<'_> {
        let mut kept: Vec<Finished> = self
            .responses
            .drain(..)
            .map(Ok)
            .chain(self.failures.drain(..).map(Err))
            .collect();
        if self.results.in_input_order() {
            kept.sort_by_key(taker::index_of);
        }
        Results {
            kept: kept.into_iter(),
            results: &mut self.results,
        }
    }

    fn collect_ready(&mut self) {
        while let Some(result) = self.results.try_next() {
            self.keep(result);
        }
    }

    fn keep(&mut self, result: Finished) {
        match result {
            Ok(response) => self.responses.push_back(response),
            Err(failure) => self.failures.push_back(failure),
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.canceller.cancel();
    }
}

fn spawn(name: String, f: impl FnOnce() + Send + 'static) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new().name(name).spawn(f)
}
