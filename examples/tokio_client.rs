//! A client on the async glue: sends each line of standard input as a text message
//! and prints every message that comes back, for `ws://` and `wss://` URLs.
//!
//! ```text
//! cargo run --release --example tokio_client -- URL [--ca FILE]
//! ```
//!
//! `--ca FILE` trusts the certificates in FILE (PEM) instead of Mozilla's roots,
//! for a server with a private CA. Input and the connection are watched at once
//! with `select!`: a receive that loses the race to a line of input is dropped and
//! started again, which loses nothing. At the end of input the client closes with
//! 1000 and waits for the server's close.

use tokio::io::{AsyncBufReadExt, BufReader};
use wsmachine::tokio::{self as ws, Error};
use wsmachine::{ClientRequest, CloseCode, Config, Message};

#[tokio::main]
async fn main() {
    let mut url = None;
    let mut ca = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--ca" => ca = args.next(),
            "-h" | "--help" => {
                println!(
                    "tokio_client: sends stdin lines, prints what comes back.\n\n\
                     Usage: cargo run --release --example tokio_client -- URL [--ca FILE]\n\n\
                     --ca FILE   trust the CA certificates in FILE (PEM) for wss://"
                );
                return;
            }
            other => url = Some(other.to_string()),
        }
    }
    let url = url.unwrap_or_else(|| String::from("ws://127.0.0.1:9001"));
    if let Err(e) = run(&url, ca.as_deref()).await {
        eprintln!("{url}: {e}");
        std::process::exit(1);
    }
}

async fn run(url: &str, ca: Option<&str>) -> Result<(), Error> {
    let request = ClientRequest::from_url(url)?;
    let (mut socket, _open) = match ca {
        Some(path) => {
            let roots = wsmachine::tls::root_store_from_pem(&std::fs::read(path)?)?;
            let tls = wsmachine::tls::client_config_with_roots(roots);
            ws::connect_with_tls(request, Config::default(), tls).await?
        }
        None => ws::connect_with(request, Config::default()).await?,
    };
    eprintln!("connected to {url}");
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut pending = 0usize;
    let mut input_open = true;
    while input_open || pending > 0 {
        tokio::select! {
            line = lines.next_line(), if input_open => match line? {
                Some(line) => {
                    socket.send(Message::from(line)).await?;
                    pending += 1;
                }
                None => input_open = false,
            },
            message = socket.recv() => {
                let message = message?;
                println!("{}", String::from_utf8_lossy(message.as_bytes()));
                pending = pending.saturating_sub(1);
            }
        }
    }
    let closed = socket.close(CloseCode::NORMAL, "").await?;
    eprintln!("closed: {} {}", closed.code, closed.reason);
    Ok(())
}
