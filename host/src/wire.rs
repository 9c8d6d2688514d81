//! What may go on the wire: the one check of URLs and of header fields,
//! for every place that takes them (input lines and flags, hook answers,
//! sessions, redirects, the worker's requests, `host.fetch`).
//!
//! A URL or header the HTTP client would refuse is refused here first,
//! with a message that says which and why, so that the same mistake reads
//! the same wherever it was made. Each caller puts its own context in
//! front (the input line, the hook, `session`, `fetch`).

use reqwest::Url;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

/// Longest URL sent: the HTTP client takes none longer (its `Uri` holds at
/// most this many bytes), so a longer one fails at once, with this said.
pub const MAX_URL: usize = 65_534;

/// Longest header name sent: the HTTP client takes none longer.
pub const MAX_HEADER_NAME: usize = (1 << 16) - 1;

/// Most bytes of a header name shown in a message about it ([`shorten`]).
pub const NAME_SHOWN: usize = 64;

/// Most bytes shown of other text a message quotes ([`shorten`]): an
/// input line, a URL, a server's `Location`.
pub const TEXT_SHOWN: usize = 1024;

/// Why a URL is not one that is sent. The message does not show the URL:
/// a hook may have put a secret in it, so the caller decides whether to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Longer than [`MAX_URL`] bytes, as given or as sent.
    #[error("the URL is {0} bytes long; at most {MAX_URL} can be sent")]
    TooLong(usize),
    /// Not a URL at all (relative, bad characters, bad port...).
    #[error("the URL does not parse: {0}")]
    Unparsable(String),
    /// A scheme other than `http` and `https`.
    #[error("the URL has scheme {0:?}; only http and https are fetched")]
    Scheme(String),
    /// No host, or an empty one.
    #[error("the URL has no host")]
    NoHost,
}

/// Parses `url` and checks that it is an absolute `http` or `https` URL
/// with a host, at most [`MAX_URL`] bytes long both as given and in the
/// form it is sent in: serialised as the URL standard says
/// (percent-encoding, `.` and `..` segments resolved, host in lower case
/// and IDNA), which is what the returned URL's `as_str` is.
pub fn parse_url(url: &str) -> Result<Url, UrlError> {
    check_length(url)?;
    let parsed = Url::parse(url).map_err(|e| UrlError::Unparsable(e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(UrlError::Scheme(parsed.scheme().to_owned()));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(UrlError::NoHost);
    }
    check_length(parsed.as_str())?;
    Ok(parsed)
}

fn check_length(url: &str) -> Result<(), UrlError> {
    match url.len() {
        len if len > MAX_URL => Err(UrlError::TooLong(len)),
        _ => Ok(()),
    }
}

/// Why a header field is not one that is sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// The name (cut to [`NAME_SHOWN`] bytes) is not an HTTP token.
    #[error(
        "header name {0:?} is not valid HTTP (a name is one or more of the \
         letters, digits and !#$%&'*+-.^_`|~)"
    )]
    Name(String),
    /// The name is this many bytes long, more than [`MAX_HEADER_NAME`].
    #[error("a header name is {0} bytes long; at most {MAX_HEADER_NAME} can be sent")]
    NameTooLong(usize),
    /// The value of header `name` has a byte no header value may have
    /// (a control character other than tab, or DEL), the first at `at`.
    #[error("header {name} has a value that is not valid HTTP (byte {byte:#04x} at {at})")]
    Value {
        /// The header's name (cut to [`NAME_SHOWN`] bytes).
        name: String,
        /// The first byte that may not be there.
        byte: u8,
        /// Its offset in the value.
        at: usize,
    },
}

/// Checks that `name: value` is a header field the HTTP client sends, as
/// the client would (a token for the name; tab and every byte from space
/// up but DEL in the value), without building it: hooks' edits are
/// checked one by one, and a check costs no allocation.
pub fn check_header(name: &str, value: &str) -> Result<(), HeaderError> {
    if name.len() > MAX_HEADER_NAME {
        return Err(HeaderError::NameTooLong(name.len()));
    }
    if name.is_empty() || !name.bytes().all(is_token_byte) {
        return Err(HeaderError::Name(shorten(name, NAME_SHOWN)));
    }
    match value
        .bytes()
        .enumerate()
        .find(|&(_, b)| b != b'\t' && (b < b' ' || b == 0x7f))
    {
        Some((at, byte)) => Err(HeaderError::Value {
            name: shorten(name, NAME_SHOWN),
            byte,
            at,
        }),
        None => Ok(()),
    }
}

/// The header fields `pairs` as the HTTP client takes them, in order,
/// repeated names kept; the first that is not valid HTTP is refused.
pub fn header_map(pairs: &[(String, String)]) -> Result<HeaderMap, HeaderError> {
    let mut headers = HeaderMap::with_capacity(pairs.len());
    for (name, value) in pairs {
        let parsed = HeaderName::from_bytes(name.as_bytes())
            .ok()
            .zip(HeaderValue::from_str(value).ok());
        match parsed {
            Some((name, value)) => headers.append(name, value),
            // The client's refusal, explained (the two agree: see the
            // tests).
            None => {
                let error = check_header(name, value).err();
                return Err(error.unwrap_or_else(|| HeaderError::Name(shorten(name, NAME_SHOWN))));
            }
        };
    }
    Ok(headers)
}

/// Whether `byte` may be in a header name: RFC 9110's `tchar`.
fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// `text` cut off past `max` bytes (at a character boundary), saying so:
/// how a message shows text it did not choose (an input line, a header
/// name, a server's `Location`), whatever its length. Callers pass
/// [`NAME_SHOWN`] or [`TEXT_SHOWN`].
pub fn shorten(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let end = text.floor_char_boundary(max);
    format!("{}... (cut off at {max} bytes)", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_and_put_in_the_form_they_are_sent_in() {
        let sent = parse_url("HTTP://Example.COM/a/../b c").unwrap();
        assert_eq!(sent.as_str(), "http://example.com/b%20c");
        assert_eq!(
            parse_url("ftp://h/"),
            Err(UrlError::Scheme("ftp".to_owned()))
        );
        assert!(matches!(
            parse_url("/relative"),
            Err(UrlError::Unparsable(_))
        ));
        let long = format!("http://h/{}", "a".repeat(MAX_URL));
        assert_eq!(parse_url(&long), Err(UrlError::TooLong(long.len())));
    }

    #[test]
    fn headers_are_refused_naming_the_header_and_the_byte() {
        assert!(check_header("X-A", "1\tü").is_ok());
        assert_eq!(
            check_header("X A", "1"),
            Err(HeaderError::Name("X A".into()))
        );
        assert_eq!(
            check_header("X-A", "a\nb").unwrap_err().to_string(),
            "header X-A has a value that is not valid HTTP (byte 0x0a at 1)"
        );
        let pairs = [
            ("a".to_owned(), "1".to_owned()),
            ("A".to_owned(), "2".to_owned()),
        ];
        assert_eq!(header_map(&pairs).unwrap().get_all("a").iter().count(), 2);
    }

    #[test]
    fn the_check_takes_every_byte_the_client_takes_and_no_other() {
        for byte in 0..=u8::MAX {
            let text = [b'a', byte];
            let name = HeaderName::from_bytes(&text).is_ok();
            let value = HeaderValue::from_bytes(&text).is_ok();
            // Names and values are text here; the bytes past ASCII come
            // as UTF-8 sequences, which the client takes in values only.
            let text = std::str::from_utf8(&text).unwrap_or("a\u{80}");
            assert_eq!(
                check_header(text, "1").is_ok(),
                name,
                "name byte {byte:#04x}"
            );
            assert_eq!(
                check_header("a", text).is_ok(),
                value,
                "value byte {byte:#04x}"
            );
        }
        assert!(check_header("", "1").is_err());
        assert!(HeaderName::from_bytes(b"").is_err());
        for len in [MAX_HEADER_NAME, MAX_HEADER_NAME + 1] {
            let name = "a".repeat(len);
            let client = HeaderName::from_bytes(name.as_bytes()).is_ok();
            assert_eq!(check_header(&name, "1").is_ok(), client, "{len} bytes");
        }
    }

    #[test]
    fn long_text_is_cut_at_a_character_boundary_saying_so() {
        assert_eq!(shorten("short", NAME_SHOWN), "short");
        assert_eq!(shorten("aaü", 3), "aa... (cut off at 3 bytes)");
        let name = "X ".repeat(NAME_SHOWN);
        let Err(HeaderError::Name(shown)) = check_header(&name, "1") else {
            panic!("a name with spaces is refused");
        };
        assert!(shown.ends_with("(cut off at 64 bytes)"), "{shown}");
    }
}
