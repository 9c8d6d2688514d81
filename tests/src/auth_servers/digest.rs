//! A service behind HTTP Digest authentication (RFC 7616, `qop=auth`).
//!
//! A request without a valid answer gets 401 with a challenge carrying a
//! fresh nonce. An answer is valid when its user, realm, URI and nonce are
//! right, its nonce count is higher than any before for that nonce, and
//! its `response` is what the server computes from the password (MD5 with
//! the `md5` crate, SHA-256 with `ring`: not the plugin's code). After
//! `nonce_uses` accepted requests a nonce is retired: the next answer to
//! it gets 401 with `stale=true` and a new nonce.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tb_loopback::{Reply, Request, Server};

/// The realm the server challenges for.
pub const REALM: &str = "tb-host@loopback";

/// The server, and what it saw.
pub struct DigestServer {
    http: Server,
    state: Arc<Mutex<State>>,
}

/// What the server saw.
#[derive(Clone, Debug, Default)]
pub struct Seen {
    /// Requests accepted: each carried a valid answer with a fresh nc.
    pub accepted: usize,
    /// 401s with a new challenge to a request without an answer.
    pub challenged: usize,
    /// 401s with `stale=true` to an answer to a retired nonce.
    pub stale: usize,
    /// 401s to an answer that was wrong (bad response, user, URI or a
    /// replayed nc).
    pub refused: usize,
    /// The nc of every accepted answer, by nonce, in arrival order.
    pub counts: HashMap<String, Vec<u32>>,
}

struct State {
    seen: Seen,
    /// Nonces issued: highest nc accepted and uses left.
    nonces: HashMap<String, (u32, u32)>,
    issued: usize,
}

/// What the server checks answers against.
struct Account {
    username: String,
    password: String,
    algorithm: &'static str,
    nonce_uses: u32,
}

impl DigestServer {
    /// A server for `username`/`password` challenging with `algorithm`
    /// (`MD5` or `SHA-256`), retiring each nonce after `nonce_uses`
    /// accepted requests.
    pub fn start(
        username: &str,
        password: &str,
        algorithm: &'static str,
        nonce_uses: u32,
    ) -> DigestServer {
        let state = Arc::new(Mutex::new(State {
            seen: Seen::default(),
            nonces: HashMap::new(),
            issued: 0,
        }));
        let account = Account {
            username: username.to_owned(),
            password: password.to_owned(),
            algorithm,
            nonce_uses,
        };
        let shared = Arc::clone(&state);
        let http = super::start(move |request: &Request<'_>| {
            let mut state = shared.lock().unwrap_or_else(PoisonError::into_inner);
            check(&mut state, &account, request)
        })
        .expect("start the Digest server");
        DigestServer { http, state }
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        self.http.url(path)
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

fn check(state: &mut State, account: &Account, request: &Request<'_>) -> Reply {
    let Some(answer) = request
        .header("authorization")
        .and_then(|value| value.strip_prefix("Digest "))
        .map(params)
    else {
        state.seen.challenged += 1;
        return challenge(state, account, false);
    };
    let param = |name: &str| answer.get(name).map(String::as_str).unwrap_or("");
    let nonce = param("nonce").to_owned();
    let nc = u32::from_str_radix(param("nc"), 16).unwrap_or(0);
    let expected = expected_response(
        account,
        request.method(),
        param("uri"),
        &nonce,
        param("nc"),
        param("cnonce"),
    );
    let valid = param("username") == account.username
        && param("realm") == REALM
        && param("uri") == request.target()
        && param("qop") == "auth"
        && param("algorithm").eq_ignore_ascii_case(account.algorithm)
        && param("response") == expected;
    match state.nonces.get_mut(&nonce) {
        Some((last, left)) if valid && nc > *last && *left > 0 => {
            *last = nc;
            *left -= 1;
            state.seen.accepted += 1;
            state.seen.counts.entry(nonce).or_default().push(nc);
            Reply::new(200, "ok\n")
        }
        Some((_, 0)) if valid => {
            state.seen.stale += 1;
            challenge(state, account, true)
        }
        _ => {
            state.seen.refused += 1;
            challenge(state, account, false)
        }
    }
}

/// A 401 with a new nonce.
fn challenge(state: &mut State, account: &Account, stale: bool) -> Reply {
    state.issued += 1;
    let nonce = format!("nonce-{}-{:08x}", state.issued, rand_u32());
    state.nonces.insert(nonce.clone(), (0, account.nonce_uses));
    let stale = if stale { ", stale=true" } else { "" };
    Reply::new(401, "").with(
        "WWW-Authenticate",
        format!(
            r#"Digest realm="{REALM}", qop="auth", algorithm={}, nonce="{nonce}", opaque="opaque-1"{stale}"#,
            account.algorithm
        ),
    )
}

/// The `response` a correct client computes (RFC 7616 section 3.4.1).
fn expected_response(
    account: &Account,
    method: &str,
    uri: &str,
    nonce: &str,
    nc: &str,
    cnonce: &str,
) -> String {
    let hash = |text: String| -> String {
        if account.algorithm == "MD5" {
            format!("{:x}", md5::compute(text.as_bytes()))
        } else {
            hex(ring::digest::digest(&ring::digest::SHA256, text.as_bytes()).as_ref())
        }
    };
    let ha1 = hash(format!("{}:{REALM}:{}", account.username, account.password));
    let ha2 = hash(format!("{method}:{uri}"));
    hash(format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}"))
}

/// The `name=value` pairs of a Digest answer, values unquoted.
fn params(text: &str) -> HashMap<String, String> {
    let mut pairs = HashMap::new();
    let mut rest = text;
    while let Some((name, after)) = rest.split_once('=') {
        let name = name
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        let after = after.trim_start();
        let (value, next) = match after.strip_prefix('"') {
            Some(quoted) => {
                let end = quoted.find('"').unwrap_or(quoted.len());
                (
                    quoted[..end].to_owned(),
                    quoted.get(end + 1..).unwrap_or(""),
                )
            }
            None => {
                let end = after.find(',').unwrap_or(after.len());
                (after[..end].trim().to_owned(), &after[end..])
            }
        };
        pairs.insert(name, value);
        rest = next;
    }
    pairs
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Some randomness for nonces, from the standard library's hasher keys.
fn rand_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish() as u32
}
