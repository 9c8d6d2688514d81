//! Many workers in little memory: the real binary with 5,000 workers, each
//! with its connection to the loopback server, its session and an instance
//! of both example plugins, stays under a memory ceiling, and what a worker
//! adds to a run stays small (a leak per worker would show in both).
#![cfg(unix)]

use tb_host_tests::fixtures;
use tb_host_tests::harness::server;
use tb_host_tests::peak::tb_host_peak;

/// The workers of the wide run.
const WIDE: usize = 5_000;
/// The workers of the run it is compared with.
const NARROW: usize = 500;
/// The jobs of each run: two for each worker of the wide run, so that all
/// of them open their connection and instantiate their plugins.
const JOBS: usize = 2 * WIDE;

/// The most the wide run may hold at its peak, in MiB: measured
/// (2026-12-01, debug build) 464 MiB with glibc's allocator, 494 MiB with
/// jemalloc, and about half as much again for a busy machine.
const CEILING_MIB: f64 = 700.0;
/// The most memory one worker may add to a run, in KiB: its connection,
/// session, future and two plugin stores (one instantiated: retry-backoff
/// is only called about failures). Measured 85 to 90 KiB; a leak of half as
/// much again per worker fails here even while the run is under
/// [`CEILING_MIB`].
const WORKER_KIB: f64 = 128.0;

/// Raises this process's open-file limit to its hard limit: the loopback
/// server here holds one socket per worker of the wide run.
fn raise_open_files() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit read and write the struct given.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        limit.rlim_cur = limit.rlim_max;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
    }
    assert!(
        limit.rlim_max >= 2 * WIDE as u64 + 1_000,
        "the hard open-file limit ({}) is too low for {WIDE} connections \
         on both ends: raise it (ulimit -Hn)",
        limit.rlim_max
    );
}

/// Runs the jobs on `workers` workers with bearer-auth and retry-backoff;
/// checks that every job got its 200 and returns the run's peak RSS in MiB.
fn peak_of(workers: usize, input: &str) -> f64 {
    let workers = workers.to_string();
    let args = [
        "run",
        "-j",
        &workers,
        "--plugin",
        fixtures::BEARER_AUTH,
        "--plugin",
        fixtures::RETRY_BACKOFF,
        "--plugin-config",
        "bearer_auth:token=wide",
    ];
    let (run, peak_mib) = tb_host_peak(&args, input);
    // The records first: a failure's own message says more than the code.
    for (index, record) in run.by_index(JOBS) {
        assert_eq!(record["status"], 200, "job {index}: {record}");
    }
    assert_eq!(run.code, 0, "{}", run.stderr);
    eprintln!("-j {workers}: {JOBS} jobs, peak {peak_mib:.1} MiB");
    peak_mib
}

#[test]
fn five_thousand_workers_stay_under_a_memory_ceiling() {
    raise_open_files();
    let input: String = (0..JOBS)
        .map(|i| server().url(&format!("/slow/50?wide={i}")) + "\n")
        .collect();
    let narrow = peak_of(NARROW, &input);
    let wide = peak_of(WIDE, &input);
    let per_worker_kib = (wide - narrow) * 1024.0 / (WIDE - NARROW) as f64;
    eprintln!("{per_worker_kib:.1} KiB per worker");
    assert!(
        wide < CEILING_MIB,
        "-j {WIDE} peaked at {wide:.1} MiB, over the ceiling of {CEILING_MIB} MiB"
    );
    assert!(
        per_worker_kib < WORKER_KIB,
        "each worker added {per_worker_kib:.1} KiB ({narrow:.1} MiB at -j {NARROW}, \
         {wide:.1} MiB at -j {WIDE}): more than {WORKER_KIB} KiB"
    );
}
