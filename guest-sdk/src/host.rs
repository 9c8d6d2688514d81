//! The host's services, as the helper modules reach them: the WIT imports
//! in a component, the fake of [`crate::testing`] everywhere else (the
//! generated imports cannot be called off `wasm32`).

#[cfg(target_arch = "wasm32")]
pub(crate) use crate::bindings::toolbelt::plugin::host::{
    budget_spend, config, config_keys, fetch, log,
};

#[cfg(not(target_arch = "wasm32"))]
pub(crate) use crate::testing::fake::{budget_spend, config, config_keys, env, fetch, log};

/// The value of environment variable `name`, if the operator granted it
/// (`--plugin-env`): WASI gives a plugin only the granted variables.
#[cfg(target_arch = "wasm32")]
pub(crate) fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}
