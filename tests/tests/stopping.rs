//! How a run stops early, through the real binary: a signal (SIGINT,
//! SIGTERM, SIGQUIT) stops sending at once, also for jobs held by
//! `--rate`, `--per-host` or a retry wait; a job whose retry wait is cut
//! short keeps the response it had; a write that fails (`-o`,
//! `--failures`, `--save-bodies`) stops the run like Ctrl-C, exit status 3;
//! a reader of stdout that stalls cannot keep an interrupted run alive.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tb_host_tests::fixtures;
use tb_host_tests::harness::{self, Run, Running, Scratch, read_records, server, tb_host};

/// `count` URLs `/echo/<key>/<i>`, each recorded by the server on a path
/// of its own.
fn echo_urls(key: &str, count: usize) -> Vec<String> {
    (0..count)
        .map(|i| server().url(&format!("/echo/{key}/{i}")))
        .collect()
}

/// How many requests the server saw to the paths of `urls`.
fn hits(urls: &[String]) -> usize {
    urls.iter()
        .map(|url| server().hits(url.trim_start_matches(&server().base_url())))
        .sum()
}

/// Waits until the server has seen at least `count` requests to `urls`.
fn wait_for_hits(urls: &[String], count: usize) {
    let started = Instant::now();
    while hits(urls) < count {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the server never saw {count} requests"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Every job read has one record; those not sent are `cancelled`.
fn assert_each_job_read_ended_once(run: &Run) {
    let by_index = run.by_index(run.records.len());
    for record in by_index.values() {
        let cancelled = record["error"]["kind"] == "cancelled";
        assert!(
            record["status"].is_u64() || cancelled,
            "fetched or cancelled: {record}"
        );
    }
}

/// Starts a run of 20 jobs held back by `limits`, sends `signal` once the
/// server saw `before` of them, and checks that nothing more is sent, that
/// the run exits at once with 130, and that every job read has a record.
fn stop_while_limited(key: &str, signal: i32, limits: &[&str], urls: &[String], before: usize) {
    let mut args = vec!["run", "-j", "8"];
    args.extend_from_slice(limits);
    args.push("-");
    let running = Running::start(&args, &(urls.join("\n") + "\n"));
    wait_for_hits(urls, before);
    let sent = hits(urls);
    running.signal(signal);
    let (run, took) = running.finish_within(Duration::from_secs(60));
    // Wait past where the limits would have let the next request go.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(hits(urls), sent, "{key}: no request after the signal");
    assert!(
        took < Duration::from_secs(3),
        "{key}: took {took:?} to exit; {}",
        run.stderr
    );
    assert_eq!(run.code, 130, "{}", run.stderr);
    assert_each_job_read_ended_once(&run);
    let cancelled = run
        .records
        .iter()
        .filter(|r| r["error"]["kind"] == "cancelled")
        .count();
    assert!(
        cancelled >= 7,
        "the held jobs end as cancelled: {}",
        run.stdout
    );
}

#[test]
fn ctrl_c_sends_nothing_more_at_the_rate_limit() {
    let urls = echo_urls("stop-rate-int", 20);
    stop_while_limited("rate, SIGINT", libc::SIGINT, &["--rate", "1"], &urls, 2);
}

#[test]
fn sigterm_sends_nothing_more_at_the_rate_limit() {
    let urls = echo_urls("stop-rate-term", 20);
    stop_while_limited("rate, SIGTERM", libc::SIGTERM, &["--rate", "1"], &urls, 2);
}

#[test]
fn sigquit_drains_like_ctrl_c() {
    let urls = echo_urls("stop-rate-quit", 20);
    stop_while_limited("rate, SIGQUIT", libc::SIGQUIT, &["--rate", "1"], &urls, 2);
}

#[test]
fn ctrl_c_sends_nothing_more_past_the_per_host_cap() {
    // One slow request in flight at a time; the others wait for its slot.
    let urls: Vec<String> = (0..20)
        .map(|i| server().url(&format!("/slow/1201?stop-per-host={i}")))
        .collect();
    let args = ["run", "-j", "8", "--per-host", "1", "-"];
    let running = Running::start(&args, &(urls.join("\n") + "\n"));
    let path = "/slow/1201";
    let started = Instant::now();
    while server().hits(path) < 1 {
        assert!(started.elapsed() < Duration::from_secs(30));
        std::thread::sleep(Duration::from_millis(5));
    }
    running.signal(libc::SIGINT);
    let (run, took) = running.finish_within(Duration::from_secs(60));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        server().hits(path),
        1,
        "only the request in flight was sent"
    );
    assert!(
        took < Duration::from_secs(4),
        "took {took:?}; {}",
        run.stderr
    );
    assert_eq!(run.code, 130, "{}", run.stderr);
    assert_each_job_read_ended_once(&run);
    let fetched: Vec<&Value> = run.records.iter().filter(|r| r["status"] == 200).collect();
    assert_eq!(fetched.len(), 1, "the request in flight finished");
}

/// `run` with retry-backoff (and `extra` flags) on `urls`, stdin open.
fn start_with_retries(extra: &[&str], urls: &[String]) -> Running {
    let mut args = vec!["run", "--plugin", fixtures::RETRY_BACKOFF];
    args.extend_from_slice(extra);
    args.push("-");
    Running::start(&args, &(urls.join("\n") + "\n"))
}

#[test]
fn a_cancelled_retry_wait_keeps_its_429() {
    // 429 with Retry-After: 30; the retry waits in the scheduler.
    let path = "/retry-after/stop-retry-wait/30";
    let running = start_with_retries(&["-j", "2"], &[server().url(path)]);
    let started = Instant::now();
    while server().hits(path) < 1 {
        assert!(started.elapsed() < Duration::from_secs(30));
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(200));
    running.signal(libc::SIGINT);
    let (run, took) = running.finish_within(Duration::from_secs(60));
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert_eq!(run.code, 130, "{}", run.stderr);
    let record = run.by_index(1)[&0];
    assert_eq!(record["status"], 429, "the response it had: {record}");
    assert_eq!(record["attempts"], 1);
    assert!(record["error"].is_null(), "{record}");
    assert_eq!(server().hits(path), 1);
}

#[test]
fn a_retry_held_by_the_rate_limit_keeps_its_429_when_stopped() {
    // The first job takes the one slot of the first five seconds; its 429
    // says retry at once, and the retry waits for the rate's next slot.
    let path = "/retry-after/stop-retry-rate/0";
    let running = start_with_retries(&["--rate", "0.2", "-j", "1"], &[server().url(path)]);
    let started = Instant::now();
    while server().hits(path) < 1 {
        assert!(started.elapsed() < Duration::from_secs(30));
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(300));
    running.signal(libc::SIGTERM);
    let (run, _) = running.finish_within(Duration::from_secs(60));
    assert_eq!(run.code, 130, "{}", run.stderr);
    let record = run.by_index(1)[&0];
    assert_eq!(record["status"], 429, "{record}");
    assert_eq!(record["attempts"], 1, "{record}");
    assert_eq!(server().hits(path), 1, "the retry was not sent");
}

#[test]
fn a_retry_after_of_two_days_ends_the_job_with_its_429() {
    let path = "/retry-after/stop-two-days/172800";
    let run = tb_host(
        &["run", "--plugin", fixtures::RETRY_BACKOFF],
        &server().url(path),
    );
    assert_eq!(run.code, 0, "a response, not a failure: {}", run.stderr);
    let record = run.by_index(1)[&0];
    assert_eq!(record["status"], 429, "{record}");
    assert_eq!(record["attempts"], 1);
    assert!(record["error"].is_null(), "{record}");
}

/// On a terminal, while a retry waits two hours, the time left shown is
/// hours, not `0s` (the run is stopped with SIGINT after three seconds).
/// The 429 pauses its origin: `--max-pause` lets the run wait for it.
#[test]
fn the_progress_bar_counts_a_waiting_retry_in_the_time_left() {
    let scratch = Scratch::new("stop-eta");
    let urls = [
        server().url("/fast/stop-eta"),
        server().url("/retry-after/stop-eta/7200"),
    ];
    let input = scratch.write_lines("urls.txt", &urls);
    let command = format!(
        "timeout -s INT 3 {} run -j 2 --max-pause 10800 --plugin {} -o /dev/null {}",
        harness::binary().display(),
        fixtures::RETRY_BACKOFF,
        input.display()
    );
    let output = harness::on_a_terminal(&command);
    let shown = String::from_utf8_lossy(&output.stdout);
    assert!(shown.contains("1/2"), "one of two done: {shown:?}");
    // Before anything ended, 0s is all it can say; once the retry waits,
    // never again.
    let waiting = shown
        .split('\r')
        .filter(|frame| frame.contains("retry waiting"));
    assert!(
        waiting.clone().all(|frame| !frame.contains("ETA 0s")),
        "{shown:?}"
    );
    assert!(
        shown.contains("ETA 2h") || shown.contains("ETA 1h"),
        "the wait is in the time left: {shown:?}"
    );
    assert!(shown.contains("1 retry waiting"), "{shown:?}");
}

/// The command line the hint at the end of a stopped run names: the
/// run's own, with `--resume`.
fn assert_resume_hint(run: &Run) {
    assert!(
        run.stderr
            .lines()
            .any(|line| line.contains(" run ") && line.trim_end().ends_with("--resume")),
        "the --resume command is shown: {}",
        run.stderr
    );
}

#[test]
fn a_full_output_file_stops_the_run_with_status_3_and_says_how_to_resume() {
    let scratch = Scratch::new("stop-full-output");
    let urls: Vec<String> = (0..300)
        .map(|i| server().url(&format!("/fast/stop-full-output/{i}")))
        .collect();
    let input = scratch.write_lines("urls.txt", &urls);
    let run = tb_host(
        &["run", "-j", "2", input.to_str().unwrap(), "-o", "/dev/full"],
        "",
    );
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("/dev/full") && run.stderr.contains("No space left on device"),
        "names the file and the error: {}",
        run.stderr
    );
    assert!(
        harness::summary_jobs(&run.stderr).is_some(),
        "{}",
        run.stderr
    );
    assert_resume_hint(&run);
}

#[test]
fn a_full_failures_file_stops_the_run_and_keeps_no_record_of_what_it_lost() {
    let scratch = Scratch::new("stop-full-failures");
    let output = scratch.path("out.jsonl");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let refused: Vec<String> = (0..50)
        .map(|i| format!("http://127.0.0.1:{port}/{i}"))
        .collect();
    let input = scratch.write_lines("urls.txt", &refused);
    let run = tb_host(
        &[
            "run",
            "-j",
            "1",
            input.to_str().unwrap(),
            "-o",
            output.to_str().unwrap(),
            "--failures",
            "/dev/full",
        ],
        "",
    );
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("failures file /dev/full"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("No space left on device"),
        "{}",
        run.stderr
    );
    // A failed job not in the failures file has no record either, so
    // --resume runs it again rather than lose it.
    assert_eq!(read_records(&output), Vec::<Value>::new());
    assert_resume_hint(&run);
}

/// A tmpfs of `kib` KiB mounted on `dir`, unmounted when dropped.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    /// None when this machine does not let the tests mount one (not root).
    fn mount(dir: std::path::PathBuf, kib: u32) -> Option<Tmpfs> {
        std::fs::create_dir_all(&dir).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={kib}k"), "tmpfs"])
            .arg(&dir)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        mounted.then_some(Tmpfs(dir))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_under_save_bodies_fails_the_job_as_save_and_stops_the_run() {
    let scratch = Scratch::new("stop-full-bodies");
    let Some(disk) = Tmpfs::mount(scratch.path("bodies"), 64) else {
        eprintln!("skipped: cannot mount a tmpfs here (needs root)");
        return;
    };
    let urls: Vec<String> = (0..20)
        .map(|i| server().url(&format!("/bytes/20000?stop-full-bodies={i}")))
        .collect();
    let input = scratch.write_lines("urls.txt", &urls);
    let output = scratch.path("out.jsonl");
    let run = tb_host(
        &[
            "run",
            "-j",
            "1",
            input.to_str().unwrap(),
            "-o",
            output.to_str().unwrap(),
            "--save-bodies",
            disk.0.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(run.code, 3, "{}", run.stderr);
    let records = read_records(&output);
    let saved = records.iter().filter(|r| r["status"] == 200).count();
    let failed: Vec<&Value> = records
        .iter()
        .filter(|r| r["error"]["kind"] == "save")
        .collect();
    assert!(saved >= 1, "some bodies fit: {records:?}");
    assert_eq!(failed.len(), 1, "one body did not fit: {records:?}");
    let message = failed[0]["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(disk.0.to_str().unwrap()) && message.contains("No space left"),
        "{message}"
    );
    assert!(
        run.stderr.contains("No space left on device"),
        "{}",
        run.stderr
    );
    // The run stopped: with one worker, no job after the failed one was
    // sent.
    assert!(records.len() < urls.len(), "{records:?}");
    assert_eq!(
        server().hits("/bytes/20000"),
        saved + 1,
        "nothing sent after the failure"
    );
    assert_resume_hint(&run);
}

#[test]
fn ctrl_c_ends_a_run_whose_stdout_reader_stalled() {
    // Enough records to fill the pipe, which nobody reads.
    let urls: Vec<String> = (0..3000)
        .map(|i| server().url(&format!("/fast/stop-stalled/{i}")))
        .collect();
    let running = Running::start_stalled(&["run", "-j", "4", "-"], &(urls.join("\n") + "\n"));
    std::thread::sleep(Duration::from_millis(1500));
    running.signal(libc::SIGINT);
    let (run, took) = running.finish_within(Duration::from_secs(30));
    assert_eq!(run.code, 130, "{}", run.stderr);
    assert!(took < Duration::from_secs(15), "took {took:?}");
    assert!(run.stderr.contains("stdout"), "{}", run.stderr);
}
