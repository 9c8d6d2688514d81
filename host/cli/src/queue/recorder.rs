//! Recording a run's results in its queue: each result as the record
//! `run` would write (the same writer makes it) and, for a failure, the
//! line `run --failures` would write, stored together under the job's
//! index: `RECORD` or `RECORD\nFAILURE-LINE` (a record is one line).

use std::io::{self, Write};
use std::sync::{Arc, Mutex, PoisonError};

use tb_host::input::jsonl;
use tb_host::queue::{Consumer, Recorded};
use tb_host::{Failure, FailureKind, Response};

use crate::output::RecordWriter;

/// Records every result of a run in its queue, but for jobs cancelled
/// before they were sent (Ctrl-C): those are handed back, not recorded.
pub struct QueueRecorder {
    consumer: Arc<Consumer>,
    records: RecordWriter,
    /// Where `records` writes.
    buffer: Buffer,
}

impl QueueRecorder {
    /// Records through `consumer`, formatting with `records`, which writes
    /// to `buffer`.
    pub fn new(consumer: Arc<Consumer>, records: RecordWriter, buffer: Buffer) -> QueueRecorder {
        QueueRecorder {
            consumer,
            records,
            buffer,
        }
    }

    /// Records the result of one finished job. An error is one of the
    /// record's making; a queue that does not take the record is logged,
    /// and the job runs again once its lease runs out.
    pub fn write(&mut self, result: &Result<Response, Failure>) -> Result<(), String> {
        if let Err(failure) = result
            && failure.kind() == FailureKind::Cancelled
        {
            return Ok(());
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
        match self.consumer.record(index, &value, result.is_err()) {
            Ok(Recorded::Stored) => {}
            Ok(Recorded::Duplicate) => {
                tracing::info!("job {index} was recorded already: this result is dropped");
            }
            // The lease is let go: the job is taken over once it runs
            // out, and recorded then. The run goes on.
            Err(error) => tracing::warn!("job {index} is not recorded: {error}"),
        }
        Ok(())
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
