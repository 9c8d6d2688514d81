//! Every flag of the command line, with its help text, in one place.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Fetch many HTTP requests from a pool of worker threads, with auth and
/// retry rules from sandboxed WebAssembly plugins.
#[derive(Debug, Parser)]
#[command(
    name = "tb-host",
    bin_name = "tb-host",
    version,
    propagate_version = true
)]
pub struct Cli {
    /// More log output on stderr: -v info, -vv debug, -vvv trace. RUST_LOG
    /// overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Fetch every URL of a list and write one JSON line per job.
    #[command(after_help = RUN_EXAMPLES)]
    Run(RunArgs),
    /// Start a loopback server and fetch a few thousand URLs from it through
    /// the bundled example plugins, then print the summary.
    Demo(DemoArgs),
}

const RUN_EXAMPLES: &str = "\
Examples:
  tb-host run urls.txt
  tb-host run --plugin bearer_auth.wasm --plugin-config token=s3cr3t urls.txt
  tb-host run --plugin retry_backoff.wasm --max-attempts 5 --failures failed.txt urls.txt
  tb-host run --failures again.txt failed.txt      # run the failures again
  cat urls.txt | tb-host run -H 'Accept: application/json' --threads 32 -

Exit status: 0 when every job got an HTTP response (any status), 1 when some
job failed, 2 on a usage or set-up error, 130 when interrupted. Ctrl-C lets the
requests in flight finish and records the jobs not yet sent as cancelled.";

/// `tb-host run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// File of URLs, one per line (blank lines and # comments skipped);
    /// `-` or nothing reads stdin.
    pub input: Option<PathBuf>,

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

    /// Worker threads, each with its own HTTP session and plugin instances.
    #[arg(long, short = 'j', value_name = "N", default_value_t = 16)]
    pub threads: usize,

    /// Time allowed for each attempt, in seconds (fractions allowed).
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub timeout: f64,

    /// Most attempts per job, the first included, whatever a plugin asks.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub max_attempts: u32,

    /// A header for every request, 'Name: value'; repeat for more.
    #[arg(short = 'H', long = "header", value_name = "'NAME: VALUE'", value_parser = parse_header)]
    pub headers: Vec<(String, String)>,

    /// The HTTP method of every request.
    #[arg(short = 'X', long, value_name = "METHOD", default_value = "GET")]
    pub method: String,

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

/// `tb-host demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// How many URLs to fetch.
    #[arg(long, value_name = "N", default_value_t = 5000)]
    pub urls: usize,

    /// Worker threads.
    #[arg(long, short = 'j', value_name = "N", default_value_t = 16)]
    pub threads: usize,

    /// Also write the JSON lines here.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
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

fn parse_header(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once(':')
        .ok_or_else(|| format!("expected 'Name: value', got {text:?}"))?;
    let name = name.trim();
    let value = value.trim();
    if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
        return Err(format!("{name:?} is not a valid header name"));
    }
    if reqwest::header::HeaderValue::from_str(value).is_err() {
        return Err(format!("the value of header {name} is not valid"));
    }
    Ok((name.to_owned(), value.to_owned()))
}
