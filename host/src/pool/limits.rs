//! Limits on sending, shared by every worker of a pool: a rate for the
//! whole run, a cap on requests in flight to one host, and the origins a
//! server asked to pause (`pauses`).
//!
//! All apply to every attempt, retries included. A job for a paused origin
//! waits in the retry scheduler until the pause ends, without holding a
//! worker, or fails at once if the pause is longer than the pool waits. The rate is waited for
//! right before each request is sent, as an async wait, so the other
//! workers of a carrier thread go on. The cap is taken for a whole attempt
//! of a job, before its hooks run: a job whose host is at its cap is set
//! aside here ("parked") and its worker takes another job, so one slow
//! host never holds up the workers of the others. When an attempt to that
//! host ends, one of its parked jobs is made ready, and the next worker to
//! look for a job takes it before any new one. A redirect to another host
//! waits for a slot of that host where it is, as the attempt is under way.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use reqwest::Url;
use reqwest::header::HeaderMap;

use super::breakers::Breakers;
use super::flow::Task;
use super::pauses::{Pauses, Verdict};
use super::quotas::{Quotas, Turn};
use crate::failure::FailureKind;

/// The limits of one pool; rate and cap off by default.
pub(crate) struct SendLimits {
    pacer: Option<Pacer>,
    per_host: Option<Arc<HostSlots>>,
    pauses: Pauses,
    quotas: Quotas,
    breakers: Breakers,
}

/// How the limits treat origins that push back or fail: see `pauses` and
/// `breakers`.
pub(crate) struct OriginLimits {
    /// The longest pause waited for.
    pub max_pause: Duration,
    /// Bad attempts in a row that open an origin's breaker; 0: never.
    pub breaker: u32,
    /// How long an origin may stay broken before its jobs fail.
    pub breaker_give_up: Duration,
}

/// A hop let through the limits (see [`SendLimits::enter`]).
pub(crate) struct Entered {
    /// The slot of its host, when it needs one of its own: held until its
    /// response has come.
    pub slot: Option<HostSlot>,
    /// Its number among its origin's requests, when that origin's rate
    /// limit is known: for [`SendLimits::note_answer`].
    pub turn: Option<u64>,
}

/// Why a job may not start an attempt now (see [`SendLimits::admit`]).
pub(crate) enum Held {
    /// Its host is at its cap: the job waits here, and its worker goes on.
    Parked,
    /// Its origin is paused until then: the job waits in the scheduler.
    Paused(Box<Task>, std::time::Instant),
    /// Its origin is paused for longer than the pool waits (kind
    /// `paused`), or broken for longer (kind `broken`): the job fails with
    /// this kind and message.
    Refused(Box<Task>, FailureKind, String),
}

impl SendLimits {
    /// Limits with at most `rate` attempts per second (if any), at most
    /// `per_host` attempts in flight to one host (if any), and `origins`'
    /// pauses and breakers.
    pub fn new(rate: Option<f64>, per_host: Option<usize>, origins: OriginLimits) -> SendLimits {
        SendLimits {
            pacer: rate.map(Pacer::new),
            per_host: per_host.map(|max| Arc::new(HostSlots::new(max))),
            pauses: Pauses::new(origins.max_pause),
            quotas: Quotas::default(),
            breakers: Breakers::new(origins.breaker, origins.breaker_give_up),
        }
    }

    /// The origins' breakers.
    pub fn breakers(&self) -> &Breakers {
        &self.breakers
    }

    /// Takes in what the answer to a request to `url` says of its
    /// origin's rate limit (see `quotas`); `turn` is what [`Entered`] said
    /// of that request. None left pauses the origin until its reset.
    pub fn note_answer(&self, url: &Url, headers: &HeaderMap, turn: Option<u64>) {
        if let Some(resets) = self.quotas.note(|| Pauses::origin(url), headers, turn) {
            self.pause_until(url, resets);
        }
    }

    /// Pauses `url`'s origin until `until`.
    fn pause_until(&self, url: &Url, until: std::time::Instant) {
        let wait = until.saturating_duration_since(std::time::Instant::now());
        self.pauses.pause(Pauses::origin(url), wait);
    }

    /// The origins paused in this run.
    pub fn pauses(&self) -> &Pauses {
        &self.pauses
    }

    /// Takes a slot of `task`'s host for its next attempt and gives the
    /// task back with it (no slot when hosts are not capped); or says why
    /// it may not go now. A job parked for its host's cap stays here until
    /// a slot frees (see [`SendLimits::ready`]): its worker goes on.
    pub fn admit(&self, task: Task) -> Result<(Task, Option<HostSlot>), Held> {
        // The job's URL is parsed only while some origin is held back.
        let held_back = !(self.pauses.is_idle() && self.breakers.is_idle());
        if let Some(url) = held_back.then(|| Url::parse(&task.job.url).ok()).flatten() {
            // One after the other: a breaker's verdict may let its probe go.
            let verdict = match self.pauses.verdict(&url) {
                Verdict::Go => (self.breakers.verdict(&url), FailureKind::Broken),
                paused => (paused, FailureKind::Paused),
            };
            match verdict {
                (Verdict::Go, _) => {}
                (Verdict::Wait(until), _) => return Err(Held::Paused(Box::new(task), until)),
                (Verdict::Refused(message), kind) => {
                    return Err(Held::Refused(Box::new(task), kind, message));
                }
            }
        }
        let Some(slots) = &self.per_host else {
            return Ok((task, None));
        };
        let host = host_of(&task.job.url);
        let mut hosts = slots.lock();
        let state = hosts.states.entry(host.clone()).or_default();
        if state.in_flight < slots.max {
            state.in_flight += 1;
            drop(hosts);
            let slot = HostSlot {
                slots: Arc::clone(slots),
                host,
            };
            Ok((task, Some(slot)))
        } else {
            state.parked.push_back(task);
            Err(Held::Parked)
        }
    }

    /// A parked job whose host has a free slot now, to be taken before any
    /// new job; once the run is `cancelled`, every parked job, so that
    /// each ends at once.
    pub fn ready(&self, cancelled: bool) -> Option<Task> {
        let slots = self.per_host.as_ref()?;
        let mut hosts = slots.lock();
        if let Some(task) = hosts.pop_ready() {
            return Some(task);
        }
        if !cancelled {
            return None;
        }
        let (host, state) = hosts
            .states
            .iter_mut()
            .find(|(_, state)| !state.parked.is_empty())?;
        let (host, task) = (host.clone(), state.parked.pop_front());
        hosts.forget_if_idle(&host);
        task
    }

    /// Every job parked now, taken out: for a cancelled run, whose jobs
    /// not yet sent end at once.
    pub fn take_parked(&self) -> Vec<Task> {
        let Some(slots) = &self.per_host else {
            return Vec::new();
        };
        let mut hosts = slots.lock();
        hosts.ready.clear();
        let states = hosts.states.values_mut();
        let parked = states.flat_map(|state| state.parked.drain(..)).collect();
        hosts.states.retain(|_, state| state.in_flight > 0);
        parked
    }

    /// Waits until a hop to `url` may be sent. `held` is the slot the
    /// attempt holds for its job's host: a hop to that host needs no
    /// other, a hop elsewhere (a redirect) waits here for a slot of its
    /// own, returned to be held until the hop's response has come. A hop
    /// to an origin paused since its attempt began waits here for the
    /// pause to end, or fails with the message of a refused one.
    pub async fn enter(&self, url: &Url, held: Option<&HostSlot>) -> Result<Entered, String> {
        let turn = loop {
            match self.pauses.verdict(url) {
                Verdict::Go => {}
                Verdict::Wait(until) => {
                    tokio::time::sleep_until(Instant::from_std(until)).await;
                    continue;
                }
                Verdict::Refused(message) => return Err(message),
            }
            // What the origin's rate limit has left: the last request it
            // allows goes, and pauses the origin after it.
            match self.quotas.spend(url) {
                Turn::Free(number) => break number,
                Turn::Last(number, resets) => {
                    self.pause_until(url, resets);
                    break Some(number);
                }
                Turn::Spent(resets) => self.pause_until(url, resets),
            }
        };
        let url = url.as_str();
        let slot = match &self.per_host {
            Some(slots) => {
                let host = host_of(url);
                match held {
                    Some(held) if held.host == host => None,
                    _ => Some(HostSlot::taken(slots, host).await),
                }
            }
            None => None,
        };
        if let Some(pacer) = &self.pacer {
            pacer.wait().await;
        }
        Ok(Entered { slot, turn })
    }
}

/// Spaces attempts evenly: one every `1/rate` seconds, whole run. A slot
/// not used is not saved up, so there is no burst after a pause.
struct Pacer {
    interval: Duration,
    next: Mutex<Instant>,
}

impl Pacer {
    fn new(rate: f64) -> Pacer {
        Pacer {
            interval: Duration::from_secs_f64(1.0 / rate),
            next: Mutex::new(Instant::now()),
        }
    }

    /// Takes the next free slot and waits until it comes.
    async fn wait(&self) {
        let due = {
            let mut next = self.next.lock().unwrap_or_else(PoisonError::into_inner);
            let due = (*next).max(Instant::now());
            *next = due + self.interval;
            due
        };
        tokio::time::sleep_until(due).await;
    }
}

/// One host's attempts in flight and the jobs parked for it.
#[derive(Default)]
struct HostState {
    in_flight: usize,
    parked: VecDeque<Task>,
}

/// Counts attempts in flight per host and keeps the jobs parked for each.
struct HostSlots {
    max: usize,
    hosts: Mutex<Hosts>,
    freed: Notify,
}

/// Every host with an attempt in flight or a job parked, and the hosts
/// one of whose parked jobs may go now, in the order their slots freed.
#[derive(Default)]
struct Hosts {
    states: HashMap<String, HostState>,
    ready: VecDeque<String>,
}

impl Hosts {
    /// The first parked job of a host that had a slot freed.
    fn pop_ready(&mut self) -> Option<Task> {
        while let Some(host) = self.ready.pop_front() {
            let state = self.states.get_mut(&host);
            if let Some(task) = state.and_then(|state| state.parked.pop_front()) {
                self.forget_if_idle(&host);
                return Some(task);
            }
        }
        None
    }

    /// Drops `host`'s entry once nothing is in flight or parked for it.
    fn forget_if_idle(&mut self, host: &str) {
        let idle = self.states.get(host);
        if idle.is_some_and(|state| state.in_flight == 0 && state.parked.is_empty()) {
            self.states.remove(host);
        }
    }
}

impl HostSlots {
    fn new(max: usize) -> HostSlots {
        HostSlots {
            max: max.max(1),
            hosts: Mutex::new(Hosts::default()),
            freed: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Hosts> {
        self.hosts.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A slot for attempts to one host, given back when dropped: then one job
/// parked for that host is made ready, and the hops waiting for a slot
/// are woken.
pub(crate) struct HostSlot {
    slots: Arc<HostSlots>,
    host: String,
}

impl HostSlot {
    /// Waits for a free slot for `host` and takes it.
    async fn taken(slots: &Arc<HostSlots>, host: String) -> HostSlot {
        loop {
            // Listening before looking: a slot freed in between still
            // wakes this wait.
            let freed = slots.freed.notified();
            let mut freed = std::pin::pin!(freed);
            freed.as_mut().enable();
            {
                let mut hosts = slots.lock();
                let state = hosts.states.entry(host.clone()).or_default();
                if state.in_flight < slots.max {
                    state.in_flight += 1;
                    return HostSlot {
                        slots: Arc::clone(slots),
                        host,
                    };
                }
            }
            freed.await;
        }
    }
}

impl Drop for HostSlot {
    fn drop(&mut self) {
        let mut hosts = self.slots.lock();
        if let Some(state) = hosts.states.get_mut(&self.host) {
            state.in_flight -= 1;
            if !state.parked.is_empty() {
                hosts.ready.push_back(self.host.clone());
            }
        }
        hosts.forget_if_idle(&self.host);
        drop(hosts);
        self.slots.freed.notify_waiters();
    }
}

/// The host and port an attempt goes to, as the per-host cap counts them.
fn host_of(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(url) => format!(
            "{}:{}",
            url.host_str().unwrap_or(""),
            url.port_or_known_default().unwrap_or(0)
        ),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Runs `work` to its end on a runtime like a carrier's.
    fn block_on<F: std::future::Future>(work: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a runtime")
            .block_on(work)
    }

    #[test]
    fn the_pacer_spaces_attempts_by_the_rate() {
        let limits = SendLimits::new(Some(200.0), None, origins());
        let started = std::time::Instant::now();
        block_on(async {
            for _ in 0..21 {
                drop(limits.enter(&url("http://a.test/"), None).await.unwrap());
            }
        });
        // 21 attempts at 200/s: the last is due 100 ms after the first.
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(95), "{took:?}");
    }

    #[test]
    fn no_more_than_the_cap_is_in_flight_to_one_host() {
        // Two threads of four tasks each, as workers on two carriers: a
        // task waiting for a slot must let its thread's other tasks go on.
        let limits = Arc::new(SendLimits::new(None, Some(2), origins()));
        let now = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let (limits, now, most) = (limits.clone(), now.clone(), most.clone());
                std::thread::spawn(move || {
                    let task = || async {
                        for _ in 0..5 {
                            let _slot = limits
                                .enter(&url("http://same.test:8080/x"), None)
                                .await
                                .unwrap();
                            let current = now.fetch_add(1, Ordering::SeqCst) + 1;
                            most.fetch_max(current, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(2)).await;
                            now.fetch_sub(1, Ordering::SeqCst);
                        }
                    };
                    block_on(futures_util::future::join_all((0..4).map(|_| task())))
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 2);
    }

    fn task(index: u64, url: &str) -> Task {
        Task {
            index,
            job: crate::job::Job::get(url),
            attempts: 0,
            started: None,
            last: None,
        }
    }

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    /// The pools' defaults: pauses of up to 10 minutes, breakers after 20.
    fn origins() -> OriginLimits {
        OriginLimits {
            max_pause: Duration::from_secs(600),
            breaker: 20,
            breaker_give_up: Duration::from_secs(60),
        }
    }

    fn admitted(admission: Result<(Task, Option<HostSlot>), Held>) -> (u64, Option<HostSlot>) {
        let Ok((task, slot)) = admission else {
            panic!("held back");
        };
        (task.index, slot)
    }

    fn parked(admission: Result<(Task, Option<HostSlot>), Held>) -> bool {
        matches!(admission, Err(Held::Parked))
    }

    #[test]
    fn a_job_for_a_host_at_its_cap_is_parked_until_a_slot_frees() {
        let limits = SendLimits::new(None, Some(1), origins());
        let (_, first) = admitted(limits.admit(task(0, "http://a.test/0")));
        assert!(parked(limits.admit(task(1, "http://a.test/1"))));
        assert!(parked(limits.admit(task(2, "http://a.test:80/2"))));
        let (_, other) = admitted(limits.admit(task(3, "http://b.test/3")));
        assert!(limits.ready(false).is_none(), "no slot of a.test is free");
        drop(other);
        assert!(limits.ready(false).is_none(), "b.test had no job parked");
        drop(first);
        assert_eq!(
            limits.ready(false).map(|t| t.index),
            Some(1),
            "first parked, first out"
        );
        assert!(limits.ready(false).is_none(), "one freed slot, one job");
        let (_, second) = admitted(limits.admit(task(1, "http://a.test/1")));
        drop(second);
        assert_eq!(limits.ready(false).map(|t| t.index), Some(2));
    }

    #[test]
    fn a_cancelled_run_gets_every_parked_job_back() {
        let limits = SendLimits::new(None, Some(1), origins());
        let (_, held) = admitted(limits.admit(task(0, "http://a.test/")));
        for index in 1..4 {
            assert!(parked(limits.admit(task(index, "http://a.test/"))));
        }
        assert_eq!(
            limits.ready(true).map(|t| t.index),
            Some(1),
            "without a free slot"
        );
        let rest: Vec<u64> = limits.take_parked().iter().map(|t| t.index).collect();
        assert_eq!(rest, [2, 3]);
        drop(held);
        assert!(limits.ready(true).is_none());
    }

    #[test]
    fn a_hop_to_the_host_whose_slot_the_attempt_holds_needs_no_other() {
        let limits = SendLimits::new(None, Some(1), origins());
        let (_, held) = admitted(limits.admit(task(0, "http://a.test/")));
        block_on(async {
            let same = limits
                .enter(&url("http://a.test/next"), held.as_ref())
                .await
                .unwrap();
            assert!(same.slot.is_none());
            let elsewhere = limits
                .enter(&url("http://b.test/"), held.as_ref())
                .await
                .unwrap();
            assert!(
                elsewhere.slot.is_some(),
                "a redirect elsewhere takes that host's slot"
            );
        });
    }

    #[test]
    fn a_job_for_a_paused_origin_waits_or_fails_and_others_go() {
        let max_pause = Duration::from_secs(10);
        let limits = SendLimits::new(
            None,
            Some(1),
            OriginLimits {
                max_pause,
                ..origins()
            },
        );
        let pauses = limits.pauses();
        pauses.pause("http://a.test:80".into(), Duration::from_secs(2));
        pauses.pause("http://c.test:80".into(), Duration::from_secs(60));
        let Err(Held::Paused(waiting, until)) = limits.admit(task(0, "http://a.test/x")) else {
            panic!("waits for the pause");
        };
        assert_eq!(waiting.index, 0);
        assert!(until > std::time::Instant::now() + Duration::from_secs(1));
        let Err(Held::Refused(_, FailureKind::Paused, message)) =
            limits.admit(task(1, "http://c.test/"))
        else {
            panic!("longer than the most waited for");
        };
        assert!(message.contains("--max-pause"), "{message}");
        let (_, slot) = admitted(limits.admit(task(2, "https://a.test/")));
        assert!(
            slot.is_some(),
            "another origin of the same host, and its cap"
        );
    }

    #[test]
    fn hosts_are_counted_apart() {
        let limits = SendLimits::new(None, Some(1), origins());
        block_on(async {
            let a = limits.enter(&url("http://a.test/"), None).await.unwrap();
            let b = limits.enter(&url("http://b.test/"), None).await.unwrap();
            drop((a, b));
        });
        assert_eq!(host_of("https://a.test/x"), "a.test:443");
    }
}
