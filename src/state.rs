//! The connection lifecycle (RFC 6455 §4, §7): every transition lives here.
//!
//! ```text
//!              handshake ok                local close
//! CONNECTING ─────────────────▶ OPEN ─────────────────────▶ CLOSING (close sent)
//!     │                           │                             │
//!     │ handshake failed,         │ peer's close (echoed),      │ peer's close,
//!     │ EOF, timeout              │ failure, EOF, timeout       │ failure, EOF, timeout
//!     ▼                           ▼                             ▼
//!   CLOSED ◀──────────────────────┴─────────────────────────────┘
//! ```
//!
//! What the transport should do follows from the phase and whether the peer has ended
//! its stream; see [`TransportAction`].

use crate::Role;

/// The connection's ready state, as in the browser API's `readyState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// The opening handshake is in progress.
    Connecting,
    /// Messages flow both ways.
    Open,
    /// Our close frame is queued or sent; waiting for the peer's. Messages that arrive
    /// meanwhile are still delivered; nothing new can be sent.
    Closing,
    /// The closing handshake completed or the connection failed. Nothing more is read
    /// or queued; see [`Connection::transport`](crate::Connection::transport) for what
    /// to do with the transport.
    Closed,
}

/// What the caller should do with the transport (TCP stream, TLS session, ...).
///
/// In every case other than `Keep`, first write out what
/// [`Connection::transmit`](crate::Connection::transmit) still holds: it may end with a
/// close frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransportAction {
    /// Keep reading and writing.
    Keep,
    /// The server side of a completed closing handshake (§7.1.1: "the server SHOULD
    /// close the underlying TCP connection first"): write out pending output, shut down
    /// the write half (TCP FIN), then read and discard until end of stream (and pass it
    /// to [`handle_eof`](crate::Connection::handle_eof)) or the close timeout, then
    /// close. Draining first avoids a TCP reset that could destroy the close frame.
    Shutdown,
    /// The client side of a completed closing handshake (§7.1.1: the client "SHOULD
    /// wait for the server to close the connection"): write out pending output, then
    /// read until end of stream or the close timeout, then close.
    AwaitEof,
    /// Write out pending output if the transport still takes it, then close now.
    Close,
}

/// The internal phase: [`State`] plus what the public view folds together.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    Connecting,
    Open,
    /// Our close frame is queued; the peer's has not arrived.
    CloseSent,
    /// Finished. `clean` when both close frames were exchanged.
    Closed {
        clean: bool,
    },
}

/// The lifecycle of one connection.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Lifecycle {
    role: Role,
    phase: Phase,
    /// The peer ended its stream (or we decided to stop reading it for good).
    eof: bool,
}

impl Lifecycle {
    pub(crate) const fn new(role: Role, phase: Phase) -> Lifecycle {
        Lifecycle {
            role,
            phase,
            eof: false,
        }
    }

    pub(crate) const fn phase(&self) -> Phase {
        self.phase
    }

    pub(crate) const fn state(&self) -> State {
        match self.phase {
            Phase::Connecting => State::Connecting,
            Phase::Open => State::Open,
            Phase::CloseSent => State::Closing,
            Phase::Closed { .. } => State::Closed,
        }
    }

    /// Whether received bytes are still parsed as frames: in OPEN, and in CLOSING
    /// where the peer may still send messages before its close (§7.1.2).
    pub(crate) const fn reads_frames(&self) -> bool {
        matches!(self.phase, Phase::Open | Phase::CloseSent)
    }

    /// Whether data frames and pings may be queued: only before our close frame
    /// (§5.5.1: no data frames after a close frame).
    pub(crate) const fn may_send(&self) -> bool {
        matches!(self.phase, Phase::Open)
    }

    /// CONNECTING → OPEN when the opening handshake succeeds.
    pub(crate) fn opened(&mut self) {
        if self.phase == Phase::Connecting {
            self.phase = Phase::Open;
        }
    }

    /// OPEN → CLOSING when we queue our close frame.
    pub(crate) fn close_sent(&mut self) {
        if self.phase == Phase::Open {
            self.phase = Phase::CloseSent;
        }
    }

    /// The peer's close frame arrived. From OPEN the caller echoes it and the closing
    /// handshake is complete; from CLOSING it answers ours. Either way: CLOSED, clean.
    pub(crate) fn close_received(&mut self) {
        if self.reads_frames() {
            self.phase = Phase::Closed { clean: true };
        }
    }

    /// The connection failed (§7.1.7): protocol error, handshake failure, timeout.
    /// Returns whether this call ended it (false if it was already closed).
    pub(crate) fn fail(&mut self) -> bool {
        if matches!(self.phase, Phase::Closed { .. }) {
            return false;
        }
        self.phase = Phase::Closed { clean: false };
        true
    }

    /// Stops waiting for the peer's end of stream after a clean close (the close
    /// timeout passed): the transport can be closed now.
    pub(crate) fn stop_waiting(&mut self) {
        self.eof = true;
    }

    /// The peer ended its stream. Returns whether that ended the connection
    /// abnormally (§7.1.5: code 1006), which is the case unless it was closed already.
    pub(crate) fn eof(&mut self) -> bool {
        self.eof = true;
        self.fail()
    }

    pub(crate) const fn transport(&self) -> TransportAction {
        match self.phase {
            Phase::Closed { clean: true } if !self.eof => match self.role {
                Role::Server => TransportAction::Shutdown,
                Role::Client => TransportAction::AwaitEof,
            },
            Phase::Closed { .. } => TransportAction::Close,
            _ => TransportAction::Keep,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_close_asks_the_server_to_close_first() {
        for (role, action) in [
            (Role::Server, TransportAction::Shutdown),
            (Role::Client, TransportAction::AwaitEof),
        ] {
            let mut l = Lifecycle::new(role, Phase::Open);
            l.close_sent();
            assert_eq!(l.state(), State::Closing);
            assert_eq!(l.transport(), TransportAction::Keep);
            l.close_received();
            assert_eq!(l.state(), State::Closed);
            assert_eq!(l.transport(), action);
            assert!(!l.eof(), "EOF after a clean close is not abnormal");
            assert_eq!(l.transport(), TransportAction::Close);
        }
    }

    #[test]
    fn eof_while_open_is_abnormal_and_final() {
        let mut l = Lifecycle::new(Role::Client, Phase::Open);
        assert!(l.eof());
        assert_eq!(l.phase(), Phase::Closed { clean: false });
        assert_eq!(l.transport(), TransportAction::Close);
        l.close_received();
        assert_eq!(l.state(), State::Closed);
    }

    #[test]
    fn states_never_go_backwards() {
        let mut l = Lifecycle::new(Role::Server, Phase::Connecting);
        l.close_sent(); // not possible before OPEN
        l.close_received();
        assert_eq!(l.state(), State::Connecting);
        l.opened();
        l.close_sent();
        l.opened();
        assert_eq!(l.state(), State::Closing);
        assert!(l.fail());
        assert!(!l.fail());
        assert_eq!(l.state(), State::Closed);
    }
}
