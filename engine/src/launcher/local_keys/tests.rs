use super::*;
use fetch::pull::RecordHook;
use std::time::Duration;

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

#[test]
fn a_record_whose_download_started_is_checked_next() {
    let checks = FirstChecks::new(&[2, 0], 4, ENTRY_WAIT, &|_| {});
    assert_eq!(checks.take(), Some(2));
    checks.started(3);
    checks.started(2);
    assert_eq!(checks.take(), Some(3), "the started download first");
    assert_eq!(checks.take(), Some(0), "then the prefetch order");
    assert_eq!(checks.take(), Some(1), "then the records it leaves out");
    assert_eq!(checks.take(), None, "each once");
}

#[test]
fn an_entry_goes_in_after_its_check() {
    // Long enough for a loaded machine: the entry must wait for the check, not time out.
    let checks = FirstChecks::new(&[0, 1], 2, Duration::from_secs(600), &|_| {});
    let checked = AtomicBool::new(false);
    checks.started(1);
    std::thread::scope(|s| {
        // The pull's thread: record 1's blobs are in, its entry waits for its check.
        let pull = s.spawn(|| {
            checks.before_entry(1);
            checked.load(Ordering::SeqCst)
        });
        // The checks' thread: the started download's record comes first. (Asserted after
        // the join: a failure must not leave the entry waiting.)
        let taken = checks.take();
        checked.store(true, Ordering::SeqCst);
        taken.into_iter().for_each(|i| checks.done(i));
        checks.over();
        assert!(pull.join().unwrap(), "the entry waited for the check");
        assert_eq!(taken, Some(1));
    });
}

#[test]
fn no_entry_waits_once_the_checks_are_over() {
    let checks = FirstChecks::new(&[0], 1, ENTRY_WAIT, &|_| {});
    checks.over();
    assert!(!checks.waits_for(0));
    checks.started(0);
    checks.before_entry(0);
    // A check never made (its thread stopped) holds an entry up at most `ENTRY_WAIT`.
    let stopped = FirstChecks::new(&[0], 1, ENTRY_WAIT, &|_| {});
    stopped.before_entry(0);
    assert!(stopped.waits_for(0));
}

#[test]
fn a_record_is_ready_once_its_entry_is_in_and_its_check_made() {
    let ready = Mutex::new(Vec::new());
    let tell = |i| lock(&ready).push(i);
    let checks = FirstChecks::new(&[0, 1, 2, 3], 4, ENTRY_WAIT, &tell);
    // Entered, then checked.
    checks.entered(0);
    assert!(lock(&ready).is_empty(), "not before its check");
    checks.done(0);
    // Checked, then entered (twice: told once).
    checks.done(1);
    checks.entered(1);
    checks.entered(1);
    // Entered, never checked: ready once the checks are over; never entered: never.
    checks.entered(2);
    checks.over();
    checks.over();
    assert_eq!(*lock(&ready), [0, 1, 2]);
    checks.entered(3);
    assert_eq!(
        *lock(&ready),
        [0, 1, 2, 3],
        "after the checks, at its entry"
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
