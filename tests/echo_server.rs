//! `examples/echo_server` (the command the README runs) under hostile load, on
//! loopback: clients that send and never read, a process out of file descriptors,
//! more clients than connection slots, and bad flags. The example binary is the one
//! `cargo test` builds beside this test.
#![cfg(all(feature = "blocking", target_os = "linux"))]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use wsmachine::blocking::{self, Error};
use wsmachine::{ClientRequest, Config, Message};

/// The echo_server example built with this test (target/<profile>/examples).
fn binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let path = profile_dir.join("examples").join("echo_server");
    assert!(
        path.exists(),
        "{} not built: `cargo test` builds the examples, `cargo test --test echo_server` alone does not",
        path.display()
    );
    path
}

/// A running echo server, killed when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    /// Starts the server with `args`, under `sh -c` when `shell_prefix` (a `ulimit`,
    /// say) must apply to it first, and waits for the address it listens on.
    fn start(shell_prefix: Option<&str>, args: &[&str]) -> Server {
        let mut command = match shell_prefix {
            Some(prefix) => {
                let mut c = Command::new("sh");
                c.arg("-c")
                    .arg(format!("{prefix} && exec \"$0\" \"$@\""))
                    .arg(binary());
                c
            }
            None => Command::new(binary()),
        };
        let mut child = command
            .args(["--addr", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .rsplit("ws://")
            .next()
            .expect("the server prints its address")
            .to_string();
        Server { child, addr }
    }

    fn url(&self) -> String {
        format!("ws://{}/", self.addr)
    }

    /// CPU time the process has used, in clock ticks (user + system).
    fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap();
        let after_name = &stat[stat.rfind(')').unwrap() + 2..];
        let fields: Vec<&str> = after_name.split(' ').collect();
        fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
    }

    /// A fresh client gets its message echoed.
    fn echoes(&self) -> bool {
        let mut config = Config::default();
        config.handshake_timeout = Some(Duration::from_secs(3));
        let Ok((mut ws, _)) =
            blocking::connect_with(ClientRequest::from_url(&self.url()).unwrap(), config)
        else {
            return false;
        };
        ws.send("ping?").is_ok()
            && matches!(ws.read_event_timeout(Duration::from_secs(3)),
                Ok(Some(wsmachine::Event::Message(Message::Text(t)))) if t == "ping?")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Twenty clients send megabytes and never read: each connection's writes stall,
/// and the idle timeout drops it from inside the stalled write, while a new client
/// is served meanwhile.
#[test]
fn clients_that_never_read_are_dropped_within_the_idle_timeout() {
    let server = Server::start(None, &["--idle-timeout", "1", "--max-connections", "40"]);
    let started = Instant::now();
    let (tx, rx) = mpsc::channel();
    for _ in 0..20 {
        let (url, tx) = (server.url(), tx.clone());
        thread::spawn(move || {
            let mut config = Config::default();
            config.write_timeout = Some(Duration::from_secs(30));
            let (mut ws, _) =
                blocking::connect_with(ClientRequest::from_url(&url).unwrap(), config).unwrap();
            let message = Message::Binary(vec![1u8; 1 << 20].into());
            // Send until the server drops us (or give up after 20 s of sending).
            let mut sent = 0;
            let dropped = loop {
                match ws.send(message.clone()) {
                    Ok(()) => sent += 1,
                    Err(Error::Io(_)) => break true,
                    Err(e) => panic!("{e}"),
                }
                if started.elapsed() > Duration::from_secs(20) {
                    break false;
                }
            };
            let _ = tx.send((dropped, sent, started.elapsed()));
            // Keep the socket open (and unread) a little longer.
            thread::sleep(Duration::from_secs(2));
        });
    }
    drop(tx);
    // While those connections are stalled, a new client is served.
    thread::sleep(Duration::from_millis(300));
    assert!(server.echoes(), "a new client was not served");
    let give_up = started + Duration::from_secs(30);
    let results: Vec<_> = (0..20)
        .map_while(|_| {
            rx.recv_timeout(give_up.saturating_duration_since(Instant::now()))
                .ok()
        })
        .collect();
    assert_eq!(results.len(), 20, "clients still blocked in their writes");
    for (dropped, sent, at) in &results {
        assert!(*dropped, "a client was never dropped ({sent} MiB sent)");
        // 1 s idle timeout; the rest is the clients' own sending, in a debug build.
        assert!(*at < Duration::from_secs(10), "dropped only after {at:?}");
        assert!(
            *sent >= 2,
            "{sent} MiB sent: the writes should have stalled first"
        );
    }
    assert!(server.echoes(), "the server stopped serving");
}

/// With the descriptor limit reached, `accept` fails: the server waits instead of
/// spinning, and serves again once connections end and free descriptors. Each
/// connection holds two descriptors, so whether the table fills up exactly depends
/// on the parity of the limit: both are tried.
#[test]
fn out_of_descriptors_the_server_waits_and_recovers() {
    for limit in [24, 25] {
        let server = Server::start(
            Some(&format!("ulimit -n {limit}")),
            &["--max-connections", "1000"],
        );
        let mut held = Vec::new();
        for _ in 0..20 {
            let mut config = Config::default();
            config.handshake_timeout = Some(Duration::from_millis(500));
            if let Ok((ws, _)) =
                blocking::connect_with(ClientRequest::from_url(&server.url()).unwrap(), config)
            {
                held.push(ws);
            }
        }
        assert!(
            (3..20).contains(&held.len()),
            "{} connections opened under a {limit}-descriptor limit",
            held.len()
        );
        // Clients keep arriving (and waiting in the backlog): the server must not
        // spin on the accept that keeps failing.
        let waiting: Vec<TcpStream> = (0..5)
            .map(|_| TcpStream::connect(&server.addr).unwrap())
            .collect();
        thread::sleep(Duration::from_millis(200));
        let before = server.cpu_ticks();
        thread::sleep(Duration::from_secs(2));
        let used = server.cpu_ticks() - before;
        println!(
            "limit {limit}: {} connections held; {used} ticks of CPU in 2 s",
            held.len()
        );
        // A spinning accept loop burns a whole core: about 200 ticks in 2 s.
        assert!(
            used < 40,
            "{used} clock ticks of CPU in 2 s while out of descriptors"
        );
        drop(waiting);
        drop(held);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !server.echoes() {
            assert!(Instant::now() < deadline, "the server did not recover");
            thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Over the connection limit, a client's request is read and answered 503 with
/// `Retry-After`, even when the request arrives late.
#[test]
fn over_the_limit_the_request_is_read_and_answered_503() {
    let server = Server::start(None, &["--max-connections", "1"]);
    let (_holder, _) = blocking::connect(&server.url()).unwrap();
    let mut second = TcpStream::connect(&server.addr).unwrap();
    // The request comes late, and nothing is answered before it: an answer written
    // before the request is read is lost to the reset that closing then causes.
    second
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut early = [0u8; 1];
    let premature = second.read(&mut early);
    assert!(
        matches!(&premature, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "answered before the request: {premature:?}"
    );
    second
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(
        second,
        "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    second.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 503 "), "{answer:?}");
    assert!(answer.contains("Retry-After: 1\r\n"), "{answer:?}");
}

/// Flags out of range are refused with a message naming them, never a panic.
#[test]
fn bad_flags_are_refused_with_a_clear_message() {
    for args in [
        &["--idle-timeout", "1e30"][..],
        &["--ping-interval", "-1"],
        &["--write-timeout", "NaN"],
        &["--max-message", "99999999999999999999"],
        &["--max-connections", "0"],
    ] {
        let out = Command::new(binary()).args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(args[0]), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}
