//! tb-host: fetch many HTTP requests from a pool of workers, each with its
//! own HTTP session, with auth and retry rules supplied by sandboxed
//! WebAssembly plugins or native hooks.
//!
//! A Rust port of Python's `requests_toolbelt.threaded`:
//!
//! | Python                          | tb-host                                   |
//! |---------------------------------|-------------------------------------------|
//! | `Pool(job_queue, ...)`          | [`Pool::builder`] then [`PoolBuilder::from_jobs`] |
//! | `Pool.from_urls(urls, kwargs)`  | [`Pool::from_urls`]                       |
//! | `Pool.from_exceptions(excs)`    | [`Pool::from_exceptions`]                 |
//! | `initializer=`, `auth_generator=` | [`PoolBuilder::initializer`], [`PoolBuilder::auth_generator`], or plugins |
//! | `session=`                      | [`PoolBuilder::session_constructor`]      |
//! | `Session.cookies` (one per worker) | [`PoolBuilder::cookies`], [`PoolBuilder::start_cookies`], [`Pool::cookie_jars`] |
//! | `cookies=`, `Response.cookies`  | [`Job::cookies`], [`Response::cookies`]   |
//! | `num_processes=`                | [`PoolBuilder::threads`]                  |
//! | `verify=PATH`, `verify=False`   | [`PoolBuilder::add_root_certificates`] with [`PoolBuilder::tls_built_in_root_certs`], [`PoolBuilder::danger_accept_invalid_certs`] |
//! | `cert=(cert, key)`              | [`PoolBuilder::identity`]                 |
//! | decoding `Content-Encoding`     | [`PoolBuilder::decompress`] (on by default, as in requests) |
//! | `join_all()`, `responses()`, `exceptions()` | [`Pool::join_all`], [`Pool::responses`], [`Pool::exceptions`] |
//! | `ThreadResponse`, `ThreadException` | [`Response`], [`Failure`]             |
//! | `threaded.map(requests)`        | [`threaded::map`]                         |
//!
//! ```no_run
//! use tb_host::{Pool, RequestDefaults};
//!
//! let mut pool = Pool::from_urls(
//!     ["http://127.0.0.1:8080/a", "http://127.0.0.1:8080/b"],
//!     &RequestDefaults::default(),
//! )?;
//! pool.join_all();
//! for response in pool.responses() {
//!     println!("GET {} returned {}", response.job().url, response.status());
//! }
//! for failure in pool.exceptions() {
//!     println!("GET {} failed: {}", failure.job().url, failure.message());
//! }
//! # Ok::<(), tb_host::PoolError>(())
//! ```
//!
//! Differences from Python's pool, on purpose:
//! - results can be consumed while the pool runs ([`Pool::results`]), and
//!   memory stays bounded on endless input: jobs are read as they are needed
//!   and at most [`PoolBuilder::max_in_flight`] are in flight;
//! - every job ends exactly once, as a [`Response`] or a [`Failure`]; there
//!   is no start-up race that loses results (requests/toolbelt#381);
//! - retries are decided by hooks and scheduled, never slept on by a worker;
//! - a worker is a future, not a thread: workers share a few carrier
//!   threads (one per CPU), which wait on all of their connections at once.
//!   Each worker still has its own session and hook instances and runs one
//!   job at a time, so `threads(n)` still means n sessions and n requests
//!   in flight.
//!
//! The data flows one way: [`input`] reads lines into [`Job`]s, a [`Pool`]
//! runs them on workers with a [`session`] and [`hooks`] each (plugins
//! come from [`plugin`]), and each job ends as exactly one [`Response`] or
//! [`Failure`], which [`Pool::results`] hands out as they come. The
//! programs in `host/examples/` show each of these whole. What may go on
//! the wire, URLs and header fields, is checked in one place, [`wire`],
//! wherever it comes from; form bodies are made in [`form`]. Many
//! processes share one run through a [`queue`] (Redis Streams): its
//! consumer is a pool's source of jobs and the sink of its results.

pub mod cookies;
mod failure;
pub mod form;
pub mod hooks;
pub mod input;
mod job;
pub mod plugin;
mod pool;
pub mod queue;
mod response;
pub mod session;
pub mod threaded;
pub mod tls;
pub mod wire;
mod wit;

pub use bytes::Bytes;
pub use cookies::{Cookie, CookieJars};
pub use failure::{Failure, FailureKind};
pub use input::InputError;
pub use job::{BasicAuth, Job, RequestDefaults};
pub use pool::{
    BodyDirError, Broken, Canceller, DEFAULT_BREAKER, DEFAULT_BREAKER_GIVE_UP, DEFAULT_MAX_PAUSE,
    Numbered, Paused, Pool, PoolBuilder, PoolError, Results, RetryWaits,
};
pub use response::Response;
