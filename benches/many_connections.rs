//! Many connections on one machine: the async echo server of wsmachine
//! (`wsmachine::tokio`) next to a tokio-tungstenite echo server under the same load,
//! over loopback.
//!
//! ```text
//! cargo bench --bench many_connections [-- --connections N] [--messages M] [--rounds R]
//! ```
//!
//! Each server runs in a process of its own (this program started again with
//! `--serve LIBRARY`), on a two-worker tokio runtime, and the load comes from this
//! process: N connections (default 10,000) are opened and held, then each of them
//! echoes M messages of 32 bytes (default 10) one at a time, all connections at
//! once. The load is the same raw frames for both servers (a fixed upgrade request,
//! a masked 32-byte text frame), so the generator costs them the same. Reported per
//! library, as medians over R interleaved rounds (default 3): resident memory per
//! held connection (the server's VmRSS with N connections open, less its VmRSS
//! before the first one, over N), the same after the echoes, messages per second,
//! and p50/p99 round-trip latency. Needs N + a few hundred file descriptors on each
//! side (`ulimit -n`).

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const LIBRARIES: [&str; 2] = ["wsmachine", "tokio-tungstenite"];
const PAYLOAD: usize = 32;
/// Handshakes in flight at once while the connections are opened.
const OPENING: usize = 256;
/// Every step is bounded.
const STEP_LIMIT: Duration = Duration::from_secs(120);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--serve") {
        serve(&args[i + 1]);
        return;
    }
    let value = |name: &str, default: usize| -> usize {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let connections = value("--connections", 10_000);
    let messages = value("--messages", 10);
    let rounds = value("--rounds", 3);
    println!(
        "{connections} connections held, then {messages} echoes of {PAYLOAD} B on each, \
         {rounds} interleaved rounds per library"
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut results: Vec<(&str, Vec<Round>)> = LIBRARIES.iter().map(|l| (*l, Vec::new())).collect();
    for round in 0..rounds {
        for (library, rounds) in &mut results {
            let result = runtime.block_on(run_round(library, connections, messages));
            println!(
                "round {}: {library:18} {:7.0} B/conn held, {:7.0} B/conn after echoes, \
                 {:9.0} msg/s, p50 {:7.0} µs, p99 {:7.0} µs",
                round + 1,
                result.held_per_conn,
                result.after_per_conn,
                result.rate,
                result.p50_us,
                result.p99_us
            );
            rounds.push(result);
        }
    }
    println!("\nmedians over {rounds} rounds ({connections} connections, {messages} echoes each):");
    println!(
        "| server | RSS per held connection | RSS per connection after echoes | messages/s | p50 | p99 |"
    );
    println!("|---|---|---|---|---|---|");
    for (library, rounds) in &results {
        let med = |f: fn(&Round) -> f64| median(rounds.iter().map(f).collect());
        let range = |f: fn(&Round) -> f64| {
            let v: Vec<f64> = rounds.iter().map(f).collect();
            let (lo, hi) = (
                v.iter().cloned().fold(f64::MAX, f64::min),
                v.iter().cloned().fold(0.0, f64::max),
            );
            format!("{lo:.0}–{hi:.0}")
        };
        println!(
            "| {library} | {:.1} KiB ({} B) | {:.1} KiB | {:.0} ({}) | {:.0} µs | {:.0} µs |",
            med(|r| r.held_per_conn) / 1024.0,
            range(|r| r.held_per_conn),
            med(|r| r.after_per_conn) / 1024.0,
            med(|r| r.rate),
            range(|r| r.rate),
            med(|r| r.p50_us),
            med(|r| r.p99_us),
        );
    }
}

struct Round {
    held_per_conn: f64,
    after_per_conn: f64,
    rate: f64,
    p50_us: f64,
    p99_us: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// A server process for `library`, and the port it listens on.
fn start_server(library: &str) -> (Child, u16) {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args(["--serve", library])
        .stdout(Stdio::piped())
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line.trim().rsplit(':').next().unwrap().parse().unwrap();
    (child, port)
}

/// The resident set of a process, in bytes.
fn rss(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb * 1024.0)
}

async fn run_round(library: &str, connections: usize, messages: usize) -> Round {
    let (mut child, port) = start_server(library);
    let pid = child.id();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = rss(pid);
    let addr = format!("127.0.0.1:{port}");
    let slots = Arc::new(tokio::sync::Semaphore::new(OPENING));
    let opening: Vec<_> = (0..connections)
        .map(|_| {
            let (addr, slots) = (addr.clone(), Arc::clone(&slots));
            tokio::spawn(async move {
                let _slot = slots.acquire().await.unwrap();
                open(&addr).await
            })
        })
        .collect();
    let mut sockets = Vec::with_capacity(connections);
    for task in opening {
        let socket = tokio::time::timeout(STEP_LIMIT, task)
            .await
            .expect("opening timed out")
            .unwrap();
        sockets.push(socket);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let held = rss(pid);
    // All connections echo at once, each one message at a time.
    let frame = Arc::new(masked_text(&[b'x'; PAYLOAD]));
    let started = Instant::now();
    let echoing: Vec<_> = sockets
        .into_iter()
        .map(|mut socket| {
            let frame = Arc::clone(&frame);
            tokio::spawn(async move {
                let mut times = Vec::with_capacity(messages);
                let mut echo = [0u8; 2 + PAYLOAD];
                for _ in 0..messages {
                    let sent = Instant::now();
                    socket.write_all(&frame).await.unwrap();
                    socket.read_exact(&mut echo).await.unwrap();
                    assert_eq!(&echo[..2], &[0x81, PAYLOAD as u8]);
                    times.push(sent.elapsed());
                }
                (socket, times)
            })
        })
        .collect();
    let mut times = Vec::with_capacity(connections * messages);
    let mut sockets = Vec::with_capacity(connections);
    for task in echoing {
        let (socket, t) = tokio::time::timeout(STEP_LIMIT, task)
            .await
            .expect("echoing timed out")
            .unwrap();
        sockets.push(socket);
        times.extend(t);
    }
    let elapsed = started.elapsed();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let after = rss(pid);
    drop(sockets);
    let _ = child.stdin.take().map(|mut s| s.write_all(b"quit\n"));
    let _ = child.kill();
    let _ = child.wait();
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    Round {
        held_per_conn: (held - before) / connections as f64,
        after_per_conn: (after - before) / connections as f64,
        rate: (connections * messages) as f64 / elapsed.as_secs_f64(),
        p50_us: at(0.50).as_secs_f64() * 1e6,
        p99_us: at(0.99).as_secs_f64() * 1e6,
    }
}

/// Opens a connection and completes the upgrade with a fixed request.
async fn open(addr: &str) -> TcpStream {
    let mut socket = TcpStream::connect(addr).await.unwrap();
    socket.set_nodelay(true).unwrap();
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    socket.write_all(request.as_bytes()).await.unwrap();
    // Read the 101 response up to its blank line, a byte at a time, so that nothing
    // after it is consumed (nothing comes after it before the first message).
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        socket.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
        assert!(head.len() < 4096, "no end to the response head");
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    socket
}

/// A client's masked text frame.
fn masked_text(payload: &[u8]) -> Vec<u8> {
    let key = [0x12, 0x34, 0x56, 0x78];
    let mut frame = vec![0x81, 0x80 | payload.len() as u8];
    frame.extend_from_slice(&key);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    frame
}

/// The server process: an echo server of `library` on an ephemeral port, until
/// its standard input ends.
fn serve(library: &str) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let library = library.to_string();
    runtime.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("listening on {}", listener.local_addr().unwrap());
        std::io::stdout().flush().unwrap();
        tokio::spawn(async {
            let mut line = String::new();
            let _ =
                tokio::task::spawn_blocking(move || std::io::stdin().read_line(&mut line)).await;
            std::process::exit(0);
        });
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            tcp.set_nodelay(true).unwrap();
            match library.as_str() {
                "wsmachine" => tokio::spawn(echo_wsmachine(tcp)),
                "tokio-tungstenite" => tokio::spawn(echo_tungstenite(tcp)),
                other => panic!("no library {other}"),
            };
        }
    });
}

async fn echo_wsmachine(tcp: TcpStream) {
    let Ok(mut socket) = wsmachine::tokio::accept(tcp).await else {
        return;
    };
    while let Ok(message) = socket.recv().await {
        if socket.send(message).await.is_err() {
            return;
        }
    }
}

async fn echo_tungstenite(tcp: TcpStream) {
    use futures_util::{SinkExt, StreamExt};
    let Ok(mut socket) = tokio_tungstenite::accept_async(tcp).await else {
        return;
    };
    while let Some(Ok(message)) = socket.next().await {
        if (message.is_text() || message.is_binary()) && socket.send(message).await.is_err() {
            return;
        }
    }
}
