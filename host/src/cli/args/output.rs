//! `run`'s flags for what it writes: records, failures, the summary.

use clap::Args;

use std::path::PathBuf;

/// Where records, failures and the summary go.
#[derive(Debug, Args)]
#[command(next_help_heading = "Output")]
pub struct OutputArgs {
    /// Write the JSON lines here instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Write the URLs of failed jobs here, in a form `tb-host run` reads.
    #[arg(long, value_name = "FILE")]
    pub failures: Option<PathBuf>,

    /// No summary on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}
