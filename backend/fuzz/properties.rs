//! The properties the `depfile`, `compile_command` and `rustc_command` fuzz targets check,
//! shared with the corpus replay (`backend/tests/fuzz_corpus.rs`) through `#[path]`, so both
//! check the same thing. `Err` says what broke.
#![allow(dead_code)]

use backend::compile::{self, depfile, rustc, CompilerFamily};

/// Words of a command line in `data`: separated by NUL bytes (any other byte, blanks
/// included, may be inside a word); not UTF-8 means no words.
pub fn words(data: &[u8]) -> Vec<String> {
    let Ok(text) = std::str::from_utf8(data) else {
        return Vec::new();
    };
    text.split('\0').map(str::to_string).collect()
}

/// A dependency file: any text parses without a panic; what it names, written back by
/// `render`, parses to the same inputs (targets are written as given: they are not checked).
pub fn depfile(data: &[u8]) -> Result<(), String> {
    let Ok(text) = std::str::from_utf8(data) else {
        return Ok(());
    };
    let d = depfile::parse(text);
    // What the launcher refuses to trust (and so never writes back): an ambiguous line
    // continuation, a path ending in a backslash or holding a line break. (A NUL cannot be in
    // a path.) The fuzzer found the backslash case.
    if !d.exact() || d.inputs.iter().any(|w| w.contains('\0')) {
        return Ok(());
    }
    let again = depfile::parse(&depfile::render(&["out.o".to_string()], &d.inputs, true));
    if again.inputs != d.inputs {
        return Err(format!(
            "inputs {:?} came back as {:?}",
            d.inputs, again.inputs
        ));
    }
    Ok(())
}

/// A C or C++ compile command: any words parse (gcc and clang rules) without a panic; a
/// cacheable one names its source and output among its words; the source scan takes any bytes.
pub fn compile_command(data: &[u8]) -> Result<(), String> {
    let _ = compile::unkeyed_input(data, data.first().is_some_and(|b| b & 1 == 1));
    let w = words(data);
    if w.is_empty() {
        return Ok(());
    }
    for family in [CompilerFamily::Gcc, CompilerFamily::Clang] {
        let Ok(cmd) = compile::parse(&w, family) else {
            continue;
        };
        if cmd.output.is_empty() || cmd.source.is_empty() {
            return Err(format!("{family:?}: empty source or output from {w:?}"));
        }
        if !w.iter().any(|x| x.contains(cmd.source.as_str())) {
            return Err(format!("{family:?}: source {} not in {w:?}", cmd.source));
        }
        let _ = cmd.dwo_path();
    }
    Ok(())
}

/// A rustc command line and a dep-info file: any words parse without a panic; a cacheable
/// command has outputs, and its split-debug names stay in their directory.
pub fn rustc_command(data: &[u8]) -> Result<(), String> {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = rustc::parse_dep_info(text);
    }
    let mut w = vec!["rustc".to_string()];
    w.extend(words(data));
    let Ok(cmd) = rustc::parse_rustc(&w) else {
        return Ok(());
    };
    if cmd.outputs.is_empty() {
        return Err(format!("no outputs from {w:?}"));
    }
    let _ = (cmd.primary(), cmd.dep_info(), cmd.links());
    for dwp in cmd.dwp_files() {
        if !dwp.ends_with(".dwp") {
            return Err(format!("dwp {dwp} from {w:?}"));
        }
    }
    if cmd.is_dwo_name("../x.rcgu.dwo") || cmd.is_dwo_name("a/b.rcgu.dwo") {
        return Err(format!("a path taken for a .dwo name from {w:?}"));
    }
    Ok(())
}
