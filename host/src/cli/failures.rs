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

use std::io::{self, BufWriter, Write};

use super::files::Claimed;

use crate::input::jsonl;
use crate::{Failure, Job};

/// Writes every failed job as a JSON line: the input format of `tb-host
/// run`, so the failures can be run again exactly.
pub struct FailureWriter {
    out: BufWriter<Claimed>,
}

impl FailureWriter {
    /// Writes to the failures file, from where it is (empty for a new run;
    /// after the failures already recorded for a resumed one).
    pub fn new(file: Claimed) -> FailureWriter {
        FailureWriter {
            out: BufWriter::new(file),
        }
    }

    /// Records one failed job.
    pub fn write(&mut self, failure: &Failure) -> io::Result<()> {
        write_job(&mut self.out, failure.job())
    }

    /// Flushes the file.
    pub fn finish(mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Writes the failures line of `job` to `out`.
pub fn write_job(out: &mut impl Write, job: &Job) -> io::Result<()> {
    writeln!(out, "{}", jsonl::encode(job))
}
