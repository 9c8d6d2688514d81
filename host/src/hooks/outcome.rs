//! How an attempt ended, as `decide_retry` hooks see it.

pub use crate::wit::toolbelt::plugin::types::{AttemptFailure, AttemptFailureKind};

/// An HTTP response as the worker received it; the body stays with the
/// worker, but for the prefix the hooks asked for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResponseHead {
    /// The status code, 100 to 999.
    pub status: u16,
    /// Response header fields, in order.
    pub headers: Vec<(String, String)>,
    /// The first bytes of the body: as many as the hook that asked for the
    /// most asked for ([`super::RetryInterest::body_prefix`]), fewer if the
    /// body is shorter.
    pub body_prefix: Vec<u8>,
    /// Time from sending the request to receiving the whole response.
    pub elapsed_ms: u64,
}

impl ResponseHead {
    /// The value of the first field named `name` (any case), if any.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// How one attempt ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// An HTTP response arrived (whatever its status).
    Response(ResponseHead),
    /// No HTTP response arrived.
    Failure(AttemptFailure),
}

impl AttemptOutcome {
    /// The response's status, if a response arrived.
    pub fn status(&self) -> Option<u16> {
        match self {
            AttemptOutcome::Response(head) => Some(head.status),
            AttemptOutcome::Failure(_) => None,
        }
    }
}
