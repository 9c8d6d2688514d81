//! Content codings: a body sent in gzip, deflate, brotli or zstd
//! (`Content-Encoding`) decoded as it streams, chunk by chunk, into the
//! writer that hashes, counts, keeps, saves and limits it (`body.rs`).
//!
//! The decoders write what they decode to that writer as they go, a
//! buffer at a time, so a body is never whole in memory here, and a small
//! body that inflates to gigabytes (a decompression bomb) stops as soon as
//! the writer refuses more: at the body limit.
//!
//! The decoders are the well-kept crates reqwest itself would use (flate2,
//! brotli's decompressor, zstd); reqwest's own decoding is not used
//! because it drops `Content-Encoding` from the response, and the record
//! says which coding came.

use std::io::{self, Write};

use reqwest::header::{CONTENT_ENCODING, HeaderMap};

/// The `Accept-Encoding` sent when bodies are decoded: every coding
/// decoded here.
pub(crate) const ACCEPTED: &str = "gzip, deflate, br, zstd";

/// A content coding that is decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Coding {
    /// `gzip` (RFC 1952), `x-gzip` too.
    Gzip,
    /// `deflate`: the zlib format (RFC 1950), as HTTP defines it.
    Deflate,
    /// `br` (RFC 7932).
    Brotli,
    /// `zstd` (RFC 8878).
    Zstd,
}

impl Coding {
    /// The coding of a response with `headers`: `None` when it has no
    /// `Content-Encoding`, `identity`, several codings, or one not decoded
    /// here (the body is then taken as it came).
    pub fn of(headers: &HeaderMap) -> Option<Coding> {
        let mut values = headers.get_all(CONTENT_ENCODING).iter();
        let value = values.next()?.to_str().ok()?.trim();
        if values.next().is_some() {
            return None;
        }
        match value.to_ascii_lowercase().as_str() {
            "gzip" | "x-gzip" => Some(Coding::Gzip),
            "deflate" => Some(Coding::Deflate),
            "br" => Some(Coding::Brotli),
            "zstd" => Some(Coding::Zstd),
            _ => None,
        }
    }

    /// The coding's name, as `Content-Encoding` gives it.
    pub fn name(self) -> &'static str {
        match self {
            Coding::Gzip => "gzip",
            Coding::Deflate => "deflate",
            Coding::Brotli => "br",
            Coding::Zstd => "zstd",
        }
    }
}

/// Writes a body's bytes as they came, decoded, to `W`. The decoder is
/// made only when the first byte comes, so an empty body (a `HEAD`, a
/// 304) is no error in any coding.
pub(crate) enum Decoder<W: Write> {
    /// No byte yet; `None` for a body that is not decoded.
    Waiting(Option<Coding>, W),
    /// Taken as it comes.
    Plain(W),
    Gzip(flate2::write::GzDecoder<W>),
    Deflate(flate2::write::ZlibDecoder<W>),
    Brotli(Box<brotli_decompressor::DecompressorWriter<W>>),
    Zstd(zstd::stream::write::Decoder<'static, W>),
    /// For a moment only, while the sink moves into its decoder.
    Moving,
}

/// The decompressor's window: how much of the output it holds at once.
const BROTLI_BUFFER: usize = 4096;

impl<W: Write> Decoder<W> {
    /// A decoder of `coding` (`None`: none) into `sink`.
    pub fn new(coding: Option<Coding>, sink: W) -> Decoder<W> {
        Decoder::Waiting(coding, sink)
    }

    /// Decodes `chunk`, the body's next bytes, into the sink. An error is
    /// the sink's or the coding's (a body that is not what it says).
    pub fn write_all(&mut self, chunk: &[u8]) -> io::Result<()> {
        if chunk.is_empty() {
            return Ok(());
        }
        if let Decoder::Waiting(..) = self {
            let Decoder::Waiting(coding, sink) = std::mem::replace(self, Decoder::Moving) else {
                unreachable!("matched above")
            };
            *self = match coding {
                None => Decoder::Plain(sink),
                Some(Coding::Gzip) => Decoder::Gzip(flate2::write::GzDecoder::new(sink)),
                Some(Coding::Deflate) => Decoder::Deflate(flate2::write::ZlibDecoder::new(sink)),
                Some(Coding::Brotli) => Decoder::Brotli(Box::new(
                    brotli_decompressor::DecompressorWriter::new(sink, BROTLI_BUFFER),
                )),
                Some(Coding::Zstd) => Decoder::Zstd(zstd::stream::write::Decoder::new(sink)?),
            };
        }
        match self {
            Decoder::Waiting(..) | Decoder::Moving => unreachable!("a decoder is made above"),
            Decoder::Plain(sink) => sink.write_all(chunk),
            Decoder::Gzip(decoder) => decoder.write_all(chunk),
            Decoder::Deflate(decoder) => decoder.write_all(chunk),
            Decoder::Brotli(decoder) => decoder.write_all(chunk),
            Decoder::Zstd(decoder) => decoder.write_all(chunk),
        }
    }

    /// The sink, to look at between writes; `None` after a decoder could
    /// not be made.
    pub fn sink_mut(&mut self) -> Option<&mut W> {
        match self {
            Decoder::Waiting(_, sink) | Decoder::Plain(sink) => Some(sink),
            Decoder::Gzip(decoder) => Some(decoder.get_mut()),
            Decoder::Deflate(decoder) => Some(decoder.get_mut()),
            Decoder::Brotli(decoder) => Some(decoder.get_mut()),
            Decoder::Zstd(decoder) => Some(decoder.get_mut()),
            Decoder::Moving => None,
        }
    }

    /// Ends the body: what the decoder still holds goes to the sink, and a
    /// coded body that stopped short (no gzip trailer, a checksum that
    /// does not match, an unfinished stream) is an error.
    pub fn finish(self) -> io::Result<W> {
        match self {
            Decoder::Waiting(_, sink) | Decoder::Plain(sink) => Ok(sink),
            Decoder::Gzip(decoder) => decoder.finish(),
            Decoder::Deflate(decoder) => decoder.finish(),
            Decoder::Brotli(mut decoder) => {
                decoder.close()?;
                decoder.into_inner().map_err(|_| {
                    io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the brotli stream is not whole",
                    )
                })
            }
            Decoder::Zstd(decoder) => decoder.finish(),
            Decoder::Moving => Err(io::Error::other("the decoder could not be made")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    /// `coded` fed to a decoder of `coding` in chunks of `size`.
    fn decode(coding: Option<Coding>, coded: &[u8], size: usize) -> io::Result<Vec<u8>> {
        let mut decoder = Decoder::new(coding, Vec::new());
        for chunk in coded.chunks(size) {
            decoder.write_all(chunk)?;
        }
        decoder.finish()
    }

    #[test]
    fn the_coding_is_read_from_content_encoding() {
        let mut headers = HeaderMap::new();
        assert_eq!(Coding::of(&headers), None);
        for (value, coding) in [
            ("gzip", Some(Coding::Gzip)),
            (" X-Gzip ", Some(Coding::Gzip)),
            ("deflate", Some(Coding::Deflate)),
            ("BR", Some(Coding::Brotli)),
            ("zstd", Some(Coding::Zstd)),
            ("identity", None),
            ("gzip, br", None),
            ("compress", None),
        ] {
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static(value));
            assert_eq!(Coding::of(&headers), coding, "{value:?}");
        }
        headers.append(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        assert_eq!(Coding::of(&headers), None, "two codings: taken as it came");
    }

    #[test]
    fn gzip_zlib_and_zstd_bodies_decode_in_chunks_of_any_size() {
        let plain: Vec<u8> = (0..50_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        zlib.write_all(&plain).unwrap();
        let zlib = zlib.finish().unwrap();
        let zstd = zstd::encode_all(plain.as_slice(), 1).unwrap();
        for size in [1, 7, 4096, usize::MAX] {
            let size = size.min(plain.len());
            assert_eq!(
                decode(Some(Coding::Gzip), &gzip(&plain), size).unwrap(),
                plain
            );
            assert_eq!(decode(Some(Coding::Deflate), &zlib, size).unwrap(), plain);
            assert_eq!(decode(Some(Coding::Zstd), &zstd, size).unwrap(), plain);
            assert_eq!(decode(None, &plain, size).unwrap(), plain);
        }
    }

    #[test]
    fn an_empty_body_is_no_error_in_any_coding() {
        for coding in [Coding::Gzip, Coding::Deflate, Coding::Brotli, Coding::Zstd] {
            assert_eq!(decode(Some(coding), b"", 1).unwrap(), b"", "{coding:?}");
        }
    }

    #[test]
    fn a_body_that_stops_short_or_is_not_its_coding_is_an_error() {
        let whole = gzip(b"hello, world");
        assert!(decode(Some(Coding::Gzip), &whole[..whole.len() - 4], 3).is_err());
        assert!(decode(Some(Coding::Gzip), b"plain text", 3).is_err());
        assert!(decode(Some(Coding::Brotli), b"plain text, not brotli", 3).is_err());
    }
}
