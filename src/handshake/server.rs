//! The server's half of the opening handshake (RFC 6455 §4.2): read and check the
//! client's upgrade request, then accept it (101) or reject it (any status).
//!
//! ```
//! use wsmachine::handshake::server::{parse_request, Accept};
//! let head = b"GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
//!     Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
//!     Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat, superchat\r\n\r\n";
//! let (request, used) = parse_request(head, &wsmachine::Config::default()).unwrap().unwrap();
//! assert_eq!(used, head.len());
//! assert_eq!((request.path(), request.query()), ("/chat", Some("room=1")));
//! let response = Accept::new().protocol("chat").response(&request).unwrap();
//! assert!(response.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
//! ```

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use bytes::Bytes;

use super::{
    Extension, HandshakeError, Headers, VERSION, accept_key, check_field, is_token, key_is_valid,
    parse_error, write_header,
};
use crate::config::Config;

/// A client's upgrade request that passed the checks of §4.2.1.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Request {
    method: String,
    target: String,
    headers: Headers,
    key: String,
    protocols: Vec<String>,
    extensions: Vec<Extension>,
}

impl Request {
    /// The method (always `GET` for HTTP/1.1; `CONNECT` over HTTP/2).
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The request target as sent: `/path?query`, or an absolute URI.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The path: the target without scheme, authority and query. For the usual
    /// origin form (`/chat?room=1`) everything before the `?`; for the absolute form
    /// (`http://example.com/chat?room=1`, RFC 9112 §3.2.2) the path after the
    /// authority, `/` if it is empty; `*` for the asterisk form. Only a target that
    /// starts with a scheme is read as absolute: `://` later in the path or the query
    /// is part of them.
    pub fn path(&self) -> &str {
        let rest = match absolute_form(&self.target) {
            // The authority ends at the first `/` or `?` (RFC 3986 §3.2).
            Some(after_scheme) => after_scheme
                .find(['/', '?'])
                .map_or("", |at| &after_scheme[at..]),
            None => &self.target,
        };
        let path = rest.split_once('?').map_or(rest, |(path, _)| path);
        if path.is_empty() { "/" } else { path }
    }

    /// The query, without the `?`.
    pub fn query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, q)| q)
    }

    /// Every header field as received.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The first value of a header field, if it is UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get_str(name)
    }

    /// The `Host` (or `:authority`).
    pub fn host(&self) -> Option<&str> {
        self.header("host")
    }

    /// The `Origin`, sent by every browser (§4.2.1 item 7; §10.2).
    pub fn origin(&self) -> Option<&str> {
        self.header("origin")
    }

    /// The offered subprotocols, in the client's order of preference.
    pub fn protocols(&self) -> &[String] {
        &self.protocols
    }

    /// The offered extensions, in order.
    pub fn extensions(&self) -> &[Extension] {
        &self.extensions
    }

    /// The `Sec-WebSocket-Key` (empty over HTTP/2, which has none).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Checks the header fields common to HTTP/1.1 and HTTP/2 (version, protocol and
    /// extension syntax, no body) and builds the request. `key` has been checked.
    pub(crate) fn from_parts(
        method: &str,
        target: &str,
        headers: Headers,
        key: String,
    ) -> Result<Request, HandshakeError> {
        // §4.2.2: a version the server does not speak gets 426 with the versions it
        // does; a missing version is answered the same way, since it tells the
        // client what to send.
        let version_ok = {
            let mut versions = headers.list("sec-websocket-version");
            versions.next() == Some(VERSION) && versions.next().is_none()
        };
        if !version_ok {
            return Err(HandshakeError::Version);
        }
        if !headers.list_is_valid("sec-websocket-protocol") {
            return Err(HandshakeError::HeaderSyntax);
        }
        let protocols = headers
            .list("sec-websocket-protocol")
            .map(String::from)
            .collect();
        let extensions = Extension::parse_all(&headers).ok_or(HandshakeError::HeaderSyntax)?;
        // A body would be read as frames; an upgrade request has none.
        let has_body = headers
            .get_all("content-length")
            .any(|v| v.trim_ascii() != b"0")
            || headers.count("transfer-encoding") > 0;
        if has_body {
            return Err(HandshakeError::UnexpectedBody);
        }
        Ok(Request {
            method: String::from(method),
            target: String::from(target),
            headers,
            key,
            protocols,
            extensions,
        })
    }
}

/// What follows `scheme://` when `target` is in absolute form (starts with a URI
/// scheme, RFC 3986 §3.1, then `://`), else `None`.
fn absolute_form(target: &str) -> Option<&str> {
    let (scheme, rest) = target.split_once("://")?;
    let mut chars = scheme.chars();
    let is_scheme = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    is_scheme.then_some(rest)
}

/// Parses an upgrade request from the start of `buf` and checks it (§4.2.1), with
/// `config`'s header limit and request settings (the origin policy).
///
/// Returns `Ok(None)` while the head is incomplete, else the request and the length
/// of its head: bytes after it are frame data. Errors name the HTTP answer
/// ([`HandshakeError::status`]). The head size limit is the caller's to apply.
pub fn parse_request(
    buf: &[u8],
    config: &Config,
) -> Result<Option<(Request, usize)>, HandshakeError> {
    let mut storage = super::header_slots(config.max_headers, buf.len());
    let mut req = httparse::Request::new(&mut storage);
    let used = match req.parse(buf).map_err(parse_error)? {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => return Ok(None),
    };
    let method = req.method.unwrap_or_default();
    let target = req.path.unwrap_or_default();
    let headers: Headers = req.headers.iter().map(|h| (h.name, h.value)).collect();
    let request = check_upgrade(method, req.version == Some(1), target, headers)?;
    config.check_request(&request)?;
    Ok(Some((request, used)))
}

/// The checks of §4.2.1 on an HTTP/1.1 request's parts, however it was parsed.
/// `http11` is whether the version is at least 1.1.
pub(crate) fn check_upgrade(
    method: &str,
    http11: bool,
    target: &str,
    headers: Headers,
) -> Result<Request, HandshakeError> {
    if method != "GET" {
        return Err(HandshakeError::MethodNotAllowed);
    }
    if !http11 {
        return Err(HandshakeError::HttpVersion);
    }
    let host = headers.get("host").map(<[u8]>::trim_ascii);
    if headers.count("host") != 1 || host.is_some_and(<[u8]>::is_empty) {
        return Err(HandshakeError::Host);
    }
    if headers.count("upgrade") == 0 {
        return Err(HandshakeError::NotAnUpgrade);
    }
    let websocket = |p: &str| {
        p.split('/')
            .next()
            .is_some_and(|n| n.eq_ignore_ascii_case("websocket"))
    };
    if !headers.list("upgrade").any(websocket) {
        return Err(HandshakeError::Upgrade);
    }
    if !headers.has_token("connection", "upgrade") {
        return Err(HandshakeError::Connection);
    }
    // The version is checked before the key, so that a client speaking another
    // version learns which one to use.
    let key = headers
        .get_str("sec-websocket-key")
        .map(|k| String::from(k.trim_matches([' ', '\t'])));
    let request = Request::from_parts(method, target, headers, String::new())?;
    match key {
        Some(key) if key_is_valid(&key) && request.headers.count("sec-websocket-key") == 1 => {
            Ok(Request { key, ..request })
        }
        _ => Err(HandshakeError::Key),
    }
}

/// Which `Origin` values a server accepts (§10.2).
///
/// Browsers let a page from any site open a WebSocket to any server, sending the
/// user's cookies with it, and always say which site in `Origin`: checking it is what
/// stops cross-site WebSocket hijacking. Clients other than browsers usually send no
/// `Origin` (and could send any); they are not what the policy guards against.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[non_exhaustive]
pub enum OriginPolicy {
    /// Accept any origin, or none. The default.
    #[default]
    Any,
    /// Accept only these origins (compared ignoring ASCII case, as §4.2.2 lowercases
    /// them), e.g. `https://example.com`.
    AllowList {
        /// The allowed serialized origins.
        origins: Vec<String>,
        /// Whether a request without `Origin` (a non-browser client) is accepted.
        allow_missing: bool,
    },
}

impl OriginPolicy {
    /// An allow-list. A request without `Origin` is refused too; see
    /// [`allowing_missing`](Self::allowing_missing) to admit non-browser clients.
    pub fn allow_list<I, S>(origins: I) -> OriginPolicy
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        OriginPolicy::AllowList {
            origins: origins.into_iter().map(Into::into).collect(),
            allow_missing: false,
        }
    }

    /// The same allow-list, also accepting requests that carry no `Origin` at all
    /// (command-line and server-to-server clients; browsers always send one).
    pub fn allowing_missing(self) -> OriginPolicy {
        match self {
            OriginPolicy::AllowList { origins, .. } => OriginPolicy::AllowList {
                origins,
                allow_missing: true,
            },
            any => any,
        }
    }

    /// Whether a request with this `Origin` value is accepted.
    pub fn allows(&self, origin: Option<&str>) -> bool {
        match (self, origin) {
            (OriginPolicy::Any, _) => true,
            (OriginPolicy::AllowList { allow_missing, .. }, None) => *allow_missing,
            (OriginPolicy::AllowList { origins, .. }, Some(origin)) => origins
                .iter()
                .any(|o| o.eq_ignore_ascii_case(origin.trim())),
        }
    }

    /// [`HandshakeError::Origin`] (403) unless the request's origin is allowed. Under
    /// an allow-list, an `Origin` that is not UTF-8 or that appears more than once is
    /// refused, never taken as missing.
    pub fn check(&self, request: &Request) -> Result<(), HandshakeError> {
        let allowed = match self {
            OriginPolicy::Any => true,
            OriginPolicy::AllowList { .. } => match request.headers.count("origin") {
                0 => self.allows(None),
                1 => request.origin().is_some_and(|o| self.allows(Some(o))),
                _ => false,
            },
        };
        if allowed {
            Ok(())
        } else {
            Err(HandshakeError::Origin)
        }
    }
}

/// Header fields the handshake writes itself; an application may not add them.
const RESERVED: [&str; 5] = [
    "upgrade",
    "connection",
    "sec-websocket-accept",
    "sec-websocket-protocol",
    "sec-websocket-extensions",
];

/// The application's "yes": the subprotocol it picked and extra header fields for
/// the 101 response (`Set-Cookie`, say).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Accept {
    protocol: Option<String>,
    extensions: Vec<Extension>,
    headers: Headers,
}

impl Accept {
    /// Accept with no subprotocol and no extra header.
    pub fn new() -> Accept {
        Accept::default()
    }

    /// Selects a subprotocol; it must be one the client offered (§4.2.2 step 5.4).
    pub fn protocol(mut self, protocol: impl Into<String>) -> Accept {
        self.protocol = Some(protocol.into());
        self
    }

    /// Accepts an extension, as the answer to the client's offer of it (§9.1): the
    /// client must have offered one by that name. A [`Connection`](crate::Connection)
    /// with [`Config::deflate`](crate::Config::deflate) set answers permessage-deflate
    /// itself unless the application does here.
    pub fn extension(mut self, extension: Extension) -> Accept {
        self.extensions.push(extension);
        self
    }

    /// The accepted extensions, as answered.
    pub fn selected_extensions(&self) -> &[Extension] {
        &self.extensions
    }

    /// Adds a header field to the response.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) -> Accept {
        self.headers.push(name, value);
        self
    }

    /// The selected subprotocol.
    pub fn selected_protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// The extra header fields.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// Checks the answer against the request: a subprotocol the client offered, valid
    /// header fields that do not clash with the handshake's own.
    pub(crate) fn check(&self, request: &Request) -> Result<(), HandshakeError> {
        if let Some(p) = &self.protocol
            && !request.protocols.iter().any(|offered| offered == p)
        {
            return Err(HandshakeError::UnofferedProtocol(p.clone()));
        }
        for e in &self.extensions {
            e.check()?;
            #[cfg(feature = "deflate")]
            if e.name.eq_ignore_ascii_case(crate::deflate::NAME) {
                crate::deflate::DeflateParams::from_extension(e).map_err(|why| {
                    HandshakeError::InvalidExtension(alloc::format!("{}: {why}", e.name))
                })?;
            }
            if !request
                .extensions
                .iter()
                .any(|offered| offered.name.eq_ignore_ascii_case(&e.name))
            {
                return Err(HandshakeError::UnofferedExtension(e.name.clone()));
            }
        }
        for (name, value) in self.headers.iter() {
            check_field(name, value)?;
            if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(name)) {
                return Err(HandshakeError::InvalidHeader(String::from(name)));
            }
        }
        Ok(())
    }

    /// The 101 response for `request` (§4.2.2 step 5).
    pub fn response(&self, request: &Request) -> Result<Vec<u8>, HandshakeError> {
        self.check(request)?;
        let mut out = Vec::with_capacity(160);
        out.extend_from_slice(b"HTTP/1.1 101 Switching Protocols\r\n");
        write_header(&mut out, "Upgrade", b"websocket");
        write_header(&mut out, "Connection", b"Upgrade");
        write_header(
            &mut out,
            "Sec-WebSocket-Accept",
            accept_key(&request.key).as_bytes(),
        );
        if let Some(p) = &self.protocol {
            write_header(&mut out, "Sec-WebSocket-Protocol", p.as_bytes());
        }
        if !self.extensions.is_empty() {
            let list: Vec<String> = self.extensions.iter().map(ToString::to_string).collect();
            write_header(
                &mut out,
                "Sec-WebSocket-Extensions",
                list.join(", ").as_bytes(),
            );
        }
        self.headers.write_to(&mut out);
        out.extend_from_slice(b"\r\n");
        Ok(out)
    }
}

/// The application's "no": any final status with header fields and a body, e.g. 401
/// with `WWW-Authenticate`, a 3xx redirect with `Location`, 404, 429 with
/// `Retry-After` (§4.2.2 steps 2–3).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Reject {
    status: u16,
    headers: Headers,
    body: Bytes,
}

impl Reject {
    /// A rejection with this status (200–599; 101 would be an acceptance).
    pub fn new(status: u16) -> Reject {
        Reject {
            status,
            headers: Headers::new(),
            body: Bytes::new(),
        }
    }

    /// Adds a header field.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) -> Reject {
        self.headers.push(name, value);
        self
    }

    /// Sets the body (sent with `Content-Length`).
    pub fn body(mut self, body: impl Into<Bytes>) -> Reject {
        self.body = body.into();
        self
    }

    /// The status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The header fields.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The body.
    pub fn body_bytes(&self) -> &Bytes {
        &self.body
    }

    /// The answer a server gives to a request that failed a check, with the header
    /// fields the RFC asks for: `Sec-WebSocket-Version: 13` with 426 (§4.2.2),
    /// `Upgrade: websocket` when a plain request reached a WebSocket endpoint,
    /// `Allow: GET` with 405. `None` for errors that have no HTTP answer.
    pub fn for_error(error: &HandshakeError) -> Option<Reject> {
        let status = error.status()?;
        let mut reject =
            Reject::new(status).body(format!("{status} {}: {error}\n", reason(status)));
        match error {
            HandshakeError::Version => reject = reject.header("Sec-WebSocket-Version", VERSION),
            HandshakeError::NotAnUpgrade => {
                reject = reject
                    .header("Upgrade", "websocket")
                    .header("Connection", "Upgrade, close")
                    .header("Sec-WebSocket-Version", VERSION);
            }
            HandshakeError::MethodNotAllowed => reject = reject.header("Allow", "GET"),
            _ => {}
        }
        Some(reject)
    }

    pub(crate) fn check(&self) -> Result<(), HandshakeError> {
        if !(200..=599).contains(&self.status) {
            return Err(HandshakeError::InvalidHeader(format!(
                "status {}",
                self.status
            )));
        }
        for (name, value) in self.headers.iter() {
            check_field(name, value)?;
            if name.eq_ignore_ascii_case("content-length")
                || name.eq_ignore_ascii_case("transfer-encoding")
            {
                return Err(HandshakeError::InvalidHeader(String::from(name)));
            }
        }
        Ok(())
    }

    /// The full HTTP response: status line, the header fields, `Content-Length`,
    /// `Connection: close` unless given, then the body.
    pub fn response(&self) -> Result<Vec<u8>, HandshakeError> {
        self.check()?;
        let mut out = Vec::with_capacity(128 + self.body.len());
        out.extend_from_slice(
            format!("HTTP/1.1 {} {}\r\n", self.status, reason(self.status)).as_bytes(),
        );
        self.headers.write_to(&mut out);
        if self.headers.count("connection") == 0 {
            write_header(&mut out, "Connection", b"close");
        }
        if !self.body.is_empty() && self.headers.count("content-type") == 0 {
            write_header(&mut out, "Content-Type", b"text/plain; charset=utf-8");
        }
        write_header(
            &mut out,
            "Content-Length",
            self.body.len().to_string().as_bytes(),
        );
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
        Ok(out)
    }
}

/// The reason phrase of common status codes (informative only, RFC 9112 §4).
pub(crate) fn reason(status: u16) -> &'static str {
    match status {
        101 => "Switching Protocols",
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// Whether every offered subprotocol is a token (used by the client builder too).
pub(crate) fn protocols_are_tokens(protocols: &[String]) -> bool {
    protocols.iter().all(|p| is_token(p))
}
