//! Write [tb-host] plugins: one trait, one export attribute, and the
//! helpers every plugin needs.
//!
//! A plugin is a WebAssembly component that tb-host loads into a sandbox,
//! one instance per worker thread. It can play up to three roles, named
//! after Python's requests-toolbelt: the session *initializer*
//! ([`Plugin::init_session`]), the *auth generator*
//! ([`Plugin::auth_session`], [`Plugin::authorize`]) and the *retry
//! decision* ([`Plugin::decide_retry`]). The contract is the WIT world
//! `toolbelt:plugin/plugin` in `wit/plugin.wit`; this crate hides it.
//!
//! # Writing a plugin
//!
//! Make a library crate with `crate-type = ["cdylib", "rlib"]` (the
//! `cdylib` is the component, the `rlib` lets `cargo test` link it) that
//! depends on `guest-sdk`. Write one type that implements [`Plugin`],
//! defining only the hooks you need, and mark that `impl` block with
//! [`#[guest_sdk::plugin]`](plugin):
//!
//! ```
//! use guest_sdk::{Plugin, Request, config};
//!
//! /// Sends `Authorization: Bearer <token>` with every request.
//! #[derive(Default)]
//! struct BearerAuth {
//!     token: String,
//! }
//!
//! #[guest_sdk::plugin]
//! impl Plugin for BearerAuth {
//!     fn configure(&mut self) -> Result<(), String> {
//!         self.token = config::require("token")?;
//!         Ok(())
//!     }
//!
//!     fn authorize(&mut self, request: &mut Request) -> Result<(), String> {
//!         request.set_header("Authorization", &format!("Bearer {}", self.token))
//!     }
//! }
//! # let _ = guest_sdk::testing::run::<BearerAuth>();
//! ```
//!
//! The host makes the instance with `Default`, calls
//! [`Plugin::configure`] once (an error refuses the plugin at load, with
//! your message), and then only the hooks your block defines: this one
//! tells the host it implements `authorize` and nothing else. The
//! plugin's name and version are its package's. The attribute is
//! required: [`Plugin`] needs the [`Described`] it implements, so an
//! `impl Plugin` block without it does not compile, and the error says the
//! attribute is missing.
//!
//! [`Plugin::decide_retry`] is asked only about the attempts its
//! [`Plugin::retry_interest`] names, and sees only as much of each body
//! as that declares ([`RetryInterest::body_prefix`], none by default).
//!
//! Helpers: [`config`] reads the operator's `--plugin-config KEY=VALUE`
//! pairs (`--plugin-config NAME:KEY=VALUE` reaches only plugin NAME),
//! [`headers`] edits header lists, [`log`] writes to the host's log
//! (never log secrets), [`http`] fetches from hosts the operator granted
//! (a token endpoint), and [`random_u64`] gives random numbers. A panic
//! traps the instance and fails the one request it was called for; its
//! message reaches the host's log and the failure. The host then starts
//! a fresh instance.
//!
//! # Testing a plugin
//!
//! Plugin crates test natively with `cargo test`: off `wasm32`, [`config`]
//! and [`log`] use a per-thread fake that [`testing`] sets and reads, and
//! [`testing::run`] makes an instance the way the host does:
//!
//! ```
//! # use guest_sdk::{Plugin, Request, config, headers};
//! # #[derive(Default)]
//! # struct BearerAuth { token: String }
//! # #[guest_sdk::plugin]
//! # impl Plugin for BearerAuth {
//! #     fn configure(&mut self) -> Result<(), String> {
//! #         self.token = config::require("token")?;
//! #         Ok(())
//! #     }
//! #     fn authorize(&mut self, request: &mut Request) -> Result<(), String> {
//! #         request.set_header("Authorization", &format!("Bearer {}", self.token))
//! #     }
//! # }
//! use guest_sdk::{HookSet, testing};
//!
//! testing::set_config(&[("token", "t0k3n")]);
//! let mut plugin = testing::run::<BearerAuth>().unwrap();
//! let request = plugin.authorized(testing::request("GET", "https://example.test/")).unwrap();
//! assert_eq!(headers::get(&request.headers, "authorization"), Some("Bearer t0k3n"));
//! assert_eq!(testing::describe::<BearerAuth>().unwrap().hooks, HookSet::AUTHORIZE);
//! ```
//!
//! # Building a plugin
//!
//! ```text
//! rustup target add wasm32-wasip2
//! cargo build --release --target wasm32-wasip2
//! ```
//!
//! The component is `target/wasm32-wasip2/release/<crate_name>.wasm`; load
//! it with `tb-host run --plugin PATH --plugin-config KEY=VALUE`.
//!
//! # Logging
//!
//! [`log`] writes to tb-host's log on stderr, each line tagged
//! `plugin="NAME" worker=N`; `println!` and `eprintln!` reach it too, a
//! line at a time, tagged `stream="stdout"` (info) or `stream="stderr"`
//! (warning), bounded per call. tb-host shows warnings
//! and errors by default, and more with `-v` (info), `-vv` (debug) or
//! `RUST_LOG`: `RUST_LOG='warn,[{plugin}]=debug'` shows every plugin's
//! lines at debug and the host's own only from warnings up; grep for
//! `plugin="NAME"` to keep one plugin's.
//!
//! # The guide
//!
//! `guest-sdk/README.md` in the tb-host checkout walks through a first
//! plugin, and `guest-sdk/docs/` has a page per hook; this documentation
//! is their API reference (`cargo doc -p guest-sdk --open`).
//!
//! [tb-host]: https://example.invalid/tb-host

#![warn(missing_docs)]

pub mod auth;
pub mod backoff;
pub mod budget;
pub mod config;
pub mod crypto;
pub mod encoding;
pub mod headers;
mod host;
pub mod http;
pub mod log;
mod outcome;
mod plugin;
mod random;
mod request;
pub mod testing;
pub mod time;
pub mod url;

#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
pub mod export;

/// The bindings `wit-bindgen` generates for the WIT world
/// `toolbelt:plugin/plugin`. The types are re-exported at the crate root;
/// the rest is glue for `#[plugin]`.
#[allow(missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "plugin",
        pub_export_macro: true,
        default_bindings_module: "guest_sdk::bindings",
        additional_derives: [PartialEq, Eq, Clone],
    });
}

pub use bindings::toolbelt::plugin::host::Level;
pub use bindings::toolbelt::plugin::types::{
    Attempt, AttemptFailure, AttemptFailureKind, ConfigKey, Cookie, Decision, FetchRequest,
    Fetched, Headers, HookSet, PluginInfo, RetryBudget, SessionSettings,
};
pub use guest_sdk_macros::plugin;
pub use outcome::Outcome;
pub use plugin::{Described, Plugin, RetryInterest};
pub use random::{random_u64, random_up_to};
pub use request::Request;
