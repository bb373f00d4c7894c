//! The opening handshake as a connection drives it (RFC 6455 §4), in both roles:
//! the server reads the request head, reports it and keeps the bytes that arrive
//! while the application decides; the client reads past interim (1xx) responses to
//! the final one, and reads the body of a response other than 101 for its error.
//!
//! It only turns bytes into steps; the lifecycle decides what each step does to the
//! connection (see `state.rs`).

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

use super::client::{BodyReader, ClientRequest, ResponseHead, parse_response};
use super::server::{Accept, Reject, Request, parse_request};
use super::{HandshakeError, HeadReader, Headers, Negotiated};
use crate::config::Config;

/// Interim (1xx) responses a client skips before the final one, at most.
const MAX_INTERIM_RESPONSES: u8 = 32;

/// The opening handshake in progress (CONNECTING).
#[derive(Debug)]
pub(crate) enum Opening {
    /// Server: reading the request head.
    ServerHead(HeadReader),
    /// Server: the request went out as an event; waiting for accept or reject, and
    /// keeping bytes that arrive meanwhile.
    ServerDecision { request: Request, early: Vec<u8> },
    /// Client: the request is queued; reading the response head.
    ClientHead {
        head: HeadReader,
        key: String,
        request: ClientRequest,
        /// Interim (1xx) responses skipped so far.
        interim: u8,
    },
    /// Client: the response was not 101; reading its body for the error.
    ClientBody {
        head: ResponseHead,
        body: BodyReader,
    },
}

/// What one step of the opening handshake led to.
pub(crate) enum Step {
    /// Still in progress.
    Continue(Opening),
    /// (Server) A valid request arrived: it is reported whatever comes next, so that
    /// the outcome does not depend on whether the bytes after it came in the same
    /// read; then the application decides, unless too many bytes followed it.
    Request {
        request: Box<Request>,
        next: Result<Opening, HandshakeError>,
    },
    /// The handshake succeeded: what it settled, the response's header fields (for
    /// a client), and the bytes after the head, which are frame data.
    Open {
        negotiated: Negotiated,
        headers: Headers,
        rest: Vec<u8>,
    },
    Fail(HandshakeError),
}

/// The server's answer to the pending request.
pub(crate) struct Accepted {
    /// The 101 response.
    pub(crate) response: Vec<u8>,
    pub(crate) negotiated: Negotiated,
    /// Bytes that arrived after the request: frame data.
    pub(crate) early: Vec<u8>,
}

impl Opening {
    /// A server waiting for the request.
    pub(crate) fn server() -> Opening {
        Opening::ServerHead(HeadReader::default())
    }

    /// A client that has queued `request` with `key`.
    pub(crate) fn client(request: ClientRequest, key: String) -> Opening {
        Opening::ClientHead {
            head: HeadReader::default(),
            key,
            request,
            interim: 0,
        }
    }

    /// The request awaiting the application's answer.
    pub(crate) fn request(&self) -> Option<&Request> {
        match self {
            Opening::ServerDecision { request, .. } => Some(request),
            _ => None,
        }
    }

    /// The HTTP status a server answers when the handshake times out: 408 while the
    /// request is still arriving, 503 once the application is the one late.
    pub(crate) fn timeout_status(&self) -> u16 {
        match self {
            Opening::ServerDecision { .. } => 503,
            _ => 408,
        }
    }

    /// Feeds bytes read from the transport.
    pub(crate) fn feed(self, data: &[u8], config: &Config) -> Step {
        let max = config.max_handshake_size;
        match self {
            Opening::ServerHead(head) => server_head(head, data, config),
            Opening::ServerDecision { request, mut early } => {
                early.extend_from_slice(data);
                if early.len() > max {
                    Step::Fail(HandshakeError::TooMuchEarlyData)
                } else {
                    Step::Continue(Opening::ServerDecision { request, early })
                }
            }
            Opening::ClientHead {
                head,
                key,
                request,
                interim,
            } => client_head(head, key, request, interim, data, config),
            Opening::ClientBody { head, mut body } => {
                if body.push(data) {
                    Step::Fail(HandshakeError::Rejected(Box::new(body.finish(head))))
                } else {
                    Step::Continue(Opening::ClientBody { head, body })
                }
            }
        }
    }

    /// The transport's read side ended. A response body delimited by the end of the
    /// stream is complete now: the handshake failed with that response. Otherwise
    /// the stream just ended early (`None`).
    pub(crate) fn end_of_stream(self) -> Option<HandshakeError> {
        match self {
            Opening::ClientBody { head, body } => {
                Some(HandshakeError::Rejected(Box::new(body.finish(head))))
            }
            _ => None,
        }
    }

    /// (Server) Answers the pending request with a 101. Fails, changing nothing,
    /// when the answer does not fit the request (a subprotocol it did not offer, a
    /// bad header field). `None` when no request is pending.
    pub(crate) fn accept(
        &mut self,
        accept: &Accept,
        config: &Config,
    ) -> Option<Result<Accepted, HandshakeError>> {
        let request = self.request()?;
        let accept = with_extensions(accept, request, config);
        let response = match accept.response(request) {
            Ok(response) => response,
            Err(e) => return Some(Err(e)),
        };
        let negotiated = Negotiated {
            protocol: accept.selected_protocol().map(String::from),
            extensions: accept.selected_extensions().to_vec(),
            // `Accept::check` made sure an answered permessage-deflate is valid.
            #[cfg(feature = "deflate")]
            deflate: crate::deflate::find(accept.selected_extensions())
                .ok()
                .flatten(),
        };
        let Opening::ServerDecision { early, .. } = self else {
            return None;
        };
        Some(Ok(Accepted {
            response,
            negotiated,
            early: core::mem::take(early),
        }))
    }

    /// (Server) Whether `reject` can answer the pending request.
    pub(crate) fn can_reject(&self, reject: &Reject) -> Option<Result<(), HandshakeError>> {
        self.request()?;
        Some(reject.check())
    }
}

/// The application's answer with the extensions the connection answers itself:
/// permessage-deflate, per [`Config::deflate`], unless the application answered it.
fn with_extensions<'a>(
    accept: &'a Accept,
    request: &Request,
    config: &Config,
) -> alloc::borrow::Cow<'a, Accept> {
    #[cfg(feature = "deflate")]
    if let Some(deflate) = &config.deflate {
        let answered = accept
            .selected_extensions()
            .iter()
            .any(|e| e.name.eq_ignore_ascii_case(crate::deflate::NAME));
        if !answered
            && let Some((answer, _)) = crate::deflate::negotiate(request.extensions(), deflate)
        {
            return alloc::borrow::Cow::Owned(accept.clone().extension(answer));
        }
    }
    let _ = (request, config);
    alloc::borrow::Cow::Borrowed(accept)
}

fn server_head(mut head: HeadReader, data: &[u8], config: &Config) -> Step {
    let max = config.max_handshake_size;
    let end = match head.push(data, max) {
        Ok(Some(end)) => end,
        Ok(None) => return Step::Continue(Opening::ServerHead(head)),
        Err(e) => return Step::Fail(e),
    };
    let (request, end) = match parse_request(&head.buf()[..end], config) {
        Ok(Some(parsed)) => parsed,
        // A complete head always parses to a request or an error.
        Ok(None) => return Step::Fail(HandshakeError::Malformed),
        Err(e) => return Step::Fail(e),
    };
    let mut early = head.into_buf();
    early.drain(..end);
    let next = if early.len() > max {
        Err(HandshakeError::TooMuchEarlyData)
    } else {
        Ok(Opening::ServerDecision {
            request: request.clone(),
            early,
        })
    };
    Step::Request {
        request: Box::new(request),
        next,
    }
}

fn client_head(
    mut head: HeadReader,
    key: String,
    request: ClientRequest,
    mut interim: u8,
    data: &[u8],
    config: &Config,
) -> Step {
    let max = config.max_handshake_size;
    let mut input = data.to_vec();
    let (response, rest) = loop {
        let end = match head.push(&input, max) {
            Ok(Some(end)) => end,
            Ok(None) => {
                return Step::Continue(Opening::ClientHead {
                    head,
                    key,
                    request,
                    interim,
                });
            }
            Err(e) => return Step::Fail(e),
        };
        let (response, used) = match parse_response(&head.buf()[..end], config.max_headers) {
            Ok(Some(parsed)) => parsed,
            Ok(None) => return Step::Fail(HandshakeError::Malformed),
            Err(e) => return Step::Fail(e),
        };
        let mut rest = core::mem::take(&mut head).into_buf();
        rest.drain(..used);
        if !(100..200).contains(&response.status) || response.status == 101 {
            break (response, rest);
        }
        // An interim response (100 Continue, 103 Early Hints): RFC 9110 §15.2 has
        // clients read past them to the final one. More than a few is not a server
        // talking HTTP in good faith.
        interim += 1;
        if interim > MAX_INTERIM_RESPONSES {
            return Step::Fail(HandshakeError::Malformed);
        }
        input = rest;
    };
    if response.status != 101 {
        // §4.1: anything but 101 fails the handshake; keep the body for the error.
        let mut body = BodyReader::new(&response.headers, response.status, max);
        return if body.push(&rest) {
            Step::Fail(HandshakeError::Rejected(Box::new(body.finish(response))))
        } else {
            Step::Continue(Opening::ClientBody {
                head: response,
                body,
            })
        };
    }
    match request.check_response(&key, &response.headers) {
        Ok((protocol, extensions)) => Step::Open {
            negotiated: Negotiated {
                protocol,
                // `check_response` made sure an answered permessage-deflate is valid
                // and fits an offer; this gives the parameters in force.
                #[cfg(feature = "deflate")]
                deflate: crate::deflate::in_force(&extensions, request.extensions()),
                extensions,
            },
            headers: response.headers,
            rest,
        },
        Err(e) => Step::Fail(e),
    }
}
