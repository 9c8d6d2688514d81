//! `run`'s request flags applied: what every job starts from (method,
//! headers, cookies, body) and how every session is built (timeouts,
//! redirects, user agent, proxy, cookie jar).

use std::time::Duration;

use super::SetupError;
use super::args::{PieceContent, RequestArgs};
use super::cookie_file;
use super::logging::Hidden;
use tb_host::cookies::{RequestCookies, check_cookie};
use tb_host::form::{self, URLENCODED};
use tb_host::input::JSON;
use tb_host::session::{HttpVersion, default_settings};
use tb_host::{BasicAuth, Bytes, PoolBuilder, RequestDefaults};

/// Applies `args` to `builder`. Returns the builder and the defaults every
/// job of the input starts from. A `--data-file` or `--cookie-jar` that
/// cannot be read, or a `--cookie` that is not one, is a set-up error.
pub fn apply(
    builder: PoolBuilder,
    args: RequestArgs,
    hidden: &Hidden,
) -> Result<(PoolBuilder, RequestDefaults), SetupError> {
    let auth = args.user.as_deref().map(basic_auth).transpose()?;
    if let Some(auth) = &auth {
        // The pair too: its base64 is what the header carries, whole.
        let pair = format!("{}:{}", auth.user, auth.password);
        hidden.hide_values([auth.password.clone(), pair]);
    }
    let (body, content_type) = body(&args)?;
    let cookies = args
        .cookies
        .iter()
        .map(|given| request_cookie(given))
        .collect::<Result<Vec<_>, _>>()?;
    hidden.hide_values(cookies.iter().map(|(_, value)| value.clone()));
    let defaults = RequestDefaults {
        method: args.method,
        headers: args.headers,
        body,
        content_type,
        timeout: None,
        auth,
        cookies: RequestCookies(cookies),
    };
    let mut session = default_settings();
    session.timeout_ms = Some(millis(args.timeout));
    session.connect_timeout_ms = args.connect_timeout.map(millis);
    session.max_redirects = args.max_redirects;
    if let Some(agent) = args.user_agent {
        session.user_agent = Some(agent);
    }
    let mut builder = builder
        .session(session)
        .decompress(args.compressed)
        .http_version(if args.http1_1 {
            HttpVersion::Http1Only
        } else if args.http2_prior_knowledge {
            HttpVersion::Http2PriorKnowledge
        } else {
            HttpVersion::Negotiate
        });
    builder = builder.cookies(!args.no_cookies);
    if let Some(path) = &args.cookie_jar {
        builder = builder.start_cookies(cookie_file::load(path, hidden)?);
    }
    for (host, address) in args.resolve {
        builder = builder.resolve(host, address);
    }
    if let Some(url) = args.proxy {
        // Checked when the flags were parsed.
        builder = builder
            .proxy(&url)
            .map_err(|e| SetupError::new(format!("--proxy {e}")))?;
    }
    Ok((builder, defaults))
}

/// The most bytes the files of `-F` may hold together: the form is read
/// into memory once, and shared by every request.
const MAX_FORM_FILES: u64 = 1 << 30;

/// The body every job starts from, and its content type, from the one body
/// flag given (`clap` refuses two). A file that cannot be read is a set-up
/// error that names the flag.
fn body(args: &RequestArgs) -> Result<(Option<Bytes>, Option<String>), SetupError> {
    if let Some(data) = &args.data {
        return Ok((Some(data.clone().into()), None));
    }
    if let Some(path) = &args.data_file {
        let body = std::fs::read(path).map_err(|e| {
            SetupError::new(format!("cannot read --data-file {}: {e}", path.display()))
        })?;
        return Ok((Some(body.into()), None));
    }
    if let Some(json) = &args.json {
        return Ok((Some(json.clone().into()), Some(JSON.to_owned())));
    }
    if !args.form.is_empty() {
        let form = form::multipart(&args.form, MAX_FORM_FILES)
            .map_err(|e| SetupError::new(format!("-F: {e}")))?;
        return Ok((Some(form.body), Some(form.content_type)));
    }
    if !args.data_urlencode.is_empty() {
        let mut pieces = Vec::new();
        for piece in &args.data_urlencode {
            let content = match &piece.content {
                PieceContent::Text(text) => text.clone().into_bytes(),
                PieceContent::File(path) => std::fs::read(path).map_err(|e| {
                    SetupError::new(format!(
                        "cannot read --data-urlencode @{}: {e}",
                        path.display()
                    ))
                })?,
            };
            let encoded: String = form_urlencoded::byte_serialize(&content).collect();
            pieces.push(match &piece.name {
                Some(name) => format!("{name}={encoded}"),
                None => encoded,
            });
        }
        return Ok((Some(pieces.join("&").into()), Some(URLENCODED.to_owned())));
    }
    Ok((None, None))
}

/// The credentials of `-u`: `USER:PASSWORD`, or `@FILE` holding that. The
/// error never shows the value.
fn basic_auth(given: &str) -> Result<BasicAuth, SetupError> {
    let text = match given.strip_prefix('@') {
        Some(file) => std::fs::read_to_string(file)
            .map_err(|e| SetupError::new(format!("cannot read -u @{file}: {e}")))?
            .trim_end_matches(['\n', '\r'])
            .to_owned(),
        None => given.to_owned(),
    };
    let (user, password) = text
        .split_once(':')
        .ok_or_else(|| SetupError::new("-u takes USER:PASSWORD (or @FILE holding that)"))?;
    Ok(BasicAuth {
        user: user.to_owned(),
        password: password.to_owned(),
    })
}

/// A `--cookie NAME=VALUE`. The error never shows the value.
fn request_cookie(given: &str) -> Result<(String, String), SetupError> {
    let (name, value) = given.split_once('=').ok_or_else(|| {
        SetupError::new("--cookie takes NAME=VALUE (a cookie, not a file: see --cookie-jar)")
    })?;
    let name = name.trim();
    check_cookie(name, value).map_err(|e| SetupError::new(format!("--cookie {e}")))?;
    Ok((name.to_owned(), value.to_owned()))
}

/// `duration` in whole milliseconds, rounded up so a short limit stays
/// above zero.
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos().div_ceil(1_000_000)).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flag_tests::{assert_shows, run_args};
    use tb_host::Pool;

    fn pair(name: &str, value: &str) -> (String, String) {
        (name.to_owned(), value.to_owned())
    }

    #[test]
    fn request_flags_reach_the_sessions_and_the_defaults_of_every_job() {
        let args = run_args(&[
            "-X",
            "post",
            "-H",
            "X-Team: search",
            "--header",
            "Authorization: Bearer s3cr3t",
            "--json",
            r#"{"a":1}"#,
            "--timeout",
            "2.5",
            "--connect-timeout",
            "0.0001",
            "--max-redirects",
            "3",
            "--proxy",
            "http://user:pr0xy-pass@127.0.0.1:3128",
            "--user-agent",
            "bot/1",
            "-u",
            "ann:s3cr3t-pass",
            "--http1.1",
            "--resolve",
            "API.example:8443:[::1]",
            "--cookie",
            "sid=s3cr3t-cookie",
            "--cookie",
            "lang=en",
            "urls.txt",
        ]);
        let hidden = Hidden::default();
        let (builder, defaults) = apply(Pool::builder(), args.request, &hidden).unwrap();
        assert_shows(
            &builder,
            &[
                "timeout_ms: Some(2500)",
                "connect_timeout_ms: Some(1)",
                "max_redirects: 3",
                r#"user_agent: Some("bot/1")"#,
                r#"proxy: Some("http://127.0.0.1:3128")"#,
                "http: Http1Only",
                r#"resolve: [("api.example", [::1]:8443)]"#,
                "cookies: true",
            ],
        );
        let shown = format!("{builder:?}");
        assert!(!shown.contains("pr0xy-pass"), "{shown}");
        assert_eq!(
            defaults,
            RequestDefaults {
                method: "POST".to_owned(),
                headers: vec![
                    pair("X-Team", "search"),
                    pair("Authorization", "Bearer s3cr3t"),
                ],
                body: Some(br#"{"a":1}"#.to_vec().into()),
                content_type: Some("application/json".to_owned()),
                timeout: None,
                auth: Some(BasicAuth {
                    user: "ann".to_owned(),
                    password: "s3cr3t-pass".to_owned(),
                }),
                cookies: RequestCookies(vec![pair("sid", "s3cr3t-cookie"), pair("lang", "en")]),
            }
        );
        assert_eq!(
            hidden.shown("Cookie: sid=s3cr3t-cookie"),
            "Cookie: sid=[redacted]",
            "--cookie's value is hidden"
        );
        assert_eq!(
            hidden.shown("pw s3cr3t-pass"),
            "pw [redacted]",
            "-u's password is hidden"
        );
    }

    #[test]
    fn without_request_flags_sessions_keep_their_defaults() {
        let (builder, defaults) =
            apply(Pool::builder(), run_args(&[]).request, &Hidden::default()).unwrap();
        assert_shows(
            &builder,
            &[
                "timeout_ms: Some(30000)",
                "connect_timeout_ms: None",
                "max_redirects: 10",
                concat!(r#"user_agent: Some("tb-host/"#, env!("CARGO_PKG_VERSION")),
                "proxy: None",
                "http: Negotiate",
                "resolve: []",
                "cookies: true",
                "start_cookies: []",
            ],
        );
        assert_eq!(defaults, RequestDefaults::default());
    }

    #[test]
    fn cookie_flags_turn_the_jar_off_or_seed_it_and_bad_ones_are_refused() {
        let (builder, _) = apply(
            Pool::builder(),
            run_args(&["--no-cookies"]).request,
            &Hidden::default(),
        )
        .unwrap();
        assert_shows(&builder, &["cookies: false"]);
        let dir = tempfile::tempdir().unwrap();
        let jar = dir.path().join("jar.txt");
        std::fs::write(&jar, ".h.test\tTRUE\t/\tFALSE\t0\tsid\ts3cr3t-jar\n").unwrap();
        let (builder, _) = apply(
            Pool::builder(),
            run_args(&["--cookie-jar", jar.to_str().unwrap()]).request,
            &Hidden::default(),
        )
        .unwrap();
        assert_shows(&builder, &[r#"name: "sid""#, r#"domain: "h.test""#]);
        assert!(!format!("{builder:?}").contains("s3cr3t"));
        for bad in ["s3cr3t-no-name", "a b=s3cr3t", "sid=s3cr3t;x"] {
            let error = apply(
                Pool::builder(),
                run_args(&["--cookie", bad]).request,
                &Hidden::default(),
            )
            .err()
            .unwrap()
            .to_string();
            assert!(
                error.contains("--cookie") && !error.contains("s3cr3t"),
                "{error}"
            );
        }
    }

    #[test]
    fn a_body_comes_from_data_or_a_data_file_without_a_content_type() {
        let (_, defaults) = apply(
            Pool::builder(),
            run_args(&["--data", "a=1"]).request,
            &Hidden::default(),
        )
        .unwrap();
        assert_eq!(defaults.body.as_deref(), Some(&b"a=1"[..]));
        assert!(defaults.headers.is_empty(), "{:?}", defaults.headers);
        let file = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
        let (_, defaults) = apply(
            Pool::builder(),
            run_args(&["--data-file", file]).request,
            &Hidden::default(),
        )
        .unwrap();
        assert_eq!(defaults.body, Some(std::fs::read(file).unwrap().into()));
        let missing = run_args(&["--data-file", "/no/such/body"]).request;
        let error = apply(Pool::builder(), missing, &Hidden::default())
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("--data-file /no/such/body"), "{error}");
    }
}
