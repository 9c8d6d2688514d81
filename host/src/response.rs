//! A finished job that got an HTTP response (Python's `ThreadResponse`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::header::HeaderMap;

use crate::cookies::Cookie;
use crate::job::Job;

/// A job that got an HTTP response, whatever its status. Carries the job it
/// came from (Python's `request_kwargs`) and gives the parts of the response
/// it wraps.
#[derive(Debug, Clone)]
pub struct Response {
    pub(crate) index: u64,
    pub(crate) job: Job,
    pub(crate) status: u16,
    pub(crate) http_version: &'static str,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
    pub(crate) body_cut: bool,
    pub(crate) bytes: u64,
    pub(crate) sha256: [u8; 32],
    pub(crate) body_path: Option<PathBuf>,
    pub(crate) attempts: u32,
    pub(crate) elapsed: Duration,
    pub(crate) redirects: u32,
    pub(crate) final_url: Option<String>,
}

impl Response {
    /// The job's position in the pool's input, from 0.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// The job this response answers (Python's `request_kwargs`).
    pub fn job(&self) -> &Job {
        &self.job
    }

    /// The HTTP status code of the last attempt.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The HTTP version that answered the last attempt: `HTTP/1.1`,
    /// `HTTP/2`, ...
    pub fn http_version(&self) -> &'static str {
        self.http_version
    }

    /// The response's header fields.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The response's `Content-Encoding`, as it came (`gzip`, `br`, ...),
    /// if it had one. A body in `gzip`, `deflate`, `br` or `zstd` is
    /// decoded when the pool decodes bodies
    /// ([`crate::PoolBuilder::decompress`], the default): [`Response::body`],
    /// [`Response::bytes`] and [`Response::sha256`] are then of the decoded
    /// body, as in Python's requests. [`Response::headers`] keep it, and
    /// the `Content-Length` of the coded body.
    pub fn content_encoding(&self) -> Option<&str> {
        self.header("content-encoding")
    }

    /// The first value of header `name` (any case), if present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body, as far as the pool keeps bodies (see
    /// [`crate::PoolBuilder::keep_bodies`]); empty otherwise.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Whether [`Response::body`] is only the start of the body: the pool
    /// keeps the first bytes only ([`crate::PoolBuilder::keep_bodies_up_to`]).
    pub fn body_is_cut(&self) -> bool {
        self.body_cut
    }

    /// The body as text, with invalid UTF-8 replaced.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> serde_json::Result<T> {
        serde_json::from_slice(&self.body)
    }

    /// How many body bytes were received, kept or not.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// SHA-256 of the body as received, computed as it streamed, kept or
    /// not: lets a caller check or deduplicate bodies it did not keep.
    pub fn sha256(&self) -> &[u8; 32] {
        &self.sha256
    }

    /// [`Response::sha256`] in lowercase hex, as written in records.
    pub fn sha256_hex(&self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut hex = String::with_capacity(64);
        for byte in self.sha256 {
            hex.push(DIGITS[usize::from(byte >> 4)].into());
            hex.push(DIGITS[usize::from(byte & 0xf)].into());
        }
        hex
    }

    /// The file the body was saved to, when the pool saves bodies (see
    /// [`crate::PoolBuilder::save_bodies`]).
    pub fn body_path(&self) -> Option<&Path> {
        self.body_path.as_deref()
    }

    /// How many attempts the job took, the first included.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Time from the first attempt's start to the end of the last one,
    /// waits between retries included.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// How many redirects the last attempt followed to get this response.
    pub fn redirects(&self) -> u32 {
        self.redirects
    }

    /// The URL that gave this response: the job's, or where its redirects
    /// led (before any hook saw it, so without what a plugin signed in).
    pub fn final_url(&self) -> &str {
        self.final_url.as_deref().unwrap_or(&self.job.url)
    }

    /// The cookies this response set, by its `Set-Cookie` fields, with the
    /// domain and path RFC 6265 gives them for [`Response::final_url`]
    /// (Python's `Response.cookies`); those the rules refuse are left out.
    /// The session's jar took them too, unless the pool keeps none; what
    /// every session holds is [`crate::Pool::cookie_jars`].
    pub fn cookies(&self) -> Vec<Cookie> {
        reqwest::Url::parse(self.final_url())
            .map(|url| Cookie::set_by(&self.headers, &url))
            .unwrap_or_default()
    }

    /// Gives up the response for the job it came from.
    pub fn into_job(self) -> Job {
        self.job
    }
}
