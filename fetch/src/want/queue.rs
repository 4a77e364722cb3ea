//! The running pull's queue as launchers read it (DESIGN §5, issue 15): per action key, the
//! bytes the prefetch brings before it, its own bytes, CI's compile time and the policy's wait
//! for it. The pull writes it once, before it announces itself; a launcher that misses reads
//! its one line to decide whether waiting can beat compiling ([`super::link_state`]).
//!
//! Format (`<objdir>/.cached-ninja/pull-queue`), one fixed-width line per record, sorted by
//! key so a launcher finds its line by binary search with a few positioned reads (the file of
//! a 40 000-edge build is 4 MB; a launcher reads a few hundred bytes of it):
//!
//! ```text
//! <action key: 64 hex> <bytes ahead: 16 hex> <bytes: 16 hex> <compile ms: 8 hex> <wait ms: 8 hex>\n
//! ```
//!
//! `bytes ahead` is `ffffffffffffffff` for a record the prefetch never takes (on-demand only);
//! `wait ms` is `ffffffff` when no policy rule sets `remote_wait`.

use crate::cache::Digest;
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::Duration;

/// Length of one line, newline included.
const LINE: usize = 64 + 1 + 16 + 1 + 16 + 1 + 8 + 1 + 8 + 1;

/// One record's place in the pull's queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    /// Bytes the prefetch takes before this record (`None`: the prefetch never takes it).
    pub ahead: Option<u64>,
    /// Bytes of this record's download.
    pub bytes: u64,
    /// CI's compile time of the edge (what compiling here instead would cost).
    pub compile: Duration,
    /// The policy's wait for this edge (`[[rule]] remote_wait`), replacing the compile time
    /// as the limit and the flat `wait_ms` as the cap.
    pub remote_wait: Option<Duration>,
}

/// Writes the queue file at `path` (atomically) from `(key, slot)` pairs in any order.
pub fn write(path: &Path, slots: &mut [(Digest, Slot)]) -> io::Result<()> {
    slots.sort_unstable_by_key(|s| s.0);
    let mut text = Vec::with_capacity(slots.len() * LINE);
    for (key, s) in slots.iter() {
        let ms = |d: Duration| d.as_millis().min(u32::MAX as u128 - 1) as u32;
        writeln!(
            text,
            "{} {:016x} {:016x} {:08x} {:08x}",
            key.to_hex(),
            s.ahead.unwrap_or(u64::MAX),
            s.bytes,
            ms(s.compile),
            s.remote_wait.map_or(u32::MAX, ms),
        )?;
    }
    crate::cache::write_atomic_with(path, crate::cache::Durability::Unsynced, |f| {
        f.write_all(&text)
    })
}

/// The slot of `key` in the queue file at `path`, if the file names it.
pub fn lookup(path: &Path, key: &Digest) -> Option<Slot> {
    let f = File::open(path).ok()?;
    let n = f.metadata().ok()?.len() as usize / LINE;
    let want = key.to_hex();
    let (mut lo, mut hi) = (0, n);
    let mut line = [0u8; LINE];
    while lo < hi {
        let mid = (lo + hi) / 2;
        f.read_exact_at(&mut line, (mid * LINE) as u64).ok()?;
        match line[..64].cmp(want.as_bytes()) {
            std::cmp::Ordering::Less => lo = mid + 1,
            std::cmp::Ordering::Greater => hi = mid,
            std::cmp::Ordering::Equal => return parse(&line),
        }
    }
    None
}

fn parse(line: &[u8; LINE]) -> Option<Slot> {
    let text = std::str::from_utf8(&line[65..LINE - 1]).ok()?;
    let mut f = text.split(' ');
    let mut hex = || u64::from_str_radix(f.next()?, 16).ok();
    let (ahead, bytes, compile, wait) = (hex()?, hex()?, hex()?, hex()?);
    Some(Slot {
        ahead: (ahead != u64::MAX).then_some(ahead),
        bytes,
        compile: Duration::from_millis(compile),
        remote_wait: (wait != u32::MAX as u64).then(|| Duration::from_millis(wait)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_written_slot_is_found_and_no_other() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pull-queue");
        let mut slots: Vec<(Digest, Slot)> = (0..37u64)
            .map(|i| {
                let slot = Slot {
                    ahead: (i % 5 != 0).then_some(i * 1000),
                    bytes: 17 + i,
                    compile: Duration::from_millis(3 * i),
                    remote_wait: (i % 3 == 0).then(|| Duration::from_millis(i)),
                };
                (Digest::of(&i.to_le_bytes()), slot)
            })
            .collect();
        let expected = slots.clone();
        write(&path, &mut slots).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len() as usize, 37 * LINE);
        for (key, slot) in &expected {
            assert_eq!(lookup(&path, key), Some(*slot));
        }
        assert_eq!(lookup(&path, &Digest::of(b"absent")), None);
        assert_eq!(lookup(&dir.path().join("none"), &expected[0].0), None);
    }
}
