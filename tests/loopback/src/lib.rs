//! The loopback HTTP/1.1 server of tb-host, on `127.0.0.1`: for
//! `tb-host demo`, the end-to-end tests and any benchmark that needs
//! scripted routes. It answers what a test asks for (a status, a redirect,
//! a reset, a fault, a credential check) and records what arrived, so a
//! test can check what the pool actually sent.
//!
//! Start one with [`Server::start`] (the standard routes below) or build
//! one with [`Server::builder`]; it listens on a free port until dropped.
//! Build URLs with [`Server::url`] and inspect traffic with
//! [`Server::requests_to`], [`Server::hits`] and [`Server::total_hits`].
//!
//! # Handlers
//!
//! A server answers each request with a chain of [`Handler`]s: the first
//! that returns an [`Outcome`] answers it, and a request no handler takes
//! gets 404. A handler is a route table ([`Routes`], [`Faults`]) or any
//! closure, such as a credential verifier:
//!
//! ```
//! use tb_loopback::{Reply, Request, Server};
//!
//! let server = Server::builder()
//!     .handler(|request: &Request<'_>| {
//!         let ok = request.header("authorization") == Some("Bearer t0ken");
//!         (request.path() == "/api").then(|| match ok {
//!             true => Reply::text(200, "ok").into(),
//!             false => Reply::new(401, "").with("WWW-Authenticate", "Bearer").into(),
//!         })
//!     })
//!     .handler(tb_loopback::Routes)
//!     .start()?;
//! assert!(server.url("/api").starts_with("http://127.0.0.1:"));
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Records
//!
//! Every request is recorded, as a [`Recorded`] under its path without the
//! query, *before* its answer is sent, so a client that has its response
//! always finds its request in the record; a malformed route is recorded
//! too. The one exception is [`Outcome::Fast`], the hot path, which is only
//! counted in [`Server::total_hits`]. A handler learns how many requests
//! its path has had from [`Request::position`]: the counter of the
//! scripted routes.
//!
//! # Routes
//!
//! [`Routes`], the standard routes ([`Server::start`]). Routes match the
//! path without its query. `{key}` is any text you pick so that tests
//! sharing one server keep out of each other's way: counters are per exact
//! path, so `/flaky/a/1/503` and `/flaky/b/1/503` fail once each.
//!
//! | Path                        | Answer                                                        | Recorded |
//! |-----------------------------|---------------------------------------------------------------|----------|
//! | `/`, `/fast...`             | 200 `ok\n` (the allocation-light hot path for benchmarks)     | no, only counted in [`Server::total_hits`] |
//! | `/echo...`                  | 200 JSON `{"method","path","headers":{lowercase name: value},"body"}` | yes |
//! | `/form...`                  | 200 JSON `{"content_type","fields":[[name, value]],"parts":[{"name","filename","content_type","size","base64"}]}`: the urlencoded or multipart form as a server parses it; 415 for another body | yes |
//! | `/sink...`                  | 200 with the body's size in bytes, a JSON number; the body is read and dropped as it comes, never held (for bodies of any size; a chunked one is held, up to 16 MiB) | no, only counted in [`Server::total_hits`] |
//! | `/json`                     | 200 JSON `{"ok":true,"n":42}`                                 | yes |
//! | `/status/{code}`            | `{code}` (200..=599), empty body                              | yes |
//! | `/flaky/{key}/{n}/{code}`   | the first `n` requests to this path get `{code}`, later ones 200 `ok\n` | yes |
//! | `/reset/{key}/{n}`          | the first `n` requests are read, then the connection is reset (TCP RST, nothing sent); later ones 200 | yes |
//! | `/retry-after/{key}/{secs}` | the first request gets 429 with `Retry-After: {secs}`, later ones 200 | yes |
//! | `/busy/{key}/{n}`           | the first `n` requests get 200 with the JSON body `{"error":"slow down"}`, later ones 200 `ok\n` | yes |
//! | `/slow/{ms}`                | sleeps `ms` milliseconds, then 200                            | yes |
//! | `/redirect/{n}`             | `n > 0`: 302 to `/redirect/{n-1}`; `n == 0`: 200              | yes |
//! | `/redirect-to/{key}?status={code}&url={location}` | `{code}` (default 302) with `Location: {location}`, percent-decoded to raw bytes (so it may be any text, or not UTF-8) | yes |
//! | `/bytes/{n}`                | 200 with `n` bytes of `x` (at most 64 MiB)                    | yes |
//! | `/set-cookie/{key}?c={value}&c=...` | 200 `ok\n` with a `Set-Cookie: {value}` (percent-decoded) for each `c`, in order | yes |
//! | anything else               | 404                                                           | yes |
//!
//! A malformed number (or a missing segment) in a route answers 400. The
//! server listens on `127.0.0.1` only, and a client may name it
//! `localhost` too: one server, two origins, for tests of what crosses
//! from one origin to another.
//!
//! [`Faults`] has the hostile routes (resets, stalls, lies about lengths,
//! floods): see [`faults`]. [`RateLimited`] is a rate-limited API that
//! counts the requests sent while it asked for a pause: see [`limited`].
//!
//! # Protocol
//!
//! One thread per connection; HTTP/1.1 keep-alive (closed on
//! `Connection: close`, or for HTTP/1.0 without `Connection: keep-alive`),
//! or one request per connection when built with
//! [`Builder::one_request_per_connection`]. Request bodies may come with
//! `Content-Length` or chunked (decoded); bodies over 16 MiB get 413 and
//! heads over 64 KiB get 431, both closing the connection.
//! `Expect: 100-continue` is honoured and `HEAD` gets headers only. Every
//! answer carries `Content-Length` (except 204 and 304, which have no body
//! by definition) and is written with a single write. With
//! [`Builder::tls`] the same server speaks HTTPS (rustls; HTTP/1.1 only),
//! with the certificate a test made.

mod exchange;
pub mod faults;
mod form;
mod gzip;
pub mod limited;
mod routes;
mod server;
mod wire;

pub use exchange::{Connection, Handler, Outcome, Recorded, Reply, Request, Script};
pub use faults::Faults;
pub use limited::RateLimited;
pub use routes::{Routes, percent_decode};
pub use server::{Builder, Server};

#[cfg(test)]
mod tests;
