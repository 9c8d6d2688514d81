//! Open files: the descriptors a run needs, and the soft limit on them
//! (`ulimit -n`, `RLIMIT_NOFILE`) raised to fit, before anything starts.
//!
//! Every worker holds a connection, so `-j 2000` needs two thousand
//! descriptors, and the soft limit most systems give a shell is 1024:
//! without this, most jobs of such a run failed as `connect` ("Too many
//! open files") within a second, and nothing said why at start. So a run
//! estimates what it needs ([`Needs::estimate`]) and, if the soft limit is
//! lower, raises it as far as that, which any process may do up to the hard
//! limit. If even the hard limit is lower, the run is refused at start
//! (exit status 2) with a message that names `-j`, the number needed, the
//! limit, and the two ways out: `ulimit -n`, or a `-j` that fits.
//!
//! Refusing rather than warning: every job past the limit would fail, and
//! a run that fails at start, before any job, loses nothing, names its
//! remedy in one line, and is fixed by running it again; a run that starts
//! anyway fails job by job and leaves a failures file to retry. The
//! estimate is close to what a run holds (measured: 219 descriptors at
//! `-j 200` with two plugins and two CPUs, estimated 242), so what is
//! refused is a run that would not have fit.

use super::SetupError;

/// Descriptors every run holds whatever `-j`: stdin, stdout, stderr, the
/// input, the output and failures files and their locks, the signal pipe,
/// and room to spare.
const FIXED: u64 = 32;

/// Descriptors of each carrier thread's event loop (its epoll instance
/// and waker, about 3), with room.
const PER_CARRIER: u64 = 4;

/// What a run will hold open, to estimate the descriptors it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Needs {
    /// Workers (`-j`), each with its connection.
    pub workers: usize,
    /// Descriptors each worker holds beside its connection: a body file
    /// being written (`--save-bodies`), the server's end of the connection
    /// (`demo`, whose server runs in the same process).
    pub per_worker_extra: u64,
    /// Plugins: each keeps its compiled code in a memory file of its own.
    /// Their instances, one per worker, hold none.
    pub plugins: usize,
}

impl Needs {
    /// The descriptors the run needs: [`FIXED`], [`PER_CARRIER`] for each
    /// carrier (one per CPU, at most one per worker, as the pool has), one
    /// per plugin, and one per worker plus its extra.
    pub fn estimate(&self) -> u64 {
        let carriers = cpus().min(self.workers.max(1));
        FIXED
            + PER_CARRIER * count(carriers)
            + count(self.plugins)
            + self.per_worker() * count(self.workers)
    }

    /// The most workers a limit of `limit` descriptors fits, the rest of
    /// the run as it is; zero if none.
    #[cfg(unix)]
    fn workers_within(&self, limit: u64) -> u64 {
        // A carrier per CPU: a run of fewer workers has fewer, and fits
        // all the more.
        let rest = FIXED + PER_CARRIER * count(cpus()) + count(self.plugins);
        limit.saturating_sub(rest) / self.per_worker()
    }

    fn per_worker(&self) -> u64 {
        1 + self.per_worker_extra
    }
}

/// The CPUs the pool runs a carrier on each of.
fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// A count as a number of descriptors.
fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// Raises the soft limit on open files to what `needs` estimates, if it is
/// lower, as far as the hard limit allows; refuses the run if the hard
/// limit is lower still. Says at info what it did. A limit that cannot be
/// read is warned about and left alone.
#[cfg(unix)]
pub fn fit(needs: Needs) -> Result<(), SetupError> {
    let need = needs.estimate();
    let (soft, hard) = match limits() {
        Ok(limits) => limits,
        Err(error) => {
            tracing::warn!("cannot read the open-file limit (ulimit -n): {error}");
            return Ok(());
        }
    };
    if need <= soft {
        tracing::debug!(
            "-j {} needs about {need} open files; the limit (ulimit -n) is {soft}",
            needs.workers
        );
        return Ok(());
    }
    if need > hard {
        return Err(too_few(needs, need, hard, "the hard limit"));
    }
    raise(need, hard)
        .map_err(|error| too_few(needs, need, soft, &format!("raising it: {error}")))?;
    tracing::info!(
        "raised the open-file limit (ulimit -n) from {soft} to {need} for -j {} \
         (the hard limit is {hard})",
        needs.workers
    );
    Ok(())
}

/// Nothing to fit where there is no `RLIMIT_NOFILE`.
#[cfg(not(unix))]
pub fn fit(_: Needs) -> Result<(), SetupError> {
    Ok(())
}

/// The set-up error of a run that needs `need` descriptors where `limit`
/// allows fewer; `why` says what limit, or what failed.
#[cfg(unix)]
fn too_few(needs: Needs, need: u64, limit: u64, why: &str) -> SetupError {
    let fewer = match needs.workers_within(limit) {
        0 => String::new(),
        fits => format!(", or use -j {fits} or fewer"),
    };
    SetupError::new(format!(
        "-j {} needs about {need} open files, but this process may open only {limit} \
         ({why}); raise the limit with `ulimit -n {need}` before running tb-host \
         (a hard limit is raised by root: /etc/security/limits.conf, or LimitNOFILE= \
         for a service){fewer}",
        needs.workers
    ))
}

/// The soft and hard limits on open files.
#[cfg(unix)]
fn limits() -> std::io::Result<(u64, u64)> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the limits to the struct it is given, which
    // lives for the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // rlim_t is u64 on Linux and macOS, and RLIM_INFINITY its largest
    // value, which compares as the most.
    Ok((limit.rlim_cur, limit.rlim_max))
}

/// Sets the soft limit on open files to `soft`, keeping the hard one.
#[cfg(unix)]
fn raise(soft: u64, hard: u64) -> std::io::Result<()> {
    let limit = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: setrlimit only reads the struct it is given, which lives for
    // the call.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_needs_a_descriptor_per_worker_and_its_extras() {
        let plain = Needs {
            workers: 500,
            per_worker_extra: 0,
            plugins: 2,
        };
        let carriers = count(cpus().min(500));
        assert_eq!(plain.estimate(), FIXED + PER_CARRIER * carriers + 2 + 500);
        let bodies = Needs {
            per_worker_extra: 1,
            ..plain
        };
        assert_eq!(bodies.estimate(), plain.estimate() + 500);
        let one = Needs {
            workers: 1,
            per_worker_extra: 0,
            plugins: 0,
        };
        assert_eq!(one.estimate(), FIXED + PER_CARRIER + 1);
    }

    #[cfg(unix)]
    #[test]
    fn the_workers_that_fit_are_those_the_estimate_allows() {
        let needs = Needs {
            workers: 5000,
            per_worker_extra: 1,
            plugins: 3,
        };
        let fits = needs.workers_within(1024);
        assert!(fits > 0 && fits < 512, "{fits}");
        let fitting = Needs {
            workers: usize::try_from(fits).unwrap(),
            ..needs
        };
        assert!(fitting.estimate() <= 1024, "{fitting:?}");
        let one_more = Needs {
            workers: fitting.workers + 1,
            ..needs
        };
        assert!(one_more.estimate() > 1024, "{one_more:?}");
        assert_eq!(needs.workers_within(FIXED), 0);
    }

    #[cfg(unix)]
    #[test]
    fn the_refusal_names_j_the_need_the_limit_and_ulimit() {
        let needs = Needs {
            workers: 500,
            per_worker_extra: 0,
            plugins: 0,
        };
        let message = too_few(needs, 5400, FIXED, "the hard limit").to_string();
        assert_eq!(
            message,
            format!(
                "-j 500 needs about 5400 open files, but this process may open only {FIXED} \
                 (the hard limit); raise the limit with `ulimit -n 5400` before running tb-host \
                 (a hard limit is raised by root: /etc/security/limits.conf, or LimitNOFILE= \
                 for a service)"
            )
        );
        let fits = needs.workers_within(400);
        assert!(fits > 0, "{fits}");
        let message = too_few(needs, 5400, 400, "the hard limit").to_string();
        assert!(
            message.ends_with(&format!("for a service), or use -j {fits} or fewer")),
            "{message}"
        );
    }
}
