//! Regression tests: event order at end of stream, handshake deadlines in the
//! blocking glue, header injection, timer termination, stable handed-out output,
//! closing without a socket, interim 1xx responses, close codes after our close.

use std::sync::mpsc;
use std::time::Duration;

use wsmachine::frame::OpCode;
use wsmachine::{
    ClientRequest, CloseCode, Config, Connection, ConnectionError, Event, SeededEntropy, Timestamp,
};

mod common;
use common::{T0, assert_sent_close, drain_events as drain, feed, frames, server_with as server};

/// A whole frame as a client sends it (masked).
fn c2s(opcode: OpCode, payload: &[u8]) -> Vec<u8> {
    common::c2s(opcode, true, payload)
}

// ---- the end of the stream behind unpolled events ----

#[test]
fn eof_behind_an_unpolled_close_keeps_the_clean_close() {
    let mut s = server(Config::default());
    let mut wire = c2s(OpCode::Text, b"unpolled");
    wire.extend(c2s(OpCode::Close, b"\x03\xe8bye"));
    feed(&mut s, T0, &wire);
    s.handle_eof(T0); // the peer sent Close then FIN; events not polled yet
    let events = drain(&mut s);
    let Some(Event::Closed(c)) = events.last() else {
        panic!("{events:?}")
    };
    assert_eq!(
        (c.code, c.clean, c.reason.as_str()),
        (CloseCode::NORMAL, true, "bye"),
        "{events:?}"
    );
    let mut out = Vec::new();
    s.transmit_into(&mut out);
    assert_sent_close(&out, 1000);
}

#[test]
fn eof_behind_an_unpolled_violation_still_sends_1002() {
    let mut s = server(Config::default());
    let mut wire = c2s(OpCode::Text, b"unpolled");
    wire.extend([0x81, 0x01, b'x']); // unmasked frame to a server: §5.1, 1002
    feed(&mut s, T0, &wire);
    s.handle_eof(T0);
    let events = drain(&mut s);
    let Some(Event::Closed(c)) = events.last() else {
        panic!("{events:?}")
    };
    assert_eq!(c.code, CloseCode::PROTOCOL_ERROR, "{events:?}");
    assert!(
        matches!(c.error, Some(ConnectionError::Protocol(_))),
        "{events:?}"
    );
    let mut out = Vec::new();
    s.transmit_into(&mut out);
    assert_sent_close(&out, 1002);
}

// ---- deadlines during a blocking handshake ----

#[test]
fn blocking_connect_enforces_the_handshake_timeout() {
    // Never accepted: the kernel completes the TCP handshake, nobody answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut config = Config::default();
    config.handshake_timeout = Some(Duration::from_millis(300));
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let request = ClientRequest::from_url(&format!("ws://{addr}/")).unwrap();
        let result = wsmachine::blocking::connect_with(request, config);
        let _ = tx.send(result.is_err());
    });
    let outcome = rx.recv_timeout(Duration::from_secs(5));
    drop(listener);
    assert_eq!(
        outcome,
        Ok(true),
        "connect_with ignored handshake_timeout (300 ms)"
    );
}

// ---- header fields a caller supplies ----

#[test]
fn client_request_refuses_crlf_in_host_and_extensions() {
    use wsmachine::handshake::Extension;
    let key = "dGhlIHNhbXBsZSBub25jZQ==";
    let show = |r: Result<Vec<u8>, _>| r.map(|h| String::from_utf8_lossy(&h).into_owned());

    let r = ClientRequest::new("example.com\r\nX-Injected: 1", "/");
    let head = r.encode(key);
    assert!(head.is_err(), "{:?}", show(head));

    let r = ClientRequest::new("example.com", "/")
        .extension(Extension::new("x").param("a", Some("1\r\nX-Injected: 1")));
    let head = r.encode(key);
    assert!(head.is_err(), "{:?}", show(head));

    let r = ClientRequest::new("example.com", "/").extension(Extension::new("x\r\nX-Injected: 1"));
    let head = r.encode(key);
    assert!(head.is_err(), "{:?}", show(head));
}

// ---- timers always terminate (these would hang, so they wait in a thread) ----

fn returns_within(secs: u64, f: impl FnOnce() + Send + 'static) -> bool {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        f();
        let _ = tx.send(());
    });
    rx.recv_timeout(Duration::from_secs(secs)).is_ok()
}

#[test]
fn a_zero_ping_interval_does_not_hang_handle_timeout() {
    let mut config = Config::default();
    config.ping_interval = Some(Duration::ZERO);
    config.max_buffered_output = 4096; // keep the spinning thread's memory small
    assert!(
        returns_within(5, move || server(config).handle_timeout(T0)),
        "handle_timeout never returned"
    );
}

#[test]
fn handle_timeout_at_the_end_of_time_returns() {
    let mut config = Config::default();
    config.ping_interval = Some(Duration::from_secs(30)); // pong_timeout stays None
    config.max_buffered_output = 4096;
    assert!(
        returns_within(5, move || {
            server(config).handle_timeout(Timestamp::from_duration(Duration::MAX))
        }),
        "handle_timeout never returned"
    );
}

// ---- bytes handed to the transport are never rewritten ----

#[test]
fn output_already_handed_out_is_never_rewritten() {
    let mut config = Config::default();
    // Room for the two frames below with their records (3 + 52 bytes), not for a
    // third frame of 14 bytes.
    config.max_buffered_output = 160;
    let mut s = server(config);
    feed(&mut s, T0, &c2s(OpCode::Ping, b"a")); // pong "a": 3 bytes queued
    drain(&mut s);
    s.send_binary(vec![0u8; 50]).unwrap(); // +52 = 55 buffered
    // The transport takes the pong's bytes (e.g. an io_uring write is submitted)...
    let mut wire = s.transmit()[..3].to_vec();
    assert_eq!(wire, [0x8A, 0x01, b'a']);
    // ...and before it completes another ping arrives, whose pong does not fit.
    feed(&mut s, T0, &c2s(OpCode::Ping, b"bbbbbbbbbbbb"));
    drain(&mut s);
    s.advance_transmit(wire.len()); // the 3 bytes were written
    s.transmit_into(&mut wire);
    let fs = frames(&wire);
    // Expected order: pong "a", the binary frame, then the newer pong.
    assert!(fs.iter().all(|f| f.header.rsv == 0), "{fs:?}");
    assert!(
        fs.iter()
            .any(|f| f.header.opcode == OpCode::Binary && f.payload.len() == 50),
        "the binary frame was lost in the corrupted stream: {fs:?}"
    );
}

// ---- closing without a socket ----

#[cfg(unix)]
#[test]
fn clean_close_without_a_socket_does_not_deadlock() {
    use std::os::unix::net::UnixStream;
    use wsmachine::{Accept, blocking};
    let (a, b) = UnixStream::pair().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut ws = blocking::server(a, Config::default(), |_| Ok(Accept::new())).unwrap();
        let closed = ws.close(CloseCode::NORMAL, "bye");
        let _ = tx.send(closed.is_ok());
    });
    std::thread::spawn(move || {
        let (mut ws, _open) = blocking::client_with_entropy(
            b,
            ClientRequest::new("example.com", "/"),
            Config::default(),
            SeededEntropy::new(1),
        )
        .unwrap();
        let _ = ws.read(); // gets the close, echoes it, then waits for the server's EOF
    });
    // close_timeout is 10 s; wait well past it.
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(20)),
        Ok(true),
        "server close() never returned: both ends wait for the other's EOF"
    );
}

// ---- interim responses ----

#[test]
fn interim_1xx_before_101_is_skipped() {
    let request = ClientRequest::new("example.com", "/");
    let mut c = Connection::client(Config::default(), request, SeededEntropy::new(1), T0).unwrap();
    let key = common::sent_key(&mut c);
    let accept = wsmachine::handshake::accept_key(&key);
    let response = format!(
        "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n\
         HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    feed(&mut c, T0, response.as_bytes());
    let events = drain(&mut c);
    assert!(matches!(events.first(), Some(Event::Open(_))), "{events:?}");
}

// ---- the code reported after our own close ----

#[test]
fn failure_after_our_close_reports_a_code_we_sent() {
    let mut s = server(Config::default());
    s.close(T0, CloseCode::NORMAL, "").unwrap();
    feed(&mut s, T0, &c2s(OpCode::Text, b"\xff")); // invalid UTF-8 (would be 1007)
    let events = drain(&mut s);
    let Some(Event::Closed(c)) = events.last() else {
        panic!("{events:?}")
    };
    // event.rs: "the code of the close frame sent for it ... or 1006 when none was".
    assert!(
        c.code == CloseCode::NORMAL || c.code == CloseCode::ABNORMAL,
        "reported {} but only a 1000 close frame was sent",
        c.code
    );
}

// ---- automatic pongs and interim responses ----

/// A pong larger than the whole output limit still goes out once the queue is empty
/// (§5.5.2: a ping MUST be answered).
#[test]
fn a_pong_larger_than_the_output_limit_is_still_sent() {
    let mut config = Config::default();
    config.max_buffered_output = 64;
    let mut s = server(config);
    feed(&mut s, T0, &c2s(OpCode::Ping, &[7u8; 100]));
    let events = drain(&mut s);
    assert!(matches!(events[..], [Event::Ping(_)]), "{events:?}");
    let mut out = Vec::new();
    s.transmit_into(&mut out);
    let fs = frames(&out);
    assert_eq!(fs.len(), 1, "the ping was never answered");
    assert_eq!(fs[0].header.opcode, OpCode::Pong);
    assert_eq!(&fs[0].payload[..], &[7u8; 100][..]);
}

/// Interim responses are skipped in a loop, not by recursion, and only so many: a
/// flood of `100 Continue` in one read neither overflows a small stack nor keeps the
/// handshake alive.
#[test]
fn many_interim_responses_in_one_read_do_not_recurse() {
    let t = std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(|| {
            let request = ClientRequest::new("example.com", "/");
            let mut c =
                Connection::client(Config::default(), request, SeededEntropy::new(1), T0).unwrap();
            let input = b"HTTP/1.1 100 Continue\r\n\r\n".repeat(20_000);
            feed(&mut c, T0, &input);
            let events = drain(&mut c);
            (c.state(), events)
        })
        .unwrap();
    let (state, events) = t.join().unwrap();
    assert_eq!(state, wsmachine::State::Closed);
    assert!(matches!(
        &events[..],
        [Event::Closed(c)] if c.error == Some(ConnectionError::Handshake(wsmachine::HandshakeError::Malformed))
    ));
}
