//! What a retry policy may ask of the host beyond its hook: a retry budget
//! shared by every worker, the first bytes of response bodies, and which
//! statuses it is asked about (`plugin-info` in `wit/plugin.wit`), through
//! the real binary and the retry-backoff plugin.

use tb_host_tests::fixtures;
use tb_host_tests::harness::{Run, binary, server, tb_host};

/// `tb-host run -j 4` with retry-backoff configured by `config` pairs, on
/// `urls` given on stdin. No breaker: these servers fail every job on
/// purpose, and what is counted is the retries the plugin asks for.
fn run_with_retries(config: &[&str], urls: &[String]) -> Run {
    let mut args = vec!["run", "--threads", "4", "--breaker", "0"];
    args.extend(["--plugin", fixtures::RETRY_BACKOFF]);
    for pair in ["base-ms=1", "max-ms=2"].iter().chain(config) {
        args.extend(["--plugin-config", pair]);
    }
    tb_host(&args, &(urls.join("\n") + "\n"))
}

/// Attempts over all records.
fn attempts(run: &Run, jobs: usize) -> u64 {
    run.by_index(jobs)
        .values()
        .map(|record| record["attempts"].as_u64().unwrap())
        .sum()
}

#[test]
fn a_spent_budget_stops_retries_on_every_worker() {
    let urls: Vec<String> = (0..40)
        .map(|i| server().url(&format!("/flaky/budget-fixed-{i}/100/503")))
        .collect();
    let run = run_with_retries(&["budget-tokens=5", "budget-ratio=0"], &urls);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Without a budget: 40 jobs * 4 attempts. With 5 tokens and no refill,
    // the four workers together retry five times.
    assert_eq!(attempts(&run, 40), 45, "{}", run.stderr);
    let hits: usize = urls
        .iter()
        .map(|url| server().hits(url.trim_start_matches(&server().base_url())))
        .sum();
    assert_eq!(hits, 45, "the server saw each attempt once");
}

#[test]
fn ending_jobs_earn_retries_back() {
    let failing: Vec<String> = (0..30)
        .map(|i| server().url(&format!("/flaky/budget-refill-{i}/100/503")))
        .collect();
    let run = run_with_retries(&["budget-tokens=2", "budget-ratio=0.5"], &failing);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let retries = attempts(&run, 30) - 30;
    // Two tokens to start with, and half a token for each of the 30 jobs
    // that end: never more than 17 retries, and the refill grants some.
    assert!((3..=17).contains(&retries), "{retries} retries");

    let off = run_with_retries(
        &["budget-tokens=0"],
        &[server().url("/flaky/budget-off/100/503")],
    );
    assert_eq!(attempts(&off, 1), 4, "no budget: every attempt allowed");
}

#[test]
fn a_body_that_says_slow_down_is_retried_whatever_its_status() {
    let path = "/busy/body-retry/2";
    let run = run_with_retries(&["body-contains=slow down"], &[server().url(path)]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let records = run.by_index(1);
    assert_eq!(records[&0]["status"], 200);
    assert_eq!(records[&0]["attempts"], 3, "two busy answers, then ok");
    assert_eq!(server().hits(path), 3);

    let path = "/busy/body-ignored/2";
    let run = run_with_retries(&[], &[server().url(path)]);
    assert_eq!(run.by_index(1)[&0]["attempts"], 1, "not asked to look");
}

#[test]
fn inspect_says_what_decide_retry_is_asked_about() {
    let inspect = std::process::Command::new(binary())
        .args(["plugin", "inspect", fixtures::RETRY_BACKOFF])
        .args(["--plugin-config", "statuses=429,503"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&inspect.stdout);
    assert!(inspect.status.success(), "{stdout}");
    assert!(
        stdout.contains("failures and statuses 429, 503; retry budget of 100 tokens, 0.2 per job"),
        "{stdout}"
    );
}
