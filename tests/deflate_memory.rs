//! What permessage-deflate costs in memory, measured with a counting allocator (a
//! test binary of its own, with a single test, so that nothing else allocates
//! meanwhile):
//! - a decompression bomb (a few KiB on the wire, 16 MiB inflated) against a 1 MiB
//!   message limit: refused with 1009, and the heap never holds more than the limit
//!   plus a small bound, in whole and streamed delivery, in one frame or in many;
//! - an idle connection after a message each way: what its contexts hold with
//!   context takeover (by window size), and that without it no context is held.
//!
//! `cargo test --all-features --test deflate_memory -- --nocapture` prints the numbers.
#![cfg(feature = "deflate")]

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::{live, peak, reset_peak};
mod common;
use common::{KEY, Pair, T0, drain_events};

use flate2::{Compress, Compression, FlushCompress};
use wsmachine::deflate::{DeflateConfig, DeflateParams};
use wsmachine::frame::{FrameHeader, OpCode};
use wsmachine::{
    Accept, ClientRequest, Config, Connection, Delivery, Event, Negotiated, SeededEntropy,
};

/// What may come on top of the message limit while inflating: the inflater's state
/// and window (about 40 KiB), one read's worth of input, a piece being inflated in
/// streamed delivery (64 KiB), the event queue.
const SMALL_BOUND: isize = 256 << 10;

#[test]
fn what_compression_makes_a_connection_hold_is_bounded() {
    a_bomb_costs_no_more_than_the_limit();
    an_idle_compressed_connection_holds_only_its_contexts();
}

/// `data` as one compressed message, from a fresh context, the tail removed.
fn deflated(data: &[u8]) -> Vec<u8> {
    let mut c = Compress::new(Compression::best(), false);
    let mut out = Vec::with_capacity(data.len() / 100 + 1024);
    loop {
        let at = c.total_in() as usize;
        if out.capacity() - out.len() < 64 {
            out.reserve(out.capacity());
        }
        c.compress_vec(&data[at..], &mut out, FlushCompress::Sync)
            .unwrap();
        if c.total_in() as usize == data.len() && out.len() < out.capacity() {
            break;
        }
    }
    out.truncate(out.len() - 4);
    out
}

/// A masked client frame.
fn frame(opcode: OpCode, fin: bool, rsv: u8, payload: &[u8]) -> Vec<u8> {
    let mut header = FrameHeader::new(opcode, payload.len() as u64);
    header.fin = fin;
    header.rsv = rsv;
    header.mask = Some(KEY);
    let mut out = Vec::new();
    header.encode_to_vec(&mut out);
    let start = out.len();
    out.extend_from_slice(payload);
    wsmachine::mask::apply_mask(&mut out[start..], KEY, 0);
    out
}

/// Feeds `input` the way a socket would, 64 KiB per read, polling every event;
/// returns the close code, and how many message bytes were delivered before it.
fn feed_bomb(conn: &mut Connection, input: &[u8]) -> (u16, usize) {
    let mut delivered = 0;
    let mut code = None;
    for chunk in input.chunks(64 << 10) {
        let _ = conn.handle_data(T0, chunk);
        while let Some(event) = conn.poll_event() {
            match event {
                Event::Message(m) => delivered += m.len(),
                Event::Fragment(f) => delivered += f.data.len(),
                Event::Closed(c) => code = Some(c.code.0),
                _ => {}
            }
        }
        if code.is_some() {
            break;
        }
    }
    (code.expect("the bomb closes the connection"), delivered)
}

fn a_bomb_costs_no_more_than_the_limit() {
    let limit: u64 = 1 << 20;
    let inflated = vec![0u8; 16 << 20];
    let one_frame = frame(OpCode::Binary, true, 0b100, &deflated(&inflated));
    // The same message over 256 frames: RSV1 on the first only (RFC 7692 §6.1).
    let z = deflated(&inflated);
    let pieces: Vec<&[u8]> = z.chunks(z.len().div_ceil(256)).collect();
    let mut many_frames = Vec::new();
    for (i, piece) in pieces.iter().enumerate() {
        let (opcode, rsv) = if i == 0 {
            (OpCode::Binary, 0b100)
        } else {
            (OpCode::Continuation, 0)
        };
        many_frames.extend(frame(opcode, i + 1 == pieces.len(), rsv, piece));
    }
    println!(
        "bomb: {} MiB inflated, {} bytes in one frame, {} in {} frames",
        inflated.len() >> 20,
        one_frame.len(),
        many_frames.len(),
        pieces.len()
    );
    drop(inflated);
    assert!(one_frame.len() < 128 << 10);

    for delivery in [Delivery::Whole, Delivery::Streamed] {
        for (shape, input) in [("one frame", &one_frame), ("many frames", &many_frames)] {
            let mut config = Config::default();
            config.max_message_size = limit;
            config.delivery = delivery;
            let mut negotiated = Negotiated::none();
            negotiated.deflate = Some(DeflateParams::default());
            let before = live();
            reset_peak();
            let mut conn = Connection::upgraded_server(config, negotiated, &[], T0).unwrap();
            let (code, delivered) = feed_bomb(&mut conn, input);
            let peak = peak() - before;
            drop(conn);
            let left = live() - before;
            println!(
                "bomb, {delivery:?}, {shape}: closed {code} after {delivered} bytes delivered, \
                 peak heap {} KiB (limit {} KiB)",
                peak >> 10,
                limit >> 10
            );
            assert_eq!(code, 1009, "{delivery:?}, {shape}");
            // Streamed delivery hands pieces out before the limit is found; a whole
            // message is never delivered.
            assert!(delivered as u64 <= limit, "{delivery:?}, {shape}");
            if delivery == Delivery::Whole {
                assert_eq!(delivered, 0);
            }
            assert!(
                peak <= limit as isize + SMALL_BOUND,
                "{delivery:?}, {shape}: peak {peak} bytes over a {limit}-byte limit"
            );
            // The counter sees every thread, and the test harness's own may still be
            // allocating its few hundred bytes as the first measurement starts.
            assert!(
                left < 4 << 10,
                "{left} bytes left after the connection was dropped"
            );
        }
    }
}

/// A client and server that negotiated `deflate` and exchanged one message each
/// way, then went quiet with every event polled and every byte written.
fn exchanged(deflate: Option<DeflateConfig>) -> Pair {
    let mut config = Config::default();
    config.deflate = deflate;
    let request = ClientRequest::new("h", "/");
    let c = Connection::client(config.clone(), request, SeededEntropy::new(5), T0).unwrap();
    let s = Connection::server(config, T0).unwrap();
    let mut p = Pair::of(c, s);
    p.drive();
    p.server.accept(T0, Accept::new()).unwrap();
    p.drive();
    let text = "a message worth compressing, with some repetition in it. ".repeat(40);
    p.client.send(text.as_str()).unwrap();
    p.server.send(text.as_str()).unwrap();
    p.drive();
    let messages = p
        .client_events
        .iter()
        .chain(&p.server_events)
        .filter(|e| matches!(e, Event::Message(_)))
        .count();
    assert_eq!(messages, 2);
    p.client_events.clear();
    p.server_events.clear();
    assert!(drain_events(&mut p.client).is_empty());
    p
}

/// What one idle server connection holds after the exchange.
fn idle_server_heap(deflate: Option<DeflateConfig>) -> isize {
    let p = exchanged(deflate);
    let Pair { client, server, .. } = p;
    drop(client);
    let before = live();
    drop(server);
    before - live()
}

fn an_idle_compressed_connection_holds_only_its_contexts() {
    // The connection value itself, without compression, for reference.
    let plain = idle_server_heap(None);
    let mut rows = Vec::new();
    for (bits, takeover) in [(15, true), (12, true), (9, true), (15, false)] {
        let mut d = DeflateConfig::default();
        d.server_max_window_bits = bits;
        d.client_max_window_bits = bits;
        d.server_no_context_takeover = !takeover;
        d.client_no_context_takeover = !takeover;
        let held = idle_server_heap(Some(d)) - plain;
        println!(
            "idle server connection, window {bits} bits, context takeover {takeover}: \
             {held} bytes more than without compression"
        );
        rows.push((bits, takeover, held));
    }
    println!("idle server connection without compression: {plain} bytes");
    for &(bits, takeover, held) in &rows {
        if takeover {
            // Both contexts: the compressor's window, hash chains and pending
            // buffer, the decompressor's window and state.
            assert!(
                held > 1 << bits && held <= 512 << 10,
                "{bits} bits: {held} bytes held"
            );
        } else {
            // Only the negotiated extension's text: no context between messages.
            assert!(held < 1 << 10, "no context takeover: {held} bytes held");
        }
    }
    // A smaller window holds less.
    assert!(rows[2].2 < rows[0].2);
}
