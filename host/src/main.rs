//! The `tb-host` command: a thin layer over the library (see
//! [`tb_host::cli`]) that turns flags into a pool, input files into jobs,
//! and results into JSON lines.

fn main() -> std::process::ExitCode {
    tb_host::cli::main()
}
