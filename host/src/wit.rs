//! Rust types and glue generated from the WIT contract in `wit/`: the one
//! definition that both sides of a hook share.
//!
//! The records of `toolbelt:plugin/types` are the host's own hook types
//! ([`crate::hooks`] re-exports them), so a value crosses into a plugin
//! without being converted first; the plugin runtime ([`crate::plugin`])
//! uses the world's glue. A request and an attempt's outcome are host
//! resources: they stay in the host, and a plugin reads or edits them
//! through the resource's methods (see `plugin/calls.rs`).
//!
//! Calls into a plugin are async: a worker awaits them on its carrier's
//! event loop, which goes on serving the other workers while a plugin
//! waits (on `host.fetch`, on a WASI sleep) or is made to yield (see
//! `plugin/instance.rs`). `host.fetch` is the one import that waits.

wasmtime::component::bindgen!({
    world: "plugin",
    path: "../wit",
    additional_derives: [PartialEq, Eq],
    imports: { "toolbelt:plugin/host.fetch": async },
    exports: { default: async },
});
