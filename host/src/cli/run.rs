//! `tb-host run`: flags to a pool, input to jobs, results to JSON lines.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

use anyhow::{Context, bail};

use crate::input::Format;
use crate::{Canceller, Failure, Pool, PoolBuilder, Response};

use super::SetupError;
use super::args::RunArgs;
use super::failures::FailureWriter;
use super::files::{FileId, InputFile, Outputs};
use super::order::{self, Reorder};
use super::output::RecordWriter;
use super::progress::{self, Progress};
use super::summary::Summary;
use super::{bodies, requests, resume, scheduling};

/// Runs `tb-host run`.
pub fn run(args: RunArgs) -> anyhow::Result<()> {
    let RunArgs {
        input: input_path,
        input_format,
        request,
        output,
        plugins,
        schedule,
    } = args;
    let (input, input_file) = open_input(input_path.as_deref()).map_err(SetupError::from)?;
    let format = input_format
        .format
        .unwrap_or_else(|| Format::of_path(input_path.as_deref()));
    let hooks = super::plugins::load(&plugins)?;
    let (builder, defaults) = requests::apply(Pool::builder().keep_bodies(false), request)?;
    let builder = hooks.into_iter().fold(builder, PoolBuilder::shared_hook);
    let (builder, shard) = scheduling::apply(builder, &schedule)?;
    let builder = bodies::apply(builder, &output)?;
    let outputs = Outputs::open(
        output.output.as_deref(),
        output.failures.as_deref(),
        &input_file,
    )?;
    // Every check is done by now (for a resume, once its records are
    // checked): only from here on are the files emptied or repaired.
    let (records, failures, builder) = if schedule.resume {
        let input = resume::Input {
            path: input_path.as_deref().filter(|path| *path != Path::new("-")),
            format,
            defaults: &defaults,
        };
        let resumed = resume::prepare(outputs, input, shard)?;
        let done = resumed.done;
        let builder = builder.select(move |index| !done.contains(index));
        (Some(resumed.records), resumed.failures, builder)
    } else {
        let (records, failures) = outputs.empty()?;
        (records, failures, builder)
    };
    let (builder, order) = order::apply(builder, output.order);
    let records = match records {
        Some(file) => RecordWriter::new(file),
        None => RecordWriter::new(io::stdout().lock()),
    }
    .with_body_paths(output.save_bodies.is_some());
    let failures = failures.map(FailureWriter::new);
    let pool = builder
        .from_input(format.jobs(input, defaults))
        .context("cannot start the pool")?;
    // The total is known only for a whole input file (`-` is not one).
    let count = input_path
        .filter(|path| path.is_file() && schedule.shard.is_none() && !schedule.resume)
        .map(|path| (path, format));
    let sinks = Sinks {
        records,
        failures,
        order,
        progress: Progress::start(!output.quiet, count),
    };
    let summary = drive(pool, sinks)?;
    if !output.quiet {
        eprintln!("{summary}");
    }
    summary.outcome()
}

/// Where [`drive`] sends the results of a run.
pub struct Sinks {
    /// The JSON lines.
    pub records: RecordWriter,
    /// The failures file, when asked for.
    pub failures: Option<FailureWriter>,
    /// The reorder buffer of `--order input`; none writes in finish order.
    pub order: Option<Reorder>,
    /// The progress bar, cleared when the results end.
    pub progress: Progress,
}

impl Sinks {
    /// Records only, in finish order, without a progress bar.
    pub fn records_only(records: RecordWriter) -> Sinks {
        Sinks {
            records,
            failures: None,
            order: None,
            progress: Progress::hidden(),
        }
    }
}

/// Streams every result of `pool` to the sinks and counts it. The first
/// Ctrl-C cancels the pool (requests in flight finish, every job read ends
/// with a record); a second one exits at once.
pub fn drive(mut pool: Pool, sinks: Sinks) -> anyhow::Result<Summary> {
    let Sinks {
        mut records,
        mut failures,
        mut order,
        mut progress,
    } = sinks;
    let canceller = pool.canceller();
    let on_interrupt = canceller.clone();
    if let Err(error) = ctrlc::set_handler(move || interrupted(&on_interrupt)) {
        tracing::warn!("cannot catch Ctrl-C: {error}");
    }
    let mut summary = Summary::start();
    let mut results = pool.results();
    while let Some(result) = results.next() {
        summary.add(&result);
        progress.add(&result);
        let caught_up = results.caught_up();
        match order.as_mut() {
            Some(order) => order
                .push(result)
                .into_iter()
                .try_for_each(|result| write(&mut records, &mut failures, result))?,
            None => write(&mut records, &mut failures, result)?,
        }
        if caught_up {
            records.flush().context("cannot write a record")?;
        }
    }
    pool.join_all();
    if let Some(order) = order {
        order
            .finish()
            .try_for_each(|result| write(&mut records, &mut failures, result))?;
    }
    records.finish().context("cannot write a record")?;
    if let Some(out) = failures {
        out.finish().context("cannot write the failures file")?;
    }
    summary.finish(canceller.is_cancelled());
    Ok(summary)
}

/// Writes the record of one finished job, and the job to the failures file
/// if it failed and there is one.
fn write(
    records: &mut RecordWriter,
    failures: &mut Option<FailureWriter>,
    result: Result<Response, Failure>,
) -> anyhow::Result<()> {
    records.write(&result).context("cannot write a record")?;
    if let (Err(failure), Some(out)) = (&result, failures.as_mut()) {
        out.write(failure)
            .context("cannot write the failures file")?;
    }
    Ok(())
}

/// What Ctrl-C does during a run. Messages clear the progress bar first.
fn interrupted(canceller: &Canceller) {
    if canceller.is_cancelled() {
        progress::suspend(|| {
            eprintln!("tb-host: stopped");
            std::process::exit(130)
        });
    }
    progress::suspend(|| {
        eprintln!(
            "tb-host: interrupted: finishing the requests in flight; jobs not yet sent \
             end as cancelled (Ctrl-C again to stop at once)"
        )
    });
    canceller.cancel();
}

/// Opens the input: the file `path`, or stdin for none or `-`.
fn open_input(path: Option<&Path>) -> anyhow::Result<(Box<dyn BufRead + Send>, InputFile)> {
    match path {
        Some(p) if p != Path::new("-") => {
            if p.is_dir() {
                bail!("input {} is a directory, not a file of jobs", p.display());
            }
            let file =
                File::open(p).with_context(|| format!("cannot open input file {}", p.display()))?;
            let input = InputFile {
                name: p.display().to_string(),
                id: FileId::of(&file)?,
            };
            Ok((Box::new(BufReader::with_capacity(64 << 10, file)), input))
        }
        _ => {
            let input = InputFile {
                name: "stdin".to_owned(),
                id: FileId::of_stdin(),
            };
            Ok((Box::new(BufReader::new(io::stdin())), input))
        }
    }
}
