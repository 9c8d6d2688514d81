//! Messages to the host's log, tagged by the host with the plugin's name
//! and the worker, and shown when the operator's log level admits them.
//!
//! Never log secrets: tokens, passwords, signed URLs. Off `wasm32` the
//! messages are kept for [`crate::testing::logs`].

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
