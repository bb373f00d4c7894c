//! Writes byte streams for differential testing, one JSON object per line: the
//! receiving role, the input as hex, the violation it carries (if any) with the RFC
//! section, and the events the oracle requires. Half are valid scripts, half invalid
//! streams; each is checked against the strategies' independent model first.
//!
//! ```text
//! cargo run --release --example gen_streams -- [--count N] [--seed S]   (default 10000, 1)
//! ```

use wsmachine::Role;
use wsmachine::oracle::{self, OracleEvent, json_string};
use wsmachine::strategies::{self, Expected};

const MAX_INPUT: usize = 16 << 10;

fn main() {
    let (mut count, mut seed) = (10_000usize, 1u64);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--count" => count = args.next().and_then(|v| v.parse().ok()).expect("--count N"),
            "--seed" => seed = args.next().and_then(|v| v.parse().ok()).expect("--seed S"),
            _ => {
                println!(
                    "gen_streams: streams for differential testing, as JSON lines.\n\n\
                          Usage: cargo run --release --example gen_streams -- [--count N] [--seed S]"
                );
                return;
            }
        }
    }
    let mut written = 0;
    let mut round = 0;
    while written < count {
        for role in [Role::Server, Role::Client] {
            let sender = role.peer();
            let batch = 50;
            for (i, s) in strategies::sample(strategies::script(), seed * 1000 + round, batch)
                .into_iter()
                .enumerate()
            {
                let input = s.encode(sender, i as u64);
                if input.len() <= MAX_INPUT && written < count {
                    emit(role, &input, None, &s.expected());
                    written += 1;
                }
            }
            for l in strategies::sample(
                strategies::invalid_stream(role),
                seed * 1000 + round + 500,
                batch,
            ) {
                if l.bytes.len() <= MAX_INPUT && written < count {
                    emit(
                        role,
                        &l.bytes,
                        Some((l.violation.name(), l.violation.section())),
                        &l.expected,
                    );
                    written += 1;
                }
            }
        }
        round += 1;
    }
}

fn emit(role: Role, input: &[u8], violation: Option<(&str, &str)>, model: &[Expected]) {
    // The oracle and the model agree, or the generator stops.
    let verdict = strategies::check_against_oracle(role, input, model)
        .unwrap_or_else(|e| panic!("oracle and model disagree on {}: {e}", oracle::hex(input)));
    let (name, section) = match violation {
        Some((n, s)) => (json_string(n), json_string(s)),
        None => ("null".into(), "null".into()),
    };
    let events: Vec<String> = verdict.events.iter().map(OracleEvent::to_json).collect();
    println!(
        r#"{{"role":"{}","input":"{}","violation":{name},"section":{section},"events":[{}]}}"#,
        if role == Role::Server {
            "server"
        } else {
            "client"
        },
        oracle::hex(input),
        events.join(",")
    );
}
