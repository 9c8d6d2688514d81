//! `tb-host plugin ...`: tools for plugin authors and operators.

use std::path::PathBuf;

use clap::{ArgGroup, Args, Subcommand};

use super::plugins::parse_key_value;

/// What to do with a plugin.
#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Show what a plugin component is: its name, version and hooks, the
    /// contract version it was built for, what it imports, its size and
    /// how long it takes to compile; and its manifest: its configuration
    /// (secret values left out), grants and limits.
    #[command(
        after_help = "Examples:\n  tb-host plugin inspect target/wasm32-wasip2/release/bearer_auth.wasm\n  tb-host plugin inspect --plugin-manifest idp.toml"
    )]
    Inspect(InspectArgs),
    /// Write a new plugin crate, ready to test natively and to build for
    /// wasm32-wasip2.
    #[command(
        after_help = "Examples:\n  tb-host plugin new my-auth\n  cd my-auth && cargo test && cargo build --release --target wasm32-wasip2"
    )]
    New(NewArgs),
}

/// `tb-host plugin inspect`: a component, or a manifest naming one.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("plugin").required(true).args(["file", "plugin_manifest"])))]
pub struct InspectArgs {
    /// The plugin component (.wasm).
    pub file: Option<PathBuf>,

    /// The plugin's manifest (TOML), as `run --plugin-manifest` reads it,
    /// instead of FILE.
    #[arg(long, value_name = "MANIFEST")]
    pub plugin_manifest: Option<PathBuf>,

    /// Configuration the plugin needs to describe itself, KEY=VALUE (or
    /// KEY=@FILE), added to its manifest; repeat for more. Secret values
    /// (see `run --plugin-config`) are never shown.
    #[arg(long = "plugin-config", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub plugin_config: Vec<(String, String)>,
}

/// `tb-host plugin new`.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// The plugin's package name: letters, digits, `-` and `_`, starting
    /// with a letter.
    pub name: String,

    /// The directory to write the crate to, which must be empty or not
    /// exist yet [default: ./NAME].
    #[arg(long, value_name = "DIR")]
    pub path: Option<PathBuf>,
}
