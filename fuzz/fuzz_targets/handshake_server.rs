//! The server's opening handshake on arbitrary bytes at an arbitrary chunking.
//! Invariants: the outcome does not depend on the chunking; it is either nothing yet,
//! a request event, or a closed connection with a handshake error whose HTTP answer
//! (that status) was queued; `parse_request` never reports using more than it got.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wsmachine::handshake::server::parse_request;
use wsmachine::{Accept, Config, Connection, ConnectionError, Event, State, Timestamp};

/// Small limits, so that fuzzing reaches them.
fn config_16() -> Config {
    let mut config = Config::default();
    config.max_handshake_size = 2048;
    config.max_headers = 16;
    config
}

fn run(data: &[u8], chunk: usize) -> (Vec<Event>, Vec<u8>, State) {
    let mut conn = Connection::server(config_16(), Timestamp::ZERO).unwrap();
    for piece in data.chunks(chunk.max(1)) {
        // While CONNECTING everything is taken.
        assert_eq!(conn.handle_data(Timestamp::ZERO, piece), piece.len());
    }
    let events: Vec<Event> = std::iter::from_fn(|| conn.poll_event()).collect();
    let mut out = Vec::new();
    conn.transmit_into(&mut out);
    (events, out, conn.state())
}

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, data)) = data.split_first() else {
        return;
    };
    if let Ok(Some((_, used))) = parse_request(data, &config_16()) {
        assert!(used <= data.len());
    }
    let whole = run(data, data.len());
    assert_eq!(run(data, usize::from(chunk)), whole);
    let (events, out, state) = whole;
    match (&events[..], state) {
        ([], State::Connecting) | ([Event::Request(_)], State::Connecting) => {
            assert!(out.is_empty());
        }
        ([Event::Closed(c)], State::Closed)
        | ([Event::Request(_), Event::Closed(c)], State::Closed) => {
            let Some(ConnectionError::Handshake(e)) = &c.error else {
                panic!("{c:?}")
            };
            let status = e.status().expect("a server error has a status");
            assert!(out.starts_with(format!("HTTP/1.1 {status} ").as_bytes()));
        }
        other => panic!("unexpected outcome {other:?}"),
    }
    // A request that was reported can be accepted, and then frames flow.
    if matches!(events[..], [Event::Request(_)]) {
        let mut conn = Connection::server(config_16(), Timestamp::ZERO).unwrap();
        assert_eq!(conn.handle_data(Timestamp::ZERO, data), data.len());
        while conn.poll_event().is_some() {}
        conn.accept(Timestamp::ZERO, Accept::new()).unwrap();
        assert_eq!(conn.state(), State::Open);
    }
});
