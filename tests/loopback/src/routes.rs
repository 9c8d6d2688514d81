//! The standard routes, [`Routes`]: the table in the crate documentation.
//! What `tb-host demo` fetches and most end-to-end tests script: statuses,
//! once-failing paths, resets, redirects, echoes and sized bodies.

use std::thread;
use std::time::Duration;

use crate::exchange::{Handler, Outcome, Reply, Request};

/// Largest body `/bytes/{n}` will produce.
const MAX_BYTES_ROUTE: usize = 64 * 1024 * 1024;

/// The standard routes (see the crate documentation for the table). A path
/// that is none of them is left to the next handler, or a 404.
#[derive(Clone, Copy, Debug, Default)]
pub struct Routes;

impl Handler for Routes {
    fn answer(&self, req: &Request<'_>) -> Option<Outcome> {
        let path = req.path();
        if path == "/" || path.starts_with("/fast") {
            return Some(Outcome::Fast);
        }
        // Recorded now, before a slow route sleeps: a test sees the request
        // as soon as it arrived.
        let position = req.position();
        if path.starts_with("/echo") {
            return Some(echo(req).into());
        }
        if path.starts_with("/form") {
            return Some(crate::form::read(req).into());
        }
        if path == "/json" {
            return Some(Reply::json(&serde_json::json!({"ok": true, "n": 42})).into());
        }
        let (first, rest) = match path[1..].split_once('/') {
            Some((first, rest)) => (first, Some(rest)),
            None => (&path[1..], None),
        };
        let reply = match (first, rest) {
            ("status", Some(code)) => match parse_status(code) {
                Some(code) => Reply::new(code, ""),
                None => bad("status code"),
            },
            ("flaky", Some(rest)) => {
                let parsed = split_last(rest).and_then(|(left, code)| {
                    let (_key, n) = split_last(left)?;
                    Some((n.parse::<usize>().ok()?, parse_status(code)?))
                });
                match parsed {
                    Some((n, code)) if position <= n => Reply::new(code, ""),
                    Some(_) => Reply::ok(),
                    None => bad("expected /flaky/{key}/{n}/{code}"),
                }
            }
            ("reset", Some(rest)) => match split_last(rest).map(|(_, n)| n.parse::<usize>()) {
                Some(Ok(n)) if position <= n => return Some(Outcome::Reset),
                Some(Ok(_)) => Reply::ok(),
                _ => bad("expected /reset/{key}/{n}"),
            },
            ("retry-after", Some(rest)) => match split_last(rest).map(|(_, s)| s.parse::<u64>()) {
                Some(Ok(secs)) if position == 1 => {
                    Reply::new(429, "").with("Retry-After", secs.to_string())
                }
                Some(Ok(_)) => Reply::ok(),
                _ => bad("expected /retry-after/{key}/{secs}"),
            },
            ("busy", Some(rest)) => match split_last(rest).map(|(_, n)| n.parse::<usize>()) {
                Some(Ok(n)) if position <= n => {
                    Reply::json(&serde_json::json!({"error": "slow down"}))
                }
                Some(Ok(_)) => Reply::ok(),
                _ => bad("expected /busy/{key}/{n}"),
            },
            ("slow", Some(ms)) => match ms.parse::<u64>() {
                Ok(ms) => {
                    thread::sleep(Duration::from_millis(ms));
                    Reply::ok()
                }
                Err(_) => bad("milliseconds"),
            },
            ("redirect-to", Some(_)) => redirect_to(req.query()),
            ("set-cookie", Some(_)) => set_cookie(req.query()),
            ("redirect", Some(n)) => match n.parse::<u64>() {
                Ok(0) => Reply::ok(),
                Ok(n) => Reply::new(302, "").with("Location", format!("/redirect/{}", n - 1)),
                Err(_) => bad("redirect count"),
            },
            ("bytes", Some(n)) => match n.parse::<usize>() {
                Ok(n) if n <= MAX_BYTES_ROUTE => {
                    Reply::new(200, vec![b'x'; n]).with("Content-Type", "application/octet-stream")
                }
                _ => bad("byte count (at most 64 MiB)"),
            },
            _ => return None,
        };
        Some(reply.into())
    }
}

/// 400 explaining which part of the route was malformed.
fn bad(what: &str) -> Reply {
    Reply::text(400, &format!("bad request: {what}"))
}

/// A status code a route may answer with: a final status, 200..=599.
fn parse_status(text: &str) -> Option<u16> {
    text.parse().ok().filter(|code| (200..=599).contains(code))
}

/// Splits `key/.../last` into `(key, last)`; the key must be non-empty.
fn split_last(rest: &str) -> Option<(&str, &str)> {
    rest.rsplit_once('/').filter(|(key, _)| !key.is_empty())
}

/// The `/redirect-to/...` answer: a redirect wherever the query says.
fn redirect_to(query: &str) -> Reply {
    let mut status = 302;
    let mut location = None;
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("status", code)) => match parse_status(code) {
                Some(code) => status = code,
                None => return bad("status code"),
            },
            Some(("url", url)) => location = Some(percent_decode(url)),
            _ => {}
        }
    }
    match location {
        Some(location) => Reply::new(status, "").with("Location", location),
        None => bad("expected ?url={location}"),
    }
}

/// The `/set-cookie/...` answer: 200 `ok\n` with a `Set-Cookie` field for
/// each `c={value}` of the query, percent-decoded, in order.
fn set_cookie(query: &str) -> Reply {
    query
        .split('&')
        .filter_map(|pair| pair.strip_prefix("c="))
        .fold(Reply::ok(), |reply, value| {
            reply.with("Set-Cookie", percent_decode(value))
        })
}

/// `text` with every `%XX` replaced by the byte it stands for; any other
/// byte, a `%` without two hex digits included, is kept as it is.
pub fn percent_decode(text: &str) -> Vec<u8> {
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
fn echo(req: &Request<'_>) -> Reply {
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
        "method": req.method(),
        "path": req.target(),
        "headers": headers,
        "body": String::from_utf8_lossy(req.body()),
    }))
}
