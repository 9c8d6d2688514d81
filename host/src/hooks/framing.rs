//! The headers that are the host's alone: those that decide where a
//! request goes (`Host`) and how it is framed on the wire
//! (`Content-Length`, `Transfer-Encoding`, `Connection`, ...).
//!
//! A hook that set them could send a job, and the operator's credentials,
//! to another virtual host on the same address, or cut a body short while
//! the record says it was sent. The HTTP client sets them from the URL and
//! the body; a hook may not add them (an operator's own `-H Host: ...`
//! stays allowed, as in curl, and a hook may set it again as it is), but
//! for a `Host` naming the URL's own authority.

use reqwest::Url;

use super::HookError;

/// The header names a hook may not set, lower case.
const HOST_ONLY: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "proxy-connection",
    "upgrade",
    "te",
    "trailer",
    "expect",
];

/// Whether `name` is one of the headers a hook may not set.
fn is_host_only(name: &str) -> bool {
    HOST_ONLY.iter().any(|only| only.eq_ignore_ascii_case(name))
}

/// Refuses a field `name: value` that a hook adds to a request for `url`
/// if it is one of the host's own, unless it is a `Host` naming `url`'s
/// own authority. The message names the header, not its value.
pub(crate) fn check_field(name: &str, value: &str, url: &str) -> Result<(), String> {
    if !is_host_only(name) {
        return Ok(());
    }
    let own_host = name.eq_ignore_ascii_case("host")
        && Url::parse(url).is_ok_and(|url| names_authority(value, &url));
    if own_host { Ok(()) } else { Err(refused(name)) }
}

/// Whether `headers` hold a `Host` that does not name `url`'s authority:
/// one a hook may not keep when it sends the request elsewhere.
pub(crate) fn names_other_authority(headers: &[(String, String)], url: &Url) -> bool {
    headers
        .iter()
        .any(|(name, value)| name.eq_ignore_ascii_case("host") && !names_authority(value, url))
}

/// Refuses session headers that set a host-only header: a session serves
/// every URL of its worker, so none of them is its to set.
pub(crate) fn check_session(headers: &[(String, String)]) -> Result<(), HookError> {
    match headers.iter().find(|(name, _)| is_host_only(name)) {
        Some((name, _)) => Err(HookError::Invalid(refused(name))),
        None => Ok(()),
    }
}

/// Whether a `Host` value names `url`'s authority (host, and port when the
/// URL has one that is not its scheme's default).
fn names_authority(value: &str, url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let value = value.trim();
    match url.port() {
        Some(port) => value.eq_ignore_ascii_case(&format!("{host}:{port}")),
        None => value.eq_ignore_ascii_case(host),
    }
}

fn refused(name: &str) -> String {
    format!(
        "it sets header {name}, which only the host sets: it decides where the request \
         goes or how it is framed"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_hook_may_not_reroute_or_reframe_a_request() {
        let url = "http://127.0.0.1:8080/a";
        for (name, value) in [
            ("Host", "other-tenant.example"),
            ("content-length", "0"),
            ("Transfer-Encoding", "chunked"),
            ("Connection", "close"),
            ("Upgrade", "h2c"),
            ("TE", "trailers"),
            ("Trailer", "X"),
        ] {
            let error = check_field(name, value, url).unwrap_err();
            assert!(error.contains(name), "{error}");
        }
    }

    #[test]
    fn the_urls_own_host_passes() {
        let url = "http://127.0.0.1:8080/a";
        assert!(check_field("host", "127.0.0.1:8080", url).is_ok());
        assert!(check_field("Host", "127.0.0.1", url).is_err());
        assert!(check_field("X-Sig", "1", url).is_ok());
        let parsed = Url::parse(url).unwrap();
        assert!(names_other_authority(
            &pairs(&[("Host", "vhost.example")]),
            &parsed
        ));
        assert!(!names_other_authority(
            &pairs(&[("Host", "127.0.0.1:8080")]),
            &parsed
        ));
    }

    #[test]
    fn a_session_sets_none_of_them() {
        assert!(check_session(&pairs(&[("Host", "other-tenant.example")])).is_err());
        assert!(check_session(&pairs(&[("Content-Length", "0")])).is_err());
        assert!(check_session(&pairs(&[("X-Team", "search")])).is_ok());
    }
}
