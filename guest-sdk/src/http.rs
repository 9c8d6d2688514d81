//! HTTP requests of the plugin's own, such as fetching a token from an
//! identity provider, sent by the host (`host.fetch`) to the hosts the
//! operator granted with `--plugin-allow-host NAME:HOST`.
//!
//! A fetch runs inside the hook that makes it, so every request of the
//! worker waits for it: fetch once and keep the result in the plugin's
//! state until it expires. Off `wasm32` the answers come from
//! [`crate::testing::set_fetch`].

use crate::{Fetched, Request};

/// Sends `request` and returns the response (its body at most 1 MiB). An
/// error says why nothing came back: the host was not granted, the
/// connection failed, the time ran out.
pub fn fetch(request: &Request) -> Result<Fetched, String> {
    crate::host::fetch(request)
}

/// A `GET` of `url` with no headers, for [`fetch`].
pub fn get(url: &str) -> Request {
    Request {
        method: "GET".to_owned(),
        url: url.to_owned(),
        headers: Vec::new(),
        body: None,
    }
}
