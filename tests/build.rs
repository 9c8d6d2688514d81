//! Builds the example plugins and the hostile fixtures under `fixtures/`
//! into WebAssembly components, and hands their paths to `src/fixtures.rs`.

#[path = "../host/cli/build/wasm.rs"]
mod wasm;

/// Every component the tests load: (package, environment variable).
const COMPONENTS: &[(&str, &str)] = &[
    ("bearer-auth", "TB_TEST_BEARER_AUTH"),
    ("session-headers", "TB_TEST_SESSION_HEADERS"),
    ("retry-backoff", "TB_TEST_RETRY_BACKOFF"),
    (
        "oauth2-client-credentials",
        "TB_TEST_OAUTH2_CLIENT_CREDENTIALS",
    ),
    ("aws-sigv4", "TB_TEST_AWS_SIGV4"),
    ("digest-auth", "TB_TEST_DIGEST_AUTH"),
    ("api-key", "TB_TEST_API_KEY"),
    ("form-login", "TB_TEST_FORM_LOGIN"),
    ("trapping-plugin", "TB_TEST_TRAPPING"),
    ("hostile-plugin", "TB_TEST_HOSTILE"),
    ("unprovided-import-plugin", "TB_TEST_UNPROVIDED_IMPORT"),
    ("env-probe-plugin", "TB_TEST_ENV_PROBE"),
    ("token-fetch-plugin", "TB_TEST_TOKEN_FETCH"),
    ("url-signer-plugin", "TB_TEST_URL_SIGNER"),
    ("no-hooks-plugin", "TB_TEST_NO_HOOKS"),
];

fn main() {
    let packages: Vec<&str> = COMPONENTS.iter().map(|(package, _)| *package).collect();
    let paths = wasm::build_components(&packages, &["plugins", "tests/fixtures"]);
    for ((_, variable), path) in COMPONENTS.iter().zip(paths) {
        println!("cargo::rustc-env={variable}={}", path.display());
    }
}
