//! Which process wrote something, and whether it still runs: a pid with its start time
//! (`/proc/<pid>/stat` field 22, clock ticks since boot), so a pid the kernel reused for
//! another process is not taken for the writer.

use std::sync::OnceLock;

/// A process by pid and start time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Writer {
    /// Its pid.
    pub pid: u32,
    /// When it started (clock ticks since boot).
    pub start: u64,
}

impl Writer {
    /// This process (its start time read once; 0 when `/proc` cannot tell).
    pub fn this() -> Writer {
        static THIS: OnceLock<Writer> = OnceLock::new();
        *THIS.get_or_init(|| {
            let pid = std::process::id();
            Writer {
                pid,
                start: start_time(pid).unwrap_or(0),
            }
        })
    }

    /// `<pid>-<start>`: how temporary names and records name their writer.
    pub fn name(&self) -> String {
        format!("{}-{}", self.pid, self.start)
    }

    /// The writer a [`Writer::name`] names; `None` for anything else.
    pub fn from_name(name: &str) -> Option<Writer> {
        let (pid, start) = name.split_once('-')?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(pid) || !digits(start) {
            return None;
        }
        Some(Writer {
            pid: pid.parse().ok()?,
            start: start.parse().ok()?,
        })
    }

    /// Whether the process is certainly gone: its pid is free or held by a process that
    /// started at another time. `false` when it cannot tell (no start time recorded, no
    /// `/proc`).
    pub fn is_gone(&self) -> bool {
        if self.start == 0 || start_time(std::process::id()).is_none() {
            return false;
        }
        match state_and_start(self.pid) {
            None => true,
            // A zombie (dead, not yet reaped) writes nothing more: gone too.
            Some((state, start)) => {
                matches!(state.as_str(), "Z" | "X") || start != Some(self.start)
            }
        }
    }
}

/// When process `pid` started (clock ticks since boot, `/proc/<pid>/stat` field 22).
pub fn start_time(pid: u32) -> Option<u64> {
    state_and_start(pid)?.1
}

/// Process `pid`'s state (`/proc/<pid>/stat` field 3: `R`, `S`, `Z`, …) and start time
/// (field 22, `None` when unreadable); `None` when there is no such process.
fn state_and_start(pid: u32) -> Option<(String, Option<u64>)> {
    let (_, rest) = stat(pid)?;
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.to_string();
    Some((state, fields.nth(18).and_then(|s| s.parse().ok())))
}

/// Process `pid`'s command name and parent's pid (`/proc/<pid>/stat` fields 2 and 4).
pub fn name_and_parent(pid: u32) -> Option<(String, u32)> {
    let (name, rest) = stat(pid)?;
    Some((name, rest.split_whitespace().nth(1)?.parse().ok()?))
}

/// `/proc/<pid>/stat` as the command name (field 2) and the fields after it.
fn stat(pid: u32) -> Option<(String, String)> {
    // A `/proc` file states no size: room for all of it (about 300 bytes) from the first
    // read, where a read into an empty buffer grows it six times.
    let mut f = std::fs::File::open(format!("/proc/{pid}/stat")).ok()?;
    let stat = String::from_utf8(crate::cache::read_whole(&mut f, 1023).ok()?).ok()?;
    // The name is in parentheses and may hold blanks and parentheses: it ends at the last `)`.
    let (open, close) = (stat.find('(')?, stat.rfind(')')?);
    let name = stat.get(open + 1..close)?.to_string();
    Some((name, stat.get(close + 1..)?.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_lives_and_a_reaped_child_is_gone() {
        let me = Writer::this();
        assert!(me.start > 0);
        let (_, parent) = name_and_parent(me.pid).unwrap();
        assert_eq!(parent, std::os::unix::process::parent_id());
        assert!(!me.is_gone());
        assert!(
            Writer {
                start: me.start + 1,
                ..me
            }
            .is_gone(),
            "another start time"
        );
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(Writer {
            pid,
            start: me.start
        }
        .is_gone());
        assert!(
            !Writer { pid, start: 0 }.is_gone(),
            "no start time: cannot tell"
        );
    }

    #[test]
    fn a_zombie_is_gone() {
        let child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        let start = start_time(pid).unwrap();
        // Not waited for: once it exits it stays a zombie until the end of this test.
        let zombie = || stat(pid).is_some_and(|(_, r)| r.trim_start().starts_with('Z'));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !zombie() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(zombie());
        assert!(Writer { pid, start }.is_gone());
        drop(child);
    }

    #[test]
    fn names_round_trip() {
        let me = Writer::this();
        assert_eq!(Writer::from_name(&me.name()), Some(me));
        for bad in ["", "12", "12-", "-3", "1-2.3", "a-1", "1-2-3"] {
            assert_eq!(Writer::from_name(bad), None, "{bad}");
        }
    }
}
