//! What the unit tests of `run`'s flag groups share: a real command line
//! parsed as the binary parses it, and a look at the pool builder the
//! flags were applied to.

use clap::Parser;

use super::args::{Cli, Command, RunArgs};
use tb_host::PoolBuilder;

/// The flags of `tb-host run ARGS...`.
pub fn run_args(args: &[&str]) -> RunArgs {
    let line = ["tb-host", "run"].into_iter().chain(args.iter().copied());
    match Cli::try_parse_from(line) {
        Ok(Cli {
            command: Command::Run(run),
            ..
        }) => *run,
        Ok(other) => panic!("not `run`: {other:?}"),
        Err(error) => panic!("{args:?}: {error}"),
    }
}

/// Panics unless `builder` shows each of `settings` (as its `Debug` writes
/// them, `threads: Some(4)`), naming the one missing.
pub fn assert_shows(builder: &PoolBuilder, settings: &[&str]) {
    let shown = format!("{builder:?}");
    for setting in settings {
        assert!(shown.contains(setting), "no {setting} in {shown}");
    }
}
