//! A WebSocket echo server on the blocking glue: every text or binary message comes
//! back as it was sent.
//!
//! ```text
//! cargo run --release --example echo_server -- [--addr 127.0.0.1:9001] [options]
//! ```
//!
//! Concurrency: one thread per connection, at most `--max-connections` at once
//! (default 1024); a connection over the limit is answered `503 Service Unavailable`
//! and closed. Each thread blocks in the socket read with a timeout taken from the
//! connection's next deadline, so `--ping-interval` / `--idle-timeout` work without
//! any timer thread.

#[path = "support/args.rs"]
mod args;

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use wsmachine::blocking::{self, Error};
use wsmachine::{Accept, Config};

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
    println!("echo server listening on ws://{}", listener.local_addr()?);
    let active = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        if active.load(Ordering::Acquire) >= args.max_connections {
            refuse(stream);
            continue;
        }
        active.fetch_add(1, Ordering::AcqRel);
        let (config, counter) = (args.config.clone(), Arc::clone(&active));
        let spawned = std::thread::Builder::new()
            .stack_size(256 << 10)
            .spawn(move || {
                serve(stream, config);
                counter.fetch_sub(1, Ordering::AcqRel);
            });
        if spawned.is_err() {
            active.fetch_sub(1, Ordering::AcqRel);
        }
    }
    Ok(())
}

/// Echoes until the connection ends.
fn serve(stream: TcpStream, config: Config) {
    let peer = stream.peer_addr().ok();
    let mut ws = match blocking::accept_with(stream, config, |_| Ok(Accept::new())) {
        Ok(ws) => ws,
        Err(e) => {
            eprintln!("{peer:?}: handshake failed: {e}");
            return;
        }
    };
    loop {
        match ws.read() {
            Ok(message) => {
                if let Err(e) = ws.send(message) {
                    eprintln!("{peer:?}: {e}");
                    return;
                }
            }
            Err(Error::Closed(_) | Error::AlreadyClosed) => return,
            Err(e) => {
                eprintln!("{peer:?}: {e}");
                return;
            }
        }
    }
}

/// Over the connection limit: answer 503 without reading further.
fn refuse(mut stream: TcpStream) {
    let _ = stream.write_all(
        b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\n\
          Content-Length: 0\r\n\r\n",
    );
}
