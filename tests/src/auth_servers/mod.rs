//! Loopback servers that check credentials for real, one per auth plugin:
//! each recomputes or looks up what a correct client must send, answers
//! as a real service would (401 with a challenge, 403 for a bad
//! signature), and counts what it saw so a test can assert on it.
//!
//! Each is a handler on a [`tb_loopback::Server`] of its own, started by
//! [`start`]: the HTTP itself (parsing, serving, recording) is the one
//! loopback server's.

pub mod api_key;
pub mod digest;
pub mod oauth;
pub mod sigv4;

use std::io;

use tb_loopback::{Reply, Request, Server};

/// Starts a server on a free loopback port that answers every request
/// with `answer`, one request per connection (`Connection: close`), as
/// the credential checks were written against.
pub fn start(answer: impl Fn(&Request<'_>) -> Reply + Send + Sync + 'static) -> io::Result<Server> {
    Server::builder()
        .one_request_per_connection()
        .handler(move |request: &Request<'_>| Some(answer(request).into()))
        .start()
}

/// The percent-decoded `text`, as text (bytes that are not UTF-8 become
/// U+FFFD): a query parameter or form field as a service reads it.
pub fn percent_decode(text: &str) -> String {
    String::from_utf8_lossy(&tb_loopback::percent_decode(text)).into_owned()
}
