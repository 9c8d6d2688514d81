//! The retry scheduler: jobs waiting for their next attempt.
//!
//! A worker never sleeps for a retry. It hands the job here with the instant
//! it is due and takes the next job; this thread keeps waiting jobs in a
//! heap ordered by due time and puts each back on the jobs channel when its
//! time comes. When the run is cancelled it sends every waiting job back at
//! once (the workers end each with what its last attempt got), and the
//! jobs parked for a host at its cap (see `limits`) too. It also
//! closes the run: when the input is finished (or the run cancelled) and no
//! job is in flight, it closes the jobs channel and returns, and the
//! workers exit. How many jobs wait, and until when, it keeps in the
//! tracker for whoever shows the run's progress.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::time::Instant;

use async_channel::Sender;
use crossbeam_channel::{Receiver, RecvTimeoutError};

use super::PoolSettings;
use super::flow::{Entry, Task, ToScheduler, Tracker};

/// A task and when it is due; ordered by due time, then by arrival.
struct Waiting {
    due: Instant,
    seq: u64,
    task: Task,
}

impl PartialEq for Waiting {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.seq) == (other.due, other.seq)
    }
}
impl Eq for Waiting {}
impl PartialOrd for Waiting {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Waiting {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.due, self.seq).cmp(&(other.due, other.seq))
    }
}

/// Runs the scheduler until the run is over.
pub(crate) fn run(
    inbox: Receiver<ToScheduler>,
    jobs: Sender<Entry>,
    tracker: Arc<Tracker>,
    settings: Arc<PoolSettings>,
) {
    let limits = &settings.limits;
    let mut waiting: BinaryHeap<Reverse<Waiting>> = BinaryHeap::new();
    let mut seq = 0;
    // When the last waiting job is due: the heap gives only the first, and
    // jobs leave it first to last, so the latest pushed stays the last
    // until the heap is empty.
    let mut last_due: Option<Instant> = None;
    loop {
        let now = Instant::now();
        let cancelled = tracker.is_cancelled();
        while waiting
            .peek()
            .is_some_and(|Reverse(w)| cancelled || w.due <= now)
        {
            let Reverse(due) = waiting.pop().expect("peeked above");
            publish(&tracker, &waiting, &mut last_due);
            if jobs.send_blocking(Entry::Job(due.task)).is_err() {
                return;
            }
        }
        if cancelled {
            for task in limits.take_parked() {
                if jobs.send_blocking(Entry::Job(task)).is_err() {
                    return;
                }
            }
        }
        if waiting.is_empty() && tracker.all_done() {
            jobs.close();
            return;
        }
        let message = match waiting.peek() {
            Some(Reverse(next)) => inbox.recv_timeout(next.due.saturating_duration_since(now)),
            None => inbox.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match message {
            Ok(ToScheduler::Retry(task, due)) => {
                seq += 1;
                last_due = last_due.max(Some(due));
                waiting.push(Reverse(Waiting {
                    due,
                    seq,
                    task: *task,
                }));
                publish(&tracker, &waiting, &mut last_due);
            }
            Ok(ToScheduler::Check) | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// Tells the tracker how many jobs wait and when the last is due.
fn publish(
    tracker: &Tracker,
    waiting: &BinaryHeap<Reverse<Waiting>>,
    last_due: &mut Option<Instant>,
) {
    if waiting.is_empty() {
        *last_due = None;
    }
    tracker.set_waiting(last_due.map(|due| (waiting.len(), due)));
}
