//! The lookup memo of an entry in an object directory (`d`, `l`, `n`, `u` and `x` lines): its
//! key ([`Launcher::memo_key`]); written when an entry is stored and after a first or full
//! check, the pull's included ([`Launcher::write_memo`]); read by every later check
//! ([`Launcher::memo_holds`]).

use crate::launcher::candidates::Holding;
use crate::launcher::launch::Launcher;
use crate::launcher::links::Undone;
use crate::launcher::listings::{
    dir_stamp, listing, parse_stamped, push_stamp, rel_below, Listing,
};
use fetch::cache as fcache;

impl Launcher<'_> {
    /// The key of the lookup memo of `action_key` in this object directory (and source
    /// root's layout).
    pub(in crate::launcher) fn memo_key(&self, action_key: &fcache::Digest) -> fcache::Digest {
        fcache::Digest::of(
            format!(
                "cached-ninja lookup memo 5\0{action_key}\0{}\0{}",
                self.roots.obj(),
                self.roots.src().unwrap_or("")
            )
            .as_bytes(),
        )
    }

    /// Records, for this object directory, what shows that no candidate of the entry's
    /// headers has appeared since (checked just now), and the candidates `present` (passed
    /// over). Each directory holding candidates is recorded by the stamp taken before its
    /// listing when it was settled then: a file created since changes it. One not settled is
    /// recorded by the first names of its candidates below it, and every check lists it again
    /// (none of them may be there). The directories a directive's `..` undid (`undone`) are
    /// recorded too: each check asks that each is still a plain directory (a link swapped in
    /// moves what the `..` reaches, with no holder changed). No memo when a directory could
    /// not be listed, or one not settled holds a present candidate (its name is listed by
    /// design).
    pub(in crate::launcher) fn write_memo<'a, 'h: 'a>(
        &self,
        action_key: &fcache::Digest,
        holders: impl IntoIterator<Item = &'a Holding<'h>>,
        undone: &[String],
        present: &[String],
    ) {
        let mut text = String::new();
        for dir in undone {
            if dir.contains('\n') {
                return;
            }
            text.extend(["u ", dir, "\n"]);
        }
        for h in holders {
            let Some(ground) = h.ground else {
                return;
            };
            // (Stamps not trusted: every check lists the holder.)
            if let Some(stamp) = ground.settled().filter(|_| self.trust_stat) {
                text.push_str("d ");
                push_stamp(&mut text, stamp);
                text.extend([" ", h.dir, "\n"]);
                continue;
            }
            if h.dir.contains('\n') || present.iter().any(|p| rel_below(h.dir, p).is_some()) {
                return;
            }
            // Pushed piece by piece: `format!` per line was a sixth of a first check's hit.
            text.extend(["l ", h.dir, "\n"]);
            for name in h.first_names() {
                if name.contains('\n') {
                    return;
                }
                text.extend(["n ", name, "\n"]);
            }
        }
        for p in present {
            text.extend(["x ", p, "\n"]);
        }
        let _ = self.cache.memo_put(&self.memo_key(action_key), &text);
    }

    /// Whether the lookup memo `text` still holds: every stamped directory unchanged, and
    /// no first name of a listed one's candidates there now. Adds its present candidates to
    /// `present` whether it holds or not (the full check that follows a failed memo needs
    /// them). An `n` line belongs to the `l` line before it, with no `d` line between. A
    /// stamped directory holds only if `trust_stat`.
    pub(in crate::launcher) fn memo_holds(
        text: &str,
        present: &mut Vec<String>,
        trust_stat: bool,
    ) -> bool {
        let mut holds = true;
        let mut listed: Option<Listing> = None;
        for l in fcache::lines(text) {
            if let Some(p) = l.strip_prefix("x ") {
                present.push(p.to_string());
            } else if !holds {
                // Failed already: only the present candidates are still wanted.
            } else if let Some(dir) = l.strip_prefix("u ") {
                holds = Undone::is_plain_now(dir);
            } else if let Some(rest) = l.strip_prefix("d ") {
                // (Stamps not trusted: the full check follows, and writes a memo without.)
                holds = trust_stat
                    && parse_stamped(rest)
                        .is_some_and(|(stamp, dir)| dir_stamp(dir) == Some(stamp));
                listed = None;
            } else if let Some(dir) = l.strip_prefix("l ") {
                listed = listing(dir);
                holds = listed.is_some();
            } else if let Some(name) = l.strip_prefix("n ") {
                holds = listed
                    .as_ref()
                    .is_some_and(|d| !d.names.contains(std::ffi::OsStr::new(name)));
            } else {
                holds = false;
            }
        }
        holds
    }
}
