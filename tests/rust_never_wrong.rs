//! Never a wrong artifact for Rust (DESIGN §3, issue 17): what the linker reads past rustc's
//! dep-info, rustc's own defaults, the command's own remaps and the release channel's gates.
//! Each test builds small Cargo packages of its own (path dependencies only) with real cargo,
//! rustc, gcc and ar, through `RUSTC_WRAPPER=cached-ninja`, changes one thing, and compares
//! the binary with what a build without the wrapper makes. A review found each of these
//! wrong (2026-12-05); each test failed on the code before.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use support::{cached_ninja, require_tool, run, run_ok, TestSpace};

/// Writes a package `name` at `dir` with `main` (or `lib`) as its `src/` file, `extra` after
/// its `[package]` table.
fn package(dir: &Path, name: &str, file: (&str, &str), extra: &str) {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let manifest =
        format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n{extra}");
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    std::fs::write(dir.join("src").join(file.0), file.1).unwrap();
}

/// `cargo build` of the package at `dir` into `target`, through the launcher over `cache`
/// when given, with `env`.
fn build(dir: &Path, target: &Path, cache: Option<&Path>, env: &[(&str, String)]) -> Output {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut c = Command::new(cargo);
    c.current_dir(dir)
        .args(["build", "-q", "--offline"])
        .env("CARGO_TARGET_DIR", target)
        .env("CARGO_INCREMENTAL", "0")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("RUSTC_BOOTSTRAP");
    if let Some(cache) = cache {
        c.env("RUSTC_WRAPPER", cached_ninja())
            .env("CACHED_NINJA_CACHE_DIR", cache);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    run(&mut c)
}

/// What the binary `target/debug/<name>` prints.
fn prints(target: &Path, name: &str) -> String {
    let out = run_ok(&mut Command::new(target.join("debug").join(name)));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `lib<name>.a` in `dir`, holding `int foo(void) { return value; }`.
fn native_lib(dir: &Path, value: u32) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let c = dir.join("foo.c");
    std::fs::write(&c, format!("int foo(void) {{ return {value}; }}\n")).unwrap();
    let o = dir.join("foo.o");
    run_ok(
        Command::new("gcc")
            .args(["-c", "-fPIC", "-o"])
            .arg(&o)
            .arg(&c),
    );
    let a = dir.join("libfoo.a");
    let _ = std::fs::remove_file(&a);
    run_ok(Command::new("ar").arg("crs").arg(&a).arg(&o));
    o
}

fn tools() {
    require_tool("cargo", "cargo (rustup)");
    require_tool("gcc", "gcc");
    require_tool("ar", "binutils");
}

/// A dependency's build script builds `libfoo.a` and names it (`cargo:rustc-link-lib=foo`,
/// unbundled): the dependency's rlib does not change with it and the binary's command line
/// names no library, so a changed library was linked from the cache's old binary, even in
/// the same target directory. The linker's own dependency file now names it.
#[test]
fn a_native_library_a_dependency_names_is_an_input_of_the_binary() {
    tools();
    for kind in ["", "static:-bundle="] {
        let space = TestSpace::new();
        let ws = space.path().join("ws");
        let build_rs = format!(
            "fn main() {{\n\
             println!(\"cargo:rerun-if-env-changed=FOOVAL\");\n\
             let v = std::env::var(\"FOOVAL\").unwrap();\n\
             let o = std::env::var(\"OUT_DIR\").unwrap();\n\
             std::fs::write(format!(\"{{o}}/foo.c\"), format!(\"int foo(void) {{{{ return {{v}}; }}}}\\n\")).unwrap();\n\
             let run = |c: &mut std::process::Command| assert!(c.status().unwrap().success());\n\
             run(std::process::Command::new(\"gcc\").args([\"-c\", \"-fPIC\", \"-o\", &format!(\"{{o}}/foo.o\"), &format!(\"{{o}}/foo.c\")]));\n\
             let _ = std::fs::remove_file(format!(\"{{o}}/libfoo.a\"));\n\
             run(std::process::Command::new(\"ar\").args([\"crs\", &format!(\"{{o}}/libfoo.a\"), &format!(\"{{o}}/foo.o\")]));\n\
             println!(\"cargo:rustc-link-search=native={{o}}\");\n\
             println!(\"cargo:rustc-link-lib={kind}foo\");\n\
             }}\n"
        );
        package(
            &ws.join("sys"),
            "sys",
            (
                "lib.rs",
                "extern \"C\" { fn foo() -> i32; }\npub fn get() -> i32 { unsafe { foo() } }\n",
            ),
            "build = \"build.rs\"\n",
        );
        std::fs::write(ws.join("sys/build.rs"), build_rs).unwrap();
        package(
            &ws.join("app"),
            "app",
            ("main.rs", "fn main() { println!(\"{}\", sys::get()); }\n"),
            "[dependencies]\nsys = { path = \"../sys\" }\n",
        );
        let cache = space.path().join("cache");
        let app = ws.join("app");
        let (a, b) = (space.path().join("a"), space.path().join("b"));
        for (target, value) in [(&a, "1"), (&b, "2"), (&a, "3")] {
            let out = build(&app, target, Some(&cache), &[("FOOVAL", value.to_string())]);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(
                prints(target, "app"),
                value,
                "kind {kind:?}: the old library's code"
            );
        }
    }
}

/// Files the linker reads that rustc's dep-info does not list: an object and a linker script
/// named by `-C link-arg`, a `#[link]` library in a `-L native` directory, and one the C
/// driver finds through `LIBRARY_PATH`. Each changed one was linked from the cache's old
/// binary.
#[test]
fn files_the_linker_reads_are_inputs_of_the_binary() {
    tools();
    let space = TestSpace::new();
    let cache = space.path().join("cache");
    let ext =
        "extern \"C\" { fn foo() -> i32; }\nfn main() { println!(\"{}\", unsafe { foo() }); }\n";
    let linked = "#[link(name = \"foo\")]\nextern \"C\" { fn foo() -> i32; }\nfn main() { println!(\"{}\", unsafe { foo() }); }\n";
    // (source, the environment for a library built with `value` in `dir`)
    type Env = fn(&Path, &Path) -> Vec<(&'static str, String)>;
    let cases: [(&str, &str, Env); 3] = [
        ("link-arg object", ext, |_, o| {
            vec![("RUSTFLAGS", format!("-C link-arg={}", o.display()))]
        }),
        ("#[link] in -L native", linked, |d, _| {
            vec![("RUSTFLAGS", format!("-L native={}", d.display()))]
        }),
        ("LIBRARY_PATH", linked, |d, _| {
            vec![("LIBRARY_PATH", d.display().to_string())]
        }),
    ];
    for (what, main, env) in cases {
        let dir = space.path().join(what.replace(['#', '[', ']', ' '], "_"));
        package(&dir.join("app"), "app", ("main.rs", main), "");
        for (step, value) in [(1, 1), (2, 2)] {
            // Each value's library in a directory of its own, at the same path each time for
            // the command-line cases: only its bytes change.
            let lib = dir.join("lib");
            let _ = std::fs::remove_dir_all(&lib);
            let o = native_lib(&lib, value);
            let target = dir.join(format!("t{step}"));
            let out = build(&dir.join("app"), &target, Some(&cache), &env(&lib, &o));
            assert!(
                out.status.success(),
                "{what}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(
                prints(&target, "app"),
                value.to_string(),
                "{what}: the old library"
            );
        }
    }
    // A linker script, changed between two builds into two target directories.
    let dir = space.path().join("script");
    package(&dir.join("app"), "app", ("main.rs", ext), "");
    let mut plain_said = Vec::new();
    for value in [1, 2] {
        let script = dir.join("foo.ld");
        std::fs::write(&script, format!("PROVIDE(foo = {});\n", 0x1000 + value)).unwrap();
        let main = "extern \"C\" { static foo: u8; }\nfn main() { println!(\"{}\", unsafe { &foo as *const u8 as usize } - 0x1000); }\n";
        std::fs::write(dir.join("app/src/main.rs"), main).unwrap();
        let target = dir.join(format!("t{value}"));
        let flags = format!(
            "-C link-arg=-Wl,{} -C relocation-model=static",
            script.display()
        );
        let env = [("RUSTFLAGS", flags)];
        let out = build(&dir.join("app"), &target, Some(&cache), &env);
        assert!(
            out.status.success(),
            "script: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let plain_target = dir.join(format!("p{value}"));
        assert!(build(&dir.join("app"), &plain_target, None, &env)
            .status
            .success());
        plain_said.push(prints(&plain_target, "app"));
        assert_eq!(
            prints(&target, "app"),
            plain_said[plain_said.len() - 1],
            "linker script: the old one"
        );
    }
    assert_ne!(
        plain_said[0], plain_said[1],
        "the two scripts make two binaries"
    );
}

/// `cached-ninja rustc -- rustc x.rs` with no `--emit`: rustc's default is `link`, which the
/// launcher's own `--emit=dep-info=…` replaced, so no binary was written and the exit was 0.
#[test]
fn rustc_without_emit_writes_its_default_output() {
    tools();
    let space = TestSpace::new();
    std::fs::write(
        space.path().join("v.rs"),
        "fn main() { println!(\"hi\"); }\n",
    )
    .unwrap();
    std::fs::write(space.path().join("l.rs"), "pub fn f() {}\n").unwrap();
    for launch in ["miss", "hit"] {
        for dir in ["o1", "o2"] {
            let _ = std::fs::remove_dir_all(space.path().join(dir));
            std::fs::create_dir_all(space.path().join(dir)).unwrap();
        }
        for args in [
            &["--crate-type", "bin", "--out-dir", "o1", "v.rs"][..],
            &["--crate-type", "rlib", "-o", "o2/libl.rlib", "l.rs"],
        ] {
            run_ok(
                Command::new(cached_ninja())
                    .current_dir(space.path())
                    .env("CACHED_NINJA_CACHE_DIR", space.path().join("cache"))
                    .args(["rustc", "--", "rustc"])
                    .args(args),
            );
        }
        assert!(space.path().join("o1/v").is_file(), "{launch}: no o1/v");
        assert!(
            space.path().join("o2/libl.rlib").is_file(),
            "{launch}: no o2/libl.rlib"
        );
    }
}

/// A binary with `#![feature]` on the release channel fails (E0554) without the wrapper; the
/// launcher's `RUSTC_BOOTSTRAP=1` (for `-Zbinary-dep-depinfo`) let it build.
#[test]
fn a_feature_gate_fails_through_the_launcher_as_without_it() {
    tools();
    let version = run_ok(Command::new("rustc").arg("-vV"));
    if String::from_utf8_lossy(&version.stdout).contains("nightly") {
        eprintln!("a nightly rustc takes features: nothing to compare");
        return;
    }
    let space = TestSpace::new();
    let app = space.path().join("nb");
    let main = "#![feature(never_type)]\nfn main() { let _x: Option<!> = None; }\n";
    package(&app, "nb", ("main.rs", main), "");
    let cache = space.path().join("cache");
    let plain = build(&app, &space.path().join("p"), None, &[]);
    let ours = build(&app, &space.path().join("t"), Some(&cache), &[]);
    assert!(!plain.status.success());
    assert_eq!(ours.status.code(), plain.status.code());
    let said = String::from_utf8_lossy(&ours.stderr);
    assert!(said.contains("E0554"), "{said}");
}

/// The command's own `--remap-path-prefix` (`RUSTFLAGS`) was overridden by the launcher's,
/// which come later and win: `file!()` of generated code and the debug info's compilation
/// directory came out `/cached-ninja/…` instead of the user's `/out` and `/src`.
#[test]
fn the_commands_own_remaps_are_kept() {
    tools();
    let space = TestSpace::new();
    let app = space.path().join("app");
    let build_rs = "fn main() { let o = std::env::var(\"OUT_DIR\").unwrap(); std::fs::write(format!(\"{o}/gen.rs\"), \"pub fn w() -> &'static str { file!() }\").unwrap(); }\n";
    package(
        &app,
        "app",
        ("main.rs", "include!(concat!(env!(\"OUT_DIR\"), \"/gen.rs\"));\nfn main() { println!(\"{}\", w()); }\n"),
        "build = \"build.rs\"\n",
    );
    std::fs::write(app.join("build.rs"), build_rs).unwrap();
    let (t, p) = (space.path().join("t"), space.path().join("p"));
    let flags = format!(
        "--remap-path-prefix={}=/out --remap-path-prefix={}=/out --remap-path-prefix={}=/src",
        t.display(),
        p.display(),
        app.display()
    );
    let env = [("RUSTFLAGS", flags)];
    let cache = space.path().join("cache");
    assert!(build(&app, &t, Some(&cache), &env).status.success());
    assert!(build(&app, &p, None, &env).status.success());
    assert_eq!(prints(&t, "app"), prints(&p, "app"));
    assert!(
        prints(&t, "app").starts_with("/out/"),
        "{}",
        prints(&t, "app")
    );
}

/// What the linker's dependency file and the crate-file listing must not break: a target
/// directory with a comma in its name (`-Wl,` split the path: every binary failed to link),
/// and a `RUSTC_BOOTSTRAP` of the command's own other than `1` (the launcher's
/// `-Zbinary-dep-depinfo` was refused on the release channel). A review, 2026-12-05.
#[test]
fn odd_target_directories_and_bootstrap_values_build_as_without_the_launcher() {
    tools();
    let space = TestSpace::new();
    let app = space.path().join("app");
    package(
        &app,
        "app",
        ("main.rs", "fn main() { println!(\"7\"); }\n"),
        "",
    );
    let cache = space.path().join("cache");
    let comma = space.path().join("tgt,x");
    let out = build(&app, &comma, Some(&cache), &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(prints(&comma, "app"), "7");
    for value in ["-1", "app"] {
        let target = space.path().join(format!("t{value}"));
        let env = [("RUSTC_BOOTSTRAP", value.to_string())];
        let plain = build(&app, &space.path().join(format!("p{value}")), None, &env);
        let ours = build(&app, &target, Some(&cache), &env);
        assert_eq!(
            ours.status.code(),
            plain.status.code(),
            "RUSTC_BOOTSTRAP={value}: {}",
            String::from_utf8_lossy(&ours.stderr)
        );
    }
}
