//! Property tests.
//! 1. Any sequence of messages, sent by either side (whole or streamed in random
//!    fragments, with pings interleaved), arrives identical and in order under any
//!    chunking of the byte stream.
//! 2. Any byte stream fed to a server never panics, ends OPEN or CLOSED with at most
//!    one `Closed` event as the last event, answers with valid frames only, and gives
//!    the same outcome under any chunking.
#![cfg(feature = "proptest")]

mod common;
use common::*;
use proptest::prelude::*;
use wsmachine::frame::OpCode;
use wsmachine::strategies::{Expected, Script, Step, script};
use wsmachine::{Connection, Event, MessageKind, State};

/// Sends the script's steps through `sender`'s own API (whole messages, streamed
/// fragments, pings and pongs); returns the events the receiver must report, which
/// the strategies' model gives.
fn send_all(sender: &mut Connection, script: &Script) -> Vec<Event> {
    for step in &script.steps {
        match step {
            Step::Whole(m) => sender.send(m.clone()).unwrap(),
            Step::Ping(p) => sender.ping(T0, p.clone()).unwrap(),
            Step::Pong(p) => sender.pong(p.clone()).unwrap(),
            Step::Fragmented {
                message,
                cuts,
                pings_after,
            } => {
                let bytes = message.as_bytes();
                let bounds: Vec<usize> = std::iter::once(0)
                    .chain(cuts.iter().copied())
                    .chain(std::iter::once(bytes.len()))
                    .collect();
                let pieces = bounds.len() - 1;
                for i in 0..pieces {
                    let piece = bytes[bounds[i]..bounds[i + 1]].to_vec();
                    sender
                        .send_fragment(message.kind(), piece, i + 1 == pieces)
                        .unwrap();
                    for (_, p) in pings_after.iter().filter(|(at, _)| *at == i) {
                        sender.ping(T0, p.clone()).unwrap();
                    }
                }
            }
        }
    }
    script
        .expected()
        .into_iter()
        .map(|e| match e {
            Expected::Message(m) => Event::Message(m),
            Expected::Ping(p) => Event::Ping(p),
            Expected::Pong(p) => Event::Pong(p),
            Expected::Close(c) => panic!("a valid script does not close ({c:?})"),
        })
        .collect()
}

/// Feeds `bytes` in chunks of the given sizes (cycling), polling only when the
/// connection takes no more input; returns every event, the rest drained at the end.
fn feed_in_chunks(receiver: &mut Connection, bytes: &[u8], sizes: &[usize]) -> Vec<Event> {
    let mut events = Vec::new();
    let mut at = 0;
    let mut i = 0;
    while at < bytes.len() {
        let n = sizes[i % sizes.len()].min(bytes.len() - at);
        feed_polling(receiver, T0, &bytes[at..at + n], &mut events);
        at += n;
        i += 1;
    }
    events.extend(drain_events(receiver));
    events
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn messages_arrive_identical_and_in_order(
        script in script(),
        sizes in proptest::collection::vec(1usize..3000, 1..8),
        from_client in any::<bool>(),
    ) {
        let (mut sender, mut receiver) = if from_client {
            (client(), server())
        } else {
            (server(), client())
        };
        let expected = send_all(&mut sender, &script);
        let mut wire = Vec::new();
        sender.transmit_into(&mut wire);
        let got = feed_in_chunks(&mut receiver, &wire, &sizes);
        // Every ping is answered with a pong of the same payload, in order.
        let pings: Vec<_> = expected.iter().filter_map(|e| match e {
            Event::Ping(p) => Some(p.clone()),
            _ => None,
        }).collect();
        prop_assert_eq!(got, expected);
        prop_assert_eq!(receiver.state(), State::Open);
        let mut answer = Vec::new();
        receiver.transmit_into(&mut answer);
        feed(&mut sender, T0, &answer);
        let pongs: Vec<_> = drain_events(&mut sender).into_iter().map(|e| match e {
            Event::Pong(p) => p,
            other => panic!("{other:?}"),
        }).collect();
        prop_assert_eq!(pongs, pings);
    }
}

/// Frames with random header fields (reserved opcodes and bits included), mostly
/// masked, with short random payloads: deep enough into the parser to reach every
/// check, unlike uniformly random bytes which fail on the first byte.
fn rough_frame() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<bool>(),
        prop_oneof![8 => Just(0u8), 1 => 1u8..8],
        prop_oneof![
            Just(0u8),
            Just(1),
            Just(2),
            Just(8),
            Just(9),
            Just(10),
            0u8..16
        ],
        prop_oneof![9 => Just(true), 1 => Just(false)],
        prop_oneof![
            6 => proptest::collection::vec(any::<u8>(), 0..40),
            1 => Just(b"\x03\xe8".to_vec()),
            1 => "[a-zé€]{0,30}".prop_map(String::into_bytes),
        ],
        any::<[u8; 4]>(),
    )
        .prop_map(|(fin, rsv, op, masked, payload, key)| {
            let mut out = vec![u8::from(fin) << 7 | rsv << 4 | op];
            let len = payload.len() as u8;
            out.push(if masked { 0x80 | len } else { len });
            if masked {
                out.extend_from_slice(&key);
            }
            let start = out.len();
            out.extend_from_slice(&payload);
            if masked {
                wsmachine::mask::apply_mask(&mut out[start..], key, 0);
            }
            out
        })
}

fn byte_stream() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..300),
        proptest::collection::vec(rough_frame(), 0..20).prop_map(|fs| fs.concat()),
        (
            proptest::collection::vec(rough_frame(), 1..20),
            proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4)
        )
            .prop_map(|(fs, flips)| {
                let mut bytes = fs.concat();
                for (i, b) in flips {
                    let at = i.index(bytes.len());
                    bytes[at] ^= b;
                }
                bytes
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_byte_stream_ends_in_a_documented_state(
        bytes in byte_stream(),
        sizes in proptest::collection::vec(1usize..64, 1..6),
    ) {
        let mut s = server();
        let events = feed_in_chunks(&mut s, &bytes, &sizes);
        let mut out = Vec::new();
        s.transmit_into(&mut out);

        // The same outcome as feeding it whole.
        let whole = feed_chunks(&server, &[&bytes]);
        prop_assert_eq!(&whole.events, &events);
        prop_assert_eq!(&whole.output, &out);

        let state = s.state();
        prop_assert!(matches!(state, State::Open | State::Closed), "{:?}", state);
        let closes = events.iter().filter(|e| matches!(e, Event::Closed(_))).count();
        prop_assert_eq!(closes, usize::from(state == State::Closed));
        if state == State::Closed {
            prop_assert!(matches!(events.last(), Some(Event::Closed(_))));
        }
        // Output: valid unmasked frames, only pongs and at most one final close.
        let frames = frames(&out);
        for (i, f) in frames.iter().enumerate() {
            prop_assert!(f.header.mask.is_none());
            match f.header.opcode {
                OpCode::Pong => {}
                OpCode::Close => prop_assert_eq!(i, frames.len() - 1),
                other => prop_assert!(false, "unexpected {:?}", other),
            }
        }
        if let Some(Event::Closed(c)) = events.last()
            && let Some(wsmachine::ConnectionError::Protocol(e)) = &c.error
        {
            let last = frames.last().unwrap();
            prop_assert_eq!(&last.payload[..2], &e.close_code().0.to_be_bytes());
        }
        for e in &events {
            if let Event::Message(m) = e
                && m.kind() == MessageKind::Text
            {
                prop_assert!(std::str::from_utf8(m.as_bytes()).is_ok());
            }
        }
    }
}

fn mutated_request() -> impl Strategy<Value = Vec<u8>> {
    (
        proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        proptest::collection::vec(any::<prop::sample::Index>(), 0..3),
        proptest::collection::vec(any::<u8>(), 0..40),
    )
        .prop_map(|(flips, cuts, tail)| {
            let mut bytes = upgrade_request("Sec-WebSocket-Protocol: a, b\r\n");
            for (i, b) in flips {
                let at = i.index(bytes.len());
                bytes[at] = b;
            }
            for i in cuts {
                let at = i.index(bytes.len());
                bytes.remove(at);
            }
            bytes.extend(tail);
            bytes
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn any_request_head_gets_a_request_event_or_an_http_answer(
        bytes in mutated_request(),
        sizes in proptest::collection::vec(1usize..40, 1..5),
    ) {
        let mut s = fresh_server();
        let events = feed_in_chunks(&mut s, &bytes, &sizes);
        let mut out = Vec::new();
        s.transmit_into(&mut out);
        let whole = feed_chunks(&fresh_server, &[&bytes]);
        prop_assert_eq!(&whole.events, &events);
        prop_assert_eq!(&whole.output, &out);
        match (&events[..], s.state()) {
            ([], State::Connecting) => prop_assert!(out.is_empty()),
            ([Event::Request(_)], State::Connecting) => prop_assert!(out.is_empty()),
            ([Event::Closed(c)], State::Closed)
            | ([Event::Request(_), Event::Closed(c)], State::Closed) => {
                let Some(wsmachine::ConnectionError::Handshake(e)) = &c.error else {
                    return Err(TestCaseError::fail(format!("{c:?}")));
                };
                let status = e.status().unwrap();
                let expected = format!("HTTP/1.1 {status} ");
                prop_assert!(out.starts_with(expected.as_bytes()));
            }
            (other, state) => prop_assert!(false, "{:?} in {:?}", other, state),
        }
    }
}
