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
//! Heartbeat deadlines (`Config::ping_interval`, `idle_timeout`...) are enforced
//! through the socket's read timeout, set from
//! [`Connection::poll_timeout`] before each read. That needs the `TcpStream` under
//! the stream: the `std::net` constructors have it; for a TLS stream pass a clone of
//! the socket with [`WebSocket::with_socket`]. Without one, deadlines are only
//! checked when a read returns, and once the connection has ended the transport is
//! closed at once: the half-close and the bounded wait for the peer's end of stream
//! (§7.1.1) both need the socket.

use std::boxed::Box;
#[cfg(feature = "getrandom")]
use std::collections::VecDeque;
use std::io::{self, IoSlice, Read, Write};
#[cfg(feature = "getrandom")]
use std::net::ToSocketAddrs;
use std::net::{Shutdown, TcpStream};

use std::time::{Duration, Instant};

use crate::entropy::Entropy;
#[cfg(feature = "getrandom")]
use crate::reconnect::{Reconnect, ReconnectPolicy};
use crate::{
    Accept, ClientRequest, CloseCode, Closed, Config, Connection, Event, HandshakeError, Message,
    Open, Reject, Request, SendError, Timestamp, TransportAction,
};

/// Size of the read buffer each blocking connection owns.
const READ_BUFFER: usize = 16 << 10;

/// Errors from the blocking API.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The transport failed.
    Io(io::Error),
    /// The connection refused a command (see [`SendError`]).
    Send(SendError),
    /// The opening handshake failed.
    Handshake(HandshakeError),
    /// The connection has ended; this is how it ended. Returned once by `read`; the
    /// transport has been shut down and closed as the closing handshake requires.
    Closed(Closed),
    /// The connection had already ended before this call.
    AlreadyClosed,
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::Io(e) => write!(f, "I/O error: {e}"),
            Error::Send(e) => write!(f, "{e}"),
            Error::Handshake(e) => write!(f, "{e}"),
            Error::Closed(c) => write!(f, "connection closed ({})", c.code),
            Error::AlreadyClosed => f.write_str("connection already closed"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            Error::Send(e) => Some(e),
            Error::Handshake(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}

impl From<SendError> for Error {
    fn from(e: SendError) -> Self {
        Error::Send(e)
    }
}

impl From<HandshakeError> for Error {
    fn from(e: HandshakeError) -> Self {
        Error::Handshake(e)
    }
}

/// A WebSocket over a blocking stream.
pub struct WebSocket<S> {
    stream: S,
    /// The TCP socket under `stream`, for read timeouts and shutdown.
    socket: Option<TcpStream>,
    conn: Connection,
    origin: Instant,
    buf: Box<[u8]>,
    /// The transport was closed (or given up on).
    finished: bool,
    /// The read timeout last set on `socket` (`None`: not set by us yet), so that an
    /// unchanged one costs no system call.
    read_timeout: Option<Option<Duration>>,
}

impl<S: Read + Write> core::fmt::Debug for WebSocket<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WebSocket")
            .field("conn", &self.conn)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "getrandom")]
/// Connects to a `ws://` URL over TCP and completes the opening handshake, with the
/// default configuration and OS entropy. For `wss://`, open the TLS stream yourself
/// and use [`client`].
pub fn connect(url: &str) -> Result<(WebSocket<TcpStream>, Open), Error> {
    connect_with(ClientRequest::from_url(url)?, Config::default())
}

/// Connects over TCP with a request and configuration of your choosing.
#[cfg(feature = "getrandom")]
pub fn connect_with(
    request: ClientRequest,
    config: Config,
) -> Result<(WebSocket<TcpStream>, Open), Error> {
    if request.is_secure() {
        return Err(Error::Io(io::Error::new(
            io::ErrorKind::Unsupported,
            "wss needs a TLS stream: connect it yourself and call blocking::client",
        )));
    }
    let addr = (request.host(), request.port_or_default());
    let stream = connect_tcp(addr, config.handshake_timeout)?;
    let socket = stream.try_clone()?;
    let conn = Connection::client(config, request, crate::OsEntropy::new(), Timestamp::ZERO)?;
    // With the socket from the start, the handshake deadline is enforced too.
    let ws = WebSocket::from_parts(stream, conn, Instant::now()).with_socket(socket);
    ws.open()
}

#[cfg(feature = "getrandom")]
fn connect_tcp(addr: impl ToSocketAddrs, timeout: Option<Duration>) -> io::Result<TcpStream> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
    for a in addr.to_socket_addrs()? {
        let attempt = match timeout {
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

/// Runs the client handshake over any stream (TCP, TLS...).
#[cfg(feature = "getrandom")]
pub fn client<S: Read + Write>(
    stream: S,
    request: ClientRequest,
    config: Config,
) -> Result<(WebSocket<S>, Open), Error> {
    client_with_entropy(stream, request, config, crate::OsEntropy::new())
}

/// Runs the client handshake over any stream with the given entropy source.
pub fn client_with_entropy<S: Read + Write>(
    stream: S,
    request: ClientRequest,
    config: Config,
    entropy: impl Entropy + Send + 'static,
) -> Result<(WebSocket<S>, Open), Error> {
    let conn = Connection::client(config, request, entropy, Timestamp::ZERO)?;
    WebSocket::from_parts(stream, conn, Instant::now()).open()
}

fn handshake_failure(closed: Closed) -> Error {
    match closed.error {
        Some(crate::ConnectionError::Handshake(e)) => Error::Handshake(e),
        _ => Error::Closed(closed),
    }
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
    let ws = WebSocket::from_parts(
        stream,
        Connection::server(config, Timestamp::ZERO),
        Instant::now(),
    )
    .with_socket(socket);
    ws.serve(decide)
}

/// Runs the server handshake over any stream (TCP, TLS...).
pub fn server<S: Read + Write>(
    stream: S,
    config: Config,
    decide: impl FnOnce(&Request) -> Result<Accept, Reject>,
) -> Result<WebSocket<S>, Error> {
    let ws = WebSocket::from_parts(
        stream,
        Connection::server(config, Timestamp::ZERO),
        Instant::now(),
    );
    ws.serve(decide)
}

impl<S: Read + Write> WebSocket<S> {
    /// Wraps a connection in any state over `stream`. `origin` is the instant that
    /// the connection's timestamps count from (the `now` it was created with).
    pub fn from_parts(stream: S, conn: Connection, origin: Instant) -> WebSocket<S> {
        WebSocket {
            stream,
            socket: None,
            conn,
            origin,
            buf: vec_box(READ_BUFFER),
            finished: false,
            read_timeout: None,
        }
    }

    /// Gives the TCP socket under the stream (a `try_clone` of it), so that read
    /// timeouts enforce the heartbeat deadlines and the closing handshake can shut
    /// the socket down properly.
    pub fn with_socket(mut self, socket: TcpStream) -> WebSocket<S> {
        self.socket = Some(socket);
        self.read_timeout = None;
        self
    }

    /// Drives a client's opening handshake to OPEN.
    fn open(mut self) -> Result<(WebSocket<S>, Open), Error> {
        loop {
            match self.next_event(None)? {
                Some(Event::Open(open)) => return Ok((self, *open)),
                Some(Event::Closed(closed)) => return Err(handshake_failure(*closed)),
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
                Some(Event::Closed(closed)) => return Err(handshake_failure(*closed)),
                _ => {}
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

    /// The connection's clock: time since `origin`.
    fn now(&self) -> Timestamp {
        Timestamp::from_duration(self.origin.elapsed())
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
    /// interrupted writes. On a write error the bytes stay queued.
    pub fn flush(&mut self) -> Result<(), Error> {
        if self.conn.buffered_amount() == 0 {
            return Ok(());
        }
        while self.conn.buffered_amount() > 0 {
            let result = {
                let mut slices: [&[u8]; 64] = [&[]; 64];
                let n = self.conn.transmit_vectored(&mut slices);
                let io: [IoSlice<'_>; 64] = core::array::from_fn(|i| IoSlice::new(slices[i]));
                self.stream.write_vectored(&io[..n])
            };
            match result {
                Ok(0) => return Err(Error::Io(io::ErrorKind::WriteZero.into())),
                Ok(written) => self.conn.advance_transmit(written),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::Io(e)),
            }
        }
        self.stream.flush()?;
        Ok(())
    }

    /// The event loop: returns the next event, `None` when `until` passes without
    /// one or when the connection has already ended.
    fn next_event(&mut self, until: Option<Timestamp>) -> Result<Option<Event>, Error> {
        loop {
            if let Some(event) = self.conn.poll_event() {
                self.flush_quietly();
                if matches!(event, Event::Closed(_)) {
                    self.finish_transport();
                }
                return Ok(Some(event));
            }
            if self.finished {
                return Ok(None);
            }
            self.flush()?;
            if self.conn.transport() != TransportAction::Keep {
                self.finish_transport();
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
            let deadline = match (timer, until) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            self.set_read_timeout(deadline.map(|d| d.saturating_duration_since(now)))?;
            match self.stream.read(&mut self.buf) {
                Ok(0) => self.conn.handle_eof(self.now()),
                Ok(n) => {
                    let now = self.now();
                    self.conn.handle_data(now, &self.buf[..n]);
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
            // A zero timeout means "block forever" to the OS: use the smallest one.
            let timeout = timeout.map(|t| t.max(Duration::from_millis(1)));
            if self.read_timeout != Some(timeout) {
                socket.set_read_timeout(timeout)?;
                self.read_timeout = Some(timeout);
            }
        }
        Ok(())
    }

    fn flush_quietly(&mut self) {
        if self.flush().is_err() {
            // The peer is gone; what could not be written stays queued for
            // `Connection::take_unsent`.
        }
    }

    /// Honours the transport verdict once the connection has ended: write what is
    /// queued, then shut down and drain (server), wait for the peer's end of stream
    /// (client), or just close, all within the close timeout.
    fn finish_transport(&mut self) {
        if self.finished {
            return;
        }
        self.flush_quietly();
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
                    match self.stream.read(&mut self.buf) {
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

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

fn vec_box(n: usize) -> Box<[u8]> {
    std::vec![0u8; n].into_boxed_slice()
}

/// What [`ReconnectingClient::poll`] reports.
#[cfg(feature = "getrandom")]
#[derive(Debug)]
#[non_exhaustive]
pub enum ClientEvent {
    /// A connection opened (the first or a new one).
    Connected(Open),
    /// An event from the current connection.
    Event(Event),
    /// The connection ended or an attempt failed; the next attempt is due at the
    /// given time after the client's start, or never (`None`: gave up).
    Disconnected {
        /// Why.
        error: Error,
        /// When the next attempt may start, counted from the client's creation.
        retry_in: Option<Duration>,
    },
    /// A message kept while disconnected that a new connection refused outright
    /// (larger than [`Config::max_buffered_output`], say). No later connection would
    /// take it either, so it is handed back here and not retried.
    Refused {
        /// The message.
        message: Message,
        /// Why the connection refused it.
        error: Error,
    },
}

#[cfg(feature = "getrandom")]
/// A client that reconnects by a [`ReconnectPolicy`] when the server goes away.
/// Messages the connection had not finished writing when it died are resent on the
/// next connection, as are messages sent while disconnected (at least once).
pub struct ReconnectingClient {
    request: ClientRequest,
    config: Config,
    reconnect: Reconnect,
    ws: Option<WebSocket<TcpStream>>,
    outbox: VecDeque<Message>,
    /// Events to report before anything else (refused messages).
    pending: VecDeque<ClientEvent>,
    origin: Instant,
}

#[cfg(feature = "getrandom")]
impl core::fmt::Debug for ReconnectingClient {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ReconnectingClient")
            .field("connected", &self.ws.is_some())
            .field("outbox", &self.outbox.len())
            .field("reconnect", &self.reconnect)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "getrandom")]
impl ReconnectingClient {
    /// A client for `url` that will connect on the first [`poll`](Self::poll).
    pub fn new(
        url: &str,
        config: Config,
        policy: ReconnectPolicy,
    ) -> Result<ReconnectingClient, Error> {
        Ok(Self::with_request(
            ClientRequest::from_url(url)?,
            config,
            policy,
        ))
    }

    /// A client that sends `request` (subprotocols, headers...) on each attempt.
    pub fn with_request(
        request: ClientRequest,
        config: Config,
        policy: ReconnectPolicy,
    ) -> ReconnectingClient {
        ReconnectingClient {
            request,
            config,
            reconnect: Reconnect::new(policy, crate::OsEntropy::new()),
            ws: None,
            outbox: VecDeque::new(),
            pending: VecDeque::new(),
            origin: Instant::now(),
        }
    }

    fn now(&self) -> Timestamp {
        Timestamp::from_duration(self.origin.elapsed())
    }

    /// Whether a connection is open now.
    pub fn is_connected(&self) -> bool {
        self.ws.is_some()
    }

    /// Sends a message now if connected, else keeps it for the next connection.
    pub fn send(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        let message = message.into();
        match &mut self.ws {
            Some(ws) => match ws.send(message.clone()) {
                Ok(()) => Ok(()),
                Err(Error::Io(_)) => {
                    // Kept by the connection; recovered from `take_unsent` on drop.
                    Ok(())
                }
                Err(e) => Err(e),
            },
            None => {
                self.outbox.push_back(message);
                Ok(())
            }
        }
    }

    /// Waits up to `max_wait` for something to happen: connecting when an attempt is
    /// due, or an event on the open connection. `Ok(None)` when nothing happened.
    pub fn poll(&mut self, max_wait: Duration) -> Result<Option<ClientEvent>, Error> {
        if let Some(event) = self.pending.pop_front() {
            return Ok(Some(event));
        }
        let Some(ws) = &mut self.ws else {
            return self.try_connect(max_wait);
        };
        match ws.read_event_timeout(max_wait) {
            Ok(Some(Event::Closed(closed))) => Ok(Some(self.lost(Error::Closed(*closed)))),
            Ok(Some(event)) => Ok(Some(ClientEvent::Event(event))),
            Ok(None) => Ok(None),
            Err(e) => Ok(Some(self.lost(e))),
        }
    }

    fn try_connect(&mut self, max_wait: Duration) -> Result<Option<ClientEvent>, Error> {
        let Some(at) = self.reconnect.next_attempt() else {
            return Err(Error::AlreadyClosed);
        };
        let now = self.now();
        if at > now {
            std::thread::sleep(at.saturating_duration_since(now).min(max_wait));
            return Ok(None);
        }
        match connect_with(self.request.clone(), self.config.clone()) {
            Ok((mut ws, open)) => {
                self.reconnect.connected(self.now());
                while let Some(message) = self.outbox.pop_front() {
                    match ws.send(message.clone()) {
                        Ok(()) => {}
                        // Taken but not written: recovered from the connection.
                        Err(Error::Io(e)) => {
                            self.ws = Some(ws);
                            return Ok(Some(self.lost(Error::Io(e))));
                        }
                        Err(error) => self
                            .pending
                            .push_back(ClientEvent::Refused { message, error }),
                    }
                }
                self.ws = Some(ws);
                Ok(Some(ClientEvent::Connected(open)))
            }
            Err(error) => {
                let next = self.reconnect.attempt_failed(self.now());
                Ok(Some(self.disconnected(error, next)))
            }
        }
    }

    /// The open connection ended: keep what it did not write, schedule the next try.
    /// What it did not write was sent before anything still in the outbox, so it goes
    /// first.
    fn lost(&mut self, error: Error) -> ClientEvent {
        if let Some(mut ws) = self.ws.take() {
            let unsent = ws.connection_mut().take_unsent();
            for unsent in unsent.into_iter().rev() {
                // Only whole messages are sent through this client.
                let message = match unsent.kind {
                    crate::MessageKind::Text => match crate::Text::try_from(unsent.data) {
                        Ok(t) => Message::Text(t),
                        Err(_) => continue,
                    },
                    crate::MessageKind::Binary => Message::Binary(unsent.data),
                };
                self.outbox.push_front(message);
            }
        }
        let next = self.reconnect.disconnected(self.now());
        self.disconnected(error, next)
    }

    fn disconnected(&self, error: Error, next: Option<Timestamp>) -> ClientEvent {
        let now = self.now();
        ClientEvent::Disconnected {
            error,
            retry_in: next.map(|t| t.saturating_duration_since(now)),
        }
    }

    /// Closes the current connection, if any, with a normal closure.
    pub fn close(&mut self) -> Result<(), Error> {
        if let Some(mut ws) = self.ws.take()
            && ws.connection().state() == crate::State::Open
        {
            ws.close(CloseCode::NORMAL, "")?;
        }
        Ok(())
    }

    /// The reconnect state.
    pub fn reconnect(&self) -> &Reconnect {
        &self.reconnect
    }

    /// Messages waiting for a connection.
    pub fn pending(&self) -> usize {
        self.outbox.len()
    }

    /// The request used for each attempt.
    pub fn request(&self) -> &ClientRequest {
        &self.request
    }

    /// The configuration used for each connection.
    pub fn config(&self) -> &Config {
        &self.config
    }
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
