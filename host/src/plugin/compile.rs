//! Compiling a component's bytes to machine code, with an error that says
//! what the file is when it is not a component at all.

use std::path::Path;

use wasmtime::Engine;
use wasmtime::component::Component;

use super::PluginError;

/// The first four bytes of every WebAssembly binary.
const MAGIC: &[u8] = b"\0asm";

/// The version and layer that follow [`MAGIC`] in a core module (not a
/// component): version 1, layer 0.
const CORE_MODULE: &[u8] = &[1, 0, 0, 0];

/// Compiles `wasm` with `engine`; `path` names the file in the error.
pub(crate) fn fresh(engine: &Engine, path: &Path, wasm: &[u8]) -> Result<Component, PluginError> {
    Component::new(engine, wasm).map_err(|error| PluginError::Compile {
        path: path.to_owned(),
        reason: match what_else(wasm) {
            Some(what) => what.to_owned(),
            None => format!("{error:#}"),
        },
    })
}

/// What `wasm` is if it is plainly not a component, in the operator's
/// terms; `None` when it claims to be one (the compiler then says what is
/// wrong with it).
fn what_else(wasm: &[u8]) -> Option<&'static str> {
    if !wasm.starts_with(MAGIC) {
        Some("the file is not WebAssembly (it does not start with `\\0asm`)")
    } else if wasm.get(4..8) == Some(CORE_MODULE) {
        Some(
            "the file is a core WebAssembly module, not a component: build the plugin \
             for wasm32-wasip2, or wrap the module with `wasm-tools component new`",
        )
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_text_and_core_modules_from_components() {
        assert!(what_else(b"hello").unwrap().contains("not WebAssembly"));
        assert!(what_else(b"").unwrap().contains("not WebAssembly"));
        let core = b"\0asm\x01\0\0\0";
        assert!(what_else(core).unwrap().contains("core WebAssembly module"));
        let component = b"\0asm\x0d\0\x01\0";
        assert_eq!(what_else(component), None);
    }
}
