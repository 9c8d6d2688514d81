//! The progress bar of `tb-host run`, on stderr: jobs done (of the total,
//! once known), rate, failures so far and, with a total, the time left.
//!
//! It is shown only when stderr is a terminal and the run is not
//! `--quiet`; otherwise nothing of it is written, so stderr holds only log
//! lines and the summary. Everything else written to stderr while the bar
//! is up goes through [`suspend`] (the log, through
//! [`super::logging::LogWriter`]), which clears the bar, writes, and draws
//! it again, so lines never mix with it. The bar is cleared when the
//! [`Progress`] is dropped, before the summary.

use std::fs::File;
use std::io::{self, BufReader, IsTerminal};
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::input::Format;
use crate::{Failure, RequestDefaults, Response};

/// The bar on screen, for [`suspend`].
static SHOWN: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// How often the bar is redrawn when no job finishes, so the rate and the
/// time left stay current while slow jobs run.
const TICK: Duration = Duration::from_millis(250);

/// Without a total: a spinner, jobs done, rate, failures.
const COUNTING: &str = "{spinner} {human_pos} jobs  {per_sec:0}  {msg}  {elapsed}";

/// With a total: a bar, jobs done of the total, rate, failures, time left.
const OF_TOTAL: &str = "{wide_bar} {human_pos}/{human_len}  {per_sec:0}  {msg}  ETA {eta}";

/// A run's progress: counts finished jobs onto the bar, if one is shown.
pub struct Progress {
    bar: Option<ProgressBar>,
    failures: u64,
}

impl Progress {
    /// No bar (`tb-host demo`).
    pub fn hidden() -> Progress {
        Progress {
            bar: None,
            failures: 0,
        }
    }

    /// A bar on stderr if `wanted` and stderr is a terminal. When `count`
    /// names the input file and its format, its jobs are counted on a
    /// thread of their own, and the bar shows the total and the time left
    /// once they are.
    pub fn start(wanted: bool, count: Option<(PathBuf, Format)>) -> Progress {
        if !(wanted && io::stderr().is_terminal()) {
            return Progress::hidden();
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(style(COUNTING));
        bar.set_message("0 failed");
        bar.enable_steady_tick(TICK);
        if let Some((path, format)) = count {
            let bar = bar.clone();
            let counting = std::thread::Builder::new()
                .name("tb-count-input".into())
                .spawn(move || {
                    if let Ok(file) = File::open(&path) {
                        let jobs = format.jobs(BufReader::new(file), RequestDefaults::default());
                        bar.set_length(jobs.count() as u64);
                        bar.set_style(style(OF_TOTAL));
                    }
                });
            if let Err(error) = counting {
                tracing::debug!("the progress bar goes without a total: {error}");
            }
        }
        *SHOWN.lock().unwrap_or_else(PoisonError::into_inner) = Some(bar.clone());
        Progress {
            bar: Some(bar),
            failures: 0,
        }
    }

    /// Counts one finished job.
    pub fn add(&mut self, result: &Result<Response, Failure>) {
        let Some(bar) = &self.bar else { return };
        if result.is_err() {
            self.failures += 1;
            bar.set_message(format!("{} failed", self.failures));
        }
        bar.inc(1);
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            SHOWN.lock().unwrap_or_else(PoisonError::into_inner).take();
            bar.finish_and_clear();
        }
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).expect("the templates are valid")
}

/// Runs `write`, which writes to stderr, with the progress bar (if one is
/// shown) cleared for the time being.
pub fn suspend<R>(write: impl FnOnce() -> R) -> R {
    let shown = SHOWN.lock().unwrap_or_else(PoisonError::into_inner).clone();
    match shown {
        Some(bar) => bar.suspend(write),
        None => write(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_templates_parse() {
        for template in [COUNTING, OF_TOTAL] {
            assert!(ProgressStyle::with_template(template).is_ok(), "{template}");
        }
    }
}
