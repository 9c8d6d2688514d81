//! Compiled plugins kept on disk between runs.
//!
//! Compiling a component takes tens of milliseconds; loading its compiled
//! form takes about one. The cache keeps the compiled form of every plugin
//! in a directory (`$XDG_CACHE_HOME/tb-host` or `~/.cache/tb-host` by
//! default), one file per key:
//!
//! - the key is the SHA-256 of the component's SHA-256 and the engine's
//!   [compatibility hash](wasmtime::Engine::precompile_compatibility_hash),
//!   which covers the target, the compiler's flags, the engine's settings
//!   and wasmtime's own version; a changed plugin, setting or wasmtime gets
//!   a key of its own;
//! - the file is [`HEADER`], the SHA-256 of the compiled bytes, then the
//!   bytes, written to a temporary file and renamed into place, so a reader
//!   sees a whole file or none;
//! - a file is only deserialized after its bytes match their SHA-256: a
//!   corrupt or truncated file is reported, compiled anew and replaced,
//!   never trusted. A file wasmtime refuses (stale) is replaced the same way.
//!
//! The cache never fails a run: when the directory cannot be written the
//! plugin is compiled as if there were no cache, with a warning.

use std::fmt;
use std::fs::{self, OpenOptions};
use std::hash::{Hash, Hasher};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use super::PluginError;
use super::compile;

/// The first bytes of every cache file: what it is and the format's
/// version. Also part of every key, so a new format never reads an old
/// file.
const HEADER: &[u8] = b"tb-host compiled plugin v1\n";

/// The length of a SHA-256 digest.
const DIGEST_LEN: usize = 32;

/// The extension of cache files.
const EXTENSION: &str = "tbplugin";

/// A directory of compiled plugins. See the module documentation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginCache {
    dir: PathBuf,
}

/// Where a compiled plugin came from, for the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// Compiled now; there is no cache.
    Compiled,
    /// Compiled now and saved in the cache.
    Saved,
    /// Compiled now; saving it in the cache failed (already warned).
    Unsaved,
    /// Loaded from the cache.
    Cached,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Origin::Compiled => "compiled",
            Origin::Saved => "compiled and saved in the plugin cache",
            Origin::Unsaved => "compiled (not saved in the plugin cache)",
            Origin::Cached => "loaded from its cached compilation",
        })
    }
}

impl PluginCache {
    /// A cache in `dir`, made when first written.
    pub fn new(dir: impl Into<PathBuf>) -> PluginCache {
        PluginCache { dir: dir.into() }
    }

    /// The default directory: `$XDG_CACHE_HOME/tb-host`, or
    /// `$HOME/.cache/tb-host` when `XDG_CACHE_HOME` is unset or not an
    /// absolute path (as the XDG base directory specification says), or
    /// none when neither is known.
    pub fn default_dir() -> Option<PathBuf> {
        let absolute = |var: &str| {
            std::env::var_os(var)
                .map(PathBuf::from)
                .filter(|path| path.is_absolute())
        };
        absolute("XDG_CACHE_HOME")
            .or_else(|| absolute("HOME").map(|home| home.join(".cache")))
            .map(|base| base.join("tb-host"))
    }

    /// The directory of the cache.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The compiled `wasm`: from the cache if it holds a sound copy, else
    /// compiled now and saved. `path` names the plugin in messages.
    pub(crate) fn compile(
        &self,
        engine: &Engine,
        path: &Path,
        wasm: &[u8],
    ) -> Result<(Component, Origin), PluginError> {
        let file = self.dir.join(format!("{}.{EXTENSION}", key(engine, wasm)));
        match read(engine, &file) {
            Ok(Some(component)) => return Ok((component, Origin::Cached)),
            Ok(None) => {}
            Err(why) => tracing::warn!(
                "plugin {}: the cache file {} {why}; compiling it again",
                path.display(),
                file.display()
            ),
        }
        let component = compile::fresh(engine, path, wasm)?;
        let origin = match self.save(&file, &component) {
            Ok(()) => Origin::Saved,
            Err(error) => {
                tracing::warn!(
                    "plugin {}: cannot save it in the plugin cache {}: {error}",
                    path.display(),
                    self.dir.display()
                );
                Origin::Unsaved
            }
        };
        Ok((component, origin))
    }

    /// Writes `component`'s compiled form to `file`, atomically.
    fn save(&self, file: &Path, component: &Component) -> io::Result<()> {
        let payload = component.serialize().map_err(io::Error::other)?;
        create_private_dir(&self.dir)?;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = file.file_name().unwrap_or_default().to_string_lossy();
        let temporary = self
            .dir
            .join(format!(".{name}.{}.{nanos}.tmp", std::process::id()));
        let written = (|| {
            let mut out = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&temporary)?;
            out.write_all(HEADER)?;
            out.write_all(&Sha256::digest(&payload))?;
            out.write_all(&payload)?;
            drop(out);
            fs::rename(&temporary, file)
        })();
        if written.is_err() {
            let _ = fs::remove_file(&temporary);
        }
        written
    }
}

/// The cached component in `file`: `None` if there is none, an error
/// saying what is wrong with it if it is unsound or refused.
fn read(engine: &Engine, file: &Path) -> Result<Option<Component>, String> {
    let bytes = match fs::read(file) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(format!("cannot be read ({error})")),
    };
    let payload = verified(&bytes).ok_or("is corrupt or truncated")?;
    // SAFETY: `Component::deserialize` trusts its bytes to be the output of
    // `Component::serialize` by a compatible engine, as it runs the machine
    // code in them. These bytes are: they come from a file in the cache
    // directory, named by a key that covers the component and the engine's
    // compatibility hash, and they match, byte for byte, the SHA-256 that
    // `save` wrote before them from `serialize`'s output. The bytes checked
    // are the very bytes deserialized (read once, into memory), so the file
    // cannot change between the check and the use. wasmtime also checks its
    // own header (version, target, settings) and refuses a mismatch. What
    // this cannot defend against is someone who may write to the cache
    // directory on purpose, and who could as well rewrite the user's
    // binaries.
    let component = unsafe { Component::deserialize(engine, payload) }
        .map_err(|error| format!("was refused by wasmtime ({error:#})"))?;
    Ok(Some(component))
}

/// The compiled bytes of a cache file's contents, if its header is right
/// and the bytes match their SHA-256.
fn verified(contents: &[u8]) -> Option<&[u8]> {
    let rest = contents.strip_prefix(HEADER)?;
    let (digest, payload) = rest.split_at_checked(DIGEST_LEN)?;
    (Sha256::digest(payload).as_slice() == digest).then_some(payload)
}

/// The key of `wasm` compiled by `engine`, in hexadecimal.
fn key(engine: &Engine, wasm: &[u8]) -> String {
    let mut hasher = Sha256Hasher(Sha256::new());
    hasher.0.update(HEADER);
    hasher.0.update(Sha256::digest(wasm));
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hasher
        .0
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Feeds what a [`Hash`] implementation writes into SHA-256, so the
/// engine's compatibility hash becomes part of a key that does not depend
/// on the standard library's hasher.
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// Unused: the key is the whole SHA-256, taken from the inner hasher.
    fn finish(&self) -> u64 {
        0
    }
}

/// Makes `dir` and its missing parents, readable by the owner only (the
/// cache holds code the host will run).
fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::PluginRuntime;

    /// The smallest components there are: the preamble of an empty one
    /// (`\0asm`, version 13, layer 1), and one with a custom section, so
    /// that the two differ.
    const EMPTY: &[u8] = b"\0asm\x0d\x00\x01\x00";
    const NAMED: &[u8] = b"\0asm\x0d\x00\x01\x00\x00\x03\x01xy";

    /// A scratch directory removed when dropped.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Scratch {
            let dir = std::env::temp_dir()
                .join(format!("tb-host-cache-unit-{}-{name}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            Scratch(dir)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn contents(payload: &[u8]) -> Vec<u8> {
        [HEADER, &Sha256::digest(payload), payload].concat()
    }

    #[test]
    fn only_whole_matching_contents_are_verified() {
        let good = contents(b"compiled code");
        assert_eq!(verified(&good), Some(&b"compiled code"[..]));
        assert_eq!(verified(&good[..good.len() - 1]), None, "truncated");
        assert_eq!(verified(&good[..HEADER.len() + 5]), None, "no payload");
        let mut flipped = good.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(verified(&flipped), None, "corrupt");
        assert_eq!(verified(b"garbage"), None);
    }

    #[test]
    fn a_plugin_is_compiled_once_then_loaded() {
        let runtime = PluginRuntime::new().unwrap();
        let engine = runtime.engine();
        let scratch = Scratch::new("round-trip");
        let cache = PluginCache::new(scratch.0.join("nested"));
        let label = Path::new("empty.wasm");
        let (_, origin) = cache.compile(engine, label, EMPTY).unwrap();
        assert_eq!(origin, Origin::Saved);
        let files: Vec<_> = fs::read_dir(cache.dir()).unwrap().collect();
        assert_eq!(files.len(), 1, "one file, no temporary left: {files:?}");
        let (_, origin) = cache.compile(engine, label, EMPTY).unwrap();
        assert_eq!(origin, Origin::Cached);
        let (_, origin) = cache.compile(engine, label, NAMED).unwrap();
        assert_eq!(origin, Origin::Saved, "another component, another key");
    }

    #[test]
    fn keys_differ_by_component_and_engine() {
        let runtime = PluginRuntime::new().unwrap();
        let engine = runtime.engine();
        let empty = key(engine, EMPTY);
        assert_eq!(empty, key(engine, EMPTY));
        assert_eq!(empty.len(), 64);
        assert_ne!(empty, key(engine, NAMED));
        let mut config = wasmtime::Config::new();
        config.wasm_component_model(true);
        let plain = Engine::new(&config).unwrap();
        assert_ne!(empty, key(&plain, EMPTY), "no epochs");
    }
}
