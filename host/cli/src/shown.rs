//! What `--record-headers` and `--record-body` add to a record, so that a
//! pipeline reads a response from the record alone
//! (`tb-host run --record-body api.jsonl | jq .body.items`).
//!
//! - `headers`: the response's header fields, an object of lower-case
//!   names; a name that came more than once has an array of its values.
//! - `body`: a JSON body (by its `Content-Type`) as the JSON value it is;
//!   other UTF-8 text as a string; anything else as `body_base64`.
//!   `body_cut: true` says only the first `--record-body-limit` bytes are
//!   there (then a JSON body is given as text: its start does not parse).
//!
//! Both pass through the run's redaction first: a server that echoes a
//! request (httpbin's `/anything`) would otherwise write the credentials a
//! plugin sent into the output. A `Set-Cookie` shows its cookie's name and
//! attributes, never its value: a session cookie is a credential.

use base64::Engine;
use reqwest::header::{HeaderMap, SET_COOKIE};
use serde::Serialize;
use serde_json::{Map, Value};

use super::logging::Hidden;
use tb_host::Response;

/// The record's `headers`.
pub fn headers(headers: &HeaderMap, hidden: &Hidden) -> Value {
    let mut object = Map::new();
    for (name, value) in headers {
        let text = String::from_utf8_lossy(value.as_bytes());
        let text = if name == SET_COOKIE {
            cookie_value_hidden(&text).into()
        } else {
            text
        };
        let value = Value::String(hidden.shown(&text).into_owned());
        match object.get_mut(name.as_str()) {
            None => {
                object.insert(name.as_str().to_owned(), value);
            }
            Some(Value::Array(values)) => values.push(value),
            Some(first) => *first = Value::Array(vec![first.take(), value]),
        }
    }
    Value::Object(object)
}

/// A `Set-Cookie` value with the cookie's value replaced by `[redacted]`:
/// `sid=[redacted]; Path=/; HttpOnly`.
fn cookie_value_hidden(set_cookie: &str) -> String {
    let (pair, attributes) = match set_cookie.split_once(';') {
        Some((pair, attributes)) => (pair, Some(attributes)),
        None => (set_cookie, None),
    };
    let name = pair.split_once('=').map_or(pair, |(name, _)| name);
    match attributes {
        Some(attributes) => format!("{name}=[redacted];{attributes}"),
        None => format!("{name}=[redacted]"),
    }
}

/// The record's body fields.
#[derive(Serialize, Default)]
pub struct BodyFields {
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body_base64: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    body_cut: bool,
}

/// The body fields of `response`, its secrets hidden.
pub fn body(response: &Response, hidden: &Hidden) -> BodyFields {
    let cut = response.body_is_cut();
    let Ok(text) = std::str::from_utf8(response.body()) else {
        return BodyFields {
            body: None,
            body_base64: Some(base64::engine::general_purpose::STANDARD.encode(response.body())),
            body_cut: cut,
        };
    };
    let text = hidden.shown(text);
    let json = !cut && response.header("content-type").is_some_and(is_json);
    let body = json
        .then(|| serde_json::from_str(&text).ok())
        .flatten()
        .unwrap_or_else(|| Value::String(text.into_owned()));
    BodyFields {
        body: Some(body),
        body_base64: None,
        body_cut: cut,
    }
}

/// Whether a `Content-Type` is JSON: `application/json`, or any `+json`.
fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json")
        || essence.to_ascii_lowercase().ends_with("+json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_types_are_known_by_their_essence() {
        for json in [
            "application/json",
            "Application/JSON; charset=utf-8",
            "application/problem+json",
        ] {
            assert!(is_json(json), "{json}");
        }
        for other in ["text/plain", "application/jsonl", "text/json-ish"] {
            assert!(!is_json(other), "{other}");
        }
    }

    #[test]
    fn repeated_headers_become_arrays() {
        let mut map = HeaderMap::new();
        map.append("set-cookie", "a=s3cr3t; Path=/; HttpOnly".parse().unwrap());
        map.append("set-cookie", "b=2".parse().unwrap());
        map.append("content-type", "text/plain".parse().unwrap());
        let value = headers(&map, &Hidden::default());
        assert_eq!(
            value["set-cookie"],
            serde_json::json!(["a=[redacted]; Path=/; HttpOnly", "b=[redacted]"]),
            "cookie values are credentials"
        );
        assert_eq!(value["content-type"], "text/plain");
    }
}
