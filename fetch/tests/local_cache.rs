//! The local cache against a real file system: atomic inserts, verification, LRU gc.

mod check_attr;

use check_attr::{check_value, Attr};
use fetch::cache::{ActionEntry, CacheError, Digest, Kind, LocalCache, Output, Role};
use std::time::{Duration, SystemTime};

fn entry(blob: &Digest, size: u64) -> ActionEntry {
    ActionEntry {
        source_key: Digest::of(b"s"),
        outputs: vec![Output {
            role: Role::Object,
            path: "a.o".into(),
            digest: *blob,
            size,
        }],
        ..Default::default()
    }
}

#[test]
fn blobs_and_entries_round_trip() {
    let d = tempfile::tempdir().unwrap();
    let c = LocalCache::new(d.path());
    let b = c.put_blob(b"object bytes").unwrap();
    assert_eq!(c.put_blob(b"object bytes").unwrap(), b);
    assert_eq!(&*c.get_blob(&b, 12).unwrap(), b"object bytes");
    let key = Digest::of(b"action");
    assert!(c.get_action(&key).unwrap().is_none());
    c.put_action(&key, &entry(&b, 12)).unwrap();
    assert_eq!(c.get_action(&key).unwrap(), Some(entry(&b, 12)));
    // Nothing is left in tmp/.
    assert_eq!(std::fs::read_dir(d.path().join("tmp")).unwrap().count(), 0);
}

/// A blob large enough to be mapped (`cache::MAP_AT`) is verified like a read one: its bytes
/// come back whole, a changed or truncated file is reported corrupt.
#[test]
fn large_blobs_are_mapped_and_verified() {
    let d = tempfile::tempdir().unwrap();
    let c = LocalCache::new(d.path());
    let n = fetch::cache::MAP_AT as usize + 4097;
    let bytes: Vec<u8> = (0..n).map(|i| (i * 31 % 253) as u8).collect();
    let b = c.put_blob(&bytes).unwrap();
    let got = c.get_blob(&b, n as u64).unwrap();
    assert!(matches!(got, fetch::cache::Blob::Mapped(_)), "{got:?}");
    assert_eq!(&*got, &bytes[..]);
    drop(got);
    let p = c.path(Kind::Blob, &b);
    let mut other = bytes.clone();
    other[n - 1] ^= 1;
    std::fs::write(&p, &other).unwrap();
    let e = c.get_blob(&b, n as u64).unwrap_err();
    assert!(matches!(e, CacheError::Corrupt { .. }), "{e}");
    std::fs::write(&p, &bytes[..n - 1]).unwrap();
    let e = c.get_blob(&b, n as u64).unwrap_err();
    assert!(e.to_string().contains("instead of"), "{e}");
}

/// A cache in the target directory, whose file system keeps user attributes (ext4 here), so
/// that the tests of check values test them.
fn cache_dir() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap()
}

/// The check value a blob carries (`cache::check`, an extended attribute of its file) stands
/// in for its hash while it matches: a changed byte makes it stale, and the name finds the
/// change; a wrong value over the right bytes is set again; a blob copied under another
/// blob's name with its value is refused (the value holds the name too); without a value the
/// name is checked.
#[test]
fn a_blobs_check_value_stands_in_for_its_hash_while_it_matches() {
    let d = cache_dir();
    let c = LocalCache::new(d.path());
    let bytes = b"object bytes".to_vec();
    let b = c.put_blob(&bytes).unwrap();
    let p = c.path(Kind::Blob, &b);
    let attr = Attr::of(&p);
    let want = check_value(&bytes, &b);
    assert_eq!(
        attr.get(),
        Some(want),
        "{} keeps no user attributes",
        d.path().display()
    );
    let corrupt = |d: &Digest, why: &str| {
        let e = c.get_blob(d, 12).unwrap_err();
        assert!(matches!(e, CacheError::Corrupt { .. }), "{e}");
        assert!(e.to_string().contains(why), "{e}");
    };
    // A byte changed in place keeps the attribute, which no longer matches: the name refuses.
    std::fs::write(&p, b"object bytez").unwrap();
    corrupt(&b, "does not match its hash");
    std::fs::write(&p, &bytes).unwrap();
    assert_eq!(&*c.get_blob(&b, 12).unwrap(), &bytes[..]);
    // A wrong value over the right bytes: read by the name, and the value set again.
    attr.set(&[0u8; 24]);
    assert_eq!(&*c.get_blob(&b, 12).unwrap(), &bytes[..]);
    assert_eq!(attr.get(), Some(want));
    // Another blob's bytes and value under this name: the value names the other blob.
    let other = b"other bytes!".to_vec();
    let ob = c.put_blob(&other).unwrap();
    std::fs::write(&p, &other).unwrap();
    attr.set(&check_value(&other, &ob));
    corrupt(&b, "does not match its hash");
    // Without the attribute, the name.
    std::fs::write(&p, b"object bytez").unwrap();
    attr.remove();
    corrupt(&b, "does not match its hash");
    std::fs::write(&p, &bytes).unwrap();
    assert_eq!(&*c.get_blob(&b, 12).unwrap(), &bytes[..]);
}

/// An entry's check value stands in for its checksum line, and only while it matches: an entry
/// changed in place (the value kept, no longer matching) is found corrupt by the line, as one
/// without a value is; one whose bytes and value were replaced together is read without the
/// line being hashed (here a line of zeros, which a hash would refuse).
#[test]
fn a_sealed_files_check_value_stands_in_for_its_checksum_line() {
    let d = cache_dir();
    let c = LocalCache::new(d.path());
    let b = c.put_blob(b"0123456789").unwrap();
    let key = Digest::of(b"k");
    c.put_action(&key, &entry(&b, 10)).unwrap();
    let p = c.path(Kind::Action, &key);
    let attr = Attr::of(&p);
    let text = std::fs::read_to_string(&p).unwrap();
    assert_eq!(attr.get(), Some(check_value(text.as_bytes(), &key)));
    assert_eq!(c.get_action(&key).unwrap(), Some(entry(&b, 10)));
    // Changed in place: the value no longer matches, the line is checked and refuses it.
    let changed = text.replace("a.o", "b.o");
    std::fs::write(&p, &changed).unwrap();
    let e = c.get_action(&key).unwrap_err();
    assert!(e.to_string().contains("checksum"), "{e}");
    // Bytes and value replaced together: read on the value's word.
    let (body, _) = changed.trim_end().rsplit_once('\n').unwrap();
    let zeros = format!("{body}\nend {}\n", "0".repeat(64));
    std::fs::write(&p, &zeros).unwrap();
    attr.set(&check_value(zeros.as_bytes(), &key));
    let mut want = entry(&b, 10);
    want.outputs[0].path = "b.o".into();
    assert_eq!(c.get_action(&key).unwrap(), Some(want));
    // The same under another key's name: the value names this one, so the line is checked.
    let other = Digest::of(b"other");
    let q = c.path(Kind::Action, &other);
    std::fs::create_dir_all(q.parent().unwrap()).unwrap();
    std::fs::write(&q, &zeros).unwrap();
    Attr::of(&q).set(&check_value(zeros.as_bytes(), &key));
    assert!(c.get_action(&other).is_err());
    // Without a value, the same bytes are refused.
    attr.remove();
    assert!(c.get_action(&key).is_err());
}

#[test]
fn corrupt_and_truncated_files_are_detected() {
    let d = tempfile::tempdir().unwrap();
    let c = LocalCache::new(d.path());
    let b = c.put_blob(b"0123456789").unwrap();
    let p = c.path(Kind::Blob, &b);
    std::fs::write(&p, b"0123456780").unwrap();
    assert!(matches!(
        c.get_blob(&b, 10),
        Err(CacheError::Corrupt { .. })
    ));
    std::fs::write(&p, b"01234").unwrap();
    let e = c.get_blob(&b, 10).unwrap_err();
    assert!(e.to_string().contains("size 5 instead of 10"), "{e}");
    c.remove_path(e.path());
    assert!(!p.exists());
    let key = Digest::of(b"k");
    c.put_action(&key, &entry(&b, 10)).unwrap();
    let ap = c.path(Kind::Action, &key);
    let text = std::fs::read(&ap).unwrap();
    std::fs::write(&ap, &text[..text.len() / 2]).unwrap();
    assert!(matches!(
        c.get_action(&key),
        Err(CacheError::Corrupt { .. })
    ));
}

#[test]
fn gc_evicts_least_recently_used() {
    let d = tempfile::tempdir().unwrap();
    let c = LocalCache::new(d.path());
    let now = SystemTime::now();
    let mut blobs = Vec::new();
    for i in 0..10u8 {
        let b = c.put_blob(&[i; 1000]).unwrap();
        // Blob i was last used i hours ago… except blob 0, used just now.
        let age = if i == 0 { 0 } else { 3600 * (20 - i as u64) };
        let f = std::fs::File::options()
            .write(true)
            .open(c.path(Kind::Blob, &b))
            .unwrap();
        f.set_modified(now - Duration::from_secs(age)).unwrap();
        blobs.push(b);
    }
    assert_eq!(c.summary().blobs, (10, 10_000));
    let r = c.gc(5_000);
    assert_eq!(r.size_before, 10_000);
    assert!(r.size_after <= 4_500, "{r:?}");
    assert!(
        c.get_blob(&blobs[0], 1000).is_ok(),
        "the most recently used blob stays"
    );
    assert!(c.get_blob(&blobs[1], 1000).is_err(), "the oldest blob goes");
    assert!(c.get_blob(&blobs[9], 1000).is_ok());
    // Under the cap nothing happens.
    assert_eq!(c.gc(1 << 30).removed, 0);
}

/// Partial downloads (`tmp/partial/`) are counted and evicted like the rest, oldest first,
/// except one whose download runs (claimed).
#[test]
fn gc_counts_and_trims_partial_downloads() {
    use std::io::Write;
    let d = tempfile::tempdir().unwrap();
    let c = LocalCache::new(d.path());
    for i in 0..5u8 {
        c.put_blob(&[i; 1000]).unwrap();
    }
    let no = std::sync::atomic::AtomicBool::new(false);
    let claim = |name: &[u8]| {
        c.claim_download(&Digest::of(name), Duration::ZERO, &no)
            .unwrap()
            .unwrap()
    };
    let (running, cut) = (claim(b"running"), claim(b"cut"));
    let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
    for claim in [&running, &cut] {
        let mut f = claim.open_partial().unwrap();
        f.write_all(&[1; 3000]).unwrap();
        f.set_modified(an_hour_ago).unwrap();
    }
    let cut_path = cut.partial_path().to_path_buf();
    drop(cut); // a download cut short: its file stays for the next one
    let s = c.summary();
    assert_eq!(s.partials, (2, 6000));
    assert_eq!(s.total_size(), 11_000);

    let r = c.gc(8_000);
    assert_eq!(r.size_before, 11_000);
    assert!(
        !cut_path.exists(),
        "the oldest unclaimed partial goes first"
    );
    assert!(
        running.partial_path().exists(),
        "a running download's stays"
    );
    assert!(r.size_after <= 7_200, "{r:?}");
    assert_eq!(c.summary().partials, (1, 3000));
}

#[test]
fn concurrent_writers_of_one_key() {
    let d = tempfile::tempdir().unwrap();
    let c = LocalCache::new(d.path());
    let key = Digest::of(b"k");
    std::thread::scope(|s| {
        for _ in 0..16 {
            s.spawn(|| {
                for _ in 0..20 {
                    let b = c.put_blob(b"same").unwrap();
                    c.put_action(&key, &entry(&b, 4)).unwrap();
                    if let Some(e) = c.get_action(&key).unwrap() {
                        assert_eq!(&*c.get_blob(&e.outputs[0].digest, 4).unwrap(), b"same");
                    }
                }
            });
        }
    });
    assert_eq!(c.summary().blobs.0, 1);
    assert_eq!(c.summary().actions.0, 1);
}

#[test]
fn memo_and_sizes() {
    let d = tempfile::tempdir().unwrap();
    let c = LocalCache::new(d.path());
    let k = Digest::of(b"gcc");
    assert_eq!(c.memo_get(&k), None);
    c.memo_put(&k, "gcc 1234").unwrap();
    assert_eq!(c.memo_get(&k).as_deref(), Some("gcc 1234"));
    assert_eq!(fetch::cache::parse_size("10G"), Some(10 << 30));
    assert_eq!(fetch::cache::parse_size("1.5k"), Some(1536));
    assert_eq!(fetch::cache::parse_size("x"), None);
}

/// Threads (or launchers) that all find a memo missing make it once between them: the others
/// wait for the first and read what it stored.
#[test]
fn a_memo_missing_everywhere_is_made_once() {
    let d = tempfile::tempdir().unwrap();
    let c = LocalCache::new(d.path());
    let k = Digest::of(b"probe");
    let made = std::sync::atomic::AtomicUsize::new(0);
    let got: Vec<Option<String>> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    c.memo_or_make(&k, || {
                        made.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(50));
                        Some("dirs".to_string())
                    })
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    assert_eq!(made.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert!(got.iter().all(|g| g.as_deref() == Some("dirs")), "{got:?}");
    // Nothing made: nothing stored, and the next caller makes it again.
    let k2 = Digest::of(b"no compiler");
    assert_eq!(c.memo_or_make(&k2, || None), None);
    assert_eq!(
        c.memo_or_make(&k2, || Some("x".into())).as_deref(),
        Some("x")
    );
}
