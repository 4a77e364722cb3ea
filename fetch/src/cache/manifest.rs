//! Include manifests (`mf/<source key>`): the include lists seen for one source key, so the
//! launcher finds the action key without running the preprocessor ("direct mode", DESIGN §3).
//!
//! Each set records, per file, its normalised path, its content digest and — when the file
//! was settled at recording time — a [`StatStamp`]. A later lookup on this machine whose
//! `stat` matches the stamp trusts the digest without reading the file: `ctime` cannot be set
//! by user space and changes on every write, and a file is only stamped once its
//! timestamps are [`SETTLE`] old, so a write within the same timestamp tick cannot go unseen.
//! Set `CACHED_NINJA_TRUST_STAT=0` to always hash.
//!
//! ```text
//! cached-ninja manifest 1
//! set <action key>
//! f <digest> <dev> <ino> <size> <mtime ns> <ctime ns> <normalised path>   (stamp fields `-` when absent)
//! end <checksum>
//! ```

use super::seal::{seal, unseal_checked};
use super::Digest;
use std::fmt::Write;
use std::os::unix::fs::MetadataExt;
use std::time::{Duration, SystemTime};

/// First line of every manifest. Must never change; a new layout gets a new number.
pub const MANIFEST_HEADER: &str = "cached-ninja manifest 1";
/// Most include sets kept per source key (the newest first).
pub const MAX_INCLUDE_SETS: usize = 16;
/// How old a file's timestamps must be before its stat stamp is recorded.
pub const SETTLE: Duration = Duration::from_secs(2);

/// The `stat` fields that identify one version of a file on this machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatStamp {
    /// Device.
    pub dev: u64,
    /// Inode.
    pub ino: u64,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, ns since the epoch.
    pub mtime_ns: i64,
    /// Status change time, ns since the epoch.
    pub ctime_ns: i64,
}

impl StatStamp {
    /// The stamp of `md`.
    pub fn of(md: &std::fs::Metadata) -> StatStamp {
        StatStamp {
            dev: md.dev(),
            ino: md.ino(),
            size: md.size(),
            mtime_ns: md.mtime() * 1_000_000_000 + md.mtime_nsec(),
            ctime_ns: md.ctime() * 1_000_000_000 + md.ctime_nsec(),
        }
    }

    /// Whether either timestamp is after `t` (the file changed once `t` had come, so a compile
    /// that started at `t` may have read another version). Never true for a file last written
    /// before `t`: Linux stamps files from a clock that lags `CLOCK_REALTIME` by up to a tick,
    /// never leads it. A write within that tick after `t` can go unseen; it comes before the
    /// compiler, started after `t`, has read anything.
    pub fn changed_since(&self, t: SystemTime) -> bool {
        let t_ns = t
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i64);
        self.mtime_ns > t_ns || self.ctime_ns > t_ns
    }

    /// The stamp written as five words, `<dev> <ino> <size> <mtime_ns> <ctime_ns>`: the form
    /// of every text that records one (include manifests, memos).
    pub fn words(&self) -> String {
        let mut s = String::with_capacity(80);
        self.push_words(&mut s);
        s
    }

    /// [`StatStamp::words`] appended to `out`.
    pub fn push_words(&self, out: &mut String) {
        let mut n = itoa::Buffer::new();
        out.push_str(n.format(self.dev));
        for w in [self.ino, self.size] {
            out.push(' ');
            out.push_str(n.format(w));
        }
        for w in [self.mtime_ns, self.ctime_ns] {
            out.push(' ');
            out.push_str(n.format(w));
        }
    }

    /// [`StatStamp::words`] read back; `None` unless exactly five numbers.
    pub fn from_words(text: &str) -> Option<StatStamp> {
        // Bytes split and numbers read by hand: `str::split` and `parse` were more than a
        // quarter of reading a header's remembered facts.
        let mut w = text.as_bytes().split(|&b| b == b' ');
        let stamp = StatStamp {
            dev: unsigned(w.next()?)?,
            ino: unsigned(w.next()?)?,
            size: unsigned(w.next()?)?,
            mtime_ns: signed(w.next()?)?,
            ctime_ns: signed(w.next()?)?,
        };
        w.next().is_none().then_some(stamp)
    }

    /// Whether both timestamps are at least `SETTLE` (2 s) before `now` (safe to record).
    pub fn is_settled(&self, now: SystemTime) -> bool {
        let now_ns = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i64);
        let limit = now_ns - SETTLE.as_nanos() as i64;
        self.mtime_ns < limit && self.ctime_ns < limit
    }
}

/// One included file of an include set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncludeFile {
    /// Normalised path (`@src/…`, `@obj/…`, absolute, or relative to the object root).
    pub path: String,
    /// Digest of its bytes.
    pub digest: Digest,
    /// Its stat stamp on this machine, when it was settled.
    pub stamp: Option<StatStamp>,
}

/// One include list seen for the source key, and the action key it gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncludeSet {
    /// The action key of this list.
    pub action_key: Digest,
    /// The files, in the compiler's order.
    pub files: Vec<IncludeFile>,
}

/// The include sets of one source key, the most recently used first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Manifest {
    /// Include sets.
    pub sets: Vec<IncludeSet>,
}

impl Manifest {
    /// Puts `set` first (replacing a set with the same action key) and keeps at most
    /// [`MAX_INCLUDE_SETS`].
    pub fn add_front(&mut self, set: IncludeSet) {
        self.sets.retain(|s| s.action_key != set.action_key);
        self.sets.insert(0, set);
        self.sets.truncate(MAX_INCLUDE_SETS);
    }

    /// The sealed text form.
    pub fn encode(&self) -> String {
        let n: usize = self.sets.iter().map(|s| s.files.len()).sum();
        let mut s = String::with_capacity(64 + n * 160);
        s.push_str(MANIFEST_HEADER);
        s.push('\n');
        for set in &self.sets {
            let _ = writeln!(s, "set {}", set.action_key);
            // Pushed piece by piece: `writeln!` cost a libgit2 miss a million instructions.
            for f in &set.files {
                s.push_str("f ");
                s.push_str(cn_digest::hex::digits32(&f.digest.0).as_str());
                s.push(' ');
                match &f.stamp {
                    Some(t) => t.push_words(&mut s),
                    None => s.push_str("- - - - -"),
                }
                s.push(' ');
                s.push_str(&f.path);
                s.push('\n');
            }
        }
        seal(s)
    }

    /// Parses and verifies the text form.
    pub fn decode(bytes: &[u8]) -> Result<Manifest, String> {
        Self::decode_checked(bytes, false)
    }

    /// [`Self::decode`] of a local cache file whose check value matched its bytes or not
    /// (`checked`: its checksum line is then not hashed again, `super::check`).
    pub(crate) fn decode_checked(bytes: &[u8], checked: bool) -> Result<Manifest, String> {
        let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8".to_string())?;
        let body = unseal_checked(text, checked)
            .ok_or("checksum missing or wrong (truncated or altered)")?;
        // Split on `\n` only: `str::lines` also drops a `\r` before it, which changed a path
        // ending in `\r` (a legal file name) into another path.
        let mut lines = super::seal::lines(body);
        if lines.next() != Some(MANIFEST_HEADER) {
            return Err("unknown header".into());
        }
        let mut m = Manifest::default();
        let bad = |l: &str| format!("bad line {l:?}");
        for line in lines {
            if let Some(k) = line.strip_prefix("set ") {
                let action_key = Digest::from_hex(k).ok_or_else(|| bad(line))?;
                m.sets.push(IncludeSet {
                    action_key,
                    files: Vec::new(),
                });
            } else if let Some(rest) = line.strip_prefix("f ") {
                let set = m.sets.last_mut().ok_or_else(|| bad(line))?;
                // Fields split by hand: `splitn`'s searcher cost a hit more than the digests.
                let mut rest = rest;
                let mut next = || {
                    let i = rest
                        .bytes()
                        .position(|b| b == b' ')
                        .ok_or_else(|| bad(line))?;
                    let field = &rest[..i];
                    rest = &rest[i + 1..];
                    Ok::<_, String>(field)
                };
                let digest = Digest::from_hex(next()?).ok_or_else(|| bad(line))?;
                let fields = [next()?, next()?, next()?, next()?, next()?];
                let path = rest.to_string();
                let stamp = if fields[0] == "-" {
                    None
                } else {
                    // Unsigned fields as u64: read as i64 and cast, `-1` would come back as
                    // 18446744073709551615, which does not read again (nor would a real inode
                    // number above `i64::MAX`).
                    let u = |i: usize| fields[i].parse::<u64>().map_err(|_| bad(line));
                    let n = |i: usize| fields[i].parse::<i64>().map_err(|_| bad(line));
                    Some(StatStamp {
                        dev: u(0)?,
                        ino: u(1)?,
                        size: u(2)?,
                        mtime_ns: n(3)?,
                        ctime_ns: n(4)?,
                    })
                };
                set.files.push(IncludeFile {
                    path,
                    digest,
                    stamp,
                });
            } else {
                return Err(bad(line));
            }
        }
        Ok(m)
    }
}

/// A decimal number as `str::parse` reads one: an optional sign, then at least one digit;
/// whether it is negative, and its magnitude (`None` past `u64`).
fn sign_and_digits(w: &[u8]) -> Option<(bool, u64)> {
    let (negative, digits) = match w.first()? {
        b'-' => (true, &w[1..]),
        b'+' => (false, &w[1..]),
        _ => (false, w),
    };
    if digits.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for &d in digits {
        let d = d.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(d))?;
    }
    Some((negative, n))
}

/// `w` as `str::parse::<u64>` reads it.
fn unsigned(w: &[u8]) -> Option<u64> {
    match sign_and_digits(w)? {
        (false, n) => Some(n),
        (true, _) => None,
    }
}

/// `w` as `str::parse::<i64>` reads it.
fn signed(w: &[u8]) -> Option<i64> {
    match sign_and_digits(w)? {
        (false, n) => i64::try_from(n).ok(),
        (true, n) if n <= 1 << 63 => Some((n as i64).wrapping_neg()),
        (true, _) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stamp's five words read back, the extremes included; anything else is no stamp.
    #[test]
    fn stamp_words_round_trip() {
        let s = StatStamp {
            dev: u64::MAX,
            ino: 0,
            size: 7,
            mtime_ns: i64::MIN,
            ctime_ns: i64::MAX,
        };
        assert_eq!(StatStamp::from_words(&s.words()), Some(s));
        for bad in ["", "-", "1 2 3 4", "1 2 3 4 5 6", "1 2 3 4 x", "-1 2 3 4 5"] {
            assert_eq!(StatStamp::from_words(bad), None, "{bad:?}");
        }
    }

    /// The stamp's numbers are read as `str::parse` reads them, edges and signs included.
    #[test]
    fn stamp_numbers_read_as_parse_does() {
        let mut words: Vec<String> = [
            "",
            "+",
            "-",
            "0",
            "+0",
            "-0",
            "00",
            "1a",
            " 1",
            "1 ",
            "++1",
            "-+1",
            "\u{e9}",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "-9223372036854775809",
            "18446744073709551615",
            "18446744073709551616",
            "+18446744073709551615",
            "99999999999999999999",
        ]
        .iter()
        .map(|w| w.to_string())
        .collect();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..2000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let sign = ["", "+", "-"][(x % 3) as usize];
            words.push(format!("{sign}{}", x >> (x % 64)));
        }
        for w in &words {
            assert_eq!(
                super::unsigned(w.as_bytes()),
                w.parse::<u64>().ok(),
                "{w:?}"
            );
            assert_eq!(super::signed(w.as_bytes()), w.parse::<i64>().ok(), "{w:?}");
        }
    }

    #[test]
    fn round_trip_and_order() {
        let f = |p: &str, stamp| IncludeFile {
            path: p.into(),
            digest: Digest::of(p.as_bytes()),
            stamp,
        };
        let stamp = StatStamp {
            dev: 1,
            ino: 2,
            size: 3,
            mtime_ns: 4,
            ctime_ns: -5,
        };
        let mut m = Manifest::default();
        m.add_front(IncludeSet {
            action_key: Digest::of(b"1"),
            files: vec![f("@src/a b.h", Some(stamp))],
        });
        m.add_front(IncludeSet {
            action_key: Digest::of(b"2"),
            files: vec![f("/usr/x.h", None)],
        });
        m.add_front(IncludeSet {
            action_key: Digest::of(b"1"),
            files: vec![],
        });
        assert_eq!(m.sets.len(), 2);
        assert_eq!(m.sets[0].action_key, Digest::of(b"1"));
        let text = m.encode();
        assert_eq!(Manifest::decode(text.as_bytes()), Ok(m));
        assert!(Manifest::decode(&text.as_bytes()[..20]).is_err());
    }

    /// Found by the `include_manifest` fuzz target: the unsigned stamp fields were read as
    /// `i64` and cast, so `-4096` decoded to a size that did not decode again, and a real
    /// inode number above `i64::MAX` made the whole manifest unreadable.
    #[test]
    fn unsigned_stamp_fields_round_trip() {
        let d = Digest::of(b"f");
        let k = Digest::of(b"k");
        let negative = seal(format!(
            "{MANIFEST_HEADER}\nset {k}\nf {d} 2049 1 -4096 1 -5 a.h\n"
        ));
        assert!(Manifest::decode(negative.as_bytes()).is_err());
        let m = Manifest {
            sets: vec![IncludeSet {
                action_key: k,
                files: vec![IncludeFile {
                    path: "a.h".into(),
                    digest: d,
                    stamp: Some(StatStamp {
                        dev: u64::MAX,
                        ino: u64::MAX - 1,
                        size: u64::MAX,
                        mtime_ns: i64::MIN,
                        ctime_ns: i64::MAX,
                    }),
                }],
            }],
        };
        assert_eq!(Manifest::decode(m.encode().as_bytes()), Ok(m));
    }

    /// Found by review of the `include_manifest` fuzz target (which then failed on it): lines
    /// were split with `str::lines`, which drops the `\r` of a `\r\n`, so a path ending in
    /// `\r` decoded as another path.
    #[test]
    fn paths_ending_in_carriage_return_round_trip() {
        let m = Manifest {
            sets: vec![IncludeSet {
                action_key: Digest::of(b"k"),
                files: vec![IncludeFile {
                    path: "a.h\r".into(),
                    digest: Digest::of(b"f"),
                    stamp: None,
                }],
            }],
        };
        assert_eq!(Manifest::decode(m.encode().as_bytes()), Ok(m));
    }
}
