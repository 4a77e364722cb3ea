//! Unit test of one launch's miss, hit and header change, with a fake compiler.

use super::launch::Launcher;
use super::runner::{RunResult, Runner};
use backend::key::Roots;
use fetch::cache::LocalCache;
use fetch::stats;
use std::cell::RefCell;
use std::io;
use std::path::PathBuf;

/// A fake gcc: `-dumpmachine`/`--version` answer, a compile writes an object made of the
/// source and header bytes and a depfile listing `a.c` and `a.h`.
struct FakeCompiler {
    dir: PathBuf,
    compiles: RefCell<u32>,
}

impl Runner for FakeCompiler {
    fn run(&self, _program: &str, args: &[String]) -> io::Result<RunResult> {
        if args == ["-dumpmachine"] {
            return Ok(RunResult {
                stdout: b"x86_64-linux-gnu\n".to_vec(),
                ..Default::default()
            });
        }
        if args == ["--version"] {
            return Ok(RunResult {
                stdout: b"gcc (fake) 1\n".to_vec(),
                ..Default::default()
            });
        }
        let mf = &args[args.iter().position(|a| a == "-MF").unwrap() + 1];
        let header = self.dir.join("a.h");
        std::fs::write(
            mf,
            format!(
                "x: {} {}\n",
                self.dir.join("a.c").display(),
                header.display()
            ),
        )?;
        if args.contains(&"-E".to_string()) {
            return Ok(RunResult::default());
        }
        *self.compiles.borrow_mut() += 1;
        assert!(args.iter().any(|a| a.starts_with("-ffile-prefix-map=")));
        let out = &args[args.iter().position(|a| a == "-o").unwrap() + 1];
        let mut obj = std::fs::read(self.dir.join("a.c"))?;
        obj.extend(std::fs::read(&header)?);
        std::fs::write(self.dir.join(out), obj)?;
        Ok(RunResult {
            stderr: format!("{}/a.c: warning\n", self.dir.display()).into_bytes(),
            ..Default::default()
        })
    }
    fn exec(&self, _: &str, _: &[String]) -> io::Result<i32> {
        Ok(99)
    }
}

#[test]
fn miss_then_hit_then_header_change() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().to_path_buf();
    std::fs::write(dir.join("fakecc"), "#!/bin/false\n").unwrap();
    std::fs::write(dir.join("a.c"), "int a;\n").unwrap();
    std::fs::write(dir.join("a.h"), "int h;\n").unwrap();
    let fake = FakeCompiler {
        dir: dir.clone(),
        compiles: RefCell::new(0),
    };
    let l = Launcher {
        runner: &fake,
        cache: LocalCache::new(dir.join("cache")),
        roots: Roots::new(dir.to_str().unwrap(), None),
        obj_aliases: vec![],
        env: vec![],
        date_pinned: false,
        trust_stat: true,
        preprocessor_fallback: true,
        max_size: 1 << 30,
        explain: Some(dir.join("explain.txt")),
        warned: Default::default(),
    };
    let cc = dir.join("fakecc").to_string_lossy().into_owned();
    let a_c = dir.join("a.c").to_string_lossy().into_owned();
    let a_o = dir.join("a.o").to_string_lossy().into_owned();
    let cmd: Vec<String> = vec![
        cc.clone(),
        "-c".into(),
        a_c.clone(),
        "-o".into(),
        a_o.clone(),
    ];
    assert_eq!(l.launch(cmd.clone()), 0);
    assert_eq!(*fake.compiles.borrow(), 1);
    std::fs::remove_file(&a_o).unwrap();
    assert_eq!(l.launch(cmd.clone()), 0, "hit");
    assert_eq!(*fake.compiles.borrow(), 1);
    assert_eq!(std::fs::read(&a_o).unwrap(), b"int a;\nint h;\n");
    std::fs::write(dir.join("a.h"), "int h2;\n").unwrap();
    assert_eq!(l.launch(cmd.clone()), 0);
    assert_eq!(*fake.compiles.borrow(), 2, "a header change misses");
    assert_eq!(std::fs::read(&a_o).unwrap(), b"int a;\nint h2;\n");
    // Uncacheable commands go to exec unchanged.
    assert_eq!(l.launch(vec![cc, a_c]), 99);
    let s = stats::BuildStats::read(&dir).unwrap();
    assert_eq!((s.hits, s.misses, s.uncacheable), (1, 2, 1));
    let explained = std::fs::read_to_string(dir.join("explain.txt")).unwrap();
    assert!(explained.contains("arg: \"-c\""), "{explained}");
    // Captured output is stored with placeholders and replayed with this machine's roots.
    let marked = l.mark(format!("{}/a.c: warning", dir.display()).as_bytes());
    assert!(!String::from_utf8_lossy(&marked).contains(dir.to_str().unwrap()));
    assert_eq!(
        l.unmark(&marked),
        format!("{}/a.c: warning", dir.display()).into_bytes()
    );
}
