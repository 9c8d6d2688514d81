//! `run`'s flags for plugins: which to load, their configuration, what
//! each is granted, their limits and the cache of compiled plugins; each
//! plugin's flags make its manifest, and the manifests the pool's hooks
//! (`plugins::apply`).
//!
//! Configuration and grants are scoped: `NAME:KEY=VALUE` and `NAME:VAR`
//! reach plugin NAME only (see `cli/plugins/names.rs` for how names
//! resolve).

use clap::{ArgMatches, Args, Command, FromArgMatches};

use std::path::PathBuf;

use tb_host::plugin::AllowedHost;
use tb_host::plugin::manifest::is_plugin_name;

/// Which plugins to load, in command-line order, and what they get.
///
/// `--plugin` and `--plugin-manifest` are two flags, which clap's derive
/// keeps in two lists; their order among each other, the order hooks run
/// in, is read from where each value stood on the command line.
#[derive(Debug)]
pub struct PluginArgs {
    /// Every `--plugin` and `--plugin-manifest`, in command-line order.
    pub sources: Vec<PluginSource>,
    /// The flags.
    pub flags: PluginFlags,
}

/// Where a plugin's manifest comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PluginSource {
    /// `--plugin [NAME=]PATH`: a manifest of the flags alone.
    Component(PluginSpec),
    /// `--plugin-manifest FILE`: the manifest in FILE, and the flags
    /// scoped to its name.
    Manifest(PathBuf),
}

impl FromArgMatches for PluginArgs {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut flags = PluginFlags::from_arg_matches(matches)?;
        let at = |id: &str| matches.indices_of(id).into_iter().flatten();
        let components = at("plugins").zip(
            std::mem::take(&mut flags.plugins)
                .into_iter()
                .map(PluginSource::Component),
        );
        let manifests = at("plugin_manifests").zip(
            std::mem::take(&mut flags.plugin_manifests)
                .into_iter()
                .map(PluginSource::Manifest),
        );
        let mut sources: Vec<(usize, PluginSource)> = components.chain(manifests).collect();
        sources.sort_by_key(|(index, _)| *index);
        Ok(PluginArgs {
            sources: sources.into_iter().map(|(_, source)| source).collect(),
            flags,
        })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = PluginArgs::from_arg_matches(matches)?;
        Ok(())
    }
}

impl Args for PluginArgs {
    fn augment_args(command: Command) -> Command {
        PluginFlags::augment_args(command)
    }

    fn augment_args_for_update(command: Command) -> Command {
        PluginFlags::augment_args_for_update(command)
    }
}

/// The plugin flags as clap defines them; [`PluginArgs`] puts `--plugin`
/// and `--plugin-manifest` in order.
#[derive(Debug, Args)]
#[command(next_help_heading = "Plugins")]
pub struct PluginFlags {
    /// A plugin component (.wasm) to load; repeat for more. Sessions and
    /// requests pass through plugins in the order of --plugin and
    /// --plugin-manifest; the first retry decision that is not `defer`
    /// wins. NAME=PATH names it for --plugin-config and --plugin-env;
    /// otherwise its name is the file's stem (`bearer_auth`, or
    /// `bearer-auth`).
    #[arg(long = "plugin", value_name = "[NAME=]PATH", value_parser = parse_plugin)]
    pub plugins: Vec<PluginSpec>,

    /// A plugin from a manifest file (TOML): its component, name,
    /// configuration, which values are secret, grants and limits in one
    /// reviewed file (example below); repeat for more, in order among
    /// --plugin. Its path and @FILE values are relative to the manifest's
    /// directory; `env:VAR` values are tb-host's variable VAR. An unknown
    /// key is an error. Flags scoped to its name (--plugin-config
    /// NAME:KEY=VALUE, --plugin-env NAME:VAR, ...) add to it, and
    /// --plugin-timeout NAME:MS and --plugin-memory NAME:MIB override its
    /// limits.
    #[arg(long = "plugin-manifest", value_name = "FILE")]
    pub plugin_manifests: Vec<PathBuf>,

    /// Configuration for plugin NAME only, which it reads as KEY; repeat
    /// for more. NAME: may be left out when one plugin is loaded. A VALUE
    /// of @FILE is the file's contents, trailing newline trimmed (@@ for a
    /// value that starts with @), and secret. Secret values (of keys such
    /// as `token`, `client-secret`, `api-key`, or read from a file) are
    /// hidden from every log line and message; the others are shown.
    #[arg(
        long = "plugin-config",
        value_name = "[NAME:]KEY=VALUE",
        value_parser = parse_scoped_key_value
    )]
    pub plugin_config: Vec<Scoped<(String, String)>>,

    /// Let plugin NAME read the environment variable VAR, with its value in
    /// tb-host's environment now; repeat for more. Plugins see no
    /// environment variables otherwise. NAME: may be left out when one
    /// plugin is loaded.
    #[arg(long = "plugin-env", value_name = "[NAME:]VAR", value_parser = parse_scoped_var)]
    pub plugin_env: Vec<Scoped<String>>,

    /// Let plugin NAME send HTTP requests of its own (host.fetch, for token
    /// endpoints) to an origin, and send the jobs it authorizes there (and
    /// authorize redirects that lead there); repeat for more. The origin is
    /// scheme, host and port: `https://idp.example` (port 443 only),
    /// `idp.example:8443` (http or https on 8443), `idp.example` (http on
    /// 80, https on 443), `[::1]:8080`. Only a grant that names a scheme
    /// lets a plugin change a job's scheme. Otherwise a plugin fetches
    /// nothing and may change a job's path and query but not its scheme,
    /// host or port. NAME: may be left out when one plugin is loaded.
    #[arg(long = "plugin-allow-host", value_name = "[NAME:][SCHEME://]HOST[:PORT]", value_parser = parse_scoped_host)]
    pub plugin_allow_host: Vec<Scoped<AllowedHost>>,

    /// Keep compiled plugins in DIR, so later runs skip compiling them
    /// [default: $XDG_CACHE_HOME/tb-host or ~/.cache/tb-host]. The cache
    /// holds code tb-host runs, so DIR (made mode 0700) must be yours and
    /// writable by no one else, or the run is refused; a default directory
    /// that is not gets a warning and no cache.
    #[arg(long, value_name = "DIR")]
    pub plugin_cache: Option<PathBuf>,

    /// Compile every plugin afresh; read and write no cache.
    #[arg(long, conflicts_with = "plugin_cache")]
    pub no_plugin_cache: bool,

    /// Longest time one plugin call may run before it is stopped, in
    /// milliseconds [default: 100]. NAME:MS sets it for plugin NAME only;
    /// a bare MS for every plugin without its own.
    #[arg(long, value_name = "[NAME:]MS", value_parser = parse_scoped_count)]
    pub plugin_timeout: Vec<Scoped<u64>>,

    /// Most memory one plugin instance may use, in MiB [default: 64].
    /// NAME:MIB sets it for plugin NAME only; a bare MIB for every plugin
    /// without its own.
    #[arg(long, value_name = "[NAME:]MIB", value_parser = parse_scoped_count)]
    pub plugin_memory: Vec<Scoped<u64>>,

    /// Most memory all plugin instances of the run may use together, in
    /// MiB: a plugin within its --plugin-memory in each of a thousand
    /// workers still cannot take the host's memory. It counts what
    /// instances grow their memory by (what they allocate), not the size a
    /// plugin's memory starts at. Past it, the call that wanted more fails
    /// its request (kind `plugin`) and the run goes on.
    #[arg(long, value_name = "MIB", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..))]
    pub plugin_memory_total: u64,
}

/// A `--plugin` value: the component file, and the name given to it with
/// `NAME=PATH`, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginSpec {
    /// The name given on the command line.
    pub alias: Option<String>,
    /// The component file.
    pub path: PathBuf,
}

/// A flag value meant for one plugin: `NAME:ITEM`, or `ITEM` alone, which
/// is valid only when exactly one plugin is loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scoped<T> {
    /// The plugin's name, if given.
    pub plugin: Option<String>,
    /// What the plugin gets.
    pub item: T,
}

/// `[NAME=]PATH`. A path that itself contains `=` after a plain name can
/// be given as `./NAME=...`.
fn parse_plugin(text: &str) -> Result<PluginSpec, String> {
    let (alias, path) = match text.split_once('=') {
        Some((name, path)) if is_plugin_name(name) => (Some(name.to_owned()), path),
        _ => (None, text),
    };
    if path.is_empty() {
        return Err("expected [NAME=]PATH with a non-empty PATH".to_owned());
    }
    Ok(PluginSpec {
        alias,
        path: PathBuf::from(path),
    })
}

/// Splits `NAME:REST` off `text`, or gives `text` back unscoped when it has
/// no `:`.
fn split_scope(text: &str) -> Result<(Option<String>, &str), String> {
    match text.split_once(':') {
        Some((name, rest)) if is_plugin_name(name.trim()) => {
            Ok((Some(name.trim().to_owned()), rest))
        }
        Some(_) => Err("NAME before `:` must be letters, digits, `-` or `_`".to_owned()),
        None => Ok((None, text)),
    }
}

/// `[NAME:]KEY=VALUE`. The value may be a secret: errors never echo it.
fn parse_scoped_key_value(text: &str) -> Result<Scoped<(String, String)>, String> {
    let (scoped_key, value) = text
        .split_once('=')
        .ok_or("expected [NAME:]KEY=VALUE with a non-empty KEY")?;
    let (plugin, key) = split_scope(scoped_key)?;
    let item = parse_key_value(&format!("{key}={value}"))?;
    Ok(Scoped { plugin, item })
}

/// `[NAME:]VAR`.
/// `[NAME:]N` with N a whole number of at least 1.
fn parse_scoped_count(text: &str) -> Result<Scoped<u64>, String> {
    let (plugin, count) = split_scope(text)?;
    match count.trim().parse::<u64>() {
        Ok(count) if count > 0 => Ok(Scoped {
            plugin,
            item: count,
        }),
        _ => Err(format!(
            "expected [NAME:]N with N a whole number of at least 1, got {text:?}"
        )),
    }
}

fn parse_scoped_host(text: &str) -> Result<Scoped<AllowedHost>, String> {
    // A grant alone starts with its scheme or an IPv6 literal, or is
    // HOST:PORT, one colon with digits after it; otherwise the part before
    // the first colon names the plugin.
    let unscoped = ["http://", "https://", "["]
        .iter()
        .any(|start| text.trim_start().starts_with(start));
    let (plugin, host) = match text.split_once(':') {
        _ if unscoped => (None, text),
        Some((_, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
            (None, text)
        }
        Some((name, host)) => (Some(name.trim().to_owned()), host),
        None => (None, text),
    };
    Ok(Scoped {
        plugin,
        item: AllowedHost::parse(host)?,
    })
}

fn parse_scoped_var(text: &str) -> Result<Scoped<String>, String> {
    let (plugin, var) = split_scope(text)?;
    let var = var.trim();
    if var.is_empty() || var.contains('=') || var.contains('\0') {
        return Err("expected [NAME:]VAR with a variable name, without `=`".to_owned());
    }
    Ok(Scoped {
        plugin,
        item: var.to_owned(),
    })
}

/// `KEY=VALUE`, for flags of a single plugin.
pub fn parse_key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_owned(), value.to_owned()))
        }
        // The value may be a secret: never echo it.
        _ => Err("expected KEY=VALUE with a non-empty KEY".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scoped<T>(plugin: Option<&str>, item: T) -> Scoped<T> {
        Scoped {
            plugin: plugin.map(str::to_owned),
            item,
        }
    }

    fn pair(key: &str, value: &str) -> (String, String) {
        (key.to_owned(), value.to_owned())
    }

    #[test]
    fn a_plugin_may_be_given_a_name() {
        let spec = parse_plugin("auth=plugins/bearer_auth.wasm").unwrap();
        assert_eq!(spec.alias.as_deref(), Some("auth"));
        assert_eq!(spec.path, PathBuf::from("plugins/bearer_auth.wasm"));
        let spec = parse_plugin("./odd=name.wasm").unwrap();
        assert_eq!(spec.alias, None, "not a plain name before `=`");
        assert_eq!(spec.path, PathBuf::from("./odd=name.wasm"));
        assert!(parse_plugin("auth=").is_err());
    }

    #[test]
    fn config_may_be_scoped_and_never_echoes_the_value() {
        assert_eq!(
            parse_scoped_key_value("bearer_auth:token=a:b=c").unwrap(),
            scoped(Some("bearer_auth"), pair("token", "a:b=c"))
        );
        assert_eq!(
            parse_scoped_key_value("token=x").unwrap(),
            scoped(None, pair("token", "x"))
        );
        assert_eq!(
            parse_scoped_key_value("header.X-A=@/run/secret").unwrap(),
            scoped(None, pair("header.X-A", "@/run/secret"))
        );
        for bad in ["auth:=s3cr3t", "=s3cr3t", "bad name:key=s3cr3t", "s3cr3t"] {
            let error = parse_scoped_key_value(bad).unwrap_err();
            assert!(!error.contains("s3cr3t"), "{bad}: {error}");
        }
    }

    #[test]
    fn env_grants_may_be_scoped() {
        assert_eq!(
            parse_scoped_var("probe:TB_PROBE").unwrap(),
            scoped(Some("probe"), "TB_PROBE".to_owned())
        );
        assert_eq!(
            parse_scoped_var("HOME").unwrap(),
            scoped(None, "HOME".to_owned())
        );
        assert!(parse_scoped_var("probe:").is_err());
        assert!(parse_scoped_var("probe:A=B").is_err());
    }

    #[test]
    fn host_grants_may_be_scoped_and_name_a_scheme() {
        let grant = |text: &str| AllowedHost::parse(text).unwrap();
        for (text, plugin, host) in [
            ("127.0.0.1:80", None, "127.0.0.1:80"),
            ("https://idp.example", None, "https://idp.example"),
            ("[::1]:8080", None, "[::1]:8080"),
            ("oauth:idp.example:443", Some("oauth"), "idp.example:443"),
            (
                "oauth:https://idp.example",
                Some("oauth"),
                "https://idp.example",
            ),
            ("oauth:[::1]", Some("oauth"), "[::1]"),
        ] {
            assert_eq!(
                parse_scoped_host(text).unwrap(),
                scoped(plugin, grant(host)),
                "{text}"
            );
        }
    }
}
