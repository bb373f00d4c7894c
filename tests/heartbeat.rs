//! Time without a clock: keepalive pings, pong/idle/close/handshake timeouts and the
//! deadline contract, all on a virtual clock. Nothing here sleeps.

mod common;
use common::*;
use core::time::Duration;
use proptest::prelude::*;
use wsmachine::frame::OpCode;
use wsmachine::{
    ClientRequest, CloseCode, Config, Connection, Event, SeededEntropy, State, Timeout, Timestamp,
    TransportAction,
};

const fn secs(s: u64) -> Timestamp {
    Timestamp::from_secs(s)
}

fn heartbeat_config() -> Config {
    let mut config = Config::default();
    config.ping_interval = Some(Duration::from_secs(20));
    config.pong_timeout = Some(Duration::from_secs(10));
    config
}

fn sent_frames(conn: &mut Connection) -> Vec<wsmachine::frame::Frame> {
    let mut out = Vec::new();
    conn.transmit_into(&mut out);
    frames(&out)
}

#[test]
fn defaults_keep_the_heartbeat_off_and_bound_the_handshakes() {
    let c = Config::default();
    assert_eq!(c.ping_interval, None);
    assert_eq!(c.pong_timeout, None);
    assert_eq!(c.idle_timeout, None);
    assert_eq!(c.handshake_timeout, Some(Duration::from_secs(10)));
    assert_eq!(c.close_timeout, Some(Duration::from_secs(10)));
    // An OPEN connection with the defaults has no deadline at all.
    assert_eq!(server().poll_timeout(), None);
}

/// A silent peer is pinged at the interval and dropped at the pong timeout:
/// 1006 locally, nothing sent after the ping, transport closed.
#[test]
fn a_silent_peer_is_pinged_then_dropped() {
    let mut s = server_with(heartbeat_config());
    assert_eq!(s.poll_timeout(), Some(secs(20)));
    s.handle_timeout(secs(19));
    assert!(sent_frames(&mut s).is_empty(), "early call: nothing");
    s.handle_timeout(secs(20));
    let pings = sent_frames(&mut s);
    assert_eq!(pings.len(), 1);
    assert_eq!(pings[0].header.opcode, OpCode::Ping);
    assert_eq!(
        s.poll_timeout(),
        Some(secs(30)),
        "pong deadline before the next ping"
    );
    s.handle_timeout(secs(30));
    assert_eq!(s.state(), State::Closed);
    assert_eq!(timeout_of(&drain_events(&mut s)), Some(Timeout::Pong));
    assert!(
        sent_frames(&mut s).is_empty(),
        "no close frame into a dead socket"
    );
    assert_eq!(s.transport(), TransportAction::Close);
    assert_eq!(s.poll_timeout(), None);
    s.handle_timeout(secs(1000));
    assert!(
        drain_events(&mut s).is_empty(),
        "late and repeated calls: nothing"
    );
}

/// A chatty peer is never pinged: any received frame counts as life.
#[test]
fn a_chatty_peer_is_never_pinged() {
    let mut s = server_with(heartbeat_config());
    for t in (0..600).step_by(15) {
        s.handle_timeout(secs(t));
        feed(&mut s, secs(t), &c2s(OpCode::Text, true, b"still here"));
        drain_events(&mut s);
        assert_eq!(s.poll_timeout(), Some(secs(t + 20)));
    }
    let out = sent_frames(&mut s);
    assert!(out.is_empty(), "pinged a chatty peer: {out:?}");
    assert_eq!(s.state(), State::Open);
}

/// A pong in time keeps the connection, and its RTT is measured.
#[test]
fn a_pong_in_time_keeps_the_connection() {
    let mut s = server_with(heartbeat_config());
    for round in 0..5u64 {
        let ping_at = secs(20 + round * 25);
        s.handle_timeout(ping_at);
        let ping = sent_frames(&mut s).pop().unwrap();
        assert_eq!(
            &ping.payload[..],
            &round.to_be_bytes(),
            "payload counts the pings"
        );
        let answer_at = ping_at + Duration::from_secs(5);
        feed(&mut s, answer_at, &c2s(OpCode::Pong, true, &ping.payload));
        assert_eq!(s.rtt(), Some(Duration::from_secs(5)));
        assert_eq!(s.poll_timeout(), Some(answer_at + Duration::from_secs(20)));
    }
    assert_eq!(s.state(), State::Open);
    // A pong that matches nothing we sent does not change the RTT.
    feed(&mut s, secs(200), &c2s(OpCode::Pong, true, b"unsolicited"));
    assert_eq!(s.rtt(), Some(Duration::from_secs(5)));
}

/// The application's own pings are timed too.
#[test]
fn rtt_of_an_application_ping() {
    let mut pair = Pair::new();
    pair.latency = Duration::from_millis(1_125);
    pair.now = secs(1);
    pair.client.ping(secs(1), "mine").unwrap();
    pair.run_until(secs(4));
    assert_eq!(pair.client.rtt(), Some(Duration::from_millis(2_250)));
}

/// Two ends with keepalive on, silent for a virtual hour over a 50 ms link: the
/// pings keep both open, every one answered, the round trip measured.
#[test]
fn keepalive_keeps_two_silent_ends_open() {
    let mut pair = Pair::with_configs(heartbeat_config(), heartbeat_config());
    pair.latency = Duration::from_millis(50);
    pair.run_until(secs(3600));
    assert_eq!(
        (pair.client.state(), pair.server.state()),
        (State::Open, State::Open)
    );
    let pongs = |events: &[Event]| {
        events
            .iter()
            .filter(|e| matches!(e, Event::Pong(_)))
            .count()
    };
    // Either end's ping counts as life for the other, so they share the work.
    assert!(pongs(&pair.client_events) + pongs(&pair.server_events) >= 3600 / 20 - 1);
    let rtt = pair.client.rtt().or(pair.server.rtt());
    assert_eq!(rtt, Some(Duration::from_millis(100)));
}

/// When the link dies, each end's keepalive notices: a ping unanswered for the pong
/// timeout ends the connection (1006, nothing sent), at most an interval plus a
/// timeout after the last sign of life.
#[test]
fn keepalive_detects_a_dead_link_on_both_ends() {
    let mut pair = Pair::with_configs(heartbeat_config(), heartbeat_config());
    pair.latency = Duration::from_millis(50);
    pair.run_until(secs(60));
    pair.cut();
    pair.run_until(secs(60 + 20 + 10 + 1));
    assert_eq!(timeout_of(&pair.client_events), Some(Timeout::Pong));
    assert_eq!(timeout_of(&pair.server_events), Some(Timeout::Pong));
    assert_eq!(pair.client.transport(), TransportAction::Close);
    assert_eq!(pair.server.transport(), TransportAction::Close);
}

#[test]
fn idle_timeout_drops_a_silent_peer() {
    let mut config = Config::default();
    config.idle_timeout = Some(Duration::from_secs(60));
    let mut c = client_with(config);
    feed(&mut c, secs(30), &s2c(OpCode::Text, true, b"hello"));
    assert_eq!(c.poll_timeout(), Some(secs(90)));
    c.handle_timeout(secs(89));
    assert_eq!(c.state(), State::Open);
    c.handle_timeout(secs(90));
    let events = drain_events(&mut c);
    assert_eq!(timeout_of(&events), Some(Timeout::Idle));
    let Some(Event::Closed(closed)) = events.last() else {
        panic!()
    };
    assert_eq!((closed.code, closed.clean), (CloseCode::ABNORMAL, false));
}

/// A peer that never answers our close is dropped at the close timeout.
#[test]
fn a_peer_that_never_answers_our_close_is_dropped() {
    let mut pair = Pair::new();
    pair.now = secs(5);
    pair.server
        .close(secs(5), CloseCode::GOING_AWAY, "shutdown")
        .unwrap();
    pair.cut(); // the close frame never arrives, nor anything else
    assert_eq!(pair.server.poll_timeout(), Some(secs(15)));
    pair.run_until(secs(14));
    assert_eq!(pair.server.state(), State::Closing);
    pair.run_until(secs(15));
    assert_eq!(pair.server.state(), State::Closed);
    assert_eq!(pair.server.transport(), TransportAction::Close);
    assert_eq!(timeout_of(&pair.server_events), Some(Timeout::Close));
}

/// After a clean closing handshake, the wait for the peer's end of stream is bounded
/// by the close timeout too, without a second `Closed` event.
#[test]
fn the_wait_for_eof_after_a_clean_close_is_bounded() {
    let mut pair = Pair::new();
    pair.now = secs(1);
    pair.server.close(secs(1), CloseCode::NORMAL, "").unwrap();
    pair.drive(); // the close and its echo, but the server's end of stream never comes
    pair.cut();
    assert_eq!(pair.client.transport(), TransportAction::AwaitEof);
    assert_eq!(pair.client.poll_timeout(), Some(secs(11)));
    pair.run_until(secs(11));
    assert_eq!(pair.client.transport(), TransportAction::Close);
    let events = &pair.client_events;
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(matches!(&events[0], Event::Closed(c) if c.clean));
}

/// A handshake that never completes times out, in both roles; a server answers 408
/// to a request that never finished and 503 when its application never decided.
#[test]
fn a_handshake_that_never_completes_times_out() {
    let mut s = Connection::server(Config::default(), secs(100)).unwrap();
    assert_eq!(s.poll_timeout(), Some(secs(110)));
    feed(&mut s, secs(105), b"GET / HTTP/1.1\r\n");
    s.handle_timeout(secs(110));
    assert_eq!(timeout_of(&drain_events(&mut s)), Some(Timeout::Handshake));
    let mut out = Vec::new();
    s.transmit_into(&mut out);
    assert!(out.starts_with(b"HTTP/1.1 408 "));

    let mut s = Connection::server(Config::default(), secs(0)).unwrap();
    feed(&mut s, secs(1), &upgrade_request(""));
    assert!(matches!(drain_events(&mut s)[..], [Event::Request(_)]));
    s.handle_timeout(secs(10));
    assert_eq!(timeout_of(&drain_events(&mut s)), Some(Timeout::Handshake));
    let mut out = Vec::new();
    s.transmit_into(&mut out);
    assert!(out.starts_with(b"HTTP/1.1 503 "));

    let mut c = Connection::client(
        Config::default(),
        ClientRequest::new("h", "/"),
        SeededEntropy::new(1),
        secs(0),
    )
    .unwrap();
    c.handle_timeout(secs(10));
    assert_eq!(c.state(), State::Closed);
    assert_eq!(timeout_of(&drain_events(&mut c)), Some(Timeout::Handshake));

    // Once OPEN, the handshake deadline is gone.
    let (mut pair, _) = handshaken(ClientRequest::new("h", "/"), wsmachine::Accept::new());
    assert_eq!(pair.client.poll_timeout(), None);
    pair.client.handle_timeout(secs(3600));
    assert_eq!(pair.client.state(), State::Open);
}

/// `now` never goes backwards: an earlier timestamp counts as the latest one seen.
#[test]
fn time_going_backwards_is_clamped() {
    let mut s = server_with(heartbeat_config());
    feed(&mut s, secs(100), &c2s(OpCode::Text, true, b"x"));
    feed(&mut s, secs(50), &c2s(OpCode::Text, true, b"y"));
    assert_eq!(s.poll_timeout(), Some(secs(120)));
}

#[derive(Clone, Debug)]
enum Step {
    Wait(u64),
    Receive,
    FireDue,
    CallEarly,
    Close,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (1u64..40).prop_map(Step::Wait),
        2 => Just(Step::Receive),
        3 => Just(Step::FireDue),
        1 => Just(Step::CallEarly),
        1 => Just(Step::Close),
    ]
}

proptest! {
    /// `poll_timeout` is always the minimum of the deadlines a reference model says
    /// are armed, and `handle_timeout` before it changes nothing.
    #[test]
    fn poll_timeout_is_the_minimum_of_armed_deadlines(
        steps in proptest::collection::vec(step(), 1..60),
        interval in 5u64..30, pong in 1u64..30, idle in 10u64..90, close in 1u64..30,
    ) {
        let mut config = Config::default();
        config.ping_interval = Some(Duration::from_secs(interval));
        config.pong_timeout = Some(Duration::from_secs(pong));
        config.idle_timeout = Some(Duration::from_secs(idle));
        config.close_timeout = Some(Duration::from_secs(close));
        // Keepalive pings queue output that this test never writes; the write
        // deadline has tests of its own.
        config.write_timeout = None;
        let mut s = server_with(config);
        // The model: when each timer fires, or None.
        let mut keepalive = Some(interval);
        let mut idle_at = Some(idle);
        let mut pong_at: Option<u64> = None;
        let mut close_at: Option<u64> = None;
        let mut now = 0u64;
        let mut open = true;
        for step in steps {
            match step {
                Step::Wait(d) => now += d,
                Step::Receive => {
                    feed(&mut s, secs(now), &c2s(OpCode::Binary, true, b"x"));
                    // The connection takes no more input while a batch of events
                    // waits unpolled; an application polls after every read.
                    drain_events(&mut s);
                    if open {
                        keepalive = Some(now + interval);
                        idle_at = Some(now + idle);
                        pong_at = None;
                    }
                }
                Step::CallEarly => {
                    let before = s.buffered_amount();
                    if let Some(at) = s.poll_timeout() && at > secs(now) {
                        s.handle_timeout(secs(now));
                        prop_assert_eq!(s.buffered_amount(), before);
                        prop_assert_eq!(s.poll_timeout(), Some(at));
                    }
                }
                Step::FireDue => {
                    s.handle_timeout(secs(now));
                    // Apply the model's expirations in the connection's order.
                    loop {
                        let due = |t: Option<u64>| t.is_some_and(|t| t <= now);
                        if due(close_at) || due(idle_at) || due(pong_at) {
                            keepalive = None; idle_at = None; pong_at = None; close_at = None;
                            open = false;
                                                } else if due(keepalive) {
                            keepalive = Some(now + interval);
                            if pong_at.is_none() {
                                pong_at = Some(now + pong);
                            }
                        } else {
                            break;
                        }
                    }
                }
                Step::Close => {
                    if s.close(secs(now), CloseCode::NORMAL, "").is_ok() {
                        keepalive = None; idle_at = None; pong_at = None;
                        close_at = Some(now + close);
                        open = false;
                    }
                }
            }
            let model = [keepalive, idle_at, pong_at, close_at].into_iter().flatten().min();
            prop_assert_eq!(s.poll_timeout(), model.map(secs), "after {:?} at {}", s, now);
        }
    }
}

/// A close frame waiting behind an unpolled message must not report a second
/// `Closed` when a timeout ends the connection first (found by the
/// connection_server fuzz target).
#[test]
fn a_deferred_close_after_a_timeout_reports_closed_once() {
    let mut config = Config::default();
    config.idle_timeout = Some(Duration::from_secs(1));
    let mut s = server_with(config);
    let mut wire = c2s(OpCode::Text, true, b"unpolled");
    wire.extend(c2s(OpCode::Close, true, &close_body(1000, "")));
    feed(&mut s, secs(0), &wire);
    s.handle_timeout(secs(2));
    let events = drain_events(&mut s);
    let closed: Vec<_> = events
        .iter()
        .filter(|e| matches!(e, Event::Closed(_)))
        .collect();
    assert_eq!(closed.len(), 1, "{events:?}");
    assert!(matches!(events.last(), Some(Event::Closed(_))));
}
