//! A plugin's manifest: the one place that says what a plugin may do.
//!
//! A plugin may be code the operator did not write, so everything it gets
//! beyond the bare sandbox (clocks, random numbers, its configuration,
//! the log) is written down in one [`Manifest`] an operator can review:
//! which component it is, the name flags and messages know it by, its
//! configuration and which values of it are secret, the environment
//! variables granted to it, the origins it may fetch from and send the
//! jobs it authorizes to, its deadline per call and its memory cap per
//! instance. [`PluginRuntime::load`](super::PluginRuntime::load) takes
//! nothing else, so what a plugin may do is never spread over several
//! places.
//!
//! A manifest is built in code ([`Manifest::new`]), from `tb-host run`'s
//! flags, or read from a TOML file ([`Manifest::read`]), which keeps a
//! plugin's settings and grants together in a file that is reviewed like
//! any other:
//!
//! ```toml
//! name = "idp"                                  # for scoped flags; else the file's stem
//! path = "oauth2_client_credentials.wasm"       # relative to this file's directory
//! allowed_hosts = ["https://idp.example.com"]   # [SCHEME://]HOST[:PORT]
//! timeout_ms = 200                              # deadline of one call (default 100)
//! memory_mib = 32                               # memory cap of one instance (default 64)
//! secrets = ["client-id"]                       # secret too, whatever its name says
//!
//! [config]
//! token-url = "https://idp.example.com/oauth/token"
//! client-id = "my-app"
//! client-secret = "@client-secret.txt"          # the file's contents, relative to this file
//! audience = "env:IDP_AUDIENCE"                 # tb-host's variable, read at start
//! scope = "read write"
//! ```
//!
//! | key | meaning |
//! |---|---|
//! | `path` | the component, relative to the manifest's directory; required |
//! | `name` | the name scoped flags (`--plugin-config NAME:KEY=VALUE`) use; default the component's stem |
//! | `config` | the configuration; a nested table or dotted key joins its keys with `.` (`header.X-Team`) |
//! | `secrets` | config keys whose values are secret whatever their names say |
//! | `env` | environment variables granted to the plugin, with their values at start |
//! | `allowed_hosts` | origins the plugin may fetch from and send jobs to: `https://HOST[:PORT]`, `http://HOST[:PORT]`, `HOST:PORT`, `HOST` |
//! | `timeout_ms`, `memory_mib` | the plugin's deadline per call and memory cap per instance |
//!
//! Config values are strings, numbers or `true`/`false` (given to the
//! plugin as text). `@FILE` is the file's contents, trailing line breaks
//! trimmed, and `@@TEXT` is `@TEXT`; `env:VAR` is the value of the host's
//! variable VAR when the manifest is read (which does not grant VAR to
//! the plugin; a value that really starts with `env:` can be put in a
//! file). A missing file, an unset variable and an unknown key are errors
//! naming the manifest and the key or variable.
//!
//! # What is secret
//!
//! tb-host hides secret values from everything it writes (see
//! [`Secrets`](super::Secrets)) and shows the rest, so that an error can
//! say which token endpoint refused a client. A config value is secret
//! when
//!
//! - the manifest declares its key secret ([`Manifest::secrets`], TOML
//!   `secrets = [...]`);
//! - its key looks like a secret: the key's last word (after its last
//!   `-`, `_` or `.`) contains `secret`, `password`, `passwd`, `token`,
//!   `key`, `credential`, `auth` or `signature`, in any case
//!   ([`looks_secret`]). So `client-secret`, `api-key`, `token` and
//!   `header.Authorization` are secret, and `token-url`, `client-id`,
//!   `access-key-id` and `scope` are not; nor is a key ending in `-env`,
//!   whose value names a variable by guest-sdk's convention (the
//!   variable's value is the secret);
//! - or its value was read from `@FILE` or `env:VAR`, which is how
//!   secrets are kept off the command line.
//!
//! The values of granted environment variables are always secret. A
//! value shorter than [`SECRET_MIN_LEN`](super::SECRET_MIN_LEN) bytes is
//! never hidden, secret or not: it is a flag or a small number whose every
//! occurrence would be blotted out of messages, and no credential is that
//! short.

use std::borrow::Cow;
use std::fmt;
use std::num::NonZeroU64;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use super::AllowedHost;

/// The deadline of one call of a plugin whose manifest sets none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(100);

/// The memory cap of one instance of a plugin whose manifest sets none,
/// in bytes.
pub const DEFAULT_MEMORY: usize = 64 << 20;

/// The words that make a config key's value secret when its last word
/// contains one (see the module's documentation).
const SECRET_WORDS: [&str; 8] = [
    "secret",
    "password",
    "passwd",
    "token",
    "key",
    "credential",
    "auth",
    "signature",
];

/// Everything one plugin is given and may do. Fields left empty grant
/// nothing: [`Manifest::new`] is a plugin with no configuration, nothing
/// granted and the default limits.
///
/// ```no_run
/// use std::path::Path;
/// use std::time::Duration;
/// use tb_host::plugin::{AllowedHost, Manifest, PluginRuntime};
/// use tb_host::{Pool, RequestDefaults};
///
/// let runtime = PluginRuntime::new()?;
/// let oauth = runtime.load(Manifest {
///     config: vec![
///         ("token-url".into(), "https://idp.example.com/oauth/token".into()),
///         ("client-id".into(), "my-app".into()),
///         ("client-secret".into(), std::fs::read_to_string("client-secret.txt")?),
///     ],
///     allowed_hosts: vec![AllowedHost::parse("https://idp.example.com")?],
///     timeout: Some(Duration::from_millis(200)),
///     ..Manifest::new("oauth2_client_credentials.wasm")
/// })?;
/// // Or the same, reviewed in a file of its own.
/// let retry = runtime.load(Manifest::read(Path::new("retry.toml"))?)?;
/// let mut pool = Pool::builder()
///     .hook(oauth)
///     .hook(retry)
///     .from_urls(["https://api.example.com/items"], &RequestDefaults::default())?;
/// pool.join_all();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The name the operator knows the plugin by, for flags scoped to it
    /// (`--plugin-config NAME:KEY=VALUE`); `None` for the component
    /// file's stem. Letters, digits, `-` and `_` ([`is_plugin_name`]).
    pub name: Option<String>,
    /// The component file (`.wasm`).
    pub path: PathBuf,
    /// The configuration, as (key, value) in order; the plugin reads it
    /// with `guest_sdk::config`. A key given twice reads as its first
    /// value.
    pub config: Vec<(String, String)>,
    /// Config keys whose values are secret whatever their names say (see
    /// the module's documentation for the whole rule).
    pub secrets: Vec<String>,
    /// Environment variables the plugin sees through WASI, as (name,
    /// value): the value is fixed here, the plugin never sees the host's
    /// environment itself. Values are always secret.
    pub env: Vec<(String, String)>,
    /// Origins the plugin may fetch from through the host (`host.fetch`,
    /// for token endpoints), send the jobs it authorizes to, and
    /// authorize redirects to. It still gets no sockets.
    pub allowed_hosts: Vec<AllowedHost>,
    /// The longest one hook call may run before it traps, rounded up to
    /// the runtime's tick of 5 ms; `None` for [`DEFAULT_TIMEOUT`].
    /// Wall-clock time: on a busy machine leave well-behaved plugins room.
    pub timeout: Option<Duration>,
    /// The most linear memory one instance may have, in bytes; growing
    /// past it traps. `None` for [`DEFAULT_MEMORY`].
    pub memory: Option<usize>,
}

/// Why a manifest file could not be read. Each message names the file.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The file could not be read.
    #[error("plugin manifest {path}: cannot read it: {source}")]
    Read {
        /// The manifest file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a manifest: not TOML, an unknown or misspelt key, a
    /// value of the wrong type, a config file that cannot be read or a
    /// variable that is not set. The reason names the key or variable,
    /// never a config value.
    #[error("plugin manifest {path}{}: {reason}", line.map(|line| format!(" line {line}")).unwrap_or_default())]
    Invalid {
        /// The manifest file.
        path: PathBuf,
        /// The line the problem is on, when it is known.
        line: Option<usize>,
        /// What is wrong.
        reason: String,
    },
}

impl Manifest {
    /// The manifest of the component in `path`: no configuration, nothing
    /// granted, the default limits.
    pub fn new(path: impl Into<PathBuf>) -> Manifest {
        Manifest {
            name: None,
            path: path.into(),
            config: Vec::new(),
            secrets: Vec::new(),
            env: Vec::new(),
            allowed_hosts: Vec::new(),
            timeout: None,
            memory: None,
        }
    }

    /// Reads the TOML manifest `file` (see the module's documentation for
    /// its keys): the component's path and `@FILE` values are relative to
    /// `file`'s directory, and `env:VAR` values and granted variables are
    /// taken from the host's environment now.
    pub fn read(file: &Path) -> Result<Manifest, ManifestError> {
        let text = std::fs::read_to_string(file).map_err(|source| ManifestError::Read {
            path: file.to_owned(),
            source,
        })?;
        let invalid = |line: Option<usize>, reason: String| ManifestError::Invalid {
            path: file.to_owned(),
            line,
            reason,
        };
        let written: ManifestFile = toml::from_str(&text).map_err(|e| {
            let line = e
                .span()
                .map(|span| text[..span.start].matches('\n').count() + 1);
            invalid(line, e.message().to_owned())
        })?;
        let dir = file.parent().unwrap_or(Path::new(""));
        written.resolve(dir).map_err(|reason| invalid(None, reason))
    }

    /// Adds config key `key` with the value an operator wrote as `raw`:
    /// `@FILE` (relative to `dir`) is the file's contents, and secret;
    /// `@@TEXT` is `@TEXT`; anything else is itself. The error names the
    /// file, never its contents.
    pub fn add_config(&mut self, key: String, raw: &str, dir: &Path) -> Result<(), String> {
        let (value, from_file) = config_value(raw, dir)?;
        self.push_config(key, value, from_file);
        Ok(())
    }

    /// Adds config key `key` with `value`, declared secret if `secret`.
    fn push_config(&mut self, key: String, value: String, secret: bool) {
        if secret && !self.secrets.contains(&key) {
            self.secrets.push(key.clone());
        }
        self.config.push((key, value));
    }

    /// Whether the value of config key `key` is secret: declared so in
    /// [`Manifest::secrets`], or named like a secret ([`looks_secret`]).
    pub fn is_secret(&self, key: &str) -> bool {
        self.secrets.iter().any(|secret| secret == key) || looks_secret(key)
    }

    /// The configuration as it may be shown: each key with its value, or
    /// `None` for a secret's.
    pub fn shown_config(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.config.iter().map(|(key, value)| {
            let shown = (!self.is_secret(key)).then_some(value.as_str());
            (key.as_str(), shown)
        })
    }

    /// Every value the plugin is given that must never be shown: its
    /// secret config values and its granted variables' values.
    pub(crate) fn secret_values(&self) -> impl Iterator<Item = &str> {
        let config = self
            .config
            .iter()
            .filter(|(key, _)| self.is_secret(key))
            .map(|(_, value)| value.as_str());
        config.chain(self.env.iter().map(|(_, value)| value.as_str()))
    }

    /// The deadline of one hook call: [`Manifest::timeout`] or the
    /// default.
    pub fn deadline(&self) -> Duration {
        self.timeout.unwrap_or(DEFAULT_TIMEOUT)
    }

    /// The memory cap of one instance, in bytes: [`Manifest::memory`] or
    /// the default.
    pub fn memory_cap(&self) -> usize {
        self.memory.unwrap_or(DEFAULT_MEMORY)
    }
}

/// Names and the values that are not secret only.
impl fmt::Debug for Manifest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let config: Vec<String> = self
            .shown_config()
            .map(|(key, value)| format!("{key}={}", value.unwrap_or(super::REDACTED)))
            .collect();
        let env: Vec<&str> = self.env.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("Manifest")
            .field("name", &self.name)
            .field("path", &self.path)
            .field("config", &config)
            .field("secrets", &self.secrets)
            .field("env", &env)
            .field("allowed_hosts", &self.allowed_hosts)
            .field("timeout", &self.timeout)
            .field("memory", &self.memory)
            .finish()
    }
}

/// Whether the name of config key `key` says its value is a secret: its
/// last word (after its last `-`, `_` or `.`) contains one of `secret`,
/// `password`, `passwd`, `token`, `key`, `credential`, `auth` or
/// `signature`, in any case.
///
/// ```
/// use tb_host::plugin::manifest::looks_secret;
///
/// assert!(looks_secret("client-secret") && looks_secret("header.Authorization"));
/// assert!(!looks_secret("token-url") && !looks_secret("key-env") && !looks_secret("scope"));
/// ```
pub fn looks_secret(key: &str) -> bool {
    let last = key.rsplit(['-', '_', '.']).next().unwrap_or(key);
    let last = last.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|word| last.contains(word))
}

/// Whether `text` can name a plugin: letters, digits, `-` and `_`, so a
/// name is told apart from what follows it in `NAME:KEY=VALUE`.
pub fn is_plugin_name(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The config value `raw` means, as an operator writes it in a manifest
/// or a flag, and whether it was read from a file: `@FILE` is the file's
/// contents (FILE relative to `dir`) with trailing line breaks trimmed,
/// `@@TEXT` is `@TEXT`, and anything else is itself. The error names the
/// file, never its contents.
fn config_value(raw: &str, dir: &Path) -> Result<(String, bool), String> {
    if let Some(literal) = raw.strip_prefix("@@") {
        return Ok((format!("@{literal}"), false));
    }
    let Some(file) = raw.strip_prefix('@') else {
        return Ok((raw.to_owned(), false));
    };
    if file.is_empty() {
        return Err("@ must be followed by a file name".to_owned());
    }
    let file = dir.join(file);
    let text = std::fs::read_to_string(&file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    Ok((text.trim_end_matches(['\n', '\r']).to_owned(), true))
}

/// `mib` MiB in bytes, at most `usize::MAX`.
pub fn mib(mib: u64) -> usize {
    usize::try_from(mib.saturating_mul(1 << 20)).unwrap_or(usize::MAX)
}

/// The value of the host's environment variable `name`; the error says
/// why there is none, naming the variable.
pub fn variable(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|why| {
        let why = match why {
            std::env::VarError::NotPresent => "not set",
            std::env::VarError::NotUnicode(_) => "not valid UTF-8",
        };
        format!("{name} is {why} in tb-host's environment")
    })
}

/// A manifest file as written; [`ManifestFile::resolve`] reads what it
/// refers to.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestFile {
    path: PathBuf,
    name: Option<String>,
    #[serde(default)]
    config: toml::Table,
    #[serde(default)]
    secrets: Vec<String>,
    #[serde(default)]
    env: Vec<String>,
    #[serde(default)]
    allowed_hosts: Vec<AllowedHost>,
    timeout_ms: Option<NonZeroU64>,
    memory_mib: Option<NonZeroU64>,
}

impl ManifestFile {
    /// The manifest this file says, its paths relative to `dir`.
    fn resolve(self, dir: &Path) -> Result<Manifest, String> {
        if let Some(name) = self.name.as_deref().filter(|name| !is_plugin_name(name)) {
            return Err(format!(
                "name {name:?}: a plugin's name is letters, digits, `-` and `_`"
            ));
        }
        let env = self
            .env
            .into_iter()
            .map(|name| {
                let value = variable(&name).map_err(|reason| format!("env: {reason}"))?;
                Ok((name, value))
            })
            .collect::<Result<_, String>>()?;
        let mut manifest = Manifest {
            name: self.name,
            path: dir.join(self.path),
            config: Vec::new(),
            secrets: self.secrets,
            env,
            allowed_hosts: self.allowed_hosts,
            timeout: self.timeout_ms.map(|ms| Duration::from_millis(ms.get())),
            memory: self.memory_mib.map(|size| mib(size.get())),
        };
        let mut entries = Vec::new();
        flatten(None, self.config, &mut entries);
        for (key, value) in entries {
            add_entry(&mut manifest, key.clone(), value, dir)
                .map_err(|reason| format!("config key `{key}`: {reason}"))?;
        }
        Ok(manifest)
    }
}

/// Adds the entries of `table` to `out`, a nested table's keys joined to
/// its own with `.`: `[config.header]` and `header.X-Team = ...` both make
/// the key `header.X-Team`, as guest-sdk plugins name open-ended keys.
fn flatten(prefix: Option<&str>, table: toml::Table, out: &mut Vec<(String, toml::Value)>) {
    for (key, value) in table {
        let key = match prefix {
            Some(prefix) => format!("{prefix}.{key}"),
            None => key,
        };
        match value {
            toml::Value::Table(inner) => flatten(Some(&key), inner, out),
            value => out.push((key, value)),
        }
    }
}

/// Adds config key `key` to `manifest` with `value` as a manifest file
/// writes it: a string as [`Manifest::add_config`] reads it or, for
/// `env:VAR`, the host's variable VAR, secret; a number or a boolean as
/// text.
fn add_entry(
    manifest: &mut Manifest,
    key: String,
    value: toml::Value,
    dir: &Path,
) -> Result<(), String> {
    let (value, secret) = match value {
        toml::Value::String(text) => match text.strip_prefix("env:") {
            Some(name) => (variable(name)?, true),
            None => return manifest.add_config(key, &text, dir),
        },
        toml::Value::Integer(number) => (number.to_string(), false),
        toml::Value::Float(number) => (number.to_string(), false),
        toml::Value::Boolean(flag) => (flag.to_string(), false),
        _ => {
            return Err(format!(
                "expected a string, a number or true/false (a list is one string, \
                 as the plugin reads it: {key} = \"a, b\")"
            ));
        }
    };
    manifest.push_config(key, value, secret);
    Ok(())
}

/// A grant as the manifest writes it, `[SCHEME://]HOST[:PORT]`.
impl<'de> Deserialize<'de> for AllowedHost {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = Cow::<str>::deserialize(deserializer)?;
        AllowedHost::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch directory removed when dropped.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Scratch {
            let dir = std::env::temp_dir().join(format!(
                "tb-host-manifest-unit-{}-{name}",
                std::process::id()
            ));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }

        fn write(&self, name: &str, contents: &str) -> PathBuf {
            let path = self.0.join(name);
            std::fs::write(&path, contents).unwrap();
            path
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn keys_that_name_secrets_are_secret_and_others_are_shown() {
        for key in [
            "client-secret",
            "password",
            "db_passwd",
            "token",
            "api-key",
            "apiKey",
            "secret-access-key",
            "credentials",
            "header.Authorization",
            "header.X-Api-Key",
            "SIGNATURE",
        ] {
            assert!(looks_secret(key), "{key}");
        }
        for key in [
            "token-url",
            "client-id",
            "access-key-id",
            "scope",
            "key-env",
            "client-secret-env",
            "query",
            "header.X-Team",
            "decoy",
        ] {
            assert!(!looks_secret(key), "{key}");
        }
        let manifest = Manifest {
            secrets: vec!["decoy".into()],
            ..Manifest::new("p.wasm")
        };
        assert!(manifest.is_secret("decoy") && manifest.is_secret("token"));
        assert!(!manifest.is_secret("scope"));
    }

    #[test]
    fn secret_values_are_the_secret_keys_and_the_granted_variables() {
        let manifest = Manifest {
            config: vec![
                ("token-url".into(), "https://idp.example/token".into()),
                ("client-secret".into(), "s3cr3t-value".into()),
                ("key-env".into(), "WEATHER_KEY".into()),
            ],
            env: vec![("WEATHER_KEY".into(), "k3y-value".into())],
            ..Manifest::new("p.wasm")
        };
        let values: Vec<&str> = manifest.secret_values().collect();
        assert_eq!(values, ["s3cr3t-value", "k3y-value"]);
        let shown = format!("{manifest:?}");
        assert!(
            shown.contains("token-url=https://idp.example/token"),
            "{shown}"
        );
        assert!(shown.contains("client-secret=[redacted]"), "{shown}");
        assert!(shown.contains("WEATHER_KEY"), "{shown}");
        assert!(
            !shown.contains("s3cr3t") && !shown.contains("k3y-value"),
            "{shown}"
        );
    }

    #[test]
    fn a_manifest_file_reads_files_and_variables_relative_to_itself() {
        let scratch = Scratch::new("read");
        scratch.write("secret.txt", "s3cr3t\r\n");
        let file = scratch.write(
            "idp.toml",
            r#"
            name = "idp"
            path = "plugins/oauth.wasm"
            env = ["PATH"]
            allowed_hosts = ["https://idp.example", "127.0.0.1:8080"]
            timeout_ms = 250
            memory_mib = 16
            secrets = ["audience"]

            [config]
            token-url = "https://idp.example/token"
            client-secret = "@secret.txt"
            handle = "@@me"
            from-env = "env:HOME"
            max-attempts = 5
            verbose = true
            audience = "api"
            header.X-Team = "search"
            header.Accept = "text/plain"
            "#,
        );
        let manifest = Manifest::read(&file).unwrap();
        assert_eq!(manifest.name.as_deref(), Some("idp"));
        assert_eq!(manifest.path, scratch.0.join("plugins/oauth.wasm"));
        let home = std::env::var("HOME").unwrap();
        let config: Vec<(&str, &str)> = manifest
            .config
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            config,
            [
                ("token-url", "https://idp.example/token"),
                ("client-secret", "s3cr3t"),
                ("handle", "@me"),
                ("from-env", home.as_str()),
                ("max-attempts", "5"),
                ("verbose", "true"),
                ("audience", "api"),
                ("header.X-Team", "search"),
                ("header.Accept", "text/plain"),
            ],
            "in the file's order"
        );
        assert_eq!(manifest.secrets, ["audience", "client-secret", "from-env"]);
        assert!(!manifest.is_secret("token-url") && !manifest.is_secret("handle"));
        assert_eq!(manifest.env[0].0, "PATH");
        assert_eq!(manifest.allowed_hosts.len(), 2);
        assert_eq!(manifest.deadline(), Duration::from_millis(250));
        assert_eq!(manifest.memory_cap(), 16 << 20);
        let bare = Manifest::new("p.wasm");
        assert_eq!(
            (bare.deadline(), bare.memory_cap()),
            (DEFAULT_TIMEOUT, DEFAULT_MEMORY)
        );
    }

    #[test]
    fn mistakes_are_refused_naming_the_file_and_the_key_or_variable() {
        let scratch = Scratch::new("mistakes");
        for (contents, expected) in [
            (
                "path = \"p.wasm\"\n\ncolour = \"red\"\n",
                "line 3: unknown field `colour`",
            ),
            ("name = \"p\"\n", "missing field `path`"),
            ("path = \"p.wasm\"\ntimeout_ms = 0\n", "line 2"),
            (
                "path = \"p.wasm\"\nallowed_hosts = [\"ftp://x\"]\n",
                "not a grant",
            ),
            ("path = \"p.wasm\"\nname = \"a b\"\n", "name \"a b\""),
            (
                "path = \"p.wasm\"\n[config]\ns = \"env:TB_HOST_UNIT_UNSET\"\n",
                "config key `s`: TB_HOST_UNIT_UNSET is not set",
            ),
            (
                "path = \"p.wasm\"\nenv = [\"TB_HOST_UNIT_UNSET\"]\n",
                "env: TB_HOST_UNIT_UNSET is not set",
            ),
            (
                "path = \"p.wasm\"\n[config]\nt = \"@missing.txt\"\n",
                "missing.txt",
            ),
            ("path = \"p.wasm\"\n[config]\nl = [1]\n", "config key `l`"),
            ("path = [\n", "line 1"),
        ] {
            let file = scratch.write("m.toml", contents);
            let error = Manifest::read(&file).unwrap_err().to_string();
            assert!(error.contains(&file.display().to_string()), "{error}");
            assert!(error.contains(expected), "{contents:?}: {error}");
        }
        let error = Manifest::read(&scratch.0.join("none.toml")).unwrap_err();
        assert!(matches!(error, ManifestError::Read { .. }), "{error}");
    }

    #[test]
    fn config_values_may_come_from_files_which_makes_them_secret() {
        let scratch = Scratch::new("values");
        scratch.write("token", "s3cr3t\r\n\n");
        let mut manifest = Manifest::new("p.wasm");
        for (key, raw) in [
            ("from", "@token"),
            ("plain", "plain"),
            ("handle", "@@handle"),
        ] {
            manifest
                .add_config(key.to_owned(), raw, &scratch.0)
                .unwrap();
        }
        let config: Vec<(&str, Option<&str>)> = manifest.shown_config().collect();
        assert_eq!(
            config,
            [
                ("from", None),
                ("plain", Some("plain")),
                ("handle", Some("@handle"))
            ]
        );
        assert_eq!(
            manifest.config[0].1, "s3cr3t",
            "trailing line breaks trimmed"
        );
        assert!(manifest.add_config("k".into(), "@", &scratch.0).is_err());
        let error = manifest
            .add_config("k".into(), "@/nonexistent/tb-host/token", Path::new(""))
            .unwrap_err();
        assert!(error.contains("/nonexistent/tb-host/token"), "{error}");
    }
}
