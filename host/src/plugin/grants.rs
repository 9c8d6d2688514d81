//! What the operator grants one plugin beyond the bare sandbox.
//!
//! By default a plugin's WASI context has nothing: no environment, no
//! files, no sockets. A [`Grants`] lists the exceptions for one plugin, so
//! granting something to one plugin never grants it to another loaded
//! alongside.

use std::fmt;

use wasmtime_wasi::WasiCtxBuilder;

use super::PluginLimits;
use super::fetch::AllowedHost;

/// The exceptions to the sandbox for one plugin; [`Grants::default`] grants
/// nothing.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Grants {
    /// Environment variables the plugin sees through WASI, as (name, value).
    env: Vec<(String, String)>,
    /// Hosts the plugin may send its own HTTP requests to (`host.fetch`),
    /// and the jobs it authorizes.
    hosts: Vec<AllowedHost>,
    /// The plugin's own deadline and memory cap, instead of the runtime's.
    limits: Option<PluginLimits>,
}

impl Grants {
    /// These grants plus the environment variable `name` with `value`,
    /// which the plugin reads with `std::env::var(name)`. The value is
    /// fixed here: the plugin never sees the host's environment itself.
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Grants {
        self.env.push((name.into(), value.into()));
        self
    }

    /// These grants plus HTTP requests of the plugin's own (`host.fetch`)
    /// to `host`: for token endpoints. The request is sent by tb-host; the
    /// plugin still gets no sockets. The plugin's `authorize` may also send
    /// a job to `host`, which it may not do to any host but the job's own
    /// otherwise.
    pub fn allow_host(mut self, host: AllowedHost) -> Grants {
        self.hosts.push(host);
        self
    }

    /// These grants with the plugin's own deadline per call and memory cap
    /// per instance, instead of the runtime's.
    pub fn limits(mut self, limits: PluginLimits) -> Grants {
        self.limits = Some(limits);
        self
    }

    /// The plugin's own limits, if it has any.
    pub fn own_limits(&self) -> Option<PluginLimits> {
        self.limits
    }

    /// The hosts granted to `host.fetch`.
    pub fn hosts(&self) -> &[AllowedHost] {
        &self.hosts
    }

    /// The names of the environment variables granted, in the order given.
    pub fn env_names(&self) -> impl Iterator<Item = &str> {
        self.env.iter().map(|(name, _)| name.as_str())
    }

    /// The values of the environment variables granted: secrets, see
    /// [`super::Secrets`].
    pub(crate) fn env_values(&self) -> impl Iterator<Item = &str> {
        self.env.iter().map(|(_, value)| value.as_str())
    }

    /// Adds the grants to the WASI context of one instance.
    pub(crate) fn apply(&self, wasi: &mut WasiCtxBuilder) {
        wasi.envs(&self.env);
    }
}

/// Names only: a granted value may be a secret.
impl fmt::Debug for Grants {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Grants")
            .field("env", &self.env_names().collect::<Vec<_>>())
            .field("hosts", &self.hosts)
            .field("limits", &self.limits)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_names_never_values() {
        let grants = Grants::default().env("API_TOKEN", "s3cr3t");
        let shown = format!("{grants:?}");
        assert!(shown.contains("API_TOKEN"), "{shown}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
    }
}
