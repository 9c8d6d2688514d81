//! The failures file: the failed jobs in a form `tb-host run` reads again
//! (Python's `Pool.from_exceptions`).
//!
//! Each failed job is one JSON line of the jobs input format
//! ([`tb_host::input::jsonl`]): method, URL, headers, body (`data`, or
//! `data_base64` when it is not UTF-8) and timeout, so running the file
//! sends the same requests again. A job that failed as `input` (a line
//! that was not a job) is written as a `GET` of the line's text (cut off
//! past 1 KiB): running it fails the same way until the line is fixed in
//! the original input, and its record there names the line number.

use std::io::{self, Write};
use std::sync::Arc;

use super::files::Claimed;
use super::stall::{Activity, Watched};

use tb_host::input::jsonl;
use tb_host::{Failure, Job};

/// Writes every failed job as a JSON line: the input format of `tb-host
/// run`, so the failures can be run again exactly.
///
/// Each line is written whole, at once, when its job fails: the run writes
/// the job's record only after its line is here (see `outputs.rs`). A line
/// that a failed write tore is cut off again, so the file holds whole
/// lines only and a resumed run appends to a clean end.
pub struct FailureWriter {
    out: Watched<Claimed>,
    /// The file's length up to its last whole line.
    whole: u64,
}

impl FailureWriter {
    /// Writes to the failures file `file`, which messages call `name`
    /// ("the failures file failed.jsonl"), from where it is (empty for a
    /// new run; after the failures already recorded for a resumed one).
    pub fn new(file: Claimed, name: String) -> FailureWriter {
        let whole = file.file().metadata().map_or(0, |m| m.len());
        FailureWriter {
            out: Watched::new(file, name),
            whole,
        }
    }

    /// The file, as messages name it: "the failures file failed.jsonl".
    pub fn name(&self) -> &str {
        self.out.name()
    }

    /// The writes in progress, for the watch of a stalled output.
    pub fn activity(&self) -> Arc<Activity> {
        self.out.activity()
    }

    /// Writes one failed job's line, whole, or nothing.
    pub fn write(&mut self, failure: &Failure) -> io::Result<()> {
        let mut line = jsonl::encode(failure.job());
        line.push('\n');
        match self.out.write_all(line.as_bytes()) {
            Ok(()) => {
                self.whole += line.len() as u64;
                Ok(())
            }
            Err(error) => {
                // Not every file can be cut (a pipe, /dev/full): then what
                // was written of the line stays.
                let _ = self.out.get_mut().file().set_len(self.whole);
                Err(error)
            }
        }
    }
}

/// Writes the failures line of `job` to `out`.
pub fn write_job(out: &mut impl Write, job: &Job) -> io::Result<()> {
    writeln!(out, "{}", jsonl::encode(job))
}
