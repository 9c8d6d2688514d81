//! Rust types and glue generated from the WIT contract in `wit/`.
//!
//! The records of `toolbelt:plugin/types` are the host's own hook types
//! (re-exported from [`crate::hooks`]), so a value crosses into a plugin
//! without being converted first.

wasmtime::component::bindgen!({
    world: "plugin",
    path: "../wit",
    additional_derives: [PartialEq, Eq],
});
