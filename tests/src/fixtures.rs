//! Paths of the plugin components the tests load, built by `build.rs`: the
//! example plugins from `plugins/` and the hostile fixtures from
//! `tests/fixtures/`, which misbehave only when and how a test asks.

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

/// `plugins/form-login`: config `login-url`, `username`, `password`;
/// needs `--plugin-allow-host` for the login endpoint.
pub const FORM_LOGIN: &str = env!("TB_TEST_FORM_LOGIN");

/// `trapping-plugin`: panics (a trap) on URLs containing `trap`.
pub const TRAPPING: &str = env!("TB_TEST_TRAPPING");

/// `hostile-plugin`: every hook misbehaves on demand. `authorize` and
/// `decide-retry` commit the misdeed named in the URL's query
/// (`?authorize=loop`); `init-session` and `auth-session` (on worker 0
/// only) and `describe` the one named in the config
/// (`init-session=loop`, `configure=loop`). Misdeeds: `loop`, `grow`,
/// `recurse`, `panic`, `error`, `huge-header`, `many-headers`, invalid
/// headers (`empty-name`, `space-in-name`, `colon-in-name`, `utf8-name`,
/// `crlf-in-value`, `nul-in-value`, `del-in-value`) and, in `authorize`,
/// URL rewrites (`scheme`, `host`, `port`, `path`, `query`, `unparsable`,
/// `relative`). See `tests/fixtures/hostile/src/lib.rs`.
pub const HOSTILE: &str = env!("TB_TEST_HOSTILE");

/// `unprovided-import-plugin`: imports `test:unprovided/backdoor`, which
/// the host does not provide.
pub const UNPROVIDED_IMPORT: &str = env!("TB_TEST_UNPROVIDED_IMPORT");

/// `no-hooks-plugin`: a valid component that exports none of the
/// contract's hooks, as an `impl Plugin` without `#[guest_sdk::plugin]`
/// built before guest-sdk refused it.
pub const NO_HOOKS: &str = env!("TB_TEST_NO_HOOKS");

/// `env-probe-plugin`: not hostile, a probe of the sandbox. Its
/// `authorize` adds `X-Env-Probe` (env var `TB_PROBE` or `absent`),
/// `X-Env-Names` (every variable it sees, or `none`), `X-Fs-Probe`
/// (`list=V read=V write=V`) and `X-Net-Probe` (`tcp=V udp=V dns=V
/// listen=V`), each `V` `allowed` or `denied`, and `X-Config-Keys` (the
/// keys it got). Config `port` (required): where its TCP probe connects.
pub const ENV_PROBE: &str = env!("TB_TEST_ENV_PROBE");

/// `token-fetch-plugin`: fetches a bearer token from config `token-url`
/// through `host.fetch` on its first `authorize`, then sends it.
pub const TOKEN_FETCH: &str = env!("TB_TEST_TOKEN_FETCH");

/// `url-signer-plugin`: `authorize` sets `X-Signature` to the hex
/// HMAC-SHA256, under config `key`, of `METHOD URL` as the hook got them.
pub const URL_SIGNER: &str = env!("TB_TEST_URL_SIGNER");
