//! A conformance prober: tests a live WebSocket echo server, or echo clients, against
//! RFC 6455 with drawn streams, and prints each failure shrunk to a minimal vector.
//!
//! ```text
//! cargo run --release --example probe -- ws://127.0.0.1:9001/ [options]
//! cargo run --release --example probe -- --client [--listen 127.0.0.1:9002] [options] [-- PROGRAM ARGS...]
//! ```
//!
//! In client mode the prober listens and plays a server; after `--` comes a command
//! it starts for each case, with `{url}` in its arguments replaced by the prober's
//! URL. Without one it takes the clients that connect on their own.
//!
//! Options: `--seed N` (0), `--cases N` (300), `--time SECS` (120), `--timeout-ms MS`
//! (500: how long the peer may be silent when an answer is due), `--shrink N` (150
//! runs per failure), `--allow HOST` (probe a host that is not loopback),
//! `--markdown FILE` and `--json FILE` (write the report). Exits 1 if anything failed.
//!
//! `--replay HEX [--class NAME]` runs one reported vector instead: the stream after a
//! plain handshake, in one write, judged as the class the report named (`valid` by
//! default; it decides only which choices the RFC leaves open), against the server
//! or (with `--client`) the next client.

use std::net::TcpListener;
use std::time::Duration;

use wsmachine::probe::{self, Settings, Spawn, Target};

fn main() {
    let mut settings = Settings::default();
    let (mut url, mut client, mut listen) = (None, false, String::from("127.0.0.1:9002"));
    let (mut allowed, mut markdown, mut json, mut spawn) = (Vec::new(), None, None, None);
    let (mut replay, mut class) = (None, String::from("valid"));
    let mut args = std::env::args().skip(1);
    let number = |v: Option<String>, what: &str| -> u64 {
        v.and_then(|v| v.parse().ok()).unwrap_or_else(|| {
            eprintln!("{what} takes a number");
            std::process::exit(2)
        })
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                println!(
                    "probe: tests a WebSocket echo server (or echo clients) against RFC 6455.\n\n\
                     Usage: probe ws://HOST:PORT/PATH [options]\n       \
                     probe --client [--listen ADDR] [options] [-- PROGRAM ARGS... ({{url}} is replaced)]\n\n\
                     Options: --seed N, --cases N, --time SECS, --timeout-ms MS, --shrink N,\n\
                     --allow HOST (a host that is not loopback), --markdown FILE, --json FILE,\n\
                     --replay HEX [--class NAME] (one reported vector)"
                );
                return;
            }
            "--client" => client = true,
            "--listen" => listen = args.next().unwrap_or(listen),
            "--seed" => settings.seed = number(args.next(), "--seed"),
            "--cases" => settings.cases = number(args.next(), "--cases") as usize,
            "--time" => settings.budget = Duration::from_secs(number(args.next(), "--time")),
            "--timeout-ms" => {
                settings.timeout = Duration::from_millis(number(args.next(), "--timeout-ms"))
            }
            "--shrink" => settings.shrink_runs = number(args.next(), "--shrink") as usize,
            "--allow" => allowed.extend(args.next()),
            "--markdown" => markdown = args.next(),
            "--json" => json = args.next(),
            "--replay" => replay = args.next(),
            "--class" => class = args.next().unwrap_or(class),
            "--" => {
                let rest: Vec<String> = args.by_ref().collect();
                if let Some((program, args)) = rest.split_first() {
                    spawn = Some(Spawn {
                        program: program.clone(),
                        args: args.to_vec(),
                    });
                }
            }
            other => url = Some(other.to_string()),
        }
    }
    if let Some(hex) = replay {
        let Some(stream) = wsmachine::oracle::unhex(&hex) else {
            eprintln!("--replay takes hex");
            std::process::exit(2)
        };
        let Some(class) = probe::Class::from_name(&class) else {
            eprintln!("no class {class:?} (valid, violation/wrong-masking, two-violations, ...)");
            std::process::exit(2)
        };
        let case = probe::Case::replay(class, stream);
        let judged = if client {
            let listener = listen_on(&listen);
            probe::replay_client(&listener, spawn.as_ref(), &settings, &case)
        } else {
            probe::replay_server(&target_of(url, &allowed), &settings, &case)
        };
        for (label, p) in judged
            .fail
            .iter()
            .map(|p| ("FAIL", p))
            .chain(judged.open.iter().map(|p| ("OPEN", p)))
        {
            println!(
                "{label} {} (§{})\n  expected: {}\n  observed: {}",
                p.kind, p.section, p.expected, p.observed
            );
        }
        if judged.fail.is_some() {
            std::process::exit(1);
        }
        println!("passed: the peer did what RFC 6455 requires of it");
        return;
    }
    let log = |line: &str| eprintln!("{line}");
    let report = if client {
        probe::probe_clients(listen_on(&listen), spawn, &settings, log)
    } else {
        probe::probe_server(&target_of(url, &allowed), &settings, log)
    };
    for f in report.open.iter() {
        eprint!("{}", f.to_text());
    }
    println!("{}", report.summary());
    for (path, text) in [(markdown, report.to_markdown()), (json, report.to_json())] {
        if let Some(path) = path
            && let Err(e) = std::fs::write(&path, text)
        {
            eprintln!("{path}: {e}");
        }
    }
    if !report.failures.is_empty() {
        std::process::exit(1);
    }
}

fn listen_on(addr: &str) -> TcpListener {
    let listener = TcpListener::bind(addr).unwrap_or_else(|e| {
        eprintln!("cannot listen on {addr}: {e}");
        std::process::exit(2)
    });
    eprintln!("listening on ws://{addr}/");
    listener
}

fn target_of(url: Option<String>, allowed: &[String]) -> Target {
    let Some(url) = url else {
        eprintln!("give the server's URL, or --client; --help for more");
        std::process::exit(2)
    };
    Target::parse(&url, allowed).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2)
    })
}
