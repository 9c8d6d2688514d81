//! `run`'s flags for what each request is: method, headers, cookies,
//! body, timeouts, redirects, proxy, user agent. Everything is checked
//! here, as the flags are parsed, except the files of `--data-file`, `-F`,
//! `--data-urlencode` and `--cookie-jar`, which are read, and `--cookie`,
//! whose value clap's error would show, which is checked, when the run
//! sets up (`requests::apply`, which applies the group).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::form::{UrlencodedPiece, parse_form_field, parse_urlencoded_piece};
use tb_host::form::FormField;
use tb_host::input::{check_url, parse_method, timeout_from_secs};
use tb_host::wire::check_header;

/// What every request is, unless a job says otherwise (a JSON-lines job's
/// fields win).
#[derive(Debug, Args)]
#[command(next_help_heading = "Requests")]
pub struct RequestArgs {
    /// The HTTP method of every request (any case).
    #[arg(short = 'X', long, value_name = "METHOD", default_value = "GET", value_parser = parse_method)]
    pub method: String,

    /// A header for every request, 'Name: value'; repeat for more.
    #[arg(short = 'H', long = "header", value_name = "'NAME: VALUE'", value_parser = parse_header)]
    pub headers: Vec<(String, String)>,

    /// HTTP Basic credentials for every request, USER:PASSWORD, or @FILE
    /// holding that (read once; trailing line break trimmed). Sent to each
    /// job's own origin only, and only when no -H or plugin sets
    /// Authorization; the password is never logged, recorded or written to
    /// --failures (run those again with -u).
    #[arg(short = 'u', long, value_name = "USER:PASSWORD")]
    pub user: Option<String>,

    /// A cookie for every request, NAME=VALUE; repeat for more. Sent to
    /// each job's own origin only (scheme, host and port: not after a
    /// redirect elsewhere), in place of a cookie of the same name from the
    /// session's jar; a JSON-lines job's "cookies" win by name. Not kept in
    /// the jar or --cookie-jar; the value is never logged, recorded or
    /// written to --failures (run those again with --cookie).
    // Checked by `requests::apply`, whose error does not show the value
    // (clap's would).
    #[arg(long = "cookie", value_name = "NAME=VALUE")]
    pub cookies: Vec<String>,

    /// A cookie jar file in the Netscape cookies.txt format (curl's -b FILE
    /// and -c FILE in one): every session starts with its cookies, and at
    /// the end of the run it is replaced (atomically, mode 0600) by what
    /// all sessions hold, the latest change of each cookie winning. A
    /// missing FILE starts empty.
    #[arg(long, value_name = "FILE", conflicts_with = "no_cookies")]
    pub cookie_jar: Option<PathBuf>,

    /// Sessions keep no cookie jar: the cookies servers set are not sent
    /// back (by default each worker's session keeps them, as
    /// requests.Session does). --cookie and a job's "cookies" still go.
    #[arg(long)]
    pub no_cookies: bool,

    /// The body of every request.
    #[arg(long, value_name = "STRING", conflicts_with_all = ["data_file", "json", "data_urlencode"])]
    pub data: Option<String>,

    /// The body of every request: the contents of PATH, read once at the
    /// start.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["json", "data_urlencode"])]
    pub data_file: Option<PathBuf>,

    /// A JSON body for every request, sent as given, with 'Content-Type:
    /// application/json' unless -H sets a content type.
    #[arg(long, value_name = "JSON", value_parser = parse_json, conflicts_with = "data_urlencode")]
    pub json: Option<String>,

    /// A piece of an application/x-www-form-urlencoded body for every
    /// request, as curl's: CONTENT, =CONTENT or NAME=CONTENT (CONTENT
    /// encoded), @FILE or NAME@FILE (the file's contents encoded, read once
    /// at the start); repeat for more, joined with '&'.
    #[arg(long, value_name = "[NAME]=CONTENT", value_parser = parse_urlencoded_piece)]
    pub data_urlencode: Vec<UrlencodedPiece>,

    /// A field of a multipart/form-data body for every request, as curl's:
    /// NAME=VALUE, NAME=@FILE (a file, its type guessed from its name) or
    /// NAME=<FILE (its contents as a text field), then any of ;type=TYPE
    /// and ;filename=NAME; double quotes around a value that holds ';'.
    /// Repeat for more fields, in order. Files (regular files, not pipes)
    /// are read once at the start, at most 1 GiB together, and the one
    /// body is shared by every request.
    #[arg(
        short = 'F',
        long = "form",
        value_name = "NAME=CONTENT",
        value_parser = parse_form_field,
        conflicts_with_all = ["data", "data_file", "json", "data_urlencode"]
    )]
    pub form: Vec<FormField>,

    /// Time allowed for each attempt, in seconds (fractions allowed), at
    /// most a week (604800).
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = parse_seconds)]
    pub timeout: Duration,

    /// Time allowed to open a connection, in seconds (fractions allowed);
    /// no limit but --timeout by default.
    #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
    pub connect_timeout: Option<Duration>,

    /// Most redirects followed for one request; 0 follows none (a 3xx is
    /// then the response).
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub max_redirects: u32,

    /// Send every request through this HTTP proxy (http:// or https://
    /// URL). No proxy by default, whatever the environment says.
    #[arg(long, value_name = "URL", value_parser = parse_proxy)]
    pub proxy: Option<String>,

    /// Speak HTTP/1.1 only (no HTTP/2, even where TLS offers it).
    #[arg(long = "http1.1", conflicts_with = "http2_prior_knowledge")]
    pub http1_1: bool,

    /// Speak HTTP/2 without asking first, cleartext http:// included (for
    /// servers known to speak it: h2c).
    #[arg(long)]
    pub http2_prior_knowledge: bool,

    /// Connect to ADDRESS for HOST instead of looking it up, HOST's name
    /// kept in the URL, Host and TLS (curl's --resolve; here for every port
    /// of HOST); repeat for more.
    #[arg(long, value_name = "HOST:PORT:ADDRESS", value_parser = parse_resolve)]
    pub resolve: Vec<(String, SocketAddr)>,

    /// Ask for compressed bodies (Accept-Encoding: gzip, deflate, br, zstd,
    /// unless -H or a job sets one) and decode them: bytes, sha256,
    /// --save-bodies, --record-body and --body-limit are then of the
    /// decoded body, and each record's content_encoding says which coding
    /// came. Off, bodies are taken as they come.
    #[arg(long)]
    pub compressed: bool,

    /// The User-Agent header of every request that sets none itself;
    /// tb-host/VERSION by default.
    #[arg(long, value_name = "STRING", value_parser = parse_user_agent)]
    pub user_agent: Option<String>,
}

/// `HOST:PORT:ADDRESS`, ADDRESS an IPv4 address or an IPv6 one in
/// brackets.
fn parse_resolve(text: &str) -> Result<(String, SocketAddr), String> {
    let form =
        || format!("expected HOST:PORT:ADDRESS (as example.com:443:127.0.0.1), got {text:?}");
    let (host, rest) = text.split_once(':').ok_or_else(form)?;
    let (port, address) = rest.split_once(':').ok_or_else(form)?;
    let port: u16 = port.parse().map_err(|_| form())?;
    let address = address.trim_start_matches('[').trim_end_matches(']');
    let ip: std::net::IpAddr = address.parse().map_err(|_| form())?;
    if host.is_empty() {
        return Err(form());
    }
    Ok((host.to_ascii_lowercase(), SocketAddr::new(ip, port)))
}

fn parse_header(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once(':')
        .ok_or_else(|| format!("expected 'Name: value', got {text:?}"))?;
    let name = name.trim();
    let value = value.trim();
    check_header(name, value).map_err(|e| e.to_string())?;
    Ok((name.to_owned(), value.to_owned()))
}

fn parse_json(text: &str) -> Result<String, String> {
    serde_json::from_str::<serde::de::IgnoredAny>(text)
        .map(|_| text.to_owned())
        .map_err(|e| format!("not valid JSON: {e}"))
}

/// A positive number of seconds, at most a week, as a flag's value.
pub(crate) fn parse_seconds(text: &str) -> Result<Duration, String> {
    let secs = text
        .parse::<f64>()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    timeout_from_secs(secs)
}

fn parse_proxy(text: &str) -> Result<String, String> {
    check_url(text)?;
    reqwest::Proxy::all(text).map_err(|e| format!("not a proxy URL: {e}"))?;
    Ok(text.to_owned())
}

fn parse_user_agent(text: &str) -> Result<String, String> {
    check_header("User-Agent", text).map_err(|e| e.to_string())?;
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_checked_as_they_are_parsed() {
        assert_eq!(
            parse_header(" X-A :  1 "),
            Ok(("X-A".to_owned(), "1".to_owned()))
        );
        assert!(parse_header("no colon").is_err());
        assert_eq!(parse_json(" [1, 2] "), Ok(" [1, 2] ".to_owned()));
        assert!(parse_json("{").is_err());
        assert_eq!(parse_seconds("0.25"), Ok(Duration::from_millis(250)));
        assert!(parse_seconds("-1").is_err());
        assert!(parse_seconds("soon").is_err());
        assert!(parse_proxy("http://127.0.0.1:3128").is_ok());
        assert!(parse_proxy("ftp://127.0.0.1").is_err());
        assert!(parse_user_agent("bot/1\n").is_err());
    }
}
