//! Messages to the host's log, tagged by the host with the plugin's name
//! and the worker, and shown when the operator's log level admits them.
//!
//! Never log secrets: tokens, passwords, signed URLs (tb-host hides the
//! configuration's secret values, but cannot know what else is one). Off
//! `wasm32` the messages are kept for [`crate::testing::logs`].
//!
//! Each line on tb-host's stderr ends with `plugin="NAME" worker=N`, NAME
//! the package's name. The operator's level decides what shows: warnings
//! and errors by default, [`info`] with `-v`, [`debug`] with `-vv`,
//! [`trace`] with `-vvv`. `RUST_LOG` overrides it: with
//! `RUST_LOG='warn,[{plugin}]=debug'` the plugins' lines show at debug
//! and the host's own only from warnings up; then grep for
//! `plugin="NAME"` to keep one plugin's (a `RUST_LOG` filter on the
//! field's value matches spans only, and these lines are events).
//!
//! `println!` and `eprintln!` reach the same log, a line at a time
//! (`stream="stdout"` at info, `stream="stderr"` as a warning), bounded per
//! call; logging says the level, so prefer it.

use crate::Level;
use crate::host;

/// Logs very detailed tracing.
pub fn trace(message: &str) {
    host::log(Level::Trace, message);
}

/// Logs information useful when debugging the plugin.
pub fn debug(message: &str) {
    host::log(Level::Debug, message);
}

/// Logs normal operation worth telling the operator.
pub fn info(message: &str) {
    host::log(Level::Info, message);
}

/// Logs something that looks wrong while the request goes on.
pub fn warn(message: &str) {
    host::log(Level::Warn, message);
}

/// Logs a failure. The host appends the plugin's last error message to
/// the message of a trap, so log here before giving up.
pub fn error(message: &str) {
    host::log(Level::Error, message);
}
