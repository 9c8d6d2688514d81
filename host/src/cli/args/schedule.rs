//! `run`'s flags for how jobs are scheduled: threads, attempts.

use clap::Args;

/// How many workers, and how often a job may be tried.
#[derive(Debug, Args)]
#[command(next_help_heading = "Scheduling")]
pub struct ScheduleArgs {
    /// Worker threads, each with its own HTTP session and plugin instances.
    #[arg(long, short = 'j', value_name = "N", default_value_t = 16)]
    pub threads: usize,

    /// Most attempts per job, the first included, whatever a plugin asks.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub max_attempts: u32,
}
