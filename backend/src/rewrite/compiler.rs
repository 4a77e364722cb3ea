//! Which commands are compiles the launcher can take: a recognised C/C++ compiler driver
//! (by file name), one simple command (no shell operators), and a command line that the
//! gcc/clang model ([`crate::compile::parse`]) accepts as one cacheable compile; or rustc
//! (GN-style Ninja files run it directly) with a command line the rustc model
//! ([`crate::compile::rustc::parse_rustc`]) accepts.
//!
//! Being conservative costs nothing: an edge we do not recognise runs as before.

use crate::compile::is_wrapper;
use crate::compile::{self, CompilerFamily, Uncacheable};

/// What a command is, for the rewrite.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommandKind {
    /// A cacheable compile by a recognised compiler.
    Compile(CompilerFamily),
    /// A cacheable rustc command.
    Rustc,
    /// A recognised compiler, but a command the cache does not take (linking, `-E`, …).
    CompilerOther(Uncacheable),
    /// rustc, but a command the cache does not take (`-C incremental`, `--print`, …).
    RustcOther,
    /// Anything else: another program, or a shell construct.
    Other,
}

/// Classifies an evaluated command line (what ninja hands to `/bin/sh -c`).
pub fn classify(command: &[u8]) -> CommandKind {
    let Some(words) = split_simple(command) else {
        return CommandKind::Other;
    };
    let mut first = 0;
    while words.get(first).is_some_and(|w| is_wrapper(w)) {
        first += 1;
    }
    if words.get(first).is_some_and(|w| base_name(w) == "rustc") {
        return match compile::rustc::parse_rustc(&words[first..]) {
            Ok(_) => CommandKind::Rustc,
            Err(_) => CommandKind::RustcOther,
        };
    }
    let Some(family) = words.get(first).and_then(|w| compiler_family(w)) else {
        return CommandKind::Other;
    };
    match compile::parse(&words, family) {
        Ok(_) => CommandKind::Compile(family),
        Err(why) => CommandKind::CompilerOther(why),
    }
}

/// Whether a compile command asks for debug info: its last `-g…` option is not `-g0`
/// (`-gsplit-dwarf`, `-gdwarf-N`, `-gno-…` and `-gz…` alone do not count).
pub fn has_debug_info(command: &[u8]) -> bool {
    let Some(words) = split_simple(command) else {
        return false;
    };
    let mut on = false;
    for w in &words {
        match w.as_str() {
            "-g0" => on = false,
            "-g" | "-g1" | "-g2" | "-g3" | "-ggdb" | "-ggdb3" | "-glldb" => on = true,
            _ => {}
        }
    }
    on
}

/// Whether a compile command keeps its split DWARF inside the object (clang
/// `-gsplit-dwarf=single`, the last of its `-gsplit-dwarf…`/`-gno-split-dwarf` options): the
/// rewrite leaves such a command's debug flags as they are (the launcher splits the object).
pub fn splits_dwarf_single(command: &[u8]) -> bool {
    let Some(words) = split_simple(command) else {
        return false;
    };
    words
        .iter()
        .rev()
        .find(|w| w.starts_with("-gsplit-dwarf") || *w == "-gno-split-dwarf")
        .is_some_and(|w| w == "-gsplit-dwarf=single")
}

fn base_name(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

/// The family of a compiler driver named `word` (`/usr/bin/cc`, `x86_64-linux-gnu-g++-12`,
/// `clang++-14`, …), `None` for any other program.
pub fn compiler_family(word: &str) -> Option<CompilerFamily> {
    let base = base_name(word);
    // Drop a version suffix (`-12`, `-14.0`) and a target prefix (`x86_64-linux-gnu-`).
    let no_version = match base.rsplit_once('-') {
        Some((stem, v)) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit() || b == b'.') => {
            stem
        }
        _ => base,
    };
    let name = no_version.rsplit('-').next().unwrap_or(no_version);
    match name {
        "cc" | "c++" | "gcc" | "g++" => Some(CompilerFamily::Gcc),
        "clang" | "clang++" => Some(CompilerFamily::Clang),
        _ => None,
    }
}

/// Splits a POSIX shell command into words when it is one simple command: quotes and
/// backslashes are understood; any operator, redirection, substitution, glob or variable
/// (`; & | < > ( ) $ \` * ? [ ~ #` and newlines outside quotes) gives `None`.
pub fn split_simple(command: &[u8]) -> Option<Vec<String>> {
    let text = std::str::from_utf8(command).ok()?;
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => word.push(c),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => match chars.next()? {
                            c @ ('"' | '\\' | '$' | '`') => word.push(c),
                            '\n' => {}
                            c => {
                                word.push('\\');
                                word.push(c);
                            }
                        },
                        '$' | '`' => return None,
                        c => word.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next()? {
                    '\n' => {}
                    c => word.push(c),
                }
            }
            ';' | '&' | '|' | '<' | '>' | '(' | ')' | '$' | '`' | '*' | '?' | '[' | '\n' => {
                return None
            }
            '~' | '#' if !in_word => return None,
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Some(words)
}

/// Quotes `word` for a POSIX shell (unchanged when it needs no quotes).
pub fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+=:,@%".contains(&b));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}
