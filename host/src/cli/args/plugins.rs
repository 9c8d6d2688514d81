//! `run`'s flags for plugins: which to load, their configuration, their limits.

use clap::Args;

use std::path::PathBuf;

/// Which plugins to load, and what they get.
#[derive(Debug, Args)]
#[command(next_help_heading = "Plugins")]
pub struct PluginArgs {
    /// A plugin component (.wasm) to load; repeat for more. Sessions and
    /// requests pass through plugins in this order; the first retry
    /// decision that is not `defer` wins.
    #[arg(long = "plugin", value_name = "PATH")]
    pub plugins: Vec<PathBuf>,

    /// Configuration for the plugins, KEY=VALUE; repeat for more. Every
    /// loaded plugin sees every key.
    #[arg(long = "plugin-config", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub plugin_config: Vec<(String, String)>,

    /// Longest time one plugin call may run before it is stopped, in
    /// milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 100)]
    pub plugin_timeout: u64,

    /// Most memory one plugin instance may use, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 64)]
    pub plugin_memory: usize,
}

fn parse_key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_owned(), value.to_owned()))
        }
        // The value may be a secret: never echo it.
        _ => Err("expected KEY=VALUE with a non-empty KEY".to_owned()),
    }
}
