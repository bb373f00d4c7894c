//! Deadlines without a clock: one table of timers, indexed by [`Timer`]. The
//! connection arms and stops them as events happen; the caller learns the earliest
//! deadline from [`Connection::poll_timeout`](crate::Connection::poll_timeout) and
//! reports that it passed with
//! [`Connection::handle_timeout`](crate::Connection::handle_timeout).

use core::fmt;

use crate::time::Timestamp;

/// Why a connection gave up waiting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[non_exhaustive]
pub enum Timeout {
    /// The opening handshake did not finish within `handshake_timeout`.
    Handshake,
    /// Nothing arrived within `pong_timeout` of a keepalive ping.
    Pong,
    /// No data frame arrived whole for `idle_timeout`.
    Idle,
    /// Output waited `write_timeout` without any of it being written: the peer stopped
    /// reading.
    Write,
    /// The peer did not answer our close frame, or did not end the transport after
    /// the closing handshake, within `close_timeout`.
    Close,
}

impl fmt::Display for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Timeout::Handshake => "opening handshake",
            Timeout::Pong => "no answer to a keepalive ping",
            Timeout::Idle => "idle connection",
            Timeout::Write => "the peer stopped reading",
            Timeout::Close => "closing handshake",
        })
    }
}

/// The connection's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Timer {
    /// The opening handshake must finish by then.
    Handshake = 0,
    /// The closing handshake (or, after it, the peer's end of stream) must come by
    /// then.
    Close = 1,
    /// Output has waited since `write_timeout` ago with nothing written: fail.
    Write = 2,
    /// No data frame received since `idle_timeout` ago: fail.
    Idle = 3,
    /// A keepalive ping went unanswered: fail.
    Pong = 4,
    /// Nothing received since `ping_interval` ago: send a keepalive ping.
    Keepalive = 5,
}

impl Timer {
    /// In the order they are handled when several expire at once: the ones that end
    /// the connection first, the keepalive ping last.
    pub(crate) const ALL: [Timer; 6] = [
        Timer::Handshake,
        Timer::Close,
        Timer::Write,
        Timer::Idle,
        Timer::Pong,
        Timer::Keepalive,
    ];
}

/// Deadlines by timer; `None` is disarmed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TimerTable([Option<Timestamp>; Timer::ALL.len()]);

impl TimerTable {
    #[cfg(test)]
    pub(crate) fn set(&mut self, timer: Timer, at: Timestamp) {
        self.0[timer as usize] = Some(at);
    }

    /// Arms `timer` at `now + after`, or disarms it when the setting is off. A zero
    /// duration counts as off (a deadline that is always due would fire forever),
    /// and one too far away to represent never fires.
    pub(crate) fn set_after(
        &mut self,
        timer: Timer,
        now: Timestamp,
        after: Option<core::time::Duration>,
    ) {
        self.0[timer as usize] = after
            .filter(|d| !d.is_zero())
            .and_then(|d| now.checked_add(d));
    }

    pub(crate) fn stop(&mut self, timer: Timer) {
        self.0[timer as usize] = None;
    }

    pub(crate) fn get(&self, timer: Timer) -> Option<Timestamp> {
        self.0[timer as usize]
    }

    pub(crate) fn stop_all(&mut self) {
        self.0 = [None; Timer::ALL.len()];
    }

    /// The earliest armed deadline.
    pub(crate) fn next(&self) -> Option<Timestamp> {
        self.0.iter().flatten().min().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::time::Duration;

    #[test]
    fn next_is_the_minimum_of_armed_deadlines() {
        let mut t = TimerTable::default();
        assert_eq!(t.next(), None);
        t.set(Timer::Keepalive, Timestamp::from_secs(30));
        t.set(Timer::Close, Timestamp::from_secs(10));
        t.set_after(
            Timer::Idle,
            Timestamp::from_secs(5),
            Some(Duration::from_secs(20)),
        );
        assert_eq!(t.next(), Some(Timestamp::from_secs(10)));
        t.stop(Timer::Close);
        assert_eq!(t.next(), Some(Timestamp::from_secs(25)));
        t.set_after(Timer::Idle, Timestamp::ZERO, None);
        assert_eq!(t.next(), Some(Timestamp::from_secs(30)));
        // Zero means off; a deadline past the end of time never fires.
        t.set_after(Timer::Idle, Timestamp::from_secs(1), Some(Duration::ZERO));
        assert_eq!(t.get(Timer::Idle), None);
        t.set_after(
            Timer::Idle,
            Timestamp::from_duration(Duration::MAX),
            Some(Duration::from_secs(1)),
        );
        assert_eq!(t.get(Timer::Idle), None);
        t.stop_all();
        assert_eq!(t.next(), None);
    }
}
