//! A job: one HTTP request to make, as the caller described it.
//!
//! A job is what Python's requests-toolbelt calls `request_kwargs`: the
//! method, URL, headers, body and timeout of one request. Every response and
//! every failure carries the job it came from, so a failed job can be run
//! again exactly as it was (`Pool::from_exceptions`).

use std::time::Duration;

use bytes::Bytes;
use reqwest::Url;

use crate::cookies::RequestCookies;

/// One HTTP request to make.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    /// The HTTP method, upper case.
    pub method: String,
    /// The absolute URL to fetch.
    pub url: String,
    /// Header fields of this request, on top of the session's defaults.
    pub headers: Vec<(String, String)>,
    /// The request body, if any. Shared, not copied, by every job made
    /// from the same [`RequestDefaults`] and by every attempt and redirect:
    /// one 10 MiB body for a million jobs is 10 MiB.
    pub body: Option<Bytes>,
    /// Time allowed for each attempt of this job; the session's timeout when
    /// absent.
    pub timeout: Option<Duration>,
    /// HTTP Basic credentials (Python's `auth=(user, password)`), sent to
    /// the job's origin only (not after a redirect elsewhere), and only
    /// when no header or hook set `Authorization`. Hooks never see them,
    /// and the failures file never holds them.
    pub auth: Option<BasicAuth>,
    /// Whether redirects are followed (Python's `allow_redirects`, true by
    /// default): when false, a 3xx is this job's response.
    pub allow_redirects: bool,
    /// Cookies of this request (Python's `cookies=`): sent to the job's
    /// origin only, over the session's of the same name, not kept in the
    /// session's jar, never written to a failures file.
    pub cookies: RequestCookies,
    /// The URL as parsed when the job was read, so that the worker need
    /// not parse it again (a parse is about a tenth of a request's own
    /// work in tb-host).
    pub(crate) checked: CheckedUrl,
}

/// A job's URL as [`crate::input::check_url`] parsed it. Taken only while it
/// is still the job's `url` (a caller may have changed that since), and
/// never part of what a job is: two jobs that differ in it alone are equal.
#[derive(Clone, Default)]
pub(crate) struct CheckedUrl(Option<Url>);

impl CheckedUrl {
    /// Keeps `url`, the parse of what the job's `url` is set to.
    pub(crate) fn new(url: Url) -> CheckedUrl {
        CheckedUrl(Some(url))
    }

    /// The parsed URL, if one is kept and it is `current`'s; taken out, so
    /// that a job that ended (and may be held by the caller) keeps none.
    pub(crate) fn take(&mut self, current: &str) -> Option<Url> {
        self.0.take().filter(|url| url.as_str() == current)
    }
}

impl PartialEq for CheckedUrl {
    fn eq(&self, _: &CheckedUrl) -> bool {
        true
    }
}

impl Eq for CheckedUrl {}

impl std::fmt::Debug for CheckedUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "kept" } else { "none" })
    }
}

/// A user and password for HTTP Basic authentication. Its `Debug` hides
/// the password.
#[derive(Clone, PartialEq, Eq)]
pub struct BasicAuth {
    /// The user name.
    pub user: String,
    /// The password.
    pub password: String,
}

impl BasicAuth {
    /// The value of the `Authorization` header these credentials make.
    pub fn header_value(&self) -> String {
        use base64::Engine;
        let pair = format!("{}:{}", self.user, self.password);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    }
}

impl std::fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicAuth")
            .field("user", &self.user)
            .field("password", &"[redacted]")
            .finish()
    }
}

fn default_method() -> String {
    "GET".to_owned()
}

impl Job {
    /// A `GET` of `url` with nothing else set.
    pub fn get(url: impl Into<String>) -> Job {
        Job {
            method: default_method(),
            url: url.into(),
            headers: Vec::new(),
            body: None,
            timeout: None,
            auth: None,
            allow_redirects: true,
            cookies: RequestCookies::default(),
            checked: CheckedUrl::default(),
        }
    }

    /// A job for `url` that takes everything else from `defaults` (Python's
    /// `Pool.from_urls(urls, request_kwargs)`).
    pub fn from_url(url: impl Into<String>, defaults: &RequestDefaults) -> Job {
        let mut headers = defaults.headers.clone();
        defaults.add_content_type(&mut headers);
        Job {
            method: defaults.method.clone(),
            url: url.into(),
            headers,
            body: defaults.body.clone(),
            timeout: defaults.timeout,
            auth: defaults.auth.clone(),
            allow_redirects: true,
            cookies: defaults.cookies.clone(),
            checked: CheckedUrl::default(),
        }
    }

    /// A job for `url` as [`crate::input::check_url`] returned it, the
    /// rest from `defaults`: [`Job::from_url`] that keeps the parse.
    pub(crate) fn from_checked_url(url: Url, defaults: &RequestDefaults) -> Job {
        let mut job = Job::from_url(url.as_str(), defaults);
        job.checked = CheckedUrl::new(url);
        job
    }

    /// Sets the method.
    pub fn method(mut self, method: impl Into<String>) -> Job {
        self.method = method.into().to_ascii_uppercase();
        self
    }

    /// Adds a header field.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Job {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Bytes>) -> Job {
        self.body = Some(body.into());
        self
    }

    /// Sets the body to `form` and its `Content-Type`, unless a header
    /// sets one (Python's `data={...}` and `files=`; see [`crate::form`]).
    pub fn form(mut self, form: crate::form::Form) -> Job {
        crate::input::add_content_type(&mut self.headers, &form.content_type);
        self.body = Some(form.body);
        self
    }

    /// Sets the HTTP Basic credentials (see [`Job::auth`]).
    pub fn auth(mut self, auth: BasicAuth) -> Job {
        self.auth = Some(auth);
        self
    }

    /// Adds a cookie of this request (see [`Job::cookies`]); one of the
    /// same name given before is replaced.
    pub fn cookie(mut self, name: impl Into<String>, value: impl Into<String>) -> Job {
        let own = RequestCookies(vec![(name.into(), value.into())]);
        self.cookies = self.cookies.merged(own);
        self
    }

    /// Sets the time allowed for each attempt.
    pub fn timeout(mut self, timeout: Duration) -> Job {
        self.timeout = Some(timeout);
        self
    }

    /// Sets whether redirects are followed (see [`Job::allow_redirects`]).
    pub fn allow_redirects(mut self, allow: bool) -> Job {
        self.allow_redirects = allow;
        self
    }
}

/// What every job made from a bare URL shares: the `request_kwargs` of
/// Python's `Pool.from_urls`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestDefaults {
    /// The HTTP method, upper case; `GET` by default.
    pub method: String,
    /// Header fields added to every job.
    pub headers: Vec<(String, String)>,
    /// A body sent with every job, shared by all of them.
    pub body: Option<Bytes>,
    /// The `Content-Type` of `body` (a JSON body's, a form's): a job that
    /// takes `body` gets it unless its headers set one; a job with a body
    /// of its own does not.
    pub content_type: Option<String>,
    /// Time allowed for each attempt.
    pub timeout: Option<Duration>,
    /// HTTP Basic credentials for every job (see [`Job::auth`]).
    pub auth: Option<BasicAuth>,
    /// Cookies of every job (`--cookie`; see [`Job::cookies`]).
    pub cookies: RequestCookies,
}

impl Default for RequestDefaults {
    fn default() -> Self {
        RequestDefaults {
            method: default_method(),
            headers: Vec::new(),
            body: None,
            content_type: None,
            timeout: None,
            auth: None,
            cookies: RequestCookies::default(),
        }
    }
}

impl RequestDefaults {
    /// Adds [`RequestDefaults::content_type`] to `headers`, the headers of
    /// a job that takes the default body, unless they set a content type.
    pub fn add_content_type(&self, headers: &mut Vec<(String, String)>) {
        if let Some(content_type) = &self.content_type {
            crate::input::add_content_type(headers, content_type);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_url_takes_the_defaults() {
        let defaults = RequestDefaults {
            method: "POST".into(),
            headers: vec![("X-A".into(), "1".into())],
            body: Some(Bytes::from_static(b"hi")),
            content_type: Some("text/x".into()),
            timeout: Some(Duration::from_secs(2)),
            auth: Some(BasicAuth {
                user: "ann".into(),
                password: "s3cr3t".into(),
            }),
            cookies: RequestCookies(vec![("sid".into(), "1".into())]),
        };
        let job = Job::from_url("http://127.0.0.1/x", &defaults);
        assert_eq!(job.method, "POST");
        assert_eq!(job.url, "http://127.0.0.1/x");
        assert_eq!(
            job.headers,
            [
                ("X-A".to_owned(), "1".to_owned()),
                ("Content-Type".to_owned(), "text/x".to_owned())
            ],
            "the body's type comes with it"
        );
        assert!(job.allow_redirects);
        assert_eq!(job.body.as_deref(), Some(&b"hi"[..]));
        assert_eq!(job.auth, defaults.auth);
        assert_eq!(job.cookies, defaults.cookies);
        assert_eq!(job.timeout, Some(Duration::from_secs(2)));
    }

    #[test]
    fn a_kept_parse_is_taken_once_and_only_while_it_is_the_url() {
        let url = Url::parse("http://127.0.0.1/a").unwrap();
        let job = Job::from_checked_url(url.clone(), &RequestDefaults::default());
        assert_eq!(job, Job::get("http://127.0.0.1/a"), "not part of the job");
        let mut kept = job.checked.clone();
        assert_eq!(kept.take("http://127.0.0.1/a"), Some(url));
        assert_eq!(kept.take("http://127.0.0.1/a"), None, "taken out");
        let mut changed = job.checked;
        assert_eq!(
            changed.take("http://127.0.0.1/b"),
            None,
            "the URL was changed"
        );
    }

    #[test]
    fn basic_auth_makes_its_header_and_hides_its_password_in_debug() {
        let auth = BasicAuth {
            user: "Aladdin".into(),
            password: "open sesame".into(),
        };
        assert_eq!(auth.header_value(), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
        let shown = format!("{:?}", Job::get("http://h/").auth(auth));
        assert!(
            shown.contains("Aladdin") && !shown.contains("sesame"),
            "{shown}"
        );
    }
}
