//! The `tb-host` command, built inside this package so that `cargo test`
//! builds it in the same run, with the same features, as the tests that
//! start it. It is the same entry point as `host/src/main.rs`.

fn main() -> std::process::ExitCode {
    tb_host::cli::main()
}
