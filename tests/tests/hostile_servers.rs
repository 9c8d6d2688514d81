//! Hostile servers: whatever a server does — reset, stall, trickle, lie
//! about lengths, loop, redirect elsewhere, flood headers, compress — the
//! real binary keeps going, ends every job exactly once, and its record
//! says clearly what happened.
//!
//! The faults come from [`tb_loopback::Faults`] (a server per test, on its
//! own loopback port); healthy traffic from the shared loopback [`server`].
//! A scenario of one job against one fault is a row of the table below
//! ([`hostile_servers!`]), which [`check`] runs.

use std::collections::BTreeMap;
use std::ops::Range;
use std::time::{Duration, Instant};

use serde_json::Value;
use tb_host_tests::fixtures;
use tb_host_tests::harness::{Run, fault_server, refused_url, server, tb_host};
use tb_host_tests::peak::tb_host_peak;
use tb_loopback::{Server, faults};

use Expect::{Fails, Status};
use Says::{AnyCase, Either, Start, Text, Url};
use Target::{Fault, Refused};

/// Runs `tb-host run --threads 4` with `args` on `urls` (given on stdin)
/// and checks what every run must satisfy: exactly one record per job and
/// a summary whose counts add up to the records.
fn run_urls(args: &[&str], urls: &[String]) -> Run {
    let mut all = vec!["run", "--threads", "4"];
    all.extend_from_slice(args);
    let run = tb_host(&all, &(urls.join("\n") + "\n"));
    run.by_index(urls.len());
    check_summary(&run);
    run
}

/// `retry-backoff` with short waits, so tests stay fast.
fn retry_args() -> Vec<&'static str> {
    vec![
        "--plugin",
        fixtures::RETRY_BACKOFF,
        "--plugin-config",
        "base-ms=5",
        "--plugin-config",
        "max-ms=20",
    ]
}

/// A record's `elapsed_ms`.
fn elapsed_ms(record: &Value) -> f64 {
    record["elapsed_ms"]
        .as_f64()
        .expect("elapsed_ms is a number")
}

/// Checks the summary on stderr against the records: `N jobs ...: R
/// responses, F failures` with N = R + F = the records, F = the records
/// with an error, and the `failures:` line counting each kind as the
/// records do.
fn check_summary(run: &Run) {
    let line = run
        .stderr
        .lines()
        .find(|line| line.contains(" jobs in "))
        .unwrap_or_else(|| panic!("no summary on stderr: {}", run.stderr));
    let number_before = |word: &str| -> u64 {
        let at = line
            .find(word)
            .unwrap_or_else(|| panic!("{word:?} in {line:?}"));
        line[..at]
            .split([' ', ':', ','])
            .rfind(|part| !part.is_empty())
            .and_then(|part| part.parse().ok())
            .unwrap_or_else(|| panic!("a number before {word:?} in {line:?}"))
    };
    let jobs = number_before(" jobs in ");
    let responses = number_before(" responses");
    let failures = number_before(" failures");
    let mut kinds: BTreeMap<String, u64> = BTreeMap::new();
    for record in &run.records {
        if let Some(kind) = record["error"]["kind"].as_str() {
            *kinds.entry(kind.to_owned()).or_default() += 1;
        }
    }
    let failed: u64 = kinds.values().sum();
    assert_eq!(jobs, run.records.len() as u64, "{line}");
    assert_eq!(responses + failures, jobs, "{line}");
    assert_eq!(failures, failed, "{line}");
    let listed: BTreeMap<String, u64> = run
        .stderr
        .lines()
        .find_map(|line| line.trim().strip_prefix("failures:"))
        .map(|list| {
            list.split(',')
                .map(|item| {
                    let (kind, n) = item.split_once(':').expect("kind: n");
                    (kind.trim().to_owned(), n.trim().parse().expect("a count"))
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(listed, kinds, "failures by kind: {}", run.stderr);
    let expected_code = if failed > 0 { 1 } else { 0 };
    assert_eq!(run.code, expected_code, "{}", run.stderr);
}

/// One scenario: one job, fetched once by `tb-host run --threads 4`.
struct Case {
    /// Where the job goes.
    url: Target,
    /// How it must end.
    expect: Expect,
    /// Whether `retry-backoff` runs, with short waits ([`retry_args`]).
    retry: bool,
    /// More flags.
    flags: &'static [&'static str],
    /// The record's `attempts`.
    attempts: u64,
    /// How many requests to the job's path the fault server saw.
    hits: usize,
    /// Where the record's `elapsed_ms` must fall, for a scenario about time.
    elapsed_ms: Option<Range<f64>>,
    /// What else the scenario checks, once the job has run.
    then: fn(&Ran<'_>),
}

impl Case {
    /// The job of `url`, which must end as `expect` after one attempt, one
    /// request seen, no retry plugin and no more flags.
    fn new(url: Target, expect: Expect) -> Case {
        Case {
            url,
            expect,
            retry: false,
            flags: &[],
            attempts: 1,
            hits: 1,
            elapsed_ms: None,
            then: |_| {},
        }
    }

    /// With `retry-backoff` ([`retry_args`]).
    fn retried(self) -> Case {
        Case {
            retry: true,
            ..self
        }
    }

    /// With `flags` too.
    fn flags(self, flags: &'static [&'static str]) -> Case {
        Case { flags, ..self }
    }

    /// Ending after `attempts` attempts, each a request the server saw.
    fn attempts(self, attempts: u64) -> Case {
        Case {
            attempts,
            hits: attempts as usize,
            ..self
        }
    }

    /// The server having seen `hits` requests to the job's path.
    fn hits(self, hits: usize) -> Case {
        Case { hits, ..self }
    }

    /// Taking a time in `range` milliseconds.
    fn within_ms(self, range: Range<f64>) -> Case {
        Case {
            elapsed_ms: Some(range),
            ..self
        }
    }

    /// Checking `then` too.
    fn then(self, then: fn(&Ran<'_>)) -> Case {
        Case { then, ..self }
    }
}

/// Where a job goes.
enum Target {
    /// This path of the test's fault server.
    Fault(&'static str),
    /// This path on a port that refuses connections ([`refused_url`]).
    Refused(&'static str),
}

/// A case that has run, for its [`Case::then`].
struct Ran<'a> {
    /// The test's fault server.
    faults: &'a Server,
    /// The job's path.
    path: &'static str,
    run: &'a Run,
    /// The job's record.
    record: &'a Value,
}

/// What a job must end with.
enum Expect {
    /// An HTTP response with this status.
    Status(u64),
    /// A failure of this kind, with no status and no bytes, whose message
    /// says something, and each of these.
    Fails(&'static str, &'static [Says]),
}

impl Expect {
    /// Checks `record`, of the job of `url`.
    fn check(&self, record: &Value, url: &str) {
        match self {
            Status(status) => {
                assert_eq!(record["status"], *status, "{record}");
                assert!(record["error"].is_null(), "{record}");
            }
            Fails(kind, says) => {
                assert_eq!(record["error"]["kind"], *kind, "{record}");
                assert!(record["status"].is_null(), "{record}");
                assert_eq!(record["bytes"], 0, "{record}");
                let message = record["error"]["message"].as_str().unwrap_or_default();
                assert!(
                    message.len() > 10,
                    "a message that says something: {record}"
                );
                for part in *says {
                    assert!(part.said_in(message, url), "{part:?} in {message:?}");
                }
            }
        }
    }
}

/// Something a failure's message says.
#[derive(Debug)]
enum Says {
    /// The job's URL.
    Url,
    /// This text.
    Text(&'static str),
    /// This text, in any case.
    AnyCase(&'static str),
    /// This text, first.
    Start(&'static str),
    /// One of these.
    Either(&'static [Says]),
}

impl Says {
    /// Whether `message`, of the job of `url`, says this.
    fn said_in(&self, message: &str, url: &str) -> bool {
        match self {
            Url => message.contains(url),
            Text(text) => message.contains(text),
            AnyCase(text) => message.to_lowercase().contains(&text.to_lowercase()),
            Start(text) => message.starts_with(text),
            Either(any) => any.iter().any(|says| says.said_in(message, url)),
        }
    }
}

/// Runs `case` against a fault server of its own: the one runner of the
/// table.
fn check(case: Case) {
    let faults = fault_server();
    let (url, path) = match case.url {
        Fault(path) => (faults.url(path), path),
        Refused(path) => (refused_url(path), path),
    };
    let mut args = if case.retry { retry_args() } else { Vec::new() };
    args.extend_from_slice(case.flags);
    let run = run_urls(&args, std::slice::from_ref(&url));
    let record = run.by_index(1)[&0];
    case.expect.check(record, &url);
    assert_eq!(record["attempts"], case.attempts, "{record}");
    assert_eq!(faults.hits(path), case.hits, "requests the server saw");
    if let Some(range) = case.elapsed_ms {
        let ms = elapsed_ms(record);
        assert!(range.contains(&ms), "{ms} ms, not within {range:?}");
    }
    (case.then)(&Ran {
        faults: &faults,
        path,
        run: &run,
        record,
    });
}

/// One `#[test]` per row, `name: case;`, each run by [`check`].
macro_rules! hostile_servers {
    ($($(#[doc = $doc:literal])* $name:ident: $case:expr;)*) => {
        $(
            $(#[doc = $doc])*
            #[test]
            fn $name() {
                check($case);
            }
        )*
    };
}

hostile_servers! {
    reset_before_the_status_line_is_a_reset: Case::new(
        Fault("/reset-head/lone"),
        Fails("reset", &[Url, Text("Connection reset by peer")]),
    );
    /// Mostly the head is read and the reset breaks the body; a reset that
    /// overtakes the head is a reset too.
    reset_in_the_middle_of_the_body_is_a_reset: Case::new(
        Fault("/reset-body/lone"),
        Fails(
            "reset",
            &[Either(&[Start("reading the body"), Text("Connection reset by peer")])],
        ),
    );
    /// The server closed cleanly, but before the response was whole: that
    /// is what kind `reset` means. The 100 bytes that came are not a
    /// response.
    body_shorter_than_its_content_length_is_not_a_response: Case::new(
        Fault("/short-body/lone"),
        Fails("reset", &[Start("reading the body")]),
    );
    server_that_never_answers_times_out: Case::new(
        Fault("/silent/lone"),
        Fails("timeout", &[Url, Text("timed out")]),
    )
    .flags(&["--timeout", "0.5"])
    .within_ms(500.0..2500.0);
    /// `--timeout` bounds the whole attempt, body included: reqwest's
    /// client-wide timeout restarts at each read of the body, so the worker
    /// also sets it on every request. The head comes at once and bytes keep
    /// coming: only a timeout on the whole attempt, not one per read, ends
    /// this.
    body_dripping_a_byte_at_a_time_times_out_on_time: Case::new(
        Fault("/drip/lone"),
        Fails("timeout", &[Text("timed out")]),
    )
    .flags(&["--timeout", "1"])
    .within_ms(1000.0..3000.0);
    /// Three 503s, then the 200; the server saw every attempt.
    burst_of_503_is_retried_until_the_server_recovers: Case::new(
        Fault("/burst/recovers/3"),
        Status(200),
    )
    .retried()
    .attempts(4);
    /// The last answer is the record; no attempt past `--max-attempts`.
    burst_of_503_is_retried_no_more_than_max_attempts: Case::new(
        Fault("/burst/capped/5"),
        Status(503),
    )
    .retried()
    .flags(&["--max-attempts", "2"])
    .attempts(2);
    retry_after_in_seconds_is_waited_for: Case::new(
        Fault("/retry-after-secs/lone/1"),
        Status(200),
    )
    .retried()
    .attempts(2)
    .within_ms(1000.0..4000.0)
    .then(the_retry_came_a_second_after_the_429);
    retry_after_as_an_http_date_is_waited_for: Case::new(
        Fault("/retry-after-date/lone/1"),
        Status(200),
    )
    .retried()
    .attempts(2)
    .within_ms(950.0..4000.0)
    .then(the_retry_came_after_the_date);
    /// The loop is cut off: the first request and the 10 redirects the
    /// session follows, in one attempt.
    redirect_loop_is_a_redirect_failure: Case::new(
        Fault("/loop/lone"),
        Fails("redirect", &[Text("more than 10 redirects")]),
    )
    .hits(11);
    /// The message names where the redirect pointed. ftp:// points at this
    /// very server: fetched in any way, it would show.
    redirect_to_ftp_is_a_redirect_failure_and_is_not_followed: Case::new(
        Fault("/scheme/ftp-key/ftp"),
        Fails(
            "redirect",
            &[Text("ftp://"), Text("/ftp-target/ftp-key"), Text("only http and https")],
        ),
    )
    .then(|ran| assert_eq!(ran.faults.hits("/ftp-target/ftp-key"), 0, "nothing was fetched"));
    /// `file:///etc/passwd` is refused as curl and requests refuse it: the
    /// job fails as `redirect`, as a redirect to `ftp:` does. Nothing is
    /// read from the file (no bytes, nothing of it in the output).
    redirect_to_a_file_is_not_followed: Case::new(
        Fault("/scheme/file-key/file"),
        Fails("redirect", &[Text("file:///etc/passwd")]),
    )
    .then(|ran| assert!(!ran.run.stdout.contains("root:"), "no file content in the output"));
    /// Without `--compressed`, tb-host neither asks for compressed bodies
    /// nor decodes them: a gzip body is counted as the bytes that came over
    /// the wire, and a decompression bomb cannot go off. With it, the
    /// decoded body is limited by `--body-limit` (see `compressed.rs`).
    gzip_body_is_passed_through_undecoded: Case::new(Fault("/gzip/lone"), Status(200))
        .then(counted_as_it_came);
    connection_refused_is_a_connect_failure: Case::new(
        Refused("/refused/lone"),
        Fails("connect", &[AnyCase("connection refused")]),
    )
    .hits(0);
}

/// The retry came at least the second `Retry-After: 1` asked for after the
/// 429.
fn the_retry_came_a_second_after_the_429(ran: &Ran<'_>) {
    let seen = ran.faults.requests_to(ran.path);
    let gap = seen[1].at.duration_since(seen[0].at).unwrap_or_default();
    assert!(
        gap >= Duration::from_secs(1),
        "the retry came {gap:?} after a 429 with Retry-After: 1"
    );
}

/// The retry came no earlier than the `Retry-After` date.
fn the_retry_came_after_the_date(ran: &Ran<'_>) {
    let seen = ran.faults.requests_to(ran.path);
    // The date the server sent, recomputed from when the request arrived.
    let date = faults::retry_after_date(seen[0].at, 1);
    let early = date.duration_since(seen[1].at).unwrap_or_default();
    assert!(
        early <= Duration::from_millis(1),
        "the retry came {early:?} before the Retry-After date (ms rounding allows 1 ms)"
    );
}

/// The gzip body counted as its compressed bytes, never asked for.
fn counted_as_it_came(ran: &Ran<'_>) {
    let compressed = faults::gzip_bomb().len();
    assert!(
        compressed * 100 < faults::GZIP_EXPANDED,
        "a real bomb shape"
    );
    assert_eq!(
        ran.record["bytes"],
        compressed as u64,
        "the compressed size, not {} decoded bytes",
        faults::GZIP_EXPANDED
    );
    let seen = ran.faults.requests_to(ran.path);
    assert_eq!(
        seen[0].header("accept-encoding"),
        None,
        "no compression asked for"
    );
}

#[test]
fn a_megabyte_of_headers_fails_clearly_and_the_run_goes_on() {
    let faults = fault_server();
    let path = "/huge-headers/lone";
    let fine = server().url("/fast/hostile-huge-headers");
    let run = run_urls(&[], &[faults.url(path), fine]);
    let records = run.by_index(2);
    Fails("other", &[Text("message head is too large")]).check(records[&0], &faults.url(path));
    assert_eq!(records[&1]["status"], 200, "the run goes on");
    assert_eq!(faults.hits(path), 1);
}

#[test]
fn every_fault_at_once_ends_every_job_exactly_once() {
    let faults = fault_server();
    let mut jobs: Vec<(String, Expect, Option<&str>)> = Vec::new();
    // (URL, expected outcome, the fault server's path if every attempt is
    // one request to it).
    let fault_cases = [
        ("/reset-head/mixed", Fails("reset", &[])),
        ("/reset-body/mixed", Fails("reset", &[])),
        ("/short-body/mixed", Fails("reset", &[])),
        ("/silent/mixed", Fails("timeout", &[])),
        ("/drip/mixed", Fails("timeout", &[])),
        ("/burst/mixed-once/1", Status(200)),
        ("/burst/mixed-many/5", Status(503)),
        ("/retry-after-secs/mixed/1", Status(200)),
        ("/retry-after-date/mixed/1", Status(200)),
        ("/scheme/mixed/ftp", Fails("redirect", &[])),
        ("/scheme/mixed/file", Fails("redirect", &[])),
        ("/huge-headers/mixed", Fails("other", &[])),
        ("/gzip/mixed", Status(200)),
        ("/nowhere/mixed", Status(404)),
    ];
    for (i, (path, expect)) in fault_cases.into_iter().enumerate() {
        jobs.push((faults.url(path), expect, Some(path)));
        jobs.push((
            server().url(&format!("/fast/hostile-mixed/{i}")),
            Status(200),
            None,
        ));
    }
    jobs.push((faults.url("/loop/mixed"), Fails("redirect", &[]), None));
    jobs.push((refused_url("/refused/mixed"), Fails("connect", &[]), None));
    jobs.push(("ftp://127.0.0.1/input".into(), Fails("input", &[]), None));

    let mut args = retry_args();
    args.extend(["--plugin-config", "max-attempts=2", "--timeout", "0.5"]);
    let urls: Vec<String> = jobs.iter().map(|(url, _, _)| url.clone()).collect();
    let started = Instant::now();
    let run = run_urls(&args, &urls);
    let took = started.elapsed();

    let records = run.by_index(jobs.len());
    for (index, (url, expect, path)) in (0u64..).zip(&jobs) {
        let record = records[&index];
        assert_eq!(record["url"], url.as_str());
        expect.check(record, url);
        if let Some(path) = path {
            assert_eq!(
                record["attempts"],
                faults.hits(path) as u64,
                "attempts are what the server saw: {record}"
            );
        }
    }
    // Transient faults were retried once (max-attempts=2), others not.
    let attempts = |path: &str| {
        let url = faults.url(path);
        let (index, _) = (0u64..)
            .zip(&jobs)
            .find(|(_, (u, _, _))| *u == url)
            .expect("a job of the run");
        records[&index]["attempts"].as_u64().unwrap()
    };
    for path in ["/reset-head/mixed", "/silent/mixed", "/burst/mixed-many/5"] {
        assert_eq!(attempts(path), 2, "{path} retried once");
    }
    for path in ["/scheme/mixed/ftp", "/huge-headers/mixed", "/loop/mixed"] {
        assert_eq!(attempts(path), 1, "{path} not retried");
    }
    assert_eq!(faults.hits("/ftp-target/mixed"), 0);
    assert!(took < Duration::from_secs(10), "the run took {took:?}");
}

/// The server side of a 1 GiB body (for `--body-limit` tests): it declares
/// the whole length and streams without holding the body in memory.
#[test]
fn a_gigabyte_body_stops_at_the_body_limit_in_bounded_memory() {
    let faults = fault_server();
    let urls = [
        faults.url("/gigabyte/limit"),
        server().url("/fast/gigabyte-neighbour"),
    ];
    let (run, peak_mib) = tb_host_peak(
        &["run", "--threads", "2", "--body-limit", "16M", "-"],
        &(urls.join("\n") + "\n"),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let records = run.by_index(2);
    // The message names the limit: 16 MiB, in bytes.
    Fails("body", &[Text("16777216")]).check(records[&0], &urls[0]);
    assert_eq!(
        records[&0]["attempts"], 1,
        "a body over the limit is not retried"
    );
    assert_eq!(records[&1]["status"], 200, "the other job goes on");
    assert_eq!(faults.hits("/gigabyte/limit"), 1);
    assert!(
        peak_mib < 64.0,
        "reading stops at the limit, never holding the body: peak {peak_mib:.1} MiB"
    );
}
