//! The blocking glue under peers that misbehave at the transport: one that stops
//! reading, one that sends nothing, one that resets after its close frame. Each
//! test bounds itself (a channel with a timeout), so a glue that blocks forever
//! fails instead of hanging.
#![cfg(feature = "blocking")]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use wsmachine::blocking::{self, Builder, Error};
use wsmachine::{
    Accept, ClientRequest, CloseCode, Config, ConnectionError, Delivery, Event, MessageKind,
    Timeout,
};

fn listener() -> (TcpListener, String) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", l.local_addr().unwrap());
    (l, url)
}

/// Runs `f` on a thread; `wait` on the result gives up after a time limit.
fn start<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Pending<T> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(f());
    });
    Pending(rx)
}

struct Pending<T>(mpsc::Receiver<T>);

impl<T> Pending<T> {
    fn wait(self, limit: Duration) -> Option<T> {
        self.0.recv_timeout(limit).ok()
    }
}

/// An echo server whose client sends large messages and never reads: the server's
/// writes stall, and the idle timeout still ends the connection, from inside the
/// blocked write.
#[test]
fn a_peer_that_stops_reading_cannot_block_a_writer() {
    let (l, url) = listener();
    let server = start(move || {
        let (stream, _) = l.accept().unwrap();
        let mut config = Config::default();
        config.idle_timeout = Some(Duration::from_millis(500));
        let mut ws = blocking::accept_with(stream, config, |_| Ok(Accept::new())).unwrap();
        let started = Instant::now();
        let ended = loop {
            match ws.read() {
                Ok(m) => {
                    if let Err(e) = ws.send(m) {
                        break e;
                    }
                }
                Err(e) => break e,
            }
        };
        // The connection's own account of why, once the glue returned.
        let closed = loop {
            match ws.read_event() {
                Ok(Event::Closed(c)) => break Some(*c),
                Ok(_) => {}
                Err(_) => break None,
            }
        };
        (started.elapsed(), ended, closed)
    });
    let mut config = Config::default();
    config.write_timeout = Some(Duration::from_secs(15));
    let (mut client, _) =
        blocking::connect_with(ClientRequest::from_url(&url).unwrap(), config).unwrap();
    // Send until our own writes stall too (the server no longer reads), on a thread
    // that keeps the connection open and never reads.
    thread::spawn(move || {
        let message = vec![7u8; 4 << 20];
        while client.send(message.clone()).is_ok() {}
        thread::sleep(Duration::from_secs(20));
    });
    let (elapsed, ended, closed) = server
        .wait(Duration::from_secs(20))
        .expect("the server thread stayed blocked");
    assert!(
        matches!(&ended, Error::Io(e) if e.kind() == std::io::ErrorKind::TimedOut),
        "{ended:?}"
    );
    let closed = closed.expect("the connection reports why it ended");
    assert_eq!(closed.error, Some(ConnectionError::Timeout(Timeout::Idle)));
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
}

/// A stream the glue cannot see through (as a TLS stream is), with the socket
/// given apart: the handshake timeout holds against a client that sends nothing.
#[test]
fn a_wrapped_server_stream_gets_the_handshake_timeout() {
    struct Wrapped(TcpStream);
    impl Read for Wrapped {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.0.read(buf)
        }
    }
    impl Write for Wrapped {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.write(buf)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            self.0.flush()
        }
    }
    let (l, _) = listener();
    let addr = l.local_addr().unwrap();
    let server = start(move || {
        let (tcp, _) = l.accept().unwrap();
        let mut config = Config::default();
        config.handshake_timeout = Some(Duration::from_millis(300));
        let socket = tcp.try_clone().unwrap();
        let started = Instant::now();
        let result = Builder::new(config)
            .socket(socket)
            .server(Wrapped(tcp), |_| Ok(Accept::new()));
        (started.elapsed(), result.err())
    });
    let silent = TcpStream::connect(addr).unwrap();
    let (elapsed, error) = server
        .wait(Duration::from_secs(10))
        .expect("the handshake never timed out");
    match error {
        Some(Error::Closed(c)) => {
            assert_eq!(c.error, Some(ConnectionError::Timeout(Timeout::Handshake)))
        }
        other => panic!("{other:?}"),
    }
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    // The server answered 408 before closing.
    let mut answer = String::new();
    let _ = (&silent).read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer:?}");
}

/// A peer that closes with 1009 and resets while our large message is still being
/// written: the write fails, and the next read still delivers the peer's close
/// frame (already in the socket), so the application learns why.
#[test]
fn the_peers_close_is_delivered_after_a_failed_write() {
    let (l, url) = listener();
    let peer = thread::spawn(move || {
        let (mut stream, _) = l.accept().unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            stream.read_exact(&mut byte).unwrap();
            head.push(byte[0]);
        }
        let key = String::from_utf8(head)
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: ").map(String::from))
            .unwrap();
        let accept = wsmachine::handshake::accept_key(&key);
        write!(
            stream,
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
        )
        .unwrap();
        // Read the start of the message, refuse it, and go away with the rest
        // unread: the kernel answers with a reset.
        let mut start = vec![0u8; 64 << 10];
        stream.read_exact(&mut start).unwrap();
        stream.write_all(&[0x88, 0x02, 0x03, 0xF1]).unwrap(); // close 1009
        thread::sleep(Duration::from_millis(200));
        drop(stream);
    });
    let outcome = start(move || {
        let (mut ws, _) = blocking::connect(&url).unwrap();
        let sent = ws.send(vec![0u8; 64 << 20]);
        let read = ws.read();
        (sent, read)
    });
    let (sent, read) = outcome
        .wait(Duration::from_secs(20))
        .expect("the client stayed blocked");
    peer.join().unwrap();
    assert!(matches!(sent, Err(Error::Io(_))), "{sent:?}");
    match read {
        Err(Error::Closed(c)) => assert_eq!(c.code, CloseCode::MESSAGE_TOO_BIG, "{c:?}"),
        other => panic!("the peer's close was lost: {other:?}"),
    }
}

/// A message sent in fragments through the blocking glue arrives, in streamed
/// mode, in pieces no larger than the receiver's read buffer.
#[test]
fn fragments_and_the_read_buffer_size() {
    let (l, url) = listener();
    let server = thread::spawn(move || {
        let (tcp, _) = l.accept().unwrap();
        let mut config = Config::default();
        config.delivery = Delivery::Streamed;
        let socket = tcp.try_clone().unwrap();
        let mut ws = Builder::new(config)
            .socket(socket)
            .read_buffer_size(1000)
            .server(tcp, |_| Ok(Accept::new()))
            .unwrap();
        let mut pieces = Vec::new();
        loop {
            match ws.read_event().unwrap() {
                Event::Fragment(f) => {
                    let last = f.last;
                    pieces.push(f);
                    if last {
                        return pieces;
                    }
                }
                other => panic!("{other:?}"),
            }
        }
    });
    let (mut ws, _) = blocking::connect(&url).unwrap();
    let text = "é".repeat(3000); // 6000 bytes, two-byte code points
    let (a, b) = text.as_bytes().split_at(2001); // cuts a code point
    ws.send_fragment(MessageKind::Text, a.to_vec(), false)
        .unwrap();
    ws.send_fragment(MessageKind::Text, b.to_vec(), true)
        .unwrap();
    let pieces = server.join().unwrap();
    assert!(
        pieces.iter().all(|p| p.data.len() <= 1000),
        "pieces over 1000 bytes"
    );
    let joined: Vec<u8> = pieces.iter().flat_map(|p| p.data.to_vec()).collect();
    assert_eq!(joined, text.as_bytes());
    assert!(pieces.first().unwrap().first);
}
