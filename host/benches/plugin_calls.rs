//! What a plugin costs: one call of each hook across the component
//! boundary, with small and large values, and one instantiation (per
//! worker, and after a trap).
//!
//! Run: `cargo bench -p tb-host --bench plugin_calls`

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use tb_host::bundled;
use tb_host::hooks::{
    Attempt, AttemptOutcome, HookFactory, Hooks, Request, ResponseHead, SessionSettings,
};
use tb_host::plugin::{Grants, PluginLimits, PluginRuntime};

fn request(headers: usize) -> Request {
    Request {
        method: "GET".into(),
        url: "http://127.0.0.1:8080/some/path?query=1".into(),
        headers: (0..headers)
            .map(|i| (format!("X-Header-{i}"), format!("value number {i}")))
            .collect(),
        body: None,
    }
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

fn hook_calls(c: &mut Criterion) {
    let runtime = PluginRuntime::new(PluginLimits::default()).unwrap();
    let config = vec![("token".to_owned(), "bench-token".to_owned())];
    let bearer = runtime
        .load_bytes(
            Path::new("bearer-auth.wasm"),
            bundled::BEARER_AUTH,
            config.clone(),
            Grants::default(),
        )
        .unwrap();
    let retry = runtime
        .load_bytes(
            Path::new("retry-backoff.wasm"),
            bundled::RETRY_BACKOFF,
            config,
            Grants::default(),
        )
        .unwrap();

    let mut instance = bearer.instantiate(0).unwrap();
    for headers in [0, 20] {
        let req = request(headers);
        c.bench_function(&format!("authorize/bearer-auth/{headers}-headers"), |b| {
            b.iter(|| black_box(instance.authorize(black_box(req.clone())).unwrap()))
        });
    }

    let mut instance = retry.instantiate(0).unwrap();
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
            b.iter(|| black_box(instance.decide_retry(&req, &outcome, &attempt).unwrap()))
        });
    }

    let headers = runtime
        .load_bytes(
            Path::new("session-headers.wasm"),
            bundled::SESSION_HEADERS,
            (0..20)
                .map(|i| (format!("header.X-Session-{i}"), format!("value {i}")))
                .collect(),
            Grants::default(),
        )
        .unwrap();
    let mut instance = headers.instantiate(0).unwrap();
    let session = SessionSettings {
        worker: 0,
        headers: Vec::new(),
        timeout_ms: Some(30_000),
        connect_timeout_ms: None,
        max_redirects: 10,
        user_agent: None,
    };
    c.bench_function("init-session/session-headers/20-headers", |b| {
        b.iter(|| black_box(instance.init_session(black_box(session.clone())).unwrap()))
    });

    c.bench_function("instantiate/bearer-auth", |b| {
        b.iter(|| black_box(HookFactory::instantiate(&bearer, 0).unwrap()))
    });
    c.bench_function("compile+load/bearer-auth", |b| {
        b.iter(|| {
            runtime
                .load_bytes(
                    Path::new("bearer-auth.wasm"),
                    bundled::BEARER_AUTH,
                    vec![("token".to_owned(), "t".to_owned())],
                    Grants::default(),
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
