//! `tb-host completions`: a shell completion script for every flag.

use clap::Args;
use clap_complete::Shell;

/// `tb-host completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write the completion script for.
    pub shell: Shell,
}
