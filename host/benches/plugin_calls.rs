//! What a plugin costs: one call of each hook across the component
//! boundary, with small and large values, and one instantiation (per
//! worker, and after a trap).
//!
//! Run: `cargo bench -p tb-host --bench plugin_calls`. The plugins
//! are built first, into `target/wasm` as the tests build them.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};

#[path = "support/plugins.rs"]
mod plugins;
use plugins::plugin_file;
use tb_host::hooks::{
    Attempt, AttemptOutcome, HookFactory, Request, ResponseHead, SessionSettings,
};
use tb_host::plugin::{Manifest, Plugin, PluginRuntime};

/// The deadline of every call here: long, as this measures what a call
/// costs, not how a loaded machine's stall ends one.
const DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);

fn request(headers: usize) -> Request {
    Request::new(
        "GET",
        "http://127.0.0.1:8080/some/path?query=1",
        (0..headers)
            .map(|i| (format!("X-Header-{i}"), format!("value number {i}")))
            .collect(),
        None,
    )
}

/// A 503 response with `headers` header fields and a body prefix of
/// `prefix` bytes: the kind of outcome `decide-retry` is asked about.
fn unavailable(headers: usize, prefix: usize) -> AttemptOutcome {
    AttemptOutcome::Response(ResponseHead {
        status: 503,
        headers: (0..headers)
            .map(|i| (format!("x-header-{i}"), format!("value number {i}")))
            .collect(),
        body_prefix: vec![b'x'; prefix],
        elapsed_ms: 1,
    })
}

/// The plugin crate `package`, built and loaded with `config`.
fn load_built(runtime: &PluginRuntime, package: &str, config: &[(&str, &str)]) -> Plugin {
    let config = config
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    runtime
        .load(Manifest {
            config,
            timeout: Some(DEADLINE),
            ..Manifest::new(plugin_file(package))
        })
        .unwrap()
}

thread_local! {
    /// The event loop calls are made on, as a worker's carrier makes them.
    static CARRIER: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
}

/// Runs one call to its end on the carrier's event loop: what a worker
/// pays per call, the async machinery included.
fn now<F: std::future::Future>(call: F) -> F::Output {
    CARRIER.with(|carrier| carrier.block_on(call))
}

/// `authorize` of `plugin` (called `package`) on a request with no
/// headers and with 20.
fn bench_authorize(c: &mut Criterion, package: &str, plugin: &Plugin) {
    let mut instance = HookFactory::instantiate(plugin, 0).unwrap();
    for headers in [0, 20] {
        // The request is edited in place, as a worker's is; signing the
        // same request again replaces what the last call set.
        let mut req = request(headers);
        c.bench_function(&format!("authorize/{package}/{headers}-headers"), |b| {
            b.iter(|| now(instance.authorize(black_box(&mut req))).unwrap())
        });
    }
}

fn hook_calls(c: &mut Criterion) {
    let runtime = PluginRuntime::new().unwrap();
    let config = vec![("token".to_owned(), "bench-token".to_owned())];
    let bearer = runtime
        .load_bytes(
            Manifest {
                config: config.clone(),
                timeout: Some(DEADLINE),
                ..Manifest::new("bearer-auth.wasm")
            },
            &std::fs::read(plugin_file("bearer-auth")).unwrap(),
        )
        .unwrap();
    let retry = runtime
        .load_bytes(
            Manifest {
                config,
                timeout: Some(DEADLINE),
                ..Manifest::new("retry-backoff.wasm")
            },
            &std::fs::read(plugin_file("retry-backoff")).unwrap(),
        )
        .unwrap();

    bench_authorize(c, "bearer-auth", &bearer);
    let api_key = load_built(&runtime, "api-key", &[("key", "bench-key-0123456789")]);
    bench_authorize(c, "api-key", &api_key);
    let sigv4 = load_built(
        &runtime,
        "aws-sigv4",
        &[
            ("access-key-id", "AKIDEXAMPLE"),
            (
                "secret-access-key",
                "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            ),
            ("region", "us-east-1"),
            ("service", "execute-api"),
        ],
    );
    bench_authorize(c, "aws-sigv4", &sigv4);

    let mut instance = HookFactory::instantiate(&retry, 0).unwrap();
    let attempt = Attempt {
        number: 1,
        since_first_ms: 1,
        max_attempts: 1,
    };
    for (label, req, outcome) in [
        ("small", request(0), unavailable(1, 0)),
        ("large", request(20), unavailable(20, 1024)),
    ] {
        c.bench_function(&format!("decide-retry/retry-backoff/{label}"), |b| {
            b.iter(|| black_box(now(instance.decide_retry(&req, &outcome, &attempt)).unwrap()))
        });
    }

    let headers = runtime
        .load_bytes(
            Manifest {
                config: (0..20)
                    .map(|i| (format!("header.X-Session-{i}"), format!("value {i}")))
                    .collect(),
                ..Manifest::new("session-headers.wasm")
            },
            &std::fs::read(plugin_file("session-headers")).unwrap(),
        )
        .unwrap();
    let mut instance = HookFactory::instantiate(&headers, 0).unwrap();
    let session = SessionSettings {
        worker: 0,
        headers: Vec::new(),
        cookies: Vec::new(),
        timeout_ms: Some(30_000),
        connect_timeout_ms: None,
        max_redirects: 10,
        user_agent: None,
    };
    c.bench_function("init-session/session-headers/20-headers", |b| {
        b.iter(|| black_box(now(instance.init_session(black_box(session.clone()))).unwrap()))
    });

    c.bench_function("instantiate/bearer-auth", |b| {
        b.iter(|| black_box(HookFactory::instantiate(&bearer, 0).unwrap()))
    });
    let bearer_wasm = std::fs::read(plugin_file("bearer-auth")).unwrap();
    c.bench_function("compile+load/bearer-auth", |b| {
        b.iter(|| {
            runtime
                .load_bytes(
                    Manifest {
                        config: vec![("token".to_owned(), "t".to_owned())],
                        ..Manifest::new("bearer-auth.wasm")
                    },
                    &bearer_wasm,
                )
                .unwrap()
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = hook_calls
}
criterion_main!(benches);
