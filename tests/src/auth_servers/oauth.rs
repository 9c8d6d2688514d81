//! An OAuth 2.0 authorization server and resource server in one.
//!
//! `POST /token` is the token endpoint of the client-credentials grant
//! (RFC 6749 section 4.4): it checks the client's id and secret by HTTP
//! Basic, issues bearer tokens `tok-1`, `tok-2`, ... and answers bad
//! credentials with RFC 6749's `invalid_client` error. Every other path
//! is the API: a request with an issued token that has uses left gets
//! 200; each token is honoured for `uses_per_token` requests and then
//! refused with 401 (`invalid_token`), as a revoked or expired token is,
//! so a client must fetch a new one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use base64::Engine;

use tb_loopback::{Reply, Request, Server};

use super::percent_decode;

/// The server, and what it saw.
pub struct OAuthServer {
    http: Server,
    state: Arc<Mutex<State>>,
}

/// What the server saw.
#[derive(Clone, Debug, Default)]
pub struct Seen {
    /// Tokens issued.
    pub tokens_issued: usize,
    /// Token requests refused for bad client credentials.
    pub clients_refused: usize,
    /// The form of each token request, decoded.
    pub token_forms: Vec<Vec<(String, String)>>,
    /// API requests accepted: each carried an issued token with uses left.
    pub accepted: usize,
    /// API requests refused with 401.
    pub unauthorized: usize,
}

#[derive(Default)]
struct State {
    seen: Seen,
    /// Uses left per issued token.
    uses_left: HashMap<String, u32>,
}

impl OAuthServer {
    /// A server for client `client_id` with `secret`, whose tokens are
    /// each good for `uses_per_token` API requests.
    pub fn start(client_id: &str, secret: &str, uses_per_token: u32) -> OAuthServer {
        let state = Arc::new(Mutex::new(State::default()));
        let expected = format!("{client_id}:{secret}");
        let shared = Arc::clone(&state);
        let http = super::start(move |request: &Request<'_>| {
            let mut state = shared.lock().unwrap_or_else(PoisonError::into_inner);
            if request.path() == "/token" {
                token(&mut state, request, &expected, uses_per_token)
            } else {
                api(&mut state, request)
            }
        })
        .expect("start the OAuth server");
        OAuthServer { http, state }
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        self.http.url(path)
    }

    /// `127.0.0.1:PORT`: what `--plugin-allow-host` grants for it.
    pub fn host(&self) -> String {
        self.http.host()
    }

    /// What the server saw so far.
    pub fn seen(&self) -> Seen {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .seen
            .clone()
    }
}

/// The token endpoint.
fn token(state: &mut State, request: &Request<'_>, expected: &str, uses: u32) -> Reply {
    let form: Vec<(String, String)> = String::from_utf8_lossy(request.body())
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(name, value)| (percent_decode(name), percent_decode(value)))
        .collect();
    state.seen.token_forms.push(form.clone());
    let client = request
        .header("authorization")
        .and_then(|value| value.strip_prefix("Basic "))
        .and_then(|encoded| {
            base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .ok()
        })
        .map(|decoded| String::from_utf8_lossy(&decoded).into_owned())
        .and_then(|pair| {
            let (id, secret) = pair.split_once(':')?;
            Some(format!("{}:{}", percent_decode(id), percent_decode(secret)))
        });
    let grant = form
        .iter()
        .any(|(name, value)| name == "grant_type" && value == "client_credentials");
    if request.method() != "POST" || !grant {
        return json(400, r#"{"error":"unsupported_grant_type"}"#);
    }
    if client.as_deref() != Some(expected) {
        state.seen.clients_refused += 1;
        return json(
            401,
            r#"{"error":"invalid_client","error_description":"Client authentication failed"}"#,
        )
        .with("WWW-Authenticate", "Basic realm=\"token\"");
    }
    state.seen.tokens_issued += 1;
    let token = format!("tok-{}", state.seen.tokens_issued);
    state.uses_left.insert(token.clone(), uses);
    json(
        200,
        &format!(r#"{{"access_token":"{token}","token_type":"Bearer","expires_in":3600}}"#),
    )
}

/// The API: a bearer token with uses left, or 401.
fn api(state: &mut State, request: &Request<'_>) -> Reply {
    let token = request
        .header("authorization")
        .and_then(|value| value.strip_prefix("Bearer "));
    match token.and_then(|token| state.uses_left.get_mut(token)) {
        Some(left) if *left > 0 => {
            *left -= 1;
            state.seen.accepted += 1;
            Reply::new(200, "ok\n")
        }
        _ => {
            state.seen.unauthorized += 1;
            Reply::new(401, "").with("WWW-Authenticate", "Bearer error=\"invalid_token\"")
        }
    }
}

fn json(status: u16, body: &str) -> Reply {
    Reply::new(status, body).with("Content-Type", "application/json")
}
