//! The prober's side of one TCP connection: the stream goes out on a writer thread
//! while the peer's bytes are read and parsed by an observing [`Connection`] with
//! the oracle's configuration, so that every frame the peer sends is checked
//! against RFC 6455 by the same rules the oracle applies.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::string::{String, ToString};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use std::vec::Vec;
use std::{format, vec};

use crate::entropy::SeededEntropy;
use crate::oracle::{self, OracleEvent};
use crate::{Connection, ConnectionError, Event, Message, Negotiated, Role, State, Timestamp};

use super::case::{Case, Expectation};
use super::judge::{End, Observed};

/// The most the prober reads of one connection, so that a peer that floods cannot
/// exhaust the prober's memory.
const MAX_READ: usize = 64 << 20;

/// The most bytes of an HTTP head.
const MAX_HEAD: usize = 16 << 10;

/// An HTTP head read from the peer, and the bytes after it.
pub(crate) struct Head {
    pub head: Vec<u8>,
    pub rest: Vec<u8>,
}

/// Reads up to the end of an HTTP head (`\r\n\r\n`). `Err` with how the connection
/// ended and what was read if it ended first.
pub(crate) fn read_head(stream: &mut TcpStream, limit: Duration) -> Result<Head, (End, Vec<u8>)> {
    let deadline = Instant::now() + limit;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = got.split_off(end + 4);
            return Ok(Head { head: got, rest });
        }
        if got.len() > MAX_HEAD {
            return Err((End::Reset(String::from("HTTP head over 16 KiB")), got));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err((End::Silent, got));
        }
        let _ = stream.set_read_timeout(Some(left));
        match stream.read(&mut buf) {
            Ok(0) => return Err((End::Eof, got)),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if is_timeout(&e) => return Err((End::Silent, got)),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err((End::Reset(e.to_string()), got)),
        }
    }
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

/// The observing connection for a peer in role `peer`: the prober's role, OPEN,
/// with the oracle's configuration (no limits, automatic pongs), fed `rest`.
fn observer(peer: Role) -> Connection {
    let t = Timestamp::ZERO;
    let made = match peer {
        Role::Server => Connection::upgraded_client(
            oracle::config(),
            Negotiated::none(),
            SeededEntropy::new(0),
            &[],
            t,
        ),
        Role::Client => Connection::upgraded_server(oracle::config(), Negotiated::none(), &[], t),
    };
    // The oracle's configuration is valid.
    made.expect("the oracle's configuration is valid")
}

/// Runs the stream of `case` over `stream` (opened, with `rest` already read after
/// the handshake) against a peer in role `peer`, and reports what it did.
///
/// The prefix goes first; the tail follows once the peer has answered the prefix
/// (its echoes and pongs) or `limit` has passed. When the tail is not a close of the
/// prober's own, the prober answers the peer's close frame as an endpoint must.
pub(crate) fn exchange(
    stream: TcpStream,
    rest: &[u8],
    case: &Case,
    peer: Role,
    prober_closes: bool,
    limit: Duration,
) -> Observed {
    let prefix_wants = Expectation::of(peer, &case.prefix, case.class);
    let mut conn = observer(peer);
    let mut seen = Observed::default();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let writer = stream.try_clone().ok().map(|mut out| {
        let phases = [case.prefix.clone(), case.tail.clone(), case.junk.clone()];
        let delivery = case.delivery.clone();
        std::thread::spawn(move || {
            for (i, phase) in phases.iter().enumerate() {
                // After the first phase, wait to be told to go on (or for the
                // reader to be gone).
                if i > 0 && go_rx.recv().is_err() {
                    return;
                }
                for piece in delivery.split(phase) {
                    if out.write_all(piece).is_err() {
                        return;
                    }
                }
            }
        })
    });
    let mut stream = stream;
    let mut go = Some(go_tx.clone());
    let mut go_junk = Some(go_tx);
    let mut reply = Vec::new();
    let mut replied = false;
    let mut total = 0usize;
    let mut buf = vec![0u8; 64 << 10];
    let mut pending: Vec<u8> = rest.to_vec();
    let linger = limit.min(Duration::from_millis(500));
    loop {
        if !pending.is_empty() {
            feed(&mut conn, &pending, &mut seen);
            pending.clear();
        }
        // What a correct endpoint sends back (pongs, the close answer) goes out when
        // the peer closes, unless the prober's own close is part of the stream.
        conn.transmit_into(&mut reply);
        if prober_closes {
            reply.clear();
        }
        if go.is_some() && answered(&seen, &prefix_wants) {
            let _ = go.take().map(|g| g.send(()));
        }
        let peer_closed = conn.state() != State::Open;
        if peer_closed && go.is_none() {
            let _ = go_junk.take().map(|g| g.send(()));
        }
        if peer_closed && go.is_none() && !replied && !reply.is_empty() {
            let _ = stream.write_all(&reply);
            replied = true;
        }
        if peer_closed && peer == Role::Client {
            // The prober is the server: it closes the TCP connection first (§7.1.1).
            seen.closed_tcp = true;
            seen.end = Some(End::Eof);
            break;
        }
        let wait = if peer_closed { linger } else { limit };
        let _ = stream.set_read_timeout(Some(wait));
        match stream.read(&mut buf) {
            Ok(0) => {
                seen.end = Some(End::Eof);
                seen.closed_tcp = true;
                break;
            }
            Ok(n) => {
                total += n;
                pending.extend_from_slice(&buf[..n]);
                if total > MAX_READ {
                    seen.end = Some(End::Reset(String::from("the peer sent over 64 MiB")));
                    break;
                }
            }
            Err(e) if is_timeout(&e) => {
                if let Some(g) = go.take() {
                    // The prefix went unanswered: go on; the judge will see it.
                    let _ = g.send(());
                    continue;
                }
                // (A peer silent after the tail gets no junk: it has not failed, and
                // that is what the judge reports.)
                seen.end = Some(End::Silent);
                break;
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => {
                seen.end = Some(End::Reset(e.to_string()));
                break;
            }
        }
    }
    drop((go, go_junk));
    let _ = stream.shutdown(Shutdown::Both);
    if let Some(w) = writer {
        let _ = w.join();
    }
    if !pending.is_empty() {
        feed(&mut conn, &pending, &mut seen);
    }
    conn.handle_eof(Timestamp::ZERO);
    drain(&mut conn, &mut seen);
    if seen.end == Some(End::Silent) && seen.close.is_some() {
        // Silence after the closing handshake is the TCP connection left open.
        seen.end = Some(End::Eof);
    }
    seen
}

fn answered(seen: &Observed, wants: &Expectation) -> bool {
    let echoes = seen
        .items
        .iter()
        .filter(|e| matches!(e, OracleEvent::Text(_) | OracleEvent::Binary(_)))
        .count();
    let pongs: Vec<&[u8]> = seen
        .items
        .iter()
        .filter_map(|e| match e {
            OracleEvent::Pong(p) => Some(&p[..]),
            _ => None,
        })
        .collect();
    let pongs_done = pongs.len() >= wants.pongs.len()
        || (!pongs.is_empty() && pongs.last().copied() == wants.pongs.last().map(|p| &p[..]));
    (echoes >= wants.echoes.len() && pongs_done) || seen.close.is_some()
}

fn feed(conn: &mut Connection, mut data: &[u8], seen: &mut Observed) {
    let mut stuck = 0;
    while !data.is_empty() && stuck < 2 {
        let taken = conn.handle_data(Timestamp::ZERO, data);
        data = &data[taken..];
        drain(conn, seen);
        // A closed connection takes nothing more.
        stuck = if taken == 0 { stuck + 1 } else { 0 };
    }
}

fn drain(conn: &mut Connection, seen: &mut Observed) {
    while let Some(event) = conn.poll_event() {
        match event {
            Event::Message(Message::Text(t)) => {
                seen.items.push(OracleEvent::Text(String::from(t.as_str())))
            }
            Event::Message(Message::Binary(b)) => {
                seen.items.push(OracleEvent::Binary(b.into_bytes()))
            }
            Event::Ping(p) => seen.items.push(OracleEvent::Ping(p)),
            Event::Pong(p) => seen.items.push(OracleEvent::Pong(p)),
            Event::Closed(closed) => match closed.error {
                None => {
                    let code = (closed.code.0 != 1005).then_some(closed.code.0);
                    seen.close = Some((code, closed.reason));
                }
                Some(ConnectionError::Protocol(e)) => {
                    seen.violation_section = section_of(&e);
                    seen.violation = Some(format!("{e} (close code {})", e.close_code().0));
                }
                Some(_) => {}
            },
            _ => {}
        }
    }
}

/// The section of RFC 6455 a violation breaks.
fn section_of(e: &crate::ProtocolError) -> &'static str {
    use crate::ProtocolError as P;
    match e {
        P::ReservedOpcode(_) | P::ReservedBits(_) | P::LengthOverflow => "5.2",
        P::UnmaskedFrame | P::MaskedFrame => "5.1",
        P::FragmentedControlFrame | P::ControlFrameTooLong => "5.5",
        P::UnexpectedContinuation | P::ExpectedContinuation => "5.4",
        P::InvalidUtf8 => "8.1",
        P::CloseBodyTooShort | P::InvalidCloseReason => "5.5.1",
        P::InvalidCloseCode(_) => "7.4",
        _ => "5",
    }
}
