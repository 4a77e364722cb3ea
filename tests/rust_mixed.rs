//! A mixed C/C++/Rust project from CI's store (issue 17): the example project (its Ninja
//! generator, `configure --with-generator=ninja`) with a Rust static library linked into the
//! program (an rlib and a staticlib taking it through `--extern`, rustc run by Ninja). CI
//! builds and publishes; a developer one commit ahead whose only change is a C file gets every
//! Rust artifact from the store and compiles only that C file.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use support::{cached_ninja, copy_tree, git, hits_misses, repo_root, run_ok, TestSpace};

const UNITS_RS: &str = "//! Units for the shapes example.\n\n/// Twice `x`.\npub fn twice(x: i32) -> i32 {\n    x * 2\n}\n";
const SHAPESRS_RS: &str = "//! The Rust part of the shapes example, called from C++.\n\n/// The answer, computed in Rust.\n#[no_mangle]\npub extern \"C\" fn shapes_rs_answer() -> i32 {\n    units::twice(21)\n}\n";
const RUST_NINJA: &str = "rule rustc
  command = rustc --crate-name $crate_name --crate-type $crate_type --edition=2021 $in -o $out --emit=dep-info=$out.d,link -C debuginfo=1 -C panic=abort $externs
  depfile = $out.d
  deps = gcc
  description = RUST $out
build rust/libunits.rlib: rustc $srcdir/rust/units.rs
  crate_name = units
  crate_type = rlib
build rust/libshapesrs.a: rustc $srcdir/rust/shapesrs.rs | rust/libunits.rlib
  crate_name = shapesrs
  crate_type = staticlib
  externs = --extern units=rust/libunits.rlib
";

fn cn(cache: &Path) -> Command {
    let mut c = Command::new(cached_ninja());
    c.env("CACHED_NINJA_CACHE_DIR", cache)
        .env_remove("CACHED_NINJA_EXPLAIN");
    c
}

/// The example project plus its Rust part at `src`.
fn write_project(src: &Path) {
    copy_tree(&repo_root().join("examples/shapes"), src);
    std::fs::create_dir_all(src.join("rust")).unwrap();
    std::fs::write(src.join("rust/units.rs"), UNITS_RS).unwrap();
    std::fs::write(src.join("rust/shapesrs.rs"), SHAPESRS_RS).unwrap();
    let ninja = std::fs::read_to_string(src.join("build.ninja.in")).unwrap();
    let ninja = ninja
        .replace(
            "rule link\n  command = $cxx -o $out $in\n",
            "rule link\n  command = $cxx -o $out $in -lpthread -ldl\n",
        )
        .replace(
            "build shapes: link app/main.o libreport.a libgeom.a\n",
            &format!("{RUST_NINJA}build shapes: link app/main.o libreport.a libgeom.a rust/libshapesrs.a\n"),
        );
    assert!(ninja.contains("rust/libshapesrs.a\n") && ninja.contains("-ldl"));
    std::fs::write(src.join("build.ninja.in"), ninja).unwrap();
    let main = std::fs::read_to_string(src.join("app/main.cpp")).unwrap();
    let main = main
        .replace(
            "#include <cstdio>\n",
            "#include <cstdio>\n\nextern \"C\" int shapes_rs_answer();\n",
        )
        .replace(
            "    return 0;",
            "    std::printf(\"rust says %d\\n\", shapes_rs_answer());\n    return 0;",
        );
    std::fs::write(src.join("app/main.cpp"), main).unwrap();
}

/// `configure --with-generator=ninja` of `src` into `obj`.
fn configure(src: &Path, obj: &Path, cache: &Path) {
    std::fs::create_dir_all(obj).unwrap();
    run_ok(
        Command::new("sh")
            .arg(src.join("configure"))
            .arg("--with-generator=ninja")
            .current_dir(obj)
            .env("CACHED_NINJA", cached_ninja())
            .env("CACHED_NINJA_CACHE_DIR", cache),
    );
}

#[test]
fn a_c_change_gets_every_rust_artifact_from_the_store() {
    let space = TestSpace::new();
    let root = space.path();
    // CI: builds and publishes its commit.
    let ci_src = root.join("ci/shapes");
    write_project(&ci_src);
    git(&ci_src, &["init", "-q"]);
    git(&ci_src, &["add", "-A"]);
    git(&ci_src, &["commit", "-qm", "ci"]);
    let (ci_obj, ci_cache) = (root.join("ci/obj"), root.join("ci/cache"));
    configure(&ci_src, &ci_obj, &ci_cache);
    let key = root.join("ci.key");
    let public = run_ok(cn(&ci_cache).args(["key", "generate", "--out"]).arg(&key));
    let public = String::from_utf8_lossy(&public.stdout).trim().to_string();
    let store = root.join("store");
    let url = format!("file://{}", store.display());
    run_ok(
        cn(&ci_cache)
            .args(["build", "--no-fetch", "--publish", "--store", &url, "--key"])
            .arg(&key)
            .arg("-C")
            .arg(&ci_obj),
    );
    assert_eq!(hits_misses(&ci_obj), (0, 7), "5 C/C++ compiles, 2 rustc");
    let ran = run_ok(&mut Command::new(ci_obj.join("shapes")));
    assert!(String::from_utf8_lossy(&ran.stdout).contains("rust says 42"));

    // A developer at another path, one commit ahead, whose change is one C file.
    let dev_src: PathBuf = root.join("dev/work/shapes");
    std::fs::create_dir_all(dev_src.parent().unwrap()).unwrap();
    git(
        root,
        &[
            "clone",
            "-q",
            &ci_src.display().to_string(),
            &dev_src.display().to_string(),
        ],
    );
    let circle = dev_src.join("geom/circle.c");
    let text = std::fs::read_to_string(&circle).unwrap();
    std::fs::write(&circle, format!("{text}\n/* a local change */\n")).unwrap();
    git(&dev_src, &["commit", "-qam", "local"]);
    let (obj, cache) = (root.join("dev/obj"), root.join("dev/cache"));
    configure(&dev_src, &obj, &cache);
    std::fs::write(
        obj.join("cached-ninja.toml"),
        format!("[[store]]\nurl = \"{url}\"\n[trust]\npublishers = [\"{public}\"]\n"),
    )
    .unwrap();
    let out = run_ok(cn(&cache).args(["build", "-C"]).arg(&obj));
    assert_eq!(
        hits_misses(&obj),
        (6, 1),
        "only circle.c compiles:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for f in ["rust/libunits.rlib", "rust/libshapesrs.a"] {
        assert!(
            std::fs::read(ci_obj.join(f)).unwrap() == std::fs::read(obj.join(f)).unwrap(),
            "{f} is CI's"
        );
    }
    let ran = run_ok(&mut Command::new(obj.join("shapes")));
    assert!(String::from_utf8_lossy(&ran.stdout).contains("rust says 42"));
}
