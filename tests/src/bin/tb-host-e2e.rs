//! The `tb-host` command as the end-to-end tests run it: the command line
//! crate's one entry point (`tb_host_cli::main`, as `host/cli/src/main.rs`
//! calls it), built inside this package so that `cargo test` rebuilds it in
//! the same run as the tests that start it: a test never runs a stale
//! binary, whichever package was asked for.

fn main() -> std::process::ExitCode {
    tb_host_cli::main()
}
