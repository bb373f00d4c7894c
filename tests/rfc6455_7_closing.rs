//! RFC 6455 §5.5.1 and §7: the closing handshake, close codes, and what happens to
//! data around it.

mod common;
use common::*;
use wsmachine::frame::OpCode;
use wsmachine::{
    CloseCode, ConnectionError, Event, Message, MessageKind, ProtocolError, SendError, State,
    TransportAction,
};

/// §5.5.1: "If an endpoint receives a Close frame and did not previously send a
/// Close frame, the endpoint MUST send a Close frame in response ... typically echos
/// the status code it received." The server then closes the TCP connection first
/// (§7.1.1).
#[test]
fn s7_peer_initiated_close_is_echoed() {
    let o = feed_at_every_split(&server, &c2s(OpCode::Close, true, &close_body(1000, "bye")));
    let c = closed(&o);
    assert_eq!(
        (c.code, c.reason.as_str(), c.clean),
        (CloseCode::NORMAL, "bye", true)
    );
    assert_eq!(c.error, None);
    let out = frames(&o.output);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].header.opcode, OpCode::Close);
    assert_eq!(
        &out[0].payload[..],
        &1000u16.to_be_bytes(),
        "code echoed, no reason"
    );
    assert_eq!(o.state, State::Closed);
    assert_eq!(o.transport, TransportAction::Shutdown);

    // A client answers and then waits for the server to close the TCP connection.
    let o = feed_at_every_split(&client, &s2c(OpCode::Close, true, &close_body(4000, "")));
    assert_eq!(closed(&o).code, CloseCode(4000));
    assert!(frames(&o.output)[0].header.mask.is_some());
    assert_eq!(o.transport, TransportAction::AwaitEof);
}

/// An empty close frame is answered with an empty one; the code reported is 1005
/// (§7.1.5: "If this Close control frame contains no status code, _The WebSocket
/// Connection Close Code_ is considered to be 1005").
#[test]
fn s7_1_5_empty_close() {
    let o = feed_at_every_split(&server, &c2s(OpCode::Close, true, b""));
    assert_eq!(closed(&o).code, CloseCode::NO_STATUS);
    assert!(closed(&o).clean);
    assert_eq!(frames(&o.output)[0].payload.len(), 0);
}

/// Locally initiated close: CLOSING until the peer's close arrives, messages still
/// delivered meanwhile (§7.1.2 lets the peer finish), then CLOSED.
#[test]
fn s7_locally_initiated_close_both_roles() {
    let mut pair = Pair::new();
    pair.client.send_text("before").unwrap();
    pair.client
        .close(T0, CloseCode::GOING_AWAY, "leaving")
        .unwrap();
    assert_eq!(pair.client.state(), State::Closing);
    assert_eq!(pair.client.transport(), TransportAction::Keep);
    // The server has a message in flight that the client must still receive.
    pair.server.send_text("crossing").unwrap();
    pair.drive();
    let [Event::Message(before), Event::Closed(closed)] = &pair.server_events[..] else {
        panic!("{:?}", pair.server_events)
    };
    assert_eq!(before, &Message::from("before"));
    assert_eq!(
        (
            closed.code,
            closed.reason.as_str(),
            closed.clean,
            &closed.error
        ),
        (CloseCode::GOING_AWAY, "leaving", true, &None)
    );
    assert_eq!(
        pair.client_events[0],
        Event::Message(Message::from("crossing"))
    );
    let Event::Closed(c) = &pair.client_events[1] else {
        panic!("{:?}", pair.client_events)
    };
    assert_eq!((c.code, c.clean), (CloseCode::GOING_AWAY, true));
    assert_eq!(pair.server.transport(), TransportAction::Shutdown);
    assert_eq!(pair.client.transport(), TransportAction::AwaitEof);
    // The server closes TCP; the client sees EOF and closes too: no 1006.
    pair.client.handle_eof(T0);
    assert!(drain_events(&mut pair.client).is_empty());
    assert_eq!(pair.client.transport(), TransportAction::Close);
}

/// §7.1.1 end to end, over a link with 20 ms of latency: after the closing
/// handshake the server closes the transport first and the client follows on its
/// end of stream, well before any close timeout, with no 1006 on either side.
#[test]
fn s7_1_1_the_server_closes_the_transport_first() {
    for initiator_is_client in [true, false] {
        let mut pair = Pair::new();
        pair.latency = core::time::Duration::from_millis(20);
        let initiator = if initiator_is_client {
            &mut pair.client
        } else {
            &mut pair.server
        };
        initiator.close(T0, CloseCode::NORMAL, "bye").unwrap();
        pair.run_until(wsmachine::Timestamp::from_millis(100));
        assert_eq!(pair.server.transport(), TransportAction::Close);
        assert_eq!(pair.client.transport(), TransportAction::Close);
        for events in [&pair.client_events, &pair.server_events] {
            let [Event::Closed(c)] = &events[..] else {
                panic!("{events:?}")
            };
            assert_eq!((c.code, c.clean), (CloseCode::NORMAL, true));
        }
        assert_eq!(pair.client.poll_timeout(), None, "no deadline left");
        assert_eq!(pair.server.poll_timeout(), None, "no deadline left");
    }
}

/// §5.5.1: "The application MUST NOT send any more data frames after sending a
/// Close frame." Refused, and the refusal changes nothing.
#[test]
fn s5_5_1_nothing_after_our_close() {
    let mut c = client();
    c.close(T0, CloseCode::NORMAL, "").unwrap();
    let before = c.buffered_amount();
    assert_eq!(
        c.send_text("x"),
        Err(SendError::InvalidState(State::Closing))
    );
    assert_eq!(
        c.send_binary(vec![1]),
        Err(SendError::InvalidState(State::Closing))
    );
    assert_eq!(
        c.send_fragment(MessageKind::Binary, vec![1], true),
        Err(SendError::InvalidState(State::Closing))
    );
    assert_eq!(
        c.ping(T0, "p"),
        Err(SendError::InvalidState(State::Closing))
    );
    assert_eq!(
        c.close(T0, CloseCode::NORMAL, ""),
        Err(SendError::InvalidState(State::Closing))
    );
    assert_eq!(c.buffered_amount(), before);
    // A ping from the peer while CLOSING is reported but not answered.
    feed(&mut c, T0, &s2c(OpCode::Ping, true, b"late"));
    assert_eq!(c.buffered_amount(), before);
    assert_eq!(drain_events(&mut c), vec![Event::Ping("late".into())]);
}

/// Local misuse of close codes and reasons is refused.
#[test]
fn s7_4_local_close_arguments_are_checked() {
    let mut c = client();
    for code in [0u16, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000] {
        let result = c.close(T0, CloseCode(code), "x");
        assert!(result.is_err(), "{code}");
    }
    assert_eq!(
        c.close(T0, CloseCode::NO_STATUS, "reason"),
        Err(SendError::ReasonWithoutCode)
    );
    assert_eq!(
        c.close(T0, CloseCode::NORMAL, &"r".repeat(124)),
        Err(SendError::ControlPayloadTooLong(124))
    );
    assert_eq!(c.state(), State::Open);
    assert_eq!(c.buffered_amount(), 0);
    c.close(T0, CloseCode::NORMAL, &"r".repeat(123)).unwrap();
    feed(&mut c, T0, &s2c(OpCode::Close, true, b""));
    assert_eq!(c.state(), State::Closed);
}

/// §7.4.1/§7.4.2: codes that must not appear on the wire fail the connection.
#[test]
fn s7_4_received_close_codes() {
    for code in [
        1000u16, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999,
        4000, 4999,
    ] {
        let o = feed_chunks(&server, &[&c2s(OpCode::Close, true, &close_body(code, ""))]);
        assert!(closed(&o).clean, "{code} is valid");
        assert_eq!(closed(&o).code.0, code);
    }
    for code in [
        0u16, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
    ] {
        let o = feed_at_every_split(&server, &c2s(OpCode::Close, true, &close_body(code, "")));
        assert_eq!(
            closed(&o).error,
            Some(ConnectionError::Protocol(ProtocolError::InvalidCloseCode(
                code
            ))),
            "{code}"
        );
        assert_sent_close(&o.output, 1002);
    }
}

/// §5.5.1: a close body, if present, starts with a 2-byte code: 1 byte is a
/// protocol error. A reason that is not UTF-8 fails with 1007.
#[test]
fn s5_5_1_malformed_close_bodies() {
    let o = feed_at_every_split(&server, &c2s(OpCode::Close, true, b"\x03"));
    assert_eq!(
        closed(&o).error,
        Some(ConnectionError::Protocol(ProtocolError::CloseBodyTooShort))
    );
    assert_sent_close(&o.output, 1002);

    let mut body = close_body(1000, "");
    body.extend_from_slice(b"\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5\xED\xA0\x80");
    let o = feed_at_every_split(&server, &c2s(OpCode::Close, true, &body));
    assert_eq!(closed(&o).code.0, 1007);
    assert_sent_close(&o.output, 1007);
}

/// §1.4/§5.5.1: after the peer's close, nothing more is read: data that follows is
/// discarded, not delivered, not answered.
#[test]
fn s5_5_1_data_after_the_peers_close_is_discarded() {
    let mut wire = c2s(OpCode::Text, true, b"kept");
    wire.extend(c2s(OpCode::Close, true, &close_body(1000, "")));
    wire.extend(c2s(OpCode::Text, true, b"dropped"));
    wire.extend(c2s(OpCode::Ping, true, b"ignored"));
    wire.extend([0xFF, 0xFF, 0xFF]); // even garbage
    let o = feed_at_every_split(&server, &wire);
    assert_eq!(o.events.len(), 2);
    assert_eq!(o.events[0], Event::Message(Message::from("kept")));
    assert!(closed(&o).clean);
    assert_eq!(frames(&o.output).len(), 1, "only the close echo");
}

/// A fragmented message cut off by the peer's close is dropped, not delivered.
#[test]
fn s7_unfinished_message_at_close_is_not_delivered() {
    let mut wire = c2s(OpCode::Text, false, b"half");
    wire.extend(c2s(OpCode::Close, true, &close_body(1000, "")));
    let o = feed_at_every_split(&server, &wire);
    assert_eq!(o.events.len(), 1);
    assert!(closed(&o).clean);
}

/// §7.1.5: end of stream without a close frame is an abnormal closure, 1006,
/// reported locally and never sent.
#[test]
fn s7_1_5_eof_without_close_is_1006() {
    for make in [server as fn() -> _, client] {
        let mut conn = make();
        conn.send_text("queued").unwrap();
        conn.handle_eof(T0);
        let events = drain_events(&mut conn);
        let [Event::Closed(c)] = &events[..] else {
            panic!("{events:?}")
        };
        assert_eq!((c.code, c.clean), (CloseCode::ABNORMAL, false));
        assert_eq!(c.error, Some(ConnectionError::Eof));
        assert_eq!(conn.state(), State::Closed);
        assert_eq!(conn.transport(), TransportAction::Close);
        // Nothing new was queued (no close frame with 1006); what was queued before
        // is still there to be written or taken back.
        let unsent = conn.take_unsent();
        assert_eq!(unsent.len(), 1);
        assert_eq!(&unsent[0].data[..], b"queued");
        assert_eq!(conn.buffered_amount(), 0);
    }
    // Also in CLOSING, and with half a frame read.
    let mut c = client();
    c.close(T0, CloseCode::NORMAL, "").unwrap();
    feed(&mut c, T0, &s2c(OpCode::Text, true, b"partial")[..4]);
    c.handle_eof(T0);
    let events = drain_events(&mut c);
    assert!(matches!(&events[..], [Event::Closed(c)] if c.code == CloseCode::ABNORMAL));
}

/// After a failure the connection reads nothing more (§7.1.7: "MUST NOT continue to
/// attempt to process data (including a responding Close frame)").
#[test]
fn s7_1_7_nothing_is_processed_after_a_failure() {
    let mut wire = c2s(OpCode::Binary, true, b"ok");
    wire.extend(s2c(OpCode::Text, true, b"unmasked"));
    wire.extend(c2s(OpCode::Close, true, &close_body(1000, "")));
    let o = feed_at_every_split(&server, &wire);
    assert_eq!(o.events.len(), 2);
    assert_eq!(closed(&o).code.0, 1002);
    assert_eq!(frames(&o.output).len(), 1);
}

/// A failure after our own close frame sends nothing more.
#[test]
fn s7_failure_while_closing_sends_no_second_close() {
    let mut s = server();
    s.close(T0, CloseCode::NORMAL, "").unwrap();
    let mut out = Vec::new();
    s.transmit_into(&mut out);
    feed(&mut s, T0, &s2c(OpCode::Text, true, b"unmasked"));
    assert_eq!(s.buffered_amount(), 0);
    assert_eq!(s.state(), State::Closed);
    assert_eq!(s.transport(), TransportAction::Close);
}

/// Answers take effect in event order: a message read in the same chunk as the
/// peer's close (or a violation) can still be answered before our close frame goes
/// out (Autobahn 3.2, 3.3, 4.1.3, 5.15 check this).
#[test]
fn replies_to_earlier_messages_precede_the_close() {
    for tail in [
        c2s(OpCode::Close, true, &close_body(1000, "")),
        vec![0x83, 0x80, 0, 0, 0, 0], // reserved opcode
        c2s(OpCode::Continuation, false, b"x"),
    ] {
        let mut wire = c2s(OpCode::Text, true, b"echo me");
        wire.extend(c2s(OpCode::Ping, true, b"p"));
        wire.extend(&tail);
        wire.extend(c2s(OpCode::Text, true, b"never read"));
        for split in 0..=wire.len() {
            let mut s = server();
            feed(&mut s, T0, &wire[..split]);
            feed(&mut s, T0, &wire[split..]);
            let mut seen = Vec::new();
            while let Some(event) = s.poll_event() {
                if let Event::Message(m) = &event {
                    s.send(m.clone()).unwrap();
                }
                seen.push(event);
            }
            assert_eq!(seen.len(), 3, "{seen:?}");
            let mut out = Vec::new();
            s.transmit_into(&mut out);
            let kinds: Vec<OpCode> = frames(&out).iter().map(|f| f.header.opcode).collect();
            assert_eq!(
                kinds,
                [OpCode::Text, OpCode::Pong, OpCode::Close],
                "split {split}"
            );
            assert_eq!(s.state(), State::Closed);
        }
    }
}

/// With no events waiting, the pong goes out at once, without polling.
#[test]
fn a_pong_needs_no_polling_when_nothing_waits() {
    let mut s = server();
    feed(&mut s, T0, &c2s(OpCode::Ping, true, b"now"));
    assert_eq!(frames(s.transmit()).len(), 1);
}

/// `abort` ends the connection at once: no close frame, `Closed` (aborted, 1006)
/// reported once, the transport to be closed, queued data handed back, and nothing
/// read or sent afterwards.
#[test]
fn abort_ends_the_connection_without_a_closing_handshake() {
    let mut s = server();
    s.send_text("queued").unwrap();
    s.abort();
    s.abort(); // once ended, nothing happens
    let events = drain_events(&mut s);
    let [Event::Closed(c)] = &events[..] else {
        panic!("{events:?}")
    };
    assert_eq!(
        (c.code, c.clean, &c.error),
        (CloseCode::ABNORMAL, false, &Some(ConnectionError::Aborted))
    );
    assert_eq!(s.transport(), TransportAction::Close);
    assert_eq!(s.closed(), Some(&**c));
    let unsent = s.take_unsent();
    assert_eq!(unsent.len(), 1);
    assert_eq!(&unsent[0].data[..], b"queued");
    assert_eq!(
        s.send_text("more"),
        Err(SendError::InvalidState(State::Closed))
    );
    feed(&mut s, T0, &c2s(OpCode::Text, true, b"late"));
    assert!(drain_events(&mut s).is_empty());
    let mut out = Vec::new();
    s.transmit_into(&mut out);
    assert!(out.is_empty(), "nothing is sent after an abort");
}

/// Why the connection ended stays known after `Closed` has been polled: the code,
/// whether it was clean, and the error.
#[test]
fn why_it_ended_stays_known_after_closed_is_polled() {
    let mut s = server();
    assert_eq!(s.closed(), None);
    feed(&mut s, T0, &c2s(OpCode::Text, true, b"\xff"));
    let events = drain_events(&mut s);
    assert!(matches!(events.last(), Some(Event::Closed(_))));
    let closed = s.closed().expect("kept");
    assert_eq!(closed.code, CloseCode::INVALID_PAYLOAD);
    assert_eq!(
        closed.error,
        Some(ConnectionError::Protocol(ProtocolError::InvalidUtf8))
    );
    assert!(drain_events(&mut s).is_empty(), "reported once");
    assert_eq!(s.closed().map(|c| c.code), Some(CloseCode::INVALID_PAYLOAD));
}
