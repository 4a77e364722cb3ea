//! The launcher's allocator: blocks up to 1 MiB in power-of-two classes, cut from 4 MiB
//! chunks and kept on per-class free lists when freed (the chunks go back when the process
//! ends); larger blocks from the C library.
//!
//! Why, built for musl: a static musl launcher starts in a third of a static glibc one's time
//! (glibc probes the CPU's caches with CPUID at start, which a virtual machine traps), but
//! musl's own allocator maps and unmaps pages for most of a hit's allocations (70
//! `mmap`/`munmap` calls per hit of libgit2's `llhttp/api.c`), which took back what the start
//! saved; mimalloc's start costs more than glibc's, and a plain bump allocator (nothing
//! reused) doubled a large miss's page faults. A launch is short and allocates from one thread
//! at a time, so the simplest reuse does. See BENCHMARKS.md, "Engine (issue 12)", and the
//! README's "Fastest hits".
//!
//! Built for glibc, the launcher starts on the C library's allocator and moves to the classes
//! after [`GLIBC_ENGAGE`] allocations: a hit (about 700) keeps glibc's compact heap, whose
//! pages it faults in fewer of (the classes took 17 more page faults per hit); a miss (about
//! 47 000 for libgit2's `repository.c`) spends 12 % fewer instructions in the classes.
//! Blocks the C library made before the move go back to it (a block is the classes' only
//! when it lies in one of their chunks).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Mutex;

/// Allocations the glibc launcher leaves to the C library before it moves to the classes.
pub const GLIBC_ENGAGE: usize = 4000;
/// The most chunks cut (256 MiB); small blocks beyond them come from the C library.
const MAX_CHUNKS: usize = 64;

/// Blocks larger than this come from the C library (one `mmap` each in musl) and go back to it.
const LARGE: usize = 1024 * 1024;
/// Size of each chunk the classes' blocks are cut from.
const CHUNK: usize = 4 * 1024 * 1024;
/// Size classes: powers of two from 16 bytes to [`LARGE`].
const CLASSES: usize = (LARGE.trailing_zeros() - 3) as usize;

/// Blocks in power-of-two classes with per-class free lists, cut from chunks of [`System`];
/// blocks over [`LARGE`] from [`System`] itself, and every block until the classes engage.
pub struct Arena {
    state: Mutex<Classes>,
    /// Allocations asked for while not engaged (counted up to `engage_after`).
    asked: AtomicUsize,
    engage_after: usize,
    /// Chunks cut so far (also in `state`; read without the lock).
    chunks_cut: AtomicUsize,
}

/// The current chunk (next free byte, end), the heads of the classes' free lists (each
/// freed block holds the address of the next) and where each chunk starts.
struct Classes {
    next: usize,
    end: usize,
    free: [usize; CLASSES],
    chunks: [usize; MAX_CHUNKS],
}

/// The class of a small layout (its size and alignment rounded up to a power of two), or
/// `None` for one [`System`] serves (large, or aligned beyond the 4096 bytes blocks get).
fn class(layout: Layout) -> Option<usize> {
    let size = layout
        .size()
        .max(layout.align())
        .max(16)
        .next_power_of_two();
    (size <= LARGE && layout.align() <= 4096).then(|| (size.trailing_zeros() - 4) as usize)
}

/// The size of a class's blocks.
fn class_size(class: usize) -> usize {
    16 << class
}

impl Arena {
    /// An arena whose classes serve from the first allocation.
    pub const fn new() -> Self {
        Self::engaging_after(0)
    }

    /// An arena that leaves the first `n` allocations to the C library.
    pub const fn engaging_after(n: usize) -> Self {
        Arena {
            state: Mutex::new(Classes {
                next: 0,
                end: 0,
                free: [0; CLASSES],
                chunks: [0; MAX_CHUNKS],
            }),
            asked: AtomicUsize::new(0),
            engage_after: n,
            chunks_cut: AtomicUsize::new(0),
        }
    }

    fn classes(&self) -> std::sync::MutexGuard<'_, Classes> {
        match self.state.lock() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Whether the classes serve new small blocks now (counting this ask while they do not).
    /// A load and a store, not an atomic increment: two threads asking at once may count
    /// one ask, which only moves the switch a little later (ownership does not depend on it).
    fn engaged(&self) -> bool {
        let n = self.asked.load(Relaxed);
        n >= self.engage_after || {
            self.asked.store(n + 1, Relaxed);
            false
        }
    }

    /// A block of `class`: a freed one, else cut from the current chunk or a new one; null
    /// when no chunk can be had (then the C library serves it).
    unsafe fn take(&self, class: usize) -> *mut u8 {
        let mut c = self.classes();
        let head = c.free[class];
        if head != 0 {
            c.free[class] = *(head as *const usize);
            return head as *mut u8;
        }
        let size = class_size(class);
        let start = c.next.next_multiple_of(size.min(4096));
        if c.next == 0 || start + size > c.end {
            let n = self.chunks_cut.load(Relaxed);
            if n == MAX_CHUNKS {
                return std::ptr::null_mut();
            }
            let chunk = System.alloc(Layout::from_size_align_unchecked(CHUNK, 4096));
            if chunk.is_null() {
                return chunk;
            }
            c.chunks[n] = chunk as usize;
            self.chunks_cut.store(n + 1, Relaxed);
            c.next = chunk as usize;
            c.end = c.next + CHUNK;
        }
        let start = c.next.next_multiple_of(size.min(4096));
        c.next = start + size;
        start as *mut u8
    }

    /// Puts a block of `class` back on its class's free list if a chunk holds it; `false`
    /// for a block of the C library's.
    unsafe fn give(&self, ptr: *mut u8, class: usize) -> bool {
        let n = self.chunks_cut.load(Relaxed);
        if n == 0 {
            return false;
        }
        let mut c = self.classes();
        let p = ptr as usize;
        if !c.chunks[..n].iter().any(|&k| (k..k + CHUNK).contains(&p)) {
            return false;
        }
        *(ptr as *mut usize) = c.free[class];
        c.free[class] = p;
        true
    }

    /// Whether a chunk holds `ptr`.
    fn owns(&self, ptr: *mut u8) -> bool {
        let n = self.chunks_cut.load(Relaxed);
        n != 0 && {
            let c = self.classes();
            let p = ptr as usize;
            c.chunks[..n].iter().any(|&k| (k..k + CHUNK).contains(&p))
        }
    }
}

impl Default for Arena {
    fn default() -> Self {
        Self::new()
    }
}

// SAFETY: a small block is cut from a chunk no other block overlaps, aligned to its class size
// (or 4096), which is at least the layout's size and alignment; it is on a free list only
// after `dealloc`. A block is the classes' exactly when it lies in one of their chunks (the
// C library's never do), so `dealloc` and `realloc` always reach the allocator that made it.
unsafe impl GlobalAlloc for Arena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if self.engaged() {
            if let Some(c) = class(layout) {
                let p = self.take(c);
                if !p.is_null() {
                    return p;
                }
            }
        }
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if self.chunks_cut.load(Relaxed) == 0 || !class(layout).is_some_and(|c| self.give(ptr, c)) {
            System.dealloc(ptr, layout)
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if self.chunks_cut.load(Relaxed) == 0 && !self.engaged() {
            return System.realloc(ptr, layout, new_size);
        }
        let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
        let (old, new) = (class(layout), class(new_layout));
        if old.is_some() && self.owns(ptr) {
            if old == new {
                return ptr;
            }
        } else if new.is_none() || !self.engaged() {
            return System.realloc(ptr, layout, new_size);
        }
        let moved = self.alloc(new_layout);
        if !moved.is_null() {
            std::ptr::copy_nonoverlapping(ptr, moved, layout.size().min(new_size));
            self.dealloc(ptr, layout);
        }
        moved
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_do_not_overlap_keep_their_bytes_and_are_reused() {
        let arena = Arena::new();
        let l = |size, align| Layout::from_size_align(size, align).unwrap();
        unsafe {
            let a = arena.alloc(l(100, 8));
            a.write_bytes(1, 100);
            let b = arena.alloc(l(100, 8));
            b.write_bytes(2, 100);
            assert!(b as usize >= a as usize + 100 || a as usize >= b as usize + 100);
            // Within its class a block stays where it is; across classes it moves, bytes kept.
            assert_eq!(arena.realloc(b, l(100, 8), 128), b);
            let a2 = arena.realloc(a, l(100, 8), 1000);
            assert_ne!(a2, a);
            assert!((0..100).all(|i| *a2.add(i) == 1 && *b.add(i) == 2));
            // A freed block is handed out again for its class.
            assert_eq!(arena.alloc(l(120, 8)), a);
            // Across the large threshold and back.
            let big = arena.realloc(a2, l(1000, 8), LARGE * 2);
            assert!((0..100).all(|i| *big.add(i) == 1));
            let small = arena.realloc(big, l(LARGE * 2, 8), 50);
            assert!((0..50).all(|i| *small.add(i) == 1));
            // Alignment is kept, and blocks that outgrow a chunk come from new ones.
            let blocks: Vec<_> = (0..40).map(|_| arena.alloc(l(LARGE, 4096))).collect();
            for (i, p) in blocks.iter().enumerate() {
                assert_eq!(*p as usize % 4096, 0);
                p.write_bytes(i as u8, LARGE);
            }
            assert!(blocks
                .iter()
                .enumerate()
                .all(|(i, p)| *p.add(LARGE - 1) == i as u8 && *p.add(0) == i as u8));
            let odd = arena.alloc(l(8, 64));
            assert_eq!(odd as usize % 64, 0);
            // Beyond a page's alignment, the C library's (blocks are aligned to 4096 at most).
            let wide = arena.alloc(l(100, 8192));
            assert_eq!(wide as usize % 8192, 0);
            arena.dealloc(wide, l(100, 8192));
        }
    }

    /// Engaging after `n`: the first blocks are the C library's (in no chunk), and they are
    /// freed to it and grown into the classes with their bytes once the classes serve.
    #[test]
    fn the_c_library_serves_until_the_classes_engage() {
        let arena = Arena::engaging_after(3);
        let l = |size| Layout::from_size_align(size, 8).unwrap();
        unsafe {
            let early: Vec<_> = (0..3)
                .map(|i| {
                    let p = arena.alloc(l(64));
                    p.write_bytes(i as u8 + 1, 64);
                    p
                })
                .collect();
            assert!(early.iter().all(|&p| !arena.owns(p)));
            let late = arena.alloc(l(64));
            assert!(arena.owns(late));
            // A block of the C library's, grown once the classes serve: moved, bytes kept.
            let grown = arena.realloc(early[0], l(64), 200);
            assert!(arena.owns(grown));
            assert!((0..64).all(|i| *grown.add(i) == 1));
            arena.dealloc(early[1], l(64));
            arena.dealloc(grown, l(200));
            assert_eq!(arena.alloc(l(256)), grown, "a freed class block is reused");
            assert_eq!(*early[2], 3);
            arena.dealloc(early[2], l(64));
        }
    }
}
