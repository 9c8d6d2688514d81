//! `tb-host run` as an operator uses it: input files, stdin, bad lines,
//! the failures file, headers and methods, exit statuses.

use std::time::Duration;

use tb_host_tests::harness::{self, Running, Scratch, read_records, server, tb_host};

#[test]
fn reads_a_url_file_and_writes_one_record_per_job() {
    let scratch = Scratch::new("url-file");
    let urls: Vec<String> = (0..50)
        .map(|i| server().url(&format!("/fast/file/{i}")))
        .collect();
    let mut lines = vec!["# a comment".to_owned(), String::new()];
    lines.extend(urls.iter().cloned());
    let input = scratch.write_lines("urls.txt", &lines);
    let output = scratch.path("out.jsonl");
    let failures = scratch.path("failures.jsonl");
    let run = tb_host(
        &[
            "run",
            input.to_str().unwrap(),
            "--output",
            output.to_str().unwrap(),
            "--failures",
            failures.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.is_empty(), "records went to --output");
    assert_eq!(
        std::fs::read_to_string(&failures).unwrap(),
        "",
        "no job failed: the failures file is empty"
    );
    let written = std::fs::read_to_string(&output).unwrap();
    let records: Vec<serde_json::Value> = written
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 50);
    for record in &records {
        let index = record["index"].as_u64().unwrap() as usize;
        assert_eq!(
            record["url"], urls[index],
            "index is the position among jobs"
        );
        assert_eq!(record["method"], "GET");
        assert_eq!(record["status"], 200);
        assert_eq!(record["attempts"], 1);
        assert_eq!(record["bytes"], 3);
        assert!(record["elapsed_ms"].as_f64().unwrap() >= 0.0);
        assert!(record["error"].is_null());
    }
    assert!(run.stderr.contains("50 jobs"), "summary: {}", run.stderr);
}

#[test]
fn bad_input_lines_fail_with_their_line_numbers_and_the_run_goes_on() {
    let input = [
        server().url("/fast/bad-input/0"),
        "not a url".to_owned(),
        String::new(),
        "ftp://127.0.0.1/file".to_owned(),
        server().url("/fast/bad-input/1"),
    ]
    .join("\n");
    let run = tb_host(&["run", "-"], &input);
    assert_eq!(run.code, 1);
    let records = run.by_index(4);
    assert_eq!(records[&0]["status"], 200);
    assert_eq!(records[&1]["error"]["kind"], "input");
    assert!(
        records[&1]["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("line 2:")
    );
    assert_eq!(records[&2]["error"]["kind"], "input");
    assert!(
        records[&2]["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("line 4:")
    );
    assert_eq!(records[&2]["attempts"], 0, "a bad line is never sent");
    assert_eq!(records[&3]["status"], 200);
}

#[test]
fn method_and_headers_reach_the_server() {
    let path = "/echo/cli-method";
    let run = tb_host(
        &[
            "run",
            "-X",
            "put",
            "-H",
            "X-One: 1",
            "--header",
            "X-Two:two",
        ],
        &server().url(path),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.by_index(1)[&0]["method"], "PUT");
    let seen = server().requests_to(path);
    assert_eq!(seen[0].method, "PUT");
    assert_eq!(seen[0].header("x-one"), Some("1"));
    assert_eq!(seen[0].header("x-two"), Some("two"));
}

#[test]
fn timeout_fails_a_slow_request() {
    let run = tb_host(&["run", "--timeout", "0.2"], &server().url("/slow/2000"));
    assert_eq!(run.code, 1);
    assert_eq!(run.by_index(1)[&0]["error"]["kind"], "timeout");
}

#[test]
fn usage_errors_exit_with_two() {
    let zero = tb_host(&["run", "--threads", "0"], "");
    assert_eq!(zero.code, 2);
    assert!(zero.stderr.contains("--threads"), "{}", zero.stderr);

    let missing = tb_host(&["run", "/no/such/urls.txt"], "");
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("/no/such/urls.txt"),
        "{}",
        missing.stderr
    );

    let bad_header = tb_host(&["run", "-H", "no colon here"], "");
    assert_eq!(bad_header.code, 2);
}

#[test]
fn empty_input_is_a_successful_run_of_no_jobs() {
    let run = tb_host(&["run"], "\n# nothing\n");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.records.is_empty());
    assert!(run.stderr.contains("0 jobs"), "{}", run.stderr);
}

#[test]
fn demo_fetches_through_the_bundled_plugins() {
    let run = tb_host(&["demo", "--urls", "300", "--threads", "4"], "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("300 jobs"), "{}", run.stderr);
    assert!(
        run.stderr.contains("6 retries"),
        "each flaky URL retried once: {}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("12 carried the bearer token, 12 the session header"),
        "{}",
        run.stderr
    );
    // Each plugin is given only its own keys: nothing to warn about.
    assert!(!run.stderr.contains("WARN"), "{}", run.stderr);
}

/// Starts a run on an open stdin, sends `signal` (named `name`) once two
/// records are out, and checks the documented stop: exit 130, every job
/// read recorded exactly once, the jobs not sent recorded as `cancelled`
/// and listed in the failures file.
fn interrupted_run(signal: i32, name: &str) {
    let scratch = Scratch::new(&format!("signal-{name}"));
    let failures = scratch.path("failures.jsonl");
    let input: String = (0..40)
        .map(|i| server().url(&format!("/slow/50?signal-{name}={i}")) + "\n")
        .collect();
    // stdin stays open: tb-host is blocked reading it when the signal comes.
    let running = Running::start(
        &[
            "run",
            "--threads",
            "2",
            "--failures",
            failures.to_str().unwrap(),
            "-",
        ],
        &input,
    );
    running.wait_for_stdout_lines(2, Duration::from_secs(30));
    running.signal(signal);
    let (run, _) = running.finish_within(Duration::from_secs(30));
    assert_eq!(run.code, 130, "{}", run.stderr);
    assert!(run.stderr.contains("interrupted"), "{}", run.stderr);
    // Every line read before the signal (the pool reads only as far ahead
    // as its workers need) ends exactly once: some fetched, the rest
    // cancelled.
    let by_index = run.by_index(run.records.len());
    let mut cancelled: Vec<&str> = by_index
        .values()
        .filter(|r| r["error"]["kind"] == "cancelled")
        .map(|r| r["url"].as_str().unwrap())
        .collect();
    assert!(
        !cancelled.is_empty(),
        "some jobs had not started: {}",
        run.stdout
    );
    let listed = read_records(&failures);
    let mut listed: Vec<&str> = listed
        .iter()
        .map(|job| job["url"].as_str().unwrap())
        .collect();
    listed.sort_unstable();
    cancelled.sort_unstable();
    assert_eq!(listed, cancelled, "--failures lists the cancelled jobs");
}

#[test]
fn ctrl_c_finishes_every_job_read_and_exits_130() {
    interrupted_run(libc::SIGINT, "INT");
}

#[test]
fn sigterm_stops_like_ctrl_c() {
    interrupted_run(libc::SIGTERM, "TERM");
}

#[test]
fn every_command_has_help_with_examples() {
    for command in [
        &["run"][..],
        &["demo"],
        &["plugin"],
        &["plugin", "inspect"],
        &["plugin", "new"],
        &["completions"],
    ] {
        let output = std::process::Command::new(harness::binary())
            .args(command)
            .arg("--help")
            .output()
            .unwrap();
        let help = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{command:?} --help");
        assert!(help.contains("Examples:"), "{command:?} --help:\n{help}");
    }
}

/// On a terminal (here a pseudo-terminal made by `script`), `run` draws a
/// progress bar with done/total and an ETA, and clears it for the summary.
#[test]
fn a_progress_bar_is_drawn_on_a_terminal() {
    let scratch = Scratch::new("progress");
    let urls: Vec<String> = (0..40)
        .map(|i| server().url(&format!("/slow/40?progress={i}")))
        .collect();
    let input = scratch.write_lines("urls.txt", &urls);
    let command = format!(
        "{} run -j 2 -o /dev/null {}",
        harness::binary().display(),
        input.display()
    );
    let output = harness::on_a_terminal(&command);
    let shown = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{shown}");
    assert!(shown.contains("/40"), "done/total drawn: {shown:?}");
    assert!(shown.contains("ETA"), "{shown:?}");
    assert!(shown.contains("40 jobs"), "the summary follows: {shown:?}");

    // Not a terminal: no bar at all.
    let piped = tb_host(&["run", "-j", "2", input.to_str().unwrap()], "");
    assert!(!piped.stderr.contains("ETA"), "{}", piped.stderr);
}
