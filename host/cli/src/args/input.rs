//! `run`'s flags for how the input is read, applied by
//! [`InputArgs::format`].

use std::path::Path;

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

impl InputArgs {
    /// The format the input at `path` (none for stdin) is read in:
    /// `--input-format`, or the one its name says.
    pub fn format(&self, path: Option<&Path>) -> Format {
        self.format.unwrap_or_else(|| Format::of_path(path))
    }
}

#[cfg(test)]
mod tests {
    use crate::flag_tests::run_args;
    use tb_host::input::Format;

    /// The format `tb-host run ARGS...` reads its input in.
    fn format_of(args: &[&str]) -> Format {
        let args = run_args(args);
        args.input_format.format(args.input.as_deref())
    }

    #[test]
    fn input_format_reaches_the_reader_and_wins_over_the_file_name() {
        assert_eq!(
            format_of(&["--input-format", "jsonl", "urls.txt"]),
            Format::Jsonl
        );
        assert_eq!(
            format_of(&["--input-format", "urls", "jobs.jsonl"]),
            Format::Urls
        );
        assert_eq!(format_of(&["jobs.jsonl"]), Format::Jsonl);
        assert_eq!(format_of(&["jobs.NDJSON"]), Format::Jsonl);
        assert_eq!(format_of(&["urls.txt"]), Format::Urls);
        assert_eq!(format_of(&["-"]), Format::Urls, "stdin");
        assert_eq!(format_of(&[]), Format::Urls, "stdin");
        assert_eq!(format_of(&["--input-format", "jsonl", "-"]), Format::Jsonl);
    }
}
