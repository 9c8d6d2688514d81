//! A service that wants an API key: in header `X-API-Key` on paths under
//! `/header/`, in query parameter `api_key` on paths under `/query/`. A
//! request with the right key gets 200, any other 401.

use std::sync::{Arc, Mutex, PoisonError};

use tb_loopback::{Reply, Request, Server};

use super::percent_decode;

/// The server, and what it saw.
pub struct ApiKeyServer {
    http: Server,
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
        let http = super::start(move |request: &Request<'_>| {
            let given = if request.path().starts_with("/query/") {
                query_param(request.query(), "api_key")
            } else {
                request.header("x-api-key").map(str::to_owned)
            };
            let mut seen = log.lock().unwrap_or_else(PoisonError::into_inner);
            if given.as_deref() == Some(key.as_str()) {
                seen.accepted += 1;
                Reply::new(200, "ok\n")
            } else {
                seen.refused += 1;
                Reply::new(401, "missing or wrong API key\n")
            }
        })
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

/// The percent-decoded value of query parameter `name` in `query`.
fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (given, value) = pair.split_once('=')?;
        (given == name).then(|| percent_decode(value))
    })
}
