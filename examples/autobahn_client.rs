//! Runs the Autobahn TestSuite client cases against a fuzzing server, such as
//! `kosoku -m fuzzingserver`: asks for the case count, runs each case by echoing
//! every message back, then asks the server to write its reports.
//!
//! ```text
//! cargo run --release --example autobahn_client -- [URL] [--parallel N]
//! ```
//!
//! URL defaults to ws://127.0.0.1:9001. With `--parallel N`, N cases run at once,
//! each on a thread of its own (the cases are independent connections).

use std::sync::atomic::{AtomicU32, Ordering};

use wsmachine::blocking::{self, Error};
use wsmachine::{ClientRequest, Config, Event, Message};

const AGENT: &str = "wsmachine";

fn main() {
    let mut base = String::from("ws://127.0.0.1:9001");
    let mut parallel = 1u32;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                println!(
                    "autobahn_client: runs the Autobahn client cases against a fuzzing server.\n\n\
                     Usage: cargo run --release --example autobahn_client -- [URL] [--parallel N]\n\n\
                     URL defaults to ws://127.0.0.1:9001 (kosoku -m fuzzingserver);\n\
                     --parallel N runs N cases at once (default 1)."
                );
                return;
            }
            "--parallel" => {
                parallel = match args.next().and_then(|n| n.parse().ok()) {
                    Some(n) if n >= 1 => n,
                    _ => {
                        eprintln!("--parallel needs a number of at least 1");
                        std::process::exit(2);
                    }
                }
            }
            url => base = url.trim_end_matches('/').to_string(),
        }
    }
    let count = match case_count(&base) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("cannot get the case count from {base}: {e}");
            std::process::exit(1);
        }
    };
    println!("running {count} cases against {base}, {parallel} at a time");
    let next = AtomicU32::new(1);
    std::thread::scope(|scope| {
        for _ in 0..parallel {
            scope.spawn(|| {
                loop {
                    let case = next.fetch_add(1, Ordering::Relaxed);
                    if case > count {
                        break;
                    }
                    if let Err(e) = run_case(&base, case) {
                        eprintln!("case {case}: {e}");
                    }
                }
            });
        }
    });
    match open(&format!("{base}/updateReports?agent={AGENT}")) {
        Ok(mut ws) => while ws.read().is_ok() {},
        Err(e) => eprintln!("updateReports: {e}"),
    }
    println!("done");
}

fn open(url: &str) -> Result<blocking::WebSocket<std::net::TcpStream>, Error> {
    // The cases send messages of up to 16 MiB; the defaults allow them. Cases 12.*
    // and 13.* need permessage-deflate offered. Two offers, in order of preference:
    // the default one, then one that also promises no context takeover from the
    // client, which the suite's server takes as leave to ask for it (13.2, 13.5,
    // 13.6). The client keeps that promise whenever the second offer fits the answer.
    let deflate = wsmachine::deflate::DeflateConfig::default();
    let mut promising = deflate.clone();
    promising.client_no_context_takeover = true;
    let mut request = ClientRequest::from_url(url)?;
    for offer in deflate.offers().into_iter().chain(promising.offers()) {
        request = request.extension(offer);
    }
    let mut config = Config::default();
    config.deflate = Some(deflate);
    let (ws, _) = blocking::connect_with(request, config)?;
    Ok(ws)
}

fn case_count(base: &str) -> Result<u32, Error> {
    let mut ws = open(&format!("{base}/getCaseCount"))?;
    let message = ws.read()?;
    let count = std::str::from_utf8(message.as_bytes())
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    while ws.read().is_ok() {}
    Ok(count)
}

fn run_case(base: &str, case: u32) -> Result<(), Error> {
    let mut ws = open(&format!("{base}/runCase?case={case}&agent={AGENT}"))?;
    loop {
        match ws.read_event() {
            Ok(Event::Message(message)) => echo(&mut ws, message)?,
            Ok(Event::Closed(_)) | Err(Error::AlreadyClosed) => return Ok(()),
            Ok(_) => {}
            Err(e) => return Err(e),
        }
    }
}

fn echo(ws: &mut blocking::WebSocket<std::net::TcpStream>, message: Message) -> Result<(), Error> {
    match ws.send(message) {
        // The case may have closed the connection already; reading will tell.
        Err(Error::Send(_)) => Ok(()),
        other => other,
    }
}
