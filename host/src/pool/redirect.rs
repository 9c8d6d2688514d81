//! Redirects, followed by the worker hop by hop rather than inside the
//! HTTP client, so that every hop is a request of its own: authorized by
//! the hooks for its own URL (a signing hook signs what is really sent),
//! under the origin rule (credentials stay with the origin they were given
//! for), counted by the send limits.
//!
//! What crosses to another origin follows curl and requests: the job's
//! own headers go on, but for `Authorization`, `Cookie`,
//! `Proxy-Authorization` and `Host`; the session's headers (set by
//! `init-session` and `auth-session`) and whatever `authorize` hooks
//! added go only to the job's origin, or to an origin granted to the hook.
//! No `Referer` is sent. `301` and `302` turn a `POST` into a `GET`, `303`
//! anything but `HEAD`, dropping the body and the headers that describe it;
//! `307` and `308` keep both.

use reqwest::Url;
use reqwest::header::{HeaderMap, LOCATION};

use crate::wire::{self, TEXT_SHOWN, shorten};

/// The statuses whose `Location` is followed.
const FOLLOWED: [u16; 5] = [301, 302, 303, 307, 308];

/// The job's headers that do not cross to another origin.
const CREDENTIALS: [&str; 4] = ["authorization", "cookie", "proxy-authorization", "host"];

/// The headers that describe a body, dropped with it.
const BODY_HEADERS: [&str; 3] = ["content-type", "content-length", "transfer-encoding"];

/// Where a response to a request for `url` redirects: `None` when it is
/// not a redirect to follow (not one of the statuses above, or no
/// `Location`: then it is the job's response), else the next hop's URL or
/// why it cannot be followed.
pub(crate) fn target(status: u16, headers: &HeaderMap, url: &Url) -> Option<Result<Url, String>> {
    if !FOLLOWED.contains(&status) {
        return None;
    }
    let location = headers.get(LOCATION)?;
    Some(resolve(location.as_bytes(), url))
}

/// `location` resolved against `url`, if it may be followed.
fn resolve(location: &[u8], url: &Url) -> Result<Url, String> {
    let text = std::str::from_utf8(location)
        .map_err(|_| "a redirect whose Location is not UTF-8 is not followed".to_owned())?;
    let next = url.join(text.trim()).map_err(|e| {
        format!(
            "the redirect's Location {:?} does not parse: {e}",
            shorten(text, TEXT_SHOWN)
        )
    })?;
    wire::parse_url(next.as_str()).map_err(|error| {
        format!(
            "the redirect to {:?} is not followed: {error}",
            shorten(next.as_str(), TEXT_SHOWN)
        )
    })
}

/// The request of one hop before the hooks see it: the job's own, or what
/// a redirect made of it.
#[derive(Clone, Debug)]
pub(crate) struct Hop {
    pub method: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<bytes::Bytes>,
}

impl Hop {
    /// The hop that follows a `status` answer to `self`, going to `next`:
    /// `to_job_origin` says whether `next` has the job's origin, where
    /// `job_headers` (the job's own) all go.
    pub(crate) fn redirected(
        &self,
        status: u16,
        job_headers: &[(String, String)],
        to_job_origin: bool,
    ) -> Hop {
        let to_get = match status {
            301 | 302 => self.method == "POST",
            303 => self.method != "HEAD",
            _ => false,
        };
        let keep = |name: &str| {
            (to_job_origin || !CREDENTIALS.iter().any(|c| c.eq_ignore_ascii_case(name)))
                && !(to_get && BODY_HEADERS.iter().any(|b| b.eq_ignore_ascii_case(name)))
        };
        Hop {
            method: if to_get {
                "GET".to_owned()
            } else {
                self.method.clone()
            },
            headers: job_headers
                .iter()
                .filter(|(name, _)| keep(name))
                .cloned()
                .collect(),
            body: if to_get { None } else { self.body.clone() },
        }
    }
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    fn location(value: &[u8]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(LOCATION, HeaderValue::from_bytes(value).unwrap());
        headers
    }

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn only_redirect_statuses_with_a_location_are_followed() {
        let here = url("http://127.0.0.1:8080/a/b");
        let next = target(302, &location(b"../c?x=1"), &here).unwrap().unwrap();
        assert_eq!(next.as_str(), "http://127.0.0.1:8080/c?x=1");
        assert!(target(200, &location(b"/c"), &here).is_none());
        assert!(target(304, &location(b"/c"), &here).is_none());
        assert!(target(301, &HeaderMap::new(), &here).is_none());
    }

    #[test]
    fn redirects_to_other_schemes_or_unreadable_locations_are_refused() {
        let here = url("http://127.0.0.1:8080/");
        for bad in [
            &b"file:///etc/passwd"[..],
            b"data:text/plain,hi",
            b"ftp://127.0.0.1/x",
            b"http://[::1",
            b"/caf\xe9",
        ] {
            let refused = target(302, &location(bad), &here).unwrap();
            assert!(refused.is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    fn hop(method: &str, body: Option<&[u8]>) -> Hop {
        Hop {
            method: method.into(),
            headers: Vec::new(),
            body: body.map(bytes::Bytes::copy_from_slice),
        }
    }

    #[test]
    fn post_becomes_get_as_in_requests_and_307_keeps_it() {
        let job = vec![
            ("Content-Type".to_owned(), "application/json".to_owned()),
            ("X-Trace".to_owned(), "1".to_owned()),
        ];
        let post = hop("POST", Some(b"{}"));
        for status in [301, 302, 303] {
            let next = post.redirected(status, &job, true);
            assert_eq!((next.method.as_str(), next.body), ("GET", None));
            assert_eq!(next.headers, [("X-Trace".to_owned(), "1".to_owned())]);
        }
        for status in [307, 308] {
            let next = post.redirected(status, &job, true);
            assert_eq!(next.method, "POST");
            assert_eq!(next.body.as_deref(), Some(&b"{}"[..]));
            assert_eq!(next.headers, job);
        }
        assert_eq!(hop("HEAD", None).redirected(303, &job, true).method, "HEAD");
        assert_eq!(hop("PUT", None).redirected(302, &job, true).method, "PUT");
    }

    #[test]
    fn credentials_stay_with_the_jobs_origin() {
        let job: Vec<(String, String)> = [
            ("Authorization", "Bearer t"),
            ("cookie", "a=b"),
            ("Proxy-Authorization", "Basic x"),
            ("Host", "vhost"),
            ("X-Api-Key", "k"),
        ]
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
        let get = hop("GET", None);
        assert_eq!(get.redirected(302, &job, true).headers, job);
        let names: Vec<String> = get
            .redirected(302, &job, false)
            .headers
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        assert_eq!(
            names,
            ["X-Api-Key"],
            "a -H header that is not a credential goes on"
        );
    }
}
