//! How a compile reached its headers, as far as the lookup rule (`super::shadow`) needs it:
//! the include directives and `__has_include` tests in the text of every file it read.
//!
//! A header can be exempt from earlier-directory candidates only if every directive that can
//! name it is a quoted include written beside it (the preprocessor looks beside the includer
//! first and stops there). A directive that searched (an angle include, or a quoted one whose
//! includer has no such file beside it) and a `__has_include` that found nothing name places
//! where a new file would change what the compile reads. The scan is textual and ignores
//! conditionals, so it errs towards more candidates (a false miss, never a wrong hit), except
//! that a quoted include whose file exists beside its includer but was not read cannot have
//! run (it would have found that file) and searched nowhere; an include of a macro
//! (`#include MACRO`) makes every header non-exempt.

use super::listings::{listed, Listings};
use backend::key::{is_lexical, lexical_join_to};
use std::hash::BuildHasher;

mod reach;
pub(super) use reach::Reach;
/// A set of paths (a fast hasher: the lookup rule asks it thousands of times per compile).
pub(super) type HashSet<T> = hashbrown::HashSet<T>;

/// Where each file's directives look first (beside the file) and, once asked, whether a file
/// is there: the same in every round of a launch's search (`super::candidates`), which only
/// adds files, so a round joins paths and asks the file system only for what is new.
#[derive(Default)]
pub(super) struct Places {
    /// Per file: a hash of the directives its places were made for, and the places. The
    /// pull's checks share one `Places` across records, which may scan another version of a
    /// file (until 2026-12-07 one with as many directives took the other's places).
    by_file: hashbrown::HashMap<String, (u64, Vec<Place>)>,
    hasher: hashbrown::DefaultHashBuilder,
}

/// One directive's first place (empty for a computed one).
struct Place {
    beside: String,
    exists: Option<bool>,
    /// Its name has a `.` or `..` component (then nothing is exempt).
    dotted: bool,
}

impl Places {
    /// The places of `file`'s directives, as [`Places::fill`] made them.
    fn of(&self, file: &str) -> &[Place] {
        &self.by_file[file].1
    }

    /// Makes the places of every file of `files` (part of a [`Scanned`]), and asks whether a
    /// file is at those that [`Reach::take_in`] will need to know of, given `read`: the
    /// directory's listing (shared with the search's candidates, `listings`) answers "no" for
    /// most, a `stat` confirms a "yes".
    fn fill(&mut self, files: &[ScannedFile], read: &HashSet<String>, listings: &mut Listings) {
        for (file, directives) in files {
            let Some(directives) = directives else {
                continue;
            };
            let hash = self.hasher.hash_one(directives);
            let (made_for, places) = self.by_file.entry_ref(file.as_str()).or_default();
            if *made_for != hash || places.len() != directives.len() {
                *made_for = hash;
                let dir = parent_of(file);
                let dir_lexical = is_lexical(dir);
                *places = directives
                    .iter()
                    .map(|d| Place {
                        beside: d.as_ref().map_or_else(String::new, |(n, _, _)| {
                            lexical_join_to(dir, dir_lexical, n)
                        }),
                        exists: None,
                        dotted: d
                            .as_ref()
                            .is_some_and(|(n, _, _)| n.split('/').any(|c| c == ".." || c == ".")),
                    })
                    .collect();
            }
            for (d, place) in directives.iter().zip(places.iter_mut()) {
                if let Some((_, true, false)) = d {
                    if place.exists.is_none() && !read.contains(&place.beside) {
                        place.exists = Some(is_there(listings, &place.beside));
                    }
                }
            }
        }
    }
}

/// Whether a file (or directory) is at `path` now, as `Path::exists` says (a dangling symbolic
/// link is not), asking the file system only when the listing of the deepest directory on the
/// way that can be listed names the next component.
fn is_there(listings: &mut Listings, path: &str) -> bool {
    let mut p = path;
    while let Some(i) = memchr::memrchr(b'/', p.as_bytes()) {
        let dir = if i == 0 { "/" } else { &p[..i] };
        if let Some(names) = listed(listings, dir) {
            if !names.contains(std::ffi::OsStr::new(&p[i + 1..])) {
                return false;
            }
            break;
        }
        if i == 0 {
            break;
        }
        p = dir; // not listable (absent, or unreadable): is it named in its parent?
    }
    std::path::Path::new(path).exists()
}

/// A directive as [`scan`] reads it: `Some((name, quoted, is_probe))`, `None` when computed.
pub(super) type Directive = Option<(String, bool, bool)>;

/// A file's directives, shared: the pull's first checks take each header's into hundreds of
/// records' scans.
pub(super) type Directives = std::sync::Arc<[Directive]>;

/// What this launch's lookup learnt of the files it checked, by path: the directives of those
/// it read whole (headers whose stamps it could not trust), and the digest and settled stat
/// stamp of each. The first check of the entry found then takes those directives, or the
/// remembered facts of those stamps (`super::header_facts`), instead of reading or stat'ing
/// every header again.
#[derive(Debug, Default)]
pub struct ReadScans {
    read: std::cell::RefCell<hashbrown::HashMap<String, Directives>>,
    checked: std::cell::RefCell<super::lookup::Checked>,
}

impl ReadScans {
    /// Keeps `directives`, those of `path` (absolute).
    pub(super) fn keep(&self, path: String, directives: Directives) {
        self.read.borrow_mut().insert(path, directives);
    }

    /// Keeps what the lookup found of each file it checked (moved, not copied: a hit pays
    /// nothing for it).
    pub(super) fn keep_checked(&self, checked: super::lookup::Checked) {
        *self.checked.borrow_mut() = checked;
    }

    /// The directives of `path` if it was read whole, else `None`.
    fn of(&self, path: &str) -> Option<Directives> {
        self.read.borrow().get(path).cloned()
    }

    /// The settled stamp the lookup found for `path`, if it checked it.
    pub(super) fn stamp_of(&self, path: &str) -> Option<fetch::cache::StatStamp> {
        self.checked.borrow().get(path).copied().flatten()?.1
    }
}

/// The directives of each file a compile read (the source first), or `None` for a file that
/// could not be read. A function of the files' contents alone, so it is remembered per
/// action (the action key covers every file's digest): a new object directory's first check
/// of an entry does not read its headers again.
pub(super) struct Scanned(Vec<ScannedFile>);

/// One file of a [`Scanned`]: its path and directives (`None`: it could not be read).
type ScannedFile = (String, Option<Directives>);

impl Scanned {
    /// Scans `source` and `read` (absolute paths): what `kept` has, else what `of_file` gives
    /// (`None`: unreadable).
    pub(super) fn read(
        source: &str,
        read: &HashSet<String>,
        kept: &ReadScans,
        of_file: impl Fn(&str) -> Option<Directives>,
    ) -> Scanned {
        let files = std::iter::once(source).chain(read.iter().map(String::as_str));
        Scanned(
            files
                .map(|f| {
                    let d = kept.of(f).or_else(|| of_file(f));
                    (f.to_string(), d)
                })
                .collect(),
        )
    }

    /// The scan of files already read: `source` first (`None`: it could not be read), then
    /// each header with its directives.
    pub(super) fn of_parts<D: Into<Directives>>(
        (source, directives): (String, Option<D>),
        headers: impl Iterator<Item = (String, D)>,
    ) -> Scanned {
        let source = (source, directives.map(Into::into));
        let headers = headers.map(|(f, d)| (f, Some(d.into())));
        Scanned(std::iter::once(source).chain(headers).collect())
    }

    /// Adds the directives of one more file (`path` absolute).
    pub(super) fn add(&mut self, path: String, directives: Directives) {
        self.0.push((path, Some(directives)));
    }

    /// Whether every file could be read (only then is the scan worth remembering).
    pub(super) fn complete(&self) -> bool {
        self.0.iter().all(|(_, d)| d.is_some())
    }

    /// Whether it covers exactly `source` and `read`.
    pub(super) fn covers(&self, source: &str, read: &HashSet<String>) -> bool {
        self.0.len() == read.len() + 1
            && self.0.first().is_some_and(|(f, _)| f == source)
            && self.0[1..].iter().all(|(f, _)| read.contains(f))
    }

    /// The text form, paths through `normalize` (`f <path>`, then one line per directive:
    /// `i|p q|a <name>` for an include or a `__has_include`, `c` for a computed one).
    pub(super) fn encode(&self, normalize: impl Fn(&str) -> String) -> String {
        let mut out = String::new();
        for (file, directives) in &self.0 {
            out.push_str("f ");
            out.push_str(&normalize(file));
            out.push('\n');
            encode_directives(directives.iter().flat_map(|d| d.iter()), &mut out);
        }
        out
    }

    /// Parses [`Scanned::encode`]'s text, paths through `denormalize`; `None` if malformed.
    pub(super) fn decode(text: &str, denormalize: impl Fn(&str) -> String) -> Option<Scanned> {
        let mut files: Vec<(String, Vec<Directive>)> = Vec::new();
        for line in fetch::cache::lines(text) {
            if let Some(path) = line.strip_prefix("f ") {
                files.push((denormalize(path), Vec::new()));
                continue;
            }
            files.last_mut()?.1.push(decode_directive(line)?);
        }
        let files = files.into_iter().map(|(f, d)| (f, Some(d.into())));
        Some(Scanned(files.collect()))
    }
}

/// Appends one line per directive of `directives` to `out` (`i|p q|a <name>` for an include
/// or a `__has_include`, `c` for a computed one): the form [`Scanned::encode`] and
/// `super::header_facts` write.
pub(super) fn encode_directives<'d>(
    directives: impl Iterator<Item = &'d Directive>,
    out: &mut String,
) {
    for d in directives {
        match d {
            Some((name, quoted, probe)) if !name.contains('\n') => {
                // Pushed piece by piece: `format!` per line was most of a scan's encoding.
                out.push_str(match (*probe, *quoted) {
                    (true, true) => "p q ",
                    (true, false) => "p a ",
                    (false, true) => "i q ",
                    (false, false) => "i a ",
                });
                out.push_str(name);
                out.push('\n');
            }
            _ => out.push_str("c\n"),
        }
    }
}

/// One line of [`encode_directives`]'s form; `None` if malformed.
pub(super) fn decode_directive(line: &str) -> Option<Directive> {
    if line == "c" {
        return Some(None);
    }
    let (kind, rest) = line.split_once(' ')?;
    let (q, name) = rest.split_once(' ')?;
    let quoted = match q {
        "q" => true,
        "a" => false,
        _ => return None,
    };
    let probe = match kind {
        "p" => true,
        "i" => false,
        _ => return None,
    };
    Some(Some((name.to_string(), quoted, probe)))
}

/// The directory part of an absolute path (`/` for a bare name).
pub(super) fn parent_of(path: &str) -> &str {
    match memchr::memrchr(b'/', path.as_bytes()) {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// The directives of `text`: `Some((name, quoted, is_probe))`, or `None` for a computed one.
pub(super) fn scan(text: &[u8]) -> Directives {
    let mut out = Vec::new();
    // Directives are rare: jump from `#` (or the digraph `%:`) to the next and check that
    // only blanks, or a comment's end and blanks, precede it on its line (a byte-by-byte split
    // into lines cost more than hashing the header). A comment before the `#` is read as
    // ended there: more directives than the compiler sees only add candidates.
    let hashes = memchr::memchr_iter(b'#', text).map(|at| (at, 1));
    let digraphs = memchr::memmem::find_iter(text, b"%:").map(|at| (at, 2));
    let mut starts: Vec<(usize, usize)> = hashes.chain(digraphs).collect();
    starts.sort_unstable();
    for (at, len) in starts {
        let line_start = memchr::memrchr(b'\n', &text[..at]).map_or(0, |i| i + 1);
        let before = &text[line_start..at];
        let after_comment =
            memchr::memmem::rfind(before, b"*/").map_or(before, |i| &before[i + 2..]);
        if !after_comment.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let end = memchr::memchr(b'\n', &text[at..]).map_or(text.len(), |i| at + i);
        let rest = trim(&text[at + len..end]);
        for kw in [&b"include_next"[..], b"include", b"import"] {
            if let Some(arg) = rest.strip_prefix(kw) {
                out.push(name_of(trim(arg)));
                break;
            }
        }
    }
    let key = b"__has_include";
    let mut at = 0;
    while let Some(i) = find(&text[at..], key) {
        let mut rest = &text[at + i + key.len()..];
        at += i + key.len();
        rest = rest.strip_prefix(b"_next").unwrap_or(rest);
        if let Some(arg) = trim(rest).strip_prefix(b"(") {
            out.push(name_of(trim(arg)).map(|(n, q, _)| (n, q, true)));
        }
    }
    out.into()
}

/// `"name"` or `<name>` at the start of `arg`; `None` for anything else (a macro).
fn name_of(arg: &[u8]) -> Option<(String, bool, bool)> {
    let (close, quoted) = match arg.first()? {
        b'"' => (b'"', true),
        b'<' => (b'>', false),
        _ => return None,
    };
    let end = arg[1..].iter().position(|&b| b == close)?;
    let name = std::str::from_utf8(&arg[1..1 + end]).ok()?;
    Some((name.to_string(), quoted, false))
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    &s[start..]
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes a lookup hashed are the ones scanned: a header rewritten since is not read
    /// again (its digest matched the entry's; a changed file would have been a miss).
    #[test]
    fn a_scan_uses_the_bytes_the_lookup_read() {
        let dir = tempfile::tempdir().unwrap();
        let (src, h) = (dir.path().join("a.c"), dir.path().join("a.h"));
        std::fs::write(&src, "#include \"a.h\"\n").unwrap();
        std::fs::write(&h, "#include <now.h>\n").unwrap();
        let (src, h) = (src.to_str().unwrap(), h.to_str().unwrap().to_string());
        let kept = ReadScans::default();
        kept.keep(h.clone(), scan(b"#include <then.h>\n"));
        let read: HashSet<String> = [h.clone()].into_iter().collect();
        let of_file = |f: &str| std::fs::read(f).ok().map(|t| scan(&t));
        let s = Scanned::read(src, &read, &kept, of_file);
        let of_h = s.0.iter().find(|(f, _)| *f == h).unwrap();
        assert_eq!(
            of_h.1,
            Some(vec![Some(("then.h".into(), false, false))].into())
        );
        let fresh = Scanned::read(src, &read, &ReadScans::default(), of_file);
        let of_h = fresh.0.iter().find(|(f, _)| *f == h).unwrap();
        assert_eq!(
            of_h.1,
            Some(vec![Some(("now.h".into(), false, false))].into())
        );
    }

    /// `is_there` answers as `Path::exists` does: a file, a directory, nothing, a name under
    /// a directory that does not exist, a dangling symbolic link (listed, yet not there).
    #[test]
    fn a_place_is_there_as_exists_says() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap().to_string();
        std::fs::write(format!("{d}/a.h"), "").unwrap();
        std::fs::create_dir(format!("{d}/sub")).unwrap();
        std::os::unix::fs::symlink(format!("{d}/gone.h"), format!("{d}/dangling.h")).unwrap();
        let mut listings = Listings::new();
        for (rel, there) in [
            ("a.h", true),
            ("sub", true),
            ("b.h", false),
            ("missing/x.h", false),
            ("missing/deeper/x.h", false),
            ("sub/x.h", false),
            ("dangling.h", false),
        ] {
            let path = format!("{d}/{rel}");
            assert_eq!(is_there(&mut listings, &path), there, "{rel}");
            assert_eq!(std::path::Path::new(&path).exists(), there, "{rel}");
        }
        std::fs::write(format!("{d}/sub/x.h"), "").unwrap();
        let mut fresh = Listings::new();
        assert!(is_there(&mut fresh, &format!("{d}/sub/x.h")));
    }

    /// The lookup's record of the files it checked gives a first check their settled stamps
    /// (none for one too young to trust, or unreadable, or not checked).
    #[test]
    fn a_first_check_takes_the_stamps_its_lookup_checked() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.h");
        std::fs::write(&f, "x").unwrap();
        let stamp = fetch::cache::StatStamp::of(&std::fs::metadata(&f).unwrap());
        let d = fetch::cache::Digest::of(b"x");
        let mut checked = super::super::lookup::Checked::new();
        checked.insert("/s/a.h".into(), Some((d, Some(stamp))));
        checked.insert("/s/young.h".into(), Some((d, None)));
        checked.insert("/s/gone.h".into(), None);
        let kept = ReadScans::default();
        kept.keep_checked(checked);
        assert_eq!(kept.stamp_of("/s/a.h"), Some(stamp));
        for other in ["/s/young.h", "/s/gone.h", "/s/other.h"] {
            assert_eq!(kept.stamp_of(other), None, "{other}");
        }
    }

    #[test]
    fn directives_of_a_file() {
        let text = b"#include \"a.h\"\n  #  include_next <b/c.h>\n#include MACRO\n#if __has_include(<d.h>) && __has_include_next ( \"e.h\" )\n#endif\n#if defined(__has_include)\n";
        let got = scan(text);
        assert_eq!(
            *got,
            [
                Some(("a.h".to_string(), true, false)),
                Some(("b/c.h".to_string(), false, false)),
                None,
                Some(("d.h".to_string(), false, true)),
                Some(("e.h".to_string(), true, true)),
            ]
        );
    }

    #[test]
    fn scans_round_trip_through_their_text_form() {
        let mut read = HashSet::new();
        read.insert("/src/a.h".to_string());
        let scanned = Scanned(vec![
            (
                "/src/x.c".to_string(),
                Some(
                    vec![
                        Some(("a.h".to_string(), true, false)),
                        Some(("sys/b c.h".to_string(), false, true)),
                        None,
                    ]
                    .into(),
                ),
            ),
            ("/src/a.h".to_string(), Some(Vec::new().into())),
        ]);
        let text = scanned.encode(|p| p.replacen("/src", "@src", 1));
        assert!(
            text.starts_with("f @src/x.c\ni q a.h\np a sys/b c.h\nc\nf @src/a.h\n"),
            "{text}"
        );
        let back = Scanned::decode(&text, |p| p.replacen("@src", "/src", 1)).unwrap();
        assert_eq!(back.0, scanned.0);
        assert!(back.covers("/src/x.c", &read) && back.complete());
        assert!(!back.covers("/src/y.c", &read));
        assert!(Scanned::decode("i q a.h\n", |p| p.to_string()).is_none());
    }

    /// A directive after a comment on its line, or spelled with the digraph `%:`, is a
    /// directive (a review found both missed, and a stale hit through the first); a `#` after
    /// code or inside a string on its line is not.
    #[test]
    fn directives_after_a_comment_or_as_digraphs_are_scanned() {
        let text = b"/* c */ #include \"b.h\"\n%:include <d.h>\n  /* a */ /* b */ # include \"e.h\"\nint x; #include \"no.h\"\nconst char *s = \"#include <no2.h>\";\n";
        let names: Vec<String> = scan(text)
            .iter()
            .map(|d| d.clone().map(|(n, _, _)| n).unwrap_or_default())
            .collect();
        assert_eq!(names, ["b.h", "d.h", "e.h"]);
    }
}
