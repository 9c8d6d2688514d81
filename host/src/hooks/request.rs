//! The request of one attempt, as hooks see and edit it.
//!
//! A hook edits the request in place (a header set, a URL signed) instead
//! of returning a new one, and every edit is checked as it is made: a
//! plugin that adds one header pays for one header, however many the
//! request has, and a bad edit is refused on the spot, blamed on the hook
//! that made it, with nothing changed. What cannot be checked edit by
//! edit, whether a new URL's origin is one the hook may send to, the chain
//! checks when the hook returns (see [`super::origin`]).

use bytes::Bytes;

use super::chain::{MAX_HEADER_BYTES, MAX_HEADERS};
use super::framing;
use crate::wire;

/// One request of an attempt: the method, the URL in the form it is sent
/// in, the header fields in order (the session's defaults are not among
/// them: the session adds them to the job's origin only) and the body,
/// shared, never copied per attempt.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Request {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    /// The bytes of the names and values of `headers`, kept as they are
    /// edited, so an edit's size check does not count them all again.
    header_bytes: usize,
    body: Option<Bytes>,
}

/// An edit of a [`Request`] that was refused, and why; the request is as
/// it was.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EditRefused(String);

impl From<EditRefused> for String {
    fn from(refused: EditRefused) -> String {
        refused.0
    }
}

impl Request {
    /// A request as the host makes it, from a job or a redirect: not
    /// checked, as the operator's own values (a `Host` given with `-H`
    /// included) are the operator's to send.
    pub fn new(
        method: impl Into<String>,
        url: impl Into<String>,
        headers: Vec<(String, String)>,
        body: Option<Bytes>,
    ) -> Request {
        Request {
            method: method.into(),
            url: url.into(),
            header_bytes: headers.iter().map(field_bytes).sum(),
            headers,
            body,
        }
    }

    /// The HTTP method in upper case.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The absolute URL, in the form it is sent in.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The value of the first field named `name` (any case), if any.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Every header field, in order.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The body, if any.
    pub fn body(&self) -> Option<&Bytes> {
        self.body.as_ref()
    }

    /// Replaces every field named `name` (any case) with one field, where
    /// the first of them was, or adds it at the end.
    pub fn set_header(
        &mut self,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<(), EditRefused> {
        let field = (name.into(), value.into());
        let (name, value) = (field.0.as_str(), field.1.as_str());
        let mut first = None;
        let mut matches = 0;
        let mut replaced = 0;
        let mut present = false;
        for (at, old) in self.headers.iter().enumerate() {
            if old.0.eq_ignore_ascii_case(name) {
                first.get_or_insert(at);
                matches += 1;
                replaced += field_bytes(old);
                present |= old.1 == value;
            }
        }
        self.check_field(name, value, replaced, present)?;
        self.header_bytes = self.header_bytes - replaced + field_bytes(&field);
        match first {
            None => self.headers.push(field),
            Some(first) => {
                if matches > 1 {
                    // The first match and all before it stay, so `first`
                    // still points at it.
                    let mut at = 0;
                    self.headers.retain(|(n, _)| {
                        let keep = at <= first || !n.eq_ignore_ascii_case(&field.0);
                        at += 1;
                        keep
                    });
                }
                self.headers[first] = field;
            }
        }
        Ok(())
    }

    /// Adds a field at the end, keeping any of the same name.
    pub fn append_header(
        &mut self,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<(), EditRefused> {
        if self.headers.len() >= MAX_HEADERS {
            return Err(EditRefused(format!(
                "a request holds at most {MAX_HEADERS} header fields"
            )));
        }
        let field = (name.into(), value.into());
        let present = self
            .headers
            .iter()
            .any(|(n, v)| n.eq_ignore_ascii_case(&field.0) && *v == field.1);
        self.check_field(&field.0, &field.1, 0, present)?;
        self.header_bytes += field_bytes(&field);
        self.headers.push(field);
        Ok(())
    }

    /// Removes every field named `name` (any case).
    pub fn remove_header(&mut self, name: &str) -> Result<(), EditRefused> {
        let mut removed = 0;
        self.headers.retain(|field| {
            let keep = !field.0.eq_ignore_ascii_case(name);
            if !keep {
                removed += field_bytes(field);
            }
            keep
        });
        self.header_bytes -= removed;
        Ok(())
    }

    /// Changes the URL to `url`, which must be an `http` or `https` URL in
    /// the form it is sent in (what a hook signed is what the server
    /// gets). Whether its origin may differ from the old one is the
    /// chain's to check (see [`crate::hooks`] on origins).
    pub fn set_url(&mut self, url: &str) -> Result<(), EditRefused> {
        // The URL is not shown: a plugin may have signed it.
        match wire::parse_url(url) {
            Ok(parsed) if parsed.as_str() != url => Err(EditRefused(
                "the URL is not in the form it is sent in, so the server would get another \
                 one than the hook signed: give it as the URL standard serialises it \
                 (percent-encoded, no `.` or `..` segments, host in lower case)"
                    .to_owned(),
            )),
            Ok(parsed) => {
                let moved =
                    wire::parse_url(&self.url).map_or(true, |old| old.origin() != parsed.origin());
                if moved && framing::names_other_authority(&self.headers, &parsed) {
                    return Err(EditRefused(
                        "the request's Host header names another authority than the new URL"
                            .to_owned(),
                    ));
                }
                url.clone_into(&mut self.url);
                Ok(())
            }
            Err(error) => Err(EditRefused(error.to_string())),
        }
    }

    /// Checks a field about to replace fields of `replaced` bytes: valid
    /// HTTP, not one of the host's own (unless it is `present` already as
    /// it is, or a `Host` naming the URL's authority), and within
    /// [`MAX_HEADER_BYTES`].
    fn check_field(
        &self,
        name: &str,
        value: &str,
        replaced: usize,
        present: bool,
    ) -> Result<(), EditRefused> {
        // The size first: a huge field is refused before it is parsed.
        if self.header_bytes - replaced + name.len() + value.len() > MAX_HEADER_BYTES {
            return Err(EditRefused(format!(
                "a request holds at most {} KiB of header fields",
                MAX_HEADER_BYTES >> 10
            )));
        }
        wire::check_header(name, value).map_err(|error| EditRefused(error.to_string()))?;
        if !present {
            framing::check_field(name, value, &self.url).map_err(EditRefused)?;
        }
        Ok(())
    }
}

/// The bytes a header field counts for against [`MAX_HEADER_BYTES`].
fn field_bytes((name, value): &(String, String)) -> usize {
    name.len() + value.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> Request {
        Request::new(
            "GET",
            "http://127.0.0.1:8080/a",
            vec![
                ("Accept".to_owned(), "*/*".to_owned()),
                ("X-A".to_owned(), "1".to_owned()),
                ("x-a".to_owned(), "2".to_owned()),
            ],
            None,
        )
    }

    #[test]
    fn set_header_replaces_every_field_of_the_name_where_the_first_was() {
        let mut req = request();
        req.set_header("X-a", "3").unwrap();
        assert_eq!(
            req.headers(),
            [
                ("Accept".to_owned(), "*/*".to_owned()),
                ("X-a".to_owned(), "3".to_owned()),
            ]
        );
        req.set_header("Authorization", "Bearer t").unwrap();
        assert_eq!(req.header("authorization"), Some("Bearer t"));
        assert_eq!(req.headers().len(), 3);
    }

    #[test]
    fn the_size_kept_is_the_size_of_the_fields_after_every_edit() {
        let mut req = request();
        req.set_header("x-A", "a longer value").unwrap();
        req.append_header("X-B", "2").unwrap();
        req.set_header("Accept", "text/plain").unwrap();
        req.remove_header("x-b").unwrap();
        // A request made afresh of the same fields counts them itself.
        let fresh = Request::new("GET", req.url(), req.headers().to_vec(), None);
        assert_eq!(req, fresh);
        let room = MAX_HEADER_BYTES - fresh.header_bytes;
        assert!(req.append_header("X-Fill", "x".repeat(room - 6)).is_ok());
        assert!(req.append_header("X-Over", "").is_err());
    }

    #[test]
    fn append_and_remove() {
        let mut req = request();
        req.append_header("X-A", "4").unwrap();
        assert_eq!(req.headers().len(), 4);
        req.remove_header("x-A").unwrap();
        assert_eq!(req.headers(), [("Accept".to_owned(), "*/*".to_owned())]);
    }

    #[test]
    fn a_refused_edit_changes_nothing() {
        let mut req = request();
        let before = req.clone();
        assert!(req.set_header("X-Bad", "a\r\nInjected: 1").is_err());
        assert!(req.set_header("Bad Name", "1").is_err());
        let error = req.set_header("Content-Length", "0").unwrap_err();
        assert!(error.to_string().contains("Content-Length"), "{error}");
        assert!(req.append_header("Host", "other.example").is_err());
        assert!(req.set_url("http://127.0.0.1:8080/a/../b").is_err());
        assert!(req.set_url("ftp://127.0.0.1/").is_err());
        assert!(
            req.set_header("X-Big", "x".repeat(MAX_HEADER_BYTES))
                .is_err()
        );
        assert_eq!(req, before);
    }

    #[test]
    fn the_urls_own_host_and_what_was_given_pass() {
        let mut req = request();
        req.set_header("Host", "127.0.0.1:8080").unwrap();
        let mut given = Request::new(
            "GET",
            "http://127.0.0.1/",
            vec![("Host".to_owned(), "vhost.example".to_owned())],
            None,
        );
        given.set_header("Host", "vhost.example").unwrap();
        assert!(given.set_header("Host", "other.example").is_err());
        req.set_url("http://127.0.0.1:8080/b?sig=1").unwrap();
        assert_eq!(req.url(), "http://127.0.0.1:8080/b?sig=1");
    }

    #[test]
    fn at_most_max_headers_fields() {
        let mut req = Request::new("GET", "http://127.0.0.1/", Vec::new(), None);
        for i in 0..MAX_HEADERS {
            req.append_header(format!("X-{i}"), "v").unwrap();
        }
        assert!(req.append_header("X-Last", "v").is_err());
        req.set_header("X-0", "w").unwrap();
    }
}
