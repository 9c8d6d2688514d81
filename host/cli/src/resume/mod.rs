//! `--resume`: continue an earlier run of the same input in its output
//! file, so that the file ends with exactly one record per job, whatever
//! stopped the run (Ctrl-C, `kill -9`, a full disk).
//!
//! In that order, before anything is changed:
//!
//! 1. the records of `-o` are read back ([`records`]): a torn last line is
//!    noted, any other line that is not a record refuses the resume;
//! 2. they are checked against the input ([`check`]): each must be of the
//!    job at its index, and of a job this `--shard` runs; the same pass
//!    writes the new `--failures` file beside the old one, one line per
//!    record that failed for good, from the input's job.
//!
//! Then the files change: `-o` loses its torn last line (or gains a
//! missing newline) in place, or, when some record is of a job that did
//! not run to its end (`cancelled`, `save`), is rewritten without those
//! records beside itself and renamed over; the new failures file is
//! renamed over the old. Either way a crash at any moment leaves the old
//! file or the new one. The run then appends the jobs that are not done.

mod check;
mod records;

use std::fs::File;
use std::io::{BufReader, Write};
use std::path::Path;

use super::SetupError;
use super::args::Shard;
use super::files::{Claimed, Output, OutputFiles, Replacement};
use tb_host::RequestDefaults;
use tb_host::input::Format;

use records::{End, Records};

/// The end of every message that refuses a resume.
const AFRESH: &str = "to start afresh, run without --resume (which empties the file) \
                      or with another -o";

/// A run set to resume: its files, and which jobs are done already.
pub struct Resumed {
    /// `-o`, ready to append to.
    pub records: Claimed,
    /// `--failures`, holding the failures of the records kept.
    pub failures: Option<Claimed>,
    /// The jobs with a record that stays.
    pub done: Done,
}

/// The jobs already done: the pool skips them.
pub struct Done(Records);

impl Done {
    /// Whether the job with `index` is done.
    pub fn contains(&self, index: u64) -> bool {
        self.0.is_done(index)
    }

    /// Whether the job with `index` is done and its record is of the job
    /// `record` is of (same method and URL): the file continued is of the
    /// same work.
    pub fn matches(&self, index: u64, record: &str) -> bool {
        self.0.is_of(index, record)
    }
}

/// How the input of a resumed run is read again, to check the records.
pub struct Input<'a> {
    /// The input file; none for stdin.
    pub path: Option<&'a Path>,
    /// Its format.
    pub format: Format,
    /// The request flags its jobs take.
    pub defaults: &'a RequestDefaults,
    /// The part of the input this run runs (`--shard`), if not all of it:
    /// a record of a job outside it is refused.
    pub shard: Option<Shard>,
}

/// Reads and checks the records of `outputs.records`, then repairs it and
/// rebuilds `outputs.failures` from it.
pub fn prepare(outputs: OutputFiles, input: Input<'_>) -> Result<Resumed, SetupError> {
    let OutputFiles {
        records: Some(out),
        failures,
    } = outputs
    else {
        return Err(SetupError::new("--resume needs -o FILE"));
    };
    for output in std::iter::once(&out).chain(&failures) {
        must_be_regular(output, "rewrites")?;
    }
    let reading = File::open(out.path())
        .map_err(|e| SetupError::new(format!("cannot read {}: {e}", out.path().display())))?;
    let records = Records::read(&reading, out.path(), input.shard)?;
    let rebuilt = failures
        .as_ref()
        .map(|failures| {
            Replacement::beside(failures.path()).map_err(|e| {
                SetupError::new(format!(
                    "cannot write a new --failures file beside {}: {e}",
                    failures.path().display()
                ))
            })
        })
        .transpose()?;
    if !records.entries().is_empty() {
        let path = input.path.filter(|path| path.is_file()).ok_or_else(|| {
            SetupError::new(format!(
                "--resume checks the records of -o {} against the input before it runs \
                 anything, so the input must be a file, not stdin or a pipe: save it to a \
                 file and resume with that",
                out.path().display()
            ))
        })?;
        let reader = File::open(path)
            .map(|file| BufReader::with_capacity(64 << 10, file))
            .map_err(|e| {
                SetupError::new(format!("cannot open input file {}: {e}", path.display()))
            })?;
        let jobs = input.format.jobs(reader, input.defaults.clone());
        check::against_input(
            &records,
            (&reading, out.path()),
            jobs,
            path,
            rebuilt.as_ref().map(Replacement::file),
        )?;
    }
    // Everything is checked: from here on the files change.
    tracing::info!(
        "resuming: {} jobs already done in {}",
        records.done_count(),
        out.path().display()
    );
    let records_file = if records.any_unfinished() {
        rewrite(out, &reading)?
    } else {
        repair(out, records.end())?
    };
    let failures = match (failures, rebuilt) {
        (Some(failures), Some(rebuilt)) => Some(failures.replace(rebuilt)?),
        _ => None,
    };
    Ok(Resumed {
        records: records_file,
        failures,
        done: Done(records),
    })
}

/// Refuses `output` unless it is a regular file, which `--resume` reads
/// back and then `does` to (rewrites, repairs).
fn must_be_regular(output: &Output, does: &str) -> Result<(), SetupError> {
    if output.is_regular() {
        return Ok(());
    }
    Err(SetupError::new(format!(
        "--resume reads back and {does} {} {}, so it must be a regular file",
        output.flag(),
        output.path().display()
    )))
}

/// Continues `out`, the records file of a killed writer that writes
/// whole records and no unfinished ones (`tb-host results --resume`): its
/// records are read back as a run's are, a torn last line is cut off,
/// and the file is handed back to append to, with the jobs it holds. A
/// line that is not a record, or a record of a job cancelled, refuses it:
/// it is not such a writer's file.
pub fn continue_output(out: Output) -> Result<(Claimed, Done), SetupError> {
    must_be_regular(&out, "repairs")?;
    let reading = File::open(out.path())
        .map_err(|e| SetupError::new(format!("cannot read {}: {e}", out.path().display())))?;
    let records = Records::read(&reading, out.path(), None)?;
    if records.any_unfinished() {
        return Err(SetupError::new(format!(
            "{} holds records of cancelled jobs: it was written by `tb-host run`, not by \
             `tb-host results`; {AFRESH}",
            out.path().display()
        )));
    }
    tracing::info!(
        "resuming: {} records already in {}",
        records.done_count(),
        out.path().display()
    );
    Ok((repair(out, records.end())?, Done(records)))
}

/// `out` without the records of jobs that did not run to their end (and
/// without a torn last line): written beside it, then renamed over it.
fn rewrite(out: Output, reading: &File) -> Result<Claimed, SetupError> {
    tracing::info!(
        "{}: dropping the records of jobs cancelled or not saved; they run again",
        out.path().display()
    );
    let new = Replacement::beside(out.path())
        .and_then(|new| records::copy_finished(reading, new.file()).map(|()| new))
        .map_err(|e| SetupError::new(format!("cannot rewrite -o {}: {e}", out.path().display())))?;
    out.replace(new)
}

/// `out` with its end made whole in place: a torn last line cut off, a
/// missing newline added.
fn repair(out: Output, end: End) -> Result<Claimed, SetupError> {
    let repaired = match end {
        End::Whole => Ok(()),
        End::NoNewline => out.file().write_all(b"\n"),
        End::Torn { at, line } => {
            tracing::warn!(
                "{} ends with a torn line (line {line}); cutting it off",
                out.path().display()
            );
            out.file().set_len(at)
        }
    };
    repaired
        .map_err(|e| SetupError::new(format!("cannot repair -o {}: {e}", out.path().display())))?;
    Ok(out.keep())
}
