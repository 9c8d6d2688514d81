//! HTTP requests of the plugin's own, such as fetching a token from an
//! identity provider, sent by the host (`host.fetch`) to the hosts the
//! operator granted with `--plugin-allow-host NAME:HOST`.
//!
//! A fetch runs inside the hook that makes it, so every request of the
//! worker waits for it: fetch once and keep the result in the plugin's
//! state until it expires. Off `wasm32` the answers come from
//! [`crate::testing::set_fetch`].

use crate::{FetchRequest, Fetched, url};

/// Sends `request` and returns the response (its body at most 1 MiB). An
/// error says why nothing came back: the host was not granted, the
/// connection failed, the time ran out.
pub fn fetch(request: &FetchRequest) -> Result<Fetched, String> {
    crate::host::fetch(request)
}

/// A `GET` of `url` with no headers, for [`fetch`].
pub fn get(url: &str) -> FetchRequest {
    FetchRequest {
        method: "GET".to_owned(),
        url: url.to_owned(),
        headers: Vec::new(),
        body: None,
    }
}

/// A `POST` of `pairs` to `url` as an HTML form
/// (`application/x-www-form-urlencoded`, see [`url::form`]), asking for
/// JSON back: the shape of an OAuth 2.0 token request.
///
/// ```
/// let request = guest_sdk::http::post_form("https://idp.test/token", &[("grant_type", "client_credentials")]);
/// assert_eq!(request.method, "POST");
/// assert_eq!(request.body.as_deref(), Some(&b"grant_type=client_credentials"[..]));
/// assert_eq!(
///     guest_sdk::headers::get(&request.headers, "content-type"),
///     Some("application/x-www-form-urlencoded"),
/// );
/// ```
pub fn post_form(url: &str, pairs: &[(&str, &str)]) -> FetchRequest {
    FetchRequest {
        method: "POST".to_owned(),
        url: url.to_owned(),
        headers: vec![
            (
                "Content-Type".to_owned(),
                "application/x-www-form-urlencoded".to_owned(),
            ),
            ("Accept".to_owned(), "application/json".to_owned()),
        ],
        body: Some(url::form(pairs).into_bytes()),
    }
}
