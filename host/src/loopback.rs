//! A small HTTP/1.1 server on `127.0.0.1` for `tb-host demo`, benchmarks and
//! the end-to-end tests: scripted failures on demand, and a record of what
//! arrived so a test can check what the pool actually sent.
//!
//! Start one with [`Server::start`]; it listens on a free port until dropped.
//! Build URLs with [`Server::url`] and inspect traffic with
//! [`Server::requests_to`], [`Server::hits`] and [`Server::total_hits`].
//!
//! # Routes
//!
//! Routes match the path without its query. `{key}` is any text you pick so
//! that tests sharing one server keep out of each other's way: counters are
//! per exact path, so `/flaky/a/1/503` and `/flaky/b/1/503` fail once each.
//!
//! | Path                        | Answer                                                        | Recorded |
//! |-----------------------------|---------------------------------------------------------------|----------|
//! | `/`, `/fast...`             | 200 `ok\n` (the allocation-light hot path for benchmarks)     | no, only counted in [`Server::total_hits`] |
//! | `/echo...`                  | 200 JSON `{"method","path","headers":{lowercase name: value},"body"}` | yes |
//! | `/json`                     | 200 JSON `{"ok":true,"n":42}`                                 | yes |
//! | `/status/{code}`            | `{code}` (200..=599), empty body                              | yes |
//! | `/flaky/{key}/{n}/{code}`   | the first `n` requests to this path get `{code}`, later ones 200 `ok\n` | yes |
//! | `/reset/{key}/{n}`          | the first `n` requests are read, then the connection is reset (TCP RST, nothing sent); later ones 200 | yes |
//! | `/retry-after/{key}/{secs}` | the first request gets 429 with `Retry-After: {secs}`, later ones 200 | yes |
//! | `/busy/{key}/{n}`           | the first `n` requests get 200 with the JSON body `{"error":"slow down"}`, later ones 200 `ok\n` | yes |
//! | `/slow/{ms}`                | sleeps `ms` milliseconds, then 200                            | yes |
//! | `/redirect/{n}`             | `n > 0`: 302 to `/redirect/{n-1}`; `n == 0`: 200              | yes |
//! | `/redirect-to/{key}?status={code}&url={location}` | `{code}` (default 302) with `Location: {location}`, percent-decoded to raw bytes (so it may be any text, or not UTF-8) | yes |
//! | `/bytes/{n}`                | 200 with `n` bytes of `x` (at most 64 MiB)                    | yes |
//! | anything else               | 404                                                           | yes |
//!
//! A malformed number (or a missing segment) in a route answers 400; it is
//! still recorded. Requests are recorded *before* the answer is sent, so a
//! client that has its response always finds its request in the record.
//!
//! # Protocol
//!
//! One thread per connection; HTTP/1.1 keep-alive (closed on
//! `Connection: close`, or for HTTP/1.0 without `Connection: keep-alive`).
//! Request bodies may come with `Content-Length` or chunked (decoded); bodies
//! over 16 MiB get 413 and heads over 64 KiB get 431, both closing the
//! connection. `Expect: 100-continue` is honoured and `HEAD` gets headers
//! only. Every answer carries `Content-Length` (except 204 and 304, which
//! have no body by definition) and is written with a single write.

use std::collections::HashMap;
use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use socket2::{Domain, Protocol, SockRef, Socket, Type};

/// Longest request head (request line and headers) accepted; longer gets 431.
const MAX_HEAD: usize = 64 * 1024;

/// Largest request body accepted; larger gets 413.
const MAX_BODY: u64 = 16 * 1024 * 1024;

/// Largest body `/bytes/{n}` will produce.
const MAX_BYTES_ROUTE: usize = 64 * 1024 * 1024;

/// Listen backlog: benchmarks open many connections at once.
const BACKLOG: i32 = 1024;

/// The hot-path answer, pre-built so `/` and `/fast...` cost one write.
const FAST_OK: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nok\n";

/// The loopback server: an accept thread on `127.0.0.1:PORT` plus one thread
/// per connection, sharing a record of the requests seen.
///
/// Dropping it stops accepting new connections (connections already open
/// are served until the client closes them, with `Connection: close` on
/// their next answer). The drop never waits for a busy connection.
pub struct Server {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

/// One request as the server received it, for tests to inspect.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The request method as sent, e.g. `GET`.
    pub method: String,
    /// The request target as sent: the path plus the query, if any.
    pub path: String,
    /// The headers in arrival order, names as sent (see [`Recorded::header`]
    /// for a case-insensitive lookup).
    pub headers: Vec<(String, String)>,
    /// The request body (chunked bodies decoded).
    pub body: Vec<u8>,
}

impl Recorded {
    /// The value of the first header called `name`, compared
    /// case-insensitively as HTTP header names are.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// State shared by the accept thread, the connection threads and [`Server`].
struct Shared {
    /// Set on drop: stop accepting, close connections after their next answer.
    stop: AtomicBool,
    /// Every request answered (or reset), all routes.
    total: AtomicU64,
    /// Recorded requests by path (without query), in arrival order.
    records: Mutex<HashMap<String, Vec<Recorded>>>,
}

impl Shared {
    /// Records `req` and returns its 1-based position among the requests to
    /// its path: the per-path counter the scripted routes use.
    fn record(&self, req: &Request<'_>, body: &[u8]) -> usize {
        let recorded = Recorded {
            method: req.method.to_owned(),
            path: req.target.to_owned(),
            headers: req
                .headers()
                .map(|(n, v)| (n.to_owned(), v.to_owned()))
                .collect(),
            body: body.to_vec(),
        };
        let mut records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        let list = match records.get_mut(req.path) {
            Some(list) => list,
            None => records.entry(req.path.to_owned()).or_default(),
        };
        list.push(recorded);
        list.len()
    }
}

impl Server {
    /// Binds `127.0.0.1:0` (a free port) and starts the accept thread.
    pub fn start() -> io::Result<Server> {
        let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
        socket.bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, 0)).into())?;
        socket.listen(BACKLOG)?;
        let listener: TcpListener = socket.into();
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            total: AtomicU64::new(0),
            records: Mutex::new(HashMap::new()),
        });
        let accept = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name("loopback-accept".into())
                .spawn(move || accept_loop(listener, shared))?
        };
        tracing::debug!(%addr, "loopback server listening");
        Ok(Server {
            addr,
            shared,
            accept: Some(accept),
        })
    }

    /// The port the server listens on (on 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The server's base URL, `http://127.0.0.1:PORT`, without a trailing
    /// slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The URL of `path` (which starts with `/`) on this server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The recorded requests whose path without query equals `path`, in
    /// arrival order. `/` and `/fast...` are never recorded.
    pub fn requests_to(&self, path: &str) -> Vec<Recorded> {
        let records = self
            .shared
            .records
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        records.get(path).cloned().unwrap_or_default()
    }

    /// How many requests to `path` were recorded: `requests_to(path).len()`
    /// without the copies.
    pub fn hits(&self, path: &str) -> usize {
        let records = self
            .shared
            .records
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        records.get(path).map_or(0, Vec::len)
    }

    /// Every request the server has answered (or reset) on any route,
    /// recorded or not, including malformed ones.
    pub fn total_hits(&self) -> u64 {
        self.shared.total.load(Ordering::Relaxed)
    }
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.addr)
            .field("total_hits", &self.total_hits())
            .finish_non_exhaustive()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the blocked accept() so the loop sees the flag. Join only when
        // the wake-up connected: then the loop is known to exit promptly.
        let woke = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1)).is_ok();
        if let Some(accept) = self.accept.take()
            && woke
        {
            let _ = accept.join();
        }
    }
}

/// Accepts connections until the stop flag is set, one thread each.
fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let accepted = listener.accept();
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(err) => {
                // Out of descriptors and the like: back off, keep serving.
                tracing::debug!(%err, "loopback accept failed");
                thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let shared = Arc::clone(&shared);
        let spawned = thread::Builder::new()
            .name("loopback-conn".into())
            .spawn(move || {
                if let Err(err) = serve(&stream, &shared) {
                    tracing::trace!(%err, "loopback connection ended");
                }
            });
        if let Err(err) = spawned {
            tracing::debug!(%err, "loopback cannot spawn a connection thread");
        }
    }
}

/// How the request body is framed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// `Content-Length` bytes (0 when absent).
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// A parsed request head; borrows the connection's head buffer.
struct Request<'a> {
    method: &'a str,
    /// The request target as sent, query included.
    target: &'a str,
    /// The target without its query.
    path: &'a str,
    /// The header lines, already validated.
    header_block: &'a str,
    http10: bool,
    keep_alive: bool,
    expect_continue: bool,
    framing: Framing,
}

impl<'a> Request<'a> {
    /// The headers as `(name, value)`, values trimmed, in arrival order.
    fn headers(&self) -> impl Iterator<Item = (&'a str, &'a str)> + use<'a> {
        header_lines(self.header_block).filter_map(|line| {
            let (name, value) = line.split_once(':')?;
            Some((name, value.trim()))
        })
    }
}

/// The non-empty lines of a header block, without line endings.
fn header_lines(block: &str) -> impl Iterator<Item = &str> {
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
fn parse_head(head: &[u8]) -> Result<Request<'_>, u16> {
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
    Ok(Request {
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
enum HeadRead {
    /// A whole head is in the buffer.
    Complete,
    /// The client closed (or sent a partial head and closed).
    Closed,
    /// The head passed [`MAX_HEAD`].
    TooLarge,
}

/// Reads one request head into `buf` (cleared first), through its blank line.
fn read_head<R: BufRead>(reader: &mut R, buf: &mut Vec<u8>) -> io::Result<HeadRead> {
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
enum BodyError {
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
fn read_body<R: BufRead>(
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

/// Serves one connection until it closes, errs, or asks to close.
fn serve(stream: &TcpStream, shared: &Shared) -> io::Result<()> {
    let mut reader = BufReader::with_capacity(16 * 1024, stream);
    let mut writer = stream;
    let mut head = Vec::with_capacity(1024);
    let mut body = Vec::new();
    let mut out = Vec::with_capacity(256);
    loop {
        match read_head(&mut reader, &mut head)? {
            HeadRead::Complete => {}
            HeadRead::Closed => return Ok(()),
            HeadRead::TooLarge => {
                shared.total.fetch_add(1, Ordering::Relaxed);
                return close_with(writer, &mut out, 431);
            }
        }
        shared.total.fetch_add(1, Ordering::Relaxed);
        let req = match parse_head(&head) {
            Ok(req) => req,
            Err(status) => return close_with(writer, &mut out, status),
        };
        if req.expect_continue {
            writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        }
        match read_body(&mut reader, req.framing, &mut body) {
            Ok(()) => {}
            Err(BodyError::Io(err)) => return Err(err),
            Err(BodyError::Bad) => return close_with(writer, &mut out, 400),
            Err(BodyError::TooLarge) => return close_with(writer, &mut out, 413),
        }
        let keep_alive = req.keep_alive && !shared.stop.load(Ordering::Relaxed);
        let head_only = req.method == "HEAD";

        // The hot path: no recording, no formatting.
        if req.path == "/" || req.path.starts_with("/fast") {
            if keep_alive && !req.http10 && !head_only {
                writer.write_all(FAST_OK)?;
            } else {
                out.clear();
                Reply::ok().write_to(&mut out, &req, keep_alive);
                writer.write_all(&out)?;
            }
        } else {
            let position = shared.record(&req, &body);
            match route(&req, &body, position) {
                Outcome::Reply(reply) => {
                    out.clear();
                    reply.write_to(&mut out, &req, keep_alive);
                    writer.write_all(&out)?;
                }
                Outcome::Reset => {
                    // Linger 0: close() sends RST and drops unsent data.
                    SockRef::from(stream).set_linger(Some(Duration::ZERO))?;
                    return Ok(());
                }
            }
        }
        if !keep_alive {
            return Ok(());
        }
    }
}

/// Answers `status` with a short text body and `Connection: close`.
fn close_with(mut writer: &TcpStream, out: &mut Vec<u8>, status: u16) -> io::Result<()> {
    out.clear();
    let reply = Reply::text(status, reason(status));
    reply.write_raw(out, false, false, false);
    writer.write_all(out)?;
    // Closing with unread input would send an RST that can destroy the
    // answer before the client reads it: half-close, then drain briefly.
    writer.shutdown(Shutdown::Write)?;
    writer.set_read_timeout(Some(Duration::from_millis(200)))?;
    let _ = io::copy(&mut writer.take(1024 * 1024), &mut io::sink());
    Ok(())
}

/// What a route decided.
enum Outcome {
    Reply(Reply),
    /// Close the connection with a TCP RST, sending nothing.
    Reset,
}

/// An answer to build into the output buffer.
struct Reply {
    status: u16,
    content_type: Option<&'static str>,
    /// One extra header, e.g. `Location` or `Retry-After`; its value as
    /// raw bytes, for tests of values that are not text.
    extra: Option<(&'static str, Vec<u8>)>,
    body: Vec<u8>,
}

impl Reply {
    /// 200 `ok\n`.
    fn ok() -> Reply {
        Reply::text(200, "ok")
    }

    /// `status` with `text` and a newline as a plain-text body.
    fn text(status: u16, text: &str) -> Reply {
        let mut body = Vec::with_capacity(text.len() + 1);
        body.extend_from_slice(text.as_bytes());
        body.push(b'\n');
        Reply {
            status,
            content_type: Some("text/plain"),
            extra: None,
            body,
        }
    }

    /// `status` with an empty body.
    fn empty(status: u16) -> Reply {
        Reply {
            status,
            content_type: None,
            extra: None,
            body: Vec::new(),
        }
    }

    /// 400 explaining which part of the route was malformed.
    fn bad(what: &str) -> Reply {
        Reply::text(400, &format!("bad request: {what}"))
    }

    /// 200 with `value` as a JSON body.
    fn json(value: &serde_json::Value) -> Reply {
        Reply {
            status: 200,
            content_type: Some("application/json"),
            extra: None,
            body: serde_json::to_vec(value).unwrap_or_default(),
        }
    }

    /// Adds the extra header.
    fn with(mut self, name: &'static str, value: impl Into<Vec<u8>>) -> Reply {
        self.extra = Some((name, value.into()));
        self
    }

    /// Serialises the answer to `req` into `out`.
    fn write_to(&self, out: &mut Vec<u8>, req: &Request<'_>, keep_alive: bool) {
        self.write_raw(out, keep_alive, req.http10, req.method == "HEAD");
    }

    /// Serialises the answer into `out`: status line, headers, body.
    fn write_raw(&self, out: &mut Vec<u8>, keep_alive: bool, http10: bool, head_only: bool) {
        // Writing to a Vec cannot fail.
        let _ = write!(out, "HTTP/1.1 {} {}\r\n", self.status, reason(self.status));
        if let Some(content_type) = self.content_type {
            let _ = write!(out, "Content-Type: {content_type}\r\n");
        }
        if let Some((name, value)) = &self.extra {
            let _ = write!(out, "{name}: ");
            out.extend_from_slice(value);
            out.extend_from_slice(b"\r\n");
        }
        // 204 and 304 have no body and must not say they have one.
        let bodyless = matches!(self.status, 204 | 304);
        if !bodyless {
            let _ = write!(out, "Content-Length: {}\r\n", self.body.len());
        }
        if !keep_alive {
            out.extend_from_slice(b"Connection: close\r\n");
        } else if http10 {
            out.extend_from_slice(b"Connection: keep-alive\r\n");
        }
        out.extend_from_slice(b"\r\n");
        if !bodyless && !head_only {
            out.extend_from_slice(&self.body);
        }
    }
}

/// The reason phrase for `status` (any text is valid; clients ignore it).
fn reason(status: u16) -> &'static str {
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

/// A status code a route may answer with: a final status, 200..=599.
fn parse_status(text: &str) -> Option<u16> {
    text.parse().ok().filter(|code| (200..=599).contains(code))
}

/// Splits `key/.../last` into `(key, last)`; the key must be non-empty.
fn split_last(rest: &str) -> Option<(&str, &str)> {
    rest.rsplit_once('/').filter(|(key, _)| !key.is_empty())
}

/// Answers a recorded request; `position` is its 1-based position among the
/// requests to its path.
fn route(req: &Request<'_>, body: &[u8], position: usize) -> Outcome {
    let path = req.path;
    if path.starts_with("/echo") {
        return Outcome::Reply(echo(req, body));
    }
    if path == "/json" {
        return Outcome::Reply(Reply::json(&serde_json::json!({"ok": true, "n": 42})));
    }
    let (first, rest) = match path[1..].split_once('/') {
        Some((first, rest)) => (first, Some(rest)),
        None => (&path[1..], None),
    };
    let reply = match (first, rest) {
        ("status", Some(code)) => match parse_status(code) {
            Some(code) => Reply::empty(code),
            None => Reply::bad("status code"),
        },
        ("flaky", Some(rest)) => {
            let parsed = split_last(rest).and_then(|(left, code)| {
                let (_key, n) = split_last(left)?;
                Some((n.parse::<usize>().ok()?, parse_status(code)?))
            });
            match parsed {
                Some((n, code)) if position <= n => Reply::empty(code),
                Some(_) => Reply::ok(),
                None => Reply::bad("expected /flaky/{key}/{n}/{code}"),
            }
        }
        ("reset", Some(rest)) => match split_last(rest).map(|(_, n)| n.parse::<usize>()) {
            Some(Ok(n)) if position <= n => return Outcome::Reset,
            Some(Ok(_)) => Reply::ok(),
            _ => Reply::bad("expected /reset/{key}/{n}"),
        },
        ("retry-after", Some(rest)) => match split_last(rest).map(|(_, s)| s.parse::<u64>()) {
            Some(Ok(secs)) if position == 1 => {
                Reply::empty(429).with("Retry-After", secs.to_string())
            }
            Some(Ok(_)) => Reply::ok(),
            _ => Reply::bad("expected /retry-after/{key}/{secs}"),
        },
        ("busy", Some(rest)) => match split_last(rest).map(|(_, n)| n.parse::<usize>()) {
            Some(Ok(n)) if position <= n => Reply::json(&serde_json::json!({"error": "slow down"})),
            Some(Ok(_)) => Reply::ok(),
            _ => Reply::bad("expected /busy/{key}/{n}"),
        },
        ("slow", Some(ms)) => match ms.parse::<u64>() {
            Ok(ms) => {
                thread::sleep(Duration::from_millis(ms));
                Reply::ok()
            }
            Err(_) => Reply::bad("milliseconds"),
        },
        ("redirect-to", Some(_)) => redirect_to(req.target),
        ("redirect", Some(n)) => match n.parse::<u64>() {
            Ok(0) => Reply::ok(),
            Ok(n) => Reply::empty(302).with("Location", format!("/redirect/{}", n - 1)),
            Err(_) => Reply::bad("redirect count"),
        },
        ("bytes", Some(n)) => match n.parse::<usize>() {
            Ok(n) if n <= MAX_BYTES_ROUTE => Reply {
                status: 200,
                content_type: Some("application/octet-stream"),
                extra: None,
                body: vec![b'x'; n],
            },
            _ => Reply::bad("byte count (at most 64 MiB)"),
        },
        _ => Reply::text(404, "not found"),
    };
    Outcome::Reply(reply)
}

/// The `/redirect-to/...` answer: a redirect wherever the query says.
fn redirect_to(target: &str) -> Reply {
    let query = target.split_once('?').map_or("", |(_, query)| query);
    let mut status = 302;
    let mut location = None;
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("status", code)) => match parse_status(code) {
                Some(code) => status = code,
                None => return Reply::bad("status code"),
            },
            Some(("url", url)) => location = Some(percent_decode(url)),
            _ => {}
        }
    }
    match location {
        Some(location) => Reply::empty(status).with("Location", location),
        None => Reply::bad("expected ?url={location}"),
    }
}

/// `text` with every `%XX` replaced by the byte it stands for.
fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    out
}

/// The `/echo...` answer: the request as JSON.
fn echo(req: &Request<'_>, body: &[u8]) -> Reply {
    let mut headers = serde_json::Map::new();
    for (name, value) in req.headers() {
        let name = name.to_ascii_lowercase();
        match headers.get_mut(&name) {
            // Repeated headers combine as HTTP says: comma-separated.
            Some(serde_json::Value::String(seen)) => {
                seen.push_str(", ");
                seen.push_str(value);
            }
            _ => {
                headers.insert(name, value.into());
            }
        }
    }
    Reply::json(&serde_json::json!({
        "method": req.method,
        "path": req.target,
        "headers": headers,
        "body": String::from_utf8_lossy(body),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A response as the tests see it.
    #[derive(Debug)]
    struct Resp {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    }

    impl Resp {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        }
    }

    /// A raw client connection.
    struct Conn {
        stream: TcpStream,
        reader: BufReader<TcpStream>,
    }

    impl Conn {
        fn open(server: &Server) -> Conn {
            let stream = TcpStream::connect(server.addr).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let reader = BufReader::new(stream.try_clone().unwrap());
            Conn { stream, reader }
        }

        fn send(&mut self, raw: &[u8]) {
            self.stream.write_all(raw).unwrap();
        }

        /// Reads one response (Content-Length framed).
        fn read(&mut self) -> io::Result<Resp> {
            let mut line = String::new();
            if self.reader.read_line(&mut line)? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            let status = line.split(' ').nth(1).unwrap().parse().unwrap();
            let mut headers = Vec::new();
            loop {
                line.clear();
                self.reader.read_line(&mut line)?;
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                let (n, v) = line.split_once(':').unwrap();
                headers.push((n.to_owned(), v.trim().to_owned()));
            }
            let mut resp = Resp {
                status,
                headers,
                body: Vec::new(),
            };
            let len: usize = resp
                .header("content-length")
                .map_or(0, |v| v.parse().unwrap());
            resp.body.resize(len, 0);
            self.reader.read_exact(&mut resp.body)?;
            Ok(resp)
        }

        fn get(&mut self, path: &str) -> Resp {
            self.send(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
            self.read().unwrap()
        }

        /// Whether the server closed the connection (EOF on the next read).
        fn closed(&mut self) -> bool {
            let mut byte = [0u8; 1];
            matches!(self.reader.read(&mut byte), Ok(0))
        }
    }

    fn get(server: &Server, path: &str) -> Resp {
        Conn::open(server).get(path)
    }

    #[test]
    fn fast_route_is_counted_not_recorded() {
        let server = Server::start().unwrap();
        let mut conn = Conn::open(&server);
        for path in ["/", "/fast", "/fast/1?x=y"] {
            let resp = conn.get(path);
            assert_eq!(resp.status, 200);
            assert_eq!(resp.body, b"ok\n");
        }
        assert_eq!(server.total_hits(), 3);
        assert_eq!(server.hits("/fast/1"), 0);
        assert_eq!(server.hits("/"), 0);
        assert!(server.base_url().starts_with("http://127.0.0.1:"));
        assert_eq!(server.url("/a"), format!("{}/a", server.base_url()));
    }

    #[test]
    fn echo_records_headers_case_insensitively() {
        let server = Server::start().unwrap();
        let mut conn = Conn::open(&server);
        conn.send(
            b"POST /echo/one?q=1 HTTP/1.1\r\nHost: x\r\nX-Thing: Yes\r\nx-multi: a\r\n\
              X-Multi: b\r\nContent-Length: 5\r\n\r\nhello",
        );
        let resp = conn.read().unwrap();
        assert_eq!(resp.status, 200);
        assert_eq!(resp.header("content-type"), Some("application/json"));
        let json: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
        assert_eq!(json["method"], "POST");
        assert_eq!(json["path"], "/echo/one?q=1");
        assert_eq!(json["headers"]["x-thing"], "Yes");
        assert_eq!(json["headers"]["x-multi"], "a, b");
        assert_eq!(json["body"], "hello");

        let seen = server.requests_to("/echo/one");
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].method, "POST");
        assert_eq!(seen[0].path, "/echo/one?q=1");
        assert_eq!(seen[0].header("x-THING"), Some("Yes"));
        assert_eq!(seen[0].header("X-MULTI"), Some("a"));
        assert_eq!(seen[0].header("missing"), None);
        assert_eq!(seen[0].body, b"hello");
        assert_eq!(server.hits("/echo/one?q=1"), 0, "keys have no query");
    }

    #[test]
    fn chunked_body_is_decoded() {
        let server = Server::start().unwrap();
        let mut conn = Conn::open(&server);
        conn.send(
            b"PUT /echo/chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
              5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: t\r\n\r\n",
        );
        let resp = conn.read().unwrap();
        assert_eq!(resp.status, 200);
        assert_eq!(server.requests_to("/echo/chunked")[0].body, b"hello world");
        assert_eq!(
            conn.get("/fast").status,
            200,
            "still in step after the body"
        );
    }

    #[test]
    fn flaky_fails_the_first_n_per_path() {
        let server = Server::start().unwrap();
        let statuses: Vec<u16> = (0..4)
            .map(|_| get(&server, "/flaky/k/2/503").status)
            .collect();
        assert_eq!(statuses, [503, 503, 200, 200]);
        assert_eq!(server.hits("/flaky/k/2/503"), 4);
        assert_eq!(
            get(&server, "/flaky/other/2/503").status,
            503,
            "own counter"
        );
        assert_eq!(get(&server, "/flaky/k/x/503").status, 400);
        assert_eq!(get(&server, "/flaky/k/1/99").status, 400);
        assert_eq!(get(&server, "/flaky/1/503").status, 400);
    }

    #[test]
    fn reset_resets_then_answers() {
        let server = Server::start().unwrap();
        let mut conn = Conn::open(&server);
        conn.send(b"GET /reset/k/1 HTTP/1.1\r\nHost: x\r\n\r\n");
        let err = conn.read().expect_err("the first request is reset");
        assert_eq!(err.kind(), io::ErrorKind::ConnectionReset, "{err}");
        assert_eq!(get(&server, "/reset/k/1").status, 200);
        assert_eq!(server.hits("/reset/k/1"), 2);
        assert_eq!(server.total_hits(), 2);
    }

    #[test]
    fn retry_after_once() {
        let server = Server::start().unwrap();
        let first = get(&server, "/retry-after/k/7");
        assert_eq!(first.status, 429);
        assert_eq!(first.header("retry-after"), Some("7"));
        let second = get(&server, "/retry-after/k/7");
        assert_eq!(second.status, 200);
        assert_eq!(second.header("retry-after"), None);
        assert_eq!(get(&server, "/retry-after/k2/soon").status, 400);
    }

    #[test]
    fn keep_alive_and_close() {
        let server = Server::start().unwrap();
        let mut conn = Conn::open(&server);
        assert_eq!(conn.get("/json").status, 200);
        let resp = conn.get("/status/201");
        assert_eq!(resp.status, 201);
        assert_eq!(resp.header("connection"), None);
        conn.send(b"GET /fast HTTP/1.1\r\nConnection: close\r\n\r\n");
        let resp = conn.read().unwrap();
        assert_eq!(resp.header("connection"), Some("close"));
        assert!(conn.closed());

        // HTTP/1.0: closed by default, kept with Connection: keep-alive.
        let mut conn = Conn::open(&server);
        conn.send(b"GET /fast HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        assert_eq!(
            conn.read().unwrap().header("connection"),
            Some("keep-alive")
        );
        conn.send(b"GET /fast HTTP/1.0\r\n\r\n");
        assert_eq!(conn.read().unwrap().status, 200);
        assert!(conn.closed());
    }

    #[test]
    fn other_routes() {
        let server = Server::start().unwrap();
        let resp = get(&server, "/nope");
        assert_eq!(resp.status, 404);
        assert_eq!(server.hits("/nope"), 1);

        let json = get(&server, "/json");
        let value: serde_json::Value = serde_json::from_slice(&json.body).unwrap();
        assert_eq!(value, serde_json::json!({"ok": true, "n": 42}));

        assert_eq!(get(&server, "/status/503").status, 503);
        assert_eq!(get(&server, "/status/204").status, 204);
        assert_eq!(get(&server, "/status/abc").status, 400);
        assert_eq!(get(&server, "/status/42").status, 400);
        assert_eq!(server.hits("/status/abc"), 1, "400s are recorded");

        let redirect = get(&server, "/redirect/2");
        assert_eq!(redirect.status, 302);
        assert_eq!(redirect.header("location"), Some("/redirect/1"));
        assert_eq!(get(&server, "/redirect/0").status, 200);

        let bytes = get(&server, "/bytes/1000");
        assert_eq!(bytes.body, vec![b'x'; 1000]);
        assert_eq!(get(&server, "/bytes/-1").status, 400);

        assert_eq!(get(&server, "/slow/20").status, 200);
        assert_eq!(get(&server, "/slow/soon").status, 400);
    }

    #[test]
    fn bad_input_is_answered_not_panicked_on() {
        let server = Server::start().unwrap();
        let mut conn = Conn::open(&server);
        conn.send(b"nonsense\r\n\r\n");
        assert_eq!(conn.read().unwrap().status, 400);
        assert!(conn.closed());

        let mut conn = Conn::open(&server);
        let huge = format!("GET /fast HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(MAX_HEAD));
        conn.send(huge.as_bytes());
        assert_eq!(conn.read().unwrap().status, 431);

        let mut conn = Conn::open(&server);
        conn.send(b"GET /fast HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n");
        assert_eq!(conn.read().unwrap().status, 501);

        assert_eq!(get(&server, "/fast").status, 200, "still serving");
    }

    #[test]
    fn reqwest_agrees() {
        let server = Server::start().unwrap();
        let client = reqwest::blocking::Client::new();
        for i in 0..20 {
            let resp = client
                .get(server.url(&format!("/fast/{i}")))
                .send()
                .unwrap();
            assert_eq!(resp.status(), 200);
            assert_eq!(resp.text().unwrap(), "ok\n");
        }
        let resp = client.get(server.url("/redirect/3")).send().unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(server.hits("/redirect/0"), 1);
        let resp = client
            .post(server.url("/echo/reqwest"))
            .header("X-Test", "1")
            .body("data")
            .send()
            .unwrap();
        assert_eq!(resp.status(), 200);
        let seen = &server.requests_to("/echo/reqwest")[0];
        assert_eq!(seen.header("x-test"), Some("1"));
        assert_eq!(seen.body, b"data");
        assert_eq!(
            client
                .head(server.url("/bytes/10"))
                .send()
                .unwrap()
                .status(),
            200
        );
        assert_eq!(
            client
                .get(server.url("/bytes/10"))
                .send()
                .unwrap()
                .bytes()
                .unwrap()
                .len(),
            10
        );
    }

    #[test]
    fn drop_stops_accepting() {
        let server = Server::start().unwrap();
        let addr = server.addr;
        // An idle keep-alive connection must not block the drop.
        let mut idle = Conn::open(&server);
        assert_eq!(idle.get("/fast").status, 200);
        drop(server);
        let refused = TcpStream::connect_timeout(&addr, Duration::from_secs(1));
        assert!(refused.is_err(), "nothing listens after drop");
        // The open connection is served once more, then closed.
        let resp = idle.get("/fast");
        assert_eq!(resp.header("connection"), Some("close"));
        assert!(idle.closed());
    }
}
