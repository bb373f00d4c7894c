//! permessage-deflate (RFC 7692) end to end: negotiation through the opening
//! handshake, compressed messages in both directions with and without context
//! takeover, fragments, streamed delivery, RSV1 misuse, corrupt data and
//! decompression bombs, and what is handed back unsent.
#![cfg(feature = "deflate")]

mod common;
use common::*;

use flate2::{Compress, Compression, FlushCompress};
use wsmachine::deflate::{DeflateConfig, DeflateParams};
use wsmachine::frame::{FrameHeader, OpCode};
use wsmachine::{
    Accept, ClientRequest, Config, Connection, Delivery, Event, Message, MessageKind, Negotiated,
    SeededEntropy,
};

fn config_with(deflate: DeflateConfig) -> Config {
    let mut config = Config::default();
    config.deflate = Some(deflate);
    config
}

/// A client and a server with these settings, through the opening handshake.
fn pair(client: Config, server: Config) -> Pair {
    let request = ClientRequest::new("h", "/");
    let c = Connection::client(client, request, SeededEntropy::new(3), T0).unwrap();
    let s = Connection::server(server, T0).unwrap();
    let mut pair = Pair::of(c, s);
    pair.drive();
    assert!(matches!(pair.server_events.pop(), Some(Event::Request(_))));
    pair.server.accept(T0, Accept::new()).unwrap();
    pair.drive();
    pair
}

fn opened(events: &mut Vec<Event>) -> wsmachine::Open {
    match events.remove(0) {
        Event::Open(open) => *open,
        other => panic!("{other:?}"),
    }
}

fn deflate_pair(client: DeflateConfig, server: DeflateConfig) -> Pair {
    let mut p = pair(config_with(client), config_with(server));
    opened(&mut p.client_events);
    opened(&mut p.server_events);
    p
}

/// The frames `conn` has queued, taken off its output.
fn sent(conn: &mut Connection) -> Vec<wsmachine::frame::Frame> {
    let mut out = Vec::new();
    conn.transmit_into(&mut out);
    frames(&out)
}

fn texts(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Message(m) => Some(String::from_utf8(m.as_bytes().to_vec()).unwrap()),
            _ => None,
        })
        .collect()
}

#[test]
fn negotiated_in_the_handshake_and_reported_on_open() {
    let mut p = pair(
        config_with(DeflateConfig::default()),
        config_with(DeflateConfig::default()),
    );
    let client = opened(&mut p.client_events);
    let server = opened(&mut p.server_events);
    assert_eq!(client.deflate, Some(DeflateParams::default()));
    assert_eq!(server.deflate, Some(DeflateParams::default()));
    assert_eq!(client.extensions[0].name, "permessage-deflate");
    assert_eq!(p.client.deflate(), Some(DeflateParams::default()));
    assert_eq!(p.server.deflate(), Some(DeflateParams::default()));

    // Only one side wants it: nothing is negotiated, and messages flow plain.
    for (c, s) in [
        (config_with(DeflateConfig::default()), Config::default()),
        (Config::default(), config_with(DeflateConfig::default())),
    ] {
        let mut p = pair(c, s);
        assert_eq!(opened(&mut p.client_events).deflate, None);
        assert_eq!(p.server.deflate(), None);
        p.client
            .send("plain text, long enough to be compressed if it could be")
            .unwrap();
        let f = sent(&mut p.client);
        assert_eq!(f[0].header.rsv, 0);
    }
}

#[test]
fn messages_travel_compressed_both_ways() {
    let mut p = deflate_pair(DeflateConfig::default(), DeflateConfig::default());
    let text = "a message long enough to be worth compressing, ".repeat(20);
    for _ in 0..3 {
        p.client.send(text.as_str()).unwrap();
        p.server.send(text.as_str()).unwrap();
    }
    // On the wire: RSV1 set, and far fewer bytes than the text.
    let mut wire = Vec::new();
    p.server.transmit_into(&mut wire);
    let f = frames(&wire);
    assert_eq!(f.len(), 3);
    assert!(f.iter().all(|f| f.header.rsv == 0b100));
    assert!(
        f[0].payload.len() < text.len() / 4,
        "{}",
        f[0].payload.len()
    );
    // Context takeover: the same text again costs almost nothing.
    assert!(f[1].payload.len() < f[0].payload.len() / 2);
    // Hand the server's frames to the client as they were written.
    feed(&mut p.client, T0, &wire);
    p.client_events.extend(drain_events(&mut p.client));
    p.drive();
    assert_eq!(texts(&p.client_events), vec![text.clone(); 3]);
    assert_eq!(texts(&p.server_events), vec![text.clone(); 3]);
}

#[test]
fn every_combination_of_context_and_window_roundtrips() {
    let mut corpus: Vec<Vec<u8>> = Vec::new();
    for i in 0..12u32 {
        let unit = format!("line {i}: the quick brown fox jumps over the lazy dog\n");
        corpus.push(unit.repeat(1 + (i as usize * 37) % 200).into_bytes());
    }
    corpus.push((0..=255u8).cycle().take(70_000).collect());
    corpus.push(vec![0; 5]);
    for no_takeover in [false, true] {
        for bits in [9, 10, 12, 15] {
            let mut d = DeflateConfig::default();
            d.server_no_context_takeover = no_takeover;
            d.client_no_context_takeover = no_takeover;
            d.server_max_window_bits = bits;
            d.client_max_window_bits = bits;
            d.min_size = 0;
            let mut p = deflate_pair(d.clone(), d);
            let params = p.server.deflate().unwrap();
            assert_eq!(params.server_max_window_bits, bits);
            assert_eq!(params.client_max_window_bits, bits);
            assert_eq!(params.client_no_context_takeover, no_takeover);
            for m in &corpus {
                p.client.send_binary(m.clone()).unwrap();
                p.server.send_binary(m.clone()).unwrap();
                p.drive();
            }
            for events in [&p.client_events, &p.server_events] {
                let got: Vec<&[u8]> = events
                    .iter()
                    .filter_map(|e| match e {
                        Event::Message(m) => Some(m.as_bytes()),
                        _ => None,
                    })
                    .collect();
                let want: Vec<&[u8]> = corpus.iter().map(Vec::as_slice).collect();
                assert_eq!(got, want, "no_takeover {no_takeover}, {bits} bits");
            }
        }
    }
}

#[test]
fn a_fragmented_message_is_compressed_across_its_frames() {
    let mut p = deflate_pair(DeflateConfig::default(), DeflateConfig::default());
    let pieces = [
        "first piece of the message, ",
        "second one, ",
        "and the end",
    ];
    for (i, piece) in pieces.iter().enumerate() {
        p.client
            .send_fragment(
                MessageKind::Text,
                wsmachine::Bytes::copy_from_slice(piece.as_bytes()),
                i == 2,
            )
            .unwrap();
    }
    let mut wire = Vec::new();
    p.client.transmit_into(&mut wire);
    let f = frames(&wire);
    assert_eq!(
        f.iter().map(|f| f.header.rsv).collect::<Vec<_>>(),
        [0b100, 0, 0],
        "RSV1 on the first frame only"
    );
    feed(&mut p.server, T0, &wire);
    assert_eq!(texts(&drain_events(&mut p.server)), [pieces.concat()]);
}

#[test]
fn streamed_delivery_hands_out_inflated_pieces() {
    let mut server = Config::default();
    server.delivery = Delivery::Streamed;
    server.deflate = Some(DeflateConfig::default());
    let mut p = pair(config_with(DeflateConfig::default()), server);
    opened(&mut p.server_events);
    let big: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    p.client.send_binary(big.clone()).unwrap();
    p.drive();
    let mut got = Vec::new();
    let mut pieces = 0;
    for e in &p.server_events {
        if let Event::Fragment(f) = e {
            assert!(
                f.data.len() <= 64 << 10,
                "a piece of {} bytes",
                f.data.len()
            );
            assert_eq!(f.first, pieces == 0);
            pieces += 1;
            got.extend_from_slice(&f.data);
        }
    }
    assert!(pieces >= 16, "{pieces} pieces");
    assert_eq!(got, big);
}

/// A server OPEN with permessage-deflate (default parameters), built as an
/// embedder that upgraded elsewhere would.
fn deflate_server(config: Config) -> Connection {
    let mut negotiated = Negotiated::none();
    negotiated.deflate = Some(DeflateParams::default());
    Connection::upgraded_server(config, negotiated, &[], T0).unwrap()
}

/// `data` compressed as one message with a fresh context, tail removed.
fn deflated(data: &[u8]) -> Vec<u8> {
    let mut c = Compress::new(Compression::best(), false);
    let mut out = Vec::with_capacity(data.len() + 1024);
    c.compress_vec(data, &mut out, FlushCompress::Sync).unwrap();
    assert!(out.ends_with(&[0, 0, 0xff, 0xff]));
    out.truncate(out.len() - 4);
    out
}

/// A masked client frame with these RSV bits.
fn frame_rsv(opcode: OpCode, fin: bool, rsv: u8, payload: &[u8]) -> Vec<u8> {
    let mut header = FrameHeader::new(opcode, payload.len() as u64);
    header.fin = fin;
    header.rsv = rsv;
    header.mask = Some(KEY);
    let mut out = Vec::new();
    header.encode_to_vec(&mut out);
    let mut body = payload.to_vec();
    wsmachine::mask::apply_mask(&mut body, KEY, 0);
    out.extend_from_slice(&body);
    out
}

fn close_code_after(conn: &mut Connection, input: &[u8]) -> u16 {
    let _ = conn.handle_data(T0, input);
    let events = drain_events(conn);
    match events.last() {
        Some(Event::Closed(c)) => c.code.0,
        other => panic!("not closed: {other:?} after {events:?}"),
    }
}

#[test]
fn rsv1_misuse_is_a_protocol_error() {
    let z = deflated(b"hello");
    // On a continuation frame.
    let mut input = frame_rsv(OpCode::Text, false, 0b100, &z[..2]);
    input.extend(frame_rsv(OpCode::Continuation, true, 0b100, &z[2..]));
    assert_eq!(
        close_code_after(&mut deflate_server(Config::default()), &input),
        1002
    );
    // On a control frame.
    let ping = frame_rsv(OpCode::Ping, true, 0b100, b"");
    assert_eq!(
        close_code_after(&mut deflate_server(Config::default()), &ping),
        1002
    );
    // RSV2 or RSV3.
    for rsv in [0b010, 0b001, 0b110] {
        let f = frame_rsv(OpCode::Text, true, rsv, &z);
        assert_eq!(
            close_code_after(&mut deflate_server(Config::default()), &f),
            1002
        );
    }
    // Without the extension negotiated.
    let f = frame_rsv(OpCode::Text, true, 0b100, &z);
    assert_eq!(close_code_after(&mut server(), &f), 1002);
    // And the same frame is fine with it.
    let mut s = deflate_server(Config::default());
    feed(&mut s, T0, &f);
    assert_eq!(texts(&drain_events(&mut s)), ["hello"]);
}

#[test]
fn corrupt_or_invalid_compressed_data_is_refused() {
    let garbage = frame_rsv(OpCode::Binary, true, 0b100, &[0xff; 40]);
    assert_eq!(
        close_code_after(&mut deflate_server(Config::default()), &garbage),
        1007
    );
    // Valid deflate of invalid UTF-8 in a text message.
    let bad_text = frame_rsv(OpCode::Text, true, 0b100, &deflated(&[0xc3, 0x28, 0x41]));
    assert_eq!(
        close_code_after(&mut deflate_server(Config::default()), &bad_text),
        1007
    );
}

#[test]
fn a_decompression_bomb_stops_at_the_message_limit() {
    // 10 MiB of zeros in about 10 KB on the wire, against a 1 MiB limit.
    let bomb = deflated(&vec![0u8; 10 << 20]);
    assert!(bomb.len() < 16 << 10, "{}", bomb.len());
    for delivery in [Delivery::Whole, Delivery::Streamed] {
        let mut config = Config::default();
        config.max_message_size = 1 << 20;
        config.delivery = delivery;
        let mut s = deflate_server(config.clone());
        let input = frame_rsv(OpCode::Binary, true, 0b100, &bomb);
        assert_eq!(close_code_after(&mut s, &input), 1009, "{delivery:?}");
        // Exactly at the limit is fine.
        let fits = frame_rsv(OpCode::Binary, true, 0b100, &deflated(&vec![0u8; 1 << 20]));
        let mut s = deflate_server(config);
        let mut got = 0;
        let _ = s.handle_data(T0, &fits);
        for e in drain_events(&mut s) {
            match e {
                Event::Message(m) => got += m.len(),
                Event::Fragment(f) => got += f.data.len(),
                Event::Closed(c) => panic!("{c:?}"),
                _ => {}
            }
        }
        assert_eq!(got, 1 << 20, "{delivery:?}");
    }
}

#[test]
fn a_peer_limited_to_an_eight_bit_window_gets_uncompressed_messages() {
    // The client asks the server for an 8-bit window; zlib cannot compress with
    // one, so the server accepts and sends everything uncompressed.
    let mut client = DeflateConfig::default();
    client.server_max_window_bits = 8;
    client.fallback = false;
    let mut p = deflate_pair(client, DeflateConfig::default());
    assert_eq!(p.server.deflate().unwrap().server_max_window_bits, 8);
    let text = "uncompressed because of the window, ".repeat(10);
    p.server.send(text.as_str()).unwrap();
    p.client.send(text.as_str()).unwrap();
    let f = sent(&mut p.server);
    assert_eq!(f[0].header.rsv, 0);
    assert_eq!(f[0].payload.len(), text.len());
    p.drive();
    assert_eq!(texts(&p.server_events), [text]);
}

#[test]
fn unsent_compressed_messages_come_back_as_sent() {
    let mut p = deflate_pair(DeflateConfig::default(), DeflateConfig::default());
    let text = "this will never reach the peer, compressed or not ".repeat(4);
    p.server.send(text.as_str()).unwrap();
    p.server.send_text_copied(&text).unwrap();
    p.server.abort();
    let unsent = p.server.take_unsent();
    assert_eq!(unsent.len(), 2);
    for u in unsent {
        assert_eq!(u.data, text.as_bytes());
        assert!(u.first && u.last);
    }
}

#[test]
fn a_plain_prepared_message_goes_out_uncompressed_on_a_compressing_connection() {
    let mut p = deflate_pair(DeflateConfig::default(), DeflateConfig::default());
    let news = wsmachine::Prepared::new("broadcast text that is not compressed per connection");
    p.server.send_prepared(&news).unwrap();
    let f = sent(&mut p.server);
    assert_eq!(f[0].header.rsv, 0);
    assert_eq!(&f[0].payload[..], news.payload());
}

#[test]
fn a_deflated_prepared_message_is_shared_where_the_window_allows() {
    let text = "news for every subscriber, compressed once for all of them. ".repeat(30);
    let news = wsmachine::Prepared::deflated(text.as_str(), &DeflateConfig::default());
    let mut small = DeflateConfig::default();
    small.server_max_window_bits = 10;
    let small_news = wsmachine::Prepared::deflated(text.as_str(), &small);
    let mut no_takeover = DeflateConfig::default();
    no_takeover.server_no_context_takeover = true;
    for (server, takeover) in [(DeflateConfig::default(), true), (no_takeover, false)] {
        let mut p = deflate_pair(DeflateConfig::default(), server);
        // A message before and after: with context takeover the compressor starts
        // afresh after the shared one, and the peer still inflates all three.
        p.server.send(text.as_str()).unwrap();
        p.server.send_prepared(&news).unwrap();
        p.server.send_prepared(&small_news).unwrap();
        p.server.send(text.as_str()).unwrap();
        let mut wire = Vec::new();
        p.server.transmit_into(&mut wire);
        let f = frames(&wire);
        assert!(
            f.iter().all(|f| f.header.rsv == 0b100),
            "takeover {takeover}"
        );
        assert!(f[1].payload.len() < text.len() / 4);
        // The fresh context after the shared message: the last frame cannot refer
        // back to the first, so it is no smaller than a message compressed alone.
        assert_eq!(
            f[3].payload.len(),
            f[0].payload.len(),
            "takeover {takeover}"
        );
        feed(&mut p.client, T0, &wire);
        assert_eq!(texts(&drain_events(&mut p.client)), vec![text.clone(); 4]);
    }
    // A connection whose window is smaller than the prepared one's sends it plain.
    let mut c = DeflateConfig::default();
    c.server_max_window_bits = 9;
    let mut p = deflate_pair(c, DeflateConfig::default());
    assert_eq!(p.server.deflate().unwrap().server_max_window_bits, 9);
    p.server.send_prepared(&news).unwrap();
    p.server.send_prepared(&small_news).unwrap();
    let mut wire = Vec::new();
    p.server.transmit_into(&mut wire);
    let rsv: Vec<u8> = frames(&wire).iter().map(|f| f.header.rsv).collect();
    assert_eq!(rsv, [0, 0]);
    feed(&mut p.client, T0, &wire);
    assert_eq!(texts(&drain_events(&mut p.client)), vec![text.clone(); 2]);
    // A client masks each frame, but the compressed payload is still the shared one.
    let mut p = deflate_pair(DeflateConfig::default(), DeflateConfig::default());
    p.client.send_prepared(&news).unwrap();
    let f = sent(&mut p.client);
    assert_eq!(f[0].header.rsv, 0b100);
    assert!(f[0].header.mask.is_some());
    let mut back = Vec::new();
    p.server.send_prepared(&news).unwrap();
    p.server.transmit_into(&mut back);
    assert_eq!(f[0].payload, frames(&back)[0].payload);
}

#[test]
fn a_message_sent_uncompressed_on_request_stays_plain() {
    let mut p = deflate_pair(DeflateConfig::default(), DeflateConfig::default());
    let text = "already compressed, or not worth it; ".repeat(10);
    p.server.send_uncompressed(text.as_str()).unwrap();
    p.server.send(text.as_str()).unwrap();
    p.server.send_uncompressed(text.as_str()).unwrap();
    let mut wire = Vec::new();
    p.server.transmit_into(&mut wire);
    let rsv: Vec<u8> = frames(&wire).iter().map(|f| f.header.rsv).collect();
    assert_eq!(rsv, [0, 0b100, 0]);
    feed(&mut p.client, T0, &wire);
    assert_eq!(texts(&drain_events(&mut p.client)), vec![text.clone(); 3]);
}

#[test]
fn messages_below_the_threshold_stay_uncompressed() {
    let mut server = DeflateConfig::default();
    server.min_size = 64;
    let mut p = deflate_pair(DeflateConfig::default(), server);
    p.server.send("tiny").unwrap();
    p.server
        .send(Message::Binary(vec![1u8; 63].into()))
        .unwrap();
    p.server
        .send(Message::Binary(vec![1u8; 64].into()))
        .unwrap();
    let rsv: Vec<u8> = sent(&mut p.server).iter().map(|f| f.header.rsv).collect();
    assert_eq!(rsv, [0, 0, 0b100]);
}

#[test]
fn no_context_takeover_frees_the_contexts_between_messages() {
    let mut d = DeflateConfig::default();
    d.server_no_context_takeover = true;
    d.client_no_context_takeover = true;
    let mut p = deflate_pair(d.clone(), d);
    let text = "the same text twice, compressed from scratch each time ".repeat(8);
    p.server.send(text.as_str()).unwrap();
    p.server.send(text.as_str()).unwrap();
    let f = sent(&mut p.server);
    // Without the earlier message as context, the second costs as much as the first.
    assert_eq!(f[0].payload, f[1].payload);
}

#[test]
fn a_client_fails_on_an_answer_it_did_not_offer() {
    for answer in [
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; bogus",
        "permessage-deflate, permessage-deflate",
        // The client's default offer names client_max_window_bits, with no value,
        // so an answer may set it; but not without a value.
        "permessage-deflate; client_max_window_bits",
    ] {
        let request = ClientRequest::new("h", "/");
        let mut c = Connection::client(
            config_with(DeflateConfig::default()),
            request,
            SeededEntropy::new(3),
            T0,
        )
        .unwrap();
        let key = sent_key(&mut c);
        let response = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\nSec-WebSocket-Extensions: {answer}\r\n\r\n",
            wsmachine::handshake::accept_key(&key)
        );
        feed(&mut c, T0, response.as_bytes());
        let events = drain_events(&mut c);
        let Some(Event::Closed(closed)) = events.last() else {
            panic!("{answer}: {events:?}")
        };
        assert!(
            matches!(
                closed.error,
                Some(wsmachine::ConnectionError::Handshake(
                    wsmachine::HandshakeError::InvalidExtension(_)
                ))
            ),
            "{answer}: {closed:?}"
        );
    }
}
