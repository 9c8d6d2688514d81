//! Lines read with a bound on their length: whatever a file holds (a line
//! of gigabytes, a hole of NUL bytes, `/dev/zero`), reading it line by
//! line takes bounded memory.
//!
//! [`BoundedLines`] is the one reader of such lines: the input formats
//! read their jobs with it (through [`LineReader`], which numbers lines,
//! skips blank ones and makes input errors), and `tb-host run --resume`
//! reads back the records of its output file with it.

use std::io::{self, BufRead};

use super::{InputError, MAX_LINE, MAX_SKIPPED};
use crate::wire::{TEXT_SHOWN, shorten};

/// Lines of a reader, one at a time, each kept up to a bound. The rest of
/// a longer line is read past, not kept; with [`giving_up_after`]
/// (`BoundedLines::giving_up_after`), a line whose end is not found
/// within that many bytes more is read no further.
///
/// [`giving_up_after`]: BoundedLines::giving_up_after
pub struct BoundedLines<R> {
    reader: R,
    longest: usize,
    give_up: Option<usize>,
    buf: Vec<u8>,
    offset: u64,
}

/// What [`BoundedLines::read_line`] read of one line; its bytes are
/// [`BoundedLines::line`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineRead {
    /// The offset of its first byte from where reading started.
    pub start: u64,
    /// How long it was, against the bound.
    pub length: Length,
    /// Whether it ended with a newline: every line but the last of an
    /// input does, and an endless one.
    pub newline: bool,
}

/// How long a line read was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Length {
    /// At most the bound: all of it is kept.
    Whole,
    /// Longer, with its end found: its start is kept.
    TooLong,
    /// No end found within the bytes [`BoundedLines::giving_up_after`]
    /// allows past the bound: its start is kept, and reading stopped
    /// there.
    Endless,
}

impl<R: BufRead> BoundedLines<R> {
    /// The lines of `reader`, each kept up to `longest` bytes, read to
    /// their end however long they are.
    pub fn new(reader: R, longest: usize) -> Self {
        BoundedLines {
            reader,
            longest,
            give_up: None,
            buf: Vec::new(),
            offset: 0,
        }
    }

    /// Gives up on a line whose end is not within `skipped` bytes past the
    /// bound ([`Length::Endless`]): an input that is not lines of text
    /// then cannot keep a reader reading forever.
    pub fn giving_up_after(mut self, skipped: usize) -> Self {
        self.give_up = Some(self.longest.saturating_add(skipped));
        self
    }

    /// Reads the next line, keeping its bytes without the newline (see
    /// [`line`](Self::line)); `None` at the end of the input. `seen` is
    /// given every part of the line as it is read, kept or not, with its
    /// offset: for a caller that looks at all of a long line's bytes.
    pub fn read_line(&mut self, mut seen: impl FnMut(u64, &[u8])) -> io::Result<Option<LineRead>> {
        self.buf.clear();
        let start = self.offset;
        let mut read = 0usize;
        let length = |read: usize| {
            if read > self.longest {
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
                return Ok((read > 0).then(|| LineRead {
                    start,
                    length: length(read),
                    newline: false,
                }));
            }
            let newline = chunk.iter().position(|&b| b == b'\n');
            let part = &chunk[..newline.unwrap_or(chunk.len())];
            seen(self.offset, part);
            read += part.len();
            if read <= self.longest {
                self.buf.extend_from_slice(part);
            }
            let used = newline.map_or(chunk.len(), |at| at + 1);
            self.offset += used as u64;
            self.reader.consume(used);
            if newline.is_some() {
                return Ok(Some(LineRead {
                    start,
                    length: length(read),
                    newline: true,
                }));
            }
            if self.give_up.is_some_and(|most| read > most) {
                return Ok(Some(LineRead {
                    start,
                    length: Length::Endless,
                    newline: false,
                }));
            }
        }
    }

    /// The bytes kept of the line last read, without its newline.
    pub fn line(&self) -> &[u8] {
        &self.buf
    }
}

/// One line of input that is not blank, without the ASCII white space
/// around it.
pub(crate) struct Line<'a> {
    pub(crate) number: u64,
    pub(crate) text: &'a str,
}

impl Line<'_> {
    /// The error that this line is not a job because of `message`.
    pub(crate) fn error(&self, message: String) -> InputError {
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
pub(crate) struct LineReader<R> {
    lines: BoundedLines<R>,
    number: u64,
    failed: bool,
    comments: bool,
}

impl<R: BufRead> LineReader<R> {
    pub(crate) fn new(reader: R) -> Self {
        LineReader {
            lines: BoundedLines::new(reader, MAX_LINE).giving_up_after(MAX_SKIPPED),
            number: 0,
            failed: false,
            comments: false,
        }
    }

    /// Also skips comments, lines starting with `#`, whatever they hold:
    /// a comment in another encoding than UTF-8 is no input error.
    pub(crate) fn skipping_comments(mut self) -> Self {
        self.comments = true;
        self
    }

    /// The next line that is not blank (nor a comment, when skipped);
    /// `None` at the end of the input.
    pub(crate) fn next_line(&mut self) -> Option<Result<Line<'_>, InputError>> {
        let length = loop {
            if self.failed {
                return None;
            }
            self.number += 1;
            let read = self.lines.read_line(|_, _| {});
            let bytes = self.lines.line().trim_ascii();
            match read {
                Ok(None) => return None,
                Ok(Some(read)) if read.length == Length::Whole && bytes.is_empty() => {}
                Ok(Some(_)) if self.comments && bytes.starts_with(b"#") => {}
                Ok(Some(read)) => break read.length,
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
        let bytes = self.lines.line().trim_ascii();
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_lines_say_where_each_starts_and_whether_it_ended() {
        let mut lines = BoundedLines::new(&b"abcdef\n\nxy"[..], 3);
        let mut seen = Vec::new();
        let first = lines.read_line(|at, part| seen.push((at, part.len())));
        assert_eq!(
            first.unwrap(),
            Some(LineRead {
                start: 0,
                length: Length::TooLong,
                newline: true
            })
        );
        assert_eq!(seen, [(0, 6)], "the part past the bound is seen too");
        let empty = lines.read_line(|_, _| {}).unwrap().unwrap();
        assert_eq!((empty.start, empty.newline), (7, true));
        let last = lines.read_line(|_, _| {}).unwrap().unwrap();
        assert_eq!(
            (last.start, last.length, last.newline),
            (8, Length::Whole, false)
        );
        assert_eq!(lines.line(), b"xy");
        assert_eq!(lines.read_line(|_, _| {}).unwrap(), None);
    }

    /// The error of the first line of `lines`, checked to say `what` and
    /// to show the line cut off.
    fn first_error<R: BufRead>(lines: &mut LineReader<R>, what: &str) -> InputError {
        let error = lines.next_line().unwrap().err().unwrap();
        assert_eq!(error.line, 1);
        assert!(error.message.contains(what), "{error}");
        assert!(
            error.text.len() < 2 * TEXT_SHOWN,
            "the text shown is cut off"
        );
        error
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
        let error = first_error(&mut lines, "longer than");
        assert!(error.text.ends_with("(cut off at 1024 bytes)"));
        assert_eq!(lines.next_line().unwrap().unwrap().text, "next");
        assert!(lines.next_line().is_none());
    }

    #[test]
    fn a_line_that_never_ends_ends_the_input() {
        // `/dev/zero`: no newline, ever.
        let zeros = io::BufReader::with_capacity(64 << 10, io::repeat(0));
        let mut lines = LineReader::new(zeros);
        first_error(&mut lines, "no end of line");
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
}
