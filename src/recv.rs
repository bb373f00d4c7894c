//! The receive side: the connection's input buffer, frames parsed in it (§5.2),
//! checked against the role and the extensions (§5.1, §5.2), unmasked in place
//! (§5.3), control frames collected (§5.5) and data frames turned into messages
//! (§5.4, §8.1). A message that came in one frame is handed out as a view of the
//! input buffer: the transport's read into that buffer is its only copy. What each
//! arrival makes the connection do is the connection's.
//!
//! The buffer holds the input not taken out yet, then room for the next read. It is
//! released whenever nothing is kept, so an idle connection holds no heap; and it
//! never grows past a small multiple of the bytes the peer actually sent (never to a
//! length a frame header merely declares).

use alloc::string::String;

use bytes::{Buf, Bytes, BytesMut};

use crate::Role;
use crate::close::{CloseCode, parse_close_payload};
use crate::config::Config;
use crate::error::ProtocolError;
use crate::frame::{Decode, FrameHeader, MAX_HEADER_LEN, OpCode, decode_header};
use crate::mask::{apply_mask, unmask_ascii};
use crate::message::{Assembler, Fragment, Message, Route};
use crate::payload::Payload;

#[cfg(feature = "deflate")]
impl Receiver {
    /// permessage-deflate was negotiated: compressed messages inflate on arrival.
    pub(crate) fn set_inflater(&mut self, inflater: crate::deflate::codec::Inflater) {
        self.assembler.set_inflater(inflater);
    }
}

/// What arrived.
#[derive(Debug)]
pub(crate) enum Item {
    Message(Message),
    Fragment(Fragment),
    Ping(Bytes),
    Pong(Bytes),
    /// The peer's close frame: its code (1005 without one) and reason.
    Close(CloseCode, String),
}

/// The most room [`Receiver::read_buf`] offers when no frame needs more: as much as
/// one read from a socket usually brings at most.
pub(crate) const READ_SIZE: usize = 64 << 10;

/// The least room it offers. The room adapts between the two: a read that fills
/// it doubles the next offer, one that brings little halves it. A connection that
/// exchanges small messages reads into little memory (fresh room is zeroed first,
/// for safe code may not read into uninitialized memory), one that streams gets
/// large reads.
const MIN_ROOM: usize = 4 << 10;

/// A frame kept whole in the buffer may make it grow to this many times the bytes
/// of the frame already received (plus one read): enough that a large message is
/// copied at most a fraction of its size on the way, while a header declaring a huge
/// length costs little until the bytes come (or no more than the last large message
/// the peer sent, see [`Receiver::growth_room`]).
const GROWTH: usize = 8;

/// A message of at least this many bytes, received in one frame, is handed out with
/// the whole buffer it was read into, which is then reused for the next large frame
/// if the application has dropped the message by the time the next read needs room:
/// that memory is warm and already initialized, so the read needs no zeroing pass.
const REUSE_MIN: usize = READ_SIZE;

/// The most input that may follow a large message in its buffer for the next frame
/// to go into that buffer (see [`Receiver::make_room`]): after the read that ends a
/// large frame, a header at most (see [`large_read`]).
const STASH: usize = 4 * MAX_HEADER_LEN;

/// How much of a large frame's `remaining` bytes to offer a read, when reads bring
/// about `room` bytes at most: all of it and a header's worth more, so that the read
/// that ends the frame brings the next header (and the next frame then goes into the
/// same buffer) but little of the next payload (which would be copied out of the
/// message's buffer and into the next). A frame that would end in the last few
/// bytes of a full read is offered its end less a header, for the next read to
/// bring a header whole behind it.
fn large_read(remaining: usize, room: usize) -> usize {
    if remaining + MAX_HEADER_LEN > room && remaining <= room {
        remaining.saturating_sub(MAX_HEADER_LEN).max(1)
    } else {
        remaining + MAX_HEADER_LEN
    }
}

/// How the frame being read is taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Take {
    /// A control frame: collected whole (at most 125 bytes), then copied out.
    Control(OpCode),
    Data(Route),
}

/// The frame whose payload is being read.
#[derive(Clone, Copy, Debug)]
struct InFrame {
    take: Take,
    /// The masking key, as a word (as bytes beside an `Option`'s tag, it would be
    /// stored a byte at a time and read back as a word: a store-forwarding stall);
    /// 0 for an unmasked frame, which a zero key leaves alike (§5.3: the XOR with
    /// it changes nothing).
    mask: u32,
    /// Index in the buffer where the payload starts (frames kept whole).
    start: usize,
    /// Payload bytes already processed (unmasked, checked): the mask's phase.
    done: usize,
    /// Payload bytes still to come.
    remaining: usize,
}

impl InFrame {
    /// The key to unmask with, if unmasking changes anything.
    fn key(&self) -> Option<[u8; 4]> {
        (self.mask != 0).then(|| self.mask.to_ne_bytes())
    }

    /// Whether its payload stays in the buffer until the frame is complete.
    fn kept_whole(&self) -> bool {
        matches!(self.take, Take::Control(_) | Take::Data(Route::View))
    }

    /// Whether it is kept whole and large enough to be received into the spare.
    fn large(self) -> bool {
        self.kept_whole() && self.done + self.remaining >= REUSE_MIN
    }
}

/// Frames in, arrivals out.
#[derive(Debug)]
pub(crate) struct Receiver {
    /// `[0, filled)`: input not taken out yet; `[filled, len)`: initialized room for
    /// the next read.
    buf: BytesMut,
    filled: usize,
    /// Where parsing resumes: the next header, or the next payload byte of `frame`.
    pos: usize,
    frame: Option<InFrame>,
    /// Parsing stopped because the input ran out (rather than being paused with
    /// input left).
    starved: bool,
    /// The room to offer the next read (see [`MIN_ROOM`]), and the room offered to
    /// the last one.
    room: usize,
    offered: usize,
    assembler: Assembler,
    /// A data frame arrived whole since [`take_data_frame`](Self::take_data_frame).
    data_frame: bool,
    /// Bytes of the frame in progress at the parse position already unmasked but not
    /// yet taken (a compressed piece that filled up before its input was used); kept
    /// here, not in [`InFrame`], which the loop over plain frames moves often.
    #[cfg(feature = "deflate")]
    clear: usize,
    /// The buffer the last large message was handed out of, up to the message's end
    /// (see [`REUSE_MIN`]; `buf` is then the buffer's rest); kept only while a large
    /// frame is being received, and only until the next read needs room.
    spare: Option<Bytes>,
    /// The length of the last large message handed out whole: a frame kept whole
    /// may have the buffer grow to that at once (see [`growth_room`](Self::growth_room)).
    /// A hint, held in the room a word would leave unused: capped at 4 GiB.
    last_large: u32,
}

impl Default for Receiver {
    fn default() -> Self {
        Receiver {
            buf: BytesMut::new(),
            filled: 0,
            pos: 0,
            frame: None,
            #[cfg(feature = "deflate")]
            clear: 0,
            starved: true,
            room: MIN_ROOM,
            offered: 0,
            assembler: Assembler::default(),
            data_frame: false,
            spare: None,
            last_large: 0,
        }
    }
}

impl Receiver {
    // ---- input ------------------------------------------------------------------

    /// Whether input waits that parsing paused before (its events not polled yet).
    pub(crate) fn has_pending(&self) -> bool {
        !self.starved && self.pos < self.filled
    }

    /// Whether the receiver holds input bytes (parsed or not), a buffer to reuse or a
    /// message being reassembled: false once the connection is idle.
    pub(crate) fn holds_input(&self) -> bool {
        self.buf.capacity() > 0 || self.spare.is_some() || self.assembler.holds_memory()
    }

    /// Room to read into: the adaptive room, or what a frame being kept whole still
    /// needs; empty while input waits to be parsed.
    pub(crate) fn read_buf(&mut self) -> &mut [u8] {
        if self.has_pending() {
            return &mut [];
        }
        let want = match self.frame {
            Some(frame) if frame.kept_whole() => frame.remaining.clamp(1, self.growth_room()),
            _ => self.room,
        };
        if self.buf.capacity() - self.filled < want.min(self.room) {
            self.make_room(want);
        }
        // Initialize the room a read at a time, in cache right before the read; for
        // a large frame, with the header's room past its end that `make_room` gave
        // it, or the read that ends it could not bring the next header.
        let init = (self.filled + want.max(self.room) + self.past_end()).min(self.buf.capacity());
        if self.buf.len() < init {
            self.buf.resize(init, 0);
        }
        // A large frame's last read ends with it, and the next header: the bytes
        // after the message would otherwise be copied out of its buffer (up to a
        // read's worth) and into the next one (see `take_whole`).
        let end = match self.frame {
            Some(frame) if frame.large() => {
                self.filled
                    + large_read(frame.remaining, self.room).min(self.buf.len() - self.filled)
            }
            _ => self.buf.len(),
        };
        self.offered = end - self.filled;
        &mut self.buf[self.filled..end]
    }

    /// The room offered will not be read into soon: freed when it holds no input
    /// still needed.
    pub(crate) fn release_room(&mut self) {
        if self.starved {
            self.compact();
        }
        self.offered = 0;
    }

    /// `n` bytes were read into [`read_buf`](Self::read_buf).
    pub(crate) fn filled(&mut self, n: usize) {
        debug_assert!(
            self.filled + n <= self.buf.len(),
            "more than the room offered"
        );
        self.filled = (self.filled + n).min(self.buf.len());
        self.starved &= n == 0;
        if n >= self.offered {
            self.room = (self.room * 2).min(READ_SIZE);
        } else if n < self.room / 8 {
            self.room = (self.room / 2).max(MIN_ROOM);
        }
        // A read into a large frame's room, more than the adaptive room, shows how
        // much the reads bring: what `large_read` plans the frame's last read by.
        self.room = self.room.max(n.min(READ_SIZE));
    }

    /// Takes the `n` bytes just read into the room back out, as a copy (for the
    /// opening handshake, which keeps the head apart).
    pub(crate) fn take_read(&mut self, n: usize) -> alloc::vec::Vec<u8> {
        let end = (self.filled + n).min(self.buf.len());
        let data = self.buf[self.filled..end].to_vec();
        if self.filled == 0 {
            self.buf = BytesMut::new();
        }
        data
    }

    /// Appends `data` (one copy).
    pub(crate) fn append(&mut self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        if self.buf.len() - self.filled >= data.len() {
            self.buf[self.filled..self.filled + data.len()].copy_from_slice(data);
            self.filled += data.len();
        } else {
            // Written at once, so the new room needs no zeroing first. The spare
            // buffer is for reads into the room: not held beside a grown one.
            self.spare = None;
            self.buf.truncate(self.filled);
            self.buf.extend_from_slice(data);
            self.filled = self.buf.len();
        }
        self.starved = false;
    }

    /// The room a large frame's buffer gets past the frame's end: a header's, so
    /// that the read that ends the frame can bring the next header (see
    /// [`large_read`]).
    fn past_end(&self) -> usize {
        if self.frame.is_some_and(InFrame::large) {
            MAX_HEADER_LEN
        } else {
            0
        }
    }

    /// How much room a frame kept whole may have the buffer grow by: a multiple of
    /// what it holds (so that a header declaring a huge length costs little until
    /// the bytes come), or as much as the last large message took, which the peer
    /// has sent already. With the latter, a frame as large as the one before
    /// gets its whole buffer at once, with no growth copying it part by part: what
    /// a message costs when the application keeps the one before (whose buffer
    /// cannot be reused, see [`REUSE_MIN`]).
    fn growth_room(&self) -> usize {
        let kept = self.filled - self.keep_from();
        ((kept + READ_SIZE) * GROWTH).max(self.last_large as usize)
    }

    /// Where the bytes still needed start: the frame kept whole, or the next byte
    /// to parse.
    fn keep_from(&self) -> usize {
        match self.frame {
            Some(frame) if frame.kept_whole() => frame.start,
            _ => self.pos,
        }
    }

    /// Makes at least `room` (and at least the adaptive room) bytes of room after the
    /// input, in a buffer that holds only the bytes still needed: the same one when
    /// no message handed out as a view of it is still held, else a new one. The room
    /// is initialized a read at a time, by [`read_buf`](Self::read_buf).
    fn make_room(&mut self, room: usize) {
        let from = self.keep_from();
        let kept = self.filled - from;
        // A large frame gets a header's room past its end, so that the read that
        // ends it brings the next header too (see `large_read`): then, if that
        // frame is large as well, the compaction keeps the spare for it.
        let need = kept + room.max(self.room) + self.past_end();
        if let Some(spare) = self.spare.take()
            && kept <= STASH
        {
            // The buffer is the rest of the spare's (see `take_whole`): with the bytes
            // still needed set aside and it let go, the spare holds the memory alone
            // if the application dropped the last large message. That memory is warm
            // and initialized up to the spare's length; the spare keeps the reference
            // count the message was handed out with, so the next one costs no
            // allocation either.
            let mut stash = [0u8; STASH];
            stash[..kept].copy_from_slice(&self.buf[from..self.filled]);
            // The rest of the buffer is let go first, so that the spare can be unique.
            drop(core::mem::take(&mut self.buf));
            self.buf = match spare.try_into_mut() {
                Ok(mut spare) if spare.capacity() >= need && spare.len() >= kept => {
                    spare[..kept].copy_from_slice(&stash[..kept]);
                    spare
                }
                _ => {
                    let mut fresh = BytesMut::with_capacity(need);
                    fresh.extend_from_slice(&stash[..kept]);
                    fresh
                }
            };
            self.shift(from);
            return;
        }
        self.buf.truncate(self.filled);
        self.buf.advance(from);
        self.shift(from);
        // When nothing handed out of the buffer is still held, its memory is reused
        // in place: warm, and no allocation (and the buffer keeps the reference
        // count its views were handed out with). Not when that memory is much more
        // than what is needed: the rest of a large message's buffer, say.
        let reused =
            self.buf.try_reclaim(need - kept) && self.buf.capacity() <= need.max(READ_SIZE) * 2;
        if !reused {
            let mut fresh = BytesMut::with_capacity(need);
            fresh.extend_from_slice(&self.buf);
            self.buf = fresh;
        }
    }

    /// The buffer lost its first `n` bytes: moves every index back.
    fn shift(&mut self, n: usize) {
        self.filled -= n;
        self.pos -= n;
        if let Some(frame) = &mut self.frame {
            frame.start = frame.start.saturating_sub(n);
        }
    }

    /// Drops the bytes no longer needed, and the whole buffer once nothing is kept.
    fn compact(&mut self) {
        let from = self.keep_from();
        let mut pinned = false;
        if !self.frame.is_some_and(InFrame::large) {
            pinned = self.spare.take().is_some();
        }
        if from == self.filled && self.frame.is_none_or(|f| !f.kept_whole()) {
            // Nothing kept: an idle connection holds no heap.
            self.buf = BytesMut::new();
            self.filled = 0;
            self.pos = 0;
        } else if pinned {
            // The bytes still needed are in the rest of the last large message's
            // buffer, which they would keep alive: they move to a buffer of their own.
            self.make_room(0);
        } else if from > 0 {
            self.buf.advance(from);
            self.shift(from);
        }
    }

    /// Takes a large message `[at, at + len)` out as a view of the buffer up to its
    /// end, which is kept as the spare. The input after the message (usually the
    /// next header alone, see `large_read`) stays where it is, in the rest of the
    /// buffer, until the next read needs room (see `make_room`).
    fn take_whole(&mut self, at: usize, len: usize) -> Bytes {
        let end = at + len;
        let whole = self.buf.split_to(end).freeze();
        self.shift(end);
        let message = whole.slice(at..);
        self.spare = Some(whole);
        self.last_large = u32::try_from(len).unwrap_or(u32::MAX);
        message
    }

    /// Takes `[at, at + len)` out of the buffer as a view, with everything before it.
    /// In line: returned through memory, the view was stored as two words and
    /// loaded back as one vector, a load that cannot be forwarded from the stores.
    #[inline(always)]
    fn take(&mut self, at: usize, len: usize) -> Bytes {
        let mut head = self.buf.split_to(at + len);
        head.advance(at);
        self.shift(at + len);
        head.freeze()
    }

    // ---- parsing ----------------------------------------------------------------

    /// The next arrival from the buffered input; `Ok(None)` once it is used up.
    /// After an error nothing more may be read.
    #[inline]
    pub(crate) fn next(
        &mut self,
        role: Role,
        config: &Config,
    ) -> Result<Option<Item>, ProtocolError> {
        loop {
            // The frame stays in a local while it is worked on: storing it and
            // reading it straight back would stall on store forwarding.
            let frame = match self.frame.take() {
                Some(frame) => frame,
                None => match self.header(role, config)? {
                    Some(frame) => frame,
                    None => return Ok(self.starve()),
                },
            };
            let avail = frame.remaining.min(self.filled - self.pos);
            if avail == 0 && frame.remaining > 0 {
                self.frame = Some(frame);
                return Ok(self.starve());
            }
            // Compressed frames branch off here: a branch inside `payload` slows the
            // plain path by a third on small frames.
            #[cfg(feature = "deflate")]
            if let Take::Data(route @ (Route::Inflate | Route::InflateStream)) = frame.take {
                if let Some(item) = self.compressed(frame, route, avail, config)? {
                    return Ok(Some(item));
                }
                continue;
            }
            if let Some(item) = self.payload(frame, avail, role, config)? {
                return Ok(Some(item));
            }
        }
    }

    /// The input ran out: what is no longer needed goes.
    fn starve(&mut self) -> Option<Item> {
        self.starved = true;
        self.compact();
        None
    }

    /// Reads a header at `pos`, if the buffer holds all of it.
    #[inline]
    fn header(&mut self, role: Role, config: &Config) -> Result<Option<InFrame>, ProtocolError> {
        let header = match decode_header(&self.buf[self.pos..self.filled])? {
            Decode::Complete(header, used) => {
                self.pos += used;
                header
            }
            Decode::Incomplete(_) => return Ok(None),
        };
        let take = check_header(&header, role, config, &mut self.assembler)?;
        // The header check bounds the length by the message limit, which one buffer
        // can hold (`Config::validate`).
        let len = usize::try_from(header.payload_len).unwrap_or(usize::MAX);
        Ok(Some(InFrame {
            take,
            mask: header.mask.map_or(0, u32::from_ne_bytes),
            start: self.pos,
            done: 0,
            remaining: len,
        }))
    }

    /// Processes the next `avail` payload bytes of `frame` (at `pos`).
    #[inline]
    fn payload(
        &mut self,
        mut frame: InFrame,
        avail: usize,
        role: Role,
        config: &Config,
    ) -> Result<Option<Item>, ProtocolError> {
        if matches!(frame.take, Take::Data(Route::View))
            && frame.done == 0
            && avail == frame.remaining
            && let Some(payload) = Payload::unmasked(&self.buf[self.pos..], avail, frame.key())
        {
            return self.small_message(payload).map(Some);
        }
        let at = self.pos;
        let phase = frame.done & 3;
        // Unmasked read by read, while what the read brought is still in cache.
        // Text unmasked here is seen to be ASCII or not on the way, which spares
        // the UTF-8 check a pass over ASCII. A frame reassembled is unmasked on its
        // way into the message instead.
        let mut ascii = false;
        if let Some(key) = frame.key()
            && frame.take != Take::Data(Route::Reassemble)
        {
            let text = matches!(frame.take, Take::Data(_)) && self.assembler.is_text();
            if text {
                ascii = unmask_ascii(&mut self.buf[at..at + avail], key, phase);
            } else {
                apply_mask(&mut self.buf[at..at + avail], key, phase);
            }
        }

        frame.done += avail;
        frame.remaining -= avail;
        self.pos += avail;
        let last = frame.remaining == 0;
        self.frame = (!last).then_some(frame);
        let item = match frame.take {
            Take::Control(opcode) => {
                if !last {
                    return Ok(None);
                }
                let item = control_item(opcode, &self.buf[frame.start..self.pos])?;
                Some(item)
            }
            Take::Data(route) => {
                self.data_frame |= last;
                match route {
                    Route::View => {
                        if self.assembler.is_text() {
                            self.assembler
                                .check_text(&self.buf[at..self.pos], last, ascii)?;
                        }
                        if !last {
                            return Ok(None);
                        }
                        let len = self.pos - frame.start;
                        // A small payload is copied out, which costs less than the
                        // view's two atomic reference count updates, and leaves the
                        // buffer unshared, for the next read.
                        let payload = if let Some(small) =
                            Payload::inline_prefix(&self.buf[frame.start..], len)
                        {
                            small
                        } else if len >= REUSE_MIN {
                            self.take_whole(frame.start, len).into()
                        } else {
                            self.take(frame.start, len).into()
                        };
                        Some(Item::Message(self.assembler.finish_view(payload)))
                    }
                    Route::Reassemble => {
                        let message = self.assembler.reassemble(
                            &self.buf[at..self.pos],
                            frame.key().map(|key| (key, phase)),
                            last,
                            config,
                        )?;
                        // A frame ended, not the message: the next frames are
                        // likely its continuations.
                        let message = match message {
                            None if last => self.continuations(role, config)?,
                            message => message,
                        };
                        message.map(Item::Message)
                    }
                    // Taken by `compressed` above.
                    #[cfg(feature = "deflate")]
                    Route::Inflate | Route::InflateStream => None,
                    Route::Stream => {
                        let piece = if avail == 0 {
                            Bytes::new()
                        } else {
                            self.take(at, avail)
                        };
                        self.assembler.stream(piece, last)?.map(Item::Fragment)
                    }
                }
            }
        };
        Ok(item)
    }

    /// Once a frame of a message being reassembled has ended (not the message),
    /// takes the run of whole continuation frames at `pos`, without the general
    /// header decode, check and dispatch each frame would otherwise pass through (a
    /// message sent in many small fragments spends most of its time there): a
    /// frame whose first byte is a continuation's with RSV clear, masked as the
    /// role requires (§5.1), with a 7- or 16-bit length, all of it buffered, within
    /// the limits. At any other frame (a control
    /// frame, one still arriving, one to fail) it stops, and the general path takes
    /// that frame. Returns the message its last frame ends. Out of line: it is
    /// called once per run, and inlined, it cost the loop over single-frame
    /// messages a few instructions each.
    #[inline(never)]
    fn continuations(
        &mut self,
        role: Role,
        config: &Config,
    ) -> Result<Option<Message>, ProtocolError> {
        let masked = role == Role::Server;
        loop {
            let input = &self.buf[self.pos..self.filled];
            let Some(&[b0, b1]) = input.first_chunk() else {
                return Ok(None);
            };
            if b0 & 0x7f != 0 || (b1 & 0x80 != 0) != masked {
                return Ok(None);
            }
            // §5.2: lengths up to 125 in the second byte, 126 for a 16-bit one.
            let (len, mut at) = match b1 & 0x7f {
                126 => match input.get(2..4) {
                    Some(&[hi, lo]) => (usize::from(u16::from_be_bytes([hi, lo])), 4),
                    _ => return Ok(None),
                },
                127 => return Ok(None),
                n => (usize::from(n), 2),
            };
            let key = if masked {
                let Some(&key) = input.get(at..).and_then(|rest| rest.first_chunk::<4>()) else {
                    return Ok(None);
                };
                at += 4;
                Some((key, 0))
            } else {
                None
            };
            let fin = b0 & 0x80 != 0;
            if input.len() - at < len || !self.assembler.continues(len, fin, config) {
                return Ok(None);
            }
            let start = self.pos + at;
            self.pos = start + len;
            self.data_frame = true;
            self.assembler
                .append(&self.buf[start..self.pos], key, fin, config)?;
            if fin {
                return Ok(Some(self.assembler.finish_reassembled()));
            }
        }
    }

    /// A message in one frame, here whole and small enough to be held inline: it
    /// was unmasked as it was copied out (unmasking it in the buffer and copying
    /// it then would have the copy's wide loads wait on the unmasking's stores).
    #[inline]
    fn small_message(&mut self, payload: Payload) -> Result<Item, ProtocolError> {
        if self.assembler.is_text() {
            self.assembler.check_text(&payload, true, false)?;
        }
        self.pos += payload.len();
        self.data_frame = true;
        Ok(Item::Message(self.assembler.finish_view(payload)))
    }

    /// The next `avail` unmasked bytes of a compressed frame. Delivered whole, they
    /// are all inflated into the message buffer. Delivered in pieces, the inflater
    /// may take only part of them, when its piece fills up; the rest stay, unmasked,
    /// for the next call. Out of line: inlined into the loop over plain frames, its
    /// bulk slows every one of them, and its own cost is the inflater's.
    #[cfg(feature = "deflate")]
    #[inline(never)]
    fn compressed(
        &mut self,
        mut frame: InFrame,
        route: Route,
        avail: usize,
        config: &Config,
    ) -> Result<Option<Item>, ProtocolError> {
        let at = self.pos;
        if let Some(key) = frame.key() {
            let from = at + self.clear;
            apply_mask(
                &mut self.buf[from..at + avail],
                key,
                (frame.done + self.clear) & 3,
            );
        }
        let ends_frame = avail == frame.remaining;
        if route == Route::Inflate {
            frame.done += avail;
            frame.remaining -= avail;
            self.pos += avail;
            let last = frame.remaining == 0;
            self.data_frame |= last;
            self.frame = (!last).then_some(frame);
            return Ok(self
                .assembler
                .inflate(&self.buf[at..self.pos], last, config)?
                .map(Item::Message));
        }
        let (used, piece) =
            self.assembler
                .inflate_piece(&self.buf[at..at + avail], ends_frame, config)?;
        frame.done += used;
        frame.remaining -= used;
        self.clear = avail - used;
        self.pos += used;
        let last = frame.remaining == 0;
        self.data_frame |= last;
        self.frame = (!last).then_some(frame);
        Ok(piece.map(Item::Fragment))
    }

    /// Whether a data frame arrived whole since the last call.
    pub(crate) fn take_data_frame(&mut self) -> bool {
        core::mem::take(&mut self.data_frame)
    }

    /// Drops what was being received and all buffered input (the connection ended).
    pub(crate) fn discard(&mut self) {
        self.assembler.discard();
        self.frame = None;
        self.spare = None;
        self.last_large = 0;
        self.buf = BytesMut::new();
        self.filled = 0;
        self.pos = 0;
        self.starved = true;
    }
}

/// The checks a header gets before its payload is read (§5.1, §5.2, §5.4, the
/// limits), and how its payload is taken.
#[inline]
fn check_header(
    header: &FrameHeader,
    role: Role,
    config: &Config,
    assembler: &mut Assembler,
) -> Result<Take, ProtocolError> {
    // §5.2: RSV bits "MUST be 0 unless an extension is negotiated that defines
    // meanings for non-zero values". permessage-deflate defines RSV1, on data
    // frames only (RFC 7692 §6); the message sequence checks that it marks only a
    // message's first frame.
    if header.rsv != 0
        && (header.rsv != 0b100 || header.opcode.is_control() || !assembler.inflates())
    {
        return Err(ProtocolError::ReservedBits(header.rsv));
    }
    // §5.1: a server MUST close on an unmasked frame, a client on a masked one.
    match (role, header.mask.is_some()) {
        (Role::Server, false) => return Err(ProtocolError::UnmaskedFrame),
        (Role::Client, true) => return Err(ProtocolError::MaskedFrame),
        _ => {}
    }
    if header.opcode.is_control() {
        // `decode_header` bounds control payloads to 125 bytes.
        Ok(Take::Control(header.opcode))
    } else {
        assembler.begin_frame(header, config).map(Take::Data)
    }
}

fn control_item(opcode: OpCode, payload: &[u8]) -> Result<Item, ProtocolError> {
    Ok(match opcode {
        OpCode::Ping => Item::Ping(Bytes::copy_from_slice(payload)),
        OpCode::Pong => Item::Pong(Bytes::copy_from_slice(payload)),
        _ => {
            let (code, reason) = parse_close_payload(payload)?;
            Item::Close(code, String::from(reason))
        }
    })
}

// The longest header fits in one read's room many times over.
const _: () = assert!(MAX_HEADER_LEN < READ_SIZE);
