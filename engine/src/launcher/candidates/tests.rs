use super::*;
use std::collections::BTreeSet;

fn include(name: &str, quoted: bool) -> super::super::directives::Directive {
    Some((name.to_string(), quoted, false))
}

/// A tree with search directories `a` and `b` (in that order), the source in `src`:
/// `main.c` includes `<x.h>` and `<sub/y.h>` (found in `b`) and `"q.h"` (beside it).
fn tree() -> (
    tempfile::TempDir,
    String,
    Vec<String>,
    Scanned,
    HashSet<String>,
) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap().to_string();
    for sub in ["a", "b/sub", "src"] {
        std::fs::create_dir_all(format!("{d}/{sub}")).unwrap();
    }
    for f in ["b/x.h", "b/sub/y.h", "src/q.h", "src/main.c"] {
        std::fs::write(format!("{d}/{f}"), "").unwrap();
    }
    let dirs = vec![format!("{d}/src"), format!("{d}/a"), format!("{d}/b")];
    let read: HashSet<String> = [
        format!("{d}/b/x.h"),
        format!("{d}/b/sub/y.h"),
        format!("{d}/src/q.h"),
    ]
    .into_iter()
    .collect();
    let main = vec![
        include("x.h", false),
        include("sub/y.h", false),
        include("q.h", true),
    ];
    let headers = read.iter().map(|h| (h.clone(), Vec::new()));
    let scanned = Scanned::of_parts((format!("{d}/src/main.c"), Some(main)), headers);
    (dir, d, dirs, scanned, read)
}

fn search(d: &str, dirs: &[String], looked: Looked) -> Search {
    Search::new(dirs.to_vec(), 3..3, &format!("{d}/obj"), Vec::new(), looked)
}

/// A launch's candidates as the memos read them: (holder, first name below it), made whole
/// or recorded by first name alone.
fn pairs(launch: &Search) -> BTreeSet<(String, String)> {
    launch
        .holders()
        .flat_map(|h| {
            let dir = h.dir.to_string();
            h.below
                .into_iter()
                .map(move |rel| (dir.clone(), first_component(rel).to_string()))
        })
        .collect()
}

/// The pull's count of a search's candidates, as (holder, first name) pairs.
fn counted_pairs(
    pull: &mut Search,
    scanned: &Scanned,
    read: &HashSet<String>,
) -> BTreeSet<(String, String)> {
    let pairs = pull.count_once(scanned, read).expect("no candidate exists");
    pull.counted(&pairs)
        .iter()
        .flat_map(|h| h.below.iter().map(|n| (h.dir.to_string(), n.to_string())))
        .collect()
}

/// The pull's count (`count_once`, every candidate made whole) and a launch's (`update`,
/// most recorded by first name alone) give the same holders and first names, and find the
/// same candidate once it exists.
#[test]
fn the_pulls_count_covers_the_launchs_candidates() {
    let (_dir, d, dirs, scanned, read) = tree();
    let mut launch = search(&d, &dirs, Looked::default());
    launch.update(&scanned, &read);
    assert!(launch.existing().is_empty());
    let mut pull = search(&d, &dirs, Looked::default());
    let counted = counted_pairs(&mut pull, &scanned, &read);
    // x.h, sub/y.h (one first name, `sub`, for it and its `.gch`) and x.h's `.gch` in src and
    // a; the three `.gch` beside the headers; q.h is found beside its includer.
    let want: BTreeSet<(String, String)> = [
        ("src", "x.h"),
        ("src", "x.h.gch"),
        ("src", "sub"),
        ("src", "q.h.gch"),
        ("a", "x.h"),
        ("a", "x.h.gch"),
        ("a", "sub"),
        ("b", "x.h.gch"),
        ("b/sub", "y.h.gch"),
    ]
    .iter()
    .map(|(h, n)| (format!("{d}/{h}"), n.to_string()))
    .collect();
    assert_eq!(pairs(&launch), want);
    assert_eq!(counted, want);
    // Most were never made whole: only the `.gch` beside each header was.
    let made: usize = launch.candidates().iter().map(|(_, l)| l.len()).sum();
    assert_eq!(made, 3, "{:?}", launch.candidates());

    // A candidate created: both counts see it (the pull's with what it carried).
    std::fs::write(format!("{d}/a/x.h"), "").unwrap();
    let mut launch = search(&d, &dirs, Looked::default());
    launch.update(&scanned, &read);
    assert_eq!(launch.existing(), vec![format!("{d}/a/x.h")]);
    let mut pull = search(&d, &dirs, Looked::default());
    assert_eq!(pull.count_once(&scanned, &read), None);
}

/// A holder found before its directory grew deeper, listed after: the listing names the
/// way to a candidate that is not there, so the record is unsure and gets no memo (its
/// stamp would not show the candidate appearing in the deeper directory).
#[test]
fn a_holder_that_grew_deeper_since_it_was_found_is_unsure() {
    let (_dir, d, dirs, scanned, read) = tree();
    let mut looked = Looked::default();
    // Found while `a/sub` did not exist and `a` was not listed yet.
    let none = Listings::new();
    assert_eq!(
        looked.holders.of(&format!("{d}/a/sub"), &none),
        format!("{d}/a")
    );
    std::fs::create_dir(format!("{d}/a/sub")).unwrap();
    let mut pull = search(&d, &dirs, looked);
    assert_eq!(pull.count_once(&scanned, &read), None);
    // Found afresh, the holder is `a/sub` itself and the record is sure.
    let mut fresh = search(&d, &dirs, Looked::default());
    assert!(fresh.count_once(&scanned, &read).is_some());
}

/// A candidate whose way is listed in its holder without it being there (here a dangling
/// link) could appear without changing the holder's stamp: the launch's count is unsure
/// (no memo on that stamp) and the pull's gives nothing.
#[test]
fn a_way_listed_without_its_candidate_leaves_no_memo() {
    let (_dir, d, dirs, scanned, read) = tree();
    std::os::unix::fs::symlink(format!("{d}/nowhere"), format!("{d}/a/sub")).unwrap();
    let mut launch = search(&d, &dirs, Looked::default());
    launch.update(&scanned, &read);
    assert!(launch.existing().is_empty());
    assert!(!launch.sure());
    let mut pull = search(&d, &dirs, Looked::default());
    assert_eq!(pull.count_once(&scanned, &read), None);
    std::fs::remove_file(format!("{d}/a/sub")).unwrap();
    let mut launch = search(&d, &dirs, Looked::default());
    launch.update(&scanned, &read);
    assert!(launch.sure());
}

/// The pull's places may be newer than its carried listings: a quoted include taken as
/// not run because a file is now beside it (in a directory listed only now), while the
/// listing of its holder predates it, leaves the record to the launch.
#[test]
fn a_quoted_include_taken_as_not_run_leaves_the_pull_no_result() {
    let (_dir, d, dirs, scanned, read) = tree();
    let mut pull = search(&d, &dirs, Looked::default());
    assert!(pull.count_once(&scanned, &read).is_some());
    let looked = pull.into_looked(); // `src` listed without `sub`
    std::fs::create_dir(format!("{d}/src/sub")).unwrap();
    std::fs::write(format!("{d}/src/sub/y.h"), "").unwrap();
    let other = Scanned::of_parts(
        (
            format!("{d}/src/other.c"),
            Some(vec![include("sub/y.h", true)]),
        ),
        std::iter::once((format!("{d}/b/sub/y.h"), Vec::new())),
    );
    let read: HashSet<String> = std::iter::once(format!("{d}/b/sub/y.h")).collect();
    let mut pull = search(&d, &dirs, looked);
    assert_eq!(pull.count_once(&other, &read), None);
}

/// Not in the directories of the compiler's own installation, which hold no candidates:
/// gcc's `<stdint.h>` names a `"stdint-gcc.h"` beside it that a hosted compile never
/// reads, and every record that includes it would lose its memo.
#[test]
fn a_quoted_include_not_run_in_the_compilers_own_directory_is_no_obstacle() {
    let (_dir, d, mut dirs, _, _) = tree();
    std::fs::create_dir_all(format!("{d}/gcc/sys")).unwrap();
    for f in ["gcc/sys/wrap.h", "gcc/sys/inner.h"] {
        std::fs::write(format!("{d}/{f}"), "").unwrap();
    }
    dirs.push(format!("{d}/gcc/sys"));
    let read: HashSet<String> = std::iter::once(format!("{d}/gcc/sys/wrap.h")).collect();
    let scanned = Scanned::of_parts(
        (
            format!("{d}/src/main.c"),
            Some(vec![include("wrap.h", false)]),
        ),
        std::iter::once((
            format!("{d}/gcc/sys/wrap.h"),
            vec![include("inner.h", true)],
        )),
    );
    let own = Search::new(
        dirs.clone(),
        3..4,
        &format!("{d}/obj"),
        Vec::new(),
        Looked::default(),
    );
    let mut pull = own;
    assert!(pull.count_once(&scanned, &read).is_some());
    let mut project = Search::new(
        dirs,
        4..4,
        &format!("{d}/obj"),
        Vec::new(),
        Looked::default(),
    );
    assert_eq!(project.count_once(&scanned, &read), None);
}

/// A header found through `-I/` has earlier places too: its whole path below each
/// directory searched before `/` (a review found none were made).
#[test]
fn a_header_found_through_the_root_directory_has_earlier_places() {
    let (_dir, d, _, _, _) = tree();
    let dirs = vec![format!("{d}/src"), format!("{d}/a"), "/".to_string()];
    let h = format!("{d}/b/x.h");
    let read: HashSet<String> = std::iter::once(h.clone()).collect();
    let name = h.trim_start_matches('/').to_string();
    let scanned = Scanned::of_parts(
        (format!("{d}/src/main.c"), Some(vec![include(&name, false)])),
        std::iter::once((h.clone(), Vec::new())),
    );
    let mut launch = search(&d, &dirs, Looked::default());
    launch.update(&scanned, &read);
    // `src{h}` and `a{h}`, by their first component below `src` and `a` (neither lists it).
    let all = pairs(&launch);
    let first = first_component(&name).to_string();
    for earlier in [format!("{d}/src"), format!("{d}/a")] {
        assert!(
            all.contains(&(earlier.clone(), first.clone())),
            "{earlier}: {all:?}"
        );
    }
    // Once `src` has that first component, the place is made whole, below a deeper holder.
    std::fs::create_dir(format!("{d}/src/{first}")).unwrap();
    let mut launch = search(&d, &dirs, Looked::default());
    launch.update(&scanned, &read);
    let made: Vec<&str> = launch
        .candidates()
        .into_iter()
        .flat_map(|(_, list)| list.iter().map(|c| &**c))
        .collect();
    assert!(made.contains(&format!("{d}/src{h}").as_str()), "{made:?}");
}

/// A holder that cannot be listed (searchable but not readable: the compiler still opens files
/// in it) has each candidate looked at itself, so one that exists is seen (it was taken as
/// absent; a review, 2026-12-06); and such a directory may hold a `.gch`.
#[test]
fn an_unlistable_holder_has_its_candidates_looked_at() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    std::fs::write(format!("{d}/x.h"), "").unwrap();
    // (As root no permission makes a directory unlistable: the failed listing is planted.)
    let mut listings = Listings::default();
    listings.insert(d.to_string(), None);
    assert_eq!(look_in(&mut listings, d, &format!("{d}/x.h")), Below::There);
    assert_eq!(
        look_in(&mut listings, d, &format!("{d}/y.h")),
        Below::WayOnly,
        "absent now, but no memo may rest on the holder"
    );
    let mut search = Search::new(vec![d.to_string()], 0..0, d, vec![], Looked::default());
    search.looked.listings.insert(d.to_string(), None);
    assert!(search.may_hold_name_ending(d, b".gch"));
    assert!(!search.may_hold_name_ending(&format!("{d}/absent"), b".gch"));
    let mut listed = Search::new(vec![d.to_string()], 0..0, d, vec![], Looked::default());
    assert!(
        !listed.may_hold_name_ending(d, b".gch"),
        "listed: none there"
    );
}

/// The places a search directory's listing settles alone (recorded by first name) and those
/// made whole give, together, what the pull's count gives making every one whole: search
/// directories that do not exist, are listed twice, end in `/`, are links, or hold the
/// way to a candidate (a deeper holder), and names one to three components deep.
#[test]
fn first_names_recorded_alone_are_the_pulls_count() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap().to_string();
    for sub in ["src", "a/sub", "inc/deep", "b/sub", "b/deep/er/sub", "real"] {
        std::fs::create_dir_all(format!("{d}/{sub}")).unwrap();
    }
    std::os::unix::fs::symlink(format!("{d}/real"), format!("{d}/link")).unwrap();
    let headers = [
        "b/x.h",
        "b/sub/y.h",
        "b/deep/er/z.h",
        "inc/w.h",
        "src/main.c",
    ];
    for f in headers.iter().chain(&["a/other.h", "real/unrelated.h"]) {
        std::fs::write(format!("{d}/{f}"), "").unwrap();
    }
    let dirs: Vec<String> = ["src", "gen", "a", "link", "a/", "a", "inc", "b"]
        .iter()
        .map(|s| format!("{d}/{s}"))
        .collect();
    let read: HashSet<String> = headers[..4].iter().map(|h| format!("{d}/{h}")).collect();
    let names = ["x.h", "sub/y.h", "deep/er/z.h", "w.h"];
    let main_of = |names: &[&str]| -> Vec<_> { names.iter().map(|n| include(n, false)).collect() };
    let main = main_of(&names);
    // `z.h` has a computed include: a place beside it for every header read, by its name below
    // each search directory.
    let directives = |h: &String| match h.ends_with("z.h") {
        true => vec![None],
        false => Vec::new(),
    };
    let scanned = Scanned::of_parts(
        (format!("{d}/src/main.c"), Some(main)),
        read.iter().map(|h| (h.clone(), directives(h))),
    );
    let n = dirs.len();
    let mut launch = Search::new(
        dirs.clone(),
        n..n,
        &format!("{d}/obj"),
        vec![],
        Looked::default(),
    );
    launch.update(&scanned, &read);
    assert!(launch.existing().is_empty() && launch.sure());
    let mut pull = Search::new(
        dirs.clone(),
        n..n,
        &format!("{d}/obj"),
        vec![],
        Looked::default(),
    );
    let counted = counted_pairs(&mut pull, &scanned, &read);
    let launched = pairs(&launch);
    assert_eq!(launched, counted);
    for (holder, first) in [
        ("gen", ""),        // no such directory: its parent holds `gen`
        ("a/sub", "y.h"),   // `a` names `sub`: a deeper holder
        ("link", "deep"),   // a link to a directory holds its own
        ("inc/deep", "er"), // `inc` names `deep`
        ("src", "deep"),
        ("b/deep/er", "x.h"), // beside the computed include
        ("b/deep/er", "deep"),
        ("b/deep/er/sub", "y.h"), // beside it, `sub` is listed: a deeper holder
    ] {
        let want = match first {
            "" => (d.clone(), holder.to_string()),
            _ => (format!("{d}/{holder}"), first.to_string()),
        };
        assert!(launched.contains(&want), "{want:?}: {launched:?}");
    }
    // Those recorded by first name were not made whole: an earlier place and a computed one.
    let made: Vec<&str> = launch
        .candidates()
        .into_iter()
        .flat_map(|(_, list)| list.iter().map(|c| &**c))
        .collect();
    for place in ["src/x.h", "b/deep/er/x.h"] {
        assert!(
            !made.contains(&format!("{d}/{place}").as_str()),
            "{place}: {made:?}"
        );
    }
    // The directory listed twice, and once more as `a/`, is one holder.
    let holders: Vec<String> = launch.holders().map(|h| h.dir.to_string()).collect();
    let a = format!("{d}/a");
    assert_eq!(
        holders.iter().filter(|h| **h == a).count(),
        1,
        "{holders:?}"
    );

    // The next record the pull counts with what this one carried: the computed include's
    // places of each header are counted once, and another read set (one header fewer, so
    // its places are no candidates; another that exists among the others' places) gives
    // what a fresh count gives.
    let carried = pull.into_looked();
    let read2: HashSet<String> = [&headers[1], &headers[2], &headers[3], &"a/other.h"]
        .iter()
        .map(|h| format!("{d}/{h}"))
        .collect();
    let main2: Vec<_> = ["sub/y.h", "deep/er/z.h", "w.h", "other.h"]
        .iter()
        .map(|n| include(n, false))
        .collect();
    let scanned2 = Scanned::of_parts(
        (format!("{d}/src/main.c"), Some(main2)),
        read2.iter().map(|h| (h.clone(), directives(h))),
    );
    let new = |looked| Search::new(dirs.clone(), n..n, &format!("{d}/obj"), vec![], looked);
    let mut again = new(carried);
    let (counted_again, fresh) = (
        counted_pairs(&mut again, &scanned2, &read2),
        counted_pairs(&mut new(Looked::default()), &scanned2, &read2),
    );
    assert_eq!(counted_again, fresh);
    assert!(!fresh.is_empty());
    // A place beside the computed include that a record read (`b/deep/er/w.h`, named like
    // `inc/w.h`) is a candidate of the next record, which did not read it: it exists, so
    // that record is left to its launch, carried or fresh.
    std::fs::write(format!("{d}/b/deep/er/w.h"), "").unwrap();
    let mut read3 = read.clone();
    read3.insert(format!("{d}/b/deep/er/w.h"));
    let scanned3 = Scanned::of_parts(
        (format!("{d}/src/main.c"), Some(main_of(&names))),
        read3.iter().map(|h| (h.clone(), directives(h))),
    );
    let mut first = new(Looked::default());
    assert!(first.count_once(&scanned3, &read3).is_some());
    let mut next = new(first.into_looked());
    assert_eq!(next.count_once(&scanned, &read), None);
    assert_eq!(new(Looked::default()).count_once(&scanned, &read), None);
}

/// One of the compiler's own directories below a search directory (as `/usr/include/c++/12`
/// lies below `/usr/include`), there or not: a place that would lie in it is no candidate,
/// and the search directory's other places are still recorded by first name alone.
#[test]
fn a_compilers_own_directory_below_a_search_directory_holds_no_candidate() {
    for own_there in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap().to_string();
        for sub in ["src", "up", "b/gcc/x"] {
            std::fs::create_dir_all(format!("{d}/{sub}")).unwrap();
        }
        if own_there {
            std::fs::create_dir_all(format!("{d}/up/gcc/x")).unwrap();
        }
        let headers = ["b/gcc/x/q.h", "b/w.h"];
        for f in headers.iter().chain(&["src/main.c"]) {
            std::fs::write(format!("{d}/{f}"), "").unwrap();
        }
        // `up/gcc/x` is the compiler's own (a system directory, `gcc` in its path).
        let dirs: Vec<String> = ["src", "up", "up/gcc/x", "b"]
            .iter()
            .map(|s| format!("{d}/{s}"))
            .collect();
        let read: HashSet<String> = headers.iter().map(|h| format!("{d}/{h}")).collect();
        let main = vec![include("gcc/x/q.h", false), include("w.h", false)];
        let scanned = Scanned::of_parts(
            (format!("{d}/src/main.c"), Some(main)),
            read.iter().map(|h| (h.clone(), Vec::new())),
        );
        let obj = format!("{d}/obj");
        let mut launch = Search::new(dirs.clone(), 2..3, &obj, vec![], Looked::default());
        launch.update(&scanned, &read);
        let mut pull = Search::new(dirs, 2..3, &obj, vec![], Looked::default());
        let launched = pairs(&launch);
        assert_eq!(
            launched,
            counted_pairs(&mut pull, &scanned, &read),
            "{own_there}"
        );
        let up = format!("{d}/up");
        assert!(
            !launched
                .iter()
                .any(|(h, n)| *h == up && n == "gcc" || h.starts_with(&up) && *h != up),
            "{own_there}: {launched:?}"
        );
        assert!(
            launched.contains(&(up.clone(), "w.h".to_string())),
            "{launched:?}"
        );
        let made: Vec<&str> = launch
            .candidates()
            .into_iter()
            .flat_map(|(_, list)| list.iter().map(|c| &**c))
            .collect();
        assert!(!made.contains(&format!("{up}/w.h").as_str()), "{made:?}");
    }
}
