//! # wsmachine
//!
//! The WebSocket protocol (RFC 6455) as a sans-I/O state machine. A [`Connection`]
//! takes bytes and time in and gives events and bytes out; it owns no socket, reads no
//! clock, draws no ambient randomness and needs no runtime, so the same engine runs
//! under tokio, mio, io_uring, a game loop, a fuzzer or a microcontroller.
//!
//! ```text
//!   your transport (TCP, TLS, HTTP/2 stream, test pipe)
//!        │ bytes read                       ▲ bytes to write
//!        ▼                                  │
//!   handle_data(now, &[u8])          transmit() / advance_transmit(n)
//!   handle_eof(now)                         │
//!        │                                  │
//!   ┌────▼──────────────────────────────────┴────┐
//!   │ Connection: frames, masking, fragments,     │ ◀── send / ping / close
//!   │ UTF-8, control frames, closing handshake    │ ──▶ poll_event() -> Event
//!   └────────────────────────────────────────────-┘ ──▶ transport() -> Keep | Shutdown | AwaitEof | Close
//! ```
//!
//! ## A run loop
//!
//! Each end goes through the same turn whenever its transport has bytes, its
//! output can be written, or its deadline passes: feed the input, act on the
//! deadline, drain the events, write the output, then do what [`transport`] says.
//! Here two ends whose upgrade already happened talk through an in-memory pipe; the
//! client says hello and closes, the server echoes, and both close their transport
//! as the closing handshake requires.
//!
//! [`transport`]: Connection::transport
//!
//! ```
//! use wsmachine::{CloseCode, Config, Connection, Event, Message, Negotiated, SeededEntropy};
//! use wsmachine::{Timestamp, TransportAction};
//!
//! /// One turn: returns the events it saw and appends to `wire` what it wrote.
//! fn turn(conn: &mut Connection, now: Timestamp, read: &[u8], eof: bool, wire: &mut Vec<u8>)
//!     -> Vec<Event>
//! {
//!     if !read.is_empty() {
//!         // All of it is taken: the events of earlier input were all polled.
//!         let taken = conn.handle_data(now, read);
//!         assert_eq!(taken, read.len());
//!     }
//!     if eof {
//!         conn.handle_eof(now);
//!     }
//!     if conn.poll_timeout().is_some_and(|deadline| deadline <= now) {
//!         conn.handle_timeout(now);
//!     }
//!     let mut events = Vec::new();
//!     while let Some(event) = conn.poll_event() {
//!         if let Event::Message(message) = &event {
//!             let _ = conn.send(message.clone()); // echo (refused once closing)
//!         }
//!         events.push(event);
//!     }
//!     loop {
//!         let chunk = conn.transmit();       // write this to the socket...
//!         if chunk.is_empty() {
//!             break;
//!         }
//!         wire.extend_from_slice(chunk);
//!         let written = chunk.len();
//!         conn.advance_transmit(written);     // ...and report how much was written
//!     }
//!     events
//! }
//!
//! let mut now = Timestamp::ZERO;
//! // The seeded entropy source keeps the example reproducible; it is for tests only
//! // (in production, `OsEntropy::new()`: masking keys must be unpredictable).
//! let mut client = Connection::upgraded_client(
//!     Config::default(), Negotiated::none(), SeededEntropy::new(1), &[], now).unwrap();
//! let mut server =
//!     Connection::upgraded_server(Config::default(), Negotiated::none(), &[], now).unwrap();
//! client.send_text("hello").unwrap();
//! client.close(now, CloseCode::NORMAL, "done").unwrap();
//!
//! let (mut to_server, mut to_client) = (Vec::new(), Vec::new());
//! let (mut server_eof, mut client_eof) = (false, false);
//! let mut client_events = Vec::new();
//! while client.transport() != TransportAction::Close || server.transport() != TransportAction::Close {
//!     let input = std::mem::take(&mut to_client);
//!     client_events.extend(turn(&mut client, now, &input, client_eof, &mut to_server));
//!     let input = std::mem::take(&mut to_server);
//!     turn(&mut server, now, &input, server_eof, &mut to_client);
//!     // The transport verdicts: after a clean close the server shuts down first
//!     // (RFC 6455 §7.1.1), and the client closes once it has seen that.
//!     client_eof |= server.transport() != TransportAction::Keep && to_client.is_empty();
//!     server_eof |= client.transport() == TransportAction::Close;
//!     if to_client.is_empty() && to_server.is_empty() {
//!         // Nothing moves: sleep until the next deadline (the close timeout bounds
//!         // every wait here).
//!         let next = [client.poll_timeout(), server.poll_timeout()].into_iter().flatten().min();
//!         now = next.map_or(now, |deadline| deadline.max(now));
//!     }
//! }
//! assert!(matches!(&client_events[0], Event::Message(Message::Text(t)) if t == "hello"));
//! let Some(Event::Closed(closed)) = client_events.last() else { panic!() };
//! assert!(closed.clean && closed.code == CloseCode::NORMAL);
//! assert_eq!(client.closed(), Some(&**closed)); // and it stays known
//! ```
//!
//! ## Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `std` | yes | [`Clock`] (timestamps from `Instant`); needed by `blocking`, `tokio`, `http`, `arbitrary`, `proptest` |
//! | `getrandom` | yes | [`OsEntropy`], the operating system's generator for masking keys |
//! | `blocking` | no | [`blocking`]: the connection over any `Read + Write` stream, `std::net` helpers, a reconnecting client |
//! | `tokio` | no | [`tokio`]: the connection over any tokio `AsyncRead + AsyncWrite`, as a futures `Stream` and `Sink` with async `recv`/`send`/`close`, cancel-safe receive, halves for two tasks, bounded sends, deadlines on tokio's timer |
//! | `rustls` | no | [`tls`]: `wss://` through rustls (*ring*, Mozilla's roots from `webpki-roots`): the blocking client connects to `wss://` URLs, [`blocking::accept_tls`] serves TLS from a rustls server configuration |
//! | `tokio-rustls` | no | the same for the async glue: `wss://` in [`tokio::connect`], [`tokio::accept_tls`] |
//! | `http` | no | conversions from and to the `http` crate's request and response types |
//! | `deflate` | no | [`deflate`]: permessage-deflate (RFC 7692) in both roles, set with [`Config::deflate`], on flate2's pure-Rust zlib-rs backend; the message limit applies to the inflated size |
//! | `arbitrary` | no | `Arbitrary` for the public frame and configuration types |
//! | `proptest` | no | [`strategies`]: proptest strategies (valid and invalid streams labelled with the close code the RFC requires, handshakes) to test any implementation |
//! | `probe` | no | [`probe`]: a conformance prober that tests a live server or client over TCP with those strategies and the oracle, shrinking failures to minimal vectors (the `probe` example is its command line) |
//!
//! Without default features the crate is `no_std` (it needs `alloc`).

#![no_std]
// One module may opt out: `mask`'s run-time choice of the AVX2 loop.
#![deny(unsafe_code)]
#![deny(missing_docs)]
#![warn(unreachable_pub)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

#[cfg(feature = "arbitrary")]
mod arbitrary_impls;
#[cfg(feature = "blocking")]
pub mod blocking;
pub mod close;
mod config;
mod connection;
#[cfg(feature = "deflate")]
pub mod deflate;
pub mod entropy;
mod error;
mod event;
pub mod frame;
#[cfg(any(feature = "blocking", feature = "tokio"))]
mod glue_error;
pub mod handshake;
pub mod mask;
mod message;
pub mod oracle;
mod payload;
#[cfg(feature = "probe")]
pub mod probe;
mod reconnect;
mod recv;
mod role;
mod send;
mod state;
#[cfg(feature = "proptest")]
pub mod strategies;
mod time;
mod timer;
#[cfg(feature = "rustls")]
pub mod tls;
#[cfg(feature = "tokio")]
pub mod tokio;
mod tx;
mod utf8;

pub use close::{CloseCode, CloseFrame};
pub use config::{Config, ConfigError, Delivery};
pub use connection::Connection;
#[cfg(feature = "getrandom")]
pub use entropy::OsEntropy;
pub use entropy::{Entropy, EntropyError, SeededEntropy};
pub use error::{ConnectionError, ProtocolError, SendError};
pub use event::{Closed, Event, Open};
pub use handshake::client::ClientRequest;
pub use handshake::server::{Accept, OriginPolicy, Reject, Request};
pub use handshake::{HandshakeError, Headers, Negotiated};
pub use message::{Fragment, Message, MessageKind, NotUtf8, Text};
pub use payload::{INLINE_CAPACITY, Payload};
pub use reconnect::{Reconnect, ReconnectPolicy};
pub use role::Role;
pub use send::Prepared;
pub use state::{State, TransportAction};
#[cfg(feature = "std")]
pub use time::Clock;
pub use time::Timestamp;
pub use timer::Timeout;
pub use tx::Unsent;

pub use bytes::Bytes;

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
