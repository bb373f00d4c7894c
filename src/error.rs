//! Errors, split by whose fault they are.
//!
//! - [`ProtocolError`]: the peer broke RFC 6455. The connection answers it on its own
//!   with a close frame whose code [`ProtocolError::close_code`] gives, and reports it in
//!   [`Event::Closed`](crate::Event::Closed). It is never returned from a method.
//! - [`SendError`]: our caller asked for something the protocol or the connection's
//!   state does not allow. The call fails and changes nothing.
//! - [`ConnectionError`]: why a connection ended other than by a clean closing handshake.

use core::fmt;

use crate::close::CloseCode;
use crate::entropy::EntropyError;
use crate::handshake::HandshakeError;
use crate::state::State;
use crate::timer::Timeout;

/// A violation of RFC 6455 by the peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProtocolError {
    /// An opcode from the reserved ranges 0x3–0x7 or 0xB–0xF (§5.2).
    ReservedOpcode(u8),
    /// RSV bits set that no negotiated extension defines (§5.2); the bits as RSV1=4,
    /// RSV2=2, RSV3=1.
    ReservedBits(u8),
    /// A 64-bit payload length with its most significant bit set (§5.2).
    LengthOverflow,
    /// A control frame without FIN (§5.5).
    FragmentedControlFrame,
    /// A control frame with more than 125 bytes of payload (§5.5).
    ControlFrameTooLong,
    /// A server received an unmasked frame (§5.1).
    UnmaskedFrame,
    /// A client received a masked frame (§5.1).
    MaskedFrame,
    /// A continuation frame with no fragmented message to continue (§5.4).
    UnexpectedContinuation,
    /// A new text or binary frame while a fragmented message was unfinished (§5.4).
    ExpectedContinuation,
    /// A text message that is not valid UTF-8 (§8.1).
    InvalidUtf8,
    /// A close frame with a 1-byte body (§5.5.1).
    CloseBodyTooShort,
    /// A close frame with a code that may not be sent (§7.4).
    InvalidCloseCode(u16),
    /// A close frame whose reason is not valid UTF-8 (§5.5.1, §8.1).
    InvalidCloseReason,
    /// A frame whose declared payload exceeds the configured limit.
    FrameTooLarge {
        /// The declared payload length.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// A message that would exceed the configured limit.
    MessageTooLarge {
        /// The size the message would reach with the frame that broke the limit.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// A message in more fragments than the configured limit.
    TooManyFragments {
        /// The limit.
        max: u32,
    },
    /// A compressed message (permessage-deflate, RFC 7692) that inflates past the
    /// message limit; found while inflating, before more than the limit is held.
    InflatedTooLarge {
        /// The limit.
        max: u64,
    },
    /// A compressed message whose payload is not a valid deflate stream (RFC 7692
    /// §7.2.2).
    InvalidCompressedData,
}

impl ProtocolError {
    /// The close code that answers this error (§7.4.1): 1007 for data that does not
    /// match its type, 1008 for a policy limit, 1009 for a size limit, 1002 otherwise.
    pub const fn close_code(&self) -> CloseCode {
        match self {
            ProtocolError::InvalidUtf8
            | ProtocolError::InvalidCloseReason
            | ProtocolError::InvalidCompressedData => CloseCode::INVALID_PAYLOAD,
            ProtocolError::TooManyFragments { .. } => CloseCode::POLICY_VIOLATION,
            ProtocolError::FrameTooLarge { .. }
            | ProtocolError::MessageTooLarge { .. }
            | ProtocolError::InflatedTooLarge { .. } => CloseCode::MESSAGE_TOO_BIG,
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::ReservedOpcode(op) => write!(f, "reserved opcode {op:#x}"),
            ProtocolError::ReservedBits(bits) => write!(f, "reserved bits {bits:#05b} set"),
            ProtocolError::LengthOverflow => f.write_str("payload length has its top bit set"),
            ProtocolError::FragmentedControlFrame => f.write_str("fragmented control frame"),
            ProtocolError::ControlFrameTooLong => {
                f.write_str("control frame payload longer than 125 bytes")
            }
            ProtocolError::UnmaskedFrame => f.write_str("unmasked frame from a client"),
            ProtocolError::MaskedFrame => f.write_str("masked frame from a server"),
            ProtocolError::UnexpectedContinuation => {
                f.write_str("continuation frame without a message to continue")
            }
            ProtocolError::ExpectedContinuation => {
                f.write_str("new data frame inside a fragmented message")
            }
            ProtocolError::InvalidUtf8 => f.write_str("text message is not valid UTF-8"),
            ProtocolError::CloseBodyTooShort => f.write_str("close frame with a 1-byte body"),
            ProtocolError::InvalidCloseCode(code) => write!(f, "invalid close code {code}"),
            ProtocolError::InvalidCloseReason => f.write_str("close reason is not valid UTF-8"),
            ProtocolError::FrameTooLarge { size, max } => {
                write!(f, "frame of {size} bytes exceeds the limit of {max}")
            }
            ProtocolError::MessageTooLarge { size, max } => {
                write!(f, "message of {size} bytes exceeds the limit of {max}")
            }
            ProtocolError::TooManyFragments { max } => {
                write!(f, "message in more than {max} fragments")
            }
            ProtocolError::InflatedTooLarge { max } => {
                write!(
                    f,
                    "compressed message inflates past the limit of {max} bytes"
                )
            }
            ProtocolError::InvalidCompressedData => {
                f.write_str("compressed message is not a valid deflate stream")
            }
        }
    }
}

impl core::error::Error for ProtocolError {}

/// A command the connection refused. Nothing was queued and no state changed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// Data and pings need an OPEN connection whose close frame is not yet sent; a
    /// close needs one that has not sent its close frame.
    InvalidState(State),
    /// A close code that may not be sent (§7.4); see [`CloseCode::is_sendable`].
    InvalidCloseCode(CloseCode),
    /// A close reason without a status code (use a code other than 1005).
    ReasonWithoutCode,
    /// A close reason longer than 123 bytes, or a ping or pong payload longer than
    /// 125 bytes (§5.5).
    ControlPayloadTooLong(usize),
    /// Text whose bytes are not valid UTF-8, or a streamed text message that ended in
    /// the middle of a code point.
    InvalidUtf8,
    /// The frame would push buffered output past `Config::max_buffered_output`. Write
    /// out pending output first.
    BufferFull {
        /// The memory output waiting to be written holds, as counted against the
        /// limit (its bytes and the queue's records of its frames).
        held: usize,
        /// The limit.
        limit: usize,
    },
    /// A whole message, or a fragment of another kind, while a streamed message is
    /// unfinished (§5.4 forbids interleaving messages).
    MessageInProgress,
    /// The client's entropy source failed, so no masking key could be drawn.
    Entropy(EntropyError),
    /// The answer to an upgrade request was invalid: a subprotocol the client did not
    /// offer, a bad header field, a status outside 200–599 for a rejection.
    Handshake(HandshakeError),
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::InvalidState(state) => write!(f, "cannot send in state {state:?}"),
            SendError::InvalidCloseCode(code) => write!(f, "close code {code} may not be sent"),
            SendError::ReasonWithoutCode => f.write_str("a close reason needs a status code"),
            SendError::ControlPayloadTooLong(len) => {
                write!(f, "control payload of {len} bytes is over the limit")
            }
            SendError::InvalidUtf8 => f.write_str("text is not valid UTF-8"),
            SendError::BufferFull { held, limit } => {
                write!(f, "output buffer full ({held} bytes held, limit {limit})")
            }
            SendError::MessageInProgress => f.write_str("a streamed message is unfinished"),
            SendError::Entropy(e) => fmt::Display::fmt(e, f),
            SendError::Handshake(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl core::error::Error for SendError {}

/// Why a connection ended without a clean closing handshake.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionError {
    /// The peer broke the protocol; a close frame with
    /// [`ProtocolError::close_code`] was queued.
    Protocol(ProtocolError),
    /// The transport reached end of stream before the closing handshake finished.
    Eof,
    /// The opening handshake failed; a server has queued its HTTP answer
    /// ([`HandshakeError::status`]).
    Handshake(HandshakeError),
    /// A deadline passed. Nothing was sent: the peer gave no sign of life, so a
    /// close frame would only sit in a dead socket's buffer.
    Timeout(Timeout),
    /// The application ended the connection without a closing handshake:
    /// [`Connection::abort`](crate::Connection::abort), or
    /// [`Connection::close`](crate::Connection::close) before it was open (a server
    /// then answers 503).
    Aborted,
}

impl fmt::Display for ConnectionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectionError::Protocol(e) => write!(f, "protocol error: {e}"),
            ConnectionError::Eof => f.write_str("connection closed without a close frame"),
            ConnectionError::Handshake(e) => write!(f, "opening handshake failed: {e}"),
            ConnectionError::Timeout(t) => write!(f, "timed out: {t}"),
            ConnectionError::Aborted => f.write_str("ended by the application"),
        }
    }
}

impl core::error::Error for ConnectionError {}
