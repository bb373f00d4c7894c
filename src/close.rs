//! Close status codes (RFC 6455 §7.4) and the close frame body (§5.5.1).

use alloc::string::String;
use core::fmt;

use crate::error::{ProtocolError, SendError};
use crate::frame::MAX_CONTROL_PAYLOAD;

/// A close status code.
///
/// Any `u16` can be held; [`is_sendable`](Self::is_sendable) says whether it may appear
/// in a close frame. Codes 1005, 1006 and 1015 are only ever reported locally.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// 1000: the purpose of the connection has been fulfilled.
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: the endpoint is going away (server shutdown, page navigation).
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1002: the peer broke the protocol.
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    /// 1003: a data type the endpoint cannot accept.
    pub const UNSUPPORTED_DATA: CloseCode = CloseCode(1003);
    /// 1005: reported locally when a close frame carried no code. Never sent; as an
    /// argument to `Connection::close` it means "send a close frame without a body".
    pub const NO_STATUS: CloseCode = CloseCode(1005);
    /// 1006: reported locally when the connection ended without a close frame. Never sent.
    pub const ABNORMAL: CloseCode = CloseCode(1006);
    /// 1007: message data inconsistent with its type (e.g. a text message that is not
    /// UTF-8).
    pub const INVALID_PAYLOAD: CloseCode = CloseCode(1007);
    /// 1008: a message violates the endpoint's policy.
    pub const POLICY_VIOLATION: CloseCode = CloseCode(1008);
    /// 1009: a message too big to process.
    pub const MESSAGE_TOO_BIG: CloseCode = CloseCode(1009);
    /// 1010: the client expected the server to negotiate an extension.
    pub const MANDATORY_EXTENSION: CloseCode = CloseCode(1010);
    /// 1011: the server hit an unexpected condition.
    pub const INTERNAL_ERROR: CloseCode = CloseCode(1011);
    /// 1012: the service is restarting (IANA registry).
    pub const SERVICE_RESTART: CloseCode = CloseCode(1012);
    /// 1013: try again later (IANA registry).
    pub const TRY_AGAIN_LATER: CloseCode = CloseCode(1013);
    /// 1014: a gateway got an invalid response upstream (IANA registry).
    pub const BAD_GATEWAY: CloseCode = CloseCode(1014);
    /// 1015: reported locally when the TLS handshake failed. Never sent.
    pub const TLS_HANDSHAKE: CloseCode = CloseCode(1015);

    /// Whether the code may be carried by a close frame (§7.4.1, §7.4.2 and the IANA
    /// registry of §11.7): 1000–1003 and 1007–1014 are defined; 3000–3999 are for
    /// libraries and frameworks, 4000–4999 for private use. 0–999 are never used,
    /// 1004, 1005, 1006 and 1015 are reserved or local-only, the rest of 1016–2999
    /// is for future revisions of the protocol.
    pub const fn is_sendable(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> Self {
        CloseCode(code)
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> Self {
        code.0
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// The longest reason a close frame can carry: 125 bytes minus the 2-byte code.
pub const MAX_REASON_LEN: usize = MAX_CONTROL_PAYLOAD - 2;

/// A parsed close frame body: the code (1005 when the body was empty) and the reason.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct CloseFrame {
    /// The status code, or [`CloseCode::NO_STATUS`] when the frame had no body.
    pub code: CloseCode,
    /// The UTF-8 reason, possibly empty.
    pub reason: String,
}

/// Parses and checks a close frame body (§5.5.1): empty, or a 2-byte code that may be
/// sent followed by a UTF-8 reason.
///
/// A 1-byte body and an unsendable code are protocol errors (1002); a reason that is
/// not UTF-8 is [`ProtocolError::InvalidCloseReason`] (1007, §8.1).
pub fn parse_close_payload(payload: &[u8]) -> Result<(CloseCode, &str), ProtocolError> {
    match payload {
        [] => Ok((CloseCode::NO_STATUS, "")),
        [_] => Err(ProtocolError::CloseBodyTooShort),
        [hi, lo, reason @ ..] => {
            let code = CloseCode(u16::from_be_bytes([*hi, *lo]));
            if !code.is_sendable() {
                return Err(ProtocolError::InvalidCloseCode(code.0));
            }
            let reason =
                core::str::from_utf8(reason).map_err(|_| ProtocolError::InvalidCloseReason)?;
            Ok((code, reason))
        }
    }
}

/// The rules for a close the application asks for (§5.5.1, §7.4): a code that may
/// be sent, or [`CloseCode::NO_STATUS`] for a close frame without a body (and then
/// no reason), and a reason that fits in a control frame.
pub(crate) fn check_close(code: CloseCode, reason: &str) -> Result<(), SendError> {
    if code == CloseCode::NO_STATUS {
        if !reason.is_empty() {
            return Err(SendError::ReasonWithoutCode);
        }
    } else if !code.is_sendable() {
        return Err(SendError::InvalidCloseCode(code));
    }
    if reason.len() > MAX_REASON_LEN {
        return Err(SendError::ControlPayloadTooLong(reason.len()));
    }
    Ok(())
}

/// Writes a close body into `out` and returns its length: nothing for
/// [`CloseCode::NO_STATUS`], else the code and the reason. The caller checks the code
/// and the reason's length first.
pub(crate) fn encode_close_payload(
    code: CloseCode,
    reason: &str,
    out: &mut [u8; MAX_CONTROL_PAYLOAD],
) -> usize {
    if code == CloseCode::NO_STATUS {
        return 0;
    }
    out[..2].copy_from_slice(&code.0.to_be_bytes());
    let n = reason.len().min(MAX_REASON_LEN);
    out[2..2 + n].copy_from_slice(&reason.as_bytes()[..n]);
    2 + n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sendable_ranges_follow_section_7_4() {
        for code in 0..=u16::MAX {
            let expected = matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999);
            assert_eq!(CloseCode(code).is_sendable(), expected, "{code}");
        }
        for local_only in [1004, 1005, 1006, 1015] {
            assert!(!CloseCode(local_only).is_sendable());
        }
    }

    #[test]
    fn parses_bodies() {
        assert_eq!(parse_close_payload(b""), Ok((CloseCode::NO_STATUS, "")));
        assert_eq!(
            parse_close_payload(b"\x03\xe8bye"),
            Ok((CloseCode::NORMAL, "bye"))
        );
        assert_eq!(
            parse_close_payload(b"\x03"),
            Err(ProtocolError::CloseBodyTooShort)
        );
        assert_eq!(
            parse_close_payload(b"\x03\xed"),
            Err(ProtocolError::InvalidCloseCode(1005))
        );
        assert_eq!(
            parse_close_payload(b"\x03\xe8\xff"),
            Err(ProtocolError::InvalidCloseReason)
        );
    }

    #[test]
    fn encodes_bodies() {
        let mut out = [0u8; MAX_CONTROL_PAYLOAD];
        assert_eq!(encode_close_payload(CloseCode::NO_STATUS, "", &mut out), 0);
        let n = encode_close_payload(CloseCode(4000), "ok", &mut out);
        assert_eq!(&out[..n], b"\x0f\xa0ok");
    }
}
