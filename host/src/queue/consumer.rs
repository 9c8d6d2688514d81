//! A process's side of a queue: the jobs it takes, as the pool's source
//! ([`Consumer::jobs`], for [`crate::PoolBuilder::from_numbered`]), the
//! leases it holds on them, renewed by a thread of its own while it runs,
//! and the results it records ([`Consumer::record`]).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use super::{Delivery, Ending, JobQueue, Outcome, QueueError, Queued};
use crate::failure::{Failure, FailureKind};
use crate::input::jsonl;
use crate::job::{Job, RequestDefaults};
use crate::pool::Numbered;

/// How a process takes part in a queue.
#[derive(Clone, Debug)]
pub struct ConsumerOptions {
    /// This process's name in the queue (`tb-host status` shows it): a
    /// live process must not share it with another.
    pub name: String,
    /// How long a job is this process's without a renewal: past it,
    /// another process takes the job over. Leases are renewed every third
    /// of it, so a process that freezes longer than that loses its jobs.
    pub lease: Duration,
    /// The most times a job is handed out; a job delivered more often
    /// ends as a failure of kind `other` instead of running again.
    pub max_deliveries: u64,
    /// The most jobs this process holds at once, running or about to
    /// (the pool's limit of jobs in flight should be the same): a slow
    /// process hoards no more. The command line takes twice its workers,
    /// so each worker finds its next job at hand. Jobs are taken once a
    /// quarter of it is free, in one round trip.
    pub room: usize,
    /// Whether to wait for more jobs when every job of the queue is
    /// recorded, rather than end.
    pub follow: bool,
    /// What every job line is read over (the command's request flags:
    /// credentials given where the jobs run, never stored in the queue).
    pub defaults: RequestDefaults,
}

/// What became of an ending given to [`Consumer::record`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recorded {
    /// It is the job's record, or the retry is parked in the queue.
    Stored,
    /// The job was recorded already (it was delivered twice): this result
    /// was dropped.
    Duplicate,
}

/// A process taking part in a queue. Dropping it stops the renewal of its
/// leases (hand the jobs not done back first: [`Consumer::hand_back`]).
pub struct Consumer {
    shared: Arc<Shared>,
}

struct Shared {
    queue: Arc<dyn JobQueue>,
    options: ConsumerOptions,
    /// The jobs held, by index: the entry id each lease names.
    held: Mutex<HashMap<u64, String>>,
    /// Signalled when a job is no longer held: there is room again.
    freed: Condvar,
    stopped: AtomicBool,
}

impl Shared {
    fn held(&self) -> MutexGuard<'_, HashMap<u64, String>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// How long a take waits for jobs before it looks whether the queue is
/// done; and how long a wait for room lasts before it looks again.
const POLL: Duration = Duration::from_millis(250);

impl Consumer {
    /// Takes part in `queue` as `options` say, and starts renewing the
    /// leases of the jobs it will hold.
    pub fn start(queue: Arc<dyn JobQueue>, options: ConsumerOptions) -> std::io::Result<Consumer> {
        let shared = Arc::new(Shared {
            queue,
            options,
            held: Mutex::new(HashMap::new()),
            freed: Condvar::new(),
            stopped: AtomicBool::new(false),
        });
        let renewer = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("tb-queue-lease".to_owned())
            .spawn(move || renew(&renewer))?;
        Ok(Consumer { shared })
    }

    /// The jobs this process is handed, each with its input index, taken
    /// as there is room: the pool's source. It ends once every job of a
    /// complete queue is recorded (by any process), unless
    /// [`ConsumerOptions::follow`]. An `Err` is a job that ends without
    /// being sent: a bad input line, or one delivered too often.
    pub fn jobs(&self) -> Jobs {
        Jobs {
            shared: Arc::clone(&self.shared),
            taken: VecDeque::new(),
        }
    }

    /// Records each of `results` (index, how its delivery ended): a
    /// record as the result of its job, unless the job was recorded
    /// already, a retry parked in the queue until due; and lets its lease
    /// go; all in one round trip. A job this process does
    /// not hold (recorded already) is [`Recorded::Duplicate`]. On an error
    /// the leases go too: the jobs are then taken over once their leases
    /// run out, and recorded then.
    pub fn record(&self, results: Vec<(u64, Ending)>) -> Result<Vec<Recorded>, QueueError> {
        let mut outcomes = Vec::with_capacity(results.len());
        let mut recorded = vec![Recorded::Duplicate; results.len()];
        let mut sent = Vec::with_capacity(results.len());
        {
            let mut held = self.shared.held();
            for (at, (index, ending)) in results.into_iter().enumerate() {
                if let Some(id) = held.remove(&index) {
                    outcomes.push(Outcome { id, index, ending });
                    sent.push(at);
                }
            }
        }
        self.shared.freed.notify_all();
        let stored = self.shared.queue.record(&outcomes)?;
        for (at, stored) in sent.into_iter().zip(stored) {
            if stored {
                recorded[at] = Recorded::Stored;
            }
        }
        Ok(recorded)
    }

    /// Stops taking jobs, and hands every job still held back to the
    /// queue, for other processes to take at once (after Ctrl-C, the jobs
    /// not sent): how many.
    pub fn hand_back(&self) -> Result<usize, QueueError> {
        let ids: Vec<String> = {
            let mut held = self.shared.held();
            self.shared.stopped.store(true, Ordering::SeqCst);
            held.drain().map(|(_, id)| id).collect()
        };
        self.shared.freed.notify_all();
        self.shared
            .queue
            .hand_back(&self.shared.options.name, &ids)?;
        Ok(ids.len())
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        self.shared.stopped.store(true, Ordering::SeqCst);
        self.shared.freed.notify_all();
    }
}

/// Renews the leases held, every third of a lease, until the consumer is
/// dropped. A renewal that fails is tried again the next time: the lease
/// runs out only if they fail for a whole lease.
fn renew(shared: &Shared) {
    let every = (shared.options.lease / 3).max(Duration::from_millis(50));
    loop {
        std::thread::sleep(every);
        if shared.stopped.load(Ordering::SeqCst) {
            return;
        }
        let ids: Vec<String> = shared.held().values().cloned().collect();
        if let Err(error) = shared.queue.renew(&shared.options.name, &ids) {
            tracing::warn!("cannot renew the leases of {} jobs: {error}", ids.len());
        }
    }
}

/// The jobs a [`Consumer`] is handed; see [`Consumer::jobs`].
pub struct Jobs {
    shared: Arc<Shared>,
    /// Taken from the queue, not yet handed to the pool.
    taken: VecDeque<Delivery>,
}

impl Iterator for Jobs {
    type Item = Numbered;

    fn next(&mut self) -> Option<Self::Item> {
        let shared = &*self.shared;
        let options = &shared.options;
        let batch = (options.room / 4).max(1);
        loop {
            if let Some(delivery) = self.taken.pop_front() {
                return Some(entry(delivery, options));
            }
            let room = {
                let held = shared.held();
                let (held, _) = shared
                    .freed
                    .wait_timeout_while(held, POLL, |held| {
                        options.room.saturating_sub(held.len()) < batch
                            && !held.is_empty()
                            && !shared.stopped.load(Ordering::SeqCst)
                    })
                    .unwrap_or_else(PoisonError::into_inner);
                options.room.saturating_sub(held.len())
            };
            if shared.stopped.load(Ordering::SeqCst) {
                return None;
            }
            if room == 0 {
                continue;
            }
            match shared.queue.take(&options.name, room, options.lease, POLL) {
                Ok(taken) if taken.is_empty() => {
                    if !options.follow && shared.queue.all_recorded().unwrap_or(false) {
                        return None;
                    }
                }
                Ok(taken) => {
                    let mut held = shared.held();
                    // Looked at with the lock held: a hand-back drains the
                    // jobs held after it stops the taking.
                    if shared.stopped.load(Ordering::SeqCst) {
                        drop(held);
                        let ids: Vec<String> = taken.into_iter().map(|d| d.id).collect();
                        if let Err(error) = shared.queue.hand_back(&options.name, &ids) {
                            tracing::warn!("cannot hand {} jobs back: {error}", ids.len());
                        }
                        return None;
                    }
                    for delivery in &taken {
                        held.insert(delivery.entry.index(), delivery.id.clone());
                    }
                    self.taken.extend(taken);
                }
                Err(error) => {
                    tracing::warn!("cannot take jobs: {error}; trying again in a second");
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
        }
    }
}

/// What the pool gets for `delivery`: its job with the attempts it had,
/// or the failure it ends as.
fn entry(delivery: Delivery, options: &ConsumerOptions) -> Numbered {
    let (index, attempts) = (delivery.entry.index(), delivery.attempts);
    let numbered = |entry| Numbered {
        index,
        entry,
        attempts,
    };
    let job = match delivery.entry {
        Queued::Rejected { error, .. } => return numbered(Err(error.failure(index))),
        Queued::Job { line, .. } => jsonl::parse_job(&line, &options.defaults)
            .map_err(|message| Failure::new(index, Job::get(line), FailureKind::Input, message)),
    };
    if delivery.deliveries > options.max_deliveries {
        let job = match job {
            Ok(job) => job,
            Err(failure) => return numbered(Err(failure)),
        };
        let message = format!(
            "delivered {} times, more than --max-deliveries {}: every process that took it \
             stopped or lost its lease before recording it",
            delivery.deliveries, options.max_deliveries
        );
        return numbered(Err(Failure::new(index, job, FailureKind::Other, message)));
    }
    numbered(job)
}
