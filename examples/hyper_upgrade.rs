//! An HTTP server (hyper) that upgrades `/ws` to a WebSocket echo and answers
//! everything else itself: hyper parses the request, wsmachine checks it (§4.2.1)
//! and writes the 101 answer's headers, and once hyper hands the connection over,
//! the async glue runs the upgraded connection.
//!
//! ```text
//! cargo run --release --example hyper_upgrade -- [--addr 127.0.0.1:9002]
//! ```
//!
//! The upgraded connection is taken back out of hyper as the `TcpStream` it was, with
//! the bytes hyper read past the request (a client may send its first frame right
//! behind the request): no layer of hyper's stays between the socket and the
//! WebSocket.

use std::convert::Infallible;

use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use wsmachine::Bytes;
use wsmachine::tokio::{Builder, Error, WebSocketStream};
use wsmachine::{Accept, Config, Negotiated};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut addr = String::from("127.0.0.1:9002");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => addr = args.next().unwrap_or(addr),
            _ => {
                println!(
                    "hyper_upgrade: hyper serves HTTP, /ws upgrades to a WebSocket echo.\n\n\
                     Usage: cargo run --release --example hyper_upgrade -- [--addr HOST:PORT]"
                );
                return Ok(());
            }
        }
    }
    let listener = TcpListener::bind(&addr).await?;
    println!(
        "hyper server on http://{0}/, WebSocket echo on ws://{0}/ws",
        listener.local_addr()?
    );
    loop {
        let (tcp, _) = listener.accept().await?;
        tcp.set_nodelay(true)?;
        tokio::spawn(async move {
            let served = http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), service_fn(handle))
                .with_upgrades()
                .await;
            if let Err(e) = served {
                eprintln!("http: {e}");
            }
        });
    }
}

type Body = Full<Bytes>;

async fn handle(mut req: Request<hyper::body::Incoming>) -> Result<Response<Body>, Infallible> {
    if req.uri().path() != "/ws" {
        return Ok(Response::new(Body::from("a WebSocket echo is at /ws\n")));
    }
    let config = Config::default();
    // The request's checks (method, version, headers, key, origin policy) as
    // wsmachine's own handshake does them, with the status a failure deserves.
    let request = match wsmachine::Request::from_http(&req, &config) {
        Ok(request) => request,
        Err(e) => {
            let status = e.status().unwrap_or(400);
            let mut response = Response::new(Body::from(format!("{e}\n")));
            *response.status_mut() =
                StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
            if status == 426 {
                response
                    .headers_mut()
                    .insert("sec-websocket-version", "13".parse().unwrap());
            }
            return Ok(response);
        }
    };
    // Pick the first subprotocol offered, if any, to show where the choice goes.
    let protocol = request.protocols().first().cloned();
    let mut accept = Accept::new();
    let mut negotiated = Negotiated::none();
    if let Some(p) = &protocol {
        accept = accept.protocol(p.clone());
        negotiated = Negotiated::with_protocol(p.clone());
    }
    let response = match accept.http_response(&request) {
        Ok(response) => response.map(|()| Body::default()),
        Err(e) => {
            let mut response = Response::new(Body::from(format!("{e}\n")));
            *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            return Ok(response);
        }
    };
    // hyper hands the connection over once it has written the 101.
    let upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        let upgraded = match upgrade.await {
            Ok(upgraded) => upgraded,
            Err(e) => return eprintln!("upgrade: {e}"),
        };
        let builder = Builder::new(config);
        // The socket itself, and what hyper read past the request.
        let result = match upgraded.downcast::<TokioIo<TcpStream>>() {
            Ok(parts) => {
                match builder.upgraded_server(parts.io.into_inner(), negotiated, &parts.read_buf) {
                    Ok(socket) => echo(socket).await,
                    Err(e) => Err(e),
                }
            }
            // Another transport under hyper: keep its upgraded stream as it is.
            Err(upgraded) => match builder.upgraded_server(TokioIo::new(upgraded), negotiated, &[])
            {
                Ok(socket) => echo(socket).await,
                Err(e) => Err(e),
            },
        };
        if let Err(e) = result {
            eprintln!("websocket: {e}");
        }
    });
    Ok(response)
}

async fn echo<S>(mut socket: WebSocketStream<S>) -> Result<(), Error>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    loop {
        match socket.recv().await {
            Ok(message) => match socket.send(message).await {
                Ok(()) | Err(Error::Send(_)) => {}
                Err(e) => return Err(e),
            },
            Err(Error::Closed(_) | Error::AlreadyClosed) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}
