//! RFC 6455 §5.4: fragmentation, with control frames interleaved, and streamed
//! delivery for messages too big to buffer.

mod common;
use common::*;
use wsmachine::frame::OpCode;
use wsmachine::{
    Config, ConnectionError, Delivery, Event, Fragment, Message, MessageKind, ProtocolError,
    SendError, State,
};

/// §5.7: the fragmented "Hel" + "lo".
#[test]
fn s5_4_fragmented_hel_lo() {
    let mut wire = vec![0x01, 0x03, 0x48, 0x65, 0x6c];
    wire.extend([0x80, 0x02, 0x6c, 0x6f]);
    let o = feed_at_every_split(&client, &wire);
    assert_eq!(messages(&o), vec![Message::from("Hello")]);
}

/// §5.4: "Control frames MAY be injected in the middle of a fragmented message."
/// The ping is answered at once; the message is delivered whole after it.
#[test]
fn s5_4_control_frames_between_fragments() {
    let mut wire = c2s(OpCode::Text, false, b"frag");
    wire.extend(c2s(OpCode::Ping, true, b"p1"));
    wire.extend(c2s(OpCode::Continuation, false, b"ment"));
    wire.extend(c2s(OpCode::Pong, true, b"unsolicited"));
    wire.extend(c2s(OpCode::Ping, true, b""));
    wire.extend(c2s(OpCode::Continuation, true, b"ed"));
    let o = feed_at_every_split(&server, &wire);
    assert_eq!(
        o.events,
        vec![
            Event::Ping("p1".into()),
            Event::Pong("unsolicited".into()),
            Event::Ping("".into()),
            Event::Message(Message::from("fragmented")),
        ]
    );
    let pongs = frames(&o.output);
    assert_eq!(pongs.len(), 2);
    assert_eq!(&pongs[0].payload[..], b"p1");
    assert_eq!(pongs[1].payload.len(), 0);
}

/// §5.4: fragments of zero length are legal, including the first and last.
#[test]
fn s5_4_empty_fragments() {
    let mut wire = c2s(OpCode::Binary, false, b"");
    wire.extend(c2s(OpCode::Continuation, false, b"ab"));
    wire.extend(c2s(OpCode::Continuation, false, b""));
    wire.extend(c2s(OpCode::Continuation, true, b""));
    let o = feed_at_every_split(&server, &wire);
    assert_eq!(messages(&o), vec![Message::from(b"ab".to_vec())]);
}

/// §5.4 and §5.2: a continuation frame with nothing to continue fails the connection.
#[test]
fn s5_4_continuation_without_a_start() {
    for fin in [true, false] {
        let o = feed_at_every_split(&server, &c2s(OpCode::Continuation, fin, b"x"));
        assert_eq!(
            closed(&o).error,
            Some(ConnectionError::Protocol(
                ProtocolError::UnexpectedContinuation
            ))
        );
        assert_sent_close(&o.output, 1002);
    }
    // Also right after a complete message.
    let mut wire = c2s(OpCode::Text, true, b"done");
    wire.extend(c2s(OpCode::Continuation, true, b"more"));
    let o = feed_at_every_split(&server, &wire);
    assert_eq!(messages(&o), vec![Message::from("done")]);
    assert_eq!(closed(&o).code.0, 1002);
}

/// §5.4: "The fragments of one message MUST NOT be interleaved between the fragments
/// of another message unless an extension has been negotiated".
#[test]
fn s5_4_new_message_inside_a_fragmented_one() {
    for opcode in [OpCode::Text, OpCode::Binary] {
        let mut wire = c2s(OpCode::Binary, false, b"part");
        wire.extend(c2s(opcode, true, b"intruder"));
        let o = feed_at_every_split(&server, &wire);
        assert_eq!(
            closed(&o).error,
            Some(ConnectionError::Protocol(
                ProtocolError::ExpectedContinuation
            ))
        );
        assert_eq!(messages(&o), vec![]);
    }
}

#[test]
fn s5_4_too_many_fragments_is_a_policy_violation() {
    let make = || {
        let mut config = Config::default();
        config.max_fragments = 3;
        server_with(config)
    };
    let mut ok = c2s(OpCode::Binary, false, b"1");
    ok.extend(c2s(OpCode::Continuation, false, b"2"));
    ok.extend(c2s(OpCode::Continuation, true, b"3"));
    assert_eq!(messages(&feed_at_every_split(&make, &ok)).len(), 1);

    let mut wire = c2s(OpCode::Binary, false, b"1");
    for _ in 0..3 {
        wire.extend(c2s(OpCode::Continuation, false, b""));
    }
    let o = feed_at_every_split(&make, &wire);
    assert_eq!(closed(&o).code.0, 1008);
    assert_sent_close(&o.output, 1008);
}

/// Sending: fragments go out as TEXT/BINARY, CONTINUATION..., FIN on the last; a
/// ping may go between them.
#[test]
fn s5_4_sending_a_streamed_message() {
    let mut pair = Pair::new();
    let c = &mut pair.client;
    c.send_fragment(MessageKind::Text, "κόσ".as_bytes()[..3].to_vec(), false)
        .unwrap(); // cuts "ό" in half
    c.ping(T0, "between").unwrap();
    assert_eq!(c.send_text("whole"), Err(SendError::MessageInProgress));
    assert_eq!(
        c.send_fragment(MessageKind::Binary, vec![1], false),
        Err(SendError::MessageInProgress)
    );
    c.send_fragment(MessageKind::Text, "κόσ".as_bytes()[3..].to_vec(), false)
        .unwrap();
    c.send_fragment(MessageKind::Text, "με".as_bytes().to_vec(), true)
        .unwrap();
    c.send_text("after").unwrap();
    pair.drive();
    assert_eq!(
        pair.server_events,
        vec![
            Event::Ping("between".into()),
            Event::Message(Message::from("κόσμε")),
            Event::Message(Message::from("after")),
        ]
    );
    assert_eq!(pair.client_events, vec![Event::Pong("between".into())]);
}

/// A streamed text message is checked as it goes: invalid bytes, or ending inside a
/// code point, are refused, and the refusal changes nothing.
#[test]
fn s5_4_streamed_text_must_be_utf8() {
    let mut c = client();
    c.send_fragment(MessageKind::Text, b"ok \xE2\x82".to_vec(), false)
        .unwrap();
    assert_eq!(
        c.send_fragment(MessageKind::Text, b"\xFF".to_vec(), false),
        Err(SendError::InvalidUtf8)
    );
    assert_eq!(
        c.send_fragment(MessageKind::Text, b"".to_vec(), true),
        Err(SendError::InvalidUtf8),
        "the euro sign is still missing a byte"
    );
    c.send_fragment(MessageKind::Text, b"\xAC".to_vec(), true)
        .unwrap();
    let mut out = Vec::new();
    c.transmit_into(&mut out);
    let mut s = server();
    feed(&mut s, T0, &out);
    assert_eq!(
        drain_events(&mut s),
        vec![Event::Message(Message::from("ok €"))]
    );
}

fn streamed(outcome: &Outcome) -> Vec<Fragment> {
    outcome
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Fragment(f) => Some(f.clone()),
            _ => None,
        })
        .collect()
}

/// Streamed delivery: pieces arrive as the bytes do, each text piece valid UTF-8 on
/// its own, and they concatenate to the message whatever the chunking.
#[test]
fn streamed_delivery_at_every_split() {
    let make = || {
        let mut config = Config::default();
        config.delivery = Delivery::Streamed;
        server_with(config)
    };
    let text = "añb€c𝄞d";
    let bytes = text.as_bytes();
    let mut wire = c2s(OpCode::Text, false, &bytes[..2]); // cuts "ñ"
    wire.extend(c2s(OpCode::Continuation, false, &bytes[2..7]));
    wire.extend(c2s(OpCode::Continuation, true, &bytes[7..]));
    let feeds: Vec<Vec<&[u8]>> = (0..=wire.len())
        .map(|i| vec![&wire[..i], &wire[i..]])
        .chain(std::iter::once(wire.chunks(1).collect()))
        .collect();
    for chunks in feeds {
        let o = feed_chunks(&make, &chunks);
        let pieces = streamed(&o);
        assert!(pieces.first().unwrap().first);
        assert!(pieces.last().unwrap().last);
        assert_eq!(pieces.iter().filter(|p| p.first).count(), 1);
        assert_eq!(pieces.iter().filter(|p| p.last).count(), 1);
        let mut joined = Vec::new();
        for p in &pieces {
            assert_eq!(p.kind, MessageKind::Text);
            assert!(std::str::from_utf8(&p.data).is_ok(), "piece {:?}", p.data);
            joined.extend_from_slice(&p.data);
        }
        assert_eq!(joined, bytes);
        assert_eq!(o.state, State::Open);
    }
}

/// Streamed delivery still enforces the message limit and UTF-8 (fail-fast).
#[test]
fn streamed_delivery_keeps_the_rules() {
    let make = || {
        let mut config = Config::default();
        config.delivery = Delivery::Streamed;
        config.max_message_size = 10;
        server_with(config)
    };
    let mut wire = c2s(OpCode::Binary, false, &[0; 8]);
    wire.extend(c2s(OpCode::Continuation, true, &[0; 3]));
    // (Pieces depend on the chunking in this mode, so feed whole.)
    let o = feed_chunks(&make, &[&wire]);
    assert_eq!(streamed(&o).len(), 1, "the first piece was delivered");
    assert_eq!(closed(&o).code.0, 1009);

    let mut wire = c2s(OpCode::Text, false, b"ok");
    wire.extend(c2s(OpCode::Continuation, true, b"\xC0"));
    let o = feed_chunks(&make, &[&wire]);
    assert_eq!(closed(&o).code.0, 1007);
}

/// A message in many continuation frames, read whole or in pieces, in either role:
/// 7-bit and 16-bit lengths, a 64-bit length used for a short payload (§5.2 allows
/// it), a code point cut between frames, and a ping among them, which is answered
/// in its place.
#[test]
fn s5_4_a_run_of_continuations() {
    let text: String = "ascii, ünïcödé, ✓ ".repeat(12);
    let bytes = text.as_bytes();
    let cut = |from: usize, to: usize| &bytes[from..to];
    for masked in [true, false] {
        let make: &dyn Fn() -> wsmachine::Connection = if masked { &server } else { &client };
        // Piece lengths: the UTF-8 cut lands inside code points, one piece takes a
        // 16-bit length.
        let mut ends = vec![1, 2, 9, 10, 11, 12, 40, 41, 180];
        ends.push(bytes.len() - 3);
        let mut wire = frame(OpCode::Text, false, cut(0, 1), masked);
        for pair in ends.windows(2) {
            wire.extend(frame(
                OpCode::Continuation,
                false,
                cut(pair[0], pair[1]),
                masked,
            ));
            if pair[0] == 11 {
                wire.extend(frame(OpCode::Ping, true, b"p", masked));
            }
        }
        // The last 3 bytes with a 64-bit length.
        let last = cut(bytes.len() - 3, bytes.len());
        wire.extend([0x80, if masked { 0x80 | 127 } else { 127 }]);
        wire.extend(3u64.to_be_bytes());
        if masked {
            wire.extend(KEY);
            wire.extend(last.iter().zip(KEY).map(|(b, k)| b ^ k));
        } else {
            wire.extend(last);
        }
        let o = feed_at_every_split(make, &wire);
        assert_eq!(
            o.events,
            vec![
                Event::Ping("p".into()),
                Event::Message(Message::from(text.as_str()))
            ],
            "masked {masked}"
        );
        assert_eq!(frames(&o.output).len(), 1, "the pong");
    }
}

/// A case of a broken run: its name, the connection, the frame in the middle, the
/// error and the close code it must give.
type Case = (
    &'static str,
    Box<dyn Fn() -> wsmachine::Connection>,
    Vec<u8>,
    ProtocolError,
    u16,
);

/// Every rule holds for a frame in the middle of a run of continuations: the limits
/// on fragments, frame and message size; RSV bits; masking as the role requires;
/// UTF-8. Each fails the connection with its error and close code, and nothing of
/// the message is delivered.
#[test]
fn s5_4_a_run_of_continuations_keeps_every_rule() {
    let run = |middle: Vec<u8>| {
        let mut wire = c2s(OpCode::Text, false, b"start ");
        for _ in 0..3 {
            wire.extend(c2s(OpCode::Continuation, false, b"more "));
        }
        wire.extend(middle);
        wire.extend(c2s(OpCode::Continuation, true, b"end"));
        wire
    };
    let with = |set: fn(&mut Config)| {
        move || {
            let mut config = Config::default();
            set(&mut config);
            server_with(config)
        }
    };
    let fragment = c2s(OpCode::Continuation, false, &[b'x'; 130]);
    let mut rsv = fragment.clone();
    rsv[0] |= 0x40;
    let mut cut_code_point = c2s(OpCode::Continuation, false, "ok\u{e9}".as_bytes());
    cut_code_point.truncate(cut_code_point.len() - 1);
    cut_code_point[1] -= 1;
    let cases: Vec<Case> = vec![
        (
            "fragments",
            Box::new(with(|c| c.max_fragments = 5)),
            fragment.clone(),
            ProtocolError::TooManyFragments { max: 5 },
            1008,
        ),
        (
            "frame size",
            Box::new(with(|c| c.max_frame_size = Some(129))),
            fragment.clone(),
            ProtocolError::FrameTooLarge {
                size: 130,
                max: 129,
            },
            1009,
        ),
        (
            "message size",
            Box::new(with(|c| c.max_message_size = 150)),
            fragment.clone(),
            ProtocolError::MessageTooLarge {
                size: 151,
                max: 150,
            },
            1009,
        ),
        (
            "RSV",
            Box::new(server),
            rsv,
            ProtocolError::ReservedBits(0b100),
            1002,
        ),
        (
            "unmasked",
            Box::new(server),
            s2c(OpCode::Continuation, false, b"plain"),
            ProtocolError::UnmaskedFrame,
            1002,
        ),
        (
            "UTF-8",
            Box::new(server),
            c2s(OpCode::Continuation, false, b"ok\xff"),
            ProtocolError::InvalidUtf8,
            1007,
        ),
        (
            "UTF-8 cut, then ASCII",
            Box::new(server),
            cut_code_point,
            ProtocolError::InvalidUtf8,
            1007,
        ),
    ];
    for (name, make, middle, error, code) in cases {
        let o = feed_at_every_split(&*make, &run(middle));
        assert!(messages(&o).is_empty(), "{name}");
        assert_eq!(
            closed(&o).error,
            Some(ConnectionError::Protocol(error)),
            "{name}"
        );
        assert_sent_close(&o.output, code);
    }
}
