//! The example plugins built into the binary, so `tb-host demo` and a first
//! run need no separate build.
//!
//! Each is the release component of the crate of the same name under
//! `plugins/`, built by this crate's build script.

/// `plugins/bearer-auth`: adds `Authorization: Bearer <token>` from config
/// key `token` to every request.
pub const BEARER_AUTH: &[u8] = include_bytes!(env!("TB_BUNDLED_BEARER_AUTH"));

/// `plugins/session-headers`: adds the headers of config keys
/// `header.<Name>` to every session.
pub const SESSION_HEADERS: &[u8] = include_bytes!(env!("TB_BUNDLED_SESSION_HEADERS"));

/// `plugins/retry-backoff`: retries connect errors, timeouts, resets and
/// 429/502/503/504 with exponential backoff, full jitter and `Retry-After`.
pub const RETRY_BACKOFF: &[u8] = include_bytes!(env!("TB_BUNDLED_RETRY_BACKOFF"));
