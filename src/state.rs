//! The connection lifecycle (RFC 6455 §4, §7). Every transition lives here, with
//! what it makes happen: which timers start or stop, what goes on the wire (a close
//! frame, an HTTP answer, nothing) and what is reported. The connection applies
//! those [`Effects`] in one place and decides nothing of its own.
//!
//! ```text
//!              handshake ok                local close
//! CONNECTING ─────────────────▶ OPEN ─────────────────────▶ CLOSING (close sent)
//!     │                           │                             │
//!     │ terminate(cause)          │ peer's close (echoed),      │ peer's close,
//!     │                           │ terminate(cause)            │ terminate(cause)
//!     ▼                           ▼                             ▼
//!   CLOSED ◀──────────────────────┴─────────────────────────────┘
//! ```
//!
//! One path ends a connection without a clean close: [`Lifecycle::terminate`], whose
//! [`Cause`] alone decides the wire answer (see [`Lifecycle::answer_for`]). What the
//! transport should do follows from the phase and whether the peer has ended its
//! stream; see [`TransportAction`].

use alloc::boxed::Box;
use alloc::string::String;

use crate::Role;
use crate::close::CloseCode;
use crate::error::{ConnectionError, ProtocolError};
use crate::event::{Closed, Event, Open};
use crate::handshake::HandshakeError;
use crate::handshake::driver::Opening;
use crate::handshake::server::Reject;
use crate::timer::{Timeout, Timers};

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

/// Why a connection ends without a clean closing handshake.
#[derive(Debug)]
pub(crate) enum Cause {
    /// The peer broke the protocol.
    Protocol(ProtocolError),
    /// The opening handshake failed.
    Handshake(HandshakeError),
    /// The server application answered the request with this rejection.
    Rejected(Reject),
    /// A deadline passed.
    Timeout(Timeout),
    /// The peer ended its stream.
    Eof,
    /// The application ended the connection: `abort`, or `close` before it was open.
    Aborted,
}

/// What goes on the wire for a transition.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Answer {
    /// A close frame.
    Close { code: CloseCode, reason: String },
    /// An HTTP response (a server that is still CONNECTING).
    Http(Reject),
}

/// What a transition makes happen, for the connection to apply.
#[must_use]
#[derive(Debug)]
pub(crate) struct Effects {
    pub(crate) timers: Timers,
    pub(crate) answer: Option<Answer>,
    pub(crate) event: Option<Event>,
    /// Nothing more is received or sent on the peer's behalf: a message being
    /// received is dropped with it, and so is a pong waiting for room.
    pub(crate) ended: bool,
}

impl Effects {
    const fn timers(timers: Timers) -> Effects {
        Effects {
            timers,
            answer: None,
            event: None,
            ended: false,
        }
    }
}

/// The lifecycle of one connection.
#[derive(Debug)]
pub(crate) struct Lifecycle {
    role: Role,
    phase: Phase,
    /// The opening handshake, while CONNECTING (taken out while a step runs).
    opening: Option<Box<Opening>>,
    /// The peer ended its stream, or we stopped waiting for it.
    eof: bool,
    /// A close frame, a violation or the end of the stream waits behind events the
    /// application has not polled yet: nothing more is read.
    reading_stopped: bool,
    /// The end of the stream came while received bytes were still unparsed; it takes
    /// effect after them.
    eof_pending: bool,
    /// How the connection ended, kept after `Closed` has been polled.
    end: Option<Box<Closed>>,
}

impl Lifecycle {
    /// CONNECTING, running `opening`.
    pub(crate) fn connecting(role: Role, opening: Opening) -> Lifecycle {
        let mut life = Lifecycle::open(role);
        life.phase = Phase::Connecting;
        life.opening = Some(Box::new(opening));
        life
    }

    /// OPEN from the start (the handshake happened elsewhere).
    pub(crate) const fn open(role: Role) -> Lifecycle {
        Lifecycle {
            role,
            phase: Phase::Open,
            opening: None,
            eof: false,
            reading_stopped: false,
            eof_pending: false,
            end: None,
        }
    }

    // ---- queries ----------------------------------------------------------------

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

    pub(crate) const fn is_closed(&self) -> bool {
        matches!(self.phase, Phase::Closed { .. })
    }

    /// Whether received bytes are parsed as frames: in OPEN, and in CLOSING where the
    /// peer may still send messages before its close (§7.1.2), unless a terminal
    /// event waits its turn.
    pub(crate) const fn reads_frames(&self) -> bool {
        matches!(self.phase, Phase::Open | Phase::CloseSent) && !self.reading_stopped
    }

    /// Whether data frames and pings may be queued: only before our close frame
    /// (§5.5.1: no data frames after a close frame).
    pub(crate) const fn may_send(&self) -> bool {
        matches!(self.phase, Phase::Open)
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

    /// How the connection ended, once it has.
    pub(crate) fn end(&self) -> Option<&Closed> {
        self.end.as_deref()
    }

    pub(crate) fn opening(&self) -> Option<&Opening> {
        self.opening.as_deref()
    }

    pub(crate) fn opening_mut(&mut self) -> Option<&mut Opening> {
        self.opening.as_deref_mut()
    }

    /// Takes the opening handshake out to run a step of it.
    pub(crate) fn take_opening(&mut self) -> Option<Box<Opening>> {
        self.opening.take()
    }

    /// Puts the opening handshake back after a step that did not finish it.
    pub(crate) fn resume_opening(&mut self, opening: Opening) {
        debug_assert_eq!(self.phase, Phase::Connecting);
        self.opening = Some(Box::new(opening));
    }

    // ---- reading ----------------------------------------------------------------

    /// A terminal event was read behind unpolled events: stop reading until it is
    /// acted on.
    pub(crate) fn stop_reading(&mut self) {
        self.reading_stopped = true;
    }

    /// The end of the stream arrived behind unparsed input.
    pub(crate) fn eof_after_input(&mut self) {
        self.eof_pending = true;
    }

    /// Whether the end of the stream waits for the input before it; clears it.
    pub(crate) fn take_pending_eof(&mut self) -> bool {
        core::mem::take(&mut self.eof_pending)
    }

    pub(crate) const fn eof_pending(&self) -> bool {
        self.eof_pending
    }

    // ---- transitions --------------------------------------------------------------

    /// CONNECTING → OPEN: the opening handshake succeeded.
    pub(crate) fn opened(&mut self, open: Open) -> Effects {
        debug_assert_eq!(self.phase, Phase::Connecting, "opened twice");
        self.phase = Phase::Open;
        self.opening = None;
        Effects {
            event: Some(Event::Open(Box::new(open))),
            ..Effects::timers(Timers::Open)
        }
    }

    /// OPEN → CLOSING: the application starts the closing handshake (§7.1.2). Only
    /// the close deadline runs from here on.
    pub(crate) fn close_sent(&mut self, code: CloseCode, reason: &str) -> Effects {
        debug_assert_eq!(self.phase, Phase::Open, "close from {:?}", self.phase);
        self.phase = Phase::CloseSent;
        Effects {
            answer: Some(Answer::Close {
                code,
                reason: String::from(reason),
            }),
            ..Effects::timers(Timers::CloseOnly)
        }
    }

    /// The peer's close frame arrived: from OPEN it is echoed (§5.5.1, with its
    /// status code), from CLOSING it answers ours. Either way the closing handshake
    /// is complete: CLOSED, clean, and the close deadline bounds the wait for the end
    /// of the transport (§7.1.1). A message the peer left unfinished is dropped.
    pub(crate) fn close_received(&mut self, code: CloseCode, reason: String) -> Effects {
        debug_assert!(
            matches!(self.phase, Phase::Open | Phase::CloseSent),
            "a close frame read in {:?}",
            self.phase
        );
        let answer = self.may_send().then(|| Answer::Close {
            code,
            reason: String::new(),
        });
        self.finish(Closed {
            code,
            reason,
            clean: true,
            error: None,
        });
        Effects {
            answer,
            ..self.ended(Timers::CloseOnly)
        }
    }

    /// Ends the connection without a clean closing handshake (§7.1.7). The cause
    /// alone decides what goes on the wire ([`answer_for`](Self::answer_for)) and the
    /// code reported: the one of the close frame sent, else 1006.
    pub(crate) fn terminate(&mut self, cause: Cause) -> Effects {
        debug_assert!(!self.is_closed(), "terminated twice: {cause:?}");
        let answer = self.answer_for(&cause);
        let code = match &answer {
            Some(Answer::Close { code, .. }) => *code,
            _ => CloseCode::ABNORMAL,
        };
        if matches!(cause, Cause::Timeout(_)) {
            // A peer that gave no sign of life is not waited for.
            self.eof = true;
        }
        self.opening = None;
        let error = match cause {
            Cause::Protocol(e) => ConnectionError::Protocol(e),
            Cause::Handshake(e) => ConnectionError::Handshake(e),
            Cause::Rejected(reject) => {
                ConnectionError::Handshake(HandshakeError::RejectedByApplication(reject.status()))
            }
            Cause::Timeout(t) => ConnectionError::Timeout(t),
            Cause::Eof => ConnectionError::Eof,
            Cause::Aborted => ConnectionError::Aborted,
        };
        self.finish(Closed {
            code,
            reason: String::new(),
            clean: false,
            error: Some(error),
        });
        Effects {
            answer,
            ..self.ended(Timers::StopAll)
        }
    }

    /// What goes on the wire when a connection ends for `cause`, in the phase it is
    /// in: for a violation the close frame with its code (§7.4.1), unless ours is
    /// already out; for a server still CONNECTING an HTTP answer (the error's
    /// status, the application's rejection, 408 or 503 for a timeout, 503 when the
    /// application closes); otherwise nothing: a timeout or the end of the stream
    /// means the peer is not there to read it, and an abort sends nothing by design.
    pub(crate) fn answer_for(&self, cause: &Cause) -> Option<Answer> {
        let server_connecting = self.role == Role::Server && self.phase == Phase::Connecting;
        match cause {
            Cause::Protocol(e) if self.may_send() => Some(Answer::Close {
                code: e.close_code(),
                reason: String::new(),
            }),
            Cause::Handshake(e) if server_connecting => Reject::for_error(e).map(Answer::Http),
            Cause::Rejected(reject) => Some(Answer::Http(reject.clone())),
            Cause::Timeout(Timeout::Handshake) if server_connecting => {
                let status = self.opening().map_or(408, Opening::timeout_status);
                Some(Answer::Http(Reject::new(status)))
            }
            _ => None,
        }
    }

    /// The application closes before the handshake finished: a server answers 503
    /// (the application can choose another status with `reject`), a client just
    /// ends.
    pub(crate) fn abandon(&mut self) -> Effects {
        debug_assert_eq!(self.phase, Phase::Connecting);
        let mut effects = self.terminate(Cause::Aborted);
        if self.role == Role::Server {
            effects.answer = Some(Answer::Http(Reject::new(503)));
        }
        effects
    }

    /// The peer ended its stream. Before a clean close this ends the connection
    /// abnormally (§7.1.5: 1006); after it, the transport can be closed now, and no
    /// deadline is left.
    pub(crate) fn eof(&mut self) -> Effects {
        self.eof = true;
        if self.is_closed() {
            Effects::timers(Timers::StopAll)
        } else {
            self.terminate(Cause::Eof)
        }
    }

    /// The close deadline passed: without the peer's close frame the connection
    /// fails; after a clean close we stop waiting for the end of its stream.
    pub(crate) fn close_deadline(&mut self) -> Option<Effects> {
        match self.phase {
            Phase::CloseSent => Some(self.terminate(Cause::Timeout(Timeout::Close))),
            _ => {
                self.eof = true;
                None
            }
        }
    }

    fn finish(&mut self, closed: Closed) {
        self.phase = Phase::Closed {
            clean: closed.clean,
        };
        self.end = Some(Box::new(closed));
    }

    /// The effects every end shares: the timers, the `Closed` event, nothing more
    /// received or sent.
    fn ended(&self, timers: Timers) -> Effects {
        Effects {
            timers,
            answer: None,
            event: self.end.clone().map(Event::Closed),
            ended: true,
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
            let mut l = Lifecycle::open(role);
            let sent = l.close_sent(CloseCode::NORMAL, "bye");
            assert_eq!(sent.timers, Timers::CloseOnly);
            assert!(
                matches!(sent.answer, Some(Answer::Close { code, .. }) if code == CloseCode::NORMAL)
            );
            assert_eq!(l.state(), State::Closing);
            assert_eq!(l.transport(), TransportAction::Keep);
            let received = l.close_received(CloseCode::NORMAL, String::new());
            assert_eq!(received.answer, None, "our close already answered");
            assert!(matches!(received.event, Some(Event::Closed(ref c)) if c.clean));
            assert_eq!(l.state(), State::Closed);
            assert_eq!(l.transport(), action);
            assert!(!l.eof().ended, "EOF after a clean close is not abnormal");
            assert_eq!(l.transport(), TransportAction::Close);
            assert_eq!(l.end().map(|c| c.code), Some(CloseCode::NORMAL));
        }
    }

    #[test]
    fn the_peers_close_is_echoed_from_open() {
        let mut l = Lifecycle::open(Role::Client);
        let e = l.close_received(CloseCode(4000), String::from("why"));
        assert_eq!(
            e.answer,
            Some(Answer::Close {
                code: CloseCode(4000),
                reason: String::new()
            })
        );
        assert!(e.ended);
        assert_eq!(l.end().unwrap().reason, "why");
    }

    #[test]
    fn eof_while_open_is_abnormal_and_final() {
        let mut l = Lifecycle::open(Role::Client);
        let e = l.eof();
        assert!(e.ended, "ends the connection");
        assert_eq!(e.answer, None);
        assert_eq!(e.timers, Timers::StopAll);
        assert_eq!(l.phase(), Phase::Closed { clean: false });
        assert_eq!(l.transport(), TransportAction::Close);
        assert_eq!(l.end().unwrap().error, Some(ConnectionError::Eof));
    }

    #[test]
    fn each_cause_has_one_wire_answer() {
        let violation = Cause::Protocol(ProtocolError::InvalidUtf8);
        let open = Lifecycle::open(Role::Server);
        assert!(
            matches!(open.answer_for(&violation), Some(Answer::Close { code, .. }) if code.0 == 1007)
        );
        let mut closing = Lifecycle::open(Role::Server);
        let _ = closing.close_sent(CloseCode::NORMAL, "");
        assert_eq!(
            closing.answer_for(&violation),
            None,
            "our close is already out"
        );
        for cause in [Cause::Eof, Cause::Aborted, Cause::Timeout(Timeout::Idle)] {
            assert_eq!(open.answer_for(&cause), None);
        }
        let server = Lifecycle::connecting(Role::Server, Opening::server());
        let status = |a: Option<Answer>| match a {
            Some(Answer::Http(r)) => Some(r.status()),
            _ => None,
        };
        assert_eq!(
            status(server.answer_for(&Cause::Timeout(Timeout::Handshake))),
            Some(408)
        );
        assert_eq!(
            status(server.answer_for(&Cause::Handshake(HandshakeError::Origin))),
            Some(403)
        );
        let client = Lifecycle::connecting(
            Role::Client,
            Opening::client(crate::ClientRequest::new("h", "/"), String::new()),
        );
        assert_eq!(
            client.answer_for(&Cause::Handshake(HandshakeError::Accept)),
            None
        );
    }

    #[test]
    fn a_timeout_does_not_wait_for_the_transport() {
        let mut l = Lifecycle::open(Role::Server);
        let _ = l.terminate(Cause::Timeout(Timeout::Pong));
        assert_eq!(l.transport(), TransportAction::Close);
        let mut l = Lifecycle::open(Role::Server);
        let _ = l.close_sent(CloseCode::NORMAL, "");
        let e = l.close_deadline().expect("no close frame came back");
        assert!(
            matches!(e.event, Some(Event::Closed(ref c)) if c.error == Some(ConnectionError::Timeout(Timeout::Close)))
        );
    }

    #[test]
    #[should_panic(expected = "terminated twice")]
    #[cfg(debug_assertions)]
    fn a_transition_in_the_wrong_state_is_caught() {
        let mut l = Lifecycle::open(Role::Server);
        let _ = l.terminate(Cause::Eof);
        let _ = l.terminate(Cause::Eof);
    }
}
