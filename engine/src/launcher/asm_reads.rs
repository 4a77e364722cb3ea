//! What the assembler read that no dependency file lists: `.include` and `.incbin` in inline
//! assembly. The text scan (`backend::compile::unkeyed_input`) sees plain spellings only; a
//! review found `"." "include"`, `"\x2einclude"` and gas macros past it (2026-12-05). Where
//! the driver runs an assembler program, a local miss asks it for its own dependency file
//! (`--MD`), and any file named there besides the source keeps the object out of the cache.

use super::launch::Launcher;
use backend::compile::{depfile, CompileCommand, CompilerFamily};
use fetch::cache as fcache;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

impl Launcher<'_> {
    /// The assembler's dependency file to ask for on a local miss of `cmd` (beside `out_abs`)
    /// and the words that ask; `None` where clang assembles in process, the assembler takes
    /// no `--MD`, or the compile is for link-time optimisation: gcc records the driver's
    /// words in the object (`.gnu.lto_.opts`) and the link runs them again, and top-level
    /// assembly is assembled there, not here.
    pub(super) fn assembler_depfile(
        &self,
        cmd: &CompileCommand,
        out_abs: &Path,
    ) -> Option<(PathBuf, Vec<String>)> {
        let family = self.family.get()?;
        if !cmd.external_assembler(family)
            || cmd.lto()
            || !self.assembler_takes_md(cmd, family, out_abs)
        {
            return None;
        }
        let path = fcache::temp_beside(out_abs, "asm", ".d");
        // `-Xassembler`, not `-Wa,`: a comma in the object directory's name stays one word.
        let words = ["-Xassembler", "--MD", "-Xassembler"].map(String::from);
        let mut words = words.to_vec();
        words.push(path.to_string_lossy().into_owned());
        Some((path, words))
    }

    /// Whether the assembler's dependency file at `path` (removed here) names a file that
    /// exists besides `cmd`'s source: its input `.s` is a temporary gone by now, and `.file`
    /// names the source (by its file name alone, which counts only where it is the source or
    /// names nothing: a review read `obj/a.c` through `.incbin "a.c"`). A file the compile
    /// did not write (icecream compiled here, with its own words) leaves the text scan's
    /// word.
    pub(super) fn assembler_read_more(&self, cmd: &CompileCommand, path: &Path) -> bool {
        let text = std::fs::read_to_string(path);
        let _ = std::fs::remove_file(path);
        let Ok(text) = text else { return false };
        let deps = depfile::parse(&text);
        if !deps.exact() {
            return true;
        }
        let source = std::fs::metadata(&cmd.source).ok();
        let same = |md: &std::fs::Metadata| {
            source
                .as_ref()
                .is_some_and(|s| s.dev() == md.dev() && s.ino() == md.ino())
        };
        deps.inputs
            .iter()
            .any(|f| std::fs::metadata(f).is_ok_and(|md| !same(&md)))
    }

    /// Whether the assembler `cmd`'s driver runs takes `--MD`: tried once per compiler,
    /// assembler (by their stamps) and toolchain words (a cross assembler for clang's
    /// `--target`) on an empty input, and remembered.
    fn assembler_takes_md(
        &self,
        cmd: &CompileCommand,
        family: CompilerFamily,
        out_abs: &Path,
    ) -> bool {
        let chooser = cmd.toolchain_words();
        let asm = self.assembler().map(|d| d.to_hex()).unwrap_or_default();
        let qualifier = [asm.as_str(), &chooser.join("\0")].join("\0");
        let ask = |program: &str| {
            let obj = fcache::temp_beside(out_abs, "asm-probe", ".o");
            let dep = obj.with_extension("d");
            let mut args: Vec<String> = chooser.iter().map(|w| w.to_string()).collect();
            if family == CompilerFamily::Clang {
                args.push("-fno-integrated-as".into());
            }
            args.extend(["-x", "assembler", "-c", "/dev/null", "-o"].map(String::from));
            args.push(obj.to_string_lossy().into_owned());
            args.extend(["-Xassembler", "--MD", "-Xassembler"].map(String::from));
            args.push(dep.to_string_lossy().into_owned());
            let ran = self.runner.run(program, &args);
            let takes = ran.is_ok_and(|r| r.code == 0) && dep.is_file();
            let _ = std::fs::remove_file(&obj);
            let _ = std::fs::remove_file(&dep);
            takes
        };
        let domain = b"cached-ninja assembler --MD memo 3";
        self.probed(&cmd.compiler, domain, qualifier.as_bytes(), ask)
    }
}
