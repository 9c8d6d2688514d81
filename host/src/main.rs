//! The `tb-host` command: a thin layer over the library that turns flags
//! into a pool, input files into jobs, and results into JSON lines.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
