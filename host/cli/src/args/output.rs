//! `run`'s flags for what it writes: records, failures, bodies, their
//! order, the progress bar and the summary; applied by `writers::apply`
//! (`--quiet` in `run.rs`).

use clap::{Args, ValueEnum};

use std::path::PathBuf;

/// Where records, failures, bodies and the summary go.
#[derive(Debug, Args)]
#[command(next_help_heading = "Output")]
pub struct OutputArgs {
    /// Write the JSON lines here instead of stdout. Locked for the run
    /// (FILE.lock beside it holds the pid): a second run on it is refused.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Write the failed jobs here as JSON lines (method, url, headers,
    /// body), which `tb-host run` reads to send them again: name it
    /// .jsonl.
    #[arg(long, value_name = "FILE")]
    pub failures: Option<PathBuf>,

    /// Order of the records: as jobs finish, or by input index (records
    /// wait for earlier jobs; at most the jobs-in-flight limit wait).
    #[arg(long, value_enum, value_name = "ORDER", default_value_t = Order::Finish)]
    pub order: Order,

    /// Write each response body to DIR/<index>.body as it streams (DIR is
    /// created); each record gains `body_path`. DIR must be yours, and
    /// writable by group or others only if sticky.
    #[arg(long, value_name = "DIR")]
    pub save_bodies: Option<PathBuf>,

    /// Read at most BYTES of a body (suffix K, M or G for KiB, MiB, GiB);
    /// a longer body fails its job with kind `body`, without a retry.
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    pub body_limit: Option<u64>,

    /// Add the response's headers to each record, as `headers`: an object
    /// of lower-case names (an array for a name sent more than once).
    #[arg(long)]
    pub record_headers: bool,

    /// Add the response body to each record: a JSON body as the JSON value
    /// under `body`, UTF-8 text as a string, anything else as
    /// `body_base64`; `body_cut` when it was longer than
    /// --record-body-limit. Secrets are redacted in both.
    #[arg(long)]
    pub record_body: bool,

    /// The most body bytes --record-body puts in a record (suffix K, M or
    /// G); the rest is read, counted and hashed, not kept.
    #[arg(long, value_name = "BYTES", value_parser = parse_size, default_value = "1M")]
    pub record_body_limit: u64,

    /// No summary and no progress bar on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

/// The order records are written in: `--order`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Order {
    /// As jobs finish: each record as soon as possible.
    Finish,
    /// By input index, from 0: through a bounded reorder buffer.
    Input,
}

/// A number of bytes: digits, then optionally K, M or G (powers of 1024,
/// any case, an optional trailing `B` or `iB`).
fn parse_size(text: &str) -> Result<u64, String> {
    let upper = text.trim().to_ascii_uppercase();
    let number = upper
        .strip_suffix("IB")
        .or_else(|| upper.strip_suffix('B'))
        .unwrap_or(&upper);
    let (digits, shift) = match number.char_indices().last() {
        Some((at, 'K')) => (&number[..at], 10),
        Some((at, 'M')) => (&number[..at], 20),
        Some((at, 'G')) => (&number[..at], 30),
        _ => (number, 0),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .ok_or_else(|| format!("{text:?} is not a size: use bytes, or a number with K, M or G"))
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_in_bytes_and_with_suffixes() {
        assert_eq!(parse_size("1000"), Ok(1000));
        assert_eq!(parse_size("10k"), Ok(10 << 10));
        assert_eq!(parse_size("10M"), Ok(10 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("2MiB"), Ok(2 << 20));
        assert_eq!(parse_size("512KB"), Ok(512 << 10));
        assert_eq!(parse_size("0"), Ok(0));
    }

    #[test]
    fn rejects_what_is_not_a_size() {
        for bad in ["", "M", "-1", "1.5M", "10T", "ten", "99999999999999999999G"] {
            assert!(parse_size(bad).is_err(), "{bad:?}");
        }
    }
}
