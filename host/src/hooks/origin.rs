//! Where `authorize` may send a request: to the origin it was asked about.
//!
//! A hook rewrites requests, and a signing scheme may well add query
//! parameters or change the path. Changing where the request goes is
//! another matter: the job's headers, body and the credentials the hooks
//! added would go to a server the operator never named. So the scheme, host
//! and port of what `authorize` returns must be those of the URL it was
//! given (its [origin](https://url.spec.whatwg.org/#origin)), unless the
//! hook's factory admits the new URL ([`HookFactory::may_send_to`]: for a
//! plugin, an origin the operator granted it, and a change of scheme only
//! where the grant names the scheme). A switch from `https` to `http` is a
//! change of origin too, so a hook cannot downgrade a job either.
//!
//! The same rule decides which hooks see a request at all: credentials are
//! given for the job's origin, so a hook is asked to authorize a request to
//! another origin (after a redirect, or after another hook moved it to a
//! host granted to that hook) only when that origin is granted to it.

use reqwest::Url;

use super::{HookError, HookFactory};

/// Whether `a` and `b` have one origin: scheme, host and port (a default
/// port spelt out or not). Compared in place, without the allocations of
/// [`Url::origin`]: it runs several times for every request.
pub(crate) fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// Whether `factory`'s `authorize` is asked about a request to `url`, for
/// a job whose own URL is `job`.
pub(crate) fn may_see(factory: &dyn HookFactory, job: &Url, url: &Url) -> bool {
    same_origin(url, job) || factory.may_send_to(url, url)
}

/// Refuses `sent`, the URL a hook answered with when asked about `given`,
/// unless it keeps `given`'s origin or `factory` admits it.
pub(crate) fn check(given: &Url, sent: &Url, factory: &dyn HookFactory) -> Result<(), HookError> {
    if same_origin(given, sent) || factory.may_send_to(given, sent) {
        return Ok(());
    }
    Err(HookError::Invalid(format!(
        "it sends the job to {}, not to {}: a hook may change the URL's path and \
         query, not its scheme, host or port (grant a plugin another origin with \
         --plugin-allow-host NAME:HOST[:PORT], or NAME:https://HOST to let it change \
         the scheme)",
        sent.origin().ascii_serialization(),
        given.origin().ascii_serialization()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hooks::NativeHook;

    /// Checks `sent` against `given` for a hook granted nothing.
    fn check_ungranted(given: &str, sent: &str) -> Result<(), HookError> {
        let hook = NativeHook::authorizer("signer", |_| Ok(()));
        check(
            &Url::parse(given).unwrap(),
            &Url::parse(sent).unwrap(),
            &hook,
        )
    }

    #[test]
    fn path_query_and_fragment_may_change() {
        let job = "https://api.example.test/items?page=2";
        assert!(check_ungranted(job, "https://api.example.test/v2/items?page=2&sig=ab").is_ok());
        assert!(check_ungranted(job, "https://api.example.test:443/items#top").is_ok());
    }

    #[test]
    fn scheme_host_and_port_may_not() {
        let job = "https://api.example.test/items";
        for sent in [
            "http://api.example.test/items",
            "https://evil.example.test/items",
            "https://api.example.test:8443/items",
        ] {
            let error = check_ungranted(job, sent).unwrap_err().to_string();
            assert!(error.contains("not to https://api.example.test"), "{error}");
        }
    }

    #[test]
    fn default_ports_spelt_out_are_the_same_origin() {
        let url = |text: &str| Url::parse(text).unwrap();
        assert!(same_origin(
            &url("https://a.test/x"),
            &url("https://A.test:443/y")
        ));
        assert!(!same_origin(
            &url("https://a.test/"),
            &url("http://a.test/")
        ));
        assert!(!same_origin(
            &url("http://a.test/"),
            &url("http://a.test:8080/")
        ));
        assert!(!same_origin(&url("http://a.test/"), &url("http://b.test/")));
    }

    #[test]
    fn a_hook_granted_nothing_sees_only_the_jobs_origin() {
        let hook = NativeHook::authorizer("signer", |_| Ok(()));
        let job = Url::parse("https://api.example.test/a").unwrap();
        let same = Url::parse("https://api.example.test/b?x=1").unwrap();
        let other = Url::parse("https://cdn.example.test/b").unwrap();
        assert!(may_see(&hook, &job, &same));
        assert!(!may_see(&hook, &job, &other));
    }
}
