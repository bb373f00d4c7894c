//! The client's half of the opening handshake (RFC 6455 §4.1): build the upgrade
//! request, then check the server's response.
//!
//! ```
//! use wsmachine::handshake::client::ClientRequest;
//! let request = ClientRequest::from_url("wss://example.com/chat?room=1")
//!     .unwrap()
//!     .origin("https://example.com")
//!     .protocol("chat")
//!     .header("Authorization", "Bearer abc");
//! assert_eq!(request.host_header(), "example.com");
//! assert_eq!(request.target(), "/chat?room=1");
//! assert!(request.is_secure());
//! ```

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use bytes::Bytes;

use super::server::protocols_are_tokens;
use super::{
    Extension, HandshakeError, Headers, HttpResponse, VERSION, accept_key, check_field, parse_error,
};

/// A client's upgrade request, built from a URL or from parts.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClientRequest {
    host: String,
    port: Option<u16>,
    target: String,
    secure: bool,
    origin: Option<String>,
    protocols: Vec<String>,
    extensions: Vec<Extension>,
    headers: Headers,
}

impl ClientRequest {
    /// A request for `target` (`/path?query`) on `host`, over plain TCP on port 80.
    pub fn new(host: impl Into<String>, target: impl Into<String>) -> ClientRequest {
        ClientRequest {
            host: host.into(),
            port: None,
            target: target.into(),
            secure: false,
            origin: None,
            protocols: Vec::new(),
            extensions: Vec::new(),
            headers: Headers::new(),
        }
    }

    /// Parses a `ws://` or `wss://` URL (§3); `http://` and `https://` are read as
    /// their WebSocket equivalents, as browsers do. Fragments are refused (§3: "MUST
    /// NOT be used"); a missing path is `/`.
    pub fn from_url(url: &str) -> Result<ClientRequest, HandshakeError> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or(HandshakeError::Url("no scheme"))?;
        let secure = match scheme.to_ascii_lowercase().as_str() {
            "ws" | "http" => false,
            "wss" | "https" => true,
            _ => return Err(HandshakeError::Url("scheme is not ws or wss")),
        };
        if rest.contains('#') {
            return Err(HandshakeError::Url("fragment identifiers are not allowed"));
        }
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, target) = rest.split_at(split);
        if authority.contains('@') {
            return Err(HandshakeError::Url("user information is not supported"));
        }
        let (host, port) = split_host_port(authority)?;
        if host.is_empty() {
            return Err(HandshakeError::Url("empty host"));
        }
        if !host.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(HandshakeError::Url(
                "host has spaces or non-ASCII characters",
            ));
        }
        let target = match target {
            "" => String::from("/"),
            t if t.starts_with('?') => format!("/{t}"),
            t => String::from(t),
        };
        if !target.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(HandshakeError::Url(
                "path has spaces or non-ASCII characters",
            ));
        }
        let mut request = ClientRequest::new(host.to_ascii_lowercase(), target);
        request.secure = secure;
        request.port = port;
        Ok(request)
    }

    /// Sets the port (default: 80, or 443 when secure).
    pub fn port(mut self, port: u16) -> ClientRequest {
        self.port = Some(port);
        self
    }

    /// Marks the request as `wss` (TLS is the caller's transport; this sets the
    /// default port and the Host header).
    pub fn secure(mut self, secure: bool) -> ClientRequest {
        self.secure = secure;
        self
    }

    /// Sets `Origin` (browsers always send it; §4.1 item 8).
    pub fn origin(mut self, origin: impl Into<String>) -> ClientRequest {
        self.origin = Some(origin.into());
        self
    }

    /// Offers a subprotocol; call again for more, in order of preference.
    pub fn protocol(mut self, protocol: impl Into<String>) -> ClientRequest {
        self.protocols.push(protocol.into());
        self
    }

    /// Offers an extension. This crate implements none yet, so a server that accepts
    /// it will have its frames with RSV bits refused; offer only what the peer may
    /// decline.
    pub fn extension(mut self, extension: Extension) -> ClientRequest {
        self.extensions.push(extension);
        self
    }

    /// Adds a header field (cookies, authorization...).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) -> ClientRequest {
        self.headers.push(name, value);
        self
    }

    /// The host, without port.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port to connect to.
    pub fn port_or_default(&self) -> u16 {
        self.port.unwrap_or(if self.secure { 443 } else { 80 })
    }

    /// `wss`?
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// The request target (`/path?query`).
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The offered subprotocols.
    pub fn protocols(&self) -> &[String] {
        &self.protocols
    }

    /// The offered extensions.
    pub fn extensions(&self) -> &[Extension] {
        &self.extensions
    }

    /// The extra header fields.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The `Origin`, if set.
    pub fn origin_value(&self) -> Option<&str> {
        self.origin.as_deref()
    }

    /// The `Host` value: the host (bracketed if IPv6) and the port unless it is the
    /// scheme's default (§4.1 item 4).
    pub fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        match self.port {
            Some(p) if p != if self.secure { 443 } else { 80 } => format!("{host}:{p}"),
            _ => host,
        }
    }

    /// Checks what the caller supplied: header fields, subprotocol tokens, and that
    /// no extra header clashes with the handshake's own.
    pub fn check(&self) -> Result<(), HandshakeError> {
        if self.host.is_empty() {
            return Err(HandshakeError::Url("empty host"));
        }
        // Visible ASCII only, none of the URL delimiters: nothing that could end the
        // Host line or the authority.
        if !self
            .host
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"/?#@[]\\".contains(&b))
        {
            return Err(HandshakeError::Url(
                "host has characters a host cannot have",
            ));
        }
        for extension in &self.extensions {
            extension.check()?;
        }
        if !self.target.starts_with('/') || !self.target.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(HandshakeError::Url("target must be an absolute path"));
        }
        if !protocols_are_tokens(&self.protocols) {
            return Err(HandshakeError::InvalidHeader(String::from(
                "Sec-WebSocket-Protocol",
            )));
        }
        if let Some(origin) = &self.origin {
            check_field("Origin", origin.as_bytes())?;
        }
        for (name, value) in self.headers.iter() {
            check_field(name, value)?;
            let own = [
                "host",
                "upgrade",
                "connection",
                "sec-websocket-key",
                "sec-websocket-version",
                "sec-websocket-protocol",
                "sec-websocket-extensions",
                "origin",
            ];
            if own.iter().any(|o| o.eq_ignore_ascii_case(name)) {
                return Err(HandshakeError::InvalidHeader(String::from(name)));
            }
        }
        Ok(())
    }

    /// The request head with the given `Sec-WebSocket-Key` (§4.1).
    pub fn encode(&self, key: &str) -> Result<Vec<u8>, HandshakeError> {
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(format!("GET {} HTTP/1.1\r\n", self.target).as_bytes());
        self.upgrade_fields(key)?.write_to(&mut out);
        out.extend_from_slice(b"\r\n");
        Ok(out)
    }

    /// The header fields of the HTTP/1.1 upgrade request, in order (§4.1): Host,
    /// Upgrade, Connection and the key, then [`negotiation_fields`](Self::negotiation_fields).
    pub(crate) fn upgrade_fields(&self, key: &str) -> Result<Headers, HandshakeError> {
        self.check()?;
        let mut fields = Headers::new();
        fields.push("Host", self.host_header());
        fields.push("Upgrade", "websocket");
        fields.push("Connection", "Upgrade");
        fields.push("Sec-WebSocket-Key", key);
        for (name, value) in self.negotiation_fields().iter() {
            fields.push(name, value);
        }
        Ok(fields)
    }

    /// The fields any WebSocket opening request carries, over HTTP/1.1 or HTTP/2:
    /// the version, Origin, offered subprotocols and extensions, then the caller's
    /// own header fields.
    pub(crate) fn negotiation_fields(&self) -> Headers {
        let mut fields = Headers::new();
        fields.push("Sec-WebSocket-Version", VERSION);
        if let Some(origin) = &self.origin {
            fields.push("Origin", origin.as_str());
        }
        if !self.protocols.is_empty() {
            fields.push("Sec-WebSocket-Protocol", self.protocols.join(", "));
        }
        if !self.extensions.is_empty() {
            let list: Vec<String> = self.extensions.iter().map(ToString::to_string).collect();
            fields.push("Sec-WebSocket-Extensions", list.join(", "));
        }
        for (name, value) in self.headers.iter() {
            fields.push(name, value);
        }
        fields
    }

    /// Checks a 101 response's header fields against this request and `key` (§4.1,
    /// the client's checks 2–6). Returns the selected subprotocol and extensions.
    pub fn check_response(
        &self,
        key: &str,
        headers: &Headers,
    ) -> Result<(Option<String>, Vec<Extension>), HandshakeError> {
        // 2. Upgrade: websocket (a comma list is tolerated).
        if !headers.has_token("upgrade", "websocket") {
            return Err(HandshakeError::Upgrade);
        }
        // 3. Connection: upgrade.
        if !headers.has_token("connection", "upgrade") {
            return Err(HandshakeError::Connection);
        }
        // 4. Sec-WebSocket-Accept, exactly one, equal to the expected value.
        let expected = accept_key(key);
        let accept = headers.get_str("sec-websocket-accept").map(str::trim);
        if headers.count("sec-websocket-accept") != 1 || accept != Some(expected.as_str()) {
            return Err(HandshakeError::Accept);
        }
        self.check_selection(headers)
    }

    /// §4.1 checks 5 and 6 (also used over HTTP/2): only offered extensions, at most
    /// one subprotocol and an offered one.
    pub(crate) fn check_selection(
        &self,
        headers: &Headers,
    ) -> Result<(Option<String>, Vec<Extension>), HandshakeError> {
        let extensions = Extension::parse_all(headers).ok_or(HandshakeError::HeaderSyntax)?;
        for ext in &extensions {
            if !self
                .extensions
                .iter()
                .any(|o| o.name.eq_ignore_ascii_case(&ext.name))
            {
                return Err(HandshakeError::UnofferedExtension(ext.name.clone()));
            }
        }
        #[cfg(feature = "deflate")]
        crate::deflate::check_answers(&extensions, &self.extensions)?;
        let mut selected = headers.list("sec-websocket-protocol");
        let protocol = selected.next().map(String::from);
        if let Some(extra) = selected.next() {
            return Err(HandshakeError::UnofferedProtocol(String::from(extra)));
        }
        if let Some(p) = &protocol
            && !self.protocols.iter().any(|o| o == p)
        {
            return Err(HandshakeError::UnofferedProtocol(p.clone()));
        }
        Ok((protocol, extensions))
    }
}

fn split_host_port(authority: &str) -> Result<(&str, Option<u16>), HandshakeError> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or(HandshakeError::Url("unclosed IPv6 bracket"))?;
        match after {
            "" => (host, None),
            p => (
                host,
                Some(
                    p.strip_prefix(':')
                        .ok_or(HandshakeError::Url("junk after IPv6 host"))?,
                ),
            ),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let port = match port {
        None => None,
        Some(p) => Some(
            p.parse::<u16>()
                .map_err(|_| HandshakeError::Url("invalid port"))?,
        ),
    };
    Ok((host, port))
}

/// A parsed response head.
#[derive(Debug)]
pub(crate) struct ResponseHead {
    pub(crate) status: u16,
    pub(crate) reason: String,
    pub(crate) headers: Headers,
}

/// Parses a response head from `buf`: `Ok(None)` while incomplete.
pub(crate) fn parse_response(
    buf: &[u8],
    max_headers: usize,
) -> Result<Option<(ResponseHead, usize)>, HandshakeError> {
    let mut storage = super::header_slots(max_headers, buf.len());
    let mut res = httparse::Response::new(&mut storage);
    let used = match res.parse(buf).map_err(parse_error)? {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => return Ok(None),
    };
    let head = ResponseHead {
        status: res.code.unwrap_or_default(),
        reason: String::from(res.reason.unwrap_or_default()),
        headers: res.headers.iter().map(|h| (h.name, h.value)).collect(),
    };
    Ok(Some((head, used)))
}

/// Reads the body of a non-101 response, within a size limit, so that the error can
/// carry it: `Content-Length`, chunked transfer coding, or until end of stream.
#[derive(Debug)]
pub(crate) struct BodyReader {
    framing: Framing,
    body: Vec<u8>,
    limit: usize,
    truncated: bool,
}

#[derive(Debug)]
enum Framing {
    Length(u64),
    UntilEof,
    Chunked(Chunked),
}

#[derive(Debug)]
enum Chunked {
    /// Reading a chunk-size line (hex digits, extensions ignored).
    Size {
        line: Vec<u8>,
    },
    Data(u64),
    /// The CRLF after a chunk's data.
    DataEnd(u8),
    /// Trailer lines up to the empty line; holds the current line's length.
    Trailer(usize),
}

impl BodyReader {
    pub(crate) fn new(headers: &Headers, status: u16, limit: usize) -> BodyReader {
        let chunked = headers
            .list("transfer-encoding")
            .last()
            .is_some_and(|c| c.eq_ignore_ascii_case("chunked"));
        let framing = if (100..200).contains(&status) || status == 204 || status == 304 {
            Framing::Length(0)
        } else if chunked {
            Framing::Chunked(Chunked::Size { line: Vec::new() })
        } else if let Some(len) = headers
            .get_str("content-length")
            .and_then(|v| v.trim().parse::<u64>().ok())
        {
            Framing::Length(len)
        } else {
            Framing::UntilEof
        };
        BodyReader {
            framing,
            body: Vec::new(),
            limit,
            truncated: false,
        }
    }

    /// Takes bytes; returns whether the body is complete (or cut at the limit).
    pub(crate) fn push(&mut self, mut data: &[u8]) -> bool {
        loop {
            if self.body.len() >= self.limit && !self.is_done() {
                self.truncated = true;
                return true;
            }
            match &mut self.framing {
                Framing::Length(0) => return true,
                Framing::Length(left) => {
                    let n = data.len().min(usize::try_from(*left).unwrap_or(usize::MAX));
                    let n = n.min(self.limit - self.body.len());
                    self.body.extend_from_slice(&data[..n]);
                    *left -= n as u64;
                    data = &data[n..];
                    if *left > 0 && data.is_empty() && self.body.len() < self.limit {
                        return false;
                    }
                }
                Framing::UntilEof => {
                    let n = data.len().min(self.limit - self.body.len());
                    self.body.extend_from_slice(&data[..n]);
                    if self.body.len() < self.limit {
                        return false;
                    }
                    self.truncated = true;
                    return true;
                }
                Framing::Chunked(state) => {
                    let Some((&b, rest)) = data.split_first() else {
                        return false;
                    };
                    match state {
                        Chunked::Size { line } => {
                            if b == b'\n' {
                                let text = core::str::from_utf8(line).unwrap_or("");
                                let hex = text.split(';').next().unwrap_or("").trim();
                                match u64::from_str_radix(hex, 16) {
                                    Ok(0) => *state = Chunked::Trailer(0),
                                    Ok(n) => *state = Chunked::Data(n),
                                    Err(_) => return self.stop_malformed(),
                                }
                            } else if line.len() < 256 {
                                line.push(b);
                            } else {
                                return self.stop_malformed();
                            }
                            data = rest;
                        }
                        Chunked::Data(left) => {
                            let n = data.len().min(usize::try_from(*left).unwrap_or(usize::MAX));
                            let n = n.min(self.limit - self.body.len());
                            self.body.extend_from_slice(&data[..n]);
                            *left -= n as u64;
                            if *left == 0 {
                                *state = Chunked::DataEnd(0);
                            }
                            data = &data[n..];
                        }
                        Chunked::DataEnd(seen) => {
                            *seen += 1;
                            if b == b'\n' {
                                *state = Chunked::Size { line: Vec::new() };
                            } else if *seen > 2 {
                                return self.stop_malformed();
                            }
                            data = rest;
                        }
                        Chunked::Trailer(len) => {
                            if b == b'\n' {
                                if *len <= 1 {
                                    self.framing = Framing::Length(0);
                                    return true;
                                }
                                *len = 0;
                            } else {
                                *len += 1;
                            }
                            data = rest;
                        }
                    }
                }
            }
        }
    }

    fn is_done(&self) -> bool {
        matches!(self.framing, Framing::Length(0))
    }

    fn stop_malformed(&mut self) -> bool {
        self.truncated = true;
        self.framing = Framing::Length(0);
        true
    }

    /// The response with what was read, at end of stream or completion.
    pub(crate) fn finish(self, head: ResponseHead) -> HttpResponse {
        let truncated =
            self.truncated || !self.is_done() && !matches!(self.framing, Framing::UntilEof);
        HttpResponse {
            status: head.status,
            reason: head.reason,
            headers: head.headers,
            body: Bytes::from(self.body),
            truncated,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_body(headers: &[(&str, &str)], wire: &[u8], limit: usize) -> (bool, HttpResponse) {
        let mut h = Headers::new();
        for (n, v) in headers {
            h.push(*n, v.as_bytes());
        }
        let mut r = BodyReader::new(&h, 401, limit);
        let mut done = false;
        for b in wire {
            if r.push(core::slice::from_ref(b)) {
                done = true;
                break;
            }
        }
        let head = ResponseHead {
            status: 401,
            reason: String::from("Unauthorized"),
            headers: h,
        };
        (done, r.finish(head))
    }

    #[test]
    fn bodies_by_length_chunked_and_eof() {
        let (done, r) = read_body(&[("Content-Length", "5")], b"helloEXTRA", 100);
        assert!(done && !r.truncated);
        assert_eq!(&r.body[..], b"hello");

        let wire =
            b"4;ext=1\r\nWiki\r\n6\r\npedia \r\nE\r\nin \r\n\r\nchunks.\r\n0\r\nX-T: 1\r\n\r\n";
        let (done, r) = read_body(&[("Transfer-Encoding", "chunked")], wire, 100);
        assert!(done && !r.truncated);
        assert_eq!(&r.body[..], b"Wikipedia in \r\n\r\nchunks.");

        let (done, r) = read_body(&[], b"until the end", 100);
        assert!(!done);
        assert_eq!(&r.body[..], b"until the end");

        let (done, r) = read_body(&[("Content-Length", "1000000")], &[b'x'; 50], 10);
        assert!(done && r.truncated);
        assert_eq!(r.body.len(), 10);

        let (done, r) = read_body(&[("Transfer-Encoding", "chunked")], b"zz\r\n", 100);
        assert!(done && r.truncated);
    }

    #[test]
    fn urls() {
        let r = ClientRequest::from_url("ws://[::1]:9001").unwrap();
        assert_eq!(
            (r.host(), r.port_or_default(), r.target()),
            ("::1", 9001, "/")
        );
        assert_eq!(r.host_header(), "[::1]:9001");
        let r = ClientRequest::from_url("WSS://Example.COM:443?x=1").unwrap();
        assert_eq!(
            (r.host_header().as_str(), r.target()),
            ("example.com", "/?x=1")
        );
        let r = ClientRequest::from_url("http://h/p").unwrap();
        assert!(!r.is_secure());
        for bad in [
            "example.com",
            "ftp://x/",
            "ws:///path",
            "ws://h/p#frag",
            "ws://h:99999/",
            "ws://u@h/",
            "ws://h/a b",
            "ws://[::1/",
        ] {
            assert!(ClientRequest::from_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn request_rejects_header_injection() {
        let r = ClientRequest::new("h", "/").header("X", "a\r\nInjected: 1");
        assert!(matches!(
            r.encode("k"),
            Err(HandshakeError::InvalidHeader(_))
        ));
        let r = ClientRequest::new("h", "/").header("Sec-WebSocket-Key", "x");
        assert!(r.encode("k").is_err());
        let r = ClientRequest::new("h", "/").protocol("not a token");
        assert!(r.encode("k").is_err());
    }
}
