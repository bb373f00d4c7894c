//! Strategies for permessage-deflate (RFC 7692; features `proptest` and `deflate`).
//!
//! Compressed streams are built from the extension's definition, not through
//! [`Connection`](crate::Connection): each message is compressed with flate2 called
//! directly, with a sync flush after every frame's piece and the final empty block's
//! four bytes left off the last (§7.2.1), RSV1 on the first frame only (§6.1), a
//! fresh compressor per message when the sender's direction has no context takeover
//! (§7.1.1), and the sender's window (§7.1.2).

use alloc::vec::Vec;

use bytes::Bytes;
use flate2::{Compress, Compression, FlushCompress};
use proptest::collection::vec as pvec;
use proptest::prelude::*;

use super::{Expected, Script, encode_frame, script};
use crate::close::CloseCode;
use crate::deflate::DeflateParams;
use crate::entropy::SeededEntropy;
use crate::frame::{FrameHeader, OpCode};
use crate::role::Role;

/// The empty stored block a sync flush ends with (§7.2.1).
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Any parameters a handshake can settle: windows of 8 to 15 bits, context takeover
/// on or off, in each direction.
pub fn deflate_params() -> impl Strategy<Value = DeflateParams> {
    (any::<bool>(), any::<bool>(), 8u8..=15, 8u8..=15).prop_map(|(sr, cr, sb, cb)| DeflateParams {
        server_no_context_takeover: sr,
        client_no_context_takeover: cr,
        server_max_window_bits: sb,
        client_max_window_bits: cb,
    })
}

/// A valid [`Script`] as a sender compresses it under `params`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompressedScript {
    /// The role of the endpoint that sends it.
    pub sender: Role,
    /// What the handshake settled.
    pub params: DeflateParams,
    /// The messages and control frames.
    pub script: Script,
    /// The bytes on the wire.
    pub bytes: Vec<u8>,
    /// What the receiver must report: the script's messages, inflated.
    pub expected: Vec<Expected>,
}

/// A random script compressed by `sender`: some messages compressed and some not
/// (compression is per message, §6), at a random level; a sender whose window is 8
/// bits sends every message uncompressed, as zlib cannot compress with it.
pub fn compressed_script(sender: Role) -> impl Strategy<Value = CompressedScript> {
    (
        deflate_params(),
        script(),
        pvec(any::<bool>(), 12),
        0u32..=9,
        any::<u64>(),
    )
        .prop_map(move |(params, script, compress, level, seed)| {
            let bytes = compress_script(&script, sender, params, &compress, level, seed);
            let expected = script.expected();
            CompressedScript {
                sender,
                params,
                script,
                bytes,
                expected,
            }
        })
}

/// The sender's side of `params`: its window and whether it drops its context.
fn own_side(sender: Role, params: DeflateParams) -> (u8, bool) {
    match sender {
        Role::Server => (
            params.server_max_window_bits,
            params.server_no_context_takeover,
        ),
        Role::Client => (
            params.client_max_window_bits,
            params.client_no_context_takeover,
        ),
    }
}

fn compressor(level: u32, bits: u8) -> Compress {
    Compress::new_with_window_bits(Compression::new(level), false, bits)
}

/// Compresses one frame's piece of a message with a sync flush; at the message's
/// end, leaves the flush's empty block off (§7.2.1).
fn compress_piece(c: &mut Compress, input: &[u8], last: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() + 64);
    let start = c.total_in();
    loop {
        let done = (c.total_in() - start) as usize;
        if out.capacity() - out.len() < 64 {
            out.reserve(out.capacity() + 64);
        }
        // Errors are misuse of zlib's API, which this loop does not commit.
        let _ = c.compress_vec(&input[done..], &mut out, FlushCompress::Sync);
        if (c.total_in() - start) as usize == input.len() && out.len() < out.capacity() {
            break;
        }
    }
    if last {
        if out.ends_with(&TAIL) {
            out.truncate(out.len() - TAIL.len());
        } else {
            // Nothing was flushed (no input since the last flush). One zero byte
            // starts a stored block, which the receiver's appended tail completes
            // as an empty one.
            out.push(0);
        }
    }
    out
}

fn compress_script(
    script: &Script,
    sender: Role,
    params: DeflateParams,
    compress: &[bool],
    level: u32,
    seed: u64,
) -> Vec<u8> {
    let (bits, reset) = own_side(sender, params);
    let mut entropy = SeededEntropy::new(seed);
    let mut out = Vec::new();
    let mut c = (bits >= 9).then(|| compressor(level, bits));
    let mut messages = 0;
    let mut compressing = false;
    for (mut header, payload) in script.frames() {
        let mut payload = payload;
        if !header.opcode.is_control() {
            if header.opcode != OpCode::Continuation {
                compressing = c.is_some() && compress[messages % compress.len()];
                messages += 1;
                if compressing {
                    header.rsv = 0b100;
                }
            }
            if compressing && let Some(c) = &mut c {
                payload = Bytes::from(compress_piece(c, &payload, header.fin));
                if header.fin && reset {
                    *c = compressor(level, bits);
                }
            }
        }
        encode_frame(&mut out, header, &payload, sender, &mut entropy);
    }
    out
}

/// A way of breaking permessage-deflate, and the close code it calls for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DeflateViolation {
    /// RSV1 on a continuation frame (RFC 7692 §6.1): 1002.
    Rsv1OnContinuation,
    /// RSV1 on a control frame (RFC 7692 §6.1, RFC 6455 §5.5): 1002.
    Rsv1OnControl,
    /// A compressed payload that is not a DEFLATE stream (RFC 7692 §7.2.2): 1007.
    NotDeflate,
    /// A compressed text message that inflates to invalid UTF-8 (RFC 6455 §8.1):
    /// 1007.
    InflatedInvalidUtf8,
    /// A small compressed message that inflates past the receiver's message limit
    /// (a policy, RFC 6455 §7.4.1): 1009.
    InflatesPastLimit,
}

impl DeflateViolation {
    /// Every class.
    pub const ALL: [DeflateViolation; 5] = [
        DeflateViolation::Rsv1OnContinuation,
        DeflateViolation::Rsv1OnControl,
        DeflateViolation::NotDeflate,
        DeflateViolation::InflatedInvalidUtf8,
        DeflateViolation::InflatesPastLimit,
    ];

    /// The close code the receiver must send.
    pub const fn close_code(self) -> CloseCode {
        match self {
            DeflateViolation::Rsv1OnContinuation | DeflateViolation::Rsv1OnControl => {
                CloseCode::PROTOCOL_ERROR
            }
            DeflateViolation::NotDeflate | DeflateViolation::InflatedInvalidUtf8 => {
                CloseCode::INVALID_PAYLOAD
            }
            DeflateViolation::InflatesPastLimit => CloseCode::MESSAGE_TOO_BIG,
        }
    }

    /// A short name, stable for reports and vector files.
    pub const fn name(self) -> &'static str {
        match self {
            DeflateViolation::Rsv1OnContinuation => "rsv1-on-continuation",
            DeflateViolation::Rsv1OnControl => "rsv1-on-control",
            DeflateViolation::NotDeflate => "not-deflate",
            DeflateViolation::InflatedInvalidUtf8 => "inflated-invalid-utf8",
            DeflateViolation::InflatesPastLimit => "inflates-past-limit",
        }
    }
}

/// A compressed stream that breaks permessage-deflate, with what the receiver must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeflateLabelled {
    /// The role of the endpoint that receives `bytes`.
    pub receiver: Role,
    /// What the handshake settled.
    pub params: DeflateParams,
    /// The receiver's message limit (`Config::max_message_size`) the stream is
    /// judged under: a bomb inflates past it.
    pub max_message_size: u64,
    /// A valid compressed prefix, the violation, then junk that must be ignored.
    pub bytes: Vec<u8>,
    /// The events the receiver must report, ending with [`Expected::Close`].
    pub expected: Vec<Expected>,
    /// What was broken.
    pub violation: DeflateViolation,
}

/// The receiver's message limit in [`invalid_deflate_stream`]: above every message
/// the valid prefix holds, an eighth of what a bomb inflates to.
pub const BOMB_LIMIT: u64 = 128 << 10;

/// An invalid compressed stream for an endpoint in role `receiver`: a random valid
/// compressed prefix (whose messages must be delivered), one violation, then junk.
pub fn invalid_deflate_stream(receiver: Role) -> impl Strategy<Value = DeflateLabelled> {
    let sender = receiver.peer();
    (
        compressed_script(sender),
        proptest::sample::select(&DeflateViolation::ALL[..]),
        any::<u64>(),
        pvec(any::<u8>(), 0..32),
    )
        .prop_map(move |(prefix, violation, seed, junk)| {
            let mut entropy = SeededEntropy::new(seed);
            let mut bytes = prefix.bytes;
            let mut expected = prefix.expected;
            // Violations are compressed from a fresh context with a 9-bit window,
            // which any negotiated window reads, whatever came before.
            let mut fresh = compressor(6, 9);
            let mut frame = |out: &mut Vec<u8>, opcode, fin, rsv, payload: &[u8]| {
                let mut header = FrameHeader::new(opcode, payload.len() as u64);
                header.fin = fin;
                header.rsv = rsv;
                encode_frame(out, header, payload, sender, &mut entropy);
            };
            match violation {
                DeflateViolation::Rsv1OnContinuation => {
                    let z = compress_piece(&mut fresh, b"a fragmented message", true);
                    let (first, rest) = z.split_at(z.len() / 2);
                    frame(&mut bytes, OpCode::Text, false, 0b100, first);
                    frame(&mut bytes, OpCode::Continuation, true, 0b100, rest);
                }
                DeflateViolation::Rsv1OnControl => {
                    let op = [OpCode::Ping, OpCode::Pong, OpCode::Close][(seed % 3) as usize];
                    frame(&mut bytes, op, true, 0b100, b"");
                }
                DeflateViolation::NotDeflate => {
                    // BTYPE 11 is reserved (RFC 1951 §3.2.3): never a valid block.
                    frame(&mut bytes, OpCode::Binary, true, 0b100, &[0x07, 0x00, 0x11]);
                }
                DeflateViolation::InflatedInvalidUtf8 => {
                    let z = compress_piece(&mut fresh, &[b'o', b'k', 0xc3, 0x28], true);
                    frame(&mut bytes, OpCode::Text, true, 0b100, &z);
                }
                DeflateViolation::InflatesPastLimit => {
                    let zeros = alloc::vec![0u8; (BOMB_LIMIT as usize) * 8];
                    let z = compress_piece(&mut fresh, &zeros, true);
                    frame(&mut bytes, OpCode::Binary, true, 0b100, &z);
                }
            }
            bytes.extend_from_slice(&junk);
            expected.push(Expected::Close(violation.close_code()));
            DeflateLabelled {
                receiver,
                params: prefix.params,
                max_message_size: BOMB_LIMIT,
                bytes,
                expected,
                violation,
            }
        })
}
