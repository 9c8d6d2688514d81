//! The JSON-lines format: one job per line, a JSON object in the shape of
//! Python's `request_kwargs`.
//!
//! | field | JSON type | meaning |
//! |---|---|---|
//! | `url` | string, required | an absolute `http` or `https` URL |
//! | `method` | string | the HTTP method, any case |
//! | `headers` | object of strings, or array of `[name, value]` pairs | merged over the default headers per name, this job's winning |
//! | `params` | object of strings, numbers, booleans (or arrays of them), or `[name, value]` pairs | appended to the URL's query |
//! | `data` | string, or object of form fields | the body: UTF-8 text as it is; an object (or `[name, value]` pairs) as a form, `application/x-www-form-urlencoded` unless a header sets a type, values as in `params` |
//! | `data_base64` | string | the body, in standard padded base64: a body that is not UTF-8 |
//! | `json` | any | the body, as compact JSON, with `Content-Type: application/json` unless a header sets one |
//! | `files` | object: field name to a path, `{"path", "filename", "content_type"}`, or an array of those | a `multipart/form-data` body of these files (read when the line is, at most [`MAX_JOB_FILES`] bytes together) after the fields of a `data` object |
//! | `timeout` | number | seconds allowed for each attempt |
//! | `auth` | `[user, password]` | HTTP Basic credentials (see [`crate::Job::auth`]) |
//! | `allow_redirects` | boolean | `false`: a redirect is not followed, the 3xx is the response |
//! | `cookies` | object of strings | cookies of this request, merged over the default ones per name (see [`crate::Job::cookies`]) |
//!
//! A field that is absent or `null` takes the default (from the command
//! line's flags), as in Python. At most one of `data`, `data_base64` and
//! `json` may be given, and `files` goes with none but a `data` object
//! (requests' `data=` and `files=`). An unknown field is an error rather
//! than ignored, so a misspelt `header` is not dropped without a word.
//!
//! A form is made into its body as the line is read: the failures file
//! holds that body (with its `Content-Type`, boundary included), so a
//! failed job runs again with the same bytes, whatever became of its
//! files.
//!
//! [`encode`] writes a job in this format and [`parse_job`] reads it back
//! as the same job, but for its `auth` and `cookies`, which are never
//! written: the failures file of `tb-host run` is written with it, and
//! credentials do not belong in a file of failures.

use std::collections::BTreeMap;
use std::io::BufRead;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use reqwest::Url;
use serde::Serialize;
use serde::de::{Deserialize, DeserializeOwned};
use serde_json::{Map, Value};

use super::{
    InputError, JSON, LineReader, MAX_LINE, add_content_type, check_url, parse_method,
    timeout_from_secs,
};
use crate::cookies::{RequestCookies, check_cookie};
use crate::form::{self, FieldValue, Form, FormField};
use crate::job::{BasicAuth, CheckedUrl, Job, RequestDefaults};
use crate::wire::{TEXT_SHOWN, check_header, shorten};

/// Every field a job line may have.
const FIELDS: [&str; 12] = [
    "method",
    "url",
    "headers",
    "params",
    "data",
    "data_base64",
    "json",
    "files",
    "timeout",
    "auth",
    "allow_redirects",
    "cookies",
];

/// The most bytes the `files` of one job line may hold together: as much
/// as the line itself could carry inline, since each job in flight holds
/// its own form.
pub const MAX_JOB_FILES: u64 = MAX_LINE as u64;

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
    let url = match object.get("params").filter(|v| !v.is_null()) {
        Some(params) => {
            let url = with_params(url, params).map_err(in_field("params"))?;
            check_url(url.as_str()).map_err(in_field("params"))?
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
        Some(body) => Some(body),
        None => {
            defaults.add_content_type(&mut headers);
            defaults.body.clone()
        }
    };
    let timeout = match fields.get::<f64>("timeout")? {
        Some(secs) => Some(timeout_from_secs(secs).map_err(in_field("timeout"))?),
        None => defaults.timeout,
    };
    let auth = match fields.get::<(String, String)>("auth")? {
        Some((user, password)) => Some(BasicAuth { user, password }),
        None => defaults.auth.clone(),
    };
    let allow_redirects = fields.get::<bool>("allow_redirects")?.unwrap_or(true);
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
        url: url.as_str().to_owned(),
        headers,
        body,
        timeout,
        auth,
        allow_redirects,
        cookies,
        checked: CheckedUrl::new(url),
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
    #[serde(skip_serializing_if = "Option::is_none")]
    allow_redirects: Option<bool>,
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
        allow_redirects: (!job.allow_redirects).then_some(false),
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

    /// The body the job gives, if any. A `json` body or a form sets the
    /// content type in `headers` unless one is there.
    fn body(&self, headers: &mut Vec<(String, String)>) -> Result<Option<Bytes>, String> {
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
        if let Some(files) = self.0.get("files").filter(|v| !v.is_null()) {
            return self.multipart(files, given.first().copied()).map(|form| {
                add_content_type(headers, &form.content_type);
                Some(form.body)
            });
        }
        match self.0.get("data") {
            None | Some(Value::Null) => {}
            Some(Value::String(data)) => return Ok(Some(data.clone().into_bytes().into())),
            Some(other @ (Value::Bool(_) | Value::Number(_))) => {
                return Err(in_field("data")(format!(
                    "expected a string or a form (an object of names to values, or [name, value] \
                     pairs), got {other}"
                )));
            }
            Some(fields) => {
                let pairs = form_pairs(fields).map_err(in_field("data"))?;
                let form = form::urlencoded(pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())));
                add_content_type(headers, &form.content_type);
                return Ok(Some(form.body));
            }
        }
        if let Some(encoded) = self.get::<String>("data_base64")? {
            let body = BASE64
                .decode(encoded)
                .map_err(|e| in_field("data_base64")(format!("not base64: {e}")))?;
            return Ok(Some(body.into()));
        }
        Ok(self.get::<Value>("json")?.map(|json| {
            add_content_type(headers, JSON);
            json.to_string().into_bytes().into()
        }))
    }

    /// The multipart form of `files`, after the fields of a `data` object
    /// (the one body field given, `body`, if any).
    fn multipart(&self, files: &Value, body: Option<&str>) -> Result<Form, String> {
        let mut fields = match (body, self.0.get("data")) {
            (None, _) => Vec::new(),
            (Some("data"), Some(data)) if !data.is_string() => form_pairs(data)
                .map_err(in_field("data"))?
                .into_iter()
                .map(|(name, value)| FormField::text(name, value))
                .collect(),
            (Some(other), _) => {
                return Err(format!(
                    "fields {other} and files cannot both be given: files go with \
                     form fields only, a \"data\" object"
                ));
            }
        };
        fields.extend(file_fields(files).map_err(in_field("files"))?);
        form::multipart(&fields, MAX_JOB_FILES).map_err(|e| in_field("files")(e.to_string()))
    }
}

/// The pairs of `params` or of a form, given as an object (a name to a
/// value, or to an array of values, each repeated) or as `[name, value]`
/// pairs: values strings, numbers or booleans, `null` left out.
fn form_pairs(value: &Value) -> Result<Vec<(String, String)>, String> {
    let expected = || {
        format!(
            "expected an object of names to values, or [name, value] pairs, got {}",
            shorten(&value.to_string(), TEXT_SHOWN)
        )
    };
    let mut pairs = Vec::new();
    let mut add = |name: &str, value: &Value| -> Result<(), String> {
        let values = match value {
            Value::Array(items) => items.as_slice(),
            one => std::slice::from_ref(one),
        };
        for value in values {
            if let Some(text) = param_text(value) {
                pairs.push((name.to_owned(), text?));
            }
        }
        Ok(())
    };
    match value {
        Value::Object(fields) => {
            for (name, value) in fields {
                add(name, value)?;
            }
        }
        Value::Array(items) => {
            for item in items {
                match item.as_array().map(Vec::as_slice) {
                    Some([Value::String(name), value]) => add(name, value)?,
                    _ => return Err(expected()),
                }
            }
        }
        _ => return Err(expected()),
    }
    Ok(pairs)
}

/// The file fields of a job's `files`: each name to a path, to
/// `{"path", "filename", "content_type"}`, or to an array of those.
fn file_fields(files: &Value) -> Result<Vec<FormField>, String> {
    let Value::Object(files) = files else {
        return Err("expected an object of field names to files".to_owned());
    };
    let mut fields = Vec::new();
    for (name, given) in files {
        let one = |given: &Value| -> Result<FormField, String> {
            let wrong = || {
                format!(
                    "{:?}: expected a path, an object {{\"path\", \"filename\", \"content_type\"}} \
                     or an array of them, got {}",
                    shorten(name, TEXT_SHOWN),
                    shorten(&given.to_string(), TEXT_SHOWN)
                )
            };
            match given {
                Value::String(path) => Ok(FormField::file(name.clone(), path)),
                Value::Object(spec) => {
                    if spec
                        .keys()
                        .any(|k| !["path", "filename", "content_type"].contains(&k.as_str()))
                    {
                        return Err(wrong());
                    }
                    let text = |key: &str| match spec.get(key) {
                        None | Some(Value::Null) => Ok(None),
                        Some(Value::String(text)) => Ok(Some(text.clone())),
                        Some(_) => Err(wrong()),
                    };
                    let path = text("path")?.ok_or_else(wrong)?;
                    Ok(FormField {
                        name: name.clone(),
                        value: FieldValue::File(path.into()),
                        filename: text("filename")?,
                        content_type: text("content_type")?,
                    })
                }
                _ => Err(wrong()),
            }
        };
        match given {
            Value::Array(items) => {
                for item in items {
                    fields.push(one(item)?);
                }
            }
            given => fields.push(one(given)?),
        }
    }
    Ok(fields)
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
fn with_params(mut url: Url, params: &Value) -> Result<Url, String> {
    let pairs = form_pairs(params)?;
    url.query_pairs_mut().extend_pairs(pairs);
    Ok(url)
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
                r#"field "params": expected an object of names to values, or [name, value] pairs"#,
            ),
            (r#"{"url":"http://h/","method":"A B"}"#, r#"field "method""#),
            (
                r#"{"url":"http://h/","data":1}"#,
                r#"field "data": expected a string or a form"#,
            ),
            (
                r#"{"url":"http://h/","data":{"a":{"b":1}}}"#,
                r#"field "data": {"b":1} is not a string, number or boolean"#,
            ),
            (
                r#"{"url":"http://h/","data":[["a"]]}"#,
                r#"field "data": expected an object of names to values"#,
            ),
            (
                r#"{"url":"http://h/","files":{"f":"/no/such/file"}}"#,
                r#"field "files": field "f": cannot read /no/such/file"#,
            ),
            (
                r#"{"url":"http://h/","files":{"f":1}}"#,
                r#"field "files": "f": expected a path"#,
            ),
            (
                r#"{"url":"http://h/","files":{"f":{"path":"p","mode":"x"}}}"#,
                r#"field "files": "f": expected a path"#,
            ),
            (
                r#"{"url":"http://h/","files":["p"]}"#,
                r#"field "files": expected an object"#,
            ),
            (
                r#"{"url":"http://h/","data":"a=1","files":{"f":"p"}}"#,
                "fields data and files cannot both be given",
            ),
            (
                r#"{"url":"http://h/","json":{},"files":{"f":"p"}}"#,
                "fields json and files cannot both be given",
            ),
            (
                r#"{"url":"http://h/","allow_redirects":"no"}"#,
                r#"field "allow_redirects": invalid type"#,
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
    fn a_data_object_is_a_urlencoded_form_with_its_type() {
        let job = parse(
            r#"{"url":"http://h/","data":{"a":"1 2","b":["x","&"],"n":3,"t":true,"z":null}}"#,
        )
        .unwrap();
        assert_eq!(
            job.body.as_deref(),
            Some(&b"a=1+2&b=x&b=%26&n=3&t=true"[..])
        );
        assert_eq!(
            job.headers,
            [(
                "Content-Type".to_owned(),
                "application/x-www-form-urlencoded".to_owned()
            )]
        );
        let pairs = parse(r#"{"url":"http://h/","data":[["b","2"],["a","1"],["b","3"]]}"#).unwrap();
        assert_eq!(
            pairs.body.as_deref(),
            Some(&b"b=2&a=1&b=3"[..]),
            "pairs keep their order"
        );
    }

    #[test]
    fn files_make_a_multipart_form_after_the_data_fields() {
        let dir = std::env::temp_dir().join(format!("tb-host-jsonl-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let photo = dir.join("cat.png");
        std::fs::write(&photo, b"\x89PNG bytes").unwrap();
        let line = serde_json::json!({
            "url": "http://h/",
            "data": {"title": "a cat"},
            "files": {
                "photo": photo,
                "also": {"path": photo, "filename": "dog.gif", "content_type": "image/gif"},
            },
        });
        let job = parse(&line.to_string()).unwrap();
        let (_, content_type) = &job.headers[0];
        let boundary = content_type
            .strip_prefix("multipart/form-data; boundary=")
            .unwrap_or_else(|| panic!("{content_type}"));
        let body = String::from_utf8_lossy(job.body.as_deref().unwrap()).into_owned();
        let expected = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\na cat\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"also\"; filename=\"dog.gif\"\r\n\
             Content-Type: image/gif\r\n\r\n\u{fffd}PNG bytes\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"cat.png\"\r\n\
             Content-Type: image/png\r\n\r\n\u{fffd}PNG bytes\r\n--{boundary}--\r\n"
        );
        assert_eq!(body, expected);
        // The failures file holds the form as it was sent.
        assert_eq!(parse(&encode(&job)).unwrap(), job);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_default_body_brings_its_type_and_a_job_of_its_own_body_does_not_take_it() {
        let defaults = RequestDefaults {
            body: Some(Bytes::from_static(b"--b--")),
            content_type: Some("multipart/form-data; boundary=b".into()),
            headers: vec![("X-A".into(), "1".into())],
            ..RequestDefaults::default()
        };
        let plain = parse_job(r#"{"url":"http://h/"}"#, &defaults).unwrap();
        assert_eq!(plain.headers[1].1, "multipart/form-data; boundary=b");
        let own = parse_job(r#"{"url":"http://h/","data":"x=1"}"#, &defaults).unwrap();
        assert_eq!(own.headers, [("X-A".to_owned(), "1".to_owned())]);
        let typed = parse_job(
            r#"{"url":"http://h/","headers":{"content-type":"a/b"}}"#,
            &defaults,
        )
        .unwrap();
        assert_eq!(
            typed.headers.len(),
            2,
            "a header's type wins: {:?}",
            typed.headers
        );
        assert_eq!(typed.headers[1].1, "a/b");
    }

    #[test]
    fn allow_redirects_false_is_kept_and_written() {
        let job = parse(r#"{"url":"http://h/","allow_redirects":false}"#).unwrap();
        assert!(!job.allow_redirects);
        let line = encode(&job);
        assert!(line.contains(r#""allow_redirects":false"#), "{line}");
        assert_eq!(parse(&line).unwrap(), job);
        assert!(
            parse(r#"{"url":"http://h/","allow_redirects":true}"#)
                .unwrap()
                .allow_redirects
        );
        assert!(!encode(&Job::get("http://h/")).contains("allow_redirects"));
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
