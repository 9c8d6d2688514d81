//! The commands of a run shared through a queue (see `tb_host::queue`):
//! `enqueue` fills it, `run --queue` takes its jobs and records their
//! results there ([`run`], [`QueueRecorder`]), `results` writes the
//! records out, `status` shows where the run is.

mod enqueue;
mod recorder;
mod results;
mod status;

pub use enqueue::enqueue;
pub use recorder::QueueRecorder;
pub use results::results;
pub use status::status;

use std::sync::Arc;

use anyhow::Context;
use tb_host::queue::{Consumer, ConsumerOptions, JobQueue, QueueAddress, RedisQueue};
use tb_host::{PoolBuilder, RequestDefaults};

use super::SetupError;
use super::args::{OutputArgs, QueueArgs};
use super::files::InputFile;
use super::logging::Hidden;
use super::outputs::Outputs;
use super::progress::Progress;
use super::run::{Sinks, drive};
use super::writers;

/// Connects to the queue at `address`: a set-up error if it cannot.
pub fn open(address: &QueueAddress) -> Result<RedisQueue, SetupError> {
    RedisQueue::open(address).map_err(|e| SetupError::new(e.to_string()))
}

/// Which queue `run --queue` takes its jobs from, and how.
pub struct On<'a> {
    /// The queue.
    pub address: &'a QueueAddress,
    /// `--lease`, `--max-deliveries`, `--follow`.
    pub args: &'a QueueArgs,
    /// The workers (`-j`): this process holds twice as many jobs at once.
    pub threads: usize,
}

/// Runs `tb-host run --queue`: the pool `builder` takes its jobs from the
/// queue, each job line read over `defaults` (the request flags), and every
/// result is recorded there; a retry for later is parked there until due.
/// The jobs still held when the pool ends (those cancelled by Ctrl-C) are
/// handed back for other processes at once.
pub fn run(
    on: On<'_>,
    builder: PoolBuilder,
    defaults: RequestDefaults,
    output: &OutputArgs,
    hidden: &Hidden,
) -> anyhow::Result<()> {
    let queue: Arc<dyn JobQueue> = Arc::new(open(on.address)?);
    let options = ConsumerOptions {
        name: consumer_name(),
        lease: on.args.lease,
        max_deliveries: on.args.max_deliveries,
        room: on.threads * 2,
        follow: on.args.follow,
        defaults,
    };
    let consumer = Arc::new(Consumer::start(queue, options).context("cannot start")?);
    let no_input = InputFile {
        name: on.address.to_string(),
        id: None,
    };
    let (builder, _) = writers::apply(
        builder.max_in_flight(on.threads * 2).hand_out_retries(true),
        output,
        &no_input,
        None,
    )?;
    let pool = builder
        .from_numbered(consumer.jobs())
        .context("cannot start the pool")?;
    let buffer = recorder::Buffer::default();
    let records =
        writers::record_writer(buffer.clone(), format!("the queue {}", on.address), output)
            .hiding(hidden);
    let sinks = Sinks {
        outputs: Outputs::to_queue(QueueRecorder::new(Arc::clone(&consumer), records, buffer)),
        progress: Progress::start(!output.quiet, None, pool.retry_waits()),
        resume: None,
    };
    let summary = drive(pool, sinks)?;
    match consumer.hand_back() {
        Ok(0) => {}
        Ok(handed) => eprintln!("handed {handed} jobs not done back to the queue"),
        Err(error) => eprintln!("tb-host: cannot hand the jobs not done back: {error}"),
    }
    if !output.quiet {
        eprintln!("{summary}");
    } else if let Some(stopped) = summary.stopped() {
        eprintln!("{stopped}");
    }
    summary.outcome()
}

/// This process's name in the queue: the host's name and the pid, which
/// no other live process of the queue shares.
fn consumer_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "tb-host".to_owned());
    format!("{host}-{}", std::process::id())
}
