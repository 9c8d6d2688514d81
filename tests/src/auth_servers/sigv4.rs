//! A service that checks AWS Signature Version 4 signatures.
//!
//! The check is written here from AWS's description, apart from the
//! plugin: it rebuilds the canonical request from what arrived on the
//! wire (method, target, the headers the `Authorization` names, the
//! body), derives the signing key and the signature with `ring` (the
//! plugin uses the RustCrypto crates) and compares. It also checks the
//! credential scope, that `X-Amz-Date` is within five minutes of now and
//! of the scope's day, and `x-amz-content-sha256` when sent. A valid
//! request gets 200; any other 403 with the reason in the body.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use ring::{digest, hmac};

use tb_loopback::{Reply, Request, Server};

use super::digest::hex;
use super::percent_decode;

/// The server, and what it saw.
pub struct SigV4Server {
    http: Server,
    seen: Arc<Mutex<Seen>>,
}

/// What the server saw.
#[derive(Clone, Debug, Default)]
pub struct Seen {
    /// Requests whose signature was valid.
    pub accepted: usize,
    /// Why each refused request was refused.
    pub refused: Vec<String>,
    /// The session token of each accepted request, if any.
    pub session_tokens: Vec<Option<String>>,
}

/// The account the server knows.
pub struct Account {
    /// The access key id.
    pub access_key_id: String,
    /// Its secret.
    pub secret_access_key: String,
    /// The region requests must be signed for.
    pub region: String,
    /// The service requests must be signed for.
    pub service: String,
}

impl SigV4Server {
    /// A server that accepts requests signed for `account`.
    pub fn start(account: Account) -> SigV4Server {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let log = Arc::clone(&seen);
        let http = super::start(move |request: &Request<'_>| {
            let verdict = verify(&account, request, SystemTime::now());
            let mut seen = log.lock().unwrap_or_else(PoisonError::into_inner);
            match verdict {
                Ok(()) => {
                    seen.accepted += 1;
                    let token = request.header("x-amz-security-token").map(str::to_owned);
                    seen.session_tokens.push(token);
                    Reply::new(200, "ok\n")
                }
                Err(reason) => {
                    seen.refused.push(reason.clone());
                    Reply::new(403, reason)
                }
            }
        })
        .expect("start the SigV4 server");
        SigV4Server { http, seen }
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

/// Whether `request` carries a valid signature for `account` at `now`.
fn verify(account: &Account, request: &Request<'_>, now: SystemTime) -> Result<(), String> {
    let authorization = request.header("authorization").ok_or("no Authorization")?;
    let fields = authorization
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or("not AWS4-HMAC-SHA256")?;
    let field = |name: &str| {
        fields
            .split(", ")
            .find_map(|part| part.strip_prefix(name)?.strip_prefix('='))
            .ok_or(format!("no {name} in Authorization"))
    };
    let credential = field("Credential")?;
    let signed_headers = field("SignedHeaders")?;
    let signature = field("Signature")?;
    let scope_parts: Vec<&str> = credential.splitn(2, '/').collect();
    let [key_id, scope] = scope_parts[..] else {
        return Err("bad Credential".into());
    };
    if key_id != account.access_key_id {
        return Err(format!("unknown access key {key_id}"));
    }
    let scope_fields: Vec<&str> = scope.split('/').collect();
    let [day, region, service, "aws4_request"] = scope_fields[..] else {
        return Err(format!("bad scope {scope}"));
    };
    if region != account.region || service != account.service {
        return Err(format!(
            "scope {scope} is not for {}/{}",
            account.region, account.service
        ));
    }
    let amz_date = request.header("x-amz-date").ok_or("no X-Amz-Date")?;
    check_date(amz_date, day, now)?;
    let names: Vec<&str> = signed_headers.split(';').collect();
    for required in ["host", "x-amz-date"] {
        if !names.contains(&required) {
            return Err(format!("{required} is not signed"));
        }
    }
    let payload = hex(digest::digest(&digest::SHA256, request.body()).as_ref());
    if request
        .header("x-amz-content-sha256")
        .is_some_and(|claimed| claimed != payload)
    {
        return Err("x-amz-content-sha256 does not match the body".into());
    }
    let mut canonical = format!(
        "{}\n{}\n{}\n",
        request.method(),
        canonical_path(request.path()),
        canonical_query(request.query()),
    );
    for name in &names {
        let values: Vec<String> = request
            .headers()
            .filter(|(given, _)| given.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        if values.is_empty() {
            return Err(format!("signed header {name} is missing"));
        }
        canonical.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    canonical.push_str(&format!("\n{signed_headers}\n{payload}"));
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex(digest::digest(&digest::SHA256, canonical.as_bytes()).as_ref())
    );
    let mac = |key: &[u8], data: &str| {
        hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data.as_bytes())
    };
    let key = mac(format!("AWS4{}", account.secret_access_key).as_bytes(), day);
    let key = mac(key.as_ref(), region);
    let key = mac(key.as_ref(), service);
    let key = mac(key.as_ref(), "aws4_request");
    let expected = hex(mac(key.as_ref(), &to_sign).as_ref());
    if expected != signature {
        return Err("signature does not match".into());
    }
    Ok(())
}

/// Checks `YYYYMMDDTHHMMSSZ` against the scope's day and `now`.
fn check_date(amz_date: &str, day: &str, now: SystemTime) -> Result<(), String> {
    if amz_date.len() != 16 || !amz_date.starts_with(day) || !amz_date.ends_with('Z') {
        return Err(format!("X-Amz-Date {amz_date} is not of day {day}"));
    }
    let number = |range: std::ops::Range<usize>| {
        amz_date[range]
            .parse::<i64>()
            .map_err(|_| format!("bad X-Amz-Date {amz_date}"))
    };
    let days = days_from_civil(number(0..4)?, number(4..6)?, number(6..8)?);
    let seconds = days * 86_400 + number(9..11)? * 3600 + number(11..13)? * 60 + number(13..15)?;
    let now = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() as i64;
    if (now - seconds).abs() > 300 {
        return Err(format!("X-Amz-Date {amz_date} is {} s off", now - seconds));
    }
    Ok(())
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The path with dot segments and empty segments removed, each byte but
/// the unreserved ones and `/` percent-encoded.
fn canonical_path(path: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                kept.pop();
            }
            other => kept.push(other),
        }
    }
    let mut normal = format!("/{}", kept.join("/"));
    if path.ends_with('/') && !kept.is_empty() {
        normal.push('/');
    }
    aws_encode(&normal, true)
}

/// The query's pairs, each part decoded and re-encoded, sorted.
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<String> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = aws_encode(&percent_decode(name), false);
            let value = aws_encode(&percent_decode(value), false);
            format!("{name}={value}")
        })
        .collect();
    pairs.sort_by(|a, b| {
        let split = |pair: &str| {
            pair.split_once('=')
                .map(|(n, v)| (n.to_owned(), v.to_owned()))
        };
        split(a).cmp(&split(b))
    });
    pairs.join("&")
}

/// AWS's URI encoding: every byte but `A-Z a-z 0-9 - _ . ~` (and `/`
/// when `keep_slash`) as `%XX`, upper case.
fn aws_encode(text: &str, keep_slash: bool) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) || (keep_slash && byte == b'/') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
