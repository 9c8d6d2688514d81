//! The memory plugins may take: a cap per instance (its manifest's) and one
//! budget for every instance of every plugin of a run together, so that a
//! plugin within its cap in each instance still cannot take the host's
//! memory across a thousand workers.
//!
//! The budget counts what instances grow their memories by once they are
//! made (`memory.grow`, how a plugin's allocator takes memory), not the
//! size a memory is made with: that is mapped copy-on-write from the
//! compiled image and costs only the pages a call writes (a Rust plugin's
//! 1.1 MiB of stack and data is about 20 KiB resident), and counting it
//! would spend a 1 GiB budget on 1,000 workers' two plugins before any of
//! them held a byte. The cap bounds that size in each instance.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};

/// The budget of all plugin instances of a run together, when none is set:
/// 1 GiB.
pub const DEFAULT_MEMORY_TOTAL: usize = 1 << 30;

/// The linear memory all instances of a run's plugins hold, and the most
/// they may hold together. Shared by the run's [`super::PluginRuntime`].
#[derive(Debug)]
pub(crate) struct MemoryBudget {
    limit: AtomicUsize,
    held: AtomicUsize,
}

impl MemoryBudget {
    pub fn new(limit: usize) -> MemoryBudget {
        MemoryBudget {
            limit: AtomicUsize::new(limit),
            held: AtomicUsize::new(0),
        }
    }

    pub fn set_limit(&self, limit: usize) {
        self.limit.store(limit, Ordering::Relaxed);
    }

    pub fn limit(&self) -> usize {
        self.limit.load(Ordering::Relaxed)
    }

    /// Takes `bytes` from the budget, unless that would pass its limit.
    fn take(&self, bytes: usize) -> bool {
        let limit = self.limit();
        self.held
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |held| {
                held.checked_add(bytes).filter(|&total| total <= limit)
            })
            .is_ok()
    }

    fn give_back(&self, bytes: usize) {
        self.held.fetch_sub(bytes, Ordering::Relaxed);
    }
}

/// Why a plugin's memory could not grow: the run-wide budget is spent.
/// The trap it causes is described with the budget and its flag.
#[derive(Debug, thiserror::Error)]
#[error(
    "the plugin instances of this run together reached their memory budget of {} MiB \
     (--plugin-memory-total)",
    limit >> 20
)]
pub(crate) struct OverBudget {
    pub limit: usize,
}

/// One instance's limits: its own cap (wasmtime's [`StoreLimits`], which
/// traps past it), and its share of the run's budget, given back when the
/// instance is dropped.
pub(crate) struct InstanceMemory {
    limits: StoreLimits,
    budget: Arc<MemoryBudget>,
    /// What this instance has taken from the budget.
    held: usize,
    /// Whether the instance is being made: the memories it makes then are
    /// not counted (see the module's doc).
    instantiating: bool,
}

impl InstanceMemory {
    pub fn new(cap: usize, budget: Arc<MemoryBudget>) -> InstanceMemory {
        InstanceMemory {
            limits: StoreLimitsBuilder::new()
                .memory_size(cap)
                .trap_on_grow_failure(true)
                .build(),
            budget,
            held: 0,
            instantiating: false,
        }
    }

    /// Says whether the instance is being made, so that the memories made
    /// with it are held to the cap only, not to the budget.
    pub fn instantiating(&mut self, yes: bool) {
        self.instantiating = yes;
    }
}

impl Drop for InstanceMemory {
    fn drop(&mut self) {
        self.budget.give_back(self.held);
    }
}

impl ResourceLimiter for InstanceMemory {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if !self.limits.memory_growing(current, desired, maximum)? {
            return Ok(false);
        }
        if self.instantiating && current == 0 {
            return Ok(true);
        }
        let more = desired.saturating_sub(current);
        if !self.budget.take(more) {
            return Err(OverBudget {
                limit: self.budget.limit(),
            }
            .into());
        }
        self.held += more;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instances_share_the_budget_and_give_it_back_when_dropped() {
        let budget = Arc::new(MemoryBudget::new(10 << 20));
        let mut first = InstanceMemory::new(8 << 20, Arc::clone(&budget));
        let mut second = InstanceMemory::new(8 << 20, Arc::clone(&budget));
        assert!(first.memory_growing(0, 6 << 20, None).unwrap());
        let over = second.memory_growing(0, 6 << 20, None).unwrap_err();
        assert!(over.to_string().contains("--plugin-memory-total"), "{over}");
        assert!(second.memory_growing(0, 4 << 20, None).unwrap());
        drop(first);
        assert!(second.memory_growing(4 << 20, 8 << 20, None).unwrap());
        let capped = second.memory_growing(8 << 20, 9 << 20, None).unwrap_err();
        assert!(capped.to_string().contains("growing memory"), "{capped}");
    }

    #[test]
    fn memories_made_with_an_instance_are_held_to_the_cap_only() {
        let budget = Arc::new(MemoryBudget::new(1 << 20));
        let mut memory = InstanceMemory::new(8 << 20, Arc::clone(&budget));
        memory.instantiating(true);
        assert!(memory.memory_growing(0, 4 << 20, None).unwrap());
        assert!(memory.memory_growing(0, 9 << 20, None).is_err());
        memory.instantiating(false);
        assert!(memory.memory_growing(0, 1 << 20, None).unwrap());
        assert!(memory.memory_growing(1 << 20, 2 << 20, None).is_err());
    }
}
