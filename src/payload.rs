//! The bytes of a data message: a small one held inline, a larger one shared.
//!
//! A message of a few bytes handed out as a view of the input buffer costs two
//! atomic operations on the buffer's reference count (one to take the view, one to
//! drop it), more than decoding its frame. Held inline it costs a copy of the
//! bytes, and the input buffer stays the connection's alone, to be reused by the
//! next read.

use alloc::vec::Vec;
use core::borrow::Borrow;
use core::cmp::Ordering;
use core::fmt;
use core::hash::{Hash, Hasher};
use core::ops::Deref;

use bytes::Bytes;

/// Payloads of at most this many bytes are held inline. On 64-bit targets it keeps
/// a [`Payload`] the size of a [`Bytes`], 32 bytes.
pub const INLINE_CAPACITY: usize = 23;

/// An inline payload's block: the bytes, then their count in the last byte. One
/// array of a multiple of 8 bytes, so that the compiler moves a [`Payload`] (and the
/// events holding one) in whole words; a length byte beside a 23-byte array had it
/// copy the array's last 7 bytes as two overlapping 4-byte moves, and every later
/// load of them waited for both stores to retire.
const BLOCK: usize = INLINE_CAPACITY + 1;

/// The payload of a binary message, and the bytes of a [`Text`](crate::Text).
///
/// Payloads of at most [`INLINE_CAPACITY`] bytes received from the peer are held
/// inline (no allocation, no reference count); larger ones are a [`Bytes`], most
/// often a view of the buffer the connection read them into. Either way it derefs to
/// `[u8]`, compares by content, and clones cheaply. [`into_bytes`](Self::into_bytes)
/// gives a `Bytes` (copying an inline payload into one);
/// [`Connection::send`](crate::Connection::send) sends an inline payload by copying
/// it into the output, without an allocation.
#[derive(Clone)]
pub struct Payload(Repr);

#[derive(Clone)]
enum Repr {
    Inline([u8; BLOCK]),
    Shared(Bytes),
}

impl Payload {
    /// An empty payload.
    pub const fn new() -> Payload {
        Payload(Repr::Inline([0; BLOCK]))
    }

    /// A payload of a static slice, without copying.
    pub const fn from_static(bytes: &'static [u8]) -> Payload {
        Payload(Repr::Shared(Bytes::from_static(bytes)))
    }

    /// A copy of `bytes`: inline when it fits, else in a buffer of its own.
    pub fn copy_from_slice(bytes: &[u8]) -> Payload {
        Payload::inline(bytes)
            .unwrap_or_else(|| Payload(Repr::Shared(Bytes::copy_from_slice(bytes))))
    }

    /// `bytes` held inline, if they fit.
    #[inline]
    pub(crate) fn inline(bytes: &[u8]) -> Option<Payload> {
        if bytes.len() > INLINE_CAPACITY {
            return None;
        }
        let mut block = [0; BLOCK];
        block[..bytes.len()].copy_from_slice(bytes);
        block[INLINE_CAPACITY] = bytes.len() as u8;
        Some(Payload(Repr::Inline(block)))
    }

    /// The first `len` bytes of `window` held inline and unmasked with `mask` (from
    /// payload position 0), if they fit. A window of at least a block is copied and
    /// unmasked at that fixed size, which compiles to a few moves and word XORs
    /// instead of a call and a loop sized at run time; the bytes past `len` (copies
    /// of what followed the payload in the buffer) are never read.
    #[inline]
    pub(crate) fn unmasked(window: &[u8], len: usize, mask: Option<[u8; 4]>) -> Option<Payload> {
        if len > INLINE_CAPACITY {
            return None;
        }
        let mut block = match window.first_chunk::<BLOCK>() {
            Some(fixed) => *fixed,
            None => {
                let mut block = [0; BLOCK];
                block[..len].copy_from_slice(window.get(..len)?);
                block
            }
        };
        if let Some(key) = mask {
            crate::mask::apply_mask_block(&mut block, key);
        }
        // The count goes into the last byte through the word that holds it: a byte
        // store there had the block split at byte 23 and its last 7 bytes moved as
        // two overlapping words again.
        let (_, last) = block.split_last_chunk_mut::<8>()?;
        let word = u64::from_le_bytes(*last) & (u64::MAX >> 8);
        *last = (word | (len as u64) << 56).to_le_bytes();
        Some(Payload(Repr::Inline(block)))
    }

    /// The first `len` bytes of `window` held inline, if they fit.
    #[inline]
    pub(crate) fn inline_prefix(window: &[u8], len: usize) -> Option<Payload> {
        Payload::unmasked(window, len, None)
    }

    /// The bytes.
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline(block) => &block[..usize::from(block[INLINE_CAPACITY])],
            Repr::Shared(bytes) => bytes,
        }
    }

    /// Length in bytes.
    #[inline]
    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    /// Whether the payload is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the bytes are held inline (rather than in a [`Bytes`]).
    #[inline]
    pub fn is_inline(&self) -> bool {
        matches!(self.0, Repr::Inline(_))
    }

    /// The bytes as a [`Bytes`]: the shared buffer itself, or a new one holding a
    /// copy of an inline payload.
    pub fn into_bytes(self) -> Bytes {
        match self.0 {
            Repr::Inline(_) if self.is_empty() => Bytes::new(),
            Repr::Inline(_) => Bytes::copy_from_slice(self.as_slice()),
            Repr::Shared(bytes) => bytes,
        }
    }
}

impl Default for Payload {
    fn default() -> Payload {
        Payload::new()
    }
}

impl Deref for Payload {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsRef<[u8]> for Payload {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl Borrow<[u8]> for Payload {
    fn borrow(&self) -> &[u8] {
        self.as_slice()
    }
}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b\"{}\"", self.as_slice().escape_ascii())
    }
}

impl PartialEq for Payload {
    fn eq(&self, other: &Payload) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Payload {}

impl PartialOrd for Payload {
    fn partial_cmp(&self, other: &Payload) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Payload {
    fn cmp(&self, other: &Payload) -> Ordering {
        self.as_slice().cmp(other.as_slice())
    }
}

impl Hash for Payload {
    // As a `[u8]` hashes, which `Borrow<[u8]>` requires.
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state);
    }
}

macro_rules! eq_bytes {
    ($($t:ty),*) => {$(
        impl PartialEq<$t> for Payload {
            fn eq(&self, other: &$t) -> bool {
                self.as_slice() == AsRef::<[u8]>::as_ref(other)
            }
        }
        impl PartialEq<Payload> for $t {
            fn eq(&self, other: &Payload) -> bool {
                AsRef::<[u8]>::as_ref(self) == other.as_slice()
            }
        }
    )*};
}

eq_bytes!([u8], Vec<u8>, Bytes);

impl PartialEq<&[u8]> for Payload {
    fn eq(&self, other: &&[u8]) -> bool {
        self.as_slice() == *other
    }
}

impl<const N: usize> PartialEq<[u8; N]> for Payload {
    fn eq(&self, other: &[u8; N]) -> bool {
        self.as_slice() == other
    }
}

impl<const N: usize> PartialEq<&[u8; N]> for Payload {
    fn eq(&self, other: &&[u8; N]) -> bool {
        self.as_slice() == *other
    }
}

impl From<Bytes> for Payload {
    /// Keeps the buffer as it is (no copy, even when small).
    fn from(bytes: Bytes) -> Payload {
        Payload(Repr::Shared(bytes))
    }
}

impl From<Vec<u8>> for Payload {
    fn from(bytes: Vec<u8>) -> Payload {
        Payload(Repr::Shared(Bytes::from(bytes)))
    }
}

impl From<&[u8]> for Payload {
    /// A copy ([`copy_from_slice`](Payload::copy_from_slice)).
    fn from(bytes: &[u8]) -> Payload {
        Payload::copy_from_slice(bytes)
    }
}

impl<const N: usize> From<[u8; N]> for Payload {
    fn from(bytes: [u8; N]) -> Payload {
        Payload::copy_from_slice(&bytes)
    }
}

impl FromIterator<u8> for Payload {
    fn from_iter<I: IntoIterator<Item = u8>>(iter: I) -> Payload {
        Payload::from(iter.into_iter().collect::<Vec<u8>>())
    }
}

impl From<Payload> for Bytes {
    fn from(payload: Payload) -> Bytes {
        payload.into_bytes()
    }
}

impl From<Payload> for Vec<u8> {
    fn from(payload: Payload) -> Vec<u8> {
        match payload.0 {
            Repr::Shared(bytes) => Vec::from(bytes),
            Repr::Inline(_) => payload.as_slice().to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::vec;

    /// FNV-1a, enough to see that two values hash alike.
    #[derive(Default)]
    struct Fnv(u64);

    impl Hasher for Fnv {
        fn finish(&self) -> u64 {
            self.0
        }
        fn write(&mut self, bytes: &[u8]) {
            for &b in bytes {
                self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
            }
        }
    }

    fn hash_of<T: Hash + ?Sized>(value: &T) -> u64 {
        let mut h = Fnv(0xcbf2_9ce4_8422_2325);
        value.hash(&mut h);
        h.finish()
    }

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn a_payload_is_the_size_of_bytes() {
        assert_eq!(size_of::<Payload>(), size_of::<Bytes>());
    }

    #[test]
    fn small_copies_are_inline_and_larger_ones_shared() {
        let small = Payload::copy_from_slice(&[7; INLINE_CAPACITY]);
        assert!(small.is_inline());
        assert_eq!(small, [7u8; INLINE_CAPACITY]);
        let large = Payload::copy_from_slice(&[7; INLINE_CAPACITY + 1]);
        assert!(!large.is_inline());
        assert_eq!(large.len(), INLINE_CAPACITY + 1);
    }

    #[test]
    fn a_window_prefix_is_held_inline_unmasked_whatever_the_window() {
        let key = [0x11, 0x22, 0x44, 0x88];
        let plain: Vec<u8> = (0..40u8).map(|i| i.wrapping_mul(37) ^ 0x5a).collect();
        let masked: Vec<u8> = plain
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ key[i % 4])
            .collect();
        for len in 0..=INLINE_CAPACITY {
            // Windows shorter than a block take the other path: exactly `len` bytes,
            // up to a block and past it.
            for window in len..=plain.len() {
                let got = Payload::unmasked(&masked[..window], len, Some(key)).unwrap();
                assert!(got.is_inline());
                assert_eq!(got, plain[..len], "len {len}, window {window}");
                let prefix = Payload::inline_prefix(&plain[..window], len).unwrap();
                assert_eq!(prefix, plain[..len], "len {len}, window {window}");
            }
            if len > 0 {
                assert!(Payload::unmasked(&masked[..len - 1], len, Some(key)).is_none());
            }
        }
        assert!(Payload::unmasked(&masked, INLINE_CAPACITY + 1, None).is_none());
    }

    #[test]
    fn equality_order_and_hash_follow_content_not_representation() {
        let inline = Payload::copy_from_slice(b"abc");
        let shared = Payload::from(Bytes::from_static(b"abc"));
        assert!(inline.is_inline() && !shared.is_inline());
        assert_eq!(inline, shared);
        assert_eq!(inline.cmp(&shared), Ordering::Equal);
        assert_eq!(hash_of(&inline), hash_of(&shared));
        assert_eq!(hash_of(&inline), hash_of(&b"abc"[..]));
        assert!(Payload::copy_from_slice(b"abd") > shared);
    }

    #[test]
    fn conversions_keep_the_bytes() {
        let inline = Payload::copy_from_slice(b"hi");
        assert_eq!(inline.clone().into_bytes(), Bytes::from_static(b"hi"));
        assert_eq!(Vec::from(inline.clone()), b"hi".to_vec());
        assert_eq!(format!("{inline:?}"), "b\"hi\"");
        let shared = Payload::from(vec![0xff; 40]);
        assert_eq!(Bytes::from(shared.clone()).len(), 40);
        assert!(Payload::new().is_empty() && Payload::new().into_bytes().is_empty());
    }
}
