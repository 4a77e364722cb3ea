//! The launcher's allocator: blocks up to [`LARGE`] in size classes, cut from 4 MiB chunks
//! and kept on per-class free lists when freed (the chunks go back when the process ends);
//! larger blocks from the C library. Each thread has its own classes: no lock, no atomic. A
//! block freed on another thread joins that thread's lists; what a thread holds when it ends
//! (its lists, the rest of its chunk) is not reused, which a launch, whose threads are a few
//! pipe readers, can afford.
//!
//! Why: a launch is short and allocates from one thread at a time, so the simplest reuse does.
//! - Built for musl, whose start is a third of static glibc's (glibc probes the CPU's caches
//!   with CPUID at start, which a virtual machine traps), musl's own allocator maps and unmaps
//!   pages for most of a hit's allocations (70 `mmap`/`munmap` calls per hit of libgit2's
//!   `llhttp/api.c`), which took back what the start saved; mimalloc's start costs more than
//!   glibc's, and a plain bump allocator (nothing reused) doubled a large miss's page faults.
//! - Built for glibc, a hit of `llhttp/api.c` spent a sixth of its instructions in `malloc`
//!   and `free` (about 1 400 calls). These classes take 13 % off a hit's instructions and 12 %
//!   off a miss's, for 2–9 and 20 more page faults: classes of 16-byte steps up to 512 bytes,
//!   where powers of two wasted up to half of each block (322 more faults on a miss), and
//!   blocks over 4 KiB left to glibc, which reuses freed memory across sizes.
//!
//! See BENCHMARKS.md, "Engine (issue 12)" and "The launcher's own allocator", and the
//! README's "Fastest hits".

use std::alloc::{GlobalAlloc, Layout, System};

/// Blocks larger than this come from the C library and go back to it: with musl 1 MiB (its
/// allocator maps each large block), with glibc 4 KiB (its heap reuses them better).
#[cfg(target_env = "musl")]
const LARGE: usize = 1024 * 1024;
/// Blocks larger than this come from the C library and go back to it (see the musl value).
#[cfg(not(target_env = "musl"))]
const LARGE: usize = 4096;
/// Size of each chunk the classes' blocks are cut from.
const CHUNK: usize = 4 * 1024 * 1024;
/// Fine classes: 16 to [`FINE_MAX`] bytes in steps of 16, for blocks aligned to 16 at most.
const FINE: usize = FINE_MAX / 16;
/// The largest block of a fine class: most of a launch's blocks (paths, names) are smaller.
const FINE_MAX: usize = 512;
/// Size classes: the fine ones, then powers of two from 16 bytes to [`LARGE`].
const CLASSES: usize = FINE + (LARGE.trailing_zeros() - 3) as usize;

/// Blocks in size classes with per-class free lists, cut from chunks of [`System`];
/// blocks over [`LARGE`] from [`System`] itself. Each thread cuts and reuses its own (a block
/// freed on another thread joins that thread's lists), so no allocation takes a lock.
pub struct Arena;

/// The current chunk (next free byte, end) and the heads of the classes' free lists (each
/// freed block holds the address of the next).
struct Classes {
    next: usize,
    end: usize,
    free: [usize; CLASSES],
}

thread_local! {
    /// This thread's classes (constant-initialised, nothing to drop: no allocation, no
    /// destructor registered).
    static STATE: std::cell::UnsafeCell<Classes> = const {
        std::cell::UnsafeCell::new(Classes { next: 0, end: 0, free: [0; CLASSES] })
    };
}

/// The class of a small layout, or `None` for one [`System`] serves (large, or aligned beyond
/// the 4096 bytes blocks get). Up to [`FINE_MAX`] bytes its size rounded up to 16 (a power of
/// two wasted up to half of every block: a quarter more pages touched by a large miss), above
/// that, or aligned beyond 16, its size and alignment rounded up to a power of two.
fn class(layout: Layout) -> Option<usize> {
    let size = layout.size().max(16);
    if size <= FINE_MAX && layout.align() <= 16 {
        return Some((size - 1) / 16);
    }
    let size = size.max(layout.align()).next_power_of_two();
    (size <= LARGE && layout.align() <= 4096).then(|| FINE + (size.trailing_zeros() - 4) as usize)
}

/// The size of a class's blocks.
fn class_size(class: usize) -> usize {
    match class < FINE {
        true => (class + 1) * 16,
        false => 16 << (class - FINE),
    }
}

/// The alignment of a class's blocks.
fn class_align(class: usize) -> usize {
    match class < FINE {
        true => 16,
        false => class_size(class).min(4096),
    }
}

impl Arena {
    /// An arena with no chunk yet.
    pub const fn new() -> Self {
        Arena
    }

    /// Runs `f` on this thread's classes. Nothing `f` calls allocates from the arena again.
    fn with<T>(f: impl FnOnce(&mut Classes) -> T) -> T {
        // SAFETY: the classes are this thread's; `f` does not re-enter (below).
        STATE.with(|c| f(unsafe { &mut *c.get() }))
    }

    /// A block of `class`: a freed one, else cut from the current chunk or a new one.
    unsafe fn take(&self, class: usize) -> *mut u8 {
        Self::with(|c| {
            let head = c.free[class];
            if head != 0 {
                c.free[class] = *(head as *const usize);
                return head as *mut u8;
            }
            let (size, align) = (class_size(class), class_align(class));
            let start = c.next.next_multiple_of(align);
            if c.next == 0 || start + size > c.end {
                // The C library's allocator, never this one: no re-entry.
                let chunk = System.alloc(Layout::from_size_align_unchecked(CHUNK, 4096));
                if chunk.is_null() {
                    return chunk;
                }
                c.next = chunk as usize;
                c.end = c.next + CHUNK;
            }
            let start = c.next.next_multiple_of(align);
            c.next = start + size;
            start as *mut u8
        })
    }

    /// Puts a block back on its class's free list.
    unsafe fn give(&self, ptr: *mut u8, class: usize) {
        Self::with(|c| {
            *(ptr as *mut usize) = c.free[class];
            c.free[class] = ptr as usize;
        })
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
            assert_eq!(arena.realloc(b, l(100, 8), 112), b);
            let a2 = arena.realloc(a, l(100, 8), 1000);
            assert_ne!(a2, a);
            assert!((0..100).all(|i| *a2.add(i) == 1 && *b.add(i) == 2));
            // A freed block is handed out again for its class.
            assert_eq!(arena.alloc(l(97, 8)), a);
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

    #[test]
    fn threads_cut_their_own_blocks_and_free_each_others() {
        let arena = Arena::new();
        let l = |size| Layout::from_size_align(size, 8).unwrap();
        // Blocks made on four threads at once, each filled with its thread's byte.
        let made: Vec<Vec<usize>> = std::thread::scope(|s| {
            let threads: Vec<_> = (0..4u8)
                .map(|t| {
                    s.spawn(move || {
                        (0..2000)
                            .map(|i| unsafe {
                                let p = Arena::new().alloc(l(16 + i % 700));
                                p.write_bytes(t, 16 + i % 700);
                                p as usize
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            threads.into_iter().map(|t| t.join().unwrap()).collect()
        });
        for (t, blocks) in made.iter().enumerate() {
            for (i, &p) in blocks.iter().enumerate() {
                let p = p as *const u8;
                let n = 16 + i % 700;
                assert!(
                    unsafe { (0..n).all(|j| *p.add(j) == t as u8) },
                    "thread {t} block {i}"
                );
            }
        }
        // Freed here, on another thread: they join this thread's lists and are handed out again.
        for (i, &p) in made[0].iter().enumerate() {
            unsafe { arena.dealloc(p as *mut u8, l(16 + i % 700)) };
        }
        // Last in, first out: of the 16-byte blocks (0, 700, 1400), the last freed (nothing
        // else on this thread allocates in between).
        assert_eq!(unsafe { arena.alloc(l(16)) } as usize, made[0][1400]);
    }
}
