//! The echo server embedded in tokio through the sans-I/O API: no blocking glue, no
//! WebSocket code but this loop. It shows the whole driving contract in an async
//! runtime: feed what the socket gives, drain events, write what the connection
//! queues, sleep until its next deadline, honour its transport verdict.
//!
//! ```text
//! cargo run --release --example tokio_echo -- [--addr 127.0.0.1:9001] [options]
//! ```
//!
//! Concurrency: one tokio task per connection on the multi-threaded runtime, at most
//! `--max-connections` at once (503 beyond).

#[path = "support/args.rs"]
mod args;

use std::io::IoSlice;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use wsmachine::{Accept, Clock, Config, Connection, Event, State, TransportAction};

fn usage() -> String {
    format!(
        "tokio_echo: the echo server on tokio, driving the sans-I/O Connection directly.\n\n\
         Usage: cargo run --release --example tokio_echo -- [options]\n\n{}",
        args::SERVER_OPTIONS
    )
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = args::parse_server_args(&usage());
    let listener = TcpListener::bind(&args.addr).await?;
    println!(
        "tokio echo server listening on ws://{}",
        listener.local_addr()?
    );
    let slots = Arc::new(Semaphore::new(args.max_connections));
    loop {
        let (mut stream, _) = listener.accept().await?;
        let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
            let _ = stream
                .write_all(b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
                .await;
            continue;
        };
        let config = args.config.clone();
        tokio::spawn(async move {
            if let Err(e) = serve(stream, config).await {
                eprintln!("connection error: {e}");
            }
            drop(permit);
        });
    }
}

async fn serve(mut stream: TcpStream, config: Config) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let clock = Clock::new();
    let now = || clock.now();
    let mut conn = Connection::server(config, now()).expect("the settings were validated");
    let mut buf = vec![0u8; 16 << 10];
    loop {
        // 1. Events: accept every upgrade request, echo every message.
        while let Some(event) = conn.poll_event() {
            match event {
                Event::Request(_) => {
                    let _ = conn.accept(now(), Accept::new());
                }
                Event::Message(message) => {
                    // Refused only once closing has begun; then there is no one to echo to.
                    let _ = conn.send(message);
                }
                _ => {}
            }
        }
        // 2. Output: everything the connection queued, with vectored writes. A write
        //    that makes no progress waits only until the connection's next deadline
        //    (the write timeout at the latest), so a peer that stops reading is
        //    dropped like one that stops sending.
        while conn.buffered_amount() > 0 {
            let closed = conn.state() == State::Closed;
            let wait = match conn.poll_timeout() {
                Some(deadline) => Some(clock.instant(deadline)),
                // An ended connection has no deadline left: a second for its last bytes.
                None if closed => Some(std::time::Instant::now() + Duration::from_secs(1)),
                None => None,
            };
            let written = {
                let mut slices: [&[u8]; 32] = [&[]; 32];
                let n = conn.transmit_vectored(&mut slices);
                let io: Vec<IoSlice<'_>> = slices[..n].iter().map(|s| IoSlice::new(s)).collect();
                let write = stream.write_vectored(&io);
                match wait {
                    Some(at) => tokio::time::timeout_at(at.into(), write).await,
                    None => Ok(write.await),
                }
            };
            match written {
                Ok(Ok(0)) => return Ok(()),
                Ok(Ok(n)) => conn.advance_transmit(n),
                Ok(Err(e)) => return Err(e),
                Err(_elapsed) if closed => return Ok(()),
                Err(_elapsed) => conn.handle_timeout(now()),
            }
        }
        // 3. The transport verdict.
        match conn.transport() {
            TransportAction::Keep => {}
            TransportAction::Close => return Ok(()),
            TransportAction::Shutdown => stream.shutdown().await?,
            // Keep reading until the client closes (or the close timeout passes).
            TransportAction::AwaitEof => {}
        }
        // 4. Wait for bytes or for the next deadline, whichever comes first.
        let sleep = match conn.poll_timeout() {
            Some(deadline) => deadline.saturating_duration_since(now()),
            None => Duration::from_secs(3600),
        };
        tokio::select! {
            read = stream.read(&mut buf) => match read {
                Ok(0) | Err(_) => conn.handle_eof(now()),
                // Every event was polled before this read: all of it is taken.
                Ok(n) => {
                    let taken = conn.handle_data(now(), &buf[..n]);
                    debug_assert_eq!(taken, n);
                }
            },
            () = tokio::time::sleep(sleep) => conn.handle_timeout(now()),
        }
    }
}
