//! Carriers: the threads workers run on.
//!
//! A worker is one session, one instance of every hook and one job at a
//! time, as a thread of Python's pool is; but a thread per worker had every
//! response wake its own thread, a context switch per request that cost more
//! than the request itself at tens of thousands a second. So workers are
//! futures, and a few carrier threads (one per CPU, never more than the
//! workers) each poll the workers given to it on a single-threaded runtime
//! whose one event loop waits on all of their connections at once. A worker
//! stays on its carrier for the whole run.
//!
//! Hooks are called inside the runtime: a plugin's call is a future the
//! worker awaits, which yields to the carrier's other workers while the
//! plugin runs (at every tick of the epoch) or waits (for `host.fetch`, a
//! WASI sleep), so one slow plugin holds up only its own worker. Native
//! hooks answer in place, and should not block.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::runtime::Runtime;

use super::PoolSettings;
use super::worker::{Lines, Worker};

/// How many ready tasks a carrier runs before it polls its workers and
/// the I/O again: in effect, all of them (see [`runtime`]).
const EVENT_INTERVAL: u32 = 1 << 20;

/// How many carriers run `workers` workers: one per CPU, at most one per
/// worker.
pub(crate) fn count(workers: usize) -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    workers.clamp(1, cpus)
}

/// The runtime a carrier drives its workers on; made before the carrier's
/// thread starts, so a pool that cannot have one does not start.
///
/// It runs every task that is ready (the clients' connection tasks) before
/// it polls the workers again, not 61 of them (tokio's default
/// `event_interval`). A connection goes back to its client's pool only when
/// a task of its own has run after the response ended; with thousands of
/// workers that task was often still queued when its worker sent its next
/// request, found no idle connection and opened a second one, so every
/// worker ended up holding two (twice the sockets, buffers and connects:
/// 2,000 connections for `-j 1000`, now 1,000). Connections and timers are
/// still polled whenever the queue runs dry, which, tasks being woken only
/// by the I/O, is after each round of them.
pub(crate) fn runtime() -> std::io::Result<Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .event_interval(EVENT_INTERVAL)
        .enable_io()
        .enable_time()
        .build()
}

/// Runs a worker for each of `workers` (its id and its lines) on `runtime`
/// until every one of them has returned (the jobs channel closed).
pub(crate) fn carry(runtime: Runtime, settings: Arc<PoolSettings>, workers: Vec<(u32, Lines)>) {
    let mut running: FuturesUnordered<_> = workers
        .into_iter()
        .map(|(id, lines)| {
            let worker = Worker::new(id, Arc::clone(&settings), lines);
            // A panic outside a job (each job has its own guard) ends this
            // worker only.
            AssertUnwindSafe(worker.run()).catch_unwind()
        })
        .collect();
    runtime.block_on(async { while running.next().await.is_some() {} });
}
