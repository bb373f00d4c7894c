//! Async glue for tokio (feature `tokio`): the sans-I/O [`Connection`] over any
//! `AsyncRead + AsyncWrite` (a `TcpStream`, a TLS stream, a hyper upgrade), as a
//! futures [`Stream`] of messages and a [`Sink`] of them, with plain async
//! [`recv`](WebSocketStream::recv), [`send`](WebSocketStream::send) and
//! [`close`](WebSocketStream::close) beside them.
//!
//! ```no_run
//! # async fn demo() -> Result<(), wsmachine::tokio::Error> {
//! use wsmachine::{tokio as ws, Message};
//!
//! // Client.
//! let (mut socket, _open) = ws::connect("ws://127.0.0.1:9001/").await?;
//! socket.send(Message::from("hello")).await?;
//! let echo = socket.recv().await?;
//! socket.close(wsmachine::CloseCode::NORMAL, "bye").await?;
//!
//! // Server: one task per connection.
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:9001").await?;
//! loop {
//!     let (tcp, _) = listener.accept().await?;
//!     tokio::spawn(async move {
//!         let mut socket = ws::accept(tcp).await?;
//!         while let Ok(message) = socket.recv().await {
//!             socket.send(message).await?;
//!         }
//!         Ok::<_, ws::Error>(())
//!     });
//! }
//! # }
//! ```
//!
//! # What it guarantees
//!
//! - **Cancel-safe receive.** All state lives in the stream, none in the futures:
//!   dropping a [`recv`](WebSocketStream::recv) future (a `select!` branch that lost)
//!   loses nothing. Bytes already read stay inside the connection; the next call
//!   returns the next message.
//! - **Bounded output.** [`send`](WebSocketStream::send), [`feed`](WebSocketStream::feed)
//!   and the [`Sink`] wait while more than the write bound
//!   ([`Builder::write_buffer_size`], default [`DEFAULT_WRITE_BOUND`]) is buffered;
//!   a peer that stops reading ends the connection at `Config::write_timeout`.
//! - **Deadlines on tokio's timer.** The handshake, keepalive, idle, write and
//!   close timeouts of the [`Config`] run from [`Connection::poll_timeout`] while
//!   the stream is polled; a task that waits in `recv` keeps the heartbeat going.
//! - **Two tasks.** [`split`](WebSocketStream::split) gives a reader and a writer
//!   half, each usable from its own task; either one's progress wakes the other.
//!   `futures::StreamExt::split(stream)` works as well (call it by that path: the
//!   inherent `split` takes precedence over the trait method): the stream keeps a
//!   waker for its receiving task and one for its sending task, so neither takes the
//!   other's wakeup away.
//! - **The closing handshake.** `Closed` comes out only after the transport was
//!   dealt with as §7.1.1 asks (a server shuts down its write side first and drains,
//!   a client waits for the server's end of stream), within the close timeout.
//! - **No buffer while idle.** A connection waiting for its peer holds no read
//!   buffer ([`Connection::release_read_buf`]).
//!
//! The stream does its work while it is polled: keep a task in
//! [`recv`](WebSocketStream::recv) (or polling the [`Stream`]) so that pings are
//! answered and deadlines act.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use ::tokio::io::{AsyncRead, AsyncWrite};
#[cfg(feature = "getrandom")]
use ::tokio::net::TcpStream;
use futures_core::Stream;
use futures_sink::Sink;

use crate::entropy::Entropy;
use crate::{
    Accept, ClientRequest, Clock, CloseCode, Closed, Config, Connection, Event, Message,
    MessageKind, Negotiated, Open, Reject, Request, State,
};

mod driver;
mod split;
mod stream;

pub use crate::glue_error::Error;
use driver::{Driver, READER, WRITER};
pub use split::{ReadHalf, ReuniteError, WriteHalf};
pub use stream::MaybeTlsStream;

/// The default largest read from the stream (and so the largest piece
/// [`Delivery::Streamed`](crate::Delivery::Streamed) delivers).
pub const DEFAULT_READ_BUFFER: usize = 64 << 10;

/// The default write bound: sends wait while this much output is buffered.
pub const DEFAULT_WRITE_BOUND: usize = 128 << 10;

/// Settings of the async glue, and the way to open a connection with them.
///
/// ```no_run
/// # async fn demo(tcp: tokio::net::TcpStream) -> Result<(), wsmachine::tokio::Error> {
/// use wsmachine::{tokio::Builder, Accept, Config};
/// let socket = Builder::new(Config::default())
///     .write_buffer_size(32 << 10)
///     .server(tcp, |_request| Ok(Accept::new()))
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Builder {
    config: Config,
    read_buffer: usize,
    write_bound: usize,
}

impl Builder {
    /// The glue's defaults around this connection configuration.
    pub fn new(config: Config) -> Builder {
        Builder {
            config,
            read_buffer: DEFAULT_READ_BUFFER,
            write_bound: DEFAULT_WRITE_BOUND,
        }
    }

    /// How many bytes one read may bring at most (default [`DEFAULT_READ_BUFFER`],
    /// at least 1).
    pub fn read_buffer_size(mut self, size: usize) -> Builder {
        self.read_buffer = size.max(1);
        self
    }

    /// How much buffered output makes sends wait (default [`DEFAULT_WRITE_BOUND`],
    /// at least 1). One message larger than this is still taken whole (up to
    /// `Config::max_buffered_output`), once the output before it has gone out.
    pub fn write_buffer_size(mut self, bound: usize) -> Builder {
        self.write_bound = bound.max(1);
        self
    }

    /// Runs the server side of the opening handshake over `stream`: `decide` sees
    /// the request and answers with an [`Accept`] or a [`Reject`].
    pub async fn server<S: AsyncRead + AsyncWrite + Unpin>(
        self,
        stream: S,
        decide: impl FnOnce(&Request) -> Result<Accept, Reject>,
    ) -> Result<WebSocketStream<S>, Error> {
        let clock = Clock::new();
        let conn = Connection::server(self.config.clone(), tokio_now(&clock))?;
        self.wrap(stream, conn, clock).serve(decide).await
    }

    /// Runs the client side of the opening handshake over `stream`, with OS entropy.
    #[cfg(feature = "getrandom")]
    pub async fn client<S: AsyncRead + AsyncWrite + Unpin>(
        self,
        stream: S,
        request: ClientRequest,
    ) -> Result<(WebSocketStream<S>, Open), Error> {
        self.client_with_entropy(stream, request, crate::OsEntropy::new())
            .await
    }

    /// Runs the client side of the opening handshake over `stream` with this entropy
    /// source for the key and the masking keys.
    pub async fn client_with_entropy<S: AsyncRead + AsyncWrite + Unpin>(
        self,
        stream: S,
        request: ClientRequest,
        entropy: impl Entropy + Send + 'static,
    ) -> Result<(WebSocketStream<S>, Open), Error> {
        let clock = Clock::new();
        let conn = Connection::client(self.config.clone(), request, entropy, tokio_now(&clock))?;
        self.wrap(stream, conn, clock).open().await
    }

    /// A server connection whose opening handshake an HTTP library already did
    /// (hyper, axum): `leftover` holds any bytes it read past the request.
    pub fn upgraded_server<S: AsyncRead + AsyncWrite + Unpin>(
        self,
        stream: S,
        negotiated: Negotiated,
        leftover: &[u8],
    ) -> Result<WebSocketStream<S>, Error> {
        let clock = Clock::new();
        let conn = Connection::upgraded_server(
            self.config.clone(),
            negotiated,
            leftover,
            tokio_now(&clock),
        )?;
        Ok(self.wrap(stream, conn, clock))
    }

    /// Wraps a connection in any state over `stream`; `clock` is the clock its
    /// timestamps come from.
    pub fn wrap<S: AsyncRead + AsyncWrite + Unpin>(
        self,
        stream: S,
        conn: Connection,
        clock: Clock,
    ) -> WebSocketStream<S> {
        WebSocketStream {
            driver: Driver::new(stream, conn, clock, self.read_buffer, self.write_bound),
            ended: false,
        }
    }
}

/// Connects to a `ws://` URL (or, with feature `tokio-rustls`, a `wss://` one,
/// trusting Mozilla's roots) and completes the opening handshake, with the default
/// configuration and OS entropy.
#[cfg(feature = "getrandom")]
pub async fn connect(url: &str) -> Result<(WebSocketStream<MaybeTlsStream>, Open), Error> {
    connect_with(ClientRequest::from_url(url)?, Config::default()).await
}

/// Connects with a request and configuration of your choosing; `wss://` (feature
/// `tokio-rustls`) trusts Mozilla's roots ([`connect_with_tls`] takes a TLS
/// configuration). The handshake timeout covers the TCP connect and the TLS
/// handshake too.
#[cfg(feature = "getrandom")]
pub async fn connect_with(
    request: ClientRequest,
    config: Config,
) -> Result<(WebSocketStream<MaybeTlsStream>, Open), Error> {
    #[cfg(feature = "tokio-rustls")]
    if request.is_secure() {
        return connect_with_tls(request, config, crate::tls::client_config()).await;
    }
    if request.is_secure() {
        return Err(Error::Io(io::Error::new(
            io::ErrorKind::Unsupported,
            "wss needs TLS: enable the `tokio-rustls` feature, or open the TLS stream \
             yourself and call Builder::client",
        )));
    }
    config.validate()?;
    let tcp = within(&config, connect_tcp(&request)).await??;
    Builder::new(config)
        .client(MaybeTlsStream::Plain(tcp), request)
        .await
}

/// Connects to the URL's host over TLS with this rustls client configuration (see
/// [`tls`](crate::tls) for ones that trust a private CA).
#[cfg(all(feature = "getrandom", feature = "tokio-rustls"))]
pub async fn connect_with_tls(
    request: ClientRequest,
    config: Config,
    tls: std::sync::Arc<rustls::ClientConfig>,
) -> Result<(WebSocketStream<MaybeTlsStream>, Open), Error> {
    config.validate()?;
    let name = crate::tls::server_name(request.host())?;
    let started = ::tokio::time::Instant::now();
    let stream = within(&config, async {
        let tcp = connect_tcp(&request).await?;
        tokio_rustls::TlsConnector::from(tls)
            .connect(name, tcp)
            .await
    })
    .await??;
    // What is left of the handshake timeout is the WebSocket handshake's.
    let mut config = config;
    config.handshake_timeout = config.handshake_timeout.map(|t| {
        t.saturating_sub(started.elapsed())
            .max(core::time::Duration::from_millis(1))
    });
    Builder::new(config)
        .client(
            MaybeTlsStream::ClientTls(std::boxed::Box::new(stream)),
            request,
        )
        .await
}

/// Accepts a TLS connection on a TCP stream with this rustls server configuration,
/// then the upgrade request: `decide` sees it and answers with an [`Accept`] or a
/// [`Reject`]. The handshake timeout covers the TLS handshake too.
#[cfg(feature = "tokio-rustls")]
pub async fn accept_tls(
    tcp: ::tokio::net::TcpStream,
    tls: std::sync::Arc<rustls::ServerConfig>,
    config: Config,
    decide: impl FnOnce(&Request) -> Result<Accept, Reject>,
) -> Result<WebSocketStream<MaybeTlsStream>, Error> {
    config.validate()?;
    let stream = within(&config, tokio_rustls::TlsAcceptor::from(tls).accept(tcp)).await??;
    let stream = MaybeTlsStream::ServerTls(std::boxed::Box::new(stream));
    Builder::new(config).server(stream, decide).await
}

/// Runs `work` within the handshake timeout.
#[cfg(any(feature = "getrandom", feature = "tokio-rustls"))]
async fn within<T>(
    config: &Config,
    work: impl core::future::Future<Output = T>,
) -> Result<T, Error> {
    match config.handshake_timeout.filter(|t| !t.is_zero()) {
        Some(limit) => ::tokio::time::timeout(limit, work)
            .await
            .map_err(|_| Error::Io(io::ErrorKind::TimedOut.into())),
        None => Ok(work.await),
    }
}

#[cfg(feature = "getrandom")]
async fn connect_tcp(request: &ClientRequest) -> io::Result<TcpStream> {
    let addr = (
        std::string::String::from(request.host()),
        request.port_or_default(),
    );
    let tcp = TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    Ok(tcp)
}

/// Runs the client handshake over any stream (TCP, TLS...).
#[cfg(feature = "getrandom")]
pub async fn client<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    request: ClientRequest,
    config: Config,
) -> Result<(WebSocketStream<S>, Open), Error> {
    Builder::new(config).client(stream, request).await
}

/// Accepts any valid upgrade request on a stream, with the default configuration.
pub async fn accept<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
) -> Result<WebSocketStream<S>, Error> {
    accept_with(stream, Config::default(), |_| Ok(Accept::new())).await
}

/// Accepts on a stream, letting `decide` see the request and answer with an
/// [`Accept`] or a [`Reject`].
pub async fn accept_with<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    config: Config,
    decide: impl FnOnce(&Request) -> Result<Accept, Reject>,
) -> Result<WebSocketStream<S>, Error> {
    Builder::new(config).server(stream, decide).await
}

/// A WebSocket over an async stream. See the [module documentation](self).
#[derive(Debug)]
pub struct WebSocketStream<S> {
    driver: Driver<S>,
    /// The [`Stream`] has ended.
    ended: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocketStream<S> {
    async fn open(mut self) -> Result<(WebSocketStream<S>, Open), Error> {
        loop {
            match self.next_event().await? {
                Some(Event::Open(open)) => return Ok((self, *open)),
                Some(Event::Closed(closed)) => return Err(Error::opening_failed(*closed)),
                Some(_) => {}
                None => return Err(Error::AlreadyClosed),
            }
        }
    }

    async fn serve(
        mut self,
        decide: impl FnOnce(&Request) -> Result<Accept, Reject>,
    ) -> Result<WebSocketStream<S>, Error> {
        let mut decide = Some(decide);
        loop {
            match self.next_event().await? {
                Some(Event::Request(request)) => {
                    let Some(decide) = decide.take() else {
                        continue;
                    };
                    let now = self.driver.now();
                    match decide(&request) {
                        Ok(accept) => self.driver.conn.accept(now, accept)?,
                        Err(reject) => self.driver.conn.reject(now, reject)?,
                    }
                }
                Some(Event::Open(_)) => {
                    // The 101 goes out before the stream is handed over.
                    self.flush().await?;
                    return Ok(self);
                }
                Some(Event::Closed(closed)) => return Err(Error::opening_failed(*closed)),
                Some(_) => {}
                None => return Err(Error::AlreadyClosed),
            }
        }
    }

    async fn next_event(&mut self) -> Result<Option<Event>, Error> {
        std::future::poll_fn(|cx| self.driver.with_waker(READER, cx, Driver::poll_event)).await
    }

    /// The sans-I/O connection inside.
    pub fn connection(&self) -> &Connection {
        &self.driver.conn
    }

    /// The sans-I/O connection inside, for commands this wrapper does not offer.
    /// What they queue goes out with the next call that drives the stream
    /// ([`flush`](Self::flush), say).
    pub fn connection_mut(&mut self) -> &mut Connection {
        &mut self.driver.conn
    }

    /// The stream.
    pub fn get_ref(&self) -> &S {
        &self.driver.io
    }

    /// The clock the connection's timestamps come from.
    pub fn clock(&self) -> Clock {
        self.driver.clock
    }

    /// Waits for the next data message. Pings are answered (and pongs noted) on the
    /// way. When the connection ends, returns [`Error::Closed`] once, after the
    /// transport was dealt with as the closing handshake requires, then
    /// [`Error::AlreadyClosed`]. Cancel-safe.
    pub async fn recv(&mut self) -> Result<Message, Error> {
        std::future::poll_fn(|cx| self.driver.with_waker(READER, cx, poll_message)).await
    }

    /// Waits for the next event of any kind (messages, pings, pongs, fragments in
    /// streamed mode, `Closed`). Cancel-safe.
    pub async fn recv_event(&mut self) -> Result<Event, Error> {
        std::future::poll_fn(|cx| self.poll_recv_event(cx)).await
    }

    /// The poll behind [`recv_event`](Self::recv_event).
    pub fn poll_recv_event(&mut self, cx: &mut Context<'_>) -> Poll<Result<Event, Error>> {
        self.driver
            .with_waker(READER, cx, Driver::poll_event)
            .map(|r| r.and_then(|e| e.ok_or(Error::AlreadyClosed)))
    }

    /// Queues a message and waits until it is written out (and the stream flushed).
    /// If more than the write bound was buffered, first waits for room.
    pub async fn send(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        self.feed(message).await?;
        self.flush().await
    }

    /// Queues a message once there is room under the write bound, without waiting
    /// for it to be written: it goes out as the stream is driven (by `recv`, another
    /// send, [`flush`](Self::flush)).
    pub async fn feed(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        std::future::poll_fn(|cx| self.driver.with_waker(WRITER, cx, Driver::poll_ready)).await?;
        self.driver.conn.send(message)?;
        Ok(())
    }

    /// Queues one fragment of a message sent piece by piece and writes it out; `last`
    /// ends the message (see [`Connection::send_fragment`]).
    pub async fn send_fragment(
        &mut self,
        kind: MessageKind,
        data: impl Into<bytes::Bytes>,
        last: bool,
    ) -> Result<(), Error> {
        std::future::poll_fn(|cx| self.driver.with_waker(WRITER, cx, Driver::poll_ready)).await?;
        self.driver.conn.send_fragment(kind, data, last)?;
        self.flush().await
    }

    /// Sends a ping and writes it out.
    pub async fn ping(&mut self, payload: impl Into<bytes::Bytes>) -> Result<(), Error> {
        let now = self.driver.now();
        self.driver.conn.ping(now, payload)?;
        self.driver.wake_all();
        self.flush().await
    }

    /// Writes out everything queued and flushes the stream, within the connection's
    /// deadlines (a peer that stops reading fails it at the write timeout).
    pub async fn flush(&mut self) -> Result<(), Error> {
        std::future::poll_fn(|cx| self.driver.with_waker(WRITER, cx, flush)).await
    }

    /// Starts the closing handshake and waits for it to finish (the peer's close
    /// frame, then the end of the transport, within `Config::close_timeout`).
    /// Messages that arrive meanwhile are dropped; to receive them, call
    /// [`Connection::close`] through [`connection_mut`](Self::connection_mut) and keep
    /// calling [`recv_event`](Self::recv_event) until `Closed`.
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<Closed, Error> {
        // Once closing has begun (an earlier call was cancelled, say), wait for it.
        if matches!(self.driver.conn.state(), State::Open | State::Connecting) {
            let now = self.driver.now();
            self.driver.conn.close(now, code, reason)?;
            self.driver.wake_all();
        }
        loop {
            match self.next_event().await? {
                Some(Event::Closed(closed)) => return Ok(*closed),
                Some(_) => {}
                None => return Err(Error::AlreadyClosed),
            }
        }
    }

    /// Splits the stream into a reader and a writer half, each usable from its own
    /// task. [`ReadHalf::reunite`] puts them back together.
    pub fn split(self) -> (ReadHalf<S>, WriteHalf<S>) {
        split::split(self.driver)
    }

    pub(crate) fn from_driver(driver: Driver<S>) -> WebSocketStream<S> {
        WebSocketStream {
            driver,
            ended: false,
        }
    }
}

/// The next data message, or the end as [`WebSocketStream::recv`] reports it.
pub(crate) fn poll_message<S: AsyncRead + AsyncWrite + Unpin>(
    driver: &mut Driver<S>,
    cx: &mut Context<'_>,
) -> Poll<Result<Message, Error>> {
    // Fragments are not messages: refused before one is taken, so none is lost.
    if driver.conn.config().delivery == crate::Delivery::Streamed {
        return Poll::Ready(Err(streamed_error()));
    }
    loop {
        match std::task::ready!(driver.poll_event(cx)) {
            Err(e) => return Poll::Ready(Err(e)),
            Ok(Some(Event::Message(m))) => return Poll::Ready(Ok(m)),
            Ok(Some(Event::Closed(c))) => return Poll::Ready(Err(Error::Closed(*c))),
            Ok(Some(_)) => {}
            Ok(None) => return Poll::Ready(Err(Error::AlreadyClosed)),
        }
    }
}

fn streamed_error() -> Error {
    Error::Io(io::Error::new(
        io::ErrorKind::InvalidData,
        "Delivery::Streamed hands out fragments: receive them with recv_event",
    ))
}

/// The [`Stream`] item for a poll of the next message: a clean close ends the
/// stream (the close frame is in [`Connection::closed`]); any other end yields
/// [`Error::Closed`] once, then ends it.
pub(crate) fn stream_item(
    result: Result<Message, Error>,
    ended: &mut bool,
) -> Option<Result<Message, Error>> {
    match result {
        Ok(m) => Some(Ok(m)),
        Err(Error::Closed(c)) if c.clean => {
            *ended = true;
            None
        }
        Err(Error::AlreadyClosed) => {
            *ended = true;
            None
        }
        Err(e @ Error::Closed(_)) => {
            *ended = true;
            Some(Err(e))
        }
        Err(e) => Some(Err(e)),
    }
}

/// Messages in order. A clean close ends the stream; an abnormal end yields one
/// [`Error::Closed`] first. With [`Delivery::Streamed`](crate::Delivery::Streamed),
/// use [`recv_event`](WebSocketStream::recv_event) instead.
impl<S: AsyncRead + AsyncWrite + Unpin> Stream for WebSocketStream<S> {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.ended {
            return Poll::Ready(None);
        }
        this.driver
            .with_waker(READER, cx, poll_message)
            .map(|r| stream_item(r, &mut this.ended))
    }
}

/// Messages out. `poll_ready` waits for room under the write bound; `poll_flush`
/// writes everything; `poll_close` sends a close frame with 1000 and writes it out
/// (the [`Stream`] then goes on to the peer's close, and ends).
impl<S: AsyncRead + AsyncWrite + Unpin> Sink<Message> for WebSocketStream<S> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut()
            .driver
            .with_waker(WRITER, cx, Driver::poll_ready)
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), Error> {
        self.get_mut().driver.conn.send(item)?;
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().driver.with_waker(WRITER, cx, flush)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().driver.with_waker(WRITER, cx, poll_close)
    }
}

/// Writes out everything queued and flushes the stream.
pub(crate) fn flush<S: AsyncRead + AsyncWrite + Unpin>(
    driver: &mut Driver<S>,
    cx: &mut Context<'_>,
) -> Poll<Result<(), Error>> {
    driver.poll_write_until(cx, 0)
}

/// The sink's close: a close frame with 1000 (unless closing has begun), written
/// out. The rest of the closing handshake is the receiving side's: the stream of
/// messages goes on to the peer's close and then ends.
pub(crate) fn poll_close<S: AsyncRead + AsyncWrite + Unpin>(
    driver: &mut Driver<S>,
    cx: &mut Context<'_>,
) -> Poll<Result<(), Error>> {
    if matches!(driver.conn.state(), State::Open | State::Connecting) {
        let now = driver.now();
        driver.conn.close(now, CloseCode::NORMAL, "")?;
        driver.wake_all();
    }
    driver.poll_write_until(cx, 0)
}

/// A timestamp of `clock` for now on tokio's clock, which the timer runs on.
fn tokio_now(clock: &Clock) -> crate::Timestamp {
    clock.timestamp(::tokio::time::Instant::now().into_std())
}
