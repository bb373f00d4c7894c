//! Small messages cost no allocation each: a payload of at most `INLINE_CAPACITY`
//! bytes is held inline in the event (not a view of the read buffer, which would
//! cost two atomic reference count updates), and sending it back copies it into
//! the output. Counted with a counting allocator, in a test binary of its own.

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::allocations;
mod common;
use common::c2s;

use wsmachine::frame::OpCode;
use wsmachine::{
    Config, Connection, Event, INLINE_CAPACITY, Message, Negotiated, Payload, Timestamp,
};

const T: Timestamp = Timestamp::ZERO;
const EACH: usize = 10_000;

/// One test, so that no other test's allocations are counted with its own.
#[test]
fn small_and_viewed_messages_cost_no_allocation_each() {
    small_messages_are_inline_and_echoing_them_allocates_nothing_per_message();
    a_payload_one_byte_over_the_inline_capacity_is_a_view_of_the_read_buffer();
    messages_handed_out_as_views_cost_no_allocation_once_dropped();
}

fn small_messages_are_inline_and_echoing_them_allocates_nothing_per_message() {
    let text = "sixteen bytes ok";
    let binary = [0xa5u8; INLINE_CAPACITY];
    let mut wire = Vec::new();
    for _ in 0..EACH {
        wire.extend(c2s(OpCode::Text, true, text.as_bytes()));
        wire.extend(c2s(OpCode::Binary, true, &binary));
    }
    let mut conn =
        Connection::upgraded_server(Config::default(), Negotiated::none(), &[], T).unwrap();
    // Room for all the echoes, so that the sink's growth is not counted.
    let mut sink = Vec::with_capacity(4 << 20);
    let (mut seen, mut inline) = (0, 0);

    let before = allocations();
    for piece in wire.chunks(64 << 10) {
        // As a socket reads: straight into the connection's buffer.
        let mut at = 0;
        while at < piece.len() {
            let room = conn.read_buf();
            let n = room.len().min(piece.len() - at);
            room[..n].copy_from_slice(&piece[at..at + n]);
            conn.handle_read(T, n);
            at += n;
            while let Some(event) = conn.poll_event() {
                let Event::Message(m) = event else {
                    panic!("unexpected {event:?}")
                };
                seen += 1;
                inline += usize::from(match &m {
                    Message::Text(t) => t.clone().into_payload().is_inline(),
                    Message::Binary(b) => b.is_inline(),
                });
                assert!(m.as_bytes() == text.as_bytes() || m.as_bytes() == binary);
                conn.send(m).unwrap();
            }
        }
        conn.transmit_into(&mut sink);
    }
    conn.transmit_into(&mut sink);
    let made = allocations() - before;

    assert_eq!(seen, 2 * EACH);
    assert_eq!(inline, seen, "a small payload was not inline");
    // Every message went back out unmasked: a 2-byte header and the payload.
    let mut expected = Vec::new();
    for _ in 0..EACH {
        expected.extend([0x81, text.len() as u8]);
        expected.extend(text.as_bytes());
        expected.extend([0x82, INLINE_CAPACITY as u8]);
        expected.extend(binary);
    }
    assert_eq!(sink.len(), expected.len());
    assert!(sink == expected, "the echoes differ from the messages");
    // Input buffers (one per 64 KiB read), output buffers and the event queue: a
    // few hundred allocations for 20,000 messages, where a `Bytes` per message
    // (received or sent) would be 20,000 or more.
    let per_message = made as f64 / (2 * EACH) as f64;
    println!(
        "{made} allocations for {} messages ({per_message:.4} each)",
        2 * EACH
    );
    assert!(
        per_message < 0.02,
        "{per_message:.4} allocations per message"
    );
}

fn a_payload_one_byte_over_the_inline_capacity_is_a_view_of_the_read_buffer() {
    let mut conn =
        Connection::upgraded_server(Config::default(), Negotiated::none(), &[], T).unwrap();
    let wire = c2s(OpCode::Binary, true, &[3u8; INLINE_CAPACITY + 1]);
    let room = conn.read_buf();
    let range = room.as_ptr_range();
    room[..wire.len()].copy_from_slice(&wire);
    conn.handle_read(T, wire.len());
    let Some(Event::Message(Message::Binary(payload))) = conn.poll_event() else {
        panic!()
    };
    assert!(!payload.is_inline());
    assert!(range.contains(&payload.as_ptr()));
    assert_eq!(payload, Payload::from(vec![3u8; INLINE_CAPACITY + 1]));
}

/// Receives `count` messages of `len` bytes read as from a socket, 64 KiB at a time,
/// each kept or dropped on arrival; returns the allocations made over the second
/// half, and checks every message (the kept ones once all are in: a buffer reused
/// while a view of it is held would show here).
fn views_received(len: usize, count: usize, keep: bool) -> isize {
    let byte = |i: usize| b'a' + (i % 26) as u8;
    let is_body =
        |m: &Message, i: usize| m.len() == len && m.as_bytes().iter().all(|&b| b == byte(i));
    let wire: Vec<u8> = (0..count)
        .flat_map(|i| c2s(OpCode::Text, true, &vec![byte(i); len]))
        .collect();
    let mut conn =
        Connection::upgraded_server(Config::default(), Negotiated::none(), &[], T).unwrap();
    let mut kept = Vec::with_capacity(if keep { count } else { 0 });
    let (mut seen, mut from) = (0, 0);
    common::read_as_socket(&mut conn, &wire, |event| {
        let Event::Message(m) = event else {
            panic!("unexpected {event:?}")
        };
        assert!(is_body(&m, seen));
        seen += 1;
        if seen == count / 2 {
            from = allocations();
        }
        if keep {
            kept.push(m);
        }
    });
    let made = allocations() - from;
    assert_eq!(seen, count);
    for (i, m) in kept.iter().enumerate() {
        assert!(is_body(m, i), "message {i} changed after it was handed out");
    }
    made
}

fn messages_handed_out_as_views_cost_no_allocation_once_dropped() {
    const COUNT: usize = 4_000;
    // 128-byte messages: about 480 in each 64 KiB read, handed out as views of it.
    let dropped = views_received(128, COUNT, false);
    let kept = views_received(128, COUNT, true);
    println!(
        "{COUNT} messages of 128 bytes, second half: {dropped} allocations dropped, {kept} kept"
    );
    // Dropped on arrival, the read buffer is free again when the next read needs
    // room, and is reused in place.
    assert_eq!(dropped, 0, "allocations for messages dropped on arrival");
    // Kept, each read needs a buffer of its own: the held views are not written over.
    assert!(kept >= 2, "{kept} allocations for messages kept");
}
