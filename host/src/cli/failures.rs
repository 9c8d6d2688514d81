//! The failures file: the failed jobs in a form `tb-host run` reads again
//! (Python's `Pool.from_exceptions`).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use anyhow::Context;

use crate::Failure;

/// Writes the URL of every failed job, one per line: the input format of
/// `tb-host run`, so the failures can be run again.
pub struct FailureWriter {
    out: BufWriter<File>,
}

impl FailureWriter {
    /// Creates (truncates) the failures file.
    pub fn create(path: &Path) -> anyhow::Result<FailureWriter> {
        let file = File::create(path)
            .with_context(|| format!("cannot create failures file {}", path.display()))?;
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
