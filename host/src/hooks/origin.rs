//! Where `authorize` may send a job: to the job's own origin.
//!
//! A hook rewrites requests, and a signing scheme may well add query
//! parameters or change the path. Changing where the request goes is
//! another matter: the job's headers, body and the credentials the hooks
//! added would go to a server the operator never named. So the scheme, host
//! and port of what `authorize` returns must be those of the job's URL
//! (its [origin](https://url.spec.whatwg.org/#origin)), unless the hook's
//! factory admits the new URL ([`HookFactory::may_send_to`]: for a plugin,
//! a host the operator granted it). A switch from `https` to `http` is a
//! change of origin too, so a hook cannot downgrade a job either.

use reqwest::Url;

use super::{HookError, HookFactory};

/// The origin of a job's URL, against which every `authorize` answer is
/// checked.
pub(crate) struct JobOrigin {
    job: Url,
}

impl JobOrigin {
    /// The origin of `url`, or `None` when it does not parse (the job then
    /// fails when it is sent, as an input error, whatever the hooks do).
    pub(crate) fn of(url: &str) -> Option<JobOrigin> {
        Url::parse(url).ok().map(|job| JobOrigin { job })
    }

    /// Refuses `sent` unless it keeps this origin or `factory` admits it.
    pub(crate) fn check(&self, sent: &Url, factory: &dyn HookFactory) -> Result<(), HookError> {
        let origin = self.job.origin();
        if sent.origin() == origin || factory.may_send_to(sent) {
            return Ok(());
        }
        Err(HookError::Invalid(format!(
            "it sends the job to {}, not to {}: a hook may change the URL's path and \
             query, not its scheme, host or port (grant a plugin another host with \
             --plugin-allow-host NAME:HOST)",
            sent.origin().ascii_serialization(),
            origin.ascii_serialization()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hooks::NativeHook;

    /// Checks `sent` against the job `job` for a hook granted nothing.
    fn check(job: &str, sent: &str) -> Result<(), HookError> {
        let hook = NativeHook::authorizer("signer", Ok);
        let origin = JobOrigin::of(job).expect("the job's URL parses");
        origin.check(&Url::parse(sent).unwrap(), &hook)
    }

    #[test]
    fn path_query_and_fragment_may_change() {
        let job = "https://api.example.test/items?page=2";
        assert!(check(job, "https://api.example.test/v2/items?page=2&sig=ab").is_ok());
        assert!(check(job, "https://api.example.test:443/items#top").is_ok());
    }

    #[test]
    fn scheme_host_and_port_may_not() {
        let job = "https://api.example.test/items";
        for sent in [
            "http://api.example.test/items",
            "https://evil.example.test/items",
            "https://api.example.test:8443/items",
        ] {
            let error = check(job, sent).unwrap_err().to_string();
            assert!(error.contains("not to https://api.example.test"), "{error}");
        }
    }
}
