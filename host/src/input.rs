//! Reading jobs from a list of URLs, one per line, as a stream.
//!
//! Blank lines and lines starting with `#` are skipped. A line that is not
//! an absolute `http` or `https` URL becomes an [`InputError`] naming its
//! line number; the pool turns it into a failure of kind `input` and the run
//! goes on.

use std::io::BufRead;

use crate::job::{Job, RequestDefaults};

/// An input line that is not a job.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct InputError {
    /// The line's number in the input, from 1.
    pub line: u64,
    /// What is wrong with it.
    pub message: String,
    /// The line as read (invalid UTF-8 replaced), so it can be written back.
    pub text: String,
}

/// Checks that `url` is an absolute `http` or `https` URL with a host.
pub fn check_url(url: &str) -> Result<(), String> {
    match reqwest::Url::parse(url) {
        Ok(parsed) if !matches!(parsed.scheme(), "http" | "https") => Err(format!(
            "{url:?} has scheme {:?}; only http and https are fetched",
            parsed.scheme()
        )),
        Ok(parsed) if parsed.host_str().is_none_or(str::is_empty) => {
            Err(format!("{url:?} has no host"))
        }
        Ok(_) => Ok(()),
        Err(e) => Err(format!("{url:?} is not a valid URL: {e}")),
    }
}

/// The jobs in a list of URLs: an iterator that reads one line at a time.
pub struct UrlLines<R> {
    reader: R,
    defaults: RequestDefaults,
    line: u64,
    buf: Vec<u8>,
}

impl<R: BufRead> UrlLines<R> {
    /// Reads URLs from `reader`, making each a job with `defaults`.
    pub fn new(reader: R, defaults: RequestDefaults) -> Self {
        UrlLines {
            reader,
            defaults,
            line: 0,
            buf: Vec::new(),
        }
    }
}

impl<R: BufRead> Iterator for UrlLines<R> {
    type Item = Result<Job, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            self.buf.clear();
            self.line += 1;
            match self.reader.read_until(b'\n', &mut self.buf) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => {
                    return Some(Err(InputError {
                        line: self.line,
                        message: format!("cannot read the input: {e}"),
                        text: String::new(),
                    }));
                }
            }
            let error = |message: String, text: &str| InputError {
                line: self.line,
                message,
                text: text.to_owned(),
            };
            let text = match std::str::from_utf8(&self.buf) {
                Ok(text) => text.trim(),
                Err(_) => {
                    let lossy = String::from_utf8_lossy(&self.buf);
                    return Some(Err(error("not valid UTF-8".into(), lossy.trim())));
                }
            };
            if text.is_empty() || text.starts_with('#') {
                continue;
            }
            return Some(match check_url(text) {
                Ok(()) => Ok(Job::from_url(text, &self.defaults)),
                Err(message) => Err(error(message, text)),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(input: &[u8]) -> Vec<Result<Job, InputError>> {
        UrlLines::new(input, RequestDefaults::default()).collect()
    }

    #[test]
    fn skips_blank_lines_and_comments() {
        let jobs = read(b"# list\n\nhttp://127.0.0.1/a\n  \nhttps://example.com/b\r\n");
        let urls: Vec<_> = jobs.into_iter().map(|j| j.unwrap().url).collect();
        assert_eq!(urls, ["http://127.0.0.1/a", "https://example.com/b"]);
    }

    #[test]
    fn bad_lines_name_their_line_number() {
        let jobs = read(b"http://127.0.0.1/a\nnot a url\nftp://h/x\n\xff\xfe\nhttp:///\n");
        assert!(jobs[0].is_ok());
        let errors: Vec<_> = jobs[1..].iter().map(|j| j.clone().unwrap_err()).collect();
        assert_eq!(
            errors.iter().map(|e| e.line).collect::<Vec<_>>(),
            [2, 3, 4, 5]
        );
        assert!(errors[0].message.contains("not a valid URL"), "{errors:?}");
        assert!(errors[1].message.contains("only http and https"));
        assert!(errors[2].message.contains("UTF-8"));
        assert_eq!(
            errors[0].to_string(),
            format!("line 2: {}", errors[0].message)
        );
    }
}
