//! Shared pieces of the fuzz targets: an operation language for driving a
//! `Connection`, and the invariants checked after every operation.

use arbitrary::Arbitrary;
use core::time::Duration;
use wsmachine::frame::{Frame, FrameDecoder, OpCode};
use wsmachine::{
    CloseCode, Config, Connection, Event, MessageKind, Negotiated, Role, SeededEntropy, SendError,
    State, Timestamp, TransportAction,
};

/// One thing that can happen to a connection.
#[derive(Arbitrary, Debug)]
pub enum Op {
    /// Raw bytes from the peer.
    Bytes(Vec<u8>),
    /// Raw bytes from the peer, read into the connection's own buffer (as much as
    /// it offers room for).
    Read(Vec<u8>),
    /// A frame from the peer; `fix` repairs masking and control-frame rules so that
    /// most frames go past the header checks and reach deeper states.
    Frame {
        frame: Frame,
        fix: bool,
    },
    SendText(String),
    SendBinary(Vec<u8>),
    Fragment {
        text: bool,
        data: Vec<u8>,
        last: bool,
    },
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close {
        code: u16,
        reason: String,
    },
    /// Time passes (milliseconds).
    Advance(u16),
    Timeout,
    Eof,
    /// The transport takes this many bytes of output.
    Write(u16),
    /// The application drains its events.
    Poll,
}

/// A configuration with small limits and all timers, so that fuzzing reaches them.
#[derive(Arbitrary, Debug)]
pub struct Setup {
    pub max_frame: u16,
    pub max_message: u16,
    pub max_fragments: u8,
    pub max_output: u16,
    pub auto_pong: bool,
    pub streamed: bool,
    pub ping_ms: Option<u8>,
    pub idle_ms: Option<u16>,
    pub write_ms: Option<u16>,
}

impl Setup {
    pub fn config(&self) -> Config {
        let mut c = Config::default();
        c.max_frame_size = Some(u64::from(self.max_frame));
        c.max_message_size = u64::from(self.max_message);
        c.max_fragments = u32::from(self.max_fragments).max(1);
        c.max_buffered_output = usize::from(self.max_output);
        c.auto_pong = self.auto_pong;
        if self.streamed {
            c.delivery = wsmachine::Delivery::Streamed;
        }
        c.ping_interval = self
            .ping_ms
            .map(|ms| Duration::from_millis(u64::from(ms) + 1));
        c.idle_timeout = self
            .idle_ms
            .map(|ms| Duration::from_millis(u64::from(ms) + 1));
        c.write_timeout = self
            .write_ms
            .map(|ms| Duration::from_millis(u64::from(ms) + 1));
        c.close_timeout = Some(Duration::from_millis(500));
        c
    }
}

fn rank(state: State) -> u8 {
    match state {
        State::Connecting => 0,
        State::Open => 1,
        State::Closing => 2,
        State::Closed => 3,
    }
}

/// Runs `ops` against an upgraded connection in `role`, checking the invariants
/// after each one.
pub fn run_ops(role: Role, setup: &Setup, ops: Vec<Op>) {
    let config = setup.config();
    let limit = config.max_buffered_output;
    let mut conn = match role {
        Role::Server => {
            Connection::upgraded_server(config, Negotiated::none(), &[], Timestamp::ZERO).unwrap()
        }
        Role::Client => Connection::upgraded_client(
            config,
            Negotiated::none(),
            SeededEntropy::new(1),
            &[],
            Timestamp::ZERO,
        )
        .unwrap(),
    };
    let mut now = Timestamp::ZERO;
    let mut peer = Peer::new(role);
    let mut closed_events = 0;
    let mut state = conn.state();
    for op in ops {
        let before = conn.state();
        let buffered_before = conn.buffered_amount();
        let result: Option<Result<(), SendError>> = match op {
            Op::Bytes(b) => {
                take(&mut conn, now, &b);
                None
            }
            Op::Read(b) => {
                let room = conn.read_buf();
                let n = room.len().min(b.len());
                room[..n].copy_from_slice(&b[..n]);
                conn.handle_read(now, n);
                None
            }
            Op::Frame { frame, fix } => {
                take(&mut conn, now, &peer_frame(frame, fix, role));
                None
            }
            Op::SendText(s) => Some(conn.send_text(s)),
            Op::SendBinary(b) => Some(conn.send_binary(b)),
            Op::Fragment { text, data, last } => {
                let kind = if text {
                    MessageKind::Text
                } else {
                    MessageKind::Binary
                };
                Some(conn.send_fragment(kind, data, last))
            }
            Op::Ping(p) => Some(conn.ping(now, p)),
            Op::Pong(p) => Some(conn.pong(p)),
            Op::Close { code, reason } => Some(conn.close(now, CloseCode(code), &reason)),
            Op::Advance(ms) => {
                now = now + Duration::from_millis(u64::from(ms));
                None
            }
            Op::Timeout => {
                conn.handle_timeout(now);
                if let Some(next) = conn.poll_timeout() {
                    assert!(
                        next > now,
                        "a deadline at or before now survived handle_timeout"
                    );
                }
                None
            }
            Op::Eof => {
                conn.handle_eof(now);
                None
            }
            Op::Write(n) => {
                let n = usize::from(n).min(conn.buffered_amount());
                let mut chunks = [&[][..]; 8];
                let used = conn.transmit_vectored(&mut chunks);
                let mut taken = Vec::new();
                for c in &chunks[..used] {
                    taken.extend_from_slice(c);
                }
                let n = n.min(taken.len());
                peer.receive(&taken[..n]);
                conn.advance_transmit(n);
                None
            }
            Op::Poll => {
                while let Some(event) = conn.poll_event() {
                    assert_eq!(closed_events, 0, "an event after Closed: {event:?}");
                    if let Event::Closed(_) = event {
                        closed_events += 1;
                    }
                    if let Event::Message(wsmachine::Message::Text(t)) = &event {
                        assert!(core::str::from_utf8(t.as_bytes()).is_ok());
                    }
                }
                None
            }
        };
        // A refused command changes nothing; an accepted one needs an OPEN connection.
        match result {
            Some(Ok(())) => assert!(
                matches!(before, State::Open),
                "a command succeeded in state {before:?}"
            ),
            Some(Err(e)) => {
                assert_eq!(conn.state(), before, "a refused command changed the state");
                assert_eq!(
                    conn.buffered_amount(),
                    buffered_before,
                    "a refused command queued {e:?}"
                );
            }
            None => {}
        }
        // States only move forward.
        let after = conn.state();
        assert!(rank(after) >= rank(state), "{state:?} -> {after:?}");
        state = after;
        if after == State::Closed {
            assert_ne!(conn.transport(), TransportAction::Keep);
        }
        // Output stays bounded: the limit, plus what the connection queues on its own
        // beyond it: one pong waiting, one pong partly written, one close frame (each
        // at most 14 + 125 bytes).
        assert!(
            conn.buffered_amount() <= limit + 3 * 139,
            "output {} over the limit {limit}",
            conn.buffered_amount()
        );
    }
    // Whatever is left goes to the peer, which must be able to parse all of it.
    let mut rest = Vec::new();
    conn.transmit_into(&mut rest);
    peer.receive(&rest);
}

/// Feeds bytes as a caller that may not have polled: the connection takes them
/// whole, or (while earlier input waits for its events to be polled) not at all.
fn take(conn: &mut Connection, now: Timestamp, bytes: &[u8]) {
    let taken = conn.handle_data(now, bytes);
    assert!(
        taken == bytes.len() || taken == 0,
        "took {taken} of {} bytes",
        bytes.len()
    );
}

/// Feeds all of `bytes` as a caller that follows the driving contract: when the
/// connection takes nothing more, it polls the events (into `events`) and feeds
/// the rest again.
pub fn feed_all(conn: &mut Connection, now: Timestamp, mut bytes: &[u8], events: &mut Vec<Event>) {
    while !bytes.is_empty() {
        let taken = conn.handle_data(now, bytes);
        bytes = &bytes[taken..];
        if taken == 0 {
            let before = events.len();
            events.extend(std::iter::from_fn(|| conn.poll_event()));
            assert!(events.len() > before, "input refused with nothing to poll");
        }
    }
}

/// The peer's view of our output: it must decode as valid frames for its role, with
/// at most one close frame and nothing after it.
struct Peer {
    decoder: FrameDecoder,
    sender: Role,
    closed: bool,
}

impl Peer {
    fn new(sender: Role) -> Peer {
        Peer {
            decoder: FrameDecoder::new(u64::MAX),
            sender,
            closed: false,
        }
    }

    fn receive(&mut self, mut bytes: &[u8]) {
        while let Some(frame) = self
            .decoder
            .decode(&mut bytes)
            .expect("output must be valid frames")
        {
            assert!(
                !self.closed,
                "a frame after our close frame: {:?}",
                frame.header
            );
            assert_eq!(
                frame.header.mask.is_some(),
                self.sender == Role::Client,
                "clients mask every frame, servers none"
            );
            assert_eq!(frame.header.rsv, 0);
            if frame.header.opcode == OpCode::Close {
                self.closed = true;
                if frame.payload.len() >= 2 {
                    let code = u16::from_be_bytes([frame.payload[0], frame.payload[1]]);
                    assert!(CloseCode(code).is_sendable(), "sent close code {code}");
                    assert!(core::str::from_utf8(&frame.payload[2..]).is_ok());
                } else {
                    assert!(frame.payload.is_empty());
                }
            }
        }
    }
}

/// Encodes a frame as the peer of `receiver` sends it, optionally repaired.
pub fn peer_frame(mut frame: Frame, fix: bool, receiver: Role) -> Vec<u8> {
    if fix {
        frame.header.rsv = 0;
        frame.header.mask = match receiver {
            Role::Server => Some(frame.header.mask.unwrap_or([1, 2, 3, 4])),
            Role::Client => None,
        };
        if frame.header.opcode.is_control() {
            frame.header.fin = true;
            frame.payload.truncate(125);
        }
    }
    let mut out = Vec::new();
    frame.encode(&mut out);
    out
}
