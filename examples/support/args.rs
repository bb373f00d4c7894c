//! Command-line options shared by the echo server examples.

use std::time::Duration;

use wsmachine::Config;

/// Options of an echo server.
pub struct ServerArgs {
    pub addr: String,
    pub config: Config,
    pub max_connections: usize,
}

/// The usage text of the echo servers' options.
pub const SERVER_OPTIONS: &str = "\
Options:
  --addr HOST:PORT        address to listen on (default 127.0.0.1:9001)
  --ping-interval SECS    ping a connection that has been silent this long
  --pong-timeout SECS     drop it if nothing answers the ping in time (default: the interval)
  --idle-timeout SECS     drop a connection silent for this long
  --max-message BYTES     largest message accepted (default 67108864); larger ones get 1009
  --max-connections N     connections served at once (default 1024); more get 503
  -h, --help              show this help";

/// Parses the echo servers' options; prints `usage` and exits on `--help` or an
/// error.
pub fn parse_server_args(usage: &str) -> ServerArgs {
    let mut args = ServerArgs {
        addr: String::from("127.0.0.1:9001"),
        config: Config::default(),
        max_connections: 1024,
    };
    let mut pong_timeout = None;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| -> String {
            it.next()
                .unwrap_or_else(|| fail(usage, &format!("{name} needs a value")))
        };
        match arg.as_str() {
            "-h" | "--help" => {
                println!("{usage}");
                std::process::exit(0);
            }
            "--addr" => args.addr = value("--addr"),
            "--ping-interval" => {
                args.config.ping_interval = Some(secs(usage, &value("--ping-interval")))
            }
            "--pong-timeout" => pong_timeout = Some(secs(usage, &value("--pong-timeout"))),
            "--idle-timeout" => {
                args.config.idle_timeout = Some(secs(usage, &value("--idle-timeout")))
            }
            "--max-message" => {
                let max: u64 = number(usage, &value("--max-message"));
                args.config.max_message_size = max;
                args.config.max_frame_size = max;
                args.config.max_buffered_output =
                    usize::try_from(max.saturating_mul(2)).unwrap_or(usize::MAX);
            }
            "--max-connections" => {
                args.max_connections = number(usage, &value("--max-connections"))
            }
            other => fail(usage, &format!("unknown option {other}")),
        }
    }
    args.config.pong_timeout = pong_timeout.or(args.config.ping_interval);
    args
}

fn secs(usage: &str, v: &str) -> Duration {
    match v.parse::<f64>() {
        Ok(s) if s > 0.0 && s.is_finite() => Duration::from_secs_f64(s),
        _ => fail(usage, &format!("not a positive number of seconds: {v}")),
    }
}

fn number<T: std::str::FromStr>(usage: &str, v: &str) -> T {
    v.parse()
        .unwrap_or_else(|_| fail(usage, &format!("not a number: {v}")))
}

fn fail(usage: &str, message: &str) -> ! {
    eprintln!("error: {message}\n\n{usage}");
    std::process::exit(2)
}
