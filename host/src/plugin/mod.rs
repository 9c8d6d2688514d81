//! Plugins: hooks written as sandboxed WebAssembly components.
//!
//! A plugin is a component of the `toolbelt:plugin` world (see `wit/`),
//! usually written with `guest-sdk`. The host compiles each plugin once per
//! run ([`PluginRuntime::load`], from its [`Manifest`]) or takes its compiled form from a
//! [`PluginCache`], checks that it was built for this host's version of the
//! contract ([`WIT_VERSION`]) and that its imports are what the host
//! provides, asks it which hooks it implements, and then gives every worker
//! its own instance in its own store, so calls never contend for a lock.
//!
//! The sandbox, per instance: clocks and random numbers, the plugin's own
//! configuration and the host's log, and nothing else unless its
//! [`Manifest`] grants it: no files, no environment variables, no
//! sockets. Every call has a deadline ([`Manifest::timeout`], enforced by
//! epoch interruption) and every instance a memory cap
//! ([`Manifest::memory`]). A call that traps or breaks either limit fails
//! the request it was made for, and the worker makes a fresh instance for
//! the next one.
//!
//! ```no_run
//! use tb_host::plugin::{Manifest, PluginRuntime};
//!
//! let runtime = PluginRuntime::new()?;
//! let bearer = runtime.load(Manifest {
//!     config: vec![("token".into(), "t0k3n".into())],
//!     ..Manifest::new("bearer_auth.wasm")
//! })?;
//! println!("{} {}", bearer.name(), bearer.version());
//! # Ok::<(), tb_host::plugin::PluginError>(())
//! ```

mod cache;
mod compile;
mod contract;
mod fetch;
mod inspect;
mod instance;
pub mod manifest;
mod memory;
mod output;
mod resources;
mod runtime;
mod secrets;

pub use cache::{CacheError, PluginCache};
pub use contract::{Interfaces, WIT_PACKAGE, WIT_VERSION};
pub use fetch::{AllowedHost, FETCH_BODY_MAX, FETCH_TIMEOUT};
pub use inspect::Inspection;
pub use manifest::{Manifest, ManifestError};
pub use memory::DEFAULT_MEMORY_TOTAL;
pub use runtime::PluginRuntime;
pub use secrets::{REDACTED, SECRET_MIN_LEN, Secrets};

use std::path::PathBuf;
use std::sync::Arc;

use wasmtime::component::Component;

use crate::hooks::{HookError, HookFactory, HookSet, Instance, RetryBudget, RetryInterest};
use crate::wit::PluginPre;
pub use crate::wit::toolbelt::plugin::types::ConfigKey;
use fetch::Fetcher;
use instance::{PluginInstance, PluginState};

/// Why the plugin runtime or a plugin could not be loaded. Each message
/// about a plugin names its file.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// The WebAssembly engine could not start.
    #[error("cannot start the WebAssembly runtime: {0}")]
    Runtime(String),
    /// The file could not be read.
    #[error("plugin {path}: cannot read the file: {source}")]
    Read {
        /// The plugin file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a WebAssembly component the host can compile.
    #[error("plugin {path}: not a valid WebAssembly component: {reason}")]
    Compile {
        /// The plugin file.
        path: PathBuf,
        /// What the compiler said.
        reason: String,
    },
    /// The component was built for another version of the contract.
    #[error(
        "plugin {path}: built for {found}, but this host speaks \
         {WIT_PACKAGE}@{WIT_VERSION}. Rebuild it against this host's guest-sdk."
    )]
    Version {
        /// The plugin file.
        path: PathBuf,
        /// The contract version the component names.
        found: String,
    },
    /// The component exports none of the contract's hooks: nothing the
    /// host could call. A guest-sdk plugin gets its exports from
    /// `#[guest_sdk::plugin]` on its `impl Plugin` block.
    #[error(
        "plugin {path}: exports no `{WIT_PACKAGE}/hooks@{WIT_VERSION}`: did you forget \
         `#[guest_sdk::plugin]` on its `impl Plugin` block? It exports {exports}"
    )]
    NoHooks {
        /// The plugin file.
        path: PathBuf,
        /// What it exports instead, for the message.
        exports: String,
    },
    /// The component needs something the host does not provide, or does not
    /// export the contract's hooks as this host expects them.
    #[error(
        "plugin {path}: does not fit this host ({WIT_PACKAGE}@{WIT_VERSION}): {reason}. \
         Rebuild it against this version of guest-sdk."
    )]
    Link {
        /// The plugin file.
        path: PathBuf,
        /// What did not match.
        reason: String,
    },
    /// The component imports an interface the host does not provide: a
    /// plugin gets the contract's `host` interface and WASI 0.2, nothing
    /// else.
    #[error(
        "plugin {path}: imports `{import}`, which this host does not provide \
         (a plugin may import {WIT_PACKAGE}/host@{WIT_VERSION} and WASI 0.2 only): {reason}"
    )]
    Import {
        /// The plugin file.
        path: PathBuf,
        /// The name of the import, as the component spells it.
        import: String,
        /// What the linker said.
        reason: String,
    },
    /// The plugin refused its configuration: its `describe` returned an
    /// error.
    #[error("plugin {path}: refused to start: {reason}")]
    Start {
        /// The plugin file.
        path: PathBuf,
        /// The plugin's own message.
        reason: String,
    },
    /// The plugin's `describe` trapped, ran past its deadline or past its
    /// memory cap: it cannot run at all.
    #[error("plugin {path}: could not start: describe {reason}")]
    Broke {
        /// The plugin file.
        path: PathBuf,
        /// What happened, in the operator's terms.
        reason: String,
    },
}

/// A compiled, checked plugin, ready to be instantiated by every worker.
/// Cheap to share: workers hold it through an `Arc`.
pub struct Plugin {
    name: String,
    version: String,
    hooks: HookSet,
    config: Option<Vec<ConfigKey>>,
    interest: RetryInterest,
    shared: Arc<PluginShared>,
}

/// Warns about each key of `manifest`'s configuration that `declared`
/// (a plugin's declaration of the keys it reads) does not name: a
/// misspelt optional key would otherwise be ignored without a word.
fn warn_undeclared(name: &str, manifest: &Manifest, declared: &[ConfigKey]) {
    let reads = |key: &str| {
        declared.iter().any(|d| match d.name.strip_suffix('*') {
            Some(prefix) => key.starts_with(prefix),
            None => d.name == key,
        })
    };
    for (key, _) in manifest.config.iter().filter(|(key, _)| !reads(key)) {
        let known: Vec<&str> = declared.iter().map(|d| d.name.as_str()).collect();
        tracing::warn!(
            "plugin {name}: config key `{key}` is not one it reads (it reads: {}); \
             a misspelling?",
            known.join(", ")
        );
    }
}

/// What every instance of one plugin shares.
pub(crate) struct PluginShared {
    pub(crate) name: String,
    /// What the plugin is given and may do.
    pub(crate) manifest: Manifest,
    /// The values of the manifest that never leave the sandbox as text.
    pub(crate) secrets: Secrets,
    pub(crate) fetcher: Fetcher,
    pub(crate) pre: PluginPre<PluginState>,
    pub(crate) runtime: PluginRuntime,
    /// The retry budget the plugin asked for, shared by all its instances.
    pub(crate) budget: Option<Arc<RetryBudget>>,
}

impl Plugin {
    /// The name the plugin gave itself (its crate name for guest-sdk
    /// plugins).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The plugin's own version.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Which hooks the plugin implements.
    pub fn hooks(&self) -> HookSet {
        self.hooks
    }

    /// The configuration keys the plugin says it reads, if it declares
    /// them (`plugin-info.config`).
    pub fn config_keys(&self) -> Option<&[ConfigKey]> {
        self.config.as_deref()
    }

    /// Which outcomes its `decide-retry` is asked about, how much of each
    /// body it sees, and its retry budget.
    pub fn retry_interest(&self) -> &RetryInterest {
        &self.interest
    }

    /// Checks the compiled `component` against the contract, links it, and
    /// makes a first instance to ask it what it is (which also runs its
    /// check of its configuration). The manifest's path names the plugin
    /// in messages.
    pub(crate) fn start(
        runtime: &PluginRuntime,
        component: &Component,
        manifest: Manifest,
    ) -> Result<Plugin, PluginError> {
        let path = manifest.path.clone();
        let interfaces = Interfaces::of(runtime.engine(), component);
        interfaces.check(&path)?;
        if !interfaces.exports_hooks() {
            return Err(PluginError::NoHooks {
                path,
                exports: interfaces.exports_text(),
            });
        }
        let link_error = |e: wasmtime::Error| {
            let reason = format!("{e:#}");
            match interfaces.unprovided(&reason) {
                Some(import) => PluginError::Import {
                    path: path.clone(),
                    import: import.to_owned(),
                    reason,
                },
                None => PluginError::Link {
                    path: path.clone(),
                    reason,
                },
            }
        };
        let pre = runtime
            .linker()
            .instantiate_pre(component)
            .map_err(link_error)?;
        let pre = PluginPre::new(pre).map_err(link_error)?;
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let shared = Arc::new(PluginShared {
            name: stem,
            secrets: Secrets::of_manifests([&manifest]),
            fetcher: Fetcher::new(manifest.allowed_hosts.clone()),
            manifest,
            pre,
            runtime: runtime.clone(),
            budget: None,
        });
        let start_error = |e: HookError| match e {
            HookError::Broken(reason) => PluginError::Broke {
                path: path.clone(),
                reason,
            },
            other => PluginError::Start {
                path: path.clone(),
                reason: other.to_string(),
            },
        };
        // Loading is not a worker's: the probe runs on wasmtime-wasi's own
        // event loop (or the caller's, inside one).
        let (_, info) =
            wasmtime_wasi::runtime::in_tokio(PluginInstance::start(Arc::clone(&shared), 0))
                .map_err(start_error)?;
        let name = if info.name.is_empty() {
            shared.name.clone()
        } else {
            info.name
        };
        if info.body_prefix as usize > RetryInterest::BODY_PREFIX_MAX {
            return Err(PluginError::Start {
                path,
                reason: format!(
                    "asks for {} bytes of body prefix; at most {} are given",
                    info.body_prefix,
                    RetryInterest::BODY_PREFIX_MAX
                ),
            });
        }
        let budget = info
            .retry_budget
            .map(|budget| Arc::new(RetryBudget::new(budget.capacity, budget.refill)));
        let interest = RetryInterest {
            statuses: info.retry_statuses,
            body_prefix: info.body_prefix as usize,
            budget: budget.clone(),
        };
        let shared = Arc::new(PluginShared {
            name: name.clone(),
            budget,
            ..Arc::into_inner(shared).expect("the probe was the only other owner")
        });
        if let Some(declared) = &info.config {
            warn_undeclared(&name, &shared.manifest, declared);
        }
        Ok(Plugin {
            name,
            version: info.version,
            hooks: info.hooks,
            config: info.config,
            interest,
            shared,
        })
    }
}

impl HookFactory for Plugin {
    fn name(&self) -> &str {
        &self.name
    }

    fn implements(&self) -> HookSet {
        self.hooks
    }

    fn retry_interest(&self) -> RetryInterest {
        self.interest.clone()
    }

    fn instantiate(&self, worker: u32) -> Result<Instance, HookError> {
        Ok(Instance::awaited(PluginInstance::new(
            Arc::clone(&self.shared),
            worker,
        )))
    }

    /// The origins the operator granted this plugin (`--plugin-allow-host`):
    /// it may fetch from them, and send the jobs it authorizes there.
    fn may_send_to(&self, from: &reqwest::Url, to: &reqwest::Url) -> bool {
        let hosts = &self.shared.manifest.allowed_hosts;
        hosts.iter().any(|host| host.admits_switch(from, to))
    }
}
