//! The flags of a run on a shared queue (`run --queue`), and of the
//! commands that fill it, read it and show it: `enqueue`, `results`,
//! `status`. Applied in `queue/`.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use tb_host::queue::QueueAddress;

use super::{InputArgs, Order, RequestArgs};

/// `run`'s flags for taking the jobs from a queue instead of an input.
#[derive(Debug, Args)]
#[command(next_help_heading = "Queue (many processes, one run)")]
pub struct QueueArgs {
    /// Take the jobs from the queue QUEUE (redis://HOST[:PORT]/NAME[?db=N],
    /// filled by `tb-host enqueue`) instead of an input, and record each
    /// result there (read them with `tb-host results`); exits once every
    /// job of the queue is recorded, by this process or another. Takes no
    /// more jobs than twice its -j workers, and renews their leases. A
    /// retry a plugin asks for later waits in the queue, not here: any
    /// process takes it once it is due.
    #[arg(
        long,
        value_name = "QUEUE",
        value_parser = parse_queue,
        conflicts_with_all = ["input", "output", "failures", "resume", "shard", "order", "cookie_jar"]
    )]
    pub queue: Option<QueueAddress>,

    /// With --queue: how long a job taken stays this process's without a
    /// renewal (renewed every third of it while the process lives); past
    /// it another process takes the job over. A job that runs longer than
    /// the process can renew (the process froze) may run twice, and is
    /// recorded once.
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = parse_lease, requires = "queue")]
    pub lease: Duration,

    /// With --queue: a job handed out more than N times (each process that
    /// took it died or froze) ends as a failure of kind `other` instead of
    /// running again.
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..), requires = "queue")]
    pub max_deliveries: u64,

    /// With --queue: wait for more jobs once every job is recorded,
    /// rather than exit (stop with Ctrl-C).
    #[arg(long, requires = "queue")]
    pub follow: bool,
}

/// `tb-host enqueue`.
#[derive(Debug, Args)]
pub struct EnqueueArgs {
    /// The queue to add to: redis://HOST[:PORT]/NAME[?db=N].
    #[arg(value_name = "QUEUE", value_parser = parse_queue)]
    pub queue: QueueAddress,

    /// File of URLs or JSON jobs, read as `run` reads it; `-` or nothing
    /// reads stdin.
    pub input: Option<PathBuf>,

    #[command(flatten)]
    pub input_format: InputArgs,

    /// Go on adding the input a killed `enqueue` was adding: the entries
    /// already in the queue are skipped, so none is added twice.
    #[arg(long)]
    pub resume: bool,

    #[command(flatten)]
    pub request: RequestArgs,
}

/// `tb-host results`.
#[derive(Debug, Args)]
pub struct ResultsArgs {
    /// The queue to read: redis://HOST[:PORT]/NAME[?db=N].
    #[arg(value_name = "QUEUE", value_parser = parse_queue)]
    pub queue: QueueAddress,

    /// Write the records here instead of stdout (locked, as for `run`).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Write the failed jobs here, as `run --failures` does.
    #[arg(long, value_name = "FILE")]
    pub failures: Option<PathBuf>,

    /// Order of the records: by input index (the default: the whole run's
    /// records are there to sort), or as the jobs were recorded, whichever
    /// process ran them.
    #[arg(long, value_enum, value_name = "ORDER", default_value_t = Order::Input)]
    pub order: Order,

    /// Go on with the export a killed `results` left in -o FILE: the
    /// records there are kept (a torn last line is cut off) and only the
    /// others are written, so none is written twice or missed;
    /// --failures is written anew, whole.
    #[arg(long, requires = "output")]
    pub resume: bool,
}

/// `tb-host status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The queue to show: redis://HOST[:PORT]/NAME[?db=N].
    #[arg(value_name = "QUEUE", value_parser = parse_queue)]
    pub queue: QueueAddress,
}

fn parse_queue(text: &str) -> Result<QueueAddress, String> {
    text.parse()
        .map_err(|e: tb_host::queue::QueueError| e.to_string())
}

fn parse_lease(text: &str) -> Result<Duration, String> {
    match text
        .parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
    {
        Some(lease) if lease >= Duration::from_millis(100) => Ok(lease),
        _ => Err(format!("{text:?} is not a number of seconds, 0.1 or more")),
    }
}

#[cfg(test)]
mod tests {
    use crate::flag_tests::run_args;

    #[test]
    fn queue_flags_have_their_defaults_and_refuse_an_input() {
        let args = run_args(&["--queue", "redis://127.0.0.1:7000/q"]);
        let queue = args.queue.queue.expect("--queue");
        assert_eq!((queue.port, queue.name.as_str()), (7000, "q"));
        assert_eq!(args.queue.lease.as_secs(), 30);
        assert_eq!(args.queue.max_deliveries, 5);
        use clap::Parser;
        for refused in [
            &["--queue", "redis://h/q", "urls.txt"][..],
            &["--queue", "redis://h/q", "-o", "out.jsonl"],
            &["--lease", "5"],
            &["--queue", "redis://h/q", "--lease", "0"],
            &["--queue", "redis:/h"],
        ] {
            let line = ["tb-host", "run"].iter().chain(refused);
            assert!(
                crate::args::Cli::try_parse_from(line).is_err(),
                "{refused:?} is refused"
            );
        }
    }

    #[test]
    fn results_resume_needs_the_file_it_continues() {
        use clap::Parser;
        let parse = |args: &[&str]| {
            let line = ["tb-host", "results", "redis://h/q"].iter().chain(args);
            crate::args::Cli::try_parse_from(line)
        };
        assert!(parse(&["--resume"]).is_err(), "--resume without -o");
        assert!(parse(&["--resume", "-o", "records.jsonl"]).is_ok());
    }
}
