//! The output queue: frames waiting to be written. Small frames are gathered into one
//! contiguous buffer; a large payload goes out as the caller's own `Bytes` (masked in
//! place where it can be, else masked a window at a time as it goes out), its header
//! apart, for vectored I/O. Every frame is tracked (gathered ones by their own headers)
//! so that what was never written can be handed back. Queued bytes never change.

use bytes::Buf;

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use bytes::{Bytes, BytesMut};

use crate::frame::{Decode, FrameHeader, MAX_HEADER_LEN, OpCode, decode_header};
use crate::mask::{apply_mask, extend_unmasked, masked_copy};
use crate::message::MessageKind;

mod window;
use window::Window;

/// Data the caller queued that never fully reached the transport, as returned by
/// [`Connection::take_unsent`](crate::Connection::take_unsent).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Unsent {
    /// The message type.
    pub kind: MessageKind,
    /// The payload (unmasked), whole: a frame cut short by the transport is returned
    /// entirely, since the peer cannot use a partial frame.
    pub data: Bytes,
    /// The frame started its message: with `last` also set, a whole message.
    pub first: bool,
    /// The frame ended its message.
    pub last: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Data {
        kind: MessageKind,
        first: bool,
    },
    Control(OpCode),
    /// HTTP bytes of the opening handshake.
    Http,
}

/// Payloads up to this size are copied next to their header into the contiguous
/// tail buffer, so that many small frames go out in one slice (one `write`) and cost
/// no allocation each.
const COALESCE_MAX: usize = 1024;

/// The first tail buffer holds this much; each next one twice the last, up to
/// [`TAIL_MAX`]. A full tail is sealed, never grown: growing would copy it and could
/// leave it twice as large as what it holds.
const TAIL_CHUNK: usize = 8 << 10;

/// The largest tail buffer.
const TAIL_MAX: usize = 64 << 10;

/// What the queue's bookkeeping of one record (a frame, or a run of gathered frames)
/// costs against the output limit, counted twice because the record queue grows by
/// doubling, so its storage can be twice what it holds.
const RECORD_COST: usize = 2 * core::mem::size_of::<Meta>();

/// The same for a segment (a large frame, an HTTP head, a sealed tail).
const SEGMENT_COST: usize = 2 * core::mem::size_of::<Segment>();

/// What a frame encoded elsewhere ([`TxQueue::push_encoded`]) costs: its bytes, its
/// record and its segment.
pub(crate) const fn encoded_cost(len: usize) -> usize {
    len.saturating_add(RECORD_COST + SEGMENT_COST)
}

/// What a frame of `len` bytes on the wire (`payload` of them payload) costs against
/// the output limit: its bytes and its records, at most (a small frame that joins a
/// run of gathered frames costs its bytes alone).
pub(crate) const fn frame_cost(len: usize, payload: usize) -> usize {
    let segment = if payload > COALESCE_MAX {
        SEGMENT_COST
    } else {
        0
    };
    len.saturating_add(RECORD_COST + segment)
}

/// What the queue knows of the bytes it holds, in output order: one frame (or HTTP
/// head), or a run of plain frames gathered in one tail buffer.
#[derive(Clone, Copy, Debug)]
struct Meta {
    /// Bytes on the wire, headers included.
    len: usize,
    what: What,
}

#[derive(Clone, Copy, Debug)]
enum What {
    Frame {
        head_len: u8,
        role: Role,
        fin: bool,
        mask: Option<[u8; 4]>,
        /// A compressed frame (permessage-deflate), whose payload as the caller gave
        /// it waits in `originals`.
        compressed: bool,
    },
    /// Small uncompressed frames (data or control) one after another in the tail:
    /// their headers describe them, so a record per frame would only cost a push
    /// and a pop each. The run leaves the buffer once all of it is written; a frame
    /// of it cut short is still handed back whole. `carry`: the type of the message
    /// a continuation frame at its start belongs to.
    Run { carry: Option<MessageKind> },
}

/// Output bytes sealed in order: whole frames gathered together (`head_len == 0`),
/// or one large frame whose payload is the caller's own buffer, header apart.
#[derive(Debug)]
struct Segment {
    head: [u8; MAX_HEADER_LEN],
    head_len: u8,
    /// `data` is a payload the caller still shares, unmasked: it goes out through
    /// the queue's window, masked a window at a time with the key that ends the
    /// header (§5.2, §5.3; see [`late_key`](Self::late_key)). A flag, not the key
    /// again: four bytes more made every segment, and the one inline in every
    /// connection, a word longer.
    late_mask: bool,
    data: Bytes,
    /// What this segment adds to `TxQueue::cost` beyond its frames' own costs: for a
    /// sealed tail, its record and the room left unused in its buffer.
    extra_cost: usize,
}

impl Segment {
    /// The key the payload is masked with as it goes out, if it is masked late.
    fn late_key(&self) -> Option<[u8; 4]> {
        if self.late_mask {
            self.head[..usize::from(self.head_len)]
                .last_chunk()
                .copied()
        } else {
            None
        }
    }

    /// The bytes from `skip` on, as at most two slices.
    fn slices(&self, skip: usize) -> [&[u8]; 2] {
        let head = &self.head[..usize::from(self.head_len)];
        if skip < head.len() {
            [&head[skip..], &self.data]
        } else {
            [&self.data[skip - head.len()..], &[]]
        }
    }
}

/// Pending output: sealed segments, then the tail of small frames; one `Meta` per
/// frame or run of gathered frames, in the same order. Bytes leave the buffers only
/// a whole record at a time, so a frame the transport cut short can still be handed
/// back whole; `front_written` counts the part of the front record already written.
// In the order a send and a write touch it (see `Connection`).
#[derive(Debug, Default)]
#[repr(C)]
pub(crate) struct TxQueue {
    buffered: usize,
    /// The memory the queue holds, as counted against the output limit: each
    /// record's bytes and [`RECORD_COST`] (and a large frame's segment, see
    /// [`frame_cost`]), and each sealed tail's `extra_cost`. The tail buffer's unused
    /// room (at most [`TAIL_MAX`]) is not counted.
    cost: usize,
    front_written: usize,
    /// The capacity the tail buffer was given (at most [`TAIL_MAX`]: 32 bits leave
    /// room beside it for `run_open`).
    tail_size: u32,
    /// The last record is a run whose frames end the tail: the next small frame
    /// joins it.
    run_open: bool,
    segments: Deque<Segment>,
    frames: Deque<Meta>,
    tail: BytesMut,
    /// The uncompressed payloads of the compressed frames queued, in order: what
    /// [`take_unsent`](Self::take_unsent) hands back for them. Counted in `cost`.
    /// Boxed on first use: a queue that never held a compressed frame pays a
    /// pointer for it, and a plain send touches no more of the connection.
    #[allow(clippy::box_collection)] // the point: 8 bytes inline instead of 32
    originals: Option<alloc::boxed::Box<alloc::collections::VecDeque<Bytes>>>,
    /// When the front segment is masked late, the part of its payload masked so far.
    /// Refilled in place once written; freed with the rest of the queue when all
    /// output is out. Not counted in `cost`, like the tail's unused room.
    window: Window,
}

impl TxQueue {
    /// Bytes waiting to be written.
    pub(crate) fn buffered(&self) -> usize {
        self.buffered
    }

    /// The memory held, as counted against the output limit (see `cost`).
    pub(crate) fn cost(&self) -> usize {
        self.cost
    }

    /// Queues a frame. For a data frame `kind` is the message type (also on a
    /// continuation); `None` marks a control frame. The payload is masked here when
    /// the header carries a key: in place if the caller's buffer is not shared, else
    /// while copying it.
    #[inline]
    pub(crate) fn push(
        &mut self,
        header: FrameHeader,
        payload: Body<'_>,
        kind: Option<MessageKind>,
    ) {
        self.push_frame(header, payload, kind, false);
    }

    /// Queues a compressed data frame, keeping the payload it was made from: if the
    /// frame is never written, that is what the caller gets back.
    #[cfg(feature = "deflate")]
    pub(crate) fn push_compressed(
        &mut self,
        header: FrameHeader,
        payload: Bytes,
        kind: MessageKind,
        original: Bytes,
    ) {
        self.push_frame(header, Body::Shared(payload), Some(kind), true);
        self.cost += original.len();
        self.originals
            .get_or_insert_with(Default::default)
            .push_back(original);
    }

    #[inline(always)]
    fn push_frame(
        &mut self,
        header: FrameHeader,
        payload: Body<'_>,
        kind: Option<MessageKind>,
        compressed: bool,
    ) {
        let role = match kind {
            Some(kind) => Role::Data {
                kind,
                first: header.opcode != OpCode::Continuation,
            },
            None => Role::Control(header.opcode),
        };
        let mut head = [0u8; MAX_HEADER_LEN];
        let head_len = header.encode(&mut head);
        let len = head_len + payload.bytes().len();
        self.buffered += len;
        if payload.bytes().len() <= COALESCE_MAX {
            self.push_small(&head[..head_len], payload.bytes(), header.mask);
            if !compressed {
                self.join_run(len, role);
                return;
            }
        } else {
            self.push_large(head, head_len, payload, header.mask);
        }
        self.cost += frame_cost(len, len - head_len);
        self.run_open = false;
        self.frames.push_back(Meta {
            len,
            what: What::Frame {
                head_len: head_len as u8,
                role,
                fin: header.fin,
                mask: header.mask,
                compressed,
            },
        });
    }

    /// Records a small plain frame of `len` bytes just copied to the end of the tail:
    /// it joins the run there, or starts one.
    #[inline(always)]
    fn join_run(&mut self, len: usize, role: Role) {
        let carry = match role {
            Role::Data { kind, first: false } => Some(kind),
            _ => None,
        };
        if self.run_open
            && let Some(Meta {
                len: run_len,
                what: What::Run { carry: run_carry },
            }) = self.frames.back_mut()
        {
            *run_len += len;
            if run_carry.is_none() {
                *run_carry = carry;
            }
            self.cost += len;
            return;
        }
        self.cost += len + RECORD_COST;
        self.run_open = true;
        self.frames.push_back(Meta {
            len,
            what: What::Run { carry },
        });
    }

    /// A small frame, copied into the tail (masked there for a client).
    #[inline(always)]
    fn push_small(&mut self, head: &[u8], bytes: &[u8], mask: Option<[u8; 4]>) {
        let len = head.len() + bytes.len();
        if self.tail.capacity() - self.tail.len() < len {
            self.new_tail();
        }
        let at = self.tail.len() + head.len();
        self.tail.extend_from_slice(head);
        self.tail.extend_from_slice(bytes);
        if let Some(key) = mask {
            apply_mask(&mut self.tail[at..], key, 0);
        }
    }

    /// Seals the tail and starts a larger one.
    #[inline(never)]
    fn new_tail(&mut self) {
        self.seal_tail();
        self.tail_size = (self.tail_size * 2).clamp(TAIL_CHUNK as u32, TAIL_MAX as u32);
        self.tail = BytesMut::with_capacity(self.tail_size as usize);
    }

    /// A large frame: a segment of its own, the payload passed through (masked in
    /// place where it can be, else as it is copied).
    #[inline(never)]
    fn push_large(
        &mut self,
        head: [u8; MAX_HEADER_LEN],
        head_len: usize,
        payload: Body<'_>,
        mask: Option<[u8; 4]>,
    ) {
        self.seal_tail();
        let mut late_mask = false;
        let data = match (payload, mask) {
            // Not shared: masked in place, no copy at all.
            (Body::Shared(payload), Some(key)) => match payload.try_into_mut() {
                Ok(mut owned) => {
                    apply_mask(&mut owned, key, 0);
                    owned.freeze()
                }
                Err(shared) => {
                    debug_assert!(head[..head_len].ends_with(&key), "the key ends the header");
                    late_mask = true;
                    shared
                }
            },
            (Body::Shared(payload), None) => payload,
            (Body::Copied(payload), Some(key)) => Bytes::from(masked_copy(payload, key)),
            (Body::Copied(payload), None) => Bytes::copy_from_slice(payload),
        };
        self.segments.push_back(Segment {
            head,
            head_len: head_len as u8,
            late_mask,
            data,
            extra_cost: 0,
        });
        self.fill_window();
    }

    /// Once the window of a front segment masked late is all written (or there is
    /// none yet), masks the next part of its payload into it.
    fn fill_window(&mut self) {
        let Some(front) = self.segments.front() else {
            return;
        };
        let Some(key) = front.late_key() else {
            return;
        };
        let at = self
            .front_written
            .saturating_sub(usize::from(front.head_len));
        self.window.fill(&front.data, key, at);
    }

    /// Queues a whole frame encoded elsewhere (header and payload, unmasked), as
    /// the caller's own `Bytes`: a message framed once for many connections.
    pub(crate) fn push_encoded(&mut self, frame: Bytes, head_len: usize, kind: MessageKind) {
        self.push_whole(frame, head_len, Role::Data { kind, first: true });
    }

    /// Queues HTTP bytes (an opening handshake request or response).
    pub(crate) fn push_http(&mut self, bytes: Bytes) {
        self.push_whole(bytes, 0, Role::Http);
    }

    /// Queues bytes that go out as they are, in a segment of their own.
    fn push_whole(&mut self, bytes: Bytes, head_len: usize, role: Role) {
        self.seal_tail();
        let len = bytes.len();
        self.cost += encoded_cost(len);
        self.segments.push_back(Segment {
            head: [0; MAX_HEADER_LEN],
            head_len: 0,
            late_mask: false,
            data: bytes,
            extra_cost: 0,
        });
        self.frames.push_back(Meta {
            len,
            what: What::Frame {
                head_len: head_len as u8,
                role,
                fin: true,
                mask: None,
                compressed: false,
            },
        });
        self.buffered += len;
    }

    /// Moves the tail's frames into a segment, so that what follows goes after them.
    /// The segment keeps the tail's buffer, unused room included, which from now on
    /// counts against the limit.
    fn seal_tail(&mut self) {
        self.run_open = false;
        if !self.tail.is_empty() {
            let tail = core::mem::take(&mut self.tail);
            let extra_cost = tail.capacity() - tail.len() + SEGMENT_COST;
            self.cost += extra_cost;
            self.segments.push_back(Segment {
                head: [0; MAX_HEADER_LEN],
                head_len: 0,
                late_mask: false,
                data: tail.freeze(),
                extra_cost,
            });
        }
    }

    /// Calls `f` with each pending slice in order, the front frame's written part
    /// skipped; stops when `f` returns false. A segment masked late offers what its
    /// window holds: what comes after it waits until the rest of it is masked.
    fn for_each_slice<'a>(&'a self, mut f: impl FnMut(&'a [u8]) -> bool) {
        let mut skip = self.front_written;
        for (i, segment) in self.segments.iter().enumerate() {
            let slices = match segment.late_mask {
                false => segment.slices(skip),
                true => {
                    let head = &segment.head[..usize::from(segment.head_len)];
                    // Only the front segment has its window.
                    let window = match i {
                        0 => self.window.from(skip.saturating_sub(head.len())),
                        _ => &[],
                    };
                    [&head[skip.min(head.len())..], window]
                }
            };
            for slice in slices {
                if !slice.is_empty() && !f(slice) {
                    return;
                }
            }
            if segment.late_mask && (i > 0 || self.window.end() < segment.data.len()) {
                return;
            }
            skip = 0;
        }
        let tail = &self.tail[skip.min(self.tail.len())..];
        if !tail.is_empty() {
            f(tail);
        }
    }

    /// Every pending byte, the front frame's written part included: a segment masked
    /// late is masked here in full.
    fn whole_stream(&self) -> Vec<u8> {
        let mut stream = Vec::with_capacity(self.buffered + self.front_written);
        for segment in self.segments.iter() {
            match segment.late_key() {
                None => {
                    for slice in segment.slices(0) {
                        stream.extend_from_slice(slice);
                    }
                }
                Some(key) => {
                    stream.extend_from_slice(&segment.head[..usize::from(segment.head_len)]);
                    extend_unmasked(&segment.data, &mut stream, key, 0);
                }
            }
        }
        stream.extend_from_slice(&self.tail);
        stream
    }

    /// The first unwritten contiguous bytes (empty when nothing is pending).
    pub(crate) fn front(&self) -> &[u8] {
        let mut first: &[u8] = &[];
        self.for_each_slice(|slice| {
            first = slice;
            false
        });
        first
    }

    /// Fills `dst` with the pending slices in order; returns how many it used.
    pub(crate) fn chunks<'a>(&'a self, dst: &mut [&'a [u8]]) -> usize {
        let mut n = 0;
        self.for_each_slice(|slice| {
            if n == dst.len() {
                return false;
            }
            dst[n] = slice;
            n += 1;
            true
        });
        n
    }

    /// Marks `n` bytes as written. More than is pending counts as all of it.
    pub(crate) fn advance(&mut self, n: usize) {
        if n >= self.buffered {
            // All of it is out: give the queue's memory back.
            *self = TxQueue::default();
            return;
        }
        let mut n = n;
        self.buffered -= n;
        while n > 0 {
            let Some(front) = self.frames.front() else {
                break;
            };
            let left = front.len - self.front_written;
            if n < left {
                self.front_written += n;
                break;
            }
            n -= left;
            self.front_written = 0;
            let len = front.len;
            self.cost -= match front.what {
                What::Run { .. } => len + RECORD_COST,
                What::Frame {
                    role: Role::Http, ..
                } => len + RECORD_COST + SEGMENT_COST,
                What::Frame { head_len, .. } => frame_cost(len, len - usize::from(head_len)),
            };
            if matches!(
                front.what,
                What::Frame {
                    compressed: true,
                    ..
                }
            ) && let Some(original) = self.originals.as_mut().and_then(|o| o.pop_front())
            {
                self.cost -= original.len();
            }
            if self.frames.rest_is_empty() {
                // The run at the end of the tail is gone with its bytes.
                self.run_open = false;
            }
            self.frames.pop_front();
            // The whole frame is out: drop its bytes from the buffer that holds it.
            match self.segments.front_mut() {
                Some(segment) if segment.head_len > 0 || segment.data.len() <= len => {
                    self.cost -= segment.extra_cost;
                    if segment.late_mask {
                        self.window.clear();
                    }
                    self.segments.pop_front();
                }
                Some(segment) => segment.data.advance(len),
                None => self.tail.advance(len),
            }
        }
        self.fill_window();
    }

    /// Appends all pending bytes to `out` and marks them written.
    pub(crate) fn drain_into(&mut self, out: &mut Vec<u8>) -> usize {
        let n = self.buffered;
        out.reserve(n);
        // More than one round only when a segment is masked late, a window a round.
        while self.buffered > 0 {
            let before = out.len();
            self.for_each_slice(|slice| {
                out.extend_from_slice(slice);
                true
            });
            self.advance(out.len() - before);
        }
        n
    }

    /// Removes every queued data frame not fully written and returns its payload
    /// unmasked. Control frames and HTTP bytes are dropped.
    pub(crate) fn take_unsent(&mut self) -> Vec<Unsent> {
        let stream = self.whole_stream();
        let mut unsent = Vec::new();
        let mut at = 0;
        // Bytes of the front record already written: frames of a run that are out
        // entirely are not handed back.
        let mut written = self.front_written;
        for meta in self.frames.iter() {
            let bytes = &stream[at..at + meta.len];
            at += meta.len;
            match meta.what {
                What::Frame {
                    head_len,
                    role: Role::Data { kind, first },
                    fin,
                    mask,
                    compressed,
                } => {
                    let data = match compressed {
                        true => self
                            .originals
                            .as_mut()
                            .and_then(|o| o.pop_front())
                            .unwrap_or_default(),
                        false => unmasked(&bytes[usize::from(head_len)..], mask),
                    };
                    unsent.push(Unsent {
                        kind,
                        data,
                        first,
                        last: fin,
                    });
                }
                What::Frame { .. } => {}
                What::Run { carry } => unsent_of_run(bytes, carry, written, &mut unsent),
            }
            written = 0;
        }
        *self = TxQueue::default();
        unsent
    }
}

/// A payload as the caller gave it: `bytes` unmasked with `mask`.
fn unmasked(bytes: &[u8], mask: Option<[u8; 4]>) -> Bytes {
    let mut data = bytes.to_vec();
    if let Some(key) = mask {
        apply_mask(&mut data, key, 0);
    }
    Bytes::from(data)
}

/// Adds to `unsent` the data frames of a run (`bytes`, its first `written` bytes
/// already out), read back from their headers; control frames are dropped.
fn unsent_of_run(
    mut bytes: &[u8],
    carry: Option<MessageKind>,
    mut written: usize,
    unsent: &mut Vec<Unsent>,
) {
    let mut kind = carry.unwrap_or(MessageKind::Binary);
    // The queue wrote these headers itself: they decode, with their payloads whole.
    while let Ok(Decode::Complete(header, head_len)) = decode_header(bytes) {
        let len = head_len + header.payload_len as usize;
        let Some((frame, rest)) = bytes.split_at_checked(len) else {
            break;
        };
        bytes = rest;
        let first = match header.opcode {
            OpCode::Text => Some(MessageKind::Text),
            OpCode::Binary => Some(MessageKind::Binary),
            _ => None,
        };
        if let Some(k) = first {
            kind = k;
        }
        let out = written >= len;
        written = written.saturating_sub(len);
        if out || header.opcode.is_control() {
            continue;
        }
        unsent.push(Unsent {
            kind,
            data: unmasked(&frame[head_len..], header.mask),
            first: first.is_some(),
            last: header.fin,
        });
    }
}

/// A queue whose front entry lives inline: a connection that queues one thing at a
/// time (an echo, a broadcast) never allocates for its records.
#[derive(Debug)]
struct Deque<T> {
    /// The front entry; `None` only when the queue is empty.
    front: Option<T>,
    rest: VecDeque<T>,
}

impl<T> Default for Deque<T> {
    fn default() -> Self {
        Deque {
            front: None,
            rest: VecDeque::new(),
        }
    }
}

impl<T> Deque<T> {
    fn push_back(&mut self, value: T) {
        if self.front.is_none() {
            self.front = Some(value);
        } else {
            self.rest.push_back(value);
        }
    }

    fn pop_front(&mut self) -> Option<T> {
        let value = self.front.take();
        self.front = self.rest.pop_front();
        value
    }

    fn front(&self) -> Option<&T> {
        self.front.as_ref()
    }

    fn front_mut(&mut self) -> Option<&mut T> {
        self.front.as_mut()
    }

    fn back_mut(&mut self) -> Option<&mut T> {
        match self.rest.back_mut() {
            Some(back) => Some(back),
            None => self.front.as_mut(),
        }
    }

    /// Whether at most the front entry is held.
    fn rest_is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    fn iter(&self) -> impl Iterator<Item = &T> {
        self.front.iter().chain(self.rest.iter())
    }
}

/// A frame's payload as the queue receives it.
pub(crate) enum Body<'a> {
    /// The caller's own buffer: a large one goes out as it is, without a copy.
    Shared(Bytes),
    /// Borrowed: copied into the queue.
    Copied(&'a [u8]),
}

impl Body<'_> {
    pub(crate) fn len(&self) -> usize {
        self.bytes().len()
    }

    fn bytes(&self) -> &[u8] {
        match self {
            Body::Shared(b) => b,
            Body::Copied(b) => b,
        }
    }
}

#[cfg(test)]
mod tests;
