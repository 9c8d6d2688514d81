//! The end-of-run summary: counts by status class and failure kind,
//! retries, body bytes received, latency percentiles and rate.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use indicatif::HumanBytes;

use super::Failed;
use super::stop::{Stopped, Unsent};
use tb_host::{Broken, Failure, FailureKind, Paused, Pool, Response};

/// The longest latency told apart from longer ones, in microseconds.
const HOUR_US: u64 = 3_600_000_000;

/// Counts gathered as results arrive.
pub struct Summary {
    started: Instant,
    elapsed: Option<Duration>,
    by_class: [u64; 6],
    by_kind: BTreeMap<FailureKind, u64>,
    retries: u64,
    /// What becomes of jobs not sent when the run stops.
    unsent: Unsent,
    /// On a queue (`run --queue`), retries for later parked in the queue:
    /// jobs that did not end here.
    parked: u64,
    /// Body bytes of every response.
    bytes: u64,
    /// Why the run stopped early, if it did.
    stopped: Option<Stopped>,
    /// Job latencies in microseconds: a histogram, so memory stays the
    /// same however long the input.
    latencies_us: Histogram<u64>,
    /// The origins a server asked to pause, with how often and how long.
    paused: Vec<(String, Paused)>,
    /// The origins whose breaker opened.
    broken: Vec<(String, Broken)>,
}

impl Summary {
    /// An empty summary whose clock starts now, of a run whose jobs not
    /// sent become what `unsent` says.
    pub fn start(unsent: Unsent) -> Summary {
        Summary {
            started: Instant::now(),
            elapsed: None,
            by_class: [0; 6],
            by_kind: BTreeMap::new(),
            retries: 0,
            unsent,
            parked: 0,
            bytes: 0,
            stopped: None,
            latencies_us: Histogram::new_with_bounds(1, HOUR_US, 3)
                .expect("the bounds and 3 significant digits are valid"),
            paused: Vec::new(),
            broken: Vec::new(),
        }
    }

    /// Counts one finished job.
    pub fn add(&mut self, result: &Result<Response, Failure>) {
        let (attempts, elapsed) = match result {
            Ok(r) => {
                self.by_class[usize::from(r.status() / 100).min(5)] += 1;
                self.bytes += r.bytes();
                (r.attempts(), r.elapsed())
            }
            Err(f) if f.kind() == FailureKind::Retry => {
                self.parked += 1;
                return;
            }
            // Handed back to the queue (its own line says how many): no
            // end either.
            Err(f) if f.kind() == FailureKind::Cancelled && self.unsent == Unsent::HandedBack => {
                return;
            }
            Err(f) => {
                *self.by_kind.entry(f.kind()).or_default() += 1;
                (f.attempts(), f.elapsed())
            }
        };
        self.retries += u64::from(attempts.saturating_sub(1));
        if attempts > 0 {
            let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
            self.latencies_us.saturating_record(micros);
        }
    }

    /// Stops the clock; `stopped` tells why the run stopped early, if it
    /// did, and `pool` which origins were paused or broken.
    pub fn finish(&mut self, stopped: Option<Stopped>, pool: &Pool) {
        self.elapsed = Some(self.started.elapsed());
        self.stopped = stopped;
        self.paused = pool.paused_origins();
        self.broken = pool.broken_origins();
    }

    /// Why the run stopped early, for a run that shows no summary.
    pub fn stopped(&self) -> Option<&Stopped> {
        self.stopped.as_ref()
    }

    /// Jobs that got an HTTP response.
    pub fn responses(&self) -> u64 {
        self.by_class.iter().sum()
    }

    /// Jobs that failed.
    pub fn failures(&self) -> u64 {
        self.by_kind.values().sum()
    }

    /// The exit status this run deserves: stopped by a failed write (3) or
    /// a signal (130), some job failed (1), or success.
    pub fn outcome(&self) -> anyhow::Result<()> {
        if let Some(stopped) = &self.stopped {
            Err(stopped.outcome())
        } else if self.failures() > 0 {
            Err(Failed.into())
        } else {
            Ok(())
        }
    }

    fn percentile_ms(&self, p: f64) -> f64 {
        self.latencies_us.value_at_quantile(p) as f64 / 1000.0
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let elapsed = self.elapsed.unwrap_or_else(|| self.started.elapsed());
        let jobs = self.responses() + self.failures();
        let rate = jobs as f64 / elapsed.as_secs_f64().max(1e-9);
        writeln!(
            f,
            "{jobs} jobs in {:.2} s ({rate:.0}/s): {} responses, {} failures, {} retries",
            elapsed.as_secs_f64(),
            self.responses(),
            self.failures(),
            self.retries
        )?;
        let classes: Vec<String> = self
            .by_class
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(class, n)| match class {
                0 => format!("other: {n}"),
                5 => format!("5xx+: {n}"),
                _ => format!("{class}xx: {n}"),
            })
            .collect();
        if !classes.is_empty() {
            writeln!(f, "  status:   {}", classes.join(", "))?;
        }
        if !self.by_kind.is_empty() {
            let kinds: Vec<String> = self
                .by_kind
                .iter()
                .map(|(kind, n)| format!("{kind}: {n}"))
                .collect();
            writeln!(f, "  failures: {}", kinds.join(", "))?;
        }
        if self.parked > 0 {
            writeln!(
                f,
                "  parked:   {} retries for later, waiting in the queue",
                self.parked
            )?;
        }

        writeln!(
            f,
            "  received: {} of bodies ({}/s)",
            HumanBytes(self.bytes),
            HumanBytes((self.bytes as f64 / elapsed.as_secs_f64().max(1e-9)) as u64)
        )?;
        write!(
            f,
            "  latency:  p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms",
            self.percentile_ms(0.50),
            self.percentile_ms(0.90),
            self.percentile_ms(0.99)
        )?;
        for (origin, paused) in &self.paused {
            write!(
                f,
                "\n  paused:   {origin}, {} time{} for {:.1} s{}",
                paused.times,
                if paused.times == 1 { "" } else { "s" },
                paused.total.as_secs_f64(),
                if paused.refused {
                    " (longer than --max-pause: its jobs failed as `paused`)"
                } else {
                    ""
                }
            )?;
        }
        for (origin, broken) in &self.broken {
            write!(
                f,
                "\n  broken:   {origin}, its breaker opened {} time{}{}",
                broken.opened,
                if broken.opened == 1 { "" } else { "s" },
                if broken.given_up {
                    " (given up after --breaker-give-up: its jobs failed as `broken`)"
                } else {
                    ""
                }
            )?;
        }
        match &self.stopped {
            Some(stopped) => write!(f, "\n{stopped}"),
            None => Ok(()),
        }
    }
}
