//! Stopping a run before its input is done, and saying why: a signal
//! (Ctrl-C, SIGTERM, SIGHUP, SIGQUIT) or a file the run writes that fails
//! a write (`-o`, `--failures`, `--save-bodies` on a full disk). Either way
//! the pool is cancelled: the requests in flight finish, nothing more is
//! sent, and every job read gets its record. The summary then ends with the
//! reason and the command that runs what is left (`--resume`), and the exit
//! status tells the two apart: 130 for a signal, 3 for a write.
//!
//! Once the run is stopping, a second signal ends the process at once, and
//! so does an output that takes nothing for a while (see [`super::stall`]).

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use super::signals::Signal;
use super::stall::{self, Activity};
use super::{Interrupted, WriteFailed, progress};
use tb_host::Canceller;

/// The exit status of a run stopped by a signal, as shells expect of
/// Ctrl-C.
const SIGNALLED: i32 = 130;

/// The exit status of a run stopped because a write failed.
const WRITE_FAILED: i32 = 3;

/// Stops a run, from any thread, and remembers why.
#[derive(Clone)]
pub struct Stopper {
    shared: Arc<Shared>,
}

struct Shared {
    canceller: Canceller,
    unsent: Unsent,
    /// The run's files, watched for a stall once it stops.
    files: Vec<Arc<Activity>>,
    why: Mutex<Why>,
}

/// What becomes of the jobs a stopped run has not sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unsent {
    /// They end as failures of kind `cancelled`, run again by `--resume`.
    Cancelled,
    /// They go back to the run's queue (`run --queue`), for another
    /// process to take at once: they get no record here.
    HandedBack,
}

impl Unsent {
    /// What happens to them, after "jobs not yet sent".
    fn will(self) -> &'static str {
        match self {
            Unsent::Cancelled => "end as cancelled",
            Unsent::HandedBack => "go back to the queue at once, for other processes",
        }
    }

    /// What happened to them, after "the jobs not yet sent".
    fn did(self) -> &'static str {
        match self {
            Unsent::Cancelled => "are recorded as cancelled",
            Unsent::HandedBack => "were handed back to the queue",
        }
    }
}

/// What stopped the run so far.
#[derive(Default)]
struct Why {
    signal: Option<Signal>,
    writes: Vec<String>,
    watching: bool,
}

impl Stopper {
    /// Stops the run of `canceller`, whose unsent jobs become what
    /// `unsent` says; once stopping, watches `files`.
    pub fn new(canceller: Canceller, unsent: Unsent, files: Vec<Arc<Activity>>) -> Stopper {
        Stopper {
            shared: Arc::new(Shared {
                canceller,
                unsent,
                files,
                why: Mutex::new(Why::default()),
            }),
        }
    }

    /// Stops the run on `signal`; a second signal ends the process at once.
    /// Messages clear the progress bar first.
    pub fn signal(&self, signal: Signal) {
        let mut why = self.why();
        if why.signal.is_some() {
            progress::suspend(|| {
                eprintln!("tb-host: stopped by {signal}");
                std::process::exit(SIGNALLED)
            });
        }
        why.signal = Some(signal);
        progress::suspend(|| {
            eprintln!(
                "tb-host: interrupted by {signal}: finishing the requests in flight; jobs not \
                 yet sent {} (a second signal stops at once)",
                self.shared.unsent.will()
            )
        });
        self.stop(&mut why);
    }

    /// Stops the run because a write failed; `message` names the file and
    /// the error.
    pub fn write_failed(&self, message: String) {
        let mut why = self.why();
        progress::suspend(|| {
            eprintln!(
                "tb-host: {message}; stopping: finishing the requests in flight; jobs not yet \
                 sent {}",
                self.shared.unsent.will()
            )
        });
        why.writes.push(message);
        self.stop(&mut why);
    }

    /// Why the run stopped, if it did; `resume` is the command that runs
    /// what is left, when there is one.
    pub fn stopped(&self, resume: Option<String>) -> Option<Stopped> {
        let why = self.why();
        (why.signal.is_some() || !why.writes.is_empty()).then(|| Stopped {
            signal: why.signal,
            unsent: self.shared.unsent,
            writes: why.writes.clone(),
            resume,
        })
    }

    fn stop(&self, why: &mut Why) {
        self.shared.canceller.cancel();
        if !why.watching {
            why.watching = true;
            let status = if why.writes.is_empty() {
                SIGNALLED
            } else {
                WRITE_FAILED
            };
            stall::watch(self.shared.files.clone(), status);
        }
    }

    fn why(&self) -> std::sync::MutexGuard<'_, Why> {
        self.shared
            .why
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Why a run stopped early, as its summary ends.
#[derive(Clone, Debug)]
pub struct Stopped {
    /// The signal that stopped it, if one did.
    signal: Option<Signal>,
    /// What became of the jobs not sent.
    unsent: Unsent,
    /// The writes that failed, each naming its file and the error.
    writes: Vec<String>,
    /// The command that runs what is left.
    resume: Option<String>,
}

impl Stopped {
    /// The exit status: a failed write (3) over a signal (130).
    pub fn outcome(&self) -> anyhow::Error {
        if self.writes.is_empty() {
            Interrupted.into()
        } else {
            WriteFailed.into()
        }
    }
}

impl fmt::Display for Stopped {
    /// One line per reason, then the command that runs what is left.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut lines: Vec<String> = self
            .writes
            .iter()
            .map(|write| format!("  stopped:  {write}"))
            .collect();
        if let Some(signal) = self.signal {
            lines.push(format!(
                "  stopped:  interrupted by {signal}; the jobs not yet sent {}",
                self.unsent.did()
            ));
        }
        if let Some(command) = &self.resume {
            lines.push(format!("  to run what is left: {command}"));
        }
        f.write_str(&lines.join("\n"))
    }
}

/// The command line of this process with `--resume` added (unless it has
/// it), each argument quoted for a POSIX shell where it needs to be.
pub fn resume_command() -> String {
    let mut args: Vec<String> = std::env::args_os()
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect();
    if !args.iter().any(|arg| arg == "--resume") {
        args.push("--resume".to_owned());
    }
    let quoted: Vec<String> = args.iter().map(|arg| shell_quoted(arg)).collect();
    quoted.join(" ")
}

/// `arg` as a POSIX shell reads it back: as it is when it holds only
/// characters no shell treats specially, else in single quotes.
fn shell_quoted(arg: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c);
    if !arg.is_empty() && arg.chars().all(plain) {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_quoted_only_when_a_shell_would_change_them() {
        assert_eq!(shell_quoted("out.jsonl"), "out.jsonl");
        assert_eq!(shell_quoted("--rate=1.5"), "--rate=1.5");
        assert_eq!(shell_quoted("X-A: 1"), "'X-A: 1'");
        assert_eq!(shell_quoted("it's"), r"'it'\''s'");
        assert_eq!(shell_quoted(""), "''");
    }
}
