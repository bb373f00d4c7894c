//! Receive and send throughput of wsmachine next to tungstenite, fastwebsockets and
//! tokio-websockets, measured as a real socket sees them:
//!
//! - every library reads through the same stand-in for `recv()` (a copy of at most
//!   64 KiB into the reader's buffer) and writes through the same stand-in for
//!   `send()` (a copy out), on the same prepared bytes;
//! - each (library, workload) runs in a process of its own, `ROUNDS` times (or
//!   `--rounds N`), the libraries interleaved, so that no library inherits another's
//!   allocator state and slow drifts of the machine fall on all of them alike; the
//!   ratio of wsmachine to each peer is also given paired round by round;
//! - before anything is timed, each run's output is checked: the message count,
//!   the bytes and a hash of their content (for a send, the frames it wrote,
//!   decoded);
//! - memcpy of the same bytes is the ceiling; for a masked receive, memcpy with
//!   each read then unmasked in place is the ceiling of any receive that unmasks
//!   after the transport's copy, as every library here does. Both run in processes
//!   of their own, in turn with the libraries, so that they see the machine as the
//!   libraries do.
//!
//! ```text
//! cargo bench --bench throughput                        # release profile
//! cargo bench --bench throughput --profile bench-lto    # fat LTO, one codegen unit
//! cargo bench --bench throughput -- recv-text-16 ...    # only these workloads
//! cargo bench --bench throughput -- --rounds 20 ...     # more rounds than `ROUNDS`
//! ```
//!
//! Each row prints the median over the rounds (each round's figure is the median
//! of `ITERATIONS` runs inside its process), the range over the rounds, the ratio of
//! wsmachine to the best peer, and wsmachine's allocations per message.

#[path = "throughput/cases.rs"]
mod cases;
#[path = "throughput/libs.rs"]
mod libs;
#[path = "throughput/socket.rs"]
mod socket;

#[path = "../tests/support/counting_alloc.rs"]
mod counting_alloc;

use std::process::Command;

use bytes::Bytes;

use cases::{CASES, Case, Digest, Dir};
use libs::{Lib, Prepared};

/// Processes per (library, workload).
const ROUNDS: usize = 5;
/// Timed runs inside each process, after one warm-up and one check run.
const ITERATIONS: usize = 5;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo test` runs bench targets without `--bench`: nothing to do then.
    if !args.iter().any(|a| a == "--bench") {
        return;
    }
    if let Some(at) = args.iter().position(|a| a == "--worker") {
        worker(&args[at + 1], &args[at + 2]);
        return;
    }
    if let Some(at) = args.iter().position(|a| a == "--loop") {
        // For a profiler: only timed runs, many of them.
        let (lib, case) = (Lib::by_name(&args[at + 1]), cases::by_name(&args[at + 2]));
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let input = prepare(case);
        for _ in 0..args[at + 3].parse().unwrap() {
            libs::run(lib, case, &input, &rt, false);
        }
        return;
    }
    let rounds = match args.iter().position(|a| a == "--rounds") {
        Some(at) => match args.get(at + 1).and_then(|n| n.parse().ok()) {
            Some(n) if n >= 2 => n,
            _ => panic!("--rounds takes a number of rounds, 2 or more"),
        },
        None => ROUNDS,
    };
    let only: Vec<&str> = args
        .iter()
        .enumerate()
        .filter(|&(i, a)| !a.starts_with("--") && (i == 0 || args[i - 1] != "--rounds"))
        .map(|(_, a)| a.as_str())
        .collect();
    coordinator(&only, rounds);
}

/// One process: prepares the workload, checks one run, counts one run's
/// allocations, then times `ITERATIONS` runs and prints their median.
fn worker(lib: &str, case: &str) {
    if let Some(ceiling) = Ceiling::by_name(lib) {
        let case = cases::by_name(case);
        let input = prepare(case);
        ceiling.run(case, &input);
        println!("result {} 0", median_run(|| ceiling.run(case, &input)));
        return;
    }
    let (lib, case) = (Lib::by_name(lib), cases::by_name(case));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let input = prepare(case);
    let (seen, _) = libs::run(lib, case, &input, &rt, true);
    assert_eq!(seen, Digest::expected(case), "{} {}", lib.name(), case.name);
    let before = counting_alloc::allocations();
    let _ = libs::run(lib, case, &input, &rt, false);
    let allocations = counting_alloc::allocations() - before;
    let secs = median_run(|| libs::run(lib, case, &input, &rt, false).1.as_secs_f64());
    println!("result {secs} {allocations}");
}

/// The median of `ITERATIONS` timed runs, in seconds.
fn median_run(mut run: impl FnMut() -> f64) -> f64 {
    let mut times: Vec<f64> = (0..ITERATIONS).map(|_| run()).collect();
    times.sort_by(f64::total_cmp);
    times[ITERATIONS / 2]
}

fn prepare(case: &Case) -> Prepared {
    let payload = cases::payload(case);
    let frames = match case.dir {
        Dir::Receive => cases::client_frames(case, &payload),
        _ => Vec::new(),
    };
    Prepared {
        payload: Bytes::from(payload),
        frames,
    }
}

/// Runs every worker `rounds` times, interleaved, and prints the table; then, per
/// workload, the ratio of wsmachine to each peer paired round by round (the two
/// processes of a round ran next to each other, so a slow stretch of the machine
/// falls on both): its median and quartiles, for telling a few percent from noise.
fn coordinator(only: &[&str], rounds: usize) {
    let exe = std::env::current_exe().unwrap();
    let profile = exe
        .ancestors()
        .nth(2)
        .and_then(|p| p.file_name())
        .map_or("?".into(), |p| p.to_string_lossy().into_owned());
    println!(
        "# wsmachine {} vs tungstenite 0.30, fastwebsockets 0.10, tokio-websockets 0.13\n",
        env!("CARGO_PKG_VERSION")
    );
    println!(
        "Profile `{profile}`; {rounds} processes per cell, libraries and ceilings \
         interleaved; each the median of {ITERATIONS} runs. GB/s of payload, or millions \
         of messages per second (M msg/s) for messages of 1 KiB and less; median \
         [min–max over the rounds]. memcpy: the socket stand-in alone; memcpy + unmask: \
         each read then unmasked in place, the ceiling of a receive that unmasks after \
         the read.\n"
    );
    println!(
        "| workload | memcpy | memcpy + unmask | wsmachine | tungstenite | fastwebsockets | tokio-websockets | wsmachine / best peer | wsmachine allocations per message |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut paired = Vec::new();
    for case in CASES
        .iter()
        .filter(|c| only.is_empty() || only.contains(&c.name))
    {
        // The libraries, then the ceilings, each in processes of its own, taking
        // turns: the ceilings see the machine as the libraries do.
        let ceilings = Ceiling::for_case(case);
        let names: Vec<&str> = Lib::ALL
            .iter()
            .map(|lib| lib.name())
            .chain(ceilings.iter().map(|c| c.name()))
            .collect();
        let mut secs: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
        let mut allocations = 0;
        for round in 0..rounds {
            for k in 0..names.len() {
                // A different one goes first each round.
                let i = (k + round) % names.len();
                let (s, a) = spawn(&exe, names[i], case);
                secs[i].push(s);
                if names[i] == Lib::Wsmachine.name() {
                    allocations = a;
                }
            }
        }
        let ceiling_secs = secs.split_off(Lib::ALL.len());
        let ceiling = |c: Ceiling| match ceilings.iter().position(|&k| k == c) {
            Some(i) => {
                let mut v = ceiling_secs[i].clone();
                v.sort_by(f64::total_cmp);
                format!("{:.2}", rate(case, v[v.len() / 2]))
            }
            None => "–".into(),
        };
        paired.push((case.row, per_round_ratios(&secs)));
        let rate = |s: f64| rate(case, s);
        let cells: Vec<(f64, f64, f64)> = secs
            .iter_mut()
            .map(|v| {
                v.sort_by(f64::total_cmp);
                (rate(v[v.len() / 2]), rate(v[v.len() - 1]), rate(v[0]))
            })
            .collect();
        let best_peer = cells[1..].iter().map(|c| c.0).fold(0.0, f64::max);
        let cell = |(m, lo, hi): (f64, f64, f64)| format!("{m:.2} [{lo:.2}–{hi:.2}]");
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {:.2}× | {:.3} |",
            case.row,
            ceiling(Ceiling::Memcpy),
            ceiling(Ceiling::MemcpyUnmask),
            cell(cells[0]),
            cell(cells[1]),
            cell(cells[2]),
            cell(cells[3]),
            cells[0].0 / best_peer,
            allocations as f64 / case.count as f64,
        );
    }
    println!("\n## wsmachine / each peer, paired round by round: median (quartiles)\n");
    println!("| workload | tungstenite | fastwebsockets | tokio-websockets |");
    println!("|---|---|---|---|");
    for (row, peers) in paired {
        let cell = |(m, q1, q3): (f64, f64, f64)| format!("{m:.2}× ({q1:.2}–{q3:.2})");
        println!(
            "| {row} | {} |",
            peers.into_iter().map(cell).collect::<Vec<_>>().join(" | ")
        );
    }
    memory();
}

/// For each peer, the ratios of its time to wsmachine's in the same round (above 1:
/// wsmachine faster): median, first and third quartile (the nearest ranks).
fn per_round_ratios(secs: &[Vec<f64>]) -> Vec<(f64, f64, f64)> {
    secs[1..]
        .iter()
        .map(|peer| {
            let mut r: Vec<f64> = peer.iter().zip(&secs[0]).map(|(p, w)| p / w).collect();
            r.sort_by(f64::total_cmp);
            let at = |q: usize| r[(r.len() - 1) * q / 4];
            (at(2), at(1), at(3))
        })
        .collect()
}

fn spawn(exe: &std::path::Path, name: &str, case: &Case) -> (f64, isize) {
    let out = Command::new(exe)
        .args(["--bench", "--worker", name, case.name])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("result "))
        .unwrap_or_else(|| {
            panic!(
                "{} {} failed: {}",
                name,
                case.name,
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let mut parts = line.split(' ');
    let secs = parts.next().unwrap().parse().unwrap();
    let allocations = parts.next().unwrap().parse().unwrap();
    (secs, allocations)
}

/// Throughput in the row's unit: GB/s of payload, or millions of messages a second.
fn rate(case: &Case, secs: f64) -> f64 {
    if case.per_message() {
        case.count as f64 / secs / 1e6
    } else {
        case.total() as f64 / secs / 1e9
    }
}

/// The ceilings: the socket stand-in alone, moving the same bytes (for a receive,
/// the frames read in 64 KiB pieces into one buffer; for a send, the payloads
/// written), and for a masked receive, each read then unmasked in place: the pass a
/// masked payload needs after the transport's copy, so the ceiling of a receive
/// that copies once and unmasks once, as every library here does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ceiling {
    Memcpy,
    MemcpyUnmask,
}

impl Ceiling {
    fn name(self) -> &'static str {
        match self {
            Ceiling::Memcpy => "memcpy",
            Ceiling::MemcpyUnmask => "memcpy+unmask",
        }
    }

    fn by_name(name: &str) -> Option<Ceiling> {
        [Ceiling::Memcpy, Ceiling::MemcpyUnmask]
            .into_iter()
            .find(|c| c.name() == name)
    }

    fn for_case(case: &Case) -> Vec<Ceiling> {
        match case.dir {
            Dir::Receive => vec![Ceiling::Memcpy, Ceiling::MemcpyUnmask],
            _ => vec![Ceiling::Memcpy],
        }
    }

    /// One run: its time in seconds.
    fn run(self, case: &Case, input: &Prepared) -> f64 {
        let mut buf = vec![0u8; socket::READ_SIZE];
        let started = std::time::Instant::now();
        match case.dir {
            Dir::Receive => {
                let mut s = socket::Socket::reading(&input.frames);
                while !s.exhausted() {
                    let n = std::hint::black_box(s.recv(&mut buf));
                    if self == Ceiling::MemcpyUnmask {
                        wsmachine::mask::apply_mask(&mut buf[..n], [0x37, 0xfa, 0x21, 0x3d], 0);
                    }
                    std::hint::black_box(&mut buf);
                }
            }
            _ => {
                let mut s = socket::Socket::writing(false);
                for _ in 0..case.count {
                    s.send(&input.payload);
                }
                std::hint::black_box(s.written);
            }
        }
        started.elapsed().as_secs_f64()
    }
}

/// What one idle connection holds, and the connection's own size.
fn memory() {
    use wsmachine::{Config, Connection, Event, Negotiated, Timestamp};
    println!("\n## memory: one idle server connection after one 100-byte message\n");
    println!("| library | heap held | inline size |");
    println!("|---|---|---|");
    let mut hello = Vec::new();
    let mut h = wsmachine::frame::FrameHeader::new(wsmachine::frame::OpCode::Binary, 100);
    h.mask = Some([1, 2, 3, 4]);
    h.encode_to_vec(&mut hello);
    hello.extend_from_slice(&[0u8; 100]);
    let before = counting_alloc::live();
    let mut conn =
        Connection::upgraded_server(Config::default(), Negotiated::none(), &[], Timestamp::ZERO)
            .unwrap();
    assert_eq!(conn.handle_data(Timestamp::ZERO, &hello), hello.len());
    assert!(matches!(conn.poll_event(), Some(Event::Message(_))));
    println!(
        "| wsmachine | {} B | {} B |",
        counting_alloc::live() - before,
        std::mem::size_of::<Connection>()
    );
    drop(conn);
    let before = counting_alloc::live();
    let mut ws = tungstenite::WebSocket::from_raw_socket(
        socket::Socket::reading(&hello),
        tungstenite::protocol::Role::Server,
        None,
    );
    ws.read().unwrap();
    println!(
        "| tungstenite | {} B | {} B |",
        counting_alloc::live() - before,
        std::mem::size_of::<tungstenite::WebSocket<()>>()
    );
}
