//! A line-oriented WebSocket client: sends each line of standard input as a text
//! message and prints each message that comes back. When the server goes away it
//! reconnects with exponential backoff, and lines typed meanwhile are sent once the
//! connection is back.
//!
//! ```text
//! cargo run --release --example client -- [URL] [--protocol NAME]...   (default ws://127.0.0.1:9001)
//! ```
//!
//! Text messages are printed as they are, one per line; binary messages as
//! `<binary: N bytes>`. Connection news goes to standard error. At the end of input
//! the client waits for replies until the connection has been quiet for a second,
//! then closes normally.
//!
//! With `--echo` it is an echo client instead: it sends every message it receives
//! back as it came, reads nothing from standard input, and exits when the connection
//! ends (the conformance prober's client mode drives it so: `cargo run --release
//! --example probe -- --client -- target/release/examples/client --echo {url}`).

use std::io::BufRead;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use wsmachine::blocking::{ClientEvent, ReconnectingClient};
use wsmachine::{ClientRequest, Config, Event, Message, ReconnectPolicy};

fn main() {
    let mut url = String::from("ws://127.0.0.1:9001");
    let mut protocols = Vec::new();
    let mut config = Config::default();
    let mut echo = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                println!(
                    "client: sends stdin lines as text messages, prints what comes back,\n\
                     reconnects with backoff when the server goes away.\n\n\
                     Usage: cargo run --release --example client -- [URL] [--protocol NAME]... [--deflate] [--echo]\n\n\
                     URL defaults to ws://127.0.0.1:9001. --deflate offers permessage-deflate\n\
                     (RFC 7692) and says on each connection whether the server took it.\n\
                     --echo sends every message back instead and exits when the connection ends."
                );
                return;
            }
            "--protocol" => protocols.extend(args.next()),
            "--echo" => echo = true,
            "--deflate" => config.deflate = Some(wsmachine::deflate::DeflateConfig::default()),
            other => url = other.to_string(),
        }
    }
    let mut request = match ClientRequest::from_url(&url) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    for p in protocols {
        request = request.protocol(p);
    }
    let mut client = ReconnectingClient::with_request(request, config, ReconnectPolicy::default());

    // Standard input is read on its own thread; lines arrive over a channel.
    let (lines_tx, lines) = mpsc::channel::<Option<String>>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            match line {
                Ok(line) => {
                    if lines_tx.send(Some(line)).is_err() {
                        return;
                    }
                }
                Err(_) => break,
            }
        }
        let _ = lines_tx.send(None);
    });

    let mut input_done = false;
    let mut last_activity = Instant::now();
    loop {
        while let Ok(line) = lines.try_recv() {
            match line {
                Some(line) => {
                    if let Err(e) = client.send(Message::from(line)) {
                        eprintln!("send failed: {e}");
                    }
                    last_activity = Instant::now();
                }
                None => input_done = true,
            }
        }
        if !echo
            && input_done
            && client.pending() == 0
            && last_activity.elapsed() > Duration::from_secs(1)
        {
            let _ = client.close();
            return;
        }
        match client.poll(Duration::from_millis(50)) {
            Ok(Some(ClientEvent::Connected(open))) => {
                let protocol = open
                    .protocol
                    .map(|p| format!(" (subprotocol {p})"))
                    .unwrap_or_default();
                let deflate = match open.deflate {
                    Some(p) => format!(" (permessage-deflate: {})", p.to_extension()),
                    None => String::new(),
                };
                eprintln!("connected to {url}{protocol}{deflate}");
                last_activity = Instant::now();
            }
            Ok(Some(ClientEvent::Event(event))) => {
                last_activity = Instant::now();
                match event {
                    Event::Message(message) if echo => {
                        if let Err(e) = client.send(message) {
                            eprintln!("echo failed: {e}");
                        }
                    }
                    Event::Message(Message::Text(text)) => println!("{text}"),
                    Event::Message(Message::Binary(data)) => {
                        println!("<binary: {} bytes>", data.len())
                    }
                    _ => {}
                }
            }
            Ok(Some(ClientEvent::Disconnected { error, .. })) if echo => {
                eprintln!("disconnected ({error})");
                return;
            }
            Ok(Some(ClientEvent::Disconnected { error, retry_in })) => match retry_in {
                Some(delay) => eprintln!("disconnected ({error}); retrying in {delay:.1?}"),
                None => {
                    eprintln!("disconnected ({error}); giving up");
                    std::process::exit(1);
                }
            },
            Ok(Some(_) | None) => {}
            Err(e) => {
                eprintln!("error: {e}");
                std::process::exit(1);
            }
        }
    }
}
