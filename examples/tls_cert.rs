//! Writes a private test CA and a server certificate for `localhost` and
//! `127.0.0.1` into a directory: `ca.pem`, `cert.pem` and `key.pem`. For tests and
//! local trials only.
//!
//! ```text
//! cargo run --example tls_cert -- DIR
//! cargo run --release --example echo_server -- --tls-cert DIR/cert.pem --tls-key DIR/key.pem
//! ```

#[path = "support/test_certs.rs"]
mod test_certs;

fn main() -> std::io::Result<()> {
    let Some(dir) = std::env::args().nth(1).filter(|a| !a.starts_with('-')) else {
        println!("tls_cert: writes a test CA and a localhost certificate.\n\nUsage: tls_cert DIR");
        return Ok(());
    };
    std::fs::create_dir_all(&dir)?;
    let certs = test_certs::generate();
    let path = |name: &str| std::path::Path::new(&dir).join(name);
    std::fs::write(path("ca.pem"), &certs.ca_pem)?;
    std::fs::write(path("cert.pem"), &certs.cert_pem)?;
    std::fs::write(path("key.pem"), &certs.key_pem)?;
    println!("wrote ca.pem, cert.pem and key.pem to {dir}");
    Ok(())
}
