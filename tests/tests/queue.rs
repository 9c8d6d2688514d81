//! Many tb-host processes on one queue on a real `redis-server`: every job
//! ends with exactly one record, whoever ran it, however often it was
//! handed out, and whichever process died on the way.

use std::time::{Duration, Instant};

use serde_json::Value;
use tb_host_tests::harness::{
    Run, Running, Scratch, exactly_once, piped, server, summary_jobs, tb_host,
};
use tb_host_tests::redis_server::RedisServer;

/// A queue on a server of its own, with its scratch directory.
struct Setup {
    redis: RedisServer,
    scratch: Scratch,
}

impl Setup {
    fn new(test: &str) -> Setup {
        let scratch = Scratch::new(test);
        let dir = scratch.path("redis");
        std::fs::create_dir_all(&dir).unwrap();
        Setup {
            redis: RedisServer::start(&dir),
            scratch,
        }
    }

    /// Enqueues `urls` on queue `name`; panics unless it succeeds.
    fn enqueue(&self, name: &str, urls: &[String]) {
        let input = self.scratch.write_lines(&format!("{name}.txt"), urls);
        let run = tb_host(
            &["enqueue", &self.redis.queue(name), input.to_str().unwrap()],
            "",
        );
        assert_eq!(run.code, 0, "enqueue: {}", run.stderr);
    }

    /// `tb-host results` of queue `name`: its records, checked to be one
    /// per job of `0..jobs`.
    fn results(&self, name: &str, jobs: u64) -> Vec<Value> {
        let run = tb_host(&["results", &self.redis.queue(name)], "");
        assert_eq!(run.code, 0, "results: {}", run.stderr);
        exactly_once(&run.records, 0..jobs, &run.stderr);
        run.records
    }

    /// Waits until `ready` holds, at most 20 s.
    fn wait_for(&self, what: &str, ready: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !ready() {
            assert!(Instant::now() < deadline, "waited too long for {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A process taking the jobs of queue `name`.
fn worker(setup: &Setup, name: &str, extra: &[&str]) -> Running {
    let queue = setup.redis.queue(name);
    let mut args = vec!["run", "--queue", queue.as_str()];
    args.extend_from_slice(extra);
    Running::start_closing_stdin(&args, "")
}

fn finished(running: Running) -> Run {
    running.finish_within(Duration::from_secs(60)).0
}

fn urls(path: &str, jobs: u64) -> Vec<String> {
    (0..jobs)
        .map(|i| server().url(&format!("{path}?job={i}")))
        .collect()
}

/// Every record answered 200, for the URL of its own index.
fn all_answered(records: &[Value]) {
    for record in records {
        let index = record["index"].as_u64().unwrap();
        assert_eq!(record["status"], 200, "{record}");
        let url = record["url"].as_str().unwrap();
        assert!(url.ends_with(&format!("?job={index}")), "{record}");
    }
}

#[test]
fn three_processes_drain_one_queue_and_each_job_is_recorded_once() {
    let setup = Setup::new("queue-three");
    let jobs = 300;
    setup.enqueue("three", &urls("/slow/30", jobs));
    let workers: Vec<Running> = (0..3)
        .map(|_| worker(&setup, "three", &["-j", "4"]))
        .collect();
    let runs: Vec<Run> = workers.into_iter().map(finished).collect();
    let mut ran = 0;
    for run in &runs {
        assert_eq!(run.code, 0, "{}", run.stderr);
        let took = summary_jobs(&run.stderr).unwrap_or(0);
        assert!(took > 0, "every process took some jobs: {}", run.stderr);
        ran += took;
    }
    assert_eq!(ran, jobs, "no job ran twice when no process died");
    all_answered(&setup.results("three", jobs));
    // Not JSON lines: run as a plain command.
    let status = piped(&["status", &setup.redis.queue("three")])
        .output()
        .expect("run tb-host status");
    assert!(status.status.success());
    let shown = String::from_utf8_lossy(&status.stdout);
    for line in [
        "jobs:      300 enqueued (the whole input)",
        "waiting:   0",
        "in flight: 0",
        "recorded:  300 (0 failed; 0 duplicate results dropped)",
    ] {
        assert!(shown.contains(line), "{line:?} in {shown}");
    }
}

#[test]
fn the_jobs_of_a_killed_process_are_taken_over_after_its_lease() {
    let setup = Setup::new("queue-killed");
    let jobs = 40;
    let path = "/slow/300";
    setup.enqueue("killed", &urls(path, jobs));
    let before = server().hits(path);
    let doomed = worker(&setup, "killed", &["-j", "8", "--lease", "1"]);
    setup.wait_for("the doomed process's first requests", || {
        server().hits(path) >= before + 8
    });
    doomed.signal(libc::SIGKILL);
    let killed = finished(doomed);
    assert_ne!(killed.code, 0);
    let heir = finished(worker(&setup, "killed", &["-j", "8", "--lease", "1"]));
    assert_eq!(heir.code, 0, "{}", heir.stderr);
    let records = setup.results("killed", jobs);
    all_answered(&records);
    assert!(
        server().hits(path) >= before + jobs as usize + 8,
        "the 8 jobs in flight in the killed process were sent again"
    );
}

#[test]
fn a_job_delivered_twice_is_recorded_once() {
    let setup = Setup::new("queue-twice");
    let path = "/slow/2500";
    setup.enqueue("twice", &urls(path, 1));
    let before = server().hits(path);
    let frozen = worker(&setup, "twice", &["-j", "1", "--lease", "1"]);
    setup.wait_for("the first delivery's request", || {
        server().hits(path) > before
    });
    frozen.signal(libc::SIGSTOP);
    // Its lease runs out while it is frozen: another process takes the
    // job over, runs it and records it.
    let heir = finished(worker(&setup, "twice", &["-j", "1", "--lease", "1"]));
    assert_eq!(heir.code, 0, "{}", heir.stderr);
    assert_eq!(server().hits(path), before + 2, "the job ran twice");
    frozen.signal(libc::SIGCONT);
    let thawed = finished(frozen);
    assert_eq!(thawed.code, 0, "{}", thawed.stderr);
    all_answered(&setup.results("twice", 1));
    assert_eq!(setup.redis.count("twice", "recorded"), 1);
    assert_eq!(
        setup.redis.count("twice", "duplicates"),
        1,
        "the frozen process's result came second and was dropped"
    );
}

#[test]
fn ctrl_c_hands_the_jobs_not_sent_back_at_once() {
    let setup = Setup::new("queue-interrupted");
    let jobs = 20;
    let path = "/slow/400";
    setup.enqueue("interrupted", &urls(path, jobs));
    let before = server().hits(path);
    let interrupted = worker(&setup, "interrupted", &["-j", "2"]);
    setup.wait_for("its first requests", || server().hits(path) >= before + 2);
    interrupted.signal(libc::SIGINT);
    let stopped = finished(interrupted);
    assert_eq!(stopped.code, 130, "{}", stopped.stderr);
    assert!(
        stopped.stderr.contains("jobs not done back to the queue"),
        "{}",
        stopped.stderr
    );
    // The default lease is 30 s: the jobs it held come at once, or the
    // run would take that long.
    let (heir, took) =
        worker(&setup, "interrupted", &["-j", "8"]).finish_within(Duration::from_secs(60));
    assert_eq!(heir.code, 0, "{}", heir.stderr);
    assert!(took < Duration::from_secs(15), "took {took:?}");
    all_answered(&setup.results("interrupted", jobs));
    assert_eq!(
        server().hits(path),
        before + jobs as usize,
        "the requests in flight were recorded, none was sent twice"
    );
}

#[test]
fn redis_killed_and_restarted_mid_run_loses_and_doubles_nothing() {
    let mut setup = Setup::new("queue-redis-killed");
    let jobs = 2000;
    setup.enqueue("restarted", &urls("/fast", jobs));
    let running = worker(
        &setup,
        "restarted",
        &["-j", "8", "--rate", "500", "--lease", "1"],
    );
    setup.wait_for("some records", || {
        setup.redis.count("restarted", "recorded") > 200
    });
    setup.redis.kill_and_restart(Duration::from_millis(500));
    let run = finished(running);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("cannot take jobs"),
        "it saw Redis go: {}",
        run.stderr
    );
    all_answered(&setup.results("restarted", jobs));
    assert_eq!(setup.redis.count("restarted", "recorded"), jobs);
}

#[test]
fn a_job_delivered_too_often_ends_as_a_failure() {
    let setup = Setup::new("queue-poison");
    let jobs = 3;
    setup.enqueue("poison", &urls("/fast", jobs));
    // Three processes took job 0 and died with it: a consumer that reads
    // it, then claims it twice more, each claim a delivery.
    let stream = "tb-host:{poison}:jobs";
    let read = setup.redis.cli(&[
        "XREADGROUP",
        "GROUP",
        "tb-host",
        "ghost",
        "COUNT",
        "1",
        "STREAMS",
        stream,
        ">",
    ]);
    let id = read
        .lines()
        .find(|line| line.contains('-') && line.chars().next().unwrap().is_ascii_digit())
        .unwrap_or_else(|| panic!("an entry id in {read:?}"))
        .to_owned();
    for _ in 0..2 {
        setup
            .redis
            .cli(&["XCLAIM", stream, "tb-host", "ghost", "0", &id]);
    }
    let run = finished(worker(
        &setup,
        "poison",
        &["--lease", "0.5", "--max-deliveries", "3"],
    ));
    assert_eq!(run.code, 1, "a job failed: {}", run.stderr);
    let failures = setup.scratch.path("failed.jsonl");
    let results = tb_host(
        &[
            "results",
            &setup.redis.queue("poison"),
            "--failures",
            failures.to_str().unwrap(),
        ],
        "",
    );
    let records = exactly_once(&results.records, 0..jobs, &results.stderr);
    let poisoned = records[&0];
    assert_eq!(poisoned["error"]["kind"], "other", "{poisoned}");
    let message = poisoned["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("delivered 4 times, more than --max-deliveries 3"),
        "{message}"
    );
    assert_eq!(records[&1]["status"], 200);
    let listed = std::fs::read_to_string(&failures).unwrap();
    assert!(
        listed.lines().count() == 1 && listed.contains("/fast?job=0"),
        "{listed}"
    );
}

#[test]
fn a_killed_enqueue_resumes_without_adding_a_job_twice() {
    let setup = Setup::new("queue-enqueue");
    let jobs = 1500;
    let mut lines = urls("/fast", jobs);
    lines[700] = "not a url".to_owned();
    let queue = setup.redis.queue("resumed");
    // The first 1200 lines on a stdin that stays open: enqueue adds two
    // batches of 500, then waits for more input with 200 read.
    let first: String = lines[..1200].iter().map(|l| format!("{l}\n")).collect();
    let killed = Running::start(&["enqueue", &queue, "-"], &first);
    setup.wait_for("two batches", || {
        setup.redis.count("resumed", "enqueued") == 1000
    });
    killed.signal(libc::SIGKILL);
    finished(killed);
    let stream = "tb-host:{resumed}:jobs";
    assert_eq!(setup.redis.cli(&["XLEN", stream]), "1000");
    let refused = tb_host(&["enqueue", &queue, "-"], "");
    assert_eq!(refused.code, 2);
    assert!(refused.stderr.contains("--resume"), "{}", refused.stderr);
    let input = setup.scratch.write_lines("all.txt", &lines);
    let resumed = tb_host(
        &["enqueue", "--resume", &queue, input.to_str().unwrap()],
        "",
    );
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert_eq!(setup.redis.cli(&["XLEN", stream]), "1500", "none twice");
    let run = finished(worker(&setup, "resumed", &["-j", "8"]));
    assert_eq!(run.code, 1, "the bad line failed: {}", run.stderr);
    let results = tb_host(&["results", &queue], "");
    let records = exactly_once(&results.records, 0..jobs, &results.stderr);
    let bad = records[&700];
    assert_eq!(bad["error"]["kind"], "input", "{bad}");
    let message = bad["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("line 701:"), "{message}");
    let answered: Vec<Value> = records
        .iter()
        .filter(|(index, _)| **index != 700)
        .map(|(_, record)| (*record).clone())
        .collect();
    all_answered(&answered);
}

#[test]
fn enqueue_keeps_credentials_out_of_the_queue() {
    let setup = Setup::new("queue-credentials");
    let queue = setup.redis.queue("creds");
    let run = tb_host(&["enqueue", "-u", "me:s3cr3t", &queue, "-"], "http://h/\n");
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("run --queue"), "{}", run.stderr);
    assert!(!run.stderr.contains("s3cr3t"), "{}", run.stderr);
    assert_eq!(setup.redis.cli(&["XLEN", "tb-host:{creds}:jobs"]), "0");
    for header in ["Authorization: Bearer s3cr3t", "cookie: id=s3cr3t"] {
        let run = tb_host(&["enqueue", "-H", header, &queue, "-"], "http://h/\n");
        assert_eq!(run.code, 2, "{header}: {}", run.stderr);
        assert!(run.stderr.contains("run --queue"), "{}", run.stderr);
        assert!(!run.stderr.contains("s3cr3t"), "{}", run.stderr);
        assert_eq!(setup.redis.cli(&["XLEN", "tb-host:{creds}:jobs"]), "0");
    }
}
