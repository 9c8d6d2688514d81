//! Plugin set-up for `tb-host run`: the manifest of every plugin, made of
//! its `--plugin-manifest` file or `--plugin` and the flags scoped to it,
//! and every plugin loaded from its manifest by one runtime with the
//! operator's cache.
//!
//! `--plugin-config NAME:KEY=VALUE` and `--plugin-env NAME:VAR` reach the
//! plugin named NAME ([`names`]); a value `@FILE` is read from the file.
//! Every mistake here is a set-up error (exit status 2) that names the flag,
//! the plugin and the file, never a value: values may be secrets.

mod names;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tb_host::PoolBuilder;
use tb_host::hooks::{HookFactory, HookName};
use tb_host::plugin::manifest::{self, variable};
use tb_host::plugin::{CacheError, Manifest, PluginCache, PluginRuntime};

use super::SetupError;
use super::args::{PluginArgs, PluginFlags, PluginSource, Scoped};
use super::logging::Hidden;
use names::PluginNames;

/// Applies `args` to `builder`: every plugin loaded, in order, each from
/// its own manifest ([`manifests`]), and added to the pool as a hook; the
/// manifests' secrets are put in `hidden` first.
pub fn apply(
    builder: PoolBuilder,
    args: &PluginArgs,
    hidden: &Hidden,
) -> anyhow::Result<PoolBuilder> {
    let hooks = load(args, hidden)?;
    Ok(hooks.into_iter().fold(builder, PoolBuilder::shared_hook))
}

/// Loads every plugin of `args`, in order, each from its own manifest.
fn load(args: &PluginArgs, hidden: &Hidden) -> anyhow::Result<Vec<Arc<dyn HookFactory>>> {
    let manifests = manifests(args)?;
    hidden.hide(&manifests);
    if manifests.is_empty() {
        return Ok(Vec::new());
    }
    let runtime = PluginRuntime::with_cache(cache(&args.flags)?)?
        .memory_total(manifest::mib(args.flags.plugin_memory_total));
    manifests
        .into_iter()
        .map(|manifest| {
            let keys: Vec<&str> = manifest
                .config
                .iter()
                .map(|(key, _)| key.as_str())
                .collect();
            let keys = keys.join(",");
            let env: Vec<&str> = manifest.env.iter().map(|(name, _)| name.as_str()).collect();
            let env = env.join(",");
            let path = manifest.path.clone();
            let plugin = runtime
                .load(manifest)
                .map_err(|e| SetupError::new(e.to_string()))?;
            tracing::info!(
                plugin = plugin.name(),
                version = plugin.version(),
                hooks = HookName::list(plugin.hooks()),
                config = keys,
                env,
                "loaded {}",
                path.display()
            );
            Ok(Arc::new(plugin) as Arc<dyn HookFactory>)
        })
        .collect()
}

/// The manifest of every plugin of `args`, in command-line order: each
/// `--plugin-manifest` file or `--plugin`, with the configuration, grants
/// and limits of the flags scoped to it added.
fn manifests(args: &PluginArgs) -> Result<Vec<Manifest>, SetupError> {
    let mut manifests = args
        .sources
        .iter()
        .map(|source| match source {
            PluginSource::Component(spec) => Ok(Manifest {
                name: spec.alias.clone(),
                ..Manifest::new(&spec.path)
            }),
            PluginSource::Manifest(file) => {
                Manifest::read(file).map_err(|e| SetupError::new(e.to_string()))
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    let names = PluginNames::of(&manifests);
    let flags = &args.flags;
    for Scoped {
        plugin,
        item: (key, raw),
    } in &flags.plugin_config
    {
        let shown = format!("{key}=VALUE");
        let index = names.resolve("--plugin-config", plugin.as_deref(), &shown)?;
        add_config(&mut manifests[index], key, raw).map_err(|why| {
            SetupError::new(format!(
                "--plugin-config {}:{key}: {why}",
                names.primary(index)
            ))
        })?;
    }
    for Scoped { plugin, item: var } in &flags.plugin_env {
        let index = names.resolve("--plugin-env", plugin.as_deref(), var)?;
        let value = variable(var).map_err(|why| {
            SetupError::new(format!(
                "--plugin-env {}:{var}: {why}",
                names.primary(index)
            ))
        })?;
        manifests[index].env.push((var.clone(), value));
    }
    for Scoped { plugin, item: host } in &flags.plugin_allow_host {
        let index = names.resolve("--plugin-allow-host", plugin.as_deref(), &host.to_string())?;
        manifests[index].allowed_hosts.push(host.clone());
    }
    set_limit(
        "--plugin-timeout",
        &flags.plugin_timeout,
        &names,
        &mut manifests,
        |m| &mut m.timeout,
        Duration::from_millis,
    )?;
    set_limit(
        "--plugin-memory",
        &flags.plugin_memory,
        &names,
        &mut manifests,
        |m| &mut m.memory,
        manifest::mib,
    )?;
    Ok(manifests)
}

/// Adds a `--plugin-config` KEY=VALUE to `manifest`: a VALUE of `@FILE` is
/// the file's contents (relative to the working directory), and secret.
pub fn add_config(manifest: &mut Manifest, key: &str, raw: &str) -> Result<(), String> {
    manifest.add_config(key.to_owned(), raw, Path::new(""))
}

/// Sets one limit of every manifest from `--plugin-timeout` or
/// `--plugin-memory` (`flag`, given as `given`): `NAME:N` sets plugin
/// NAME's, over its manifest's; the last bare `N` sets that of every plugin
/// whose manifest sets none. `limit` is the manifest's field, and `value`
/// makes N its value.
fn set_limit<T: Copy>(
    flag: &str,
    given: &[Scoped<u64>],
    names: &PluginNames,
    manifests: &mut [Manifest],
    limit: fn(&mut Manifest) -> &mut Option<T>,
    value: fn(u64) -> T,
) -> Result<(), SetupError> {
    let mut bare = None;
    for Scoped { plugin, item } in given {
        match plugin.as_deref() {
            None => bare = Some(value(*item)),
            Some(name) => {
                let index = names.resolve(flag, Some(name), &item.to_string())?;
                *limit(&mut manifests[index]) = Some(value(*item));
            }
        }
    }
    for manifest in manifests {
        let own = limit(manifest);
        *own = own.or(bare);
    }
    Ok(())
}

/// The cache of compiled plugins: `--plugin-cache`, else the default
/// directory, unless `--no-plugin-cache`.
///
/// A directory someone else could write in ([`CacheError::NotPrivate`]) is
/// refused: a set-up error for `--plugin-cache DIR`, which the operator
/// chose and should hear about before anything runs; for the default
/// directory, which the operator never named, a warning and a run without
/// cache, which is as safe and only slower. A directory that cannot be
/// made (a read-only home) is a warning either way: an unavailable cache
/// never fails a run.
fn cache(args: &PluginFlags) -> Result<Option<PluginCache>, SetupError> {
    if args.no_plugin_cache {
        return Ok(None);
    }
    let (dir, explicit) = match &args.plugin_cache {
        Some(dir) => (dir.clone(), true),
        None => match PluginCache::default_dir() {
            Some(dir) => (dir, false),
            None => {
                tracing::info!("no plugin cache: neither XDG_CACHE_HOME nor HOME is set");
                return Ok(None);
            }
        },
    };
    match PluginCache::open(dir) {
        Ok(cache) => Ok(Some(cache)),
        Err(error @ CacheError::NotPrivate { .. }) if explicit => {
            Err(SetupError::new(format!("--plugin-cache: {error}")))
        }
        Err(error) => {
            tracing::warn!("{error}; compiling every plugin afresh");
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::flag_tests::run_args;
    use tb_host::plugin::AllowedHost;

    fn pair(key: &str, value: &str) -> (String, String) {
        (key.to_owned(), value.to_owned())
    }

    #[test]
    fn plugin_flags_reach_the_manifests_in_command_line_order() {
        let dir = std::env::temp_dir().join(format!("tb-plugin-flags-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // Also the --plugin-cache below, which must be the user's alone.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        let manifest = dir.join("idp.toml");
        std::fs::write(
            &manifest,
            "name = \"idp\"\npath = \"idp.wasm\"\ntimeout_ms = 200\n[config]\nscope = \"read\"\n",
        )
        .unwrap();
        let path = std::env::var("PATH").expect("PATH is set");
        let args = run_args(&[
            "--plugin",
            "auth=/plugins/bearer_auth.wasm",
            "--plugin-manifest",
            manifest.to_str().unwrap(),
            "--plugin",
            "retry_backoff.wasm",
            "--plugin-config",
            "auth:token=s3cr3t",
            "--plugin-config",
            "retry-backoff:base-ms=50",
            "--plugin-config",
            "idp:audience=api",
            "--plugin-env",
            "auth:PATH",
            "--plugin-allow-host",
            "idp:https://idp.example",
            "--plugin-timeout",
            "250",
            "--plugin-timeout",
            "auth:80",
            "--plugin-memory",
            "retry_backoff:32",
            "--plugin-cache",
            dir.to_str().unwrap(),
            "urls.txt",
        ]);
        let manifests = manifests(&args.plugins).unwrap();
        let [auth, idp, retry] = &manifests[..] else {
            panic!("three plugins: {manifests:?}");
        };

        assert_eq!(auth.name.as_deref(), Some("auth"));
        assert_eq!(auth.path, PathBuf::from("/plugins/bearer_auth.wasm"));
        assert_eq!(auth.config, [pair("token", "s3cr3t")]);
        assert_eq!(auth.env, [pair("PATH", &path)]);
        assert!(auth.allowed_hosts.is_empty());
        assert_eq!(auth.timeout, Some(Duration::from_millis(80)));
        assert_eq!(auth.memory, None);

        assert_eq!(idp.name.as_deref(), Some("idp"));
        assert_eq!(idp.path, dir.join("idp.wasm"));
        assert_eq!(idp.config, [pair("scope", "read"), pair("audience", "api")]);
        assert_eq!(
            idp.allowed_hosts,
            [AllowedHost::parse("https://idp.example").unwrap()]
        );
        assert_eq!(
            idp.timeout,
            Some(Duration::from_millis(200)),
            "the manifest's own, over a bare --plugin-timeout"
        );

        assert_eq!(retry.name, None);
        assert_eq!(retry.path, PathBuf::from("retry_backoff.wasm"));
        assert_eq!(retry.config, [pair("base-ms", "50")]);
        assert!(retry.env.is_empty());
        assert_eq!(retry.timeout, Some(Duration::from_millis(250)));
        assert_eq!(retry.memory, Some(manifest::mib(32)));

        let cache = cache(&args.plugins.flags).unwrap().expect("--plugin-cache");
        assert_eq!(cache.dir(), dir);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn no_plugin_cache_means_none() {
        let args = run_args(&["--no-plugin-cache", "--plugin", "a.wasm"]);
        assert!(cache(&args.plugins.flags).unwrap().is_none());
        assert!(manifests(&run_args(&[]).plugins).unwrap().is_empty());
    }
}
