//! Sessions: the one HTTP client each worker owns.
//!
//! As in Python's requests-toolbelt, each worker thread has a session of its
//! own, so connections are reused within a worker and nothing is shared
//! between threads. A session is built in two steps: the settings
//! ([`SessionSettings`]) pass through every hook's `init-session` and
//! `auth-session`, then the session constructor (Python's `session=`) gives
//! the client builder that the settings are applied to.

use std::sync::Arc;
use std::time::Duration;

use reqwest::blocking::{Client, ClientBuilder};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::redirect::Policy;

use crate::hooks::SessionSettings;

/// Makes the client builder every worker's session starts from (Python's
/// `session=` argument). Settings from [`SessionSettings`] are applied on
/// top, so use it for what the settings do not cover: TLS roots, proxies,
/// HTTP versions.
pub type SessionConstructor = Arc<dyn Fn() -> ClientBuilder + Send + Sync>;

/// The settings sessions start from before hooks see them: a 30 s timeout,
/// up to 10 redirects, and a `tb-host/VERSION` user agent.
pub fn default_settings() -> SessionSettings {
    SessionSettings {
        worker: 0,
        headers: Vec::new(),
        timeout_ms: Some(30_000),
        connect_timeout_ms: None,
        max_redirects: 10,
        user_agent: Some(concat!("tb-host/", env!("CARGO_PKG_VERSION")).to_owned()),
    }
}

/// The constructor used when none is given: reqwest's defaults with
/// `TCP_NODELAY` and no system proxy lookup.
pub fn default_constructor() -> SessionConstructor {
    Arc::new(|| Client::builder().tcp_nodelay(true).no_proxy())
}

/// Builds a worker's client from its final settings.
pub(crate) fn build_client(
    constructor: &SessionConstructor,
    settings: &SessionSettings,
) -> Result<Client, String> {
    let mut headers = HeaderMap::with_capacity(settings.headers.len());
    for (name, value) in &settings.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("session header name {name:?} is not valid HTTP"))?;
        let value = HeaderValue::from_str(value)
            .map_err(|_| format!("session header {name} has a value that is not valid HTTP"))?;
        headers.append(name, value);
    }
    let redirects = match settings.max_redirects {
        0 => Policy::none(),
        n => Policy::limited(n as usize),
    };
    let mut builder = constructor()
        .default_headers(headers)
        .redirect(redirects)
        .timeout(settings.timeout_ms.map(Duration::from_millis));
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
