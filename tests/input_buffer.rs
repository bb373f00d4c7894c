//! The connection's own input buffer: a socket reads straight into it, a message
//! that came in one frame is a view of it (no copy), and it stays bounded.

mod common;
use common::*;
use wsmachine::frame::{FrameHeader, OpCode};
use wsmachine::{Event, Message};

/// A message in one frame is handed out as a view of the buffer the bytes were
/// read into: the read was its only copy.
#[test]
fn a_single_frame_message_is_a_view_of_the_read_buffer() {
    let mut s = server();
    let wire = c2s(OpCode::Binary, true, &[9u8; 1000]);
    let room = s.read_buf();
    let range = room.as_ptr_range();
    room[..wire.len()].copy_from_slice(&wire);
    s.handle_read(T0, wire.len());
    let Some(Event::Message(Message::Binary(payload))) = s.poll_event() else {
        panic!()
    };
    assert_eq!(&payload[..], &[9u8; 1000][..]);
    assert!(
        range.contains(&payload.as_ptr()),
        "the payload was copied out of the read buffer"
    );
}

/// While input waits for its events to be polled, the buffer offers no room; after
/// polling it does again, and nothing was lost.
#[test]
fn no_room_while_events_wait_unpolled() {
    let mut s = server();
    let wire: Vec<u8> = (0..100u8)
        .flat_map(|i| c2s(OpCode::Binary, true, &[i]))
        .collect();
    let room = s.read_buf();
    room[..wire.len()].copy_from_slice(&wire);
    s.handle_read(T0, wire.len());
    assert!(s.read_buf().is_empty(), "room offered while 16 events wait");
    assert_eq!(
        s.handle_data(T0, b"x"),
        0,
        "handle_data takes nothing either"
    );
    let events = drain_events(&mut s);
    assert_eq!(events.len(), 100);
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e, &Event::Message(Message::Binary(vec![i as u8].into())));
    }
    assert!(!s.read_buf().is_empty());
}

/// A header declaring a huge frame does not make the buffer grow to it: the room
/// offered stays a small multiple of what has arrived.
#[test]
fn a_declared_length_does_not_size_the_buffer() {
    let mut s = server();
    let mut header = FrameHeader::new(OpCode::Binary, 60 << 20);
    header.mask = Some(KEY);
    let mut wire = Vec::new();
    header.encode_to_vec(&mut wire);
    wire.extend_from_slice(&[0u8; 100]);
    let room = s.read_buf();
    room[..wire.len()].copy_from_slice(&wire);
    s.handle_read(T0, wire.len());
    let room = s.read_buf().len();
    assert!(
        room <= 1 << 20,
        "{room} bytes of room after 114 bytes of a 60 MiB frame"
    );
    // And the frame still arrives whole, a read at a time.
    let mut left = (60 << 20) - 100;
    while left > 0 {
        let room = s.read_buf();
        let n = room.len().min(left);
        s.handle_read(T0, n);
        left -= n;
    }
    let Some(Event::Message(m)) = s.poll_event() else {
        panic!()
    };
    assert_eq!(m.len(), 60 << 20);
}

/// The end of the stream behind input still waiting is taken in order, through
/// the buffer too.
#[test]
fn end_of_stream_after_buffered_input() {
    let mut s = server();
    let wire: Vec<u8> = (0..40u8)
        .flat_map(|i| c2s(OpCode::Text, true, &[b'a' + i % 26]))
        .collect();
    let room = s.read_buf();
    room[..wire.len()].copy_from_slice(&wire);
    s.handle_read(T0, wire.len());
    s.handle_eof(T0);
    let events = drain_events(&mut s);
    assert_eq!(events.len(), 41);
    assert!(matches!(events.last(), Some(Event::Closed(c)) if c.code.0 == 1006));
}

/// A large message's buffer is reused for the next large frame only once the
/// application has dropped the message (`held_memory.rs` shows that it is): one
/// still held is never written over.
#[test]
fn a_large_message_still_held_is_never_written_over() {
    const LEN: usize = 300_000;
    let wire: Vec<u8> = (1..=6u8)
        .flat_map(|i| c2s(OpCode::Binary, true, &vec![i; LEN]))
        .collect();

    // Every message held: each intact after all the others arrived.
    let mut s = server();
    let mut held = Vec::new();
    read_as_socket(&mut s, &wire, |e| {
        if let Event::Message(m) = e {
            held.push(m);
        }
    });
    assert_eq!(held.len(), 6);
    for (i, m) in held.iter().enumerate() {
        assert!(
            m.as_bytes().iter().all(|&b| b == i as u8 + 1),
            "message {i} was written over"
        );
    }
}

/// A large binary frame is unmasked a few reads at a time, not read by read: every
/// byte comes out right whatever the sizes of the reads, for frames ending just
/// before, at and after a batch's end, each followed by another frame in the same
/// read.
#[test]
fn large_frames_are_unmasked_whole_whatever_the_reads() {
    const BATCH: usize = 256 << 10;
    let sizes = [BATCH - 1, BATCH, BATCH + 1, 2 * BATCH + 3, 600_001];
    let payloads: Vec<Vec<u8>> = sizes
        .iter()
        .map(|&n| (0..n).map(|i| (i * 7 + n) as u8).collect())
        .collect();
    let wire: Vec<u8> = payloads
        .iter()
        .flat_map(|p| c2s(OpCode::Binary, true, p))
        .chain(c2s(OpCode::Binary, true, b"end"))
        .collect();
    for reads in [
        [65_536, 65_536, 65_536],
        [7, 100_003, 65_536],
        [1, 262_144, 3],
    ] {
        let mut s = server();
        let (mut at, mut turn, mut got) = (0, 0, Vec::new());
        while at < wire.len() {
            let room = s.read_buf();
            if room.is_empty() {
                got.extend(drain_events(&mut s));
                continue;
            }
            let n = room.len().min(reads[turn % 3]).min(wire.len() - at);
            room[..n].copy_from_slice(&wire[at..at + n]);
            s.handle_read(T0, n);
            at += n;
            turn += 1;
        }
        got.extend(drain_events(&mut s));
        assert_eq!(got.len(), payloads.len() + 1, "reads {reads:?}");
        for (event, payload) in got.iter().zip(&payloads) {
            let Event::Message(Message::Binary(b)) = event else {
                panic!("{event:?}")
            };
            assert!(
                b[..] == payload[..],
                "{} bytes, reads {reads:?}",
                payload.len()
            );
        }
        assert_eq!(
            got[payloads.len()],
            Event::Message(Message::Binary(b"end".to_vec().into()))
        );
    }
}

/// Messages of mixed sizes (a byte to 700 KB, some in fragments) read in reads of
/// every size, with handle_data now and then, in either role, each message kept or dropped at
/// random on arrival, and the transport sometimes idle (`release_read_buf`): every
/// message comes out whole and in order, and the kept ones are intact once all have
/// arrived, whichever buffer each was read into or reused.
#[test]
fn buffers_reused_or_not_every_message_stays_whole() {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    // A server reads masked frames (a large one's header is 14 bytes), a client
    // unmasked ones (10 bytes: the read that ends a large frame then brings a few
    // bytes of the next payload with the next header).
    for round in 0..8 {
        let as_client = round % 2 == 1;
        let mut payloads = Vec::new();
        let mut wire = Vec::new();
        let mut size = 0;
        for m in 0..48 {
            // Runs of like-sized messages, as a socket stream usually has.
            if m % 6 == 0 {
                size = next(4);
            }
            let len = match size {
                0 => next(24) as usize,
                1 => 100 + next(2_000) as usize,
                2 => 65_536 + next(4_000) as usize,
                _ => 200_000 + next(500_000) as usize,
            };
            let payload: Vec<u8> = (0..len).map(|i| (i * 31 + m * 7 + len) as u8).collect();
            let pieces = if next(5) == 0 {
                1 + next(4) as usize
            } else {
                1
            };
            let step = len.div_ceil(pieces).max(1);
            let chunks: Vec<&[u8]> = if len == 0 {
                vec![&[][..]]
            } else {
                payload.chunks(step).collect()
            };
            for (k, chunk) in chunks.iter().enumerate() {
                let opcode = if k == 0 {
                    OpCode::Binary
                } else {
                    OpCode::Continuation
                };
                let frame = if as_client { s2c } else { c2s };
                wire.extend(frame(opcode, k + 1 == chunks.len(), chunk));
            }
            payloads.push(payload);
        }
        let mut s = if as_client { client() } else { server() };
        let (mut at, mut got, mut kept) = (0, 0, Vec::new());
        let check =
            |event: Event, got: &mut usize, kept: &mut Vec<(usize, Message)>, keep: bool| {
                let Event::Message(m) = event else {
                    panic!("{event:?}")
                };
                assert!(m.as_bytes() == &payloads[*got][..], "message {got}");
                if keep {
                    kept.push((*got, m));
                }
                *got += 1;
            };
        while at < wire.len() {
            if next(8) == 0 {
                s.release_read_buf();
            }
            let n = if next(10) == 0 {
                let n = (1 + next(3_000) as usize).min(wire.len() - at);
                let taken = s.handle_data(T0, &wire[at..at + n]);
                assert_eq!(taken, n);
                n
            } else {
                let room = s.read_buf();
                // Mostly what a socket with data waiting brings: the room, up to
                // 64 KiB; now and then less.
                let most = if next(4) == 0 {
                    1 + next(70_000) as usize
                } else {
                    64 << 10
                };
                let n = room.len().min(most).min(wire.len() - at);
                room[..n].copy_from_slice(&wire[at..at + n]);
                s.handle_read(T0, n);
                n
            };
            at += n;
            while let Some(event) = s.poll_event() {
                let keep = next(3) == 0;
                check(event, &mut got, &mut kept, keep);
            }
        }
        assert_eq!(got, payloads.len());
        for (i, m) in &kept {
            assert!(
                m.as_bytes() == &payloads[*i][..],
                "message {i} changed after it was handed out"
            );
        }
    }
}
