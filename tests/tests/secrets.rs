//! Secrets given to plugins (configuration values, files named with
//! `@FILE`, granted environment variables) never appear in what tb-host
//! writes: stdout, stderr at the most verbose log level, the output file
//! or the failures file. They do reach the server, which shows the run
//! really used them.

use std::process::Command;

use tb_host::plugin::REDACTED;
use tb_host_tests::fixtures;
use tb_host_tests::harness::{self, Run, Scratch, exactly_once, read_records, server};

/// Each secret, and the one way the run hands it to a plugin.
const FROM_ENV: &str = "k3y-from-the-environment-0451";
const FROM_FILE: &str = "t0ken-from-a-file-9921";
const FROM_CONFIG: &str = "c0nfig-value-7731";

/// A port nothing listens on: requests to it fail with a `connect` error
/// whose cause names the URL they were sent to.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Compiles the plugins into the plugin cache once, at the normal log
/// level: at trace level the compiler logs every function it compiles,
/// which takes a minute and has nothing to do with secrets.
fn warm_the_plugin_cache() {
    static WARM: std::sync::Once = std::sync::Once::new();
    WARM.call_once(|| {
        let plugins = [
            (fixtures::API_KEY, "key=warm"),
            (fixtures::BEARER_AUTH, "token=warm"),
            (fixtures::HOSTILE, "unused=1"),
        ];
        for (plugin, config) in plugins {
            let args = ["run", "--plugin", plugin, "--plugin-config", config];
            let run = harness::tb_host(&args, "");
            assert_eq!(run.code, 0, "{}", run.stderr);
        }
    });
}

/// Runs tb-host at trace level (`-vvv` and `RUST_LOG=trace`, so the
/// HTTP client's own logs show too), output and failures to files.
fn run_traced(scratch: &Scratch, args: &[&str], urls: &[String]) -> (Run, String, String) {
    warm_the_plugin_cache();
    let input = scratch.write_lines("urls.txt", urls);
    let output = scratch.path("out.jsonl");
    let failures = scratch.path("failures.jsonl");
    let out = Command::new(harness::binary())
        .args(["run", "-vvv", "-j", "2", "--max-attempts", "2"])
        .args(args)
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .arg("--failures")
        .arg(&failures)
        .env("RUST_LOG", "trace")
        .env("TB_SECRET_KEY", FROM_ENV)
        .output()
        .expect("run tb-host");
    let run = Run::parse(out.status.code().unwrap_or(-1), out.stdout, out.stderr);
    let output = std::fs::read_to_string(&output).unwrap_or_default();
    let failures = std::fs::read_to_string(&failures).unwrap_or_default();
    (run, output, failures)
}

fn assert_hidden(what: &str, text: &str) {
    for secret in [FROM_ENV, FROM_FILE, FROM_CONFIG] {
        assert!(!text.contains(secret), "{secret} leaked to {what}:\n{text}");
    }
}

#[test]
fn secrets_never_show_in_stdout_stderr_output_or_failures_at_trace_level() {
    let scratch = Scratch::new("secrets");
    let token = scratch.write_lines("token.txt", &[FROM_FILE]);
    let token = format!("bearer:token=@{}", token.display());
    let decoy = format!("hostile:decoy={FROM_CONFIG}");
    let closed = closed_port();
    let urls = vec![
        // Answered: the key goes out in the query, the token in a header.
        server().url("/echo/secrets/ok?x=1"),
        // Refused: the client's error and its debug log name the URL the
        // key was put in.
        format!("http://127.0.0.1:{closed}/refused?x=1"),
        // Reset before the status line, then retried: more client logs.
        server().url("/reset/secrets-reset/5"),
        // A plugin that prints everything it was given, at every level,
        // then fails with it in its message; one that panics with it.
        server().url("/echo/secrets/leak?authorize=leak"),
        server().url("/echo/secrets/panic?authorize=leak-panic"),
        server().url("/status/503?decide-retry=leak"),
    ];
    let args = [
        "--plugin",
        &format!("api={}", fixtures::API_KEY),
        "--plugin-env",
        "api:TB_SECRET_KEY",
        "--plugin-config",
        "api:key-env=TB_SECRET_KEY",
        "--plugin-config",
        "api:query=apikey",
        "--plugin",
        &format!("bearer={}", fixtures::BEARER_AUTH),
        "--plugin-config",
        &token,
        "--plugin",
        &format!("hostile={}", fixtures::HOSTILE),
        "--plugin-config",
        &decoy,
        "--plugin-env",
        "hostile:TB_SECRET_KEY",
    ];
    let (run, output, failures) = run_traced(&scratch, &args, &urls);
    assert_eq!(run.code, 1, "some jobs fail: {}", run.stderr);

    // The secrets were used: the server saw the key and the token.
    let seen = server().requests_to("/echo/secrets/ok");
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(
        seen[0].path.contains(&format!("apikey={FROM_ENV}")),
        "{}",
        seen[0].path
    );
    assert_eq!(
        seen[0].header("authorization"),
        Some(format!("Bearer {FROM_FILE}").as_str())
    );

    // Every job ended once, and the failures are the ones expected.
    let records: Vec<serde_json::Value> = output
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON record"))
        .collect();
    let by_index = exactly_once(&records, 0..urls.len() as u64, &run.stderr);
    assert_eq!(by_index[&0]["status"], 200);
    assert_eq!(by_index[&1]["error"]["kind"], "connect", "{}", by_index[&1]);
    for leaky in [3, 4, 5] {
        let error = &by_index[&leaky]["error"];
        assert_eq!(error["kind"], "plugin", "{error}");
        let message = error["message"].as_str().unwrap();
        assert!(message.contains("hostile"), "{message}");
        assert!(message.contains(REDACTED), "{message}");
    }
    assert_eq!(read_failures(&scratch).len(), 5, "{failures}");

    // The leaks were tried, at every level, and hidden.
    for level in ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"] {
        assert!(
            run.stderr
                .lines()
                .any(|l| l.contains(level) && l.contains(&format!("leaks decoy={REDACTED}"))),
            "no hidden leak at {level}:\n{}",
            run.stderr
        );
    }
    assert_hidden("stdout", &run.stdout);
    assert_hidden("stderr", &run.stderr);
    assert_hidden("the output file", &output);
    assert_hidden("the failures file", &failures);
}

/// The failures file's jobs, one JSON value per line.
fn read_failures(scratch: &Scratch) -> Vec<serde_json::Value> {
    read_records(&scratch.path("failures.jsonl"))
}

#[test]
fn a_plugin_refusing_its_secret_config_does_not_echo_it() {
    let scratch = Scratch::new("secrets-refused");
    let args = [
        "--plugin",
        &format!("hostile={}", fixtures::HOSTILE),
        "--plugin-config",
        "hostile:configure=leak",
        "--plugin-config",
        &format!("hostile:decoy={FROM_CONFIG}"),
    ];
    let (run, output, failures) = run_traced(&scratch, &args, &[server().url("/echo/x")]);
    assert_eq!(
        run.code, 2,
        "a plugin that refuses to start: {}",
        run.stderr
    );
    assert!(run.stderr.contains("refused to start"), "{}", run.stderr);
    assert!(run.stderr.contains(REDACTED), "{}", run.stderr);
    assert_hidden("stderr", &run.stderr);
    assert_hidden("stdout", &run.stdout);
    assert!(output.is_empty() && failures.is_empty());
}
