//! The server itself: an accept thread on `127.0.0.1:PORT`, one thread per
//! connection reading requests and handing each to the handler chain, and
//! the [`Server`] handle that builds URLs and reads the record. With
//! [`Builder::tls`], each connection is TLS (rustls) first.

use std::fmt;
use std::io::{self, BufReader, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, SystemTime};

use socket2::{Domain, Protocol, Socket, Type};

use crate::exchange::{Connection, Handler, Outcome, Recorded, Records, Reply, Request};
use crate::routes::Routes;
use crate::wire::{BodyError, Framing, HeadRead, parse_head, read_body, read_head, reason};

/// Listen backlog: benchmarks open many connections at once.
const BACKLOG: i32 = 1024;

/// The hot-path answer, pre-built so [`Outcome::Fast`] costs one write.
const FAST_OK: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nok\n";

/// The loopback server: an accept thread on `127.0.0.1:PORT` plus one thread
/// per connection, sharing the handlers and a record of the requests seen.
///
/// Dropping it stops accepting new connections (connections already open
/// are served until the client closes them, with `Connection: close` on
/// their next answer; a script sees [`Connection::stopping`]). The drop
/// never waits for a busy connection.
pub struct Server {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

/// A server to be started: its handler chain and connection policy.
#[derive(Default)]
pub struct Builder {
    handlers: Vec<Box<dyn Handler>>,
    one_request_per_connection: bool,
    tls: Option<Arc<rustls::ServerConfig>>,
}

impl Builder {
    /// Adds `handler` at the end of the chain: it answers what the
    /// handlers before it leave.
    pub fn handler(mut self, handler: impl Handler) -> Builder {
        self.handlers.push(Box::new(handler));
        self
    }

    /// Closes every connection after one answer (`Connection: close` on
    /// each), as a server behind some proxies does: a fault then never
    /// lands on a connection the client meant to reuse. Without it,
    /// connections are kept alive as HTTP/1.1 says.
    pub fn one_request_per_connection(mut self) -> Builder {
        self.one_request_per_connection = true;
        self
    }

    /// Serves HTTPS: every connection is TLS with `config` (its
    /// certificate, whether it asks for a client's, its ALPN, which should
    /// offer `http/1.1` only: the server speaks no HTTP/2) before HTTP/1.1.
    /// A handshake that fails ends its connection, counted but not
    /// recorded. [`Server::url`] gives `https://` URLs. Scripts
    /// ([`Outcome::Script`]) and resets get the TCP stream beneath, so
    /// what they write is not TLS.
    pub fn tls(mut self, config: Arc<rustls::ServerConfig>) -> Builder {
        self.tls = Some(config);
        self
    }

    /// Binds `127.0.0.1:0` (a free port) and starts the accept thread.
    pub fn start(self) -> io::Result<Server> {
        let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
        socket.bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, 0)).into())?;
        socket.listen(BACKLOG)?;
        let listener: TcpListener = socket.into();
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            addr,
            stop: AtomicBool::new(false),
            records: Records::default(),
            handlers: self.handlers,
            one_request_per_connection: self.one_request_per_connection,
            connections: AtomicU64::new(0),
            tls: self.tls,
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
}

/// State shared by the accept thread, the connection threads and [`Server`].
struct Shared {
    /// Where the server listens.
    addr: SocketAddr,
    /// Set on drop: stop accepting, close connections after their next answer.
    stop: AtomicBool,
    records: Records,
    /// The chain: the first to return an outcome answers.
    handlers: Vec<Box<dyn Handler>>,
    one_request_per_connection: bool,
    /// Connections accepted so far.
    connections: AtomicU64,
    /// Every connection is TLS with this configuration.
    tls: Option<Arc<rustls::ServerConfig>>,
}

impl Server {
    /// Starts a server of the standard [`Routes`] (the table in the crate
    /// documentation), with keep-alive.
    pub fn start() -> io::Result<Server> {
        Server::builder().handler(Routes).start()
    }

    /// A server to build: no handlers yet (every request gets 404), with
    /// keep-alive.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// The address the server listens on, `127.0.0.1:PORT`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port the server listens on (on 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `127.0.0.1:PORT`: the `Host` a client sends, and what a plugin grant
    /// for this server names.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// The server's base URL, `http://127.0.0.1:PORT` (`https://` with
    /// [`Builder::tls`]), without a trailing slash.
    pub fn base_url(&self) -> String {
        let scheme = if self.shared.tls.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.addr)
    }

    /// The URL of `path` (which starts with `/`) on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url())
    }

    /// The recorded requests whose path without query equals `path`, in
    /// arrival order. Requests answered with [`Outcome::Fast`] (`/` and
    /// `/fast...` of [`Routes`]) are never recorded.
    pub fn requests_to(&self, path: &str) -> Vec<Recorded> {
        self.shared.records.requests_to(path)
    }

    /// How many requests to `path` were recorded: `requests_to(path).len()`
    /// without the copies.
    pub fn hits(&self, path: &str) -> usize {
        self.shared.records.hits(path)
    }

    /// Every request the server has answered (or reset) on any route,
    /// recorded or not, including malformed ones.
    pub fn total_hits(&self) -> u64 {
        self.shared.records.total()
    }

    /// How many connections the server has accepted: with keep-alive, how
    /// many a client opened.
    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::SeqCst)
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
        shared.connections.fetch_add(1, Ordering::SeqCst);
        let _ = stream.set_nodelay(true);
        let shared = Arc::clone(&shared);
        let spawned = thread::Builder::new()
            .name("loopback-conn".into())
            .spawn(move || {
                // A client that goes away mid-answer is what fault tests
                // are about: not the server's failure.
                let served = match &shared.tls {
                    None => serve(&stream, &stream, &shared),
                    Some(config) => rustls::ServerConnection::new(Arc::clone(config))
                        .map_err(io::Error::other)
                        .and_then(|tls| {
                            serve(rustls::StreamOwned::new(tls, &stream), &stream, &shared)
                        }),
                };
                if let Err(err) = served {
                    tracing::trace!(%err, "loopback connection ended");
                }
            });
        if let Err(err) = spawned {
            tracing::debug!(%err, "loopback cannot spawn a connection thread");
        }
    }
}

/// Serves one connection, `io` over the TCP `stream` (the same, or TLS on
/// it), until it closes, errs, or asks to close.
fn serve(io: impl Read + Write, stream: &TcpStream, shared: &Shared) -> io::Result<()> {
    let mut reader = BufReader::with_capacity(16 * 1024, io);
    let mut head = Vec::with_capacity(1024);
    let mut body = Vec::new();
    let mut out = Vec::with_capacity(256);
    loop {
        match read_head(&mut reader, &mut head)? {
            HeadRead::Complete => {}
            HeadRead::Closed => return Ok(()),
            HeadRead::TooLarge => {
                shared.records.count();
                return close_with(reader.get_mut(), stream, &mut out, 431);
            }
        }
        shared.records.count();
        let at = SystemTime::now();
        let parsed = match parse_head(&head) {
            Ok(parsed) => parsed,
            Err(status) => return close_with(reader.get_mut(), stream, &mut out, status),
        };
        if parsed.expect_continue {
            reader
                .get_mut()
                .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        }
        if parsed.path.starts_with("/sink")
            && let Framing::Length(length) = parsed.framing
        {
            // Read and dropped as it comes: a body of any size, held nowhere.
            let got = io::copy(&mut (&mut reader).take(length), &mut io::sink())?;
            if got < length {
                return Ok(());
            }
            let keep_alive = parsed.keep_alive && !shared.one_request_per_connection;
            out.clear();
            Reply::json(&serde_json::json!(got)).write(&mut out, keep_alive, parsed.http10, false);
            reader.get_mut().write_all(&out)?;
            if !keep_alive {
                return Ok(());
            }
            continue;
        }
        match read_body(&mut reader, parsed.framing, &mut body) {
            Ok(()) => {}
            Err(BodyError::Io(err)) => return Err(err),
            Err(BodyError::Bad) => return close_with(reader.get_mut(), stream, &mut out, 400),
            Err(BodyError::TooLarge) => return close_with(reader.get_mut(), stream, &mut out, 413),
        }
        let keep_alive = parsed.keep_alive
            && !shared.one_request_per_connection
            && !shared.stop.load(Ordering::Relaxed);
        let head_only = parsed.method == "HEAD";
        let request = Request::new(&parsed, &body, at, shared.addr, &shared.records);
        let outcome = shared
            .handlers
            .iter()
            .find_map(|handler| handler.answer(&request))
            .unwrap_or_else(|| Reply::text(404, "not found").into());
        if !matches!(outcome, Outcome::Fast) {
            request.position();
        }
        out.clear();
        match outcome {
            // The hot path: no recording, no formatting.
            Outcome::Fast if keep_alive && !parsed.http10 && !head_only => {
                reader.get_mut().write_all(FAST_OK)?;
            }
            Outcome::Fast => {
                Reply::ok().write(&mut out, keep_alive, parsed.http10, head_only);
                reader.get_mut().write_all(&out)?;
            }
            Outcome::Reply(reply) => {
                reply.write(&mut out, keep_alive, parsed.http10, head_only);
                reader.get_mut().write_all(&out)?;
            }
            // Linger 0: close() sends RST and drops unsent data.
            Outcome::Reset => return Connection::new(stream, &shared.stop).reset(),
            Outcome::Script(script) => return script(&Connection::new(stream, &shared.stop)),
        }
        if !keep_alive {
            return Ok(());
        }
    }
}

/// Answers `status` with a short text body and `Connection: close`, on
/// `io` over the TCP `stream`.
fn close_with(
    io: &mut (impl Read + Write),
    stream: &TcpStream,
    out: &mut Vec<u8>,
    status: u16,
) -> io::Result<()> {
    out.clear();
    Reply::text(status, reason(status)).write(out, false, false, false);
    io.write_all(out)?;
    io.flush()?;
    // Closing with unread input would send an RST that can destroy the
    // answer before the client reads it: half-close, then drain briefly.
    stream.shutdown(Shutdown::Write)?;
    stream.set_read_timeout(Some(Duration::from_millis(200)))?;
    let _ = io::copy(&mut io.take(1024 * 1024), &mut io::sink());
    Ok(())
}
