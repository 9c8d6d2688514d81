//! What a plugin costs per request: one hook call across the component
//! boundary, and one instantiation (per worker, and after a trap).
//!
//! Run: `cargo bench -p tb-host --bench plugin_calls`

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use tb_host::bundled;
use tb_host::hooks::{Attempt, AttemptOutcome, HookFactory, Hooks, Request, ResponseHead};
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
    let req = request(0);
    let outcome = AttemptOutcome::Response(ResponseHead {
        status: 200,
        headers: vec![("content-type".into(), "text/plain".into())],
        elapsed_ms: 1,
    });
    let attempt = Attempt {
        number: 1,
        since_first_ms: 1,
        max_attempts: 10,
    };
    c.bench_function("decide-retry/retry-backoff/200", |b| {
        b.iter(|| black_box(instance.decide_retry(&req, &outcome, &attempt).unwrap()))
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
