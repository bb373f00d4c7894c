//! The receive side: frames read from any chunking of the input (§5.2), checked
//! against the role and the extensions (§5.1, §5.2), control frames collected
//! (§5.5) and data frames reassembled into messages (§5.4, §8.1). It reports what
//! arrived; what each arrival makes the connection do is the connection's.

use alloc::string::String;

use bytes::{Buf, Bytes, BytesMut};

use crate::Role;
use crate::close::{CloseCode, parse_close_payload};
use crate::config::Config;
use crate::error::ProtocolError;
use crate::frame::{Chunk, FrameHeader, FrameReader, MAX_CONTROL_PAYLOAD, OpCode, PayloadChunk};
use crate::message::{Assembled, Assembler, Fragment, Message};

/// What arrived.
#[derive(Debug)]
pub(crate) enum Item {
    Message(Message),
    Fragment(Fragment),
    Ping(Bytes),
    Pong(Bytes),
    /// The peer's close frame: its code (1005 without one) and reason.
    Close(CloseCode, String),
}

/// The control frame being read: opcode and payload so far (at most 125 bytes, so it
/// lives inline).
#[derive(Clone, Copy, Debug)]
struct ControlBuf {
    opcode: OpCode,
    len: u8,
    data: [u8; MAX_CONTROL_PAYLOAD],
}

/// Frames in, arrivals out.
#[derive(Debug, Default)]
pub(crate) struct Receiver {
    reader: FrameReader,
    /// The control frame being read, if the current frame is one.
    control: Option<ControlBuf>,
    assembler: Assembler,
    /// Received bytes not parsed yet: parsing pauses while events wait to be polled.
    pending: BytesMut,
    /// A data frame arrived whole since [`take_data_frame`](Self::take_data_frame).
    data_frame: bool,
}

impl Receiver {
    /// The next arrival from the front of `input`, advancing it past what was used;
    /// `Ok(None)` once `input` is used up. After an error nothing more may be read.
    #[inline]
    pub(crate) fn next(
        &mut self,
        input: &mut &[u8],
        role: Role,
        config: &Config,
    ) -> Result<Option<Item>, ProtocolError> {
        loop {
            match self.reader.read(input)? {
                None => return Ok(None),
                Some(Chunk::Header(header)) => self.on_header(&header, role, config)?,
                Some(Chunk::Payload(piece)) => {
                    if let Some(item) = self.on_payload(&piece, config)? {
                        return Ok(Some(item));
                    }
                }
            }
        }
    }

    fn on_header(
        &mut self,
        header: &FrameHeader,
        role: Role,
        config: &Config,
    ) -> Result<(), ProtocolError> {
        // §5.2: RSV bits "MUST be 0 unless an extension is negotiated that defines
        // meanings for non-zero values".
        if header.rsv != 0 {
            return Err(ProtocolError::ReservedBits(header.rsv));
        }
        // §5.1: a server MUST close on an unmasked frame, a client on a masked one.
        match (role, header.mask.is_some()) {
            (Role::Server, false) => return Err(ProtocolError::UnmaskedFrame),
            (Role::Client, true) => return Err(ProtocolError::MaskedFrame),
            _ => {}
        }
        if header.opcode.is_control() {
            self.control = Some(ControlBuf {
                opcode: header.opcode,
                len: 0,
                data: [0; MAX_CONTROL_PAYLOAD],
            });
            Ok(())
        } else {
            self.assembler.begin_frame(header, config)
        }
    }

    #[inline]
    fn on_payload(
        &mut self,
        piece: &PayloadChunk<'_>,
        config: &Config,
    ) -> Result<Option<Item>, ProtocolError> {
        if let Some(control) = &mut self.control {
            // The header check bounds control payloads to 125 bytes.
            let at = usize::from(control.len);
            let end = at + piece.data.len();
            piece.unmask_to(&mut control.data[at..end]);
            control.len = end as u8;
            return match (piece.last, self.control.take()) {
                (true, Some(control)) => control_item(&control).map(Some),
                (_, control) => {
                    self.control = control;
                    Ok(None)
                }
            };
        }
        self.data_frame |= piece.last;
        Ok(match self.assembler.push(piece, config.delivery)? {
            Assembled::Nothing => None,
            Assembled::Message(message) => Some(Item::Message(message)),
            Assembled::Fragment(fragment) => Some(Item::Fragment(fragment)),
        })
    }

    /// Whether a data frame arrived whole since the last call.
    pub(crate) fn take_data_frame(&mut self) -> bool {
        core::mem::take(&mut self.data_frame)
    }

    /// Drops what was being received (the connection ended).
    pub(crate) fn discard(&mut self) {
        self.assembler.discard();
        self.control = None;
        self.pending = BytesMut::new();
    }

    // ---- input kept while events wait -------------------------------------------

    pub(crate) fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Keeps `data` for after the events before it have been polled.
    pub(crate) fn keep(&mut self, data: &[u8]) {
        self.pending.extend_from_slice(data);
    }

    /// The kept input, to parse; give back what is left with
    /// [`keep_rest`](Self::keep_rest).
    pub(crate) fn take_pending(&mut self) -> BytesMut {
        core::mem::take(&mut self.pending)
    }

    /// Keeps the kept input from `used` on.
    pub(crate) fn keep_rest(&mut self, mut input: BytesMut, used: usize) {
        input.advance(used);
        self.pending = input;
    }
}

fn control_item(control: &ControlBuf) -> Result<Item, ProtocolError> {
    let payload = &control.data[..usize::from(control.len)];
    Ok(match control.opcode {
        OpCode::Ping => Item::Ping(Bytes::copy_from_slice(payload)),
        OpCode::Pong => Item::Pong(Bytes::copy_from_slice(payload)),
        _ => {
            let (code, reason) = parse_close_payload(payload)?;
            Item::Close(code, String::from(reason))
        }
    })
}
