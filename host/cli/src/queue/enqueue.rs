//! `tb-host enqueue QUEUE [INPUT]`: every entry of the input added to the
//! queue with its input index, read as `run` reads an input (the same
//! reader and request flags); a bad line is added as what it is, and the
//! worker that takes it records it as a failure of kind `input` with its
//! line number. Entries go in batches, each added with the count of
//! entries read in one atomic step, so `--resume` after a crash skips
//! exactly those and adds no job twice.

use tb_host::input::jsonl;
use tb_host::queue::{JobQueue, Queued};
use tb_host::{Pool, RequestDefaults};

use super::open;
use crate::SetupError;
use crate::args::{EnqueueArgs, RequestArgs};
use crate::logging::Hidden;
use crate::requests;
use crate::run::open_input;

/// How many entries are added in one step.
const BATCH: usize = 500;

/// Adds the input to the queue.
pub fn enqueue(args: EnqueueArgs, hidden: &Hidden) -> anyhow::Result<()> {
    let EnqueueArgs {
        queue: address,
        input: path,
        input_format,
        resume,
        request,
    } = args;
    let defaults = job_defaults(request, hidden)?;
    let queue = open(&address)?;
    let queue_error = |e: tb_host::queue::QueueError| SetupError::new(e.to_string());
    let before = queue.enqueued().map_err(queue_error)?;
    if before > 0 && !resume {
        return Err(SetupError::new(format!(
            "queue {address} holds {before} entries already: --resume goes on adding the \
             input they came from; a new run needs a queue of its own (another NAME)"
        ))
        .into());
    }
    let (input, _) = open_input(path.as_deref()).map_err(SetupError::from)?;
    let format = input_format.format(path.as_deref());
    let mut batch = Vec::with_capacity(BATCH);
    let (mut read, mut bad) = (before, 0u64);
    for (index, entry) in (0u64..).zip(format.jobs(input, defaults)) {
        if index < before {
            continue;
        }
        batch.push(match entry {
            Ok(job) => Queued::Job {
                index,
                line: jsonl::encode(&job),
            },
            Err(error) => {
                bad += 1;
                Queued::Rejected { index, error }
            }
        });
        read = index + 1;
        if batch.len() == BATCH {
            queue.add(&batch, read).map_err(queue_error)?;
            batch.clear();
        }
    }
    queue.add(&batch, read).map_err(queue_error)?;
    queue.complete(read).map_err(queue_error)?;
    eprintln!(
        "{} entries added to {address} ({read} in all{}), {bad} of them bad lines, \
         recorded as `input` failures",
        read - before,
        if before > 0 {
            format!(", {before} added before")
        } else {
            String::new()
        }
    );
    Ok(())
}

/// The defaults the request flags give every job. Flags that would put a
/// credential in the queue, or that set up a session rather than a job,
/// are refused: they belong to `run --queue`, where the jobs are sent.
fn job_defaults(request: RequestArgs, hidden: &Hidden) -> Result<RequestDefaults, SetupError> {
    // A header that carries a credential is one too, given with -H.
    let credential_header = request.headers.iter().any(|(name, _)| {
        ["authorization", "proxy-authorization", "cookie"]
            .iter()
            .any(|credential| name.eq_ignore_ascii_case(credential))
    });
    let refused = [
        ("-u/--user", request.user.is_some()),
        (
            "-H with Authorization, Proxy-Authorization or Cookie",
            credential_header,
        ),
        ("-b/--cookie", !request.cookies.is_empty()),
        ("--cookie-jar", request.cookie_jar.is_some()),
        ("--proxy", request.proxy.is_some()),
        ("--resolve", !request.resolve.is_empty()),
    ];
    if let Some((flag, _)) = refused.iter().find(|(_, given)| *given) {
        return Err(SetupError::new(format!(
            "enqueue does not take {flag}: it is not stored in the queue (credentials stay \
             off Redis); give it to `tb-host run --queue` on the machines that send"
        )));
    }
    let (_, defaults) = requests::apply(Pool::builder(), request, hidden)?;
    Ok(defaults)
}
