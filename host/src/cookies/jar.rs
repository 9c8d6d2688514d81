//! A session's cookie jar, and the jars of a whole pool.
//!
//! A jar is `cookie_store`'s RFC 6265 store (domain and host-only matching,
//! paths, expiry, `Secure` only over HTTPS, `HttpOnly`) plus, for each
//! cookie the session's servers set or deleted, when that happened. Each
//! worker's session has a jar of its own and fills it one request at a
//! time; the pool keeps a handle on every jar ([`CookieJars`]) so that
//! what the sessions hold can be read at the end (`--cookie-jar`). When
//! sessions disagree on a cookie, the one that changed it last wins.
//!
//! No public suffix list is consulted: `cookie_store` takes one only as
//! data the caller loads, and none ships with it. A server can then set a
//! cookie for a public suffix it is under (`Domain=co.uk` from
//! `a.co.uk`); it still cannot set one for a domain it is not in.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use cookie_store::{CookieError, CookieStore};
use reqwest::Url;
use reqwest::header::{HeaderMap, HeaderValue, SET_COOKIE};

use super::{Cookie, RequestCookies};

/// A cookie's place in a jar: its domain, path and name.
type Key = (String, String, String);

/// Counts changes across every jar of the process, so that the latest
/// change to a cookie can be told among jars.
static CHANGES: AtomicU64 = AtomicU64::new(1);

/// One session's cookies.
#[derive(Default)]
pub(crate) struct Jar {
    store: CookieStore,
    /// When each cookie the servers set or deleted changed last (a count
    /// of [`CHANGES`]); the cookies the jar was seeded with and nobody
    /// touched since are not here (they count as 0).
    changed: HashMap<Key, u64>,
}

impl Jar {
    /// A jar holding `cookies` (those that cannot be stored are left out,
    /// unshown: the list was checked where it was made).
    pub(crate) fn seeded(cookies: &[Cookie]) -> Jar {
        let mut jar = Jar::default();
        for cookie in cookies {
            if let Ok((stored, url)) = cookie.to_stored() {
                let _ = jar.store.insert(stored, &url);
            }
        }
        jar
    }

    /// The `(name, value)` pairs the jar sends to `url`, longer paths
    /// first (RFC 6265, 5.4), then by name (the store keeps no creation
    /// times to order by).
    fn values_for(&self, url: &Url) -> Vec<(String, String)> {
        let mut matched = self.store.matches(url);
        matched.sort_by_key(|cookie| {
            (
                std::cmp::Reverse(String::from(&cookie.path).len()),
                cookie.name().to_owned(),
            )
        });
        matched
            .into_iter()
            .map(|cookie| (cookie.name().to_owned(), cookie.value().to_owned()))
            .collect()
    }

    /// Keeps what the `Set-Cookie` fields of a response from `url` set
    /// (or delete). A field the rules refuse is dropped without a word
    /// about its value.
    pub(crate) fn store(&mut self, url: &Url, headers: &HeaderMap) {
        for value in headers.get_all(SET_COOKIE) {
            let Ok(text) = value.to_str() else { continue };
            let Ok(cookie) = cookie_store::Cookie::parse(text, url) else {
                continue;
            };
            let Some(domain) = cookie.domain.as_cow() else {
                continue;
            };
            let key = (
                domain.into_owned(),
                String::from(&cookie.path),
                cookie.name().to_owned(),
            );
            match self.store.insert(cookie.into_owned(), url) {
                // A deletion of a cookie this jar does not hold may still
                // be the latest word on one another jar holds.
                Ok(_) | Err(CookieError::Expired) => {
                    self.changed
                        .insert(key, CHANGES.fetch_add(1, Ordering::Relaxed));
                }
                Err(error) => {
                    tracing::debug!(
                        "a Set-Cookie from {} was not kept: {error}",
                        url.host_str().unwrap_or("")
                    );
                }
            }
        }
    }
}

/// The value of the `Cookie` header for a request to `url`: the cookies
/// of `jar` (if the session keeps one) for it, with `own` (the job's, for
/// its origin) in place of those of the same name, and after them. `None`
/// when there is none. The value is marked sensitive (never shown by
/// `Debug`, kept out of HTTP/2's header compression tables).
pub(crate) fn cookie_header(
    jar: Option<&Mutex<Jar>>,
    url: &Url,
    own: Option<&RequestCookies>,
) -> Option<HeaderValue> {
    let mut pairs = jar.map_or_else(Vec::new, |jar| {
        jar.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values_for(url)
    });
    if let Some(own) = own.filter(|own| !own.is_empty()) {
        pairs.retain(|(name, _)| !own.0.iter().any(|(mine, _)| mine == name));
        pairs.extend(own.0.iter().cloned());
    }
    if pairs.is_empty() {
        return None;
    }
    let text = pairs
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("; ");
    let mut value = HeaderValue::from_str(&text).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// Every session's jar of one pool, and the cookies they started with:
/// [`CookieJars::cookies`] is what they hold together. A handle: clones
/// share the jars, and it outlives the pool ([`crate::Pool::cookie_jars`]).
#[derive(Clone, Default)]
pub struct CookieJars(Arc<Registry>);

#[derive(Default)]
struct Registry {
    /// The cookies every session starts with.
    start: Vec<Cookie>,
    /// Whether sessions keep a jar at all.
    enabled: bool,
    jars: Mutex<Vec<Arc<Mutex<Jar>>>>,
}

impl CookieJars {
    /// Jars that start with `start`, or none at all unless `enabled`.
    pub(crate) fn new(enabled: bool, start: Vec<Cookie>) -> CookieJars {
        CookieJars(Arc::new(Registry {
            start,
            enabled,
            jars: Mutex::default(),
        }))
    }

    /// The cookies a new session starts with, `None` when sessions keep no
    /// jar.
    pub(crate) fn start(&self) -> Option<&[Cookie]> {
        self.0.enabled.then_some(self.0.start.as_slice())
    }

    /// Keeps `jar`, a session's, among the pool's.
    pub(crate) fn add(&self, jar: Arc<Mutex<Jar>>) {
        self.0
            .jars
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(jar);
    }

    /// What the sessions hold now, unexpired, for a `cookies.txt`
    /// (`--cookie-jar`): the cookies they started with, as the servers
    /// since set or deleted them; where sessions disagree on a cookie (a
    /// domain, path and name), the session that changed it last wins, its
    /// deletion included. Sorted by domain, path and name.
    pub fn cookies(&self) -> Vec<Cookie> {
        let mut latest: HashMap<Key, (u64, Option<Cookie>)> = HashMap::new();
        for cookie in Jar::seeded(&self.0.start).store.iter_unexpired() {
            if let Some(cookie) = Cookie::of_stored(cookie) {
                latest.insert(key_of(&cookie), (0, Some(cookie)));
            }
        }
        let jars = self.0.jars.lock().unwrap_or_else(PoisonError::into_inner);
        for jar in jars.iter() {
            let jar = jar.lock().unwrap_or_else(PoisonError::into_inner);
            for ((domain, path, name), &change) in &jar.changed {
                let key = (domain.clone(), path.clone(), name.clone());
                if latest.get(&key).is_some_and(|(seen, _)| *seen >= change) {
                    continue;
                }
                let held = jar
                    .store
                    .get(domain, path, name)
                    .and_then(Cookie::of_stored);
                latest.insert(key, (change, held));
            }
        }
        let mut cookies: Vec<Cookie> = latest
            .into_values()
            .filter_map(|(_, cookie)| cookie)
            .filter(|cookie| !cookie.is_expired())
            .collect();
        cookies.sort_by_key(key_of);
        cookies
    }
}

fn key_of(cookie: &Cookie) -> Key {
    (
        cookie.domain.clone(),
        cookie.path.clone(),
        cookie.name.clone(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    fn set(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(SET_COOKIE, value.parse().unwrap());
        }
        headers
    }

    fn header(jar: &Mutex<Jar>, to: &str) -> Option<String> {
        cookie_header(Some(jar), &url(to), None).map(|v| v.to_str().unwrap().to_owned())
    }

    #[test]
    fn a_jar_sends_by_domain_path_and_scheme() {
        let jar = Mutex::new(Jar::default());
        jar.lock().unwrap().store(
            &url("https://www.example.com/app/login"),
            &set(&[
                "host=1",
                "wide=2; Domain=example.com; Path=/",
                "deep=3; Path=/app/admin",
                "safe=4; Secure; Path=/",
            ]),
        );
        assert_eq!(
            header(&jar, "https://www.example.com/app/x").as_deref(),
            Some("host=1; safe=4; wide=2"),
            "host=1 has the default path /app"
        );
        assert_eq!(
            header(&jar, "http://api.example.com/").as_deref(),
            Some("wide=2"),
            "a subdomain gets the domain cookie, and http no Secure one"
        );
        assert_eq!(header(&jar, "https://example.org/"), None);
        assert_eq!(
            header(&jar, "https://www.example.com/app/admin/a").as_deref(),
            Some("deep=3; host=1; safe=4; wide=2"),
            "longer paths first"
        );
        jar.lock().unwrap().store(
            &url("https://www.example.com/"),
            &set(&["wide=; Domain=example.com; Path=/; Max-Age=0"]),
        );
        assert_eq!(
            header(&jar, "http://api.example.com/"),
            None,
            "deleted by the server"
        );
    }

    #[test]
    fn a_jobs_own_cookies_replace_the_jars_of_the_same_name() {
        let jar = Mutex::new(Jar::default());
        jar.lock()
            .unwrap()
            .store(&url("http://h.test/"), &set(&["a=jar", "b=jar"]));
        let own = RequestCookies(vec![("b".into(), "job".into()), ("c".into(), "job".into())]);
        let value = cookie_header(Some(&jar), &url("http://h.test/"), Some(&own)).unwrap();
        assert!(value.is_sensitive());
        let mut pairs: Vec<&str> = value.to_str().unwrap().split("; ").collect();
        pairs.sort_unstable();
        assert_eq!(pairs, ["a=jar", "b=job", "c=job"]);
        assert_eq!(cookie_header(None, &url("http://h.test/"), None), None);
    }

    #[test]
    fn the_jars_together_hold_the_latest_change_of_each_cookie() {
        let start = vec![
            Cookie {
                name: "kept".into(),
                value: "0".into(),
                domain: "h.test".into(),
                host_only: true,
                path: "/".into(),
                secure: false,
                http_only: false,
                expires: None,
            },
            Cookie {
                name: "dropped".into(),
                value: "0".into(),
                domain: "h.test".into(),
                host_only: true,
                path: "/".into(),
                secure: false,
                http_only: false,
                expires: None,
            },
        ];
        let jars = CookieJars::new(true, start.clone());
        let first = Arc::new(Mutex::new(Jar::seeded(jars.start().unwrap())));
        let second = Arc::new(Mutex::new(Jar::seeded(jars.start().unwrap())));
        jars.add(Arc::clone(&first));
        jars.add(Arc::clone(&second));
        let here = url("http://h.test/");
        first.lock().unwrap().store(&here, &set(&["new=1; Path=/"]));
        second
            .lock()
            .unwrap()
            .store(&here, &set(&["new=2; Path=/"]));
        first
            .lock()
            .unwrap()
            .store(&here, &set(&["dropped=; Path=/; Max-Age=0"]));
        let held: Vec<(String, String)> = jars
            .cookies()
            .into_iter()
            .map(|c| (c.name, c.value))
            .collect();
        assert_eq!(
            held,
            [
                ("kept".to_owned(), "0".to_owned()),
                ("new".to_owned(), "2".to_owned()),
            ]
        );
        assert!(CookieJars::new(false, start).start().is_none());
    }
}
