//! Random numbers without extra dependencies: std's [`RandomState`] is
//! seeded from the system's randomness (`wasi:random` in a component) and
//! gives fresh keys on every call.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

/// A random `u64`. Good for jitter and nonces, not for keys.
pub fn random_u64() -> u64 {
    RandomState::new().build_hasher().finish()
}

/// A random number in `0..=max`, spread evenly.
pub fn random_up_to(max: u64) -> u64 {
    match max.checked_add(1) {
        // Multiply-shift: maps 64 random bits onto the range with a bias
        // of at most (max + 1) / 2^64.
        Some(span) => ((u128::from(random_u64()) * u128::from(span)) >> 64) as u64,
        None => random_u64(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_differ() {
        let values: std::collections::HashSet<u64> = (0..100).map(|_| random_u64()).collect();
        assert!(values.len() > 95, "{} distinct of 100", values.len());
    }

    #[test]
    fn up_to_stays_in_range_and_covers_it() {
        let mut seen = [false; 5];
        for _ in 0..1000 {
            let value = random_up_to(4);
            assert!(value <= 4);
            seen[value as usize] = true;
        }
        assert_eq!(seen, [true; 5]);
        assert_eq!(random_up_to(0), 0);
        let _ = random_up_to(u64::MAX);
    }
}
