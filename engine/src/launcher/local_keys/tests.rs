//! Unit tests of the pull's first checks' threads and carried state, and of
//! `compiler_words`.

use super::*;

/// The pull's checks leave each thread's `Looked` in their [`FirstChecks`] for the next
/// call, and drop them when the checks are over.
#[test]
fn the_checks_leave_their_looked_for_the_next_call_until_over() {
    use fetch::cache::{Output, Role};
    let dir = tempfile::tempdir().unwrap();
    let record = |n: u8| EdgeRecord {
        source_key: Digest::of(&[n, 0]),
        action_key: Digest::of(&[n, 1]),
        outputs: vec![Output {
            role: Role::Object,
            path: format!("{n}.o"),
            digest: Digest::of(&[n, 2]),
            size: 1,
        }],
        includes: Vec::new(),
        stdout: None,
        stderr: None,
        cpu_us: 0,
        wall_us: 0,
    };
    let manifest = BuildManifest {
        records: (0..4).map(record).collect(),
    };
    let checks = FirstChecks::new(&[0, 1, 2, 3], 4, ENTRY_WAIT, &|_| {});
    let (sources, headers) = (SourcesHere::default(), HeadersHere(HashMap::new()));
    let stop = AtomicBool::new(false);
    let remembered = remember_scans(
        dir.path(),
        &manifest,
        &checks,
        &sources,
        &headers,
        &stop,
        None,
    );
    // No source is here: nothing remembered, but the threads ran and left their state.
    assert_eq!(remembered, 0);
    let left = lock(&checks.looked.0).len();
    assert!(left >= 1, "each thread leaves its Looked");
    checks.over();
    let kept = lock(&checks.looked.0).len();
    assert_eq!(kept, 0, "dropped when the checks are over");
}

/// What the threads of one call carried is taken up by the next call's threads (the
/// pull's checks after its announcement go on from those before it).
#[test]
fn what_the_threads_carried_goes_on_to_the_next_call() {
    let dir = tempfile::tempdir().unwrap();
    let carried: Carried<Vec<usize>> = Carried::default();
    let run = |items: std::ops::Range<usize>| {
        let at = AtomicUsize::new(items.start);
        let next = || Some(at.fetch_add(1, Ordering::SeqCst)).filter(|i| *i < items.end);
        let each = |_: &Launcher<'_>, seen: &mut Vec<usize>, i| {
            seen.push(i);
            Some(())
        };
        with_launchers_carrying(dir.path(), 2, &carried, next, each)
    };
    assert_eq!(run(0..5).len(), 5);
    assert_eq!(run(5..8).len(), 3);
    let left = carried.0.into_inner().unwrap();
    assert!(left.len() <= 2, "one per thread at most: {left:?}");
    let mut seen: Vec<usize> = left.into_iter().flatten().collect();
    seen.sort_unstable();
    assert_eq!(
        seen,
        (0..8).collect::<Vec<_>>(),
        "both calls' items, carried"
    );
}

fn words(s: &str) -> Vec<String> {
    s.split(' ').map(str::to_string).collect()
}

#[test]
fn the_compiler_command_of_a_launcher_edge() {
    let w = words("CACHED_NINJA_CACHE_DIR=/c /bin/cached-ninja cc -- gcc -c a.c -o a.o");
    assert_eq!(compiler_words(&w).unwrap(), &w[4..]);
    let w = words("cached-ninja gcc -c a.c -o a.o");
    assert_eq!(compiler_words(&w).unwrap(), &w[1..]);
    let w = words("/bin/cached-ninja cc --dwp-step llvm -- gcc -c a.c -o a.o");
    assert_eq!(compiler_words(&w).unwrap(), &w[5..]);
    for other in [
        "gcc -c a.c -o a.o",
        "cached-ninja cc --src-root s -- gcc",
        "cached-ninja cc --dwp-step llvm gcc",
        "cached-ninja cc",
        "X=1",
    ] {
        assert_eq!(compiler_words(&words(other)), None, "{other}");
    }
}
