//! Recording a run's results in its queue: each result as the record
//! `run` would write (the same writer makes it) and, for a failure, the
//! line `run --failures` would write, stored together under the job's
//! index: `RECORD` or `RECORD\nFAILURE-LINE` (a record is one line). A
//! retry a plugin asked for later is no record: it is parked in the queue
//! until it is due, and its job handed out again then.

use std::io::{self, Write};
use std::sync::{Arc, Mutex, PoisonError};

use tb_host::input::jsonl;
use tb_host::queue::{Consumer, Ending, Recorded};
use tb_host::{Failure, FailureKind, Response};

use crate::output::RecordWriter;

/// Records every result of a run in its queue, but for jobs cancelled
/// before they were sent (Ctrl-C): those are handed back, not recorded;
/// and retries for later, parked in the queue.
/// Results are sent in batches, one round trip each: when the run has
/// caught up with its results ([`QueueRecorder::flush`]), or every
/// [`BATCH`] results.
pub struct QueueRecorder {
    consumer: Arc<Consumer>,
    records: RecordWriter,
    /// Where `records` writes.
    buffer: Buffer,
    /// The endings not yet sent, by index.
    pending: Vec<(u64, Ending)>,
}

/// The most results sent in one round trip.
pub const BATCH: usize = 256;

impl QueueRecorder {
    /// Records through `consumer`, formatting with `records`, which writes
    /// to `buffer`.
    pub fn new(consumer: Arc<Consumer>, records: RecordWriter, buffer: Buffer) -> QueueRecorder {
        QueueRecorder {
            consumer,
            records,
            buffer,
            pending: Vec::with_capacity(BATCH),
        }
    }

    /// Adds the result of one finished job to the next batch. An error is
    /// one of the record's making.
    pub fn write(&mut self, result: &Result<Response, Failure>) -> Result<(), String> {
        if let Err(failure) = result {
            match (failure.kind(), failure.retry_in()) {
                (FailureKind::Cancelled, _) => return Ok(()),
                (FailureKind::Retry, Some(after)) => {
                    let attempts = failure.attempts();
                    self.push(failure.index(), Ending::Retry { after, attempts });
                    return Ok(());
                }
                _ => {}
            }
        }
        self.records
            .write(result)
            .and_then(|()| self.records.flush())
            .map_err(|e| e.to_string())?;
        let mut value = String::from_utf8(self.buffer.take()).map_err(|e| e.to_string())?;
        value.truncate(value.trim_end().len());
        let index = match result {
            Ok(response) => response.index(),
            Err(failure) => {
                value.push('\n');
                value.push_str(&jsonl::encode(failure.job()));
                failure.index()
            }
        };
        let failed = result.is_err();
        self.push(
            index,
            Ending::Record {
                record: value,
                failed,
            },
        );
        Ok(())
    }

    /// Adds `ending` to the batch, and sends a full one.
    fn push(&mut self, index: u64, ending: Ending) {
        self.pending.push((index, ending));
        if self.pending.len() >= BATCH {
            self.flush();
        }
    }

    /// Sends the results of the batch. A queue that does not take them is
    /// logged, and the run goes on: their leases are let go, so the jobs
    /// run again once the leases run out, and are recorded then.
    pub fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let batch = std::mem::replace(&mut self.pending, Vec::with_capacity(BATCH));
        let count = batch.len();
        match self.consumer.record(batch) {
            Ok(recorded) => {
                let dropped = recorded
                    .iter()
                    .filter(|r| **r == Recorded::Duplicate)
                    .count();
                if dropped > 0 {
                    tracing::info!(
                        "{dropped} jobs were recorded already: their results are dropped"
                    );
                }
            }
            Err(error) => tracing::warn!("{count} results are not recorded: {error}"),
        }
    }
}

/// A buffer a [`RecordWriter`] writes into, shared with whoever takes the
/// lines out.
#[derive(Clone, Default)]
pub struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Buffer {
    /// What was written since the last take.
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
