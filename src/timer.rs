//! Deadlines without a clock: one table of timers, indexed by [`Timer`]. The
//! connection arms and stops them as events happen; the caller learns the earliest
//! deadline from [`Connection::poll_timeout`](crate::Connection::poll_timeout) and
//! reports that it passed with
//! [`Connection::handle_timeout`](crate::Connection::handle_timeout).

use core::fmt;
use core::time::Duration;

use bytes::Bytes;

use crate::config::Config;
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

/// What a lifecycle transition does to the timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Timers {
    /// OPEN: the handshake deadline stops; the keepalive and idle deadlines start.
    Open,
    /// Only the close deadline runs from now: the wait for the peer's close frame, or
    /// after the closing handshake for the end of its stream.
    CloseOnly,
    /// Every deadline stops.
    StopAll,
}

/// Every deadline of a connection and what moves them: the lifecycle's
/// transitions ([`Timers`]), bytes and frames from the peer, the keepalive pings and
/// their pongs, and output waiting to be written.
#[derive(Clone, Debug, Default)]
// In this order: what a send and a write touch first (see `Connection`).
#[repr(C)]
pub(crate) struct Deadlines {
    /// Since when output has waited with nothing written, once a `now` has told (see
    /// [`output_waits`](Self::output_waits)).
    write_since: Option<Timestamp>,
    table: TimerTable,
    /// Keepalive pings sent (the next one's payload).
    pings_sent: u64,
    /// Our most recent ping and when it was sent, to time its pong.
    last_ping: Option<(Bytes, Timestamp)>,
    rtt: Option<Duration>,
}

impl Deadlines {
    /// The earliest armed deadline.
    pub(crate) fn next(&self) -> Option<Timestamp> {
        self.table.next()
    }

    /// Whether `timer` is due at `now`; if so it is disarmed.
    pub(crate) fn take_due(&mut self, timer: Timer, now: Timestamp) -> bool {
        let due = self.table.get(timer).is_some_and(|at| at <= now);
        if due {
            self.table.stop(timer);
        }
        due
    }

    /// The round-trip time of the last ping answered.
    pub(crate) fn rtt(&self) -> Option<Duration> {
        self.rtt
    }

    fn start(&mut self, timer: Timer, now: Timestamp, config: &Config) {
        let after = match timer {
            Timer::Handshake => config.handshake_timeout,
            Timer::Close => config.close_timeout,
            Timer::Write => config.write_timeout,
            Timer::Idle => config.idle_timeout,
            Timer::Pong => config.effective_pong_timeout(),
            Timer::Keepalive => config.ping_interval,
        };
        self.table.set_after(timer, now, after);
    }

    /// Applies what a lifecycle transition asks of the timers.
    pub(crate) fn apply(&mut self, timers: Timers, now: Timestamp, config: &Config) {
        match timers {
            Timers::Open => {
                self.table.stop(Timer::Handshake);
                self.start(Timer::Keepalive, now, config);
                self.start(Timer::Idle, now, config);
            }
            Timers::CloseOnly => {
                self.table.stop_all();
                self.start(Timer::Close, now, config);
            }
            Timers::StopAll => self.table.stop_all(),
        }
    }

    /// A new connection: CONNECTING has the handshake deadline, OPEN the heartbeat.
    pub(crate) fn begin(&mut self, connecting: bool, now: Timestamp, config: &Config) {
        if connecting {
            self.start(Timer::Handshake, now, config);
        } else {
            self.apply(Timers::Open, now, config);
        }
    }

    /// Bytes arrived from an OPEN peer: it is alive. The keepalive deadline moves
    /// forward and a pending pong deadline is met.
    pub(crate) fn peer_alive(&mut self, now: Timestamp, config: &Config) {
        self.start(Timer::Keepalive, now, config);
        self.table.stop(Timer::Pong);
    }

    /// A data frame arrived whole from an OPEN peer: the connection is not idle.
    /// Partial frames and control frames do not count, so neither a trickle of bytes
    /// nor keepalive traffic alone keeps a connection open.
    pub(crate) fn not_idle(&mut self, now: Timestamp, config: &Config) {
        self.start(Timer::Idle, now, config);
    }

    /// The keepalive deadline passed: the payload for the ping to send (a count of
    /// the pings sent). The next keepalive deadline starts, and the pong deadline if
    /// it is not running: even a ping the output had no room for starts it, as a
    /// peer that reads nothing is as dead as one that answers nothing.
    pub(crate) fn keepalive(&mut self, now: Timestamp, config: &Config) -> Bytes {
        self.start(Timer::Keepalive, now, config);
        if self.table.get(Timer::Pong).is_none() {
            self.start(Timer::Pong, now, config);
        }
        Bytes::copy_from_slice(&self.pings_sent.to_be_bytes())
    }

    /// A ping of ours was queued (a keepalive one, or the application's).
    pub(crate) fn ping_sent(&mut self, payload: Bytes, now: Timestamp, keepalive: bool) {
        self.pings_sent += u64::from(keepalive);
        self.last_ping = Some((payload, now));
    }

    /// A pong arrived: if it answers our most recent ping, it times the round trip.
    pub(crate) fn pong(&mut self, payload: &[u8], now: Timestamp) {
        if let Some((sent, at)) = &self.last_ping
            && sent[..] == *payload
        {
            self.rtt = Some(now.saturating_duration_since(*at));
            self.last_ping = None;
        }
    }

    /// Keeps the write deadline in step with the output, after every call that can
    /// queue output: `waiting` says whether any does. The deadline runs from when a
    /// `now` first saw the output waiting: `fresh` says the call that queued it
    /// passed `now` (so `now` is when it started waiting); otherwise the deadline is
    /// provisional and the next `now` settles it ([`write_deadline`](Self::write_deadline)),
    /// so that it never fires early.
    pub(crate) fn output_waits(
        &mut self,
        waiting: bool,
        fresh: bool,
        now: Timestamp,
        config: &Config,
    ) {
        if !waiting {
            self.table.stop(Timer::Write);
            self.write_since = None;
            return;
        }
        if fresh && self.write_since.is_none() {
            self.write_since = Some(now);
        }
        if self.table.get(Timer::Write).is_none() {
            let since = self.write_since.unwrap_or(now);
            self.start(Timer::Write, since, config);
        }
    }

    /// Some output was written: the write deadline starts again.
    pub(crate) fn output_written(&mut self) {
        self.write_since = None;
        self.table.stop(Timer::Write);
    }

    /// The write deadline passed: whether output has waited the whole write timeout
    /// since a `now` first saw it waiting (the connection fails); if not, the rest of
    /// the wait is armed.
    pub(crate) fn write_deadline(&mut self, now: Timestamp, config: &Config) -> bool {
        let timeout = config.write_timeout.filter(|d| !d.is_zero());
        match self.write_since {
            Some(since)
                if timeout
                    .and_then(|d| since.checked_add(d))
                    .is_some_and(|at| at <= now) =>
            {
                true
            }
            since => {
                let since = since.unwrap_or(now);
                self.write_since = Some(since);
                self.start(Timer::Write, since, config);
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
