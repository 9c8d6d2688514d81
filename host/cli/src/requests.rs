//! `run`'s request flags applied: what every job starts from (method,
//! headers, body) and how every session is built (timeouts, redirects,
//! user agent, proxy).

use std::time::Duration;

use super::SetupError;
use super::args::RequestArgs;
use tb_host::input::add_json_content_type;
use tb_host::session::default_settings;
use tb_host::{PoolBuilder, RequestDefaults};

/// Applies `args` to `builder`. Returns the builder and the defaults every
/// job of the input starts from. A `--data-file` that cannot be read is a
/// set-up error.
pub fn apply(
    builder: PoolBuilder,
    args: RequestArgs,
) -> Result<(PoolBuilder, RequestDefaults), SetupError> {
    let mut headers = args.headers;
    let body = if let Some(data) = args.data {
        Some(data.into_bytes())
    } else if let Some(path) = &args.data_file {
        let body = std::fs::read(path).map_err(|e| {
            SetupError::new(format!("cannot read --data-file {}: {e}", path.display()))
        })?;
        Some(body)
    } else if let Some(json) = args.json {
        add_json_content_type(&mut headers);
        Some(json.into_bytes())
    } else {
        None
    };
    let defaults = RequestDefaults {
        method: args.method,
        headers,
        body,
        timeout: None,
    };
    let mut session = default_settings();
    session.timeout_ms = Some(millis(args.timeout));
    session.connect_timeout_ms = args.connect_timeout.map(millis);
    session.max_redirects = args.max_redirects;
    if let Some(agent) = args.user_agent {
        session.user_agent = Some(agent);
    }
    let mut builder = builder.session(session);
    if let Some(url) = args.proxy {
        // Checked when the flags were parsed.
        builder = builder
            .proxy(&url)
            .map_err(|e| SetupError::new(format!("--proxy {e}")))?;
    }
    Ok((builder, defaults))
}

/// `duration` in whole milliseconds, rounded up so a short limit stays
/// above zero.
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos().div_ceil(1_000_000)).unwrap_or(u64::MAX)
}
