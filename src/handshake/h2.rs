//! WebSockets over HTTP/2 (RFC 8441): the extended CONNECT method.
//!
//! Over HTTP/2 the upgrade is a CONNECT request with the pseudo-header
//! `:protocol = websocket`; the server answers 200 and the stream then carries
//! WebSocket frames. There is no `Sec-WebSocket-Key` or `Sec-WebSocket-Accept`
//! (RFC 8441 §5). The HTTP/2 layer (h2, hyper...) moves the headers; these helpers
//! check and build them, and afterwards
//! [`Connection::upgraded_server`](crate::Connection::upgraded_server) or
//! [`upgraded_client`](crate::Connection::upgraded_client) runs over the stream.
//!
//! ```
//! use wsmachine::handshake::{h2, server::Accept, client::ClientRequest, Headers};
//! // Client side: the CONNECT request to send.
//! let offer = ClientRequest::from_url("wss://example.com/chat").unwrap().protocol("chat");
//! let connect = h2::connect_request(&offer).unwrap();
//! assert_eq!((connect.method, connect.protocol), ("CONNECT", "websocket"));
//!
//! // Server side: check what arrived and answer.
//! let request = h2::check_connect(
//!     connect.method, Some(connect.protocol), &connect.path, Some(&connect.authority),
//!     connect.headers.clone(), &wsmachine::Config::default(),
//! ).unwrap();
//! let (status, headers) = h2::accept(&request, &Accept::new().protocol("chat")).unwrap();
//! assert_eq!(status, 200);
//!
//! // Client side: check the answer.
//! let (protocol, _extensions) = h2::check_connect_response(&offer, status, &headers).unwrap();
//! assert_eq!(protocol.as_deref(), Some("chat"));
//! ```

use alloc::string::String;
use alloc::vec::Vec;

use bytes::Bytes;

use super::client::ClientRequest;
use super::server::{Accept, Request};
use super::{Extension, HandshakeError, Headers, HttpResponse};
use crate::config::Config;

/// What an HTTP/2 client sends to open a WebSocket (RFC 8441 §4, §5): the
/// pseudo-headers and the regular header fields.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Connect {
    /// `:method`, always `CONNECT`.
    pub method: &'static str,
    /// `:protocol`, always `websocket`.
    pub protocol: &'static str,
    /// `:scheme`: `https` for `wss`, `http` for `ws`.
    pub scheme: &'static str,
    /// `:path`.
    pub path: String,
    /// `:authority`.
    pub authority: String,
    /// Regular header fields, names in lowercase as HTTP/2 requires.
    pub headers: Headers,
}

/// The extended CONNECT request for `request` (RFC 8441 §5).
pub fn connect_request(request: &ClientRequest) -> Result<Connect, HandshakeError> {
    request.check()?;
    // HTTP/2 field names are lowercase (RFC 9113 §8.2.1).
    let mut headers = Headers::new();
    for (name, value) in request.negotiation_fields().iter() {
        headers.push(name.to_ascii_lowercase(), value);
    }
    Ok(Connect {
        method: "CONNECT",
        protocol: "websocket",
        scheme: if request.is_secure() { "https" } else { "http" },
        path: String::from(request.target()),
        authority: request.host_header(),
        headers,
    })
}

/// Checks an extended CONNECT request (RFC 8441 §5): method CONNECT, `:protocol`
/// `websocket`, version 13, well-formed subprotocol and extension lists, and
/// `config`'s request settings (the origin policy). The `:authority` is made
/// available as [`Request::host`].
pub fn check_connect(
    method: &str,
    protocol: Option<&str>,
    path: &str,
    authority: Option<&str>,
    mut headers: Headers,
    config: &Config,
) -> Result<Request, HandshakeError> {
    if method != "CONNECT" {
        return Err(HandshakeError::MethodNotAllowed);
    }
    match protocol {
        Some(p) if p.eq_ignore_ascii_case("websocket") => {}
        None => return Err(HandshakeError::NotAnUpgrade),
        Some(_) => return Err(HandshakeError::Upgrade),
    }
    if path.is_empty() {
        return Err(HandshakeError::Malformed);
    }
    if let Some(authority) = authority
        && headers.count("host") == 0
    {
        headers.push("host", authority);
    }
    let request = Request::from_parts(method, path, headers, String::new())?;
    config.check_request(&request)?;
    Ok(request)
}

/// The 200 answer that accepts an extended CONNECT (RFC 8441 §5): the status and
/// header fields for the HTTP/2 layer to send.
pub fn accept(request: &Request, accept: &Accept) -> Result<(u16, Headers), HandshakeError> {
    accept.check(request)?;
    let mut headers = Headers::new();
    if let Some(p) = accept.selected_protocol() {
        headers.push("sec-websocket-protocol", p);
    }
    for (name, value) in accept.headers().iter() {
        headers.push(name.to_ascii_lowercase(), value);
    }
    Ok((200, headers))
}

/// Checks the server's answer to an extended CONNECT: a 2xx status (anything else is
/// [`HandshakeError::Rejected`] with that status), then the selected subprotocol and
/// extensions as in §4.1.
pub fn check_connect_response(
    request: &ClientRequest,
    status: u16,
    headers: &Headers,
) -> Result<(Option<String>, Vec<Extension>), HandshakeError> {
    if !(200..300).contains(&status) {
        return Err(HandshakeError::Rejected(alloc::boxed::Box::new(
            HttpResponse {
                status,
                reason: String::from(super::server::reason(status)),
                headers: headers.clone(),
                body: Bytes::new(),
                truncated: false,
            },
        )));
    }
    request.check_selection(headers)
}
