//! Shared helpers for splitdwarf's tests: real compilers in a temporary directory.
#![allow(dead_code)]

#[path = "../../../tests/tools/mod.rs"]
mod tools;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
#[allow(unused_imports)] // not every test binary needs all of them
pub use tools::{require_tool, run_ok};

/// Debian package that provides `tool`.
pub fn package_of(tool: &str) -> &'static str {
    match tool {
        "gcc" | "g++" => "gcc g++",
        "clang" | "clang++" => "clang",
        "objcopy" | "ld" | "dwp" | "readelf" => "binutils",
        "ld.lld" => "lld",
        "gdb" => "gdb",
        "llvm-dwarfdump" | "llvm-dwp" => "llvm",
        _ => "?",
    }
}

/// Runs `tool args…` in `dir` (checking the tool exists first).
pub fn tool(dir: &Path, tool: &str, args: &[&str]) -> Output {
    require_tool(tool, package_of(tool));
    run_ok(Command::new(tool).args(args).current_dir(dir))
}

/// A temporary directory, kept when `CN_KEEP_TEMP` is set.
pub fn temp() -> tempfile::TempDir {
    let keep = std::env::var_os("CN_KEEP_TEMP").is_some();
    let t = tempfile::Builder::new()
        .prefix("splitdwarf-test-")
        .disable_cleanup(keep)
        .tempdir()
        .expect("temp dir");
    if keep {
        eprintln!("keeping {}", t.path().display());
    }
    t
}

/// A small two-file C program: `main.c` calls `work` in `lib.c`.
pub const C_MAIN: &str = r#"#include <stdio.h>
int work(int n);
int main(int argc, char **argv) {
    int total = work(argc + 2);
    printf("%d\n", total);
    return 0;
}
"#;

/// `lib.c`: the function the debugger tests stop in (line 4 is `acc += i * factor;`).
pub const C_LIB: &str = r#"int work(int n) {
    int acc = 0;
    int factor = 3;
    for (int i = 0; i < n; i++) { acc += i * factor; }
    return acc;
}
"#;

/// A small C++ translation unit with templates, classes and inline functions (comdat groups).
pub const CXX_SRC: &str = r#"#include <vector>
#include <string>
#include <map>
template <typename T> struct Box { T value; T get() const { return value; } };
struct Shape { virtual ~Shape() {} virtual double area() const = 0; };
struct Square : Shape { double s; explicit Square(double s) : s(s) {} double area() const override { return s * s; } };
int cxx_work(int n) {
    std::vector<int> v;
    std::map<std::string, int> m;
    for (int i = 0; i < n; i++) { v.push_back(i); m[std::to_string(i)] = i; }
    Box<long> b{static_cast<long>(v.size())};
    Square sq(2.0);
    Shape &sh = sq;
    return static_cast<int>(b.get() + m.size() + sh.area());
}
"#;

/// Writes `src` to `dir/name` and compiles it to `dir/out` with `compiler` and `flags`.
pub fn compile(
    dir: &Path,
    compiler: &str,
    name: &str,
    src: &str,
    out: &str,
    flags: &[&str],
) -> PathBuf {
    std::fs::write(dir.join(name), src).expect("write source");
    let mut args = vec!["-c", "-O0", "-g"];
    args.extend_from_slice(flags);
    args.extend_from_slice(&[name, "-o", out]);
    tool(dir, compiler, &args);
    dir.join(out)
}

/// Reads a file.
pub fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}
