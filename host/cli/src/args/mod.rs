//! Every flag of the command line, with its help text. `run`'s flags come
//! in groups, one file each, shown under their own heading in `--help`:
//! how the input is read ([`input`]), what to send ([`request`]), what to
//! write ([`output`]), which plugins and what they may do ([`plugins`]),
//! how TLS is done ([`tls`]), and how jobs are scheduled
//! ([`schedule`]). The other commands' flags: [`plugin_cmd`] and
//! [`completions`].
//!
//! What a group's flags do is applied in one function, whose unit tests
//! parse a real command line and check what the flags reached:
//!
//! | group | applied by | to |
//! |---|---|---|
//! | [`input`] | [`InputArgs::format`] | the input reader's format |
//! | [`request`] | [`crate::requests::apply`] | the pool's sessions, every job's defaults |
//! | [`output`] | [`crate::writers::apply`] | the pool's body options, the files and writers |
//! | [`plugins`] | [`crate::plugins::apply`] | the plugin manifests, the pool's hooks |
//! | [`tls`] | [`crate::tls::apply`] | the pool's TLS configuration |
//! | [`schedule`] | [`crate::scheduling::apply`] | the pool's workers, limits and shard |
//!
//! `--resume`, a scheduling flag, continues the output file: `writers::apply`
//! applies it, with the files. `--quiet` is applied where `run.rs` shows
//! the progress bar and the summary.

mod completions;
mod form;
mod input;
mod output;
mod plugin_cmd;
mod plugins;
mod queue;
mod request;
mod schedule;
mod tls;

pub use completions::CompletionsArgs;
pub use form::PieceContent;
pub use input::InputArgs;
pub use output::{Order, OutputArgs};
pub use plugin_cmd::{InspectArgs, NewArgs, PluginCommand};
pub use plugins::{PluginArgs, PluginFlags, PluginSource, Scoped};
pub use queue::{EnqueueArgs, QueueArgs, ResultsArgs, StatusArgs};
pub use request::RequestArgs;
pub use schedule::{ScheduleArgs, Shard};
pub use tls::TlsArgs;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Fetch many HTTP requests from a pool of workers, with auth and
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
    /// Fetch every job of a list (URLs, or JSON lines of jobs) and write one
    /// JSON line per job.
    #[command(after_help = RUN_EXAMPLES)]
    Run(Box<RunArgs>),
    /// Add every job of a list (URLs, or JSON lines of jobs) to a queue on
    /// Redis, for `tb-host run --queue` processes on many machines to share.
    #[command(after_help = QUEUE_EXAMPLES)]
    Enqueue(Box<EnqueueArgs>),
    /// Write the records of a queue's jobs, exactly one per job, in input
    /// order, in `run`'s record format.
    #[command(after_help = QUEUE_EXAMPLES)]
    Results(ResultsArgs),
    /// Show a queue's jobs: enqueued, waiting, in flight per process,
    /// recorded, failed.
    #[command(after_help = QUEUE_EXAMPLES)]
    Status(StatusArgs),
    /// Start a loopback server and fetch a few thousand URLs from it through
    /// the bundled example plugins, then print the summary.
    #[command(
        after_help = "Examples:\n  tb-host demo\n  tb-host demo --urls 100000 -j 64 -o records.jsonl"
    )]
    Demo(DemoArgs),
    /// Inspect a plugin component, or start a new plugin crate.
    #[command(
        after_help = "Examples:\n  tb-host plugin inspect bearer_auth.wasm\n  tb-host plugin new my-auth"
    )]
    Plugin {
        /// What to do with a plugin.
        #[command(subcommand)]
        command: PluginCommand,
    },
    /// Write a shell completion script to stdout, e.g.
    /// `tb-host completions bash > ~/.local/share/bash-completion/completions/tb-host`.
    #[command(
        after_help = "Examples:\n  tb-host completions bash > ~/.local/share/bash-completion/completions/tb-host\n  tb-host completions zsh > ~/.zfunc/_tb-host"
    )]
    Completions(CompletionsArgs),
}

const QUEUE_EXAMPLES: &str = "\
Examples (one queue, three machines; see README, Beyond one machine):
  tb-host enqueue redis://10.0.0.5/crawl urls.txt
  tb-host run --queue redis://10.0.0.5/crawl --plugin retry_backoff.wasm -j 64   # on each machine
  tb-host status redis://10.0.0.5/crawl
  tb-host results redis://10.0.0.5/crawl -o records.jsonl --failures failed.jsonl
  tb-host enqueue --resume redis://10.0.0.5/crawl urls.txt   # after a killed enqueue

Exit status: enqueue and status 0, or 2 on a usage, set-up or queue error;
results 0 when every job is recorded, 1 when some is not yet (its records are
written), 2 on an error. Credentials (-u, -b) are refused by enqueue: they would
be stored in the queue; give them to `run --queue` on the machines that send.";

const RUN_EXAMPLES: &str = "\
Examples:
  tb-host run urls.txt
  tb-host run --plugin bearer_auth.wasm --plugin-config token=s3cr3t urls.txt
  tb-host run --plugin bearer_auth.wasm --plugin retry_backoff.wasm \\
      --plugin-config bearer_auth:token=@token.txt --plugin-config retry_backoff:base-ms=50 urls.txt
  tb-host run --plugin retry_backoff.wasm --max-attempts 5 --failures failed.jsonl urls.txt
  tb-host run --plugin-manifest idp.toml --plugin retry_backoff.wasm urls.txt
  tb-host run --failures again.jsonl failed.jsonl  # run the failures again
  tb-host run -X POST --json '{\"a\":1}' urls.txt
  tb-host run -X POST -F 'title=Q3' -F 'report=@q3.csv;type=text/csv' urls.txt
  tb-host run jobs.jsonl       # one JSON job per line: {\"url\": ..., \"method\": ..., ...}
  cat urls.txt | tb-host run -H 'Accept: application/json' --threads 32 -

A plugin manifest (--plugin-manifest idp.toml), TOML; `secrets` names config
keys that are secret whatever their names say (see README, Plugins):
  name = \"idp\"
  path = \"oauth2_client_credentials.wasm\"
  allowed_hosts = [\"https://idp.example.com\"]
  env = []
  timeout_ms = 200
  memory_mib = 32
  secrets = []
  [config]
  token-url = \"https://idp.example.com/oauth/token\"
  client-id = \"my-app\"
  client-secret = \"@client-secret.txt\"
  audience = \"env:IDP_AUDIENCE\"
  scope = \"read write\"

Exit status: 0 when every job got an HTTP response (any status), 1 when some
job failed, 2 on a usage or set-up error, 3 when a file the run writes failed a
write (a full disk), 130 when interrupted. Ctrl-C lets the requests in flight
finish, sends nothing more, and records the jobs not yet sent as cancelled.";

/// `tb-host run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// File of URLs, one per line (blank lines and # comments skipped), or
    /// of JSON jobs, one per line (see --input-format); `-` or nothing
    /// reads stdin.
    pub input: Option<PathBuf>,

    #[command(flatten)]
    pub input_format: InputArgs,

    #[command(flatten)]
    pub request: RequestArgs,

    #[command(flatten)]
    pub tls: TlsArgs,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub plugins: PluginArgs,

    #[command(flatten)]
    pub schedule: ScheduleArgs,

    #[command(flatten)]
    pub queue: QueueArgs,
}

/// `tb-host demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// How many URLs to fetch.
    #[arg(long, value_name = "N", default_value_t = 5000)]
    pub urls: usize,

    /// Workers (requests in flight at once). The open-file limit is
    /// raised to fit them, as for `run -j`.
    #[arg(long, short = 'j', value_name = "N", default_value_t = 16)]
    pub threads: usize,

    /// Also write the JSON lines here.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}
