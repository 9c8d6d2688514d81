//! `run`'s scheduling flags applied to the pool: threads, attempts, rate,
//! per-host cap, and which part of the input runs (`--shard`; `--resume`
//! continues the output file, so [`super::writers::apply`] applies it).

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
        .max_attempts(args.max_attempts)
        .max_pause(args.max_pause)
        .breaker(args.breaker)
        .breaker_give_up(args.breaker_give_up);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flag_tests::{assert_shows, run_args};
    use tb_host::Pool;

    #[test]
    fn schedule_flags_reach_the_builder() {
        let args = run_args(&[
            "-j",
            "3",
            "--max-attempts",
            "4",
            "--rate",
            "2.5",
            "--per-host",
            "2",
            "--max-pause",
            "30",
            "--breaker",
            "5",
            "--breaker-give-up",
            "9",
            "--shard",
            "1/4",
            "urls.txt",
        ]);
        let (builder, shard) = apply(Pool::builder(), &args.schedule).unwrap();
        assert_shows(
            &builder,
            &[
                "threads: Some(3)",
                "max_attempts: 4",
                "rate: Some(2.5)",
                "per_host: Some(2)",
                "max_pause: 30s",
                "breaker: 5",
                "breaker_give_up: 9s",
                "selected: true",
            ],
        );
        assert_eq!(
            shard,
            Some(Shard {
                index: Some(1),
                count: 4
            })
        );
    }

    #[test]
    fn without_schedule_flags_the_defaults_are_set() {
        let (builder, shard) = apply(Pool::builder(), &run_args(&[]).schedule).unwrap();
        assert_shows(
            &builder,
            &[
                "threads: Some(16)",
                "max_attempts: 10",
                "rate: None",
                "per_host: None",
                "max_pause: 600s",
                "breaker: 20",
                "breaker_give_up: 60s",
                "selected: false",
            ],
        );
        assert_eq!(shard, None);
        let zero = apply(Pool::builder(), &run_args(&["-j", "0"]).schedule);
        let error = zero.err().unwrap().to_string();
        assert!(error.contains("--threads"), "{error}");
    }
}
