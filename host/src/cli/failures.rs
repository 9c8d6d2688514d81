//! The failures file: the failed jobs in a form `tb-host run` reads again
//! (Python's `Pool.from_exceptions`).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use super::files::open_for_writing;

use crate::Failure;

/// Writes the URL of every failed job, one per line: the input format of
/// `tb-host run`, so the failures can be run again.
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
        writeln!(self.out, "{}", failure.job().url)
    }

    /// Flushes the file.
    pub fn finish(mut self) -> io::Result<()> {
        self.out.flush()
    }
}
