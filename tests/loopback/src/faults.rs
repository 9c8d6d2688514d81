//! The hostile routes, [`Faults`]: every way a server can misbehave that
//! tb-host must survive, chosen by the request path.
//!
//! Start a server of them with [`start`]: one of its own, one request per
//! connection, so a fault never lands on a connection the client meant to
//! reuse (every answer that completes carries `Connection: close`). Every
//! request is recorded when it has been read, before the fault is played.
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
//! | `/retry-after-date/{key}/{s}`   | the first request gets 429 with `Retry-After` an HTTP date at least `s` seconds after the request arrived (see [`retry_after_date`]), later ones 200 |
//! | `/loop/{key}`                   | 302 to itself, for ever                                      |
//! | `/scheme/{key}/ftp`             | 302 to `ftp://127.0.0.1:PORT/ftp-target/{key}` (this server's port: were it fetched over HTTP, `/ftp-target/{key}` would be hit) |
//! | `/scheme/{key}/file`            | 302 to `file:///etc/passwd`                                  |
//! | `/huge-headers/{key}`           | 200 whose head is 1 MiB of headers ([`HUGE_HEADERS`] bytes)  |
//! | `/gzip/{key}`                   | 200 with `Content-Encoding: gzip` and [`gzip_bomb`] as the body, whatever the request accepts |
//! | `/gigabyte/{key}`               | 200 with a body of 1 GiB ([`GIGABYTE`] bytes of `x`), streamed from one small buffer |
//! | anything else                   | left to the next handler: 404 on a server of [`start`]       |

use std::io::{self, Read, Write};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::exchange::{Connection, Handler, Outcome, Reply, Request};
use crate::server::Server;

pub use crate::gzip::{GZIP_EXPANDED, gzip_bomb};

/// How many bytes of headers `/huge-headers/...` sends: 1 MiB.
pub const HUGE_HEADERS: usize = 1024 * 1024;

/// How many bytes of body `/gigabyte/...` sends: 1 GiB.
pub const GIGABYTE: u64 = 1024 * 1024 * 1024;

/// The longest `/silent` holds a connection and `/drip` drips: a client
/// that never gives up (the bug these routes look for) gets a reset then,
/// so a failing test fails instead of hanging for ever.
pub const GIVE_UP: Duration = Duration::from_secs(5);

/// Declared length of the `/reset-body` and `/short-body` bodies.
const DECLARED: usize = 1000;

/// Bytes of those bodies actually sent.
const SENT: usize = 100;

/// How often a held connection (`/silent`) looks whether the client left
/// or the server is stopping.
const POLL: Duration = Duration::from_millis(50);

/// The pace of `/drip`: one byte per this long.
const DRIP: Duration = Duration::from_millis(200);

/// Starts a server of [`Faults`] alone on a free loopback port, one request
/// per connection.
pub fn start() -> io::Result<Server> {
    Server::builder()
        .one_request_per_connection()
        .handler(Faults)
        .start()
}

/// The time a `Retry-After` date asked for at `now` with `secs` seconds
/// names: `now` rounded up to a whole second, plus `secs`. An HTTP date has
/// whole seconds only, so rounding up makes the wait at least `secs`
/// seconds (and less than `secs + 1`). `/retry-after-date` takes `now` from
/// [`Request::at`], so a test recomputes the date from the record.
pub fn retry_after_date(now: SystemTime, secs: u64) -> SystemTime {
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let whole = since.as_secs() + u64::from(since.subsec_nanos() > 0);
    UNIX_EPOCH + Duration::from_secs(whole + secs)
}

/// The hostile routes (the table in the module documentation).
#[derive(Clone, Copy, Debug, Default)]
pub struct Faults;

impl Handler for Faults {
    fn answer(&self, req: &Request<'_>) -> Option<Outcome> {
        let position = req.position();
        let path = req.path();
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let ok = || Reply::new(200, "ok\n");
        let redirect = |location: String| Reply::new(302, "").with("Location", location);
        let outcome = match segments.as_slice() {
            ["reset-head", _] => Outcome::Reset,
            ["reset-body", _] => script(|conn| {
                write_partial_body(conn)?;
                conn.reset()
            }),
            ["short-body", _] => script(|conn| {
                write_partial_body(conn)?;
                conn.close()
            }),
            ["silent", _] => script(hold),
            ["drip", _] => script(drip),
            ["burst", _, n] => match n.parse::<usize>() {
                Ok(n) if position <= n => Reply::new(503, "busy\n").into(),
                Ok(_) => ok().into(),
                Err(_) => Reply::new(400, "").into(),
            },
            ["retry-after-secs", _, secs] if position == 1 => {
                Reply::new(429, "").with("Retry-After", *secs).into()
            }
            ["retry-after-date", _, secs] if position == 1 => match secs.parse::<u64>() {
                Ok(secs) => {
                    let date = httpdate::fmt_http_date(retry_after_date(req.at(), secs));
                    Reply::new(429, "").with("Retry-After", date).into()
                }
                Err(_) => Reply::new(400, "").into(),
            },
            ["retry-after-secs" | "retry-after-date", _, _] => ok().into(),
            ["loop", _] => redirect(path.to_owned()).into(),
            ["scheme", key, "ftp"] => {
                redirect(format!("ftp://{}/ftp-target/{key}", req.server())).into()
            }
            ["scheme", _, "file"] => redirect("file:///etc/passwd".to_owned()).into(),
            ["huge-headers", _] => script(huge_headers),
            ["gzip", _] => Reply::new(200, gzip_bomb())
                .with("Content-Encoding", "gzip")
                .into(),
            ["gigabyte", _] => script(gigabyte),
            _ => return None,
        };
        Some(outcome)
    }
}

/// `play` as an outcome.
fn script(play: impl FnOnce(&Connection<'_>) -> io::Result<()> + 'static) -> Outcome {
    Outcome::Script(Box::new(play))
}

/// A head declaring [`DECLARED`] bytes, and only [`SENT`] of them.
fn write_partial_body(conn: &Connection<'_>) -> io::Result<()> {
    let mut out = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {DECLARED}\r\n\r\n"
    )
    .into_bytes();
    out.extend_from_slice(&[b'p'; SENT]);
    let mut stream = conn.stream();
    stream.write_all(&out)?;
    stream.flush()
}

/// Never answers: waits until the client closes the connection, the
/// server stops, or [`GIVE_UP`] has passed (then resets).
fn hold(conn: &Connection<'_>) -> io::Result<()> {
    let mut stream = conn.stream();
    stream.set_read_timeout(Some(POLL))?;
    let mut sink = [0u8; 1024];
    let started = Instant::now();
    while !conn.stopping() {
        if started.elapsed() >= GIVE_UP {
            return conn.reset();
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
fn drip(conn: &Connection<'_>) -> io::Result<()> {
    let mut stream = conn.stream();
    stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")?;
    let started = Instant::now();
    while !conn.stopping() {
        if started.elapsed() >= GIVE_UP {
            return conn.reset();
        }
        stream.write_all(b"d")?;
        thread::sleep(DRIP);
    }
    Ok(())
}

/// A 200 whose head holds [`HUGE_HEADERS`] bytes of headers: 16 headers
/// of 64 KiB each.
fn huge_headers(conn: &Connection<'_>) -> io::Result<()> {
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
    conn.stream().write_all(&out)?;
    conn.close()
}

/// A 200 with a body of [`GIGABYTE`] bytes, written from one 64 KiB buffer
/// until done, the client goes away or the server stops.
fn gigabyte(conn: &Connection<'_>) -> io::Result<()> {
    let mut stream = conn.stream();
    let chunk = [b'x'; 64 * 1024];
    stream.write_all(
        format!("HTTP/1.1 200 OK\r\nContent-Length: {GIGABYTE}\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    )?;
    let mut left = GIGABYTE;
    while left > 0 && !conn.stopping() {
        let n = left.min(chunk.len() as u64) as usize;
        stream.write_all(&chunk[..n])?;
        left -= n as u64;
    }
    conn.close()
}
