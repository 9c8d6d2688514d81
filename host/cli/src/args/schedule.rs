//! `run`'s flags for how jobs are scheduled: workers, attempts, rate,
//! sharding and resuming; applied by `scheduling::apply` (`--resume` by
//! `writers::apply`, with the output file it continues).

use std::time::Duration;

use clap::Args;

use super::request::parse_seconds;

/// How many workers, how fast, and which jobs of the input.
#[derive(Debug, Args)]
#[command(next_help_heading = "Scheduling")]
pub struct ScheduleArgs {
    /// Workers: each has its own HTTP session and plugin instances and one
    /// request in flight; they run on one thread per CPU. Each holds a
    /// connection open: tb-host raises its soft limit of open files
    /// (`ulimit -n`) as N needs, up to the hard limit, and refuses to start
    /// (exit status 2, saying what limit and what -j would fit) if N does
    /// not fit under the hard limit, rather than fail job after job.
    #[arg(long, short = 'j', value_name = "N", default_value_t = 16)]
    pub threads: usize,

    /// Most attempts per job, the first included, whatever a plugin asks;
    /// at least 1.
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = parse_attempts)]
    pub max_attempts: u32,

    /// At most N requests per second in the whole run, retries included,
    /// spaced evenly.
    #[arg(long, value_name = "N", value_parser = parse_rate)]
    pub rate: Option<f64>,

    /// The longest pause of an origin waited for, in seconds. A retry
    /// policy pauses an origin when its server asks the client to wait (a
    /// 429 or 503 with Retry-After, to retry-backoff): nothing is sent to
    /// it until then, and its jobs wait without holding a worker. A longer
    /// pause is not waited for: until it has passed, that origin's jobs fail
    /// at once with kind `paused` (which --resume runs again).
    #[arg(long, value_name = "SECS", default_value = "600", value_parser = parse_seconds)]
    pub max_pause: Duration,

    /// Bad attempts in a row to one origin (no connection, no answer in
    /// time, a 5xx) after which its breaker opens: its jobs wait without
    /// holding a worker, other origins go on, and one job probes it after a
    /// cool-down (1 s, doubling up to 30 s); an answer below 500 closes it.
    /// 0: never.
    #[arg(long, value_name = "N", default_value_t = tb_host::DEFAULT_BREAKER)]
    pub breaker: u32,

    /// How long an origin may stay broken (see --breaker) before its
    /// remaining jobs fail at once, with kind `broken` (which --resume runs
    /// again), instead of being sent.
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = parse_seconds)]
    pub breaker_give_up: Duration,

    /// At most N requests in flight to one host (and port) at a time. A job
    /// for a host at its cap waits without holding a worker: the other
    /// hosts' jobs go on at full speed.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub per_host: Option<u64>,

    /// Run only the jobs whose index modulo N is K, so N machines can split
    /// one input; indexes in the output stay those of the whole input.
    /// `auto/N` takes K from JOB_COMPLETION_INDEX (a Kubernetes Indexed
    /// Job).
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    pub shard: Option<Shard>,

    /// Continue an earlier run of the same input file: skip the jobs done
    /// in --output FILE, run the rest (cancelled ones included) and append
    /// their records; refused if FILE's records are not of this input.
    #[arg(long, requires = "output")]
    pub resume: bool,
}

/// Which part of the input this machine runs: `--shard K/N`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This machine's part, with `index < count`; none for `auto`.
    pub index: Option<u64>,
    /// How many parts the input is split into.
    pub count: u64,
}

impl Shard {
    /// Whether the job with `index` is in this shard (none is, in an
    /// `auto` one not yet resolved).
    pub fn runs(&self, index: u64) -> bool {
        Some(index % self.count) == self.index
    }

    /// The shard with `auto` resolved from `JOB_COMPLETION_INDEX`.
    pub fn resolve(self) -> Result<Shard, String> {
        let index = match self.index {
            Some(index) => index,
            None => {
                let text = std::env::var("JOB_COMPLETION_INDEX").map_err(|_| {
                    "--shard auto/N needs JOB_COMPLETION_INDEX (set by a Kubernetes Indexed Job)"
                        .to_owned()
                })?;
                text.trim()
                    .parse()
                    .map_err(|_| format!("JOB_COMPLETION_INDEX={text:?} is not a whole number"))?
            }
        };
        if index >= self.count {
            return Err(format!(
                "shard {index} does not exist: shards run from 0 to {}",
                self.count - 1
            ));
        }
        Ok(Shard {
            index: Some(index),
            count: self.count,
        })
    }
}

impl std::fmt::Display for Shard {
    /// `K/N`, as the flag takes it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.index {
            Some(index) => write!(f, "{index}/{}", self.count),
            None => write!(f, "auto/{}", self.count),
        }
    }
}

fn parse_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err(format!(
            "{text:?} is not a positive number of requests per second"
        )),
    }
}

fn parse_attempts(text: &str) -> Result<u32, String> {
    match text.parse::<u32>() {
        Ok(0) => Err("must be at least 1: the first attempt counts".to_owned()),
        Ok(attempts) => Ok(attempts),
        Err(_) => Err(format!("{text:?} is not a whole number of attempts")),
    }
}

fn parse_shard(text: &str) -> Result<Shard, String> {
    let bad = || format!("expected K/N or auto/N with 0 <= K < N, got {text:?}");
    let (index, count) = text.split_once('/').ok_or_else(bad)?;
    let count: u64 = count.trim().parse().map_err(|_| bad())?;
    if count == 0 {
        return Err(bad());
    }
    let index = match index.trim() {
        "auto" => None,
        k => Some(k.parse::<u64>().map_err(|_| bad())?),
    };
    if index.is_some_and(|k| k >= count) {
        return Err(bad());
    }
    Ok(Shard { index, count })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_are_at_least_one() {
        assert_eq!(parse_attempts("3"), Ok(3));
        assert!(parse_attempts("0").unwrap_err().contains("at least 1"));
        assert!(parse_attempts("-1").is_err());
    }

    #[test]
    fn shards_parse_and_resolve() {
        assert_eq!(
            parse_shard("1/4"),
            Ok(Shard {
                index: Some(1),
                count: 4
            })
        );
        assert!(parse_shard("4/4").is_err());
        assert!(parse_shard("1/0").is_err());
        assert!(parse_shard("x/2").is_err());
        let auto = parse_shard("auto/3").unwrap();
        assert_eq!(auto.index, None);
        assert_eq!(auto.count, 3);
    }
}
