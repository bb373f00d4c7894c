//! wss:// through rustls (features `rustls`, `tokio-rustls`), with a CA and a
//! certificate made at test time: the blocking and the async client against the
//! blocking and the async server, a client that does not trust the server, and the
//! closing handshake over TLS.

#[path = "../examples/support/test_certs.rs"]
mod test_certs;

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use wsmachine::tls::{self, rustls};
use wsmachine::{Accept, ClientRequest, CloseCode, Config, Message};
use wsmachine::{blocking, tokio as ws};

struct Setup {
    server: Arc<rustls::ServerConfig>,
    client: Arc<rustls::ClientConfig>,
}

fn setup() -> Setup {
    let certs = test_certs::generate();
    Setup {
        server: tls::server_config(certs.cert_pem.as_bytes(), certs.key_pem.as_bytes()).unwrap(),
        client: tls::client_config_with_roots(
            tls::root_store_from_pem(certs.ca_pem.as_bytes()).unwrap(),
        ),
    }
}

fn quick() -> Config {
    let mut config = Config::default();
    config.handshake_timeout = Some(Duration::from_secs(10));
    config.close_timeout = Some(Duration::from_secs(5));
    config
}

/// A blocking TLS echo server for one connection; returns its thread.
fn blocking_server(
    tls: Arc<rustls::ServerConfig>,
) -> (u16, std::thread::JoinHandle<wsmachine::Closed>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let thread = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        let mut ws = blocking::accept_tls(tcp, tls, quick(), |_| Ok(Accept::new())).unwrap();
        loop {
            match ws.read() {
                Ok(m) => {
                    let _ = ws.send(m);
                }
                Err(blocking::Error::Closed(closed)) => return closed,
                Err(e) => panic!("{e}"),
            }
        }
    });
    (port, thread)
}

fn messages() -> Vec<Message> {
    vec![
        Message::from("héllo over TLS"),
        Message::from(vec![3u8; 300_000]),
        Message::from(""),
    ]
}

#[test]
fn blocking_client_and_server() {
    let setup = setup();
    let (port, server) = blocking_server(setup.server);
    let request = ClientRequest::from_url(&format!("wss://localhost:{port}/")).unwrap();
    let (mut client, _) = blocking::connect_with_tls(request, quick(), setup.client).unwrap();
    assert!(matches!(
        client.get_ref(),
        blocking::MaybeTlsStream::ClientTls(_)
    ));
    for m in messages() {
        client.send(m.clone()).unwrap();
        assert_eq!(client.read().unwrap(), m);
    }
    let closed = client.close(CloseCode::NORMAL, "done").unwrap();
    assert!(closed.clean, "{closed:?}");
    let server_end = server.join().unwrap();
    assert!(server_end.clean, "{server_end:?}");
    assert_eq!(server_end.reason, "done");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_client_and_server() {
    let setup = setup();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server_tls = setup.server;
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut socket = ws::accept_tls(tcp, server_tls, quick(), |_| Ok(Accept::new()))
            .await
            .unwrap();
        loop {
            match socket.recv().await {
                Ok(m) => {
                    let _ = socket.send(m).await;
                }
                Err(ws::Error::Closed(closed)) => return closed,
                Err(e) => panic!("{e}"),
            }
        }
    });
    let request = ClientRequest::from_url(&format!("wss://127.0.0.1:{port}/")).unwrap();
    let (mut client, _) = tokio::time::timeout(
        Duration::from_secs(20),
        ws::connect_with_tls(request, quick(), setup.client),
    )
    .await
    .unwrap()
    .unwrap();
    for m in messages() {
        client.send(m.clone()).await.unwrap();
        assert_eq!(client.recv().await.unwrap(), m);
    }
    let closed = client.close(CloseCode::NORMAL, "done").await.unwrap();
    assert!(closed.clean, "{closed:?}");
    let server_end = server.await.unwrap();
    assert!(server_end.clean, "{server_end:?}");
}

/// The async client against the blocking server: the two glues agree over TLS.
#[tokio::test]
async fn async_client_against_the_blocking_server() {
    let setup = setup();
    let (port, server) = blocking_server(setup.server);
    let request = ClientRequest::from_url(&format!("wss://localhost:{port}/")).unwrap();
    let (mut client, _) = ws::connect_with_tls(request, quick(), setup.client)
        .await
        .unwrap();
    client.send(Message::from("across")).await.unwrap();
    assert_eq!(client.recv().await.unwrap(), Message::from("across"));
    assert!(client.close(CloseCode::NORMAL, "").await.unwrap().clean);
    assert!(server.join().unwrap().clean);
}

/// A server whose certificate the client's roots do not vouch for: the handshake
/// fails with an error, in both glues, and nothing is sent in the clear.
#[tokio::test]
async fn an_untrusted_server_is_refused() {
    let setup = setup();
    let stranger = setup_client_of_another_ca();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server_tls = setup.server;
    let server = std::thread::spawn(move || {
        for _ in 0..2 {
            let (tcp, _) = listener.accept().unwrap();
            let result =
                blocking::accept_tls(tcp, Arc::clone(&server_tls), quick(), |_| Ok(Accept::new()));
            assert!(
                result.is_err(),
                "the handshake succeeded with an untrusting client"
            );
        }
    });
    let url = format!("wss://localhost:{port}/");
    let request = ClientRequest::from_url(&url).unwrap();
    let err =
        blocking::connect_with_tls(request.clone(), quick(), Arc::clone(&stranger)).unwrap_err();
    assert!(matches!(err, blocking::Error::Io(_)), "{err:?}");
    let err = ws::connect_with_tls(request, quick(), stranger)
        .await
        .unwrap_err();
    assert!(matches!(err, ws::Error::Io(_)), "{err:?}");
    server.join().unwrap();
}

fn setup_client_of_another_ca() -> Arc<rustls::ClientConfig> {
    let other = test_certs::generate();
    tls::client_config_with_roots(tls::root_store_from_pem(other.ca_pem.as_bytes()).unwrap())
}

#[test]
fn pem_errors_are_reported() {
    assert!(tls::server_config(b"", b"").is_err());
    assert!(tls::root_store_from_pem(b"not a certificate").is_err());
    let certs = test_certs::generate();
    // A key that does not match the certificate.
    let other = test_certs::generate();
    assert!(tls::server_config(certs.cert_pem.as_bytes(), other.key_pem.as_bytes()).is_err());
}
