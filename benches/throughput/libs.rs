//! Each library doing each workload the way its users would, through the same
//! socket stand-in. Every function returns what it saw (a digest) and the time its
//! work took (connection set-up for the broadcast excluded).

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};

use crate::cases::{Case, Digest, Dir};
use crate::socket::Socket;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lib {
    Wsmachine,
    Tungstenite,
    Fastwebsockets,
    TokioWebsockets,
}

impl Lib {
    pub const ALL: [Lib; 4] = [
        Lib::Wsmachine,
        Lib::Tungstenite,
        Lib::Fastwebsockets,
        Lib::TokioWebsockets,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Lib::Wsmachine => "wsmachine",
            Lib::Tungstenite => "tungstenite",
            Lib::Fastwebsockets => "fastwebsockets",
            Lib::TokioWebsockets => "tokio-websockets",
        }
    }

    pub fn by_name(name: &str) -> Lib {
        *Lib::ALL
            .iter()
            .find(|l| l.name() == name)
            .unwrap_or_else(|| panic!("no library {name}"))
    }
}

/// The prepared inputs of a case.
pub struct Prepared {
    pub payload: Bytes,
    /// Masked client frames (receive cases).
    pub frames: Vec<u8>,
}

/// One run of `case` by `lib`. With `check`, payloads are hashed whole (and what a
/// send wrote is decoded and hashed), for comparing with [`Digest::expected`].
pub fn run(
    lib: Lib,
    case: &Case,
    input: &Prepared,
    rt: &tokio::runtime::Runtime,
    check: bool,
) -> (Digest, Duration) {
    match (case.dir, lib) {
        (Dir::Receive, Lib::Wsmachine) => ours::receive(case, &input.frames, check),
        (Dir::Receive, Lib::Tungstenite) => tung::receive(case, &input.frames, check),
        (Dir::Receive, Lib::Fastwebsockets) => {
            rt.block_on(fast::receive(case, &input.frames, check))
        }
        (Dir::Receive, Lib::TokioWebsockets) => {
            rt.block_on(tws::receive(case, &input.frames, check))
        }
        (Dir::Send { client }, lib) => {
            let mut socket = Socket::writing(check);
            let started = Instant::now();
            match lib {
                Lib::Wsmachine => ours::send(case, client, &input.payload, &mut socket),
                Lib::Tungstenite => tung::send(case, client, &input.payload, &mut socket),
                Lib::Fastwebsockets => {
                    rt.block_on(fast::send(case, client, &input.payload, &mut socket))
                }
                Lib::TokioWebsockets => {
                    rt.block_on(tws::send(case, client, &input.payload, &mut socket))
                }
            }
            let elapsed = started.elapsed();
            (sent_digest(case, client, &socket, check), elapsed)
        }
        (Dir::Broadcast { connections }, lib) => {
            let mut socket = Socket::writing(check);
            let elapsed = match lib {
                Lib::Wsmachine => ours::broadcast(connections, &input.payload, &mut socket),
                Lib::Tungstenite => tung::broadcast(connections, &input.payload, &mut socket),
                Lib::Fastwebsockets => {
                    rt.block_on(fast::broadcast(connections, &input.payload, &mut socket))
                }
                Lib::TokioWebsockets => {
                    rt.block_on(tws::broadcast(connections, &input.payload, &mut socket))
                }
            };
            (sent_digest(case, false, &socket, check), elapsed)
        }
    }
}

/// What a send wrote: with `check`, the frames decoded (masked exactly when a client
/// sent them) and their payloads hashed; without, the byte count alone.
fn sent_digest(case: &Case, client: bool, socket: &Socket<'_>, check: bool) -> Digest {
    let mut d = Digest::new();
    let Some(kept) = &socket.kept else {
        d.bytes = black_box(socket.written);
        return d;
    };
    let mut decoder = wsmachine::frame::FrameDecoder::new(u64::MAX);
    let mut input = &kept[..];
    while let Some(frame) = decoder.decode(&mut input).expect("valid frames") {
        assert_eq!(
            frame.header.mask.is_some(),
            client,
            "masking of {}",
            case.name
        );
        assert!(frame.header.fin, "one frame per message");
        d.add(&frame.payload, check);
    }
    assert!(input.is_empty());
    d
}

fn max_message(case: &Case) -> usize {
    (case.size * 2).max(1 << 20)
}

/// wsmachine: the sans-I/O connection, driven as a socket loop drives it.
mod ours {
    use super::*;
    use wsmachine::{
        Config, Connection, Event, Message, Negotiated, OsEntropy, Prepared, Text, Timestamp,
    };

    const T: Timestamp = Timestamp::ZERO;

    fn config(case: &Case) -> Config {
        let mut config = Config::default();
        config.max_message_size = max_message(case) as u64;
        config.max_buffered_output = 64 << 20;
        config
    }

    pub fn receive(case: &Case, frames: &[u8], check: bool) -> (Digest, Duration) {
        let started = Instant::now();
        let mut conn =
            Connection::upgraded_server(config(case), Negotiated::none(), &[], T).unwrap();
        let mut socket = Socket::reading(frames);
        let mut d = Digest::new();
        while !socket.exhausted() {
            // Straight into the connection's own buffer: the read is the only copy.
            let n = socket.recv(conn.read_buf());
            conn.handle_read(T, n);
            while let Some(event) = conn.poll_event() {
                if let Event::Message(m) = event {
                    d.add(m.as_bytes(), check);
                }
            }
        }
        (d, started.elapsed())
    }

    fn message(case: &Case, payload: &Bytes) -> Message {
        if case.text() {
            // Validated once, as an application holding a string would have it.
            Message::Text(Text::try_from(payload.clone()).unwrap())
        } else {
            Message::Binary(payload.clone().into())
        }
    }

    /// Writes all pending output with vectored writes, as a socket loop would.
    fn drain(conn: &mut Connection, socket: &mut Socket<'_>) {
        while conn.buffered_amount() > 0 {
            let mut slices = [&[][..]; 16];
            let n = conn.transmit_vectored(&mut slices);
            let io: [std::io::IoSlice<'_>; 16] =
                std::array::from_fn(|i| std::io::IoSlice::new(slices[i]));
            let written = std::io::Write::write_vectored(socket, &io[..n]).unwrap();
            conn.advance_transmit(written);
        }
    }

    pub fn send(case: &Case, client: bool, payload: &Bytes, socket: &mut Socket<'_>) {
        let mut conn = if client {
            Connection::upgraded_client(config(case), Negotiated::none(), OsEntropy::new(), &[], T)
                .unwrap()
        } else {
            Connection::upgraded_server(config(case), Negotiated::none(), &[], T).unwrap()
        };
        let message = message(case, payload);
        // What an application sending borrowed text holds: a `&str` (`Text::as_str`
        // would check the bytes again at every call).
        let text = case.text().then(|| std::str::from_utf8(payload).unwrap());
        for _ in 0..case.count {
            // A small message is copied straight into the output buffer from the
            // caller's bytes (no allocation, no reference count); a large one is
            // passed through as the caller's own buffer.
            if case.per_message() {
                match text {
                    Some(text) => conn.send_text_copied(text).unwrap(),
                    None => conn.send_binary_copied(payload).unwrap(),
                }
            } else {
                conn.send(message.clone()).unwrap();
            }
            if conn.buffered_amount() >= 256 << 10 {
                drain(&mut conn, socket);
            }
        }
        drain(&mut conn, socket);
    }

    pub fn broadcast(connections: usize, payload: &Bytes, socket: &mut Socket<'_>) -> Duration {
        let mut conns: Vec<Connection> = (0..connections)
            .map(|_| {
                Connection::upgraded_server(Config::default(), Negotiated::none(), &[], T).unwrap()
            })
            .collect();
        let text = Message::Text(Text::try_from(payload.clone()).unwrap());
        let started = Instant::now();
        // Framed once; each connection queues it at the cost of a reference count.
        let prepared = Prepared::new(text);
        for conn in &mut conns {
            conn.send_prepared(&prepared).unwrap();
            drain(conn, socket);
        }
        started.elapsed()
    }
}

/// tungstenite: a `WebSocket` over the socket stand-in.
mod tung {
    use super::*;
    use tungstenite::protocol::{Role, WebSocketConfig};
    use tungstenite::{Message, Utf8Bytes, WebSocket};

    fn config(case: &Case) -> WebSocketConfig {
        let mut config = WebSocketConfig::default();
        config.max_message_size = Some(max_message(case));
        config.max_frame_size = Some(max_message(case));
        config
    }

    pub fn receive(case: &Case, frames: &[u8], check: bool) -> (Digest, Duration) {
        let started = Instant::now();
        let mut ws =
            WebSocket::from_raw_socket(Socket::reading(frames), Role::Server, Some(config(case)));
        let mut d = Digest::new();
        for _ in 0..case.count {
            match ws.read().expect("tungstenite read") {
                Message::Text(t) => d.add(t.as_bytes(), check),
                Message::Binary(b) => d.add(&b, check),
                other => panic!("{other:?}"),
            }
        }
        (d, started.elapsed())
    }

    fn message(case: &Case, payload: &Bytes) -> Message {
        if case.text() {
            Message::Text(Utf8Bytes::try_from(payload.clone()).unwrap())
        } else {
            Message::Binary(payload.clone())
        }
    }

    pub fn send(case: &Case, client: bool, payload: &Bytes, socket: &mut Socket<'_>) {
        let role = if client { Role::Client } else { Role::Server };
        let mut ws = WebSocket::from_raw_socket(socket, role, Some(config(case)));
        let message = message(case, payload);
        for _ in 0..case.count {
            ws.write(message.clone()).unwrap();
        }
        ws.flush().unwrap();
    }

    pub fn broadcast(connections: usize, payload: &Bytes, socket: &mut Socket<'_>) -> Duration {
        let keep = socket.kept.is_some();
        let mut conns: Vec<WebSocket<Socket<'static>>> = (0..connections)
            .map(|_| WebSocket::from_raw_socket(Socket::writing(keep), Role::Server, None))
            .collect();
        let text = Message::Text(Utf8Bytes::try_from(payload.clone()).unwrap());
        let started = Instant::now();
        for ws in &mut conns {
            ws.send(text.clone()).unwrap();
        }
        let elapsed = started.elapsed();
        socket.written = conns.iter().map(|ws| ws.get_ref().written).sum();
        keep_all(socket, conns.iter().map(|ws| ws.get_ref()));
        elapsed
    }
}

/// Adds what each connection's own socket wrote to `socket`, for the check.
fn keep_all<'s>(socket: &mut Socket<'_>, each: impl Iterator<Item = &'s Socket<'static>>) {
    if let Some(kept) = &mut socket.kept {
        for s in each {
            kept.extend_from_slice(s.kept.as_deref().unwrap_or_default());
        }
    }
}

/// fastwebsockets: `WebSocket` with a `FragmentCollector` for whole messages.
mod fast {
    use super::*;
    use fastwebsockets::{FragmentCollector, Frame, OpCode, Payload, Role, WebSocket};

    pub async fn receive(case: &Case, frames: &[u8], check: bool) -> (Digest, Duration) {
        let started = Instant::now();
        let mut ws = WebSocket::after_handshake(Socket::reading(frames), Role::Server);
        ws.set_max_message_size(max_message(case));
        let mut ws = FragmentCollector::new(ws);
        let mut d = Digest::new();
        for _ in 0..case.count {
            let frame = ws.read_frame().await.expect("fastwebsockets read");
            d.add(&frame.payload, check);
        }
        (d, started.elapsed())
    }

    fn opcode(case: &Case) -> OpCode {
        if case.text() {
            OpCode::Text
        } else {
            OpCode::Binary
        }
    }

    pub async fn send(case: &Case, client: bool, payload: &Bytes, socket: &mut Socket<'_>) {
        let role = if client { Role::Client } else { Role::Server };
        let mut ws = WebSocket::after_handshake(socket, role);
        ws.set_writev(false);
        for _ in 0..case.count {
            // Borrowed: a server sends it as it is; a client's masking makes the one
            // copy it needs.
            let frame = Frame::new(true, opcode(case), None, Payload::Borrowed(payload));
            ws.write_frame(frame).await.unwrap();
        }
    }

    pub async fn broadcast(
        connections: usize,
        payload: &Bytes,
        socket: &mut Socket<'_>,
    ) -> Duration {
        let keep = socket.kept.is_some();
        let mut conns: Vec<WebSocket<Socket<'static>>> = (0..connections)
            .map(|_| WebSocket::after_handshake(Socket::writing(keep), Role::Server))
            .collect();
        let started = Instant::now();
        for ws in &mut conns {
            let frame = Frame::new(true, OpCode::Text, None, Payload::Borrowed(payload));
            ws.write_frame(frame).await.unwrap();
        }
        let elapsed = started.elapsed();
        let sockets: Vec<Socket<'static>> = conns.into_iter().map(WebSocket::into_inner).collect();
        socket.written = sockets.iter().map(|s| s.written).sum();
        keep_all(socket, sockets.iter());
        elapsed
    }
}

/// tokio-websockets: `WebSocketStream` as a `Stream` and a `Sink`.
mod tws {
    use super::*;
    use tokio_websockets::{ClientBuilder, Limits, Message, ServerBuilder, WebSocketStream};

    pub async fn receive(case: &Case, frames: &[u8], check: bool) -> (Digest, Duration) {
        let started = Instant::now();
        let limits = Limits::default().max_payload_len(Some(max_message(case)));
        let mut ws = ServerBuilder::new()
            .limits(limits)
            .serve(Socket::reading(frames));
        let mut d = Digest::new();
        for _ in 0..case.count {
            let message = ws
                .next()
                .await
                .expect("a message")
                .expect("tokio-websockets read");
            d.add(message.as_payload(), check);
        }
        (d, started.elapsed())
    }

    fn message(case: &Case, payload: &Bytes) -> Message {
        if case.text() {
            Message::text(payload.clone())
        } else {
            Message::binary(payload.clone())
        }
    }

    pub async fn send(case: &Case, client: bool, payload: &Bytes, socket: &mut Socket<'_>) {
        let mut ws: WebSocketStream<&mut Socket<'_>> = if client {
            ClientBuilder::new().take_over(socket)
        } else {
            ServerBuilder::new().serve(socket)
        };
        let message = message(case, payload);
        for _ in 0..case.count {
            ws.feed(message.clone()).await.unwrap();
        }
        ws.flush().await.unwrap();
    }

    pub async fn broadcast(
        connections: usize,
        payload: &Bytes,
        socket: &mut Socket<'_>,
    ) -> Duration {
        let keep = socket.kept.is_some();
        let mut conns: Vec<WebSocketStream<Socket<'static>>> = (0..connections)
            .map(|_| ServerBuilder::new().serve(Socket::writing(keep)))
            .collect();
        let text = Message::text(payload.clone());
        let started = Instant::now();
        for ws in &mut conns {
            ws.send(text.clone()).await.unwrap();
        }
        let elapsed = started.elapsed();
        socket.written = conns.iter().map(|ws| ws.get_ref().written).sum();
        keep_all(socket, conns.iter().map(|ws| ws.get_ref()));
        elapsed
    }
}
