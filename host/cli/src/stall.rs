//! Stalled output: a run that is stopping must end even if what reads its
//! output does not read any more.
//!
//! Records are written on the run's main thread. When stdout is a pipe
//! whose reader stopped reading (`tb-host run | slow-consumer` that hangs),
//! a write blocks there for good, the drain after Ctrl-C never ends, and
//! only a second Ctrl-C would end the process. So every write of the run's
//! files goes through [`Watched`], which notes when it began; once the run
//! is stopping, [`watch`] ends the process if a write has not returned for
//! [`GRACE`]. A slow reader that still reads is not stalled: each write
//! that returns starts the clock again.

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use super::progress;

/// How long one write may block, once the run is stopping, before the
/// process gives up on its output.
pub const GRACE: Duration = Duration::from_secs(5);

/// How often [`watch`] looks.
const LOOK_EVERY: Duration = Duration::from_millis(100);

/// One file's writes in progress, as [`watch`] sees them.
pub struct Activity {
    /// The file, as messages name it: "stdout", "the output file out.jsonl".
    name: String,
    /// When the write in progress began, in milliseconds after [`epoch`],
    /// plus one; 0 when no write is in progress.
    since: AtomicU64,
}

impl Activity {
    /// When the write in progress began, if one is.
    fn blocked_since(&self) -> Option<Instant> {
        match self.since.load(Ordering::SeqCst) {
            0 => None,
            since => Some(epoch() + Duration::from_millis(since - 1)),
        }
    }
}

/// The instant the times of [`Activity`] count from.
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// A writer whose writes [`watch`] can see blocked.
pub struct Watched<W> {
    inner: W,
    activity: Arc<Activity>,
}

impl<W: Write> Watched<W> {
    /// Watches the writes of `inner`, the file messages call `name`.
    pub fn new(inner: W, name: String) -> Watched<W> {
        epoch();
        Watched {
            inner,
            activity: Arc::new(Activity {
                name,
                since: AtomicU64::new(0),
            }),
        }
    }

    /// What [`watch`] looks at.
    pub fn activity(&self) -> Arc<Activity> {
        Arc::clone(&self.activity)
    }

    /// The file, as messages name it.
    pub fn name(&self) -> &str {
        &self.activity.name
    }

    /// The writer watched.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// Runs `write` on the inner writer, noting while it runs.
    fn noted<T>(&mut self, write: impl FnOnce(&mut W) -> T) -> T {
        let began = u64::try_from(epoch().elapsed().as_millis()).unwrap_or(u64::MAX - 1) + 1;
        self.activity.since.store(began, Ordering::SeqCst);
        let done = write(&mut self.inner);
        self.activity.since.store(0, Ordering::SeqCst);
        done
    }
}

impl<W: Write> Write for Watched<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.noted(|inner| inner.write(buf))
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.noted(|inner| inner.write_all(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.noted(|inner| inner.flush())
    }
}

/// Starts watching `files` on a thread of its own: once one of them has
/// had a write blocked for [`GRACE`] (counted from now at the earliest),
/// says so and ends the process with `status`. For a run that is stopping.
pub fn watch(files: Vec<Arc<Activity>>, status: i32) {
    let stopping = Instant::now();
    let watching = std::thread::Builder::new()
        .name("tb-stall-watch".into())
        .spawn(move || {
            loop {
                std::thread::sleep(LOOK_EVERY);
                let stalled = files.iter().find(|file| {
                    file.blocked_since()
                        .is_some_and(|since| since.max(stopping).elapsed() >= GRACE)
                });
                if let Some(stalled) = stalled {
                    progress::suspend(|| {
                        eprintln!(
                            "tb-host: stopped: {} took nothing for {} s while the run was \
                             stopping (is its reader stalled?); the records not written are lost",
                            stalled.name,
                            GRACE.as_secs()
                        );
                        std::process::exit(status)
                    });
                }
            }
        });
    if let Err(error) = watching {
        tracing::warn!("cannot watch the output for a stall: {error}");
    }
}
