//! A finished job that got no HTTP response (Python's `ThreadException`).

use std::error::Error as _;
use std::time::Duration;

use crate::hooks::AttemptFailureKind;
use crate::job::Job;

/// Why a job ended without an HTTP response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FailureKind {
    /// The input line was not a job that can be fetched; it was never sent.
    Input,
    /// The connection could not be made (refused, unreachable, DNS).
    Connect,
    /// The attempt ran out of time.
    Timeout,
    /// The connection was closed or reset before the response was whole.
    Reset,
    /// The TLS handshake or certificate check failed.
    Tls,
    /// Too many redirects, or a redirect that could not be followed.
    Redirect,
    /// The response body could not be read.
    Body,
    /// A hook failed: a plugin trapped, ran out of time or memory, returned
    /// an error, or produced something invalid.
    Plugin,
    /// The response's body could not be saved to its file
    /// ([`crate::PoolBuilder::save_bodies`]: a full disk, a directory that
    /// went away). It stops the pool, as every later body would fail the
    /// same way; running the job again, once there is room, saves it.
    Save,
    /// The run was cancelled (Ctrl-C, [`crate::Canceller`]) before the job
    /// was sent.
    Cancelled,
    /// Not sent: the job's origin asked for a pause (a `Retry-After` a
    /// retry policy took as one) longer than
    /// [`crate::PoolBuilder::max_pause`]. Running the job again once the
    /// pause has passed sends it.
    Paused,
    /// Not sent: the job's origin failed every attempt (no connection, no
    /// answer in time, a 5xx) for longer than
    /// [`crate::PoolBuilder::breaker_give_up`] after its breaker opened
    /// ([`crate::PoolBuilder::breaker`]). Running the job again once the
    /// origin is back sends it.
    Broken,
    /// Not an end: a hook asked for another attempt after
    /// [`Failure::retry_in`], and the pool hands such retries out rather
    /// than wait for them ([`crate::PoolBuilder::hand_out_retries`]), so
    /// that whoever gave it the job keeps it until it is due (a queue
    /// keeps it on its server, where it belongs to no process).
    Retry,
    /// Anything else.
    Other,
}

impl FailureKind {
    /// The kind's name in output records: `input`, `connect`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Input => "input",
            FailureKind::Connect => "connect",
            FailureKind::Timeout => "timeout",
            FailureKind::Reset => "reset",
            FailureKind::Tls => "tls",
            FailureKind::Redirect => "redirect",
            FailureKind::Body => "body",
            FailureKind::Plugin => "plugin",
            FailureKind::Save => "save",
            FailureKind::Cancelled => "cancelled",
            FailureKind::Paused => "paused",
            FailureKind::Broken => "broken",
            FailureKind::Retry => "retry",
            FailureKind::Other => "other",
        }
    }

    /// Sorts an HTTP client error into a kind.
    pub(crate) fn of(error: &reqwest::Error) -> FailureKind {
        if error.is_timeout() {
            return FailureKind::Timeout;
        }
        if crate::tls::tls_error(error).is_some() {
            return FailureKind::Tls;
        }
        let mut source = error.source();
        while let Some(cause) = source {
            if let Some(io) = cause.downcast_ref::<std::io::Error>() {
                use std::io::ErrorKind::*;
                match io.kind() {
                    ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof => {
                        return FailureKind::Reset;
                    }
                    TimedOut => return FailureKind::Timeout,
                    ConnectionRefused | NotFound | HostUnreachable | NetworkUnreachable
                    | AddrNotAvailable => return FailureKind::Connect,
                    _ => {}
                }
            }
            let text = cause.to_string();
            if text.contains("certificate") || text.contains("tls") || text.contains("TLS") {
                return FailureKind::Tls;
            }
            if text.contains("connection closed before message completed")
                || text.contains("connection reset")
            {
                return FailureKind::Reset;
            }
            source = cause.source();
        }
        if error.is_connect() {
            FailureKind::Connect
        } else if error.is_body() || error.is_decode() {
            FailureKind::Body
        } else {
            FailureKind::Other
        }
    }

    /// The kind a plugin sees in `decide-retry`, where `input` and `plugin`
    /// cannot occur.
    pub(crate) fn for_plugin(self) -> AttemptFailureKind {
        match self {
            FailureKind::Connect => AttemptFailureKind::Connect,
            FailureKind::Timeout => AttemptFailureKind::Timeout,
            FailureKind::Reset => AttemptFailureKind::Reset,
            FailureKind::Tls => AttemptFailureKind::Tls,
            FailureKind::Redirect => AttemptFailureKind::Redirect,
            FailureKind::Body => AttemptFailureKind::Body,
            FailureKind::Input
            | FailureKind::Plugin
            | FailureKind::Save
            | FailureKind::Cancelled
            | FailureKind::Paused
            | FailureKind::Broken
            | FailureKind::Retry
            | FailureKind::Other => AttemptFailureKind::Other,
        }
    }
}

/// An error and its causes on one line: reqwest's own message alone rarely
/// says what happened. A TLS error is led by what it means (an unknown
/// issuer, an expired certificate, a name mismatch, a client certificate
/// the server wants), the chain after it for the details.
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = match crate::tls::tls_error(error) {
        Some(tls) => format!("TLS: {}: {error}", crate::tls::explain(tls)),
        None => error.to_string(),
    };
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

impl std::fmt::Display for FailureKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A job that ended without an HTTP response. Carries the job, so it can be
/// run again ([`crate::Pool::from_exceptions`]).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct Failure {
    pub(crate) index: u64,
    pub(crate) job: Job,
    pub(crate) kind: FailureKind,
    pub(crate) message: String,
    pub(crate) attempts: u32,
    pub(crate) elapsed: Duration,
    /// For [`FailureKind::Retry`]: how long until the next attempt is due.
    pub(crate) retry_in: Option<Duration>,
}

impl Failure {
    /// A failure of `job` (at `index` of its input) made by the caller, not
    /// by a pool: a job a program refused itself, or one to hand to
    /// [`crate::Pool::from_exceptions`] with the others. It made no
    /// attempt.
    pub fn new(index: u64, job: Job, kind: FailureKind, message: impl Into<String>) -> Failure {
        Failure {
            index,
            job,
            kind,
            message: message.into(),
            attempts: 0,
            elapsed: Duration::ZERO,
            retry_in: None,
        }
    }

    /// The job's position in the pool's input, from 0.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// The job that failed (Python's `request_kwargs`).
    pub fn job(&self) -> &Job {
        &self.job
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> FailureKind {
        self.kind
    }

    /// What went wrong, for people (Python's `exception` message).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// How many attempts were made; 0 when the job was never sent.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Time from the first attempt's start to the failure.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// For a job to try again ([`FailureKind::Retry`]): how long until its
    /// next attempt is due, as the hook asked. `None` for any other kind.
    pub fn retry_in(&self) -> Option<Duration> {
        self.retry_in
    }

    /// Gives up the failure for the job it came from.
    pub fn into_job(self) -> Job {
        self.job
    }
}
