//! The one-call form: run jobs on a default pool and get the results back
//! (Python's `requests_toolbelt.threaded.map`).

use crate::failure::Failure;
use crate::job::Job;
use crate::pool::{Pool, PoolBuilder, PoolError};
use crate::response::Response;

/// Runs `jobs` on a default pool and returns the responses and the
/// failures. An empty list is an error, as in Python.
///
/// ```no_run
/// use tb_host::{Job, threaded};
///
/// let (responses, failures) = threaded::map(vec![
///     Job::get("http://127.0.0.1:8080/a"),
///     Job::get("http://127.0.0.1:8080/b").method("HEAD"),
/// ])?;
/// for response in responses {
///     println!("{} {}", response.status(), response.job().url);
/// }
/// assert!(failures.is_empty());
/// # Ok::<(), tb_host::PoolError>(())
/// ```
pub fn map(jobs: Vec<Job>) -> Result<(Vec<Response>, Vec<Failure>), PoolError> {
    map_with(Pool::builder(), jobs)
}

/// Like [`map`], on a pool set up by `builder` (workers, hooks, session).
pub fn map_with(
    builder: PoolBuilder,
    jobs: Vec<Job>,
) -> Result<(Vec<Response>, Vec<Failure>), PoolError> {
    if jobs.is_empty() {
        return Err(PoolError::NoJobs);
    }
    let mut pool = builder.from_jobs(jobs)?;
    pool.join_all();
    let responses = pool.responses().collect();
    let failures = pool.exceptions().collect();
    Ok((responses, failures))
}
