//! Shared test helpers: frames by hand, a connection pair joined by an in-memory pipe,
//! and feeding one input at every split point.
#![allow(dead_code)]

use wsmachine::frame::{FrameHeader, OpCode};
use wsmachine::mask::apply_mask;
use wsmachine::{
    Config, Connection, Event, Negotiated, SeededEntropy, State, Timestamp, TransportAction,
};

pub const T0: Timestamp = Timestamp::ZERO;
pub const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// One frame as bytes: masked with `KEY` when `masked`.
pub fn frame(opcode: OpCode, fin: bool, payload: &[u8], masked: bool) -> Vec<u8> {
    let mut header = FrameHeader::new(opcode, payload.len() as u64);
    header.fin = fin;
    header.mask = masked.then_some(KEY);
    let mut out = Vec::new();
    header.encode_to_vec(&mut out);
    let start = out.len();
    out.extend_from_slice(payload);
    if masked {
        apply_mask(&mut out[start..], KEY, 0);
    }
    out
}

/// A frame as a client sends it (masked).
pub fn c2s(opcode: OpCode, fin: bool, payload: &[u8]) -> Vec<u8> {
    frame(opcode, fin, payload, true)
}

/// A frame as a server sends it (unmasked).
pub fn s2c(opcode: OpCode, fin: bool, payload: &[u8]) -> Vec<u8> {
    frame(opcode, fin, payload, false)
}

/// A close frame body.
pub fn close_body(code: u16, reason: &str) -> Vec<u8> {
    let mut body = code.to_be_bytes().to_vec();
    body.extend_from_slice(reason.as_bytes());
    body
}

pub fn server_with(config: Config) -> Connection {
    Connection::upgraded_server(config, Negotiated::none(), &[], T0).unwrap()
}

pub fn client_with(config: Config) -> Connection {
    Connection::upgraded_client(config, Negotiated::none(), SeededEntropy::new(7), &[], T0).unwrap()
}

pub fn server() -> Connection {
    server_with(Config::default())
}

pub fn client() -> Connection {
    client_with(Config::default())
}

/// Everything observable after feeding input to a connection.
#[derive(Debug, PartialEq)]
pub struct Outcome {
    pub events: Vec<Event>,
    pub output: Vec<u8>,
    pub state: State,
    pub transport: TransportAction,
}

pub fn drain_events(conn: &mut Connection) -> Vec<Event> {
    std::iter::from_fn(|| conn.poll_event()).collect()
}

/// Feeds `chunks` in order to a fresh connection from `make`, then drains it.
pub fn feed_chunks(make: &dyn Fn() -> Connection, chunks: &[&[u8]]) -> Outcome {
    let mut conn = make();
    for chunk in chunks {
        conn.handle_data(T0, chunk);
    }
    let events = drain_events(&mut conn);
    let mut output = Vec::new();
    conn.transmit_into(&mut output);
    Outcome {
        events,
        output,
        state: conn.state(),
        transport: conn.transport(),
    }
}

/// Feeds `input` whole, then in two pieces at every split point, then one byte at a
/// time, and checks that every way gives the same outcome. Returns it.
pub fn feed_at_every_split(make: &dyn Fn() -> Connection, input: &[u8]) -> Outcome {
    let whole = feed_chunks(make, &[input]);
    for split in 0..=input.len() {
        let (a, b) = input.split_at(split);
        let split_outcome = feed_chunks(make, &[a, b]);
        assert_eq!(split_outcome, whole, "split at {split} differs");
    }
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(
        feed_chunks(make, &bytes),
        whole,
        "byte-by-byte feed differs"
    );
    whole
}

/// The events of an outcome that carry data, for short assertions.
pub fn messages(outcome: &Outcome) -> Vec<wsmachine::Message> {
    outcome
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Message(m) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

/// The timeout that ended the connection, if a `Closed` event among `events` says so.
pub fn timeout_of(events: &[Event]) -> Option<wsmachine::Timeout> {
    events.iter().find_map(|e| match e {
        Event::Closed(c) => match c.error {
            Some(wsmachine::ConnectionError::Timeout(t)) => Some(t),
            _ => None,
        },
        _ => None,
    })
}

/// The `Closed` event, which must be the last event.
pub fn closed(outcome: &Outcome) -> wsmachine::Closed {
    match outcome.events.last() {
        Some(Event::Closed(c)) => (**c).clone(),
        other => panic!(
            "expected Closed last, got {other:?} in {:?}",
            outcome.events
        ),
    }
}

/// Decodes a byte stream into frames (unmasked payloads), failing on anything invalid.
pub fn frames(mut bytes: &[u8]) -> Vec<wsmachine::frame::Frame> {
    let mut decoder = wsmachine::frame::FrameDecoder::new(u64::MAX);
    let mut out = Vec::new();
    while let Some(f) = decoder
        .decode(&mut bytes)
        .expect("output must be valid frames")
    {
        out.push(f);
    }
    assert!(bytes.is_empty());
    out
}

/// Writes out a client's upgrade request and returns its `Sec-WebSocket-Key`.
pub fn sent_key(client: &mut Connection) -> String {
    let mut head = Vec::new();
    client.transmit_into(&mut head);
    String::from_utf8(head)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .expect("the request carries a key")
        .to_string()
}

/// Asserts the output holds exactly one close frame, last, and that it carries `code`.
pub fn assert_sent_close(output: &[u8], code: u16) {
    let fs = frames(output);
    let closes = fs
        .iter()
        .filter(|f| f.header.opcode == OpCode::Close)
        .count();
    assert_eq!(closes, 1, "close frames sent");
    let last = fs.last().expect("a close frame");
    assert_eq!(last.header.opcode, OpCode::Close);
    assert_eq!(&last.payload[..2], &code.to_be_bytes());
}

/// A client and a server joined by a pipe that moves bytes in chunks of at most
/// `chunk` bytes (0 = whole).
pub struct Pair {
    pub client: Connection,
    pub server: Connection,
    pub client_events: Vec<Event>,
    pub server_events: Vec<Event>,
    pub chunk: usize,
    pub now: Timestamp,
}

impl Pair {
    pub fn new() -> Pair {
        Pair::with_configs(Config::default(), Config::default())
    }

    pub fn with_configs(client: Config, server: Config) -> Pair {
        Pair {
            client: client_with(client),
            server: server_with(server),
            client_events: Vec::new(),
            server_events: Vec::new(),
            chunk: 0,
            now: T0,
        }
    }

    /// Moves bytes both ways until neither side has output; collects events.
    pub fn drive(&mut self) {
        for _ in 0..10_000 {
            let a = pump(&mut self.client, &mut self.server, self.chunk, self.now);
            let b = pump(&mut self.server, &mut self.client, self.chunk, self.now);
            self.client_events.extend(drain_events(&mut self.client));
            self.server_events.extend(drain_events(&mut self.server));
            if !a && !b {
                return;
            }
        }
        panic!("pair did not settle");
    }
}

/// Moves `from`'s pending output into `to`; returns whether anything moved.
fn pump(from: &mut Connection, to: &mut Connection, chunk: usize, now: Timestamp) -> bool {
    let mut bytes = Vec::new();
    from.transmit_into(&mut bytes);
    if bytes.is_empty() {
        return false;
    }
    let size = if chunk == 0 { bytes.len() } else { chunk };
    for piece in bytes.chunks(size) {
        to.handle_data(now, piece);
    }
    true
}

/// The request of RFC 6455 §1.2 (with the key of §1.3), plus extra header lines.
pub fn upgrade_request(extra: &str) -> Vec<u8> {
    format!(
        "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
    .into_bytes()
}

/// A server connection waiting for a request.
pub fn fresh_server() -> Connection {
    Connection::server(Config::default(), T0).unwrap()
}

/// A client and a server that completed the opening handshake through the pipe
/// (the server accepting with `accept`), with the `Request` and `Open` events drained.
pub fn handshaken(
    request: wsmachine::ClientRequest,
    accept: wsmachine::Accept,
) -> (Pair, Box<wsmachine::Request>) {
    let client = Connection::client(Config::default(), request, SeededEntropy::new(9), T0)
        .expect("valid request");
    let mut pair = Pair {
        client,
        server: fresh_server(),
        client_events: Vec::new(),
        server_events: Vec::new(),
        chunk: 0,
        now: T0,
    };
    pair.drive();
    let Some(Event::Request(request)) = pair.server_events.pop() else {
        panic!("no request: {:?}", pair.server_events)
    };
    pair.server.accept(T0, accept).expect("accept");
    pair.drive();
    assert!(matches!(pair.server_events.remove(0), Event::Open(_)));
    assert!(matches!(pair.client_events.remove(0), Event::Open(_)));
    (pair, request)
}
