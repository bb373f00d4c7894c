//! The per-message transform of permessage-deflate (RFC 7692 §7.2): raw deflate with
//! a sync flush per message, the final 0x00 0x00 0xff 0xff left off on the wire and
//! put back to inflate. Output is bounded while it is produced: an inflater never
//! writes past the limit it is given, so a small frame that would expand past the
//! message limit costs no more than the limit.

use alloc::vec::Vec;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// The empty stored block a sync flush ends with (§7.2.1), which the sender removes
/// and the receiver appends (§7.2.2).
pub(crate) const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// The least room an output buffer grows by.
const STEP: usize = 16 << 10;

/// What went wrong while inflating.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum InflateError {
    /// Not a valid deflate stream.
    Corrupt,
    /// The output would pass the limit.
    TooLarge,
}

/// One direction's decompression context. It is created on the first compressed
/// message and, when the peer does not take its context over (`reset`), dropped
/// after each message, so that an idle connection holds none.
#[derive(Debug)]
pub(crate) struct Inflater {
    state: Option<Decompress>,
    window: u8,
    reset: bool,
}

impl Inflater {
    /// An inflater for a peer compressing with `window_bits` (8–15). An 8-bit
    /// stream is read with a 9-bit window (the least zlib takes), which reads it
    /// unchanged: a larger window only allows longer distances.
    pub(crate) fn new(window_bits: u8, reset: bool) -> Inflater {
        Inflater {
            state: None,
            window: window_bits.clamp(9, 15),
            reset,
        }
    }

    fn state(&mut self) -> &mut Decompress {
        let window = self.window;
        self.state
            .get_or_insert_with(|| Decompress::new_with_window_bits(false, window))
    }

    /// Inflates as much of `input` as fits, appending to `out` until it holds `cap`
    /// bytes (growing it a step at a time, never to more than `cap`). Returns the
    /// input bytes consumed; fewer than all of them only when `out` is full.
    pub(crate) fn inflate(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        cap: usize,
    ) -> Result<usize, InflateError> {
        let state = self.state();
        let mut consumed = 0;
        loop {
            if out.len() >= out.capacity() {
                if out.len() >= cap {
                    return Ok(consumed);
                }
                let grow = out.capacity().max(STEP).min(cap - out.len());
                out.reserve_exact(grow);
            }
            let (in0, out0) = (state.total_in(), state.total_out());
            let status = state
                .decompress_vec(&input[consumed..], out, FlushDecompress::None)
                .map_err(|_| InflateError::Corrupt)?;
            let used = (state.total_in() - in0) as usize;
            consumed += used;
            let produced = state.total_out() - out0;
            if status == Status::StreamEnd {
                // A final block (BFINAL): what follows is a new stream.
                state.reset(false);
            }
            let room_left = out.len() < out.capacity();
            if room_left && (consumed == input.len() || used == 0 && produced == 0) {
                // All input taken with room to spare: nothing is pending.
                return Ok(consumed);
            }
        }
    }

    /// Inflates all of `input` into `out`, which may hold at most `limit` bytes:
    /// past that, [`InflateError::TooLarge`], with `out` never longer than `limit`.
    pub(crate) fn inflate_bounded(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), InflateError> {
        let mut at = self.inflate(input, out, limit)?;
        if out.len() < limit {
            return Ok(());
        }
        // Full. Any further byte of output is one too many; input that only ends a
        // block (or the appended tail) produces none.
        let state = self.state();
        let mut probe = [0u8; 1];
        loop {
            let (in0, out0) = (state.total_in(), state.total_out());
            let status = state
                .decompress(&input[at..], &mut probe, FlushDecompress::None)
                .map_err(|_| InflateError::Corrupt)?;
            if state.total_out() > out0 {
                return Err(InflateError::TooLarge);
            }
            let used = (state.total_in() - in0) as usize;
            at += used;
            if status == Status::StreamEnd {
                state.reset(false);
            }
            if used == 0 {
                return Ok(());
            }
        }
    }

    /// The message ended: the context goes if the peer does not take it over.
    pub(crate) fn end_message(&mut self) {
        if self.reset {
            self.state = None;
        }
    }

    /// Whether a context is held (for the memory accounting of tests).
    #[cfg(test)]
    pub(crate) fn holds_context(&self) -> bool {
        self.state.is_some()
    }
}

/// One direction's compression context; like [`Inflater`], created on first use
/// and dropped after each message when it is not taken over.
#[derive(Debug)]
pub(crate) struct Deflater {
    state: Option<Compress>,
    level: u8,
    window: u8,
    reset: bool,
}

impl Deflater {
    /// A compressor with `window_bits`, or `None` when they are 8: zlib cannot
    /// honour an 8-bit window, so that direction sends every message uncompressed.
    pub(crate) fn new(level: u8, window_bits: u8, reset: bool) -> Option<Deflater> {
        (window_bits >= 9).then_some(Deflater {
            state: None,
            level: level.min(9),
            window: window_bits.min(15),
            reset,
        })
    }

    /// Compresses `input` (a whole message, or the next fragment of one) onto `out`,
    /// ending with a sync flush. At the end of a message (`last`) the flush's empty
    /// block is left off (§7.2.1) and, without context takeover, the context goes.
    pub(crate) fn compress(&mut self, input: &[u8], out: &mut Vec<u8>, last: bool) {
        let (level, window) = (self.level, self.window);
        let state = self.state.get_or_insert_with(|| {
            Compress::new_with_window_bits(Compression::new(u32::from(level)), false, window)
        });
        out.reserve(input.len() / 2 + 64);
        let start = out.len();
        let mut at = 0;
        loop {
            if out.capacity() - out.len() < 64 {
                out.reserve(out.capacity().max(1024));
            }
            let in0 = state.total_in();
            // The only errors zlib reports here are misuse of its own API.
            let _ = state.compress_vec(&input[at..], out, FlushCompress::Sync);
            at += (state.total_in() - in0) as usize;
            if at == input.len() && out.len() < out.capacity() {
                break;
            }
        }
        if last {
            if out.len() == start {
                // Nothing to flush (no input since the last flush, which zlib does
                // not repeat): the stream is at a byte boundary, and one zero byte
                // (a stored block's header) makes the receiver's appended tail the
                // empty block it must be.
                out.push(0);
            } else {
                debug_assert!(
                    out.ends_with(&TAIL),
                    "a sync flush ends with its empty block"
                );
                out.truncate(out.len() - TAIL.len());
            }
            if self.reset {
                self.state = None;
            }
        }
    }

    /// The window this side compresses with, in bits.
    pub(crate) fn window_bits(&self) -> u8 {
        self.window
    }

    /// Drops the context between messages: a message compressed elsewhere, from a
    /// fresh context, was sent, and the peer's window now ends with its data, which
    /// this context never saw; back-references from here on stay within what it
    /// compresses next.
    pub(crate) fn forget(&mut self) {
        self.state = None;
    }

    /// Compresses one whole message from a fresh context, as any receiver with a
    /// window of at least `window_bits` inflates it; `None` for an 8-bit window.
    pub(crate) fn compress_alone(level: u8, window_bits: u8, input: &[u8]) -> Option<Vec<u8>> {
        let mut deflater = Deflater::new(level, window_bits, true)?;
        let mut out = Vec::new();
        deflater.compress(input, &mut out, true);
        Some(out)
    }

    /// Whether a context is held (for the memory accounting of tests).
    #[cfg(test)]
    pub(crate) fn holds_context(&self) -> bool {
        self.state.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(messages: &[&[u8]], window: u8, reset: bool) {
        let mut d = Deflater::new(6, window, reset).unwrap();
        let mut i = Inflater::new(window, reset);
        for m in messages {
            let mut wire = Vec::new();
            d.compress(m, &mut wire, true);
            assert!(!wire.ends_with(&TAIL));
            wire.extend_from_slice(&TAIL);
            let mut out = Vec::new();
            i.inflate_bounded(&wire, &mut out, m.len()).unwrap();
            i.end_message();
            assert_eq!(&out[..], *m);
            assert_eq!(d.holds_context(), !reset);
            assert_eq!(i.holds_context(), !reset);
        }
    }

    #[test]
    fn messages_roundtrip_with_and_without_context_takeover() {
        let long = b"the quick brown fox jumps over the lazy dog ".repeat(500);
        let msgs: [&[u8]; 4] = [b"hello hello hello", b"", &long, b"hello hello hello"];
        for window in [9, 12, 15] {
            roundtrip(&msgs, window, false);
            roundtrip(&msgs, window, true);
        }
    }

    #[test]
    fn an_eight_bit_window_is_never_used_to_compress() {
        assert!(Deflater::new(6, 8, false).is_none());
        // But a 9-bit stream (what an 8-bit one looks like to us) inflates.
        roundtrip(&[b"abcabcabcabc"], 9, false);
    }

    #[test]
    fn output_stops_at_the_limit() {
        let zeros = alloc::vec![0u8; 1 << 20];
        let mut d = Deflater::new(9, 15, false).unwrap();
        let mut wire = Vec::new();
        d.compress(&zeros, &mut wire, true);
        wire.extend_from_slice(&TAIL);
        assert!(wire.len() < 2048, "{} bytes", wire.len());
        // Exactly at the limit: fine.
        let mut out = Vec::new();
        Inflater::new(15, false)
            .inflate_bounded(&wire, &mut out, 1 << 20)
            .unwrap();
        assert_eq!(out.len(), 1 << 20);
        // One byte less: refused, and the buffer never passed the limit.
        let mut out = Vec::new();
        let limit = (1 << 20) - 1;
        let e = Inflater::new(15, false).inflate_bounded(&wire, &mut out, limit);
        assert_eq!(e, Err(InflateError::TooLarge));
        assert!(out.capacity() <= limit, "{}", out.capacity());
    }

    #[test]
    fn garbage_is_corrupt_not_a_panic() {
        let mut out = Vec::new();
        let e = Inflater::new(15, false).inflate_bounded(&[0xff; 64], &mut out, 1000);
        assert_eq!(e, Err(InflateError::Corrupt));
    }

    #[test]
    fn inflating_in_steps_consumes_what_fits() {
        let text = b"0123456789".repeat(10_000);
        let mut d = Deflater::new(6, 15, false).unwrap();
        let mut wire = Vec::new();
        d.compress(&text, &mut wire, true);
        wire.extend_from_slice(&TAIL);
        let mut i = Inflater::new(15, false);
        let (mut at, mut all) = (0, Vec::new());
        loop {
            let mut piece = Vec::new();
            at += i.inflate(&wire[at..], &mut piece, 4096).unwrap();
            assert!(piece.len() <= 4096);
            if piece.is_empty() && at == wire.len() {
                break;
            }
            all.extend_from_slice(&piece);
        }
        assert_eq!(all, text);
    }
}
