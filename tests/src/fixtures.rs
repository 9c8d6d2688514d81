//! Paths of the plugin components the tests load, built by `build.rs`: the
//! example plugins from `plugins/` and the hostile fixtures from
//! `tests/fixtures/`, each of which misbehaves in `authorize` only for URLs
//! containing its trigger word.

/// `plugins/bearer-auth`: needs config `token`.
pub const BEARER_AUTH: &str = env!("TB_TEST_BEARER_AUTH");

/// `plugins/session-headers`: config `header.<Name>=<value>`.
pub const SESSION_HEADERS: &str = env!("TB_TEST_SESSION_HEADERS");

/// `plugins/retry-backoff`: config `base-ms`, `max-ms`, `max-attempts`, ...
pub const RETRY_BACKOFF: &str = env!("TB_TEST_RETRY_BACKOFF");

/// `plugins/oauth2-client-credentials`: config `token-url`, `client-id`,
/// `client-secret`; needs `--plugin-allow-host` for the token endpoint.
pub const OAUTH2_CLIENT_CREDENTIALS: &str = env!("TB_TEST_OAUTH2_CLIENT_CREDENTIALS");

/// `plugins/aws-sigv4`: config `access-key-id`, `secret-access-key`,
/// `region`, `service`.
pub const AWS_SIGV4: &str = env!("TB_TEST_AWS_SIGV4");

/// `plugins/digest-auth`: config `username`, `password`.
pub const DIGEST_AUTH: &str = env!("TB_TEST_DIGEST_AUTH");

/// `plugins/api-key`: config `key` (or `key-env`), `header` or `query`.
pub const API_KEY: &str = env!("TB_TEST_API_KEY");

/// `trapping-plugin`: panics (a trap) on URLs containing `trap`.
pub const TRAPPING: &str = env!("TB_TEST_TRAPPING");

/// `looping-plugin`: never returns on URLs containing `loop`.
pub const LOOPING: &str = env!("TB_TEST_LOOPING");

/// `memory-hog-plugin`: allocates without end on URLs containing `hog`.
pub const MEMORY_HOG: &str = env!("TB_TEST_MEMORY_HOG");

/// `bad-header-plugin`: adds a header value with CR LF on URLs containing
/// `bad`.
pub const BAD_HEADER: &str = env!("TB_TEST_BAD_HEADER");

/// `env-probe-plugin`: not hostile, a probe of the sandbox. Its
/// `authorize` adds `X-Env-Probe` (env var `TB_PROBE` or `absent`),
/// `X-Fs-Probe` and `X-Net-Probe` (`allowed` or `denied`: listing `/`,
/// connecting to 127.0.0.1 at config `port`, which it requires) and
/// `X-Config-Keys` (the keys it got).
pub const ENV_PROBE: &str = env!("TB_TEST_ENV_PROBE");

/// `token-fetch-plugin`: fetches a bearer token from config `token-url`
/// through `host.fetch` on its first `authorize`, then sends it.
pub const TOKEN_FETCH: &str = env!("TB_TEST_TOKEN_FETCH");
