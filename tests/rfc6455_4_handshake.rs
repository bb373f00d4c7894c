//! RFC 6455 §4: the opening handshake, both roles, through `Connection`.
//! Server inputs are fed whole, at every split point and byte by byte.

mod common;
use common::*;
use wsmachine::frame::OpCode;
use wsmachine::handshake::{Extension, accept_key};
use wsmachine::{
    Accept, ClientRequest, CloseCode, Config, Connection, ConnectionError, Event, HandshakeError,
    Message, OriginPolicy, Reject, SeededEntropy, SendError, State, TransportAction,
};

/// Splits an HTTP response into (status line, header lines, body).
fn http_parts(output: &[u8]) -> (String, Vec<String>, String) {
    let text = String::from_utf8(output.to_vec()).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").expect("a complete head");
    let mut lines = head.split("\r\n").map(String::from);
    let status = lines.next().unwrap();
    (status, lines.collect(), body.to_string())
}

fn has_header(lines: &[String], header: &str) -> bool {
    lines.iter().any(|l| l.eq_ignore_ascii_case(header))
}

/// Feeds `request` to a server at every split; expects it answered with `status`
/// and the connection closed with that handshake error.
fn rejected(request: &[u8], status: u16, error: HandshakeError) -> Vec<String> {
    rejected_by(&fresh_server, request, status, error)
}

fn rejected_by(
    make: &dyn Fn() -> Connection,
    request: &[u8],
    status: u16,
    error: HandshakeError,
) -> Vec<String> {
    let o = feed_at_every_split(make, request);
    assert_eq!(o.state, State::Closed);
    assert_eq!(o.transport, TransportAction::Close);
    let c = closed(&o);
    assert_eq!(c.code, CloseCode::ABNORMAL);
    assert_eq!(c.error, Some(ConnectionError::Handshake(error.clone())));
    assert_eq!(error.status(), Some(status));
    let (line, headers, body) = http_parts(&o.output);
    assert!(line.starts_with(&format!("HTTP/1.1 {status} ")), "{line}");
    assert!(has_header(&headers, "Connection: close") || status == 426);
    assert!(has_header(
        &headers,
        &format!("Content-Length: {}", body.len())
    ));
    headers
}

#[test]
fn s1_3_key_and_accept() {
    assert_eq!(
        accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
}

/// §4.2.2: the 101 response to the RFC's own request, and the request reported.
#[test]
fn s4_2_2_accepting_the_rfc_request() {
    let o = feed_at_every_split(
        &fresh_server,
        &upgrade_request(
            "Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n",
        ),
    );
    assert_eq!(o.state, State::Connecting);
    let [Event::Request(request)] = &o.events[..] else {
        panic!("{:?}", o.events)
    };
    assert_eq!(request.path(), "/chat");
    assert_eq!(request.host(), Some("server.example.com"));
    assert_eq!(request.origin(), Some("http://example.com"));
    assert_eq!(request.protocols(), ["chat", "superchat"]);
    assert!(
        o.output.is_empty(),
        "nothing is sent before the application answers"
    );

    let mut s = fresh_server();
    feed(
        &mut s,
        T0,
        &upgrade_request("Sec-WebSocket-Protocol: chat, superchat\r\n"),
    );
    drain_events(&mut s);
    s.accept(
        T0,
        Accept::new().protocol("chat").header("Set-Cookie", "id=1"),
    )
    .unwrap();
    assert_eq!(s.state(), State::Open);
    assert_eq!(s.protocol(), Some("chat"));
    let events = drain_events(&mut s);
    assert!(matches!(&events[..], [Event::Open(open)] if open.protocol.as_deref() == Some("chat")));
    let mut out = Vec::new();
    s.transmit_into(&mut out);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\
         Set-Cookie: id=1\r\n\r\n"
    );
}

/// Tokens are case-insensitive and may sit in comma lists (§4.2.1 items 3–4).
#[test]
fn s4_2_1_tokens_ignore_case_and_lists() {
    let request = b"GET / HTTP/1.1\r\nhost: h\r\nUPGRADE: WebSocket\r\n\
        connection: keep-alive, Upgrade\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        SEC-WEBSOCKET-VERSION: 13\r\n\r\n";
    let o = feed_at_every_split(&fresh_server, request);
    assert!(matches!(&o.events[..], [Event::Request(_)]));
    // Header fields split over several lines combine into one list.
    let request = upgrade_request("Sec-WebSocket-Protocol: a\r\nSec-WebSocket-Protocol: b, c\r\n");
    let o = feed_chunks(&fresh_server, &[&request]);
    let [Event::Request(r)] = &o.events[..] else {
        panic!()
    };
    assert_eq!(r.protocols(), ["a", "b", "c"]);
}

#[test]
fn s4_2_1_malformed_requests_get_400() {
    for garbage in [
        &b"\xff\xfe\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHost: h\r\nBad Header\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: h\x01\r\n\r\n",
        b"GET /\xe2\x82\xac HTTP/9.9\r\n\r\n",
        b"\r\n\r\n",
    ] {
        rejected(garbage, 400, HandshakeError::Malformed);
    }
}

#[test]
fn s4_2_1_method_and_version() {
    let post = String::from_utf8(upgrade_request(""))
        .unwrap()
        .replacen("GET", "POST", 1);
    let headers = rejected(post.as_bytes(), 405, HandshakeError::MethodNotAllowed);
    assert!(has_header(&headers, "Allow: GET"));
    let old = String::from_utf8(upgrade_request(""))
        .unwrap()
        .replace("HTTP/1.1", "HTTP/1.0");
    rejected(old.as_bytes(), 400, HandshakeError::HttpVersion);
}

#[test]
fn s4_2_1_host_must_appear_once() {
    let request = String::from_utf8(upgrade_request("")).unwrap();
    let no_host = request.replace("Host: server.example.com\r\n", "");
    rejected(no_host.as_bytes(), 400, HandshakeError::Host);
    rejected(
        &upgrade_request("Host: other\r\n"),
        400,
        HandshakeError::Host,
    );
}

#[test]
fn s4_2_1_upgrade_and_connection() {
    let request = String::from_utf8(upgrade_request("")).unwrap();
    // A plain GET to a WebSocket endpoint: 426, telling the client to upgrade.
    let plain = request.replace("Upgrade: websocket\r\n", "");
    let headers = rejected(plain.as_bytes(), 426, HandshakeError::NotAnUpgrade);
    assert!(has_header(&headers, "Upgrade: websocket"));
    assert!(has_header(&headers, "Sec-WebSocket-Version: 13"));
    let h2c = request.replace("Upgrade: websocket", "Upgrade: h2c");
    rejected(h2c.as_bytes(), 400, HandshakeError::Upgrade);
    let no_conn = request.replace("Connection: Upgrade", "Connection: keep-alive");
    rejected(no_conn.as_bytes(), 400, HandshakeError::Connection);
}

#[test]
fn s4_2_1_key_must_be_16_bytes_of_base64() {
    let request = String::from_utf8(upgrade_request("")).unwrap();
    for bad in [
        "",
        "Sec-WebSocket-Key: short==\r\n",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZXMhIQ==\r\n",
        "Sec-WebSocket-Key: !!!!IHNhbXBsZSBub25jZQ==\r\n",
    ] {
        let r = request.replace("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", bad);
        rejected(r.as_bytes(), 400, HandshakeError::Key);
    }
    let twice = upgrade_request("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n");
    rejected(&twice, 400, HandshakeError::Key);
}

/// §4.2.2 /version/: "send an appropriate HTTP error code (such as 426 Upgrade
/// Required) and a |Sec-WebSocket-Version| header field indicating the version(s)".
#[test]
fn s4_2_2_wrong_version_gets_426_with_13() {
    let request = String::from_utf8(upgrade_request("")).unwrap();
    for version in [
        "Sec-WebSocket-Version: 8\r\n",
        "",
        "Sec-WebSocket-Version: 13, 8\r\n",
    ] {
        let r = request.replace("Sec-WebSocket-Version: 13\r\n", version);
        let headers = rejected(r.as_bytes(), 426, HandshakeError::Version);
        assert!(has_header(&headers, "Sec-WebSocket-Version: 13"));
    }
}

#[test]
fn s4_2_1_list_syntax_and_bodies() {
    rejected(
        &upgrade_request("Sec-WebSocket-Protocol: a b\r\n"),
        400,
        HandshakeError::HeaderSyntax,
    );
    rejected(
        &upgrade_request("Sec-WebSocket-Extensions: ;bad\r\n"),
        400,
        HandshakeError::HeaderSyntax,
    );
    rejected(
        &upgrade_request("Content-Length: 5\r\n"),
        400,
        HandshakeError::UnexpectedBody,
    );
    rejected(
        &upgrade_request("Transfer-Encoding: chunked\r\n"),
        400,
        HandshakeError::UnexpectedBody,
    );
}

/// §4.2.2 /origin/ and §10.2: an origin policy answers 403 before the application.
#[test]
fn s10_2_origin_policy() {
    let make = || {
        let mut config = Config::default();
        config.origin_policy = OriginPolicy::allow_list(["https://good.example"]);
        Connection::server(config, T0).unwrap()
    };
    rejected_by(
        &make,
        &upgrade_request("Origin: https://evil.example\r\n"),
        403,
        HandshakeError::Origin,
    );
    let ok = feed_chunks(
        &make,
        &[&upgrade_request("Origin: HTTPS://GOOD.example\r\n")],
    );
    assert!(matches!(&ok.events[..], [Event::Request(_)]));
    // Without `Origin` (not a browser): refused unless the policy says otherwise.
    rejected_by(&make, &upgrade_request(""), 403, HandshakeError::Origin);
    let lenient = || {
        let mut config = Config::default();
        config.origin_policy =
            OriginPolicy::allow_list(["https://good.example"]).allowing_missing();
        Connection::server(config, T0).unwrap()
    };
    let no_origin = feed_chunks(&lenient, &[&upgrade_request("")]);
    assert!(matches!(&no_origin.events[..], [Event::Request(_)]));
    // An `Origin` that is not UTF-8, or two of them, is never taken as missing.
    let mut not_utf8 = upgrade_request("");
    let end = not_utf8.len() - 2;
    not_utf8.splice(
        end..end,
        b"Origin: https://good.example\xff\r\n".iter().copied(),
    );
    for make in [&make as &dyn Fn() -> Connection, &lenient] {
        rejected_by(make, &not_utf8, 403, HandshakeError::Origin);
        rejected_by(
            make,
            &upgrade_request("Origin: https://good.example\r\nOrigin: https://evil.example\r\n"),
            403,
            HandshakeError::Origin,
        );
    }
}

/// Heads over `max_handshake_size` or `max_headers`: 431, without buffering an
/// endless head.
#[test]
fn head_limits_get_431() {
    let make = || {
        let mut config = Config::default();
        config.max_handshake_size = 300;
        config.max_headers = 8;
        Connection::server(config, T0).unwrap()
    };
    let big = upgrade_request(&format!("Cookie: {}\r\n", "x".repeat(200)));
    rejected_by(&make, &big, 431, HandshakeError::HeadTooLarge);
    let many: String = (0..5).map(|i| format!("X-{i}: {i}\r\n")).collect();
    rejected_by(
        &make,
        &upgrade_request(&many),
        431,
        HandshakeError::TooManyHeaders,
    );
    // A head that never ends is refused once it passes the limit.
    let mut s = make();
    feed(&mut s, T0, b"GET / HTTP/1.1\r\n");
    for _ in 0..100 {
        feed(&mut s, T0, b"X: y\r\n");
    }
    assert_eq!(s.state(), State::Closed);
}

/// §4.2.2 steps 2–3: the application may answer with any status, headers and body.
#[test]
fn s4_2_2_application_rejects_with_status_headers_body() {
    let mut s = fresh_server();
    feed(&mut s, T0, &upgrade_request(""));
    drain_events(&mut s);
    // An invalid answer changes nothing.
    assert!(matches!(
        s.accept(T0, Accept::new().protocol("unoffered")),
        Err(SendError::Handshake(HandshakeError::UnofferedProtocol(_)))
    ));
    assert!(matches!(
        s.accept(T0, Accept::new().header("Sec-WebSocket-Accept", "forged")),
        Err(SendError::Handshake(HandshakeError::InvalidHeader(_)))
    ));
    assert!(s.reject(T0, Reject::new(101)).is_err());
    assert!(
        s.reject(T0, Reject::new(401).header("X", "a\r\nb"))
            .is_err()
    );
    assert_eq!(s.state(), State::Connecting);
    assert_eq!(s.buffered_amount(), 0);

    s.reject(
        T0,
        Reject::new(401)
            .header("WWW-Authenticate", "Bearer")
            .body("who are you?"),
    )
    .unwrap();
    let mut out = Vec::new();
    s.transmit_into(&mut out);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\nConnection: close\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Length: 12\r\n\r\nwho are you?"
    );
    assert_eq!(s.state(), State::Closed);
    let events = drain_events(&mut s);
    assert!(matches!(&events[..], [Event::Closed(c)]
        if c.error == Some(ConnectionError::Handshake(HandshakeError::RejectedByApplication(401)))));
    assert!(
        s.accept(T0, Accept::new()).is_err(),
        "nothing left to answer"
    );
}

/// Nothing can be sent while CONNECTING.
#[test]
fn s4_sending_before_open_is_refused() {
    let mut s = fresh_server();
    assert_eq!(
        s.send_text("x"),
        Err(SendError::InvalidState(State::Connecting))
    );
    let mut c = fresh_client();
    assert_eq!(
        c.ping(T0, ""),
        Err(SendError::InvalidState(State::Connecting))
    );
}

/// Closing before OPEN: there is no closing handshake to start. A server answers the
/// pending request with 503, a client just ends; both report `Aborted` (1006) once
/// and tell the caller to close the transport. Bad close arguments are still refused.
#[test]
fn s4_closing_before_open_ends_the_handshake() {
    let mut s = fresh_server();
    feed(&mut s, T0, &upgrade_request(""));
    assert!(matches!(s.poll_event(), Some(Event::Request(_))));
    assert_eq!(
        s.close(T0, CloseCode(999), ""),
        Err(SendError::InvalidCloseCode(CloseCode(999)))
    );
    s.close(T0, CloseCode::GOING_AWAY, "").unwrap();
    let mut out = Vec::new();
    s.transmit_into(&mut out);
    assert!(
        out.starts_with(b"HTTP/1.1 503 "),
        "{:?}",
        String::from_utf8_lossy(&out)
    );
    let events = drain_events(&mut s);
    let [Event::Closed(c)] = &events[..] else {
        panic!("{events:?}")
    };
    assert_eq!((c.code, c.clean), (CloseCode::ABNORMAL, false));
    assert_eq!(c.error, Some(ConnectionError::Aborted));
    assert_eq!(s.transport(), TransportAction::Close);
    assert_eq!(s.closed(), Some(&**c));

    let mut c = fresh_client();
    c.close(T0, CloseCode::NORMAL, "").unwrap();
    assert_eq!(c.state(), State::Closed);
    assert!(
        matches!(&drain_events(&mut c)[..], [Event::Closed(closed)] if closed.error == Some(ConnectionError::Aborted))
    );
    assert_eq!(c.transport(), TransportAction::Close);
    assert_eq!(
        c.close(T0, CloseCode::NORMAL, ""),
        Err(SendError::InvalidState(State::Closed))
    );
}

/// The whole handshake between our own client and server, the pipe moving every
/// chunk size from one byte up, then a message each way.
#[test]
fn s4_client_against_server_at_every_chunk_size() {
    let request = ClientRequest::from_url("ws://localhost:9001/echo?x=1")
        .unwrap()
        .origin("http://localhost")
        .protocol("v2.chat")
        .protocol("chat")
        .header("Cookie", "session=abc");
    let wire_len = {
        let c = Connection::client(
            Config::default(),
            request.clone(),
            SeededEntropy::new(3),
            T0,
        )
        .unwrap();
        c.buffered_amount()
    };
    for chunk in 1..=wire_len + 1 {
        let client = Connection::client(
            Config::default(),
            request.clone(),
            SeededEntropy::new(3),
            T0,
        )
        .unwrap();
        let mut pair = Pair::of(client, fresh_server());
        pair.chunk = chunk;
        pair.drive();
        let Some(Event::Request(r)) = pair.server_events.pop() else {
            panic!()
        };
        assert_eq!((r.path(), r.query()), ("/echo", Some("x=1")));
        assert_eq!(r.header("cookie"), Some("session=abc"));
        assert_eq!(r.host(), Some("localhost:9001"));
        pair.server
            .accept(T0, Accept::new().protocol("chat"))
            .unwrap();
        pair.client.send_text("after open").unwrap_err(); // still CONNECTING
        pair.drive();
        let Event::Open(open) = &pair.client_events[0] else {
            panic!()
        };
        assert_eq!(open.protocol.as_deref(), Some("chat"));
        assert_eq!(pair.client.protocol(), Some("chat"));
        pair.client.send_text("hi").unwrap();
        pair.server.send_binary(vec![1, 2]).unwrap();
        pair.drive();
        assert_eq!(pair.server_events[1], Event::Message(Message::from("hi")));
        assert_eq!(
            pair.client_events[1],
            Event::Message(Message::from(vec![1u8, 2]))
        );
    }
}

/// Bytes after the head in the same read are frame data, in both roles.
#[test]
fn s4_leftover_bytes_after_the_head_are_kept() {
    // Server: frames pipelined behind the request wait for the application's answer.
    let mut wire = upgrade_request("");
    wire.extend(c2s(OpCode::Text, true, b"early"));
    wire.extend(c2s(OpCode::Ping, true, b"p"));
    for split in 0..=wire.len() {
        let mut s = fresh_server();
        feed(&mut s, T0, &wire[..split]);
        feed(&mut s, T0, &wire[split..]);
        assert!(matches!(&drain_events(&mut s)[..], [Event::Request(_)]));
        s.accept(T0, Accept::new()).unwrap();
        let events = drain_events(&mut s);
        assert_eq!(
            events[1..],
            [
                Event::Message(Message::from("early")),
                Event::Ping("p".into())
            ]
        );
    }
    // Client: frames right behind the 101 response.
    let o = client_reads(&ClientRequest::new("h", "/"), |accept| {
        let mut response = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {accept}\r\n\r\n"
        )
        .into_bytes();
        response.extend(s2c(OpCode::Text, true, b"right behind"));
        response
    });
    assert_eq!(o.state, State::Open);
    assert!(matches!(o.events[0], Event::Open(_)));
    assert_eq!(o.events[1], Event::Message(Message::from("right behind")));
}

/// A response from a server, fed to a fresh client with the key it generated.
fn client_reads(request: &ClientRequest, response: impl Fn(&str) -> Vec<u8>) -> Outcome {
    let make = || {
        Connection::client(
            Config::default(),
            request.clone(),
            SeededEntropy::new(11),
            T0,
        )
        .unwrap()
    };
    let key = sent_key(&mut make());
    let bytes = response(&accept_key(&key));
    feed_at_every_split(&make, &bytes)
}

fn handshake_error(o: &Outcome) -> HandshakeError {
    match closed(o).error {
        Some(ConnectionError::Handshake(e)) => e,
        other => panic!("{other:?}"),
    }
}

/// §4.1: the client's checks on the response.
#[test]
fn s4_1_client_checks_the_response() {
    let req = ClientRequest::new("h", "/")
        .protocol("chat")
        .extension(Extension::new("x-ok"));
    let ok = |accept: &str, extra: &str| {
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {accept}\r\n{extra}\r\n"
        )
        .into_bytes()
    };
    let o = client_reads(&req, |a| {
        ok(
            a,
            "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Extensions: x-ok; p=1\r\n",
        )
    });
    let Event::Open(open) = &o.events[0] else {
        panic!()
    };
    assert_eq!(open.protocol.as_deref(), Some("chat"));
    assert_eq!(
        open.extensions,
        vec![Extension::new("x-ok").param("p", Some("1"))]
    );
    assert_eq!(o.state, State::Open);

    // No subprotocol selected is fine (§4.1 check 6 only forbids unoffered ones).
    assert_eq!(client_reads(&req, |a| ok(a, "")).state, State::Open);

    let o = client_reads(&req, |_| ok("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", ""));
    assert_eq!(handshake_error(&o), HandshakeError::Accept);
    assert_eq!(o.transport, TransportAction::Close);
    assert!(
        o.output.starts_with(b"GET / HTTP/1.1\r\n") && o.output.ends_with(b"\r\n\r\n"),
        "a client sends nothing after its request on failure"
    );

    let o = client_reads(&req, |a| ok(a, "Sec-WebSocket-Accept: again\r\n"));
    assert_eq!(handshake_error(&o), HandshakeError::Accept);
    let o = client_reads(&req, |a| ok(a, "Sec-WebSocket-Protocol: other\r\n"));
    assert_eq!(
        handshake_error(&o),
        HandshakeError::UnofferedProtocol("other".into())
    );
    let o = client_reads(&req, |a| {
        ok(a, "Sec-WebSocket-Extensions: permessage-deflate\r\n")
    });
    assert_eq!(
        handshake_error(&o),
        HandshakeError::UnofferedExtension("permessage-deflate".into())
    );
    let o = client_reads(&req, |a| {
        String::from_utf8(ok(a, ""))
            .unwrap()
            .replace("Upgrade: websocket\r\n", "")
            .into_bytes()
    });
    assert_eq!(handshake_error(&o), HandshakeError::Upgrade);
    let o = client_reads(&req, |a| {
        String::from_utf8(ok(a, ""))
            .unwrap()
            .replace("Connection: Upgrade", "Connection: close")
            .into_bytes()
    });
    assert_eq!(handshake_error(&o), HandshakeError::Connection);
}

/// §4.1: a status other than 101 fails, carrying the status, headers and body.
#[test]
fn s4_1_non_101_responses_are_reported_with_their_body() {
    let req = ClientRequest::new("h", "/");
    let o = client_reads(&req, |_| {
        b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 30\r\nContent-Length: 9\r\n\r\nslow down"
            .to_vec()
    });
    let HandshakeError::Rejected(r) = handshake_error(&o) else {
        panic!()
    };
    assert_eq!((r.status, r.reason.as_str()), (429, "Too Many Requests"));
    assert_eq!(r.headers.get_str("retry-after"), Some("30"));
    assert_eq!((&r.body[..], r.truncated), (&b"slow down"[..], false));

    let o = client_reads(&req, |_| {
        b"HTTP/1.1 302 Found\r\nLocation: wss://elsewhere/\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nmov\r\n2\r\ned\r\n0\r\n\r\n".to_vec()
    });
    let HandshakeError::Rejected(r) = handshake_error(&o) else {
        panic!()
    };
    assert_eq!(r.headers.get_str("location"), Some("wss://elsewhere/"));
    assert_eq!(&r.body[..], b"moved");

    // A body delimited by the end of the stream.
    let mut c =
        Connection::client(Config::default(), req.clone(), SeededEntropy::new(1), T0).unwrap();
    feed(&mut c, T0, b"HTTP/1.1 403 Forbidden\r\n\r\nno ");
    feed(&mut c, T0, b"entry");
    assert_eq!(c.state(), State::Connecting);
    c.handle_eof(T0);
    let events = drain_events(&mut c);
    let [Event::Closed(closed)] = &events[..] else {
        panic!("{events:?}")
    };
    let Some(ConnectionError::Handshake(HandshakeError::Rejected(r))) = &closed.error else {
        panic!()
    };
    assert_eq!(
        (
            r.status,
            r.reason.as_str(),
            &r.headers,
            &r.body[..],
            r.truncated
        ),
        (
            403,
            "Forbidden",
            &Default::default(),
            &b"no entry"[..],
            false
        )
    );
}

#[test]
fn s4_1_client_request_bytes() {
    let mut c = Connection::client(
        Config::default(),
        ClientRequest::from_url("wss://example.com/chat")
            .unwrap()
            .protocol("chat"),
        SeededEntropy::new(0),
        T0,
    )
    .unwrap();
    let mut out = Vec::new();
    c.transmit_into(&mut out);
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with("GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "));
    assert!(text.ends_with("Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat\r\n\r\n"));
    // A fresh nonce per connection.
    let key = |seed| {
        let mut c = Connection::client(
            Config::default(),
            ClientRequest::new("h", "/"),
            SeededEntropy::new(seed),
            T0,
        )
        .unwrap();
        let mut out = Vec::new();
        c.transmit_into(&mut out);
        String::from_utf8(out).unwrap()
    };
    assert_ne!(key(1), key(2));
}

/// After a failed handshake the connection stays closed and reads nothing more.
#[test]
fn s4_nothing_is_read_after_a_failed_handshake() {
    let mut wire = b"GET / HTTP/1.0\r\n\r\n".to_vec();
    wire.extend(upgrade_request(""));
    let o = feed_chunks(&fresh_server, &[&wire]);
    assert_eq!(o.events.len(), 1);
    assert_eq!(http_parts(&o.output).0, "HTTP/1.1 400 Bad Request");
}

/// EOF during the handshake closes with 1006.
#[test]
fn s4_eof_during_the_handshake() {
    let mut s = fresh_server();
    feed(&mut s, T0, b"GET / HTTP/1.1\r\n");
    s.handle_eof(T0);
    let events = drain_events(&mut s);
    assert!(matches!(&events[..], [Event::Closed(c)] if c.error == Some(ConnectionError::Eof)));
}

/// `handshaken` drives a full pair: the helper other tests use works.
#[test]
fn s4_handshaken_pair_exchanges_messages() {
    let (mut pair, request) = handshaken(
        ClientRequest::new("h", "/p").protocol("x"),
        Accept::new().protocol("x"),
    );
    assert_eq!(request.path(), "/p");
    pair.client.send_text("ping").unwrap();
    pair.drive();
    assert_eq!(
        pair.server_events,
        vec![Event::Message(Message::from("ping"))]
    );
}
