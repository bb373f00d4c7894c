//! The opening handshake (RFC 6455 §4): an HTTP/1.1 upgrade, and RFC 8441's extended
//! CONNECT for HTTP/2.
//!
//! - [`client`]: the upgrade request and the checks on the server's response;
//! - [`server`]: parsing and checking the request, and the accept or reject answer;
//! - [`h2`]: the same over an HTTP/2 stream (RFC 8441);
//! - `http` (feature `http`): conversions from and to the `http` crate's types.
//!
//! A [`Connection`](crate::Connection) runs these for you from
//! [`Connection::client`](crate::Connection::client) and
//! [`Connection::server`](crate::Connection::server); the functions are public for
//! servers that parse HTTP themselves.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use sha1::{Digest, Sha1};

use crate::entropy::{Entropy, EntropyError};

pub mod client;
pub(crate) mod driver;
pub mod h2;
#[cfg(feature = "http")]
pub mod http;
pub mod server;

/// What the opening handshake settled.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Negotiated {
    /// The subprotocol both ends agreed on (`Sec-WebSocket-Protocol`), if any.
    pub protocol: Option<String>,
    /// The extensions both ends agreed on (`Sec-WebSocket-Extensions`).
    pub extensions: Vec<Extension>,
    /// The permessage-deflate parameters in force, when it was negotiated. A
    /// connection compresses and inflates only when this is set: a server that
    /// upgrades elsewhere sets it from [`deflate::negotiate`](crate::deflate::negotiate),
    /// a client from [`deflate::check_response`](crate::deflate::check_response).
    #[cfg(feature = "deflate")]
    pub deflate: Option<crate::deflate::DeflateParams>,
}

impl Negotiated {
    /// Nothing negotiated: no subprotocol, no extension.
    pub const fn none() -> Negotiated {
        Negotiated {
            protocol: None,
            extensions: Vec::new(),
            #[cfg(feature = "deflate")]
            deflate: None,
        }
    }

    /// The given subprotocol, no extension.
    pub fn with_protocol(protocol: impl Into<String>) -> Negotiated {
        Negotiated {
            protocol: Some(protocol.into()),
            ..Negotiated::none()
        }
    }
}

/// The GUID of RFC 6455 §1.3, appended to the key before hashing.
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The only protocol version this crate speaks (RFC 6455 §4.1, §11.6).
pub const VERSION: &str = "13";

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key` (§1.3, §4.2.2 step 5.4):
/// base64(SHA-1(key + GUID)), computed on the key as sent (not decoded).
///
/// ```
/// use wsmachine::handshake::accept_key;
/// assert_eq!(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
/// ```
pub fn accept_key(key: &str) -> String {
    let mut sha = Sha1::new();
    sha.update(key.as_bytes());
    sha.update(GUID.as_bytes());
    BASE64.encode(sha.finalize())
}

/// A fresh `Sec-WebSocket-Key`: 16 random bytes from `entropy`, base64-encoded
/// (§4.1 item 7).
pub fn generate_key(entropy: &mut dyn Entropy) -> Result<String, EntropyError> {
    let mut nonce = [0u8; 16];
    entropy.fill(&mut nonce)?;
    Ok(BASE64.encode(nonce))
}

/// Whether `key` is base64 that decodes to exactly 16 bytes (§4.2.1 item 5).
pub(crate) fn key_is_valid(key: &str) -> bool {
    key.len() == 24
        && BASE64
            .decode(key.as_bytes())
            .is_ok_and(|bytes| bytes.len() == 16)
}

/// HTTP header fields in order of arrival, names as received. Lookups ignore ASCII
/// case. Values are bytes: HTTP allows non-UTF-8 octets in them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Headers(Vec<(String, Vec<u8>)>);

impl Headers {
    /// No headers.
    pub const fn new() -> Headers {
        Headers(Vec::new())
    }

    /// Appends a header field.
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) {
        self.0.push((name.into(), value.into()));
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// The first value of `name`, if it is UTF-8.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|v| core::str::from_utf8(v).ok())
    }

    /// Every value of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.0
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// How many fields are named `name`.
    pub fn count(&self, name: &str) -> usize {
        self.get_all(name).count()
    }

    /// Every field, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_slice()))
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The comma-separated list elements of every `name` field, trimmed of white
    /// space, empty elements skipped (RFC 9110 §5.6.1). Fields that are not UTF-8 are
    /// skipped; callers that need them valid check with [`list_is_valid`](Self::list_is_valid).
    pub(crate) fn list<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.get_all(name)
            .filter_map(|v| core::str::from_utf8(v).ok())
            .flat_map(|v| v.split(','))
            .map(|item| item.trim_matches([' ', '\t']))
            .filter(|item| !item.is_empty())
    }

    /// Whether the comma list `name` contains `token`, ignoring ASCII case.
    pub(crate) fn has_token(&self, name: &str, token: &str) -> bool {
        self.list(name).any(|item| item.eq_ignore_ascii_case(token))
    }

    /// Whether every `name` field is UTF-8 and each list element a token.
    pub(crate) fn list_is_valid(&self, name: &str) -> bool {
        self.get_all(name).all(|v| core::str::from_utf8(v).is_ok()) && self.list(name).all(is_token)
    }

    /// Writes `Name: value\r\n` for each field.
    pub(crate) fn write_to(&self, out: &mut Vec<u8>) {
        for (name, value) in &self.0 {
            write_header(out, name, value);
        }
    }
}

impl<'a> FromIterator<(&'a str, &'a [u8])> for Headers {
    fn from_iter<I: IntoIterator<Item = (&'a str, &'a [u8])>>(iter: I) -> Self {
        Headers(
            iter.into_iter()
                .map(|(n, v)| (String::from(n), v.to_vec()))
                .collect(),
        )
    }
}

pub(crate) fn write_header(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Whether `s` is an HTTP token (RFC 9110 §5.6.2).
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

const fn is_tchar(b: u8) -> bool {
    matches!(b,
        b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_'
        | b'`' | b'|' | b'~' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z')
}

/// Whether a header value may be written as is: visible ASCII, obs-text, spaces and
/// tabs, no CR, LF or NUL (no header injection), no leading or trailing space.
pub(crate) fn is_field_value(v: &[u8]) -> bool {
    v.iter().all(|&b| b == b'\t' || b >= 0x20 && b != 0x7F)
        && !v.first().is_some_and(|b| b.is_ascii_whitespace())
        && !v.last().is_some_and(|b| b.is_ascii_whitespace())
}

/// A header field a caller asked to add was not a token name with a clean value.
pub(crate) fn check_field(name: &str, value: &[u8]) -> Result<(), HandshakeError> {
    if is_token(name) && is_field_value(value) {
        Ok(())
    } else {
        Err(HandshakeError::InvalidHeader(String::from(name)))
    }
}

/// One element of `Sec-WebSocket-Extensions` (§9.1): a name and its parameters.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Extension {
    /// The extension token, e.g. `permessage-deflate`.
    pub name: String,
    /// Parameters in order: name and optional value (unquoted).
    pub params: Vec<(String, Option<String>)>,
}

impl Extension {
    /// An extension with no parameters.
    pub fn new(name: impl Into<String>) -> Extension {
        Extension {
            name: name.into(),
            params: Vec::new(),
        }
    }

    /// Adds a parameter.
    pub fn param(mut self, name: impl Into<String>, value: Option<&str>) -> Extension {
        self.params.push((name.into(), value.map(String::from)));
        self
    }

    /// Checks that the extension can be written as a header field: token name and
    /// parameter names, values without control characters (§9.1).
    pub fn check(&self) -> Result<(), HandshakeError> {
        let clean = |v: &str| v.chars().all(|c| c == '\t' || (c >= ' ' && c != '\u{7f}'));
        let ok = is_token(&self.name)
            && self
                .params
                .iter()
                .all(|(k, v)| is_token(k) && v.as_deref().is_none_or(clean));
        if ok {
            Ok(())
        } else {
            Err(HandshakeError::InvalidHeader(String::from(
                "Sec-WebSocket-Extensions",
            )))
        }
    }

    /// Parses every `Sec-WebSocket-Extensions` field (§9.1 grammar), or `None` if one
    /// does not follow it.
    pub fn parse_all(headers: &Headers) -> Option<Vec<Extension>> {
        let mut out = Vec::new();
        for value in headers.get_all("sec-websocket-extensions") {
            let value = core::str::from_utf8(value).ok()?;
            for item in split_outside_quotes(value, ',') {
                let item = item.trim_matches([' ', '\t']);
                if item.is_empty() {
                    continue;
                }
                out.push(Extension::parse_one(item)?);
            }
        }
        Some(out)
    }

    fn parse_one(item: &str) -> Option<Extension> {
        let mut parts = split_outside_quotes(item, ';').map(|p| p.trim_matches([' ', '\t']));
        let name = parts.next()?;
        if !is_token(name) {
            return None;
        }
        let mut ext = Extension::new(name);
        for param in parts {
            let (key, value) = match param.split_once('=') {
                Some((k, v)) => (
                    k.trim_matches([' ', '\t']),
                    Some(v.trim_matches([' ', '\t'])),
                ),
                None => (param, None),
            };
            if !is_token(key) {
                return None;
            }
            let value = match value {
                None => None,
                Some(v) if v.starts_with('"') => Some(unquote(v)?),
                Some(v) if is_token(v) => Some(String::from(v)),
                Some(_) => return None,
            };
            ext.params.push((String::from(key), value));
        }
        Some(ext)
    }
}

impl fmt::Display for Extension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        for (k, v) in &self.params {
            match v {
                Some(v) if is_token(v) => write!(f, "; {k}={v}")?,
                Some(v) => write!(
                    f,
                    "; {k}=\"{}\"",
                    v.replace('\\', "\\\\").replace('"', "\\\"")
                )?,
                None => write!(f, "; {k}")?,
            }
        }
        Ok(())
    }
}

/// Splits on `sep` where it is not inside a quoted string.
fn split_outside_quotes(s: &str, sep: char) -> impl Iterator<Item = &str> {
    let mut in_quotes = false;
    let mut escaped = false;
    s.split(move |c: char| {
        if escaped {
            escaped = false;
            return false;
        }
        match c {
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            c if c == sep && !in_quotes => return true,
            _ => {}
        }
        false
    })
}

/// The content of a quoted-string, or `None` if it is malformed.
fn unquote(v: &str) -> Option<String> {
    let inner = v.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?),
            '"' => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

/// An HTTP response: what a server answered instead of 101 (a client sees it in
/// [`HandshakeError::Rejected`]), or what a server sends to reject.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// The reason phrase.
    pub reason: String,
    /// The header fields.
    pub headers: Headers,
    /// The body (after removing chunked transfer coding), at most the configured
    /// handshake size; see `truncated`.
    pub body: Bytes,
    /// The body was cut at the handshake size limit or by the end of the stream.
    pub truncated: bool,
}

/// Why an opening handshake failed.
///
/// On the server side each variant that the peer caused has an HTTP answer, which the
/// connection sends before closing: see [`status`](Self::status).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The head is not valid HTTP/1.1 (bad syntax, non-ASCII garbage). Server: 400.
    Malformed,
    /// The head is longer than `max_handshake_size`. Server: 431.
    HeadTooLarge,
    /// More header fields than `max_headers`. Server: 431.
    TooManyHeaders,
    /// The request method is not GET (§4.2.1 item 1). Server: 405 with `Allow: GET`.
    MethodNotAllowed,
    /// The HTTP version is below 1.1 (§4.2.1 item 1). Server: 400.
    HttpVersion,
    /// No `Host`, or more than one (RFC 9112 §3.2). Server: 400.
    Host,
    /// No `Upgrade` header: a plain HTTP request to a WebSocket endpoint. Server: 426
    /// with `Upgrade: websocket`.
    NotAnUpgrade,
    /// `Upgrade` does not name `websocket`. Server: 400. Client: the response failed
    /// §4.1's check 2.
    Upgrade,
    /// `Connection` lacks the `upgrade` token. Server: 400. Client: §4.1 check 3.
    Connection,
    /// `Sec-WebSocket-Key` missing, repeated, or not 16 bytes of base64. Server: 400.
    Key,
    /// `Sec-WebSocket-Version` missing or not 13. Server: 426 with
    /// `Sec-WebSocket-Version: 13` (§4.2.2).
    Version,
    /// A `Sec-WebSocket-Protocol` or `Sec-WebSocket-Extensions` field that does not
    /// follow its grammar. Server: 400.
    HeaderSyntax,
    /// The request carries a body (`Content-Length` or `Transfer-Encoding`), whose
    /// bytes would be mistaken for frames. Server: 400.
    UnexpectedBody,
    /// Bytes after the request head exceeded `max_handshake_size` before the
    /// application decided. Server: 400.
    TooMuchEarlyData,
    /// The `Origin` is not allowed by the origin policy (§10.2). Server: 403.
    Origin,
    /// The server application rejected the request with this status.
    RejectedByApplication(u16),
    /// The server answered with something other than 101: status, headers, body.
    Rejected(alloc::boxed::Box<HttpResponse>),
    /// `Sec-WebSocket-Accept` missing, repeated or wrong (§4.1 check 4).
    Accept,
    /// The server selected a subprotocol that was not offered (§4.1 check 6), or
    /// more than one.
    UnofferedProtocol(String),
    /// The server selected an extension that was not offered (§4.1 check 5).
    UnofferedExtension(String),
    /// The server's answer to an offered extension breaks the extension's rules
    /// (for permessage-deflate, RFC 7692 §7.1): the extension and what is wrong.
    InvalidExtension(String),
    /// A header the caller asked to send has a name that is not a token, or a value
    /// with CR, LF or NUL.
    InvalidHeader(String),
    /// The URL is not a valid `ws://` or `wss://` URL (§3).
    Url(&'static str),
    /// The entropy source failed, so no `Sec-WebSocket-Key` could be made.
    Entropy(EntropyError),
    /// A setting is out of range, so no connection was made.
    InvalidConfig(crate::config::ConfigError),
}

impl HandshakeError {
    /// The HTTP status a server answers this error with, or `None` for errors a
    /// server never answers (client-side checks and local misuse).
    pub fn status(&self) -> Option<u16> {
        Some(match self {
            HandshakeError::Malformed
            | HandshakeError::HttpVersion
            | HandshakeError::Host
            | HandshakeError::Upgrade
            | HandshakeError::Connection
            | HandshakeError::Key
            | HandshakeError::HeaderSyntax
            | HandshakeError::UnexpectedBody
            | HandshakeError::TooMuchEarlyData => 400,
            HandshakeError::Origin => 403,
            HandshakeError::MethodNotAllowed => 405,
            HandshakeError::NotAnUpgrade | HandshakeError::Version => 426,
            HandshakeError::HeadTooLarge | HandshakeError::TooManyHeaders => 431,
            HandshakeError::RejectedByApplication(status) => *status,
            _ => return None,
        })
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandshakeError::Malformed => f.write_str("malformed HTTP head"),
            HandshakeError::HeadTooLarge => f.write_str("HTTP head too large"),
            HandshakeError::TooManyHeaders => f.write_str("too many header fields"),
            HandshakeError::MethodNotAllowed => f.write_str("method is not GET"),
            HandshakeError::HttpVersion => f.write_str("HTTP version below 1.1"),
            HandshakeError::Host => f.write_str("missing or repeated Host"),
            HandshakeError::NotAnUpgrade => f.write_str("not a WebSocket upgrade request"),
            HandshakeError::Upgrade => f.write_str("Upgrade does not name websocket"),
            HandshakeError::Connection => f.write_str("Connection lacks the upgrade token"),
            HandshakeError::Key => f.write_str("invalid Sec-WebSocket-Key"),
            HandshakeError::Version => f.write_str("Sec-WebSocket-Version is not 13"),
            HandshakeError::HeaderSyntax => f.write_str("malformed WebSocket header field"),
            HandshakeError::UnexpectedBody => f.write_str("upgrade request has a body"),
            HandshakeError::TooMuchEarlyData => f.write_str("too much data before acceptance"),
            HandshakeError::Origin => f.write_str("origin not allowed"),
            HandshakeError::RejectedByApplication(s) => write!(f, "rejected with status {s}"),
            HandshakeError::Rejected(r) => {
                write!(f, "server answered {} {}", r.status, r.reason)
            }
            HandshakeError::Accept => f.write_str("wrong Sec-WebSocket-Accept"),
            HandshakeError::UnofferedProtocol(p) => write!(f, "subprotocol {p:?} not offered"),
            HandshakeError::UnofferedExtension(e) => write!(f, "extension {e:?} not offered"),
            HandshakeError::InvalidExtension(why) => write!(f, "invalid extension answer: {why}"),
            HandshakeError::InvalidHeader(n) => write!(f, "invalid header field {n:?}"),
            HandshakeError::Url(why) => write!(f, "invalid WebSocket URL: {why}"),
            HandshakeError::Entropy(e) => fmt::Display::fmt(e, f),
            HandshakeError::InvalidConfig(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl core::error::Error for HandshakeError {}

/// Collects an HTTP head (up to and including the empty line) from any chunking,
/// within a size limit. The search for the end resumes where it stopped, so feeding
/// a head byte by byte costs linear time.
#[derive(Debug, Default)]
pub(crate) struct HeadReader {
    buf: Vec<u8>,
    scanned: usize,
}

impl HeadReader {
    /// Appends `data`. Returns the length of the head once the buffer holds all of
    /// it (the buffer may hold bytes past it), `Ok(None)` while it is incomplete.
    /// An incomplete head longer than `max` is an error, so the buffer never exceeds
    /// `max` plus one caller's chunk.
    pub(crate) fn push(
        &mut self,
        data: &[u8],
        max: usize,
    ) -> Result<Option<usize>, HandshakeError> {
        self.buf.extend_from_slice(data);
        let from = self.scanned.saturating_sub(2);
        match head_end(&self.buf[from..]) {
            Some(at) => {
                let end = from + at;
                if end > max {
                    return Err(HandshakeError::HeadTooLarge);
                }
                Ok(Some(end))
            }
            None if self.buf.len() > max => Err(HandshakeError::HeadTooLarge),
            None => {
                self.scanned = self.buf.len();
                Ok(None)
            }
        }
    }

    pub(crate) fn buf(&self) -> &[u8] {
        &self.buf
    }

    pub(crate) fn into_buf(self) -> Vec<u8> {
        self.buf
    }
}

/// Where the head ends: after the first empty line, whose line ends may be CRLF or a
/// bare LF (RFC 9112 §2.2 lets a recipient accept the latter, and httparse does).
/// Returns the offset just past it.
fn head_end(buf: &[u8]) -> Option<usize> {
    buf.iter().enumerate().find_map(|(i, &b)| {
        if b != b'\n' {
            return None;
        }
        match buf.get(i + 1..) {
            Some([b'\n', ..]) => Some(i + 2),
            Some([b'\r', b'\n', ..]) => Some(i + 3),
            _ => None,
        }
    })
}

/// Header slots for parsing a head of `head_len` bytes: `max_headers`, but never more
/// than the head can hold (a field line takes at least 3 bytes, `a:` and a line end),
/// so a large setting costs nothing on a small head.
pub(crate) fn header_slots(max_headers: usize, head_len: usize) -> Vec<httparse::Header<'static>> {
    alloc::vec![httparse::EMPTY_HEADER; max_headers.min(head_len / 3 + 1)]
}

/// Maps an httparse failure to the error a server answers.
pub(crate) fn parse_error(e: httparse::Error) -> HandshakeError {
    match e {
        httparse::Error::TooManyHeaders => HandshakeError::TooManyHeaders,
        _ => HandshakeError::Malformed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn accept_key_matches_rfc_1_3() {
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        assert!(key_is_valid("dGhlIHNhbXBsZSBub25jZQ=="));
        assert!(!key_is_valid("dGhlIHNhbXBsZSBub25jZQ")); // no padding
        assert!(!key_is_valid("dGhlIHNhbXBsZSBub25jZXM=")); // 17 bytes
        assert!(!key_is_valid("!GhlIHNhbXBsZSBub25jZQ=="));
    }

    #[test]
    fn token_lists_ignore_case_and_white_space() {
        let mut h = Headers::new();
        h.push("Connection", "keep-alive, Upgrade");
        h.push("connection", " , close");
        assert!(h.has_token("CONNECTION", "upgrade"));
        assert!(h.has_token("connection", "close"));
        assert!(!h.has_token("connection", "keep"));
        assert!(h.list_is_valid("connection"));
        h.push("Connection", "bad token");
        assert!(!h.list_is_valid("connection"));
    }

    #[test]
    fn extension_grammar() {
        let mut h = Headers::new();
        h.push(
            "Sec-WebSocket-Extensions",
            "permessage-deflate; client_max_window_bits, foo; a=1; b=\"x,y;z\"",
        );
        h.push("sec-websocket-extensions", "bar");
        let exts = Extension::parse_all(&h).unwrap();
        assert_eq!(exts.len(), 3);
        assert_eq!(exts[0].name, "permessage-deflate");
        assert_eq!(
            exts[0].params,
            vec![("client_max_window_bits".into(), None)]
        );
        assert_eq!(
            exts[1].params,
            vec![
                ("a".into(), Some("1".into())),
                ("b".into(), Some("x,y;z".into()))
            ]
        );
        assert_eq!(alloc::format!("{}", exts[1]), "foo; a=1; b=\"x,y;z\"");
        for bad in [
            "",
            "; a",
            "foo; =1",
            "foo; a=\"unterminated",
            "fo o",
            "foo; a=b c",
        ] {
            let mut h = Headers::new();
            h.push("Sec-WebSocket-Extensions", bad);
            let parsed = Extension::parse_all(&h);
            assert!(parsed.is_none() || parsed == Some(vec![]), "{bad:?}");
        }
    }

    /// Where a [`HeadReader`] finds the end of `input` fed in two pieces at `split`.
    fn end_at_split(input: &[u8], split: usize) -> Option<usize> {
        let mut r = HeadReader::default();
        match r.push(&input[..split], 100).unwrap() {
            None => r.push(&input[split..], 100).unwrap(),
            found => found,
        }
    }

    #[test]
    fn head_reader_finds_the_end_at_any_split_within_the_limit() {
        let head = b"GET / HTTP/1.1\r\nHost: a\r\n\r\nFRAMES";
        for split in 0..=head.len() {
            assert_eq!(
                end_at_split(head, split),
                Some(head.len() - 6),
                "split {split}"
            );
        }
        let mut r = HeadReader::default();
        let byte_by_byte = head
            .iter()
            .find_map(|b| r.push(core::slice::from_ref(b), 100).unwrap());
        assert_eq!(byte_by_byte, Some(head.len() - 6));
        let mut r = HeadReader::default();
        assert_eq!(r.push(&[b'a'; 64], 64), Ok(None));
        assert_eq!(r.push(b"a", 64), Err(HandshakeError::HeadTooLarge));
        let mut r = HeadReader::default();
        assert_eq!(r.push(head, 20), Err(HandshakeError::HeadTooLarge));
    }

    #[test]
    fn the_head_ends_at_the_first_empty_line_with_crlf_or_lf() {
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nA: b\r\n\r\nrest"), Some(24));
        assert_eq!(head_end(b"GET / HTTP/1.1\nA: b\n\nrest"), Some(21));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nA: b\n\r\n"), Some(23));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nA: b\r\n"), None);
        // Found whatever the split.
        let head = b"GET / HTTP/1.1\nHost: h\n\n";
        for split in 0..=head.len() {
            assert_eq!(end_at_split(head, split), Some(head.len()), "split {split}");
        }
    }

    #[test]
    fn field_values_reject_injection() {
        assert!(is_field_value(b"a=b; Path=/"));
        assert!(!is_field_value(b"a\r\nSet-Cookie: x"));
        assert!(!is_field_value(b"a\0"));
        assert!(!is_field_value(b" leading"));
        assert!(check_field("X-Ok", b"1").is_ok());
        assert!(check_field("Bad Name", b"1").is_err());
    }
}
