//! Many tb-host processes on one queue on a real `redis-server`: every job
//! ends with exactly one record, whoever ran it, however often it was
//! handed out, and whichever process died on the way.

use std::time::{Duration, Instant};

use serde_json::Value;
use tb_host_tests::fixtures;
use tb_host_tests::harness::{
    Run, Running, Scratch, exactly_once, fault_server, piped, read_records, server, summary_jobs,
    tb_host,
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
        self.enqueue_with(name, urls, &[]);
    }

    /// Enqueues `urls` on queue `name` with `extra` flags (`--resume`): the
    /// input file is `NAME.txt`, written anew with `urls`.
    fn enqueue_with(&self, name: &str, urls: &[String], extra: &[&str]) {
        let input = self.scratch.write_lines(&format!("{name}.txt"), urls);
        let queue = self.redis.queue(name);
        let mut args = vec!["enqueue", queue.as_str(), input.to_str().unwrap()];
        args.extend_from_slice(extra);
        let run = tb_host(&args, "");
        assert_eq!(run.code, 0, "enqueue: {}", run.stderr);
    }

    /// Runs `n` processes on queue `name` at once, each `run --queue` with
    /// `extra` flags, until every one has exited with `code`.
    fn run_queue(&self, name: &str, n: usize, extra: &[&str], code: i32) -> Vec<Run> {
        let running: Vec<Running> = (0..n).map(|_| worker(self, name, extra)).collect();
        let runs: Vec<Run> = running.into_iter().map(finished).collect();
        for run in &runs {
            assert_eq!(run.code, code, "{}", run.stderr);
        }
        runs
    }

    /// What `tb-host status` prints for queue `name`.
    fn status(&self, name: &str) -> String {
        // Not JSON lines: run as a plain command.
        let status = piped(&["status", &self.redis.queue(name)])
            .output()
            .expect("run tb-host status");
        assert!(status.status.success(), "{status:?}");
        String::from_utf8_lossy(&status.stdout).into_owned()
    }

    /// How many entries of queue `name` some process holds (`XPENDING`).
    fn in_flight(&self, name: &str) -> u64 {
        let stream = format!("tb-host:{{{name}}}:jobs");
        let summary = self.redis.cli(&["XPENDING", &stream, "tb-host"]);
        summary.lines().next().unwrap_or("0").parse().unwrap_or(0)
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
    let runs = setup.run_queue("three", 3, &["-j", "4"], 0);
    let mut ran = 0;
    for run in &runs {
        let took = summary_jobs(&run.stderr).unwrap_or(0);
        assert!(took > 0, "every process took some jobs: {}", run.stderr);
        ran += took;
    }
    assert_eq!(ran, jobs, "no job ran twice when no process died");
    all_answered(&setup.results("three", jobs));
    let shown = setup.status("three");
    for line in [
        "jobs:      300 enqueued (the whole input)",
        "waiting:   0\n",
        "waiting for a retry: 0\n",
        "in flight: 0\n",
        "recorded:  300 (0 failed; 0 duplicate results dropped)",
        "records/s over the last ",
    ] {
        assert!(shown.contains(line), "{line:?} in {shown}");
    }
}

#[test]
fn status_shows_the_jobs_each_process_holds_and_the_rate() {
    let setup = Setup::new("queue-status");
    let jobs = 80;
    setup.enqueue("status", &urls("/slow/250", jobs));
    let running = worker(&setup, "status", &["-j", "3"]);
    // 3 workers at 4 jobs a second each: some 12 records a second, while
    // it holds twice its workers.
    setup.wait_for("two seconds of records", || {
        setup.redis.count("status", "recorded") >= 30
    });
    std::thread::sleep(Duration::from_millis(1500));
    let shown = setup.status("status");
    running.signal(libc::SIGINT);
    assert_eq!(finished(running).code, 130);
    let held: Vec<u64> = shown
        .lines()
        .skip_while(|line| !line.starts_with("in flight: "))
        .skip(1)
        .take_while(|line| line.starts_with("  "))
        .map(|line| line.rsplit(": ").next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(held.len(), 1, "one process: {shown}");
    assert!(
        (1..=6).contains(&held[0]),
        "it holds up to twice -j: {shown}"
    );
    assert!(
        shown.contains(&format!("in flight: {}\n", held[0])),
        "{shown}"
    );
    let rate: f64 = shown
        .lines()
        .find_map(|line| line.strip_prefix("rate:      "))
        .and_then(|rate| rate.split(' ').next())
        .and_then(|rate| rate.parse().ok())
        .unwrap_or_else(|| panic!("a rate in {shown}"));
    assert!((4.0..=16.0).contains(&rate), "about 12 a second: {shown}");
    setup.run_queue("status", 1, &["-j", "40"], 0);
    all_answered(&setup.results("status", jobs));
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
    setup.run_queue("killed", 1, &["-j", "8", "--lease", "1"], 0);
    let records = setup.results("killed", jobs);
    all_answered(&records);
    assert!(
        server().hits(path) >= before + jobs as usize + 8,
        "the 8 jobs in flight in the killed process were sent again"
    );
}

#[test]
fn a_crash_between_a_response_and_its_record_loses_nothing() {
    let setup = Setup::new("queue-crash");
    let jobs = 12;
    let path = "/slow/400";
    setup.enqueue("crash", &urls(path, jobs));
    let before = server().hits(path);
    let doomed = worker(&setup, "crash", &["-j", "4", "--lease", "1"]);
    setup.wait_for("the doomed process's first requests", || {
        server().hits(path) >= before + 4
    });
    // Redis frozen, the answers come (400 ms) and cannot be recorded; then
    // the process dies with them.
    setup.redis.signal(libc::SIGSTOP);
    std::thread::sleep(Duration::from_millis(900));
    doomed.signal(libc::SIGKILL);
    assert_ne!(finished(doomed).code, 0);
    setup.redis.signal(libc::SIGCONT);
    assert_eq!(
        setup.redis.count("crash", "recorded"),
        0,
        "nothing was recorded: the answers were lost with the process"
    );
    setup.run_queue("crash", 1, &["-j", "4", "--lease", "1"], 0);
    all_answered(&setup.results("crash", jobs));
    assert!(
        server().hits(path) >= before + jobs as usize + 4,
        "the jobs answered and lost were sent again"
    );
    assert_eq!(setup.redis.count("crash", "recorded"), jobs);
    assert_eq!(setup.redis.count("crash", "duplicates"), 0);
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
    setup.run_queue("twice", 1, &["-j", "1", "--lease", "1"], 0);
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
    for said in [
        "jobs not yet sent go back to the queue at once, for other processes",
        "jobs not done back to the queue",
        "the jobs not yet sent were handed back to the queue",
    ] {
        assert!(
            stopped.stderr.contains(said),
            "{said:?}: {}",
            stopped.stderr
        );
    }
    assert!(!stopped.stderr.contains("cancelled"), "{}", stopped.stderr);
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
fn a_job_that_kills_every_process_that_takes_it_ends_as_a_failure() {
    let setup = Setup::new("queue-poison");
    let jobs = 30;
    // Job 0 is the poison: whichever process has it in flight dies
    // (SIGKILL, as the OOM killer would do it), each time.
    let poison = "/slow/9001";
    let mut lines = urls("/fast", jobs);
    lines[0] = server().url(&format!("{poison}?job=0"));
    setup.enqueue("poison", &lines);
    let flags = ["-j", "4", "--lease", "0.5", "--max-deliveries", "3"];
    let before = server().hits(poison);
    for delivery in 1..=3 {
        let doomed = worker(&setup, "poison", &flags);
        // Killed with the poison alone in flight: the others, fast, are
        // recorded by then (else they would be delivered as often).
        setup.wait_for("the poison job in flight, alone", || {
            server().hits(poison) == before + delivery
                && setup.in_flight("poison") == 1
                && setup.redis.count("poison", "recorded") == jobs - 1
        });
        doomed.signal(libc::SIGKILL);
        assert_ne!(finished(doomed).code, 0);
    }
    // The fourth delivery is one too many: the job ends as a failure
    // without being sent, and the others are recorded.
    setup.run_queue("poison", 1, &flags, 1);
    assert_eq!(server().hits(poison), before + 3, "sent once per delivery");
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
    let answered: Vec<Value> = (1..jobs).map(|i| records[&i].clone()).collect();
    all_answered(&answered);
    let listed = std::fs::read_to_string(&failures).unwrap();
    assert!(
        listed.lines().count() == 1 && listed.contains("/slow/9001?job=0"),
        "{listed}"
    );
}

#[test]
fn a_retry_for_later_waits_in_redis_and_survives_its_process() {
    let setup = Setup::new("queue-retry");
    let jobs = 6;
    // Each job's first request gets 429 with Retry-After: 4; the next 200.
    let faults = fault_server();
    let urls: Vec<String> = (0..jobs)
        .map(|i| faults.url(&format!("/retry-after-secs/{i}/4")))
        .collect();
    setup.enqueue("retry", &urls);
    // Each job its own retry: a paused origin's other jobs would wait in
    // the process that knows of the pause.
    let flags = [
        "-j",
        "2",
        "--plugin",
        fixtures::RETRY_BACKOFF,
        "--plugin-config",
        "pause-origin=false",
    ];
    let scheduler = worker(&setup, "retry", &flags);
    setup.wait_for("every job parked for its retry", || {
        setup
            .status("retry")
            .contains(&format!("waiting for a retry: {jobs}\n"))
    });
    // Parked, a retry belongs to no process: none is in flight, and the
    // process that asked for it dies before it is due.
    assert_eq!(setup.in_flight("retry"), 0);
    scheduler.signal(libc::SIGKILL);
    assert_ne!(finished(scheduler).code, 0);
    let shown = setup.status("retry");
    assert!(shown.contains("recorded:  0 "), "{shown}");
    // The default lease is 30 s: the retries come as soon as they are due,
    // not when a lease runs out.
    let (heir, took) = worker(&setup, "retry", &flags).finish_within(Duration::from_secs(60));
    assert_eq!(heir.code, 0, "{}", heir.stderr);
    assert!(took < Duration::from_secs(15), "took {took:?}");
    let records = setup.results("retry", jobs);
    for record in &records {
        assert_eq!(record["status"], 200, "{record}");
        assert_eq!(record["attempts"], 2, "the first attempt counts: {record}");
    }
    let shown = setup.status("retry");
    assert!(shown.contains("waiting for a retry: 0\n"), "{shown}");
}

#[test]
fn a_following_process_takes_jobs_enqueued_later_and_stops_on_ctrl_c() {
    let setup = Setup::new("queue-follow");
    let all = urls("/fast", 10);
    setup.enqueue("follow", &all[..4]);
    let mut follower = worker(&setup, "follow", &["-j", "2", "--follow"]);
    setup.wait_for("the first jobs", || {
        setup.redis.count("follow", "recorded") == 4
    });
    std::thread::sleep(Duration::from_millis(600));
    assert!(follower.is_running(), "it waits for more jobs");
    // The input grew: enqueue --resume adds what it has not added yet.
    setup.enqueue_with("follow", &all, &["--resume"]);
    setup.wait_for("the jobs enqueued later", || {
        setup.redis.count("follow", "recorded") == 10
    });
    assert!(follower.is_running(), "it still waits");
    follower.signal(libc::SIGINT);
    let (stopped, took) = follower.finish_within(Duration::from_secs(10));
    assert_eq!(stopped.code, 130, "{}", stopped.stderr);
    assert!(took < Duration::from_secs(2), "stopped at once: {took:?}");
    assert!(
        !stopped.stderr.contains("jobs not done back"),
        "it held no job to hand back: {}",
        stopped.stderr
    );
    assert_eq!(
        summary_jobs(&stopped.stderr),
        Some(10),
        "{}",
        stopped.stderr
    );
    all_answered(&setup.results("follow", 10));
}

#[test]
fn a_killed_results_export_resumes_without_a_record_twice_or_missed() {
    let setup = Setup::new("queue-results");
    // Records of 20 kB (the body in each): an export that takes a while.
    let jobs = 1500;
    let mut lines = urls("/bytes/20000", jobs);
    lines[5] = "not a url".to_owned();
    setup.enqueue("export", &lines);
    setup.run_queue("export", 1, &["-j", "16", "--record-body"], 1);
    let queue = setup.redis.queue("export");
    let out = setup.scratch.path("records.jsonl");
    let failures = setup.scratch.path("failures.jsonl");
    let (out_arg, failures_arg) = (out.to_str().unwrap(), failures.to_str().unwrap());
    let export = [
        "results",
        queue.as_str(),
        "-o",
        out_arg,
        "--failures",
        failures_arg,
    ];
    // Killed as soon as some records are written: mid-line, likely.
    let killed = Running::start_closing_stdin(&export, "");
    setup.wait_for("some records", || {
        std::fs::metadata(&out).is_ok_and(|m| m.len() > 0)
    });
    killed.signal(libc::SIGKILL);
    assert_ne!(finished(killed).code, 0);
    let written = std::fs::read(&out).unwrap();
    let whole = written.iter().filter(|&&b| b == b'\n').count();
    assert!(whole < jobs as usize, "killed mid-export: {whole} records");
    let mut args = export.to_vec();
    args.push("--resume");
    let resumed = tb_host(&args, "");
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    let records = read_records(&out);
    exactly_once(&records, 0..jobs, &resumed.stderr);
    let listed = std::fs::read_to_string(&failures).unwrap();
    assert!(
        listed.lines().count() == 1 && listed.contains("not a url"),
        "{listed}"
    );
    // Another queue's export is not continued in this file.
    setup.enqueue("other", &urls("/json", 3));
    setup.run_queue("other", 1, &[], 0);
    let other = setup.redis.queue("other");
    let refused = tb_host(&["results", &other, "-o", out_arg, "--resume"], "");
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("another run's export"),
        "{}",
        refused.stderr
    );
    exactly_once(&read_records(&out), 0..jobs, "the file is left as it was");
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
    // The bad line failed: exit status 1.
    setup.run_queue("resumed", 1, &["-j", "8"], 1);
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

#[test]
fn results_come_in_input_order_or_as_they_were_recorded() {
    let setup = Setup::new("queue-order");
    // The first job answers last.
    let mut urls = vec![server().url("/slow/500?job=0")];
    urls.extend((1..6).map(|i| server().url(&format!("/fast/queue-order?job={i}"))));
    setup.enqueue("order", &urls);
    setup.run_queue("order", 1, &["-j", "3"], 0);
    let queue = setup.redis.queue("order");
    let indexes = |records: &[Value]| -> Vec<u64> {
        records
            .iter()
            .map(|r| r["index"].as_u64().unwrap())
            .collect()
    };
    let by_input = setup.results("order", 6);
    assert_eq!(indexes(&by_input), [0, 1, 2, 3, 4, 5]);
    let by_finish = tb_host(&["results", &queue, "--order", "finish"], "");
    assert_eq!(by_finish.code, 0, "{}", by_finish.stderr);
    exactly_once(&by_finish.records, 0..6, &by_finish.stderr);
    let finished = indexes(&by_finish.records);
    assert_eq!(
        finished.last(),
        Some(&0),
        "the slow job was recorded last: {finished:?}"
    );
}
