//! What each input, arrival and transition does to the parts of a [`Connection`]:
//! the opening handshake's steps, the frame loop and its batching, the ordering of
//! replies, and [`Connection::apply`], the one place where the lifecycle's
//! transitions take effect.

use bytes::Bytes;

use super::{Connection, EVENT_BATCH};
use crate::error::SendError;
use crate::event::{Deferred, Event, Open};
use crate::frame::OpCode;
use crate::handshake::driver::Step;
use crate::recv::Item;
use crate::state::{Answer, Cause, Effects, Phase};
use crate::time::Timestamp;

impl Connection {
    pub(super) fn observe(&mut self, now: Timestamp) {
        if now > self.now {
            self.now = now;
        }
    }

    pub(super) fn check_open(&self) -> Result<(), SendError> {
        if self.life.may_send() {
            Ok(())
        } else {
            Err(SendError::InvalidState(self.state()))
        }
    }

    /// Applies what a lifecycle transition asks for: the one place transitions take
    /// effect.
    pub(super) fn apply(&mut self, effects: Effects) {
        let Effects {
            timers,
            answer,
            event,
            ended,
        } = effects;
        self.deadlines.apply(timers, self.now, &self.config);
        match answer {
            // Only an entropy failure stops a close frame; then no frame can be sent
            // at all, and the connection is closing anyway.
            Some(Answer::Close { code, reason }) => {
                let _ = self.tx.close(code, &reason);
            }
            Some(Answer::Http(reject)) => {
                // The lifecycle only answers with responses it can encode.
                if let Ok(bytes) = reject.response() {
                    self.tx.http(Bytes::from(bytes));
                }
            }
            None => {}
        }
        if ended {
            self.rx.discard();
            self.tx.end();
        }
        if let Some(event) = event {
            self.events.push(event);
        }
    }

    /// Sets up the negotiated extensions (permessage-deflate: the peer's inflater
    /// and our compressor).
    #[cfg(feature = "deflate")]
    pub(super) fn start_extensions(&mut self) {
        use crate::deflate::codec::{Deflater, Inflater};
        let Some(p) = self.negotiated.deflate else {
            return;
        };
        let config = self.config.deflate.clone().unwrap_or_default();
        // Our direction keeps to our own settings too: a client that offered a
        // limit on its window or its context is bound by it (§7.1.1.2, §7.1.2.2).
        let (own_bits, own_reset, peer_bits, peer_reset) = match self.role {
            crate::Role::Server => (
                p.server_max_window_bits.min(config.server_max_window_bits),
                p.server_no_context_takeover || config.server_no_context_takeover,
                p.client_max_window_bits,
                p.client_no_context_takeover,
            ),
            crate::Role::Client => (
                p.client_max_window_bits.min(config.client_max_window_bits),
                p.client_no_context_takeover || config.client_no_context_takeover,
                p.server_max_window_bits,
                p.server_no_context_takeover,
            ),
        };
        self.rx.set_inflater(Inflater::new(peer_bits, peer_reset));
        if let Some(deflater) = Deflater::new(config.level, own_bits, own_reset) {
            self.tx.set_deflater(deflater, config.min_size);
        }
    }

    #[cfg(not(feature = "deflate"))]
    pub(super) fn start_extensions(&mut self) {}

    pub(super) fn terminate(&mut self, cause: Cause) {
        let effects = self.life.terminate(cause);
        self.apply(effects);
    }

    /// What a step of the opening handshake leads to.
    pub(super) fn opening_step(&mut self, step: Step) {
        match step {
            Step::Continue(opening) => self.life.resume_opening(opening),
            Step::Request { request, next } => {
                self.events.push(Event::Request(request));
                match next {
                    Ok(opening) => self.life.resume_opening(opening),
                    Err(error) => self.terminate(Cause::Handshake(error)),
                }
            }
            Step::Open {
                negotiated,
                headers,
                rest,
            } => {
                let open = Open {
                    protocol: negotiated.protocol.clone(),
                    extensions: negotiated.extensions.clone(),
                    #[cfg(feature = "deflate")]
                    deflate: negotiated.deflate,
                    headers,
                };
                self.negotiated = negotiated;
                self.start_extensions();
                let effects = self.life.opened(open);
                self.apply(effects);
                // Nothing waits before these bytes: all of them are taken.
                let _ = self.read_frames(&rest);
            }
            Step::Fail(error) => self.terminate(Cause::Handshake(error)),
        }
    }

    /// Takes `data` into the input buffer and parses it: until it is used up, the
    /// connection stops reading, or [`EVENT_BATCH`] events wait to be polled (the
    /// rest waits for [`poll_event`](Self::poll_event) to resume). Returns how much it
    /// took: nothing while earlier input still waits.
    pub(super) fn read_frames(&mut self, data: &[u8]) -> usize {
        if !self.life.reads_frames() {
            return data.len();
        }
        if self.rx.has_pending() {
            return 0;
        }
        if !data.is_empty() && self.life.may_send() {
            self.deadlines.peer_alive(self.now, &self.config);
        }
        self.rx.append(data);
        self.parse();
        data.len()
    }

    /// `n` bytes were read into the input buffer ([`Connection::read_buf`]).
    pub(super) fn read_into_buffer(&mut self, n: usize) {
        if !self.life.reads_frames() {
            return;
        }
        if n > 0 && self.life.may_send() {
            self.deadlines.peer_alive(self.now, &self.config);
        }
        self.rx.filled(n);
        self.parse();
    }

    /// Resumes parsing the kept input once the events before it have been polled;
    /// the end of the stream that came after it takes its turn then.
    pub(super) fn resume_input(&mut self) {
        self.parse();
        if (!self.life.reads_frames() || !self.rx.has_pending()) && self.life.take_pending_eof() {
            self.eof_in_order();
        }
    }

    /// The frame loop over the buffered input.
    #[inline]
    pub(super) fn parse(&mut self) {
        while self.life.reads_frames() && self.events.len() < EVENT_BATCH {
            match self.rx.next(self.role, &self.config) {
                Ok(None) => break,
                Ok(Some(item)) => self.arrived(item),
                Err(error) => self.failed(error),
            }
        }
        if self.rx.take_data_frame() && self.life.may_send() {
            self.deadlines.not_idle(self.now, &self.config);
        }
    }

    /// A violation read: out of line, so that the failure path's bulk (the
    /// lifecycle's close and its effects) stays out of the loop over good frames.
    #[cold]
    #[inline(never)]
    fn failed(&mut self, error: crate::ProtocolError) {
        self.in_order(Deferred::Failure(error));
    }

    #[inline]
    pub(super) fn arrived(&mut self, item: Item) {
        match item {
            Item::Message(message) => self.events.push(Event::Message(message)),
            Item::Fragment(fragment) => self.events.push(Event::Fragment(fragment)),
            Item::Pong(payload) => {
                self.deadlines.pong(&payload, self.now);
                self.events.push(Event::Pong(payload));
            }
            Item::Ping(payload) => self.in_order(Deferred::Ping(payload)),
            Item::Close(code, reason) => self.in_order(Deferred::PeerClose(code, reason)),
        }
    }

    /// Acts on `deferred` now, or behind the events that wait (the ordering rule of
    /// [`EventQueue::in_order`]); reading stops behind a close, a violation or the
    /// end of the stream.
    pub(super) fn in_order(&mut self, deferred: Deferred) {
        let stops_reading = deferred.stops_reading();
        match self.events.in_order(deferred) {
            Some(now) => {
                if let Some(event) = self.act(now) {
                    self.events.push(event);
                }
            }
            None if stops_reading => self.life.stop_reading(),
            None => {}
        }
    }

    /// Something read takes effect; a ping's event is returned, the rest report
    /// through the lifecycle. Once the connection has ended (a timeout while this
    /// waited its turn, say) a close or a violation changes nothing.
    pub(super) fn act(&mut self, deferred: Deferred) -> Option<Event> {
        match deferred {
            Deferred::Ping(payload) => {
                // §5.5.2: answered with the same data, unless our close frame is out.
                if self.config.auto_pong && self.life.may_send() {
                    self.tx.auto_pong(&payload);
                }
                return Some(Event::Ping(payload));
            }
            _ if self.life.is_closed() => {}
            Deferred::PeerClose(code, reason) => {
                let effects = self.life.close_received(code, reason);
                self.apply(effects);
            }
            Deferred::Failure(error) => self.terminate(Cause::Protocol(error)),
            Deferred::Eof => self.eof_now(),
        }
        None
    }

    pub(super) fn eof_in_order(&mut self) {
        if matches!(self.life.phase(), Phase::Open | Phase::CloseSent) {
            self.in_order(Deferred::Eof);
        } else {
            self.eof_now();
        }
    }

    pub(super) fn eof_now(&mut self) {
        let effects = self.life.eof();
        self.apply(effects);
    }

    /// The keepalive deadline passed: a ping (its payload counts the pings sent), if
    /// the output has room for it.
    pub(super) fn keepalive(&mut self) {
        if !self.life.may_send() {
            return;
        }
        let payload = self.deadlines.keepalive(self.now, &self.config);
        if self.tx.control(OpCode::Ping, payload.clone()).is_ok() {
            self.deadlines.ping_sent(payload, self.now, true);
        }
    }

    /// Keeps the write deadline in step with the output; after every call that can
    /// queue output. `fresh`: the call passed `now`.
    pub(super) fn track_output(&mut self, fresh: bool) {
        let waiting = self.tx.buffered() > 0 && !self.life.is_closed();
        self.deadlines
            .output_waits(waiting, fresh, self.now, &self.config);
    }

    /// `n` bytes of output were written.
    pub(super) fn wrote(&mut self, n: usize) {
        if n > 0 {
            self.deadlines.output_written();
        }
        self.track_output(false);
    }
}
