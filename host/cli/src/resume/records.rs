//! Reading back the records of `-o FILE`: which job each is of, and
//! whether that job is done.
//!
//! Records are written one whole line at a time, so a run that was killed
//! leaves at most one torn line, at the end and without its newline: it is
//! noted here, to be cut off (its job runs again). A last line that is a
//! whole record whose newline was not written is kept. Any other line that
//! is not a record means the file is not the output of a run as it was
//! written, and nothing is touched; a hole of NUL bytes (what a log
//! rotation that truncated the file in place leaves) is named as such,
//! with what to do about it.
//!
//! Memory is 16 bytes a record ([`Entry`]), whatever the indexes say: a
//! record claiming index four billion costs what any other does.

use std::borrow::Cow;
use std::fs::File;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::{self, BufReader, Write};
use std::path::Path;

use serde::Deserialize;

use super::super::SetupError;
use super::super::args::Shard;
use super::AFRESH;
use tb_host::input::lines::{BoundedLines, Length};
use tb_host::wire::{TEXT_SHOWN, shorten};

/// Longest line read as a record; a longer one is not one. Far above any
/// record: a URL is at most 64 KiB, a line of input text in one 1 KiB.
const LONGEST: usize = 64 << 20;

/// How far a job got, by its record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// It got an HTTP response.
    Response,
    /// It failed for good: it stays failed, and is listed in `--failures`.
    Failed,
    /// It did not run to its end: it was cancelled before it was sent
    /// (`cancelled`), or its body could not be saved (`save`). It runs
    /// again and this record is dropped.
    Unfinished,
}

/// One record, as much of it as resuming keeps.
#[derive(Clone, Copy, Debug)]
pub struct Entry {
    /// The job's index in the input.
    pub index: u64,
    /// Which job it is: [`fingerprint`] of its method and URL.
    pub job: u32,
    /// How far it got.
    pub state: State,
}

// The 16 bytes a record the module's doc promises.
const _: () = assert!(std::mem::size_of::<Entry>() == 16);

/// Which job a method and URL are, in 32 bits: enough to tell a
/// different or reordered input (whose jobs differ by the thousand), and a
/// single changed job but once in four billion.
pub fn fingerprint(method: &str, url: &str) -> u32 {
    let mut hasher = DefaultHasher::new();
    (method, url).hash(&mut hasher);
    hasher.finish() as u32
}

/// What a record line holds that resuming reads; the rest is not looked
/// at.
#[derive(Deserialize)]
pub struct RecordLine<'a> {
    /// The job's index in the input.
    pub index: u64,
    /// The job's method.
    #[serde(borrow)]
    pub method: Cow<'a, str>,
    /// The job's URL.
    #[serde(borrow)]
    pub url: Cow<'a, str>,
    #[serde(borrow, default)]
    error: Option<ErrorLine<'a>>,
}

#[derive(Deserialize)]
struct ErrorLine<'a> {
    #[serde(borrow)]
    kind: Cow<'a, str>,
}

impl<'a> RecordLine<'a> {
    /// The record a line holds, if it is one.
    pub fn parse(line: &Line<'a>) -> Option<RecordLine<'a>> {
        if line.too_long {
            return None;
        }
        serde_json::from_slice(line.bytes).ok()
    }

    /// How far its job got.
    pub fn state(&self) -> State {
        match self.error.as_ref().map(|e| &*e.kind) {
            None => State::Response,
            Some("cancelled" | "save" | "paused" | "broken") => State::Unfinished,
            Some(_) => State::Failed,
        }
    }
}

/// How the file ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// With a newline, or empty.
    Whole,
    /// With a whole record but not its newline: it is added.
    NoNewline,
    /// With a torn line, from byte `at`: it is cut off.
    Torn {
        /// Where the torn line starts.
        at: u64,
        /// Its line number.
        line: u64,
    },
}

/// The records of an output file, sorted by index (a job may have more
/// than one, say a `cancelled` one and the one that replaced it).
pub struct Records {
    entries: Vec<Entry>,
    end: End,
}

impl Records {
    /// Reads the records of `file` (`-o path`). A record of a job that
    /// `shard` does not run is an error: the file was made with another
    /// `--shard`.
    pub fn read(file: &File, path: &Path, shard: Option<Shard>) -> Result<Records, SetupError> {
        let cannot = |e: io::Error| SetupError::new(format!("cannot read {}: {e}", path.display()));
        let mut lines = Lines::new(file).map_err(cannot)?;
        let mut entries = Vec::new();
        let mut end = End::Whole;
        while let Some(line) = lines.next().map_err(cannot)? {
            let Some(record) = RecordLine::parse(&line) else {
                if !line.newline {
                    end = End::Torn {
                        at: line.start,
                        line: line.number,
                    };
                    break;
                }
                return Err(not_a_record(path, &line));
            };
            if let Some(shard) = shard.filter(|s| !s.runs(record.index)) {
                return Err(SetupError::new(format!(
                    "-o {} line {} is a record of job {}, which --shard {shard} does not run: \
                     the file was written with another --shard; {AFRESH}",
                    path.display(),
                    line.number,
                    record.index
                )));
            }
            if !line.newline {
                end = End::NoNewline;
            }
            entries.push(Entry {
                index: record.index,
                job: fingerprint(&record.method, &record.url),
                state: record.state(),
            });
        }
        entries.sort_by_key(|entry| entry.index);
        Ok(Records { entries, end })
    }

    /// Every record, by index.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// How the file ends.
    pub fn end(&self) -> End {
        self.end
    }

    /// Whether some record is of a job that did not run to its end.
    pub fn any_unfinished(&self) -> bool {
        self.entries.iter().any(|e| e.state == State::Unfinished)
    }

    /// How many jobs are done: have a record that is not unfinished.
    pub fn done_count(&self) -> u64 {
        let (mut count, mut last) = (0, None);
        for entry in self.entries.iter().filter(|e| e.state != State::Unfinished) {
            if last != Some(entry.index) {
                (count, last) = (count + 1, Some(entry.index));
            }
        }
        count
    }

    /// Whether the job with `index` is done: it has a record that is not
    /// unfinished.
    pub fn is_done(&self, index: u64) -> bool {
        let first = self.entries.partition_point(|e| e.index < index);
        self.entries[first..]
            .iter()
            .take_while(|e| e.index == index)
            .any(|e| e.state != State::Unfinished)
    }

    /// Whether a record of the job with `index` is of the job `record`
    /// (a record line) is of: the same method and URL. False when there
    /// is none, or `record` is not a record.
    pub fn is_of(&self, index: u64, record: &str) -> bool {
        let Ok(line) = serde_json::from_str::<RecordLine<'_>>(record) else {
            return false;
        };
        let print = fingerprint(&line.method, &line.url);
        let first = self.entries.partition_point(|e| e.index < index);
        self.entries[first..]
            .iter()
            .take_while(|e| e.index == index)
            .any(|e| e.job == print)
    }
}

/// Copies the records of `from` that are not unfinished to `to`, each with
/// its newline; a torn last line is left out.
pub fn copy_finished(from: &File, to: &File) -> io::Result<()> {
    let mut lines = Lines::new(from)?;
    let mut out = io::BufWriter::new(to);
    while let Some(line) = lines.next()? {
        if RecordLine::parse(&line).is_some_and(|r| r.state() != State::Unfinished) {
            out.write_all(line.bytes)?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()
}

/// The first record of `file` that `wanted` picks, with its line number
/// and method and URL: for a message about it.
pub fn find(
    file: &File,
    wanted: impl Fn(&RecordLine<'_>) -> bool,
) -> io::Result<Option<(u64, String)>> {
    let mut lines = Lines::new(file)?;
    while let Some(line) = lines.next()? {
        if let Some(record) = RecordLine::parse(&line).filter(&wanted) {
            let job = format!("{} {}", record.method, shorten(&record.url, TEXT_SHOWN));
            return Ok(Some((line.number, job)));
        }
    }
    Ok(None)
}

/// The error for a line in the middle of `path` that is not a record.
fn not_a_record(path: &Path, line: &Line<'_>) -> SetupError {
    let shown = path.display();
    let message = match line.nuls {
        Some(nuls) => format!(
            "-o {shown} has {} NUL bytes at byte {} (line {}): a log rotation that truncated \
             it in place while a run wrote it? Move the file aside and start afresh, or keep \
             its whole records without the NULs \
             (`tr -d '\\000' < {shown} | grep '^{{\"index\"' > {shown}.fixed`) and resume \
             with -o {shown}.fixed",
            nuls.count, nuls.first, line.number
        ),
        None => format!(
            "-o {shown} line {} is not a record of tb-host run, so --resume cannot tell \
             which jobs are done; {AFRESH}",
            line.number
        ),
    };
    SetupError::new(message)
}

/// The NUL bytes of a line.
#[derive(Clone, Copy, Debug)]
struct Nuls {
    /// The file offset of the first.
    first: u64,
    /// How many.
    count: u64,
}

/// One line of a file, as [`Lines`] reads it.
pub struct Line<'a> {
    /// Its number, from 1.
    number: u64,
    /// The file offset of its first byte.
    start: u64,
    /// Its bytes, without the newline, at most [`LONGEST`].
    bytes: &'a [u8],
    /// Whether it ends with a newline (only the last line may not).
    newline: bool,
    /// Whether it is longer than [`LONGEST`] (and cut off there).
    too_long: bool,
    nuls: Option<Nuls>,
}

/// The lines of a file from its start, one at a time, each kept up to
/// [`LONGEST`] bytes (a hole of NUL bytes holds no newline: it could be
/// gigabytes long), with the NUL bytes of each counted.
struct Lines<'f> {
    lines: BoundedLines<BufReader<&'f File>>,
    number: u64,
}

impl<'f> Lines<'f> {
    fn new(file: &'f File) -> io::Result<Lines<'f>> {
        let mut file = file;
        io::Seek::rewind(&mut file)?;
        Ok(Lines {
            lines: BoundedLines::new(BufReader::with_capacity(64 << 10, file), LONGEST),
            number: 0,
        })
    }

    fn next(&mut self) -> io::Result<Option<Line<'_>>> {
        let mut nuls = None::<Nuls>;
        let count_nuls = |offset: u64, part: &[u8]| {
            if let Some(at) = part.iter().position(|&b| b == 0) {
                let count = part.iter().filter(|&&b| b == 0).count() as u64;
                let first = offset + at as u64;
                nuls = Some(nuls.map_or(Nuls { first, count }, |n| Nuls {
                    count: n.count + count,
                    ..n
                }));
            }
        };
        let Some(read) = self.lines.read_line(count_nuls)? else {
            return Ok(None);
        };
        self.number += 1;
        Ok(Some(Line {
            number: self.number,
            start: read.start,
            bytes: self.lines.line(),
            newline: read.newline,
            too_long: read.length != Length::Whole,
            nuls,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file holding `text`, removed when dropped.
    struct Scratch(std::path::PathBuf);

    impl Scratch {
        fn new(name: &str, text: &[u8]) -> Scratch {
            let path =
                std::env::temp_dir().join(format!("tb-records-{}-{name}", std::process::id()));
            std::fs::write(&path, text).unwrap();
            Scratch(path)
        }

        fn read(&self, shard: Option<Shard>) -> Result<Records, SetupError> {
            Records::read(&File::open(&self.0).unwrap(), &self.0, shard)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    fn record(index: u64, kind: Option<&str>) -> String {
        let error = kind.map_or("null".to_owned(), |k| format!("{{\"kind\":\"{k}\"}}"));
        format!(
            "{{\"index\":{index},\"method\":\"GET\",\"url\":\"http://a/{index}\",\"error\":{error}}}"
        )
    }

    #[test]
    fn reads_the_jobs_done_and_notes_a_torn_last_line() {
        let whole = format!("{}\n{}\n", record(2, None), record(0, Some("connect")));
        let file = Scratch::new("torn", format!("{whole}{{\"index\":1,\"me").as_bytes());
        let records = file.read(None).unwrap();
        assert!(records.is_done(0) && records.is_done(2) && !records.is_done(1));
        assert_eq!(records.done_count(), 2);
        let at = whole.len() as u64;
        assert_eq!(records.end(), End::Torn { at, line: 3 });
        assert_eq!(records.entries()[0].state, State::Failed);
        assert_eq!(records.entries()[0].job, fingerprint("GET", "http://a/0"));
    }

    #[test]
    fn a_whole_record_without_its_newline_is_kept() {
        let file = Scratch::new("one-line", record(0, None).as_bytes());
        let records = file.read(None).unwrap();
        assert!(records.is_done(0));
        assert_eq!(records.end(), End::NoNewline);
    }

    #[test]
    fn cancelled_and_unsaved_jobs_are_not_done() {
        let text = [
            record(0, Some("cancelled")),
            record(1, Some("save")),
            record(2, Some("cancelled")),
            record(2, None),
        ]
        .join("\n");
        let records = Scratch::new("unfinished", text.as_bytes())
            .read(None)
            .unwrap();
        assert!(!records.is_done(0) && !records.is_done(1) && records.is_done(2));
        assert!(records.any_unfinished());
        assert_eq!(records.done_count(), 1);
    }

    #[test]
    fn a_bad_line_in_the_middle_is_refused_naming_it() {
        let text = format!("{}\nnot json\n{}\n", record(0, None), record(1, None));
        let error = Scratch::new("middle", text.as_bytes())
            .read(None)
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("line 2 is not a record"), "{error}");
    }

    #[test]
    fn a_hole_of_nul_bytes_is_named_with_its_place_and_what_to_do() {
        let mut text = vec![0; 5000];
        text.extend_from_slice(format!("\n{}\n", record(1, None)).as_bytes());
        let error = Scratch::new("nul", &text)
            .read(None)
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("5000 NUL bytes at byte 0"), "{error}");
        assert!(error.contains("tr -d"), "{error}");
    }

    #[test]
    fn a_record_outside_the_shard_is_refused_naming_its_line() {
        let text = format!("{}\n{}\n", record(1, None), record(5, None));
        let shard = Shard {
            index: Some(1),
            count: 3,
        };
        let file = Scratch::new("shard", text.as_bytes());
        let error = file.read(Some(shard)).err().unwrap().to_string();
        assert!(error.contains("line 2"), "{error}");
        assert!(error.contains("--shard 1/3"), "{error}");
    }

    #[test]
    fn copies_only_finished_records_each_with_its_newline() {
        let text = format!(
            "{}\n{}\n{}\n{{\"ind",
            record(0, None),
            record(1, Some("cancelled")),
            record(2, Some("timeout"))
        );
        let from = Scratch::new("copy-from", text.as_bytes());
        let to = Scratch::new("copy-to", b"");
        let out = std::fs::OpenOptions::new()
            .append(true)
            .open(&to.0)
            .unwrap();
        copy_finished(&File::open(&from.0).unwrap(), &out).unwrap();
        let copied = std::fs::read_to_string(&to.0).unwrap();
        assert_eq!(
            copied,
            format!("{}\n{}\n", record(0, None), record(2, Some("timeout")))
        );
    }
}
