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
//! ```
//! use wsmachine::{Config, Connection, Event, Negotiated, SeededEntropy, Timestamp};
//!
//! // Two ends whose upgrade already happened, joined by an in-memory pipe. The
//! // seeded entropy source keeps the example reproducible; it is for tests only
//! // (in production, `OsEntropy::new()`: masking keys must be unpredictable).
//! let now = Timestamp::ZERO;
//! let mut client = Connection::upgraded_client(
//!     Config::default(), Negotiated::none(), SeededEntropy::new(1), &[], now).unwrap();
//! let mut server = Connection::upgraded_server(Config::default(), Negotiated::none(), &[], now).unwrap();
//!
//! client.send_text("hello").unwrap();
//! let mut wire = Vec::new();
//! client.transmit_into(&mut wire);          // bytes for the socket
//! server.handle_data(now, &wire);           // bytes from the socket
//! while let Some(event) = server.poll_event() {
//!     if let Event::Message(message) = event {
//!         server.send(message).unwrap();    // echo
//!     }
//! }
//! let mut wire = Vec::new();
//! server.transmit_into(&mut wire);
//! client.handle_data(now, &wire);
//! let Some(Event::Message(echo)) = client.poll_event() else { panic!() };
//! assert_eq!(echo.as_bytes(), b"hello");
//! ```
//!
//! ## Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `std` | yes | run-time CPU detection for SIMD UTF-8 validation; [`Clock`] (timestamps from `Instant`); needed by `blocking`, `http`, `arbitrary`, `proptest` |
//! | `getrandom` | yes | [`OsEntropy`], the operating system's generator for masking keys |
//! | `blocking` | no | [`blocking`]: the connection over any `Read + Write` stream, `std::net` helpers, a reconnecting client |
//! | `http` | no | conversions from and to the `http` crate's request and response types |
//! | `deflate` | no | reserved: permessage-deflate (RFC 7692) is not implemented yet, and this feature enables nothing |
//! | `arbitrary` | no | `Arbitrary` for the public frame and configuration types |
//! | `proptest` | no | [`strategies`]: proptest strategies (valid and invalid streams labelled with the close code the RFC requires, handshakes) to test any implementation |
//!
//! Without default features the crate is `no_std` (it needs `alloc`).

#![no_std]
#![forbid(unsafe_code)]
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
pub mod entropy;
mod error;
mod event;
pub mod frame;
pub mod handshake;
pub mod mask;
mod message;
pub mod oracle;
mod reconnect;
mod state;
#[cfg(feature = "proptest")]
pub mod strategies;
mod time;
mod timer;
mod tx;
mod utf8;

pub use close::{CloseCode, CloseFrame};
pub use config::{Config, ConfigError, Delivery};
pub use connection::{Connection, Negotiated, Role};
#[cfg(feature = "getrandom")]
pub use entropy::OsEntropy;
pub use entropy::{Entropy, EntropyError, SeededEntropy};
pub use error::{ConnectionError, ProtocolError, SendError};
pub use event::{Closed, Event, Open};
pub use handshake::client::ClientRequest;
pub use handshake::server::{Accept, OriginPolicy, Reject, Request};
pub use handshake::{HandshakeError, Headers};
pub use message::{Fragment, Message, MessageKind, NotUtf8, Text};
pub use reconnect::{Reconnect, ReconnectPolicy};
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
