//! Rust types and glue generated from the WIT contract in `wit/`: the one
//! definition that both sides of a hook share.
//!
//! The records of `toolbelt:plugin/types` are the host's own hook types
//! ([`crate::hooks`] re-exports them), so a value crosses into a plugin
//! without being converted first; the plugin runtime ([`crate::plugin`])
//! uses the world's glue. Neither module depends on the other for them.

wasmtime::component::bindgen!({
    world: "plugin",
    path: "../wit",
    additional_derives: [PartialEq, Eq],
});
