//! The masking window of a client's large payload that the caller still shares: the
//! payload cannot be masked in place (another holder would see the change) and
//! masking it whole into a copy would allocate its size and push all of it out of
//! cache before the first byte is sent, so it is masked a window at a time, as the
//! transport takes it (§5.3: the mask applies to the payload as it goes on the wire).

use alloc::boxed::Box;
use alloc::vec::Vec;

use crate::mask::masked_copy_into;

/// How much of such a payload is masked at a time.
pub(super) const MASK_WINDOW: usize = 64 << 10;

/// The front segment's payload from `at` on, masked, in the first `len` bytes of
/// `bytes` (at most [`MASK_WINDOW`]). Boxed on first use: a connection that never
/// sends a shared large payload as a client pays a pointer for it.
#[derive(Debug, Default)]
pub(super) struct Window(Option<Box<Masked>>);

#[derive(Debug, Default)]
struct Masked {
    bytes: Vec<u8>,
    at: usize,
    len: usize,
}

impl Window {
    /// Where the masked part ends in the payload (0 when nothing is masked).
    pub(super) fn end(&self) -> usize {
        self.0.as_deref().map_or(0, |w| w.at + w.len)
    }

    /// Masks `payload[at..]`, up to a window of it, with `key` (the payload's
    /// offset `at` chooses where in the key to start), unless the window still
    /// holds bytes from `at` on or the payload ends there.
    pub(super) fn fill(&mut self, payload: &[u8], key: [u8; 4], at: usize) {
        if at < self.end() || at >= payload.len() {
            return;
        }
        let len = (payload.len() - at).min(MASK_WINDOW);
        let window = self.0.get_or_insert_default();
        if window.bytes.len() < len {
            window.bytes.resize(len, 0);
        }
        masked_copy_into(&payload[at..at + len], &mut window.bytes[..len], key, at);
        window.at = at;
        window.len = len;
    }

    /// The masked bytes from the payload's offset `at` on (empty if the window
    /// does not reach that far).
    pub(super) fn from(&self, at: usize) -> &[u8] {
        match self.0.as_deref() {
            Some(w) => &w.bytes[at.saturating_sub(w.at).min(w.len)..w.len],
            None => &[],
        }
    }

    /// Whether the window holds memory.
    #[cfg(test)]
    pub(super) fn is_allocated(&self) -> bool {
        self.0.is_some()
    }

    /// Forgets what is masked (its payload is all written), keeping the room for
    /// the next payload masked late.
    pub(super) fn clear(&mut self) {
        if let Some(window) = &mut self.0 {
            (window.at, window.len) = (0, 0);
        }
    }
}
