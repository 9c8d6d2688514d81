//! The plugin runtime: one wasmtime engine and linker for a whole run.
//!
//! Compiling a component is the expensive step (tens of milliseconds), so it
//! happens once per plugin per run; what each worker does is instantiate the
//! pre-linked component into its own store, which takes microseconds.
//! Deadlines use epoch interruption rather than fuel: a background thread
//! advances the engine's epoch every [`TICK`], and each call may run for a
//! set number of ticks, which costs the guest almost nothing per instruction.
//! With a [`PluginCache`], even the compiling is skipped when a run loads a
//! plugin an earlier run compiled.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Engine};

use super::cache::{Origin, PluginCache};
use super::instance::PluginState;
use super::{Grants, Plugin, PluginError};
use super::{bindings, compile};

/// How often the engine's epoch advances: the granularity of deadlines.
pub const TICK: Duration = Duration::from_millis(5);

/// What one plugin instance may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PluginLimits {
    /// The longest one hook call may run before it traps (default 100 ms).
    /// Rounded up to the runtime's tick of 5 ms.
    pub timeout: Duration,
    /// The most linear memory one instance may have, in bytes (default
    /// 64 MiB). Growing past it traps.
    pub memory: usize,
}

impl Default for PluginLimits {
    fn default() -> Self {
        PluginLimits {
            timeout: Duration::from_millis(100),
            memory: 64 << 20,
        }
    }
}

impl PluginLimits {
    /// The deadline of one call, in epoch ticks.
    /// The deadline of an instance's first call (`describe`), which also
    /// pays for its start-up: ten hook deadlines, and at least a second.
    pub fn startup(&self) -> Duration {
        (self.timeout * 10).max(Duration::from_secs(1))
    }
}

/// How many ticks of the epoch make `deadline`, rounded up.
pub(crate) fn ticks(deadline: Duration) -> u64 {
    let ticks = deadline.as_nanos().div_ceil(TICK.as_nanos());
    u64::try_from(ticks).unwrap_or(u64::MAX).max(1)
}

/// The engine, linker and limits shared by every plugin of a run. Cheap to
/// clone.
#[derive(Clone)]
pub struct PluginRuntime {
    inner: Arc<RuntimeInner>,
}

struct RuntimeInner {
    engine: Engine,
    linker: Linker<PluginState>,
    limits: PluginLimits,
    cache: Option<PluginCache>,
}

impl PluginRuntime {
    /// A runtime whose instances have `limits`, compiling every plugin it
    /// loads.
    pub fn new(limits: PluginLimits) -> Result<PluginRuntime, PluginError> {
        Self::with_cache(limits, None)
    }

    /// A runtime whose instances have `limits`, keeping compiled plugins in
    /// `cache` (if any) for the next run.
    pub fn with_cache(
        limits: PluginLimits,
        cache: Option<PluginCache>,
    ) -> Result<PluginRuntime, PluginError> {
        Self::with_engine(limits, cache).map_err(|e| PluginError::Runtime(format!("{e:#}")))
    }

    fn with_engine(
        limits: PluginLimits,
        cache: Option<PluginCache>,
    ) -> wasmtime::Result<PluginRuntime> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        config.wasm_component_model(true);
        let engine = Engine::new(&config)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        bindings::Plugin::add_to_linker::<_, HasSelf<_>>(&mut linker, |state| state)?;
        start_ticker(&engine);
        Ok(PluginRuntime {
            inner: Arc::new(RuntimeInner {
                engine,
                linker,
                limits,
                cache,
            }),
        })
    }

    /// Compiles (or takes from the cache) and checks the plugin in `path`,
    /// giving it `config` as its configuration and `grants` beyond the bare
    /// sandbox. Fails with a message naming the file if it cannot be read,
    /// compiled, was built for another version of the contract, does not
    /// link, or refuses the configuration.
    pub fn load(
        &self,
        path: &Path,
        config: Vec<(String, String)>,
        grants: Grants,
    ) -> Result<Plugin, PluginError> {
        let wasm = read(path)?;
        self.load_bytes(path, &wasm, config, grants)
    }

    /// Like [`PluginRuntime::load`], for a component already in memory;
    /// `label` stands for the file in messages.
    pub fn load_bytes(
        &self,
        label: &Path,
        wasm: &[u8],
        config: Vec<(String, String)>,
        grants: Grants,
    ) -> Result<Plugin, PluginError> {
        let component = self.compile(label, wasm)?;
        Plugin::start(self, label.to_owned(), &component, config, grants)
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

    /// The limits every instance gets.
    pub fn limits(&self) -> PluginLimits {
        self.inner.limits
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
