//! Incremental UTF-8 validation (RFC 6455 §5.6, §8.1) that fails as soon as a byte
//! makes the stream invalid, whatever the chunking.
//!
//! Each chunk goes through `simdutf8`'s validator (SIMD where the CPU has it: AVX-512,
//! AVX2 or SSE 4.2 on x86, chosen at run time; NEON on 64-bit ARM; SIMD128 on WASM;
//! with the same error detail as `core::str::from_utf8`); a code point cut by the chunk
//! boundary (at most 3 bytes, which it reports as "incomplete", not "invalid") is
//! carried into the next chunk.

#[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
pub(crate) use simdutf8 as simd;
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
pub(crate) use simdutf8_x86 as simd;

use simd::compat::from_utf8;

/// The validator's verdict on a chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Invalid;

/// Validates a byte stream chunk by chunk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Utf8Validator {
    carry: [u8; 4],
    carry_len: u8,
}

impl Utf8Validator {
    pub(crate) const fn new() -> Utf8Validator {
        Utf8Validator {
            carry: [0; 4],
            carry_len: 0,
        }
    }

    /// Validates the next chunk. On success returns how many bytes at the end of the
    /// stream so far belong to a code point that is not complete yet (0 to 3); those
    /// bytes are carried, so [`carried`](Self::carried) returns them.
    #[inline(always)]
    pub(crate) fn feed(&mut self, chunk: &[u8]) -> Result<usize, Invalid> {
        // Short ASCII from a code point boundary: most chat-sized text.
        if self.carry_len == 0 && chunk.len() < 256 && chunk.is_ascii() {
            return Ok(0);
        }
        self.feed_any(chunk)
    }

    fn feed_any(&mut self, mut chunk: &[u8]) -> Result<usize, Invalid> {
        if self.carry_len > 0 {
            let have = usize::from(self.carry_len);
            let want = sequence_len(self.carry[0]);
            let take = (want - have).min(chunk.len());
            self.carry[have..have + take].copy_from_slice(&chunk[..take]);
            let filled = have + take;
            match from_utf8(&self.carry[..filled]) {
                Ok(_) => self.carry_len = 0,
                Err(e) if e.error_len().is_none() => {
                    // Still a valid prefix; the chunk was used up.
                    self.carry_len = filled as u8;
                    return Ok(filled);
                }
                Err(_) => return Err(Invalid),
            }
            chunk = &chunk[take..];
        }
        // The SIMD validator without error details, up to the last code point the
        // chunk may cut: a valid chunk that ends inside one is then scanned once,
        // not once to fail and again for the details. Only the cut code point (at
        // most 3 bytes), or a chunk found invalid, goes through the detailed one.
        let cut = last_boundary(chunk);
        if simd::basic::from_utf8(&chunk[..cut]).is_ok() {
            chunk = &chunk[cut..];
        }
        match from_utf8(chunk) {
            Ok(_) => Ok(0),
            Err(e) if e.error_len().is_none() => {
                let tail = &chunk[e.valid_up_to()..];
                self.carry[..tail.len()].copy_from_slice(tail);
                self.carry_len = tail.len() as u8;
                Ok(tail.len())
            }
            Err(_) => Err(Invalid),
        }
    }

    /// Whether the stream so far ends on a code point boundary.
    #[cfg(test)]
    pub(crate) fn is_complete(&self) -> bool {
        self.carry_len == 0
    }

    /// The bytes of an incomplete code point carried from earlier chunks.
    pub(crate) fn carried(&self) -> &[u8] {
        &self.carry[..usize::from(self.carry_len)]
    }
}

/// Where the code point that `chunk` may end inside starts: the last lead byte, if
/// fewer bytes follow it than it announces; else the chunk's length. Whether the
/// bytes are valid is not decided here.
fn last_boundary(chunk: &[u8]) -> usize {
    for back in 1..=chunk.len().min(3) {
        let byte = chunk[chunk.len() - back];
        if byte & 0xC0 == 0x80 {
            continue; // a continuation byte
        }
        if byte >= 0xC0 && sequence_len(byte) > back {
            return chunk.len() - back;
        }
        break;
    }
    chunk.len()
}

/// Length of the sequence a lead byte (0xC0 and above) starts, valid or not.
fn sequence_len(lead: u8) -> usize {
    match lead {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn valid_in_pieces(bytes: &[u8], cuts: &[usize]) -> Option<bool> {
        let mut v = Utf8Validator::new();
        let mut at = 0;
        for &cut in cuts.iter().chain(core::iter::once(&bytes.len())) {
            if v.feed(&bytes[at..cut]).is_err() {
                return Some(false);
            }
            at = cut;
        }
        Some(v.is_complete())
    }

    #[test]
    fn agrees_with_from_utf8_at_every_pair_of_cuts() {
        let samples: [&[u8]; 9] = [
            "κόσμε".as_bytes(),
            "a€b𝄞c".as_bytes(),
            b"\xed\xa0\x80",     // surrogate
            b"\xf4\x90\x80\x80", // above U+10FFFF
            b"\xc0\xaf",         // overlong
            b"\xe0\x80\xaf",     // overlong
            b"ab\xf0\x9f\x98",   // truncated at the end
            b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited",
            b"",
        ];
        for bytes in samples {
            let expected = core::str::from_utf8(bytes).is_ok();
            for a in 0..=bytes.len() {
                for b in a..=bytes.len() {
                    assert_eq!(
                        valid_in_pieces(bytes, &[a, b]),
                        Some(expected),
                        "{bytes:?} cut at {a},{b}"
                    );
                }
            }
        }
    }

    #[test]
    fn long_chunks_fail_exactly_when_their_prefix_cannot_be_completed() {
        let tails: [&[u8]; 8] = [
            "€𝄞".as_bytes(),
            b"\xf0\x9f\x98\x80",
            b"\xed\xa0\x80",
            b"\xf4\x90\x80\x80",
            b"\xe0\x80\xaf",
            b"\xc0\xaf",
            b"\xf8\x80",
            b"x\x80",
        ];
        for tail in tails {
            let mut bytes = "ü".repeat(150).into_bytes();
            bytes.extend_from_slice(tail);
            for cut in 256..=bytes.len() {
                let mut v = Utf8Validator::new();
                let first = v.feed(&bytes[..cut]);
                let hopeless =
                    core::str::from_utf8(&bytes[..cut]).is_err_and(|e| e.error_len().is_some());
                assert_eq!(first.is_err(), hopeless, "{tail:?} cut at {cut}");
                let whole = first.is_ok() && v.feed(&bytes[cut..]).is_ok() && v.is_complete();
                assert_eq!(
                    whole,
                    core::str::from_utf8(&bytes).is_ok(),
                    "{tail:?} cut at {cut}"
                );
            }
        }
    }

    /// Text of code points of every width, with up to three bytes overwritten
    /// anywhere: long enough for the SIMD kernels' 32- and 64-byte blocks (the
    /// validator on x86 is a release of simdutf8 other than simdutf8's own, so it is
    /// held to `core`'s answer here, on whichever kernel this CPU runs).
    fn damaged_text() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        let char = prop_oneof![
            proptest::char::range('\0', '\u{7f}'),
            proptest::char::range('\u{80}', '\u{7ff}'),
            proptest::char::range('\u{800}', '\u{ffff}'),
            proptest::char::range('\u{10000}', '\u{10ffff}'),
        ];
        let damage = proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4);
        (proptest::collection::vec(char, 0..1200), damage).prop_map(|(chars, damage)| {
            let mut bytes = chars
                .into_iter()
                .collect::<alloc::string::String>()
                .into_bytes();
            for (at, byte) in damage {
                if !bytes.is_empty() {
                    let i = at.index(bytes.len());
                    bytes[i] = byte;
                }
            }
            bytes
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1024))]
        #[test]
        fn agrees_with_core_on_long_damaged_text(
            bytes in damaged_text(),
            a in proptest::prelude::any::<proptest::sample::Index>(),
            b in proptest::prelude::any::<proptest::sample::Index>(),
        ) {
            let expected = core::str::from_utf8(&bytes);
            proptest::prop_assert_eq!(simd::basic::from_utf8(&bytes).is_ok(), expected.is_ok());
            let compat = simd::compat::from_utf8(&bytes).map(|_| ()).map_err(|e| (e.valid_up_to(), e.error_len()));
            proptest::prop_assert_eq!(compat, expected.map(|_| ()).map_err(|e| (e.valid_up_to(), e.error_len())));
            let (a, b) = (a.index(bytes.len() + 1), b.index(bytes.len() + 1));
            let cuts = [a.min(b), a.max(b)];
            proptest::prop_assert_eq!(valid_in_pieces(&bytes, &cuts), Some(expected.is_ok()));
        }
    }

    #[test]
    fn fails_at_the_first_bad_byte() {
        // 0xF4 0x90 can never start a valid sequence: fail before the rest arrives.
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(b"ok\xf4"), Ok(1));
        assert_eq!(v.feed(b"\x90"), Err(Invalid));
    }

    #[test]
    fn one_byte_at_a_time() {
        let text = "héllo wörld 𝄞 ✓".repeat(3);
        let mut v = Utf8Validator::new();
        let mut carried = Vec::new();
        for b in text.as_bytes() {
            let n = v.feed(core::slice::from_ref(b)).unwrap();
            carried.push(n);
        }
        assert!(v.is_complete());
        assert!(carried.iter().any(|&n| n > 0));
    }
}
