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
//! Hooks are not called inside the runtime: wasmtime-wasi runs a plugin's
//! blocking I/O (a stream written or dropped, a file read) with a
//! `block_on` of its own, which tokio refuses inside another. A worker hands
//! each hook call to its carrier ([`Outside::call`]) and waits; the carrier
//! leaves its runtime as soon as calls are waiting, makes all of them, and
//! goes back in. Calls of several workers are made in one such turn. While
//! hooks run, the carrier's other workers wait: plugins are bounded by their
//! deadline per call, native hooks should not block.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Poll, Waker};

use futures_util::FutureExt;
use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::runtime::Runtime;

use super::PoolSettings;
use super::worker::{Lines, Worker};

/// How many carriers run `workers` workers: one per CPU, at most one per
/// worker.
pub(crate) fn count(workers: usize) -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    workers.clamp(1, cpus)
}

/// The runtime a carrier drives its workers on; made before the carrier's
/// thread starts, so a pool that cannot have one does not start.
pub(crate) fn runtime() -> std::io::Result<Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
}

/// Runs a worker for each of `workers` (its id and its lines) on `runtime`
/// until every one of them has returned (the jobs channel closed).
///
/// The carrier polls its workers itself, in the one future it runs on the
/// runtime: after a round of the workers that are ready it sees at once
/// whether they left hook calls, and leaves the runtime to make them
/// without waking anything.
pub(crate) fn carry(runtime: Runtime, settings: Arc<PoolSettings>, workers: Vec<(u32, Lines)>) {
    let outside = Rc::new(Outside::default());
    let mut running: FuturesUnordered<_> = workers
        .into_iter()
        .map(|(id, lines)| {
            let worker = Worker::new(id, Arc::clone(&settings), lines, Rc::clone(&outside));
            // A panic outside a job (each job has its own guard) ends this
            // worker only.
            AssertUnwindSafe(worker.run()).catch_unwind()
        })
        .collect();
    loop {
        let all_done = runtime.block_on(std::future::poll_fn(|cx| {
            outside.wake_answered();
            loop {
                match running.poll_next_unpin(cx) {
                    Poll::Ready(Some(_)) => continue,
                    Poll::Ready(None) => return Poll::Ready(true),
                    Poll::Pending => break,
                }
            }
            if outside.waiting() {
                Poll::Ready(false)
            } else {
                Poll::Pending
            }
        }));
        outside.make_calls();
        if all_done {
            return;
        }
    }
}

/// A call waiting to be made outside the runtime; it gives back the waker
/// of the worker waiting on its answer.
type Call = Box<dyn FnOnce() -> Option<Waker>>;

/// The hook calls a carrier's workers wait on.
#[derive(Default)]
pub(crate) struct Outside {
    calls: RefCell<VecDeque<Call>>,
    /// Workers whose calls were answered, woken at the start of the next
    /// turn: woken inside the runtime, a worker is just queued; woken from
    /// outside, each would also make the runtime's event loop write to its
    /// wake-up file descriptor and wake once more for nothing.
    answered: RefCell<Vec<Waker>>,
}

/// The answer to one call, or the panic it ended in, and its worker.
struct Answer<T> {
    value: Cell<Option<std::thread::Result<T>>>,
    worker: Cell<Option<Waker>>,
}

impl Outside {
    /// Makes `call` on the carrier's thread outside its runtime and waits
    /// for its answer. A call that panics is a panic of the worker that
    /// waits on it, not of the carrier.
    pub(crate) async fn call<T: 'static>(&self, call: impl FnOnce() -> T + 'static) -> T {
        let answer = Rc::new(Answer {
            value: Cell::new(None),
            worker: Cell::new(None),
        });
        let slot = Rc::clone(&answer);
        self.calls.borrow_mut().push_back(Box::new(move || {
            slot.value.set(Some(catch_unwind(AssertUnwindSafe(call))));
            slot.worker.take()
        }));
        let value = std::future::poll_fn(|cx| match answer.value.take() {
            Some(value) => Poll::Ready(value),
            None => {
                answer.worker.set(Some(cx.waker().clone()));
                Poll::Pending
            }
        })
        .await;
        value.unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }

    fn waiting(&self) -> bool {
        !self.calls.borrow().is_empty()
    }

    /// Makes every waiting call.
    fn make_calls(&self) {
        loop {
            let Some(call) = self.calls.borrow_mut().pop_front() else {
                return;
            };
            if let Some(worker) = call() {
                self.answered.borrow_mut().push(worker);
            }
        }
    }

    /// Wakes the workers whose calls were answered.
    fn wake_answered(&self) {
        for worker in self.answered.borrow_mut().drain(..) {
            worker.wake();
        }
    }
}
