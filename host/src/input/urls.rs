//! The URL-list format: one URL per line.
//!
//! Blank lines and lines starting with `#` are skipped. A line that is not
//! an absolute `http` or `https` URL is an [`InputError`].

use std::io::BufRead;

use super::{InputError, LineReader, check_url};
use crate::job::{Job, RequestDefaults};

/// The jobs in a list of URLs: an iterator that reads one line at a time.
pub struct UrlLines<R> {
    lines: LineReader<R>,
    defaults: RequestDefaults,
}

impl<R: BufRead> UrlLines<R> {
    /// Reads URLs from `reader`, making each a job with `defaults`.
    pub fn new(reader: R, defaults: RequestDefaults) -> Self {
        UrlLines {
            lines: LineReader::new(reader).skipping_comments(),
            defaults,
        }
    }
}

impl<R: BufRead> Iterator for UrlLines<R> {
    type Item = Result<Job, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        let line = match self.lines.next_line()? {
            Ok(line) => line,
            Err(error) => return Some(Err(error)),
        };
        Some(match check_url(line.text) {
            Ok(url) => Ok(Job::from_checked_url(url, &self.defaults)),
            Err(message) => Err(line.error(message)),
        })
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
        assert!(
            errors[0].message.contains("the URL does not parse"),
            "{errors:?}"
        );
        assert!(errors[1].message.contains("only http and https"));
        assert!(errors[2].message.contains("UTF-8"));
        assert_eq!(
            errors[0].to_string(),
            format!("line 2: {}", errors[0].message)
        );
    }

    /// Found while writing the `urls_line` fuzz target's model: a comment
    /// that was not UTF-8 (a Latin-1 `# Müller`) was an input error, and
    /// so failed the run, instead of being skipped.
    #[test]
    fn a_comment_need_not_be_utf8() {
        let jobs = read(b"# M\xfcller's list\n  #\xff\r\nhttp://127.0.0.1/a\n");
        assert_eq!(jobs.len(), 1, "{jobs:?}");
        assert_eq!(jobs[0].as_ref().unwrap().url, "http://127.0.0.1/a");
    }

    #[test]
    fn a_huge_bad_line_is_not_shown_whole() {
        let line = format!("not a url {}\n", "x".repeat(300_000));
        let error = read(line.as_bytes()).remove(0).unwrap_err();
        assert!(error.text.len() < 2000, "text {} bytes", error.text.len());
        assert!(
            error.message.len() < 2000,
            "message {}",
            error.message.len()
        );
    }
}
