//! The JSON-lines format: one job per line, a JSON object in the shape of
//! Python's `request_kwargs`.
//!
//! | field | JSON type | meaning |
//! |---|---|---|
//! | `url` | string, required | an absolute `http` or `https` URL |
//! | `method` | string | the HTTP method, any case |
//! | `headers` | object of strings, or array of `[name, value]` pairs | merged over the default headers per name, this job's winning |
//! | `params` | object of strings, numbers, booleans (or arrays of them) | appended to the URL's query |
//! | `data` | string | the body, as UTF-8 text |
//! | `data_base64` | string | the body, in standard padded base64: a body that is not UTF-8 |
//! | `json` | any | the body, as compact JSON, with `Content-Type: application/json` unless a header sets one |
//! | `timeout` | number | seconds allowed for each attempt |
//! | `auth` | `[user, password]` | HTTP Basic credentials (see [`crate::Job::auth`]) |
//! | `cookies` | object of strings | cookies of this request, merged over the default ones per name (see [`crate::Job::cookies`]) |
//!
//! A field that is absent or `null` takes the default (from the command
//! line's flags), as in Python. At most one of `data`, `data_base64` and
//! `json` may be given. An unknown field is an error rather than ignored, so
//! a misspelt `header` is not dropped without a word.
//!
//! [`encode`] writes a job in this format and [`parse_job`] reads it back
//! as the same job, but for its `auth` and `cookies`, which are never
//! written: the failures file of `tb-host run` is written with it, and
//! credentials do not belong in a file of failures.

use std::collections::BTreeMap;
use std::io::BufRead;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Serialize;
use serde::de::{Deserialize, DeserializeOwned};
use serde_json::{Map, Value};

use super::{
    InputError, LineReader, add_json_content_type, check_url, parse_method, timeout_from_secs,
};
use crate::cookies::{RequestCookies, check_cookie};
use crate::job::{BasicAuth, Job, RequestDefaults};
use crate::wire::{TEXT_SHOWN, check_header, shorten};

/// Every field a job line may have.
const FIELDS: [&str; 10] = [
    "method",
    "url",
    "headers",
    "params",
    "data",
    "data_base64",
    "json",
    "timeout",
    "auth",
    "cookies",
];

/// The fields that give the body; a job has at most one.
const BODY_FIELDS: [&str; 3] = ["data", "data_base64", "json"];

/// The jobs in JSON lines: an iterator that reads one line at a time.
pub struct JsonLines<R> {
    lines: LineReader<R>,
    defaults: RequestDefaults,
}

impl<R: BufRead> JsonLines<R> {
    /// Reads job objects from `reader`; what a job leaves out comes from
    /// `defaults`.
    pub fn new(reader: R, defaults: RequestDefaults) -> Self {
        JsonLines {
            lines: LineReader::new(reader),
            defaults,
        }
    }
}

impl<R: BufRead> Iterator for JsonLines<R> {
    type Item = Result<Job, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        let line = match self.lines.next_line()? {
            Ok(line) => line,
            Err(error) => return Some(Err(error)),
        };
        Some(parse_job(line.text, &self.defaults).map_err(|message| line.error(message)))
    }
}

/// Reads one job line; what it leaves out comes from `defaults`. The error
/// says what is wrong and names the field.
pub fn parse_job(text: &str, defaults: &RequestDefaults) -> Result<Job, String> {
    let object: Map<String, Value> =
        serde_json::from_str(text).map_err(|e| format!("not a JSON object: {e}"))?;
    if let Some(unknown) = object.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(format!(
            "unknown field {:?}; the fields are {}",
            shorten(unknown, TEXT_SHOWN),
            FIELDS.join(", ")
        ));
    }
    let fields = Fields(&object);
    let url: String = fields
        .get("url")?
        .ok_or_else(|| "field \"url\" is missing".to_owned())?;
    let url = check_url(&url).map_err(in_field("url"))?;
    let url = match fields.get::<Map<String, Value>>("params")? {
        Some(params) => {
            let url = with_params(&url, &params).map_err(in_field("params"))?;
            check_url(&url).map_err(in_field("params"))?
        }
        None => url,
    };
    let method = match fields.get::<String>("method")? {
        Some(method) => parse_method(&method).map_err(in_field("method"))?,
        None => defaults.method.clone(),
    };
    let own_headers = match object.get("headers") {
        Some(value) if !value.is_null() => parse_headers(value).map_err(in_field("headers"))?,
        _ => Vec::new(),
    };
    let mut headers = merge_headers(&defaults.headers, own_headers);
    let body = match fields.body(&mut headers)? {
        Some(body) => Some(body.into()),
        None => defaults.body.clone(),
    };
    let timeout = match fields.get::<f64>("timeout")? {
        Some(secs) => Some(timeout_from_secs(secs).map_err(in_field("timeout"))?),
        None => defaults.timeout,
    };
    let auth = match fields.get::<(String, String)>("auth")? {
        Some((user, password)) => Some(BasicAuth { user, password }),
        None => defaults.auth.clone(),
    };
    let cookies = match fields.get::<BTreeMap<String, String>>("cookies")? {
        Some(own) => {
            for (name, value) in &own {
                check_cookie(name, value).map_err(in_field("cookies"))?;
            }
            defaults
                .cookies
                .merged(RequestCookies(own.into_iter().collect()))
        }
        None => defaults.cookies.clone(),
    };
    Ok(Job {
        method,
        url,
        headers,
        body,
        timeout,
        auth,
        cookies,
    })
}

/// A job line as written: the fields [`parse_job`] reads.
#[derive(Serialize)]
struct JobLine<'a> {
    method: &'a str,
    url: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    headers: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_base64: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timeout: Option<f64>,
}

/// `job` as one line of this format (without the newline), which
/// [`parse_job`] with no defaults reads back as the same job. Headers are
/// an object, or `[name, value]` pairs when a name repeats; a body that is
/// UTF-8 is `data`, any other `data_base64`.
pub fn encode(job: &Job) -> String {
    let (data, data_base64) = match job.body.as_deref().map(std::str::from_utf8) {
        None => (None, None),
        Some(Ok(text)) => (Some(text), None),
        Some(Err(_)) => (None, job.body.as_ref().map(|body| BASE64.encode(body))),
    };
    let line = JobLine {
        method: &job.method,
        url: &job.url,
        headers: (!job.headers.is_empty()).then(|| encode_headers(&job.headers)),
        data,
        data_base64,
        timeout: job.timeout.map(|t| t.as_secs_f64()),
    };
    serde_json::to_string(&line).expect("a job line has only string keys")
}

fn encode_headers(headers: &[(String, String)]) -> Value {
    let repeats = headers.iter().enumerate().any(|(i, (name, _))| {
        headers[..i]
            .iter()
            .any(|(earlier, _)| earlier.eq_ignore_ascii_case(name))
    });
    if repeats {
        headers
            .iter()
            .map(|(name, value)| Value::from(vec![name.as_str(), value.as_str()]))
            .collect()
    } else {
        headers
            .iter()
            .map(|(name, value)| (name.clone(), Value::from(value.as_str())))
            .collect::<Map<_, _>>()
            .into()
    }
}

/// The fields of one job line.
struct Fields<'a>(&'a Map<String, Value>);

impl Fields<'_> {
    /// Field `name` as a `T`; `None` when absent or `null`.
    fn get<T: DeserializeOwned>(&self, name: &'static str) -> Result<Option<T>, String> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => T::deserialize(value)
                .map(Some)
                .map_err(|e| in_field(name)(e.to_string())),
        }
    }

    /// The body the job gives, if any. A `json` body sets the content type
    /// in `headers` unless one is there.
    fn body(&self, headers: &mut Vec<(String, String)>) -> Result<Option<Vec<u8>>, String> {
        let given: Vec<&str> = BODY_FIELDS
            .into_iter()
            .filter(|name| self.0.get(*name).is_some_and(|v| !v.is_null()))
            .collect();
        if given.len() > 1 {
            return Err(format!(
                "fields {} cannot both be given: a job has one body",
                given.join(" and ")
            ));
        }
        if let Some(data) = self.get::<String>("data")? {
            return Ok(Some(data.into_bytes()));
        }
        if let Some(encoded) = self.get::<String>("data_base64")? {
            let body = BASE64
                .decode(encoded)
                .map_err(|e| in_field("data_base64")(format!("not base64: {e}")))?;
            return Ok(Some(body));
        }
        Ok(self.get::<Value>("json")?.map(|json| {
            add_json_content_type(headers);
            json.to_string().into_bytes()
        }))
    }
}

/// Puts `field "name": ` before an error message.
fn in_field(name: &'static str) -> impl Fn(String) -> String {
    move |message| format!("field {name:?}: {message}")
}

/// Header fields given as an object of strings or as `[name, value]` pairs.
fn parse_headers(value: &Value) -> Result<Vec<(String, String)>, String> {
    let headers: Vec<(String, String)> = match value {
        Value::Array(_) => Vec::deserialize(value),
        _ => BTreeMap::<String, String>::deserialize(value).map(|map| map.into_iter().collect()),
    }
    .map_err(|e| format!("{e}; expected an object of strings or [name, value] pairs"))?;
    for (name, value) in &headers {
        check_header(name, value).map_err(|e| e.to_string())?;
    }
    Ok(headers)
}

/// `defaults` with every name `own` sets replaced by `own`'s fields.
fn merge_headers(
    defaults: &[(String, String)],
    own: Vec<(String, String)>,
) -> Vec<(String, String)> {
    let mut merged: Vec<(String, String)> = defaults
        .iter()
        .filter(|(name, _)| !own.iter().any(|(set, _)| set.eq_ignore_ascii_case(name)))
        .cloned()
        .collect();
    merged.extend(own);
    merged
}

/// `url` with `params` appended to its query, as Python's `params=`.
fn with_params(url: &str, params: &Map<String, Value>) -> Result<String, String> {
    let mut url = reqwest::Url::parse(url).map_err(|e| e.to_string())?;
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in params {
            let values = match value {
                Value::Array(items) => items.as_slice(),
                one => std::slice::from_ref(one),
            };
            for value in values {
                if let Some(text) = param_text(value) {
                    query.append_pair(name, &text?);
                }
            }
        }
    }
    Ok(url.into())
}

/// A parameter value as query text; `None` for `null`, which is left out.
fn param_text(value: &Value) -> Option<Result<String, String>> {
    match value {
        Value::Null => None,
        Value::String(text) => Some(Ok(text.clone())),
        Value::Number(number) => Some(Ok(number.to_string())),
        Value::Bool(flag) => Some(Ok(flag.to_string())),
        Value::Array(_) | Value::Object(_) => Some(Err(format!(
            "{} is not a string, number or boolean",
            shorten(&value.to_string(), TEXT_SHOWN)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn parse(text: &str) -> Result<Job, String> {
        parse_job(text, &RequestDefaults::default())
    }

    #[test]
    fn reads_every_field() {
        let job = parse(
            r#"{"method":"put","url":"http://127.0.0.1/a?x=1","headers":{"X-A":"1"},
                "params":{"b":"two words","c":3,"d":true,"e":[1,2],"f":null},
                "data":"hello","timeout":1.5}"#,
        )
        .unwrap();
        assert_eq!(job.method, "PUT");
        assert_eq!(
            job.url,
            "http://127.0.0.1/a?x=1&b=two+words&c=3&d=true&e=1&e=2"
        );
        assert_eq!(job.headers, [("X-A".to_owned(), "1".to_owned())]);
        assert_eq!(job.body.as_deref(), Some(&b"hello"[..]));
        assert_eq!(job.timeout, Some(Duration::from_millis(1500)));
    }

    #[test]
    fn json_bodies_get_a_content_type_unless_one_is_set() {
        let job = parse(r#"{"url":"http://h/","json":{"a":[1,null]}}"#).unwrap();
        assert_eq!(job.body.as_deref(), Some(&br#"{"a":[1,null]}"#[..]));
        assert_eq!(
            job.headers,
            [("Content-Type".to_owned(), "application/json".to_owned())]
        );
        let job =
            parse(r#"{"url":"http://h/","json":1,"headers":{"content-type":"text/x"}}"#).unwrap();
        assert_eq!(job.headers.len(), 1);
        assert_eq!(job.headers[0].1, "text/x");
    }

    #[test]
    fn auth_is_read_but_never_written() {
        let job = parse(r#"{"url":"http://h/","auth":["ann","s3cr3t-pass"]}"#).unwrap();
        let auth = job.auth.as_ref().unwrap();
        assert_eq!(
            (auth.user.as_str(), auth.password.as_str()),
            ("ann", "s3cr3t-pass")
        );
        let line = encode(&job);
        assert!(!line.contains("s3cr3t") && !line.contains("auth"), "{line}");
        assert!(
            parse(r#"{"url":"http://h/","auth":"ann"}"#)
                .unwrap_err()
                .contains("auth")
        );
    }

    #[test]
    fn cookies_merge_over_the_defaults_by_name_and_are_never_written() {
        let defaults = RequestDefaults {
            cookies: RequestCookies(vec![("a".into(), "1".into()), ("b".into(), "2".into())]),
            ..RequestDefaults::default()
        };
        let job = parse_job(
            r#"{"url":"http://h/","cookies":{"b":"s3cr3t-b","c":"3"}}"#,
            &defaults,
        )
        .unwrap();
        assert_eq!(
            job.cookies.0,
            [
                ("a".to_owned(), "1".to_owned()),
                ("b".to_owned(), "s3cr3t-b".to_owned()),
                ("c".to_owned(), "3".to_owned()),
            ]
        );
        let line = encode(&job);
        assert!(
            !line.contains("s3cr3t") && !line.contains("cookie"),
            "{line}"
        );
        for bad in [
            r#"{"url":"http://h/","cookies":{"a b":"1"}}"#,
            r#"{"url":"http://h/","cookies":{"a":"s3cr3t;x=1"}}"#,
            r#"{"url":"http://h/","cookies":{"a":1}}"#,
        ] {
            let error = parse(bad).unwrap_err();
            assert!(
                error.contains("cookies") && !error.contains("s3cr3t"),
                "{error}"
            );
        }
    }

    #[test]
    fn fields_win_over_the_defaults_and_headers_merge_per_name() {
        let defaults = RequestDefaults {
            method: "POST".into(),
            headers: vec![
                ("Accept".into(), "a".into()),
                ("X-Keep".into(), "k".into()),
                ("accept".into(), "b".into()),
            ],
            body: Some(b"default".to_vec().into()),
            timeout: Some(Duration::from_secs(9)),
            ..RequestDefaults::default()
        };
        let plain = parse_job(r#"{"url":"http://h/"}"#, &defaults).unwrap();
        assert_eq!(plain, Job::from_url("http://h/", &defaults));
        let own = parse_job(
            r#"{"url":"http://h/","method":"GET","headers":{"ACCEPT":"mine"},"data":"","timeout":2}"#,
            &defaults,
        )
        .unwrap();
        assert_eq!(own.method, "GET");
        assert_eq!(
            own.headers,
            [
                ("X-Keep".to_owned(), "k".to_owned()),
                ("ACCEPT".to_owned(), "mine".to_owned())
            ]
        );
        assert_eq!(
            own.body.as_deref(),
            Some(&b""[..]),
            "an empty body is a body"
        );
        assert_eq!(own.timeout, Some(Duration::from_secs(2)));
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (r#"{"url":"http://h/""#, "not a JSON object"),
            (r#"["http://h/"]"#, "not a JSON object"),
            (r#"{"method":"GET"}"#, r#"field "url" is missing"#),
            (
                r#"{"url":"ftp://h/"}"#,
                r#"field "url": "ftp://h/": the URL has scheme "ftp""#,
            ),
            (r#"{"url":5}"#, r#"field "url": invalid type: integer"#),
            (
                r#"{"url":"http://h/","header":{}}"#,
                r#"unknown field "header""#,
            ),
            (
                r#"{"url":"http://h/","headers":{"a":1}}"#,
                r#"field "headers": invalid type"#,
            ),
            (
                r#"{"url":"http://h/","headers":{"a b":"1"}}"#,
                r#"field "headers": header name "a b" is not valid HTTP"#,
            ),
            (
                r#"{"url":"http://h/","headers":[["a"]]}"#,
                r#"field "headers""#,
            ),
            (
                r#"{"url":"http://h/","params":{"a":{}}}"#,
                r#"field "params": {}"#,
            ),
            (
                r#"{"url":"http://h/","params":[1]}"#,
                r#"field "params": invalid type"#,
            ),
            (r#"{"url":"http://h/","method":"A B"}"#, r#"field "method""#),
            (
                r#"{"url":"http://h/","data":1}"#,
                r#"field "data": invalid type"#,
            ),
            (
                r#"{"url":"http://h/","data":"a","json":1}"#,
                "data and json cannot both",
            ),
            (
                r#"{"url":"http://h/","data_base64":"!"}"#,
                r#"field "data_base64": not base64"#,
            ),
            (r#"{"url":"http://h/","timeout":0}"#, r#"field "timeout""#),
            (
                r#"{"url":"http://h/","timeout":"5"}"#,
                r#"field "timeout": invalid type"#,
            ),
        ];
        for (line, expected) in cases {
            let error = parse(line).unwrap_err();
            assert!(error.contains(expected), "{line}: {error}");
        }
    }

    #[test]
    fn null_is_absent() {
        let job = parse(r#"{"url":"http://h/","method":null,"data":null,"json":null}"#).unwrap();
        assert_eq!(job, Job::get("http://h/"));
    }

    #[test]
    fn encoded_jobs_read_back_the_same() {
        let jobs = [
            Job::get("http://127.0.0.1/plain"),
            Job::get("http://127.0.0.1/a?b=c")
                .method("PATCH")
                .header("X-One", "1")
                .header("Content-Type", "text/plain")
                .body("é ünïcode\n\"quoted\"")
                .timeout(Duration::from_millis(2500)),
            Job::get("http://127.0.0.1/bin")
                .method("POST")
                .header("Accept", "a")
                .header("accept", "b")
                .body(vec![0xff, 0x00, 0xfe, b'x']),
            Job::get("http://127.0.0.1/empty").body(Vec::new()),
        ];
        for job in jobs {
            let line = encode(&job);
            assert!(!line.contains('\n'), "{line}");
            let back = parse(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
            let sorted = |mut job: Job| {
                job.headers.sort();
                job
            };
            assert_eq!(sorted(back), sorted(job.clone()), "{line}");
        }
        let binary = encode(&Job::get("http://h/").body(vec![0xff]));
        assert!(binary.contains(r#""data_base64":"/w==""#), "{binary}");
        let repeated = encode(&Job::get("http://h/").header("A", "1").header("a", "2"));
        assert!(
            repeated.contains(r#""headers":[["A","1"],["a","2"]]"#),
            "{repeated}"
        );
    }

    #[test]
    fn reads_lines_as_a_stream() {
        let input = b"{\"url\":\"http://h/1\"}\n\n  \nnot json\n{\"url\":\"http://h/2\"}\n";
        let jobs: Vec<_> = JsonLines::new(&input[..], RequestDefaults::default()).collect();
        assert_eq!(jobs.len(), 3);
        assert_eq!(jobs[0].as_ref().unwrap().url, "http://h/1");
        let error = jobs[1].as_ref().unwrap_err();
        assert_eq!(error.line, 4);
        assert_eq!(error.text, "not json");
        assert!(error.message.starts_with("not a JSON object"), "{error}");
        assert_eq!(jobs[2].as_ref().unwrap().url, "http://h/2");
    }
}
