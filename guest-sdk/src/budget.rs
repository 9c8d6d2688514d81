//! The plugin's retry budget: a token bucket the host keeps for all of the
//! plugin's instances, on every worker, so that a retry policy can limit
//! its retries across the whole run (each instance alone sees only its
//! worker's share).
//!
//! Declare it in [`crate::Plugin::retry_interest`]; [`spend`] a token for
//! each retry the plugin grants, and answer [`crate::Decision::Done`] when
//! there is none. The host refills it as jobs end. Off `wasm32`,
//! [`crate::testing::run`] sets up the same bucket for the test's thread,
//! and [`crate::testing::job_ended`] refills it.
//!
//! ```
//! use guest_sdk::{Plugin, RetryBudget, RetryInterest, budget, testing};
//!
//! #[derive(Default)]
//! struct Thrifty;
//!
//! #[guest_sdk::plugin]
//! impl Plugin for Thrifty {
//!     fn retry_interest(&self) -> RetryInterest {
//!         let budget = RetryBudget { capacity: 1, refill: 500 };
//!         RetryInterest { budget: Some(budget), ..RetryInterest::default() }
//!     }
//! }
//!
//! let _plugin = testing::run::<Thrifty>().unwrap();
//! assert!(budget::spend(), "the bucket starts full");
//! assert!(!budget::spend(), "and holds one token");
//! testing::job_ended();
//! testing::job_ended();
//! assert!(budget::spend(), "two jobs ended: half a token each");
//! ```

/// Takes one token from the budget: `true` if the retry fits it. Always
/// `true` for a plugin that declared no budget.
pub fn spend() -> bool {
    crate::host::budget_spend()
}
