//! `tb-host run`'s inputs and request flags, end to end: JSON-lines jobs
//! and what the server received from them, format detection, bad lines,
//! the body, redirect, proxy and user-agent flags, and the failures file
//! run again exactly.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use tb_host_tests::harness::{self, Scratch, refused_url, server, tb_host};
use tb_host_tests::peak::tb_host_peak;
use tb_loopback::Recorded;

/// The one request the server recorded for `path`.
fn received(path: &str) -> Recorded {
    let seen = server().requests_to(path);
    assert_eq!(seen.len(), 1, "one request to {path}: {seen:?}");
    seen.into_iter().next().unwrap()
}

/// `jobs` as JSON lines, one per line.
fn lines(jobs: &[Value]) -> String {
    jobs.iter().map(|job| format!("{job}\n")).collect()
}

#[test]
fn jsonl_jobs_send_their_method_headers_params_and_body() {
    let data = "/echo/input-fields/data";
    let body = "/echo/input-fields/json";
    let typed = "/echo/input-fields/typed";
    let plain = "/echo/input-fields/plain";
    let input = lines(&[
        json!({"method": "put", "url": server().url(&format!("{data}?a=1")),
               "headers": {"X-Job": "j", "X-Both": "job"},
               "params": {"b": "two words", "n": 3, "yes": true},
               "data": "hello, body"}),
        json!({"method": "POST", "url": server().url(body), "json": {"k": [1, "two", null]}}),
        json!({"method": "POST", "url": server().url(typed), "json": "s",
               "headers": {"content-type": "application/vnd.x+json"}}),
        json!({"url": server().url(plain)}),
    ]);
    let run = tb_host(
        &[
            "run",
            "--input-format",
            "jsonl",
            "-X",
            "delete",
            "-H",
            "X-Flag: f",
            "-H",
            "x-both: flag",
        ],
        &input,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let records = run.by_index(4);
    assert_eq!(records[&0]["method"], "PUT");

    let seen = received(data);
    assert_eq!(seen.method, "PUT");
    assert_eq!(seen.target, format!("{data}?a=1&b=two+words&n=3&yes=true"));
    assert_eq!(seen.header("x-job"), Some("j"));
    assert_eq!(seen.header("x-flag"), Some("f"), "flags' headers stay");
    assert_eq!(seen.header("x-both"), Some("job"), "the job's header wins");
    assert_eq!(
        seen.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("x-both"))
            .count(),
        1
    );
    assert_eq!(seen.body, b"hello, body");

    let seen = received(body);
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.header("content-type"), Some("application/json"));
    let sent: Value = serde_json::from_slice(&seen.body).unwrap();
    assert_eq!(sent, json!({"k": [1, "two", null]}));

    let seen = received(typed);
    assert_eq!(seen.header("content-type"), Some("application/vnd.x+json"));
    assert_eq!(seen.body, br#""s""#);

    let seen = received(plain);
    assert_eq!(seen.method, "DELETE", "-X is the default method");
    assert_eq!(seen.header("x-both"), Some("flag"));
    assert!(seen.body.is_empty());
}

#[test]
fn a_jobs_timeout_wins_over_the_flag() {
    let input = lines(&[
        json!({"url": server().url("/slow/2000?input-timeout=short"), "timeout": 0.2}),
        json!({"url": server().url("/slow/300?input-timeout=long"), "timeout": 10}),
    ]);
    let run = tb_host(
        &["run", "--input-format", "jsonl", "--timeout", "0.1"],
        &input,
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let records = run.by_index(2);
    assert_eq!(records[&0]["error"]["kind"], "timeout", "{}", run.stdout);
    assert!(records[&0]["elapsed_ms"].as_f64().unwrap() < 1500.0);
    assert_eq!(records[&1]["status"], 200, "{}", run.stdout);
}

#[test]
fn bad_jsonl_lines_are_input_failures_and_the_run_goes_on() {
    let good = |i: u32| json!({"url": server().url(&format!("/fast/input-bad/{i}"))}).to_string();
    let huge = format!("{{\"url\": \"{}", "x".repeat(200_000));
    let input = [
        good(0),
        "not json".to_owned(),
        r#"{"method": "GET"}"#.to_owned(),
        String::new(),
        r#"{"url": "http://127.0.0.1/", "data": "a", "json": 1}"#.to_owned(),
        r#"{"url": 5}"#.to_owned(),
        r#"{"url": "http://127.0.0.1/", "headers": {"X-A": 1}}"#.to_owned(),
        huge,
        good(1),
    ]
    .join("\n");
    let run = tb_host(&["run", "--input-format", "jsonl", "-"], &input);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let records = run.by_index(8);
    assert_eq!(records[&0]["status"], 200);
    assert_eq!(records[&7]["status"], 200, "the run goes on");
    let expected = [
        (1, "line 2: not a JSON object"),
        (2, r#"line 3: field "url" is missing"#),
        (3, "line 5: fields data and json cannot both be given"),
        (4, r#"line 6: field "url": invalid type"#),
        (5, r#"line 7: field "headers": invalid type"#),
        (6, "line 8: not a JSON object"),
    ];
    for (index, start) in expected {
        let record = records[&index];
        assert_eq!(record["error"]["kind"], "input", "{record}");
        assert_eq!(record["attempts"], 0, "a bad line is never sent");
        let message = record["error"]["message"].as_str().unwrap();
        assert!(message.starts_with(start), "{index}: {message}");
    }
    let shown = records[&6]["url"].as_str().unwrap();
    assert!(
        shown.len() < 2000,
        "a huge line is cut off: {} bytes",
        shown.len()
    );
    assert!(shown.ends_with("(cut off at 1024 bytes)"), "{shown:.80}");
}

#[test]
fn the_format_follows_the_file_name_unless_given() {
    let scratch = Scratch::new("input-detect");
    let job = json!({"url": server().url("/fast/input-detect")}).to_string();
    for (name, flag, status) in [
        ("jobs.jsonl", None, Some(200)),
        ("jobs.ndjson", None, Some(200)),
        ("jobs.txt", None, None),
        ("jobs.txt", Some("jsonl"), Some(200)),
        ("jobs.jsonl", Some("urls"), None),
    ] {
        let path = scratch.write_lines(name, &[&job]);
        let mut args = vec!["run", path.to_str().unwrap()];
        if let Some(format) = flag {
            args.extend(["--input-format", format]);
        }
        let run = tb_host(&args, "");
        let record = run.by_index(1)[&0];
        match status {
            Some(code) => assert_eq!(record["status"], code, "{name} {flag:?}: {record}"),
            None => assert_eq!(
                record["error"]["kind"], "input",
                "{name} {flag:?}: {record}"
            ),
        }
    }
    let stdin = tb_host(&["run"], &format!("{job}\n"));
    assert_eq!(
        stdin.by_index(1)[&0]["error"]["kind"],
        "input",
        "stdin is URLs unless told"
    );
    let bad = tb_host(&["run", "--input-format", "csv"], "");
    assert_eq!(bad.code, 2);
}

#[test]
fn jsonl_is_read_as_it_arrives() {
    let mut child = Command::new(harness::binary())
        .args(["run", "--input-format", "jsonl", "--threads", "1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    // Each record comes out while stdin is still open: no line waits for
    // the end of the input.
    for i in 0..3 {
        let url = server().url(&format!("/fast/input-stream/{i}"));
        writeln!(stdin, "{}", json!({"url": url})).unwrap();
        stdin.flush().unwrap();
        let mut record = String::new();
        stdout.read_line(&mut record).unwrap();
        let record: Value = serde_json::from_str(&record).unwrap();
        assert_eq!(record["index"], i);
        assert_eq!(record["status"], 200);
    }
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0));
}

/// Sends one POST to a fresh `/echo` path with `flags` and checks the
/// body and content type the server received.
fn check_body_flag(name: &str, flags: &[&str], body: &[u8], content_type: Option<&str>) {
    let path = format!("/echo/input-body/{name}");
    let mut args = vec!["run", "-X", "POST"];
    args.extend(flags);
    let run = tb_host(&args, &server().url(&path));
    assert_eq!(run.code, 0, "{name}: {}", run.stderr);
    let seen = received(&path);
    assert_eq!(seen.body, body, "{name}");
    assert_eq!(seen.header("content-type"), content_type, "{name}");
}

#[test]
fn body_flags_send_a_body_on_every_request() {
    let scratch = Scratch::new("input-body");
    let file = scratch.path("body.bin");
    std::fs::write(&file, b"\x00from a file\xff").unwrap();
    check_body_flag("data", &["--data", "plain text"], b"plain text", None);
    check_body_flag(
        "data-file",
        &["--data-file", file.to_str().unwrap()],
        b"\x00from a file\xff",
        None,
    );
    check_body_flag(
        "json",
        &["--json", r#"{"a": 1}"#],
        br#"{"a": 1}"#,
        Some("application/json"),
    );
}

#[test]
fn bad_request_flags_are_set_up_errors() {
    let missing = tb_host(&["run", "--data-file", "/no/such/body.bin"], "");
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("/no/such/body.bin"),
        "{}",
        missing.stderr
    );
    for args in [
        &["run", "--json", "{not json"][..],
        &["run", "--data", "a", "--json", "1"],
        &["run", "-X", "NOT A METHOD"],
        &["run", "--timeout", "0"],
        &["run", "--connect-timeout", "-1"],
        &["run", "--proxy", "ftp://127.0.0.1:1"],
        &["run", "--user-agent", "bad\u{7f}agent"],
    ] {
        let run = tb_host(args, &server().url("/echo/input-never"));
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.records.is_empty(), "{args:?}");
    }
    assert_eq!(server().hits("/echo/input-never"), 0);
}

#[test]
fn max_redirects_limits_the_redirects_followed() {
    let url = server().url("/redirect/2");
    let none = tb_host(&["run", "--max-redirects", "0"], &url);
    assert_eq!(none.code, 0, "{}", none.stderr);
    assert_eq!(none.by_index(1)[&0]["status"], 302);
    let one = tb_host(&["run", "--max-redirects", "1"], &url);
    assert_eq!(one.by_index(1)[&0]["error"]["kind"], "redirect");
    let default = tb_host(&["run"], &url);
    assert_eq!(default.by_index(1)[&0]["status"], 200);
}

#[test]
fn user_agent_and_connect_timeout_apply_to_every_session() {
    let run = tb_host(
        &[
            "run",
            "--user-agent",
            "input-test/1.0",
            "--connect-timeout",
            "2",
        ],
        &server().url("/echo/input-ua/set"),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        received("/echo/input-ua/set").header("user-agent"),
        Some("input-test/1.0")
    );
    let run = tb_host(&["run"], &server().url("/echo/input-ua/default"));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let agent = received("/echo/input-ua/default");
    assert!(
        agent.header("user-agent").unwrap().starts_with("tb-host/"),
        "{agent:?}"
    );
}

#[test]
fn proxy_carries_every_request() {
    // No proxy listens there, so every request fails to connect, though
    // the server itself would answer: the proxy is used.
    let proxy = refused_url("");
    let input = format!(
        "{}\n{}\n",
        server().url("/echo/input-proxy/0"),
        server().url("/echo/input-proxy/1")
    );
    let run = tb_host(&["run", "--proxy", &proxy], &input);
    assert_eq!(run.code, 1, "{}", run.stderr);
    for record in run.by_index(2).values() {
        assert_eq!(record["error"]["kind"], "connect", "{record}");
    }
    assert_eq!(server().hits("/echo/input-proxy/0"), 0);
}

/// The failures file (the one test of it run again): every failed job
/// is a `jsonl` line of what was sent, flags included and nothing more,
/// which runs the same requests again; what fails again is written again.
#[test]
fn the_failures_file_runs_again_exactly() {
    let scratch = Scratch::new("input-failures");
    let failures = scratch.path("failures.jsonl");
    let refused = refused_url("/refused");
    let text = "/reset/input-failures/text/1";
    let binary = "/reset/input-failures/binary/1";
    let json_body = "/reset/input-failures/json/1";
    let plain = "/reset/input-failures/plain/1";
    let input = lines(&[
        json!({"method": "PATCH", "url": refused, "headers": {"X-Refused": "r"},
               "data": "to nowhere", "timeout": 5}),
        json!({"method": "POST", "url": server().url(text),
               "headers": {"X-Text": "t", "Accept": "text/plain"}, "data": "é text\n\"q\""}),
        json!({"method": "PUT", "url": server().url(binary), "data_base64": "AP8Bgg=="}),
        json!({"method": "POST", "url": server().url(json_body), "params": {"p": 1},
               "json": {"n": [1, 2]}}),
        json!({"url": server().url(plain)}),
        json!({"url": server().url("/fast/input-failures")}),
    ]) + "not a job\n";
    let jobs = scratch.path("jobs.jsonl");
    std::fs::write(&jobs, &input).unwrap();
    let first = tb_host(
        &[
            "run",
            "-H",
            "X-Flag: from the flag",
            "--failures",
            failures.to_str().unwrap(),
            jobs.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(first.code, 1, "{}", first.stderr);
    let records = first.by_index(7);
    let kinds: Vec<&str> = (0..7)
        .map(|i| records[&i]["error"]["kind"].as_str().unwrap_or("none"))
        .collect();
    assert_eq!(
        kinds,
        [
            "connect", "reset", "reset", "reset", "reset", "none", "input"
        ],
        "{}",
        first.stdout
    );
    let written = std::fs::read_to_string(&failures).unwrap();
    let written: Vec<Value> = written
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(written.len(), 6, "{written:?}");
    let refused_line = written.iter().find(|job| job["url"] == refused).unwrap();
    assert_eq!(
        refused_line,
        &json!({"method": "PATCH", "url": refused, "data": "to nowhere", "timeout": 5.0,
                "headers": {"X-Flag": "from the flag", "X-Refused": "r"}})
    );
    let binary_line = written
        .iter()
        .find(|job| job["url"] == server().url(binary))
        .unwrap();
    assert_eq!(binary_line["data_base64"], "AP8Bgg==");
    let plain_line = written
        .iter()
        .find(|job| job["url"] == server().url(plain))
        .unwrap();
    assert_eq!(
        plain_line,
        &json!({"method": "GET", "url": server().url(plain),
                "headers": {"X-Flag": "from the flag"}}),
        "a job of a URL alone: its method, its URL and the flags' header"
    );
    let input_line = written
        .iter()
        .find(|job| job["url"] == "not a job")
        .unwrap();
    assert_eq!(
        input_line["method"], "GET",
        "an input failure is written with its text: {written:?}"
    );

    // Run the failures file, with no flags: the failed requests go out as
    // they did the first time, and this time the flaky routes answer.
    let again = scratch.path("again.jsonl");
    let second = tb_host(
        &[
            "run",
            "--failures",
            again.to_str().unwrap(),
            failures.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(second.code, 1, "{}", second.stderr);
    let records = second.by_index(6);
    let statuses = records.values().filter(|r| r["status"] == 200).count();
    assert_eq!(statuses, 4, "{}", second.stdout);
    for path in [text, binary, json_body, plain] {
        let seen = server().requests_to(path);
        assert_eq!(seen.len(), 2, "{path}: reset once, then answered");
        let sorted = |r: &Recorded| {
            let mut headers = r.headers.clone();
            headers.sort();
            (r.method.clone(), r.target.clone(), headers, r.body.clone())
        };
        assert_eq!(sorted(&seen[1]), sorted(&seen[0]), "{path}");
    }
    assert_eq!(server().requests_to(binary)[1].body, b"\x00\xff\x01\x82");
    let json_seen = &server().requests_to(json_body)[1];
    assert!(json_seen.target.ends_with("?p=1"), "{}", json_seen.target);
    assert_eq!(json_seen.header("content-type"), Some("application/json"));
    assert_eq!(json_seen.header("x-flag"), Some("from the flag"));
    // What failed again is written again, and only that: the request the
    // same, and the input failure as a GET of its line, which is now the
    // failures file's line.
    let again: Vec<Value> = std::fs::read_to_string(&again)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(again.len(), 2, "{again:?}");
    assert!(again.contains(refused_line), "{again:?}");
    let input_again = again.iter().find(|job| *job != refused_line).unwrap();
    assert_eq!(input_again["method"], "GET", "{again:?}");
    let line: Value = serde_json::from_str(input_again["url"].as_str().unwrap()).unwrap();
    assert_eq!(&line, input_line, "{again:?}");
}

/// Ten mebibytes: the size of the hostile lines.
const TEN_MIB: usize = 10 << 20;

/// `n` bytes of binary garbage (a fixed pseudo-random sequence, with NUL,
/// bytes over 0x7f that are not UTF-8, and no line break).
fn garbage(n: usize) -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    (0..n)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            match (state >> 56) as u8 {
                _ if i == 0 => 0xff,
                b'\n' | b'\r' => 0,
                byte => byte,
            }
        })
        .collect()
}

/// Writes `lines` to a file, each ended by a newline but the last.
fn write_bytes(scratch: &Scratch, name: &str, lines: &[Vec<u8>]) -> String {
    let path = scratch.path(name);
    std::fs::write(&path, lines.join(&b'\n')).unwrap();
    path.to_str().unwrap().to_owned()
}

/// Checks that the record of job `index` is an input failure whose message
/// starts with `line N:` and holds `says`, and that it shows no huge text.
fn assert_input_failure(record: &Value, line: u64, says: &str) {
    assert_eq!(record["error"]["kind"], "input", "{record:.300}");
    assert_eq!(record["attempts"], 0, "a bad line is never sent");
    let message = record["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!("line {line}: ")) && message.contains(says),
        "line {line}: expected {says:?} in {message:.300}"
    );
    assert!(message.len() < 4096, "message of {} bytes", message.len());
    let url = record["url"].as_str().unwrap();
    assert!(url.len() < 2048, "url shown with {} bytes", url.len());
}

#[test]
fn hostile_url_lines_each_fail_alone_and_the_run_goes_on() {
    let scratch = Scratch::new("input-hostile-urls");
    let lines = vec![
        server().url("/fast/hostile-urls/0").into_bytes(),
        vec![b'x'; TEN_MIB],
        format!("{}{}", server().url("/fast/"), "a".repeat(TEN_MIB)).into_bytes(),
        garbage(64 << 10),
        b"http://127.0.0.1/caf\xe9".to_vec(),
        b"\x00\x01\x02\x7f".to_vec(),
        b"ftp://127.0.0.1/x".to_vec(),
        b"http://".to_vec(),
        // The last line has no newline.
        server().url("/fast/hostile-urls/1").into_bytes(),
    ];
    let input = write_bytes(&scratch, "urls.txt", &lines);
    let run = tb_host(&["run", &input], "");
    assert_eq!(run.code, 1, "{:.2000}", run.stderr);
    let records = run.by_index(lines.len());
    assert_eq!(records[&0]["status"], 200);
    assert_eq!(
        records[&8]["status"], 200,
        "the run goes on to the last line"
    );
    assert_input_failure(records[&1], 2, "at most 65534 can be sent");
    assert_input_failure(records[&2], 3, "at most 65534 can be sent");
    assert_input_failure(records[&3], 4, "UTF-8");
    assert_input_failure(records[&4], 5, "UTF-8");
    assert_input_failure(records[&5], 6, "the URL does not parse");
    assert_input_failure(records[&6], 7, "only http and https");
    assert_input_failure(records[&7], 8, "");
    assert!(
        run.stderr.len() < 64 << 10,
        "stderr stays short: {} bytes",
        run.stderr.len()
    );
}

#[test]
fn hostile_jsonl_lines_each_fail_alone_and_a_big_body_is_sent_whole() {
    let scratch = Scratch::new("input-hostile-jsonl");
    let url = |name: &str| server().url(&format!("/echo/hostile-jsonl/{name}"));
    let long_param = "q".repeat(70_000);
    let lines: Vec<Vec<u8>> = [
        json!({"url": url("first")}).to_string().into_bytes(),
        vec![b'{'; TEN_MIB],
        json!({"url": url("big"), "data": "d".repeat(TEN_MIB)})
            .to_string()
            .into_bytes(),
        b"{\"url\": \"http://127.0.0.1/\xff\"}".to_vec(),
        garbage(64 << 10),
        b"[1, 2]".to_vec(),
        b"null".to_vec(),
        b"\"just a string\"".to_vec(),
        json!({"url": url("x"), "timeout": "fast"})
            .to_string()
            .into_bytes(),
        json!({"url": url("x"), "method": 5})
            .to_string()
            .into_bytes(),
        json!({"url": url("x"), "params": [1, 2]})
            .to_string()
            .into_bytes(),
        json!({"url": url("x"), "headers": {"X-A": "a\r\nInjected: 1"}})
            .to_string()
            .into_bytes(),
        json!({"url": url("x"), "params": {"q": long_param}})
            .to_string()
            .into_bytes(),
        json!({"url": url("last")}).to_string().into_bytes(),
    ]
    .into_iter()
    .collect();
    let input = write_bytes(&scratch, "jobs.jsonl", &lines);
    let run = tb_host(&["run", &input], "");
    assert_eq!(run.code, 1, "{:.2000}", run.stderr);
    let records = run.by_index(lines.len());
    for (index, name) in [(0, "first"), (2, "big"), (13, "last")] {
        assert_eq!(records[&index]["status"], 200, "{}", records[&index]);
        assert_eq!(
            received(&format!("/echo/hostile-jsonl/{name}")).method,
            "GET"
        );
    }
    assert_eq!(
        received("/echo/hostile-jsonl/big").body.len(),
        TEN_MIB,
        "a 10 MiB body is sent whole"
    );
    assert_input_failure(records[&1], 2, "not a JSON object");
    assert_input_failure(records[&3], 4, "UTF-8");
    assert_input_failure(records[&4], 5, "UTF-8");
    assert_input_failure(records[&5], 6, "not a JSON object");
    assert_input_failure(records[&6], 7, "not a JSON object");
    assert_input_failure(records[&7], 8, "not a JSON object");
    assert_input_failure(records[&8], 9, "field \"timeout\": invalid type");
    assert_input_failure(records[&9], 10, "field \"method\": invalid type");
    assert_input_failure(records[&10], 11, "field \"params\": expected an object");
    assert_input_failure(records[&11], 12, "header");
    assert_input_failure(records[&12], 13, "at most 65534 can be sent");
    assert_eq!(
        server().hits("/echo/hostile-jsonl/x"),
        0,
        "no bad job is sent"
    );
}

#[test]
fn an_empty_file_is_a_run_of_no_jobs_and_a_directory_a_setup_error() {
    let scratch = Scratch::new("input-empty");
    let empty = scratch.path("empty.txt");
    std::fs::write(&empty, b"").unwrap();
    let run = tb_host(&["run", empty.to_str().unwrap()], "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.records.is_empty());
    assert!(run.stderr.contains("0 jobs"), "{}", run.stderr);

    let dir = scratch.path("");
    let dir = dir.to_str().unwrap();
    let run = tb_host(&["run", dir], "");
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(dir.trim_end_matches('/')),
        "{}",
        run.stderr
    );
    assert!(run.records.is_empty());
}

#[test]
fn an_input_that_never_ends_a_line_fails_as_input_and_the_run_ends() {
    // /dev/zero: NUL bytes without end and without a newline.
    let mut child = Command::new(harness::binary())
        .args(["run", "/dev/zero"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > std::time::Duration::from_secs(60) {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("tb-host run /dev/zero did not end within a minute");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    let run = harness::Run::parse(
        &["run", "/dev/zero"],
        output.status.code().unwrap_or(-1),
        output.stdout,
        output.stderr,
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let records = run.by_index(1);
    assert_input_failure(records[&0], 1, "no end of line");
}

#[test]
fn one_body_for_every_job_is_shared_not_copied() {
    // A 10 MiB body to 300 URLs at -j 64: copied into every job, that was
    // 3 GB; shared, it is one body.
    let scratch = Scratch::new("shared-body");
    let body = scratch.path("body.bin");
    std::fs::write(&body, vec![b'b'; 10 << 20]).unwrap();
    let urls: Vec<String> = (0..300)
        .map(|i| server().url(&format!("/fast/shared-body/{i}")))
        .collect();
    let (run, peak_mib) = tb_host_peak(
        &[
            "run",
            "-j",
            "64",
            "-X",
            "POST",
            "--data-file",
            body.to_str().unwrap(),
            "-",
        ],
        &(urls.join("\n") + "\n"),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    for record in run.by_index(urls.len()).values() {
        assert_eq!(record["status"], 200, "{record}");
    }
    assert!(
        peak_mib < 150.0,
        "peak {peak_mib:.0} MiB for one 10 MiB body"
    );
}

#[test]
fn resolve_sends_a_name_to_the_address_given_and_records_the_http_version() {
    let port = server().port();
    let url = format!("http://tb-host-resolve.invalid:{port}/echo/resolved");
    let resolve = format!("tb-host-resolve.invalid:{port}:127.0.0.1");
    let run = tb_host(&["run", "--resolve", &resolve, "--http1.1", "-"], &url);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let record = run.by_index(1)[&0];
    assert_eq!(record["status"], 200, "{record}");
    assert_eq!(record["http_version"], "HTTP/1.1");
    let seen = server().requests_to("/echo/resolved");
    assert_eq!(
        seen[0].header("host"),
        Some(format!("tb-host-resolve.invalid:{port}").as_str()),
        "the name stays in Host"
    );
    let unresolved = tb_host(&["run", "-"], &url);
    assert_eq!(unresolved.by_index(1)[&0]["error"]["kind"], "connect");
}
