//! `--order input`: records in input index order, through a bounded
//! reorder buffer.
//!
//! Jobs finish in any order; a record may only be written once every job
//! before it in the input has been written. Two halves share one
//! [`Window`]:
//!
//! - the pool's input thread, through the selector [`apply`] installs,
//!   notes every index that will run, in input order, and waits while
//!   `limit` indexes are noted and not yet written;
//! - the results loop pushes each finished job into the [`Reorder`] buffer,
//!   which hands back the records that are now next in line.
//!
//! The bound: a buffered result's index is noted and not yet written, so
//! the buffer never holds more than `limit` results, however slow the
//! oldest job. `limit` is the pool's [`PoolBuilder::in_flight_limit`]
//! (its `max_in_flight`): in input order, that many jobs may be in flight
//! *or* finished and waiting for an earlier one, so memory stays bounded
//! as in finish order, and one slow job holds back at most that many
//! others.
//!
//! Indexes the run skips (`--shard`, `--resume`) are never noted, so they
//! are never waited for. A job noted but never run (the run was
//! cancelled between noting and sending it) is waited for until the
//! results end; [`Reorder::finish`] then writes what is left, in order.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use super::args::Order;
use tb_host::{Failure, PoolBuilder, Response};

/// A finished job.
type Finished = Result<Response, Failure>;

/// The indexes that will run and are not yet written, oldest first.
struct Noted {
    indexes: VecDeque<u64>,
    limit: usize,
    /// The results have ended: nobody writes any more, so nobody waits.
    closed: bool,
}

/// What the input thread and the results loop share.
struct Window {
    noted: Mutex<Noted>,
    room: Condvar,
}

impl Window {
    fn lock(&self) -> MutexGuard<'_, Noted> {
        self.noted.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Notes that the job with `index` will run, first waiting for room.
    fn note(&self, index: u64) {
        let mut noted = self.lock();
        while noted.indexes.len() >= noted.limit && !noted.closed {
            noted = self
                .room
                .wait(noted)
                .unwrap_or_else(PoisonError::into_inner);
        }
        noted.indexes.push_back(index);
    }
}

/// Sets `builder` up for `order`. For input order: a reorder buffer
/// bounded by the pool's jobs in flight, and a selector on `builder` that
/// notes every job that will run. Call it after every other selector is
/// set (`--shard`, `--resume`), so it is asked only about the jobs that
/// run.
pub fn apply(builder: PoolBuilder, order: Order) -> (PoolBuilder, Option<Reorder>) {
    if order == Order::Finish {
        return (builder, None);
    }
    let reorder = Reorder::new(builder.in_flight_limit());
    let window = Arc::clone(&reorder.window);
    let builder = builder.select(move |index| {
        window.note(index);
        true
    });
    (builder, Some(reorder))
}

/// The reorder buffer: finished jobs waiting for the jobs before them.
pub struct Reorder {
    window: Arc<Window>,
    waiting: BTreeMap<u64, Finished>,
}

impl Reorder {
    /// A buffer for at most `limit` jobs (at least 1).
    fn new(limit: usize) -> Reorder {
        Reorder {
            window: Arc::new(Window {
                noted: Mutex::new(Noted {
                    indexes: VecDeque::new(),
                    limit: limit.max(1),
                    closed: false,
                }),
                room: Condvar::new(),
            }),
            waiting: BTreeMap::new(),
        }
    }

    /// Takes one finished job; returns the jobs now next in line, in
    /// input order (none while an earlier job is still running).
    pub fn push(&mut self, result: Finished) -> Vec<Finished> {
        self.waiting.insert(index_of(&result), result);
        let mut ready = Vec::new();
        let mut noted = self.window.lock();
        while let Some(next) = noted.indexes.front()
            && let Some(result) = self.waiting.remove(next)
        {
            noted.indexes.pop_front();
            ready.push(result);
        }
        if !ready.is_empty() {
            self.window.room.notify_all();
        }
        ready
    }

    /// The results have ended: returns every job still waiting, in input
    /// order, and lets the input thread go if it waits for room.
    pub fn finish(self) -> impl Iterator<Item = Finished> {
        let mut noted = self.window.lock();
        noted.closed = true;
        noted.indexes.clear();
        self.window.room.notify_all();
        drop(noted);
        self.waiting.into_values()
    }

    /// How many finished jobs wait for an earlier one.
    #[cfg(test)]
    fn buffered(&self) -> usize {
        self.waiting.len()
    }
}

fn index_of(result: &Finished) -> u64 {
    match result {
        Ok(response) => response.index(),
        Err(failure) => failure.index(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;
    use tb_host::{FailureKind, Job};

    fn failed(index: u64) -> Failure {
        let job = Job::get(format!("http://127.0.0.1/{index}"));
        Failure::new(index, job, FailureKind::Input, "")
    }

    fn indexes(results: impl IntoIterator<Item = Finished>) -> Vec<u64> {
        results.into_iter().map(|r| index_of(&r)).collect()
    }

    #[test]
    fn writes_in_input_order_whatever_the_finish_order() {
        let mut reorder = Reorder::new(16);
        for index in 0..6 {
            reorder.window.note(index);
        }
        assert_eq!(indexes(reorder.push(Err(failed(2)))), Vec::<u64>::new());
        assert_eq!(indexes(reorder.push(Err(failed(1)))), Vec::<u64>::new());
        assert_eq!(indexes(reorder.push(Err(failed(5)))), Vec::<u64>::new());
        assert_eq!(reorder.buffered(), 3);
        assert_eq!(indexes(reorder.push(Err(failed(0)))), [0, 1, 2]);
        assert_eq!(indexes(reorder.push(Err(failed(3)))), [3]);
        assert_eq!(indexes(reorder.push(Err(failed(4)))), [4, 5]);
        assert_eq!(reorder.buffered(), 0);
        assert_eq!(indexes(reorder.finish()), Vec::<u64>::new());
    }

    #[test]
    fn skipped_indexes_are_not_waited_for() {
        let mut reorder = Reorder::new(16);
        for index in [1, 4, 7] {
            reorder.window.note(index);
        }
        assert_eq!(indexes(reorder.push(Err(failed(7)))), Vec::<u64>::new());
        assert_eq!(indexes(reorder.push(Err(failed(1)))), [1]);
        assert_eq!(indexes(reorder.push(Err(failed(4)))), [4, 7]);
    }

    #[test]
    fn finish_writes_what_waits_for_a_job_that_never_ran() {
        let mut reorder = Reorder::new(16);
        for index in 0..4 {
            reorder.window.note(index);
        }
        reorder.push(Err(failed(3)));
        reorder.push(Err(failed(1)));
        assert_eq!(indexes(reorder.finish()), [1, 3]);
    }

    #[test]
    fn the_input_waits_while_the_buffer_is_full() {
        let mut reorder = Reorder::new(3);
        for index in 0..3 {
            reorder.window.note(index);
        }
        reorder.push(Err(failed(1)));
        reorder.push(Err(failed(2)));
        let window = Arc::clone(&reorder.window);
        let (noted, was_noted) = mpsc::channel();
        let input = std::thread::spawn(move || {
            window.note(3);
            noted.send(()).unwrap();
        });
        assert!(
            was_noted.recv_timeout(Duration::from_millis(100)).is_err(),
            "job 3 must wait: 3 jobs are noted and unwritten"
        );
        assert_eq!(indexes(reorder.push(Err(failed(0)))), [0, 1, 2]);
        was_noted
            .recv_timeout(Duration::from_secs(10))
            .expect("room was made");
        input.join().unwrap();
        assert_eq!(indexes(reorder.push(Err(failed(3)))), [3]);
    }

    #[test]
    fn finish_lets_a_waiting_input_go() {
        let reorder = Reorder::new(1);
        reorder.window.note(0);
        let window = Arc::clone(&reorder.window);
        let input = std::thread::spawn(move || window.note(1));
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(indexes(reorder.finish()), Vec::<u64>::new());
        input.join().unwrap();
    }
}
