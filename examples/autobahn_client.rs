//! Runs the Autobahn TestSuite client cases against a fuzzing server, such as
//! `kosoku -m fuzzingserver`: asks for the case count, runs each case by echoing
//! every message back, then asks the server to write its reports.
//!
//! ```text
//! cargo run --release --example autobahn_client -- [URL] [--parallel N] [--tokio]
//! ```
//!
//! URL defaults to ws://127.0.0.1:9001. With `--parallel N`, N cases run at once,
//! each on a thread of its own (the cases are independent connections). With
//! `--tokio`, the cases run on the async glue (`wsmachine::tokio`) instead, N
//! tasks at a time on a tokio runtime.

use std::sync::atomic::{AtomicU32, Ordering};

use wsmachine::blocking::{self, Error};
use wsmachine::{ClientRequest, Config, Event, Message};

const AGENT: &str = "wsmachine";

fn main() {
    let mut base = String::from("ws://127.0.0.1:9001");
    let mut parallel = 1u32;
    let mut on_tokio = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                println!(
                    "autobahn_client: runs the Autobahn client cases against a fuzzing server.\n\n\
                     Usage: cargo run --release --example autobahn_client -- [URL] [--parallel N] [--tokio]\n\n\
                     URL defaults to ws://127.0.0.1:9001 (kosoku -m fuzzingserver);\n\
                     --parallel N runs N cases at once (default 1);\n\
                     --tokio runs them on the async glue."
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
            "--tokio" => on_tokio = true,
            url => base = url.trim_end_matches('/').to_string(),
        }
    }
    if on_tokio {
        let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
        runtime.block_on(on_async::run(base, parallel));
        return;
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

/// The request and configuration every case connects with.
fn request_and_config(url: &str) -> Result<(ClientRequest, Config), Error> {
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
    Ok((request, config))
}

fn open(url: &str) -> Result<blocking::WebSocket<blocking::MaybeTlsStream>, Error> {
    let (request, config) = request_and_config(url)?;
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

fn echo(
    ws: &mut blocking::WebSocket<blocking::MaybeTlsStream>,
    message: Message,
) -> Result<(), Error> {
    match ws.send(message) {
        // The case may have closed the connection already; reading will tell.
        Err(Error::Send(_)) => Ok(()),
        other => other,
    }
}

/// The same client on the async glue.
mod on_async {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use wsmachine::Event;
    use wsmachine::tokio::{self as ws, Error, MaybeTlsStream, WebSocketStream};

    use super::{AGENT, request_and_config};

    pub async fn run(base: String, parallel: u32) {
        let count = match case_count(&base).await {
            Ok(n) => n,
            Err(e) => {
                eprintln!("cannot get the case count from {base}: {e}");
                std::process::exit(1);
            }
        };
        println!("running {count} cases against {base} on tokio, {parallel} at a time");
        let next = Arc::new(AtomicU32::new(1));
        let base = Arc::new(base);
        let workers: Vec<_> = (0..parallel)
            .map(|_| {
                let (next, base) = (Arc::clone(&next), Arc::clone(&base));
                tokio::spawn(async move {
                    loop {
                        let case = next.fetch_add(1, Ordering::Relaxed);
                        if case > count {
                            break;
                        }
                        if let Err(e) = run_case(&base, case).await {
                            eprintln!("case {case}: {e}");
                        }
                    }
                })
            })
            .collect();
        for worker in workers {
            let _ = worker.await;
        }
        match open(&format!("{base}/updateReports?agent={AGENT}")).await {
            Ok(mut socket) => while socket.recv().await.is_ok() {},
            Err(e) => eprintln!("updateReports: {e}"),
        }
        println!("done");
    }

    async fn open(url: &str) -> Result<WebSocketStream<MaybeTlsStream>, Error> {
        let (request, config) = request_and_config(url)?;
        let (socket, _) = ws::connect_with(request, config).await?;
        Ok(socket)
    }

    async fn case_count(base: &str) -> Result<u32, Error> {
        let mut socket = open(&format!("{base}/getCaseCount")).await?;
        let message = socket.recv().await?;
        let count = std::str::from_utf8(message.as_bytes())
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        while socket.recv().await.is_ok() {}
        Ok(count)
    }

    async fn run_case(base: &str, case: u32) -> Result<(), Error> {
        let mut socket = open(&format!("{base}/runCase?case={case}&agent={AGENT}")).await?;
        loop {
            match socket.recv_event().await {
                Ok(Event::Message(message)) => match socket.send(message).await {
                    // The case may have closed the connection already; reading tells.
                    Ok(()) | Err(Error::Send(_)) => {}
                    Err(e) => return Err(e),
                },
                Ok(Event::Closed(_)) | Err(Error::AlreadyClosed) => return Ok(()),
                Ok(_) => {}
                Err(e) => return Err(e),
            }
        }
    }
}
