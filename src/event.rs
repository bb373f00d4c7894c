//! What the connection reports to the application.

use alloc::string::String;

use bytes::Bytes;

use crate::close::CloseCode;
use crate::error::ConnectionError;
use crate::message::{Fragment, Message};

/// An event from [`Connection::poll_event`](crate::Connection::poll_event).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
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
    Closed(Closed),
}

/// How a connection ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Closed {
    /// For a clean close, the code in the peer's close frame (1005 if it had none).
    /// For a failure, the code of the close frame we sent (1002, 1007, 1008, 1009...)
    /// or 1006 when no close frame was exchanged.
    pub code: CloseCode,
    /// The reason in the peer's close frame; empty for a failure.
    pub reason: String,
    /// Whether both close frames were exchanged (the browser API's `wasClean`).
    pub clean: bool,
    /// Why the connection failed, when it did not close cleanly.
    pub error: Option<ConnectionError>,
}
