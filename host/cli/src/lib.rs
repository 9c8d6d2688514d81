//! The `tb-host` command line: parse flags, set up logging, run a command,
//! and map the outcome to the documented exit status.
//!
//! A thin crate over the `tb-host` library: flags become plugin settings
//! and a [`tb_host::PoolBuilder`], the input becomes jobs, and the pool's
//! results become JSON lines (see `run.rs`, which reads in that order).
//! Everything a Rust program could want lives in the library; what is here
//! is what only a command needs: flags, files, locks, progress, logs.

mod args;
mod bundled;
mod completions;
mod cookie_file;
mod demo;
mod failures;
mod files;
#[cfg(test)]
mod flag_tests;
mod lock;
mod logging;
mod open_files;
mod output;
mod outputs;
mod plugin_cmd;
mod plugins;
mod progress;
mod queue;
mod requests;
mod resume;
mod run;
mod scheduling;
mod shown;
mod signals;
mod stall;
mod stop;
mod summary;
mod tls;
mod writers;

/// The command's allocator: jemalloc, not the system's. A run allocates and
/// frees per request (hyper's and reqwest's buffers, headers, records) on a
/// few carrier threads, and glibc's malloc and free were a sixth of its
/// CPU at `-j 1000`: with jemalloc, 10% less CPU per request (76 against
/// 85 µs, medians of three alternating runs of the README's wide scenario
/// with both plugins) for 6 MiB more peak memory. Set here, not in
/// `main.rs`, so that the binary the end-to-end tests run has it too; the
/// library leaves the choice to its users.
#[cfg(unix)]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use std::fmt;
use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};

/// A problem with the flags, the input or a plugin, found before any job
/// ran: exit status 2.
#[derive(Debug)]
pub struct SetupError(String);

impl SetupError {
    fn new(message: impl Into<String>) -> SetupError {
        SetupError(message.into())
    }
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SetupError {}

impl From<anyhow::Error> for SetupError {
    fn from(error: anyhow::Error) -> SetupError {
        SetupError(format!("{error:#}"))
    }
}

/// The run finished, and some job failed: exit status 1.
#[derive(Debug)]
pub struct Failed;

impl fmt::Display for Failed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("some jobs failed")
    }
}

impl std::error::Error for Failed {}

/// The run was stopped by a signal (Ctrl-C, SIGTERM, SIGHUP, SIGQUIT):
/// exit status 130, as shells expect of Ctrl-C.
#[derive(Debug)]
pub struct Interrupted;

impl fmt::Display for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("interrupted")
    }
}

impl std::error::Error for Interrupted {}

/// The run was stopped because a file it writes failed a write (a full
/// disk): exit status 3. The message, naming the file, was shown when it
/// happened, and the summary says it again.
#[derive(Debug)]
pub struct WriteFailed;

impl fmt::Display for WriteFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a write failed")
    }
}

impl std::error::Error for WriteFailed {}

/// Runs the command line and returns the exit status.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let hidden = logging::Hidden::default();
    logging::init(cli.verbose, &hidden);
    let result = match cli.command {
        Command::Run(args) => run::run(*args, &hidden),
        Command::Demo(args) => demo::run(args),
        Command::Plugin { command } => plugin_cmd::run(command, &hidden),
        Command::Completions(args) => completions::run(args),
        Command::Enqueue(args) => queue::enqueue(*args, &hidden),
        Command::Results(args) => queue::results(&args),
        Command::Status(args) => queue::status(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is::<Failed>() => ExitCode::from(1),
        Err(e) if e.is::<Interrupted>() => ExitCode::from(130),
        Err(e) if e.is::<WriteFailed>() => ExitCode::from(3),
        Err(e) if e.is::<SetupError>() => {
            eprintln!("tb-host: {}", hidden.shown_on_one_line(&e.to_string()));
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("tb-host: {}", hidden.shown_on_one_line(&format!("{e:#}")));
            ExitCode::from(2)
        }
    }
}
