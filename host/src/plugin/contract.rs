//! The contract this host speaks, `toolbelt:plugin@0.4.0` from
//! `wit/plugin.wit`, and what a compiled component says it was built for.
//!
//! A component names the interfaces it imports and exports with their
//! package version (`toolbelt:plugin/hooks@0.2.0`). Reading that version
//! before linking lets the host refuse a plugin built for another version
//! of the contract with a message that names both versions, instead of a
//! linker error about a missing export.

use std::path::Path;

use wasmtime::Engine;
use wasmtime::component::Component;

use super::PluginError;

/// The WIT package of the plugin contract.
pub const WIT_PACKAGE: &str = "toolbelt:plugin";

/// The version of [`WIT_PACKAGE`] this host speaks: the one declared in
/// `wit/plugin.wit` (a unit test keeps them equal).
pub const WIT_VERSION: &str = "0.4.0";

/// The names of the interfaces a component imports and exports, such as
/// `wasi:cli/environment@0.2.6` or `toolbelt:plugin/hooks@0.2.0`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interfaces {
    /// What the component needs from the host, in its own order.
    pub imports: Vec<String>,
    /// What the component offers the host, in its own order.
    pub exports: Vec<String>,
}

impl Interfaces {
    /// The names `component` imports and exports.
    pub fn of(engine: &Engine, component: &Component) -> Interfaces {
        let ty = component.component_type();
        Interfaces {
            imports: ty
                .imports(engine)
                .map(|(name, _)| name.to_owned())
                .collect(),
            exports: ty
                .exports(engine)
                .map(|(name, _)| name.to_owned())
                .collect(),
        }
    }

    /// The version of [`WIT_PACKAGE`] the component was built for: the
    /// version of the first contract interface it exports or, failing that,
    /// imports. `Some("")` if it names the package without a version;
    /// `None` if it names no interface of the contract at all.
    pub fn wit_version(&self) -> Option<&str> {
        self.exports
            .iter()
            .chain(&self.imports)
            .find_map(|name| contract_version(name))
    }

    /// Whether the component exports the contract's `hooks` interface (at
    /// any version: [`Interfaces::check`] refuses another version first).
    pub fn exports_hooks(&self) -> bool {
        let hooks = format!("{WIT_PACKAGE}/hooks");
        self.exports
            .iter()
            .any(|name| name == &hooks || name.starts_with(&format!("{hooks}@")))
    }

    /// What the component exports, for a message: `nothing`, or the
    /// names quoted and separated by commas.
    pub(crate) fn exports_text(&self) -> String {
        if self.exports.is_empty() {
            return "nothing".to_owned();
        }
        let names: Vec<String> = self
            .exports
            .iter()
            .map(|name| format!("`{name}`"))
            .collect();
        format!("only {}", names.join(", "))
    }

    /// The import a linker error is about, if it names one of this
    /// component's imports: wasmtime says "component imports instance
    /// `NAME`, but a matching implementation was not found". The host then
    /// names that import to the operator instead of the linker's detail
    /// alone.
    pub(crate) fn unprovided(&self, link_error: &str) -> Option<&str> {
        self.imports
            .iter()
            .find(|name| link_error.contains(&format!("`{name}`")))
            .map(String::as_str)
    }

    /// Refuses a component built for another version of the contract,
    /// saying which version it has and which this host speaks. A component
    /// that names no contract interface passes here and fails to link.
    pub(crate) fn check(&self, path: &Path) -> Result<(), PluginError> {
        match self
            .exports
            .iter()
            .chain(&self.imports)
            .filter_map(|name| contract_version(name))
            .find(|version| *version != WIT_VERSION)
        {
            Some(found) => Err(PluginError::Version {
                path: path.to_owned(),
                found: if found.is_empty() {
                    "an unversioned package".to_owned()
                } else {
                    format!("{WIT_PACKAGE}@{found}")
                },
            }),
            None => Ok(()),
        }
    }
}

/// The version in `name` if it is an interface of the contract
/// (`toolbelt:plugin/<interface>[@<version>]`).
fn contract_version(name: &str) -> Option<&str> {
    let rest = name.strip_prefix(WIT_PACKAGE)?.strip_prefix('/')?;
    Some(rest.split_once('@').map_or("", |(_, version)| version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_is_the_one_wit_declares() {
        let wit = include_str!("../../../wit/plugin.wit");
        let declared = format!("package {WIT_PACKAGE}@{WIT_VERSION};");
        assert!(
            wit.lines().any(|line| line.trim() == declared),
            "wit/plugin.wit must declare `{declared}`"
        );
    }

    fn interfaces(exports: &[&str], imports: &[&str]) -> Interfaces {
        Interfaces {
            imports: imports.iter().map(|s| s.to_string()).collect(),
            exports: exports.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn reads_the_contract_version_from_exports_then_imports() {
        let built = interfaces(
            &["toolbelt:plugin/hooks@0.4.0"],
            &["wasi:cli/environment@0.2.6", "toolbelt:plugin/host@0.4.0"],
        );
        assert_eq!(built.wit_version(), Some("0.4.0"));
        assert!(built.check(Path::new("p.wasm")).is_ok());
        let imports_only = interfaces(&[], &["toolbelt:plugin/types@0.5.1"]);
        assert_eq!(imports_only.wit_version(), Some("0.5.1"));
        let unrelated = interfaces(&["wasi:cli/run@0.2.0"], &["toolbelt:pluginx/a@1.0.0"]);
        assert_eq!(unrelated.wit_version(), None);
        assert!(
            unrelated.check(Path::new("p.wasm")).is_ok(),
            "left to the linker"
        );
    }

    #[test]
    fn a_component_without_the_hooks_export_is_told_apart() {
        assert!(interfaces(&["toolbelt:plugin/hooks@0.2.0"], &[]).exports_hooks());
        let none = interfaces(&[], &["toolbelt:plugin/host@0.2.0"]);
        assert!(!none.exports_hooks());
        assert_eq!(none.exports_text(), "nothing");
        let other = interfaces(&["wasi:cli/run@0.2.6", "toolbelt:plugin/hooksx@0.2.0"], &[]);
        assert!(!other.exports_hooks());
        assert_eq!(
            other.exports_text(),
            "only `wasi:cli/run@0.2.6`, `toolbelt:plugin/hooksx@0.2.0`"
        );
    }

    #[test]
    fn a_link_error_is_traced_to_the_import_it_names() {
        let built = interfaces(
            &["toolbelt:plugin/hooks@0.1.0"],
            &["toolbelt:plugin/host@0.1.0", "test:unprovided/backdoor"],
        );
        let error = "component imports instance `test:unprovided/backdoor`, but a \
                     matching implementation was not found in the linker";
        assert_eq!(built.unprovided(error), Some("test:unprovided/backdoor"));
        assert_eq!(built.unprovided("some other linker error"), None);
    }

    #[test]
    fn another_version_is_refused_naming_both() {
        let other = interfaces(&["toolbelt:plugin/hooks@0.3.0"], &[]);
        let message = other.check(Path::new("p.wasm")).unwrap_err().to_string();
        assert!(message.contains("toolbelt:plugin@0.3.0"), "{message}");
        assert!(message.contains("toolbelt:plugin@0.4.0"), "{message}");
        assert!(message.contains("p.wasm"), "{message}");
        let unversioned = interfaces(&["toolbelt:plugin/hooks"], &[]);
        let message = unversioned.check(Path::new("p.wasm")).unwrap_err();
        assert!(message.to_string().contains("unversioned"), "{message}");
    }
}
