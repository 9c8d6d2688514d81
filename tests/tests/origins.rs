//! Credentials stay with their origin, written as attacks: a server that
//! redirects a job elsewhere, a plugin that re-routes it with a `Host`
//! header or switches its scheme, a grant read wider than it was written,
//! and a signature the wire would break. Every case runs the real binary
//! against the loopback server, which answers on 127.0.0.1 and, as another
//! origin, on `localhost` at the same port.

use ring::hmac;
use serde_json::Value;
use tb_host_tests::fixtures;
use tb_host_tests::harness::{Run, server, tb_host};
use tb_loopback::Recorded;

/// The same server as another origin: `http://localhost:PORT`.
fn other_origin(path: &str) -> String {
    format!("http://localhost:{}{path}", server().port())
}

/// A URL of the loopback server that redirects to `location` with
/// `status`; `key` keeps tests apart.
fn redirect(key: &str, status: u16, location: &str) -> String {
    let encoded: String = location
        .bytes()
        .map(|byte| match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' => {
                char::from(byte).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect();
    server().url(&format!("/redirect-to/{key}?status={status}&url={encoded}"))
}

/// Runs `tb-host run` with `args` on the one job `url`.
fn run_one(args: &[&str], url: &str) -> Run {
    let mut all = vec!["run"];
    all.extend_from_slice(args);
    tb_host(&all, &format!("{url}\n"))
}

/// The one request the server got at `path`.
fn landed(path: &str) -> Recorded {
    let seen = server().requests_to(path);
    assert_eq!(seen.len(), 1, "{path} got {} requests", seen.len());
    seen.into_iter().next().unwrap()
}

/// Checks that the one job of `run` failed as `plugin`, saying `says`.
fn assert_plugin_failure(run: &Run, says: &str) {
    let failed = record(run);
    assert_eq!(failed["error"]["kind"], "plugin", "{failed}");
    let message = failed["error"]["message"].as_str().unwrap();
    assert!(message.contains(says), "{message}");
}

/// The record of the one job of `run`.
fn record(run: &Run) -> &Value {
    run.by_index(1)[&0]
}

#[test]
fn an_api_key_header_does_not_follow_a_redirect_to_another_origin() {
    let target = "/echo/origins/api-key-header";
    let url = redirect("api-key-header", 302, &other_origin(target));
    let run = run_one(
        &[
            "--plugin",
            fixtures::API_KEY,
            "--plugin-config",
            "key=SECRETKEY123",
        ],
        &url,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let first = landed("/redirect-to/api-key-header");
    assert_eq!(
        first.header("x-api-key"),
        Some("SECRETKEY123"),
        "the job's origin got it"
    );
    let other = landed(target);
    assert_eq!(other.header("x-api-key"), None, "{:?}", other.headers);
    assert_eq!(other.header("referer"), None, "{:?}", other.headers);
    let record = record(&run);
    assert_eq!(record["status"], 200, "{record}");
    assert_eq!(record["redirects"], 1, "{record}");
    assert_eq!(record["final_url"], other_origin(target), "{record}");
}

#[test]
fn a_query_key_leaks_neither_in_the_query_nor_as_a_referer() {
    let target = "/echo/origins/api-key-query";
    let url = redirect("api-key-query", 302, &other_origin(target));
    let run = run_one(
        &[
            "--plugin",
            fixtures::API_KEY,
            "--plugin-config",
            "key=SECRETKEY123",
            "--plugin-config",
            "query=appid",
        ],
        &url,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        landed("/redirect-to/api-key-query")
            .target
            .contains("appid=SECRETKEY123")
    );
    let other = landed(target);
    assert!(!other.target.contains("SECRETKEY123"), "{}", other.target);
    assert_eq!(other.header("referer"), None, "{:?}", other.headers);
    assert!(!run.stdout.contains("SECRETKEY123"), "{}", run.stdout);
}

#[test]
fn operator_credentials_are_dropped_on_an_origin_change_as_curl_does() {
    let target = "/echo/origins/operator";
    let url = redirect("operator", 307, &other_origin(target));
    let run = run_one(
        &[
            "-H",
            "Authorization: Bearer operator-token",
            "-H",
            "Cookie: session=operator",
            "-H",
            "X-Trace: 7",
        ],
        &url,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let first = landed("/redirect-to/operator");
    assert_eq!(first.header("authorization"), Some("Bearer operator-token"));
    let other = landed(target);
    assert_eq!(other.header("authorization"), None, "{:?}", other.headers);
    assert_eq!(other.header("cookie"), None, "{:?}", other.headers);
    assert_eq!(other.header("x-trace"), Some("7"), "other -H headers go on");
}

#[test]
fn session_headers_and_plugin_credentials_go_only_to_the_jobs_origin() {
    let same = "/echo/origins/session-same";
    let elsewhere = "/echo/origins/session-other";
    let urls = [
        redirect("session-same", 302, same),
        redirect("session-other", 302, &other_origin(elsewhere)),
    ];
    let args = [
        "run",
        "--plugin",
        fixtures::SESSION_HEADERS,
        "--plugin",
        fixtures::BEARER_AUTH,
        "--plugin-config",
        "session_headers:header.X-Tenant=acme-secret",
        "--plugin-config",
        "bearer_auth:token=t0k3n-abc",
    ];
    let run = tb_host(&args, &(urls.join("\n") + "\n"));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let kept = landed(same);
    assert_eq!(kept.header("x-tenant"), Some("acme-secret"));
    assert_eq!(
        kept.header("authorization"),
        Some("Bearer t0k3n-abc"),
        "re-authorized"
    );
    let other = landed(elsewhere);
    assert_eq!(other.header("x-tenant"), None, "{:?}", other.headers);
    assert_eq!(other.header("authorization"), None, "{:?}", other.headers);
}

#[test]
fn an_origin_granted_to_the_plugin_gets_its_credentials_after_a_redirect() {
    let target = "/echo/origins/granted";
    let url = redirect("granted", 302, &other_origin(target));
    let grant = format!("localhost:{}", server().port());
    let run = run_one(
        &[
            "--plugin",
            fixtures::API_KEY,
            "--plugin-config",
            "key=SECRETKEY123",
            "--plugin-allow-host",
            &grant,
        ],
        &url,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(landed(target).header("x-api-key"), Some("SECRETKEY123"));
}

#[test]
fn redirects_to_other_schemes_or_unreadable_locations_fail_as_redirect() {
    let mut urls: Vec<String> = [
        ("file", "file:///etc/passwd"),
        ("data", "data:text/plain,hello"),
        ("ftp", "ftp://127.0.0.1/x"),
        ("unparsable", "http://[::1/x"),
    ]
    .iter()
    .map(|(key, location)| redirect(&format!("scheme-{key}"), 302, location))
    .collect();
    // A Location byte that is not UTF-8: the route decodes %E9 to one byte.
    urls.push(server().url("/redirect-to/scheme-not-utf8?url=/echo/caf%E9"));
    let run = tb_host(&["run"], &(urls.join("\n") + "\n"));
    assert_eq!(run.code, 1, "{}", run.stderr);
    for (index, record) in run.by_index(urls.len()) {
        assert_eq!(record["error"]["kind"], "redirect", "{index}: {record}");
        assert!(record["status"].is_null(), "{record}");
    }
}

#[test]
fn too_many_redirects_fail_as_redirect_and_none_are_followed_at_zero() {
    let run = run_one(&["--max-redirects", "2"], &server().url("/redirect/3"));
    let failed = record(&run);
    assert_eq!(failed["error"]["kind"], "redirect", "{failed}");
    assert!(
        failed["error"]["message"]
            .as_str()
            .unwrap()
            .contains("more than 2")
    );
    let run = run_one(&["--max-redirects", "0"], &server().url("/redirect/4"));
    let answered = record(&run);
    assert_eq!(answered["status"], 302, "{answered}");
    assert_eq!(answered["redirects"], 0, "{answered}");
}

/// The signature `url-signer` gives `method` and `url` under `key`.
fn signature(key: &str, method: &str, url: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key.as_bytes());
    let tag = hmac::sign(&key, format!("{method} {url}").as_bytes());
    tag.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks, as a verifying server would, that `seen` carries the signature
/// of the URL it was sent to.
fn assert_signed(seen: &Recorded) {
    let url = format!("http://{}{}", seen.header("host").unwrap(), seen.target);
    assert_eq!(
        seen.header("x-signature"),
        Some(signature("k3y", &seen.method, &url).as_str()),
        "the signature over {url} does not verify"
    );
}

#[test]
fn signatures_verify_for_urls_the_wire_would_change() {
    let paths = [
        "/echo/sig/space a b?x=1 2",
        "/echo/sig/dots/./x/../y",
        "/echo/sig/\u{fc}?name=\u{e9}",
        "/echo/sig/chars?a={b}|c^d",
        "/echo/sig/Case/%7e?q=%41",
    ];
    let urls: Vec<String> = paths.iter().map(|path| server().url(path)).collect();
    let run = tb_host(
        &[
            "run",
            "--plugin",
            fixtures::URL_SIGNER,
            "--plugin-config",
            "key=k3y",
        ],
        &(urls.join("\n") + "\n"),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    for (index, record) in run.by_index(paths.len()) {
        let sent = record["url"].as_str().unwrap();
        let path = sent.strip_prefix(&server().base_url()).unwrap();
        let path = path.split_once('?').map_or(path, |(path, _)| path);
        let seen = landed(path);
        assert_eq!(
            format!("{}{}", server().base_url(), seen.target),
            sent,
            "job {index}: the record shows the URL the server got, byte for byte"
        );
        assert_signed(&seen);
    }
}

#[test]
fn every_hop_is_signed_for_its_own_url() {
    let url = redirect("signed-hops", 308, "/echo/sig/landed/./a b?x=1");
    let run = run_one(
        &[
            "--plugin",
            fixtures::URL_SIGNER,
            "--plugin-config",
            "key=k3y",
        ],
        &url,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(record(&run)["redirects"], 1);
    assert_signed(&landed("/redirect-to/signed-hops"));
    assert_signed(&landed("/echo/sig/landed/a%20b"));
}

#[test]
fn a_port_80_grant_grants_port_80_only() {
    let token_url = format!("token-url={}", server().url("/bytes/5?port-80"));
    let job = server().url("/echo/origins/port-80");
    let run = run_one(
        &[
            "--plugin",
            fixtures::TOKEN_FETCH,
            "--plugin-config",
            &token_url,
            "--plugin-allow-host",
            "127.0.0.1:80",
        ],
        &job,
    );
    assert_plugin_failure(&run, "not granted");
    assert_eq!(server().hits("/echo/origins/port-80"), 0);

    let moved = server().url("/echo/origins/port-80-moved?authorize=port");
    let run = run_one(
        &[
            "--plugin",
            fixtures::HOSTILE,
            "--plugin-allow-host",
            "127.0.0.1:80",
            "-H",
            "Authorization: Bearer operator",
        ],
        &moved,
    );
    assert_plugin_failure(&run, "127.0.0.1:1");
}

#[test]
fn a_grant_without_a_scheme_does_not_let_a_plugin_switch_it() {
    let grant = format!("127.0.0.1:{}", server().port());
    let url = server().url("/echo/origins/scheme-switch?authorize=scheme");
    let run = run_one(
        &["--plugin", fixtures::HOSTILE, "--plugin-allow-host", &grant],
        &url,
    );
    assert_plugin_failure(&run, "https://127.0.0.1");
    // Granted with its scheme, the switch is the operator's choice: the
    // job goes out as https (and fails the handshake with a plain server).
    let named = format!("https://127.0.0.1:{}", server().port());
    let run = run_one(
        &["--plugin", fixtures::HOSTILE, "--plugin-allow-host", &named],
        &url,
    );
    let switched = record(&run);
    assert_ne!(switched["error"]["kind"], "plugin", "{switched}");
}

#[test]
fn a_plugin_cannot_reroute_a_job_with_a_host_header() {
    let run = run_one(
        &[
            "--plugin",
            fixtures::SESSION_HEADERS,
            "--plugin-config",
            "header.Host=other-tenant.example",
            "-H",
            "Authorization: Bearer operator",
        ],
        &server().url("/echo/origins/host-session"),
    );
    assert_plugin_failure(&run, "Host");
    assert_eq!(
        server().hits("/echo/origins/host-session"),
        0,
        "nothing was sent"
    );

    let url = server().url("/echo/origins/host-authorize?authorize=host-header");
    let failed = run_one(&["--plugin", fixtures::HOSTILE], &url);
    assert_eq!(
        record(&failed)["error"]["kind"],
        "plugin",
        "{}",
        failed.stdout
    );
    assert_eq!(server().hits("/echo/origins/host-authorize"), 0);
}

#[test]
fn a_plugin_cannot_cut_a_body_short_with_content_length() {
    let url = server().url("/echo/origins/length?authorize=content-length");
    let run = run_one(
        &[
            "--plugin",
            fixtures::HOSTILE,
            "-X",
            "POST",
            "--data",
            "the body",
        ],
        &url,
    );
    assert_plugin_failure(&run, "Content-Length");
    assert_eq!(server().hits("/echo/origins/length"), 0);
}

#[test]
fn the_operators_own_host_header_stays_allowed() {
    let run = run_one(
        &["--plugin", fixtures::HOSTILE, "-H", "Host: vhost.example"],
        &server().url("/echo/origins/operator-host"),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        landed("/echo/origins/operator-host").header("host"),
        Some("vhost.example")
    );
}

#[test]
fn basic_credentials_go_to_the_jobs_origin_only_and_are_never_written() {
    let scratch = tb_host_tests::harness::Scratch::new("basic-auth");
    let password_file = scratch.write_lines("pass.txt", &["ann:s3cr3t-basic"]);
    let user = format!("@{}", password_file.display());
    let failures = scratch.path("failures.jsonl");
    let urls = [
        server().url("/echo/origins/basic-same"),
        redirect("basic", 302, &other_origin("/echo/origins/basic-other")),
        tb_host_tests::harness::refused_url("/basic-failed"),
    ];
    let run = tb_host(
        &[
            "run",
            "-v",
            "-u",
            &user,
            "--record-body",
            "--failures",
            failures.to_str().unwrap(),
            "-",
        ],
        &(urls.join("\n") + "\n"),
    );
    assert_eq!(run.code, 1, "the refused job fails: {}", run.stderr);
    let listed = std::fs::read_to_string(&failures).unwrap();
    assert!(listed.contains("/basic-failed"), "{listed}");
    assert!(
        !listed.contains("s3cr3t") && !listed.contains("auth"),
        "the failures file holds no credentials: {listed}"
    );
    let basic = "Basic YW5uOnMzY3IzdC1iYXNpYw==";
    let same = landed("/echo/origins/basic-same");
    assert_eq!(same.header("authorization"), Some(basic));
    assert_eq!(
        landed("/redirect-to/basic").header("authorization"),
        Some(basic)
    );
    let other = landed("/echo/origins/basic-other");
    assert_eq!(other.header("authorization"), None, "{:?}", other.headers);
    let echoed = run.by_index(3)[&0]["body"]["headers"]["authorization"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        echoed.starts_with("Basic [redacted]"),
        "the echo is redacted in the record: {echoed}"
    );
    for output in [&run.stdout, &run.stderr] {
        assert!(!output.contains("s3cr3t-basic"), "leaked: {output}");
        assert!(
            !output.contains("YW5uOnMzY3IzdC1iYXNpYw"),
            "leaked: {output}"
        );
    }

    let header_wins = run_one(
        &["-u", "ann:s3cr3t-basic", "-H", "Authorization: Bearer own"],
        &server().url("/echo/origins/basic-header-wins"),
    );
    assert_eq!(header_wins.code, 0, "{}", header_wins.stderr);
    assert_eq!(
        landed("/echo/origins/basic-header-wins").header("authorization"),
        Some("Bearer own"),
        "an Authorization of -H wins over -u"
    );
}
