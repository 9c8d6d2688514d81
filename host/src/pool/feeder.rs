//! The feeder: reads the job source as the workers need jobs.
//!
//! It numbers every entry of the source, admits each job (waiting for a
//! permit, so memory stays bounded), and turns each bad entry straight into
//! its failure of kind `input`: bad entries are never sent to a worker.

use std::sync::Arc;

use crossbeam_channel::Sender;

use super::Source;
use super::flow::{Finished, Task, ToScheduler, Tracker};
use crate::failure::{Failure, FailureKind};
use crate::job::Job;

pub(crate) struct Feeder {
    pub source: Source,
    pub jobs: Sender<Task>,
    pub results: Sender<Finished>,
    pub scheduler: Sender<ToScheduler>,
    pub tracker: Arc<Tracker>,
}

impl Feeder {
    pub fn run(self) {
        for (index, entry) in (0u64..).zip(self.source) {
            if self.tracker.is_cancelled() {
                break;
            }
            match entry {
                Ok(job) => {
                    self.tracker.admit();
                    let task = Task {
                        index,
                        job,
                        attempts: 0,
                        started: None,
                    };
                    if self.jobs.send(task).is_err() {
                        self.tracker.release();
                        break;
                    }
                }
                Err(error) => {
                    let failure = Failure {
                        index,
                        job: Job::get(error.text.clone()),
                        kind: FailureKind::Input,
                        message: error.to_string(),
                        attempts: 0,
                        elapsed: Default::default(),
                    };
                    if self.results.send(Err(failure)).is_err() {
                        break;
                    }
                }
            }
        }
        self.tracker.finish_input();
        let _ = self.scheduler.send(ToScheduler::Check);
    }
}
