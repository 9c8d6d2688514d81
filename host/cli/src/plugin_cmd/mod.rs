//! `tb-host plugin ...`: [`inspect`] a plugin component, or start a
//! [`new`] plugin crate.

mod inspect;
mod new;

use super::args::PluginCommand;

/// Runs `tb-host plugin ...`.
pub fn run(command: PluginCommand) -> anyhow::Result<()> {
    match command {
        PluginCommand::Inspect(args) => inspect::run(args),
        PluginCommand::New(args) => new::run(args),
    }
}
