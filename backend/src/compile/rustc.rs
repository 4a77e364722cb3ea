//! The rustc command model: what a `rustc` command line means to a cache (issue 17).
//!
//! [`parse_rustc`] turns the words after the rustc program (with `@argfile`s expanded by
//! [`expand_argfiles`]) into a [`RustcCommand`], which knows the crate, its crate types, what
//! it emits and where, its `--extern` artifacts and its `-L`/`-l` search paths and libraries,
//! or says why the command is not cacheable ([`NotCacheable`]); the launcher then runs it as
//! it is. Output names follow rustc's rules: `--out-dir` with the crate name and
//! `-C extra-filename`, `-o` for the `link` output (the others beside it, with its stem), or
//! an explicit `--emit kind=path`.

use std::path::Path;

/// A crate type (`--crate-type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrateType {
    /// `bin`: an executable.
    Bin,
    /// `lib` or `rlib`: a Rust library.
    Rlib,
    /// `dylib`: a Rust dynamic library.
    Dylib,
    /// `cdylib`: a C dynamic library.
    Cdylib,
    /// `staticlib`: a C static library with every Rust dependency inside.
    Staticlib,
    /// `proc-macro`: a compiler plugin (a shared object rustc loads).
    ProcMacro,
}

impl CrateType {
    fn from_name(s: &str) -> Option<CrateType> {
        Some(match s {
            "bin" => CrateType::Bin,
            "lib" | "rlib" => CrateType::Rlib,
            "dylib" => CrateType::Dylib,
            "cdylib" => CrateType::Cdylib,
            "staticlib" => CrateType::Staticlib,
            "proc-macro" => CrateType::ProcMacro,
            _ => return None,
        })
    }

    /// Whether making it takes the whole dependency graph (the linker, or every upstream rlib
    /// copied in), not only the direct `--extern` crates' metadata.
    pub fn links(self) -> bool {
        !matches!(self, CrateType::Rlib)
    }

    /// The file name of this crate type's `link` output for the stem `crate_name + extra`
    /// (Linux).
    fn file_name(self, stem: &str) -> String {
        match self {
            CrateType::Bin => stem.to_string(),
            CrateType::Rlib => format!("lib{stem}.rlib"),
            CrateType::Dylib | CrateType::Cdylib | CrateType::ProcMacro => format!("lib{stem}.so"),
            CrateType::Staticlib => format!("lib{stem}.a"),
        }
    }
}

/// What rustc writes (`--emit`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmitKind {
    /// `link`: the crate types' artifacts.
    Link,
    /// `metadata`: `lib<stem>.rmeta`.
    Metadata,
    /// `dep-info`: `<stem>.d`.
    DepInfo,
    /// `obj`: `<stem>.o`.
    Obj,
}

impl EmitKind {
    fn from_name(s: &str) -> Option<EmitKind> {
        Some(match s {
            "link" => EmitKind::Link,
            "metadata" => EmitKind::Metadata,
            "dep-info" => EmitKind::DepInfo,
            "obj" => EmitKind::Obj,
            _ => return None,
        })
    }
}

/// One output file of a rustc command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RustOutput {
    /// What made it.
    pub emit: EmitKind,
    /// For `link`, the crate type it is the artifact of.
    pub crate_type: Option<CrateType>,
    /// Its path as the command names it (relative to the working directory or absolute).
    pub path: String,
}

/// A library search path (`-L [kind=]path`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchPath {
    /// `dependency`, `crate`, `native`, `framework`, `all`.
    pub kind: String,
    /// The directory.
    pub path: String,
}

/// A native library to link (`-l [kind[:modifiers]=]name[:rename]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NativeLib {
    /// `static`, `dylib`, `framework`, or empty (rustc decides).
    pub kind: String,
    /// The library's name (`foo` for `libfoo.a`).
    pub name: String,
}

/// Why a rustc command is run as it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotCacheable {
    /// No crate is compiled: `-vV`, `--version`, `--print`, `--explain`, `--help`.
    NotCompiling,
    /// `-C incremental`: rustc reuses and writes its own state, which the key cannot see.
    Incremental,
    /// The source is stdin (`-`), or not exactly one source is given.
    Source,
    /// An option whose outputs or inputs the model cannot name (the text says which).
    Option(String),
    /// The arguments cannot be read (an argfile, a missing value).
    Arguments(String),
}

impl std::fmt::Display for NotCacheable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotCacheable::NotCompiling => f.write_str("no crate is compiled"),
            NotCacheable::Incremental => f.write_str("incremental compilation (-C incremental)"),
            NotCacheable::Source => f.write_str("not exactly one source file"),
            NotCacheable::Option(o) => write!(f, "option {o} is not modelled"),
            NotCacheable::Arguments(e) => f.write_str(e),
        }
    }
}

/// A cacheable rustc command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RustcCommand {
    /// The rustc program as given.
    pub rustc: String,
    /// Every argument after the program, argfiles expanded, in order.
    pub args: Vec<String>,
    /// The crate root source file.
    pub source: String,
    /// `--crate-name` (else the source's file stem, `-` as `_`).
    pub crate_name: String,
    /// `--crate-type`s (default `bin`).
    pub crate_types: Vec<CrateType>,
    /// `--target`, if given.
    pub target: Option<String>,
    /// The outputs, in the order rustc is asked for them (the first is the primary one).
    pub outputs: Vec<RustOutput>,
    /// `--extern name=path` (a name without a path, such as `proc_macro`, is left out).
    pub externs: Vec<(String, String)>,
    /// `-L` search paths.
    pub search_paths: Vec<SearchPath>,
    /// `-l` libraries.
    pub native_libs: Vec<NativeLib>,
    /// `-C linker=`, if given.
    pub linker: Option<String>,
    /// Whether diagnostics are JSON (`--error-format=json`).
    pub json: bool,
}

/// Options with a separate value (`--opt value` or `--opt=value`; the short ones also
/// `-Xvalue`).
const WITH_VALUE: &[&str] = &[
    "--crate-name",
    "--crate-type",
    "--edition",
    "--emit",
    "--out-dir",
    "-o",
    "-C",
    "--codegen",
    "--extern",
    "-L",
    "-l",
    "--cfg",
    "--check-cfg",
    "--cap-lints",
    "--error-format",
    "--json",
    "--target",
    "--remap-path-prefix",
    "--remap-path-scope",
    "-A",
    "-W",
    "-D",
    "-F",
    "--allow",
    "--warn",
    "--deny",
    "--forbid",
    "--force-warn",
    "-Z",
    "--sysroot",
    "--color",
    "--diagnostic-width",
    "--crate-attr",
    "--explain",
    "--print",
];

/// Expands rustc's `@path` argfiles (one argument per line), relative to `cwd`. The shell
/// form `@shell:path` is an error (not modelled: run as it is).
pub fn expand_argfiles(args: &[String], cwd: &Path) -> Result<Vec<String>, NotCacheable> {
    let mut out = Vec::with_capacity(args.len());
    for a in args {
        let Some(file) = a.strip_prefix('@').filter(|f| !f.is_empty()) else {
            out.push(a.clone());
            continue;
        };
        if file.starts_with("shell:") {
            return Err(NotCacheable::Arguments(format!(
                "shell-style argfile {a} is not modelled"
            )));
        }
        let text = std::fs::read_to_string(cwd.join(file))
            .map_err(|e| NotCacheable::Arguments(format!("argfile {file}: {e}")))?;
        out.extend(text.lines().map(str::to_string));
    }
    Ok(out)
}

/// Splits `--opt=value`, `--opt value`, `-Xvalue` and `-X value`; returns (option, value,
/// words used).
fn option_value<'a>(words: &'a [String]) -> Option<(&'a str, Option<&'a str>, usize)> {
    let w = words[0].as_str();
    for o in WITH_VALUE {
        if w == *o {
            return Some((o, words.get(1).map(String::as_str), 2));
        }
        if let Some(v) = w.strip_prefix(o) {
            let long = o.starts_with("--");
            if long {
                if let Some(v) = v.strip_prefix('=') {
                    return Some((o, Some(v), 1));
                }
            } else if !v.is_empty() {
                return Some((o, Some(v.strip_prefix('=').unwrap_or(v)), 1));
            }
        }
    }
    None
}

/// Parses a rustc command line (`words[0]` is rustc; argfiles already expanded).
pub fn parse_rustc(words: &[String]) -> Result<RustcCommand, NotCacheable> {
    let (rustc, args) = words
        .split_first()
        .ok_or_else(|| NotCacheable::Arguments("no rustc given".into()))?;
    let mut sources = Vec::new();
    let mut crate_name = None;
    let mut crate_types = Vec::new();
    let mut emits: Vec<(EmitKind, Option<String>)> = Vec::new();
    let mut out_dir = None;
    let mut output = None;
    let mut extra = String::new();
    let mut externs = Vec::new();
    let mut search_paths = Vec::new();
    let mut native_libs = Vec::new();
    let mut linker = None;
    let mut target = None;
    let mut json = false;
    let mut i = 0;
    while i < args.len() {
        let w = args[i].as_str();
        if matches!(w, "-V" | "-vV" | "--version" | "-h" | "--help") {
            return Err(NotCacheable::NotCompiling);
        }
        let Some((opt, value, used)) = option_value(&args[i..]) else {
            if w == "-" {
                return Err(NotCacheable::Source);
            }
            if w.starts_with('-') && w != "-g" && w != "-O" && w != "--test" && w != "-v" {
                return Err(NotCacheable::Option(w.to_string()));
            }
            if !w.starts_with('-') {
                sources.push(w.to_string());
            }
            i += 1;
            continue;
        };
        let v = value.ok_or_else(|| NotCacheable::Arguments(format!("{opt} needs a value")))?;
        i += used;
        match opt {
            "--print" | "--explain" => return Err(NotCacheable::NotCompiling),
            "--crate-name" => crate_name = Some(v.to_string()),
            "--crate-type" => {
                for t in v.split(',') {
                    let t = CrateType::from_name(t)
                        .ok_or_else(|| NotCacheable::Option(format!("--crate-type {t}")))?;
                    if !crate_types.contains(&t) {
                        crate_types.push(t);
                    }
                }
            }
            "--emit" => {
                for e in v.split(',') {
                    let (kind, path) = match e.split_once('=') {
                        Some((k, p)) => (k, Some(p.to_string())),
                        None => (e, None),
                    };
                    let kind = EmitKind::from_name(kind)
                        .ok_or_else(|| NotCacheable::Option(format!("--emit {kind}")))?;
                    emits.retain(|(k, _)| *k != kind);
                    emits.push((kind, path));
                }
            }
            "--out-dir" => out_dir = Some(v.to_string()),
            "-o" => output = Some(v.to_string()),
            "--target" => target = Some(v.to_string()),
            "--error-format" => json = v == "json",
            "--extern" => {
                let v = v.split_once(':').map_or(v, |(m, rest)| {
                    // `--extern priv:name=path`: the modifiers before the name.
                    if m.contains('=') {
                        v
                    } else {
                        rest
                    }
                });
                if let Some((name, path)) = v.split_once('=') {
                    externs.push((name.to_string(), path.to_string()));
                }
            }
            "-L" => {
                let (kind, path) = match v.split_once('=') {
                    Some((k, p))
                        if matches!(k, "dependency" | "crate" | "native" | "framework" | "all") =>
                    {
                        (k, p)
                    }
                    _ => ("all", v),
                };
                search_paths.push(SearchPath {
                    kind: kind.to_string(),
                    path: path.to_string(),
                });
            }
            "-l" => {
                let (kind, name) = match v.split_once('=') {
                    Some((k, n)) => (k.split(':').next().unwrap_or(k), n),
                    None => ("", v),
                };
                let name = name.split(':').next().unwrap_or(name);
                native_libs.push(NativeLib {
                    kind: kind.to_string(),
                    name: name.to_string(),
                });
            }
            "-C" | "--codegen" => {
                let (k, val) = v.split_once('=').unwrap_or((v, ""));
                match k.replace('_', "-").as_str() {
                    "incremental" => return Err(NotCacheable::Incremental),
                    "extra-filename" => extra = val.to_string(),
                    "linker" => linker = Some(val.to_string()),
                    "split-debuginfo" if val != "off" => {
                        return Err(NotCacheable::Option(format!("-C split-debuginfo={val}")))
                    }
                    "save-temps" | "profile-generate" | "profile-use" | "link-self-contained" => {
                        return Err(NotCacheable::Option(format!("-C {k}")))
                    }
                    _ => {}
                }
            }
            "-Z" => {
                if v.starts_with("incremental") {
                    return Err(NotCacheable::Incremental);
                }
                if v.starts_with("unpretty") || v.starts_with("ls") || v.starts_with("self-profile")
                {
                    return Err(NotCacheable::Option(format!("-Z {v}")));
                }
            }
            _ => {}
        }
    }
    let [source] = sources.as_slice() else {
        return Err(NotCacheable::Source);
    };
    if crate_types.is_empty() {
        crate_types.push(CrateType::Bin);
    }
    if emits.is_empty() {
        emits.push((EmitKind::Link, None));
    }
    let crate_name = crate_name.unwrap_or_else(|| {
        Path::new(source)
            .file_stem()
            .map_or("main".into(), |s| s.to_string_lossy().replace('-', "_"))
    });
    let outputs = outputs(
        &crate_name,
        &crate_types,
        &emits,
        out_dir.as_deref(),
        output.as_deref(),
        &extra,
    )?;
    Ok(RustcCommand {
        rustc: rustc.clone(),
        args: args.to_vec(),
        source: source.clone(),
        crate_name,
        crate_types,
        target,
        outputs,
        externs,
        search_paths,
        native_libs,
        linker,
        json,
    })
}

/// The output files by rustc's naming rules.
fn outputs(
    crate_name: &str,
    crate_types: &[CrateType],
    emits: &[(EmitKind, Option<String>)],
    out_dir: Option<&str>,
    output: Option<&str>,
    extra: &str,
) -> Result<Vec<RustOutput>, NotCacheable> {
    // With `-o`, the other outputs go beside it with its stem; else `--out-dir` (or the working
    // directory) with the crate name and extra file name.
    let (dir, stem) = match output {
        Some(o) => {
            let p = Path::new(o);
            let dir = p.parent().map(|d| d.to_string_lossy().into_owned());
            let stem = p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            (dir.filter(|d| !d.is_empty()), stem)
        }
        None => (out_dir.map(str::to_string), format!("{crate_name}{extra}")),
    };
    let join = |name: String| match &dir {
        Some(d) => format!("{}/{name}", d.trim_end_matches('/')),
        None => name,
    };
    let mut out = Vec::new();
    for (kind, path) in emits {
        match (kind, path) {
            (EmitKind::Link, Some(_)) | (EmitKind::Link, None)
                if output.is_some() && crate_types.len() > 1 =>
            {
                return Err(NotCacheable::Option("-o with several crate types".into()))
            }
            (EmitKind::Link, explicit) => {
                for t in crate_types {
                    let path = explicit
                        .clone()
                        .or_else(|| output.map(str::to_string))
                        .unwrap_or_else(|| join(t.file_name(&stem)));
                    out.push(RustOutput {
                        emit: EmitKind::Link,
                        crate_type: Some(*t),
                        path,
                    });
                }
            }
            (kind, explicit) => {
                let name = match kind {
                    EmitKind::Metadata => format!("lib{stem}.rmeta"),
                    EmitKind::DepInfo => format!("{stem}.d"),
                    EmitKind::Obj => format!("{stem}.o"),
                    EmitKind::Link => unreachable!("handled above"),
                };
                out.push(RustOutput {
                    emit: *kind,
                    crate_type: None,
                    path: explicit.clone().unwrap_or_else(|| join(name)),
                });
            }
        }
    }
    if out.iter().any(|o| o.path == "-") {
        return Err(NotCacheable::Option("output to stdout".into()));
    }
    // The link outputs first: they are what a build waits for.
    out.sort_by_key(|o| o.emit != EmitKind::Link);
    Ok(out)
}

impl RustcCommand {
    /// Whether any crate type links (or bundles) the whole dependency graph.
    pub fn links(&self) -> bool {
        self.crate_types.iter().any(|t| t.links())
    }

    /// The dep-info output, if the command emits one.
    pub fn dep_info(&self) -> Option<&str> {
        self.outputs
            .iter()
            .find(|o| o.emit == EmitKind::DepInfo)
            .map(|o| o.path.as_str())
    }

    /// The primary output (the first `link` artifact, else the first output).
    pub fn primary(&self) -> &str {
        &self.outputs[0].path
    }
}

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

    fn w(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn cargo_lib_command() {
        let c = parse_rustc(&w(
            "rustc --crate-name wscore --edition=2021 wscore/src/lib.rs --error-format=json \
             --json=diagnostic-rendered-ansi,artifacts,future-incompat --crate-type lib \
             --emit=dep-info,metadata,link -C embed-bitcode=no -C debuginfo=2 \
             -C metadata=b315 -C extra-filename=-12be --out-dir /t/debug/deps \
             -L dependency=/t/debug/deps --extern cfoo_sys=/t/debug/deps/libcfoo_sys-d9.rmeta \
             --extern proc_macro -L native=/t/debug/build/x/out -l static=cfoo",
        ))
        .unwrap();
        assert_eq!(c.crate_name, "wscore");
        assert_eq!(c.source, "wscore/src/lib.rs");
        assert_eq!(c.crate_types, vec![CrateType::Rlib]);
        assert!(c.json);
        let paths: Vec<&str> = c.outputs.iter().map(|o| o.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/t/debug/deps/libwscore-12be.rlib",
                "/t/debug/deps/wscore-12be.d",
                "/t/debug/deps/libwscore-12be.rmeta"
            ]
        );
        assert_eq!(c.dep_info(), Some("/t/debug/deps/wscore-12be.d"));
        assert_eq!(
            c.externs,
            vec![(
                "cfoo_sys".to_string(),
                "/t/debug/deps/libcfoo_sys-d9.rmeta".to_string()
            )]
        );
        assert_eq!(c.search_paths[1].kind, "native");
        assert_eq!(c.native_libs[0].kind, "static");
        assert_eq!(c.native_libs[0].name, "cfoo");
        assert!(!c.links());
    }

    #[test]
    fn bin_cdylib_and_proc_macro_names() {
        let bin = parse_rustc(&w("rustc --crate-name app a/main.rs --crate-type bin --emit=dep-info,link -C extra-filename=-6a --out-dir o")).unwrap();
        assert_eq!(bin.primary(), "o/app-6a");
        assert!(bin.links());
        let cdy = parse_rustc(&w(
            "rustc --crate-name cdy l.rs --crate-type cdylib --emit=link --out-dir o",
        ))
        .unwrap();
        assert_eq!(cdy.primary(), "o/libcdy.so");
        let pm = parse_rustc(&w("rustc --crate-name m l.rs --crate-type proc-macro --emit=link -C extra-filename=-5 --out-dir o")).unwrap();
        assert_eq!(pm.primary(), "o/libm-5.so");
    }

    #[test]
    fn gn_style_output_and_explicit_dep_info() {
        let c = parse_rustc(&w(
            "rustc src/lib.rs --crate-type rlib --crate-name foo -o obj/libfoo.rlib --emit=dep-info=obj/foo.d,link",
        ))
        .unwrap();
        assert_eq!(c.primary(), "obj/libfoo.rlib");
        assert_eq!(c.dep_info(), Some("obj/foo.d"));
    }

    #[test]
    fn not_cacheable() {
        let e = |s: &str| parse_rustc(&w(s)).unwrap_err();
        assert_eq!(e("rustc -vV"), NotCacheable::NotCompiling);
        assert_eq!(
            e("rustc - --crate-name ___ --print=file-names"),
            NotCacheable::Source
        );
        assert_eq!(
            e("rustc a.rs --crate-name a --print cfg"),
            NotCacheable::NotCompiling
        );
        assert_eq!(
            e("rustc a.rs -C incremental=/t/inc"),
            NotCacheable::Incremental
        );
        assert!(matches!(
            e("rustc a.rs -C split-debuginfo=unpacked"),
            NotCacheable::Option(_)
        ));
        assert!(matches!(
            e("rustc a.rs --emit=llvm-ir"),
            NotCacheable::Option(_)
        ));
    }

    #[test]
    fn argfiles_expand_by_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("args"),
            "--crate-name\nx y\n--cfg\nfeature=\"a b\"\n",
        )
        .unwrap();
        let a = expand_argfiles(&w("a.rs @args"), dir.path()).unwrap();
        assert_eq!(
            a,
            ["a.rs", "--crate-name", "x y", "--cfg", "feature=\"a b\""]
        );
        assert!(expand_argfiles(&w("@shell:args"), dir.path()).is_err());
    }

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
