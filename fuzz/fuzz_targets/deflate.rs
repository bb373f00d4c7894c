//! permessage-deflate (RFC 7692) under arbitrary parameters, from both sides:
//!
//! - hostile: a server with the extension negotiated is fed arbitrary frames (RSV
//!   bits, opcodes and payloads as given, so most compressed payloads are garbage,
//!   some bombs) and raw bytes. Nothing panics; no message or streamed message is
//!   delivered past the message limit; a connection failed for a violation closes
//!   with the code the RFCs name for it (1002, 1007, 1008, 1009), and nothing
//!   follows a close.
//! - round trip: messages (whole, or cut into fragments) compressed by a client and
//!   by a server arrive identical and in order at the other side, whatever windows
//!   and context settings were negotiated, the 8-bit window included.
#![no_main]
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use wsmachine::deflate::DeflateParams;
use wsmachine::frame::{FrameHeader, OpCode};
use wsmachine::{
    Config, Connection, Delivery, Event, MessageKind, Negotiated, SeededEntropy, Timestamp,
};

const T: Timestamp = Timestamp::ZERO;

#[derive(Arbitrary, Debug)]
struct Input {
    server_bits: u8,
    client_bits: u8,
    server_reset: bool,
    client_reset: bool,
    streamed: bool,
    max_message: u16,
    hostile: Vec<Piece>,
    messages: Vec<Outgoing>,
}

#[derive(Arbitrary, Debug)]
enum Piece {
    /// A masked frame with these bits, as a client would send it.
    Frame {
        opcode: u8,
        fin: bool,
        rsv: u8,
        payload: Vec<u8>,
    },
    /// Raw bytes.
    Bytes(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
struct Outgoing {
    text: bool,
    data: Vec<u8>,
    /// Fragment cuts; none: sent whole.
    cuts: Vec<u16>,
    uncompressed: bool,
}

fn params(input: &Input) -> DeflateParams {
    let mut p = DeflateParams::default();
    p.server_max_window_bits = 8 + input.server_bits % 8;
    p.client_max_window_bits = 8 + input.client_bits % 8;
    p.server_no_context_takeover = input.server_reset;
    p.client_no_context_takeover = input.client_reset;
    p
}

fn config(input: &Input) -> Config {
    let mut c = Config::default();
    c.max_message_size = u64::from(input.max_message) + 1;
    c.delivery = if input.streamed {
        Delivery::Streamed
    } else {
        Delivery::Whole
    };
    c
}

fn negotiated(p: DeflateParams) -> Negotiated {
    let mut n = Negotiated::none();
    n.deflate = Some(p);
    n
}

fn hostile(input: &Input) {
    let config = config(input);
    let limit = config.max_message_size as usize;
    let mut server =
        Connection::upgraded_server(config, negotiated(params(input)), &[], T).unwrap();
    let mut streamed = 0usize;
    let mut closed = false;
    for piece in &input.hostile {
        let bytes = match piece {
            Piece::Frame {
                opcode,
                fin,
                rsv,
                payload,
            } => {
                let Some(opcode) = OpCode::from_u8(*opcode & 0x0f) else {
                    continue;
                };
                let mut header = FrameHeader::new(opcode, payload.len() as u64);
                header.fin = *fin;
                header.rsv = *rsv & 0b111;
                header.mask = Some([7, 1, 3, 9]);
                let mut out = Vec::new();
                header.encode_to_vec(&mut out);
                let start = out.len();
                out.extend_from_slice(payload);
                wsmachine::mask::apply_mask(&mut out[start..], [7, 1, 3, 9], 0);
                out
            }
            Piece::Bytes(b) => b.clone(),
        };
        let mut rest = &bytes[..];
        loop {
            let n = server.handle_data(T, rest);
            rest = &rest[n..];
            let mut polled = false;
            while let Some(event) = server.poll_event() {
                polled = true;
                assert!(!closed, "an event after Closed: {event:?}");
                match event {
                    Event::Message(m) => assert!(m.len() <= limit, "{} > {limit}", m.len()),
                    Event::Fragment(f) => {
                        streamed += f.data.len();
                        assert!(streamed <= limit, "{streamed} streamed > {limit}");
                        if f.last {
                            streamed = 0;
                        }
                    }
                    Event::Closed(c) => {
                        closed = true;
                        // A peer's close carries its own code; a violation ends with
                        // the code the RFCs name for it.
                        if let Some(wsmachine::ConnectionError::Protocol(e)) = &c.error {
                            assert_eq!(e.close_code(), c.code);
                            assert!([1002, 1007, 1008, 1009].contains(&c.code.0), "{c:?}");
                        }
                    }
                    _ => {}
                }
            }
            if rest.is_empty() || (n == 0 && !polled) {
                break;
            }
        }
        // The output is drained so that the output limit never stops the reader.
        let mut sink = Vec::new();
        server.transmit_into(&mut sink);
    }
}

/// What `messages` should arrive as: kind and bytes, text only when valid UTF-8.
fn expected(messages: &[Outgoing]) -> Vec<(MessageKind, Vec<u8>)> {
    messages
        .iter()
        .map(|m| {
            let kind = if m.text && std::str::from_utf8(&m.data).is_ok() {
                MessageKind::Text
            } else {
                MessageKind::Binary
            };
            (kind, m.data.clone())
        })
        .collect()
}

fn send_all(conn: &mut Connection, messages: &[Outgoing]) {
    for (m, (kind, data)) in messages.iter().zip(expected(messages)) {
        let cut_at = |c: &u16| usize::from(*c) % (data.len() + 1);
        let mut cuts: Vec<usize> = m
            .cuts
            .iter()
            .map(cut_at)
            .filter(|&c| c < data.len())
            .collect();
        cuts.sort_unstable();
        cuts.dedup();
        if m.cuts.is_empty() {
            let message = match kind {
                MessageKind::Text => {
                    wsmachine::Message::Text(String::from_utf8(data).unwrap().into())
                }
                _ => wsmachine::Message::Binary(data.into()),
            };
            if m.uncompressed {
                conn.send_uncompressed(message).unwrap();
            } else {
                conn.send(message).unwrap();
            }
            continue;
        }
        // Fragments at the cuts (an empty first one when a cut is at 0), then the
        // rest as the last. Text cut inside a code point is fine: only the whole
        // message must be valid.
        let mut at = 0;
        for cut in cuts {
            conn.send_fragment(kind, data[at..cut].to_vec(), false)
                .unwrap();
            at = cut;
        }
        conn.send_fragment(kind, data[at..].to_vec(), true).unwrap();
    }
}

fn received(events: Vec<Event>) -> Vec<(MessageKind, Vec<u8>)> {
    let mut got = Vec::new();
    for event in events {
        match event {
            Event::Message(m) => got.push((m.kind(), m.as_bytes().to_vec())),
            Event::Closed(c) => panic!("closed in the round trip: {c:?}"),
            _ => {}
        }
    }
    got
}

fn drain(conn: &mut Connection) -> Vec<Event> {
    let mut events = Vec::new();
    while let Some(e) = conn.poll_event() {
        events.push(e);
    }
    events
}

fn round_trip(input: &Input) {
    let p = params(input);
    let mut config = Config::default();
    config.max_message_size = 1 << 20;
    let mut client =
        Connection::upgraded_client(config.clone(), negotiated(p), SeededEntropy::new(9), &[], T)
            .unwrap();
    let mut server = Connection::upgraded_server(config, negotiated(p), &[], T).unwrap();
    let want = expected(&input.messages);
    assert_eq!(one_way(&mut client, &mut server, &input.messages), want);
    assert_eq!(one_way(&mut server, &mut client, &input.messages), want);
}

/// Sends `messages` from `from` and returns what `to` received.
fn one_way(
    from: &mut Connection,
    to: &mut Connection,
    messages: &[Outgoing],
) -> Vec<(MessageKind, Vec<u8>)> {
    send_all(from, messages);
    let mut wire = Vec::new();
    from.transmit_into(&mut wire);
    let mut events = Vec::new();
    let mut rest = &wire[..];
    while !rest.is_empty() {
        let n = to.handle_data(T, rest);
        rest = &rest[n..];
        events.extend(drain(to));
    }
    received(events)
}

fuzz_target!(|input: Input| {
    if input.messages.iter().map(|m| m.data.len()).sum::<usize>() > 1 << 18 {
        return;
    }
    hostile(&input);
    round_trip(&input);
});
