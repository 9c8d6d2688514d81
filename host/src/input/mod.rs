//! Reading jobs from an input, as a stream: one line at a time, whatever
//! the input's length (a file of ten million lines, or stdin that never
//! ends, is read in bounded memory).
//!
//! Two formats, both one job per line, blank lines skipped:
//!
//! - [`Format::Urls`] ([`UrlLines`]): one URL per line, `#` comments
//!   skipped; every job takes its method, headers and body from
//!   [`RequestDefaults`] (Python's `Pool.from_urls(urls, request_kwargs)`).
//! - [`Format::Jsonl`] ([`JsonLines`]): one JSON object per line in the
//!   shape of Python's `request_kwargs` (`method`, `url`, `headers`,
//!   `params`, `data`, `json`, `files`, `timeout`, `auth`,
//!   `allow_redirects`), its fields winning over the defaults. The failures file of `tb-host run` is written in it
//!   ([`jsonl::encode`]), so failed jobs run again exactly.
//!
//! A line that is not a job becomes an [`InputError`] naming its line
//! number; the pool turns it into a failure of kind `input` and the run
//! goes on.
//!
//! Lines are read with a bound on their length ([`lines`]), which makes
//! a line too long to be a job an input error too.

pub mod jsonl;
pub mod lines;
mod urls;

pub use jsonl::JsonLines;
use lines::LineReader;
pub use urls::UrlLines;

use std::io::BufRead;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use reqwest::Url;

use crate::failure::{Failure, FailureKind};
use crate::job::{Job, RequestDefaults};
use crate::wire::{self, TEXT_SHOWN, shorten};

/// Longest line read. A longer one is an input error and the rest of it is
/// skipped, so an input without newlines cannot take all memory.
pub const MAX_LINE: usize = 64 << 20;

/// How far past [`MAX_LINE`] the end of a long line is looked for. An input
/// with no newline there either is not lines of text (`/dev/zero`, a binary
/// stream): it is read no further, so it cannot keep a run reading forever.
pub const MAX_SKIPPED: usize = 64 << 20;

/// An input line that is not a job.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct InputError {
    /// The line's number in the input, from 1.
    pub line: u64,
    /// What is wrong with it.
    pub message: String,
    /// The line as read (invalid UTF-8 replaced, cut off past 1 KiB), so
    /// it can be shown and written back.
    pub text: String,
}

impl InputError {
    /// The job that stands for this line in the results: a `GET` of its
    /// text, never sent. Its record and its line in a failures file carry
    /// it, so the line is seen where it went wrong.
    pub fn job(&self) -> Job {
        Job::get(self.text.clone())
    }

    /// The failure of kind `input` this line ends as, at input `index`:
    /// [`InputError::job`], never sent, with this error as its message.
    pub fn failure(&self, index: u64) -> Failure {
        Failure::new(index, self.job(), FailureKind::Input, self.to_string())
    }
}

/// How an input lists its jobs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One URL per line.
    Urls,
    /// One JSON object per line (JSON lines, NDJSON).
    Jsonl,
}

impl Format {
    /// The format a file's name implies: JSON lines for `.jsonl` and
    /// `.ndjson`, URLs for anything else and for stdin (no path).
    pub fn of_path(path: Option<&Path>) -> Format {
        let extension = path.and_then(Path::extension).and_then(|e| e.to_str());
        match extension {
            Some(e) if e.eq_ignore_ascii_case("jsonl") || e.eq_ignore_ascii_case("ndjson") => {
                Format::Jsonl
            }
            _ => Format::Urls,
        }
    }

    /// The jobs of `reader` in this format, read as they are asked for.
    pub fn jobs<R: BufRead + Send + 'static>(
        self,
        reader: R,
        defaults: RequestDefaults,
    ) -> Box<dyn Iterator<Item = Result<Job, InputError>> + Send> {
        match self {
            Format::Urls => Box::new(UrlLines::new(reader, defaults)),
            Format::Jsonl => Box::new(JsonLines::new(reader, defaults)),
        }
    }
}

impl FromStr for Format {
    type Err = String;

    /// `urls` or `jsonl` (`ndjson` is taken as `jsonl`).
    fn from_str(text: &str) -> Result<Format, String> {
        match text {
            "urls" => Ok(Format::Urls),
            "jsonl" | "ndjson" => Ok(Format::Jsonl),
            _ => Err(format!("expected urls or jsonl, got {text:?}")),
        }
    }
}

/// Checks a job's URL (see [`wire::parse_url`]) and returns it parsed,
/// its `as_str` the form it is sent in. A job's URL is normalised once,
/// here, so that the URL a hook sees, signs and returns is the URL the
/// server gets, byte for byte, and the record shows that same form. The
/// message names the URL.
pub fn check_url(url: &str) -> Result<Url, String> {
    wire::parse_url(url).map_err(|error| format!("{:?}: {error}", shorten(url, TEXT_SHOWN)))
}

/// Checks that `method` is an HTTP method and returns it in upper case.
pub fn parse_method(method: &str) -> Result<String, String> {
    let upper = method.to_ascii_uppercase();
    match reqwest::Method::from_bytes(upper.as_bytes()) {
        Ok(_) => Ok(upper),
        Err(_) => Err(format!(
            "{:?} is not an HTTP method",
            shorten(method, TEXT_SHOWN)
        )),
    }
}

/// The longest time limit taken: a week. Longer is no limit but a hang,
/// and a typo more often than a wish (`1e20`).
pub const MAX_TIMEOUT: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// A time limit given in seconds: a positive number, at most
/// [`MAX_TIMEOUT`].
pub fn timeout_from_secs(secs: f64) -> Result<Duration, String> {
    if secs > MAX_TIMEOUT.as_secs_f64() {
        return Err(format!(
            "{secs:e} seconds is too large: at most {} seconds (a week)",
            MAX_TIMEOUT.as_secs()
        ));
    }
    match Duration::try_from_secs_f64(secs) {
        Ok(timeout) if !timeout.is_zero() => Ok(timeout),
        _ => Err(format!("{secs} is not a positive number of seconds")),
    }
}

/// Adds `Content-Type: {content_type}` to `headers` unless they already
/// set a content type: what a JSON body or a form gets (as Python's
/// `json=` and `data=` do).
pub fn add_content_type(headers: &mut Vec<(String, String)>, content_type: &str) {
    if !headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("content-type"))
    {
        headers.push(("Content-Type".to_owned(), content_type.to_owned()));
    }
}

/// The `Content-Type` of a JSON body.
pub const JSON: &str = "application/json";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_follows_the_file_name() {
        assert_eq!(Format::of_path(None), Format::Urls);
        assert_eq!(
            Format::of_path(Some(Path::new("a/jobs.jsonl"))),
            Format::Jsonl
        );
        assert_eq!(
            Format::of_path(Some(Path::new("jobs.NDJSON"))),
            Format::Jsonl
        );
        assert_eq!(Format::of_path(Some(Path::new("urls.txt"))), Format::Urls);
        assert_eq!("jsonl".parse(), Ok(Format::Jsonl));
        assert!("csv".parse::<Format>().is_err());
    }

    #[test]
    fn checks_share_their_wording() {
        assert_eq!(parse_method("post"), Ok("POST".to_owned()));
        assert!(parse_method("GE T").is_err());
        assert!(timeout_from_secs(0.0).is_err());
        assert!(timeout_from_secs(f64::NAN).is_err());
        let too_large = timeout_from_secs(1e20).unwrap_err();
        assert!(
            too_large.contains("too large: at most 604800"),
            "{too_large}"
        );
        assert!(timeout_from_secs(604_800.0).is_ok());
        assert_eq!(timeout_from_secs(1.5), Ok(Duration::from_millis(1500)));
        let mut headers = vec![("content-type".to_owned(), "text/x".to_owned())];
        add_content_type(&mut headers, JSON);
        assert_eq!(headers.len(), 1, "a content type already set wins");
    }
}
