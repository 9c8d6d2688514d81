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
//! The cache holds machine code the host runs outside the sandbox, so it is
//! used only where no one but the user could have written it, as ssh does
//! with keys (on unix):
//!
//! - the directory ([`PluginCache::open`]) must belong to the effective
//!   user and be writable by no one else; the cache makes it, and its
//!   missing parents, mode 0700. A directory that fails is a
//!   [`CacheError::NotPrivate`]: no cache at all, and the caller decides
//!   whether that fails the run (`tb-host` refuses an explicit
//!   `--plugin-cache DIR`, and runs without its default one);
//! - each file is opened without following a link, and loaded only if it
//!   is a regular file that belongs to the user and is writable by no one
//!   else; one that fails is said, once, compiled anew and replaced. Files
//!   are written mode 0600.
//!
//! Otherwise the cache never fails a run: when a file cannot be read or
//! written the plugin is compiled as if there were no cache, with a
//! warning.

use std::fmt;
use std::fs::{self, OpenOptions};
use std::hash::{Hash, Hasher};
use std::io::{self, Read, Write};
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

/// Why a directory cannot be a plugin cache. Either way there is no cache:
/// every plugin is compiled afresh.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// The directory cannot be made or looked at (a read-only file system,
    /// say): a cache that is merely unavailable.
    #[error("cannot use the plugin cache {}: {error}", dir.display())]
    Unusable {
        /// The directory.
        dir: PathBuf,
        /// What making or looking at it said.
        error: io::Error,
    },
    /// Someone other than the user could write in the directory, and so
    /// put machine code there that the host would run.
    #[error(
        "refusing the plugin cache {dir}: it {reason}, so another user could put code there \
         that tb-host would run outside the sandbox; make it yours alone \
         (chmod 700 {dir}) or use another directory",
        dir = dir.display()
    )]
    NotPrivate {
        /// The directory.
        dir: PathBuf,
        /// What is wrong with it: "is writable by group or others (mode
        /// 0777)", "belongs to uid 0, ...".
        reason: String,
    },
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
    /// The cache in `dir`, made (mode 0700, with its missing parents) if
    /// missing. Fails if it cannot be made or looked at, or if it is not
    /// a directory that belongs to the effective user and that no one else
    /// may write to (see the module documentation).
    pub fn open(dir: impl Into<PathBuf>) -> Result<PluginCache, CacheError> {
        let dir = dir.into();
        let meta = create_private_dir(&dir).and_then(|()| fs::metadata(&dir));
        let meta = match meta {
            Ok(meta) => meta,
            Err(error) => return Err(CacheError::Unusable { dir, error }),
        };
        let private = if meta.is_dir() {
            private(&meta)
        } else {
            Err("is not a directory".to_owned())
        };
        match private {
            Ok(()) => Ok(PluginCache { dir }),
            Err(reason) => Err(CacheError::NotPrivate { dir, reason }),
        }
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
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = file.file_name().unwrap_or_default().to_string_lossy();
        let temporary = self
            .dir
            .join(format!(".{name}.{}.{nanos}.tmp", std::process::id()));
        let written = (|| {
            let mut options = OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut out = options.open(&temporary)?;
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
    let Some(bytes) = read_private(file)? else {
        return Ok(None);
    };
    let payload = verified(&bytes).ok_or("is corrupt or truncated")?;
    // SAFETY: `Component::deserialize` trusts its bytes to be the output of
    // `Component::serialize` by a compatible engine, as it runs the machine
    // code in them. These bytes are: they come from a file in the cache
    // directory, named by a key that covers the component and the engine's
    // compatibility hash, and they match, byte for byte, the SHA-256 that
    // `save` wrote before them from `serialize`'s output. The file is the
    // user's alone, in a directory that is ([`read_private`],
    // [`PluginCache::open`]), so no one else could have written them. The
    // bytes checked
    // are the very bytes deserialized (read once, into memory), so the file
    // cannot change between the check and the use. wasmtime also checks its
    // own header (version, target, settings) and refuses a mismatch. What
    // this cannot defend against is someone who may write as the user, and
    // who could as well rewrite the user's binaries.
    let component = unsafe { Component::deserialize(engine, payload) }
        .map_err(|error| format!("was refused by wasmtime ({error:#})"))?;
    Ok(Some(component))
}

/// The contents of `file`, `None` if there is none, or why they are not
/// read: `file` is opened without following a link, and read only if it is
/// a regular file that is the user's alone ([`private`]).
fn read_private(file: &Path) -> Result<Option<Vec<u8>>, String> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NOFOLLOW);
    let mut opened = match options.open(file) {
        Ok(opened) => opened,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        #[cfg(unix)]
        Err(error) if error.raw_os_error() == Some(libc::ELOOP) => {
            return Err("is a symbolic link, which is not followed".to_owned());
        }
        Err(error) => return Err(format!("cannot be read ({error})")),
    };
    let meta = opened
        .metadata()
        .map_err(|error| format!("cannot be read ({error})"))?;
    if !meta.is_file() {
        return Err("is not a regular file".to_owned());
    }
    private(&meta).map_err(|reason| format!("{reason}, so it is not trusted"))?;
    let mut bytes = Vec::new();
    opened
        .read_to_end(&mut bytes)
        .map_err(|error| format!("cannot be read ({error})"))?;
    Ok(Some(bytes))
}

/// Whether what `meta` describes is the user's alone: it belongs to the
/// effective user, and neither group nor others may write to it. Always
/// so where there are no such modes.
fn private(meta: &fs::Metadata) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let user = unsafe { libc::geteuid() };
        judge(meta.uid(), meta.mode(), user)
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        Ok(())
    }
}

/// The rule of [`private`], for an entry owned by `owner` with mode bits
/// `mode`, and a process whose effective user is `user`. Unlike a
/// directory of saved bodies, a sticky shared directory is no exception:
/// what others may add to it would be run.
#[cfg(unix)]
fn judge(owner: u32, mode: u32, user: u32) -> Result<(), String> {
    const GROUP_OR_OTHERS_WRITE: u32 = 0o022;
    if owner != user {
        return Err(format!(
            "belongs to uid {owner}, not to the user running tb-host (uid {user})"
        ));
    }
    if mode & GROUP_OR_OTHERS_WRITE != 0 {
        return Err(format!(
            "is writable by group or others (mode {:04o})",
            mode & 0o7777
        ));
    }
    Ok(())
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
        let cache = PluginCache::open(scratch.0.join("nested")).unwrap();
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

    /// The mode bits of `path`, not following a link.
    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::MetadataExt;
        fs::symlink_metadata(path).unwrap().mode() & 0o7777
    }

    #[cfg(unix)]
    fn chmod(path: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    /// The one file of `cache`.
    fn only_file(cache: &PluginCache) -> PathBuf {
        let files: Vec<_> = fs::read_dir(cache.dir())
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        let [file] = &files[..] else {
            panic!("one cache file: {files:?}");
        };
        file.clone()
    }

    #[cfg(unix)]
    #[test]
    fn the_cache_makes_its_directories_private_and_its_files_0600() {
        let runtime = PluginRuntime::new().unwrap();
        let scratch = Scratch::new("private");
        let cache = PluginCache::open(scratch.0.join("a/b")).unwrap();
        assert_eq!(mode(&scratch.0), 0o700, "a parent it made");
        assert_eq!(mode(cache.dir()), 0o700);
        cache
            .compile(runtime.engine(), Path::new("empty.wasm"), EMPTY)
            .unwrap();
        assert_eq!(mode(&only_file(&cache)), 0o600);
    }

    #[cfg(unix)]
    #[test]
    fn a_directory_others_may_write_to_is_refused() {
        let scratch = Scratch::new("shared-dir");
        fs::create_dir_all(&scratch.0).unwrap();
        chmod(&scratch.0, 0o777);
        let error = PluginCache::open(&scratch.0).unwrap_err();
        assert!(
            matches!(&error, CacheError::NotPrivate { reason, .. }
                if reason == "is writable by group or others (mode 0777)"),
            "{error}"
        );
        let message = error.to_string();
        assert!(
            message.contains(&format!("chmod 700 {}", scratch.0.display())),
            "{message}"
        );
        chmod(&scratch.0, 0o700);
        PluginCache::open(&scratch.0).unwrap();
        let file = scratch.0.join("file");
        fs::write(&file, b"").unwrap();
        let error = PluginCache::open(&file).unwrap_err();
        assert!(matches!(error, CacheError::Unusable { .. }), "{error}");
    }

    #[cfg(unix)]
    #[test]
    fn only_entries_of_the_user_no_one_else_may_write_are_private() {
        let me = 1000;
        for mode in [0o700, 0o755, 0o600, 0o644, 0o40700] {
            assert_eq!(judge(me, mode, me), Ok(()), "{mode:o}");
        }
        for mode in [0o777, 0o1777, 0o775, 0o720, 0o702, 0o666, 0o100620] {
            let reason = judge(me, mode, me).unwrap_err();
            assert_eq!(
                reason,
                format!(
                    "is writable by group or others (mode {:04o})",
                    mode & 0o7777
                )
            );
        }
        assert_eq!(
            judge(0, 0o700, me).unwrap_err(),
            "belongs to uid 0, not to the user running tb-host (uid 1000)"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_cache_file_others_may_write_to_is_not_loaded_but_replaced() {
        let runtime = PluginRuntime::new().unwrap();
        let engine = runtime.engine();
        let scratch = Scratch::new("shared-file");
        let cache = PluginCache::open(&scratch.0).unwrap();
        let label = Path::new("empty.wasm");
        cache.compile(engine, label, EMPTY).unwrap();
        let file = only_file(&cache);
        chmod(&file, 0o666);
        assert_eq!(
            read(engine, &file).err().as_deref(),
            Some("is writable by group or others (mode 0666), so it is not trusted")
        );
        let (_, origin) = cache.compile(engine, label, EMPTY).unwrap();
        assert_eq!(origin, Origin::Saved, "compiled afresh, not loaded");
        assert_eq!(mode(&file), 0o600, "replaced by a file of the user's");
        let (_, origin) = cache.compile(engine, label, EMPTY).unwrap();
        assert_eq!(origin, Origin::Cached);
    }

    #[cfg(unix)]
    #[test]
    fn a_linked_cache_file_is_not_followed() {
        let runtime = PluginRuntime::new().unwrap();
        let engine = runtime.engine();
        let scratch = Scratch::new("linked-file");
        let label = Path::new("empty.wasm");
        let elsewhere = PluginCache::open(scratch.0.join("elsewhere")).unwrap();
        elsewhere.compile(engine, label, EMPTY).unwrap();
        let target = only_file(&elsewhere);
        let sound = fs::read(&target).unwrap();
        let cache = PluginCache::open(scratch.0.join("cache")).unwrap();
        let link = cache.dir().join(target.file_name().unwrap());
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert_eq!(
            read(engine, &link).err().as_deref(),
            Some("is a symbolic link, which is not followed")
        );
        let (_, origin) = cache.compile(engine, label, EMPTY).unwrap();
        assert_eq!(origin, Origin::Saved, "compiled afresh, not loaded");
        assert!(
            fs::symlink_metadata(&link).unwrap().is_file(),
            "link replaced"
        );
        assert_eq!(fs::read(&target).unwrap(), sound, "its target untouched");
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
