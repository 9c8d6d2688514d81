//! Writing results: one JSON line per finished job.
//!
//! Every record has `sha256`, the hex SHA-256 of the body as received,
//! or as decoded from its `content_encoding` with `--compressed` (null
//! for a failure); with `--save-bodies` it also has `body_path`, the
//! file the body went to (null for a failure). `redirects` counts the
//! redirects the last attempt followed; when there were any, `final_url`
//! is the URL that answered.

use std::borrow::Cow;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

use super::logging::Hidden;
use super::shown::{self, BodyFields};
use super::stall::{Activity, Watched};
use serde_json::Value;
use tb_host::{Failure, Response};

/// One output line. Field names are the documented record format.
#[derive(Serialize)]
struct Record<'a> {
    index: u64,
    method: &'a str,
    url: &'a str,
    status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_version: Option<&'static str>,
    attempts: u32,
    redirects: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    final_url: Option<&'a str>,
    elapsed_ms: f64,
    bytes: u64,
    sha256: Option<String>,
    /// The response's `Content-Encoding`, when it had one.
    #[serde(skip_serializing_if = "Option::is_none")]
    content_encoding: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body_path: Option<Option<Cow<'a, str>>>,
    error: Option<ErrorRecord<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    headers: Option<Value>,
    #[serde(flatten)]
    body: BodyFields,
}

#[derive(Serialize)]
struct ErrorRecord<'a> {
    kind: &'static str,
    /// With the run's secrets hidden ([`Hidden::shown`]): a
    /// server's message may echo what a plugin sent it.
    message: Cow<'a, str>,
}

/// Where the JSON lines go: stdout or a file, buffered. The run flushes it
/// whenever it has caught up with the finished jobs ([`RecordWriter::flush`]),
/// so a reader sees each job as soon as the writer is not busy with the
/// next, without a write per line when jobs finish faster than that (a
/// write per line was a tenth of a fast run's CPU).
pub struct RecordWriter {
    out: BufWriter<Watched<Box<dyn Write>>>,
    /// Whether records carry `body_path` (`--save-bodies`).
    body_paths: bool,
    /// What no error message in a record may show.
    hidden: Hidden,
    /// Whether records carry the response's headers (`--record-headers`).
    headers: bool,
    /// Whether records carry the body (`--record-body`).
    bodies: bool,
}

impl RecordWriter {
    /// Writes to `out`, which messages call `name`: stdout, or the file
    /// `-o` names ("the output file out.jsonl").
    pub fn new(out: impl Write + 'static, name: String) -> RecordWriter {
        let out: Box<dyn Write> = Box::new(out);
        RecordWriter {
            out: BufWriter::new(Watched::new(out, name)),
            body_paths: false,
            hidden: Hidden::default(),
            headers: false,
            bodies: false,
        }
    }

    /// The writes in progress, for the watch of a stalled output.
    pub fn activity(&self) -> Arc<Activity> {
        self.out.get_ref().activity()
    }

    /// Hides the values of `hidden` (the run's secrets) in the error
    /// messages of records; without, nothing is hidden.
    pub fn hiding(mut self, hidden: &Hidden) -> RecordWriter {
        self.hidden = hidden.clone();
        self
    }

    /// Whether every record has a `body_path`: when the bodies are saved.
    pub fn with_body_paths(mut self, saved: bool) -> RecordWriter {
        self.body_paths = saved;
        self
    }

    /// Whether records carry the response's headers and body (see
    /// `shown.rs`).
    pub fn with_responses(mut self, headers: bool, bodies: bool) -> RecordWriter {
        self.headers = headers;
        self.bodies = bodies;
        self
    }

    /// Writes the record of one finished job.
    pub fn write(&mut self, result: &Result<Response, Failure>) -> io::Result<()> {
        let record = match result {
            Ok(r) => Record {
                index: r.index(),
                method: &r.job().method,
                url: &r.job().url,
                status: Some(r.status()),
                http_version: Some(r.http_version()),
                attempts: r.attempts(),
                redirects: r.redirects(),
                final_url: (r.redirects() > 0).then(|| r.final_url()),
                elapsed_ms: millis(r.elapsed()),
                bytes: r.bytes(),
                sha256: Some(r.sha256_hex()),
                content_encoding: r.content_encoding(),
                body_path: self
                    .body_paths
                    .then(|| r.body_path().map(Path::to_string_lossy)),
                error: None,
                headers: self
                    .headers
                    .then(|| shown::headers(r.headers(), &self.hidden)),
                body: if self.bodies {
                    shown::body(r, &self.hidden)
                } else {
                    BodyFields::default()
                },
            },
            Err(f) => Record {
                index: f.index(),
                method: &f.job().method,
                url: &f.job().url,
                status: None,
                http_version: None,
                attempts: f.attempts(),
                redirects: 0,
                final_url: None,
                elapsed_ms: millis(f.elapsed()),
                bytes: 0,
                sha256: None,
                content_encoding: None,
                body_path: self.body_paths.then_some(None),
                error: Some(ErrorRecord {
                    kind: f.kind().as_str(),
                    message: self.hidden.shown(f.message()),
                }),
                headers: None,
                body: BodyFields::default(),
            },
        };
        serde_json::to_writer(&mut self.out, &record)?;
        self.out.write_all(b"\n")
    }

    /// Writes out what is buffered.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Gives the writer up after a write failed, writing nothing more of
    /// what is buffered (a `BufWriter` dropped would try again), and
    /// returns its name.
    pub fn abandon(self) -> String {
        let (out, _unwritten) = self.out.into_parts();
        out.name().to_owned()
    }
}

fn millis(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 10_000.0).round() / 10.0
}
