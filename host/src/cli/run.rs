//! `tb-host run`: flags to a pool, input to jobs, results to JSON lines.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};

use crate::hooks::{HookFactory, HookName};
use crate::input::UrlLines;
use crate::plugin::{PluginLimits, PluginRuntime};
use crate::session::default_settings;
use crate::{Canceller, Pool, PoolBuilder, RequestDefaults};

use super::SetupError;
use super::args::RunArgs;
use super::failures::FailureWriter;
use super::output::RecordWriter;
use super::scheduling;
use super::summary::Summary;

/// Runs `tb-host run`.
pub fn run(args: RunArgs) -> anyhow::Result<()> {
    let RunArgs {
        input,
        request,
        output,
        plugins,
        schedule,
    } = args;
    if !(request.timeout.is_finite() && request.timeout > 0.0) {
        return Err(SetupError::new("--timeout must be a positive number of seconds").into());
    }
    let input = open_input(input.as_deref()).map_err(SetupError::from)?;
    let limits = PluginLimits {
        timeout: Duration::from_millis(plugins.plugin_timeout.max(1)),
        memory: plugins.plugin_memory.max(1) << 20,
    };
    let hooks = load_plugins(&plugins.plugins, &plugins.plugin_config, limits)?;
    let defaults = RequestDefaults {
        method: request.method.to_ascii_uppercase(),
        headers: request.headers,
        ..RequestDefaults::default()
    };
    let mut session = default_settings();
    session.timeout_ms = Some((request.timeout * 1000.0).ceil() as u64);
    let builder = hooks.into_iter().fold(
        Pool::builder().session(session).keep_bodies(false),
        PoolBuilder::shared_hook,
    );
    let (builder, append) = scheduling::apply(builder, &schedule, output.output.as_deref())?;
    let records = RecordWriter::open(output.output.as_deref(), append).map_err(SetupError::from)?;
    let failures = match &output.failures {
        Some(path) => Some(FailureWriter::create(path, append).map_err(SetupError::from)?),
        None => None,
    };
    let pool = builder
        .from_input(UrlLines::new(input, defaults))
        .context("cannot start the pool")?;
    let summary = drive(pool, records, failures)?;
    if !output.quiet {
        eprintln!("{summary}");
    }
    summary.outcome()
}

/// Loads every plugin, each seeing every configuration pair.
pub fn load_plugins(
    paths: &[PathBuf],
    config: &[(String, String)],
    limits: PluginLimits,
) -> anyhow::Result<Vec<std::sync::Arc<dyn HookFactory>>> {
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    let runtime = PluginRuntime::new(limits)?;
    paths
        .iter()
        .map(|path| {
            let plugin = runtime
                .load(path, config.to_vec())
                .map_err(|e| SetupError::new(e.to_string()))?;
            tracing::info!(
                plugin = plugin.name(),
                version = plugin.version(),
                hooks = HookName::list(plugin.hooks()),
                "loaded {}",
                path.display()
            );
            Ok(std::sync::Arc::new(plugin) as std::sync::Arc<dyn HookFactory>)
        })
        .collect()
}

/// Streams every result of `pool` to the writers and counts it. The first
/// Ctrl-C cancels the pool (requests in flight finish, every job read ends
/// with a record); a second one exits at once.
pub fn drive(
    mut pool: Pool,
    mut records: RecordWriter,
    mut failures: Option<FailureWriter>,
) -> anyhow::Result<Summary> {
    let canceller = pool.canceller();
    let on_interrupt = canceller.clone();
    if let Err(error) = ctrlc::set_handler(move || interrupted(&on_interrupt)) {
        tracing::warn!("cannot catch Ctrl-C: {error}");
    }
    let mut summary = Summary::start();
    for result in pool.results() {
        records.write(&result).context("cannot write a record")?;
        if let (Err(failure), Some(out)) = (&result, failures.as_mut()) {
            out.write(failure)
                .context("cannot write the failures file")?;
        }
        summary.add(&result);
    }
    pool.join_all();
    records.finish().context("cannot write a record")?;
    if let Some(out) = failures {
        out.finish().context("cannot write the failures file")?;
    }
    summary.finish(canceller.is_cancelled());
    Ok(summary)
}

/// What Ctrl-C does during a run.
fn interrupted(canceller: &Canceller) {
    if canceller.is_cancelled() {
        eprintln!("tb-host: stopped");
        std::process::exit(130);
    }
    eprintln!(
        "tb-host: interrupted: finishing the requests in flight; jobs not yet sent \
         end as cancelled (Ctrl-C again to stop at once)"
    );
    canceller.cancel();
}

fn open_input(path: Option<&Path>) -> anyhow::Result<Box<dyn BufRead + Send>> {
    match path {
        None => Ok(Box::new(BufReader::new(io::stdin()))),
        Some(p) if p == Path::new("-") => Ok(Box::new(BufReader::new(io::stdin()))),
        Some(p) => {
            if p.is_dir() {
                bail!("input {} is a directory, not a file of URLs", p.display());
            }
            let file =
                File::open(p).with_context(|| format!("cannot open input file {}", p.display()))?;
            Ok(Box::new(BufReader::with_capacity(64 << 10, file)))
        }
    }
}
