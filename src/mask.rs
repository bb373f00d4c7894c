//! Payload masking (RFC 6455 §5.3).
//!
//! `transformed[i] = original[i] ^ key[i % 4]`, where `i` counts from the start of the
//! frame's payload. [`apply_mask`] takes that position as `offset`, so a payload can be
//! masked or unmasked piece by piece as it arrives.

use alloc::vec::Vec;

/// XORs `buf` with `key` in place, as if `buf` started at byte `offset` of the payload.
/// Masking and unmasking are the same operation.
///
/// ```
/// use wsmachine::mask::apply_mask;
/// let key = [0x37, 0xfa, 0x21, 0x3d];
/// let mut data = *b"Hello";
/// apply_mask(&mut data, key, 0);
/// assert_eq!(data, [0x7f, 0x9f, 0x4d, 0x51, 0x58]); // RFC 6455 §5.7
/// // Unmask in two pieces, the second starting at payload offset 2.
/// let (a, b) = data.split_at_mut(2);
/// apply_mask(a, key, 0);
/// apply_mask(b, key, 2);
/// assert_eq!(&data, b"Hello");
/// ```
#[inline]
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    let key = rotate(key, offset);
    if buf.len() < 32 {
        // Short payloads (most control frames and chat-sized messages), in line:
        // a call costs as much as the work.
        xor_words(buf, key);
    } else {
        xor_long(buf, key);
    }
}

/// [`apply_mask`] (from payload position `offset`), telling whether the unmasked
/// bytes are all ASCII: text that is needs no second pass for its UTF-8 check,
/// the bytes looked at while they are in registers.
#[inline]
pub(crate) fn unmask_ascii(buf: &mut [u8], key: [u8; 4], offset: usize) -> bool {
    let key = rotate(key, offset);
    if buf.len() < 32 {
        xor_words(buf, key);
        buf.is_ascii()
    } else {
        xor_long_ascii(buf, key)
    }
}

#[inline(never)]
fn xor_long_ascii(buf: &mut [u8], key: [u8; 4]) -> bool {
    if buf.len() < wide::MIN_WIDE {
        xor_blocks_ascii::<32>(buf, key)
    } else {
        let (head, body) = buf.split_at_mut(buf.as_ptr().align_offset(LINE).min(buf.len()));
        xor_words(head, key);
        head.is_ascii() & wide::xor_ascii(body, rotate(key, head.len()))
    }
}

#[inline(never)]
fn xor_long(buf: &mut [u8], key: [u8; 4]) {
    if buf.len() < wide::MIN_WIDE {
        xor_blocks::<32>(buf, key);
    } else {
        // Up to the next cache line first, so that no wide load or store of the
        // block loop straddles two lines.
        let (head, body) = buf.split_at_mut(buf.as_ptr().align_offset(LINE).min(buf.len()));
        xor_words(head, key);
        wide::xor(body, rotate(key, head.len()));
    }
}

/// A cache line's bytes, on the CPUs that matter most.
const LINE: usize = 64;

/// 8 bytes at a time as one word, the last few one by one.
#[inline(always)]
fn xor_words(buf: &mut [u8], key: [u8; 4]) {
    let word = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    let (words, tail) = buf.as_chunks_mut::<8>();
    for w in words {
        *w = (u64::from_ne_bytes(*w) ^ word).to_ne_bytes();
    }
    // The tail starts at a multiple of 8: the key phase is unchanged.
    apply_mask_bytes(tail, key);
}

#[inline]
fn apply_mask_bytes(buf: &mut [u8], key: [u8; 4]) {
    for (i, b) in buf.iter_mut().enumerate() {
        *b ^= key[i & 3];
    }
}

/// `src` masked with `key` (from payload position 0), in a new buffer: the copy and
/// the mask in one pass, written once (the buffer is not zeroed first).
pub(crate) fn masked_copy(src: &[u8], key: [u8; 4]) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::with_capacity(src.len());
    // Up to the next cache line of the copy first, as in `xor_long`.
    let at = if src.len() < wide::MIN_WIDE {
        src.len()
    } else {
        out.as_ptr().align_offset(LINE).min(src.len())
    };
    extend_masked_bytes(&mut out, &src[..at], key);
    if at < src.len() {
        wide::xor_extend(&src[at..], &mut out, rotate(key, at));
    }
    out
}

/// Writes `src` masked (or unmasked) with `key` from payload position `offset` into
/// `dst`, of the same length: the copy and the masking in one pass, into a buffer
/// already there (a plain slice loop, without the bookkeeping an append pays per
/// block).
pub(crate) fn masked_copy_into(src: &[u8], dst: &mut [u8], key: [u8; 4], offset: usize) {
    assert_eq!(src.len(), dst.len(), "a masked copy of the same length");
    let key = rotate(key, offset);
    if src.len() < wide::MIN_WIDE {
        dst.copy_from_slice(src);
        xor_words(dst, key);
    } else {
        wide::xor_copy(src, dst, key);
    }
}

/// Appends `src`, unmasked with `key` from payload position `offset`, to `out`: the
/// copy and the unmasking in one pass (a fragment on its way into the message it
/// belongs to, written once where it ends up, never unmasked in the read buffer
/// first).
#[inline]
pub(crate) fn extend_unmasked(src: &[u8], out: &mut Vec<u8>, key: [u8; 4], offset: usize) {
    // Out of line whatever the length: inlined into the parser, the block loop was
    // left unvectorized.
    wide::xor_extend(src, out, rotate(key, offset));
}

/// [`extend_unmasked`], telling whether the bytes appended are all ASCII (text that
/// is needs no UTF-8 pass of its own).
#[inline]
pub(crate) fn extend_unmasked_ascii(
    src: &[u8],
    out: &mut Vec<u8>,
    key: [u8; 4],
    offset: usize,
) -> bool {
    wide::xor_extend_ascii(src, out, rotate(key, offset))
}

#[inline]
fn extend_masked_bytes(out: &mut Vec<u8>, src: &[u8], key: [u8; 4]) {
    out.extend(src.iter().enumerate().map(|(i, b)| b ^ key[i & 3]));
}

/// XORs a whole fixed-size block with `key` from payload position 0 (a payload held
/// inline, say): with the length known, a few word XORs instead of a word loop and
/// a byte loop sized at run time. Word by word, not byte by byte: a byte loop had
/// LLVM split the block into its bytes and put the words back together with
/// shifts, some 150 instructions for 24 bytes.
#[inline(always)]
pub(crate) fn apply_mask_block<const N: usize>(buf: &mut [u8; N], key: [u8; 4]) {
    // Little-endian words: byte `i` of a word is payload position `i` of it.
    let wide = u64::from(u32::from_le_bytes(key)) * 0x1_0000_0001;
    let (words, rest) = buf.as_chunks_mut::<8>();
    for word in words {
        *word = (u64::from_le_bytes(*word) ^ wide).to_le_bytes();
    }
    // The rest starts at a multiple of 8: the key's phase is 0.
    for (i, b) in rest.iter_mut().enumerate() {
        *b ^= key[i & 3];
    }
}

/// `N / 4` copies of the key: one block.
#[inline(always)]
fn key_block<const N: usize>(key: [u8; 4]) -> [u8; N] {
    const { assert!(N.is_multiple_of(4)) };
    // Key by key, not byte by byte: in the AVX2 copy loop a byte loop was compiled
    // to one store per byte, some hundred instructions a call before any payload
    // byte was masked; this is one broadcast.
    let mut wide = [0u8; N];
    for quad in wide.as_chunks_mut::<4>().0 {
        *quad = key;
    }
    wide
}

/// The block loops, written once with fixed-size blocks that LLVM turns into
/// vector XORs as wide as the function's target features allow; [`wide`] compiles
/// them once for the baseline and, on x86, once more for AVX2.
#[inline(always)]
fn xor_blocks<const N: usize>(buf: &mut [u8], key: [u8; 4]) {
    let wide = key_block::<N>(key);
    let (blocks, tail) = buf.as_chunks_mut::<N>();
    for block in blocks {
        for (b, k) in block.iter_mut().zip(wide.iter()) {
            *b ^= k;
        }
    }
    // The tail starts at a multiple of the block, so the key phase is unchanged.
    xor_words(tail, key);
}

/// [`xor_blocks`], OR-ing the unmasked blocks together on the way: whether every
/// byte is ASCII.
#[inline(always)]
fn xor_blocks_ascii<const N: usize>(buf: &mut [u8], key: [u8; 4]) -> bool {
    let wide = key_block::<N>(key);
    let (blocks, tail) = buf.as_chunks_mut::<N>();
    let mut seen = [0u8; N];
    for block in blocks {
        for ((b, k), s) in block.iter_mut().zip(wide.iter()).zip(seen.iter_mut()) {
            *b ^= k;
            *s |= *b;
        }
    }
    xor_words(tail, key);
    all_ascii(&seen) && tail.is_ascii()
}

/// Appends `src` masked to `out`, a block at a time (each block masked in
/// registers, then stored once), OR-ing the masked blocks together on the way:
/// whether every byte appended is ASCII. A caller that ignores the answer pays
/// nothing for it once this is inlined (the ORs are dead code then).
#[inline(always)]
fn xor_extend_blocks<const N: usize>(src: &[u8], out: &mut Vec<u8>, key: [u8; 4]) -> bool {
    let wide = key_block::<N>(key);
    out.reserve(src.len());
    let (blocks, tail) = src.as_chunks::<N>();
    let mut seen = [0u8; N];
    for s in blocks {
        let mut block = *s;
        for ((b, k), m) in block.iter_mut().zip(wide.iter()).zip(seen.iter_mut()) {
            *b ^= k;
            *m |= *b;
        }
        out.extend_from_slice(&block);
    }
    let tail = extend_tail(out, tail, &wide);
    all_ascii(&seen) && tail.is_ascii()
}

/// Writes `src` masked into `dst` (same length), a block at a time.
#[inline(always)]
fn xor_copy_blocks<const N: usize>(src: &[u8], dst: &mut [u8], key: [u8; 4]) {
    let wide = key_block::<N>(key);
    let (blocks, tail) = src.as_chunks::<N>();
    let (out, out_tail) = dst.as_chunks_mut::<N>();
    for (d, s) in out.iter_mut().zip(blocks) {
        for ((d, s), k) in d.iter_mut().zip(s.iter()).zip(wide.iter()) {
            *d = s ^ k;
        }
    }
    // The tail starts at a multiple of the block, so the key phase is unchanged.
    out_tail.copy_from_slice(tail);
    xor_words(out_tail, key);
}

/// Whether no byte of the OR of blocks has its high bit set. Word by word: a
/// byte-wise fold of the block was not vectorized.
#[inline(always)]
fn all_ascii<const N: usize>(seen: &[u8; N]) -> bool {
    let (words, _) = seen.as_chunks::<8>();
    let all = words.iter().fold(0, |all, w| all | u64::from_ne_bytes(*w));
    all & 0x8080_8080_8080_8080 == 0
}

/// Appends the last bytes (fewer than a block) masked with `wide`, through one block
/// on the stack: a whole-block XOR, then a copy of the part that counts. Returns
/// that part. The tail starts at a multiple of the block, so the key phase is
/// unchanged.
#[inline(always)]
fn extend_tail<'a, const N: usize>(out: &'a mut Vec<u8>, tail: &[u8], wide: &[u8; N]) -> &'a [u8] {
    if tail.is_empty() {
        return &[];
    }
    let mut block = [0u8; N];
    block[..tail.len()].copy_from_slice(tail);
    for (b, k) in block.iter_mut().zip(wide.iter()) {
        *b ^= k;
    }
    let start = out.len();
    out.extend_from_slice(&block[..tail.len()]);
    &out[start..]
}

/// The only `unsafe` in the crate: calling a copy of the block loops compiled with
/// AVX2 enabled, after the CPU has been asked whether it has AVX2. The loops
/// themselves are the safe code above; the attribute changes only which
/// instructions LLVM may pick for them. Miri runs the unit tests below.
#[cfg(all(feature = "std", any(target_arch = "x86_64", target_arch = "x86")))]
#[allow(unsafe_code)]
mod wide {
    use alloc::vec::Vec;

    /// Below this many bytes the baseline loop, inlined, is as fast and the check
    /// is not paid.
    pub(super) const MIN_WIDE: usize = 256;

    /// Called for payloads of `MIN_WIDE` bytes and more.
    #[inline(never)]
    pub(super) fn xor(buf: &mut [u8], key: [u8; 4]) {
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: `xor_avx2` needs AVX2, which the CPU was just found to have.
            unsafe { xor_avx2(buf, key) }
        } else {
            super::xor_blocks::<32>(buf, key);
        }
    }

    #[inline(never)]
    pub(super) fn xor_ascii(buf: &mut [u8], key: [u8; 4]) -> bool {
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: `xor_ascii_avx2` needs AVX2, which the CPU was just found to have.
            unsafe { xor_ascii_avx2(buf, key) }
        } else {
            super::xor_blocks_ascii::<32>(buf, key)
        }
    }

    // The appending calls are made per fragment, often for a few dozen bytes: the
    // choice is made in the caller, one call deep, and each copy of the loop stays
    // out of line.
    #[inline]
    pub(super) fn xor_extend(src: &[u8], out: &mut Vec<u8>, key: [u8; 4]) {
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: `xor_extend_avx2` needs AVX2, which the CPU was just found to have.
            unsafe { xor_extend_avx2(src, out, key) }
        } else {
            xor_extend_baseline(src, out, key)
        }
    }

    #[inline(never)]
    pub(super) fn xor_copy(src: &[u8], dst: &mut [u8], key: [u8; 4]) {
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: `xor_copy_avx2` needs AVX2, which the CPU was just found to have.
            unsafe { xor_copy_avx2(src, dst, key) }
        } else {
            super::xor_copy_blocks::<32>(src, dst, key);
        }
    }

    #[target_feature(enable = "avx2")]
    fn xor_copy_avx2(src: &[u8], dst: &mut [u8], key: [u8; 4]) {
        super::xor_copy_blocks::<64>(src, dst, key);
    }

    #[target_feature(enable = "avx2")]
    fn xor_avx2(buf: &mut [u8], key: [u8; 4]) {
        super::xor_blocks::<64>(buf, key);
    }

    #[target_feature(enable = "avx2")]
    fn xor_ascii_avx2(buf: &mut [u8], key: [u8; 4]) -> bool {
        super::xor_blocks_ascii::<64>(buf, key)
    }

    #[inline]
    pub(super) fn xor_extend_ascii(src: &[u8], out: &mut Vec<u8>, key: [u8; 4]) -> bool {
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: `xor_extend_ascii_avx2` needs AVX2, which the CPU was just found
            // to have.
            unsafe { xor_extend_ascii_avx2(src, out, key) }
        } else {
            xor_extend_ascii_baseline(src, out, key)
        }
    }

    #[inline(never)]
    fn xor_extend_baseline(src: &[u8], out: &mut Vec<u8>, key: [u8; 4]) {
        let _ = super::xor_extend_blocks::<32>(src, out, key);
    }

    #[inline(never)]
    fn xor_extend_ascii_baseline(src: &[u8], out: &mut Vec<u8>, key: [u8; 4]) -> bool {
        super::xor_extend_blocks::<32>(src, out, key)
    }

    #[target_feature(enable = "avx2")]
    fn xor_extend_avx2(src: &[u8], out: &mut Vec<u8>, key: [u8; 4]) {
        let _ = super::xor_extend_blocks::<64>(src, out, key);
    }

    #[target_feature(enable = "avx2")]
    fn xor_extend_ascii_avx2(src: &[u8], out: &mut Vec<u8>, key: [u8; 4]) -> bool {
        super::xor_extend_blocks::<64>(src, out, key)
    }
}

/// Without `std` (no run-time CPU detection) or off x86: the block loops at the
/// target's compile-time vector width.
#[cfg(not(all(feature = "std", any(target_arch = "x86_64", target_arch = "x86"))))]
mod wide {
    use alloc::vec::Vec;

    pub(super) const MIN_WIDE: usize = 256;

    #[inline]
    pub(super) fn xor(buf: &mut [u8], key: [u8; 4]) {
        super::xor_blocks::<32>(buf, key);
    }

    #[inline]
    pub(super) fn xor_ascii(buf: &mut [u8], key: [u8; 4]) -> bool {
        super::xor_blocks_ascii::<32>(buf, key)
    }

    #[inline(never)]
    pub(super) fn xor_copy(src: &[u8], dst: &mut [u8], key: [u8; 4]) {
        super::xor_copy_blocks::<32>(src, dst, key);
    }

    /// Kept out of line: inlined into a large caller, the loop was left unvectorized.
    #[inline(never)]
    pub(super) fn xor_extend(src: &[u8], out: &mut Vec<u8>, key: [u8; 4]) {
        let _ = super::xor_extend_blocks::<32>(src, out, key);
    }

    #[inline(never)]
    pub(super) fn xor_extend_ascii(src: &[u8], out: &mut Vec<u8>, key: [u8; 4]) -> bool {
        super::xor_extend_blocks::<32>(src, out, key)
    }
}

/// The key as seen from payload position `offset`: rotated as one word in a
/// register (assembled a byte at a time, it was stored as four bytes and loaded
/// back as a word, a load that waits for the stores to retire).
#[inline]
const fn rotate(key: [u8; 4], offset: usize) -> [u8; 4] {
    let r = (offset & 3) as u32;
    u32::from_le_bytes(key).rotate_right(8 * r).to_le_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn reference(buf: &mut [u8], key: [u8; 4], offset: usize) {
        for (i, b) in buf.iter_mut().enumerate() {
            *b ^= key[(offset + i) % 4];
        }
    }

    #[test]
    fn matches_the_definition_at_every_length_and_offset() {
        let key = [0xde, 0xad, 0xbe, 0xef];
        // Past 256 bytes the wide loop takes over where the CPU has it. Under Miri
        // (slow) the lengths around each loop's edges and the four key phases.
        let (lens, offsets): (Vec<usize>, usize) = if cfg!(miri) {
            let edges = [31, 32, 33, 63, 64, 65, 255, 256, 257, 319, 320, 1000];
            ((0..12).chain(edges).collect(), 4)
        } else {
            (
                (0..140)
                    .chain([255, 256, 257, 319, 320, 1000, 4099])
                    .collect(),
                8,
            )
        };
        for len in lens {
            for offset in 0..offsets {
                let original: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
                let mut fast = original.clone();
                let mut slow = original.clone();
                apply_mask(&mut fast, key, offset);
                reference(&mut slow, key, offset);
                assert_eq!(fast, slow, "len {len} offset {offset}");
            }
        }
    }

    #[test]
    fn unmasking_tells_whether_the_bytes_are_ascii() {
        let key = [0x9c, 0x41, 0xe7, 0x02];
        let plain: Vec<u8> = (0..1200u32).map(|i| (i * 13 % 128) as u8).collect();
        // Lengths around each loop's edges, from starts across a cache line (fewer
        // of both under Miri).
        let lens: Vec<usize> = if cfg!(miri) {
            alloc::vec![0, 1, 7, 31, 32, 33, 64, 255, 256, 300]
        } else {
            (0..70).chain([255, 256, 257, 300, 1000]).collect()
        };
        for len in lens {
            for start in (0..LINE + 3).step_by(if cfg!(miri) { 11 } else { 1 }) {
                let offset = start % 5;
                let masked = |plain: &[u8]| {
                    let mut m = plain.to_vec();
                    reference(&mut m, key, offset);
                    m
                };
                let text = &plain[start..start + len];
                let mut buf = masked(text);
                assert!(
                    unmask_ascii(&mut buf, key, offset),
                    "len {len} start {start}"
                );
                assert_eq!(buf, text);
                // Unmasked on the way into a buffer that holds a message's start.
                let mut out = b"abc".to_vec();
                assert!(
                    extend_unmasked_ascii(&masked(text), &mut out, key, offset),
                    "extend: len {len} start {start}"
                );
                assert_eq!(out[..3], *b"abc");
                assert_eq!(out[3..], *text);
                let mut out = b"abc".to_vec();
                extend_unmasked(&masked(text), &mut out, key, offset);
                assert_eq!(out[3..], *text, "extend: len {len} start {start}");
                // One byte past ASCII, anywhere (each place under Miri would be slow).
                let places = if cfg!(miri) {
                    alloc::vec![0, len / 2, len.saturating_sub(1)]
                } else {
                    (0..len).collect()
                };
                for high in places.into_iter().filter(|&h| h < len) {
                    let mut text = text.to_vec();
                    text[high] |= 0x80;
                    let mut buf = masked(&text);
                    assert!(
                        !unmask_ascii(&mut buf, key, offset),
                        "len {len} high {high}"
                    );
                    assert_eq!(buf, text);
                    let mut out = Vec::new();
                    assert!(
                        !extend_unmasked_ascii(&masked(&text), &mut out, key, offset),
                        "extend: len {len} high {high}"
                    );
                    assert_eq!(out, text);
                }
            }
        }
    }

    #[test]
    fn every_start_within_a_cache_line() {
        let key = [0x12, 0x34, 0x56, 0x78];
        let original: Vec<u8> = (0..2000u32).map(|i| (i * 11 + 5) as u8).collect();
        // Every start under test, one in nine under Miri (which is slow).
        for start in (0..2 * LINE).step_by(if cfg!(miri) { 9 } else { 1 }) {
            for len in [256, 300, 700] {
                for offset in 0..4 {
                    let mut fast = original.clone();
                    let mut slow = original.clone();
                    apply_mask(&mut fast[start..start + len], key, offset);
                    reference(&mut slow[start..start + len], key, offset);
                    assert_eq!(fast, slow, "start {start} len {len} offset {offset}");
                }
                let mut expected = original[start..start + len].to_vec();
                reference(&mut expected, key, 0);
                let copy = masked_copy(&original[start..start + len], key);
                assert_eq!(copy, expected, "copy start {start}");
            }
        }
    }

    #[test]
    fn a_fixed_block_is_masked_from_position_zero() {
        let key = [0xa1, 0xb2, 0xc3, 0xd4];
        let original: [u8; 23] = core::array::from_fn(|i| (i * 29 + 1) as u8);
        let mut block = original;
        apply_mask_block(&mut block, key);
        let mut expected = original;
        reference(&mut expected, key, 0);
        assert_eq!(block, expected);
    }

    #[test]
    fn a_masked_copy_equals_masking_a_copy() {
        let key = [9, 8, 7, 6];
        for len in [0, 1, 31, 32, 33, 63, 64, 65, 100, 255, 256, 257, 4096, 4101] {
            let src: Vec<u8> = (0..len).map(|i| (i * 13) as u8).collect();
            let mut expected = src.clone();
            apply_mask(&mut expected, key, 0);
            assert_eq!(masked_copy(&src, key), expected, "len {len}");
        }
    }

    #[test]
    fn a_masked_copy_into_a_buffer_at_any_offset() {
        let key = [0x5a, 0x01, 0xff, 0x80];
        for len in [0, 1, 3, 31, 32, 63, 64, 65, 255, 256, 257, 321, 4101] {
            let src: Vec<u8> = (0..len).map(|i| (i * 17 + 3) as u8).collect();
            for offset in 0..4 {
                let mut expected = src.clone();
                reference(&mut expected, key, offset);
                let mut dst = alloc::vec![0xee; len];
                masked_copy_into(&src, &mut dst, key, offset);
                assert_eq!(dst, expected, "len {len} offset {offset}");
            }
        }
    }

    /// Under Miri with `-Ctarget-feature=+avx2` (as CI runs it) the AVX2 call is taken.
    #[cfg(all(miri, target_feature = "avx2"))]
    #[test]
    fn miri_sees_avx2() {
        assert!(std::is_x86_feature_detected!("avx2"));
    }

    #[test]
    fn piecewise_equals_whole() {
        let key = [1, 2, 3, 4];
        let original: Vec<u8> = (0..300u32).map(|i| (i * 31) as u8).collect();
        let mut whole = original.clone();
        apply_mask(&mut whole, key, 0);
        // Every split, one in seven under Miri.
        for split in (0..original.len()).step_by(if cfg!(miri) { 7 } else { 1 }) {
            let mut pieces = original.clone();
            let (a, b) = pieces.split_at_mut(split);
            apply_mask(a, key, 0);
            apply_mask(b, key, split);
            assert_eq!(pieces, whole, "split {split}");
        }
    }
}
