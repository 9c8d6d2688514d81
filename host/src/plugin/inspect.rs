//! What a plugin file is, found without running a job: its size, how long
//! it takes to compile, the interfaces it imports and exports, and what it
//! says about itself. For `tb-host plugin inspect`.

use std::time::{Duration, Instant};

use super::{Interfaces, Manifest, Plugin, PluginError, PluginRuntime, compile, runtime};

/// What [`PluginRuntime::inspect`] found out about a plugin file.
pub struct Inspection {
    /// The size of the component file, in bytes.
    pub size: usize,
    /// How long compiling it took (never from the cache).
    pub compile_time: Duration,
    /// What it imports and exports; [`Interfaces::wit_version`] is the
    /// version of the contract it was built for.
    pub interfaces: Interfaces,
    /// The plugin as loaded, with its name, version and hooks; or why it
    /// does not link or refused to start (often: a configuration key it
    /// needs is missing).
    pub plugin: Result<Plugin, PluginError>,
}

impl PluginRuntime {
    /// Reads and compiles the plugin `manifest` names (bypassing the cache,
    /// to time the compiling), then loads it with the manifest to ask what
    /// it is. Fails if the file cannot be read, is not a component, or was
    /// built for another version of the contract; a plugin that does not
    /// link or start is reported in [`Inspection::plugin`].
    pub fn inspect(&self, manifest: Manifest) -> Result<Inspection, PluginError> {
        let path = manifest.path.as_path();
        let wasm = runtime::read(path)?;
        let started = Instant::now();
        let component = compile::fresh(self.engine(), path, &wasm)?;
        let compile_time = started.elapsed();
        let interfaces = Interfaces::of(self.engine(), &component);
        interfaces.check(path)?;
        let plugin = Plugin::start(self, &component, manifest);
        Ok(Inspection {
            size: wasm.len(),
            compile_time,
            interfaces,
            plugin,
        })
    }
}
