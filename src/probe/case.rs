//! The cases the prober sends: drawn from the [strategies](crate::strategies), in
//! classes, and what the [oracle](crate::oracle) says the peer must do with each.

use std::string::String;
use std::vec::Vec;
use std::{format, vec};

use proptest::collection::vec as pvec;
use proptest::prelude::*;

use crate::entropy::SeededEntropy;
use crate::frame::{FrameHeader, OpCode};
use crate::oracle::{self, OracleEvent, Verdict};
use crate::role::Role;
use crate::strategies::{self, Script, Violation, encode_frame};

/// What a case tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Class {
    /// Valid messages, whole or fragmented, with control frames between fragments,
    /// then a close: everything echoed, every ping answered, the close answered.
    Valid,
    /// A valid prefix, then one violation of this class, then junk.
    Violation(Violation),
    /// A frame that breaks two rules with different close codes (text that is not
    /// UTF-8, 1007, in a frame that is wrongly masked or has an RSV bit, 1002). RFC
    /// 6455 does not order the checks, so either code is right.
    TwoViolations,
    /// (Probing a server) a valid upgrade request in a random form, then a short
    /// valid stream; (probing a client) a valid 101 response in a random form.
    Handshake,
    /// (Probing a server) an upgrade request the server must refuse with an HTTP
    /// error; (probing a client) a response the client must fail the connection on.
    BadHandshake,
}

impl Class {
    /// The classes in the order the prober takes them, round after round: valid
    /// streams three times as often as each violation.
    pub fn rotation() -> Vec<Class> {
        let mut out = vec![Class::Valid, Class::Handshake, Class::BadHandshake];
        for (i, v) in Violation::ALL.iter().enumerate() {
            out.push(Class::Violation(*v));
            if i % 6 == 5 {
                out.push(Class::Valid);
            }
        }
        out.push(Class::TwoViolations);
        out
    }

    /// The class with this [`name`](Class::name).
    pub fn from_name(name: &str) -> Option<Class> {
        Class::rotation().into_iter().find(|c| c.name() == name)
    }

    /// A stable name for reports: `valid`, `violation/reserved-opcode`, ...
    pub fn name(self) -> String {
        match self {
            Class::Valid => String::from("valid"),
            Class::Violation(v) => format!("violation/{}", v.name()),
            Class::TwoViolations => String::from("two-violations"),
            Class::Handshake => String::from("handshake"),
            Class::BadHandshake => String::from("bad-handshake"),
        }
    }
}

impl Case {
    /// A case that sends `stream` after a plain opening handshake, in one phase and
    /// one write, judged as `class` (which decides only what the RFC leaves open):
    /// for replaying a reported vector.
    pub fn replay(class: Class, stream: Vec<u8>) -> Case {
        Case {
            class,
            opening: Opening::Plain,
            prefix: stream,
            tail: Vec::new(),
            junk: Vec::new(),
            delivery: Delivery::Whole,
        }
    }
}

/// How the bytes of a stream are cut into writes (each written as soon as the last
/// one is, with Nagle's algorithm off): the peer must not depend on how its reads
/// fall.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Each phase in one write.
    Whole,
    /// Writes of these sizes, in turn.
    Pieces(Vec<usize>),
    /// One byte per write (streams of at most 4 KiB; longer ones in 1, 7 and 13
    /// byte pieces).
    Bytewise,
}

impl Delivery {
    /// The writes for `bytes`.
    pub fn split<'a>(&self, bytes: &'a [u8]) -> Vec<&'a [u8]> {
        let sizes: &[usize] = match self {
            Delivery::Whole => return vec![bytes].into_iter().filter(|b| !b.is_empty()).collect(),
            Delivery::Pieces(sizes) if !sizes.is_empty() => sizes,
            Delivery::Bytewise if bytes.len() <= 4096 => &[1],
            _ => &[1, 7, 13],
        };
        let mut out = Vec::new();
        let (mut at, mut i) = (0, 0);
        while at < bytes.len() {
            let n = sizes[i % sizes.len()].clamp(1, bytes.len() - at);
            out.push(&bytes[at..at + n]);
            at += n;
            i += 1;
        }
        out
    }
}

/// How the opening handshake of a case goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Opening {
    /// The prober's own plain request or response.
    Plain,
    /// (Probing a server) this request, drawn from
    /// [`handshake_request`](crate::strategies::handshake_request) (its path and host
    /// are replaced by the target's).
    Request(Vec<u8>),
    /// (Probing a server) this invalid request, drawn from
    /// [`invalid_handshake_request`](crate::strategies::invalid_handshake_request).
    BadRequest(Vec<u8>),
    /// (Probing a client) the response that
    /// [`handshake_response`](crate::strategies::handshake_response) draws with this
    /// seed for the client's key.
    Response(u64),
    /// (Probing a client) the response that
    /// [`invalid_handshake_response`](crate::strategies::invalid_handshake_response)
    /// draws with this seed.
    BadResponse(u64),
}

/// One case: an opening, then a stream sent in two phases. The prober waits for the
/// answers to the first phase (echoes and pongs) before it sends the second, so that
/// what the peer must deliver before a violation or a close is checked, not raced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Case {
    /// What it tests.
    pub class: Class,
    /// How the handshake goes.
    pub opening: Opening,
    /// The valid part of the stream.
    pub prefix: Vec<u8>,
    /// What follows it: a close frame (valid classes), or the violation.
    pub tail: Vec<u8>,
    /// Bytes sent once the peer has answered the violation (or the time limit has
    /// passed): it must ignore them (§7.1.7). Sending them later keeps a violation in
    /// the junk from racing the one under test.
    pub junk: Vec<u8>,
    /// How the writes fall.
    pub delivery: Delivery,
}

/// A close frame the prober sends to end a valid stream: a code a sender may use
/// (§7.4) and a short reason, or an empty body.
fn close_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => (
            proptest::sample::select(vec![1000u16, 1001, 1003, 1008, 1011, 3000, 4000, 4999]),
            "[a-z ]{0,12}"
        )
            .prop_map(|(code, reason)| {
                let mut body = code.to_be_bytes().to_vec();
                body.extend_from_slice(reason.as_bytes());
                body
            }),
        1 => Just(Vec::new()),
    ]
}

fn delivery() -> impl Strategy<Value = Delivery> {
    prop_oneof![
        3 => Just(Delivery::Whole),
        2 => pvec(1usize..300, 1..6).prop_map(Delivery::Pieces),
        1 => Just(Delivery::Bytewise),
    ]
}

/// The frame `sender` sends, as bytes.
pub(crate) fn frame_bytes(sender: Role, opcode: OpCode, payload: &[u8], seed: u64) -> Vec<u8> {
    let mut out = Vec::new();
    let mut entropy = SeededEntropy::new(seed);
    encode_frame(
        &mut out,
        FrameHeader::new(opcode, payload.len() as u64),
        payload,
        sender,
        &mut entropy,
    );
    out
}

/// The cases of `class` for a peer in role `peer` (the prober plays the other role).
pub fn strategy(class: Class, peer: Role) -> BoxedStrategy<Case> {
    let sender = peer.peer();
    let valid = move |opening: Opening, script: Script, close: Vec<u8>, seed: u64, d| Case {
        class,
        opening,
        prefix: script.encode(sender, seed),
        tail: frame_bytes(sender, OpCode::Close, &close, seed ^ 1),
        junk: Vec::new(),
        delivery: d,
    };
    match class {
        Class::Valid => (strategies::script(), close_body(), any::<u64>(), delivery())
            .prop_map(move |(s, c, seed, d)| valid(Opening::Plain, s, c, seed, d))
            .boxed(),
        Class::Violation(v) => (
            strategies::invalid_stream(peer)
                .prop_filter("the class drawn", move |l| l.violation == v),
            delivery(),
        )
            .prop_map(move |(l, d)| Case {
                class,
                opening: Opening::Plain,
                prefix: l.bytes[..l.prefix_len].to_vec(),
                tail: l.bytes[l.prefix_len..l.violation_end].to_vec(),
                junk: l.bytes[l.violation_end..].to_vec(),
                delivery: d,
            })
            .boxed(),
        Class::TwoViolations => (
            strategies::script(),
            any::<bool>(),
            any::<u64>(),
            delivery(),
        )
            .prop_map(move |(s, rsv, seed, d)| {
                let mut tail = Vec::new();
                let mut header = FrameHeader::new(OpCode::Text, 3);
                if rsv {
                    header.rsv = 0b100;
                    header.mask = (sender == Role::Client).then_some([7, 7, 7, 7]);
                } else {
                    // The other role's masking.
                    header.mask = (sender == Role::Server).then_some([7, 7, 7, 7]);
                }
                header.encode_to_vec(&mut tail);
                let start = tail.len();
                tail.extend_from_slice(b"a\xff\xfe");
                if let Some(key) = header.mask {
                    crate::mask::apply_mask(&mut tail[start..], key, 0);
                }
                Case {
                    class,
                    opening: Opening::Plain,
                    prefix: s.encode(sender, seed),
                    tail,
                    junk: Vec::new(),
                    delivery: d,
                }
            })
            .boxed(),
        Class::Handshake if peer == Role::Server => (
            strategies::handshake_request(),
            pvec(strategies::step(), 0..3).prop_map(|steps| Script { steps }),
            close_body(),
            any::<u64>(),
        )
            .prop_map(move |(r, s, c, seed)| {
                valid(Opening::Request(r), s, c, seed, Delivery::Whole)
            })
            .boxed(),
        Class::Handshake => (
            any::<u64>(),
            pvec(strategies::step(), 0..3).prop_map(|steps| Script { steps }),
            close_body(),
            any::<u64>(),
        )
            .prop_map(move |(r, s, c, seed)| {
                valid(Opening::Response(r), s, c, seed, Delivery::Whole)
            })
            .boxed(),
        Class::BadHandshake if peer == Role::Server => strategies::invalid_handshake_request()
            .prop_map(move |(r, _)| Case {
                class,
                opening: Opening::BadRequest(r),
                prefix: Vec::new(),
                tail: Vec::new(),
                junk: Vec::new(),
                delivery: Delivery::Whole,
            })
            .boxed(),
        Class::BadHandshake => any::<u64>()
            .prop_map(move |seed| Case {
                class,
                opening: Opening::BadResponse(seed),
                // A message the client must not echo: the connection never opened.
                prefix: frame_bytes(sender, OpCode::Text, b"not open", seed),
                tail: Vec::new(),
                junk: Vec::new(),
                delivery: Delivery::Whole,
            })
            .boxed(),
    }
}

/// What the peer must do with a stream, from the oracle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expectation {
    /// The messages it must echo, in order.
    pub echoes: Vec<OracleEvent>,
    /// The payloads of the pongs it must send, in order.
    pub pongs: Vec<Vec<u8>>,
    /// How it must end.
    pub close: ExpectedClose,
}

/// How the peer must end the connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExpectedClose {
    /// Answer the prober's close; the oracle echoes the code (`None`: the prober's
    /// close had no body).
    Answer(Option<u16>),
    /// Fail the connection with this close code (§7.1.7); `also` lists codes that
    /// are right too where the RFC leaves the choice open.
    Fail {
        /// The oracle's code.
        code: u16,
        /// Other acceptable codes.
        also: Vec<u16>,
        /// What the oracle found wrong.
        error: String,
    },
    /// Nothing: the stream is still open (the prefix phase of a case).
    Open,
}

impl Expectation {
    /// The oracle's expectation for a peer in role `peer` receiving `stream`.
    pub fn of(peer: Role, stream: &[u8], class: Class) -> Expectation {
        let verdict = oracle::run(peer, stream);
        Expectation::from_verdict(&verdict, class)
    }

    fn from_verdict(verdict: &Verdict, class: Class) -> Expectation {
        let echoes = verdict
            .events
            .iter()
            .filter(|e| matches!(e, OracleEvent::Text(_) | OracleEvent::Binary(_)))
            .cloned()
            .collect();
        let pongs = verdict
            .frames
            .iter()
            .filter(|f| f.header.opcode == OpCode::Pong)
            .map(|f| f.payload.to_vec())
            .collect();
        let close = match verdict.events.last() {
            Some(OracleEvent::Close {
                code, error: None, ..
            }) => ExpectedClose::Answer((*code != 1005).then_some(*code)),
            Some(OracleEvent::Close {
                code: 1006,
                error: Some(_),
                ..
            }) => ExpectedClose::Open,
            Some(OracleEvent::Close {
                code,
                error: Some(error),
                ..
            }) => {
                let also = match class {
                    Class::TwoViolations => vec![1002, 1007],
                    // §5.5.1 and §8.1 make a close reason that is not UTF-8 "invalid
                    // data", and §7.4.1 gives 1007 for it; 1002 is what many peers
                    // send, and the RFC does not rule it out.
                    Class::Violation(Violation::InvalidCloseReason) => vec![1002],
                    // A length of 2^63 or more is past any size limit too: 1009 (a
                    // policy) answers it as well as 1002 (§5.2).
                    Class::Violation(Violation::LengthTopBit) => vec![1009],
                    _ => Vec::new(),
                };
                ExpectedClose::Fail {
                    code: *code,
                    also: also.into_iter().filter(|c| c != code).collect(),
                    error: error.clone(),
                }
            }
            _ => ExpectedClose::Open,
        };
        Expectation {
            echoes,
            pongs,
            close,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_draws_cases_the_oracle_agrees_with() {
        for peer in [Role::Server, Role::Client] {
            for class in Class::rotation() {
                for case in strategies::sample(strategy(class, peer), 3, 4) {
                    let mut all = case.prefix.clone();
                    all.extend_from_slice(&case.tail);
                    let whole = Expectation::of(peer, &all, class);
                    let prefix = Expectation::of(peer, &case.prefix, class);
                    assert_eq!(prefix.close, ExpectedClose::Open, "{class:?}");
                    match class {
                        Class::Valid | Class::Handshake => {
                            assert!(matches!(whole.close, ExpectedClose::Answer(_)), "{class:?}")
                        }
                        Class::Violation(v) => assert!(
                            matches!(whole.close, ExpectedClose::Fail { code, .. } if code == v.close_code().0),
                            "{class:?} {:?}",
                            whole.close
                        ),
                        Class::TwoViolations => assert!(
                            matches!(&whole.close, ExpectedClose::Fail { code, also, .. } if also.len() == 1 && [1002, 1007].contains(code))
                        ),
                        Class::BadHandshake => {}
                    }
                    // The prefix's answers are the start of the whole stream's.
                    assert_eq!(whole.echoes[..prefix.echoes.len()], prefix.echoes[..]);
                }
            }
        }
    }

    #[test]
    fn deliveries_cover_the_bytes() {
        let bytes: Vec<u8> = (0..5000u32).map(|i| i as u8).collect();
        for d in [
            Delivery::Whole,
            Delivery::Bytewise,
            Delivery::Pieces(vec![3, 0, 100]),
            Delivery::Pieces(Vec::new()),
        ] {
            let pieces = d.split(&bytes);
            assert!(pieces.iter().all(|p| !p.is_empty()));
            assert_eq!(pieces.concat(), bytes, "{d:?}");
        }
        assert!(Delivery::Whole.split(&[]).is_empty());
    }
}
