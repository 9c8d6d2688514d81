//! How long to wait before the next attempt: exponential backoff with
//! jitter, capped, and the wait a server asks for with `Retry-After`.
//!
//! Jitter spreads retries out so that workers that failed together do not
//! retry together (see "Exponential Backoff And Jitter", AWS Architecture
//! Blog, 2015): *full* jitter waits anywhere from 0 to the exponential
//! ceiling, *equal* jitter waits at least half of it.
//!
//! ```
//! use guest_sdk::backoff::{Backoff, Jitter};
//!
//! let backoff = Backoff { base_ms: 100, max_ms: 1_000, jitter: Jitter::Full };
//! assert_eq!(backoff.ceiling_ms(1), 100);
//! assert_eq!(backoff.ceiling_ms(3), 400);
//! assert_eq!(backoff.ceiling_ms(30), 1_000);
//! assert!(backoff.delay_ms(3) <= 400);
//! ```

use std::str::FromStr;
use std::time::SystemTime;

use crate::random_up_to;

/// How much of the exponential ceiling a wait is randomised over.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Jitter {
    /// Exactly the ceiling.
    None,
    /// Anywhere in `0..=ceiling`: spreads retries the most.
    #[default]
    Full,
    /// Anywhere in `ceiling/2..=ceiling`: never retries at once.
    Equal,
}

/// `none`, `full` or `equal`, any case: for a config key.
impl FromStr for Jitter {
    type Err = String;

    fn from_str(text: &str) -> Result<Jitter, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "none" => Ok(Jitter::None),
            "full" => Ok(Jitter::Full),
            "equal" => Ok(Jitter::Equal),
            _ => Err("expected none, full or equal".to_owned()),
        }
    }
}

/// Exponential backoff: the ceiling doubles with each attempt from
/// `base_ms`, up to `max_ms`, and the wait is drawn under it by `jitter`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The ceiling after the first attempt, in milliseconds.
    pub base_ms: u64,
    /// The largest ceiling, in milliseconds.
    pub max_ms: u64,
    /// How the wait is drawn under the ceiling.
    pub jitter: Jitter,
}

impl Backoff {
    /// The ceiling after attempt `number` (1 for the first):
    /// `min(max_ms, base_ms * 2^(number - 1))`, without overflow.
    pub fn ceiling_ms(&self, number: u32) -> u64 {
        let growth = 1u64
            .checked_shl(number.saturating_sub(1))
            .unwrap_or(u64::MAX);
        self.base_ms.saturating_mul(growth).min(self.max_ms)
    }

    /// A wait after attempt `number`, drawn under [`ceiling_ms`](Self::ceiling_ms)
    /// by the jitter.
    pub fn delay_ms(&self, number: u32) -> u64 {
        let ceiling = self.ceiling_ms(number);
        match self.jitter {
            Jitter::None => ceiling,
            Jitter::Full => random_up_to(ceiling),
            Jitter::Equal => ceiling - ceiling / 2 + random_up_to(ceiling / 2),
        }
    }
}

/// The wait, in milliseconds, that a `Retry-After` value asks for: a
/// number of seconds, or an HTTP date (a date already past waits 0).
/// `None` if it cannot be read. It takes the header's value alone, so a
/// policy asks the host for that one header (`outcome.header("Retry-After")`),
/// not for them all.
///
/// ```
/// use guest_sdk::backoff::retry_after_ms;
/// assert_eq!(retry_after_ms("120", guest_sdk::time::now()), Some(120_000));
/// ```
pub fn retry_after_ms(value: &str, now: SystemTime) -> Option<u64> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|byte| byte.is_ascii_digit()) {
        let seconds = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(seconds.saturating_mul(1000));
    }
    let date = crate::time::parse_http_date(value)?;
    let wait = date.duration_since(now).unwrap_or_default();
    Some(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// `samples` waits after attempt `number`.
    fn waits(backoff: &Backoff, number: u32, samples: usize) -> Vec<u64> {
        (0..samples).map(|_| backoff.delay_ms(number)).collect()
    }

    #[test]
    fn ceiling_doubles_then_caps_without_overflow() {
        let backoff = Backoff {
            base_ms: 100,
            max_ms: 1000,
            jitter: Jitter::None,
        };
        let ceilings: Vec<u64> = (1..=6).map(|n| backoff.ceiling_ms(n)).collect();
        assert_eq!(ceilings, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(backoff.delay_ms(2), 200, "no jitter waits the ceiling");
        let huge = Backoff {
            base_ms: u64::MAX,
            max_ms: 5,
            jitter: Jitter::Full,
        };
        assert_eq!(huge.ceiling_ms(u32::MAX), 5);
        assert_eq!(huge.ceiling_ms(0), 5);
    }

    #[test]
    fn full_jitter_spans_zero_to_the_ceiling() {
        let backoff = Backoff {
            base_ms: 100,
            max_ms: 10_000,
            jitter: Jitter::Full,
        };
        let waits = waits(&backoff, 4, 500);
        assert!(waits.iter().all(|&wait| wait <= 800));
        assert!(*waits.iter().min().unwrap() < 200);
        assert!(*waits.iter().max().unwrap() > 600);
    }

    #[test]
    fn equal_jitter_waits_at_least_half() {
        let backoff = Backoff {
            base_ms: 100,
            max_ms: 10_000,
            jitter: Jitter::Equal,
        };
        let waits = waits(&backoff, 4, 500);
        assert!(
            waits.iter().all(|&wait| (400..=800).contains(&wait)),
            "{waits:?}"
        );
        assert!(*waits.iter().min().unwrap() < 500);
        assert!(*waits.iter().max().unwrap() > 700);
    }

    #[test]
    fn jitter_names_parse() {
        assert_eq!("FULL".parse(), Ok(Jitter::Full));
        assert_eq!(" equal ".parse(), Ok(Jitter::Equal));
        assert_eq!("none".parse(), Ok(Jitter::None));
        assert!("some".parse::<Jitter>().is_err());
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let later = crate::time::http_date(now + Duration::from_secs(90));
        assert_eq!(retry_after_ms(&later, now), Some(90_000));
        let earlier = crate::time::http_date(now - Duration::from_secs(90));
        assert_eq!(retry_after_ms(&earlier, now), Some(0));
        assert_eq!(retry_after_ms(" 5 ", now), Some(5_000));
        assert_eq!(
            retry_after_ms("99999999999999999999999", now),
            Some(u64::MAX)
        );
        for unreadable in ["soon", "-5", ""] {
            assert_eq!(retry_after_ms(unreadable, now), None, "{unreadable:?}");
        }
    }
}
