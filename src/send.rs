//! The send side: frames built from the application's commands and the
//! connection's own answers, masked for a client (§5.3), under the output limit,
//! into the output queue. Whether the connection may send at all is the
//! lifecycle's to say; this decides how.

use alloc::boxed::Box;
use alloc::vec::Vec;

use bytes::Bytes;

use crate::Role;
use crate::close::{CloseCode, encode_close_payload};
use crate::entropy::Entropy;
use crate::error::SendError;
#[cfg(feature = "deflate")]
use crate::frame::MAX_HEADER_LEN;
use crate::frame::{FrameHeader, MAX_CONTROL_PAYLOAD, OpCode};
use crate::message::{Message, MessageKind};
use crate::tx::{Body, TxQueue, Unsent, encoded_cost, frame_cost};
use crate::utf8::Utf8Validator;

/// A message framed once, to send to many server connections at the cost of a
/// reference count each, as a broadcast wants: see
/// [`Connection::send_prepared`](crate::Connection::send_prepared).
///
/// A server's frames are unmasked, so the same bytes serve every connection. A
/// client masks every frame with a key of its own (§5.3): it cannot share them, and
/// frames the payload anew.
///
/// ```
/// use wsmachine::{Config, Connection, Negotiated, Prepared, Timestamp};
/// let now = Timestamp::ZERO;
/// let mut conns: Vec<Connection> = (0..3)
///     .map(|_| Connection::upgraded_server(Config::default(), Negotiated::none(), &[], now).unwrap())
///     .collect();
/// let news = Prepared::new("breaking news");
/// for conn in &mut conns {
///     conn.send_prepared(&news).unwrap();
///     assert_eq!(conn.transmit(), &b"\x81\x0dbreaking news"[..]);
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prepared {
    /// Header and payload, unmasked.
    frame: Bytes,
    head_len: usize,
    kind: MessageKind,
    /// The payload compressed from a fresh context (see [`Prepared::deflated`]).
    #[cfg(feature = "deflate")]
    deflated: Option<Deflated>,
}

/// A prepared message's compressed payload, and the window it was compressed with.
#[cfg(feature = "deflate")]
#[derive(Clone, Debug, PartialEq, Eq)]
struct Deflated {
    payload: Bytes,
    window_bits: u8,
}

impl Prepared {
    /// Frames `message` (one frame, FIN set). The payload is copied once, next to
    /// its header.
    pub fn new(message: impl Into<Message>) -> Prepared {
        let message = message.into();
        let kind = message.kind();
        let payload = message.as_bytes();
        let header = FrameHeader::new(kind.opcode(), payload.len() as u64);
        let mut frame = Vec::with_capacity(header.encoded_len() + payload.len());
        header.encode_to_vec(&mut frame);
        let head_len = frame.len();
        frame.extend_from_slice(payload);
        Prepared {
            frame: Bytes::from(frame),
            head_len,
            kind,
            #[cfg(feature = "deflate")]
            deflated: None,
        }
    }

    /// Frames `message` like [`new`](Self::new), and also compresses it once, from a
    /// fresh context, with `config`'s level and `server_max_window_bits`
    /// (permessage-deflate, RFC 7692). A message compressed alone refers to nothing
    /// sent before it, so every connection that compresses with at least that window
    /// sends these same compressed bytes:
    ///
    /// - without context takeover on its side, nothing else changes;
    /// - with context takeover, its compressor starts afresh after this message
    ///   (the peer's window now ends with data the compressor never saw), which costs
    ///   some ratio on the next message only.
    ///
    /// Where it cannot be shared (no compression negotiated, a smaller window, a
    /// message under [`DeflateConfig::min_size`](crate::deflate::DeflateConfig::min_size))
    /// the uncompressed frame goes out instead, which every peer accepts.
    #[cfg(feature = "deflate")]
    pub fn deflated(
        message: impl Into<Message>,
        config: &crate::deflate::DeflateConfig,
    ) -> Prepared {
        use crate::deflate::codec::Deflater;
        let mut prepared = Prepared::new(message);
        let window_bits = config.server_max_window_bits;
        prepared.deflated = Deflater::compress_alone(config.level, window_bits, prepared.payload())
            .map(|payload| Deflated {
                payload: Bytes::from(payload),
                window_bits,
            });
        prepared
    }

    /// The frame's bytes as a server sends them.
    pub fn frame(&self) -> &[u8] {
        &self.frame
    }

    /// Text or binary.
    pub fn kind(&self) -> MessageKind {
        self.kind
    }

    /// The payload.
    pub fn payload(&self) -> &[u8] {
        &self.frame[self.head_len..]
    }
}

/// A streamed outgoing message (see [`Sender::fragment`]).
#[derive(Clone, Copy, Debug)]
struct Outgoing {
    kind: MessageKind,
    utf8: Utf8Validator,
}

/// Builds and queues outgoing frames.
// In this order: what every send reads first, then the queue (see `Connection`).
#[repr(C)]
pub(crate) struct Sender {
    outgoing: Option<Outgoing>,
    role: Role,
    /// Our close frame is queued: nothing may follow it.
    closed: bool,
    /// `Config::max_buffered_output`.
    limit: usize,
    queue: TxQueue,
    /// An automatic pong waiting for room under the output limit.
    waiting_pong: Option<Bytes>,
    /// Masking keys; only clients draw from it.
    entropy: Option<Box<dyn Entropy + Send>>,
    /// The masking key drawn ahead for our close frame (see
    /// [`prepare_close`](Self::prepare_close)).
    close_key: Option<[u8; 4]>,
    /// Our compressor, when permessage-deflate was negotiated and may compress.
    #[cfg(feature = "deflate")]
    /// Boxed: a connection without compression pays a pointer for it.
    deflate: Option<Box<Compressing>>,
}

/// The send side of permessage-deflate.
#[cfg(feature = "deflate")]
#[derive(Debug)]
struct Compressing {
    deflater: crate::deflate::codec::Deflater,
    /// Messages shorter than this go uncompressed.
    min_size: usize,
    /// The message being streamed is compressed.
    streaming: bool,
}

impl core::fmt::Debug for Sender {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Sender")
            .field("buffered", &self.queue.buffered())
            .field("waiting_pong", &self.waiting_pong.is_some())
            .finish_non_exhaustive()
    }
}

impl Sender {
    pub(crate) fn new(
        role: Role,
        entropy: Option<Box<dyn Entropy + Send>>,
        limit: usize,
    ) -> Sender {
        Sender {
            queue: TxQueue::default(),
            role,
            entropy,
            limit,
            outgoing: None,
            waiting_pong: None,
            closed: false,
            close_key: None,
            #[cfg(feature = "deflate")]
            deflate: None,
        }
    }

    /// permessage-deflate was negotiated: messages of at least `min_size` bytes are
    /// compressed from now on.
    #[cfg(feature = "deflate")]
    pub(crate) fn set_deflater(
        &mut self,
        deflater: crate::deflate::codec::Deflater,
        min_size: usize,
    ) {
        self.deflate = Some(Box::new(Compressing {
            deflater,
            min_size,
            streaming: false,
        }));
    }

    /// Whether a whole message of `len` bytes goes out compressed.
    fn compresses(&self, len: usize) -> bool {
        #[cfg(feature = "deflate")]
        return self
            .deflate
            .as_ref()
            .is_some_and(|d| len >= d.min_size && len > 0);
        #[cfg(not(feature = "deflate"))]
        {
            let _ = len;
            false
        }
    }

    /// A whole message as one frame. The payload is not copied for a server; a
    /// client masks it in place if the buffer is not shared, else as it goes out.
    pub(crate) fn message(&mut self, message: Message, compress: bool) -> Result<(), SendError> {
        if self.outgoing.is_some() {
            return Err(SendError::MessageInProgress);
        }
        let kind = message.kind();
        let message = message.into_payload();
        if message.is_inline() {
            // Copied into the output (a `Bytes` of it would be an allocation).
            return if compress {
                self.message_copied(kind, &message)
            } else {
                self.data(kind.opcode(), true, Body::Copied(&message), kind)
            };
        }
        if compress && self.compresses(message.len()) {
            return self.compressed(kind.opcode(), true, message.into_bytes(), kind);
        }
        self.data(
            kind.opcode(),
            true,
            Body::Shared(message.into_bytes()),
            kind,
        )
    }

    /// One fragment of a message streamed piece by piece (§5.4). The first picks the
    /// kind; later ones must repeat it. Text must be valid UTF-8 as a whole: a piece
    /// that makes it invalid, or a last piece that leaves a code point unfinished, is
    /// refused.
    pub(crate) fn fragment(
        &mut self,
        kind: MessageKind,
        payload: Bytes,
        last: bool,
    ) -> Result<(), SendError> {
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
        if self.streams_compressed(opcode) {
            self.compressed(opcode, last, payload, kind)?;
        } else {
            self.data(opcode, last, Body::Shared(payload), kind)?;
        }
        self.outgoing = (!last).then_some(Outgoing { kind, utf8 });
        Ok(())
    }

    /// A ping or pong of the application's, under the limit like data.
    pub(crate) fn control(&mut self, opcode: OpCode, payload: Bytes) -> Result<(), SendError> {
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(SendError::ControlPayloadTooLong(payload.len()));
        }
        let header = self.header(opcode, true, payload.len())?;
        self.check_room(&header)?;
        self.queue.push(header, Body::Shared(payload), None);
        Ok(())
    }

    /// A whole message as one frame, its payload copied from the caller's slice
    /// (into the contiguous buffer of small frames when it is small: no allocation).
    pub(crate) fn message_copied(
        &mut self,
        kind: MessageKind,
        payload: &[u8],
    ) -> Result<(), SendError> {
        if self.outgoing.is_some() {
            return Err(SendError::MessageInProgress);
        }
        if self.compresses(payload.len()) {
            // Kept whole beside its compressed frame, to hand back if unsent.
            let original = Bytes::copy_from_slice(payload);
            return self.compressed(kind.opcode(), true, original, kind);
        }
        self.data(kind.opcode(), true, Body::Copied(payload), kind)
    }

    /// Whether the frame of a streamed message goes out compressed: all of a
    /// message's frames or none, decided at its first (RSV1 is set there only).
    fn streams_compressed(&mut self, opcode: OpCode) -> bool {
        #[cfg(feature = "deflate")]
        if let Some(d) = &mut self.deflate {
            if opcode != OpCode::Continuation {
                d.streaming = true;
            }
            return d.streaming;
        }
        let _ = opcode;
        false
    }

    /// A compressed data frame (RFC 7692 §7.2.1): RSV1 on a message's first frame.
    /// The room is checked, and a client's key drawn, before the compressor runs:
    /// with context takeover, a frame refused after compressing would leave the
    /// compressor ahead of what the peer saw.
    #[cfg(feature = "deflate")]
    fn compressed(
        &mut self,
        opcode: OpCode,
        fin: bool,
        original: Bytes,
        kind: MessageKind,
    ) -> Result<(), SendError> {
        // Deflate's worst case: the input stored, a few bytes per block, the flush.
        let bound = original.len() + original.len() / 1024 + 64;
        let room = frame_cost(MAX_HEADER_LEN + bound, bound).saturating_add(original.len());
        self.check_cost(room)?;
        let mask = self.key(opcode)?;
        let Some(d) = &mut self.deflate else {
            return self.data(opcode, fin, Body::Shared(original), kind);
        };
        let mut out = Vec::new();
        d.deflater.compress(&original, &mut out, fin);
        if fin {
            d.streaming = false;
        }
        let mut header = FrameHeader::new(opcode, out.len() as u64);
        header.fin = fin;
        if opcode != OpCode::Continuation {
            header.rsv = 0b100;
        }
        header.mask = mask;
        self.queue
            .push_compressed(header, Bytes::from(out), kind, original);
        Ok(())
    }

    #[cfg(not(feature = "deflate"))]
    fn compressed(
        &mut self,
        opcode: OpCode,
        fin: bool,
        original: Bytes,
        kind: MessageKind,
    ) -> Result<(), SendError> {
        self.data(opcode, fin, Body::Shared(original), kind)
    }

    /// A message framed once elsewhere ([`Prepared`]): a server queues its bytes,
    /// shared; a client, which must mask each frame with a key of its own, frames
    /// the payload anew.
    pub(crate) fn prepared(&mut self, message: &Prepared) -> Result<(), SendError> {
        if self.outgoing.is_some() {
            return Err(SendError::MessageInProgress);
        }
        #[cfg(feature = "deflate")]
        if let Some(deflated) = self.shares_deflated(message) {
            return self.prepared_deflated(message, deflated);
        }
        if self.role == Role::Client {
            let payload = message.frame.slice(message.head_len..);
            return self.data(
                message.kind.opcode(),
                true,
                Body::Shared(payload),
                message.kind,
            );
        }
        let cost = encoded_cost(message.frame.len());
        self.check_cost(cost)?;
        self.queue
            .push_encoded(message.frame.clone(), message.head_len, message.kind);
        Ok(())
    }

    /// The compressed bytes of `message` this connection may send as they are: it
    /// compresses a message of that size, with a window at least as large.
    #[cfg(feature = "deflate")]
    fn shares_deflated(&self, message: &Prepared) -> Option<Bytes> {
        let deflated = message.deflated.as_ref()?;
        let d = self.deflate.as_ref()?;
        (self.compresses(message.payload().len())
            && d.deflater.window_bits() >= deflated.window_bits)
            .then(|| deflated.payload.clone())
    }

    /// Queues a prepared message's compressed payload (shared, not copied, on a
    /// server); with context takeover, our compressor starts afresh after it.
    #[cfg(feature = "deflate")]
    fn prepared_deflated(&mut self, message: &Prepared, payload: Bytes) -> Result<(), SendError> {
        let original = message.frame.slice(message.head_len..);
        let room = frame_cost(MAX_HEADER_LEN + payload.len(), payload.len())
            .saturating_add(original.len());
        self.check_cost(room)?;
        let opcode = message.kind.opcode();
        let mut header = FrameHeader::new(opcode, payload.len() as u64);
        header.rsv = 0b100;
        header.mask = self.key(opcode)?;
        if let Some(d) = &mut self.deflate {
            d.deflater.forget();
        }
        self.queue
            .push_compressed(header, payload, message.kind, original);
        Ok(())
    }

    #[inline]
    fn data(
        &mut self,
        opcode: OpCode,
        fin: bool,
        payload: Body<'_>,
        kind: MessageKind,
    ) -> Result<(), SendError> {
        let header = self.header(opcode, fin, payload.len())?;
        self.check_room(&header)?;
        self.queue.push(header, payload, Some(kind));
        Ok(())
    }

    /// A header for an outgoing frame, with a fresh masking key for a client (§5.3).
    fn header(&mut self, opcode: OpCode, fin: bool, len: usize) -> Result<FrameHeader, SendError> {
        let mut header = FrameHeader::new(opcode, len as u64);
        header.fin = fin;
        header.mask = self.key(opcode)?;
        Ok(header)
    }

    /// The masking key of the next frame: a fresh one for a client (the one drawn
    /// ahead for a close frame), none for a server.
    fn key(&mut self, opcode: OpCode) -> Result<Option<[u8; 4]>, SendError> {
        if self.role != Role::Client {
            return Ok(None);
        }
        let drawn = if opcode == OpCode::Close {
            self.close_key.take()
        } else {
            None
        };
        match drawn {
            Some(key) => Ok(Some(key)),
            None => self.draw_key().map(Some),
        }
    }

    fn draw_key(&mut self) -> Result<[u8; 4], SendError> {
        let mut key = [0u8; 4];
        if let Some(entropy) = &mut self.entropy {
            entropy.fill(&mut key).map_err(SendError::Entropy)?;
        }
        Ok(key)
    }

    /// Draws the masking key of the close frame the application is about to ask for,
    /// so that an entropy failure refuses the close before anything changes.
    pub(crate) fn prepare_close(&mut self) -> Result<(), SendError> {
        if self.role == Role::Client {
            self.close_key = Some(self.draw_key()?);
        }
        Ok(())
    }

    /// Whether a frame with `payload` bytes behind a header of `header_len` fits
    /// under the output limit now, a record of its own counted (see [`frame_cost`]).
    fn fits(&self, header_len: usize, payload: usize) -> bool {
        let cost = frame_cost(header_len.saturating_add(payload), payload);
        self.queue.cost().saturating_add(cost) <= self.limit
    }

    fn check_room(&self, header: &FrameHeader) -> Result<(), SendError> {
        let payload = usize::try_from(header.payload_len).unwrap_or(usize::MAX);
        self.check_cost(frame_cost(
            header.encoded_len().saturating_add(payload),
            payload,
        ))
    }

    /// Whether `cost` more (see [`frame_cost`]) fits under the output limit now;
    /// refused with [`SendError::BufferFull`] otherwise, nothing queued.
    fn check_cost(&self, cost: usize) -> Result<(), SendError> {
        if self.queue.cost().saturating_add(cost) > self.limit {
            return Err(SendError::BufferFull {
                held: self.queue.cost(),
                limit: self.limit,
            });
        }
        Ok(())
    }

    /// Answers a ping (§5.5.2). When the pong does not fit under the output limit,
    /// it waits outside the queue instead, the newest ping's pong replacing an
    /// older one (§5.5.3 lets an endpoint answer only the most recent ping), and goes
    /// out once written output makes room. Bytes already queued are never changed:
    /// the caller may hold a copy it has not reported written yet.
    pub(crate) fn auto_pong(&mut self, payload: &Bytes) {
        if self.closed {
            return;
        }
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
        self.queue.buffered() == 0 || self.fits(header, payload.len())
    }

    fn push_pong(&mut self, payload: Bytes) {
        // Only a failing entropy source stops it; then no frame can be sent anyway.
        if let Ok(header) = self.header(OpCode::Pong, true, payload.len()) {
            self.queue.push(header, Body::Shared(payload), None);
        }
    }

    /// Queues the waiting pong if there is room for it now (or, with `force`, in any
    /// case: before our close frame, which nothing may follow).
    fn release_waiting_pong(&mut self, force: bool) {
        let Some(payload) = &self.waiting_pong else {
            return;
        };
        if force || self.pong_fits(payload) {
            let payload = payload.clone();
            self.waiting_pong = None;
            self.push_pong(payload);
        }
    }

    /// Queues a close frame (the caller checked the code and reason). A pong still
    /// owed goes before it. It is never refused for room: it is at most 131 bytes and
    /// there is only ever one. Only a failing entropy source stops it (then nothing
    /// is queued).
    pub(crate) fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), SendError> {
        let mut body = [0u8; MAX_CONTROL_PAYLOAD];
        let len = encode_close_payload(code, reason, &mut body);
        // The key first: if it cannot be drawn, nothing has been queued.
        let header = self.header(OpCode::Close, true, len)?;
        self.release_waiting_pong(true);
        self.queue.push(header, Body::Copied(&body[..len]), None);
        self.closed = true;
        Ok(())
    }

    /// Queues HTTP bytes (the opening handshake's request or response).
    pub(crate) fn http(&mut self, bytes: Bytes) {
        self.queue.push_http(bytes);
    }

    /// Nothing more is sent on the peer's behalf: a pong waiting for room is dropped.
    pub(crate) fn end(&mut self) {
        self.waiting_pong = None;
        self.closed = true;
    }

    // ---- the output -------------------------------------------------------------

    /// Bytes waiting to be written.
    pub(crate) fn buffered(&self) -> usize {
        self.queue.buffered()
    }

    pub(crate) fn front(&self) -> &[u8] {
        self.queue.front()
    }

    pub(crate) fn chunks<'a>(&'a self, dst: &mut [&'a [u8]]) -> usize {
        self.queue.chunks(dst)
    }

    /// Marks `n` bytes written; a pong that waited for room may go in now.
    pub(crate) fn advance(&mut self, n: usize) {
        self.queue.advance(n);
        self.release_waiting_pong(false);
    }

    /// Appends all pending output to `out` and marks it written, a pong that waited
    /// for room included.
    pub(crate) fn drain_into(&mut self, out: &mut Vec<u8>) -> usize {
        let n = self.queue.drain_into(out);
        self.release_waiting_pong(false);
        n + self.queue.drain_into(out)
    }

    pub(crate) fn take_unsent(&mut self) -> Vec<Unsent> {
        self.queue.take_unsent()
    }
}
