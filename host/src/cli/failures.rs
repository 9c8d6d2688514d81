//! The failures file: the failed jobs in a form `tb-host run` reads again
//! (Python's `Pool.from_exceptions`).
//!
//! Each failed job is one JSON line of the jobs input format
//! ([`crate::input::jsonl`]): method, URL, headers, body (`data`, or
//! `data_base64` when it is not UTF-8) and timeout, so running the file
//! sends the same requests again. A job that failed as `input` (a line
//! that was not a job) is written as a `GET` of the line's text (cut off
//! past 1 KiB): running it fails the same way until the line is fixed in
//! the original input, and its record there names the line number.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use super::files::open_for_writing;

use crate::Failure;
use crate::input::jsonl;

/// Writes every failed job as a JSON line: the input format of `tb-host
/// run`, so the failures can be run again exactly.
pub struct FailureWriter {
    out: BufWriter<File>,
}

impl FailureWriter {
    /// Opens the failures file: truncated, or appended to when `append`
    /// (a resumed run).
    pub fn create(path: &Path, append: bool) -> anyhow::Result<FailureWriter> {
        let file = open_for_writing(path, append, "failures file")?;
        Ok(FailureWriter {
            out: BufWriter::new(file),
        })
    }

    /// Records one failed job.
    pub fn write(&mut self, failure: &Failure) -> io::Result<()> {
        writeln!(self.out, "{}", jsonl::encode(failure.job()))
    }

    /// Flushes the file.
    pub fn finish(mut self) -> io::Result<()> {
        self.out.flush()
    }
}
