//! `Arbitrary` for the public frame, message, close and configuration types (feature
//! `arbitrary`), for fuzzers that build structured inputs. The derived ones sit on the
//! types themselves; these keep invariants a derive would break (a frame's declared
//! length equals its payload, text is UTF-8).

use alloc::string::String;
use alloc::vec::Vec;

use arbitrary::{Arbitrary, Result, Unstructured};
use bytes::Bytes;

use crate::frame::{Frame, FrameHeader};
use crate::message::{Message, Text};

impl<'a> Arbitrary<'a> for Frame {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let mut header = FrameHeader::arbitrary(u)?;
        let payload: Vec<u8> = Vec::arbitrary(u)?;
        header.payload_len = payload.len() as u64;
        Ok(Frame {
            header,
            payload: Bytes::from(payload),
        })
    }
}

impl<'a> Arbitrary<'a> for Text {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(Text::from(String::arbitrary(u)?))
    }
}

impl<'a> Arbitrary<'a> for Message {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(if bool::arbitrary(u)? {
            Message::Text(Text::arbitrary(u)?)
        } else {
            Message::Binary(Vec::<u8>::arbitrary(u)?.into())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_keep_their_length_consistent() {
        let data: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let mut u = Unstructured::new(&data);
        for _ in 0..50 {
            let Ok(frame) = Frame::arbitrary(&mut u) else {
                break;
            };
            assert_eq!(frame.header.payload_len, frame.payload.len() as u64);
            let mut out = Vec::new();
            frame.encode(&mut out);
            let mut decoder = crate::frame::FrameDecoder::new(u64::MAX);
            let mut input = &out[..];
            let header = frame.header;
            let valid = !header.opcode.is_control() || header.fin && frame.payload.len() <= 125;
            match decoder.decode(&mut input) {
                // Valid frames round-trip through the codec...
                Ok(Some(back)) => {
                    assert!(valid);
                    assert_eq!(back.payload, frame.payload);
                }
                // ...and the only invalid ones an arbitrary frame can be are control
                // frames that are fragmented or too long (§5.5).
                Err(e) => {
                    assert!(!valid);
                    assert!(matches!(
                        e,
                        crate::ProtocolError::FragmentedControlFrame
                            | crate::ProtocolError::ControlFrameTooLong
                    ));
                }
                Ok(None) => panic!("a whole frame was not decoded"),
            }
        }
    }
}
