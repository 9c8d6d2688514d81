//! The log: `tracing`'s events on stderr, one line each, which an operator
//! can take at their word.
//!
//! Every line, whether the host's, a plugin's (`guest_sdk::log`) or a
//! dependency's, goes out through one [`LogWriter`], which
//!
//! - hides the secrets of the run's plugins, computed from their
//!   manifests ([`Hidden`], which the run fills once it has read them and
//!   the writer holds from the start): a line of a dependency's that shows a
//!   URL a plugin signed with an API key shows `[redacted]` in its place;
//! - escapes control characters (`\r`, `\n`, `\t`, `\x1b`, `\u{85}`, ...):
//!   text a server or a plugin chose, such as the `error_description` of
//!   an OAuth token endpoint that a plugin's error quotes, can neither end
//!   its line and start a forged one nor move the cursor over the lines
//!   before it; only the line's own final newline is kept;
//! - clears the progress bar while it writes ([`super::progress::suspend`]).
//!
//! Colours: on a terminal (unless `NO_COLOR` is set) the formatter colours
//! levels and field names with SGR sequences (`ESC [ ... m`), which pass;
//! every other escape sequence is escaped. An SGR sequence from a message
//! cannot pass for one of those: `tracing-subscriber` escapes ESC inside
//! messages (as `\x1b`) itself. Off a terminal there are no colours, and
//! every ESC is escaped.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{self, IsTerminal, Write};
use std::sync::{Arc, PoisonError, RwLock};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use super::progress;
use tb_host::plugin::{Manifest, Secrets};

/// The values no log line, record or message of a run may show: the
/// secrets of its plugins, derived from their manifests, and the
/// operator's own (`-u`'s password). Logging starts before they are known,
/// so the log writer is handed this, empty, and the run adds them as it
/// reads its flags and manifests ([`Hidden::hide`], [`Hidden::hide_values`]);
/// clones share the one set.
#[derive(Clone, Default)]
pub struct Hidden(Arc<RwLock<Secrets>>);

impl Hidden {
    /// From now on, log lines, records and messages show the secrets of
    /// the run's plugins, whose `manifests` these are, as `[redacted]`
    /// (see `plugin::manifest` for which values are secret). Called before
    /// the plugins are loaded.
    pub fn hide(&self, manifests: &[Manifest]) {
        self.0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_of_manifests(manifests);
    }

    /// From now on, `values` are shown as `[redacted]` too.
    pub fn hide_values(&self, values: impl IntoIterator<Item = String>) {
        self.0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(values);
    }

    /// `text` with the hidden values hidden: for anything the host writes,
    /// records too.
    pub fn shown<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let secrets = self.0.read().unwrap_or_else(PoisonError::into_inner);
        if secrets.is_empty() {
            return Cow::Borrowed(text);
        }
        match secrets.redact(text) {
            Cow::Borrowed(_) => Cow::Borrowed(text),
            Cow::Owned(redacted) => Cow::Owned(redacted),
        }
    }

    /// `text`, for a line of its own on stderr outside the log (the
    /// message of the error that ends the run): secrets hidden, control
    /// characters escaped.
    pub fn shown_on_one_line(&self, text: &str) -> String {
        escaped(&self.shown(text), false).into_owned()
    }
}

/// Sends `tracing`'s events to stderr through a [`LogWriter`], at the
/// level `-v` asks for (`RUST_LOG` overrides it), coloured only when
/// stderr is a terminal, with the values of `hidden` hidden.
pub fn init(verbose: u8, hidden: &Hidden) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let colours = io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colours)
        .with_writer(Stderr {
            colours,
            hidden: hidden.clone(),
        })
        .with_target(false)
        .init();
}

/// The log's `MakeWriter`: a [`LogWriter`] for every event.
struct Stderr {
    /// Whether the formatter colours its lines, whose SGR sequences pass.
    colours: bool,
    /// What no line may show.
    hidden: Hidden,
}

impl<'a> MakeWriter<'a> for Stderr {
    type Writer = LogWriter<'a>;

    fn make_writer(&'a self) -> LogWriter<'a> {
        LogWriter {
            colours: self.colours,
            hidden: &self.hidden,
        }
    }
}

/// Stderr, written with the progress bar cleared, secrets hidden and
/// control characters escaped: see the module's documentation. Made anew
/// for every event, which `tracing` writes with one `write_all`.
pub struct LogWriter<'a> {
    /// Whether the formatter colours its lines, whose SGR sequences pass.
    colours: bool,
    /// What no line may show.
    hidden: &'a Hidden,
}

impl Write for LogWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf).map(|()| buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        let text = String::from_utf8_lossy(buf);
        let text = self.hidden.shown(&text);
        let text = escaped(&text, self.colours);
        progress::suspend(|| io::stderr().write_all(text.as_bytes()))
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

/// `line` with every control character escaped but a final newline, and,
/// with `colours`, SGR sequences: CR, LF and tab as `\r`, `\n`, `\t`, the
/// other ASCII ones as `\x1b` (the form `tracing-subscriber` writes ESC
/// in), the rest, and the Unicode line and paragraph separators, as
/// `\u{85}`.
fn escaped(line: &str, colours: bool) -> Cow<'_, str> {
    let (body, end) = match line.strip_suffix('\n') {
        Some(body) => (body, "\n"),
        None => (line, ""),
    };
    if !body.chars().any(is_escaped) {
        return Cow::Borrowed(line);
    }
    let mut escaped = String::with_capacity(line.len() + 16);
    let mut rest = body;
    while let Some(c) = rest.chars().next() {
        let sgr = if colours { sgr_len(rest) } else { 0 };
        if sgr > 0 {
            escaped.push_str(&rest[..sgr]);
            rest = &rest[sgr..];
            continue;
        }
        match c {
            '\r' => escaped.push_str("\\r"),
            '\n' => escaped.push_str("\\n"),
            '\t' => escaped.push_str("\\t"),
            c if c.is_ascii_control() => {
                let _ = write!(escaped, "\\x{:02x}", u32::from(c));
            }
            c if is_escaped(c) => {
                let _ = write!(escaped, "\\u{{{:x}}}", u32::from(c));
            }
            c => escaped.push(c),
        }
        rest = &rest[c.len_utf8()..];
    }
    escaped.push_str(end);
    Cow::Owned(escaped)
}

/// Whether [`escaped`] escapes `c`: whether a terminal or a log viewer
/// may take it for something other than text, as it does a control
/// character (C0, DEL, C1) or a Unicode line or paragraph separator.
fn is_escaped(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

/// The length of the SGR sequence (`ESC [` digits and `;` `m`: a colour
/// or a style) that `text` starts with, or 0.
fn sgr_len(text: &str) -> usize {
    let Some(parameters) = text.strip_prefix("\x1b[") else {
        return 0;
    };
    let digits = parameters
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b';')
        .count();
    match parameters.as_bytes().get(digits) {
        Some(b'm') => 2 + digits + 1,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_break_in_a_message_cannot_start_a_forged_line() {
        let line = "INFO token endpoint: refused\r\nINFO all good, 0 failures\n";
        assert_eq!(
            escaped(line, false),
            "INFO token endpoint: refused\\r\\nINFO all good, 0 failures\n"
        );
        assert_eq!(
            escaped("a\u{85}b\u{2028}c\td\0\n", false),
            "a\\u{85}b\\u{2028}c\\td\\x00\n"
        );
    }

    #[test]
    fn clean_lines_are_borrowed_and_keep_their_newline() {
        for line in ["INFO done\n", "INFO no newline", "\n", ""] {
            assert!(matches!(escaped(line, false), Cow::Borrowed(_)), "{line:?}");
        }
    }

    #[test]
    fn colours_pass_on_a_terminal_and_nothing_else_does() {
        let line = "\x1b[2mtime\x1b[0m \x1b[32m INFO\x1b[0m up\x1b[1A\x1b[2K\x1b]0;title\x07\n";
        assert_eq!(
            escaped(line, true),
            "\x1b[2mtime\x1b[0m \x1b[32m INFO\x1b[0m up\\x1b[1A\\x1b[2K\\x1b]0;title\\x07\n"
        );
        assert_eq!(
            escaped("\x1b[32m INFO\x1b[0m\n", false),
            "\\x1b[32m INFO\\x1b[0m\n"
        );
    }

    #[test]
    fn sgr_sequences_are_told_from_other_escapes() {
        assert_eq!(sgr_len("\x1b[0m rest"), 4);
        assert_eq!(sgr_len("\x1b[1;31mred"), 7);
        assert_eq!(sgr_len("\x1b[m"), 3);
        assert_eq!(sgr_len("\x1b[1A"), 0);
        assert_eq!(sgr_len("\x1b[31"), 0);
        assert_eq!(sgr_len("\x1b]0;t\x07"), 0);
        assert_eq!(sgr_len("plain"), 0);
    }
}
