//! The example plugins through the real binary, against the loopback
//! server. Hostile plugins have their own file, `hostile_plugins.rs`.

use std::time::Instant;

use tb_host_tests::fixtures;
use tb_host_tests::harness::{server, tb_host};

/// Runs `tb-host run` on `urls` (given on stdin) with extra `args`.
fn run_urls(args: &[&str], urls: &[String]) -> tb_host_tests::harness::Run {
    let mut all = vec!["run", "--threads", "4"];
    all.extend_from_slice(args);
    tb_host(&all, &(urls.join("\n") + "\n"))
}

#[test]
fn bearer_token_reaches_server() {
    let urls: Vec<String> = (0..20)
        .map(|i| server().url(&format!("/echo/bearer/{i}")))
        .collect();
    let run = run_urls(
        &[
            "--plugin",
            fixtures::BEARER_AUTH,
            "--plugin-config",
            "token=s3cr3t-bearer",
            "-v",
        ],
        &urls,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    for record in run.by_index(20).values() {
        assert_eq!(record["status"], 200);
        assert_eq!(record["error"], serde_json::Value::Null);
    }
    for i in 0..20 {
        let seen = server().requests_to(&format!("/echo/bearer/{i}"));
        assert_eq!(seen.len(), 1);
        assert_eq!(
            seen[0].header("authorization"),
            Some("Bearer s3cr3t-bearer")
        );
    }
    assert!(!run.stdout.contains("s3cr3t"), "the token leaked to stdout");
    assert!(!run.stderr.contains("s3cr3t"), "the token leaked to stderr");
}

#[test]
fn session_header_reaches_server() {
    let urls: Vec<String> = (0..10)
        .map(|i| server().url(&format!("/echo/session/{i}")))
        .collect();
    let run = run_urls(
        &[
            "--plugin",
            fixtures::SESSION_HEADERS,
            "--plugin-config",
            "header.X-Session-Header=on",
        ],
        &urls,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.by_index(10);
    for i in 0..10 {
        let seen = server().requests_to(&format!("/echo/session/{i}"));
        assert_eq!(seen[0].header("x-session-header"), Some("on"));
    }
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

#[test]
fn service_unavailable_then_ok_succeeds_after_retries() {
    let path = "/flaky/plugins-503/2/503";
    let run = run_urls(&retry_args(), &[server().url(path)]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let records = run.by_index(1);
    assert_eq!(records[&0]["status"], 200);
    assert_eq!(records[&0]["attempts"], 3);
    assert_eq!(server().hits(path), 3, "the server saw every attempt");
}

#[test]
fn reset_then_ok_succeeds_after_a_retry() {
    let path = "/reset/plugins-reset/1";
    let run = run_urls(&retry_args(), &[server().url(path)]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let records = run.by_index(1);
    assert_eq!(records[&0]["status"], 200);
    assert_eq!(records[&0]["attempts"], 2);
    assert_eq!(server().hits(path), 2);
}

#[test]
fn retries_stop_at_the_plugins_max_attempts() {
    let path = "/flaky/plugins-always/100/503";
    let mut args = retry_args();
    args.extend(["--plugin-config", "max-attempts=3"]);
    let run = run_urls(&args, &[server().url(path)]);
    let records = run.by_index(1);
    assert_eq!(records[&0]["status"], 503, "the last response is kept");
    assert_eq!(records[&0]["attempts"], 3);
    assert_eq!(server().hits(path), 3);
    assert_eq!(run.code, 0, "a 503 is an HTTP response, not a failure");
}

#[test]
fn host_max_attempts_caps_what_a_plugin_asks() {
    let path = "/flaky/plugins-capped/100/503";
    let mut args = retry_args();
    args.extend(["--plugin-config", "max-attempts=50", "--max-attempts", "2"]);
    let run = run_urls(&args, &[server().url(path)]);
    assert_eq!(run.by_index(1)[&0]["attempts"], 2);
    assert_eq!(server().hits(path), 2);
}

#[test]
fn retry_after_one_second_is_honoured() {
    let path = "/retry-after/plugins-429/1";
    let started = Instant::now();
    let run = run_urls(&retry_args(), &[server().url(path)]);
    let took = started.elapsed();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let records = run.by_index(1);
    assert_eq!(records[&0]["status"], 200);
    assert_eq!(records[&0]["attempts"], 2);
    let elapsed_ms = records[&0]["elapsed_ms"].as_f64().unwrap();
    assert!(
        (1000.0..3000.0).contains(&elapsed_ms),
        "waited {elapsed_ms} ms for Retry-After: 1 (max-ms=20 must not shorten it)"
    );
    assert!(took.as_millis() >= 1000);
}

#[test]
fn plugin_refusing_its_config_is_a_setup_error() {
    let run = tb_host(
        &["run", "--plugin", fixtures::BEARER_AUTH],
        &server().url("/fast/never"),
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("token"),
        "says which key: {}",
        run.stderr
    );
}

#[test]
fn a_token_endpoint_that_hangs_delays_only_the_worker_waiting_for_it() {
    // The first token request takes 3 s, later ones none. Four workers each
    // fetch a token on their first job: one waits, the other three (one
    // of them on its carrier) do every other job meanwhile.
    let tokens = tb_loopback::Server::builder()
        .handler(|request: &tb_loopback::Request<'_>| {
            (request.path() == "/token").then(|| {
                if request.position() == 1 {
                    std::thread::sleep(std::time::Duration::from_secs(3));
                }
                tb_loopback::Outcome::Reply(tb_loopback::Reply::text(200, "t0k3n"))
            })
        })
        .handler(tb_loopback::Routes)
        .start()
        .unwrap();
    let urls: Vec<String> = (0..40)
        .map(|i| tokens.url(&format!("/echo/token-wait/{i}")))
        .collect();
    let token_url = format!("token-url={}", tokens.url("/token"));
    let grant = format!("127.0.0.1:{}", tokens.port());
    let run = tb_host(
        &[
            "run",
            "-j",
            "4",
            "--plugin",
            fixtures::TOKEN_FETCH,
            "--plugin-config",
            &token_url,
            "--plugin-allow-host",
            &grant,
        ],
        &(urls.join("\n") + "\n"),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let records = run.by_index(urls.len());
    let waited: Vec<u64> = records
        .iter()
        .filter(|(_, record)| record["elapsed_ms"].as_f64().unwrap() >= 2500.0)
        .map(|(index, _)| *index)
        .collect();
    assert_eq!(
        waited.len(),
        1,
        "only one job waited for the token: {waited:?}"
    );
    for record in records.values() {
        assert_eq!(record["status"], 200, "{record}");
    }
    assert_eq!(
        run.records.last().unwrap()["index"],
        waited[0],
        "the job that waited ends last"
    );
}
