//! A global allocator that counts live heap bytes, for the memory test and the
//! benchmark. This shim is the only `unsafe` code in the project, and it exists only
//! in those two programs: the library forbids `unsafe`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);
static CALLS: AtomicIsize = AtomicIsize::new(0);
static ALLOCATED: AtomicIsize = AtomicIsize::new(0);

/// How many allocations (and reallocations) were made so far, by anyone.
#[allow(dead_code)]
pub fn allocations() -> isize {
    CALLS.load(Ordering::Relaxed)
}

/// How many bytes were allocated so far (growth by reallocation included), freed
/// or not, by anyone.
#[allow(dead_code)]
pub fn allocated() -> isize {
    ALLOCATED.load(Ordering::Relaxed)
}

/// Heap bytes allocated and not yet freed, by anyone in the process.
pub fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

thread_local! {
    // Const-initialised and without a destructor: safe to touch from the allocator.
    static MINE: std::cell::Cell<isize> = const { std::cell::Cell::new(0) };
}

/// Heap bytes allocated on this thread less those freed on it: what a test that
/// runs on one thread holds, whatever the test harness's own threads do meanwhile.
#[allow(dead_code)]
pub fn thread_live() -> isize {
    MINE.with(|m| m.get())
}

fn mine(by: isize) {
    let _ = MINE.try_with(|m| m.set(m.get() + by));
}

/// The most heap bytes live at once since the last [`reset_peak`].
#[allow(dead_code)]
pub fn peak() -> isize {
    PEAK.load(Ordering::Relaxed)
}

/// Starts a new peak from what is live now.
#[allow(dead_code)]
pub fn reset_peak() {
    PEAK.store(live(), Ordering::Relaxed);
}

fn grew(by: isize) {
    CALLS.fetch_add(1, Ordering::Relaxed);
    ALLOCATED.fetch_add(by.max(0), Ordering::Relaxed);
    mine(by);
    let now = LIVE.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

struct Counting;

// SAFETY: every method forwards to the system allocator with the caller's arguments
// unchanged; the counter update has no effect on the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size() as isize);
        // SAFETY: same contract as GlobalAlloc::alloc, passed through.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        mine(-(layout.size() as isize));
        // SAFETY: `ptr` came from `alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        grew(new_size as isize - layout.size() as isize);
        // SAFETY: same contract as GlobalAlloc::realloc, passed through.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;
