//! Limits on sending, shared by every worker of a pool: a rate for the
//! whole run and a cap on requests in flight to one host.
//!
//! Both apply to every attempt, retries included, right before it is sent.
//! A worker that must wait for either waits there, as an async wait, so the
//! other workers of its carrier thread go on; jobs for other hosts are taken
//! by the other workers meanwhile.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// The limits of one pool; both off by default.
#[derive(Default)]
pub(crate) struct SendLimits {
    pacer: Option<Pacer>,
    per_host: Option<HostSlots>,
}

impl SendLimits {
    /// Limits with at most `rate` attempts per second (if any) and at most
    /// `per_host` attempts in flight to one host (if any).
    pub fn new(rate: Option<f64>, per_host: Option<usize>) -> SendLimits {
        SendLimits {
            pacer: rate.map(Pacer::new),
            per_host: per_host.map(HostSlots::new),
        }
    }

    /// Waits until an attempt on `url` may be sent; the returned guard
    /// holds its host's slot until dropped.
    pub async fn enter(&self, url: &str) -> HostSlot<'_> {
        let slot = match &self.per_host {
            Some(slots) => HostSlot::taken(slots, host_of(url)).await,
            None => HostSlot::none(),
        };
        if let Some(pacer) = &self.pacer {
            pacer.wait().await;
        }
        slot
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
            let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
            let due = (*next).max(Instant::now());
            *next = due + self.interval;
            due
        };
        tokio::time::sleep_until(due).await;
    }
}

/// Counts attempts in flight per host.
struct HostSlots {
    max: usize,
    in_flight: Mutex<HashMap<String, usize>>,
    freed: Notify,
}

impl HostSlots {
    fn new(max: usize) -> HostSlots {
        HostSlots {
            max: max.max(1),
            in_flight: Mutex::new(HashMap::new()),
            freed: Notify::new(),
        }
    }
}

/// A slot for one attempt to one host, given back when dropped.
pub(crate) struct HostSlot<'a> {
    held: Option<(&'a HostSlots, String)>,
}

impl<'a> HostSlot<'a> {
    fn none() -> HostSlot<'a> {
        HostSlot { held: None }
    }

    /// Waits for a free slot for `host` and takes it.
    async fn taken(slots: &'a HostSlots, host: String) -> HostSlot<'a> {
        loop {
            // Listening before looking: a slot freed in between still
            // wakes this wait.
            let freed = slots.freed.notified();
            let mut freed = std::pin::pin!(freed);
            freed.as_mut().enable();
            {
                let mut in_flight = slots.in_flight.lock().unwrap_or_else(|e| e.into_inner());
                let count = in_flight.entry(host.clone()).or_insert(0);
                if *count < slots.max {
                    *count += 1;
                    return HostSlot {
                        held: Some((slots, host)),
                    };
                }
            }
            freed.await;
        }
    }
}

impl Drop for HostSlot<'_> {
    fn drop(&mut self) {
        if let Some((slots, host)) = self.held.take() {
            let mut in_flight = slots.in_flight.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(count) = in_flight.get_mut(&host) {
                *count -= 1;
                if *count == 0 {
                    in_flight.remove(&host);
                }
            }
            slots.freed.notify_waiters();
        }
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
        let limits = SendLimits::new(Some(200.0), None);
        let started = std::time::Instant::now();
        block_on(async {
            for _ in 0..21 {
                drop(limits.enter("http://a.test/").await);
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
        let limits = Arc::new(SendLimits::new(None, Some(2)));
        let now = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let (limits, now, most) = (limits.clone(), now.clone(), most.clone());
                std::thread::spawn(move || {
                    let task = || async {
                        for _ in 0..5 {
                            let _slot = limits.enter("http://same.test:8080/x").await;
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

    #[test]
    fn hosts_are_counted_apart() {
        let limits = SendLimits::new(None, Some(1));
        block_on(async {
            let a = limits.enter("http://a.test/").await;
            let b = limits.enter("http://b.test/").await;
            drop((a, b));
        });
        assert_eq!(host_of("https://a.test/x"), "a.test:443");
    }
}
