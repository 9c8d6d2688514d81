//! The peak memory and the CPU time of one run of the binary: how a test
//! checks that the host kept its memory and its CPU bounded, whatever a
//! plugin did.
//!
//! The kernel keeps each process's peak resident set size and CPU time and
//! hands them to the parent that reaps it (`wait4`'s `rusage`); reading
//! them there is exact, costs nothing while the run goes, and needs no
//! other tool.

use std::io::{Read, Write};
use std::thread;
use std::time::Duration;

use crate::harness::{Run, piped};

/// What one run of the binary used.
#[derive(Clone, Copy, Debug)]
pub struct Usage {
    /// Its peak resident set size, in MiB.
    pub peak_mib: f64,
    /// Its CPU time, user and system, all its threads.
    pub cpu: Duration,
}

/// Runs `tb-host` with `args`, feeding `stdin`, like
/// [`crate::harness::tb_host()`] (and held to the same exactly-once check);
/// also returns its peak resident set size in MiB.
pub fn tb_host_peak(args: &[&str], stdin: &str) -> (Run, f64) {
    let (run, usage) = tb_host_usage(args, stdin);
    (run, usage.peak_mib)
}

/// Like [`tb_host_peak`], returning all of what the run used.
#[allow(
    clippy::zombie_processes,
    reason = "reaped by `wait4` below, which std's `wait` would not let us call"
)]
pub fn tb_host_usage(args: &[&str], stdin: &str) -> (Run, Usage) {
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
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec.unsigned_abs())
            + Duration::from_micros(t.tv_usec.unsigned_abs())
    };
    let usage = Usage {
        // Linux gives `ru_maxrss` in KiB.
        peak_mib: usage.ru_maxrss as f64 / 1024.0,
        cpu: time(usage.ru_utime) + time(usage.ru_stime),
    };
    (run, usage)
}
