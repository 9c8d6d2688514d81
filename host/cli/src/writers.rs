//! `run`'s output flags applied: the pool's body options (`--body-limit`,
//! `--save-bodies`), the files the run writes (`-o`, `--failures`), emptied
//! or, with `--resume`, continued, the order of the records (`--order`,
//! which the pool keeps), and the writers of records and failures. `--quiet` is about what the
//! run shows rather than writes: `run.rs` applies it to the progress bar
//! and the summary.

use std::fs::DirBuilder;
use std::io::{self, Write};
use std::path::Path;

use super::SetupError;
use super::args::{Order, OutputArgs};
use super::failures::FailureWriter;
use super::files::{InputFile, OutputFiles};
use super::output::RecordWriter;
use super::resume;
use tb_host::PoolBuilder;

/// What the output flags set up beside the pool: where the results go.
pub struct Writers {
    /// The JSON lines: to `-o FILE`, or stdout.
    pub records: RecordWriter,
    /// The failed jobs, with `--failures FILE`.
    pub failures: Option<FailureWriter>,
}

/// Applies `args` to `builder`, and opens the files they name, read as
/// `input` is: with `resume` (`--resume`, and how to read the input again)
/// the records of `-o` are checked and the jobs done skipped; otherwise the
/// files are emptied. Every check is made, and the `--save-bodies`
/// directory created, before a file is emptied or repaired; a check that
/// fails is a set-up error. Whether bodies may be saved in the directory is
/// the pool's to check when it starts (see [`PoolBuilder::save_bodies`]):
/// a set-up error too.
pub fn apply(
    builder: PoolBuilder,
    args: &OutputArgs,
    input: &InputFile,
    resume: Option<resume::Input<'_>>,
) -> Result<(PoolBuilder, Writers), SetupError> {
    let mut builder = builder;
    if let Some(limit) = args.body_limit {
        builder = builder.body_limit(limit);
    }
    if let Some(dir) = &args.save_bodies {
        create_dir(dir).map_err(|e| {
            SetupError::new(format!(
                "cannot create the --save-bodies directory {}: {e}",
                dir.display()
            ))
        })?;
        builder = builder.save_bodies(dir);
    }
    if args.record_body {
        builder = builder.keep_bodies_up_to(args.record_body_limit);
    }
    let files = OutputFiles::open(args.output.as_deref(), args.failures.as_deref(), input)?;
    let (records, failures) = match resume {
        Some(input) => {
            let resumed = resume::prepare(files, input)?;
            let done = resumed.done;
            builder = builder.select(move |index| !done.contains(index));
            (Some(resumed.records), resumed.failures)
        }
        None => files.empty()?,
    };
    if args.order == Order::Input {
        builder = builder.in_input_order();
    }
    let records = match (records, &args.output) {
        (Some(file), Some(path)) => {
            record_writer(file, format!("the output file {}", path.display()), args)
        }
        _ => record_writer(io::stdout().lock(), "stdout".to_owned(), args),
    };
    let failures = failures.zip(args.failures.as_ref()).map(|(file, path)| {
        FailureWriter::new(file, format!("the failures file {}", path.display()))
    });
    let writers = Writers { records, failures };
    Ok((builder, writers))
}

/// A writer of records to `out` (which messages call `name`) with the
/// fields `args` ask for: `body_path`, `headers`, the body.
pub fn record_writer(out: impl Write + 'static, name: String, args: &OutputArgs) -> RecordWriter {
    RecordWriter::new(out, name)
        .with_body_paths(args.save_bodies.is_some())
        .with_responses(args.record_headers, args.record_body)
}

/// Creates `dir` and its missing parents. On unix they get mode 0755 (less
/// what the umask takes away) rather than the usual 0777: a directory the
/// group could write to, under a umask of 002, would then be refused.
fn create_dir(dir: &Path) -> io::Result<()> {
    let mut builder = DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o755);
    }
    builder.create(dir)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::flag_tests::{assert_shows, run_args};
    use tb_host::input::Format;
    use tb_host::{Failure, FailureKind, Job, Pool, RequestDefaults};

    /// A new empty directory for `test`.
    fn scratch(test: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tb-writers-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn urls() -> InputFile {
        InputFile {
            name: "urls.txt".to_owned(),
            id: None,
        }
    }

    #[test]
    fn output_flags_reach_the_builder_the_files_and_the_writers() {
        let dir = scratch("flags");
        let [out, failed, bodies] =
            ["out.jsonl", "failed.jsonl", "bodies/new"].map(|name| dir.join(name));
        std::fs::write(&out, "a record of an earlier run\n").unwrap();
        let args = run_args(&[
            "-o",
            out.to_str().unwrap(),
            "--failures",
            failed.to_str().unwrap(),
            "--order",
            "input",
            "--save-bodies",
            bodies.to_str().unwrap(),
            "--body-limit",
            "1M",
            "urls.txt",
        ]);
        let (builder, writers) = apply(Pool::builder(), &args.output, &urls(), None).unwrap();
        assert_shows(
            &builder,
            &[
                "limit: Some(1048576)",
                &format!("save_to: Some({bodies:?})"),
                "selected: false",
                "in_input_order: true",
            ],
        );
        assert!(bodies.is_dir(), "--save-bodies creates its directory");
        let Writers {
            mut records,
            failures,
            ..
        } = writers;
        let failure = Failure::new(
            7,
            Job::get("http://127.0.0.1/seven"),
            FailureKind::Connect,
            "refused",
        );
        failures.expect("--failures").write(&failure).unwrap();
        records.write(&Err(failure)).unwrap();
        records.flush().unwrap();
        let written = std::fs::read_to_string(&out).unwrap();
        assert!(!written.contains("earlier run"), "-o is emptied: {written}");
        assert!(written.contains(r#""index":7"#), "{written}");
        assert!(written.contains(r#""body_path":null"#), "{written}");
        let listed = std::fs::read_to_string(&failed).unwrap();
        assert!(listed.contains("http://127.0.0.1/seven"), "{listed}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn without_output_flags_nothing_is_set_and_records_go_to_stdout() {
        let (builder, writers) =
            apply(Pool::builder(), &run_args(&[]).output, &urls(), None).unwrap();
        assert_shows(
            &builder,
            &[
                "limit: None",
                "save_to: None",
                "selected: false",
                "in_input_order: false",
            ],
        );
        assert!(writers.failures.is_none());
        assert_eq!(writers.records.abandon(), "stdout");
    }

    #[test]
    fn resume_continues_the_output_file_and_skips_the_jobs_it_holds() {
        let dir = scratch("resume");
        let [input, out] = ["urls.txt", "out.jsonl"].map(|name| dir.join(name));
        let url = "http://127.0.0.1:9/done";
        std::fs::write(&input, format!("{url}\n")).unwrap();
        let mut earlier = RecordWriter::new(std::fs::File::create(&out).unwrap(), "-o".to_owned());
        let failure = Failure::new(0, Job::get(url), FailureKind::Connect, "refused");
        earlier.write(&Err(failure)).unwrap();
        earlier.flush().unwrap();
        let before = std::fs::read_to_string(&out).unwrap();
        let args = run_args(&[
            "--resume",
            "-o",
            out.to_str().unwrap(),
            input.to_str().unwrap(),
        ]);
        let defaults = RequestDefaults::default();
        let resume = args.schedule.resume.then_some(resume::Input {
            path: args.input.as_deref(),
            format: Format::Urls,
            defaults: &defaults,
            shard: None,
        });
        let (builder, writers) = apply(Pool::builder(), &args.output, &urls(), resume).unwrap();
        assert_eq!(
            writers.records.abandon(),
            format!("the output file {}", out.display())
        );
        assert_eq!(std::fs::read_to_string(&out).unwrap(), before, "kept");
        let mut pool = builder.from_urls([url], &defaults).unwrap();
        pool.join_all();
        assert_eq!(
            pool.exceptions().count(),
            0,
            "the job done is not run again"
        );
        assert_eq!(pool.responses().count(), 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
