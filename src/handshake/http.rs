//! Conversions from and to the [`http`] crate's types (feature `http`), so that a
//! server that already parsed the request (hyper, axum...) can hand it over, send the
//! response it gets back, and then run an upgraded [`Connection`](crate::Connection)
//! over the connection's bytes.
//!
//! ```
//! use wsmachine::handshake::server::{Accept, Request};
//! let req = http::Request::get("/chat")
//!     .header("host", "example.com")
//!     .header("upgrade", "websocket")
//!     .header("connection", "Upgrade")
//!     .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
//!     .header("sec-websocket-version", "13")
//!     .body(())
//!     .unwrap();
//! let request = Request::from_http(&req, &wsmachine::Config::default()).unwrap();
//! let response = Accept::new().http_response(&request).unwrap();
//! assert_eq!(response.status(), 101);
//! assert_eq!(response.headers()["sec-websocket-accept"], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
//! ```

use alloc::string::String;
use alloc::vec::Vec;

use bytes::Bytes;

use super::client::ClientRequest;
use super::server::{Accept, Reject, Request, check_upgrade, reason};
use super::{Extension, HandshakeError, Headers, HttpResponse};
use crate::config::Config;

fn headers_from(map: &http::HeaderMap) -> Headers {
    map.iter()
        .map(|(name, value)| (name.as_str(), value.as_bytes()))
        .collect()
}

fn to_header_map(headers: &Headers, map: &mut http::HeaderMap) -> Result<(), HandshakeError> {
    for (name, value) in headers.iter() {
        let invalid = || HandshakeError::InvalidHeader(String::from(name));
        let name = http::HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid())?;
        let value = http::HeaderValue::from_bytes(value).map_err(|_| invalid())?;
        map.append(name, value);
    }
    Ok(())
}

fn target_of(uri: &http::Uri) -> &str {
    uri.path_and_query().map_or("/", |pq| pq.as_str())
}

impl Request {
    /// Checks an HTTP/1.1 upgrade request that an HTTP library already parsed
    /// (§4.2.1), with `config`'s request settings (the origin policy), exactly as
    /// [`parse_request`](super::server::parse_request) would.
    pub fn from_http<B>(
        request: &http::Request<B>,
        config: &Config,
    ) -> Result<Request, HandshakeError> {
        let http11 = request.version() >= http::Version::HTTP_11;
        let mut headers = headers_from(request.headers());
        if headers.count("host") == 0
            && let Some(authority) = request.uri().authority()
        {
            headers.push("host", authority.as_str());
        }
        let checked = check_upgrade(
            request.method().as_str(),
            http11,
            target_of(request.uri()),
            headers,
        )?;
        config.check_request(&checked)?;
        Ok(checked)
    }

    /// Checks an HTTP/2 extended CONNECT request (RFC 8441), with `config`'s request
    /// settings. The `:protocol` pseudo-header is not part of `http::Request`;
    /// HTTP/2 libraries expose it separately (hyper and h2 as a `Protocol` request
    /// extension).
    pub fn from_http_connect<B>(
        request: &http::Request<B>,
        protocol: Option<&str>,
        config: &Config,
    ) -> Result<Request, HandshakeError> {
        super::h2::check_connect(
            request.method().as_str(),
            protocol,
            target_of(request.uri()),
            request.uri().authority().map(http::uri::Authority::as_str),
            headers_from(request.headers()),
            config,
        )
    }
}

impl Accept {
    /// The 101 response accepting `request`, as an `http::Response`.
    pub fn http_response(&self, request: &Request) -> Result<http::Response<()>, HandshakeError> {
        self.check(request)?;
        let mut response = http::Response::new(());
        *response.status_mut() = http::StatusCode::SWITCHING_PROTOCOLS;
        let mut headers = Headers::new();
        headers.push("upgrade", "websocket");
        headers.push("connection", "Upgrade");
        headers.push("sec-websocket-accept", super::accept_key(request.key()));
        if let Some(p) = self.selected_protocol() {
            headers.push("sec-websocket-protocol", p);
        }
        if !self.selected_extensions().is_empty() {
            let list: alloc::vec::Vec<alloc::string::String> = self
                .selected_extensions()
                .iter()
                .map(alloc::string::ToString::to_string)
                .collect();
            headers.push("sec-websocket-extensions", list.join(", "));
        }
        to_header_map(&headers, response.headers_mut())?;
        to_header_map(self.headers(), response.headers_mut())?;
        Ok(response)
    }
}

impl Reject {
    /// The rejection as an `http::Response` with its body.
    pub fn http_response(&self) -> Result<http::Response<Bytes>, HandshakeError> {
        self.check()?;
        let mut response = http::Response::new(self.body_bytes().clone());
        *response.status_mut() = http::StatusCode::from_u16(self.status()).map_err(|_| {
            HandshakeError::InvalidHeader(alloc::format!("status {}", self.status()))
        })?;
        to_header_map(self.headers(), response.headers_mut())?;
        Ok(response)
    }
}

impl ClientRequest {
    /// The upgrade request as an `http::Request`, with this `Sec-WebSocket-Key`
    /// (make one with [`generate_key`](super::generate_key)).
    pub fn to_http(&self, key: &str) -> Result<http::Request<()>, HandshakeError> {
        let fields = self.upgrade_fields(key)?;
        let mut request = http::Request::new(());
        *request.uri_mut() = self
            .target()
            .parse()
            .map_err(|_| HandshakeError::Url("target is not a valid URI"))?;
        to_header_map(&fields, request.headers_mut())?;
        Ok(request)
    }

    /// Checks the server's response (§4.1): 101 (anything else is
    /// [`HandshakeError::Rejected`]), then the header fields. Returns the selected
    /// subprotocol and extensions.
    pub fn check_http_response<B>(
        &self,
        key: &str,
        response: &http::Response<B>,
    ) -> Result<(Option<String>, Vec<Extension>), HandshakeError> {
        let headers = headers_from(response.headers());
        let status = response.status().as_u16();
        if status != 101 {
            return Err(HandshakeError::Rejected(alloc::boxed::Box::new(
                HttpResponse {
                    status,
                    reason: String::from(reason(status)),
                    headers,
                    body: Bytes::new(),
                    truncated: false,
                },
            )));
        }
        self.check_response(key, &headers)
    }
}
