//! `tb-host status QUEUE`: where a queue's run is: its counts, the jobs
//! each process holds, and the rate of the last minute (by the Redis
//! server's clock, so processes on machines whose clocks differ agree).

use tb_host::queue::JobQueue;

use super::open;
use crate::SetupError;
use crate::args::StatusArgs;

/// Prints the queue's counts to stdout.
pub fn status(args: &StatusArgs) -> anyhow::Result<()> {
    let status = open(&args.queue)?
        .status()
        .map_err(|e| SetupError::new(e.to_string()))?;
    let in_flight: u64 = status.in_flight.values().sum();
    println!("queue {}", args.queue);
    println!(
        "jobs:      {} enqueued{}",
        status.enqueued,
        if status.complete {
            " (the whole input)"
        } else {
            " (enqueue has not finished)"
        }
    );
    println!("waiting:   {}", status.waiting);
    println!("waiting for a retry: {}", status.retrying);
    println!("in flight: {in_flight}");
    for (consumer, held) in &status.in_flight {
        println!("  {consumer}: {held}");
    }
    println!(
        "recorded:  {} ({} failed; {} duplicate results dropped)",
        status.recorded, status.failed, status.duplicates
    );
    let window = status.window.as_secs();
    if window == 0 {
        println!("rate:      none in the last minute");
    } else {
        println!(
            "rate:      {:.1} records/s over the last {window} s",
            status.recent as f64 / window as f64
        );
    }
    Ok(())
}
