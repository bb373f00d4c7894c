//! Opening handshakes, valid and not, with what RFC 6455 §4 requires of the
//! endpoint that receives them.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use bytes::Bytes;
use proptest::collection::vec as pvec;
use proptest::prelude::*;

/// Randomizes the ASCII case of a header name (field names are case-insensitive).
fn any_case(name: &'static str) -> impl Strategy<Value = String> {
    pvec(any::<bool>(), name.len()).prop_map(move |upper| {
        name.chars()
            .zip(upper)
            .map(|(c, u)| {
                if u {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect()
    })
}

/// A valid client upgrade request (§4.1), with random header case, order, list
/// forms, extra fields and subprotocols. The key is the RFC's example key.
pub fn handshake_request() -> impl Strategy<Value = Vec<u8>> {
    (
        any_case("Upgrade"),
        prop_oneof![Just("websocket"), Just("WebSocket"), Just("websocket, foo")],
        any_case("Connection"),
        prop_oneof![
            Just("Upgrade"),
            Just("keep-alive, Upgrade"),
            Just("upgrade")
        ],
        pvec("[a-z][a-z0-9.]{0,8}", 0..3),
        pvec(("X-[A-Za-z]{1,8}", "[ -~&&[^ ]]{1,16}"), 0..4),
        "/[a-z0-9/]{0,12}(\\?[a-z=&0-9]{1,10})?",
        any::<Vec<usize>>(),
    )
        .prop_map(
            |(up, up_value, conn, conn_value, protocols, extra, path, order)| {
                let mut headers: Vec<String> = vec![
                    alloc::format!("Host: example.com"),
                    alloc::format!("{up}: {up_value}"),
                    alloc::format!("{conn}: {conn_value}"),
                    String::from("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="),
                    String::from("Sec-WebSocket-Version: 13"),
                ];
                if !protocols.is_empty() {
                    headers.push(alloc::format!(
                        "Sec-WebSocket-Protocol: {}",
                        protocols.join(", ")
                    ));
                }
                for (name, value) in extra {
                    headers.push(alloc::format!("{name}: {value}"));
                }
                // Shuffle by the random keys (header order does not matter).
                let mut keyed: Vec<(usize, String)> = headers
                    .into_iter()
                    .enumerate()
                    .map(|(i, h)| (order.get(i).copied().unwrap_or(i), h))
                    .collect();
                keyed.sort_by_key(|(k, _)| *k);
                let mut out = alloc::format!("GET {path} HTTP/1.1\r\n");
                for (_, h) in keyed {
                    out.push_str(&h);
                    out.push_str("\r\n");
                }
                out.push_str("\r\n");
                out.into_bytes()
            },
        )
}

/// An invalid upgrade request and the HTTP status a server must answer: 400 for a
/// malformed upgrade (§4.2.1), 405 for a method other than GET, 426 with
/// `Sec-WebSocket-Version: 13` for a wrong version (§4.2.2).
pub fn invalid_handshake_request() -> impl Strategy<Value = (Vec<u8>, u16)> {
    let base = "GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
                Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
                Sec-WebSocket-Version: 13\r\n\r\n";
    let cases: Vec<(String, u16)> = vec![
        (base.replacen("GET", "POST", 1), 405),
        (base.replace("HTTP/1.1", "HTTP/1.0"), 400),
        (base.replace("Host: example.com\r\n", ""), 400),
        (base.replace("Upgrade: websocket", "Upgrade: h2c"), 400),
        (
            base.replace("Connection: Upgrade", "Connection: close"),
            400,
        ),
        (base.replace("dGhlIHNhbXBsZSBub25jZQ==", "c2hvcnQ="), 400),
        (
            base.replace("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", ""),
            400,
        ),
        (base.replace("Version: 13", "Version: 8"), 426),
        (base.replace("Sec-WebSocket-Version: 13\r\n", ""), 426),
        (String::from("\u{1}\u{2}garbage\r\n\r\n"), 400),
    ];
    proptest::sample::select(cases).prop_map(|(r, s)| (r.into_bytes(), s))
}

/// A valid 101 response for `key` with random header case and list forms.
pub fn handshake_response(key: String) -> impl Strategy<Value = Vec<u8>> {
    (
        any_case("Upgrade"),
        any_case("Connection"),
        prop_oneof![Just("Upgrade"), Just("upgrade, keep-alive")],
        any_case("Sec-WebSocket-Accept"),
    )
        .prop_map(move |(up, conn, conn_value, accept)| {
            alloc::format!(
                "HTTP/1.1 101 Switching Protocols\r\n{up}: websocket\r\n{conn}: {conn_value}\r\n\
                 {accept}: {}\r\n\r\n",
                crate::handshake::accept_key(&key)
            )
            .into_bytes()
        })
}

/// An invalid answer to a request with `key` that offered the subprotocol `chat`,
/// with the error a client must fail with (§4.1): a wrong or repeated
/// `Sec-WebSocket-Accept`, a missing `Upgrade` or `Connection` token, a subprotocol or
/// extension that was not offered, or a final status other than 101 (carrying it).
pub fn invalid_handshake_response(
    key: String,
) -> impl Strategy<Value = (Vec<u8>, crate::HandshakeError)> {
    use crate::HandshakeError as E;
    let accept = crate::handshake::accept_key(&key);
    let ok = |extra: &str, accept: &str| {
        alloc::format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {accept}\r\n{extra}\r\n"
        )
    };
    let cases: Vec<(String, E)> = vec![
        (ok("", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), E::Accept),
        (
            ok(
                &alloc::format!("Sec-WebSocket-Accept: {accept}\r\n"),
                &accept,
            ),
            E::Accept,
        ),
        (
            ok("", &accept).replace("Upgrade: websocket\r\n", ""),
            E::Upgrade,
        ),
        (
            ok("", &accept).replace("Connection: Upgrade", "Connection: keep-alive"),
            E::Connection,
        ),
        (
            ok("Sec-WebSocket-Protocol: other\r\n", &accept),
            E::UnofferedProtocol(String::from("other")),
        ),
        (
            ok("Sec-WebSocket-Extensions: permessage-deflate\r\n", &accept),
            E::UnofferedExtension(String::from("permessage-deflate")),
        ),
    ];
    let statuses = proptest::sample::select(vec![200u16, 301, 400, 401, 403, 404, 429, 500, 503]);
    prop_oneof![
        proptest::sample::select(cases).prop_map(|(r, e)| (r.into_bytes(), e)),
        statuses.prop_map(|status| {
            let response = alloc::format!("HTTP/1.1 {status} No\r\nContent-Length: 2\r\n\r\nno");
            let rejected = crate::handshake::HttpResponse {
                status,
                reason: String::from("No"),
                headers: [("Content-Length", &b"2"[..])].into_iter().collect(),
                body: Bytes::from_static(b"no"),
                truncated: false,
            };
            (
                response.into_bytes(),
                E::Rejected(alloc::boxed::Box::new(rejected)),
            )
        }),
    ]
}
