use super::super::scan;
use super::*;

/// A compile's files in three rounds: what each round adds is taken in, and a quoted include
/// passed over in one round is read in the next.
struct Rounds {
    _dir: tempfile::TempDir,
    /// The search directories and the object root.
    roots: Vec<String>,
    /// Per round: the scan (growing) and the files read.
    rounds: Vec<(Scanned, HashSet<String>)>,
}

fn rounds() -> Rounds {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().to_str().unwrap().to_string();
    let (src, inc, obj) = (format!("{t}/src"), format!("{t}/inc"), format!("{t}/obj"));
    for d in [&src, &inc, &obj, &format!("{src}/sub")] {
        std::fs::create_dir_all(d).unwrap();
    }
    let files: [(&str, &str); 6] = [
        (
            "src/a.c",
            "#include \"a.h\"\n#include \"cond.h\"\n#include \"gone.h\"\n#include <sys.h>\n\
             #if __has_include(\"p.h\")\n#endif\n#include <a//b.h>\n",
        ),
        ("src/a.h", "#include \"u.h\"\n#include <a.h>\n"),
        ("src/u.h", ""),
        ("src/cond.h", "#include \"deep.h\"\n#include \"u.h\"\n"),
        ("src/deep.h", "#include MACRO\n#include \"sub/../x.h\"\n"),
        ("src/x.h", ""),
    ];
    for (rel, text) in files {
        std::fs::write(format!("{t}/{rel}"), text).unwrap();
    }
    let file = |rel: &str| {
        let path = format!("{t}/{rel}");
        let text = std::fs::read(&path).unwrap();
        (path, Some(scan(&text)))
    };
    let read_of =
        |rels: &[&str]| -> HashSet<String> { rels.iter().map(|r| format!("{t}/{r}")).collect() };
    let one = vec![
        file("src/a.c"),
        file("src/a.h"),
        file("src/u.h"),
        file("src/x.h"),
    ];
    let read_one = read_of(&["src/a.h", "src/u.h", "src/x.h"]);
    let mut two = one.clone();
    two.push(file("src/cond.h"));
    let mut read_two = read_one.clone();
    read_two.extend(read_of(&["src/cond.h"]));
    let mut three = two.clone();
    three.push(file("src/deep.h"));
    let mut read_three = read_two.clone();
    read_three.extend(read_of(&["src/deep.h"]));
    Rounds {
        _dir: dir,
        roots: vec![src, inc, obj],
        rounds: vec![
            (Scanned(one), read_one),
            (Scanned(two), read_two),
            (Scanned(three), read_three),
        ],
    }
}

/// What a launch asked of the file system, kept across a search's rounds.
#[derive(Default)]
struct Asked {
    places: Places,
    listings: Listings,
    undone: Undone,
}

impl Asked {
    /// `reach` takes in `scanned` for a compile that read `read`.
    fn take_in<'a>(
        &'a mut self,
        reach: &mut Reach,
        scanned: &'a Scanned,
        read: &HashSet<String>,
    ) -> Reached<'a> {
        reach.take_in(
            scanned,
            read,
            &mut self.places,
            &mut self.listings,
            &mut self.undone,
        )
    }
}

/// A single reading of `scanned` (for a compile that read `read`), asking afresh.
fn read_once(roots: &[String], scanned: &Scanned, read: &HashSet<String>) -> (Reach, Vec<String>) {
    let mut once = Reach::new(roots, &[]);
    let mut asked = Asked::default();
    let places = places_of(&asked.take_in(&mut once, scanned, read));
    (once, places)
}

/// What a reading says, in a comparable form.
#[derive(Debug, PartialEq)]
struct State {
    beside: Vec<String>,
    searched: Vec<(String, u32)>,
    computed: bool,
    computed_in: Vec<String>,
    passed_beside: Vec<String>,
}

fn state(r: &Reach) -> State {
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let mut searched: Vec<(String, u32)> =
        r.searched.iter().map(|(n, c)| (n.clone(), *c)).collect();
    searched.sort();
    State {
        beside: sorted(r.beside.iter().cloned().collect()),
        searched,
        computed: r.computed,
        computed_in: r.computed_in.clone(),
        passed_beside: sorted(r.passed_beside().map(String::from).collect()),
    }
}

/// The places a round found new, owned.
fn places_of(r: &Reached) -> Vec<String> {
    let mut out: Vec<String> = r.first_looks.iter().map(|p| p.to_string()).collect();
    out.extend(r.probes.iter().map(|p| format!("probe {p:?}")));
    out.extend(r.dotted.iter().map(|p| format!("dotted {p:?}")));
    out
}

/// After every round, the kept reading is the one a single reading of that round's files
/// gives, and every place that single reading finds was found by some round.
#[test]
fn rounds_read_as_one_reading_of_the_last() {
    let r = rounds();
    let mut kept = Reach::new(&r.roots, &[]);
    let mut asked = Asked::default();
    let mut found: HashSet<String> = HashSet::new();
    for (i, (scanned, read)) in r.rounds.iter().enumerate() {
        let round = asked.take_in(&mut kept, scanned, read);
        found.extend(places_of(&round));
        let (once, all) = read_once(&r.roots, scanned, read);
        for place in all {
            assert!(found.contains(&place), "round {i}: {place} never found");
        }
        assert_eq!(state(&kept), state(&once), "round {i}");
    }
}

/// What the rounds change: `cond.h`, passed over in the first round, is beside once read (and
/// no longer searched for, by `"cond.h"`), and the computed include (and the `..`) of the last
/// round's `deep.h` exempt nothing.
#[test]
fn a_quoted_include_read_later_is_found_beside() {
    let r = rounds();
    let src = &r.roots[0];
    let mut kept = Reach::new(&r.roots, &[]);
    let mut asked = Asked::default();
    let (scanned, read) = &r.rounds[0];
    asked.take_in(&mut kept, scanned, read);
    let cond = format!("{src}/cond.h");
    assert_eq!(state(&kept).passed_beside, std::slice::from_ref(&cond));
    // `a.h` is also searched for (`<a.h>`), `u.h` only quoted beside its includer.
    assert!(!kept.beside_only(&format!("{src}/a.h")));
    assert!(kept.beside_only(&format!("{src}/u.h")));
    assert!(kept.searched.contains_key("gone.h") && kept.searched.contains_key("a/b.h"));
    let (scanned, read) = &r.rounds[1];
    asked.take_in(&mut kept, scanned, read);
    assert!(kept.beside_only(&cond));
    assert_eq!(state(&kept).passed_beside, [format!("{src}/deep.h")]);
    let (scanned, read) = &r.rounds[2];
    asked.take_in(&mut kept, scanned, read);
    assert!(state(&kept).passed_beside.is_empty());
    assert!(
        !kept.beside_only(&cond),
        "a computed include exempts nothing"
    );
    assert_eq!(kept.computed_in(), std::slice::from_ref(src));
}

/// A scan that does not continue the one taken in (another compile's) is read afresh.
#[test]
fn another_scan_is_read_afresh() {
    let r = rounds();
    let mut kept = Reach::new(&r.roots, &[]);
    let mut asked = Asked::default();
    let (scanned, read) = &r.rounds[2];
    asked.take_in(&mut kept, scanned, read);
    let (first, first_read) = &r.rounds[0];
    let again = asked.take_in(&mut kept, first, first_read);
    assert!(!again.first_looks.is_empty());
    let (once, _) = read_once(&r.roots, first, first_read);
    assert_eq!(state(&kept), state(&once));
}

/// A quoted include that searched (nothing was beside its includer) and whose place is read
/// in a later round (the file appeared there, and the compile read it) no longer counts as a
/// search for its name; an angle include of the same name still does, and a forced include's
/// name is searched below every root.
#[test]
fn a_searched_include_read_beside_later_counts_no_more() {
    let dir = tempfile::tempdir().unwrap();
    let src = format!("{}/src", dir.path().to_str().unwrap());
    std::fs::create_dir(&src).unwrap();
    let roots = vec![src.clone()];
    let source = format!("{src}/a.c");
    std::fs::write(
        &source,
        "#include \"late.h\"\n#include <late.h>\n#include \"alone.h\"\n",
    )
    .unwrap();
    let scan_of = |p: &str| (p.to_string(), Some(scan(&std::fs::read(p).unwrap())));
    let mut kept = Reach::new(&roots, &["f.h".to_string()]);
    let mut asked = Asked::default();
    let first = Scanned(vec![scan_of(&source)]);
    asked.take_in(&mut kept, &first, &HashSet::new());
    assert_eq!(kept.searched.get("late.h"), Some(&2));
    assert_eq!(kept.searched.get("alone.h"), Some(&1));
    // Both appear, and the compile reads them (a passed-over round would add them).
    let (late, alone) = (format!("{src}/late.h"), format!("{src}/alone.h"));
    std::fs::write(&late, "").unwrap();
    std::fs::write(&alone, "").unwrap();
    let second = Scanned(vec![scan_of(&source), scan_of(&late), scan_of(&alone)]);
    let read: HashSet<String> = [late.clone(), alone.clone()].into_iter().collect();
    asked.take_in(&mut kept, &second, &read);
    assert_eq!(
        kept.searched.get("late.h"),
        Some(&1),
        "the angle include still searches"
    );
    assert_eq!(kept.searched.get("alone.h"), None);
    assert!(!kept.beside_only(&late) && kept.beside_only(&alone));
    assert!(
        kept.searchable(&format!("{src}/f.h")),
        "a forced include's name"
    );
    assert_eq!(state(&kept), state(&read_once(&roots, &second, &read).0));
}

/// Another compile's scan with the same first and last files and the same length is read
/// afresh too (what the first one's middle file said is not kept).
#[test]
fn a_scan_with_the_same_ends_is_read_afresh() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().to_str().unwrap().to_string();
    for (name, text) in [
        ("a.c", "#include \"x.h\"\n"),
        ("x.h", "#include <only_x.h>\n"),
        ("z.h", "#include <only_z.h>\n"),
        ("y.h", ""),
    ] {
        std::fs::write(format!("{t}/{name}"), text).unwrap();
    }
    let scan_of = |n: &str| {
        let p = format!("{t}/{n}");
        let text = std::fs::read(&p).unwrap();
        (p, Some(scan(&text)))
    };
    let roots = vec![t.clone()];
    let mut kept = Reach::new(&roots, &[]);
    let mut asked = Asked::default();
    let one = Scanned(vec![scan_of("a.c"), scan_of("x.h"), scan_of("y.h")]);
    let other = Scanned(vec![scan_of("a.c"), scan_of("z.h"), scan_of("y.h")]);
    let read: HashSet<String> = ["x.h", "z.h", "y.h"]
        .iter()
        .map(|n| format!("{t}/{n}"))
        .collect();
    asked.take_in(&mut kept, &one, &read);
    assert!(kept.searched.contains_key("only_x.h"));
    asked.take_in(&mut kept, &other, &read);
    assert!(!kept.searched.contains_key("only_x.h"));
    assert_eq!(state(&kept), state(&read_once(&roots, &other, &read).0));
}

/// The places are shared across searches (the pull checks many records with one `Places`),
/// and two records may scan two versions of one file: each version's directives get their
/// own places, even with as many directives (a review found the second took the first's).
#[test]
fn another_version_of_a_file_gets_its_own_places() {
    let roots = vec!["/nowhere".to_string()];
    let mut asked = Asked::default();
    let version = |name: &str| {
        let text = format!("#include \"{name}\"\n");
        Scanned(vec![(
            "/nowhere/a.c".to_string(),
            Some(scan(text.as_bytes())),
        )])
    };
    let (one, two) = (version("one.h"), version("two.h"));
    let looks = asked.take_in(&mut Reach::new(&roots, &[]), &one, &HashSet::new());
    assert_eq!(looks.first_looks, ["/nowhere/one.h"]);
    let looks = asked.take_in(&mut Reach::new(&roots, &[]), &two, &HashSet::new());
    assert_eq!(looks.first_looks, ["/nowhere/two.h"]);
}
