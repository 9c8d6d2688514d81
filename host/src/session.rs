//! Sessions: the one HTTP client each worker owns.
//!
//! As in Python's requests-toolbelt, each worker has a session of its own,
//! so connections are reused within a worker and not shared between
//! workers; what is the same for every session, the TLS configuration with
//! its trusted roots, is built once and shared (see [`crate::tls`]). A
//! session is built in two steps: the settings
//! ([`SessionSettings`]) pass through every hook's `init-session` and
//! `auth-session`, then the session constructor (Python's `session=`) gives
//! the client builder that the settings are applied to.
//!
//! A session keeps a cookie jar unless the pool turned them off
//! ([`crate::PoolBuilder::cookies`]): seeded, when the session opens, from
//! a plain list of the cookies it starts with ([`crate::cookies::Cookie`]),
//! then filled by the servers' answers (see `crate::cookies`).
//!
//! The client is reqwest's async one, driven by the runtime of the carrier
//! thread its worker runs on (see `pool::carrier`): the carrier does its
//! workers' I/O itself. reqwest's blocking client would hand every request
//! to a runtime thread of its own and back, two context switches per
//! request, which was most of the CPU a run spent (see the README's
//! benchmark section).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::redirect::Policy;
use reqwest::{Client, ClientBuilder};

use crate::cookies::{Cookie, Jar};
use crate::hooks::SessionSettings;
use crate::wire;

/// Makes the client builder every worker's session starts from (Python's
/// `session=` argument). Settings from [`SessionSettings`] are applied on
/// top, so use it for what the settings do not cover: TLS roots, proxies,
/// HTTP versions.
pub(crate) type SessionConstructor = Arc<dyn Fn() -> ClientBuilder + Send + Sync>;

/// The settings sessions start from before hooks see them: a 30 s timeout,
/// up to 10 redirects, and a `tb-host/VERSION` user agent.
pub fn default_settings() -> SessionSettings {
    SessionSettings {
        worker: 0,
        headers: Vec::new(),
        cookies: Vec::new(),
        timeout_ms: Some(30_000),
        connect_timeout_ms: None,
        max_redirects: 10,
        user_agent: Some(concat!("tb-host/", env!("CARGO_PKG_VERSION")).to_owned()),
    }
}

/// The constructor used when none is given: reqwest's defaults with
/// `TCP_NODELAY` and no system proxy lookup. Its TLS is the pool's one
/// configuration (see [`crate::tls`]), which every session is given.
pub(crate) fn default_constructor() -> SessionConstructor {
    Arc::new(|| Client::builder().tcp_nodelay(true).no_proxy())
}

/// The HTTP proxy every session of a pool sends through
/// ([`crate::PoolBuilder::proxy`]), and its origin, which failure messages
/// name when it cannot be reached (without the credentials its URL may
/// hold).
#[derive(Clone)]
pub(crate) struct Proxy {
    pub proxy: reqwest::Proxy,
    pub origin: String,
}

impl Proxy {
    /// The proxy at `url`, an `http` or `https` URL.
    pub(crate) fn parse(url: &str) -> Result<Proxy, String> {
        let parsed = reqwest::Url::parse(url).map_err(|e| e.to_string())?;
        Ok(Proxy {
            proxy: reqwest::Proxy::all(parsed.as_str()).map_err(|e| e.to_string())?,
            origin: parsed.origin().ascii_serialization(),
        })
    }
}

/// Which HTTP versions sessions speak ([`crate::PoolBuilder::http_version`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HttpVersion {
    /// HTTP/2 where TLS's ALPN agrees on it, HTTP/1.1 otherwise.
    #[default]
    Negotiate,
    /// HTTP/1.1 only (curl's `--http1.1`).
    Http1Only,
    /// HTTP/2 without asking first, cleartext included (curl's
    /// `--http2-prior-knowledge`).
    Http2PriorKnowledge,
}

/// How the operator wants sessions to reach servers, whatever the hooks
/// do: a proxy, the HTTP versions, names resolved by hand, and TLS.
#[derive(Clone, Default)]
pub(crate) struct Transport {
    pub proxy: Option<Proxy>,
    pub http: HttpVersion,
    /// `(host, address)`: connect to `address` for `host` (curl's
    /// `--resolve`); the port in `address` is the one it answers for.
    pub resolve: Vec<(String, std::net::SocketAddr)>,
    /// The pool's one TLS configuration, cloned into every session (a
    /// clone shares its roots, verifier, client certificate and resumption
    /// cache). `None`: the session constructor's own TLS, for a caller that
    /// gave one and set no TLS option.
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

/// A worker's HTTP session: its client, and what the session hooks settled
/// on that the worker applies itself, request by request: the headers
/// (sent only to the job's own origin, see `pool::redirect`), the
/// whole-attempt timeout, how many redirects to follow, and the cookie
/// jar.
pub(crate) struct Session {
    client: Client,
    headers: HeaderMap,
    timeout: Option<Duration>,
    max_redirects: u32,
    /// Shared only with the pool's list of jars, read at the end of a run
    /// (`crate::cookies::CookieJars`); the worker alone fills it.
    jar: Option<Arc<Mutex<Jar>>>,
}

impl Session {
    /// Builds a worker's session from its final settings, reaching
    /// servers as `transport` says, with a cookie jar that holds `cookies`
    /// to start with, or with no jar for `None`.
    pub(crate) fn open(
        constructor: &SessionConstructor,
        settings: &SessionSettings,
        transport: &Transport,
        cookies: Option<&[Cookie]>,
    ) -> Result<Session, String> {
        Ok(Session {
            client: build_client(constructor, settings, transport)?,
            headers: wire::header_map(&settings.headers).map_err(|e| format!("session {e}"))?,
            timeout: settings.timeout_ms.map(Duration::from_millis),
            max_redirects: settings.max_redirects,
            jar: cookies.map(|cookies| Arc::new(Mutex::new(Jar::seeded(cookies)))),
        })
    }

    /// The session's cookie jar, if it keeps one.
    pub(crate) fn jar(&self) -> Option<&Arc<Mutex<Jar>>> {
        self.jar.as_ref()
    }

    /// The headers the session hooks set, for requests to the job's origin.
    pub(crate) fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// How many redirects one attempt follows; 0 follows none.
    pub(crate) fn max_redirects(&self) -> u32 {
        self.max_redirects
    }

    /// The HTTP client.
    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// The session's whole-attempt timeout, if any.
    pub(crate) fn timeout(&self) -> Option<Duration> {
        self.timeout
    }
}

/// Builds a worker's client from its final settings. The client follows
/// no redirect and sends no `Referer`: the worker follows redirects itself,
/// hop by hop, so that each hop is authorized for its own origin.
fn build_client(
    constructor: &SessionConstructor,
    settings: &SessionSettings,
    transport: &Transport,
) -> Result<Client, String> {
    let mut builder = constructor().redirect(Policy::none()).referer(false);
    if let Some(proxy) = &transport.proxy {
        builder = builder.proxy(proxy.proxy.clone());
    }
    builder = match transport.http {
        HttpVersion::Negotiate => builder,
        HttpVersion::Http1Only => builder.http1_only(),
        HttpVersion::Http2PriorKnowledge => builder.http2_prior_knowledge(),
    };
    if let Some(tls) = &transport.tls {
        let mut config = rustls::ClientConfig::clone(tls);
        // ALPN offers only what the session may speak.
        match transport.http {
            HttpVersion::Negotiate => {}
            HttpVersion::Http1Only => config.alpn_protocols = vec![b"http/1.1".to_vec()],
            HttpVersion::Http2PriorKnowledge => config.alpn_protocols = vec![b"h2".to_vec()],
        }
        builder = builder.tls_backend_preconfigured(config);
    }
    for (host, address) in &transport.resolve {
        builder = builder.resolve(host, *address);
    }
    if let Some(ms) = settings.timeout_ms {
        builder = builder.timeout(Duration::from_millis(ms));
    }
    if let Some(ms) = settings.connect_timeout_ms {
        builder = builder.connect_timeout(Duration::from_millis(ms));
    }
    if let Some(agent) = &settings.user_agent {
        builder = builder.user_agent(agent);
    }
    builder
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}
