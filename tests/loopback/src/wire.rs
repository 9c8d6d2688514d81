//! HTTP/1.1 on the wire: reading a request head and body off a connection,
//! within limits, and the reason phrases of the answers.

use std::io::{self, BufRead, Read};

/// Longest request head (request line and headers) accepted; longer gets 431.
pub(crate) const MAX_HEAD: usize = 64 * 1024;

/// Largest request body accepted; larger gets 413.
const MAX_BODY: u64 = 16 * 1024 * 1024;

/// How the request body is framed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// `Content-Length` bytes (0 when absent).
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// A parsed request head; borrows the connection's head buffer.
pub(crate) struct Head<'a> {
    pub(crate) method: &'a str,
    /// The request target as sent, query included.
    pub(crate) target: &'a str,
    /// The target without its query.
    pub(crate) path: &'a str,
    /// The header lines, already validated.
    pub(crate) header_block: &'a str,
    pub(crate) http10: bool,
    pub(crate) keep_alive: bool,
    pub(crate) expect_continue: bool,
    pub(crate) framing: Framing,
}

/// The non-empty lines of a header block, without line endings.
pub(crate) fn header_lines(block: &str) -> impl Iterator<Item = &str> {
    block
        .split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .filter(|line| !line.is_empty())
}

/// Whether the comma-separated header `value` lists `token`.
fn has_token(value: &str, token: &str) -> bool {
    value
        .split(',')
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// Parses a request head (request line and headers, final blank line
/// included). `Err` is the status to answer before closing.
pub(crate) fn parse_head(head: &[u8]) -> Result<Head<'_>, u16> {
    let head = std::str::from_utf8(head).map_err(|_| 400u16)?;
    let (line, header_block) = head.split_once('\n').ok_or(400u16)?;
    let line = line.strip_suffix('\r').unwrap_or(line);
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(400);
    };
    if method.is_empty() || !target.starts_with('/') {
        return Err(400);
    }
    let http10 = match version {
        "HTTP/1.1" => false,
        "HTTP/1.0" => true,
        v if v.starts_with("HTTP/") => return Err(505),
        _ => return Err(400),
    };
    let path = target.split_once('?').map_or(target, |(p, _)| p);

    let mut content_length: Option<u64> = None;
    let mut chunked = false;
    let mut close = false;
    let mut keep_alive_token = false;
    let mut expect_continue = false;
    for line in header_lines(header_block) {
        if line.starts_with([' ', '\t']) {
            return Err(400); // obsolete line folding
        }
        let (name, value) = line.split_once(':').ok_or(400u16)?;
        if name.is_empty() || name.ends_with([' ', '\t']) {
            return Err(400);
        }
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            let n: u64 = value.parse().map_err(|_| 400u16)?;
            if content_length.is_some_and(|m| m != n) {
                return Err(400);
            }
            content_length = Some(n);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            let last = value.rsplit(',').next().unwrap_or("").trim();
            if !last.eq_ignore_ascii_case("chunked") {
                return Err(501);
            }
            chunked = true;
        } else if name.eq_ignore_ascii_case("connection") {
            close |= has_token(value, "close");
            keep_alive_token |= has_token(value, "keep-alive");
        } else if name.eq_ignore_ascii_case("expect") {
            expect_continue = value.eq_ignore_ascii_case("100-continue");
        }
    }
    let framing = if chunked {
        // Transfer-Encoding wins over Content-Length (RFC 9112 6.3), but the
        // pair smells of smuggling: answer and close.
        close |= content_length.is_some();
        Framing::Chunked
    } else {
        Framing::Length(content_length.unwrap_or(0))
    };
    Ok(Head {
        method,
        target,
        path,
        header_block,
        http10,
        keep_alive: !close && (!http10 || keep_alive_token),
        expect_continue: expect_continue && !http10,
        framing,
    })
}

/// What reading a request head produced.
pub(crate) enum HeadRead {
    /// A whole head is in the buffer.
    Complete,
    /// The client closed (or sent a partial head and closed).
    Closed,
    /// The head passed [`MAX_HEAD`].
    TooLarge,
}

/// Reads one request head into `buf` (cleared first), through its blank line.
pub(crate) fn read_head<R: BufRead>(reader: &mut R, buf: &mut Vec<u8>) -> io::Result<HeadRead> {
    buf.clear();
    loop {
        let start = buf.len();
        let room = (MAX_HEAD - start) as u64;
        let n = reader.by_ref().take(room).read_until(b'\n', buf)?;
        if n == 0 {
            return Ok(if start == MAX_HEAD {
                HeadRead::TooLarge
            } else {
                HeadRead::Closed
            });
        }
        if buf.last() != Some(&b'\n') {
            return Ok(if buf.len() >= MAX_HEAD {
                HeadRead::TooLarge
            } else {
                HeadRead::Closed
            });
        }
        let line = &buf[start..];
        if line == b"\r\n" || line == b"\n" {
            if start == 0 {
                // Blank lines before a request line are to be ignored.
                buf.clear();
                continue;
            }
            return Ok(HeadRead::Complete);
        }
    }
}

/// Why a request body could not be read.
pub(crate) enum BodyError {
    Io(io::Error),
    /// Malformed chunked framing: 400.
    Bad,
    /// Over [`MAX_BODY`]: 413.
    TooLarge,
}

impl From<io::Error> for BodyError {
    fn from(err: io::Error) -> Self {
        BodyError::Io(err)
    }
}

/// Reads the request body as `framing` says into `body` (cleared first).
pub(crate) fn read_body<R: BufRead>(
    reader: &mut R,
    framing: Framing,
    body: &mut Vec<u8>,
) -> Result<(), BodyError> {
    body.clear();
    match framing {
        Framing::Length(0) => Ok(()),
        Framing::Length(n) if n > MAX_BODY => Err(BodyError::TooLarge),
        Framing::Length(n) => {
            let got = reader.by_ref().take(n).read_to_end(body)?;
            if (got as u64) < n {
                return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
            }
            Ok(())
        }
        Framing::Chunked => read_chunked(reader, body),
    }
}

/// Reads one line of at most 4 KiB into `line` (cleared first), without its
/// line ending.
fn read_short_line<R: BufRead>(reader: &mut R, line: &mut Vec<u8>) -> Result<(), BodyError> {
    line.clear();
    reader.by_ref().take(4096).read_until(b'\n', line)?;
    if line.pop() != Some(b'\n') {
        return Err(if line.len() >= 4095 {
            BodyError::Bad
        } else {
            io::Error::from(io::ErrorKind::UnexpectedEof).into()
        });
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(())
}

/// Decodes a chunked body into `body`; trailers are read and dropped.
fn read_chunked<R: BufRead>(reader: &mut R, body: &mut Vec<u8>) -> Result<(), BodyError> {
    let mut line = Vec::new();
    loop {
        read_short_line(reader, &mut line)?;
        let size = line.split(|&b| b == b';').next().unwrap_or(&[]);
        let size = std::str::from_utf8(size)
            .map_err(|_| BodyError::Bad)?
            .trim();
        let size = u64::from_str_radix(size, 16).map_err(|_| BodyError::Bad)?;
        if size == 0 {
            break;
        }
        if body.len() as u64 + size > MAX_BODY {
            return Err(BodyError::TooLarge);
        }
        let got = reader.by_ref().take(size).read_to_end(body)?;
        if (got as u64) < size {
            return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
        }
        read_short_line(reader, &mut line)?;
        if !line.is_empty() {
            return Err(BodyError::Bad);
        }
    }
    // Trailer section, up to the blank line.
    let mut trailer_bytes = 0;
    loop {
        read_short_line(reader, &mut line)?;
        if line.is_empty() {
            return Ok(());
        }
        trailer_bytes += line.len();
        if trailer_bytes > MAX_HEAD {
            return Err(BodyError::Bad);
        }
    }
}

/// The reason phrase for `status` (any text is valid; clients ignore it).
pub(crate) fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        413 => "Content Too Large",
        418 => "I'm a teapot",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "Status",
    }
}
