//! What RFC 6455 requires of an endpoint that receives the bytes on standard input:
//! one JSON object per event, so that an implementation in any language can diff
//! against it.
//!
//! ```text
//! printf '\x81\x05Hello\x83\x00' | cargo run --example oracle -- --role client
//! {"event":"message","kind":"text","data":"Hello"}
//! {"event":"close","code":1002,"reason":"","clean":false,"error":"protocol error: reserved opcode 0x3"}
//! ```

use std::io::Read;

use wsmachine::Role;
use wsmachine::oracle::{self, Options};

const USAGE: &str = "\
oracle: prints what RFC 6455 requires of an endpoint receiving standard input.

Usage: cargo run --example oracle -- --role client|server [--hex] [--handshake] [--frames]

  --role R      the role of the receiving endpoint (required)
  --hex         standard input is hex (white space ignored), not raw bytes
  --handshake   start at the opening handshake: a server expects an upgrade request
                first (and accepts any valid one); a client expects the response to
                the request that --print-request shows
  --frames      also print the frames the endpoint sends in answer, unmasked:
                {\"event\":\"answer\",\"frames\":[{\"opcode\":\"pong\",\"fin\":true,\"hex\":\"..\"}]}
  --print-request  print the client's handshake request and exit

Events: request, open, message (text: \"data\" as a JSON string; binary: \"hex\"), ping,
pong, close (code, reason, clean, and error/status when it failed). The input is all
the peer sent: it ends with the end of the stream (1006 unless a close came first).";

fn main() {
    let mut role = None;
    let (mut hex, mut handshake, mut frames) = (false, false, false);
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "-h" | "--help" => return println!("{USAGE}"),
            "--role" => {}
            "client" => role = Some(Role::Client),
            "server" => role = Some(Role::Server),
            "--hex" => hex = true,
            "--handshake" => handshake = true,
            "--frames" => frames = true,
            "--print-request" => {
                let mut conn = wsmachine::Connection::client(
                    oracle::config(),
                    oracle::client_request(),
                    wsmachine::SeededEntropy::new(0),
                    wsmachine::Timestamp::ZERO,
                )
                .expect("the oracle's request is valid");
                let mut out = Vec::new();
                conn.transmit_into(&mut out);
                print!("{}", String::from_utf8_lossy(&out));
                return;
            }
            other => fail(&format!("unknown argument {other}")),
        }
    }
    let Some(role) = role else {
        fail("--role client|server is required")
    };
    let mut input = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut input) {
        fail(&format!("reading standard input: {e}"));
    }
    if hex {
        let text = String::from_utf8_lossy(&input).into_owned();
        input = oracle::unhex(&text).unwrap_or_else(|| fail("standard input is not hex"));
    }
    let verdict = oracle::run_with(Options { role, handshake }, &input);
    for event in &verdict.events {
        println!("{}", event.to_json());
    }
    if frames {
        println!(r#"{{"event":"answer","frames":{}}}"#, verdict.frames_json());
    }
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}\n\n{USAGE}");
    std::process::exit(2)
}
