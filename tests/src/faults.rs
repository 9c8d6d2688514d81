//! A fault-injecting HTTP server on `127.0.0.1`: every way a server can
//! misbehave that tb-host must survive, chosen by the request path.
//!
//! Start one with [`FaultServer::start`]; it listens on a free port until
//! dropped. Build URLs with [`FaultServer::url`], and check what arrived
//! with [`FaultServer::hits`] and [`FaultServer::seen`] (every request is
//! counted when its head has been read, before the fault is played).
//! [`FaultServer::refused_url`] names a port on which nothing listens.
//!
//! # Routes
//!
//! Routes match the path without its query. `{key}` is any text a test
//! picks so that tests keep out of each other's way: counters are per exact
//! path, so `/burst/a/1` and `/burst/b/1` fail once each.
//!
//! | Path                            | What the server does                                         |
//! |---------------------------------|--------------------------------------------------------------|
//! | `/reset-head/{key}`             | reads the request, then resets the connection (RST, nothing sent) |
//! | `/reset-body/{key}`             | sends a head with `Content-Length: 1000` and 100 bytes of body, then RST |
//! | `/short-body/{key}`             | sends a head with `Content-Length: 1000` and 100 bytes of body, then a clean close (FIN) |
//! | `/silent/{key}`                 | reads the request and never answers; holds the connection until the client closes it |
//! | `/drip/{key}`                   | sends the head at once (`Content-Length: 1000000`), then one body byte every 200 ms until the client goes |
//! | `/burst/{key}/{n}`              | the first `n` requests to this path get 503, later ones 200 `ok\n` |
//! | `/retry-after-secs/{key}/{s}`   | the first request gets 429 with `Retry-After: {s}`, later ones 200 |
//! | `/retry-after-date/{key}/{s}`   | the first request gets 429 with `Retry-After` an HTTP date at least `s` seconds ahead (see [`FaultServer::retry_after_date`]), later ones 200 |
//! | `/loop/{key}`                   | 302 to itself, for ever                                      |
//! | `/scheme/{key}/ftp`             | 302 to `ftp://127.0.0.1:PORT/ftp-target/{key}` (this server's port: were it fetched over HTTP, `/ftp-target/{key}` would be hit) |
//! | `/scheme/{key}/file`            | 302 to `file:///etc/passwd`                                  |
//! | `/huge-headers/{key}`           | 200 whose head is 1 MiB of headers ([`HUGE_HEADERS`] bytes)  |
//! | `/gzip/{key}`                   | 200 with `Content-Encoding: gzip` and [`gzip_bomb`] as the body, whatever the request accepts |
//! | `/gigabyte/{key}`               | 200 with a body of 1 GiB ([`GIGABYTE`] bytes of `x`), streamed from one small buffer |
//! | anything else                   | 404                                                          |
//!
//! Every answer that completes carries `Connection: close`, and the
//! connection is closed after it: one request per connection, so a fault
//! never lands on a connection the client meant to reuse.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use socket2::{Domain, Protocol, SockAddr, SockRef, Socket, Type};

/// How many bytes of headers `/huge-headers/...` sends: 1 MiB.
pub const HUGE_HEADERS: usize = 1024 * 1024;

/// How many bytes `/gzip/...` expands to when decompressed: 1 MiB of zeros.
pub const GZIP_EXPANDED: usize = 1024 * 1024;

/// How many bytes of body `/gigabyte/...` sends: 1 GiB.
pub const GIGABYTE: u64 = 1024 * 1024 * 1024;

/// Declared length of the `/reset-body` and `/short-body` bodies.
const DECLARED: usize = 1000;

/// Bytes of those bodies actually sent.
const SENT: usize = 100;

/// Longest request head read; a longer one gets its connection closed.
const MAX_HEAD: usize = 64 * 1024;

/// How often a held connection (`/silent`) looks whether the client left
/// or the server is stopping.
const POLL: Duration = Duration::from_millis(50);

/// The pace of `/drip`: one byte per this long.
const DRIP: Duration = Duration::from_millis(200);

/// The longest `/silent` holds a connection and `/drip` drips: a client
/// that never gives up (the bug these routes look for) gets a reset then,
/// so a failing test fails instead of hanging for ever.
pub const GIVE_UP: Duration = Duration::from_secs(5);

/// A request as the server saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    /// When its head had been read.
    pub at: SystemTime,
    /// The request line and headers, as received (CR LF line ends).
    pub head: String,
}

impl Seen {
    /// The value of the first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.split("\r\n").skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// State shared by the accept thread, connection threads and the handle.
struct Shared {
    /// Set on drop: stop accepting, end held and dripping connections.
    stop: AtomicBool,
    /// The requests seen, by path (without query), in arrival order.
    seen: Mutex<HashMap<String, Vec<Seen>>>,
}

impl Shared {
    /// Records a request and returns its 1-based position among those to
    /// its path.
    fn record(&self, path: &str, head: &str) -> usize {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let list = seen.entry(path.to_owned()).or_default();
        list.push(Seen {
            at: SystemTime::now(),
            head: head.to_owned(),
        });
        list.len()
    }
}

/// The fault-injecting server: an accept thread on `127.0.0.1:PORT` and
/// one thread per connection. Dropping it stops accepting and ends held
/// connections; it never waits for a busy connection.
pub struct FaultServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
    /// Bound to a port of its own but never listening: connecting to it is
    /// refused, and no one else can take the port while it is held.
    refused: Socket,
}

impl FaultServer {
    /// Starts a server on a free loopback port.
    pub fn start() -> io::Result<FaultServer> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let addr = listener.local_addr()?;
        let refused = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
        refused.bind(&SockAddr::from(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))))?;
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            seen: Mutex::new(HashMap::new()),
        });
        let accept = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name("fault-accept".into())
                .spawn(move || accept_loop(listener, addr, shared))?
        };
        Ok(FaultServer {
            addr,
            shared,
            accept: Some(accept),
            refused,
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `http://127.0.0.1:PORT{path}` on a port where nothing listens: a
    /// connection to it is refused.
    pub fn refused_url(&self, path: &str) -> String {
        let port = self
            .refused
            .local_addr()
            .ok()
            .and_then(|addr| addr.as_socket())
            .map_or(0, |addr| addr.port());
        format!("http://127.0.0.1:{port}{path}")
    }

    /// How many requests to `path` (without query) arrived.
    pub fn hits(&self, path: &str) -> usize {
        self.seen(path).len()
    }

    /// The requests to `path` (without query), in arrival order.
    pub fn seen(&self, path: &str) -> Vec<Seen> {
        let seen = self
            .shared
            .seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        seen.get(path).cloned().unwrap_or_default()
    }

    /// The time a `Retry-After` date sent at `now` asking for `secs`
    /// seconds names: `now` rounded up to a whole second, plus `secs`. An
    /// HTTP date has whole seconds only, so rounding up makes the wait at
    /// least `secs` seconds (and less than `secs + 1`).
    pub fn retry_after_date(now: SystemTime, secs: u64) -> SystemTime {
        let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
        let whole = since.as_secs() + u64::from(since.subsec_nanos() > 0);
        UNIX_EPOCH + Duration::from_secs(whole + secs)
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accept thread, which then sees `stop`.
        let _ = TcpStream::connect(self.addr);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

fn accept_loop(listener: TcpListener, addr: SocketAddr, shared: Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        let shared = Arc::clone(&shared);
        let spawned = thread::Builder::new()
            .name("fault-conn".into())
            .spawn(move || {
                // A client that goes away mid-fault is what faults are
                // about: errors writing to it are expected.
                let _ = serve(&stream, addr, &shared);
            });
        if spawned.is_err() {
            continue;
        }
    }
}

/// Reads the request head: up to and including the blank line. `None` if
/// the client closed first or the head is too long.
fn read_head(mut stream: &TcpStream) -> io::Result<Option<String>> {
    let mut head = Vec::with_capacity(1024);
    let mut byte = [0u8; 1024];
    loop {
        let n = stream.read(&mut byte)?;
        if n == 0 {
            return Ok(None);
        }
        head.extend_from_slice(&byte[..n]);
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            head.truncate(end + 4);
            return Ok(Some(String::from_utf8_lossy(&head).into_owned()));
        }
        if head.len() > MAX_HEAD {
            return Ok(None);
        }
    }
}

/// Serves one connection: one request, one fault.
fn serve(stream: &TcpStream, addr: SocketAddr, shared: &Shared) -> io::Result<()> {
    let Some(head) = read_head(stream)? else {
        return Ok(());
    };
    let target = head
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .split('?')
        .next()
        .unwrap_or("/")
        .to_owned();
    let position = shared.record(&target, &head);
    let segments: Vec<&str> = target.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["reset-head", _] => reset(stream),
        ["reset-body", _] => {
            write_partial_body(stream)?;
            reset(stream)
        }
        ["short-body", _] => {
            write_partial_body(stream)?;
            close(stream)
        }
        ["silent", _] => hold(stream, shared),
        ["drip", _] => drip(stream, shared),
        ["burst", _, n] => match n.parse::<usize>() {
            Ok(n) if position <= n => answer(stream, 503, &[], b"busy\n"),
            Ok(_) => answer(stream, 200, &[], b"ok\n"),
            Err(_) => answer(stream, 400, &[], b""),
        },
        ["retry-after-secs", _, secs] if position == 1 => {
            answer(stream, 429, &[("Retry-After", secs.to_string())], b"")
        }
        ["retry-after-date", _, secs] if position == 1 => match secs.parse::<u64>() {
            Ok(secs) => {
                let date = FaultServer::retry_after_date(SystemTime::now(), secs);
                let value = httpdate::fmt_http_date(date);
                answer(stream, 429, &[("Retry-After", value)], b"")
            }
            Err(_) => answer(stream, 400, &[], b""),
        },
        ["retry-after-secs" | "retry-after-date", _, _] => answer(stream, 200, &[], b"ok\n"),
        ["loop", _] => answer(stream, 302, &[("Location", target.clone())], b""),
        ["scheme", key, "ftp"] => {
            let location = format!("ftp://{addr}/ftp-target/{key}");
            answer(stream, 302, &[("Location", location)], b"")
        }
        ["scheme", _, "file"] => {
            let location = "file:///etc/passwd".to_owned();
            answer(stream, 302, &[("Location", location)], b"")
        }
        ["huge-headers", _] => huge_headers(stream),
        ["gzip", _] => answer(
            stream,
            200,
            &[("Content-Encoding", "gzip".into())],
            gzip_bomb(),
        ),
        ["gigabyte", _] => gigabyte(stream, shared),
        _ => answer(stream, 404, &[], b"not found\n"),
    }
}

/// Writes a whole answer with `Connection: close`, then closes cleanly.
fn answer(
    mut stream: &TcpStream,
    status: u16,
    headers: &[(&str, String)],
    body: &[u8],
) -> io::Result<()> {
    let mut out = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    stream.write_all(&bytes)?;
    close(stream)
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        302 => "Found",
        400 => "Bad Request",
        404 => "Not Found",
        429 => "Too Many Requests",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

/// Closes with a FIN: the client reads everything sent, then end of file.
fn close(stream: &TcpStream) -> io::Result<()> {
    stream.shutdown(Shutdown::Write)
}

/// Closes with an RST: linger 0 makes the close abortive. The stream is
/// closed when its owner drops it, right after this returns.
fn reset(stream: &TcpStream) -> io::Result<()> {
    SockRef::from(stream).set_linger(Some(Duration::ZERO))
}

/// A head declaring [`DECLARED`] bytes, and only [`SENT`] of them.
fn write_partial_body(mut stream: &TcpStream) -> io::Result<()> {
    let mut out = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {DECLARED}\r\n\r\n"
    )
    .into_bytes();
    out.extend_from_slice(&[b'p'; SENT]);
    stream.write_all(&out)?;
    stream.flush()
}

/// Never answers: waits until the client closes the connection, the
/// server stops, or [`GIVE_UP`] has passed (then resets).
fn hold(mut stream: &TcpStream, shared: &Shared) -> io::Result<()> {
    stream.set_read_timeout(Some(POLL))?;
    let mut sink = [0u8; 1024];
    let started = Instant::now();
    while !shared.stop.load(Ordering::SeqCst) {
        if started.elapsed() >= GIVE_UP {
            return reset(stream);
        }
        match stream.read(&mut sink) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The head at once, then one byte per [`DRIP`] until a write fails (the
/// client went away), the server stops, or [`GIVE_UP`] has passed (then
/// resets). The pause is the fault itself, not a wait for anything.
fn drip(mut stream: &TcpStream, shared: &Shared) -> io::Result<()> {
    stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")?;
    let started = Instant::now();
    while !shared.stop.load(Ordering::SeqCst) {
        if started.elapsed() >= GIVE_UP {
            return reset(stream);
        }
        stream.write_all(b"d")?;
        thread::sleep(DRIP);
    }
    Ok(())
}

/// A 200 whose head holds [`HUGE_HEADERS`] bytes of headers: 16 headers
/// of 64 KiB each.
fn huge_headers(mut stream: &TcpStream) -> io::Result<()> {
    const EACH: usize = 64 * 1024;
    let mut out = Vec::with_capacity(HUGE_HEADERS + 256);
    out.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
    for i in 0..HUGE_HEADERS / EACH {
        let name = format!("X-Pad-{i:02}: ");
        out.extend_from_slice(name.as_bytes());
        out.resize(out.len() + EACH - name.len() - 2, b'h');
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"Content-Length: 0\r\nConnection: close\r\n\r\n");
    stream.write_all(&out)?;
    close(stream)
}

/// A 200 with a body of [`GIGABYTE`] bytes, written from one 64 KiB buffer
/// until done, the client goes away or the server stops.
fn gigabyte(mut stream: &TcpStream, shared: &Shared) -> io::Result<()> {
    let chunk = [b'x'; 64 * 1024];
    stream.write_all(
        format!("HTTP/1.1 200 OK\r\nContent-Length: {GIGABYTE}\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    )?;
    let mut left = GIGABYTE;
    while left > 0 && !shared.stop.load(Ordering::SeqCst) {
        let n = left.min(chunk.len() as u64) as usize;
        stream.write_all(&chunk[..n])?;
        left -= n as u64;
    }
    close(stream)
}

/// A gzip member (RFC 1952) that decompresses to [`GZIP_EXPANDED`] zero
/// bytes: a small body with a large expansion, the shape of a
/// decompression bomb. Built once.
///
/// The deflate stream (RFC 1951) is one block with the fixed Huffman codes:
/// a literal zero, then back-references of length 258 at distance 1 (13
/// bits for 258 bytes), then literal zeros for the rest.
pub fn gzip_bomb() -> &'static [u8] {
    static BOMB: OnceLock<Vec<u8>> = OnceLock::new();
    BOMB.get_or_init(|| {
        // ID1 ID2, CM = deflate, no flags, no mtime, XFL 0, OS unknown.
        let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
        let mut bits = Bits::new(&mut out);
        bits.value(1, 1); // BFINAL
        bits.value(1, 2); // BTYPE 01: fixed Huffman codes
        const LITERAL_ZERO: u32 = 0x30; // 8 bits: literals 0..=143 are 0x30 + value
        const LENGTH_258: u32 = 0xc5; // 8 bits: code 285 = 0b11000000 + (285 - 280)
        const END_OF_BLOCK: u32 = 0; // 7 bits: code 256
        bits.code(LITERAL_ZERO, 8);
        let mut left = GZIP_EXPANDED - 1;
        while left >= 258 {
            bits.code(LENGTH_258, 8);
            bits.code(0, 5); // distance code 0: distance 1
            left -= 258;
        }
        for _ in 0..left {
            bits.code(LITERAL_ZERO, 8);
        }
        bits.code(END_OF_BLOCK, 7);
        bits.finish();
        let zeros = [0u8; 4096];
        let mut crc = Crc32::new();
        for _ in 0..GZIP_EXPANDED / zeros.len() {
            crc.update(&zeros);
        }
        out.extend_from_slice(&crc.finish().to_le_bytes());
        out.extend_from_slice(&(GZIP_EXPANDED as u32).to_le_bytes());
        out
    })
}

/// Writes a deflate bit stream: bits fill each byte from its lowest bit.
struct Bits<'a> {
    out: &'a mut Vec<u8>,
    byte: u8,
    used: u8,
}

impl<'a> Bits<'a> {
    fn new(out: &'a mut Vec<u8>) -> Bits<'a> {
        Bits {
            out,
            byte: 0,
            used: 0,
        }
    }

    fn bit(&mut self, bit: u32) {
        self.byte |= ((bit & 1) as u8) << self.used;
        self.used += 1;
        if self.used == 8 {
            self.out.push(self.byte);
            self.byte = 0;
            self.used = 0;
        }
    }

    /// A value of `n` bits, lowest bit first (header fields, extra bits).
    fn value(&mut self, value: u32, n: u32) {
        for i in 0..n {
            self.bit(value >> i);
        }
    }

    /// A Huffman code of `n` bits, highest bit first.
    fn code(&mut self, code: u32, n: u32) {
        for i in (0..n).rev() {
            self.bit(code >> i);
        }
    }

    /// Pads the last byte with zero bits.
    fn finish(self) {
        if self.used > 0 {
            self.out.push(self.byte);
        }
    }
}

/// CRC-32 (IEEE, reflected), as gzip's trailer wants it.
struct Crc32 {
    table: [u32; 256],
    crc: u32,
}

impl Crc32 {
    fn new() -> Crc32 {
        let mut table = [0u32; 256];
        for (n, entry) in (0u32..).zip(table.iter_mut()) {
            let mut c = n;
            for _ in 0..8 {
                c = if c & 1 == 1 {
                    0xedb8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            *entry = c;
        }
        Crc32 { table, crc: !0 }
    }

    fn update(&mut self, data: &[u8]) {
        for &byte in data {
            self.crc = self.table[((self.crc ^ u32::from(byte)) & 0xff) as usize] ^ (self.crc >> 8);
        }
    }

    fn finish(&self) -> u32 {
        !self.crc
    }
}
