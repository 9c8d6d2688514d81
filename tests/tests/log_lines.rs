//! A log line says only what its writer meant: text a server chose (here
//! an OAuth 2.0 token endpoint's `error_description`, which the plugin
//! puts in its error, which the host logs) cannot start a line of its
//! own, nor move the cursor over the lines before it.

use tb_host_tests::harness::{server, tb_host, tb_host_env};
use tb_host_tests::{auth_servers, fixtures};
use tb_loopback::{Reply, Request};

/// The line a hostile server would like the operator to read.
const FORGED: &str = "INFO all good, 0 failures";

#[test]
fn a_token_endpoint_cannot_forge_a_log_line() {
    // JSON escapes: the plugin decodes them to CR, LF and ESC (`ESC[1A`
    // moves the cursor up a line, `ESC[2K` erases it).
    let body = format!(
        r#"{{"error":"invalid_client","error_description":"refused\r\n{FORGED}\n\u001b[1A\u001b[2K"}}"#
    );
    let endpoint = auth_servers::start(move |_: &Request<'_>| {
        Reply::new(400, body.clone()).with("Content-Type", "application/json")
    })
    .expect("start the token endpoint");
    let token_url = format!("oauth:token-url={}", endpoint.url("/token"));
    let grant = format!("oauth:{}", endpoint.host());
    let args = [
        "run",
        "-v",
        "--plugin",
        &format!("oauth={}", fixtures::OAUTH2_CLIENT_CREDENTIALS),
        "--plugin-allow-host",
        &grant,
        "--plugin-config",
        &token_url,
        "--plugin-config",
        "oauth:client-id=tb-host tests",
        "--plugin-config",
        "oauth:client-secret=not-checked-here",
    ];
    let run = tb_host(&args, &server().url("/echo/forged-log-line"));
    assert_eq!(run.code, 1, "the job fails: {}", run.stderr);

    // The record has the server's words as they were, escaped as JSON is.
    let record = run.by_index(1)[&0];
    assert_eq!(record["error"]["kind"], "plugin", "{record}");
    let message = record["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("refused\r\n{FORGED}\n")),
        "{message}"
    );

    // The log shows them on the plugin's line, escaped, and starts no
    // line of theirs.
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert!(
        lines.iter().all(|line| !line.starts_with(FORGED)),
        "a forged line: {lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|line| line.contains(&format!(r"refused\r\n{FORGED}\n\x1b[1A\x1b[2K"))),
        "no escaped line: {lines:#?}"
    );
    assert!(!run.stderr.contains('\r'), "{:?}", run.stderr);
    // Off a terminal, no escape code at all: not the server's, nor colours.
    assert!(!run.stderr.contains('\u{1b}'), "{:?}", run.stderr);
}

#[test]
fn a_plugins_own_lines_are_picked_out_by_its_plugin_field() {
    // What guest-sdk's guide tells a plugin author: `RUST_LOG` keeps the
    // host quiet and shows the lines with a `plugin` field, and each of a
    // plugin's own lines carries `plugin="NAME"`, NAME its package's.
    let args = [
        "run",
        "-j",
        "1",
        "--max-attempts",
        "2",
        "--plugin",
        fixtures::SESSION_HEADERS,
        "--plugin",
        fixtures::RETRY_BACKOFF,
        "--plugin-config",
        "session-headers:header.X-A=1",
        "--plugin-config",
        "retry-backoff:statuses=503",
        "--plugin-config",
        "retry-backoff:max-ms=10",
    ];
    let env = [("RUST_LOG", "warn,[{plugin}]=debug")];
    let run = tb_host_env(&args, &env, &server().url("/status/503"));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mine: Vec<&str> = run
        .stderr
        .lines()
        .filter(|line| line.contains(r#"plugin="retry-backoff""#))
        .collect();
    assert!(
        mine.iter()
            .any(|line| line.contains("DEBUG") && line.contains("ended with status 503: retrying")),
        "retry-backoff's debug line: {}",
        run.stderr
    );
    assert!(
        mine.iter()
            .all(|line| !line.contains("adding to every session")),
        "only its own lines: {mine:#?}"
    );
    assert!(
        run.stderr
            .contains(r#"adding to every session: X-A plugin="session-headers""#),
        "the other plugin's lines carry its name: {}",
        run.stderr
    );
    for line in run.stderr.lines().filter(|line| line.contains("DEBUG")) {
        assert!(line.contains("plugin="), "a host line at debug: {line}");
    }
}
