//! The progress bar of `tb-host run`, on stderr: jobs done (of the total,
//! once known), rate, failures so far, retries waiting for their time and,
//! with a total, the time left: at least until the last retry waiting is
//! due, however fast the other jobs went.
//!
//! It is shown only when stderr is a terminal and the run is not
//! `--quiet`; otherwise nothing of it is written, so stderr holds only log
//! lines and the summary. Everything else written to stderr while the bar
//! is up goes through [`suspend`] (the log, through
//! [`super::logging::LogWriter`]), which clears the bar, writes, and draws
//! it again, so lines never mix with it. The bar is cleared when the
//! [`Progress`] is dropped, before the summary.

use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, IsTerminal};
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use indicatif::{HumanDuration, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use tb_host::input::Format;
use tb_host::{Failure, FailureKind, RequestDefaults, Response, RetryWaits};

/// The bar on screen, for [`suspend`].
static SHOWN: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// How often the bar is redrawn when no job finishes, so the rate and the
/// time left stay current while slow jobs run.
const TICK: Duration = Duration::from_millis(250);

/// Without a total: a spinner, jobs done, rate, failures, retries waiting.
const COUNTING: &str = "{spinner} {human_pos} jobs  {per_sec:0}  {msg}{waits}  {elapsed}";

/// With a total: a bar, jobs done of the total, rate, failures, retries
/// waiting, time left.
const OF_TOTAL: &str = "{wide_bar} {human_pos}/{human_len}  {per_sec:0}  {msg}{waits}  ETA {left}";

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

    /// A bar on stderr if `wanted` and stderr is a terminal, showing the
    /// retries `waits` tells of. When `count` names the input file and its
    /// format, its jobs are counted on a thread of their own, and the bar
    /// shows the total and the time left once they are.
    pub fn start(wanted: bool, count: Option<(PathBuf, Format)>, waits: RetryWaits) -> Progress {
        if !(wanted && io::stderr().is_terminal()) {
            return Progress::hidden();
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(style(COUNTING, &waits));
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
                        bar.set_style(style(OF_TOTAL, &waits));
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
        if result
            .as_ref()
            .is_err_and(|failure| failure.kind() != FailureKind::Retry)
        {
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

/// The bar's look: `template`, with `{waits}` the retries waiting and the
/// origins paused or broken that `waits` tells of, and `{left}` the time
/// left.
fn style(template: &str, waits: &RetryWaits) -> ProgressStyle {
    let (for_waits, for_left) = (waits.clone(), waits.clone());
    ProgressStyle::with_template(template)
        .expect("the templates are valid")
        .with_key(
            "waits",
            move |_: &ProgressState, out: &mut dyn fmt::Write| {
                if let Some((count, _)) = for_waits.now() {
                    let retries = if count == 1 { "retry" } else { "retries" };
                    let _ = write!(out, ", {count} {retries} waiting");
                }
                for (what, origins) in [
                    ("paused", for_waits.paused_origins()),
                    ("broken", for_waits.broken_origins()),
                ] {
                    let _ = match origins.as_slice() {
                        [] => Ok(()),
                        [origin] => write!(out, ", {what}: {origin}"),
                        [origin, more @ ..] => {
                            write!(out, ", {what}: {origin} and {} more", more.len())
                        }
                    };
                }
            },
        )
        .with_key(
            "left",
            move |state: &ProgressState, out: &mut dyn fmt::Write| {
                let _ = write!(out, "{:#}", HumanDuration(time_left(state, &for_left)));
            },
        )
}

/// The time left: the rate's estimate for the jobs not done, or longer
/// while a retry waits past it.
fn time_left(state: &ProgressState, waits: &RetryWaits) -> Duration {
    let until_last_retry = waits
        .now()
        .map(|(_, last)| last.saturating_duration_since(Instant::now()))
        .unwrap_or_default();
    state.eta().max(until_last_retry)
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
