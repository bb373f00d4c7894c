//! Proptest strategies for testing any WebSocket implementation (feature
//! `proptest`).
//!
//! They build byte streams and say what RFC 6455 requires of the endpoint that
//! receives them, without going through this crate's [`Connection`](crate::Connection):
//! frames are encoded here from their definition (§5.2), so an implementation under
//! test, this crate included, is checked against the RFC rather than against itself.
//! (The bytes of a header and the masking come from [`FrameHeader`]
//! and [`apply_mask`], whose unit tests check them against
//! the RFC's own examples in §5.7.)
//!
//! - [`frame`]: one valid frame as an endpoint of a given role sends it;
//! - [`script`]: a valid sequence of messages (whole or fragmented at random points)
//!   with control frames interleaved, with [`Script::encode`] for the bytes and
//!   [`Script::expected`] for what the receiver must report;
//! - [`chunks`]: a random chunking of a byte stream;
//! - [`invalid_stream`]: a valid prefix followed by one violation, labelled with the
//!   close code and the RFC section that require it;
//! - [`handshake_request`], [`invalid_handshake_request`], [`handshake_response`]:
//!   opening handshakes, valid and not, with the required HTTP status;
//! - with feature `deflate` (permessage-deflate, RFC 7692): `deflate_params`,
//!   `compressed_script` (a script compressed as a sender under those parameters)
//!   and `invalid_deflate_stream` (RSV1 misuse, data that is not DEFLATE, inflated
//!   text that is not UTF-8, bombs), for [`oracle::run_deflate`](crate::oracle).
//!
//! ```
//! use proptest::prelude::*;
//! use proptest::test_runner::TestRunner;
//! use wsmachine::frame::FrameDecoder;
//! use wsmachine::strategies::script;
//! use wsmachine::Role;
//!
//! // What a client sends is a sequence of whole frames, every one masked (§5.1).
//! let mut runner = TestRunner::default();
//! runner.run(&script(), |s| {
//!     let bytes = s.encode(Role::Client, 7);
//!     let (mut input, mut decoder) = (&bytes[..], FrameDecoder::new(u64::MAX));
//!     while let Some(frame) = decoder.decode(&mut input).unwrap() {
//!         prop_assert!(frame.header.mask.is_some());
//!     }
//!     prop_assert!(input.is_empty());
//!     Ok(())
//! }).unwrap();
//! ```

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use bytes::Bytes;
use proptest::collection::vec as pvec;
use proptest::prelude::*;
use proptest::sample::Index;

use crate::close::CloseCode;
use crate::entropy::{Entropy, SeededEntropy};
use crate::frame::{Frame, FrameHeader, OpCode};
use crate::mask::apply_mask;
use crate::message::{Message, MessageKind, Text};
use crate::role::Role;

#[cfg(feature = "deflate")]
mod deflate;
#[cfg(feature = "deflate")]
pub use deflate::{
    BOMB_LIMIT, CompressedScript, DeflateLabelled, DeflateViolation, compressed_script,
    deflate_params, invalid_deflate_stream,
};
mod handshake;
pub use handshake::{
    handshake_request, handshake_response, invalid_handshake_request, invalid_handshake_response,
};

/// A payload: mostly short, sometimes empty, sometimes long enough for the 16-bit
/// and 64-bit length forms.
pub fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => pvec(any::<u8>(), 0..64),
        2 => Just(Vec::new()),
        2 => pvec(any::<u8>(), 126..400),
        1 => (65_536usize..70_000).prop_map(|n| (0..n).map(|i| (i % 251) as u8).collect()),
    ]
}

/// A data message: binary, ASCII or multi-byte text, sometimes empty or long.
pub fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        payload().prop_map(|p| Message::Binary(p.into())),
        ".{0,40}".prop_map(|s: String| Message::Text(Text::from(s))),
        "[a-zé€𝄞κ]{100,300}".prop_map(|s: String| Message::Text(Text::from(s))),
    ]
}

/// A control payload (at most 125 bytes, §5.5).
pub fn control_payload() -> impl Strategy<Value = Vec<u8>> {
    pvec(any::<u8>(), 0..=125)
}

/// One valid frame as an endpoint in role `sender` sends it: masked exactly when the
/// sender is a client (§5.1), control frames final and short (§5.5), RSV bits clear.
/// Data frames may be continuations or non-final: a single frame says nothing about
/// message sequencing.
pub fn frame(sender: Role) -> impl Strategy<Value = Frame> {
    let data = (
        prop_oneof![
            Just(OpCode::Continuation),
            Just(OpCode::Text),
            Just(OpCode::Binary)
        ],
        any::<bool>(),
        payload(),
    );
    let control = (
        prop_oneof![Just(OpCode::Ping), Just(OpCode::Pong), Just(OpCode::Close)],
        Just(true),
        control_payload(),
    );
    (prop_oneof![data, control], any::<[u8; 4]>()).prop_map(move |((opcode, fin, payload), key)| {
        let mut header = FrameHeader::new(opcode, payload.len() as u64);
        header.fin = fin;
        header.mask = (sender == Role::Client).then_some(key);
        Frame {
            header,
            payload: payload.into(),
        }
    })
}

/// One step of a [`Script`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// A message in one frame.
    Whole(Message),
    /// A message cut into fragments at these byte offsets (sorted, may repeat: empty
    /// fragments are legal), with optional control frames after some fragments.
    Fragmented {
        /// The message.
        message: Message,
        /// Cut points within the payload.
        cuts: Vec<usize>,
        /// Pings sent after the fragment with this index (§5.4: control frames may be
        /// injected between fragments).
        pings_after: Vec<(usize, Vec<u8>)>,
    },
    /// A ping (the receiver reports it and answers with a pong).
    Ping(Vec<u8>),
    /// An unsolicited pong (the receiver reports it; §5.5.3).
    Pong(Vec<u8>),
}

/// What the receiver of a [`Script`] must report, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expected {
    /// A data message.
    Message(Message),
    /// A ping with this payload; the receiver answers with a pong carrying it.
    Ping(Bytes),
    /// A pong with this payload.
    Pong(Bytes),
    /// The end of the connection with this close code: the peer's code for a clean
    /// close, the code the receiver must send when it fails the connection.
    Close(CloseCode),
}

impl Expected {
    /// The oracle event that reports this expectation; `None` for the close, which
    /// the oracle reports with more detail.
    pub fn as_oracle_event(&self) -> Option<crate::oracle::OracleEvent> {
        use crate::oracle::OracleEvent;
        Some(match self {
            Expected::Message(Message::Text(t)) => OracleEvent::Text(String::from(t.as_str())),
            Expected::Message(Message::Binary(b)) => OracleEvent::Binary(b.clone().into_bytes()),
            Expected::Ping(p) => OracleEvent::Ping(p.clone()),
            Expected::Pong(p) => OracleEvent::Pong(p.clone()),
            Expected::Close(_) => return None,
        })
    }
}

/// Checks what the oracle says of `input` for `receiver` against the model: the
/// same events, then a close with `code` (1006 for a stream that just ends).
/// Returns a description of the first difference.
pub fn check_against_oracle(
    receiver: Role,
    input: &[u8],
    expected: &[Expected],
) -> Result<crate::oracle::Verdict, String> {
    use crate::oracle::OracleEvent;
    let verdict = crate::oracle::run(receiver, input);
    let Some((last, events)) = verdict.events.split_last() else {
        return Err(String::from("no events"));
    };
    let want: Vec<OracleEvent> = expected
        .iter()
        .filter_map(Expected::as_oracle_event)
        .collect();
    if events != &want[..] {
        return Err(alloc::format!("events {events:?}, model {want:?}"));
    }
    let code = match expected.last() {
        Some(Expected::Close(c)) => c.0,
        _ => 1006,
    };
    match last {
        OracleEvent::Close { code: c, .. } if *c == code => Ok(verdict),
        other => Err(alloc::format!("ended with {other:?}, model says {code}")),
    }
}

/// A valid sequence of messages and control frames.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Script {
    /// The steps, in order.
    pub steps: Vec<Step>,
}

/// A random sequence of up to 12 steps.
pub fn script() -> impl Strategy<Value = Script> {
    pvec(step(), 0..12).prop_map(|steps| Script { steps })
}

/// One random [`Step`].
pub fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => message().prop_map(Step::Whole),
        3 => (message(), pvec(any::<Index>(), 0..6), pvec((any::<Index>(), control_payload()), 0..3))
            .prop_map(|(message, cuts, pings)| {
                let len = message.len();
                let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(len + 1)).collect();
                cuts.sort_unstable();
                let pieces = cuts.len() + 1;
                let pings_after = pings.into_iter().map(|(i, p)| (i.index(pieces), p)).collect();
                Step::Fragmented { message, cuts, pings_after }
            }),
        1 => control_payload().prop_map(Step::Ping),
        1 => control_payload().prop_map(Step::Pong),
    ]
}

impl Script {
    /// The frames the steps make, in order.
    pub fn frames(&self) -> Vec<(FrameHeader, Bytes)> {
        let mut frames = Vec::new();
        for step in &self.steps {
            match step {
                Step::Whole(message) => {
                    let opcode = message.kind().opcode();
                    let payload = Bytes::copy_from_slice(message.as_bytes());
                    frames.push((FrameHeader::new(opcode, payload.len() as u64), payload));
                }
                Step::Fragmented {
                    message,
                    cuts,
                    pings_after,
                } => {
                    let bytes = message.as_bytes();
                    let bounds: Vec<usize> = core::iter::once(0)
                        .chain(cuts.iter().copied())
                        .chain(core::iter::once(bytes.len()))
                        .collect();
                    let pieces = bounds.len() - 1;
                    for i in 0..pieces {
                        let opcode = if i == 0 {
                            message.kind().opcode()
                        } else {
                            OpCode::Continuation
                        };
                        let payload = Bytes::copy_from_slice(&bytes[bounds[i]..bounds[i + 1]]);
                        let mut header = FrameHeader::new(opcode, payload.len() as u64);
                        header.fin = i + 1 == pieces;
                        frames.push((header, payload));
                        for (_, ping) in pings_after.iter().filter(|(at, _)| *at == i) {
                            let ping = Bytes::copy_from_slice(ping);
                            frames.push((FrameHeader::new(OpCode::Ping, ping.len() as u64), ping));
                        }
                    }
                }
                Step::Ping(p) | Step::Pong(p) => {
                    let opcode = if matches!(step, Step::Ping(_)) {
                        OpCode::Ping
                    } else {
                        OpCode::Pong
                    };
                    let payload = Bytes::copy_from_slice(p);
                    frames.push((FrameHeader::new(opcode, payload.len() as u64), payload));
                }
            }
        }
        frames
    }

    /// The bytes an endpoint in role `sender` puts on the wire: a client masks every
    /// frame with keys from `SeededEntropy::new(mask_seed)`.
    pub fn encode(&self, sender: Role, mask_seed: u64) -> Vec<u8> {
        let mut entropy = SeededEntropy::new(mask_seed);
        let mut out = Vec::new();
        for (header, payload) in self.frames() {
            encode_frame(&mut out, header, &payload, sender, &mut entropy);
        }
        out
    }

    /// What the receiver must report, in order (no close: the script ends open).
    pub fn expected(&self) -> Vec<Expected> {
        let mut out = Vec::new();
        for step in &self.steps {
            match step {
                Step::Whole(m) => out.push(Expected::Message(m.clone())),
                Step::Fragmented {
                    message,
                    cuts,
                    pings_after,
                } => {
                    let pieces = cuts.len() + 1;
                    for i in 0..pieces {
                        if i + 1 == pieces {
                            out.push(Expected::Message(message.clone()));
                        }
                        for (_, ping) in pings_after.iter().filter(|(at, _)| *at == i) {
                            out.push(Expected::Ping(Bytes::copy_from_slice(ping)));
                        }
                    }
                }
                Step::Ping(p) => out.push(Expected::Ping(Bytes::copy_from_slice(p))),
                Step::Pong(p) => out.push(Expected::Pong(Bytes::copy_from_slice(p))),
            }
        }
        out
    }
}

/// Encodes one frame as `sender` sends it (masked by a client, §5.3).
pub(crate) fn encode_frame(
    out: &mut Vec<u8>,
    mut header: FrameHeader,
    payload: &[u8],
    sender: Role,
    entropy: &mut SeededEntropy,
) {
    if sender == Role::Client {
        let mut key = [0u8; 4];
        // A seeded generator cannot fail.
        let _ = entropy.fill(&mut key);
        header.mask = Some(key);
    }
    header.payload_len = payload.len() as u64;
    header.encode_to_vec(out);
    let start = out.len();
    out.extend_from_slice(payload);
    if let Some(key) = header.mask {
        apply_mask(&mut out[start..], key, 0);
    }
}

/// A random chunking of `bytes`: the pieces, in order, concatenate to it. Pieces of
/// one byte, of random sizes, and the whole.
pub fn chunks(bytes: Vec<u8>) -> impl Strategy<Value = Vec<Vec<u8>>> {
    let len = bytes.len();
    prop_oneof![
        Just(vec![bytes.clone()]),
        Just(bytes.iter().map(|&b| vec![b]).collect()),
        pvec(1usize..=64.max(len / 4 + 1), 1..16).prop_map(move |sizes| {
            let mut out = Vec::new();
            let mut at = 0;
            let mut i = 0;
            while at < len {
                let n = sizes[i % sizes.len()].min(len - at);
                out.push(bytes[at..at + n].to_vec());
                at += n;
                i += 1;
            }
            out
        }),
    ]
}

/// A protocol violation, the close code RFC 6455 requires for it, and the section.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Violation {
    /// Opcode 0x3–0x7 or 0xB–0xF (§5.2): 1002.
    ReservedOpcode,
    /// RSV1–3 set with no extension (§5.2): 1002.
    ReservedBits,
    /// Masked frame to a client, unmasked to a server (§5.1): 1002.
    WrongMasking,
    /// Control frame with more than 125 bytes (§5.5): 1002.
    LongControlFrame,
    /// Control frame without FIN (§5.5): 1002.
    FragmentedControlFrame,
    /// Continuation with no message to continue (§5.4): 1002.
    OrphanContinuation,
    /// New data frame inside a fragmented message (§5.4): 1002.
    InterleavedMessage,
    /// Text that is not UTF-8, in one frame or across fragments (§8.1): 1007.
    InvalidUtf8,
    /// Close frame with a 1-byte body (§5.5.1): 1002.
    OneByteClose,
    /// Close frame with a code that may not be sent (§7.4): 1002.
    InvalidCloseCode,
    /// Close reason that is not UTF-8 (§5.5.1, §8.1): 1007 (1002 is also seen).
    InvalidCloseReason,
    /// 64-bit length with its top bit set (§5.2): 1002.
    LengthTopBit,
}

impl Violation {
    /// Every class.
    pub const ALL: [Violation; 12] = [
        Violation::ReservedOpcode,
        Violation::ReservedBits,
        Violation::WrongMasking,
        Violation::LongControlFrame,
        Violation::FragmentedControlFrame,
        Violation::OrphanContinuation,
        Violation::InterleavedMessage,
        Violation::InvalidUtf8,
        Violation::OneByteClose,
        Violation::InvalidCloseCode,
        Violation::InvalidCloseReason,
        Violation::LengthTopBit,
    ];

    /// The close code the receiver must send.
    pub const fn close_code(self) -> CloseCode {
        match self {
            Violation::InvalidUtf8 | Violation::InvalidCloseReason => CloseCode::INVALID_PAYLOAD,
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }

    /// The RFC 6455 section that decides it.
    pub const fn section(self) -> &'static str {
        match self {
            Violation::ReservedOpcode | Violation::ReservedBits | Violation::LengthTopBit => "5.2",
            Violation::WrongMasking => "5.1",
            Violation::LongControlFrame | Violation::FragmentedControlFrame => "5.5",
            Violation::OrphanContinuation | Violation::InterleavedMessage => "5.4",
            Violation::InvalidUtf8 => "8.1",
            Violation::OneByteClose => "5.5.1",
            Violation::InvalidCloseCode => "7.4",
            Violation::InvalidCloseReason => "5.5.1",
        }
    }

    /// A short name, stable for reports and vector files.
    pub const fn name(self) -> &'static str {
        match self {
            Violation::ReservedOpcode => "reserved-opcode",
            Violation::ReservedBits => "reserved-bits",
            Violation::WrongMasking => "wrong-masking",
            Violation::LongControlFrame => "long-control-frame",
            Violation::FragmentedControlFrame => "fragmented-control-frame",
            Violation::OrphanContinuation => "orphan-continuation",
            Violation::InterleavedMessage => "interleaved-message",
            Violation::InvalidUtf8 => "invalid-utf8",
            Violation::OneByteClose => "one-byte-close",
            Violation::InvalidCloseCode => "invalid-close-code",
            Violation::InvalidCloseReason => "invalid-close-reason",
            Violation::LengthTopBit => "length-top-bit",
        }
    }
}

/// A byte stream that breaks the protocol, with what the receiver must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Labelled {
    /// The role of the endpoint that receives `bytes`.
    pub receiver: Role,
    /// The stream: a valid prefix, the violation, then junk that must be ignored.
    pub bytes: Vec<u8>,
    /// How many bytes of `bytes` the valid prefix takes: the violation starts there.
    pub prefix_len: usize,
    /// Where the violation ends and the junk starts.
    pub violation_end: usize,
    /// The events the receiver must report, ending with [`Expected::Close`] and the
    /// code it must send.
    pub expected: Vec<Expected>,
    /// What was broken.
    pub violation: Violation,
}

/// An invalid stream for an endpoint in role `receiver`: a random valid prefix (whose
/// messages must be delivered), one violation of a random class, then junk.
pub fn invalid_stream(receiver: Role) -> impl Strategy<Value = Labelled> {
    let sender = receiver.peer();
    (
        script(),
        proptest::sample::select(&Violation::ALL[..]),
        any::<u64>(),
        pvec(any::<u8>(), 0..32),
    )
        .prop_map(move |(prefix, violation, seed, junk)| {
            let mut entropy = SeededEntropy::new(seed);
            let mut bytes = prefix.encode(sender, seed);
            let mut expected = prefix.expected();
            let prefix_len = bytes.len();
            let pick = (seed >> 32) as usize;
            let frame =
                |out: &mut Vec<u8>, header: FrameHeader, payload: &[u8], e: &mut SeededEntropy| {
                    encode_frame(out, header, payload, sender, e)
                };
            match violation {
                Violation::ReservedOpcode => {
                    let op = [3u8, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF][pick % 10];
                    let at = bytes.len();
                    frame(
                        &mut bytes,
                        FrameHeader::new(OpCode::Binary, 3),
                        b"abc",
                        &mut entropy,
                    );
                    bytes[at] = 0x80 | op;
                }
                Violation::ReservedBits => {
                    let at = bytes.len();
                    frame(
                        &mut bytes,
                        FrameHeader::new(OpCode::Text, 2),
                        b"hi",
                        &mut entropy,
                    );
                    bytes[at] |= (1 + (pick % 7) as u8) << 4;
                }
                Violation::WrongMasking => {
                    let mut header = FrameHeader::new(OpCode::Text, 2);
                    header.mask = (sender == Role::Server).then_some([1, 2, 3, 4]);
                    header.encode_to_vec(&mut bytes);
                    let start = bytes.len();
                    bytes.extend_from_slice(b"hi");
                    if let Some(key) = header.mask {
                        apply_mask(&mut bytes[start..], key, 0);
                    }
                }
                Violation::LongControlFrame => {
                    let op = [OpCode::Ping, OpCode::Pong, OpCode::Close][pick % 3];
                    frame(
                        &mut bytes,
                        FrameHeader::new(op, 126),
                        &[b'x'; 126],
                        &mut entropy,
                    );
                }
                Violation::FragmentedControlFrame => {
                    let op = [OpCode::Ping, OpCode::Pong, OpCode::Close][pick % 3];
                    let mut header = FrameHeader::new(op, 1);
                    header.fin = false;
                    frame(&mut bytes, header, b"x", &mut entropy);
                }
                Violation::OrphanContinuation => {
                    let mut header = FrameHeader::new(OpCode::Continuation, 3);
                    header.fin = pick.is_multiple_of(2);
                    frame(&mut bytes, header, b"abc", &mut entropy);
                }
                Violation::InterleavedMessage => {
                    let mut first = FrameHeader::new(OpCode::Binary, 1);
                    first.fin = false;
                    frame(&mut bytes, first, b"a", &mut entropy);
                    let op = [OpCode::Text, OpCode::Binary][pick % 2];
                    frame(&mut bytes, FrameHeader::new(op, 1), b"b", &mut entropy);
                }
                Violation::InvalidUtf8 => {
                    let bad: &[&[u8]] = &[
                        b"\xff",
                        b"\xc0\xaf",
                        b"\xed\xa0\x80",
                        b"\xf4\x90\x80\x80",
                        b"ok\xe2\x82",
                    ];
                    let payload = bad[pick % bad.len()];
                    if pick.is_multiple_of(3) && payload.len() > 1 {
                        let mut first = FrameHeader::new(OpCode::Text, 1);
                        first.fin = false;
                        frame(&mut bytes, first, &payload[..1], &mut entropy);
                        frame(
                            &mut bytes,
                            FrameHeader::new(OpCode::Continuation, 0),
                            &payload[1..],
                            &mut entropy,
                        );
                    } else {
                        frame(
                            &mut bytes,
                            FrameHeader::new(OpCode::Text, 0),
                            payload,
                            &mut entropy,
                        );
                    }
                }
                Violation::OneByteClose => {
                    frame(
                        &mut bytes,
                        FrameHeader::new(OpCode::Close, 1),
                        b"\x03",
                        &mut entropy,
                    );
                }
                Violation::InvalidCloseCode => {
                    let codes = [
                        0u16, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
                    ];
                    let body = codes[pick % codes.len()].to_be_bytes();
                    frame(
                        &mut bytes,
                        FrameHeader::new(OpCode::Close, 2),
                        &body,
                        &mut entropy,
                    );
                }
                Violation::InvalidCloseReason => {
                    frame(
                        &mut bytes,
                        FrameHeader::new(OpCode::Close, 0),
                        b"\x03\xe8\xff\xfe",
                        &mut entropy,
                    );
                }
                Violation::LengthTopBit => {
                    let masked = sender == Role::Client;
                    bytes.push(0x82);
                    bytes.push(if masked { 0x80 | 127 } else { 127 });
                    bytes.extend_from_slice(&(1u64 << 63 | 5).to_be_bytes());
                    if masked {
                        bytes.extend_from_slice(&[9, 9, 9, 9]);
                    }
                }
            }
            let violation_end = bytes.len();
            bytes.extend_from_slice(&junk);
            expected.push(Expected::Close(violation.close_code()));
            Labelled {
                receiver,
                bytes,
                prefix_len,
                violation_end,
                expected,
                violation,
            }
        })
}

/// `n` values of `strategy`, the same every time for the same `seed` (and the same
/// proptest version): for generating fixed vectors and corpora.
pub fn sample<S: Strategy>(strategy: S, seed: u64, n: usize) -> Vec<S::Value> {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &key);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    (0..n)
        .filter_map(|_| strategy.new_tree(&mut runner).ok().map(|t| t.current()))
        .collect()
}

/// A message kind.
pub fn message_kind() -> impl Strategy<Value = MessageKind> {
    prop_oneof![Just(MessageKind::Text), Just(MessageKind::Binary)]
}
