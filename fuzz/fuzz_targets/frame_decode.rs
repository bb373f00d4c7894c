//! The frame codec alone: the streaming reader at a chunking the input chooses,
//! against the whole-frame decoder. Invariants: both agree; pieces of a frame add up
//! to its declared length; a decoded frame re-encodes to bytes that decode to the same
//! frame; nothing is consumed past the input.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wsmachine::frame::{Chunk, FrameDecoder, FrameReader};

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, data)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(chunk) + 1;

    // The whole-frame decoder, fed at once.
    let mut decoder = FrameDecoder::new(1 << 16);
    let mut input = data;
    let mut frames = Vec::new();
    let decoded = loop {
        match decoder.decode(&mut input) {
            Ok(Some(frame)) => frames.push(frame),
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        }
    };

    // The streaming reader, fed in pieces.
    let mut reader = FrameReader::new();
    let mut headers = Vec::new();
    let mut current: Option<(u64, u64)> = None; // (declared, seen)
    let mut streamed = Ok(());
    'outer: for piece in data.chunks(chunk) {
        let mut piece = piece;
        loop {
            match reader.read(&mut piece) {
                Ok(None) => break,
                Ok(Some(Chunk::Header(h))) => {
                    assert!(current.is_none());
                    if h.payload_len > 1 << 16 {
                        streamed = Err(());
                        break 'outer;
                    }
                    current = Some((h.payload_len, 0));
                    headers.push(h);
                }
                Ok(Some(Chunk::Payload(p))) => {
                    let (declared, seen) = current.as_mut().expect("payload without header");
                    assert_eq!(p.offset, *seen);
                    *seen += p.data.len() as u64;
                    assert!(*seen <= *declared);
                    if p.last {
                        assert_eq!(*seen, *declared);
                        current = None;
                    }
                }
                Err(_) => {
                    streamed = Err(());
                    break 'outer;
                }
            }
        }
    }
    // Both see the same frames before any error.
    let complete = headers.len() - usize::from(current.is_some());
    assert!(complete >= frames.len());
    for (h, f) in headers.iter().zip(&frames) {
        assert_eq!(*h, f.header);
    }
    assert_eq!(decoded.is_err(), streamed.is_err());
    for f in &frames {
        let mut out = Vec::new();
        f.encode(&mut out);
        let mut d = FrameDecoder::new(u64::MAX);
        let mut again = &out[..];
        let back = d.decode(&mut again).unwrap().unwrap();
        assert_eq!(back, *f);
        assert!(again.is_empty());
    }
});
