//! `run`'s scheduling flags applied to the pool: threads, attempts, rate,
//! per-host cap, and which jobs of the input run (`--shard`, `--resume`).

use std::path::Path;

use super::SetupError;
use super::args::ScheduleArgs;
use super::resume;
use crate::PoolBuilder;

/// Applies `args` to `builder`. Returns the builder and whether the output
/// files are to be appended to (a resumed run).
pub fn apply(
    builder: PoolBuilder,
    args: &ScheduleArgs,
    output: Option<&Path>,
) -> Result<(PoolBuilder, bool), SetupError> {
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
    let recorded = match (args.resume, output) {
        (true, Some(path)) => {
            let recorded = resume::scan(path)?;
            tracing::info!(
                "resuming: {} jobs already recorded in {}",
                recorded.count(),
                path.display()
            );
            Some(recorded)
        }
        _ => None,
    };
    if shard.is_some() || recorded.is_some() {
        builder = builder.select(move |index| {
            let in_shard = shard.is_none_or(|s| Some(index % s.count) == s.index);
            let recorded = recorded.as_ref().is_some_and(|r| r.contains(index));
            in_shard && !recorded
        });
    }
    Ok((builder, args.resume))
}
