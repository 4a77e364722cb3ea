//! Action entries (`ac/<action key>`): what one compile produced (DESIGN §4).
//!
//! Text, one record per line, paths last on their line (so they may hold blanks; a path with a
//! newline is never stored), sealed by a checksum line:
//!
//! ```text
//! cached-ninja action 1
//! source <source key>
//! time <cpu µs> <wall µs>
//! stdout <digest> <size>            (only when non-empty)
//! stderr <digest> <size>            (only when non-empty)
//! out <role> <digest> <size> <path relative to the object root>
//! inc <digest> <normalised path>
//! end <checksum>
//! ```

use super::seal::{seal, unseal_checked};
use super::Digest;
use std::fmt::Write;

/// First line of every action entry. Must never change; a new layout gets a new number.
pub const ACTION_ENTRY_HEADER: &str = "cached-ninja action 1";

/// The role of an output in an action entry. The numbers are stored: they must never change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Role {
    /// The object file (`-o`).
    Object = 1,
    /// A split-DWARF `.dwo` file.
    Dwo = 2,
    /// A Rust library (`.rlib`).
    Rlib = 3,
    /// Rust metadata (`.rmeta`).
    Rmeta = 4,
    /// A dependency-info file.
    DepInfo = 5,
    /// A stripped object (split DWARF, DESIGN §6).
    StrippedObject = 6,
    /// A debug bundle (split DWARF, DESIGN §6).
    DebugBundle = 7,
    /// A linked executable (a Rust `bin` crate).
    Executable = 8,
    /// A shared library (a Rust `cdylib`, `dylib` or `proc-macro` crate).
    SharedLibrary = 9,
    /// A static library (a Rust `staticlib` crate).
    StaticLibrary = 10,
    /// Split debug info rustc writes beside its artifacts (a codegen unit's `.dwo` of
    /// `-C split-debuginfo=unpacked`, an artifact's `.dwp` of `packed`): unlike C's debug
    /// parts, pulled and served with the artifacts (the debug-info fill does not make them).
    RustSplitDebug = 11,
}

impl Role {
    /// Whether this is what the linker needs: the object, stripped or not.
    pub fn is_object(self) -> bool {
        matches!(self, Role::Object | Role::StrippedObject)
    }

    /// Whether this is debug information split out of an object (`.dwo`, debug bundle).
    pub fn is_debug(self) -> bool {
        matches!(self, Role::Dwo | Role::DebugBundle)
    }

    /// Whether the file is run or loaded as code (an executable, a shared library): it is
    /// materialised executable.
    pub fn is_executable(self) -> bool {
        matches!(self, Role::Executable | Role::SharedLibrary)
    }

    /// The role with this stored number.
    pub fn from_number(n: u8) -> Option<Role> {
        Some(match n {
            1 => Role::Object,
            2 => Role::Dwo,
            3 => Role::Rlib,
            4 => Role::Rmeta,
            5 => Role::DepInfo,
            6 => Role::StrippedObject,
            7 => Role::DebugBundle,
            8 => Role::Executable,
            9 => Role::SharedLibrary,
            10 => Role::StaticLibrary,
            11 => Role::RustSplitDebug,
            _ => return None,
        })
    }
}

/// One output file of a compile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output {
    /// What it is.
    pub role: Role,
    /// Path relative to the object root.
    pub path: String,
    /// Digest of its bytes (its blob's name).
    pub digest: Digest,
    /// Its size.
    pub size: u64,
}

/// What one compile produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ActionEntry {
    /// The source key the action key was derived from.
    pub source_key: Digest,
    /// Output files.
    pub outputs: Vec<Output>,
    /// The normalised include list with content digests, in order.
    pub includes: Vec<(String, Digest)>,
    /// Captured stdout, if not empty (blob digest, size).
    pub stdout: Option<(Digest, u64)>,
    /// Captured stderr, if not empty (blob digest, size).
    pub stderr: Option<(Digest, u64)>,
    /// CPU time of the compile, µs (user + system of the compiler processes).
    pub cpu_us: u64,
    /// Wall time of the compile, µs.
    pub wall_us: u64,
}

impl ActionEntry {
    /// The sealed text form.
    pub fn encode(&self) -> String {
        let mut s = String::with_capacity(256 + self.includes.len() * 100);
        s.push_str(ACTION_ENTRY_HEADER);
        s.push('\n');
        let _ = writeln!(s, "source {}", self.source_key);
        let _ = writeln!(s, "time {} {}", self.cpu_us, self.wall_us);
        if let Some((d, n)) = &self.stdout {
            let _ = writeln!(s, "stdout {d} {n}");
        }
        if let Some((d, n)) = &self.stderr {
            let _ = writeln!(s, "stderr {d} {n}");
        }
        for o in &self.outputs {
            let _ = writeln!(s, "out {} {} {} {}", o.role as u8, o.digest, o.size, o.path);
        }
        for (p, d) in &self.includes {
            let _ = writeln!(s, "inc {d} {p}");
        }
        seal(s)
    }

    /// Parses and verifies the text form; the error says what is wrong.
    pub fn decode(bytes: &[u8]) -> Result<ActionEntry, String> {
        Self::decode_checked(bytes, false)
    }

    /// [`Self::decode`] of a local cache file whose check value matched its bytes or not
    /// (`checked`: its checksum line is then not hashed again, `super::check`).
    pub(crate) fn decode_checked(bytes: &[u8], checked: bool) -> Result<ActionEntry, String> {
        let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8".to_string())?;
        let body = unseal_checked(text, checked)
            .ok_or("checksum missing or wrong (truncated or altered)")?;
        // Split on `\n` only: `str::lines` also drops a `\r` before it, which changed a path
        // ending in `\r` (a legal file name) into another path.
        let mut lines = super::seal::lines(body);
        if lines.next() != Some(ACTION_ENTRY_HEADER) {
            return Err("unknown header".into());
        }
        let mut e = ActionEntry::default();
        let bad = |l: &str| format!("bad line {l:?}");
        for line in lines {
            // Most lines are includes: a 64-digit digest, a blank, the path.
            if let Some(rest) = line.strip_prefix("inc ") {
                let (d, p) = (rest.get(..64), rest.get(65..));
                match (d.and_then(Digest::from_hex), p) {
                    (Some(d), Some(p)) if rest.as_bytes()[64] == b' ' => {
                        e.includes.push((p.to_string(), d));
                        continue;
                    }
                    _ => return Err(bad(line)),
                }
            }
            let (tag, rest) = line.split_once(' ').ok_or_else(|| bad(line))?;
            match tag {
                "source" => e.source_key = Digest::from_hex(rest).ok_or_else(|| bad(line))?,
                "time" => {
                    let (c, w) = rest.split_once(' ').ok_or_else(|| bad(line))?;
                    e.cpu_us = c.parse().map_err(|_| bad(line))?;
                    e.wall_us = w.parse().map_err(|_| bad(line))?;
                }
                "stdout" | "stderr" => {
                    let (d, n) = rest.split_once(' ').ok_or_else(|| bad(line))?;
                    let v = Some((
                        Digest::from_hex(d).ok_or_else(|| bad(line))?,
                        n.parse().map_err(|_| bad(line))?,
                    ));
                    if tag == "stdout" {
                        e.stdout = v;
                    } else {
                        e.stderr = v;
                    }
                }
                "out" => {
                    let mut f = rest.splitn(4, ' ');
                    let role = f
                        .next()
                        .and_then(|r| r.parse().ok())
                        .and_then(Role::from_number);
                    let digest = f.next().and_then(Digest::from_hex);
                    let size = f.next().and_then(|n| n.parse().ok());
                    let path = f.next().filter(|p| !p.is_empty());
                    match (role, digest, size, path) {
                        (Some(role), Some(digest), Some(size), Some(path)) => {
                            e.outputs.push(Output {
                                role,
                                path: path.to_string(),
                                digest,
                                size,
                            })
                        }
                        _ => return Err(bad(line)),
                    }
                }
                _ => return Err(bad(line)),
            }
        }
        Ok(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_corruption() {
        let e = ActionEntry {
            source_key: Digest::of(b"k"),
            outputs: vec![
                Output {
                    role: Role::Object,
                    path: "obj/a b.o".into(),
                    digest: Digest::of(b"o"),
                    size: 1,
                },
                Output {
                    role: Role::Dwo,
                    path: "obj/a b.dwo".into(),
                    digest: Digest::of(b"d"),
                    size: 2,
                },
            ],
            includes: vec![("@src/a.h".into(), Digest::of(b"h"))],
            stdout: None,
            stderr: Some((Digest::of(b"w"), 1)),
            cpu_us: 7,
            wall_us: 9,
        };
        let text = e.encode();
        assert_eq!(ActionEntry::decode(text.as_bytes()), Ok(e));
        assert!(ActionEntry::decode(&text.as_bytes()[..text.len() - 10]).is_err());
        assert!(ActionEntry::decode(b"").is_err());
        assert!(ActionEntry::decode(&[0xff, 0xfe]).is_err());
    }

    /// Found by review of the `action_entry` fuzz target (which then failed on it): lines were
    /// split with `str::lines`, which drops the `\r` of a `\r\n`, so a path ending in `\r`
    /// decoded as another path.
    #[test]
    fn paths_ending_in_carriage_return_round_trip() {
        let e = ActionEntry {
            outputs: vec![Output {
                role: Role::Object,
                path: "obj/a.o\r".into(),
                digest: Digest::of(b"o"),
                size: 1,
            }],
            includes: vec![("a.h\r".into(), Digest::of(b"h"))],
            ..ActionEntry::default()
        };
        assert_eq!(ActionEntry::decode(e.encode().as_bytes()), Ok(e));
        let crlf = seal(format!("{ACTION_ENTRY_HEADER}\r\n"));
        assert!(ActionEntry::decode(crlf.as_bytes()).is_err());
    }
}
