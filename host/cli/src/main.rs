//! The `tb-host` command: a thin layer over the `tb-host` library (see
//! [`tb_host_cli`]) that turns flags into a pool, input files into jobs,
//! and results into JSON lines.

fn main() -> std::process::ExitCode {
    tb_host_cli::main()
}
