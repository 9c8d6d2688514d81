//! Plugins on the command line, through the real binary against the
//! loopback server: configuration scoped to one plugin and read from
//! files, grants, manifest files, the cache of compiled plugins, `plugin inspect`,
//! `plugin new` and shell completions.

use std::path::{Path, PathBuf};
use std::process::Command;

use tb_host::plugin::WIT_VERSION;
use tb_host_tests::fixtures;
use tb_host_tests::harness::{Run, Scratch, binary, server, tb_host};

/// Runs `tb-host run` with `args` on the one URL `path` of the server.
fn run_one(args: &[&str], path: &str) -> Run {
    let mut all = vec!["run", "--threads", "1", "--no-plugin-cache"];
    all.extend_from_slice(args);
    tb_host(&all, &(server().url(path) + "\n"))
}

/// What a run of `tb-host` printed, for commands whose output is not JSON
/// lines (which `tb_host` expects) or that need an environment.
struct Plain {
    /// The exit status code.
    code: i32,
    /// Everything written to stdout.
    stdout: String,
    /// Everything written to stderr.
    stderr: String,
}

/// Runs `tb-host` with `args` and the extra environment `env`, reading
/// nothing from stdin.
fn tb_host_env(args: &[&str], env: &[(&str, &str)]) -> Plain {
    let out = Command::new(binary())
        .args(args)
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run tb-host");
    Plain {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Every value of header `name` the server saw on the first request to
/// `path`, in order.
fn header_values(path: &str, name: &str) -> Vec<String> {
    let seen = server().requests_to(path);
    assert_eq!(seen.len(), 1, "one request to {path}");
    seen[0]
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
        .collect()
}

/// The `port=` config every env probe needs: the loopback server's port,
/// so a probe that may connect would succeed.
fn probe_port() -> String {
    let base = server().base_url();
    let port = base.rsplit(':').next().expect("base URL has a port");
    format!("port={port}")
}

#[test]
fn scoped_config_reaches_only_its_plugin_and_files_stay_secret() {
    let scratch = Scratch::new("scoped-config");
    let token = scratch.write_lines("token.txt", &["s3cr3t-from-file"]);
    let token_arg = format!("bearer_auth:token=@{}", token.display());
    let port = probe_port();
    let (first, second) = (format!("first:{port}"), format!("second:{port}"));
    let path = "/echo/plugin-cli/scoped";
    let run = run_one(
        &[
            "-v",
            "--plugin",
            fixtures::BEARER_AUTH,
            "--plugin",
            &format!("first={}", fixtures::ENV_PROBE),
            "--plugin",
            &format!("second={}", fixtures::ENV_PROBE),
            "--plugin-config",
            &token_arg,
            "--plugin-config",
            &first,
            "--plugin-config",
            "first:only-first=1",
            "--plugin-config",
            &second,
        ],
        path,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.by_index(1)[&0]["status"], 200);
    assert_eq!(
        header_values(path, "authorization"),
        ["Bearer s3cr3t-from-file"],
        "the file's contents, trailing newline trimmed"
    );
    assert_eq!(
        header_values(path, "x-config-keys"),
        ["port,only-first", "port"],
        "each probe sees its own keys only; bearer-auth's token reaches neither"
    );
    assert!(!run.stderr.contains("s3cr3t"), "leaked: {}", run.stderr);
    assert!(!run.stdout.contains("s3cr3t"), "leaked to stdout");
}

#[test]
fn bare_config_with_several_plugins_is_a_setup_error() {
    let run = run_one(
        &[
            "--plugin",
            fixtures::BEARER_AUTH,
            "--plugin",
            fixtures::SESSION_HEADERS,
            "--plugin-config",
            "token=s3cr3t-bare",
        ],
        "/fast/plugin-cli/never-bare",
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("--plugin-config NAME:token=VALUE"),
        "the form to type, whole: {}",
        run.stderr
    );
    assert!(run.stderr.contains("bearer_auth"), "{}", run.stderr);
    assert!(run.stderr.contains("session_headers"), "{}", run.stderr);
    assert!(!run.stderr.contains("s3cr3t"), "leaked: {}", run.stderr);
    assert!(run.records.is_empty());
}

#[test]
fn an_unknown_plugin_name_is_a_setup_error_listing_the_names() {
    let run = run_one(
        &[
            "--plugin",
            fixtures::BEARER_AUTH,
            "--plugin-config",
            "bearer:token=s3cr3t-unknown",
        ],
        "/fast/plugin-cli/never-unknown",
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("`bearer`"), "{}", run.stderr);
    assert!(
        run.stderr.contains("bearer_auth (or bearer-auth)"),
        "lists the names: {}",
        run.stderr
    );
    assert!(!run.stderr.contains("s3cr3t"), "leaked: {}", run.stderr);
}

#[test]
fn a_missing_config_file_is_a_setup_error_naming_it() {
    let scratch = Scratch::new("missing-config-file");
    let missing = scratch.path("no-such-token.txt");
    let run = run_one(
        &[
            "--plugin",
            fixtures::BEARER_AUTH,
            "--plugin-config",
            &format!("token=@{}", missing.display()),
        ],
        "/fast/plugin-cli/never-missing",
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(&missing.display().to_string()),
        "{}",
        run.stderr
    );
}

#[test]
fn a_plugin_sees_no_environment_files_or_sockets_by_default() {
    let scratch = Scratch::new("sandbox");
    let path = "/echo/plugin-cli/sandbox";
    let port = probe_port();
    let out = tb_host_env(
        &[
            "run",
            "--no-plugin-cache",
            "--plugin",
            fixtures::ENV_PROBE,
            "--plugin-config",
            &port,
            &write_urls(&scratch, path),
        ],
        &[("TB_PROBE", "set-in-the-host-only")],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(header_values(path, "x-env-probe"), ["absent"]);
    assert_eq!(header_values(path, "x-env-names"), ["none"]);
    assert_eq!(header_values(path, "x-fs-probe"), [FS_DENIED]);
    assert_eq!(header_values(path, "x-net-probe"), [NET_DENIED]);
    assert!(
        !Path::new("tb-probe.txt").exists(),
        "the probe wrote no file here"
    );
}

/// What the env probe reports when no file may be listed, read or written.
const FS_DENIED: &str = "list=denied read=denied write=denied";

/// What the env probe reports when it may not connect, bind, resolve or
/// listen.
const NET_DENIED: &str = "tcp=denied udp=denied dns=denied listen=denied";

#[test]
fn an_env_grant_reaches_its_plugin_and_no_other() {
    let scratch = Scratch::new("env-grant");
    let path = "/echo/plugin-cli/env-grant";
    let port = probe_port();
    let out = tb_host_env(
        &[
            "run",
            "-v",
            "--no-plugin-cache",
            "--plugin",
            fixtures::ENV_PROBE,
            "--plugin",
            &format!("other={}", fixtures::ENV_PROBE),
            "--plugin-config",
            &format!("env_probe_plugin:{port}"),
            "--plugin-config",
            &format!("other:{port}"),
            "--plugin-env",
            "env_probe_plugin:TB_PROBE",
            &write_urls(&scratch, path),
        ],
        &[
            ("TB_PROBE", "granted-s3cr3t"),
            ("TB_PROBE_NOT_GRANTED", "s3cr3t-too"),
        ],
    );
    let stderr = out.stderr;
    assert_eq!(out.code, 0, "{stderr}");
    assert_eq!(
        header_values(path, "x-env-probe"),
        ["granted-s3cr3t", "absent"],
        "the granted plugin sees it, the other does not"
    );
    assert_eq!(
        header_values(path, "x-env-names"),
        ["TB_PROBE", "none"],
        "the granted variable is the only one it sees"
    );
    assert_eq!(header_values(path, "x-fs-probe"), [FS_DENIED, FS_DENIED]);
    assert_eq!(header_values(path, "x-net-probe"), [NET_DENIED, NET_DENIED]);
    assert!(
        stderr.contains("TB_PROBE"),
        "names the grant at -v: {stderr}"
    );
    assert!(!stderr.contains("s3cr3t"), "leaked: {stderr}");
}

#[test]
fn an_env_grant_of_an_unset_variable_is_a_setup_error() {
    let run = run_one(
        &[
            "--plugin",
            fixtures::ENV_PROBE,
            "--plugin-config",
            &probe_port(),
            "--plugin-env",
            "TB_PLUGIN_CLI_NEVER_SET",
        ],
        "/fast/plugin-cli/never-unset",
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("TB_PLUGIN_CLI_NEVER_SET is not set"),
        "{}",
        run.stderr
    );
}

/// Writes a file of URLs in `scratch` holding the server's `path`, and
/// returns its path as an argument.
fn write_urls(scratch: &Scratch, path: &str) -> String {
    let file = scratch.write_lines("urls.txt", &[server().url(path)]);
    file.display().to_string()
}

/// The cache files in `dir`.
fn cache_files(dir: &Path) -> Vec<PathBuf> {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries.map(|entry| entry.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    }
}

#[test]
fn compiled_plugins_are_cached_and_a_corrupt_cache_file_is_rebuilt() {
    let scratch = Scratch::new("plugin-cache");
    let cache = scratch.path("cache");
    let cache_arg = cache.display().to_string();
    let run_cached = |key: &str| {
        let path = format!("/echo/plugin-cli/cache-{key}");
        let run = tb_host(
            &[
                "run",
                "-v",
                "--plugin-cache",
                &cache_arg,
                "--plugin",
                fixtures::BEARER_AUTH,
                "--plugin-config",
                "token=cache-token",
            ],
            &(server().url(&path) + "\n"),
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(
            header_values(&path, "authorization"),
            ["Bearer cache-token"]
        );
        run
    };

    let first = run_cached("first");
    let files = cache_files(&cache);
    assert_eq!(files.len(), 1, "the first run fills the cache: {files:?}");
    assert!(!first.stderr.contains("cached"), "{}", first.stderr);
    assert!(
        first.stderr.contains("saved in the plugin cache"),
        "{}",
        first.stderr
    );

    let second = run_cached("second");
    assert!(second.stderr.contains("cached"), "{}", second.stderr);

    let garbage = b"this is not a compiled plugin".repeat(100);
    std::fs::write(&files[0], &garbage).unwrap();
    let third = run_cached("corrupt");
    assert!(third.stderr.contains("corrupt"), "{}", third.stderr);
    assert!(
        third.stderr.contains("compiling it again"),
        "{}",
        third.stderr
    );
    assert_ne!(std::fs::read(&files[0]).unwrap(), garbage, "replaced");

    let truncated = std::fs::read(&files[0]).unwrap();
    std::fs::write(&files[0], &truncated[..truncated.len() / 2]).unwrap();
    let fourth = run_cached("truncated");
    assert!(fourth.stderr.contains("corrupt"), "{}", fourth.stderr);
    assert_eq!(std::fs::read(&files[0]).unwrap(), truncated, "whole again");

    let fifth = run_cached("after-repair");
    assert!(fifth.stderr.contains("cached"), "{}", fifth.stderr);
    assert_eq!(cache_files(&cache).len(), 1, "no temporary file left");
}

#[test]
fn the_default_cache_follows_xdg_and_can_be_turned_off() {
    let scratch = Scratch::new("xdg-cache");
    let xdg = scratch.path("xdg");
    let xdg_arg = xdg.display().to_string();
    let urls = write_urls(&scratch, "/fast/plugin-cli/xdg");
    let args = [
        "run",
        "--plugin",
        fixtures::BEARER_AUTH,
        "--plugin-config",
        "token=xdg",
        &urls,
    ];
    let out = tb_host_env(&args, &[("XDG_CACHE_HOME", &xdg_arg)]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(cache_files(&xdg.join("tb-host")).len(), 1);

    let off = scratch.path("off");
    let mut args = args.to_vec();
    args.insert(1, "--no-plugin-cache");
    let out = tb_host_env(&args, &[("XDG_CACHE_HOME", &off.display().to_string())]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!off.exists(), "--no-plugin-cache writes nothing");
}

#[cfg(unix)]
#[test]
fn a_cache_directory_others_may_write_to_is_never_used() {
    use std::os::unix::fs::PermissionsExt;
    let shared_dir = |dir: &Path| {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        dir.display().to_string()
    };
    let scratch = Scratch::new("shared-cache");
    let path = "/echo/plugin-cli/shared-cache";
    let urls = write_urls(&scratch, path);
    let run = |cache: &[&str], env: &[(&str, &str)]| {
        let mut args = vec!["run"];
        args.extend_from_slice(cache);
        args.extend_from_slice(&[
            "--plugin",
            fixtures::BEARER_AUTH,
            "--plugin-config",
            "token=t0k3n-of-the-shared-cache-test",
            &urls,
        ]);
        tb_host_env(&args, env)
    };

    let explicit = scratch.path("explicit");
    let explicit_arg = shared_dir(&explicit);
    let refused = run(&["--plugin-cache", &explicit_arg], &[]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    let expected = format!(
        "tb-host: --plugin-cache: refusing the plugin cache {explicit_arg}: it is writable by \
         group or others (mode 0777), so another user could put code there that tb-host would \
         run outside the sandbox; make it yours alone (chmod 700 {explicit_arg}) or use another \
         directory\n"
    );
    assert_eq!(refused.stderr, expected);
    assert!(cache_files(&explicit).is_empty());
    assert!(server().requests_to(path).is_empty(), "nothing ran");

    let xdg = scratch.path("xdg");
    let default_arg = shared_dir(&xdg.join("tb-host"));
    let uncached = run(&[], &[("XDG_CACHE_HOME", &xdg.display().to_string())]);
    assert_eq!(uncached.code, 0, "{}", uncached.stderr);
    let warning =
        format!("refusing the plugin cache {default_arg}: it is writable by group or others");
    assert!(uncached.stderr.contains(&warning), "{}", uncached.stderr);
    assert!(
        uncached.stderr.contains("compiling every plugin afresh"),
        "{}",
        uncached.stderr
    );
    assert!(
        cache_files(&xdg.join("tb-host")).is_empty(),
        "nothing saved"
    );
    assert_eq!(
        header_values(path, "authorization"),
        ["Bearer t0k3n-of-the-shared-cache-test"]
    );
}

#[test]
fn inspect_describes_a_plugin() {
    let run = tb_host_env(
        &[
            "plugin",
            "inspect",
            fixtures::BEARER_AUTH,
            "--plugin-config",
            "token=s3cr3t-inspect",
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    for expected in [
        "bearer-auth".to_owned(),
        "0.1.0".to_owned(),
        "authorize (before every attempt)".to_owned(),
        format!("toolbelt:plugin@{WIT_VERSION} (this host speaks toolbelt:plugin@{WIT_VERSION})"),
        format!("toolbelt:plugin/host@{WIT_VERSION}"),
        format!("toolbelt:plugin/hooks@{WIT_VERSION}"),
        "bytes".to_owned(),
        " ms".to_owned(),
        "token (text, required, secret): the bearer token".to_owned(),
    ] {
        assert!(run.stdout.contains(&expected), "{expected}: {}", run.stdout);
    }
    assert!(!run.stdout.contains("s3cr3t"), "leaked: {}", run.stdout);

    let unconfigured = tb_host_env(&["plugin", "inspect", fixtures::BEARER_AUTH], &[]);
    assert_eq!(unconfigured.code, 0, "{}", unconfigured.stderr);
    assert!(
        unconfigured.stdout.contains("refused to start") && unconfigured.stdout.contains("token"),
        "{}",
        unconfigured.stdout
    );
    assert!(
        unconfigured
            .stdout
            .contains(&format!("toolbelt:plugin/host@{WIT_VERSION}")),
        "the rest is still shown: {}",
        unconfigured.stdout
    );
}

/// `fixtures::BEARER_AUTH` with every contract interface renamed to
/// version 0.9.0: a real component, built for a contract this host does
/// not speak.
fn built_for_another_version(scratch: &Scratch) -> PathBuf {
    let mut wasm = std::fs::read(fixtures::BEARER_AUTH).unwrap();
    let mut renamed = 0;
    for interface in ["types", "host", "hooks"] {
        let from = format!("toolbelt:plugin/{interface}@{WIT_VERSION}").into_bytes();
        let to = format!("toolbelt:plugin/{interface}@0.9.0").into_bytes();
        let mut at = 0;
        while let Some(found) = wasm[at..].windows(from.len()).position(|w| w == from) {
            let start = at + found;
            wasm[start..start + to.len()].copy_from_slice(&to);
            at = start + to.len();
            renamed += 1;
        }
    }
    assert!(renamed >= 3, "renamed {renamed} names");
    let path = scratch.path("future.wasm");
    std::fs::write(&path, wasm).unwrap();
    path
}

#[test]
fn a_component_for_another_contract_version_is_refused_naming_both() {
    let scratch = Scratch::new("other-version");
    let future = built_for_another_version(&scratch);
    let future = future.to_str().unwrap();
    let inspect = tb_host_env(&["plugin", "inspect", future], &[]);
    let run = run_one(
        &["--plugin", future, "--plugin-config", "token=t"],
        "/fast/plugin-cli/never-version",
    );
    for (code, stderr) in [(inspect.code, &inspect.stderr), (run.code, &run.stderr)] {
        assert_eq!(code, 2, "{stderr}");
        assert!(
            stderr.contains("built for toolbelt:plugin@0.9.0")
                && stderr.contains(&format!("this host speaks toolbelt:plugin@{WIT_VERSION}")),
            "{stderr}"
        );
        assert!(stderr.contains("future.wasm"), "{stderr}");
    }
}

#[test]
fn a_key_the_plugin_does_not_declare_is_warned_about_and_the_run_goes_on() {
    // bearer-auth declares its one key, `token`: a misspelt second key
    // would otherwise be ignored without a word.
    let url = tb_host_tests::harness::server().url("/echo/undeclared/1");
    let run = tb_host_tests::harness::tb_host(
        &[
            "run",
            "--plugin",
            fixtures::BEARER_AUTH,
            "--plugin-config",
            "token=s3cr3t-declared",
            "--plugin-config",
            "tokn=s3cr3t-misspelt",
        ],
        &format!("{url}\n"),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("config key `tokn` is not one it reads (it reads: token)"),
        "{}",
        run.stderr
    );
    assert_eq!(
        run.stderr.matches("`tokn`").count(),
        1,
        "once: {}",
        run.stderr
    );
    assert!(!run.stderr.contains("s3cr3t"), "leaked: {}", run.stderr);
}

#[test]
fn inspect_refuses_files_that_are_not_components() {
    let scratch = Scratch::new("not-components");
    let text = scratch.write_lines("notes.wasm", &["not wasm at all"]);
    let core = scratch.path("core.wasm");
    std::fs::write(&core, b"\0asm\x01\0\0\0").unwrap();
    for (file, says) in [
        (&text, "not WebAssembly"),
        (&core, "core WebAssembly module, not a component"),
    ] {
        let run = tb_host_env(&["plugin", "inspect", file.to_str().unwrap()], &[]);
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(run.stderr.contains(says), "{says}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{}", run.stdout);
    }
}

/// The workspace root: the parent of this package's directory.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is one level down")
        .to_path_buf()
}

/// Runs cargo with `args` in `dir`, with `target` as its target directory,
/// and panics with its output unless it succeeds.
fn cargo(dir: &Path, target: &Path, args: &[&str]) {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(dir)
        .args(args)
        .arg("--target-dir")
        .arg(target)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .output()
        .expect("run cargo");
    assert!(
        out.status.success(),
        "cargo {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_new_plugin_tests_builds_and_runs() {
    // Under the repository's target/, inside its workspace's directory
    // tree: the crate's own [workspace] table must keep it out.
    let work = workspace_root().join("target").join("plugin-new-test");
    let dir = work.join(format!("crate-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let made = tb_host_env(
        &[
            "plugin",
            "new",
            "tb-new-header",
            "--path",
            dir.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(made.code, 0, "{}", made.stderr);
    assert!(made.stdout.contains("cargo test"), "{}", made.stdout);
    // The workspace's lock file pins the same dependency versions the
    // workspace builds with, so nothing new is downloaded.
    std::fs::copy(workspace_root().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    let target = work.join("target");
    cargo(&dir, &target, &["test", "--quiet"]);
    cargo(
        &dir,
        &target,
        &["build", "--quiet", "--release", "--target", "wasm32-wasip2"],
    );
    let wasm = target.join("wasm32-wasip2/release/tb_new_header.wasm");
    let path = "/echo/plugin-cli/new-plugin";
    let run = run_one(
        &[
            "--plugin",
            wasm.to_str().unwrap(),
            "--plugin-config",
            "value=from-a-new-plugin",
        ],
        path,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        header_values(path, "x-tb-new-header"),
        ["from-a-new-plugin"]
    );
    let again = tb_host_env(
        &[
            "plugin",
            "new",
            "tb-new-header",
            "--path",
            dir.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(
        again.code, 2,
        "refuses a non-empty directory: {}",
        again.stderr
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn completions_cover_the_plugin_flags() {
    let bash = tb_host_env(&["completions", "bash"], &[]);
    assert_eq!(bash.code, 0, "{}", bash.stderr);
    for expected in [
        "--plugin-config",
        "--plugin-env",
        "--plugin-manifest",
        "--no-plugin-cache",
        "inspect",
    ] {
        assert!(bash.stdout.contains(expected), "{expected} missing");
    }
    let zsh = tb_host_env(&["completions", "zsh"], &[]);
    assert_eq!(zsh.code, 0, "{}", zsh.stderr);
    assert!(zsh.stdout.contains("--plugin-config"));
    let unknown = tb_host_env(&["completions", "tcsh"], &[]);
    assert_eq!(unknown.code, 2, "clap refuses an unknown shell");
}

/// Runs the token-fetch plugin over four URLs on two threads with `extra`
/// flags; its token endpoint is the loopback server's `/bytes/5`.
fn token_fetch_run(tag: &str, extra: &[&str]) -> Run {
    let token_url = format!("token-url={}", server().url(&format!("/bytes/5?{tag}")));
    let urls: Vec<String> = (0..4)
        .map(|i| server().url(&format!("/echo/fetch-{tag}/{i}")))
        .collect();
    let mut args = vec![
        "run",
        "-j",
        "2",
        "--plugin",
        fixtures::TOKEN_FETCH,
        "--plugin-config",
        &token_url,
    ];
    args.extend_from_slice(extra);
    tb_host(&args, &(urls.join("\n") + "\n"))
}

#[test]
fn a_plugin_fetches_only_from_granted_hosts() {
    let denied = token_fetch_run("denied", &[]);
    assert_eq!(denied.code, 1, "{}", denied.stderr);
    for record in denied.by_index(4).values() {
        assert_eq!(record["error"]["kind"], "plugin", "{record}");
        let message = record["error"]["message"].as_str().unwrap();
        assert!(message.contains("not granted"), "{message}");
    }
    assert_eq!(server().hits("/echo/fetch-denied/0"), 0, "nothing was sent");
    let token_fetches = |tag: &str| {
        server()
            .requests_to("/bytes/5")
            .iter()
            .filter(|r| r.target.ends_with(&format!("?{tag}")))
            .count()
    };
    assert_eq!(token_fetches("denied"), 0, "the fetch itself was refused");

    let other = token_fetch_run("other-host", &["--plugin-allow-host", "auth.example.test"]);
    assert_eq!(other.code, 1, "a grant of another host does not help");

    let bare = token_fetch_run("bare-host", &["--plugin-allow-host", "127.0.0.1"]);
    assert_eq!(bare.code, 1, "a bare host grants its default ports only");
    let grant = format!("127.0.0.1:{}", server().port());
    let granted = token_fetch_run("granted", &["--plugin-allow-host", &grant]);
    assert_eq!(granted.code, 0, "{}", granted.stderr);
    granted.by_index(4);
    for i in 0..4 {
        assert_eq!(
            header_values(&format!("/echo/fetch-granted/{i}"), "authorization"),
            ["Bearer xxxxx"],
            "the fetched token was sent"
        );
    }
    let fetched = token_fetches("granted");
    assert!(
        (1..=2).contains(&fetched),
        "once per worker at most: {fetched}"
    );
}

/// The deadline message of a job on which the hostile fixture loops in
/// `authorize`, with `limits`.
fn looping_deadline(tag: &str, limits: &[&str]) -> String {
    let mut args = vec![
        "run",
        "--plugin",
        fixtures::HOSTILE,
        "--plugin",
        fixtures::BEARER_AUTH,
        "--plugin-config",
        "bearer_auth:token=t",
    ];
    args.extend_from_slice(limits);
    let url = server().url(&format!("/fast/loop-{tag}?authorize=loop"));
    let run = tb_host(&args, &url);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let records = run.by_index(1);
    assert_eq!(records[&0]["error"]["kind"], "plugin");
    records[&0]["error"]["message"].as_str().unwrap().to_owned()
}

#[test]
fn timeouts_and_memory_caps_can_be_set_per_plugin() {
    let own = looping_deadline("own", &["--plugin-timeout", "hostile_plugin:40"]);
    assert!(own.contains("deadline of 40 ms"), "{own}");
    let other = looping_deadline("other", &["--plugin-timeout", "bearer_auth:40"]);
    assert!(other.contains("deadline of 100 ms"), "the default: {other}");
    let bare = looping_deadline(
        "bare",
        &[
            "--plugin-timeout",
            "60",
            "--plugin-memory",
            "hostile_plugin:32",
        ],
    );
    assert!(
        bare.contains("deadline of 60 ms"),
        "a bare value for all: {bare}"
    );

    let unknown = tb_host(
        &[
            "run",
            "--plugin",
            fixtures::HOSTILE,
            "--plugin-memory",
            "nope:8",
        ],
        "",
    );
    assert_eq!(unknown.code, 2);
    assert!(unknown.stderr.contains("nope"), "{}", unknown.stderr);
}

#[test]
fn a_manifest_runs_in_command_line_order_and_flags_scoped_to_its_name_add_to_it() {
    let scratch = Scratch::new("manifest-order");
    let path = "/echo/plugin-cli/manifest-order";
    let port = probe_port();
    let port = port.trim_start_matches("port=");
    let manifest = scratch.write_lines(
        "probe.toml",
        &[
            "name = \"probe\"".to_owned(),
            format!("path = {:?}", fixtures::ENV_PROBE),
            "env = [\"TB_PROBE\"]".to_owned(),
            "[config]".to_owned(),
            format!("port = {port}"),
            "header.X-Team = \"search\"".to_owned(),
        ],
    );
    let out = tb_host_env(
        &[
            "run",
            "--no-plugin-cache",
            "--plugin-manifest",
            manifest.to_str().unwrap(),
            "--plugin",
            &format!("other={}", fixtures::ENV_PROBE),
            "--plugin-config",
            &format!("other:port={port}"),
            "--plugin-config",
            "probe:extra=1",
            &write_urls(&scratch, path),
        ],
        &[("TB_PROBE", "granted-by-the-manifest")],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        header_values(path, "x-config-keys"),
        ["port,header.X-Team,extra", "port"],
        "the manifest's plugin first, with its keys and the flag's"
    );
    assert_eq!(
        header_values(path, "x-env-probe"),
        ["granted-by-the-manifest", "absent"],
        "the manifest's grant reaches its plugin only"
    );
}

#[test]
fn an_unknown_key_in_a_manifest_is_refused_naming_the_key_and_the_file() {
    let scratch = Scratch::new("manifest-unknown-key");
    let manifest = scratch.write_lines(
        "bearer.toml",
        &[
            format!("path = {:?}", fixtures::BEARER_AUTH),
            "allowed_host = [\"idp.example\"]".to_owned(),
        ],
    );
    let run = run_one(
        &["--plugin-manifest", manifest.to_str().unwrap()],
        "/fast/plugin-cli/never-unknown-key",
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    for expected in [
        format!("plugin manifest {} line 2", manifest.display()),
        "unknown field `allowed_host`".to_owned(),
        "`allowed_hosts`".to_owned(),
    ] {
        assert!(run.stderr.contains(&expected), "{expected}: {}", run.stderr);
    }
    assert!(run.records.is_empty());
}

#[test]
fn an_unset_variable_in_a_manifest_is_refused_naming_it() {
    let scratch = Scratch::new("manifest-unset-variable");
    let manifest = scratch.write_lines(
        "bearer.toml",
        &[
            format!("path = {:?}", fixtures::BEARER_AUTH),
            "[config]".to_owned(),
            "token = \"env:TB_TEST_UNSET_TOKEN\"".to_owned(),
        ],
    );
    let run = run_one(
        &["--plugin-manifest", manifest.to_str().unwrap()],
        "/fast/plugin-cli/never-unset-variable",
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    let expected = format!(
        "plugin manifest {}: config key `token`: TB_TEST_UNSET_TOKEN is not set in tb-host's environment",
        manifest.display()
    );
    assert!(run.stderr.contains(&expected), "{}", run.stderr);
    assert!(run.records.is_empty());
}

#[test]
fn inspect_shows_a_manifest_without_its_secret_values() {
    let scratch = Scratch::new("manifest-inspect");
    scratch.write_lines("token.txt", &["s3cr3t-from-the-file"]);
    let manifest = scratch.write_lines(
        "bearer.toml",
        &[
            format!("path = {:?}", fixtures::BEARER_AUTH),
            "env = [\"TB_INSPECT_GRANTED\"]".to_owned(),
            "allowed_hosts = [\"https://idp.example\"]".to_owned(),
            "timeout_ms = 250".to_owned(),
            "secrets = [\"hidden\"]".to_owned(),
            "[config]".to_owned(),
            "token = \"@token.txt\"".to_owned(),
            "hidden = \"s3cr3t-declared\"".to_owned(),
            "note = \"shown-as-it-is\"".to_owned(),
        ],
    );
    let run = tb_host_env(
        &[
            "plugin",
            "inspect",
            "--plugin-manifest",
            manifest.to_str().unwrap(),
            "--plugin-config",
            "api-key=s3cr3t-from-a-flag",
        ],
        &[("TB_INSPECT_GRANTED", "s3cr3t-granted")],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    for expected in [
        "bearer-auth".to_owned(),
        format!("manifest:      {}", manifest.display()),
        format!("file:          {}", fixtures::BEARER_AUTH),
        "config:        token (secret, not shown)".to_owned(),
        "hidden (secret, not shown)".to_owned(),
        "note = shown-as-it-is".to_owned(),
        "api-key (secret, not shown)".to_owned(),
        "env:           TB_INSPECT_GRANTED (value secret, not shown)".to_owned(),
        "allowed hosts: https://idp.example".to_owned(),
        "timeout:       250 ms per call".to_owned(),
        "memory:        64 MiB per instance (the default)".to_owned(),
    ] {
        assert!(
            run.stdout.contains(&expected),
            "{expected}:\n{}",
            run.stdout
        );
    }
    assert!(!run.stdout.contains("s3cr3t"), "leaked: {}", run.stdout);
    assert!(!run.stderr.contains("s3cr3t"), "leaked: {}", run.stderr);
}
