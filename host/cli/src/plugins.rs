//! Plugin set-up for `tb-host run`: one runtime with the operator's limits
//! and cache, and every plugin loaded with the configuration and grants
//! scoped to it, and to no other.
//!
//! `--plugin-config NAME:KEY=VALUE` and `--plugin-env NAME:VAR` reach the
//! plugin named NAME ([`names`]); a value `@FILE` is read from the file.
//! Every mistake here is a set-up error (exit status 2) that names the flag,
//! the plugin and the file, never a value: values may be secrets.

mod names;

use std::sync::Arc;
use std::time::Duration;

use tb_host::hooks::{HookFactory, HookName};
use tb_host::plugin::{Grants, PluginCache, PluginLimits, PluginRuntime, Secrets};

use super::args::{PluginArgs, Scoped};
use super::{SetupError, logging};
use names::PluginNames;

/// Loads every plugin of `args`, in order, each with its own configuration
/// and grants.
pub fn load(args: &PluginArgs) -> anyhow::Result<Vec<Arc<dyn HookFactory>>> {
    let names = PluginNames::of(&args.plugins);
    let mut configs = vec![Vec::new(); args.plugins.len()];
    for Scoped {
        plugin,
        item: (key, value),
    } in &args.plugin_config
    {
        // The value may be a secret: messages show the form instead.
        let shown = format!("{key}=VALUE");
        let index = names.resolve("--plugin-config", plugin.as_deref(), &shown)?;
        let value = config_value(value).map_err(|why| {
            SetupError::new(format!(
                "--plugin-config {}:{key}: {why}",
                names.primary(index)
            ))
        })?;
        configs[index].push((key.clone(), value));
    }
    let mut grants = vec![Grants::default(); args.plugins.len()];
    for Scoped { plugin, item: var } in &args.plugin_env {
        let index = names.resolve("--plugin-env", plugin.as_deref(), var)?;
        let value = std::env::var(var).map_err(|why| {
            SetupError::new(format!(
                "--plugin-env {}:{var}: {var} is {} in tb-host's environment",
                names.primary(index),
                match why {
                    std::env::VarError::NotPresent => "not set",
                    std::env::VarError::NotUnicode(_) => "not valid UTF-8",
                }
            ))
        })?;
        grants[index] = std::mem::take(&mut grants[index]).env(var, value);
    }
    for Scoped { plugin, item: host } in &args.plugin_allow_host {
        let index = names.resolve("--plugin-allow-host", plugin.as_deref(), &host.to_string())?;
        grants[index] = std::mem::take(&mut grants[index]).allow_host(host.clone());
    }
    own_limits(args, &names, limits(args), &mut grants)?;
    logging::hide_in_logs(Secrets::of_plugins(
        configs.iter().map(Vec::as_slice).zip(&grants),
    ));
    if args.plugins.is_empty() {
        return Ok(Vec::new());
    }
    let runtime = PluginRuntime::with_cache(limits(args), cache(args))?;
    args.plugins
        .iter()
        .zip(configs.into_iter().zip(grants))
        .map(|(spec, (config, grants))| {
            let keys: Vec<&str> = config.iter().map(|(key, _)| key.as_str()).collect();
            let keys = keys.join(",");
            let env: Vec<&str> = grants.env_names().collect();
            let env = env.join(",");
            let plugin = runtime
                .load(&spec.path, config, grants)
                .map_err(|e| SetupError::new(e.to_string()))?;
            tracing::info!(
                plugin = plugin.name(),
                version = plugin.version(),
                hooks = HookName::list(plugin.hooks()),
                config = keys,
                env,
                "loaded {}",
                spec.path.display()
            );
            Ok(Arc::new(plugin) as Arc<dyn HookFactory>)
        })
        .collect()
}

/// A `--plugin-config` VALUE as the plugin gets it: `@FILE` is the file's
/// contents with trailing line breaks trimmed, `@@TEXT` is `@TEXT`, and
/// anything else is itself. The error names the file, never its contents.
pub fn config_value(raw: &str) -> Result<String, String> {
    if let Some(literal) = raw.strip_prefix("@@") {
        return Ok(format!("@{literal}"));
    }
    let Some(file) = raw.strip_prefix('@') else {
        return Ok(raw.to_owned());
    };
    if file.is_empty() {
        return Err("@ must be followed by a file name".to_owned());
    }
    let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read {file}: {e}"))?;
    Ok(text.trim_end_matches(['\n', '\r']).to_owned())
}

/// What every plugin instance may use.
/// The limits of every plugin without its own: the last bare
/// `--plugin-timeout` and `--plugin-memory`, else 100 ms and 64 MiB.
fn limits(args: &PluginArgs) -> PluginLimits {
    let bare = |given: &[Scoped<u64>]| {
        given
            .iter()
            .rev()
            .find(|scoped| scoped.plugin.is_none())
            .map(|scoped| scoped.item)
    };
    let defaults = PluginLimits::default();
    PluginLimits {
        timeout: bare(&args.plugin_timeout).map_or(defaults.timeout, Duration::from_millis),
        memory: bare(&args.plugin_memory).map_or(defaults.memory, |mib| {
            usize::try_from(mib << 20).unwrap_or(usize::MAX)
        }),
    }
}

/// Gives each plugin named by `--plugin-timeout NAME:MS` or
/// `--plugin-memory NAME:MIB` its own limits, starting from `base`.
fn own_limits(
    args: &PluginArgs,
    names: &PluginNames,
    base: PluginLimits,
    grants: &mut [Grants],
) -> Result<(), SetupError> {
    let mut own: Vec<Option<PluginLimits>> = vec![None; grants.len()];
    for (flag, given) in [
        ("--plugin-timeout", &args.plugin_timeout),
        ("--plugin-memory", &args.plugin_memory),
    ] {
        for Scoped { plugin, item } in given {
            let Some(name) = plugin.as_deref() else {
                continue;
            };
            let index = names.resolve(flag, Some(name), &item.to_string())?;
            let limits = own[index].get_or_insert(base);
            if flag == "--plugin-timeout" {
                limits.timeout = Duration::from_millis(*item);
            } else {
                limits.memory = usize::try_from(item << 20).unwrap_or(usize::MAX);
            }
        }
    }
    for (grants, own) in grants.iter_mut().zip(own) {
        if let Some(limits) = own {
            *grants = std::mem::take(grants).limits(limits);
        }
    }
    Ok(())
}

/// The cache of compiled plugins: `--plugin-cache`, else the default
/// directory, unless `--no-plugin-cache`.
fn cache(args: &PluginArgs) -> Option<PluginCache> {
    if args.no_plugin_cache {
        return None;
    }
    let dir = args.plugin_cache.clone().or_else(PluginCache::default_dir);
    if dir.is_none() {
        tracing::info!("no plugin cache: neither XDG_CACHE_HOME nor HOME is set");
    }
    dir.map(PluginCache::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file of its own in the temporary directory, removed when dropped.
    struct TempFile(std::path::PathBuf);

    impl TempFile {
        fn with(name: &str, contents: &str) -> TempFile {
            let path = std::env::temp_dir().join(format!(
                "tb-host-config-value-{}-{name}",
                std::process::id()
            ));
            std::fs::write(&path, contents).unwrap();
            TempFile(path)
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    #[test]
    fn values_may_come_from_files() {
        let file = TempFile::with("token", "s3cr3t\r\n\n");
        let raw = format!("@{}", file.0.display());
        assert_eq!(config_value(&raw).unwrap(), "s3cr3t");
        assert_eq!(config_value("plain").unwrap(), "plain");
        assert_eq!(config_value("@@handle").unwrap(), "@handle");
        assert!(config_value("@").is_err());
    }

    #[test]
    fn a_missing_file_is_named() {
        let error = config_value("@/nonexistent/tb-host/token").unwrap_err();
        assert!(error.contains("/nonexistent/tb-host/token"), "{error}");
    }
}
