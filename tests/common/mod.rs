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

/// Reads `wire` into `conn` as a socket does: at most 64 KiB at a time, never more
/// than the room offered. After every read each event is polled and handed to
/// `event`.
pub fn read_as_socket(conn: &mut Connection, wire: &[u8], mut event: impl FnMut(Event)) {
    let mut at = 0;
    while at < wire.len() {
        let room = conn.read_buf();
        let n = room.len().min(64 << 10).min(wire.len() - at);
        room[..n].copy_from_slice(&wire[at..at + n]);
        conn.handle_read(Timestamp::ZERO, n);
        at += n;
        while let Some(e) = conn.poll_event() {
            event(e);
        }
    }
}

/// Feeds `data` to `conn`, which must take all of it (nothing waits unpolled).
#[track_caller]
pub fn feed(conn: &mut Connection, now: Timestamp, data: &[u8]) {
    let taken = conn.handle_data(now, data);
    assert_eq!(
        taken,
        data.len(),
        "input refused: events from earlier input wait unpolled"
    );
}

/// Feeds all of `data`, polling events into `events` whenever the connection asks
/// for that before it takes more.
pub fn feed_polling(
    conn: &mut Connection,
    now: Timestamp,
    mut data: &[u8],
    events: &mut Vec<Event>,
) {
    loop {
        let taken = conn.handle_data(now, data);
        data = &data[taken..];
        if data.is_empty() {
            return;
        }
        assert_eq!(taken, 0, "input is taken whole or not at all");
        let before = events.len();
        events.extend(drain_events(conn));
        assert!(events.len() > before, "input refused with no event to poll");
    }
}

/// Feeds all of `data` through the connection's own buffer
/// ([`Connection::read_buf`]), as a caller reading a socket straight into it does,
/// polling events into `events` whenever the buffer offers no room.
pub fn feed_read_buf(
    conn: &mut Connection,
    now: Timestamp,
    mut data: &[u8],
    events: &mut Vec<Event>,
) {
    while !data.is_empty() {
        let room = conn.read_buf();
        if room.is_empty() {
            let before = events.len();
            events.extend(drain_events(conn));
            assert!(
                events.len() > before,
                "no room to read into and no event to poll"
            );
            continue;
        }
        let n = room.len().min(data.len());
        room[..n].copy_from_slice(&data[..n]);
        conn.handle_read(now, n);
        data = &data[n..];
    }
}

/// How a test's caller hands received bytes over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feeding {
    /// `handle_data` with a slice.
    Slice,
    /// A read into `read_buf`, then `handle_read`.
    ReadBuf,
}

/// When a test's caller polls events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Polling {
    /// After every chunk it feeds.
    EveryChunk,
    /// Only once everything is fed (or when the connection takes no more input).
    AtTheEnd,
}

/// Feeds `chunks` in order to a fresh connection from `make`, then drains it.
pub fn feed_chunks(make: &dyn Fn() -> Connection, chunks: &[&[u8]]) -> Outcome {
    feed_chunks_polling(make, chunks, Polling::AtTheEnd, Feeding::Slice)
}

/// Feeds `chunks` in order to a fresh connection from `make`, polling as `polling`
/// says and handing the bytes over as `feeding` says, then drains it.
pub fn feed_chunks_polling(
    make: &dyn Fn() -> Connection,
    chunks: &[&[u8]],
    polling: Polling,
    feeding: Feeding,
) -> Outcome {
    let mut conn = make();
    let mut events = Vec::new();
    for chunk in chunks {
        match feeding {
            Feeding::Slice => feed_polling(&mut conn, T0, chunk, &mut events),
            Feeding::ReadBuf => feed_read_buf(&mut conn, T0, chunk, &mut events),
        }
        if polling == Polling::EveryChunk {
            events.extend(drain_events(&mut conn));
        }
    }
    events.extend(drain_events(&mut conn));
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
/// time; each way polling after every chunk and only at the end, and handing the
/// bytes over as a slice and through the connection's own buffer; and checks that
/// every way gives the same outcome (events, output bytes, state, transport).
/// Returns it.
pub fn feed_at_every_split(make: &dyn Fn() -> Connection, input: &[u8]) -> Outcome {
    let whole = feed_chunks(make, &[input]);
    for feeding in [Feeding::Slice, Feeding::ReadBuf] {
        for polling in [Polling::AtTheEnd, Polling::EveryChunk] {
            let way = format!("polling {polling:?}, feeding {feeding:?}");
            for split in 0..=input.len() {
                let (a, b) = input.split_at(split);
                let split_outcome = feed_chunks_polling(make, &[a, b], polling, feeding);
                assert_eq!(split_outcome, whole, "split at {split}, {way}, differs");
            }
            let bytes: Vec<&[u8]> = input.chunks(1).collect();
            assert_eq!(
                feed_chunks_polling(make, &bytes, polling, feeding),
                whole,
                "byte-by-byte feed, {way}, differs"
            );
        }
    }
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

/// A client and a server joined by an in-memory network, on a virtual clock.
///
/// Bytes move in chunks of at most `chunk` bytes (0: whole) and arrive `latency`
/// after they were written; each side polls its events as they come (into
/// `client_events` / `server_events`), as a caller that follows the driving contract
/// does. [`drive`](Self::drive) only moves bytes, so that a test can look at each
/// transport verdict; [`run_until`](Self::run_until) and [`settle`](Self::settle)
/// also honour the verdicts (a side that says `Shutdown` or `Close` sends its end of
/// stream once its output is out, and after `Close` reads nothing more; `AwaitEof`
/// waits for the other's) and move the clock from event to event: a deadline of
/// either side (`handle_timeout` on both), or bytes arriving. [`cut`](Self::cut)
/// makes the network drop everything from then on, as a dead link does.
pub struct Pair {
    pub client: Connection,
    pub server: Connection,
    pub client_events: Vec<Event>,
    pub server_events: Vec<Event>,
    pub chunk: usize,
    pub now: Timestamp,
    pub latency: core::time::Duration,
    /// [client to server, server to client].
    wires: [Wire; 2],
    cut: bool,
}

/// One direction of the network.
#[derive(Default)]
struct Wire {
    /// Bytes written and when they arrive.
    in_flight: std::collections::VecDeque<(Timestamp, Vec<u8>)>,
    /// When the sender's end of stream arrives, once it sent it.
    fin_at: Option<Timestamp>,
    fin_delivered: bool,
}

impl Wire {
    /// When something next arrives.
    fn next_arrival(&self) -> Option<Timestamp> {
        let fin = self.fin_at.filter(|_| !self.fin_delivered);
        self.in_flight.front().map(|(at, _)| *at).or(fin)
    }
}

impl Pair {
    pub fn new() -> Pair {
        Pair::with_configs(Config::default(), Config::default())
    }

    pub fn with_configs(client: Config, server: Config) -> Pair {
        Pair::of(client_with(client), server_with(server))
    }

    /// Two connections made elsewhere (in any state).
    pub fn of(client: Connection, server: Connection) -> Pair {
        Pair {
            client,
            server,
            client_events: Vec::new(),
            server_events: Vec::new(),
            chunk: 0,
            now: T0,
            latency: core::time::Duration::ZERO,
            wires: [Wire::default(), Wire::default()],
            cut: false,
        }
    }

    /// From now on the network delivers nothing, in either direction.
    pub fn cut(&mut self) {
        self.cut = true;
        self.wires = [Wire::default(), Wire::default()];
    }

    /// Moves bytes both ways, polling events, until nothing more moves at this
    /// instant. The clock stands still and the transports stay open.
    pub fn drive(&mut self) {
        self.exchange(false);
    }

    /// Like [`drive`](Self::drive), and each side that the verdict says is done
    /// sends its end of stream.
    pub fn drive_to_end(&mut self) {
        self.exchange(true);
    }

    fn exchange(&mut self, verdicts: bool) {
        for _ in 0..10_000 {
            self.client_events.extend(drain_events(&mut self.client));
            self.server_events.extend(drain_events(&mut self.server));
            let a = self.pump(true, verdicts);
            let b = self.pump(false, verdicts);
            if !a && !b {
                return;
            }
        }
        panic!("pair did not settle");
    }

    /// Drives both sides and moves the clock from event to event (a deadline, bytes
    /// arriving) until `until`, where the clock stops.
    pub fn run_until(&mut self, until: Timestamp) {
        for _ in 0..100_000 {
            self.drive_to_end();
            let next = [
                self.client.poll_timeout(),
                self.server.poll_timeout(),
                self.wires[0].next_arrival(),
                self.wires[1].next_arrival(),
            ]
            .into_iter()
            .flatten()
            .min();
            match next {
                Some(at) if at <= until => {
                    self.now = self.now.max(at);
                    self.client.handle_timeout(self.now);
                    self.server.handle_timeout(self.now);
                }
                _ => {
                    self.now = self.now.max(until);
                    self.drive_to_end();
                    return;
                }
            }
        }
        panic!("deadlines kept firing before {until:?}");
    }

    /// Runs for `limit` of virtual time, after which both transports must be closed.
    pub fn settle(&mut self, limit: core::time::Duration) {
        let until = self.now + limit;
        self.run_until(until);
        assert_eq!(
            self.client.transport(),
            TransportAction::Close,
            "client not done"
        );
        assert_eq!(
            self.server.transport(),
            TransportAction::Close,
            "server not done"
        );
    }

    /// Puts the client's (`from_client`) or the server's output on the wire, then
    /// (with `verdicts`) its end of stream if its verdict says so, and delivers to the
    /// other side what has arrived; returns whether anything moved.
    fn pump(&mut self, from_client: bool, verdicts: bool) -> bool {
        let (now, chunk, arrive) = (self.now, self.chunk, self.now + self.latency);
        let wire = &mut self.wires[usize::from(!from_client)];
        let (from, to, events) = if from_client {
            (&mut self.client, &mut self.server, &mut self.server_events)
        } else {
            (&mut self.server, &mut self.client, &mut self.client_events)
        };
        let mut moved = false;
        let mut bytes = Vec::new();
        from.transmit_into(&mut bytes);
        if !bytes.is_empty() {
            moved = true;
            if !self.cut {
                wire.in_flight.push_back((arrive, bytes));
            }
        }
        let done = matches!(
            from.transport(),
            TransportAction::Shutdown | TransportAction::Close
        );
        if verdicts && done && wire.fin_at.is_none() && !self.cut {
            wire.fin_at = Some(arrive);
            moved = true;
        }
        while wire.in_flight.front().is_some_and(|(at, _)| *at <= now) {
            let (_, bytes) = wire.in_flight.pop_front().unwrap();
            moved = true;
            // After `Close` the receiving side reads nothing more.
            if to.transport() != TransportAction::Close {
                let size = if chunk == 0 { bytes.len() } else { chunk };
                for piece in bytes.chunks(size) {
                    feed_polling(to, now, piece, events);
                }
            }
        }
        if wire.in_flight.is_empty()
            && wire.fin_at.is_some_and(|at| at <= now)
            && !wire.fin_delivered
        {
            wire.fin_delivered = true;
            moved = true;
            if to.transport() != TransportAction::Close {
                to.handle_eof(now);
            }
        }
        moved
    }
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

/// A client connection that has queued its request to `h`.
pub fn fresh_client() -> Connection {
    let request = wsmachine::ClientRequest::new("h", "/");
    Connection::client(Config::default(), request, SeededEntropy::new(1), T0).unwrap()
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
    let mut pair = Pair::of(client, fresh_server());
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
