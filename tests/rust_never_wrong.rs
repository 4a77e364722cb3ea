//! Never a wrong artifact for Rust (DESIGN §3, issue 17): what the linker reads past rustc's
//! dep-info, rustc's own defaults, the command's own remaps and the release channel's gates.
//! Each test builds small Cargo packages of its own (path dependencies only) with real cargo,
//! rustc, gcc and ar, through `RUSTC_WRAPPER=cached-ninja` (or runs `cached-ninja rustc --
//! rustc …` as a Ninja file does: direct mode), changes one thing, and compares the binary
//! with what a build without the wrapper makes. A review found each of these
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

/// The real `rustc` of the toolchain in use (not rustup's proxy), for `cached-ninja rustc --`.
fn real_rustc() -> PathBuf {
    let out = run_ok(Command::new("rustc").args(["--print", "sysroot"]));
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("bin/rustc")
}

/// `cached-ninja rustc -- <rustc> ARGS` (direct mode, as a Ninja file runs it) in `dir` over
/// `cache`.
fn direct(dir: &Path, cache: &Path, rustc: &Path, args: &[&str]) -> Output {
    direct_bootstrapped(dir, cache, rustc, args, None)
}

/// [`direct`] with the command's own `RUSTC_BOOTSTRAP` (`None`: none).
fn direct_bootstrapped(
    dir: &Path,
    cache: &Path,
    rustc: &Path,
    args: &[&str],
    bootstrap: Option<&str>,
) -> Output {
    let mut c = Command::new(cached_ninja());
    c.current_dir(dir)
        .env("CACHED_NINJA_CACHE_DIR", cache)
        .env_remove("RUSTC_BOOTSTRAP")
        .env_remove("CACHED_NINJA_EXPLAIN")
        .args(["rustc", "--"])
        .arg(rustc)
        .args(args);
    if let Some(b) = bootstrap {
        c.env("RUSTC_BOOTSTRAP", b);
    }
    run(&mut c)
}

/// Directory `dir`, emptied (made if missing).
fn emptied(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
}

/// Panics with `what` and the command's standard error unless `out` exited 0.
fn ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A binary built through the wrapper takes the same `cfg(target_feature = "x87")` path (and
/// the same `ermsb`, `rtm`, `lahfsahf` with `-C target-cpu=native`), sees the same
/// `option_env!("RUSTC_BOOTSTRAP")` and gets the same warnings as a plain build. The launcher
/// ran crates that link under `RUSTC_BOOTSTRAP=1` (for `-Zbinary-dep-depinfo`): a stable
/// rustc then set nightly-only target features, the program saw `Some("1")`, and the
/// `unstable_name_collisions` warning suggested `#![feature(iter_intersperse)]`. A review
/// found it (2026-12-05).
#[test]
fn a_binary_sees_no_rustc_bootstrap_of_the_launchers() {
    tools();
    let space = TestSpace::new();
    let app = space.path().join("app");
    let main = "trait MyInter: Iterator + Sized {\n\
                fn intersperse(self, _s: Self::Item) -> Vec<Self::Item> { self.collect() }\n\
                }\n\
                impl<I: Iterator> MyInter for I {}\n\
                fn main() {\n\
                #[cfg(target_feature = \"x87\")] let path = \"x87 path\";\n\
                #[cfg(not(target_feature = \"x87\"))] let path = \"portable path\";\n\
                let v = [1, 2, 3].into_iter().intersperse(0);\n\
                println!(\"{path} ermsb={} rtm={} lahfsahf={} {v:?} {:?}\", cfg!(target_feature = \"ermsb\"), \
                cfg!(target_feature = \"rtm\"), cfg!(target_feature = \"lahfsahf\"), option_env!(\"RUSTC_BOOTSTRAP\"));\n\
                }\n";
    package(&app, "app", ("main.rs", main), "");
    let cache = space.path().join("cache");
    for (i, flags) in ["", "-C target-cpu=native"].into_iter().enumerate() {
        let env = [("RUSTFLAGS", flags.to_string())];
        let (t, p) = (
            space.path().join(format!("t{i}")),
            space.path().join(format!("p{i}")),
        );
        let ours = build(&app, &t, Some(&cache), &env);
        ok(&ours, flags);
        let plain = build(&app, &p, None, &env);
        ok(&plain, flags);
        assert_eq!(
            prints(&t, "app"),
            prints(&p, "app"),
            "RUSTFLAGS={flags:?}: the program through the wrapper (left) and without it (right)"
        );
        let suggests = |o: &Output| {
            String::from_utf8_lossy(&o.stderr)
                .matches("feature(iter_intersperse)")
                .count()
        };
        assert_eq!(
            suggests(&ours),
            suggests(&plain),
            "RUSTFLAGS={flags:?}: a warning suggesting #![feature] through the wrapper:\n{}",
            String::from_utf8_lossy(&ours.stderr)
        );
    }
}

/// A dependency's build script builds `libfoo.a` from `FOOVAL` and emits only its search
/// directory; the library is named by `#[link(name = "foo", kind = "static")]` in the source,
/// or by `cargo:rustc-link-lib=static:+verbatim=libfoo.a`. rustc bundles it into the rlib: a
/// changed library must give a new rlib and binary. The launcher did not key it (the
/// attribute is no `-l`; `+verbatim` was looked up as `liblibfoo.a.a`) and served the old
/// rlib into a fresh target directory. A review found it (2026-12-05).
#[test]
fn a_static_library_bundled_into_an_rlib_is_an_input_of_the_rlib() {
    tools();
    let space = TestSpace::new();
    let cases = [
        (
            "#[link] attribute",
            "#[link(name = \"foo\", kind = \"static\")]\n",
            "",
        ),
        (
            "+verbatim",
            "",
            "println!(\"cargo:rustc-link-lib=static:+verbatim=libfoo.a\");\n",
        ),
    ];
    for (what, attr, link_lib) in cases {
        let ws = space
            .path()
            .join(what.replace(['#', '[', ']', ' ', '+'], "_"));
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
             {link_lib}}}\n"
        );
        let lib = format!(
            "{attr}extern \"C\" {{ fn foo() -> i32; }}\npub fn get() -> i32 {{ unsafe {{ foo() }} }}\n"
        );
        package(
            &ws.join("sys"),
            "sys",
            ("lib.rs", &lib),
            "build = \"build.rs\"\n",
        );
        std::fs::write(ws.join("sys/build.rs"), build_rs).unwrap();
        package(
            &ws.join("app"),
            "app",
            ("main.rs", "fn main() { println!(\"{}\", sys::get()); }\n"),
            "[dependencies]\nsys = { path = \"../sys\" }\n",
        );
        let cache = ws.join("cache");
        for (target, value) in [("a", "1"), ("b", "2")] {
            let target = ws.join(target);
            let out = build(
                &ws.join("app"),
                &target,
                Some(&cache),
                &[("FOOVAL", value.to_string())],
            );
            ok(&out, what);
            assert_eq!(
                prints(&target, "app"),
                value,
                "{what}: the old library, bundled into the cache's old rlib"
            );
        }
    }
}

/// `-C target-cpu=native` compiles for this machine's processor: the key holds the host
/// processor, as the C launcher's does for `-march=native` (an entry made on an AVX-512
/// machine must not be served to one without). The explanation of the key
/// (`CACHED_NINJA_EXPLAIN`) of a crate built with it names `(processor)`; without it, not. The
/// key held only the word `native`. A review found it (2026-12-05).
#[test]
fn target_cpu_native_keys_the_host_processor() {
    tools();
    let space = TestSpace::new();
    let app = space.path().join("app");
    package(
        &app,
        "app",
        ("main.rs", "fn main() { println!(\"{}\", 3 * 7); }\n"),
        "",
    );
    let cache = space.path().join("cache");
    for (i, flags, keyed) in [(0, "-C target-cpu=native", true), (1, "", false)] {
        let explain = space.path().join(format!("explain{i}.txt"));
        let env = [
            ("RUSTFLAGS", flags.to_string()),
            ("CACHED_NINJA_EXPLAIN", explain.display().to_string()),
        ];
        let target = space.path().join(format!("t{i}"));
        ok(&build(&app, &target, Some(&cache), &env), flags);
        let text = std::fs::read_to_string(&explain)
            .unwrap_or_else(|e| panic!("RUSTFLAGS={flags:?}: no explanation: {e}"));
        assert!(text.contains("arg: \"app\""), "not the crate's key: {text}");
        assert_eq!(
            text.contains("(processor)"),
            keyed,
            "RUSTFLAGS={flags:?}: the key should{} hold the host processor:\n{text}",
            if keyed { "" } else { " not" }
        );
    }
}

/// The immediate `which()` returns in an rlib (`$0x…` in `objdump -d`).
fn which_value(rlib: &Path) -> String {
    let out = run_ok(Command::new("objdump").arg("-d").arg(rlib));
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines().skip_while(|l| !l.contains("<which>:"));
    let line = lines
        .nth(1)
        .unwrap_or_else(|| panic!("no which() in {text}"));
    let at = line
        .find("$0x")
        .unwrap_or_else(|| panic!("no immediate: {line}"));
    line[at + 1..]
        .split(|c: char| !c.is_ascii_alphanumeric())
        .next()
        .unwrap()
        .to_string()
}

/// Direct mode: a custom target spec (`--target my.json`, `-Zunstable-options` as custom
/// targets are: the release rustc under `RUSTC_BOOTSTRAP=1`, the command's own) decides
/// `cfg(target_os)`. Its `os` is edited from `linux` to `none` and the same command run again
/// into an emptied directory: the rlib must be the new one (as plain rustc's). rustc's
/// dep-info does not list the file and the launcher did not key its content: the `linux` rlib
/// was served. A review found it (2026-12-05).
#[test]
fn a_custom_target_specs_content_is_an_input() {
    tools();
    require_tool("objdump", "binutils");
    let rustc = real_rustc();
    let space = TestSpace::new();
    let dir = space.path();
    let cache = dir.join("cache");
    let base = run_ok(Command::new(&rustc).env("RUSTC_BOOTSTRAP", "1").args([
        "-Z",
        "unstable-options",
        "--print",
        "target-spec-json",
        "--target",
        "x86_64-unknown-linux-gnu",
    ]));
    let mut spec: serde_json::Value = serde_json::from_slice(&base.stdout).unwrap();
    spec.as_object_mut().unwrap().remove("metadata");
    std::fs::write(
        dir.join("lib.rs"),
        "#![feature(no_core, lang_items)]\n\
         #![no_core]\n\
         #![allow(internal_features)]\n\
         #[lang = \"pointee_sized\"] pub trait PointeeSized {}\n\
         #[lang = \"meta_sized\"] pub trait MetaSized: PointeeSized {}\n\
         #[lang = \"sized\"] pub trait Sized: MetaSized {}\n\
         #[cfg(target_os = \"linux\")] #[no_mangle] pub fn which() -> u32 { 0x11223344 }\n\
         #[cfg(not(target_os = \"linux\"))] #[no_mangle] pub fn which() -> u32 { 0x55667788 }\n",
    )
    .unwrap();
    let args = [
        "--target",
        "my.json",
        "-Zunstable-options",
        "--crate-name",
        "lib",
        "--crate-type",
        "rlib",
        "--emit=dep-info,link",
        "--out-dir",
        "o",
        "lib.rs",
    ];
    for (os, want) in [("linux", "0x11223344"), ("none", "0x55667788")] {
        spec["os"] = os.into();
        std::fs::write(
            dir.join("my.json"),
            serde_json::to_string_pretty(&spec).unwrap(),
        )
        .unwrap();
        emptied(&dir.join("o"));
        ok(
            &direct_bootstrapped(dir, &cache, &rustc, &args, Some("1")),
            os,
        );
        // The same command without the launcher makes what is expected.
        emptied(&dir.join("p"));
        let mut plain = args;
        plain[9] = "p";
        run_ok(
            Command::new(&rustc)
                .env("RUSTC_BOOTSTRAP", "1")
                .current_dir(dir)
                .args(plain),
        );
        assert_eq!(which_value(&dir.join("p/liblib.rlib")), want);
        assert_eq!(
            which_value(&dir.join("o/liblib.rlib")),
            want,
            "os={os}: the rlib of the spec before"
        );
    }
}

/// A crate in a custom `--sysroot` (xargo, cargo-xbuild, embedded style) that the program
/// uses is rebuilt with another value and the same direct-mode command run again: the binary
/// must be the new one. Files under `*/lib/rustlib/*` were dropped from the entry's inputs
/// (as covered by rustc's identity) although this sysroot is not rustc's: the old binary was
/// served. A review found it (2026-12-05).
#[test]
fn a_crate_in_a_custom_sysroot_is_an_input() {
    tools();
    let space = TestSpace::new();
    let dir = space.path();
    let cache = dir.join("cache");
    let rustc = real_rustc();
    let vv = run_ok(Command::new(&rustc).arg("-vV"));
    let vv = String::from_utf8_lossy(&vv.stdout);
    let host = vv
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .unwrap()
        .to_string();
    let real = rustc
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("lib/rustlib")
        .join(&host)
        .join("lib");
    let sysroot = dir.join("sysroot");
    let lib = sysroot.join("lib/rustlib").join(&host).join("lib");
    std::fs::create_dir_all(&lib).unwrap();
    for entry in std::fs::read_dir(&real).unwrap() {
        let entry = entry.unwrap();
        std::os::unix::fs::symlink(entry.path(), lib.join(entry.file_name())).unwrap();
    }
    let sysroot_s = sysroot.to_str().unwrap();
    std::fs::write(
        dir.join("main.rs"),
        "extern crate mycrate;\nfn main() { println!(\"{}\", mycrate::V); }\n",
    )
    .unwrap();
    for value in ["1", "2"] {
        std::fs::write(
            dir.join("mycrate.rs"),
            format!("pub const V: u32 = {value};\n"),
        )
        .unwrap();
        run_ok(
            Command::new(&rustc)
                .current_dir(dir)
                .args([
                    "--crate-type",
                    "rlib",
                    "--crate-name",
                    "mycrate",
                    "--sysroot",
                ])
                .arg(&sysroot)
                .arg("-o")
                .arg(lib.join("libmycrate.rlib"))
                .arg("mycrate.rs"),
        );
        emptied(&dir.join("o"));
        let args = [
            "--sysroot",
            sysroot_s,
            "--crate-name",
            "main",
            "--crate-type",
            "bin",
            "--emit=link,dep-info",
            "--out-dir",
            "o",
            "main.rs",
        ];
        ok(&direct(dir, &cache, &rustc, &args), value);
        let out = run_ok(&mut Command::new(dir.join("o/main")));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            value,
            "the binary of the sysroot's crate before"
        );
    }
}

/// `-C instrument-coverage` (cargo-llvm-cov, grcov): the coverage mapping names the source
/// files, and must name them where they are, as a plain build does, never the launcher's
/// `/cached-ninja/…` (coverage tools then cannot find the sources). The names are read from
/// the binary's `__llvm_covmap` section, written uncompressed
/// (`-C llvm-args=-enable-name-compression=false`). A review found them `/cached-ninja/src/…`
/// on a miss (2026-12-05).
#[test]
fn coverage_mappings_name_the_real_sources() {
    tools();
    require_tool("objcopy", "binutils");
    let space = TestSpace::new();
    let app = space.path().join("app");
    package(
        &app,
        "app",
        (
            "main.rs",
            "fn main() { if std::env::args().count() > 5 { println!(\"many\"); } else { println!(\"few\"); } }\n",
        ),
        "",
    );
    let env = [(
        "RUSTFLAGS",
        "-C instrument-coverage -C llvm-args=-enable-name-compression=false".to_string(),
    )];
    let cache = space.path().join("cache");
    let main_rs = app.join("src/main.rs").display().to_string();
    for (what, target, cache) in [("plain", "p", None), ("wrapped", "t", Some(&cache))] {
        let target = space.path().join(target);
        ok(
            &build(&app, &target, cache.map(|c| c.as_path()), &env),
            what,
        );
        let section = space.path().join(format!("{what}.covmap"));
        run_ok(
            Command::new("objcopy")
                .arg(format!(
                    "--dump-section=__llvm_covmap={}",
                    section.display()
                ))
                .arg(target.join("debug/app"))
                .arg(space.path().join(format!("{what}.junk"))),
        );
        let bytes = std::fs::read(&section).unwrap();
        let names = String::from_utf8_lossy(&bytes);
        assert!(
            !names.contains("/cached-ninja/"),
            "{what}: the coverage mapping names the launcher's paths: {names:?}"
        );
        assert!(
            names.contains(&main_rs),
            "{what}: the coverage mapping does not name {main_rs}: {names:?}"
        );
    }
}

/// Direct mode: the output is named by the source's `#![crate_name = "bar"]` (no
/// `--crate-name`). After an earlier `foo` from the same file (before the attribute), a clean
/// rebuild through the launcher must give the files plain rustc gives (`bar`). The launcher
/// named the output after the file: it stored and served the stale `o/foo`, and `bar` was
/// lost. A review found it (2026-12-05).
#[test]
fn a_crate_name_attribute_names_the_output() {
    tools();
    let space = TestSpace::new();
    let dir = space.path();
    let cache = dir.join("cache");
    let rustc = real_rustc();
    let listing = |out: &str| {
        let mut names: Vec<String> = std::fs::read_dir(dir.join(out))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    std::fs::create_dir_all(dir.join("o")).unwrap();
    std::fs::write(
        dir.join("foo.rs"),
        "fn main() { println!(\"I am old foo\"); }\n",
    )
    .unwrap();
    ok(
        &direct(dir, &cache, &rustc, &["foo.rs", "--out-dir", "o"]),
        "foo",
    );
    std::fs::write(
        dir.join("foo.rs"),
        "#![crate_name = \"bar\"]\nfn main() { println!(\"I am bar\"); }\n",
    )
    .unwrap();
    ok(
        &direct(dir, &cache, &rustc, &["foo.rs", "--out-dir", "o"]),
        "bar over foo",
    );
    emptied(&dir.join("o"));
    ok(
        &direct(dir, &cache, &rustc, &["foo.rs", "--out-dir", "o"]),
        "bar",
    );
    std::fs::create_dir_all(dir.join("p")).unwrap();
    run_ok(
        Command::new(&rustc)
            .current_dir(dir)
            .args(["foo.rs", "--out-dir", "p"]),
    );
    assert_eq!(
        listing("o"),
        listing("p"),
        "a clean rebuild through the launcher (left), plain rustc (right)"
    );
    let out = run_ok(&mut Command::new(dir.join("o/bar")));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "I am bar");
}

/// Files the linker writes besides the binary, named by `-C link-arg`: a map file
/// (`-Wl,-Map=<file>`, for size analysis), written on the miss and again on a build of the same
/// crate into a fresh target directory (a would-be hit: the map was not written); and the
/// user's own `-Wl,--dependency-file=<file>` (the launcher appended its own, which won: the
/// user's was never written). A review found both (2026-12-05).
#[test]
fn files_the_linker_writes_are_written_on_every_build() {
    tools();
    let space = TestSpace::new();
    let app = space.path().join("app");
    package(
        &app,
        "app",
        ("main.rs", "fn main() { println!(\"hi\"); }\n"),
        "",
    );
    let side = space.path().join("side");
    std::fs::create_dir_all(&side).unwrap();
    for (what, file, flag) in [
        ("map file", "app.map", "-Map"),
        ("dependency file", "user.d", "--dependency-file"),
    ] {
        let file = side.join(file);
        let env = [(
            "RUSTFLAGS",
            format!("-C link-arg=-Wl,{flag}={}", file.display()),
        )];
        let cache = space.path().join(format!("cache{flag}"));
        for step in ["a", "b"] {
            let _ = std::fs::remove_file(&file);
            let target = space.path().join(format!("t{flag}{step}"));
            ok(&build(&app, &target, Some(&cache), &env), what);
            assert!(
                std::fs::metadata(&file).is_ok_and(|m| m.len() > 0),
                "{what}: {} not written by the build into target {step}",
                file.display()
            );
            assert_eq!(prints(&target, "app"), "hi");
        }
    }
}

/// Direct mode (a Ninja file's commands): an rlib with `extern crate foo;` that finds foo's
/// rlib through `-L` (no `--extern`). After foo changes and is rebuilt, bar's same command
/// must rebuild bar: the launcher served the old bar, and the binary then failed to build
/// (E0460, bar compiled against another foo). A review found it (2026-12-05).
#[test]
fn a_crate_found_by_search_is_an_input() {
    tools();
    let space = TestSpace::new();
    let dir = space.path();
    let cache = dir.join("cache");
    let rustc = real_rustc();
    std::fs::create_dir_all(dir.join("out")).unwrap();
    std::fs::write(
        dir.join("bar.rs"),
        "extern crate foo;\npub fn g() -> u32 { foo::F }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("main.rs"),
        "extern crate bar;\nfn main() { println!(\"{}\", bar::g()); }\n",
    )
    .unwrap();
    for value in ["1", "2"] {
        std::fs::write(dir.join("foo.rs"), format!("pub const F: u32 = {value};\n")).unwrap();
        let common = [
            "--crate-type",
            "rlib",
            "--emit=link,dep-info",
            "--out-dir",
            "out",
        ];
        let foo = [&common[..], &["--crate-name", "foo", "foo.rs"]].concat();
        ok(&direct(dir, &cache, &rustc, &foo), "foo");
        let bar = [&common[..], &["--crate-name", "bar", "-L", "out", "bar.rs"]].concat();
        ok(&direct(dir, &cache, &rustc, &bar), "bar");
        let main = run(Command::new(&rustc).current_dir(dir).args([
            "--crate-name",
            "main",
            "-L",
            "out",
            "--out-dir",
            "out",
            "main.rs",
        ]));
        ok(&main, &format!("F = {value}: the binary over bar's rlib"));
        let out = run_ok(&mut Command::new(dir.join("out/main")));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            value,
            "bar's old rlib"
        );
    }
}
