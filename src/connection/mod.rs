//! The [`Connection`]: one WebSocket endpoint as a value, and its I/O boundary.
//!
//! This module only dispatches: the public calls here, what they set in motion in
//! `dispatch.rs`. Every lifecycle transition and what it makes happen is in `state`;
//! the opening handshake in `handshake::driver`; frames in and arrivals out in
//! `recv`; frames out under the limit in `send` (with the output queue in `tx`); the
//! deadlines in `timer`; the order in which replies go out in `event`.

mod dispatch;

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::time::Duration;

use bytes::Bytes;

use crate::close::{CloseCode, check_close};
use crate::config::{Config, ConfigError};
use crate::entropy::Entropy;
use crate::error::SendError;
use crate::event::{Closed, Event, EventQueue, Open};
use crate::frame::OpCode;
use crate::handshake::client::ClientRequest;
use crate::handshake::driver::Opening;
use crate::handshake::server::{Accept, Reject, Request};
use crate::handshake::{HandshakeError, Headers, Negotiated, generate_key};
use crate::message::{Message, MessageKind, Text};
use crate::payload::Payload;
use crate::recv::Receiver;
use crate::role::Role;
use crate::send::{Prepared, Sender};
use crate::state::{Cause, Lifecycle, Phase, State, TransportAction};
use crate::time::Timestamp;
use crate::timer::{Deadlines, Timeout, Timer};
use crate::tx::Unsent;

/// Parsing pauses once this many events wait to be polled, and resumes in
/// `poll_event`. Parsing in small batches keeps the event queue short and lets each
/// message's buffer be freed before the next ones are allocated.
const EVENT_BATCH: usize = 16;

/// A WebSocket connection, client or server, as a pure state machine (RFC 6455).
///
/// It owns no socket and reads no clock: the caller moves bytes and time in and out.
///
/// # Driving it
///
/// Methods come in five families:
/// - **inputs**: [`handle_data`](Self::handle_data) with bytes read from the transport
///   (it returns how many it took), [`handle_eof`](Self::handle_eof) when the
///   transport's read side ends, [`handle_timeout`](Self::handle_timeout) when the
///   deadline from [`poll_timeout`](Self::poll_timeout) has passed;
/// - **commands**: [`send`](Self::send) (or [`send_text`](Self::send_text),
///   [`send_binary`](Self::send_binary), [`send_fragment`](Self::send_fragment)),
///   [`ping`](Self::ping), [`pong`](Self::pong), [`close`](Self::close),
///   [`abort`](Self::abort), and for a server [`accept`](Self::accept) or
///   [`reject`](Self::reject). Misuse returns a [`SendError`] and changes nothing;
/// - **outputs**: [`poll_event`](Self::poll_event), [`transmit`](Self::transmit) (or
///   [`transmit_vectored`](Self::transmit_vectored), then
///   [`advance_transmit`](Self::advance_transmit); or
///   [`transmit_into`](Self::transmit_into)), [`poll_timeout`](Self::poll_timeout),
///   [`transport`](Self::transport);
/// - **getters**: [`state`](Self::state), [`role`](Self::role),
///   [`buffered_amount`](Self::buffered_amount), [`protocol`](Self::protocol),
///   [`negotiated`](Self::negotiated), [`rtt`](Self::rtt), [`closed`](Self::closed)...;
/// - **recovery**: [`take_unsent`](Self::take_unsent) once the connection has ended.
///
/// After every input or command, drain in this order:
/// 1. [`poll_event`](Self::poll_event) until `None` (answers to pings and closes
///    are queued as their events are reached);
/// 2. write out [`transmit`](Self::transmit) and report what was written with
///    [`advance_transmit`](Self::advance_transmit), until it is empty or the
///    transport takes no more;
/// 3. act on [`transport`](Self::transport): keep going, shut down the write half,
///    wait for the peer's end of stream, or close;
/// 4. wait for the transport to be readable (or writable, if output is left) or for
///    the deadline of [`poll_timeout`](Self::poll_timeout), whichever comes first,
///    and call [`handle_data`](Self::handle_data),
///    [`handle_eof`](Self::handle_eof) or [`handle_timeout`](Self::handle_timeout).
///
/// Calls that take `now` expect a [`Timestamp`] that never goes backwards (with
/// `std`, [`Clock`](crate::Clock) makes them from `Instant`s).
///
/// # Input stays bounded
///
/// Received bytes are parsed at most a few events ahead of the application: once 16
/// events wait, parsing pauses and the rest of the input is kept, and parsed as
/// [`poll_event`](Self::poll_event) takes events. While such kept input waits,
/// [`handle_data`](Self::handle_data) takes nothing more (it returns 0): so the
/// connection never holds more than one call's worth of unparsed input, however
/// long a caller feeds it without polling. A caller that drains the events after
/// every call, as above, always has all of its bytes taken.
///
/// # Replies keep the order of what they answer
///
/// A pong or close frame is queued as soon as the frame that calls for it is read,
/// unless events read before it still wait: then it is queued when `poll_event`
/// reaches that point, so that whatever the application sends in reply to the
/// earlier events goes out first (a message echoed before the close, say). A
/// violation and the end of the stream take effect in the same order.
///
/// # Bad input
///
/// No input can make it panic or allocate more than the configured limits. A peer
/// that breaks the protocol gets the close frame [`ProtocolError::close_code`]
/// names, the connection becomes [`State::Closed`], and [`Event::Closed`] says why;
/// [`closed`](Self::closed) still says so after that event has been polled.
///
/// [`ProtocolError::close_code`]: crate::ProtocolError::close_code
// Laid out in this order: what a send and a write touch (the state, the send side,
// the clock and the deadlines) lies together at the front, so that queueing one
// message on each of many connections reads few cache lines of each.
#[repr(C)]
pub struct Connection {
    life: Lifecycle,
    tx: Sender,
    /// The largest `now` seen.
    now: Timestamp,
    deadlines: Deadlines,
    config: Config,
    rx: Receiver,
    events: EventQueue,
    negotiated: Negotiated,
    role: Role,
}

impl core::fmt::Debug for Connection {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Connection")
            .field("role", &self.role)
            .field("state", &self.state())
            .field("buffered_amount", &self.buffered_amount())
            .field("events", &self.events.len())
            .finish_non_exhaustive()
    }
}

impl Connection {
    fn new(
        config: Config,
        life: Lifecycle,
        role: Role,
        entropy: Option<Box<dyn Entropy + Send>>,
        now: Timestamp,
    ) -> Result<Connection, ConfigError> {
        config.validate()?;
        let connecting = life.phase() == Phase::Connecting;
        let mut conn = Connection {
            role,
            tx: Sender::new(role, entropy, config.max_buffered_output),
            config,
            life,
            negotiated: Negotiated::none(),
            rx: Receiver::default(),
            events: EventQueue::default(),
            deadlines: Deadlines::default(),
            now,
        };
        conn.deadlines.begin(connecting, now, &conn.config);
        Ok(conn)
    }

    /// A server connection waiting for the client's upgrade request (§4.2).
    /// A valid request is reported as [`Event::Request`] for the application to
    /// [`accept`](Self::accept) or [`reject`](Self::reject); an invalid one is
    /// answered with the HTTP status its [`HandshakeError`] names, and the connection
    /// closes. Fails only on a setting out of range ([`Config::validate`]).
    pub fn server(config: Config, now: Timestamp) -> Result<Connection, ConfigError> {
        let life = Lifecycle::connecting(Role::Server, Opening::server());
        Connection::new(config, life, Role::Server, None, now)
    }

    /// A client connection that queues its upgrade request (§4.1) with a fresh key
    /// from `entropy`, which also supplies the masking keys. Fails only on what the
    /// caller supplied (header fields, subprotocol names, a setting out of range:
    /// [`HandshakeError::InvalidConfig`]) or an entropy failure.
    pub fn client(
        config: Config,
        request: ClientRequest,
        entropy: impl Entropy + Send + 'static,
        now: Timestamp,
    ) -> Result<Connection, HandshakeError> {
        let mut entropy: Box<dyn Entropy + Send> = Box::new(entropy);
        #[cfg(feature = "deflate")]
        let request = offer_deflate(request, &config);
        let key = generate_key(&mut *entropy).map_err(HandshakeError::Entropy)?;
        let head = request.encode(&key)?;
        let life = Lifecycle::connecting(Role::Client, Opening::client(request, key));
        let mut conn = Connection::new(config, life, Role::Client, Some(entropy), now)
            .map_err(HandshakeError::InvalidConfig)?;
        conn.tx.http(Bytes::from(head));
        conn.track_output(true);
        Ok(conn)
    }

    /// A server connection whose opening handshake was done elsewhere (by an HTTP
    /// server, or over an HTTP/2 stream), in state OPEN. `leftover` holds bytes that
    /// arrived after the upgrade request and are already frame data.
    ///
    /// The connection never sees the upgrade request, so it cannot apply the request
    /// settings ([`Config::origin_policy`]): check the request with
    /// [`Config::check_request`] before accepting it (the `http` feature's
    /// [`Request::from_http`](crate::Request) does). Fails only on a setting out of
    /// range ([`Config::validate`]).
    pub fn upgraded_server(
        config: Config,
        negotiated: Negotiated,
        leftover: &[u8],
        now: Timestamp,
    ) -> Result<Connection, ConfigError> {
        let mut conn = Connection::new(
            config,
            Lifecycle::open(Role::Server),
            Role::Server,
            None,
            now,
        )?;
        conn.negotiated = negotiated;
        conn.start_extensions();
        // Nothing waits yet: all of it is taken.
        let _ = conn.handle_data(now, leftover);
        Ok(conn)
    }

    /// A client connection whose opening handshake was done elsewhere, in state OPEN.
    /// `entropy` supplies masking keys (see [`OsEntropy`](crate::OsEntropy));
    /// `leftover` holds bytes that arrived after the upgrade response. Fails only on a
    /// setting out of range ([`Config::validate`]).
    pub fn upgraded_client(
        config: Config,
        negotiated: Negotiated,
        entropy: impl Entropy + Send + 'static,
        leftover: &[u8],
        now: Timestamp,
    ) -> Result<Connection, ConfigError> {
        let entropy: Box<dyn Entropy + Send> = Box::new(entropy);
        let life = Lifecycle::open(Role::Client);
        let mut conn = Connection::new(config, life, Role::Client, Some(entropy), now)?;
        conn.negotiated = negotiated;
        conn.start_extensions();
        let _ = conn.handle_data(now, leftover);
        Ok(conn)
    }

    // ---- getters -------------------------------------------------------------------

    /// Client or server.
    pub fn role(&self) -> Role {
        self.role
    }

    /// CONNECTING, OPEN, CLOSING or CLOSED.
    pub fn state(&self) -> State {
        self.life.state()
    }

    /// What to do with the transport now.
    #[must_use]
    pub fn transport(&self) -> TransportAction {
        self.life.transport()
    }

    /// Bytes waiting to be written, frame headers included (unlike the browser API,
    /// which counts payload only).
    pub fn buffered_amount(&self) -> usize {
        self.tx.buffered()
    }

    /// The negotiated subprotocol, if any.
    pub fn protocol(&self) -> Option<&str> {
        self.negotiated.protocol.as_deref()
    }

    /// The round-trip time measured by the last pong that answered our most recent
    /// ping (a keepalive ping or one sent with [`ping`](Self::ping)).
    pub fn rtt(&self) -> Option<Duration> {
        self.deadlines.rtt()
    }

    /// The earliest deadline at which [`handle_timeout`](Self::handle_timeout) has
    /// something to do, or `None`. Changes after inputs and commands: ask again each
    /// time round the loop.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.deadlines.next()
    }

    /// What the opening handshake settled.
    pub fn negotiated(&self) -> &Negotiated {
        &self.negotiated
    }

    /// The permessage-deflate parameters in force, if it was negotiated.
    #[cfg(feature = "deflate")]
    pub fn deflate(&self) -> Option<crate::deflate::DeflateParams> {
        self.negotiated.deflate
    }

    /// (Server) The upgrade request awaiting [`accept`](Self::accept) or
    /// [`reject`](Self::reject).
    pub fn request(&self) -> Option<&Request> {
        self.life.opening().and_then(Opening::request)
    }

    /// How the connection ended, once it has: the same as the [`Event::Closed`] it
    /// reported, and kept after that event has been polled (as an error is kept by
    /// a TLS session).
    pub fn closed(&self) -> Option<&Closed> {
        self.life.end()
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    // ---- inputs --------------------------------------------------------------------

    /// Takes bytes read from the transport, and returns how many it took: all of
    /// them, unless input from an earlier call is still waiting for its events to be
    /// polled (then none; feed them again after [`poll_event`](Self::poll_event)
    /// returned `None`). Any split of the stream is fine, down to one byte at a time.
    /// Never fails: a peer's protocol violation queues the close frame that answers
    /// it and ends the connection with [`Event::Closed`]. Bytes that arrive when the
    /// connection no longer reads frames (after the peer's close frame, or after a
    /// failure) are taken and discarded (§7.1.7, §5.5.1).
    #[must_use = "bytes past the count returned were not taken: feed them again after polling the events"]
    pub fn handle_data(&mut self, now: Timestamp, data: &[u8]) -> usize {
        self.observe(now);
        let taken = match self.life.take_opening() {
            Some(opening) => {
                let step = opening.feed(data, &self.config);
                self.opening_step(step);
                data.len()
            }
            None => self.read_frames(data),
        };
        self.track_output(true);
        taken
    }

    /// The connection's own input buffer, to read from the transport straight into:
    /// then the read is the only copy a received message costs, as a message that
    /// came in one frame is handed out as a view of this buffer. Read into it, then
    /// say how many bytes with [`handle_read`](Self::handle_read).
    ///
    /// It offers between 4 and 64 KiB, adapting to how much the reads bring, or what
    /// the frame being received still needs. It is empty while input from an earlier
    /// read waits for its events to be polled:
    /// drain [`poll_event`](Self::poll_event) first, as the driving contract says
    /// (a read into an empty buffer returns 0, which is not the end of the stream).
    /// The buffer is released whenever nothing is left in it, so an idle connection
    /// holds no heap; while waiting for a read, it holds the room it offered. A
    /// message's payload keeps its part of the buffer alive while it is held: copy
    /// it out to keep a small message for long.
    ///
    /// ```
    /// use std::io::Read;
    /// # use wsmachine::{Config, Connection, Negotiated, Timestamp};
    /// # let mut socket: &[u8] = &[0x81, 0x85, 1, 2, 3, 4, 0x69, 0x67, 0x6f, 0x68, 0x6e];
    /// # let now = Timestamp::ZERO;
    /// let mut conn = Connection::upgraded_server(Config::default(), Negotiated::none(), &[], now)?;
    /// let n = socket.read(conn.read_buf())?;
    /// conn.handle_read(now, n);
    /// let Some(wsmachine::Event::Message(m)) = conn.poll_event() else { panic!() };
    /// assert_eq!(m.as_bytes(), b"hello");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn read_buf(&mut self) -> &mut [u8] {
        self.rx.read_buf()
    }

    /// Gives back the room [`read_buf`](Self::read_buf) offered when no read will
    /// fill it soon (a non-blocking read that found nothing, say): a buffer that holds
    /// no input still needed is freed, so a connection waiting for its peer holds no
    /// heap. The next `read_buf` offers fresh room. The async glue calls it whenever
    /// a read is pending.
    pub fn release_read_buf(&mut self) {
        self.rx.release_room();
    }

    /// `n` bytes were read into [`read_buf`](Self::read_buf): takes them like
    /// [`handle_data`](Self::handle_data) takes its bytes, without copying them. A
    /// read of 0 bytes is not the end of the stream here; report that with
    /// [`handle_eof`](Self::handle_eof).
    pub fn handle_read(&mut self, now: Timestamp, n: usize) {
        self.observe(now);
        match self.life.take_opening() {
            Some(opening) => {
                // The opening handshake keeps its own copy of the head.
                let data = self.rx.take_read(n);
                let step = opening.feed(&data, &self.config);
                self.opening_step(step);
            }
            None => self.read_into_buffer(n),
        }
        self.track_output(true);
    }

    /// The transport's read side reached end of stream. Before a clean close this
    /// ends the connection abnormally: [`Event::Closed`] with code 1006 (§7.1.5), and
    /// nothing is sent. After a clean close it lets [`transport`](Self::transport)
    /// say [`TransportAction::Close`].
    pub fn handle_eof(&mut self, now: Timestamp) {
        self.observe(now);
        if let Some(opening) = self.life.take_opening()
            && let Some(error) = opening.end_of_stream()
        {
            self.terminate(Cause::Handshake(error));
        }
        if self.rx.has_pending() && self.life.reads_frames() {
            // After the bytes that arrived before it.
            self.life.eof_after_input();
        } else {
            self.eof_in_order();
        }
        self.track_output(true);
    }

    /// Acts on every deadline that `now` has reached: a keepalive ping, or ending the
    /// connection for a handshake, pong, idle, write or close timeout. Calling it
    /// early, late or twice is harmless: only deadlines at or before `now` fire, and
    /// each fires once.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        self.observe(now);
        // Each timer is looked at once per call, in `Timer::ALL` order, whatever it
        // re-arms itself to; one that ends the connection stops the others.
        for timer in Timer::ALL {
            if !self.deadlines.take_due(timer, self.now) {
                continue;
            }
            match timer {
                Timer::Handshake => self.terminate(Cause::Timeout(Timeout::Handshake)),
                Timer::Close => {
                    if let Some(effects) = self.life.close_deadline() {
                        self.apply(effects);
                    }
                }
                Timer::Write => {
                    if self.deadlines.write_deadline(self.now, &self.config) {
                        self.terminate(Cause::Timeout(Timeout::Write));
                    }
                }
                Timer::Idle => self.terminate(Cause::Timeout(Timeout::Idle)),
                Timer::Pong => self.terminate(Cause::Timeout(Timeout::Pong)),
                Timer::Keepalive => self.keepalive(),
            }
        }
        self.track_output(true);
    }

    // ---- commands ------------------------------------------------------------------

    /// (Server) Accepts the pending upgrade request: queues the 101 response and
    /// moves to OPEN with [`Event::Open`]. Frames that arrived early are processed
    /// now. Fails, changing nothing, when no request is pending or the answer is
    /// invalid (a subprotocol the client did not offer, a bad header field).
    pub fn accept(&mut self, now: Timestamp, accept: Accept) -> Result<(), SendError> {
        self.observe(now);
        let config = &self.config;
        let accepted = match self
            .life
            .opening_mut()
            .and_then(|o| o.accept(&accept, config))
        {
            None => return Err(SendError::InvalidState(self.state())),
            Some(answer) => answer.map_err(SendError::Handshake)?,
        };
        self.tx.http(Bytes::from(accepted.response));
        self.negotiated = accepted.negotiated;
        self.start_extensions();
        let open = Open {
            protocol: self.negotiated.protocol.clone(),
            extensions: self.negotiated.extensions.clone(),
            #[cfg(feature = "deflate")]
            deflate: self.negotiated.deflate,
            headers: Headers::new(),
        };
        let effects = self.life.opened(open);
        self.apply(effects);
        // Nothing waits before the early bytes: all of them are taken.
        let _ = self.read_frames(&accepted.early);
        self.track_output(true);
        Ok(())
    }

    /// (Server) Rejects the pending upgrade request with any status, header fields
    /// and body (401 with `WWW-Authenticate`, a redirect, 429...). The response is
    /// queued and the connection closes ([`TransportAction::Close`] after writing).
    pub fn reject(&mut self, now: Timestamp, reject: Reject) -> Result<(), SendError> {
        self.observe(now);
        match self.life.opening().and_then(|o| o.can_reject(&reject)) {
            None => return Err(SendError::InvalidState(self.state())),
            Some(check) => check.map_err(SendError::Handshake)?,
        }
        self.terminate(Cause::Rejected(reject));
        self.track_output(true);
        Ok(())
    }

    /// Queues a whole message as one frame. The payload is not copied for a server;
    /// a client masks it in place if the buffer is not shared, else masks it as it
    /// goes out, 64 KiB at a time, into a window the connection holds while it has
    /// output pending (the caller's bytes are never changed).
    pub fn send(&mut self, message: impl Into<Message>) -> Result<(), SendError> {
        self.send_whole(message.into(), true)
    }

    /// Queues a whole message that goes out uncompressed even when permessage-deflate
    /// was negotiated (RFC 7692 §6: compression is per message), for payloads that
    /// are compressed already or too short to gain. Otherwise like
    /// [`send`](Self::send).
    pub fn send_uncompressed(&mut self, message: impl Into<Message>) -> Result<(), SendError> {
        self.send_whole(message.into(), false)
    }

    fn send_whole(&mut self, message: Message, compress: bool) -> Result<(), SendError> {
        self.check_open()?;
        self.tx.message(message, compress)?;
        self.track_output(false);
        Ok(())
    }

    /// Queues a text message.
    pub fn send_text(&mut self, text: impl Into<Text>) -> Result<(), SendError> {
        self.send(Message::Text(text.into()))
    }

    /// Queues a binary message.
    pub fn send_binary(&mut self, data: impl Into<Payload>) -> Result<(), SendError> {
        self.send(Message::Binary(data.into()))
    }

    /// Queues a text message copied from `text`, holding nothing of the caller's: a
    /// small one is copied straight into the output buffer, with no allocation, the
    /// fastest way to send chat-sized messages from borrowed data. (A large one is
    /// copied into a buffer of its own; [`send`](Self::send) passes an owned one
    /// through without a copy.)
    pub fn send_text_copied(&mut self, text: &str) -> Result<(), SendError> {
        self.send_copied(MessageKind::Text, text.as_bytes())
    }

    /// Queues a binary message copied from `data`, like
    /// [`send_text_copied`](Self::send_text_copied).
    pub fn send_binary_copied(&mut self, data: &[u8]) -> Result<(), SendError> {
        self.send_copied(MessageKind::Binary, data)
    }

    fn send_copied(&mut self, kind: MessageKind, data: &[u8]) -> Result<(), SendError> {
        self.check_open()?;
        self.tx.message_copied(kind, data)?;
        self.track_output(false);
        Ok(())
    }

    /// Queues a message framed once for many connections ([`Prepared`]): on a
    /// server, at the cost of a reference count (the frame's bytes are shared with
    /// every connection that sends them); a client frames it anew, as it masks each
    /// frame with a key of its own. With permessage-deflate, a message prepared with
    /// [`Prepared::deflated`] goes out compressed where the connection's window
    /// allows, else uncompressed; one made with [`Prepared::new`] goes out
    /// uncompressed.
    pub fn send_prepared(&mut self, message: &Prepared) -> Result<(), SendError> {
        self.check_open()?;
        self.tx.prepared(message)?;
        self.track_output(false);
        Ok(())
    }

    /// Queues one fragment of a message streamed piece by piece (§5.4); `last` ends
    /// the message. The first call picks the kind; later calls must repeat it. For
    /// text, pieces may split code points anywhere, but the message must be valid
    /// UTF-8 as a whole: a piece that makes it invalid, or a `last` piece that leaves
    /// a code point unfinished, is refused with [`SendError::InvalidUtf8`].
    /// Pings, pongs and a close may be sent between fragments; whole messages may not.
    pub fn send_fragment(
        &mut self,
        kind: MessageKind,
        data: impl Into<Bytes>,
        last: bool,
    ) -> Result<(), SendError> {
        self.check_open()?;
        self.tx.fragment(kind, data.into(), last)?;
        self.track_output(false);
        Ok(())
    }

    /// Sends a ping with up to 125 bytes of payload (§5.5.2).
    pub fn ping(&mut self, now: Timestamp, payload: impl Into<Bytes>) -> Result<(), SendError> {
        self.observe(now);
        self.check_open()?;
        let payload = payload.into();
        self.tx.control(OpCode::Ping, payload.clone())?;
        self.deadlines.ping_sent(payload, self.now, false);
        self.track_output(true);
        Ok(())
    }

    /// Sends a pong with up to 125 bytes of payload: the answer to a ping when
    /// `auto_pong` is off, or an unsolicited heartbeat (§5.5.3).
    pub fn pong(&mut self, payload: impl Into<Bytes>) -> Result<(), SendError> {
        self.check_open()?;
        self.tx.control(OpCode::Pong, payload.into())?;
        self.track_output(false);
        Ok(())
    }

    /// Starts the closing handshake (§7.1.2): queues a close frame with `code` and a
    /// UTF-8 `reason` of at most 123 bytes. [`CloseCode::NO_STATUS`] sends a close
    /// frame without a body (the reason must then be empty). Afterwards nothing more
    /// can be sent; received messages are still delivered until the peer's close
    /// frame arrives.
    ///
    /// Before the opening handshake has finished there is no closing handshake to
    /// start: a server answers the request with 503 (use [`reject`](Self::reject)
    /// for another status), a client just ends; either way the connection is closed
    /// with [`ConnectionError::Aborted`](crate::ConnectionError::Aborted).
    pub fn close(
        &mut self,
        now: Timestamp,
        code: CloseCode,
        reason: &str,
    ) -> Result<(), SendError> {
        self.observe(now);
        let effects = match self.life.phase() {
            Phase::Connecting => {
                check_close(code, reason)?;
                self.life.abandon()
            }
            Phase::Open => {
                check_close(code, reason)?;
                // An entropy failure refuses the close before anything changes.
                self.tx.prepare_close()?;
                self.life.close_sent(code, reason)
            }
            _ => return Err(SendError::InvalidState(self.state())),
        };
        self.apply(effects);
        self.track_output(true);
        Ok(())
    }

    /// Ends the connection now, without a closing handshake: nothing more is sent
    /// or received, [`Event::Closed`] reports [`ConnectionError::Aborted`] (1006),
    /// and [`transport`](Self::transport) says [`TransportAction::Close`]. Output
    /// still queued stays there for [`take_unsent`](Self::take_unsent). Does nothing
    /// once the connection has ended.
    ///
    /// [`ConnectionError::Aborted`]: crate::ConnectionError::Aborted
    pub fn abort(&mut self) {
        if !self.life.is_closed() {
            self.terminate(Cause::Aborted);
        }
        self.track_output(false);
    }

    // ---- outputs -------------------------------------------------------------------

    /// The next event, or `None` when there is nothing to report. Answers that wait
    /// behind earlier events (see the type's documentation) are queued for output
    /// here, when their turn comes.
    #[inline]
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        let event = loop {
            if self.events.is_empty() && (self.rx.has_pending() || self.life.eof_pending()) {
                self.resume_input();
            }
            match self.events.pop()? {
                Ok(event) => break event,
                Err(deferred) => {
                    let event = self.act(deferred);
                    self.track_output(false);
                    if let Some(event) = event {
                        break event;
                    }
                }
            }
        };
        if !self.rx.holds_input() {
            // An idle connection holds no heap buffers. One that holds input (a batch
            // still to parse, or a frame still arriving, such as the next large
            // message whose header came with the last one's end) keeps the queue for
            // the next event instead of allocating it again.
            self.events.release();
        }
        Some(event)
    }

    /// The next bytes to write to the transport (empty when nothing is pending).
    /// Write them, then report how many were written with
    /// [`advance_transmit`](Self::advance_transmit).
    #[must_use]
    pub fn transmit(&self) -> &[u8] {
        self.tx.front()
    }

    /// Fills `dst` with the pending output as slices, in order, for a vectored write;
    /// returns how many slices it filled. Then call
    /// [`advance_transmit`](Self::advance_transmit).
    #[must_use]
    pub fn transmit_vectored<'a>(&'a self, dst: &mut [&'a [u8]]) -> usize {
        self.tx.chunks(dst)
    }

    /// Marks `n` bytes of pending output as written.
    pub fn advance_transmit(&mut self, n: usize) {
        self.tx.advance(n);
        self.wrote(n);
    }

    /// Appends all pending output to `out` and marks it written: one copy, for
    /// callers (and tests) that prefer a single buffer. Returns the byte count.
    pub fn transmit_into(&mut self, out: &mut Vec<u8>) -> usize {
        let n = self.tx.drain_into(out);
        self.wrote(n);
        n
    }

    /// Removes every data frame that has not been fully written and returns the
    /// payloads, so that an application can resend them elsewhere. Meant for a
    /// connection that ended with output still pending; pending control frames are
    /// dropped too.
    #[must_use]
    pub fn take_unsent(&mut self) -> Vec<Unsent> {
        let unsent = self.tx.take_unsent();
        self.track_output(false);
        unsent
    }
}

/// A client's request with the permessage-deflate offers of [`Config::deflate`],
/// unless the caller made its own.
#[cfg(feature = "deflate")]
fn offer_deflate(mut request: ClientRequest, config: &Config) -> ClientRequest {
    let Some(deflate) = &config.deflate else {
        return request;
    };
    let offered = request
        .extensions()
        .iter()
        .any(|e| e.name.eq_ignore_ascii_case(crate::deflate::NAME));
    if !offered {
        for offer in deflate.offers() {
            request = request.extension(offer);
        }
    }
    request
}
