//! The frame codec of RFC 6455 §5.2, usable without a [`Connection`](crate::Connection).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-------+-+-------------+-------------------------------+
//! |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//! |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
//! |N|V|V|V|       |S|             |   (if payload len==126/127)   |
//! | |1|2|3|       |K|             |                               |
//! +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
//! |     Extended payload length continued, if payload len == 127  |
//! + - - - - - - - - - - - - - - - +-------------------------------+
//! |                               |Masking-key, if MASK set to 1  |
//! +-------------------------------+-------------------------------+
//! ```
//!
//! Three levels are offered:
//! - [`decode_header`] / [`FrameHeader::encode`]: one header, from or into a slice;
//! - [`FrameReader`]: a streaming reader that splits any chunking of a byte stream into
//!   headers and payload pieces without buffering payload (the `Connection` runs on it);
//! - [`FrameDecoder`]: whole frames with their payload unmasked, for tools and tests.
//!
//! "Need more bytes" is never an error: it is [`Decode::Incomplete`] or `Ok(None)`.

use alloc::vec::Vec;
use bytes::{Bytes, BytesMut};

use crate::error::ProtocolError;
use crate::mask::apply_mask;

/// The longest header: 2 fixed bytes, 8 bytes of extended length, 4 bytes of mask key.
pub const MAX_HEADER_LEN: usize = 14;

/// The largest payload a control frame may carry (RFC 6455 §5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// A frame opcode (RFC 6455 §5.2, §11.8). Reserved opcodes are not representable:
/// decoding one is [`ProtocolError::ReservedOpcode`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpCode {
    /// `0x0`: a continuation of a fragmented message.
    Continuation,
    /// `0x1`: the first frame of a text message.
    Text,
    /// `0x2`: the first frame of a binary message.
    Binary,
    /// `0x8`: a close frame.
    Close,
    /// `0x9`: a ping.
    Ping,
    /// `0xA`: a pong.
    Pong,
}

impl OpCode {
    /// The opcode for a 4-bit value, or `None` for the reserved values 0x3–0x7 and 0xB–0xF.
    pub const fn from_u8(value: u8) -> Option<OpCode> {
        Some(match value {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xA => OpCode::Pong,
            _ => return None,
        })
    }

    /// The 4-bit wire value.
    pub const fn as_u8(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xA,
        }
    }

    /// Whether this is a control opcode (the high bit of the nibble is set, §5.5).
    pub const fn is_control(self) -> bool {
        self.as_u8() & 0x8 != 0
    }
}

/// A decoded or to-be-encoded frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct FrameHeader {
    /// FIN: this is the final fragment of a message.
    pub fin: bool,
    /// RSV1, RSV2, RSV3 as the low three bits (RSV1 is `0b100`). Non-zero only when an
    /// extension gives them a meaning (§5.2); checking that is the connection's job.
    pub rsv: u8,
    /// The opcode.
    pub opcode: OpCode,
    /// The masking key, present exactly when the MASK bit is set (§5.3).
    pub mask: Option<[u8; 4]>,
    /// The payload length in bytes (at most 2^63 - 1 on the wire).
    pub payload_len: u64,
}

#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for OpCode {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(*u.choose(&[
            OpCode::Continuation,
            OpCode::Text,
            OpCode::Binary,
            OpCode::Close,
            OpCode::Ping,
            OpCode::Pong,
        ])?)
    }
}

/// The result of [`decode_header`] when the input is well-formed so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decode {
    /// The header and how many bytes of input it took.
    Complete(FrameHeader, usize),
    /// The input holds a valid prefix; at least this many bytes in total are needed.
    Incomplete(usize),
}

/// Decodes one frame header from the start of `buf`.
///
/// Checks what the header alone can tell (§5.2, §5.5): reserved opcodes, the most
/// significant bit of a 64-bit length, and that control frames are final and carry at
/// most 125 bytes. RSV bits and the MASK bit are returned as found; whether they are
/// allowed depends on the negotiated extensions and on the role.
///
/// Non-minimal length encodings are accepted: §5.2 binds the sender to the minimal
/// form, and refusing a frame for it would protect nothing.
#[inline(always)]
pub fn decode_header(buf: &[u8]) -> Result<Decode, ProtocolError> {
    let [b0, b1, ..] = *buf else {
        return Ok(Decode::Incomplete(2));
    };
    let Some(opcode) = OpCode::from_u8(b0 & 0x0F) else {
        return Err(ProtocolError::ReservedOpcode(b0 & 0x0F));
    };
    let fin = b0 & 0x80 != 0;
    let len7 = b1 & 0x7F;
    if opcode.is_control() {
        // §5.5: "All control frames MUST have a payload length of 125 bytes or less and
        // MUST NOT be fragmented."
        if !fin {
            return Err(ProtocolError::FragmentedControlFrame);
        }
        if len7 > 125 {
            return Err(ProtocolError::ControlFrameTooLong);
        }
    }
    let masked = b1 & 0x80 != 0;
    let ext = match len7 {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    let total = 2 + ext + if masked { 4 } else { 0 };
    if buf.len() < total {
        return Ok(Decode::Incomplete(total));
    }
    let payload_len = match len7 {
        126 => u64::from(u16::from_be_bytes([buf[2], buf[3]])),
        127 => {
            let mut be = [0u8; 8];
            be.copy_from_slice(&buf[2..10]);
            let len = u64::from_be_bytes(be);
            // §5.2: "the most significant bit MUST be 0".
            if len >> 63 != 0 {
                return Err(ProtocolError::LengthOverflow);
            }
            len
        }
        n => u64::from(n),
    };
    let mask = if masked {
        // One 4-byte load (four byte loads would be stored and read back as one
        // word, and the read would wait on the stores).
        let mut key = [0u8; 4];
        key.copy_from_slice(&buf[2 + ext..total]);
        Some(key)
    } else {
        None
    };
    let header = FrameHeader {
        fin,
        rsv: (b0 >> 4) & 0x7,
        opcode,
        mask,
        payload_len,
    };
    Ok(Decode::Complete(header, total))
}

impl FrameHeader {
    /// A header for an unfragmented, unmasked frame with no RSV bits.
    pub const fn new(opcode: OpCode, payload_len: u64) -> FrameHeader {
        FrameHeader {
            fin: true,
            rsv: 0,
            opcode,
            mask: None,
            payload_len,
        }
    }

    /// How many bytes [`encode`](Self::encode) writes.
    pub const fn encoded_len(&self) -> usize {
        let ext = if self.payload_len < 126 {
            0
        } else if self.payload_len <= 0xFFFF {
            2
        } else {
            8
        };
        2 + ext + if self.mask.is_some() { 4 } else { 0 }
    }

    /// Writes the header with the minimal length form (§5.2) and returns how many bytes
    /// of `out` it used. A length with the top bit set is clamped to 2^63 - 1, the
    /// largest the wire can carry.
    pub fn encode(&self, out: &mut [u8; MAX_HEADER_LEN]) -> usize {
        out[0] = u8::from(self.fin) << 7 | (self.rsv & 0x7) << 4 | self.opcode.as_u8();
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let len = self.payload_len.min(u64::MAX >> 1);
        let mut at = if len < 126 {
            out[1] = mask_bit | len as u8;
            2
        } else if len <= 0xFFFF {
            out[1] = mask_bit | 126;
            out[2..4].copy_from_slice(&(len as u16).to_be_bytes());
            4
        } else {
            out[1] = mask_bit | 127;
            out[2..10].copy_from_slice(&len.to_be_bytes());
            10
        };
        if let Some(key) = self.mask {
            out[at..at + 4].copy_from_slice(&key);
            at += 4;
        }
        at
    }

    /// Appends the encoded header to `out`.
    pub fn encode_to_vec(&self, out: &mut Vec<u8>) {
        let mut buf = [0u8; MAX_HEADER_LEN];
        let n = self.encode(&mut buf);
        out.extend_from_slice(&buf[..n]);
    }
}

/// A piece of a frame produced by [`FrameReader::read`].
#[derive(Debug, PartialEq, Eq)]
pub enum Chunk<'a> {
    /// A complete header. Payload pieces of this frame follow.
    Header(FrameHeader),
    /// Payload bytes as they are on the wire (still masked).
    Payload(PayloadChunk<'a>),
}

/// Payload bytes of the current frame, borrowed from the input.
#[derive(Debug, PartialEq, Eq)]
pub struct PayloadChunk<'a> {
    /// The bytes as received; masked if the frame is masked.
    pub data: &'a [u8],
    /// The frame's masking key, if any.
    pub mask: Option<[u8; 4]>,
    /// Position of `data[0]` within the frame's payload (for the mask rotation).
    pub offset: u64,
    /// This piece ends the frame.
    pub last: bool,
}

impl PayloadChunk<'_> {
    /// Appends the unmasked bytes to `out` (one copy, then the XOR in cache).
    pub fn unmask_into(&self, out: &mut BytesMut) {
        let start = out.len();
        out.extend_from_slice(self.data);
        self.unmask_in_place(&mut out[start..]);
    }

    /// Copies the unmasked bytes into `out`, which must be exactly as long.
    pub fn unmask_to(&self, out: &mut [u8]) {
        out.copy_from_slice(self.data);
        self.unmask_in_place(out);
    }

    fn unmask_in_place(&self, copy: &mut [u8]) {
        if let Some(key) = self.mask {
            apply_mask(copy, key, (self.offset & 3) as usize);
        }
    }
}

/// A streaming frame reader: feed it any chunking of a byte stream and it yields each
/// header once it is complete, then the payload as it arrives, without copying or
/// buffering payload bytes. Only a partial header (at most 14 bytes) is kept.
///
/// ```
/// use wsmachine::frame::{Chunk, FrameReader};
/// let mut reader = FrameReader::new();
/// let mut input: &[u8] = &[0x81, 0x05, b'H', b'e', b'l'];
/// assert!(matches!(reader.read(&mut input), Ok(Some(Chunk::Header(_)))));
/// let Ok(Some(Chunk::Payload(p))) = reader.read(&mut input) else { panic!() };
/// assert_eq!((p.data, p.last), (&b"Hel"[..], false));
/// assert_eq!(reader.read(&mut input), Ok(None)); // needs the rest: not an error
/// ```
#[derive(Clone, Debug, Default)]
pub struct FrameReader {
    head: [u8; MAX_HEADER_LEN],
    head_len: u8,
    /// The frame whose payload is being read, if its header is complete.
    current: Option<InFrame>,
}

#[derive(Clone, Copy, Debug)]
struct InFrame {
    mask: Option<[u8; 4]>,
    len: u64,
    done: u64,
}

impl FrameReader {
    /// A reader at a frame boundary.
    pub const fn new() -> FrameReader {
        FrameReader {
            head: [0; MAX_HEADER_LEN],
            head_len: 0,
            current: None,
        }
    }

    /// Whether the reader sits exactly between two frames.
    pub fn at_boundary(&self) -> bool {
        self.head_len == 0 && self.current.is_none()
    }

    /// Takes the next piece from the front of `input`, advancing it past what was used.
    ///
    /// Returns `Ok(None)` when `input` is used up without completing a piece. A frame
    /// with an empty payload yields its header and then one empty, `last` payload
    /// piece, so every frame ends with exactly one piece that has `last` set.
    /// After an error the reader must not be used again.
    #[inline]
    pub fn read<'a>(&mut self, input: &mut &'a [u8]) -> Result<Option<Chunk<'a>>, ProtocolError> {
        if let Some(frame) = &mut self.current {
            let remaining = frame.len - frame.done;
            if remaining > 0 && input.is_empty() {
                return Ok(None);
            }
            let take = usize::try_from(remaining)
                .unwrap_or(usize::MAX)
                .min(input.len());
            let (data, rest) = input.split_at(take);
            *input = rest;
            let offset = frame.done;
            frame.done += take as u64;
            let last = frame.done == frame.len;
            let chunk = PayloadChunk {
                data,
                mask: frame.mask,
                offset,
                last,
            };
            if last {
                self.current = None;
            }
            return Ok(Some(Chunk::Payload(chunk)));
        }
        let header = if self.head_len == 0 {
            // Fast path: the whole header is in the input.
            match decode_header(input)? {
                Decode::Complete(header, used) => {
                    *input = &input[used..];
                    header
                }
                Decode::Incomplete(_) => match self.read_stashed(input)? {
                    Some(header) => header,
                    None => return Ok(None),
                },
            }
        } else {
            match self.read_stashed(input)? {
                Some(header) => header,
                None => return Ok(None),
            }
        };
        self.current = Some(InFrame {
            mask: header.mask,
            len: header.payload_len,
            done: 0,
        });
        Ok(Some(Chunk::Header(header)))
    }

    /// Moves header bytes from `input` into the stash until the header decodes or the
    /// input is used up. Each step takes exactly the bytes [`Decode::Incomplete`] says
    /// are still missing, so the stash never holds a byte past the header.
    fn read_stashed(&mut self, input: &mut &[u8]) -> Result<Option<FrameHeader>, ProtocolError> {
        loop {
            let have = usize::from(self.head_len);
            match decode_header(&self.head[..have])? {
                Decode::Complete(header, _) => {
                    self.head_len = 0;
                    return Ok(Some(header));
                }
                Decode::Incomplete(need) => {
                    if input.is_empty() {
                        return Ok(None);
                    }
                    let take = (need - have).min(input.len());
                    self.head[have..have + take].copy_from_slice(&input[..take]);
                    self.head_len += take as u8;
                    *input = &input[take..];
                }
            }
        }
    }
}

/// A frame with its payload unmasked, as [`FrameDecoder`] returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The header as received (its `mask` tells whether the frame was masked).
    pub header: FrameHeader,
    /// The unmasked payload.
    pub payload: Bytes,
}

/// Collects whole frames from a byte stream, refusing payloads above a size limit
/// before buffering them. Unlike a `Connection` it checks nothing about roles,
/// fragmentation or UTF-8: it is a codec.
#[derive(Clone, Debug)]
pub struct FrameDecoder {
    reader: FrameReader,
    header: Option<FrameHeader>,
    payload: BytesMut,
    max_payload: u64,
}

impl FrameDecoder {
    /// A decoder that refuses frames whose payload exceeds `max_payload` bytes.
    pub fn new(max_payload: u64) -> FrameDecoder {
        FrameDecoder {
            reader: FrameReader::new(),
            header: None,
            payload: BytesMut::new(),
            max_payload,
        }
    }

    /// Consumes bytes from the front of `input` until a frame completes (returned) or
    /// the input is used up (`Ok(None)`).
    pub fn decode(&mut self, input: &mut &[u8]) -> Result<Option<Frame>, ProtocolError> {
        while let Some(chunk) = self.reader.read(input)? {
            match chunk {
                Chunk::Header(header) => {
                    if header.payload_len > self.max_payload {
                        return Err(ProtocolError::FrameTooLarge {
                            size: header.payload_len,
                            max: self.max_payload,
                        });
                    }
                    self.header = Some(header);
                }
                Chunk::Payload(piece) => {
                    piece.unmask_into(&mut self.payload);
                    if piece.last
                        && let Some(header) = self.header.take()
                    {
                        let payload = self.payload.split().freeze();
                        return Ok(Some(Frame { header, payload }));
                    }
                }
            }
        }
        Ok(None)
    }
}

impl Frame {
    /// Encodes the frame, masking the payload with `header.mask` if set.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut header = self.header;
        header.payload_len = self.payload.len() as u64;
        header.encode_to_vec(out);
        let start = out.len();
        out.extend_from_slice(&self.payload);
        if let Some(key) = header.mask {
            apply_mask(&mut out[start..], key, 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    /// Decodes `bytes` as exactly one frame, fed in two pieces at every split point.
    fn decode_one_at_every_split(bytes: &[u8]) -> Frame {
        let mut whole = None;
        for split in 0..=bytes.len() {
            let mut decoder = FrameDecoder::new(1 << 20);
            let (a, b) = bytes.split_at(split);
            let mut a = a;
            let mut frame = decoder.decode(&mut a).unwrap();
            assert!(a.is_empty());
            let mut b = b;
            if frame.is_none() {
                frame = decoder.decode(&mut b).unwrap();
            }
            assert!(b.is_empty(), "split {split}: bytes left over");
            let frame = frame.unwrap_or_else(|| panic!("split {split}: no frame"));
            if let Some(w) = &whole {
                assert_eq!(&frame, w);
            }
            whole = Some(frame);
        }
        whole.unwrap()
    }

    #[test]
    fn rfc_5_7_unmasked_hello() {
        let f = decode_one_at_every_split(&[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
        assert_eq!(f.header, FrameHeader::new(OpCode::Text, 5));
        assert_eq!(&f.payload[..], b"Hello");
    }

    #[test]
    fn rfc_5_7_masked_hello() {
        let wire = [
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        let f = decode_one_at_every_split(&wire);
        assert_eq!(f.header.mask, Some([0x37, 0xfa, 0x21, 0x3d]));
        assert_eq!(&f.payload[..], b"Hello");
        let mut out = Vec::new();
        f.encode(&mut out);
        assert_eq!(out, wire);
    }

    #[test]
    fn rfc_5_7_fragmented_hel_lo() {
        let first = decode_one_at_every_split(&[0x01, 0x03, 0x48, 0x65, 0x6c]);
        assert!(!first.header.fin);
        assert_eq!(first.header.opcode, OpCode::Text);
        assert_eq!(&first.payload[..], b"Hel");
        let second = decode_one_at_every_split(&[0x80, 0x02, 0x6c, 0x6f]);
        assert!(second.header.fin);
        assert_eq!(second.header.opcode, OpCode::Continuation);
        assert_eq!(&second.payload[..], b"lo");
    }

    #[test]
    fn rfc_5_7_ping_and_masked_pong() {
        let ping = decode_one_at_every_split(&[0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
        assert_eq!(ping.header.opcode, OpCode::Ping);
        let pong = decode_one_at_every_split(&[
            0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ]);
        assert_eq!(pong.header.opcode, OpCode::Pong);
        assert_eq!(pong.payload, ping.payload);
    }

    #[test]
    fn rfc_5_7_256_byte_and_64_kib_headers() {
        let mut h = [0u8; MAX_HEADER_LEN];
        let n = FrameHeader::new(OpCode::Binary, 256).encode(&mut h);
        assert_eq!(&h[..n], &[0x82, 0x7E, 0x01, 0x00]);
        let n = FrameHeader::new(OpCode::Binary, 65536).encode(&mut h);
        assert_eq!(&h[..n], &[0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0, 0]);

        let mut wire = vec![0x82, 0x7E, 0x01, 0x00];
        wire.extend((0..256).map(|i| i as u8));
        let f = decode_one_at_every_split(&wire);
        assert_eq!(f.payload.len(), 256);
        assert_eq!(f.payload[255], 255);

        let mut wire = vec![0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0, 0];
        wire.resize(10 + 65536, 0xAB);
        let mut decoder = FrameDecoder::new(1 << 20);
        let mut input = &wire[..];
        let f = decoder.decode(&mut input).unwrap().unwrap();
        assert_eq!(f.header.payload_len, 65536);
        assert!(f.payload.iter().all(|&b| b == 0xAB));
    }

    #[test]
    fn encodes_the_minimal_length_form_at_each_boundary() {
        for (len, header_len) in [
            (0u64, 2),
            (125, 2),
            (126, 4),
            (0xFFFF, 4),
            (0x1_0000, 10),
            (u64::MAX >> 1, 10),
        ] {
            let header = FrameHeader::new(OpCode::Binary, len);
            let mut buf = [0u8; MAX_HEADER_LEN];
            assert_eq!(header.encode(&mut buf), header_len);
            assert_eq!(header.encoded_len(), header_len);
            assert_eq!(
                decode_header(&buf[..header_len]),
                Ok(Decode::Complete(header, header_len))
            );
        }
    }

    #[test]
    fn incomplete_is_a_status_not_an_error() {
        assert_eq!(decode_header(&[]), Ok(Decode::Incomplete(2)));
        assert_eq!(decode_header(&[0x82]), Ok(Decode::Incomplete(2)));
        assert_eq!(decode_header(&[0x82, 0xFE]), Ok(Decode::Incomplete(8)));
        assert_eq!(decode_header(&[0x82, 0x7F, 0]), Ok(Decode::Incomplete(10)));
    }

    #[test]
    fn header_level_violations() {
        for op in [3u8, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF] {
            assert_eq!(
                decode_header(&[0x80 | op, 0]),
                Err(ProtocolError::ReservedOpcode(op))
            );
        }
        // The top bit of a 64-bit length.
        assert_eq!(
            decode_header(&[0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0]),
            Err(ProtocolError::LengthOverflow)
        );
        // Control frames: not fragmented, at most 125 bytes; detected from 2 bytes.
        assert_eq!(
            decode_header(&[0x09, 0x00]),
            Err(ProtocolError::FragmentedControlFrame)
        );
        assert_eq!(
            decode_header(&[0x89, 0x7E]),
            Err(ProtocolError::ControlFrameTooLong)
        );
        // RSV bits are reported, not judged.
        let Ok(Decode::Complete(h, 2)) = decode_header(&[0xF2, 0x00]) else {
            panic!()
        };
        assert_eq!(h.rsv, 0b111);
    }

    #[test]
    fn a_declared_2_pow_62_payload_costs_nothing() {
        let mut wire = vec![0x82, 0x7F];
        wire.extend_from_slice(&(1u64 << 62).to_be_bytes());
        let mut decoder = FrameDecoder::new(1 << 20);
        let mut input = &wire[..];
        assert_eq!(
            decoder.decode(&mut input),
            Err(ProtocolError::FrameTooLarge {
                size: 1 << 62,
                max: 1 << 20
            })
        );
        // The streaming reader holds nothing but the 14-byte header stash.
        let mut reader = FrameReader::new();
        let mut input = &wire[..];
        let Ok(Some(Chunk::Header(h))) = reader.read(&mut input) else {
            panic!()
        };
        assert_eq!(h.payload_len, 1 << 62);
        assert_eq!(reader.read(&mut input), Ok(None));
    }

    #[test]
    fn reader_reports_each_frame_end_once_even_when_empty() {
        let wire = [0x82, 0x00, 0x81, 0x01, b'x'];
        let mut reader = FrameReader::new();
        let mut ends = 0;
        let mut input = &wire[..];
        while let Some(chunk) = reader.read(&mut input).unwrap() {
            if let Chunk::Payload(p) = chunk {
                ends += usize::from(p.last);
            }
        }
        assert_eq!(ends, 2);
        assert!(reader.at_boundary());
    }
}
