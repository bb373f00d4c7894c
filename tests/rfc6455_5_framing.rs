//! RFC 6455 §5.1–§5.3: framing and masking, as seen through a `Connection`.
//! Every input is fed whole, at every split point and byte by byte.

mod common;
use common::*;
use wsmachine::frame::OpCode;
use wsmachine::{ConnectionError, Event, Message, ProtocolError, State, TransportAction};

/// §5.1: "a client MUST mask all frames that it sends to the server".
/// §5.3: "The masking key MUST be derived from a strong source of entropy" and be
/// fresh for each frame.
#[test]
fn s5_1_client_masks_every_frame_with_a_fresh_key() {
    let mut c = client();
    for _ in 0..50 {
        c.send_text("same payload").unwrap();
    }
    c.ping(T0, "p").unwrap();
    let mut out = Vec::new();
    c.transmit_into(&mut out);
    let fs = frames(&out);
    assert_eq!(fs.len(), 51);
    let keys: std::collections::HashSet<_> = fs.iter().map(|f| f.header.mask.unwrap()).collect();
    assert_eq!(keys.len(), 51, "every frame gets its own key");
    assert!(fs[..50].iter().all(|f| &f.payload[..] == b"same payload"));
}

/// §5.1: "A server MUST NOT mask any frames that it sends to the client."
#[test]
fn s5_1_server_never_masks() {
    let mut s = server();
    s.send_binary(vec![1, 2, 3]).unwrap();
    s.ping(T0, "x").unwrap();
    let mut out = Vec::new();
    s.transmit_into(&mut out);
    assert!(frames(&out).iter().all(|f| f.header.mask.is_none()));
}

/// §5.1: "The server MUST close the connection upon receiving a frame that is not
/// masked ... a server MAY send a Close frame with a status code of 1002".
#[test]
fn s5_1_server_fails_on_an_unmasked_frame() {
    let o = feed_at_every_split(&server, &s2c(OpCode::Text, true, b"hi"));
    let c = closed(&o);
    assert_eq!(c.code.0, 1002);
    assert_eq!(
        c.error,
        Some(ConnectionError::Protocol(ProtocolError::UnmaskedFrame))
    );
    assert_sent_close(&o.output, 1002);
    assert_eq!(o.state, State::Closed);
    assert_eq!(o.transport, TransportAction::Close);
}

/// §5.1: "A client MUST close a connection if it detects a masked frame."
#[test]
fn s5_1_client_fails_on_a_masked_frame() {
    let o = feed_at_every_split(&client, &c2s(OpCode::Binary, true, b"hi"));
    assert_eq!(closed(&o).code.0, 1002);
    assert_sent_close(&o.output, 1002);
}

/// §5.7, masked "Hello" into a server; unmasked "Hello" into a client.
#[test]
fn s5_7_hello_both_ways() {
    let wire = [
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    let o = feed_at_every_split(&server, &wire);
    assert_eq!(messages(&o), vec![Message::from("Hello")]);
    assert!(o.output.is_empty());
    assert_eq!(o.state, State::Open);

    let o = feed_at_every_split(&client, &[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
    assert_eq!(messages(&o), vec![Message::from("Hello")]);
}

/// §5.7: 256-byte and 64 KiB binary messages in one frame each.
#[test]
fn s5_7_long_length_forms() {
    for len in [126usize, 256, 65535, 65536, 70000] {
        let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let o = feed_chunks(&client, &[&s2c(OpCode::Binary, true, &payload)]);
        assert_eq!(
            messages(&o),
            vec![Message::from(payload.clone())],
            "len {len}"
        );
    }
    // And split everywhere for the 256-byte one (the 16-bit form).
    let payload = vec![9u8; 256];
    let o = feed_at_every_split(&client, &s2c(OpCode::Binary, true, &payload));
    assert_eq!(messages(&o), vec![Message::from(payload)]);
}

/// §5.2: RSV1-3 "MUST be 0 unless an extension is negotiated ... If a nonzero value is
/// received and none of the negotiated extensions defines the meaning of such a
/// nonzero value, the receiving endpoint MUST _Fail the WebSocket Connection_."
#[test]
fn s5_2_reserved_bits_fail_the_connection() {
    for rsv in 1..8u8 {
        let mut wire = c2s(OpCode::Text, true, b"x");
        wire[0] |= rsv << 4;
        let o = feed_at_every_split(&server, &wire);
        assert_eq!(
            closed(&o).error,
            Some(ConnectionError::Protocol(ProtocolError::ReservedBits(rsv)))
        );
        assert_sent_close(&o.output, 1002);
    }
}

/// §5.2: "If an unknown opcode is received, the receiving endpoint MUST _Fail the
/// WebSocket Connection_."
#[test]
fn s5_2_reserved_opcodes_fail_the_connection() {
    for op in [3u8, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF] {
        let mut wire = c2s(OpCode::Binary, true, b"abc");
        wire[0] = 0x80 | op;
        let o = feed_at_every_split(&server, &wire);
        assert_eq!(closed(&o).code.0, 1002, "opcode {op:#x}");
        assert_sent_close(&o.output, 1002);
    }
}

/// A message accepted before the faulty frame is delivered, in order, before Closed.
#[test]
fn s5_2_messages_before_a_fault_are_delivered() {
    let mut wire = c2s(OpCode::Text, true, b"one");
    wire.extend(c2s(OpCode::Binary, true, b"two"));
    wire.extend([0x83, 0x80, 0, 0, 0, 0]); // reserved opcode 0x3
    wire.extend(c2s(OpCode::Text, true, b"never"));
    let o = feed_at_every_split(&server, &wire);
    assert_eq!(o.events.len(), 3);
    assert_eq!(o.events[0], Event::Message(Message::from("one")));
    assert_eq!(o.events[1], Event::Message(Message::from(b"two".to_vec())));
    assert_eq!(closed(&o).code.0, 1002);
}

/// §5.2: the 64-bit length's most significant bit "MUST be 0".
#[test]
fn s5_2_length_top_bit_fails_the_connection() {
    let mut wire = vec![0x82, 0xFF];
    wire.extend_from_slice(&(1u64 << 63).to_be_bytes());
    wire.extend_from_slice(&KEY);
    let o = feed_at_every_split(&server, &wire);
    assert_eq!(
        closed(&o).error,
        Some(ConnectionError::Protocol(ProtocolError::LengthOverflow))
    );
}

/// Frames with an empty payload, and many frames in one read.
#[test]
fn s5_2_empty_and_back_to_back_frames() {
    let mut wire = Vec::new();
    for i in 0..20u8 {
        wire.extend(c2s(OpCode::Binary, true, &vec![i; usize::from(i)]));
    }
    let o = feed_at_every_split(&server, &wire);
    let got = messages(&o);
    assert_eq!(got.len(), 20);
    for (i, m) in got.iter().enumerate() {
        assert_eq!(m.as_bytes(), &vec![i as u8; i][..]);
    }
}
