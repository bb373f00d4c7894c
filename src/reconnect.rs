//! When a client may try again: exponential backoff with a cap and jitter, as a pure
//! value. The caller reports outcomes and asks for the next allowed time; nothing
//! here sleeps or reads a clock.
//!
//! ```
//! use core::time::Duration;
//! use wsmachine::{Reconnect, ReconnectPolicy, SeededEntropy, Timestamp};
//!
//! let mut policy = ReconnectPolicy::default();
//! policy.jitter_percent = 0;
//! // Seeded for a reproducible example (tests only): give real clients `OsEntropy`,
//! // so that their retries do not all land at the same moments.
//! let mut r = Reconnect::new(policy, SeededEntropy::new(1));
//! let t0 = Timestamp::ZERO;
//! assert_eq!(r.next_attempt(), Some(t0));             // the first try is immediate
//! r.attempt_failed(t0);                               // connect or handshake failed
//! assert_eq!(r.next_attempt(), Some(t0 + Duration::from_millis(500)));
//! let t1 = Timestamp::from_secs(1);
//! r.attempt_failed(t1);
//! assert_eq!(r.next_attempt(), Some(t1 + Duration::from_secs(1)));
//! ```

use alloc::boxed::Box;
use core::time::Duration;

use crate::entropy::Entropy;
use crate::time::Timestamp;

/// How a client backs off between connection attempts.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ReconnectPolicy {
    /// The delay after the first failure. Default: 500 ms.
    pub initial_delay: Duration,
    /// The delay never exceeds this. Default: 30 s.
    pub max_delay: Duration,
    /// Each failure multiplies the delay by this. Default: 2.
    pub multiplier: u32,
    /// Up to this percentage of each delay is taken off at random (from the injected
    /// entropy), so that clients dropped together do not return together. 0 turns it
    /// off; 100 is "full jitter". Default: 50.
    pub jitter_percent: u8,
    /// A connection that stays up this long resets the backoff, so the next failure
    /// starts again from `initial_delay`. Default: 60 s.
    pub reset_after: Duration,
    /// Give up after this many failed attempts in a row. Default: no limit.
    pub max_attempts: Option<u32>,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy {
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            multiplier: 2,
            jitter_percent: 50,
            reset_after: Duration::from_secs(60),
            max_attempts: None,
        }
    }
}

impl ReconnectPolicy {
    /// The delay after `failures` failures in a row, before jitter: `initial_delay ×
    /// multiplier^(failures-1)`, capped at `max_delay`.
    pub fn base_delay(&self, failures: u32) -> Duration {
        // A power that overflows u32 is far beyond any cap (unless the delay is zero).
        let delay = match self.multiplier.checked_pow(failures.saturating_sub(1)) {
            Some(factor) => self.initial_delay.saturating_mul(factor),
            None if self.initial_delay.is_zero() => Duration::ZERO,
            None => self.max_delay,
        };
        delay.min(self.max_delay)
    }
}

/// The reconnect state of one client: failures so far and the earliest time for the
/// next attempt.
pub struct Reconnect {
    policy: ReconnectPolicy,
    entropy: Box<dyn Entropy + Send>,
    /// Failed attempts since the last connection that stayed up.
    failures: u32,
    /// When the current connection opened, if one is up.
    up_since: Option<Timestamp>,
    /// The earliest next attempt; `None` after giving up.
    next: Option<Timestamp>,
}

impl core::fmt::Debug for Reconnect {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Reconnect")
            .field("policy", &self.policy)
            .field("failures", &self.failures)
            .field("up_since", &self.up_since)
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

impl Reconnect {
    /// A fresh state: the first attempt may happen at once.
    pub fn new(policy: ReconnectPolicy, entropy: impl Entropy + Send + 'static) -> Reconnect {
        Reconnect {
            policy,
            entropy: Box::new(entropy),
            failures: 0,
            up_since: None,
            next: Some(Timestamp::ZERO),
        }
    }

    /// When the next attempt may start (it may be in the past: then now), or `None`
    /// once `max_attempts` failures in a row have happened.
    pub fn next_attempt(&self) -> Option<Timestamp> {
        self.next
    }

    /// Failed attempts in a row so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// The attempt succeeded: the connection is OPEN.
    pub fn connected(&mut self, now: Timestamp) {
        self.up_since = Some(now);
    }

    /// An attempt failed (could not connect, or the handshake failed). Schedules the
    /// next one; returns when it may start, or `None` to give up.
    pub fn attempt_failed(&mut self, now: Timestamp) -> Option<Timestamp> {
        self.up_since = None;
        self.failures = self.failures.saturating_add(1);
        if self
            .policy
            .max_attempts
            .is_some_and(|max| self.failures >= max)
        {
            self.next = None;
            return None;
        }
        let delay = self.jittered(self.policy.base_delay(self.failures));
        self.next = Some(now + delay);
        self.next
    }

    /// An open connection ended. If it stayed up for `reset_after`, the backoff starts
    /// over and the next attempt may be immediate; otherwise this counts as a failure.
    pub fn disconnected(&mut self, now: Timestamp) -> Option<Timestamp> {
        let stayed_up = self
            .up_since
            .is_some_and(|since| now.saturating_duration_since(since) >= self.policy.reset_after);
        self.up_since = None;
        if stayed_up {
            self.failures = 0;
            self.next = Some(now);
            return self.next;
        }
        self.attempt_failed(now)
    }

    /// Takes a random share of up to `jitter_percent` off `delay`.
    fn jittered(&mut self, delay: Duration) -> Duration {
        let percent = u128::from(self.policy.jitter_percent.min(100));
        if percent == 0 {
            return delay;
        }
        let span = delay.as_nanos() * percent / 100;
        let mut bytes = [0u8; 8];
        // Without entropy the delay stays unjittered rather than failing.
        if self.entropy.fill(&mut bytes).is_err() || span == 0 {
            return delay;
        }
        let cut = u128::from(u64::from_le_bytes(bytes)) % (span + 1);
        let nanos = delay.as_nanos() - cut;
        Duration::new(
            (nanos / 1_000_000_000) as u64,
            (nanos % 1_000_000_000) as u32,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::SeededEntropy;

    fn no_jitter() -> ReconnectPolicy {
        ReconnectPolicy {
            jitter_percent: 0,
            ..ReconnectPolicy::default()
        }
    }

    #[test]
    fn the_sequence_doubles_up_to_the_cap() {
        let p = no_jitter();
        let got: alloc::vec::Vec<u64> = (1..=10)
            .map(|n| p.base_delay(n).as_millis() as u64)
            .collect();
        assert_eq!(
            got,
            [
                500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000
            ]
        );
        assert_eq!(p.base_delay(u32::MAX), Duration::from_secs(30));
    }

    #[test]
    fn multipliers_that_never_reach_the_cap_are_computed_not_iterated() {
        // A loop over `failures` would take billions of steps here.
        for (multiplier, expected) in [(1, 500), (0, 0)] {
            let p = ReconnectPolicy {
                multiplier,
                ..no_jitter()
            };
            assert_eq!(p.base_delay(1), Duration::from_millis(500));
            assert_eq!(p.base_delay(u32::MAX), Duration::from_millis(expected));
        }
        let p = ReconnectPolicy {
            initial_delay: Duration::ZERO,
            ..no_jitter()
        };
        assert_eq!(p.base_delay(u32::MAX), Duration::ZERO);
    }

    #[test]
    fn jitter_stays_in_range_and_varies() {
        let mut r = Reconnect::new(ReconnectPolicy::default(), SeededEntropy::new(3));
        let mut seen = alloc::collections::BTreeSet::new();
        for _ in 0..200 {
            r.failures = 3;
            let now = Timestamp::from_secs(100);
            let at = r.attempt_failed(now).unwrap();
            let delay = at.saturating_duration_since(now);
            // failures became 4: base 4 s, up to 50% off.
            assert!(delay <= Duration::from_secs(4), "{delay:?}");
            assert!(delay >= Duration::from_secs(2), "{delay:?}");
            seen.insert(delay);
        }
        assert!(
            seen.len() > 100,
            "jitter should spread delays: {}",
            seen.len()
        );
    }

    #[test]
    fn max_attempts_gives_up_and_a_long_connection_resets() {
        let mut p = no_jitter();
        p.max_attempts = Some(3);
        let mut r = Reconnect::new(p, SeededEntropy::new(1));
        let t = Timestamp::from_secs(10);
        assert!(r.attempt_failed(t).is_some());
        assert!(r.attempt_failed(t).is_some());
        assert_eq!(r.attempt_failed(t), None);
        assert_eq!(r.next_attempt(), None);

        let mut r = Reconnect::new(no_jitter(), SeededEntropy::new(1));
        r.attempt_failed(t);
        r.attempt_failed(t);
        r.connected(Timestamp::from_secs(20));
        // Up for 10 s only: counts as another failure (base 2 s).
        assert_eq!(
            r.disconnected(Timestamp::from_secs(30)),
            Some(Timestamp::from_secs(32))
        );
        r.connected(Timestamp::from_secs(40));
        // Up for 60 s: the backoff resets and the next attempt is immediate.
        assert_eq!(
            r.disconnected(Timestamp::from_secs(100)),
            Some(Timestamp::from_secs(100))
        );
        assert_eq!(r.failures(), 0);
        assert_eq!(
            r.attempt_failed(Timestamp::from_secs(101)),
            Some(Timestamp::from_millis(101_500))
        );
    }
}
