//! One worker's instance of one plugin, in a store of its own.
//!
//! The store holds the sandbox: a WASI context with nothing granted but
//! the environment variables of the plugin's [`super::Manifest`], its
//! memory cap, and the plugin's view of the host (its configuration, the
//! log). Every call sets a fresh epoch deadline first; an error out of
//! wasmtime (a trap, the deadline, the memory cap) marks the instance broken
//! and the worker replaces it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::ResourceTable;
use wasmtime::{Store, StoreLimits, StoreLimitsBuilder, Trap, UpdateDeadline};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::PluginShared;
use super::runtime::ticks;
use crate::hooks::{Attempt, AttemptOutcome, Decision, HookError, Hooks, Request, SessionSettings};
use crate::wit::toolbelt::plugin::host::{Host, Level};
use crate::wit::toolbelt::plugin::types::{Fetched, PluginInfo};

/// The longest message of a plugin's that is kept to explain a trap.
const LAST_ERROR_MAX: usize = 1024;

/// The data of a plugin's store: its sandbox and its view of the host.
pub struct PluginState {
    wasi: WasiCtx,
    table: ResourceTable,
    limits: StoreLimits,
    shared: Arc<PluginShared>,
    worker: u32,
    /// When the current call started, how long of it was spent in host
    /// calls that do not count (`fetch`), and the call's deadline: the
    /// epoch callback charges the plugin only for its own time.
    call_started: Instant,
    host_time: Duration,
    deadline: Duration,
    /// The last error-level message the plugin logged (guest-sdk logs panics
    /// there), shown when the plugin then traps.
    last_error: Option<String>,
}

impl WasiView for PluginState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// `toolbelt:plugin/types` has no functions; its trait is empty.
impl crate::wit::toolbelt::plugin::types::Host for PluginState {}

impl Host for PluginState {
    fn log(&mut self, level: Level, message: String) {
        let message = self.shared.secrets.redact_owned(message);
        let plugin = self.shared.name.as_str();
        let worker = self.worker;
        match level {
            Level::Trace => tracing::trace!(plugin, worker, "{message}"),
            Level::Debug => tracing::debug!(plugin, worker, "{message}"),
            Level::Info => tracing::info!(plugin, worker, "{message}"),
            Level::Warn => tracing::warn!(plugin, worker, "{message}"),
            Level::Error => {
                tracing::error!(plugin, worker, "{message}");
                let mut message = message;
                if message.len() > LAST_ERROR_MAX {
                    let mut end = LAST_ERROR_MAX;
                    while !message.is_char_boundary(end) {
                        end -= 1;
                    }
                    message.truncate(end);
                }
                self.last_error = Some(message);
            }
        }
    }

    fn config(&mut self, key: String) -> Option<String> {
        self.shared
            .manifest
            .config
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.clone())
    }

    fn fetch(&mut self, request: Request) -> Result<Fetched, String> {
        let started = Instant::now();
        let fetched = self.shared.fetcher.fetch(&request);
        self.host_time += started.elapsed();
        fetched
    }

    fn config_keys(&mut self) -> Vec<String> {
        let config = &self.shared.manifest.config;
        config.iter().map(|(k, _)| k.clone()).collect()
    }

    fn budget_spend(&mut self) -> bool {
        self.shared
            .budget
            .as_ref()
            .is_none_or(|budget| budget.spend())
    }
}

/// A plugin instantiated for one worker.
pub struct PluginInstance {
    store: Store<PluginState>,
    bindings: crate::wit::Plugin,
    deadline: Duration,
}

impl PluginInstance {
    /// Instantiates the plugin for `worker` and asks it to `describe`
    /// itself, which is where it reads its configuration. That first call
    /// also pays for the instance's start-up (its memory is touched for the
    /// first time, many workers start at once), so it gets the longer
    /// [`startup_deadline`]; hook calls get the manifest's.
    pub(crate) fn start(
        shared: Arc<PluginShared>,
        worker: u32,
    ) -> Result<(Self, PluginInfo), HookError> {
        let manifest = &shared.manifest;
        let startup = startup_deadline(manifest.deadline());
        let mut wasi = WasiCtx::builder();
        wasi.envs(&manifest.env);
        let state = PluginState {
            wasi: wasi.build(),
            table: ResourceTable::new(),
            limits: StoreLimitsBuilder::new()
                .memory_size(manifest.memory_cap())
                .trap_on_grow_failure(true)
                .build(),
            shared: Arc::clone(&shared),
            worker,
            call_started: Instant::now(),
            host_time: Duration::ZERO,
            deadline: startup,
            last_error: None,
        };
        let mut store = Store::new(shared.runtime.engine(), state);
        store.limiter(|state| &mut state.limits);
        store.set_epoch_deadline(ticks(startup));
        store.epoch_deadline_callback(|store| {
            let state = store.data();
            let used = state.call_started.elapsed().saturating_sub(state.host_time);
            Ok(match state.deadline.checked_sub(used) {
                Some(left) if !left.is_zero() => UpdateDeadline::Continue(ticks(left)),
                _ => UpdateDeadline::Interrupt,
            })
        });
        let bindings = shared
            .pre
            .instantiate(&mut store)
            .map_err(|e| broken(&store, startup, e))?;
        let mut instance = PluginInstance {
            store,
            bindings,
            deadline: startup,
        };
        let info = instance.call(|b, store| b.toolbelt_plugin_hooks().call_describe(store))?;
        instance.deadline = shared.manifest.deadline();
        Ok((instance, info))
    }

    /// Runs one export under the deadline, sorting wasmtime's errors (the
    /// instance is broken) from the plugin's own (it is not).
    fn call<T>(
        &mut self,
        f: impl FnOnce(
            &crate::wit::Plugin,
            &mut Store<PluginState>,
        ) -> wasmtime::Result<Result<T, String>>,
    ) -> Result<T, HookError> {
        self.store.set_epoch_deadline(ticks(self.deadline));
        let state = self.store.data_mut();
        state.last_error = None;
        state.call_started = Instant::now();
        state.host_time = Duration::ZERO;
        state.deadline = self.deadline;
        match f(&self.bindings, &mut self.store) {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(message)) => Err(HookError::Rejected(
                self.store.data().shared.secrets.redact_owned(message),
            )),
            Err(e) => Err(broken(&self.store, self.deadline, e)),
        }
    }
}

/// The deadline of an instance's first call (`describe`), which also pays
/// for its start-up: ten hook deadlines (`deadline` each), and at least a
/// second.
fn startup_deadline(deadline: Duration) -> Duration {
    (deadline * 10).max(Duration::from_secs(1))
}

/// Describes a wasmtime error in the operator's terms.
fn broken(store: &Store<PluginState>, deadline: Duration, error: wasmtime::Error) -> HookError {
    let memory_cap = store.data().shared.manifest.memory_cap();
    let what = match error.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => format!(
            "ran past its deadline of {} ms and was stopped",
            deadline.as_millis()
        ),
        Some(Trap::StackOverflow) => "overflowed its stack".to_owned(),
        _ if format!("{error:#}").contains("growing memory") => {
            format!("went past its memory cap of {} MiB", memory_cap >> 20)
        }
        // The trap alone: the error's own text carries a wasm backtrace of
        // numbered functions, no help to an operator.
        Some(trap) => format!("trapped: {trap}"),
        None => format!("trapped: {}", error.root_cause()),
    };
    HookError::Broken(match &store.data().last_error {
        Some(said) => format!("{what} (it said: {said})"),
        None => what,
    })
}

impl Hooks for PluginInstance {
    fn init_session(&mut self, session: SessionSettings) -> Result<SessionSettings, HookError> {
        self.call(|b, store| b.toolbelt_plugin_hooks().call_init_session(store, &session))
    }

    fn auth_session(&mut self, session: SessionSettings) -> Result<SessionSettings, HookError> {
        self.call(|b, store| b.toolbelt_plugin_hooks().call_auth_session(store, &session))
    }

    fn authorize(&mut self, request: Request) -> Result<Request, HookError> {
        self.call(|b, store| b.toolbelt_plugin_hooks().call_authorize(store, &request))
    }

    fn decide_retry(
        &mut self,
        request: &Request,
        outcome: &AttemptOutcome,
        attempt: &Attempt,
    ) -> Result<Decision, HookError> {
        self.call(|b, store| {
            b.toolbelt_plugin_hooks()
                .call_decide_retry(store, request, outcome, *attempt)
        })
    }
}
