//! Test vectors: byte streams with the events and answer frames RFC 6455 requires,
//! generated from the exported strategies with fixed seeds, plus the examples of
//! RFC 6455 §5.7; each one is checked before it is written against the strategies'
//! own model (which does not use `Connection`) or, for the RFC examples, against
//! what the RFC says they carry.
//! Shared by `examples/gen_vectors.rs` (writes `tests/vectors/`) and
//! `tests/vectors.rs` (checks the committed files are what this produces).

use wsmachine::deflate::DeflateParams;
use wsmachine::oracle::{self, Options, OracleEvent, json_string};
use wsmachine::strategies::Expected;
use wsmachine::strategies::{self, Labelled, Script};
use wsmachine::{Bytes, CloseCode, Message, Role};

/// Inputs longer than this are skipped, to keep the files small.
const MAX_INPUT: usize = 1024;

struct Vector {
    name: String,
    role: Role,
    handshake: bool,
    input: Vec<u8>,
    violation: Option<(&'static str, &'static str)>,
    /// permessage-deflate in force, and the receiver's message limit.
    deflate: Option<(DeflateParams, Option<u64>)>,
}

/// The vector files: name and content.
pub fn generate() -> Vec<(&'static str, String)> {
    let mut files = Vec::new();
    for (file, role) in [("server.json", Role::Server), ("client.json", Role::Client)] {
        let mut vectors = rfc_examples(role);
        let sender = role.peer();
        let scripts = strategies::sample(strategies::script(), seed(role, 1), 400);
        let mut n = 0;
        for (i, script) in scripts.iter().enumerate() {
            let input = script.encode(sender, i as u64);
            if input.len() > MAX_INPUT || n == 40 {
                continue;
            }
            check_valid(role, script, &input);
            vectors.push(Vector {
                name: format!("{}-valid-{n:03}", role_name(role)),
                role,
                handshake: false,
                input,
                violation: None,
                deflate: None,
            });
            n += 1;
        }
        let invalid = strategies::sample(strategies::invalid_stream(role), seed(role, 2), 2000);
        let mut per_class = std::collections::BTreeMap::<&str, usize>::new();
        for labelled in invalid {
            let count = per_class.entry(labelled.violation.name()).or_default();
            if labelled.bytes.len() > MAX_INPUT || *count == 4 {
                continue;
            }
            check_invalid(&labelled);
            vectors.push(Vector {
                name: format!("{}-{}-{count}", role_name(role), labelled.violation.name()),
                role,
                handshake: false,
                input: labelled.bytes.clone(),
                violation: Some((labelled.violation.name(), labelled.violation.section())),
                deflate: None,
            });
            *count += 1;
        }
        files.push((file, render(&vectors)));
    }
    files.push(("handshake.json", render(&handshakes())));
    files.push(("deflate.json", render(&deflate_vectors())));
    files
}

/// Compressed inputs may be longer: a bomb takes a few KiB.
const MAX_DEFLATE_INPUT: usize = 8 << 10;

/// permessage-deflate (RFC 7692): the examples of §7.2.3 as a client receives them,
/// compressed scripts for both roles, and each class of violation, each checked
/// against the strategies' model.
fn deflate_vectors() -> Vec<Vector> {
    let mut vectors = Vec::new();
    let hello = Message::Text("Hello".into());
    let examples: [(&str, &[u8], usize); 6] = [
        (
            "7.2.3.1-hello",
            &[0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00],
            1,
        ),
        (
            "7.2.3.1-fragmented",
            &[
                0x41, 0x03, 0xf2, 0x48, 0xcd, 0x80, 0x04, 0xc9, 0xc9, 0x07, 0x00,
            ],
            1,
        ),
        (
            "7.2.3.2-shared-window",
            &[
                0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0xc1, 0x05, 0xf2, 0x00, 0x11,
                0x00, 0x00,
            ],
            2,
        ),
        (
            "7.2.3.3-stored-block",
            &[
                0xc1, 0x0b, 0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
            ],
            1,
        ),
        (
            "7.2.3.4-bfinal",
            &[0xc1, 0x08, 0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00],
            1,
        ),
        (
            "7.2.3.5-two-blocks",
            &[
                0xc1, 0x0d, 0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07,
                0x00,
            ],
            1,
        ),
    ];
    for (name, input, hellos) in examples {
        let expected = vec![Expected::Message(hello.clone()); hellos];
        check_deflate(
            Role::Client,
            DeflateParams::default(),
            None,
            input,
            &expected,
        );
        vectors.push(Vector {
            name: format!("client-rfc7692-{name}"),
            role: Role::Client,
            handshake: false,
            input: input.to_vec(),
            violation: None,
            deflate: Some((DeflateParams::default(), None)),
        });
    }
    for role in [Role::Server, Role::Client] {
        let scripts = strategies::sample(
            strategies::compressed_script(role.peer()),
            seed(role, 3),
            60,
        );
        let mut n = 0;
        for c in scripts {
            if c.bytes.len() > MAX_INPUT || n == 20 {
                continue;
            }
            check_deflate(role, c.params, None, &c.bytes, &c.expected);
            vectors.push(Vector {
                name: format!("{}-deflate-valid-{n:03}", role_name(role)),
                role,
                handshake: false,
                input: c.bytes,
                violation: None,
                deflate: Some((c.params, None)),
            });
            n += 1;
        }
        let invalid =
            strategies::sample(strategies::invalid_deflate_stream(role), seed(role, 4), 60);
        let mut per_class = std::collections::BTreeMap::<&str, usize>::new();
        for l in invalid {
            let count = per_class.entry(l.violation.name()).or_default();
            if l.bytes.len() > MAX_DEFLATE_INPUT || *count == 3 {
                continue;
            }
            let limit = Some(l.max_message_size);
            check_deflate(role, l.params, limit, &l.bytes, &l.expected);
            vectors.push(Vector {
                name: format!("{}-deflate-{}-{count}", role_name(role), l.violation.name()),
                role,
                handshake: false,
                input: l.bytes,
                violation: Some((l.violation.name(), "RFC 7692")),
                deflate: Some((l.params, limit)),
            });
            *count += 1;
        }
    }
    vectors
}

/// The oracle with permessage-deflate against the model: the same events, then the
/// model's close (1006 for a stream that just ends).
fn check_deflate(
    role: Role,
    params: DeflateParams,
    limit: Option<u64>,
    input: &[u8],
    expected: &[Expected],
) {
    let verdict = oracle::run_deflate(role, params, limit, input);
    let (last, events) = verdict.events.split_last().expect("a close at least");
    let want: Vec<OracleEvent> = expected
        .iter()
        .filter_map(Expected::as_oracle_event)
        .collect();
    assert_eq!(
        events,
        &want[..],
        "oracle and model disagree on {input:02x?}"
    );
    let code = match expected.last() {
        Some(Expected::Close(c)) => c.0,
        _ => 1006,
    };
    assert!(
        matches!(last, OracleEvent::Close { code: c, .. } if *c == code),
        "ended with {last:?}, model says {code}"
    );
}

fn seed(role: Role, n: u64) -> u64 {
    n * 10 + u64::from(role == Role::Client)
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Client => "client",
        Role::Server => "server",
    }
}

/// The frames of RFC 6455 §5.7, as the given role receives them.
fn rfc_examples(role: Role) -> Vec<Vector> {
    let hello_masked = vec![
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    let hello = vec![0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
    let ping = vec![0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
    let pong_masked = vec![
        0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    let mut fragmented = vec![0x01, 0x03, 0x48, 0x65, 0x6c];
    fragmented.extend([0x80, 0x02, 0x6c, 0x6f]);
    let mut binary_256 = vec![0x82, 0x7e, 0x01, 0x00];
    binary_256.extend((0..=255u8).collect::<Vec<_>>());
    // What RFC 6455 says each one must produce, written out here rather than taken
    // from the oracle (§5.7 gives the payloads; §5.1 the 1002 for wrong masking).
    let text = |s: &str| Expected::Message(Message::from(s));
    let protocol_error = Expected::Close(CloseCode::PROTOCOL_ERROR);
    let hello_bytes = Bytes::from_static(b"Hello");
    let examples: Vec<(&str, Vec<u8>, Vec<Expected>)> = match role {
        // What a server receives is masked; an unmasked frame is a violation there.
        Role::Server => vec![
            ("rfc-5.7-masked-hello", hello_masked, vec![text("Hello")]),
            (
                "rfc-5.7-masked-pong",
                pong_masked,
                vec![Expected::Pong(hello_bytes.clone())],
            ),
            (
                "rfc-5.7-unmasked-hello-is-1002",
                hello,
                vec![protocol_error.clone()],
            ),
        ],
        Role::Client => vec![
            ("rfc-5.7-unmasked-hello", hello, vec![text("Hello")]),
            ("rfc-5.7-fragmented-hel-lo", fragmented, vec![text("Hello")]),
            (
                "rfc-5.7-unmasked-ping",
                ping,
                vec![Expected::Ping(hello_bytes)],
            ),
            (
                "rfc-5.7-binary-256",
                binary_256,
                vec![Expected::Message(Message::Binary((0..=255u8).collect()))],
            ),
            (
                "rfc-5.7-masked-pong-is-1002",
                pong_masked,
                vec![protocol_error],
            ),
        ],
    };
    examples
        .into_iter()
        .map(|(name, input, expected)| {
            if let Err(e) = strategies::check_against_oracle(role, &input, &expected) {
                panic!("oracle and RFC 6455 disagree on {name}: {e}");
            }
            Vector {
                name: format!("{}-{name}", role_name(role)),
                role,
                handshake: false,
                input,
                violation: None,
                deflate: None,
            }
        })
        .collect()
}

fn handshakes() -> Vec<Vector> {
    let mut out = Vec::new();
    for (i, request) in strategies::sample(strategies::handshake_request(), 7, 15)
        .into_iter()
        .enumerate()
    {
        let v = oracle::run_with(
            Options {
                role: Role::Server,
                handshake: true,
            },
            &request,
        );
        assert!(
            matches!(
                v.events[..],
                [
                    OracleEvent::Request { .. },
                    OracleEvent::Open { .. },
                    OracleEvent::Close { code: 1006, .. }
                ]
            ),
            "valid request not accepted: {:?}\n{}",
            v.events,
            String::from_utf8_lossy(&request)
        );
        out.push(Vector {
            name: format!("handshake-valid-{i:02}"),
            role: Role::Server,
            handshake: true,
            input: request,
            violation: None,
            deflate: None,
        });
    }
    for (i, (request, status)) in strategies::sample(strategies::invalid_handshake_request(), 8, 30)
        .into_iter()
        .enumerate()
    {
        if out.iter().any(|v| v.input == request) {
            continue;
        }
        let v = oracle::run_with(
            Options {
                role: Role::Server,
                handshake: true,
            },
            &request,
        );
        assert!(
            matches!(v.events[..], [OracleEvent::Close { status: Some(s), .. }] if s == status),
            "expected {status}: {:?}\n{}",
            v.events,
            String::from_utf8_lossy(&request)
        );
        out.push(Vector {
            name: format!("handshake-invalid-{status}-{i:02}"),
            role: Role::Server,
            handshake: true,
            input: request,
            violation: None,
            deflate: None,
        });
    }
    out
}

fn check_valid(role: Role, script: &Script, input: &[u8]) {
    if let Err(e) = strategies::check_against_oracle(role, input, &script.expected()) {
        panic!("oracle and model disagree on {script:?}: {e}");
    }
}

fn check_invalid(labelled: &Labelled) {
    if let Err(e) =
        strategies::check_against_oracle(labelled.receiver, &labelled.bytes, &labelled.expected)
    {
        panic!("oracle and model disagree on {:?}: {e}", labelled.violation);
    }
}

fn render(vectors: &[Vector]) -> String {
    let mut out = String::from("[\n");
    for (i, v) in vectors.iter().enumerate() {
        let verdict = match v.deflate {
            Some((params, limit)) => oracle::run_deflate(v.role, params, limit, &v.input),
            None => oracle::run_with(
                Options {
                    role: v.role,
                    handshake: v.handshake,
                },
                &v.input,
            ),
        };
        let deflate = match v.deflate {
            Some((params, limit)) => format!(
                r#","deflate":{},"max_message_size":{}"#,
                json_string(&params.to_extension().to_string()),
                limit.map_or("null".to_string(), |l| l.to_string())
            ),
            None => String::new(),
        };
        let events: Vec<String> = verdict.events.iter().map(OracleEvent::to_json).collect();
        let (violation, section) = match v.violation {
            Some((name, section)) => (json_string(name), json_string(section)),
            None => ("null".to_string(), "null".to_string()),
        };
        out.push_str(&format!(
            r#"{{"name":{},"role":"{}","handshake":{},"input":"{}","events":[{}],"answer":{},"violation":{},"section":{}{}}}"#,
            json_string(&v.name),
            role_name(v.role),
            v.handshake,
            oracle::hex(&v.input),
            events.join(","),
            verdict.frames_json(),
            violation,
            section,
            deflate,
        ));
        out.push_str(if i + 1 == vectors.len() { "\n" } else { ",\n" });
    }
    out.push_str("]\n");
    out
}
