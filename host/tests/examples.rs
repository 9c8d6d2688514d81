//! Every program in `examples/` runs, against a loopback server, and does
//! what its doc says. `cargo test` builds the examples beside this test
//! (in `target/<profile>/examples/`), so they can never rot.

use std::path::PathBuf;
use std::process::Command;

use tb_loopback::Server;

#[path = "../benches/support/plugins.rs"]
mod plugins;

/// Runs example `name` with the server's base URL and returns its stdout.
fn run_example(name: &str, server: &Server) -> String {
    run_example_with(name, server, &[], &[])
}

/// Runs example `name` with the server's base URL, then `args`, with the
/// variables `env` set, and returns its stdout.
fn run_example_with(name: &str, server: &Server, args: &[&str], env: &[(&str, &str)]) -> String {
    let exe = std::env::current_exe().expect("the test's own path");
    let profile = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("tests live in target/<profile>/deps");
    let example: PathBuf = profile.join("examples").join(name);
    assert!(
        example.is_file(),
        "{} is not built: run `cargo test -p tb-host` (which builds the examples) or \
         `cargo build -p tb-host --examples` first",
        example.display()
    );
    let output = Command::new(&example)
        .arg(server.base_url())
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("run the example");
    let stdout = String::from_utf8(output.stdout).expect("UTF-8");
    assert!(
        output.status.success(),
        "{name} failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn from_urls_reads_responses_and_exceptions_apart() {
    let server = Server::start().unwrap();
    let out = run_example("from_urls", &server);
    assert!(
        out.contains(&format!("response 200 {}", server.url("/echo/a"))),
        "{out}"
    );
    assert!(
        out.contains(&format!("response 404 {}", server.url("/status/404"))),
        "{out}"
    );
    assert!(out.contains("failure connect http://127.0.0.1:1/"), "{out}");
    assert_eq!(out.lines().count(), 3, "each job once: {out}");
}

#[test]
fn auth_generator_gives_each_session_its_token() {
    let server = Server::start().unwrap();
    let out = run_example("auth_generator", &server);
    assert!(out.starts_with("sent \"Bearer worker-"), "{out}");
    let seen = server.requests_to("/echo/authorized");
    assert!(seen[0].header("authorization").unwrap().ends_with("-token"));
}

#[test]
fn cookies_keeps_the_login_cookie_and_writes_the_jar() {
    let server = Server::start().unwrap();
    let out = run_example("cookies", &server);
    assert!(
        out.starts_with("the login set sid for 127.0.0.1/\n"),
        "{out}"
    );
    assert!(
        out.contains("the next request sent \"sid=w0rker-1; lang=en\"\n"),
        "{out}"
    );
    assert!(
        out.contains("\n127.0.0.1\tFALSE\t/\tFALSE\t0\tsid\tw0rker-1\n"),
        "{out}"
    );
    assert!(
        !out.contains("lang\ten"),
        "a job's own cookie is not kept: {out}"
    );
}

#[test]
fn results_while_running_shows_fast_jobs_before_the_slow_one() {
    let server = Server::start().unwrap();
    let out = run_example("results_while_running", &server);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 6, "{out}");
    assert_eq!(
        lines[5], "job 0 answered 200",
        "the slow job ends last: {out}"
    );
}

#[test]
fn threaded_map_returns_responses_and_failures() {
    let server = Server::start().unwrap();
    let out = run_example("threaded_map", &server);
    assert!(
        out.contains(&format!("HEAD 200 {}", server.url("/json"))),
        "{out}"
    );
    assert!(
        out.contains(&format!("POST 200 {}", server.url("/echo/posted"))),
        "{out}"
    );
    assert!(out.ends_with("2 responses, 0 failures\n"), "{out}");
    let posted = server.requests_to("/echo/posted");
    assert_eq!(posted[0].body, br#"{"report":true}"#);
}

#[test]
fn plugins_from_manifest_loads_the_plugin_and_its_secret() {
    let server = Server::start().unwrap();
    let dir = std::env::temp_dir().join(format!("tb-host-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let manifest = dir.join("bearer.toml");
    let component = plugins::plugin_file("bearer-auth");
    let toml = format!(
        "path = {:?}\n[config]\ntoken = \"env:EXAMPLE_TOKEN\"\n",
        component
    );
    std::fs::write(&manifest, toml).unwrap();
    let out = run_example_with(
        "plugins_from_manifest",
        &server,
        &[manifest.to_str().unwrap()],
        &[("EXAMPLE_TOKEN", "t0k3n-from-env")],
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.starts_with("loaded bearer-auth "), "{out}");
    assert!(out.contains("sent \"Bearer t0k3n-from-env\""), "{out}");
    let seen = server.requests_to("/echo/manifest");
    assert_eq!(
        seen[0].header("authorization"),
        Some("Bearer t0k3n-from-env")
    );
}
