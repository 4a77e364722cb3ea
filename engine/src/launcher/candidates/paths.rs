//! Candidate paths end to end in one string ([`Paths`]).

/// Paths end to end in one string: candidates made without an allocation each.
#[derive(Default)]
pub(super) struct Paths {
    text: String,
    ends: Vec<usize>,
}

impl Paths {
    /// Appends the path made of `parts`.
    pub(super) fn push(&mut self, parts: &[&str]) {
        for p in parts {
            self.text.push_str(p);
        }
        self.ends.push(self.text.len());
    }

    /// How many paths there are.
    pub(super) fn len(&self) -> usize {
        self.ends.len()
    }

    /// Removes every path.
    pub(super) fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
    }

    /// The last path pushed (`""` when none is).
    pub(super) fn last(&self) -> &str {
        let start = self.ends.len().checked_sub(2).map_or(0, |i| self.ends[i]);
        &self.text[start..]
    }

    /// Removes the last path pushed.
    pub(super) fn pop(&mut self) {
        self.ends.pop();
        self.text.truncate(self.ends.last().copied().unwrap_or(0));
    }

    /// The paths, in the order pushed.
    pub(super) fn iter(&self) -> impl Iterator<Item = &str> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts.zip(&self.ends).map(|(a, &b)| &self.text[a..b])
    }
}

impl<S: AsRef<str>> Extend<S> for Paths {
    fn extend<I: IntoIterator<Item = S>>(&mut self, paths: I) {
        for p in paths {
            self.push(&[p.as_ref()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Paths;

    /// Paths come back as pushed; the last one can be read and taken back.
    #[test]
    fn paths_come_back_as_pushed() {
        let mut p = Paths::default();
        assert_eq!(p.last(), "");
        p.push(&["/a", "/", "b.h"]);
        p.push(&["/c.h"]);
        p.push(&["", "/d"]);
        assert_eq!(p.last(), "/d");
        p.pop();
        assert_eq!(p.last(), "/c.h");
        p.extend(["/e", "/f"]);
        assert_eq!(p.iter().collect::<Vec<_>>(), ["/a/b.h", "/c.h", "/e", "/f"]);
        assert_eq!(p.len(), 4);
        p.pop();
        p.pop();
        p.pop();
        assert_eq!(p.last(), "/a/b.h");
        p.clear();
        assert_eq!(p.iter().count(), 0);
    }
}
