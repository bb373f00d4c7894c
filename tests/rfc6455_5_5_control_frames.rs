//! RFC 6455 §5.5: control frames: ping, pong, and their limits.

mod common;
use common::*;
use wsmachine::frame::OpCode;
use wsmachine::{Config, ConnectionError, Event, ProtocolError, SendError};

/// §5.5.2: "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in
/// response ... The Pong frame MUST have identical 'Application data'".
#[test]
fn s5_5_2_ping_is_answered_with_the_same_payload() {
    for payload in [&b""[..], b"Hello", &[0xFF; 125]] {
        let o = feed_at_every_split(&server, &c2s(OpCode::Ping, true, payload));
        assert_eq!(o.events, vec![Event::Ping(payload.to_vec().into())]);
        let out = frames(&o.output);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].header.opcode, OpCode::Pong);
        assert_eq!(&out[0].payload[..], payload);
        assert!(out[0].header.mask.is_none());
    }
    // A client's pong is masked.
    let o = feed_at_every_split(&client, &s2c(OpCode::Ping, true, b"Hello"));
    let out = frames(&o.output);
    assert!(out[0].header.mask.is_some());
    assert_eq!(&out[0].payload[..], b"Hello");
}

/// With `auto_pong` off, pings are reported and the application answers.
#[test]
fn s5_5_2_auto_pong_can_be_turned_off() {
    let make = || {
        let mut config = Config::default();
        config.auto_pong = false;
        server_with(config)
    };
    let o = feed_at_every_split(&make, &c2s(OpCode::Ping, true, b"x"));
    assert_eq!(o.events, vec![Event::Ping("x".into())]);
    assert!(o.output.is_empty());
    let mut s = make();
    s.pong("x").unwrap();
    assert_eq!(frames(s.transmit()).len(), 1, "a small frame is one slice");
}

/// §5.5.3: "A response to an unsolicited Pong frame is not expected."
#[test]
fn s5_5_3_unsolicited_pong_is_reported_not_answered() {
    let o = feed_at_every_split(&server, &c2s(OpCode::Pong, true, b"beat"));
    assert_eq!(o.events, vec![Event::Pong("beat".into())]);
    assert!(o.output.is_empty());
}

/// §5.5: "All control frames MUST have a payload length of 125 bytes or less and
/// MUST NOT be fragmented." Both fail the connection with 1002.
#[test]
fn s5_5_control_frame_limits() {
    for opcode in [OpCode::Ping, OpCode::Pong, OpCode::Close] {
        let o = feed_at_every_split(&server, &c2s(opcode, true, &[b'a'; 126]));
        assert_eq!(
            closed(&o).error,
            Some(ConnectionError::Protocol(
                ProtocolError::ControlFrameTooLong
            ))
        );
        assert_sent_close(&o.output, 1002);

        let o = feed_at_every_split(&server, &c2s(opcode, false, b"a"));
        assert_eq!(
            closed(&o).error,
            Some(ConnectionError::Protocol(
                ProtocolError::FragmentedControlFrame
            ))
        );
    }
}

#[test]
fn s5_5_sending_control_payloads_over_125_is_refused() {
    let mut c = client();
    assert_eq!(
        c.ping(T0, vec![0; 126]),
        Err(SendError::ControlPayloadTooLong(126))
    );
    assert_eq!(
        c.pong(vec![0; 200]),
        Err(SendError::ControlPayloadTooLong(200))
    );
    assert_eq!(c.buffered_amount(), 0, "refusals queue nothing");
    c.ping(T0, vec![0; 125]).unwrap();
    assert_eq!(c.buffered_amount(), 2 + 4 + 125);
}

/// Many pings in one read are each answered, in order.
#[test]
fn every_ping_in_a_burst_is_answered() {
    let mut wire = Vec::new();
    for i in 0..10u8 {
        wire.extend(c2s(OpCode::Ping, true, &[i]));
    }
    let o = feed_at_every_split(&server, &wire);
    let pongs = frames(&o.output);
    assert_eq!(pongs.len(), 10);
    for (i, p) in pongs.iter().enumerate() {
        assert_eq!(&p.payload[..], &[i as u8]);
    }
}

/// A peer that floods pings at an endpoint whose output is over its limit cannot
/// grow the output: one pong waits for room, the newest replacing older ones
/// (§5.5.3), and goes out once the output has been written.
#[test]
fn ping_flood_over_the_output_limit_keeps_one_pong() {
    let mut config = Config::default();
    // Room for a 62-byte frame and its record, not for a pong as well.
    config.max_buffered_output = 128;
    let mut s = server_with(config);
    s.send_binary(vec![0; 60]).unwrap(); // 62 bytes buffered, never written
    let mut wire = Vec::new();
    for i in 0..1000u32 {
        wire.extend(c2s(OpCode::Ping, true, &i.to_be_bytes()));
    }
    feed(&mut s, T0, &wire);
    assert_eq!(drain_events(&mut s).len(), 1000);
    assert_eq!(s.buffered_amount(), 62, "the pong waits outside the queue");
    let mut out = Vec::new();
    s.transmit_into(&mut out);
    let fs = frames(&out);
    assert_eq!(fs.len(), 2);
    assert_eq!(&fs[1].payload[..], &999u32.to_be_bytes(), "the newest ping");
}
