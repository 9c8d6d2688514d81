//! `tb-host plugin new NAME [--path DIR]`: writes a plugin crate that
//! builds and tests out of the box: a `guest-sdk` plugin whose `authorize`
//! sends a header with a configured value, with native unit tests.
//!
//! The crate depends on guest-sdk by path: the `guest-sdk` directory of the
//! checkout this tb-host was built from, fixed at compile time
//! (`CARGO_MANIFEST_DIR/../guest-sdk`). A tb-host built elsewhere says so,
//! and the path is then the one line of `Cargo.toml` to change. The crate
//! has a `[workspace]` table of its own, so a workspace it is written into
//! does not take it in. The files come from `template/`.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::SetupError;
use crate::args::NewArgs;

/// The template of the crate's `Cargo.toml`.
const CARGO_TOML: &str = include_str!("template/Cargo.toml.in");

/// The template of the crate's `src/lib.rs`.
const LIB_RS: &str = include_str!("template/lib.rs.in");

/// The crate's `.gitignore`.
const GITIGNORE: &str = "/target\n";

/// Runs `tb-host plugin new`.
pub fn run(args: NewArgs) -> anyhow::Result<()> {
    let name = args.name;
    if !is_package_name(&name) {
        return Err(SetupError::new(format!(
            "plugin name `{name}`: use letters, digits, `-` and `_`, starting with a letter"
        ))
        .into());
    }
    let dir = args.path.unwrap_or_else(|| PathBuf::from(&name));
    if fs::read_dir(&dir).is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(SetupError::new(format!(
            "{} already exists and is not empty: choose another --path",
            dir.display()
        ))
        .into());
    }
    let guest_sdk = guest_sdk_dir();
    if !guest_sdk.join("Cargo.toml").is_file() {
        eprintln!(
            "tb-host: warning: guest-sdk is not at {} (this tb-host was built elsewhere): \
             edit the guest-sdk line of {}",
            guest_sdk.display(),
            dir.join("Cargo.toml").display()
        );
    }
    let render = |template: &str| {
        template
            .replace("{{name}}", &name)
            .replace("{{crate_name}}", &name.replace('-', "_"))
            .replace("{{type_name}}", &words(&name).concat())
            .replace("{{header}}", &format!("X-{}", words(&name).join("-")))
            .replace("{{guest_sdk}}", &toml_escape(&guest_sdk.to_string_lossy()))
    };
    write(&dir.join("Cargo.toml"), &render(CARGO_TOML))?;
    write(&dir.join("src").join("lib.rs"), &render(LIB_RS))?;
    write(&dir.join(".gitignore"), GITIGNORE)?;
    println!(
        "created plugin `{name}` in {dir}\n\n  cd {dir}\n  cargo test\n  \
         cargo build --release --target wasm32-wasip2\n  \
         tb-host run --plugin target/wasm32-wasip2/release/{file}.wasm \
         --plugin-config value=hello urls.txt",
        dir = dir.display(),
        file = name.replace('-', "_"),
    );
    Ok(())
}

/// The `guest-sdk` directory of the workspace this binary was built from:
/// next to `host`, whose `cli` this crate is.
fn guest_sdk_dir() -> PathBuf {
    let cli = Path::new(env!("CARGO_MANIFEST_DIR"));
    cli.ancestors().nth(2).unwrap_or(cli).join("guest-sdk")
}

/// Whether cargo and Rust accept `name` as the package (and, with `_` for
/// `-`, the crate) name: an ASCII letter, then letters, digits, `-`, `_`.
fn is_package_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The words of `name`, split at `-` and `_`, each capitalised:
/// `my_api-key` is `My`, `Api`, `Key`.
fn words(name: &str) -> Vec<String> {
    name.split(['-', '_'])
        .filter(|word| !word.is_empty())
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// `text` escaped for a TOML basic string.
fn toml_escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Writes `contents` to `path`, making its directory.
fn write(path: &Path, contents: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    fs::write(path, contents).with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_types_and_headers() {
        assert_eq!(words("my_api-key").concat(), "MyApiKey");
        assert_eq!(words("probe").join("-"), "Probe");
        assert!(is_package_name("api-key2"));
        assert!(!is_package_name("2fast"));
        assert!(!is_package_name("a/b"));
        assert!(!is_package_name(""));
    }

    #[test]
    fn the_template_is_filled_in_and_points_at_guest_sdk() {
        assert!(guest_sdk_dir().join("Cargo.toml").is_file());
        for template in [CARGO_TOML, LIB_RS] {
            let placeholders = template.matches("{{").count();
            let known = ["name", "crate_name", "type_name", "header", "guest_sdk"]
                .iter()
                .map(|p| template.matches(&format!("{{{{{p}}}}}")).count())
                .sum::<usize>();
            assert_eq!(placeholders, known, "every placeholder is filled");
        }
        assert_eq!(toml_escape(r#"C:\a "b""#), r#"C:\\a \"b\""#);
    }
}
