//! The async glue (feature `tokio`): echo over loopback TCP, cancelled receives
//! that lose nothing, halves in two tasks, sends that wait at the write bound, the
//! heartbeat on tokio's timer, and the closing handshake in both directions.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::net::{TcpListener, TcpStream};
use wsmachine::tokio::{self as ws, Builder, Error, WebSocketStream};
use wsmachine::{
    ClientRequest, CloseCode, Config, Connection, ConnectionError, Event, Message, MessageKind,
    Negotiated, SeededEntropy, Timeout, Timestamp,
};

/// Every test is bounded: a hang is a failure, not a stuck CI run.
const LIMIT: Duration = Duration::from_secs(20);

async fn listener() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    (listener, url)
}

/// Accepts one connection and echoes until it ends; returns how it ended.
async fn echo_once(listener: TcpListener, config: Config) -> Result<wsmachine::Closed, Error> {
    let (tcp, _) = listener.accept().await?;
    let mut socket = ws::accept_with(tcp, config, |_| Ok(wsmachine::Accept::new())).await?;
    loop {
        match socket.recv().await {
            Ok(m) => match socket.send(m).await {
                Ok(()) | Err(Error::Send(_)) => {}
                Err(e) => return Err(e),
            },
            Err(Error::Closed(closed)) => return Ok(closed),
            Err(e) => return Err(e),
        }
    }
}

#[tokio::test]
async fn echo_over_loopback_then_a_clean_close() {
    let (listener, url) = listener().await;
    let server = tokio::spawn(echo_once(listener, Config::default()));
    tokio::time::timeout(LIMIT, async {
        let (mut socket, open) = ws::connect(&url).await.unwrap();
        assert_eq!(open.protocol, None);
        let big: Vec<u8> = (0..(1 << 20)).map(|i| (i * 7 % 251) as u8).collect();
        let sent = [
            Message::from("hello"),
            Message::from(b"\x00\x01binary".to_vec()),
            Message::from(""),
            Message::from(big),
        ];
        for m in &sent {
            socket.send(m.clone()).await.unwrap();
            assert_eq!(&socket.recv().await.unwrap(), m);
        }
        let closed = socket.close(CloseCode::NORMAL, "done").await.unwrap();
        assert!(closed.clean, "{closed:?}");
        assert_eq!(closed.code, CloseCode::NORMAL);
        assert!(matches!(socket.recv().await, Err(Error::AlreadyClosed)));
    })
    .await
    .unwrap();
    let server_end = server.await.unwrap().unwrap();
    assert!(server_end.clean);
    assert_eq!(
        (server_end.code, server_end.reason.as_str()),
        (CloseCode::NORMAL, "done")
    );
}

#[tokio::test]
async fn the_stream_and_sink_traits() {
    let (listener, url) = listener().await;
    let server = tokio::spawn(echo_once(listener, Config::default()));
    tokio::time::timeout(LIMIT, async {
        let (mut socket, _) = ws::connect(&url).await.unwrap();
        for i in 0..100 {
            socket.feed(Message::from(format!("m{i}"))).await.unwrap();
        }
        socket.flush().await.unwrap();
        let mut got = Vec::new();
        while got.len() < 100 {
            got.push(socket.next().await.unwrap().unwrap());
        }
        let want: Vec<Message> = (0..100).map(|i| Message::from(format!("m{i}"))).collect();
        assert_eq!(got, want);
        // The sink's close runs the closing handshake; the stream then ends cleanly.
        SinkExt::close(&mut socket).await.unwrap();
        assert!(socket.next().await.is_none());
        assert!(socket.connection().closed().unwrap().clean);
    })
    .await
    .unwrap();
    assert!(server.await.unwrap().unwrap().clean);
}

/// A client's frames for `messages`, fragmented every `fragment` bytes, with a
/// ping before each message.
fn client_frames(messages: &[Message], fragment: usize) -> Vec<u8> {
    let mut client = Connection::upgraded_client(
        Config::default(),
        Negotiated::none(),
        SeededEntropy::new(9),
        &[],
        Timestamp::ZERO,
    )
    .unwrap();
    let mut wire = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        client
            .ping(Timestamp::ZERO, format!("p{i}").into_bytes())
            .unwrap();
        let pieces: Vec<&[u8]> = m.as_bytes().chunks(fragment.max(1)).collect();
        if pieces.len() <= 1 {
            client.send(m.clone()).unwrap();
        } else {
            for (j, piece) in pieces.iter().enumerate() {
                let kind = m.kind();
                client
                    .send_fragment(kind, piece.to_vec(), j + 1 == pieces.len())
                    .unwrap();
            }
        }
        client.transmit_into(&mut wire);
    }
    wire
}

fn server_over(io: DuplexStream) -> WebSocketStream<DuplexStream> {
    Builder::new(Config::default())
        .upgraded_server(io, Negotiated::none(), &[])
        .unwrap()
}

/// A `recv` dropped by `select!` at every point it waited, mid-header and
/// mid-payload, loses nothing: every message arrives exactly once, in order.
#[tokio::test]
async fn a_cancelled_recv_loses_nothing() {
    let messages: Vec<Message> = (0..200)
        .map(|i| match i % 3 {
            0 => Message::from("é".repeat(i % 40)),
            1 => Message::from(vec![i as u8; (i * 13) % 300]),
            _ => Message::from(format!("message {i}")),
        })
        .collect();
    let wire = client_frames(&messages, 50);
    let (ours, theirs) = tokio::io::duplex(64);
    let (mut their_read, mut their_write) = tokio::io::split(theirs);
    // The peer: writes the stream in pieces of 1 to 7 bytes, yielding between them,
    // and reads (and drops) the pongs.
    let writer = tokio::spawn(async move {
        for (i, piece) in wire.chunks(7).enumerate() {
            let cut = 1 + i % piece.len().max(1);
            for part in [
                &piece[..cut.min(piece.len())],
                &piece[cut.min(piece.len())..],
            ] {
                if !part.is_empty() {
                    their_write.write_all(part).await.unwrap();
                    tokio::task::yield_now().await;
                }
            }
        }
        their_write
    });
    let drain = tokio::spawn(async move {
        let mut sink = [0u8; 256];
        while their_read.read(&mut sink).await.unwrap_or(0) > 0 {}
    });
    let mut socket = server_over(ours);
    let (mut got, mut cancelled) = (Vec::new(), 0usize);
    tokio::time::timeout(LIMIT, async {
        while got.len() < messages.len() {
            tokio::select! {
                m = socket.recv() => got.push(m.unwrap()),
                () = tokio::task::yield_now() => cancelled += 1,
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(got, messages);
    // The test means something only if many receives were cancelled mid-message.
    assert!(
        cancelled > messages.len(),
        "only {cancelled} receives cancelled"
    );
    drop(writer.await.unwrap());
    drop(socket);
    drain.await.unwrap();
}

/// Reader and writer halves in two tasks on each side: a client writing while it
/// reads, and a server whose reader hands messages to its writer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn halves_in_two_tasks_on_both_sides() {
    const N: usize = 2000;
    let (listener, url) = listener().await;
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let (mut reader, mut writer) = ws::accept(tcp).await.unwrap().split();
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Message>(8);
        let sending = tokio::spawn(async move {
            while let Some(m) = rx.recv().await {
                writer.send(m).await.unwrap();
            }
            writer
        });
        let end = loop {
            match reader.recv().await {
                Ok(m) => tx.send(m).await.unwrap(),
                Err(Error::Closed(closed)) => break closed,
                Err(e) => panic!("{e}"),
            }
        };
        drop(tx);
        let writer = sending.await.unwrap();
        // The halves go back together once both tasks are done with them.
        let socket = reader.reunite(writer).unwrap();
        assert!(socket.connection().closed().is_some());
        end
    });
    tokio::time::timeout(LIMIT, async {
        let (socket, _) = ws::connect(&url).await.unwrap();
        let (mut reader, mut writer) = socket.split();
        let sending = tokio::spawn(async move {
            for i in 0..N {
                let m = Message::from(vec![(i % 256) as u8; i % 1000]);
                writer.send(m).await.unwrap();
            }
            writer
        });
        for i in 0..N {
            let m = reader.recv().await.unwrap();
            assert_eq!(
                m,
                Message::from(vec![(i % 256) as u8; i % 1000]),
                "message {i}"
            );
        }
        let mut writer = sending.await.unwrap();
        writer.close(CloseCode::NORMAL, "").await.unwrap();
        match reader.recv().await {
            Err(Error::Closed(closed)) => assert!(closed.clean, "{closed:?}"),
            other => panic!("{other:?}"),
        }
    })
    .await
    .unwrap();
    assert!(server.await.unwrap().clean);
}

/// A peer that completes the handshake and then reads nothing: sends wait at the
/// write bound rather than buffering without limit, and the write timeout ends it.
#[tokio::test]
async fn sends_wait_at_the_bound_and_the_write_timeout_ends_them() {
    let (listener, url) = listener().await;
    // The peer: a wsmachine server that is never polled after its handshake.
    let peer = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let socket = ws::accept(tcp).await.unwrap();
        tokio::time::sleep(LIMIT).await;
        drop(socket);
    });
    let mut config = Config::default();
    config.write_timeout = Some(Duration::from_millis(500));
    let bound = 32 << 10;
    let request = ClientRequest::from_url(&url).unwrap();
    let tcp = TcpStream::connect(url.trim_start_matches("ws://").trim_end_matches('/'))
        .await
        .unwrap();
    let (mut socket, _) = Builder::new(config)
        .write_buffer_size(bound)
        .client(tcp, request)
        .await
        .unwrap();
    let message = Message::from(vec![1u8; 8 << 10]);
    let mut blocked = false;
    let mut most_held = 0;
    let result = tokio::time::timeout(LIMIT, async {
        loop {
            let feed = socket.feed(message.clone());
            match tokio::time::timeout(Duration::from_millis(100), feed).await {
                Ok(Ok(())) => most_held = most_held.max(socket.connection().buffered_amount()),
                Ok(Err(e)) => return e,
                Err(_) => blocked = true,
            }
        }
    })
    .await
    .unwrap();
    assert!(blocked, "no send ever waited");
    // Room is checked before a message is taken: at most one message past the bound.
    assert!(
        most_held <= bound + message.len() + 14,
        "{most_held} bytes buffered with a bound of {bound}"
    );
    assert!(
        matches!(&result, Error::Io(e) if e.kind() == std::io::ErrorKind::TimedOut),
        "{result:?}"
    );
    let closed = socket.connection().closed().unwrap();
    assert_eq!(closed.error, Some(ConnectionError::Timeout(Timeout::Write)));
    peer.abort();
}

/// The keepalive runs while a task waits in `recv`: a peer that answers pings keeps
/// the connection, one that does not is dropped at the pong timeout.
#[tokio::test]
async fn heartbeat_on_the_tokio_timer() {
    let mut config = Config::default();
    config.ping_interval = Some(Duration::from_millis(50));
    config.pong_timeout = Some(Duration::from_millis(200));
    // An answering peer: a client in `recv`, which pongs on its own.
    let (ours, theirs) = tokio::io::duplex(4096);
    let mut server = Builder::new(config.clone())
        .upgraded_server(ours, Negotiated::none(), &[])
        .unwrap();
    let client_conn = Connection::upgraded_client(
        Config::default(),
        Negotiated::none(),
        SeededEntropy::new(3),
        &[],
        Timestamp::ZERO,
    )
    .unwrap();
    let clock = wsmachine::Clock::new();
    let mut client = Builder::new(Config::default()).wrap(theirs, client_conn, clock);
    let client_task = tokio::spawn(async move {
        let got = client.recv().await;
        (client, got)
    });
    let pongs = tokio::time::timeout(LIMIT, async {
        let mut pongs = 0;
        while pongs < 4 {
            if let Event::Pong(_) = server.recv_event().await.unwrap() {
                pongs += 1;
            }
        }
        pongs
    })
    .await
    .unwrap();
    assert_eq!(pongs, 4);
    server.send(Message::from("still here")).await.unwrap();
    let (_client, got) = client_task.await.unwrap();
    assert_eq!(got.unwrap(), Message::from("still here"));

    // A silent peer: the other end of the pipe, never read.
    let (ours, _silent) = tokio::io::duplex(4096);
    let mut server = Builder::new(config)
        .upgraded_server(ours, Negotiated::none(), &[])
        .unwrap();
    let started = tokio::time::Instant::now();
    let end = tokio::time::timeout(LIMIT, server.recv()).await.unwrap();
    match end {
        Err(Error::Closed(closed)) => {
            assert_eq!(closed.error, Some(ConnectionError::Timeout(Timeout::Pong)))
        }
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() >= Duration::from_millis(250));
}

/// A server that closes: its close returns once the client answered and the
/// transport ended; the client's `recv` reports the close with its code.
#[tokio::test]
async fn server_initiated_close() {
    let (listener, url) = listener().await;
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut socket = ws::accept(tcp).await.unwrap();
        socket.send(Message::from("bye soon")).await.unwrap();
        socket.close(CloseCode::GOING_AWAY, "going").await.unwrap()
    });
    tokio::time::timeout(LIMIT, async {
        let (mut socket, _) = ws::connect(&url).await.unwrap();
        assert_eq!(socket.recv().await.unwrap(), Message::from("bye soon"));
        match socket.recv().await {
            Err(Error::Closed(closed)) => {
                assert!(closed.clean);
                assert_eq!(
                    (closed.code, closed.reason.as_str()),
                    (CloseCode::GOING_AWAY, "going")
                );
            }
            other => panic!("{other:?}"),
        }
    })
    .await
    .unwrap();
    let closed = server.await.unwrap();
    assert!(closed.clean, "{closed:?}");
}

/// An abrupt end of the transport is reported once as an unclean close (1006), and
/// the message stream yields it as an error before it ends.
#[tokio::test]
async fn an_abrupt_end_is_an_unclean_close() {
    let (ours, theirs) = tokio::io::duplex(4096);
    let mut socket = server_over(ours);
    let mut peer = theirs;
    peer.write_all(&client_frames(&[Message::from("last words")], 100))
        .await
        .unwrap();
    drop(peer);
    let first = socket.next().await.unwrap().unwrap();
    assert_eq!(first, Message::from("last words"));
    match socket.next().await {
        Some(Err(Error::Closed(closed))) => {
            assert!(!closed.clean);
            assert_eq!(closed.code, CloseCode::ABNORMAL);
            assert_eq!(closed.error, Some(ConnectionError::Eof));
        }
        other => panic!("{other:?}"),
    }
    assert!(socket.next().await.is_none());
}

/// A streamed message sent piece by piece arrives whole.
#[tokio::test]
async fn fragments_sent_one_by_one() {
    let (listener, url) = listener().await;
    let server = tokio::spawn(echo_once(listener, Config::default()));
    tokio::time::timeout(LIMIT, async {
        let (mut socket, _) = ws::connect(&url).await.unwrap();
        for piece in ["one ", "two ", "three"] {
            let last = piece == "three";
            socket
                .send_fragment(MessageKind::Text, piece.as_bytes().to_vec(), last)
                .await
                .unwrap();
        }
        assert_eq!(socket.recv().await.unwrap(), Message::from("one two three"));
        socket.close(CloseCode::NORMAL, "").await.unwrap();
    })
    .await
    .unwrap();
    server.await.unwrap().unwrap();
}

/// The writer half closes; the peer never answers. The reader's `recv` must still
/// end, at the close timeout: the close armed a deadline the reader's timer follows.
#[tokio::test]
async fn a_close_from_the_writer_half_ends_the_reader_at_the_close_timeout() {
    let mut config = Config::default();
    config.close_timeout = Some(Duration::from_millis(300));
    let (ours, _silent_peer) = tokio::io::duplex(1 << 16);
    let (mut reader, mut writer) = Builder::new(config)
        .upgraded_server(ours, Negotiated::none(), &[])
        .unwrap()
        .split();
    let reading = tokio::spawn(async move { reader.recv().await });
    // Let the reader wait first, with no deadline armed.
    tokio::time::sleep(Duration::from_millis(50)).await;
    writer.close(CloseCode::NORMAL, "").await.unwrap();
    let end = tokio::time::timeout(LIMIT, reading).await.unwrap().unwrap();
    match end {
        Err(Error::Closed(closed)) => {
            assert_eq!(closed.error, Some(ConnectionError::Timeout(Timeout::Close)))
        }
        other => panic!("{other:?}"),
    }
}

/// The stream used through `futures::StreamExt::split` (its Stream and Sink in two
/// tasks, behind a BiLock): neither side's wakeups get lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_and_sink_split_by_futures() {
    const N: usize = 3000;
    let (listener, url) = listener().await;
    let server = tokio::spawn(echo_once(listener, Config::default()));
    tokio::time::timeout(LIMIT, async {
        let request = ClientRequest::from_url(&url).unwrap();
        let tcp = TcpStream::connect(url.trim_start_matches("ws://").trim_end_matches('/'))
            .await
            .unwrap();
        // A small write bound, so that the sink waits often.
        let (socket, _) = Builder::new(Config::default())
            .write_buffer_size(4 << 10)
            .client(tcp, request)
            .await
            .unwrap();
        // The inherent `split` is the crate's own halves; this is the futures one.
        let (mut sink, mut stream) = StreamExt::split(socket);
        let sending = tokio::spawn(async move {
            for i in 0..N {
                sink.feed(Message::from(vec![(i % 251) as u8; i % 2000]))
                    .await
                    .unwrap();
            }
            sink.flush().await.unwrap();
            sink
        });
        for i in 0..N {
            let m = stream.next().await.unwrap().unwrap();
            assert_eq!(
                m,
                Message::from(vec![(i % 251) as u8; i % 2000]),
                "message {i}"
            );
        }
        let mut sink = sending.await.unwrap();
        SinkExt::close(&mut sink).await.unwrap();
        assert!(
            stream.next().await.is_none(),
            "the stream ends after a clean close"
        );
    })
    .await
    .unwrap();
    assert!(server.await.unwrap().unwrap().clean);
}

/// `close` cancelled half way (by a timeout) and called again waits for the end
/// instead of failing.
#[tokio::test]
async fn a_cancelled_close_can_be_resumed() {
    let (ours, theirs) = tokio::io::duplex(4096);
    let mut socket = server_over(ours);
    let cancelled = tokio::time::timeout(
        Duration::from_millis(20),
        socket.close(CloseCode::NORMAL, ""),
    )
    .await;
    assert!(cancelled.is_err(), "the peer has not answered yet");
    // Now the peer answers the close, as a client: its close frame, then its end.
    let mut peer = theirs;
    // A masked close frame with code 1000 (0x03e8), key 1 2 3 4.
    let reply = [0x88, 0x82, 1, 2, 3, 4, 0x03 ^ 1, 0xe8 ^ 2];
    peer.write_all(&reply).await.unwrap();
    drop(peer);
    let closed = tokio::time::timeout(LIMIT, socket.close(CloseCode::NORMAL, ""))
        .await
        .unwrap()
        .unwrap();
    assert!(closed.clean, "{closed:?}");
}

/// With `Delivery::Streamed`, `recv` refuses before taking anything, and
/// `recv_event` then hands out every fragment.
#[tokio::test]
async fn streamed_delivery_loses_no_fragment() {
    let mut config = Config::default();
    config.delivery = wsmachine::Delivery::Streamed;
    let (ours, mut peer) = tokio::io::duplex(1 << 16);
    let mut socket = Builder::new(config)
        .upgraded_server(ours, Negotiated::none(), &[])
        .unwrap();
    peer.write_all(&client_frames(&[Message::from("piece by piece")], 5))
        .await
        .unwrap();
    assert!(matches!(socket.recv().await, Err(Error::Io(_))));
    let mut text = Vec::new();
    loop {
        match socket.recv_event().await.unwrap() {
            Event::Fragment(f) => {
                text.extend_from_slice(&f.data);
                if f.last {
                    break;
                }
            }
            Event::Ping(_) => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(text, b"piece by piece");
}
