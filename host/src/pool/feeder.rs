//! The feeder: reads the job source as the workers need jobs.
//!
//! It numbers every entry of the source and admits each (waiting for a
//! permit, so memory stays bounded). A bad entry goes to the workers marked
//! rejected, and a worker ends it as a failure of kind `input` without
//! sending anything: every result comes from a worker.

use std::sync::Arc;

use super::flow::{Task, ToScheduler, Tracker, send_task};
use super::{Selector, Source};

pub(crate) struct Feeder {
    pub source: Source,
    pub select: Option<Selector>,
    pub jobs: async_channel::Sender<Task>,
    pub scheduler: crossbeam_channel::Sender<ToScheduler>,
    pub tracker: Arc<Tracker>,
}

impl Feeder {
    pub fn run(self) {
        for (index, entry) in (0u64..).zip(self.source) {
            if self.tracker.is_cancelled() {
                break;
            }
            if self.select.as_ref().is_some_and(|keep| !keep(index)) {
                continue;
            }
            self.tracker.admit();
            // Checked again with the permit held: the scheduler cannot see
            // the run over between here and the send.
            if self.tracker.is_cancelled() {
                self.tracker.release();
                break;
            }
            let (job, rejected) = match entry {
                Ok(job) => (job, None),
                Err(error) => (error.job(), Some(error.to_string())),
            };
            let task = Task {
                index,
                job,
                attempts: 0,
                started: None,
                rejected,
                last: None,
            };
            if !send_task(&self.jobs, task) {
                self.tracker.release();
                break;
            }
        }
        self.tracker.finish_input();
        let _ = self.scheduler.send(ToScheduler::Check);
    }
}
