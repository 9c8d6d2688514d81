//! The peak memory of one run of the binary: how a test checks that the
//! host kept its memory bounded, whatever a plugin did.
//!
//! The kernel keeps each process's peak resident set size and hands it to
//! the parent that reaps it (`wait4`'s `ru_maxrss`); reading it there is
//! exact, costs nothing while the run goes, and needs no other tool.

use std::io::{Read, Write};
use std::thread;

use crate::harness::{Run, piped};

/// Runs `tb-host` with `args`, feeding `stdin`, like
/// [`crate::harness::tb_host()`] (and held to the same exactly-once check);
/// also returns its peak resident set size in MiB.
#[allow(
    clippy::zombie_processes,
    reason = "reaped by `wait4` below, which std's `wait` would not let us call"
)]
pub fn tb_host_peak(args: &[&str], stdin: &str) -> (Run, f64) {
    let mut child = piped(args).spawn().expect("start tb-host");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut bytes = Vec::new();
            pipe.read_to_end(&mut bytes)
                .expect("read a pipe of tb-host");
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("stdout is piped")));
    let stderr = drain(Box::new(child.stderr.take().expect("stderr is piped")));
    let mut input = child.stdin.take().expect("stdin is piped");
    if let Err(error) = input.write_all(stdin.as_bytes()) {
        assert_eq!(error.kind(), std::io::ErrorKind::BrokenPipe, "{error}");
    }
    drop(input);
    let pid = libc::pid_t::try_from(child.id()).expect("a pid fits pid_t");
    let mut status = 0;
    // SAFETY: `rusage` is plain data that `wait4` fills in; `child` is our
    // own child, not yet reaped (std reaps only in `wait`, never called).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(reaped, pid, "wait4: {}", std::io::Error::last_os_error());
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    let run = Run::parse(
        args,
        code,
        stdout.join().expect("stdout reader"),
        stderr.join().expect("stderr reader"),
    );
    // Linux gives `ru_maxrss` in KiB.
    (run, usage.ru_maxrss as f64 / 1024.0)
}
