//! One worker's instance of one plugin, in a store of its own.
//!
//! The store holds the sandbox: a WASI context with nothing granted but
//! the environment variables of the plugin's [`super::Manifest`], its
//! memory cap, and the plugin's view of the host (its configuration, the
//! log). An error out of wasmtime (a trap, the deadline, the memory cap)
//! marks the instance broken and the worker replaces it.
//!
//! Calls are async, awaited by the worker on its carrier's event loop, and
//! each has a deadline that holds whatever the plugin does:
//!
//! - while it runs wasm, the epoch callback fires every [`TICK`]: with time
//!   left the call yields to the carrier's other workers and goes on, its
//!   time spent yielded not counted; once its time is spent, the call traps;
//! - a call that has computed for a whole tick is a hog (a plugin stuck in
//!   a loop, or one doing far more than a hook should): from then on it
//!   pauses for a tick at every tick, and the pauses count as its own time
//!   (not what the carrier takes to come back to it after one).
//!   It runs at half speed at most, so it leaves the carrier's other workers
//!   and the machine's other processes (the server, when it is on the same
//!   machine) at least half of a CPU, and it is stopped at its deadline as
//!   the clock on the wall reads it, not at twice that;
//! - while it waits in the host (a WASI sleep or poll), [`within_deadline`]
//!   stops it at the same deadline;
//! - the time `host.fetch` takes is not the plugin's: a fetch has a
//!   timeout of its own ([`super::FETCH_TIMEOUT`]).

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};

use futures_util::future::{Either, select};
use wasmtime::component::ResourceTable;
use wasmtime::{Store, Trap, UpdateDeadline};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::PluginShared;
use super::memory::{InstanceMemory, OverBudget};
use super::output::{OutputBudget, PluginOutput};
use super::resources::{Lent, outcome_handle, request_handle};
use super::runtime::TICK;
use crate::hooks::{
    Attempt, AttemptOutcome, AwaitedHooks, Call, Decision, HookError, Request, SessionSettings,
};
use crate::wit::toolbelt::plugin::host::{Host, Level};
use crate::wit::toolbelt::plugin::types::{FetchRequest, Fetched, PluginInfo};

/// The longest message of a plugin's that is kept to explain a trap.
const LAST_ERROR_MAX: usize = 1024;

/// The time of the call an instance is making, shared by the store's epoch
/// callback, the futures it yields on, `host.fetch` and the watch of the
/// deadline. Nanoseconds since `base`; atomics, as the yields are `Send`.
struct CallClock {
    base: Instant,
    /// When the call started.
    started: AtomicU64,
    /// Time of the call that was not the plugin's: yielded to other
    /// workers, or spent in `host.fetch`.
    excluded: AtomicU64,
    /// When the `host.fetch` under way started; 0 when none is.
    fetching_since: AtomicU64,
}

impl CallClock {
    fn new() -> CallClock {
        CallClock {
            base: Instant::now(),
            started: AtomicU64::new(0),
            excluded: AtomicU64::new(0),
            fetching_since: AtomicU64::new(0),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_nanos())
            .unwrap_or(u64::MAX)
            .max(1)
    }

    /// A call starts now.
    fn start(&self) {
        self.started.store(self.now(), Ordering::Relaxed);
        self.excluded.store(0, Ordering::Relaxed);
        self.fetching_since.store(0, Ordering::Relaxed);
    }

    /// The plugin's own time in the call so far.
    fn used(&self) -> Duration {
        let now = self.now();
        let fetching = match self.fetching_since.load(Ordering::Relaxed) {
            0 => 0,
            since => now.saturating_sub(since),
        };
        let spent = now
            .saturating_sub(self.started.load(Ordering::Relaxed))
            .saturating_sub(self.excluded.load(Ordering::Relaxed))
            .saturating_sub(fetching);
        Duration::from_nanos(spent)
    }

    /// Time that does not count against the plugin.
    fn exclude(&self, time: Duration) {
        let nanos = u64::try_from(time.as_nanos()).unwrap_or(u64::MAX);
        self.excluded.fetch_add(nanos, Ordering::Relaxed);
    }
}

/// The data of a plugin's store: its sandbox and its view of the host.
pub struct PluginState {
    wasi: WasiCtx,
    table: ResourceTable,
    memory: InstanceMemory,
    shared: Arc<PluginShared>,
    worker: u32,
    clock: Arc<CallClock>,
    /// The deadline of the call under way.
    deadline: Duration,
    /// The client of this instance's fetches, made on the first one.
    fetch_client: Option<Result<reqwest::Client, String>>,
    /// What the call under way may still write to stdout and stderr.
    output: Arc<OutputBudget>,
    /// The last error-level message the plugin logged (guest-sdk logs panics
    /// there), shown when the plugin then traps.
    last_error: Option<String>,
    /// What the call under way lends the plugin (see `resources.rs`).
    pub(super) lent: Lent,
}

impl WasiView for PluginState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// `toolbelt:plugin/types` has no functions but its resources' (see
/// `resources.rs`).
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

    async fn fetch(&mut self, request: FetchRequest) -> Result<Fetched, String> {
        let since = self.clock.now();
        self.clock.fetching_since.store(since, Ordering::Relaxed);
        let shared = Arc::clone(&self.shared);
        let fetched = shared.fetcher.fetch(&mut self.fetch_client, &request).await;
        self.clock.fetching_since.store(0, Ordering::Relaxed);
        self.clock
            .exclude(Duration::from_nanos(self.clock.now().saturating_sub(since)));
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

/// A plugin instantiated for one worker: its store, and its exports once
/// the first call has instantiated the component in it.
pub struct PluginInstance {
    store: Store<PluginState>,
    bindings: Option<crate::wit::Plugin>,
    clock: Arc<CallClock>,
}

/// How a call under the deadline ended, short of an answer.
enum Stopped {
    /// Wasmtime's error: a trap, the epoch deadline, the memory cap.
    Broke(wasmtime::Error),
    /// It waited in the host past its deadline.
    Late,
}

impl PluginInstance {
    /// A store for the plugin's instance for `worker`; the component is
    /// instantiated in it on the first call.
    pub(crate) fn new(shared: Arc<PluginShared>, worker: u32) -> PluginInstance {
        let manifest = &shared.manifest;
        let output = Arc::new(OutputBudget::default());
        let mut wasi = WasiCtx::builder();
        wasi.envs(&manifest.env);
        let stream =
            |name| PluginOutput::new(Arc::clone(&shared), worker, name, Arc::clone(&output));
        wasi.stdout(stream("stdout")).stderr(stream("stderr"));
        let clock = Arc::new(CallClock::new());
        let state = PluginState {
            wasi: wasi.build(),
            table: ResourceTable::new(),
            memory: InstanceMemory::new(manifest.memory_cap(), shared.runtime.memory_budget()),
            shared: Arc::clone(&shared),
            worker,
            clock: Arc::clone(&clock),
            deadline: manifest.deadline(),
            fetch_client: None,
            output,
            last_error: None,
            lent: Lent::default(),
        };
        let mut store = Store::new(shared.runtime.engine(), state);
        store.limiter(|state| &mut state.memory);
        store.epoch_deadline_callback(|store| {
            let state = store.data();
            let used = state.clock.used();
            Ok(match state.deadline.checked_sub(used) {
                Some(left) if left.is_zero() => UpdateDeadline::Interrupt,
                // A hog: it pauses for a tick on its own time; what the
                // carrier then takes to come back to it is not its own.
                Some(left) if used >= TICK => {
                    let clock = Arc::clone(&state.clock);
                    let pause = TICK.min(left);
                    UpdateDeadline::YieldCustom(
                        1,
                        Box::pin(async move {
                            let paused = Instant::now();
                            tokio::time::sleep(pause).await;
                            clock.exclude(paused.elapsed().saturating_sub(pause));
                        }),
                    )
                }
                Some(_) => {
                    let clock = Arc::clone(&state.clock);
                    UpdateDeadline::YieldCustom(
                        1,
                        Box::pin(async move {
                            let yielded = Instant::now();
                            tokio::task::yield_now().await;
                            clock.exclude(yielded.elapsed());
                        }),
                    )
                }
                None => UpdateDeadline::Interrupt,
            })
        });
        PluginInstance {
            store,
            bindings: None,
            clock,
        }
    }

    /// Instantiates the plugin for `worker` and asks it to `describe`
    /// itself, which is where it reads its configuration: the check of a
    /// plugin as it loads.
    pub(crate) async fn start(
        shared: Arc<PluginShared>,
        worker: u32,
    ) -> Result<(Self, PluginInfo), HookError> {
        let mut instance = PluginInstance::new(shared, worker);
        let info = instance.instantiate().await?;
        Ok((instance, info))
    }

    /// Instantiates the component in the store and calls `describe`. That
    /// first call also pays for the instance's start-up (its memory is
    /// touched for the first time, many workers start at once), so it gets
    /// the longer [`startup_deadline`].
    async fn instantiate(&mut self) -> Result<PluginInfo, HookError> {
        let startup = startup_deadline(self.store.data().shared.manifest.deadline());
        self.begin(startup);
        let shared = Arc::clone(&self.store.data().shared);
        self.store.data_mut().memory.instantiating(true);
        let made = within_deadline(
            &self.clock,
            startup,
            shared.pre.instantiate_async(&mut self.store),
        )
        .await;
        self.store.data_mut().memory.instantiating(false);
        let bindings = self.settle(startup, made.map(|made| made.map(Ok)))?;
        let describe = bindings
            .toolbelt_plugin_hooks()
            .call_describe(&mut self.store);
        let info = within_deadline(&self.clock, startup, describe).await;
        let info = self.settle(startup, info);
        self.bindings = Some(bindings);
        info
    }

    /// Sets the deadline of the call about to start.
    fn begin(&mut self, deadline: Duration) {
        // The epoch callback runs after every tick of wasm: a loop yields
        // to the carrier's other workers that often.
        self.store.set_epoch_deadline(1);
        let state = self.store.data_mut();
        state.last_error = None;
        state.output.reset();
        state.deadline = deadline;
        self.clock.start();
    }

    /// Sorts how a call ended: wasmtime's errors (the instance is broken)
    /// from the plugin's own (it is not).
    fn settle<T>(
        &self,
        deadline: Duration,
        ended: Result<wasmtime::Result<Result<T, String>>, Stopped>,
    ) -> Result<T, HookError> {
        match ended.and_then(|answer| answer.map_err(Stopped::Broke)) {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(message)) => Err(HookError::Rejected(
                self.store.data().shared.secrets.redact_owned(message),
            )),
            Err(stopped) => Err(broken(&self.store, deadline, stopped)),
        }
    }
}

/// Awaits `call` until the plugin's time in it (see [`CallClock::used`])
/// reaches `deadline`; `Late` then, and the call is dropped: wasm traps at
/// the deadline by itself (the epoch), but a wait in the host (a WASI sleep
/// or poll) is ended here.
///
/// Nearly every call answers the first time it is polled; only one that
/// does not gets a timer, so the usual call costs no timer to arm and
/// cancel.
async fn within_deadline<F: Future>(
    clock: &CallClock,
    deadline: Duration,
    call: F,
) -> Result<F::Output, Stopped> {
    let mut call = pin!(call);
    if let Poll::Ready(answer) = poll_fn(|cx| Poll::Ready(call.as_mut().poll(cx))).await {
        return Ok(answer);
    }
    loop {
        let left = deadline.saturating_sub(clock.used());
        if left.is_zero() {
            return Err(Stopped::Late);
        }
        match select(call.as_mut(), pin!(tokio::time::sleep(left))).await {
            Either::Left((answer, _)) => return Ok(answer),
            Either::Right(_) => continue,
        }
    }
}

/// The deadline of an instance's first call (`describe`), which also pays
/// for its start-up: ten hook deadlines (`deadline` each), and at least a
/// second.
fn startup_deadline(deadline: Duration) -> Duration {
    (deadline * 10).max(Duration::from_secs(1))
}

/// Describes how a call was stopped in the operator's terms.
fn broken(store: &Store<PluginState>, deadline: Duration, stopped: Stopped) -> HookError {
    let memory_cap = store.data().shared.manifest.memory_cap();
    let late = || {
        format!(
            "ran past its deadline of {} ms and was stopped",
            deadline.as_millis()
        )
    };
    let what = match stopped {
        Stopped::Late => late(),
        Stopped::Broke(error) => match error.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => late(),
            Some(Trap::StackOverflow) => "overflowed its stack".to_owned(),
            _ if error.downcast_ref::<OverBudget>().is_some() => {
                let over = error.downcast_ref::<OverBudget>().expect("checked");
                format!("could not grow its memory: {over}")
            }
            _ if format!("{error:#}").contains("growing memory") => {
                format!("went past its memory cap of {} MiB", memory_cap >> 20)
            }
            // The trap alone: the error's own text carries a wasm backtrace
            // of numbered functions, no help to an operator.
            Some(trap) => format!("trapped: {trap}"),
            None => format!("trapped: {}", error.root_cause()),
        },
    };
    HookError::Broken(match &store.data().last_error {
        Some(said) => format!("{what} (it said: {said})"),
        None => what,
    })
}

impl PluginInstance {
    /// Makes one hook call, `deadline` from the manifest.
    async fn hook<T>(
        &mut self,
        call: impl AsyncFnOnce(
            &crate::wit::Plugin,
            &mut Store<PluginState>,
        ) -> wasmtime::Result<Result<T, String>>,
    ) -> Result<T, HookError> {
        if self.bindings.is_none() {
            self.instantiate().await?;
        }
        let deadline = self.store.data().shared.manifest.deadline();
        self.begin(deadline);
        let bindings = self.bindings.as_ref().expect("instantiated above");
        let answer = within_deadline(&self.clock, deadline, call(bindings, &mut self.store)).await;
        self.settle(deadline, answer)
    }
}

impl AwaitedHooks for PluginInstance {
    fn init_session(&mut self, session: SessionSettings) -> Call<'_, SessionSettings> {
        Box::pin(self.hook(async move |b, store| {
            b.toolbelt_plugin_hooks()
                .call_init_session(store, &session)
                .await
        }))
    }

    fn auth_session(&mut self, session: SessionSettings) -> Call<'_, SessionSettings> {
        Box::pin(self.hook(async move |b, store| {
            b.toolbelt_plugin_hooks()
                .call_auth_session(store, &session)
                .await
        }))
    }

    fn authorize<'a>(&'a mut self, request: &'a mut Request) -> Call<'a, ()> {
        Box::pin(async move {
            let lent = &mut self.store.data_mut().lent;
            lent.request = std::mem::take(request);
            lent.editable = true;
            let answer = self
                .hook(async |b, store| {
                    b.toolbelt_plugin_hooks()
                        .call_authorize(store, request_handle())
                        .await
                })
                .await;
            *request = std::mem::take(&mut self.store.data_mut().lent.request);
            answer
        })
    }

    fn decide_retry<'a>(
        &'a mut self,
        request: &'a Request,
        outcome: &'a AttemptOutcome,
        attempt: &'a Attempt,
    ) -> Call<'a, Decision> {
        Box::pin(async move {
            let lent = &mut self.store.data_mut().lent;
            // Asked about rarely (the statuses it named, failures): a copy
            // into the store is cheap beside lowering it all into wasm.
            lent.request = request.clone();
            lent.editable = false;
            lent.outcome = Some(outcome.clone());
            let answer = self
                .hook(async |b, store| {
                    b.toolbelt_plugin_hooks()
                        .call_decide_retry(store, request_handle(), outcome_handle(), *attempt)
                        .await
                })
                .await;
            let lent = &mut self.store.data_mut().lent;
            lent.request = Request::default();
            lent.outcome = None;
            answer
        })
    }
}
