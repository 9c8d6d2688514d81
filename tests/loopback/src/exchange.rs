//! What a handler sees and says: the [`Request`] as it arrived, the
//! [`Outcome`] it chooses (a [`Reply`], a reset, or a script played on the
//! raw [`Connection`]), and the [`Recorded`] copy a test reads back.

use std::cell::Cell;
use std::collections::HashMap;
use std::io::{self, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use socket2::SockRef;

use crate::wire::{Head, header_lines, reason};

/// Something that answers requests: a route table such as
/// [`Routes`](crate::Routes) or [`Faults`](crate::Faults), or a closure
/// `|request: &Request<'_>| -> Option<Outcome>`.
///
/// Handlers run on the connection's thread, one request at a time per
/// connection but many connections at once: shared state needs a lock.
pub trait Handler: Send + Sync + 'static {
    /// The answer to `request`, or `None` to leave it to the next handler
    /// of the chain (and, after the last, to a 404).
    fn answer(&self, request: &Request<'_>) -> Option<Outcome>;
}

impl<F> Handler for F
where
    F: Fn(&Request<'_>) -> Option<Outcome> + Send + Sync + 'static,
{
    fn answer(&self, request: &Request<'_>) -> Option<Outcome> {
        self(request)
    }
}

/// One request as it arrived, borrowed from the connection's buffers.
pub struct Request<'a> {
    method: &'a str,
    target: &'a str,
    path: &'a str,
    header_block: &'a str,
    body: &'a [u8],
    at: SystemTime,
    server: SocketAddr,
    records: &'a Records,
    /// Set once the request is recorded: its position among its path's.
    position: Cell<Option<usize>>,
}

impl<'a> Request<'a> {
    /// The request whose head is `head` and body `body`, read at `at` by
    /// the server on `server`, to be recorded in `records`.
    pub(crate) fn new(
        head: &Head<'a>,
        body: &'a [u8],
        at: SystemTime,
        server: SocketAddr,
        records: &'a Records,
    ) -> Request<'a> {
        Request {
            method: head.method,
            target: head.target,
            path: head.path,
            header_block: head.header_block,
            body,
            at,
            server,
            records,
            position: Cell::new(None),
        }
    }

    /// The method as sent, e.g. `GET`.
    pub fn method(&self) -> &'a str {
        self.method
    }

    /// The request target as sent: the path plus the query, if any.
    pub fn target(&self) -> &'a str {
        self.target
    }

    /// The target without its query: what routes match and records are
    /// kept by.
    pub fn path(&self) -> &'a str {
        self.path
    }

    /// The query without its `?`; empty when there is none.
    pub fn query(&self) -> &'a str {
        self.target.split_once('?').map_or("", |(_, query)| query)
    }

    /// The headers as `(name, value)`, names as sent, values trimmed, in
    /// arrival order.
    pub fn headers(&self) -> impl Iterator<Item = (&'a str, &'a str)> + use<'a> {
        header_lines(self.header_block).filter_map(|line| {
            let (name, value) = line.split_once(':')?;
            Some((name, value.trim()))
        })
    }

    /// The value of the first header called `name`, compared
    /// case-insensitively as HTTP header names are.
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers()
            .find(|(given, _)| given.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    }

    /// The body, chunked bodies decoded.
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// When the server had read the request.
    pub fn at(&self) -> SystemTime {
        self.at
    }

    /// The address the server listens on, `127.0.0.1:PORT`.
    pub fn server(&self) -> SocketAddr {
        self.server
    }

    /// The 1-based position of this request among the requests to its
    /// path: 1 for the first. Records the request if it is not yet (the
    /// server records it before answering anyway), so the count includes
    /// it.
    pub fn position(&self) -> usize {
        if let Some(position) = self.position.get() {
            return position;
        }
        let recorded = Recorded {
            method: self.method.to_owned(),
            target: self.target.to_owned(),
            headers: self
                .headers()
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .collect(),
            body: self.body.to_vec(),
            at: self.at,
        };
        let position = self.records.record(self.path, recorded);
        self.position.set(Some(position));
        position
    }
}

/// One request as the server received it, for tests to inspect.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The request method as sent, e.g. `GET`.
    pub method: String,
    /// The request target as sent: the path plus the query, if any.
    pub target: String,
    /// The headers in arrival order, names as sent (see [`Recorded::header`]
    /// for a case-insensitive lookup).
    pub headers: Vec<(String, String)>,
    /// The request body (chunked bodies decoded).
    pub body: Vec<u8>,
    /// When the server had read the request.
    pub at: SystemTime,
}

impl Recorded {
    /// The value of the first header called `name`, compared
    /// case-insensitively as HTTP header names are.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(given, _)| given.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// The record of a server: every request counted, most recorded by path.
#[derive(Default)]
pub(crate) struct Records {
    /// Every request answered (or reset), all routes, malformed included.
    total: AtomicU64,
    /// Recorded requests by path (without query), in arrival order.
    by_path: Mutex<HashMap<String, Vec<Recorded>>>,
}

impl Records {
    /// Counts one request in [`Records::total`].
    pub(crate) fn count(&self) {
        self.total.fetch_add(1, Ordering::Relaxed);
    }

    /// Every request counted.
    pub(crate) fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// Records `recorded` under `path` and returns its 1-based position
    /// among the requests to it.
    fn record(&self, path: &str, recorded: Recorded) -> usize {
        let mut by_path = self.by_path.lock().unwrap_or_else(PoisonError::into_inner);
        let list = match by_path.get_mut(path) {
            Some(list) => list,
            None => by_path.entry(path.to_owned()).or_default(),
        };
        list.push(recorded);
        list.len()
    }

    /// The requests recorded under `path`, in arrival order.
    pub(crate) fn requests_to(&self, path: &str) -> Vec<Recorded> {
        let by_path = self.by_path.lock().unwrap_or_else(PoisonError::into_inner);
        by_path.get(path).cloned().unwrap_or_default()
    }

    /// How many requests are recorded under `path`.
    pub(crate) fn hits(&self, path: &str) -> usize {
        let by_path = self.by_path.lock().unwrap_or_else(PoisonError::into_inner);
        by_path.get(path).map_or(0, Vec::len)
    }
}

/// What a handler decided to do with a request.
pub enum Outcome {
    /// Send this answer.
    Reply(Reply),
    /// 200 `ok\n`, counted in [`Server::total_hits`](crate::Server::total_hits)
    /// but not recorded: the hot path of benchmarks and the demo, one
    /// pre-built write on a keep-alive connection.
    Fast,
    /// Close the connection with a TCP RST, sending nothing.
    Reset,
    /// Play a script on the raw connection, which is closed after it (a
    /// FIN, or an RST if the script asked for one with
    /// [`Connection::reset`]). For answers no [`Reply`] can give: a partial
    /// body, a stall, a trickle, a huge head.
    Script(Script),
}

impl From<Reply> for Outcome {
    fn from(reply: Reply) -> Outcome {
        Outcome::Reply(reply)
    }
}

/// What an [`Outcome::Script`] plays: it may write anything, read, wait,
/// and end the connection as it likes; an error ends the connection too
/// (a client that went away is what fault scripts are about).
pub type Script = Box<dyn FnOnce(&Connection<'_>) -> io::Result<()>>;

/// The raw connection an [`Outcome::Script`] writes to.
pub struct Connection<'a> {
    stream: &'a TcpStream,
    stop: &'a AtomicBool,
}

impl<'a> Connection<'a> {
    /// The connection `stream` of a server whose drop sets `stop`.
    pub(crate) fn new(stream: &'a TcpStream, stop: &'a AtomicBool) -> Connection<'a> {
        Connection { stream, stop }
    }

    /// The TCP stream, to read from and write to (`&TcpStream` is both).
    pub fn stream(&self) -> &'a TcpStream {
        self.stream
    }

    /// Whether the server is being dropped: a script that holds the
    /// connection should end.
    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Makes the coming close abortive (linger 0): the peer gets an RST
    /// and unsent data is dropped.
    pub fn reset(&self) -> io::Result<()> {
        SockRef::from(self.stream).set_linger(Some(Duration::ZERO))
    }

    /// Closes the sending side with a FIN: the peer reads everything sent,
    /// then end of file.
    pub fn close(&self) -> io::Result<()> {
        self.stream.shutdown(Shutdown::Write)
    }
}

/// An answer: a status, headers and a body. The server adds
/// `Content-Length` and, as the connection needs, `Connection`.
pub struct Reply {
    status: u16,
    /// Header fields in order; values as raw bytes, for tests of values
    /// that are not text.
    headers: Vec<(&'static str, Vec<u8>)>,
    body: Vec<u8>,
}

impl Reply {
    /// `status` with `body` and no headers.
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// `status` with `text` and a newline as a `text/plain` body.
    pub fn text(status: u16, text: &str) -> Reply {
        let mut body = Vec::with_capacity(text.len() + 1);
        body.extend_from_slice(text.as_bytes());
        body.push(b'\n');
        Reply::new(status, body).with("Content-Type", "text/plain")
    }

    /// 200 `ok\n`.
    pub fn ok() -> Reply {
        Reply::text(200, "ok")
    }

    /// 200 with `value` as an `application/json` body.
    pub fn json(value: &serde_json::Value) -> Reply {
        Reply::new(200, serde_json::to_vec(value).unwrap_or_default())
            .with("Content-Type", "application/json")
    }

    /// This reply with the header `name: value` added after the others.
    pub fn with(mut self, name: &'static str, value: impl Into<Vec<u8>>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }

    /// Serialises the answer into `out`: status line, headers, body.
    pub(crate) fn write(&self, out: &mut Vec<u8>, keep_alive: bool, http10: bool, head_only: bool) {
        // Writing to a Vec cannot fail.
        let _ = write!(out, "HTTP/1.1 {} {}\r\n", self.status, reason(self.status));
        for (name, value) in &self.headers {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
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
