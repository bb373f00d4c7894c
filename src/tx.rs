//! The output queue: frames waiting to be written, each kept whole (header bytes plus
//! the payload as a `Bytes`, shared with the caller where no masking is needed) so that
//! the caller can write them with vectored I/O and so that what was never written can
//! be handed back.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use bytes::{Bytes, BytesMut};

use crate::frame::{FrameHeader, MAX_HEADER_LEN, OpCode};
use crate::mask::apply_mask;
use crate::message::MessageKind;

/// Data the caller queued that never fully reached the transport, as returned by
/// [`Connection::take_unsent`](crate::Connection::take_unsent).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
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

/// Payloads up to this size are copied next to their header, so that a small frame
/// is one contiguous slice (one `write` call) instead of two.
const COALESCE_MAX: usize = 1024;

#[derive(Debug)]
struct OutFrame {
    /// The header, when it is kept apart from a large payload passed through
    /// without copying; otherwise empty and the header starts `data`.
    head: [u8; MAX_HEADER_LEN],
    head_len: u8,
    /// The payload as it goes on the wire, preceded by the header if `head_len == 0`.
    data: Bytes,
    /// Where the payload starts in `data`.
    body_at: u8,
    role: Role,
    fin: bool,
    mask: Option<[u8; 4]>,
    /// Bytes of head and data already written.
    written: usize,
}

impl OutFrame {
    /// Builds the frame, masking the payload when the header carries a key: in place
    /// if the caller's buffer is not shared, else while copying it.
    fn new(header: FrameHeader, payload: Bytes, role: Role) -> OutFrame {
        let mut head = [0u8; MAX_HEADER_LEN];
        let head_len = header.encode(&mut head);
        let copy = payload.len() <= COALESCE_MAX || (header.mask.is_some() && !payload.is_unique());
        let (head_len, data, body_at) = if copy {
            let mut buf = BytesMut::with_capacity(head_len + payload.len());
            buf.extend_from_slice(&head[..head_len]);
            buf.extend_from_slice(&payload);
            if let Some(key) = header.mask {
                apply_mask(&mut buf[head_len..], key, 0);
            }
            (0, buf.freeze(), head_len as u8)
        } else {
            let data = match header.mask {
                Some(key) => mask_payload(payload, key),
                None => payload,
            };
            (head_len as u8, data, 0)
        };
        OutFrame {
            head,
            head_len,
            data,
            body_at,
            role,
            fin: header.fin,
            mask: header.mask,
            written: 0,
        }
    }

    fn len(&self) -> usize {
        usize::from(self.head_len) + self.data.len()
    }

    /// The unwritten part as at most two slices.
    fn pending(&self) -> [&[u8]; 2] {
        let head = &self.head[..usize::from(self.head_len)];
        if self.written < head.len() {
            [&head[self.written..], &self.data]
        } else {
            [&self.data[self.written - head.len()..], &[]]
        }
    }

    /// The payload, unmasked.
    fn payload(&self) -> Bytes {
        let body = self.data.slice(usize::from(self.body_at)..);
        match self.mask {
            Some(key) if !body.is_empty() => mask_payload(body, key),
            _ => body,
        }
    }
}

/// Pending output.
#[derive(Debug, Default)]
pub(crate) struct TxQueue {
    frames: VecDeque<OutFrame>,
    buffered: usize,
}

impl TxQueue {
    /// Bytes waiting to be written.
    pub(crate) fn buffered(&self) -> usize {
        self.buffered
    }

    /// Queues a frame. For a data frame `kind` is the message type (also on a
    /// continuation); `None` marks a control frame.
    pub(crate) fn push(&mut self, header: FrameHeader, payload: Bytes, kind: Option<MessageKind>) {
        let role = match kind {
            Some(kind) => Role::Data {
                kind,
                first: header.opcode != OpCode::Continuation,
            },
            None => Role::Control(header.opcode),
        };
        let frame = OutFrame::new(header, payload, role);
        self.buffered += frame.len();
        self.frames.push_back(frame);
    }

    /// Queues HTTP bytes (an opening handshake request or response).
    pub(crate) fn push_http(&mut self, bytes: Bytes) {
        self.buffered += bytes.len();
        self.frames.push_back(OutFrame {
            head: [0; MAX_HEADER_LEN],
            head_len: 0,
            data: bytes,
            body_at: 0,
            role: Role::Http,
            fin: true,
            mask: None,
            written: 0,
        });
    }

    /// Replaces a queued pong that has not started to be written, if there is one
    /// (§5.5.3 allows answering only the most recent ping).
    pub(crate) fn replace_unstarted_pong(&mut self, header: FrameHeader, payload: Bytes) -> bool {
        let pong = Role::Control(OpCode::Pong);
        let Some(old) = self
            .frames
            .iter_mut()
            .rev()
            .find(|f| f.written == 0 && f.role == pong)
        else {
            return false;
        };
        let old_len = old.len();
        *old = OutFrame::new(header, payload, pong);
        self.buffered = self.buffered - old_len + old.len();
        true
    }

    /// The first unwritten contiguous bytes (empty when nothing is pending).
    pub(crate) fn front(&self) -> &[u8] {
        match self.frames.front() {
            Some(frame) => {
                let [a, b] = frame.pending();
                if a.is_empty() { b } else { a }
            }
            None => &[],
        }
    }

    /// Fills `dst` with the pending slices in order; returns how many it used.
    pub(crate) fn chunks<'a>(&'a self, dst: &mut [&'a [u8]]) -> usize {
        let mut n = 0;
        for frame in &self.frames {
            for slice in frame.pending() {
                if slice.is_empty() {
                    continue;
                }
                if n == dst.len() {
                    return n;
                }
                dst[n] = slice;
                n += 1;
            }
        }
        n
    }

    /// Marks `n` bytes as written. More than is pending counts as all of it.
    pub(crate) fn advance(&mut self, mut n: usize) {
        while n > 0 {
            let Some(frame) = self.frames.front_mut() else {
                break;
            };
            let left = frame.len() - frame.written;
            if n < left {
                frame.written += n;
                self.buffered -= n;
                return;
            }
            n -= left;
            self.buffered -= left;
            self.frames.pop_front();
        }
        if self.frames.is_empty() {
            // Nothing pending: give the queue's memory back.
            self.frames = VecDeque::new();
        }
    }

    /// Appends all pending bytes to `out` and marks them written.
    pub(crate) fn drain_into(&mut self, out: &mut Vec<u8>) -> usize {
        let n = self.buffered;
        out.reserve(n);
        for frame in &self.frames {
            for slice in frame.pending() {
                out.extend_from_slice(slice);
            }
        }
        self.advance(n);
        n
    }

    /// Removes every queued data frame not fully written and returns its payload
    /// unmasked. Control frames are dropped.
    pub(crate) fn take_unsent(&mut self) -> Vec<Unsent> {
        let mut unsent = Vec::new();
        for frame in self.frames.drain(..) {
            let Role::Data { kind, first } = frame.role else {
                continue;
            };
            unsent.push(Unsent {
                kind,
                data: frame.payload(),
                first,
                last: frame.fin,
            });
        }
        self.frames = VecDeque::new();
        self.buffered = 0;
        unsent
    }
}

/// XORs the payload with the key, in place when the buffer is not shared, else in a
/// copy.
fn mask_payload(payload: Bytes, key: [u8; 4]) -> Bytes {
    let mut owned = match payload.try_into_mut() {
        Ok(owned) => owned,
        Err(shared) => BytesMut::from(&shared[..]),
    };
    apply_mask(&mut owned, key, 0);
    owned.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(len: usize) -> (FrameHeader, Bytes) {
        let payload = Bytes::from(alloc::vec![7u8; len]);
        (FrameHeader::new(OpCode::Binary, len as u64), payload)
    }

    #[test]
    fn advance_across_frames_and_partial_writes() {
        let mut q = TxQueue::default();
        let (h, p) = data(3);
        q.push(h, p, Some(MessageKind::Binary));
        let (h, p) = data(200);
        q.push(h, p, Some(MessageKind::Binary));
        assert_eq!(q.buffered(), 5 + 204);
        let mut out = Vec::new();
        while q.buffered() > 0 {
            let front = q.front();
            let n = front.len().min(3);
            out.extend_from_slice(&front[..n]);
            q.advance(n);
        }
        assert_eq!(out.len(), 209);
        assert_eq!(&out[..5], &[0x82, 3, 7, 7, 7]);
        assert_eq!(&out[5..9], &[0x82, 126, 0, 200]);
        q.advance(10); // past the end: ignored
        assert_eq!(q.buffered(), 0);
    }

    #[test]
    fn small_frames_are_one_slice_large_ones_pass_through() {
        let mut q = TxQueue::default();
        let (h, p) = data(4);
        q.push(h, p, Some(MessageKind::Binary));
        let (h, p) = data(5000);
        let ptr = p.as_ptr();
        q.push(h, p, Some(MessageKind::Binary));
        q.advance(1);
        let mut dst = [&[][..]; 4];
        let n = q.chunks(&mut dst);
        assert_eq!(n, 3);
        assert_eq!(dst[0], &[4, 7, 7, 7, 7]);
        assert_eq!(dst[1], &[0x82, 126, 0x13, 0x88]);
        assert_eq!(dst[2].as_ptr(), ptr, "not copied");
    }

    #[test]
    fn a_unique_large_payload_is_masked_in_place() {
        let mut q = TxQueue::default();
        let payload = Bytes::from(alloc::vec![0u8; 4096]);
        let ptr = payload.as_ptr();
        let mut h = FrameHeader::new(OpCode::Binary, 4096);
        h.mask = Some([1, 2, 3, 4]);
        q.push(h, payload, Some(MessageKind::Binary));
        let mut dst = [&[][..]; 2];
        assert_eq!(q.chunks(&mut dst), 2);
        assert_eq!(dst[1].as_ptr(), ptr);
        assert_eq!(&dst[1][..5], &[1, 2, 3, 4, 1]);
    }

    #[test]
    fn unsent_payloads_come_back_unmasked() {
        let mut q = TxQueue::default();
        let mut h = FrameHeader::new(OpCode::Text, 5);
        h.mask = Some([1, 2, 3, 4]);
        q.push(h, Bytes::from_static(b"hello"), Some(MessageKind::Text));
        q.advance(3);
        let unsent = q.take_unsent();
        assert_eq!(unsent.len(), 1);
        assert_eq!(&unsent[0].data[..], b"hello");
        assert!(unsent[0].first && unsent[0].last);
        assert_eq!(q.buffered(), 0);
    }
}
