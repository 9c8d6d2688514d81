//! `host.fetch`: HTTP requests a plugin makes itself, such as fetching or
//! refreshing a token, to the hosts the operator granted it with
//! `--plugin-allow-host` and to no other.
//!
//! The request goes from the host, not from the sandbox: the plugin still
//! has no sockets. Every hop is checked, redirects included; the response
//! body is capped; the time spent does not count against the hook's
//! deadline (see `instance.rs`) but has a timeout of its own. Nothing of the
//! request or response (which carry credentials) is logged.

use std::io::Read;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use reqwest::blocking::Client;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::redirect::{Attempt, Policy};

use super::bindings::toolbelt::plugin::types::{Fetched, Request};

/// How long one fetch may take, redirects included.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// The most response body a fetch returns to the plugin.
pub const FETCH_BODY_MAX: u64 = 1 << 20;

/// The most redirects one fetch follows (each to a granted host).
const FETCH_REDIRECTS: usize = 5;

/// The hosts one plugin may fetch from, and the client it fetches with
/// (made on first use, shared by the plugin's instances).
pub struct Fetcher {
    allowed: Arc<[AllowedHost]>,
    client: OnceLock<Result<Client, String>>,
}

/// One `--plugin-allow-host` grant: a host name, and a port when given
/// (`auth.example.com:8443`); without one, any port of the host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowedHost {
    host: String,
    port: Option<u16>,
}

impl AllowedHost {
    /// Parses `HOST` or `HOST:PORT`.
    pub fn parse(text: &str) -> Result<AllowedHost, String> {
        let url = reqwest::Url::parse(&format!("http://{}/", text.trim()))
            .map_err(|_| format!("{text:?} is not a host name or HOST:PORT"))?;
        match url.host_str() {
            Some(host) if url.path() == "/" && url.username().is_empty() => Ok(AllowedHost {
                host: host.to_ascii_lowercase(),
                port: url.port(),
            }),
            _ => Err(format!("{text:?} is not a host name or HOST:PORT")),
        }
    }

    fn admits(&self, url: &reqwest::Url) -> bool {
        url.host_str()
            .is_some_and(|host| host.eq_ignore_ascii_case(&self.host))
            && self
                .port
                .is_none_or(|port| url.port_or_known_default() == Some(port))
    }
}

/// `host` or `host:port`, as given.
impl std::fmt::Display for AllowedHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.port {
            Some(port) => write!(f, "{}:{port}", self.host),
            None => f.write_str(&self.host),
        }
    }
}

impl Fetcher {
    /// A fetcher for the granted `allowed` hosts (none: every fetch fails).
    pub fn new(allowed: Vec<AllowedHost>) -> Fetcher {
        Fetcher {
            allowed: allowed.into(),
            client: OnceLock::new(),
        }
    }

    /// Sends `request` for the plugin and reads the response.
    pub fn fetch(&self, request: &Request) -> Result<Fetched, String> {
        let url = reqwest::Url::parse(&request.url)
            .map_err(|e| format!("fetch: {:?} is not a valid URL: {e}", request.url))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("fetch: scheme {:?} is not allowed", url.scheme()));
        }
        if !admitted(&self.allowed, &url) {
            return Err(format!(
                "fetch: host {} is not granted to this plugin (--plugin-allow-host NAME:HOST)",
                url.host_str().unwrap_or("")
            ));
        }
        let method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|_| format!("fetch: {:?} is not an HTTP method", request.method))?;
        let mut headers = HeaderMap::with_capacity(request.headers.len());
        for (name, value) in &request.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("fetch: header name {name:?} is not valid HTTP"))?;
            let value = HeaderValue::from_str(value)
                .map_err(|_| format!("fetch: the value of header {name} is not valid HTTP"))?;
            headers.append(name, value);
        }
        let client = self
            .client
            .get_or_init(|| build_client(Arc::clone(&self.allowed)))
            .as_ref()
            .map_err(Clone::clone)?;
        let mut builder = client.request(method, url.clone()).headers(headers);
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
        tracing::debug!(host = url.host_str(), "plugin fetch");
        let response = builder
            .send()
            .map_err(|e| format!("fetch from {}: {}", url.host_str().unwrap_or(""), cause(&e)))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut body = Vec::new();
        response
            .take(FETCH_BODY_MAX + 1)
            .read_to_end(&mut body)
            .map_err(|e| format!("fetch: reading the body: {e}"))?;
        if body.len() as u64 > FETCH_BODY_MAX {
            return Err(format!(
                "fetch: the response body is larger than {} KiB",
                FETCH_BODY_MAX >> 10
            ));
        }
        Ok(Fetched {
            status,
            headers,
            body,
        })
    }
}

pub(crate) fn admitted(allowed: &[AllowedHost], url: &reqwest::Url) -> bool {
    allowed.iter().any(|host| host.admits(url))
}

/// The client of one plugin's fetches: no proxy from the environment, and
/// redirects followed only to granted hosts.
fn build_client(allowed: Arc<[AllowedHost]>) -> Result<Client, String> {
    let policy = Policy::custom(move |attempt: Attempt| {
        if attempt.previous().len() >= FETCH_REDIRECTS {
            attempt.error("too many redirects")
        } else if admitted(&allowed, attempt.url()) {
            attempt.follow()
        } else {
            attempt.error("redirect to a host not granted to this plugin")
        }
    });
    Client::builder()
        .timeout(FETCH_TIMEOUT)
        .redirect(policy)
        .no_proxy()
        .build()
        .map_err(|e| format!("fetch: cannot build the HTTP client: {e}"))
}

/// The innermost cause of an error, which says what happened.
fn cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text = inner.to_string();
        source = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_parse_and_admit_only_their_host_and_port() {
        let any_port = AllowedHost::parse("Auth.Example.com").unwrap();
        let one_port = AllowedHost::parse("auth.example.com:8443").unwrap();
        let url = |u: &str| reqwest::Url::parse(u).unwrap();
        assert!(any_port.admits(&url("https://auth.example.com/token")));
        assert!(any_port.admits(&url("http://AUTH.example.com:9000/")));
        assert!(!any_port.admits(&url("https://auth.example.com.evil.test/")));
        assert!(one_port.admits(&url("https://auth.example.com:8443/t")));
        assert!(!one_port.admits(&url("https://auth.example.com/t")));
        assert!(AllowedHost::parse("http://x/").is_err());
        assert!(AllowedHost::parse("x/path").is_err());
        assert!(AllowedHost::parse("").is_err());
    }

    #[test]
    fn a_host_not_granted_is_refused_before_any_connection() {
        let fetcher = Fetcher::new(vec![AllowedHost::parse("allowed.test").unwrap()]);
        let request = Request {
            method: "GET".into(),
            url: "http://127.0.0.1:9/".into(),
            headers: Vec::new(),
            body: None,
        };
        let error = fetcher.fetch(&request).unwrap_err();
        assert!(error.contains("not granted"), "{error}");
        assert!(fetcher.client.get().is_none(), "no client was even made");
    }
}
