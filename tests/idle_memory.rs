//! An idle OPEN connection holds no heap buffers: after messages have been
//! delivered and output written, the heap it owns is back to what it owned when
//! created (nothing for a server; the boxed entropy source for a client). And a
//! frame header declaring a huge length costs nothing until its bytes arrive.
//!
//! Measured with a counting allocator, in a test binary of its own with a single
//! test, counting the allocations of the test's own thread (the harness's main
//! thread may allocate while the test runs).

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
// Counted on the test's own thread: the harness's threads allocate meanwhile.
use counting_alloc::thread_live as live;
mod common;
use common::{c2s, feed};

use wsmachine::frame::{FrameHeader, OpCode};
use wsmachine::{Accept, Config, Connection, Event, Negotiated, SeededEntropy, Timestamp};

const T: Timestamp = Timestamp::ZERO;

/// Exchanges a fragmented message, a ping and a large message with `conn` (a server
/// receiving masked frames), echoing every message, and writes all output.
fn busy_round(conn: &mut Connection) {
    busy_round_fed(conn, false);
}

/// The same, the input read straight into the connection's own buffer when
/// `read_buf`.
fn busy_round_fed(conn: &mut Connection, read_buf: bool) {
    let mut input = c2s(OpCode::Text, false, b"frag");
    input.extend(c2s(OpCode::Ping, true, b"p"));
    input.extend(c2s(OpCode::Continuation, true, b"mented"));
    input.extend(c2s(OpCode::Binary, true, &vec![7u8; 100_000]));
    // Fed in awkward pieces, so partial headers and payloads are kept between calls.
    for piece in input.chunks(777) {
        if read_buf {
            let room = conn.read_buf();
            room[..piece.len()].copy_from_slice(piece);
            conn.handle_read(T, piece.len());
        } else {
            feed(conn, T, piece);
        }
        while let Some(event) = conn.poll_event() {
            if let Event::Message(m) = event {
                conn.send(m).unwrap();
            }
        }
    }
    let mut sink = Vec::new();
    conn.transmit_into(&mut sink);
    drop(sink);
}

#[test]
fn an_idle_connection_holds_no_heap_buffers() {
    println!(
        "size_of::<Connection>() = {} bytes",
        std::mem::size_of::<Connection>()
    );
    println!(
        "size_of::<Event>() = {} bytes",
        std::mem::size_of::<Event>()
    );

    // A server built already OPEN owns no heap at all, before and after traffic.
    let before = live();
    let mut server =
        Connection::upgraded_server(Config::default(), Negotiated::none(), &[], T).unwrap();
    assert_eq!(live() - before, 0, "a new OPEN server allocates nothing");
    for read_buf in [false, true, false, true] {
        busy_round_fed(&mut server, read_buf);
        assert_eq!(
            live() - before,
            0,
            "an idle server after traffic (read_buf: {read_buf}) holds heap"
        );
    }
    drop(server);

    // Through the opening handshake: the request head and the handshake state are
    // released once OPEN.
    let before = live();
    let mut server = Connection::server(Config::default(), T).unwrap();
    feed(
        &mut server,
        T,
        b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    while server.poll_event().is_some() {}
    server.accept(T, Accept::new()).unwrap();
    while server.poll_event().is_some() {}
    let mut sink = Vec::new();
    server.transmit_into(&mut sink);
    drop(sink);
    busy_round(&mut server);
    assert_eq!(
        live() - before,
        0,
        "an idle server after its handshake holds heap"
    );
    drop(server);

    // A header declaring the largest frame the default limits allow, followed by a
    // few payload bytes, costs what arrived, never the declared 64 MiB.
    let before = live();
    let mut server =
        Connection::upgraded_server(Config::default(), Negotiated::none(), &[], T).unwrap();
    let declared = Config::default().max_message_size;
    let mut h = FrameHeader::new(OpCode::Binary, declared);
    h.mask = Some([1, 2, 3, 4]);
    let mut wire = Vec::new();
    h.encode_to_vec(&mut wire);
    wire.extend_from_slice(&[0u8; 10]);
    feed(&mut server, T, &wire);
    assert!(server.poll_event().is_none(), "the frame is not complete");
    let held = live() - before;
    assert!(
        (10..1024).contains(&held),
        "{held} bytes held for 10 payload bytes of a {declared}-byte frame"
    );
    drop(server);

    // A client owns its entropy source (boxed) and nothing else.
    let before = live();
    let mut client = Connection::upgraded_client(
        Config::default(),
        Negotiated::none(),
        SeededEntropy::new(1),
        &[],
        T,
    )
    .unwrap();
    let owned = live() - before;
    assert_eq!(owned as usize, std::mem::size_of::<SeededEntropy>());
    client.send_text("hello").unwrap();
    client.send_binary(vec![0u8; 50_000]).unwrap();
    let mut sink = Vec::new();
    client.transmit_into(&mut sink);
    drop(sink);
    feed(&mut client, T, &[0x81, 0x02, b'h', b'i']);
    while client.poll_event().is_some() {}
    assert_eq!(
        live() - before,
        owned,
        "an idle client holds more than its entropy box"
    );
}
