//! What a generator left in an object directory about its project: the source root that CMake
//! (`CMakeCache.txt`) or Meson (`meson-info/meson-info.json`) was configured from. The launcher
//! asks this when it was given no source root (zero setup: `CMAKE_C_COMPILER_LAUNCHER=
//! cached-ninja`), so it runs in every compile process: it reads the one line or field it needs
//! and nothing else (no JSON or CMake cache parser). Measured on libgit2's 60 KB
//! `CMakeCache.txt`: about 20 µs, most of it the read.

use std::path::{Path, PathBuf};

/// The source root `objdir` was configured from by CMake or Meson, if either left its record.
pub fn source_root(objdir: &Path) -> Option<PathBuf> {
    cmake_source_root(objdir).or_else(|| meson_source_root(objdir))
}

/// `CMAKE_HOME_DIRECTORY` of `<objdir>/CMakeCache.txt` (the top-level source directory).
fn cmake_source_root(objdir: &Path) -> Option<PathBuf> {
    const KEY: &[u8] = b"\nCMAKE_HOME_DIRECTORY:INTERNAL=";
    let text = std::fs::read(objdir.join("CMakeCache.txt")).ok()?;
    let at = crate::scan::find(&text, KEY)? + KEY.len();
    let rest = &text[at..];
    let end = crate::scan::find_byte(rest, b'\n').unwrap_or(rest.len());
    let value = std::str::from_utf8(&rest[..end])
        .ok()?
        .trim_end_matches('\r');
    (!value.is_empty()).then(|| PathBuf::from(value))
}

/// `directories.source` of `<objdir>/meson-info/meson-info.json`.
fn meson_source_root(objdir: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(objdir.join("meson-info/meson-info.json")).ok()?;
    let dirs = &text[text.find("\"directories\"")?..];
    let after = &dirs[dirs.find("\"source\"")? + "\"source\"".len()..];
    let value = after.trim_start().strip_prefix(':')?.trim_start();
    json_string(value).map(PathBuf::from)
}

/// The JSON string at the start of `s` (`"…"` with its escapes), decoded.
fn json_string(s: &str) -> Option<String> {
    let mut chars = s.strip_prefix('"')?.chars();
    let mut out = String::new();
    loop {
        match chars.next()? {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                '"' => out.push('"'),
                '\\' => out.push('\\'),
                '/' => out.push('/'),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                _ => return None,
            },
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmake_cache_line() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("CMakeCache.txt"),
            "# This is the CMakeCache file.\n//Source directory\nCMAKE_HOME_DIRECTORY:INTERNAL=/w/my src\nOTHER:STRING=x\n",
        )
        .unwrap();
        assert_eq!(source_root(d.path()), Some(PathBuf::from("/w/my src")));
    }

    #[test]
    fn meson_info_field() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("meson-info")).unwrap();
        std::fs::write(
            d.path().join("meson-info/meson-info.json"),
            r#"{"meson_version": {"full": "1.0.1"}, "directories": {"source": "/w/a \"q\"\u00e9", "build": "/w/b"}}"#,
        )
        .unwrap();
        assert_eq!(source_root(d.path()), Some(PathBuf::from("/w/a \"q\"é")));
    }

    #[test]
    fn nothing_recorded() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(source_root(d.path()), None);
        std::fs::write(d.path().join("CMakeCache.txt"), "garbage").unwrap();
        assert_eq!(source_root(d.path()), None);
    }
}
