//! What the connection reports to the application.

use alloc::string::String;

use bytes::Bytes;

use alloc::boxed::Box;
use alloc::vec::Vec;

use alloc::collections::VecDeque;

use crate::close::CloseCode;
use crate::error::{ConnectionError, ProtocolError};
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
#[non_exhaustive]
pub struct Open {
    /// The selected subprotocol, if any.
    pub protocol: Option<String>,
    /// The negotiated extensions.
    pub extensions: Vec<Extension>,
    /// The permessage-deflate parameters in force, if it was negotiated.
    #[cfg(feature = "deflate")]
    pub deflate: Option<crate::deflate::DeflateParams>,
    /// For a client, the header fields of the server's 101 response (cookies, for
    /// instance); for a server, empty (the request's are in [`Event::Request`]).
    pub headers: Headers,
}

/// How a connection ended.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
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

/// What was read that changes what goes out: the answer to a ping or to the peer's
/// close, a violation, the end of the stream.
#[derive(Debug)]
pub(crate) enum Deferred {
    Ping(Bytes),
    PeerClose(CloseCode, String),
    Failure(ProtocolError),
    Eof,
}

impl Deferred {
    /// Whether nothing after it is read: a close frame, a violation or the end of
    /// the stream ends what the peer says.
    pub(crate) const fn stops_reading(&self) -> bool {
        !matches!(self, Deferred::Ping(_))
    }
}

#[derive(Debug)]
enum Queued {
    Event(Event),
    Deferred(Deferred),
}

/// The events waiting to be polled, in the order they happened, and the rule that
/// keeps replies in that order.
#[derive(Debug, Default)]
pub(crate) struct EventQueue(VecDeque<Queued>);

impl EventQueue {
    pub(crate) fn push(&mut self, event: Event) {
        self.0.push_back(Queued::Event(event));
    }

    /// The ordering rule. An answer to a ping or a close, a violation and the end of
    /// the stream each change what goes out. Read while earlier events still wait to
    /// be polled, it waits behind them, and takes effect when polling reaches it: the
    /// application may answer those earlier events (echo a message, say), and its
    /// answer must go out before the pong or the close frame, as the peer expects
    /// replies in the order it sent what they reply to (Autobahn 3.2 and others check
    /// this). With nothing waiting, it is handed back to take effect now.
    pub(crate) fn in_order(&mut self, deferred: Deferred) -> Option<Deferred> {
        if self.0.is_empty() {
            return Some(deferred);
        }
        self.0.push_back(Queued::Deferred(deferred));
        None
    }

    /// The next entry: an event to report, or something deferred to act on now.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<Result<Event, Deferred>> {
        Some(match self.0.pop_front()? {
            Queued::Event(event) => Ok(event),
            Queued::Deferred(deferred) => Err(deferred),
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Gives the queue's memory back once it is empty: an idle connection holds no
    /// heap.
    pub(crate) fn release(&mut self) {
        if self.0.is_empty() && self.0.capacity() > 0 {
            self.0 = VecDeque::new();
        }
    }
}
