//! Blocking glue (feature `blocking`): the sans-I/O [`Connection`] driven over any
//! `Read + Write` stream, with `std::net` conveniences. It is also the reference for
//! embedding the core in another I/O model: every call below is a few lines of
//! "feed bytes, drain events, write output, honour the transport verdict".
//!
//! ```no_run
//! use wsmachine::blocking;
//! use wsmachine::Message;
//!
//! // Client.
//! let (mut ws, _open) = blocking::connect("ws://127.0.0.1:9001/")?;
//! ws.send(Message::from("hello"))?;
//! let echo = ws.read()?;
//! ws.close(wsmachine::CloseCode::NORMAL, "bye")?;
//!
//! // Server.
//! let listener = std::net::TcpListener::bind("127.0.0.1:9001")?;
//! let (stream, _) = listener.accept()?;
//! let mut ws = blocking::accept(stream)?;
//! while let Ok(message) = ws.read() {
//!     ws.send(message)?;
//! }
//! # Ok::<(), blocking::Error>(())
//! ```
//!
//! # Deadlines
//!
//! The connection's deadlines (`Config::handshake_timeout`, `ping_interval`,
//! `idle_timeout`, `write_timeout`, `close_timeout`...) are enforced through the
//! socket's read and write timeouts, set from [`Connection::poll_timeout`] before
//! each read and each write: a peer that stops reading cannot keep a thread blocked
//! in `write`, any more than a silent one can in `read`. That needs the `TcpStream`
//! under the stream: the `std::net` constructors have it; for a TLS stream (or any
//! other wrapper) give a clone of the socket with [`Builder::socket`]. Without one,
//! deadlines are only checked when a read or write returns, and once the connection
//! has ended the transport is closed at once: the half-close and the bounded wait for
//! the peer's end of stream (§7.1.1) both need the socket.

#[cfg(feature = "rustls")]
use std::boxed::Box;
use std::io::{self, IoSlice, Read, Write};
#[cfg(feature = "getrandom")]
use std::net::ToSocketAddrs;
use std::net::{Shutdown, TcpStream};

use std::time::Duration;

use crate::entropy::Entropy;
use crate::{
    Accept, ClientRequest, Clock, CloseCode, Closed, Config, Connection, ConnectionError, Event,
    Message, MessageKind, Open, Reject, Request, State, Timestamp, TransportAction,
};

pub use crate::glue_error::Error;
pub use stream::MaybeTlsStream;

mod stream;

#[cfg(feature = "getrandom")]
mod reconnecting;
#[cfg(feature = "getrandom")]
pub use reconnecting::{ClientEvent, ReconnectingClient};

/// The default largest read from the stream, and so the largest piece
/// [`Delivery::Streamed`](crate::Delivery::Streamed) delivers. Reads go straight into
/// the connection's own buffer ([`Connection::read_buf`]): a received message costs
/// no copy but the read's.
pub const DEFAULT_READ_BUFFER: usize = 64 << 10;

/// Settings of the blocking glue, and the way to open a connection with them over
/// any stream.
///
/// ```no_run
/// # fn tls_wrap(s: std::net::TcpStream) -> std::net::TcpStream { s }
/// use wsmachine::{blocking::Builder, Accept, Config};
/// let listener = std::net::TcpListener::bind("127.0.0.1:9443")?;
/// let (tcp, _) = listener.accept()?;
/// let socket = tcp.try_clone()?; // the deadlines act on the socket under the TLS stream
/// let ws = Builder::new(Config::default())
///     .socket(socket)
///     .read_buffer_size(64 << 10)
///     .server(tls_wrap(tcp), |_request| Ok(Accept::new()))?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Builder {
    config: Config,
    socket: Option<TcpStream>,
    read_buffer: usize,
}

impl Builder {
    /// The glue's defaults around this connection configuration.
    pub fn new(config: Config) -> Builder {
        Builder {
            config,
            socket: None,
            read_buffer: DEFAULT_READ_BUFFER,
        }
    }

    /// The TCP socket under the stream (a `try_clone` of it), so that read and write
    /// timeouts enforce the connection's deadlines and the closing handshake can shut
    /// the socket down properly. The `std::net` functions ([`connect`], [`accept`])
    /// set it themselves.
    pub fn socket(mut self, socket: TcpStream) -> Builder {
        self.socket = Some(socket);
        self
    }

    /// How many bytes one read from the stream may bring at most (default
    /// [`DEFAULT_READ_BUFFER`], at least 1): also the largest piece of a message in
    /// [`Delivery::Streamed`](crate::Delivery::Streamed) mode.
    pub fn read_buffer_size(mut self, size: usize) -> Builder {
        self.read_buffer = size.max(1);
        self
    }

    /// Runs the server side of the opening handshake over `stream`: `decide` sees
    /// the request and answers with an [`Accept`] or a [`Reject`].
    pub fn server<S: Read + Write>(
        self,
        stream: S,
        decide: impl FnOnce(&Request) -> Result<Accept, Reject>,
    ) -> Result<WebSocket<S>, Error> {
        let clock = Clock::new();
        let conn = Connection::server(self.config.clone(), clock.now())?;
        self.wrap(stream, conn, clock).serve(decide)
    }

    /// Runs the client side of the opening handshake over `stream`, with OS entropy.
    #[cfg(feature = "getrandom")]
    pub fn client<S: Read + Write>(
        self,
        stream: S,
        request: ClientRequest,
    ) -> Result<(WebSocket<S>, Open), Error> {
        self.client_with_entropy(stream, request, crate::OsEntropy::new())
    }

    /// Runs the client side of the opening handshake over `stream` with this entropy
    /// source for the key and the masking keys.
    pub fn client_with_entropy<S: Read + Write>(
        self,
        stream: S,
        request: ClientRequest,
        entropy: impl Entropy + Send + 'static,
    ) -> Result<(WebSocket<S>, Open), Error> {
        let clock = Clock::new();
        let conn = Connection::client(self.config.clone(), request, entropy, clock.now())?;
        self.wrap(stream, conn, clock).open()
    }

    /// Wraps a connection in any state over `stream`; `clock` is the clock its
    /// timestamps come from.
    pub fn wrap<S: Read + Write>(self, stream: S, conn: Connection, clock: Clock) -> WebSocket<S> {
        WebSocket {
            stream,
            socket: self.socket,
            conn,
            clock,
            read_size: self.read_buffer,
            finished: false,
            write_failed: false,
            read_timeout: None,
            write_timeout: None,
        }
    }
}

/// A WebSocket over a blocking stream.
pub struct WebSocket<S> {
    stream: S,
    /// The TCP socket under `stream`, for timeouts and shutdown.
    socket: Option<TcpStream>,
    conn: Connection,
    clock: Clock,
    /// The largest read.
    read_size: usize,
    /// The transport was closed (or given up on).
    finished: bool,
    /// A write failed: nothing more is written, but what the peer sent is still read.
    write_failed: bool,
    /// The timeouts last set on `socket` (`None`: not set by us yet), so that an
    /// unchanged one costs no system call.
    read_timeout: Option<Option<Duration>>,
    write_timeout: Option<Option<Duration>>,
}

impl<S: Read + Write> core::fmt::Debug for WebSocket<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WebSocket")
            .field("conn", &self.conn)
            .finish_non_exhaustive()
    }
}

/// Connects to a `ws://` URL (or, with feature `rustls`, a `wss://` one, trusting
/// Mozilla's roots) and completes the opening handshake, with the default
/// configuration and OS entropy.
#[cfg(feature = "getrandom")]
pub fn connect(url: &str) -> Result<(WebSocket<MaybeTlsStream>, Open), Error> {
    connect_with(ClientRequest::from_url(url)?, Config::default())
}

/// Connects with a request and configuration of your choosing; `wss://` (feature
/// `rustls`) trusts Mozilla's roots ([`connect_with_tls`] takes a TLS configuration).
/// The handshake timeout covers the TCP connect and the TLS handshake too.
#[cfg(feature = "getrandom")]
pub fn connect_with(
    request: ClientRequest,
    config: Config,
) -> Result<(WebSocket<MaybeTlsStream>, Open), Error> {
    #[cfg(feature = "rustls")]
    if request.is_secure() {
        return connect_with_tls(request, config, crate::tls::client_config());
    }
    if request.is_secure() {
        return Err(Error::Io(io::Error::new(
            io::ErrorKind::Unsupported,
            "wss needs TLS: enable the `rustls` feature, or open the TLS stream yourself \
             and call Builder::client",
        )));
    }
    config.validate()?;
    let addr = (request.host(), request.port_or_default());
    let stream = connect_tcp(addr, config.handshake_timeout)?;
    let socket = stream.try_clone()?;
    // With the socket from the start, the handshake deadline is enforced too.
    Builder::new(config)
        .socket(socket)
        .client(MaybeTlsStream::Plain(stream), request)
}

/// Connects to a `wss://` (or `ws://`) URL's host over TLS with this rustls client
/// configuration (see [`tls`](crate::tls) for ones that trust a private CA).
#[cfg(all(feature = "getrandom", feature = "rustls"))]
pub fn connect_with_tls(
    request: ClientRequest,
    config: Config,
    tls: std::sync::Arc<rustls::ClientConfig>,
) -> Result<(WebSocket<MaybeTlsStream>, Open), Error> {
    config.validate()?;
    let name = crate::tls::server_name(request.host())?;
    let addr = (request.host(), request.port_or_default());
    let stream = connect_tcp(addr, config.handshake_timeout)?;
    let socket = stream.try_clone()?;
    let session = rustls::ClientConnection::new(tls, name).map_err(io::Error::other)?;
    // The TLS handshake runs inside the first writes and reads, under the socket
    // timeouts the handshake deadline sets.
    let stream = MaybeTlsStream::ClientTls(Box::new(rustls::StreamOwned::new(session, stream)));
    Builder::new(config).socket(socket).client(stream, request)
}

/// Accepts a TLS connection on a TCP stream with this rustls server configuration,
/// then the upgrade request: `decide` sees it and answers with an [`Accept`] or a
/// [`Reject`]. The handshake timeout covers the TLS handshake too.
#[cfg(feature = "rustls")]
pub fn accept_tls(
    stream: TcpStream,
    tls: std::sync::Arc<rustls::ServerConfig>,
    config: Config,
    decide: impl FnOnce(&Request) -> Result<Accept, Reject>,
) -> Result<WebSocket<MaybeTlsStream>, Error> {
    stream.set_nodelay(true)?;
    let socket = stream.try_clone()?;
    let session = rustls::ServerConnection::new(tls).map_err(io::Error::other)?;
    let stream = MaybeTlsStream::ServerTls(Box::new(rustls::StreamOwned::new(session, stream)));
    Builder::new(config).socket(socket).server(stream, decide)
}

#[cfg(feature = "getrandom")]
fn connect_tcp(addr: impl ToSocketAddrs, timeout: Option<Duration>) -> io::Result<TcpStream> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
    for a in addr.to_socket_addrs()? {
        let attempt = match timeout.filter(|t| !t.is_zero()) {
            Some(t) => TcpStream::connect_timeout(&a, t),
            None => TcpStream::connect(a),
        };
        match attempt {
            Ok(s) => {
                s.set_nodelay(true)?;
                return Ok(s);
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Runs the client handshake over any stream (TCP, TLS...). Without the socket
/// under it the deadlines are not enforced: see [`Builder::socket`].
#[cfg(feature = "getrandom")]
pub fn client<S: Read + Write>(
    stream: S,
    request: ClientRequest,
    config: Config,
) -> Result<(WebSocket<S>, Open), Error> {
    Builder::new(config).client(stream, request)
}

/// Runs the client handshake over any stream with the given entropy source.
pub fn client_with_entropy<S: Read + Write>(
    stream: S,
    request: ClientRequest,
    config: Config,
    entropy: impl Entropy + Send + 'static,
) -> Result<(WebSocket<S>, Open), Error> {
    Builder::new(config).client_with_entropy(stream, request, entropy)
}

/// Accepts any valid upgrade request on a TCP stream, with the default
/// configuration.
pub fn accept(stream: TcpStream) -> Result<WebSocket<TcpStream>, Error> {
    accept_with(stream, Config::default(), |_| Ok(Accept::new()))
}

/// Accepts on a TCP stream, letting `decide` see the request and answer with an
/// [`Accept`] or a [`Reject`].
pub fn accept_with(
    stream: TcpStream,
    config: Config,
    decide: impl FnOnce(&Request) -> Result<Accept, Reject>,
) -> Result<WebSocket<TcpStream>, Error> {
    stream.set_nodelay(true)?;
    let socket = stream.try_clone()?;
    Builder::new(config).socket(socket).server(stream, decide)
}

/// Runs the server handshake over any stream (TCP, TLS...). Without the socket
/// under it the deadlines are not enforced (the handshake timeout included): see
/// [`Builder::socket`].
pub fn server<S: Read + Write>(
    stream: S,
    config: Config,
    decide: impl FnOnce(&Request) -> Result<Accept, Reject>,
) -> Result<WebSocket<S>, Error> {
    Builder::new(config).server(stream, decide)
}

impl<S: Read + Write> WebSocket<S> {
    /// Drives a client's opening handshake to OPEN.
    fn open(mut self) -> Result<(WebSocket<S>, Open), Error> {
        loop {
            match self.next_event(None)? {
                Some(Event::Open(open)) => return Ok((self, *open)),
                Some(Event::Closed(closed)) => return Err(Error::opening_failed(*closed)),
                Some(_) => {}
                None => return Err(Error::AlreadyClosed),
            }
        }
    }

    fn serve(
        mut self,
        decide: impl FnOnce(&Request) -> Result<Accept, Reject>,
    ) -> Result<WebSocket<S>, Error> {
        let mut decide = Some(decide);
        loop {
            match self.next_event(None)? {
                Some(Event::Request(request)) => {
                    let Some(decide) = decide.take() else {
                        continue;
                    };
                    let now = self.now();
                    match decide(&request) {
                        Ok(accept) => self.conn.accept(now, accept)?,
                        Err(reject) => self.conn.reject(now, reject)?,
                    }
                }
                Some(Event::Open(_)) => return Ok(self),
                Some(Event::Closed(closed)) => return Err(Error::opening_failed(*closed)),
                Some(_) => {}
                None => return Err(Error::AlreadyClosed),
            }
        }
    }

    /// The sans-I/O connection inside.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The sans-I/O connection inside, for commands this wrapper does not offer.
    /// Call [`flush`](Self::flush) afterwards.
    pub fn connection_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// The stream.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// The clock the connection's timestamps come from.
    pub fn clock(&self) -> Clock {
        self.clock
    }

    fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Reads until a data message arrives. Pings are answered (and pongs noted) on
    /// the way. When the connection ends, returns [`Error::Closed`] once, after the
    /// transport has been properly shut down, then [`Error::AlreadyClosed`].
    pub fn read(&mut self) -> Result<Message, Error> {
        loop {
            match self.read_event()? {
                Event::Message(m) => return Ok(m),
                Event::Closed(c) => return Err(Error::Closed(*c)),
                _ => {}
            }
        }
    }

    /// Reads the next event of any kind (messages, pings, pongs, fragments in
    /// streamed mode, `Closed`).
    pub fn read_event(&mut self) -> Result<Event, Error> {
        match self.next_event(None)? {
            Some(event) => Ok(event),
            None => Err(Error::AlreadyClosed),
        }
    }

    /// Like [`read_event`](Self::read_event) but waits at most `max_wait`; `Ok(None)`
    /// when nothing arrived in time. Lets one thread also watch something else.
    pub fn read_event_timeout(&mut self, max_wait: Duration) -> Result<Option<Event>, Error> {
        let until = self.now() + max_wait;
        self.next_event(Some(until))
    }

    /// Queues a message and writes it out.
    pub fn send(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        self.conn.send(message)?;
        self.flush()
    }

    /// Queues one fragment of a message sent piece by piece and writes it out; `last`
    /// ends the message (see [`Connection::send_fragment`]).
    pub fn send_fragment(
        &mut self,
        kind: MessageKind,
        data: impl Into<bytes::Bytes>,
        last: bool,
    ) -> Result<(), Error> {
        self.conn.send_fragment(kind, data, last)?;
        self.flush()
    }

    /// Sends a ping.
    pub fn ping(&mut self, payload: impl Into<bytes::Bytes>) -> Result<(), Error> {
        let now = self.now();
        self.conn.ping(now, payload)?;
        self.flush()
    }

    /// Starts the closing handshake and waits for it to finish (the peer's close
    /// frame, then the end of the transport, within `Config::close_timeout`).
    /// Messages that arrive meanwhile are dropped; use
    /// [`Connection::close`] through [`connection_mut`](Self::connection_mut) and
    /// keep calling [`read_event`](Self::read_event) to receive them.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<Closed, Error> {
        let now = self.now();
        self.conn.close(now, code, reason)?;
        loop {
            match self.next_event(None)? {
                Some(Event::Closed(closed)) => return Ok(*closed),
                Some(_) => {}
                None => return Err(Error::AlreadyClosed),
            }
        }
    }

    /// Writes out everything the connection has queued, retrying partial and
    /// interrupted writes, within the connection's deadlines: a peer that stops
    /// reading ends the connection at the first deadline that passes (the write
    /// timeout at the latest), and this returns a `TimedOut` error. On a write error
    /// the bytes stay queued (see [`Connection::take_unsent`]) and nothing more is
    /// written; reading goes on.
    pub fn flush(&mut self) -> Result<(), Error> {
        if self.write_failed && self.conn.buffered_amount() > 0 {
            return Err(Error::Io(io::ErrorKind::BrokenPipe.into()));
        }
        self.write_out(None)
    }

    /// Writes until the output is empty; gives up at `until`, or when a deadline of
    /// the connection passed and ended it.
    fn write_out(&mut self, until: Option<Timestamp>) -> Result<(), Error> {
        if self.conn.buffered_amount() == 0 || self.write_failed {
            return Ok(());
        }
        while self.conn.buffered_amount() > 0 {
            let now = self.now();
            let mut deadline = earliest(self.conn.poll_timeout(), until);
            if deadline.is_none() && self.conn.state() == State::Closed {
                // An ended connection has no deadline left to bound the wait: what
                // it still holds goes out only as the final write allows (see
                // `finish_transport`), never by blocking for good.
                deadline = Some(now);
            }
            if deadline.is_some_and(|d| d <= now) {
                if until.is_some_and(|u| u <= now) {
                    return Err(Error::Io(io::ErrorKind::TimedOut.into()));
                }
                let was = self.conn.state();
                self.conn.handle_timeout(now);
                if self.conn.state() == State::Closed || was == State::Closed {
                    return Err(Error::Io(io::ErrorKind::TimedOut.into()));
                }
                continue;
            }
            self.set_write_timeout(deadline.map(|d| d.saturating_duration_since(now)))?;
            let result = {
                let mut slices: [&[u8]; 64] = [&[]; 64];
                let n = self.conn.transmit_vectored(&mut slices);
                let io: [IoSlice<'_>; 64] = core::array::from_fn(|i| IoSlice::new(slices[i]));
                self.stream.write_vectored(&io[..n])
            };
            match result {
                Ok(0) => return Err(self.write_error(io::ErrorKind::WriteZero.into())),
                Ok(written) => self.conn.advance_transmit(written),
                Err(e) if e.kind() == io::ErrorKind::Interrupted || is_timeout(&e) => {}
                Err(e) => return Err(self.write_error(e)),
            }
        }
        self.stream.flush().map_err(|e| self.write_error(e))
    }

    fn write_error(&mut self, e: io::Error) -> Error {
        self.write_failed = true;
        Error::Io(e)
    }

    /// The event loop: returns the next event, `None` when `until` passes without
    /// one or when the connection has already ended.
    fn next_event(&mut self, until: Option<Timestamp>) -> Result<Option<Event>, Error> {
        loop {
            if let Some(event) = self.conn.poll_event() {
                if let Event::Closed(closed) = &event {
                    let timed_out = matches!(closed.error, Some(ConnectionError::Timeout(_)));
                    self.finish_transport(timed_out);
                } else {
                    // An answer the event prompted (a pong, say) goes out now.
                    let _ = self.write_out(None);
                }
                return Ok(Some(event));
            }
            if self.finished {
                return Ok(None);
            }
            match self.write_out(None) {
                Ok(()) => {}
                // The connection ended: its `Closed` event is next.
                Err(_) if self.conn.state() == State::Closed => continue,
                Err(e) if !self.write_failed => return Err(e),
                // A failed write: keep reading what the peer sent.
                Err(_) => {}
            }
            if self.conn.transport() != TransportAction::Keep {
                self.finish_transport(false);
                return Ok(None);
            }
            let now = self.now();
            if until.is_some_and(|u| u <= now) {
                return Ok(None);
            }
            let timer = self.conn.poll_timeout();
            if timer.is_some_and(|d| d <= now) {
                self.conn.handle_timeout(now);
                continue;
            }
            let deadline = earliest(timer, until);
            self.set_read_timeout(deadline.map(|d| d.saturating_duration_since(now)))?;
            // Every event was polled before this read, so the buffer has room (a
            // read into none would return 0, which is not the end of the stream).
            let room = self.conn.read_buf();
            debug_assert!(!room.is_empty());
            let limit = room.len().min(self.read_size);
            match self.stream.read(&mut room[..limit]) {
                Ok(0) => self.conn.handle_eof(self.now()),
                Ok(n) => {
                    let now = self.now();
                    self.conn.handle_read(now, n);
                }
                Err(e) if is_timeout(&e) => {
                    let now = self.now();
                    self.conn.handle_timeout(now);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // The transport is gone: report it as the end of the stream so
                    // the connection ends (1006) and then surface the error.
                    self.conn.handle_eof(self.now());
                    self.finished = true;
                    return Err(Error::Io(e));
                }
            }
        }
    }

    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        if let Some(socket) = &self.socket {
            let timeout = os_timeout(timeout);
            if self.read_timeout != Some(timeout) {
                socket.set_read_timeout(timeout)?;
                self.read_timeout = Some(timeout);
            }
        }
        Ok(())
    }

    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        if let Some(socket) = &self.socket {
            let timeout = os_timeout(timeout);
            if self.write_timeout != Some(timeout) {
                socket.set_write_timeout(timeout)?;
                self.write_timeout = Some(timeout);
            }
        }
        Ok(())
    }

    /// Honours the transport verdict once the connection has ended: write what is
    /// queued, then shut down and drain (server), wait for the peer's end of stream
    /// (client), or just close, all within the close timeout.
    fn finish_transport(&mut self, timed_out: bool) {
        if self.finished {
            return;
        }
        // The last output (a close frame, an HTTP answer) gets the close timeout to
        // go out, whatever the peer does; after a timeout, when the peer gave no sign
        // of life, only what the transport takes at once.
        let config = self.conn.config();
        let grace = if timed_out {
            Some(Duration::ZERO)
        } else {
            config.close_timeout.or(config.write_timeout)
        };
        let until = grace.map(|g| self.now() + g.max(Duration::from_millis(1)));
        let _ = self.write_out(until);
        loop {
            match self.conn.transport() {
                TransportAction::Keep => return,
                TransportAction::Close => break,
                // Without the socket there is no half-close to send and no read
                // timeout to bound the wait for the peer's end of stream: close now.
                _ if self.socket.is_none() => break,
                action => {
                    if action == TransportAction::Shutdown
                        && let Some(socket) = &self.socket
                    {
                        let _ = socket.shutdown(Shutdown::Write);
                    }
                    let now = self.now();
                    let wait = self
                        .conn
                        .poll_timeout()
                        .map(|d| d.saturating_duration_since(now));
                    if wait == Some(Duration::ZERO) || self.set_read_timeout(wait).is_err() {
                        self.conn.handle_timeout(now);
                        continue;
                    }
                    // Read and discard: nothing is taken after the close.
                    let mut discard = [0u8; 4096];
                    match self.stream.read(&mut discard) {
                        Ok(0) => self.conn.handle_eof(self.now()),
                        Ok(_) => {} // discarded: nothing is read after the close
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) if is_timeout(&e) => self.conn.handle_timeout(self.now()),
                        Err(_) => break,
                    }
                }
            }
        }
        if let Some(socket) = &self.socket {
            let _ = socket.shutdown(Shutdown::Both);
        }
        self.finished = true;
    }
}

/// The earlier of two optional deadlines.
fn earliest(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// A socket timeout for a wait of `wait`: the OS reads zero as "block forever", so the
/// smallest nonzero one stands in for it.
fn os_timeout(wait: Option<Duration>) -> Option<Duration> {
    wait.map(|t| t.max(Duration::from_millis(1)))
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_can_move_to_other_threads() {
        fn is_send<T: Send>() {}
        is_send::<WebSocket<TcpStream>>();
        #[cfg(feature = "getrandom")]
        is_send::<ReconnectingClient>();
    }
}
