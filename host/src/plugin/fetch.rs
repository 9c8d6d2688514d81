//! `host.fetch`: HTTP requests a plugin makes itself, such as fetching or
//! refreshing a token, to the hosts the operator granted it with
//! `--plugin-allow-host` and to no other.
//!
//! The request goes from the host, not from the sandbox: the plugin still
//! has no sockets. Every hop is checked, redirects included; the response
//! body is capped; the time spent does not count against the hook's
//! deadline (see `instance.rs`) but has a timeout of its own. Nothing of the
//! request or response (which carry credentials) is logged.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Client;
use reqwest::redirect::{Attempt, Policy};

use crate::wit::toolbelt::plugin::types::{FetchRequest, Fetched};

/// How long one fetch may take, redirects included.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// The most response body a fetch returns to the plugin.
pub const FETCH_BODY_MAX: u64 = 1 << 20;

/// The most redirects one fetch follows (each to a granted host).
const FETCH_REDIRECTS: usize = 5;

/// The hosts one plugin may fetch from. Each instance fetches with a
/// client of its own, made on its first fetch that is let through: a
/// client's connections belong to the event loop of the carrier that made
/// them, and each instance stays on its worker's carrier.
pub struct Fetcher {
    allowed: Arc<[AllowedHost]>,
}

/// One `--plugin-allow-host` grant: the origins (scheme, host, port) a
/// plugin may fetch from and send the jobs it authorizes to.
///
/// | grant | admits |
/// |---|---|
/// | `https://idp.example` | `https://idp.example:443` only |
/// | `http://127.0.0.1:8080` | `http://127.0.0.1:8080` only |
/// | `idp.example:8443` | `http` and `https` on port 8443 of `idp.example` |
/// | `idp.example` | `http` on port 80 and `https` on port 443 of `idp.example` |
/// | `[::1]:8080` | IPv6 literals are written in brackets, as in URLs |
///
/// A grant that names no scheme never lets `authorize` change a job's
/// scheme (see [`AllowedHost::admits_switch`]): `http` to `https` on the
/// same host and port is a change of origin the operator must name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowedHost {
    /// The scheme, when the grant names one.
    scheme: Option<Scheme>,
    /// The host, lower case; an IPv6 literal in brackets.
    host: String,
    /// The port, when the grant names one (else the schemes' defaults).
    port: Option<u16>,
}

/// The two schemes tb-host sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scheme {
    Http,
    Https,
}

impl Scheme {
    fn of(name: &str) -> Option<Scheme> {
        match name {
            "http" => Some(Scheme::Http),
            "https" => Some(Scheme::Https),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

impl AllowedHost {
    /// Parses `[SCHEME://]HOST[:PORT]`, SCHEME `http` or `https`.
    pub fn parse(text: &str) -> Result<AllowedHost, String> {
        let invalid = || {
            format!(
                "{text:?} is not a grant: expected HOST, HOST:PORT, http://HOST[:PORT] or \
                 https://HOST[:PORT] (IPv6 in brackets: [::1]:8080)"
            )
        };
        let text = text.trim();
        let (scheme, rest) = match text.split_once("://") {
            Some((scheme, rest)) => (Some(Scheme::of(scheme).ok_or_else(invalid)?), rest),
            None => (None, text),
        };
        let url = reqwest::Url::parse(&format!("http://{rest}/")).map_err(|_| invalid())?;
        let host = url.host_str().filter(|host| !host.is_empty());
        // The URL parser drops port 80 as http's default: read it back.
        let port = url.port().or_else(|| {
            let (_, digits) = rest.rsplit_once(':')?;
            digits.parse::<u16>().ok()
        });
        match host {
            Some(host)
                if url.path() == "/"
                    && url.query().is_none()
                    && url.username().is_empty()
                    && url.password().is_none()
                    && !rest.ends_with('/') =>
            {
                Ok(AllowedHost {
                    scheme,
                    host: host.to_ascii_lowercase(),
                    port,
                })
            }
            _ => Err(invalid()),
        }
    }

    /// Whether `url`'s origin is one this grant admits.
    pub fn admits(&self, url: &reqwest::Url) -> bool {
        let Some(scheme) = Scheme::of(url.scheme()) else {
            return false;
        };
        let Some(port) = url.port_or_known_default() else {
            return false;
        };
        let port_ok = match (self.scheme, self.port) {
            (_, Some(granted)) => port == granted,
            (Some(granted), None) => port == granted.default_port(),
            (None, None) => port == scheme.default_port(),
        };
        url.host_str()
            .is_some_and(|host| host.eq_ignore_ascii_case(&self.host))
            && self.scheme.is_none_or(|granted| granted == scheme)
            && port_ok
    }

    /// Whether a job of `from` may be sent to `to` under this grant: `to`
    /// is admitted and, unless the grant names `to`'s scheme, the scheme
    /// stays `from`'s.
    pub fn admits_switch(&self, from: &reqwest::Url, to: &reqwest::Url) -> bool {
        self.admits(to) && (self.scheme.is_some() || from.scheme() == to.scheme())
    }
}

/// The grant as it would be written on the command line.
impl std::fmt::Display for AllowedHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(scheme) = self.scheme {
            write!(f, "{}://", scheme.as_str())?;
        }
        f.write_str(&self.host)?;
        match self.port {
            Some(port) => write!(f, ":{port}"),
            None => Ok(()),
        }
    }
}

impl Fetcher {
    /// A fetcher for the granted `allowed` hosts (none: every fetch fails).
    pub fn new(allowed: Vec<AllowedHost>) -> Fetcher {
        Fetcher {
            allowed: allowed.into(),
        }
    }

    /// Sends `request` for the plugin and reads the response, with the
    /// instance's `client` (made here on first use).
    pub async fn fetch(
        &self,
        client: &mut Option<Result<Client, String>>,
        request: &FetchRequest,
    ) -> Result<Fetched, String> {
        // The URL is not shown: it may carry the plugin's credentials.
        let url = crate::wire::parse_url(&request.url).map_err(|e| format!("fetch: {e}"))?;
        if !admitted(&self.allowed, &url) {
            return Err(format!(
                "fetch: {} is not granted to this plugin (--plugin-allow-host NAME:HOST[:PORT])",
                url.origin().ascii_serialization()
            ));
        }
        let method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|_| format!("fetch: {:?} is not an HTTP method", request.method))?;
        let headers =
            crate::wire::header_map(&request.headers).map_err(|e| format!("fetch: {e}"))?;
        let client = client
            .get_or_insert_with(|| build_client(Arc::clone(&self.allowed)))
            .as_ref()
            .map_err(Clone::clone)?;
        let mut builder = client.request(method, url.clone()).headers(headers);
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
        tracing::debug!(host = url.host_str(), "plugin fetch");
        let mut response = builder
            .send()
            .await
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
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| format!("fetch: reading the body: {}", cause(&e)))?
        {
            if (body.len() + chunk.len()) as u64 > FETCH_BODY_MAX {
                return Err(format!(
                    "fetch: the response body is larger than {} KiB",
                    FETCH_BODY_MAX >> 10
                ));
            }
            body.extend_from_slice(&chunk);
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

/// The client of one instance's fetches: no proxy from the environment,
/// and redirects followed only to granted hosts.
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
        .referer(false)
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

    fn url(text: &str) -> reqwest::Url {
        reqwest::Url::parse(text).unwrap()
    }

    /// A fetch of `url` with no headers and no body.
    fn get(url: &str) -> FetchRequest {
        FetchRequest {
            method: "GET".into(),
            url: url.into(),
            headers: Vec::new(),
            body: None,
        }
    }

    #[test]
    fn a_bare_host_admits_its_default_ports_only() {
        let grant = AllowedHost::parse("Auth.Example.com").unwrap();
        assert!(grant.admits(&url("https://auth.example.com/token")));
        assert!(grant.admits(&url("http://AUTH.example.com/")));
        assert!(!grant.admits(&url("http://auth.example.com:9000/")));
        assert!(!grant.admits(&url("https://auth.example.com:80/")));
        assert!(!grant.admits(&url("https://auth.example.com.evil.test/")));
    }

    #[test]
    fn a_port_grant_admits_that_port_only_port_80_included() {
        let eighty = AllowedHost::parse("127.0.0.1:80").unwrap();
        assert!(eighty.admits(&url("http://127.0.0.1/")));
        assert!(!eighty.admits(&url("http://127.0.0.1:19302/")));
        assert!(!eighty.admits(&url("http://127.0.0.1:1/")));
        let other = AllowedHost::parse("auth.example.com:8443").unwrap();
        assert!(other.admits(&url("https://auth.example.com:8443/t")));
        assert!(other.admits(&url("http://auth.example.com:8443/t")));
        assert!(!other.admits(&url("https://auth.example.com/t")));
        assert_eq!(eighty.to_string(), "127.0.0.1:80");
    }

    #[test]
    fn a_scheme_grant_admits_that_scheme_and_its_port() {
        let grant = AllowedHost::parse("https://idp.example").unwrap();
        assert!(grant.admits(&url("https://idp.example/token")));
        assert!(!grant.admits(&url("http://idp.example/token")));
        assert!(!grant.admits(&url("https://idp.example:8443/token")));
        let http = AllowedHost::parse("http://127.0.0.1:80").unwrap();
        assert!(http.admits(&url("http://127.0.0.1/")));
        assert!(!http.admits(&url("https://127.0.0.1:80/")));
        assert_eq!(grant.to_string(), "https://idp.example");
    }

    #[test]
    fn only_a_grant_naming_the_scheme_lets_a_job_switch_scheme() {
        let (from, to) = (
            url("http://127.0.0.1:19301/a"),
            url("https://127.0.0.1:19301/a"),
        );
        assert!(
            !AllowedHost::parse("127.0.0.1:19301")
                .unwrap()
                .admits_switch(&from, &to)
        );
        assert!(
            AllowedHost::parse("https://127.0.0.1:19301")
                .unwrap()
                .admits_switch(&from, &to)
        );
    }

    #[test]
    fn ipv6_literals_parse() {
        let grant = AllowedHost::parse("[::1]:8080").unwrap();
        assert!(grant.admits(&url("http://[::1]:8080/")));
        assert!(!grant.admits(&url("http://[::1]:8081/")));
        assert!(
            AllowedHost::parse("https://[::1]")
                .unwrap()
                .admits(&url("https://[::1]/"))
        );
    }

    #[test]
    fn what_is_not_a_grant_is_refused() {
        for text in [
            "ftp://x",
            "x/path",
            "",
            "http://x/",
            "u@x",
            "x?q",
            "http://",
        ] {
            assert!(AllowedHost::parse(text).is_err(), "{text:?}");
        }
    }

    /// Runs a fetch on an event loop of its own.
    fn run<F: std::future::Future>(fetch: F) -> F::Output {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(fetch)
    }

    #[test]
    fn a_host_not_granted_is_refused_before_any_connection() {
        let fetcher = Fetcher::new(vec![AllowedHost::parse("allowed.test").unwrap()]);
        let mut client = None;
        let error = run(fetcher.fetch(&mut client, &get("http://127.0.0.1:9/"))).unwrap_err();
        assert!(error.contains("not granted"), "{error}");
        assert!(client.is_none(), "no client was even made");
    }

    #[test]
    fn a_url_is_checked_as_every_url_sent_is() {
        let fetcher = Fetcher::new(vec![AllowedHost::parse("allowed.test").unwrap()]);
        let fetch = |url: &str| run(fetcher.fetch(&mut None, &get(url)));
        let scheme = fetch("ftp://allowed.test/token?key=s3cr3t").unwrap_err();
        assert_eq!(
            scheme,
            "fetch: the URL has scheme \"ftp\"; only http and https are fetched"
        );
        let long = format!("http://allowed.test/{}", "a".repeat(crate::wire::MAX_URL));
        assert!(fetch(&long).unwrap_err().contains("at most 65534"));
        assert!(
            fetch("/token")
                .unwrap_err()
                .starts_with("fetch: the URL does not parse")
        );
    }
}
