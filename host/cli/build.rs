//! Builds the example plugins under `plugins/` into WebAssembly components
//! and hands their paths to `src/bundled.rs`, which embeds them in the
//! binary so `tb-host demo` needs no separate build.

#[path = "build/wasm.rs"]
mod wasm;

/// The bundled plugins: (package, environment variable naming its file).
const BUNDLED: &[(&str, &str)] = &[
    ("bearer-auth", "TB_BUNDLED_BEARER_AUTH"),
    ("session-headers", "TB_BUNDLED_SESSION_HEADERS"),
    ("retry-backoff", "TB_BUNDLED_RETRY_BACKOFF"),
];

fn main() {
    let packages: Vec<&str> = BUNDLED.iter().map(|(package, _)| *package).collect();
    let watch: Vec<String> = packages.iter().map(|p| format!("plugins/{p}")).collect();
    let watch: Vec<&str> = watch.iter().map(String::as_str).collect();
    let paths = wasm::build_components(&packages, &watch);
    for ((_, variable), path) in BUNDLED.iter().zip(paths) {
        println!("cargo::rustc-env={variable}={}", path.display());
    }
}
