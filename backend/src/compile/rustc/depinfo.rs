//! rustc's dep-info: the files a compile read and the variables it read through `env!`.

/// What rustc's dep-info file says: the source files read, in order, and the environment
/// variables read through `env!`/`option_env!` (`# env-dep:NAME[=VALUE]` lines; no value when
/// the variable was unset).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DepInfo {
    /// Files the compile read (the crate root first), as rustc wrote them.
    pub files: Vec<String>,
    /// Environment variables read, with their values (`None`: unset).
    pub env: Vec<(String, Option<String>)>,
}

/// Parses rustc's dep-info: the `path:` lines with no dependencies name each file read once
/// (rustc writes one per input after the rules); `# env-dep:` lines name variables.
pub fn parse_dep_info(text: &str) -> DepInfo {
    let mut d = DepInfo::default();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# env-dep:") {
            let (k, v) = match rest.split_once('=') {
                Some((k, v)) => (k, Some(unescape_env(v))),
                None => (rest, None),
            };
            d.env.push((k.to_string(), v));
        } else if let Some(path) = line.strip_suffix(':') {
            if !path.is_empty() && !path.starts_with('#') {
                let p = path.replace("\\ ", " ");
                if !d.files.contains(&p) {
                    d.files.push(p);
                }
            }
        }
    }
    d
}

/// rustc escapes `\` and newlines in env-dep values (`\\`, `\n`).
fn unescape_env(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some(o) => out.push(o),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dep_info_files_and_env() {
        let d = parse_dep_info(
            "/o/x.d: lib.rs data.txt\n\n/o/libx.rlib: lib.rs data.txt\n\nlib.rs:\ndata.txt:\n\n\
             # env-dep:FOO_X=a\\\\b\n# env-dep:UNSET\n",
        );
        assert_eq!(d.files, ["lib.rs", "data.txt"]);
        assert_eq!(
            d.env,
            vec![
                ("FOO_X".to_string(), Some("a\\b".to_string())),
                ("UNSET".to_string(), None)
            ]
        );
    }
}
