//! The request and the outcome of an attempt as a plugin reaches them:
//! host resources, lent to the hook for one call.
//!
//! The worker's values are moved into the instance's store for the call
//! (nothing is copied in), and the guest gets a borrowed handle whose
//! methods read what it asks for and, in `authorize`, edit the request in
//! place through [`Request`]'s checked edits. One call has at most one of
//! each, so a handle's number says which resource it is and no table is
//! needed.

use wasmtime::component::Resource;

use super::instance::PluginState;
use crate::hooks::{AttemptOutcome, Request};
use crate::wit::toolbelt::plugin::types::{
    self as wit, AttemptFailure, HostAttemptOutcome, HostRequest,
};

/// What the call under way lends the plugin.
#[derive(Default)]
pub(crate) struct Lent {
    /// The request of `authorize` or `decide-retry`; empty between calls.
    pub request: Request,
    /// Whether the request may be edited: in `authorize` only.
    pub editable: bool,
    /// The outcome `decide-retry` is asked about, its body prefix already
    /// cut to what this plugin asked to see (the chain does that).
    pub outcome: Option<AttemptOutcome>,
}

/// The handle of the lent request.
pub(crate) fn request_handle() -> Resource<wit::Request> {
    Resource::new_borrow(0)
}

/// The handle of the lent outcome.
pub(crate) fn outcome_handle() -> Resource<wit::AttemptOutcome> {
    Resource::new_borrow(0)
}

impl Lent {
    fn edit(
        &mut self,
        edit: impl FnOnce(&mut Request) -> Result<(), crate::hooks::EditRefused>,
    ) -> Result<(), String> {
        if !self.editable {
            return Err("the request can be edited in `authorize` only".to_owned());
        }
        edit(&mut self.request).map_err(String::from)
    }

    fn response(&self) -> Option<&crate::hooks::ResponseHead> {
        match &self.outcome {
            Some(AttemptOutcome::Response(head)) => Some(head),
            _ => None,
        }
    }
}

impl HostRequest for PluginState {
    fn method(&mut self, _: Resource<wit::Request>) -> String {
        self.lent.request.method().to_owned()
    }

    fn url(&mut self, _: Resource<wit::Request>) -> String {
        self.lent.request.url().to_owned()
    }

    fn header(&mut self, _: Resource<wit::Request>, name: String) -> Option<String> {
        self.lent.request.header(&name).map(str::to_owned)
    }

    fn headers(&mut self, _: Resource<wit::Request>) -> Vec<(String, String)> {
        self.lent.request.headers().to_vec()
    }

    fn body(&mut self, _: Resource<wit::Request>) -> Option<Vec<u8>> {
        self.lent.request.body().map(|body| body.to_vec())
    }

    fn set_header(
        &mut self,
        _: Resource<wit::Request>,
        name: String,
        value: String,
    ) -> Result<(), String> {
        self.lent.edit(|request| request.set_header(name, value))
    }

    fn append_header(
        &mut self,
        _: Resource<wit::Request>,
        name: String,
        value: String,
    ) -> Result<(), String> {
        self.lent.edit(|request| request.append_header(name, value))
    }

    fn remove_header(&mut self, _: Resource<wit::Request>, name: String) -> Result<(), String> {
        self.lent.edit(|request| request.remove_header(&name))
    }

    fn set_url(&mut self, _: Resource<wit::Request>, url: String) -> Result<(), String> {
        self.lent.edit(|request| request.set_url(&url))
    }

    fn drop(&mut self, _: Resource<wit::Request>) -> wasmtime::Result<()> {
        // Only borrows are lent: there is never an owned handle to drop.
        Ok(())
    }
}

impl HostAttemptOutcome for PluginState {
    fn status(&mut self, _: Resource<wit::AttemptOutcome>) -> Option<u16> {
        self.lent.outcome.as_ref().and_then(AttemptOutcome::status)
    }

    fn failure(&mut self, _: Resource<wit::AttemptOutcome>) -> Option<AttemptFailure> {
        match &self.lent.outcome {
            Some(AttemptOutcome::Failure(failure)) => Some(failure.clone()),
            _ => None,
        }
    }

    fn header(&mut self, _: Resource<wit::AttemptOutcome>, name: String) -> Option<String> {
        self.lent.response()?.header(&name).map(str::to_owned)
    }

    fn headers(&mut self, _: Resource<wit::AttemptOutcome>) -> Vec<(String, String)> {
        self.lent
            .response()
            .map(|head| head.headers.clone())
            .unwrap_or_default()
    }

    fn body_prefix(&mut self, _: Resource<wit::AttemptOutcome>) -> Vec<u8> {
        self.lent
            .response()
            .map(|head| head.body_prefix.clone())
            .unwrap_or_default()
    }

    fn elapsed_ms(&mut self, _: Resource<wit::AttemptOutcome>) -> u64 {
        match &self.lent.outcome {
            Some(AttemptOutcome::Response(head)) => head.elapsed_ms,
            _ => 0,
        }
    }

    fn drop(&mut self, _: Resource<wit::AttemptOutcome>) -> wasmtime::Result<()> {
        Ok(())
    }
}
