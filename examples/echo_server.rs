//! A WebSocket echo server on the blocking glue: every text or binary message comes
//! back as it was sent.
//!
//! ```text
//! cargo run --release --example echo_server -- [--addr 127.0.0.1:9001] [options]
//! ```
//!
//! Concurrency: one thread per connection, at most `--max-connections` at once
//! (default 1024); a connection over the limit has its request read and answered
//! `503 Service Unavailable`. Each thread blocks in the socket's read or write with a
//! timeout taken from the connection's next deadline, so the keepalive, idle and
//! write timeouts work without any timer thread: a client that stops reading is
//! dropped like one that stops sending.
//!
//! Safe by default: keepalive pings every 30 s (a dead peer is dropped when the pong
//! does not come), idle connections dropped after 120 s without a message, a
//! 16 MiB message limit and a matching bound on unwritten output. So one connection
//! holds at most about 32 MiB, and `--max-connections` bounds the rest.

#[path = "support/args.rs"]
mod args;

use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use std::io::{Read, Write};

use wsmachine::blocking::{self, Builder, Error, WebSocket};
use wsmachine::tls::rustls::ServerConfig;
use wsmachine::{Accept, Config, Reject};

/// Refusals (503 answers) in progress at once, at most; beyond that a connection over
/// the limit is closed unanswered.
const MAX_REFUSALS: usize = 32;

/// How long a refused client has to send its request.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(2);

fn usage() -> String {
    format!(
        "echo_server: a WebSocket echo server.\n\n\
         Usage: cargo run --release --example echo_server -- [options]\n\n{}",
        args::SERVER_OPTIONS
    )
}

fn main() -> std::io::Result<()> {
    let args = args::parse_server_args(&usage());
    let listener = TcpListener::bind(&args.addr)?;
    let scheme = if args.tls.is_some() { "wss" } else { "ws" };
    println!(
        "echo server listening on {scheme}://{}",
        listener.local_addr()?
    );
    let active = Arc::new(AtomicUsize::new(0));
    let refusing = Arc::new(AtomicUsize::new(0));
    let mut backoff = Backoff::default();
    loop {
        let stream = match listener.accept() {
            Ok((stream, _)) => {
                backoff.reset();
                stream
            }
            Err(e) => {
                // Out of descriptors (EMFILE) or memory: retrying at once would spin.
                // Wait, longer each time, for connections to end and free some.
                eprintln!("accept failed: {e}");
                backoff.wait();
                continue;
            }
        };
        match Slot::take(&active, args.max_connections) {
            Some(slot) => {
                let (config, tls) = (args.config.clone(), args.tls.clone());
                spawn(move || {
                    let _slot = slot;
                    serve(stream, config, tls);
                });
            }
            None => match Slot::take(&refusing, MAX_REFUSALS) {
                Some(slot) => {
                    let (config, tls) = (args.config.clone(), args.tls.clone());
                    spawn(move || {
                        let _slot = slot;
                        refuse(stream, config, tls);
                    });
                }
                None => drop(stream),
            },
        }
    }
}

/// A place under a limit, given back when dropped, even if the thread holding it
/// panics or never starts.
struct Slot(Arc<AtomicUsize>);

impl Slot {
    fn take(counter: &Arc<AtomicUsize>, limit: usize) -> Option<Slot> {
        counter
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < limit).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot(Arc::clone(counter)))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Runs `work` on a thread of its own; if no thread can be made, `work` is dropped
/// (and with it the slot it holds).
fn spawn(work: impl FnOnce() + Send + 'static) {
    let spawned = std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(work);
    if let Err(e) = spawned {
        eprintln!("no thread for a connection: {e}");
    }
}

/// Opens the connection (over TLS with a server configuration), then echoes.
fn serve(stream: TcpStream, config: Config, tls: Option<Arc<ServerConfig>>) {
    let peer = stream.peer_addr().ok();
    let accept = |_: &wsmachine::Request| Ok(Accept::new());
    let result = match tls {
        Some(tls) => blocking::accept_tls(stream, tls, config, accept).and_then(echo),
        None => blocking::accept_with(stream, config, accept).and_then(echo),
    };
    match result {
        Ok(()) => {}
        Err(Error::Handshake(e)) => eprintln!("{peer:?}: handshake failed: {e}"),
        Err(e) => eprintln!("{peer:?}: {e}"),
    }
}

/// Echoes until the connection ends.
fn echo<S: Read + Write>(mut ws: WebSocket<S>) -> Result<(), Error> {
    loop {
        match ws.read() {
            Ok(message) => ws.send(message)?,
            Err(Error::Closed(_) | Error::AlreadyClosed) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

/// Over the connection limit: read the request (so that closing does not reset the
/// connection and destroy the answer), then answer 503 with `Retry-After`.
fn refuse(stream: TcpStream, mut config: Config, tls: Option<Arc<ServerConfig>>) {
    config.handshake_timeout = Some(REFUSAL_TIMEOUT);
    config.close_timeout = Some(REFUSAL_TIMEOUT);
    let busy = |_: &wsmachine::Request| Err(Reject::new(503).header("Retry-After", "1"));
    if let Some(tls) = tls {
        let _ = blocking::accept_tls(stream, tls, config, busy);
        return;
    }
    let Ok(socket) = stream.try_clone() else {
        return;
    };
    let _ = Builder::new(config).socket(socket).server(stream, busy);
}

/// Exponential backoff for a failing `accept`: 5 ms, doubling up to 1 s.
#[derive(Default)]
struct Backoff(Duration);

impl Backoff {
    fn wait(&mut self) {
        self.0 = (self.0 * 2).clamp(Duration::from_millis(5), Duration::from_secs(1));
        std::thread::sleep(self.0);
    }

    fn reset(&mut self) {
        self.0 = Duration::ZERO;
    }
}
