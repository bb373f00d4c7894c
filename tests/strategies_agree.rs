//! The `Connection` (through the oracle) against the strategies' independent model
//! of RFC 6455, under random chunkings: valid scripts give exactly the expected
//! events; each labelled violation ends the connection with the required close code,
//! after delivering every message that came before it.
#![cfg(feature = "proptest")]

mod common;

use proptest::prelude::*;
use wsmachine::strategies::{Expected, chunks, invalid_stream, script};
use wsmachine::{Config, Connection, Event, Negotiated, Role, SeededEntropy, Timestamp};

fn receiver(role: Role) -> Connection {
    let t = Timestamp::ZERO;
    let mut config = Config::default();
    config.max_frame_size = None;
    config.max_message_size = isize::MAX as u64;
    match role {
        Role::Server => Connection::upgraded_server(config, Negotiated::none(), &[], t).unwrap(),
        Role::Client => {
            Connection::upgraded_client(config, Negotiated::none(), SeededEntropy::new(1), &[], t)
                .unwrap()
        }
    }
}

/// Feeds `pieces` as a caller that polls only when the connection takes no more,
/// then drains it; returns what it reported, in the strategies' terms.
fn observed(conn: &mut Connection, pieces: &[Vec<u8>]) -> Vec<Expected> {
    let mut events = Vec::new();
    for piece in pieces {
        common::feed_polling(conn, Timestamp::ZERO, piece, &mut events);
    }
    events.extend(common::drain_events(conn));
    events
        .into_iter()
        .filter_map(|e| match e {
            Event::Message(m) => Some(Expected::Message(m)),
            Event::Ping(p) => Some(Expected::Ping(p)),
            Event::Pong(p) => Some(Expected::Pong(p)),
            Event::Closed(c) => Some(Expected::Close(c.code)),
            _ => None,
        })
        .collect()
}

fn role() -> impl Strategy<Value = Role> {
    prop_oneof![Just(Role::Client), Just(Role::Server)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn valid_scripts((s, pieces, role) in (script(), role(), any::<u64>()).prop_flat_map(|(s, role, seed)| {
        let sender = role.peer();
        let bytes = s.encode(sender, seed);
        (Just(s), chunks(bytes), Just(role))
    })) {
        let mut conn = receiver(role);
        prop_assert_eq!(observed(&mut conn, &pieces), s.expected());
        // Every ping was answered with a pong carrying its payload.
        let mut out = Vec::new();
        conn.transmit_into(&mut out);
        let mut pongs = Vec::new();
        for f in common::frames(&out) {
            prop_assert_eq!(f.header.opcode, wsmachine::frame::OpCode::Pong);
            pongs.push(Expected::Ping(f.payload));
        }
        let pings: Vec<Expected> = s.expected().into_iter().filter(|e| matches!(e, Expected::Ping(_))).collect();
        prop_assert_eq!(pongs, pings);
    }

    #[test]
    fn invalid_streams((labelled, pieces) in role().prop_flat_map(invalid_stream).prop_flat_map(|l| {
        let bytes = l.bytes.clone();
        (Just(l), chunks(bytes))
    })) {
        let mut conn = receiver(labelled.receiver);
        prop_assert_eq!(observed(&mut conn, &pieces), labelled.expected.clone(), "{:?}", labelled.violation);
        // The last frame sent is a close frame with the required code.
        let mut out = Vec::new();
        conn.transmit_into(&mut out);
        common::assert_sent_close(&out, labelled.violation.close_code().0);
    }
}

/// A client's handshake check against the strategies' invalid responses: each is
/// refused with exactly the labelled error, and valid ones open the connection.
mod handshake_responses {
    use super::*;
    use wsmachine::{ClientRequest, ConnectionError, State};

    fn client_and_key() -> (Connection, String) {
        let request = ClientRequest::new("example.com", "/").protocol("chat");
        let mut conn = Connection::client(
            Config::default(),
            request,
            SeededEntropy::new(3),
            Timestamp::ZERO,
        )
        .unwrap();
        let key = crate::common::sent_key(&mut conn);
        (conn, key)
    }

    proptest! {
        #[test]
        fn invalid_responses_fail_with_the_labelled_error(
            (bytes, error) in wsmachine::strategies::invalid_handshake_response(client_and_key().1)
        ) {
            let (mut conn, _) = client_and_key();
            crate::common::feed(&mut conn, Timestamp::ZERO, &bytes);
            let events: Vec<Event> = std::iter::from_fn(|| conn.poll_event()).collect();
            prop_assert_eq!(conn.state(), State::Closed);
            let [Event::Closed(closed)] = &events[..] else {
                return Err(TestCaseError::fail(format!("{events:?}")));
            };
            prop_assert_eq!(closed.error.clone(), Some(ConnectionError::Handshake(error)));
        }

        #[test]
        fn valid_responses_open(bytes in wsmachine::strategies::handshake_response(client_and_key().1)) {
            let (mut conn, _) = client_and_key();
            crate::common::feed(&mut conn, Timestamp::ZERO, &bytes);
            prop_assert!(matches!(conn.poll_event(), Some(Event::Open(_))));
            prop_assert_eq!(conn.state(), State::Open);
        }
    }
}

/// permessage-deflate: the strategies compress with flate2 from the RFC 7692
/// definition; the connection, with the same parameters in force, must inflate
/// every valid script to its messages under any chunking, and answer every
/// labelled violation with the close code it calls for. The oracle says the same.
#[cfg(feature = "deflate")]
mod deflate {
    use super::*;
    use wsmachine::deflate::DeflateParams;
    use wsmachine::strategies::{compressed_script, invalid_deflate_stream};

    fn receiver(role: Role, params: DeflateParams, max_message_size: u64) -> Connection {
        let t = Timestamp::ZERO;
        let mut config = Config::default();
        config.max_frame_size = None;
        config.max_message_size = max_message_size;
        let mut negotiated = Negotiated::none();
        negotiated.deflate = Some(params);
        match role {
            Role::Server => Connection::upgraded_server(config, negotiated, &[], t).unwrap(),
            Role::Client => {
                Connection::upgraded_client(config, negotiated, SeededEntropy::new(1), &[], t)
                    .unwrap()
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn compressed_scripts((c, pieces) in role().prop_flat_map(|r| compressed_script(r.peer())).prop_flat_map(|c| {
            let bytes = c.bytes.clone();
            (Just(c), chunks(bytes))
        })) {
            let role = c.sender.peer();
            let mut conn = receiver(role, c.params, isize::MAX as u64);
            prop_assert_eq!(observed(&mut conn, &pieces), c.expected.clone());
            let verdict = wsmachine::oracle::run_deflate(role, c.params, None, &c.bytes);
            let want: Vec<_> = c.expected.iter().filter_map(Expected::as_oracle_event).collect();
            prop_assert_eq!(&verdict.events[..verdict.events.len() - 1], &want[..]);
        }

        #[test]
        fn invalid_deflate_streams((l, pieces) in role().prop_flat_map(invalid_deflate_stream).prop_flat_map(|l| {
            let bytes = l.bytes.clone();
            (Just(l), chunks(bytes))
        })) {
            let mut conn = receiver(l.receiver, l.params, l.max_message_size);
            prop_assert_eq!(observed(&mut conn, &pieces), l.expected.clone(), "{:?}", l.violation);
            let mut out = Vec::new();
            conn.transmit_into(&mut out);
            common::assert_sent_close(&out, l.violation.close_code().0);
            let verdict = wsmachine::oracle::run_deflate(l.receiver, l.params, Some(l.max_message_size), &l.bytes);
            prop_assert_eq!(verdict.close_code(), Some(l.violation.close_code().0));
        }
    }
}
