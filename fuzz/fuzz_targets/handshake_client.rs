//! The client's side of the opening handshake: a response built from arbitrary
//! parts, where the fuzzer may place the correct `Sec-WebSocket-Accept` so that the
//! success path is reachable. Invariants: OPEN only with status 101 and an offered
//! subprotocol; otherwise CLOSED with a handshake error (or still waiting); a
//! rejected response's body never exceeds the handshake size limit.
#![no_main]
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use wsmachine::handshake::{HandshakeError, accept_key};
use wsmachine::{
    ClientRequest, Config, Connection, ConnectionError, Event, SeededEntropy, State, Timestamp,
};

#[derive(Arbitrary, Debug)]
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    /// Where to insert `Sec-WebSocket-Accept` with the right value, if anywhere.
    accept_at: Option<u8>,
    body: Vec<u8>,
    chunk: u8,
    eof: bool,
}

fuzz_target!(|r: Response| {
    let request = ClientRequest::new("example.com", "/").protocol("chat");
    let mut config = Config::default();
    config.max_handshake_size = 1024;
    let mut conn =
        Connection::client(config, request, SeededEntropy::new(3), Timestamp::ZERO).unwrap();
    let mut head = Vec::new();
    conn.transmit_into(&mut head);
    let text = String::from_utf8(head).unwrap();
    let key = text
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .unwrap()
        .to_string();
    let mut headers = r.headers.clone();
    if let Some(at) = r.accept_at {
        let at = usize::from(at).min(headers.len());
        headers.insert(at, ("Sec-WebSocket-Accept".into(), accept_key(&key)));
    }
    let mut bytes = format!("HTTP/1.1 {} X\r\n", r.status).into_bytes();
    for (n, v) in &headers {
        bytes.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
    }
    bytes.extend_from_slice(b"\r\n");
    bytes.extend_from_slice(&r.body);
    let mut events = Vec::new();
    for piece in bytes.chunks(usize::from(r.chunk).max(1)) {
        wsmachine_fuzz::feed_all(&mut conn, Timestamp::ZERO, piece, &mut events);
    }
    if r.eof {
        conn.handle_eof(Timestamp::ZERO);
    }
    events.extend(std::iter::from_fn(|| conn.poll_event()));
    match conn.state() {
        State::Open => {
            assert_eq!(r.status, 101);
            let Some(Event::Open(open)) = events.first() else {
                panic!("{events:?}")
            };
            assert!(matches!(open.protocol.as_deref(), None | Some("chat")));
        }
        State::Connecting => assert!(events.is_empty()),
        State::Closed => {
            let closed = events.iter().find_map(|e| match e {
                Event::Closed(c) => Some(c),
                _ => None,
            });
            let closed = closed.expect("a Closed event");
            let opened = matches!(events.first(), Some(Event::Open(_)));
            match &closed.error {
                Some(ConnectionError::Handshake(_)) => assert!(!opened, "{events:?}"),
                Some(ConnectionError::Eof) => assert!(r.eof, "{events:?}"),
                // Anything else ended the connection after OPEN: frame bytes followed
                // the 101 in the same input.
                _ => assert!(opened && r.status == 101, "{events:?}"),
            }
            if let Some(ConnectionError::Handshake(HandshakeError::Rejected(resp))) = &closed.error
            {
                assert_ne!(resp.status, 101);
                assert!(resp.body.len() <= 1024);
            }
        }
        State::Closing => panic!("closing during a handshake"),
    }
});
