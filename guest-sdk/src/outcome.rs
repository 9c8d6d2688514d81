//! How an attempt ended, as [`crate::Plugin::decide_retry`] sees it: held
//! by the host and read through [`Outcome`]'s methods, so a policy that
//! looks at the status and one header pays for those.

use crate::{AttemptFailure as Failure, Headers};

/// What an [`Outcome`] is a view of: the host's resource in a component,
/// [`crate::testing::TestOutcome`] in a native test.
pub(crate) trait Backing {
    fn status(&self) -> Option<u16>;
    fn failure(&self) -> Option<Failure>;
    fn header(&self, name: &str) -> Option<String>;
    fn headers(&self) -> Headers;
    fn body_prefix(&self) -> Vec<u8>;
    fn elapsed_ms(&self) -> u64;
}

/// How one attempt ended: a response (whatever its status) or a failure
/// that got none.
pub struct Outcome<'a> {
    backing: &'a dyn Backing,
}

impl<'a> Outcome<'a> {
    pub(crate) fn new(backing: &'a dyn Backing) -> Outcome<'a> {
        Outcome { backing }
    }

    /// The response's status code; `None` when no response arrived.
    pub fn status(&self) -> Option<u16> {
        self.backing.status()
    }

    /// Why no response arrived; `None` when one did.
    pub fn failure(&self) -> Option<Failure> {
        self.backing.failure()
    }

    /// The value of the response's first field named `name` (any case).
    pub fn header(&self, name: &str) -> Option<String> {
        self.backing.header(name)
    }

    /// Every response header field, in order; empty without a response.
    pub fn headers(&self) -> Headers {
        self.backing.headers()
    }

    /// The first bytes of the body, as many as
    /// [`crate::RetryInterest::body_prefix`] asked for (none by default).
    pub fn body_prefix(&self) -> Vec<u8> {
        self.backing.body_prefix()
    }

    /// Milliseconds from sending the request to the whole response; 0
    /// without one.
    pub fn elapsed_ms(&self) -> u64 {
        self.backing.elapsed_ms()
    }
}

impl std::fmt::Debug for Outcome<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outcome")
            .field("status", &self.status())
            .field("failure", &self.failure())
            .finish_non_exhaustive()
    }
}

/// The host's outcome resource as a [`Backing`].
#[cfg(target_arch = "wasm32")]
impl Backing for crate::bindings::toolbelt::plugin::types::AttemptOutcome {
    fn status(&self) -> Option<u16> {
        crate::bindings::toolbelt::plugin::types::AttemptOutcome::status(self)
    }
    fn failure(&self) -> Option<Failure> {
        crate::bindings::toolbelt::plugin::types::AttemptOutcome::failure(self)
    }
    fn header(&self, name: &str) -> Option<String> {
        crate::bindings::toolbelt::plugin::types::AttemptOutcome::header(self, name)
    }
    fn headers(&self) -> Headers {
        crate::bindings::toolbelt::plugin::types::AttemptOutcome::headers(self)
    }
    fn body_prefix(&self) -> Vec<u8> {
        crate::bindings::toolbelt::plugin::types::AttemptOutcome::body_prefix(self)
    }
    fn elapsed_ms(&self) -> u64 {
        crate::bindings::toolbelt::plugin::types::AttemptOutcome::elapsed_ms(self)
    }
}
