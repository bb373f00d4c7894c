//! An oracle: what RFC 6455 requires of an endpoint that receives a given byte
//! stream, as a list of events (messages, pings, pongs, the close and its code) and
//! the frames the endpoint sends in answer. Implementations in any language can diff
//! against it; the `oracle` example prints it as JSON lines.
//!
//! The oracle is a [`Connection`] with no size limits (RFC 6455 sets none; 1009 is a
//! policy) and automatic pongs, fed the whole stream and then the end of the stream.
//!
//! ```
//! use wsmachine::oracle::{self, OracleEvent};
//! use wsmachine::Role;
//! // A client receives "Hello" and then a frame with reserved opcode 0x3.
//! let verdict = oracle::run(Role::Client, &[0x81, 0x05, b'H', b'e', b'l', b'l', b'o', 0x83, 0x00]);
//! assert_eq!(verdict.events[0].to_json(), r#"{"event":"message","kind":"text","data":"Hello"}"#);
//! assert_eq!(verdict.close_code(), Some(1002));
//! ```

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt::Write as _;

use bytes::Bytes;

use crate::entropy::SeededEntropy;
use crate::frame::{Frame, FrameDecoder, OpCode};
use crate::handshake::server::Accept;
use crate::{
    Config, Connection, ConnectionError, Event, HandshakeError, Message, Negotiated, Role,
    Timestamp,
};

/// What the receiving endpoint reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OracleEvent {
    /// (Handshake mode, server) The upgrade request was valid; it is accepted.
    Request {
        /// Its path.
        path: String,
    },
    /// (Handshake mode) The connection opened.
    Open {
        /// The selected subprotocol.
        protocol: Option<String>,
    },
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Bytes),
    /// A ping (answered with a pong carrying the same payload).
    Ping(Bytes),
    /// A pong.
    Pong(Bytes),
    /// The end: the close code (the peer's on a clean close, 1005 if it gave none; the
    /// one sent on a violation; 1006 when the stream ended without a close), whether
    /// both close frames were exchanged, and the violation, if any.
    Close {
        /// The close code.
        code: u16,
        /// The reason from the peer's close frame.
        reason: String,
        /// Both close frames were exchanged.
        clean: bool,
        /// What went wrong, in words, if anything.
        error: Option<String>,
        /// (Handshake mode) The HTTP status answered to a bad request.
        status: Option<u16>,
    },
}

impl OracleEvent {
    /// The event as one JSON object: `{"event":"message","kind":"text","data":...}`,
    /// binary payloads as lowercase hex in `"hex"`.
    pub fn to_json(&self) -> String {
        match self {
            OracleEvent::Request { path } => {
                format!(r#"{{"event":"request","path":{}}}"#, json_string(path))
            }
            OracleEvent::Open { protocol } => format!(
                r#"{{"event":"open","protocol":{}}}"#,
                protocol
                    .as_deref()
                    .map_or(String::from("null"), json_string)
            ),
            OracleEvent::Text(text) => {
                format!(
                    r#"{{"event":"message","kind":"text","data":{}}}"#,
                    json_string(text)
                )
            }
            OracleEvent::Binary(data) => {
                format!(
                    r#"{{"event":"message","kind":"binary","hex":"{}"}}"#,
                    hex(data)
                )
            }
            OracleEvent::Ping(data) => format!(r#"{{"event":"ping","hex":"{}"}}"#, hex(data)),
            OracleEvent::Pong(data) => format!(r#"{{"event":"pong","hex":"{}"}}"#, hex(data)),
            OracleEvent::Close {
                code,
                reason,
                clean,
                error,
                status,
            } => {
                let mut out = format!(
                    r#"{{"event":"close","code":{code},"reason":{},"clean":{clean}"#,
                    json_string(reason)
                );
                if let Some(e) = error {
                    let _ = write!(out, r#","error":{}"#, json_string(e));
                }
                if let Some(s) = status {
                    let _ = write!(out, r#","status":{s}"#);
                }
                out.push('}');
                out
            }
        }
    }
}

/// What the oracle found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// The events, in order; the last is [`OracleEvent::Close`]. (Empty only if the
    /// fixed client request of handshake mode could not be built, which a valid
    /// request and a seeded entropy source rule out.)
    pub events: Vec<OracleEvent>,
    /// The bytes the endpoint sends in answer (handshake response, pongs, close).
    /// A client masks with keys from `SeededEntropy::new(0)`.
    pub output: Vec<u8>,
    /// The frames in `output`, unmasked (what any implementation should send,
    /// whatever its masking keys).
    pub frames: Vec<Frame>,
}

impl Verdict {
    /// The close code of the final event.
    pub fn close_code(&self) -> Option<u16> {
        self.events.iter().rev().find_map(|e| match e {
            OracleEvent::Close { code, .. } => Some(*code),
            _ => None,
        })
    }

    /// The answered frames as JSON: `[{"opcode":"pong","fin":true,"hex":"..."}]`.
    pub fn frames_json(&self) -> String {
        let items: Vec<String> = self
            .frames
            .iter()
            .map(|f| {
                format!(
                    r#"{{"opcode":"{}","fin":{},"hex":"{}"}}"#,
                    opcode_name(f.header.opcode),
                    f.header.fin,
                    hex(&f.payload)
                )
            })
            .collect();
        format!("[{}]", items.join(","))
    }
}

/// How to run the oracle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// The role of the endpoint that receives the stream.
    pub role: Role,
    /// Start at the opening handshake instead of OPEN. A server then expects an
    /// upgrade request first and accepts any valid one with no subprotocol; a client
    /// sends the request of [`client_request`] and expects the response first.
    pub handshake: bool,
}

/// The oracle's configuration: no size limits, automatic pongs, no timers.
pub fn config() -> Config {
    Config {
        max_frame_size: None,
        // As large as one buffer can be.
        max_message_size: isize::MAX as u64,
        max_fragments: u32::MAX,
        max_buffered_output: usize::MAX,
        handshake_timeout: None,
        write_timeout: None,
        close_timeout: None,
        ..Config::default()
    }
}

/// The request a client oracle sends in handshake mode: `GET / HTTP/1.1` to
/// `example.com`, with the key that `SeededEntropy::new(0)` yields.
pub fn client_request() -> crate::ClientRequest {
    crate::ClientRequest::new("example.com", "/")
}

/// The oracle in OPEN state for `role`, fed `input` and then the end of the stream.
pub fn run(role: Role, input: &[u8]) -> Verdict {
    run_with(
        Options {
            role,
            handshake: false,
        },
        input,
    )
}

/// The oracle with options.
pub fn run_with(options: Options, input: &[u8]) -> Verdict {
    run_negotiated(options, config(), Negotiated::none(), input)
}

/// The oracle in OPEN state for `role` with permessage-deflate (RFC 7692) in force
/// with `params`, fed `input` and then the end of the stream. RFC 7692 sets no size
/// limit either, so `max_message_size` is the receiver's policy (the inflated size
/// past which it closes with 1009); `None` for none.
#[cfg(feature = "deflate")]
pub fn run_deflate(
    role: Role,
    params: crate::deflate::DeflateParams,
    max_message_size: Option<u64>,
    input: &[u8],
) -> Verdict {
    let mut config = config();
    if let Some(max) = max_message_size {
        config.max_message_size = max;
    }
    let mut negotiated = Negotiated::none();
    negotiated.deflate = Some(params);
    let options = Options {
        role,
        handshake: false,
    };
    run_negotiated(options, config, negotiated, input)
}

fn run_negotiated(
    options: Options,
    config: Config,
    negotiated: Negotiated,
    input: &[u8],
) -> Verdict {
    let t = Timestamp::ZERO;
    let made = match (options.role, options.handshake) {
        (Role::Server, false) => Connection::upgraded_server(config, negotiated, &[], t)
            .map_err(HandshakeError::InvalidConfig),
        (Role::Client, false) => {
            Connection::upgraded_client(config, negotiated, SeededEntropy::new(0), &[], t)
                .map_err(HandshakeError::InvalidConfig)
        }
        (Role::Server, true) => {
            Connection::server(config, t).map_err(HandshakeError::InvalidConfig)
        }
        (Role::Client, true) => {
            Connection::client(config, client_request(), SeededEntropy::new(0), t)
        }
    };
    // The configuration and the fixed request are valid, and a seeded generator
    // cannot fail.
    let Ok(mut conn) = made else {
        return Verdict {
            events: Vec::new(),
            output: Vec::new(),
            frames: Vec::new(),
        };
    };
    let mut request_bytes = Vec::new();
    if options.role == Role::Client && options.handshake {
        // The request is ours, not an answer: keep it out of the output.
        conn.transmit_into(&mut request_bytes);
    }
    let mut events = Vec::new();
    // A fresh connection takes all of it (the rest of what it cannot parse yet
    // waits for the events to be polled).
    let taken = conn.handle_data(t, input);
    debug_assert_eq!(taken, input.len());
    drain(&mut conn, &mut events);
    conn.handle_eof(t);
    drain(&mut conn, &mut events);
    let mut output = Vec::new();
    conn.transmit_into(&mut output);
    let frames = answered_frames(&output, options);
    Verdict {
        events,
        output,
        frames,
    }
}

fn drain(conn: &mut Connection, events: &mut Vec<OracleEvent>) {
    while let Some(event) = conn.poll_event() {
        match event {
            Event::Request(request) => {
                events.push(OracleEvent::Request {
                    path: request.path().to_string(),
                });
                // Valid requests are accepted as they are.
                let _ = conn.accept(Timestamp::ZERO, Accept::new());
            }
            Event::Open(open) => events.push(OracleEvent::Open {
                protocol: open.protocol,
            }),
            Event::Message(Message::Text(text)) => {
                events.push(OracleEvent::Text(text.as_str().to_string()));
            }
            Event::Message(Message::Binary(data)) => {
                events.push(OracleEvent::Binary(data.into_bytes()))
            }
            Event::Ping(data) => events.push(OracleEvent::Ping(data)),
            Event::Pong(data) => events.push(OracleEvent::Pong(data)),
            Event::Closed(closed) => {
                let status = match &closed.error {
                    Some(ConnectionError::Handshake(e)) => e.status(),
                    _ => None,
                };
                events.push(OracleEvent::Close {
                    code: closed.code.0,
                    reason: closed.reason,
                    clean: closed.clean,
                    error: closed.error.map(|e| e.to_string()),
                    status,
                });
            }
            _ => {}
        }
    }
}

/// The frames in the output, skipping a server's HTTP response head.
fn answered_frames(output: &[u8], options: Options) -> Vec<Frame> {
    let mut bytes = output;
    if options.handshake && options.role == Role::Server {
        match output.windows(4).position(|w| w == b"\r\n\r\n") {
            Some(end) if output.starts_with(b"HTTP/1.1 101") => bytes = &output[end + 4..],
            _ => return Vec::new(),
        }
    }
    let mut decoder = FrameDecoder::new(u64::MAX);
    let mut frames = Vec::new();
    while let Ok(Some(frame)) = decoder.decode(&mut bytes) {
        frames.push(frame);
    }
    frames
}

/// The name of an opcode in JSON output.
pub fn opcode_name(op: OpCode) -> &'static str {
    match op {
        OpCode::Continuation => "continuation",
        OpCode::Text => "text",
        OpCode::Binary => "binary",
        OpCode::Close => "close",
        OpCode::Ping => "ping",
        OpCode::Pong => "pong",
    }
}

/// Lowercase hex.
pub fn hex(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len() * 2);
    for b in data {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Decodes hex (white space ignored); `None` if malformed.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    digits
        .chunks(2)
        .map(|pair| {
            let s = core::str::from_utf8(pair).ok()?;
            u8::from_str_radix(s, 16).ok()
        })
        .collect()
}

/// A JSON string literal.
pub fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_escape_what_json_requires() {
        assert_eq!(json_string("a\"b\\c\n\u{1}é"), r#""a\"b\\c\n\u0001é""#);
        assert_eq!(hex(&[0, 0xab]), "00ab");
        assert_eq!(unhex("00 AB"), Some(alloc::vec![0, 0xab]));
        assert_eq!(unhex("0"), None);
    }

    #[test]
    fn rfc_examples() {
        // §5.7 masked "Hello" to a server, then a ping, then a clean close.
        let mut input = alloc::vec![
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58
        ];
        input.extend([0x89, 0x80, 1, 2, 3, 4]);
        input.extend([0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8]);
        let v = run(Role::Server, &input);
        let json: Vec<String> = v.events.iter().map(OracleEvent::to_json).collect();
        assert_eq!(
            json,
            [
                r#"{"event":"message","kind":"text","data":"Hello"}"#,
                r#"{"event":"ping","hex":""}"#,
                r#"{"event":"close","code":1000,"reason":"","clean":true}"#,
            ]
        );
        assert_eq!(
            v.frames_json(),
            r#"[{"opcode":"pong","fin":true,"hex":""},{"opcode":"close","fin":true,"hex":"03e8"}]"#
        );
        // A stream that just stops: 1006, nothing sent.
        let v = run(Role::Server, &input[..11]);
        assert_eq!(v.close_code(), Some(1006));
        assert!(v.frames.is_empty());
    }
}
