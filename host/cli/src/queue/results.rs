//! `tb-host results QUEUE`: the records of a queue's jobs, one per job, in
//! input order (or, with `--order finish`, as they were recorded), written
//! as `run` writes them (the records were made by
//! `run`'s writer where each job ran; see `recorder.rs`). `--resume`
//! continues a killed export: `-o` is read back as `run --resume` reads
//! it, and the jobs it holds are skipped; the failures file, all of whose
//! lines the queue holds, is written anew.

use std::io::{self, BufWriter, Write};
use std::path::Path;

use anyhow::Context;
use tb_host::queue::JobQueue;

use super::open;
use crate::args::{Order, ResultsArgs};
use crate::files::{InputFile, Output, OutputFiles};
use crate::resume::{self, Done};
use crate::{Failed, SetupError};

/// How many results are asked for at once.
const BATCH: u64 = 1000;

/// Writes every recorded job's record to `-o` (or stdout), and the failed
/// jobs to `--failures`. Fails with [`Failed`] (exit status 1) when some
/// job is not recorded yet, after writing the others.
pub fn results(args: &ResultsArgs) -> anyhow::Result<()> {
    let queue = open(&args.queue)?;
    let status = queue.status().map_err(|e| SetupError::new(e.to_string()))?;
    let no_input = InputFile {
        name: args.queue.to_string(),
        id: None,
    };
    let files = OutputFiles::open(args.output.as_deref(), args.failures.as_deref(), &no_input)?;
    let (records, failures, done) = if args.resume {
        let OutputFiles { records, failures } = files;
        let records = records.expect("clap: --resume requires -o");
        let (records, done) = resume::continue_output(records)?;
        let failures = failures.map(Output::empty).transpose()?;
        (Some(records), failures, Some(done))
    } else {
        let (records, failures) = files.empty()?;
        (records, failures, None)
    };
    let mut records: Box<dyn Write> = match records {
        Some(file) => Box::new(BufWriter::new(file)),
        None => Box::new(BufWriter::new(io::stdout().lock())),
    };
    let mut failures = failures.map(BufWriter::new);
    let mut written = 0;
    let mut batches = batches(&queue, args.order, status.enqueued);
    while let Some(indexes) = batches.next().transpose()? {
        let stored = queue
            .results(&indexes)
            .map_err(|e| SetupError::new(e.to_string()))?;
        if let Some(done) = &done {
            same_work(done, &indexes, &stored, args)?;
        }
        for (index, value) in indexes.into_iter().zip(stored) {
            let Some(value) = value else {
                continue;
            };
            written += 1;
            let (record, failed) = match value.split_once('\n') {
                Some((record, failed)) => (record, Some(failed)),
                None => (value.as_str(), None),
            };
            if !done.as_ref().is_some_and(|done| done.contains(index)) {
                writeln!(records, "{record}").context("cannot write the records")?;
            }
            if let (Some(out), Some(line)) = (failures.as_mut(), failed) {
                writeln!(out, "{line}").context("cannot write the failures")?;
            }
        }
    }
    records.flush().context("cannot write the records")?;
    if let Some(out) = failures.as_mut() {
        out.flush().context("cannot write the failures")?;
    }
    let missing = status.enqueued.saturating_sub(written);
    if !status.complete || missing > 0 {
        eprintln!(
            "{missing} of {} jobs are not recorded yet{}: `tb-host status {}` shows where they are",
            status.enqueued,
            if status.complete {
                ""
            } else {
                ", and enqueue has not finished"
            },
            args.queue
        );
        return Err(Failed.into());
    }
    Ok(())
}

/// The indexes to export, a batch at a time: every index of the input in
/// order, or those recorded, in the order they were.
fn batches(
    queue: &dyn JobQueue,
    order: Order,
    enqueued: u64,
) -> impl Iterator<Item = anyhow::Result<Vec<u64>>> + '_ {
    let mut start = 0;
    std::iter::from_fn(move || {
        let batch = match order {
            Order::Input => Ok((start..enqueued.min(start + BATCH)).collect()),
            Order::Finish => queue
                .recorded(start, BATCH)
                .map_err(|e| SetupError::new(e.to_string()).into()),
        };
        start += BATCH;
        match batch {
            Ok(indexes) if indexes.is_empty() => None,
            batch => Some(batch),
        }
    })
}

/// Refuses a resumed export whose `-o` holds a record, among `indexes`,
/// of another job than the queue's `stored` one at that index: the file
/// is another queue's export. Checked a batch before any of it is written
/// (an export writes from the first index on, so the first batch shows it).
fn same_work(
    done: &Done,
    indexes: &[u64],
    stored: &[Option<String>],
    args: &ResultsArgs,
) -> Result<(), SetupError> {
    for (&index, value) in indexes.iter().zip(stored) {
        let Some(value) = value else { continue };
        let record = value
            .split_once('\n')
            .map_or(value.as_str(), |(record, _)| record);
        if done.contains(index) && !done.matches(index, record) {
            return Err(SetupError::new(format!(
                "-o {} holds a record of job {index} that is not the job the queue {} has at \
                 that index: it is another run's export; export this queue to another file, \
                 or without --resume",
                args.output.as_deref().unwrap_or(Path::new("-")).display(),
                args.queue
            )));
        }
    }
    Ok(())
}
