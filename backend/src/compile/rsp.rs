//! `@response` files: arguments read from a file, split like gcc's `buildargv` (libiberty).
//!
//! Whitespace separates words; single and double quotes group; a backslash escapes the next
//! character anywhere. Response files may name further response files; nesting is capped.

use std::path::Path;

/// How deep `@file` may nest before expansion gives up (gcc stops at 2000 files in total).
const MAX_DEPTH: usize = 16;

/// Splits the text of a response file into words.
pub fn split(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (_, '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                in_word = true;
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

/// Expands every `@file` argument (relative to `cwd`) in place. A word `@x` whose file cannot
/// be read stays as it is, as gcc does. Returns an error text when nesting is too deep or a
/// file is not UTF-8.
pub fn expand(args: &[String], cwd: &Path) -> Result<Vec<String>, String> {
    let mut out = Vec::with_capacity(args.len());
    expand_into(args, cwd, 0, &mut out)?;
    Ok(out)
}

fn expand_into(
    args: &[String],
    cwd: &Path,
    depth: usize,
    out: &mut Vec<String>,
) -> Result<(), String> {
    for a in args {
        let Some(file) = a.strip_prefix('@').filter(|f| !f.is_empty()) else {
            out.push(a.clone());
            continue;
        };
        let bytes = match std::fs::read(cwd.join(file)) {
            Ok(b) => b,
            Err(_) => {
                out.push(a.clone());
                continue;
            }
        };
        if depth >= MAX_DEPTH {
            return Err(format!("response files nest deeper than {MAX_DEPTH}"));
        }
        let text =
            String::from_utf8(bytes).map_err(|_| format!("response file {file} is not UTF-8"))?;
        expand_into(&split(&text), cwd, depth + 1, out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_quotes_and_escapes() {
        assert_eq!(
            split("-c  'a b'\n\"c\\\"d\" e\\ f -DX=\"\"\n"),
            vec!["-c", "a b", "c\"d", "e f", "-DX="]
        );
        assert!(split("  \n").is_empty());
    }

    #[test]
    fn expands_nested_files() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a.rsp"), "-DA @b.rsp").unwrap();
        std::fs::write(d.path().join("b.rsp"), "-DB").unwrap();
        let args: Vec<String> = ["-c", "@a.rsp", "@missing"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            expand(&args, d.path()).unwrap(),
            vec!["-c", "-DA", "-DB", "@missing"]
        );
        std::fs::write(d.path().join("loop.rsp"), "@loop.rsp").unwrap();
        assert!(expand(&["@loop.rsp".to_string()], d.path()).is_err());
    }
}
