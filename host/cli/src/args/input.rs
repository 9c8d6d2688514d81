//! `run`'s flags for how the input is read.

use clap::Args;

use tb_host::input::Format;

/// How the input lists its jobs.
#[derive(Debug, Args)]
#[command(next_help_heading = "Input")]
pub struct InputArgs {
    /// The input's format: `urls` (one URL per line) or `jsonl` (one JSON
    /// job per line: method, url, headers, params, data, data_base64,
    /// json, timeout). By default `jsonl` for a .jsonl or .ndjson file and
    /// `urls` otherwise, stdin included.
    #[arg(long = "input-format", value_name = "FORMAT")]
    pub format: Option<Format>,
}
