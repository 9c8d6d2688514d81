//! Reading one response body as it streams: every chunk is hashed
//! (SHA-256), kept in memory only when the pool keeps bodies, written to a
//! file when the pool saves bodies, and reading stops at the body limit.
//!
//! Nothing here holds more than one chunk of a body unless bodies are kept,
//! so a pool that does not keep them reads bodies of any size in constant
//! memory. A body in a content coding is decoded first, when the pool
//! decodes bodies (`decode.rs`): everything here is then of the decoded
//! body, the limit included.
//!
//! A saved body is written to a part file of its own (see `body_dir.rs`)
//! and gets its final name only when its attempt ends the job
//! ([`Body::place`]): the body of an attempt that is retried, or of a job
//! that fails, is removed with its part file, so the file a record names
//! is always that of the attempt the record describes.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::body_dir;
use super::decode::{Coding, Decoder};
use crate::failure::{FailureKind, error_chain};

/// What the pool does with bodies; see [`crate::PoolBuilder::keep_bodies`],
/// [`crate::PoolBuilder::body_limit`] and [`crate::PoolBuilder::save_bodies`].
#[derive(Clone, Debug)]
pub(crate) struct BodyOptions {
    /// Keep each body in memory, in the [`crate::Response`], up to this
    /// many bytes (none: not kept).
    pub keep: Option<u64>,
    /// The most bytes read of one body; a longer body fails the job.
    pub limit: Option<u64>,
    /// Write each body to `<dir>/<index>.body`.
    pub save_to: Option<PathBuf>,
    /// Ask for bodies in the codings `decode.rs` knows, and decode them.
    pub decompress: bool,
}

/// A body read to its end.
#[derive(Debug)]
pub(crate) struct Body {
    /// The body, when kept (its start only, if it was longer than bodies
    /// are kept); empty otherwise.
    pub data: Vec<u8>,
    /// Whether `data` is only the start of a longer body.
    pub cut: bool,
    /// How many bytes were received.
    pub bytes: u64,
    /// SHA-256 of the bytes received.
    pub sha256: [u8; 32],
    /// The saved body, when bodies are saved.
    pub saved: Option<Saved>,
    /// The first bytes, as many as the retry hooks asked to see.
    pub prefix: Vec<u8>,
}

impl Body {
    /// Gives a saved body its final name, `<dir>/<index>.body`, replacing
    /// whatever entry has that name (a link there is replaced, not
    /// followed). Called only for the attempt that ends its job: a body
    /// never placed is removed when dropped.
    pub fn place(&mut self) -> Result<(), BodyError> {
        self.saved = match self.saved.take() {
            Some(Saved::Part(part)) => Some(Saved::Placed(part.place()?)),
            placed => placed,
        };
        Ok(())
    }
}

/// Where a saved body is.
#[derive(Debug)]
pub(crate) enum Saved {
    /// Written whole to its part file, not yet in place (boxed: a reply
    /// travels by value, and this keeps it as small as a path).
    Part(Box<PartFile>),
    /// Put in place by [`Body::place`], at this path.
    Placed(PathBuf),
}

impl Saved {
    /// The path of a body put in place; `None` for one still in its part
    /// file, which is removed with it.
    pub fn into_placed(self) -> Option<PathBuf> {
        match self {
            Saved::Placed(path) => Some(path),
            Saved::Part(_) => None,
        }
    }
}

/// Why a body could not be read.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// The body is longer than the limit: reading stopped there. Running
    /// the job again would not help, so it is never retried.
    TooLarge { limit: u64 },
    /// The connection failed while the body was read. The error holds no
    /// URL: the record has the job's, and the one sent may carry a secret
    /// a plugin put in it.
    Read(reqwest::Error),
    /// The body could not be written to its file.
    Save { path: PathBuf, error: io::Error },
    /// The body is not in the coding its `Content-Encoding` says (or it
    /// stops short). Another attempt would most likely get the same.
    /// (`None`: a body taken as it came, which only its reading fails.)
    Decode {
        coding: Option<Coding>,
        error: io::Error,
    },
}

impl BodyError {
    /// Whether another attempt might read the body: not when it is over
    /// the limit, nor when it cannot be saved (the run stops then).
    pub fn retryable(&self) -> bool {
        matches!(self, BodyError::Read(_))
    }

    /// The failure kind and message of a job that ends with this error.
    pub fn describe(&self) -> (FailureKind, String) {
        match self {
            BodyError::TooLarge { limit } => (
                FailureKind::Body,
                format!(
                    "the body is larger than the limit of {limit} bytes; reading stopped there"
                ),
            ),
            BodyError::Read(error) => (
                FailureKind::of(error),
                format!("reading the body: {}", error_chain(error)),
            ),
            BodyError::Save { path, error } => (
                FailureKind::Save,
                format!("cannot save the body to {}: {error}", path.display()),
            ),
            BodyError::Decode { coding, error } => (
                FailureKind::Body,
                match coding {
                    Some(coding) => format!(
                        "the body is not valid {} (its Content-Encoding): {error}",
                        coding.name()
                    ),
                    None => format!("reading the body: {error}"),
                },
            ),
        }
    }
}

/// The file a saved body of the job with `index` goes to, in `dir`.
pub(crate) fn saved_path(dir: &Path, index: u64) -> PathBuf {
    dir.join(format!("{index}.body"))
}

/// Reads the body of `response`, the answer to the job with `index`,
/// keeping its first (decoded) `prefix` bytes apart and decoding it from
/// `coding`, if any.
pub(crate) async fn read(
    response: &mut reqwest::Response,
    index: u64,
    prefix: usize,
    coding: Option<Coding>,
    options: &BodyOptions,
) -> Result<Body, BodyError> {
    // A declared length is the coded body's, which says nothing of the
    // decoded one's.
    let length = response.content_length().filter(|_| coding.is_none());
    let mut reading = Reading::start(length, index, options)?;
    reading.prefix_len = prefix;
    let mut decoder = Decoder::new(coding, reading);
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| BodyError::Read(e.without_url()))?
    {
        if let Err(error) = decoder.write_all(&chunk) {
            return Err(stopped(decoder.sink_mut(), coding, error));
        }
    }
    match decoder.finish() {
        Ok(reading) => Ok(reading.finish()),
        Err(error) => Err(stopped(None, coding, error)),
    }
}

/// Why writing to `reading` through a decoder failed with `error`: what
/// the body's reading refused (the limit, a full disk), else the coding.
fn stopped(
    reading: Option<&mut Reading<'_>>,
    coding: Option<Coding>,
    error: io::Error,
) -> BodyError {
    match reading.and_then(|reading| reading.refused.take()) {
        Some(refused) => refused,
        None => BodyError::Decode { coding, error },
    }
}

/// A body being read, fed chunk by chunk as they arrive.
struct Reading<'a> {
    options: &'a BodyOptions,
    file: Option<PartFile>,
    data: Vec<u8>,
    cut: bool,
    hasher: Sha256,
    bytes: u64,
    /// How many leading bytes to keep in `prefix`.
    prefix_len: usize,
    prefix: Vec<u8>,
    /// Why the last write was refused, for the reader of the decoder that
    /// writes here (which sees only an I/O error).
    refused: Option<BodyError>,
}

impl<'a> Reading<'a> {
    /// Starts reading the body of the job with `index`. `length` is the
    /// declared length, if any: a body declared over the limit fails before
    /// a byte is read.
    fn start(
        length: Option<u64>,
        index: u64,
        options: &'a BodyOptions,
    ) -> Result<Reading<'a>, BodyError> {
        if let (Some(limit), Some(length)) = (options.limit, length)
            && length > limit
        {
            return Err(BodyError::TooLarge { limit });
        }
        let file = match &options.save_to {
            Some(dir) => Some(PartFile::create(dir, index)?),
            None => None,
        };
        Ok(Reading {
            options,
            file,
            data: Vec::new(),
            cut: false,
            hasher: Sha256::new(),
            bytes: 0,
            prefix_len: 0,
            prefix: Vec::new(),
            refused: None,
        })
    }

    /// Takes the next chunk; fails as soon as the body goes past the limit.
    fn push(&mut self, chunk: &[u8]) -> Result<(), BodyError> {
        self.bytes += chunk.len() as u64;
        if let Some(limit) = self.options.limit
            && self.bytes > limit
        {
            return Err(BodyError::TooLarge { limit });
        }
        self.hasher.update(chunk);
        let room = self.prefix_len.saturating_sub(self.prefix.len());
        self.prefix
            .extend_from_slice(&chunk[..room.min(chunk.len())]);
        if let Some(keep) = self.options.keep {
            let room = usize::try_from(keep)
                .unwrap_or(usize::MAX)
                .saturating_sub(self.data.len());
            self.data.extend_from_slice(&chunk[..room.min(chunk.len())]);
            self.cut |= chunk.len() > room;
        }
        if let Some(file) = &mut self.file {
            file.write(chunk)?;
        }
        Ok(())
    }

    /// The whole body, once its last chunk was taken; a saved one is still
    /// in its part file (see [`Body::place`]).
    fn finish(self) -> Body {
        Body {
            data: self.data,
            cut: self.cut,
            bytes: self.bytes,
            sha256: self.hasher.finalize().into(),
            saved: self.file.map(|part| Saved::Part(Box::new(part))),
            prefix: self.prefix,
        }
    }
}

/// What a decoder writes goes through [`Reading::push`]; a refusal is
/// kept in `refused` and the decoder stops on the I/O error it gets.
impl Write for Reading<'_> {
    fn write(&mut self, chunk: &[u8]) -> io::Result<usize> {
        match self.push(chunk) {
            Ok(()) => Ok(chunk.len()),
            Err(error) => {
                self.refused = Some(error);
                Err(io::Error::other("the body's reading stopped"))
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A body being saved: written to a part file with a name of its own,
/// created new (see `body_dir.rs`), and renamed to `<index>.body` once whole
/// and kept, so a body file is never a torn one. Removed if dropped before.
#[derive(Debug)]
pub(crate) struct PartFile {
    file: File,
    part: PathBuf,
    path: PathBuf,
    /// Renamed to `path`: the part name is no longer ours to remove.
    placed: bool,
}

impl PartFile {
    /// A new part file in `dir` for the body of the job with `index`.
    fn create(dir: &Path, index: u64) -> Result<PartFile, BodyError> {
        let path = saved_path(dir, index);
        match body_dir::create_new(dir, &index.to_string()) {
            Ok((file, part)) => Ok(PartFile {
                file,
                part,
                path,
                placed: false,
            }),
            Err(error) => Err(BodyError::Save { path, error }),
        }
    }

    fn write(&mut self, chunk: &[u8]) -> Result<(), BodyError> {
        self.file.write_all(chunk).map_err(|error| BodyError::Save {
            path: self.part.clone(),
            error,
        })
    }

    /// Renames the part file to the body's final name, which nothing
    /// opens: `rename(2)` replaces a link there rather than follow it.
    fn place(mut self) -> Result<PathBuf, BodyError> {
        std::fs::rename(&self.part, &self.path).map_err(|error| BodyError::Save {
            path: self.path.clone(),
            error,
        })?;
        self.placed = true;
        Ok(self.path.clone())
    }
}

impl Drop for PartFile {
    fn drop(&mut self) {
        if !self.placed {
            let _ = std::fs::remove_file(&self.part);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(keep: bool, limit: Option<u64>, save_to: Option<PathBuf>) -> BodyOptions {
        BodyOptions {
            keep: keep.then_some(u64::MAX),
            limit,
            save_to,
            decompress: false,
        }
    }

    /// Reads `chunks` as one body declared `length` long.
    fn read_chunks(
        chunks: &[&[u8]],
        length: Option<u64>,
        index: u64,
        options: &BodyOptions,
    ) -> Result<Body, BodyError> {
        let mut reading = Reading::start(length, index, options)?;
        for chunk in chunks {
            reading.push(chunk)?;
        }
        Ok(reading.finish())
    }

    fn hex(digest: &[u8]) -> String {
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn keeps_the_start_of_a_body_and_says_it_is_cut() {
        let kept = BodyOptions {
            keep: Some(4),
            ..options(true, None, None)
        };
        let body = read_chunks(&[b"abc", b"def"], None, 0, &kept).unwrap();
        assert_eq!(
            (body.data.as_slice(), body.cut, body.bytes),
            (&b"abcd"[..], true, 6)
        );
        let whole = read_chunks(&[b"ab", b"cd"], None, 0, &kept).unwrap();
        assert_eq!((whole.data.as_slice(), whole.cut), (&b"abcd"[..], false));
    }

    #[test]
    fn hashes_and_counts_without_keeping() {
        let body = read_chunks(&[b"a", b"bc"], None, 0, &options(false, None, None)).unwrap();
        assert_eq!(body.bytes, 3);
        assert!(body.data.is_empty());
        assert_eq!(
            hex(&body.sha256),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn keeps_a_body_of_many_chunks() {
        let input = vec![7u8; 40_000];
        let chunks: Vec<&[u8]> = input.chunks(16_384).collect();
        let body = read_chunks(&chunks, None, 0, &options(true, None, None)).unwrap();
        assert_eq!(body.data, input);
        assert_eq!(body.bytes, input.len() as u64);
    }

    #[test]
    fn keeps_the_asked_prefix_across_chunks_without_keeping_the_body() {
        let options = options(false, None, None);
        let mut reading = Reading::start(None, 0, &options).unwrap();
        reading.prefix_len = 5;
        for chunk in [&b"abc"[..], b"defg", b"hij"] {
            reading.push(chunk).unwrap();
        }
        let body = reading.finish();
        assert_eq!(body.prefix, b"abcde");
        assert!(body.data.is_empty());
        assert_eq!(body.bytes, 10);
    }

    #[test]
    fn a_body_of_exactly_the_limit_is_read() {
        let input = vec![1u8; 1000];
        let body = read_chunks(
            &[&input[..600], &input[600..]],
            None,
            0,
            &options(true, Some(1000), None),
        );
        assert_eq!(body.unwrap().bytes, 1000);
    }

    #[test]
    fn reading_stops_at_the_chunk_past_the_limit() {
        let input = vec![1u8; 600];
        let options = options(true, Some(1000), None);
        let mut reading = Reading::start(None, 0, &options).unwrap();
        reading.push(&input).unwrap();
        let error = reading.push(&input).unwrap_err();
        assert!(matches!(error, BodyError::TooLarge { limit: 1000 }));
        assert!(!error.retryable());
        assert_eq!(
            reading.data.len(),
            600,
            "the chunk past the limit is not kept"
        );
        assert!(error.describe().1.contains("1000 bytes"));
    }

    #[test]
    fn a_declared_length_over_the_limit_fails_before_reading() {
        let error = read_chunks(&[], Some(5000), 0, &options(false, Some(1000), None));
        assert!(matches!(error, Err(BodyError::TooLarge { limit: 1000 })));
    }

    /// The names in `dir`, sorted.
    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn saves_placed_bodies_and_leaves_no_part_file_behind() {
        let dir = std::env::temp_dir().join(format!("tb-host-body-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let saving = options(false, Some(4), Some(dir.clone()));
        let mut body = read_chunks(&[b"ab", b"cd"], None, 7, &saving).unwrap();
        assert!(
            matches!(body.saved, Some(Saved::Part(_))),
            "not in place before `place`"
        );
        assert_eq!(names(&dir).len(), 1, "one part file");
        body.place().unwrap();
        let saved = body.saved.and_then(Saved::into_placed);
        assert_eq!(saved, Some(dir.join("7.body")));
        assert_eq!(std::fs::read(dir.join("7.body")).unwrap(), b"abcd");
        assert!(read_chunks(&[b"abc", b"de"], None, 8, &saving).is_err());
        let unplaced = read_chunks(&[b"a"], None, 9, &saving).unwrap();
        drop(unplaced);
        assert_eq!(names(&dir), ["7.body"], "only the placed body is left");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
