//! The plugin runtime: one wasmtime engine and linker for a whole run.
//!
//! Compiling a component is the expensive step (tens of milliseconds), so it
//! happens once per plugin per run; what each worker does is instantiate the
//! pre-linked component into its own store, which takes microseconds.
//! Deadlines use epoch interruption rather than fuel: a background thread
//! advances the engine's epoch every [`TICK`], and at each tick a call
//! either yields to its carrier's other workers or, its time spent, traps
//! (see `instance.rs`); that costs the guest almost nothing per instruction.
//! With a [`PluginCache`], even the compiling is skipped when a run loads a
//! plugin an earlier run compiled.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Engine};

use super::cache::{Origin, PluginCache};
use super::compile;
use super::instance::PluginState;
use super::memory::{DEFAULT_MEMORY_TOTAL, MemoryBudget};
use super::{Manifest, Plugin, PluginError};
use crate::wit;

/// How often the engine's epoch advances: the granularity of deadlines.
pub const TICK: Duration = Duration::from_millis(5);

/// The engine and linker shared by every plugin of a run, and the cache of
/// compiled plugins. Cheap to clone. What each plugin may do is its own,
/// in its [`Manifest`].
#[derive(Clone)]
pub struct PluginRuntime {
    inner: Arc<RuntimeInner>,
}

struct RuntimeInner {
    engine: Engine,
    linker: Linker<PluginState>,
    cache: Option<PluginCache>,
    memory: Arc<MemoryBudget>,
}

impl PluginRuntime {
    /// A runtime that compiles every plugin it loads.
    pub fn new() -> Result<PluginRuntime, PluginError> {
        Self::with_cache(None)
    }

    /// A runtime that keeps compiled plugins in `cache` (if any) for the
    /// next run.
    pub fn with_cache(cache: Option<PluginCache>) -> Result<PluginRuntime, PluginError> {
        Self::with_engine(cache).map_err(|e| PluginError::Runtime(format!("{e:#}")))
    }

    fn with_engine(cache: Option<PluginCache>) -> wasmtime::Result<PluginRuntime> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        config.wasm_component_model(true);
        let engine = Engine::new(&config)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wit::Plugin::add_to_linker::<_, HasSelf<_>>(&mut linker, |state| state)?;
        start_ticker(&engine);
        Ok(PluginRuntime {
            inner: Arc::new(RuntimeInner {
                engine,
                linker,
                cache,
                memory: Arc::new(MemoryBudget::new(DEFAULT_MEMORY_TOTAL)),
            }),
        })
    }

    /// Compiles (or takes from the cache) and checks the plugin `manifest`
    /// names, which gets what the manifest gives it and nothing else (see
    /// [`Manifest`] for an example). Fails with a message naming the file
    /// if it cannot be read, compiled, was built for another version of the
    /// contract, does not link, or refuses its configuration.
    pub fn load(&self, manifest: Manifest) -> Result<Plugin, PluginError> {
        let wasm = read(&manifest.path)?;
        self.load_bytes(manifest, &wasm)
    }

    /// Like [`PluginRuntime::load`], for a component already in memory;
    /// the manifest's path stands for the file in messages.
    pub fn load_bytes(&self, manifest: Manifest, wasm: &[u8]) -> Result<Plugin, PluginError> {
        let component = self.compile(&manifest.path, wasm)?;
        Plugin::start(self, &component, manifest)
    }

    /// The compiled `wasm`, through the cache if the runtime has one.
    fn compile(&self, label: &Path, wasm: &[u8]) -> Result<Component, PluginError> {
        let started = Instant::now();
        let (component, origin) = match &self.inner.cache {
            Some(cache) => cache.compile(self.engine(), label, wasm)?,
            None => (
                compile::fresh(self.engine(), label, wasm)?,
                Origin::Compiled,
            ),
        };
        tracing::info!(
            "plugin {}: {origin} in {:.1} ms",
            label.display(),
            started.elapsed().as_secs_f64() * 1000.0
        );
        Ok(component)
    }

    /// Sets the most linear memory all instances of this runtime's plugins
    /// may hold together (default [`DEFAULT_MEMORY_TOTAL`]): past it, a
    /// plugin's memory does not grow, and the call that wanted it fails
    /// (its request fails as kind `plugin`) while the run goes on.
    pub fn memory_total(self, bytes: usize) -> PluginRuntime {
        self.inner.memory.set_limit(bytes);
        self
    }

    pub(crate) fn memory_budget(&self) -> Arc<MemoryBudget> {
        Arc::clone(&self.inner.memory)
    }

    pub(crate) fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    pub(crate) fn linker(&self) -> &Linker<PluginState> {
        &self.inner.linker
    }
}

/// The bytes of the plugin file `path`.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>, PluginError> {
    std::fs::read(path).map_err(|source| PluginError::Read {
        path: path.to_owned(),
        source,
    })
}

/// Advances the engine's epoch every tick for as long as the engine lives.
fn start_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("tb-plugin-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(TICK);
            }
        })
        .expect("cannot start the plugin deadline thread");
}
