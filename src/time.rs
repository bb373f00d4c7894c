//! Time as an input. The connection never reads a clock: every call that can start,
//! stop or fire a deadline takes `now`, a [`Timestamp`] on a monotonic clock of the
//! caller's choosing. With `std`, [`Clock`] maps `std::time::Instant` to timestamps
//! and back.

use core::ops::Add;
use core::time::Duration;

/// A point on the caller's monotonic clock, as the time elapsed since an origin the
/// caller picks (process start, connection start, `Instant` of some event...).
///
/// Timestamps passed to one connection must never go backwards; a smaller one is
/// treated as equal to the largest seen so far.
///
/// ```
/// use core::time::Duration;
/// use wsmachine::Timestamp;
/// let t = Timestamp::from_secs(5);
/// assert_eq!(t + Duration::from_millis(500), Timestamp::from_millis(5_500));
/// assert_eq!(Timestamp::from_secs(7).saturating_duration_since(t), Duration::from_secs(2));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Timestamp(Duration);

impl Timestamp {
    /// The origin.
    pub const ZERO: Timestamp = Timestamp(Duration::ZERO);

    /// The timestamp `elapsed` after the origin.
    pub const fn from_duration(elapsed: Duration) -> Timestamp {
        Timestamp(elapsed)
    }

    /// The timestamp `ms` milliseconds after the origin.
    pub const fn from_millis(ms: u64) -> Timestamp {
        Timestamp(Duration::from_millis(ms))
    }

    /// The timestamp `secs` seconds after the origin.
    pub const fn from_secs(secs: u64) -> Timestamp {
        Timestamp(Duration::from_secs(secs))
    }

    /// Time since the origin.
    pub const fn as_duration(self) -> Duration {
        self.0
    }

    /// `self - earlier`, or zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Timestamp) -> Duration {
        self.0.saturating_sub(earlier.0)
    }

    /// `self + d`, or `None` past the largest representable time.
    pub fn checked_add(self, d: Duration) -> Option<Timestamp> {
        self.0.checked_add(d).map(Timestamp)
    }

    /// `self + d`, saturating at the largest representable time.
    pub fn saturating_add(self, d: Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(d))
    }
}

impl Add<Duration> for Timestamp {
    type Output = Timestamp;

    /// Saturating addition: a deadline too far away to represent never fires.
    fn add(self, d: Duration) -> Timestamp {
        self.saturating_add(d)
    }
}

impl From<Duration> for Timestamp {
    fn from(elapsed: Duration) -> Self {
        Timestamp(elapsed)
    }
}

/// A monotonic clock for timestamps (feature `std`): time since the instant it was
/// made, and back to `Instant` for a runtime's timers.
///
/// ```
/// use std::time::{Duration, Instant};
/// use wsmachine::{Clock, Timestamp};
/// let clock = Clock::new();
/// let later = clock.origin() + Duration::from_secs(3);
/// assert_eq!(clock.timestamp(later), Timestamp::from_secs(3));
/// assert_eq!(clock.instant(Timestamp::from_secs(3)), later);
/// assert!(clock.now() >= Timestamp::ZERO);
/// ```
#[cfg(feature = "std")]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Clock {
    origin: std::time::Instant,
}

#[cfg(feature = "std")]
impl Clock {
    /// A clock whose origin is this instant.
    pub fn new() -> Clock {
        Clock::starting_at(std::time::Instant::now())
    }

    /// A clock whose origin is `origin`.
    pub const fn starting_at(origin: std::time::Instant) -> Clock {
        Clock { origin }
    }

    /// The origin.
    pub const fn origin(&self) -> std::time::Instant {
        self.origin
    }

    /// The current time.
    pub fn now(&self) -> Timestamp {
        self.timestamp(std::time::Instant::now())
    }

    /// The timestamp of `instant` (zero for an instant before the origin).
    pub fn timestamp(&self, instant: std::time::Instant) -> Timestamp {
        Timestamp(instant.saturating_duration_since(self.origin))
    }

    /// The instant of `timestamp`, for a timer (say, the deadline from
    /// [`Connection::poll_timeout`](crate::Connection::poll_timeout)). Saturates far
    /// in the future, where `Instant` can no longer count.
    pub fn instant(&self, timestamp: Timestamp) -> std::time::Instant {
        let mut d = timestamp.0;
        // Instant + Duration panics on overflow: halve until it fits.
        loop {
            if let Some(at) = self.origin.checked_add(d) {
                return at;
            }
            d /= 2;
        }
    }
}

#[cfg(feature = "std")]
impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}
