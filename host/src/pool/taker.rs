//! The taker: hands finished jobs to whoever consumes the pool's results,
//! in finish order or, with [`PoolBuilder::in_input_order`](super::PoolBuilder::in_input_order),
//! in input order.
//!
//! A job's permit (see [`Tracker`]) is given back only when its result is
//! handed out, not when a worker finishes it. So in input order a result
//! that waits for an earlier job still holds its permit, and the feeder
//! admits no more jobs than the pool may have in flight: the reorder
//! buffer never holds more than that many results, however slow the
//! oldest job, and nothing blocks but the feeder's usual wait for a
//! permit.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use async_channel::Receiver;

use super::flow::{Finished, ToScheduler, Tracker, next_result};

/// The indexes admitted and not yet handed out, oldest first: the order
/// results go out in. The feeder notes each index before the job goes
/// to the workers, so its result can never arrive unnoted.
#[derive(Default)]
pub(crate) struct Admitted(Mutex<VecDeque<u64>>);

impl Admitted {
    /// The job with `index` goes to the workers next.
    pub fn note(&self, index: u64) {
        self.lock().push_back(index);
    }

    /// The job noted last never went to the workers (the run ended first).
    pub fn unnote_last(&self) {
        self.lock().pop_back();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<u64>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Finished jobs waiting for the jobs before them in the input.
struct Reorder {
    admitted: Arc<Admitted>,
    waiting: BTreeMap<u64, Finished>,
}

impl Reorder {
    /// The result of the oldest job not yet handed out, if it has finished.
    fn next_in_line(&mut self) -> Option<Finished> {
        let mut admitted = self.admitted.lock();
        let result = self.waiting.remove(admitted.front()?)?;
        admitted.pop_front();
        Some(result)
    }

    /// What is left once the results have ended, in input order: jobs
    /// that finished after one that never ran (none does, but nothing is
    /// kept back for it).
    fn leftover(&mut self) -> Option<Finished> {
        let (_, result) = self.waiting.pop_first()?;
        Some(result)
    }
}

/// The consuming end of the results channel.
pub(crate) struct Taker {
    results: Receiver<Finished>,
    tracker: Arc<Tracker>,
    scheduler: crossbeam_channel::Sender<ToScheduler>,
    order: Option<Reorder>,
}

impl Taker {
    /// Takes from `results`; in input order when `admitted` is given.
    pub fn new(
        results: Receiver<Finished>,
        tracker: Arc<Tracker>,
        scheduler: crossbeam_channel::Sender<ToScheduler>,
        admitted: Option<Arc<Admitted>>,
    ) -> Taker {
        Taker {
            results,
            tracker,
            scheduler,
            order: admitted.map(|admitted| Reorder {
                admitted,
                waiting: BTreeMap::new(),
            }),
        }
    }

    /// The next result, waiting for it; `None` once every result is taken.
    pub fn next(&mut self) -> Option<Finished> {
        self.take(true)
    }

    /// The next result if one is ready now.
    pub fn try_next(&mut self) -> Option<Finished> {
        self.take(false)
    }

    /// Whether results go out in input order.
    pub fn in_input_order(&self) -> bool {
        self.order.is_some()
    }

    /// Whether no result is ready to be handed out now.
    pub fn caught_up(&self) -> bool {
        if !self.results.is_empty() {
            return false;
        }
        self.order.as_ref().is_none_or(|order| {
            let admitted = order.admitted.lock();
            admitted
                .front()
                .is_none_or(|next| !order.waiting.contains_key(next))
        })
    }

    fn take(&mut self, wait: bool) -> Option<Finished> {
        let receive = |results: &Receiver<Finished>| {
            if wait {
                next_result(results)
            } else {
                results.try_recv().ok()
            }
        };
        let result = match &mut self.order {
            None => receive(&self.results)?,
            Some(order) => loop {
                if let Some(result) = order.next_in_line() {
                    break result;
                }
                match receive(&self.results) {
                    Some(result) => {
                        order.waiting.insert(index_of(&result), result);
                    }
                    None if wait => break order.leftover()?,
                    None => return None,
                }
            },
        };
        self.tracker.release();
        if self.tracker.all_done() {
            let _ = self.scheduler.send(ToScheduler::Check);
        }
        Some(result)
    }
}

/// The input index of a finished job.
pub(crate) fn index_of(result: &Finished) -> u64 {
    match result {
        Ok(response) => response.index(),
        Err(failure) => failure.index(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::failure::{Failure, FailureKind};
    use crate::job::Job;

    /// A taker in input order over a channel of `capacity`, with the
    /// indexes `noted` admitted (one permit each).
    struct Setup {
        taker: Taker,
        results: async_channel::Sender<Finished>,
        tracker: Arc<Tracker>,
    }

    fn in_input_order(noted: impl IntoIterator<Item = u64>) -> Setup {
        let tracker = Arc::new(Tracker::new(64));
        let admitted = Arc::new(Admitted::default());
        for index in noted {
            tracker.admit();
            admitted.note(index);
        }
        let (results, results_rx) = async_channel::bounded(64);
        let (scheduler, _) = crossbeam_channel::unbounded();
        let taker = Taker::new(results_rx, Arc::clone(&tracker), scheduler, Some(admitted));
        Setup {
            taker,
            results,
            tracker,
        }
    }

    /// The result of job `index`: a failure, the smaller of the two.
    fn failed(index: u64) -> Failure {
        let job = Job::get(format!("http://127.0.0.1/{index}"));
        Failure::new(index, job, FailureKind::Input, "")
    }

    fn ready(taker: &mut Taker) -> Vec<u64> {
        std::iter::from_fn(|| taker.try_next())
            .map(|result| index_of(&result))
            .collect()
    }

    #[test]
    fn hands_out_in_input_order_whatever_the_finish_order() {
        let mut setup = in_input_order(0..6);
        for index in [2, 1, 5] {
            setup.results.send_blocking(Err(failed(index))).unwrap();
        }
        assert_eq!(ready(&mut setup.taker), Vec::<u64>::new());
        assert!(setup.taker.caught_up(), "nothing is next in line");
        setup.results.send_blocking(Err(failed(0))).unwrap();
        assert!(!setup.taker.caught_up());
        assert_eq!(ready(&mut setup.taker), [0, 1, 2]);
        setup.results.send_blocking(Err(failed(3))).unwrap();
        setup.results.send_blocking(Err(failed(4))).unwrap();
        assert_eq!(ready(&mut setup.taker), [3, 4, 5]);
    }

    #[test]
    fn a_result_held_back_keeps_its_permit() {
        let mut setup = in_input_order(0..2);
        setup.tracker.finish_input();
        setup.results.send_blocking(Err(failed(1))).unwrap();
        assert_eq!(ready(&mut setup.taker), Vec::<u64>::new());
        assert!(!setup.tracker.all_done(), "job 1 waits for job 0");
        setup.results.send_blocking(Err(failed(0))).unwrap();
        assert_eq!(ready(&mut setup.taker), [0, 1]);
        assert!(setup.tracker.all_done(), "every permit is back");
    }

    #[test]
    fn indexes_never_noted_are_not_waited_for() {
        let mut setup = in_input_order([1, 4, 7]);
        setup.results.send_blocking(Err(failed(7))).unwrap();
        setup.results.send_blocking(Err(failed(1))).unwrap();
        assert_eq!(ready(&mut setup.taker), [1]);
        setup.results.send_blocking(Err(failed(4))).unwrap();
        assert_eq!(ready(&mut setup.taker), [4, 7]);
    }

    #[test]
    fn what_is_left_when_the_results_end_goes_out_in_order() {
        let Setup {
            mut taker, results, ..
        } = in_input_order(0..4);
        results.send_blocking(Err(failed(3))).unwrap();
        results.send_blocking(Err(failed(1))).unwrap();
        drop(results);
        let left: Vec<u64> = std::iter::from_fn(|| taker.next())
            .map(|result| index_of(&result))
            .collect();
        assert_eq!(left, [1, 3]);
    }
}
