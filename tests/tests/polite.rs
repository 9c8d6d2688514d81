//! What tb-host does when a server pushes back: a 429 or 503 with
//! `Retry-After` pauses its origin for every worker (retry-backoff's
//! `pause-origin`), a server that says what is left of its rate limit
//! (`X-RateLimit-Remaining`) is paced by it, an origin that keeps failing
//! is left alone (`--breaker`), other origins go on, and a pause longer
//! than `--max-pause` fails that origin's jobs as `paused` instead of
//! waiting.

use std::time::{Duration, Instant};

use serde_json::Value;
use tb_host_tests::fixtures;
use tb_host_tests::harness::{self, Run, Scratch, refused_url, server, tb_host};
use tb_loopback::{RateLimited, Server};

/// Whether `record` is of a job whose URL contains `part`.
fn is_for(record: &Value, part: &str) -> bool {
    record["url"].as_str().is_some_and(|url| url.contains(part))
}

/// `jobs` jobs, two of every three to `api`, the rest to another origin
/// (the shared server), run with retry-backoff at `-j 16`: the run, and
/// how many of the `api` jobs ended before the other origin's last.
fn run_beside_another_origin(api: &Server, jobs: usize) -> (Run, usize) {
    let input: String = (0..jobs)
        .map(|i| match i % 3 {
            2 => server().url(&format!("/fast/polite/{i}")) + "\n",
            _ => api.url(&format!("/items/{i}")) + "\n",
        })
        .collect();
    let run = tb_host(
        &[
            "run",
            "-j",
            "16",
            "--plugin",
            fixtures::RETRY_BACKOFF,
            "--plugin-config",
            "max-attempts=10",
            "-",
        ],
        &input,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    for (index, record) in run.by_index(jobs) {
        assert_eq!(record["status"], 200, "job {index}: {record}");
    }
    let last_other = run
        .records
        .iter()
        .rposition(|r| is_for(r, "/fast/polite/"))
        .unwrap();
    let api_before = run.records[..last_other]
        .iter()
        .filter(|r| is_for(r, "/items/"))
        .count();
    (run, api_before)
}

#[test]
fn a_server_that_asks_for_a_pause_gets_nothing_until_it_ends_and_others_go_on() {
    // 40 requests a second, said only by a 429's Retry-After; 16 workers
    // would send far more.
    let limited = RateLimited::new(40).without_quota();
    let api = Server::builder().handler(limited.clone()).start().unwrap();
    let (run, api_before) = run_beside_another_origin(&api, 180);
    let counts = limited.counts();
    assert!(counts.limited > 0, "the limit was reached: {counts:?}");
    assert_eq!(
        counts.during_pause, 0,
        "nothing was sent while a pause was announced: {counts:?}"
    );
    assert_eq!(counts.ok, 120);
    // The other origin's jobs were not held up: all of them ended while
    // most of the limited ones (three seconds' worth) still waited.
    assert!(
        api_before <= 80,
        "{api_before} limited jobs ended before the other origin's last"
    );
    let origin = api.url("").trim_end_matches('/').to_owned();
    assert!(
        run.stderr.contains(&format!("paused:   {origin}")),
        "the summary names the paused origin: {}",
        run.stderr
    );
}

#[test]
fn a_server_that_says_what_is_left_is_never_asked_for_more() {
    // The same limit, with X-RateLimit-Remaining and -Reset on every
    // answer: tb-host stops when nothing is left, before any 429.
    let limited = RateLimited::new(40);
    let api = Server::builder().handler(limited.clone()).start().unwrap();
    let started = Instant::now();
    let (_, api_before) = run_beside_another_origin(&api, 180);
    let took = started.elapsed();
    let counts = limited.counts();
    assert_eq!(counts.ok, 120, "{counts:?}");
    assert!(
        counts.limited <= 3,
        "at most 2% of the requests answered 429: {counts:?}"
    );
    assert_eq!(counts.during_pause, 0, "{counts:?}");
    // 120 requests at 40 a second: three windows, and a fourth begun.
    assert!(took < Duration::from_secs(8), "took {took:?}");
    assert!(
        api_before <= 80,
        "{api_before} ended before the other origin's last"
    );
}

#[test]
fn a_pause_longer_than_max_pause_fails_that_origins_jobs_as_paused() {
    // One worker: the first job gets 429 with `Retry-After: 30`, then the
    // others, to the same origin, are not sent. Another origin's job is.
    let mut urls = vec![server().url("/retry-after/max-pause/30")];
    urls.extend((0..4).map(|i| server().url(&format!("/echo/max-pause/{i}"))));
    let port = server().port();
    urls.push(format!("http://localhost:{port}/echo/max-pause/elsewhere"));
    let run = tb_host(
        &[
            "run",
            "-j",
            "1",
            "--max-pause",
            "5",
            "--plugin",
            fixtures::RETRY_BACKOFF,
            "-",
        ],
        &(urls.join("\n") + "\n"),
    );
    assert_eq!(run.code, 1, "some jobs failed: {}", run.stderr);
    let records = run.by_index(6);
    assert_eq!(records[&0]["status"], 429, "the job keeps its answer");
    assert_eq!(records[&0]["attempts"], 1);
    for index in 1..5 {
        let error = &records[&index]["error"];
        assert_eq!(error["kind"], "paused", "job {index}: {}", records[&index]);
        let message = error["message"].as_str().unwrap();
        assert!(message.contains("30 s"), "{message}");
        assert!(message.contains("--max-pause"), "{message}");
    }
    assert_eq!(records[&5]["status"], 200, "another origin is not paused");
    assert_eq!(server().hits("/echo/max-pause/0"), 0, "nothing was sent");
    assert!(
        run.stderr.contains("longer than --max-pause"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_dead_origin_is_sent_a_few_jobs_then_given_up_while_others_go_on() {
    // 40 jobs to a port where nothing listens, each before one to the
    // server; no retries, so every attempt is a job's.
    let input: String = (0..40)
        .map(|i| {
            let dead = refused_url(&format!("/dead/{i}"));
            let alive = server().url(&format!("/fast/breaker/{i}"));
            format!("{dead}\n{alive}\n")
        })
        .collect();
    let args = [
        "run",
        "-j",
        "4",
        "--breaker",
        "5",
        "--breaker-give-up",
        "2",
        "-",
    ];
    let started = Instant::now();
    let run = tb_host(&args, &input);
    let took = started.elapsed();
    assert_eq!(run.code, 1, "{}", run.stderr);
    let mut tried = 0;
    for (index, record) in run.by_index(80) {
        if index % 2 == 1 {
            assert_eq!(record["status"], 200, "{record}");
            continue;
        }
        match record["error"]["kind"].as_str() {
            Some("connect") => tried += 1,
            Some("broken") => {
                let message = record["error"]["message"].as_str().unwrap();
                assert!(message.contains("--breaker-give-up"), "{message}");
            }
            _ => panic!("{record}"),
        }
    }
    // Five to open the breaker, the three others in flight then, and a
    // probe or two before the origin is given up at 2 s.
    assert!(tried <= 11, "{tried} jobs were sent to the dead origin");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(
        run.stderr.contains("its breaker opened 1 time (given up"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_broken_origin_that_answers_again_gets_its_jobs() {
    // The first four requests get 503, later ones 200: three open the
    // breaker, the first probe gets the fourth 503, the next one a 200.
    let path = "/flaky/breaker-back/4/503";
    let urls: Vec<String> = (0..12)
        .map(|i| server().url(&format!("{path}?job={i}")))
        .collect();
    let run = tb_host(
        &["run", "-j", "1", "--breaker", "3", "-"],
        &(urls.join("\n") + "\n"),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let records = run.by_index(12);
    let answered: Vec<u64> = records
        .values()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(
        answered.iter().filter(|&&s| s == 503).count(),
        4,
        "{answered:?}"
    );
    assert_eq!(
        answered.iter().filter(|&&s| s == 200).count(),
        8,
        "{answered:?}"
    );
    assert_eq!(server().hits(path), 12, "each job was sent once");
    assert!(
        run.stderr.contains("its breaker opened 1 time") && !run.stderr.contains("given up"),
        "{}",
        run.stderr
    );
}

/// On a terminal, the progress bar names an origin while it is paused (the
/// run is stopped with SIGINT during the pause).
#[test]
fn the_progress_bar_names_a_paused_origin() {
    let scratch = Scratch::new("polite-bar");
    let urls = [
        server().url("/retry-after/polite-bar/5"),
        server().url("/fast/polite-bar"),
    ];
    let input = scratch.write_lines("urls.txt", &urls);
    let command = format!(
        "timeout -s INT 2 {} run -j 1 --plugin {} -o /dev/null {}",
        harness::binary().display(),
        fixtures::RETRY_BACKOFF,
        input.display()
    );
    let output = harness::on_a_terminal(&command);
    let shown = String::from_utf8_lossy(&output.stdout);
    let origin = server().url("").trim_end_matches('/').to_owned();
    assert!(
        shown.contains(&format!("paused: {origin}")),
        "the bar names the paused origin: {shown:?}"
    );
}
