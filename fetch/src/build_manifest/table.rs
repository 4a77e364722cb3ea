//! The include table of a build manifest: every header once, records pointing into it by
//! index, written as ranges (`0-57 60 62-70`). Indices are given in order of first use, so a
//! record's list is mostly a few runs of the ones before it.

use super::{IncludeHash, Limits, Reason};
use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Arc;

/// The table as a serialiser builds it: each header's index, in order of first use.
#[derive(Default)]
pub(super) struct Interner<'a> {
    index: HashMap<&'a IncludeHash, u32>,
    /// The headers in index order.
    pub(super) headers: Vec<&'a IncludeHash>,
}

impl<'a> Interner<'a> {
    /// The indices of `list`, adding the headers not seen yet.
    pub(super) fn indices(&mut self, list: &'a [Arc<IncludeHash>]) -> Vec<u32> {
        list.iter()
            .map(|h| {
                let next = self.headers.len() as u32;
                *self.index.entry(&**h).or_insert_with(|| {
                    self.headers.push(h);
                    next
                })
            })
            .collect()
    }
}

/// Writes `indices` as blank-separated runs: `a` alone, `a-b` for `a, a+1, …, b`.
pub(super) fn write_ranges(s: &mut String, indices: &[u32]) {
    let mut i = 0;
    while i < indices.len() {
        let first = indices[i];
        let mut last = first;
        while i + 1 < indices.len() && last.checked_add(1) == Some(indices[i + 1]) {
            last = indices[i + 1];
            i += 1;
        }
        if s.ends_with(|c: char| c.is_ascii_digit()) {
            s.push(' ');
        }
        if first == last {
            let _ = write!(s, "{first}");
        } else {
            let _ = write!(s, "{first}-{last}");
        }
        i += 1;
    }
}

/// Reads the ranges of an `inc` line into the headers of `table` they name, at most
/// `limits.max_includes` of them (counted before any is expanded).
pub(super) fn read_ranges(
    text: &str,
    table: &[Arc<IncludeHash>],
    limits: &Limits,
) -> Result<Vec<Arc<IncludeHash>>, Reason> {
    let mut out = Vec::new();
    for run in text.split(' ') {
        let (first, last) = match run.split_once('-') {
            Some((a, b)) => (index(a)?, index(b)?),
            None => (index(run)?, index(run)?),
        };
        if first > last {
            return Err(Reason::BadRange(run.chars().take(40).collect()));
        }
        if last >= table.len() as u64 {
            return Err(Reason::BadIncludeIndex {
                index: last,
                headers: table.len(),
            });
        }
        if (out.len() as u64).saturating_add(last - first + 1) > limits.max_includes as u64 {
            return Err(Reason::TooManyIncludes(limits.max_includes));
        }
        out.extend(table[first as usize..=last as usize].iter().cloned());
    }
    Ok(out)
}

fn index(s: &str) -> Result<u64, Reason> {
    super::text::number(s, "include index")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::Digest;

    fn table(n: usize) -> Vec<Arc<IncludeHash>> {
        (0..n)
            .map(|i| {
                Arc::new(IncludeHash {
                    path: format!("h{i}.h"),
                    digest: Digest::of(&i.to_le_bytes()),
                })
            })
            .collect()
    }

    #[test]
    fn ranges_round_trip() {
        let t = table(10);
        for list in [
            vec![0u32],
            vec![0, 1, 2, 5, 7, 8, 9],
            vec![9, 8, 3, 4, 3],
            vec![4, 4],
        ] {
            let mut s = String::new();
            write_ranges(&mut s, &list);
            let back = read_ranges(&s, &t, &Limits::default()).unwrap();
            let want: Vec<_> = list.iter().map(|&i| t[i as usize].clone()).collect();
            assert_eq!(back, want, "{s}");
        }
        let mut s = String::new();
        write_ranges(&mut s, &[0, 1, 2, 5, 7, 8, 9]);
        assert_eq!(s, "0-2 5 7-9");
    }

    #[test]
    fn bad_ranges_are_rejected() {
        let t = table(3);
        let l = Limits::default();
        assert_eq!(
            read_ranges("0-3", &t, &l),
            Err(Reason::BadIncludeIndex {
                index: 3,
                headers: 3
            })
        );
        assert_eq!(
            read_ranges("2-1", &t, &l),
            Err(Reason::BadRange("2-1".into()))
        );
        for bad in ["", "1 ", "a", "1--2", "-1", "+1"] {
            assert!(read_ranges(bad, &t, &l).is_err(), "{bad:?}");
        }
        let small = Limits {
            max_includes: 2,
            ..l
        };
        assert_eq!(
            read_ranges("0-2", &t, &small),
            Err(Reason::TooManyIncludes(2))
        );
        // A huge range is refused before anything is expanded.
        let big = format!("0-{}", u64::MAX);
        assert!(read_ranges(&big, &t, &l).is_err());
    }
}
