//! URLs as plugins edit them: the parts of an absolute `http`/`https` URL,
//! its query parameters, and percent-encoding (RFC 3986).
//!
//! This is a small, focused module rather than the `url` crate, whose
//! internationalised-domain tables would add far more to a plugin than
//! the whole plugin weighs. It does not normalise or validate beyond
//! splitting the parts: the host checks every URL a plugin returns.
//!
//! ```
//! use guest_sdk::url::Url;
//!
//! let mut url = Url::parse("https://api.example.test:8443/v1/items?page=2#top").unwrap();
//! assert_eq!(url.host(), "api.example.test");
//! assert_eq!(url.port(), Some(8443));
//! assert_eq!(url.path(), "/v1/items");
//! url.append_query_param("api key", "a&b");
//! assert_eq!(url.query_param("page").as_deref(), Some("2"));
//! assert_eq!(url.to_string(), "https://api.example.test:8443/v1/items?page=2&api%20key=a%26b#top");
//! ```

use std::fmt;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// Every byte but the unreserved characters of RFC 3986 (`A-Z a-z 0-9 - . _ ~`).
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// [`UNRESERVED`] that also keeps `/`, for whole paths.
const UNRESERVED_AND_SLASH: &AsciiSet = &UNRESERVED.remove(b'/');

/// `text` with every byte but the unreserved characters percent-encoded
/// (upper-case hex), as query parameters and most signing schemes want.
///
/// ```
/// assert_eq!(guest_sdk::url::encode("a b/c~ሴ"), "a%20b%2Fc~%E1%88%B4");
/// ```
pub fn encode(text: &str) -> String {
    utf8_percent_encode(text, UNRESERVED).to_string()
}

/// Like [`encode`], but keeps `/`: for a whole path.
///
/// ```
/// assert_eq!(guest_sdk::url::encode_path("/a b/%41"), "/a%20b/%2541");
/// ```
pub fn encode_path(path: &str) -> String {
    utf8_percent_encode(path, UNRESERVED_AND_SLASH).to_string()
}

/// `text` with `%XX` escapes decoded; bytes that are not UTF-8 become
/// U+FFFD. A `+` stays a `+` (it means a space only in HTML forms).
///
/// ```
/// assert_eq!(guest_sdk::url::decode("a%20b+c%E1%88%B4"), "a b+cሴ");
/// ```
pub fn decode(text: &str) -> String {
    percent_decode_str(text).decode_utf8_lossy().into_owned()
}

/// `pairs` as `application/x-www-form-urlencoded` text, each name and
/// value [`encode`]d: the body of a form POST, such as a token request.
///
/// ```
/// let body = guest_sdk::url::form(&[("grant_type", "client_credentials"), ("scope", "read write")]);
/// assert_eq!(body, "grant_type=client_credentials&scope=read%20write");
/// ```
pub fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// An absolute URL split into its parts: `scheme://authority path ?query
/// #fragment`. [`Display`](fmt::Display) puts them back together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    scheme: String,
    authority: String,
    path: String,
    query: Option<String>,
    fragment: Option<String>,
}

impl Url {
    /// Splits `text`, which must be an absolute URL with an authority
    /// (`scheme://host...`). The error names what is missing.
    ///
    /// ```
    /// use guest_sdk::url::Url;
    /// assert!(Url::parse("http://example.test").is_ok());
    /// assert!(Url::parse("/relative/path").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Url, String> {
        let (scheme, rest) = text
            .split_once("://")
            .filter(|(scheme, _)| {
                !scheme.is_empty()
                    && scheme
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
            })
            .ok_or_else(|| format!("{text:?} is not an absolute URL (scheme://host/...)"))?;
        let (rest, fragment) = match rest.split_once('#') {
            Some((rest, fragment)) => (rest, Some(fragment.to_owned())),
            None => (rest, None),
        };
        let (rest, query) = match rest.split_once('?') {
            Some((rest, query)) => (rest, Some(query.to_owned())),
            None => (rest, None),
        };
        let (authority, path) = match rest.find('/') {
            Some(slash) => rest.split_at(slash),
            None => (rest, ""),
        };
        if authority.is_empty() {
            return Err(format!("{text:?} has no host"));
        }
        Ok(Url {
            scheme: scheme.to_ascii_lowercase(),
            authority: authority.to_owned(),
            path: path.to_owned(),
            query,
            fragment,
        })
    }

    /// The scheme, lower case: `https`.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The host, without user information or port (an IPv6 address keeps
    /// its brackets).
    pub fn host(&self) -> &str {
        let host_port = self.host_port();
        match host_port.rfind(':') {
            Some(colon) if !host_port[colon..].contains(']') => &host_port[..colon],
            _ => host_port,
        }
    }

    /// The port given in the URL, if any.
    pub fn port(&self) -> Option<u16> {
        let host_port = self.host_port();
        let host = self.host();
        host_port.get(host.len() + 1..)?.parse().ok()
    }

    /// The value of the `Host` header an HTTP client sends for this URL:
    /// the host, and the port unless it is the scheme's default.
    ///
    /// ```
    /// use guest_sdk::url::Url;
    /// assert_eq!(Url::parse("https://a.test:443/").unwrap().host_header(), "a.test");
    /// assert_eq!(Url::parse("http://a.test:8080/").unwrap().host_header(), "a.test:8080");
    /// ```
    pub fn host_header(&self) -> String {
        let default = match self.scheme.as_str() {
            "http" => Some(80),
            "https" => Some(443),
            _ => None,
        };
        match self.port() {
            Some(port) if Some(port) != default => format!("{}:{port}", self.host()),
            _ => self.host().to_owned(),
        }
    }

    /// The path as written (still percent-encoded); `/` when the URL has
    /// none.
    pub fn path(&self) -> &str {
        if self.path.is_empty() {
            "/"
        } else {
            &self.path
        }
    }

    /// The query as written, without its `?`.
    pub fn query(&self) -> Option<&str> {
        self.query.as_deref()
    }

    /// What goes on the request line: the path and `?query`. HTTP Digest
    /// signs this.
    ///
    /// ```
    /// use guest_sdk::url::Url;
    /// assert_eq!(Url::parse("http://a.test/d/i.html?x=1#f").unwrap().target(), "/d/i.html?x=1");
    /// ```
    pub fn target(&self) -> String {
        match &self.query {
            Some(query) => format!("{}?{query}", self.path()),
            None => self.path().to_owned(),
        }
    }

    /// The query's `name=value` pairs in order, [`decode`]d; a pair
    /// without `=` has an empty value, and empty pairs are skipped.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        self.query
            .as_deref()
            .unwrap_or("")
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                (decode(name), decode(value))
            })
            .collect()
    }

    /// The decoded value of the first query parameter called `name`.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query_pairs()
            .into_iter()
            .find(|(given, _)| given == name)
            .map(|(_, value)| value)
    }

    /// Adds `name=value` (both [`encode`]d) after the existing parameters.
    pub fn append_query_param(&mut self, name: &str, value: &str) {
        let pair = format!("{}={}", encode(name), encode(value));
        self.query = Some(match self.query.take().filter(|query| !query.is_empty()) {
            Some(query) => format!("{query}&{pair}"),
            None => pair,
        });
    }

    /// Makes `name=value` the only parameter called `name`, appended after
    /// the others. The other parameters keep their text as written.
    ///
    /// ```
    /// use guest_sdk::url::Url;
    /// let mut url = Url::parse("http://a.test/?key=old&x=1&key=older").unwrap();
    /// url.set_query_param("key", "new");
    /// assert_eq!(url.query(), Some("x=1&key=new"));
    /// ```
    pub fn set_query_param(&mut self, name: &str, value: &str) {
        self.remove_query_param(name);
        self.append_query_param(name, value);
    }

    /// Removes every query parameter called `name` (compared decoded);
    /// returns how many there were. A query left empty is dropped.
    pub fn remove_query_param(&mut self, name: &str) -> usize {
        let Some(query) = self.query.take() else {
            return 0;
        };
        let (removed, kept): (Vec<&str>, Vec<&str>) = query.split('&').partition(|pair| {
            let given = pair.split_once('=').map_or(*pair, |(given, _)| given);
            decode(given) == name
        });
        let kept: Vec<&str> = kept.into_iter().filter(|pair| !pair.is_empty()).collect();
        if !kept.is_empty() {
            self.query = Some(kept.join("&"));
        }
        removed.len()
    }

    /// The authority without user information: `host[:port]`.
    fn host_port(&self) -> &str {
        self.authority
            .rsplit_once('@')
            .map_or(self.authority.as_str(), |(_, host_port)| host_port)
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}{}", self.scheme, self.authority, self.path)?;
        if let Some(query) = &self.query {
            write!(f, "?{query}")?;
        }
        if let Some(fragment) = &self.fragment {
            write!(f, "#{fragment}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_of_a_full_url() {
        let url = Url::parse("HTTPS://user:pw@[::1]:8443/a/b?x=1&y#frag").unwrap();
        assert_eq!(url.scheme(), "https");
        assert_eq!(url.host(), "[::1]");
        assert_eq!(url.port(), Some(8443));
        assert_eq!(url.host_header(), "[::1]:8443");
        assert_eq!(url.path(), "/a/b");
        assert_eq!(url.query(), Some("x=1&y"));
        assert_eq!(url.target(), "/a/b?x=1&y");
        assert_eq!(url.to_string(), "https://user:pw@[::1]:8443/a/b?x=1&y#frag");
    }

    #[test]
    fn bare_host_has_root_path_and_no_port() {
        let url = Url::parse("http://example.test").unwrap();
        assert_eq!(url.path(), "/");
        assert_eq!(url.port(), None);
        assert_eq!(url.host_header(), "example.test");
        assert_eq!(url.to_string(), "http://example.test");
        assert!(Url::parse("http:///path").is_err());
        assert!(Url::parse("://x").is_err());
    }

    #[test]
    fn query_pairs_decode_and_tolerate_odd_shapes() {
        let url = Url::parse("http://a.test/?a=1&&b&c=%20x%3D&a=2").unwrap();
        assert_eq!(
            url.query_pairs(),
            [
                ("a".to_owned(), "1".to_owned()),
                ("b".to_owned(), String::new()),
                ("c".to_owned(), " x=".to_owned()),
                ("a".to_owned(), "2".to_owned()),
            ]
        );
        assert_eq!(url.query_param("a").as_deref(), Some("1"));
        assert_eq!(url.query_param("z"), None);
    }

    #[test]
    fn editing_the_query_keeps_the_rest_as_written() {
        let mut url = Url::parse("http://a.test/p?keep=%2F&drop=1#f").unwrap();
        assert_eq!(url.remove_query_param("drop"), 1);
        assert_eq!(url.to_string(), "http://a.test/p?keep=%2F#f");
        assert_eq!(url.remove_query_param("keep"), 1);
        assert_eq!(url.to_string(), "http://a.test/p#f");
        url.append_query_param("k", "v w");
        assert_eq!(url.to_string(), "http://a.test/p?k=v%20w#f");
        assert_eq!(url.remove_query_param("absent"), 0);
    }

    #[test]
    fn encoding_keeps_only_unreserved_characters() {
        assert_eq!(encode("-._~AZaz09"), "-._~AZaz09");
        assert_eq!(
            encode("!*'();:@&=+$,/?#[] %"),
            "%21%2A%27%28%29%3B%3A%40%26%3D%2B%24%2C%2F%3F%23%5B%5D%20%25"
        );
        assert_eq!(decode(&encode("ünï cødé/&=")), "ünï cødé/&=");
        assert_eq!(decode("%zz%4"), "%zz%4");
    }
}
