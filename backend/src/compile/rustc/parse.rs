//! Reading rustc's command line: `@argfile`s, options and their values, and the output
//! names by rustc's rules.

use super::{
    CrateType, EmitKind, NativeLib, NotCacheable, RustOutput, RustcCommand, SearchPath,
    SplitDebuginfo,
};
use std::path::Path;

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
fn option_value(words: &[String]) -> Option<(&str, Option<&str>, usize)> {
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

/// What the arguments said, gathered while they are read.
#[derive(Default)]
struct Gathered {
    sources: Vec<String>,
    crate_name: Option<String>,
    crate_types: Vec<CrateType>,
    emits: Vec<(EmitKind, Option<String>)>,
    out_dir: Option<String>,
    output: Option<String>,
    extra: String,
    externs: Vec<(String, String)>,
    search_paths: Vec<SearchPath>,
    native_libs: Vec<NativeLib>,
    linker: Option<String>,
    target: Option<String>,
    json: bool,
    split_debuginfo: SplitDebuginfo,
}

/// Parses a rustc command line (`words[0]` is rustc; argfiles already expanded).
pub fn parse_rustc(words: &[String]) -> Result<RustcCommand, NotCacheable> {
    let (rustc, args) = words
        .split_first()
        .ok_or_else(|| NotCacheable::Arguments("no rustc given".into()))?;
    // A query anywhere (`-vV`, `--print`) makes the whole command one: Cargo's probes also
    // read stdin (`-`), which must count as a query, not as a source.
    if args.iter().any(|a| {
        matches!(a.as_str(), "-V" | "-vV" | "--version" | "-h" | "--help")
            || a.starts_with("--print")
            || a.starts_with("--explain")
    }) {
        return Err(NotCacheable::NotCompiling);
    }
    let mut g = Gathered::default();
    let mut i = 0;
    while i < args.len() {
        let w = args[i].as_str();
        let Some((opt, value, used)) = option_value(&args[i..]) else {
            g.word(w)?;
            i += 1;
            continue;
        };
        let v = value.ok_or_else(|| NotCacheable::Arguments(format!("{opt} needs a value")))?;
        g.option(opt, v)?;
        i += used;
    }
    g.finish(rustc, args)
}

impl Gathered {
    /// A word that is no option with a value: a source, or a flag.
    fn word(&mut self, w: &str) -> Result<(), NotCacheable> {
        if w == "-" {
            return Err(NotCacheable::Source);
        }
        if w.starts_with('-') {
            if !matches!(w, "-g" | "-O" | "--test" | "-v") {
                return Err(NotCacheable::Option(w.to_string()));
            }
        } else {
            self.sources.push(w.to_string());
        }
        Ok(())
    }

    /// An option with its value.
    fn option(&mut self, opt: &str, v: &str) -> Result<(), NotCacheable> {
        match opt {
            "--crate-name" => self.crate_name = Some(v.to_string()),
            "--crate-type" => {
                for t in v.split(',') {
                    let t = CrateType::from_name(t)
                        .ok_or_else(|| NotCacheable::Option(format!("--crate-type {t}")))?;
                    if !self.crate_types.contains(&t) {
                        self.crate_types.push(t);
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
                    self.emits.retain(|(k, _)| *k != kind);
                    self.emits.push((kind, path));
                }
            }
            "--out-dir" => self.out_dir = Some(v.to_string()),
            "-o" => self.output = Some(v.to_string()),
            "--target" => self.target = Some(v.to_string()),
            "--error-format" => self.json = v == "json",
            "--extern" => self.externs.extend(extern_path(v)),
            "-L" => self.search_paths.push(search_path(v)),
            "-l" => self.native_libs.push(native_lib(v)),
            "-C" | "--codegen" => self.codegen(v)?,
            "-Z" => {
                if v.starts_with("incremental") {
                    return Err(NotCacheable::Incremental);
                }
                if ["unpretty", "ls", "self-profile"]
                    .iter()
                    .any(|p| v.starts_with(p))
                {
                    return Err(NotCacheable::Option(format!("-Z {v}")));
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// A `-C name[=value]` option.
    fn codegen(&mut self, v: &str) -> Result<(), NotCacheable> {
        let (k, val) = v.split_once('=').unwrap_or((v, ""));
        match k.replace('_', "-").as_str() {
            "incremental" => return Err(NotCacheable::Incremental),
            "extra-filename" => self.extra = val.to_string(),
            "linker" => self.linker = Some(val.to_string()),
            "split-debuginfo" => {
                self.split_debuginfo = match val {
                    "off" => SplitDebuginfo::Off,
                    "packed" => SplitDebuginfo::Packed,
                    "unpacked" => SplitDebuginfo::Unpacked,
                    _ => return Err(NotCacheable::Option(format!("-C split-debuginfo={val}"))),
                }
            }
            "save-temps" | "profile-generate" | "profile-use" | "link-self-contained" => {
                return Err(NotCacheable::Option(format!("-C {k}")))
            }
            // A linker option that writes a file of its own: the cache would not restore it (a
            // review's `-Map` was written on a miss only, 2026-12-05), and the launcher's own
            // `--dependency-file` would replace the command's.
            "link-arg" | "link-args" if writes_linker_file(val) => {
                return Err(NotCacheable::Option(format!("-C {k}={val}")))
            }
            _ => {}
        }
        Ok(())
    }

    /// The command, once every argument is read.
    fn finish(mut self, rustc: &str, args: &[String]) -> Result<RustcCommand, NotCacheable> {
        let [source] = self.sources.as_slice() else {
            return Err(NotCacheable::Source);
        };
        let source = source.clone();
        if self.crate_types.is_empty() {
            self.crate_types.push(CrateType::Bin);
        }
        if self.emits.is_empty() {
            self.emits.push((EmitKind::Link, None));
        }
        let crate_name = self.crate_name.take().unwrap_or_else(|| {
            Path::new(&source)
                .file_stem()
                .map_or("main".into(), |s| s.to_string_lossy().replace('-', "_"))
        });
        // Unpacked `.dwo` files are named from `--out-dir` and the crate's stem; beside `-o`
        // the model does not know their names.
        if self.split_debuginfo == SplitDebuginfo::Unpacked && self.output.is_some() {
            return Err(NotCacheable::Option(
                "-C split-debuginfo=unpacked with -o".into(),
            ));
        }
        let stem = format!("{crate_name}{}", self.extra);
        let outputs = outputs(
            &crate_name,
            &self.crate_types,
            &self.emits,
            self.out_dir.as_deref(),
            self.output.as_deref(),
            &self.extra,
        )?;
        Ok(RustcCommand {
            rustc: rustc.to_string(),
            args: args.to_vec(),
            source,
            crate_name,
            crate_types: self.crate_types,
            target: self.target,
            outputs,
            externs: self.externs,
            search_paths: self.search_paths,
            native_libs: self.native_libs,
            linker: self.linker,
            json: self.json,
            split_debuginfo: self.split_debuginfo,
            stem,
            out_dir: self.out_dir,
        })
    }
}

/// `--extern [modifiers:]name=path` as (name, path); `None` without a path (`proc_macro`).
fn extern_path(v: &str) -> Option<(String, String)> {
    let v = match v.split_once(':') {
        // `--extern priv:name=path`: the modifiers before the name.
        Some((m, rest)) if !m.contains('=') => rest,
        _ => v,
    };
    v.split_once('=')
        .map(|(name, path)| (name.to_string(), path.to_string()))
}

/// Whether a linker argument (`-C link-arg`, `-Wl,…` pieces included) names a file the
/// linker writes besides the output: a map, a dependency file, an import library.
fn writes_linker_file(val: &str) -> bool {
    val.split([',', ' ']).any(|w| {
        ["-Map", "--Map", "--dependency-file", "--out-implib"]
            .iter()
            .any(|o| w.starts_with(o))
    })
}

/// `-L [kind=]path`.
fn search_path(v: &str) -> SearchPath {
    let (kind, path) = match v.split_once('=') {
        Some((k, p)) if matches!(k, "dependency" | "crate" | "native" | "framework" | "all") => {
            (k, p)
        }
        _ => ("all", v),
    };
    SearchPath {
        kind: kind.to_string(),
        path: path.to_string(),
    }
}

/// `-l [kind[:modifiers]=]name[:rename]`.
fn native_lib(v: &str) -> NativeLib {
    let (kind, name) = match v.split_once('=') {
        Some((k, n)) => (k.split(':').next().unwrap_or(k), n),
        None => ("", v),
    };
    NativeLib {
        kind: kind.to_string(),
        name: name.split(':').next().unwrap_or(name).to_string(),
    }
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
    fn split_debuginfo_names() {
        let off = parse_rustc(&w("rustc --crate-name app a/main.rs --out-dir o")).unwrap();
        assert_eq!((off.dwp_files(), off.dwo_dir()), (vec![], None));
        let packed = parse_rustc(&w(
            "rustc --crate-name app a/main.rs --crate-type bin --crate-type cdylib \
             --crate-type rlib -g -C split-debuginfo=packed -C extra-filename=-6a --out-dir o",
        ))
        .unwrap();
        // Beside the artifacts that link; an rlib keeps its DWARF inside.
        assert_eq!(packed.dwp_files(), ["o/app-6a.dwp", "o/libapp-6a.so.dwp"]);
        assert_eq!(packed.dwo_dir(), None);
        let unpacked = parse_rustc(&w(
            "rustc --crate-name wscore lib.rs --crate-type lib -g -C split-debuginfo=unpacked \
             -C extra-filename=-12be --out-dir /t/deps",
        ))
        .unwrap();
        assert_eq!(unpacked.dwp_files(), Vec::<String>::new());
        assert_eq!(unpacked.dwo_dir(), Some("/t/deps"));
        assert!(unpacked.is_dwo_name("wscore-12be.wscore.c6f551dc431569fb-cgu.0.rcgu.dwo"));
        for other in [
            "wscore-99.wscore.c6f551dc431569fb-cgu.0.rcgu.dwo",
            "wscore-12be.other.c6f551dc431569fb-cgu.0.rcgu.dwo",
            "wscore-12be.wscore..rcgu.dwo",
            "x/wscore-12be.wscore.c6f5-cgu.0.rcgu.dwo",
            "wscore-12be.wscore.c6f5-cgu.0.rcgu.o",
        ] {
            assert!(!unpacked.is_dwo_name(other), "{other}");
        }
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
        // Cargo's probe reads stdin and prints: a query, not counted.
        assert_eq!(
            e("rustc - --crate-name ___ --print=file-names"),
            NotCacheable::NotCompiling
        );
        assert_eq!(e("rustc - --crate-name x"), NotCacheable::Source);
        assert_eq!(e("rustc a.rs b.rs"), NotCacheable::Source);
        assert_eq!(
            e("rustc a.rs --crate-name a --print cfg"),
            NotCacheable::NotCompiling
        );
        assert_eq!(
            e("rustc a.rs -C incremental=/t/inc"),
            NotCacheable::Incremental
        );
        assert!(matches!(
            e("rustc a.rs -C split-debuginfo=sideways"),
            NotCacheable::Option(_)
        ));
        assert!(matches!(
            e("rustc a.rs -g -C split-debuginfo=unpacked -o out/a"),
            NotCacheable::Option(_)
        ));
        assert!(matches!(
            e("rustc a.rs --emit=llvm-ir"),
            NotCacheable::Option(_)
        ));
        for arg in [
            "link-arg=-Wl,-Map=m.txt",
            "link-arg=-Wl,--dependency-file=d",
            "link-args=-Wl,-O1,-Map,m.txt",
            "link_arg=--out-implib=x.lib",
        ] {
            let cmd = format!("rustc a.rs --crate-type bin -C {arg}");
            assert!(matches!(e(&cmd), NotCacheable::Option(_)), "{arg}");
        }
        assert!(parse_rustc(&w("rustc a.rs --crate-type bin -C link-arg=-Wl,-O1")).is_ok());
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
}
