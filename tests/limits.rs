//! Every limit: a sane default, a setting, and the right answer when exceeded.

mod common;
use common::*;
use wsmachine::frame::OpCode;
use wsmachine::{Config, ConnectionError, Event, Message, ProtocolError, SendError};

#[test]
fn defaults_are_documented_values() {
    let c = Config::default();
    assert_eq!(
        c.max_frame_size, None,
        "frames are bounded by the message limit"
    );
    assert_eq!(c.max_message_size, 64 << 20);
    assert_eq!(c.max_fragments, 1 << 17);
    assert_eq!(c.max_buffered_output, 128 << 20);
    assert!(c.auto_pong);
}

/// A header declaring 2^62 bytes fails at once with 1009 and costs nothing: no
/// allocation is sized by a declared length.
#[test]
fn a_huge_declared_length_fails_before_any_payload() {
    let mut wire = vec![0x82, 0xFF];
    wire.extend_from_slice(&(1u64 << 62).to_be_bytes());
    wire.extend_from_slice(&KEY);
    let o = feed_at_every_split(&server, &wire);
    assert_eq!(
        closed(&o).error,
        Some(ConnectionError::Protocol(ProtocolError::MessageTooLarge {
            size: 1 << 62,
            max: 64 << 20
        }))
    );
    assert_sent_close(&o.output, 1009);
}

#[test]
fn frame_limit_is_inclusive_and_configurable() {
    let make = || {
        let mut config = Config::default();
        config.max_frame_size = Some(100);
        server_with(config)
    };
    let o = feed_at_every_split(&make, &c2s(OpCode::Binary, true, &[1; 100]));
    assert_eq!(messages(&o).len(), 1);
    let o = feed_chunks(&make, &[&c2s(OpCode::Binary, true, &[1; 101])]);
    assert_eq!(closed(&o).code.0, 1009);
}

/// The message limit counts all fragments and is checked against each declared
/// frame length, before its payload arrives.
#[test]
fn message_limit_across_fragments() {
    let make = || {
        let mut config = Config::default();
        config.max_message_size = 10;
        server_with(config)
    };
    let mut ok = c2s(OpCode::Text, false, b"12345");
    ok.extend(c2s(OpCode::Continuation, true, b"67890"));
    assert_eq!(
        messages(&feed_at_every_split(&make, &ok)),
        vec![Message::from("1234567890")]
    );

    let mut wire = c2s(OpCode::Text, false, b"12345");
    let over = c2s(OpCode::Continuation, true, b"678901");
    wire.extend(&over[..6]); // the header only
    let o = feed_at_every_split(&make, &wire);
    assert_eq!(
        closed(&o).error,
        Some(ConnectionError::Protocol(ProtocolError::MessageTooLarge {
            size: 11,
            max: 10
        }))
    );
    assert_sent_close(&o.output, 1009);
}

/// Output is bounded: a send that would pass the limit is refused, changes nothing,
/// and succeeds once output has been written. Each frame counts its bytes and the
/// queue's record of it.
#[test]
fn buffered_output_limit() {
    let mut config = Config::default();
    config.max_buffered_output = 1000;
    let mut s = server_with(config);
    s.send_binary(vec![0; 900]).unwrap();
    assert_eq!(s.buffered_amount(), 904);
    let refused = s.send_binary(vec![0; 10]).unwrap_err();
    let SendError::BufferFull { held, limit: 1000 } = refused else {
        panic!("{refused:?}")
    };
    assert!(
        (904 + 16..1000 - 12).contains(&held),
        "{held}: the bytes and a record, and not room for 12 more bytes with theirs"
    );
    assert_eq!(
        s.ping(T0, "0123456789"),
        Err(SendError::BufferFull { held, limit: 1000 })
    );
    assert_eq!(s.buffered_amount(), 904);
    let n = s.transmit().len();
    s.advance_transmit(n);
    assert_eq!(s.buffered_amount(), 0);
    s.send_binary(vec![0; 10]).unwrap();
    s.send_binary(vec![0; 500]).unwrap();
    // A close frame is never refused for room.
    s.send_binary(vec![0; 400]).unwrap_err();
    s.close(T0, wsmachine::CloseCode::NORMAL, "").unwrap();
}

/// An idle connection holds no heap buffers: after a message is delivered and the
/// output written, the receive and send sides give their memory back. Observed
/// through `Bytes` identity: the delivered payload is the whole buffer (no copy, no
/// spare capacity kept by the connection).
#[test]
fn delivered_payload_is_the_reassembly_buffer() {
    let mut s = server();
    feed(&mut s, T0, &c2s(OpCode::Binary, false, b"abc"));
    feed(&mut s, T0, &c2s(OpCode::Continuation, true, b"def"));
    let Some(Event::Message(Message::Binary(b))) = s.poll_event() else {
        panic!()
    };
    assert_eq!(&b[..], b"abcdef");
    // The connection kept no reference: the buffer is uniquely ours.
    assert!(!b.is_inline() && b.into_bytes().is_unique());
}
