//! Cookies: the jar every worker's session keeps, as `requests.Session`
//! does, and the cookies a caller gives.
//!
//! Three kinds of cookies reach a request:
//!
//! - the session's jar: filled by the servers' `Set-Cookie`
//!   answers under RFC 6265's rules (domain and host-only cookies, path,
//!   expiry, `Secure`, `HttpOnly`), and seeded when the session opens from
//!   a plain list of [`Cookie`]s (a `cookies.txt` file, see [`netscape`]).
//!   Each worker has a jar of its own, as it has a session of its own; what
//!   they all hold at the end is [`CookieJars::cookies`];
//! - a job's own ([`RequestCookies`], Python's `requests.request(cookies=)`):
//!   sent to the job's origin only, over the jar's of the same name, and
//!   never stored;
//! - a `Cookie` header set by hand (`-H`, a job's `headers`, a hook): sent as
//!   it is, in place of the other two, as requests and reqwest do.
//!
//! Cookie values are credentials: the `Debug` of every type here hides
//! them, and nothing here logs them.

mod jar;
pub mod netscape;

use std::time::SystemTime;

use reqwest::Url;
use reqwest::header::{HeaderMap, SET_COOKIE};

pub use jar::CookieJars;
pub(crate) use jar::{Jar, cookie_header};

/// One cookie as a jar holds it: what a `Set-Cookie` set, after RFC 6265's
/// rules gave it its domain and path. The list a session starts with is
/// made of these, and so is what [`CookieJars::cookies`] returns.
#[derive(Clone, PartialEq, Eq)]
pub struct Cookie {
    /// The cookie's name.
    pub name: String,
    /// Its value, a credential: `Debug` does not show it.
    pub value: String,
    /// The host (for a host-only cookie) or the domain (for one sent to
    /// its subdomains too) it belongs to, lower case, without a leading
    /// dot.
    pub domain: String,
    /// Whether it goes to `domain` alone (no `Domain` attribute was given),
    /// not to its subdomains: curl's "include subdomains" column, negated.
    pub host_only: bool,
    /// The path it is sent under (`/` and every path below it).
    pub path: String,
    /// Whether it goes over HTTPS only.
    pub secure: bool,
    /// Whether it is for HTTP only (not for scripts; kept for the file).
    pub http_only: bool,
    /// When it expires; `None` for a cookie that ends with the session
    /// (curl writes those with 0).
    pub expires: Option<SystemTime>,
}

/// A cookie as plugins see it in a session's settings
/// ([`crate::hooks::SessionSettings::cookies`]): expiry in seconds since
/// the Unix epoch.
impl From<&Cookie> for crate::hooks::Cookie {
    fn from(cookie: &Cookie) -> crate::hooks::Cookie {
        crate::hooks::Cookie {
            name: cookie.name.clone(),
            value: cookie.value.clone(),
            domain: cookie.domain.clone(),
            host_only: cookie.host_only,
            path: cookie.path.clone(),
            secure: cookie.secure,
            http_only: cookie.http_only,
            expires: cookie.expires.map(|at| {
                at.duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0, |since| since.as_secs())
            }),
        }
    }
}

/// A cookie a session's settings hold, as its jar keeps it.
impl From<&crate::hooks::Cookie> for Cookie {
    fn from(cookie: &crate::hooks::Cookie) -> Cookie {
        Cookie {
            name: cookie.name.clone(),
            value: cookie.value.clone(),
            domain: cookie.domain.trim_start_matches('.').to_ascii_lowercase(),
            host_only: cookie.host_only,
            path: cookie.path.clone(),
            secure: cookie.secure,
            http_only: cookie.http_only,
            expires: cookie
                .expires
                .map(|secs| SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs)),
        }
    }
}

impl std::fmt::Debug for Cookie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cookie")
            .field("name", &self.name)
            .field("value", &"[redacted]")
            .field("domain", &self.domain)
            .field("host_only", &self.host_only)
            .field("path", &self.path)
            .field("secure", &self.secure)
            .field("http_only", &self.http_only)
            .field("expires", &self.expires)
            .finish()
    }
}

impl Cookie {
    /// Whether it has expired by now.
    pub fn is_expired(&self) -> bool {
        self.expires.is_some_and(|at| at <= SystemTime::now())
    }

    /// The cookies the `Set-Cookie` fields of `headers` set, for a response
    /// from `url`; those RFC 6265 refuses (a `Domain` that is not the
    /// host's) are left out. A cookie a server deletes comes with an
    /// `expires` in the past.
    pub fn set_by(headers: &HeaderMap, url: &Url) -> Vec<Cookie> {
        headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .filter_map(|text| cookie_store::Cookie::parse(text, url).ok())
            .filter_map(|stored| Cookie::of_stored(&stored))
            .collect()
    }

    /// The cookie a jar holds as `stored`, if it has a domain.
    fn of_stored(stored: &cookie_store::Cookie<'_>) -> Option<Cookie> {
        let (domain, host_only) = match &stored.domain {
            cookie_store::CookieDomain::HostOnly(host) => (host.clone(), true),
            cookie_store::CookieDomain::Suffix(domain) => (domain.clone(), false),
            _ => return None,
        };
        Some(Cookie {
            name: stored.name().to_owned(),
            value: stored.value().to_owned(),
            domain,
            host_only,
            path: String::from(&stored.path),
            secure: stored.secure().unwrap_or(false),
            http_only: stored.http_only().unwrap_or(false),
            expires: match stored.expires {
                cookie_store::CookieExpiration::AtUtc(at) => Some(at.into()),
                cookie_store::CookieExpiration::SessionEnd => None,
            },
        })
    }

    /// This cookie as a jar stores it, and a URL it may come from (for the
    /// jar's rules); why not when its name, domain or path cannot be one.
    fn to_stored(&self) -> Result<(cookie_store::Cookie<'static>, Url), String> {
        let domain = self.domain.trim_start_matches('.');
        let host = if domain.contains(':') && !domain.starts_with('[') {
            format!("[{domain}]")
        } else {
            domain.to_owned()
        };
        let url = Url::parse(&format!("https://{host}/"))
            .ok()
            .filter(|url| url.host().is_some() && !domain.is_empty())
            .ok_or_else(|| format!("{:?} is not a host or domain", self.domain))?;
        if !self.path.starts_with('/') {
            return Err(format!("the path {:?} does not start with /", self.path));
        }
        let mut raw = cookie_store::RawCookie::new(self.name.clone(), self.value.clone());
        if raw.name().is_empty() || raw.name().contains(['=', ';', ' ', '\t']) {
            return Err(format!("{:?} is not a cookie name", self.name));
        }
        raw.set_path(self.path.clone());
        raw.set_secure(self.secure);
        raw.set_http_only(self.http_only);
        if !self.host_only {
            raw.set_domain(domain.to_owned());
        }
        if let Some(at) = self.expires {
            raw.set_expires(time::OffsetDateTime::from(at));
        }
        let stored = cookie_store::Cookie::try_from_raw_cookie(&raw, &url)
            .map_err(|error| format!("cookie {:?}: {error}", self.name))?
            .into_owned();
        Ok((stored, url))
    }
}

/// Checks that `name=value` can go in a `Cookie` header: a name of token
/// characters (RFC 6265's cookie-name), a value without `;`, `,`, `"`, `\`,
/// white space or control characters. The error names the cookie, never its
/// value.
pub fn check_cookie(name: &str, value: &str) -> Result<(), String> {
    const SEPARATORS: &str = "()<>@,;:\\\"/[]?={} \t";
    let token = |c: char| c.is_ascii_graphic() && !SEPARATORS.contains(c);
    if name.is_empty() || !name.chars().all(token) {
        return Err(format!(
            "{:?} is not a cookie name (letters, digits and !#$%&'*+-.^_`|~)",
            crate::wire::shorten(name, crate::wire::TEXT_SHOWN)
        ));
    }
    let octet = |c: char| c.is_ascii_graphic() && !matches!(c, ';' | ',' | '"' | '\\');
    if !value.chars().all(octet) {
        return Err(format!(
            "the value of cookie {name:?} has a character a cookie cannot carry \
             (white space, a control character, or one of ; , \" \\)"
        ));
    }
    Ok(())
}

/// A request's own cookies, `(name, value)` in order (Python's
/// `requests.request(cookies=...)`, `--cookie`): sent to the job's origin
/// only, over the jar's cookies of the same name, never stored in the jar,
/// never written to a failures file. `Debug` shows the names only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RequestCookies(pub Vec<(String, String)>);

impl RequestCookies {
    /// `self` with `over`'s cookies in place of those of the same name, and
    /// `over`'s new ones added (a JSON-lines job's `cookies` over the
    /// `--cookie` flags).
    pub fn merged(&self, over: RequestCookies) -> RequestCookies {
        let mut merged: Vec<(String, String)> = self
            .0
            .iter()
            .filter(|(name, _)| !over.0.iter().any(|(own, _)| own == name))
            .cloned()
            .collect();
        merged.extend(over.0);
        RequestCookies(merged)
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for RequestCookies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(name, _)| format!("{name}=[redacted]")))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn set_cookie_fields_become_cookies_by_rfc_6265() {
        let mut headers = HeaderMap::new();
        for value in [
            "sid=abc; Path=/app; Secure; HttpOnly",
            "wide=1; Domain=.Example.com",
            "other=1; Domain=elsewhere.org",
            "gone=x; Max-Age=0",
        ] {
            headers.append(SET_COOKIE, value.parse().unwrap());
        }
        let cookies = Cookie::set_by(&headers, &url("https://api.example.com/app/x"));
        let names: Vec<&str> = cookies.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["sid", "wide", "gone"], "another domain is refused");
        let sid = &cookies[0];
        assert_eq!(
            (sid.domain.as_str(), sid.host_only, sid.path.as_str()),
            ("api.example.com", true, "/app")
        );
        assert!(sid.secure && sid.http_only && sid.expires.is_none());
        assert_eq!(
            (cookies[1].domain.as_str(), cookies[1].host_only),
            ("example.com", false)
        );
        assert!(cookies[2].is_expired());
    }

    #[test]
    fn a_cookie_goes_into_a_jar_and_back_out_unchanged() {
        let cookie = Cookie {
            name: "sid".into(),
            value: "s3cr3t".into(),
            domain: "example.com".into(),
            host_only: false,
            path: "/a".into(),
            secure: true,
            http_only: true,
            expires: Some(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(4_000_000_000)),
        };
        let (stored, _) = cookie.to_stored().unwrap();
        assert_eq!(Cookie::of_stored(&stored), Some(cookie.clone()));
        let bad = Cookie {
            domain: String::new(),
            ..cookie.clone()
        };
        assert!(bad.to_stored().is_err());
        let bad = Cookie {
            path: "a".into(),
            ..cookie
        };
        assert!(bad.to_stored().is_err());
    }

    #[test]
    fn cookie_names_and_values_are_checked_without_showing_the_value() {
        assert_eq!(check_cookie("sid", "a1-B2.%3D=="), Ok(()));
        assert_eq!(check_cookie("sid", ""), Ok(()));
        for (name, value) in [
            ("", "1"),
            ("a b", "1"),
            ("a=b", "1"),
            ("sid", "s3cr3t;x"),
            ("sid", "s3cr3t x"),
        ] {
            let error = check_cookie(name, value).unwrap_err();
            assert!(!error.contains("s3cr3t"), "{error}");
        }
    }

    #[test]
    fn values_are_not_shown_and_a_jobs_cookies_win_by_name() {
        let flags = RequestCookies(vec![("a".into(), "1".into()), ("b".into(), "2".into())]);
        let merged = flags.merged(RequestCookies(vec![("b".into(), "s3cr3t".into())]));
        assert_eq!(
            merged.0,
            [("a".into(), "1".into()), ("b".into(), "s3cr3t".into())]
        );
        let shown = format!("{merged:?}");
        assert!(
            !shown.contains("s3cr3t") && shown.contains("b=[redacted]"),
            "{shown}"
        );
    }
}
