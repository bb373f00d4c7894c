//! Messages (RFC 6455 §5.6) and their reassembly from fragments (§5.4).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use bytes::Bytes;

use crate::config::{Config, Delivery};
use crate::error::ProtocolError;
use crate::frame::{FrameHeader, OpCode};
use crate::mask::{extend_unmasked, extend_unmasked_ascii};
use crate::payload::Payload;
use crate::utf8::Utf8Validator;

/// The type of a data message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum MessageKind {
    /// UTF-8 text (opcode 0x1).
    Text,
    /// Binary data (opcode 0x2).
    Binary,
}

impl MessageKind {
    pub(crate) const fn opcode(self) -> OpCode {
        match self {
            MessageKind::Text => OpCode::Text,
            MessageKind::Binary => OpCode::Binary,
        }
    }
}

/// Bytes that are valid UTF-8: the payload of a text message.
///
/// Cheap to clone (it is a [`Payload`]: a short text is held inline, a longer one is
/// a [`Bytes`]). Every constructor checks UTF-8, so a `Text` always holds a valid
/// string.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Text(Payload);

/// The bytes given to [`Text::try_from`] were not valid UTF-8.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotUtf8(pub Bytes);

impl fmt::Display for NotUtf8 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("bytes are not valid UTF-8")
    }
}

impl core::error::Error for NotUtf8 {}

impl Text {
    /// An empty text.
    pub const fn new() -> Text {
        Text(Payload::new())
    }

    /// A text from a static string, without copying.
    pub const fn from_static(s: &'static str) -> Text {
        Text(Payload::from_static(s.as_bytes()))
    }

    /// Wraps bytes that the caller has already validated. Internal: every path that
    /// builds a `Text` from wire data has run the UTF-8 validator over exactly these
    /// bytes.
    pub(crate) const fn from_validated(bytes: Payload) -> Text {
        Text(bytes)
    }

    /// The text as a string slice.
    ///
    /// This checks the bytes again (the crate forbids `unsafe`, which an unchecked
    /// conversion would need), with a SIMD validator at several GB/s. Code that only
    /// forwards the text can use [`as_bytes`](Self::as_bytes) and skip it.
    pub fn as_str(&self) -> &str {
        // Every constructor validates, so the default (empty) is unreachable.
        crate::utf8::simd::basic::from_utf8(&self.0).unwrap_or_default()
    }

    /// The UTF-8 bytes.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The bytes as a [`Bytes`] (a copy, if the text is held inline).
    pub fn into_bytes(self) -> Bytes {
        self.0.into_bytes()
    }

    /// The underlying bytes, without copying.
    pub fn into_payload(self) -> Payload {
        self.0
    }

    /// Length in bytes.
    #[inline]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the text is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Text(Payload::from(s.into_bytes()))
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Text(Payload::copy_from_slice(s.as_bytes()))
    }
}

impl TryFrom<Bytes> for Text {
    type Error = NotUtf8;

    fn try_from(bytes: Bytes) -> Result<Self, NotUtf8> {
        match crate::utf8::simd::basic::from_utf8(&bytes) {
            Ok(_) => Ok(Text(bytes.into())),
            Err(_) => Err(NotUtf8(bytes)),
        }
    }
}

impl TryFrom<Payload> for Text {
    type Error = NotUtf8;

    fn try_from(bytes: Payload) -> Result<Self, NotUtf8> {
        match crate::utf8::simd::basic::from_utf8(&bytes) {
            Ok(_) => Ok(Text(bytes)),
            Err(_) => Err(NotUtf8(bytes.into_bytes())),
        }
    }
}

impl TryFrom<Vec<u8>> for Text {
    type Error = NotUtf8;

    fn try_from(bytes: Vec<u8>) -> Result<Self, NotUtf8> {
        Text::try_from(Bytes::from(bytes))
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl From<Text> for Bytes {
    fn from(t: Text) -> Self {
        t.into_bytes()
    }
}

impl From<Text> for Payload {
    fn from(t: Text) -> Self {
        t.0
    }
}

/// A whole data message.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Message {
    /// A text message.
    Text(Text),
    /// A binary message.
    Binary(Payload),
}

impl Message {
    /// Text or binary.
    #[inline]
    pub fn kind(&self) -> MessageKind {
        match self {
            Message::Text(_) => MessageKind::Text,
            Message::Binary(_) => MessageKind::Binary,
        }
    }

    /// The payload bytes.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Message::Text(t) => t.as_bytes(),
            Message::Binary(b) => b,
        }
    }

    /// The payload as a [`Bytes`] (a copy, if it is held inline).
    pub fn into_bytes(self) -> Bytes {
        self.into_payload().into_bytes()
    }

    /// The payload, without copying.
    pub fn into_payload(self) -> Payload {
        match self {
            Message::Text(t) => t.0,
            Message::Binary(b) => b,
        }
    }

    /// Payload length in bytes.
    #[inline]
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl From<Text> for Message {
    fn from(t: Text) -> Self {
        Message::Text(t)
    }
}

impl From<String> for Message {
    fn from(s: String) -> Self {
        Message::Text(s.into())
    }
}

impl From<&str> for Message {
    fn from(s: &str) -> Self {
        Message::Text(s.into())
    }
}

impl From<Bytes> for Message {
    fn from(b: Bytes) -> Self {
        Message::Binary(b.into())
    }
}

impl From<Payload> for Message {
    fn from(b: Payload) -> Self {
        Message::Binary(b)
    }
}

impl From<Vec<u8>> for Message {
    fn from(b: Vec<u8>) -> Self {
        Message::Binary(b.into())
    }
}

/// A piece of a message delivered in [`Delivery::Streamed`] mode.
///
/// Pieces of one message arrive in order, the first with `first` set and the last
/// with `last` set (one piece can be both). A piece never spans two frames. For text,
/// every piece is valid UTF-8 on its own: a code point cut by a frame or chunk
/// boundary is held back and starts the next piece.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Fragment {
    /// The message type, the same on every piece.
    pub kind: MessageKind,
    /// Payload bytes.
    pub data: Bytes,
    /// This is the first piece of the message.
    pub first: bool,
    /// This is the last piece of the message.
    pub last: bool,
}

/// How the payload of the data frame being read reaches the application.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Route {
    /// A whole message in one frame ([`Delivery::Whole`]): kept in the input buffer
    /// until complete and handed out as a view of it, with no copy (or, if it is
    /// small, copied into the event: see [`Payload`]).
    View,
    /// A fragment of a message to reassemble ([`Delivery::Whole`]): copied into the
    /// message buffer as it arrives.
    Reassemble,
    /// [`Delivery::Streamed`]: each piece handed out as it arrives.
    Stream,
    /// A compressed message (permessage-deflate) delivered whole: inflated into the
    /// message buffer as it arrives.
    #[cfg(feature = "deflate")]
    Inflate,
    /// A compressed message delivered in pieces, each at most [`PIECE`] bytes of
    /// inflated data.
    #[cfg(feature = "deflate")]
    InflateStream,
}

/// The most inflated bytes one streamed piece of a compressed message carries.
#[cfg(feature = "deflate")]
const PIECE: usize = 64 << 10;

/// The most a reassembly buffer starts with before any of its bytes arrived (see
/// `Assembler::last_len`).
const FIRST_ROOM_MAX: usize = 64 << 10;

/// Receive-side message state: sequencing (§5.4), limits, UTF-8 (§8.1), and the
/// buffer of a message reassembled from fragments.
#[derive(Debug, Default)]
pub(crate) struct Assembler {
    /// The message in progress, if a data frame started one.
    kind: Option<MessageKind>,
    /// Whether the frame being read is the message's last (FIN).
    fin: bool,
    fragments: u32,
    /// Bytes of the message declared so far (headers of its frames).
    declared: u64,
    /// The message so far ([`Route::Reassemble`]); never longer than
    /// `max_message_size`.
    buf: Vec<u8>,
    /// The length of the last message reassembled or inflated, at most
    /// [`FIRST_ROOM_MAX`]: the next one's buffer starts that large, so that a run of
    /// like-sized fragmented messages allocates once per message, not once per
    /// growth step.
    last_len: u32,
    utf8: Utf8Validator,
    /// Streamed mode: whether a piece of this message was delivered.
    delivered_first: bool,
    /// The peer's compression context and the state of the message it inflates,
    /// when permessage-deflate was negotiated (boxed: a connection without
    /// compression pays a pointer for it, and the plain receive path touches no
    /// more of the connection than before).
    #[cfg(feature = "deflate")]
    inflater: Option<alloc::boxed::Box<Inflating>>,
}

/// What a connection that negotiated permessage-deflate keeps for inflating.
#[cfg(feature = "deflate")]
#[derive(Debug)]
struct Inflating {
    codec: crate::deflate::codec::Inflater,
    /// The message in progress is compressed (RSV1 on its first frame).
    compressed: bool,
    /// Streamed mode: inflated bytes of the message delivered so far.
    inflated: u64,
}

impl Assembler {
    /// Checks a data frame's header against the message sequence and the limits,
    /// before any of its payload is read, and says how its payload travels.
    #[inline]
    pub(crate) fn begin_frame(
        &mut self,
        header: &FrameHeader,
        config: &Config,
    ) -> Result<Route, ProtocolError> {
        let first = match (header.opcode, self.kind) {
            (OpCode::Continuation, None) => return Err(ProtocolError::UnexpectedContinuation),
            // RFC 7692 §6.1: RSV1 marks a message's first frame only.
            (OpCode::Continuation, Some(_)) if header.rsv != 0 => {
                return Err(ProtocolError::ReservedBits(header.rsv));
            }
            (OpCode::Continuation, Some(_)) => {
                self.fragments = self.fragments.saturating_add(1);
                if self.fragments > config.max_fragments {
                    return Err(ProtocolError::TooManyFragments {
                        max: config.max_fragments,
                    });
                }
                false
            }
            (_, Some(_)) => return Err(ProtocolError::ExpectedContinuation),
            (opcode, None) => {
                #[cfg(feature = "deflate")]
                if let Some(inflating) = &mut self.inflater {
                    inflating.compressed = header.rsv != 0;
                    inflating.inflated = 0;
                }
                self.kind = Some(if opcode == OpCode::Text {
                    MessageKind::Text
                } else {
                    MessageKind::Binary
                });
                self.fragments = 1;
                self.declared = 0;
                self.delivered_first = false;
                self.utf8 = Utf8Validator::new();
                true
            }
        };
        let max_frame = config.frame_limit();
        if header.payload_len > max_frame {
            return Err(ProtocolError::FrameTooLarge {
                size: header.payload_len,
                max: max_frame,
            });
        }
        let size = self.declared.saturating_add(header.payload_len);
        if size > config.max_message_size {
            return Err(ProtocolError::MessageTooLarge {
                size,
                max: config.max_message_size,
            });
        }
        self.declared = size;
        self.fin = header.fin;
        #[cfg(feature = "deflate")]
        if self.inflater.as_ref().is_some_and(|i| i.compressed) {
            return Ok(match config.delivery {
                Delivery::Streamed => Route::InflateStream,
                _ => Route::Inflate,
            });
        }
        Ok(match config.delivery {
            Delivery::Streamed => Route::Stream,
            _ if first && header.fin => Route::View,
            _ => Route::Reassemble,
        })
    }

    /// Takes the header of one more continuation frame (RSV clear, `len` payload
    /// bytes, `fin` as given) of the message being reassembled, as
    /// [`begin_frame`](Self::begin_frame) would (its route stays
    /// [`Route::Reassemble`]). At a limit it changes nothing and says no: then the
    /// full check sees the frame and fails it with the right error.
    #[inline]
    pub(crate) fn continues(&mut self, len: usize, fin: bool, config: &Config) -> bool {
        let len = len as u64;
        let size = self.declared.saturating_add(len);
        if self.fragments >= config.max_fragments
            || len > config.frame_limit()
            || size > config.max_message_size
        {
            return false;
        }
        self.fragments += 1;
        self.declared = size;
        self.fin = fin;
        true
    }

    /// Whether a message being reassembled holds memory.
    pub(crate) fn holds_memory(&self) -> bool {
        self.buf.capacity() > 0
    }

    /// Whether the message is text (only asked while one is in progress).
    pub(crate) fn is_text(&self) -> bool {
        self.kind == Some(MessageKind::Text)
    }

    /// Validates the next bytes of a text message as they arrive, so that invalid
    /// UTF-8 fails the connection at the first bad byte; a message may not end
    /// inside a code point (§8.1). `end` says these bytes end the message; `ascii`
    /// that they were found to be ASCII already.
    #[inline]
    pub(crate) fn check_text(
        &mut self,
        bytes: &[u8],
        end: bool,
        ascii: bool,
    ) -> Result<(), ProtocolError> {
        check_utf8(&mut self.utf8, bytes, end, ascii)
    }

    /// The message of a [`Route::View`] frame, whose payload (checked as it came)
    /// is `payload`.
    pub(crate) fn finish_view(&mut self, payload: Payload) -> Message {
        let kind = self.kind.take();
        match kind {
            Some(MessageKind::Text) => Message::Text(Text::from_validated(payload)),
            _ => Message::Binary(payload),
        }
    }

    /// Takes the next bytes of a [`Route::Reassemble`] frame, masked with `mask`
    /// (the key and the payload position of the first byte) if the frame is: they
    /// are unmasked as they are copied into the message. `last` says they end the
    /// frame. Returns the message once its last frame ends.
    #[inline]
    pub(crate) fn reassemble(
        &mut self,
        bytes: &[u8],
        mask: Option<([u8; 4], usize)>,
        last: bool,
        config: &Config,
    ) -> Result<Option<Message>, ProtocolError> {
        let ends_message = last && self.fin;
        self.append(bytes, mask, ends_message, config)?;
        Ok(self.finish_buffered(ends_message))
    }

    /// Appends the next bytes of the message (see [`reassemble`](Self::reassemble)),
    /// checking text as they come; `ends_message` says they are its last.
    #[inline(always)]
    pub(crate) fn append(
        &mut self,
        bytes: &[u8],
        mask: Option<([u8; 4], usize)>,
        ends_message: bool,
        config: &Config,
    ) -> Result<(), ProtocolError> {
        let start = self.buf.len();
        if bytes.len() > self.buf.capacity() - start {
            self.grow(bytes.len(), config);
        }
        let text = self.is_text();
        // Text unmasked here is seen to be ASCII or not on the way, which spares the
        // UTF-8 check a pass over ASCII.
        let ascii = match mask {
            Some((key, at)) if text => extend_unmasked_ascii(bytes, &mut self.buf, key, at),
            Some((key, at)) => {
                extend_unmasked(bytes, &mut self.buf, key, at);
                false
            }
            None => {
                self.buf.extend_from_slice(bytes);
                false
            }
        };
        if text {
            check_utf8(&mut self.utf8, &self.buf[start..], ends_message, ascii)?;
        }
        Ok(())
    }

    /// Makes room in the message buffer for `more` bytes. Sized to what has
    /// arrived, never to a declared length, except that a new message starts as
    /// large as the last one (at most `FIRST_ROOM_MAX`, about one read's room: all
    /// a peer that stalls after one byte makes us hold). Growth is geometric
    /// (fourfold, so that a message of many small fragments is copied few times)
    /// but stops at the message limit, which the buffer so never exceeds.
    #[cold]
    #[inline(never)]
    fn grow(&mut self, more: usize, config: &Config) {
        let start = self.buf.len();
        let need = start + more;
        let limit = usize::try_from(config.max_message_size).unwrap_or(usize::MAX);
        let target = (self.buf.capacity() * 4)
            .max(1024)
            .max(self.last_len as usize)
            .clamp(need, limit.max(need));
        self.buf.reserve_exact(target - start);
    }

    /// The message reassembled, once its last frame's bytes were appended.
    #[inline]
    pub(crate) fn finish_reassembled(&mut self) -> Message {
        self.last_len = self.buf.len().min(FIRST_ROOM_MAX) as u32;
        let payload = Payload::from(core::mem::take(&mut self.buf));
        self.finish_view(payload)
    }

    /// Checks the text inflated into the buffer since `start`; at the message's end,
    /// hands the buffer over whole (an idle connection keeps no allocation).
    #[cfg(feature = "deflate")]
    fn check_buffered(
        &mut self,
        start: usize,
        ends_message: bool,
    ) -> Result<Option<Message>, ProtocolError> {
        if self.is_text() {
            check_utf8(&mut self.utf8, &self.buf[start..], ends_message, false)?;
        }
        Ok(self.finish_buffered(ends_message))
    }

    /// At the message's end, hands the buffer over whole.
    fn finish_buffered(&mut self, ends_message: bool) -> Option<Message> {
        ends_message.then(|| self.finish_reassembled())
    }

    /// Takes the next piece of a [`Route::Stream`] frame (unmasked, a view of the
    /// input); `last` says it ends the frame. Text pieces are each valid UTF-8: a
    /// code point cut at the end is held back and starts the next piece.
    pub(crate) fn stream(
        &mut self,
        piece: Bytes,
        last: bool,
    ) -> Result<Option<Fragment>, ProtocolError> {
        let Some(kind) = self.kind else {
            return Ok(None);
        };
        let ends_message = last && self.fin;
        let data = if kind == MessageKind::Text {
            let carried = self.utf8.carried();
            if carried.is_empty() {
                check_utf8(&mut self.utf8, &piece, ends_message, false)?;
                let held = self.utf8.carried().len();
                piece.slice(..piece.len() - held)
            } else {
                // A code point cut by the previous piece: this one starts with it, so
                // it is a copy of its own.
                let mut out = Vec::with_capacity(carried.len() + piece.len());
                out.extend_from_slice(carried);
                out.extend_from_slice(&piece);
                check_utf8(&mut self.utf8, &piece, ends_message, false)?;
                // What is held back now may span this piece and the carried bytes.
                let held = self.utf8.carried().len();
                out.truncate(out.len() - held);
                Bytes::from(out)
            }
        } else {
            piece
        };
        if ends_message {
            self.kind = None;
        } else if data.is_empty() {
            return Ok(None);
        }
        let first = !self.delivered_first;
        self.delivered_first = true;
        Ok(Some(Fragment {
            kind,
            data,
            first,
            last: ends_message,
        }))
    }

    /// Drops a partial message (when the connection ends).
    pub(crate) fn discard(&mut self) {
        self.kind = None;
        self.buf = Vec::new();
        #[cfg(feature = "deflate")]
        {
            self.inflater = None;
        }
    }

    /// Whether RSV1 may mark a compressed message (permessage-deflate negotiated).
    pub(crate) fn inflates(&self) -> bool {
        #[cfg(feature = "deflate")]
        return self.inflater.is_some();
        #[cfg(not(feature = "deflate"))]
        false
    }

    /// permessage-deflate was negotiated: the peer's messages may be compressed.
    #[cfg(feature = "deflate")]
    pub(crate) fn set_inflater(&mut self, inflater: crate::deflate::codec::Inflater) {
        self.inflater = Some(alloc::boxed::Box::new(Inflating {
            codec: inflater,
            compressed: false,
            inflated: 0,
        }));
    }

    /// Takes the next unmasked bytes of a [`Route::Inflate`] frame (all of them);
    /// `last` says they end the frame. The message buffer never grows past the
    /// message limit: inflating past it is an error as soon as it happens.
    #[cfg(feature = "deflate")]
    // Kept out of the plain receive path: inlined there, its bulk slows every
    // uncompressed frame; its own cost is the inflater's.
    #[inline(never)]
    pub(crate) fn inflate(
        &mut self,
        bytes: &[u8],
        last: bool,
        config: &Config,
    ) -> Result<Option<Message>, ProtocolError> {
        use crate::deflate::codec::TAIL;
        let ends_message = last && self.fin;
        let limit = usize::try_from(config.max_message_size).unwrap_or(usize::MAX);
        let start = self.buf.len();
        let Some(inflating) = &mut self.inflater else {
            return Err(ProtocolError::ReservedBits(0b100));
        };
        let inflater = &mut inflating.codec;
        let inflate = |i: &mut crate::deflate::codec::Inflater, input, out: &mut Vec<u8>| {
            i.inflate_bounded(input, out, limit)
                .map_err(|e| inflate_error(e, config))
        };
        inflate(inflater, bytes, &mut self.buf)?;
        if ends_message {
            // §7.2.2: the empty block the sender left off.
            inflate(inflater, &TAIL, &mut self.buf)?;
            inflater.end_message();
        }
        self.check_buffered(start, ends_message)
    }

    /// Takes the next unmasked bytes of a [`Route::InflateStream`] frame, as many as
    /// make one piece of at most [`PIECE`] inflated bytes; `last` says they end the
    /// frame. Returns the bytes consumed and the piece, if it is not empty.
    #[cfg(feature = "deflate")]
    // Kept out of the plain receive path: inlined there, its bulk slows every
    // uncompressed frame; its own cost is the inflater's.
    #[inline(never)]
    pub(crate) fn inflate_piece(
        &mut self,
        bytes: &[u8],
        last: bool,
        config: &Config,
    ) -> Result<(usize, Option<Fragment>), ProtocolError> {
        use crate::deflate::codec::TAIL;
        let Some(inflating) = &mut self.inflater else {
            return Err(ProtocolError::ReservedBits(0b100));
        };
        let left = config.max_message_size.saturating_sub(inflating.inflated);
        // One byte past what is left tells that the limit is broken.
        let cap = usize::try_from(left.saturating_add(1)).map_or(PIECE, |l| l.min(PIECE));
        let inflater = &mut inflating.codec;
        let mut out = Vec::new();
        let used = inflater
            .inflate(bytes, &mut out, cap)
            .map_err(|e| inflate_error(e, config))?;
        let frame_done = last && used == bytes.len();
        if frame_done && self.fin {
            let room = usize::try_from(left).unwrap_or(usize::MAX);
            inflater
                .inflate_bounded(&TAIL, &mut out, room)
                .map_err(|e| inflate_error(e, config))?;
            inflater.end_message();
        }
        inflating.inflated = inflating.inflated.saturating_add(out.len() as u64);
        if inflating.inflated > config.max_message_size {
            return Err(ProtocolError::InflatedTooLarge {
                max: config.max_message_size,
            });
        }
        let piece = self.stream(Bytes::from(out), frame_done)?;
        Ok((used, piece))
    }
}

#[cfg(feature = "deflate")]
fn inflate_error(e: crate::deflate::codec::InflateError, config: &Config) -> ProtocolError {
    match e {
        crate::deflate::codec::InflateError::Corrupt => ProtocolError::InvalidCompressedData,
        crate::deflate::codec::InflateError::TooLarge => ProtocolError::InflatedTooLarge {
            max: config.max_message_size,
        },
    }
}

/// Feeds `bytes` to the validator; at the end of a message nothing may be carried.
/// Bytes known to be ASCII, on a code point boundary, are valid and end on one.
#[inline]
fn check_utf8(
    utf8: &mut Utf8Validator,
    bytes: &[u8],
    end: bool,
    ascii: bool,
) -> Result<(), ProtocolError> {
    if ascii && utf8.carried().is_empty() {
        return Ok(());
    }
    let carried = utf8.feed(bytes).map_err(|_| ProtocolError::InvalidUtf8)?;
    if end && carried > 0 {
        return Err(ProtocolError::InvalidUtf8);
    }
    Ok(())
}
