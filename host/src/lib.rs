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
//! | `num_processes=`                | [`PoolBuilder::threads`]                  |
//! | `join_all()`, `responses()`, `exceptions()` | [`Pool::join_all`], [`Pool::responses`], [`Pool::exceptions`] |
//! | `ThreadResponse`, `ThreadException` | [`Response`], [`Failure`]             |
//! | `threaded.map(requests)`        | [`threaded::map`]                         |
//!
//! The data flow follows the modules: [`input`] and [`job`] make jobs, the
//! [`pool`] runs them on workers with a [`session`] and [`hooks`] each
//! (plugins come from [`plugin`]), and each job ends as exactly one
//! [`Response`] or [`Failure`]. What may go on the wire, URLs and header
//! fields, is checked in one place, [`wire`], wherever it comes from.

pub mod failure;
pub mod hooks;
pub mod input;
pub mod job;
pub mod plugin;
pub mod pool;
pub mod response;
pub mod session;
pub mod threaded;
pub mod wire;

pub use failure::{Failure, FailureKind};
pub use input::InputError;
pub use job::{Job, RequestDefaults};
pub use pool::{BodyDirError, Canceller, Pool, PoolBuilder, PoolError, Results, RetryWaits};
pub use response::Response;
