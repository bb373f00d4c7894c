//! The blocking glue over real sockets on 127.0.0.1. Few connections, short
//! deadlines: the whole file runs in well under a second.
#![cfg(feature = "blocking")]

use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use wsmachine::blocking::{self, Error};
use wsmachine::{
    Accept, ClientRequest, CloseCode, Config, ConnectionError, HandshakeError, Message, Reject,
    Timeout,
};

fn listener() -> (TcpListener, String) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/path", l.local_addr().unwrap());
    (l, url)
}

#[test]
fn echo_then_client_initiated_close() {
    let (l, url) = listener();
    let server = thread::spawn(move || {
        let (stream, _) = l.accept().unwrap();
        let mut ws = blocking::accept_with(stream, Config::default(), |request| {
            assert_eq!(request.path(), "/path");
            Ok(Accept::new().protocol("echo"))
        })
        .unwrap();
        loop {
            match ws.read() {
                Ok(m) => ws.send(m).unwrap(),
                Err(Error::Closed(closed)) => return closed,
                Err(e) => panic!("{e}"),
            }
        }
    });
    let request = ClientRequest::from_url(&url).unwrap().protocol("echo");
    let (mut ws, open) = blocking::connect_with(request, Config::default()).unwrap();
    assert_eq!(open.protocol.as_deref(), Some("echo"));
    for message in [Message::from("text"), Message::from(vec![0u8; 100_000])] {
        ws.send(message.clone()).unwrap();
        assert_eq!(ws.read().unwrap(), message);
    }
    let closed = ws.close(CloseCode::NORMAL, "done").unwrap();
    assert!(closed.clean);
    assert_eq!(closed.code, CloseCode::NORMAL);
    let server_saw = server.join().unwrap();
    assert_eq!(
        (server_saw.code, server_saw.reason.as_str()),
        (CloseCode::NORMAL, "done")
    );
    assert!(matches!(ws.read(), Err(Error::AlreadyClosed)));
}

#[test]
fn server_initiated_close_reaches_the_client() {
    let (l, url) = listener();
    let server = thread::spawn(move || {
        let (stream, _) = l.accept().unwrap();
        let mut ws = blocking::accept(stream).unwrap();
        ws.close(CloseCode::GOING_AWAY, "restart").unwrap()
    });
    let (mut ws, _) = blocking::connect(&url).unwrap();
    match ws.read() {
        Err(Error::Closed(c)) => assert_eq!((c.code, c.clean), (CloseCode::GOING_AWAY, true)),
        other => panic!("{other:?}"),
    }
    assert!(server.join().unwrap().clean);
}

#[test]
fn a_rejection_reaches_the_client_with_status_and_body() {
    let (l, url) = listener();
    let server = thread::spawn(move || {
        let (stream, _) = l.accept().unwrap();
        let result = blocking::accept_with(stream, Config::default(), |_| {
            Err(Reject::new(401)
                .header("WWW-Authenticate", "Bearer")
                .body("token?"))
        });
        assert!(matches!(
            result,
            Err(Error::Handshake(HandshakeError::RejectedByApplication(401)))
        ));
    });
    match blocking::connect(&url) {
        Err(Error::Handshake(HandshakeError::Rejected(r))) => {
            assert_eq!(r.status, 401);
            assert_eq!(r.headers.get_str("www-authenticate"), Some("Bearer"));
            assert_eq!(&r.body[..], b"token?");
        }
        other => panic!("{other:?}"),
    }
    server.join().unwrap();
}

/// Deadlines are enforced while blocked in `read`: the client pings a silent server
/// (which answers the pings: the connection stays), and a server with an idle
/// timeout drops a client that sends nothing.
#[test]
fn heartbeat_deadlines_fire_while_blocked_in_read() {
    let (l, url) = listener();
    let server = thread::spawn(move || {
        let (stream, _) = l.accept().unwrap();
        let mut config = Config::default();
        // Pings are not messages: an idle timeout would end this connection. This one
        // only bounds the test if the client never goes away.
        config.idle_timeout = Some(Duration::from_secs(4));
        let mut ws = blocking::accept_with(stream, config, |_| Ok(Accept::new())).unwrap();
        let mut pings = 0;
        loop {
            match ws.read_event() {
                Ok(wsmachine::Event::Ping(_)) => pings += 1,
                Ok(wsmachine::Event::Closed(c)) => return (pings, c),
                Ok(_) => {}
                Err(e) => panic!("{e}"),
            }
        }
    });
    let mut config = Config::default();
    config.ping_interval = Some(Duration::from_millis(50));
    config.pong_timeout = Some(Duration::from_millis(200));
    let (mut ws, _) =
        blocking::connect_with(ClientRequest::from_url(&url).unwrap(), config).unwrap();
    let started = Instant::now();
    // Pongs keep the client's side alive; read for a while, then go away.
    while let Some(left) = Duration::from_millis(400).checked_sub(started.elapsed()) {
        match ws.read_event_timeout(left).unwrap() {
            None | Some(wsmachine::Event::Pong(_)) => {}
            Some(other) => panic!("{other:?}"),
        }
    }
    assert!(ws.connection().rtt().is_some(), "pings were answered");
    drop(ws);
    let (pings, closed) = server.join().unwrap();
    assert!(pings >= 2, "{pings} pings");
    // The client went away without a close frame: 1006.
    assert_eq!(closed.code, CloseCode::ABNORMAL);
    assert!(started.elapsed() < Duration::from_secs(5));

    // A client that says nothing is dropped by the server's idle timeout.
    let (l, url) = listener();
    let server = thread::spawn(move || {
        let (stream, _) = l.accept().unwrap();
        let mut config = Config::default();
        config.idle_timeout = Some(Duration::from_millis(150));
        let mut ws = blocking::accept_with(stream, config, |_| Ok(Accept::new())).unwrap();
        match ws.read() {
            Err(Error::Closed(c)) => c,
            other => panic!("{other:?}"),
        }
    });
    let (mut silent, _) = blocking::connect(&url).unwrap();
    let closed = server.join().unwrap();
    assert_eq!(closed.error, Some(ConnectionError::Timeout(Timeout::Idle)));
    // The client sees the transport end: 1006.
    match silent.read() {
        Err(Error::Closed(c)) => assert_eq!(c.code, CloseCode::ABNORMAL),
        other => panic!("{other:?}"),
    }
}

/// A raw TCP peer that sends a malformed upgrade gets the HTTP answer.
#[test]
fn a_malformed_upgrade_gets_its_http_answer() {
    use std::io::{Read, Write};
    let (l, _) = listener();
    let addr = l.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (stream, _) = l.accept().unwrap();
        blocking::accept(stream).unwrap_err()
    });
    let mut raw = TcpStream::connect(addr).unwrap();
    raw.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut answer = String::new();
    raw.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 426 Upgrade Required\r\n"),
        "{answer}"
    );
    assert!(answer.contains("Upgrade: websocket\r\n"));
    assert!(matches!(
        server.join().unwrap(),
        Error::Handshake(HandshakeError::NotAnUpgrade)
    ));
}

/// Messages sent while disconnected go out in order on the next connection; one the
/// connection refuses outright comes back as `Refused` instead of failing every
/// connection after it.
#[test]
fn a_reconnecting_client_sends_its_outbox_in_order_and_hands_back_a_refused_message() {
    use wsmachine::blocking::{ClientEvent, ReconnectingClient};
    let (l, url) = listener();
    let server = thread::spawn(move || {
        let (stream, _) = l.accept().unwrap();
        let mut ws =
            blocking::accept_with(stream, Config::default(), |_| Ok(Accept::new())).unwrap();
        let mut got = Vec::new();
        loop {
            match ws.read() {
                Ok(m) => got.push(m),
                Err(Error::Closed(_)) => return got,
                Err(e) => panic!("{e}"),
            }
        }
    });
    let mut config = Config::default();
    config.max_buffered_output = 1000;
    let mut client =
        ReconnectingClient::new(&url, config, wsmachine::ReconnectPolicy::default()).unwrap();
    let too_big = Message::from(vec![0u8; 5000]);
    for message in [
        Message::from("first"),
        too_big.clone(),
        Message::from("second"),
    ] {
        client.send(message).unwrap();
    }
    let mut events = Vec::new();
    let started = Instant::now();
    while events.len() < 2 && started.elapsed() < Duration::from_secs(5) {
        if let Some(event) = client.poll(Duration::from_millis(100)).unwrap() {
            events.push(event);
        }
    }
    assert!(matches!(events[0], ClientEvent::Connected(_)), "{events:?}");
    match &events[1] {
        ClientEvent::Refused {
            message,
            error: Error::Send(wsmachine::SendError::BufferFull { .. }),
        } => assert_eq!(*message, too_big),
        other => panic!("{other:?}"),
    }
    client.close().unwrap();
    assert_eq!(
        server.join().unwrap(),
        [Message::from("first"), Message::from("second")]
    );
}
