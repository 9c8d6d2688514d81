//! The open-file limit (`ulimit -n`): the real binary, started under a low
//! `RLIMIT_NOFILE`, raises its soft limit to fit `-j` and runs every job,
//! or refuses at start when even the hard limit is too low.
#![cfg(unix)]

use std::process::Command;

use tb_host_tests::harness::{Run, server, tb_host_with};

/// The workers of every run here: far more than a soft limit of 64 holds.
const WORKERS: &str = "500";

/// Runs `tb-host` with `args` and `stdin` under an open-file limit of
/// `soft` and `hard`, set in the child before it runs the binary.
fn under_limit(soft: u64, hard: u64, args: &[&str], stdin: &str) -> Run {
    let (_, now) = limits();
    assert!(
        hard <= now,
        "the test lowers the hard limit ({now}) to {hard}, it cannot raise it"
    );
    tb_host_with(args, stdin, |command: &mut Command| {
        use std::os::unix::process::CommandExt;
        let limit = libc::rlimit {
            rlim_cur: soft,
            rlim_max: hard,
        };
        // SAFETY: the closure runs between fork and exec and calls only
        // setrlimit, which is async-signal-safe, on a struct it owns.
        unsafe {
            command.pre_exec(move || {
                if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    })
}

/// The soft and hard open-file limits of this process.
fn limits() -> (u64, u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes to the struct it is given.
    assert_eq!(
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
        0
    );
    (limit.rlim_cur, limit.rlim_max)
}

#[test]
fn a_soft_limit_below_j_is_raised_and_every_job_runs() {
    let path = "/slow/400";
    let input: String = (0..500).map(|_| server().url(path) + "\n").collect();
    let run = under_limit(64, 4096, &["run", "-v", "-j", WORKERS], &input);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("raised the open-file limit (ulimit -n) from 64 to "),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("for -j 500 (the hard limit is 4096)"),
        "{}",
        run.stderr
    );
    for (index, record) in run.by_index(500) {
        assert_eq!(record["status"], 200, "job {index}: {record}");
    }
    assert_eq!(server().hits(path), 500, "every job reached the server");
}

#[test]
fn a_hard_limit_below_j_is_refused_at_start_naming_ulimit() {
    let path = "/echo/open-files/refused";
    let run = under_limit(
        64,
        64,
        &["run", "-j", WORKERS],
        &(server().url(path) + "\n"),
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.records.is_empty(), "{}", run.stdout);
    let message = run.stderr.trim_end();
    assert!(
        message.starts_with("tb-host: -j 500 needs about "),
        "{message}"
    );
    assert!(
        message.contains(" open files, but this process may open only 64 (the hard limit); "),
        "{message}"
    );
    assert!(message.contains("`ulimit -n "), "{message}");
    assert_eq!(message.lines().count(), 1, "one line: {message}");
    assert!(server().requests_to(path).is_empty(), "nothing ran");
}

#[test]
fn the_demo_is_refused_under_the_same_limit() {
    let run = under_limit(64, 64, &["demo", "-j", WORKERS, "--urls", "10"], "");
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.starts_with("tb-host: -j 500 needs about "),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("`ulimit -n "), "{}", run.stderr);
}
