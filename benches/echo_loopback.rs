//! Echo round trips over loopback TCP: wsmachine's echo server next to a
//! tungstenite and a tokio-websockets echo server, under one load generator.
//!
//! ```text
//! cargo bench --bench echo_loopback
//! ```
//!
//! Each server runs in a process of its own (this binary in a server mode), one at
//! a time, on 127.0.0.1. The load generator is the same for all: plain TCP sockets
//! with masked frames prepared in advance and a minimal frame reader, so that no
//! client library's costs fall on one server more than another. Two loads:
//!
//! - 64 connections, each sending a 32-byte text message and waiting for its echo,
//!   in a closed loop: messages per second and the p50 and p99 round-trip times;
//! - 4 connections doing the same with 1 MiB binary messages: MB/s echoed.
//!
//! The servers: `wsmachine` is the blocking glue with a thread per connection, as
//! `examples/echo_server` runs it; `wsmachine-tokio` drives the sans-I/O connection
//! from tokio, as `examples/tokio_echo` does; `tungstenite` a thread per connection;
//! `tokio-websockets` a tokio task per connection. All with default settings.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use wsmachine::frame::{FrameHeader, OpCode};

const SERVERS: [&str; 4] = [
    "wsmachine",
    "wsmachine-tokio",
    "tungstenite",
    "tokio-websockets",
];
const SMALL_CONNECTIONS: usize = 64;
const LARGE_CONNECTIONS: usize = 4;
const RUN: Duration = Duration::from_secs(3);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|a| a == "--bench") {
        return;
    }
    if let Some(at) = args.iter().position(|a| a == "--serve") {
        serve(&args[at + 1]);
        return;
    }
    println!("# echo round trips over loopback TCP\n");
    println!(
        "{SMALL_CONNECTIONS} connections in a closed loop of 32-byte text messages, and \
         {LARGE_CONNECTIONS} of 1 MiB binary messages, {} s each; the load generator and \
         the server share the machine's cores.\n",
        RUN.as_secs()
    );
    println!("| server | 32 B messages/s | p50 | p99 | 1 MiB MB/s |");
    println!("|---|---|---|---|---|");
    for server in SERVERS {
        let (mut child, addr) = start(server);
        let small = load(&addr, SMALL_CONNECTIONS, 32, OpCode::Text);
        let large = load(&addr, LARGE_CONNECTIONS, 1 << 20, OpCode::Binary);
        let _ = child.kill();
        let _ = child.wait();
        println!(
            "| {server} | {:.0} | {:.0} µs | {:.0} µs | {:.0} |",
            small.messages as f64 / small.elapsed.as_secs_f64(),
            small.percentile(50.0).as_secs_f64() * 1e6,
            small.percentile(99.0).as_secs_f64() * 1e6,
            large.messages as f64 * (1 << 20) as f64 / large.elapsed.as_secs_f64() / 1e6,
        );
    }
}

/// Starts this binary as `server` on a free port; returns it and its address.
fn start(server: &str) -> (Child, String) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--bench", "--serve", server])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut stdout = child.stdout.take().unwrap();
    let mut byte = [0u8; 1];
    while !line.ends_with('\n') {
        stdout.read_exact(&mut byte).unwrap();
        line.push(byte[0] as char);
    }
    (child, line.trim().to_string())
}

// ---- the load generator ---------------------------------------------------------

struct Outcome {
    messages: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Outcome {
    fn percentile(&self, p: f64) -> Duration {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        let at = ((sorted.len() as f64 * p / 100.0) as usize).min(sorted.len().saturating_sub(1));
        sorted.get(at).copied().unwrap_or_default()
    }
}

/// `connections` clients, each sending a message of `size` bytes and reading its
/// echo back, over and over, for `RUN`.
fn load(addr: &str, connections: usize, size: usize, opcode: OpCode) -> Outcome {
    let stop = Arc::new(AtomicBool::new(false));
    let barrier = Arc::new(Barrier::new(connections + 1));
    let workers: Vec<_> = (0..connections)
        .map(|i| {
            let (addr, stop, barrier) = (addr.to_string(), Arc::clone(&stop), Arc::clone(&barrier));
            std::thread::spawn(move || client(&addr, i, size, opcode, &stop, &barrier))
        })
        .collect();
    barrier.wait();
    let started = Instant::now();
    std::thread::sleep(RUN);
    stop.store(true, Ordering::Relaxed);
    let mut outcome = Outcome {
        messages: 0,
        elapsed: started.elapsed(),
        latencies: Vec::new(),
    };
    for w in workers {
        let latencies = w.join().unwrap();
        outcome.messages += latencies.len();
        outcome.latencies.extend(latencies);
    }
    outcome
}

fn client(
    addr: &str,
    n: usize,
    size: usize,
    opcode: OpCode,
    stop: &AtomicBool,
    barrier: &Barrier,
) -> Vec<Duration> {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_nodelay(true).unwrap();
    handshake(&mut stream);
    let payload: Vec<u8> = (0..size).map(|i| b'a' + ((i + n) % 26) as u8).collect();
    let mut header = FrameHeader::new(opcode, size as u64);
    header.mask = Some([0x11, 0x22, 0x33, 0x44]);
    let mut frame = Vec::new();
    header.encode_to_vec(&mut frame);
    let at = frame.len();
    frame.extend_from_slice(&payload);
    wsmachine::mask::apply_mask(&mut frame[at..], [0x11, 0x22, 0x33, 0x44], 0);
    let echo_len = FrameHeader::new(opcode, size as u64).encoded_len() + size;
    let mut echo = vec![0u8; echo_len];
    let mut latencies = Vec::new();
    barrier.wait();
    while !stop.load(Ordering::Relaxed) {
        let sent = Instant::now();
        stream.write_all(&frame).unwrap();
        stream.read_exact(&mut echo).unwrap();
        latencies.push(sent.elapsed());
        assert_eq!(&echo[echo_len - size..], &payload[..], "echoed as sent");
    }
    latencies
}

/// The opening handshake, by hand: the request, then the response head.
fn handshake(stream: &mut TcpStream) {
    stream
        .write_all(
            b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        )
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
}

// ---- the servers ----------------------------------------------------------------

fn serve(server: &str) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    println!("{}", listener.local_addr().unwrap());
    match server {
        "wsmachine" => {
            for stream in listener.incoming() {
                let stream = stream.unwrap();
                std::thread::spawn(move || {
                    let Ok(mut ws) = wsmachine::blocking::accept(stream) else {
                        return;
                    };
                    while let Ok(message) = ws.read() {
                        if ws.send(message).is_err() {
                            return;
                        }
                    }
                });
            }
        }
        "wsmachine-tokio" => tokio_runtime().block_on(wsmachine_tokio(listener)),
        "tungstenite" => {
            for stream in listener.incoming() {
                let stream = stream.unwrap();
                std::thread::spawn(move || {
                    stream.set_nodelay(true).unwrap();
                    let Ok(mut ws) = tungstenite::accept(stream) else {
                        return;
                    };
                    while let Ok(message) = ws.read() {
                        if (message.is_text() || message.is_binary()) && ws.send(message).is_err() {
                            return;
                        }
                    }
                    // After an error, a flush sends anything still queued. (For a
                    // protocol error tungstenite queues no close frame: the prober
                    // sees the connection dropped without one.)
                    let _ = ws.flush();
                });
            }
        }
        "tokio-websockets" => tokio_runtime().block_on(tokio_websockets_echo(listener)),
        other => panic!("no server {other}"),
    }
}

fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn tokio_websockets_echo(listener: TcpListener) {
    use futures_util::{SinkExt, StreamExt};
    listener.set_nonblocking(true).unwrap();
    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
    loop {
        let (stream, _) = listener.accept().await.unwrap();
        tokio::spawn(async move {
            stream.set_nodelay(true).unwrap();
            let Ok((_, mut ws)) = tokio_websockets::ServerBuilder::new().accept(stream).await
            else {
                return;
            };
            while let Some(Ok(message)) = ws.next().await {
                if (message.is_text() || message.is_binary()) && ws.send(message).await.is_err() {
                    return;
                }
            }
            // After a protocol error, polling on lets the close frame it queued go out.
            for _ in 0..4 {
                if ws.next().await.is_none() {
                    break;
                }
            }
        });
    }
}

/// The sans-I/O connection driven from tokio: read into its buffer, poll, write.
async fn wsmachine_tokio(listener: TcpListener) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use wsmachine::{Accept, Clock, Config, Connection, Event, TransportAction};
    listener.set_nonblocking(true).unwrap();
    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
    loop {
        let (mut stream, _) = listener.accept().await.unwrap();
        tokio::spawn(async move {
            stream.set_nodelay(true).unwrap();
            let clock = Clock::new();
            let mut conn = Connection::server(Config::default(), clock.now()).unwrap();
            loop {
                while let Some(event) = conn.poll_event() {
                    match event {
                        Event::Request(_) => drop(conn.accept(clock.now(), Accept::new())),
                        Event::Message(m) => drop(conn.send(m)),
                        _ => {}
                    }
                }
                while conn.buffered_amount() > 0 {
                    let n = {
                        let mut slices = [&[][..]; 16];
                        let k = conn.transmit_vectored(&mut slices);
                        let io: Vec<std::io::IoSlice<'_>> = slices[..k]
                            .iter()
                            .map(|s| std::io::IoSlice::new(s))
                            .collect();
                        stream.write_vectored(&io).await
                    };
                    match n {
                        Ok(n) if n > 0 => conn.advance_transmit(n),
                        _ => return,
                    }
                }
                if conn.transport() != TransportAction::Keep {
                    return;
                }
                match stream.read(conn.read_buf()).await {
                    Ok(0) | Err(_) => conn.handle_eof(clock.now()),
                    Ok(n) => conn.handle_read(clock.now(), n),
                }
            }
        });
    }
}
