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
//!   `params`, `data`, `json`, `timeout`), its fields winning over the
//!   defaults. The failures file of `tb-host run` is written in it
//!   ([`jsonl::encode`]), so failed jobs run again exactly.
//!
//! A line that is not a job becomes an [`InputError`] naming its line
//! number; the pool turns it into a failure of kind `input` and the run
//! goes on.

pub mod jsonl;
mod urls;

pub use jsonl::JsonLines;
pub use urls::UrlLines;

use std::io::{self, BufRead};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

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

/// Checks a job's URL (see [`wire::parse_url`]) and returns it in the
/// form it is sent in. A job's URL is normalised once, here, so that the
/// URL a hook sees, signs and returns is the URL the server gets, byte for
/// byte, and the record shows that same form. The message names the URL.
pub fn check_url(url: &str) -> Result<String, String> {
    wire::parse_url(url)
        .map(String::from)
        .map_err(|error| format!("{:?}: {error}", shorten(url, TEXT_SHOWN)))
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

/// Adds `Content-Type: application/json` to `headers` unless they already
/// set a content type: what a JSON body gets (as Python's `json=` does).
pub fn add_json_content_type(headers: &mut Vec<(String, String)>) {
    if !headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("content-type"))
    {
        headers.push(("Content-Type".to_owned(), "application/json".to_owned()));
    }
}

/// One line of input that is not blank, without the ASCII white space
/// around it.
struct Line<'a> {
    number: u64,
    text: &'a str,
}

impl Line<'_> {
    /// The error that this line is not a job because of `message`.
    fn error(&self, message: String) -> InputError {
        InputError {
            line: self.number,
            message,
            text: shorten(self.text, TEXT_SHOWN),
        }
    }
}

/// The line reader both formats share: numbers lines, skips blank ones
/// (and comments, if asked), rejects invalid UTF-8 and lines over
/// [`MAX_LINE`], and ends at the first read error and at a line with no
/// end within [`MAX_SKIPPED`] past that.
struct LineReader<R> {
    reader: R,
    number: u64,
    buf: Vec<u8>,
    failed: bool,
    comments: bool,
}

impl<R: BufRead> LineReader<R> {
    fn new(reader: R) -> Self {
        LineReader {
            reader,
            number: 0,
            buf: Vec::new(),
            failed: false,
            comments: false,
        }
    }

    /// Also skips comments, lines starting with `#`, whatever they hold:
    /// a comment in another encoding than UTF-8 is no input error.
    fn skipping_comments(mut self) -> Self {
        self.comments = true;
        self
    }

    /// The next line that is not blank (nor a comment, when skipped);
    /// `None` at the end of the input.
    fn next_line(&mut self) -> Option<Result<Line<'_>, InputError>> {
        let length = loop {
            if self.failed {
                return None;
            }
            self.number += 1;
            match self.read_line() {
                Ok(None) => return None,
                Ok(Some(Length::Whole)) if self.buf.trim_ascii().is_empty() => {}
                Ok(Some(_)) if self.comments && self.buf.trim_ascii().starts_with(b"#") => {}
                Ok(Some(length)) => break length,
                Err(e) => {
                    self.failed = true;
                    return Some(Err(InputError {
                        line: self.number,
                        message: format!("cannot read the input: {e}"),
                        text: String::new(),
                    }));
                }
            }
        };
        let number = self.number;
        let bytes = self.buf.trim_ascii();
        match (length, std::str::from_utf8(bytes)) {
            (Length::Whole, Ok(text)) => Some(Ok(Line { number, text })),
            (length, _) => {
                let lossy = String::from_utf8_lossy(bytes);
                let line = Line {
                    number,
                    text: &lossy,
                };
                let message = match length {
                    Length::Whole => "not valid UTF-8".to_owned(),
                    Length::TooLong => format!("longer than {} MiB; skipped", MAX_LINE >> 20),
                    Length::Endless => {
                        self.failed = true;
                        format!(
                            "no end of line in its first {} MiB (not a file of lines?); \
                             the input is read no further",
                            (MAX_LINE + MAX_SKIPPED) >> 20
                        )
                    }
                };
                Some(Err(line.error(message)))
            }
        }
    }

    /// Reads one line into `buf`, without its newline and keeping at most
    /// [`MAX_LINE`] bytes. `None` at the end of the input; otherwise how
    /// long the line was. An endless line is left where reading stopped.
    fn read_line(&mut self) -> io::Result<Option<Length>> {
        self.buf.clear();
        let mut read = 0usize;
        let length = |read: usize| {
            if read > MAX_LINE {
                Length::TooLong
            } else {
                Length::Whole
            }
        };
        loop {
            let chunk = match self.reader.fill_buf() {
                Ok(chunk) => chunk,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                return Ok((read > 0).then(|| length(read)));
            }
            let newline = chunk.iter().position(|&b| b == b'\n');
            let part = &chunk[..newline.unwrap_or(chunk.len())];
            read += part.len();
            if read <= MAX_LINE {
                self.buf.extend_from_slice(part);
            }
            let used = newline.map_or(chunk.len(), |at| at + 1);
            self.reader.consume(used);
            if newline.is_some() {
                return Ok(Some(length(read)));
            }
            if read > MAX_LINE + MAX_SKIPPED {
                return Ok(Some(Length::Endless));
            }
        }
    }
}

/// How long a line read was.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Length {
    /// At most [`MAX_LINE`]: all of it is in the buffer.
    Whole,
    /// Longer, with its end found: the buffer holds its start.
    TooLong,
    /// No end found within [`MAX_SKIPPED`] past [`MAX_LINE`].
    Endless,
}

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
    fn lines_are_numbered_and_blank_ones_skipped() {
        let mut lines = LineReader::new(&b"a\n\n  \r\n b \r\nc"[..]);
        let mut seen = Vec::new();
        while let Some(line) = lines.next_line() {
            let line = line.unwrap();
            seen.push((line.number, line.text.to_owned()));
        }
        assert_eq!(seen, [(1, "a".into()), (4, "b".into()), (5, "c".into())]);
    }

    #[test]
    fn an_overlong_line_is_an_error_and_the_next_line_is_read() {
        let mut input = vec![b'x'; MAX_LINE + 10];
        input.extend_from_slice(b"\nnext\n");
        // A small buffer, so the long line arrives in many chunks.
        let mut lines = LineReader::new(io::BufReader::with_capacity(4096, &input[..]));
        let error = lines.next_line().unwrap().err().unwrap();
        assert_eq!(error.line, 1);
        assert!(error.message.contains("longer than"), "{error}");
        assert!(
            error.text.len() < 2 * TEXT_SHOWN,
            "the text shown is cut off"
        );
        assert!(error.text.ends_with("(cut off at 1024 bytes)"));
        assert_eq!(lines.next_line().unwrap().unwrap().text, "next");
        assert!(lines.next_line().is_none());
    }

    #[test]
    fn a_line_that_never_ends_ends_the_input() {
        // `/dev/zero`: no newline, ever.
        let zeros = io::BufReader::with_capacity(64 << 10, io::repeat(0));
        let mut lines = LineReader::new(zeros);
        let error = lines.next_line().unwrap().err().unwrap();
        assert_eq!(error.line, 1);
        assert!(error.message.contains("no end of line"), "{error}");
        assert!(
            error.text.len() < 2 * TEXT_SHOWN,
            "the text shown is cut off"
        );
        assert!(lines.next_line().is_none(), "read no further");
    }

    #[test]
    fn a_read_error_ends_the_input() {
        struct Broken;
        impl io::Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("disk on fire"))
            }
        }
        let mut lines = LineReader::new(io::BufReader::new(Broken));
        let error = lines.next_line().unwrap().err().unwrap();
        assert!(error.message.contains("disk on fire"));
        assert!(lines.next_line().is_none());
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
        add_json_content_type(&mut headers);
        assert_eq!(headers.len(), 1, "a content type already set wins");
    }
}
