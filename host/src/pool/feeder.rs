//! The feeder: reads the job source as the workers need jobs.
//!
//! It numbers every entry of the source and admits each (waiting for a
//! permit, so memory stays bounded). A bad entry goes to the workers as
//! [`Entry::Ended`] (the source made it a failure of kind `input`), and a
//! worker hands it out without sending anything: every result comes from a worker.

use std::sync::Arc;

use super::flow::{Entry, Task, ToScheduler, Tracker, send_entry};
use super::taker::Admitted;
use super::{Numbered, Selector, Source};

pub(crate) struct Feeder {
    pub source: Source,
    pub select: Option<Selector>,
    pub jobs: async_channel::Sender<Entry>,
    pub scheduler: crossbeam_channel::Sender<ToScheduler>,
    pub tracker: Arc<Tracker>,
    /// Where admitted indexes are noted, in input order: only for results
    /// in input order.
    pub admitted: Option<Arc<Admitted>>,
}

impl Feeder {
    pub fn run(self) {
        for Numbered {
            index,
            entry,
            attempts,
        } in self.source
        {
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
            let entry = match entry {
                Ok(job) => Entry::Job(Task {
                    index,
                    job,
                    attempts,
                    started: None,
                    last: None,
                }),
                Err(failure) => Entry::Ended(failure),
            };
            if let Some(admitted) = &self.admitted {
                admitted.note(index);
            }
            if !send_entry(&self.jobs, entry) {
                if let Some(admitted) = &self.admitted {
                    admitted.unnote_last();
                }
                self.tracker.release();
                break;
            }
        }
        self.tracker.finish_input();
        let _ = self.scheduler.send(ToScheduler::Check);
    }
}
