//! RFC 6455 §8.1 (and §5.6): "When an endpoint is to interpret a byte stream as
//! UTF-8 but finds that the byte stream is not, in fact, a valid UTF-8 stream, that
//! endpoint MUST _Fail the WebSocket Connection_." Close code 1007 (§7.4.1).

mod common;
use common::*;
use wsmachine::frame::OpCode;
use wsmachine::{ConnectionError, Event, Message, ProtocolError, State};

const BAD: [&[u8]; 7] = [
    b"\xFF",
    b"\xC0\xAF",         // overlong "/"
    b"\xED\xA0\x80",     // UTF-16 surrogate
    b"\xF4\x90\x80\x80", // above U+10FFFF
    b"\xE2\x82",         // truncated at the end of the message
    b"\x80",             // stray continuation byte
    b"ab\xCE\xBAcd\xF8", // invalid after valid multi-byte text
];

#[test]
fn s8_1_invalid_text_fails_with_1007() {
    for bad in BAD {
        let o = feed_at_every_split(&server, &c2s(OpCode::Text, true, bad));
        let c = closed(&o);
        assert_eq!(c.code.0, 1007, "{bad:?}");
        assert_eq!(
            c.error,
            Some(ConnectionError::Protocol(ProtocolError::InvalidUtf8))
        );
        assert_sent_close(&o.output, 1007);
        assert_eq!(messages(&o), vec![]);
    }
}

#[test]
fn s8_1_valid_multibyte_text_survives_every_split() {
    let text = "κόσμε 𝄞 ✓ \u{10FFFF} \u{FEFF}";
    let o = feed_at_every_split(&server, &c2s(OpCode::Text, true, text.as_bytes()));
    assert_eq!(messages(&o), vec![Message::from(text)]);
}

/// Code points split across fragments are fine; an invalid sequence formed across
/// fragments fails.
#[test]
fn s8_1_across_fragments() {
    let text = "€uro".as_bytes();
    let mut wire = c2s(OpCode::Text, false, &text[..1]);
    wire.extend(c2s(OpCode::Continuation, false, &text[1..2]));
    wire.extend(c2s(OpCode::Continuation, true, &text[2..]));
    let o = feed_at_every_split(&server, &wire);
    assert_eq!(messages(&o), vec![Message::from("€uro")]);

    let mut wire = c2s(OpCode::Text, false, b"\xE2");
    wire.extend(c2s(OpCode::Continuation, true, b"\x28\xA1")); // bad 2nd byte
    let o = feed_at_every_split(&server, &wire);
    assert_eq!(closed(&o).code.0, 1007);
}

/// Fail-fast: the connection fails on the first invalid byte of a frame, before the
/// rest of the frame arrives (Autobahn 6.4.*).
#[test]
fn s8_1_fails_mid_frame_before_the_frame_completes() {
    let payload = b"valid prefix \xF4\x90 and a long tail that never arrives";
    let wire = c2s(OpCode::Text, true, payload);
    let cut = wire.len() - 20;
    let mut s = server();
    feed(&mut s, T0, &wire[..cut]);
    assert_eq!(s.state(), State::Closed);
    let events = drain_events(&mut s);
    assert!(matches!(&events[..], [Event::Closed(c)] if c.code.0 == 1007));
    // Also when the bad byte is in a later fragment whose end has not arrived.
    let mut wire = c2s(OpCode::Text, false, b"fine");
    let second = c2s(OpCode::Continuation, true, b"ok ok \xC0 the rest");
    wire.extend(&second[..second.len() - 9]);
    let mut s = server();
    feed(&mut s, T0, &wire);
    assert_eq!(s.state(), State::Closed);
}

/// A large text frame (about 1 MiB, code points cut by the reads anywhere) comes
/// through whole whatever the reads; an invalid byte early in one fails the
/// connection long before the frame ends.
#[test]
fn s8_1_large_text_frames_whatever_the_reads() {
    let text = "κόσμε 𝄞 ✓ ascii ".repeat(40_000); // about 1 MiB, code points cut anywhere
    let wire = c2s(OpCode::Text, true, text.as_bytes());
    for step in [65_536, 100_003, 7_777] {
        let mut s = server();
        for piece in wire.chunks(step) {
            feed(&mut s, T0, piece);
        }
        let events = drain_events(&mut s);
        assert!(
            matches!(&events[..], [Event::Message(Message::Text(t))] if t.as_str() == text),
            "reads of {step}"
        );
    }
    // A bad byte early in a large frame: failed with a third of the frame in.
    let mut bad = text.clone().into_bytes();
    bad[1000] = 0xFF;
    let wire = c2s(OpCode::Text, true, &bad);
    let mut s = server();
    for piece in wire[..wire.len() / 3].chunks(65_536) {
        feed(&mut s, T0, piece);
    }
    assert_eq!(s.state(), State::Closed);
    let events = drain_events(&mut s);
    assert!(matches!(&events[..], [Event::Closed(c)] if c.code.0 == 1007));
}

/// Binary messages are never checked.
#[test]
fn binary_is_not_utf8_checked() {
    let o = feed_at_every_split(&server, &c2s(OpCode::Binary, true, b"\xFF\xFE"));
    assert_eq!(messages(&o), vec![Message::from(b"\xFF\xFE".to_vec())]);
}

/// The local side cannot send invalid text at all: `Text` checks on construction.
#[test]
fn text_values_are_always_utf8() {
    assert!(wsmachine::Text::try_from(b"\xFF".to_vec()).is_err());
    assert_eq!(
        wsmachine::Text::try_from(b"ok".to_vec()).unwrap().as_str(),
        "ok"
    );
}
