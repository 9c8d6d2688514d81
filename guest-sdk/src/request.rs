//! The request of an attempt as a hook sees it: held by the host, read and
//! edited through [`Request`]'s methods, so a hook pays only for what it
//! touches. [`crate::testing`] backs it with a plain value off `wasm32`.

use crate::Headers;

/// What a [`Request`] is a view of: the host's resource in a component,
/// [`crate::testing::TestRequest`] in a native test.
pub(crate) trait Backing {
    fn method(&self) -> String;
    fn url(&self) -> String;
    fn header(&self, name: &str) -> Option<String>;
    fn headers(&self) -> Headers;
    fn body(&self) -> Option<Vec<u8>>;
    fn set_header(&mut self, name: &str, value: &str) -> Result<(), String>;
    fn append_header(&mut self, name: &str, value: &str) -> Result<(), String>;
    fn remove_header(&mut self, name: &str) -> Result<(), String>;
    fn set_url(&mut self, url: &str) -> Result<(), String>;
}

/// The request of one attempt, as it will be sent ([`crate::Plugin::authorize`],
/// which may edit it) or as it was sent ([`crate::Plugin::decide_retry`]).
///
/// The host checks every edit as it is made and refuses one that breaks a
/// rule, with a message that says which, changing nothing: return that
/// error (`?`) and the job fails with it. The rules: header names and
/// values must be valid HTTP ([`crate::headers::is_valid_name`],
/// [`crate::headers::is_valid_value`]); the headers only the host sets
/// (`Host` naming another authority, `Content-Length`,
/// `Transfer-Encoding`, `Connection`, `Upgrade`, `TE`, `Trailer`,
/// `Expect`, ...) may not be added; at most 1,000 fields and 256 KiB of
/// them; a new URL must be in the form the URL standard serialises it to
/// (what [`crate::url`] builds), and its scheme, host and port must stay
/// unless the operator granted the new origin with `--plugin-allow-host`
/// (checked when `authorize` returns).
pub struct Request<'a> {
    backing: &'a mut dyn Backing,
}

impl<'a> Request<'a> {
    pub(crate) fn new(backing: &'a mut dyn Backing) -> Request<'a> {
        Request { backing }
    }

    /// The HTTP method in upper case: `GET`, `POST`, ...
    pub fn method(&self) -> String {
        self.backing.method()
    }

    /// The absolute URL, query included, byte for byte as the server gets
    /// it (so a signature over it holds).
    pub fn url(&self) -> String {
        self.backing.url()
    }

    /// The value of the first field named `name` (any case), if any.
    pub fn header(&self, name: &str) -> Option<String> {
        self.backing.header(name)
    }

    /// Every header field, in order (the session's default headers, added
    /// by the host afterwards, are not among them). One call copies them
    /// all: ask for the ones you need with [`Request::header`] instead
    /// when you can.
    pub fn headers(&self) -> Headers {
        self.backing.headers()
    }

    /// The body, if any: a copy, so ask only when you sign it.
    pub fn body(&self) -> Option<Vec<u8>> {
        self.backing.body()
    }

    /// Makes `name: value` the only field of that name: where the first
    /// one was, or at the end.
    pub fn set_header(&mut self, name: &str, value: &str) -> Result<(), String> {
        self.backing.set_header(name, value)
    }

    /// Adds `name: value` at the end, keeping any of the same name.
    pub fn append_header(&mut self, name: &str, value: &str) -> Result<(), String> {
        self.backing.append_header(name, value)
    }

    /// Removes every field named `name` (any case).
    pub fn remove_header(&mut self, name: &str) -> Result<(), String> {
        self.backing.remove_header(name)
    }

    /// Changes the URL: its path and query (see the rules above).
    pub fn set_url(&mut self, url: &str) -> Result<(), String> {
        self.backing.set_url(url)
    }
}

impl std::fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Header values may be credentials: names only.
        let names: Vec<String> = self.headers().into_iter().map(|(name, _)| name).collect();
        f.debug_struct("Request")
            .field("method", &self.method())
            .field("url", &self.url())
            .field("headers", &names)
            .finish_non_exhaustive()
    }
}

/// The host's request resource as a [`Backing`].
#[cfg(target_arch = "wasm32")]
impl Backing for &crate::bindings::toolbelt::plugin::types::Request {
    fn method(&self) -> String {
        (**self).method()
    }
    fn url(&self) -> String {
        (**self).url()
    }
    fn header(&self, name: &str) -> Option<String> {
        (**self).header(name)
    }
    fn headers(&self) -> Headers {
        (**self).headers()
    }
    fn body(&self) -> Option<Vec<u8>> {
        (**self).body()
    }
    fn set_header(&mut self, name: &str, value: &str) -> Result<(), String> {
        (**self).set_header(name, value)
    }
    fn append_header(&mut self, name: &str, value: &str) -> Result<(), String> {
        (**self).append_header(name, value)
    }
    fn remove_header(&mut self, name: &str) -> Result<(), String> {
        (**self).remove_header(name)
    }
    fn set_url(&mut self, url: &str) -> Result<(), String> {
        (**self).set_url(url)
    }
}
