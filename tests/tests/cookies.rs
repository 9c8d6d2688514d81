//! Cookies, as `requests.Session` keeps them: every worker's session has a
//! jar that the servers' `Set-Cookie` answers fill and that sends them back
//! by RFC 6265's rules; `--cookie` and a job's `cookies` go to the job's
//! origin only; `--cookie-jar` reads and writes curl's `cookies.txt`; and no
//! cookie value shows in what tb-host writes but the jar file.
//!
//! The loopback server sets cookies (`/set-cookie/{key}?c=...`) and records
//! the `Cookie` header of every request. It answers on 127.0.0.1, as
//! `localhost` (another origin), and under any name `--resolve` gives it:
//! `www.jar.test` and `api.jar.test` for a domain with two hosts. Those
//! names are not loopback names, so plain `http://` to them is not secure
//! (the jar sends `Secure` cookies to `http://127.0.0.1`, as browsers do).

use std::os::unix::fs::PermissionsExt;

use tb_host::{Cookie, Job, Pool};
use tb_host_tests::fixtures;
use tb_host_tests::harness::{
    Run, Scratch, read_records, refused_url, server, tb_host, tb_host_env,
};
use tb_loopback::{Reply, Request, Routes, Server};

/// `url` with its host replaced by `host` (resolved to the loopback
/// server by [`resolve`]).
fn at(host: &str, path: &str) -> String {
    format!("http://{host}:{}{path}", server().port())
}

/// The `--resolve` flags that send `hosts` to the loopback server.
fn resolve(hosts: &[&str]) -> Vec<String> {
    hosts
        .iter()
        .flat_map(|host| {
            [
                "--resolve".to_owned(),
                format!("{host}:{}:127.0.0.1", server().port()),
            ]
        })
        .collect()
}

/// The path of `/set-cookie/{key}` that sets each of `cookies`.
fn set_cookies(key: &str, cookies: &[&str]) -> String {
    let query: Vec<String> = cookies
        .iter()
        .map(|cookie| {
            let encoded: String = cookie
                .bytes()
                .map(|byte| match byte {
                    b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' => {
                        char::from(byte).to_string()
                    }
                    _ => format!("%{byte:02X}"),
                })
                .collect();
            format!("c={encoded}")
        })
        .collect();
    format!("/set-cookie/{key}?{}", query.join("&"))
}

/// The `Cookie` header of the one request the server got at `path`.
fn cookie_at(path: &str) -> Option<String> {
    let seen = server().requests_to(path);
    assert_eq!(seen.len(), 1, "{path} got {} requests", seen.len());
    seen[0].header("cookie").map(str::to_owned)
}

/// Runs `tb-host run ARGS` on `lines` (URLs or JSON lines), in order on
/// one worker unless `args` says otherwise, and checks every job got a
/// response.
fn run(args: &[&str], lines: &[String]) -> Run {
    let mut all = vec!["run"];
    if !args.contains(&"-j") {
        all.extend(["-j", "1"]);
    }
    all.extend_from_slice(args);
    let run = tb_host(&all, &(lines.join("\n") + "\n"));
    assert_eq!(run.code, 0, "{}", run.stderr);
    for record in run.by_index(lines.len()).values() {
        assert_eq!(record["status"], 200, "{record}");
    }
    run
}

#[test]
fn a_cookie_a_server_sets_is_sent_on_the_next_request_of_the_worker() {
    run(
        &[],
        &[
            server().url(&set_cookies("next", &["sid=abc123; Path=/"])),
            server().url("/echo/next/after"),
        ],
    );
    assert_eq!(cookie_at("/echo/next/after").as_deref(), Some("sid=abc123"));
}

#[test]
fn no_cookies_keeps_no_jar() {
    run(
        &["--no-cookies"],
        &[
            server().url(&set_cookies("none", &["sid=abc123; Path=/"])),
            server().url("/echo/none/after"),
        ],
    );
    assert_eq!(cookie_at("/echo/none/after"), None);
}

#[test]
fn cookies_keep_to_their_domain_path_scheme_and_lifetime() {
    let hosts = ["www.jar.test", "api.jar.test", "other.test"];
    let flags = resolve(&hosts);
    let mut args: Vec<&str> = flags.iter().map(String::as_str).collect();
    args.push("--timeout");
    args.push("10");
    let set = set_cookies(
        "scope",
        &[
            "host=1; Path=/",
            "wide=2; Domain=jar.test; Path=/",
            "deep=3; Path=/echo/scope/deep",
            "safe=4; Secure; Path=/",
            "old=5; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
            "brief=6; Path=/; Max-Age=1",
            "foreign=7; Domain=other.test; Path=/",
        ],
    );
    run(
        &args,
        &[
            at("www.jar.test", &set),
            at("www.jar.test", "/echo/scope/www"),
            at("api.jar.test", "/echo/scope/api"),
            at("www.jar.test", "/echo/scope/deep/x"),
            at("other.test", "/echo/scope/other"),
            server().url("/slow/1100"),
            at("www.jar.test", "/echo/scope/later"),
        ],
    );
    assert_eq!(
        cookie_at("/echo/scope/www").as_deref(),
        Some("brief=6; host=1; wide=2"),
        "a host cookie, a domain cookie; no Secure one over http, no expired one, \
         none for another domain"
    );
    assert_eq!(
        cookie_at("/echo/scope/api").as_deref(),
        Some("wide=2"),
        "another host of the domain gets the domain cookie only"
    );
    assert_eq!(
        cookie_at("/echo/scope/deep/x").as_deref(),
        Some("deep=3; brief=6; host=1; wide=2"),
        "the longer path first"
    );
    assert_eq!(cookie_at("/echo/scope/other"), None);
    assert_eq!(
        cookie_at("/echo/scope/later").as_deref(),
        Some("host=1; wide=2"),
        "Max-Age=1 is over a second later"
    );
}

#[test]
fn a_redirect_to_another_origin_carries_no_cookie_of_the_first() {
    let away = format!("http://localhost:{}/echo/away/there", server().port());
    let home = server().url("/echo/away/home");
    let redirect = |key: &str, to: &str| {
        let encoded: String = to
            .bytes()
            .map(|byte| match byte {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => char::from(byte).to_string(),
                _ => format!("%{byte:02X}"),
            })
            .collect();
        server().url(&format!("/redirect-to/{key}?url={encoded}"))
    };
    run(
        &["--cookie", "flag=from-the-flag"],
        &[
            server().url(&set_cookies("away", &["jar=1; Path=/"])),
            redirect("away-1", &away),
            redirect("away-2", &home),
        ],
    );
    let first_hop = server().requests_to("/redirect-to/away-1");
    assert_eq!(
        first_hop[0].header("cookie"),
        Some("jar=1; flag=from-the-flag")
    );
    assert_eq!(
        cookie_at("/echo/away/there"),
        None,
        "neither the jar's cookie nor --cookie crosses to localhost"
    );
    assert_eq!(
        cookie_at("/echo/away/home").as_deref(),
        Some("jar=1; flag=from-the-flag"),
        "a redirect within the origin keeps both"
    );
}

#[test]
fn a_jobs_cookies_win_over_the_flags_and_are_not_kept() {
    let job = serde_json::json!({
        "url": server().url("/echo/own/a"),
        "cookies": {"lang": "job", "extra": "x"},
    });
    run(
        &["--input-format", "jsonl", "--cookie", "lang=flag"],
        &[
            serde_json::json!({"url": server().url(&set_cookies("own", &["lang=jar; Path=/"]))})
                .to_string(),
            job.to_string(),
            serde_json::json!({"url": server().url("/echo/own/b")}).to_string(),
        ],
    );
    assert_eq!(
        cookie_at("/echo/own/a").as_deref(),
        Some("extra=x; lang=job"),
        "the job's lang over --cookie's over the jar's"
    );
    assert_eq!(
        cookie_at("/echo/own/b").as_deref(),
        Some("lang=flag"),
        "--cookie's over the jar's; the job's were not kept"
    );
}

#[test]
fn a_cookie_header_set_by_hand_is_sent_as_it_is() {
    run(
        &["-H", "Cookie: mine=1"],
        &[
            server().url(&set_cookies("hand", &["jar=1; Path=/"])),
            server().url("/echo/hand/a"),
        ],
    );
    assert_eq!(cookie_at("/echo/hand/a").as_deref(), Some("mine=1"));
}

/// A jar as curl 8 writes it: an HttpOnly host cookie of the loopback
/// server, a domain cookie for elsewhere, and an expired one.
fn curl_jar(port_host: &str) -> String {
    format!(
        "# Netscape HTTP Cookie File\n\
         # https://curl.se/docs/http-cookies.html\n\
         # This file was generated by libcurl! Edit at your own risk.\n\
         \n\
         #HttpOnly_{port_host}\tFALSE\t/\tFALSE\t0\tsid\tfrom-the-file\n\
         .example.com\tTRUE\t/\tTRUE\t4102444800\twide\tkept\n\
         {port_host}\tFALSE\t/\tFALSE\t1000\told\tlong-gone\n"
    )
}

#[test]
fn a_cookie_jar_file_seeds_every_session_and_gets_what_they_hold() {
    let scratch = Scratch::new("cookie-jar");
    let jar = scratch.path("cookies.txt");
    std::fs::write(&jar, curl_jar("127.0.0.1")).unwrap();
    let jar_flag = jar.to_str().unwrap();
    let mut urls = vec![
        server().url("/echo/jarfile/0"),
        server().url("/echo/jarfile/1"),
    ];
    // Two workers: each sets one cookie, one deletes the file's sid.
    urls.push(server().url(&set_cookies(
        "jarfile-a",
        &["a=1; Path=/; Max-Age=3600", "sid=; Path=/; Max-Age=0"],
    )));
    urls.push(server().url(&set_cookies(
        "jarfile-b",
        &["b=2; Domain=localhost; Path=/app; Secure; HttpOnly"],
    )));
    let first: Vec<String> = urls[..2].to_vec();
    run(&["-j", "2", "--cookie-jar", jar_flag], &first);
    for path in ["/echo/jarfile/0", "/echo/jarfile/1"] {
        assert_eq!(
            cookie_at(path).as_deref(),
            Some("sid=from-the-file"),
            "every session starts with the file's cookies"
        );
    }
    let mode = std::fs::metadata(&jar).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "cookies are credentials");
    let text = std::fs::read_to_string(&jar).unwrap();
    assert!(text.starts_with("# Netscape HTTP Cookie File\n"), "{text}");
    assert!(
        text.contains("#HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t0\tsid\tfrom-the-file\n"),
        "{text}"
    );
    assert!(
        text.contains(".example.com\tTRUE\t/\tTRUE\t4102444800\twide\tkept\n"),
        "{text}"
    );
    assert!(!text.contains("long-gone"), "{text}");

    // A second run on the file: one job sets a cookie and deletes the
    // file's sid, another (on either worker) adds a domain cookie for
    // localhost. The worker that still has sid loses to the deletion.
    let localhost = format!("localhost:{}", server().port());
    let second = [
        urls[2].clone(),
        urls[3].replace(&format!("127.0.0.1:{}", server().port()), &localhost),
    ];
    run(&["-j", "2", "--cookie-jar", jar_flag], &second);
    let text = std::fs::read_to_string(&jar).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| l.contains('\t')).collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(!text.contains("from-the-file"), "sid was deleted: {text}");
    assert!(
        text.contains(".example.com\tTRUE\t/\tTRUE\t4102444800\twide\tkept\n"),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("127.0.0.1\tFALSE\t/\tFALSE\t") && l.ends_with("\ta\t1")),
        "{text}"
    );
    assert!(
        text.contains("#HttpOnly_.localhost\tTRUE\t/app\tTRUE\t0\tb\t2\n"),
        "{text}"
    );
}

#[test]
fn cookie_values_never_show_in_records_logs_or_failures_at_trace_level() {
    const FROM_SERVER: &str = "srv-s3cr3t-4471";
    const FROM_FLAG: &str = "flag-s3cr3t-9035";
    const FROM_JOB: &str = "job-s3cr3t-2260";
    const FROM_FILE: &str = "file-s3cr3t-7718";
    // The server sets its cookie on /login, so that the value is in no URL.
    let login = Server::builder()
        .handler(|request: &Request<'_>| {
            (request.path() == "/login").then(|| {
                Reply::ok()
                    .with("Set-Cookie", format!("sid={FROM_SERVER}; Path=/"))
                    .into()
            })
        })
        .handler(Routes)
        .start()
        .unwrap();
    let scratch = Scratch::new("cookie-secrets");
    let jar = scratch.path("cookies.txt");
    std::fs::write(
        &jar,
        format!("127.0.0.1\tFALSE\t/\tFALSE\t0\tfiled\t{FROM_FILE}\n"),
    )
    .unwrap();
    let input = scratch.write_lines(
        "jobs.jsonl",
        &[
            serde_json::json!({
                "url": login.url("/login"),
                "cookies": {"own": FROM_JOB},
            })
            .to_string(),
            serde_json::json!({"url": login.url("/echo/hidden/seen"), "cookies": {"own": FROM_JOB}})
                .to_string(),
            serde_json::json!({"url": refused_url("/hidden"), "cookies": {"own": FROM_JOB}})
                .to_string(),
        ],
    );
    let output = scratch.path("out.jsonl");
    let failures = scratch.path("failures.jsonl");
    let paths = [&input, &output, &failures, &jar].map(|path| path.to_str().unwrap());
    let cookie = format!("flag={FROM_FLAG}");
    // At trace level, the HTTP client's own logs too.
    let run = tb_host_env(
        &[
            "run",
            "-vvv",
            "-j",
            "1",
            "--max-attempts",
            "1",
            "--record-headers",
            "--cookie",
            &cookie,
            "--cookie-jar",
            paths[3],
            paths[0],
            "-o",
            paths[1],
            "--failures",
            paths[2],
        ],
        &[("RUST_LOG", "trace")],
        "",
    );
    assert_eq!(run.code, 1, "the refused job failed: {}", run.stderr);
    let seen = login.requests_to("/echo/hidden/seen");
    let seen = seen[0].header("cookie").unwrap();
    for secret in [FROM_SERVER, FROM_FLAG, FROM_JOB, FROM_FILE] {
        assert!(seen.contains(secret), "{secret} reached the server: {seen}");
    }
    let records = std::fs::read_to_string(&output).unwrap();
    let failed = std::fs::read_to_string(&failures).unwrap();
    assert_eq!(read_records(&output).len(), 3);
    assert_eq!(failed.lines().count(), 1, "{failed}");
    assert!(
        records.contains("sid=[redacted]; Path=/"),
        "the record shows the Set-Cookie's name: {records}"
    );
    for (what, text) in [
        ("stdout", run.stdout.as_str()),
        ("stderr", run.stderr.as_str()),
        ("-o", records.as_str()),
        ("--failures", failed.as_str()),
    ] {
        for secret in [FROM_SERVER, FROM_FLAG, FROM_JOB, FROM_FILE] {
            assert!(!text.contains(secret), "{secret} leaked to {what}:\n{text}");
        }
    }
    let kept = std::fs::read_to_string(&jar).unwrap();
    assert!(
        kept.contains(FROM_SERVER) && kept.contains(FROM_FILE),
        "the jar holds the session's cookies: {kept}"
    );
    assert!(
        !kept.contains(FROM_FLAG) && !kept.contains(FROM_JOB),
        "a request's own cookies are not kept: {kept}"
    );
}

#[test]
fn a_cookie_jar_that_is_the_input_or_a_bad_cookie_stops_before_any_job() {
    let scratch = Scratch::new("cookie-refusals");
    let input = scratch.write_lines("urls.txt", &[server().url("/echo/refusal/x")]);
    let input = input.to_str().unwrap();
    let same = tb_host(&["run", "--cookie-jar", input, input], "");
    assert_eq!(same.code, 2, "{}", same.stderr);
    assert!(same.stderr.contains("--cookie-jar"), "{}", same.stderr);
    let bad = tb_host(&["run", "--cookie", "sid=bad s3cr3t value", input], "");
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(
        bad.stderr.contains("--cookie") && !bad.stderr.contains("s3cr3t"),
        "{}",
        bad.stderr
    );
    assert!(server().requests_to("/echo/refusal/x").is_empty());
}

#[test]
fn the_library_gives_a_responses_cookies_and_what_the_sessions_hold() {
    let start = Cookie {
        name: "sid".into(),
        value: "started".into(),
        domain: "127.0.0.1".into(),
        host_only: true,
        path: "/".into(),
        secure: false,
        http_only: false,
        expires: None,
    };
    let mut pool = Pool::builder()
        .threads(1)
        .start_cookies([start])
        .from_jobs([
            Job::get(server().url(&set_cookies("lib", &["lang=en; Path=/lib; HttpOnly"]))),
            Job::get(server().url("/echo/lib/seen")).cookie("own", "1"),
        ])
        .unwrap();
    let jars = pool.cookie_jars();
    pool.join_all();
    let responses: Vec<_> = pool.responses().collect();
    assert_eq!(responses.len(), 2);
    let set = responses
        .iter()
        .find(|r| r.final_url().contains("set-cookie"))
        .unwrap()
        .cookies();
    assert_eq!(set.len(), 1);
    assert_eq!(
        (set[0].name.as_str(), set[0].path.as_str(), set[0].http_only),
        ("lang", "/lib", true)
    );
    assert_eq!(
        cookie_at("/echo/lib/seen").as_deref(),
        Some("sid=started; own=1")
    );
    drop(pool);
    let held: Vec<(String, String)> = jars
        .cookies()
        .into_iter()
        .map(|c| (c.name, c.value))
        .collect();
    assert_eq!(
        held,
        [
            ("sid".to_owned(), "started".to_owned()),
            ("lang".to_owned(), "en".to_owned()),
        ],
        "sorted by domain, path, name: / before /lib"
    );
}

#[test]
fn a_plugin_that_logs_in_gives_every_worker_the_session_cookie() {
    // The login endpoint sets the cookie; `form-login` fetches it in
    // auth-session and puts it in the session's jar, once per worker.
    let login = server().url(&set_cookies(
        "login",
        &["sid=logged-in-42; Path=/; HttpOnly"],
    ));
    let urls: Vec<String> = (0..6)
        .map(|i| server().url(&format!("/echo/login/after-{i}")))
        .collect();
    let grant = format!("127.0.0.1:{}", server().port());
    let run = run(
        &[
            "-j",
            "2",
            "--plugin",
            fixtures::FORM_LOGIN,
            "--plugin-allow-host",
            &grant,
            "--plugin-config",
            &format!("login-url={login}"),
            "--plugin-config",
            "username=robot",
            "--plugin-config",
            "password=pa55-word-9",
        ],
        &urls,
    );
    for i in 0..6 {
        assert_eq!(
            cookie_at(&format!("/echo/login/after-{i}")).as_deref(),
            Some("sid=logged-in-42"),
            "job {i}"
        );
    }
    let logins = server().requests_to("/set-cookie/login");
    assert_eq!(logins.len(), 2, "one login per worker");
    assert!(logins.iter().all(|login| login.method == "POST"));
    for shown in [&run.stdout, &run.stderr] {
        assert!(
            !shown.contains("pa55-word-9"),
            "the password leaked: {shown}"
        );
    }
}
