//! Checking that the records of `-o` are of this input's jobs, so that
//! `--resume` continues the same work or none.
//!
//! A record names its job's method and URL; the job at its index in the
//! input must have the same, or the input is another one, reordered, or
//! read with other flags, and appending to the file would leave records
//! of two different jobs under one index. The input is read once, in
//! order, beside the records sorted by index, and only as far as the last
//! of them; a record whose index the input does not reach is refused too.
//!
//! The same pass writes the job of every record that failed for good to
//! the new failures file: a record does not hold the headers and body a
//! failures line needs, and the input's job at its index is the job that
//! was sent.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use super::super::SetupError;
use super::super::failures;
use super::AFRESH;
use super::records::{self, Records, State, fingerprint};
use tb_host::Job;
use tb_host::input::InputError;
use tb_host::wire::{TEXT_SHOWN, shorten};

/// Checks every record of `records` (read from `out`, the file `-o`
/// names) against the job at its index in `jobs` (the input `input`),
/// and writes the job of each record that failed for good to `failures`.
pub fn against_input(
    records: &Records,
    out: (&File, &Path),
    jobs: impl Iterator<Item = Result<Job, InputError>>,
    input: &Path,
    failures: Option<&File>,
) -> Result<(), SetupError> {
    let cannot_write =
        |e: io::Error| SetupError::new(format!("cannot write the new failures file: {e}"));
    let mut failures = failures.map(BufWriter::new);
    let mut entries = records.entries().iter().peekable();
    let mut jobs_read = 0;
    for (index, entry) in (0u64..).zip(jobs) {
        if entries.peek().is_none() {
            break;
        }
        jobs_read = index + 1;
        let job = entry.unwrap_or_else(|error| error.job());
        let print = fingerprint(&job.method, &job.url);
        while let Some(record) = entries.next_if(|e| e.index == index) {
            if record.job != print {
                return Err(differs(out, index, print, input, &job));
            }
            if let (State::Failed, Some(failures)) = (record.state, failures.as_mut()) {
                failures::write_job(failures, &job).map_err(cannot_write)?;
            }
        }
    }
    if let Some(record) = entries.next() {
        return Err(beyond(out, record.index, input, jobs_read));
    }
    failures
        .map_or(Ok(()), |mut failures| failures.flush())
        .map_err(cannot_write)
}

/// The error that the record of job `index` in `out` is not of `job`
/// (whose fingerprint is `print`), the input's job at that index.
fn differs(
    (file, path): (&File, &Path),
    index: u64,
    print: u32,
    input: &Path,
    job: &Job,
) -> SetupError {
    let found = records::find(file, |record| {
        record.index == index && fingerprint(&record.method, &record.url) != print
    });
    let (line, recorded) = found.ok().flatten().unwrap_or_default();
    SetupError::new(format!(
        "-o {} line {line} is a record of job {index}, {recorded}, but job {index} of {} is \
         {} {}: the file was written from another input, or this one was reordered, or \
         read with other flags; {AFRESH}",
        path.display(),
        input.display(),
        job.method,
        shorten(&job.url, TEXT_SHOWN)
    ))
}

/// The error that `out` has a record of job `index`, and the input `input`
/// has only `jobs` jobs.
fn beyond((file, path): (&File, &Path), index: u64, input: &Path, jobs: u64) -> SetupError {
    let found = records::find(file, |record| record.index == index);
    let (line, _) = found.ok().flatten().unwrap_or_default();
    let has = match jobs {
        0 => "no jobs".to_owned(),
        jobs => format!("only jobs 0 to {}", jobs - 1),
    };
    SetupError::new(format!(
        "-o {} line {line} is a record of job {index}, but {} has {has}: \
         the file was written from another input; {AFRESH}",
        path.display(),
        input.display()
    ))
}
