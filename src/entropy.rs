//! Randomness, injected: client masking keys (RFC 6455 §5.3) and handshake nonces
//! (§4.1) come from an [`Entropy`] source given to the connection, never from a global.
//!
//! - [`OsEntropy`] (feature `getrandom`, on by default): the operating system's
//!   generator. Use it in production.
//! - [`SeededEntropy`]: the ChaCha20 stream (RFC 8439) under a 32-byte seed. **For
//!   tests and replays**: given the same seed it repeats, so masking keys from a
//!   known seed are predictable, which §10.3 forbids on a real network. Only a
//!   secret seed from a hardware source (on a `no_std` target without an OS
//!   generator) makes it a sound generator.

/// A source of random bytes.
///
/// §5.3 requires masking keys that the application (and so the peer) cannot predict;
/// §10.3 explains why: predictable keys let a hostile page poison proxy caches.
pub trait Entropy {
    /// Fills `buf` with random bytes, or fails without a usable generator.
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), EntropyError>;
}

/// The entropy source could not produce bytes (for [`OsEntropy`]: the operating
/// system's generator failed). Sends that need a masking key fail with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EntropyError;

impl core::fmt::Display for EntropyError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("the entropy source failed")
    }
}

impl core::error::Error for EntropyError {}

impl<E: Entropy + ?Sized> Entropy for alloc::boxed::Box<E> {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), EntropyError> {
        (**self).fill(buf)
    }
}

/// The operating system's generator, stretched: 32 bytes from it key a ChaCha20
/// keystream (RFC 8439) in user space, which supplies the masking keys and is
/// keyed afresh from the OS every 256 KiB of output. So a client makes one system
/// call per 65,536 masking keys, not one per frame, and the keys stay as
/// unpredictable as the OS generator (§10.3). A clone starts a keystream of its
/// own, so two clones never hand out the same bytes.
#[cfg(feature = "getrandom")]
pub struct OsEntropy {
    stream: Option<SeededEntropy>,
}

/// Blocks of keystream between two keyings from the OS (64 bytes each).
#[cfg(feature = "getrandom")]
const RESEED_BLOCKS: u64 = 4096;

#[cfg(feature = "getrandom")]
impl OsEntropy {
    /// A source not keyed yet; the first use reads from the OS.
    pub const fn new() -> OsEntropy {
        OsEntropy { stream: None }
    }
}

#[cfg(feature = "getrandom")]
impl Clone for OsEntropy {
    /// A fresh source: copying the keystream would make both clones repeat it.
    fn clone(&self) -> Self {
        OsEntropy::new()
    }
}

#[cfg(feature = "getrandom")]
impl Default for OsEntropy {
    fn default() -> Self {
        OsEntropy::new()
    }
}

#[cfg(feature = "getrandom")]
impl core::fmt::Debug for OsEntropy {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("OsEntropy")
    }
}

#[cfg(feature = "getrandom")]
impl Entropy for OsEntropy {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), EntropyError> {
        let stream = match &mut self.stream {
            Some(stream) if stream.counter < RESEED_BLOCKS => stream,
            stream => {
                let mut seed = [0u8; 32];
                getrandom::fill(&mut seed).map_err(|_| EntropyError)?;
                stream.insert(SeededEntropy::from_seed(seed))
            }
        };
        stream.fill(buf)
    }
}

/// A deterministic generator: the ChaCha20 keystream (RFC 8439 §2.3) under a 32-byte
/// seed, with a zero nonce and a block counter from 0.
///
/// **For tests and replays only**, unless the seed is secret: anyone who knows the
/// seed knows every masking key, and §10.3 requires keys the peer cannot predict.
/// In production use [`OsEntropy`]. A clone repeats the same
/// stream, which is what a replay wants.
#[derive(Clone)]
pub struct SeededEntropy {
    key: [u32; 8],
    counter: u64,
    block: [u8; 64],
    used: usize,
}

impl core::fmt::Debug for SeededEntropy {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SeededEntropy")
    }
}

impl SeededEntropy {
    /// A generator from a 32-byte seed.
    pub fn from_seed(seed: [u8; 32]) -> SeededEntropy {
        let mut key = [0u32; 8];
        for (k, word) in key.iter_mut().zip(seed.as_chunks::<4>().0) {
            *k = u32::from_le_bytes(*word);
        }
        SeededEntropy {
            key,
            counter: 0,
            block: [0; 64],
            used: 64,
        }
    }

    /// A generator from a small number, for tests only (the seed is `n` in
    /// little-endian followed by zeros, so anyone can guess it).
    pub fn new(n: u64) -> SeededEntropy {
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&n.to_le_bytes());
        SeededEntropy::from_seed(seed)
    }

    fn refill(&mut self) {
        self.block = chacha20_block(&self.key, self.counter, [0; 3]);
        self.counter = self.counter.wrapping_add(1);
        self.used = 0;
    }
}

impl Entropy for SeededEntropy {
    #[inline]
    fn fill(&mut self, mut buf: &mut [u8]) -> Result<(), EntropyError> {
        while !buf.is_empty() {
            if self.used == self.block.len() {
                self.refill();
            }
            let n = buf.len().min(self.block.len() - self.used);
            buf[..n].copy_from_slice(&self.block[self.used..self.used + n]);
            self.used += n;
            buf = &mut buf[n..];
        }
        Ok(())
    }
}

/// The ChaCha20 block function (RFC 8439 §2.3). The 64-bit counter spans the 32-bit
/// counter word and the first nonce word, as in the original ChaCha.
fn chacha20_block(key: &[u32; 8], counter: u64, nonce: [u32; 3]) -> [u8; 64] {
    let mut state = [0u32; 16];
    state[..4].copy_from_slice(&[0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574]);
    state[4..12].copy_from_slice(key);
    state[12] = counter as u32;
    state[13] = nonce[0] ^ (counter >> 32) as u32;
    state[14] = nonce[1];
    state[15] = nonce[2];
    let mut working = state;
    for _ in 0..10 {
        quarter_round(&mut working, 0, 4, 8, 12);
        quarter_round(&mut working, 1, 5, 9, 13);
        quarter_round(&mut working, 2, 6, 10, 14);
        quarter_round(&mut working, 3, 7, 11, 15);
        quarter_round(&mut working, 0, 5, 10, 15);
        quarter_round(&mut working, 1, 6, 11, 12);
        quarter_round(&mut working, 2, 7, 8, 13);
        quarter_round(&mut working, 3, 4, 9, 14);
    }
    let mut out = [0u8; 64];
    for (i, chunk) in out.as_chunks_mut::<4>().0.iter_mut().enumerate() {
        *chunk = working[i].wrapping_add(state[i]).to_le_bytes();
    }
    out
}

#[inline(always)]
fn quarter_round(s: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize) {
    s[a] = s[a].wrapping_add(s[b]);
    s[d] = (s[d] ^ s[a]).rotate_left(16);
    s[c] = s[c].wrapping_add(s[d]);
    s[b] = (s[b] ^ s[c]).rotate_left(12);
    s[a] = s[a].wrapping_add(s[b]);
    s[d] = (s[d] ^ s[a]).rotate_left(8);
    s[c] = s[c].wrapping_add(s[d]);
    s[b] = (s[b] ^ s[c]).rotate_left(7);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chacha20_block_matches_rfc8439_2_3_2() {
        let mut key = [0u32; 8];
        for (i, k) in key.iter_mut().enumerate() {
            let b = (i * 4) as u8;
            *k = u32::from_le_bytes([b, b + 1, b + 2, b + 3]);
        }
        let nonce = [0x0900_0000, 0x4a00_0000, 0x0000_0000];
        let block = chacha20_block(&key, 1, nonce);
        let expected_start = [
            0x10, 0xf1, 0xe7, 0xe4, 0xd1, 0x3b, 0x59, 0x15, 0x50, 0x0f, 0xdd, 0x1f, 0xa3, 0x20,
            0x71, 0xc4,
        ];
        let expected_end = [
            0xb5, 0x12, 0x9c, 0xd1, 0xde, 0x16, 0x4e, 0xb9, 0xcb, 0xd0, 0x83, 0xe8, 0xa2, 0x50,
            0x3c, 0x4e,
        ];
        assert_eq!(block[..16], expected_start);
        assert_eq!(block[48..], expected_end);
    }

    #[test]
    fn seeded_entropy_repeats_and_differs_by_seed() {
        let (mut a, mut b, mut c) = (
            SeededEntropy::new(7),
            SeededEntropy::new(7),
            SeededEntropy::new(8),
        );
        let (mut x, mut y, mut z) = ([0u8; 100], [0u8; 100], [0u8; 100]);
        a.fill(&mut x[..3]).unwrap();
        a.fill(&mut x[3..]).unwrap();
        b.fill(&mut y).unwrap();
        c.fill(&mut z).unwrap();
        assert_eq!(x, y);
        assert_ne!(x, z);
        // Block 0 and block 1 of the stream differ (the counter advances).
        assert_ne!(x[..36], x[64..100]);
    }

    #[cfg(feature = "getrandom")]
    #[test]
    fn os_entropy_clones_never_share_pool_bytes() {
        let mut a = OsEntropy::new();
        let mut first = [0u8; 4];
        a.fill(&mut first).unwrap(); // keyed: 60 bytes of the block left
        let mut b = a.clone();
        let (mut x, mut y) = ([0u8; 60], [0u8; 60]);
        a.fill(&mut x).unwrap();
        b.fill(&mut y).unwrap();
        assert_ne!(x, y, "a clone handed out the same bytes");
    }

    #[cfg(feature = "getrandom")]
    #[test]
    fn os_entropy_is_keyed_afresh_from_the_os() {
        let mut e = OsEntropy::new();
        let mut block = [0u8; 64];
        e.fill(&mut block).unwrap();
        let first_key = e.stream.as_ref().unwrap().key;
        for _ in 0..RESEED_BLOCKS {
            e.fill(&mut block).unwrap();
        }
        assert_ne!(e.stream.as_ref().unwrap().key, first_key, "not keyed again");
        assert!(e.stream.as_ref().unwrap().counter < 4, "a fresh keystream");
    }

    #[cfg(feature = "getrandom")]
    #[test]
    fn os_entropy_is_not_constant() {
        let mut e = OsEntropy::new();
        let mut a = [0u8; 32];
        let mut b = [0u8; 32];
        e.fill(&mut a).unwrap();
        e.fill(&mut b).unwrap();
        assert_ne!(a, b);
    }
}
