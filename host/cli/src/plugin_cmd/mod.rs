//! `tb-host plugin ...`: [`inspect`] a plugin component, or start a
//! [`new`] plugin crate.

mod inspect;
mod new;

use super::args::PluginCommand;
use super::logging::Hidden;

/// Runs `tb-host plugin ...`, with the secrets of the plugin inspected
/// put in `hidden`.
pub fn run(command: PluginCommand, hidden: &Hidden) -> anyhow::Result<()> {
    match command {
        PluginCommand::Inspect(args) => inspect::run(args, hidden),
        PluginCommand::New(args) => new::run(args),
    }
}
