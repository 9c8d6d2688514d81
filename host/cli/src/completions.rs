//! `tb-host completions SHELL`: a completion script made by clap_complete
//! from the same definitions as `--help`, so it never falls behind a flag.

use std::io::Write;

use anyhow::Context;
use clap::CommandFactory;

use super::args::{Cli, CompletionsArgs};

/// Writes the completion script for `args.shell` to stdout.
pub fn run(args: CompletionsArgs) -> anyhow::Result<()> {
    let mut command = Cli::command();
    let name = command.get_name().to_owned();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, name, &mut script);
    std::io::stdout()
        .write_all(&script)
        .context("cannot write the completion script")
}
