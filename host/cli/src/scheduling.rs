//! `run`'s scheduling flags applied to the pool: threads, attempts, rate,
//! per-host cap, and which part of the input runs (`--shard`; `--resume`
//! is [`super::resume`]).

use super::SetupError;
use super::args::{ScheduleArgs, Shard};
use tb_host::PoolBuilder;

/// Applies `args` to `builder`. Returns the builder and the shard it runs,
/// resolved, if any.
pub fn apply(
    builder: PoolBuilder,
    args: &ScheduleArgs,
) -> Result<(PoolBuilder, Option<Shard>), SetupError> {
    if args.threads == 0 {
        return Err(SetupError::new("--threads must be at least 1"));
    }
    let mut builder = builder
        .threads(args.threads)
        .max_attempts(args.max_attempts);
    if let Some(rate) = args.rate {
        builder = builder.rate(rate);
    }
    if let Some(per_host) = args.per_host {
        builder = builder.per_host(usize::try_from(per_host).unwrap_or(usize::MAX));
    }
    let shard = args
        .shard
        .map(|shard| shard.resolve())
        .transpose()
        .map_err(SetupError::new)?;
    if let Some(shard) = shard {
        builder = builder.select(move |index| shard.runs(index));
    }
    Ok((builder, shard))
}
