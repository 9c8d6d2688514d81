//! A job queue shared by many processes: a job source and a result sink
//! for the pool, so that machines can join a run, leave it or die in it
//! and every job still ends with exactly one record.
//!
//! ```text
//! enqueue: input -> jobs (with their input index) -> queue
//! run --queue: queue -> Consumer::jobs -> pool -> Consumer::record -> queue
//! results: queue -> records
//! ```
//!
//! Delivery is at least once, recording exactly once: a process takes no
//! more jobs than it has room for ([`ConsumerOptions::room`]) and holds a
//! lease on each, renewed while it runs ([`ConsumerOptions::lease`]); a
//! job whose lease ran out (its process died, or froze) is taken over by
//! another process. A job can therefore run twice, but the queue stores
//! the first result of an index only, and acknowledges and counts it in
//! the same atomic step ([`JobQueue::record`]), so "recorded" and
//! "acknowledged" never diverge. A job delivered more than
//! [`ConsumerOptions::max_deliveries`] times (it kills or hangs every
//! process that takes it) ends as a failure instead of running again.
//!
//! A retry a plugin asks for later does not wait in the process that ran
//! the attempt: the pool hands it out as a result
//! ([`crate::PoolBuilder::hand_out_retries`]), and the queue parks it on
//! the engine until it is due, by the engine's clock, acknowledging its
//! entry in the same step ([`Ending::Retry`]). Meanwhile it belongs to no
//! process; once due it is a new entry any process takes, with the
//! attempts it had ([`Delivery::attempts`]).
//!
//! The engine is behind [`JobQueue`], a small blocking trait, so another
//! one (NATS JetStream) can follow without changing the command line; the
//! one here is Redis Streams with a consumer group ([`RedisQueue`]).
//! Why blocking: the pool reads its source on a thread of its own, and
//! the results come out on the command's thread.

mod address;
mod consumer;
mod redis;

pub use address::QueueAddress;
pub use consumer::{Consumer, ConsumerOptions, Jobs, Recorded};
pub use redis::RedisQueue;

use std::collections::BTreeMap;
use std::time::Duration;

use crate::input::InputError;

/// Why the queue could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The queue's address is not `redis://HOST[:PORT]/NAME[?db=N]`.
    #[error("{address:?} is not a queue address (redis://HOST[:PORT]/NAME[?db=N]): {reason}")]
    Address {
        /// The address given.
        address: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The engine refused a command or could not be reached.
    #[error("queue {queue}: {message}")]
    Engine {
        /// The queue, as its address shows it (without a password).
        queue: String,
        /// What the engine said.
        message: String,
    },
    /// The queue holds an entry this version cannot read.
    #[error("queue {queue}: entry {id} is not a job: {reason}")]
    Entry {
        /// The queue, as its address shows it.
        queue: String,
        /// The entry's id in the queue.
        id: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// One entry of the input, as `enqueue` adds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Queued {
    /// A job, as one line of the JSON jobs format ([`crate::input::jsonl::encode`]).
    Job {
        /// Its index in the input, from 0.
        index: u64,
        /// The job line.
        line: String,
    },
    /// An input line that is not a job: a worker records it as a failure
    /// of kind `input`, with its line number, as `run` does.
    Rejected {
        /// Its index in the input.
        index: u64,
        /// What is wrong with the line.
        error: InputError,
    },
}

impl Queued {
    /// The entry's index in the input.
    pub fn index(&self) -> u64 {
        match self {
            Queued::Job { index, .. } | Queued::Rejected { index, .. } => *index,
        }
    }
}

/// A job handed to this process: the entry and its lease.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// The entry's id in the queue: what its lease and its record name.
    pub id: String,
    /// The entry.
    pub entry: Queued,
    /// How many times the entry was handed out, this time included. A
    /// retry parked and due again is a new entry: its count starts anew
    /// (the delivery before it ended well, with an attempt).
    pub deliveries: u64,
    /// The attempts the job had before it was parked for a retry; 0 for
    /// a job never tried.
    pub attempts: u32,
}

/// How a delivery ended, to record ([`JobQueue::record`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The entry the job came in: its lease is let go.
    pub id: String,
    /// The job's index in the input.
    pub index: u64,
    /// What becomes of the job.
    pub ending: Ending,
}

/// What becomes of a job when a delivery of it ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ending {
    /// It is finished: this is its result.
    Record {
        /// What is stored as its result.
        record: String,
        /// Whether it is a failure.
        failed: bool,
    },
    /// A plugin asked for another attempt later: the job waits on the
    /// engine, not in any process, and is handed out again once due.
    Retry {
        /// How long from now, by the engine's clock.
        after: Duration,
        /// The attempts made so far.
        attempts: u32,
    },
}

/// What a queue holds, for `tb-host status`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Status {
    /// Entries enqueued so far.
    pub enqueued: u64,
    /// Whether `enqueue` has added the whole input (the total is known).
    pub complete: bool,
    /// Entries not handed out yet.
    pub waiting: u64,
    /// Jobs parked for a retry later, not yet due.
    pub retrying: u64,
    /// Entries handed out and not recorded, per consumer (a process).
    pub in_flight: BTreeMap<String, u64>,
    /// Indexes recorded (each once).
    pub recorded: u64,
    /// Of those, how many are failures.
    pub failed: u64,
    /// Results that came for an index already recorded, and were dropped.
    pub duplicates: u64,
    /// Records stored over the last [`Status::window`] (by the engine's
    /// clock): `recent / window` is the queue's recent rate.
    pub recent: u64,
    /// How far back [`Status::recent`] counts: a minute, less for a queue
    /// whose first record is younger, up to the last whole second.
    pub window: Duration,
}

/// A queue engine: where jobs wait, who holds which, and the results.
///
/// Every method blocks until the engine answered, and may be called from
/// several threads at once (an engine keeps a connection per caller).
pub trait JobQueue: Send + Sync {
    /// Adds `entries` and notes, in the same atomic step, that the input
    /// was read through `read` entries: a resumed `enqueue` skips those
    /// ([`JobQueue::enqueued`]), so no job is added twice.
    fn add(&self, entries: &[Queued], read: u64) -> Result<(), QueueError>;

    /// How many input entries were added by `enqueue` so far.
    fn enqueued(&self) -> Result<u64, QueueError>;

    /// Notes that the whole input, `total` entries, was added.
    fn complete(&self, total: u64) -> Result<(), QueueError>;

    /// At most `room` entries for `consumer`: first those whose lease ran
    /// out (`lease` without a renewal; an engine may look for those only
    /// every quarter of a lease), then new ones, waiting up to `wait` for
    /// any.
    fn take(
        &self,
        consumer: &str,
        room: usize,
        lease: Duration,
        wait: Duration,
    ) -> Result<Vec<Delivery>, QueueError>;

    /// Renews the leases of the entries `ids` that `consumer` still holds
    /// (one taken over by another consumer stays that one's).
    fn renew(&self, consumer: &str, ids: &[String]) -> Result<(), QueueError>;

    /// Hands the entries `ids` that `consumer` holds back at once, for
    /// another consumer to take without waiting for their leases.
    fn hand_back(&self, consumer: &str, ids: &[String]) -> Result<(), QueueError>;

    /// For each of `results`, atomically (each on its own; all in one
    /// round trip): acknowledges its entry and, for an
    /// [`Ending::Record`], stores the record as the result of its index
    /// unless one is stored, and counts it; for an [`Ending::Retry`],
    /// parks the job until it is due, unless it is recorded already. True
    /// for each record that is the one stored, and each retry parked.
    fn record(&self, results: &[Outcome]) -> Result<Vec<bool>, QueueError>;

    /// Whether every entry of a complete input is recorded.
    fn all_recorded(&self) -> Result<bool, QueueError>;

    /// The stored results of `indexes`, in that order (`None` for one not
    /// recorded).
    fn results(&self, indexes: &[u64]) -> Result<Vec<Option<String>>, QueueError>;

    /// The indexes of the jobs recorded, in the order they were: `count`
    /// of them from the `from`th on (fewer at the end).
    fn recorded(&self, from: u64, count: u64) -> Result<Vec<u64>, QueueError>;

    /// What the queue holds.
    fn status(&self) -> Result<Status, QueueError>;
}
