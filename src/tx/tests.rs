//! The output queue's bookkeeping: partial writes, gathering, masking, what comes back unsent.

use super::window::MASK_WINDOW;
use super::*;

fn data(len: usize) -> (FrameHeader, Bytes) {
    let payload = Bytes::from(alloc::vec![7u8; len]);
    (FrameHeader::new(OpCode::Binary, len as u64), payload)
}

/// Writes the queue out `step` bytes at a time, as a slow transport would.
fn write_in_pieces(q: &mut TxQueue, step: usize) -> Vec<u8> {
    let mut out = Vec::new();
    while q.buffered() > 0 {
        let front = q.front();
        let n = front.len().min(step);
        out.extend_from_slice(&front[..n]);
        q.advance(n);
    }
    out
}

#[test]
fn advance_across_frames_and_partial_writes() {
    let mut q = TxQueue::default();
    let (h, p) = data(3);
    q.push(h, Body::Shared(p), Some(MessageKind::Binary));
    let (h, p) = data(200);
    q.push(h, Body::Shared(p), Some(MessageKind::Binary));
    assert_eq!(q.buffered(), 5 + 204);
    let out = write_in_pieces(&mut q, 3);
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
    q.push(h, Body::Shared(p), Some(MessageKind::Binary));
    let (h, p) = data(5000);
    let ptr = p.as_ptr();
    q.push(h, Body::Shared(p), Some(MessageKind::Binary));
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
    q.push(h, Body::Shared(payload), Some(MessageKind::Binary));
    let mut dst = [&[][..]; 2];
    assert_eq!(q.chunks(&mut dst), 2);
    assert_eq!(dst[1].as_ptr(), ptr);
    assert_eq!(&dst[1][..5], &[1, 2, 3, 4, 1]);
}

/// A payload of `len` bytes that differ from one position to the next, so that a
/// window masked from the wrong offset shows.
fn varied(len: usize) -> Bytes {
    (0..len)
        .map(|i| (i * 7 + i / 251) as u8)
        .collect::<Vec<u8>>()
        .into()
}

#[test]
fn a_shared_large_payload_is_masked_a_window_at_a_time() {
    let key = [0x11, 0x22, 0x33, 0x44];
    let len = 2 * MASK_WINDOW + 1001;
    let mut q = TxQueue::default();
    let (h, p) = data(3);
    q.push(h, Body::Shared(p), Some(MessageKind::Binary));
    let payload = varied(len);
    let kept = payload.clone(); // the caller still holds it: shared
    let mut h = FrameHeader::new(OpCode::Binary, len as u64);
    h.mask = Some(key);
    q.push(h, Body::Shared(payload), Some(MessageKind::Binary));
    let (h, p) = data(2);
    q.push(h, Body::Shared(p), Some(MessageKind::Binary));
    assert_eq!(kept, varied(len), "the caller's bytes are not touched");
    let mut dst = [&[][..]; 8];
    // The small frame and the large frame's header; its payload waits for them.
    assert_eq!(q.chunks(&mut dst), 2);
    assert_eq!(dst[0].len(), 5);
    assert_eq!(dst[1].len(), 14, "a 64-bit length and a key");
    q.advance(19);
    // One window of masked payload, and nothing after it yet.
    let mut dst = [&[][..]; 8];
    assert_eq!(q.chunks(&mut dst), 1);
    assert_eq!(dst[0].len(), MASK_WINDOW);
    assert!(!kept.as_ptr_range().contains(&dst[0].as_ptr()));
    // Written in uneven pieces, across the windows, it is the payload masked from
    // its first byte, then the frame after it.
    let out = write_in_pieces(&mut q, 9973);
    let mut expected = kept.to_vec();
    apply_mask(&mut expected, key, 0);
    assert_eq!(&out[..len], &expected[..]);
    assert_eq!(&out[len..], &[0x82, 2, 7, 7]);
    assert!(!q.window.is_allocated(), "the window goes with the output");
}

/// A queue holding one masked frame of `len` varied bytes the caller still shares,
/// and the caller's copy.
fn shared_masked(len: usize, key: [u8; 4]) -> (TxQueue, Bytes) {
    let mut q = TxQueue::default();
    let payload = varied(len);
    let kept = payload.clone();
    let mut h = FrameHeader::new(OpCode::Binary, len as u64);
    h.mask = Some(key);
    q.push(h, Body::Shared(payload), Some(MessageKind::Binary));
    (q, kept)
}

#[test]
fn a_payload_masked_late_comes_back_whole_and_unmasked() {
    let key = [9, 8, 7, 6];
    let len = MASK_WINDOW + 77;
    for written in [0, 5, 14 + MASK_WINDOW / 2, 14 + MASK_WINDOW + 3] {
        let (mut q, _kept) = shared_masked(len, key);
        let mut drained = Vec::new();
        while drained.len() < written {
            let front = q.front();
            let n = front.len().min(written - drained.len());
            drained.extend_from_slice(&front[..n]);
            q.advance(n);
        }
        let unsent = q.take_unsent();
        assert_eq!(unsent.len(), 1, "written {written}");
        assert_eq!(unsent[0].data, varied(len), "written {written}");
    }
}

#[test]
fn drain_into_takes_every_window() {
    let key = [1, 2, 3, 4];
    let len = 3 * MASK_WINDOW;
    let (mut q, kept) = shared_masked(len, key);
    let mut out = Vec::new();
    assert_eq!(q.drain_into(&mut out), len + 14);
    let mut expected = kept.to_vec();
    apply_mask(&mut expected, key, 0);
    assert_eq!(&out[14..], &expected[..]);
    assert_eq!(q.buffered(), 0);
}

#[test]
fn small_frames_gather_into_one_slice() {
    let mut q = TxQueue::default();
    for i in 0..100u8 {
        let h = FrameHeader::new(OpCode::Binary, 1);
        q.push(
            h,
            Body::Shared(Bytes::from(alloc::vec![i])),
            Some(MessageKind::Binary),
        );
    }
    assert_eq!(q.front().len(), 300);
    let mut dst = [&[][..]; 4];
    assert_eq!(q.chunks(&mut dst), 1);
    // Write it out in uneven pieces; frames leave the buffer whole.
    let out = write_in_pieces(&mut q, 7);
    let expected: Vec<u8> = (0..100u8).flat_map(|i| [0x82, 1, i]).collect();
    assert_eq!(out, expected);
}

#[test]
fn a_partly_written_gathered_frame_comes_back_whole() {
    let mut q = TxQueue::default();
    let mut h = FrameHeader::new(OpCode::Text, 5);
    h.mask = Some([9, 8, 7, 6]);
    q.push(
        h,
        Body::Shared(Bytes::from_static(b"first")),
        Some(MessageKind::Text),
    );
    q.push(
        h,
        Body::Shared(Bytes::from_static(b"later")),
        Some(MessageKind::Text),
    );
    q.advance(11 + 3); // the first frame, then 3 bytes of the second
    let unsent = q.take_unsent();
    assert_eq!(unsent.len(), 1);
    assert_eq!(&unsent[0].data[..], b"later");
}

#[test]
fn unsent_payloads_come_back_unmasked() {
    let mut q = TxQueue::default();
    let mut h = FrameHeader::new(OpCode::Text, 5);
    h.mask = Some([1, 2, 3, 4]);
    q.push(
        h,
        Body::Shared(Bytes::from_static(b"hello")),
        Some(MessageKind::Text),
    );
    q.advance(3);
    let unsent = q.take_unsent();
    assert_eq!(unsent.len(), 1);
    assert_eq!(&unsent[0].data[..], b"hello");
    assert!(unsent[0].first && unsent[0].last);
    assert_eq!(q.buffered(), 0);
}

fn frame(opcode: OpCode, fin: bool, payload: &'static [u8], mask: Option<[u8; 4]>) -> FrameHeader {
    let mut h = FrameHeader::new(opcode, payload.len() as u64);
    h.fin = fin;
    h.mask = mask;
    h
}

/// Pushes the frames of `spec` (opcode, fin, payload), masked with `mask`: data
/// frames carry the kind of the message they belong to, control frames none.
fn push_all(q: &mut TxQueue, spec: &[(OpCode, bool, &'static [u8])], mask: Option<[u8; 4]>) {
    let mut kind = MessageKind::Binary;
    for &(opcode, fin, payload) in spec {
        match opcode {
            OpCode::Text => kind = MessageKind::Text,
            OpCode::Binary => kind = MessageKind::Binary,
            _ => {}
        }
        let kind = (!opcode.is_control()).then_some(kind);
        let body = Body::Shared(Bytes::from_static(payload));
        q.push(frame(opcode, fin, payload, mask), body, kind);
    }
}

#[test]
fn gathered_frames_come_back_from_their_headers_whatever_was_written() {
    use OpCode::*;
    let spec: &[(OpCode, bool, &[u8])] = &[
        (Text, false, b"he"),
        (Ping, true, b"p"),
        (Continuation, true, b"llo"),
        (Binary, true, b"\x01\x02"),
        (Binary, false, b"ab"),
        (Close, true, b"\x03\xe8"),
        (Continuation, false, b"c"),
        (Continuation, true, b"de"),
    ];
    for mask in [None, Some([0x37, 0xfa, 0x21, 0x3d])] {
        let mut whole = TxQueue::default();
        push_all(&mut whole, spec, mask);
        let total = whole.buffered();
        let all = whole.take_unsent();
        // Every data frame, in order, unmasked, control frames left out.
        let seen: Vec<(MessageKind, &[u8], bool, bool)> = all
            .iter()
            .map(|u| (u.kind, &u.data[..], u.first, u.last))
            .collect();
        use MessageKind::{Binary as B, Text as T};
        let expected: &[(MessageKind, &[u8], bool, bool)] = &[
            (T, b"he", true, false),
            (T, b"llo", false, true),
            (B, b"\x01\x02", true, true),
            (B, b"ab", true, false),
            (B, b"c", false, false),
            (B, b"de", false, true),
        ];
        assert_eq!(seen, expected, "mask {mask:?}");
        // After any number of bytes written, what comes back is the data frames
        // not wholly written, the one cut short included.
        let head = if mask.is_some() { 6 } else { 2 };
        let ends: Vec<usize> = spec
            .iter()
            .scan(0, |at, f| {
                *at += head + f.2.len();
                Some(*at)
            })
            .collect();
        for n in 0..total {
            let mut q = TxQueue::default();
            push_all(&mut q, spec, mask);
            q.advance(n);
            let left: Vec<&[u8]> = spec
                .iter()
                .zip(&ends)
                .filter(|(f, end)| **end > n && !f.0.is_control())
                .map(|(f, _)| f.2)
                .collect();
            let unsent = q.take_unsent();
            let got: Vec<&[u8]> = unsent.iter().map(|u| &u.data[..]).collect();
            assert_eq!(got, left, "{n} bytes written, mask {mask:?}");
            assert_eq!(q.buffered(), 0);
        }
    }
}

#[test]
fn a_continuation_starting_a_run_keeps_its_message_type() {
    // With a ping before it, the run starts with the ping and the continuation joins.
    for ping in [false, true] {
        let mut q = TxQueue::default();
        // A large first frame is a segment of its own; what follows is gathered.
        let big = Bytes::from(alloc::vec![b'x'; 2000]);
        let mut h = FrameHeader::new(OpCode::Text, 2000);
        h.fin = false;
        q.push(h, Body::Shared(big), Some(MessageKind::Text));
        if ping {
            q.push(FrameHeader::new(OpCode::Ping, 0), Body::Copied(b""), None);
        }
        let h = FrameHeader::new(OpCode::Continuation, 3);
        q.push(h, Body::Copied(b"end"), Some(MessageKind::Text));
        q.advance(2004 + 1);
        let unsent = q.take_unsent();
        assert_eq!(unsent.len(), 1);
        assert_eq!(unsent[0].kind, MessageKind::Text, "ping {ping}");
        assert!(!unsent[0].first && unsent[0].last);
        assert_eq!(&unsent[0].data[..], b"end");
    }
}

#[test]
fn a_run_costs_its_bytes_and_one_record() {
    let mut q = TxQueue::default();
    for _ in 0..10 {
        q.push(
            FrameHeader::new(OpCode::Binary, 4),
            Body::Copied(b"abcd"),
            Some(MessageKind::Binary),
        );
    }
    assert_eq!(q.cost(), 10 * 6 + RECORD_COST);
    // A large frame ends the run; a frame after it starts another.
    let (h, p) = data(5000);
    q.push(h, Body::Shared(p), Some(MessageKind::Binary));
    let large = frame_cost(5004, 5000);
    q.push(
        FrameHeader::new(OpCode::Binary, 4),
        Body::Copied(b"abcd"),
        Some(MessageKind::Binary),
    );
    // Sealed, the run's tail buffer counts its unused room too.
    let first_run = 10 * 6 + RECORD_COST + (TAIL_CHUNK - 60 + SEGMENT_COST);
    assert_eq!(q.cost(), first_run + large + 6 + RECORD_COST);
    // The first run is out, all but its last byte, then all of it.
    q.advance(59);
    assert_eq!(q.cost(), first_run + large + 6 + RECORD_COST);
    q.advance(1);
    assert_eq!(q.cost(), large + 6 + RECORD_COST);
    q.advance(5004);
    assert_eq!(q.cost(), 6 + RECORD_COST);
    assert_eq!(q.front(), &[0x82, 4, b'a', b'b', b'c', b'd']);
    q.advance(6);
    assert_eq!((q.cost(), q.buffered()), (0, 0));
}

#[test]
fn payloads_masked_late_one_after_another() {
    let mut q = TxQueue::default();
    let mut expected = Vec::new();
    let mut kept = Vec::new();
    for (len, key) in [(MASK_WINDOW + 5, [1, 2, 3, 4]), (2000, [5, 6, 7, 8])] {
        let payload = varied(len);
        kept.push(payload.clone());
        let mut h = FrameHeader::new(OpCode::Binary, len as u64);
        h.mask = Some(key);
        h.encode_to_vec(&mut expected);
        let mut masked = payload.to_vec();
        apply_mask(&mut masked, key, 0);
        expected.extend_from_slice(&masked);
        q.push(h, Body::Shared(payload), Some(MessageKind::Binary));
    }
    assert_eq!(write_in_pieces(&mut q, 4099), expected);
}
