//! The signals that ask a run to stop: SIGINT (Ctrl-C), SIGTERM (a
//! supervisor's stop), SIGHUP (the terminal went away) and SIGQUIT
//! (Ctrl-\). All four are taken alike, as a request to stop and drain (see
//! `run::drive`); SIGQUIT's own default, a core dump without a drain, would
//! lose the records of the requests in flight.
//!
//! A signal handler may do almost nothing safely, so it only writes the
//! signal's number to a pipe; a thread of its own reads the pipe and calls
//! the run's handler with the signal.

use std::fmt;
use std::io;

/// A signal that asks the run to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT: Ctrl-C.
    Interrupt,
    /// SIGTERM.
    Terminate,
    /// SIGHUP.
    Hangup,
    /// SIGQUIT: Ctrl-\.
    Quit,
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Signal::Interrupt => "SIGINT (Ctrl-C)",
            Signal::Terminate => "SIGTERM",
            Signal::Hangup => "SIGHUP",
            Signal::Quit => "SIGQUIT",
        })
    }
}

/// From now on, calls `handler` with every stop signal that arrives, one at
/// a time, on a thread of its own. Call it once per process.
#[cfg(unix)]
pub fn on_stop(mut handler: impl FnMut(Signal) + Send + 'static) -> io::Result<()> {
    use std::io::Read;

    let mut pipe = unix::install()?;
    std::thread::Builder::new()
        .name("tb-signals".into())
        .spawn(move || {
            let mut number = [0u8];
            while pipe.read_exact(&mut number).is_ok() {
                if let Some(signal) = unix::signal(number[0]) {
                    handler(signal);
                }
            }
        })?;
    Ok(())
}

/// From now on, calls `handler` with every Ctrl-C, on a thread of its own.
/// Call it once per process.
#[cfg(not(unix))]
pub fn on_stop(mut handler: impl FnMut(Signal) + Send + 'static) -> io::Result<()> {
    ctrlc::set_handler(move || handler(Signal::Interrupt)).map_err(io::Error::other)
}

#[cfg(unix)]
mod unix {
    use std::fs::File;
    use std::io;
    use std::os::fd::FromRawFd;
    use std::sync::atomic::{AtomicI32, Ordering};

    use super::Signal;

    /// The pipe's end the handler writes to.
    static NOTED: AtomicI32 = AtomicI32::new(-1);

    /// Every signal taken, and what it is.
    const TAKEN: [(libc::c_int, Signal); 4] = [
        (libc::SIGINT, Signal::Interrupt),
        (libc::SIGTERM, Signal::Terminate),
        (libc::SIGHUP, Signal::Hangup),
        (libc::SIGQUIT, Signal::Quit),
    ];

    /// The signal whose number is `number`, if it is one taken.
    pub fn signal(number: u8) -> Option<Signal> {
        TAKEN
            .iter()
            .find(|(taken, _)| *taken == libc::c_int::from(number))
            .map(|(_, signal)| *signal)
    }

    /// The handler: writes the signal's number to the pipe, which is all
    /// a handler may safely do. The write end does not block, so a pipe
    /// full of unread signals drops the newest rather than hang.
    extern "C" fn note(number: libc::c_int) {
        let byte = number as u8;
        // SAFETY: `write` is async-signal-safe; the byte outlives the call.
        unsafe {
            libc::write(NOTED.load(Ordering::Relaxed), (&raw const byte).cast(), 1);
        }
    }

    /// Makes the pipe, installs the handler for every signal taken, and
    /// returns the pipe's end to read.
    pub fn install() -> io::Result<File> {
        let mut ends = [0; 2];
        // SAFETY: `ends` has room for the two descriptors `pipe` writes.
        if unsafe { libc::pipe(ends.as_mut_ptr()) } != 0 {
            return Err(io::Error::last_os_error());
        }
        let [read, write] = ends;
        // SAFETY: `pipe` just made `read`, and nothing else owns it.
        let reader = unsafe { File::from_raw_fd(read) };
        for end in ends {
            // SAFETY: plain `fcntl`s on descriptors this function owns.
            unsafe { libc::fcntl(end, libc::F_SETFD, libc::FD_CLOEXEC) };
        }
        // SAFETY: as above.
        unsafe { libc::fcntl(write, libc::F_SETFL, libc::O_NONBLOCK) };
        NOTED.store(write, Ordering::Relaxed);
        for (number, _) in TAKEN {
            // SAFETY: a zeroed `sigaction` is valid; it is filled in before
            // use, and `note` does only async-signal-safe work.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = note as *const () as libc::sighandler_t;
                action.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut action.sa_mask);
                if libc::sigaction(number, &action, std::ptr::null_mut()) != 0 {
                    return Err(io::Error::last_os_error());
                }
            }
        }
        Ok(reader)
    }
}
