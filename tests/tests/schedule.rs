//! `run`'s scheduling flags through the binary: `--rate`, `--per-host`,
//! `--shard`, `--resume` (after a clean stop and after SIGKILL).

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tb_host_tests::harness::{self, Scratch, exactly_once, read_records, server, tb_host};

/// `count` URLs under `/fast/<tag>/`.
fn fast_urls(tag: &str, count: usize) -> Vec<String> {
    (0..count)
        .map(|i| server().url(&format!("/fast/{tag}/{i}")))
        .collect()
}

#[test]
fn rate_spaces_requests_over_the_whole_run() {
    let urls = fast_urls("rate", 26);
    let started = Instant::now();
    let run = tb_host(
        &["run", "-j", "8", "--rate", "50", "-"],
        &(urls.join("\n") + "\n"),
    );
    let took = started.elapsed();
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.by_index(26);
    // 26 requests at 50/s: the last may start 25 × 20 ms after the first.
    assert!(took >= Duration::from_millis(500), "took {took:?}");
}

#[test]
fn per_host_caps_requests_in_flight_to_one_host() {
    let urls: Vec<String> = (0..8)
        .map(|i| server().url(&format!("/slow/100?per-host={i}")))
        .collect();
    let started = Instant::now();
    let run = tb_host(
        &["run", "-j", "8", "--per-host", "2", "-"],
        &(urls.join("\n") + "\n"),
    );
    let took = started.elapsed();
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.by_index(8);
    // Eight 100 ms requests, two at a time: at least 400 ms (8 threads
    // without the cap would need about 100 ms).
    assert!(took >= Duration::from_millis(400), "took {took:?}");
}

#[test]
fn a_host_at_its_cap_holds_up_no_other_hosts_jobs() {
    // 30 jobs to a host that answers after 100 ms, one at a time, each
    // before one to another host (the same server as `localhost`) that
    // answers at once. The slow host's jobs wait without holding a worker,
    // so the fast host's are all done while the slow ones still come in.
    let port = server().port();
    let input: String = (0..30)
        .map(|i| {
            let slow = server().url(&format!("/slow/100?cap-apart={i}"));
            format!("{slow}\nhttp://localhost:{port}/echo/cap-apart/{i}\n")
        })
        .collect();
    let run = tb_host(&["run", "-j", "8", "--per-host", "1", "-"], &input);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.by_index(60);
    // Records are written as jobs end.
    let last_fast = run
        .records
        .iter()
        .rposition(|r| {
            r["url"]
                .as_str()
                .is_some_and(|url| url.contains("localhost"))
        })
        .unwrap();
    let slow_before = run.records[..last_fast]
        .iter()
        .filter(|r| r["url"].as_str().is_some_and(|url| url.contains("/slow/")))
        .count();
    // Before, every worker ended up waiting for the slow host's slot: the
    // fast host's jobs came one per slow answer, the last after 29 of them.
    assert!(
        slow_before <= 10,
        "{slow_before} slow jobs ended before the last fast one"
    );
}

#[test]
fn shards_split_one_input_and_keep_its_indexes() {
    let urls = fast_urls("shard", 20);
    let input = urls.join("\n") + "\n";
    let mut all = Vec::new();
    for k in 0..3 {
        let shard = format!("{k}/3");
        let run = tb_host(&["run", "--shard", &shard, "-"], &input);
        assert_eq!(run.code, 0, "{}", run.stderr);
        for record in &run.records {
            let index = record["index"].as_u64().unwrap();
            assert_eq!(index % 3, k, "shard {shard} ran only its jobs");
            assert_eq!(record["url"], urls[index as usize], "whole-input index");
        }
        all.extend(run.records);
    }
    exactly_once(&all, 0..20, "the three shards together");
}

#[test]
fn shard_auto_reads_the_job_completion_index() {
    let urls = fast_urls("shard-auto", 9);
    let mut child = Command::new(harness::binary())
        .args(["run", "--shard", "auto/3", "-"])
        .env("JOB_COMPLETION_INDEX", "2")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), urls.join("\n").as_bytes()).unwrap();
    drop(child.stdin.take());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let indexes: BTreeSet<u64> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["index"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(indexes, BTreeSet::from([2, 5, 8]));

    let missing = tb_host(&["run", "--shard", "auto/3", "-"], &urls[0]);
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("JOB_COMPLETION_INDEX"),
        "{}",
        missing.stderr
    );
}

#[test]
fn resume_needs_an_output_file() {
    let run = tb_host(&["run", "--resume", "-"], "");
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--output"), "{}", run.stderr);
}

#[test]
fn resume_skips_recorded_jobs_and_repairs_a_torn_line() {
    let scratch = Scratch::new("resume-torn");
    let urls = fast_urls("resume-torn", 30);
    let input = scratch.write_lines("urls.txt", &urls);
    let output = scratch.path("out.jsonl");
    let args = [
        "run",
        input.to_str().unwrap(),
        "-o",
        output.to_str().unwrap(),
    ];
    let first = tb_host(&args, "");
    assert_eq!(first.code, 0, "{}", first.stderr);
    // Keep ten whole records and half of the eleventh, as a crash would.
    let text = std::fs::read_to_string(&output).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let kept: BTreeSet<u64> = lines[..10]
        .iter()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["index"]
                .as_u64()
                .unwrap()
        })
        .collect();
    let torn = lines[..10].join("\n") + "\n" + &lines[10][..lines[10].len() / 2];
    std::fs::write(&output, torn).unwrap();

    let mut resumed_args = args.to_vec();
    resumed_args.push("--resume");
    let second = tb_host(&resumed_args, "");
    assert_eq!(second.code, 0, "{}", second.stderr);
    let records = read_records(&output);
    exactly_once(&records, 0..30, "after --resume");
    assert_eq!(records.len(), 30);
    for record in &records[10..] {
        let index = record["index"].as_u64().unwrap();
        assert!(!kept.contains(&index), "job {index} was recorded already");
    }
    assert!(second.stderr.contains("20 jobs"), "{}", second.stderr);
}

#[test]
fn resume_after_sigkills_at_random_moments_ends_with_one_record_per_job() {
    let scratch = Scratch::new("resume-kill");
    let jobs = 50_000;
    let input = scratch.write_lines("urls.txt", &fast_urls("resume-kill", jobs));
    let output = scratch.path("out.jsonl");
    let args = [
        "run",
        "-j",
        "16",
        input.to_str().unwrap(),
        "-o",
        output.to_str().unwrap(),
        "-q",
    ];
    // Where the kills land: after a random number of further bytes of
    // output each time, so they fall at different points of the run (in a
    // record, between records, while resuming), seeded from the clock and
    // shown when the test fails.
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64
        | 1;
    let mut random = seed;
    let mut next = move |below: u64| {
        random ^= random << 13;
        random ^= random >> 7;
        random ^= random << 17;
        random % below
    };
    let mut kills = Vec::new();
    for _ in 0..5 {
        let mut command = Command::new(harness::binary());
        command
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if output.exists() {
            command.arg("--resume");
        }
        let before = std::fs::metadata(&output).map_or(0, |m| m.len());
        // Up to about a sixth of the run's output further on.
        let target = before + 1 + next(jobs as u64 * 20);
        let mut child = command.spawn().unwrap();
        let killed_at = loop {
            let len = std::fs::metadata(&output).map_or(0, |m| m.len());
            if len >= target || child.try_wait().unwrap().is_some() {
                child.kill().unwrap(); // SIGKILL
                break len;
            }
            std::thread::sleep(Duration::from_micros(200));
        };
        child.wait().unwrap();
        kills.push((killed_at, read_records_tolerating_a_torn_line(&output)));
    }
    let context = format!("seed {seed}, kills at (bytes, whole records) {kills:?}");
    let done = read_records_tolerating_a_torn_line(&output);
    assert!(done < jobs, "the kills came before the end; {context}");
    let mut resumed = args.to_vec();
    resumed.push("--resume");
    let last = tb_host(&resumed, "");
    assert_eq!(last.code, 0, "{}; {context}", last.stderr);
    let records = read_records(&output);
    exactly_once(&records, 0..jobs as u64, &context);
}

/// How many whole lines the file holds.
fn read_records_tolerating_a_torn_line(path: &std::path::Path) -> usize {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .split_inclusive('\n')
        .filter(|line| line.ends_with('\n'))
        .count()
}
