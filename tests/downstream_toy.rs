//! Downstream use of the exported strategies: a toy WebSocket receiver, written here
//! from RFC 6455 alone (it uses no `wsmachine` type but the strategies' own), tested
//! the way another implementation would test itself with `wsmachine::strategies`.
#![cfg(feature = "proptest")]

use proptest::prelude::*;
use wsmachine::strategies::{Expected, chunks, invalid_stream, script};
use wsmachine::{Message, Role};

/// What the toy reports.
#[derive(Debug, PartialEq)]
enum Toy {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(u16),
}

/// A toy receiver: buffers everything, parses whole frames, reassembles messages.
struct ToyReceiver {
    server: bool,
    buf: Vec<u8>,
    message: Option<(u8, Vec<u8>)>,
    done: bool,
    out: Vec<Toy>,
}

impl ToyReceiver {
    fn new(role: Role) -> ToyReceiver {
        ToyReceiver {
            server: role == Role::Server,
            buf: Vec::new(),
            message: None,
            done: false,
            out: Vec::new(),
        }
    }

    fn feed(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        while !self.done {
            match self.frame() {
                Ok(Some(())) => {}
                Ok(None) => break,
                Err(code) => {
                    self.out.push(Toy::Close(code));
                    self.done = true;
                }
            }
        }
    }

    /// Parses and handles one frame; `Ok(None)` if incomplete, `Err(code)` to fail.
    fn frame(&mut self) -> Result<Option<()>, u16> {
        let b = &self.buf;
        if b.len() < 2 {
            return Ok(None);
        }
        let (fin, rsv, op, masked, len7) = (
            b[0] & 0x80 != 0,
            b[0] & 0x70,
            b[0] & 0x0f,
            b[1] & 0x80 != 0,
            b[1] & 0x7f,
        );
        if rsv != 0 || !matches!(op, 0 | 1 | 2 | 8 | 9 | 10) {
            return Err(1002);
        }
        if op >= 8 && (!fin || len7 > 125) {
            return Err(1002);
        }
        let (len, mut at) = match len7 {
            126 if b.len() >= 4 => (u64::from(u16::from_be_bytes([b[2], b[3]])), 4),
            127 if b.len() >= 10 => {
                let len = u64::from_be_bytes(b[2..10].try_into().unwrap());
                if len >> 63 != 0 {
                    return Err(1002);
                }
                (len, 10)
            }
            126 | 127 => return Ok(None),
            n => (u64::from(n), 2),
        };
        if masked != self.server {
            return Err(1002);
        }
        let key = if masked {
            if b.len() < at + 4 {
                return Ok(None);
            }
            at += 4;
            Some([b[at - 4], b[at - 3], b[at - 2], b[at - 1]])
        } else {
            None
        };
        let len = len as usize;
        if b.len() < at + len {
            return Ok(None);
        }
        let mut payload: Vec<u8> = b[at..at + len].to_vec();
        if let Some(k) = key {
            for (i, x) in payload.iter_mut().enumerate() {
                *x ^= k[i % 4];
            }
        }
        self.buf.drain(..at + len);
        match op {
            9 => self.out.push(Toy::Ping(payload)),
            10 => self.out.push(Toy::Pong(payload)),
            8 => {
                let code = match payload.len() {
                    0 => 1005,
                    1 => return Err(1002),
                    _ => {
                        let code = u16::from_be_bytes([payload[0], payload[1]]);
                        if !matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999) {
                            return Err(1002);
                        }
                        if std::str::from_utf8(&payload[2..]).is_err() {
                            return Err(1007);
                        }
                        code
                    }
                };
                self.out.push(Toy::Close(code));
                self.done = true;
            }
            0 => {
                let Some((_, data)) = &mut self.message else {
                    return Err(1002);
                };
                data.extend_from_slice(&payload);
                if fin {
                    self.finish()?;
                }
            }
            _ => {
                if self.message.is_some() {
                    return Err(1002);
                }
                self.message = Some((op, payload));
                if fin {
                    self.finish()?;
                }
            }
        }
        // Text is checked as a whole here (a toy need not fail fast).
        if let Some((1, data)) = &self.message
            && let Err(e) = std::str::from_utf8(data)
            && e.error_len().is_some()
        {
            return Err(1007);
        }
        Ok(Some(()))
    }

    fn finish(&mut self) -> Result<(), u16> {
        let Some((op, data)) = self.message.take() else {
            return Ok(());
        };
        self.out.push(if op == 1 {
            Toy::Text(String::from_utf8(data).map_err(|_| 1007u16)?)
        } else {
            Toy::Binary(data)
        });
        Ok(())
    }
}

fn as_toy(expected: &[Expected]) -> Vec<Toy> {
    expected
        .iter()
        .map(|e| match e {
            Expected::Message(Message::Text(t)) => Toy::Text(t.as_str().to_string()),
            Expected::Message(Message::Binary(b)) => Toy::Binary(b.to_vec()),
            Expected::Ping(p) => Toy::Ping(p.to_vec()),
            Expected::Pong(p) => Toy::Pong(p.to_vec()),
            Expected::Close(c) => Toy::Close(c.0),
        })
        .collect()
}

fn role() -> impl Strategy<Value = Role> {
    prop_oneof![Just(Role::Client), Just(Role::Server)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn toy_receives_valid_scripts((s, receiver, seed) in (script(), role(), any::<u64>())) {
        let sender = receiver.peer();
        let bytes = s.encode(sender, seed);
        let mut toy = ToyReceiver::new(receiver);
        for chunk in bytes.chunks(7) {
            toy.feed(chunk);
        }
        prop_assert_eq!(toy.out, as_toy(&s.expected()));
    }

    #[test]
    fn toy_fails_invalid_streams_with_the_required_code(
        (labelled, pieces) in role().prop_flat_map(invalid_stream).prop_flat_map(|l| {
            let bytes = l.bytes.clone();
            (Just(l), chunks(bytes))
        })
    ) {
        let mut toy = ToyReceiver::new(labelled.receiver);
        for piece in &pieces {
            toy.feed(piece);
        }
        prop_assert_eq!(toy.out, as_toy(&labelled.expected), "{:?}", labelled.violation);
    }
}
