//! permessage-deflate throughput: a connection compressing and inflating messages,
//! next to flate2 (the same zlib-rs backend) called directly on the same bytes,
//! which is the floor: what deflate itself costs, with no framing, masking,
//! queueing or events.
//!
//! - receive: a server connection reads masked compressed frames (written by a
//!   client connection) through the socket stand-in of `benches/throughput.rs`
//!   (copies of at most 64 KiB into `read_buf`), inflating each message; the floor
//!   inflates the same compressed payloads, tail appended (§7.2.2), into a buffer.
//! - send: a server connection compresses each message and its output is copied out
//!   as a socket write would; the floor compresses with a sync flush per message.
//!
//! Both keep their context between messages (context takeover, RFC 7692 defaults:
//! 15-bit windows, level 6). Rates are uncompressed bytes per second. Rounds
//! alternate the two sides in one process; medians with min–max over the rounds.
//!
//! ```text
//! cargo bench --bench deflate
//! cargo bench --bench deflate --profile bench-lto
//! ```

use std::hint::black_box;
use std::time::Instant;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use wsmachine::deflate::DeflateParams;
use wsmachine::frame::FrameDecoder;
use wsmachine::{Config, Connection, Event, Negotiated, SeededEntropy, Timestamp};

const T: Timestamp = Timestamp::ZERO;
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];
const ROUNDS: usize = 7;
/// Bytes of messages per round and case.
const TOTAL: usize = 16 << 20;
const READ: usize = 64 << 10;

fn main() {
    if std::env::args().any(|a| a == "--help" || a == "-h") {
        println!("deflate bench: cargo bench --bench deflate [--profile bench-lto]");
        return;
    }
    let corpus = corpus(1 << 20);
    println!(
        "corpus: {} KiB of JSON-like lines; rounds: {ROUNDS}; {} MiB of messages per round",
        corpus.len() >> 10,
        TOTAL >> 20
    );
    println!("| case | wsmachine | flate2 direct (floor) | wsmachine / floor | compressed size |");
    println!("|---|---|---|---|---|");
    for size in [512usize, 16 << 10, 1 << 20] {
        let messages: Vec<Vec<u8>> = (0..TOTAL / size)
            .map(|i| {
                let at = (i * 7919 * 64) % (corpus.len() - size + 1);
                corpus[at..at + size].to_vec()
            })
            .collect();
        receive(size, &messages);
        send(size, &messages);
    }
}

/// Deterministic JSON-like text: field names repeat, values vary.
fn corpus(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 256);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let words = [
        "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
    ];
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let line = format!(
            "{{\"id\":{},\"user\":\"{}-{}\",\"score\":{}.{:02},\"tags\":[\"{}\",\"{}\"],\"ok\":{}}}\n",
            x % 1_000_000,
            words[(x >> 20) as usize % 8],
            (x >> 24) % 1000,
            (x >> 32) % 100,
            (x >> 40) % 100,
            words[(x >> 44) as usize % 8],
            words[(x >> 48) as usize % 8],
            (x >> 52) & 1 == 1
        );
        out.extend_from_slice(line.as_bytes());
    }
    out.truncate(len);
    out
}

fn deflate_negotiated() -> Negotiated {
    let mut n = Negotiated::none();
    n.deflate = Some(DeflateParams::default());
    n
}

fn server() -> Connection {
    let mut config = Config::default();
    config.max_buffered_output = usize::MAX;
    Connection::upgraded_server(config, deflate_negotiated(), &[], T).unwrap()
}

/// Median and range of rates (bytes per second) over the rounds.
struct Rates(Vec<f64>);

impl Rates {
    fn median(&self) -> f64 {
        let mut v = self.0.clone();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    }

    fn show(&self) -> String {
        let min = self.0.iter().copied().fold(f64::INFINITY, f64::min);
        let max = self.0.iter().copied().fold(0.0, f64::max);
        format!(
            "{:.0} [{:.0}–{:.0}] MB/s",
            self.median() / 1e6,
            min / 1e6,
            max / 1e6
        )
    }
}

fn label(size: usize) -> String {
    if size >= 1 << 20 {
        format!("{} MiB", size >> 20)
    } else if size >= 1 << 10 {
        format!("{} KiB", size >> 10)
    } else {
        format!("{size} B")
    }
}

fn receive(size: usize, messages: &[Vec<u8>]) {
    // The wire: what a client connection sends, masked and compressed.
    let mut config = Config::default();
    config.max_buffered_output = usize::MAX;
    let mut client =
        Connection::upgraded_client(config, deflate_negotiated(), SeededEntropy::new(1), &[], T)
            .unwrap();
    let mut wire = Vec::new();
    for m in messages {
        client.send_binary_copied(m).unwrap();
        client.transmit_into(&mut wire);
    }
    // The same compressed payloads, unmasked, for the floor.
    let mut payloads = Vec::new();
    let (mut rest, mut decoder) = (&wire[..], FrameDecoder::new(u64::MAX));
    while let Some(frame) = decoder.decode(&mut rest).unwrap() {
        let mut p = frame.payload.to_vec();
        p.extend_from_slice(&TAIL);
        payloads.push(p);
    }
    assert_eq!(payloads.len(), messages.len());
    let total: usize = messages.iter().map(Vec::len).sum();
    let (mut ours, mut floor) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let run_ours = |ours: &mut Vec<f64>| {
            let mut conn = server();
            let start = Instant::now();
            let mut got = 0;
            for chunk in wire.chunks(READ) {
                let mut chunk = chunk;
                while !chunk.is_empty() {
                    let room = conn.read_buf();
                    let n = room.len().min(chunk.len());
                    room[..n].copy_from_slice(&chunk[..n]);
                    conn.handle_read(T, n);
                    chunk = &chunk[n..];
                    while let Some(event) = conn.poll_event() {
                        if let Event::Message(m) = event {
                            got += m.len();
                            black_box(&m);
                        }
                    }
                }
            }
            ours.push(total as f64 / start.elapsed().as_secs_f64());
            assert_eq!(got, total);
        };
        let run_floor = |floor: &mut Vec<f64>| {
            let mut d = Decompress::new_with_window_bits(false, 15);
            let start = Instant::now();
            let mut got = 0;
            for p in &payloads {
                let mut out = Vec::with_capacity(size);
                let mut at = 0;
                while at < p.len() {
                    let before = d.total_in();
                    if out.len() == out.capacity() {
                        out.reserve(out.capacity().max(64));
                    }
                    d.decompress_vec(&p[at..], &mut out, FlushDecompress::Sync)
                        .unwrap();
                    at += (d.total_in() - before) as usize;
                }
                got += out.len();
                black_box(&out);
            }
            floor.push(total as f64 / start.elapsed().as_secs_f64());
            assert_eq!(got, total);
        };
        if round % 2 == 0 {
            run_ours(&mut ours);
            run_floor(&mut floor);
        } else {
            run_floor(&mut floor);
            run_ours(&mut ours);
        }
    }
    let (ours, floor) = (Rates(ours), Rates(floor));
    println!(
        "| receive {} binary | {} | {} | {:.2}× | {:.1}% |",
        label(size),
        ours.show(),
        floor.show(),
        ours.median() / floor.median(),
        100.0 * payloads.iter().map(|p| p.len() - 4).sum::<usize>() as f64 / total as f64
    );
}

fn send(size: usize, messages: &[Vec<u8>]) {
    let total: usize = messages.iter().map(Vec::len).sum();
    let (mut ours, mut floor) = (Vec::new(), Vec::new());
    let mut wire_len = 0;
    for round in 0..ROUNDS {
        let mut run_ours = |ours: &mut Vec<f64>| {
            let mut conn = server();
            // The socket's send buffer: the output is copied out of the connection.
            let mut sent = Vec::with_capacity(READ);
            let mut written = 0;
            let start = Instant::now();
            for m in messages {
                conn.send_binary_copied(m).unwrap();
                loop {
                    let out = conn.transmit();
                    if out.is_empty() {
                        break;
                    }
                    let n = out.len().min(READ);
                    sent.clear();
                    sent.extend_from_slice(&out[..n]);
                    written += n;
                    conn.advance_transmit(n);
                }
            }
            ours.push(total as f64 / start.elapsed().as_secs_f64());
            black_box(&sent);
            wire_len = written;
        };
        let run_floor = |floor: &mut Vec<f64>| {
            let mut c = Compress::new_with_window_bits(Compression::new(6), false, 15);
            let start = Instant::now();
            let mut produced = 0;
            for m in messages {
                let mut out = Vec::with_capacity(m.len() / 2 + 64);
                let mut at = 0;
                loop {
                    if out.capacity() - out.len() < 64 {
                        out.reserve(out.capacity());
                    }
                    let before = c.total_in();
                    c.compress_vec(&m[at..], &mut out, FlushCompress::Sync)
                        .unwrap();
                    at += (c.total_in() - before) as usize;
                    if at == m.len() && out.len() < out.capacity() {
                        break;
                    }
                }
                out.truncate(out.len() - TAIL.len());
                produced += out.len();
                black_box(&out);
            }
            floor.push(total as f64 / start.elapsed().as_secs_f64());
            black_box(produced);
        };
        if round % 2 == 0 {
            run_ours(&mut ours);
            run_floor(&mut floor);
        } else {
            run_floor(&mut floor);
            run_ours(&mut ours);
        }
    }
    let (ours, floor) = (Rates(ours), Rates(floor));
    println!(
        "| server send {} binary | {} | {} | {:.2}× | {:.1}% (frames included) |",
        label(size),
        ours.show(),
        floor.show(),
        ours.median() / floor.median(),
        100.0 * wire_len as f64 / total as f64
    );
}
