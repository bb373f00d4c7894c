//! The workloads: what each row sends or receives, and the prepared bytes.

use wsmachine::frame::{FrameHeader, OpCode};
use wsmachine::mask::apply_mask;

/// Which way the bytes go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    /// A server turns masked client frames, read through the socket stand-in, into
    /// whole messages.
    Receive,
    /// A server (unmasked) or a client (masked) turns messages into frames, written
    /// through the socket stand-in.
    Send { client: bool },
    /// One message to many server connections, each written out.
    Broadcast { connections: usize },
}

/// What the payload holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Content {
    Binary,
    Ascii,
    /// Text with 2-, 3- and 4-byte code points.
    MixedUtf8,
}

pub struct Case {
    pub name: &'static str,
    pub row: &'static str,
    pub dir: Dir,
    pub content: Content,
    /// Payload bytes of one message.
    pub size: usize,
    /// Messages per run.
    pub count: usize,
    /// Frame payload size when a message is sent in fragments.
    pub fragment: Option<usize>,
}

impl Case {
    pub fn text(&self) -> bool {
        self.content != Content::Binary
    }

    /// Payload bytes a run moves.
    pub fn total(&self) -> usize {
        self.size * self.count
    }

    /// Small messages are counted, large ones weighed.
    pub fn per_message(&self) -> bool {
        self.size <= 1024
    }
}

pub const CASES: [Case; 11] = [
    Case {
        name: "recv-binary-1m",
        row: "receive masked binary, 1 MiB messages",
        dir: Dir::Receive,
        content: Content::Binary,
        size: 1 << 20,
        count: 64,
        fragment: None,
    },
    Case {
        name: "recv-ascii-1m",
        row: "receive masked ASCII text, 1 MiB",
        dir: Dir::Receive,
        content: Content::Ascii,
        size: 1 << 20,
        count: 64,
        fragment: None,
    },
    Case {
        name: "recv-utf8-1m",
        row: "receive masked mixed UTF-8 text, 1 MiB",
        dir: Dir::Receive,
        content: Content::MixedUtf8,
        size: 1 << 20,
        count: 64,
        fragment: None,
    },
    Case {
        name: "recv-text-16",
        row: "receive masked 16 B text messages",
        dir: Dir::Receive,
        content: Content::Ascii,
        size: 16,
        count: 1 << 20,
        fragment: None,
    },
    Case {
        name: "recv-text-128",
        row: "receive masked 128 B text messages",
        dir: Dir::Receive,
        content: Content::Ascii,
        size: 128,
        count: 1 << 18,
        fragment: None,
    },
    Case {
        name: "recv-frag-64k",
        row: "receive 64 KiB text in 64 B fragments",
        dir: Dir::Receive,
        content: Content::Ascii,
        size: 64 << 10,
        count: 256,
        fragment: Some(64),
    },
    Case {
        name: "send-server-1m",
        row: "server send 1 MiB binary",
        dir: Dir::Send { client: false },
        content: Content::Binary,
        size: 1 << 20,
        count: 64,
        fragment: None,
    },
    Case {
        name: "send-server-16",
        row: "server send 16 B text",
        dir: Dir::Send { client: false },
        content: Content::Ascii,
        size: 16,
        count: 1 << 20,
        fragment: None,
    },
    Case {
        name: "send-client-1m",
        row: "client send masked 1 MiB binary",
        dir: Dir::Send { client: true },
        content: Content::Binary,
        size: 1 << 20,
        count: 64,
        fragment: None,
    },
    Case {
        name: "send-client-16",
        row: "client send masked 16 B text",
        dir: Dir::Send { client: true },
        content: Content::Ascii,
        size: 16,
        count: 1 << 20,
        fragment: None,
    },
    Case {
        name: "broadcast-1k",
        row: "one 1 KiB text to 10,000 server connections",
        dir: Dir::Broadcast {
            connections: 10_000,
        },
        content: Content::Ascii,
        size: 1024,
        count: 10_000,
        fragment: None,
    },
];

pub fn by_name(name: &str) -> &'static Case {
    CASES
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no case {name}"))
}

/// The payload of every message of `case`.
pub fn payload(case: &Case) -> Vec<u8> {
    let unit = match case.content {
        Content::Binary => return (0..case.size).map(|i| (i * 31 % 251) as u8).collect(),
        Content::Ascii => "abcdefghijklmnopqrstuvwxyz0123456789",
        Content::MixedUtf8 => "wsmachine ∑ κόσμε 𝄞 ",
    };
    let mut s = unit.repeat(case.size / unit.len() + 1);
    while s.len() > case.size {
        s.pop();
    }
    // A cut code point is dropped above: pad back with ASCII to the exact size.
    while s.len() < case.size {
        s.push('.');
    }
    s.into_bytes()
}

/// The masked frames a client sends for `case`: each message whole, or in fragments.
pub fn client_frames(case: &Case, payload: &[u8]) -> Vec<u8> {
    let first = if case.text() {
        OpCode::Text
    } else {
        OpCode::Binary
    };
    let piece = case.fragment.unwrap_or(payload.len().max(1));
    let mut out = Vec::with_capacity(case.count * (payload.len() + 14));
    let mut n: u32 = 0;
    for _ in 0..case.count {
        let chunks: Vec<&[u8]> = if payload.is_empty() {
            vec![&[]]
        } else {
            payload.chunks(piece).collect()
        };
        for (i, chunk) in chunks.iter().enumerate() {
            let opcode = if i == 0 { first } else { OpCode::Continuation };
            let mut header = FrameHeader::new(opcode, chunk.len() as u64);
            header.fin = i + 1 == chunks.len();
            let key = n.wrapping_mul(2_654_435_761).to_le_bytes();
            n = n.wrapping_add(1);
            header.mask = Some(key);
            header.encode_to_vec(&mut out);
            let at = out.len();
            out.extend_from_slice(chunk);
            apply_mask(&mut out[at..], key, 0);
        }
    }
    out
}

/// A checksum of payload bytes, the same whatever their order of arrival in pieces
/// of one message is not: FNV-1a over the bytes in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Digest {
    pub messages: usize,
    pub bytes: usize,
    pub hash: u64,
}

impl Digest {
    pub const fn new() -> Digest {
        Digest {
            messages: 0,
            bytes: 0,
            hash: 0xcbf2_9ce4_8422_2325,
        }
    }

    /// Counts one message, hashing its bytes when `full`.
    pub fn add(&mut self, payload: &[u8], full: bool) {
        self.messages += 1;
        self.bytes += payload.len();
        if full {
            for &b in payload {
                self.hash = (self.hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
            }
        } else if let Some(&b) = payload.first() {
            // Touch the payload, as an application would.
            self.hash ^= u64::from(b);
        }
    }

    /// What `case` must produce, hashed fully.
    pub fn expected(case: &Case) -> Digest {
        let p = payload(case);
        let mut d = Digest::new();
        for _ in 0..case.count {
            d.add(&p, true);
        }
        d
    }
}
