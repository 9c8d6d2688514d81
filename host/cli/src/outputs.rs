//! The files a run writes its results to, kept consistent when one of them
//! stops taking writes (a full disk, a closed pipe).
//!
//! A failed job goes to the failures file first, as a whole line, and only
//! then is its record written: a job with a record in the output is in the
//! failures file too, so `--resume`, which skips the jobs recorded, never
//! loses a failure. A file that fails a write is written no more: what
//! reached it stays, but for a torn last line, which `--resume` cuts off
//! (the failures file cuts its own). A failed job that the failures file
//! did not take gets no record either, so `--resume` runs it again.
//!
//! A run on a queue (`run --queue`) has no files: its results go to the
//! queue ([`QueueRecorder`]), and a result the queue does not take stops
//! the run the same way.

use std::io;
use std::sync::Arc;

use super::failures::FailureWriter;
use super::output::RecordWriter;
use super::queue::QueueRecorder;
use super::stall::Activity;
use super::stop::Unsent;
use tb_host::{Failure, Response};

/// The record writer and the failures file of a run, each dropped once it
/// fails a write.
pub struct Outputs {
    records: Option<RecordWriter>,
    failures: Option<FailureWriter>,
    /// Whether the run lists its failures (in a file that may be gone).
    lists_failures: bool,
    /// Where the results go instead, on a queue.
    queue: Option<QueueRecorder>,
}

/// A write that failed; the message names the file and the error.
#[derive(Debug)]
pub struct WriteError(pub String);

impl Outputs {
    /// Writes records with `records` and failed jobs with `failures`.
    pub fn new(records: RecordWriter, failures: Option<FailureWriter>) -> Outputs {
        Outputs {
            records: Some(records),
            lists_failures: failures.is_some(),
            failures,
            queue: None,
        }
    }

    /// The results of a run on a queue, recorded there.
    pub fn to_queue(recorder: QueueRecorder) -> Outputs {
        Outputs {
            records: None,
            failures: None,
            lists_failures: false,
            queue: Some(recorder),
        }
    }

    /// What becomes of the jobs not sent when the run is stopped: on a
    /// queue they are handed back, else they end as cancelled.
    pub fn unsent(&self) -> Unsent {
        if self.queue.is_some() {
            Unsent::HandedBack
        } else {
            Unsent::Cancelled
        }
    }

    /// The writes in progress of every file, for the watch of a stalled
    /// output.
    pub fn activities(&self) -> Vec<Arc<Activity>> {
        let records = self.records.iter().map(RecordWriter::activity);
        records
            .chain(self.failures.iter().map(FailureWriter::activity))
            .collect()
    }

    /// Writes the record of one finished job, and the job to the failures
    /// file if it failed and there is one. An error says which file just
    /// failed; it is written no more, and the run goes on with the others.
    pub fn write(&mut self, result: &Result<Response, Failure>) -> Result<(), WriteError> {
        if let Some(queue) = self.queue.as_mut() {
            return queue
                .write(result)
                .map_err(|error| WriteError(format!("cannot record in the queue: {error}")));
        }
        if let (Err(failure), true) = (result, self.lists_failures) {
            let Some(out) = self.failures.as_mut() else {
                // Not listed, so not recorded: `--resume` runs it again.
                return Ok(());
            };
            if let Err(error) = out.write(failure) {
                let error = failed(out.name(), &error);
                self.failures = None;
                return Err(error);
            }
        }
        let Some(out) = self.records.as_mut() else {
            return Ok(());
        };
        out.write(result)
            .map_err(|error| self.records_failed(&error))
    }

    /// Writes out the records buffered.
    pub fn flush(&mut self) -> Result<(), WriteError> {
        if let Some(queue) = self.queue.as_mut() {
            queue.flush();
            return Ok(());
        }
        let Some(out) = self.records.as_mut() else {
            return Ok(());
        };
        out.flush().map_err(|error| self.records_failed(&error))
    }

    /// Drops the record writer, which just failed with `error`.
    fn records_failed(&mut self, error: &io::Error) -> WriteError {
        let out = self.records.take().expect("the records failed a write");
        failed(&out.abandon(), error)
    }
}

/// The error of a write of `name` that failed with `error`.
fn failed(name: &str, error: &io::Error) -> WriteError {
    WriteError(format!("cannot write {name}: {error}"))
}
