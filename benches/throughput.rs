//! Throughput and per-connection memory against tungstenite and fastwebsockets, all
//! measured in the same run on the same bytes, with memcpy of those bytes as the
//! ceiling. Run with `cargo bench`.
//!
//! - receive: a server turns masked client frames into whole messages (unmasking,
//!   reassembly, UTF-8 validation for text), fed in 64 KiB reads from memory;
//! - send: a server (unmasked) or a client (masked) turns messages into frames;
//! - memory: heap held by one idle server connection after one message.
//!
//! Each measurement is the median of several runs; ratios compare medians taken in
//! the same process, which cancels most of a shared machine's noise.

use std::hint::black_box;
use std::io::{Read, Write};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use wsmachine::frame::{FrameHeader, OpCode};
use wsmachine::mask::apply_mask;
use wsmachine::{Bytes, Config, Connection, Event, Negotiated, SeededEntropy, Timestamp};

#[path = "../tests/support/counting_alloc.rs"]
mod counting_alloc;

// ---- an in-memory stream for the peers -------------------------------------------

/// Reads from a borrowed `input` in pieces of at most 64 KiB, as a socket would;
/// counts and drops what is written, as a socket's kernel copy is the same for all.
struct Mem<'a> {
    input: &'a [u8],
    at: usize,
    read_size: usize,
    written: usize,
}

impl<'a> Mem<'a> {
    fn new(input: &'a [u8]) -> Mem<'a> {
        Mem {
            input,
            at: 0,
            read_size: 64 << 10,
            written: 0,
        }
    }
}

impl Read for Mem<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf
            .len()
            .min(self.read_size)
            .min(self.input.len() - self.at);
        buf[..n].copy_from_slice(&self.input[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

impl Write for Mem<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.written += black_box(buf).len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl tokio::io::AsyncRead for Mem<'_> {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let n = buf
            .remaining()
            .min(this.read_size)
            .min(this.input.len() - this.at);
        buf.put_slice(&this.input[this.at..this.at + n]);
        this.at += n;
        Poll::Ready(Ok(()))
    }
}

impl tokio::io::AsyncWrite for Mem<'_> {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.get_mut().written += black_box(buf).len();
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

// ---- workloads ------------------------------------------------------------------

struct Workload {
    name: &'static str,
    text: bool,
    size: usize,
    count: usize,
}

const WORKLOADS: [Workload; 5] = [
    Workload {
        name: "16 B text",
        text: true,
        size: 16,
        count: 200_000,
    },
    Workload {
        name: "1 KiB text",
        text: true,
        size: 1024,
        count: 40_000,
    },
    Workload {
        name: "64 KiB binary",
        text: false,
        size: 64 << 10,
        count: 800,
    },
    Workload {
        name: "1 MiB text (multi-byte)",
        text: true,
        size: 1 << 20,
        count: 50,
    },
    Workload {
        name: "1 MiB binary",
        text: false,
        size: 1 << 20,
        count: 50,
    },
];

fn payload(w: &Workload) -> Vec<u8> {
    if w.text {
        // ASCII for small messages; for the big one, a mix with 2-, 3- and 4-byte code points.
        let unit = if w.size >= 4096 {
            "wsmachine ∑ κόσμε 𝄞 "
        } else {
            "abcdefghijklmnopqrstuvwxyz"
        };
        let mut s = unit.repeat(w.size / unit.len() + 1);
        while s.len() > w.size {
            s.pop();
        }
        s.into_bytes()
    } else {
        (0..w.size).map(|i| (i * 31 % 251) as u8).collect()
    }
}

/// Masked frames from a client, one message each.
fn client_frames(w: &Workload, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(w.count * (payload.len() + 14));
    for i in 0..w.count {
        let mut h = FrameHeader::new(
            if w.text { OpCode::Text } else { OpCode::Binary },
            payload.len() as u64,
        );
        let key = (i as u32).wrapping_mul(2_654_435_761).to_le_bytes();
        h.mask = Some(key);
        h.encode_to_vec(&mut out);
        let at = out.len();
        out.extend_from_slice(payload);
        apply_mask(&mut out[at..], key, 0);
    }
    out
}

fn big_config() -> Config {
    let mut c = Config::default();
    c.max_message_size = 64 << 20;
    c
}

fn recv_wsmachine(input: &[u8], count: usize) -> usize {
    let mut conn =
        Connection::upgraded_server(big_config(), Negotiated::none(), &[], Timestamp::ZERO)
            .unwrap();
    let (mut got, mut bytes) = (0, 0);
    for read in input.chunks(64 << 10) {
        // Every event is polled before the next read: all of it is taken.
        assert_eq!(conn.handle_data(Timestamp::ZERO, read), read.len());
        while let Some(event) = conn.poll_event() {
            if let Event::Message(m) = event {
                bytes += black_box(m.len());
                got += 1;
            }
        }
    }
    assert_eq!(got, count);
    bytes
}

fn recv_tungstenite(input: &[u8], count: usize) -> usize {
    let mut config = tungstenite::protocol::WebSocketConfig::default();
    config.max_message_size = Some(64 << 20);
    let mut ws = tungstenite::WebSocket::from_raw_socket(
        Mem::new(input),
        tungstenite::protocol::Role::Server,
        Some(config),
    );
    let mut bytes = 0;
    for _ in 0..count {
        match ws.read().expect("tungstenite read") {
            tungstenite::Message::Text(t) => bytes += black_box(t.len()),
            tungstenite::Message::Binary(b) => bytes += black_box(b.len()),
            other => panic!("{other:?}"),
        }
    }
    bytes
}

fn recv_fastwebsockets(rt: &tokio::runtime::Runtime, input: &[u8], count: usize) -> usize {
    rt.block_on(async {
        let mut ws = fastwebsockets::WebSocket::after_handshake(
            Mem::new(input),
            fastwebsockets::Role::Server,
        );
        ws.set_max_message_size(64 << 20);
        let mut ws = fastwebsockets::FragmentCollector::new(ws);
        let mut bytes = 0;
        for _ in 0..count {
            let frame = ws.read_frame().await.expect("fastwebsockets read");
            bytes += black_box(frame.payload.len());
        }
        bytes
    })
}

fn send_wsmachine(client: bool, payload: &Bytes, w: &Workload) -> usize {
    let t = Timestamp::ZERO;
    let mut conn = if client {
        Connection::upgraded_client(
            big_config(),
            Negotiated::none(),
            SeededEntropy::new(1),
            &[],
            t,
        )
        .unwrap()
    } else {
        Connection::upgraded_server(big_config(), Negotiated::none(), &[], t).unwrap()
    };
    let mut sink = Mem::new(&[]);
    // Text values are built (and validated) once, outside the loop, as an application
    // holding a String would; cloning one is a reference count.
    let text = w
        .text
        .then(|| wsmachine::Text::try_from(payload.clone()).unwrap());
    for _ in 0..w.count {
        if let Some(text) = &text {
            conn.send(wsmachine::Message::Text(text.clone())).unwrap();
        } else {
            conn.send_binary(payload.clone()).unwrap();
        }
        if conn.buffered_amount() > 256 << 10 {
            drain(&mut conn, &mut sink);
        }
    }
    drain(&mut conn, &mut sink);
    black_box(sink.written)
}

/// Writes all pending output with vectored writes, as a socket loop would.
fn drain(conn: &mut Connection, sink: &mut Mem<'_>) {
    while conn.buffered_amount() > 0 {
        let mut slices = [&[][..]; 64];
        let n = conn.transmit_vectored(&mut slices);
        let io: Vec<std::io::IoSlice<'_>> = slices[..n]
            .iter()
            .map(|s| std::io::IoSlice::new(s))
            .collect();
        let written = sink.write_vectored(&io).unwrap();
        conn.advance_transmit(written);
    }
}

fn send_tungstenite(client: bool, payload: &Bytes, w: &Workload) -> usize {
    let role = if client {
        tungstenite::protocol::Role::Client
    } else {
        tungstenite::protocol::Role::Server
    };
    let mut ws = tungstenite::WebSocket::from_raw_socket(Mem::new(&[]), role, None);
    let text = w
        .text
        .then(|| tungstenite::Utf8Bytes::try_from(payload.clone()).unwrap());
    for _ in 0..w.count {
        let message = if let Some(text) = &text {
            tungstenite::Message::Text(text.clone())
        } else {
            tungstenite::Message::Binary(payload.clone())
        };
        ws.write(message).unwrap();
    }
    ws.flush().unwrap();
    black_box(ws.get_ref().written)
}

fn send_fastwebsockets(
    rt: &tokio::runtime::Runtime,
    client: bool,
    payload: &Bytes,
    w: &Workload,
) -> usize {
    rt.block_on(async {
        let role = if client {
            fastwebsockets::Role::Client
        } else {
            fastwebsockets::Role::Server
        };
        let mut ws = fastwebsockets::WebSocket::after_handshake(Mem::new(&[]), role);
        ws.set_writev(false);
        let opcode = if w.text {
            fastwebsockets::OpCode::Text
        } else {
            fastwebsockets::OpCode::Binary
        };
        for _ in 0..w.count {
            // Borrowed: a server sends it as is; a client's masking makes the one copy
            // it needs (fastwebsockets masks in place).
            let frame = fastwebsockets::Frame::new(
                true,
                opcode,
                None,
                fastwebsockets::Payload::Borrowed(payload),
            );
            ws.write_frame(frame).await.unwrap();
        }
        black_box(ws.into_inner().written)
    })
}

// ---- measuring ------------------------------------------------------------------

const RUNS: usize = 9;

/// Median seconds of `RUNS` runs (after one warm-up).
fn median(mut f: impl FnMut()) -> f64 {
    f();
    let mut times: Vec<f64> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    times[RUNS / 2]
}

fn gbps(bytes: usize, secs: f64) -> f64 {
    bytes as f64 / secs / 1e9
}

fn main() {
    // `cargo test` runs bench targets with --bench only; do nothing otherwise.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    println!(
        "wsmachine {} vs tungstenite 0.30 and fastwebsockets 0.10; median of {RUNS} runs; GB/s of payload\n",
        env!("CARGO_PKG_VERSION")
    );

    println!("## receive (server, masked frames in 64 KiB reads, whole messages out)\n");
    println!(
        "| workload | memcpy | wsmachine | tungstenite | fastwebsockets | vs tungstenite | vs fastwebsockets |"
    );
    println!("|---|---|---|---|---|---|---|");
    for w in &WORKLOADS {
        let p = payload(w);
        let input = client_frames(w, &p);
        let total = p.len() * w.count;
        let mut sink = vec![0u8; input.len()];
        let copy = median(|| {
            sink.copy_from_slice(&input);
            black_box(&sink);
        });
        let ours = median(|| assert_eq!(recv_wsmachine(&input, w.count), total));
        let tung = median(|| assert_eq!(recv_tungstenite(&input, w.count), total));
        let fast = median(|| assert_eq!(recv_fastwebsockets(&rt, &input, w.count), total));
        println!(
            "| {} × {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2}× | {:.2}× |",
            w.count,
            w.name,
            gbps(total, copy),
            gbps(total, ours),
            gbps(total, tung),
            gbps(total, fast),
            tung / ours,
            fast / ours
        );
    }

    for client in [false, true] {
        let who = if client {
            "client (masked)"
        } else {
            "server (unmasked)"
        };
        println!("\n## send ({who}: messages to frames in memory)\n");
        println!(
            "| workload | wsmachine | tungstenite | fastwebsockets | vs tungstenite | vs fastwebsockets |"
        );
        println!("|---|---|---|---|---|---|");
        for w in &WORKLOADS {
            let p = Bytes::from(payload(w));
            let total = p.len() * w.count;
            let ours = median(|| {
                send_wsmachine(client, &p, w);
            });
            let tung = median(|| {
                send_tungstenite(client, &p, w);
            });
            let fast = median(|| {
                send_fastwebsockets(&rt, client, &p, w);
            });
            println!(
                "| {} × {} | {:.2} | {:.2} | {:.2} | {:.2}× | {:.2}× |",
                w.count,
                w.name,
                gbps(total, ours),
                gbps(total, tung),
                gbps(total, fast),
                tung / ours,
                fast / ours
            );
        }
    }

    println!("\n## memory: heap held by one idle server connection after one 100-byte message\n");
    let hello = {
        let w = Workload {
            name: "",
            text: true,
            size: 100,
            count: 1,
        };
        client_frames(&w, &payload(&w))
    };
    let before = counting_alloc::live();
    let mut conn =
        Connection::upgraded_server(Config::default(), Negotiated::none(), &[], Timestamp::ZERO)
            .unwrap();
    assert_eq!(conn.handle_data(Timestamp::ZERO, &hello), hello.len());
    drop(conn.poll_event());
    let ours = counting_alloc::live() - before;
    let size_ours = std::mem::size_of::<Connection>();
    drop(conn);

    let mem = Mem::new(&hello);
    let before = counting_alloc::live();
    let mut ws =
        tungstenite::WebSocket::from_raw_socket(mem, tungstenite::protocol::Role::Server, None);
    drop(ws.read().unwrap());
    let tung = counting_alloc::live() - before;
    let size_tung = std::mem::size_of_val(&ws) - std::mem::size_of::<Mem>();
    drop(ws);

    let fast = rt.block_on(async {
        let mem = Mem::new(&hello);
        let before = counting_alloc::live();
        let mut ws = fastwebsockets::FragmentCollector::new(
            fastwebsockets::WebSocket::after_handshake(mem, fastwebsockets::Role::Server),
        );
        drop(ws.read_frame().await.unwrap());
        let heap = counting_alloc::live() - before;
        (
            heap,
            std::mem::size_of_val(&ws) - std::mem::size_of::<Mem>(),
        )
    });
    println!("| library | heap held | inline size (without the stream) |");
    println!("|---|---|---|");
    println!("| wsmachine | {ours} B | {size_ours} B |");
    println!("| tungstenite | {tung} B | {size_tung} B |");
    println!(
        "| fastwebsockets (FragmentCollector) | {} B | {} B |",
        fast.0, fast.1
    );
}
