//! The conformance prober against servers and clients on loopback: a faithful one
//! passes; deliberately wrong ones are caught, each failure shrunk to a small vector
//! in the right class.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use wsmachine::frame::{Frame, FrameDecoder, FrameHeader, OpCode};
use wsmachine::probe::{self, Report, Settings, Target};
use wsmachine::{Config, blocking};

fn settings(cases: usize) -> Settings {
    Settings {
        seed: 7,
        cases,
        budget: Duration::from_secs(60),
        timeout: Duration::from_millis(400),
        shrink_runs: 60,
        reruns: 2,
    }
}

/// Serves `listener` on threads with `serve`.
fn spawn_server(serve: fn(TcpStream)) -> Target {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || serve(stream));
        }
    });
    Target::parse(&url, &[]).unwrap()
}

fn wsmachine_echo(config: Config) -> impl Fn(TcpStream) {
    move |stream| {
        let Ok(mut ws) =
            blocking::Builder::new(config.clone()).server(stream, |_| Ok(wsmachine::Accept::new()))
        else {
            return;
        };
        while let Ok(message) = ws.read() {
            if ws.send(message).is_err() {
                return;
            }
        }
    }
}

fn failure<'a>(report: &'a Report, class: &str) -> Option<&'a probe::Finding> {
    report.failures.iter().find(|f| f.class == class)
}

#[test]
fn the_blocking_echo_server_passes() {
    let target = spawn_server(|s| wsmachine_echo(Config::default())(s));
    let report = probe::probe_server(&target, &settings(120), |_| {});
    assert_eq!(report.cases, 120, "{}", report.summary());
    assert!(report.failures.is_empty(), "{}", report.to_markdown());
    // Every class was drawn.
    assert_eq!(report.tallies.len(), probe::Class::rotation().len() - 2);
}

#[test]
fn a_server_that_never_answers_pings_is_caught() {
    let target = spawn_server(|s| {
        let mut config = Config::default();
        config.auto_pong = false;
        wsmachine_echo(config)(s)
    });
    let mut quick = settings(20);
    quick.timeout = Duration::from_millis(150);
    let report = probe::probe_server(&target, &quick, |l| eprintln!("{l}"));
    eprintln!("{}", report.summary());
    let f = failure(&report, "valid").unwrap_or_else(|| panic!("{}", report.to_markdown()));
    assert_eq!((f.kind, f.section), ("missing-pong", "5.5.2"));
    // Shrunk to one ping and the close: two masked frames, at most 6 + 125 bytes for
    // the ping and 6 + 14 for the close.
    let bytes = f.hex.len() / 2;
    assert!(bytes <= 6 + 125 + 6 + 14, "{}", f.to_text());
    assert_eq!(&f.hex[..2], "89", "a ping first: {}", f.to_text());
    assert_eq!(f.reproduced, Some((2, 2)));
    // The reported vector replays: the same failure from its hex alone, and none
    // from a server that answers pings.
    let case = probe::Case::replay(
        probe::Class::Valid,
        wsmachine::oracle::unhex(&f.hex).unwrap(),
    );
    let again = probe::replay_server(&target, &quick, &case);
    assert_eq!(again.fail.map(|p| p.kind), Some("missing-pong"));
    let good = spawn_server(|s| wsmachine_echo(Config::default())(s));
    assert_eq!(
        probe::replay_server(&good, &quick, &case),
        probe::Judged::default()
    );
}

/// An echo server that checks nothing: it unmasks what comes if it is masked, echoes
/// every data frame as it is, answers pings and closes, and never fails.
fn lax_server(mut stream: TcpStream) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).unwrap_or(0) == 0 {
            return;
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let key = text
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .unwrap_or("")
        .to_string();
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        wsmachine::handshake::accept_key(&key)
    );
    if stream.write_all(response.as_bytes()).is_err() {
        return;
    }
    let mut decoder = FrameDecoder::new(1 << 24);
    let mut buf = vec![0u8; 65536];
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let mut input = &buf[..n];
        while let Ok(Some(frame)) = decoder.decode(&mut input) {
            let opcode = match frame.header.opcode {
                OpCode::Ping => OpCode::Pong,
                OpCode::Pong => continue,
                other => other,
            };
            let mut header = FrameHeader::new(opcode, frame.payload.len() as u64);
            header.fin = frame.header.fin;
            let mut out = Vec::new();
            Frame {
                header,
                payload: frame.payload,
            }
            .encode(&mut out);
            if stream.write_all(&out).is_err() || opcode == OpCode::Close {
                return;
            }
        }
    }
}

#[test]
fn a_server_that_checks_nothing_is_caught_class_by_class() {
    let target = spawn_server(lax_server);
    // One round of the classes; a lax server makes every case wait out the time
    // limit, so it is short.
    let mut quick = settings(probe::Class::rotation().len());
    quick.timeout = Duration::from_millis(100);
    quick.shrink_runs = 25;
    let report = probe::probe_server(&target, &quick, |_| {});
    for class in [
        "violation/wrong-masking",
        "violation/reserved-bits",
        "violation/invalid-utf8",
        "violation/orphan-continuation",
        "two-violations",
    ] {
        let tally = report.tallies[class];
        assert!(
            tally.run > 0 && tally.failed == tally.run,
            "{class}: {}",
            report.to_markdown()
        );
    }
    for f in &report.failures {
        assert!(f.hex.len() / 2 <= f.original_bytes, "{}", f.to_text());
        assert!(f.reproduced.is_some_and(|(r, _)| r > 0), "{}", f.to_text());
    }
    // The wrongly masked frame first: an unmasked "hi" (§5.1), echoed.
    let f = failure(&report, "violation/wrong-masking").unwrap();
    assert_eq!(
        (&f.hex[..8], f.kind, f.section),
        ("81026869", "accepted-violation", "5.1")
    );
}

#[test]
fn clients_are_probed_as_they_connect() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    // An echo client on the blocking glue that connects again whenever a
    // connection ends, until the prober stops listening.
    std::thread::spawn(move || {
        let mut failures = 0;
        while failures < 100 {
            let Ok((mut ws, _)) = blocking::connect(&url) else {
                failures += 1;
                std::thread::sleep(Duration::from_millis(10));
                continue;
            };
            failures = 0;
            while let Ok(message) = ws.read() {
                if ws.send(message).is_err() {
                    break;
                }
            }
        }
    });
    let report = probe::probe_clients(listener, None, &settings(60), |_| {});
    assert_eq!(report.cases, 60, "{}", report.summary());
    assert!(report.failures.is_empty(), "{}", report.to_markdown());
}

#[test]
fn only_loopback_unless_named() {
    assert!(Target::parse("ws://127.0.0.1:9/x?y", &[]).is_ok());
    let t = Target::parse("ws://localhost:9", &[]).unwrap();
    assert_eq!((t.port, t.path.as_str()), (9, "/"));
    let err = Target::parse("ws://192.0.2.1:9/", &[]).unwrap_err();
    assert!(err.contains("--allow"), "{err}");
    assert!(Target::parse("ws://192.0.2.1:9/", &["192.0.2.1".into()]).is_ok());
    assert!(Target::parse("wss://127.0.0.1/", &[]).is_err());
}
