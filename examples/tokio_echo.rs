//! The echo server on tokio, with the async glue (`wsmachine::tokio`): one task per
//! connection, every text or binary message sent back as it came.
//!
//! ```text
//! cargo run --release --example tokio_echo -- [--addr 127.0.0.1:9001] [options]
//! ```
//!
//! At most `--max-connections` connections at once; one over the limit has its
//! request read and answered `503 Service Unavailable`. The connection's deadlines
//! (keepalive pings, the idle, write and close timeouts) run on tokio's timer while
//! its task waits in `recv`.

#[path = "support/args.rs"]
mod args;

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use wsmachine::tls::rustls::ServerConfig;
use wsmachine::tokio::{self as ws, Error, WebSocketStream};
use wsmachine::{Accept, Config, Reject};

/// Refusals (503 answers) in progress at once, at most.
const MAX_REFUSALS: usize = 32;

fn usage() -> String {
    format!(
        "tokio_echo: the echo server on tokio.\n\n\
         Usage: cargo run --release --example tokio_echo -- [options]\n\n{}",
        args::SERVER_OPTIONS
    )
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = args::parse_server_args(&usage());
    let listener = TcpListener::bind(&args.addr).await?;
    let scheme = if args.tls.is_some() { "wss" } else { "ws" };
    println!(
        "tokio echo server listening on {scheme}://{}",
        listener.local_addr()?
    );
    let slots = Arc::new(Semaphore::new(args.max_connections));
    let refusals = Arc::new(Semaphore::new(MAX_REFUSALS));
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of descriptors or memory: wait for connections to end.
                eprintln!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let (config, tls) = (args.config.clone(), args.tls.clone());
        if let Ok(slot) = Arc::clone(&slots).try_acquire_owned() {
            tokio::spawn(async move {
                serve(stream, config, tls).await;
                drop(slot);
            });
        } else if let Ok(slot) = Arc::clone(&refusals).try_acquire_owned() {
            tokio::spawn(async move {
                refuse(stream, config, tls).await;
                drop(slot);
            });
        }
    }
}

/// Opens the connection (over TLS with a server configuration), then echoes.
async fn serve(stream: TcpStream, config: Config, tls: Option<Arc<ServerConfig>>) {
    let peer = stream.peer_addr().ok();
    let accept = |_: &wsmachine::Request| Ok(Accept::new());
    let result = match tls {
        Some(tls) => match ws::accept_tls(stream, tls, config, accept).await {
            Ok(socket) => echo(socket).await,
            Err(e) => Err(e),
        },
        None => match ws::accept_with(stream, config, accept).await {
            Ok(socket) => echo(socket).await,
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(()) => {}
        Err(Error::Handshake(e)) => eprintln!("{peer:?}: handshake failed: {e}"),
        Err(e) => eprintln!("{peer:?}: {e}"),
    }
}

/// Echoes until the connection ends.
async fn echo<S: AsyncRead + AsyncWrite + Unpin>(
    mut socket: WebSocketStream<S>,
) -> Result<(), Error> {
    loop {
        match socket.recv().await {
            // Refused only once closing has begun; the next `recv` tells how it ended.
            Ok(message) => match socket.send(message).await {
                Ok(()) | Err(Error::Send(_)) => {}
                Err(e) => return Err(e),
            },
            Err(Error::Closed(_) | Error::AlreadyClosed) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

/// Over the limit: read the request (so that closing does not reset the connection
/// and destroy the answer), then answer 503 with `Retry-After`.
async fn refuse(stream: TcpStream, mut config: Config, tls: Option<Arc<ServerConfig>>) {
    config.handshake_timeout = Some(Duration::from_secs(2));
    config.close_timeout = Some(Duration::from_secs(2));
    let busy = |_: &wsmachine::Request| Err(Reject::new(503).header("Retry-After", "1"));
    let _ = match tls {
        Some(tls) => ws::accept_tls(stream, tls, config, busy).await.map(drop),
        None => ws::accept_with(stream, config, busy).await.map(drop),
    };
}
