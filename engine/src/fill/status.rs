//! The fill's record of each linked binary (`<objdir>/.cached-ninja/fill-status`, owned by
//! `fetch::objdir::ObjDir`): what was filled, for which binary file, and what is missing.
//!
//! Text, one block per binary, paths last on their line, written whole with the one atomic
//! write after each binary (a killed fill leaves the previous record, never a torn one):
//!
//! ```text
//! cached-ninja fill-status 1
//! binary <state> <layout> <debugger> <units> <filled> <bytes> <fetched> <mtime ns> <size> <inode> <path>
//! missing <dwo id> <dwo name>\t<reason>
//! error <text>
//! ```

use super::{Debugger, Layout};
use std::fmt::Write;
use std::io;
use std::path::Path;

/// First line of the status file; a new layout gets a new number.
const HEADER: &str = "cached-ninja fill-status 1";

/// Where the fill stands for one binary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FillState {
    /// Not filled yet for the binary as it is now.
    Pending,
    /// Every skeleton unit has its split unit beside the binary.
    Filled,
    /// Some units are filled, the others are listed as missing.
    Partial,
    /// Nothing could be filled (see the error or the missing units).
    Failed,
    /// The binary has no split-DWARF units: its debug info is in the binary itself.
    NoSplitDwarf,
}

impl FillState {
    /// The word stored in the file and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            FillState::Pending => "pending",
            FillState::Filled => "filled",
            FillState::Partial => "partial",
            FillState::Failed => "failed",
            FillState::NoSplitDwarf => "no-split-dwarf",
        }
    }

    fn parse(s: &str) -> Option<FillState> {
        Some(match s {
            "pending" => FillState::Pending,
            "filled" => FillState::Filled,
            "partial" => FillState::Partial,
            "failed" => FillState::Failed,
            "no-split-dwarf" => FillState::NoSplitDwarf,
            _ => return None,
        })
    }

    /// Whether this state is final for the binary file it was recorded for.
    pub fn is_done(self) -> bool {
        self != FillState::Pending
    }
}

/// A binary file's identity: it was relinked when any of these changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stamp {
    /// Modification time, nanoseconds since the epoch.
    pub mtime_ns: i128,
    /// Size in bytes.
    pub size: u64,
    /// Inode number (a link writes a new file).
    pub inode: u64,
}

impl Stamp {
    /// The stamp of the file at `path`.
    pub fn of(path: &Path) -> io::Result<Stamp> {
        use std::os::unix::fs::MetadataExt;
        let md = std::fs::metadata(path)?;
        Ok(Stamp {
            mtime_ns: md.mtime() as i128 * 1_000_000_000 + md.mtime_nsec() as i128,
            size: md.size(),
            inode: md.ino(),
        })
    }
}

/// A skeleton unit of a binary whose split unit could not be filled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MissingUnit {
    /// Its `dwo_id`, 16 hex digits.
    pub dwo_id: String,
    /// Its `DW_AT_dwo_name`.
    pub name: String,
    /// Why (the debug part's sources that were tried).
    pub reason: String,
}

/// The record of one binary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BinaryStatus {
    /// The binary, relative to the object directory.
    pub binary: String,
    /// Where the fill stands.
    pub state: FillState,
    /// The debug layout written beside it, if any.
    pub layout: Option<Layout>,
    /// The debugger the layout was chosen for.
    pub debugger: Debugger,
    /// Skeleton units of the binary.
    pub units: u32,
    /// Units whose split unit is beside the binary (verified).
    pub filled: u32,
    /// Bytes of debug parts read for it.
    pub bytes: u64,
    /// Of those, bytes downloaded from remote stores.
    pub fetched: u64,
    /// The binary file the record is about.
    pub stamp: Stamp,
    /// Units that could not be filled.
    pub missing: Vec<MissingUnit>,
    /// A failure of the whole binary, if any.
    pub error: Option<String>,
}

impl BinaryStatus {
    /// A pending record for `binary`.
    pub fn pending(binary: &str) -> BinaryStatus {
        BinaryStatus {
            binary: binary.to_string(),
            state: FillState::Pending,
            layout: None,
            debugger: Debugger::Gdb,
            units: 0,
            filled: 0,
            bytes: 0,
            fetched: 0,
            stamp: Stamp::default(),
            missing: Vec::new(),
            error: None,
        }
    }
}

/// Encodes the records.
pub fn encode(records: &[BinaryStatus]) -> String {
    let mut s = format!("{HEADER}\n");
    for r in records {
        let layout = r.layout.map_or("none", Layout::as_str);
        let _ = writeln!(
            s,
            "binary {} {layout} {} {} {} {} {} {} {} {} {}",
            r.state.as_str(),
            r.debugger.as_str(),
            r.units,
            r.filled,
            r.bytes,
            r.fetched,
            r.stamp.mtime_ns,
            r.stamp.size,
            r.stamp.inode,
            one_line(&r.binary)
        );
        for m in &r.missing {
            let _ = writeln!(
                s,
                "missing {} {}\t{}",
                m.dwo_id,
                one_line(&m.name).replace('\t', " "),
                one_line(&m.reason)
            );
        }
        if let Some(e) = &r.error {
            let _ = writeln!(s, "error {}", one_line(e));
        }
    }
    s
}

fn one_line(s: &str) -> String {
    s.replace('\n', " ")
}

/// Decodes a status file's text; the error names the bad line.
pub fn decode(text: &str) -> Result<Vec<BinaryStatus>, String> {
    let mut lines = text.lines();
    if lines.next() != Some(HEADER) {
        return Err("unknown header".into());
    }
    let mut out: Vec<BinaryStatus> = Vec::new();
    for line in lines {
        let bad = || format!("bad line {line:?}");
        let (tag, rest) = line.split_once(' ').ok_or_else(bad)?;
        match tag {
            "binary" => out.push(binary_line(rest).ok_or_else(bad)?),
            "missing" => {
                let (id, rest) = rest.split_once(' ').ok_or_else(bad)?;
                let (name, reason) = rest.split_once('\t').ok_or_else(bad)?;
                let last = out.last_mut().ok_or_else(bad)?;
                last.missing.push(MissingUnit {
                    dwo_id: id.to_string(),
                    name: name.to_string(),
                    reason: reason.to_string(),
                });
            }
            "error" => out.last_mut().ok_or_else(bad)?.error = Some(rest.to_string()),
            _ => return Err(bad()),
        }
    }
    Ok(out)
}

fn binary_line(rest: &str) -> Option<BinaryStatus> {
    let mut f = rest.splitn(11, ' ');
    let state = FillState::parse(f.next()?)?;
    let layout = match f.next()? {
        "none" => None,
        l => Some(Layout::parse(l)?),
    };
    let debugger = Debugger::parse(f.next()?)?;
    let units = f.next()?.parse().ok()?;
    let filled = f.next()?.parse().ok()?;
    let bytes = f.next()?.parse().ok()?;
    let fetched = f.next()?.parse().ok()?;
    let stamp = Stamp {
        mtime_ns: f.next()?.parse().ok()?,
        size: f.next()?.parse().ok()?,
        inode: f.next()?.parse().ok()?,
    };
    Some(BinaryStatus {
        binary: f.next()?.to_string(),
        state,
        layout,
        debugger,
        units,
        filled,
        bytes,
        fetched,
        stamp,
        missing: Vec::new(),
        error: None,
    })
}

/// Reads the status file at `path`; absent is empty.
pub fn read(path: &Path) -> io::Result<Vec<BinaryStatus>> {
    match std::fs::read_to_string(path) {
        Ok(t) => decode(&t).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {e}; remove it and fill again", path.display()),
            )
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// Replaces the status file at `path` with `records`, atomically (its directory must exist).
pub fn write(path: &Path, records: &[BinaryStatus]) -> io::Result<()> {
    fetch::cache::write_atomic(path, encode(records).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut a = BinaryStatus::pending("bin/a b");
        a.state = FillState::Partial;
        a.layout = Some(Layout::Package);
        a.debugger = Debugger::Lldb;
        a.units = 3;
        a.filled = 2;
        a.bytes = 1234;
        a.fetched = 1000;
        a.stamp = Stamp {
            mtime_ns: 1_700_000_000_123_456_789,
            size: 99,
            inode: 7,
        };
        a.missing.push(MissingUnit {
            dwo_id: "00000000000000ab".into(),
            name: "CMakeFiles/x.dir/b.c.dwo".into(),
            reason: "not in the cache; no file".into(),
        });
        let mut b = BinaryStatus::pending("lib.so");
        b.error = Some("cannot read lib.so".into());
        let text = encode(&[a.clone(), b.clone()]);
        assert_eq!(decode(&text).unwrap(), vec![a, b]);
        assert!(decode("cached-ninja fill-status 2\n").is_err());
        assert!(decode(&format!("{HEADER}\nmissing x y\tz\n")).is_err());
    }
}
