//! The launcher's allocator when it is built for musl: blocks up to 1 MiB in power-of-two
//! classes, cut from 4 MiB chunks and kept on per-class free lists when freed (the chunks go
//! back when the process ends); larger blocks from the C library.
//!
//! Why: a static musl launcher starts in a third of a static glibc one's time (glibc probes the
//! CPU's caches with CPUID at start, which a virtual machine traps), but musl's own allocator
//! maps and unmaps pages for most of a hit's allocations (70 `mmap`/`munmap` calls per hit of
//! libgit2's `llhttp/api.c`), which took back what the start saved; mimalloc's start costs
//! more than glibc's, and a plain bump allocator (nothing reused) doubled a large miss's page
//! faults. A launch is short and allocates from one thread at a time, so the simplest reuse
//! does. See BENCHMARKS.md, "Engine (issue 12)", and the README's "Fastest hits".

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Mutex;

/// Blocks larger than this come from the C library (one `mmap` each in musl) and go back to it.
const LARGE: usize = 1024 * 1024;
/// Size of each chunk the classes' blocks are cut from.
const CHUNK: usize = 4 * 1024 * 1024;
/// Size classes: powers of two from 16 bytes to [`LARGE`].
const CLASSES: usize = (LARGE.trailing_zeros() - 3) as usize;

/// Blocks in power-of-two classes with per-class free lists, cut from chunks of [`System`];
/// blocks over [`LARGE`] from [`System`] itself.
pub struct Arena {
    state: Mutex<Classes>,
}

/// The current chunk (next free byte, end) and the heads of the classes' free lists (each
/// freed block holds the address of the next).
struct Classes {
    next: usize,
    end: usize,
    free: [usize; CLASSES],
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
    /// An arena with no chunk yet.
    pub const fn new() -> Self {
        Arena {
            state: Mutex::new(Classes {
                next: 0,
                end: 0,
                free: [0; CLASSES],
            }),
        }
    }

    fn classes(&self) -> std::sync::MutexGuard<'_, Classes> {
        match self.state.lock() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// A block of `class`: a freed one, else cut from the current chunk or a new one.
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
            let chunk = System.alloc(Layout::from_size_align_unchecked(CHUNK, 4096));
            if chunk.is_null() {
                return chunk;
            }
            c.next = chunk as usize;
            c.end = c.next + CHUNK;
        }
        let start = c.next.next_multiple_of(size.min(4096));
        c.next = start + size;
        start as *mut u8
    }

    /// Puts a block back on its class's free list.
    unsafe fn give(&self, ptr: *mut u8, class: usize) {
        let mut c = self.classes();
        *(ptr as *mut usize) = c.free[class];
        c.free[class] = ptr as usize;
    }
}

impl Default for Arena {
    fn default() -> Self {
        Self::new()
    }
}

// SAFETY: a small block is cut from a chunk no other block overlaps, aligned to its class size
// (or 4096), which is at least the layout's size and alignment; it is on a free list only
// after `dealloc`. Which allocator serves a block is decided by its layout alone, so
// `dealloc` and `realloc` (given the same layout) always reach the one that made it.
unsafe impl GlobalAlloc for Arena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match class(layout) {
            Some(c) => self.take(c),
            None => System.alloc(layout),
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        match class(layout) {
            Some(c) => self.give(ptr, c),
            None => System.dealloc(ptr, layout),
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
        match (class(layout), class(new_layout)) {
            (Some(a), Some(b)) if a == b => ptr,
            (None, None) => System.realloc(ptr, layout, new_size),
            _ => {
                let new = self.alloc(new_layout);
                if !new.is_null() {
                    std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                    self.dealloc(ptr, layout);
                }
                new
            }
        }
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
}
