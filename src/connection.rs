//! The [`Connection`]: one WebSocket endpoint as a value. This file only wires the
//! codecs together; the rules live in `frame`, `message`, `close` and `state`.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use bytes::{Buf, Bytes, BytesMut};

use crate::close::{CloseCode, MAX_REASON_LEN, encode_close_payload, parse_close_payload};
use crate::config::{Config, ConfigError};
use crate::entropy::Entropy;
use crate::error::{ConnectionError, ProtocolError, SendError};
use crate::event::{Closed, Event, Open};
use crate::frame::{Chunk, FrameHeader, FrameReader, MAX_CONTROL_PAYLOAD, OpCode, PayloadChunk};
use crate::handshake::client::{BodyReader, ClientRequest, ResponseHead, parse_response};
use crate::handshake::server::{Accept, Reject, Request, parse_request};
use crate::handshake::{Extension, HandshakeError, HeadReader, Headers, generate_key};
use crate::message::{Assembled, Assembler, Message, MessageKind, Text};
use crate::state::{Lifecycle, Phase, State, TransportAction};
use crate::time::Timestamp;
use crate::timer::{Timeout, Timer, TimerTable};
use crate::tx::{TxQueue, Unsent, frame_cost};
use crate::utf8::Utf8Validator;

/// Which end of the connection this is. Clients mask what they send and expect
/// unmasked frames; servers the reverse (§5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Role {
    /// The end that opened the connection.
    Client,
    /// The end that accepted it.
    Server,
}

impl Role {
    /// The other end's role.
    pub const fn peer(self) -> Role {
        match self {
            Role::Client => Role::Server,
            Role::Server => Role::Client,
        }
    }
}

/// What the opening handshake settled.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Negotiated {
    /// The subprotocol both ends agreed on (`Sec-WebSocket-Protocol`), if any.
    pub protocol: Option<String>,
    /// The extensions both ends agreed on (`Sec-WebSocket-Extensions`).
    pub extensions: Vec<Extension>,
}

impl Negotiated {
    /// Nothing negotiated: no subprotocol, no extension.
    pub const fn none() -> Negotiated {
        Negotiated {
            protocol: None,
            extensions: Vec::new(),
        }
    }

    /// The given subprotocol, no extension.
    pub fn with_protocol(protocol: impl Into<String>) -> Negotiated {
        Negotiated {
            protocol: Some(protocol.into()),
            extensions: Vec::new(),
        }
    }
}

/// Interim (1xx) responses a client skips before the final one, at most.
const MAX_INTERIM_RESPONSES: u8 = 32;

/// Parsing pauses once this many events wait to be polled, and resumes in
/// `poll_event`. Parsing in small batches keeps the event queue short and lets each
/// message's buffer be freed before the next ones are allocated.
const EVENT_BATCH: usize = 16;

/// An entry of the event queue: an event, or an action that takes effect when
/// [`Connection::poll_event`] reaches it, because events before it may prompt the
/// application to send something that must go out first.
#[derive(Debug)]
enum Queued {
    Event(Event),
    /// A ping to answer (with `auto_pong`), then report.
    Ping(Bytes),
    /// The peer's close frame to answer, then report.
    PeerClose(CloseCode, String),
    /// A protocol violation to act on.
    Failure(ProtocolError),
    /// The end of the stream.
    Eof,
}

/// The opening handshake in progress (CONNECTING).
#[derive(Debug)]
enum Opening {
    /// Server: reading the request head.
    ServerHead(HeadReader),
    /// Server: the request went out as an event; waiting for accept or reject, and
    /// keeping bytes that arrive meanwhile.
    ServerDecision { request: Request, early: Vec<u8> },
    /// Client: the request is queued; reading the response head.
    ClientHead {
        head: HeadReader,
        key: String,
        request: ClientRequest,
        /// Interim (1xx) responses skipped so far.
        interim: u8,
    },
    /// Client: the response was not 101; reading its body for the error.
    ClientBody {
        head: ResponseHead,
        body: BodyReader,
    },
}

/// What one step of the opening handshake led to.
enum Step {
    /// Still in progress.
    Continue(Opening),
    /// OPEN; these bytes came after the head and are frame data.
    Open(Vec<u8>),
    Fail(HandshakeError),
}

/// The control frame being read: opcode and payload so far (at most 125 bytes, so it
/// lives inline).
#[derive(Clone, Copy, Debug)]
struct ControlBuf {
    opcode: OpCode,
    len: u8,
    data: [u8; MAX_CONTROL_PAYLOAD],
}

impl ControlBuf {
    fn payload(&self) -> &[u8] {
        &self.data[..usize::from(self.len)]
    }
}

/// A streamed outgoing message (see [`Connection::send_fragment`]).
#[derive(Clone, Copy, Debug)]
struct Outgoing {
    kind: MessageKind,
    utf8: Utf8Validator,
}

/// A WebSocket connection, client or server, as a pure state machine (RFC 6455).
///
/// It owns no socket and reads no clock: the caller moves bytes and time in and out.
///
/// # Driving it
///
/// Methods come in four families:
/// - **inputs**: [`handle_data`](Self::handle_data) with bytes read from the transport,
///   [`handle_eof`](Self::handle_eof) when the transport's read side ends;
/// - **commands**: [`send`](Self::send), [`send_text`](Self::send_text),
///   [`send_binary`](Self::send_binary), [`send_fragment`](Self::send_fragment),
///   [`ping`](Self::ping), [`pong`](Self::pong), [`close`](Self::close). Misuse returns
///   a [`SendError`] and changes nothing;
/// - **outputs**, to drain after every input or command: [`poll_event`](Self::poll_event)
///   until `None`; then the bytes in [`transmit`](Self::transmit) (or
///   [`transmit_vectored`](Self::transmit_vectored)), followed by
///   [`advance_transmit`](Self::advance_transmit) with the number written; then
///   [`transport`](Self::transport) for whether to keep, shut down or close the
///   transport;
/// - **getters**: [`state`](Self::state), [`role`](Self::role),
///   [`buffered_amount`](Self::buffered_amount), [`protocol`](Self::protocol).
///
/// Received bytes are parsed at most a few events ahead of the application: once 16
/// events wait, parsing pauses and the rest of the input is kept until
/// [`poll_event`](Self::poll_event) has taken them. So the event queue stays short,
/// and memory grows only with what the caller feeds without polling.
///
/// Pongs and close frames are queued for output as soon as the frame that calls for
/// them is read, unless events read before it are still waiting: then the answer is
/// queued when `poll_event` reaches that point, so that whatever the application
/// sends in reply to the earlier events goes out first (a message echoed before the
/// close, say). The same holds for a protocol violation and for the end of the
/// stream: they take effect in the order the events report them.
///
/// # Time
///
/// Calls that take `now` expect a [`Timestamp`] that never goes backwards.
///
/// # Bad input
///
/// No input can make it panic or allocate more than the configured limits. A peer
/// that breaks the protocol gets the close frame [`ProtocolError::close_code`] names,
/// the connection becomes [`State::Closed`], and [`Event::Closed`] says why.
pub struct Connection {
    role: Role,
    config: Config,
    life: Lifecycle,
    negotiated: Negotiated,
    reader: FrameReader,
    /// The control frame being read, if the current frame is one.
    control: Option<ControlBuf>,
    assembler: Assembler,
    tx: TxQueue,
    events: VecDeque<Queued>,
    /// A close frame, a violation or the end of the stream was read behind events
    /// the application has not polled yet: nothing more is read.
    reading_stopped: bool,
    /// Received bytes not parsed yet: parsing pauses while [`EVENT_BATCH`] events
    /// wait to be polled.
    pending_input: BytesMut,
    /// The end of the stream came after `pending_input`.
    eof_pending: bool,
    /// Masking keys; only clients draw from it.
    entropy: Option<Box<dyn Entropy + Send>>,
    outgoing: Option<Outgoing>,
    /// An automatic pong waiting for room under the output limit.
    waiting_pong: Option<Bytes>,
    /// The opening handshake, while CONNECTING.
    opening: Option<Box<Opening>>,
    timers: TimerTable,
    /// Keepalive pings sent (their payload).
    pings_sent: u64,
    /// Our most recent ping and when it was sent, to time its pong.
    last_ping: Option<(Bytes, Timestamp)>,
    rtt: Option<Duration>,
    /// Since when output has waited with nothing written, once a `now` has told (see
    /// `track_output`).
    write_since: Option<Timestamp>,
    /// The largest `now` seen.
    now: Timestamp,
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
        role: Role,
        config: Config,
        phase: Phase,
        entropy: Option<Box<dyn Entropy + Send>>,
        now: Timestamp,
    ) -> Result<Connection, ConfigError> {
        config.validate()?;
        let mut conn = Connection {
            role,
            config,
            life: Lifecycle::new(role, phase),
            negotiated: Negotiated::none(),
            reader: FrameReader::new(),
            control: None,
            assembler: Assembler::default(),
            tx: TxQueue::default(),
            events: VecDeque::new(),
            reading_stopped: false,
            pending_input: BytesMut::new(),
            eof_pending: false,
            entropy,
            outgoing: None,
            waiting_pong: None,
            opening: None,
            timers: TimerTable::default(),
            pings_sent: 0,
            last_ping: None,
            rtt: None,
            write_since: None,
            now,
        };
        match phase {
            Phase::Connecting => {
                conn.timers
                    .set_after(Timer::Handshake, now, conn.config.handshake_timeout);
            }
            _ => conn.on_open(),
        }
        Ok(conn)
    }

    /// A server connection waiting for the client's upgrade request (§4.2).
    /// A valid request is reported as [`Event::Request`] for the application to
    /// [`accept`](Self::accept) or [`reject`](Self::reject); an invalid one is
    /// answered with the HTTP status its [`HandshakeError`] names, and the connection
    /// closes. Fails only on a setting out of range ([`Config::validate`]).
    pub fn server(config: Config, now: Timestamp) -> Result<Connection, ConfigError> {
        let mut conn = Connection::new(Role::Server, config, Phase::Connecting, None, now)?;
        conn.opening = Some(Box::new(Opening::ServerHead(HeadReader::default())));
        Ok(conn)
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
        let key = generate_key(&mut *entropy).map_err(HandshakeError::Entropy)?;
        let head = request.encode(&key)?;
        let mut conn = Connection::new(Role::Client, config, Phase::Connecting, Some(entropy), now)
            .map_err(HandshakeError::InvalidConfig)?;
        conn.tx.push_http(Bytes::from(head));
        conn.track_output(true);
        conn.opening = Some(Box::new(Opening::ClientHead {
            head: HeadReader::default(),
            key,
            request,
            interim: 0,
        }));
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
        let mut conn = Connection::new(Role::Server, config, Phase::Open, None, now)?;
        conn.negotiated = negotiated;
        conn.handle_data(now, leftover);
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
        let mut conn = Connection::new(
            Role::Client,
            config,
            Phase::Open,
            Some(Box::new(entropy)),
            now,
        )?;
        conn.negotiated = negotiated;
        conn.handle_data(now, leftover);
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
        self.rtt
    }

    /// The earliest deadline at which [`handle_timeout`](Self::handle_timeout) has
    /// something to do, or `None`. Changes after inputs and commands: ask again each
    /// time round the loop.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.timers.next()
    }

    /// What the opening handshake settled.
    pub fn negotiated(&self) -> &Negotiated {
        &self.negotiated
    }

    /// (Server) The upgrade request awaiting [`accept`](Self::accept) or
    /// [`reject`](Self::reject).
    pub fn request(&self) -> Option<&Request> {
        match self.opening.as_deref() {
            Some(Opening::ServerDecision { request, .. }) => Some(request),
            _ => None,
        }
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    // ---- inputs --------------------------------------------------------------------

    /// Takes bytes read from the transport. Any split of the stream is fine, down to
    /// one byte at a time. Never fails: a peer's protocol violation queues the close
    /// frame that answers it and ends the connection with [`Event::Closed`].
    /// Bytes that arrive when the connection no longer reads frames (after the peer's
    /// close frame, or after a failure) are discarded (§7.1.7, §5.5.1).
    pub fn handle_data(&mut self, now: Timestamp, data: &[u8]) {
        self.observe(now);
        if let Some(opening) = self.opening.take() {
            if let Some(frames) = self.read_opening(*opening, data) {
                self.read_frames(&frames);
            }
        } else {
            self.read_frames(data);
        }
        self.track_output(true);
    }

    fn reads_frames(&self) -> bool {
        self.life.reads_frames() && !self.reading_stopped
    }

    /// Parses frames from `data` until it is used up, the connection stops reading,
    /// or [`EVENT_BATCH`] events wait to be polled; keeps what is left for
    /// [`poll_event`](Self::poll_event) to resume with.
    fn read_frames(&mut self, data: &[u8]) {
        if !data.is_empty() && self.reads_frames() {
            self.on_life();
        }
        if !self.pending_input.is_empty() {
            // Earlier bytes are still waiting: keep the order.
            if self.reads_frames() {
                self.pending_input.extend_from_slice(data);
            }
            return;
        }
        let used = self.parse(data);
        if used < data.len() && self.reads_frames() {
            self.pending_input.extend_from_slice(&data[used..]);
        }
    }

    /// Resumes parsing the kept input once the events before it have been polled.
    fn resume_input(&mut self) {
        let mut input = core::mem::take(&mut self.pending_input);
        let used = self.parse(&input);
        if used < input.len() && self.reads_frames() {
            input.advance(used);
            self.pending_input = input;
        } else if self.eof_pending {
            self.eof_pending = false;
            self.eof_in_order();
        }
    }

    /// The frame loop; returns how many bytes of `data` it consumed.
    fn parse(&mut self, all: &[u8]) -> usize {
        let mut data = all;
        while self.reads_frames() && self.events.len() < EVENT_BATCH {
            let result = match self.reader.read(&mut data) {
                Ok(None) => break,
                Ok(Some(Chunk::Header(header))) => self.on_header(&header),
                Ok(Some(Chunk::Payload(piece))) => self.on_payload(&piece),
                Err(e) => Err(e),
            };
            if let Err(e) = result {
                self.fail(e);
            }
        }
        all.len() - data.len()
    }

    /// The transport's read side reached end of stream. Before a clean close this
    /// ends the connection abnormally: [`Event::Closed`] with code 1006 (§7.1.5), and
    /// nothing is sent. After a clean close it lets [`transport`](Self::transport)
    /// say [`TransportAction::Close`].
    pub fn handle_eof(&mut self, now: Timestamp) {
        self.observe(now);
        if let Some(opening) = self.opening.take()
            && let Opening::ClientBody { head, body } = *opening
        {
            // A response body delimited by the end of the stream is now complete.
            let response = Box::new(body.finish(head));
            self.fail_handshake(HandshakeError::Rejected(response));
        }
        self.opening = None;
        if !self.pending_input.is_empty() && self.reads_frames() {
            // After the bytes that arrived before it.
            self.eof_pending = true;
        } else {
            self.eof_in_order();
        }
        self.track_output(true);
    }

    fn eof_in_order(&mut self) {
        // Behind waiting events (a close or a violation among them, perhaps), the end
        // of the stream takes its turn; it changes nothing once the connection ended.
        if !self.events.is_empty() && self.life.reads_frames() {
            self.events.push_back(Queued::Eof);
            self.reading_stopped = true;
            return;
        }
        self.eof_now();
    }

    fn eof_now(&mut self) {
        self.timers.stop_all();
        if self.life.eof() {
            self.push_failed(CloseCode::ABNORMAL, ConnectionError::Eof);
        }
    }

    /// Acts on every deadline that `now` has reached: a keepalive ping, or ending the
    /// connection for a handshake, pong, idle or close timeout. Calling it early,
    /// late or twice is harmless: only deadlines at or before `now` fire, and each
    /// fires once.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        self.observe(now);
        // Each timer is looked at once per call, in `Timer::ALL` order, whatever it
        // re-arms itself to; one that ends the connection stops the others.
        for timer in Timer::ALL {
            if self.timers.get(timer).is_none_or(|at| at > self.now) {
                continue;
            }
            self.timers.stop(timer);
            match timer {
                Timer::Handshake => self.fail_timeout(Timeout::Handshake),
                Timer::Write => self.write_deadline(),
                Timer::Idle => self.fail_timeout(Timeout::Idle),
                Timer::Pong => self.fail_timeout(Timeout::Pong),
                Timer::Close => {
                    if self.life.phase() == Phase::CloseSent {
                        self.fail_timeout(Timeout::Close);
                    } else {
                        // The closing handshake is done; stop waiting for the peer
                        // to end the transport.
                        self.life.stop_waiting();
                    }
                }
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
        let Some(request) = self.request() else {
            return Err(SendError::InvalidState(self.state()));
        };
        let response = accept.response(request).map_err(SendError::Handshake)?;
        let Some(Opening::ServerDecision { early, .. }) = self.opening.take().map(|o| *o) else {
            return Err(SendError::InvalidState(self.state()));
        };
        self.tx.push_http(Bytes::from(response));
        self.timers.stop(Timer::Handshake);
        let protocol = accept.selected_protocol().map(String::from);
        self.negotiated = Negotiated {
            protocol: protocol.clone(),
            extensions: Vec::new(),
        };
        self.life.opened();
        self.on_open();
        self.emit(Event::Open(Box::new(Open {
            protocol,
            extensions: Vec::new(),
            headers: Headers::new(),
        })));
        self.read_frames(&early);
        self.track_output(true);
        Ok(())
    }

    /// (Server) Rejects the pending upgrade request with any status, header fields
    /// and body (401 with `WWW-Authenticate`, a redirect, 429...). The response is
    /// queued and the connection closes ([`TransportAction::Close`] after writing).
    pub fn reject(&mut self, now: Timestamp, reject: Reject) -> Result<(), SendError> {
        self.observe(now);
        if self.request().is_none() {
            return Err(SendError::InvalidState(self.state()));
        }
        let response = reject.response().map_err(SendError::Handshake)?;
        self.opening = None;
        self.tx.push_http(Bytes::from(response));
        self.timers.stop_all();
        if self.life.fail() {
            let error = HandshakeError::RejectedByApplication(reject.status());
            self.push_failed(CloseCode::ABNORMAL, ConnectionError::Handshake(error));
        }
        self.track_output(true);
        Ok(())
    }

    /// Queues a whole message as one frame. The payload is not copied for a server;
    /// a client masks it in place if the buffer is not shared, else masks a copy.
    pub fn send(&mut self, message: impl Into<Message>) -> Result<(), SendError> {
        if self.outgoing.is_some() {
            self.check_open()?;
            return Err(SendError::MessageInProgress);
        }
        let (kind, payload) = match message.into() {
            Message::Text(text) => (MessageKind::Text, text.into_bytes()),
            Message::Binary(bytes) => (MessageKind::Binary, bytes),
        };
        self.queue_data(kind.opcode(), true, payload, kind)?;
        self.track_output(false);
        Ok(())
    }

    /// Queues a text message.
    pub fn send_text(&mut self, text: impl Into<Text>) -> Result<(), SendError> {
        self.send(Message::Text(text.into()))
    }

    /// Queues a binary message.
    pub fn send_binary(&mut self, data: impl Into<Bytes>) -> Result<(), SendError> {
        self.send(Message::Binary(data.into()))
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
        let payload = data.into();
        let (opcode, mut utf8) = match self.outgoing {
            None => (kind.opcode(), Utf8Validator::new()),
            Some(out) if out.kind == kind => (OpCode::Continuation, out.utf8),
            Some(_) => return Err(SendError::MessageInProgress),
        };
        if kind == MessageKind::Text {
            match utf8.feed(&payload) {
                Ok(carried) if !last || carried == 0 => {}
                _ => return Err(SendError::InvalidUtf8),
            }
        }
        self.queue_data(opcode, last, payload, kind)?;
        self.track_output(false);
        self.outgoing = if last {
            None
        } else {
            Some(Outgoing { kind, utf8 })
        };
        Ok(())
    }

    /// Sends a ping with up to 125 bytes of payload (§5.5.2).
    pub fn ping(&mut self, now: Timestamp, payload: impl Into<Bytes>) -> Result<(), SendError> {
        self.observe(now);
        let payload = payload.into();
        self.queue_control(OpCode::Ping, payload.clone())?;
        self.last_ping = Some((payload, self.now));
        self.track_output(true);
        Ok(())
    }

    /// Sends a pong with up to 125 bytes of payload: the answer to a ping when
    /// `auto_pong` is off, or an unsolicited heartbeat (§5.5.3).
    pub fn pong(&mut self, payload: impl Into<Bytes>) -> Result<(), SendError> {
        self.queue_control(OpCode::Pong, payload.into())?;
        self.track_output(false);
        Ok(())
    }

    /// Starts the closing handshake (§7.1.2): queues a close frame with `code` and a
    /// UTF-8 `reason` of at most 123 bytes. [`CloseCode::NO_STATUS`] sends a close
    /// frame without a body (the reason must then be empty). Afterwards nothing more
    /// can be sent; received messages are still delivered until the peer's close
    /// frame arrives.
    pub fn close(
        &mut self,
        now: Timestamp,
        code: CloseCode,
        reason: &str,
    ) -> Result<(), SendError> {
        self.observe(now);
        self.check_open()?;
        if code == CloseCode::NO_STATUS {
            if !reason.is_empty() {
                return Err(SendError::ReasonWithoutCode);
            }
        } else if !code.is_sendable() {
            return Err(SendError::InvalidCloseCode(code));
        }
        if reason.len() > MAX_REASON_LEN {
            return Err(SendError::ControlPayloadTooLong(reason.len()));
        }
        self.queue_close(code, reason)?;
        self.life.close_sent();
        // Only the close timeout matters from here on.
        self.timers.stop_all();
        self.timers
            .set_after(Timer::Close, self.now, self.config.close_timeout);
        self.track_output(true);
        Ok(())
    }

    // ---- outputs -------------------------------------------------------------------

    /// The next event, or `None` when there is nothing to report. Answers that wait
    /// behind earlier events (see the type's documentation) are queued for output
    /// here, when their turn comes.
    #[inline]
    pub fn poll_event(&mut self) -> Option<Event> {
        let event = loop {
            if self.events.is_empty() && (!self.pending_input.is_empty() || self.eof_pending) {
                self.resume_input();
            }
            match self.events.pop_front()? {
                Queued::Event(event) => break event,
                Queued::Ping(payload) => {
                    self.answer_ping(&payload);
                    self.track_output(false);
                    break Event::Ping(payload);
                }
                Queued::PeerClose(code, reason) => {
                    self.peer_closed(code, reason);
                    self.track_output(false);
                }
                Queued::Failure(error) => {
                    self.fail_now(error);
                    self.track_output(false);
                }
                Queued::Eof => self.eof_now(),
            }
        };
        if self.events.is_empty() && self.events.capacity() > 0 && self.pending_input.is_empty() {
            // An idle connection holds no heap buffers; one with input still to parse
            // keeps the queue for the next batch.
            self.events = VecDeque::new();
        }
        Some(event)
    }

    fn emit(&mut self, event: Event) {
        self.events.push_back(Queued::Event(event));
    }

    /// The next bytes to write to the transport (empty when nothing is pending).
    /// Write them, then report how many were written with
    /// [`advance_transmit`](Self::advance_transmit).
    pub fn transmit(&self) -> &[u8] {
        self.tx.front()
    }

    /// Fills `dst` with the pending output as slices, in order, for a vectored write;
    /// returns how many slices it filled. Then call
    /// [`advance_transmit`](Self::advance_transmit).
    pub fn transmit_vectored<'a>(&'a self, dst: &mut [&'a [u8]]) -> usize {
        self.tx.chunks(dst)
    }

    /// Marks `n` bytes of pending output as written.
    pub fn advance_transmit(&mut self, n: usize) {
        self.tx.advance(n);
        self.release_waiting_pong(false);
        self.wrote(n);
    }

    /// Appends all pending output to `out` and marks it written: one copy, for
    /// callers (and tests) that prefer a single buffer. Returns the byte count.
    pub fn transmit_into(&mut self, out: &mut Vec<u8>) -> usize {
        let mut n = self.tx.drain_into(out);
        self.release_waiting_pong(false);
        // A pong that waited for room goes out in the same call.
        n += self.tx.drain_into(out);
        self.wrote(n);
        n
    }

    /// Removes every data frame that has not been fully written and returns the
    /// payloads, so that an application can resend them elsewhere. Meant for a
    /// connection that ended with output still pending; pending control frames are
    /// dropped too.
    pub fn take_unsent(&mut self) -> Vec<Unsent> {
        self.tx.take_unsent()
    }

    // ---- opening handshake ---------------------------------------------------------

    /// Feeds the opening handshake. Returns the bytes that follow the head once the
    /// connection is OPEN.
    fn read_opening(&mut self, opening: Opening, data: &[u8]) -> Option<Vec<u8>> {
        let step = match opening {
            Opening::ServerHead(head) => self.server_head(head, data),
            Opening::ServerDecision { request, mut early } => {
                early.extend_from_slice(data);
                if early.len() > self.config.max_handshake_size {
                    Step::Fail(HandshakeError::TooMuchEarlyData)
                } else {
                    Step::Continue(Opening::ServerDecision { request, early })
                }
            }
            Opening::ClientHead {
                head,
                key,
                request,
                interim,
            } => self.client_head(head, key, request, interim, data),
            Opening::ClientBody { head, mut body } => {
                if body.push(data) {
                    Step::Fail(HandshakeError::Rejected(Box::new(body.finish(head))))
                } else {
                    Step::Continue(Opening::ClientBody { head, body })
                }
            }
        };
        match step {
            Step::Continue(opening) => {
                self.opening = Some(Box::new(opening));
                None
            }
            Step::Open(rest) => {
                self.life.opened();
                self.timers.stop(Timer::Handshake);
                self.on_open();
                Some(rest)
            }
            Step::Fail(error) => {
                self.fail_handshake(error);
                None
            }
        }
    }

    fn server_head(&mut self, mut head: HeadReader, data: &[u8]) -> Step {
        let max = self.config.max_handshake_size;
        let end = match head.push(data, max) {
            Ok(Some(end)) => end,
            Ok(None) => return Step::Continue(Opening::ServerHead(head)),
            Err(e) => return Step::Fail(e),
        };
        let (request, end) = match parse_request(&head.buf()[..end], &self.config) {
            Ok(Some(parsed)) => parsed,
            // A complete head always parses to a request or an error.
            Ok(None) => return Step::Fail(HandshakeError::Malformed),
            Err(e) => return Step::Fail(e),
        };
        let mut early = head.into_buf();
        early.drain(..end);
        // The request is reported in any case, so that the outcome does not depend on
        // whether the excess came in the same read.
        self.emit(Event::Request(Box::new(request.clone())));
        if early.len() > max {
            return Step::Fail(HandshakeError::TooMuchEarlyData);
        }
        Step::Continue(Opening::ServerDecision { request, early })
    }

    fn client_head(
        &mut self,
        mut head: HeadReader,
        key: String,
        request: ClientRequest,
        mut interim: u8,
        data: &[u8],
    ) -> Step {
        let max = self.config.max_handshake_size;
        let mut input = data.to_vec();
        let (response, rest) = loop {
            let end = match head.push(&input, max) {
                Ok(Some(end)) => end,
                Ok(None) => {
                    return Step::Continue(Opening::ClientHead {
                        head,
                        key,
                        request,
                        interim,
                    });
                }
                Err(e) => return Step::Fail(e),
            };
            let (response, used) = match parse_response(&head.buf()[..end], self.config.max_headers)
            {
                Ok(Some(parsed)) => parsed,
                Ok(None) => return Step::Fail(HandshakeError::Malformed),
                Err(e) => return Step::Fail(e),
            };
            let mut rest = core::mem::take(&mut head).into_buf();
            rest.drain(..used);
            if !(100..200).contains(&response.status) || response.status == 101 {
                break (response, rest);
            }
            // An interim response (100 Continue, 103 Early Hints): RFC 9110 §15.2 has
            // clients read past them to the final one. More than a few is not a
            // server talking HTTP in good faith.
            interim += 1;
            if interim > MAX_INTERIM_RESPONSES {
                return Step::Fail(HandshakeError::Malformed);
            }
            input = rest;
        };
        if response.status != 101 {
            // §4.1: anything but 101 fails the handshake; keep the body for the error.
            let mut body = BodyReader::new(&response.headers, response.status, max);
            return if body.push(&rest) {
                Step::Fail(HandshakeError::Rejected(Box::new(body.finish(response))))
            } else {
                Step::Continue(Opening::ClientBody {
                    head: response,
                    body,
                })
            };
        }
        match request.check_response(&key, &response.headers) {
            Ok((protocol, extensions)) => {
                self.negotiated = Negotiated {
                    protocol: protocol.clone(),
                    extensions: extensions.clone(),
                };
                self.emit(Event::Open(Box::new(Open {
                    protocol,
                    extensions,
                    headers: response.headers,
                })));
                Step::Open(rest)
            }
            Err(e) => Step::Fail(e),
        }
    }

    /// The opening handshake failed: a server queues the HTTP answer the error names;
    /// either way the connection closes (1006: no close frame was exchanged).
    fn fail_handshake(&mut self, error: HandshakeError) {
        self.opening = None;
        self.timers.stop_all();
        if self.role == Role::Server
            && let Some(answer) = Reject::for_error(&error)
            && let Ok(bytes) = answer.response()
        {
            self.tx.push_http(Bytes::from(bytes));
        }
        if self.life.fail() {
            self.push_failed(CloseCode::ABNORMAL, ConnectionError::Handshake(error));
        }
    }

    // ---- receive path --------------------------------------------------------------

    fn observe(&mut self, now: Timestamp) {
        if now > self.now {
            self.now = now;
        }
    }

    fn on_header(&mut self, header: &FrameHeader) -> Result<(), ProtocolError> {
        // §5.2: RSV bits "MUST be 0 unless an extension is negotiated that defines
        // meanings for non-zero values".
        if header.rsv != 0 {
            return Err(ProtocolError::ReservedBits(header.rsv));
        }
        // §5.1: a server MUST close on an unmasked frame, a client on a masked one.
        match (self.role, header.mask.is_some()) {
            (Role::Server, false) => return Err(ProtocolError::UnmaskedFrame),
            (Role::Client, true) => return Err(ProtocolError::MaskedFrame),
            _ => {}
        }
        if header.opcode.is_control() {
            self.control = Some(ControlBuf {
                opcode: header.opcode,
                len: 0,
                data: [0; MAX_CONTROL_PAYLOAD],
            });
            Ok(())
        } else {
            self.assembler.begin_frame(header, &self.config)
        }
    }

    fn on_payload(&mut self, piece: &PayloadChunk<'_>) -> Result<(), ProtocolError> {
        if let Some(control) = &mut self.control {
            // The header check bounds control payloads to 125 bytes.
            let at = usize::from(control.len);
            let end = at + piece.data.len();
            piece.unmask_to(&mut control.data[at..end]);
            control.len = end as u8;
            if piece.last
                && let Some(control) = self.control.take()
            {
                self.on_control(&control)?;
            }
            return Ok(());
        }
        if piece.last {
            self.on_data_frame();
        }
        match self.assembler.push(piece, self.config.delivery)? {
            Assembled::Nothing => {}
            Assembled::Message(message) => self.emit(Event::Message(message)),
            Assembled::Fragment(fragment) => self.emit(Event::Fragment(fragment)),
        }
        Ok(())
    }

    fn on_control(&mut self, control: &ControlBuf) -> Result<(), ProtocolError> {
        let payload = control.payload();
        match control.opcode {
            OpCode::Ping => {
                let payload = Bytes::copy_from_slice(payload);
                if self.events.is_empty() {
                    self.answer_ping(&payload);
                    self.emit(Event::Ping(payload));
                } else {
                    self.events.push_back(Queued::Ping(payload));
                }
            }
            OpCode::Pong => {
                if let Some((sent, at)) = &self.last_ping
                    && sent[..] == *payload
                {
                    self.rtt = Some(self.now.saturating_duration_since(*at));
                    self.last_ping = None;
                }
                self.emit(Event::Pong(Bytes::copy_from_slice(payload)));
            }
            _ => {
                let (code, reason) = parse_close_payload(payload)?;
                let reason = String::from(reason);
                if self.events.is_empty() {
                    self.peer_closed(code, reason);
                } else {
                    self.events.push_back(Queued::PeerClose(code, reason));
                    self.reading_stopped = true;
                }
            }
        }
        Ok(())
    }

    /// §5.5.2: answer a ping with a pong carrying the same data, unless a close
    /// frame was already sent (nothing follows it on the wire).
    fn answer_ping(&mut self, payload: &Bytes) {
        if self.config.auto_pong && self.life.may_send() {
            self.queue_auto_pong(payload);
        }
    }

    /// The peer's close frame takes effect.
    fn peer_closed(&mut self, code: CloseCode, reason: String) {
        if !self.life.reads_frames() {
            // The connection ended (a timeout, say) while this close waited its turn.
            return;
        }
        if self.life.may_send() {
            // §5.5.1: answer with a close frame, echoing the status code. Queued after
            // output already pending, so nothing queued is lost.
            self.queue_close_unchecked(code, "");
        }
        self.life.close_received();
        // The closing handshake is complete: bound the wait for the end of the
        // transport.
        self.timers.stop_all();
        self.timers
            .set_after(Timer::Close, self.now, self.config.close_timeout);
        // A message the peer left unfinished is dropped with its close.
        self.assembler.discard();
        self.push_closed(code, reason, None);
    }

    /// Fails the connection (§7.1.7): queue the close frame that answers `error`
    /// unless ours is already out, stop reading, report. Behind events still waiting
    /// to be polled, reading stops now and the rest happens in their order.
    fn fail(&mut self, error: ProtocolError) {
        if !self.events.is_empty() {
            self.events.push_back(Queued::Failure(error));
            self.reading_stopped = true;
            return;
        }
        self.fail_now(error);
    }

    fn fail_now(&mut self, error: ProtocolError) {
        // The code reported is the one sent for this failure; if our close frame
        // already went out, none is, and like a browser we report 1006.
        let code = if self.life.may_send() {
            let code = error.close_code();
            self.queue_close_unchecked(code, "");
            code
        } else {
            CloseCode::ABNORMAL
        };
        self.timers.stop_all();
        if self.life.fail() {
            self.push_failed(code, ConnectionError::Protocol(error));
        }
    }

    // ---- timers --------------------------------------------------------------------

    /// The connection is OPEN: the keepalive and idle deadlines start.
    fn on_open(&mut self) {
        self.on_life();
        self.on_data_frame();
    }

    /// Bytes arrived from the peer: it is alive. While OPEN, the keepalive deadline
    /// moves forward and a pending pong deadline is met.
    fn on_life(&mut self) {
        if self.life.may_send() {
            let (now, config) = (self.now, &self.config);
            self.timers
                .set_after(Timer::Keepalive, now, config.ping_interval);
            self.timers.stop(Timer::Pong);
        }
    }

    /// A data frame arrived whole: the connection is not idle. Partial frames and
    /// control frames do not count, so neither a trickle of bytes nor keepalive
    /// traffic alone keeps a connection open.
    fn on_data_frame(&mut self) {
        if self.life.may_send() {
            let (now, config) = (self.now, &self.config);
            self.timers.set_after(Timer::Idle, now, config.idle_timeout);
        }
    }

    /// Keeps the write deadline in step with the output queue; called at the end of
    /// every call that can queue output. `fresh` says the call passed `now`, so that
    /// `self.now` is the time the output started waiting; otherwise the deadline is
    /// provisional and the next `now` settles it (see `write_deadline`), so that it
    /// never fires early.
    fn track_output(&mut self, fresh: bool) {
        if self.tx.buffered() == 0 || self.state() == State::Closed {
            self.timers.stop(Timer::Write);
            self.write_since = None;
            return;
        }
        if fresh && self.write_since.is_none() {
            self.write_since = Some(self.now);
        }
        if self.timers.get(Timer::Write).is_none() {
            let since = self.write_since.unwrap_or(self.now);
            self.timers
                .set_after(Timer::Write, since, self.config.write_timeout);
        }
    }

    /// `n` bytes of output were written: the write deadline starts again.
    fn wrote(&mut self, n: usize) {
        if n > 0 {
            self.write_since = None;
            self.timers.stop(Timer::Write);
        }
        self.track_output(false);
    }

    /// The write deadline passed: fail if output has waited the whole write timeout
    /// since a `now` first saw it waiting, else wait the rest.
    fn write_deadline(&mut self) {
        let now = self.now;
        let timeout = self.config.write_timeout.filter(|d| !d.is_zero());
        match self.write_since {
            Some(since)
                if timeout
                    .and_then(|d| since.checked_add(d))
                    .is_some_and(|at| at <= now) =>
            {
                self.fail_timeout(Timeout::Write);
            }
            since => {
                let since = since.unwrap_or(now);
                self.write_since = Some(since);
                self.timers
                    .set_after(Timer::Write, since, self.config.write_timeout);
            }
        }
    }

    /// Sends a keepalive ping (its payload counts the pings sent) and starts the pong
    /// deadline if it is not running. If output is too full to take the ping, the
    /// deadline still runs: a peer that reads nothing is as dead as one that answers
    /// nothing.
    fn keepalive(&mut self) {
        if !self.life.may_send() {
            return;
        }
        let payload = Bytes::copy_from_slice(&self.pings_sent.to_be_bytes());
        if self.queue_control(OpCode::Ping, payload.clone()).is_ok() {
            self.pings_sent += 1;
            self.last_ping = Some((payload, self.now));
        }
        let (now, config) = (self.now, &self.config);
        self.timers
            .set_after(Timer::Keepalive, now, config.ping_interval);
        if self.timers.get(Timer::Pong).is_none() {
            let pong_timeout = config.effective_pong_timeout();
            self.timers.set_after(Timer::Pong, now, pong_timeout);
        }
    }

    /// Ends the connection for a timeout: 1006 locally, nothing sent but a server's
    /// HTTP answer when the opening handshake timed out (408 if the request was still
    /// arriving, 503 if the application had not answered).
    fn fail_timeout(&mut self, timeout: Timeout) {
        if self.role == Role::Server
            && let Some(opening) = self.opening.take()
        {
            let status = match *opening {
                Opening::ServerDecision { .. } => 503,
                _ => 408,
            };
            if let Ok(bytes) = Reject::new(status).response() {
                self.tx.push_http(Bytes::from(bytes));
            }
        }
        self.opening = None;
        self.timers.stop_all();
        if self.life.fail() {
            self.push_failed(CloseCode::ABNORMAL, ConnectionError::Timeout(timeout));
        }
        self.life.stop_waiting();
    }

    /// Reports the end of a connection that did not close cleanly; a message being
    /// received is dropped.
    fn push_failed(&mut self, code: CloseCode, error: ConnectionError) {
        self.assembler.discard();
        self.control = None;
        self.push_closed(code, String::new(), Some(error));
    }

    fn push_closed(&mut self, code: CloseCode, reason: String, error: Option<ConnectionError>) {
        // Nothing more will be sent: a pong still waiting for room is dropped.
        self.waiting_pong = None;
        let clean = error.is_none();
        self.emit(Event::Closed(Box::new(Closed {
            code,
            reason,
            clean,
            error,
        })));
    }

    // ---- send path -----------------------------------------------------------------

    fn check_open(&self) -> Result<(), SendError> {
        if self.life.may_send() {
            Ok(())
        } else {
            Err(SendError::InvalidState(self.state()))
        }
    }

    /// A header for an outgoing frame, with a fresh masking key for a client (§5.3).
    fn header(&mut self, opcode: OpCode, fin: bool, len: usize) -> Result<FrameHeader, SendError> {
        let mut header = FrameHeader::new(opcode, len as u64);
        header.fin = fin;
        if self.role == Role::Client {
            let mut key = [0u8; 4];
            if let Some(entropy) = &mut self.entropy {
                entropy.fill(&mut key).map_err(SendError::Entropy)?;
            }
            header.mask = Some(key);
        }
        Ok(header)
    }

    /// Whether a frame with `payload` bytes behind this header fits under the output
    /// limit now, its records counted (see [`frame_cost`]).
    fn fits(&self, header_len: usize, payload: usize) -> bool {
        let cost = frame_cost(header_len.saturating_add(payload), payload);
        self.tx.cost().saturating_add(cost) <= self.config.max_buffered_output
    }

    fn check_room(&self, header: &FrameHeader) -> Result<(), SendError> {
        let payload = usize::try_from(header.payload_len).unwrap_or(usize::MAX);
        if !self.fits(header.encoded_len(), payload) {
            return Err(SendError::BufferFull {
                held: self.tx.cost(),
                limit: self.config.max_buffered_output,
            });
        }
        Ok(())
    }

    fn queue_data(
        &mut self,
        opcode: OpCode,
        fin: bool,
        payload: Bytes,
        kind: MessageKind,
    ) -> Result<(), SendError> {
        self.check_open()?;
        let header = self.header(opcode, fin, payload.len())?;
        self.check_room(&header)?;
        self.tx.push(header, payload, Some(kind));
        Ok(())
    }

    fn queue_control(&mut self, opcode: OpCode, payload: Bytes) -> Result<(), SendError> {
        self.check_open()?;
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(SendError::ControlPayloadTooLong(payload.len()));
        }
        let header = self.header(opcode, true, payload.len())?;
        self.check_room(&header)?;
        self.tx.push(header, payload, None);
        Ok(())
    }

    /// Queues the answer to a ping. When it does not fit under the output limit, it
    /// waits outside the queue instead, the newest ping's pong replacing an older one
    /// (§5.5.3 lets an endpoint answer only the most recent ping), and goes out once
    /// written output makes room. Bytes already queued are never changed: the caller
    /// may hold a copy it has not reported written yet.
    fn queue_auto_pong(&mut self, payload: &Bytes) {
        // The pong shares the ping's payload with the `Ping` event.
        let payload = payload.clone();
        if self.pong_fits(&payload) && self.waiting_pong.is_none() {
            self.push_pong(payload);
        } else {
            self.waiting_pong = Some(payload);
        }
    }

    /// Whether a pong goes into the queue now: under the output limit, or into an
    /// empty queue whatever its size (a pong the limit alone would refuse must still
    /// be sent, §5.5.2).
    fn pong_fits(&self, payload: &[u8]) -> bool {
        // Control payloads are at most 125 bytes: a 2-byte header, plus a client's key.
        let header = if self.role == Role::Client { 6 } else { 2 };
        self.tx.buffered() == 0 || self.fits(header, payload.len())
    }

    fn push_pong(&mut self, payload: Bytes) {
        // Only a failing entropy source stops it; then no frame can be sent anyway.
        if let Ok(header) = self.header(OpCode::Pong, true, payload.len()) {
            self.tx.push(header, payload, None);
        }
    }

    /// Queues the waiting pong if there is room for it now (or, with `force`, in any
    /// case: before our close frame, which nothing may follow).
    fn release_waiting_pong(&mut self, force: bool) {
        let Some(payload) = &self.waiting_pong else {
            return;
        };
        if !self.life.may_send() {
            self.waiting_pong = None;
        } else if force || self.pong_fits(payload) {
            let payload = payload.clone();
            self.waiting_pong = None;
            self.push_pong(payload);
        }
    }

    fn queue_close(&mut self, code: CloseCode, reason: &str) -> Result<(), SendError> {
        let mut body = [0u8; MAX_CONTROL_PAYLOAD];
        let len = encode_close_payload(code, reason, &mut body);
        // The key first: if it cannot be drawn, nothing has been queued.
        let header = self.header(OpCode::Close, true, len)?;
        // A pong still owed goes before the close frame, which nothing may follow.
        self.release_waiting_pong(true);
        // A close frame is never refused for room: it is at most 131 bytes and there
        // is only ever one.
        self.tx
            .push(header, Bytes::copy_from_slice(&body[..len]), None);
        Ok(())
    }

    /// Queues a close frame the connection owes the peer. Only an entropy failure can
    /// stop it; then the connection is closing anyway and the frame is left out.
    fn queue_close_unchecked(&mut self, code: CloseCode, reason: &str) {
        let _ = self.queue_close(code, reason);
    }
}
