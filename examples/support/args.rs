//! Command-line options shared by the echo server examples.

use std::sync::Arc;
use std::time::Duration;

use wsmachine::Config;
use wsmachine::tls::rustls::ServerConfig;

/// Options of an echo server.
pub struct ServerArgs {
    pub addr: String,
    pub config: Config,
    pub max_connections: usize,
    /// With `--tls-cert` and `--tls-key`: serve `wss://`.
    pub tls: Option<Arc<ServerConfig>>,
}

/// The usage text of the echo servers' options.
pub const SERVER_OPTIONS: &str = "\
Options (SECS may have a fraction; 0 turns a timer off):
  --addr HOST:PORT        address to listen on (default 127.0.0.1:9001)
  --ping-interval SECS    ping a connection that has been silent this long (default 30)
  --pong-timeout SECS     drop it if nothing answers the ping in time (default: the interval)
  --idle-timeout SECS     drop a connection that sent no message for this long (default 120)
  --write-timeout SECS    drop a connection that takes none of our output for this long (default 30)
  --max-message BYTES     largest message accepted (default 16777216); larger ones get 1009
  --max-output BYTES      output a connection may hold unwritten (default: max-message + 64 KiB)
  --max-connections N     connections served at once (default 1024); more get 503
  --deflate               accept permessage-deflate (RFC 7692) when a client offers it
  --deflate-window BITS   with --deflate: the window both sides compress with, 9-15 (default 15)
  --deflate-no-context    with --deflate: no compression context kept between messages
  --tls-cert FILE         serve wss://: the certificate chain, PEM (with --tls-key)
  --tls-key FILE          the certificate's private key, PEM (PKCS #8, PKCS #1 or SEC1)
  -h, --help              show this help";

/// Parses the echo servers' options; prints `usage` and exits on `--help` or an
/// error.
pub fn parse_server_args(usage: &str) -> ServerArgs {
    let mut config = Config::default();
    config.ping_interval = Some(Duration::from_secs(30));
    config.idle_timeout = Some(Duration::from_secs(120));
    config.max_message_size = 16 << 20;
    let mut args = ServerArgs {
        addr: String::from("127.0.0.1:9001"),
        config,
        max_connections: 1024,
        tls: None,
    };
    let (mut tls_cert, mut tls_key) = (None, None);
    let mut max_output = None;
    let mut deflate: Option<wsmachine::deflate::DeflateConfig> = None;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| -> String {
            it.next()
                .unwrap_or_else(|| fail(usage, &format!("{name} needs a value")))
        };
        let c = &mut args.config;
        match arg.as_str() {
            "-h" | "--help" => {
                println!("{usage}");
                std::process::exit(0);
            }
            "--addr" => args.addr = value("--addr"),
            "--ping-interval" => c.ping_interval = secs(usage, "--ping-interval", &value(&arg)),
            // Zero is "off", which for this setting is a zero duration (`None` would
            // follow the ping interval).
            "--pong-timeout" => {
                let d = secs(usage, "--pong-timeout", &value(&arg));
                c.pong_timeout = Some(d.unwrap_or(Duration::ZERO));
            }
            "--idle-timeout" => c.idle_timeout = secs(usage, "--idle-timeout", &value(&arg)),
            "--write-timeout" => c.write_timeout = secs(usage, "--write-timeout", &value(&arg)),
            "--max-message" => c.max_message_size = number(usage, &arg, &value(&arg)),
            "--max-output" => max_output = Some(number(usage, &arg, &value(&arg))),
            "--max-connections" => {
                args.max_connections = number(usage, &arg, &value(&arg));
                if args.max_connections == 0 {
                    fail(usage, "--max-connections must be at least 1");
                }
            }
            "--deflate" => {
                deflate.get_or_insert_with(Default::default);
            }
            "--deflate-window" => {
                let bits: u8 = number(usage, &arg, &value(&arg));
                let d = deflate.get_or_insert_with(Default::default);
                d.server_max_window_bits = bits;
                d.client_max_window_bits = bits;
            }
            "--deflate-no-context" => {
                let d = deflate.get_or_insert_with(Default::default);
                d.server_no_context_takeover = true;
                d.client_no_context_takeover = true;
            }
            "--tls-cert" => tls_cert = Some(value("--tls-cert")),
            "--tls-key" => tls_key = Some(value("--tls-key")),
            other => fail(usage, &format!("unknown option {other}")),
        }
    }
    args.config.deflate = deflate;
    args.tls = match (tls_cert, tls_key) {
        (Some(cert), Some(key)) => Some(
            wsmachine::tls::server_config_from_files(&cert, &key)
                .unwrap_or_else(|e| fail(usage, &format!("TLS: {e}"))),
        ),
        (None, None) => None,
        _ => fail(usage, "--tls-cert and --tls-key go together"),
    };
    // One echoed message at a time is queued (the echo waits for it to be written),
    // plus room for pongs and a close frame.
    let message = usize::try_from(args.config.max_message_size).unwrap_or(usize::MAX);
    args.config.max_buffered_output = max_output.unwrap_or(message.saturating_add(64 << 10));
    if let Err(e) = args.config.validate() {
        fail(usage, &e.to_string());
    }
    args
}

/// A number of seconds: `Some` duration, or `None` for 0 (the timer is off).
fn secs(usage: &str, name: &str, v: &str) -> Option<Duration> {
    let parsed = v.parse::<f64>().ok().filter(|s| *s >= 0.0);
    match parsed.map(Duration::try_from_secs_f64) {
        Some(Ok(d)) if d.is_zero() => None,
        // A deadline beyond about three centuries is no deadline anyone means.
        Some(Ok(d)) if d <= Duration::from_secs(10_000_000_000) => Some(d),
        _ => fail(
            usage,
            &format!("{name}: not a number of seconds between 0 and 10000000000: {v}"),
        ),
    }
}

fn number<T: std::str::FromStr>(usage: &str, name: &str, v: &str) -> T {
    v.parse()
        .unwrap_or_else(|_| fail(usage, &format!("{name}: not a whole number: {v}")))
}

fn fail(usage: &str, message: &str) -> ! {
    eprintln!("error: {message}\n\n{usage}");
    std::process::exit(2)
}
