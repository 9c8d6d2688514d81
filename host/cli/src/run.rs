//! `tb-host run`: flags to a pool, input to jobs, results to JSON lines.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

use anyhow::{Context, bail};

use tb_host::{FailureKind, Pool, PoolBuilder, RequestDefaults};

use super::SetupError;
use super::args::{PluginArgs, RequestArgs, RunArgs, ScheduleArgs, Shard, TlsArgs};
use super::cookie_file;
use super::files::{FileId, InputFile};
use super::logging::Hidden;
use super::open_files::{self, Needs};
use super::output::RecordWriter;
use super::outputs::{Outputs, WriteError};
use super::progress::Progress;
use super::stop::{self, Stopper};
use super::summary::Summary;
use super::writers;
use super::{plugins, requests, resume, scheduling, signals, tls};

/// Runs `tb-host run`.
pub fn run(args: RunArgs, hidden: &Hidden) -> anyhow::Result<()> {
    let RunArgs {
        input: input_path,
        input_format,
        request,
        tls,
        output,
        plugins,
        schedule,
        queue,
    } = args;
    open_files::fit(Needs {
        workers: schedule.threads,
        per_worker_extra: u64::from(output.save_bodies.is_some()),
        plugins: plugins.sources.len(),
    })?;
    if let Some(address) = &queue.queue {
        let (builder, defaults, _) = pool_builder(&plugins, request, &tls, &schedule, hidden)?;
        let on = super::queue::On {
            address,
            args: &queue,
            threads: schedule.threads,
        };
        return super::queue::run(on, builder, defaults, &output, hidden);
    }
    let (input, input_file) = open_input(input_path.as_deref()).map_err(SetupError::from)?;
    let cookie_jar = request.cookie_jar.clone();
    if let Some(jar) = &cookie_jar {
        let others = [
            ("the input", input_file.id),
            ("-o", output.output.as_deref().and_then(FileId::at)),
            (
                "--failures",
                output.failures.as_deref().and_then(FileId::at),
            ),
        ];
        if let Some((other, _)) = others
            .iter()
            .find(|(_, id)| id.is_some() && *id == FileId::at(jar))
        {
            return Err(SetupError::new(format!(
                "--cookie-jar {} is {other}: the jar written at the end would destroy it; \
                 give --cookie-jar another name",
                jar.display()
            ))
            .into());
        }
    }
    let format = input_format.format(input_path.as_deref());
    let (builder, defaults, shard) = pool_builder(&plugins, request, &tls, &schedule, hidden)?;
    let resume = schedule.resume.then(|| resume::Input {
        path: input_path.as_deref().filter(|path| *path != Path::new("-")),
        format,
        defaults: &defaults,
        shard,
    });
    let (builder, mut writers) = writers::apply(builder, &output, &input_file, resume)?;
    writers.records = writers.records.hiding(hidden);
    let pool = builder
        .from_input(format.jobs(input, defaults))
        .context("cannot start the pool")?;
    let jars = pool.cookie_jars();
    // The total is known only for a whole input file (`-` is not one).
    let count = input_path
        .filter(|path| path.is_file() && schedule.shard.is_none() && !schedule.resume)
        .map(|path| (path, format));
    let sinks = Sinks {
        outputs: Outputs::new(writers.records, writers.failures),
        progress: Progress::start(!output.quiet, count, pool.retry_waits()),
        // `--resume` goes on in the output file: with none, there is no
        // command to show.
        resume: output.output.is_some().then(stop::resume_command),
    };
    let summary = drive(pool, sinks)?;
    if let Some(path) = &cookie_jar {
        cookie_file::save(path, &jars.cookies())?;
    }
    if !output.quiet {
        eprintln!("{summary}");
    } else if let Some(stopped) = summary.stopped() {
        eprintln!("{stopped}");
    }
    summary.outcome()
}

/// The pool the flags of `run` set up (plugins, requests, TLS,
/// scheduling), the defaults every job is made with, and the shard run.
pub fn pool_builder(
    plugins: &PluginArgs,
    request: RequestArgs,
    tls: &TlsArgs,
    schedule: &ScheduleArgs,
    hidden: &Hidden,
) -> anyhow::Result<(PoolBuilder, RequestDefaults, Option<Shard>)> {
    let builder = plugins::apply(Pool::builder().keep_bodies(false), plugins, hidden)?;
    let (builder, defaults) = requests::apply(builder, request, hidden)?;
    let builder = tls::apply(builder, tls)?;
    let (builder, shard) = scheduling::apply(builder, schedule)?;
    Ok((builder, defaults, shard))
}

/// Where [`drive`] sends the results of a run.
pub struct Sinks {
    /// Where the records and failures are written.
    pub outputs: Outputs,
    /// The progress bar, cleared when the results end.
    pub progress: Progress,
    /// The command that runs what is left of a run that stops early.
    pub resume: Option<String>,
}

impl Sinks {
    /// Records only, without a progress bar.
    pub fn records_only(records: RecordWriter) -> Sinks {
        Sinks {
            outputs: Outputs::new(records, None),
            progress: Progress::hidden(),
            resume: None,
        }
    }
}

/// Streams every result of `pool` to the sinks and counts it. A signal
/// stops the pool (requests in flight finish, every job read ends with a
/// record), and so does a file that fails a write (a full disk: see
/// [`super::stop`]); a second signal exits at once.
pub fn drive(mut pool: Pool, sinks: Sinks) -> anyhow::Result<Summary> {
    let Sinks {
        mut outputs,
        mut progress,
        resume,
    } = sinks;
    let unsent = outputs.unsent();
    let stopper = Stopper::new(pool.canceller(), unsent, outputs.activities());
    let on_signal = stopper.clone();
    if let Err(error) = signals::on_stop(move |signal| on_signal.signal(signal)) {
        tracing::warn!("cannot catch Ctrl-C: {error}");
    }
    let stop_on = |written: Result<(), WriteError>| {
        if let Err(WriteError(message)) = written {
            stopper.write_failed(message);
        }
    };
    let mut summary = Summary::start(unsent);
    let mut results = pool.results();
    while let Some(result) = results.next() {
        summary.add(&result);
        progress.add(&result);
        if let Err(failure) = &result
            && failure.kind() == FailureKind::Save
        {
            // The pool stopped itself; the message names the file.
            stopper.write_failed(failure.message().to_owned());
        }
        let caught_up = results.caught_up();
        stop_on(outputs.write(&result));
        if caught_up {
            stop_on(outputs.flush());
        }
    }
    pool.join_all();
    stop_on(outputs.flush());
    summary.finish(stopper.stopped(resume), &pool);
    Ok(summary)
}

/// Opens the input: the file `path`, or stdin for none or `-`.
pub fn open_input(path: Option<&Path>) -> anyhow::Result<(Box<dyn BufRead + Send>, InputFile)> {
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
