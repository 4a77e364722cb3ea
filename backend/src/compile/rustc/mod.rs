//! The rustc command model: what a `rustc` command line means to a cache (issue 17).
//!
//! [`parse_rustc`] turns the words after the rustc program (with `@argfile`s expanded by
//! [`expand_argfiles`]) into a [`RustcCommand`], which knows the crate, its crate types, what
//! it emits and where, its `--extern` artifacts and its `-L`/`-l` search paths and libraries,
//! or says why the command is not cacheable ([`NotCacheable`]); the launcher then runs it as
//! it is. Output names follow rustc's rules: `--out-dir` with the crate name and
//! `-C extra-filename`, `-o` for the `link` output (the others beside it, with its stem), or
//! an explicit `--emit kind=path`.

mod depinfo;
mod parse;

pub use depinfo::{parse_dep_info, DepInfo};
pub use parse::{expand_argfiles, parse_rustc};

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
    pub(crate) fn from_name(s: &str) -> Option<CrateType> {
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
    pub(crate) fn file_name(self, stem: &str) -> String {
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
    pub(crate) fn from_name(s: &str) -> Option<EmitKind> {
        Some(match s {
            "link" => EmitKind::Link,
            "metadata" => EmitKind::Metadata,
            "dep-info" => EmitKind::DepInfo,
            "obj" => EmitKind::Obj,
            _ => return None,
        })
    }
}

/// `-C split-debuginfo` (Linux): where the DWARF goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SplitDebuginfo {
    /// In the objects, and so in the artifacts (`off`, the default).
    #[default]
    Off,
    /// `.dwo` data inside an rlib or staticlib; a `<artifact>.dwp` beside every artifact that
    /// links.
    Packed,
    /// A `.dwo` per codegen unit in the output directory:
    /// `<stem>.<crate>.<hash>-cgu.<n>.rcgu.dwo` (also kept inside an rlib).
    Unpacked,
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
    /// `-C split-debuginfo`.
    pub split_debuginfo: SplitDebuginfo,
    /// The crate name and `-C extra-filename`: the stem of the output names.
    pub stem: String,
    /// `--out-dir`, if given (unpacked `.dwo` files go there, else the working directory).
    pub out_dir: Option<String>,
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

    /// The `.dwp` files `-C split-debuginfo=packed` writes (when the crate has debug info):
    /// `<artifact>.dwp` beside each artifact that links (not an rlib's, nor a staticlib's).
    pub fn dwp_files(&self) -> Vec<String> {
        if self.split_debuginfo != SplitDebuginfo::Packed {
            return Vec::new();
        }
        let linked = |o: &&RustOutput| {
            o.emit == EmitKind::Link
                && o.crate_type
                    .is_some_and(|t| !matches!(t, CrateType::Rlib | CrateType::Staticlib))
        };
        let outputs = self.outputs.iter().filter(linked);
        outputs.map(|o| format!("{}.dwp", o.path)).collect()
    }

    /// The directory of `-C split-debuginfo=unpacked`'s `.dwo` files (`None`: not unpacked;
    /// `""`: the working directory).
    pub fn dwo_dir(&self) -> Option<&str> {
        (self.split_debuginfo == SplitDebuginfo::Unpacked)
            .then(|| self.out_dir.as_deref().unwrap_or(""))
    }

    /// Whether `name` (a bare file name) is one of the `.dwo` files
    /// `-C split-debuginfo=unpacked` writes for this crate: `<stem>.<crate>.<…>.rcgu.dwo`.
    pub fn is_dwo_name(&self, name: &str) -> bool {
        let prefix = format!("{}.{}.", self.stem, self.crate_name);
        self.split_debuginfo == SplitDebuginfo::Unpacked
            && !name.contains('/')
            && name.len() > prefix.len() + ".rcgu.dwo".len()
            && name.starts_with(&prefix)
            && name.ends_with(".rcgu.dwo")
    }
}
