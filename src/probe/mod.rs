//! A conformance prober (feature `probe`): tests a live WebSocket server or client
//! over TCP against what RFC 6455 requires, with streams drawn from the
//! [strategies](crate::strategies) and judged by the [oracle](crate::oracle).
//!
//! Each case goes over a fresh TCP connection: an opening handshake (the prober's
//! own, or a drawn variant, valid or not), then a stream in two phases: a valid
//! prefix (messages whole or fragmented, control frames between the fragments),
//! whose echoes and pongs the prober waits for, then a tail: a close frame, or one
//! violation of a [`Violation`](crate::strategies::Violation) class followed by junk.
//! The peer is taken to be an echo endpoint: it sends every text and binary message
//! back as it got it. What it sends is parsed by a connection with the oracle's
//! rules, so a frame the peer may not send is caught too.
//!
//! A case that fails is shrunk (proptest's shrinking, each step over a new
//! connection) to the smallest stream that still fails the same way, rerun to see
//! whether it reproduces, and reported with its bytes in hex, what was expected,
//! what was observed and the RFC section. Where the RFC leaves a choice open (the
//! order of checks when two rules are broken at once, answering only the latest of
//! several pings, not echoing the close code, dropping the TCP connection without a
//! close frame after a violation) the finding is reported as open, not as a failure.
//!
//! ```no_run
//! use wsmachine::probe::{self, Settings, Target};
//! let target = Target::parse("ws://127.0.0.1:9001/", &[]).unwrap();
//! let report = probe::probe_server(&target, &Settings::default(), |line| eprintln!("{line}"));
//! print!("{}", report.to_markdown());
//! assert!(report.failures.is_empty());
//! ```
//!
//! The `probe` example is the command line for it. It never connects anywhere but
//! loopback unless the host is named with `--allow`.

mod case;
mod judge;
mod opening;
mod report;
mod wire;

use std::collections::BTreeMap;
use std::format;
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::process::{Child, Command, Stdio};
use std::string::{String, ToString};
use std::time::{Duration, Instant};
use std::vec::Vec;

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{RngAlgorithm, TestRng, TestRunner};

pub use case::{Case, Class, Delivery, Expectation, ExpectedClose, Opening, strategy};
pub use judge::{End, Judged, Observed, Problem};
pub use report::{Finding, Report, Tally};

use crate::Role;

/// How much to probe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The seed: the same seed draws the same cases.
    pub seed: u64,
    /// At most this many cases (shrinking and reruns not counted).
    pub cases: usize,
    /// At most this long in all, shrinking included.
    pub budget: Duration,
    /// How long the peer may stay silent when an answer is due.
    pub timeout: Duration,
    /// At most this many runs to shrink one failure.
    pub shrink_runs: usize,
    /// Reruns of a shrunk failure, to tell whether it reproduces.
    pub reruns: usize,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            seed: 0,
            cases: 300,
            budget: Duration::from_secs(120),
            timeout: Duration::from_millis(500),
            shrink_runs: 150,
            reruns: 3,
        }
    }
}

/// A server to probe: `ws://HOST[:PORT][/PATH]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The host as written (for the `Host` header).
    pub host: String,
    /// The port.
    pub port: u16,
    /// The path and query.
    pub path: String,
    /// Where it resolved to.
    pub addr: SocketAddr,
}

impl Target {
    /// Parses and resolves `url`. The address must be a loopback one unless the host
    /// is in `allowed`: the prober sends invalid traffic, and only to hosts the user
    /// named.
    pub fn parse(url: &str, allowed: &[String]) -> Result<Target, String> {
        let rest = url
            .strip_prefix("ws://")
            .ok_or_else(|| format!("{url}: only ws:// URLs can be probed"))?;
        let (authority, path) = match rest.find(['/', '?']) {
            Some(at) if rest[at..].starts_with('/') => (&rest[..at], &rest[at..]),
            Some(at) => (&rest[..at], &rest[at..]),
            None => (rest, "/"),
        };
        let path = if path.starts_with('?') {
            format!("/{path}")
        } else {
            String::from(path)
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => (
                h,
                p.parse::<u16>()
                    .map_err(|_| format!("{url}: bad port {p:?}"))?,
            ),
            _ => (authority, 80),
        };
        if host.is_empty() {
            return Err(format!("{url}: no host"));
        }
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let addrs: Vec<SocketAddr> = (bare, port)
            .to_socket_addrs()
            .map_err(|e| format!("{host}: {e}"))?
            .collect();
        let named = allowed.iter().any(|a| a == host || a == bare);
        let addr = addrs
            .iter()
            .copied()
            .find(|a| named || a.ip().is_loopback())
            .ok_or_else(|| {
                format!("{host} is not a loopback address; name it with --allow {host} to probe it")
            })?;
        Ok(Target {
            host: String::from(host),
            port,
            path,
            addr,
        })
    }

    fn host_header(&self) -> String {
        if self.port == 80 {
            self.host.clone()
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// Probes the echo server at `target`; `log` gets a line per failure and finding.
pub fn probe_server(target: &Target, settings: &Settings, log: impl FnMut(&str)) -> Report {
    let name = format!("ws://{}{}", target.host_header(), target.path);
    run(name, "server", Role::Server, settings, log, |case, i| {
        server_case(target, case, settings, i)
    })
}

/// What starts the client under test for each case: a program and its arguments,
/// where `{url}` stands for the prober's URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spawn {
    /// The program.
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
}

/// Runs one case against the server at `target` (a reported vector, through
/// [`Case::replay`]) and judges it.
pub fn replay_server(target: &Target, settings: &Settings, case: &Case) -> Judged {
    server_case(target, case, settings, 0)
}

/// Runs one case against the next client that connects to `listener` (started with
/// `spawn` if given) and judges it.
pub fn replay_client(
    listener: &TcpListener,
    spawn: Option<&Spawn>,
    settings: &Settings,
    case: &Case,
) -> Judged {
    let url = match listener.local_addr() {
        Ok(a) => format!("ws://{a}/"),
        Err(e) => {
            return Judged::failed(Problem::new(
                "unreachable",
                "4.1",
                "a listener",
                e.to_string(),
            ));
        }
    };
    let _ = listener.set_nonblocking(true);
    client_case(listener, spawn, &url, case, settings)
}

/// Probes the echo clients that connect to `listener`: for each case, starts
/// `spawn` if given (else waits for a client to connect on its own), plays a server
/// that sends the case's stream, and judges the client's answers.
pub fn probe_clients(
    listener: TcpListener,
    spawn: Option<Spawn>,
    settings: &Settings,
    log: impl FnMut(&str),
) -> Report {
    let url = match listener.local_addr() {
        Ok(a) => format!("ws://{a}/"),
        Err(e) => return Report::stopped("client", settings, format!("listener: {e}")),
    };
    let _ = listener.set_nonblocking(true);
    let name = spawn.as_ref().map_or_else(
        || url.clone(),
        |s| format!("{} {}", s.program, s.args.join(" ")),
    );
    run(name, "client", Role::Client, settings, log, |case, _| {
        client_case(&listener, spawn.as_ref(), &url, case, settings)
    })
}

/// The loop both modes share: draw, run, judge, shrink, tally.
fn run(
    target: String,
    mode: &'static str,
    peer: Role,
    settings: &Settings,
    mut log: impl FnMut(&str),
    mut run_case: impl FnMut(&Case, usize) -> Judged,
) -> Report {
    let start = Instant::now();
    let deadline = start + settings.budget;
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&settings.seed.to_le_bytes());
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &key);
    let mut runner = TestRunner::new_with_rng(proptest::test_runner::Config::default(), rng);
    let rotation = Class::rotation();
    let strategies: Vec<_> = rotation.iter().map(|c| case::strategy(*c, peer)).collect();
    let mut report = Report::new(target, mode, settings.seed);
    let mut unreachable = 0;
    for i in 0..settings.cases {
        if Instant::now() >= deadline {
            report.stopped = Some(format!("time budget of {:?} spent", settings.budget));
            break;
        }
        let class = rotation[i % rotation.len()];
        let Ok(mut tree) = strategies[i % rotation.len()].new_tree(&mut runner) else {
            continue;
        };
        let case = tree.current();
        let judged = run_case(&case, i);
        report.cases += 1;
        let tally = report.tallies.entry(class.name()).or_default();
        tally.run += 1;
        if judged.fail.is_none() {
            report.passed += 1;
        } else {
            tally.failed += 1;
        }
        if !judged.open.is_empty() {
            tally.open += 1;
        }
        for open in &judged.open {
            report.note_open(class, open, &case, i);
        }
        let Some(problem) = judged.fail else {
            unreachable = 0;
            continue;
        };
        if problem.kind == "unreachable" {
            unreachable += 1;
            if !report.count_known(class, problem.kind) {
                let finding = Finding::new(&case, &problem, true, i, 0, None);
                log(&finding.to_text());
                report.failures.push(finding);
            }
            if unreachable >= 3 {
                report.stopped = Some(String::from("the target stopped accepting connections"));
                break;
            }
            continue;
        }
        unreachable = 0;
        if report.count_known(class, problem.kind) {
            continue;
        }
        log(&format!(
            "case {i}: {} failed ({}, §{}); shrinking",
            class.name(),
            problem.kind,
            problem.section
        ));
        let finding = shrink(
            &mut *tree,
            case,
            problem,
            i,
            settings,
            deadline,
            &mut run_case,
        );
        log(&finding.to_text());
        report.failures.push(finding);
    }
    report.elapsed = start.elapsed();
    report
}

/// Shrinks a failing case: simplify while it still fails the same way, complicate
/// back when a step passes (proptest's search), within the run and time limits.
#[allow(clippy::too_many_arguments)]
fn shrink(
    tree: &mut dyn ValueTree<Value = Case>,
    case: Case,
    problem: Problem,
    index: usize,
    settings: &Settings,
    deadline: Instant,
    run_case: &mut impl FnMut(&Case, usize) -> Judged,
) -> Finding {
    let original = [&case.prefix[..], &case.tail, &case.junk].concat().len();
    let (mut best, mut best_problem) = (case, problem);
    let mut runs = 0;
    let mut failing = true;
    // Each failure gets a share of the time: a hundred silences' worth at most.
    let shrink_deadline = deadline.min(Instant::now() + settings.timeout * 100);
    while runs < settings.shrink_runs && Instant::now() < shrink_deadline {
        let moved = if failing {
            tree.simplify()
        } else {
            tree.complicate()
        };
        if !moved {
            break;
        }
        runs += 1;
        let candidate = tree.current();
        match run_case(&candidate, index).fail {
            Some(p) if p.kind == best_problem.kind => {
                best = candidate;
                best_problem = p;
                failing = true;
            }
            _ => failing = false,
        }
    }
    let mut reproduced = 0;
    for _ in 0..settings.reruns {
        if run_case(&best, index)
            .fail
            .is_some_and(|p| p.kind == best_problem.kind)
        {
            reproduced += 1;
        }
    }
    let mut finding = Finding::new(
        &best,
        &best_problem,
        true,
        index,
        runs,
        Some((reproduced, settings.reruns)),
    );
    finding.original_bytes = original;
    finding
}

/// A `Sec-WebSocket-Key` for case `i`: 16 bytes from the case number, base64.
fn key_for(i: usize) -> String {
    use base64::Engine as _;
    let mut raw = [0u8; 16];
    raw[..8].copy_from_slice(&(i as u64).to_le_bytes());
    raw[8..].copy_from_slice(b"wsprober");
    base64::engine::general_purpose::STANDARD.encode(raw)
}

/// The request the prober sends for a case, with its key.
fn request_for(target: &Target, case: &Case, i: usize) -> (Vec<u8>, String) {
    let rewrite = |r: &[u8]| {
        let text = String::from_utf8_lossy(r).into_owned();
        let text = text.replacen(
            "Host: example.com",
            &format!("Host: {}", target.host_header()),
            1,
        );
        // The request line's path: the target's.
        let text = match (text.find(' '), text.find(" HTTP/")) {
            (Some(a), Some(b)) if a < b && text.starts_with(|c: char| c.is_ascii_uppercase()) => {
                format!("{}{}{}", &text[..=a], target.path, &text[b..])
            }
            _ => text,
        };
        text.into_bytes()
    };
    match &case.opening {
        Opening::Request(r) | Opening::BadRequest(r) => {
            (rewrite(r), String::from("dGhlIHNhbXBsZSBub25jZQ=="))
        }
        _ => {
            let key = key_for(i);
            let request = format!(
                "GET {} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                 Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n",
                target.path,
                target.host_header()
            );
            (request.into_bytes(), key)
        }
    }
}

fn server_case(target: &Target, case: &Case, settings: &Settings, i: usize) -> Judged {
    let mut stream = match TcpStream::connect_timeout(&target.addr, settings.timeout * 2) {
        Ok(s) => s,
        Err(e) => {
            return Judged::failed(Problem::new(
                "unreachable",
                "4.1",
                "a TCP connection",
                format!("connect failed: {e} (did the previous case crash the server?)"),
            ));
        }
    };
    let _ = stream.set_nodelay(true);
    let (request, key) = request_for(target, case, i);
    if std::io::Write::write_all(&mut stream, &request).is_err() {
        return Judged::failed(Problem::new(
            "unreachable",
            "4.1",
            "the request written",
            "the write failed",
        ));
    }
    let head = wire::read_head(&mut stream, settings.timeout);
    let bad = matches!(case.opening, Opening::BadRequest(_));
    match opening::check_response(&request, &key, head, bad) {
        Ok((rest, mut open)) if !bad => {
            let seen = wire::exchange(
                stream,
                &rest,
                case,
                Role::Server,
                tail_is_close(case),
                settings.timeout,
            );
            let mut judged = judge::stream(case.class, &expectation(case, Role::Server), &seen);
            judged.open.append(&mut open);
            judged
        }
        Ok((_, open)) => Judged { fail: None, open },
        Err(problem) => Judged::failed(problem),
    }
}

fn tail_is_close(case: &Case) -> bool {
    matches!(case.class, Class::Valid | Class::Handshake)
}

fn expectation(case: &Case, peer: Role) -> Expectation {
    let mut stream = case.prefix.clone();
    stream.extend_from_slice(&case.tail);
    Expectation::of(peer, &stream, case.class)
}

/// Waits for a client to connect; `None` after `limit`.
fn accept(listener: &TcpListener, limit: Duration) -> Option<TcpStream> {
    let deadline = Instant::now() + limit;
    loop {
        match listener.accept() {
            Ok((s, _)) => {
                let _ = s.set_nonblocking(false);
                return Some(s);
            }
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(2)),
            Err(_) => return None,
        }
    }
}

struct Spawned(Option<Child>);

impl Drop for Spawned {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            // Give it a moment to finish on its own, then stop it.
            for _ in 0..50 {
                if matches!(child.try_wait(), Ok(Some(_))) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn client_case(
    listener: &TcpListener,
    spawn: Option<&Spawn>,
    url: &str,
    case: &Case,
    settings: &Settings,
) -> Judged {
    let _child = Spawned(spawn.and_then(|s| {
        let args = s.args.iter().map(|a| a.replace("{url}", url));
        Command::new(&s.program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()
    }));
    let limit = if spawn.is_some() {
        settings.timeout * 10
    } else {
        settings.budget
    };
    let Some(mut stream) = accept(listener, limit) else {
        return Judged::failed(Problem::new(
            "unreachable",
            "4.1",
            "a client connecting",
            format!("no connection within {limit:?}"),
        ));
    };
    let _ = stream.set_nodelay(true);
    let head = match wire::read_head(&mut stream, settings.timeout) {
        Ok(h) => h,
        Err((end, got)) => {
            return Judged::failed(Problem::new(
                "no-request",
                "4.1",
                "an upgrade request",
                format!("{end:?} after {} bytes", got.len()),
            ));
        }
    };
    let key = match opening::check_request(&head.head) {
        Ok(key) => key,
        Err(problem) => return Judged::failed(problem),
    };
    let response = match case.opening {
        Opening::Response(seed) => {
            crate::strategies::sample(crate::strategies::handshake_response(key.clone()), seed, 1)
                .pop()
        }
        Opening::BadResponse(seed) => crate::strategies::sample(
            crate::strategies::invalid_handshake_response(key.clone()),
            seed,
            1,
        )
        .pop()
        .map(|(r, _)| r),
        _ => None,
    };
    let response = response.unwrap_or_else(|| {
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\n\r\n",
            crate::handshake::accept_key(&key)
        )
        .into_bytes()
    });
    if std::io::Write::write_all(&mut stream, &response).is_err() {
        return Judged::failed(Problem::new(
            "no-request",
            "4.1",
            "the client waiting for the response",
            "the write failed",
        ));
    }
    let bad = matches!(case.opening, Opening::BadResponse(_));
    let seen = wire::exchange(
        stream,
        &head.rest,
        case,
        Role::Client,
        tail_is_close(case) || bad,
        settings.timeout,
    );
    if bad {
        return opening::judge_failed_opening(&response, &seen);
    }
    judge::stream(case.class, &expectation(case, Role::Client), &seen)
}

/// Counts by class, kept in a report.
pub(crate) type Tallies = BTreeMap<String, Tally>;
