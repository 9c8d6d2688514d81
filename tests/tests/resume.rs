//! `--resume` through the binary, after each way a run can stop (Ctrl-C,
//! `kill -9`, a torn or damaged file): every job ends with exactly one
//! record that is not `cancelled`, `--failures` holds exactly the failures
//! of `-o`, and a resume that would not continue the same work is refused
//! before anything is touched.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tb_host_tests::harness::{self, Scratch, exactly_once, read_records, server, tb_host};
use tb_host_tests::peak::tb_host_peak;

/// `count` URLs under `/fast/<key>/`.
fn fast_urls(key: &str, count: usize) -> Vec<String> {
    (0..count)
        .map(|i| server().url(&format!("/fast/{key}/{i}")))
        .collect()
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// `run` with `args`, then `-o output` (and the input last), as strings.
fn run_args<'a>(args: &[&'a str], output: &'a Path, input: &'a Path) -> Vec<&'a str> {
    let mut all = vec!["run", "-q"];
    all.extend_from_slice(args);
    all.extend(["-o", path_str(output), path_str(input)]);
    all
}

/// Starts `tb-host` with `args`, its output not kept.
fn start(args: &[&str]) -> Child {
    Command::new(harness::binary())
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Waits until `path` holds at least `lines` whole lines.
fn wait_for_lines(path: &Path, lines: usize) {
    let started = Instant::now();
    while std::fs::read_to_string(path).map_or(0, |text| text.matches('\n').count()) < lines {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{} never reached {lines} lines",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The lines of a failures file, each parsed: panics on one that is not
/// JSON (a torn line, or two glued together).
fn failure_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?}")))
        .collect()
}

/// The URLs of `values`' `url` fields, sorted.
fn sorted_urls<'a>(values: impl IntoIterator<Item = &'a Value>) -> Vec<String> {
    let mut urls: Vec<String> = values
        .into_iter()
        .map(|v| v["url"].as_str().unwrap().to_owned())
        .collect();
    urls.sort_unstable();
    urls
}

#[test]
fn ctrl_c_then_resume_runs_the_cancelled_jobs_once_each() {
    let scratch = Scratch::new("resume-ctrl-c");
    let jobs = 20;
    let urls: Vec<String> = (0..jobs)
        .map(|i| server().url(&format!("/slow/50?resume-ctrl-c={i}")))
        .collect();
    let input = scratch.write_lines("urls.txt", &urls);
    let output = scratch.path("out.jsonl");
    let failures = scratch.path("failed.jsonl");
    let args = run_args(
        &["-j", "2", "--failures", path_str(&failures)],
        &output,
        &input,
    );
    let mut child = start(&args);
    wait_for_lines(&output, 2);
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: a signal to our own child, not yet reaped.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    assert_eq!(child.wait().unwrap().code(), Some(130));
    let stopped = read_records(&output);
    let cancelled = stopped
        .iter()
        .filter(|r| r["error"]["kind"] == "cancelled")
        .count();
    assert!(cancelled > 0, "some jobs were cancelled: {stopped:?}");

    let mut resumed = args.clone();
    resumed.push("--resume");
    let run = tb_host(&resumed, "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let records = read_records(&output);
    let by_index = exactly_once(&records, 0..jobs as u64, "after Ctrl-C and --resume");
    for (index, record) in by_index {
        assert_eq!(record["status"], 200, "job {index}: {record}");
        assert_eq!(record["url"], urls[index as usize].as_str());
    }
    assert_eq!(
        std::fs::read_to_string(&failures).unwrap(),
        "",
        "no job failed for good"
    );
}

#[test]
fn kill_9_then_resume_leaves_failures_with_exactly_the_failures_of_the_output() {
    let scratch = Scratch::new("resume-kill-failures");
    let jobs = 300;
    let urls: Vec<String> = (0..jobs)
        .map(|i| match i % 3 {
            0 => harness::refused_url(&format!("/refused/{i}")),
            _ => server().url(&format!("/slow/20?resume-kill-failures={i}")),
        })
        .collect();
    let input = scratch.write_lines("urls.txt", &urls);
    let output = scratch.path("out.jsonl");
    let failures = scratch.path("failed.jsonl");
    let args = run_args(
        &["-j", "4", "--failures", path_str(&failures)],
        &output,
        &input,
    );
    let mut child = start(&args);
    wait_for_lines(&output, 40);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // What a kill leaves in the failures file, at its worst: lines behind
    // the output's, and the last one torn.
    std::fs::write(&failures, "{\"method\":\"GET\",\"url\":\"http://127.0").unwrap();

    let mut resumed = args.clone();
    resumed.push("--resume");
    let run = tb_host(&resumed, "");
    assert_eq!(run.code, 1, "some jobs fail: {}", run.stderr);
    let records = read_records(&output);
    exactly_once(&records, 0..jobs as u64, "after kill -9 and --resume");
    let failed = records.iter().filter(|r| !r["error"].is_null());
    assert_eq!(
        sorted_urls(&failure_lines(&failures)),
        sorted_urls(failed),
        "--failures holds one line per failure record of -o"
    );
}

#[test]
fn resume_refuses_a_reordered_input_naming_the_line_and_touches_nothing() {
    let scratch = Scratch::new("resume-reordered");
    let mut urls = fast_urls("resume-reordered", 10);
    let input = scratch.write_lines("urls.txt", &urls);
    let output = scratch.path("out.jsonl");
    let args = run_args(&[], &output, &input);
    assert_eq!(tb_host(&args, "").code, 0);
    let written = std::fs::read_to_string(&output).unwrap();
    urls.reverse();
    scratch.write_lines("urls.txt", &urls);
    // Job 0's record is the first found to be of another job.
    let line = 1 + written
        .lines()
        .position(|line| line.starts_with("{\"index\":0,"))
        .unwrap();

    let mut resumed = args.clone();
    resumed.push("--resume");
    let run = tb_host(&resumed, "");
    assert_eq!(run.code, 2, "{}", run.stderr);
    let named = format!("line {line} is a record of job 0, GET {}", urls[9]);
    assert!(run.stderr.contains(&named), "{named}: {}", run.stderr);
    assert!(run.stderr.contains("without --resume"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&output).unwrap(), written);
}

#[test]
fn resume_refuses_another_shard_naming_the_line_and_touches_nothing() {
    let scratch = Scratch::new("resume-shard");
    let input = scratch.write_lines("urls.txt", &fast_urls("resume-shard", 10));
    let output = scratch.path("out.jsonl");
    assert_eq!(
        tb_host(&run_args(&["--shard", "0/2"], &output, &input), "").code,
        0
    );
    let written = std::fs::read_to_string(&output).unwrap();
    let run = tb_host(
        &run_args(&["--shard", "1/2", "--resume"], &output, &input),
        "",
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("line 1 is a record of job") && run.stderr.contains("--shard 1/2"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read_to_string(&output).unwrap(), written);
}

#[test]
fn resume_keeps_a_one_line_file_and_adds_its_newline() {
    let scratch = Scratch::new("resume-one-line");
    let urls = fast_urls("resume-one-line", 3);
    let input = scratch.write_lines("urls.txt", &urls);
    let output = scratch.path("out.jsonl");
    // A whole record whose newline never reached the disk.
    let kept = format!(
        "{{\"index\":1,\"method\":\"GET\",\"url\":\"{}\",\"status\":200,\"attempts\":1,\
         \"elapsed_ms\":12345.6,\"bytes\":3,\"sha256\":null,\"error\":null}}",
        urls[1]
    );
    std::fs::write(&output, &kept).unwrap();
    let run = tb_host(&run_args(&["--resume"], &output, &input), "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let text = std::fs::read_to_string(&output).unwrap();
    assert!(text.starts_with(&(kept + "\n")), "{text}");
    exactly_once(&read_records(&output), 0..3, &text);
}

#[test]
fn resume_names_a_hole_of_nul_bytes_and_what_to_do() {
    let scratch = Scratch::new("resume-nul");
    let urls = fast_urls("resume-nul", 3);
    let input = scratch.write_lines("urls.txt", &urls);
    let output = scratch.path("out.jsonl");
    assert_eq!(tb_host(&run_args(&[], &output, &input), "").code, 0);
    // A log rotation that truncated the file in place, while the run went
    // on writing past the old end, from the middle of a record.
    let written = std::fs::read(&output).unwrap();
    let mut holed = vec![0; 4096];
    holed.extend_from_slice(&written[written.iter().position(|&b| b == b'\n').unwrap() / 2..]);
    std::fs::write(&output, &holed).unwrap();
    let run = tb_host(&run_args(&["--resume"], &output, &input), "");
    assert_eq!(run.code, 2, "{}", run.stderr);
    for said in [path_str(&output), "4096 NUL bytes at byte 0", "tr -d"] {
        assert!(run.stderr.contains(said), "{said}: {}", run.stderr);
    }
    assert_eq!(std::fs::read(&output).unwrap(), holed);
    // What the message says to do works.
    let (_, fix) = run.stderr.split_once('`').unwrap();
    let (fix, _) = fix.split_once('`').unwrap();
    let fixed = Command::new("sh").args(["-c", fix]).status().unwrap();
    assert!(fixed.success(), "{fix}");
    let fixed = PathBuf::from(format!("{}.fixed", output.display()));
    let run = tb_host(&run_args(&["--resume"], &fixed, &input), "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    exactly_once(&read_records(&fixed), 0..3, &run.stderr);
}

#[test]
fn resume_refuses_an_index_beyond_the_input_quickly_in_little_memory() {
    let scratch = Scratch::new("resume-huge-index");
    let urls = fast_urls("resume-huge-index", 3);
    let input = scratch.write_lines("urls.txt", &urls);
    let output: PathBuf = scratch.path("out.jsonl");
    for index in ["4000000000", "18446744073709551615"] {
        let record = format!(
            "{{\"index\":{index},\"method\":\"GET\",\"url\":\"{}\",\"error\":null}}\n",
            urls[0]
        );
        std::fs::write(&output, &record).unwrap();
        let started = Instant::now();
        let (run, peak_mib) = tb_host_peak(&run_args(&["--resume"], &output, &input), "");
        let took = started.elapsed();
        assert_eq!(run.code, 2, "{}", run.stderr);
        let named = format!("line 1 is a record of job {index}, but");
        assert!(run.stderr.contains(&named), "{named}: {}", run.stderr);
        assert!(run.stderr.contains("only jobs 0 to 2"), "{}", run.stderr);
        assert!(peak_mib < 100.0, "peak {peak_mib:.0} MiB for one record");
        assert!(took < Duration::from_secs(10), "took {took:?}");
        assert_eq!(std::fs::read_to_string(&output).unwrap(), record);
    }
}

#[test]
fn resume_from_stdin_is_refused_once_there_are_records() {
    let scratch = Scratch::new("resume-stdin");
    let urls = fast_urls("resume-stdin", 3).join("\n");
    let output = scratch.path("out.jsonl");
    let out = path_str(&output);
    // With no records yet there is nothing to check: it runs.
    let first = tb_host(&["run", "-q", "-o", out, "--resume", "-"], &urls);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let written = std::fs::read_to_string(&output).unwrap();
    let again = tb_host(&["run", "-q", "-o", out, "--resume", "-"], &urls);
    assert_eq!(again.code, 2, "{}", again.stderr);
    assert!(again.stderr.contains("not stdin"), "{}", again.stderr);
    assert_eq!(std::fs::read_to_string(&output).unwrap(), written);
}
