//! The auth plugins end to end: the real binary loads each plugin built
//! from `plugins/`, and a loopback server from `tb_host_tests::auth_servers`
//! checks the credentials for real (it recomputes signatures and digest
//! responses itself, issues and revokes tokens). Every test checks the
//! statuses, that the server accepted exactly the requests it should,
//! the counts of token fetches and 401s, and that every job ended once.

use tb_host_tests::auth_servers::api_key::ApiKeyServer;
use tb_host_tests::auth_servers::digest::DigestServer;
use tb_host_tests::auth_servers::oauth::OAuthServer;
use tb_host_tests::auth_servers::sigv4::{Account, SigV4Server};
use tb_host_tests::fixtures;
use tb_host_tests::harness::{Run, Scratch, tb_host_env};

/// Runs `tb-host run -j THREADS` over `urls` (on stdin) with `args` and
/// the environment `env`.
fn run(threads: &str, args: &[&str], env: &[(&str, &str)], urls: &[String]) -> Run {
    let mut all = vec!["run", "-j", threads];
    all.extend_from_slice(args);
    tb_host_env(&all, env, &(urls.join("\n") + "\n"))
}

/// `count` URLs `{prefix}{i}` of `url`.
fn urls(url: impl Fn(&str) -> String, prefix: &str, count: usize) -> Vec<String> {
    (0..count).map(|i| url(&format!("{prefix}{i}"))).collect()
}

/// Asserts that every job of `run` got `status` after `attempts[index]`
/// attempts (or 1 when not listed).
fn assert_statuses(run: &Run, jobs: usize, status: u16) {
    for record in run.by_index(jobs).values() {
        assert_eq!(record["status"], status, "{record}\n{}", run.stderr);
    }
}

/// How many jobs of `records` took each number of attempts: `[n]` is the
/// count of jobs with `n` attempts. (The retries' order among the other
/// jobs is the scheduler's, so tests count them rather than name them.)
fn attempts_histogram(records: &std::collections::BTreeMap<u64, &serde_json::Value>) -> Vec<usize> {
    let mut histogram = vec![0; 11];
    for record in records.values() {
        histogram[record["attempts"].as_u64().unwrap() as usize] += 1;
    }
    while histogram.last() == Some(&0) {
        histogram.pop();
    }
    histogram
}

/// Asserts that `secret` shows nowhere in the output of `run`.
fn assert_not_leaked(run: &Run, secret: &str) {
    assert!(!run.stdout.contains(secret), "{secret} leaked to stdout");
    assert!(!run.stderr.contains(secret), "{secret} leaked to stderr");
}

const CLIENT_SECRET: &str = "cl1ent-s3cret";

/// The OAuth plugin's arguments for `server`, with `secret`.
fn oauth_args(server: &OAuthServer, secret: &str) -> Vec<String> {
    vec![
        "--plugin".into(),
        fixtures::OAUTH2_CLIENT_CREDENTIALS.into(),
        "--plugin-allow-host".into(),
        server.host(),
        "--plugin-config".into(),
        format!("token-url={}", server.url("/token")),
        "--plugin-config".into(),
        "client-id=tb-host tests".into(),
        "--plugin-config".into(),
        format!("client-secret={secret}"),
        "--plugin-config".into(),
        "scope=read write".into(),
        "-v".into(),
    ]
}

#[test]
fn oauth_token_is_fetched_once_per_worker_and_sent_with_every_request() {
    let server = OAuthServer::start("tb-host tests", CLIENT_SECRET, 1000);
    let args = oauth_args(&server, CLIENT_SECRET);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = run("2", &args, &[], &urls(|p| server.url(p), "/api/", 20));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_statuses(&run, 20, 200);
    let seen = server.seen();
    assert_eq!(seen.accepted, 20, "every request carried a valid token");
    assert_eq!(seen.unauthorized, 0);
    assert!(
        (1..=2).contains(&seen.tokens_issued),
        "one per worker at most: {seen:?}"
    );
    for form in &seen.token_forms {
        assert!(
            form.contains(&("scope".into(), "read write".into())),
            "{form:?}"
        );
    }
    assert_not_leaked(&run, CLIENT_SECRET);
    assert_not_leaked(&run, "tok-1");
}

#[test]
fn oauth_refused_token_is_dropped_and_the_request_retried_once_with_a_fresh_one() {
    // Each token is good for 5 requests; one worker sends 12: requests 6
    // and 11 are refused once, and each is retried with a new token.
    let server = OAuthServer::start("tb-host tests", CLIENT_SECRET, 5);
    let args = oauth_args(&server, CLIENT_SECRET);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = run("1", &args, &[], &urls(|p| server.url(p), "/api/", 12));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let records = run.by_index(12);
    assert!(
        records.values().all(|record| record["status"] == 200),
        "{}",
        run.stdout
    );
    let histogram = attempts_histogram(&records);
    let attempts: usize = histogram.iter().enumerate().map(|(n, jobs)| n * jobs).sum();
    let seen = server.seen();
    assert_eq!(seen.accepted, 12);
    // Usually requests 6 and 11 are refused; a retry that the scheduler
    // runs after other jobs may meet a spent token again, once more.
    assert!((2..=3).contains(&seen.unauthorized), "{seen:?}");
    assert_eq!(
        attempts,
        12 + seen.unauthorized,
        "each 401 was retried once: {histogram:?}"
    );
    assert_eq!(
        seen.tokens_issued,
        1 + seen.unauthorized,
        "a fresh token per 401"
    );
}

#[test]
fn oauth_bad_client_secret_fails_every_job_with_the_endpoints_error() {
    let server = OAuthServer::start("tb-host tests", CLIENT_SECRET, 1000);
    let args = oauth_args(&server, "wrong-s3cret");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = run("2", &args, &[], &urls(|p| server.url(p), "/api/", 4));
    assert_eq!(run.code, 1, "{}", run.stderr);
    for record in run.by_index(4).values() {
        assert_eq!(record["error"]["kind"], "plugin", "{record}");
        let message = record["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("invalid_client: Client authentication failed"),
            "{message}"
        );
    }
    let seen = server.seen();
    assert_eq!(
        seen.accepted + seen.unauthorized,
        0,
        "no API request was sent"
    );
    assert_eq!(seen.tokens_issued, 0);
    assert_eq!(seen.clients_refused, 4, "each job asked once");
    assert_not_leaked(&run, "wrong-s3cret");
}

/// Writes the manifest `idp.toml` of the OAuth plugin for `server` in
/// `scratch`: the five settings and the grant in one file, the client
/// secret as `secret` says (`@FILE`, `env:VAR`).
fn oauth_manifest(scratch: &Scratch, server: &OAuthServer, secret: &str) -> String {
    let manifest = scratch.write_lines(
        "idp.toml",
        &[
            "name = \"idp\"".to_owned(),
            format!("path = {:?}", fixtures::OAUTH2_CLIENT_CREDENTIALS),
            format!("allowed_hosts = [\"{}\"]", server.host()),
            "timeout_ms = 500".to_owned(),
            "[config]".to_owned(),
            format!("token-url = \"{}\"", server.url("/token")),
            "client-id = \"tb-host tests\"".to_owned(),
            format!("client-secret = \"{secret}\""),
            "scope = \"read write\"".to_owned(),
            "client-auth = \"basic\"".to_owned(),
        ],
    );
    manifest.display().to_string()
}

#[test]
fn oauth_from_a_manifest_file_fetches_its_token_and_flags_add_to_it() {
    let scratch = Scratch::new("oauth-manifest");
    scratch.write_lines("client-secret.txt", &[CLIENT_SECRET]);
    let server = OAuthServer::start("tb-host tests", CLIENT_SECRET, 1000);
    let manifest = oauth_manifest(&scratch, &server, "@client-secret.txt");
    let args = [
        "--plugin-manifest",
        &manifest,
        "--plugin-config",
        "idp:audience=tb-host-api",
        "-v",
    ];
    let run = run("2", &args, &[], &urls(|p| server.url(p), "/api/", 10));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_statuses(&run, 10, 200);
    let seen = server.seen();
    assert_eq!(seen.accepted, 10, "every request carried a valid token");
    assert!((1..=2).contains(&seen.tokens_issued), "{seen:?}");
    for form in &seen.token_forms {
        for (name, value) in [("scope", "read write"), ("audience", "tb-host-api")] {
            assert!(form.contains(&(name.into(), value.into())), "{form:?}");
        }
    }
    assert_not_leaked(&run, CLIENT_SECRET);
}

#[test]
fn oauth_endpoint_errors_name_the_token_url_and_never_the_client_secret() {
    let scratch = Scratch::new("oauth-manifest-refused");
    let server = OAuthServer::start("tb-host tests", CLIENT_SECRET, 1000);
    let manifest = oauth_manifest(&scratch, &server, "env:TB_TEST_IDP_SECRET");
    let run = run(
        "1",
        &["--plugin-manifest", &manifest, "-v"],
        &[("TB_TEST_IDP_SECRET", "wrong-s3cret")],
        &urls(|p| server.url(p), "/api/", 2),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let endpoint = format!("token endpoint {}: ", server.url("/token"));
    for record in run.by_index(2).values() {
        assert_eq!(record["error"]["kind"], "plugin", "{record}");
        let message = record["error"]["message"].as_str().unwrap();
        assert!(message.contains(&endpoint), "the URL is shown: {message}");
        assert!(message.contains("invalid_client"), "{message}");
    }
    assert_eq!(server.seen().clients_refused, 2);
    assert_not_leaked(&run, "wrong-s3cret");
}

/// The account of the SigV4 tests.
fn sigv4_account() -> Account {
    Account {
        access_key_id: "AKIDTBHOST".into(),
        secret_access_key: "tb/host+SECRET/key".into(),
        region: "eu-west-3".into(),
        service: "execute-api".into(),
    }
}

/// The SigV4 plugin's arguments with `secret` and `extra`.
fn sigv4_args<'a>(secret: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "--plugin",
        fixtures::AWS_SIGV4,
        "--plugin-config",
        "access-key-id=AKIDTBHOST",
        "--plugin-config",
        secret,
        "--plugin-config",
        "region=eu-west-3",
        "--plugin-config",
        "service=execute-api",
    ];
    args.extend_from_slice(extra);
    args
}

#[test]
fn sigv4_signatures_verify_on_the_server_for_gets_posts_and_queries() {
    let server = SigV4Server::start(sigv4_account());
    let mut jobs: Vec<String> = (0..6)
        .map(|i| {
            format!(
                r#"{{"url":"{}","params":{{"b":"x y","a":"{i}","ሴ":"é/&"}}}}"#,
                server.url(&format!("/v1/items/{i}"))
            )
        })
        .collect();
    jobs.extend((0..6).map(|i| {
        format!(
            r#"{{"method":"POST","url":"{}","headers":{{"X-Trace":"  a   b  "}},"json":{{"n":{i}}}}}"#,
            server.url("/v1/items")
        )
    }));
    let args = sigv4_args(
        "secret-access-key-env=TB_TEST_AWS_SECRET",
        &[
            "--plugin-env",
            "aws_sigv4:TB_TEST_AWS_SECRET",
            "--plugin-config",
            "content-sha256=true",
            "--plugin-config",
            "session-token=session/token==",
            "--input-format",
            "jsonl",
        ],
    );
    let run = run(
        "3",
        &args,
        &[("TB_TEST_AWS_SECRET", "tb/host+SECRET/key")],
        &jobs,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_statuses(&run, 12, 200);
    let seen = server.seen();
    assert_eq!(seen.refused, Vec::<String>::new());
    assert_eq!(seen.accepted, 12);
    assert!(
        seen.session_tokens
            .iter()
            .all(|t| t.as_deref() == Some("session/token=="))
    );
    assert_not_leaked(&run, "SECRET");
}

#[test]
fn sigv4_with_the_wrong_secret_is_refused_by_the_server() {
    let server = SigV4Server::start(sigv4_account());
    let args = sigv4_args("secret-access-key=not-the-secret", &[]);
    let run = run("2", &args, &[], &urls(|p| server.url(p), "/v1/items/", 4));
    assert_eq!(
        run.code, 0,
        "403 is a response, not a failure: {}",
        run.stderr
    );
    assert_statuses(&run, 4, 403);
    let seen = server.seen();
    assert_eq!(seen.accepted, 0);
    assert_eq!(seen.refused, vec!["signature does not match".to_owned(); 4]);
}

/// The Digest plugin's arguments.
fn digest_args(password: &str) -> Vec<String> {
    vec![
        "--plugin".into(),
        fixtures::DIGEST_AUTH.into(),
        "--plugin-config".into(),
        "username=Mufasa".into(),
        "--plugin-config".into(),
        format!("password={password}"),
    ]
}

/// Runs the Digest plugin over 10 URLs on one worker against a server
/// with `algorithm` that retires nonces after `nonce_uses` requests.
fn digest_run(algorithm: &'static str, nonce_uses: u32, password: &str) -> (Run, DigestServer) {
    let server = DigestServer::start("Mufasa", "Circle of Life", algorithm, nonce_uses);
    let args = digest_args(password);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = run(
        "1",
        &args,
        &[],
        &urls(|p| server.url(p), "/dir/index.html?page=", 10),
    );
    (run, server)
}

#[test]
fn digest_challenge_is_answered_once_then_every_request_succeeds_first_time() {
    for algorithm in ["SHA-256", "MD5"] {
        let (run, server) = digest_run(algorithm, 1000, "Circle of Life");
        assert_eq!(run.code, 0, "{}", run.stderr);
        let records = run.by_index(10);
        assert_eq!(
            attempts_histogram(&records),
            [0, 9, 1],
            "{algorithm}: one retry, for the challenge"
        );
        assert!(records.values().all(|r| r["status"] == 200));
        let seen = server.seen();
        assert_eq!(seen.accepted, 10, "{algorithm}");
        assert_eq!(
            (seen.challenged, seen.stale, seen.refused),
            (1, 0, 0),
            "{algorithm}"
        );
        let counts: Vec<&Vec<u32>> = seen.counts.values().collect();
        assert_eq!(
            counts,
            [&(1..=10).collect::<Vec<u32>>()],
            "{algorithm}: nc counts up"
        );
        assert_not_leaked(&run, "Circle of Life");
    }
}

#[test]
fn digest_stale_nonce_is_refreshed_and_the_request_retried() {
    // Each nonce is good for 4 requests: the 5th and 9th answers get
    // stale=true and a new nonce.
    let (run, server) = digest_run("SHA-256", 4, "Circle of Life");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let records = run.by_index(10);
    assert!(
        records.values().all(|record| record["status"] == 200),
        "{}",
        run.stdout
    );
    let histogram = attempts_histogram(&records);
    let attempts: usize = histogram.iter().enumerate().map(|(n, jobs)| n * jobs).sum();
    assert_eq!(
        attempts, 13,
        "one retry for the challenge, one per stale nonce: {histogram:?}"
    );
    let seen = server.seen();
    assert_eq!(seen.accepted, 10);
    assert_eq!((seen.challenged, seen.stale, seen.refused), (1, 2, 0));
    assert_eq!(seen.counts.len(), 3, "three nonces");
    assert!(
        seen.counts
            .values()
            .all(|counts| counts.windows(2).all(|w| w[0] < w[1]))
    );
}

#[test]
fn digest_wrong_password_is_not_retried_in_a_loop() {
    let (run, server) = digest_run("MD5", 1000, "wrong password");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let records = run.by_index(10);
    let seen = server.seen();
    assert_eq!(seen.accepted, 0);
    assert!(records.values().all(|r| r["status"] == 401));
    let histogram = attempts_histogram(&records);
    assert!(
        histogram.len() <= 3,
        "at most one retry per job: {histogram:?}"
    );
    let attempts: usize = histogram.iter().enumerate().map(|(n, jobs)| n * jobs).sum();
    assert_eq!(
        seen.challenged + seen.refused,
        attempts,
        "the server saw every attempt"
    );
    assert!((1..=10).contains(&seen.refused), "{seen:?}");
}

#[test]
fn api_key_reaches_the_server_in_a_header_and_in_the_query() {
    let server = ApiKeyServer::start("k3y&value");
    let header = run(
        "2",
        &[
            "--plugin",
            fixtures::API_KEY,
            "--plugin-config",
            "key=k3y&value",
        ],
        &[],
        &urls(|p| server.url(p), "/header/", 6),
    );
    assert_eq!(header.code, 0, "{}", header.stderr);
    assert_statuses(&header, 6, 200);
    let query = run(
        "2",
        &[
            "--plugin",
            fixtures::API_KEY,
            "--plugin-env",
            "api_key:TB_TEST_API_KEY",
            "--plugin-config",
            "key-env=TB_TEST_API_KEY",
            "--plugin-config",
            "query=api_key",
        ],
        &[("TB_TEST_API_KEY", "k3y&value")],
        &urls(|p| server.url(&format!("{p}?x=1")), "/query/", 6),
    );
    assert_eq!(query.code, 0, "{}", query.stderr);
    assert_statuses(&query, 6, 200);
    let seen = server.seen();
    assert_eq!((seen.accepted, seen.refused), (12, 0));
    assert_not_leaked(&query, "k3y");
}

#[test]
fn api_key_without_the_grant_is_a_setup_error_naming_the_variable() {
    let server = ApiKeyServer::start("k");
    let run = run(
        "1",
        &[
            "--plugin",
            fixtures::API_KEY,
            "--plugin-config",
            "key-env=TB_TEST_UNGRANTED",
        ],
        &[("TB_TEST_UNGRANTED", "k")],
        &urls(|p| server.url(p), "/header/", 1),
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("--plugin-env NAME:TB_TEST_UNGRANTED"),
        "{}",
        run.stderr
    );
    assert!(run.records.is_empty());
    assert_eq!(server.seen().accepted + server.seen().refused, 0);
}
