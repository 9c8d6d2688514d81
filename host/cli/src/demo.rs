//! `tb-host demo`: the main job on an embedded default, with nothing to
//! set up. Starts the loopback server, loads the three bundled plugins, and
//! fetches a few thousand URLs, some of which fail once with a 503 so the
//! retry plugin has work to do. Then it checks what the server saw.

use std::fs::File;
use std::path::Path;

use anyhow::{Context, bail};
use tb_loopback::Server;

use crate::bundled;
use tb_host::hooks::HookName;
use tb_host::plugin::{Manifest, PluginRuntime};
use tb_host::{Job, Pool};

use super::args::DemoArgs;
use super::open_files::{self, Needs};
use super::output::RecordWriter;
use super::run::{Sinks, drive};

/// One URL in this many answers 503 once before it succeeds.
const FLAKY_EVERY: usize = 50;

/// The demo's bearer token; the server checks it arrived.
const DEMO_TOKEN: &str = "demo-token";

/// Runs `tb-host demo`.
pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    if args.threads == 0 || args.urls == 0 {
        bail!("--threads and --urls must be at least 1");
    }
    // Each plugin with its own configuration, as `--plugin-config
    // NAME:KEY=VALUE` gives it.
    let plugins = [
        (
            "session-headers.wasm",
            bundled::SESSION_HEADERS,
            ("header.X-Demo-Session", "on"),
        ),
        (
            "bearer-auth.wasm",
            bundled::BEARER_AUTH,
            ("token", DEMO_TOKEN),
        ),
        (
            "retry-backoff.wasm",
            bundled::RETRY_BACKOFF,
            ("base-ms", "10"),
        ),
    ];
    open_files::fit(Needs {
        workers: args.threads,
        // The server's end of each worker's connection: it runs here.
        per_worker_extra: 1,
        plugins: plugins.len(),
    })?;
    let server = Server::start().context("cannot start the loopback server")?;
    let runtime = PluginRuntime::new()?;
    let mut builder = Pool::builder().threads(args.threads).keep_bodies(false);
    for (label, wasm, (key, value)) in plugins {
        let manifest = Manifest {
            config: vec![(key.to_owned(), value.to_owned())],
            ..Manifest::new(label)
        };
        let plugin = runtime.load_bytes(manifest, wasm)?;
        eprintln!(
            "plugin {} {}: hooks {}",
            plugin.name(),
            plugin.version(),
            HookName::list(plugin.hooks())
        );
        builder = builder.hook(plugin);
    }
    let jobs: Vec<Job> = (0..args.urls)
        .map(|i| {
            if i % FLAKY_EVERY == 0 {
                Job::get(server.url(&format!("/flaky/demo-{i}/1/503")))
            } else {
                Job::get(server.url(&format!("/fast/{i}")))
            }
        })
        .collect();
    eprintln!(
        "fetching {} URLs from {} with {} workers",
        args.urls,
        server.base_url(),
        args.threads
    );
    let pool = builder.from_jobs(jobs)?;
    let output = args.output.as_deref().unwrap_or(Path::new("/dev/null"));
    let records = RecordWriter::new(
        File::create(output).with_context(|| format!("cannot open {}", output.display()))?,
        format!("the output file {}", output.display()),
    );
    let summary = drive(pool, Sinks::records_only(records))?;
    eprintln!("{summary}");
    report_what_the_server_saw(&server, args.urls);
    summary.outcome()
}

/// The flaky URLs are recorded by the server: check the plugins' work on
/// them (bearer token, session header, one retry each).
fn report_what_the_server_saw(server: &Server, urls: usize) {
    let flaky: Vec<String> = (0..urls)
        .step_by(FLAKY_EVERY)
        .map(|i| format!("/flaky/demo-{i}/1/503"))
        .collect();
    let (mut with_token, mut with_header, mut seen) = (0, 0, 0);
    for path in &flaky {
        for request in server.requests_to(path) {
            seen += 1;
            let bearer = format!("Bearer {DEMO_TOKEN}");
            with_token += usize::from(request.header("authorization") == Some(bearer.as_str()));
            with_header += usize::from(request.header("x-demo-session") == Some("on"));
        }
    }
    eprintln!(
        "server: {} requests in all; of the {seen} to the {} flaky URLs (503 once, then 200): \
         {with_token} carried the bearer token, {with_header} the session header",
        server.total_hits(),
        flaky.len(),
    );
}
