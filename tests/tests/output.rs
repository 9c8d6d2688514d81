//! What `tb-host run` writes: body hashes, saved bodies, the body limit,
//! records in input order, the summary, no progress bar off a terminal,
//! and the files it refuses to write (its input, one file for records and
//! failures, a file another run is writing) before anything is emptied.

use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tb_host::hooks::{Decision, NativeHook};
use tb_host::{FailureKind, Pool, RequestDefaults};
use tb_host_tests::fixtures;
use tb_host_tests::harness::{Scratch, exactly_once, read_records, refused_url, server, tb_host};

/// The hex SHA-256 of the body `/bytes/{n}` answers: `n` bytes of `x`.
fn sha256_of_x(n: usize) -> String {
    Sha256::digest(vec![b'x'; n])
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn every_record_has_the_sha256_of_its_body() {
    let sizes = [0, 1, 100, 70_000, 1 << 20];
    let urls: Vec<String> = sizes
        .iter()
        .map(|n| server().url(&format!("/bytes/{n}")))
        .chain([refused_url("/nothing")])
        .collect();
    let run = tb_host(&["run", "-"], &urls.join("\n"));
    assert_eq!(run.code, 1, "the refused URL fails: {}", run.stderr);
    let records = run.by_index(sizes.len() + 1);
    for (index, n) in sizes.iter().enumerate() {
        let record = records[&(index as u64)];
        assert_eq!(record["bytes"], *n as u64);
        assert_eq!(record["sha256"], sha256_of_x(*n), "body of {n} bytes");
        assert!(
            record.get("body_path").is_none(),
            "no body_path unless bodies are saved"
        );
    }
    let failed = records[&(sizes.len() as u64)];
    assert_eq!(failed["error"]["kind"], "connect");
    assert!(failed["sha256"].is_null());
}

#[test]
fn saved_bodies_hold_what_the_server_sent() {
    let scratch = Scratch::new("save-bodies");
    let dir = scratch.path("bodies/nested");
    let sizes = [0, 5, 40_000, 300_000];
    let urls: Vec<String> = sizes
        .iter()
        .map(|n| server().url(&format!("/bytes/{n}")))
        .chain([refused_url("/nothing")])
        .collect();
    let run = tb_host(
        &["run", "--save-bodies", dir.to_str().unwrap(), "-"],
        &urls.join("\n"),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let records = run.by_index(sizes.len() + 1);
    for (index, n) in sizes.iter().enumerate() {
        let path = dir.join(format!("{index}.body"));
        let record = records[&(index as u64)];
        assert_eq!(record["body_path"], path.to_str().unwrap());
        assert_eq!(std::fs::read(&path).unwrap(), vec![b'x'; *n]);
        assert_eq!(record["sha256"], sha256_of_x(*n));
    }
    assert!(records[&(sizes.len() as u64)]["body_path"].is_null());
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["0.body", "1.body", "2.body", "3.body"],
        "one file per response, no part files left"
    );
}

#[test]
fn a_body_over_the_limit_fails_with_kind_body_and_the_limit_named() {
    let urls = [
        server().url("/bytes/5000"),
        server().url("/bytes/500"),
        server().url("/bytes/1000"),
    ];
    let run = tb_host(&["run", "--body-limit", "1000", "-"], &urls.join("\n"));
    assert_eq!(run.code, 1, "{}", run.stderr);
    let records = run.by_index(3);
    let over = records[&0];
    assert_eq!(over["error"]["kind"], "body");
    assert!(
        over["error"]["message"].as_str().unwrap().contains("1000"),
        "the message names the limit: {over}"
    );
    assert_eq!(over["attempts"], 1);
    assert!(over["sha256"].is_null());
    assert_eq!(records[&1]["status"], 200);
    assert_eq!(records[&1]["bytes"], 500);
    assert_eq!(
        records[&2]["status"], 200,
        "a body of exactly the limit is read"
    );
    assert!(run.stderr.contains("body: 1"), "summary: {}", run.stderr);
}

#[test]
fn body_limit_takes_suffixes_and_rejects_nonsense() {
    let run = tb_host(
        &["run", "--body-limit", "1K", "-"],
        &server().url("/bytes/2000"),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let message = run.by_index(1)[&0]["error"]["message"].to_string();
    assert!(message.contains("1024"), "{message}");
    let run = tb_host(&["run", "--body-limit", "lots", "-"], "");
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--body-limit"), "{}", run.stderr);
}

#[test]
fn a_body_over_the_limit_is_not_retried_even_when_a_hook_asks() {
    let path = "/bytes/5001";
    let mut pool = Pool::builder()
        .threads(2)
        .body_limit(1000)
        .hook(NativeHook::retry_policy("always", |_, _, _| {
            Decision::RetryAfter(1)
        }))
        .from_urls([server().url(path)], &RequestDefaults::default())
        .unwrap();
    pool.join_all();
    let failure = pool.exceptions().next().expect("the job failed");
    assert_eq!(failure.kind(), FailureKind::Body);
    assert_eq!(failure.attempts(), 1);
    assert_eq!(server().hits(path), 1, "sent once");
}

#[test]
fn the_library_gives_the_hash_and_the_saved_file() {
    let scratch = Scratch::new("library-bodies");
    let mut pool = Pool::builder()
        .threads(1)
        .keep_bodies(false)
        .save_bodies(scratch.path(""))
        .from_urls([server().url("/bytes/777")], &RequestDefaults::default())
        .unwrap();
    pool.join_all();
    let response = pool.responses().next().expect("a response");
    assert!(response.body().is_empty(), "not kept");
    assert_eq!(response.sha256_hex(), sha256_of_x(777));
    assert_eq!(
        response.sha256().as_slice(),
        Sha256::digest(vec![b'x'; 777]).as_slice()
    );
    let saved = response.body_path().expect("saved");
    assert_eq!(saved, scratch.path("0.body"));
    assert_eq!(std::fs::read(saved).unwrap(), vec![b'x'; 777]);
}

/// URLs whose finish order is the reverse of their input order: `/slow`
/// with waits shrinking down the list, between instant ones and a bad
/// line.
fn mixed_urls(key: &str) -> Vec<String> {
    let mut urls = Vec::new();
    for i in 0..8 {
        urls.push(server().url(&format!("/slow/{}?{key}={i}", (8 - i) * 50)));
        urls.push(server().url(&format!("/fast/{key}/{i}")));
    }
    urls.insert(5, "not a url".to_owned());
    urls
}

fn indexes(run: &tb_host_tests::harness::Run) -> Vec<u64> {
    run.records
        .iter()
        .map(|r| r["index"].as_u64().unwrap())
        .collect()
}

#[test]
fn input_order_writes_every_index_once_in_order() {
    let urls = mixed_urls("order-input");
    let finish = tb_host(&["run", "-j", "16", "-"], &urls.join("\n"));
    finish.by_index(urls.len());
    let finish_order = indexes(&finish);
    assert!(
        !finish_order.is_sorted(),
        "the slow URLs finish out of input order: {finish_order:?}"
    );
    let run = tb_host(
        &["run", "-j", "16", "--order", "input", "-"],
        &urls.join("\n"),
    );
    assert_eq!(run.code, 1, "the bad line fails: {}", run.stderr);
    let records = run.by_index(urls.len());
    assert_eq!(indexes(&run), (0..urls.len() as u64).collect::<Vec<_>>());
    assert_eq!(records[&5]["error"]["kind"], "input");
}

#[test]
fn input_order_skips_the_indexes_of_other_shards() {
    let urls = mixed_urls("order-shard");
    let run = tb_host(
        &["run", "--order", "input", "--shard", "1/3", "-"],
        &urls.join("\n"),
    );
    let expected: Vec<u64> = (0..urls.len() as u64).filter(|i| i % 3 == 1).collect();
    assert_eq!(indexes(&run), expected, "{}", run.stderr);
}

#[test]
fn input_order_holds_back_the_input_behind_a_slow_job() {
    // With 4 threads the pool admits at most 1024 jobs (its default
    // max_in_flight). In input order, while job 0 is slow, at most 1023
    // jobs after it may run: their records wait for it. (Files, not
    // pipes: the harness writes all of stdin before it reads stdout.)
    let scratch = Scratch::new("order-bound");
    let key = "order-bound";
    let jobs = 3000;
    let urls: Vec<String> = std::iter::once(server().url(&format!("/slow/2500?{key}")))
        .chain((1..jobs).map(|i| server().url(&format!("/echo/{key}/{i}"))))
        .collect();
    let input = scratch.write_lines("urls.txt", &urls);
    let output = scratch.path("out.jsonl");
    let started = Instant::now();
    let counting = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1500));
        let sent = (1..jobs)
            .filter(|i| server().hits(&format!("/echo/{key}/{i}")) > 0)
            .count();
        (sent, started.elapsed())
    });
    let run = tb_host(
        &[
            "run",
            "-j",
            "4",
            "--order",
            "input",
            "-o",
            output.to_str().unwrap(),
            input.to_str().unwrap(),
        ],
        "",
    );
    let (sent_while_slow, at) = counting.join().unwrap();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let records = read_records(&output);
    exactly_once(&records, 0..jobs as u64, &run.stderr);
    let written: Vec<u64> = records
        .iter()
        .map(|r| r["index"].as_u64().unwrap())
        .collect();
    assert_eq!(written, (0..jobs as u64).collect::<Vec<_>>());
    assert!(at < Duration::from_millis(2500), "counted while job 0 ran");
    assert!(
        sent_while_slow <= 1023,
        "{sent_while_slow} jobs ran while job 0 held the output"
    );
}

#[test]
fn stderr_has_the_summary_with_bytes_and_no_progress_bar_off_a_terminal() {
    let urls: Vec<String> = (0..20)
        .map(|i| server().url(&format!("/bytes/{}", 1000 + i)))
        .collect();
    let run = tb_host(&["run", "-"], &urls.join("\n"));
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.by_index(20);
    assert!(run.stderr.contains("20 jobs"), "{}", run.stderr);
    // 20 bodies of 1000..1019 bytes: 20190 bytes, 19.72 KiB.
    assert!(run.stderr.contains("received: 19.72 KiB"), "{}", run.stderr);
    assert!(!run.stderr.contains('\r'), "{:?}", run.stderr);
    assert!(!run.stderr.contains('\u{1b}'), "{:?}", run.stderr);
    assert!(!run.stderr.contains("ETA"), "{:?}", run.stderr);
    let quiet = tb_host(&["run", "-q", "-"], &urls.join("\n"));
    assert_eq!(quiet.code, 0);
    assert_eq!(quiet.stderr, "", "--quiet writes nothing to stderr");
}

#[test]
fn each_record_reaches_a_reader_while_the_run_goes_on() {
    // Records are buffered while jobs finish faster than they are written,
    // and written out whenever the writer has caught up: a reader of a
    // live run sees each job as it ends, not when the run does.
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command, Stdio};
    let mut child = Command::new(tb_host_tests::harness::binary())
        .args(["run", "-q", "-j", "2", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines_tx, lines) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if lines_tx.send(line.unwrap()).is_err() {
                return;
            }
        }
    });
    for i in 0..3 {
        let url = server().url(&format!("/fast/live-record/{i}"));
        writeln!(stdin, "{url}").unwrap();
        stdin.flush().unwrap();
        // The input stays open: the run is not over.
        let line = lines
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("no record for job {i} while the run was going on"));
        let record: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(record["index"], i);
        assert_eq!(record["url"], url.as_str());
        assert_eq!(record["status"], 200);
    }
    drop(stdin);
    assert!(child.wait().unwrap().success());
    reader.join().unwrap();
    assert!(lines.try_recv().is_err(), "one record per job");
}

/// Three URLs under `/fast/{key}/`.
fn three_urls(key: &str) -> Vec<String> {
    (0..3)
        .map(|i| server().url(&format!("/fast/{key}/{i}")))
        .collect()
}

/// `lines` as the file `name` in `scratch`: its path and text.
fn file_of(scratch: &Scratch, name: &str, lines: &[String]) -> (std::path::PathBuf, String) {
    let path = scratch.write_lines(name, lines);
    let text = std::fs::read_to_string(&path).unwrap();
    (path, text)
}

/// Checks that `args` are refused as a set-up error whose message has
/// every one of `named`, and that `kept` still holds `text`.
fn refused(args: &[&str], named: &[&str], kept: &std::path::Path, text: &str) {
    let run = tb_host(args, "");
    assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
    for name in named {
        assert!(run.stderr.contains(name), "{args:?}: {}", run.stderr);
    }
    assert!(run.stderr.contains("another name"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(kept).unwrap(), text, "{args:?}");
}

#[test]
fn an_input_that_is_also_an_output_is_refused_and_kept_whole() {
    let scratch = Scratch::new("input-is-output");
    let jobs: Vec<String> = three_urls("input-is-output")
        .iter()
        .map(|url| format!("{{\"url\":\"{url}\"}}"))
        .collect();
    let (input, text) = file_of(&scratch, "jobs.jsonl", &jobs);
    let symlink = scratch.path("symlink.jsonl");
    std::os::unix::fs::symlink(&input, &symlink).unwrap();
    let hard_link = scratch.path("hard-link.jsonl");
    std::fs::hard_link(&input, &hard_link).unwrap();
    let out = scratch.path("out.jsonl");
    let [input, symlink, hard_link, out] =
        [&input, &symlink, &hard_link, &out].map(|p| p.to_str().unwrap());
    // Running the failures file again, writing it as the failures file.
    refused(
        &["run", "--failures", input, input],
        &["--failures", input, "is the input"],
        input.as_ref(),
        &text,
    );
    for output in [input, symlink, hard_link] {
        refused(
            &["run", "-o", output, input],
            &["-o", output, input],
            input.as_ref(),
            &text,
        );
        refused(
            &["run", "-o", out, "--failures", output, "--resume", input],
            &["--failures", output, input],
            input.as_ref(),
            &text,
        );
    }
}

#[test]
fn an_output_that_is_also_stdin_is_refused_and_kept_whole() {
    let scratch = Scratch::new("stdin-is-output");
    let (input, text) = file_of(&scratch, "urls.txt", &three_urls("stdin-is-output"));
    let output = std::process::Command::new(tb_host_tests::harness::binary())
        .args(["run", "-o", input.to_str().unwrap(), "-"])
        .stdin(std::fs::File::open(&input).unwrap())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("is the input stdin"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&input).unwrap(), text);
}

#[test]
fn one_file_for_records_and_failures_is_refused() {
    let scratch = Scratch::new("records-are-failures");
    let input = scratch.write_lines("urls.txt", &three_urls("records-are-failures"));
    let earlier = "{\"index\":0}\n";
    let both = scratch.path("both.jsonl");
    std::fs::write(&both, earlier).unwrap();
    let symlink = scratch.path("symlink.jsonl");
    std::os::unix::fs::symlink(&both, &symlink).unwrap();
    let [input, both, symlink] = [&input, &both, &symlink].map(|p| p.to_str().unwrap());
    for failures in [both, symlink] {
        refused(
            &["run", "-o", both, "--failures", failures, input],
            &["-o", both, "--failures", failures, "one file"],
            both.as_ref(),
            earlier,
        );
    }
    let new = scratch.path("new.jsonl");
    let new = new.to_str().unwrap();
    let run = tb_host(&["run", "-o", new, "--failures", new, input], "");
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("one file"), "{}", run.stderr);
}

#[test]
fn a_bad_failures_path_leaves_an_existing_output_untouched() {
    let scratch = Scratch::new("bad-failures-path");
    let input = scratch.write_lines("urls.txt", &three_urls("bad-failures-path"));
    let output = scratch.path("out.jsonl");
    let earlier = "the records of an earlier run\n";
    std::fs::write(&output, earlier).unwrap();
    let failures = scratch.path("no-such-dir/failed.jsonl");
    let run = tb_host(
        &[
            "run",
            "-o",
            output.to_str().unwrap(),
            "--failures",
            failures.to_str().unwrap(),
            input.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(failures.to_str().unwrap()),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read_to_string(&output).unwrap(), earlier);
}

#[test]
fn a_second_run_on_one_output_is_refused_naming_the_first() {
    use std::process::{Command, Stdio};
    let scratch = Scratch::new("two-runs");
    let jobs = 8;
    let urls: Vec<String> = (0..jobs)
        .map(|i| server().url(&format!("/slow/150?two-runs={i}")))
        .collect();
    let input = scratch.write_lines("urls.txt", &urls);
    let output = scratch.path("out.jsonl");
    let args = [
        "run",
        "-q",
        "-j",
        "1",
        "-o",
        output.to_str().unwrap(),
        input.to_str().unwrap(),
    ];
    let first = Command::new(tb_host_tests::harness::binary())
        .args(args)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lock = scratch.path("out.jsonl.lock");
    let started = Instant::now();
    while !std::fs::read_to_string(&lock).is_ok_and(|pid| pid.ends_with('\n')) {
        assert!(started.elapsed() < Duration::from_secs(20), "no lock taken");
        std::thread::sleep(Duration::from_millis(5));
    }
    let holder = format!("process {}", first.id());
    let mut resumed = args.to_vec();
    resumed.push("--resume");
    for second in [&args[..], &resumed] {
        let run = tb_host(second, "");
        assert_eq!(run.code, 2, "{second:?}: {}", run.stderr);
        assert!(
            run.stderr.contains(output.to_str().unwrap()) && run.stderr.contains(&holder),
            "{second:?}: {}",
            run.stderr
        );
    }
    let first = first.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert_eq!(first.status.code(), Some(0), "{stderr}");
    exactly_once(&read_records(&output), 0..jobs, &stderr);
    assert!(!lock.exists(), "the first run removed its lock file");
}

#[test]
fn records_carry_headers_and_bodies_for_a_pipeline_secrets_redacted() {
    let binary = tb_loopback::Server::builder()
        .handler(|request: &tb_loopback::Request<'_>| {
            (request.path() == "/binary").then(|| {
                tb_loopback::Outcome::Reply(tb_loopback::Reply::new(200, vec![0xff, 0xfe, 0, 1]))
            })
        })
        .start()
        .unwrap();
    let urls = [
        server().url("/json"),
        server().url("/bytes/3000"),
        server().url("/echo/record-body"),
        binary.url("/binary"),
    ];
    let run = tb_host(
        &[
            "run",
            "-j",
            "1",
            "--record-headers",
            "--record-body",
            "--record-body-limit",
            "1K",
            "--plugin",
            fixtures::BEARER_AUTH,
            "--plugin-config",
            "token=s3cr3t-recorded",
            "-",
        ],
        &(urls.join("\n") + "\n"),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let records = run.by_index(urls.len());
    let json = records[&0];
    assert_eq!(json["body"], serde_json::json!({"ok": true, "n": 42}));
    assert_eq!(json["headers"]["content-type"], "application/json");
    assert!(json.get("body_cut").is_none(), "{json}");
    let long = records[&1];
    assert_eq!(long["body"].as_str().unwrap(), "x".repeat(1024));
    assert_eq!(
        (long["body_cut"].as_bool(), long["bytes"].as_u64()),
        (Some(true), Some(3000))
    );
    let echoed = records[&2];
    assert_eq!(
        echoed["body"]["headers"]["authorization"], "Bearer [redacted]",
        "the echo of the plugin's token is redacted: {echoed}"
    );
    assert!(
        !run.stdout.contains("s3cr3t-recorded"),
        "leaked: {}",
        run.stdout
    );
    let raw = records[&3];
    assert_eq!(raw["body_base64"], "//4AAQ==");
    assert!(raw.get("body").is_none(), "{raw}");
}
