//! Handing the handshake to an HTTP library: `http` crate round trips (feature
//! `http`) and RFC 8441 extended CONNECT, each followed by an upgraded Connection.

mod common;
use common::*;
use wsmachine::handshake::{Headers, h2};
use wsmachine::{
    Accept, ClientRequest, Config, Connection, Event, HandshakeError, Message, Negotiated,
    SeededEntropy,
};

/// Runs upgraded connections over a pipe and checks a message each way.
fn exchange(server_leftover: &[u8], protocol: Option<&str>) {
    let negotiated = protocol.map_or(Negotiated::none(), Negotiated::with_protocol);
    let server =
        Connection::upgraded_server(Config::default(), negotiated.clone(), server_leftover, T0)
            .unwrap();
    let client = Connection::upgraded_client(
        Config::default(),
        negotiated,
        SeededEntropy::new(4),
        &[],
        T0,
    )
    .unwrap();
    let mut pair = Pair::of(client, server);
    pair.server_events = drain_events(&mut pair.server);
    pair.client.send_text("up").unwrap();
    pair.server.send_text("down").unwrap();
    pair.drive();
    assert_eq!(pair.server.protocol(), protocol);
    assert!(
        pair.server_events
            .contains(&Event::Message(Message::from("up")))
    );
    assert_eq!(
        pair.client_events,
        vec![Event::Message(Message::from("down"))]
    );
}

/// RFC 8441 §5: CONNECT with `:protocol = websocket`, answered 200.
#[test]
fn rfc8441_extended_connect_round_trip() {
    let offer = ClientRequest::from_url("wss://example.com/chat?x=1")
        .unwrap()
        .origin("https://example.com")
        .protocol("chat")
        .header("Cookie", "a=b");
    let connect = h2::connect_request(&offer).unwrap();
    assert_eq!(
        (connect.method, connect.protocol, connect.scheme),
        ("CONNECT", "websocket", "https")
    );
    assert_eq!(
        (connect.path.as_str(), connect.authority.as_str()),
        ("/chat?x=1", "example.com")
    );
    assert_eq!(connect.headers.get_str("sec-websocket-version"), Some("13"));
    assert_eq!(connect.headers.get_str("cookie"), Some("a=b"));
    assert_eq!(
        connect.headers.count("sec-websocket-key"),
        0,
        "no key over HTTP/2"
    );

    let request = h2::check_connect(
        connect.method,
        Some(connect.protocol),
        &connect.path,
        Some(&connect.authority),
        connect.headers.clone(),
        &Config::default(),
    )
    .unwrap();
    assert_eq!(
        (request.method(), request.path(), request.host()),
        ("CONNECT", "/chat", Some("example.com"))
    );
    assert_eq!(request.origin(), Some("https://example.com"));
    let (status, headers) = h2::accept(&request, &Accept::new().protocol("chat")).unwrap();
    assert_eq!(status, 200);
    assert_eq!(headers.get_str("sec-websocket-protocol"), Some("chat"));
    let (protocol, extensions) = h2::check_connect_response(&offer, status, &headers).unwrap();
    assert_eq!(protocol.as_deref(), Some("chat"));
    assert!(extensions.is_empty());
    exchange(&[], protocol.as_deref());
}

#[test]
fn rfc8441_bad_connects() {
    let headers = || {
        let mut h = Headers::new();
        h.push("sec-websocket-version", "13");
        h
    };
    let check = |method, protocol, h| {
        h2::check_connect(method, protocol, "/", Some("a"), h, &Config::default())
    };
    assert_eq!(
        check("GET", Some("websocket"), headers()),
        Err(HandshakeError::MethodNotAllowed)
    );
    assert_eq!(
        check("CONNECT", None, headers()),
        Err(HandshakeError::NotAnUpgrade)
    );
    assert_eq!(
        check("CONNECT", Some("h2c"), headers()),
        Err(HandshakeError::Upgrade)
    );
    assert_eq!(
        check("CONNECT", Some("websocket"), Headers::new()),
        Err(HandshakeError::Version)
    );
    let offer = ClientRequest::new("a", "/");
    assert!(matches!(
        h2::check_connect_response(&offer, 403, &Headers::new()),
        Err(HandshakeError::Rejected(r)) if r.status == 403
    ));
    let mut selected = Headers::new();
    selected.push("sec-websocket-protocol", "unoffered");
    assert!(h2::check_connect_response(&offer, 200, &selected).is_err());
}

#[cfg(feature = "http")]
mod http_crate {
    use super::*;
    use wsmachine::{Reject, Request};

    fn upgrade() -> http::request::Builder {
        http::Request::get("/chat?room=7")
            .header("host", "example.com")
            .header("upgrade", "websocket")
            .header("connection", "keep-alive, Upgrade")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .header("sec-websocket-version", "13")
    }

    #[test]
    fn request_from_http_runs_the_same_checks() {
        let req = upgrade()
            .header("sec-websocket-protocol", "chat")
            .body(())
            .unwrap();
        let request = Request::from_http(&req, &Config::default()).unwrap();
        assert_eq!((request.path(), request.query()), ("/chat", Some("room=7")));
        assert_eq!(request.protocols(), ["chat"]);

        let post = upgrade().method("POST").body(()).unwrap();
        assert_eq!(
            Request::from_http(&post, &Config::default()),
            Err(HandshakeError::MethodNotAllowed)
        );
        let old = upgrade().version(http::Version::HTTP_10).body(()).unwrap();
        assert_eq!(
            Request::from_http(&old, &Config::default()),
            Err(HandshakeError::HttpVersion)
        );
        let v8 = http::Request::get("/")
            .header("host", "h")
            .header("upgrade", "websocket")
            .header("connection", "upgrade")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .header("sec-websocket-version", "8")
            .body(())
            .unwrap();
        assert_eq!(
            Request::from_http(&v8, &Config::default()),
            Err(HandshakeError::Version)
        );
    }

    #[test]
    fn responses_to_http() {
        let request = Request::from_http(
            &upgrade()
                .header("sec-websocket-protocol", "chat")
                .body(())
                .unwrap(),
            &Config::default(),
        )
        .unwrap();
        let response = Accept::new()
            .protocol("chat")
            .header("set-cookie", "id=1")
            .http_response(&request)
            .unwrap();
        assert_eq!(response.status(), 101);
        let h = response.headers();
        assert_eq!(h["upgrade"], "websocket");
        assert_eq!(h["connection"], "Upgrade");
        assert_eq!(h["sec-websocket-accept"], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        assert_eq!(h["sec-websocket-protocol"], "chat");
        assert_eq!(h["set-cookie"], "id=1");

        let reject = Reject::new(429).header("retry-after", "5").body("later");
        let response = reject.http_response().unwrap();
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()["retry-after"], "5");
        assert_eq!(&response.body()[..], b"later");
    }

    /// Every field the request carries reaches the http::Request, however many.
    #[test]
    fn to_http_carries_every_field_however_many() {
        let mut offer = ClientRequest::from_url("ws://h/").unwrap().protocol("v1");
        for i in 0..100 {
            offer = offer.header(format!("x-field-{i}"), i.to_string());
        }
        let req = offer.to_http("dGhlIHNhbXBsZSBub25jZQ==").unwrap();
        assert_eq!(req.headers().len(), 6 + 100);
        assert_eq!(req.headers()["sec-websocket-protocol"], "v1");
        assert_eq!(req.headers()["x-field-99"], "99");
        let encoded = String::from_utf8(offer.encode("dGhlIHNhbXBsZSBub25jZQ==").unwrap()).unwrap();
        let names: Vec<String> = encoded
            .lines()
            .skip(1)
            .take_while(|l| !l.is_empty())
            .map(|l| l.split(':').next().unwrap().to_ascii_lowercase())
            .collect();
        let from_http: Vec<&str> = req.headers().keys().map(|k| k.as_str()).collect();
        let mut sorted_names = names.clone();
        sorted_names.sort();
        let mut sorted_http = from_http.clone();
        sorted_http.sort();
        assert_eq!(
            sorted_names, sorted_http,
            "the same fields as the HTTP/1.1 request"
        );
    }

    /// Client request → http::Request → server checks → http::Response → client
    /// checks, then upgraded connections with leftover bytes.
    #[test]
    fn full_round_trip_through_http_types() {
        let offer = ClientRequest::from_url("ws://localhost:8080/live")
            .unwrap()
            .protocol("v1")
            .header("authorization", "Bearer t");
        let key = wsmachine::handshake::generate_key(&mut SeededEntropy::new(1)).unwrap();
        let req = offer.to_http(&key).unwrap();
        assert_eq!(req.uri(), "/live");
        assert_eq!(req.headers()["host"], "localhost:8080");
        let request = Request::from_http(&req, &Config::default()).unwrap();
        assert_eq!(request.header("authorization"), Some("Bearer t"));
        let response = Accept::new()
            .protocol("v1")
            .http_response(&request)
            .unwrap();
        let (protocol, _) = offer.check_http_response(&key, &response).unwrap();
        assert_eq!(protocol.as_deref(), Some("v1"));

        let wrong = Accept::new().http_response(&request).unwrap();
        assert!(offer.check_http_response("another key", &wrong).is_err());
        let refused = http::Response::builder().status(401).body(()).unwrap();
        assert!(matches!(
            offer.check_http_response(&key, &refused),
            Err(HandshakeError::Rejected(r)) if r.status == 401
        ));

        // A frame that arrived with the request goes to the upgraded server.
        let early = c2s(wsmachine::frame::OpCode::Text, true, b"early");
        let server = Connection::upgraded_server(
            Config::default(),
            Negotiated::with_protocol("v1"),
            &early,
            T0,
        )
        .unwrap();
        let mut server = server;
        assert_eq!(
            drain_events(&mut server),
            vec![Event::Message(Message::from("early"))]
        );
        exchange(&early, protocol.as_deref());
    }
}
