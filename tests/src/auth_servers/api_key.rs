//! A service that wants an API key: in header `X-API-Key` on paths under
//! `/header/`, in query parameter `api_key` on paths under `/query/`. A
//! request with the right key gets 200, any other 401.

use std::sync::{Arc, Mutex, PoisonError};

use super::{Exchange, HttpServer, Reply};

/// The server, and what it saw.
pub struct ApiKeyServer {
    http: HttpServer,
    seen: Arc<Mutex<Seen>>,
}

/// What the server saw.
#[derive(Clone, Debug, Default)]
pub struct Seen {
    /// Requests accepted, each with the key it carried.
    pub accepted: usize,
    /// Requests refused with 401.
    pub refused: usize,
}

impl ApiKeyServer {
    /// A server that accepts only `key`.
    pub fn start(key: &str) -> ApiKeyServer {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let key = key.to_owned();
        let log = Arc::clone(&seen);
        let http = HttpServer::start(Arc::new(move |exchange: &Exchange| {
            let given = if exchange.path().starts_with("/query/") {
                query_param(&exchange.target, "api_key")
            } else {
                exchange.header("x-api-key").map(str::to_owned)
            };
            let mut seen = log.lock().unwrap_or_else(PoisonError::into_inner);
            if given.as_deref() == Some(key.as_str()) {
                seen.accepted += 1;
                Reply::new(200, "ok\n")
            } else {
                seen.refused += 1;
                Reply::new(401, "missing or wrong API key\n")
            }
        }))
        .expect("start the API key server");
        ApiKeyServer { http, seen }
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        self.http.url(path)
    }

    /// What the server saw so far.
    pub fn seen(&self) -> Seen {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// The percent-decoded value of query parameter `name` in `target`.
fn query_param(target: &str, name: &str) -> Option<String> {
    let query = target.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (given, value) = pair.split_once('=')?;
        (given == name).then(|| percent_decode(value))
    })
}

/// `%XX` escapes decoded (a test server's own, kept apart from the SDK's).
pub fn percent_decode(text: &str) -> String {
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
    String::from_utf8_lossy(&out).into_owned()
}
