//! Hardening: each test here pins a finding of a review of every input path and
//! limit (the request path, deadlines, validation, defaults a new user trips on).

mod common;
use common::*;
use core::time::Duration;
use wsmachine::frame::{FrameHeader, OpCode};
use wsmachine::handshake::server::parse_request;
use wsmachine::{
    Clock, CloseCode, Config, Connection, Delivery, Event, HandshakeError, SeededEntropy, State,
    Timeout, Timestamp, TransportAction,
};

const fn secs(s: u64) -> Timestamp {
    Timestamp::from_secs(s)
}

fn request_with_target(target: &str) -> wsmachine::Request {
    let head = format!(
        "GET {target} HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    parse_request(head.as_bytes(), &Config::default())
        .unwrap()
        .unwrap()
        .0
}

// ---- Request::path ----

/// `://` in the query (or the path) of an origin-form target is not a scheme: the
/// path is everything before the `?`. An application routing on `path()` must see
/// what a proxy filtering on the real path saw.
#[test]
fn path_ignores_a_scheme_inside_the_query_or_the_path() {
    let r = request_with_target("/public?next=http://x/admin");
    assert_eq!(r.path(), "/public");
    assert_eq!(r.query(), Some("next=http://x/admin"));
    assert_eq!(request_with_target("/a://b/c").path(), "/a://b/c");
    assert_eq!(request_with_target("/p/x?u=ws://h/q?r").path(), "/p/x");
}

/// The absolute form (RFC 9112 §3.2.2): the path after the authority, `/` when
/// empty; the authority ends at a `?` too.
#[test]
fn path_of_absolute_form_targets() {
    for (target, path) in [
        ("http://example.com/chat?room=1", "/chat"),
        ("ws://example.com", "/"),
        ("HTTPS://example.com:8443/a/b", "/a/b"),
        ("http://example.com?q=/admin", "/"),
        ("http://example.com/?q=http://y/z", "/"),
    ] {
        assert_eq!(request_with_target(target).path(), path, "{target}");
    }
    assert_eq!(
        request_with_target("http://example.com?q=/admin").query(),
        Some("q=/admin")
    );
}

/// The asterisk form is reported as it is; an empty path is `/`.
#[test]
fn path_of_asterisk_and_empty_targets() {
    assert_eq!(request_with_target("*").path(), "*");
    assert_eq!(request_with_target("/").path(), "/");
    assert_eq!(request_with_target("?only=query").path(), "/");
}

// ---- settings ----

/// A setting out of range is refused when the connection is made, with an error
/// that names it; a huge `max_headers` no longer makes each handshake allocate
/// that many slots.
#[test]
fn settings_are_validated_at_construction() {
    let mut config = Config::default();
    config.max_headers = usize::MAX;
    let e = Connection::server(config.clone(), T0).unwrap_err();
    assert_eq!(e.setting, "max_headers");
    assert!(e.to_string().contains("max_headers"), "{e}");
    let client = Connection::client(
        config,
        wsmachine::ClientRequest::new("h", "/"),
        SeededEntropy::new(1),
        T0,
    );
    assert!(matches!(client, Err(HandshakeError::InvalidConfig(e)) if e.setting == "max_headers"));

    for (edit, setting) in [
        (
            (|c: &mut Config| c.max_handshake_size = 0) as fn(&mut Config),
            "max_handshake_size",
        ),
        (|c| c.max_handshake_size = 1 << 30, "max_handshake_size"),
        (|c| c.max_fragments = 0, "max_fragments"),
        (|c| c.max_message_size = u64::MAX, "max_message_size"),
    ] {
        let mut config = Config::default();
        edit(&mut config);
        let e = Connection::upgraded_server(config, wsmachine::Negotiated::none(), &[], T0)
            .unwrap_err();
        assert_eq!(e.setting, setting);
    }
    // No limit on a streamed message: nothing holds it whole.
    let mut config = Config::default();
    config.delivery = Delivery::Streamed;
    config.max_message_size = u64::MAX;
    assert!(config.validate().is_ok());
}

/// The largest `max_headers` accepted still parses a small head without
/// allocating a slot per allowed field.
#[test]
fn a_large_max_headers_costs_only_what_the_head_holds() {
    let mut config = Config::default();
    config.max_headers = Config::MAX_HEADERS_LIMIT;
    let mut s = Connection::server(config, T0).unwrap();
    feed(&mut s, T0, &upgrade_request(""));
    assert!(matches!(s.poll_event(), Some(Event::Request(_))));
}

// ---- what a new user trips on ----

/// With streamed delivery and no frame limit of its own, a message sent as one
/// large frame (as browsers send it) is delivered, in pieces.
#[test]
fn streamed_delivery_takes_one_large_frame_by_default() {
    let mut config = Config::default();
    config.delivery = Delivery::Streamed;
    config.max_message_size = 64 << 20;
    let mut s = server_with(config);
    let len = 20 << 20; // above the 16 MiB frame limit of earlier defaults
    let mut header = FrameHeader::new(OpCode::Binary, len as u64);
    header.mask = Some(KEY);
    let mut wire = Vec::new();
    header.encode_to_vec(&mut wire);
    feed(&mut s, T0, &wire);
    let chunk = vec![0u8; 1 << 20];
    let mut received = 0;
    for _ in 0..20 {
        feed(&mut s, T0, &chunk);
        for event in drain_events(&mut s) {
            match event {
                Event::Fragment(f) => received += f.data.len(),
                other => panic!("{other:?}"),
            }
        }
    }
    assert_eq!(received, len);
    assert_eq!(s.state(), State::Open);
}

/// `ping_interval` alone detects a dead peer: the pong timeout follows the
/// interval unless set, and a zero pong timeout turns the check off.
#[test]
fn ping_interval_alone_detects_a_dead_peer() {
    let mut config = Config::default();
    config.ping_interval = Some(Duration::from_secs(20));
    assert_eq!(config.pong_timeout, None);
    let mut s = server_with(config.clone());
    s.handle_timeout(secs(20)); // the keepalive ping
    let mut out = Vec::new();
    s.transmit_into(&mut out);
    assert_eq!(frames(&out)[0].header.opcode, OpCode::Ping);
    assert_eq!(s.poll_timeout(), Some(secs(40)));
    s.handle_timeout(secs(40));
    assert_eq!(timeout_of(&drain_events(&mut s)), Some(Timeout::Pong));

    config.pong_timeout = Some(Duration::ZERO);
    let mut s = server_with(config);
    s.handle_timeout(secs(20));
    s.transmit_into(&mut Vec::new());
    s.handle_timeout(secs(1000));
    assert_eq!(s.state(), State::Open, "pong check off: only pings go out");
}

/// `Clock` turns `Instant`s into timestamps and deadlines back into `Instant`s.
#[test]
fn clock_maps_instants_both_ways() {
    let clock = Clock::new();
    let deadline = Timestamp::from_millis(1500);
    assert_eq!(clock.timestamp(clock.instant(deadline)), deadline);
    assert_eq!(clock.timestamp(clock.origin()), Timestamp::ZERO);
    // Far deadlines saturate instead of panicking.
    let _ = clock.instant(Timestamp::from_duration(Duration::MAX));
}

// ---- the idle timeout ----

/// A trickle of one byte per interval, never finishing a frame, is not life for the
/// idle timeout (it still is for the keepalive ping).
#[test]
fn a_trickle_of_bytes_does_not_keep_an_idle_connection() {
    let mut config = Config::default();
    config.idle_timeout = Some(Duration::from_secs(10));
    let mut s = server_with(config);
    let frame = c2s(OpCode::Binary, true, &[0u8; 100]);
    for (i, byte) in frame.iter().take(50).enumerate() {
        let now = secs(i as u64 * 5);
        s.handle_timeout(now);
        if s.state() == State::Closed {
            break;
        }
        feed(&mut s, now, core::slice::from_ref(byte));
    }
    assert_eq!(s.state(), State::Closed);
    assert_eq!(timeout_of(&drain_events(&mut s)), Some(Timeout::Idle));
}

/// Keepalive traffic alone does not keep a connection open either; a data frame
/// received whole does.
#[test]
fn only_whole_data_frames_reset_the_idle_timeout() {
    let mut config = Config::default();
    config.idle_timeout = Some(Duration::from_secs(30));
    let mut s = server_with(config);
    feed(&mut s, secs(10), &c2s(OpCode::Ping, true, b"still here"));
    s.transmit_into(&mut Vec::new()); // the pong
    feed(&mut s, secs(20), &c2s(OpCode::Pong, true, b""));
    assert_eq!(s.poll_timeout(), Some(secs(30)));
    feed(&mut s, secs(25), &c2s(OpCode::Text, false, b"a"));
    assert_eq!(
        s.poll_timeout(),
        Some(secs(55)),
        "a fragment is a data frame"
    );
    drain_events(&mut s);
    s.handle_timeout(secs(55));
    assert_eq!(timeout_of(&drain_events(&mut s)), Some(Timeout::Idle));
}

// ---- the write timeout ----

fn write_timeout_config(secs: u64) -> Config {
    let mut config = Config::default();
    config.write_timeout = Some(Duration::from_secs(secs));
    config
}

/// Output that waits the whole write timeout with nothing written ends the
/// connection: the peer stopped reading. Nothing is sent, 1006 locally.
#[test]
fn output_never_written_times_out() {
    let mut s = server_with(write_timeout_config(30));
    feed(&mut s, secs(5), &c2s(OpCode::Ping, true, b"x")); // a pong is queued
    drain_events(&mut s);
    assert_eq!(s.poll_timeout(), Some(secs(35)));
    s.handle_timeout(secs(34));
    assert_eq!(s.state(), State::Open);
    s.handle_timeout(secs(35));
    let events = drain_events(&mut s);
    assert_eq!(timeout_of(&events), Some(Timeout::Write));
    let Some(Event::Closed(c)) = events.last() else {
        panic!("{events:?}")
    };
    assert_eq!((c.code, c.clean), (CloseCode::ABNORMAL, false));
    assert_eq!(s.transport(), TransportAction::Close);
}

/// Any progress restarts the write deadline, and empty output stops it.
#[test]
fn write_progress_restarts_the_deadline() {
    let mut s = server_with(write_timeout_config(30));
    feed(&mut s, T0, &c2s(OpCode::Ping, true, &[7u8; 100]));
    drain_events(&mut s);
    s.advance_transmit(10); // part of the pong went out at some time
    s.handle_timeout(secs(30));
    assert_eq!(
        s.state(),
        State::Open,
        "progress was made since the deadline was set"
    );
    let next = s.poll_timeout().expect("still waiting on the rest");
    assert!(next > secs(30));
    s.handle_timeout(next);
    assert_eq!(timeout_of(&drain_events(&mut s)), Some(Timeout::Write));

    let mut s = server_with(write_timeout_config(30));
    feed(&mut s, T0, &c2s(OpCode::Ping, true, b"x"));
    drain_events(&mut s);
    s.transmit_into(&mut Vec::new());
    assert_eq!(s.poll_timeout(), None, "nothing waits, no deadline");
}

/// `send` takes no `now`: the deadline it sets can only be provisional, and it
/// never fires early, however stale the connection's last `now` was.
#[test]
fn a_send_long_after_the_last_now_does_not_time_out_at_once() {
    let mut s = server_with(write_timeout_config(30));
    feed(&mut s, T0, &c2s(OpCode::Text, true, b"hi"));
    drain_events(&mut s);
    // An hour passes without any call that tells the connection the time.
    s.send_text("late").unwrap();
    let provisional = s.poll_timeout().unwrap();
    assert!(provisional <= secs(3600));
    s.handle_timeout(secs(3600));
    assert_eq!(s.state(), State::Open, "the send happened just now");
    assert_eq!(s.poll_timeout(), Some(secs(3630)));
    s.handle_timeout(secs(3630));
    assert_eq!(timeout_of(&drain_events(&mut s)), Some(Timeout::Write));
}

// ---- memory bounds that do not need an allocator ----

/// A peer that sends a million empty pings to an endpoint that never writes makes
/// it hold no more than its output limit: what is queued, bytes and bookkeeping, is
/// counted against it (`held_memory` measures the heap itself).
#[test]
fn a_ping_flood_is_bounded_by_the_output_limit() {
    let limit = 64 << 10;
    let mut config = Config::default();
    config.max_buffered_output = limit;
    let mut s = server_with(config);
    let ping = c2s(OpCode::Ping, true, b"");
    let mut wire = Vec::new();
    for _ in 0..10_000 {
        wire.extend_from_slice(&ping);
    }
    for _ in 0..100 {
        feed(&mut s, T0, &wire);
        drain_events(&mut s);
    }
    // 2 bytes per pong on the wire; the tail buffers they are gathered in count
    // their unused room once sealed, and each run of pongs one record.
    let queued = s.buffered_amount();
    assert!(
        queued > limit / 2 && queued <= limit,
        "{queued} bytes of pongs queued under a {limit}-byte limit"
    );
    assert_eq!(s.state(), State::Open);
}
