//! The text form of build manifests: the parser of untrusted bytes, the serialiser, and the
//! record checks both apply (so nothing is written that would not be read back).

use super::reader::Reader;
use super::table::{write_ranges, Interner};
use super::{
    BuildManifest, EdgeRecord, IncludeHash, Limits, ParseError, Reason, BUILD_MANIFEST_HEADER,
    BUILD_MANIFEST_VERSION, HEADER_PREFIX,
};
use crate::cache::{Digest, Output, Role};
use std::fmt::Write;

impl BuildManifest {
    /// Parses untrusted bytes with the default [`Limits`].
    pub fn parse(bytes: &[u8]) -> Result<BuildManifest, ParseError> {
        BuildManifest::parse_with(bytes, &Limits::default())
    }

    /// Parses untrusted bytes, enforcing `limits`.
    pub fn parse_with(bytes: &[u8], limits: &Limits) -> Result<BuildManifest, ParseError> {
        let err = |record, line, reason| ParseError {
            record,
            line,
            reason,
        };
        let text = std::str::from_utf8(bytes).map_err(|_| err(None, 0, Reason::NotUtf8))?;
        if !text.is_empty() && !text.ends_with('\n') {
            let last = text.split_terminator('\n').count();
            return Err(err(None, last, Reason::Unterminated));
        }
        let mut lines = text
            .split_terminator('\n')
            .enumerate()
            .map(|(i, l)| (i + 1, l));
        header(lines.next().map_or("", |(_, l)| l)).map_err(|r| err(None, 1, r))?;
        let mut reader = Reader::new(limits);
        let mut ended = false;
        for (n, line) in lines.by_ref() {
            if reader.line(n, line)? {
                ended = true;
                break;
            }
        }
        if !ended {
            return Err(err(None, 0, Reason::MissingEnd));
        }
        if let Some((n, _)) = lines.next() {
            return Err(err(None, n, Reason::DataAfterEnd));
        }
        let records = reader.records;
        Ok(BuildManifest { records })
    }

    /// Serialises the manifest; fails on a record that [`BuildManifest::parse`] would reject.
    pub fn to_bytes(&self) -> Result<Vec<u8>, ParseError> {
        let limits = Limits::default();
        let err = |i, reason| ParseError {
            record: Some(i),
            line: 0,
            reason,
        };
        if self.records.len() > limits.max_records {
            let r = Reason::TooManyRecords(limits.max_records);
            return Err(err(limits.max_records, r));
        }
        let mut table = Interner::default();
        let mut lists = Vec::with_capacity(self.records.len());
        for (i, r) in self.records.iter().enumerate() {
            check_record(r, &limits).map_err(|reason| err(i, reason))?;
            lists.push(table.indices(&r.includes));
        }
        if table.headers.len() > limits.max_headers {
            let r = Reason::TooManyHeaders(limits.max_headers);
            return Err(err(self.records.len(), r));
        }
        let mut s = String::new();
        let _ = writeln!(s, "{BUILD_MANIFEST_HEADER}");
        for h in &table.headers {
            let _ = writeln!(s, "hdr {} {}", h.digest, h.path);
        }
        for (r, list) in self.records.iter().zip(&lists) {
            let (src, act) = (r.source_key, r.action_key);
            let _ = writeln!(s, "edge {src} {act} {} {}", r.cpu_us, r.wall_us);
            for o in &r.outputs {
                let _ = writeln!(s, "out {} {} {} {}", o.role as u8, o.digest, o.size, o.path);
            }
            for (stream, log) in [(1, r.stdout), (2, r.stderr)] {
                if let Some((d, size)) = log {
                    let _ = writeln!(s, "log {stream} {d} {size}");
                }
            }
            if !list.is_empty() {
                s.push_str("inc ");
                write_ranges(&mut s, list);
                s.push('\n');
            }
        }
        let _ = writeln!(s, "end {}", self.records.len());
        Ok(s.into_bytes())
    }
}

/// Checks the first line: `cached-ninja build <version>` of the version this code reads.
fn header(line: &str) -> Result<(), Reason> {
    let v = line.strip_prefix(HEADER_PREFIX).ok_or(Reason::BadHeader)?;
    let found = number(v, "version").map_err(|_| Reason::BadHeader)?;
    if found != BUILD_MANIFEST_VERSION {
        return Err(Reason::UnsupportedVersion {
            found,
            supported: BUILD_MANIFEST_VERSION,
        });
    }
    Ok(())
}

/// The checks [`BuildManifest::parse`] applies to one record, for records built in memory.
pub(super) fn check_record(r: &EdgeRecord, limits: &Limits) -> Result<(), Reason> {
    check_times(r.cpu_us, r.wall_us, limits)?;
    for (_, size) in r.stdout.iter().chain(&r.stderr) {
        cap("captured output size", *size, MAX_CAPTURED_OUTPUT)?;
    }
    if r.outputs.is_empty() {
        return Err(Reason::NoOutputs);
    }
    if r.outputs.len() > limits.max_outputs {
        return Err(Reason::TooManyOutputs(limits.max_outputs));
    }
    for (i, o) in r.outputs.iter().enumerate() {
        check_output(o, limits)?;
        check_new_output(&r.outputs[..i], o)?;
    }
    if r.includes.len() > limits.max_includes {
        return Err(Reason::TooManyIncludes(limits.max_includes));
    }
    for inc in &r.includes {
        check_path(&inc.path, "include path", true, limits)?;
    }
    Ok(())
}

/// One output on its own: its path stays inside the object root, its size is capped.
fn check_output(o: &Output, limits: &Limits) -> Result<(), Reason> {
    check_path(&o.path, "output path", false, limits)?;
    if o.size > limits.max_object_size {
        return Err(Reason::OutputTooLarge {
            path: cut(&o.path, 200),
            size: o.size,
            cap: limits.max_object_size,
        });
    }
    Ok(())
}

/// An output beside the record's `earlier` ones: a new path, and a total that fits a `u64`.
pub(super) fn check_new_output(earlier: &[Output], o: &Output) -> Result<(), Reason> {
    if earlier.iter().any(|e| e.path == o.path) {
        return Err(Reason::DuplicateOutput(cut(&o.path, 200)));
    }
    earlier
        .iter()
        .try_fold(o.size, |a, e| a.checked_add(e.size))
        .ok_or(Reason::SizeOverflow)?;
    Ok(())
}

/// Largest captured stdout or stderr of a compile a record may name.
pub const MAX_CAPTURED_OUTPUT: u64 = 64 << 20;

/// The compile's CPU and wall times, each at most [`Limits::max_compile_ms`].
fn check_times(cpu_us: u64, wall_us: u64, limits: &Limits) -> Result<(), Reason> {
    let max_us = limits.max_compile_ms.saturating_mul(1000);
    cap("CPU time (µs)", cpu_us, max_us)?;
    cap("compile time (µs)", wall_us, max_us)
}

pub(super) fn parse_edge(rest: &str, limits: &Limits) -> Result<EdgeRecord, Reason> {
    let mut f = rest.splitn(4, ' ');
    let mut field = |name| f.next().ok_or(Reason::MissingField(name));
    let source_key = digest(field("source key")?, "source key")?;
    let action_key = digest(field("action key")?, "action key")?;
    let cpu_us = number(field("CPU time (µs)")?, "CPU time (µs)")?;
    let wall_us = number(field("compile time (µs)")?, "compile time (µs)")?;
    check_times(cpu_us, wall_us, limits)?;
    Ok(EdgeRecord {
        source_key,
        action_key,
        outputs: Vec::new(),
        includes: Vec::new(),
        stdout: None,
        stderr: None,
        cpu_us,
        wall_us,
    })
}

/// A `log <stream> <digest> <size>` line into `rec`'s stdout or stderr.
pub(super) fn parse_log(rest: &str, rec: &mut EdgeRecord) -> Result<(), Reason> {
    let mut f = rest.splitn(3, ' ');
    let mut field = |name| f.next().ok_or(Reason::MissingField(name));
    let s = field("captured stream")?;
    let (slot, what) = match s {
        "1" => (&mut rec.stdout, "captured stdout"),
        "2" => (&mut rec.stderr, "captured stderr"),
        _ => return Err(Reason::BadStream(s.chars().take(20).collect())),
    };
    let d = digest(field("captured output digest")?, "captured output digest")?;
    let size = number(field("captured output size")?, "captured output size")?;
    cap("captured output size", size, MAX_CAPTURED_OUTPUT)?;
    if slot.replace((d, size)).is_some() {
        return Err(Reason::Repeated(what));
    }
    Ok(())
}

pub(super) fn parse_output(rest: &str, limits: &Limits) -> Result<Output, Reason> {
    let mut f = rest.splitn(4, ' ');
    let mut field = |name| f.next().ok_or(Reason::MissingField(name));
    let r = field("output role")?;
    let role = number(r, "output role")
        .ok()
        .and_then(|n| u8::try_from(n).ok())
        .and_then(Role::from_number)
        .ok_or_else(|| Reason::BadRole(r.chars().take(20).collect()))?;
    let digest = digest(field("output digest")?, "output digest")?;
    let size = number(field("output size")?, "output size")?;
    let path = field("output path")?.to_string();
    let o = Output {
        role,
        path,
        digest,
        size,
    };
    check_output(&o, limits)?;
    Ok(o)
}

pub(super) fn parse_include(rest: &str, limits: &Limits) -> Result<IncludeHash, Reason> {
    let (d, path) = rest
        .split_once(' ')
        .ok_or(Reason::MissingField("include path"))?;
    let digest = digest(d, "include digest")?;
    check_path(path, "include path", true, limits)?;
    Ok(IncludeHash {
        path: path.to_string(),
        digest,
    })
}

fn digest(s: &str, what: &'static str) -> Result<Digest, Reason> {
    // Lowercase only: one spelling per digest, as the cache writes them.
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(Reason::BadDigest(what));
    }
    Digest::from_hex(s).ok_or(Reason::BadDigest(what))
}

pub(super) fn number(s: &str, what: &'static str) -> Result<u64, Reason> {
    // Digits only: `u64::from_str` would also take a leading `+`.
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Reason::BadNumber(what));
    }
    s.parse().map_err(|_| Reason::BadNumber(what))
}

fn cap(field: &'static str, value: u64, cap: u64) -> Result<(), Reason> {
    if value > cap {
        return Err(Reason::TooLarge { field, value, cap });
    }
    Ok(())
}

/// Checks an output path from untrusted data: relative, normalised, inside the object root.
pub fn check_output_path(path: &str) -> Result<(), Reason> {
    check_path(path, "output path", false, &Limits::default())
}

/// Checks `path` from untrusted data. An output path (`include` false) is written: it must be
/// relative and normalised, so it stays inside the object root. An include path is only read,
/// hashed and compared, as the compiler spelt it: it may be absolute and may hold `.` and `..`
/// components (clang's `/usr/bin/../lib/gcc/…/include/c++/12/vector`, a header's
/// `#include "../hb.hh"`, `-I…/zlib/.`), which reach no file an absolute path could not.
fn check_path(
    path: &str,
    what: &'static str,
    include: bool,
    limits: &Limits,
) -> Result<(), Reason> {
    let bad = |why| Reason::BadPath {
        what,
        path: cut(path, 200),
        why,
    };
    if path.is_empty() {
        return Err(bad("is empty"));
    }
    if path.len() > limits.max_path_len {
        return Err(bad("is too long"));
    }
    if path.contains('\0') {
        return Err(bad("contains a NUL byte"));
    }
    if path.contains('\n') || path.contains('\r') {
        return Err(bad("contains a line break"));
    }
    let rel = match path.strip_prefix('/') {
        Some(_) if !include => return Err(bad("is absolute")),
        Some(r) => r,
        None => path,
    };
    for c in rel.split('/') {
        match c {
            ".." if !include => return Err(bad("has a `..` component")),
            "." if !include => return Err(bad("has a `.` component")),
            "" => return Err(bad("has an empty component")),
            _ => {}
        }
    }
    Ok(())
}

fn cut(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}
