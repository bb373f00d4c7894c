//! The error type the I/O glue (blocking and async) shares.

use std::io;

use crate::{Closed, ConfigError, HandshakeError, SendError};

/// Errors from the I/O glue: the blocking and the async (tokio) connection.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The transport failed. After a failed write, reading goes on: what the peer
    /// sent before it went away (its close frame, say) is still delivered.
    Io(io::Error),
    /// The connection refused a command (see [`SendError`]).
    Send(SendError),
    /// The opening handshake failed.
    Handshake(HandshakeError),
    /// A setting is out of range.
    Config(ConfigError),
    /// The connection has ended; this is how it ended. Returned once by a read (`read`, `recv`); the
    /// transport has been shut down and closed as the closing handshake requires.
    Closed(Closed),
    /// The connection had already ended before this call.
    AlreadyClosed,
}

impl Error {
    /// How a connection that ended before it was open is reported: its handshake
    /// error when it has one, else how it closed.
    pub(crate) fn opening_failed(closed: Closed) -> Error {
        match closed.error {
            Some(crate::ConnectionError::Handshake(e)) => Error::Handshake(e),
            _ => Error::Closed(closed),
        }
    }
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::Io(e) => write!(f, "I/O error: {e}"),
            Error::Send(e) => write!(f, "{e}"),
            Error::Handshake(e) => write!(f, "{e}"),
            Error::Config(e) => write!(f, "{e}"),
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
            Error::Config(e) => Some(e),
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
        match e {
            HandshakeError::InvalidConfig(e) => Error::Config(e),
            e => Error::Handshake(e),
        }
    }
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Error::Config(e)
    }
}
