//! Secrets given to plugins (configuration values named like secrets or
//! declared secret in a manifest, files named with `@FILE`, `env:VAR`
//! values, granted environment variables) never appear in what tb-host
//! writes: stdout, stderr at the most verbose log level, the output file
//! or the failures file. They do reach the server, which shows the run
//! really used them; and a value that is not secret is shown.

use tb_host::plugin::REDACTED;
use tb_host_tests::fixtures;
use tb_host_tests::harness::{self, Run, Scratch, exactly_once, read_records, server};

/// Each secret, and the one way the run hands it to a plugin.
const FROM_ENV: &str = "k3y-from-the-environment-0451";
const FROM_FILE: &str = "t0ken-from-a-file-9921";
const FROM_CONFIG: &str = "c0nfig-value-7731";

/// A config value that is not secret, which messages show.
const NOT_SECRET: &str = "plainly-shown-4242";

/// Secrets with the characters encodings change: a space, `/` and `+`
/// (percent- and form-encoding; their base64 has `+` and `/`, which
/// URL-safe base64 changes), `"` and `\\` (JSON), and non-ASCII letters.
const AWKWARD_KEY: &str = "SECRET KEY/777+x \"ü\" \\ ÿ~";
const AWKWARD_CONFIG: &str = "p@ss wörd+/\"\\ 42?";

/// Compiles the plugins into the plugin cache once, at the normal log
/// level: at trace level the compiler logs every function it compiles,
/// which takes a minute and has nothing to do with secrets.
fn warm_the_plugin_cache() {
    static WARM: std::sync::Once = std::sync::Once::new();
    WARM.call_once(|| {
        let plugins = [
            plugin("api", fixtures::API_KEY, &[], &[("key", "warm")]),
            plugin("bearer", fixtures::BEARER_AUTH, &[], &[("token", "warm")]),
            plugin("hostile", fixtures::HOSTILE, &[], &[("unused", "1")]),
        ];
        for plugin in plugins {
            let mut args = vec!["run"];
            args.extend(plugin.iter().map(String::as_str));
            let run = harness::tb_host(&args, "");
            assert_eq!(run.code, 0, "{}", run.stderr);
        }
    });
}

/// `--plugin NAME=PATH` and the flags scoped to it: `--plugin-env
/// NAME:VAR` for each of `env`, `--plugin-config NAME:KEY=VALUE` for each
/// of `config`.
fn plugin(name: &str, path: &str, env: &[&str], config: &[(&str, &str)]) -> Vec<String> {
    let mut args = vec!["--plugin".to_owned(), format!("{name}={path}")];
    for var in env {
        args.extend(["--plugin-env".to_owned(), format!("{name}:{var}")]);
    }
    for (key, value) in config {
        args.extend([
            "--plugin-config".to_owned(),
            format!("{name}:{key}={value}"),
        ]);
    }
    args
}

/// The `api` plugin (api_key), granted `TB_SECRET_KEY` and told to send
/// its value as the query parameter `query`.
fn api_key_plugin(query: &str) -> Vec<String> {
    plugin(
        "api",
        fixtures::API_KEY,
        &["TB_SECRET_KEY"],
        &[("key-env", "TB_SECRET_KEY"), ("query", query)],
    )
}

/// Runs tb-host at trace level (`-vvv` and `RUST_LOG=trace`, so the
/// HTTP client's own logs show too), output and failures to files, with
/// [`FROM_ENV`] in `TB_SECRET_KEY`.
fn run_traced(scratch: &Scratch, args: &[String], urls: &[String]) -> (Run, String, String) {
    run_traced_with_key(scratch, FROM_ENV, args, urls)
}

/// [`run_traced`] with `key` in `TB_SECRET_KEY`.
fn run_traced_with_key(
    scratch: &Scratch,
    key: &str,
    args: &[String],
    urls: &[String],
) -> (Run, String, String) {
    warm_the_plugin_cache();
    let input = scratch.write_lines("urls.txt", urls);
    let output = scratch.path("out.jsonl");
    let failures = scratch.path("failures.jsonl");
    let mut all = vec!["run", "-vvv", "-j", "2", "--max-attempts", "2"];
    all.extend(args.iter().map(String::as_str));
    let paths = [&input, &output, &failures].map(|path| path.to_str().unwrap());
    all.extend([paths[0], "-o", paths[1], "--failures", paths[2]]);
    let env = [("RUST_LOG", "trace"), ("TB_SECRET_KEY", key)];
    let run = harness::tb_host_env(&all, &env, "");
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
    let token = format!("@{}", token.display());
    // The hostile plugin's manifest declares `decoy` secret, reads a value
    // from a file beside it and one from a variable; `scope` is shown.
    let manifest = scratch.write_lines(
        "hostile.toml",
        &[
            "name = \"hostile\"".to_owned(),
            format!("path = {:?}", fixtures::HOSTILE),
            "secrets = [\"decoy\"]".to_owned(),
            "[config]".to_owned(),
            format!("decoy = \"{FROM_CONFIG}\""),
            "note = \"@token.txt\"".to_owned(),
            "from-env = \"env:TB_SECRET_KEY\"".to_owned(),
            format!("scope = \"{NOT_SECRET}\""),
        ],
    );
    let urls = vec![
        // Answered: the key goes out in the query, the token in a header.
        server().url("/echo/secrets/ok?x=1"),
        // Refused: the client's error and its debug log name the URL the
        // key was put in.
        harness::refused_url("/refused?x=1"),
        // Reset before the status line, then retried: more client logs.
        server().url("/reset/secrets-reset/5"),
        // A plugin that prints everything it was given, at every level,
        // then fails with it in its message; one that panics with it.
        server().url("/echo/secrets/leak?authorize=leak"),
        server().url("/echo/secrets/panic?authorize=leak-panic"),
        server().url("/status/503?decide-retry=leak"),
    ];
    let mut args = api_key_plugin("apikey");
    args.extend(plugin(
        "bearer",
        fixtures::BEARER_AUTH,
        &[],
        &[("token", &token)],
    ));
    args.extend(
        [
            "--plugin-manifest",
            manifest.to_str().unwrap(),
            "--plugin-env",
            "hostile:TB_SECRET_KEY",
        ]
        .map(str::to_owned),
    );
    let (run, output, failures) = run_traced(&scratch, &args, &urls);
    assert_eq!(run.code, 1, "some jobs fail: {}", run.stderr);

    // The secrets were used: the server saw the key and the token.
    let seen = server().requests_to("/echo/secrets/ok");
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(
        seen[0].target.contains(&format!("apikey={FROM_ENV}")),
        "{}",
        seen[0].target
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

    // The leaks were tried, at every level, and hidden; the value that is
    // not secret shows.
    let leaked =
        format!("leaks decoy={REDACTED} note={REDACTED} from-env={REDACTED} scope={NOT_SECRET} ");
    for level in ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"] {
        assert!(
            run.stderr
                .lines()
                .any(|l| l.contains(level) && l.contains(&leaked)),
            "no hidden leak at {level}:\n{}",
            run.stderr
        );
    }
    assert_hidden("stdout", &run.stdout);
    assert_hidden("stderr", &run.stderr);
    assert_hidden("the output file", &output);
    assert_hidden("the failures file", &failures);
}

/// `secret` in every form tb-host, a dependency or a plugin may write it
/// in, each named: raw, percent-encoded (all but the unreserved
/// characters, in upper- and lower-case hex), form-encoded, base64
/// (standard, padded or not, URL-safe, and as the password of Basic
/// credentials), JSON-escaped and Rust-escaped (`{:?}`).
fn encoded_forms(secret: &str) -> Vec<(&'static str, String)> {
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

    let percent = |lower: bool| -> String {
        let mut text = String::new();
        for byte in secret.bytes() {
            if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                text.push(char::from(byte));
            } else if lower {
                text.push_str(&format!("%{byte:02x}"));
            } else {
                text.push_str(&format!("%{byte:02X}"));
            }
        }
        text
    };
    let quoted = |text: String| text[1..text.len() - 1].to_owned();
    vec![
        ("raw", secret.to_owned()),
        ("percent-encoded", percent(false)),
        ("percent-encoded in lower case", percent(true)),
        ("form-encoded", percent(false).replace("%20", "+")),
        ("base64", STANDARD.encode(secret)),
        ("base64 unpadded", STANDARD.encode(secret).replace('=', "")),
        ("URL-safe base64", URL_SAFE_NO_PAD.encode(secret)),
        (
            "Basic credentials",
            STANDARD.encode(format!("user:{secret}")),
        ),
        (
            "JSON-escaped",
            quoted(serde_json::to_string(secret).unwrap()),
        ),
        ("Rust-escaped", quoted(format!("{secret:?}"))),
    ]
}

#[test]
fn a_secret_with_awkward_characters_shows_in_no_encoding_at_trace_level() {
    let scratch = Scratch::new("secrets-encoded");
    let urls = vec![
        // Answered: the key goes out percent-encoded in the query.
        server().url("/echo/secrets-encoded/ok?x=1"),
        harness::refused_url("/refused?x=1"),
        server().url("/reset/secrets-encoded-reset/5"),
        server().url("/redirect/2?x=1"),
        // A plugin that prints its secrets in every encoding, and the
        // URL `api` put the key in, at every level and in its error.
        server().url("/echo/secrets-encoded/leak?authorize=leak-encoded"),
        server().url("/status/503?decide-retry=leak-encoded"),
    ];
    let mut args = api_key_plugin("appid");
    args.extend(plugin(
        "hostile",
        fixtures::HOSTILE,
        &["TB_SECRET_KEY"],
        &[("password", AWKWARD_CONFIG)],
    ));
    let (run, output, failures) = run_traced_with_key(&scratch, AWKWARD_KEY, &args, &urls);
    assert_eq!(run.code, 1, "some jobs fail: {}", run.stderr);

    // The key was used, percent-encoded.
    let seen = server().requests_to("/echo/secrets-encoded/ok");
    assert_eq!(seen.len(), 1, "{seen:?}");
    let sent = format!("appid={}", encoded_forms(AWKWARD_KEY)[1].1);
    assert!(seen[0].target.ends_with(&sent), "{}", seen[0].target);

    let records: Vec<serde_json::Value> = output
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON record"))
        .collect();
    let by_index = exactly_once(&records, 0..urls.len() as u64, &run.stderr);
    assert_eq!(by_index[&0]["status"], 200);
    assert_eq!(by_index[&1]["error"]["kind"], "connect", "{}", by_index[&1]);
    assert_eq!(by_index[&3]["status"], 200);
    // The leaks were tried, and every encoding of them hidden.
    for leaky in [4, 5] {
        let message = by_index[&leaky]["error"]["message"].as_str().unwrap();
        for name in [
            "percent",
            "percent-lower",
            "form",
            "base64",
            "base64url",
            "basic",
            "json",
        ] {
            let shown: Vec<&str> = message
                .split(' ')
                .filter_map(|word| word.strip_prefix(&format!("{name}=")))
                .collect();
            assert_eq!(shown.len(), 2, "{name}: {message}");
            assert!(
                shown.iter().all(|s| s.contains(REDACTED)),
                "{name}: {message}"
            );
        }
    }
    let message = by_index[&4]["error"]["message"].as_str().unwrap();
    assert!(message.contains(&format!("appid={REDACTED}")), "{message}");

    for secret in [AWKWARD_KEY, AWKWARD_CONFIG] {
        for (form, text) in encoded_forms(secret) {
            for (what, written) in [
                ("stdout", &run.stdout),
                ("stderr", &run.stderr),
                ("the output file", &output),
                ("the failures file", &failures),
            ] {
                let leaks: Vec<&str> = written.lines().filter(|l| l.contains(&text)).collect();
                assert!(
                    leaks.is_empty(),
                    "{form} {text:?} leaked to {what}:\n{leaks:#?}"
                );
            }
        }
    }
}

/// The failures file's jobs, one JSON value per line.
fn read_failures(scratch: &Scratch) -> Vec<serde_json::Value> {
    read_records(&scratch.path("failures.jsonl"))
}

#[test]
fn a_plugin_refusing_its_secret_config_does_not_echo_it() {
    let scratch = Scratch::new("secrets-refused");
    let args = plugin(
        "hostile",
        fixtures::HOSTILE,
        &[],
        &[("configure", "leak"), ("decoy-token", FROM_CONFIG)],
    );
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
