//! What the connection reports to the application.

use alloc::string::String;

use bytes::Bytes;

use alloc::boxed::Box;
use alloc::vec::Vec;

use crate::close::CloseCode;
use crate::error::ConnectionError;
use crate::handshake::server::Request;
use crate::handshake::{Extension, Headers};
use crate::message::{Fragment, Message};

/// An event from [`Connection::poll_event`](crate::Connection::poll_event).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// (Server, CONNECTING) A valid upgrade request arrived. Answer it with
    /// [`Connection::accept`](crate::Connection::accept) or
    /// [`Connection::reject`](crate::Connection::reject); bytes that arrive meanwhile
    /// are kept for after the answer.
    Request(Box<Request>),
    /// The opening handshake succeeded: the connection is OPEN. (Boxed, like
    /// `Closed`: both happen once, and keeping them out of line halves the size of
    /// every event.)
    Open(Box<Open>),
    /// A whole data message ([`Delivery::Whole`](crate::Delivery::Whole)).
    Message(Message),
    /// A piece of a data message ([`Delivery::Streamed`](crate::Delivery::Streamed)).
    Fragment(Fragment),
    /// The peer sent a ping. With `auto_pong` on (the default), the pong is already
    /// queued.
    Ping(Bytes),
    /// The peer sent a pong.
    Pong(Bytes),
    /// The connection ended: the last event it reports. See
    /// [`Connection::transport`](crate::Connection::transport) for what to do with the
    /// transport.
    Closed(Box<Closed>),
}

/// What an opening handshake settled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Open {
    /// The selected subprotocol, if any.
    pub protocol: Option<String>,
    /// The negotiated extensions.
    pub extensions: Vec<Extension>,
    /// For a client, the header fields of the server's 101 response (cookies, for
    /// instance); for a server, empty (the request's are in [`Event::Request`]).
    pub headers: Headers,
}

/// How a connection ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Closed {
    /// For a clean close, the code in the peer's close frame (1005 if it had none).
    /// For a failure, the code of the close frame sent for it (1002, 1007, 1008,
    /// 1009...), or 1006 when none was: the stream ended, a deadline passed, or our
    /// own close frame had already gone out.
    pub code: CloseCode,
    /// The reason in the peer's close frame; empty for a failure.
    pub reason: String,
    /// Whether both close frames were exchanged (the browser API's `wasClean`).
    pub clean: bool,
    /// Why the connection failed, when it did not close cleanly.
    pub error: Option<ConnectionError>,
}
