//! Retry budgets: how a retry policy limits its retries across a whole run.
//!
//! Every worker has its own instance of a plugin, and instances share
//! nothing, so no plugin can count what the other workers retry. The host
//! owns the one thing they must share: a token bucket per plugin, in the
//! manner of gRPC's retry throttling. The policy stays in the plugin, which
//! spends a token for each retry it grants (`host.budget-spend`); the host
//! refills the bucket as jobs end.

use std::sync::atomic::{AtomicU64, Ordering};

/// Thousandths of a token per token.
const MILLI: u64 = 1000;

/// A token bucket shared by every instance of one hook, on every worker.
#[derive(Debug)]
pub struct RetryBudget {
    /// Thousandths of a token in the bucket.
    tokens: AtomicU64,
    /// The most thousandths the bucket holds.
    capacity: u64,
    /// Thousandths earned by every job that ends.
    refill: u64,
}

impl RetryBudget {
    /// A full bucket of `capacity` tokens that earns `refill` thousandths of
    /// a token for every job that ends.
    pub fn new(capacity: u32, refill: u32) -> RetryBudget {
        let capacity = u64::from(capacity) * MILLI;
        RetryBudget {
            tokens: AtomicU64::new(capacity),
            capacity,
            refill: u64::from(refill),
        }
    }

    /// Takes one token if there is one: whether a retry fits the budget.
    pub fn spend(&self) -> bool {
        self.tokens
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |tokens| {
                tokens.checked_sub(MILLI)
            })
            .is_ok()
    }

    /// A job ended: earns the refill, up to the capacity.
    pub fn credit(&self) {
        if self.refill == 0 {
            return;
        }
        let _ = self
            .tokens
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |tokens| {
                (tokens < self.capacity).then(|| (tokens + self.refill).min(self.capacity))
            });
    }

    /// Whole tokens left, for logs and tests.
    pub fn tokens(&self) -> u64 {
        self.tokens.load(Ordering::Acquire) / MILLI
    }
}

/// `10 tokens, 0.2 per job`.
impl std::fmt::Display for RetryBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let per_job = self.refill as f64 / MILLI as f64;
        write!(f, "{} tokens, {per_job} per job", self.capacity / MILLI)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_full_and_spends_whole_tokens() {
        let budget = RetryBudget::new(2, 0);
        assert!(budget.spend());
        assert!(budget.spend());
        assert!(!budget.spend(), "empty");
        budget.credit();
        assert!(!budget.spend(), "no refill");
    }

    #[test]
    fn refills_in_thousandths_up_to_the_capacity() {
        let budget = RetryBudget::new(1, 250);
        assert!(budget.spend());
        for _ in 0..3 {
            budget.credit();
        }
        assert!(!budget.spend(), "three quarters of a token");
        budget.credit();
        assert!(budget.spend(), "four jobs earn one retry");
        for _ in 0..100 {
            budget.credit();
        }
        assert_eq!(budget.tokens(), 1, "never above the capacity");
    }

    #[test]
    fn workers_never_overspend() {
        let budget = std::sync::Arc::new(RetryBudget::new(100, 0));
        let granted: usize = (0..8)
            .map(|_| {
                let budget = std::sync::Arc::clone(&budget);
                std::thread::spawn(move || (0..50).filter(|_| budget.spend()).count())
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|worker| worker.join().unwrap())
            .sum();
        assert_eq!(granted, 100);
    }
}
