//! TLS through rustls (feature `rustls`): the configurations `wss://` needs, for the
//! blocking glue and (feature `tokio-rustls`) the async one. The client trusts
//! Mozilla's root certificates (the `webpki-roots` crate) unless given roots of its
//! own; both sides use rustls's *ring* provider and its safe default protocol
//! versions (TLS 1.2 and 1.3), and offer or select ALPN `http/1.1`, the protocol a
//! WebSocket upgrade runs over (RFC 6455 §4.1; HTTP/2 is RFC 8441's business).
//!
//! ```no_run
//! use wsmachine::tls;
//! // A server: the certificate chain and the private key, both PEM.
//! let server = tls::server_config_from_files("cert.pem", "key.pem")?;
//! // A client trusting one private CA (tests, internal services), not the web's roots.
//! let ca = std::fs::read("ca.pem")?;
//! let client = tls::client_config_with_roots(tls::root_store_from_pem(&ca)?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::io;
use std::string::ToString;
use std::sync::Arc;
use std::vec;
use std::vec::Vec;

pub use rustls;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore, ServerConfig};

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn invalid(e: impl core::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, e.to_string())
}

/// A client configuration trusting Mozilla's root certificates.
pub fn client_config() -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    client_config_with_roots(roots)
}

/// A client configuration trusting exactly these roots.
pub fn client_config_with_roots(roots: RootCertStore) -> Arc<ClientConfig> {
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports the default versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

/// The certificates in a PEM document, as a root store (a private CA, say).
pub fn root_store_from_pem(pem: &[u8]) -> io::Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem) {
        roots.add(cert.map_err(invalid)?).map_err(invalid)?;
    }
    if roots.is_empty() {
        return Err(invalid("no certificate in the PEM document"));
    }
    Ok(roots)
}

/// A server configuration from a PEM certificate chain (the server's certificate
/// first) and a PEM private key (PKCS #8, PKCS #1 or SEC1).
pub fn server_config(cert_chain_pem: &[u8], key_pem: &[u8]) -> io::Result<Arc<ServerConfig>> {
    let chain = CertificateDer::pem_slice_iter(cert_chain_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(invalid)?;
    if chain.is_empty() {
        return Err(invalid("no certificate in the chain's PEM document"));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(invalid)?;
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports the default versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(invalid)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// [`server_config`] from two files.
pub fn server_config_from_files(
    cert_chain: impl AsRef<std::path::Path>,
    key: impl AsRef<std::path::Path>,
) -> io::Result<Arc<ServerConfig>> {
    let read = |path: &std::path::Path| {
        std::fs::read(path)
            .map_err(|e| io::Error::new(e.kind(), std::format!("{}: {e}", path.display())))
    };
    server_config(&read(cert_chain.as_ref())?, &read(key.as_ref())?)
}

/// The name a client checks the server's certificate against, from a URL's host
/// (`ClientRequest::host`): a DNS name or an IP address.
pub fn server_name(host: &str) -> io::Result<ServerName<'static>> {
    // A bracketed IPv6 literal is named without its brackets.
    let host = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(host.to_string()).map_err(invalid)
}
