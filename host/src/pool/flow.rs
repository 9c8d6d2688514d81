//! What moves between the feeder, the workers and the scheduler, and how
//! the pool knows it is done.
//!
//! ```text
//! feeder --Entry--> jobs channel --> workers --Finished--> results channel
//!                      ^               |
//!                      |   (retry) ToScheduler
//!                  scheduler <---------+
//! ```
//!
//! A job holds one permit from the moment the feeder admits it until its
//! result is taken from the pool (`taker`); bad input lines too, so that
//! every result comes from a worker. Permits bound the jobs in flight and
//! the results not yet taken (memory stays flat on endless input, and in
//! input order on a slow job), and "input finished (or the run cancelled)
//! and no permit held" is the one condition under which the run is over. The scheduler
//! sees it last and then closes the jobs channel, which ends the workers
//! once it is empty, even when the feeder is still blocked on a read.
//!
//! Workers are tasks on their carriers' async runtimes, so the two channels
//! they take from and send to are async ones (`async-channel`): a worker
//! waiting for a job or for room for its result lets the other workers of
//! its carrier go on. The feeder, the scheduler and the taker of results
//! are plain threads and use the same channels' blocking side.

use std::future::Future;
use std::pin::pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_channel::{Receiver, Sender, TryRecvError, TrySendError};
use futures_util::future::{Either, select};
use reqwest::Url;
use reqwest::header::HeaderMap;
use tokio::sync::Notify;

use super::body::Body;
use crate::failure::{Failure, FailureKind};
use crate::job::Job;
use crate::response::Response;

/// A job on its way through the pool.
pub(crate) struct Task {
    pub index: u64,
    pub job: Job,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the first attempt started.
    pub started: Option<Instant>,
    /// What the last attempt got, while the job waits for the next one:
    /// if the run is stopped before that one is sent, the job ends with
    /// this (a 429 stays the job's response), not as cancelled. Boxed:
    /// tasks move through channels, and most have none.
    pub last: Option<Box<Ended>>,
}

/// What the jobs channel carries to the workers.
pub(crate) enum Entry {
    /// A job to make an attempt of: new from the feeder, or a retry from
    /// the scheduler.
    Job(Task),
    /// An entry the source already ended (a bad input line, a job a queue
    /// delivered too often): a worker hands it out as it is, without
    /// sending anything, so every result still comes from a worker.
    Ended(Failure),
}

/// How a job ended, or ends if it is tried no more.
pub(crate) enum Ended {
    /// Boxed: a response is ten times the size of a failure.
    Response(Box<Arrived>),
    Failure(FailureKind, String),
}

/// An HTTP response read off the wire, body included.
pub(crate) struct Reply {
    pub status: u16,
    /// The HTTP version that answered: `HTTP/1.1`, `HTTP/2`, ...
    pub version: &'static str,
    pub headers: HeaderMap,
    pub body: Body,
    /// Time from sending the request to the end of its body.
    pub elapsed_ms: u64,
}

/// A job's response and the hop it came from.
pub(crate) struct Arrived {
    pub reply: Reply,
    /// The redirects followed to get it.
    pub redirects: u32,
    /// The URL of the last hop, before the hooks saw it, when redirects
    /// took the job elsewhere (else it is the job's own).
    pub url: Option<Url>,
}

/// How a job ended: exactly one of these is sent for every job.
pub(crate) type Finished = Result<Response, Failure>;

/// How long the feeder and the taker of results wait, when their channel
/// is full or empty, before they block on it. Blocking at once would have
/// the workers wake them once per job, a futex wake and two context
/// switches each: at tens of thousands of jobs a second that was a tenth of
/// the CPU a run spent. Waiting a moment lets jobs and results move in
/// batches instead; half a millisecond is nothing next to a request.
/// Measured with 20,000 URLs against nginx, bearer-auth and retry-backoff
/// loaded: 10-25% less CPU per run and 30-60% fewer context switches at 16
/// and 64 threads (`perf stat -e task-clock,context-switches`).
const LINGER: Duration = Duration::from_micros(500);

/// The next result, lingering before blocking when none is waiting.
/// `None` once every worker is gone and every result taken.
pub(crate) fn next_result(results: &Receiver<Finished>) -> Option<Finished> {
    match results.try_recv() {
        Ok(result) => return Some(result),
        Err(TryRecvError::Closed) => return None,
        Err(TryRecvError::Empty) => {}
    }
    std::thread::sleep(LINGER);
    results.recv_blocking().ok()
}

/// Sends `entry` to the workers, lingering while the channel is full;
/// false if the channel is closed (the run is over).
pub(crate) fn send_entry(jobs: &Sender<Entry>, mut entry: Entry) -> bool {
    loop {
        match jobs.try_send(entry) {
            Ok(()) => return true,
            Err(TrySendError::Full(back)) => entry = back,
            Err(TrySendError::Closed(_)) => return false,
        }
        std::thread::sleep(LINGER);
    }
}

/// What workers and the feeder tell the retry scheduler.
pub(crate) enum ToScheduler {
    /// Send this task to the workers again at this instant (boxed: a
    /// `Check` is the common message).
    Retry(Box<Task>, Instant),
    /// Something finished: see whether the run is over.
    Check,
}

/// Cancels the run tracked by `tracker` and wakes its `scheduler`, which
/// sends the retries waiting there back at once.
pub(crate) fn cancel(tracker: &Tracker, scheduler: &crossbeam_channel::Sender<ToScheduler>) {
    tracker.cancel();
    let _ = scheduler.send(ToScheduler::Check);
}

/// The run's accounting, shared by the feeder, the workers, the scheduler
/// and the taker of results.
pub(crate) struct Tracker {
    permits_tx: crossbeam_channel::Sender<()>,
    permits_rx: crossbeam_channel::Receiver<()>,
    input_done: AtomicBool,
    cancelled: AtomicBool,
    /// Wakes every wait of [`Tracker::unless_cancelled`] when the run is
    /// cancelled.
    stopping: Notify,
    /// The retries waiting in the scheduler: how many, and when the last
    /// of them is due.
    waiting: Mutex<Option<(usize, Instant)>>,
}

impl Tracker {
    /// A tracker admitting at most `max_in_flight` jobs at once.
    pub fn new(max_in_flight: usize) -> Tracker {
        let (permits_tx, permits_rx) = crossbeam_channel::bounded(max_in_flight.max(1));
        Tracker {
            permits_tx,
            permits_rx,
            input_done: AtomicBool::new(false),
            cancelled: AtomicBool::new(false),
            stopping: Notify::new(),
            waiting: Mutex::new(None),
        }
    }

    /// Waits for room for one more job in flight.
    pub fn admit(&self) {
        self.permits_tx
            .send(())
            .expect("the tracker holds both ends of its permits");
    }

    /// One job's result was taken.
    pub fn release(&self) {
        let _ = self.permits_rx.try_recv();
    }

    /// The feeder has admitted every job there will be.
    pub fn finish_input(&self) {
        self.input_done.store(true, Ordering::SeqCst);
    }

    /// Whether every job has finished and no more will come.
    pub fn all_done(&self) -> bool {
        (self.input_done.load(Ordering::SeqCst) || self.is_cancelled())
            && self.permits_rx.is_empty()
    }

    /// Stops the run taking more work: no more input is read, jobs not
    /// yet sent end as failures, and every wait to send one ends.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
        self.stopping.notify_waiters();
    }

    /// Whether the run was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }

    /// Waits for `work` (a slot under the send limits), unless the run is
    /// cancelled first or already: then `None`, at once.
    pub async fn unless_cancelled<T>(&self, work: impl Future<Output = T>) -> Option<T> {
        let stopping = self.stopping.notified();
        let mut stopping = pin!(stopping);
        // Listening before looking: a cancel in between still wakes it.
        stopping.as_mut().enable();
        if self.is_cancelled() {
            return None;
        }
        match select(pin!(work), stopping).await {
            Either::Left((value, _)) => Some(value),
            Either::Right(_) => None,
        }
    }

    /// The scheduler's count of retries waiting, and when the last is due.
    pub fn set_waiting(&self, waiting: Option<(usize, Instant)>) {
        *self.waiting.lock().unwrap_or_else(|e| e.into_inner()) = waiting;
    }

    /// How many retries wait for their time, and when the last is due.
    pub fn waiting(&self) -> Option<(usize, Instant)> {
        *self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }
}
