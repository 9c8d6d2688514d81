//! The names a plugin goes by on the command line, and which plugin a
//! scoped flag (`--plugin-config NAME:KEY=VALUE`, `--plugin-env NAME:VAR`)
//! is for.
//!
//! A plugin given as `--plugin NAME=PATH`, or by a manifest with a `name`,
//! is NAME and nothing else. Any other plugin is its component file's stem (`bearer_auth` for `bearer_auth.wasm`)
//! and that stem with `-` for `_` (`bearer-auth`): cargo names a component
//! after its package with `_` for `-`, and guest-sdk plugins describe
//! themselves by their package name, so the second form is the name the
//! plugin gives itself. So the same file can be loaded twice, once under a
//! name of its own. A name that fits several plugins is refused, as is one
//! that fits none.

use crate::SetupError;
use tb_host::plugin::Manifest;

/// The names of the plugins of one run, in command-line order.
pub struct PluginNames {
    plugins: Vec<Names>,
}

/// The names of one plugin: the name its manifest gives it, or the
/// component file's stem and its form with `-` for `_` if different. The first
/// is the one shown in messages.
struct Names(Vec<String>);

impl PluginNames {
    /// The names of the plugins of `manifests`.
    pub fn of(manifests: &[Manifest]) -> PluginNames {
        let plugins = manifests
            .iter()
            .map(|manifest| {
                if let Some(name) = &manifest.name {
                    return Names(vec![name.clone()]);
                }
                let stem = manifest
                    .path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let dashed = stem.replace('_', "-");
                let mut names = vec![stem];
                if dashed != names[0] {
                    names.push(dashed);
                }
                Names(names)
            })
            .collect();
        PluginNames { plugins }
    }

    /// The name of plugin `index` in messages.
    pub fn primary(&self, index: usize) -> &str {
        &self.plugins[index].0[0]
    }

    /// The index of the plugin a `flag` given as `[scope:]item` is for.
    /// `item` is shown in errors as the form to type (`KEY=VALUE`, with
    /// `VALUE` for the value given), so it must not hold a secret.
    pub fn resolve(
        &self,
        flag: &str,
        scope: Option<&str>,
        item: &str,
    ) -> Result<usize, SetupError> {
        let Some(name) = scope else {
            return match self.plugins.len() {
                1 => Ok(0),
                0 => Err(SetupError::new(format!(
                    "{flag} {item}: no plugin is loaded; load one with --plugin PATH"
                ))),
                n => Err(SetupError::new(format!(
                    "{flag} {item}: {n} plugins are loaded, so say which one it is for: \
                     {flag} NAME:{item}, where NAME is one of {}",
                    self.listing()
                ))),
            };
        };
        let found: Vec<usize> = (0..self.plugins.len())
            .filter(|&index| self.plugins[index].0.iter().any(|known| known == name))
            .collect();
        match found[..] {
            [index] => Ok(index),
            [] => Err(SetupError::new(format!(
                "{flag} {name}:{item}: no plugin is named `{name}`; {}",
                if self.plugins.is_empty() {
                    "no plugin is loaded".to_owned()
                } else {
                    format!("the plugins loaded are {}", self.listing())
                }
            ))),
            _ => Err(SetupError::new(format!(
                "{flag} {name}:{item}: `{name}` names {} plugins; give each a name \
                 of its own with --plugin NAME=PATH",
                found.len()
            ))),
        }
    }

    /// Every plugin's names, for messages: `a (or b), c`.
    fn listing(&self) -> String {
        let all: Vec<String> = self
            .plugins
            .iter()
            .map(|Names(names)| match &names[..] {
                [name, other] => format!("{name} (or {other})"),
                _ => names.concat(),
            })
            .collect();
        all.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(plugins: &[(Option<&str>, &str)]) -> PluginNames {
        let manifests: Vec<Manifest> = plugins
            .iter()
            .map(|(name, path)| Manifest {
                name: name.map(str::to_owned),
                ..Manifest::new(path)
            })
            .collect();
        PluginNames::of(&manifests)
    }

    #[test]
    fn stems_dashed_stems_and_aliases_name_plugins() {
        let names = names(&[
            (None, "p/bearer_auth.wasm"),
            (Some("extra"), "p/session_headers.wasm"),
        ]);
        let resolve = |scope| names.resolve("--plugin-config", scope, "k=VALUE");
        assert_eq!(resolve(Some("bearer_auth")).unwrap(), 0);
        assert_eq!(resolve(Some("bearer-auth")).unwrap(), 0);
        assert_eq!(resolve(Some("extra")).unwrap(), 1);
        assert!(resolve(Some("session_headers")).is_err(), "renamed");
        assert_eq!(names.primary(1), "extra");
    }

    #[test]
    fn a_bare_item_needs_exactly_one_plugin() {
        let one = names(&[(None, "bearer_auth.wasm")]);
        assert_eq!(one.resolve("--plugin-env", None, "VAR").unwrap(), 0);
        let two = names(&[(None, "a.wasm"), (None, "b.wasm")]);
        let error = two.resolve("--plugin-env", None, "VAR").unwrap_err();
        assert!(
            error.to_string().contains("--plugin-env NAME:VAR"),
            "{error}"
        );
        assert!(error.to_string().contains("a, b"), "{error}");
        let none = names(&[]);
        assert!(none.resolve("--plugin-env", None, "VAR").is_err());
    }

    #[test]
    fn unknown_and_ambiguous_names_are_refused() {
        let names = names(&[
            (None, "x/probe.wasm"),
            (None, "y/probe.wasm"),
            (Some("first"), "z/other.wasm"),
        ]);
        let error = names
            .resolve("--plugin-env", Some("nope"), "V")
            .unwrap_err();
        let error = error.to_string();
        assert!(error.contains("`nope`"), "{error}");
        assert!(error.contains("probe, probe, first"), "{error}");
        let error = names
            .resolve("--plugin-env", Some("probe"), "V")
            .unwrap_err();
        assert!(error.to_string().contains("names 2 plugins"), "{error}");
    }

    #[test]
    fn a_file_loaded_twice_is_told_apart_by_a_name() {
        let names = names(&[
            (None, "x/env_probe.wasm"),
            (Some("other"), "x/env_probe.wasm"),
        ]);
        assert_eq!(
            names
                .resolve("--plugin-env", Some("env_probe"), "V")
                .unwrap(),
            0
        );
        assert_eq!(
            names.resolve("--plugin-env", Some("other"), "V").unwrap(),
            1
        );
    }
}
